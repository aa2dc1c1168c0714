// Test-only: opens a stopped store's RocksDB directly, as an intruder or an
// older fieldledgerd would see the files, with what RocksDB needs to read
// every family (the counters' merge operator).
//
//   WithRawDb(dir, [](rocksdb::DB* db, const auto& family) {
//     db->Put({}, family("ledger"), key, "tampered");
//   });
#ifndef FIELDLEDGER_STORAGE_RAW_DB_FOR_TEST_H_
#define FIELDLEDGER_STORAGE_RAW_DB_FOR_TEST_H_

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/counters.h"

namespace fieldledger::storage {

using RawFamily =
    std::function<rocksdb::ColumnFamilyHandle*(absl::string_view name)>;

// Calls fn(db, family) on the RocksDB in `dir`; family(name) is the handle
// of the family `name`, or null when there is none.
inline void WithRawDb(
    const std::string& dir,
    const std::function<void(rocksdb::DB*, const RawFamily&)>& fn) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies({}, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) {
    rocksdb::ColumnFamilyOptions options;
    // RocksDB cannot flush the counters' merge operands without it.
    if (n == "aggregates") options.merge_operator = NewCounterAddOperator();
    families.emplace_back(n, options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open({}, dir, families, &handles, &raw).ok());
  fn(raw, [&](absl::string_view name) -> rocksdb::ColumnFamilyHandle* {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? nullptr : handles[it - names.begin()];
  });
  for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
  delete raw;
}

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_RAW_DB_FOR_TEST_H_
