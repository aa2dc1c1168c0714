// Report counters against the events: a property test over random case
// histories (the counters equal an independent recomputation from the log,
// after a restart and after a rebuild), roll-up, scope, overdue and export.
#include "core/aggregates.h"

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/admin.h"
#include "core/case.h"
#include "core/case_query.h"
#include "core/report.h"
#include "core/status_macros.h"
#include "core/supervision.h"
#include "core/sync.h"
#include "core/text.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/counters.h"
#include "storage/raw_db_for_test.h"
#include "storage/store.h"

namespace fieldledger::storage {
namespace {

using Counters = std::map<std::string, int64_t>;

const absl::Time kStart = absl::FromUnixSeconds(1788000000);  // 2026-08-29

// sz (city) > d1 > t1, t2; sz > d2 > t3. Units u1 in t1, u2 in t2, u3 and
// u4 in t3. Categories c1, c2.
const std::map<std::string, std::string> kParent = {{"sz", ""},   {"d1", "sz"},
                                                    {"d2", "sz"}, {"t1", "d1"},
                                                    {"t2", "d1"}, {"t3", "d2"}};
const std::map<std::string, std::string> kUnitRegion = {
    {"u1", "t1"}, {"u2", "t2"}, {"u3", "t3"}, {"u4", "t3"}};

std::vector<std::string> PathOf(const std::string& unit) {
  std::vector<std::string> path;
  for (std::string r = kUnitRegion.at(unit); !r.empty(); r = kParent.at(r)) {
    path.insert(path.begin(), r);
  }
  return path;
}

std::string Month(int64_t seconds) {
  return MonthOf(absl::FromUnixSeconds(seconds));
}

// The counters recomputed from the events alone, event by event, without
// core/aggregates' before/after diff.
Counters Recompute(const std::vector<v1::Event>& events) {
  struct Model {
    std::vector<std::string> path;
    std::string unit, category, reported_month;
    v1::CaseStatus status;
    int64_t deadline = 0;  // 0: none in force
  };
  std::map<std::string, Model> cases;
  Counters out;
  auto scopes = [](const Model& m) {
    std::vector<std::string> s;
    for (const auto& r : m.path) s.push_back(absl::StrCat("r/", r, "/"));
    s.push_back(absl::StrCat("u/", m.unit, "/"));
    return s;
  };
  auto flow = [&](const Model& m, const v1::Event& e, Flow f) {
    for (const auto& scope : scopes(m)) {
      ++out[absl::StrFormat("%sf/%s/%02d/%s", scope,
                            Month(e.recorded_at().seconds()),
                            static_cast<int>(f), m.category)];
    }
  };
  for (const v1::Event& e : events) {
    const std::string id(CaseIdOf(e));
    if (e.has_finding_reported()) {
      const v1::Finding& f = e.finding_reported();
      Model m{PathOf(f.unit_id()), f.unit_id(), f.category_id(),
              Month(e.recorded_at().seconds()), v1::CASE_STATUS_REPORTED};
      flow(m, e, Flow::kReported);
      cases[id] = m;
      continue;
    }
    if (id.empty()) continue;
    Model& m = cases.at(id);
    switch (e.body_case()) {
      case v1::Event::kCaseAccepted:
        m.status = v1::CASE_STATUS_ACCEPTED;
        break;
      case v1::Event::kCaseDismissed:
        m.status = v1::CASE_STATUS_DISMISSED;
        flow(m, e,
             e.case_dismissed().dismissal().reason() ==
                     v1::DISMISSAL_REASON_DUPLICATE
                 ? Flow::kDismissedDuplicate
                 : Flow::kDismissedRejected);
        break;
      case v1::Event::kCaseAssigned:
        m.status = v1::CASE_STATUS_ASSIGNED;
        m.unit = e.case_assigned().assignment().unit_id();
        m.deadline = e.case_assigned().assignment().deadline().seconds();
        flow(m, e, Flow::kAssigned);
        break;
      case v1::Event::kRectificationSubmitted:
        m.status = v1::CASE_STATUS_RECTIFICATION_SUBMITTED;
        flow(m, e, Flow::kRectificationReported);
        break;
      case v1::Event::kCaseEvaluated: {
        const v1::Evaluation& ev = e.case_evaluated().evaluation();
        if (ev.rating() == v1::RATING_UNSATISFIED) {
          m.status = v1::CASE_STATUS_ASSIGNED;
          m.deadline = ev.new_deadline().seconds();
          flow(m, e, Flow::kEvaluatedUnsatisfied);
        } else {
          m.status = v1::CASE_STATUS_EVALUATED;
          flow(m, e,
               ev.rating() == v1::RATING_SATISFIED
                   ? Flow::kEvaluatedSatisfied
                   : Flow::kEvaluatedBasicallySatisfied);
        }
        break;
      }
      case v1::Event::kCaseClosed:
        m.status = v1::CASE_STATUS_CLOSED;
        flow(m, e, Flow::kClosed);
        if (e.recorded_at().seconds() <= m.deadline) {
          flow(m, e, Flow::kClosedOnTime);
        }
        break;
      case v1::Event::kCaseEscalated: {
        const auto kind = e.case_escalated().escalation().kind();
        flow(m, e,
             kind == v1::ESCALATION_KIND_TALK ? Flow::kEscalatedTalk
             : kind == v1::ESCALATION_KIND_PUBLIC_NOTICE
                 ? Flow::kEscalatedPublicNotice
                 : Flow::kEscalatedDiscipline);
        break;
      }
      default:
        ADD_FAILURE() << "unexpected event " << e.ShortDebugString();
    }
  }
  for (const auto& [id, m] : cases) {
    for (const auto& scope : scopes(m)) {
      ++out[absl::StrFormat("%ss/%s/%02d/%s", scope, m.reported_month,
                            static_cast<int>(m.status), m.category)];
      if (m.deadline != 0 && IsOpen(m.status)) {
        ++out[absl::StrCat(scope, "d/",
                           DayOf(absl::FromUnixSeconds(m.deadline)), "/",
                           m.category)];
      }
    }
  }
  return out;
}

class AggregatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "aggregates_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
    inspector_.set_role(v1::ROLE_INSPECTOR);
    inspector_.set_name("i-0123456789abcdef");
    inspector_.set_client_id("c-1");
    ASSERT_TRUE(
        store_
            ->Run([&](Txn& txn) -> absl::Status {
              const Limits limits;
              for (const char* id : {"sz", "d1", "d2", "t1", "t2", "t3"}) {
                v1::Region r;
                r.set_id(id);
                r.set_name(absl::StrCat("区域", id));
                r.set_parent_id(kParent.at(id));
                FL_RETURN_IF_ERROR(
                    CreateRegion(txn, "admin", r, kStart, limits).status());
              }
              for (const auto& [id, region] : kUnitRegion) {
                v1::Unit u;
                u.set_id(id);
                u.set_name(absl::StrCat("单位", id));
                u.set_region_id(region);
                FL_RETURN_IF_ERROR(
                    CreateUnit(txn, "admin", u, kStart, limits).status());
              }
              for (const char* id : {"c1", "c2"}) {
                v1::Category c;
                c.set_id(id);
                c.set_name(absl::StrCat("类别", id));
                FL_RETURN_IF_ERROR(
                    CreateCategory(txn, "admin", c, kStart, limits).status());
              }
              return absl::OkStatus();
            })
            .ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto opened = Store::Open({.path = dir_});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  // Random findings and case steps over about `days` days; steps the state
  // machine refuses are part of the mix (and must leave no trace).
  void RandomHistory(uint32_t seed, int steps) {
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    const char* units[] = {"u1", "u2", "u3", "u4"};
    for (int i = 0; i < steps; ++i) {
      now_ += absl::Minutes(pick(60 * 24 * 3));
      if (ids_.empty() || pick(4) == 0) {
        v1::PushRequest push;
        v1::Mutation* m = push.add_mutations();
        m->set_client_id("c-1");
        m->set_client_seq(++client_seq_);
        v1::Finding* f = m->mutable_report_finding()->mutable_finding();
        f->set_id(NewUuidV7(now_));
        f->set_unit_id(units[pick(4)]);
        f->set_category_id(pick(2) ? "c1" : "c2");
        f->set_summary("窗口无人, \"值班\"");
        f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(now_));
        ASSERT_TRUE(store_
                        ->Run([&](Txn& txn) {
                          return ApplyPush(txn, inspector_, push, now_,
                                           Limits())
                              .status();
                        })
                        .ok());
        ids_.push_back(f->id());
        continue;
      }
      v1::CaseAction a;
      a.set_case_id(ids_[pick(ids_.size())]);
      const int64_t later =
          absl::ToUnixSeconds(now_) + 3600 * (1 + pick(24 * 20));
      // Mostly a step the case's status allows, so that histories get deep;
      // sometimes any step.
      auto c = store_->ReadCase(a.case_id());
      ASSERT_TRUE(c.ok() && c->has_value());
      int step = pick(8);
      if (pick(8) != 0) {
        switch ((*c)->status()) {
          case v1::CASE_STATUS_REPORTED:
            step = pick(4) == 0 ? 1 : 0;
            break;
          case v1::CASE_STATUS_ACCEPTED:
            step = pick(5) == 0 ? 7 : 2;
            break;
          case v1::CASE_STATUS_ASSIGNED:
            step = pick(5) == 0 ? 7 : 3;
            break;
          case v1::CASE_STATUS_RECTIFICATION_SUBMITTED:
            step = 4;
            break;
          case v1::CASE_STATUS_EVALUATED:
            step = 5;
            break;
          default:
            break;
        }
      }
      switch (step) {
        case 0:
          a.mutable_accept();
          break;
        case 1:
          if (pick(2)) {
            a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_REJECTED);
            a.mutable_dismiss()->set_note("不属实");
          } else {
            a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_DUPLICATE);
            a.mutable_dismiss()->set_duplicate_of(
                ids_[0] == a.case_id() ? ids_.back() : ids_[0]);
            if (a.dismiss().duplicate_of() == a.case_id()) continue;
          }
          break;
        case 2: {
          v1::Assignment* as = a.mutable_assign();
          as->set_unit_id(units[pick(4)]);
          as->mutable_person()->set_name("李四");
          as->mutable_person()->set_post("主任");
          as->mutable_deadline()->set_seconds(later);
          as->set_mechanism(v1::MECHANISM_TOP_LEADER);
          as->set_assigned_by("区委书记");
          break;
        }
        case 3:
          a.mutable_submit_rectification()->set_text(
              "已整改，\"AB岗\",\n值班制度");
          break;
        case 4: {
          v1::Evaluation* ev = a.mutable_evaluate();
          ev->set_rating(static_cast<v1::Rating>(1 + pick(3)));
          if (ev->rating() == v1::RATING_UNSATISFIED) {
            ev->set_comment("仍有问题");
            ev->mutable_new_deadline()->set_seconds(later);
          }
          break;
        }
        case 5:
          a.mutable_close()->set_note("销号");
          break;
        default: {
          v1::Escalation* e = a.mutable_escalate();
          e->set_kind(static_cast<v1::EscalationKind>(1 + pick(3)));
          e->set_subject("镇长");
          break;
        }
      }
      const absl::Status s = store_->Run([&](Txn& txn) {
        return ApplyCaseAction(txn, "admin", a, now_, Limits()).status();
      });
      ASSERT_TRUE(s.ok() || s.code() == absl::StatusCode::kFailedPrecondition)
          << s;
    }
  }

  Counters Stored() {
    Counters out;
    EXPECT_TRUE(store_
                    ->ScanCounters("", "\xff",
                                   [&](absl::string_view k, int64_t v) {
                                     if (v != 0) out[std::string(k)] = v;
                                     return true;
                                   })
                    .ok());
    return out;
  }
  std::vector<v1::Event> Events() {
    auto events = store_->ReadEvents(0, 1 << 20);
    EXPECT_TRUE(events.ok());
    return events.ok() ? *events : std::vector<v1::Event>();
  }
  v1::GetReportResponse Report(const CaseViewer& viewer,
                               v1::GetReportRequest request) {
    auto r = GetReport(*store_, *store_, viewer, request, now_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::GetReportResponse();
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  v1::Principal inspector_;
  uint64_t client_seq_ = 0;
  absl::Time now_ = kStart;
  std::vector<std::string> ids_;
  const CaseViewer all_{CaseViewer::Kind::kAll, ""};
};

TEST_F(AggregatesTest, CountersEqualTheEventsAfterRestartAndRebuild) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    RandomHistory(seed, 250);
    const Counters want = Recompute(Events());
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(Stored(), want) << "seed " << seed;
  }
  const Counters want = Recompute(Events());
  Reopen();
  EXPECT_EQ(Stored(), want);
  const absl::Status check = store_->CheckDerivedState();
  EXPECT_TRUE(check.ok()) << check;
  auto rebuilt = store_->RebuildAggregates(false);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->differences, 0u);
  EXPECT_EQ(rebuilt->counters, want.size());
  EXPECT_EQ(Stored(), want);
}

TEST_F(AggregatesTest, AFailedJobLeavesNoCounters) {
  RandomHistory(3, 40);
  const Counters before = Stored();
  // A job that reports a finding (adding to counters), then fails.
  v1::PushRequest push;
  v1::Mutation* m = push.add_mutations();
  m->set_client_id("c-1");
  m->set_client_seq(client_seq_ + 1);
  v1::Finding* f = m->mutable_report_finding()->mutable_finding();
  f->set_id(NewUuidV7(now_));
  f->set_unit_id("u1");
  f->set_category_id("c1");
  f->set_summary("窗口无人");
  f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(now_));
  const absl::Status s = store_->Run([&](Txn& txn) -> absl::Status {
    FL_RETURN_IF_ERROR(
        ApplyPush(txn, inspector_, push, now_, Limits()).status());
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Stored(), before);
  EXPECT_TRUE(store_->CheckDerivedState().ok());
}

TEST_F(AggregatesTest, RebuildReportsThenCorrectsTamperedCounters) {
  RandomHistory(7, 150);
  const Counters want = Recompute(Events());
  const std::string victim = want.begin()->first;
  // An intruder (or a bug) changes one counter and adds another.
  store_.reset();
  WithRawDb(dir_, [&](rocksdb::DB* raw, const RawFamily& family) {
    rocksdb::ColumnFamilyHandle* aggregates = family("aggregates");
    ASSERT_TRUE(raw->Put({}, aggregates, victim, EncodeCounter(1000)).ok());
    ASSERT_TRUE(
        raw->Put({}, aggregates, "r/sz/s/2026-01/05/c1", EncodeCounter(3))
            .ok());
  });
  Reopen();
  const absl::Status check = store_->CheckDerivedState();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(check.message()).find("aggregates: 2 counters"),
            std::string::npos)
      << check;

  const Counters tampered = Stored();
  auto report = store_->RebuildAggregates(/*check_only=*/true);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->differences, 2u);
  EXPECT_FALSE(report->corrected);
  ASSERT_FALSE(report->examples.empty());
  EXPECT_EQ(Stored(), tampered);  // check mode changes nothing

  auto fixed = store_->RebuildAggregates(/*check_only=*/false);
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_EQ(fixed->differences, 2u);
  EXPECT_TRUE(fixed->corrected);
  EXPECT_EQ(Stored(), want);
  EXPECT_TRUE(store_->CheckDerivedState().ok());
  // Events after the rebuild are counted on top of the corrected values.
  RandomHistory(8, 50);
  EXPECT_EQ(Stored(), Recompute(Events()));
}

// The figures of a report as one comparable list.
std::vector<int64_t> Numbers(const v1::ReportFigures& f) {
  std::vector<int64_t> n = {
      static_cast<int64_t>(f.cases()),
      static_cast<int64_t>(f.open()),
      static_cast<int64_t>(f.reported()),
      static_cast<int64_t>(f.assigned()),
      static_cast<int64_t>(f.rectification_reported()),
      static_cast<int64_t>(f.closed()),
      static_cast<int64_t>(f.closed_on_time()),
      static_cast<int64_t>(f.evaluated_satisfied()),
      static_cast<int64_t>(f.evaluated_basically_satisfied()),
      static_cast<int64_t>(f.evaluated_unsatisfied()),
      static_cast<int64_t>(f.escalated_talk()),
      static_cast<int64_t>(f.escalated_public_notice()),
      static_cast<int64_t>(f.escalated_discipline()),
      static_cast<int64_t>(f.dismissed_duplicate()),
      static_cast<int64_t>(f.dismissed_rejected()),
      static_cast<int64_t>(f.overdue())};
  std::map<int, int64_t> by_status;
  for (const auto& s : f.by_status()) by_status[s.status()] = s.cases();
  for (int s = 0; s < 9; ++s) n.push_back(by_status[s]);
  return n;
}

void AddTo(std::vector<int64_t>& sum, const std::vector<int64_t>& n) {
  if (sum.empty()) sum.assign(n.size(), 0);
  for (size_t i = 0; i < n.size(); ++i) sum[i] += n[i];
}

TEST_F(AggregatesTest, ADistrictIsTheSumOfItsTowns) {
  RandomHistory(11, 400);
  std::map<std::string, std::vector<int64_t>> districts, towns_summed, cities;
  v1::GetReportRequest request;
  request.add_by(v1::REPORT_DIMENSION_REGION);
  request.set_region_level(1);
  const v1::GetReportResponse report1 = Report(all_, request);
  for (const auto& row : report1.rows()) {
    districts[row.keys(0)] = Numbers(row.figures());
    AddTo(cities["sz"], Numbers(row.figures()));
  }
  request.set_region_level(2);
  const v1::GetReportResponse report2 = Report(all_, request);
  for (const auto& row : report2.rows()) {
    AddTo(towns_summed[kParent.at(row.keys(0))], Numbers(row.figures()));
  }
  ASSERT_EQ(districts.size(), 2u);
  EXPECT_EQ(districts, towns_summed);
  request.set_region_level(0);
  const v1::GetReportResponse city = Report(all_, request);
  ASSERT_EQ(city.rows_size(), 1);
  EXPECT_EQ(Numbers(city.rows(0).figures()), cities["sz"]);
  EXPECT_EQ(Numbers(city.total()), cities["sz"]);
  // The rates follow from the counts.
  const auto& t = city.total();
  ASSERT_GT(t.assigned(), 0u);
  EXPECT_DOUBLE_EQ(t.rectification_rate(),
                   static_cast<double>(t.closed()) / t.assigned());
}

TEST_F(AggregatesTest, OverdueMatchesTheCases) {
  RandomHistory(5, 300);
  // Each open case with a deadline in force before now, seen through the
  // cases themselves.
  std::map<std::string, int64_t> want;
  std::map<std::string, int64_t> want_by_category;  // region/category
  for (const std::string& id : ids_) {
    auto c = store_->ReadCase(id);
    ASSERT_TRUE(c.ok() && c->has_value());
    if (!IsOverdue(**c, now_)) continue;
    for (const auto& r : (*c)->region_path()) {
      ++want[r];
      ++want_by_category[absl::StrCat(r, "/", (*c)->category_id())];
    }
    ++want[CountingUnit(**c)];
    ++want_by_category[(*c)->category_id()];
  }
  ASSERT_FALSE(want.empty());
  // By category, alone and within each district, and filtered to one.
  v1::GetReportRequest by_category;
  by_category.add_by(v1::REPORT_DIMENSION_CATEGORY);
  int rows = 0;
  const v1::GetReportResponse report1 = Report(all_, by_category);
  for (const auto& row : report1.rows()) {
    EXPECT_EQ(row.figures().overdue(), want_by_category[row.keys(0)])
        << row.keys(0);
    rows += row.figures().overdue() > 0;
  }
  EXPECT_GT(rows, 1);
  v1::GetReportRequest by_region_category = by_category;
  by_region_category.add_by(v1::REPORT_DIMENSION_REGION);
  by_region_category.set_region_level(1);
  const v1::GetReportResponse report2 = Report(all_, by_region_category);
  for (const auto& row : report2.rows()) {
    const std::string key = absl::StrCat(row.keys(1), "/", row.keys(0));
    EXPECT_EQ(row.figures().overdue(), want_by_category[key]) << key;
  }
  for (const auto& [category, n] : want_by_category) {
    if (category.find('/') != std::string::npos) continue;
    v1::GetReportRequest one;
    one.set_category_id(category);
    EXPECT_EQ(Report(all_, one).total().overdue(), n) << category;
  }
  for (int level : {1, 2}) {
    v1::GetReportRequest request;
    request.add_by(v1::REPORT_DIMENSION_REGION);
    request.set_region_level(level);
    const v1::GetReportResponse report3 = Report(all_, request);
    for (const auto& row : report3.rows()) {
      EXPECT_EQ(row.figures().overdue(), want[row.keys(0)]) << row.keys(0);
    }
  }
  v1::GetReportRequest by_unit;
  by_unit.add_by(v1::REPORT_DIMENSION_UNIT);
  const v1::GetReportResponse report4 = Report(all_, by_unit);
  for (const auto& row : report4.rows()) {
    EXPECT_EQ(row.figures().overdue(), want[row.keys(0)]) << row.keys(0);
  }
  EXPECT_EQ(Report(all_, {}).total().overdue(), want["sz"]);

  // ListOverdue: the same cases, the latest first.
  v1::ListOverdueRequest list;
  list.set_page_size(7);
  int64_t seen = 0, last_deadline = 0;
  do {
    auto page = ListOverdue(*store_, all_, list, now_);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& o : page->cases()) {
      EXPECT_GE(o.case_().deadline().seconds(), last_deadline);
      last_deadline = o.case_().deadline().seconds();
      EXPECT_EQ(o.days_late(),
                (absl::ToUnixSeconds(now_) - last_deadline) / 86400);
      ++seen;
    }
    list.set_page_cursor(page->next_page_cursor());
  } while (!list.page_cursor().empty());
  EXPECT_EQ(seen, want["sz"]);
}

TEST_F(AggregatesTest, ASupervisorSeesOnlyTheirDistrict) {
  RandomHistory(13, 300);
  const CaseViewer d1{CaseViewer::Kind::kRegion, "d1"};
  v1::GetReportRequest admin_request;
  admin_request.add_by(v1::REPORT_DIMENSION_REGION);
  admin_request.set_region_level(1);
  std::vector<int64_t> d1_figures;
  const v1::GetReportResponse report5 = Report(all_, admin_request);
  for (const auto& row : report5.rows()) {
    if (row.keys(0) == "d1") d1_figures = Numbers(row.figures());
  }
  EXPECT_EQ(Numbers(Report(d1, {}).total()), d1_figures);

  v1::GetReportRequest by_region;
  by_region.add_by(v1::REPORT_DIMENSION_REGION);
  by_region.add_by(v1::REPORT_DIMENSION_STATUS);
  const v1::GetReportResponse report6 = Report(d1, by_region);
  for (const auto& row : report6.rows()) {
    EXPECT_TRUE(row.keys(0) == "t1" || row.keys(0) == "t2") << row.keys(0);
  }
  v1::GetReportRequest other;
  other.set_region_id("d2");
  EXPECT_EQ(GetReport(*store_, *store_, d1, other, now_).status().code(),
            absl::StatusCode::kNotFound);
  other.set_region_id("sz");  // above the scope: no wider view either
  EXPECT_EQ(GetReport(*store_, *store_, d1, other, now_).status().code(),
            absl::StatusCode::kNotFound);
  other.set_region_id("");
  other.set_unit_id("u3");
  EXPECT_EQ(GetReport(*store_, *store_, d1, other, now_).status().code(),
            absl::StatusCode::kNotFound);
  other.set_unit_id("");
  other.add_by(v1::REPORT_DIMENSION_REGION);
  other.set_region_level(0);
  EXPECT_EQ(GetReport(*store_, *store_, d1, other, now_).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::RankUnitsRequest rank;
  rank.set_by(v1::RANK_BY_OPEN);
  auto ranked = RankUnits(*store_, *store_, d1, rank, now_);
  ASSERT_TRUE(ranked.ok()) << ranked.status();
  for (const auto& u : ranked->units()) {
    EXPECT_TRUE(u.unit_id() == "u1" || u.unit_id() == "u2") << u.unit_id();
  }
  // Inspectors get nothing.
  EXPECT_EQ(GetReport(*store_, *store_, CaseViewer{}, {}, now_).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AggregatesTest, ReportRejectsBadRequests) {
  auto code = [&](const v1::GetReportRequest& r) {
    return GetReport(*store_, *store_, all_, r, now_).status();
  };
  v1::GetReportRequest r;
  r.add_by(v1::REPORT_DIMENSION_CATEGORY);
  r.add_by(v1::REPORT_DIMENSION_CATEGORY);
  EXPECT_EQ(code(r).message(), "by[1]: repeats by[0]");
  r.clear_by();
  r.set_period_from("2026-13");
  EXPECT_EQ(code(r).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(code(r).message().find("period_from"), absl::string_view::npos);
  r.set_period_from("2026-10");
  r.set_period_to("2026-09");
  EXPECT_NE(code(r).message().find("period_to"), absl::string_view::npos);
  r.clear_period_to();
  r.set_region_id("nowhere");
  EXPECT_EQ(code(r).code(), absl::StatusCode::kNotFound);
}

// RFC 4180: fields separated by commas, records by CRLF, quoted fields may
// hold commas, CR, LF and doubled quotes.
std::vector<std::vector<std::string>> ParseCsv(absl::string_view in) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char ch = in[i];
    std::string& field = rows.back().back();
    if (quoted) {
      if (ch == '"' && i + 1 < in.size() && in[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field.push_back(ch);
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      rows.back().emplace_back();
    } else if (ch == '\r' && i + 1 < in.size() && in[i + 1] == '\n') {
      ++i;
      rows.emplace_back(1);
    } else {
      field.push_back(ch);
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

TEST_F(AggregatesTest, CsvExportParsesBackAndMatchesListCases) {
  RandomHistory(17, 300);
  for (const CaseViewer& viewer :
       {all_, CaseViewer{CaseViewer::Kind::kRegion, "d2"},
        CaseViewer{CaseViewer::Kind::kResponsibleUnit, "u1"}}) {
    v1::ExportCasesRequest request;
    request.set_format(v1::EXPORT_FORMAT_CSV);
    request.mutable_filter()->set_category_id("c1");
    request.mutable_filter()->set_page_size(10);
    CaseExporter exporter(*store_, *store_, viewer, request, now_);
    std::string csv;
    int chunks = 0;
    for (;;) {
      auto chunk = exporter.Next(/*min_bytes=*/4096);
      ASSERT_TRUE(chunk.ok()) << chunk.status();
      if (!chunk->has_value()) break;
      csv += **chunk;
      ++chunks;
    }
    const auto rows = ParseCsv(csv);
    ASSERT_FALSE(rows.empty());
    const std::vector<absl::string_view>& columns = ExportColumns();
    ASSERT_EQ(rows[0].size(), columns.size());
    EXPECT_EQ(rows[0][0], "id");

    v1::ListCasesRequest list = request.filter();
    list.set_page_size(500);
    std::map<std::string, v1::Case> listed;
    do {
      auto page = ListCases(*store_, viewer, list, now_);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const auto& c : page->cases()) listed[c.id()] = c;
      list.set_page_cursor(page->next_page_cursor());
    } while (!list.page_cursor().empty());
    ASSERT_FALSE(listed.empty());
    EXPECT_EQ(rows.size() - 1, listed.size());
    EXPECT_EQ(exporter.rows(), listed.size());

    const size_t text_column =
        std::find(columns.begin(), columns.end(), "rectification_text") -
        columns.begin();
    const size_t unit_name_column =
        std::find(columns.begin(), columns.end(), "unit_name") -
        columns.begin();
    int with_text = 0;
    for (size_t i = 1; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i].size(), columns.size()) << "row " << i;
      const v1::Case& c = listed.at(rows[i][0]);
      EXPECT_EQ(rows[i][text_column], c.rectification().text());
      EXPECT_EQ(rows[i][unit_name_column], absl::StrCat("单位", c.unit_id()));
      if (!c.rectification().text().empty()) ++with_text;
    }
    if (viewer.kind == CaseViewer::Kind::kAll) {
      EXPECT_GT(with_text, 0);  // the quoting was exercised
      EXPECT_GT(chunks, 1);
    }
  }
}

TEST_F(AggregatesTest, JsonLinesExportHasOneObjectPerCase) {
  RandomHistory(19, 120);
  v1::ExportCasesRequest request;
  request.set_format(v1::EXPORT_FORMAT_JSONL);
  CaseExporter exporter(*store_, *store_, all_, request, now_);
  std::string out;
  for (;;) {
    auto chunk = exporter.Next();
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk->has_value()) break;
    out += **chunk;
  }
  EXPECT_EQ(static_cast<size_t>(std::count(out.begin(), out.end(), '\n')),
            ids_.size());
  EXPECT_NE(out.find("\\\"AB岗\\\",\\n值班制度"), std::string::npos);
  request.set_format(v1::EXPORT_FORMAT_UNSPECIFIED);
  CaseExporter bad(*store_, *store_, all_, request, now_);
  EXPECT_EQ(bad.Next().status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fieldledger::storage
