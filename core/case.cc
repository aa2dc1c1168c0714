#include "core/case.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/validation.h"

namespace fieldledger {
namespace {

using ::google::protobuf::Timestamp;

// Deadlines further ahead than this are typing mistakes, not plans.
constexpr absl::Duration kMaxDeadlineAhead = absl::Hours(24 * 366 * 5);

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Time FromProto(const Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Whole seconds, like Event.recorded_at.
Timestamp ToProto(absl::Time t) {
  Timestamp out;
  out.set_seconds(absl::ToUnixSeconds(t));
  return out;
}

absl::Status ValidateDeadline(absl::string_view field, bool present,
                              const Timestamp& t, absl::Time now) {
  if (!present) return Invalid(field, "is required");
  if (t.nanos() < 0 || t.nanos() > 999999999) {
    return Invalid(field, "is not a valid time");
  }
  const absl::Time deadline = FromProto(t);
  if (deadline <= now) {
    return Invalid(field, absl::StrCat("must be after the current time (",
                                       absl::FormatTime(now), ")"));
  }
  if (deadline > now + kMaxDeadlineAhead) {
    return Invalid(field, "must be at most 5 years ahead");
  }
  return absl::OkStatus();
}

absl::Status ValidateRectification(const v1::Rectification& r,
                                   const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateText("submit_rectification.text", r.text(), 1,
                                  limits.max_detail_chars));
  return ValidateEvidenceRefs("submit_rectification.evidence", r.evidence(),
                              limits);
}

absl::Status ValidateAssignment(const v1::Assignment& a, absl::Time now,
                                const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateId("assign.unit_id", a.unit_id()));
  if (!a.has_person()) return Invalid("assign.person", "is required");
  FL_RETURN_IF_ERROR(ValidateText("assign.person.name", a.person().name(), 1,
                                  limits.max_name_chars));
  FL_RETURN_IF_ERROR(ValidateText("assign.person.post", a.person().post(), 1,
                                  limits.max_name_chars));
  FL_RETURN_IF_ERROR(
      ValidateDeadline("assign.deadline", a.has_deadline(), a.deadline(), now));
  if (a.mechanism() == v1::MECHANISM_UNSPECIFIED) {
    return Invalid("assign.mechanism", "is required");
  }
  if (!v1::Mechanism_IsValid(a.mechanism())) {
    return Invalid("assign.mechanism", "is not a known mechanism");
  }
  FL_RETURN_IF_ERROR(ValidateText("assign.assigned_by", a.assigned_by(), 1,
                                  limits.max_name_chars));
  return ValidateText("assign.note", a.note(), 0, limits.max_note_chars);
}

absl::Status ValidateDismissal(absl::string_view case_id,
                               const v1::Dismissal& d, const Limits& limits) {
  switch (d.reason()) {
    case v1::DISMISSAL_REASON_UNSPECIFIED:
      return Invalid("dismiss.reason", "is required");
    case v1::DISMISSAL_REASON_REJECTED:
      if (!d.duplicate_of().empty()) {
        return Invalid("dismiss.duplicate_of",
                       "is only for DISMISSAL_REASON_DUPLICATE");
      }
      return ValidateText("dismiss.note", d.note(), 1, limits.max_note_chars);
    case v1::DISMISSAL_REASON_DUPLICATE:
      if (d.duplicate_of().empty()) {
        return Invalid("dismiss.duplicate_of", "is required for a duplicate");
      }
      if (!IsUuidV7(d.duplicate_of())) {
        return Invalid("dismiss.duplicate_of",
                       "must be a case id (a UUIDv7 in lower-case text form)");
      }
      if (d.duplicate_of() == case_id) {
        return Invalid("dismiss.duplicate_of", "is the case itself");
      }
      return ValidateText("dismiss.note", d.note(), 0, limits.max_note_chars);
    default:
      return Invalid("dismiss.reason", "is not a known reason");
  }
}

absl::Status ValidateEvaluation(const v1::Evaluation& e, absl::Time now,
                                const Limits& limits) {
  if (e.rating() == v1::RATING_UNSPECIFIED) {
    return Invalid("evaluate.rating", "is required");
  }
  if (!v1::Rating_IsValid(e.rating())) {
    return Invalid("evaluate.rating", "is not a known rating");
  }
  const bool unsatisfied = e.rating() == v1::RATING_UNSATISFIED;
  FL_RETURN_IF_ERROR(ValidateText("evaluate.comment", e.comment(),
                                  unsatisfied ? 1 : 0, limits.max_note_chars));
  if (unsatisfied) {
    return ValidateDeadline("evaluate.new_deadline", e.has_new_deadline(),
                            e.new_deadline(), now);
  }
  if (e.has_new_deadline()) {
    return Invalid("evaluate.new_deadline",
                   "only an unsatisfied evaluation sets a new deadline");
  }
  return absl::OkStatus();
}

absl::Status ValidateEscalation(const v1::Escalation& e, const Limits& limits) {
  if (e.kind() == v1::ESCALATION_KIND_UNSPECIFIED) {
    return Invalid("escalate.kind", "is required");
  }
  if (!v1::EscalationKind_IsValid(e.kind())) {
    return Invalid("escalate.kind", "is not a known kind");
  }
  FL_RETURN_IF_ERROR(
      ValidateText("escalate.subject", e.subject(), 1, limits.max_name_chars));
  return ValidateText("escalate.detail", e.detail(), 0,
                      limits.max_detail_chars);
}

CaseStep StepOf(v1::CaseAction::ActionCase action) {
  switch (action) {
    case v1::CaseAction::kAccept:
      return CaseStep::kAccept;
    case v1::CaseAction::kDismiss:
      return CaseStep::kDismiss;
    case v1::CaseAction::kAssign:
      return CaseStep::kAssign;
    case v1::CaseAction::kSubmitRectification:
      return CaseStep::kSubmitRectification;
    case v1::CaseAction::kEvaluate:
      return CaseStep::kEvaluate;
    case v1::CaseAction::kClose:
      return CaseStep::kClose;
    case v1::CaseAction::kEscalate:
    case v1::CaseAction::ACTION_NOT_SET:  // refused by validation
      break;
  }
  return CaseStep::kEscalate;
}

}  // namespace

absl::string_view CaseStepName(CaseStep step) {
  switch (step) {
    case CaseStep::kAccept:
      return "accept";
    case CaseStep::kDismiss:
      return "dismiss";
    case CaseStep::kAssign:
      return "assign";
    case CaseStep::kSubmitRectification:
      return "submit_rectification";
    case CaseStep::kEvaluate:
      return "evaluate";
    case CaseStep::kClose:
      return "close";
    case CaseStep::kEscalate:
      return "escalate";
    case CaseStep::kAmend:
      return "amend";
    case CaseStep::kWithdraw:
      return "withdraw";
  }
  return "?";
}

std::string CaseStatusName(v1::CaseStatus status) {
  constexpr absl::string_view kPrefix = "CASE_STATUS_";
  const std::string& name = v1::CaseStatus_Name(status);
  if (name.size() <= kPrefix.size()) return absl::StrCat(status);
  return absl::AsciiStrToLower(name.substr(kPrefix.size()));
}

absl::StatusOr<v1::CaseStatus> NextStatus(absl::string_view case_id,
                                          v1::CaseStatus current, CaseStep step,
                                          v1::Rating rating) {
  auto from = [&](v1::CaseStatus allowed) { return current == allowed; };
  bool allowed = false;
  v1::CaseStatus next = current;
  switch (step) {
    case CaseStep::kAccept:
      allowed = from(v1::CASE_STATUS_REPORTED);
      next = v1::CASE_STATUS_ACCEPTED;
      break;
    case CaseStep::kDismiss:
      allowed = from(v1::CASE_STATUS_REPORTED);
      next = v1::CASE_STATUS_DISMISSED;
      break;
    case CaseStep::kAmend:
      allowed = from(v1::CASE_STATUS_REPORTED);
      break;
    case CaseStep::kWithdraw:
      allowed = from(v1::CASE_STATUS_REPORTED);
      next = v1::CASE_STATUS_WITHDRAWN;
      break;
    case CaseStep::kAssign:
      allowed = from(v1::CASE_STATUS_ACCEPTED);
      next = v1::CASE_STATUS_ASSIGNED;
      break;
    case CaseStep::kSubmitRectification:
      allowed = from(v1::CASE_STATUS_ASSIGNED);
      next = v1::CASE_STATUS_RECTIFICATION_SUBMITTED;
      break;
    case CaseStep::kEvaluate:
      allowed = from(v1::CASE_STATUS_RECTIFICATION_SUBMITTED);
      next = rating == v1::RATING_UNSATISFIED ? v1::CASE_STATUS_ASSIGNED
                                              : v1::CASE_STATUS_EVALUATED;
      break;
    case CaseStep::kClose:
      allowed = from(v1::CASE_STATUS_EVALUATED);
      next = v1::CASE_STATUS_CLOSED;
      break;
    case CaseStep::kEscalate:
      allowed = IsOpen(current);
      break;
  }
  if (!allowed) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", case_id, " is ", CaseStatusName(current),
                     "; cannot ", CaseStepName(step)));
  }
  if (step == CaseStep::kEvaluate && rating != v1::RATING_SATISFIED &&
      rating != v1::RATING_BASICALLY_SATISFIED &&
      rating != v1::RATING_UNSATISFIED) {
    return Invalid("evaluate.rating", "is required");
  }
  return next;
}

bool IsOpen(v1::CaseStatus status) {
  switch (status) {
    case v1::CASE_STATUS_ACCEPTED:
    case v1::CASE_STATUS_ASSIGNED:
    case v1::CASE_STATUS_RECTIFICATION_SUBMITTED:
    case v1::CASE_STATUS_EVALUATED:
      return true;
    default:
      return false;
  }
}

bool IsOverdue(const v1::Case& c, absl::Time now) {
  return c.has_deadline() && IsOpen(c.status()) &&
         FromProto(c.deadline()) < now;
}

v1::FindingStatus FindingStatusOf(v1::CaseStatus status) {
  switch (status) {
    case v1::CASE_STATUS_REPORTED:
      return v1::FINDING_STATUS_REPORTED;
    case v1::CASE_STATUS_ACCEPTED:
      return v1::FINDING_STATUS_ACCEPTED;
    case v1::CASE_STATUS_DISMISSED:
      return v1::FINDING_STATUS_DISMISSED;
    case v1::CASE_STATUS_WITHDRAWN:
      return v1::FINDING_STATUS_WITHDRAWN;
    case v1::CASE_STATUS_ASSIGNED:
      return v1::FINDING_STATUS_ASSIGNED;
    case v1::CASE_STATUS_RECTIFICATION_SUBMITTED:
      return v1::FINDING_STATUS_RECTIFICATION_SUBMITTED;
    case v1::CASE_STATUS_EVALUATED:
      return v1::FINDING_STATUS_EVALUATED;
    case v1::CASE_STATUS_CLOSED:
      return v1::FINDING_STATUS_CLOSED;
    default:
      return v1::FINDING_STATUS_UNSPECIFIED;
  }
}

absl::Status ValidateCaseAction(const v1::CaseAction& action, absl::Time now,
                                const Limits& limits) {
  if (!IsUuidV7(action.case_id())) {
    return Invalid("case_id",
                   "must be a case id (a UUIDv7 in lower-case text form)");
  }
  switch (action.action_case()) {
    case v1::CaseAction::kAccept:
      return ValidateText("accept.note", action.accept().note(), 0,
                          limits.max_note_chars);
    case v1::CaseAction::kDismiss:
      return ValidateDismissal(action.case_id(), action.dismiss(), limits);
    case v1::CaseAction::kAssign:
      return ValidateAssignment(action.assign(), now, limits);
    case v1::CaseAction::kSubmitRectification:
      return ValidateRectification(action.submit_rectification(), limits);
    case v1::CaseAction::kEvaluate:
      return ValidateEvaluation(action.evaluate(), now, limits);
    case v1::CaseAction::kClose:
      return ValidateText("close.note", action.close().note(), 0,
                          limits.max_note_chars);
    case v1::CaseAction::kEscalate:
      return ValidateEscalation(action.escalate(), limits);
    case v1::CaseAction::ACTION_NOT_SET:
      break;
  }
  return Invalid("action",
                 "is required (accept, dismiss, assign, submit_rectification, "
                 "evaluate, close or escalate)");
}

absl::StatusOr<v1::Event> DecideCaseAction(const v1::Case& current,
                                           const v1::CaseAction& action,
                                           absl::string_view actor,
                                           absl::Time now,
                                           const Limits& limits) {
  FL_RETURN_IF_ERROR(ValidateCaseAction(action, now, limits));
  if (action.case_id() != current.id()) {
    return absl::InternalError(absl::StrCat("action for case ",
                                            action.case_id(),
                                            " decided on case ", current.id()));
  }
  if (action.expected_version() != 0 &&
      action.expected_version() != current.version()) {
    return absl::AbortedError(absl::StrCat(
        "case ", current.id(), " is at version ", current.version(),
        ", expected ", action.expected_version()));
  }
  const CaseStep step = StepOf(action.action_case());
  FL_RETURN_IF_ERROR(NextStatus(current.id(), current.status(), step,
                                action.evaluate().rating())
                         .status());
  if (step == CaseStep::kEscalate &&
      static_cast<size_t>(current.escalations_size()) >=
          limits.max_escalations_per_case) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", current.id(), " has ", current.escalations_size(),
                     " escalations, the most a case holds"));
  }

  v1::Event event;
  *event.mutable_recorded_at() = ToProto(now);
  event.set_actor(std::string(actor));
  const std::string& id = current.id();
  switch (action.action_case()) {
    case v1::CaseAction::kAccept: {
      v1::CaseAccepted* body = event.mutable_case_accepted();
      body->set_case_id(id);
      body->set_note(action.accept().note());
      break;
    }
    case v1::CaseAction::kDismiss: {
      v1::CaseDismissed* body = event.mutable_case_dismissed();
      body->set_case_id(id);
      *body->mutable_dismissal() = action.dismiss();
      break;
    }
    case v1::CaseAction::kAssign: {
      v1::CaseAssigned* body = event.mutable_case_assigned();
      body->set_case_id(id);
      *body->mutable_assignment() = action.assign();
      *body->mutable_assignment()->mutable_assigned_at() = ToProto(now);
      break;
    }
    case v1::CaseAction::kSubmitRectification: {
      v1::RectificationSubmitted* body =
          event.mutable_rectification_submitted();
      body->set_case_id(id);
      *body->mutable_rectification() = action.submit_rectification();
      *body->mutable_rectification()->mutable_submitted_at() = ToProto(now);
      body->mutable_rectification()->set_round(current.round());
      break;
    }
    case v1::CaseAction::kEvaluate: {
      v1::CaseEvaluated* body = event.mutable_case_evaluated();
      body->set_case_id(id);
      *body->mutable_evaluation() = action.evaluate();
      *body->mutable_evaluation()->mutable_evaluated_at() = ToProto(now);
      body->mutable_evaluation()->set_round(current.round());
      break;
    }
    case v1::CaseAction::kClose: {
      v1::CaseClosed* body = event.mutable_case_closed();
      body->set_case_id(id);
      body->set_note(action.close().note());
      break;
    }
    case v1::CaseAction::kEscalate: {
      v1::CaseEscalated* body = event.mutable_case_escalated();
      body->set_case_id(id);
      *body->mutable_escalation() = action.escalate();
      *body->mutable_escalation()->mutable_escalated_at() = ToProto(now);
      break;
    }
    case v1::CaseAction::ACTION_NOT_SET:
      break;  // refused by validation
  }
  return event;
}

namespace {

// Adds `refs` from `source` to c.evidence, skipping hashes it already has.
void AddEvidence(
    const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& refs,
    v1::EvidenceSource source, uint32_t round, v1::Case& c) {
  for (const v1::EvidenceRef& ref : refs) {
    const bool known = std::any_of(c.evidence().begin(), c.evidence().end(),
                                   [&](const v1::CaseEvidence& e) {
                                     return e.ref().sha256() == ref.sha256();
                                   });
    if (known) continue;
    v1::CaseEvidence* e = c.add_evidence();
    *e->mutable_ref() = ref;
    e->set_source(source);
    e->set_round(round);
  }
}

}  // namespace

v1::Case NewCase(const v1::Event& reported,
                 std::vector<std::string> region_path) {
  const v1::Finding& f = reported.finding_reported();
  v1::Case c;
  c.set_id(f.id());
  c.set_status(v1::CASE_STATUS_REPORTED);
  c.set_version(1);
  c.set_unit_id(f.unit_id());
  c.set_category_id(f.category_id());
  c.set_severity(f.severity());
  for (std::string& region : region_path) c.add_region_path(std::move(region));
  *c.mutable_reported_at() = reported.recorded_at();
  c.set_reported_seq(reported.seq());
  c.set_updated_seq(reported.seq());
  AddEvidence(f.evidence(), v1::EVIDENCE_SOURCE_FINDING, 0, c);
  *c.mutable_updated_at() = reported.recorded_at();
  return c;
}

absl::Status MarkEvidenceState(
    v1::Case& c,
    const std::function<absl::StatusOr<bool>(absl::string_view sha256)>&
        is_complete) {
  c.set_evidence_pending(false);
  for (v1::CaseEvidence& e : *c.mutable_evidence()) {
    FL_ASSIGN_OR_RETURN(const bool complete, is_complete(e.ref().sha256()));
    e.set_complete(complete);
    if (!complete) c.set_evidence_pending(true);
  }
  return absl::OkStatus();
}

absl::string_view CaseIdOf(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kFindingReported:
      return event.finding_reported().id();
    case v1::Event::kFindingAmended:
      return event.finding_amended().id();
    case v1::Event::kFindingWithdrawn:
      return event.finding_withdrawn().finding_id();
    case v1::Event::kCaseAccepted:
      return event.case_accepted().case_id();
    case v1::Event::kCaseDismissed:
      return event.case_dismissed().case_id();
    case v1::Event::kCaseAssigned:
      return event.case_assigned().case_id();
    case v1::Event::kRectificationSubmitted:
      return event.rectification_submitted().case_id();
    case v1::Event::kCaseEvaluated:
      return event.case_evaluated().case_id();
    case v1::Event::kCaseClosed:
      return event.case_closed().case_id();
    case v1::Event::kCaseEscalated:
      return event.case_escalated().case_id();
    default:
      return "";
  }
}

absl::Status ApplyCaseEvent(const v1::Event& event, v1::Case& c) {
  CaseStep step;
  v1::Rating rating = v1::RATING_UNSPECIFIED;
  switch (event.body_case()) {
    case v1::Event::kFindingAmended:
      step = CaseStep::kAmend;
      break;
    case v1::Event::kFindingWithdrawn:
      step = CaseStep::kWithdraw;
      break;
    case v1::Event::kCaseAccepted:
      step = CaseStep::kAccept;
      break;
    case v1::Event::kCaseDismissed:
      step = CaseStep::kDismiss;
      break;
    case v1::Event::kCaseAssigned:
      step = CaseStep::kAssign;
      break;
    case v1::Event::kRectificationSubmitted:
      step = CaseStep::kSubmitRectification;
      break;
    case v1::Event::kCaseEvaluated:
      step = CaseStep::kEvaluate;
      rating = event.case_evaluated().evaluation().rating();
      break;
    case v1::Event::kCaseClosed:
      step = CaseStep::kClose;
      break;
    case v1::Event::kCaseEscalated:
      step = CaseStep::kEscalate;
      break;
    default:
      return absl::InternalError(
          absl::StrCat("event ", event.seq(), " does not change a case"));
  }
  if (CaseIdOf(event) != c.id()) {
    return absl::InternalError(absl::StrCat("event ", event.seq(),
                                            " names case ", CaseIdOf(event),
                                            ", applied to case ", c.id()));
  }
  absl::StatusOr<v1::CaseStatus> next =
      NextStatus(c.id(), c.status(), step, rating);
  if (!next.ok()) {
    return absl::InternalError(
        absl::StrCat("event ", event.seq(), ": ", next.status().message()));
  }

  switch (event.body_case()) {
    case v1::Event::kFindingAmended: {
      const v1::Finding& f = event.finding_amended();
      c.set_unit_id(f.unit_id());
      c.set_category_id(f.category_id());
      c.set_severity(f.severity());
      // Amendments come before triage, so before any rectification: the
      // finding's references are all the case has.
      c.clear_evidence();
      AddEvidence(f.evidence(), v1::EVIDENCE_SOURCE_FINDING, 0, c);
      break;
    }
    case v1::Event::kCaseAccepted:
      *c.mutable_accepted_at() = event.recorded_at();
      break;
    case v1::Event::kCaseDismissed:
      *c.mutable_dismissal() = event.case_dismissed().dismissal();
      break;
    case v1::Event::kCaseAssigned:
      *c.mutable_assignment() = event.case_assigned().assignment();
      *c.mutable_deadline() = c.assignment().deadline();
      c.set_round(1);
      break;
    case v1::Event::kRectificationSubmitted:
      *c.mutable_rectification() =
          event.rectification_submitted().rectification();
      AddEvidence(c.rectification().evidence(),
                  v1::EVIDENCE_SOURCE_RECTIFICATION, c.rectification().round(),
                  c);
      break;
    case v1::Event::kCaseEvaluated:
      *c.mutable_last_evaluation() = event.case_evaluated().evaluation();
      if (rating == v1::RATING_UNSATISFIED) {
        *c.mutable_deadline() = c.last_evaluation().new_deadline();
        c.set_round(c.round() + 1);
      }
      break;
    case v1::Event::kCaseClosed:
      *c.mutable_closed_at() = event.recorded_at();
      c.set_closing_note(event.case_closed().note());
      break;
    case v1::Event::kCaseEscalated:
      *c.add_escalations() = event.case_escalated().escalation();
      break;
    default:  // kFindingWithdrawn: the status says it all
      break;
  }
  c.set_status(*next);
  c.set_version(c.version() + 1);
  c.set_updated_seq(event.seq());
  c.add_event_seqs(event.seq());
  *c.mutable_updated_at() = event.recorded_at();
  return absl::OkStatus();
}

namespace {

constexpr v1::CaseStatus kAnyStatus = v1::CASE_STATUS_UNSPECIFIED;
// The indexes that hold at most one entry per case, each named by fields a
// step can change.
constexpr CaseIndex kSingleEntryIndexes[] = {
    CaseIndex::kResponsibleUnit, CaseIndex::kDeadline, CaseIndex::kStatus};

// The entry `c` has in `index`, one of kSingleEntryIndexes.
std::optional<CaseIndexKey> SingleEntry(CaseIndex index, const v1::Case& c) {
  const auto regions = [&] {
    return std::vector<std::string>(c.region_path().begin(),
                                    c.region_path().end());
  };
  const int64_t reported = c.reported_at().seconds();
  switch (index) {
    case CaseIndex::kResponsibleUnit:
      if (!c.has_assignment()) return std::nullopt;
      return CaseIndexKey{index, c.assignment().unit_id(), kAnyStatus,
                          reported, c.id()};
    case CaseIndex::kDeadline:
      if (!c.has_deadline() || !IsOpen(c.status())) return std::nullopt;
      return CaseIndexKey{index,  "",     kAnyStatus, c.deadline().seconds(),
                          c.id(), regions()};
    case CaseIndex::kStatus:
      return CaseIndexKey{index, "", c.status(), reported, c.id(), regions()};
    default:
      return std::nullopt;
  }
}

// Whether the entries of kRegion and kUnit, and the values of the others,
// are the same for both.
bool SamePlace(const v1::Case& a, const v1::Case& b) {
  return a.id() == b.id() && a.unit_id() == b.unit_id() &&
         a.reported_at().seconds() == b.reported_at().seconds() &&
         std::equal(a.region_path().begin(), a.region_path().end(),
                    b.region_path().begin(), b.region_path().end());
}

}  // namespace

std::vector<CaseIndexKey> CaseIndexKeys(const v1::Case& c) {
  std::vector<CaseIndexKey> keys;
  const int64_t reported = c.reported_at().seconds();
  for (const std::string& region : c.region_path()) {
    keys.push_back({CaseIndex::kRegion, region, kAnyStatus, reported, c.id()});
  }
  keys.push_back({CaseIndex::kUnit, c.unit_id(), kAnyStatus, reported, c.id()});
  for (CaseIndex index : kSingleEntryIndexes) {
    if (std::optional<CaseIndexKey> key = SingleEntry(index, c)) {
      keys.push_back(*std::move(key));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

CaseIndexChanges ChangeCaseIndex(const v1::Case* before,
                                 const v1::Case& after) {
  CaseIndexChanges changes;
  if (before != nullptr && SamePlace(*before, after)) {
    for (CaseIndex index : kSingleEntryIndexes) {
      std::optional<CaseIndexKey> was = SingleEntry(index, *before);
      std::optional<CaseIndexKey> is = SingleEntry(index, after);
      if (was == is) continue;
      if (was) changes.remove.push_back(*std::move(was));
      if (is) changes.put.push_back(*std::move(is));
    }
    return changes;
  }
  const std::vector<CaseIndexKey> old_keys =
      before ? CaseIndexKeys(*before) : std::vector<CaseIndexKey>();
  std::vector<CaseIndexKey> new_keys = CaseIndexKeys(after);
  std::set_difference(old_keys.begin(), old_keys.end(), new_keys.begin(),
                      new_keys.end(), std::back_inserter(changes.remove));
  for (CaseIndexKey& k : new_keys) {
    auto same = std::lower_bound(old_keys.begin(), old_keys.end(), k);
    if (same != old_keys.end() && *same == k && same->regions == k.regions) {
      continue;
    }
    changes.put.push_back(std::move(k));
  }
  return changes;
}

}  // namespace fieldledger
