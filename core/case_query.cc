#include "core/case_query.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "core/validation.h"

namespace fieldledger {
namespace {

constexpr uint32_t kDefaultPageSize = 50;
constexpr uint32_t kMaxPageSize = 500;
constexpr size_t kMaxRegionDepth = 16;
// Inspectors sync late: a campaign's findings may reach the server this long
// after its last day.
constexpr absl::Duration kCampaignSyncSlack = absl::Hours(24 * 7);

// The position of an index entry in a listing's order.
struct Position {
  int64_t time;
  std::string case_id;
  friend bool operator<(const Position& a, const Position& b) {
    return std::tie(a.time, a.case_id) < std::tie(b.time, b.case_id);
  }
};

// Names a listing's filters (the request without its paging fields), so
// that a cursor is only taken back with the filters it was made for. FNV-1a
// over the serialized request: stable across restarts, unlike absl::Hash.
std::string FilterFingerprint(const v1::ListCasesRequest& request) {
  v1::ListCasesRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_cursor();
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : filters.SerializeAsString()) {
    h = (h ^ c) * 1099511628211ull;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

std::string EncodeCursor(const v1::ListCasesRequest& request,
                         const Position& p) {
  return absl::WebSafeBase64Escape(absl::StrCat(
      "c2|", FilterFingerprint(request), "|", p.time, "|", p.case_id));
}

absl::StatusOr<std::optional<Position>> DecodeCursor(
    const v1::ListCasesRequest& request) {
  const std::string& in = request.page_cursor();
  if (in.empty()) return std::nullopt;
  std::string raw;
  const absl::Status bad =
      absl::InvalidArgumentError("page_cursor: not a cursor this server made");
  if (!absl::WebSafeBase64Unescape(in, &raw)) return bad;
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 3));
  Position p;
  if (parts.size() != 4 || parts[0] != "c2" ||
      !absl::SimpleAtoi(parts[2], &p.time) || parts[3].empty()) {
    return bad;
  }
  if (parts[1] != FilterFingerprint(request)) {
    return absl::InvalidArgumentError(
        "page_cursor: made for other filters; start again without a cursor");
  }
  p.case_id = parts[3];
  return p;
}

int64_t Seconds(const google::protobuf::Timestamp& t) { return t.seconds(); }

absl::Time StartOfDay(absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, absl::UTCTimeZone());
  return absl::FromCivil(day, absl::UTCTimeZone());
}

void CutToDay(google::protobuf::Timestamp& t) {
  t.set_seconds(
      absl::ToUnixSeconds(StartOfDay(absl::FromUnixSeconds(t.seconds()))));
  t.set_nanos(0);
}

// The region and its ancestors, the region first.
absl::StatusOr<std::vector<std::string>> AncestorsOf(CaseReader& reader,
                                                     absl::string_view id) {
  std::vector<std::string> out;
  std::string next(id);
  while (!next.empty() && out.size() < kMaxRegionDepth) {
    FL_ASSIGN_OR_RETURN(std::optional<v1::Region> region,
                        reader.ReadRegion(next));
    if (!region) break;
    out.push_back(next);
    next = region->parent_id();
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, absl::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The filters of a request after validation, with what they refer to.
struct Filter {
  std::string region_id;
  std::string unit_id;
  std::string category_id;
  v1::CaseStatus status = v1::CASE_STATUS_UNSPECIFIED;
  bool overdue = false;
  std::optional<v1::Campaign> campaign;
  int64_t time_from = std::numeric_limits<int64_t>::min();
  int64_t time_to = std::numeric_limits<int64_t>::max();
};

bool Matches(const Filter& f, const CaseViewer& viewer, const v1::Case& c,
             absl::Time now) {
  if (!CanSee(viewer, c)) return false;
  if (!f.region_id.empty() &&
      std::find(c.region_path().begin(), c.region_path().end(), f.region_id) ==
          c.region_path().end()) {
    return false;
  }
  if (!f.unit_id.empty() && c.unit_id() != f.unit_id) return false;
  if (!f.category_id.empty() && c.category_id() != f.category_id) return false;
  if (f.status != v1::CASE_STATUS_UNSPECIFIED && c.status() != f.status) {
    return false;
  }
  if (f.overdue && !IsOverdue(c, now)) return false;
  const int64_t reported = Seconds(c.reported_at());
  if (reported < f.time_from || reported >= f.time_to) return false;
  if (f.campaign) {
    const auto& units = f.campaign->target_unit_ids();
    const auto& categories = f.campaign->category_ids();
    if (std::find(units.begin(), units.end(), c.unit_id()) == units.end() ||
        std::find(categories.begin(), categories.end(), c.category_id()) ==
            categories.end()) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Filter> CheckFilter(CaseReader& reader,
                                   const v1::ListCasesRequest& request) {
  Filter f;
  if (!request.region_id().empty()) {
    FL_ASSIGN_OR_RETURN(auto region, reader.ReadRegion(request.region_id()));
    if (!region) {
      return absl::NotFoundError(
          absl::StrCat("region_id: no region \"", request.region_id(), "\""));
    }
    f.region_id = request.region_id();
  }
  if (!request.unit_id().empty()) {
    FL_ASSIGN_OR_RETURN(auto unit, reader.ReadUnit(request.unit_id()));
    if (!unit) {
      return absl::NotFoundError(
          absl::StrCat("unit_id: no unit \"", request.unit_id(), "\""));
    }
    f.unit_id = request.unit_id();
  }
  if (!request.category_id().empty()) {
    FL_ASSIGN_OR_RETURN(auto category,
                        reader.ReadCategory(request.category_id()));
    if (!category) {
      return absl::NotFoundError(absl::StrCat("category_id: no category \"",
                                              request.category_id(), "\""));
    }
    f.category_id = request.category_id();
  }
  if (!v1::CaseStatus_IsValid(request.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("status: unknown value ", request.status()));
  }
  f.status = request.status();
  f.overdue = request.overdue();
  if (request.has_reported_from()) {
    f.time_from = Seconds(request.reported_from());
  }
  if (request.has_reported_to()) f.time_to = Seconds(request.reported_to());
  if (request.has_reported_from() && request.has_reported_to() &&
      f.time_to <= f.time_from) {
    return absl::InvalidArgumentError(
        "reported_to: must be after reported_from");
  }
  if (!request.campaign_id().empty()) {
    FL_ASSIGN_OR_RETURN(f.campaign, reader.ReadCampaign(request.campaign_id()));
    if (!f.campaign) {
      return absl::NotFoundError(absl::StrCat("campaign_id: no campaign \"",
                                              request.campaign_id(), "\""));
    }
    absl::CivilDay start, end;
    if (absl::ParseCivilTime(f.campaign->start_date(), &start) &&
        absl::ParseCivilTime(f.campaign->end_date(), &end)) {
      const absl::TimeZone utc = absl::UTCTimeZone();
      f.time_from = std::max(f.time_from,
                             absl::ToUnixSeconds(absl::FromCivil(start, utc)));
      f.time_to = std::min(f.time_to,
                           absl::ToUnixSeconds(absl::FromCivil(end + 1, utc) +
                                               kCampaignSyncSlack));
    }
  }
  return f;
}

}  // namespace

CaseViewer ViewerOf(const v1::Principal& principal) {
  switch (principal.role()) {
    case v1::ROLE_ADMIN:
    case v1::ROLE_AUDITOR:
      return {CaseViewer::Kind::kAll, ""};
    case v1::ROLE_SUPERVISOR:
      return {CaseViewer::Kind::kRegion, principal.scope()};
    case v1::ROLE_UNIT_OFFICER:
      return {CaseViewer::Kind::kResponsibleUnit, principal.scope()};
    default:
      return {CaseViewer::Kind::kNone, ""};
  }
}

bool CanSee(const CaseViewer& viewer, const v1::Case& c) {
  switch (viewer.kind) {
    case CaseViewer::Kind::kAll:
      return true;
    case CaseViewer::Kind::kRegion:
      return !viewer.scope.empty() &&
             std::find(c.region_path().begin(), c.region_path().end(),
                       viewer.scope) != c.region_path().end();
    case CaseViewer::Kind::kResponsibleUnit:
      return !viewer.scope.empty() && c.has_assignment() &&
             c.assignment().unit_id() == viewer.scope;
    case CaseViewer::Kind::kNone:
      return false;
  }
  return false;
}

void RedactCaseForUnit(v1::Case& c) {
  if (c.has_reported_at()) CutToDay(*c.mutable_reported_at());
  auto* evidence = c.mutable_evidence();
  evidence->erase(std::remove_if(evidence->begin(), evidence->end(),
                                 [](const v1::CaseEvidence& e) {
                                   return e.source() !=
                                          v1::EVIDENCE_SOURCE_RECTIFICATION;
                                 }),
                  evidence->end());
}

void RedactEventForUnit(v1::Event& event) {
  v1::Finding* finding = nullptr;
  switch (event.body_case()) {
    case v1::Event::kFindingReported:
      finding = event.mutable_finding_reported();
      break;
    case v1::Event::kFindingAmended:
      finding = event.mutable_finding_amended();
      break;
    case v1::Event::kFindingWithdrawn:
      break;
    default:
      return;
  }
  event.clear_actor();
  event.clear_origin();
  if (event.has_recorded_at()) CutToDay(*event.mutable_recorded_at());
  if (finding != nullptr && finding->has_observed_at()) {
    CutToDay(*finding->mutable_observed_at());
  }
  if (finding != nullptr) finding->clear_evidence();
}

absl::StatusOr<v1::ListCasesResponse> ListCases(
    CaseReader& reader, const CaseViewer& viewer,
    const v1::ListCasesRequest& request, absl::Time now, size_t max_scanned) {
  if (request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be at most ", kMaxPageSize));
  }
  const size_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  FL_ASSIGN_OR_RETURN(std::optional<Position> position, DecodeCursor(request));
  FL_ASSIGN_OR_RETURN(Filter filter, CheckFilter(reader, request));
  v1::ListCasesResponse reply;
  if (viewer.kind == CaseViewer::Kind::kNone) return reply;

  // Which index to scan, and in which scopes: a region or unit id each, or
  // for kDeadline and kStatus the one empty scope, filtered by region.
  CaseIndex index = CaseIndex::kRegion;
  std::vector<std::string> scopes;
  if (filter.overdue) {
    index = CaseIndex::kDeadline;
  } else if (viewer.kind == CaseViewer::Kind::kResponsibleUnit) {
    index = CaseIndex::kResponsibleUnit;
    scopes = {viewer.scope};
  } else if (!filter.unit_id.empty()) {
    index = CaseIndex::kUnit;
    scopes = {filter.unit_id};
  } else if (filter.status != v1::CASE_STATUS_UNSPECIFIED) {
    index = CaseIndex::kStatus;
  }
  // The region the listing is restricted to: the narrowest region that
  // holds both the filter's and the supervisor's subtree (nothing when they
  // do not meet); empty for all.
  std::string region;
  if (scopes.empty()) {
    region = filter.region_id;
    if (viewer.kind == CaseViewer::Kind::kRegion) {
      if (region.empty()) {
        region = viewer.scope;
      } else {
        FL_ASSIGN_OR_RETURN(std::vector<std::string> above,
                            AncestorsOf(reader, region));
        if (!Contains(above, viewer.scope)) {
          FL_ASSIGN_OR_RETURN(std::vector<std::string> mine,
                              AncestorsOf(reader, viewer.scope));
          if (!Contains(mine, region)) return reply;
          region = viewer.scope;
        }
      }
    }
    if (index == CaseIndex::kDeadline || index == CaseIndex::kStatus) {
      scopes = {""};
    } else if (!region.empty()) {
      scopes = {region};
    } else {
      FL_ASSIGN_OR_RETURN(scopes, reader.RootRegionIds());
    }
  }

  v1::CaseStatus status = v1::CASE_STATUS_UNSPECIFIED;
  int64_t time_from = filter.time_from, time_to = filter.time_to;
  if (index == CaseIndex::kStatus) {
    status = filter.status;
  } else if (index == CaseIndex::kDeadline) {
    // Overdue means a deadline before now.
    time_from = std::numeric_limits<int64_t>::min();
    time_to = absl::ToUnixSeconds(now);
  }

  // Merge the streams (one per scope), each in (time, id) order, a chunk at
  // a time: after one round, the merged entries are complete only up to the
  // smallest last entry read by a stream that stopped before its end.
  const size_t chunk = std::min<size_t>(page_size + 1, 1000);
  size_t scanned = 0;
  absl::flat_hash_set<std::string> seen;
  while (true) {
    std::vector<CaseIndexKey> merged;
    std::optional<Position> bound;
    for (const std::string& scope : scopes) {
      CaseIndexScan scan;
      scan.index = index;
      scan.scope = scope;
      scan.status = status;
      scan.time_from = time_from;
      scan.time_to = time_to;
      if (position) {
        scan.resume = true;
        scan.after_time = position->time;
        scan.after_case_id = position->case_id;
      }
      if (index == CaseIndex::kDeadline || index == CaseIndex::kStatus) {
        scan.region = region;
      }
      scan.limit = chunk;
      scan.max_examined =
          std::max(chunk, max_scanned - std::min(scanned, max_scanned));
      FL_ASSIGN_OR_RETURN(CaseIndexPage found, reader.ScanCaseIndex(scan));
      scanned += found.examined;
      if (found.more) {
        Position last{found.last_time, std::move(found.last_case_id)};
        if (!bound || last < *bound) bound = std::move(last);
      }
      merged.insert(merged.end(), std::make_move_iterator(found.keys.begin()),
                    std::make_move_iterator(found.keys.end()));
    }
    std::sort(merged.begin(), merged.end(),
              [](const CaseIndexKey& a, const CaseIndexKey& b) {
                return std::tie(a.time, a.case_id) <
                       std::tie(b.time, b.case_id);
              });
    for (const CaseIndexKey& key : merged) {
      Position here{key.time, key.case_id};
      if (bound && *bound < here) break;
      position = here;
      if (!seen.insert(key.case_id).second) continue;
      FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c,
                          reader.ReadCase(key.case_id));
      if (!c || !Matches(filter, viewer, *c, now)) continue;
      if (viewer.kind == CaseViewer::Kind::kResponsibleUnit) {
        RedactCaseForUnit(*c);
      }
      *reply.add_cases() = std::move(*c);
      if (static_cast<size_t>(reply.cases_size()) == page_size) {
        reply.set_next_page_cursor(EncodeCursor(request, *position));
        return reply;
      }
    }
    if (!bound) return reply;  // every stream ran out
    position = bound;
    if (scanned >= max_scanned) {
      reply.set_next_page_cursor(EncodeCursor(request, *position));
      return reply;
    }
  }
}

absl::Status CheckEvidenceAccess(CaseReader& reader,
                                 const v1::Principal& caller,
                                 absl::string_view sha256,
                                 absl::string_view case_id) {
  if (!IsSha256Hex(sha256)) {
    return absl::InvalidArgumentError(
        "sha256: must be 64 lower-case hex digits");
  }
  if (case_id.empty()) {
    return absl::InvalidArgumentError("case_id: is required");
  }
  const absl::Status no_case =
      absl::NotFoundError(absl::StrCat("case_id: no case \"", case_id, "\""));
  const absl::Status not_shown = absl::PermissionDeniedError(absl::StrCat(
      "sha256: case ", case_id, " shows you no evidence ", sha256));
  if (caller.role() == v1::ROLE_INSPECTOR) {
    FL_ASSIGN_OR_RETURN(std::optional<v1::FindingRecord> finding,
                        reader.ReadFinding(case_id));
    if (!finding || finding->reporter() != caller.name()) return no_case;
    for (const v1::EvidenceRef& ref : finding->finding().evidence()) {
      if (ref.sha256() == sha256) return absl::OkStatus();
    }
    return not_shown;
  }
  const CaseViewer viewer = ViewerOf(caller);
  if (viewer.kind == CaseViewer::Kind::kNone) {
    return absl::PermissionDeniedError(absl::StrCat(
        "role ", v1::Role_Name(caller.role()), " may not download evidence"));
  }
  FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c, reader.ReadCase(case_id));
  if (!c || !CanSee(viewer, *c)) return no_case;
  if (viewer.kind == CaseViewer::Kind::kResponsibleUnit) RedactCaseForUnit(*c);
  for (const v1::CaseEvidence& e : c->evidence()) {
    if (e.ref().sha256() == sha256) return absl::OkStatus();
  }
  return not_shown;
}

absl::StatusOr<v1::GetCaseResponse> GetCaseView(CaseReader& reader,
                                                const CaseViewer& viewer,
                                                absl::string_view case_id) {
  FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c, reader.ReadCase(case_id));
  if (!c || !CanSee(viewer, *c)) {
    return absl::NotFoundError(
        absl::StrCat("case_id: no case \"", case_id, "\""));
  }
  v1::GetCaseResponse reply;
  FL_ASSIGN_OR_RETURN(std::vector<v1::Event> history,
                      reader.ReadCaseHistory(case_id));
  const bool redact = viewer.kind == CaseViewer::Kind::kResponsibleUnit;
  if (redact) RedactCaseForUnit(*c);
  *reply.mutable_case_() = std::move(*c);
  for (v1::Event& event : history) {
    if (redact) RedactEventForUnit(event);
    *reply.add_history() = std::move(event);
  }
  return reply;
}

absl::StatusOr<std::function<bool(const v1::Case&)>> CaseFilterOf(
    CaseReader& reader, const CaseViewer& viewer,
    const v1::ListCasesRequest& request, absl::Time now) {
  FL_ASSIGN_OR_RETURN(Filter filter, CheckFilter(reader, request));
  return [filter = std::move(filter), viewer, now](const v1::Case& c) {
    return Matches(filter, viewer, c, now);
  };
}

}  // namespace fieldledger
