// Outbox: a device's local store. It keeps every mutation the device recorded,
// numbered by client_seq (1, 2, 3 ...) and never deleted, with what the server
// said about it; the registry and finding statuses pulled from the server with
// their cursor; and the device's credential. Every write is one synced
// RocksDB batch: once a call returns OK, its change survives a crash.
//
//   OutboxOptions options;
//   options.path = home + "/store";
//   FL_ASSIGN_OR_RETURN(std::unique_ptr<Outbox> box, Outbox::Open(options));
//   FL_ASSIGN_OR_RETURN(uint64_t seq, box->Append(mutation));
//   FL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> todo, box->Unsettled(100));
//   ... push todo ...
//   FL_RETURN_IF_ERROR(box->RecordResults(reply.results(),
//   reply.high_water_mark()));
//
// Thread-safety: all methods may be called from several threads; writes are
// serialised by an internal mutex. One process at a time may open a path: a
// second Open of the same path fails (RocksDB's lock file).
#ifndef FIELDLEDGER_STORAGE_OUTBOX_H_
#define FIELDLEDGER_STORAGE_OUTBOX_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fieldledger/v1/common.pb.h"
#include "fieldledger/v1/registry.pb.h"
#include "fieldledger/v1/sync.pb.h"

namespace fieldledger::storage {

namespace v1 = ::fieldledger::v1;

struct OutboxOptions {
  // Directory of the RocksDB database; created when missing. Required.
  std::string path;
  // Write with sync (fsync the WAL) so a recorded mutation survives a power
  // loss. Default true; tests may turn it off for speed.
  bool sync = true;
};

// Where the server is with one mutation.
enum class MutationState {
  // Not yet settled by the server (never pushed, or pushed with no answer).
  kPending = 0,
  // Applied, now or by an earlier Push (APPLIED or ALREADY_APPLIED).
  kAccepted = 1,
  // Refused for good; see OutboxEntry::rejection.
  kRejected = 2,
};

struct OutboxEntry {
  // The mutation as recorded; client_seq is set, client_id may be empty (the
  // sync client fills it in from the credential when it pushes).
  v1::Mutation mutation;
  MutationState state = MutationState::kPending;
  // For kAccepted: the server's event seq (0 when not known).
  uint64_t event_seq = 0;
  // For kRejected: why.
  v1::Rejection rejection;
};

// What Enroll gave this device, and the server it came from.
struct Credential {
  std::string server;
  std::string token;
  std::string client_id;
  std::string pseudonym;
  v1::Role role = v1::ROLE_UNSPECIFIED;
};

// What this device trusts of its server's ledger (issue #4). Empty strings:
// not known yet / no alarm.
struct LedgerTrust {
  // The pinned verifier key text: given with --ledger-vkey or trusted on
  // first use; never replaced by what a server says later.
  std::string verifier_key;
  // The last checkpoint note this device verified (signature, and
  // consistency with the one before).
  std::string checkpoint;
  // Set when the server showed a history that contradicts `checkpoint`
  // (rewritten, forked or rolled back): what was seen. Persistent until a
  // person clears it.
  std::string alarm;
};

// Everything pulled from the server, each list ordered by id.
struct PulledRegistry {
  std::vector<v1::Region> regions;
  std::vector<v1::Unit> units;
  std::vector<v1::Category> categories;
  // The campaigns this inspector is sent on.
  std::vector<v1::Campaign> campaigns;
};

class Outbox {
 public:
  // Opens (creating when missing) the store at options.path.
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(
      const OutboxOptions& options);

  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // --- Mutations ---

  // Numbers `mutation` with the next client_seq (last_seq() + 1), stores it
  // as pending and returns that seq. Any client_seq in `mutation` is
  // overwritten.
  absl::StatusOr<uint64_t> Append(v1::Mutation mutation);

  // The highest client_seq recorded; 0 when none.
  uint64_t last_seq() const;

  // The acknowledged high-water mark: every client_seq at or below it is
  // settled on the server, as far as this device knows. 0 at first.
  uint64_t acked_mark() const;

  // Up to `limit` entries with client_seq > acked_mark(), in seq order.
  absl::StatusOr<std::vector<OutboxEntry>> Unsettled(size_t limit) const;

  // Up to `limit` entries with client_seq >= `from`, in seq order
  // (limit 0 means all).
  absl::StatusOr<std::vector<OutboxEntry>> Read(uint64_t from,
                                                size_t limit) const;

  // Records what a Push answered: each result's entry becomes accepted
  // (APPLIED, ALREADY_APPLIED) or rejected (REJECTED, with its rejection);
  // results for unknown seqs are ignored. Then acked_mark() becomes
  // min(high_water_mark, last_seq()). INVALID_ARGUMENT for an
  // OUTCOME_UNSPECIFIED result (nothing is written then).
  absl::Status RecordResults(const std::vector<v1::MutationResult>& results,
                             uint64_t high_water_mark);

  // Sets acked_mark() to `mark` (at most last_seq()), e.g. lower, when the
  // server was restored from a backup and asks to resend from mark + 1.
  // Entries above the mark keep their last known state until a new result
  // arrives, but are pushed again.
  absl::Status SetAckedMark(uint64_t mark);

  // For a server whose mark is past everything this device has recorded
  // (this store was restored from an older copy): renumbers the unsettled
  // entries to server_mark + 1, + 2 ..., so that none of them reuses a seq
  // the server already settled, and sets acked_mark() to server_mark.
  // Does nothing when server_mark <= last_seq().
  absl::Status Rebase(uint64_t server_mark);

  // --- Credential ---

  // NOT_FOUND when the device has not enrolled.
  absl::StatusOr<Credential> GetCredential() const;
  absl::Status PutCredential(const Credential& credential);

  // --- Ledger ---

  // All fields empty until PutLedgerTrust.
  absl::StatusOr<LedgerTrust> GetLedgerTrust() const;
  // Replaces all three fields in one synced batch.
  absl::Status PutLedgerTrust(const LedgerTrust& trust);

  // --- Pulled state ---

  // The cursor to pass to the next Pull; empty at first and after a reset.
  absl::StatusOr<std::string> GetCursor() const;

  // Applies one Pull response in one batch: when `reply.reset()`, first drops
  // every pulled region, unit, category and finding status; then stores each
  // change (a later one for the same item replaces the earlier one) and
  // reply.next_cursor().
  absl::Status ApplyPull(const v1::PullResponse& reply);

  // Whether any Pull has been applied (the registry then is meaningful).
  absl::StatusOr<bool> HasPulled() const;

  absl::StatusOr<PulledRegistry> GetRegistry() const;
  // nullopt when no such item was pulled.
  absl::StatusOr<std::optional<v1::Unit>> GetUnit(absl::string_view id) const;
  absl::StatusOr<std::optional<v1::Category>> GetCategory(
      absl::string_view id) const;

  // The server's view of this device's findings, ordered by finding id.
  absl::StatusOr<std::vector<v1::FindingUpdate>> GetFindingUpdates() const;

 private:
  class Impl;
  explicit Outbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_OUTBOX_H_
