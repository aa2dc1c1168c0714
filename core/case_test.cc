#include "core/case.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/test_fixtures.h"
#include "core/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using fixtures::kNow;

constexpr v1::CaseStatus kAllStatuses[] = {
    v1::CASE_STATUS_UNSPECIFIED,
    v1::CASE_STATUS_REPORTED,
    v1::CASE_STATUS_ACCEPTED,
    v1::CASE_STATUS_DISMISSED,
    v1::CASE_STATUS_WITHDRAWN,
    v1::CASE_STATUS_ASSIGNED,
    v1::CASE_STATUS_RECTIFICATION_SUBMITTED,
    v1::CASE_STATUS_EVALUATED,
    v1::CASE_STATUS_CLOSED,
};

constexpr v1::Rating kRatings[] = {v1::RATING_SATISFIED,
                                   v1::RATING_BASICALLY_SATISFIED,
                                   v1::RATING_UNSATISFIED};

google::protobuf::Timestamp At(absl::Time t) {
  google::protobuf::Timestamp out;
  out.set_seconds(absl::ToUnixSeconds(t));
  return out;
}

// The lifecycle, written out independently of the implementation: the
// status each (status, step[, rating]) leads to; absent means refused.
std::optional<v1::CaseStatus> Expected(v1::CaseStatus s, CaseStep step,
                                       v1::Rating rating) {
  using S = v1::CaseStatus;
  static const auto* const kTable = new std::map<
      std::tuple<S, CaseStep, v1::Rating>, S>{
      {{v1::CASE_STATUS_REPORTED, CaseStep::kAccept, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_ACCEPTED},
      {{v1::CASE_STATUS_REPORTED, CaseStep::kDismiss, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_DISMISSED},
      {{v1::CASE_STATUS_REPORTED, CaseStep::kAmend, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_REPORTED},
      {{v1::CASE_STATUS_REPORTED, CaseStep::kWithdraw, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_WITHDRAWN},
      {{v1::CASE_STATUS_ACCEPTED, CaseStep::kAssign, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_ASSIGNED},
      {{v1::CASE_STATUS_ASSIGNED, CaseStep::kSubmitRectification,
        v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_RECTIFICATION_SUBMITTED},
      {{v1::CASE_STATUS_RECTIFICATION_SUBMITTED, CaseStep::kEvaluate,
        v1::RATING_SATISFIED},
       v1::CASE_STATUS_EVALUATED},
      {{v1::CASE_STATUS_RECTIFICATION_SUBMITTED, CaseStep::kEvaluate,
        v1::RATING_BASICALLY_SATISFIED},
       v1::CASE_STATUS_EVALUATED},
      {{v1::CASE_STATUS_RECTIFICATION_SUBMITTED, CaseStep::kEvaluate,
        v1::RATING_UNSATISFIED},
       v1::CASE_STATUS_ASSIGNED},
      {{v1::CASE_STATUS_EVALUATED, CaseStep::kClose, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_CLOSED},
      {{v1::CASE_STATUS_ACCEPTED, CaseStep::kEscalate, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_ACCEPTED},
      {{v1::CASE_STATUS_ASSIGNED, CaseStep::kEscalate, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_ASSIGNED},
      {{v1::CASE_STATUS_RECTIFICATION_SUBMITTED, CaseStep::kEscalate,
        v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_RECTIFICATION_SUBMITTED},
      {{v1::CASE_STATUS_EVALUATED, CaseStep::kEscalate, v1::RATING_UNSPECIFIED},
       v1::CASE_STATUS_EVALUATED},
  };
  auto it = kTable->find({s, step, rating});
  if (it == kTable->end()) return std::nullopt;
  return it->second;
}

// The (step, rating) pairs to try: every step, evaluation with each rating.
std::vector<std::pair<CaseStep, v1::Rating>> AllMoves() {
  std::vector<std::pair<CaseStep, v1::Rating>> moves;
  for (CaseStep step : kAllCaseSteps) {
    if (step == CaseStep::kEvaluate) {
      for (v1::Rating r : kRatings) moves.emplace_back(step, r);
    } else {
      moves.emplace_back(step, v1::RATING_UNSPECIFIED);
    }
  }
  return moves;
}

const std::string& CaseId() {
  static const std::string* const kId = new std::string(NewUuidV7(kNow));
  return *kId;
}

// A valid action of `step` on CaseId().
v1::CaseAction ValidAction(CaseStep step, v1::Rating rating) {
  v1::CaseAction a;
  a.set_case_id(CaseId());
  switch (step) {
    case CaseStep::kAccept:
      a.mutable_accept()->set_note("属实");
      break;
    case CaseStep::kDismiss:
      a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_REJECTED);
      a.mutable_dismiss()->set_note("查无实据");
      break;
    case CaseStep::kAssign: {
      v1::Assignment* x = a.mutable_assign();
      x->set_unit_id("u1");
      x->mutable_person()->set_name("李四");
      x->mutable_person()->set_post("镇长");
      *x->mutable_deadline() = At(kNow + absl::Hours(24 * 7));
      x->set_mechanism(v1::MECHANISM_TOP_LEADER);
      x->set_assigned_by("区委书记");
      break;
    }
    case CaseStep::kSubmitRectification: {
      v1::Rectification* x = a.mutable_submit_rectification();
      x->set_text("已整改：窗口恢复正常办公");
      v1::EvidenceRef* e = x->add_evidence();
      e->set_sha256(std::string(64, 'a'));
      e->set_media_type("image/jpeg");
      e->set_size_bytes(1234);
      break;
    }
    case CaseStep::kEvaluate:
      a.mutable_evaluate()->set_rating(rating);
      if (rating == v1::RATING_UNSATISFIED) {
        a.mutable_evaluate()->set_comment("仍有人员脱岗");
        *a.mutable_evaluate()->mutable_new_deadline() =
            At(kNow + absl::Hours(24 * 14));
      }
      break;
    case CaseStep::kClose:
      a.mutable_close()->set_note("销号备案");
      break;
    case CaseStep::kEscalate:
      a.mutable_escalate()->set_kind(v1::ESCALATION_KIND_TALK);
      a.mutable_escalate()->set_subject("粤海街道办主任 王五");
      break;
    case CaseStep::kAmend:
    case CaseStep::kWithdraw:
      break;  // not supervision actions
  }
  return a;
}

v1::Case CaseIn(v1::CaseStatus status) {
  v1::Case c;
  c.set_id(CaseId());
  c.set_status(status);
  c.set_version(7);
  c.set_unit_id("u1");
  c.add_region_path("sz");
  if (status == v1::CASE_STATUS_ASSIGNED ||
      status == v1::CASE_STATUS_RECTIFICATION_SUBMITTED ||
      status == v1::CASE_STATUS_EVALUATED || status == v1::CASE_STATUS_CLOSED) {
    c.set_round(1);
    *c.mutable_deadline() = At(kNow + absl::Hours(24));
  }
  return c;
}

TEST(CaseTest, TransitionTableIsExhaustive) {
  for (v1::CaseStatus s : kAllStatuses) {
    for (const auto& [step, rating] : AllMoves()) {
      SCOPED_TRACE(absl::StrCat(CaseStatusName(s), " x ", CaseStepName(step),
                                " ", v1::Rating_Name(rating)));
      const auto next = NextStatus("c1", s, step, rating);
      const auto want = Expected(s, step, rating);
      if (want) {
        ASSERT_TRUE(next.ok()) << next.status();
        EXPECT_EQ(*next, *want);
      } else {
        EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_EQ(next.status().message(),
                  absl::StrCat("case c1 is ", CaseStatusName(s), "; cannot ",
                               CaseStepName(step)));
      }
    }
  }
}

// The same table through the API the writer and the projection use: every
// status x every supervision action, decided and then applied.
TEST(CaseTest, DecideAndApplyFollowTheTable) {
  const Limits limits;
  for (v1::CaseStatus s : kAllStatuses) {
    for (const auto& [step, rating] : AllMoves()) {
      if (step == CaseStep::kAmend || step == CaseStep::kWithdraw) continue;
      SCOPED_TRACE(absl::StrCat(CaseStatusName(s), " x ", CaseStepName(step),
                                " ", v1::Rating_Name(rating)));
      const v1::Case before = CaseIn(s);
      const auto event = DecideCaseAction(before, ValidAction(step, rating),
                                          "admin", kNow, limits);
      const auto want = Expected(s, step, rating);
      if (!want) {
        EXPECT_EQ(event.status().code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_THAT(std::string(event.status().message()),
                    StartsWith(absl::StrCat("case ", CaseId(), " is ",
                                            CaseStatusName(s), "; cannot ")));
        continue;
      }
      ASSERT_TRUE(event.ok()) << event.status();
      EXPECT_EQ(event->actor(), "admin");
      EXPECT_EQ(event->recorded_at().seconds(), absl::ToUnixSeconds(kNow));
      EXPECT_EQ(CaseIdOf(*event), CaseId());
      v1::Case after = before;
      ASSERT_TRUE(ApplyCaseEvent(*event, after).ok());
      EXPECT_EQ(after.status(), *want);
      EXPECT_EQ(after.version(), before.version() + 1);
    }
  }
}

TEST(CaseTest, ApplyRefusesAnEventThatDoesNotFit) {
  v1::Case c = CaseIn(v1::CASE_STATUS_CLOSED);
  const v1::Case before = c;
  auto event = DecideCaseAction(CaseIn(v1::CASE_STATUS_REPORTED),
                                ValidAction(CaseStep::kAccept, {}), "admin",
                                kNow, Limits());
  ASSERT_TRUE(event.ok());
  event->set_seq(42);
  const absl::Status s = ApplyCaseEvent(*event, c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()), HasSubstr("event 42"));
  EXPECT_EQ(c.SerializeAsString(), before.SerializeAsString());

  c.set_id("another");
  EXPECT_EQ(ApplyCaseEvent(*event, c).code(), absl::StatusCode::kInternal);
}

TEST(CaseTest, StaleVersionIsAborted) {
  const v1::Case c = CaseIn(v1::CASE_STATUS_REPORTED);  // version 7
  v1::CaseAction a = ValidAction(CaseStep::kAccept, {});
  a.set_expected_version(6);
  auto stale = DecideCaseAction(c, a, "admin", kNow, Limits());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(),
            absl::StrCat("case ", CaseId(), " is at version 7, expected 6"));

  // The version is checked before the status: a stale caller learns to
  // re-read rather than a status it has not seen.
  a.set_expected_version(6);
  auto stale_closed =
      DecideCaseAction(CaseIn(v1::CASE_STATUS_CLOSED), a, "admin", kNow, {});
  EXPECT_EQ(stale_closed.status().code(), absl::StatusCode::kAborted);

  a.set_expected_version(7);
  EXPECT_TRUE(DecideCaseAction(c, a, "admin", kNow, Limits()).ok());
  a.set_expected_version(0);  // no check
  EXPECT_TRUE(DecideCaseAction(c, a, "admin", kNow, Limits()).ok());
}

struct BadInput {
  CaseStep step;
  v1::Rating rating;
  std::function<void(v1::CaseAction&)> spoil;
  std::string field;
};

TEST(CaseTest, ValidationNamesTheField) {
  const std::string bad_utf8 = "\xe4\xb8";  // a cut-off 中
  const std::vector<BadInput> cases = {
      {CaseStep::kAccept,
       {},
       [](v1::CaseAction& a) { a.set_case_id("x"); },
       "case_id"},
      {CaseStep::kAccept,
       {},
       [](v1::CaseAction& a) { a.clear_action(); },
       "action"},
      {CaseStep::kAccept,
       {},
       [&](v1::CaseAction& a) { a.mutable_accept()->set_note(bad_utf8); },
       "accept.note"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) { a.mutable_assign()->clear_unit_id(); },
       "assign.unit_id"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) { a.mutable_assign()->clear_person(); },
       "assign.person"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) {
         a.mutable_assign()->mutable_person()->clear_name();
       },
       "assign.person.name"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) {
         a.mutable_assign()->mutable_person()->set_post(std::string(201, 'x'));
       },
       "assign.person.post"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) { a.mutable_assign()->clear_deadline(); },
       "assign.deadline"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) {
         *a.mutable_assign()->mutable_deadline() = At(kNow - absl::Hours(1));
       },
       "assign.deadline"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) {
         *a.mutable_assign()->mutable_deadline() =
             At(kNow + absl::Hours(24 * 365 * 6));
       },
       "assign.deadline"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) { a.mutable_assign()->clear_mechanism(); },
       "assign.mechanism"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) {
         a.mutable_assign()->set_mechanism(static_cast<v1::Mechanism>(99));
       },
       "assign.mechanism"},
      {CaseStep::kAssign,
       {},
       [](v1::CaseAction& a) { a.mutable_assign()->clear_assigned_by(); },
       "assign.assigned_by"},
      {CaseStep::kSubmitRectification,
       {},
       [](v1::CaseAction& a) {
         a.mutable_submit_rectification()->clear_text();
       },
       "submit_rectification.text"},
      {CaseStep::kSubmitRectification,
       {},
       [&](v1::CaseAction& a) {
         a.mutable_submit_rectification()->set_text(bad_utf8);
       },
       "submit_rectification.text"},
      {CaseStep::kSubmitRectification,
       {},
       [](v1::CaseAction& a) {
         a.mutable_submit_rectification()->mutable_evidence(0)->set_sha256(
             std::string(64, 'A'));
       },
       "submit_rectification.evidence[0].sha256"},
      {CaseStep::kSubmitRectification,
       {},
       [](v1::CaseAction& a) {
         *a.mutable_submit_rectification()->add_evidence() =
             a.submit_rectification().evidence(0);
       },
       "submit_rectification.evidence[1].sha256"},
      {CaseStep::kSubmitRectification,
       {},
       [](v1::CaseAction& a) {
         a.mutable_submit_rectification()->mutable_evidence(0)->set_media_type(
             "jpeg");
       },
       "submit_rectification.evidence[0].media_type"},
      {CaseStep::kSubmitRectification,
       {},
       [](v1::CaseAction& a) {
         a.mutable_submit_rectification()->mutable_evidence(0)->set_size_bytes(
             0);
       },
       "submit_rectification.evidence[0].size_bytes"},
      {CaseStep::kSubmitRectification,
       {},
       [](v1::CaseAction& a) {
         for (int i = 0; i < 20; ++i) {
           v1::EvidenceRef* e =
               a.mutable_submit_rectification()->add_evidence();
           *e = a.submit_rectification().evidence(0);
           e->set_sha256(absl::StrCat(std::string(62, 'b'), 10 + i));
         }
       },
       "submit_rectification.evidence"},
      {CaseStep::kEvaluate, v1::RATING_UNSATISFIED,
       [](v1::CaseAction& a) { a.mutable_evaluate()->clear_new_deadline(); },
       "evaluate.new_deadline"},
      {CaseStep::kEvaluate, v1::RATING_UNSATISFIED,
       [](v1::CaseAction& a) {
         *a.mutable_evaluate()->mutable_new_deadline() = At(kNow);
       },
       "evaluate.new_deadline"},
      {CaseStep::kEvaluate, v1::RATING_UNSATISFIED,
       [](v1::CaseAction& a) { a.mutable_evaluate()->clear_comment(); },
       "evaluate.comment"},
      {CaseStep::kEvaluate, v1::RATING_SATISFIED,
       [](v1::CaseAction& a) {
         *a.mutable_evaluate()->mutable_new_deadline() =
             At(kNow + absl::Hours(1));
       },
       "evaluate.new_deadline"},
      {CaseStep::kEvaluate, v1::RATING_SATISFIED,
       [](v1::CaseAction& a) { a.mutable_evaluate()->clear_rating(); },
       "evaluate.rating"},
      {CaseStep::kDismiss,
       {},
       [](v1::CaseAction& a) { a.mutable_dismiss()->clear_reason(); },
       "dismiss.reason"},
      {CaseStep::kDismiss,
       {},
       [](v1::CaseAction& a) { a.mutable_dismiss()->clear_note(); },
       "dismiss.note"},
      {CaseStep::kDismiss,
       {},
       [](v1::CaseAction& a) {
         a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_DUPLICATE);
       },
       "dismiss.duplicate_of"},
      {CaseStep::kDismiss,
       {},
       [](v1::CaseAction& a) {
         a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_DUPLICATE);
         a.mutable_dismiss()->set_duplicate_of(a.case_id());
       },
       "dismiss.duplicate_of"},
      {CaseStep::kClose,
       {},
       [](v1::CaseAction& a) {
         a.mutable_close()->set_note(std::string(2001, 'x'));
       },
       "close.note"},
      {CaseStep::kEscalate,
       {},
       [](v1::CaseAction& a) { a.mutable_escalate()->clear_kind(); },
       "escalate.kind"},
      {CaseStep::kEscalate,
       {},
       [](v1::CaseAction& a) { a.mutable_escalate()->clear_subject(); },
       "escalate.subject"},
  };
  for (const BadInput& bad : cases) {
    SCOPED_TRACE(bad.field);
    v1::CaseAction a = ValidAction(bad.step, bad.rating);
    ASSERT_TRUE(ValidateCaseAction(a, kNow, Limits()).ok());
    bad.spoil(a);
    const absl::Status s = ValidateCaseAction(a, kNow, Limits());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), StartsWith(bad.field + ": "));
    // Input is checked before the state: even a closed case answers so.
    EXPECT_EQ(DecideCaseAction(CaseIn(v1::CASE_STATUS_CLOSED), a, "admin", kNow,
                               Limits())
                  .status(),
              s);
  }
}

TEST(CaseTest, EscalationsPerCaseAreBounded) {
  Limits limits;
  limits.max_escalations_per_case = 2;
  v1::Case c = CaseIn(v1::CASE_STATUS_ASSIGNED);
  for (int i = 0; i < 2; ++i) {
    auto event = DecideCaseAction(c, ValidAction(CaseStep::kEscalate, {}),
                                  "admin", kNow, limits);
    ASSERT_TRUE(event.ok()) << event.status();
    ASSERT_TRUE(ApplyCaseEvent(*event, c).ok());
  }
  auto third = DecideCaseAction(c, ValidAction(CaseStep::kEscalate, {}),
                                "admin", kNow, limits);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(third.status().message()),
              HasSubstr("has 2 escalations"));
}

TEST(CaseTest, TextIsCountedInCharactersNotBytes) {
  v1::CaseAction a = ValidAction(CaseStep::kEscalate, {});
  std::string two_hundred;
  for (int i = 0; i < 200; ++i) two_hundred += "责";
  a.mutable_escalate()->set_subject(two_hundred);  // 600 bytes
  EXPECT_TRUE(ValidateCaseAction(a, kNow, Limits()).ok());
  a.mutable_escalate()->set_subject(two_hundred + "任");
  EXPECT_EQ(ValidateCaseAction(a, kNow, Limits()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CaseTest, OverdueIsDerivedFromTheDeadlineInForce) {
  v1::Case c = CaseIn(v1::CASE_STATUS_ASSIGNED);
  const absl::Time deadline = absl::FromUnixSeconds(c.deadline().seconds());
  EXPECT_FALSE(IsOverdue(c, deadline - absl::Seconds(1)));
  EXPECT_FALSE(IsOverdue(c, deadline));
  EXPECT_TRUE(IsOverdue(c, deadline + absl::Seconds(1)));
  for (v1::CaseStatus s :
       {v1::CASE_STATUS_RECTIFICATION_SUBMITTED, v1::CASE_STATUS_EVALUATED}) {
    c.set_status(s);
    EXPECT_TRUE(IsOverdue(c, deadline + absl::Hours(1))) << CaseStatusName(s);
  }
  c.set_status(v1::CASE_STATUS_CLOSED);
  EXPECT_FALSE(IsOverdue(c, deadline + absl::Hours(1)));
  // No deadline before the assignment.
  EXPECT_FALSE(IsOverdue(CaseIn(v1::CASE_STATUS_ACCEPTED),
                         kNow + absl::Hours(24 * 999)));
  EXPECT_FALSE(IsOverdue(CaseIn(v1::CASE_STATUS_REPORTED),
                         kNow + absl::Hours(24 * 999)));
}

TEST(CaseTest, UnsatisfiedEvaluationReassignsWithTheNewDeadline) {
  v1::Case c = CaseIn(v1::CASE_STATUS_RECTIFICATION_SUBMITTED);
  auto event = DecideCaseAction(
      c, ValidAction(CaseStep::kEvaluate, v1::RATING_UNSATISFIED), "admin",
      kNow, Limits());
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->case_evaluated().evaluation().round(), 1u);
  ASSERT_TRUE(ApplyCaseEvent(*event, c).ok());
  EXPECT_EQ(c.status(), v1::CASE_STATUS_ASSIGNED);
  EXPECT_EQ(c.round(), 2u);
  EXPECT_EQ(c.deadline().seconds(),
            absl::ToUnixSeconds(kNow + absl::Hours(24 * 14)));
  EXPECT_EQ(c.last_evaluation().comment(), "仍有人员脱岗");
}

v1::EvidenceRef Ref(char digit) {
  v1::EvidenceRef e;
  e.set_sha256(std::string(64, digit));
  e.set_media_type("image/jpeg");
  e.set_size_bytes(1000);
  return e;
}

TEST(CaseTest, EvidenceCollectsTheFindingsAndEachReportsReferences) {
  v1::Event reported;
  reported.set_seq(1);
  v1::Finding* f = reported.mutable_finding_reported();
  f->set_id(CaseId());
  *f->add_evidence() = Ref('a');
  *f->add_evidence() = Ref('b');
  v1::Case c = NewCase(reported, {"sz"});
  ASSERT_EQ(c.evidence_size(), 2);
  EXPECT_EQ(c.evidence(1).ref().sha256(), std::string(64, 'b'));
  EXPECT_EQ(c.evidence(1).source(), v1::EVIDENCE_SOURCE_FINDING);

  // An amendment replaces the finding's references.
  v1::Event amended;
  amended.set_seq(2);
  *amended.mutable_finding_amended() = *f;
  amended.mutable_finding_amended()->clear_evidence();
  *amended.mutable_finding_amended()->add_evidence() = Ref('c');
  ASSERT_TRUE(ApplyCaseEvent(amended, c).ok());
  ASSERT_EQ(c.evidence_size(), 1);
  EXPECT_EQ(c.evidence(0).ref().sha256(), std::string(64, 'c'));

  // Reports add theirs, each hash once, and earlier rounds' stay.
  c.set_status(v1::CASE_STATUS_ASSIGNED);
  c.set_round(1);
  v1::CaseAction report = ValidAction(CaseStep::kSubmitRectification,
                                      v1::RATING_UNSPECIFIED);  // 'a'
  *report.mutable_submit_rectification()->add_evidence() = Ref('c');
  auto first = DecideCaseAction(c, report, "o-1", kNow, Limits());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(ApplyCaseEvent(*first, c).ok());
  c.set_status(v1::CASE_STATUS_ASSIGNED);
  c.set_round(2);
  *report.mutable_submit_rectification()->mutable_evidence(0) = Ref('d');
  auto second = DecideCaseAction(c, report, "o-1", kNow, Limits());
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(ApplyCaseEvent(*second, c).ok());
  std::vector<std::tuple<char, v1::EvidenceSource, uint32_t>> got;
  for (const v1::CaseEvidence& e : c.evidence()) {
    got.emplace_back(e.ref().sha256()[0], e.source(), e.round());
  }
  EXPECT_THAT(got,
              ::testing::ElementsAre(
                  std::make_tuple('c', v1::EVIDENCE_SOURCE_FINDING, 0u),
                  std::make_tuple('a', v1::EVIDENCE_SOURCE_RECTIFICATION, 1u),
                  std::make_tuple('d', v1::EVIDENCE_SOURCE_RECTIFICATION, 2u)));

  // Pending while one is not complete.
  ASSERT_TRUE(MarkEvidenceState(c, [](absl::string_view sha256) {
                return sha256[0] != 'a';
              }).ok());
  EXPECT_TRUE(c.evidence_pending());
  EXPECT_FALSE(c.evidence(1).complete());
  EXPECT_TRUE(c.evidence(2).complete());
  ASSERT_TRUE(
      MarkEvidenceState(c, [](absl::string_view) { return true; }).ok());
  EXPECT_FALSE(c.evidence_pending());
  EXPECT_EQ(MarkEvidenceState(c,
                              [](absl::string_view) -> absl::StatusOr<bool> {
                                return absl::UnavailableError("disk");
                              })
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST(CaseTest, IndexKeysFollowTheState) {
  constexpr v1::CaseStatus kAny = v1::CASE_STATUS_UNSPECIFIED;
  v1::Case c = CaseIn(v1::CASE_STATUS_REPORTED);
  c.add_region_path("ns");
  c.mutable_reported_at()->set_seconds(100);
  std::vector<CaseIndexKey> want = {
      {CaseIndex::kRegion, "ns", kAny, 100, CaseId()},
      {CaseIndex::kRegion, "sz", kAny, 100, CaseId()},
      {CaseIndex::kUnit, "u1", kAny, 100, CaseId()},
      {CaseIndex::kStatus, "", v1::CASE_STATUS_REPORTED, 100, CaseId()},
  };
  EXPECT_EQ(CaseIndexKeys(c), want);
  EXPECT_THAT(CaseIndexKeys(c).back().regions,
              ::testing::ElementsAreArray(c.region_path()));

  // A status change moves the status entry only.
  c.set_status(v1::CASE_STATUS_ACCEPTED);
  want.back().status = v1::CASE_STATUS_ACCEPTED;
  EXPECT_EQ(CaseIndexKeys(c), want);

  c.set_status(v1::CASE_STATUS_ASSIGNED);
  c.mutable_assignment()->set_unit_id("u2");
  c.mutable_deadline()->set_seconds(500);
  const auto keys = CaseIndexKeys(c);
  EXPECT_EQ(keys.size(), 6u);
  EXPECT_THAT(
      keys, ::testing::Contains(CaseIndexKey{CaseIndex::kResponsibleUnit, "u2",
                                             kAny, 100, CaseId()}));
  // One deadline entry, whatever the depth of the region path.
  const auto deadline =
      std::find(keys.begin(), keys.end(),
                CaseIndexKey{CaseIndex::kDeadline, "", kAny, 500, CaseId()});
  ASSERT_NE(deadline, keys.end());
  EXPECT_THAT(deadline->regions, ::testing::ElementsAre("sz", "ns"));

  c.set_status(v1::CASE_STATUS_CLOSED);  // no deadline entry once closed
  EXPECT_EQ(CaseIndexKeys(c).size(), 5u);
}

// ChangeCaseIndex turns the entries of any state of a case into those of
// any other, writing only what differs.
TEST(CaseTest, IndexChangesTurnOneStateIntoAnother) {
  std::vector<v1::Case> states;
  v1::Case c = CaseIn(v1::CASE_STATUS_REPORTED);
  c.add_region_path("ns");
  c.mutable_reported_at()->set_seconds(100);
  states.push_back(c);
  c.set_status(v1::CASE_STATUS_ACCEPTED);
  states.push_back(c);
  c.set_status(v1::CASE_STATUS_ASSIGNED);
  c.mutable_assignment()->set_unit_id("u2");
  c.mutable_deadline()->set_seconds(500);
  states.push_back(c);
  c.mutable_deadline()->set_seconds(900);  // reassigned, a new deadline
  c.mutable_assignment()->set_unit_id("u3");
  states.push_back(c);
  c.set_status(v1::CASE_STATUS_CLOSED);
  states.push_back(c);
  v1::Case moved = states[0];  // amended to a unit in other regions
  moved.set_unit_id("u9");
  moved.clear_region_path();
  moved.add_region_path("sz");
  moved.add_region_path("ft");
  states.push_back(moved);
  v1::Case deeper = states[2];  // the same places under more regions
  deeper.add_region_path("town");
  states.push_back(deeper);

  using Entries = std::map<CaseIndexKey, std::vector<std::string>>;
  const auto entries_of = [](const v1::Case& state) {
    Entries entries;
    for (const CaseIndexKey& k : CaseIndexKeys(state)) {
      entries[k] = k.regions;
    }
    return entries;
  };
  for (size_t i = 0; i < states.size(); ++i) {
    for (size_t j = 0; j < states.size(); ++j) {
      SCOPED_TRACE(absl::StrCat("from state ", i, " to state ", j));
      Entries entries = entries_of(states[i]);
      const CaseIndexChanges changes = ChangeCaseIndex(&states[i], states[j]);
      for (const CaseIndexKey& k : changes.remove) {
        EXPECT_EQ(entries.erase(k), 1u);
      }
      for (const CaseIndexKey& k : changes.put) {
        auto it = entries.find(k);
        EXPECT_TRUE(it == entries.end() || it->second != k.regions)
            << "rewrites an unchanged entry";
        entries[k] = k.regions;
      }
      EXPECT_EQ(entries, entries_of(states[j]));
      if (i == j) {
        EXPECT_TRUE(changes.remove.empty());
        EXPECT_TRUE(changes.put.empty());
      }
    }
    const CaseIndexChanges opened = ChangeCaseIndex(nullptr, states[i]);
    EXPECT_TRUE(opened.remove.empty());
    EXPECT_EQ(opened.put, CaseIndexKeys(states[i]));
  }
}

TEST(CaseTest, FindingStatusMirrorsEveryCaseStatus) {
  for (v1::CaseStatus s : kAllStatuses) {
    const v1::FindingStatus f = FindingStatusOf(s);
    if (s == v1::CASE_STATUS_UNSPECIFIED) {
      EXPECT_EQ(f, v1::FINDING_STATUS_UNSPECIFIED);
      continue;
    }
    EXPECT_EQ(
        v1::FindingStatus_Name(f),
        absl::StrCat("FINDING_STATUS_", v1::CaseStatus_Name(s).substr(12)));
  }
}

}  // namespace
}  // namespace fieldledger
