#include "core/merkle.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/numeric/bits.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace fieldledger::merkle {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// One SHA-256 context per thread, reused for every hash: the digest is
// fetched once and EVP_DigestInit_ex2 on a context that already holds it
// only resets the state, so a hash costs no allocation.
class Sha256 {
 public:
  Sha256()
      : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    // Without SHA-256 there is no ledger to keep: stop.
    if (md_ == nullptr || ctx_ == nullptr) std::abort();
  }
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // SHA-256(prefix || a || b); `prefix` < 0 means no prefix byte.
  Hash Sum(int prefix, const void* a, size_t a_size, const void* b,
           size_t b_size) {
    Hash out;
    const auto p = static_cast<unsigned char>(prefix);
    unsigned int out_size = 0;
    if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 ||
        (prefix >= 0 && EVP_DigestUpdate(ctx_, &p, 1) != 1) ||
        (a_size > 0 && EVP_DigestUpdate(ctx_, a, a_size) != 1) ||
        (b_size > 0 && EVP_DigestUpdate(ctx_, b, b_size) != 1) ||
        EVP_DigestFinal_ex(ctx_, out.data(), &out_size) != 1 ||
        out_size != kHashSize) {
      std::abort();
    }
    return out;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

Sha256& ThreadSha256() {
  thread_local Sha256 sha256;
  return sha256;
}

std::string NodeName(int level, uint64_t index) {
  return absl::StrCat("(level ", level, ", index ", index, ")");
}

// The hash of leaves [begin, end) as RFC 6962 defines it (MTH), composed
// from the complete subtrees of its binary decomposition. Requires
// begin < end and begin a multiple of a power of two >= end - begin, so
// that the decomposition is one subtree per set bit of end - begin, largest
// first, and folding them from the right is exactly MTH's split at the
// largest power of two. One read per set bit.
absl::StatusOr<Hash> RangeHash(uint64_t begin, uint64_t end,
                               SubtreeHashReader& reader) {
  const uint64_t size = end - begin;
  Hash parts[64];
  int count = 0;
  uint64_t pos = begin;
  for (int level = 63; level >= 0; --level) {
    if (((size >> level) & 1) == 0) continue;
    FL_ASSIGN_OR_RETURN(parts[count], reader.Get(level, pos >> level));
    ++count;
    pos += uint64_t{1} << level;
  }
  Hash hash = parts[count - 1];
  for (int i = count - 2; i >= 0; --i) hash = HashChildren(parts[i], hash);
  return hash;
}

// Appends to `proof` the path from complete node (level, index) to the root
// of the tree of `tree_size` leaves: the inclusion proof of that node.
//
// Let `last` be the ancestor at `level` of the last leaf. Up to the level
// where the paths to the node and to `last` meet (`inner` levels up), every
// sibling is complete except the topmost, which covers [begin, tree_size)
// and may be incomplete: it is composed from complete subtrees. Above that,
// the node's ancestors are on the right edge: they have a left sibling when
// they are right children, and no right sibling.
absl::Status AppendPath(int level, uint64_t index, uint64_t tree_size,
                        SubtreeHashReader& reader, std::vector<Hash>* proof) {
  const uint64_t last = (tree_size - 1) >> level;
  const int inner = static_cast<int>(absl::bit_width(index ^ last));
  for (int i = 0; i + 1 < inner; ++i) {
    FL_ASSIGN_OR_RETURN(Hash sibling, reader.Get(level + i, (index >> i) ^ 1));
    proof->push_back(sibling);
  }
  if (inner > 0) {
    const uint64_t begin = ((index >> (inner - 1)) + 1) << (level + inner - 1);
    FL_ASSIGN_OR_RETURN(Hash ragged, RangeHash(begin, tree_size, reader));
    proof->push_back(ragged);
  }
  for (int i = inner; level + i < 64; ++i) {
    const uint64_t ancestor = index >> i;
    if (ancestor == 0) break;
    if (ancestor & 1) {
      FL_ASSIGN_OR_RETURN(Hash sibling, reader.Get(level + i, ancestor - 1));
      proof->push_back(sibling);
    }
  }
  return absl::OkStatus();
}

// Length of the inclusion proof of node (level, index) in a tree of
// `tree_size` leaves, as AppendPath produces it.
size_t PathLength(int level, uint64_t index, uint64_t tree_size) {
  const uint64_t last = (tree_size - 1) >> level;
  const int inner = static_cast<int>(absl::bit_width(index ^ last));
  return static_cast<size_t>(inner) +
         static_cast<size_t>(absl::popcount(inner < 64 ? index >> inner : 0));
}

absl::Status RootMismatch(absl::string_view what, const Hash& computed,
                          const Hash& expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": the proof leads to ", HashToHex(computed),
                   ", expected ", HashToHex(expected)));
}

}  // namespace

std::string HashToBytes(const Hash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

absl::StatusOr<Hash> HashFromBytes(absl::string_view bytes) {
  if (bytes.size() != kHashSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a hash is ", kHashSize, " bytes, got ", bytes.size()));
  }
  Hash hash;
  std::memcpy(hash.data(), bytes.data(), kHashSize);
  return hash;
}

std::string HashToHex(const Hash& hash) {
  return absl::BytesToHexString(HashToBytes(hash));
}

Hash EmptyRoot() { return ThreadSha256().Sum(-1, nullptr, 0, nullptr, 0); }

Hash HashLeaf(absl::string_view leaf) {
  return ThreadSha256().Sum(kLeafPrefix, leaf.data(), leaf.size(), nullptr, 0);
}

Hash HashChildren(const Hash& left, const Hash& right) {
  return ThreadSha256().Sum(kNodePrefix, left.data(), left.size(), right.data(),
                            right.size());
}

absl::StatusOr<std::vector<SubtreeNode>> CompletedSubtrees(
    uint64_t leaf_index, const Hash& leaf_hash, SubtreeHashReader& reader) {
  if (leaf_index == UINT64_MAX) {
    return absl::InvalidArgumentError(
        "leaf index 2^64-1: the tree size would overflow");
  }
  std::vector<SubtreeNode> nodes;
  nodes.push_back({0, leaf_index, leaf_hash});
  Hash hash = leaf_hash;
  uint64_t index = leaf_index;
  int level = 0;
  // A right child completes its parent.
  while (index & 1) {
    absl::StatusOr<Hash> left = reader.Get(level, index - 1);
    if (!left.ok()) {
      return absl::Status(
          left.status().code(),
          absl::StrCat("appending leaf ", leaf_index, ": left sibling ",
                       NodeName(level, index - 1), ": ",
                       left.status().message()));
    }
    hash = HashChildren(*left, hash);
    index >>= 1;
    ++level;
    nodes.push_back({level, index, hash});
  }
  return nodes;
}

absl::StatusOr<Hash> RootHash(uint64_t tree_size, SubtreeHashReader& reader) {
  if (tree_size == 0) return EmptyRoot();
  return RangeHash(0, tree_size, reader);
}

absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t leaf_index,
                                                 uint64_t tree_size,
                                                 SubtreeHashReader& reader) {
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: leaf index ", leaf_index,
                     " is not below tree size ", tree_size));
  }
  std::vector<Hash> proof;
  proof.reserve(PathLength(0, leaf_index, tree_size));
  FL_RETURN_IF_ERROR(AppendPath(0, leaf_index, tree_size, reader, &proof));
  return proof;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                   uint64_t size2,
                                                   SubtreeHashReader& reader) {
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof: first size ", size1,
                     " is larger than second size ", size2));
  }
  std::vector<Hash> proof;
  if (size1 == 0 || size1 == size2) return proof;
  // The largest complete subtree that ends at size1: the proof is its hash
  // (unless it is the whole first tree, which the verifier has as root1)
  // and then its inclusion proof in the second tree.
  const int level = absl::countr_zero(size1);
  const uint64_t index = (size1 - 1) >> level;
  if (index != 0) {
    FL_ASSIGN_OR_RETURN(Hash node, reader.Get(level, index));
    proof.push_back(node);
  }
  FL_RETURN_IF_ERROR(AppendPath(level, index, size2, reader, &proof));
  return proof;
}

absl::StatusOr<Hash> RootFromInclusionProof(uint64_t leaf_index,
                                            uint64_t tree_size,
                                            const Hash& leaf_hash,
                                            absl::Span<const Hash> proof) {
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: leaf index ", leaf_index,
                     " is not below tree size ", tree_size));
  }
  const size_t want = PathLength(0, leaf_index, tree_size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion proof: has ", proof.size(), " hashes, leaf ", leaf_index,
        " of a tree of size ", tree_size, " needs ", want));
  }
  // RFC 9162 §2.1.3.2, steps 2-5.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) {
      return absl::InvalidArgumentError(
          "inclusion proof: more hashes than levels");
    }
    if ((fn & 1) || fn == sn) {
      r = HashChildren(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(
        "inclusion proof: fewer hashes than levels");
  }
  return r;
}

absl::Status VerifyInclusion(uint64_t leaf_index, uint64_t tree_size,
                             const Hash& leaf_hash,
                             absl::Span<const Hash> proof, const Hash& root) {
  FL_ASSIGN_OR_RETURN(
      Hash computed,
      RootFromInclusionProof(leaf_index, tree_size, leaf_hash, proof));
  if (computed != root) {
    return RootMismatch(absl::StrCat("inclusion proof of leaf ", leaf_index,
                                     " in tree size ", tree_size),
                        computed, root);
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const Hash& root1, const Hash& root2,
                               absl::Span<const Hash> proof) {
  const std::string what =
      absl::StrCat("consistency proof from size ", size1, " to ", size2);
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the first tree is larger than the second"));
  }
  if (size1 == 0 || size1 == size2) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": must be empty, has ", proof.size(), " hashes"));
    }
    if (size1 == 0 && root1 != EmptyRoot()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": the first root is not the empty tree's root, got ",
          HashToHex(root1)));
    }
    if (size1 == size2 && root1 != root2) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": same size but different roots ",
                       HashToHex(root1), " and ", HashToHex(root2)));
    }
    return absl::OkStatus();
  }
  const int level = absl::countr_zero(size1);
  const uint64_t index = (size1 - 1) >> level;
  const size_t want = (index != 0 ? 1 : 0) + PathLength(level, index, size2);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": has ", proof.size(), " hashes, needs ", want));
  }
  // RFC 9162 §2.1.4.2, steps 2-8; a power-of-two size1 starts from root1
  // (step 2 prepends it) instead of the proof's first hash.
  const bool seed_is_root1 = index == 0;
  const Hash& seed = seed_is_root1 ? root1 : proof[0];
  absl::Span<const Hash> rest = seed_is_root1 ? proof : proof.subspan(1);
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = seed;
  Hash sr = seed;
  for (const Hash& c : rest) {
    if (sn == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": more hashes than levels"));
    }
    if ((fn & 1) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": fewer hashes than levels"));
  }
  if (fr != root1) {
    return RootMismatch(absl::StrCat(what, ", first root"), fr, root1);
  }
  if (sr != root2) {
    return RootMismatch(absl::StrCat(what, ", second root"), sr, root2);
  }
  return absl::OkStatus();
}

void RootBuilder::AppendLeaf(absl::string_view leaf) {
  AppendLeafHash(HashLeaf(leaf));
}

void RootBuilder::AppendLeafHash(const Hash& leaf_hash) {
  Hash hash = leaf_hash;
  for (uint64_t n = size_; n & 1; n >>= 1) {
    hash = HashChildren(peaks_.back(), hash);
    peaks_.pop_back();
  }
  peaks_.push_back(hash);
  ++size_;
}

Hash RootBuilder::Root() const {
  if (peaks_.empty()) return EmptyRoot();
  Hash hash = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) {
    hash = HashChildren(peaks_[i], hash);
  }
  return hash;
}

absl::StatusOr<uint64_t> MemorySubtreeStore::Append(const Hash& leaf_hash) {
  FL_ASSIGN_OR_RETURN(std::vector<SubtreeNode> nodes,
                      CompletedSubtrees(size_, leaf_hash, *this));
  for (const SubtreeNode& node : nodes) {
    if (levels_.size() <= static_cast<size_t>(node.level)) {
      levels_.resize(node.level + 1);
    }
    levels_[node.level].push_back(node.hash);
  }
  return size_++;
}

absl::StatusOr<Hash> MemorySubtreeStore::Get(int level, uint64_t index) {
  ++reads_;
  if (level < 0 || static_cast<size_t>(level) >= levels_.size() ||
      index >= levels_[level].size()) {
    return absl::NotFoundError(
        absl::StrCat("no complete subtree ", NodeName(level, index),
                     " in a tree of ", size_, " leaves"));
  }
  return levels_[level][index];
}

}  // namespace fieldledger::merkle
