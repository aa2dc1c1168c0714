// Conversion of rocksdb::Status to absl::Status. Internal to storage/.
#ifndef FIELDLEDGER_STORAGE_ROCKS_STATUS_H_
#define FIELDLEDGER_STORAGE_ROCKS_STATUS_H_

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace fieldledger::storage {

// NotFound -> NOT_FOUND, Corruption -> DATA_LOSS, Busy/TryAgain/TimedOut ->
// UNAVAILABLE, InvalidArgument -> INVALID_ARGUMENT, anything else ->
// INTERNAL; the message keeps RocksDB's text.
absl::Status ToStatus(const rocksdb::Status& s);

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_ROCKS_STATUS_H_
