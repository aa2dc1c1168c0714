#include "server/evidence_download.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/case.h"
#include "core/status_macros.h"
#include "server/grpc_status.h"

namespace fieldledger::server {

EvidenceDownload::EvidenceDownload(storage::EvidenceStore& store,
                                   std::string sha256)
    : store_(store), sha256_(std::move(sha256)) {
  absl::StatusOr<std::optional<storage::UploadState>> state =
      store_.Status(sha256_);
  if (!state.ok()) {
    Finish(ToGrpc(state.status()));
    return;
  }
  if (!*state || !(*state)->complete) {
    Finish(ToGrpc(absl::NotFoundError(absl::StrCat(
        "sha256: evidence ", sha256_, " is not complete on this node"))));
    return;
  }
  size_ = (*state)->size;
  message_.set_size(size_);
  message_.set_media_type((*state)->media_type);
  Next();
}

void EvidenceDownload::OnWriteDone(bool ok) {
  if (!ok) {  // the client went away
    Finish(grpc::Status::CANCELLED);
    return;
  }
  message_.clear_size();
  message_.clear_media_type();
  Next();
}

void EvidenceDownload::Next() {
  if (offset_ >= size_) {
    Finish(grpc::Status::OK);
    return;
  }
  std::string* data = message_.mutable_data();
  data->clear();
  const absl::Status read =
      store_.Read(sha256_, offset_, [&](absl::string_view bytes) {
        const size_t take =
            std::min(bytes.size(), kDownloadChunkBytes - data->size());
        data->append(bytes.data(), take);
        return data->size() < kDownloadChunkBytes;
      });
  if (!read.ok()) {
    Finish(ToGrpc(read));
    return;
  }
  if (data->empty()) {
    Finish(ToGrpc(absl::DataLossError(absl::StrCat(
        "evidence ", sha256_, " ends at ", offset_, " of ", size_))));
    return;
  }
  message_.set_offset(offset_);
  offset_ += data->size();
  StartWrite(&message_);
}

absl::StatusOr<bool> IsComplete(storage::EvidenceStore& store,
                                absl::string_view sha256) {
  FL_ASSIGN_OR_RETURN(std::optional<storage::UploadState> state,
                      store.Status(sha256));
  return state.has_value() && state->complete;
}

absl::Status MarkEvidence(storage::EvidenceStore& store, v1::Case& c) {
  return MarkEvidenceState(
      c, [&](absl::string_view sha256) { return IsComplete(store, sha256); });
}

absl::Status MarkEvidence(storage::EvidenceStore& store,
                          v1::PullResponse& reply) {
  for (v1::Change& change : *reply.mutable_changes()) {
    if (!change.has_finding()) continue;
    v1::FindingUpdate& update = *change.mutable_finding();
    update.set_evidence_pending(false);
    for (const v1::EvidenceRef& ref : update.finding().evidence()) {
      FL_ASSIGN_OR_RETURN(const bool complete, IsComplete(store, ref.sha256()));
      if (!complete) update.set_evidence_pending(true);
    }
  }
  return absl::OkStatus();
}

}  // namespace fieldledger::server
