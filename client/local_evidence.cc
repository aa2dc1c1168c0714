#include "client/local_evidence.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/media.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/validation.h"
#include "storage/files.h"

namespace fieldledger::client {

absl::string_view MediaTypeByName(absl::string_view path) {
  static constexpr std::pair<absl::string_view, absl::string_view> kByExt[] = {
      {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
      {".png", "image/png"},       {".heic", "image/heic"},
      {".m4a", "audio/mp4"},       {".mp3", "audio/mpeg"},
      {".wav", "audio/wav"},       {".amr", "audio/amr"},
      {".mp4", "video/mp4"},       {".mov", "video/quicktime"},
      {".pdf", "application/pdf"}, {".txt", "text/plain"},
  };
  const std::string ext = absl::AsciiStrToLower(
      std::filesystem::path(std::string(path)).extension().string());
  for (const auto& [known, type] : kByExt) {
    if (ext == known) return type;
  }
  return kMediaTypeOther;
}

absl::StatusOr<LocalEvidence::Prepared> LocalEvidence::Prepare(
    const std::string& path, const Limits& limits) const {
  absl::StatusOr<std::string> raw = storage::ReadWholeFile(path);
  if (!raw.ok()) {
    return absl::NotFoundError(
        absl::StrCat("evidence ", path, ": ", raw.status().message()));
  }
  absl::StatusOr<std::string> stripped = StripMetadata(*raw);
  if (!stripped.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("evidence ", path, ": ", stripped.status().message()));
  }
  if (stripped->empty() || stripped->size() > limits.max_evidence_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evidence ", path, ": must be 1 to ", limits.max_evidence_bytes,
        " bytes, got ", stripped->size()));
  }
  Prepared out;
  absl::string_view type = DetectMediaType(*stripped);
  if (type == kMediaTypeOther) type = MediaTypeByName(path);
  out.ref.set_sha256(absl::BytesToHexString(Sha256(*stripped)));
  out.ref.set_media_type(std::string(type));
  out.ref.set_size_bytes(stripped->size());
  out.bytes = *std::move(stripped);
  return out;
}

std::string LocalEvidence::PathOf(absl::string_view sha256) const {
  return (std::filesystem::path(dir_) / std::string(sha256)).string();
}

absl::Status LocalEvidence::Keep(const Prepared& prepared) const {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir_, ": ", error.message()));
  }
  return storage::WriteFileDurably(PathOf(prepared.ref.sha256()),
                                   prepared.bytes, 0600);
}

bool LocalEvidence::Has(absl::string_view sha256) const {
  std::error_code error;
  return std::filesystem::exists(PathOf(sha256), error);
}

absl::StatusOr<std::string> LocalEvidence::Read(
    absl::string_view sha256) const {
  FL_ASSIGN_OR_RETURN(std::string bytes,
                      storage::ReadWholeFile(PathOf(sha256)));
  if (absl::BytesToHexString(Sha256(bytes)) != sha256) {
    return absl::DataLossError(absl::StrCat(
        "evidence ", sha256, ": the copy in ", PathOf(sha256),
        " no longer hashes to its name (damaged); kept, not uploaded"));
  }
  return bytes;
}

absl::StatusOr<std::vector<std::string>> LocalEvidence::List() const {
  std::vector<std::string> names;
  std::error_code error;
  if (!std::filesystem::exists(dir_, error)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    if (IsSha256Hex(name)) names.push_back(name);
  }
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot list ", dir_, ": ", error.message()));
  }
  return names;
}

absl::Status LocalEvidence::Remove(absl::string_view sha256) const {
  std::error_code error;
  std::filesystem::remove(PathOf(sha256), error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot remove ", PathOf(sha256), ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace fieldledger::client
