// CRC32C in hardware for RocksDB.
//
// Debian's librocksdb is built for any x86-64 CPU, so it computes the
// CRC32C of WAL records, blocks and blob records in software, at about
// 1 GB/s: during an evidence upload that was a quarter of the node's CPU.
// storage/crc32c.cc defines rocksdb::crc32c::Extend with the SSE4.2
// instruction (about 10 GB/s, the same checksums). Linked into an
// executable, that definition takes the place of the library's own, which
// librocksdb calls through its PLT; a CPU without SSE4.2 gets the library's.
#ifndef FIELDLEDGER_STORAGE_CRC32C_H_
#define FIELDLEDGER_STORAGE_CRC32C_H_

namespace fieldledger::storage {

// Whether RocksDB's CRC32C runs in hardware in this process. Calling it
// also links the replacement into the executable.
bool HardwareCrc32cInUse();

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_CRC32C_H_
