#include "core/report.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/aggregates.h"
#include "core/case.h"
#include "core/status_macros.h"

namespace fieldledger {
namespace {

constexpr size_t kMaxDepth = 64;
constexpr int kStatusCount = 9;  // CaseStatus values 0..8

// Sums of one row: stock by status, flows by Flow, overdue when counted.
struct Sums {
  std::array<int64_t, kStatusCount> stock{};
  std::array<int64_t, kMaxFlow + 1> flows{};
  std::optional<int64_t> overdue;

  bool Empty() const {
    for (int64_t v : stock) {
      if (v != 0) return false;
    }
    for (int64_t v : flows) {
      if (v != 0) return false;
    }
    return !overdue || *overdue == 0;
  }
  int64_t Open() const {
    int64_t open = 0;
    for (int s = 0; s < kStatusCount; ++s) {
      if (IsOpen(static_cast<v1::CaseStatus>(s))) open += stock[s];
    }
    return open;
  }
  int64_t Flow(enum Flow f) const { return flows[static_cast<int>(f)]; }
};

uint64_t U(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

v1::ReportFigures ToFigures(const Sums& s) {
  v1::ReportFigures f;
  int64_t cases = 0;
  for (int st = 0; st < kStatusCount; ++st) {
    if (s.stock[st] == 0) continue;
    cases += s.stock[st];
    v1::StatusCount* sc = f.add_by_status();
    sc->set_status(static_cast<v1::CaseStatus>(st));
    sc->set_cases(U(s.stock[st]));
  }
  f.set_cases(U(cases));
  f.set_open(U(s.Open()));
  f.set_reported(U(s.Flow(Flow::kReported)));
  f.set_assigned(U(s.Flow(Flow::kAssigned)));
  f.set_rectification_reported(U(s.Flow(Flow::kRectificationReported)));
  f.set_closed(U(s.Flow(Flow::kClosed)));
  f.set_closed_on_time(U(s.Flow(Flow::kClosedOnTime)));
  if (f.assigned() > 0) {
    f.set_rectification_rate(static_cast<double>(f.closed()) / f.assigned());
  }
  if (f.closed() > 0) {
    f.set_on_time_rate(static_cast<double>(f.closed_on_time()) / f.closed());
  }
  f.set_evaluated_satisfied(U(s.Flow(Flow::kEvaluatedSatisfied)));
  f.set_evaluated_basically_satisfied(
      U(s.Flow(Flow::kEvaluatedBasicallySatisfied)));
  f.set_evaluated_unsatisfied(U(s.Flow(Flow::kEvaluatedUnsatisfied)));
  f.set_escalated_talk(U(s.Flow(Flow::kEscalatedTalk)));
  f.set_escalated_public_notice(U(s.Flow(Flow::kEscalatedPublicNotice)));
  f.set_escalated_discipline(U(s.Flow(Flow::kEscalatedDiscipline)));
  f.set_dismissed_duplicate(U(s.Flow(Flow::kDismissedDuplicate)));
  f.set_dismissed_rejected(U(s.Flow(Flow::kDismissedRejected)));
  if (s.overdue) f.set_overdue(U(*s.overdue));
  return f;
}

// The registry, as reports need it.
struct Registry {
  absl::flat_hash_map<std::string, v1::Region> regions;
  absl::flat_hash_map<std::string, v1::Unit> units;
  std::vector<std::string> region_ids, unit_ids;  // ordered

  // The region and its ancestors, the region first.
  std::vector<std::string> Ancestors(absl::string_view id) const {
    std::vector<std::string> out;
    auto it = regions.find(id);
    while (it != regions.end() && out.size() < kMaxDepth) {
      out.push_back(it->first);
      it = regions.find(it->second.parent_id());
    }
    return out;
  }
  size_t Depth(absl::string_view region) const {
    return Ancestors(region).size() - 1;
  }
  bool Within(absl::string_view region, absl::string_view scope) const {
    const std::vector<std::string> up = Ancestors(region);
    return std::find(up.begin(), up.end(), scope) != up.end();
  }
  // The ancestor of `region` at `depth`; empty when it is shallower.
  std::string AtDepth(absl::string_view region, size_t depth) const {
    const std::vector<std::string> up = Ancestors(region);
    if (up.size() <= depth) return "";
    return up[up.size() - 1 - depth];
  }
};

absl::StatusOr<Registry> LoadRegistry(ReportReader& counters) {
  Registry r;
  FL_ASSIGN_OR_RETURN(std::vector<v1::Region> regions, counters.AllRegions());
  for (v1::Region& region : regions) {
    r.region_ids.push_back(region.id());
    r.regions.emplace(region.id(), std::move(region));
  }
  FL_ASSIGN_OR_RETURN(std::vector<v1::Unit> units, counters.AllUnits());
  for (v1::Unit& unit : units) {
    r.unit_ids.push_back(unit.id());
    r.units.emplace(unit.id(), std::move(unit));
  }
  return r;
}

absl::Status CheckMonth(absl::string_view field, absl::string_view month) {
  absl::CivilMonth parsed;
  if (!month.empty() && (month.size() != 7 ||
                         !absl::ParseCivilTime(std::string(month), &parsed))) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be a month \"YYYY-MM\", not \"", month, "\""));
  }
  return absl::OkStatus();
}

struct Period {
  std::string from, to;  // "YYYY-MM" or empty
};

absl::StatusOr<Period> CheckPeriod(absl::string_view from,
                                   absl::string_view to) {
  FL_RETURN_IF_ERROR(CheckMonth("period_from", from));
  FL_RETURN_IF_ERROR(CheckMonth("period_to", to));
  if (!from.empty() && !to.empty() && to < from) {
    return absl::InvalidArgumentError(
        "period_to: must not be before period_from");
  }
  return Period{std::string(from), std::string(to)};
}

// Where the figures come from: the viewer's scope narrowed by the request's
// region or unit. At most one of region and unit is set; neither means
// every root region.
struct Base {
  std::string region;
  std::string unit;
  bool unit_officer = false;
};

absl::StatusOr<Base> ResolveBase(const Registry& reg, const CaseViewer& viewer,
                                 absl::string_view region_id,
                                 absl::string_view unit_id) {
  if (viewer.kind == CaseViewer::Kind::kNone) {
    return absl::PermissionDeniedError("this role gets no reports");
  }
  auto no_region = [&] {
    return absl::NotFoundError(
        absl::StrCat("region_id: no region \"", region_id, "\""));
  };
  auto no_unit = [&] {
    return absl::NotFoundError(
        absl::StrCat("unit_id: no unit \"", unit_id, "\""));
  };
  if (!region_id.empty() && !unit_id.empty()) {
    return absl::InvalidArgumentError(
        "unit_id: give either region_id or unit_id");
  }
  if (!region_id.empty() && !reg.regions.contains(region_id)) {
    return no_region();
  }
  if (!unit_id.empty() && !reg.units.contains(unit_id)) return no_unit();
  Base base;
  switch (viewer.kind) {
    case CaseViewer::Kind::kResponsibleUnit:
      if (!region_id.empty()) return no_region();
      if (!unit_id.empty() && unit_id != viewer.scope) return no_unit();
      base.unit = viewer.scope;
      base.unit_officer = true;
      return base;
    case CaseViewer::Kind::kRegion:
      if (!region_id.empty() && !reg.Within(region_id, viewer.scope)) {
        return no_region();
      }
      if (!unit_id.empty()) {
        const v1::Unit& unit = reg.units.at(std::string(unit_id));
        if (!reg.Within(unit.region_id(), viewer.scope)) return no_unit();
      }
      base.region = region_id.empty() && unit_id.empty()
                        ? viewer.scope
                        : std::string(region_id);
      base.unit = std::string(unit_id);
      return base;
    default:
      base.region = std::string(region_id);
      base.unit = std::string(unit_id);
      return base;
  }
}

// The counter scopes making up a base.
std::vector<std::string> BaseScopes(const Registry& reg, const Base& base) {
  if (!base.unit.empty()) return {UnitScope(base.unit)};
  if (!base.region.empty()) return {RegionScope(base.region)};
  std::vector<std::string> roots;
  for (const std::string& id : reg.region_ids) {
    if (reg.regions.at(id).parent_id().empty()) {
      roots.push_back(RegionScope(id));
    }
  }
  return roots;
}

// One counter of a scope, split into its parts.
struct Counter {
  char kind;  // 's', 'f'
  absl::string_view month;
  int code;  // status or flow
  absl::string_view category;
  int64_t value;
};

// Reads the stock and flow counters of `scope` within `period` and calls
// fn(counter) for each, skipping what a unit officer may not see.
absl::Status ReadScope(ReportReader& counters, absl::string_view scope,
                       const Period& period, bool unit_officer,
                       absl::string_view category, bool with_flows,
                       const std::function<void(const Counter&)>& fn) {
  absl::Status bad;
  for (const char kind : {'s', 'f'}) {
    if (kind == 'f' && !with_flows) break;
    const std::string head = absl::StrCat(scope, std::string(1, kind), "/");
    const std::string from = absl::StrCat(head, period.from);
    // '0' sorts right after '/', so "<to>0" ends the month `to`.
    const std::string to = period.to.empty()
                               ? absl::StrCat(scope, std::string(1, kind), "0")
                               : absl::StrCat(head, period.to, "0");
    FL_RETURN_IF_ERROR(counters.ScanCounters(
        from, to, [&](absl::string_view key, int64_t value) {
          if (value == 0) return true;
          // "<YYYY-MM>/<NN>/<category>"
          const absl::string_view rest = key.substr(head.size());
          Counter c{kind, "", 0, "", value};
          if (rest.size() < 12 || rest[7] != '/' || rest[10] != '/' ||
              !absl::SimpleAtoi(rest.substr(8, 2), &c.code)) {
            bad = absl::DataLossError(
                absl::StrCat("unreadable report counter ", key));
            return false;
          }
          c.month = rest.substr(0, 7);
          c.category = rest.substr(11);
          if (!category.empty() && c.category != category) return true;
          if (unit_officer) {
            if (kind == 's' && c.code < v1::CASE_STATUS_ASSIGNED) return true;
            if (kind == 'f' &&
                (c.code == static_cast<int>(Flow::kReported) ||
                 c.code == static_cast<int>(Flow::kDismissedDuplicate) ||
                 c.code == static_cast<int>(Flow::kDismissedRejected))) {
              return true;
            }
          }
          if (c.code < 0 || (kind == 's' && c.code >= kStatusCount) ||
              (kind == 'f' && c.code > kMaxFlow)) {
            return true;  // written by a newer node; not ours to show
          }
          fn(c);
          return true;
        }));
    FL_RETURN_IF_ERROR(bad);
  }
  return absl::OkStatus();
}

// Overdue cases by category: open, with the deadline in force before now.
using OverdueCounts = std::map<std::string, int64_t, std::less<>>;

int64_t Sum(const OverdueCounts& counts) {
  int64_t sum = 0;
  for (const auto& [category, n] : counts) sum += n;
  return sum;
}

// The overdue cases of a scope, of `category` only when it is not empty:
// the daily counters of the days before today, plus today's deadline index
// entries before now, whose cases are read for their category (and, for a
// unit, whether they count under it).
absl::StatusOr<OverdueCounts> Overdue(CaseReader& cases, ReportReader& counters,
                                      const Registry& reg,
                                      absl::string_view region,
                                      absl::string_view unit,
                                      absl::string_view category,
                                      absl::Time now) {
  const std::string days =
      absl::StrCat(unit.empty() ? RegionScope(region) : UnitScope(unit), "d/");
  OverdueCounts overdue;
  FL_RETURN_IF_ERROR(counters.ScanCounters(
      days, absl::StrCat(days, DayOf(now)),
      [&](absl::string_view key, int64_t value) {
        const absl::string_view of = key.substr(key.rfind('/') + 1);
        if (category.empty() || of == category) {
          overdue[std::string(of)] += value;
        }
        return true;
      }));
  const absl::Time today = absl::FromCivil(
      absl::CivilDay(absl::ToCivilDay(now, absl::UTCTimeZone())),
      absl::UTCTimeZone());
  CaseIndexScan scan;
  scan.index = CaseIndex::kDeadline;
  scan.region = unit.empty() ? std::string(region)
                             : reg.units.at(std::string(unit)).region_id();
  scan.time_from = absl::ToUnixSeconds(today);
  scan.time_to = absl::ToUnixSeconds(now);
  scan.limit = 1000;
  for (;;) {
    FL_ASSIGN_OR_RETURN(CaseIndexPage page, cases.ScanCaseIndex(scan));
    for (const CaseIndexKey& k : page.keys) {
      FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c, cases.ReadCase(k.case_id));
      if (!c || (!unit.empty() && CountingUnit(*c) != unit) ||
          (!category.empty() && c->category_id() != category)) {
        continue;
      }
      ++overdue[c->category_id()];
    }
    if (!page.more) break;
    scan.resume = true;
    scan.after_time = page.last_time;
    scan.after_case_id = page.last_case_id;
  }
  return overdue;
}

// Overdue of a base (every root when it is empty).
absl::StatusOr<OverdueCounts> BaseOverdue(CaseReader& cases,
                                          ReportReader& counters,
                                          const Registry& reg, const Base& base,
                                          absl::string_view category,
                                          absl::Time now) {
  if (!base.unit.empty() || !base.region.empty()) {
    return Overdue(cases, counters, reg, base.region, base.unit, category, now);
  }
  OverdueCounts sum;
  for (const std::string& id : reg.region_ids) {
    if (!reg.regions.at(id).parent_id().empty()) continue;
    FL_ASSIGN_OR_RETURN(OverdueCounts root,
                        Overdue(cases, counters, reg, id, "", category, now));
    for (const auto& [of, n] : root) sum[of] += n;
  }
  return sum;
}

void Add(Sums& sums, const Counter& c) {
  if (c.kind == 's') {
    sums.stock[c.code] += c.value;
  } else {
    sums.flows[c.code] += c.value;
  }
}

// One group of a report: the scope it reads, and its key for the region or
// unit dimension (empty for neither).
struct Group {
  std::string region;  // set for a region group, and a unit's region
  std::string unit;
  std::string region_key;
  std::string unit_key;
};

// The groups a region and/or unit dimension splits the base into.
absl::StatusOr<std::vector<Group>> Groups(const Registry& reg, const Base& base,
                                          bool by_region, bool by_unit,
                                          std::optional<uint32_t> level) {
  std::vector<Group> groups;
  size_t depth = 0;
  if (by_region) {
    const size_t base_depth = base.region.empty() ? 0 : reg.Depth(base.region);
    depth = level ? *level : base.region.empty() ? 0 : base_depth + 1;
    if (depth < base_depth) {
      return absl::InvalidArgumentError(
          absl::StrCat("region_level: must be at least ", base_depth,
                       ", the depth of the region reported on"));
    }
  }
  auto in_base = [&](absl::string_view region) {
    return base.region.empty() || reg.Within(region, base.region);
  };
  if (by_unit) {
    for (const std::string& id : reg.unit_ids) {
      const v1::Unit& unit = reg.units.at(id);
      if (!base.unit.empty() ? id != base.unit : !in_base(unit.region_id())) {
        continue;
      }
      Group g{unit.region_id(), id, "", id};
      if (by_region) {
        g.region_key = reg.AtDepth(unit.region_id(), depth);
        if (g.region_key.empty()) continue;
      }
      groups.push_back(std::move(g));
    }
    return groups;
  }
  for (const std::string& id : reg.region_ids) {
    if (reg.Depth(id) == depth && in_base(id)) {
      groups.push_back({id, "", id, ""});
    }
  }
  return groups;
}

absl::Status CheckDimensions(const v1::GetReportRequest& request) {
  if (request.by_size() > 2) {
    return absl::InvalidArgumentError("by: at most 2 dimensions");
  }
  for (int i = 0; i < request.by_size(); ++i) {
    const int d = request.by(i);
    if (d == v1::REPORT_DIMENSION_UNSPECIFIED ||
        !v1::ReportDimension_IsValid(d)) {
      return absl::InvalidArgumentError(
          absl::StrCat("by[", i, "]: unknown dimension ", d));
    }
    if (i == 1 && request.by(0) == d) {
      return absl::InvalidArgumentError("by[1]: repeats by[0]");
    }
  }
  return absl::OkStatus();
}

std::string StatusKey(int code) {
  return CaseStatusName(static_cast<v1::CaseStatus>(code));
}

}  // namespace

absl::StatusOr<v1::GetReportResponse> GetReport(
    CaseReader& cases, ReportReader& counters, const CaseViewer& viewer,
    const v1::GetReportRequest& request, absl::Time now) {
  FL_RETURN_IF_ERROR(CheckDimensions(request));
  FL_ASSIGN_OR_RETURN(Period period,
                      CheckPeriod(request.period_from(), request.period_to()));
  FL_ASSIGN_OR_RETURN(Registry reg, LoadRegistry(counters));
  if (!request.category_id().empty()) {
    FL_ASSIGN_OR_RETURN(auto category,
                        cases.ReadCategory(request.category_id()));
    if (!category) {
      return absl::NotFoundError(absl::StrCat("category_id: no category \"",
                                              request.category_id(), "\""));
    }
  }
  FL_ASSIGN_OR_RETURN(Base base, ResolveBase(reg, viewer, request.region_id(),
                                             request.unit_id()));
  auto by = [&](v1::ReportDimension d) {
    return std::find(request.by().begin(), request.by().end(), d) !=
           request.by().end();
  };
  const bool by_region = by(v1::REPORT_DIMENSION_REGION);
  const bool by_unit = by(v1::REPORT_DIMENSION_UNIT);
  const bool by_status = by(v1::REPORT_DIMENSION_STATUS);
  if (by_region && !base.unit.empty()) {
    return absl::InvalidArgumentError(
        "unit_id: a report on one unit has no region dimension");
  }
  std::optional<uint32_t> level;
  if (request.has_region_level()) level = request.region_level();
  // Overdue is per region, unit and category, not per status or month.
  bool with_overdue = true;
  for (int d : request.by()) {
    if (d == v1::REPORT_DIMENSION_STATUS || d == v1::REPORT_DIMENSION_MONTH) {
      with_overdue = false;
    }
  }

  v1::GetReportResponse reply;
  *reply.mutable_by() = request.by();
  reply.mutable_as_of()->set_seconds(absl::ToUnixSeconds(now));

  // Rows by their keys (status as its number, so statuses sort in order).
  std::map<std::vector<std::string>, Sums> rows;
  auto row_keys = [&](const Group& g, const Counter& c) {
    std::vector<std::string> keys;
    for (int d : request.by()) {
      switch (d) {
        case v1::REPORT_DIMENSION_REGION:
          keys.push_back(g.region_key);
          break;
        case v1::REPORT_DIMENSION_UNIT:
          keys.push_back(g.unit_key);
          break;
        case v1::REPORT_DIMENSION_CATEGORY:
          keys.emplace_back(c.category);
          break;
        case v1::REPORT_DIMENSION_STATUS:
          keys.push_back(absl::StrCat(c.code));
          break;
        case v1::REPORT_DIMENSION_MONTH:
          keys.emplace_back(c.month);
          break;
      }
    }
    return keys;
  };

  // The total, from the base's own scopes.
  Sums total;
  const bool grouped = by_region || by_unit;
  for (const std::string& scope : BaseScopes(reg, base)) {
    FL_RETURN_IF_ERROR(ReadScope(counters, scope, period, base.unit_officer,
                                 request.category_id(),
                                 /*with_flows=*/true, [&](const Counter& c) {
                                   Add(total, c);
                                   if (!grouped && request.by_size() > 0 &&
                                       !(by_status && c.kind == 'f')) {
                                     Add(rows[row_keys(Group{}, c)], c);
                                   }
                                 }));
  }
  // Adds a group's overdue counts to its rows (one per category when the
  // report is by category).
  auto add_overdue = [&](const Group& g, const OverdueCounts& overdue) {
    if (!by(v1::REPORT_DIMENSION_CATEGORY)) {
      Sums& row = rows[row_keys(g, Counter{})];
      row.overdue = row.overdue.value_or(0) + Sum(overdue);
      return;
    }
    for (const auto& [category, n] : overdue) {
      Counter c{};
      c.category = category;
      Sums& row = rows[row_keys(g, c)];
      row.overdue = row.overdue.value_or(0) + n;
    }
  };
  FL_ASSIGN_OR_RETURN(
      const OverdueCounts base_overdue,
      BaseOverdue(cases, counters, reg, base, request.category_id(), now));
  total.overdue = Sum(base_overdue);
  *reply.mutable_total() = ToFigures(total);
  if (!grouped && request.by_size() > 0 && with_overdue) {
    add_overdue(Group{}, base_overdue);
  }

  if (grouped) {
    FL_ASSIGN_OR_RETURN(std::vector<Group> groups,
                        Groups(reg, base, by_region, by_unit, level));
    for (const Group& g : groups) {
      const std::string scope =
          g.unit.empty() ? RegionScope(g.region) : UnitScope(g.unit);
      // Flows have no status: rows by status carry case counts only.
      FL_RETURN_IF_ERROR(ReadScope(
          counters, scope, period, base.unit_officer, request.category_id(),
          /*with_flows=*/!by_status,
          [&](const Counter& c) { Add(rows[row_keys(g, c)], c); }));
      if (with_overdue) {
        FL_ASSIGN_OR_RETURN(const OverdueCounts overdue,
                            Overdue(cases, counters, reg, g.region, g.unit,
                                    request.category_id(), now));
        add_overdue(g, overdue);
      }
    }
  }

  absl::flat_hash_map<std::string, std::string> category_names;
  for (const auto& [keys, sums] : rows) {
    if (sums.Empty()) continue;
    v1::ReportRow* row = reply.add_rows();
    for (int i = 0; i < request.by_size(); ++i) {
      std::string key = keys[i];
      std::string name = key;
      switch (request.by(i)) {
        case v1::REPORT_DIMENSION_REGION:
          if (auto it = reg.regions.find(key); it != reg.regions.end()) {
            name = it->second.name();
          }
          break;
        case v1::REPORT_DIMENSION_UNIT:
          if (auto it = reg.units.find(key); it != reg.units.end()) {
            name = it->second.name();
          }
          break;
        case v1::REPORT_DIMENSION_CATEGORY: {
          auto [it, fresh] = category_names.try_emplace(key, key);
          if (fresh) {
            FL_ASSIGN_OR_RETURN(auto category, cases.ReadCategory(key));
            if (category) it->second = category->name();
          }
          name = it->second;
          break;
        }
        case v1::REPORT_DIMENSION_STATUS: {
          int code = 0;
          (void)absl::SimpleAtoi(key, &code);
          key = name = StatusKey(code);
          break;
        }
        default:
          break;
      }
      row->add_keys(std::move(key));
      row->add_names(std::move(name));
    }
    *row->mutable_figures() = ToFigures(sums);
  }
  return reply;
}

absl::StatusOr<v1::RankUnitsResponse> RankUnits(
    CaseReader& cases, ReportReader& counters, const CaseViewer& viewer,
    const v1::RankUnitsRequest& request, absl::Time now) {
  if (request.by() == v1::RANK_BY_UNSPECIFIED ||
      !v1::RankBy_IsValid(request.by())) {
    return absl::InvalidArgumentError(
        absl::StrCat("by: unknown order ", request.by()));
  }
  if (request.limit() > 1000) {
    return absl::InvalidArgumentError("limit: must be at most 1000");
  }
  const size_t limit = request.limit() == 0 ? 20 : request.limit();
  FL_ASSIGN_OR_RETURN(Period period,
                      CheckPeriod(request.period_from(), request.period_to()));
  FL_ASSIGN_OR_RETURN(Registry reg, LoadRegistry(counters));
  FL_ASSIGN_OR_RETURN(Base base,
                      ResolveBase(reg, viewer, request.region_id(), ""));
  FL_ASSIGN_OR_RETURN(std::vector<Group> groups,
                      Groups(reg, base, false, true, std::nullopt));
  v1::RankUnitsResponse reply;
  for (const Group& g : groups) {
    Sums sums;
    FL_RETURN_IF_ERROR(ReadScope(counters, UnitScope(g.unit), period,
                                 base.unit_officer, "", /*with_flows=*/true,
                                 [&](const Counter& c) { Add(sums, c); }));
    FL_ASSIGN_OR_RETURN(
        const OverdueCounts overdue,
        Overdue(cases, counters, reg, g.region, g.unit, "", now));
    v1::UnitRank rank;
    rank.set_unit_id(g.unit);
    rank.set_unit_name(reg.units.at(g.unit).name());
    rank.set_open(U(sums.Open()));
    rank.set_overdue(U(Sum(overdue)));
    rank.set_evaluated_unsatisfied(U(sums.Flow(Flow::kEvaluatedUnsatisfied)));
    rank.set_evaluated(U(sums.Flow(Flow::kEvaluatedSatisfied) +
                         sums.Flow(Flow::kEvaluatedBasicallySatisfied) +
                         sums.Flow(Flow::kEvaluatedUnsatisfied)));
    const bool counted = request.by() == v1::RANK_BY_OPEN ? rank.open() > 0
                         : request.by() == v1::RANK_BY_OVERDUE
                             ? rank.overdue() > 0
                             : rank.evaluated_unsatisfied() > 0;
    if (counted) *reply.add_units() = std::move(rank);
  }
  auto worse = [&](const v1::UnitRank& a, const v1::UnitRank& b) {
    switch (request.by()) {
      case v1::RANK_BY_OPEN:
        if (a.open() != b.open()) return a.open() > b.open();
        break;
      case v1::RANK_BY_OVERDUE:
        if (a.overdue() != b.overdue()) return a.overdue() > b.overdue();
        break;
      default: {
        // Shares compared without division: a.u/a.e > b.u/b.e.
        const double l = static_cast<double>(a.evaluated_unsatisfied()) *
                         static_cast<double>(b.evaluated());
        const double r = static_cast<double>(b.evaluated_unsatisfied()) *
                         static_cast<double>(a.evaluated());
        if (l != r) return l > r;
        if (a.evaluated_unsatisfied() != b.evaluated_unsatisfied()) {
          return a.evaluated_unsatisfied() > b.evaluated_unsatisfied();
        }
        break;
      }
    }
    return a.unit_id() < b.unit_id();
  };
  std::sort(reply.mutable_units()->begin(), reply.mutable_units()->end(),
            worse);
  while (static_cast<size_t>(reply.units_size()) > limit) {
    reply.mutable_units()->RemoveLast();
  }
  return reply;
}

absl::StatusOr<v1::ListOverdueResponse> ListOverdue(
    CaseReader& cases, const CaseViewer& viewer,
    const v1::ListOverdueRequest& request, absl::Time now) {
  if (viewer.kind == CaseViewer::Kind::kNone) {
    return absl::PermissionDeniedError("this role gets no reports");
  }
  v1::ListCasesRequest list;
  list.set_region_id(request.region_id());
  list.set_unit_id(request.unit_id());
  list.set_category_id(request.category_id());
  list.set_overdue(true);
  list.set_page_size(request.page_size());
  list.set_page_cursor(request.page_cursor());
  FL_ASSIGN_OR_RETURN(v1::ListCasesResponse page,
                      ListCases(cases, viewer, list, now));
  v1::ListOverdueResponse reply;
  for (v1::Case& c : *page.mutable_cases()) {
    v1::OverdueCase* out = reply.add_cases();
    out->set_days_late((absl::ToUnixSeconds(now) - c.deadline().seconds()) /
                       86400);
    *out->mutable_case_() = std::move(c);
  }
  reply.set_next_page_cursor(page.next_page_cursor());
  return reply;
}

}  // namespace fieldledger
