// Every Supervision rpc as every role, against a node on port 0: allowed
// (and then it works), PERMISSION_DENIED for a role the rpc does not name,
// NOT_FOUND for a case outside the caller's scope; scoped listings never
// hold another scope's cases, and a unit officer never sees the inspector's
// pseudonym or the exact time. Plus two supervisors racing on one case.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "client/evidence_upload.h"
#include "core/text.h"
#include "fieldledger/v1/admin.grpc.pb.h"
#include "fieldledger/v1/reports.grpc.pb.h"
#include "fieldledger/v1/supervision.grpc.pb.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/node.h"

namespace fieldledger {
namespace {

using server::Node;
using Stub = v1::Supervision::Stub;
using ActionRpc = grpc::Status (Stub::*)(grpc::ClientContext*,
                                         const v1::CaseActionRequest&,
                                         v1::CaseActionResponse*);

struct Step {
  const char* name;
  ActionRpc rpc;
  v1::CaseAction::ActionCase step;
};
const Step kSteps[] = {
    {"Accept", &Stub::Accept, v1::CaseAction::kAccept},
    {"Dismiss", &Stub::Dismiss, v1::CaseAction::kDismiss},
    {"Assign", &Stub::Assign, v1::CaseAction::kAssign},
    {"SubmitRectification", &Stub::SubmitRectification,
     v1::CaseAction::kSubmitRectification},
    {"Evaluate", &Stub::Evaluate, v1::CaseAction::kEvaluate},
    {"Close", &Stub::Close, v1::CaseAction::kClose},
    {"Escalate", &Stub::Escalate, v1::CaseAction::kEscalate},
};

// A well-formed action of `step` on case `id`.
v1::CaseAction MakeAction(v1::CaseAction::ActionCase step,
                          const std::string& id, uint64_t version = 0) {
  v1::CaseAction a;
  a.set_case_id(id);
  a.set_expected_version(version);
  switch (step) {
    case v1::CaseAction::kAccept:
      a.mutable_accept()->set_note("受理");
      break;
    case v1::CaseAction::kDismiss:
      a.mutable_dismiss()->set_reason(v1::DISMISSAL_REASON_REJECTED);
      a.mutable_dismiss()->set_note("不属实");
      break;
    case v1::CaseAction::kAssign: {
      v1::Assignment* x = a.mutable_assign();
      x->set_unit_id("u1");
      x->mutable_person()->set_name("李四");
      x->mutable_person()->set_post("镇长");
      x->mutable_deadline()->set_seconds(
          absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 7)));
      x->set_mechanism(v1::MECHANISM_TOP_LEADER);
      x->set_assigned_by("区委书记");
      break;
    }
    case v1::CaseAction::kSubmitRectification:
      a.mutable_submit_rectification()->set_text("已建立值班制度");
      break;
    case v1::CaseAction::kEvaluate:
      a.mutable_evaluate()->set_rating(v1::RATING_SATISFIED);
      break;
    case v1::CaseAction::kClose:
      a.mutable_close()->set_note("销号");
      break;
    case v1::CaseAction::kEscalate:
      a.mutable_escalate()->set_kind(v1::ESCALATION_KIND_TALK);
      a.mutable_escalate()->set_subject("镇长");
      break;
    case v1::CaseAction::ACTION_NOT_SET:
      break;
  }
  return a;
}

class SupervisionRolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "roles_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    server::NodeOptions options;
    options.data_dir = dir_ + "/node";
    options.listen = "127.0.0.1:0";
    auto node = Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", node_->port()),
                                   grpc::InsecureChannelCredentials());
    std::ifstream token_file(dir_ + "/node/admin.token");
    std::getline(token_file, tokens_["admin"]);

    // sz > ns (u1); gz (u2).
    auto admin = v1::Admin::NewStub(channel_);
    auto region = [&](const char* id, const char* parent) {
      v1::CreateRegionRequest r;
      r.mutable_region()->set_id(id);
      r.mutable_region()->set_name(id);
      r.mutable_region()->set_parent_id(parent);
      v1::CreateResponse out;
      auto ctx = Context("admin");
      ASSERT_TRUE(admin->CreateRegion(ctx.get(), r, &out).ok());
    };
    region("sz", "");
    region("ns", "sz");
    region("gz", "");
    auto unit = [&](const char* id, const char* in) {
      v1::CreateUnitRequest r;
      r.mutable_unit()->set_id(id);
      r.mutable_unit()->set_name(id);
      r.mutable_unit()->set_region_id(in);
      v1::CreateResponse out;
      auto ctx = Context("admin");
      ASSERT_TRUE(admin->CreateUnit(ctx.get(), r, &out).ok());
    };
    unit("u1", "ns");
    unit("u2", "gz");
    v1::CreateCategoryRequest cat;
    cat.mutable_category()->set_id("commuting");
    cat.mutable_category()->set_name("走读");
    v1::CreateResponse out;
    auto ctx = Context("admin");
    ASSERT_TRUE(admin->CreateCategory(ctx.get(), cat, &out).ok());

    EnrollAs("inspector", v1::ROLE_INSPECTOR, "");
    EnrollAs("supervisor", v1::ROLE_SUPERVISOR, "ns");
    EnrollAs("supervisor_sz", v1::ROLE_SUPERVISOR, "sz");
    EnrollAs("supervisor_out", v1::ROLE_SUPERVISOR, "gz");
    EnrollAs("officer", v1::ROLE_UNIT_OFFICER, "u1");
    EnrollAs("officer_other", v1::ROLE_UNIT_OFFICER, "u2");
    EnrollAs("auditor", v1::ROLE_AUDITOR, "");
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& who) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + tokens_.at(who));
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(30));
    return ctx;
  }

  void EnrollAs(const std::string& who, v1::Role role,
                const std::string& scope) {
    auto admin = v1::Admin::NewStub(channel_);
    v1::CreateEnrollmentCodeRequest request;
    request.set_role(role);
    request.set_scope(scope);
    v1::CreateEnrollmentCodeResponse code;
    auto ctx = Context("admin");
    ASSERT_TRUE(admin->CreateEnrollmentCode(ctx.get(), request, &code).ok());
    v1::EnrollRequest enroll;
    enroll.set_code(code.code());
    v1::EnrollResponse credential;
    grpc::ClientContext plain;
    ASSERT_TRUE(v1::FieldSync::NewStub(channel_)
                    ->Enroll(&plain, enroll, &credential)
                    .ok());
    tokens_[who] = credential.token();
    if (role == v1::ROLE_INSPECTOR) {
      client_id_ = credential.client_id();
      pseudonym_ = credential.pseudonym();
    }
  }

  // The inspector reports a finding in `unit` with `evidence`; returns the
  // case id.
  std::string Report(const std::string& unit,
                     const std::vector<v1::EvidenceRef>& evidence = {}) {
    v1::PushRequest request;
    v1::Mutation* m = request.add_mutations();
    m->set_client_id(client_id_);
    m->set_client_seq(++client_seq_);
    v1::Finding* f = m->mutable_report_finding()->mutable_finding();
    f->set_id(NewUuidV7(absl::Now()));
    f->set_unit_id(unit);
    f->set_category_id("commuting");
    f->set_summary("工作日无人在岗");
    f->mutable_observed_at()->set_seconds(
        absl::ToUnixSeconds(absl::Now() - absl::Minutes(37)));
    f->mutable_evidence()->Assign(evidence.begin(), evidence.end());
    v1::PushResponse reply;
    auto ctx = Context("inspector");
    grpc::Status s =
        v1::FieldSync::NewStub(channel_)->Push(ctx.get(), request, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(reply.results(0).outcome(), v1::OUTCOME_APPLIED);
    return f->id();
  }

  grpc::Status Act(const std::string& who, const Step& step,
                   const v1::CaseAction& action,
                   v1::CaseActionResponse* reply = nullptr) {
    v1::CaseActionRequest request;
    *request.mutable_action() = action;
    v1::CaseActionResponse ignored;
    auto ctx = Context(who);
    auto stub = v1::Supervision::NewStub(channel_);
    return (stub.get()->*step.rpc)(ctx.get(), request,
                                   reply ? reply : &ignored);
  }

  const Step& StepOf(v1::CaseAction::ActionCase step) {
    for (const Step& s : kSteps) {
      if (s.step == step) return s;
    }
    return kSteps[0];
  }

  // The case as the admin sees it.
  v1::Case CaseAsAdmin(const std::string& id) {
    v1::GetCaseRequest request;
    request.set_case_id(id);
    v1::GetCaseResponse reply;
    auto ctx = Context("admin");
    EXPECT_TRUE(v1::Supervision::NewStub(channel_)
                    ->GetCase(ctx.get(), request, &reply)
                    .ok());
    return reply.case_();
  }

  // Moves case `id` to the status where `step` is allowed, as the admin.
  void Prepare(const std::string& id, v1::CaseAction::ActionCase step) {
    std::vector<v1::CaseAction::ActionCase> path;
    switch (step) {
      case v1::CaseAction::kClose:
        path = {v1::CaseAction::kAccept, v1::CaseAction::kAssign,
                v1::CaseAction::kSubmitRectification,
                v1::CaseAction::kEvaluate};
        break;
      case v1::CaseAction::kEvaluate:
        path = {v1::CaseAction::kAccept, v1::CaseAction::kAssign,
                v1::CaseAction::kSubmitRectification};
        break;
      case v1::CaseAction::kSubmitRectification:
      case v1::CaseAction::kEscalate:
        path = {v1::CaseAction::kAccept, v1::CaseAction::kAssign};
        break;
      case v1::CaseAction::kAssign:
        path = {v1::CaseAction::kAccept};
        break;
      default:
        break;
    }
    for (auto s : path) {
      grpc::Status status = Act("admin", StepOf(s), MakeAction(s, id));
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }

  std::string dir_;
  std::unique_ptr<Node> node_;
  std::shared_ptr<grpc::Channel> channel_;
  std::map<std::string, std::string> tokens_;
  std::string client_id_, pseudonym_;
  uint64_t client_seq_ = 0;
};

enum class Expect { kOk, kDenied, kNotFound };

TEST_F(SupervisionRolesTest, EveryCaseStepForEveryRole) {
  // Who may take each step on a case of unit u1 in region ns, assigned to
  // unit u1.
  const std::vector<std::string> roles = {
      "admin",   "inspector",     "supervisor", "supervisor_out",
      "officer", "officer_other", "auditor"};
  for (const Step& step : kSteps) {
    for (const std::string& who : roles) {
      Expect want = Expect::kDenied;
      if (who == "admin" || who == "supervisor") want = Expect::kOk;
      if (who == "supervisor_out") want = Expect::kNotFound;
      if (step.step == v1::CaseAction::kSubmitRectification) {
        if (who == "officer") want = Expect::kOk;
        if (who == "officer_other") want = Expect::kNotFound;
      }
      const std::string id = Report("u1");
      Prepare(id, step.step);
      const v1::Case before = CaseAsAdmin(id);
      v1::CaseActionResponse reply;
      const grpc::Status s =
          Act(who, step, MakeAction(step.step, id, before.version()), &reply);
      const v1::Case after = CaseAsAdmin(id);
      SCOPED_TRACE(
          absl::StrCat(step.name, " as ", who, ": ", s.error_message()));
      switch (want) {
        case Expect::kOk:
          EXPECT_TRUE(s.ok());
          EXPECT_EQ(reply.version(), before.version() + 1);
          EXPECT_EQ(after.version(), before.version() + 1);
          EXPECT_EQ(after.updated_seq(), reply.event_seq());
          break;
        case Expect::kDenied:
          EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
          EXPECT_EQ(after.version(), before.version());
          break;
        case Expect::kNotFound:
          EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
          EXPECT_EQ(s.error_message(),
                    absl::StrCat("action.case_id: no case \"", id, "\""));
          EXPECT_EQ(after.version(), before.version());
          break;
      }
    }
  }
}

TEST_F(SupervisionRolesTest, StepMustMatchTheRpc) {
  const std::string id = Report("u1");
  const grpc::Status s = Act("supervisor", StepOf(v1::CaseAction::kAccept),
                             MakeAction(v1::CaseAction::kClose, id));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "action: Accept carries action.accept");
  v1::CaseAction bad = MakeAction(v1::CaseAction::kAssign, id);
  bad.mutable_assign()->clear_deadline();
  Prepare(id, v1::CaseAction::kAssign);
  const grpc::Status missing =
      Act("supervisor", StepOf(v1::CaseAction::kAssign), bad);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(missing.error_message().rfind("action.assign.deadline", 0), 0u)
      << missing.error_message();
}

TEST_F(SupervisionRolesTest, ReadsAndOfficeRpcsForEveryRole) {
  const std::string in_scope = Report("u1");
  const std::string elsewhere = Report("u2");
  Prepare(in_scope, v1::CaseAction::kSubmitRectification);  // assigned to u1
  auto stub = v1::Supervision::NewStub(channel_);

  struct Row {
    std::string who;
    bool reads;         // ListCases, GetCase
    bool office_reads;  // GetLists, ListCampaigns
    bool decides;       // PublishList, CreateCampaign
  };
  const Row rows[] = {
      {"admin", true, true, true},      {"inspector", false, false, false},
      {"supervisor", true, true, true}, {"supervisor_out", true, true, true},
      {"officer", true, false, false},  {"officer_other", true, false, false},
      {"auditor", true, true, false},
  };
  int campaigns = 0, lists = 0;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.who);
    const auto denied = grpc::StatusCode::PERMISSION_DENIED;
    {
      v1::ListCasesResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = stub->ListCases(ctx.get(), {}, &reply);
      EXPECT_EQ(s.ok(), row.reads) << s.error_message();
      if (!row.reads) {
        EXPECT_EQ(s.error_code(), denied);
      }
    }
    {
      v1::GetCaseRequest request;
      request.set_case_id(in_scope);
      v1::GetCaseResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = stub->GetCase(ctx.get(), request, &reply);
      if (!row.reads) {
        EXPECT_EQ(s.error_code(), denied);
      } else if (row.who == "supervisor_out" || row.who == "officer_other") {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
        EXPECT_EQ(s.error_message(),
                  absl::StrCat("case_id: no case \"", in_scope, "\""));
      } else {
        EXPECT_TRUE(s.ok()) << s.error_message();
      }
    }
    {
      v1::GetListsResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = stub->GetLists(ctx.get(), {}, &reply);
      EXPECT_EQ(s.ok(), row.office_reads) << s.error_message();
      if (!row.office_reads) {
        EXPECT_EQ(s.error_code(), denied);
      }
    }
    {
      v1::ListCampaignsResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = stub->ListCampaigns(ctx.get(), {}, &reply);
      EXPECT_EQ(s.ok(), row.office_reads) << s.error_message();
      if (!row.office_reads) {
        EXPECT_EQ(s.error_code(), denied);
      }
    }
    {
      v1::CreateCampaignRequest request;
      v1::Campaign* c = request.mutable_campaign();
      c->set_id(absl::StrCat("c", ++campaigns));
      c->set_name("走读专项暗访");
      c->add_category_ids("commuting");
      c->add_target_unit_ids(row.who == "supervisor_out" ? "u2" : "u1");
      c->set_start_date("2026-09-02");
      c->set_end_date("2026-09-03");
      v1::CreateCampaignResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = stub->CreateCampaign(ctx.get(), request, &reply);
      EXPECT_EQ(s.ok(), row.decides) << s.error_message();
      if (!row.decides) {
        EXPECT_EQ(s.error_code(), denied);
      }
    }
    {
      v1::PublishListRequest request;
      v1::PublishedList* l = request.mutable_list();
      l->set_kind(v1::LIST_KIND_RED);
      l->set_period(absl::StrCat(2000 + ++lists));
      v1::ListEntry* e = l->add_entries();
      e->set_unit_id(row.who == "supervisor_out" ? "u2" : "u1");
      e->set_reason("整改迅速");
      v1::PublishListResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = stub->PublishList(ctx.get(), request, &reply);
      EXPECT_EQ(s.ok(), row.decides) << s.error_message();
      if (!row.decides) {
        EXPECT_EQ(s.error_code(), denied);
      }
    }
  }

  // A supervisor may not plan a campaign outside its subtree, nor list
  // cases it cannot see.
  {
    v1::CreateCampaignRequest request;
    v1::Campaign* c = request.mutable_campaign();
    c->set_id("outside");
    c->set_name("越界");
    c->add_category_ids("commuting");
    c->add_target_unit_ids("u2");
    c->set_start_date("2026-09-02");
    c->set_end_date("2026-09-03");
    v1::CreateCampaignResponse reply;
    auto ctx = Context("supervisor");
    EXPECT_EQ(stub->CreateCampaign(ctx.get(), request, &reply).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    v1::PublishListRequest request;
    v1::PublishedList* l = request.mutable_list();
    l->set_kind(v1::LIST_KIND_BLACK);
    l->set_period("2026");
    v1::ListEntry* e = l->add_entries();
    e->set_unit_id("u1");
    e->set_reason("整改不力");
    e->add_case_ids(in_scope);
    v1::PublishListResponse reply;
    auto ctx = Context("supervisor_out");
    grpc::Status s = stub->PublishList(ctx.get(), request, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message(),
              absl::StrCat("list.entries[0].case_ids[0]: no case \"", in_scope,
                           "\""));
  }
  (void)elsewhere;
}

// Every Reports rpc, and Admin.RebuildAggregates, as every role: the
// inspector is refused; each other role sees its own scope's figures and
// cases only.
TEST_F(SupervisionRolesTest, ReportsForEveryRole) {
  const std::string in_scope = Report("u1");
  Report("u2");
  Prepare(in_scope, v1::CaseAction::kSubmitRectification);  // assigned to u1
  auto reports = v1::Reports::NewStub(channel_);
  struct Row {
    std::string who;
    int64_t cases;  // in the report and the export; -1: refused
  };
  const Row rows[] = {{"admin", 2},          {"auditor", 2},
                      {"supervisor", 1},     {"supervisor_sz", 1},
                      {"supervisor_out", 1}, {"officer", 1},
                      {"officer_other", 0},  {"inspector", -1}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.who);
    const bool refused = row.cases < 0;
    {
      v1::GetReportResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = reports->GetReport(ctx.get(), {}, &reply);
      if (refused) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      } else {
        ASSERT_TRUE(s.ok()) << s.error_message();
        EXPECT_EQ(static_cast<int64_t>(reply.total().cases()), row.cases);
      }
    }
    {
      v1::ListOverdueResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = reports->ListOverdue(ctx.get(), {}, &reply);
      EXPECT_EQ(s.ok(), !refused) << s.error_message();
      if (refused) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      }
    }
    {
      v1::RankUnitsRequest request;
      request.set_by(v1::RANK_BY_OPEN);
      v1::RankUnitsResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = reports->RankUnits(ctx.get(), request, &reply);
      EXPECT_EQ(s.ok(), !refused) << s.error_message();
      for (const auto& u : reply.units()) {
        if (row.who == "supervisor" || row.who == "officer") {
          EXPECT_EQ(u.unit_id(), "u1");
        }
        if (row.who == "supervisor_out") {
          EXPECT_EQ(u.unit_id(), "u2");
        }
      }
    }
    {
      v1::ExportCasesRequest request;
      request.set_format(v1::EXPORT_FORMAT_JSONL);
      auto ctx = Context(row.who);
      auto reader = reports->ExportCases(ctx.get(), request);
      v1::ExportChunk chunk;
      std::string out;
      while (reader->Read(&chunk)) out += chunk.data();
      grpc::Status s = reader->Finish();
      if (refused) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      } else {
        ASSERT_TRUE(s.ok()) << s.error_message();
        EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), row.cases) << out;
      }
    }
    {
      v1::RebuildAggregatesRequest request;
      request.set_check_only(true);
      v1::RebuildAggregatesResponse reply;
      auto ctx = Context(row.who);
      grpc::Status s = v1::Admin::NewStub(channel_)->RebuildAggregates(
          ctx.get(), request, &reply);
      if (row.who == "admin") {
        ASSERT_TRUE(s.ok()) << s.error_message();
        EXPECT_EQ(reply.differences(), 0u);
        EXPECT_GT(reply.counters(), 0u);
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      }
    }
  }
  // A region outside the caller's subtree is unknown to it.
  v1::GetReportRequest request;
  request.set_region_id("gz");
  v1::GetReportResponse reply;
  auto ctx = Context("supervisor");
  grpc::Status s = reports->GetReport(ctx.get(), request, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "region_id: no region \"gz\"");
}

TEST_F(SupervisionRolesTest, ScopedResultsNeverLeak) {
  const std::string a = Report("u1");  // ns, will be assigned to u1
  const std::string b = Report("u1");  // ns, stays reported
  const std::string c = Report("u2");  // gz
  Prepare(a, v1::CaseAction::kSubmitRectification);
  auto stub = v1::Supervision::NewStub(channel_);
  auto list = [&](const std::string& who) {
    std::vector<std::string> ids;
    v1::ListCasesRequest request;
    request.set_page_size(1);
    for (int i = 0; i < 10; ++i) {
      v1::ListCasesResponse reply;
      auto ctx = Context(who);
      grpc::Status s = stub->ListCases(ctx.get(), request, &reply);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const v1::Case& x : reply.cases()) {
        ids.push_back(x.id());
        if (who.rfind("officer", 0) == 0) {
          EXPECT_EQ(x.reported_at().seconds() % 86400, 0);
          EXPECT_EQ(reply.SerializeAsString().find(pseudonym_),
                    std::string::npos);
        }
      }
      if (reply.next_page_cursor().empty()) break;
      request.set_page_cursor(reply.next_page_cursor());
    }
    // Scope is the point here, not order: reports in the same second are
    // ordered by id, and ids made in the same millisecond are random.
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  auto sorted = [](std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(list("admin"), sorted({a, b, c}));
  EXPECT_EQ(list("auditor"), sorted({a, b, c}));
  EXPECT_EQ(list("supervisor"), sorted({a, b}));
  EXPECT_EQ(list("supervisor_sz"), sorted({a, b}));
  EXPECT_EQ(list("supervisor_out"), (std::vector<std::string>{c}));
  EXPECT_EQ(list("officer"), (std::vector<std::string>{a}));
  EXPECT_TRUE(list("officer_other").empty());

  // The officer's GetCase: the history without the pseudonym, dates only.
  v1::GetCaseRequest request;
  request.set_case_id(a);
  v1::GetCaseResponse reply;
  auto ctx = Context("officer");
  ASSERT_TRUE(stub->GetCase(ctx.get(), request, &reply).ok());
  EXPECT_EQ(reply.SerializeAsString().find(pseudonym_), std::string::npos);
  ASSERT_EQ(reply.history_size(), 3);  // reported, accepted, assigned
  EXPECT_TRUE(reply.history(0).has_finding_reported());
  EXPECT_EQ(reply.history(0).recorded_at().seconds() % 86400, 0);
  EXPECT_EQ(reply.history(0).finding_reported().observed_at().seconds() % 86400,
            0);
  // The supervisor's GetCase has the full history, with the times.
  v1::GetCaseResponse full;
  auto ctx2 = Context("supervisor");
  ASSERT_TRUE(stub->GetCase(ctx2.get(), request, &full).ok());
  EXPECT_EQ(full.history(0).actor(), pseudonym_);
}

TEST_F(SupervisionRolesTest, TwoSupervisorsOnOneCaseExactlyOneWins) {
  for (int round = 0; round < 5; ++round) {
    const std::string id = Report("u1");
    const uint64_t version = CaseAsAdmin(id).version();
    absl::Barrier start(2);
    grpc::Status outcomes[2];
    const char* who[2] = {"supervisor", "supervisor_sz"};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        start.Block();
        outcomes[i] = Act(who[i], StepOf(v1::CaseAction::kAccept),
                          MakeAction(v1::CaseAction::kAccept, id, version));
      });
    }
    for (auto& t : threads) t.join();
    const int wins = outcomes[0].ok() + outcomes[1].ok();
    EXPECT_EQ(wins, 1);
    for (const grpc::Status& s : outcomes) {
      if (!s.ok()) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED)
            << s.error_message();
      }
    }
    EXPECT_EQ(CaseAsAdmin(id).version(), version + 1);
  }
}

v1::EvidenceRef RefTo(const std::string& bytes) {
  v1::EvidenceRef ref;
  ref.set_sha256(absl::BytesToHexString(Sha256(bytes)));
  ref.set_media_type("application/octet-stream");
  ref.set_size_bytes(bytes.size());
  return ref;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

class EvidenceAccessTest : public SupervisionRolesTest {
 protected:
  // GetEvidence as `who`: the bytes, or the status code.
  absl::StatusOr<std::string> Download(const std::string& who,
                                       const std::string& sha256,
                                       const std::string& case_id) {
    v1::GetEvidenceRequest request;
    request.set_sha256(sha256);
    request.set_case_id(case_id);
    auto ctx = Context(who);
    auto stub = v1::FieldSync::NewStub(channel_);
    auto reader = stub->GetEvidence(ctx.get(), request);
    v1::EvidenceData message;
    std::string out;
    bool first = true;
    while (reader->Read(&message)) {
      EXPECT_EQ(message.offset(), out.size());
      EXPECT_LE(message.data().size(), size_t{1} << 20);
      EXPECT_EQ(message.size() != 0, first);
      if (first) {
        EXPECT_EQ(message.media_type(), "application/octet-stream");
      }
      first = false;
      out += message.data();
    }
    const grpc::Status s = reader->Finish();
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          s.error_message());
    }
    return out;
  }

  void Upload(const std::string& bytes, const std::string& who = "inspector") {
    auto stub = v1::FieldSync::NewStub(channel_);
    client::UploadOptions options;
    options.sleep = [](absl::Duration) {};
    auto status = client::UploadEvidence(
        *stub, tokens_.at(who), "application/octet-stream", bytes, options);
    ASSERT_TRUE(status.ok()) << status.status();
    ASSERT_TRUE(status->complete());
  }

  // The inspector's pulled view of finding `id`.
  v1::FindingUpdate Pulled(const std::string& id) {
    v1::PullResponse reply;
    auto ctx = Context("inspector");
    EXPECT_TRUE(v1::FieldSync::NewStub(channel_)
                    ->Pull(ctx.get(), v1::PullRequest(), &reply)
                    .ok());
    v1::FindingUpdate last;
    for (const v1::Change& change : reply.changes()) {
      if (change.has_finding() && change.finding().finding().id() == id) {
        last = change.finding();
      }
    }
    return last;
  }
};

TEST_F(EvidenceAccessTest,
       AFindingShowsEvidencePendingUntilItsUploadCompletes) {
  const std::string photo = RandomBytes(2500000, 1);
  const std::string id = Report("u1", {RefTo(photo)});
  v1::Case c = CaseAsAdmin(id);
  ASSERT_EQ(c.evidence_size(), 1);
  EXPECT_EQ(c.evidence(0).ref().sha256(), RefTo(photo).sha256());
  EXPECT_EQ(c.evidence(0).source(), v1::EVIDENCE_SOURCE_FINDING);
  EXPECT_FALSE(c.evidence(0).complete());
  EXPECT_TRUE(c.evidence_pending());
  EXPECT_TRUE(Pulled(id).evidence_pending());
  EXPECT_EQ(Download("admin", RefTo(photo).sha256(), id).status().code(),
            absl::StatusCode::kNotFound);

  Upload(photo);
  c = CaseAsAdmin(id);
  EXPECT_TRUE(c.evidence(0).complete());
  EXPECT_FALSE(c.evidence_pending());
  EXPECT_FALSE(Pulled(id).evidence_pending());
  v1::ListCasesRequest list;
  v1::ListCasesResponse page;
  auto ctx = Context("supervisor");
  ASSERT_TRUE(v1::Supervision::NewStub(channel_)
                  ->ListCases(ctx.get(), list, &page)
                  .ok());
  ASSERT_EQ(page.cases_size(), 1);
  EXPECT_FALSE(page.cases(0).evidence_pending());
  EXPECT_TRUE(page.cases(0).evidence(0).complete());
}

TEST_F(EvidenceAccessTest, GetEvidenceForEveryRole) {
  const std::string photo = RandomBytes(2500000, 2);  // the inspector's
  const std::string report = RandomBytes(300000, 3);  // the unit's
  const std::string id = Report("u1", {RefTo(photo)});
  Prepare(id, v1::CaseAction::kSubmitRectification);
  v1::CaseAction rectify = MakeAction(v1::CaseAction::kSubmitRectification, id);
  *rectify.mutable_submit_rectification()->add_evidence() = RefTo(report);
  ASSERT_TRUE(
      Act("officer", StepOf(v1::CaseAction::kSubmitRectification), rectify)
          .ok());
  EnrollAs("inspector2", v1::ROLE_INSPECTOR, "");
  Upload(photo);
  Upload(report, "officer");  // the unit uploads its report's evidence

  using Code = absl::StatusCode;
  const std::map<std::string, std::pair<Code, Code>> want = {
      // who: (the finding's photo, the rectification's evidence)
      {"admin", {Code::kOk, Code::kOk}},
      {"auditor", {Code::kOk, Code::kOk}},
      {"supervisor", {Code::kOk, Code::kOk}},
      {"supervisor_sz", {Code::kOk, Code::kOk}},
      {"supervisor_out", {Code::kNotFound, Code::kNotFound}},
      {"officer", {Code::kPermissionDenied, Code::kOk}},
      {"officer_other", {Code::kNotFound, Code::kNotFound}},
      {"inspector", {Code::kOk, Code::kPermissionDenied}},
      {"inspector2", {Code::kNotFound, Code::kNotFound}},
  };
  for (const auto& [who, codes] : want) {
    absl::StatusOr<std::string> got = Download(who, RefTo(photo).sha256(), id);
    EXPECT_EQ(got.status().code(), codes.first) << who << " " << got.status();
    if (got.ok()) {
      EXPECT_TRUE(*got == photo) << who;  // byte-identical
    }
    got = Download(who, RefTo(report).sha256(), id);
    EXPECT_EQ(got.status().code(), codes.second) << who << " " << got.status();
    if (got.ok()) {
      EXPECT_TRUE(*got == report) << who;
    }
  }

  // What a unit is shown of the case holds only its own evidence.
  v1::GetCaseRequest get;
  get.set_case_id(id);
  v1::GetCaseResponse view;
  auto ctx = Context("officer");
  ASSERT_TRUE(
      v1::Supervision::NewStub(channel_)->GetCase(ctx.get(), get, &view).ok());
  ASSERT_EQ(view.case_().evidence_size(), 1);
  EXPECT_EQ(view.case_().evidence(0).ref().sha256(), RefTo(report).sha256());
  EXPECT_FALSE(view.case_().evidence_pending());
  for (const v1::Event& event : view.history()) {
    if (event.has_finding_reported()) {
      EXPECT_EQ(event.finding_reported().evidence_size(), 0);
    }
  }

  // Bad requests.
  const std::string stranger(64, 'e');
  EXPECT_EQ(Download("admin", stranger, id).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(Download("admin", "ABC", id).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Download("admin", RefTo(photo).sha256(), "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Download("admin", RefTo(photo).sha256(), NewUuidV7(absl::Now()))
                .status()
                .code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace fieldledger
