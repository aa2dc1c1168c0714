// DownloadEvidence: fetches one piece of evidence with FieldSync.GetEvidence
// into a file, and keeps it only when its bytes hash to its name.
//
//   FL_ASSIGN_OR_RETURN(uint64_t bytes,
//       DownloadEvidence(*stub, token, sha256, case_id, "photo.jpg",
//                        absl::Minutes(10)));
//
// Thread-safe: stateless.
#ifndef FIELDLEDGER_CLIENT_EVIDENCE_DOWNLOAD_H_
#define FIELDLEDGER_CLIENT_EVIDENCE_DOWNLOAD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fieldledger/v1/sync.grpc.pb.h"

namespace fieldledger::client {

namespace v1 = ::fieldledger::v1;

// Streams evidence `sha256`, justified by case (or finding) `case_id`, into
// `path` + ".part", checks its SHA-256 and renames it to `path`; returns its
// size. On any error `path` is left as it was and the .part file removed:
// DATA_LOSS when the bytes do not hash to `sha256` (or run short of the
// announced size); the node's error otherwise (NOT_FOUND, PERMISSION_DENIED,
// ...); INTERNAL when the file cannot be written.
absl::StatusOr<uint64_t> DownloadEvidence(v1::FieldSync::StubInterface& stub,
                                          absl::string_view token,
                                          const std::string& sha256,
                                          const std::string& case_id,
                                          const std::string& path,
                                          absl::Duration timeout);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_EVIDENCE_DOWNLOAD_H_
