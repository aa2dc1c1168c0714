#include "core/supervision.h"

#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/case.h"
#include "core/case_query.h"
#include "core/projection.h"
#include "core/status_macros.h"
#include "core/validation.h"

namespace fieldledger {
namespace {

constexpr int kMaxCampaignCategories = 100;
constexpr int kMaxCampaignUnits = 1000;
constexpr int kMaxCampaignInspectors = 1000;
constexpr int kMaxListEntries = 1000;
constexpr int kMaxCasesPerEntry = 100;

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

template <typename T>
absl::Status MustExist(absl::string_view field, absl::string_view kind,
                       absl::string_view id,
                       absl::StatusOr<std::optional<T>> found) {
  if (!found.ok()) return found.status();
  if (!found->has_value()) {
    return absl::NotFoundError(
        absl::StrCat(field, ": no ", kind, " \"", id, "\""));
  }
  return absl::OkStatus();
}

// Appends the event `event` (body, actor and time set) and projects it.
absl::StatusOr<uint64_t> AppendAndProject(Txn& txn, v1::Event& event) {
  FL_ASSIGN_OR_RETURN(uint64_t seq, txn.AppendEvent(event));
  FL_RETURN_IF_ERROR(Project(event, txn));
  return seq;
}

v1::Event NewEvent(absl::string_view actor, absl::Time now) {
  v1::Event event;
  event.mutable_recorded_at()->set_seconds(absl::ToUnixSeconds(now));
  event.set_actor(std::string(actor));
  return event;
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "YYYY-MM-DD", a real day. Sets `*day`.
absl::Status ValidateDate(absl::string_view field, absl::string_view text,
                          absl::Time* day) {
  std::string error;
  const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                      AllDigits(text.substr(0, 4)) &&
                      AllDigits(text.substr(5, 2)) &&
                      AllDigits(text.substr(8, 2));
  // ParseTime normalizes 2026-02-30 to March; formatting back catches it.
  if (!shaped || !absl::ParseTime("%Y-%m-%d", std::string(text), day, &error) ||
      absl::FormatTime("%Y-%m-%d", *day, absl::UTCTimeZone()) != text) {
    return Invalid(field, "must be a date \"YYYY-MM-DD\"");
  }
  return absl::OkStatus();
}

// "2026", "2026-Q4" or "2026-11".
absl::Status ValidatePeriod(absl::string_view field, absl::string_view p) {
  const bool year = p.size() >= 4 && AllDigits(p.substr(0, 4)) && p[0] != '0';
  const bool ok =
      year && (p.size() == 4 ||
               (p.size() == 7 && p[4] == '-' && p[5] == 'Q' && p[6] >= '1' &&
                p[6] <= '4') ||
               (p.size() == 7 && p[4] == '-' && AllDigits(p.substr(5, 2)) &&
                p.substr(5, 2) >= "01" && p.substr(5, 2) <= "12"));
  if (!ok) {
    return Invalid(field,
                   "must be a year \"2026\", a quarter \"2026-Q4\" "
                   "or a month \"2026-11\"");
  }
  return absl::OkStatus();
}

// `ids` has 1 (or `min`) to `max` distinct well-formed ids.
absl::Status ValidateIdList(
    absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& ids, int min,
    int max) {
  if (ids.size() < min || ids.size() > max) {
    return Invalid(field, absl::StrCat("must hold ", min, " to ", max,
                                       " ids, got ", ids.size()));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < ids.size(); ++i) {
    const std::string path = absl::StrCat(field, "[", i, "]");
    FL_RETURN_IF_ERROR(ValidateId(path, ids[i]));
    if (!seen.insert(ids[i]).second) return Invalid(path, "is repeated");
  }
  return absl::OkStatus();
}

// Whether `region_id` lies in the subtree of `scope`. Regions name existing
// parents when created; the bound only stops a tampered store from looping.
absl::StatusOr<bool> RegionWithin(Txn& txn, std::string region_id,
                                  absl::string_view scope) {
  constexpr size_t kMaxRegionDepth = 64;
  for (size_t depth = 0; !region_id.empty() && depth < kMaxRegionDepth;
       ++depth) {
    if (region_id == scope) return true;
    FL_ASSIGN_OR_RETURN(std::optional<v1::Region> region,
                        txn.GetRegion(region_id));
    if (!region) return false;
    region_id = region->parent_id();
  }
  return false;
}

// ApplyCaseAction once `action` is valid and `current` is its case, as
// read in this transaction.
absl::StatusOr<uint64_t> ApplyValidCaseAction(Txn& txn,
                                              const v1::CaseRecord& current,
                                              absl::string_view actor,
                                              const v1::CaseAction& action,
                                              absl::Time now,
                                              const Limits& limits) {
  if (action.has_assign()) {
    FL_RETURN_IF_ERROR(MustExist("assign.unit_id", "unit",
                                 action.assign().unit_id(),
                                 txn.GetUnit(action.assign().unit_id())));
  }
  if (action.has_dismiss() && !action.dismiss().duplicate_of().empty()) {
    const std::string& other = action.dismiss().duplicate_of();
    FL_RETURN_IF_ERROR(
        MustExist("dismiss.duplicate_of", "case", other, txn.GetCase(other)));
  }
  FL_ASSIGN_OR_RETURN(
      v1::Event event,
      DecideCaseAction(current.state(), action, actor, now, limits));
  FL_ASSIGN_OR_RETURN(uint64_t seq, txn.AppendEvent(event));
  FL_RETURN_IF_ERROR(ProjectCaseStep(event, current, txn));
  return seq;
}

}  // namespace

absl::StatusOr<uint64_t> ApplyCaseAction(Txn& txn, absl::string_view actor,
                                         const v1::CaseAction& action,
                                         absl::Time now, const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateCaseAction(action, now, limits));
  FL_ASSIGN_OR_RETURN(std::optional<v1::CaseRecord> current,
                      txn.GetCaseRecord(action.case_id()));
  if (!current) {
    return absl::NotFoundError(
        absl::StrCat("case_id: no case \"", action.case_id(), "\""));
  }
  return ApplyValidCaseAction(txn, *current, actor, action, now, limits);
}

absl::StatusOr<v1::CaseActionResponse> ApplyCaseActionAs(
    Txn& txn, const v1::Principal& caller, const v1::CaseAction& action,
    absl::Time now, const Limits& limits) {
  const CaseViewer viewer = ViewerOf(caller);
  // The case `id` if `viewer` may see it.
  const auto visible =
      [&](absl::string_view field,
          absl::string_view id) -> absl::StatusOr<v1::CaseRecord> {
    FL_ASSIGN_OR_RETURN(std::optional<v1::CaseRecord> c,
                        txn.GetCaseRecord(id));
    if (!c || !CanSee(viewer, c->state())) {
      return absl::NotFoundError(absl::StrCat(field, ": no case \"", id, "\""));
    }
    return *std::move(c);
  };
  FL_ASSIGN_OR_RETURN(const v1::CaseRecord before,
                      visible("case_id", action.case_id()));
  if (action.has_dismiss() && !action.dismiss().duplicate_of().empty()) {
    FL_RETURN_IF_ERROR(
        visible("dismiss.duplicate_of", action.dismiss().duplicate_of())
            .status());
  }
  FL_RETURN_IF_ERROR(ValidateCaseAction(action, now, limits));
  FL_ASSIGN_OR_RETURN(
      uint64_t seq,
      ApplyValidCaseAction(txn, before, caller.name(), action, now, limits));
  v1::CaseActionResponse reply;
  reply.set_version(before.state().version() + 1);  // each step adds one
  reply.set_event_seq(seq);
  return reply;
}

absl::StatusOr<uint64_t> CreateCampaignAs(Txn& txn, const v1::Principal& caller,
                                          const v1::Campaign& campaign,
                                          absl::Time now,
                                          const Limits& limits) {
  if (caller.role() == v1::ROLE_SUPERVISOR) {
    for (int i = 0; i < campaign.target_unit_ids_size(); ++i) {
      FL_ASSIGN_OR_RETURN(std::optional<v1::Unit> unit,
                          txn.GetUnit(campaign.target_unit_ids(i)));
      if (!unit) continue;  // CreateCampaign names it
      FL_ASSIGN_OR_RETURN(bool within,
                          RegionWithin(txn, unit->region_id(), caller.scope()));
      if (!within) {
        return absl::PermissionDeniedError(absl::StrCat(
            "campaign.target_unit_ids[", i, "]: unit \"", unit->id(),
            "\" is outside region \"", caller.scope(), "\""));
      }
    }
  }
  return CreateCampaign(txn, caller.name(), campaign, now, limits);
}

absl::StatusOr<uint64_t> CreateCampaign(Txn& txn, absl::string_view actor,
                                        const v1::Campaign& c, absl::Time now,
                                        const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateId("campaign.id", c.id()));
  FL_RETURN_IF_ERROR(
      ValidateText("campaign.name", c.name(), 1, limits.max_name_chars));
  FL_RETURN_IF_ERROR(ValidateIdList("campaign.category_ids", c.category_ids(),
                                    1, kMaxCampaignCategories));
  FL_RETURN_IF_ERROR(ValidateIdList("campaign.target_unit_ids",
                                    c.target_unit_ids(), 1, kMaxCampaignUnits));
  absl::Time start, end;
  FL_RETURN_IF_ERROR(
      ValidateDate("campaign.start_date", c.start_date(), &start));
  FL_RETURN_IF_ERROR(ValidateDate("campaign.end_date", c.end_date(), &end));
  if (end < start) {
    return Invalid("campaign.end_date", "is before start_date");
  }
  FL_RETURN_IF_ERROR(ValidateIdList("campaign.inspectors", c.inspectors(), 0,
                                    kMaxCampaignInspectors));
  for (int i = 0; i < c.category_ids_size(); ++i) {
    FL_RETURN_IF_ERROR(MustExist(absl::StrCat("campaign.category_ids[", i, "]"),
                                 "category", c.category_ids(i),
                                 txn.GetCategory(c.category_ids(i))));
  }
  for (int i = 0; i < c.target_unit_ids_size(); ++i) {
    FL_RETURN_IF_ERROR(
        MustExist(absl::StrCat("campaign.target_unit_ids[", i, "]"), "unit",
                  c.target_unit_ids(i), txn.GetUnit(c.target_unit_ids(i))));
  }
  FL_ASSIGN_OR_RETURN(std::optional<v1::Campaign> existing,
                      txn.GetCampaign(c.id()));
  if (existing) {
    return absl::AlreadyExistsError(
        absl::StrCat("campaign.id: campaign \"", c.id(), "\" already exists"));
  }
  v1::Event event = NewEvent(actor, now);
  v1::Campaign* stored = event.mutable_campaign_created();
  *stored = c;
  *stored->mutable_created_at() = event.recorded_at();
  return AppendAndProject(txn, event);
}

absl::StatusOr<uint64_t> PublishList(Txn& txn, absl::string_view actor,
                                     const v1::PublishedList& list,
                                     absl::Time now, const Limits& limits) {
  if (list.kind() != v1::LIST_KIND_RED && list.kind() != v1::LIST_KIND_BLACK) {
    return Invalid("list.kind", "must be LIST_KIND_RED or LIST_KIND_BLACK");
  }
  FL_RETURN_IF_ERROR(ValidatePeriod("list.period", list.period()));
  if (list.entries_size() < 1 || list.entries_size() > kMaxListEntries) {
    return Invalid("list.entries",
                   absl::StrCat("must hold 1 to ", kMaxListEntries,
                                " entries, got ", list.entries_size()));
  }
  absl::flat_hash_set<absl::string_view> units;
  for (int i = 0; i < list.entries_size(); ++i) {
    const v1::ListEntry& e = list.entries(i);
    const std::string path = absl::StrCat("list.entries[", i, "]");
    FL_RETURN_IF_ERROR(ValidateId(absl::StrCat(path, ".unit_id"), e.unit_id()));
    if (!units.insert(e.unit_id()).second) {
      return Invalid(absl::StrCat(path, ".unit_id"),
                     "is listed in an earlier entry");
    }
    FL_RETURN_IF_ERROR(ValidateText(absl::StrCat(path, ".reason"), e.reason(),
                                    1, limits.max_note_chars));
    if (e.case_ids_size() > kMaxCasesPerEntry) {
      return Invalid(absl::StrCat(path, ".case_ids"),
                     absl::StrCat("must hold at most ", kMaxCasesPerEntry,
                                  " ids, got ", e.case_ids_size()));
    }
  }
  for (int i = 0; i < list.entries_size(); ++i) {
    const v1::ListEntry& e = list.entries(i);
    const std::string path = absl::StrCat("list.entries[", i, "]");
    FL_RETURN_IF_ERROR(MustExist(absl::StrCat(path, ".unit_id"), "unit",
                                 e.unit_id(), txn.GetUnit(e.unit_id())));
    absl::flat_hash_set<absl::string_view> seen;
    for (int j = 0; j < e.case_ids_size(); ++j) {
      const std::string field = absl::StrCat(path, ".case_ids[", j, "]");
      const std::string& id = e.case_ids(j);
      if (!seen.insert(id).second) return Invalid(field, "is repeated");
      FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c, txn.GetCase(id));
      if (!c) {
        return absl::NotFoundError(
            absl::StrCat(field, ": no case \"", id, "\""));
      }
      if (c->unit_id() != e.unit_id() &&
          c->assignment().unit_id() != e.unit_id()) {
        return Invalid(field,
                       absl::StrCat("case \"", id, "\" is not about unit \"",
                                    e.unit_id(), "\""));
      }
    }
  }
  FL_ASSIGN_OR_RETURN(std::optional<v1::PublishedList> existing,
                      txn.GetList(list.kind(), list.period()));
  if (existing) {
    return absl::AlreadyExistsError(absl::StrCat(
        "list.period: the ", list.kind() == v1::LIST_KIND_RED ? "red" : "black",
        " list of ", list.period(), " is published already"));
  }
  v1::Event event = NewEvent(actor, now);
  v1::PublishedList* stored = event.mutable_list_published();
  *stored = list;
  *stored->mutable_published_at() = event.recorded_at();
  return AppendAndProject(txn, event);
}

}  // namespace fieldledger
