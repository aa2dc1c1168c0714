// EvidenceUploads: the work behind FieldSync.UploadEvidence and
// GetUploadStatus. Every chunk is appended on a thread of its own, because
// appends write to disk and the end of a stream waits for a sync, and gRPC
// threads never do; meanwhile the stream reads ahead (at most three chunks
// wait). GetUploadStatus reports only bytes synced.
//
//   EvidenceUploads uploads(evidence_store, {.max_per_device = 4});
//   return uploads.Start(caller, reply);   // in the UploadEvidence handler
//
// Thread-safe. Destroy it only after the gRPC server has shut down.
#ifndef FIELDLEDGER_SERVER_EVIDENCE_UPLOADS_H_
#define FIELDLEDGER_SERVER_EVIDENCE_UPLOADS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "storage/evidence_store.h"

namespace fieldledger::server {

namespace v1 = ::fieldledger::v1;

struct EvidenceUploadOptions {
  // Upload streams one device may have open at once; more get
  // RESOURCE_EXHAUSTED.
  size_t max_per_device = 4;
  // Uploads not appended to for this long are removed.
  absl::Duration partial_ttl = absl::Hours(24 * 7);
  // How often to look for them (also once at start).
  absl::Duration expiry_interval = absl::Hours(1);
};

class EvidenceUploads {
 public:
  EvidenceUploads(storage::EvidenceStore& store,
                  const EvidenceUploadOptions& options);
  // Runs the appends still queued, then stops the thread.
  ~EvidenceUploads();

  // A reactor that serves one UploadEvidence stream of `device` (the
  // caller's pseudonym) into `reply`.
  grpc::ServerReadReactor<v1::EvidenceChunk>* Start(const std::string& device,
                                                    v1::UploadStatus* reply);

  // GetUploadStatus. Reads only: safe on a gRPC thread.
  absl::StatusOr<v1::UploadStatus> Status(absl::string_view sha256);

 private:
  class Stream;

  // Runs `work` on the append thread.
  void Post(std::function<void()> work);
  // The append thread: queued work, and the expiry of stale uploads.
  void Run();
  // Counts an open stream of `device`; false when it has too many.
  bool Open(const std::string& device);
  void Close(const std::string& device);

  storage::EvidenceStore& store_;
  const EvidenceUploadOptions options_;

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, size_t> open_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_EVIDENCE_UPLOADS_H_
