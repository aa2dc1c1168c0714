// Node: one fieldledgerd — its store, its services and its gRPC server.
// main() and the end-to-end tests start nodes the same way.
//
//   FL_ASSIGN_OR_RETURN(std::unique_ptr<Node> node,
//                       Node::Start({.data_dir = dir, .listen =
//                       "127.0.0.1:0"}));
//   ... node->port() ...
//   node->Shutdown();
//
// Thread-safe.
#ifndef FIELDLEDGER_SERVER_NODE_H_
#define FIELDLEDGER_SERVER_NODE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/limits.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "server/checkpointer.h"
#include "server/evidence_uploads.h"
#include "server/ledger_service.h"
#include "server/reports_service.h"
#include "server/services.h"
#include "server/supervision_service.h"
#include "storage/evidence_store.h"
#include "storage/store.h"

namespace fieldledger::server {

struct NodeOptions {
  // Where the node keeps its data: the RocksDB under db/, the evidence
  // under evidence/, admin.token.
  // Created (mode 0700) when missing.
  std::string data_dir = "./data";
  // host:port to serve on; port 0 picks a free one (see Node::port()).
  std::string listen = "127.0.0.1:50051";
  // Largest request accepted, in bytes; a larger one is refused with
  // RESOURCE_EXHAUSTED before it is read.
  size_t max_message_bytes = 4 << 20;
  // Limits on what clients send.
  Limits limits;
  // Store tuning; `path` is set from data_dir.
  storage::StoreOptions store;
  // Evidence store tuning; `path` is set from data_dir, `max_bytes` from
  // limits.max_evidence_bytes, `accept` refuses photos that still carry
  // identifying metadata.
  storage::EvidenceOptions evidence;
  EvidenceUploadOptions uploads;
  // The ledger's name: the origin line of its checkpoints and the name of
  // its signing key. A valid note key name (no spaces or '+'); by
  // convention a host-like prefix and a path. Fixed for the life of a data
  // dir: the key in ledger.key carries it.
  std::string node_name = "fieldledger.local/node";
  // Sign a new checkpoint at most this often, when the tree grew. Zero:
  // only at start and by Checkpointer::SignNow() (tests).
  absl::Duration checkpoint_interval = absl::Seconds(1);
};

class Node {
 public:
  // Opens the store, writes <data_dir>/admin.token (mode 0600) with a new
  // admin credential when there is none, loads or creates the ledger key
  // (<data_dir>/ledger.key, mode 0600; its verifier key in ledger.vkey),
  // starts the checkpoint signer and serving. DATA_LOSS when the last
  // signed checkpoint is not a prefix of the stored tree (rolled back or
  // altered data); INVALID_ARGUMENT for a bad node_name or one that differs
  // from the key's.
  static absl::StatusOr<std::unique_ptr<Node>> Start(
      const NodeOptions& options);

  // Shuts down if not done yet.
  ~Node();

  // The port the node listens on.
  int port() const { return port_; }
  // Whether Start wrote a new admin.token.
  bool created_admin_token() const { return created_admin_token_; }
  // A channel to this node that bypasses the network stack.
  std::shared_ptr<grpc::Channel> InProcessChannel();
  storage::Store& store() { return *store_; }
  // Not for a node started with store.ledger off.
  Checkpointer& checkpointer() { return *checkpointer_; }

  // Stops taking calls, lets calls in flight finish (for at most
  // `grace`), then closes the store.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

 private:
  Node() = default;

  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::EvidenceStore> evidence_;
  std::unique_ptr<EvidenceUploads> uploads_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::unique_ptr<FieldSyncService> field_sync_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<SupervisionService> supervision_;
  std::unique_ptr<ReportsService> reports_;
  std::unique_ptr<LedgerService> ledger_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool created_admin_token_ = false;
};

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_NODE_H_
