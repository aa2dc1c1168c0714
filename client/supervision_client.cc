#include "client/supervision_client.h"

#include <utility>

#include "client/rpc.h"
#include "core/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace fieldledger::client {
namespace {

using Stub = v1::Supervision::StubInterface;

// One unary call with the deadline and the token.
template <typename Request, typename Reply, typename Method>
absl::StatusOr<Reply> Call(Stub& stub, Method method, const Request& request,
                           absl::string_view token, absl::Duration timeout,
                           absl::string_view rpc) {
  grpc::ClientContext context;
  PrepareContext(context, token, timeout);
  Reply reply;
  FL_RETURN_IF_ERROR(FromGrpc((stub.*method)(&context, request, &reply), rpc));
  return reply;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SupervisionClient>> SupervisionClient::Connect(
    const std::string& server, std::string token, absl::Duration timeout) {
  if (server.empty()) return absl::InvalidArgumentError("server: is required");
  auto channel =
      grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  return std::make_unique<SupervisionClient>(v1::Supervision::NewStub(channel),
                                             std::move(token), timeout);
}

SupervisionClient::SupervisionClient(std::unique_ptr<Stub> stub,
                                     std::string token, absl::Duration timeout)
    : stub_(std::move(stub)), token_(std::move(token)), timeout_(timeout) {}

absl::StatusOr<v1::ListCasesResponse> SupervisionClient::ListCases(
    const v1::ListCasesRequest& request) {
  return Call<v1::ListCasesRequest, v1::ListCasesResponse>(
      *stub_, &Stub::ListCases, request, token_, timeout_, "ListCases");
}

absl::StatusOr<v1::GetCaseResponse> SupervisionClient::GetCase(
    const std::string& case_id) {
  v1::GetCaseRequest request;
  request.set_case_id(case_id);
  return Call<v1::GetCaseRequest, v1::GetCaseResponse>(
      *stub_, &Stub::GetCase, request, token_, timeout_, "GetCase");
}

absl::StatusOr<v1::CaseActionResponse> SupervisionClient::Act(
    const v1::CaseAction& action) {
  using Method =
      grpc::Status (Stub::*)(grpc::ClientContext*, const v1::CaseActionRequest&,
                             v1::CaseActionResponse*);
  Method method = nullptr;
  const char* rpc = "";
  switch (action.action_case()) {
    case v1::CaseAction::kAccept:
      method = &Stub::Accept, rpc = "Accept";
      break;
    case v1::CaseAction::kDismiss:
      method = &Stub::Dismiss, rpc = "Dismiss";
      break;
    case v1::CaseAction::kAssign:
      method = &Stub::Assign, rpc = "Assign";
      break;
    case v1::CaseAction::kSubmitRectification:
      method = &Stub::SubmitRectification, rpc = "SubmitRectification";
      break;
    case v1::CaseAction::kEvaluate:
      method = &Stub::Evaluate, rpc = "Evaluate";
      break;
    case v1::CaseAction::kClose:
      method = &Stub::Close, rpc = "Close";
      break;
    case v1::CaseAction::kEscalate:
      method = &Stub::Escalate, rpc = "Escalate";
      break;
    case v1::CaseAction::ACTION_NOT_SET:
      return absl::InvalidArgumentError("action: no step set");
  }
  v1::CaseActionRequest request;
  *request.mutable_action() = action;
  return Call<v1::CaseActionRequest, v1::CaseActionResponse>(
      *stub_, method, request, token_, timeout_, rpc);
}

absl::StatusOr<uint64_t> SupervisionClient::PublishList(
    const v1::PublishedList& list) {
  v1::PublishListRequest request;
  *request.mutable_list() = list;
  FL_ASSIGN_OR_RETURN(auto reply,
                      (Call<v1::PublishListRequest, v1::PublishListResponse>(
                          *stub_, &Stub::PublishList, request, token_, timeout_,
                          "PublishList")));
  return reply.event_seq();
}

absl::StatusOr<std::vector<v1::PublishedList>> SupervisionClient::GetLists(
    const v1::GetListsRequest& request) {
  FL_ASSIGN_OR_RETURN(
      auto reply,
      (Call<v1::GetListsRequest, v1::GetListsResponse>(
          *stub_, &Stub::GetLists, request, token_, timeout_, "GetLists")));
  return std::vector<v1::PublishedList>(reply.lists().begin(),
                                        reply.lists().end());
}

absl::StatusOr<uint64_t> SupervisionClient::CreateCampaign(
    const v1::Campaign& campaign) {
  v1::CreateCampaignRequest request;
  *request.mutable_campaign() = campaign;
  FL_ASSIGN_OR_RETURN(
      auto reply, (Call<v1::CreateCampaignRequest, v1::CreateCampaignResponse>(
                      *stub_, &Stub::CreateCampaign, request, token_, timeout_,
                      "CreateCampaign")));
  return reply.event_seq();
}

absl::StatusOr<std::vector<v1::Campaign>> SupervisionClient::ListCampaigns() {
  FL_ASSIGN_OR_RETURN(
      auto reply, (Call<v1::ListCampaignsRequest, v1::ListCampaignsResponse>(
                      *stub_, &Stub::ListCampaigns, v1::ListCampaignsRequest(),
                      token_, timeout_, "ListCampaigns")));
  return std::vector<v1::Campaign>(reply.campaigns().begin(),
                                   reply.campaigns().end());
}

}  // namespace fieldledger::client
