// Store: a node's data in one embedded RocksDB, and its single writer.
//
//   FL_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
//                       Store::Open({.path = "./data/db"}));
//   store->Submit(
//       [&](Txn& txn) { return ApplyPush(txn, caller, request, now, limits)
//                           .status(); },
//       [](absl::Status committed) { /* reply to the client */ });
//
// Writes go through Submit: one writer thread takes every job that queued up
// while it was busy, runs them in order against one pending batch (later
// jobs see earlier jobs' writes) and writes the batch; a syncer thread syncs
// the WAL once for all groups written meanwhile and only then calls each
// job's `done`. A job that returns an error leaves no trace in the batch.
// Group commit is what makes durable writes fast: one fsync serves every
// request that arrived meanwhile, and it overlaps the work on the next group.
//
// Events and feeds are read only up to the last synced event, so no reader
// sees an event a crash could still undo. All methods are thread-safe.
#ifndef FIELDLEDGER_STORAGE_STORE_H_
#define FIELDLEDGER_STORAGE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/case_query.h"
#include "core/merkle.h"
#include "core/report.h"
#include "core/txn.h"
#include "fieldledger/v1/event.pb.h"
#include "fieldledger/v1/records.pb.h"
#include "fieldledger/v1/registry.pb.h"

namespace fieldledger::storage {

// A sequential reader of a range of ledger leaves (stored event bytes): one
// pass over the events in key order with readahead, no lookup per leaf.
// From Store::ReadLedgerLeaves; it must not outlive its Store. It reads one
// consistent view of the store, taken when it was made.
//
//   FL_ASSIGN_OR_RETURN(auto reader, store.ReadLedgerLeaves(0, size));
//   FL_RETURN_IF_ERROR(reader->Read([&](uint64_t, absl::string_view leaf) {
//     builder.AppendLeaf(leaf);
//     return true;
//   }));
//
// Thread-safety: one thread at a time.
class LedgerLeafReader {
 public:
  virtual ~LedgerLeafReader() = default;

  // Offers the next leaves in index order to `take(index, bytes)`; `bytes`
  // is valid during the call only. Returns OK at the end of the range, or
  // as soon as `take` returns false: that leaf is then not consumed, and
  // the next Read offers it first. DATA_LOSS naming the leaf when one is
  // missing from the store (the leaves before it were offered); the reader
  // then keeps returning that error.
  virtual absl::Status Read(
      absl::FunctionRef<bool(uint64_t index, absl::string_view leaf)> take) = 0;

  // The index of the leaf the next Read offers first; end() when the whole
  // range was read.
  virtual uint64_t next() const = 0;
  virtual uint64_t end() const = 0;
};

struct StoreOptions {
  // Directory of the RocksDB; created when missing.
  std::string path;
  // Sync the WAL before a job counts as done. Only benchmarks turn this off.
  bool sync = true;
  // Shared block cache for all column families.
  size_t block_cache_bytes = 32 << 20;
  // Memtables of all column families together.
  size_t memtable_bytes = 64 << 20;
  // WAL size after which the oldest memtables are flushed; bounds how much
  // WAL a restart replays.
  size_t max_wal_bytes = 64 << 20;
  // Most jobs in one commit group.
  size_t max_group_jobs = 2048;
  // Keep the Merkle tree of the events (the ledger). Only the benchmark
  // turns it off, to measure what it costs; without it the Ledger* methods
  // return FAILED_PRECONDITION. Never switch it on a store that has events.
  bool ledger = true;
};

// What Store::RebuildAggregates found.
struct AggregatesCheck {
  // Counters compared (stored or recomputed, at least one not 0).
  uint64_t counters = 0;
  // Counters whose stored value differed from the recomputed one.
  uint64_t differences = 0;
  // Up to 10 of them, "<key>: stored N, the events say M".
  std::vector<std::string> examples;
  // Whether the differences were corrected.
  bool corrected = false;
};

class Store final : public FeedReader, public CaseReader, public ReportReader {
 public:
  // A change to apply in the writer; its error discards its writes.
  using Job = std::function<absl::Status(Txn&)>;
  // Called on a store thread once the job is durable (OK), or with why not:
  // the job's own error, or the write's or sync's.
  using Done = std::function<void(absl::Status)>;

  // Opens or creates the store; a new one gets a random data-set id.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);

  // Finishes queued jobs, then closes the database.
  ~Store() override;

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Queues `job`; `done` is always called exactly once, on a store thread.
  void Submit(Job job, Done done);
  // Submit, then wait for the outcome. Not for gRPC threads.
  absl::Status Run(Job job);

  // The principal for a token's SHA-256; nullopt when unknown.
  absl::StatusOr<std::optional<v1::Principal>> GetPrincipal(
      absl::string_view token_hash);
  // Ordered by id. ListUnits with a non-empty `region_id` returns only that
  // region's units.
  absl::StatusOr<std::vector<v1::Region>> ListRegions();
  absl::StatusOr<std::vector<v1::Unit>> ListUnits(absl::string_view region_id);
  absl::StatusOr<std::vector<v1::Category>> ListCategories();
  // Up to `limit` durable events with seq >= `from`, in order.
  absl::StatusOr<std::vector<v1::Event>> ReadEvents(uint64_t from,
                                                    size_t limit);

  // FeedReader.
  absl::StatusOr<std::vector<v1::Change>> ReadFeed(absl::string_view audience,
                                                   uint64_t from,
                                                   size_t limit) override;
  uint64_t NextSeq() override;
  std::string DatasetId() override;

  // CaseReader. Index scans are prefix range scans of the case_index column
  // family; a case's history is a prefix scan of its event seqs. Cases and
  // index entries are read as written, which may be a few milliseconds
  // ahead of the WAL sync; history events only up to the last synced one.
  absl::StatusOr<CaseIndexPage> ScanCaseIndex(
      const CaseIndexScan& scan) override;
  absl::StatusOr<std::optional<v1::Case>> ReadCase(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::FindingRecord>> ReadFinding(
      absl::string_view id) override;
  absl::StatusOr<std::vector<v1::Event>> ReadCaseHistory(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::Region>> ReadRegion(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::Unit>> ReadUnit(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::Category>> ReadCategory(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::Campaign>> ReadCampaign(
      absl::string_view id) override;
  absl::StatusOr<std::vector<std::string>> RootRegionIds() override;

  // ReportReader: report counters (the aggregates column family, kept by a
  // merge operator in each event's batch), read as written, like cases.
  absl::Status ScanCounters(
      absl::string_view from, absl::string_view to,
      const std::function<bool(absl::string_view, int64_t)>& fn) override;
  // A forward scan of the cases column family; one Case message is reused.
  absl::StatusOr<size_t> ScanCases(
      absl::string_view after, size_t limit,
      const std::function<void(const v1::Case&)>& fn) override;
  absl::StatusOr<std::vector<v1::Region>> AllRegions() override;
  absl::StatusOr<std::vector<v1::Unit>> AllUnits() override;

  // Recomputes every report counter from the event log (as of a snapshot)
  // and compares it with the stored one. Unless `check_only`, then adds each
  // difference to its counter through the writer: a merge commutes with the
  // events written meanwhile, so they stay counted. Holds a replay of the
  // log in memory, as CheckDerivedState does.
  absl::StatusOr<AggregatesCheck> RebuildAggregates(bool check_only);

  // Every campaign, ordered by id.
  absl::StatusOr<std::vector<v1::Campaign>> ListCampaigns();
  // Every published list, ordered by (kind, period).
  absl::StatusOr<std::vector<v1::PublishedList>> ListPublishedLists();

  // Recomputes all derived state from the event log and compares it with
  // what is stored: findings, cases and their indexes, registry, campaigns,
  // published lists, feeds, report counters, and that every stored result
  // of an applied mutation names an event from that mutation. DATA_LOSS
  // naming the first difference. Reads a consistent snapshot.
  absl::Status CheckDerivedState();

  // The ledger: a RFC 6962 Merkle tree whose leaf i is the stored bytes of
  // event i (so leaf index == event seq), kept as complete-subtree hashes
  // written in the batch of each event. Only the durable part is served.

  // Leaves in the durable tree (== NextSeq()).
  uint64_t LedgerSize();
  // The root of the first `tree_size` leaves. OUT_OF_RANGE when tree_size
  // exceeds LedgerSize(); DATA_LOSS when a stored hash is missing.
  absl::StatusOr<merkle::Hash> LedgerRoot(uint64_t tree_size);
  // The RFC 9162 inclusion proof of leaf `leaf_index` in the tree of
  // `tree_size` leaves. INVALID_ARGUMENT unless leaf_index < tree_size;
  // OUT_OF_RANGE when tree_size exceeds LedgerSize().
  absl::StatusOr<std::vector<merkle::Hash>> LedgerInclusionProof(
      uint64_t leaf_index, uint64_t tree_size);
  // The RFC 9162 consistency proof from `size1` to `size2` leaves.
  // INVALID_ARGUMENT when size1 > size2; OUT_OF_RANGE when size2 exceeds
  // LedgerSize().
  absl::StatusOr<std::vector<merkle::Hash>> LedgerConsistencyProof(
      uint64_t size1, uint64_t size2);
  // The leaf bytes (stored event bytes) of up to `limit` durable leaves from
  // `from` on, in order; fewer at the end of the tree. DATA_LOSS when an
  // event in the range is missing.
  absl::StatusOr<std::vector<std::string>> LedgerEntries(uint64_t from,
                                                         size_t limit);
  // A reader of leaves [start, end) of the durable tree. INVALID_ARGUMENT
  // ("end: ...") when end < start; OUT_OF_RANGE when end exceeds
  // LedgerSize().
  absl::StatusOr<std::unique_ptr<LedgerLeafReader>> ReadLedgerLeaves(
      uint64_t start, uint64_t end);

  // Small node-local records kept beside the data (e.g. the last signed
  // checkpoint). GetMeta: nullopt when unset. PutMetaSynced writes and
  // syncs at once, outside the writer. The data-set id key is reserved.
  absl::StatusOr<std::optional<std::string>> GetMeta(absl::string_view key);
  absl::Status PutMetaSynced(absl::string_view key, absl::string_view value);

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_STORE_H_
