#include "storage/outbox.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace fieldledger::storage {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "outbox_test.XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    box_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Reopen() {
    box_.reset();
    OutboxOptions options;
    options.path = dir_ + "/store";
    options.sync = false;
    auto box = Outbox::Open(options);
    ASSERT_TRUE(box.ok()) << box.status();
    box_ = *std::move(box);
  }

  static v1::Mutation Report(const std::string& id) {
    v1::Mutation m;
    m.mutable_report_finding()->mutable_finding()->set_id(id);
    return m;
  }

  static v1::MutationResult Result(uint64_t seq, v1::Outcome outcome) {
    v1::MutationResult r;
    r.set_client_seq(seq);
    r.set_outcome(outcome);
    if (outcome == v1::OUTCOME_REJECTED) {
      r.mutable_rejection()->set_code(5);
      r.mutable_rejection()->set_field("report_finding.finding.unit_id");
      r.mutable_rejection()->set_message("no such unit");
    } else {
      r.set_event_seq(100 + seq);
    }
    return r;
  }

  std::string dir_;
  std::unique_ptr<Outbox> box_;
};

TEST_F(OutboxTest, NumbersFromOneAndPersistsAcrossReopen) {
  EXPECT_EQ(box_->last_seq(), 0u);
  EXPECT_EQ(*box_->Append(Report("a")), 1u);
  EXPECT_EQ(*box_->Append(Report("b")), 2u);
  Reopen();
  EXPECT_EQ(box_->last_seq(), 2u);
  EXPECT_EQ(*box_->Append(Report("c")), 3u);
  auto all = box_->Read(1, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].mutation.client_seq(), 1u);
  EXPECT_EQ((*all)[2].mutation.report_finding().finding().id(), "c");
  EXPECT_EQ((*all)[2].state, MutationState::kPending);
}

TEST_F(OutboxTest, RecordResultsSettlesAndKeepsEntries) {
  for (const char* id : {"a", "b", "c"})
    ASSERT_TRUE(box_->Append(Report(id)).ok());
  ASSERT_TRUE(box_->RecordResults({Result(1, v1::OUTCOME_APPLIED),
                                   Result(2, v1::OUTCOME_REJECTED)},
                                  2)
                  .ok());
  Reopen();
  EXPECT_EQ(box_->acked_mark(), 2u);
  auto unsettled = box_->Unsettled(10);
  ASSERT_TRUE(unsettled.ok());
  ASSERT_EQ(unsettled->size(), 1u);
  EXPECT_EQ((*unsettled)[0].mutation.client_seq(), 3u);

  auto all = box_->Read(1, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].state, MutationState::kAccepted);
  EXPECT_EQ((*all)[0].event_seq, 101u);
  EXPECT_EQ((*all)[1].state, MutationState::kRejected);
  EXPECT_EQ((*all)[1].rejection.field(), "report_finding.finding.unit_id");
  EXPECT_EQ((*all)[2].state, MutationState::kPending);
}

TEST_F(OutboxTest, UnsettledHonoursLimit) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(box_->Append(Report("x")).ok());
  auto two = box_->Unsettled(2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].mutation.client_seq(), 2u);
}

TEST_F(OutboxTest, LowerMarkResendsFromThere) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(box_->Append(Report("x")).ok());
  ASSERT_TRUE(
      box_->RecordResults(
              {Result(1, v1::OUTCOME_APPLIED), Result(2, v1::OUTCOME_APPLIED),
               Result(3, v1::OUTCOME_APPLIED), Result(4, v1::OUTCOME_APPLIED)},
              4)
          .ok());
  EXPECT_TRUE(box_->Unsettled(10)->empty());
  // The server was restored from a backup that knew up to 2.
  ASSERT_TRUE(box_->SetAckedMark(2).ok());
  Reopen();
  auto again = box_->Unsettled(10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].mutation.client_seq(), 3u);
  // A mark past what we have is capped.
  ASSERT_TRUE(box_->SetAckedMark(99).ok());
  EXPECT_EQ(box_->acked_mark(), 4u);
}

TEST_F(OutboxTest, RebaseRenumbersUnsettledPastServerMark) {
  for (const char* id : {"a", "b", "c"})
    ASSERT_TRUE(box_->Append(Report(id)).ok());
  ASSERT_TRUE(box_->RecordResults({Result(1, v1::OUTCOME_APPLIED)}, 1).ok());
  ASSERT_TRUE(box_->Rebase(2).ok());  // Not past us: nothing changes.
  EXPECT_EQ(box_->last_seq(), 3u);
  ASSERT_TRUE(box_->Rebase(10).ok());
  Reopen();
  EXPECT_EQ(box_->acked_mark(), 10u);
  EXPECT_EQ(box_->last_seq(), 12u);
  auto unsettled = box_->Unsettled(10);
  ASSERT_TRUE(unsettled.ok());
  ASSERT_EQ(unsettled->size(), 2u);
  EXPECT_EQ((*unsettled)[0].mutation.client_seq(), 11u);
  EXPECT_EQ((*unsettled)[0].mutation.report_finding().finding().id(), "b");
  EXPECT_EQ(*box_->Append(Report("d")), 13u);
}

TEST_F(OutboxTest, UnspecifiedOutcomeIsRefused) {
  ASSERT_TRUE(box_->Append(Report("a")).ok());
  v1::MutationResult bad;
  bad.set_client_seq(1);
  EXPECT_EQ(box_->RecordResults({bad}, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(box_->acked_mark(), 0u);
}

TEST_F(OutboxTest, CredentialRoundTrip) {
  EXPECT_EQ(box_->GetCredential().status().code(), absl::StatusCode::kNotFound);
  Credential c{"127.0.0.1:1", "tok", "cid", "pseudo", v1::ROLE_INSPECTOR};
  ASSERT_TRUE(box_->PutCredential(c).ok());
  Reopen();
  auto got = box_->GetCredential();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->token, "tok");
  EXPECT_EQ(got->client_id, "cid");
  EXPECT_EQ(got->role, v1::ROLE_INSPECTOR);
}

TEST_F(OutboxTest, ApplyPullStoresLatestAndResetDrops) {
  EXPECT_FALSE(*box_->HasPulled());
  v1::PullResponse first;
  auto* r = first.add_changes()->mutable_region();
  r->set_id("440305");
  r->set_name("南山区");
  auto* u = first.add_changes()->mutable_unit();
  u->set_id("u1");
  u->set_name("old");
  u->set_region_id("440305");
  first.add_changes()->mutable_unit()->CopyFrom(*u);
  first.mutable_changes(2)->mutable_unit()->set_name("new");
  auto* f = first.add_changes()->mutable_finding();
  f->mutable_finding()->set_id("f1");
  f->set_status(v1::FINDING_STATUS_REPORTED);
  first.set_next_cursor("c1");
  ASSERT_TRUE(box_->ApplyPull(first).ok());
  Reopen();
  EXPECT_TRUE(*box_->HasPulled());
  EXPECT_EQ(*box_->GetCursor(), "c1");
  auto unit = box_->GetUnit("u1");
  ASSERT_TRUE(unit.ok() && unit->has_value());
  EXPECT_EQ((*unit)->name(), "new");
  EXPECT_FALSE(box_->GetCategory("nope")->has_value());
  EXPECT_EQ(box_->GetFindingUpdates()->size(), 1u);

  v1::PullResponse reset;
  reset.set_reset(true);
  reset.add_changes()->mutable_category()->set_id("commuting");
  reset.set_next_cursor("c2");
  ASSERT_TRUE(box_->ApplyPull(reset).ok());
  auto registry = box_->GetRegistry();
  ASSERT_TRUE(registry.ok());
  EXPECT_TRUE(registry->regions.empty());
  EXPECT_TRUE(registry->units.empty());
  ASSERT_EQ(registry->categories.size(), 1u);
  EXPECT_TRUE(box_->GetFindingUpdates()->empty());
  EXPECT_EQ(*box_->GetCursor(), "c2");
}

TEST_F(OutboxTest, RegistryIsOrderedById) {
  v1::PullResponse reply;
  for (const char* id : {"bb", "a", "c"}) {
    reply.add_changes()->mutable_category()->set_id(id);
  }
  ASSERT_TRUE(box_->ApplyPull(reply).ok());
  auto registry = box_->GetRegistry();
  ASSERT_TRUE(registry.ok());
  ASSERT_EQ(registry->categories.size(), 3u);
  EXPECT_EQ(registry->categories[0].id(), "a");
  EXPECT_EQ(registry->categories[1].id(), "bb");
  EXPECT_EQ(registry->categories[2].id(), "c");
}

TEST_F(OutboxTest, LedgerTrustPersistsAndClears) {
  auto none = box_->GetLedgerTrust();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->verifier_key.empty());
  EXPECT_TRUE(none->checkpoint.empty());
  EXPECT_TRUE(none->alarm.empty());
  ASSERT_TRUE(box_->PutLedgerTrust({"key", "note", "forked"}).ok());
  Reopen();
  auto got = box_->GetLedgerTrust();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->verifier_key, "key");
  EXPECT_EQ(got->checkpoint, "note");
  EXPECT_EQ(got->alarm, "forked");
  ASSERT_TRUE(box_->PutLedgerTrust({"key", "note", ""}).ok());
  EXPECT_TRUE(box_->GetLedgerTrust()->alarm.empty());
}

}  // namespace
}  // namespace fieldledger::storage
