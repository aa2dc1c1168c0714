// SupervisionClient: the Supervision service for the CLI — cases, campaigns,
// red and black lists. Each call sets a deadline and the caller's bearer
// token; no retries (a person is at the keyboard, and an ABORTED step must
// be looked at again, not repeated blindly).
//
//   FL_ASSIGN_OR_RETURN(auto office,
//                       SupervisionClient::Connect("127.0.0.1:50051", token));
//   v1::CaseAction accept;
//   accept.set_case_id(id);
//   accept.mutable_accept();
//   FL_ASSIGN_OR_RETURN(v1::CaseActionResponse done, office->Act(accept));
//
// Thread-safety: all methods may be called from several threads.
#ifndef FIELDLEDGER_CLIENT_SUPERVISION_CLIENT_H_
#define FIELDLEDGER_CLIENT_SUPERVISION_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldledger/v1/supervision.grpc.pb.h"

namespace fieldledger::client {

namespace v1 = ::fieldledger::v1;

class SupervisionClient {
 public:
  // A client over an insecure channel to `server` ("host:port"); connects
  // lazily (UNAVAILABLE on the first call when unreachable).
  static absl::StatusOr<std::unique_ptr<SupervisionClient>> Connect(
      const std::string& server, std::string token,
      absl::Duration timeout = absl::Seconds(15));

  SupervisionClient(std::unique_ptr<v1::Supervision::StubInterface> stub,
                    std::string token, absl::Duration timeout);

  // Each returns the server's status with its code ("ListCases: ...").
  absl::StatusOr<v1::ListCasesResponse> ListCases(
      const v1::ListCasesRequest& request);
  absl::StatusOr<v1::GetCaseResponse> GetCase(const std::string& case_id);
  // The rpc that carries action's step (Accept for accept, ...);
  // INVALID_ARGUMENT when no step is set.
  absl::StatusOr<v1::CaseActionResponse> Act(const v1::CaseAction& action);
  absl::StatusOr<uint64_t> PublishList(const v1::PublishedList& list);
  absl::StatusOr<std::vector<v1::PublishedList>> GetLists(
      const v1::GetListsRequest& request);
  absl::StatusOr<uint64_t> CreateCampaign(const v1::Campaign& campaign);
  absl::StatusOr<std::vector<v1::Campaign>> ListCampaigns();

 private:
  std::unique_ptr<v1::Supervision::StubInterface> stub_;
  const std::string token_;
  const absl::Duration timeout_;
};

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_SUPERVISION_CLIENT_H_
