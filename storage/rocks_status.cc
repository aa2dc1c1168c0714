#include "storage/rocks_status.h"

#include <string>

namespace fieldledger::storage {

absl::Status ToStatus(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const std::string text = "rocksdb: " + s.ToString();
  if (s.IsNotFound()) return absl::NotFoundError(text);
  if (s.IsCorruption()) return absl::DataLossError(text);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) {
    return absl::UnavailableError(text);
  }
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(text);
  return absl::InternalError(text);
}

}  // namespace fieldledger::storage
