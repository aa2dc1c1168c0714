// fieldledger_baseline: the simplest FieldSync servers, the yardsticks that
// bench/run_benchmarks.sh measures fieldledgerd against in the same run.
//
//   fieldledger_baseline --mode=noop --listen=127.0.0.1:0
//   fieldledger_baseline --mode=rocksdb --data_dir=/tmp/x --listen=127.0.0.1:0
//
// --mode=noop: Push replies at once with one OUTCOME_APPLIED result per
// mutation; the cost of gRPC alone.
// --mode=rocksdb: each Push does one RocksDB Put (WriteOptions.sync = true)
// of the serialized request on the gRPC callback thread, as a naive durable
// server would. That serialises on the callback threads (see
// /work/shared/BUILD-NOTES.md): it is the rate a server without group commit
// gets.
//
// No authentication and no validation. Prints "listening on 127.0.0.1:PORT"
// once serving, and shuts down cleanly on SIGINT or SIGTERM.
#include <grpcpp/grpcpp.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "fieldledger/v1/sync.grpc.pb.h"

ABSL_FLAG(std::string, mode, "noop",
          "noop: reply at once; rocksdb: one synced RocksDB Put per Push");
ABSL_FLAG(std::string, listen, "127.0.0.1:0",
          "address to listen on; port 0 picks a free port");
ABSL_FLAG(std::string, data_dir, "",
          "RocksDB directory for --mode=rocksdb (created if missing)");

namespace fieldledger::bench {
namespace {

namespace v1 = ::fieldledger::v1;

// Fills `response` with one OUTCOME_APPLIED result per mutation, numbering
// events from `first_event_seq`.
void AnswerApplied(const v1::PushRequest& request, uint64_t first_event_seq,
                   v1::PushResponse* response) {
  uint64_t high_water_mark = 0;
  for (int i = 0; i < request.mutations_size(); ++i) {
    const v1::Mutation& mutation = request.mutations(i);
    v1::MutationResult* result = response->add_results();
    result->set_client_seq(mutation.client_seq());
    result->set_outcome(v1::OUTCOME_APPLIED);
    result->set_event_seq(first_event_seq + i);
    high_water_mark = mutation.client_seq();
  }
  response->set_high_water_mark(high_water_mark);
}

// FieldSync with Push and UploadEvidence only; the rest stay UNIMPLEMENTED.
class BaselineSyncService final : public v1::FieldSync::CallbackService {
 public:
  // `db` is null for the no-op mode; otherwise it outlives the service.
  explicit BaselineSyncService(rocksdb::DB* db) : db_(db) {
    write_options_.sync = true;
  }

  grpc::ServerUnaryReactor* Push(grpc::CallbackServerContext* context,
                                 const v1::PushRequest* request,
                                 v1::PushResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const uint64_t first = next_event_seq_.fetch_add(
        static_cast<uint64_t>(request->mutations_size()));
    if (db_ != nullptr) {
      // Big-endian key, so the log is in arrival order.
      char key[8];
      for (int i = 0; i < 8; ++i)
        key[i] = static_cast<char>(first >> (56 - 8 * i));
      std::string value;
      request->SerializeToString(&value);
      const rocksdb::Status s =
          db_->Put(write_options_, rocksdb::Slice(key, sizeof(key)), value);
      if (!s.ok()) {
        reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, s.ToString()));
        return reactor;
      }
    }
    AnswerApplied(*request, first, response);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  // Raw gRPC streaming: reads every chunk and drops it, then answers
  // complete. The baseline for evidence uploads.
  grpc::ServerReadReactor<v1::EvidenceChunk>* UploadEvidence(
      grpc::CallbackServerContext*, v1::UploadStatus* reply) override {
    class Sink final : public grpc::ServerReadReactor<v1::EvidenceChunk> {
     public:
      explicit Sink(v1::UploadStatus* reply) : reply_(reply) {
        StartRead(&chunk_);
      }
      void OnReadDone(bool ok) override {
        if (!ok) {
          reply_->set_complete(true);
          Finish(grpc::Status::OK);
          return;
        }
        if (!chunk_.sha256().empty()) reply_->set_sha256(chunk_.sha256());
        reply_->set_received(reply_->received() + chunk_.data().size());
        StartRead(&chunk_);
      }
      void OnDone() override { delete this; }

     private:
      v1::UploadStatus* const reply_;
      v1::EvidenceChunk chunk_;
    };
    return new Sink(reply);
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::WriteOptions write_options_;
  std::atomic<uint64_t> next_event_seq_{1};
};

int Main() {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "noop" && mode != "rocksdb") {
    std::fprintf(stderr, "--mode must be noop or rocksdb, not %s\n",
                 mode.c_str());
    return 2;
  }

  std::unique_ptr<rocksdb::DB> db;
  if (mode == "rocksdb") {
    const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
    if (data_dir.empty()) {
      std::fprintf(stderr, "--mode=rocksdb needs --data_dir\n");
      return 2;
    }
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status s = rocksdb::DB::Open(options, data_dir, &raw);
    if (!s.ok()) {
      std::fprintf(stderr, "cannot open %s: %s\n", data_dir.c_str(),
                   s.ToString().c_str());
      return 1;
    }
    db.reset(raw);
  }

  // Block the stop signals before gRPC starts its threads, so that only the
  // sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  BaselineSyncService service(db.get());
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen),
                           grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  // The host part of --listen with the bound port, e.g. 127.0.0.1:40123.
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown();
  server->Wait();
  if (db != nullptr) {
    const rocksdb::Status s = db->Close();
    if (!s.ok()) {
      std::fprintf(stderr, "close: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace fieldledger::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Baseline FieldSync server: --mode=noop or --mode=rocksdb.");
  absl::ParseCommandLine(argc, argv);
  // As in fieldledgerd: Debian's abseil is built without NDEBUG, and its
  // deadlock detection would tax every mutex of the measuring tool.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return fieldledger::bench::Main();
}
