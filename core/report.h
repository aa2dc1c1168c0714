// Report queries for the Reports service: GetReport and RankUnits from the
// counters of core/aggregates.h (O(groups × months × categories) counter
// reads, never a case), ListOverdue over the deadline index, and the rows of
// an export. Who sees what follows core/case_query.h's CaseViewer.
//
//   FL_ASSIGN_OR_RETURN(v1::GetReportResponse report,
//                       GetReport(cases, counters, viewer, request, now));
//
// Thread-safe: no shared state (the readers' own rules apply to them).
#ifndef FIELDLEDGER_CORE_REPORT_H_
#define FIELDLEDGER_CORE_REPORT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/case_query.h"
#include "fieldledger/v1/registry.pb.h"
#include "fieldledger/v1/reports.pb.h"

namespace fieldledger {

// What reports read besides a CaseReader. Thread-safe in the storage
// implementation.
class ReportReader {
 public:
  virtual ~ReportReader() = default;
  // Calls fn(key, value) for every counter with from <= key < to, in key
  // order, until fn returns false.
  virtual absl::Status ScanCounters(
      absl::string_view from, absl::string_view to,
      const std::function<bool(absl::string_view, int64_t)>& fn) = 0;
  // Calls fn(case) for up to `limit` cases with id > `after` (all from the
  // first when empty), in id order; returns how many were read. The case
  // passed is only valid during the call.
  virtual absl::StatusOr<size_t> ScanCases(
      absl::string_view after, size_t limit,
      const std::function<void(const v1::Case&)>& fn) = 0;
  // Every region and every unit, ordered by id.
  virtual absl::StatusOr<std::vector<v1::Region>> AllRegions() = 0;
  virtual absl::StatusOr<std::vector<v1::Unit>> AllUnits() = 0;
};

// The report `request` asks for, as `viewer` may see it (see reports.proto
// for scope). Errors: INVALID_ARGUMENT naming the field ("by",
// "region_level", "unit_id", "period_from", "period_to"); NOT_FOUND
// "region_id: no region ..." (likewise unit_id, category_id), also for one
// outside the viewer's scope; PERMISSION_DENIED for a viewer of kind kNone.
absl::StatusOr<v1::GetReportResponse> GetReport(
    CaseReader& cases, ReportReader& counters, const CaseViewer& viewer,
    const v1::GetReportRequest& request, absl::Time now);

// The units in the viewer's scope ranked as asked. Errors as GetReport;
// INVALID_ARGUMENT "by" when unspecified, "limit" when over 1000.
absl::StatusOr<v1::RankUnitsResponse> RankUnits(
    CaseReader& cases, ReportReader& counters, const CaseViewer& viewer,
    const v1::RankUnitsRequest& request, absl::Time now);

// A page of overdue cases, latest first: Supervision.ListCases with overdue
// set, plus the days late. Errors as ListCases.
absl::StatusOr<v1::ListOverdueResponse> ListOverdue(
    CaseReader& cases, const CaseViewer& viewer,
    const v1::ListOverdueRequest& request, absl::Time now);

// Appends `field` as one RFC 4180 CSV field: quoted (quotes doubled) when it
// holds a comma, quote, CR or LF; as it is otherwise.
void AppendCsvField(absl::string_view field, std::string& out);
// Appends `s` as a JSON string (UTF-8 kept, control characters escaped).
void AppendJsonString(absl::string_view s, std::string& out);

// Export rows. The columns, in order, of both formats.
const std::vector<absl::string_view>& ExportColumns();
// Appends the header row (CSV only; nothing for JSON lines) to `out`.
void AppendExportHeader(v1::ExportFormat format, std::string& out);
// Appends one case as a row. `names` gives display names for unit,
// category and region ids (unknown ids are written as they are).
void AppendExportRow(v1::ExportFormat format, const v1::Case& c,
                     const std::function<absl::string_view(
                         absl::string_view kind, absl::string_view id)>& name,
                     std::string& out);

// An export of every case matching ExportCasesRequest.filter that the
// viewer may see (CaseFilterOf), in case id order (UUIDv7: about the order
// of reporting), produced a chunk at a time so that a stream never holds the
// whole file. One sequential scan of the cases, whatever the filters: a
// case changed meanwhile shows the state it had when read.
//
//   CaseExporter exporter(cases, counters, viewer, request, now);
//   while (true) {
//     FL_ASSIGN_OR_RETURN(std::optional<std::string> chunk, exporter.Next());
//     if (!chunk) break;
//     ... send *chunk ...
//   }
//
// Not thread-safe: one exporter per stream.
class CaseExporter {
 public:
  CaseExporter(CaseReader& cases, ReportReader& counters, CaseViewer viewer,
               v1::ExportCasesRequest request, absl::Time now);

  // The next chunk: whole rows, at least `min_bytes` unless it is the last
  // (the header row leads the first); nullopt when the export is complete.
  // Errors: INVALID_ARGUMENT "format", and ListCases' filter errors with
  // their field under "filter.", on the first call.
  absl::StatusOr<std::optional<std::string>> Next(size_t min_bytes = 64 << 10);

  // Rows produced so far.
  uint64_t rows() const { return rows_; }

 private:
  absl::string_view Name(absl::string_view kind, absl::string_view id);

  CaseReader& cases_;
  ReportReader& counters_;
  const CaseViewer viewer_;
  v1::ExportCasesRequest request_;
  const absl::Time now_;
  bool started_ = false;
  bool done_ = false;
  uint64_t rows_ = 0;
  std::function<bool(const v1::Case&)> matches_;
  std::string last_id_;                       // the last case scanned
  std::map<std::string, std::string> names_;  // kind + '/' + id -> name
};

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_REPORT_H_
