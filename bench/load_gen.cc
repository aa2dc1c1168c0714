// fieldledger_load: drives FieldSync.Push with many requests in flight and
// reports throughput, latency percentiles and errors by status code.
//
//   # 64 single-finding Pushes in flight for 10 s against a baseline server:
//   fieldledger_load --target=127.0.0.1:40123 --in_flight=64 --duration=10s
//   # against fieldledgerd, 100-finding batches; enrolls one inspector per
//   # slot first
//   fieldledger_load --admin_token_file=data/admin.token --batch=100
//   # fill: exactly 2000 Pushes of 500 findings
//   fieldledger_load ... --batch=500 --requests=2000
//   # after a restart: poll until the server answers, then push one finding
//   fieldledger_load ... --probe --probe_timeout=30s
//   # also the CPU time per request of the server and of this process
//   fieldledger_load ... --server_pid=$(pidof fieldledgerd)
//
// Each in-flight slot is one device: its own client_id (and, against
// fieldledgerd, its own credential), pushing consecutive client_seq and
// waiting for each reply before its next Push. Every finding is valid: a
// fresh UUIDv7, the benchmark unit and category, a summary in Chinese and
// English, observed_at = now.
//
// Uses the gRPC callback client API, so one process keeps hundreds of
// requests in flight on a few threads. Every loop is bounded: the run stops
// after --duration (or --requests, or --max_time) and --max_errors.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "fieldledger/v1/admin.grpc.pb.h"
#include "fieldledger/v1/sync.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address");
ABSL_FLAG(int, in_flight, 64, "Push requests in flight (one device each)");
ABSL_FLAG(int, channels, 1, "gRPC channels (TCP connections) to spread over");
ABSL_FLAG(int, batch, 1, "findings (mutations) per Push");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "measured time, after --warmup; ignored with --requests");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "load before the measured time, not counted");
ABSL_FLAG(int64_t, requests, 0,
          "when > 0: send exactly this many Pushes, measure all of them, "
          "then stop (no warmup)");
ABSL_FLAG(absl::Duration, max_time, absl::Minutes(10),
          "hard limit on the whole run");
ABSL_FLAG(int64_t, max_errors, 10000,
          "stop the run after this many failed Pushes");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(10), "deadline per RPC");
ABSL_FLAG(std::string, admin_token_file, "",
          "fieldledgerd's admin.token; when set, create the benchmark "
          "region/unit/category and enroll one inspector per slot");
ABSL_FLAG(int, enroll, 0,
          "devices to enroll with --admin_token_file (0: one per slot); "
          "must be at least --in_flight");
ABSL_FLAG(std::string, region_id, "bench-region", "benchmark region id");
ABSL_FLAG(std::string, unit_id, "bench-unit", "benchmark unit id");
ABSL_FLAG(std::string, category_id, "bench-category", "benchmark category id");
ABSL_FLAG(std::string, label, "push", "name printed with the results");
ABSL_FLAG(std::string, json_out, "",
          "also append the results as one JSON line to this file "
          "('-': stdout)");
ABSL_FLAG(bool, probe, false,
          "instead of load: poll until the server answers (Admin.ListRegions "
          "with --admin_token_file, else an empty Push), then enroll and push "
          "one finding; print the times");
ABSL_FLAG(int, upload_mib, 0,
          "instead of Pushes: upload one piece of evidence of this many MiB "
          "(random bytes) in 1 MiB chunks, over one stream, and report MiB/s");
ABSL_FLAG(int, uploads, 1,
          "with --upload_mib: this many uploads at once, each from its own "
          "device with its own bytes; the rate printed is their sum");
ABSL_FLAG(int, server_pid, 0,
          "the server's process id: also report the CPU time it spent per "
          "request in the measured window (from /proc; 0: not reported)");
ABSL_FLAG(absl::Duration, probe_timeout, absl::Seconds(30),
          "give up probing after this long");

namespace fieldledger::bench {
namespace {

namespace v1 = ::fieldledger::v1;
using Clock = std::chrono::steady_clock;

constexpr int kStatusCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED

constexpr const char* kStatusNames[kStatusCodes] = {"OK",
                                                    "CANCELLED",
                                                    "UNKNOWN",
                                                    "INVALID_ARGUMENT",
                                                    "DEADLINE_EXCEEDED",
                                                    "NOT_FOUND",
                                                    "ALREADY_EXISTS",
                                                    "PERMISSION_DENIED",
                                                    "RESOURCE_EXHAUSTED",
                                                    "FAILED_PRECONDITION",
                                                    "ABORTED",
                                                    "OUT_OF_RANGE",
                                                    "UNIMPLEMENTED",
                                                    "INTERNAL",
                                                    "UNAVAILABLE",
                                                    "DATA_LOSS",
                                                    "UNAUTHENTICATED"};

// Summaries: what inspectors write, in Chinese with some English.
constexpr const char* kSummaries[] = {
    "工作日上午十点乡镇值班室无人在岗，疑似走读",
    "便民服务窗口工作人员玩手机，群众排队四十分钟无人办理",
    "低保审批材料反复退回，存在中梗阻",
    "Service window closed during office hours; 窗口无人",
    "违规收取办证费用二百元，未出具票据（三乱）",
    "拖欠群众工程款两年未付",
    "懒政：投诉电话连续三天无人接听",
    "Village cadre asked for a 'fee' before stamping the form; 吃拿卡要",
};

// One device: a client_id (and token) pushing consecutive client_seq, one
// Push in flight at a time. Only the slot's own callback chain touches it.
struct Slot {
  int index = 0;
  v1::FieldSync::Stub* stub = nullptr;
  std::string client_id;
  // "Bearer ..." or empty (the baselines need no credential).
  std::string authorization;
  uint64_t next_seq = 1;
  // Resend the last request unchanged (after a transport error).
  bool resend = false;
  std::unique_ptr<grpc::ClientContext> context;
  v1::PushRequest request;
  v1::PushResponse response;
  Clock::time_point sent;
  // Results of the Pushes that completed inside the measured window.
  std::vector<uint32_t> latencies_us;
  int64_t findings_applied = 0;
  int64_t findings_already_applied = 0;
  int64_t findings_rejected = 0;
  int64_t bad_replies = 0;
  std::array<int64_t, kStatusCodes> codes{};
  std::string first_error;
};

struct Credential {
  std::string client_id;
  std::string authorization;
};

// A channel with its own TCP connection and quick reconnects (the probe polls
// a server that is restarting).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           int index) {
  grpc::ChannelArguments args;
  args.SetInt("fieldledger.bench.channel", index);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMicroseconds(timeout));
}

absl::Status ToAbsl(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

absl::StatusOr<std::string> ReadAdminToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(buffer.str()));
  if (token.empty()) return absl::InvalidArgumentError(path + " is empty");
  return token;
}

// "Bearer <admin token>" from --admin_token_file; empty when it is unset
// (the baselines need no credentials).
absl::StatusOr<std::string> AdminAuthorization() {
  const std::string path = absl::GetFlag(FLAGS_admin_token_file);
  if (path.empty()) return std::string();
  absl::StatusOr<std::string> token = ReadAdminToken(path);
  if (!token.ok()) return token.status();
  return absl::StrCat("Bearer ", *token);
}

// Creates the benchmark region, unit and category; ALREADY_EXISTS is fine.
absl::Status CreateRegistry(v1::Admin::Stub* admin,
                            const std::string& authorization) {
  const absl::Duration timeout = absl::GetFlag(FLAGS_rpc_timeout);
  auto call = [&](auto method, const auto& request,
                  absl::string_view what) -> absl::Status {
    grpc::ClientContext context;
    SetDeadline(&context, timeout);
    context.AddMetadata("authorization", authorization);
    v1::CreateResponse response;
    const grpc::Status s = (admin->*method)(&context, request, &response);
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      return absl::OkStatus();
    }
    return ToAbsl(s, what);
  };
  v1::CreateRegionRequest region;
  region.mutable_region()->set_id(absl::GetFlag(FLAGS_region_id));
  region.mutable_region()->set_name("基准测试区 (benchmark district)");
  absl::Status s = call(&v1::Admin::Stub::CreateRegion, region, "CreateRegion");
  if (!s.ok()) return s;
  v1::CreateUnitRequest unit;
  unit.mutable_unit()->set_id(absl::GetFlag(FLAGS_unit_id));
  unit.mutable_unit()->set_name("基准测试街道便民服务中心");
  unit.mutable_unit()->set_region_id(absl::GetFlag(FLAGS_region_id));
  s = call(&v1::Admin::Stub::CreateUnit, unit, "CreateUnit");
  if (!s.ok()) return s;
  v1::CreateCategoryRequest category;
  category.mutable_category()->set_id(absl::GetFlag(FLAGS_category_id));
  category.mutable_category()->set_name("走读");
  category.mutable_category()->set_description(
      "Cadres commuting home instead of staying at their posts (benchmark).");
  return call(&v1::Admin::Stub::CreateCategory, category, "CreateCategory");
}

// Issues an enrollment code and trades it for an inspector credential.
absl::StatusOr<Credential> EnrollOne(v1::Admin::Stub* admin,
                                     v1::FieldSync::Stub* sync,
                                     const std::string& admin_authorization) {
  const absl::Duration timeout = absl::GetFlag(FLAGS_rpc_timeout);
  v1::CreateEnrollmentCodeRequest code_request;
  code_request.set_role(v1::ROLE_INSPECTOR);
  v1::CreateEnrollmentCodeResponse code;
  {
    grpc::ClientContext context;
    SetDeadline(&context, timeout);
    context.AddMetadata("authorization", admin_authorization);
    const grpc::Status s =
        admin->CreateEnrollmentCode(&context, code_request, &code);
    if (!s.ok()) return ToAbsl(s, "CreateEnrollmentCode");
  }
  v1::EnrollRequest enroll_request;
  enroll_request.set_code(code.code());
  v1::EnrollResponse enrolled;
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  const grpc::Status s = sync->Enroll(&context, enroll_request, &enrolled);
  if (!s.ok()) return ToAbsl(s, "Enroll");
  if (enrolled.token().empty() || enrolled.client_id().empty()) {
    return absl::InternalError("Enroll returned no token or client_id");
  }
  return Credential{enrolled.client_id(),
                    absl::StrCat("Bearer ", enrolled.token())};
}

// Enrolls `count` inspectors, a few at a time.
absl::StatusOr<std::vector<Credential>> EnrollMany(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels, int count,
    const std::string& admin_authorization) {
  std::vector<Credential> credentials(count);
  std::vector<absl::Status> failures(count);
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto channel = channels[t % channels.size()];
      auto admin = v1::Admin::NewStub(channel);
      auto sync = v1::FieldSync::NewStub(channel);
      for (int i = t; i < count; i += kThreads) {
        absl::StatusOr<Credential> c =
            EnrollOne(admin.get(), sync.get(), admin_authorization);
        if (c.ok()) {
          credentials[i] = *std::move(c);
        } else {
          failures[i] = c.status();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : failures) {
    if (!s.ok()) return s;
  }
  return credentials;
}

// Fills `finding` with a valid new finding observed now.
void FillFinding(uint64_t n, v1::Finding* finding) {
  const absl::Time now = absl::Now();
  finding->set_id(NewUuidV7(now));
  finding->set_unit_id(absl::GetFlag(FLAGS_unit_id));
  finding->set_category_id(absl::GetFlag(FLAGS_category_id));
  finding->set_summary(absl::StrCat(
      kSummaries[n % (sizeof(kSummaries) / sizeof(kSummaries[0]))], " #", n));
  finding->set_detail("基准测试生成的记录 (generated by fieldledger_load).");
  const int64_t micros = absl::ToUnixMicros(now);
  finding->mutable_observed_at()->set_seconds(micros / 1000000);
  finding->mutable_observed_at()->set_nanos(
      static_cast<int32_t>(micros % 1000000) * 1000);
  finding->mutable_location()->set_latitude(22.53 + (n % 100) * 0.001);
  finding->mutable_location()->set_longitude(113.93 + (n % 37) * 0.001);
  finding->set_severity(static_cast<v1::Severity>(1 + n % 3));
}

// Replaces `request` with `batch` ReportFinding mutations from `first_seq`.
void BuildRequest(const std::string& client_id, uint64_t first_seq, int batch,
                  v1::PushRequest* request) {
  request->Clear();
  for (int i = 0; i < batch; ++i) {
    v1::Mutation* m = request->add_mutations();
    m->set_client_id(client_id);
    m->set_client_seq(first_seq + i);
    FillFinding(first_seq + i, m->mutable_report_finding()->mutable_finding());
  }
}

// CPU seconds (user + system) that process `pid` has used so far, from
// /proc/PID/stat; -1 if it cannot be read.
double ProcessCpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  const std::string stat((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  // The command name, in parentheses, may hold spaces: fields are counted
  // from the state after it (field 3); utime and stime are fields 14 and 15.
  const size_t name_end = stat.rfind(") ");
  if (name_end == std::string::npos) return -1;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(name_end + 2), ' ');
  uint64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

// The machine's busy and total CPU time so far (all cores), from /proc/stat.
struct MachineCpu {
  uint64_t busy = 0, total = 0;
};
MachineCpu ReadMachineCpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t v, column = 0;
  MachineCpu m;
  in >> cpu;
  while (column < 8 && in >> v) {
    m.total += v;
    if (column != 3 && column != 4) m.busy += v;  // not idle, not iowait
    ++column;
  }
  return m;
}

// CPU use over the measured window: this process's and the server's
// seconds, and the machine's busy share.
struct CpuUse {
  double load_seconds = -1, server_seconds = -1, machine_busy = -1;
};

// Runs the slots until the duration or request budget is spent.
class LoadRun {
 public:
  LoadRun(std::vector<std::unique_ptr<Slot>> slots, int batch)
      : slots_(std::move(slots)),
        batch_(batch),
        request_budget_(absl::GetFlag(FLAGS_requests)),
        rpc_timeout_(absl::GetFlag(FLAGS_rpc_timeout)),
        max_errors_(absl::GetFlag(FLAGS_max_errors)) {}

  // Starts every slot and waits until all have stopped. Returns the measured
  // seconds.
  double Run() {
    const Clock::time_point start = Clock::now();
    if (request_budget_ > 0) {
      window_start_ = start;
      window_end_ =
          start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_max_time));
    } else {
      window_start_ =
          start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup));
      window_end_ = window_start_ +
                    absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
    }
    hard_end_ =
        start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_max_time));
    {
      absl::MutexLock lock(&mu_);
      running_ = static_cast<int>(slots_.size());
    }
    std::thread sampler;
    if (request_budget_ == 0) sampler = std::thread([this] { SampleCpu(); });
    for (auto& slot : slots_) Issue(slot.get());
    // Bounded: every RPC has a deadline and no slot issues past window_end_
    // or hard_end_; the extra minute only guards against a hung library.
    const absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_max_time) +
                               rpc_timeout_ + absl::Minutes(1);
    Clock::time_point end;
    {
      absl::MutexLock lock(&mu_);
      while (running_ > 0 && absl::Now() < give_up) {
        done_.WaitWithDeadline(&mu_, give_up);
      }
      if (running_ > 0) {
        std::fprintf(stderr, "%d slots still running; giving up\n", running_);
        std::fflush(stderr);
        std::_Exit(3);
      }
      end = request_budget_ > 0 ? last_completion_ : window_end_;
    }
    if (sampler.joinable()) sampler.join();
    return std::chrono::duration<double>(end - window_start_).count();
  }

  const std::vector<std::unique_ptr<Slot>>& slots() const { return slots_; }
  // Over the measured window of a --duration run; -1 where not measured.
  const CpuUse& cpu() const { return cpu_; }

 private:
  // Reads the CPU counters at both ends of the measured window.
  void SampleCpu() {
    const int server = absl::GetFlag(FLAGS_server_pid);
    const int self = static_cast<int>(getpid());
    std::this_thread::sleep_until(window_start_);
    const double load0 = ProcessCpuSeconds(self);
    const double server0 = server > 0 ? ProcessCpuSeconds(server) : -1;
    const MachineCpu machine0 = ReadMachineCpu();
    std::this_thread::sleep_until(window_end_);
    if (load0 >= 0) cpu_.load_seconds = ProcessCpuSeconds(self) - load0;
    if (server0 >= 0) cpu_.server_seconds = ProcessCpuSeconds(server) - server0;
    const MachineCpu machine1 = ReadMachineCpu();
    if (machine1.total > machine0.total) {
      cpu_.machine_busy = static_cast<double>(machine1.busy - machine0.busy) /
                          static_cast<double>(machine1.total - machine0.total);
    }
  }

  void Issue(Slot* slot) {
    const Clock::time_point now = Clock::now();
    const bool out_of_budget = request_budget_ > 0
                                   ? issued_.fetch_add(1) >= request_budget_
                                   : now >= window_end_;
    if (out_of_budget || now >= hard_end_ || stop_.load()) {
      absl::MutexLock lock(&mu_);
      if (--running_ == 0) done_.SignalAll();
      return;
    }
    if (!slot->resend) {
      BuildRequest(slot->client_id, slot->next_seq, batch_, &slot->request);
    }
    slot->context = std::make_unique<grpc::ClientContext>();
    SetDeadline(slot->context.get(), rpc_timeout_);
    if (!slot->authorization.empty()) {
      slot->context->AddMetadata("authorization", slot->authorization);
    }
    slot->response.Clear();
    slot->sent = Clock::now();
    slot->stub->async()->Push(
        slot->context.get(), &slot->request, &slot->response,
        [this, slot](grpc::Status status) { OnDone(slot, status); });
  }

  void OnDone(Slot* slot, const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    const bool measured = now >= window_start_ && now <= window_end_;
    const int code = static_cast<int>(status.error_code());
    if (status.ok()) {
      slot->resend = false;
      slot->next_seq += static_cast<uint64_t>(batch_);
      if (measured) CountResults(slot);
    } else {
      slot->resend = true;
      if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        // A gap: resume from the server's high-water mark.
        const auto& trailers = slot->context->GetServerTrailingMetadata();
        auto it = trailers.find("fieldledger-high-water-mark");
        uint64_t hwm = 0;
        if (it != trailers.end() &&
            absl::SimpleAtoi(
                absl::string_view(it->second.data(), it->second.size()),
                &hwm)) {
          slot->next_seq = hwm + 1;
          slot->resend = false;
        }
      }
      if (slot->first_error.empty()) {
        slot->first_error =
            absl::StrCat(kStatusNames[code < kStatusCodes ? code : 2], ": ",
                         status.error_message());
      }
      if (errors_.fetch_add(1) + 1 >= max_errors_) stop_.store(true);
    }
    if (measured) {
      slot->codes[code < kStatusCodes ? code : 2]++;
      if (status.ok()) {
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(now -
                                                                  slot->sent)
                .count();
        slot->latencies_us.push_back(static_cast<uint32_t>(micros));
      }
    }
    if (request_budget_ > 0) {
      absl::MutexLock lock(&mu_);
      last_completion_ = std::max(last_completion_, now);
    }
    Issue(slot);
  }

  void CountResults(Slot* slot) {
    if (slot->response.results_size() != slot->request.mutations_size()) {
      slot->bad_replies++;
      return;
    }
    for (const v1::MutationResult& r : slot->response.results()) {
      switch (r.outcome()) {
        case v1::OUTCOME_APPLIED:
          slot->findings_applied++;
          break;
        case v1::OUTCOME_ALREADY_APPLIED:
          slot->findings_already_applied++;
          break;
        case v1::OUTCOME_REJECTED:
          slot->findings_rejected++;
          if (slot->first_error.empty()) {
            slot->first_error = absl::StrCat("rejected ", r.rejection().field(),
                                             ": ", r.rejection().message());
          }
          break;
        default:
          slot->bad_replies++;
      }
    }
  }

  std::vector<std::unique_ptr<Slot>> slots_;
  const int batch_;
  const int64_t request_budget_;
  const absl::Duration rpc_timeout_;
  const int64_t max_errors_;
  Clock::time_point window_start_;
  Clock::time_point window_end_;
  Clock::time_point hard_end_;
  std::atomic<int64_t> issued_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<bool> stop_{false};

  absl::Mutex mu_;
  absl::CondVar done_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  Clock::time_point last_completion_ ABSL_GUARDED_BY(mu_);
  CpuUse cpu_;  // written by the sampler thread, read after it is joined
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i =
      std::min(sorted.size() - 1,
               static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i] / 1000.0;
}

void Report(const LoadRun& run, double seconds, int in_flight, int channels,
            int batch) {
  std::vector<uint32_t> latencies;
  std::array<int64_t, kStatusCodes> codes{};
  int64_t applied = 0, already = 0, rejected = 0, bad = 0;
  std::string first_error;
  for (const auto& slot : run.slots()) {
    latencies.insert(latencies.end(), slot->latencies_us.begin(),
                     slot->latencies_us.end());
    for (int c = 0; c < kStatusCodes; ++c) codes[c] += slot->codes[c];
    applied += slot->findings_applied;
    already += slot->findings_already_applied;
    rejected += slot->findings_rejected;
    bad += slot->bad_replies;
    if (first_error.empty()) first_error = slot->first_error;
  }
  std::sort(latencies.begin(), latencies.end());
  const int64_t ok = codes[0];
  const double rps = seconds > 0 ? ok / seconds : 0;
  const double fps = seconds > 0 ? applied / seconds : 0;
  std::vector<std::string> code_text;
  std::vector<std::string> code_json;
  for (int c = 0; c < kStatusCodes; ++c) {
    if (codes[c] == 0) continue;
    code_text.push_back(absl::StrCat(kStatusNames[c], ":", codes[c]));
    code_json.push_back(absl::StrCat("\"", kStatusNames[c], "\":", codes[c]));
  }
  const double p50 = Percentile(latencies, 0.50);
  const double p90 = Percentile(latencies, 0.90);
  const double p99 = Percentile(latencies, 0.99);
  const double max = latencies.empty() ? 0 : latencies.back() / 1000.0;
  // CPU per OK request over the window; -1 where not measured.
  const auto per_request_us = [ok](double seconds) {
    return seconds >= 0 && ok > 0 ? seconds * 1e6 / ok : -1.0;
  };
  const double load_us = per_request_us(run.cpu().load_seconds);
  const double server_us = per_request_us(run.cpu().server_seconds);
  std::string cpu_text;
  if (load_us >= 0) {
    absl::StrAppendFormat(&cpu_text, " load_cpu_us/req=%.1f", load_us);
  }
  if (server_us >= 0) {
    absl::StrAppendFormat(&cpu_text, " server_cpu_us/req=%.1f", server_us);
  }
  if (run.cpu().machine_busy >= 0) {
    absl::StrAppendFormat(&cpu_text, " machine_busy=%.0f%%",
                          100 * run.cpu().machine_busy);
  }
  std::printf(
      "%s: in_flight=%d channels=%d batch=%d seconds=%.2f requests_ok=%lld "
      "req/s=%.0f findings/s=%.0f p50=%.2fms p90=%.2fms p99=%.2fms "
      "max=%.2fms codes=%s applied=%lld already_applied=%lld rejected=%lld "
      "bad_replies=%lld%s\n",
      absl::GetFlag(FLAGS_label).c_str(), in_flight, channels, batch, seconds,
      static_cast<long long>(ok), rps, fps, p50, p90, p99, max,
      absl::StrJoin(code_text, ",").c_str(), static_cast<long long>(applied),
      static_cast<long long>(already), static_cast<long long>(rejected),
      static_cast<long long>(bad), cpu_text.c_str());
  if (!first_error.empty()) {
    std::printf("  first error: %s\n", first_error.c_str());
  }
  std::fflush(stdout);

  const std::string json_out = absl::GetFlag(FLAGS_json_out);
  if (json_out.empty()) return;
  const std::string json = absl::StrFormat(
      "{\"label\":\"%s\",\"target\":\"%s\",\"in_flight\":%d,\"channels\":%d,"
      "\"batch\":%d,\"seconds\":%.3f,\"requests_ok\":%d,\"req_per_s\":%.1f,"
      "\"findings_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"codes\":{%s},\"applied\":%d,"
      "\"already_applied\":%d,\"rejected\":%d,\"bad_replies\":%d,"
      "\"load_cpu_us_per_req\":%.1f,\"server_cpu_us_per_req\":%.1f,"
      "\"machine_busy\":%.3f}\n",
      absl::GetFlag(FLAGS_label), absl::GetFlag(FLAGS_target), in_flight,
      channels, batch, seconds, ok, rps, fps, p50, p90, p99, max,
      absl::StrJoin(code_json, ","), applied, already, rejected, bad, load_us,
      server_us, run.cpu().machine_busy);
  if (json_out == "-") {
    std::fputs(json.c_str(), stdout);
    std::fflush(stdout);
  } else {
    std::ofstream(json_out, std::ios::app) << json;
  }
}

// --probe: the time until the server answers, then until one finding is
// durably pushed.
int Probe(const std::string& target) {
  const auto start = Clock::now();
  const absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_probe_timeout);
  const std::string token_file = absl::GetFlag(FLAGS_admin_token_file);
  std::string admin_authorization;
  auto channel = MakeChannel(target, 0);
  auto admin = v1::Admin::NewStub(channel);
  auto sync = v1::FieldSync::NewStub(channel);
  int attempts = 0;
  grpc::Status last;
  while (true) {
    ++attempts;
    if (!token_file.empty() && admin_authorization.empty()) {
      // The server may rewrite the file at start; read it each time until
      // it is there.
      absl::StatusOr<std::string> token = ReadAdminToken(token_file);
      if (token.ok()) admin_authorization = absl::StrCat("Bearer ", *token);
    }
    grpc::ClientContext context;
    SetDeadline(&context, absl::Milliseconds(200));
    context.set_wait_for_ready(true);
    if (!token_file.empty()) {
      context.AddMetadata("authorization", admin_authorization);
      v1::ListRegionsResponse response;
      last = admin->ListRegions(&context, v1::ListRegionsRequest(), &response);
    } else {
      v1::PushResponse response;
      last = sync->Push(&context, v1::PushRequest(), &response);
    }
    if (last.ok()) break;
    if (absl::Now() >= give_up) {
      std::printf("probe: not serving after %d attempts: %d %s\n", attempts,
                  static_cast<int>(last.error_code()),
                  last.error_message().c_str());
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  const double ready_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  double push_ms = 0;
  if (!token_file.empty()) {
    absl::StatusOr<Credential> c =
        EnrollOne(admin.get(), sync.get(), admin_authorization);
    if (!c.ok()) {
      std::printf("probe: enroll failed: %s\n", c.status().ToString().c_str());
      return 1;
    }
    v1::PushRequest request;
    BuildRequest(c->client_id, 1, 1, &request);
    v1::PushResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::GetFlag(FLAGS_rpc_timeout));
    context.AddMetadata("authorization", c->authorization);
    const grpc::Status s = sync->Push(&context, request, &response);
    if (!s.ok() || response.results_size() != 1 ||
        response.results(0).outcome() != v1::OUTCOME_APPLIED) {
      std::printf("probe: push failed: %d %s\n",
                  static_cast<int>(s.error_code()), s.error_message().c_str());
      return 1;
    }
    push_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }
  std::printf(
      "probe: serving after %.1f ms (%d attempts); first push applied "
      "after %.1f ms\n",
      ready_ms, attempts, push_ms);
  std::fflush(stdout);
  return 0;
}

// --upload_mib: --uploads concurrent evidence uploads (each its own device
// and its own random bytes), each timed from its first chunk to the reply
// (which fieldledgerd sends once every chunk is durable and the hash
// checked). Prints the aggregate rate over the wall time of all of them.
absl::StatusOr<double> UploadOne(const std::string& target,
                                 const std::string& admin_authorization,
                                 int mib) {
  auto channel = MakeChannel(target, 0);
  auto sync = v1::FieldSync::NewStub(channel);
  std::string authorization;
  if (!admin_authorization.empty()) {
    auto admin = v1::Admin::NewStub(channel);
    FL_ASSIGN_OR_RETURN(
        Credential c, EnrollOne(admin.get(), sync.get(), admin_authorization));
    authorization = c.authorization;
  }
  constexpr size_t kChunk = 1 << 20;
  std::string data = RandomHex(static_cast<size_t>(mib) * kChunk / 2);
  const std::string sha256 = absl::BytesToHexString(Sha256(data));

  grpc::ClientContext context;
  if (!authorization.empty()) {
    context.AddMetadata("authorization", authorization);
  }
  v1::UploadStatus reply;
  const auto start = Clock::now();
  auto writer = sync->UploadEvidence(&context, &reply);
  v1::EvidenceChunk chunk;
  chunk.set_sha256(sha256);
  chunk.set_size(data.size());
  chunk.set_media_type("application/octet-stream");
  for (size_t at = 0; at < data.size(); at += kChunk) {
    chunk.set_offset(at);
    chunk.set_data(data.substr(at, kChunk));
    if (!writer->Write(chunk)) break;
    chunk.clear_sha256();
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok() || !reply.complete()) {
    return absl::InternalError(absl::StrCat(
        "upload failed: ", status.error_code(), " ", status.error_message()));
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int Upload(const std::string& target, int mib, int uploads) {
  absl::StatusOr<std::string> admin_authorization = AdminAuthorization();
  if (!admin_authorization.ok()) {
    std::fprintf(stderr, "%s\n",
                 admin_authorization.status().ToString().c_str());
    return 1;
  }
  std::vector<absl::StatusOr<double>> seconds(uploads, 0.0);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < uploads; ++i) {
    threads.emplace_back(
        [&, i] { seconds[i] = UploadOne(target, *admin_authorization, mib); });
  }
  for (std::thread& t : threads) t.join();
  const double wall =
      std::chrono::duration<double>(Clock::now() - start).count();
  for (const absl::StatusOr<double>& s : seconds) {
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
      return 1;
    }
  }
  // The headline rate is over the wall time, set-up included; the stream
  // alone (first chunk to reply of the slowest upload) is printed too.
  double stream = 0;
  for (const absl::StatusOr<double>& s : seconds) stream = std::max(stream, *s);
  std::printf(
      "upload: mib=%d uploads=%d seconds=%.3f mib/s=%.1f stream_seconds=%.3f "
      "stream_mib/s=%.1f\n",
      mib, uploads, wall, mib * uploads / wall, stream, mib * uploads / stream);
  return 0;
}

int Main() {
  const std::string target = absl::GetFlag(FLAGS_target);
  if (absl::GetFlag(FLAGS_probe)) return Probe(target);
  if (absl::GetFlag(FLAGS_upload_mib) > 0) {
    return Upload(target, absl::GetFlag(FLAGS_upload_mib),
                  std::max(1, absl::GetFlag(FLAGS_uploads)));
  }

  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  const int channel_count = absl::GetFlag(FLAGS_channels);
  const int batch = absl::GetFlag(FLAGS_batch);
  if (in_flight < 1 || channel_count < 1 || batch < 1) {
    std::fprintf(stderr, "--in_flight, --channels and --batch must be >= 1\n");
    return 2;
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::FieldSync::Stub>> stubs;
  for (int i = 0; i < channel_count; ++i) {
    channels.push_back(MakeChannel(target, i));
    stubs.push_back(v1::FieldSync::NewStub(channels.back()));
  }
  for (auto& channel : channels) {
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n", target.c_str());
      return 1;
    }
  }

  std::vector<Credential> credentials(in_flight);
  absl::StatusOr<std::string> authorization = AdminAuthorization();
  if (!authorization.ok()) {
    std::fprintf(stderr, "%s\n", authorization.status().ToString().c_str());
    return 1;
  }
  if (!authorization->empty()) {
    const std::string& admin_authorization = *authorization;
    auto admin = v1::Admin::NewStub(channels[0]);
    absl::Status s = CreateRegistry(admin.get(), admin_authorization);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    const int enroll = absl::GetFlag(FLAGS_enroll) > 0
                           ? absl::GetFlag(FLAGS_enroll)
                           : in_flight;
    if (enroll < in_flight) {
      std::fprintf(stderr, "--enroll must be at least --in_flight\n");
      return 2;
    }
    absl::StatusOr<std::vector<Credential>> enrolled =
        EnrollMany(channels, enroll, admin_authorization);
    if (!enrolled.ok()) {
      std::fprintf(stderr, "%s\n", enrolled.status().ToString().c_str());
      return 1;
    }
    for (int i = 0; i < in_flight; ++i) credentials[i] = (*enrolled)[i];
  } else {
    // The baselines accept any client_id; a fresh one per run and slot.
    const std::string run = RandomHex(4);
    for (int i = 0; i < in_flight; ++i) {
      credentials[i].client_id = absl::StrCat("bench-", run, "-", i);
    }
  }

  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < in_flight; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->index = i;
    slot->stub = stubs[i % channel_count].get();
    slot->client_id = credentials[i].client_id;
    slot->authorization = credentials[i].authorization;
    slot->latencies_us.reserve(1 << 14);
    slots.push_back(std::move(slot));
  }
  LoadRun run(std::move(slots), batch);
  const double seconds = run.Run();
  Report(run, seconds, in_flight, channel_count, batch);
  return 0;
}

}  // namespace
}  // namespace fieldledger::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Push load generator for FieldSync servers; see bench/load_gen.cc.");
  absl::ParseCommandLine(argc, argv);
  // As in fieldledgerd: Debian's abseil is built without NDEBUG, and its
  // deadlock detection would tax every mutex of the measuring tool.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return fieldledger::bench::Main();
}
