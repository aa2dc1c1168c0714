#include "server/checkpointer.h"

#include <iostream>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace fieldledger::server {

absl::StatusOr<std::unique_ptr<Checkpointer>> Checkpointer::Start(
    storage::Store& store, const NoteSigner& signer, absl::Duration interval) {
  std::unique_ptr<Checkpointer> c(new Checkpointer(store, signer));
  {
    absl::MutexLock lock(&c->mu_);
    FL_RETURN_IF_ERROR(c->Load());
    FL_RETURN_IF_ERROR(c->SignLocked());
  }
  if (interval > absl::ZeroDuration()) {
    Checkpointer* self = c.get();
    c->thread_ = std::thread([self, interval] { self->Loop(interval); });
  }
  return c;
}

Checkpointer::~Checkpointer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Checkpointer::Load() {
  FL_ASSIGN_OR_RETURN(std::optional<std::string> note,
                      store_.GetMeta(kCheckpointMetaKey));
  if (!note) return absl::OkStatus();
  absl::StatusOr<Checkpoint> opened =
      OpenCheckpoint(*note, signer_.name(), {signer_.verifier()});
  if (!opened.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the stored ledger checkpoint does not open with this node's key "
        "(was ledger.key or --node_name changed?): ",
        opened.status().message()));
  }
  const uint64_t size = store_.LedgerSize();
  if (size < opened->tree_size) {
    return absl::DataLossError(absl::StrCat(
        "LEDGER ROLLBACK: the last signed checkpoint covers ",
        opened->tree_size, " events but the store holds only ", size,
        ". The data was rolled back or lost; clients that verified the "
        "checkpoint will detect it. Restore the newest data; do not sign."));
  }
  FL_ASSIGN_OR_RETURN(merkle::Hash root, store_.LedgerRoot(opened->tree_size));
  if (root != opened->root_hash) {
    return absl::DataLossError(absl::StrCat(
        "LEDGER ALTERED: the tree of ", opened->tree_size, " events has root ",
        merkle::HashToHex(root), " but the last signed checkpoint says ",
        merkle::HashToHex(opened->root_hash), ". Do not sign."));
  }
  note_ = *std::move(note);
  last_ = *std::move(opened);
  have_last_ = true;
  return absl::OkStatus();
}

absl::Status Checkpointer::SignLocked() {
  FL_RETURN_IF_ERROR(broken_);
  const uint64_t size = store_.LedgerSize();
  if (have_last_ && size == last_.tree_size) return absl::OkStatus();
  if (have_last_ && size < last_.tree_size) {
    broken_ = absl::FailedPreconditionError(
        absl::StrCat("LEDGER ROLLBACK: the tree shrank from ", last_.tree_size,
                     " to ", size, "; signing stopped"));
    return broken_;
  }
  Checkpoint next{signer_.name(), size, {}, {}};
  FL_ASSIGN_OR_RETURN(next.root_hash, store_.LedgerRoot(size));
  if (have_last_) {
    // Never sign a tree that does not extend the last one.
    FL_ASSIGN_OR_RETURN(std::vector<merkle::Hash> proof,
                        store_.LedgerConsistencyProof(last_.tree_size, size));
    absl::Status consistent = VerifyCheckpointConsistency(last_, next, proof);
    if (!consistent.ok()) {
      broken_ = absl::FailedPreconditionError(absl::StrCat(
          "LEDGER FORK: the tree of ", size,
          " does not extend the last checkpoint: ", consistent.message(),
          "; signing stopped"));
      return broken_;
    }
  }
  FL_ASSIGN_OR_RETURN(std::string note, SignCheckpoint(next, signer_));
  // Durable before anyone sees it: a restart must continue from it.
  FL_RETURN_IF_ERROR(store_.PutMetaSynced(kCheckpointMetaKey, note));
  note_ = std::move(note);
  last_ = std::move(next);
  have_last_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> Checkpointer::Latest() {
  absl::MutexLock lock(&mu_);
  FL_RETURN_IF_ERROR(broken_);
  return note_;
}

absl::StatusOr<std::string> Checkpointer::SignNow() {
  absl::MutexLock lock(&mu_);
  FL_RETURN_IF_ERROR(SignLocked());
  return note_;
}

void Checkpointer::Loop(absl::Duration interval) {
  bool reported = false;
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval);
    if (stopping_) return;
    const absl::Status signed_ok = SignLocked();
    if (!signed_ok.ok() && !reported) {
      // Loud, once: an operator must act (docs/OPERATIONS.md).
      std::cerr << "fieldledgerd: cannot sign a ledger checkpoint: "
                << signed_ok << std::endl;
      reported = !broken_.ok();
    }
  }
}

}  // namespace fieldledger::server
