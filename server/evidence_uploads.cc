#include "server/evidence_uploads.h"

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

// One UploadEvidence stream. Reads a chunk, has the append thread store it,
// and reads the next only then; finishes when the client closes its side,
// when the evidence is complete, or at the first error.
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
    opened_ = true;
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client is done sending
      Finish(reply_->sha256().empty()
                 ? ToGrpc(absl::InvalidArgumentError(
                       "sha256: the stream named no evidence"))
                 : grpc::Status::OK);
      return;
    }
    uploads_.Post([this] {
      const absl::Status stored = Store();
      if (!stored.ok()) {
        Finish(ToGrpc(stored));
      } else if (reply_->complete()) {
        Finish(grpc::Status::OK);
      } else {
        StartRead(&chunk_);
      }
    });
  }

  void OnDone() override {
    if (opened_) uploads_.Close(device_);
    delete this;
  }

 private:
  // Stores `chunk_` (on the append thread) and updates the reply.
  absl::Status Store() {
    storage::EvidenceStore& store = uploads_.store_;
    const absl::Time now = absl::Now();
    if (reply_->sha256().empty()) {
      FL_ASSIGN_OR_RETURN(storage::UploadState state,
                          store.Begin(chunk_.sha256(), chunk_.size(),
                                      chunk_.media_type(), now));
      *reply_ = ToProto(chunk_.sha256(), state);
    } else if (!chunk_.sha256().empty() &&
               chunk_.sha256() != reply_->sha256()) {
      return absl::InvalidArgumentError(
          "sha256: differs from the first message's; one evidence per "
          "stream");
    }
    if (chunk_.data().empty() || reply_->complete()) return absl::OkStatus();
    FL_ASSIGN_OR_RETURN(
        storage::UploadState state,
        store.Append(reply_->sha256(), chunk_.offset(), chunk_.data(), now));
    *reply_ = ToProto(reply_->sha256(), state);
    return absl::OkStatus();
  }

  EvidenceUploads& uploads_;
  const std::string device_;
  v1::UploadStatus* const reply_;
  bool opened_ = false;
  v1::EvidenceChunk chunk_;
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
