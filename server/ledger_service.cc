#include "server/ledger_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/packed_leaves.h"
#include "core/status_macros.h"
#include "core/sync.h"
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

// StreamEntries: leaves [start, end) in messages of about
// kStreamEntriesMessageBytes, double-buffered — while one message is being
// written the next is filled from the store. One thread at a time pumps
// (fills, starts writes, finishes); the others only record what happened
// and leave, so once the pump calls Finish no thread touches the reactor
// again until OnDone deletes it.
class EntriesStream final
    : public grpc::ServerWriteReactor<v1::StreamEntriesResponse> {
 public:
  EntriesStream(storage::Store& store, grpc::CallbackServerContext& context,
                const v1::StreamEntriesRequest& request) {
    absl::StatusOr<v1::Principal> caller =
        Authenticate(store, context, kRpc, {v1::ROLE_AUDITOR, v1::ROLE_ADMIN});
    absl::StatusOr<std::unique_ptr<storage::LedgerLeafReader>> reader =
        caller.ok() ? store.ReadLedgerLeaves(request.start(), request.end())
                    : caller.status();
    if (reader.ok()) {
      reader_ = *std::move(reader);
    } else {
      absl::MutexLock lock(&mu_);
      status_ = reader.status();
      done_reading_ = true;
    }
    Pump([] {});
  }

  void OnWriteDone(bool ok) override {
    Pump([&] {
      writing_ = false;
      if (!ok) cancelled_ = true;
    });
  }
  void OnCancel() override {
    Pump([&] { cancelled_ = true; });
  }
  void OnDone() override { delete this; }

 private:
  static constexpr char kRpc[] = "StreamEntries";

  // Applies `update` to the state; then, unless another thread is pumping
  // (it will see the update), does what the state allows until it must
  // wait for a write or finishes.
  template <typename Update>
  void Pump(Update update) {
    {
      absl::MutexLock lock(&mu_);
      update();
      if (pumping_) return;
      pumping_ = true;
    }
    for (;;) {
      enum class Step { kWrite, kFill, kFinish } step;
      absl::Status final_status;
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_ || (done_reading_ && !has_ready_)) {
          if (writing_) {
            pumping_ = false;  // OnWriteDone pumps again
            return;
          }
          step = Step::kFinish;
          final_status = cancelled_
                             ? absl::CancelledError("StreamEntries: cancelled")
                             : status_;
        } else if (!writing_ && has_ready_) {
          std::swap(writing_message_, ready_message_);
          has_ready_ = false;
          writing_ = true;
          step = Step::kWrite;
        } else if (!has_ready_) {
          step = Step::kFill;
        } else {
          pumping_ = false;  // both buffers full: OnWriteDone pumps again
          return;
        }
      }
      switch (step) {
        case Step::kWrite:
          StartWrite(&writing_message_);
          break;
        case Step::kFill:
          Fill();
          break;
        case Step::kFinish:
          server::Finish(this, kRpc, final_status);
          return;
      }
    }
  }

  // Packs the next leaves into spare_message_ (only the pump touches it and
  // the reader), then makes it the ready message.
  void Fill() {
    v1::StreamEntriesResponse& message = spare_message_;
    message.set_first_index(reader_->next());
    std::string& packed = *message.mutable_leaves();
    packed.clear();  // keeps its capacity from an earlier message
    uint32_t count = 0;
    const absl::Status read =
        reader_->Read([&](uint64_t, absl::string_view leaf) {
          // 10: the most bytes a varint length takes.
          if (count > 0 &&
              packed.size() + 10 + leaf.size() > kStreamEntriesMessageBytes) {
            return false;
          }
          AppendPackedLeaf(packed, leaf);
          ++count;
          return true;
        });
    message.set_count(count);
    absl::MutexLock lock(&mu_);
    if (count > 0) {
      std::swap(ready_message_, spare_message_);
      has_ready_ = true;
    }
    if (!read.ok()) status_ = read;
    done_reading_ = !read.ok() || reader_->next() == reader_->end();
  }

  std::unique_ptr<storage::LedgerLeafReader> reader_;
  v1::StreamEntriesResponse spare_message_;
  v1::StreamEntriesResponse writing_message_;  // between StartWrite and
                                               // OnWriteDone
  absl::Mutex mu_;
  v1::StreamEntriesResponse ready_message_ ABSL_GUARDED_BY(mu_);
  bool has_ready_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool done_reading_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);  // the stream's, once read
};

}  // namespace

grpc::ServerWriteReactor<v1::StreamEntriesResponse>*
LedgerService::StreamEntries(grpc::CallbackServerContext* context,
                             const v1::StreamEntriesRequest* request) {
  return new EntriesStream(store_, *context, *request);
}

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
  return Read(store_, context, __func__, kProofRoles,
              [&](const v1::Principal& caller) -> absl::Status {
                const uint32_t limit =
                    request->max_entries() == 0
                        ? kMaxLedgerEntries
                        : std::min(request->max_entries(), kMaxLedgerEntries);
                reply->set_tree_size(store_.LedgerSize());
                FL_ASSIGN_OR_RETURN(
                    std::vector<std::string> entries,
                    store_.LedgerEntries(request->start(), limit));
                size_t bytes = 0;
                for (std::string& e : entries) {
                  const absl::Status visible = CheckEntryVisible(
                      caller, e, request->start() + reply->entries_size());
                  if (!visible.ok()) {
                    return absl::Status(
                        visible.code(),
                        absl::StrCat("GetEntries: ", visible.message()));
                  }
                  bytes += e.size();
                  *reply->add_entries() = std::move(e);
                  if (bytes >= kMaxLedgerEntryBytes) break;
                }
                return absl::OkStatus();
              });
}

}  // namespace fieldledger::server
