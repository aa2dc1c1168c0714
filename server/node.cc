#include "server/node.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/admin.h"
#include "core/media.h"
#include "core/note.h"
#include "core/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "storage/files.h"

namespace fieldledger::server {
namespace {

// The ledger signing key of the node: loaded from ledger.key, or created
// there (with ledger.vkey beside it) on first start.
absl::StatusOr<NoteSigner> LoadOrCreateLedgerKey(const std::string& data_dir,
                                                 const std::string& name) {
  FL_RETURN_IF_ERROR(ValidateNoteKeyName(name));
  const std::string key_path =
      (std::filesystem::path(data_dir) / "ledger.key").string();
  const std::string vkey_path =
      (std::filesystem::path(data_dir) / "ledger.vkey").string();
  if (std::filesystem::exists(key_path)) {
    FL_ASSIGN_OR_RETURN(std::string text, storage::ReadWholeFile(key_path));
    absl::StatusOr<NoteSigner> signer =
        NoteSigner::Parse(absl::StripAsciiWhitespace(text));
    if (!signer.ok()) {
      return absl::DataLossError(
          absl::StrCat(key_path, ": ", signer.status().message()));
    }
    if (signer->name() != name) {
      return absl::InvalidArgumentError(
          absl::StrCat("node_name: ", name,
                       " differs from the ledger key's name ", signer->name(),
                       " in ", key_path, "; a ledger keeps its name for life"));
    }
    if (!std::filesystem::exists(vkey_path)) {
      FL_RETURN_IF_ERROR(storage::WriteFileDurably(
          vkey_path, signer->verifier().ToString() + "\n", 0644));
    }
    return signer;
  }
  FL_ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::Generate(name));
  FL_RETURN_IF_ERROR(
      storage::WriteFileDurably(key_path, signer.ToString() + "\n", 0600));
  FL_RETURN_IF_ERROR(storage::WriteFileDurably(
      vkey_path, signer.verifier().ToString() + "\n", 0644));
  return signer;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Node::Start(const NodeOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", options.data_dir,
                                            ": ", error.message()));
  }
  ::chmod(options.data_dir.c_str(), 0700);

  std::unique_ptr<Node> node(new Node());
  storage::StoreOptions store_options = options.store;
  store_options.path =
      (std::filesystem::path(options.data_dir) / "db").string();
  FL_ASSIGN_OR_RETURN(node->store_, storage::Store::Open(store_options));
  storage::EvidenceOptions evidence_options = options.evidence;
  evidence_options.path =
      (std::filesystem::path(options.data_dir) / "evidence").string();
  evidence_options.max_bytes = options.limits.max_evidence_bytes;
  evidence_options.accept = AcceptEvidence;
  FL_ASSIGN_OR_RETURN(node->evidence_,
                      storage::EvidenceStore::Open(evidence_options));
  node->uploads_ =
      std::make_unique<EvidenceUploads>(*node->evidence_, options.uploads);

  const std::string token_path =
      (std::filesystem::path(options.data_dir) / "admin.token").string();
  if (!std::filesystem::exists(token_path)) {
    std::string token;
    FL_RETURN_IF_ERROR(node->store_->Run([&](Txn& txn) {
      FL_ASSIGN_OR_RETURN(token, CreateAdminToken(txn));
      return absl::OkStatus();
    }));
    FL_RETURN_IF_ERROR(
        storage::WriteFileDurably(token_path, token + "\n", 0600));
    node->created_admin_token_ = true;
  }

  if (store_options.ledger) {
    FL_ASSIGN_OR_RETURN(
        NoteSigner signer,
        LoadOrCreateLedgerKey(options.data_dir, options.node_name));
    FL_ASSIGN_OR_RETURN(node->checkpointer_,
                        Checkpointer::Start(*node->store_, signer,
                                            options.checkpoint_interval));
  }

  node->field_sync_ = std::make_unique<FieldSyncService>(
      *node->store_, options.limits, *node->uploads_, *node->evidence_);
  node->admin_ = std::make_unique<AdminService>(*node->store_, options.limits);
  node->reports_ = std::make_unique<ReportsService>(*node->store_);
  node->supervision_ = std::make_unique<SupervisionService>(
      *node->store_, options.limits, *node->evidence_);
  if (node->checkpointer_ != nullptr) {
    node->ledger_ =
        std::make_unique<LedgerService>(*node->store_, *node->checkpointer_);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                           &node->port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.RegisterService(node->field_sync_.get());
  builder.RegisterService(node->admin_.get());
  builder.RegisterService(node->supervision_.get());
  builder.RegisterService(node->reports_.get());
  if (node->ledger_ != nullptr) builder.RegisterService(node->ledger_.get());
  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || node->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  return node;
}

Node::~Node() { Shutdown(); }

std::shared_ptr<grpc::Channel> Node::InProcessChannel() {
  return server_->InProcessChannel(grpc::ChannelArguments());
}

void Node::Shutdown(absl::Duration grace) {
  if (server_ != nullptr) {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
    server_.reset();
  }
  checkpointer_.reset();
  uploads_.reset();
  evidence_.reset();
  store_.reset();
}

}  // namespace fieldledger::server
