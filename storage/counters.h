// Report counters in RocksDB: the int64 add merge operator of the
// `aggregates` column family and the value encoding (8 bytes, little-endian,
// two's complement). Internal to storage/.
#ifndef FIELDLEDGER_STORAGE_COUNTERS_H_
#define FIELDLEDGER_STORAGE_COUNTERS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "rocksdb/merge_operator.h"

namespace fieldledger::storage {

std::string EncodeCounter(int64_t value);
// False when `bytes` is not 8 bytes long.
bool DecodeCounter(absl::string_view bytes, int64_t& value);

// Adds operands to the existing value; an unreadable operand or value counts
// as 0 (CheckDerivedState then reports the key).
std::shared_ptr<rocksdb::MergeOperator> NewCounterAddOperator();

// Where stored counters and the counters recomputed from the log differ: a
// key on one side only compares with 0, so a counter back at 0 and one
// never written are equal. At most `max_examples` descriptions
// ("<key>: stored 3, the events say 2"); `count` is every difference.
struct CounterDiff {
  uint64_t count = 0;
  std::vector<std::string> examples;
  // expected - stored, for each differing key.
  std::map<std::string, int64_t> corrections;
};
CounterDiff DiffCounters(const std::map<std::string, int64_t>& stored,
                         const std::map<std::string, int64_t>& expected,
                         size_t max_examples = 10);

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_COUNTERS_H_
