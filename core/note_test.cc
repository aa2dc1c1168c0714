#include "core/note.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The example key pair and note of golang.org/x/mod/sumdb/note (package
// documentation): an interoperability known answer, since Ed25519 signing
// is deterministic.
constexpr absl::string_view kGoSignerKey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+"
    "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr absl::string_view kGoVerifierKey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr absl::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr absl::string_view kGoSignatureLine =
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngot"
    "pRZb6KE6RyyBwJnAM=\n";
// A second signature on the same note, by a key we do not know.
constexpr absl::string_view kGoUnknownSignatureLine =
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwn"
    "WLox33WWd1RvMc+QQ=\n";

std::string GoNote() { return absl::StrCat(kGoText, "\n", kGoSignatureLine); }

NoteVerifier GoVerifier() { return *NoteVerifier::Parse(kGoVerifierKey); }

// Replaces the first occurrence of `from` in `s` (which must contain it).
std::string ReplaceFirst(absl::string_view s, absl::string_view from,
                         absl::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, absl::string_view::npos) << from;
  std::string out(s);
  out.replace(at, from.size(), std::string(to));
  return out;
}

TEST(NoteKeyTest, GoKnownAnswer) {
  absl::StatusOr<NoteSigner> signer = NoteSigner::Parse(kGoSignerKey);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->name(), "PeterNeumann");
  EXPECT_EQ(signer->key_id(), 0xc74f20a3u);
  EXPECT_EQ(signer->ToString(), kGoSignerKey);
  EXPECT_EQ(signer->verifier().ToString(), kGoVerifierKey);

  absl::StatusOr<NoteVerifier> verifier = NoteVerifier::Parse(kGoVerifierKey);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_EQ(verifier->key_id(), 0xc74f20a3u);
  EXPECT_EQ(verifier->public_key(), signer->verifier().public_key());
  EXPECT_EQ(Ed25519NoteKeyId("PeterNeumann", verifier->public_key()),
            0xc74f20a3u);

  absl::StatusOr<std::string> note = SignNote(kGoText, *signer);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(*note, GoNote());
}

TEST(NoteKeyTest, GeneratedKeysRoundTrip) {
  absl::StatusOr<NoteSigner> signer = NoteSigner::Generate("ledger.example/a");
  ASSERT_TRUE(signer.ok()) << signer.status();
  absl::StatusOr<NoteSigner> again = NoteSigner::Parse(signer->ToString());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->key_id(), signer->key_id());
  EXPECT_EQ(again->verifier().public_key(), signer->verifier().public_key());
  absl::StatusOr<NoteVerifier> verifier =
      NoteVerifier::Parse(signer->verifier().ToString());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_EQ(verifier->key_id(), signer->key_id());
  EXPECT_NE(NoteSigner::Generate("ledger.example/a")->key_id(),
            signer->key_id());

  absl::StatusOr<std::string> note = SignNote("hello\n", *signer);
  ASSERT_TRUE(note.ok());
  absl::StatusOr<SignedNote> opened = OpenNote(*note, {*verifier});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, "hello\n");
}

TEST(NoteKeyTest, MalformedVerifierKeysAreRejected) {
  struct Case {
    std::string vkey;
    std::string reason;
  };
  const std::string good(kGoVerifierKey);
  const std::vector<Case> cases = {
      {"", "expected <name>+<8 hex digit key id>+<base64 key>"},
      {"PeterNeumann+c74f20a3", "expected <name>+"},
      {ReplaceFirst(good, "PeterNeumann", ""), "name: must not be empty"},
      {ReplaceFirst(good, "PeterNeumann", "Peter Neumann"),
       "must not contain spaces"},
      {ReplaceFirst(good, "PeterNeumann", "Peter\xE3\x80\x80Neumann"),
       "found U+3000"},
      {ReplaceFirst(good, "c74f20a3", "c74f20a"), "key id must be 8 hex"},
      {ReplaceFirst(good, "c74f20a3", "c74f20g3"), "key id must be 8 hex"},
      {ReplaceFirst(good, "c74f20a3", "c74f20a4"),
       "key id c74f20a4 does not match the name and key, which give c74f20a3"},
      {ReplaceFirst(good, "PeterNeumann", "PeterNeumanm"), "does not match"},
      {ReplaceFirst(good, "ARpc", "ARpd"), "does not match"},
      {ReplaceFirst(good, "W", "W="), "not canonical base64"},
      {ReplaceFirst(good, "ARpc", "A*pc"), "not canonical base64"},
      {"a+00000000+" + absl::Base64Escape(std::string(33, '\x02')),
       "unsupported signature type 0x02"},
      {"a+00000000+" + absl::Base64Escape(std::string("\x01\x02\x03")),
       "an Ed25519 key is 32 bytes, got 2"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<NoteVerifier> v = NoteVerifier::Parse(c.vkey);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << c.vkey;
    EXPECT_THAT(v.status().message(), HasSubstr(c.reason)) << c.vkey;
  }
}

TEST(NoteKeyTest, MalformedSignerKeysAreRejected) {
  const std::string good(kGoSignerKey);
  EXPECT_THAT(NoteSigner::Parse(good.substr(12)).status().message(),
              HasSubstr("must start with \"PRIVATE+KEY+\""));
  EXPECT_THAT(NoteSigner::Parse(ReplaceFirst(good, "PRIVATE", "private"))
                  .status()
                  .message(),
              HasSubstr("must start with"));
  EXPECT_THAT(NoteSigner::Parse(ReplaceFirst(good, "c74f20a3", "c74f20a4"))
                  .status()
                  .message(),
              HasSubstr("signer key: key id c74f20a4 does not match"));
  EXPECT_THAT(
      NoteSigner::Parse(ReplaceFirst(good, "AYEK", "AoEK")).status().message(),
      HasSubstr("unsupported signature type 0x02"));
  // The secret never appears in an error.
  absl::Status truncated =
      NoteSigner::Parse(good.substr(0, good.size() - 4)).status();
  EXPECT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.message(), Not(HasSubstr("AYEKFALV")));
  EXPECT_THAT(NoteSigner::FromEd25519Seed("a", "short").status().message(),
              HasSubstr("is 32 bytes, got 5"));
}

TEST(SignedNoteTest, OpensWithTheKnownKey) {
  absl::StatusOr<SignedNote> note = OpenNote(GoNote(), {GoVerifier()});
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->text, kGoText);
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "PeterNeumann");
  EXPECT_EQ(note->signatures[0].key_id, 0xc74f20a3u);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
}

TEST(SignedNoteTest, IgnoresUnknownSignatures) {
  const std::string both =
      absl::StrCat(kGoText, "\n", kGoUnknownSignatureLine, kGoSignatureLine);
  absl::StatusOr<SignedNote> note = OpenNote(both, {GoVerifier()});
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->signatures.size(), 2u);
  // Same name as a known key but another id: unknown, so ignored.
  const std::string other_id = ReplaceFirst(
      both, "rwz+eBzm", "x08go/Zz");  // EnochRoot's line, PeterNeumann's id
  EXPECT_TRUE(OpenNote(ReplaceFirst(other_id, "EnochRoot", "PeterNeumann2"),
                       {GoVerifier()})
                  .ok());
}

TEST(SignedNoteTest, AcceptsManySignatures) {
  // The spec requires accepting at least 16; witnesses cosign checkpoints.
  std::string note = absl::StrCat(kGoText, "\n");
  for (int i = 0; i < 40; ++i) {
    absl::StrAppend(&note, ReplaceFirst(kGoUnknownSignatureLine, "EnochRoot",
                                        absl::StrCat("witness", i)));
  }
  absl::StrAppend(&note, kGoSignatureLine);
  absl::StatusOr<SignedNote> opened = OpenNote(note, {GoVerifier()});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->signatures.size(), 41u);
}

TEST(SignedNoteTest, TamperingIsRejected) {
  const NoteVerifier key = GoVerifier();
  // Body changed.
  absl::Status s =
      OpenNote(ReplaceFirst(GoNote(), "problem,", "problem;"), {key}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("signature by PeterNeumann+c74f20a3 does not verify"));
  // Signature bytes changed (key id intact).
  s = OpenNote(ReplaceFirst(GoNote(), "RZb6KE6R", "RZb6KE6S"), {key}).status();
  EXPECT_THAT(s.message(), HasSubstr("does not verify"));
  // Key id changed: the line is no longer by a known key.
  s = OpenNote(ReplaceFirst(GoNote(), "x08go/", "x08gp/"), {key}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("no signature by a known key (signed by "
                                     "PeterNeumann+c74f20a7)"));
  // Name changed.
  s = OpenNote(ReplaceFirst(GoNote(), "— PeterNeumann", "— PeterNeuman"), {key})
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  // Only an unknown key signed.
  s = OpenNote(absl::StrCat(kGoText, "\n", kGoUnknownSignatureLine), {key})
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  // No known keys at all.
  EXPECT_EQ(OpenNote(GoNote(), {}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A bad signature by the known key next to a good one.
  const std::string bad_line =
      ReplaceFirst(kGoSignatureLine, "RZb6KE6R", "RZb6KE6S");
  s = OpenNote(absl::StrCat(GoNote(), bad_line), {key}).status();
  EXPECT_THAT(s.message(), HasSubstr("does not verify"));
  // The same key twice among the known keys.
  EXPECT_THAT(OpenNote(GoNote(), {key, key}).status().message(),
              HasSubstr("two keys are PeterNeumann+c74f20a3"));
}

TEST(SignedNoteTest, MalformedNotesAreRejected) {
  struct Case {
    std::string note;
    std::string reason;
  };
  const std::string good = GoNote();
  std::string many = absl::StrCat(kGoText, "\n");
  for (int i = 0; i <= 100; ++i) absl::StrAppend(&many, kGoSignatureLine);
  const std::vector<Case> cases = {
      {"", "no blank line"},
      {std::string(kGoText), "no blank line"},
      {absl::StrCat(kGoText, "\n"), "no signatures"},
      {good.substr(0, good.size() - 1), "does not end in a newline"},
      {ReplaceFirst(good, "— ", "- "), "must start with an em dash"},
      {ReplaceFirst(good, "— ", "—"), "must start with an em dash"},
      {ReplaceFirst(good, "— PeterNeumann ", "— PeterNeumann"),
       "expected \"— <key name> <base64>\""},
      {ReplaceFirst(good, "— PeterNeumann", "— Peter+Neumann"),
       "key name: must not contain"},
      {ReplaceFirst(good, "AM=\n", "AM\n"), "not canonical base64"},
      {ReplaceFirst(good, "x08go", "x08g!"), "not canonical base64"},
      {absl::StrCat(kGoText, "\n— PeterNeumann AAAAAA==\n"),
       "at least one byte, got 4 bytes"},
      {ReplaceFirst(good, "problem,\n", "problem,\r\n"),
       "control character 0x0d at byte 56"},
      {ReplaceFirst(good, "you", "y\xC3u"), "not well-formed UTF-8"},
      {many, "more than 100 signatures"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SignedNote> note = ParseSignedNote(c.note);
    EXPECT_EQ(note.status().code(), absl::StatusCode::kInvalidArgument)
        << c.note;
    EXPECT_THAT(note.status().message(), HasSubstr(c.reason)) << c.note;
    EXPECT_FALSE(OpenNote(c.note, {GoVerifier()}).ok());
  }
}

TEST(SignedNoteTest, TextMayHoldBlankLines) {
  absl::StatusOr<NoteSigner> signer = NoteSigner::Parse(kGoSignerKey);
  const std::string text = "a\n\nb\n\n";
  absl::StatusOr<std::string> note = SignNote(text, *signer);
  ASSERT_TRUE(note.ok()) << note.status();
  absl::StatusOr<SignedNote> opened = OpenNote(*note, {GoVerifier()});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, text);
  EXPECT_THAT(SignNote("no newline", *signer).status().message(),
              HasSubstr("must end in a newline"));
  EXPECT_THAT(SignNote("tab\there\n", *signer).status().message(),
              HasSubstr("control character 0x09"));
}

merkle::Hash RootOf(absl::string_view seed) { return merkle::HashLeaf(seed); }

TEST(CheckpointTest, FormatAndParseRoundTrip) {
  Checkpoint checkpoint{"ledger.example/city", 20852163, RootOf("x"), {}};
  absl::StatusOr<std::string> text = FormatCheckpoint(checkpoint);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(
      *text,
      absl::StrCat("ledger.example/city\n20852163\n",
                   absl::Base64Escape(merkle::HashToBytes(RootOf("x"))), "\n"));
  EXPECT_EQ(*ParseCheckpoint(*text), checkpoint);

  checkpoint.extensions = {"ext one", "ext two"};
  checkpoint.tree_size = 0;
  text = FormatCheckpoint(checkpoint);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*ParseCheckpoint(*text), checkpoint);
  checkpoint.tree_size = UINT64_MAX;
  EXPECT_EQ(*ParseCheckpoint(*FormatCheckpoint(checkpoint)), checkpoint);
}

TEST(CheckpointTest, ParsesTheSpecExample) {
  absl::StatusOr<Checkpoint> checkpoint = ParseCheckpoint(
      "example.com/behind-the-sofa\n20852163\n"
      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(checkpoint->tree_size, 20852163u);
  EXPECT_EQ(absl::Base64Escape(merkle::HashToBytes(checkpoint->root_hash)),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
}

TEST(CheckpointTest, MalformedTextsAreRejected) {
  const std::string root = absl::Base64Escape(merkle::HashToBytes(RootOf("x")));
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "must end in a newline"},
      {absl::StrCat("o\n5\n", root), "must end in a newline"},
      {"o\n5\n", "got 2 line(s)"},
      {absl::StrCat("\n5\n", root, "\n"), "line 1 is empty"},
      {absl::StrCat("o\n05\n", root, "\n"), "line 2 (tree size)"},
      {absl::StrCat("o\n-5\n", root, "\n"), "line 2 (tree size)"},
      {absl::StrCat("o\n+5\n", root, "\n"), "line 2 (tree size)"},
      {absl::StrCat("o\n 5\n", root, "\n"), "line 2 (tree size)"},
      {absl::StrCat("o\n18446744073709551616\n", root, "\n"),
       "line 2 (tree size)"},
      {"o\n5\nAAAA\n", "line 3 (root hash)"},
      {absl::StrCat("o\n5\n", root.substr(0, root.size() - 1), "\n"),
       "line 3 (root hash)"},
      {absl::StrCat("o\n5\n", root, "\n\next\n"), "line 4 is empty"},
      {absl::StrCat("o\n5\n", root, "\next\n\n"), "line 5 is empty"},
      {absl::StrCat("o\r\n5\n", root, "\n"), "control character"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Checkpoint> checkpoint = ParseCheckpoint(c.text);
    EXPECT_EQ(checkpoint.status().code(), absl::StatusCode::kInvalidArgument)
        << c.text;
    EXPECT_THAT(checkpoint.status().message(), HasSubstr(c.reason)) << c.text;
  }
  EXPECT_THAT(FormatCheckpoint({"", 1, RootOf("x"), {}}).status().message(),
              HasSubstr("origin must not be empty"));
  EXPECT_THAT(FormatCheckpoint({"a\nb", 1, RootOf("x"), {}}).status().message(),
              HasSubstr("origin must not contain a newline"));
  EXPECT_THAT(
      FormatCheckpoint({"o", 1, RootOf("x"), {"ok", ""}}).status().message(),
      HasSubstr("extension line 2 must not be empty"));
}

TEST(CheckpointTest, SignAndOpen) {
  absl::StatusOr<NoteSigner> signer =
      NoteSigner::Generate("ledger.example/city");
  ASSERT_TRUE(signer.ok());
  const Checkpoint checkpoint{"ledger.example/city", 42, RootOf("r"), {}};
  absl::StatusOr<std::string> note = SignCheckpoint(checkpoint, *signer);
  ASSERT_TRUE(note.ok()) << note.status();
  absl::StatusOr<Checkpoint> opened =
      OpenCheckpoint(*note, "ledger.example/city", {signer->verifier()});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, checkpoint);
  EXPECT_THAT(OpenCheckpoint(*note, "ledger.example/town", {signer->verifier()})
                  .status()
                  .message(),
              HasSubstr("origin is \"ledger.example/city\", expected "
                        "\"ledger.example/town\""));
  EXPECT_FALSE(OpenCheckpoint(ReplaceFirst(*note, "42", "43"),
                              "ledger.example/city", {signer->verifier()})
                   .ok());
}

TEST(CheckpointTest, ConsistencyBetweenCheckpoints) {
  merkle::MemorySubtreeStore store;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store.Append(merkle::HashLeaf(absl::StrCat(i))).ok());
  }
  const Checkpoint older{"o", 6, *merkle::RootHash(6, store), {}};
  const Checkpoint newer{"o", 20, *merkle::RootHash(20, store), {}};
  const std::vector<merkle::Hash> proof =
      *merkle::ConsistencyProof(6, 20, store);
  EXPECT_TRUE(VerifyCheckpointConsistency(older, newer, proof).ok());
  EXPECT_TRUE(VerifyCheckpointConsistency(newer, newer, {}).ok());
  EXPECT_THAT(VerifyCheckpointConsistency(newer, older, proof).message(),
              HasSubstr("the first tree is larger than the second"));
  Checkpoint forked = newer;
  forked.root_hash[5] ^= 0x10;
  EXPECT_THAT(VerifyCheckpointConsistency(older, forked, proof).message(),
              HasSubstr("second root"));
  Checkpoint other_log = newer;
  other_log.origin = "p";
  EXPECT_THAT(VerifyCheckpointConsistency(older, other_log, proof).message(),
              HasSubstr("checkpoints of different logs"));
}

class TlogProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<NoteSigner> signer = NoteSigner::Generate(kOrigin);
    ASSERT_TRUE(signer.ok());
    signer_ = std::make_unique<NoteSigner>(*signer);
    for (int i = 0; i < 11; ++i) {
      leaves_.push_back(merkle::HashLeaf(absl::StrCat("event ", i)));
      ASSERT_TRUE(store_.Append(leaves_.back()).ok());
    }
    const Checkpoint checkpoint{
        std::string(kOrigin), 11, *merkle::RootHash(11, store_), {}};
    checkpoint_ = *SignCheckpoint(checkpoint, *signer_);
  }

  TlogProof ProofOf(uint64_t index) {
    return {std::nullopt, index, *merkle::InclusionProof(index, 11, store_),
            checkpoint_};
  }

  static constexpr absl::string_view kOrigin = "ledger.example/city";
  std::unique_ptr<NoteSigner> signer_;
  merkle::MemorySubtreeStore store_;
  std::vector<merkle::Hash> leaves_;
  std::string checkpoint_;
};

TEST_F(TlogProofTest, FormatParseVerify) {
  TlogProof proof = ProofOf(7);
  absl::StatusOr<std::string> text = FormatTlogProof(proof);
  ASSERT_TRUE(text.ok()) << text.status();
  std::string want = "c2sp.org/tlog-proof@v1\nindex 7\n";
  for (const merkle::Hash& h : proof.hashes) {
    absl::StrAppend(&want, absl::Base64Escape(merkle::HashToBytes(h)), "\n");
  }
  absl::StrAppend(&want, "\n", checkpoint_);
  EXPECT_EQ(*text, want);

  absl::StatusOr<TlogProof> parsed = ParseTlogProof(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, proof);
  absl::StatusOr<Checkpoint> checkpoint =
      VerifyTlogProof(*parsed, leaves_[7], kOrigin, {signer_->verifier()});
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->tree_size, 11u);

  proof.extra = std::string("\x00\x01opaque", 8);
  text = FormatTlogProof(proof);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("\nextra AAFvcGFxdWU=\nindex 7\n"));
  EXPECT_EQ(*ParseTlogProof(*text), proof);
}

TEST_F(TlogProofTest, VerificationFailures) {
  const TlogProof proof = ProofOf(7);
  const std::vector<NoteVerifier> keys = {signer_->verifier()};
  EXPECT_FALSE(VerifyTlogProof(proof, leaves_[6], kOrigin, keys).ok());
  TlogProof wrong_index = proof;
  wrong_index.index = 6;
  EXPECT_FALSE(VerifyTlogProof(wrong_index, leaves_[7], kOrigin, keys).ok());
  wrong_index.index = 11;
  EXPECT_THAT(VerifyTlogProof(wrong_index, leaves_[7], kOrigin, keys)
                  .status()
                  .message(),
              HasSubstr("not below tree size 11"));
  TlogProof flipped = proof;
  flipped.hashes[1][0] ^= 1;
  EXPECT_FALSE(VerifyTlogProof(flipped, leaves_[7], kOrigin, keys).ok());
  TlogProof other_key = proof;
  EXPECT_EQ(VerifyTlogProof(other_key, leaves_[7], kOrigin,
                            {NoteSigner::Generate(kOrigin)->verifier()})
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TlogProofTest, MalformedProofsAreRejected) {
  const std::string good = *FormatTlogProof(ProofOf(7));
  const std::string hash_line =
      absl::Base64Escape(merkle::HashToBytes(ProofOf(7).hashes[0]));
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "line 1: must be \"c2sp.org/tlog-proof@v1\""},
      {ReplaceFirst(good, "@v1", "@v2"), "line 1: must be"},
      {"c2sp.org/tlog-proof@v1\n", "line 2: missing the index line"},
      {ReplaceFirst(good, "index 7", "index 07"), "line 2: index must be"},
      {ReplaceFirst(good, "index 7", "index -7"), "line 2: index must be"},
      {ReplaceFirst(good, "index 7", "index  7"), "line 2: index must be"},
      {ReplaceFirst(good, "index 7", "idx 7"), "line 2: expected \"index"},
      {ReplaceFirst(good, "index 7", "extra !!\nindex 7"),
       "line 2: extra data is not canonical base64"},
      {ReplaceFirst(good, "index 7", "extra AA==\nindex x"),
       "line 3: index must be"},
      {ReplaceFirst(good, "index 7", "extra AA=="), "line 3: expected \"index"},
      {ReplaceFirst(good, hash_line, hash_line.substr(4)),
       "line 3: a proof hash must be"},
      {ReplaceFirst(good, hash_line, hash_line + " "),
       "line 3: a proof hash must be"},
      {good.substr(0, good.find("\n\n") + 1), "missing the blank line"},
      {good.substr(0, good.find("\n\n") + 2), "checkpoint: note: no blank"},
      {ReplaceFirst(good, "\n11\n", "\n011\n"), "line 2 (tree size)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TlogProof> proof = ParseTlogProof(c.text);
    EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument)
        << c.text;
    EXPECT_THAT(proof.status().message(), HasSubstr(c.reason)) << c.text;
  }
  TlogProof bad_checkpoint = ProofOf(7);
  bad_checkpoint.checkpoint = "not a note";
  EXPECT_FALSE(FormatTlogProof(bad_checkpoint).ok());
}

}  // namespace
}  // namespace fieldledger
