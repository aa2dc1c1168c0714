#include "server/evidence_uploads.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/status_macros.h"
#include "server/grpc_status.h"

namespace fieldledger::server {
namespace {

v1::UploadStatus ToProto(absl::string_view sha256,
                         const storage::UploadState& state) {
  v1::UploadStatus out;
  out.set_sha256(std::string(sha256));
  out.set_size(state.size);
  out.set_received(state.received);
  out.set_complete(state.complete);
  return out;
}

}  // namespace

// One UploadEvidence stream. While the append thread stores one chunk the
// stream already reads the next (at most kAhead chunks wait), so network
// and disk overlap; chunks are stored in order, through one
// EvidenceStore::Writer: durable as the store's background flushes move
// them to blob files, and all of them when the stream ends (the client
// finished, an error, or the evidence is complete). That last commit and
// the stream's Finish happen on the append thread.
class EvidenceUploads::Stream final
    : public grpc::ServerReadReactor<v1::EvidenceChunk> {
 public:
  Stream(EvidenceUploads& uploads, std::string device, v1::UploadStatus* reply)
      : uploads_(uploads), device_(std::move(device)), reply_(reply) {
    if (!uploads_.Open(device_)) {
      Finish(ToGrpc(absl::ResourceExhaustedError(absl::StrCat(
          "this device already has ", uploads_.options_.max_per_device,
          " uploads under way"))));
      return;
    }
    absl::MutexLock lock(&mu_);
    opened_ = true;
    ReadMoreLocked();
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    // A read that was under way when the stream finished: drop it, and
    // post nothing that could outlive the stream.
    if (finished_) return;
    if (ok) {
      waiting_.push_back(std::move(incoming_));
      ReadMoreLocked();
    } else {  // the client is done sending, or the call is over
      client_done_ = true;
    }
    if (!storing_) {
      storing_ = true;
      uploads_.Post([this] { StoreWaiting(); });
    }
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kAhead = 3;

  // On the append thread: stores the waiting chunks in order; once the
  // client is done, or at the first error or completion, commits and
  // finishes.
  void StoreWaiting() {
    absl::Status stored;
    for (;;) {
      v1::EvidenceChunk chunk;
      {
        absl::MutexLock lock(&mu_);
        if (waiting_.empty()) {
          if (client_done_) break;
          storing_ = false;  // the writer stays open for the next chunk
          return;
        }
        chunk = std::move(waiting_.front());
        waiting_.pop_front();
        ReadMoreLocked();
      }
      stored = Store(chunk);
      if (!stored.ok() || reply_->complete()) break;
    }
    // Keep what arrived before an error too: the client resumes after it.
    const absl::Status committed = Commit();
    if (stored.ok()) stored = committed;
    writer_.reset();  // frees the evidence for other streams
    if (stored.ok() && reply_->sha256().empty()) {
      stored =
          absl::InvalidArgumentError("sha256: the stream named no evidence");
    }
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      storing_ = false;
      finish = FinishLocked(ToGrpc(stored));
    }
    // Last: once finished, the stream may be deleted at any moment.
    if (finish) Finish(*finish);
  }

  // Stores one chunk and updates the reply (received then counts bytes not
  // yet durable). Only the append thread touches the reply and the writer
  // while `storing_`.
  absl::Status Store(const v1::EvidenceChunk& chunk) {
    const absl::Time now = absl::Now();
    if (writer_ == nullptr) {
      FL_ASSIGN_OR_RETURN(
          writer_, uploads_.store_.OpenWriter(chunk.sha256(), chunk.size(),
                                              chunk.media_type(), now));
      *reply_ = ToProto(chunk.sha256(), writer_->state());
    } else if (!chunk.sha256().empty() && chunk.sha256() != reply_->sha256()) {
      return absl::InvalidArgumentError(
          "sha256: differs from the first message's; one evidence per "
          "stream");
    }
    if (chunk.data().empty() || reply_->complete()) return absl::OkStatus();
    FL_ASSIGN_OR_RETURN(storage::UploadState state,
                        writer_->Append(chunk.offset(), chunk.data(), now));
    *reply_ = ToProto(reply_->sha256(), state);
    return absl::OkStatus();
  }

  // Makes what the writer appended durable; the reply then says so.
  absl::Status Commit() {
    if (writer_ == nullptr) return absl::OkStatus();
    FL_ASSIGN_OR_RETURN(storage::UploadState state,
                        writer_->Commit(absl::Now()));
    *reply_ = ToProto(reply_->sha256(), state);
    return absl::OkStatus();
  }

  void ReadMoreLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || client_done_ || finished_ || waiting_.size() >= kAhead) {
      return;
    }
    reading_ = true;
    StartRead(&incoming_);
  }

  // Marks the stream finished; returns `status` for the caller to pass to
  // Finish() after unlocking, or nullopt when it was finished already.
  std::optional<grpc::Status> FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return std::nullopt;
    finished_ = true;
    waiting_.clear();
    // Free the device's slot before the client can see the status, so a
    // device that starts its next upload on seeing it is not refused.
    if (opened_) uploads_.Close(device_);
    opened_ = false;
    return status;
  }

  EvidenceUploads& uploads_;
  const std::string device_;
  v1::UploadStatus* const reply_;
  // The session on the stream's evidence, from its first message on.
  std::unique_ptr<storage::EvidenceStore::Writer> writer_;

  absl::Mutex mu_;
  bool opened_ ABSL_GUARDED_BY(mu_) = false;
  v1::EvidenceChunk incoming_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::EvidenceChunk> waiting_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool storing_ ABSL_GUARDED_BY(mu_) = false;
  bool client_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

EvidenceUploads::EvidenceUploads(storage::EvidenceStore& store,
                                 const EvidenceUploadOptions& options)
    : store_(store), options_(options), thread_([this] { Run(); }) {}

EvidenceUploads::~EvidenceUploads() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

grpc::ServerReadReactor<v1::EvidenceChunk>* EvidenceUploads::Start(
    const std::string& device, v1::UploadStatus* reply) {
  return new Stream(*this, device, reply);
}

absl::StatusOr<v1::UploadStatus> EvidenceUploads::Status(
    absl::string_view sha256) {
  FL_ASSIGN_OR_RETURN(std::optional<storage::UploadState> state,
                      store_.Status(sha256));
  if (!state) {
    return absl::NotFoundError(
        absl::StrCat("evidence ", sha256, ": nothing received"));
  }
  return ToProto(sha256, *state);
}

void EvidenceUploads::Post(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(work));
}

void EvidenceUploads::Run() {
  absl::Time next_expiry = absl::Now();
  for (;;) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithDeadline(
          absl::Condition(
              +[](EvidenceUploads* u) ABSL_EXCLUSIVE_LOCKS_REQUIRED(u->mu_) {
                return u->stopping_ || !u->queue_.empty();
              },
              this),
          next_expiry);
      if (!queue_.empty()) {
        work = std::move(queue_.front());
        queue_.pop_front();
      } else if (stopping_) {
        return;
      }
    }
    if (work) work();
    if (absl::Now() >= next_expiry) {
      // A failure here only delays the clean-up to the next round.
      store_.ExpirePartial(absl::Now() - options_.partial_ttl).IgnoreError();
      next_expiry = absl::Now() + options_.expiry_interval;
    }
  }
}

bool EvidenceUploads::Open(const std::string& device) {
  absl::MutexLock lock(&mu_);
  size_t& n = open_[device];
  if (n >= options_.max_per_device) return false;
  ++n;
  return true;
}

void EvidenceUploads::Close(const std::string& device) {
  absl::MutexLock lock(&mu_);
  if (--open_[device] == 0) open_.erase(device);
}

}  // namespace fieldledger::server
