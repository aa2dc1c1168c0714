// An independent verifier of what the ledger publishes, written from the
// texts of RFC 9162 (§2.1: Merkle hashes, §2.1.3.2 inclusion and §2.1.4.2
// consistency verification), c2sp.org/signed-note, c2sp.org/tlog-checkpoint
// and c2sp.org/tlog-proof, with nothing but OpenSSL and the standard
// library. The production code (core/merkle.h, core/note.h) is used only to
// produce the checkpoints and proofs checked here, so that a mistake shared
// by the producer and its own verifier still shows up.
#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/merkle.h"
#include "core/note.h"
#include "gtest/gtest.h"

namespace independent {
namespace {

using Bytes = std::string;

Bytes Sha256(const Bytes& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr) !=
      1) {
    ADD_FAILURE() << "EVP_Digest failed";
    return Bytes();
  }
  return Bytes(reinterpret_cast<char*>(out), size);
}

// RFC 9162 §2.1.1.
Bytes LeafHash(const Bytes& entry) { return Sha256(Bytes(1, '\0') + entry); }
Bytes NodeHash(const Bytes& left, const Bytes& right) {
  return Sha256(Bytes(1, '\1') + left + right);
}

// MTH(D[n]) by the recursive definition.
Bytes TreeHash(const std::vector<Bytes>& entries, size_t begin, size_t end) {
  if (end == begin) return Sha256("");
  if (end - begin == 1) return LeafHash(entries[begin]);
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return NodeHash(TreeHash(entries, begin, begin + k),
                  TreeHash(entries, begin + k, end));
}

// RFC 4648 §4 base64, padded; nullopt on anything else.
std::optional<Bytes> Base64Decode(const std::string& s) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (s.size() % 4 != 0) return std::nullopt;
  Bytes out;
  for (size_t i = 0; i < s.size(); i += 4) {
    uint32_t group = 0;
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = s[i + j];
      uint32_t v = 0;
      if (c == '=' && i + 4 == s.size() && j >= 2) {
        ++pad;
      } else {
        const size_t pos = kAlphabet.find(c);
        if (pos == std::string::npos || pad > 0) return std::nullopt;
        v = static_cast<uint32_t>(pos);
      }
      group = (group << 6) | v;
    }
    out.push_back(static_cast<char>(group >> 16));
    if (pad < 2) out.push_back(static_cast<char>(group >> 8));
    if (pad < 1) out.push_back(static_cast<char>(group));
  }
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  // `text` ends in a newline; the pieces are the lines without it.
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      lines.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return lines;
}

uint32_t BigEndian32(const Bytes& b) {
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) |
         uint32_t{static_cast<uint8_t>(b[3])};
}

bool Ed25519Verify(const Bytes& public_key, const Bytes& message,
                   const Bytes& signature) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      pkey != nullptr && ctx != nullptr &&
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx,
                       reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

// A trusted Ed25519 note key, from its "<name>+<hex id>+<base64>" text.
struct Key {
  std::string name;
  uint32_t id = 0;
  Bytes public_key;
};

std::optional<Key> ParseVerifierKey(const std::string& text) {
  const size_t plus1 = text.find('+');
  if (plus1 == std::string::npos) return std::nullopt;
  const size_t plus2 = text.find('+', plus1 + 1);
  if (plus2 != plus1 + 9) return std::nullopt;
  Key key;
  key.name = text.substr(0, plus1);
  key.id =
      static_cast<uint32_t>(std::stoul(text.substr(plus1 + 1, 8), nullptr, 16));
  const std::optional<Bytes> data = Base64Decode(text.substr(plus2 + 1));
  if (!data || data->size() != 33 || (*data)[0] != '\x01') return std::nullopt;
  key.public_key = data->substr(1);
  // signed-note: key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4]
  if (BigEndian32(Sha256(key.name + "\n" + *data)) != key.id) {
    return std::nullopt;
  }
  return key;
}

// signed-note: returns the note text when a signature line by `key` verifies
// (and none by `key` fails), nullopt otherwise; `why` says what went wrong.
std::optional<std::string> OpenNote(const std::string& note, const Key& key,
                                    std::string* why) {
  auto fail = [why](const char* reason) -> std::optional<std::string> {
    *why = reason;
    return std::nullopt;
  };
  for (size_t i = 0; i < note.size(); ++i) {
    const auto c = static_cast<unsigned char>(note[i]);
    if (c < 0x20 && c != '\n') return fail("control character");
  }
  const size_t split = note.rfind("\n\n");
  if (split == std::string::npos) return fail("no blank line");
  const std::string text = note.substr(0, split + 1);
  const std::string block = note.substr(split + 2);
  if (block.empty() || block.back() != '\n') {
    return fail("signature block");
  }
  const std::string dash = "\xE2\x80\x94 ";  // em dash U+2014, space
  int verified = 0;
  for (const std::string& line : SplitLines(block)) {
    if (line.compare(0, dash.size(), dash) != 0) {
      return fail("no em dash");
    }
    const std::string rest = line.substr(dash.size());
    const size_t space = rest.find(' ');
    if (space == std::string::npos) return fail("no space");
    const std::string name = rest.substr(0, space);
    const std::optional<Bytes> sig = Base64Decode(rest.substr(space + 1));
    if (!sig || sig->size() < 5) return fail("signature");
    if (name != key.name || BigEndian32(*sig) != key.id) continue;  // unknown
    if (!Ed25519Verify(key.public_key, text, sig->substr(4))) {
      return fail("bad signature");
    }
    ++verified;
  }
  if (verified == 0) return fail("no signature by the key");
  return text;
}

struct TreeHead {
  std::string origin;
  uint64_t size = 0;
  Bytes root;
};

// tlog-checkpoint: origin, decimal size, base64 root, extension lines.
std::optional<TreeHead> ParseCheckpointText(const std::string& text) {
  const std::vector<std::string> lines = SplitLines(text);
  if (lines.size() < 3 || lines[0].empty() || lines[1].empty()) {
    return std::nullopt;
  }
  if (lines[1].size() > 1 && lines[1][0] == '0') return std::nullopt;
  for (char c : lines[1]) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  TreeHead head;
  head.origin = lines[0];
  head.size = std::stoull(lines[1]);
  const std::optional<Bytes> root = Base64Decode(lines[2]);
  if (!root || root->size() != 32) return std::nullopt;
  head.root = *root;
  return head;
}

// RFC 9162 §2.1.3.2.
bool VerifyInclusion(uint64_t leaf_index, uint64_t tree_size, const Bytes& hash,
                     const std::vector<Bytes>& path, const Bytes& root) {
  if (leaf_index >= tree_size) return false;
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Bytes r = hash;
  for (const Bytes& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

// RFC 9162 §2.1.4.2 (for 0 < first < second).
bool VerifyConsistency(uint64_t first, uint64_t second, const Bytes& first_hash,
                       const Bytes& second_hash, std::vector<Bytes> path) {
  if (path.empty() || first == 0 || first >= second) return false;
  if ((first & (first - 1)) == 0) path.insert(path.begin(), first_hash);
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Bytes fr = path[0];
  Bytes sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Bytes& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_hash && sr == second_hash && sn == 0;
}

struct Proof {
  std::optional<Bytes> extra;
  uint64_t index = 0;
  std::vector<Bytes> path;
  std::string checkpoint;
};

// tlog-proof@v1.
std::optional<Proof> ParseProof(const std::string& text) {
  Proof proof;
  size_t pos = 0;
  auto line = [&](std::string* out) {
    const size_t end = text.find('\n', pos);
    if (end == std::string::npos) return false;
    *out = text.substr(pos, end - pos);
    pos = end + 1;
    return true;
  };
  std::string l;
  if (!line(&l) || l != "c2sp.org/tlog-proof@v1") return std::nullopt;
  if (!line(&l)) return std::nullopt;
  if (l.rfind("extra ", 0) == 0) {
    proof.extra = Base64Decode(l.substr(6));
    if (!proof.extra || !line(&l)) return std::nullopt;
  }
  if (l.rfind("index ", 0) != 0) return std::nullopt;
  const std::string index = l.substr(6);
  if (index.empty() || (index.size() > 1 && index[0] == '0') ||
      index.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  proof.index = std::stoull(index);
  while (true) {
    if (!line(&l)) return std::nullopt;
    if (l.empty()) break;
    const std::optional<Bytes> hash = Base64Decode(l);
    if (!hash || hash->size() != 32) return std::nullopt;
    proof.path.push_back(*hash);
  }
  proof.checkpoint = text.substr(pos);
  return proof;
}

// Checks a tlog-proof for `entry` end to end; "" when it holds.
std::string CheckProof(const std::string& text, const Bytes& entry,
                       const std::string& origin, const Key& key,
                       const Bytes& expected_root) {
  const std::optional<Proof> proof = ParseProof(text);
  if (!proof) return "unparsable proof";
  std::string why;
  const std::optional<std::string> body =
      OpenNote(proof->checkpoint, key, &why);
  if (!body) return "checkpoint note: " + why;
  const std::optional<TreeHead> head = ParseCheckpointText(*body);
  if (!head) return "unparsable checkpoint";
  if (head->origin != origin) return "origin";
  if (head->root != expected_root) return "root differs from the recomputed";
  if (!VerifyInclusion(proof->index, head->size, LeafHash(entry), proof->path,
                       head->root)) {
    return "inclusion proof";
  }
  return "";
}

}  // namespace
}  // namespace independent

namespace fieldledger {
namespace {

constexpr char kOrigin[] = "ledger.example/county-7";

class LedgerFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<NoteSigner> signer = NoteSigner::Generate(kOrigin);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::make_unique<NoteSigner>(*signer);
    const std::optional<independent::Key> key =
        independent::ParseVerifierKey(signer_->verifier().ToString());
    ASSERT_TRUE(key.has_value()) << signer_->verifier().ToString();
    key_ = *key;
    for (int i = 0; i < 300; ++i) {
      entries_.push_back("event " + std::to_string(i) + " 问题账/整改账");
      ASSERT_TRUE(store_.Append(merkle::HashLeaf(entries_.back())).ok());
    }
  }

  std::string Checkpoint(uint64_t size) {
    absl::StatusOr<merkle::Hash> root = merkle::RootHash(size, store_);
    EXPECT_TRUE(root.ok()) << root.status();
    absl::StatusOr<std::string> note = SignCheckpoint(
        fieldledger::Checkpoint{kOrigin, size, *root, {}}, *signer_);
    EXPECT_TRUE(note.ok()) << note.status();
    return note.value_or("");
  }

  std::string ProofText(uint64_t index, uint64_t size,
                        std::optional<std::string> extra = std::nullopt) {
    absl::StatusOr<std::vector<merkle::Hash>> hashes =
        merkle::InclusionProof(index, size, store_);
    EXPECT_TRUE(hashes.ok()) << hashes.status();
    absl::StatusOr<std::string> text = FormatTlogProof(
        {std::move(extra), index, hashes.value_or(std::vector<merkle::Hash>()),
         Checkpoint(size)});
    EXPECT_TRUE(text.ok()) << text.status();
    return text.value_or("");
  }

  std::unique_ptr<NoteSigner> signer_;
  independent::Key key_;
  merkle::MemorySubtreeStore store_;
  std::vector<std::string> entries_;
};

TEST_F(LedgerFormatTest, CheckpointsVerifyIndependently) {
  for (uint64_t size : {0, 1, 2, 7, 8, 100, 255, 256, 300}) {
    std::string why;
    const std::optional<std::string> body =
        independent::OpenNote(Checkpoint(size), key_, &why);
    ASSERT_TRUE(body.has_value()) << size << ": " << why;
    const std::optional<independent::TreeHead> head =
        independent::ParseCheckpointText(*body);
    ASSERT_TRUE(head.has_value()) << *body;
    EXPECT_EQ(head->origin, kOrigin);
    EXPECT_EQ(head->size, size);
    EXPECT_EQ(head->root, independent::TreeHash(entries_, 0, size)) << size;
  }
}

TEST_F(LedgerFormatTest, TlogProofsVerifyIndependently) {
  for (uint64_t size : {1, 2, 3, 8, 13, 64, 255, 300}) {
    const std::string root = independent::TreeHash(entries_, 0, size);
    for (uint64_t index = 0; index < size; index += 1 + size / 9) {
      EXPECT_EQ(independent::CheckProof(ProofText(index, size), entries_[index],
                                        kOrigin, key_, root),
                "")
          << index << " in " << size;
    }
    EXPECT_EQ(independent::CheckProof(ProofText(size - 1, size, "opaque"),
                                      entries_[size - 1], kOrigin, key_, root),
              "");
  }
}

TEST_F(LedgerFormatTest, IndependentVerifierCatchesTampering) {
  const std::string root = independent::TreeHash(entries_, 0, 300);
  const std::string good = ProofText(123, 300);
  ASSERT_EQ(independent::CheckProof(good, entries_[123], kOrigin, key_, root),
            "");
  EXPECT_EQ(independent::CheckProof(good, entries_[124], kOrigin, key_, root),
            "inclusion proof");
  std::string other_index = good;
  other_index.replace(other_index.find("index 123"), 9, "index 122");
  EXPECT_EQ(
      independent::CheckProof(other_index, entries_[123], kOrigin, key_, root),
      "inclusion proof");
  std::string other_size = good;
  other_size.replace(other_size.find("\n300\n"), 5, "\n301\n");
  EXPECT_EQ(
      independent::CheckProof(other_size, entries_[123], kOrigin, key_, root),
      "checkpoint note: bad signature");
}

TEST_F(LedgerFormatTest, ConsistencyProofsVerifyIndependently) {
  for (uint64_t size2 : {2, 5, 8, 9, 100, 256, 300}) {
    for (uint64_t size1 = 1; size1 < size2; size1 += 1 + size2 / 11) {
      absl::StatusOr<std::vector<merkle::Hash>> proof =
          merkle::ConsistencyProof(size1, size2, store_);
      ASSERT_TRUE(proof.ok()) << proof.status();
      std::vector<std::string> path;
      for (const merkle::Hash& h : *proof)
        path.push_back(merkle::HashToBytes(h));
      // Roots as the signed checkpoints state them.
      std::string why;
      const auto head1 = independent::ParseCheckpointText(
          independent::OpenNote(Checkpoint(size1), key_, &why).value_or(""));
      const auto head2 = independent::ParseCheckpointText(
          independent::OpenNote(Checkpoint(size2), key_, &why).value_or(""));
      ASSERT_TRUE(head1 && head2) << why;
      EXPECT_TRUE(independent::VerifyConsistency(size1, size2, head1->root,
                                                 head2->root, path))
          << size1 << " -> " << size2;
      EXPECT_FALSE(independent::VerifyConsistency(size1, size2, head2->root,
                                                  head1->root, path));
    }
  }
}

}  // namespace
}  // namespace fieldledger
