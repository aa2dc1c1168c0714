#include "server/services.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/admin.h"
#include "core/case_query.h"
#include "core/status_macros.h"
#include "core/sync.h"
#include "core/text.h"
#include "server/evidence_download.h"
#include "server/grpc_status.h"
#include "server/handler.h"

namespace fieldledger::server {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

// Who uploads evidence: inspectors for their findings, and the roles that
// submit rectification reports for theirs (the admin, who runs the node,
// does not).
constexpr std::initializer_list<v1::Role> kUploaders = {
    v1::ROLE_INSPECTOR, v1::ROLE_SUPERVISOR, v1::ROLE_UNIT_OFFICER};

}  // namespace

absl::StatusOr<v1::Principal> Authenticate(
    storage::Store& store, const grpc::CallbackServerContext& context,
    absl::string_view rpc, std::initializer_list<v1::Role> allowed) {
  const auto& metadata = context.client_metadata();
  const auto header = metadata.find("authorization");
  if (header == metadata.end()) {
    return absl::UnauthenticatedError(
        "authorization: missing; send \"authorization: Bearer <token>\"");
  }
  const absl::string_view value(header->second.data(), header->second.size());
  if (!absl::StartsWith(value, kBearer)) {
    return absl::UnauthenticatedError(
        "authorization: not of the form \"Bearer <token>\"");
  }
  FL_ASSIGN_OR_RETURN(std::optional<v1::Principal> principal,
                      store.GetPrincipal(Sha256(value.substr(kBearer.size()))));
  if (!principal)
    return absl::UnauthenticatedError("authorization: unknown token");
  if (std::find(allowed.begin(), allowed.end(), principal->role()) ==
      allowed.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "role ", v1::Role_Name(principal->role()), " may not call ", rpc));
  }
  return *std::move(principal);
}

grpc::ServerUnaryReactor* FieldSyncService::Enroll(
    grpc::CallbackServerContext* context, const v1::EnrollRequest* request,
    v1::EnrollResponse* reply) {
  return Write(store_, context, __func__, {},
               [request, reply](Txn& txn, const v1::Principal&) {
                 return Assign(
                     fieldledger::Enroll(txn, request->code(), absl::Now()),
                     reply);
               });
}

grpc::ServerUnaryReactor* FieldSyncService::Push(
    grpc::CallbackServerContext* context, const v1::PushRequest* request,
    v1::PushResponse* reply) {
  return Write(store_, context, __func__, {v1::ROLE_INSPECTOR},
               [this, request, reply](Txn& txn, const v1::Principal& caller) {
                 return Assign(
                     ApplyPush(txn, caller, *request, absl::Now(), limits_),
                     reply);
               });
}

grpc::ServerReadReactor<v1::EvidenceChunk>* FieldSyncService::UploadEvidence(
    grpc::CallbackServerContext* context, v1::UploadStatus* reply) {
  absl::StatusOr<v1::Principal> caller =
      Authenticate(store_, *context, __func__, kUploaders);
  if (!caller.ok()) {
    // Refuses the stream before reading any of it.
    class Refused final : public grpc::ServerReadReactor<v1::EvidenceChunk> {
     public:
      explicit Refused(const absl::Status& status) { Finish(ToGrpc(status)); }
      void OnDone() override { delete this; }
    };
    return new Refused(caller.status());
  }
  return uploads_.Start(caller->name(), reply);
}

grpc::ServerUnaryReactor* FieldSyncService::GetUploadStatus(
    grpc::CallbackServerContext* context,
    const v1::GetUploadStatusRequest* request, v1::UploadStatus* reply) {
  return Read(store_, context, __func__, kUploaders,
              [this, request, reply](const v1::Principal&) {
                return Assign(uploads_.Status(request->sha256()), reply);
              });
}

grpc::ServerWriteReactor<v1::EvidenceData>* FieldSyncService::GetEvidence(
    grpc::CallbackServerContext* context,
    const v1::GetEvidenceRequest* request) {
  absl::StatusOr<v1::Principal> caller =
      Authenticate(store_, *context, __func__,
                   {v1::ROLE_INSPECTOR, v1::ROLE_SUPERVISOR,
                    v1::ROLE_UNIT_OFFICER, v1::ROLE_AUDITOR, v1::ROLE_ADMIN});
  absl::Status allowed = caller.status();
  if (allowed.ok()) {
    allowed = CheckEvidenceAccess(store_, *caller, request->sha256(),
                                  request->case_id());
  }
  if (!allowed.ok()) {
    class Refused final : public grpc::ServerWriteReactor<v1::EvidenceData> {
     public:
      explicit Refused(const absl::Status& status) { Finish(ToGrpc(status)); }
      void OnDone() override { delete this; }
    };
    return new Refused(allowed);
  }
  return new EvidenceDownload(evidence_, request->sha256());
}

grpc::ServerUnaryReactor* FieldSyncService::Pull(
    grpc::CallbackServerContext* context, const v1::PullRequest* request,
    v1::PullResponse* reply) {
  return Read(store_, context, __func__, {v1::ROLE_INSPECTOR, v1::ROLE_ADMIN},
              [&](const v1::Principal& caller) {
                FL_RETURN_IF_ERROR(
                    Assign(fieldledger::Pull(store_, caller, *request), reply));
                return MarkEvidence(evidence_, *reply);
              });
}

grpc::ServerUnaryReactor* AdminService::CreateRegion(
    grpc::CallbackServerContext* context,
    const v1::CreateRegionRequest* request, v1::CreateResponse* reply) {
  return Write(store_, context, __func__, {v1::ROLE_ADMIN},
               [this, request, reply](Txn& txn, const v1::Principal& admin) {
                 return Assign(fieldledger::CreateRegion(txn, admin.name(),
                                                         request->region(),
                                                         absl::Now(), limits_),
                               reply);
               });
}

grpc::ServerUnaryReactor* AdminService::CreateUnit(
    grpc::CallbackServerContext* context, const v1::CreateUnitRequest* request,
    v1::CreateResponse* reply) {
  return Write(store_, context, __func__, {v1::ROLE_ADMIN},
               [this, request, reply](Txn& txn, const v1::Principal& admin) {
                 return Assign(
                     fieldledger::CreateUnit(txn, admin.name(), request->unit(),
                                             absl::Now(), limits_),
                     reply);
               });
}

grpc::ServerUnaryReactor* AdminService::CreateCategory(
    grpc::CallbackServerContext* context,
    const v1::CreateCategoryRequest* request, v1::CreateResponse* reply) {
  return Write(store_, context, __func__, {v1::ROLE_ADMIN},
               [this, request, reply](Txn& txn, const v1::Principal& admin) {
                 return Assign(fieldledger::CreateCategory(
                                   txn, admin.name(), request->category(),
                                   absl::Now(), limits_),
                               reply);
               });
}

grpc::ServerUnaryReactor* AdminService::CreateEnrollmentCode(
    grpc::CallbackServerContext* context,
    const v1::CreateEnrollmentCodeRequest* request,
    v1::CreateEnrollmentCodeResponse* reply) {
  return Write(store_, context, __func__, {v1::ROLE_ADMIN},
               [request, reply](Txn& txn, const v1::Principal&) {
                 return Assign(fieldledger::CreateEnrollmentCode(txn, *request,
                                                                 absl::Now()),
                               reply);
               });
}

grpc::ServerUnaryReactor* AdminService::ListRegions(
    grpc::CallbackServerContext* context, const v1::ListRegionsRequest*,
    v1::ListRegionsResponse* reply) {
  return Read(
      store_, context, __func__, {v1::ROLE_ADMIN}, [&](const v1::Principal&) {
        FL_ASSIGN_OR_RETURN(std::vector<v1::Region> regions,
                            store_.ListRegions());
        reply->mutable_regions()->Assign(regions.begin(), regions.end());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminService::ListUnits(
    grpc::CallbackServerContext* context, const v1::ListUnitsRequest* request,
    v1::ListUnitsResponse* reply) {
  return Read(store_, context, __func__, {v1::ROLE_ADMIN},
              [&](const v1::Principal&) {
                FL_ASSIGN_OR_RETURN(std::vector<v1::Unit> units,
                                    store_.ListUnits(request->region_id()));
                reply->mutable_units()->Assign(units.begin(), units.end());
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* AdminService::ListCategories(
    grpc::CallbackServerContext* context, const v1::ListCategoriesRequest*,
    v1::ListCategoriesResponse* reply) {
  return Read(store_, context, __func__, {v1::ROLE_ADMIN},
              [&](const v1::Principal&) {
                FL_ASSIGN_OR_RETURN(std::vector<v1::Category> categories,
                                    store_.ListCategories());
                reply->mutable_categories()->Assign(categories.begin(),
                                                    categories.end());
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* AdminService::RebuildAggregates(
    grpc::CallbackServerContext* context,
    const v1::RebuildAggregatesRequest* request,
    v1::RebuildAggregatesResponse* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::Principal> caller =
      Authenticate(store_, *context, __func__, {v1::ROLE_ADMIN});
  if (!caller.ok()) return Finish(reactor, __func__, caller.status());
  // The server waits for this call before the store goes away.
  std::thread([this, reactor, check_only = request->check_only(), reply] {
    absl::StatusOr<storage::AggregatesCheck> check =
        store_.RebuildAggregates(check_only);
    if (check.ok()) {
      reply->set_counters(check->counters);
      reply->set_differences(check->differences);
      for (const std::string& e : check->examples) reply->add_examples(e);
      reply->set_corrected(check->corrected);
    }
    Finish(reactor, "RebuildAggregates", check.status());
  }).detach();
  return reactor;
}

}  // namespace fieldledger::server
