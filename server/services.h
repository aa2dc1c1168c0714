// The gRPC services of a node: each handler authenticates the caller,
// translates the request for core/, and the result back to the wire. Writes
// are submitted to the store's writer and the reactor finishes when they are
// durable; no handler waits on disk sync.
#ifndef FIELDLEDGER_SERVER_SERVICES_H_
#define FIELDLEDGER_SERVER_SERVICES_H_

#include <initializer_list>

#include "absl/status/statusor.h"
#include "core/limits.h"
#include "fieldledger/v1/admin.grpc.pb.h"
#include "fieldledger/v1/records.pb.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "server/evidence_uploads.h"
#include "storage/store.h"

namespace fieldledger::server {

// Who is calling: the bearer token of "authorization: Bearer <token>",
// looked up by its SHA-256. UNAUTHENTICATED without a known token,
// PERMISSION_DENIED when the principal's role is not in `allowed` for
// `rpc` (the method name, for the message).
absl::StatusOr<v1::Principal> Authenticate(
    storage::Store& store, const grpc::CallbackServerContext& context,
    absl::string_view rpc, std::initializer_list<v1::Role> allowed);

class FieldSyncService final : public v1::FieldSync::CallbackService {
 public:
  FieldSyncService(storage::Store& store, const Limits& limits,
                   EvidenceUploads& uploads, storage::EvidenceStore& evidence)
      : store_(store),
        limits_(limits),
        uploads_(uploads),
        evidence_(evidence) {}

  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* context,
                                   const v1::EnrollRequest* request,
                                   v1::EnrollResponse* reply) override;
  grpc::ServerUnaryReactor* Push(grpc::CallbackServerContext* context,
                                 const v1::PushRequest* request,
                                 v1::PushResponse* reply) override;
  grpc::ServerUnaryReactor* Pull(grpc::CallbackServerContext* context,
                                 const v1::PullRequest* request,
                                 v1::PullResponse* reply) override;
  grpc::ServerReadReactor<v1::EvidenceChunk>* UploadEvidence(
      grpc::CallbackServerContext* context, v1::UploadStatus* reply) override;
  grpc::ServerUnaryReactor* GetUploadStatus(
      grpc::CallbackServerContext* context,
      const v1::GetUploadStatusRequest* request,
      v1::UploadStatus* reply) override;
  grpc::ServerWriteReactor<v1::EvidenceData>* GetEvidence(
      grpc::CallbackServerContext* context,
      const v1::GetEvidenceRequest* request) override;

 private:
  storage::Store& store_;
  const Limits limits_;
  EvidenceUploads& uploads_;
  storage::EvidenceStore& evidence_;
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  AdminService(storage::Store& store, const Limits& limits)
      : store_(store), limits_(limits) {}

  grpc::ServerUnaryReactor* CreateRegion(grpc::CallbackServerContext* context,
                                         const v1::CreateRegionRequest* request,
                                         v1::CreateResponse* reply) override;
  grpc::ServerUnaryReactor* ListRegions(
      grpc::CallbackServerContext* context,
      const v1::ListRegionsRequest* request,
      v1::ListRegionsResponse* reply) override;
  grpc::ServerUnaryReactor* CreateUnit(grpc::CallbackServerContext* context,
                                       const v1::CreateUnitRequest* request,
                                       v1::CreateResponse* reply) override;
  grpc::ServerUnaryReactor* ListUnits(grpc::CallbackServerContext* context,
                                      const v1::ListUnitsRequest* request,
                                      v1::ListUnitsResponse* reply) override;
  grpc::ServerUnaryReactor* CreateCategory(
      grpc::CallbackServerContext* context,
      const v1::CreateCategoryRequest* request,
      v1::CreateResponse* reply) override;
  grpc::ServerUnaryReactor* ListCategories(
      grpc::CallbackServerContext* context,
      const v1::ListCategoriesRequest* request,
      v1::ListCategoriesResponse* reply) override;
  grpc::ServerUnaryReactor* CreateEnrollmentCode(
      grpc::CallbackServerContext* context,
      const v1::CreateEnrollmentCodeRequest* request,
      v1::CreateEnrollmentCodeResponse* reply) override;
  // Replays the whole log: runs on a thread of its own, not a gRPC one.
  grpc::ServerUnaryReactor* RebuildAggregates(
      grpc::CallbackServerContext* context,
      const v1::RebuildAggregatesRequest* request,
      v1::RebuildAggregatesResponse* reply) override;

 private:
  storage::Store& store_;
  const Limits limits_;
};

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_SERVICES_H_
