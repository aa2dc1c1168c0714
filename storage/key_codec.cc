#include "storage/key_codec.h"

#include <cassert>

namespace fieldledger::storage {

void AppendUint64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(value >> shift));
  }
}

void AppendString(std::string& out, absl::string_view value) {
  const size_t n = value.size();
  assert(n < (size_t{1} << 21));
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else if (n < 0x4000) {
    out.push_back(static_cast<char>(0x80 | (n >> 8)));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(0xC0 | (n >> 16)));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  }
  out.append(value.data(), value.size());
}

bool ConsumeUint64(absl::string_view& in, uint64_t& value) {
  if (in.size() < 8) return false;
  value = 0;
  for (int i = 0; i < 8; ++i)
    value = (value << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(8);
  return true;
}

bool ConsumeString(absl::string_view& in, std::string& value) {
  if (in.empty()) return false;
  const auto first = static_cast<uint8_t>(in[0]);
  size_t header = first < 0x80 ? 1 : first < 0xC0 ? 2 : first < 0xE0 ? 3 : 0;
  if (header == 0 || in.size() < header) return false;
  size_t n = header == 1   ? first
             : header == 2 ? (first & 0x3F)
                           : (first & 0x1F);
  for (size_t i = 1; i < header; ++i)
    n = (n << 8) | static_cast<uint8_t>(in[i]);
  if (in.size() < header + n) return false;
  value.assign(in.data() + header, n);
  in.remove_prefix(header + n);
  return true;
}

std::string Uint64Key(uint64_t value) {
  std::string key;
  AppendUint64(key, value);
  return key;
}

}  // namespace fieldledger::storage
