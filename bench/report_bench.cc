// Reports over many stored cases (issue #6): fills a store (WAL sync off)
// with --cases findings over a year, 10 districts x 5 towns x 4 units and 8
// categories, and moves them through the workflow in the same jobs (reported,
// dismissed, accepted, assigned, rectified, evaluated, reassigned, closed,
// escalated; deadlines 1-60 days out, so many are overdue by the end).
// Then times, in-process (no gRPC):
//   - GetReport by region x status (the city's districts; a district's towns)
//   - ListOverdue, first page of 50 (city-wide; one district)
//   - ExportCases, CSV, every case: rows per second
// and prints medians and p99.
//
//   fieldledger_report_bench --cases=1000000 --dir=/tmp/report_bench
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/admin.h"
#include "core/case_query.h"
#include "core/report.h"
#include "core/status_macros.h"
#include "core/supervision.h"
#include "core/sync.h"
#include "core/text.h"
#include "storage/store.h"

ABSL_FLAG(int, cases, 1000000, "cases to store");
ABSL_FLAG(std::string, dir, "/tmp/fieldledger_report_bench",
          "store directory (removed first)");
ABSL_FLAG(int, probes, 200, "calls timed per query");
ABSL_FLAG(bool, keep, false, "keep the store (and reuse it when present)");

namespace fieldledger {
namespace {

constexpr int kDistricts = 10, kTowns = 5, kUnitsPerTown = 4, kCategories = 8;

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return 1;
}

absl::Status Registry(storage::Store& store, absl::Time at,
                      std::vector<std::string>& units) {
  const Limits limits;
  return store.Run([&](Txn& txn) -> absl::Status {
    v1::Region city;
    city.set_id("city");
    city.set_name("市");
    FL_RETURN_IF_ERROR(CreateRegion(txn, "admin", city, at, limits).status());
    for (int d = 1; d <= kDistricts; ++d) {
      v1::Region district;
      district.set_id(absl::StrCat("d", d));
      district.set_name(absl::StrCat("第", d, "区"));
      district.set_parent_id("city");
      FL_RETURN_IF_ERROR(
          CreateRegion(txn, "admin", district, at, limits).status());
      for (int t = 1; t <= kTowns; ++t) {
        v1::Region town;
        town.set_id(absl::StrCat("d", d, "t", t));
        town.set_name(absl::StrCat("第", d, "区第", t, "镇"));
        town.set_parent_id(district.id());
        FL_RETURN_IF_ERROR(
            CreateRegion(txn, "admin", town, at, limits).status());
        for (int u = 1; u <= kUnitsPerTown; ++u) {
          v1::Unit unit;
          unit.set_id(absl::StrCat(town.id(), "u", u));
          unit.set_name(absl::StrCat(town.name(), "便民服务中心", u));
          unit.set_region_id(town.id());
          FL_RETURN_IF_ERROR(
              CreateUnit(txn, "admin", unit, at, limits).status());
          units.push_back(unit.id());
        }
      }
    }
    for (int c = 1; c <= kCategories; ++c) {
      v1::Category category;
      category.set_id(absl::StrCat("c", c));
      category.set_name(absl::StrCat("类别", c));
      FL_RETURN_IF_ERROR(
          CreateCategory(txn, "admin", category, at, limits).status());
    }
    return absl::OkStatus();
  });
}

// Moves case `id` (the n-th) through the workflow at `at`, to a state that
// depends on n: a spread like a real office's.
absl::Status Workflow(Txn& txn, const std::string& id, int n,
                      const std::string& unit, absl::Time at) {
  const Limits limits;
  auto act = [&](v1::CaseAction a) {
    a.set_case_id(id);
    return ApplyCaseAction(txn, "admin", a, at, limits).status();
  };
  const int kind = n % 100;
  if (kind < 10) return absl::OkStatus();  // reported
  if (kind < 17) {
    v1::CaseAction a;
    a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_REJECTED);
    a.mutable_dismiss()->set_note("不属实");
    return act(a);
  }
  v1::CaseAction accept;
  accept.mutable_accept();
  FL_RETURN_IF_ERROR(act(accept));
  if (kind < 27) return absl::OkStatus();  // accepted
  v1::CaseAction assign;
  v1::Assignment* as = assign.mutable_assign();
  as->set_unit_id(unit);
  as->mutable_person()->set_name("李四");
  as->mutable_person()->set_post("主任");
  as->mutable_deadline()->set_seconds(absl::ToUnixSeconds(at) +
                                      86400 * (1 + n % 60));
  as->set_mechanism(v1::MECHANISM_TOP_LEADER);
  as->set_assigned_by("区委书记");
  FL_RETURN_IF_ERROR(act(assign));
  if (kind % 7 == 0) {
    v1::CaseAction escalate;
    escalate.mutable_escalate()->set_kind(
        static_cast<v1::EscalationKind>(1 + n % 3));
    escalate.mutable_escalate()->set_subject("镇长");
    FL_RETURN_IF_ERROR(act(escalate));
  }
  if (kind < 52) return absl::OkStatus();  // assigned
  v1::CaseAction rectify;
  rectify.mutable_submit_rectification()->set_text("已建立AB岗, \"值班\"制度");
  FL_RETURN_IF_ERROR(act(rectify));
  if (kind < 62) return absl::OkStatus();  // rectification submitted
  v1::CaseAction evaluate;
  v1::Evaluation* ev = evaluate.mutable_evaluate();
  if (kind < 67) {
    ev->set_rating(v1::RATING_UNSATISFIED);
    ev->set_comment("不彻底");
    ev->mutable_new_deadline()->set_seconds(absl::ToUnixSeconds(at) +
                                            86400 * (1 + n % 30));
    return act(evaluate);  // back to assigned
  }
  ev->set_rating(kind % 2 ? v1::RATING_SATISFIED
                          : v1::RATING_BASICALLY_SATISFIED);
  FL_RETURN_IF_ERROR(act(evaluate));
  if (kind < 75) return absl::OkStatus();  // evaluated
  v1::CaseAction close;
  close.mutable_close()->set_note("销号");
  return act(close);
}

absl::Status Fill(storage::Store& store, int total, absl::Time start,
                  absl::Time end) {
  std::vector<std::string> units;
  FL_RETURN_IF_ERROR(Registry(store, start, units));
  v1::Principal inspector;
  inspector.set_role(v1::ROLE_INSPECTOR);
  inspector.set_name("i-bench");
  inspector.set_client_id("c-bench");
  const Limits limits;
  uint64_t seq = 0;
  const absl::Duration step = (end - start) / std::max(total, 1);
  for (int done = 0; done < total;) {
    const absl::Time at = start + step * done;
    v1::PushRequest request;
    std::vector<std::pair<std::string, int>> cases;
    for (int i = 0; i < 500 && done < total; ++i, ++done) {
      v1::Mutation* m = request.add_mutations();
      m->set_client_id("c-bench");
      m->set_client_seq(++seq);
      v1::Finding* f = m->mutable_report_finding()->mutable_finding();
      f->set_id(NewUuidV7(at));
      // Spread over units, categories and states independently.
      f->set_unit_id(units[(done * 7919) % units.size()]);
      f->set_category_id(absl::StrCat("c", 1 + (done * 31) % kCategories));
      f->set_summary("无人在岗");
      f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(at));
      cases.emplace_back(f->id(), done);
    }
    FL_RETURN_IF_ERROR(store.Run([&](Txn& txn) -> absl::Status {
      FL_RETURN_IF_ERROR(
          ApplyPush(txn, inspector, request, at, limits).status());
      for (const auto& [id, n] : cases) {
        FL_RETURN_IF_ERROR(
            Workflow(txn, id, n, units[(n * 13) % units.size()], at));
      }
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

struct Timing {
  double p50, p99;
};

absl::StatusOr<Timing> Time(int probes,
                            const std::function<absl::Status()>& call) {
  std::vector<double> ms;
  for (int i = 0; i < probes; ++i) {
    const absl::Time start = absl::Now();
    FL_RETURN_IF_ERROR(call());
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  std::sort(ms.begin(), ms.end());
  return Timing{ms[ms.size() / 2], ms[ms.size() * 99 / 100]};
}

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const bool keep = absl::GetFlag(FLAGS_keep);
  const bool reuse = keep && std::filesystem::exists(dir);
  if (!reuse) std::filesystem::remove_all(dir);
  auto opened = storage::Store::Open({.path = dir, .sync = false});
  if (!opened.ok()) return Fail(opened.status());
  storage::Store& store = **opened;
  const int total = absl::GetFlag(FLAGS_cases);
  // A year of cases, ending a day before the queries' now.
  const absl::Time now = absl::Now();
  const absl::Time start = now - absl::Hours(24 * 366);
  if (!reuse) {
    const absl::Time fill_start = absl::Now();
    const absl::Status filled =
        Fill(store, total, start, now - absl::Hours(24));
    if (!filled.ok()) return Fail(filled);
    std::printf("filled %d cases in %.1f s\n", total,
                absl::ToDoubleSeconds(absl::Now() - fill_start));
  }
  const int probes = absl::GetFlag(FLAGS_probes);
  const CaseViewer city{CaseViewer::Kind::kAll, ""};
  const CaseViewer district{CaseViewer::Kind::kRegion, "d3"};

  struct Query {
    const char* name;
    CaseViewer viewer;
    uint32_t level;
  };
  for (const Query& q : {Query{"city: districts x status", city, 1},
                         Query{"district d3: towns x status", district, 2}}) {
    v1::GetReportRequest request;
    request.add_by(v1::REPORT_DIMENSION_REGION);
    request.add_by(v1::REPORT_DIMENSION_STATUS);
    request.set_region_level(q.level);
    uint64_t cases = 0;
    absl::StatusOr<Timing> t = Time(probes, [&]() -> absl::Status {
      FL_ASSIGN_OR_RETURN(v1::GetReportResponse r,
                          GetReport(store, store, q.viewer, request, now));
      cases = r.total().cases();
      return absl::OkStatus();
    });
    if (!t.ok()) return Fail(t.status());
    std::printf("GetReport %s (%lu cases): p50 %.2f ms, p99 %.2f ms\n", q.name,
                static_cast<unsigned long>(cases), t->p50, t->p99);
  }
  for (const Query& q :
       {Query{"city", city, 0}, Query{"district d3", district, 0}}) {
    v1::ListOverdueRequest request;
    absl::StatusOr<Timing> t = Time(probes, [&]() -> absl::Status {
      FL_ASSIGN_OR_RETURN(v1::ListOverdueResponse r,
                          ListOverdue(store, q.viewer, request, now));
      if (r.cases_size() != 50) return absl::InternalError("short page");
      return absl::OkStatus();
    });
    if (!t.ok()) return Fail(t.status());
    std::printf("ListOverdue %s first page of 50: p50 %.2f ms, p99 %.2f ms\n",
                q.name, t->p50, t->p99);
  }
  for (const v1::ExportFormat format :
       {v1::EXPORT_FORMAT_CSV, v1::EXPORT_FORMAT_JSONL}) {
    v1::ExportCasesRequest request;
    request.set_format(format);
    CaseExporter exporter(store, store, city, request, now);
    uint64_t bytes = 0;
    const absl::Time begin = absl::Now();
    for (;;) {
      absl::StatusOr<std::optional<std::string>> chunk = exporter.Next();
      if (!chunk.ok()) return Fail(chunk.status());
      if (!chunk->has_value()) break;
      bytes += (*chunk)->size();
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - begin);
    std::printf("ExportCases %s: %lu rows, %.1f MB in %.2f s: %.0f rows/s\n",
                v1::ExportFormat_Name(format).c_str(),
                static_cast<unsigned long>(exporter.rows()), bytes / 1e6,
                seconds, exporter.rows() / seconds);
  }
  opened->reset();
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace fieldledger

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return fieldledger::Main();
}
