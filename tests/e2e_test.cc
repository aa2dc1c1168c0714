// End to end, in one process: a node on port 0 and the client library.
// An inspector enrolls, records 500 findings with the node down, syncs,
// replays a batch, and pulls again after the node restarted.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/admin_client.h"
#include "client/sync_client.h"
#include "core/text.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/node.h"
#include "storage/outbox.h"

namespace fieldledger {
namespace {

using client::AdminClient;
using client::SyncClient;
using server::Node;

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "e2e_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    StartNode();
    std::ifstream token_file(dir_ + "/node/admin.token");
    std::getline(token_file, admin_token_);
    ASSERT_EQ(admin_token_.size(), 64u);
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartNode() {
    node_.reset();
    server::NodeOptions options;
    options.data_dir = dir_ + "/node";
    options.listen = "127.0.0.1:0";
    auto node = Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    address_ = absl::StrCat("127.0.0.1:", node_->port());
  }

  std::unique_ptr<v1::FieldSync::Stub> FieldSyncStub() {
    return v1::FieldSync::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

  std::string dir_;
  std::string address_;
  std::string admin_token_;
  std::unique_ptr<Node> node_;
};

TEST_F(EndToEndTest, OfflineFindingsSyncExactlyOnceAndSurviveRestart) {
  // The admin builds the registry and issues a code.
  auto admin = AdminClient::Connect(address_, admin_token_);
  ASSERT_TRUE(admin.ok()) << admin.status();
  v1::Region city;
  city.set_id("sz");
  city.set_name("深圳市");
  v1::Unit unit;
  unit.set_id("yuehai");
  unit.set_name("粤海街道便民服务中心");
  unit.set_region_id("sz");
  v1::Category category;
  category.set_id("commuting");
  category.set_name("走读");
  ASSERT_TRUE((*admin)->CreateRegion(city).ok());
  ASSERT_TRUE((*admin)->CreateUnit(unit).ok());
  ASSERT_TRUE((*admin)->CreateCategory(category).ok());
  auto code = (*admin)->CreateEnrollmentCode(v1::ROLE_INSPECTOR, 0);
  ASSERT_TRUE(code.ok()) << code.status();

  // The inspector's device enrolls.
  v1::EnrollRequest enroll;
  enroll.set_code(code->code());
  v1::EnrollResponse credential;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(FieldSyncStub()->Enroll(&context, enroll, &credential).ok());
  }
  {
    grpc::ClientContext context;  // a code works once
    v1::EnrollResponse again;
    EXPECT_EQ(FieldSyncStub()->Enroll(&context, enroll, &again).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  storage::OutboxOptions outbox_options;
  outbox_options.path = dir_ + "/device";
  auto outbox = storage::Outbox::Open(outbox_options);
  ASSERT_TRUE(outbox.ok()) << outbox.status();

  // 500 findings recorded while the node is down.
  node_->Shutdown();
  std::vector<std::string> summaries;
  for (int i = 0; i < 500; ++i) {
    v1::Mutation m;
    v1::Finding* f = m.mutable_report_finding()->mutable_finding();
    f->set_id(NewUuidV7(absl::Now()));
    f->set_unit_id("yuehai");
    f->set_category_id("commuting");
    f->set_summary(absl::StrCat(
        "第", i, "号：工作日下午窗口无人, \"quoted\" 🙂"));
    f->set_detail("镇干部走读，群众办事排长队。\n第二行");
    f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(absl::Now()) -
                                          60);
    f->mutable_location()->set_latitude(22.5431);
    f->mutable_location()->set_longitude(113.9365);
    summaries.push_back(f->summary());
    ASSERT_TRUE((*outbox)->Append(m).ok());
  }
  StartNode();

  client::SyncOptions sync_options;
  sync_options.initial_backoff = absl::ZeroDuration();
  auto stub = FieldSyncStub();
  SyncClient sync(**outbox, *stub, credential.token(), credential.client_id(),
                  sync_options);
  auto report = sync.Sync();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->push.accepted, 500u);
  EXPECT_EQ(report->push.rejected, 0u);
  EXPECT_EQ(report->push.high_water_mark, 500u);
  const uint64_t events = node_->store().NextSeq();
  EXPECT_EQ(events, 3u + 500u);

  // The same batch again, as after a lost reply: acknowledged, not applied.
  auto sent = (*outbox)->Read(1, 100);
  ASSERT_TRUE(sent.ok());
  v1::PushRequest replay;
  for (const auto& entry : *sent) {
    v1::Mutation* m = replay.add_mutations();
    *m = entry.mutation;
    m->set_client_id(credential.client_id());
  }
  v1::PushResponse replayed;
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + credential.token());
    ASSERT_TRUE(stub->Push(&context, replay, &replayed).ok());
  }
  ASSERT_EQ(replayed.results_size(), 100);
  for (const auto& r : replayed.results()) {
    EXPECT_EQ(r.outcome(), v1::OUTCOME_ALREADY_APPLIED);
  }
  EXPECT_EQ(replayed.results(0).event_seq(), 3u);
  EXPECT_EQ(node_->store().NextSeq(), events);

  // Restart; a fresh device store pulls everything again, and the node's
  // derived state still equals its log.
  StartNode();
  ASSERT_TRUE(node_->store().CheckDerivedState().ok());
  EXPECT_EQ(node_->store().NextSeq(), events);
  auto stub2 = FieldSyncStub();
  storage::OutboxOptions fresh_options;
  fresh_options.path = dir_ + "/device2";
  auto fresh = storage::Outbox::Open(fresh_options);
  ASSERT_TRUE(fresh.ok());
  sync_options.pull_limit = 128;
  SyncClient puller(**fresh, *stub2, credential.token(), credential.client_id(),
                    sync_options);
  auto pulled = puller.Pull();
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->changes, 503u);
  EXPECT_GE(pulled->pages, 4);

  auto registry = (*fresh)->GetRegistry();
  ASSERT_TRUE(registry.ok());
  ASSERT_EQ(registry->units.size(), 1u);
  EXPECT_EQ(registry->units[0].name(), "粤海街道便民服务中心");
  EXPECT_EQ(registry->categories[0].name(), "走读");

  auto updates = (*fresh)->GetFindingUpdates();
  ASSERT_TRUE(updates.ok());
  ASSERT_EQ(updates->size(), 500u);
  std::vector<std::string> got;
  for (const auto& u : *updates) {
    EXPECT_EQ(u.status(), v1::FINDING_STATUS_REPORTED);
    EXPECT_EQ(u.finding().detail(), "镇干部走读，群众办事排长队。\n第二行");
    EXPECT_EQ(u.finding().severity(), v1::SEVERITY_MEDIUM);
    got.push_back(u.finding().summary());
  }
  std::sort(got.begin(), got.end());
  std::sort(summaries.begin(), summaries.end());
  EXPECT_EQ(got, summaries);
}

TEST_F(EndToEndTest, RolesAndTokensAreEnforced) {
  auto stub = FieldSyncStub();
  v1::PushRequest request;
  v1::PushResponse reply;
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub->Push(&context, request, &reply).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer not-a-token");
    EXPECT_EQ(stub->Push(&context, request, &reply).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + admin_token_);
    const grpc::Status s = stub->Push(&context, request, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(s.error_message(), "role ROLE_ADMIN may not call Push");
  }
  // An inspector may not use the Admin service.
  auto admin = AdminClient::Connect(address_, admin_token_);
  ASSERT_TRUE(admin.ok());
  auto code = (*admin)->CreateEnrollmentCode(v1::ROLE_INSPECTOR, 60);
  ASSERT_TRUE(code.ok());
  v1::EnrollRequest enroll;
  enroll.set_code(code->code());
  v1::EnrollResponse inspector;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Enroll(&context, enroll, &inspector).ok());
  }
  auto as_inspector = AdminClient::Connect(address_, inspector.token());
  ASSERT_TRUE(as_inspector.ok());
  EXPECT_EQ((*as_inspector)->ListRegions().status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(EndToEndTest, OversizedRequestIsRefusedWhole) {
  auto admin = AdminClient::Connect(address_, admin_token_);
  ASSERT_TRUE(admin.ok());
  auto code = (*admin)->CreateEnrollmentCode(v1::ROLE_INSPECTOR, 60);
  ASSERT_TRUE(code.ok());
  auto stub = FieldSyncStub();
  v1::EnrollRequest enroll;
  enroll.set_code(code->code());
  v1::EnrollResponse inspector;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Enroll(&context, enroll, &inspector).ok());
  }
  const uint64_t before = node_->store().NextSeq();
  v1::PushRequest request;
  v1::Mutation* m = request.add_mutations();
  m->set_client_id(inspector.client_id());
  m->set_client_seq(1);
  m->mutable_report_finding()->mutable_finding()->set_detail(
      std::string(5 << 20, 'x'));
  v1::PushResponse reply;
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + inspector.token());
  EXPECT_EQ(stub->Push(&context, request, &reply).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(node_->store().NextSeq(), before);
}

}  // namespace
}  // namespace fieldledger
