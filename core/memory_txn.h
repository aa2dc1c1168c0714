// MemoryTxn: Txn, FeedReader and CaseReader over plain maps. For tests, and for
// recomputing derived state from the event log to compare with what a store
// holds. Not thread-safe.
#ifndef FIELDLEDGER_CORE_MEMORY_TXN_H_
#define FIELDLEDGER_CORE_MEMORY_TXN_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/case.h"
#include "core/case_query.h"
#include "core/txn.h"

namespace fieldledger {

class MemoryTxn final : public Txn, public FeedReader, public CaseReader {
 public:
  // Every map is public so that tests and checks can compare them directly.
  std::vector<v1::Event> events;
  std::map<std::string, v1::FindingRecord> findings;
  std::map<std::string, v1::Region> regions;
  std::map<std::string, v1::Unit> units;
  std::map<std::string, v1::Category> categories;
  std::map<std::string, v1::Case> cases;
  // Finding id -> who reported it (CaseRecord.reporter).
  std::map<std::string, std::string> reporters;
  // Report counters by key (core/aggregates.h).
  std::map<std::string, int64_t> counters;
  // Every entry of every case index, in index order.
  std::set<CaseIndexKey> case_index;
  std::map<std::string, v1::Campaign> campaigns;
  std::map<std::pair<v1::ListKind, std::string>, v1::PublishedList> lists;
  // audience -> seq -> change
  std::map<std::string, std::map<uint64_t, v1::Change>> feeds;
  std::map<std::string, uint64_t> high_water_marks;
  std::map<std::pair<std::string, uint64_t>, v1::MutationResult> results;
  std::map<std::string, v1::EnrollmentCode> codes;
  std::map<std::string, v1::Principal> principals;
  std::string dataset = "memory";

  absl::StatusOr<uint64_t> AppendEvent(v1::Event& event) override;
  absl::StatusOr<std::optional<v1::FindingRecord>> GetFinding(
      absl::string_view id) override;
  absl::Status PutFinding(const v1::FindingRecord& record) override;
  absl::StatusOr<std::optional<v1::Region>> GetRegion(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::Unit>> GetUnit(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::Category>> GetCategory(
      absl::string_view id) override;
  absl::Status PutRegion(const v1::Region& region) override;
  absl::Status PutUnit(const v1::Unit& unit) override;
  absl::Status PutCategory(const v1::Category& category) override;
  // PutCase checks its contract: INTERNAL when `before` is not the stored
  // record.
  absl::StatusOr<std::optional<v1::CaseRecord>> GetCaseRecord(
      absl::string_view id) override;
  absl::Status PutCase(const v1::CaseRecord* before,
                       const v1::CaseRecord& after) override;
  absl::Status AddToCounters(std::vector<CounterDelta> deltas) override;
  absl::StatusOr<std::optional<v1::Campaign>> GetCampaign(
      absl::string_view id) override;
  absl::Status PutCampaign(const v1::Campaign& campaign) override;
  absl::StatusOr<std::optional<v1::PublishedList>> GetList(
      v1::ListKind kind, absl::string_view period) override;
  absl::Status PutList(const v1::PublishedList& list) override;
  absl::Status PutFeed(absl::string_view audience,
                       const v1::Change& change) override;
  absl::StatusOr<uint64_t> GetHighWaterMark(
      absl::string_view client_id) override;
  absl::Status PutHighWaterMark(absl::string_view client_id,
                                uint64_t mark) override;
  absl::StatusOr<std::optional<v1::MutationResult>> GetResult(
      absl::string_view client_id, uint64_t client_seq) override;
  absl::Status PutResult(absl::string_view client_id,
                         const v1::MutationResult& result) override;
  absl::StatusOr<std::optional<v1::EnrollmentCode>> GetEnrollmentCode(
      absl::string_view code_hash) override;
  absl::Status PutEnrollmentCode(absl::string_view code_hash,
                                 const v1::EnrollmentCode& code) override;
  absl::Status DeleteEnrollmentCode(absl::string_view code_hash) override;
  absl::Status PutPrincipal(absl::string_view token_hash,
                            const v1::Principal& principal) override;

  absl::StatusOr<std::vector<v1::Change>> ReadFeed(absl::string_view audience,
                                                   uint64_t from,
                                                   size_t limit) override;
  uint64_t NextSeq() override { return events.size(); }
  std::string DatasetId() override { return dataset; }

  // CaseReader.
  absl::StatusOr<CaseIndexPage> ScanCaseIndex(
      const CaseIndexScan& scan) override;
  absl::StatusOr<std::optional<v1::Case>> ReadCase(
      absl::string_view id) override {
    return GetCase(id);
  }
  absl::StatusOr<std::optional<v1::FindingRecord>> ReadFinding(
      absl::string_view id) override {
    return GetFinding(id);
  }
  absl::StatusOr<std::vector<v1::Event>> ReadCaseHistory(
      absl::string_view id) override;
  absl::StatusOr<std::optional<v1::Region>> ReadRegion(
      absl::string_view id) override {
    return GetRegion(id);
  }
  absl::StatusOr<std::optional<v1::Unit>> ReadUnit(
      absl::string_view id) override {
    return GetUnit(id);
  }
  absl::StatusOr<std::optional<v1::Category>> ReadCategory(
      absl::string_view id) override {
    return GetCategory(id);
  }
  absl::StatusOr<std::optional<v1::Campaign>> ReadCampaign(
      absl::string_view id) override {
    return GetCampaign(id);
  }
  absl::StatusOr<std::vector<std::string>> RootRegionIds() override;
};

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_MEMORY_TXN_H_
