// LedgerClient: checks a node's ledger from the device (issue #4,
// DESIGN.md principle 6). It verifies checkpoints with a pinned verifier key,
// proves the device's own events are in the signed tree, proves every new
// checkpoint extends the last one it verified, and raises a persistent alarm
// in the outbox when the server's history contradicts what it verified.
//
//   LedgerClient ledger(*outbox, *stub, cred.token, {});
//   FL_ASSIGN_OR_RETURN(VerifyReport report, ledger.Verify());
//   if (!report.alarm.empty()) ...  // also stored: every later command shows
//   it
//
// Trust: the verifier key is the one given with LedgerClientOptions::
// verifier_key (from the operator, e.g. the node's ledger.vkey), else the
// one pinned in the outbox, else — trust on first use — the key the server
// names in its first GetCheckpoint reply, which is then pinned. A later key
// that differs from the pinned one is refused.
//
// Thread-safety: one LedgerClient per thread; outbox and stub may be shared.
#ifndef FIELDLEDGER_CLIENT_LEDGER_CLIENT_H_
#define FIELDLEDGER_CLIENT_LEDGER_CLIENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/note.h"
#include "fieldledger/v1/ledger.grpc.pb.h"
#include "storage/outbox.h"

namespace fieldledger::client {

struct LedgerClientOptions {
  // A verifier key text to trust (and pin). Empty: the pinned one, or trust
  // on first use. Default empty.
  std::string verifier_key;
  // Deadline of each RPC. Default 15 s.
  absl::Duration rpc_timeout = absl::Seconds(15);
  // Deadline of the whole entry stream an Audit reads. Default 1 h.
  absl::Duration audit_timeout = absl::Hours(1);
};

// The receive limit a channel for LedgerClient::Audit needs: a
// StreamEntries message holds about 1 MiB of leaves, or one bigger leaf,
// and a leaf is at most a node's --max_message_bytes (default 4 MiB) plus
// a little. 64 MiB leaves room for nodes that raise that flag.
inline constexpr int kLedgerMaxReceiveBytes = 64 << 20;

struct VerifyReport {
  // The checkpoint verified now (its size), and the one verified before
  // (0 and `first_checkpoint` when there was none).
  uint64_t tree_size = 0;
  uint64_t previous_size = 0;
  bool first_checkpoint = false;
  // The verifier key was pinned now, from the server (trust on first use).
  bool trusted_on_first_use = false;
  // Own applied events proven included in the checkpoint's tree.
  size_t events_verified = 0;
  // Own applied events the checkpoint does not cover yet.
  size_t events_not_yet_covered = 0;
  // Empty, or what contradicts the verified history (also stored in the
  // outbox as the alarm).
  std::string alarm;
};

struct AuditReport {
  // The size of the signed checkpoint audited, and what was read of it.
  uint64_t tree_size = 0;
  uint64_t entries_read = 0;
  uint64_t bytes_read = 0;
  // The name of the key that signed the checkpoint (the node's origin).
  std::string signer;
  // Empty when every entry was read and the recomputed root equals the
  // signed checkpoint's; otherwise the first problem.
  std::string problem;
};

class LedgerClient {
 public:
  // StreamEntries messages received but not yet hashed, at most.
  static constexpr size_t kAuditMessagesAhead = 4;

  // `outbox` and `stub` must outlive the LedgerClient.
  LedgerClient(storage::Outbox& outbox, v1::Ledger::StubInterface& stub,
               std::string token, LedgerClientOptions options = {});

  // The latest checkpoint note, verbatim, once its signature verified with
  // the trusted key (pinning it on first use).
  absl::StatusOr<std::string> Checkpoint();

  // A c2sp.org/tlog-proof@v1 text for leaf `index` against the latest
  // checkpoint. OUT_OF_RANGE when the checkpoint does not cover it yet.
  absl::StatusOr<std::string> Receipt(uint64_t index);

  // The stored bytes of leaf `index` (the event), as the server serves them:
  // what a receipt's leaf hash is computed from.
  absl::StatusOr<std::string> Entry(uint64_t index);

  // Verifies the latest checkpoint, its consistency with the last verified
  // one, and the inclusion of each own applied event it covers; on success
  // stores it as the last verified checkpoint. A contradiction is not an
  // error status: it is reported in VerifyReport::alarm and stored.
  // Errors are for what could not be checked (network, permission).
  absl::StatusOr<VerifyReport> Verify();

  // Auditor/admin: streams every entry of the latest checkpoint's tree
  // (StreamEntries), checks that entry i is the event with seq i,
  // recomputes the root, and compares it with the signed one. A receiver
  // thread keeps at most kAuditMessagesAhead messages ahead of the hashing.
  // The stub's channel should allow kLedgerMaxReceiveBytes.
  absl::StatusOr<AuditReport> Audit();

 private:
  // GetCheckpoint, then opens the note with the trusted key.
  absl::StatusOr<std::pair<std::string, fieldledger::Checkpoint>>
  FetchCheckpoint(bool* pinned_now);
  absl::Status Alarm(storage::LedgerTrust trust, const std::string& alarm);

  storage::Outbox& outbox_;
  v1::Ledger::StubInterface& stub_;
  const std::string token_;
  const LedgerClientOptions options_;
};

// Checks a receipt offline, with nothing but the node's published verifier
// key (`vkey`, the text of its ledger.vkey) and the leaf's bytes (`entry`):
// the checkpoint's signature and origin, and that the leaf is in its tree.
// Returns the checkpoint; INVALID_ARGUMENT/UNAUTHENTICATED saying what
// failed.
absl::StatusOr<fieldledger::Checkpoint> CheckReceipt(absl::string_view receipt,
                                                     absl::string_view entry,
                                                     absl::string_view vkey);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_LEDGER_CLIENT_H_
