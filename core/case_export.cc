// Export rows of cases (core/report.h): CSV (RFC 4180) and JSON lines.
// Rows are appended to one caller-owned buffer, so an export of a million
// cases makes no per-row strings beyond the fields' own.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/case.h"
#include "core/case_query.h"
#include "core/report.h"
#include "core/status_macros.h"

namespace fieldledger {
namespace {

const std::vector<absl::string_view>& Columns() {
  static const auto* columns = new std::vector<absl::string_view>{
      "id",
      "status",
      "region_path",
      "region_name",
      "unit_id",
      "unit_name",
      "category_id",
      "category_name",
      "severity",
      "reported_at",
      "accepted_at",
      "dismissal_reason",
      "responsible_unit_id",
      "responsible_unit_name",
      "responsible_person",
      "responsible_post",
      "mechanism",
      "deadline",
      "round",
      "rectification_submitted_at",
      "rectification_text",
      "last_rating",
      "escalations",
      "closed_at",
      "closing_note",
  };
  return *columns;
}

std::string TimeText(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

// Lower-case enum value name without its type prefix: "RATING_SATISFIED" ->
// "satisfied"; empty for the zero value.
std::string EnumText(int value, absl::string_view full_name,
                     absl::string_view prefix) {
  if (value == 0) return "";
  std::string text(full_name);
  if (absl::StartsWith(text, prefix)) text.erase(0, prefix.size());
  for (char& ch : text) ch = static_cast<char>(absl::ascii_tolower(ch));
  return text;
}

}  // namespace

void AppendCsvField(absl::string_view field, std::string& out) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    out.append(field.data(), field.size());
    return;
  }
  out.push_back('"');
  for (char ch : field) {
    if (ch == '"') out.push_back('"');
    out.push_back(ch);
  }
  out.push_back('"');
}

void AppendJsonString(absl::string_view s, std::string& out) {
  out.push_back('"');
  for (char ch : s) {
    const unsigned char u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (u < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out.append("\\u00");
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        } else {
          out.push_back(ch);  // UTF-8 passes through
        }
    }
  }
  out.push_back('"');
}

const std::vector<absl::string_view>& ExportColumns() { return Columns(); }

void AppendExportHeader(v1::ExportFormat format, std::string& out) {
  if (format != v1::EXPORT_FORMAT_CSV) return;
  bool first = true;
  for (absl::string_view column : Columns()) {
    if (!first) out.push_back(',');
    first = false;
    out.append(column.data(), column.size());
  }
  out.append("\r\n");
}

void AppendExportRow(v1::ExportFormat format, const v1::Case& c,
                     const std::function<absl::string_view(
                         absl::string_view kind, absl::string_view id)>& name,
                     std::string& out) {
  const v1::Assignment& a = c.assignment();
  std::string path, path_names;
  for (const std::string& region : c.region_path()) {
    if (!path.empty()) {
      path.push_back('/');
      path_names.push_back('/');
    }
    path.append(region);
    absl::StrAppend(&path_names, name("region", region));
  }
  const std::string fields[] = {
      c.id(),
      CaseStatusName(c.status()),
      path,
      path_names,
      c.unit_id(),
      std::string(name("unit", c.unit_id())),
      c.category_id(),
      std::string(name("category", c.category_id())),
      EnumText(c.severity(), v1::Severity_Name(c.severity()), "SEVERITY_"),
      TimeText(c.reported_at()),
      TimeText(c.accepted_at()),
      EnumText(c.dismissal().reason(),
               v1::DismissalReason_Name(c.dismissal().reason()),
               "DISMISSAL_REASON_"),
      a.unit_id(),
      a.unit_id().empty() ? "" : std::string(name("unit", a.unit_id())),
      a.person().name(),
      a.person().post(),
      EnumText(a.mechanism(), v1::Mechanism_Name(a.mechanism()), "MECHANISM_"),
      TimeText(c.deadline()),
      c.round() == 0 ? "" : absl::StrCat(c.round()),
      TimeText(c.rectification().submitted_at()),
      c.rectification().text(),
      EnumText(c.last_evaluation().rating(),
               v1::Rating_Name(c.last_evaluation().rating()), "RATING_"),
      absl::StrCat(c.escalations_size()),
      TimeText(c.closed_at()),
      c.closing_note(),
  };
  const std::vector<absl::string_view>& columns = Columns();
  if (format == v1::EXPORT_FORMAT_CSV) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendCsvField(fields[i], out);
    }
    out.append("\r\n");
    return;
  }
  out.push_back('{');
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(columns[i], out);
    out.push_back(':');
    AppendJsonString(fields[i], out);
  }
  out.append("}\n");
}

CaseExporter::CaseExporter(CaseReader& cases, ReportReader& counters,
                           CaseViewer viewer, v1::ExportCasesRequest request,
                           absl::Time now)
    : cases_(cases),
      counters_(counters),
      viewer_(std::move(viewer)),
      request_(std::move(request)),
      now_(now) {}

absl::string_view CaseExporter::Name(absl::string_view kind,
                                     absl::string_view id) {
  auto [it, fresh] = names_.try_emplace(absl::StrCat(kind, "/", id));
  if (fresh) {
    it->second = std::string(id);
    if (kind == "category") {
      absl::StatusOr<std::optional<v1::Category>> c = cases_.ReadCategory(id);
      if (c.ok() && *c) it->second = (*c)->name();
    }
  }
  return it->second;
}

absl::StatusOr<std::optional<std::string>> CaseExporter::Next(
    size_t min_bytes) {
  if (done_) return std::nullopt;
  std::string chunk;
  if (!started_) {
    if (request_.format() != v1::EXPORT_FORMAT_CSV &&
        request_.format() != v1::EXPORT_FORMAT_JSONL) {
      return absl::InvalidArgumentError(
          absl::StrCat("format: unknown value ", request_.format()));
    }
    if (viewer_.kind == CaseViewer::Kind::kNone) {
      return absl::PermissionDeniedError("this role gets no exports");
    }
    absl::StatusOr<std::function<bool(const v1::Case&)>> matches =
        CaseFilterOf(cases_, viewer_, request_.filter(), now_);
    if (!matches.ok()) {
      const absl::Status& s = matches.status();
      return absl::Status(s.code(), absl::StrCat("filter.", s.message()));
    }
    matches_ = *std::move(matches);
    // Regions and units are few: their names are loaded once.
    FL_ASSIGN_OR_RETURN(std::vector<v1::Region> regions,
                        counters_.AllRegions());
    for (const v1::Region& r : regions) {
      names_[absl::StrCat("region/", r.id())] = r.name();
    }
    FL_ASSIGN_OR_RETURN(std::vector<v1::Unit> units, counters_.AllUnits());
    for (const v1::Unit& u : units) {
      names_[absl::StrCat("unit/", u.id())] = u.name();
    }
    AppendExportHeader(request_.format(), chunk);
    started_ = true;
  }
  const auto name = [this](absl::string_view kind, absl::string_view id) {
    return Name(kind, id);
  };
  const bool redact = viewer_.kind == CaseViewer::Kind::kResponsibleUnit;
  const size_t batch =
      request_.filter().page_size() == 0 ? 1000 : request_.filter().page_size();
  v1::Case redacted;
  while (chunk.size() < min_bytes) {
    FL_ASSIGN_OR_RETURN(
        size_t read,
        counters_.ScanCases(last_id_, batch, [&](const v1::Case& c) {
          last_id_ = c.id();
          if (!matches_(c)) return;
          if (redact) {
            redacted = c;
            RedactCaseForUnit(redacted);
            AppendExportRow(request_.format(), redacted, name, chunk);
          } else {
            AppendExportRow(request_.format(), c, name, chunk);
          }
          ++rows_;
        }));
    if (read < batch) {
      done_ = true;
      break;
    }
  }
  return chunk;
}

}  // namespace fieldledger
