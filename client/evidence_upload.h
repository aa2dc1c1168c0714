// UploadEvidence: sends one piece of evidence to the node and resumes where
// the node is after every interruption, so no byte the node already holds
// is sent again.
//
//   auto status = UploadEvidence(*stub, token, "image/jpeg", stripped_bytes,
//                                UploadOptions());
//
// Each attempt asks GetUploadStatus for the node's durable offset and
// streams from there in chunks; a transient failure (a dropped connection,
// a node restarting, too many uploads under way) is retried with
// exponential backoff and full jitter, a permanent one (wrong hash,
// metadata the node refuses, over a limit) is returned at once.
// Thread-safe: stateless.
#ifndef FIELDLEDGER_CLIENT_EVIDENCE_UPLOAD_H_
#define FIELDLEDGER_CLIENT_EVIDENCE_UPLOAD_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fieldledger/v1/sync.grpc.pb.h"

namespace fieldledger::client {

namespace v1 = ::fieldledger::v1;

struct UploadOptions {
  // Bytes per streamed chunk. Default 1 MiB.
  size_t chunk_bytes = 1 << 20;
  // Streams tried, the first included. Default 8.
  int max_attempts = 8;
  // Before retry n the client waits a uniformly random time in
  // [0, min(max_backoff, initial_backoff * 2^(n-1))].
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  // Deadline of one stream (and of each status query). Default 10 min.
  absl::Duration stream_timeout = absl::Minutes(10);
  // How the client waits between retries. Default absl::SleepFor.
  std::function<void(absl::Duration)> sleep = absl::SleepFor;
  // Told the node's durable offset after each attempt, e.g. for a progress
  // display. Optional.
  std::function<void(uint64_t received, uint64_t size)> progress;
};

// Uploads `bytes` (already stripped of identifying metadata) as evidence
// of `media_type`, named by their SHA-256. Returns the node's final status
// (complete), or the error that stopped it.
absl::StatusOr<v1::UploadStatus> UploadEvidence(
    v1::FieldSync::StubInterface& stub, absl::string_view token,
    absl::string_view media_type, absl::string_view bytes,
    const UploadOptions& options);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_EVIDENCE_UPLOAD_H_
