// Packed leaves: ledger leaves back to back in one byte string, each a
// base-128 varint length (as protobuf encodes one) followed by that many
// bytes. Ledger.StreamEntries carries leaves this way so that a leaf costs
// no protobuf field of its own.
//
//   std::string packed;
//   AppendPackedLeaf(packed, leaf);
//   ...
//   PackedLeaves leaves(packed);
//   for (absl::string_view leaf; leaves.Next(leaf);) builder.AppendLeaf(leaf);
//   if (leaves.malformed()) ...
//
// Thread-safety: PackedLeaves is one reader for one thread.
#ifndef FIELDLEDGER_CORE_PACKED_LEAVES_H_
#define FIELDLEDGER_CORE_PACKED_LEAVES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fieldledger {

// Appends one record (the varint length of `leaf`, then `leaf`) to `out`.
void AppendPackedLeaf(std::string& out, absl::string_view leaf);

// Reads the records of a packed string in order. Views point into it.
class PackedLeaves {
 public:
  explicit PackedLeaves(absl::string_view packed) : rest_(packed) {}

  // Sets `leaf` to the next record's bytes and returns true; false at the
  // end, or when what is left is not a whole record (then malformed()).
  bool Next(absl::string_view& leaf);

  // Whether reading stopped at bytes that are not a whole record: a length
  // that is cut off, longer than 10 bytes, or past the end of the string.
  bool malformed() const { return malformed_; }

 private:
  absl::string_view rest_;
  bool malformed_ = false;
};

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_PACKED_LEAVES_H_
