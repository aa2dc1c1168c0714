#include "core/merkle.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger::merkle {
namespace {

using ::testing::HasSubstr;

Hash H(absl::string_view hex) {
  absl::StatusOr<Hash> hash = HashFromBytes(absl::HexStringToBytes(hex));
  EXPECT_TRUE(hash.ok()) << hex;
  return hash.value_or(Hash{});
}

// The RFC 6962 test tree of the Certificate Transparency reference tests
// (google/certificate-transparency cpp/merkletree/merkle_tree_test.cc, the
// same figures as transparency-dev/merkle testonly/constants.go).
const char* const kLeafHex[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

// Roots of the trees of sizes 0 to 8.
const char* const kRootHex[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// Complete-subtree hashes of the 8-leaf tree, by level then index.
const std::vector<std::vector<const char*>> kNodeHex = {
    {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
    {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
    {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
    {"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
};

struct InclusionVector {
  uint64_t leaf_index;  // 0-based (the CT tests number leaves from 1)
  uint64_t tree_size;
  std::vector<const char*> proof;
};

const InclusionVector kInclusion[] = {
    {0, 1, {}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     3,
     {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct ConsistencyVector {
  uint64_t size1;
  uint64_t size2;
  std::vector<const char*> proof;
};

const ConsistencyVector kConsistency[] = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

std::vector<Hash> Hashes(const std::vector<const char*>& hex) {
  std::vector<Hash> out;
  for (const char* h : hex) out.push_back(H(h));
  return out;
}

Hash LeafHash(int i) { return HashLeaf(absl::HexStringToBytes(kLeafHex[i])); }

MemorySubtreeStore TestTree() {
  MemorySubtreeStore store;
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(store.Append(LeafHash(i)).ok());
  return store;
}

Hash FlipBit(Hash hash, int bit) {
  hash[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
  return hash;
}

// Reference implementations straight from the RFC 6962 §2.1 definitions
// (MTH, PATH, SUBPROOF), recursive over leaf hashes: slow and obvious.
uint64_t LargestPowerOfTwoBelow(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash RefRoot(absl::Span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  const uint64_t k = LargestPowerOfTwoBelow(leaves.size());
  return HashChildren(RefRoot(leaves.subspan(0, k)),
                      RefRoot(leaves.subspan(k)));
}

std::vector<Hash> RefPath(uint64_t m, absl::Span<const Hash> leaves) {
  if (leaves.size() <= 1) return {};
  const uint64_t k = LargestPowerOfTwoBelow(leaves.size());
  std::vector<Hash> path;
  if (m < k) {
    path = RefPath(m, leaves.subspan(0, k));
    path.push_back(RefRoot(leaves.subspan(k)));
  } else {
    path = RefPath(m - k, leaves.subspan(k));
    path.push_back(RefRoot(leaves.subspan(0, k)));
  }
  return path;
}

std::vector<Hash> RefSubproof(uint64_t m, absl::Span<const Hash> leaves,
                              bool b) {
  const uint64_t n = leaves.size();
  if (m == n) {
    if (b) return {};
    return {RefRoot(leaves)};
  }
  const uint64_t k = LargestPowerOfTwoBelow(n);
  std::vector<Hash> proof;
  if (m <= k) {
    proof = RefSubproof(m, leaves.subspan(0, k), b);
    proof.push_back(RefRoot(leaves.subspan(k)));
  } else {
    proof = RefSubproof(m - k, leaves.subspan(k), false);
    proof.push_back(RefRoot(leaves.subspan(0, k)));
  }
  return proof;
}

TEST(MerkleHashTest, KnownAnswers) {
  EXPECT_EQ(HashToHex(EmptyRoot()), kRootHex[0]);
  EXPECT_EQ(HashToHex(HashLeaf("")), kNodeHex[0][0]);
  EXPECT_EQ(HashToHex(HashChildren(LeafHash(0), LeafHash(1))), kNodeHex[1][0]);
  EXPECT_EQ(HashToBytes(H(kRootHex[3])), absl::HexStringToBytes(kRootHex[3]));
  EXPECT_THAT(HashFromBytes("short").status().message(),
              HasSubstr("32 bytes, got 5"));
}

TEST(MerkleTreeTest, StoresTheKnownCompleteSubtrees) {
  MemorySubtreeStore store = TestTree();
  for (size_t level = 0; level < kNodeHex.size(); ++level) {
    for (size_t index = 0; index < kNodeHex[level].size(); ++index) {
      absl::StatusOr<Hash> node = store.Get(static_cast<int>(level), index);
      ASSERT_TRUE(node.ok()) << node.status();
      EXPECT_EQ(HashToHex(*node), kNodeHex[level][index])
          << "level " << level << " index " << index;
    }
  }
  EXPECT_EQ(store.Get(1, 4).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Get(4, 0).status().code(), absl::StatusCode::kNotFound);
}

TEST(MerkleTreeTest, CompletedSubtreesListsEveryLevelThatCloses) {
  MemorySubtreeStore store = TestTree();
  // Leaf 7 closes (0,7), (1,3), (2,1), (3,0); it reads three left siblings.
  MemorySubtreeStore seven;
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(seven.Append(LeafHash(i)).ok());
  const uint64_t reads_before = seven.reads();
  absl::StatusOr<std::vector<SubtreeNode>> nodes =
      CompletedSubtrees(7, LeafHash(7), seven);
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(seven.reads() - reads_before, 3u);
  std::vector<SubtreeNode> want = {{0, 7, H(kNodeHex[0][7])},
                                   {1, 3, H(kNodeHex[1][3])},
                                   {2, 1, H(kNodeHex[2][1])},
                                   {3, 0, H(kNodeHex[3][0])}};
  EXPECT_EQ(*nodes, want);
  // Leaf 4 closes only itself.
  nodes = CompletedSubtrees(4, LeafHash(4), store);
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->size(), 1u);
}

TEST(MerkleTreeTest, CompletedSubtreesNeedsTheLeftSiblings) {
  MemorySubtreeStore empty;
  absl::StatusOr<std::vector<SubtreeNode>> nodes =
      CompletedSubtrees(1, LeafHash(1), empty);
  EXPECT_EQ(nodes.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(nodes.status().message(),
              HasSubstr("appending leaf 1: left sibling (level 0, index 0)"));
}

TEST(MerkleTreeTest, RootsOfSizesZeroToEight) {
  MemorySubtreeStore store = TestTree();
  RootBuilder builder;
  for (uint64_t size = 0; size <= 8; ++size) {
    absl::StatusOr<Hash> root = RootHash(size, store);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(HashToHex(*root), kRootHex[size]) << "size " << size;
    EXPECT_EQ(HashToHex(builder.Root()), kRootHex[size]) << "size " << size;
    if (size < 8) builder.AppendLeaf(absl::HexStringToBytes(kLeafHex[size]));
  }
  EXPECT_EQ(builder.size(), 8u);
  EXPECT_EQ(RootHash(9, store).status().code(), absl::StatusCode::kNotFound);
}

TEST(MerkleTreeTest, InclusionProofKnownAnswers) {
  MemorySubtreeStore store = TestTree();
  for (const InclusionVector& v : kInclusion) {
    SCOPED_TRACE(testing::Message()
                 << "leaf " << v.leaf_index << " size " << v.tree_size);
    absl::StatusOr<std::vector<Hash>> proof =
        InclusionProof(v.leaf_index, v.tree_size, store);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, Hashes(v.proof));
    EXPECT_TRUE(VerifyInclusion(v.leaf_index, v.tree_size,
                                LeafHash(static_cast<int>(v.leaf_index)),
                                Hashes(v.proof), H(kRootHex[v.tree_size]))
                    .ok());
  }
}

TEST(MerkleTreeTest, ConsistencyProofKnownAnswers) {
  MemorySubtreeStore store = TestTree();
  for (const ConsistencyVector& v : kConsistency) {
    SCOPED_TRACE(testing::Message() << v.size1 << " -> " << v.size2);
    absl::StatusOr<std::vector<Hash>> proof =
        ConsistencyProof(v.size1, v.size2, store);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, Hashes(v.proof));
    EXPECT_TRUE(VerifyConsistency(v.size1, v.size2, H(kRootHex[v.size1]),
                                  H(kRootHex[v.size2]), Hashes(v.proof))
                    .ok());
  }
}

TEST(MerkleTreeTest, ProofRequestsOutOfRangeAreInvalid) {
  MemorySubtreeStore store = TestTree();
  EXPECT_THAT(InclusionProof(8, 8, store).status().message(),
              HasSubstr("leaf index 8 is not below tree size 8"));
  EXPECT_EQ(InclusionProof(0, 0, store).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ConsistencyProof(5, 4, store).status().message(),
              HasSubstr("first size 5 is larger than second size 4"));
  EXPECT_TRUE(ConsistencyProof(0, 8, store)->empty());
  EXPECT_TRUE(ConsistencyProof(8, 8, store)->empty());
  EXPECT_EQ(InclusionProof(3, 9, store).status().code(),
            absl::StatusCode::kNotFound);
}

// Every way of damaging a good inclusion proof is rejected.
void ExpectInclusionTamperingRejected(uint64_t m, uint64_t n, const Hash& leaf,
                                      const std::vector<Hash>& proof,
                                      const Hash& root) {
  ASSERT_TRUE(VerifyInclusion(m, n, leaf, proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(m, n, HashLeaf("WrongLeaf"), proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(m, n, leaf, proof, EmptyRoot()).ok());
  if (m > 0) {
    EXPECT_FALSE(VerifyInclusion(m - 1, n, leaf, proof, root).ok());
  }
  EXPECT_FALSE(VerifyInclusion(m + 1, n, leaf, proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(m ^ 2, n, leaf, proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(m, n * 2, leaf, proof, root).ok());
  if (n > 1) {
    EXPECT_FALSE(VerifyInclusion(m, n / 2, leaf, proof, root).ok());
  }
  for (size_t i = 0; i < proof.size(); ++i) {
    for (int bit = 0; bit < 256; ++bit) {
      std::vector<Hash> bad = proof;
      bad[i] = FlipBit(bad[i], bit);
      ASSERT_FALSE(VerifyInclusion(m, n, leaf, bad, root).ok())
          << "hash " << i << " bit " << bit;
    }
  }
  for (int bit = 0; bit < 256; ++bit) {
    ASSERT_FALSE(VerifyInclusion(m, n, leaf, proof, FlipBit(root, bit)).ok());
    ASSERT_FALSE(VerifyInclusion(m, n, FlipBit(leaf, bit), proof, root).ok());
  }
  std::vector<Hash> longer = proof;
  longer.push_back(Hash{});
  EXPECT_FALSE(VerifyInclusion(m, n, leaf, longer, root).ok());
  longer.back() = root;
  EXPECT_FALSE(VerifyInclusion(m, n, leaf, longer, root).ok());
  longer = proof;
  longer.insert(longer.begin(), Hash{});
  EXPECT_FALSE(VerifyInclusion(m, n, leaf, longer, root).ok());
  if (!proof.empty()) {
    std::vector<Hash> shorter = proof;
    shorter.pop_back();
    EXPECT_FALSE(VerifyInclusion(m, n, leaf, shorter, root).ok());
    shorter = proof;
    shorter.erase(shorter.begin());
    EXPECT_FALSE(VerifyInclusion(m, n, leaf, shorter, root).ok());
  }
}

void ExpectConsistencyTamperingRejected(uint64_t m, uint64_t n,
                                        const Hash& root1, const Hash& root2,
                                        const std::vector<Hash>& proof) {
  ASSERT_TRUE(VerifyConsistency(m, n, root1, root2, proof).ok());
  if (proof.empty()) return;  // m == n: covered by the edge-case test
  EXPECT_FALSE(VerifyConsistency(m - 1, n, root1, root2, proof).ok());
  EXPECT_FALSE(VerifyConsistency(m + 1, n, root1, root2, proof).ok());
  EXPECT_FALSE(VerifyConsistency(m ^ 2, n, root1, root2, proof).ok());
  EXPECT_FALSE(VerifyConsistency(m, n * 2, root1, root2, proof).ok());
  EXPECT_FALSE(VerifyConsistency(m, n / 2, root1, root2, proof).ok());
  EXPECT_FALSE(VerifyConsistency(m, n, root2, root1, proof).ok());
  EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, {}).ok());
  for (size_t i = 0; i < proof.size(); ++i) {
    for (int bit = 0; bit < 256; ++bit) {
      std::vector<Hash> bad = proof;
      bad[i] = FlipBit(bad[i], bit);
      ASSERT_FALSE(VerifyConsistency(m, n, root1, root2, bad).ok())
          << "hash " << i << " bit " << bit;
    }
  }
  for (int bit = 0; bit < 256; ++bit) {
    ASSERT_FALSE(
        VerifyConsistency(m, n, FlipBit(root1, bit), root2, proof).ok());
    ASSERT_FALSE(
        VerifyConsistency(m, n, root1, FlipBit(root2, bit), proof).ok());
  }
  std::vector<Hash> longer = proof;
  longer.push_back(Hash{});
  EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, longer).ok());
  longer.back() = proof.back();
  EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, longer).ok());
  longer = proof;
  longer.insert(longer.begin(), proof.front());
  EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, longer).ok());
  std::vector<Hash> shorter = proof;
  shorter.pop_back();
  EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, shorter).ok());
}

TEST(MerkleVerifyTest, KnownInclusionProofsRejectTampering) {
  for (const InclusionVector& v : kInclusion) {
    SCOPED_TRACE(testing::Message()
                 << "leaf " << v.leaf_index << " size " << v.tree_size);
    ExpectInclusionTamperingRejected(v.leaf_index, v.tree_size,
                                     LeafHash(static_cast<int>(v.leaf_index)),
                                     Hashes(v.proof), H(kRootHex[v.tree_size]));
  }
}

TEST(MerkleVerifyTest, KnownConsistencyProofsRejectTampering) {
  for (const ConsistencyVector& v : kConsistency) {
    SCOPED_TRACE(testing::Message() << v.size1 << " -> " << v.size2);
    ExpectConsistencyTamperingRejected(v.size1, v.size2, H(kRootHex[v.size1]),
                                       H(kRootHex[v.size2]), Hashes(v.proof));
  }
}

TEST(MerkleVerifyTest, ReasonsAreSpecific) {
  const Hash leaf = LeafHash(0);
  const std::vector<Hash> proof = Hashes(kInclusion[1].proof);
  EXPECT_THAT(VerifyInclusion(8, 8, leaf, proof, H(kRootHex[8])).message(),
              HasSubstr("leaf index 8 is not below tree size 8"));
  EXPECT_THAT(VerifyInclusion(0, 16, leaf, proof, H(kRootHex[8])).message(),
              HasSubstr("has 3 hashes, leaf 0 of a tree of size 16 needs 4"));
  EXPECT_THAT(VerifyInclusion(0, 8, leaf, proof, H(kRootHex[7])).message(),
              HasSubstr(absl::StrCat("the proof leads to ", kRootHex[8],
                                     ", expected ", kRootHex[7])));
  EXPECT_THAT(
      VerifyConsistency(3, 2, H(kRootHex[3]), H(kRootHex[2]), {}).message(),
      HasSubstr("the first tree is larger than the second"));
  EXPECT_THAT(
      VerifyConsistency(6, 8, H(kRootHex[6]), H(kRootHex[8]), {}).message(),
      HasSubstr("has 0 hashes, needs 3"));
  EXPECT_THAT(VerifyConsistency(6, 8, H(kRootHex[5]), H(kRootHex[8]),
                                Hashes(kConsistency[2].proof))
                  .message(),
              HasSubstr("first root"));
}

TEST(MerkleVerifyTest, ConsistencyEdgeCases) {
  const Hash empty = EmptyRoot();
  const Hash r1 = H(kRootHex[1]);
  EXPECT_TRUE(VerifyConsistency(0, 0, empty, empty, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 5, empty, H(kRootHex[5]), {}).ok());
  EXPECT_TRUE(VerifyConsistency(1, 1, r1, r1, {}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 5, r1, H(kRootHex[5]), {}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 5, empty, H(kRootHex[5]), {empty}).ok());
  EXPECT_FALSE(VerifyConsistency(1, 1, r1, r1, {r1}).ok());
  EXPECT_THAT(VerifyConsistency(1, 1, r1, H(kRootHex[2]), {}).message(),
              HasSubstr("same size but different roots"));
  EXPECT_FALSE(VerifyConsistency(1, 2, r1, H(kRootHex[2]), {}).ok());
}

// Proofs of every (leaf, size) and (size1, size2) up to 70 leaves match the
// RFC's recursive definitions and verify.
TEST(MerklePropertyTest, SmallTreesMatchTheRfcDefinitions) {
  constexpr uint64_t kMax = 70;
  std::vector<Hash> leaves;
  MemorySubtreeStore store;
  for (uint64_t i = 0; i < kMax; ++i) {
    leaves.push_back(HashLeaf(std::string(1, static_cast<char>(i))));
    ASSERT_TRUE(store.Append(leaves.back()).ok());
  }
  const absl::Span<const Hash> all(leaves);
  for (uint64_t n = 0; n <= kMax; ++n) {
    const Hash root = RefRoot(all.subspan(0, n));
    ASSERT_EQ(*RootHash(n, store), root) << n;
    for (uint64_t m = 0; m < n; ++m) {
      absl::StatusOr<std::vector<Hash>> proof = InclusionProof(m, n, store);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, RefPath(m, all.subspan(0, n))) << m << " in " << n;
      ASSERT_TRUE(VerifyInclusion(m, n, leaves[m], *proof, root).ok());
    }
    for (uint64_t m = 1; m <= n; ++m) {
      absl::StatusOr<std::vector<Hash>> proof = ConsistencyProof(m, n, store);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, RefSubproof(m, all.subspan(0, n), true))
          << m << " -> " << n;
      absl::Status verified =
          VerifyConsistency(m, n, RefRoot(all.subspan(0, m)), root, *proof);
      ASSERT_TRUE(verified.ok()) << m << " -> " << n << ": " << verified;
    }
  }
}

// Random sizes up to a few thousand leaves (fixed seed): every inclusion
// proof verifies, consistency proofs from random earlier sizes verify, reads
// stay O(log n), and flipping any single bit of a proof hash or of the root
// is caught (all bits for a sample, one random bit for the rest).
TEST(MerklePropertyTest, RandomSizesUpToFourThousand) {
  constexpr uint64_t kMax = 4100;
  std::mt19937_64 rng(20260904);
  MemorySubtreeStore store;
  std::vector<Hash> leaves;
  RootBuilder builder;
  std::vector<Hash> roots = {EmptyRoot()};
  for (uint64_t i = 0; i < kMax; ++i) {
    leaves.push_back(HashLeaf(std::to_string(rng())));
    ASSERT_TRUE(store.Append(leaves.back()).ok());
    builder.AppendLeafHash(leaves.back());
    roots.push_back(builder.Root());
  }
  for (int round = 0; round < 24; ++round) {
    const uint64_t n = 1 + rng() % kMax;
    SCOPED_TRACE(testing::Message() << "size " << n);
    const uint64_t max_reads = 3 * absl::bit_width(n) + 1;
    const Hash& root = roots[n];
    uint64_t reads = store.reads();
    ASSERT_EQ(*RootHash(n, store), root);
    ASSERT_LE(store.reads() - reads, max_reads);
    const uint64_t sample = rng() % n;
    for (uint64_t m = 0; m < n; ++m) {
      reads = store.reads();
      absl::StatusOr<std::vector<Hash>> proof = InclusionProof(m, n, store);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_LE(store.reads() - reads, max_reads);
      ASSERT_TRUE(VerifyInclusion(m, n, leaves[m], *proof, root).ok()) << m;
      if (m == sample) {
        ExpectInclusionTamperingRejected(m, n, leaves[m], *proof, root);
      } else if (!proof->empty()) {
        std::vector<Hash> bad = *proof;
        const size_t i = rng() % bad.size();
        bad[i] = FlipBit(bad[i], static_cast<int>(rng() % 256));
        ASSERT_FALSE(VerifyInclusion(m, n, leaves[m], bad, root).ok()) << m;
        ASSERT_FALSE(
            VerifyInclusion(m, n, leaves[m], *proof,
                            FlipBit(root, static_cast<int>(rng() % 256)))
                .ok());
      }
    }
    for (int k = 0; k < 200; ++k) {
      const uint64_t m = rng() % (n + 1);
      reads = store.reads();
      absl::StatusOr<std::vector<Hash>> proof = ConsistencyProof(m, n, store);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_LE(store.reads() - reads, max_reads);
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], root, *proof).ok())
          << m << " -> " << n;
      if (k == 0 && m > 0 && m < n) {
        ExpectConsistencyTamperingRejected(m, n, roots[m], root, *proof);
      } else if (!proof->empty()) {
        std::vector<Hash> bad = *proof;
        const size_t i = rng() % bad.size();
        bad[i] = FlipBit(bad[i], static_cast<int>(rng() % 256));
        ASSERT_FALSE(VerifyConsistency(m, n, roots[m], root, bad).ok());
      }
    }
  }
}

}  // namespace
}  // namespace fieldledger::merkle
