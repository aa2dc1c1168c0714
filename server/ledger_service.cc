#include "server/ledger_service.h"

#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "core/status_macros.h"
#include "server/grpc_status.h"
#include "server/services.h"

namespace fieldledger::server {
namespace {

// Checkpoints and proofs: hashes only. Entries: every event.
constexpr std::initializer_list<v1::Role> kProofRoles = {
    v1::ROLE_INSPECTOR, v1::ROLE_AUDITOR, v1::ROLE_ADMIN};
constexpr std::initializer_list<v1::Role> kEntryRoles = {v1::ROLE_AUDITOR,
                                                         v1::ROLE_ADMIN};

template <typename Fn>
grpc::ServerUnaryReactor* Read(storage::Store& store,
                               grpc::CallbackServerContext* context,
                               absl::string_view rpc,
                               std::initializer_list<v1::Role> roles, Fn fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = Authenticate(store, *context, rpc, roles).status();
  if (status.ok()) status = fn();
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kDataLoss) {
    std::cerr << "fieldledgerd: " << rpc << ": " << status << std::endl;
  }
  reactor->Finish(ToGrpc(status));
  return reactor;
}

void AddHashes(const std::vector<merkle::Hash>& hashes,
               google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Reserve(static_cast<int>(hashes.size()));
  for (const merkle::Hash& h : hashes) *out->Add() = merkle::HashToBytes(h);
}

}  // namespace

grpc::ServerUnaryReactor* LedgerService::GetCheckpoint(
    grpc::CallbackServerContext* context, const v1::GetCheckpointRequest*,
    v1::GetCheckpointResponse* reply) {
  return Read(store_, context, __func__, kProofRoles, [&]() -> absl::Status {
    FL_ASSIGN_OR_RETURN(*reply->mutable_checkpoint(), checkpointer_.Latest());
    reply->set_verifier_key(checkpointer_.verifier().ToString());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LedgerService::GetInclusionProof(
    grpc::CallbackServerContext* context,
    const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* reply) {
  return Read(store_, context, __func__, kProofRoles, [&]() -> absl::Status {
    FL_ASSIGN_OR_RETURN(std::vector<merkle::Hash> proof,
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
  return Read(store_, context, __func__, kProofRoles, [&]() -> absl::Status {
    FL_ASSIGN_OR_RETURN(std::vector<merkle::Hash> proof,
                        store_.LedgerConsistencyProof(request->first_size(),
                                                      request->second_size()));
    AddHashes(proof, reply->mutable_hashes());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LedgerService::GetEntries(
    grpc::CallbackServerContext* context, const v1::GetEntriesRequest* request,
    v1::GetEntriesResponse* reply) {
  return Read(store_, context, __func__, kEntryRoles, [&]() -> absl::Status {
    const uint32_t limit =
        request->max_entries() == 0
            ? kMaxLedgerEntries
            : std::min(request->max_entries(), kMaxLedgerEntries);
    reply->set_tree_size(store_.LedgerSize());
    FL_ASSIGN_OR_RETURN(std::vector<std::string> entries,
                        store_.LedgerEntries(request->start(), limit));
    for (std::string& e : entries) *reply->add_entries() = std::move(e);
    return absl::OkStatus();
  });
}

}  // namespace fieldledger::server
