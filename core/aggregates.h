// Aggregates: the report counters, as deltas derived from one case's state
// before and after an event. Pure: no Txn, no clock, no I/O.
//
//   // In the projection, beside Txn::PutCase(before, after):
//   FL_RETURN_IF_ERROR(txn.AddToCounters(CounterDeltas(before, after)));
//
// Every counter exists once per *scope* the case falls in: each region of its
// region_path ("r/<region>/", so a district's figure is one read, not a sum
// over its towns) and its unit ("u/<unit>/": the responsible unit once
// assigned, the inspected unit before). Under a scope:
//   s/<YYYY-MM>/<status, 2 digits>/<category>  cases reported in that month
//                                              and now in that status (stock)
//   f/<YYYY-MM>/<Flow, 2 digits>/<category>    things that happened in that
//                                              month (flows)
//   d/<YYYY-MM-DD>/<category>                  open cases whose deadline in
//                                              force falls on that UTC day
// Ids are [A-Za-z0-9._-], so '/' separates fields unambiguously and a scope's
// counters are one prefix.
//
// Thread-safe: no shared state.
#ifndef FIELDLEDGER_CORE_AGGREGATES_H_
#define FIELDLEDGER_CORE_AGGREGATES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fieldledger/v1/case.pb.h"

namespace fieldledger {

namespace v1 = ::fieldledger::v1;

// What a flow counter counts (its number is part of the key).
enum class Flow : int {
  kReported = 1,  // a finding reported (an inspection's result)
  kAssigned = 2,  // first assignment (交办)
  kRectificationReported = 3,
  kClosed = 4,
  kClosedOnTime = 5,  // closed no later than the deadline in force
  kEvaluatedSatisfied = 6,
  kEvaluatedBasicallySatisfied = 7,
  kEvaluatedUnsatisfied = 8,
  kEscalatedTalk = 9,
  kEscalatedPublicNotice = 10,
  kEscalatedDiscipline = 11,
  kDismissedDuplicate = 12,
  kDismissedRejected = 13,
};
inline constexpr int kMaxFlow = 13;

struct CounterDelta {
  std::string key;
  int64_t delta;
};

// The scope prefixes of a case: "r/<id>/" for each region of its path, then
// "u/<unit>/".
std::vector<std::string> CounterScopes(const v1::Case& c);
std::string RegionScope(absl::string_view region_id);
std::string UnitScope(absl::string_view unit_id);
// The unit a case counts under: assignment.unit_id once assigned, else
// unit_id.
const std::string& CountingUnit(const v1::Case& c);

// "YYYY-MM" and "YYYY-MM-DD" of a time, in UTC.
std::string MonthOf(absl::Time t);
std::string DayOf(absl::Time t);

// The counter changes that moving a case from `before` (null: the case is
// new) to `after` makes, merged by key, without zero deltas, sorted by key.
std::vector<CounterDelta> CounterDeltas(const v1::Case* before,
                                        const v1::Case& after);

// Adds `deltas` to `counters`; keys whose sum is 0 are kept (a merge
// operator keeps them too), so both sides of a comparison agree.
void AddDeltas(const std::vector<CounterDelta>& deltas,
               std::map<std::string, int64_t>& counters);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_AGGREGATES_H_
