// SupervisionService: the Supervision rpcs (proto/fieldledger/v1/
// supervision.proto). Translation and authorization only: the role check per
// rpc and the caller's scope (core/case_query.h CaseViewer) here, the rules
// in core/ (ApplyCaseAction, ListCases, GetCaseView, CreateCampaign,
// PublishList). Steps run in the store's writer, so a scope check and the
// step it guards see the same case; the reply waits for the WAL sync.
//
// Thread-safe: handlers share only the store.
#ifndef FIELDLEDGER_SERVER_SUPERVISION_SERVICE_H_
#define FIELDLEDGER_SERVER_SUPERVISION_SERVICE_H_

#include "core/limits.h"
#include "fieldledger/v1/supervision.grpc.pb.h"
#include "storage/evidence_store.h"
#include "storage/store.h"

namespace fieldledger::server {

class SupervisionService final : public v1::Supervision::CallbackService {
 public:
  SupervisionService(storage::Store& store, const Limits& limits,
                     storage::EvidenceStore& evidence)
      : store_(store), limits_(limits), evidence_(evidence) {}

  grpc::ServerUnaryReactor* ListCases(grpc::CallbackServerContext* context,
                                      const v1::ListCasesRequest* request,
                                      v1::ListCasesResponse* reply) override;
  grpc::ServerUnaryReactor* GetCase(grpc::CallbackServerContext* context,
                                    const v1::GetCaseRequest* request,
                                    v1::GetCaseResponse* reply) override;
  grpc::ServerUnaryReactor* Accept(grpc::CallbackServerContext* context,
                                   const v1::CaseActionRequest* request,
                                   v1::CaseActionResponse* reply) override;
  grpc::ServerUnaryReactor* Dismiss(grpc::CallbackServerContext* context,
                                    const v1::CaseActionRequest* request,
                                    v1::CaseActionResponse* reply) override;
  grpc::ServerUnaryReactor* Assign(grpc::CallbackServerContext* context,
                                   const v1::CaseActionRequest* request,
                                   v1::CaseActionResponse* reply) override;
  grpc::ServerUnaryReactor* SubmitRectification(
      grpc::CallbackServerContext* context,
      const v1::CaseActionRequest* request,
      v1::CaseActionResponse* reply) override;
  grpc::ServerUnaryReactor* Evaluate(grpc::CallbackServerContext* context,
                                     const v1::CaseActionRequest* request,
                                     v1::CaseActionResponse* reply) override;
  grpc::ServerUnaryReactor* Close(grpc::CallbackServerContext* context,
                                  const v1::CaseActionRequest* request,
                                  v1::CaseActionResponse* reply) override;
  grpc::ServerUnaryReactor* Escalate(grpc::CallbackServerContext* context,
                                     const v1::CaseActionRequest* request,
                                     v1::CaseActionResponse* reply) override;
  grpc::ServerUnaryReactor* PublishList(
      grpc::CallbackServerContext* context,
      const v1::PublishListRequest* request,
      v1::PublishListResponse* reply) override;
  grpc::ServerUnaryReactor* GetLists(grpc::CallbackServerContext* context,
                                     const v1::GetListsRequest* request,
                                     v1::GetListsResponse* reply) override;
  grpc::ServerUnaryReactor* CreateCampaign(
      grpc::CallbackServerContext* context,
      const v1::CreateCampaignRequest* request,
      v1::CreateCampaignResponse* reply) override;
  grpc::ServerUnaryReactor* ListCampaigns(
      grpc::CallbackServerContext* context,
      const v1::ListCampaignsRequest* request,
      v1::ListCampaignsResponse* reply) override;

 private:
  // One case step: `step` is the CaseAction field the rpc carries.
  grpc::ServerUnaryReactor* Act(grpc::CallbackServerContext* context,
                                absl::string_view rpc,
                                v1::CaseAction::ActionCase step,
                                const v1::CaseActionRequest* request,
                                v1::CaseActionResponse* reply);

  storage::Store& store_;
  const Limits limits_;
  // For the evidence state of the cases read.
  storage::EvidenceStore& evidence_;
};

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_SUPERVISION_SERVICE_H_
