// Txn: what the domain rules read and write while applying a change. The
// storage layer implements it over a pending RocksDB batch (reads see the
// batch's own writes); MemoryTxn implements it in memory for tests and for
// recomputing state from the event log.
//
// A Txn is used by one thread at a time.
#ifndef FIELDLEDGER_CORE_TXN_H_
#define FIELDLEDGER_CORE_TXN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/aggregates.h"
#include "fieldledger/v1/case.pb.h"
#include "fieldledger/v1/event.pb.h"
#include "fieldledger/v1/records.pb.h"
#include "fieldledger/v1/registry.pb.h"
#include "fieldledger/v1/sync.pb.h"

namespace fieldledger {

namespace v1 = ::fieldledger::v1;

// Reads of Get* return nullopt when there is no such item; an error status
// only when the read itself failed.
class Txn {
 public:
  virtual ~Txn() = default;

  // Appends `event` to the log: assigns its seq (the next one) and returns
  // it. The event's other fields are kept as given.
  virtual absl::StatusOr<uint64_t> AppendEvent(v1::Event& event) = 0;

  virtual absl::StatusOr<std::optional<v1::FindingRecord>> GetFinding(
      absl::string_view id) = 0;
  virtual absl::Status PutFinding(const v1::FindingRecord& record) = 0;

  virtual absl::StatusOr<std::optional<v1::Region>> GetRegion(
      absl::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Unit>> GetUnit(
      absl::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Category>> GetCategory(
      absl::string_view id) = 0;
  virtual absl::Status PutRegion(const v1::Region& region) = 0;
  virtual absl::Status PutUnit(const v1::Unit& unit) = 0;
  virtual absl::Status PutCategory(const v1::Category& category) = 0;

  // The case of the finding `id` (cases share their finding's id), with its
  // reporter.
  virtual absl::StatusOr<std::optional<v1::CaseRecord>> GetCaseRecord(
      absl::string_view id) = 0;
  // The same, the case alone.
  absl::StatusOr<std::optional<v1::Case>> GetCase(absl::string_view id) {
    absl::StatusOr<std::optional<v1::CaseRecord>> record = GetCaseRecord(id);
    if (!record.ok()) return record.status();
    if (!record->has_value()) return std::nullopt;
    return std::move(*(*record)->mutable_state());
  }
  // Stores `after` as the current record of its case, and replaces the
  // case's index entries, CaseIndexKeys of before's state (none when
  // `before` is null), by those of after's (core/case.h). `before` must be
  // what GetCaseRecord returned in this txn, or null when it returned
  // nullopt.
  virtual absl::Status PutCase(const v1::CaseRecord* before,
                               const v1::CaseRecord& after) = 0;

  // Adds each delta to its report counter (core/aggregates.h); a counter
  // never written reads as 0. Counters are only added to, never read, in a
  // Txn.
  virtual absl::Status AddToCounters(std::vector<CounterDelta> deltas) = 0;

  // Campaigns by id; they never change once created.
  virtual absl::StatusOr<std::optional<v1::Campaign>> GetCampaign(
      absl::string_view id) = 0;
  virtual absl::Status PutCampaign(const v1::Campaign& campaign) = 0;

  // Published red and black lists, one per kind and period; they never
  // change once published.
  virtual absl::StatusOr<std::optional<v1::PublishedList>> GetList(
      v1::ListKind kind, absl::string_view period) = 0;
  virtual absl::Status PutList(const v1::PublishedList& list) = 0;

  // Appends `change` (whose seq is set) to the feed of `audience`.
  virtual absl::Status PutFeed(absl::string_view audience,
                               const v1::Change& change) = 0;

  // The highest settled client_seq of a client; 0 when none.
  virtual absl::StatusOr<uint64_t> GetHighWaterMark(
      absl::string_view client_id) = 0;
  virtual absl::Status PutHighWaterMark(absl::string_view client_id,
                                        uint64_t mark) = 0;
  virtual absl::StatusOr<std::optional<v1::MutationResult>> GetResult(
      absl::string_view client_id, uint64_t client_seq) = 0;
  virtual absl::Status PutResult(absl::string_view client_id,
                                 const v1::MutationResult& result) = 0;

  // Credentials, keyed by the SHA-256 of the token or code.
  virtual absl::StatusOr<std::optional<v1::EnrollmentCode>> GetEnrollmentCode(
      absl::string_view code_hash) = 0;
  virtual absl::Status PutEnrollmentCode(absl::string_view code_hash,
                                         const v1::EnrollmentCode& code) = 0;
  virtual absl::Status DeleteEnrollmentCode(absl::string_view code_hash) = 0;
  virtual absl::Status PutPrincipal(absl::string_view token_hash,
                                    const v1::Principal& principal) = 0;
};

// Reads the pull feeds. Thread-safe in the storage implementation.
class FeedReader {
 public:
  virtual ~FeedReader() = default;

  // Up to `limit` changes of `audience` with seq >= `from`, in seq order.
  // A finding's change names the finding (finding.id) and its status only.
  virtual absl::StatusOr<std::vector<v1::Change>> ReadFeed(
      absl::string_view audience, uint64_t from, size_t limit) = 0;
  // The finding with its reporter; nullopt for an unknown id.
  virtual absl::StatusOr<std::optional<v1::FindingRecord>> ReadFinding(
      absl::string_view id) = 0;
  // The seq the next appended event will get.
  virtual uint64_t NextSeq() = 0;
  // Random bytes naming this data set, made when it was created.
  virtual std::string DatasetId() = 0;
};

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_TXN_H_
