#include "storage/store.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/admin.h"
#include "core/case.h"
#include "core/case_query.h"
#include "core/memory_txn.h"
#include "core/merkle.h"
#include "core/projection.h"
#include "core/supervision.h"
#include "core/sync.h"
#include "core/test_fixtures.h"
#include "core/text.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/key_codec.h"
#include "storage/raw_db_for_test.h"

namespace fieldledger::storage {
namespace {

using fixtures::kNow;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
    ASSERT_TRUE(store_->Run(fixtures::SeedRegistry).ok());
    alice_.set_role(v1::ROLE_INSPECTOR);
    alice_.set_name("i-alice");
    alice_.set_client_id("c-alice");
  }

  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Reopen() {
    store_.reset();
    auto opened = Store::Open({.path = dir_});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  // Closes the store and calls `fn(db, family)` on the raw RocksDB, as
  // an intruder or an older fieldledgerd would see it. Reopen() after.
  void WithRawDb(
      const std::function<void(rocksdb::DB*, const RawFamily&)>& fn) {
    store_.reset();
    storage::WithRawDb(dir_, fn);
  }

  // The first key of family `name` in `db`.
  static std::string FirstKey(rocksdb::DB* db,
                              rocksdb::ColumnFamilyHandle* family) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, family));
    it->SeekToFirst();
    EXPECT_TRUE(it->Valid());
    return it->Valid() ? it->key().ToString() : "";
  }

  static v1::Mutation Report(uint64_t seq, absl::string_view unit = "u1") {
    v1::Mutation m = fixtures::ReportMutation("c-alice", seq);
    m.mutable_report_finding()->mutable_finding()->set_unit_id(
        std::string(unit));
    return m;
  }

  absl::StatusOr<v1::PushResponse> Push(std::vector<v1::Mutation> ms) {
    v1::PushRequest request;
    for (auto& m : ms) *request.add_mutations() = std::move(m);
    v1::PushResponse reply;
    absl::Status s = store_->Run([&](Txn& txn) {
      auto r = ApplyPush(txn, alice_, request, kNow, Limits());
      if (!r.ok()) return r.status();
      reply = *std::move(r);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return reply;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  v1::Principal alice_;
};

TEST_F(StoreTest, ReplayAfterReopenIsAcknowledgedNotReapplied) {
  const v1::Mutation m1 = Report(1), m2 = Report(2);
  auto first = Push({m1, m2});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->results(1).event_seq(), 4u);

  Reopen();
  EXPECT_EQ(store_->NextSeq(), 5u);
  auto replay = Push({m1, m2, Report(3)});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->results(0).outcome(), v1::OUTCOME_ALREADY_APPLIED);
  EXPECT_EQ(replay->results(1).outcome(), v1::OUTCOME_ALREADY_APPLIED);
  EXPECT_EQ(replay->results(1).event_seq(), 4u);
  EXPECT_EQ(replay->results(2).outcome(), v1::OUTCOME_APPLIED);
  EXPECT_EQ(replay->results(2).event_seq(), 5u);
  EXPECT_EQ(replay->high_water_mark(), 3u);
  auto events = store_->ReadEvents(0, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 6u);
  EXPECT_TRUE(store_->CheckDerivedState().ok());
}

TEST_F(StoreTest, RejectionAdvancesTheMarkDurably) {
  ASSERT_TRUE(Push({Report(1, "nowhere")}).ok());
  Reopen();
  auto gap = Push({Report(3)});
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HighWaterMarkOf(gap.status()), 1u);
  auto next = Push({Report(2)});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->results(0).outcome(), v1::OUTCOME_APPLIED);
  EXPECT_EQ(next->high_water_mark(), 2u);
  EXPECT_TRUE(store_->CheckDerivedState().ok());
}

TEST_F(StoreTest, AFailedJobLeavesNoTraceInItsGroup) {
  // Queue three jobs so that they are likely to share a commit group; the
  // outcome must not depend on whether they do.
  std::vector<absl::Status> outcomes(3);
  absl::Notification all_done;
  std::atomic<int> left{3};
  auto done = [&](int i) {
    return [&, i](absl::Status s) {
      outcomes[i] = s;
      if (--left == 0) all_done.Notify();
    };
  };
  auto put_region = [](std::string id, bool then_fail) {
    return [id, then_fail](Txn& txn) -> absl::Status {
      v1::Region r;
      r.set_id(id);
      r.set_name(id);
      auto seq = CreateRegion(txn, "admin", r, kNow, Limits());
      if (!seq.ok()) return seq.status();
      if (then_fail) return absl::InternalError("job failed after writing");
      return absl::OkStatus();
    };
  };
  store_->Submit(put_region("a", false), done(0));
  store_->Submit(put_region("b", true), done(1));
  store_->Submit(put_region("c", false), done(2));
  all_done.WaitForNotification();
  EXPECT_TRUE(outcomes[0].ok());
  EXPECT_EQ(outcomes[1].code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(outcomes[2].ok());

  auto regions = store_->ListRegions();
  ASSERT_TRUE(regions.ok());
  std::vector<std::string> ids;
  for (const auto& r : *regions) ids.push_back(r.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "c", "sz"}));
  // Seqs stay dense: the failed job's seq went to the next job.
  auto events = store_->ReadEvents(0, 100);
  ASSERT_TRUE(events.ok());
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].seq(), i);
  EXPECT_TRUE(store_->CheckDerivedState().ok());
}

// Large groups go into RocksDB on the inserter thread while the writer
// applies the next: each Push below needs the previous one's high-water
// mark, which may still be on its way into the database.
TEST_F(StoreTest, EachJobSeesTheJobsQueuedBeforeIt) {
  constexpr int kPushes = 12, kPerPush = 150;
  std::vector<absl::StatusOr<v1::PushResponse>> replies(
      kPushes, absl::UnknownError("not run"));
  absl::Notification all_done;
  std::atomic<int> left{kPushes};
  for (int p = 0; p < kPushes; ++p) {
    v1::PushRequest request;
    for (int i = 1; i <= kPerPush; ++i) {
      *request.add_mutations() = Report(p * kPerPush + i);
    }
    store_->Submit(
        [&, p, request](Txn& txn) -> absl::Status {
          replies[p] = ApplyPush(txn, alice_, request, kNow, Limits());
          return replies[p].status();
        },
        [&](absl::Status) {
          if (--left == 0) all_done.Notify();
        });
  }
  all_done.WaitForNotification();
  for (int p = 0; p < kPushes; ++p) {
    ASSERT_TRUE(replies[p].ok()) << p << ": " << replies[p].status();
    EXPECT_EQ(replies[p]->high_water_mark(), (p + 1u) * kPerPush);
    EXPECT_EQ(replies[p]->results(kPerPush - 1).outcome(), v1::OUTCOME_APPLIED);
  }
  EXPECT_TRUE(store_->CheckDerivedState().ok());
  Reopen();
  EXPECT_TRUE(store_->CheckDerivedState().ok());
  EXPECT_EQ(store_->NextSeq(), 3u + kPushes * kPerPush);
}

TEST_F(StoreTest, FeedPagesInSeqOrder) {
  std::vector<v1::Mutation> ms;
  for (uint64_t i = 1; i <= 10; ++i) ms.push_back(Report(i));
  ASSERT_TRUE(Push(ms).ok());
  auto page1 = store_->ReadFeed("inspector/i-alice", 0, 4);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 4u);
  auto page2 =
      store_->ReadFeed("inspector/i-alice", page1->back().seq() + 1, 100);
  ASSERT_TRUE(page2.ok());
  EXPECT_EQ(page2->size(), 6u);
  EXPECT_GT(page2->front().seq(), page1->back().seq());
  auto registry = store_->ReadFeed("registry", 0, 100);
  ASSERT_TRUE(registry.ok());
  EXPECT_EQ(registry->size(), 3u);
  EXPECT_TRUE(store_->ReadFeed("inspector/i-bob", 0, 100)->empty());
}

TEST_F(StoreTest, DatasetIdSurvivesReopen) {
  const std::string id = store_->DatasetId();
  EXPECT_EQ(id.size(), 32u);
  Reopen();
  EXPECT_EQ(store_->DatasetId(), id);
}

// CheckDerivedState must notice derived state that the log does not explain.
TEST_F(StoreTest, CheckDerivedStateCatchesTampering) {
  auto pushed = Push({Report(1), Report(2)});
  ASSERT_TRUE(pushed.ok());
  ASSERT_TRUE(store_->CheckDerivedState().ok());
  WithRawDb([](rocksdb::DB* db, const auto& family) {
    ASSERT_TRUE(db->Put({}, family("findings"),
                        FirstKey(db, family("findings")), "tampered")
                    .ok());
  });
  Reopen();
  Reopen();
  const absl::Status check = store_->CheckDerivedState();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss) << check;
}

// Every stored event is a leaf: the store's root and proofs agree with a tree
// rebuilt from the entries it serves, across a reopen.
TEST_F(StoreTest, LedgerTreeMatchesTheEntries) {
  for (uint64_t i = 1; i <= 20; ++i) {
    ASSERT_TRUE(Push({Report(i)}).ok());
    if (i == 7) Reopen();
  }
  const uint64_t size = store_->LedgerSize();
  ASSERT_EQ(size, store_->NextSeq());
  auto entries = store_->LedgerEntries(0, 1000);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), size);
  auto events = store_->ReadEvents(0, 1000);
  ASSERT_TRUE(events.ok());
  merkle::MemorySubtreeStore memory;
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i], (*events)[i].SerializeAsString());
    ASSERT_TRUE(memory.Append(merkle::HashLeaf((*entries)[i])).ok());
  }
  for (uint64_t n = 0; n <= size; ++n) {
    auto root = store_->LedgerRoot(n);
    ASSERT_TRUE(root.ok()) << root.status();
    auto want = merkle::RootHash(n, memory);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(*root, *want) << n;
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = store_->LedgerInclusionProof(i, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(merkle::VerifyInclusion(i, n, merkle::HashLeaf((*entries)[i]),
                                          *proof, *root)
                      .ok());
    }
    auto consistency = store_->LedgerConsistencyProof(n, size);
    ASSERT_TRUE(consistency.ok()) << consistency.status();
    EXPECT_TRUE(merkle::VerifyConsistency(
                    n, size, *root, *store_->LedgerRoot(size), *consistency)
                    .ok())
        << n;
  }
  EXPECT_EQ(store_->LedgerRoot(size + 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->LedgerInclusionProof(size, size).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->LedgerConsistencyProof(2, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto tail = store_->LedgerEntries(size - 2, 10);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size(), 2u);
  EXPECT_TRUE(store_->CheckDerivedState().ok());
}

// ReadLedgerLeaves reads a range in order, resumes where `take` stopped,
// refuses bad ranges, and names the first leaf missing from the store.
TEST_F(StoreTest, LedgerLeafReaderReadsARangeAndNamesAMissingLeaf) {
  for (uint64_t i = 1; i <= 6; ++i) ASSERT_TRUE(Push({Report(i)}).ok());
  const uint64_t size = store_->LedgerSize();
  auto entries = store_->LedgerEntries(0, 1000);
  ASSERT_TRUE(entries.ok());
  auto reader = store_->ReadLedgerLeaves(1, size);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<uint64_t> indexes;
  // Two leaves per Read: the third offered is left for the next Read.
  while ((*reader)->next() < (*reader)->end()) {
    size_t taken = 0;
    ASSERT_TRUE((*reader)
                    ->Read([&](uint64_t index, absl::string_view leaf) {
                      if (taken == 2) return false;
                      EXPECT_EQ(leaf, (*entries)[index]);
                      indexes.push_back(index);
                      ++taken;
                      return true;
                    })
                    .ok());
  }
  std::vector<uint64_t> want(size - 1);
  std::iota(want.begin(), want.end(), 1);
  EXPECT_EQ(indexes, want);
  EXPECT_TRUE(store_->ReadLedgerLeaves(size, size).ok());

  auto backwards = store_->ReadLedgerLeaves(3, 2);
  EXPECT_EQ(backwards.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(backwards.status().message(), "end: "));
  EXPECT_EQ(store_->ReadLedgerLeaves(0, size + 1).status().code(),
            absl::StatusCode::kOutOfRange);

  reader->reset();
  WithRawDb([&](rocksdb::DB* db, const auto& family) {
    ASSERT_TRUE(db->Delete({}, family("events"), Uint64Key(3)).ok());
  });
  Reopen();
  auto holed = store_->ReadLedgerLeaves(0, size);
  ASSERT_TRUE(holed.ok());
  uint64_t offered = 0;
  const absl::Status lost = (*holed)->Read([&](uint64_t, absl::string_view) {
    ++offered;
    return true;
  });
  EXPECT_EQ(lost.code(), absl::StatusCode::kDataLoss) << lost;
  EXPECT_NE(lost.message().find("leaf 3 "), absl::string_view::npos) << lost;
  EXPECT_EQ(offered, 3u);
  EXPECT_EQ(store_->LedgerEntries(0, 1000).status().code(),
            absl::StatusCode::kDataLoss);
}

// A failed job's events are not leaves, and the next job's leaves follow
// on without a hole, whether or not they share its commit group.
TEST_F(StoreTest, LedgerSkipsAFailedJob) {
  ASSERT_TRUE(Push({Report(1)}).ok());
  std::vector<absl::Status> outcomes(3);
  absl::Notification all_done;
  std::atomic<int> left{3};
  auto done = [&](int i) {
    return [&, i](absl::Status s) {
      outcomes[i] = s;
      if (--left == 0) all_done.Notify();
    };
  };
  auto put_regions = [](std::string id, bool then_fail) {
    return [id, then_fail](Txn& txn) -> absl::Status {
      for (int i = 0; i < 3; ++i) {
        v1::Region r;
        r.set_id(absl::StrCat(id, i));
        r.set_name(r.id());
        auto seq = CreateRegion(txn, "admin", r, kNow, Limits());
        if (!seq.ok()) return seq.status();
      }
      if (then_fail) return absl::InternalError("job failed after writing");
      return absl::OkStatus();
    };
  };
  store_->Submit(put_regions("a", false), done(0));
  store_->Submit(put_regions("b", true), done(1));
  store_->Submit(put_regions("c", false), done(2));
  all_done.WaitForNotification();
  ASSERT_TRUE(outcomes[0].ok());
  ASSERT_TRUE(outcomes[2].ok());
  EXPECT_TRUE(store_->CheckDerivedState().ok());
  auto entries = store_->LedgerEntries(0, 1000);
  ASSERT_TRUE(entries.ok());
  merkle::RootBuilder builder;
  for (const std::string& e : *entries) builder.AppendLeaf(e);
  auto root = store_->LedgerRoot(store_->LedgerSize());
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, builder.Root());
}

// A store written without the ledger gets its tree on the next open.
TEST_F(StoreTest, LedgerIsBuiltForAnOlderStore) {
  store_.reset();
  {
    auto opened = Store::Open({.path = dir_, .ledger = false});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(Push({Report(i)}).ok());
  EXPECT_EQ(store_->LedgerRoot(1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  Reopen();
  ASSERT_TRUE(Push({Report(6)}).ok());
  EXPECT_TRUE(store_->CheckDerivedState().ok());
  auto entries = store_->LedgerEntries(0, 1000);
  ASSERT_TRUE(entries.ok());
  merkle::RootBuilder builder;
  for (const std::string& e : *entries) builder.AppendLeaf(e);
  auto root = store_->LedgerRoot(store_->LedgerSize());
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, builder.Root());
}

TEST_F(StoreTest, MetaRecordsSurviveReopen) {
  auto none = store_->GetMeta("checkpoint");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store_->PutMetaSynced("checkpoint", "note").ok());
  EXPECT_EQ(store_->PutMetaSynced("dataset", "x").code(),
            absl::StatusCode::kInvalidArgument);
  Reopen();
  auto got = store_->GetMeta("checkpoint");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value_or(""), "note");
}

// A tampered ledger node, or a ledger CF that lost a node, is not derived
// from the log.
TEST_F(StoreTest, CheckDerivedStateCatchesALedgerTamper) {
  ASSERT_TRUE(Push({Report(1), Report(2), Report(3)}).ok());
  WithRawDb([](rocksdb::DB* raw, const RawFamily& family) {
    rocksdb::ColumnFamilyHandle* ledger = family("ledger");
    ASSERT_NE(ledger, nullptr);
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator({}, ledger));
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    ASSERT_TRUE(raw->Put({}, ledger, it->key(), std::string(32, 'x')).ok());
  });
  Reopen();
  const absl::Status check = store_->CheckDerivedState();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss) << check;
}

TEST_F(StoreTest, CasesAndTheirIndexesAreDerivedState) {
  const v1::Mutation report = Report(1, "u1");
  ASSERT_TRUE(Push({report}).ok());
  const std::string id = report.report_finding().finding().id();
  auto act = [&](v1::CaseAction action) {
    action.set_case_id(id);
    return store_->Run([&](Txn& txn) {
      return ApplyCaseAction(txn, "admin", action, kNow, Limits()).status();
    });
  };
  v1::CaseAction accept;
  accept.mutable_accept()->set_note("受理");
  ASSERT_TRUE(act(accept).ok());
  v1::CaseAction assign;
  v1::Assignment* a = assign.mutable_assign();
  a->set_unit_id("u1");
  a->mutable_person()->set_name("李四");
  a->mutable_person()->set_post("主任");
  a->mutable_deadline()->set_seconds(absl::ToUnixSeconds(kNow) + 86400);
  a->set_mechanism(v1::MECHANISM_JOINT_DEPARTMENTS);
  a->set_assigned_by("区纪委、区委组织部");
  ASSERT_TRUE(act(assign).ok());
  // A refused step leaves nothing behind.
  EXPECT_EQ(act(accept).code(), absl::StatusCode::kFailedPrecondition);
  v1::Campaign campaign;
  campaign.set_id("c1");
  campaign.set_name("走读专项");
  campaign.add_category_ids("commuting");
  campaign.add_target_unit_ids("u1");
  campaign.set_start_date("2025-09-02");
  campaign.set_end_date("2025-09-03");
  ASSERT_TRUE(store_
                  ->Run([&](Txn& txn) {
                    return CreateCampaign(txn, "admin", campaign, kNow,
                                          Limits())
                        .status();
                  })
                  .ok());

  Reopen();
  std::optional<v1::Case> stored;
  ASSERT_TRUE(store_
                  ->Run([&](Txn& txn) {
                    auto c = txn.GetCase(id);
                    if (!c.ok()) return c.status();
                    stored = *c;
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->status(), v1::CASE_STATUS_ASSIGNED);
  EXPECT_EQ(stored->version(), 3u);
  EXPECT_EQ(stored->assignment().assigned_by(), "区纪委、区委组织部");
  const absl::Status check = store_->CheckDerivedState();
  EXPECT_TRUE(check.ok()) << check;

  // A lost index entry is caught.
  WithRawDb([](rocksdb::DB* db, const auto& family) {
    ASSERT_TRUE(
        db->Delete({}, family("case_index"), FirstKey(db, family("case_index")))
            .ok());
  });
  Reopen();
  const absl::Status lost = store_->CheckDerivedState();
  EXPECT_EQ(lost.code(), absl::StatusCode::kDataLoss) << lost;
  EXPECT_NE(std::string(lost.message()).find("case_index: missing key"),
            std::string::npos)
      << lost;
}

TEST_F(StoreTest, OpenRecomputesStateDerivedByAnOlderVersion) {
  ASSERT_TRUE(Push({Report(1), Report(2)}).ok());
  // A store from before cases existed: no case records, no version key.
  WithRawDb([](rocksdb::DB* db, const auto& family) {
    for (const char* name : {"cases", "case_index"}) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, family(name)));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        ASSERT_TRUE(db->Delete({}, family(name), it->key()).ok());
      }
    }
    ASSERT_TRUE(db->Delete({}, family("default"), "derived_version").ok());
  });
  Reopen();
  const absl::Status check = store_->CheckDerivedState();
  EXPECT_TRUE(check.ok()) << check;
  // The recomputed cases serve new events, and replays still answer.
  auto again = Push({Report(2), Report(3)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->results(0).outcome(), v1::OUTCOME_ALREADY_APPLIED);
  EXPECT_EQ(again->results(1).outcome(), v1::OUTCOME_APPLIED);
}

TEST_F(StoreTest, OpenRefusesStateDerivedByANewerVersion) {
  WithRawDb([](rocksdb::DB* db, const auto& family) {
    std::string future;
    AppendUint64(future, 1000);
    ASSERT_TRUE(db->Put({}, family("default"), "derived_version", future).ok());
  });
  auto opened = Store::Open({.path = dir_});
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition)
      << opened.status();
}

// The store's index scans answer case queries exactly as the in-memory
// model of the same log does.
TEST_F(StoreTest, CaseQueriesMatchTheMemoryModel) {
  // A second root region "gz" with unit "u3": its cases sit between sz's in
  // the status index, and a listing of sz skips them.
  ASSERT_TRUE(
      store_
          ->Run([](Txn& txn) -> absl::Status {
            v1::Region gz;
            gz.set_id("gz");
            gz.set_name("广州市");
            v1::Unit u3;
            u3.set_id("u3");
            u3.set_name("天河区政务服务中心");
            u3.set_region_id("gz");
            FL_RETURN_IF_ERROR(
                CreateRegion(txn, "admin", gz, kNow, Limits()).status());
            return CreateUnit(txn, "admin", u3, kNow, Limits()).status();
          })
          .ok());
  std::vector<v1::Mutation> reports;
  for (uint64_t i = 1; i <= 12; ++i) {
    reports.push_back(Report(i, i % 4 == 0 ? "u1" : "u3"));
  }
  ASSERT_TRUE(Push(reports).ok());
  for (size_t i = 0; i < reports.size(); i += 3) {
    v1::CaseAction accept;
    accept.set_case_id(reports[i].report_finding().finding().id());
    accept.mutable_accept();
    ASSERT_TRUE(store_
                    ->Run([&](Txn& txn) {
                      return ApplyCaseAction(txn, "admin", accept, kNow,
                                             Limits())
                          .status();
                    })
                    .ok());
  }
  MemoryTxn model;
  auto events = store_->ReadEvents(0, 1000);
  ASSERT_TRUE(events.ok());
  for (v1::Event event : *events) {
    ASSERT_TRUE(model.AppendEvent(event).ok());
    ASSERT_TRUE(Project(event, model).ok());
  }
  const CaseViewer all{CaseViewer::Kind::kAll, ""};
  const CaseViewer sz{CaseViewer::Kind::kRegion, "sz"};
  for (const CaseViewer& viewer : {all, sz}) {
    for (v1::CaseStatus status :
         {v1::CASE_STATUS_UNSPECIFIED, v1::CASE_STATUS_ACCEPTED,
          v1::CASE_STATUS_REPORTED}) {
      // A bound of 2 index entries per call makes short pages.
      for (size_t max_scanned : {size_t{2}, size_t{20000}}) {
        for (uint32_t size : {1u, 5u, 100u}) {
          v1::ListCasesRequest request;
          request.set_status(status);
          request.set_page_size(size);
          int listed = 0;
          for (int page = 0; page < 40; ++page) {
            auto want = ListCases(model, viewer, request, kNow, max_scanned);
            auto got = ListCases(*store_, viewer, request, kNow, max_scanned);
            ASSERT_TRUE(want.ok() && got.ok()) << got.status();
            ASSERT_EQ(want->SerializeAsString(), got->SerializeAsString());
            listed += got->cases_size();
            if (got->next_page_cursor().empty()) break;
            request.set_page_cursor(got->next_page_cursor());
          }
          // Reports 4, 8, 12 are in sz; 1, 4, 7, 10 were accepted.
          const bool everywhere = viewer.kind == CaseViewer::Kind::kAll;
          const int want_listed =
              status == v1::CASE_STATUS_UNSPECIFIED ? (everywhere ? 12 : 3)
              : status == v1::CASE_STATUS_ACCEPTED  ? (everywhere ? 4 : 1)
                                                    : (everywhere ? 8 : 2);
          EXPECT_EQ(listed, want_listed) << status << " " << max_scanned;
        }
      }
    }
  }
  const std::string id = reports[0].report_finding().finding().id();
  auto want = GetCaseView(model, all, id);
  auto got = GetCaseView(*store_, all, id);
  ASSERT_TRUE(want.ok() && got.ok()) << got.status();
  EXPECT_EQ(got->history_size(), 2);
  EXPECT_EQ(want->SerializeAsString(), got->SerializeAsString());
  const absl::Status check = store_->CheckDerivedState();
  EXPECT_TRUE(check.ok()) << check;
}

}  // namespace
}  // namespace fieldledger::storage
