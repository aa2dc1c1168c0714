// The Ledger service (proto/fieldledger/v1/ledger.proto): checkpoints,
// proofs and entries of the node's Merkle log. Translation only: the tree
// is the store's, the checkpoints the Checkpointer's. Reads only; no
// handler waits on a disk sync.
#ifndef FIELDLEDGER_SERVER_LEDGER_SERVICE_H_
#define FIELDLEDGER_SERVER_LEDGER_SERVICE_H_

#include "fieldledger/v1/ledger.grpc.pb.h"
#include "server/checkpointer.h"
#include "storage/store.h"

namespace fieldledger::server {

// Most entries in one GetEntries reply, and about the most bytes (the
// reply stops after the entry that passes it; events are far smaller than
// the 4 MiB message limit).
inline constexpr uint32_t kMaxLedgerEntries = 10000;
inline constexpr size_t kMaxLedgerEntryBytes = 2 << 20;
// About the most packed leaf bytes in one StreamEntries message (a bigger
// leaf travels alone).
inline constexpr size_t kStreamEntriesMessageBytes = 1 << 20;

class LedgerService final : public v1::Ledger::CallbackService {
 public:
  LedgerService(storage::Store& store, Checkpointer& checkpointer)
      : store_(store), checkpointer_(checkpointer) {}

  grpc::ServerUnaryReactor* GetCheckpoint(
      grpc::CallbackServerContext* context,
      const v1::GetCheckpointRequest* request,
      v1::GetCheckpointResponse* reply) override;
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* context,
      const v1::GetInclusionProofRequest* request,
      v1::GetInclusionProofResponse* reply) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* context,
      const v1::GetConsistencyProofRequest* request,
      v1::GetConsistencyProofResponse* reply) override;
  grpc::ServerUnaryReactor* GetEntries(grpc::CallbackServerContext* context,
                                       const v1::GetEntriesRequest* request,
                                       v1::GetEntriesResponse* reply) override;
  grpc::ServerWriteReactor<v1::StreamEntriesResponse>* StreamEntries(
      grpc::CallbackServerContext* context,
      const v1::StreamEntriesRequest* request) override;

 private:
  storage::Store& store_;
  Checkpointer& checkpointer_;
};

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_LEDGER_SERVICE_H_
