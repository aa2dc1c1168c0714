#include "storage/store.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/case.h"
#include "core/merkle.h"
#include "core/projection.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/counters.h"
#include "storage/key_codec.h"
#include "storage/rocks_status.h"

namespace fieldledger::storage {
namespace {

// The column families. Keys (see key_codec.h for the encodings):
//   kMeta      "dataset"                          -> data-set id
//   kEvents    seq                                -> Event
//   kFindings  finding id                         -> FindingRecord
//   kRegistry  'r'|'u'|'c' + id                   -> Region | Unit | Category
//   kFeeds     string(audience) + seq             -> Change
//   kClients   string(client_id)                  -> high-water mark (uint64)
//              string(client_id) + client_seq     -> MutationResult
//   kAuth      'p' + token hash                   -> Principal
//              'c' + code hash                    -> EnrollmentCode
//   kCases     case id                            -> Case
//   kCaseIndex index byte + string(scope) + status byte + time + string(id)
//                                                 -> "", or for kStatus
//              string(region) for each region of its path (CaseIndexKey; time
//              as uint64 with the sign bit flipped, so it sorts as int64)
//   kSupervision 'k' + campaign id                -> Campaign
//              'l' + kind byte + string(period)   -> PublishedList
//   kLedger    level byte + index                 -> 32-byte hash of the
//              complete subtree (level, index) of the Merkle tree whose
//              leaf i is the stored bytes of event i (merkle.h)
//   kAggregates report counter key (core/aggregates.h) -> int64, 8 bytes
//              little-endian, kept by the CounterAdd merge operator
enum class Family {
  kMeta,
  kEvents,
  kFindings,
  kRegistry,
  kFeeds,
  kClients,
  kAuth,
  kCases,
  kCaseIndex,
  kSupervision,
  kLedger,
  kAggregates,
};
constexpr int kFamilyCount = 12;
constexpr const char* kFamilyNames[kFamilyCount] = {
    "default", "events", "findings",   "registry",    "feeds",  "clients",
    "auth",    "cases",  "case_index", "supervision", "ledger", "aggregates"};

constexpr char kRegionTag = 'r', kUnitTag = 'u', kCategoryTag = 'c';
constexpr char kPrincipalTag = 'p', kCodeTag = 'c';
constexpr char kCampaignTag = 'k', kListTag = 'l';
constexpr absl::string_view kDatasetKey = "dataset";

// The families derived from the event log by `Project`; everything else is
// primary (the log, credentials, exactly-once bookkeeping, meta).
constexpr Family kDerivedFamilies[] = {Family::kFindings,  Family::kRegistry,
                                       Family::kFeeds,     Family::kCases,
                                       Family::kCaseIndex, Family::kSupervision,
                                       Family::kAggregates};
// Which `Project` wrote the derived families. Bump it whenever `Project` or
// their encoding changes: Open then recomputes them from the log. Stores
// from before versions were kept have none, which reads as 1; 2 added cases
// and their indexes, 3 the case histories, 4 the cases' evidence, 5 the
// report counters, 6 took the status out of the region and unit indexes'
// keys into one kStatus entry per case, made the deadline index one entry
// per case and left the opening report out of the case histories, 7 kept
// deadline counters by category, 8 moved the case histories into the cases
// (Case.event_seqs) and the findings' status out of their records, 9 keeps
// each case with its reporter (CaseRecord).
constexpr uint64_t kDerivedVersion = 9;
constexpr absl::string_view kDerivedVersionKey = "derived_version";

// For memtable insert hints: the key without its trailing 8-byte seq. Events,
// feed entries and mutation results are appended in seq order under such a
// prefix, so each insert lands right after the previous one with the same
// prefix and the skip list need not be searched from the top.
class SeqPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "fieldledger.SeqPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() >= 8;
  }
};

// RocksDB counts every key comparison in a thread-local PerfContext unless
// told not to; in Debian's shared library each count is a TLS lookup, about
// a fifth of the instructions of a memtable insert. Nothing here reads them.
void NoPerfCounters() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

// For memtable insert hints: one stream for the whole family. Finding and
// case ids are UUIDv7, so a report's land near the end, though not in
// order within a millisecond; a hinted insert then fixes the last insert's
// position from the bottom up instead of searching from the top.
class OneStream final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "fieldledger.OneStream"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), 0);
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

// For memtable insert hints in the case index: the key up to its time, so
// that the entries of one stream (index, scope, status), which reports
// append in time order, each land right after the previous one of their
// stream instead of being searched for from the top.
class CaseIndexStream final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "fieldledger.CaseIndexStream"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), StreamLength(key));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return StreamLength(key) > 0;
  }

 private:
  // Index byte, scope, status byte (CaseIndexKeyBytes); 0 for another key.
  static size_t StreamLength(const rocksdb::Slice& key) {
    absl::string_view in(key.data(), key.size());
    std::string scope;
    if (in.empty()) return 0;
    in.remove_prefix(1);
    if (!ConsumeString(in, scope) || in.empty()) return 0;
    return key.size() - in.size() + 1;
  }
};

std::string Tagged(char tag, absl::string_view id) {
  return absl::StrCat(absl::string_view(&tag, 1), id);
}

std::string FeedKey(absl::string_view audience, uint64_t seq) {
  std::string key;
  AppendString(key, audience);
  AppendUint64(key, seq);
  return key;
}

std::string ClientKey(absl::string_view client_id) {
  std::string key;
  AppendString(key, client_id);
  return key;
}

std::string ResultKey(absl::string_view client_id, uint64_t client_seq) {
  std::string key = ClientKey(client_id);
  AppendUint64(key, client_seq);
  return key;
}

std::string CaseIndexKeyBytes(const CaseIndexKey& k) {
  std::string key(1, static_cast<char>(k.index));
  AppendString(key, k.scope);
  key.push_back(static_cast<char>(k.status));
  AppendUint64(key, static_cast<uint64_t>(k.time) ^ (uint64_t{1} << 63));
  AppendString(key, k.case_id);
  return key;
}

// A kStatus entry's regions; empty for the other indexes.
std::string CaseIndexValue(const CaseIndexKey& k) {
  std::string value;
  for (const std::string& region : k.regions) AppendString(value, region);
  return value;
}

// Whether the value of a kStatus entry names `region`.
bool IndexValueHasRegion(absl::string_view value, absl::string_view region,
                         bool& readable) {
  std::string next;
  while (!value.empty()) {
    if (!ConsumeString(value, next)) {
      readable = false;
      return false;
    }
    if (next == region) return true;
  }
  return false;
}

std::string CaseIndexPrefix(CaseIndex index, absl::string_view scope,
                            v1::CaseStatus status) {
  std::string key(1, static_cast<char>(index));
  AppendString(key, scope);
  key.push_back(static_cast<char>(status));
  return key;
}

uint64_t FlipSign(int64_t time) {
  return static_cast<uint64_t>(time) ^ (uint64_t{1} << 63);
}

std::string LedgerKey(int level, uint64_t index) {
  std::string key(1, static_cast<char>(level));
  AppendUint64(key, index);
  return key;
}

std::string ListKey(v1::ListKind kind, absl::string_view period) {
  std::string key = {kListTag, static_cast<char>(kind)};
  AppendString(key, period);
  return key;
}

template <typename Message>
absl::StatusOr<std::optional<Message>> Decode(
    absl::StatusOr<std::optional<std::string>> bytes, absl::string_view what) {
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(**bytes)) {
    return absl::DataLossError(absl::StrCat("unreadable ", what));
  }
  return message;
}

// Txn over raw key-value operations: every key and value encoding lives
// here, whether the writes go to a RocksDB batch or to memory.
//
// Each event is also a Merkle leaf: its exact stored bytes are hashed and the
// complete subtrees it finishes are written beside it. The left siblings it
// needs are the newest complete node of each level (the tree's right edge),
// so a frontier of at most 64 hashes serves them without a lookup.
class KvTxn : public Txn {
 public:
  explicit KvTxn(uint64_t next_seq, bool ledger = true)
      : ledger_(ledger), next_seq_(next_seq) {}

  uint64_t next_seq() const { return next_seq_; }
  void set_next_seq(uint64_t seq) { next_seq_ = seq; }

  absl::StatusOr<uint64_t> AppendEvent(v1::Event& event) override {
    event.set_seq(next_seq_);
    const std::string bytes = event.SerializeAsString();
    FL_RETURN_IF_ERROR(Put(Family::kEvents, Uint64Key(next_seq_), bytes));
    if (ledger_) {
      FrontierReader reader(*this);
      FL_ASSIGN_OR_RETURN(std::vector<merkle::SubtreeNode> nodes,
                          merkle::CompletedSubtrees(
                              next_seq_, merkle::HashLeaf(bytes), reader));
      for (const merkle::SubtreeNode& node : nodes) {
        FL_RETURN_IF_ERROR(Put(Family::kLedger,
                               LedgerKey(node.level, node.index),
                               merkle::HashToBytes(node.hash)));
        Frontier& f = frontier_[node.level];
        f.valid = true;
        f.index = node.index;
        f.hash = node.hash;
      }
    }
    return next_seq_++;
  }
  absl::StatusOr<std::optional<v1::FindingRecord>> GetFinding(
      absl::string_view id) override {
    return Decode<v1::FindingRecord>(Get(Family::kFindings, id), "finding");
  }
  absl::Status PutFinding(const v1::FindingRecord& r) override {
    return Put(Family::kFindings, r.finding().id(), r.SerializeAsString());
  }
  absl::StatusOr<std::optional<v1::Region>> GetRegion(
      absl::string_view id) override {
    return Decode<v1::Region>(Get(Family::kRegistry, Tagged(kRegionTag, id)),
                              "region");
  }
  absl::StatusOr<std::optional<v1::Unit>> GetUnit(
      absl::string_view id) override {
    return Decode<v1::Unit>(Get(Family::kRegistry, Tagged(kUnitTag, id)),
                            "unit");
  }
  absl::StatusOr<std::optional<v1::Category>> GetCategory(
      absl::string_view id) override {
    return Decode<v1::Category>(
        Get(Family::kRegistry, Tagged(kCategoryTag, id)), "category");
  }
  absl::Status PutRegion(const v1::Region& r) override {
    return Put(Family::kRegistry, Tagged(kRegionTag, r.id()),
               r.SerializeAsString());
  }
  absl::Status PutUnit(const v1::Unit& u) override {
    return Put(Family::kRegistry, Tagged(kUnitTag, u.id()),
               u.SerializeAsString());
  }
  absl::Status PutCategory(const v1::Category& c) override {
    return Put(Family::kRegistry, Tagged(kCategoryTag, c.id()),
               c.SerializeAsString());
  }
  absl::StatusOr<std::optional<v1::CaseRecord>> GetCaseRecord(
      absl::string_view id) override {
    return Decode<v1::CaseRecord>(Get(Family::kCases, id), "case");
  }
  // Writes only the index entries that change (ChangeCaseIndex).
  absl::Status PutCase(const v1::CaseRecord* before,
                       const v1::CaseRecord& after) override {
    const CaseIndexChanges changes =
        ChangeCaseIndex(before ? &before->state() : nullptr, after.state());
    for (const CaseIndexKey& k : changes.remove) {
      FL_RETURN_IF_ERROR(Delete(Family::kCaseIndex, CaseIndexKeyBytes(k)));
    }
    for (const CaseIndexKey& k : changes.put) {
      FL_RETURN_IF_ERROR(
          Put(Family::kCaseIndex, CaseIndexKeyBytes(k), CaseIndexValue(k)));
    }
    return Put(Family::kCases, after.state().id(), after.SerializeAsString());
  }
  absl::Status AddToCounters(std::vector<CounterDelta> deltas) override {
    for (CounterDelta& d : deltas) {
      FL_RETURN_IF_ERROR(AddToCounter(std::move(d.key), d.delta));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<v1::Campaign>> GetCampaign(
      absl::string_view id) override {
    return Decode<v1::Campaign>(
        Get(Family::kSupervision, Tagged(kCampaignTag, id)), "campaign");
  }
  absl::Status PutCampaign(const v1::Campaign& c) override {
    return Put(Family::kSupervision, Tagged(kCampaignTag, c.id()),
               c.SerializeAsString());
  }
  absl::StatusOr<std::optional<v1::PublishedList>> GetList(
      v1::ListKind kind, absl::string_view period) override {
    return Decode<v1::PublishedList>(
        Get(Family::kSupervision, ListKey(kind, period)), "published list");
  }
  absl::Status PutList(const v1::PublishedList& list) override {
    return Put(Family::kSupervision, ListKey(list.kind(), list.period()),
               list.SerializeAsString());
  }
  absl::Status PutFeed(absl::string_view audience,
                       const v1::Change& change) override {
    return Put(Family::kFeeds, FeedKey(audience, change.seq()),
               change.SerializeAsString());
  }
  absl::StatusOr<uint64_t> GetHighWaterMark(
      absl::string_view client_id) override {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Get(Family::kClients, ClientKey(client_id)));
    if (!bytes) return 0;
    absl::string_view in = *bytes;
    uint64_t mark;
    if (!ConsumeUint64(in, mark)) {
      return absl::DataLossError("unreadable high-water mark");
    }
    return mark;
  }
  absl::Status PutHighWaterMark(absl::string_view client_id,
                                uint64_t mark) override {
    return Put(Family::kClients, ClientKey(client_id), Uint64Key(mark));
  }
  absl::StatusOr<std::optional<v1::MutationResult>> GetResult(
      absl::string_view client_id, uint64_t client_seq) override {
    return Decode<v1::MutationResult>(
        Get(Family::kClients, ResultKey(client_id, client_seq)),
        "mutation result");
  }
  absl::Status PutResult(absl::string_view client_id,
                         const v1::MutationResult& result) override {
    return Put(Family::kClients, ResultKey(client_id, result.client_seq()),
               result.SerializeAsString());
  }
  absl::StatusOr<std::optional<v1::EnrollmentCode>> GetEnrollmentCode(
      absl::string_view code_hash) override {
    return Decode<v1::EnrollmentCode>(
        Get(Family::kAuth, Tagged(kCodeTag, code_hash)), "enrollment code");
  }
  absl::Status PutEnrollmentCode(absl::string_view code_hash,
                                 const v1::EnrollmentCode& code) override {
    return Put(Family::kAuth, Tagged(kCodeTag, code_hash),
               code.SerializeAsString());
  }
  absl::Status DeleteEnrollmentCode(absl::string_view code_hash) override {
    return Delete(Family::kAuth, Tagged(kCodeTag, code_hash));
  }
  absl::Status PutPrincipal(absl::string_view token_hash,
                            const v1::Principal& principal) override {
    return Put(Family::kAuth, Tagged(kPrincipalTag, token_hash),
               principal.SerializeAsString());
  }

 protected:
  virtual absl::StatusOr<std::optional<std::string>> Get(
      Family family, absl::string_view key) = 0;
  virtual absl::Status Put(Family family, absl::string_view key,
                           absl::string_view value) = 0;
  virtual absl::Status Delete(Family family, absl::string_view key) = 0;
  // Adds `delta` to the counter `key` of Family::kAggregates; never read
  // back within the transaction.
  virtual absl::Status AddToCounter(std::string key, int64_t delta) = 0;

  // Forgets the cached right edge: after writes were undone, it may name
  // nodes that no longer exist. Later appends read them back.
  void InvalidateFrontier() {
    for (Frontier& f : frontier_) f.valid = false;
  }

 private:
  struct Frontier {
    bool valid = false;
    uint64_t index = 0;
    merkle::Hash hash{};
  };

  // Left siblings: the frontier, else this transaction's view (pending
  // writes, then the database).
  class FrontierReader final : public merkle::SubtreeHashReader {
   public:
    explicit FrontierReader(KvTxn& txn) : txn_(txn) {}
    absl::StatusOr<merkle::Hash> Get(int level, uint64_t index) override {
      if (level >= 0 && level < 64) {
        const Frontier& f = txn_.frontier_[level];
        if (f.valid && f.index == index) return f.hash;
      }
      FL_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                          txn_.Get(Family::kLedger, LedgerKey(level, index)));
      if (!bytes) {
        return absl::NotFoundError(
            absl::StrCat("ledger node ", level, "/", index, " is missing"));
      }
      return merkle::HashFromBytes(*bytes);
    }

   private:
    KvTxn& txn_;
  };

  const bool ledger_;
  uint64_t next_seq_;
  Frontier frontier_[64];
};

// The writer's pending batch. Reads see the batch's own writes (kept in a
// hash map beside it, which is far cheaper than a WriteBatchWithIndex's
// skip list), then the database. Registry items never change once created,
// so committed ones are served from `registry_cache`, which the writer owns.
class BatchTxn final : public KvTxn {
 public:
  using RegistryCache = absl::flat_hash_map<std::string, std::string>;

  BatchTxn(rocksdb::DB* db,
           const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
           RegistryCache& registry_cache, bool ledger)
      : KvTxn(0, ledger), db_(db), cfs_(cfs), registry_cache_(registry_cache) {}

  // Empties the batch for the next group, starting at `next_seq`.
  void Reset(uint64_t next_seq) {
    batch_.Clear();
    job_counters_.clear();
    group_counters_.clear();
    for (auto& written : written_) written.clear();
    handed_off_.clear();
    undo_.clear();
    set_next_seq(next_seq);
  }

  // Starts the next group. Unless this one is in the database already,
  // reads see what it wrote until ForgetOldest.
  void NextGroup(bool in_database) {
    if (!in_database) handed_off_.push_back(std::move(written_));
    for (auto& written : written_) written.clear();
    undo_.clear();
  }
  // Groups whose writes reads still see, besides the current one's.
  size_t handed_off() const { return handed_off_.size(); }
  // The oldest of them is in the database now.
  void ForgetOldest() { handed_off_.pop_front(); }

  // The group's batch, with one merge per counter the group changed; the
  // transaction starts an empty one.
  rocksdb::WriteBatch TakeBatch() {
    batch();
    return std::exchange(batch_, rocksdb::WriteBatch());
  }

  // A job's writes can be undone until the next SetSavePoint.
  void SetSavePoint() {
    batch_.SetSavePoint();
    undo_.clear();
    savepoint_seq_ = next_seq();
  }
  absl::Status RollbackToSavePoint() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      auto& written = written_[static_cast<int>(it->family)];
      if (it->previous) {
        written[it->key] = *it->previous;
      } else {
        written.erase(it->key);
      }
    }
    undo_.clear();
    job_counters_.clear();
    set_next_seq(savepoint_seq_);
    InvalidateFrontier();
    return ToStatus(batch_.RollbackToSavePoint());
  }
  absl::Status PopSavePoint() {
    FoldJobCounters();
    return ToStatus(batch_.PopSavePoint());
  }
  // The batch to write, with one merge per counter the group changed.
  rocksdb::WriteBatch& batch() {
    FoldJobCounters();
    for (const auto& [key, delta] : group_counters_) {
      if (delta == 0) continue;
      // A merge into a batch fails only for a missing family.
      batch_.Merge(cf(Family::kAggregates), ToSlice(key), EncodeCounter(delta))
          .PermitUncheckedError();
    }
    group_counters_.clear();
    return batch_;
  }

 protected:
  absl::StatusOr<std::optional<std::string>> Get(
      Family family, absl::string_view key) override {
    if (!ReadBack(family)) {
      return absl::InternalError("the writer does not read this family");
    }
    const int f = static_cast<int>(family);
    if (auto it = written_[f].find(key); it != written_[f].end()) {
      return it->second;
    }
    for (auto group = handed_off_.rbegin(); group != handed_off_.rend();
         ++group) {
      if (auto it = (*group)[f].find(key); it != (*group)[f].end()) {
        return it->second;
      }
    }
    if (family == Family::kRegistry) {
      return ReadThrough(registry_cache_, family, key);
    }
    return ReadCommitted(family, key);
  }
  absl::Status Put(Family family, absl::string_view key,
                   absl::string_view value) override {
    if (ReadBack(family)) {
      Remember(family, key);
      written_[static_cast<int>(family)][key] = std::string(value);
    }
    return ToStatus(batch_.Put(cf(family), ToSlice(key), ToSlice(value)));
  }
  absl::Status Delete(Family family, absl::string_view key) override {
    if (ReadBack(family)) {
      Remember(family, key);
      written_[static_cast<int>(family)][key] = std::nullopt;
    }
    return ToStatus(batch_.Delete(cf(family), ToSlice(key)));
  }
  // Summed per group: busy counters (this month, the city) get one merge
  // per group instead of one per event. A job's deltas join the group's
  // when the job succeeds.
  absl::Status AddToCounter(std::string key, int64_t delta) override {
    job_counters_.push_back({std::move(key), delta});
    return absl::OkStatus();
  }

 private:
  struct Undo {
    Family family;
    std::string key;
    // What the overlay held before; nullopt: the key was not in it.
    std::optional<std::optional<std::string>> previous;
  };

  // Whether a Txn method reads `family`. The others (the log, feeds, case
  // index entries) are only written, so the overlay need not copy them.
  static bool ReadBack(Family family) {
    return family != Family::kEvents && family != Family::kFeeds &&
           family != Family::kCaseIndex;
  }
  absl::StatusOr<std::optional<std::string>> ReadCommitted(
      Family family, absl::string_view key) {
    std::string value;
    const rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf(family), ToSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    FL_RETURN_IF_ERROR(ToStatus(s));
    return value;
  }
  // A committed value through `cache` (misses are not cached).
  absl::StatusOr<std::optional<std::string>> ReadThrough(
      absl::flat_hash_map<std::string, std::string>& cache, Family family,
      absl::string_view key) {
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    FL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                        ReadCommitted(family, key));
    if (value) cache.emplace(key, *value);
    return value;
  }
  void FoldJobCounters() {
    for (CounterDelta& d : job_counters_) {
      group_counters_[std::move(d.key)] += d.delta;
    }
    job_counters_.clear();
  }

  void Remember(Family family, absl::string_view key) {
    const auto& written = written_[static_cast<int>(family)];
    auto it = written.find(key);
    undo_.push_back(
        {family, std::string(key),
         it == written.end()
             ? std::nullopt
             : std::optional<std::optional<std::string>>(it->second)});
  }
  static rocksdb::Slice ToSlice(absl::string_view s) {
    return rocksdb::Slice(s.data(), s.size());
  }
  rocksdb::ColumnFamilyHandle* cf(Family f) const {
    return cfs_[static_cast<int>(f)];
  }

  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& cfs_;
  RegistryCache& registry_cache_;
  rocksdb::WriteBatch batch_;
  // Per family: what this batch wrote; nullopt for a delete.
  using Overlay =
      std::array<absl::flat_hash_map<std::string, std::optional<std::string>>,
                 kFamilyCount>;
  Overlay written_;
  // The same of the groups on their way into the database, oldest first.
  std::deque<Overlay> handed_off_;
  std::vector<Undo> undo_;
  uint64_t savepoint_seq_ = 0;
  // Counter deltas of the running job, and of the group's finished jobs.
  std::vector<CounterDelta> job_counters_;
  absl::flat_hash_map<std::string, int64_t> group_counters_;
};

// The families as plain maps: what a recomputation from the log produces.
using FamilyMaps = std::map<Family, std::map<std::string, std::string>>;

class MapTxn final : public KvTxn {
 public:
  explicit MapTxn(bool ledger) : KvTxn(0, ledger) {}
  FamilyMaps maps;

 protected:
  absl::StatusOr<std::optional<std::string>> Get(
      Family family, absl::string_view key) override {
    auto& m = maps[family];
    auto it = m.find(std::string(key));
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
  absl::Status Put(Family family, absl::string_view key,
                   absl::string_view value) override {
    maps[family][std::string(key)] = std::string(value);
    return absl::OkStatus();
  }
  absl::Status Delete(Family family, absl::string_view key) override {
    maps[family].erase(std::string(key));
    return absl::OkStatus();
  }
  absl::Status AddToCounter(std::string key, int64_t delta) override {
    std::string& value = maps[Family::kAggregates][std::move(key)];
    int64_t sum = 0;
    DecodeCounter(value, sum);
    value = EncodeCounter(sum + delta);
    return absl::OkStatus();
  }
};

// LedgerLeafReader over the events family: one iterator bounded by the
// range, reading ahead, and not filling the block cache with a whole log.
class EventLeafReader final : public LedgerLeafReader {
 public:
  EventLeafReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* events,
                  uint64_t start, uint64_t end)
      : next_(start), end_(end), upper_(Uint64Key(end)), upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    ro.readahead_size = 2 << 20;
    ro.fill_cache = false;
    ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(ro, events));
    it_->Seek(Uint64Key(start));
  }

  absl::Status Read(
      absl::FunctionRef<bool(uint64_t, absl::string_view)> take) override {
    FL_RETURN_IF_ERROR(failed_);
    for (; next_ < end_; ++next_, it_->Next()) {
      uint64_t seq = 0;
      absl::string_view key;
      if (it_->Valid()) {
        key = absl::string_view(it_->key().data(), it_->key().size());
      } else {
        FL_RETURN_IF_ERROR(ToStatus(it_->status()));
      }
      if (!it_->Valid() || !ConsumeUint64(key, seq) || !key.empty() ||
          seq != next_) {
        failed_ = absl::DataLossError(
            absl::StrCat("ledger leaf ", next_, " (event ", next_,
                         ") is missing from the store"));
        return failed_;
      }
      if (!take(next_,
                absl::string_view(it_->value().data(), it_->value().size()))) {
        break;
      }
    }
    return absl::OkStatus();
  }

  uint64_t next() const override { return next_; }
  uint64_t end() const override { return end_; }

 private:
  uint64_t next_;
  const uint64_t end_;
  const std::string upper_;
  const rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  absl::Status failed_;
};

}  // namespace

class Store::Impl {
 public:
  struct Pending {
    Job job;
    Done done;
  };

  Impl(const StoreOptions& options, rocksdb::DB* db,
       std::vector<rocksdb::ColumnFamilyHandle*> cfs)
      : options_(options), db_(db), cfs_(std::move(cfs)) {}

  ~Impl() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (writer_.joinable()) writer_.join();
    {
      absl::MutexLock lock(&insert_mu_);
      applier_done_ = true;
    }
    if (inserter_.joinable()) inserter_.join();
    {
      absl::MutexLock lock(&sync_mu_);
      writer_done_ = true;
    }
    if (syncer_.joinable()) syncer_.join();
    for (auto* cf : cfs_)
      db_->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
    delete db_;
  }

  absl::Status Init() {
    std::string dataset;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Family::kMeta),
                                 std::string(kDatasetKey), &dataset);
    if (s.IsNotFound()) {
      dataset = RandomHex(16);
      rocksdb::WriteOptions sync;
      sync.sync = true;
      s = db_->Put(sync, cf(Family::kMeta), std::string(kDatasetKey), dataset);
    }
    FL_RETURN_IF_ERROR(ToStatus(s));
    dataset_ = dataset;
    FL_RETURN_IF_ERROR(UpgradeDerivedState());
    // The WAL replay left every counter's merge operands in the memtable; a
    // flush merges them, so reports do not.
    FL_RETURN_IF_ERROR(
        ToStatus(db_->Flush(rocksdb::FlushOptions(), cf(Family::kAggregates))));

    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf(Family::kEvents)));
    it->SeekToLast();
    FL_RETURN_IF_ERROR(ToStatus(it->status()));
    uint64_t next = 0;
    if (it->Valid()) {
      absl::string_view key(it->key().data(), it->key().size());
      if (!ConsumeUint64(key, next))
        return absl::DataLossError("bad event key");
      ++next;
    }
    if (options_.ledger && next > 0) {
      FL_ASSIGN_OR_RETURN(std::optional<std::string> last_leaf,
                          Get(Family::kLedger, LedgerKey(0, next - 1)));
      if (!last_leaf) FL_RETURN_IF_ERROR(BuildLedger(next));
    }
    writer_start_seq_ = next;
    durable_next_seq_.store(next);
    // Named, so that profiles and `top -H` tell them apart.
    writer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "fl-writer");
      WriterLoop();
    });
    inserter_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "fl-inserter");
      InserterLoop();
    });
    syncer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "fl-syncer");
      SyncerLoop();
    });
    return absl::OkStatus();
  }

  // A store written before the ledger existed: hash its `size` events into
  // the tree once, before the writer starts. Holds only the right edge.
  absl::Status BuildLedger(uint64_t size) {
    class Edge final : public merkle::SubtreeHashReader {
     public:
      absl::StatusOr<merkle::Hash> Get(int level, uint64_t index) override {
        if (level < 0 || level >= 64 || !have[level] || at[level] != index) {
          return absl::NotFoundError("not on the right edge");
        }
        return hash[level];
      }
      bool have[64] = {};
      uint64_t at[64] = {};
      merkle::Hash hash[64];
    } edge;
    rocksdb::WriteBatch batch;
    uint64_t n = 0;
    absl::Status failed;
    FL_RETURN_IF_ERROR(Scan(
        Family::kEvents, "", "",
        [&](absl::string_view key, absl::string_view value) {
          uint64_t seq;
          if (!ConsumeUint64(key, seq) || seq != n) {
            failed = absl::DataLossError(
                absl::StrCat("event log has a hole at ", n));
            return false;
          }
          absl::StatusOr<std::vector<merkle::SubtreeNode>> nodes =
              merkle::CompletedSubtrees(n, merkle::HashLeaf(value), edge);
          if (!nodes.ok()) {
            failed = nodes.status();
            return false;
          }
          for (const merkle::SubtreeNode& node : *nodes) {
            edge.have[node.level] = true;
            edge.at[node.level] = node.index;
            edge.hash[node.level] = node.hash;
            batch
                .Put(cf(Family::kLedger), LedgerKey(node.level, node.index),
                     merkle::HashToBytes(node.hash))
                .PermitUncheckedError();
          }
          ++n;
          if (batch.Count() >= 10000) {
            failed = ToStatus(db_->Write(rocksdb::WriteOptions(), &batch));
            batch.Clear();
          }
          return failed.ok() && n < size;
        }));
    FL_RETURN_IF_ERROR(failed);
    if (n != size) return absl::DataLossError("event log ended early");
    rocksdb::WriteOptions sync;
    sync.sync = true;
    return ToStatus(db_->Write(sync, &batch));
  }

  void Submit(Job job, Done done) {
    absl::MutexLock lock(&mu_);
    queue_.push_back({std::move(job), std::move(done)});
  }

  rocksdb::ColumnFamilyHandle* cf(Family f) const {
    return cfs_[static_cast<int>(f)];
  }

  // Calls `fn(key, value)` for each entry of `family` whose key starts with
  // `prefix`, from `start` (a full key) on, until `fn` returns false.
  template <typename Fn>
  absl::Status Scan(Family family, absl::string_view prefix,
                    absl::string_view start, Fn fn,
                    const rocksdb::Snapshot* snapshot = nullptr) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
    const absl::string_view from = start.empty() ? prefix : start;
    for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid();
         it->Next()) {
      absl::string_view key(it->key().data(), it->key().size());
      if (!absl::StartsWith(key, prefix)) break;
      if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) {
        break;
      }
    }
    return ToStatus(it->status());
  }

  // Calls `fn(key, value)` for each entry of `family` with from <= key < to,
  // until `fn` returns false. The upper bound lets RocksDB stop early.
  template <typename Fn>
  absl::Status ScanRange(Family family, absl::string_view from,
                         absl::string_view to, Fn fn) {
    rocksdb::ReadOptions ro;
    const rocksdb::Slice upper(to.data(), to.size());
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(family)));
    for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid();
         it->Next()) {
      if (!fn(absl::string_view(it->key().data(), it->key().size()),
              absl::string_view(it->value().data(), it->value().size()))) {
        break;
      }
    }
    return ToStatus(it->status());
  }

  absl::StatusOr<std::optional<std::string>> Get(Family family,
                                                 absl::string_view key) {
    std::string value;
    const rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf(family),
                 rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    FL_RETURN_IF_ERROR(ToStatus(s));
    return value;
  }

  template <typename Message>
  absl::StatusOr<std::vector<Message>> ListTagged(char tag,
                                                  absl::string_view what) {
    std::vector<Message> out;
    bool ok = true;
    FL_RETURN_IF_ERROR(Scan(Family::kRegistry, std::string(1, tag), "",
                            [&](absl::string_view, absl::string_view value) {
                              out.emplace_back();
                              ok = out.back().ParseFromArray(value.data(),
                                                             value.size());
                              return ok;
                            }));
    if (!ok) return absl::DataLossError(absl::StrCat("unreadable ", what));
    return out;
  }

  absl::Status CheckDerivedState();
  absl::Status Replay(MapTxn& expected, const rocksdb::Snapshot* snapshot);
  absl::StatusOr<std::map<std::string, int64_t>> StoredCounters(
      const rocksdb::Snapshot* snapshot);
  static std::map<std::string, int64_t> ExpectedCounters(MapTxn& expected);

  // Recomputes the derived families from the log when they were written by
  // another `Project` (kDerivedVersion). Runs before the writer starts.
  absl::Status UpgradeDerivedState();
  // Committed ledger nodes, straight from the database. Only nodes within
  // the durable tree are asked for.
  class LedgerReader final : public merkle::SubtreeHashReader {
   public:
    explicit LedgerReader(Impl& impl) : impl_(impl) {}
    absl::StatusOr<merkle::Hash> Get(int level, uint64_t index) override {
      FL_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                          impl_.Get(Family::kLedger, LedgerKey(level, index)));
      if (!bytes) {
        return absl::DataLossError(
            absl::StrCat("ledger node ", level, "/", index, " is missing"));
      }
      absl::StatusOr<merkle::Hash> hash = merkle::HashFromBytes(*bytes);
      if (!hash.ok()) {
        return absl::DataLossError(
            absl::StrCat("ledger node ", level, "/", index, " is unreadable"));
      }
      return hash;
    }

   private:
    Impl& impl_;
  };

  // OutOfRange unless the durable tree has at least `size` leaves.
  absl::Status CheckSize(uint64_t size, absl::string_view what) {
    const uint64_t have = durable_next_seq_.load();
    if (size > have) {
      return absl::OutOfRangeError(absl::StrCat(
          what, " ", size, " is past the durable tree size ", have));
    }
    if (!options_.ledger) {
      return absl::FailedPreconditionError("the ledger is disabled");
    }
    return absl::OkStatus();
  }

  const StoreOptions options_;
  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::string dataset_;
  // Seq of the next event; every event below it is durable. Readers serve
  // nothing at or past it, so nobody sees what a crash could still undo.
  std::atomic<uint64_t> durable_next_seq_{0};

 private:
  // An applied group: its batch on the way into RocksDB, then (written to
  // the WAL in the OS) waiting for the WAL sync that makes it durable.
  struct Written {
    std::vector<Pending> group;
    std::vector<absl::Status> outcomes;
    rocksdb::WriteBatch batch;
    uint64_t next_seq;
  };

  // Applies groups of jobs and hands each batch to the inserter.
  void WriterLoop();
  // Writes the large groups' batches.
  void InserterLoop();
  // Writes a group's batch without syncing and queues it for the syncer.
  // On the inserter, or on the writer while the inserter is idle.
  void Insert(Written written);
  // Syncs the WAL for every group written meanwhile, then completes them.
  void SyncerLoop();

  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
  uint64_t writer_start_seq_ = 0;  // the seq of the first event it appends

  // The writer hands groups of at least kHandOffEntries entries to the
  // inserter, at most kMaxQueuedGroups waiting; it writes smaller ones
  // itself once the inserter is idle.
  static constexpr uint32_t kHandOffEntries = 1000;
  static constexpr size_t kMaxQueuedGroups = 2;
  bool InserterHasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(insert_mu_) {
    return to_insert_.size() < kMaxQueuedGroups;
  }
  bool InserterIsIdle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(insert_mu_) {
    return to_insert_.empty() && !inserting_;
  }
  absl::Mutex insert_mu_;
  std::deque<Written> to_insert_ ABSL_GUARDED_BY(insert_mu_);
  bool inserting_ ABSL_GUARDED_BY(insert_mu_) = false;
  bool applier_done_ ABSL_GUARDED_BY(insert_mu_) = false;
  std::thread inserter_;
  // The first failed write's error (Insert).
  absl::Status insert_failed_;

  absl::Mutex sync_mu_;
  std::deque<Written> unsynced_ ABSL_GUARDED_BY(sync_mu_);
  bool writer_done_ ABSL_GUARDED_BY(sync_mu_) = false;
  std::thread syncer_;
};

// The write path is a three-stage pipeline. The writer applies a group,
// the inserter writes it to RocksDB without a sync (which appends it to the
// WAL in the OS and makes it readable), the syncer syncs the WAL once for
// every group written so far and only then completes them. So the writer
// applies one group while earlier ones go into the memtables and are
// synced. It reads the writes of groups handed to the inserter from their
// overlays until they are in (BatchTxn::NextGroup). Small groups it writes
// itself. A group whose jobs wrote nothing waits for the sync too: its
// answers may rest on earlier writes that are not durable yet.
void Store::Impl::WriterLoop() {
  NoPerfCounters();
  BatchTxn::RegistryCache registry_cache;
  BatchTxn txn(db_, cfs_, registry_cache, options_.ledger);
  txn.Reset(writer_start_seq_);
  for (;;) {
    Written written;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu_) {
            return impl->stopping_ || !impl->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left to do
      while (!queue_.empty() &&
             written.group.size() < options_.max_group_jobs) {
        written.group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (Pending& p : written.group) {
      txn.SetSavePoint();
      absl::Status s = p.job(txn);
      if (s.ok()) {
        s = txn.PopSavePoint();
      } else {
        absl::Status undone = txn.RollbackToSavePoint();
        if (!undone.ok()) s = undone;
      }
      written.outcomes.push_back(std::move(s));
    }
    written.batch = txn.TakeBatch();
    written.next_seq = txn.next_seq();
    // A small batch is written here, sooner than the inserter would wake
    // up, once every earlier group is in.
    const bool hand_off = written.batch.Count() >= kHandOffEntries;
    {
      absl::MutexLock lock(&insert_mu_);
      insert_mu_.Await(absl::Condition(
          this, hand_off ? &Impl::InserterHasRoom : &Impl::InserterIsIdle));
      const size_t not_in = to_insert_.size() + (inserting_ ? 1 : 0);
      while (txn.handed_off() > not_in) txn.ForgetOldest();
      if (hand_off) {
        txn.NextGroup(/*in_database=*/false);
        to_insert_.push_back(std::move(written));
        continue;
      }
    }
    Insert(std::move(written));
    txn.NextGroup(/*in_database=*/true);
  }
}

void Store::Impl::InserterLoop() {
  NoPerfCounters();
  for (;;) {
    Written written;
    {
      absl::MutexLock lock(&insert_mu_);
      insert_mu_.Await(absl::Condition(
          +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->insert_mu_) {
            return impl->applier_done_ || !impl->to_insert_.empty();
          },
          this));
      if (to_insert_.empty()) return;  // the writer is gone, all is written
      written = std::move(to_insert_.front());
      to_insert_.pop_front();
      inserting_ = true;
    }
    Insert(std::move(written));
    absl::MutexLock lock(&insert_mu_);
    inserting_ = false;
  }
}

// After a failed write every later group fails too: the writer applied
// them on top of the lost one. RocksDB stops writing after an I/O error as
// well; a restart recovers from the WAL.
void Store::Impl::Insert(Written written) {
  if (insert_failed_.ok() && written.batch.Count() > 0) {
    rocksdb::WriteOptions write_options;
    write_options.sync = false;
    insert_failed_ = ToStatus(db_->Write(write_options, &written.batch));
  }
  written.batch.Clear();
  if (!insert_failed_.ok()) {
    for (size_t i = 0; i < written.group.size(); ++i) {
      written.group[i].done(written.outcomes[i].ok() ? insert_failed_
                                                     : written.outcomes[i]);
    }
    return;
  }
  absl::MutexLock lock(&sync_mu_);
  unsynced_.push_back(std::move(written));
}

void Store::Impl::SyncerLoop() {
  for (;;) {
    std::deque<Written> batch;
    {
      absl::MutexLock lock(&sync_mu_);
      sync_mu_.Await(absl::Condition(
          +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->sync_mu_) {
            return impl->writer_done_ || !impl->unsynced_.empty();
          },
          this));
      if (unsynced_.empty()) return;  // the writer is gone, all is synced
      batch.swap(unsynced_);
    }
    const absl::Status synced =
        options_.sync ? ToStatus(db_->SyncWAL()) : absl::OkStatus();
    if (synced.ok()) durable_next_seq_.store(batch.back().next_seq);
    for (Written& w : batch) {
      for (size_t i = 0; i < w.group.size(); ++i) {
        w.group[i].done(w.outcomes[i].ok() ? synced : w.outcomes[i]);
      }
    }
  }
}

absl::Status Store::Impl::UpgradeDerivedState() {
  std::string stored;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(Family::kMeta),
                               std::string(kDerivedVersionKey), &stored);
  uint64_t version = 1;
  if (s.ok()) {
    absl::string_view v = stored;
    if (!ConsumeUint64(v, version)) {
      return absl::DataLossError("unreadable derived_version");
    }
  } else if (!s.IsNotFound()) {
    return ToStatus(s);
  }
  if (version == kDerivedVersion) return absl::OkStatus();
  if (version > kDerivedVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data was written by a newer fieldledgerd (derived state version ",
        version, ", this one knows ", kDerivedVersion, ")"));
  }

  // Empty the derived families. A crash from here on leaves the version
  // key old, so the next Open starts over. Key by key: RocksDB 7.8 shares a
  // memtable's insert hints between its range tombstones and its keys, so
  // a DeleteRange would corrupt the hinted families' memtables.
  rocksdb::WriteOptions unsynced;
  for (Family family : kDerivedFamilies) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf(family)));
    rocksdb::WriteBatch batch;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      FL_RETURN_IF_ERROR(ToStatus(batch.Delete(cf(family), it->key())));
      if (batch.Count() == 10000) {
        FL_RETURN_IF_ERROR(ToStatus(db_->Write(unsynced, &batch)));
        batch.Clear();
      }
    }
    FL_RETURN_IF_ERROR(ToStatus(it->status()));
    FL_RETURN_IF_ERROR(ToStatus(db_->Write(unsynced, &batch)));
  }

  // Replay the log through `Project`, a bounded batch at a time.
  constexpr uint64_t kEventsPerBatch = 10000;
  BatchTxn::RegistryCache registry_cache;
  BatchTxn txn(db_, cfs_, registry_cache, /*ledger=*/false);
  uint64_t replayed = 0;
  absl::Status replay;
  FL_RETURN_IF_ERROR(Scan(
      Family::kEvents, "", "", [&](absl::string_view, absl::string_view value) {
        v1::Event event;
        if (!event.ParseFromArray(value.data(), value.size())) {
          replay = absl::DataLossError("unreadable event");
          return false;
        }
        replay = Project(event, txn);
        if (replay.ok() && ++replayed % kEventsPerBatch == 0) {
          replay = ToStatus(db_->Write(unsynced, &txn.batch()));
          txn.Reset(0);
        }
        return replay.ok();
      }));
  FL_RETURN_IF_ERROR(replay);
  FL_RETURN_IF_ERROR(ToStatus(db_->Write(unsynced, &txn.batch())));
  std::string value;
  AppendUint64(value, kDerivedVersion);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  FL_RETURN_IF_ERROR(ToStatus(db_->Put(
      sync, cf(Family::kMeta), std::string(kDerivedVersionKey), value)));
  if (replayed > 0) {
    std::cerr << "fieldledgerd: recomputed the state of " << replayed
              << " events for derived state version " << kDerivedVersion
              << std::endl;
  }
  return absl::OkStatus();
}

// Replays the log as of `snapshot` through the same projection the writer
// uses, into `expected`.
absl::Status Store::Impl::Replay(MapTxn& expected,
                                 const rocksdb::Snapshot* snapshot) {
  absl::Status replay;
  FL_RETURN_IF_ERROR(Scan(
      Family::kEvents, "", "",
      [&](absl::string_view key, absl::string_view value) {
        v1::Event event;
        uint64_t seq;
        absl::string_view k = key;
        if (!ConsumeUint64(k, seq) ||
            !event.ParseFromArray(value.data(), value.size())) {
          replay = absl::DataLossError(absl::StrCat("unreadable event ", seq));
          return false;
        }
        if (seq != expected.next_seq() || event.seq() != seq) {
          replay = absl::DataLossError(
              absl::StrCat("event log has a hole or a misplaced event at ",
                           expected.next_seq()));
          return false;
        }
        replay = expected.AppendEvent(event).status();
        if (replay.ok()) replay = Project(event, expected);
        return replay.ok();
      },
      snapshot));
  return replay;
}

absl::StatusOr<std::map<std::string, int64_t>> Store::Impl::StoredCounters(
    const rocksdb::Snapshot* snapshot) {
  std::map<std::string, int64_t> counters;
  absl::Status bad;
  FL_RETURN_IF_ERROR(Scan(
      Family::kAggregates, "", "",
      [&](absl::string_view key, absl::string_view value) {
        if (!DecodeCounter(value, counters[std::string(key)])) {
          bad = absl::DataLossError(absl::StrCat(
              "aggregates: unreadable counter ", absl::CEscape(key)));
        }
        return bad.ok();
      },
      snapshot));
  FL_RETURN_IF_ERROR(bad);
  return counters;
}

std::map<std::string, int64_t> Store::Impl::ExpectedCounters(MapTxn& expected) {
  std::map<std::string, int64_t> counters;
  for (const auto& [key, value] : expected.maps[Family::kAggregates]) {
    DecodeCounter(value, counters[key]);
  }
  return counters;
}

absl::Status Store::Impl::CheckDerivedState() {
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_, snapshot};

  MapTxn expected(options_.ledger);
  FL_RETURN_IF_ERROR(Replay(expected, snapshot));
  FL_ASSIGN_OR_RETURN(const auto stored, StoredCounters(snapshot));
  const CounterDiff counters = DiffCounters(stored, ExpectedCounters(expected));
  if (counters.count > 0) {
    return absl::DataLossError(absl::StrCat(
        "aggregates: ", counters.count,
        " counters differ from the log's, e.g. ", counters.examples.front()));
  }

  std::vector<Family> compared = {Family::kEvents, Family::kLedger};
  compared.insert(compared.end(), std::begin(kDerivedFamilies),
                  std::end(kDerivedFamilies));
  for (Family family : compared) {
    // Compared above: a counter back at 0 equals one never written.
    if (family == Family::kAggregates) continue;
    const auto& want = expected.maps[family];
    auto next = want.begin();
    absl::Status diff;
    FL_RETURN_IF_ERROR(Scan(
        family, "", "",
        [&](absl::string_view key, absl::string_view value) {
          if (next != want.end() && next->first < key) {
            diff = absl::DataLossError(
                absl::StrCat(kFamilyNames[static_cast<int>(family)],
                             ": missing key ", absl::CEscape(next->first)));
            return false;
          }
          if (next == want.end() || next->first != key) {
            diff = absl::DataLossError(absl::StrCat(
                kFamilyNames[static_cast<int>(family)],
                ": stored key not derived from the log: ", absl::CEscape(key)));
            return false;
          }
          if (next->second != value) {
            diff = absl::DataLossError(
                absl::StrCat(kFamilyNames[static_cast<int>(family)],
                             ": stored value differs from the log's for key ",
                             absl::CEscape(key)));
            return false;
          }
          ++next;
          return true;
        },
        snapshot));
    FL_RETURN_IF_ERROR(diff);
    if (next != want.end()) {
      return absl::DataLossError(
          absl::StrCat(kFamilyNames[static_cast<int>(family)], ": missing key ",
                       absl::CEscape(next->first)));
    }
  }

  // Exactly-once: each event from a mutation has that mutation's APPLIED
  // result pointing back at it, within the high-water mark, and vice versa.
  std::map<std::pair<std::string, uint64_t>, uint64_t> origins;
  for (const auto& [key, value] : expected.maps[Family::kEvents]) {
    v1::Event event;
    event.ParseFromString(value);
    if (!event.has_origin()) continue;
    auto [it, fresh] = origins.emplace(
        std::make_pair(event.origin().client_id(), event.origin().client_seq()),
        event.seq());
    if (!fresh) {
      return absl::DataLossError(
          absl::StrCat("mutation ", event.origin().client_id(), "/",
                       event.origin().client_seq(), " applied twice: events ",
                       it->second, " and ", event.seq()));
    }
  }
  std::map<std::string, uint64_t> marks;
  absl::Status diff;
  FL_RETURN_IF_ERROR(Scan(
      Family::kClients, "", "",
      [&](absl::string_view key, absl::string_view value) {
        std::string client;
        uint64_t seq;
        absl::string_view k = key;
        if (!ConsumeString(k, client)) {
          diff = absl::DataLossError("unreadable client key");
          return false;
        }
        if (k.empty()) {  // the high-water mark
          absl::string_view v = value;
          ConsumeUint64(v, marks[client]);
          return true;
        }
        v1::MutationResult result;
        if (!ConsumeUint64(k, seq) ||
            !result.ParseFromArray(value.data(), value.size())) {
          diff = absl::DataLossError("unreadable mutation result");
          return false;
        }
        if (seq > marks[client]) {
          diff = absl::DataLossError(absl::StrCat(
              "result ", client, "/", seq, " is past the high-water mark"));
          return false;
        }
        auto origin = origins.find({client, seq});
        const bool applied = result.outcome() == v1::OUTCOME_APPLIED;
        if (applied != (origin != origins.end()) ||
            (applied && origin->second != result.event_seq())) {
          diff = absl::DataLossError(
              absl::StrCat("result of mutation ", client, "/", seq,
                           " does not match the event log"));
          return false;
        }
        if (applied) origins.erase(origin);
        return true;
      },
      snapshot));
  FL_RETURN_IF_ERROR(diff);
  if (!origins.empty()) {
    const auto& [origin, seq] = *origins.begin();
    return absl::DataLossError(absl::StrCat("event ", seq, " from mutation ",
                                            origin.first, "/", origin.second,
                                            " has no stored result"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.db_write_buffer_size = options.memtable_bytes;
  db_options.max_total_wal_size = options.max_wal_bytes;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  db_options.avoid_flush_during_recovery = true;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  auto seq_prefix = std::make_shared<SeqPrefix>();
  auto whole_key_stream = std::make_shared<OneStream>();
  for (int i = 0; i < kFamilyCount; ++i) {
    const auto family = static_cast<Family>(i);
    rocksdb::ColumnFamilyOptions cf;
    // Ledger keys too: level byte + index, appended in index order per
    // level.
    if (family == Family::kEvents || family == Family::kFeeds ||
        family == Family::kClients || family == Family::kLedger) {
      cf.memtable_insert_with_hint_prefix_extractor = seq_prefix;
    }
    if (family == Family::kCaseIndex) {
      cf.memtable_insert_with_hint_prefix_extractor =
          std::make_shared<CaseIndexStream>();
    }
    if (family == Family::kFindings || family == Family::kCases) {
      cf.memtable_insert_with_hint_prefix_extractor = whole_key_stream;
    }
    if (family == Family::kAggregates) {
      cf.merge_operator = NewCounterAddOperator();
      // A busy counter (this month, the whole city) gets an operand per
      // event; a reader would merge them all. Past this many in the
      // memtable, the write merges them into one value instead.
      cf.max_successive_merges = 32;
    }
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf.write_buffer_size = options.memtable_bytes / 4;
    // Young levels are rewritten soon: compressing them costs CPU the
    // writer needs. Older levels hold most of the data.
    cf.compression_per_level = {rocksdb::kNoCompression,
                                rocksdb::kNoCompression};
    cf.compression_per_level.resize(cf.num_levels, rocksdb::kLZ4Compression);
    families.emplace_back(kFamilyNames[i], cf);
  }
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  FL_RETURN_IF_ERROR(ToStatus(
      rocksdb::DB::Open(db_options, options.path, families, &handles, &db)));
  auto impl = std::make_unique<Impl>(options, db, std::move(handles));
  FL_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

void Store::Submit(Job job, Done done) {
  impl_->Submit(std::move(job), std::move(done));
}

absl::Status Store::Run(Job job) {
  absl::Notification finished;
  absl::Status outcome;
  Submit(std::move(job), [&](absl::Status s) {
    outcome = std::move(s);
    finished.Notify();
  });
  finished.WaitForNotification();
  return outcome;
}

absl::StatusOr<std::optional<v1::Principal>> Store::GetPrincipal(
    absl::string_view token_hash) {
  return Decode<v1::Principal>(
      impl_->Get(Family::kAuth, Tagged(kPrincipalTag, token_hash)),
      "principal");
}

absl::StatusOr<std::vector<v1::Region>> Store::ListRegions() {
  return impl_->ListTagged<v1::Region>(kRegionTag, "region");
}

absl::StatusOr<std::vector<v1::Unit>> Store::ListUnits(
    absl::string_view region_id) {
  FL_ASSIGN_OR_RETURN(std::vector<v1::Unit> units,
                      impl_->ListTagged<v1::Unit>(kUnitTag, "unit"));
  if (!region_id.empty()) {
    units.erase(std::remove_if(units.begin(), units.end(),
                               [&](const v1::Unit& u) {
                                 return u.region_id() != region_id;
                               }),
                units.end());
  }
  return units;
}

absl::StatusOr<std::vector<v1::Category>> Store::ListCategories() {
  return impl_->ListTagged<v1::Category>(kCategoryTag, "category");
}

absl::StatusOr<std::vector<v1::Event>> Store::ReadEvents(uint64_t from,
                                                         size_t limit) {
  std::vector<v1::Event> out;
  bool ok = true;
  const uint64_t end = NextSeq();
  if (limit == 0 || from >= end) return out;
  FL_RETURN_IF_ERROR(
      impl_->Scan(Family::kEvents, "", Uint64Key(from),
                  [&](absl::string_view key, absl::string_view value) {
                    uint64_t seq;
                    if (!ConsumeUint64(key, seq) || seq >= end) return false;
                    out.emplace_back();
                    ok = out.back().ParseFromArray(value.data(), value.size());
                    return ok && out.size() < limit;
                  }));
  if (!ok) return absl::DataLossError("unreadable event");
  return out;
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadFeed(
    absl::string_view audience, uint64_t from, size_t limit) {
  std::vector<v1::Change> out;
  bool ok = true;
  const uint64_t end = NextSeq();
  if (limit == 0) return out;
  std::string prefix;
  AppendString(prefix, audience);
  FL_RETURN_IF_ERROR(
      impl_->Scan(Family::kFeeds, prefix, FeedKey(audience, from),
                  [&](absl::string_view, absl::string_view value) {
                    out.emplace_back();
                    ok = out.back().ParseFromArray(value.data(), value.size());
                    if (ok && out.back().seq() >= end) {
                      out.pop_back();
                      return false;
                    }
                    return ok && out.size() < limit;
                  }));
  if (!ok) return absl::DataLossError("unreadable feed entry");
  return out;
}

absl::StatusOr<CaseIndexPage> Store::ScanCaseIndex(const CaseIndexScan& scan) {
  CaseIndexPage page;
  if (scan.time_from >= scan.time_to) return page;
  const std::string prefix =
      CaseIndexPrefix(scan.index, scan.scope, scan.status);
  std::string start = prefix;
  std::string skip;  // the resume entry itself, which is not returned
  if (scan.resume && scan.after_time >= scan.time_from) {
    AppendUint64(start, FlipSign(scan.after_time));
    AppendString(start, scan.after_case_id);
    skip = start;
  } else {
    AppendUint64(start, FlipSign(scan.time_from));
  }
  bool ok = true;
  FL_RETURN_IF_ERROR(impl_->Scan(
      Family::kCaseIndex, prefix, start,
      [&](absl::string_view key, absl::string_view value) {
        if (key == skip) return true;
        absl::string_view rest = key.substr(prefix.size());
        uint64_t time;
        CaseIndexKey k{scan.index, scan.scope, scan.status, 0, ""};
        if (!ConsumeUint64(rest, time) || !ConsumeString(rest, k.case_id)) {
          ok = false;
          return false;
        }
        k.time = static_cast<int64_t>(time ^ (uint64_t{1} << 63));
        if (k.time >= scan.time_to) return false;
        if (page.keys.size() == scan.limit ||
            page.examined == scan.max_examined) {
          page.more = true;
          return false;
        }
        ++page.examined;
        page.last_time = k.time;
        page.last_case_id = k.case_id;
        if (scan.region.empty() ||
            IndexValueHasRegion(value, scan.region, ok)) {
          page.keys.push_back(std::move(k));
        }
        return ok;
      }));
  if (!ok) return absl::DataLossError("unreadable case index entry");
  return page;
}

absl::StatusOr<std::optional<v1::Case>> Store::ReadCase(absl::string_view id) {
  FL_ASSIGN_OR_RETURN(
      std::optional<v1::CaseRecord> record,
      Decode<v1::CaseRecord>(impl_->Get(Family::kCases, id), "case"));
  if (!record) return std::nullopt;
  return std::move(*record->mutable_state());
}

absl::StatusOr<std::optional<v1::FindingRecord>> Store::ReadFinding(
    absl::string_view id) {
  return Decode<v1::FindingRecord>(impl_->Get(Family::kFindings, id),
                                   "finding");
}

absl::StatusOr<std::vector<v1::Event>> Store::ReadCaseHistory(
    absl::string_view id) {
  // The case may be a few events ahead of the WAL sync; those wait.
  const uint64_t end = NextSeq();
  FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c, ReadCase(id));
  if (!c || c->reported_seq() >= end) return std::vector<v1::Event>();
  std::vector<uint64_t> seqs = {c->reported_seq()};
  for (uint64_t seq : c->event_seqs()) {
    if (seq < end) seqs.push_back(seq);
  }
  std::vector<v1::Event> out;
  for (uint64_t seq : seqs) {
    FL_ASSIGN_OR_RETURN(
        std::optional<v1::Event> event,
        Decode<v1::Event>(impl_->Get(Family::kEvents, Uint64Key(seq)),
                          "event"));
    if (!event) return absl::DataLossError(absl::StrCat("no event ", seq));
    out.push_back(std::move(*event));
  }
  return out;
}

absl::StatusOr<std::optional<v1::Region>> Store::ReadRegion(
    absl::string_view id) {
  return Decode<v1::Region>(
      impl_->Get(Family::kRegistry, Tagged(kRegionTag, id)), "region");
}

absl::StatusOr<std::optional<v1::Unit>> Store::ReadUnit(absl::string_view id) {
  return Decode<v1::Unit>(impl_->Get(Family::kRegistry, Tagged(kUnitTag, id)),
                          "unit");
}

absl::StatusOr<std::optional<v1::Category>> Store::ReadCategory(
    absl::string_view id) {
  return Decode<v1::Category>(
      impl_->Get(Family::kRegistry, Tagged(kCategoryTag, id)), "category");
}

absl::StatusOr<std::optional<v1::Campaign>> Store::ReadCampaign(
    absl::string_view id) {
  return Decode<v1::Campaign>(
      impl_->Get(Family::kSupervision, Tagged(kCampaignTag, id)), "campaign");
}

absl::StatusOr<std::vector<std::string>> Store::RootRegionIds() {
  FL_ASSIGN_OR_RETURN(std::vector<v1::Region> regions, ListRegions());
  std::vector<std::string> out;
  for (const v1::Region& r : regions) {
    if (r.parent_id().empty()) out.push_back(r.id());
  }
  return out;
}

absl::StatusOr<std::vector<v1::Campaign>> Store::ListCampaigns() {
  std::vector<v1::Campaign> out;
  bool ok = true;
  FL_RETURN_IF_ERROR(
      impl_->Scan(Family::kSupervision, std::string(1, kCampaignTag), "",
                  [&](absl::string_view, absl::string_view value) {
                    out.emplace_back();
                    ok = out.back().ParseFromArray(value.data(), value.size());
                    return ok;
                  }));
  if (!ok) return absl::DataLossError("unreadable campaign");
  return out;
}

absl::StatusOr<std::vector<v1::PublishedList>> Store::ListPublishedLists() {
  std::vector<v1::PublishedList> out;
  bool ok = true;
  FL_RETURN_IF_ERROR(
      impl_->Scan(Family::kSupervision, std::string(1, kListTag), "",
                  [&](absl::string_view, absl::string_view value) {
                    out.emplace_back();
                    ok = out.back().ParseFromArray(value.data(), value.size());
                    return ok;
                  }));
  if (!ok) return absl::DataLossError("unreadable published list");
  return out;
}

uint64_t Store::NextSeq() { return impl_->durable_next_seq_.load(); }

std::string Store::DatasetId() { return impl_->dataset_; }

absl::Status Store::CheckDerivedState() { return impl_->CheckDerivedState(); }

uint64_t Store::LedgerSize() { return impl_->durable_next_seq_.load(); }

absl::StatusOr<merkle::Hash> Store::LedgerRoot(uint64_t tree_size) {
  FL_RETURN_IF_ERROR(impl_->CheckSize(tree_size, "tree size"));
  Impl::LedgerReader reader(*impl_);
  return merkle::RootHash(tree_size, reader);
}

absl::StatusOr<std::vector<merkle::Hash>> Store::LedgerInclusionProof(
    uint64_t leaf_index, uint64_t tree_size) {
  FL_RETURN_IF_ERROR(impl_->CheckSize(tree_size, "tree size"));
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leaf_index: ", leaf_index, " is not below tree_size ", tree_size));
  }
  Impl::LedgerReader reader(*impl_);
  return merkle::InclusionProof(leaf_index, tree_size, reader);
}

absl::StatusOr<std::vector<merkle::Hash>> Store::LedgerConsistencyProof(
    uint64_t size1, uint64_t size2) {
  FL_RETURN_IF_ERROR(impl_->CheckSize(size2, "tree size"));
  if (size1 > size2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "first_size: ", size1, " is larger than second_size ", size2));
  }
  Impl::LedgerReader reader(*impl_);
  return merkle::ConsistencyProof(size1, size2, reader);
}

absl::StatusOr<std::vector<std::string>> Store::LedgerEntries(uint64_t from,
                                                              size_t limit) {
  std::vector<std::string> out;
  const uint64_t size = LedgerSize();
  if (limit == 0 || from >= size) return out;
  FL_ASSIGN_OR_RETURN(
      std::unique_ptr<LedgerLeafReader> reader,
      ReadLedgerLeaves(from, from + std::min<uint64_t>(limit, size - from)));
  FL_RETURN_IF_ERROR(reader->Read([&](uint64_t, absl::string_view leaf) {
    out.emplace_back(leaf);
    return true;
  }));
  return out;
}

absl::StatusOr<std::unique_ptr<LedgerLeafReader>> Store::ReadLedgerLeaves(
    uint64_t start, uint64_t end) {
  if (end < start) {
    return absl::InvalidArgumentError(
        absl::StrCat("end: ", end, " is below start ", start));
  }
  FL_RETURN_IF_ERROR(impl_->CheckSize(end, "end:"));
  return std::make_unique<EventLeafReader>(
      impl_->db_, impl_->cf(Family::kEvents), start, end);
}

absl::StatusOr<std::optional<std::string>> Store::GetMeta(
    absl::string_view key) {
  if (key == kDatasetKey) {
    return absl::InvalidArgumentError("key: reserved");
  }
  return impl_->Get(Family::kMeta, key);
}

absl::Status Store::PutMetaSynced(absl::string_view key,
                                  absl::string_view value) {
  if (key == kDatasetKey) {
    return absl::InvalidArgumentError("key: reserved");
  }
  rocksdb::WriteOptions sync;
  sync.sync = impl_->options_.sync;
  return ToStatus(impl_->db_->Put(sync, impl_->cf(Family::kMeta),
                                  rocksdb::Slice(key.data(), key.size()),
                                  rocksdb::Slice(value.data(), value.size())));
}

// Report counters.

absl::Status Store::ScanCounters(
    absl::string_view from, absl::string_view to,
    const std::function<bool(absl::string_view, int64_t)>& fn) {
  absl::Status bad;
  FL_RETURN_IF_ERROR(impl_->ScanRange(
      Family::kAggregates, from, to,
      [&](absl::string_view key, absl::string_view value) {
        int64_t n;
        if (!DecodeCounter(value, n)) {
          bad = absl::DataLossError(
              absl::StrCat("unreadable report counter ", absl::CEscape(key)));
          return false;
        }
        return fn(key, n);
      }));
  return bad;
}

absl::StatusOr<size_t> Store::ScanCases(
    absl::string_view after, size_t limit,
    const std::function<void(const v1::Case&)>& fn) {
  // Keys are case ids: the first after `after` is `after` + '\0'.
  const std::string from =
      after.empty() ? "" : absl::StrCat(after, std::string(1, '\0'));
  v1::CaseRecord record;
  size_t read = 0;
  absl::Status bad;
  FL_RETURN_IF_ERROR(impl_->Scan(
      Family::kCases, "", from,
      [&](absl::string_view key, absl::string_view value) {
        if (!record.ParseFromArray(value.data(),
                                   static_cast<int>(value.size()))) {
          bad = absl::DataLossError(
              absl::StrCat("unreadable case ", absl::CEscape(key)));
          return false;
        }
        fn(record.state());
        return ++read < limit;
      }));
  FL_RETURN_IF_ERROR(bad);
  return read;
}

absl::StatusOr<std::vector<v1::Region>> Store::AllRegions() {
  return ListRegions();
}

absl::StatusOr<std::vector<v1::Unit>> Store::AllUnits() {
  return ListUnits("");
}

absl::StatusOr<AggregatesCheck> Store::RebuildAggregates(bool check_only) {
  CounterDiff diff;
  AggregatesCheck check;
  {
    const rocksdb::Snapshot* snapshot = impl_->db_->GetSnapshot();
    struct Release {
      rocksdb::DB* db;
      const rocksdb::Snapshot* s;
      ~Release() { db->ReleaseSnapshot(s); }
    } release{impl_->db_, snapshot};
    MapTxn expected(/*ledger=*/false);
    FL_RETURN_IF_ERROR(impl_->Replay(expected, snapshot));
    FL_ASSIGN_OR_RETURN(const auto stored, impl_->StoredCounters(snapshot));
    const std::map<std::string, int64_t> want =
        Impl::ExpectedCounters(expected);
    diff = DiffCounters(stored, want);
    std::set<absl::string_view> keys;
    for (const auto& [key, value] : stored) {
      if (value != 0) keys.insert(key);
    }
    for (const auto& [key, value] : want) {
      if (value != 0) keys.insert(key);
    }
    check.counters = keys.size();
  }
  check.differences = diff.count;
  check.examples = std::move(diff.examples);
  if (check_only || diff.count == 0) return check;
  std::vector<CounterDelta> corrections;
  corrections.reserve(diff.corrections.size());
  for (auto& [key, delta] : diff.corrections) {
    corrections.push_back({key, delta});
  }
  FL_RETURN_IF_ERROR(
      Run([&corrections](Txn& txn) { return txn.AddToCounters(corrections); }));
  check.corrected = true;
  return check;
}

}  // namespace fieldledger::storage
