#include "core/case_query.h"

#include <set>
#include <string>
#include <vector>

#include "core/admin.h"
#include "core/memory_txn.h"
#include "core/supervision.h"
#include "core/sync.h"
#include "core/test_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using fixtures::kNow;
using ::testing::ElementsAreArray;
using ::testing::StartsWith;

// sz (u1) > ns (u2); and a second root gz (u3).
class CaseQueryTest : public ::testing::Test {
 protected:
  CaseQueryTest() {
    EXPECT_TRUE(fixtures::SeedRegistry(txn_).ok());
    AddRegion("ns", "sz");
    AddRegion("gz", "");
    AddUnit("u2", "ns");
    AddUnit("u3", "gz");
    alice_.set_role(v1::ROLE_INSPECTOR);
    alice_.set_name("i-alice");
    alice_.set_client_id("c-alice");
  }

  void AddRegion(const std::string& id, const std::string& parent) {
    v1::Region r;
    r.set_id(id);
    r.set_name(id);
    r.set_parent_id(parent);
    EXPECT_TRUE(CreateRegion(txn_, "admin", r, kNow, limits_).ok());
  }
  void AddUnit(const std::string& id, const std::string& region) {
    v1::Unit u;
    u.set_id(id);
    u.set_name(id);
    u.set_region_id(region);
    EXPECT_TRUE(CreateUnit(txn_, "admin", u, kNow, limits_).ok());
  }

  // Reports a finding in `unit`, received at `at`; returns its id.
  std::string Report(const std::string& unit, absl::Time at) {
    v1::PushRequest request;
    v1::Mutation m = fixtures::ReportMutation("c-alice", ++seq_);
    m.mutable_report_finding()->mutable_finding()->set_unit_id(unit);
    *request.add_mutations() = m;
    auto reply = ApplyPush(txn_, alice_, request, at, limits_);
    EXPECT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->results(0).outcome(), v1::OUTCOME_APPLIED);
    return m.report_finding().finding().id();
  }

  void AcceptAndAssign(const std::string& id, const std::string& unit,
                       absl::Time deadline) {
    v1::CaseAction a;
    a.set_case_id(id);
    a.mutable_accept();
    ASSERT_TRUE(ApplyCaseAction(txn_, "admin", a, kNow, limits_).ok());
    v1::CaseAction b;
    b.set_case_id(id);
    b.mutable_assign()->set_unit_id(unit);
    b.mutable_assign()->mutable_person()->set_name("李四");
    b.mutable_assign()->mutable_person()->set_post("主任");
    b.mutable_assign()->mutable_deadline()->set_seconds(
        absl::ToUnixSeconds(deadline));
    b.mutable_assign()->set_mechanism(v1::MECHANISM_TOP_LEADER);
    b.mutable_assign()->set_assigned_by("书记");
    auto s = ApplyCaseAction(txn_, "admin", b, kNow, limits_);
    ASSERT_TRUE(s.ok()) << s.status();
  }

  // Every case of every page, following the cursors.
  std::vector<std::string> ListAll(const CaseViewer& viewer,
                                   v1::ListCasesRequest request,
                                   absl::Time now = kNow,
                                   size_t max_scanned = 20000) {
    std::vector<std::string> out;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = ListCases(txn_, viewer, request, now, max_scanned);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const v1::Case& c : page->cases()) out.push_back(c.id());
      if (page->next_page_cursor().empty()) break;
      request.set_page_cursor(page->next_page_cursor());
    }
    return out;
  }

  MemoryTxn txn_;
  Limits limits_;
  v1::Principal alice_;
  uint64_t seq_ = 0;
};

const CaseViewer kAll{CaseViewer::Kind::kAll, ""};

TEST_F(CaseQueryTest, PagesCoverEveryCaseOnceInReportOrder) {
  std::vector<std::string> want;
  const char* units[] = {"u1", "u2", "u3"};
  for (int i = 0; i < 10; ++i) {
    want.push_back(Report(units[i % 3], kNow + absl::Minutes(i)));
  }
  for (uint32_t size : {1u, 3u, 4u, 50u}) {
    v1::ListCasesRequest request;
    request.set_page_size(size);
    EXPECT_THAT(ListAll(kAll, request), ElementsAreArray(want)) << size;
  }
}

TEST_F(CaseQueryTest, ACursorGoesOnlyWithItsFilters) {
  for (int i = 0; i < 4; ++i) Report("u1", kNow + absl::Minutes(i));
  v1::ListCasesRequest request;
  request.set_page_size(2);
  auto first = ListCases(txn_, kAll, request, kNow);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_cursor().empty());
  request.set_page_cursor(first->next_page_cursor());
  request.set_page_size(3);  // another page size is fine
  auto next = ListCases(txn_, kAll, request, kNow);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->cases_size(), 2);
  request.set_unit_id("u1");  // other filters are not
  auto other = ListCases(txn_, kAll, request, kNow);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()),
              StartsWith("page_cursor: made for other filters"));
}

TEST_F(CaseQueryTest, SupervisorSeesOnlyItsSubtree) {
  const std::string a = Report("u1", kNow);
  const std::string b = Report("u2", kNow + absl::Minutes(1));
  const std::string c = Report("u3", kNow + absl::Minutes(2));
  const CaseViewer sz{CaseViewer::Kind::kRegion, "sz"};
  const CaseViewer ns{CaseViewer::Kind::kRegion, "ns"};
  v1::ListCasesRequest request;
  EXPECT_THAT(ListAll(sz, request), ElementsAreArray({a, b}));
  EXPECT_THAT(ListAll(ns, request), ElementsAreArray({b}));
  request.set_region_id("sz");  // wider than its own: its own applies
  EXPECT_THAT(ListAll(ns, request), ElementsAreArray({b}));
  request.set_region_id("gz");  // elsewhere: nothing
  EXPECT_TRUE(ListAll(ns, request).empty());
  request.clear_region_id();
  request.set_unit_id("u3");
  EXPECT_TRUE(ListAll(sz, request).empty());

  EXPECT_TRUE(GetCaseView(txn_, ns, b).ok());
  auto hidden = GetCaseView(txn_, ns, a);
  auto missing = GetCaseView(txn_, ns, "nope");
  EXPECT_EQ(hidden.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(hidden.status().message()),
              StartsWith("case_id: no case"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  (void)c;
}

TEST_F(CaseQueryTest, OverdueIsTheDeadlineRangeUpToNow) {
  const std::string a = Report("u1", kNow);
  const std::string b = Report("u2", kNow);
  Report("u3", kNow);
  AcceptAndAssign(a, "u1", kNow + absl::Hours(48));
  AcceptAndAssign(b, "u2", kNow + absl::Hours(24));
  v1::ListCasesRequest request;
  request.set_overdue(true);
  EXPECT_TRUE(ListAll(kAll, request, kNow + absl::Hours(1)).empty());
  EXPECT_THAT(ListAll(kAll, request, kNow + absl::Hours(30)),
              ElementsAreArray({b}));
  // Ordered by deadline.
  EXPECT_THAT(ListAll(kAll, request, kNow + absl::Hours(50)),
              ElementsAreArray({b, a}));
  request.set_region_id("ns");
  EXPECT_THAT(ListAll(kAll, request, kNow + absl::Hours(50)),
              ElementsAreArray({b}));
}

TEST_F(CaseQueryTest, StatusAndCategoryFilters) {
  const std::string a = Report("u1", kNow);
  const std::string b = Report("u1", kNow + absl::Minutes(1));
  AcceptAndAssign(b, "u2", kNow + absl::Hours(48));
  v1::ListCasesRequest request;
  request.set_status(v1::CASE_STATUS_ASSIGNED);
  EXPECT_THAT(ListAll(kAll, request), ElementsAreArray({b}));
  request.set_status(v1::CASE_STATUS_REPORTED);
  EXPECT_THAT(ListAll(kAll, request), ElementsAreArray({a}));
  request.clear_status();
  request.set_category_id("commuting");
  EXPECT_THAT(ListAll(kAll, request), ElementsAreArray({a, b}));
  request.set_category_id("nope");
  EXPECT_EQ(ListCases(txn_, kAll, request, kNow).status().code(),
            absl::StatusCode::kNotFound);
  request.clear_category_id();
  request.set_page_cursor("garbage!");
  auto bad = ListCases(txn_, kAll, request, kNow);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), StartsWith("page_cursor"));
  request.clear_page_cursor();
  request.set_page_size(501);
  EXPECT_EQ(ListCases(txn_, kAll, request, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CaseQueryTest, StatusFilterInASubtreeSkipsOtherRegionsCases) {
  // Many gz cases between the ns ones, in the one status index.
  std::vector<std::string> want;
  for (int i = 0; i < 30; ++i) {
    const bool in_ns = i % 10 == 9;
    const std::string id = Report(in_ns ? "u2" : "u3", kNow + absl::Minutes(i));
    if (in_ns) want.push_back(id);
  }
  const CaseViewer ns{CaseViewer::Kind::kRegion, "ns"};
  v1::ListCasesRequest request;
  request.set_status(v1::CASE_STATUS_REPORTED);
  request.set_page_size(2);
  EXPECT_THAT(ListAll(ns, request), ElementsAreArray(want));
  // Reading at most 4 index entries per call: short pages, none lost.
  EXPECT_THAT(ListAll(ns, request, kNow, 4), ElementsAreArray(want));
  auto first = ListCases(txn_, ns, request, kNow, 4);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->cases_size(), 0);
  EXPECT_FALSE(first->next_page_cursor().empty());
}

TEST_F(CaseQueryTest, UnitOfficerSeesItsAssignedCasesRedacted) {
  const absl::Time at = kNow + absl::Hours(5) + absl::Minutes(17);
  const std::string a = Report("u1", at);
  const std::string b = Report("u1", at);
  AcceptAndAssign(a, "u2", kNow + absl::Hours(48));
  const CaseViewer officer{CaseViewer::Kind::kResponsibleUnit, "u2"};
  const CaseViewer other{CaseViewer::Kind::kResponsibleUnit, "u1"};
  EXPECT_THAT(ListAll(officer, {}), ElementsAreArray({a}));
  EXPECT_TRUE(ListAll(other, {}).empty());
  auto page = ListCases(txn_, officer, {}, kNow);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->cases(0).reported_at().seconds() % 86400, 0);

  auto view = GetCaseView(txn_, officer, a);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->case_().reported_at().seconds() % 86400, 0);
  ASSERT_GE(view->history_size(), 3);
  for (const v1::Event& event : view->history()) {
    EXPECT_NE(event.actor(), "i-alice");
    EXPECT_EQ(event.SerializeAsString().find("i-alice"), std::string::npos);
    if (event.has_finding_reported()) {
      EXPECT_EQ(event.recorded_at().seconds() % 86400, 0);
      EXPECT_EQ(event.finding_reported().observed_at().seconds() % 86400, 0);
    }
  }
  EXPECT_EQ(GetCaseView(txn_, officer, b).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CaseRedactionTest, UnitsSeeOnlyTheRectificationReportsEvidence) {
  v1::Case c;
  for (auto source :
       {v1::EVIDENCE_SOURCE_FINDING, v1::EVIDENCE_SOURCE_RECTIFICATION,
        v1::EVIDENCE_SOURCE_FINDING}) {
    v1::CaseEvidence* e = c.add_evidence();
    e->set_source(source);
    e->mutable_ref()->set_sha256(std::string(64, 'a' + c.evidence_size()));
  }
  RedactCaseForUnit(c);
  ASSERT_EQ(c.evidence_size(), 1);
  EXPECT_EQ(c.evidence(0).ref().sha256(), std::string(64, 'c'));

  v1::Event event;
  event.mutable_finding_reported()->add_evidence()->set_sha256("x");
  RedactEventForUnit(event);
  EXPECT_EQ(event.finding_reported().evidence_size(), 0);
}

}  // namespace
}  // namespace fieldledger
