// Project: the one place that says how an event changes derived state —
// current findings and cases (with the case indexes), the registry,
// campaigns, published lists, and the pull feeds.
//
// A finding's case is created with the finding (status reported), so triage
// lists are case-index scans like every other status. Case events change the
// case (core/case.h, ApplyCaseEvent); when the status the reporter sees
// changes (FindingStatusOf), their feed ("inspector/<pseudonym>", which the
// case's record names) gets an entry naming the finding and its new status. The finding's record holds
// its content only, so a case step never rewrites it. Applying a new event
// and recomputing state from the log both go through it, so the two cannot
// disagree.
#ifndef FIELDLEDGER_CORE_PROJECTION_H_
#define FIELDLEDGER_CORE_PROJECTION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/txn.h"
#include "fieldledger/v1/records.pb.h"
#include "fieldledger/v1/event.pb.h"

namespace fieldledger {

// The feed every client pulls: regions, units, categories.
inline constexpr absl::string_view kRegistryAudience = "registry";

// The feed of one inspector's own findings.
std::string InspectorAudience(absl::string_view pseudonym);

// Applies `event` (with its seq set) to derived state in `txn`. INTERNAL when
// the event does not fit the state (a log that was tampered with or
// replayed out of order).
absl::Status Project(const v1::Event& event, Txn& txn);

// Project for a case step whose case the caller read in this transaction:
// `current` must be what Txn::GetCaseRecord returns for the event's case,
// which then is not read again.
absl::Status ProjectCaseStep(const v1::Event& event,
                             const v1::CaseRecord& current, Txn& txn);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_PROJECTION_H_
