// EvidenceStore: photos, audio and documents, stored once per content and
// received in resumable pieces.
//
//   FL_ASSIGN_OR_RETURN(auto evidence,
//                       EvidenceStore::Open({.path = "./data/evidence"}));
//   FL_ASSIGN_OR_RETURN(auto writer, evidence->OpenWriter(
//                           sha256_hex, size, "image/jpeg", now));
//   while (!writer->state().complete) {   // from what the node durably has
//     const uint64_t at = writer->state().received;
//     FL_RETURN_IF_ERROR(writer->Append(at, NextChunk(at), now).status());
//   }                                     // or Commit() when cut short
//
// Evidence is named by the SHA-256 of its bytes (64 lower-case hex digits).
// An upload declares the size up front, then appends chunks strictly in
// order. A Writer (one uploader's session) appends without waiting for any
// sync: chunks bypass the WAL, and become durable when the store's
// background flushes (one per 16 MiB of chunks) move them to synced blob
// files; the Writer then records them as received. Commit and the last
// chunk wait for a flush of everything appended. The one-shot Append is
// durable when it returns. After a dropped connection or a crash the
// uploader continues from the durable `received` and sends no earlier byte
// again. The last chunk triggers the check of the whole content against its
// name (hashed as it arrives): a mismatch discards the upload, so bad bytes
// are never served as good.
// Content already complete is not stored again: Begin reports it complete at
// once.
//
// The evidence lives in a RocksDB of its own, apart from the event log:
// megabytes of photos must not pass through the WAL whose sync every Push
// waits for. Chunks go to blob files (integrated BlobDB).
//
// Thread-safe. Appends to one evidence are serialized: a Writer holds its
// evidence for its whole life, and Begin, Append and ExpirePartial wait for
// (or, ExpirePartial, skip) evidence a Writer holds; different evidence is
// written concurrently. A Writer is used by one thread at a time.
#ifndef FIELDLEDGER_STORAGE_EVIDENCE_STORE_H_
#define FIELDLEDGER_STORAGE_EVIDENCE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fieldledger::storage {

struct EvidenceOptions {
  // Directory of the evidence RocksDB; created when missing.
  std::string path;
  // Largest evidence accepted, in bytes.
  uint64_t max_bytes = 64 << 20;
  // Largest chunk one Append takes, in bytes.
  uint64_t max_chunk_bytes = 2 << 20;
  // Sync the WAL when recording what was received. Only benchmarks turn
  // this off.
  bool sync = true;
  // When set, evidence must pass it (after its hash) before it counts as
  // complete; an error discards the upload and is returned by the Append
  // that completed it. It sees the first 64 KiB (`head`) and may ask for the
  // whole content, which costs memory of its size, so only for the media types
  // that need it. The node refuses photos that still carry identifying metadata
  // this way.
  std::function<absl::Status(
      absl::string_view head,
      const std::function<absl::StatusOr<std::string>()>& content)>
      accept;
};

// What the node durably holds of one evidence.
struct UploadState {
  // Declared size in bytes.
  uint64_t size = 0;
  // Bytes durably received, from offset 0; equals `size` when complete.
  uint64_t received = 0;
  // The bytes are all here and hash to the evidence's name.
  bool complete = false;
  // As declared by the first uploader, e.g. "image/jpeg".
  std::string media_type;
};

class EvidenceStore {
 public:
  static absl::StatusOr<std::unique_ptr<EvidenceStore>> Open(
      const EvidenceOptions& options);
  ~EvidenceStore();

  EvidenceStore(const EvidenceStore&) = delete;
  EvidenceStore& operator=(const EvidenceStore&) = delete;

  // What the node has of `sha256`; nullopt when nothing.
  absl::StatusOr<std::optional<UploadState>> Status(absl::string_view sha256);

  // Starts an upload, or finds the one under way or complete. Errors:
  // INVALID_ARGUMENT for a malformed `sha256`, a `size` of 0 or over
  // max_bytes, an empty `media_type`, or a size that differs from the one
  // this evidence was begun with.
  absl::StatusOr<UploadState> Begin(absl::string_view sha256, uint64_t size,
                                    absl::string_view media_type,
                                    absl::Time now);

  // One uploader's session on one evidence (from OpenWriter); see the top of
  // this file.
  class Writer;

  // Begins `sha256` as Begin does (same errors) and opens a session on it
  // that starts at its durable `received`. FAILED_PRECONDITION when another
  // Writer holds it (never waits: the caller may serve other uploads on its
  // thread).
  absl::StatusOr<std::unique_ptr<Writer>> OpenWriter(
      absl::string_view sha256, uint64_t size, absl::string_view media_type,
      absl::Time now);

  // Appends `bytes` at `offset`, durably. Complete evidence ignores the
  // chunk and reports itself complete. Errors, each leaving the stored
  // state as it was: NOT_FOUND when no upload was begun; FAILED_PRECONDITION
  // when `offset` is not the received count (the message says where to
  // resume); OUT_OF_RANGE for a chunk that runs past the declared size;
  // INVALID_ARGUMENT for an empty or oversized chunk, and when the last
  // chunk completes bytes that do not hash to `sha256` (the upload is then
  // discarded); and whatever `accept` refuses (also discarded).
  absl::StatusOr<UploadState> Append(absl::string_view sha256, uint64_t offset,
                                     absl::string_view bytes, absl::Time now);

  // Calls `fn` with the bytes of complete evidence from `offset` on, in
  // order, a stored chunk (or its tail) at a time, until it returns false.
  // NOT_FOUND unless complete.
  absl::Status Read(absl::string_view sha256, uint64_t offset,
                    const std::function<bool(absl::string_view)>& fn);

  // Removes the uploads not complete and not appended to since `cutoff`;
  // returns how many.
  absl::StatusOr<int> ExpirePartial(absl::Time cutoff);

 private:
  class Impl;
  explicit EvidenceStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class EvidenceStore::Writer {
 public:
  // Releases the evidence. Bytes appended since the last Commit are not
  // durable: after a crash the upload resumes from the last Commit.
  ~Writer();

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // The evidence as this session has it: `received` counts every byte
  // appended, durable or not.
  const UploadState& state() const;
  // Bytes durable (what Status reports): at the session's start, its last
  // Commit, as far as background flushes got, or at completion.
  uint64_t durable() const;

  // Appends `bytes` at `offset` without waiting for a sync, and records as
  // durable what background flushes have made so; the chunk that completes
  // the evidence is checked against its name and `accept` and made durable
  // with everything before it. Errors as EvidenceStore::Append, with
  // `offset` checked against state().received. After an error that
  // discarded the upload, or a failed write, every call returns that error.
  absl::StatusOr<UploadState> Append(uint64_t offset, absl::string_view bytes,
                                     absl::Time now);

  // Makes every byte appended so far durable (waits for a flush of the
  // chunks) and records `now` as the upload's last activity; returns the
  // durable state. Does nothing when all is durable already.
  absl::StatusOr<UploadState> Commit(absl::Time now);

 private:
  friend class EvidenceStore;
  struct Session;
  explicit Writer(std::unique_ptr<Session> session);
  std::unique_ptr<Session> session_;
};

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_EVIDENCE_STORE_H_
