// The evidence side of reads: FieldSync.GetEvidence (a server-streaming
// download) and the "evidence pending" state that GetCase, ListCases and
// Pull compute from what the evidence store holds. Internal to server/.
//
//   return new EvidenceDownload(evidence, sha256);   // after the access check
//
// Thread-safety: the reactor is driven by gRPC (one callback at a time);
// the functions are pure over a thread-safe EvidenceStore.
#ifndef FIELDLEDGER_SERVER_EVIDENCE_DOWNLOAD_H_
#define FIELDLEDGER_SERVER_EVIDENCE_DOWNLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fieldledger/v1/case.pb.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "storage/evidence_store.h"

namespace fieldledger::server {

namespace v1 = ::fieldledger::v1;

// Bytes per GetEvidence message.
inline constexpr size_t kDownloadChunkBytes = 1 << 20;

// Streams complete evidence `sha256` from `store`, one chunk in flight at a
// time (each read when the previous write is done), then finishes. NOT_FOUND
// when the node does not hold it complete. Deletes itself when done.
class EvidenceDownload final
    : public grpc::ServerWriteReactor<v1::EvidenceData> {
 public:
  EvidenceDownload(storage::EvidenceStore& store, std::string sha256);
  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  // Writes the chunk at offset_, or finishes at the end or on an error.
  void Next();

  storage::EvidenceStore& store_;
  const std::string sha256_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  v1::EvidenceData message_;
};

// Whether the node holds all of `sha256`, verified.
absl::StatusOr<bool> IsComplete(storage::EvidenceStore& store,
                                absl::string_view sha256);

// Marks c.evidence and c.evidence_pending (MarkEvidenceState) from `store`.
absl::Status MarkEvidence(storage::EvidenceStore& store, v1::Case& c);

// Sets evidence_pending on each finding update of `reply`.
absl::Status MarkEvidence(storage::EvidenceStore& store,
                          v1::PullResponse& reply);

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_EVIDENCE_DOWNLOAD_H_
