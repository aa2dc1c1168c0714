// The case state machine: which step is allowed in which status, what a
// supervision action turns into (an event), and how an event changes a Case.
// Pure functions of their arguments: no Txn, no clock, no I/O.
//
//   // Deciding (the writer, with the case it just read):
//   FL_ASSIGN_OR_RETURN(v1::Event event,
//                       DecideCaseAction(current, action, actor, now, limits));
//   // Applying (the projection, for new events and for recomputation):
//   FL_RETURN_IF_ERROR(ApplyCaseEvent(event, current));
//
// Errors, each naming what is wrong:
// - INVALID_ARGUMENT "assign.deadline: must be after ..." for bad input, with
//   the field path relative to v1::CaseAction;
// - ABORTED "case <id> is at version N, expected M" when the caller's
//   expected_version is stale;
// - FAILED_PRECONDITION "case <id> is <status>; cannot <step>" for a step the
//   case's status does not allow.
//
// Thread-safe: no shared state.
#ifndef FIELDLEDGER_CORE_CASE_H_
#define FIELDLEDGER_CORE_CASE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/limits.h"
#include "fieldledger/v1/case.pb.h"
#include "fieldledger/v1/event.pb.h"
#include "fieldledger/v1/finding.pb.h"

namespace fieldledger {

namespace v1 = ::fieldledger::v1;

// Everything that can happen to a case: the seven CaseAction steps, plus the
// reporter's amendment and withdrawal of the finding (which come through
// FieldSync).
enum class CaseStep {
  kAccept,
  kDismiss,
  kAssign,
  kSubmitRectification,
  kEvaluate,
  kClose,
  kEscalate,
  kAmend,
  kWithdraw,
};
inline constexpr CaseStep kAllCaseSteps[] = {
    CaseStep::kAccept,   CaseStep::kDismiss,
    CaseStep::kAssign,   CaseStep::kSubmitRectification,
    CaseStep::kEvaluate, CaseStep::kClose,
    CaseStep::kEscalate, CaseStep::kAmend,
    CaseStep::kWithdraw,
};

// The step's name as in CaseAction ("submit_rectification"), or "amend",
// "withdraw".
absl::string_view CaseStepName(CaseStep step);

// "rectification_submitted" for CASE_STATUS_RECTIFICATION_SUBMITTED; the
// number for a value this build does not know.
std::string CaseStatusName(v1::CaseStatus status);

// The transition table. The status a case in `current` moves to by `step`;
// `rating` matters for kEvaluate only (unsatisfied goes back to assigned,
// satisfied and basically satisfied to evaluated; unspecified is refused
// with INVALID_ARGUMENT "evaluate.rating"). FAILED_PRECONDITION
// "case <case_id> is <status>; cannot <step>" when the step is not allowed.
absl::StatusOr<v1::CaseStatus> NextStatus(
    absl::string_view case_id, v1::CaseStatus current, CaseStep step,
    v1::Rating rating = v1::RATING_UNSPECIFIED);

// Accepted, assigned, rectification submitted or evaluated: past triage and
// not yet closed. Escalation is allowed exactly then.
bool IsOpen(v1::CaseStatus status);

// A deadline is in force (the case was assigned), it is before `now`, and the
// case is not closed. Never stored; the deadline index makes it a range scan.
bool IsOverdue(const v1::Case& c, absl::Time now);

// What the reporter is shown for a case in `status` (one FindingStatus per
// CaseStatus).
v1::FindingStatus FindingStatusOf(v1::CaseStatus status);

// Checks `action` on its own: a step is set, every field it needs is present
// and well-formed, deadlines lie after `now`. References to other items
// (units, cases) are the caller's to check; see ApplyCaseAction.
absl::Status ValidateCaseAction(const v1::CaseAction& action, absl::Time now,
                                const Limits& limits);

// Decides what `action` by `actor` does to the case `current` (whose id is
// action.case_id): ValidateCaseAction, then the version, then the status
// (and FAILED_PRECONDITION for an escalation past
// limits.max_escalations_per_case).
// Returns the event to append (body, actor and recorded_at = `now` set; seq
// not), with the server's fields filled in: times, rounds. INTERNAL when
// `current` is another case.
absl::StatusOr<v1::Event> DecideCaseAction(const v1::Case& current,
                                           const v1::CaseAction& action,
                                           absl::string_view actor,
                                           absl::Time now,
                                           const Limits& limits);

// The case a finding_reported event opens: status reported, version 1,
// the finding's evidence references in `evidence`.
// `region_path` holds the finding's unit's regions, root first.
v1::Case NewCase(const v1::Event& reported,
                 std::vector<std::string> region_path);

// The case event, finding_amended or finding_withdrawn `event` applied to
// `c`, which must be the case it names: the status per NextStatus, the
// step's data, version + 1, updated_seq and updated_at. An amendment
// replaces the finding's evidence references; a rectification report adds
// its references not yet in c.evidence. For an amendment
// that moves the finding to another unit the caller also sets region_path.
// INTERNAL (and `c` unchanged) when the event names another case or its step
// is not allowed in c's status: a log that does not fit the state.
absl::Status ApplyCaseEvent(const v1::Event& event, v1::Case& c);

// Sets each c.evidence[i].complete by `is_complete(sha256)` and
// c.evidence_pending when one is not; the first error of `is_complete`
// is returned (and `c` is then partly marked).
absl::Status MarkEvidenceState(
    v1::Case& c,
    const std::function<absl::StatusOr<bool>(absl::string_view sha256)>&
        is_complete);

// The case a case event or finding event names; empty for other events.
absl::string_view CaseIdOf(const v1::Event& event);

// The secondary indexes over cases, kept by Txn::PutCase. Each entry is
// (index, scope, status, time, case id) and an index is ordered by them, so
// a listing is a range scan of one (index, scope, status) prefix.
//
// Only kStatus has the case's status in its keys: a step that changes the
// status rewrites that one entry, whatever the number of regions above the
// case. The other indexes have status CASE_STATUS_UNSPECIFIED in every
// entry; their entries change only with what their scope and time name.
// kStatus and kDeadline hold one entry per case, with the case's region
// path as the value, so that a scan can keep one subtree's entries without
// reading the cases.
enum class CaseIndex : uint8_t {
  // Every case, under each region of its region_path (so a region's scan
  // covers its subtree): (region id, -, reported_at).
  kRegion = 1,
  // Every case under its inspected unit: (unit id, -, reported_at).
  kUnit = 2,
  // Cases with an assignment, under the responsible unit:
  // (assignment.unit_id, -, reported_at).
  kResponsibleUnit = 3,
  // Cases with a deadline in force and not closed: ("", -, deadline). The
  // overdue cases are the entries with time < now.
  kDeadline = 4,
  // Every case under its status: ("", status, reported_at).
  kStatus = 5,
};

struct CaseIndexKey {
  CaseIndex index;
  // A region id or a unit id; empty for kDeadline and kStatus.
  std::string scope;
  v1::CaseStatus status;
  // Unix seconds: reported_at, or the deadline for kDeadline.
  int64_t time;
  std::string case_id;
  // kDeadline and kStatus: the case's region_path, root first. Stored as
  // the entry's value; not part of the key, its order or its equality.
  std::vector<std::string> regions = {};

  friend bool operator<(const CaseIndexKey& a, const CaseIndexKey& b) {
    return std::tie(a.index, a.scope, a.status, a.time, a.case_id) <
           std::tie(b.index, b.scope, b.status, b.time, b.case_id);
  }
  friend bool operator==(const CaseIndexKey& a, const CaseIndexKey& b) {
    return std::tie(a.index, a.scope, a.status, a.time, a.case_id) ==
           std::tie(b.index, b.scope, b.status, b.time, b.case_id);
  }
};

// The index entries `c` has, sorted and without duplicates.
std::vector<CaseIndexKey> CaseIndexKeys(const v1::Case& c);

// What replacing the entries of `before` (null: none) by those of `after`
// takes: the entries to remove, and those to write (new ones, and kept ones
// whose regions change). A step that leaves the case in its place (unit,
// regions, report time) only compares the entries of the indexes with one
// entry per case.
struct CaseIndexChanges {
  std::vector<CaseIndexKey> remove;
  std::vector<CaseIndexKey> put;
};
CaseIndexChanges ChangeCaseIndex(const v1::Case* before,
                                 const v1::Case& after);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_CASE_H_
