// SyncClient: pushes a device's outbox to a FieldSync server and pulls what
// concerns it (registry, the status of its own findings) into the outbox.
//
//   auto channel = grpc::CreateChannel(cred.server,
//                                      grpc::InsecureChannelCredentials());
//   auto stub = v1::FieldSync::NewStub(channel);
//   SyncClient sync(*outbox, *stub, cred.token, cred.client_id);
//   FL_ASSIGN_OR_RETURN(SyncReport report, sync.Sync());
//
// Push: first an empty Push learns the server's high-water mark (a server
// restored from a backup makes the device resend from there; a server past
// everything this device recorded makes it renumber its unsettled
// mutations). Then batches of unsettled mutations, each result recorded in the
// outbox; a gap refusal (FAILED_PRECONDITION) resends from the mark in the
// "fieldledger-high-water-mark" trailer; a batch over the server's limit is
// halved. Transient errors are retried with exponential backoff and full
// jitter. Pull: from the stored cursor until the server says no more.
//
// Thread-safety: one SyncClient per thread; the outbox and stub may be
// shared.
#ifndef FIELDLEDGER_CLIENT_SYNC_CLIENT_H_
#define FIELDLEDGER_CLIENT_SYNC_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "storage/outbox.h"

namespace fieldledger::client {

namespace v1 = ::fieldledger::v1;

// The most mutations a server accepts in one Push (the protocol's default).
inline constexpr size_t kMaxPushBatch = 500;

struct SyncOptions {
  // Mutations per Push; clamped to 1..kMaxPushBatch. Default 100.
  size_t batch_size = 100;
  // Tries of one RPC when it fails with a transient error (UNAVAILABLE,
  // DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN), the
  // first included. Default 5.
  int max_attempts = 5;
  // Before retry n (n = 1, 2 ...) the client waits a uniformly random time in
  // [0, min(max_backoff, initial_backoff * 2^(n-1))] ("full jitter").
  // Default 200 ms; zero means retry at once (tests).
  absl::Duration initial_backoff = absl::Milliseconds(200);
  // Cap of one wait. Default 5 s.
  absl::Duration max_backoff = absl::Seconds(5);
  // Deadline of each RPC. Default 15 s.
  absl::Duration rpc_timeout = absl::Seconds(15);
  // Changes per Pull; 0 lets the server choose (500). Default 0.
  uint32_t pull_limit = 0;
  // Gap refusals accepted in one Push() before it gives up. Default 3.
  int max_gap_resends = 3;
  // Pull pages in one Pull() before it gives up (a server that always says
  // `more`). Default 100000.
  int max_pull_pages = 100000;
  // How the client waits between retries. Default absl::SleepFor.
  std::function<void(absl::Duration)> sleep = absl::SleepFor;
};

// A mutation the server refused for good.
struct RejectedMutation {
  uint64_t client_seq = 0;
  // The finding the mutation was about.
  std::string finding_id;
  // "report", "amend" or "withdraw".
  std::string action;
  v1::Rejection rejection;
};

struct PushReport {
  // Mutations sent in Pushes the server answered (a resent one counts again).
  size_t pushed = 0;
  // Of those, applied now or before.
  size_t accepted = 0;
  // Of those, refused for good; each in `rejections`.
  size_t rejected = 0;
  std::vector<RejectedMutation> rejections;
  // The server's mark after the last Push.
  uint64_t high_water_mark = 0;
  // The server knew less than this device thought (restored from a backup):
  // the device resent from here (0 when it did not).
  uint64_t resent_from = 0;
  // The server knew more than this device recorded: unsettled mutations were
  // renumbered to follow this mark (0 when they were not).
  uint64_t rebased_to = 0;
  // Batches halved because the server found them too large.
  int batch_halvings = 0;
  // Transient failures retried.
  int retries = 0;
};

struct PullReport {
  // Changes received and stored.
  size_t changes = 0;
  // Pull RPCs made.
  int pages = 0;
  // The server refused the stored cursor: everything pulled before was
  // dropped and pulled again.
  bool reset = false;
  int retries = 0;
};

// What FieldClient::Sync did with the device's evidence copies after the
// Push (SyncClient itself leaves it empty).
struct EvidenceSyncReport {
  // Pieces the node now holds complete; their local copies were removed.
  size_t uploaded = 0;
  // Their bytes.
  uint64_t bytes = 0;
  // Copies no finding on this device refers to any more (its report was
  // rejected, it was withdrawn, or the amendment that attached it was
  // rejected): removed, not uploaded.
  size_t dropped = 0;
  // Pieces not uploaded, by sha256, and why (DATA_LOSS for a damaged local
  // copy); their copies are kept for the next sync.
  std::vector<std::pair<std::string, absl::Status>> failed;
};

struct SyncReport {
  PushReport push;
  PullReport pull;
  EvidenceSyncReport evidence;
};

class SyncClient {
 public:
  // `outbox` and `stub` must outlive the SyncClient. `client_id` is written
  // into every pushed mutation.
  SyncClient(storage::Outbox& outbox, v1::FieldSync::StubInterface& stub,
             std::string token, std::string client_id,
             SyncOptions options = SyncOptions());

  // An empty Push: the server's high-water mark for this client.
  absl::StatusOr<uint64_t> FetchHighWaterMark();

  // Pushes every unsettled mutation (see the file comment). On an error the
  // results received so far are kept in the outbox; the report is lost.
  absl::StatusOr<PushReport> Push();

  // Pulls until the server says no more; each page is stored in one batch.
  absl::StatusOr<PullReport> Pull();

  // Push, then Pull.
  absl::StatusOr<SyncReport> Sync();

 private:
  // Calls `rpc` (which makes a fresh context each time) until it succeeds,
  // fails with a non-transient status, or runs out of attempts.
  absl::Status Retry(const std::function<absl::Status()>& rpc, int* retries);
  // One Push RPC; `trailer_mark` gets the gap trailer's value, if any.
  absl::Status CallPush(const v1::PushRequest& request, v1::PushResponse* reply,
                        std::optional<uint64_t>* trailer_mark);

  storage::Outbox& outbox_;
  v1::FieldSync::StubInterface& stub_;
  const std::string token_;
  const std::string client_id_;
  const SyncOptions options_;
  std::mt19937_64 rng_;
};

// Trades a one-time enrollment code for a credential. No retries: a code is
// used up by the first call that reaches the server.
absl::StatusOr<v1::EnrollResponse> Enroll(v1::FieldSync::StubInterface& stub,
                                          const std::string& code,
                                          absl::Duration timeout);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_SYNC_CLIENT_H_
