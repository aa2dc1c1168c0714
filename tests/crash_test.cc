// Crash test: fieldledgerd as a child process, several devices pushing
// concurrently, kill -9 at random moments, restart on the same data, again
// and again. Afterwards every acknowledged mutation is in the log exactly
// once, nothing else is, and the derived state equals a replay of the log.
//
// The seed is printed; FIELDLEDGER_CRASH_SEED=<n> replays a run's schedule.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/text.h"
#include "fieldledger/v1/admin.grpc.pb.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/store.h"

namespace fieldledger {
namespace {

constexpr int kDevices = 6;
constexpr int kCycles = 20;
// Every kInvalidEvery-th mutation has an empty summary and must be rejected.
constexpr uint64_t kInvalidEvery = 17;

// fieldledgerd as a child process.
class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir)
      : data_dir_(std::move(data_dir)) {}
  ~ServerProcess() { Kill(); }

  // Starts the server on port 0 and returns its address once it serves.
  std::string Start() {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      const std::string data = "--data_dir=" + data_dir_;
      execl(FIELDLEDGERD_PATH, FIELDLEDGERD_PATH, data.c_str(),
            "--listen=127.0.0.1:0", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // Read stdout until the "serving on" line; poll bounds the wait.
    std::string text;
    const std::string marker = "serving on ";
    while (text.find(marker) == std::string::npos ||
           text.find(',', text.find(marker)) == std::string::npos) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 20000) <= 0) break;
      char buf[512];
      const ssize_t n = read(out[0], buf, sizeof(buf));
      if (n <= 0) break;
      text.append(buf, n);
    }
    close(out[0]);  // the server's later writes to stdout are discarded
    const size_t at = text.find(marker);
    if (at == std::string::npos) {
      ADD_FAILURE() << "fieldledgerd did not start: " << text;
      return "";
    }
    const size_t from = at + marker.size();
    return text.substr(from, text.find(',', from) - from);
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  const std::string data_dir_;
  pid_t pid_ = -1;
};

// Where the server is now; clients wait here for a restart after a failure,
// and the killer for acknowledgements before its next kill.
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
  // Blocks until the server was restarted after `generation` (bounded).
  void AwaitRestart(int generation) {
    absl::MutexLock lock(&mu_);
    auto restarted = [&] { return generation_ != generation; };
    mu_.AwaitWithTimeout(absl::Condition(&restarted), absl::Seconds(30));
  }
  void Acknowledged(int64_t n) {
    absl::MutexLock lock(&mu_);
    acks_ += n;
  }
  int64_t acks() {
    absl::MutexLock lock(&mu_);
    return acks_;
  }
  // Blocks until more than `before` mutations were acknowledged (bounded).
  void AwaitAcksAbove(int64_t before) {
    absl::MutexLock lock(&mu_);
    auto progressed = [&] { return acks_ > before; };
    mu_.AwaitWithTimeout(absl::Condition(&progressed), absl::Seconds(30));
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
};

// One device: creates mutations, pushes them until each is acknowledged.
class Device {
 public:
  Device(Credential credential, uint64_t seed)
      : credential_(std::move(credential)), rng_(seed) {}

  // Pushes until `stop` and every created mutation is acknowledged.
  void Run(Endpoint& endpoint, const std::atomic<bool>& stop) {
    std::unique_ptr<v1::FieldSync::Stub> stub;
    int stub_generation = -1;
    for (;;) {
      if (stop && acked_mark_ == mutations_.size()) return;
      const auto [address, generation] = endpoint.Get();
      if (generation != stub_generation) {
        stub = v1::FieldSync::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
        stub_generation = generation;
      }
      // Resend what is unacknowledged, plus new ones while not stopping.
      const size_t want = std::uniform_int_distribution<size_t>(1, 40)(rng_);
      while (!stop && mutations_.size() < acked_mark_ + want) Create();
      v1::PushRequest request;
      for (size_t i = acked_mark_;
           i < mutations_.size() && request.mutations_size() < 40; ++i) {
        *request.add_mutations() = mutations_[i];
      }
      if (request.mutations().empty()) return;
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + credential_.token);
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
      v1::PushResponse reply;
      const grpc::Status status = stub->Push(&context, request, &reply);
      if (!status.ok()) {
        if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          ADD_FAILURE() << "the server forgot acknowledged mutations: "
                        << status.error_message();
          return;
        }
        endpoint.AwaitRestart(generation);  // killed: wait for the restart
        continue;
      }
      Record(request, reply);
      endpoint.Acknowledged(reply.results_size());
    }
  }

  const Credential& credential() const { return credential_; }
  const std::vector<v1::Mutation>& mutations() const { return mutations_; }
  // client_seq -> event seq for every mutation acknowledged as applied.
  const std::map<uint64_t, uint64_t>& applied() const { return applied_; }
  const std::map<uint64_t, bool>& rejected() const { return rejected_; }

 private:
  void Create() {
    v1::Mutation m;
    m.set_client_id(credential_.client_id);
    m.set_client_seq(mutations_.size() + 1);
    v1::Finding* f = m.mutable_report_finding()->mutable_finding();
    f->set_id(NewUuidV7(absl::Now()));
    f->set_unit_id("u1");
    f->set_category_id("commuting");
    if (m.client_seq() % kInvalidEvery != 0) {
      f->set_summary(absl::StrCat("第", m.client_seq(), "次：窗口无人"));
    }
    f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    mutations_.push_back(std::move(m));
  }

  void Record(const v1::PushRequest& request, const v1::PushResponse& reply) {
    ASSERT_EQ(reply.results_size(), request.mutations_size());
    for (const v1::MutationResult& r : reply.results()) {
      const uint64_t seq = r.client_seq();
      const bool invalid = seq % kInvalidEvery == 0;
      if (r.outcome() == v1::OUTCOME_REJECTED) {
        EXPECT_TRUE(invalid)
            << "seq " << seq << ": " << r.rejection().message();
        EXPECT_EQ(r.rejection().field(), "report_finding.finding.summary");
        rejected_[seq] = true;
      } else {
        EXPECT_FALSE(invalid) << "seq " << seq << " was not rejected";
        EXPECT_TRUE(r.outcome() == v1::OUTCOME_APPLIED ||
                    r.outcome() == v1::OUTCOME_ALREADY_APPLIED);
        auto [it, fresh] = applied_.emplace(seq, r.event_seq());
        EXPECT_EQ(it->second, r.event_seq()) << "event seq changed for " << seq;
      }
    }
    acked_mark_ = request.mutations(request.mutations_size() - 1).client_seq();
    EXPECT_GE(reply.high_water_mark(), acked_mark_);
  }

  const Credential credential_;
  std::mt19937_64 rng_;
  std::vector<v1::Mutation> mutations_;  // [i] has client_seq i + 1
  size_t acked_mark_ = 0;
  std::map<uint64_t, uint64_t> applied_;
  std::map<uint64_t, bool> rejected_;
};

template <typename Request, typename Reply, typename Call>
void AdminCall(v1::Admin::Stub& stub, const std::string& token,
               const Request& request, Reply* reply, Call call) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  const grpc::Status s = (stub.*call)(&context, request, reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

TEST(CrashTest, AcknowledgedMutationsSurviveKill9ExactlyOnce) {
  uint64_t seed = std::random_device()();
  if (const char* env = getenv("FIELDLEDGER_CRASH_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed));
  }
  std::printf("crash_test: seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);

  std::string tmpl = ::testing::TempDir() + "crash_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  ServerProcess server(dir);
  Endpoint endpoint;
  endpoint.Set(server.Start());

  // Registry and one credential per device.
  std::string admin_token;
  std::getline(std::ifstream(dir + "/admin.token"), admin_token);
  auto channel = grpc::CreateChannel(endpoint.Get().first,
                                     grpc::InsecureChannelCredentials());
  auto admin = v1::Admin::NewStub(channel);
  auto sync = v1::FieldSync::NewStub(channel);
  v1::CreateResponse created;
  v1::CreateRegionRequest region;
  region.mutable_region()->set_id("sz");
  region.mutable_region()->set_name("深圳市");
  AdminCall(*admin, admin_token, region, &created,
            &v1::Admin::Stub::CreateRegion);
  v1::CreateUnitRequest unit;
  unit.mutable_unit()->set_id("u1");
  unit.mutable_unit()->set_name("粤海街道办");
  unit.mutable_unit()->set_region_id("sz");
  AdminCall(*admin, admin_token, unit, &created, &v1::Admin::Stub::CreateUnit);
  v1::CreateCategoryRequest category;
  category.mutable_category()->set_id("commuting");
  category.mutable_category()->set_name("走读");
  AdminCall(*admin, admin_token, category, &created,
            &v1::Admin::Stub::CreateCategory);
  std::vector<std::unique_ptr<Device>> devices;
  for (int i = 0; i < kDevices; ++i) {
    v1::CreateEnrollmentCodeRequest code_request;
    code_request.set_role(v1::ROLE_INSPECTOR);
    v1::CreateEnrollmentCodeResponse code;
    AdminCall(*admin, admin_token, code_request, &code,
              &v1::Admin::Stub::CreateEnrollmentCode);
    v1::EnrollRequest enroll;
    enroll.set_code(code.code());
    v1::EnrollResponse enrolled;
    grpc::ClientContext context;
    ASSERT_TRUE(sync->Enroll(&context, enroll, &enrolled).ok());
    devices.push_back(std::make_unique<Device>(
        Credential{enrolled.token(), enrolled.client_id()}, rng()));
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (auto& d : devices) {
    threads.emplace_back([&, d = d.get()] { d->Run(endpoint, stop); });
  }

  // Kill at a random moment after the server acknowledged something new.
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    endpoint.AwaitAcksAbove(endpoint.acks());
    // The random moment: the schedule is the test's input, not a wait.
    absl::SleepFor(
        absl::Milliseconds(std::uniform_int_distribution<int>(0, 150)(rng)));
    server.Kill();
    endpoint.Set(server.Start());
  }
  stop = true;
  for (auto& t : threads) t.join();
  server.Kill();  // a crash, not a clean stop, before the final check

  // Check the data as the server left it.
  auto store = storage::Store::Open({.path = dir + "/db"});
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Status derived = (*store)->CheckDerivedState();
  ASSERT_TRUE(derived.ok()) << derived;
  auto events = (*store)->ReadEvents(0, 1 << 30);
  ASSERT_TRUE(events.ok());

  std::map<std::string, const Device*> by_client;
  for (const auto& d : devices) by_client[d->credential().client_id] = d.get();
  std::map<std::pair<std::string, uint64_t>, uint64_t> in_log;
  for (const v1::Event& e : *events) {
    if (!e.has_origin()) continue;
    const auto key =
        std::make_pair(e.origin().client_id(), e.origin().client_seq());
    ASSERT_TRUE(in_log.emplace(key, e.seq()).second)
        << "mutation applied twice: " << key.first << "/" << key.second;
    auto device = by_client.find(key.first);
    ASSERT_NE(device, by_client.end()) << "event from an unknown client";
    const auto& sent = device->second->mutations();
    ASSERT_LE(key.second, sent.size()) << "event for a mutation never sent";
    EXPECT_EQ(e.finding_reported().id(),
              sent[key.second - 1].report_finding().finding().id());
    EXPECT_EQ(e.finding_reported().summary(),
              sent[key.second - 1].report_finding().finding().summary());
  }
  int64_t applied = 0, rejected = 0;
  for (const auto& d : devices) {
    const std::string& client = d->credential().client_id;
    for (uint64_t seq = 1; seq <= d->mutations().size(); ++seq) {
      const bool was_applied = d->applied().count(seq) > 0;
      const bool was_rejected = d->rejected().count(seq) > 0;
      ASSERT_TRUE(was_applied != was_rejected) << client << "/" << seq;
      auto logged = in_log.find({client, seq});
      if (was_applied) {
        ASSERT_NE(logged, in_log.end()) << "acknowledged but lost: " << seq;
        EXPECT_EQ(logged->second, d->applied().at(seq));
        ++applied;
      } else {
        EXPECT_EQ(logged, in_log.end()) << "rejected but applied: " << seq;
        ++rejected;
      }
    }
    // The mark is where the device's last mutation is.
    uint64_t mark = 0;
    ASSERT_TRUE((*store)
                    ->Run([&](Txn& txn) {
                      auto m = txn.GetHighWaterMark(client);
                      if (!m.ok()) return m.status();
                      mark = *m;
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(mark, d->mutations().size());
  }
  EXPECT_EQ(static_cast<int64_t>(in_log.size()), applied);
  EXPECT_GT(rejected, 0);
  std::printf(
      "crash_test: %d kill -9 cycles, %lld mutations applied, %lld "
      "rejected, %zu events\n",
      kCycles, static_cast<long long>(applied),
      static_cast<long long>(rejected), events->size());
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fieldledger
