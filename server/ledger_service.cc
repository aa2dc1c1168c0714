#include "server/ledger_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "fieldledger/v1/event.pb.h"
#include "server/handler.h"
#include "server/services.h"

namespace fieldledger::server {
namespace {

// Checkpoints and proofs are hashes only. Entries are events: auditors and
// admins read all, an inspector only its own.
constexpr std::initializer_list<v1::Role> kProofRoles = {
    v1::ROLE_INSPECTOR, v1::ROLE_AUDITOR, v1::ROLE_ADMIN};

void AddHashes(const std::vector<merkle::Hash>& hashes,
               google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Reserve(static_cast<int>(hashes.size()));
  for (const merkle::Hash& h : hashes) *out->Add() = merkle::HashToBytes(h);
}

}  // namespace

grpc::ServerUnaryReactor* LedgerService::GetCheckpoint(
    grpc::CallbackServerContext* context, const v1::GetCheckpointRequest*,
    v1::GetCheckpointResponse* reply) {
  return Read(store_, context, __func__, kProofRoles,
              [&](const v1::Principal&) -> absl::Status {
                FL_ASSIGN_OR_RETURN(*reply->mutable_checkpoint(),
                                    checkpointer_.Latest());
                reply->set_verifier_key(checkpointer_.verifier().ToString());
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* LedgerService::GetInclusionProof(
    grpc::CallbackServerContext* context,
    const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* reply) {
  return Read(store_, context, __func__, kProofRoles,
              [&](const v1::Principal&) -> absl::Status {
                FL_ASSIGN_OR_RETURN(
                    std::vector<merkle::Hash> proof,
                    store_.LedgerInclusionProof(request->leaf_index(),
                                                request->tree_size()));
                AddHashes(proof, reply->mutable_hashes());
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* LedgerService::GetConsistencyProof(
    grpc::CallbackServerContext* context,
    const v1::GetConsistencyProofRequest* request,
    v1::GetConsistencyProofResponse* reply) {
  return Read(store_, context, __func__, kProofRoles,
              [&](const v1::Principal&) -> absl::Status {
                FL_ASSIGN_OR_RETURN(
                    std::vector<merkle::Hash> proof,
                    store_.LedgerConsistencyProof(request->first_size(),
                                                  request->second_size()));
                AddHashes(proof, reply->mutable_hashes());
                return absl::OkStatus();
              });
}

grpc::ServerUnaryReactor* LedgerService::GetEntries(
    grpc::CallbackServerContext* context, const v1::GetEntriesRequest* request,
    v1::GetEntriesResponse* reply) {
  return Read(
      store_, context, __func__, kProofRoles,
      [&](const v1::Principal& caller) -> absl::Status {
        const uint32_t limit =
            request->max_entries() == 0
                ? kMaxLedgerEntries
                : std::min(request->max_entries(), kMaxLedgerEntries);
        reply->set_tree_size(store_.LedgerSize());
        FL_ASSIGN_OR_RETURN(std::vector<std::string> entries,
                            store_.LedgerEntries(request->start(), limit));
        size_t bytes = 0;
        for (std::string& e : entries) {
          // An inspector sees only its own events (to check its receipts).
          if (caller.role() == v1::ROLE_INSPECTOR) {
            v1::Event event;
            if (!event.ParseFromString(e) ||
                event.origin().client_id() != caller.client_id()) {
              return absl::PermissionDeniedError(absl::StrCat(
                  "GetEntries: leaf ", request->start() + reply->entries_size(),
                  " is not the caller's; inspectors may read only their own"));
            }
          }
          bytes += e.size();
          *reply->add_entries() = std::move(e);
          if (bytes >= kMaxLedgerEntryBytes) break;
        }
        return absl::OkStatus();
      });
}

}  // namespace fieldledger::server
