#include "client/evidence_upload.h"

#include <algorithm>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "client/rpc.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace fieldledger::client {
namespace {

// The node's durable offset of `sha256`: 0 when it has nothing.
absl::StatusOr<v1::UploadStatus> NodeStatus(v1::FieldSync::StubInterface& stub,
                                            absl::string_view token,
                                            const std::string& sha256,
                                            uint64_t size,
                                            absl::Duration timeout) {
  grpc::ClientContext context;
  PrepareContext(context, token, timeout);
  v1::GetUploadStatusRequest request;
  request.set_sha256(sha256);
  v1::UploadStatus reply;
  const absl::Status s = FromGrpc(
      stub.GetUploadStatus(&context, request, &reply), "GetUploadStatus");
  if (s.code() == absl::StatusCode::kNotFound) {
    reply.set_sha256(sha256);
    reply.set_size(size);
    return reply;
  }
  FL_RETURN_IF_ERROR(s);
  return reply;
}

// One stream from `from` to the end (or until the node finishes it).
absl::StatusOr<v1::UploadStatus> Stream(v1::FieldSync::StubInterface& stub,
                                        absl::string_view token,
                                        const std::string& sha256,
                                        absl::string_view media_type,
                                        absl::string_view bytes, uint64_t from,
                                        const UploadOptions& options) {
  grpc::ClientContext context;
  PrepareContext(context, token, options.stream_timeout);
  v1::UploadStatus reply;
  auto writer = stub.UploadEvidence(&context, &reply);
  v1::EvidenceChunk chunk;
  chunk.set_sha256(sha256);
  chunk.set_size(bytes.size());
  chunk.set_media_type(std::string(media_type));
  const size_t step = std::max<size_t>(options.chunk_bytes, 1);
  for (uint64_t at = from; at < bytes.size(); at += step) {
    chunk.set_offset(at);
    const absl::string_view data = bytes.substr(at, step);
    chunk.set_data(data.data(), data.size());
    if (!writer->Write(chunk)) break;  // the node finished: see Finish
    chunk.clear_sha256();
    chunk.clear_media_type();
    chunk.clear_size();
  }
  writer->WritesDone();
  FL_RETURN_IF_ERROR(FromGrpc(writer->Finish(), "UploadEvidence"));
  return reply;
}

}  // namespace

absl::StatusOr<v1::UploadStatus> UploadEvidence(
    v1::FieldSync::StubInterface& stub, absl::string_view token,
    absl::string_view media_type, absl::string_view bytes,
    const UploadOptions& options) {
  const std::string sha256 = absl::BytesToHexString(Sha256(bytes));
  std::mt19937_64 rng(std::random_device{}());
  absl::Status last;
  for (int attempt = 1; attempt <= std::max(1, options.max_attempts);
       ++attempt) {
    if (attempt > 1) {
      const absl::Duration wait = FullJitterBackoff(
          attempt - 1, options.initial_backoff, options.max_backoff, rng);
      if (wait > absl::ZeroDuration() && options.sleep) options.sleep(wait);
    }
    absl::StatusOr<v1::UploadStatus> status =
        NodeStatus(stub, token, sha256, bytes.size(), options.stream_timeout);
    if (status.ok() && !status->complete()) {
      status = Stream(stub, token, sha256, media_type, bytes,
                      status->received(), options);
    }
    if (status.ok()) {
      if (options.progress) options.progress(status->received(), bytes.size());
      if (status->complete()) return status;
      last = absl::UnavailableError(
          "UploadEvidence: the stream ended before the evidence was complete");
      continue;
    }
    last = status.status();
    // The node moved on meanwhile (an earlier stream's last chunk landed
    // late): ask again where it is.
    if (last.code() == absl::StatusCode::kFailedPrecondition) continue;
    if (!IsTransient(last.code())) return last;
  }
  return last;
}

}  // namespace fieldledger::client
