#include "client/admin_client.h"

#include <utility>

#include "client/rpc.h"
#include "core/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace fieldledger::client {

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Connect(
    const std::string& server, std::string token, absl::Duration timeout) {
  if (server.empty()) return absl::InvalidArgumentError("server: is required");
  auto channel =
      grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  return std::make_unique<AdminClient>(v1::Admin::NewStub(channel),
                                       std::move(token), timeout);
}

AdminClient::AdminClient(std::unique_ptr<v1::Admin::StubInterface> stub,
                         std::string token, absl::Duration timeout)
    : stub_(std::move(stub)), token_(std::move(token)), timeout_(timeout) {}

absl::StatusOr<uint64_t> AdminClient::CreateRegion(const v1::Region& region) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::CreateRegionRequest request;
  *request.mutable_region() = region;
  v1::CreateResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->CreateRegion(&context, request, &reply), "CreateRegion"));
  return reply.event_seq();
}

absl::StatusOr<uint64_t> AdminClient::CreateUnit(const v1::Unit& unit) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::CreateUnitRequest request;
  *request.mutable_unit() = unit;
  v1::CreateResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->CreateUnit(&context, request, &reply), "CreateUnit"));
  return reply.event_seq();
}

absl::StatusOr<uint64_t> AdminClient::CreateCategory(
    const v1::Category& category) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::CreateCategoryRequest request;
  *request.mutable_category() = category;
  v1::CreateResponse reply;
  FL_RETURN_IF_ERROR(FromGrpc(stub_->CreateCategory(&context, request, &reply),
                              "CreateCategory"));
  return reply.event_seq();
}

absl::StatusOr<std::vector<v1::Region>> AdminClient::ListRegions() {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::ListRegionsResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->ListRegions(&context, v1::ListRegionsRequest(), &reply),
               "ListRegions"));
  return std::vector<v1::Region>(reply.regions().begin(),
                                 reply.regions().end());
}

absl::StatusOr<std::vector<v1::Unit>> AdminClient::ListUnits(
    const std::string& region_id) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::ListUnitsRequest request;
  request.set_region_id(region_id);
  v1::ListUnitsResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->ListUnits(&context, request, &reply), "ListUnits"));
  return std::vector<v1::Unit>(reply.units().begin(), reply.units().end());
}

absl::StatusOr<std::vector<v1::Category>> AdminClient::ListCategories() {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::ListCategoriesResponse reply;
  FL_RETURN_IF_ERROR(FromGrpc(
      stub_->ListCategories(&context, v1::ListCategoriesRequest(), &reply),
      "ListCategories"));
  return std::vector<v1::Category>(reply.categories().begin(),
                                   reply.categories().end());
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse>
AdminClient::CreateEnrollmentCode(v1::Role role, uint32_t ttl_seconds,
                                  const std::string& scope) {
  grpc::ClientContext context;
  PrepareContext(context, token_, timeout_);
  v1::CreateEnrollmentCodeRequest request;
  request.set_role(role);
  request.set_ttl_seconds(ttl_seconds);
  request.set_scope(scope);
  v1::CreateEnrollmentCodeResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->CreateEnrollmentCode(&context, request, &reply),
               "CreateEnrollmentCode"));
  return reply;
}

absl::StatusOr<v1::RebuildAggregatesResponse> AdminClient::RebuildAggregates(
    bool check_only, absl::Duration rebuild_timeout) {
  grpc::ClientContext context;
  PrepareContext(context, token_, rebuild_timeout);
  v1::RebuildAggregatesRequest request;
  request.set_check_only(check_only);
  v1::RebuildAggregatesResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_->RebuildAggregates(&context, request, &reply),
               "RebuildAggregates"));
  return reply;
}

}  // namespace fieldledger::client
