// Crash test: fieldledgerd as a child process, several devices pushing
// concurrently, kill -9 at random moments, restart on the same data dir (on a
// new port), again and again. Devices behave like real clients: they keep
// what was not acknowledged and resend it with the same client_seq, after
// learning the server's high-water mark with an empty Push.
//
// After every 4th kill, with the server down, the store must open and its
// derived state must equal a replay of its event log. At the end every
// acknowledged mutation is in the log exactly once, with the content that was
// sent; no rejected or never-sent mutation is; each device's high-water mark is
// its last client_seq; and each device pulls exactly its applied findings back.
//
// The seed is printed; FIELDLEDGER_CRASH_SEED=<n> replays the kill schedule,
// the batch sizes and which mutations are invalid (thread timing varies).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/text.h"
#include "fieldledger/v1/admin.grpc.pb.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/store.h"

namespace fieldledger {
namespace {

constexpr int kDevices = 6;
// At least 20 in CI; FIELDLEDGER_CRASH_CYCLES=<n> runs more (or fewer).
constexpr int kCycles = 20;
constexpr int kMaxBatch = 50;
// Kill delay after the server acknowledged something new, in milliseconds.
constexpr int kMinKillDelayMs = 2;
constexpr int kMaxKillDelayMs = 300;
// One mutation in kInvalidOneIn is invalid and must be rejected.
constexpr int kInvalidOneIn = 15;
// One restart in kKillInRecoveryOneIn is killed again 0-40 ms after exec,
// usually while RocksDB is still recovering, before the real restart.
constexpr int kKillInRecoveryOneIn = 4;
constexpr int kMaxRecoveryKillDelayMs = 40;
// Every kCheckEvery-th kill, the test opens the store and checks its derived
// state before the restart (each check replays the whole log).
constexpr int kCheckEvery = 4;
// Bounds every wait; the whole test normally takes 20-35 s on 2 cores.
constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kProgressTimeout = absl::Seconds(30);
constexpr absl::Duration kTestDeadline = absl::Seconds(150);

constexpr char kHighWaterMarkKey[] = "fieldledger-high-water-mark";
constexpr char kUnit[] = "yuehai";
constexpr char kCategory[] = "commuting";

// fieldledgerd as a child process.
class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir)
      : data_dir_(std::move(data_dir)) {}
  ~ServerProcess() { Kill(); }

  // Starts fieldledgerd on port 0 and returns "127.0.0.1:PORT" once it
  // prints that it serves.
  absl::StatusOr<std::string> Start() {
    if (absl::Status s = Spawn(); !s.ok()) return s;
    return AwaitServing();
  }

  // Starts fieldledgerd without waiting for it.
  absl::Status Spawn() {
    // Everything the child needs is made before fork: between fork and exec
    // only async-signal-safe calls.
    const std::string data_flag = "--data_dir=" + data_dir_;
    const char* const argv[] = {FIELDLEDGERD_PATH, data_flag.c_str(),
                                "--listen=127.0.0.1:0", nullptr};
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
    const pid_t pid = fork();
    if (pid < 0) {
      close(out[0]);
      close(out[1]);
      return absl::InternalError("fork");
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      dup2(out[1], STDOUT_FILENO);       // dup2 clears close-on-exec
      execv(argv[0], const_cast<char* const*>(argv));
      _exit(127);
    }
    close(out[1]);
    pid_ = pid;
    // Kept open until Kill, so that the server never writes to a closed pipe.
    stdout_fd_ = out[0];
    return absl::OkStatus();
  }

  // Reads the server's stdout until it says where it serves.
  absl::StatusOr<std::string> AwaitServing() {
    const std::string marker = "serving on ";
    std::string text;
    const absl::Time deadline = absl::Now() + kStartTimeout;
    for (;;) {
      const size_t at = text.find(marker);
      if (at != std::string::npos) {
        const size_t from = at + marker.size();
        const size_t comma = text.find(',', from);
        if (comma != std::string::npos) return text.substr(from, comma - from);
      }
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      pollfd p{stdout_fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
        return absl::DeadlineExceededError(
            absl::StrCat("fieldledgerd did not serve in time; stdout: ", text));
      }
      char buf[512];
      const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
      if (n <= 0) {
        return absl::UnavailableError(
            absl::StrCat("fieldledgerd exited; stdout: ", text));
      }
      text.append(buf, n);
    }
  }

  // SIGKILL, and wait for the process to be gone.
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (stdout_fd_ >= 0) {
      close(stdout_fd_);
      stdout_fd_ = -1;
    }
  }

 private:
  const std::string data_dir_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

// Where the server is now. Devices wait here for a restart after a failed
// call, and the killer for new acknowledgements before its next kill.
class Endpoint {
 public:
  void Set(const std::string& address) {
    absl::MutexLock lock(&mu_);
    address_ = address;
    ++generation_;
  }
  std::pair<std::string, int> Get() {
    absl::MutexLock lock(&mu_);
    return {address_, generation_};
  }
  // Waits until the server was restarted after `generation`, at most
  // `timeout` (a failed call may also have another cause: then retry).
  void AwaitRestart(int generation, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto restarted = [&] { return generation_ != generation; };
    mu_.AwaitWithTimeout(absl::Condition(&restarted), timeout);
  }
  void Acknowledged() {
    absl::MutexLock lock(&mu_);
    ++acks_;
  }
  int64_t acks() {
    absl::MutexLock lock(&mu_);
    return acks_;
  }
  // Waits until more than `before` Pushes were acknowledged; false on
  // timeout.
  bool AwaitAcksAbove(int64_t before, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto progressed = [&] { return acks_ > before; };
    return mu_.AwaitWithTimeout(absl::Condition(&progressed), timeout);
  }

 private:
  absl::Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acks_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Credential {
  std::string token;
  std::string client_id;
  std::string pseudonym;
};

// How a mutation is invalid, and the rejection the server must give.
struct Flaw {
  std::string field;  // empty: the mutation is valid
  int code = 0;       // google.rpc.Code
};

struct DeviceStats {
  int64_t pushes_acknowledged = 0;
  int64_t pushes_failed = 0;
  int64_t replays_already_applied = 0;
};

// One device: records findings and pushes them until each is acknowledged,
// keeping and resending what was not.
class Device {
 public:
  Device(Credential credential, uint64_t seed)
      : credential_(std::move(credential)), rng_(seed) {}

  // Pushes until `stop` is set and everything created is acknowledged, or
  // until `deadline` (a failure).
  void Run(Endpoint& endpoint, const std::atomic<bool>& stop,
           absl::Time deadline) {
    std::unique_ptr<v1::FieldSync::Stub> stub;
    int stub_generation = -1;
    bool know_mark = false;
    for (;;) {
      if (stop && acked_mark_ == mutations_.size()) return;
      if (absl::Now() > deadline) {
        ADD_FAILURE() << credential_.client_id << ": still "
                      << mutations_.size() - acked_mark_
                      << " unacknowledged mutations at the deadline";
        return;
      }
      const auto [address, generation] = endpoint.Get();
      if (generation != stub_generation) {
        // A restarted server: reconnect, and ask where it is first.
        stub = v1::FieldSync::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
        stub_generation = generation;
        know_mark = false;
      }
      if (!know_mark) {
        v1::PushResponse reply;
        const grpc::Status status = Push(*stub, v1::PushRequest(), &reply);
        if (!status.ok()) {
          ++stats_.pushes_failed;
          endpoint.AwaitRestart(generation, absl::Seconds(5));
          continue;
        }
        CheckMark(reply.high_water_mark());
        know_mark = true;
      }
      // Resend what is unacknowledged; fill the batch with new ones while
      // not stopping.
      const size_t batch =
          std::uniform_int_distribution<size_t>(1, kMaxBatch)(rng_);
      while (!stop && mutations_.size() < acked_mark_ + batch) Create();
      v1::PushRequest request;
      for (size_t i = acked_mark_;
           i < mutations_.size() && i < acked_mark_ + batch; ++i) {
        *request.add_mutations() = mutations_[i];
      }
      if (request.mutations().empty()) return;
      v1::PushResponse reply;
      const grpc::Status status = Push(*stub, request, &reply);
      if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        // We always resend from our acknowledged mark, so a gap means the
        // server lost mutations it had acknowledged.
        std::string mark = "(none)";
        auto it = trailers_.find(kHighWaterMarkKey);
        if (it != trailers_.end()) mark = it->second;
        ADD_FAILURE() << credential_.client_id << ": gap after resending from "
                      << acked_mark_ + 1 << "; server's high-water mark "
                      << mark << ": " << status.error_message();
        return;
      }
      if (!status.ok()) {
        ++stats_.pushes_failed;
        endpoint.AwaitRestart(generation, absl::Seconds(5));
        continue;
      }
      if (!Record(request, reply)) return;
      ++stats_.pushes_acknowledged;
      endpoint.Acknowledged();
    }
  }

  // An empty Push: the server's high-water mark for this device.
  absl::StatusOr<uint64_t> HighWaterMark(const std::string& address) {
    auto stub = v1::FieldSync::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    v1::PushResponse reply;
    const grpc::Status status = Push(*stub, v1::PushRequest(), &reply);
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    return reply.high_water_mark();
  }

  // Pulls until `more` is false: finding id -> status of own findings.
  absl::StatusOr<std::map<std::string, v1::FindingStatus>> PullFindings(
      const std::string& address) {
    auto stub = v1::FieldSync::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    std::map<std::string, v1::FindingStatus> findings;
    v1::PullRequest request;
    request.set_limit(1000);
    for (int page = 0; page < 1000; ++page) {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + credential_.token);
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
      v1::PullResponse reply;
      const grpc::Status status = stub->Pull(&context, request, &reply);
      if (!status.ok()) return absl::UnavailableError(status.error_message());
      if (reply.reset()) return absl::DataLossError("unexpected reset");
      for (const v1::Change& c : reply.changes()) {
        if (c.has_finding()) {
          findings[c.finding().finding().id()] = c.finding().status();
        }
      }
      if (!reply.more()) return findings;
      request.set_cursor(reply.next_cursor());
    }
    return absl::DeadlineExceededError("Pull never said there is no more");
  }

  const Credential& credential() const { return credential_; }
  const std::vector<v1::Mutation>& mutations() const { return mutations_; }
  const std::vector<Flaw>& flaws() const { return flaws_; }
  // client_seq -> event seq of every mutation acknowledged as applied.
  const std::map<uint64_t, uint64_t>& applied() const { return applied_; }
  const std::set<uint64_t>& rejected() const { return rejected_; }
  const DeviceStats& stats() const { return stats_; }

 private:
  grpc::Status Push(v1::FieldSync::Stub& stub, const v1::PushRequest& request,
                    v1::PushResponse* reply) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + credential_.token);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    const grpc::Status status = stub.Push(&context, request, reply);
    trailers_.clear();
    for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
      trailers_.emplace(std::string(key.data(), key.size()),
                        std::string(value.data(), value.size()));
    }
    return status;
  }

  // The server's mark after a restart: it has every acknowledged mutation
  // and none that was never sent.
  void CheckMark(uint64_t mark) {
    EXPECT_GE(mark, acked_mark_)
        << credential_.client_id << ": acknowledged mutations were lost";
    EXPECT_LE(mark, mutations_.size())
        << credential_.client_id << ": settled mutations never sent";
  }

  // Records a new mutation: mostly a valid finding, sometimes an invalid one.
  void Create() {
    const uint64_t seq = mutations_.size() + 1;
    v1::Mutation m;
    m.set_client_id(credential_.client_id);
    m.set_client_seq(seq);
    v1::Finding* f = m.mutable_report_finding()->mutable_finding();
    const absl::Time now = absl::Now();
    f->set_id(NewUuidV7(now));
    f->set_unit_id(kUnit);
    f->set_category_id(kCategory);
    f->set_summary(absl::StrCat("第", seq, "次暗访：窗口无人值守，群众排队"));
    if (Chance(2)) f->set_detail("工作人员上班时间离岗，电话无人接听。");
    f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(
        now -
        absl::Seconds(std::uniform_int_distribution<int>(0, 86400)(rng_))));
    if (Chance(2)) {
      f->mutable_location()->set_latitude(22.5431);
      f->mutable_location()->set_longitude(113.9365);
    }
    f->set_severity(static_cast<v1::Severity>(
        std::uniform_int_distribution<int>(0, 3)(rng_)));
    Flaw flaw;
    if (Chance(kInvalidOneIn)) {
      const std::string path = "report_finding.finding.";
      switch (std::uniform_int_distribution<int>(0, 4)(rng_)) {
        case 0:
          f->clear_summary();
          flaw = {path + "summary", 3};
          break;
        case 1: {
          std::string long_summary;
          for (int i = 0; i < 201; ++i) long_summary += "懒";
          f->set_summary(long_summary);
          flaw = {path + "summary", 3};
          break;
        }
        case 2:
          f->set_unit_id("no-such-unit");
          flaw = {path + "unit_id", 5};
          break;
        case 3:
          f->mutable_observed_at()->set_seconds(
              absl::ToUnixSeconds(now + absl::Hours(1)));
          flaw = {path + "observed_at", 3};
          break;
        default:
          // The id of an earlier finding of this device that is valid (and
          // so applied before this one, whatever happens).
          for (size_t i = mutations_.size(); i-- > 0;) {
            if (flaws_[i].field.empty()) {
              f->set_id(mutations_[i].report_finding().finding().id());
              flaw = {path + "id", 6};
              break;
            }
          }
          if (flaw.field.empty()) {
            f->clear_summary();
            flaw = {path + "summary", 3};
          }
      }
    }
    mutations_.push_back(std::move(m));
    flaws_.push_back(std::move(flaw));
  }

  bool Chance(int one_in) {
    return std::uniform_int_distribution<int>(1, one_in)(rng_) == 1;
  }

  // Checks a reply and moves the acknowledged mark; false on a failure.
  bool Record(const v1::PushRequest& request, const v1::PushResponse& reply) {
    if (reply.results_size() != request.mutations_size()) {
      ADD_FAILURE() << reply.results_size() << " results for "
                    << request.mutations_size() << " mutations";
      return false;
    }
    for (int i = 0; i < reply.results_size(); ++i) {
      const v1::MutationResult& r = reply.results(i);
      const uint64_t seq = request.mutations(i).client_seq();
      EXPECT_EQ(r.client_seq(), seq);
      const Flaw& flaw = flaws_[seq - 1];
      if (r.outcome() == v1::OUTCOME_REJECTED) {
        EXPECT_FALSE(flaw.field.empty())
            << "valid mutation " << seq
            << " rejected: " << r.rejection().ShortDebugString();
        EXPECT_EQ(r.rejection().field(), flaw.field) << "seq " << seq;
        EXPECT_EQ(r.rejection().code(), flaw.code) << "seq " << seq;
        EXPECT_FALSE(r.rejection().message().empty());
        rejected_.insert(seq);
      } else {
        EXPECT_TRUE(flaw.field.empty())
            << "seq " << seq << " should have been rejected for " << flaw.field
            << ", got " << v1::Outcome_Name(r.outcome());
        EXPECT_TRUE(r.outcome() == v1::OUTCOME_APPLIED ||
                    r.outcome() == v1::OUTCOME_ALREADY_APPLIED)
            << v1::Outcome_Name(r.outcome());
        if (r.outcome() == v1::OUTCOME_ALREADY_APPLIED) {
          ++stats_.replays_already_applied;
        }
        // A replay must name the event of the first application.
        auto [it, fresh] = applied_.emplace(seq, r.event_seq());
        EXPECT_EQ(it->second, r.event_seq()) << "event seq changed for " << seq;
      }
    }
    acked_mark_ = request.mutations(request.mutations_size() - 1).client_seq();
    EXPECT_GE(reply.high_water_mark(), acked_mark_);
    EXPECT_LE(reply.high_water_mark(), mutations_.size());
    return true;
  }

  const Credential credential_;
  std::mt19937_64 rng_;
  std::vector<v1::Mutation> mutations_;  // [i] has client_seq i + 1
  std::vector<Flaw> flaws_;              // [i] for mutations_[i]
  size_t acked_mark_ = 0;  // every mutation up to here was acknowledged
  std::map<uint64_t, uint64_t> applied_;
  std::set<uint64_t> rejected_;
  std::multimap<std::string, std::string> trailers_;  // of the last Push
  DeviceStats stats_;
};

template <typename Request, typename Reply, typename Call>
grpc::Status AdminCall(v1::Admin::Stub& stub, const std::string& token,
                       const Request& request, Reply* reply, Call call) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return (stub.*call)(&context, request, reply);
}

// The registry, and one enrolled credential per device.
void SetUpNode(const std::string& address, const std::string& admin_token,
               int devices, std::vector<Credential>* credentials) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto admin = v1::Admin::NewStub(channel);
  auto sync = v1::FieldSync::NewStub(channel);
  v1::CreateResponse created;
  v1::CreateRegionRequest region;
  region.mutable_region()->set_id("440305");
  region.mutable_region()->set_name("南山区");
  grpc::Status s = AdminCall(*admin, admin_token, region, &created,
                             &v1::Admin::Stub::CreateRegion);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::CreateUnitRequest unit;
  unit.mutable_unit()->set_id(kUnit);
  unit.mutable_unit()->set_name("粤海街道便民服务中心");
  unit.mutable_unit()->set_region_id("440305");
  s = AdminCall(*admin, admin_token, unit, &created,
                &v1::Admin::Stub::CreateUnit);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::CreateCategoryRequest category;
  category.mutable_category()->set_id(kCategory);
  category.mutable_category()->set_name("走读");
  s = AdminCall(*admin, admin_token, category, &created,
                &v1::Admin::Stub::CreateCategory);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < devices; ++i) {
    v1::CreateEnrollmentCodeRequest code_request;
    code_request.set_role(v1::ROLE_INSPECTOR);
    v1::CreateEnrollmentCodeResponse code;
    s = AdminCall(*admin, admin_token, code_request, &code,
                  &v1::Admin::Stub::CreateEnrollmentCode);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::EnrollRequest enroll;
    enroll.set_code(code.code());
    v1::EnrollResponse enrolled;
    grpc::ClientContext context;
    s = sync->Enroll(&context, enroll, &enrolled);
    ASSERT_TRUE(s.ok()) << s.error_message();
    credentials->push_back(
        {enrolled.token(), enrolled.client_id(), enrolled.pseudonym()});
  }
}

// With the server down: the store opens and its derived state equals a
// replay of its log.
void CheckStoreAfterCrash(const std::string& dir, int cycle) {
  auto store = storage::Store::Open({.path = dir + "/db"});
  ASSERT_TRUE(store.ok()) << "after kill " << cycle << ": " << store.status();
  const absl::Status derived = (*store)->CheckDerivedState();
  EXPECT_TRUE(derived.ok()) << "after kill " << cycle << ": " << derived;
}

// Runs `fieldledgerd --check` on the stopped node's data: its exit code.
int RunCheckCommand(const std::string& dir) {
  const std::string data_flag = "--data_dir=" + dir;
  const char* const argv[] = {FIELDLEDGERD_PATH, "--check", data_flag.c_str(),
                              nullptr};
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CrashTest, AcknowledgedMutationsSurviveKill9ExactlyOnce) {
  uint64_t seed = std::random_device()();
  if (const char* env = getenv("FIELDLEDGER_CRASH_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed)) << env;
  }
  std::printf("crash_test: seed %llu (FIELDLEDGER_CRASH_SEED to replay)\n",
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  int cycles_wanted = kCycles;
  if (const char* env = getenv("FIELDLEDGER_CRASH_CYCLES")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &cycles_wanted)) << env;
  }
  std::mt19937_64 rng(seed);
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + kTestDeadline;

  std::string tmpl = ::testing::TempDir() + "crash_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  std::printf("crash_test: data in %s (kept when the test fails)\n",
              dir.c_str());
  ServerProcess server(dir);
  Endpoint endpoint;
  {
    absl::StatusOr<std::string> address = server.Start();
    ASSERT_TRUE(address.ok()) << address.status();
    endpoint.Set(*address);
  }
  std::string admin_token;
  std::getline(std::ifstream(dir + "/admin.token"), admin_token);
  ASSERT_FALSE(admin_token.empty());
  std::vector<Credential> credentials;
  ASSERT_NO_FATAL_FAILURE(
      SetUpNode(endpoint.Get().first, admin_token, kDevices, &credentials));

  std::vector<std::unique_ptr<Device>> devices;
  for (Credential& c : credentials) {
    devices.push_back(std::make_unique<Device>(std::move(c), rng()));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (auto& d : devices) {
    threads.emplace_back(
        [&, d = d.get()] { d->Run(endpoint, stop, deadline); });
  }

  // The killer: once the server acknowledged something new, wait a random
  // moment (the test's input, not synchronisation), kill -9, sometimes check
  // the data, restart on the same data dir.
  int cycles = 0, recovery_kills = 0;
  for (; cycles < cycles_wanted; ++cycles) {
    if (!endpoint.AwaitAcksAbove(endpoint.acks(), kProgressTimeout)) {
      ADD_FAILURE() << "no Push acknowledged for " << kProgressTimeout
                    << " in cycle " << cycles;
      break;
    }
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(
        kMinKillDelayMs, kMaxKillDelayMs)(rng)));
    server.Kill();
    if (cycles % kCheckEvery == kCheckEvery - 1) {
      CheckStoreAfterCrash(dir, cycles + 1);
    }
    if (std::uniform_int_distribution<int>(1, kKillInRecoveryOneIn)(rng) == 1) {
      if (const absl::Status spawned = server.Spawn(); !spawned.ok()) {
        ADD_FAILURE() << spawned;
        break;
      }
      absl::SleepFor(absl::Milliseconds(
          std::uniform_int_distribution<int>(0, kMaxRecoveryKillDelayMs)(rng)));
      server.Kill();
      ++recovery_kills;
    }
    absl::StatusOr<std::string> address = server.Start();
    if (!address.ok()) {
      ADD_FAILURE() << "restart " << cycles + 1 << ": " << address.status();
      break;
    }
    endpoint.Set(*address);
  }

  // Devices resend whatever is unacknowledged until it is, then stop.
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(cycles, cycles_wanted);

  // Over the wire: each device's mark is its last client_seq, and it pulls
  // back exactly its applied findings, all still reported.
  for (const auto& d : devices) {
    const std::string& client = d->credential().client_id;
    absl::StatusOr<uint64_t> mark = d->HighWaterMark(endpoint.Get().first);
    ASSERT_TRUE(mark.ok()) << mark.status();
    EXPECT_EQ(*mark, d->mutations().size()) << client;
    auto pulled = d->PullFindings(endpoint.Get().first);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    std::map<std::string, v1::FindingStatus> expected;
    for (const auto& [seq, event_seq] : d->applied()) {
      expected[d->mutations()[seq - 1].report_finding().finding().id()] =
          v1::FINDING_STATUS_REPORTED;
    }
    EXPECT_TRUE(*pulled == expected)
        << client << ": pulled " << pulled->size() << " findings, applied "
        << expected.size();
  }
  server.Kill();  // a crash, not a clean stop, before the final checks

  std::fflush(stdout);
  EXPECT_EQ(RunCheckCommand(dir), 0) << "fieldledgerd --check";
  auto store = storage::Store::Open({.path = dir + "/db"});
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Status derived = (*store)->CheckDerivedState();
  ASSERT_TRUE(derived.ok()) << derived;
  auto events = (*store)->ReadEvents(0, size_t{1} << 30);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->size(), (*store)->NextSeq());

  // Every event in the log: in order, and either one of the three registry
  // events or a finding some device sent, valid, with the same content, once.
  std::map<std::string, const Device*> by_client;
  for (const auto& d : devices) by_client[d->credential().client_id] = d.get();
  std::map<std::pair<std::string, uint64_t>, uint64_t> in_log;
  std::set<std::string> finding_ids;
  int registry_events = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    const v1::Event& e = (*events)[i];
    ASSERT_EQ(e.seq(), i) << "the log has a hole or is out of order";
    if (!e.has_origin()) {
      EXPECT_TRUE(e.has_region_created() || e.has_unit_created() ||
                  e.has_category_created())
          << "an event from no client: " << e.ShortDebugString();
      ++registry_events;
      continue;
    }
    const auto key =
        std::make_pair(e.origin().client_id(), e.origin().client_seq());
    ASSERT_TRUE(in_log.emplace(key, e.seq()).second)
        << "mutation applied twice: " << key.first << "/" << key.second;
    auto device = by_client.find(key.first);
    ASSERT_NE(device, by_client.end()) << "event from an unknown client";
    const Device& d = *device->second;
    ASSERT_GE(key.second, 1u);
    ASSERT_LE(key.second, d.mutations().size())
        << "event for a mutation never sent";
    EXPECT_TRUE(d.flaws()[key.second - 1].field.empty())
        << "invalid mutation applied: " << key.first << "/" << key.second;
    EXPECT_EQ(e.actor(), d.credential().pseudonym);
    ASSERT_TRUE(e.has_finding_reported()) << e.ShortDebugString();
    const v1::Finding& sent =
        d.mutations()[key.second - 1].report_finding().finding();
    EXPECT_EQ(e.finding_reported().id(), sent.id());
    EXPECT_EQ(e.finding_reported().summary(), sent.summary());
    EXPECT_EQ(e.finding_reported().detail(), sent.detail());
    EXPECT_EQ(e.finding_reported().observed_at().seconds(),
              sent.observed_at().seconds());
    EXPECT_TRUE(finding_ids.insert(sent.id()).second)
        << "finding " << sent.id() << " reported twice";
  }
  EXPECT_EQ(registry_events, 3);

  // Every mutation sent: acknowledged once, as applied or rejected as
  // expected; applied ones are in the log at the acknowledged event seq and
  // in the derived state; rejected ones left no trace.
  int64_t applied = 0, rejected = 0, reported = 0;
  DeviceStats total;
  for (const auto& d : devices) {
    const std::string& client = d->credential().client_id;
    total.pushes_acknowledged += d->stats().pushes_acknowledged;
    total.pushes_failed += d->stats().pushes_failed;
    total.replays_already_applied += d->stats().replays_already_applied;
    for (uint64_t seq = 1; seq <= d->mutations().size(); ++seq) {
      const bool was_applied = d->applied().count(seq) > 0;
      const bool was_rejected = d->rejected().count(seq) > 0;
      EXPECT_TRUE(was_applied != was_rejected)
          << client << "/" << seq << " acknowledged "
          << (was_applied ? "twice" : "never");
      auto logged = in_log.find({client, seq});
      if (was_applied) {
        ++applied;
        if (logged == in_log.end()) {
          ADD_FAILURE() << "acknowledged but lost: " << client << "/" << seq;
          continue;
        }
        EXPECT_EQ(logged->second, d->applied().at(seq));
      } else if (was_rejected) {
        EXPECT_EQ(logged, in_log.end())
            << "rejected but applied: " << client << "/" << seq;
        ++rejected;
      }
    }
    const absl::Status read = (*store)->Run([&](Txn& txn) -> absl::Status {
      absl::StatusOr<uint64_t> mark = txn.GetHighWaterMark(client);
      if (!mark.ok()) return mark.status();
      EXPECT_EQ(*mark, d->mutations().size()) << client;
      for (uint64_t seq = 1; seq <= d->mutations().size(); ++seq) {
        const std::string& id =
            d->mutations()[seq - 1].report_finding().finding().id();
        auto record = txn.GetFinding(id);
        if (!record.ok()) return record.status();
        if (d->applied().count(seq)) {
          if (!record->has_value()) {
            ADD_FAILURE() << "applied finding missing: " << id;
            continue;
          }
          const v1::FindingRecord& r = **record;
          auto c = txn.GetCase(id);
          if (!c.ok()) return c.status();
          const bool is_reported =
              c->has_value() && (*c)->status() == v1::CASE_STATUS_REPORTED;
          EXPECT_TRUE(is_reported) << id;
          EXPECT_EQ(r.reporter(), d->credential().pseudonym) << id;
          EXPECT_EQ(r.reported_seq(), d->applied().at(seq)) << id;
          if (is_reported) ++reported;
        } else if (d->flaws()[seq - 1].code != 6) {
          // A rejected finding with a fresh id left no finding behind.
          EXPECT_FALSE(record->has_value())
              << "rejected finding stored: " << id;
        }
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(read.ok()) << read;
  }
  EXPECT_EQ(static_cast<int64_t>(in_log.size()), applied);
  EXPECT_EQ(reported, applied);
  EXPECT_GT(rejected, 0) << "no invalid mutation was exercised";
  EXPECT_GT(total.pushes_failed, 0) << "no kill interrupted a client";

  std::printf(
      "crash_test: %d kill -9 cycles (+%d kills in recovery), %d devices, %lld "
      "pushes acknowledged, "
      "%lld pushes failed by kills, %lld mutations applied (%lld of them "
      "acknowledged again as replays), %lld rejected, %zu events, %.1f s\n",
      cycles, recovery_kills, kDevices,
      static_cast<long long>(total.pushes_acknowledged),
      static_cast<long long>(total.pushes_failed),
      static_cast<long long>(applied),
      static_cast<long long>(total.replays_already_applied),
      static_cast<long long>(rejected), events->size(),
      absl::ToDoubleSeconds(absl::Now() - start));
  store->reset();
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

// What the node says it durably has of `sha256` (0 when nothing).
absl::StatusOr<v1::UploadStatus> UploadStatusOf(const std::string& address,
                                                const std::string& token,
                                                const std::string& sha256) {
  auto stub = v1::FieldSync::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::GetUploadStatusRequest request;
  request.set_sha256(sha256);
  v1::UploadStatus reply;
  const grpc::Status s = stub->GetUploadStatus(&context, request, &reply);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return reply;
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return reply;
}

// One upload stream from `from` to the end; it stops when a write fails
// (the node was killed). Returns the bytes handed to gRPC.
uint64_t StreamFrom(const std::string& address, const std::string& token,
                    const std::string& sha256, const std::string& data,
                    uint64_t from) {
  constexpr size_t kChunk = 1 << 20;
  auto stub = v1::FieldSync::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  v1::UploadStatus reply;
  auto writer = stub->UploadEvidence(&context, &reply);
  v1::EvidenceChunk chunk;
  chunk.set_sha256(sha256);
  chunk.set_size(data.size());
  chunk.set_media_type("application/octet-stream");
  uint64_t at = from;
  for (; at < data.size(); at += kChunk) {
    chunk.set_offset(at);
    chunk.set_data(data.substr(at, kChunk));
    if (!writer->Write(chunk)) break;
  }
  writer->WritesDone();
  writer->Finish().ok();  // a killed node fails it; the status tells
  return at;
}

// An evidence upload across kill -9: each round streams from the offset the
// node reports, the node is killed mid-stream once it has made progress, and
// after the restart it must still hold at least what it reported before the
// kill (what it reports is durable) and no more than was sent. The upload
// completes with its hash verified, and no byte below a reported offset was
// sent twice.
TEST(CrashTest, AnEvidenceUploadResumesAcrossKill9) {
  uint64_t seed = std::random_device()();
  if (const char* env = getenv("FIELDLEDGER_CRASH_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed)) << env;
  }
  std::printf("crash_test: upload seed %llu\n",
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  std::string tmpl = ::testing::TempDir() + "crash_upload.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  ServerProcess server(dir);
  absl::StatusOr<std::string> address = server.Start();
  ASSERT_TRUE(address.ok()) << address.status();
  std::string admin_token;
  std::getline(std::ifstream(dir + "/admin.token"), admin_token);
  std::vector<Credential> credentials;
  ASSERT_NO_FATAL_FAILURE(SetUpNode(*address, admin_token, 1, &credentials));
  const std::string token = credentials[0].token;

  // Several of the node's 16 MiB commit windows, so that a kill lands
  // between two syncs with unsynced chunks already written.
  std::string data(48 << 20, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const std::string sha256 = absl::BytesToHexString(Sha256(data));

  constexpr int kKills = 5;
  uint64_t durable = 0;  // the most the node has reported
  int kills = 0;
  for (; kills < kKills; ++kills) {
    const uint64_t from = durable;
    uint64_t sent = 0;
    std::thread writer(
        [&] { sent = StreamFrom(*address, token, sha256, data, from); });
    // Kill once the node reports progress, at a random moment after.
    const absl::Time give_up = absl::Now() + kProgressTimeout;
    absl::StatusOr<v1::UploadStatus> seen;
    do {
      seen = UploadStatusOf(*address, token, sha256);
    } while (seen.ok() && seen->received() <= from && !seen->complete() &&
             absl::Now() < give_up);
    ASSERT_TRUE(seen.ok()) << seen.status();
    if (seen->complete()) {
      writer.join();
      break;  // finished before the kill
    }
    ASSERT_GT(seen->received(), from) << "no progress in round " << kills;
    absl::SleepFor(
        absl::Milliseconds(std::uniform_int_distribution<int>(0, 40)(rng)));
    server.Kill();
    writer.join();
    address = server.Start();
    ASSERT_TRUE(address.ok()) << address.status();
    absl::StatusOr<v1::UploadStatus> after =
        UploadStatusOf(*address, token, sha256);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_GE(after->received(), seen->received())
        << "the node lost bytes it had reported durable";
    EXPECT_LE(after->received(), sent) << "the node holds bytes never sent";
    durable = after->received();
    if (after->complete()) break;
  }
  // The rest, uninterrupted.
  if (durable < data.size()) StreamFrom(*address, token, sha256, data, durable);
  absl::StatusOr<v1::UploadStatus> last =
      UploadStatusOf(*address, token, sha256);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->complete());
  EXPECT_EQ(last->received(), data.size());
  EXPECT_GT(kills, 0) << "no kill interrupted the upload";
  std::printf("crash_test: upload of %zu MiB survived %d kill -9\n",
              data.size() >> 20, kills);
  server.Kill();
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fieldledger
