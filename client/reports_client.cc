#include "client/reports_client.h"

#include <utility>

#include "client/rpc.h"
#include "core/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace fieldledger::client {

absl::StatusOr<std::unique_ptr<ReportsClient>> ReportsClient::Connect(
    const std::string& server, std::string token, absl::Duration timeout) {
  if (server.empty()) return absl::InvalidArgumentError("server: is required");
  auto channel =
      grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  return std::make_unique<ReportsClient>(v1::Reports::NewStub(channel),
                                         std::move(token), timeout);
}

ReportsClient::ReportsClient(std::unique_ptr<v1::Reports::StubInterface> stub,
                             std::string token, absl::Duration timeout)
    : stub_(std::move(stub)), token_(std::move(token)), timeout_(timeout) {}

absl::StatusOr<v1::GetReportResponse> ReportsClient::GetReport(
    const v1::GetReportRequest& request) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::GetReportResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->GetReport(&context, request, &reply), "GetReport"));
  return reply;
}

absl::StatusOr<v1::ListOverdueResponse> ReportsClient::ListOverdue(
    const v1::ListOverdueRequest& request) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::ListOverdueResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->ListOverdue(&context, request, &reply), "ListOverdue"));
  return reply;
}

absl::StatusOr<v1::RankUnitsResponse> ReportsClient::RankUnits(
    const v1::RankUnitsRequest& request) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::RankUnitsResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->RankUnits(&context, request, &reply), "RankUnits"));
  return reply;
}

absl::Status ReportsClient::ExportCases(
    const v1::ExportCasesRequest& request,
    const std::function<absl::Status(absl::string_view)>& sink,
    absl::Duration export_timeout) {
  grpc::ClientContext context;
  PrepareContext(context, token_, export_timeout);
  std::unique_ptr<grpc::ClientReaderInterface<v1::ExportChunk>> reader =
      stub_->ExportCases(&context, request);
  v1::ExportChunk chunk;
  while (reader->Read(&chunk)) {
    absl::Status written = sink(chunk.data());
    if (!written.ok()) {
      context.TryCancel();
      reader->Finish().ok();  // drains; the sink's error is the answer
      return written;
    }
  }
  return FromGrpc(reader->Finish(), "ExportCases");
}

}  // namespace fieldledger::client
