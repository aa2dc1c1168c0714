#include "core/projection.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace fieldledger {
namespace {

absl::Status PutFindingAndFeed(const v1::FindingRecord& record, Txn& txn) {
  FL_RETURN_IF_ERROR(txn.PutFinding(record));
  v1::Change change;
  change.set_seq(record.updated_seq());
  *change.mutable_finding()->mutable_finding() = record.finding();
  change.mutable_finding()->set_status(record.status());
  return txn.PutFeed(InspectorAudience(record.reporter()), change);
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
  record->set_updated_seq(event.seq());
  return *std::move(record);
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

std::string InspectorAudience(absl::string_view pseudonym) {
  return absl::StrCat("inspector/", pseudonym);
}

absl::Status Project(const v1::Event& event, Txn& txn) {
  switch (event.body_case()) {
    case v1::Event::kFindingReported: {
      v1::FindingRecord record;
      *record.mutable_finding() = event.finding_reported();
      record.set_status(v1::FINDING_STATUS_REPORTED);
      record.set_reporter(event.actor());
      record.set_reported_seq(event.seq());
      record.set_updated_seq(event.seq());
      return PutFindingAndFeed(record, txn);
    }
    case v1::Event::kFindingAmended: {
      FL_ASSIGN_OR_RETURN(
          v1::FindingRecord record,
          ExistingFinding(event, event.finding_amended().id(), txn));
      *record.mutable_finding() = event.finding_amended();
      return PutFindingAndFeed(record, txn);
    }
    case v1::Event::kFindingWithdrawn: {
      FL_ASSIGN_OR_RETURN(
          v1::FindingRecord record,
          ExistingFinding(event, event.finding_withdrawn().finding_id(), txn));
      record.set_status(v1::FINDING_STATUS_WITHDRAWN);
      return PutFindingAndFeed(record, txn);
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
