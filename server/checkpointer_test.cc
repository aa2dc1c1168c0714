#include "server/checkpointer.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/test_fixtures.h"
#include "gtest/gtest.h"

namespace fieldledger::server {
namespace {

class CheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "checkpointer_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto signer = NoteSigner::Generate("fieldledger.test/node");
    ASSERT_TRUE(signer.ok());
    signer_.emplace(*signer);
    Open(dir_ + "/db");
  }
  void TearDown() override {
    checkpointer_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open(const std::string& path) {
    checkpointer_.reset();
    store_.reset();
    auto store = storage::Store::Open({.path = path});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  absl::Status StartCheckpointer() {
    auto c = Checkpointer::Start(*store_, *signer_, absl::ZeroDuration());
    if (!c.ok()) return c.status();
    checkpointer_ = *std::move(c);
    return absl::OkStatus();
  }
  absl::StatusOr<Checkpoint> OpenNote(absl::string_view note) {
    return OpenCheckpoint(note, "fieldledger.test/node", {signer_->verifier()});
  }

  std::string dir_;
  std::optional<NoteSigner> signer_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Checkpointer> checkpointer_;
};

TEST_F(CheckpointerTest, SignsTheDurableTreeAndContinuesAfterRestart) {
  ASSERT_TRUE(StartCheckpointer().ok());
  auto empty = checkpointer_->Latest();
  ASSERT_TRUE(empty.ok()) << empty.status();
  auto opened = OpenNote(*empty);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->tree_size, 0u);

  ASSERT_TRUE(store_->Run(fixtures::SeedRegistry).ok());
  auto grown = checkpointer_->SignNow();
  ASSERT_TRUE(grown.ok()) << grown.status();
  opened = OpenNote(*grown);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->tree_size, store_->LedgerSize());
  EXPECT_EQ(opened->root_hash, *store_->LedgerRoot(store_->LedgerSize()));
  // Unchanged tree: the same note, not a new signature.
  EXPECT_EQ(*checkpointer_->SignNow(), *grown);

  Open(dir_ + "/db");
  ASSERT_TRUE(StartCheckpointer().ok());
  EXPECT_EQ(*checkpointer_->Latest(), *grown);
}

TEST_F(CheckpointerTest, RefusesARolledBackTree) {
  ASSERT_TRUE(StartCheckpointer().ok());
  checkpointer_.reset();
  store_.reset();
  // A copy of the data before anything was written...
  std::filesystem::copy(dir_ + "/db", dir_ + "/old");
  Open(dir_ + "/db");
  ASSERT_TRUE(store_->Run(fixtures::SeedRegistry).ok());
  ASSERT_TRUE(StartCheckpointer().ok());
  auto newer = checkpointer_->Latest();
  ASSERT_TRUE(newer.ok());
  checkpointer_.reset();
  // ...with the newer checkpoint copied in (what a partial restore does).
  Open(dir_ + "/old");
  ASSERT_TRUE(store_->PutMetaSynced(kCheckpointMetaKey, *newer).ok());
  const absl::Status started = StartCheckpointer();
  EXPECT_EQ(started.code(), absl::StatusCode::kDataLoss) << started;
  EXPECT_NE(started.message().find("ROLLBACK"), absl::string_view::npos);
}

TEST_F(CheckpointerTest, RefusesAKeyThatDidNotSignTheStoredCheckpoint) {
  ASSERT_TRUE(StartCheckpointer().ok());
  checkpointer_.reset();
  auto other = NoteSigner::Generate("fieldledger.test/node");
  ASSERT_TRUE(other.ok());
  signer_.emplace(*other);
  EXPECT_EQ(StartCheckpointer().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fieldledger::server
