// Two benchmarks of the case workflow's storage (in-process, no gRPC):
//
// --mode=list: ListCases over many stored cases. Fills a store (WAL sync
// off) with --cases reported findings spread over 4 districts x 2 towns,
// accepts every third, then times the first page of ListCases for a district
// supervisor filtered by status, and prints p50 / p99.
//
// --mode=write_cost: the CPU time the durable write path spends per event,
// for a single-finding Push and for each supervision step, each event its
// own job as the servers submit them (64 jobs in flight, WAL synced). Per
// round, on a fresh store: --cases Pushes, then accept, assign, submit
// rectification, evaluate and close on every case (in random order); CPU is the
// whole process's (getrusage: user + system, RocksDB's own threads included).
// Prints each round and the medians, and each step's cost as a multiple of
// a Push event's: the median over the rounds of the step's cost over the
// Push's of the same round.
//
//   fieldledger_case_bench --mode=list --cases=1000000 --dir=/tmp/case_bench
//   fieldledger_case_bench --mode=write_cost --cases=20000 --rounds=5
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <random>
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
ABSL_FLAG(std::string, mode, "list", "list or write_cost");
ABSL_FLAG(int, rounds, 5, "write_cost: rounds, each on a fresh store");
ABSL_FLAG(int, in_flight, 64, "write_cost: jobs in flight");

namespace fieldledger {
namespace {

// Region "city" with districts d1..d4, each holding units t<d>1 and t<d>2;
// category "commuting". Returns the unit ids.
absl::StatusOr<std::vector<std::string>> SeedRegistry(storage::Store& store,
                                                      absl::Time now) {
  const Limits limits;
  std::vector<std::string> units;
  FL_RETURN_IF_ERROR(store.Run([&](Txn& txn) -> absl::Status {
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
  }));
  return units;
}

int ListMain() {
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
  absl::StatusOr<std::vector<std::string>> seeded = SeedRegistry(store, now);
  if (!seeded.ok()) {
    std::fprintf(stderr, "%s\n", seeded.status().ToString().c_str());
    return 1;
  }
  const std::vector<std::string>& units = *seeded;
  absl::Status s;
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

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs every job with at most --in_flight submitted and not yet done, and
// returns the CPU seconds spent meanwhile; the first failure, if any, in
// `*failed`.
double RunJobs(storage::Store& store, std::vector<storage::Store::Job> jobs,
               absl::Status* failed) {
  struct Window {
    int in_flight = 0;
    int limit = absl::GetFlag(FLAGS_in_flight);
    bool HasRoom() const { return in_flight < limit; }
    bool Idle() const { return in_flight == 0; }
  } window;
  absl::Mutex mu;
  const double start = CpuSeconds();
  for (storage::Store::Job& job : jobs) {
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(&window, &Window::HasRoom));
      ++window.in_flight;
    }
    store.Submit(std::move(job), [&](absl::Status s) {
      absl::MutexLock lock(&mu);
      if (!s.ok() && failed->ok()) *failed = s;
      --window.in_flight;
    });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&window, &Window::Idle));
  return CpuSeconds() - start;
}

int WriteCostMain() {
  const int cases = absl::GetFlag(FLAGS_cases);
  const int clients = absl::GetFlag(FLAGS_in_flight);
  const Limits limits;
  v1::Principal admin;
  admin.set_role(v1::ROLE_ADMIN);
  admin.set_name("admin");
  const std::vector<std::string> steps = {"push",    "accept",   "assign",
                                          "rectify", "evaluate", "close"};
  std::map<std::string, std::vector<double>> micros;
  std::mt19937 random(1);
  for (int round = 1; round <= absl::GetFlag(FLAGS_rounds); ++round) {
    const std::string dir = absl::GetFlag(FLAGS_dir);
    std::filesystem::remove_all(dir);
    auto opened = storage::Store::Open({.path = dir});
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
      return 1;
    }
    storage::Store& store = **opened;
    const absl::Time now = absl::Now();
    absl::StatusOr<std::vector<std::string>> units = SeedRegistry(store, now);
    if (!units.ok()) {
      std::fprintf(stderr, "%s\n", units.status().ToString().c_str());
      return 1;
    }
    // The steps run as a pipeline over slices of the cases, so that every
    // step is measured against a store of about the same size: in stage t,
    // step k works on slice t - k.
    constexpr int kSlices = 10;
    const int slice = std::max(1, cases / kSlices);
    std::vector<std::string> ids;
    std::map<std::string, double> cpu;
    const int step_count = static_cast<int>(steps.size());
    for (int stage = 0; stage < kSlices + step_count - 1; ++stage) {
      for (int k = 0; k < step_count; ++k) {
        const int at = stage - k;
        if (at < 0 || at >= kSlices) continue;
        const std::string& step = steps[k];
        // Requests are built before the clock starts: a server gets them
        // parsed.
        std::vector<storage::Store::Job> jobs;
        // Offices work their cases in no particular order: a step's cases
        // are shuffled, so that its writes do not land next to each other
        // as the reports' do.
        std::vector<int> order(slice);
        std::iota(order.begin(), order.end(), at * slice);
        if (step != "push") std::shuffle(order.begin(), order.end(), random);
        for (const int i : order) {
          if (step == "push") {
            auto inspector = std::make_shared<v1::Principal>();
            inspector->set_role(v1::ROLE_INSPECTOR);
            inspector->set_name(absl::StrCat("i", i % clients));
            inspector->set_client_id(absl::StrCat("c", i % clients));
            auto request = std::make_shared<v1::PushRequest>();
            v1::Mutation* m = request->add_mutations();
            m->set_client_id(inspector->client_id());
            m->set_client_seq(i / clients + 1);
            v1::Finding* f = m->mutable_report_finding()->mutable_finding();
            // Ids made as devices make them, from the clock: the reports'
            // keys then land near the end, as they do on a node.
            f->set_id(NewUuidV7(absl::Now()));
            f->set_unit_id((*units)[i % units->size()]);
            f->set_category_id("commuting");
            f->set_summary("无人在岗");
            f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(now));
            ids.push_back(f->id());
            jobs.push_back([=, &limits](Txn& txn) {
              return ApplyPush(txn, *inspector, *request, absl::Now(), limits)
                  .status();
            });
            continue;
          }
          auto action = std::make_shared<v1::CaseAction>();
          action->set_case_id(ids[i]);
          if (step == "accept") {
            action->mutable_accept();
          } else if (step == "assign") {
            v1::Assignment* a = action->mutable_assign();
            a->set_unit_id((*units)[i % units->size()]);
            a->mutable_person()->set_name("李四");
            a->mutable_person()->set_post("镇长");
            a->mutable_deadline()->set_seconds(
                absl::ToUnixSeconds(now + absl::Hours(24 * 30)));
            a->set_mechanism(v1::MECHANISM_TOP_LEADER);
            a->set_assigned_by("区委书记");
          } else if (step == "rectify") {
            action->mutable_submit_rectification()->set_text("已建立值班制度");
          } else if (step == "evaluate") {
            action->mutable_evaluate()->set_rating(v1::RATING_SATISFIED);
          } else {
            action->mutable_close();
          }
          jobs.push_back([=, &admin, &limits](Txn& txn) {
            return ApplyCaseActionAs(txn, admin, *action, absl::Now(), limits)
                .status();
          });
        }
        absl::Status failed;
        cpu[step] += RunJobs(store, std::move(jobs), &failed);
        if (!failed.ok()) {
          std::fprintf(stderr, "%s: %s\n", step.c_str(),
                       failed.ToString().c_str());
          return 1;
        }
      }
    }
    std::printf("round %d:", round);
    for (const std::string& step : steps) {
      micros[step].push_back(cpu[step] * 1e6 / (slice * kSlices));
      std::printf(" %s %.1f", step.c_str(), micros[step].back());
    }
    std::printf(" (us CPU per event)\n");
    opened->reset();
    std::filesystem::remove_all(dir);
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // A step is compared with the Pushes of its own round, which ran in the
  // same minute on the same store: the machine's speed drifts between
  // rounds far more than within one.
  for (const std::string& step : steps) {
    std::vector<double> ratios;
    for (size_t r = 0; r < micros[step].size(); ++r) {
      ratios.push_back(micros[step][r] / micros["push"][r]);
    }
    std::printf("%-8s median %6.1f us CPU per event, %.2f x push\n",
                step.c_str(), median(micros[step]), median(ratios));
  }
  return 0;
}

}  // namespace
}  // namespace fieldledger

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "list") return fieldledger::ListMain();
  if (mode == "write_cost") return fieldledger::WriteCostMain();
  std::fprintf(stderr, "--mode: must be list or write_cost\n");
  return 2;
}
