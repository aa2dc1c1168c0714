#include "core/note.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace fieldledger {
namespace {

constexpr uint8_t kEd25519Type = 0x01;
constexpr absl::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // "— "
constexpr absl::string_view kPrivateKeyPrefix = "PRIVATE+KEY+";
constexpr absl::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Decodes the code point at s[*i] (s is known to be valid UTF-8) and
// advances *i past it.
uint32_t NextCodePoint(absl::string_view s, size_t* i) {
  const auto c = static_cast<unsigned char>(s[*i]);
  size_t len = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
                                    : 4;
  uint32_t cp = len == 1   ? c
                : len == 2 ? c & 0x1F
                : len == 3 ? c & 0x0F
                           : c & 0x07;
  for (size_t k = 1; k < len; ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  }
  *i += len;
  return cp;
}

// Unicode White_Space, as Go's unicode.IsSpace sees it.
bool IsUnicodeSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// OK when `s` is UTF-8 with no control character other than newline (the
// signed-note rule); the error names `what` and the byte offset.
absl::Status CheckNoteCharacters(absl::string_view what, absl::string_view s) {
  if (!Utf8Length(s).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not well-formed UTF-8"));
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\n') {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: control character 0x%02x at byte %d", what, c, i));
    }
  }
  return absl::OkStatus();
}

// RFC 4648 §4 base64 in its one canonical form (padded, no stray bits).
std::optional<std::string> DecodeBase64(absl::string_view s) {
  std::string out;
  if (!absl::Base64Unescape(s, &out) || absl::Base64Escape(out) != s) {
    OPENSSL_cleanse(out.data(), out.size());  // it may be a key
    return std::nullopt;
  }
  return out;
}

// ASCII decimal with no leading zeros (except "0") that fits in 64 bits.
std::optional<uint64_t> ParseDecimal(absl::string_view s) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(s, &value)) return std::nullopt;
  return value;
}

// Exactly 8 hex digits.
std::optional<uint32_t> ParseKeyIdHex(absl::string_view s) {
  if (s.size() != 8) return std::nullopt;
  uint32_t id = 0;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    const int digit = absl::ascii_isdigit(static_cast<unsigned char>(c))
                          ? c - '0'
                          : absl::ascii_tolower(c) - 'a' + 10;
    id = (id << 4) | static_cast<uint32_t>(digit);
  }
  return id;
}

std::string KeyIdHex(uint32_t id) { return absl::StrFormat("%08x", id); }

std::string KeyLabel(absl::string_view name, uint32_t id) {
  return absl::StrCat(name, "+", KeyIdHex(id));
}

// Splits s at the first `sep`: {before, after, found}.
struct Cut {
  absl::string_view before;
  absl::string_view after;
  bool found;
};
Cut CutAt(absl::string_view s, char sep) {
  const size_t i = s.find(sep);
  if (i == absl::string_view::npos) return {s, {}, false};
  return {s.substr(0, i), s.substr(i + 1), true};
}

// Overwrites a string holding secret bytes when it goes out of scope.
struct WipeOnExit {
  std::string* secret;
  ~WipeOnExit() { OPENSSL_cleanse(secret->data(), secret->size()); }
};

// The "<name>+<hex id>+<base64(0x01 || 32 bytes)>" part shared by verifier
// and signer keys. `what` names the key kind in errors, which never show
// the key bytes.
struct KeyText {
  std::string name;
  uint32_t key_id;
  std::string key;  // the 32 bytes after the type byte
};
absl::StatusOr<KeyText> ParseKeyText(absl::string_view what,
                                     absl::string_view text) {
  const Cut name = CutAt(text, '+');
  const Cut id = CutAt(name.after, '+');
  if (!name.found || !id.found) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": expected <name>+<8 hex digit key id>+<base64 key>"));
  }
  if (absl::Status s = ValidateNoteKeyName(name.before); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": name: ", s.message()));
  }
  const std::optional<uint32_t> key_id = ParseKeyIdHex(id.before);
  if (!key_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": key id must be 8 hex digits, got \"", id.before, "\""));
  }
  std::optional<std::string> key = DecodeBase64(id.after);
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": key is not canonical base64"));
  }
  const WipeOnExit wipe{&*key};
  if (key->empty() || static_cast<uint8_t>((*key)[0]) != kEd25519Type) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": unsupported signature type ",
        key->empty()
            ? std::string("(none)")
            : absl::StrFormat("0x%02x", static_cast<uint8_t>((*key)[0])),
        " (only 0x01, Ed25519)"));
  }
  if (key->size() != 1 + kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": an Ed25519 key is 32 bytes, got ", key->size() - 1));
  }
  return KeyText{std::string(name.before), *key_id, key->substr(1)};
}

absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::string pub(kEd25519PublicKeySize, '\0');
  size_t size = pub.size();
  if (EVP_PKEY_get_raw_public_key(
          pkey, reinterpret_cast<unsigned char*>(pub.data()), &size) != 1 ||
      size != kEd25519PublicKeySize) {
    return absl::InternalError("OpenSSL: cannot read the Ed25519 public key");
  }
  return pub;
}

absl::StatusOr<PkeyPtr> PrivateKey(
    const std::array<uint8_t, kEd25519SeedSize>& seed) {
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                            seed.data(), seed.size()));
  if (pkey == nullptr) {
    return absl::InternalError("OpenSSL: cannot load an Ed25519 private key");
  }
  return pkey;
}

}  // namespace

absl::Status ValidateNoteKeyName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("must not be empty");
  if (!Utf8Length(name).has_value()) {
    return absl::InvalidArgumentError("not well-formed UTF-8");
  }
  for (size_t i = 0; i < name.size();) {
    const size_t at = i;
    const uint32_t cp = NextCodePoint(name, &i);
    if (cp == '+' || cp < 0x20 || cp == 0x7F || IsUnicodeSpace(cp)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "must not contain spaces, '+' or control characters, found U+%04X "
          "at byte %d",
          cp, at));
    }
  }
  return absl::OkStatus();
}

uint32_t Ed25519NoteKeyId(absl::string_view name,
                          absl::string_view public_key) {
  const std::string digest = Sha256(absl::StrCat(
      name, "\n", std::string(1, static_cast<char>(kEd25519Type)), public_key));
  const auto* d = Bytes(digest);
  return (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) |
         (uint32_t{d[2]} << 8) | uint32_t{d[3]};
}

absl::StatusOr<NoteVerifier> NoteVerifier::Parse(absl::string_view vkey) {
  FL_ASSIGN_OR_RETURN(KeyText key, ParseKeyText("verifier key", vkey));
  const uint32_t want = Ed25519NoteKeyId(key.name, key.key);
  if (key.key_id != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "verifier key: key id ", KeyIdHex(key.key_id),
        " does not match the name and key, which give ", KeyIdHex(want)));
  }
  return NoteVerifier(std::move(key.name), key.key_id, std::move(key.key));
}

absl::StatusOr<NoteVerifier> NoteVerifier::FromEd25519PublicKey(
    absl::string_view name, absl::string_view public_key) {
  if (absl::Status s = ValidateNoteKeyName(name); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("key name: ", s.message()));
  }
  if (public_key.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an Ed25519 public key is 32 bytes, got ", public_key.size()));
  }
  return NoteVerifier(std::string(name), Ed25519NoteKeyId(name, public_key),
                      std::string(public_key));
}

std::string NoteVerifier::ToString() const {
  return absl::StrCat(
      name_, "+", KeyIdHex(key_id_), "+",
      absl::Base64Escape(absl::StrCat(
          std::string(1, static_cast<char>(kEd25519Type)), public_key_)));
}

absl::Status NoteVerifier::Verify(absl::string_view message,
                                  absl::string_view signature) const {
  const std::string label = KeyLabel(name_, key_id_);
  if (signature.size() != kEd25519SignatureSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature by ", label,
                     ": an Ed25519 signature is 64 "
                     "bytes, got ",
                     signature.size()));
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, Bytes(public_key_), public_key_.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (pkey == nullptr || ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) !=
          1) {
    return absl::InternalError(absl::StrCat(
        "OpenSSL: cannot set up Ed25519 verification for ", label));
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(),
                       Bytes(message), message.size()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature by ", label, " does not verify"));
  }
  return absl::OkStatus();
}

absl::StatusOr<NoteSigner> NoteSigner::Generate(absl::string_view name) {
  std::array<uint8_t, kEd25519SeedSize> seed;
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    return absl::InternalError("OpenSSL: no randomness for a new key");
  }
  absl::StatusOr<NoteSigner> signer = FromEd25519Seed(
      name, absl::string_view(reinterpret_cast<const char*>(seed.data()),
                              seed.size()));
  OPENSSL_cleanse(seed.data(), seed.size());
  return signer;
}

absl::StatusOr<NoteSigner> NoteSigner::Parse(absl::string_view skey) {
  if (!absl::StartsWith(skey, kPrivateKeyPrefix)) {
    return absl::InvalidArgumentError(
        "signer key: must start with \"PRIVATE+KEY+\"");
  }
  FL_ASSIGN_OR_RETURN(
      KeyText key,
      ParseKeyText("signer key", skey.substr(kPrivateKeyPrefix.size())));
  absl::StatusOr<NoteSigner> signer = FromEd25519Seed(key.name, key.key);
  OPENSSL_cleanse(key.key.data(), key.key.size());
  if (!signer.ok()) return signer.status();
  if (signer->key_id() != key.key_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("signer key: key id ", KeyIdHex(key.key_id),
                     " does not match the name and key, which give ",
                     KeyIdHex(signer->key_id())));
  }
  return signer;
}

absl::StatusOr<NoteSigner> NoteSigner::FromEd25519Seed(absl::string_view name,
                                                       absl::string_view seed) {
  if (absl::Status s = ValidateNoteKeyName(name); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("key name: ", s.message()));
  }
  if (seed.size() != kEd25519SeedSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an Ed25519 private key (seed) is 32 bytes, got ", seed.size()));
  }
  std::array<uint8_t, kEd25519SeedSize> raw;
  std::memcpy(raw.data(), seed.data(), raw.size());
  absl::StatusOr<PkeyPtr> pkey = PrivateKey(raw);
  absl::StatusOr<std::string> pub =
      pkey.ok() ? RawPublicKey(pkey->get()) : pkey.status();
  if (!pub.ok()) {
    OPENSSL_cleanse(raw.data(), raw.size());
    return pub.status();
  }
  FL_ASSIGN_OR_RETURN(NoteVerifier verifier,
                      NoteVerifier::FromEd25519PublicKey(name, *pub));
  NoteSigner signer(std::move(verifier), raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return signer;
}

NoteSigner::~NoteSigner() { OPENSSL_cleanse(seed_.data(), seed_.size()); }

std::string NoteSigner::ToString() const {
  std::string key(1 + seed_.size(), static_cast<char>(kEd25519Type));
  std::memcpy(key.data() + 1, seed_.data(), seed_.size());
  std::string out =
      absl::StrCat(kPrivateKeyPrefix, name(), "+", KeyIdHex(key_id()), "+",
                   absl::Base64Escape(key));
  OPENSSL_cleanse(key.data(), key.size());
  return out;
}

absl::StatusOr<std::string> NoteSigner::Sign(absl::string_view message) const {
  FL_ASSIGN_OR_RETURN(PkeyPtr pkey, PrivateKey(seed_));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string signature(kEd25519SignatureSize, '\0');
  size_t size = signature.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) !=
          1 ||
      EVP_DigestSign(ctx.get(),
                     reinterpret_cast<unsigned char*>(signature.data()), &size,
                     Bytes(message), message.size()) != 1 ||
      size != kEd25519SignatureSize) {
    return absl::InternalError("OpenSSL: Ed25519 signing failed");
  }
  return signature;
}

absl::StatusOr<SignedNote> ParseSignedNote(absl::string_view note) {
  FL_RETURN_IF_ERROR(CheckNoteCharacters("note", note));
  const size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "note: no blank line between the text and the signatures");
  }
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  absl::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return absl::InvalidArgumentError("note: no signatures");
  if (sigs.back() != '\n') {
    return absl::InvalidArgumentError(
        "note: the last signature line does not end in a newline");
  }
  int line_number = 0;
  while (!sigs.empty()) {
    ++line_number;
    const size_t end = sigs.find('\n');
    absl::string_view line = sigs.substr(0, end);
    sigs.remove_prefix(end + 1);
    const std::string where =
        absl::StrCat("note: signature line ", line_number);
    if (out.signatures.size() == kMaxNoteSignatures) {
      return absl::InvalidArgumentError(
          absl::StrCat("note: more than ", kMaxNoteSignatures, " signatures"));
    }
    if (!absl::ConsumePrefix(&line, kSignaturePrefix)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where,
                       ": must start with an em dash (U+2014) and a "
                       "space"));
    }
    const Cut name = CutAt(line, ' ');
    if (!name.found) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected \"— <key name> <base64>\""));
    }
    if (absl::Status s = ValidateNoteKeyName(name.before); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": key name: ", s.message()));
    }
    std::optional<std::string> raw = DecodeBase64(name.after);
    if (!raw) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": signature is not canonical base64"));
    }
    if (raw->size() < 5) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": a signature is a 4-byte key id and at least one byte, got ",
          raw->size(), " bytes"));
    }
    const auto* d = Bytes(*raw);
    NoteSignature sig;
    sig.name = std::string(name.before);
    sig.key_id = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) |
                 (uint32_t{d[2]} << 8) | uint32_t{d[3]};
    sig.signature = raw->substr(4);
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

absl::StatusOr<std::string> FormatSignedNote(const SignedNote& note) {
  if (note.text.empty() || note.text.back() != '\n') {
    return absl::InvalidArgumentError("note: text must end in a newline");
  }
  FL_RETURN_IF_ERROR(CheckNoteCharacters("note text", note.text));
  if (note.signatures.empty()) {
    return absl::InvalidArgumentError("note: no signatures");
  }
  if (note.signatures.size() > kMaxNoteSignatures) {
    return absl::InvalidArgumentError(
        absl::StrCat("note: more than ", kMaxNoteSignatures, " signatures"));
  }
  std::string out = absl::StrCat(note.text, "\n");
  for (const NoteSignature& sig : note.signatures) {
    if (absl::Status s = ValidateNoteKeyName(sig.name); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("note: signature key name: ", s.message()));
    }
    if (sig.signature.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "note: empty signature by ", KeyLabel(sig.name, sig.key_id)));
    }
    const char id[4] = {static_cast<char>(sig.key_id >> 24),
                        static_cast<char>(sig.key_id >> 16),
                        static_cast<char>(sig.key_id >> 8),
                        static_cast<char>(sig.key_id)};
    absl::StrAppend(&out, kSignaturePrefix, sig.name, " ",
                    absl::Base64Escape(
                        absl::StrCat(absl::string_view(id, 4), sig.signature)),
                    "\n");
  }
  return out;
}

absl::StatusOr<std::string> SignNote(absl::string_view text,
                                     const NoteSigner& signer) {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("note: text must end in a newline");
  }
  FL_RETURN_IF_ERROR(CheckNoteCharacters("note text", text));
  FL_ASSIGN_OR_RETURN(std::string signature, signer.Sign(text));
  return FormatSignedNote(
      {std::string(text), {{signer.name(), signer.key_id(), signature}}});
}

absl::StatusOr<SignedNote> OpenNote(absl::string_view note,
                                    absl::Span<const NoteVerifier> known) {
  for (size_t i = 0; i < known.size(); ++i) {
    for (size_t j = i + 1; j < known.size(); ++j) {
      if (known[i].name() == known[j].name() &&
          known[i].key_id() == known[j].key_id()) {
        return absl::InvalidArgumentError(
            absl::StrCat("known keys: two keys are ",
                         KeyLabel(known[i].name(), known[i].key_id())));
      }
    }
  }
  FL_ASSIGN_OR_RETURN(SignedNote parsed, ParseSignedNote(note));
  int verified = 0;
  for (const NoteSignature& sig : parsed.signatures) {
    for (const NoteVerifier& key : known) {
      if (key.name() != sig.name || key.key_id() != sig.key_id) continue;
      // A known key's signature must verify: a bad one rejects the note
      // even when another known key signed it.
      FL_RETURN_IF_ERROR(key.Verify(parsed.text, sig.signature));
      ++verified;
    }
  }
  if (verified == 0) {
    std::vector<std::string> signers;
    for (const NoteSignature& sig : parsed.signatures) {
      signers.push_back(KeyLabel(sig.name, sig.key_id));
    }
    return absl::UnauthenticatedError(
        absl::StrCat("note: no signature by a known key (signed by ",
                     absl::StrJoin(signers, ", "), ")"));
  }
  return parsed;
}

absl::StatusOr<std::string> FormatCheckpoint(const Checkpoint& checkpoint) {
  auto check_line = [](absl::string_view what,
                       absl::string_view line) -> absl::Status {
    if (line.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint: ", what, " must not be empty"));
    }
    if (line.find('\n') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint: ", what, " must not contain a newline"));
    }
    return CheckNoteCharacters(absl::StrCat("checkpoint: ", what), line);
  };
  FL_RETURN_IF_ERROR(check_line("origin", checkpoint.origin));
  std::string out = absl::StrCat(
      checkpoint.origin, "\n", checkpoint.tree_size, "\n",
      absl::Base64Escape(merkle::HashToBytes(checkpoint.root_hash)), "\n");
  for (size_t i = 0; i < checkpoint.extensions.size(); ++i) {
    FL_RETURN_IF_ERROR(check_line(absl::StrCat("extension line ", i + 1),
                                  checkpoint.extensions[i]));
    absl::StrAppend(&out, checkpoint.extensions[i], "\n");
  }
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text) {
  FL_RETURN_IF_ERROR(CheckNoteCharacters("checkpoint", text));
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint: text must end in a newline");
  }
  std::vector<absl::string_view> lines;
  for (absl::string_view rest = text.substr(0, text.size() - 1);;) {
    const Cut line = CutAt(rest, '\n');
    lines.push_back(line.before);
    if (!line.found) break;
    rest = line.after;
  }
  if (lines.size() < 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint: needs origin, tree size and root hash lines, got ",
        lines.size(), " line(s)"));
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint: line ", i + 1, " is empty"));
    }
  }
  Checkpoint out;
  out.origin = std::string(lines[0]);
  const std::optional<uint64_t> size = ParseDecimal(lines[1]);
  if (!size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint: line 2 (tree size) must be a decimal without leading "
        "zeros below 2^64, got \"",
        lines[1], "\""));
  }
  out.tree_size = *size;
  const std::optional<std::string> root = DecodeBase64(lines[2]);
  if (!root || root->size() != merkle::kHashSize) {
    return absl::InvalidArgumentError(
        "checkpoint: line 3 (root hash) must be the canonical base64 of 32 "
        "bytes");
  }
  out.root_hash = *merkle::HashFromBytes(*root);
  for (size_t i = 3; i < lines.size(); ++i) {
    out.extensions.emplace_back(lines[i]);
  }
  return out;
}

absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                           const NoteSigner& signer) {
  FL_ASSIGN_OR_RETURN(std::string text, FormatCheckpoint(checkpoint));
  return SignNote(text, signer);
}

absl::StatusOr<Checkpoint> OpenCheckpoint(
    absl::string_view note, absl::string_view origin,
    absl::Span<const NoteVerifier> known) {
  FL_ASSIGN_OR_RETURN(SignedNote opened, OpenNote(note, known));
  FL_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(opened.text));
  if (checkpoint.origin != origin) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint: origin is \"", checkpoint.origin,
                     "\", expected \"", origin, "\""));
  }
  return checkpoint;
}

absl::Status VerifyCheckpointConsistency(const Checkpoint& older,
                                         const Checkpoint& newer,
                                         absl::Span<const merkle::Hash> proof) {
  if (older.origin != newer.origin) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoints of different logs: \"", older.origin,
                     "\" and \"", newer.origin, "\""));
  }
  return merkle::VerifyConsistency(older.tree_size, newer.tree_size,
                                   older.root_hash, newer.root_hash, proof);
}

absl::StatusOr<std::string> FormatTlogProof(const TlogProof& proof) {
  FL_ASSIGN_OR_RETURN(SignedNote note, ParseSignedNote(proof.checkpoint));
  absl::Status checkpoint = ParseCheckpoint(note.text).status();
  if (!checkpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tlog-proof: ", checkpoint.message()));
  }
  std::string out = absl::StrCat(kTlogProofHeader, "\n");
  if (proof.extra.has_value()) {
    absl::StrAppend(&out, "extra ", absl::Base64Escape(*proof.extra), "\n");
  }
  absl::StrAppend(&out, "index ", proof.index, "\n");
  for (const merkle::Hash& hash : proof.hashes) {
    absl::StrAppend(&out, absl::Base64Escape(merkle::HashToBytes(hash)), "\n");
  }
  absl::StrAppend(&out, "\n", proof.checkpoint);
  return out;
}

absl::StatusOr<TlogProof> ParseTlogProof(absl::string_view text) {
  TlogProof out;
  int line_number = 0;
  // The next line without its newline; false at the end of the text or
  // when the last line has no newline.
  auto next_line = [&](absl::string_view* line) {
    const size_t end = text.find('\n');
    if (end == absl::string_view::npos) return false;
    *line = text.substr(0, end);
    text.remove_prefix(end + 1);
    ++line_number;
    return true;
  };
  auto error = [&](absl::string_view reason) {
    return absl::InvalidArgumentError(
        absl::StrCat("tlog-proof: line ", line_number, ": ", reason));
  };
  auto missing = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("tlog-proof: line ", line_number + 1, ": missing ", what));
  };
  absl::string_view line;
  if (!next_line(&line) || line != kTlogProofHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat("tlog-proof: line 1: must be \"", kTlogProofHeader, "\""));
  }
  if (!next_line(&line)) return missing("the index line");
  if (absl::ConsumePrefix(&line, "extra ")) {
    std::optional<std::string> extra = DecodeBase64(line);
    if (!extra) return error("extra data is not canonical base64");
    out.extra = std::move(*extra);
    if (!next_line(&line)) return missing("the index line");
  }
  if (!absl::ConsumePrefix(&line, "index ")) {
    return error("expected \"index <decimal>\"");
  }
  const std::optional<uint64_t> index = ParseDecimal(line);
  if (!index) {
    return error("index must be a decimal without leading zeros below 2^64");
  }
  out.index = *index;
  for (;;) {
    if (!next_line(&line)) {
      return missing("the blank line before the checkpoint");
    }
    if (line.empty()) break;
    const std::optional<std::string> hash = DecodeBase64(line);
    if (!hash || hash->size() != merkle::kHashSize) {
      return error("a proof hash must be the canonical base64 of 32 bytes");
    }
    out.hashes.push_back(*merkle::HashFromBytes(*hash));
  }
  absl::StatusOr<SignedNote> note = ParseSignedNote(text);
  if (!note.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tlog-proof: checkpoint: ", note.status().message()));
  }
  absl::Status checkpoint = ParseCheckpoint(note->text).status();
  if (!checkpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tlog-proof: ", checkpoint.message()));
  }
  out.checkpoint = std::string(text);
  return out;
}

absl::StatusOr<Checkpoint> VerifyTlogProof(
    const TlogProof& proof, const merkle::Hash& leaf_hash,
    absl::string_view origin, absl::Span<const NoteVerifier> known) {
  FL_ASSIGN_OR_RETURN(Checkpoint checkpoint,
                      OpenCheckpoint(proof.checkpoint, origin, known));
  FL_RETURN_IF_ERROR(merkle::VerifyInclusion(proof.index, checkpoint.tree_size,
                                             leaf_hash, proof.hashes,
                                             checkpoint.root_hash));
  return checkpoint;
}

}  // namespace fieldledger
