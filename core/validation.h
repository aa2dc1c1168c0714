// Validation of what clients send. Each error is INVALID_ARGUMENT (or
// NOT_FOUND for a reference to nothing) with a message that starts with the
// field path: "finding.summary: must be 1 to 200 characters, got 0".
#ifndef FIELDLEDGER_CORE_VALIDATION_H_
#define FIELDLEDGER_CORE_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/limits.h"
#include "core/txn.h"
#include "fieldledger/v1/finding.pb.h"
#include "fieldledger/v1/registry.pb.h"

namespace fieldledger {

// An identifier: 1-64 characters of [A-Za-z0-9._-].
absl::Status ValidateId(absl::string_view field, absl::string_view id);

// Well-formed UTF-8 of `min_chars` to `max_chars` code points.
absl::Status ValidateText(absl::string_view field, absl::string_view text,
                          size_t min_chars, size_t max_chars);

// 64 lower-case hex digits: how evidence is named (its SHA-256).
bool IsSha256Hex(absl::string_view s);

// A media type "type/subtype" without parameters, each part an RFC 6838
// restricted name: 1-127 characters of [A-Za-z0-9!#$&^_.+-], starting with a
// letter or digit ("image/jpeg", "audio/mp4", "application/vnd.ms-excel").
bool IsMediaType(absl::string_view s);

// The evidence references of one finding or rectification report, at
// `field` (e.g. "finding.evidence"): at most limits.max_evidence_refs; each
// sha256 64 lower-case hex digits and not repeated; media_type well-formed;
// size_bytes 1 to limits.max_evidence_bytes. The error names the reference,
// e.g. "finding.evidence[1].sha256: ...".
absl::Status ValidateEvidenceRefs(
    absl::string_view field,
    const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& refs,
    const Limits& limits);

// Everything about a finding that needs no lookup: id, text, time,
// location, evidence references. `field` is the path of the finding, e.g.
// "report_finding.finding".
absl::Status ValidateFindingShape(absl::string_view field,
                                  const v1::Finding& finding, absl::Time now,
                                  const Limits& limits);

// ValidateFindingShape, and the unit and category exist.
absl::Status ValidateFinding(Txn& txn, absl::string_view field,
                             const v1::Finding& finding, absl::Time now,
                             const Limits& limits);

// Registry items: ids, names, and that what they reference exists.
absl::Status ValidateRegion(Txn& txn, const v1::Region& region,
                            const Limits& limits);
absl::Status ValidateUnit(Txn& txn, const v1::Unit& unit, const Limits& limits);
absl::Status ValidateCategory(const v1::Category& category,
                              const Limits& limits);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_VALIDATION_H_
