// Model-based: random case steps by several actors against a node, each
// outcome compared with a small in-memory model of the lifecycle written
// independently of core/ (status table, versions, scopes); after a restart
// every case is still what the model says, and the derived state checks.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/text.h"
#include "fieldledger/v1/admin.grpc.pb.h"
#include "fieldledger/v1/supervision.grpc.pb.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/node.h"

namespace fieldledger {
namespace {

using server::Node;
using Stub = v1::Supervision::Stub;
using Code = grpc::StatusCode;

enum Step {
  kAccept,
  kDismiss,
  kAssign,
  kRectify,
  kEvaluateOk,
  kEvaluateBad,
  kClose,
  kEscalate,
  kStepCount
};
enum Status {
  kReported,
  kAccepted,
  kDismissed,
  kAssigned,
  kSubmitted,
  kEvaluated,
  kClosed
};

const v1::CaseStatus kWire[] = {v1::CASE_STATUS_REPORTED,
                                v1::CASE_STATUS_ACCEPTED,
                                v1::CASE_STATUS_DISMISSED,
                                v1::CASE_STATUS_ASSIGNED,
                                v1::CASE_STATUS_RECTIFICATION_SUBMITTED,
                                v1::CASE_STATUS_EVALUATED,
                                v1::CASE_STATUS_CLOSED};

struct ModelCase {
  Status status = kReported;
  uint64_t version = 1;
  std::string responsible;  // the assigned unit, once assigned
};

// The lifecycle of DESIGN.md: the status after `step`, or -1 when the step
// is not allowed in `s`.
int Next(Status s, Step step) {
  const bool open =
      s == kAccepted || s == kAssigned || s == kSubmitted || s == kEvaluated;
  switch (step) {
    case kAccept:
      return s == kReported ? kAccepted : -1;
    case kDismiss:
      return s == kReported ? kDismissed : -1;
    case kAssign:
      return s == kAccepted ? kAssigned : -1;
    case kRectify:
      return s == kAssigned ? kSubmitted : -1;
    case kEvaluateOk:
      return s == kSubmitted ? kEvaluated : -1;
    case kEvaluateBad:
      return s == kSubmitted ? kAssigned : -1;
    case kClose:
      return s == kEvaluated ? kClosed : -1;
    case kEscalate:
      return open ? s : -1;
    default:
      return -1;
  }
}

struct Actor {
  std::string name;
  enum { kAdmin, kSupervisor, kOfficer } kind;
  std::string scope;  // supervisor: "ns" sees everything here; officer: unit
};

class CaseModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "case_model_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Start();
    std::ifstream token_file(dir_ + "/node/admin.token");
    std::getline(token_file, tokens_["admin"]);
    auto admin = v1::Admin::NewStub(channel_);
    auto call = [&](auto method, const auto& request) {
      v1::CreateResponse out;
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + tokens_["admin"]);
      ASSERT_TRUE(((*admin).*method)(&ctx, request, &out).ok());
    };
    v1::CreateRegionRequest r;
    r.mutable_region()->set_id("ns");
    r.mutable_region()->set_name("南山区");
    call(&v1::Admin::Stub::CreateRegion, r);
    for (const char* id : {"u1", "u2"}) {
      v1::CreateUnitRequest u;
      u.mutable_unit()->set_id(id);
      u.mutable_unit()->set_name(id);
      u.mutable_unit()->set_region_id("ns");
      call(&v1::Admin::Stub::CreateUnit, u);
    }
    v1::CreateCategoryRequest c;
    c.mutable_category()->set_id("commuting");
    c.mutable_category()->set_name("走读");
    call(&v1::Admin::Stub::CreateCategory, c);
    Enroll("inspector", v1::ROLE_INSPECTOR, "");
    Enroll("supervisor", v1::ROLE_SUPERVISOR, "ns");
    Enroll("officer", v1::ROLE_UNIT_OFFICER, "u1");
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    node_.reset();
    server::NodeOptions options;
    options.data_dir = dir_ + "/node";
    options.listen = "127.0.0.1:0";
    auto node = Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", node_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  void Enroll(const std::string& who, v1::Role role, const std::string& scope) {
    v1::CreateEnrollmentCodeRequest request;
    request.set_role(role);
    request.set_scope(scope);
    v1::CreateEnrollmentCodeResponse code;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + tokens_["admin"]);
    ASSERT_TRUE(v1::Admin::NewStub(channel_)
                    ->CreateEnrollmentCode(&ctx, request, &code)
                    .ok());
    v1::EnrollRequest enroll;
    enroll.set_code(code.code());
    v1::EnrollResponse credential;
    grpc::ClientContext plain;
    ASSERT_TRUE(v1::FieldSync::NewStub(channel_)
                    ->Enroll(&plain, enroll, &credential)
                    .ok());
    tokens_[who] = credential.token();
    if (role == v1::ROLE_INSPECTOR) client_id_ = credential.client_id();
  }

  std::string Report() {
    v1::PushRequest request;
    v1::Mutation* m = request.add_mutations();
    m->set_client_id(client_id_);
    m->set_client_seq(++client_seq_);
    v1::Finding* f = m->mutable_report_finding()->mutable_finding();
    f->set_id(NewUuidV7(absl::Now()));
    f->set_unit_id("u1");
    f->set_category_id("commuting");
    f->set_summary("无人在岗");
    f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    v1::PushResponse reply;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + tokens_["inspector"]);
    EXPECT_TRUE(
        v1::FieldSync::NewStub(channel_)->Push(&ctx, request, &reply).ok());
    return f->id();
  }

  grpc::Status Act(const std::string& who, Step step, const std::string& id,
                   uint64_t version, const std::string& unit) {
    v1::CaseAction a;
    a.set_case_id(id);
    a.set_expected_version(version);
    const auto deadline = absl::ToUnixSeconds(absl::Now() + absl::Hours(240));
    auto stub = v1::Supervision::NewStub(channel_);
    grpc::Status (Stub::*rpc)(grpc::ClientContext*,
                              const v1::CaseActionRequest&,
                              v1::CaseActionResponse*) = nullptr;
    switch (step) {
      case kAccept:
        a.mutable_accept();
        rpc = &Stub::Accept;
        break;
      case kDismiss:
        a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_REJECTED);
        a.mutable_dismiss()->set_note("不属实");
        rpc = &Stub::Dismiss;
        break;
      case kAssign: {
        v1::Assignment* x = a.mutable_assign();
        x->set_unit_id(unit);
        x->mutable_person()->set_name("李四");
        x->mutable_person()->set_post("主任");
        x->mutable_deadline()->set_seconds(deadline);
        x->set_mechanism(v1::MECHANISM_JOINT_DEPARTMENTS);
        x->set_assigned_by("区纪委");
        rpc = &Stub::Assign;
        break;
      }
      case kRectify:
        a.mutable_submit_rectification()->set_text("已整改");
        rpc = &Stub::SubmitRectification;
        break;
      case kEvaluateOk:
        a.mutable_evaluate()->set_rating(v1::RATING_BASICALLY_SATISFIED);
        rpc = &Stub::Evaluate;
        break;
      case kEvaluateBad:
        a.mutable_evaluate()->set_rating(v1::RATING_UNSATISFIED);
        a.mutable_evaluate()->set_comment("整改不彻底");
        a.mutable_evaluate()->mutable_new_deadline()->set_seconds(deadline);
        rpc = &Stub::Evaluate;
        break;
      case kClose:
        a.mutable_close();
        rpc = &Stub::Close;
        break;
      case kEscalate:
        a.mutable_escalate()->set_kind(v1::ESCALATION_KIND_PUBLIC_NOTICE);
        a.mutable_escalate()->set_subject("主任");
        rpc = &Stub::Escalate;
        break;
      default:
        break;
    }
    v1::CaseActionRequest request;
    *request.mutable_action() = a;
    v1::CaseActionResponse reply;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + tokens_.at(who));
    return ((*stub).*rpc)(&ctx, request, &reply);
  }

  // Every case as the admin sees it.
  void ExpectMatchesModel(const std::map<std::string, ModelCase>& model) {
    auto stub = v1::Supervision::NewStub(channel_);
    for (const auto& [id, m] : model) {
      v1::GetCaseRequest request;
      request.set_case_id(id);
      v1::GetCaseResponse reply;
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + tokens_["admin"]);
      ASSERT_TRUE(stub->GetCase(&ctx, request, &reply).ok());
      EXPECT_EQ(reply.case_().status(), kWire[m.status]) << id;
      EXPECT_EQ(reply.case_().version(), m.version) << id;
      EXPECT_EQ(reply.case_().assignment().unit_id(), m.responsible) << id;
      // One event per version: the report and each step.
      EXPECT_EQ(static_cast<uint64_t>(reply.history_size()), m.version) << id;
    }
  }

  std::string dir_;
  std::unique_ptr<Node> node_;
  std::shared_ptr<grpc::Channel> channel_;
  std::map<std::string, std::string> tokens_;
  std::string client_id_;
  uint64_t client_seq_ = 0;
};

TEST_F(CaseModelTest, RandomStepsFollowTheModelAndSurviveRestart) {
  std::map<std::string, ModelCase> model;
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(Report());
    model[ids.back()];
  }
  const std::vector<std::string> actors = {"admin", "supervisor", "officer"};
  std::mt19937 rng(20260902);
  int applied = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string& id = ids[rng() % ids.size()];
    ModelCase& m = model[id];
    const Step step = static_cast<Step>(rng() % kStepCount);
    const std::string& who = actors[rng() % actors.size()];
    const bool stale = rng() % 5 == 0;
    const uint64_t version =
        rng() % 4 == 0 ? 0 : (stale ? m.version - 1 : m.version);
    const std::string unit = rng() % 2 == 0 ? "u1" : "u2";

    Code want = Code::OK;
    const int next = Next(m.status, step);
    if (who == "officer" && step != kRectify) {
      want = Code::PERMISSION_DENIED;
    } else if (who == "officer" && m.responsible != "u1") {
      want = Code::NOT_FOUND;
    } else if (version != 0 && version != m.version) {
      want = Code::ABORTED;
    } else if (next < 0) {
      want = Code::FAILED_PRECONDITION;
    }
    const grpc::Status got = Act(who, step, id, version, unit);
    ASSERT_EQ(got.error_code(), want)
        << "step " << i << ": " << step << " by " << who << " on a case in "
        << m.status << ": " << got.error_message();
    if (got.ok()) {
      ++applied;
      m.status = static_cast<Status>(next);
      ++m.version;
      if (step == kAssign) m.responsible = unit;
    }
  }
  EXPECT_GT(applied, 40);
  ExpectMatchesModel(model);

  Start();  // the same data directory
  ExpectMatchesModel(model);
  const absl::Status check = node_->store().CheckDerivedState();
  EXPECT_TRUE(check.ok()) << check;
}

}  // namespace
}  // namespace fieldledger
