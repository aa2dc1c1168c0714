// Whole small files, written so that a crash leaves either the old state or
// the whole new file (never a torn one): admin.token, the ledger key, a
// device's evidence copies.
//
//   FL_RETURN_IF_ERROR(WriteFileDurably(dir + "/admin.token", token, 0600));
//   FL_ASSIGN_OR_RETURN(std::string token, ReadWholeFile(dir +
//   "/admin.token"));
//
// Thread-safe as the file system is: two writers of one path race.
#ifndef FIELDLEDGER_STORAGE_FILES_H_
#define FIELDLEDGER_STORAGE_FILES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldledger::storage {

// Writes `content` to `path` + ".tmp" with `mode`, fsyncs it, renames it to
// `path` and fsyncs the directory. INTERNAL naming the path and errno's
// text on failure.
absl::Status WriteFileDurably(const std::string& path,
                              absl::string_view content, mode_t mode);

// The whole content of `path`. NOT_FOUND when it does not exist, INTERNAL
// when it cannot be read.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_FILES_H_
