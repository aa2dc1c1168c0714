// fieldledgerd: a fieldledger node. Flags only here; everything else is in
// the libraries.
#include <signal.h>

#include <filesystem>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "server/node.h"
#include "storage/crc32c.h"

ABSL_FLAG(std::string, data_dir, "./data",
          "Directory for the node's data (created when missing)");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to serve gRPC on; port 0 picks a free port");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20, "Largest request accepted");
ABSL_FLAG(int32_t, max_push_mutations, 500, "Most mutations in one Push");
ABSL_FLAG(int32_t, max_summary_chars, 200, "Characters in a finding summary");
ABSL_FLAG(int32_t, max_detail_chars, 10000, "Characters in a finding detail");
ABSL_FLAG(absl::Duration, max_clock_skew, absl::Minutes(5),
          "How far in the future a finding's observed_at may lie");
ABSL_FLAG(
    uint64_t, max_evidence_bytes, 64 << 20,
    "Largest piece of evidence (photo, recording, document), in bytes: for "
    "uploads and for the sizes findings and reports declare");
ABSL_FLAG(uint32_t, max_uploads_per_device, 4,
          "Evidence upload streams one device may have open at once");
ABSL_FLAG(absl::Duration, evidence_partial_ttl, absl::Hours(24 * 7),
          "Partial evidence uploads not continued for this long are removed");
ABSL_FLAG(std::string, node_name, "fieldledger.local/node",
          "The ledger's name: origin line of its checkpoints and name of its "
          "signing key (no spaces or '+'). Fixed once the node has started; "
          "e.g. ledger.example.org/city-north");
ABSL_FLAG(absl::Duration, checkpoint_interval, absl::Seconds(1),
          "Sign a new ledger checkpoint at most this often, when the tree "
          "grew");
// Benchmarks only: measures what the ledger costs. Not in --help's summary
// of operations; never switch it on a data dir that has events.
ABSL_FLAG(bool, benchmark_without_ledger, false,
          "BENCHMARKS ONLY: keep no Merkle tree, sign no checkpoints, serve "
          "no Ledger service");
ABSL_FLAG(bool, check, false,
          "Check that the derived state in --data_dir equals a replay of its "
          "event log, then exit (0: consistent, 1: not). The node must be "
          "stopped.");

namespace {

int Check(const std::string& data_dir) {
  if (!std::filesystem::exists(data_dir + "/db")) {
    std::cerr << "fieldledgerd: no node data in " << data_dir << std::endl;
    return 1;
  }
  auto store = fieldledger::storage::Store::Open({.path = data_dir + "/db"});
  if (!store.ok()) {
    std::cerr << "fieldledgerd: " << store.status() << std::endl;
    return 1;
  }
  const absl::Status check = (*store)->CheckDerivedState();
  if (!check.ok()) {
    std::cerr << "fieldledgerd: check failed: " << check << std::endl;
    return 1;
  }
  std::cout << "fieldledgerd: " << (*store)->NextSeq()
            << " events; derived state consistent" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fieldledgerd: the fieldledger node.\n"
      "  fieldledgerd [--data_dir=./data] [--listen=127.0.0.1:50051]\n"
      "  fieldledgerd --check [--data_dir=./data]");
  absl::ParseCommandLine(argc, argv);
  // Debian's abseil is built without NDEBUG, so every absl::Mutex (gRPC's
  // included) would keep a lock-order graph: costly, and only a debugging aid.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (absl::GetFlag(FLAGS_check)) return Check(absl::GetFlag(FLAGS_data_dir));

  // Handle SIGINT/SIGTERM on this thread only: block them before any other
  // thread exists, then wait for one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  fieldledger::server::NodeOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.limits.max_push_mutations = absl::GetFlag(FLAGS_max_push_mutations);
  options.limits.max_summary_chars = absl::GetFlag(FLAGS_max_summary_chars);
  options.limits.max_detail_chars = absl::GetFlag(FLAGS_max_detail_chars);
  options.limits.max_clock_skew = absl::GetFlag(FLAGS_max_clock_skew);
  options.limits.max_evidence_bytes = absl::GetFlag(FLAGS_max_evidence_bytes);
  options.uploads.max_per_device = absl::GetFlag(FLAGS_max_uploads_per_device);
  options.uploads.partial_ttl = absl::GetFlag(FLAGS_evidence_partial_ttl);
  options.node_name = absl::GetFlag(FLAGS_node_name);
  options.store.ledger = !absl::GetFlag(FLAGS_benchmark_without_ledger);
  options.checkpoint_interval = absl::GetFlag(FLAGS_checkpoint_interval);

  auto node = fieldledger::server::Node::Start(options);
  if (!node.ok()) {
    std::cerr << "fieldledgerd: " << node.status() << std::endl;
    return 1;
  }
  if ((*node)->created_admin_token()) {
    std::cout << "fieldledgerd: new node; admin credential written to "
              << options.data_dir << "/admin.token" << std::endl;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::cout << "fieldledgerd: ledger " << options.node_name
            << ", verifier key in " << options.data_dir << "/ledger.vkey"
            << std::endl;
  std::cout << "fieldledgerd: RocksDB checksums (CRC32C) in "
            << (fieldledger::storage::HardwareCrc32cInUse() ? "hardware"
                                                            : "software")
            << std::endl;
  std::cout << "fieldledgerd: serving on " << host << ":" << (*node)->port()
            << ", data in " << options.data_dir << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "fieldledgerd: shutting down" << std::endl;
  (*node)->Shutdown();
  return 0;
}
