// The one key codec: big-endian integers and length-prefixed strings, so
// that RocksDB's byte order is the order we scan in.
//
//   std::string key;
//   AppendString(key, "inspector/i-3f2a");   // varint length, then bytes
//   AppendUint64(key, seq);                  // 8 bytes, big-endian
//   absl::string_view in = key;
//   std::string audience; uint64_t seq;
//   bool ok = ConsumeString(in, audience) && ConsumeUint64(in, seq);
#ifndef FIELDLEDGER_STORAGE_KEY_CODEC_H_
#define FIELDLEDGER_STORAGE_KEY_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace fieldledger::storage {

void AppendUint64(std::string& out, uint64_t value);
// Strings up to 2^21 bytes: length as a 1-3 byte big-endian varint whose
// order matches the numeric order, so shorter strings sort first.
void AppendString(std::string& out, absl::string_view value);

// Each reads one item from the front of `in` and advances it; false (and
// `in` unspecified) when `in` does not start with a well-formed item.
bool ConsumeUint64(absl::string_view& in, uint64_t& value);
bool ConsumeString(absl::string_view& in, std::string& value);

// A key holding just `value`.
std::string Uint64Key(uint64_t value);

}  // namespace fieldledger::storage

#endif  // FIELDLEDGER_STORAGE_KEY_CODEC_H_
