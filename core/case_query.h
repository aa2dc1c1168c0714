// Case queries for the Supervision service: who may see which case, what a
// unit officer is shown, and ListCases / GetCase over a CaseReader (the case
// indexes of core/case.h). Which index serves which filter is decided here;
// the storage only scans index ranges.
//
//   CaseViewer viewer = ViewerOf(principal);
//   FL_ASSIGN_OR_RETURN(v1::ListCasesResponse page,
//                       ListCases(reader, viewer, request, now));
//
// Thread-safe: no shared state (the reader's own rule applies to it).
#ifndef FIELDLEDGER_CORE_CASE_QUERY_H_
#define FIELDLEDGER_CORE_CASE_QUERY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/case.h"
#include "fieldledger/v1/case.pb.h"
#include "fieldledger/v1/event.pb.h"
#include "fieldledger/v1/records.pb.h"
#include "fieldledger/v1/registry.pb.h"
#include "fieldledger/v1/supervision.pb.h"

namespace fieldledger {

// One range of one case index: the entries of (index, scope, status) whose
// time lies in [time_from, time_to), in (time, case_id) order, starting
// after (after_time, after_case_id) when `resume` is set.
struct CaseIndexScan {
  CaseIndex index = CaseIndex::kRegion;
  std::string scope;
  v1::CaseStatus status = v1::CASE_STATUS_UNSPECIFIED;
  int64_t time_from = std::numeric_limits<int64_t>::min();
  int64_t time_to = std::numeric_limits<int64_t>::max();
  bool resume = false;
  int64_t after_time = 0;
  std::string after_case_id;
  // kDeadline and kStatus: keep just the entries whose regions hold this
  // region (a subtree); empty keeps all.
  std::string region;
  // Most entries returned.
  size_t limit = 100;
  // Most entries read, kept or not (the `region` filter may skip many).
  size_t max_examined = 10000;
};

// What a CaseIndexScan found.
struct CaseIndexPage {
  // The entries kept, in order.
  std::vector<CaseIndexKey> keys;
  // Entries read, kept or not.
  size_t examined = 0;
  // The range may hold more entries after (last_time, last_case_id), the
  // last entry read: the scan stopped at `limit` or `max_examined`.
  bool more = false;
  int64_t last_time = 0;
  std::string last_case_id;
};

// What case queries read. Get*/Read* return nullopt for an unknown id; an
// error only when the read failed. Thread-safe in the storage
// implementation.
class CaseReader {
 public:
  virtual ~CaseReader() = default;
  virtual absl::StatusOr<CaseIndexPage> ScanCaseIndex(
      const CaseIndexScan& scan) = 0;
  virtual absl::StatusOr<std::optional<v1::Case>> ReadCase(
      absl::string_view id) = 0;
  // The finding with its reporter (never shown to supervisors or units).
  virtual absl::StatusOr<std::optional<v1::FindingRecord>> ReadFinding(
      absl::string_view id) = 0;
  // Every event of the case, in seq order.
  virtual absl::StatusOr<std::vector<v1::Event>> ReadCaseHistory(
      absl::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Region>> ReadRegion(
      absl::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Unit>> ReadUnit(
      absl::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Category>> ReadCategory(
      absl::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Campaign>> ReadCampaign(
      absl::string_view id) = 0;
  // The ids of the regions without a parent, ordered.
  virtual absl::StatusOr<std::vector<std::string>> RootRegionIds() = 0;
};

// Whose view a query serves.
struct CaseViewer {
  enum class Kind {
    // Admin and auditor: every case.
    kAll,
    // Supervisor: the cases whose region_path contains `scope`.
    kRegion,
    // Unit officer: the cases assigned to unit `scope`, redacted.
    kResponsibleUnit,
    // Anyone else: no case.
    kNone,
  };
  Kind kind = Kind::kNone;
  std::string scope;
};

// The view of a principal's role and scope.
CaseViewer ViewerOf(const v1::Principal& principal);

// Whether `viewer` may see (and, role permitting, act on) case `c`.
bool CanSee(const CaseViewer& viewer, const v1::Case& c);

// What a unit officer is shown: reported_at cut to the start of its UTC day
// (the exact time would tell when the visit was), and of the evidence only
// the rectification reports' (the inspector's photos could tell who
// inspected, and when).
void RedactCaseForUnit(v1::Case& c);
// The reporter's events (finding_reported, _amended, _withdrawn) lose their
// actor (the pseudonym) and their evidence references, and have recorded_at
// and observed_at cut to the day.
void RedactEventForUnit(v1::Event& event);

// The page of cases matching `request` that `viewer` may see, in the order
// of ListCasesResponse. Errors: INVALID_ARGUMENT naming the field
// ("page_size", "page_cursor", "reported_to", "status"); NOT_FOUND
// "region_id: no region ..." (likewise unit_id, category_id, campaign_id).
// At most `max_scanned` index entries are read per call: a page may then
// come back short, with a cursor to go on.
absl::StatusOr<v1::ListCasesResponse> ListCases(
    CaseReader& reader, const CaseViewer& viewer,
    const v1::ListCasesRequest& request, absl::Time now,
    size_t max_scanned = 20000);

// Whether a case matches every filter of `request` (page_size and
// page_cursor aside) and `viewer` may see it: ListCases' rule, for callers
// that read cases another way (an export scans them all). Errors as
// ListCases for bad filters.
absl::StatusOr<std::function<bool(const v1::Case&)>> CaseFilterOf(
    CaseReader& reader, const CaseViewer& viewer,
    const v1::ListCasesRequest& request, absl::Time now);

// The case and its history as `viewer` may see them. NOT_FOUND
// "case_id: no case ..." for an unknown case and, worded the same, for one
// outside the viewer's scope.
absl::StatusOr<v1::GetCaseResponse> GetCaseView(CaseReader& reader,
                                                const CaseViewer& viewer,
                                                absl::string_view case_id);

// Whether `caller` may download the evidence `sha256` on the grounds of
// case (or finding) `case_id` — FieldSync.GetEvidence. Supervisors,
// auditors and admins: a case they can see that refers to it; unit
// officers: a case assigned to their unit whose rectification reports
// refer to it; inspectors: their own finding that refers to it. Errors:
// INVALID_ARGUMENT "sha256: ..." or "case_id: is required"; NOT_FOUND
// "case_id: no case ..." for an unknown case or one the caller may not
// see; PERMISSION_DENIED when the case does not refer to the evidence in a
// way that lets the caller see it, or for a role without cases. Whether the
// node holds the evidence is the caller's to check.
absl::Status CheckEvidenceAccess(CaseReader& reader,
                                 const v1::Principal& caller,
                                 absl::string_view sha256,
                                 absl::string_view case_id);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_CASE_QUERY_H_
