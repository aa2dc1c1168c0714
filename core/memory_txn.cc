#include "core/memory_txn.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace fieldledger {
namespace {

template <typename Map, typename Key>
std::optional<typename Map::mapped_type> Find(const Map& map, const Key& key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

}  // namespace

absl::StatusOr<uint64_t> MemoryTxn::AppendEvent(v1::Event& event) {
  event.set_seq(events.size());
  events.push_back(event);
  return event.seq();
}

absl::StatusOr<std::optional<v1::FindingRecord>> MemoryTxn::GetFinding(
    absl::string_view id) {
  return Find(findings, std::string(id));
}

absl::Status MemoryTxn::PutFinding(const v1::FindingRecord& record) {
  findings[record.finding().id()] = record;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Region>> MemoryTxn::GetRegion(
    absl::string_view id) {
  return Find(regions, std::string(id));
}

absl::StatusOr<std::optional<v1::Unit>> MemoryTxn::GetUnit(
    absl::string_view id) {
  return Find(units, std::string(id));
}

absl::StatusOr<std::optional<v1::Category>> MemoryTxn::GetCategory(
    absl::string_view id) {
  return Find(categories, std::string(id));
}

absl::Status MemoryTxn::PutRegion(const v1::Region& region) {
  regions[region.id()] = region;
  return absl::OkStatus();
}

absl::Status MemoryTxn::PutUnit(const v1::Unit& unit) {
  units[unit.id()] = unit;
  return absl::OkStatus();
}

absl::Status MemoryTxn::PutCategory(const v1::Category& category) {
  categories[category.id()] = category;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::CaseRecord>> MemoryTxn::GetCaseRecord(
    absl::string_view id) {
  auto it = cases.find(std::string(id));
  if (it == cases.end()) return std::nullopt;
  v1::CaseRecord record;
  *record.mutable_state() = it->second;
  if (auto r = reporters.find(it->first); r != reporters.end()) {
    record.set_reporter(r->second);
  }
  return record;
}

absl::Status MemoryTxn::AddToCounters(std::vector<CounterDelta> deltas) {
  AddDeltas(deltas, counters);
  return absl::OkStatus();
}

absl::Status MemoryTxn::PutCase(const v1::CaseRecord* before,
                                const v1::CaseRecord& after) {
  const std::string& id = after.state().id();
  FL_ASSIGN_OR_RETURN(std::optional<v1::CaseRecord> stored, GetCaseRecord(id));
  const bool matches = !stored ? before == nullptr
                               : before != nullptr &&
                                     before->SerializeAsString() ==
                                         stored->SerializeAsString();
  if (!matches) {
    return absl::InternalError(absl::StrCat(
        "PutCase(", id, "): `before` is not the stored record"));
  }
  if (before != nullptr) {
    for (const CaseIndexKey& key : CaseIndexKeys(before->state())) {
      case_index.erase(key);
    }
  }
  for (CaseIndexKey& key : CaseIndexKeys(after.state())) {
    case_index.insert(std::move(key));
  }
  cases[id] = after.state();
  reporters[id] = after.reporter();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Campaign>> MemoryTxn::GetCampaign(
    absl::string_view id) {
  return Find(campaigns, std::string(id));
}

absl::Status MemoryTxn::PutCampaign(const v1::Campaign& campaign) {
  campaigns[campaign.id()] = campaign;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::PublishedList>> MemoryTxn::GetList(
    v1::ListKind kind, absl::string_view period) {
  return Find(lists, std::make_pair(kind, std::string(period)));
}

absl::Status MemoryTxn::PutList(const v1::PublishedList& list) {
  lists[{list.kind(), list.period()}] = list;
  return absl::OkStatus();
}

absl::Status MemoryTxn::PutFeed(absl::string_view audience,
                                const v1::Change& change) {
  feeds[std::string(audience)][change.seq()] = change;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MemoryTxn::GetHighWaterMark(
    absl::string_view client_id) {
  return Find(high_water_marks, std::string(client_id)).value_or(0);
}

absl::Status MemoryTxn::PutHighWaterMark(absl::string_view client_id,
                                         uint64_t mark) {
  high_water_marks[std::string(client_id)] = mark;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::MutationResult>> MemoryTxn::GetResult(
    absl::string_view client_id, uint64_t client_seq) {
  return Find(results, std::make_pair(std::string(client_id), client_seq));
}

absl::Status MemoryTxn::PutResult(absl::string_view client_id,
                                  const v1::MutationResult& result) {
  results[{std::string(client_id), result.client_seq()}] = result;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::EnrollmentCode>> MemoryTxn::GetEnrollmentCode(
    absl::string_view code_hash) {
  return Find(codes, std::string(code_hash));
}

absl::Status MemoryTxn::PutEnrollmentCode(absl::string_view code_hash,
                                          const v1::EnrollmentCode& code) {
  codes[std::string(code_hash)] = code;
  return absl::OkStatus();
}

absl::Status MemoryTxn::DeleteEnrollmentCode(absl::string_view code_hash) {
  codes.erase(std::string(code_hash));
  return absl::OkStatus();
}

absl::Status MemoryTxn::PutPrincipal(absl::string_view token_hash,
                                     const v1::Principal& principal) {
  principals[std::string(token_hash)] = principal;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Change>> MemoryTxn::ReadFeed(
    absl::string_view audience, uint64_t from, size_t limit) {
  std::vector<v1::Change> out;
  auto feed = feeds.find(std::string(audience));
  if (feed == feeds.end()) return out;
  for (auto it = feed->second.lower_bound(from);
       it != feed->second.end() && out.size() < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<CaseIndexPage> MemoryTxn::ScanCaseIndex(
    const CaseIndexScan& scan) {
  CaseIndexPage page;
  CaseIndexKey from{scan.index, scan.scope, scan.status, scan.time_from, ""};
  if (scan.resume && scan.after_time >= scan.time_from) {
    from.time = scan.after_time;
    from.case_id = scan.after_case_id;
  }
  for (auto it = case_index.lower_bound(from); it != case_index.end(); ++it) {
    if (it->index != scan.index || it->scope != scan.scope ||
        it->status != scan.status || it->time >= scan.time_to) {
      break;
    }
    if (scan.resume && it->time == scan.after_time &&
        it->case_id == scan.after_case_id) {
      continue;
    }
    if (page.keys.size() == scan.limit || page.examined == scan.max_examined) {
      page.more = true;
      break;
    }
    ++page.examined;
    page.last_time = it->time;
    page.last_case_id = it->case_id;
    if (scan.region.empty() || std::find(it->regions.begin(), it->regions.end(),
                                         scan.region) != it->regions.end()) {
      page.keys.push_back(*it);
    }
  }
  return page;
}

absl::StatusOr<std::vector<v1::Event>> MemoryTxn::ReadCaseHistory(
    absl::string_view id) {
  std::vector<v1::Event> out;
  for (const v1::Event& event : events) {
    if (CaseIdOf(event) == id) out.push_back(event);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> MemoryTxn::RootRegionIds() {
  std::vector<std::string> out;
  for (const auto& [id, region] : regions) {
    if (region.parent_id().empty()) out.push_back(id);
  }
  return out;
}

}  // namespace fieldledger
