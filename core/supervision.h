// The supervision rules over a Txn: steps on cases, campaigns, and red and
// black lists. Each validates its input (core/case.h and the references to
// units, categories and cases), appends one event and projects it; on error
// nothing was written. Returns the event's seq.
//
//   v1::CaseAction action;
//   action.set_case_id(finding_id);
//   action.set_expected_version(seen.version());
//   action.mutable_accept();
//   FL_ASSIGN_OR_RETURN(uint64_t seq,
//                       ApplyCaseAction(txn, "admin", action, now, limits));
//
// Who may do what (supervisor, unit officer, scopes) is the caller's to
// check; these functions trust `actor`.
#ifndef FIELDLEDGER_CORE_SUPERVISION_H_
#define FIELDLEDGER_CORE_SUPERVISION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/limits.h"
#include "core/txn.h"
#include "fieldledger/v1/case.pb.h"
#include "fieldledger/v1/records.pb.h"
#include "fieldledger/v1/supervision.pb.h"

namespace fieldledger {

// Applies one step to a case. Errors, in the order they are checked:
// - INVALID_ARGUMENT for malformed input, with the field path relative to
//   the CaseAction ("assign.deadline");
// - NOT_FOUND "case_id: no case ..." for an unknown case, and for an
//   unknown assign.unit_id or dismiss.duplicate_of;
// - ABORTED when expected_version is set and is not the case's version;
// - FAILED_PRECONDITION "case <id> is <status>; cannot <step>".
absl::StatusOr<uint64_t> ApplyCaseAction(Txn& txn, absl::string_view actor,
                                         const v1::CaseAction& action,
                                         absl::Time now, const Limits& limits);

// ApplyCaseAction on behalf of `caller`, as the Supervision service runs it:
// first NOT_FOUND "case_id: no case ..." (or "dismiss.duplicate_of: ...")
// for a case outside the caller's view, worded as for one that does not
// exist so that existence does not leak. Returns the case's new version and
// the event's seq. The caller's role is the caller's to check.
absl::StatusOr<v1::CaseActionResponse> ApplyCaseActionAs(
    Txn& txn, const v1::Principal& caller, const v1::CaseAction& action,
    absl::Time now, const Limits& limits);

// Creates a campaign (created_at set to `now`). INVALID_ARGUMENT or
// NOT_FOUND for bad fields ("campaign.target_unit_ids[3]"), ALREADY_EXISTS
// for a taken id.
absl::StatusOr<uint64_t> CreateCampaign(Txn& txn, absl::string_view actor,
                                        const v1::Campaign& campaign,
                                        absl::Time now, const Limits& limits);

// CreateCampaign on behalf of `caller`: a supervisor may send inspectors
// only to units within their region subtree (PERMISSION_DENIED
// "campaign.target_unit_ids[2]: unit ... is outside region ..."). The
// caller's role is the caller's to check.
absl::StatusOr<uint64_t> CreateCampaignAs(Txn& txn, const v1::Principal& caller,
                                          const v1::Campaign& campaign,
                                          absl::Time now, const Limits& limits);

// Publishes a red or black list (published_at set to `now`).
// INVALID_ARGUMENT or NOT_FOUND for bad fields ("list.entries[0].unit_id"),
// ALREADY_EXISTS when that kind is published for that period already.
absl::StatusOr<uint64_t> PublishList(Txn& txn, absl::string_view actor,
                                     const v1::PublishedList& list,
                                     absl::Time now, const Limits& limits);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_SUPERVISION_H_
