// LocalEvidence: the device's copies of the evidence it attached to
// findings and has not uploaded yet, one file per piece, named by the
// SHA-256 of its (stripped) bytes: <home>/evidence/<sha256>.
//
//   LocalEvidence local(home + "/evidence");
//   FL_ASSIGN_OR_RETURN(LocalEvidence::Prepared p,
//                       local.Prepare("IMG_0001.jpg", limits));
//   ... validate the finding with p.ref ...
//   FL_RETURN_IF_ERROR(local.Keep(p));          // durable before the mutation
//   ... after the node confirmed the upload complete:
//   FL_RETURN_IF_ERROR(local.Remove(p.ref.sha256()));
//
// A copy is removed only when the node holds the evidence complete, so an
// attached photo exists on the device or on the node at every moment.
// Thread-safe as the file system is.
#ifndef FIELDLEDGER_CLIENT_LOCAL_EVIDENCE_H_
#define FIELDLEDGER_CLIENT_LOCAL_EVIDENCE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/limits.h"
#include "fieldledger/v1/finding.pb.h"

namespace fieldledger::client {

namespace v1 = ::fieldledger::v1;

class LocalEvidence {
 public:
  explicit LocalEvidence(std::string dir) : dir_(std::move(dir)) {}

  // A file read, stripped of identifying metadata (core/media.h) and named.
  struct Prepared {
    v1::EvidenceRef ref;
    std::string bytes;
  };

  // Reads `path` and strips it; the media type comes from the content
  // (JPEG, PNG) or else the file name's extension, else
  // application/octet-stream. Writes nothing. Errors name the file:
  // NOT_FOUND "evidence <path>: ..." when unreadable, INVALID_ARGUMENT for
  // an empty file, one over limits.max_evidence_bytes, or a malformed JPEG
  // or PNG.
  absl::StatusOr<Prepared> Prepare(const std::string& path,
                                   const Limits& limits) const;

  // Stores `prepared` durably (creating the directory when missing).
  absl::Status Keep(const Prepared& prepared) const;

  // Whether a copy of `sha256` is on the device.
  bool Has(absl::string_view sha256) const;

  // The copy's bytes. NOT_FOUND when there is none; DATA_LOSS, and the copy
  // is kept, when they no longer hash to `sha256` (a damaged disk).
  absl::StatusOr<std::string> Read(absl::string_view sha256) const;

  // The names (sha256) of every copy on the device, in no particular order.
  absl::StatusOr<std::vector<std::string>> List() const;

  // Removes the copy; OK when there is none.
  absl::Status Remove(absl::string_view sha256) const;

 private:
  std::string PathOf(absl::string_view sha256) const;

  const std::string dir_;
};

// The media type a file name suggests ("clip.m4a" -> "audio/mp4"), or
// application/octet-stream.
absl::string_view MediaTypeByName(absl::string_view path);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_LOCAL_EVIDENCE_H_
