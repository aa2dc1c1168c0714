#include "server/supervision_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/case_query.h"
#include "core/status_macros.h"
#include "core/supervision.h"
#include "server/evidence_download.h"
#include "server/handler.h"

namespace fieldledger::server {
namespace {

// The roles of each kind of rpc (see supervision.proto).
constexpr std::initializer_list<v1::Role> kReaders = {
    v1::ROLE_SUPERVISOR, v1::ROLE_UNIT_OFFICER, v1::ROLE_ADMIN,
    v1::ROLE_AUDITOR};
constexpr std::initializer_list<v1::Role> kOfficeReaders = {
    v1::ROLE_SUPERVISOR, v1::ROLE_ADMIN, v1::ROLE_AUDITOR};
constexpr std::initializer_list<v1::Role> kDeciders = {v1::ROLE_SUPERVISOR,
                                                       v1::ROLE_ADMIN};
constexpr std::initializer_list<v1::Role> kRectifiers = {
    v1::ROLE_SUPERVISOR, v1::ROLE_UNIT_OFFICER, v1::ROLE_ADMIN};

absl::Status NoCase(absl::string_view field, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(field, ": no case \"", id, "\""));
}

// Field paths of core are relative to the CaseAction; the wire's to the
// request.
absl::Status UnderAction(absl::Status status) {
  if (status.code() != absl::StatusCode::kInvalidArgument &&
      status.code() != absl::StatusCode::kNotFound) {
    return status;
  }
  return absl::Status(status.code(), absl::StrCat("action.", status.message()));
}

absl::string_view StepField(v1::CaseAction::ActionCase step) {
  switch (step) {
    case v1::CaseAction::kAccept:
      return "accept";
    case v1::CaseAction::kDismiss:
      return "dismiss";
    case v1::CaseAction::kAssign:
      return "assign";
    case v1::CaseAction::kSubmitRectification:
      return "submit_rectification";
    case v1::CaseAction::kEvaluate:
      return "evaluate";
    case v1::CaseAction::kClose:
      return "close";
    case v1::CaseAction::kEscalate:
      return "escalate";
    case v1::CaseAction::ACTION_NOT_SET:
      break;
  }
  return "";
}

}  // namespace

grpc::ServerUnaryReactor* SupervisionService::Act(
    grpc::CallbackServerContext* context, absl::string_view rpc,
    v1::CaseAction::ActionCase step, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  const auto roles =
      step == v1::CaseAction::kSubmitRectification ? kRectifiers : kDeciders;
  return Write(
      store_, context, rpc, roles,
      [this, rpc, step, request, reply](Txn& txn, const v1::Principal& caller) {
        const v1::CaseAction& action = request->action();
        if (action.action_case() != step) {
          return absl::InvalidArgumentError(absl::StrCat(
              "action: ", rpc, " carries action.", StepField(step)));
        }
        absl::StatusOr<v1::CaseActionResponse> done =
            ApplyCaseActionAs(txn, caller, action, absl::Now(), limits_);
        if (!done.ok()) return UnderAction(done.status());
        *reply = *std::move(done);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SupervisionService::Accept(
    grpc::CallbackServerContext* c, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  return Act(c, __func__, v1::CaseAction::kAccept, request, reply);
}
grpc::ServerUnaryReactor* SupervisionService::Dismiss(
    grpc::CallbackServerContext* c, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  return Act(c, __func__, v1::CaseAction::kDismiss, request, reply);
}
grpc::ServerUnaryReactor* SupervisionService::Assign(
    grpc::CallbackServerContext* c, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  return Act(c, __func__, v1::CaseAction::kAssign, request, reply);
}
grpc::ServerUnaryReactor* SupervisionService::SubmitRectification(
    grpc::CallbackServerContext* c, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  return Act(c, __func__, v1::CaseAction::kSubmitRectification, request, reply);
}
grpc::ServerUnaryReactor* SupervisionService::Evaluate(
    grpc::CallbackServerContext* c, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  return Act(c, __func__, v1::CaseAction::kEvaluate, request, reply);
}
grpc::ServerUnaryReactor* SupervisionService::Close(
    grpc::CallbackServerContext* c, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  return Act(c, __func__, v1::CaseAction::kClose, request, reply);
}
grpc::ServerUnaryReactor* SupervisionService::Escalate(
    grpc::CallbackServerContext* c, const v1::CaseActionRequest* request,
    v1::CaseActionResponse* reply) {
  return Act(c, __func__, v1::CaseAction::kEscalate, request, reply);
}

grpc::ServerUnaryReactor* SupervisionService::ListCases(
    grpc::CallbackServerContext* context, const v1::ListCasesRequest* request,
    v1::ListCasesResponse* reply) {
  return Read(
      store_, context, __func__, kReaders, [&](const v1::Principal& caller) {
        FL_RETURN_IF_ERROR(
            server::Assign(fieldledger::ListCases(store_, ViewerOf(caller),
                                                  *request, absl::Now()),
                           reply));
        for (v1::Case& c : *reply->mutable_cases()) {
          FL_RETURN_IF_ERROR(MarkEvidence(evidence_, c));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SupervisionService::GetCase(
    grpc::CallbackServerContext* context, const v1::GetCaseRequest* request,
    v1::GetCaseResponse* reply) {
  return Read(
      store_, context, __func__, kReaders, [&](const v1::Principal& caller) {
        FL_RETURN_IF_ERROR(server::Assign(
            GetCaseView(store_, ViewerOf(caller), request->case_id()), reply));
        return MarkEvidence(evidence_, *reply->mutable_case_());
      });
}

grpc::ServerUnaryReactor* SupervisionService::PublishList(
    grpc::CallbackServerContext* context, const v1::PublishListRequest* request,
    v1::PublishListResponse* reply) {
  return Write(
      store_, context, __func__, kDeciders,
      [this, request, reply](Txn& txn, const v1::Principal& caller) {
        const CaseViewer viewer = ViewerOf(caller);
        const v1::PublishedList& list = request->list();
        for (int i = 0; i < list.entries_size(); ++i) {
          for (int j = 0; j < list.entries(i).case_ids_size(); ++j) {
            const std::string& id = list.entries(i).case_ids(j);
            FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c, txn.GetCase(id));
            // Unknown cases are core's to report; hidden ones are ours.
            if (c && !CanSee(viewer, *c)) {
              return NoCase(
                  absl::StrCat("list.entries[", i, "].case_ids[", j, "]"), id);
            }
          }
        }
        FL_ASSIGN_OR_RETURN(uint64_t seq,
                            fieldledger::PublishList(txn, caller.name(), list,
                                                     absl::Now(), limits_));
        reply->set_event_seq(seq);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SupervisionService::GetLists(
    grpc::CallbackServerContext* context, const v1::GetListsRequest* request,
    v1::GetListsResponse* reply) {
  return Read(
      store_, context, __func__, kOfficeReaders, [&](const v1::Principal&) {
        FL_ASSIGN_OR_RETURN(std::vector<v1::PublishedList> lists,
                            store_.ListPublishedLists());
        lists.erase(std::remove_if(lists.begin(), lists.end(),
                                   [&](const v1::PublishedList& l) {
                                     return (!request->period().empty() &&
                                             l.period() != request->period()) ||
                                            (request->kind() !=
                                                 v1::LIST_KIND_UNSPECIFIED &&
                                             l.kind() != request->kind());
                                   }),
                    lists.end());
        std::stable_sort(
            lists.begin(), lists.end(),
            [](const v1::PublishedList& a, const v1::PublishedList& b) {
              if (a.period() != b.period()) {
                return a.period() > b.period();
              }
              return a.kind() < b.kind();
            });
        reply->mutable_lists()->Assign(lists.begin(), lists.end());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* SupervisionService::CreateCampaign(
    grpc::CallbackServerContext* context,
    const v1::CreateCampaignRequest* request,
    v1::CreateCampaignResponse* reply) {
  return Write(store_, context, __func__, kDeciders,
               [this, request, reply](Txn& txn, const v1::Principal& caller) {
                 FL_ASSIGN_OR_RETURN(
                     uint64_t seq,
                     CreateCampaignAs(txn, caller, request->campaign(),
                                      absl::Now(), limits_));
                 reply->set_event_seq(seq);
                 return absl::OkStatus();
               });
}

grpc::ServerUnaryReactor* SupervisionService::ListCampaigns(
    grpc::CallbackServerContext* context, const v1::ListCampaignsRequest*,
    v1::ListCampaignsResponse* reply) {
  return Read(
      store_, context, __func__, kOfficeReaders, [&](const v1::Principal&) {
        FL_ASSIGN_OR_RETURN(std::vector<v1::Campaign> campaigns,
                            store_.ListCampaigns());
        reply->mutable_campaigns()->Assign(campaigns.begin(), campaigns.end());
        return absl::OkStatus();
      });
}

}  // namespace fieldledger::server
