#include "core/supervision.h"

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/admin.h"
#include "core/case.h"
#include "core/memory_txn.h"
#include "core/projection.h"
#include "core/sync.h"
#include "core/test_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using fixtures::kNow;

google::protobuf::Timestamp At(absl::Time t) {
  google::protobuf::Timestamp out;
  out.set_seconds(absl::ToUnixSeconds(t));
  return out;
}

template <typename Map>
void ExpectSameMessages(const Map& want, const Map& got,
                        absl::string_view what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  auto g = got.begin();
  for (const auto& [key, message] : want) {
    EXPECT_TRUE(g->first == key) << what;
    EXPECT_EQ(g->second.SerializeAsString(), message.SerializeAsString())
        << what;
    ++g;
  }
}

// Recomputes everything from the log of `txn` and compares it.
void ExpectRecomputesTheSame(MemoryTxn& txn) {
  MemoryTxn again;
  for (v1::Event event : txn.events) {
    auto seq = again.AppendEvent(event);
    ASSERT_TRUE(seq.ok());
    ASSERT_EQ(*seq, event.seq());
    ASSERT_TRUE(Project(event, again).ok()) << "event " << event.seq();
  }
  ExpectSameMessages(txn.findings, again.findings, "findings");
  ExpectSameMessages(txn.cases, again.cases, "cases");
  EXPECT_EQ(txn.reporters, again.reporters);
  EXPECT_TRUE(txn.case_index == again.case_index);
  ExpectSameMessages(txn.campaigns, again.campaigns, "campaigns");
  ExpectSameMessages(txn.lists, again.lists, "lists");
  ASSERT_EQ(txn.feeds.size(), again.feeds.size());
  for (const auto& [audience, feed] : txn.feeds) {
    ExpectSameMessages(feed, again.feeds[audience], audience);
  }
}

class SupervisionTest : public ::testing::Test {
 protected:
  SupervisionTest() {
    EXPECT_TRUE(fixtures::SeedRegistry(txn_).ok());
    // 南山区 inside 深圳市, holding unit u2.
    v1::Region ns;
    ns.set_id("ns");
    ns.set_name("南山区");
    ns.set_parent_id("sz");
    EXPECT_TRUE(CreateRegion(txn_, "admin", ns, kNow, limits_).ok());
    v1::Unit u2;
    u2.set_id("u2");
    u2.set_name("南头街道办");
    u2.set_region_id("ns");
    EXPECT_TRUE(CreateUnit(txn_, "admin", u2, kNow, limits_).ok());
    alice_.set_role(v1::ROLE_INSPECTOR);
    alice_.set_name("i-alice");
    alice_.set_client_id("c-alice");
  }

  // Reports a finding in u1 as alice; returns its id.
  std::string Report() {
    v1::PushRequest request;
    *request.add_mutations() =
        fixtures::ReportMutation("c-alice", ++alice_seq_, "窗口无人值守");
    auto reply = ApplyPush(txn_, alice_, request, kNow, limits_);
    EXPECT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->results(0).outcome(), v1::OUTCOME_APPLIED);
    return request.mutations(0).report_finding().finding().id();
  }

  absl::StatusOr<uint64_t> Act(v1::CaseAction action, absl::Time now = kNow) {
    return ApplyCaseAction(txn_, "admin", action, now, limits_);
  }

  static v1::CaseAction Action(const std::string& id, uint64_t version = 0) {
    v1::CaseAction a;
    a.set_case_id(id);
    a.set_expected_version(version);
    return a;
  }

  static v1::CaseAction Assign(const std::string& id, absl::Time deadline) {
    v1::CaseAction a = Action(id);
    v1::Assignment* x = a.mutable_assign();
    x->set_unit_id("u2");
    x->mutable_person()->set_name("李四");
    x->mutable_person()->set_post("街道办主任");
    *x->mutable_deadline() = At(deadline);
    x->set_mechanism(v1::MECHANISM_COUNTERPART_COMMITTEE_MEMBER);
    x->set_assigned_by("区委常委、组织部部长");
    return a;
  }

  static v1::CaseAction Submit(const std::string& id, absl::string_view text) {
    v1::CaseAction a = Action(id);
    a.mutable_submit_rectification()->set_text(std::string(text));
    v1::EvidenceRef* e = a.mutable_submit_rectification()->add_evidence();
    e->set_sha256(std::string(64, 'c'));
    e->set_media_type("image/jpeg");
    e->set_size_bytes(2048);
    return a;
  }

  static v1::CaseAction Evaluate(const std::string& id, v1::Rating rating) {
    v1::CaseAction a = Action(id);
    a.mutable_evaluate()->set_rating(rating);
    return a;
  }

  // A two-day commuting campaign on unit u1, without inspectors.
  static v1::Campaign CommutingCampaign() {
    v1::Campaign campaign;
    campaign.set_id("2026-09-commuting");
    campaign.set_name("走读专项暗访");
    campaign.add_category_ids("commuting");
    campaign.add_target_unit_ids("u1");
    campaign.set_start_date("2026-09-02");
    campaign.set_end_date("2026-09-03");
    return campaign;
  }

  // The statuses fed to alice, in order.
  std::vector<v1::FindingStatus> FedStatuses(const std::string& id) {
    std::vector<v1::FindingStatus> out;
    for (const auto& [seq, change] : txn_.feeds["inspector/i-alice"]) {
      if (change.finding().finding().id() == id) {
        out.push_back(change.finding().status());
      }
    }
    return out;
  }

  MemoryTxn txn_;
  Limits limits_;
  v1::Principal alice_;
  uint64_t alice_seq_ = 0;
};

TEST_F(SupervisionTest, ReportOpensACase) {
  const std::string id = Report();
  const v1::Case& c = txn_.cases.at(id);
  EXPECT_EQ(c.status(), v1::CASE_STATUS_REPORTED);
  EXPECT_EQ(c.version(), 1u);
  EXPECT_EQ(c.unit_id(), "u1");
  EXPECT_EQ(c.category_id(), "commuting");
  EXPECT_THAT(c.region_path(), ::testing::ElementsAre("sz"));
  EXPECT_EQ(c.reported_seq(), txn_.events.back().seq());
  EXPECT_EQ(txn_.case_index,
            (std::set<CaseIndexKey>{
                {CaseIndex::kRegion, "sz", v1::CASE_STATUS_UNSPECIFIED,
                 absl::ToUnixSeconds(kNow), id},
                {CaseIndex::kUnit, "u1", v1::CASE_STATUS_UNSPECIFIED,
                 absl::ToUnixSeconds(kNow), id},
                {CaseIndex::kStatus, "", v1::CASE_STATUS_REPORTED,
                 absl::ToUnixSeconds(kNow), id},
            }));
}

TEST_F(SupervisionTest, WholeLifecycle) {
  const std::string id = Report();
  const absl::Time t0 = kNow + absl::Hours(1);

  ASSERT_TRUE(Act(
                  [&] {
                    auto a = Action(id, 1);
                    a.mutable_accept()->set_note("情况属实，予以受理");
                    return a;
                  }(),
                  t0)
                  .ok());
  EXPECT_EQ(txn_.cases[id].status(), v1::CASE_STATUS_ACCEPTED);
  EXPECT_EQ(FedStatuses(id).back(), v1::FINDING_STATUS_ACCEPTED);

  // Accepted: the reporter can no longer amend it.
  v1::PushRequest amend;
  v1::Mutation* m = amend.add_mutations();
  m->set_client_id("c-alice");
  m->set_client_seq(++alice_seq_);
  *m->mutable_amend_finding()->mutable_finding() = txn_.findings[id].finding();
  auto refused = ApplyPush(txn_, alice_, amend, t0, limits_);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->results(0).outcome(), v1::OUTCOME_REJECTED);
  EXPECT_THAT(refused->results(0).rejection().message(),
              HasSubstr("FINDING_STATUS_ACCEPTED"));

  const absl::Time first_deadline = t0 + absl::Hours(24 * 7);
  ASSERT_TRUE(Act(Assign(id, first_deadline), t0).ok());
  {
    const v1::Case& c = txn_.cases[id];
    EXPECT_EQ(c.status(), v1::CASE_STATUS_ASSIGNED);
    EXPECT_EQ(c.version(), 3u);
    EXPECT_EQ(c.round(), 1u);
    EXPECT_EQ(c.assignment().person().post(), "街道办主任");
    EXPECT_EQ(c.assignment().assigned_at().seconds(), absl::ToUnixSeconds(t0));
    EXPECT_EQ(c.deadline().seconds(), absl::ToUnixSeconds(first_deadline));
    EXPECT_FALSE(IsOverdue(c, first_deadline));
    EXPECT_TRUE(IsOverdue(c, first_deadline + absl::Seconds(1)));
  }
  // Indexed under the responsible unit and by deadline.
  EXPECT_EQ(txn_.case_index.count({CaseIndex::kResponsibleUnit, "u2",
                                   v1::CASE_STATUS_UNSPECIFIED,
                                   absl::ToUnixSeconds(kNow), id}),
            1u);
  EXPECT_EQ(txn_.case_index.count({CaseIndex::kDeadline, "",
                                   v1::CASE_STATUS_UNSPECIFIED,
                                   absl::ToUnixSeconds(first_deadline), id}),
            1u);

  // A late report is still taken.
  const absl::Time t1 = first_deadline + absl::Hours(2);
  ASSERT_TRUE(Act(Submit(id, "已约谈当班人员，窗口恢复正常"), t1).ok());
  EXPECT_EQ(txn_.cases[id].rectification().round(), 1u);

  // Unsatisfied: back to assigned, next round, the new deadline in force.
  const absl::Time second_deadline = t1 + absl::Hours(24 * 14);
  v1::CaseAction unsatisfied = Evaluate(id, v1::RATING_UNSATISFIED);
  unsatisfied.set_expected_version(4);
  unsatisfied.mutable_evaluate()->set_comment("复查时仍有人员脱岗");
  *unsatisfied.mutable_evaluate()->mutable_new_deadline() = At(second_deadline);
  ASSERT_TRUE(Act(unsatisfied, t1).ok());
  {
    const v1::Case& c = txn_.cases[id];
    EXPECT_EQ(c.status(), v1::CASE_STATUS_ASSIGNED);
    EXPECT_EQ(c.round(), 2u);
    EXPECT_EQ(c.deadline().seconds(), absl::ToUnixSeconds(second_deadline));
    EXPECT_EQ(c.assignment().deadline().seconds(),
              absl::ToUnixSeconds(first_deadline));
    EXPECT_FALSE(IsOverdue(c, t1 + absl::Hours(1)));
  }
  EXPECT_EQ(txn_.case_index.count({CaseIndex::kDeadline, "",
                                   v1::CASE_STATUS_UNSPECIFIED,
                                   absl::ToUnixSeconds(first_deadline), id}),
            0u);

  // Escalation on the open case: recorded, status kept.
  v1::CaseAction talk = Action(id);
  talk.mutable_escalate()->set_kind(v1::ESCALATION_KIND_TALK);
  talk.mutable_escalate()->set_subject("南头街道办主任 李四");
  talk.mutable_escalate()->set_detail("约谈，责令限期整改");
  ASSERT_TRUE(Act(talk, t1).ok());
  EXPECT_EQ(txn_.cases[id].status(), v1::CASE_STATUS_ASSIGNED);
  ASSERT_EQ(txn_.cases[id].escalations_size(), 1);
  EXPECT_EQ(txn_.cases[id].escalations(0).subject(), "南头街道办主任 李四");

  ASSERT_TRUE(Act(Submit(id, "已调整排班，主任每日到岗签到"), t1).ok());
  ASSERT_TRUE(Act(Evaluate(id, v1::RATING_BASICALLY_SATISFIED), t1).ok());
  EXPECT_EQ(txn_.cases[id].status(), v1::CASE_STATUS_EVALUATED);
  EXPECT_EQ(txn_.cases[id].last_evaluation().round(), 2u);

  v1::CaseAction close = Action(id, 8);
  close.mutable_close()->set_note("销号备案");
  ASSERT_TRUE(Act(close, t1).ok());
  const v1::Case& c = txn_.cases[id];
  EXPECT_EQ(c.status(), v1::CASE_STATUS_CLOSED);
  EXPECT_EQ(c.version(), 9u);
  EXPECT_EQ(c.closing_note(), "销号备案");
  EXPECT_EQ(c.rectification().text(), "已调整排班，主任每日到岗签到");
  EXPECT_FALSE(IsOverdue(c, second_deadline + absl::Hours(24 * 365)));
  // The steps changed the case; the finding's record keeps its content.
  EXPECT_EQ(txn_.findings[id].updated_seq(), txn_.findings[id].reported_seq());

  // Chinese text survives the stored form byte for byte.
  v1::Case parsed;
  ASSERT_TRUE(parsed.ParseFromString(c.SerializeAsString()));
  EXPECT_EQ(parsed.escalations(0).detail(), "约谈，责令限期整改");
  EXPECT_EQ(parsed.assignment().assigned_by(), "区委常委、组织部部长");

  // The reporter saw every status change once, and nothing of the rest.
  EXPECT_THAT(FedStatuses(id),
              ::testing::ElementsAre(
                  v1::FINDING_STATUS_REPORTED, v1::FINDING_STATUS_ACCEPTED,
                  v1::FINDING_STATUS_ASSIGNED,
                  v1::FINDING_STATUS_RECTIFICATION_SUBMITTED,
                  v1::FINDING_STATUS_ASSIGNED,
                  v1::FINDING_STATUS_RECTIFICATION_SUBMITTED,
                  v1::FINDING_STATUS_EVALUATED, v1::FINDING_STATUS_CLOSED));
  // Pull adds the finding's content to each of its changes.
  auto pulled = Pull(txn_, alice_, v1::PullRequest());
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  int finding_changes = 0;
  for (const v1::Change& change : pulled->changes()) {
    if (!change.has_finding()) continue;
    ++finding_changes;
    EXPECT_EQ(change.finding().finding().summary(), "窗口无人值守");
  }
  EXPECT_EQ(finding_changes, 8);

  // Closed is final.
  const size_t events = txn_.events.size();
  auto again = Act(close, t1);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted);
  close.set_expected_version(0);
  again = Act(close, t1);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            absl::StrCat("case ", id, " is closed; cannot close"));
  EXPECT_EQ(Act(talk, t1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(txn_.events.size(), events);

  // Only the closed case's region, unit and status entries are left.
  for (const CaseIndexKey& key : txn_.case_index) {
    EXPECT_EQ(key.status, key.index == CaseIndex::kStatus
                              ? v1::CASE_STATUS_CLOSED
                              : v1::CASE_STATUS_UNSPECIFIED);
    EXPECT_NE(key.index, CaseIndex::kDeadline);
  }

  ExpectRecomputesTheSame(txn_);
}

TEST_F(SupervisionTest, AmendmentBumpsTheVersionAndMovesTheIndexes) {
  const std::string id = Report();
  v1::PushRequest amend;
  v1::Mutation* m = amend.add_mutations();
  m->set_client_id("c-alice");
  m->set_client_seq(++alice_seq_);
  *m->mutable_amend_finding()->mutable_finding() = txn_.findings[id].finding();
  m->mutable_amend_finding()->mutable_finding()->set_unit_id("u2");
  auto reply = ApplyPush(txn_, alice_, amend, kNow, limits_);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->results(0).outcome(), v1::OUTCOME_APPLIED);

  const v1::Case& c = txn_.cases[id];
  EXPECT_EQ(c.version(), 2u);
  EXPECT_EQ(c.unit_id(), "u2");
  EXPECT_THAT(c.region_path(), ::testing::ElementsAre("sz", "ns"));
  EXPECT_EQ(txn_.case_index.size(), 4u);  // sz, ns, u2, status
  EXPECT_THAT(txn_.case_index.rbegin()->regions,
              ::testing::ElementsAre("sz", "ns"));
  EXPECT_EQ(txn_.case_index.count({CaseIndex::kUnit, "u1",
                                   v1::CASE_STATUS_UNSPECIFIED,
                                   absl::ToUnixSeconds(kNow), id}),
            0u);

  // A supervisor who saw the first version must look again.
  v1::CaseAction accept = Action(id, 1);
  accept.mutable_accept();
  auto stale = Act(accept);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(),
            absl::StrCat("case ", id, " is at version 2, expected 1"));
  ExpectRecomputesTheSame(txn_);
}

TEST_F(SupervisionTest, WithdrawnAndDismissedCasesAreFinal) {
  const std::string first = Report();
  const std::string second = Report();

  v1::PushRequest withdraw;
  v1::Mutation* m = withdraw.add_mutations();
  m->set_client_id("c-alice");
  m->set_client_seq(++alice_seq_);
  m->mutable_withdraw_finding()->set_finding_id(first);
  ASSERT_TRUE(ApplyPush(txn_, alice_, withdraw, kNow, limits_).ok());
  EXPECT_EQ(txn_.cases[first].status(), v1::CASE_STATUS_WITHDRAWN);
  v1::CaseAction accept = Action(first);
  accept.mutable_accept();
  auto late = Act(accept);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(late.status().message(),
            absl::StrCat("case ", first, " is withdrawn; cannot accept"));

  v1::CaseAction dup = Action(second);
  dup.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_DUPLICATE);
  dup.mutable_dismiss()->set_duplicate_of(NewUuidV7(kNow));
  auto unknown = Act(dup);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()),
              StartsWith("dismiss.duplicate_of: no case"));

  dup.mutable_dismiss()->set_duplicate_of(first);
  ASSERT_TRUE(Act(dup).ok());
  EXPECT_EQ(txn_.cases[second].status(), v1::CASE_STATUS_DISMISSED);
  EXPECT_EQ(txn_.cases[second].dismissal().duplicate_of(), first);
  EXPECT_EQ(FedStatuses(second).back(), v1::FINDING_STATUS_DISMISSED);
  v1::CaseAction talk = Action(second);
  talk.mutable_escalate()->set_kind(v1::ESCALATION_KIND_PUBLIC_NOTICE);
  talk.mutable_escalate()->set_subject("x");
  EXPECT_EQ(Act(talk).status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectRecomputesTheSame(txn_);
}

TEST_F(SupervisionTest, BadReferencesAreNotFoundAndChangeNothing) {
  const std::string id = Report();
  const size_t events = txn_.events.size();

  v1::CaseAction accept = Action(NewUuidV7(kNow));
  accept.mutable_accept();
  auto missing = Act(accept);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              StartsWith("case_id: no case"));

  accept.set_case_id(id);
  ASSERT_TRUE(Act(accept).ok());
  v1::CaseAction assign = Assign(id, kNow + absl::Hours(24));
  assign.mutable_assign()->set_unit_id("nowhere");
  auto nowhere = Act(assign);
  EXPECT_EQ(nowhere.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(nowhere.status().message(), "assign.unit_id: no unit \"nowhere\"");

  auto past = Act(Assign(id, kNow - absl::Hours(1)));
  EXPECT_EQ(past.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(past.status().message()),
              StartsWith("assign.deadline: must be after"));
  EXPECT_EQ(txn_.events.size(), events + 1);  // the accept only
  EXPECT_EQ(txn_.cases[id].version(), 2u);
}

TEST_F(SupervisionTest, Campaigns) {
  v1::Campaign c;
  c.set_id("2025-09-commuting");
  c.set_name("走读专项暗访（4区8镇）");
  c.add_category_ids("commuting");
  c.add_target_unit_ids("u1");
  c.add_target_unit_ids("u2");
  c.set_start_date("2025-09-02");
  c.set_end_date("2025-09-02");
  c.add_inspectors("i-alice");
  ASSERT_TRUE(CreateCampaign(txn_, "admin", c, kNow, limits_).ok());
  EXPECT_EQ(txn_.campaigns.at(c.id()).name(), c.name());
  EXPECT_EQ(txn_.campaigns.at(c.id()).created_at().seconds(),
            absl::ToUnixSeconds(kNow));

  auto taken = CreateCampaign(txn_, "admin", c, kNow, limits_);
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);

  struct Bad {
    std::function<void(v1::Campaign&)> spoil;
    absl::StatusCode code;
    std::string field;
  };
  const std::vector<Bad> bad = {
      {[](v1::Campaign& x) {
         x.set_id("new");
         x.set_end_date("2025-02-30");
       },
       absl::StatusCode::kInvalidArgument, "campaign.end_date"},
      {[](v1::Campaign& x) {
         x.set_id("new");
         x.set_start_date("2025-9-2");
       },
       absl::StatusCode::kInvalidArgument, "campaign.start_date"},
      {[](v1::Campaign& x) {
         x.set_id("new");
         x.set_end_date("2025-09-01");
       },
       absl::StatusCode::kInvalidArgument, "campaign.end_date"},
      {[](v1::Campaign& x) {
         x.set_id("new");
         x.set_target_unit_ids(1, "u9");
       },
       absl::StatusCode::kNotFound, "campaign.target_unit_ids[1]"},
      {[](v1::Campaign& x) {
         x.set_id("new");
         x.add_category_ids("commuting");
       },
       absl::StatusCode::kInvalidArgument, "campaign.category_ids[1]"},
      {[](v1::Campaign& x) {
         x.set_id("new");
         x.clear_category_ids();
       },
       absl::StatusCode::kInvalidArgument, "campaign.category_ids"},
      {[](v1::Campaign& x) {
         x.set_id("new");
         x.set_name("");
       },
       absl::StatusCode::kInvalidArgument, "campaign.name"},
  };
  const size_t events = txn_.events.size();
  for (const Bad& b : bad) {
    v1::Campaign x = c;
    b.spoil(x);
    auto s = CreateCampaign(txn_, "admin", x, kNow, limits_);
    EXPECT_EQ(s.status().code(), b.code) << b.field;
    EXPECT_THAT(std::string(s.status().message()), StartsWith(b.field + ": "));
  }
  EXPECT_EQ(txn_.events.size(), events);
  ExpectRecomputesTheSame(txn_);
}

TEST_F(SupervisionTest, Lists) {
  const std::string id = Report();
  v1::PublishedList list;
  list.set_kind(v1::LIST_KIND_BLACK);
  list.set_period("2025-09");
  v1::ListEntry* e = list.add_entries();
  e->set_unit_id("u1");
  e->set_reason("整改走过场");
  e->add_case_ids(id);
  ASSERT_TRUE(PublishList(txn_, "admin", list, kNow, limits_).ok());
  const v1::PublishedList& stored =
      txn_.lists.at({v1::LIST_KIND_BLACK, "2025-09"});
  EXPECT_EQ(stored.entries(0).reason(), "整改走过场");
  EXPECT_EQ(stored.published_at().seconds(), absl::ToUnixSeconds(kNow));

  auto again = PublishList(txn_, "admin", list, kNow, limits_);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);

  list.set_kind(v1::LIST_KIND_RED);
  list.set_period("2025-13");
  auto period = PublishList(txn_, "admin", list, kNow, limits_);
  EXPECT_THAT(std::string(period.status().message()),
              StartsWith("list.period: "));

  list.set_period("2025-Q3");
  list.mutable_entries(0)->set_unit_id("u2");  // the case is about u1
  auto other = PublishList(txn_, "admin", list, kNow, limits_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()),
              StartsWith("list.entries[0].case_ids[0]: "));

  list.mutable_entries(0)->clear_case_ids();
  ASSERT_TRUE(PublishList(txn_, "admin", list, kNow, limits_).ok());
  EXPECT_EQ(txn_.lists.size(), 2u);
  ExpectRecomputesTheSame(txn_);
}

TEST_F(SupervisionTest, ASupervisorSendsInspectorsOnlyWithinTheirRegion) {
  v1::Region other;
  other.set_id("gz");
  other.set_name("广州");
  ASSERT_TRUE(CreateRegion(txn_, "admin", other, kNow, limits_).ok());
  v1::Campaign campaign = CommutingCampaign();
  v1::Principal supervisor;
  supervisor.set_role(v1::ROLE_SUPERVISOR);
  supervisor.set_name("s-gz");
  supervisor.set_scope("gz");

  const size_t events = txn_.events.size();
  auto outside = CreateCampaignAs(txn_, supervisor, campaign, kNow, limits_);
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(outside.status().message(),
            "campaign.target_unit_ids[0]: unit \"u1\" is outside region "
            "\"gz\"");
  EXPECT_EQ(txn_.events.size(), events);

  supervisor.set_scope("sz");
  EXPECT_TRUE(CreateCampaignAs(txn_, supervisor, campaign, kNow, limits_).ok());
}

TEST_F(SupervisionTest, InspectorsSentOnACampaignPullIt) {
  v1::Campaign campaign = CommutingCampaign();
  campaign.add_inspectors("i-alice");
  auto seq = CreateCampaign(txn_, "admin", campaign, kNow, limits_);
  ASSERT_TRUE(seq.ok()) << seq.status();
  const auto& feed = txn_.feeds["inspector/i-alice"];
  ASSERT_EQ(feed.count(*seq), 1u);
  EXPECT_EQ(feed.at(*seq).campaign().id(), "2026-09-commuting");
  EXPECT_EQ(txn_.feeds.count("inspector/i-bob"), 0u);
  ExpectRecomputesTheSame(txn_);
}

}  // namespace
}  // namespace fieldledger
