#include "core/aggregates.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "core/case.h"

namespace fieldledger {
namespace {

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Hand-rolled: this runs several times per event on the writer thread, and
// absl::FormatTime parses its format and looks up the zone on every call.
std::string TwoDigits(int n) {
  return std::string{static_cast<char>('0' + n / 10 % 10),
                     static_cast<char>('0' + n % 10)};
}

// The stock counter and the deadline counter (empty when it has none) a
// case in state `c` holds one of under each of its scopes, without the scope.
struct StockTails {
  std::string stock;
  std::string deadline;
};

StockTails StockTailsOf(const v1::Case& c) {
  StockTails tails;
  tails.stock = absl::StrCat("s/", MonthOf(TimeOf(c.reported_at())), "/",
                             TwoDigits(static_cast<int>(c.status())), "/",
                             c.category_id());
  if (c.has_deadline() && IsOpen(c.status())) {
    tails.deadline = absl::StrCat(
        "d/", DayOf(absl::FromUnixSeconds(c.deadline().seconds())), "/",
        c.category_id());
  }
  return tails;
}

// Adds `delta` to counter `tail` under each of `scopes`; nothing for an
// empty tail.
void AddUnder(const std::vector<std::string>& scopes, absl::string_view tail,
              int64_t delta, std::vector<CounterDelta>& out) {
  if (tail.empty()) return;
  for (const std::string& scope : scopes) {
    out.push_back({absl::StrCat(scope, tail), delta});
  }
}

// What the step from `before` to `after` did, as flows.
std::vector<Flow> FlowsOf(const v1::Case* before, const v1::Case& after) {
  std::vector<Flow> flows;
  if (before == nullptr) {
    flows.push_back(Flow::kReported);
    return flows;
  }
  const v1::CaseStatus was = before->status(), is = after.status();
  if (was == v1::CASE_STATUS_ACCEPTED && is == v1::CASE_STATUS_ASSIGNED) {
    flows.push_back(Flow::kAssigned);
  }
  if (was != is && is == v1::CASE_STATUS_RECTIFICATION_SUBMITTED) {
    flows.push_back(Flow::kRectificationReported);
  }
  if (was == v1::CASE_STATUS_RECTIFICATION_SUBMITTED && was != is) {
    switch (after.last_evaluation().rating()) {
      case v1::RATING_SATISFIED:
        flows.push_back(Flow::kEvaluatedSatisfied);
        break;
      case v1::RATING_BASICALLY_SATISFIED:
        flows.push_back(Flow::kEvaluatedBasicallySatisfied);
        break;
      case v1::RATING_UNSATISFIED:
        flows.push_back(Flow::kEvaluatedUnsatisfied);
        break;
      default:
        break;
    }
  }
  if (was != is && is == v1::CASE_STATUS_CLOSED) {
    flows.push_back(Flow::kClosed);
    if (!after.has_deadline() ||
        TimeOf(after.closed_at()) <= TimeOf(after.deadline())) {
      flows.push_back(Flow::kClosedOnTime);
    }
  }
  if (was != is && is == v1::CASE_STATUS_DISMISSED) {
    flows.push_back(after.dismissal().reason() == v1::DISMISSAL_REASON_DUPLICATE
                        ? Flow::kDismissedDuplicate
                        : Flow::kDismissedRejected);
  }
  if (after.escalations_size() > before->escalations_size()) {
    switch (after.escalations(after.escalations_size() - 1).kind()) {
      case v1::ESCALATION_KIND_TALK:
        flows.push_back(Flow::kEscalatedTalk);
        break;
      case v1::ESCALATION_KIND_PUBLIC_NOTICE:
        flows.push_back(Flow::kEscalatedPublicNotice);
        break;
      case v1::ESCALATION_KIND_DISCIPLINE:
        flows.push_back(Flow::kEscalatedDiscipline);
        break;
      default:
        break;
    }
  }
  return flows;
}

}  // namespace

std::string RegionScope(absl::string_view region_id) {
  return absl::StrCat("r/", region_id, "/");
}

std::string UnitScope(absl::string_view unit_id) {
  return absl::StrCat("u/", unit_id, "/");
}

const std::string& CountingUnit(const v1::Case& c) {
  return c.assignment().unit_id().empty() ? c.unit_id()
                                          : c.assignment().unit_id();
}

std::vector<std::string> CounterScopes(const v1::Case& c) {
  std::vector<std::string> scopes;
  scopes.reserve(c.region_path_size() + 1);
  for (const std::string& region : c.region_path()) {
    scopes.push_back(RegionScope(region));
  }
  scopes.push_back(UnitScope(CountingUnit(c)));
  return scopes;
}

std::string MonthOf(absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, absl::UTCTimeZone());
  return absl::StrCat(day.year(), "-", TwoDigits(day.month()));
}

std::string DayOf(absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, absl::UTCTimeZone());
  return absl::StrCat(day.year(), "-", TwoDigits(day.month()), "-",
                      TwoDigits(day.day()));
}

std::vector<CounterDelta> CounterDeltas(const v1::Case* before,
                                        const v1::Case& after) {
  std::vector<CounterDelta> all;
  const std::vector<std::string> scopes = CounterScopes(after);
  const StockTails is = StockTailsOf(after);
  if (before == nullptr) {
    AddUnder(scopes, is.stock, 1, all);
    AddUnder(scopes, is.deadline, 1, all);
  } else {
    // Most steps keep the scopes and change one tail: only that one moves.
    const bool same_scopes =
        CountingUnit(*before) == CountingUnit(after) &&
        std::equal(before->region_path().begin(), before->region_path().end(),
                   after.region_path().begin(), after.region_path().end());
    const std::vector<std::string> moved_from =
        same_scopes ? std::vector<std::string>() : CounterScopes(*before);
    const std::vector<std::string>& was_scopes =
        same_scopes ? scopes : moved_from;
    const StockTails was = StockTailsOf(*before);
    for (const auto& [from, to] : {std::pair(&was.stock, &is.stock),
                                   std::pair(&was.deadline, &is.deadline)}) {
      if (same_scopes && *from == *to) continue;
      AddUnder(was_scopes, *from, -1, all);
      AddUnder(scopes, *to, 1, all);
    }
  }
  const std::vector<Flow> flows = FlowsOf(before, after);
  if (!flows.empty()) {
    const std::string month = MonthOf(TimeOf(after.updated_at()));
    for (Flow flow : flows) {
      AddUnder(scopes,
               absl::StrCat("f/", month, "/", TwoDigits(static_cast<int>(flow)),
                            "/", after.category_id()),
               1, all);
    }
  }
  // Merged by key: a sorted vector, cheaper than a map for these few keys.
  std::sort(all.begin(), all.end(),
            [](const CounterDelta& a, const CounterDelta& b) {
              return a.key < b.key;
            });
  std::vector<CounterDelta> out;
  out.reserve(all.size());
  for (CounterDelta& d : all) {
    if (!out.empty() && out.back().key == d.key) {
      out.back().delta += d.delta;
    } else {
      if (!out.empty() && out.back().delta == 0) out.pop_back();
      out.push_back(std::move(d));
    }
  }
  if (!out.empty() && out.back().delta == 0) out.pop_back();
  return out;
}

void AddDeltas(const std::vector<CounterDelta>& deltas,
               std::map<std::string, int64_t>& counters) {
  for (const CounterDelta& d : deltas) counters[d.key] += d.delta;
}

}  // namespace fieldledger
