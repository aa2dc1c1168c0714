// SyncClient against an in-process fake FieldSync server: results, gaps,
// batch halving, retries, pull paging and reset. No ports, no sleeps.
#include "client/sync_client.h"

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace fieldledger::client {
namespace {

// A FieldSync with the server's Push/Pull rules, in memory. A mutation whose
// finding summary is "bad" is rejected.
class FakeSync final : public v1::FieldSync::Service {
 public:
  grpc::Status Push(grpc::ServerContext* context,
                    const v1::PushRequest* request,
                    v1::PushResponse* reply) override {
    absl::MutexLock lock(&mu);
    Observe(context);
    ++push_calls;
    if (!failures.empty()) {
      grpc::Status s = failures.front();
      failures.pop_front();
      return s;
    }
    if (!request->mutations().empty() && before_push) before_push();
    const int n = request->mutations_size();
    if (n > limit) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("mutations: ", n, " mutations, over the limit of ",
                       limit, " per Push"));
    }
    if (n > 0 && request->mutations(0).client_seq() > hwm + 1) {
      context->AddTrailingMetadata("fieldledger-high-water-mark",
                                   absl::StrCat(hwm));
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "gap");
    }
    for (const v1::Mutation& m : request->mutations()) {
      if (m.client_id() != "cid") {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "client_id");
      }
      v1::MutationResult result;
      if (m.client_seq() <= hwm) {
        result = results[m.client_seq()];
        if (result.outcome() == v1::OUTCOME_APPLIED) {
          result.set_outcome(v1::OUTCOME_ALREADY_APPLIED);
        }
      } else {
        result.set_client_seq(m.client_seq());
        if (m.report_finding().finding().summary() == "bad") {
          result.set_outcome(v1::OUTCOME_REJECTED);
          result.mutable_rejection()->set_code(3);
          result.mutable_rejection()->set_field(
              "report_finding.finding.summary");
          result.mutable_rejection()->set_message("is bad");
        } else {
          result.set_outcome(v1::OUTCOME_APPLIED);
          result.set_event_seq(1000 + m.client_seq());
          applied.push_back(m);
        }
        results[m.client_seq()] = result;
        hwm = m.client_seq();
      }
      *reply->add_results() = result;
    }
    reply->set_high_water_mark(hwm);
    return grpc::Status::OK;
  }

  grpc::Status Pull(grpc::ServerContext* context,
                    const v1::PullRequest* request,
                    v1::PullResponse* reply) override {
    absl::MutexLock lock(&mu);
    Observe(context);
    ++pull_calls;
    size_t from = 0;
    if (!request->cursor().empty() &&
        (!absl::SimpleAtoi(request->cursor(), &from) || from > feed.size() ||
         request->cursor() == stale_cursor)) {
      reply->set_reset(true);
      from = 0;
    }
    const size_t page = request->limit() == 0 ? 500 : request->limit();
    size_t i = from;
    for (; i < feed.size() && i < from + page; ++i) {
      *reply->add_changes() = feed[i];
    }
    reply->set_next_cursor(absl::StrCat(i));
    reply->set_more(i < feed.size());
    return grpc::Status::OK;
  }

  void Observe(grpc::ServerContext* context) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = context->client_metadata().find("authorization");
    authorization = it == context->client_metadata().end()
                        ? ""
                        : std::string(it->second.data(), it->second.size());
    had_deadline = context->deadline() <
                   std::chrono::system_clock::now() + std::chrono::hours(1);
  }

  absl::Mutex mu;
  uint64_t hwm ABSL_GUARDED_BY(mu) = 0;
  int limit ABSL_GUARDED_BY(mu) = 500;
  std::map<uint64_t, v1::MutationResult> results ABSL_GUARDED_BY(mu);
  std::vector<v1::Mutation> applied ABSL_GUARDED_BY(mu);
  std::deque<grpc::Status> failures ABSL_GUARDED_BY(mu);
  std::function<void()> before_push ABSL_GUARDED_BY(mu);
  std::vector<v1::Change> feed ABSL_GUARDED_BY(mu);
  std::string stale_cursor ABSL_GUARDED_BY(mu);
  int push_calls ABSL_GUARDED_BY(mu) = 0;
  int pull_calls ABSL_GUARDED_BY(mu) = 0;
  std::string authorization ABSL_GUARDED_BY(mu);
  bool had_deadline ABSL_GUARDED_BY(mu) = false;
};

class SyncClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sync_client_test.XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    storage::OutboxOptions options;
    options.path = dir_ + "/store";
    options.sync = false;
    auto outbox = storage::Outbox::Open(options);
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    outbox_ = *std::move(outbox);

    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::FieldSync::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
    options_.initial_backoff = absl::ZeroDuration();
  }

  void TearDown() override {
    server_->Shutdown();
    outbox_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Record(const std::string& summary) {
    v1::Mutation m;
    m.mutable_report_finding()->mutable_finding()->set_id("f-" + summary);
    m.mutable_report_finding()->mutable_finding()->set_summary(summary);
    ASSERT_TRUE(outbox_->Append(m).ok());
  }

  SyncClient Client() {
    return SyncClient(*outbox_, *stub_, "tok", "cid", options_);
  }

  std::string dir_;
  std::unique_ptr<storage::Outbox> outbox_;
  FakeSync fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::FieldSync::Stub> stub_;
  SyncOptions options_;
};

TEST_F(SyncClientTest, PushesInBatchesAndRecordsEachResult) {
  for (const char* s : {"a", "b", "bad", "c", "d"}) Record(s);
  options_.batch_size = 2;
  auto report = Client().Push();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->pushed, 5u);
  EXPECT_EQ(report->accepted, 4u);
  EXPECT_EQ(report->rejected, 1u);
  ASSERT_EQ(report->rejections.size(), 1u);
  EXPECT_EQ(report->rejections[0].client_seq, 3u);
  EXPECT_EQ(report->rejections[0].finding_id, "f-bad");
  EXPECT_EQ(report->rejections[0].action, "report");
  EXPECT_EQ(report->rejections[0].rejection.field(),
            "report_finding.finding.summary");
  EXPECT_EQ(report->high_water_mark, 5u);
  EXPECT_EQ(outbox_->acked_mark(), 5u);
  {
    absl::MutexLock lock(&fake_.mu);
    EXPECT_EQ(fake_.push_calls, 4);  // Empty push for the mark, then 3 batches.
    EXPECT_EQ(fake_.authorization, "Bearer tok");
    EXPECT_TRUE(fake_.had_deadline);
  }
  auto all = outbox_->Read(1, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)[2].state, storage::MutationState::kRejected);
  EXPECT_EQ((*all)[3].state, storage::MutationState::kAccepted);
  EXPECT_EQ((*all)[3].event_seq, 1004u);

  // Nothing left: a second push sends no mutation.
  auto again = Client().Push();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->pushed, 0u);
}

TEST_F(SyncClientTest, EmptyPushReturnsMark) {
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.hwm = 0;
  }
  auto mark = Client().FetchHighWaterMark();
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(*mark, 0u);
}

TEST_F(SyncClientTest, GapResendsFromTrailerMark) {
  for (const char* s : {"a", "b", "c"}) Record(s);
  ASSERT_TRUE(Client().Push().ok());
  Record("d");
  // The server is restored to a backup that knew only seq 1, after it
  // answered the empty Push.
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.before_push = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      fake_.hwm = 1;
      fake_.results.erase(2);
      fake_.results.erase(3);
      fake_.before_push = nullptr;
    };
  }
  auto report = Client().Push();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->resent_from, 2u);
  EXPECT_EQ(report->accepted, 3u);
  EXPECT_EQ(report->high_water_mark, 4u);
  EXPECT_EQ(outbox_->acked_mark(), 4u);
}

TEST_F(SyncClientTest, ServerBehindOnEmptyPushResendsFromItsMark) {
  for (const char* s : {"a", "b", "c"}) Record(s);
  ASSERT_TRUE(Client().Push().ok());
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.hwm = 1;
  }
  auto report = Client().Push();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->resent_from, 2u);
  EXPECT_EQ(report->pushed, 2u);
  EXPECT_EQ(outbox_->acked_mark(), 3u);
}

TEST_F(SyncClientTest, ServerAheadRenumbersUnsettled) {
  for (const char* s : {"a", "b"}) Record(s);
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.hwm = 10;  // This device's store was restored from an old copy.
  }
  auto report = Client().Push();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rebased_to, 10u);
  EXPECT_EQ(report->accepted, 2u);
  EXPECT_EQ(outbox_->last_seq(), 12u);
  absl::MutexLock lock(&fake_.mu);
  ASSERT_EQ(fake_.applied.size(), 2u);
  EXPECT_EQ(fake_.applied[0].client_seq(), 11u);
}

TEST_F(SyncClientTest, HalvesBatchOverServerLimit) {
  for (int i = 0; i < 7; ++i) Record(absl::StrCat("m", i));
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.limit = 3;
  }
  options_.batch_size = 10;
  auto report = Client().Push();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->batch_halvings, 2);  // 10 -> 5 -> 2.
  EXPECT_EQ(report->accepted, 7u);
}

TEST_F(SyncClientTest, RetriesTransientErrorsWithJitteredBackoff) {
  Record("a");
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.failures = {grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"),
                      grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"),
                      grpc::Status(grpc::StatusCode::ABORTED, "busy")};
  }
  std::vector<absl::Duration> waits;
  options_.initial_backoff = absl::Milliseconds(100);
  options_.max_backoff = absl::Milliseconds(250);
  options_.sleep = [&waits](absl::Duration d) { waits.push_back(d); };
  auto report = Client().Push();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 1u);
  ASSERT_EQ(waits.size(), 3u);
  EXPECT_LE(waits[0], absl::Milliseconds(100));
  EXPECT_LE(waits[1], absl::Milliseconds(200));
  EXPECT_LE(waits[2], absl::Milliseconds(250));
  for (absl::Duration d : waits) EXPECT_GE(d, absl::ZeroDuration());
}

TEST_F(SyncClientTest, GivesUpAfterMaxAttempts) {
  Record("a");
  {
    absl::MutexLock lock(&fake_.mu);
    for (int i = 0; i < 10; ++i) {
      fake_.failures.push_back(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
    }
  }
  options_.max_attempts = 3;
  auto report = Client().Push();
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable);
  absl::MutexLock lock(&fake_.mu);
  EXPECT_EQ(fake_.push_calls, 3);
}

TEST_F(SyncClientTest, PermanentErrorIsNotRetried) {
  Record("a");
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.failures = {
        grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not yours")};
  }
  auto report = Client().Push();
  EXPECT_EQ(report.status().code(), absl::StatusCode::kPermissionDenied);
  absl::MutexLock lock(&fake_.mu);
  EXPECT_EQ(fake_.push_calls, 1);
}

TEST_F(SyncClientTest, PullsPagesUntilNoMoreThenHandlesReset) {
  {
    absl::MutexLock lock(&fake_.mu);
    for (int i = 0; i < 5; ++i) {
      v1::Change c;
      c.set_seq(i + 1);
      c.mutable_unit()->set_id(absl::StrCat("u", i));
      fake_.feed.push_back(c);
    }
  }
  options_.pull_limit = 2;
  auto report = Client().Pull();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->pages, 3);
  EXPECT_EQ(report->changes, 5u);
  EXPECT_FALSE(report->reset);
  EXPECT_EQ(*outbox_->GetCursor(), "5");
  EXPECT_EQ(outbox_->GetRegistry()->units.size(), 5u);

  // The server's data set was replaced: the stored cursor is no good.
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.feed.resize(1);
    fake_.feed[0].mutable_unit()->set_id("only");
  }
  auto after = Client().Pull();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->reset);
  auto registry = outbox_->GetRegistry();
  ASSERT_TRUE(registry.ok());
  ASSERT_EQ(registry->units.size(), 1u);
  EXPECT_EQ(registry->units[0].id(), "only");
}

TEST_F(SyncClientTest, SyncPushesThenPulls) {
  Record("a");
  {
    absl::MutexLock lock(&fake_.mu);
    v1::Change c;
    c.mutable_category()->set_id("commuting");
    fake_.feed.push_back(c);
  }
  auto report = Client().Sync();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->push.accepted, 1u);
  EXPECT_EQ(report->pull.changes, 1u);
}

}  // namespace
}  // namespace fieldledger::client
