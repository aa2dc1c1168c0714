#include "core/sync.h"

#include <string>
#include <vector>

#include "core/admin.h"
#include "core/memory_txn.h"
#include "core/test_fixtures.h"
#include "core/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using ::testing::HasSubstr;

using fixtures::kNow;

class SyncTest : public ::testing::Test {
 protected:
  SyncTest() {
    EXPECT_TRUE(fixtures::SeedRegistry(txn_).ok());
    alice_.set_role(v1::ROLE_INSPECTOR);
    alice_.set_name("i-alice");
    alice_.set_client_id("c-alice");
    bob_ = alice_;
    bob_.set_name("i-bob");
    bob_.set_client_id("c-bob");
  }

  static v1::Mutation Report(const v1::Principal& who, uint64_t seq) {
    return fixtures::ReportMutation(who.client_id(), seq);
  }

  absl::StatusOr<v1::PushResponse> Push(const v1::Principal& who,
                                        std::vector<v1::Mutation> ms) {
    v1::PushRequest request;
    for (auto& m : ms) *request.add_mutations() = std::move(m);
    return ApplyPush(txn_, who, request, kNow, limits_);
  }

  MemoryTxn txn_;
  Limits limits_;
  v1::Principal alice_, bob_;
};

TEST_F(SyncTest, AppliesInOrderAndAdvancesTheMark) {
  auto reply = Push(alice_, {Report(alice_, 1), Report(alice_, 2)});
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->results_size(), 2);
  EXPECT_EQ(reply->results(0).outcome(), v1::OUTCOME_APPLIED);
  EXPECT_EQ(reply->results(0).event_seq(), 3u);  // after 3 registry events
  EXPECT_EQ(reply->results(1).event_seq(), 4u);
  EXPECT_EQ(reply->high_water_mark(), 2u);
  EXPECT_EQ(txn_.findings.size(), 2u);
  EXPECT_EQ(txn_.events.back().actor(), "i-alice");
  EXPECT_EQ(txn_.events.back().origin().client_seq(), 2u);
}

TEST_F(SyncTest, ReplayIsAcknowledgedNotReapplied) {
  const v1::Mutation m1 = Report(alice_, 1), m2 = Report(alice_, 2);
  ASSERT_TRUE(Push(alice_, {m1}).ok());
  const size_t events = txn_.events.size();
  auto reply = Push(alice_, {m1, m2});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->results(0).outcome(), v1::OUTCOME_ALREADY_APPLIED);
  EXPECT_EQ(reply->results(0).event_seq(), events - 1);
  EXPECT_EQ(reply->results(1).outcome(), v1::OUTCOME_APPLIED);
  EXPECT_EQ(txn_.events.size(), events + 1);
  EXPECT_EQ(reply->high_water_mark(), 2u);
}

TEST_F(SyncTest, GapIsRefusedWholeWithTheMark) {
  ASSERT_TRUE(Push(alice_, {Report(alice_, 1)}).ok());
  const size_t events = txn_.events.size();
  auto reply = Push(alice_, {Report(alice_, 3), Report(alice_, 4)});
  ASSERT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(reply.status().message()),
              HasSubstr("resend from 2"));
  EXPECT_EQ(HighWaterMarkOf(reply.status()), 1u);
  EXPECT_EQ(txn_.events.size(), events);
  EXPECT_EQ(txn_.high_water_marks["c-alice"], 1u);
}

TEST_F(SyncTest, RejectionIsPermanentAndAdvancesTheMark) {
  v1::Mutation bad = Report(alice_, 1);
  bad.mutable_report_finding()->mutable_finding()->set_unit_id("nowhere");
  auto reply = Push(alice_, {bad, Report(alice_, 2)});
  ASSERT_TRUE(reply.ok()) << reply.status();
  const v1::MutationResult& r = reply->results(0);
  EXPECT_EQ(r.outcome(), v1::OUTCOME_REJECTED);
  EXPECT_EQ(r.rejection().field(), "report_finding.finding.unit_id");
  EXPECT_EQ(r.rejection().message(), "no unit \"nowhere\"");
  EXPECT_EQ(r.rejection().code(),
            static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(reply->results(1).outcome(), v1::OUTCOME_APPLIED);
  EXPECT_EQ(reply->high_water_mark(), 2u);

  // The replay gets the same verdict, not a second try.
  txn_.units["nowhere"].set_id("nowhere");
  auto again = Push(alice_, {bad});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->results(0).outcome(), v1::OUTCOME_REJECTED);
  EXPECT_EQ(again->results(0).rejection().field(),
            "report_finding.finding.unit_id");
}

TEST_F(SyncTest, RequestLevelChecksChangeNothing) {
  const size_t events = txn_.events.size();
  limits_.max_push_mutations = 2;
  auto over =
      Push(alice_, {Report(alice_, 1), Report(alice_, 2), Report(alice_, 3)});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(over.status().message()),
              HasSubstr("mutations: 3 mutations, over the limit of 2"));

  auto foreign = Push(alice_, {Report(alice_, 1), Report(bob_, 2)});
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(foreign.status().message()),
              HasSubstr("mutations[1].client_id"));

  auto holes = Push(alice_, {Report(alice_, 1), Report(alice_, 3)});
  EXPECT_EQ(holes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(holes.status().message()),
      HasSubstr("mutations[1].client_seq: must be 2 (consecutive), got 3"));

  auto zero = Push(alice_, {Report(alice_, 0)});
  EXPECT_THAT(std::string(zero.status().message()),
              HasSubstr("mutations[0].client_seq: must be at least 1"));

  EXPECT_EQ(txn_.events.size(), events);
  EXPECT_TRUE(txn_.high_water_marks.empty());
}

TEST_F(SyncTest, EmptyPushReportsTheMark) {
  ASSERT_TRUE(Push(alice_, {Report(alice_, 1)}).ok());
  auto reply = Push(alice_, {});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->high_water_mark(), 1u);
}

TEST_F(SyncTest, DuplicateFindingIdIsRejected) {
  const v1::Mutation m = Report(alice_, 1);
  v1::Mutation copy = Report(bob_, 1);
  *copy.mutable_report_finding() = m.report_finding();
  ASSERT_TRUE(Push(alice_, {m}).ok());
  auto reply = Push(bob_, {copy});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->results(0).outcome(), v1::OUTCOME_REJECTED);
  EXPECT_EQ(reply->results(0).rejection().code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));
}

TEST_F(SyncTest, AmendAndWithdrawOwnReportedFindingsOnly) {
  const v1::Mutation report = Report(alice_, 1);
  const std::string id = report.report_finding().finding().id();
  ASSERT_TRUE(Push(alice_, {report}).ok());

  v1::Mutation amend;
  amend.set_client_id("c-bob");
  amend.set_client_seq(1);
  *amend.mutable_amend_finding()->mutable_finding() =
      report.report_finding().finding();
  amend.mutable_amend_finding()->mutable_finding()->set_summary("改过的");
  auto by_bob = Push(bob_, {amend});
  ASSERT_TRUE(by_bob.ok());
  EXPECT_EQ(by_bob->results(0).rejection().field(), "amend_finding.finding.id");

  amend.set_client_id("c-alice");
  amend.set_client_seq(2);
  auto by_alice = Push(alice_, {amend});
  ASSERT_TRUE(by_alice.ok());
  EXPECT_EQ(by_alice->results(0).outcome(), v1::OUTCOME_APPLIED);
  EXPECT_EQ(txn_.findings[id].finding().summary(), "改过的");
  EXPECT_EQ(txn_.findings[id].finding().severity(), v1::SEVERITY_MEDIUM);

  v1::Mutation withdraw;
  withdraw.set_client_id("c-alice");
  withdraw.set_client_seq(3);
  withdraw.mutable_withdraw_finding()->set_finding_id(id);
  withdraw.mutable_withdraw_finding()->set_reason("重复");
  ASSERT_TRUE(Push(alice_, {withdraw}).ok());
  EXPECT_EQ(txn_.cases[id].status(), v1::CASE_STATUS_WITHDRAWN);
  EXPECT_EQ(txn_.feeds["inspector/i-alice"].rbegin()->second.finding().status(),
            v1::FINDING_STATUS_WITHDRAWN);

  amend.set_client_seq(4);
  auto late = Push(alice_, {amend});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->results(0).rejection().code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(late->results(0).rejection().message(),
              HasSubstr("FINDING_STATUS_WITHDRAWN"));
}

TEST_F(SyncTest, MissingPayloadIsRejected) {
  v1::Mutation m;
  m.set_client_id("c-alice");
  m.set_client_seq(1);
  auto reply = Push(alice_, {m});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->results(0).rejection().field(), "payload");
}

class PullTest : public SyncTest {
 protected:
  // Pulls everything for `who` in pages of `limit`.
  std::vector<v1::Change> PullAll(const v1::Principal& who, uint32_t limit,
                                  std::string* cursor) {
    std::vector<v1::Change> out;
    for (;;) {
      v1::PullRequest request;
      request.set_cursor(*cursor);
      request.set_limit(limit);
      auto reply = Pull(txn_, who, request);
      EXPECT_TRUE(reply.ok()) << reply.status();
      EXPECT_FALSE(reply->reset());
      EXPECT_LE(reply->changes_size(), static_cast<int>(limit));
      out.insert(out.end(), reply->changes().begin(), reply->changes().end());
      *cursor = reply->next_cursor();
      if (!reply->more()) return out;
    }
  }
};

TEST_F(PullTest, PagesThroughRegistryAndOwnFindingsInSeqOrder) {
  std::vector<v1::Mutation> mine, theirs;
  for (uint64_t i = 1; i <= 7; ++i) mine.push_back(Report(alice_, i));
  for (uint64_t i = 1; i <= 5; ++i) theirs.push_back(Report(bob_, i));
  ASSERT_TRUE(Push(alice_, mine).ok());
  ASSERT_TRUE(Push(bob_, theirs).ok());

  std::string cursor;
  const std::vector<v1::Change> changes = PullAll(alice_, 3, &cursor);
  ASSERT_EQ(changes.size(), 3u + 7u);  // registry + own findings, not Bob's
  for (size_t i = 1; i < changes.size(); ++i) {
    EXPECT_LT(changes[i - 1].seq(), changes[i].seq());
  }
  EXPECT_TRUE(changes[0].has_region());
  EXPECT_EQ(changes[9].finding().status(), v1::FINDING_STATUS_REPORTED);

  // Nothing new: an empty page and the same position.
  EXPECT_TRUE(PullAll(alice_, 3, &cursor).empty());
  // A new change arrives after the cursor.
  ASSERT_TRUE(Push(alice_, {Report(alice_, 8)}).ok());
  EXPECT_EQ(PullAll(alice_, 3, &cursor).size(), 1u);

  v1::Principal admin;
  admin.set_role(v1::ROLE_ADMIN);
  std::string admin_cursor;
  EXPECT_EQ(PullAll(admin, 500, &admin_cursor).size(), 3u);
}

TEST_F(PullTest, UnservableCursorsGetAReset) {
  std::string cursor;
  PullAll(alice_, 100, &cursor);

  MemoryTxn other;  // another data set
  other.dataset = "another";
  v1::PullRequest request;
  request.set_cursor(cursor);
  auto reply = Pull(other, alice_, request);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->reset());

  request.set_cursor("garbage\xff");
  reply = Pull(txn_, alice_, request);
  EXPECT_TRUE(reply->reset());
  EXPECT_EQ(reply->changes_size(), 3);  // from the start again

  txn_.events.pop_back();  // rolled back past the cursor
  request.set_cursor(cursor);
  reply = Pull(txn_, alice_, request);
  EXPECT_TRUE(reply->reset());
}

TEST_F(SyncTest, InspectorsReadOnlyTheirOwnLedgerEntries) {
  v1::Event own, other;
  own.mutable_origin()->set_client_id("c-alice");
  other.mutable_origin()->set_client_id("c-bob");
  EXPECT_TRUE(CheckEntryVisible(alice_, own.SerializeAsString(), 7).ok());
  const absl::Status denied =
      CheckEntryVisible(alice_, other.SerializeAsString(), 8);
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "leaf 8 is not the caller's; inspectors may read only their own");
  EXPECT_EQ(CheckEntryVisible(alice_, "not an event", 9).code(),
            absl::StatusCode::kPermissionDenied);
  v1::Principal auditor;
  auditor.set_role(v1::ROLE_AUDITOR);
  EXPECT_TRUE(CheckEntryVisible(auditor, other.SerializeAsString(), 8).ok());
}

}  // namespace
}  // namespace fieldledger
