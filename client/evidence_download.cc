#include "client/evidence_download.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/rpc.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "storage/files.h"

namespace fieldledger::client {
namespace {

// Streams the evidence into `part`; returns the size the node announced.
absl::StatusOr<uint64_t> Fetch(v1::FieldSync::StubInterface& stub,
                               absl::string_view token,
                               const std::string& sha256,
                               const std::string& case_id,
                               const std::string& part,
                               absl::Duration timeout) {
  std::ofstream out(part, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("cannot create ", part));
  grpc::ClientContext context;
  PrepareContext(context, token, timeout);
  v1::GetEvidenceRequest request;
  request.set_sha256(sha256);
  request.set_case_id(case_id);
  auto reader = stub.GetEvidence(&context, request);
  v1::EvidenceData message;
  uint64_t size = 0;
  uint64_t written = 0;
  bool out_of_order = false;
  while (reader->Read(&message)) {
    if (written == 0) size = message.size();
    if (message.offset() != written) {
      out_of_order = true;
      context.TryCancel();
      break;
    }
    out.write(message.data().data(),
              static_cast<std::streamsize>(message.data().size()));
    written += message.data().size();
  }
  const absl::Status status = FromGrpc(reader->Finish(), "GetEvidence");
  if (out_of_order) {
    return absl::DataLossError(
        absl::StrCat("evidence ", sha256,
                     ": the node sent bytes out of order at ", written));
  }
  FL_RETURN_IF_ERROR(status);
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", part));
  if (written != size) {
    return absl::DataLossError(absl::StrCat("evidence ", sha256, ": got ",
                                            written, " of ", size, " bytes"));
  }
  return size;
}

}  // namespace

absl::StatusOr<uint64_t> DownloadEvidence(v1::FieldSync::StubInterface& stub,
                                          absl::string_view token,
                                          const std::string& sha256,
                                          const std::string& case_id,
                                          const std::string& path,
                                          absl::Duration timeout) {
  const std::string part = path + ".part";
  absl::StatusOr<uint64_t> size =
      Fetch(stub, token, sha256, case_id, part, timeout);
  absl::StatusOr<std::string> bytes =
      size.ok() ? storage::ReadWholeFile(part) : size.status();
  if (bytes.ok() && absl::BytesToHexString(Sha256(*bytes)) != sha256) {
    bytes = absl::DataLossError(absl::StrCat(
        "evidence ", sha256, ": the bytes received hash to something else"));
  }
  if (bytes.ok() && std::rename(part.c_str(), path.c_str()) != 0) {
    bytes = absl::InternalError(absl::StrCat("cannot rename ", part));
  }
  if (!bytes.ok()) {
    std::remove(part.c_str());
    return bytes.status();
  }
  return *size;
}

}  // namespace fieldledger::client
