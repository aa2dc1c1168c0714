#include "core/projection.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/aggregates.h"
#include "core/case.h"
#include "core/status_macros.h"

namespace fieldledger {
namespace {

// Tells the reporter's feed that finding `id` is now in `status`. The entry
// names the finding only: Pull adds its content (core/sync.h).
absl::Status PutFindingChange(const v1::Event& event,
                              absl::string_view reporter, absl::string_view id,
                              v1::FindingStatus status, Txn& txn) {
  v1::Change change;
  change.set_seq(event.seq());
  change.mutable_finding()->mutable_finding()->set_id(std::string(id));
  change.mutable_finding()->set_status(status);
  return txn.PutFeed(InspectorAudience(reporter), change);
}

absl::StatusOr<v1::FindingRecord> ExistingFinding(const v1::Event& event,
                                                  absl::string_view id,
                                                  Txn& txn) {
  FL_ASSIGN_OR_RETURN(std::optional<v1::FindingRecord> record,
                      txn.GetFinding(id));
  if (!record) {
    return absl::InternalError(absl::StrCat("event ", event.seq(),
                                            " changes finding ", id,
                                            ", which does not exist"));
  }
  return *std::move(record);
}

// The regions holding unit `unit_id`, root first.
absl::StatusOr<std::vector<std::string>> RegionPath(const v1::Event& event,
                                                    absl::string_view unit_id,
                                                    Txn& txn) {
  FL_ASSIGN_OR_RETURN(std::optional<v1::Unit> unit, txn.GetUnit(unit_id));
  if (!unit) {
    return absl::InternalError(absl::StrCat("event ", event.seq(),
                                            " names unit ", unit_id,
                                            ", which does not exist"));
  }
  std::vector<std::string> path;
  std::string region_id = unit->region_id();
  // Regions name existing parents when created, so the tree has no cycles;
  // the bound only stops a tampered store from looping.
  constexpr size_t kMaxDepth = 64;
  while (!region_id.empty()) {
    FL_ASSIGN_OR_RETURN(std::optional<v1::Region> region,
                        txn.GetRegion(region_id));
    if (!region || path.size() == kMaxDepth) {
      return absl::InternalError(absl::StrCat("event ", event.seq(),
                                              ": region ", region_id,
                                              " is missing or too deep"));
    }
    path.push_back(region_id);
    region_id = region->parent_id();
  }
  std::reverse(path.begin(), path.end());
  return path;
}

// Applies a case event, or an amendment or withdrawal of a finding, to its
// case.
absl::Status ProjectCaseEvent(const v1::Event& event, Txn& txn) {
  const absl::string_view id = CaseIdOf(event);
  FL_ASSIGN_OR_RETURN(std::optional<v1::CaseRecord> before,
                      txn.GetCaseRecord(id));
  if (!before) {
    return absl::InternalError(absl::StrCat(
        "event ", event.seq(), " changes case ", id, ", which does not exist"));
  }
  return ProjectCaseStep(event, *before, txn);
}

template <typename Item, typename Setter>
absl::Status PutRegistryChange(const v1::Event& event, const Item& item,
                               Setter set, Txn& txn) {
  v1::Change change;
  change.set_seq(event.seq());
  *(change.*set)() = item;
  return txn.PutFeed(kRegistryAudience, change);
}

}  // namespace

// When the status the reporter sees changes, their feed says so.
absl::Status ProjectCaseStep(const v1::Event& event,
                             const v1::CaseRecord& current, Txn& txn) {
  const v1::Case& before = current.state();
  if (CaseIdOf(event) != before.id()) {
    return absl::InternalError(absl::StrCat("event ", event.seq(),
                                            " is projected on case ",
                                            before.id(), ", not its own"));
  }
  v1::CaseRecord record = current;
  v1::Case& after = *record.mutable_state();
  FL_RETURN_IF_ERROR(ApplyCaseEvent(event, after));
  if (after.unit_id() != before.unit_id()) {
    FL_ASSIGN_OR_RETURN(std::vector<std::string> path,
                        RegionPath(event, after.unit_id(), txn));
    after.clear_region_path();
    for (std::string& region : path) after.add_region_path(std::move(region));
  }
  FL_RETURN_IF_ERROR(txn.PutCase(&current, record));
  FL_RETURN_IF_ERROR(txn.AddToCounters(CounterDeltas(&before, after)));

  const v1::FindingStatus status = FindingStatusOf(after.status());
  if (status == FindingStatusOf(before.status())) return absl::OkStatus();
  return PutFindingChange(event, current.reporter(), before.id(), status, txn);
}

std::string InspectorAudience(absl::string_view pseudonym) {
  return absl::StrCat("inspector/", pseudonym);
}

absl::Status Project(const v1::Event& event, Txn& txn) {
  switch (event.body_case()) {
    case v1::Event::kFindingReported: {
      v1::FindingRecord record;
      *record.mutable_finding() = event.finding_reported();
      record.set_reporter(event.actor());
      record.set_reported_seq(event.seq());
      record.set_updated_seq(event.seq());
      FL_RETURN_IF_ERROR(txn.PutFinding(record));
      FL_RETURN_IF_ERROR(PutFindingChange(event, record.reporter(),
                                          record.finding().id(),
                                          v1::FINDING_STATUS_REPORTED, txn));
      FL_ASSIGN_OR_RETURN(
          std::vector<std::string> path,
          RegionPath(event, event.finding_reported().unit_id(), txn));
      v1::CaseRecord opened;
      *opened.mutable_state() = NewCase(event, std::move(path));
      opened.set_reporter(event.actor());
      FL_RETURN_IF_ERROR(txn.PutCase(nullptr, opened));
      return txn.AddToCounters(CounterDeltas(nullptr, opened.state()));
    }
    case v1::Event::kFindingAmended: {
      FL_ASSIGN_OR_RETURN(
          v1::FindingRecord record,
          ExistingFinding(event, event.finding_amended().id(), txn));
      *record.mutable_finding() = event.finding_amended();
      record.set_updated_seq(event.seq());
      FL_RETURN_IF_ERROR(txn.PutFinding(record));
      // The status stays reported, so the case's projection says nothing.
      FL_RETURN_IF_ERROR(PutFindingChange(event, record.reporter(),
                                          record.finding().id(),
                                          v1::FINDING_STATUS_REPORTED, txn));
      return ProjectCaseEvent(event, txn);
    }
    case v1::Event::kFindingWithdrawn:
    case v1::Event::kCaseAccepted:
    case v1::Event::kCaseDismissed:
    case v1::Event::kCaseAssigned:
    case v1::Event::kRectificationSubmitted:
    case v1::Event::kCaseEvaluated:
    case v1::Event::kCaseClosed:
    case v1::Event::kCaseEscalated:
      return ProjectCaseEvent(event, txn);
    case v1::Event::kListPublished:
      return txn.PutList(event.list_published());
    case v1::Event::kCampaignCreated: {
      FL_RETURN_IF_ERROR(txn.PutCampaign(event.campaign_created()));
      // Each inspector sent on it learns of it through Pull.
      v1::Change change;
      change.set_seq(event.seq());
      *change.mutable_campaign() = event.campaign_created();
      for (const std::string& pseudonym :
           event.campaign_created().inspectors()) {
        FL_RETURN_IF_ERROR(txn.PutFeed(InspectorAudience(pseudonym), change));
      }
      return absl::OkStatus();
    }
    case v1::Event::kRegionCreated:
      FL_RETURN_IF_ERROR(txn.PutRegion(event.region_created()));
      return PutRegistryChange(event, event.region_created(),
                               &v1::Change::mutable_region, txn);
    case v1::Event::kUnitCreated:
      FL_RETURN_IF_ERROR(txn.PutUnit(event.unit_created()));
      return PutRegistryChange(event, event.unit_created(),
                               &v1::Change::mutable_unit, txn);
    case v1::Event::kCategoryCreated:
      FL_RETURN_IF_ERROR(txn.PutCategory(event.category_created()));
      return PutRegistryChange(event, event.category_created(),
                               &v1::Change::mutable_category, txn);
    case v1::Event::BODY_NOT_SET:
      break;
  }
  return absl::InternalError(
      absl::StrCat("event ", event.seq(), " has no body this node knows"));
}

}  // namespace fieldledger
