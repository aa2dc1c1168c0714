// ListCases over many stored cases: fills a store (WAL sync off) with
// --cases reported findings spread over 4 districts x 2 towns, accepts every
// third, then times the first page of ListCases for a district supervisor
// filtered by status, and prints p50 / p99.
//
//   fieldledger_case_bench --cases=1000000 --dir=/tmp/case_bench
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/admin.h"
#include "core/case_query.h"
#include "core/status_macros.h"
#include "core/supervision.h"
#include "core/sync.h"
#include "core/text.h"
#include "storage/store.h"

ABSL_FLAG(int, cases, 1000000, "cases to store");
ABSL_FLAG(std::string, dir, "/tmp/fieldledger_case_bench",
          "store directory (removed first)");
ABSL_FLAG(int, probes, 200, "ListCases calls timed");

namespace fieldledger {
namespace {

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  auto opened = storage::Store::Open({.path = dir, .sync = false});
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    return 1;
  }
  storage::Store& store = **opened;
  const absl::Time now = absl::Now();
  const Limits limits;
  std::vector<std::string> units;
  absl::Status s = store.Run([&](Txn& txn) -> absl::Status {
    v1::Region city;
    city.set_id("city");
    city.set_name("市");
    FL_RETURN_IF_ERROR(CreateRegion(txn, "admin", city, now, limits).status());
    for (int d = 1; d <= 4; ++d) {
      v1::Region district;
      district.set_id(absl::StrCat("d", d));
      district.set_name(district.id());
      district.set_parent_id("city");
      FL_RETURN_IF_ERROR(
          CreateRegion(txn, "admin", district, now, limits).status());
      for (int t = 1; t <= 2; ++t) {
        v1::Unit unit;
        unit.set_id(absl::StrCat("t", d, t));
        unit.set_name(unit.id());
        unit.set_region_id(district.id());
        FL_RETURN_IF_ERROR(
            CreateUnit(txn, "admin", unit, now, limits).status());
        units.push_back(unit.id());
      }
    }
    v1::Category category;
    category.set_id("commuting");
    category.set_name("走读");
    return CreateCategory(txn, "admin", category, now, limits).status();
  });
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  v1::Principal inspector;
  inspector.set_role(v1::ROLE_INSPECTOR);
  inspector.set_name("i-bench");
  inspector.set_client_id("c-bench");
  const int total = absl::GetFlag(FLAGS_cases);
  uint64_t seq = 0;
  const absl::Time fill_start = absl::Now();
  for (int done = 0; done < total;) {
    v1::PushRequest request;
    std::vector<std::string> ids;
    for (int i = 0; i < 500 && done < total; ++i, ++done) {
      v1::Mutation* m = request.add_mutations();
      m->set_client_id("c-bench");
      m->set_client_seq(++seq);
      v1::Finding* f = m->mutable_report_finding()->mutable_finding();
      f->set_id(NewUuidV7(now));
      f->set_unit_id(units[done % units.size()]);
      f->set_category_id("commuting");
      f->set_summary("无人在岗");
      f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(now));
      if (done % 3 == 0) ids.push_back(f->id());
    }
    s = store.Run([&](Txn& txn) -> absl::Status {
      FL_RETURN_IF_ERROR(
          ApplyPush(txn, inspector, request, now, limits).status());
      for (const std::string& id : ids) {
        v1::CaseAction accept;
        accept.set_case_id(id);
        accept.mutable_accept();
        FL_RETURN_IF_ERROR(
            ApplyCaseAction(txn, "admin", accept, now, limits).status());
      }
      return absl::OkStatus();
    });
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  std::printf("filled %d cases in %.1f s\n", total,
              absl::ToDoubleSeconds(absl::Now() - fill_start));

  const CaseViewer supervisor{CaseViewer::Kind::kRegion, "d2"};
  for (v1::CaseStatus status :
       {v1::CASE_STATUS_REPORTED, v1::CASE_STATUS_ACCEPTED}) {
    std::vector<double> ms;
    v1::ListCasesRequest request;
    request.set_status(status);
    for (int i = 0; i < absl::GetFlag(FLAGS_probes); ++i) {
      const absl::Time start = absl::Now();
      auto page = ListCases(store, supervisor, request, absl::Now());
      ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      if (!page.ok() || page->cases_size() != 50) {
        std::fprintf(stderr, "bad page\n");
        return 1;
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf(
        "ListCases region=d2 status=%s first page of 50: p50 %.2f ms, "
        "p99 %.2f ms\n",
        v1::CaseStatus_Name(status).c_str(), ms[ms.size() / 2],
        ms[ms.size() * 99 / 100]);
  }
  opened->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace fieldledger

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return fieldledger::Main();
}
