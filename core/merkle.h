// RFC 6962 / RFC 9162 Merkle tree math for the ledger: hashes, roots,
// inclusion and consistency proofs and their verification. Pure: no I/O.
//
// The store keeps the hashes of *complete* subtrees only. Node (level, index)
// is the hash of leaves [index * 2^level, (index + 1) * 2^level); level 0 is
// the leaf hash. Roots and proofs are composed from those nodes with
// O(log n) reads through a SubtreeHashReader, never by rehashing leaves.
//
//   merkle::MemorySubtreeStore store;
//   for (const std::string& entry : entries) {
//     FL_RETURN_IF_ERROR(store.Append(merkle::HashLeaf(entry)).status());
//   }
//   FL_ASSIGN_OR_RETURN(merkle::Hash root, merkle::RootHash(store.size(),
//   store)); FL_ASSIGN_OR_RETURN(std::vector<merkle::Hash> proof,
//                       merkle::InclusionProof(3, store.size(), store));
//   FL_RETURN_IF_ERROR(merkle::VerifyInclusion(3, store.size(),
//                                              merkle::HashLeaf(entries[3]),
//                                              proof, root));
//
// Appending (storage does this in the batch of the event):
//
//   FL_ASSIGN_OR_RETURN(std::vector<merkle::SubtreeNode> nodes,
//                       merkle::CompletedSubtrees(n, leaf_hash, reader));
//   for (const auto& node : nodes) batch.Put(node.level, node.index,
//   node.hash);
//
// Thread safety: the free functions are thread-safe; they touch no shared
// state except through the reader they are given, which is used from the
// calling thread only. MemorySubtreeStore and RootBuilder are not
// thread-safe: one thread at a time, or external locking.
#ifndef FIELDLEDGER_CORE_MERKLE_H_
#define FIELDLEDGER_CORE_MERKLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace fieldledger::merkle {

inline constexpr size_t kHashSize = 32;

// A SHA-256 value: a leaf hash, a node hash or a root.
using Hash = std::array<uint8_t, kHashSize>;

// The 32 raw bytes of `hash`.
std::string HashToBytes(const Hash& hash);

// `bytes` as a Hash; InvalidArgument unless it is exactly 32 bytes.
absl::StatusOr<Hash> HashFromBytes(absl::string_view bytes);

// Lower-case hex of `hash`, for messages and tests.
std::string HashToHex(const Hash& hash);

// Root of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();

// SHA-256(0x00 || leaf).
Hash HashLeaf(absl::string_view leaf);

// SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);

// A complete subtree: the hash of leaves [index << level, (index+1) << level).
struct SubtreeNode {
  int level = 0;
  uint64_t index = 0;
  Hash hash{};

  friend bool operator==(const SubtreeNode& a, const SubtreeNode& b) {
    return a.level == b.level && a.index == b.index && a.hash == b.hash;
  }
};

// Where complete-subtree hashes come from: storage implements it over
// RocksDB (including the pending batch), MemorySubtreeStore in memory.
class SubtreeHashReader {
 public:
  virtual ~SubtreeHashReader() = default;

  // The hash of complete subtree (level, index). NotFound when that subtree
  // is not (yet) stored; any other error is passed through unchanged by the
  // functions below.
  virtual absl::StatusOr<Hash> Get(int level, uint64_t index) = 0;
};

// The nodes that become complete when leaf `leaf_index` (0-based) with hash
// `leaf_hash` is appended to a tree of `leaf_index` leaves: level 0 (the leaf
// itself), then every level k where 2^k divides leaf_index + 1, in order of
// level. Reads the left sibling of each through `reader` (one read per level
// above 0; amortized one per leaf). Nothing is written: the caller stores
// the returned nodes. Errors: whatever `reader` returns for a missing left
// sibling (the tree does not have `leaf_index` leaves yet).
absl::StatusOr<std::vector<SubtreeNode>> CompletedSubtrees(
    uint64_t leaf_index, const Hash& leaf_hash, SubtreeHashReader& reader);

// The root of the tree of the first `tree_size` leaves; EmptyRoot() for 0.
// At most 64 reads (one per set bit of tree_size).
absl::StatusOr<Hash> RootHash(uint64_t tree_size, SubtreeHashReader& reader);

// The RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf `leaf_index` in
// the tree of `tree_size` leaves, from the leaf's sibling up to the root's
// child. InvalidArgument unless leaf_index < tree_size. O(log n) reads.
absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t leaf_index,
                                                 uint64_t tree_size,
                                                 SubtreeHashReader& reader);

// The RFC 9162 §2.1.4.1 consistency proof between the trees of `size1` and
// `size2` leaves. Empty when size1 is 0 or size1 == size2. InvalidArgument
// when size1 > size2. O(log n) reads.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                   uint64_t size2,
                                                   SubtreeHashReader& reader);

// RFC 9162 §2.1.3.2: OK when `proof` shows that the leaf with hash
// `leaf_hash` is at `leaf_index` in the tree of `tree_size` leaves whose root
// is `root`. Otherwise InvalidArgument saying why (index out of range, proof
// too short or too long, root mismatch with both hashes in hex).
absl::Status VerifyInclusion(uint64_t leaf_index, uint64_t tree_size,
                             const Hash& leaf_hash,
                             absl::Span<const Hash> proof, const Hash& root);

// The root that `proof` implies for `leaf_hash` at `leaf_index` in a tree of
// `tree_size` leaves; InvalidArgument when the proof has the wrong length.
absl::StatusOr<Hash> RootFromInclusionProof(uint64_t leaf_index,
                                            uint64_t tree_size,
                                            const Hash& leaf_hash,
                                            absl::Span<const Hash> proof);

// RFC 9162 §2.1.4.2: OK when `proof` shows that the tree of `size1` leaves
// with root `root1` is a prefix of the tree of `size2` leaves with root
// `root2`. Edge cases: size1 == size2 needs an empty proof and root1 ==
// root2; size1 == 0 needs an empty proof and root1 == EmptyRoot(). Otherwise
// InvalidArgument saying why.
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const Hash& root1, const Hash& root2,
                               absl::Span<const Hash> proof);

// The root of a tree fed leaf by leaf, in O(log n) memory: for `ledger
// audit`, which recomputes the whole tree from the entries. Keeps one hash
// per set bit of size() (a compact range), so appending is amortized two
// SHA-256 calls.
class RootBuilder {
 public:
  RootBuilder() = default;

  // Appends a leaf by its bytes (hashed with HashLeaf) or by its hash.
  void AppendLeaf(absl::string_view leaf);
  void AppendLeafHash(const Hash& leaf_hash);

  // Number of leaves appended so far.
  uint64_t size() const { return size_; }

  // The root of the size() leaves so far; EmptyRoot() when there are none.
  Hash Root() const;

 private:
  uint64_t size_ = 0;
  // The complete subtrees of the compact range [0, size_), largest (leftmost)
  // first: one per set bit of size_.
  std::vector<Hash> peaks_;
};

// An in-memory store of complete subtrees, for tests, benchmarks and
// offline tools: what storage keeps in RocksDB, in vectors.
class MemorySubtreeStore final : public SubtreeHashReader {
 public:
  MemorySubtreeStore() = default;

  // Appends a leaf by its hash (CompletedSubtrees, then stores the nodes)
  // and returns its index.
  absl::StatusOr<uint64_t> Append(const Hash& leaf_hash);

  // Number of leaves appended.
  uint64_t size() const { return size_; }

  // NotFound unless (level, index) is a complete subtree of size() leaves.
  absl::StatusOr<Hash> Get(int level, uint64_t index) override;

  // Number of Get calls so far, to check read counts in tests.
  uint64_t reads() const { return reads_; }

 private:
  uint64_t size_ = 0;
  uint64_t reads_ = 0;
  std::vector<std::vector<Hash>> levels_;  // levels_[level][index]
};

}  // namespace fieldledger::merkle

#endif  // FIELDLEDGER_CORE_MERKLE_H_
