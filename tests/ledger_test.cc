// The ledger end to end, in one process: a node on port 0, devices that
// push findings and verify their receipts, an admin who audits. Then the
// tampering the issue names — one event byte changed, an event dropped, two
// events swapped, directly in RocksDB with the node stopped — and a node
// restarted on an older copy of its data (rollback, then a fork): each must
// be caught by `ledger audit` and by the devices' verification.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/admin_client.h"
#include "client/field_client.h"
#include "client/ledger_client.h"
#include "core/merkle.h"
#include "core/note.h"
#include "core/packed_leaves.h"
#include "fieldledger/v1/event.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "server/ledger_service.h"
#include "server/node.h"
#include "storage/raw_db_for_test.h"

namespace fieldledger {
namespace {

using client::AuditReport;
using client::FieldClient;
using client::LedgerClient;
using client::VerifyReport;
using server::Node;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "ledger_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    StartNode();
    admin_token_ = ReadFile(dir_ + "/node/admin.token");
    auto admin = client::AdminClient::Connect(address_, admin_token_);
    ASSERT_TRUE(admin.ok());
    v1::Region region;
    region.set_id("sz");
    region.set_name("深圳市");
    v1::Unit unit;
    unit.set_id("yuehai");
    unit.set_name("粤海街道");
    unit.set_region_id("sz");
    v1::Category category;
    category.set_id("commuting");
    category.set_name("走读");
    ASSERT_TRUE((*admin)->CreateRegion(region).ok());
    ASSERT_TRUE((*admin)->CreateUnit(unit).ok());
    ASSERT_TRUE((*admin)->CreateCategory(category).ok());
  }

  void TearDown() override {
    devices_.clear();
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartNode() {
    node_.reset();
    server::NodeOptions options;
    options.data_dir = dir_ + "/node";
    options.listen = "127.0.0.1:0";
    options.node_name = "fieldledger.test/ledger";
    options.checkpoint_interval = absl::ZeroDuration();  // SignNow() only
    auto node = Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    address_ = absl::StrCat("127.0.0.1:", node_->port());
  }

  void StopNode() {
    devices_stubs_.clear();
    node_.reset();
  }

  // A new enrolled device; its index in devices_.
  size_t NewDevice(v1::Role role = v1::ROLE_INSPECTOR) {
    auto admin = client::AdminClient::Connect(address_, admin_token_);
    EXPECT_TRUE(admin.ok());
    auto code = (*admin)->CreateEnrollmentCode(role, 0);
    EXPECT_TRUE(code.ok()) << code.status();
    client::FieldClientOptions options;
    options.home = absl::StrCat(dir_, "/device", devices_.size());
    options.sync_writes = false;
    auto device = FieldClient::Open(options);
    EXPECT_TRUE(device.ok()) << device.status();
    EXPECT_TRUE((*device)->Enroll(address_, code->code(), false).ok());
    devices_.push_back(*std::move(device));
    return devices_.size() - 1;
  }

  void Report(size_t device, int n, const std::string& detail = "") {
    for (int i = 0; i < n; ++i) {
      client::FindingInput input;
      input.unit_id = "yuehai";
      input.category_id = "commuting";
      input.summary = absl::StrCat("窗口无人 #", i);
      if (!detail.empty()) input.detail = detail;
      ASSERT_TRUE(devices_[device]->AddFinding(input, absl::Now()).ok());
    }
    client::SyncOptions sync;
    sync.initial_backoff = absl::ZeroDuration();
    auto report = devices_[device]->Sync(sync, address_);
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_TRUE(node_->checkpointer().SignNow().ok());
  }

  LedgerClient Ledger(size_t device, std::string token = "") {
    if (token.empty()) token = devices_[device]->GetCredential()->token;
    devices_stubs_.push_back(v1::Ledger::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials())));
    return LedgerClient(devices_[device]->outbox(), *devices_stubs_.back(),
                        token);
  }

  VerifyReport Verify(size_t device) {
    auto report = Ledger(device).Verify();
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport{};
  }

  AuditReport Audit() {
    auto report = Ledger(0, admin_token_).Audit();
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : AuditReport{};
  }

  // This device's applied events' leaf indexes.
  std::vector<uint64_t> Leaves(size_t device) {
    std::vector<uint64_t> out;
    auto entries = devices_[device]->outbox().Read(1, 0);
    EXPECT_TRUE(entries.ok());
    if (!entries.ok()) return out;
    for (const auto& e : *entries) {
      if (e.state == storage::MutationState::kAccepted) {
        out.push_back(e.event_seq);
      }
    }
    return out;
  }

  // Opens the stopped node's RocksDB and calls fn(db, events family).
  template <typename Fn>
  void Tamper(Fn fn) {
    storage::WithRawDb(dir_ + "/node/db",
                       [&](rocksdb::DB* raw, const storage::RawFamily& family) {
                         fn(raw, family("events"));
                       });
  }

  static std::string Key(uint64_t seq) {
    std::string key(8, '\0');
    for (int i = 7; i >= 0; --i, seq >>= 8) key[i] = static_cast<char>(seq);
    return key;
  }

  std::string dir_;
  std::string address_;
  std::string admin_token_;
  std::unique_ptr<Node> node_;
  std::vector<std::unique_ptr<FieldClient>> devices_;
  std::vector<std::unique_ptr<v1::Ledger::Stub>> devices_stubs_;
};

TEST_F(LedgerTest, DevicesVerifyAndTheAuditPasses) {
  const size_t a = NewDevice();
  Report(a, 5);
  VerifyReport first = Verify(a);
  EXPECT_TRUE(first.alarm.empty()) << first.alarm;
  EXPECT_TRUE(first.first_checkpoint);
  EXPECT_TRUE(first.trusted_on_first_use);
  EXPECT_EQ(first.events_verified, 5u);
  // The pinned key is the published one.
  EXPECT_EQ(devices_[a]->outbox().GetLedgerTrust()->verifier_key,
            ReadFile(dir_ + "/node/ledger.vkey"));

  Report(a, 3);
  VerifyReport second = Verify(a);
  EXPECT_TRUE(second.alarm.empty()) << second.alarm;
  EXPECT_EQ(second.previous_size, first.tree_size);
  EXPECT_EQ(second.events_verified, 8u);
  EXPECT_TRUE(Audit().problem.empty());

  // Entries: an inspector reads only its own.
  const size_t b = NewDevice();
  Report(b, 1);
  v1::GetEntriesRequest request;
  request.set_start(Leaves(a)[0]);
  request.set_max_entries(1);
  v1::GetEntriesResponse reply;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization",
                  "Bearer " + devices_[b]->GetCredential()->token);
  auto stub = v1::Ledger::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  EXPECT_EQ(stub->GetEntries(&ctx, request, &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// A receipt from the CLI path verifies with the published key alone.
TEST_F(LedgerTest, ReceiptVerifiesWithThePublishedKey) {
  const size_t a = NewDevice();
  Report(a, 3);
  const uint64_t leaf = Leaves(a)[1];
  auto text = Ledger(a).Receipt(leaf);
  ASSERT_TRUE(text.ok()) << text.status();
  auto proof = ParseTlogProof(*text);
  ASSERT_TRUE(proof.ok()) << proof.status();
  auto verifier = NoteVerifier::Parse(ReadFile(dir_ + "/node/ledger.vkey"));
  ASSERT_TRUE(verifier.ok());
  auto entry = node_->store().LedgerEntries(leaf, 1);
  ASSERT_TRUE(entry.ok());
  auto verified = VerifyTlogProof(*proof, merkle::HashLeaf((*entry)[0]),
                                  "fieldledger.test/ledger", {*verifier});
  EXPECT_TRUE(verified.ok()) << verified.status();
  EXPECT_FALSE(VerifyTlogProof(*proof, merkle::HashLeaf("other"),
                               "fieldledger.test/ledger", {*verifier})
                   .ok());
}

// What `fieldledger ledger receipt --entry-out` and `ledger check-receipt`
// do: a receipt and the leaf's bytes from the server, checked offline with
// the published key file; any other leaf, key or receipt is refused.
TEST_F(LedgerTest, ReceiptsCheckOfflineWithTheVerifierKeyFile) {
  const size_t a = NewDevice();
  Report(a, 2);
  const uint64_t leaf = Leaves(a)[0];
  auto receipt = Ledger(a).Receipt(leaf);
  auto entry = Ledger(a).Entry(leaf);
  ASSERT_TRUE(receipt.ok() && entry.ok());
  const std::string vkey = ReadFile(dir_ + "/node/ledger.vkey");
  auto checked = client::CheckReceipt(*receipt, *entry, vkey);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_GT(checked->tree_size, leaf);

  std::string other_entry = *entry;
  other_entry.back() ^= 1;
  EXPECT_FALSE(client::CheckReceipt(*receipt, other_entry, vkey).ok());
  auto stranger = NoteSigner::Generate("fieldledger.test/ledger");
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(
      client::CheckReceipt(*receipt, *entry, stranger->verifier().ToString())
          .ok());
  std::string bent = *receipt;
  bent[bent.find("index ") + 6] ^= 1;
  EXPECT_FALSE(client::CheckReceipt(bent, *entry, vkey).ok());
}

// StreamEntries through a raw stub: every message, and the status.
grpc::Status StreamEntries(const std::string& address, const std::string& token,
                           uint64_t start, uint64_t end,
                           std::vector<v1::StreamEntriesResponse>* out) {
  auto stub = v1::Ledger::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  v1::StreamEntriesRequest request;
  request.set_start(start);
  request.set_end(end);
  auto reader = stub->StreamEntries(&ctx, request);
  for (v1::StreamEntriesResponse m; reader->Read(&m);) out->push_back(m);
  return reader->Finish();
}

// Auditors stream any range in messages of about 1 MiB of packed leaves,
// byte for byte what the store holds (Chinese text included); everyone
// else is refused, and bad ranges say which bound is wrong.
TEST_F(LedgerTest, StreamEntriesPacksLeavesForAuditorsOnly) {
  const size_t a = NewDevice();
  std::string detail;
  for (int i = 0; i < 10000; ++i) detail += "群";  // 30,000 bytes
  Report(a, 80, detail);
  const size_t auditor = NewDevice(v1::ROLE_AUDITOR);
  const std::string token = devices_[auditor]->GetCredential()->token;
  const uint64_t size = node_->store().LedgerSize();

  std::vector<v1::StreamEntriesResponse> messages;
  ASSERT_TRUE(StreamEntries(address_, token, 1, size, &messages).ok());
  ASSERT_GE(messages.size(), 2u);
  auto want = node_->store().LedgerEntries(1, size);
  ASSERT_TRUE(want.ok());
  std::vector<std::string> got;
  for (const v1::StreamEntriesResponse& m : messages) {
    EXPECT_EQ(m.first_index(), 1 + got.size());
    EXPECT_LE(m.leaves().size(), server::kStreamEntriesMessageBytes);
    if (&m != &messages.back()) {  // all but the last are full
      EXPECT_GT(m.leaves().size(), server::kStreamEntriesMessageBytes - 40000);
    }
    PackedLeaves leaves(m.leaves());
    uint32_t count = 0;
    for (absl::string_view leaf; leaves.Next(leaf); ++count) {
      got.emplace_back(leaf);
    }
    EXPECT_FALSE(leaves.malformed());
    EXPECT_EQ(count, m.count());
  }
  EXPECT_EQ(got, *want);
  EXPECT_NE(got.back().find(detail), std::string::npos);

  messages.clear();
  EXPECT_TRUE(StreamEntries(address_, token, size, size, &messages).ok());
  EXPECT_TRUE(messages.empty());
  const grpc::Status backwards =
      StreamEntries(address_, token, 3, 2, &messages);
  EXPECT_EQ(backwards.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(backwards.error_message().rfind("end: ", 0), 0u)
      << backwards.error_message();
  EXPECT_EQ(StreamEntries(address_, token, 0, size + 1, &messages).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(StreamEntries(address_, devices_[a]->GetCredential()->token, 0,
                          size, &messages)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(messages.empty());

  auto audit = Ledger(auditor).Audit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_TRUE(audit->problem.empty()) << audit->problem;
  EXPECT_EQ(audit->entries_read, audit->tree_size);
  EXPECT_EQ(audit->signer, "fieldledger.test/ledger");
}

enum class Tampering { kChangeByte, kDrop, kSwap };

class LedgerTamperTest : public LedgerTest,
                         public ::testing::WithParamInterface<Tampering> {};

TEST_P(LedgerTamperTest, AuditAndDevicesCatchIt) {
  const size_t a = NewDevice();
  Report(a, 4);
  ASSERT_TRUE(Verify(a).alarm.empty());
  const std::vector<uint64_t> leaves = Leaves(a);
  ASSERT_EQ(leaves.size(), 4u);
  StopNode();
  Tamper([&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* events) {
    std::string first, second;
    ASSERT_TRUE(db->Get({}, events, Key(leaves[1]), &first).ok());
    ASSERT_TRUE(db->Get({}, events, Key(leaves[2]), &second).ok());
    switch (GetParam()) {
      case Tampering::kChangeByte: {
        const size_t at = first.find("#1");
        ASSERT_NE(at, std::string::npos);
        first[at + 1] = '7';  // still a well-formed event
        ASSERT_TRUE(db->Put({}, events, Key(leaves[1]), first).ok());
        break;
      }
      case Tampering::kDrop:
        ASSERT_TRUE(db->Delete({}, events, Key(leaves[1])).ok());
        break;
      case Tampering::kSwap:
        ASSERT_TRUE(db->Put({}, events, Key(leaves[1]), second).ok());
        ASSERT_TRUE(db->Put({}, events, Key(leaves[2]), first).ok());
        break;
    }
  });
  StartNode();
  // Each is caught by what it breaks first: the root, the stream (the
  // node cannot read the leaf), the sequence numbers.
  const AuditReport audit = Audit();
  const char* const caught_by[] = {"hash to root", "cannot be read",
                                   "is not the event with that sequence"};
  EXPECT_NE(audit.problem.find(caught_by[static_cast<int>(GetParam())]),
            std::string::npos)
      << audit.problem;
  const VerifyReport verify = Verify(a);
  EXPECT_NE(verify.alarm.find("TAMPERED"), std::string::npos) << verify.alarm;
  // The alarm is stored until someone clears it.
  EXPECT_EQ(devices_[a]->outbox().GetLedgerTrust()->alarm, verify.alarm);
  EXPECT_FALSE(node_->store().CheckDerivedState().ok());
}

INSTANTIATE_TEST_SUITE_P(Each, LedgerTamperTest,
                         ::testing::Values(Tampering::kChangeByte,
                                           Tampering::kDrop, Tampering::kSwap));

// A node restarted on an older copy of its data: a device that verified a
// newer checkpoint sees the rollback, and then the fork when the old copy
// grows again with other events.
TEST_F(LedgerTest, RollbackAndForkAreDetected) {
  const size_t a = NewDevice();
  const size_t b = NewDevice();
  Report(a, 2);
  ASSERT_TRUE(Verify(a).alarm.empty());
  StopNode();
  std::filesystem::copy(dir_ + "/node", dir_ + "/old",
                        std::filesystem::copy_options::recursive);
  StartNode();
  Report(a, 3);
  const VerifyReport newer = Verify(a);
  ASSERT_TRUE(newer.alarm.empty()) << newer.alarm;

  StopNode();
  std::filesystem::remove_all(dir_ + "/node");
  std::filesystem::rename(dir_ + "/old", dir_ + "/node");
  StartNode();
  const VerifyReport rolled_back = Verify(a);
  EXPECT_NE(rolled_back.alarm.find("ROLLBACK"), std::string::npos)
      << rolled_back.alarm;

  // The old copy grows past the newer size with other events.
  ASSERT_TRUE(devices_[a]
                  ->outbox()
                  .PutLedgerTrust(
                      {devices_[a]->outbox().GetLedgerTrust()->verifier_key,
                       devices_[a]->outbox().GetLedgerTrust()->checkpoint, ""})
                  .ok());
  Report(b, 6);
  ASSERT_GT(node_->store().LedgerSize(), newer.tree_size);
  const VerifyReport forked = Verify(a);
  EXPECT_NE(forked.alarm.find("FORK"), std::string::npos) << forked.alarm;
  // The last verified checkpoint is kept: the next verify still compares
  // with it.
  const VerifyReport again = Verify(a);
  EXPECT_NE(again.alarm.find("FORK"), std::string::npos) << again.alarm;
}

}  // namespace
}  // namespace fieldledger
