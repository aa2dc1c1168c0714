#include "server/reports_service.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "core/case_query.h"
#include "core/report.h"
#include "server/handler.h"

namespace fieldledger::server {
namespace {

// Every role but the inspector (see reports.proto).
constexpr std::initializer_list<v1::Role> kReaders = {
    v1::ROLE_SUPERVISOR, v1::ROLE_UNIT_OFFICER, v1::ROLE_ADMIN,
    v1::ROLE_AUDITOR};

// Streams an export: each chunk is made when the previous one was sent, so
// the stream holds one chunk at a time.
class ExportReactor final : public grpc::ServerWriteReactor<v1::ExportChunk> {
 public:
  // A failed authentication: finishes at once.
  explicit ExportReactor(const absl::Status& refused) {
    Finish(ToGrpc(refused));
  }
  ExportReactor(storage::Store& store, CaseViewer viewer,
                const v1::ExportCasesRequest& request)
      : exporter_(std::in_place, store, store, std::move(viewer), request,
                  absl::Now()) {
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
      return;
    }
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    absl::StatusOr<std::optional<std::string>> chunk = exporter_->Next();
    if (!chunk.ok()) {
      Finish(ToGrpc(chunk.status()));
      return;
    }
    if (!chunk->has_value()) {
      Finish(grpc::Status::OK);
      return;
    }
    chunk_.set_data(std::move(**chunk));
    StartWrite(&chunk_);
  }

  std::optional<CaseExporter> exporter_;
  v1::ExportChunk chunk_;
};

}  // namespace

grpc::ServerUnaryReactor* ReportsService::GetReport(
    grpc::CallbackServerContext* context, const v1::GetReportRequest* request,
    v1::GetReportResponse* reply) {
  return Read(store_, context, __func__, kReaders,
              [&](const v1::Principal& caller) {
                return server::Assign(
                    fieldledger::GetReport(store_, store_, ViewerOf(caller),
                                           *request, absl::Now()),
                    reply);
              });
}

grpc::ServerUnaryReactor* ReportsService::ListOverdue(
    grpc::CallbackServerContext* context, const v1::ListOverdueRequest* request,
    v1::ListOverdueResponse* reply) {
  return Read(
      store_, context, __func__, kReaders, [&](const v1::Principal& caller) {
        return server::Assign(fieldledger::ListOverdue(store_, ViewerOf(caller),
                                                       *request, absl::Now()),
                              reply);
      });
}

grpc::ServerUnaryReactor* ReportsService::RankUnits(
    grpc::CallbackServerContext* context, const v1::RankUnitsRequest* request,
    v1::RankUnitsResponse* reply) {
  return Read(store_, context, __func__, kReaders,
              [&](const v1::Principal& caller) {
                return server::Assign(
                    fieldledger::RankUnits(store_, store_, ViewerOf(caller),
                                           *request, absl::Now()),
                    reply);
              });
}

grpc::ServerWriteReactor<v1::ExportChunk>* ReportsService::ExportCases(
    grpc::CallbackServerContext* context,
    const v1::ExportCasesRequest* request) {
  absl::StatusOr<v1::Principal> caller =
      Authenticate(store_, *context, "ExportCases", kReaders);
  if (!caller.ok()) return new ExportReactor(caller.status());
  return new ExportReactor(store_, ViewerOf(*caller), *request);
}

}  // namespace fieldledger::server
