#include "core/packed_leaves.h"

#include <cstdint>

namespace fieldledger {

void AppendPackedLeaf(std::string& out, absl::string_view leaf) {
  uint64_t n = leaf.size();
  for (; n >= 0x80; n >>= 7) out.push_back(static_cast<char>(n | 0x80));
  out.push_back(static_cast<char>(n));
  out.append(leaf.data(), leaf.size());
}

bool PackedLeaves::Next(absl::string_view& leaf) {
  if (rest_.empty() || malformed_) return false;
  uint64_t length = 0;
  size_t used = 0;
  for (int shift = 0;; shift += 7) {
    if (used == rest_.size() || shift > 63) {
      malformed_ = true;
      return false;
    }
    const auto byte = static_cast<uint8_t>(rest_[used++]);
    length |= uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) break;
  }
  if (length > rest_.size() - used) {
    malformed_ = true;
    return false;
  }
  leaf = rest_.substr(used, length);
  rest_.remove_prefix(used + length);
  return true;
}

}  // namespace fieldledger
