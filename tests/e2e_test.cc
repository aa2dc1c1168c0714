// End to end, in one process: a node on port 0 and the client library.
// An inspector enrolls, records 500 findings with the node down, syncs,
// replays a batch, and pulls again after the node restarted.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/admin_client.h"
#include "client/evidence_download.h"
#include "client/field_client.h"
#include "client/sync_client.h"
#include "core/text.h"
#include "fieldledger/v1/supervision.grpc.pb.h"
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

  // The registry (region sz, unit yuehai, category commuting) and a
  // one-time inspector code in `code`.
  void MakeRegistry(std::string* code) {
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
    auto created = (*admin)->CreateEnrollmentCode(v1::ROLE_INSPECTOR, 0);
    ASSERT_TRUE(created.ok()) << created.status();
    *code = created->code();
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
  std::string code;
  ASSERT_NO_FATAL_FAILURE(MakeRegistry(&code));

  // The inspector's device enrolls.
  v1::EnrollRequest enroll;
  enroll.set_code(code);
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

TEST_F(EndToEndTest, EvidenceIsPendingUntilSyncUploadsItAndDownloadsIdentical) {
  std::string code;
  ASSERT_NO_FATAL_FAILURE(MakeRegistry(&code));

  client::FieldClientOptions options;
  options.home = dir_ + "/phone";
  options.sync_writes = false;
  auto phone = client::FieldClient::Open(options);
  ASSERT_TRUE(phone.ok()) << phone.status();
  auto credential = (*phone)->Enroll(address_, code, false);
  ASSERT_TRUE(credential.ok()) << credential.status();

  std::string clip(2500000, '\0');
  for (size_t i = 0; i < clip.size(); ++i) clip[i] = static_cast<char>(i * 7);
  const std::string clip_path = dir_ + "/clip.m4a";
  std::ofstream(clip_path, std::ios::binary) << clip;
  const std::string sha256 = absl::BytesToHexString(Sha256(clip));
  client::FindingInput input;
  input.unit_id = "yuehai";
  input.category_id = "commuting";
  input.summary = "窗口无人值守";
  input.evidence_files = {clip_path};
  auto id = (*phone)->AddFinding(input, absl::Now());
  ASSERT_TRUE(id.ok()) << id.status();
  input.evidence_files = {dir_ + "/missing.jpg"};
  EXPECT_EQ((*phone)->AddFinding(input, absl::Now()).status().code(),
            absl::StatusCode::kNotFound);

  // Pushed, not uploaded: the case shows the evidence pending.
  client::SyncOptions sync_options;
  sync_options.initial_backoff = absl::ZeroDuration();
  auto stub = FieldSyncStub();
  SyncClient push_only((*phone)->outbox(), *stub, credential->token,
                       credential->client_id, sync_options);
  ASSERT_TRUE(push_only.Push().ok());
  auto supervision = v1::Supervision::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  auto get_case = [&]() {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + admin_token_);
    v1::GetCaseRequest request;
    request.set_case_id(*id);
    v1::GetCaseResponse reply;
    EXPECT_TRUE(supervision->GetCase(&context, request, &reply).ok());
    return reply.case_();
  };
  EXPECT_TRUE(get_case().evidence_pending());
  auto views = (*phone)->Findings();
  ASSERT_TRUE(views.ok());
  EXPECT_EQ(views->at(0).evidence_uploaded, 0u);

  // Sync uploads it and drops the device's copy.
  auto report = (*phone)->Sync(sync_options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->evidence.uploaded, 1u);
  EXPECT_EQ(report->evidence.bytes, clip.size());
  EXPECT_TRUE(report->evidence.failed.empty());
  EXPECT_FALSE(get_case().evidence_pending());
  EXPECT_FALSE(std::filesystem::exists(options.home + "/evidence/" + sha256));
  views = (*phone)->Findings();
  ASSERT_TRUE(views.ok());
  EXPECT_EQ(views->at(0).evidence_uploaded, 1u);
  EXPECT_EQ(views->at(0).evidence_bytes_uploaded, clip.size());

  // The supervision office downloads it byte for byte.
  const std::string out = dir_ + "/downloaded";
  auto size = client::DownloadEvidence(*stub, admin_token_, sha256, *id, out,
                                       absl::Minutes(1));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, clip.size());
  std::ifstream in(out, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  EXPECT_TRUE(got == clip);
  EXPECT_EQ(client::DownloadEvidence(*stub, admin_token_, std::string(64, 'a'),
                                     *id, dir_ + "/none", absl::Minutes(1))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/none"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/none.part"));

  // A damaged copy: DATA_LOSS, kept, the rest of the sync done.
  std::ofstream(clip_path, std::ios::binary) << "another clip";
  input.evidence_files = {clip_path};
  ASSERT_TRUE((*phone)->AddFinding(input, absl::Now()).ok());
  const std::string other_sha = absl::BytesToHexString(Sha256("another clip"));
  const std::string copy = options.home + "/evidence/" + other_sha;
  std::ofstream(copy, std::ios::binary) << "Another clip";
  report = (*phone)->Sync(sync_options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->push.accepted, 1u);
  ASSERT_EQ(report->evidence.failed.size(), 1u);
  EXPECT_EQ(report->evidence.failed[0].first, other_sha);
  EXPECT_EQ(report->evidence.failed[0].second.code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(std::filesystem::exists(copy));

  // Withdrawn before its upload: the copy goes, unsent.
  std::ofstream(clip_path, std::ios::binary) << "a third clip";
  auto third = (*phone)->AddFinding(input, absl::Now());
  ASSERT_TRUE(third.ok()) << third.status();
  const std::string third_copy = options.home + "/evidence/" +
                                 absl::BytesToHexString(Sha256("a third clip"));
  ASSERT_TRUE(std::filesystem::exists(third_copy));
  ASSERT_TRUE((*phone)->WithdrawFinding(*third, "拍错了").ok());
  report = (*phone)->Sync(sync_options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->evidence.dropped, 1u);
  EXPECT_EQ(report->evidence.uploaded, 0u);
  EXPECT_FALSE(std::filesystem::exists(third_copy));
  EXPECT_TRUE(std::filesystem::exists(copy));  // the damaged one stays
}

}  // namespace
}  // namespace fieldledger
