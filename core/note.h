// The ledger's signed text formats, as the C2SP specifications define them:
// Ed25519 note keys, signed notes (c2sp.org/signed-note), checkpoints
// (c2sp.org/tlog-checkpoint) and inclusion proofs (c2sp.org/tlog-proof@v1).
// Pure: no I/O; randomness only in NoteSigner::Generate.
//
//   FL_ASSIGN_OR_RETURN(NoteSigner signer,
//                       NoteSigner::Generate("ledger.example/city"));
//   std::string secret = signer.ToString();  // keep it secret
//   NoteVerifier verifier = signer.verifier();  // publish verifier.ToString()
//
//   Checkpoint checkpoint{"ledger.example/city", tree_size, root};
//   FL_ASSIGN_OR_RETURN(std::string note, SignCheckpoint(checkpoint, signer));
//   ...
//   FL_ASSIGN_OR_RETURN(Checkpoint verified,
//                       OpenCheckpoint(note, "ledger.example/city",
//                                      {verifier}));
//
// Key texts follow the Go implementation (golang.org/x/mod/sumdb/note):
// a verifier key is "<name>+<8 hex key id>+<base64(0x01 || public key)>",
// a signer key "PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>",
// where the key id is SHA-256(name || 0x0A || 0x01 || public key)[:4] read
// big-endian.
//
// Errors: text that does not follow the grammar is InvalidArgument naming
// the part and the reason; a signature by a known key that does not verify
// is InvalidArgument; a note with no signature by any known key is
// Unauthenticated.
//
// Thread safety: NoteSigner and NoteVerifier are immutable after creation;
// their const methods and all the free functions may be called from any
// number of threads at once.
#ifndef FIELDLEDGER_CORE_NOTE_H_
#define FIELDLEDGER_CORE_NOTE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/merkle.h"

namespace fieldledger {

// Signature lines past this many make a note malformed. The spec requires
// accepting at least 16.
inline constexpr size_t kMaxNoteSignatures = 100;

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// OK when `name` can name a note key: non-empty UTF-8 without Unicode
// spaces, '+' or control characters.
absl::Status ValidateNoteKeyName(absl::string_view name);

// SHA-256(name || 0x0A || 0x01 || public_key)[:4] as a big-endian uint32:
// the key id of an Ed25519 note key.
uint32_t Ed25519NoteKeyId(absl::string_view name, absl::string_view public_key);

// The public half of a note key: checks signatures.
class NoteVerifier {
 public:
  // Parses "<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>".
  // InvalidArgument saying which part is wrong, including a key id that does
  // not match the name and key.
  static absl::StatusOr<NoteVerifier> Parse(absl::string_view vkey);

  // The verifier for a raw 32-byte Ed25519 public key.
  static absl::StatusOr<NoteVerifier> FromEd25519PublicKey(
      absl::string_view name, absl::string_view public_key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  // The 32 raw bytes of the Ed25519 public key.
  const std::string& public_key() const { return public_key_; }

  // The verifier key text; Parse(ToString()) gives this verifier back.
  std::string ToString() const;

  // OK when `signature` (the bytes after the key id) is a valid Ed25519
  // signature of `message` by this key; InvalidArgument otherwise.
  absl::Status Verify(absl::string_view message,
                      absl::string_view signature) const;

 private:
  NoteVerifier(std::string name, uint32_t key_id, std::string public_key)
      : name_(std::move(name)),
        key_id_(key_id),
        public_key_(std::move(public_key)) {}

  std::string name_;
  uint32_t key_id_;
  std::string public_key_;
};

// The private half of a note key: signs. Holds the Ed25519 seed, which it
// wipes from memory when destroyed.
class NoteSigner {
 public:
  // A new key from the system's cryptographic generator.
  static absl::StatusOr<NoteSigner> Generate(absl::string_view name);

  // Parses "PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>".
  // InvalidArgument saying which part is wrong (never echoing the secret).
  static absl::StatusOr<NoteSigner> Parse(absl::string_view skey);

  // The signer for a raw 32-byte Ed25519 seed (RFC 8032 private key).
  static absl::StatusOr<NoteSigner> FromEd25519Seed(absl::string_view name,
                                                    absl::string_view seed);

  NoteSigner(const NoteSigner&) = default;
  NoteSigner& operator=(const NoteSigner&) = default;
  ~NoteSigner();

  const std::string& name() const { return verifier_.name(); }
  uint32_t key_id() const { return verifier_.key_id(); }
  const NoteVerifier& verifier() const { return verifier_; }

  // The signer key text: a secret. Parse(ToString()) gives this key back.
  std::string ToString() const;

  // The 64-byte Ed25519 signature of `message`. Internal only if OpenSSL
  // fails.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

 private:
  NoteSigner(NoteVerifier verifier,
             const std::array<uint8_t, kEd25519SeedSize>& seed)
      : verifier_(std::move(verifier)), seed_(seed) {}

  NoteVerifier verifier_;
  std::array<uint8_t, kEd25519SeedSize> seed_;
};

// One signature line: "— <name> <base64(key id || signature)>".
struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // the raw bytes after the key id

  friend bool operator==(const NoteSignature& a, const NoteSignature& b) {
    return a.name == b.name && a.key_id == b.key_id &&
           a.signature == b.signature;
  }
};

// A signed note taken apart: the text (with its final newline, without the
// blank line) and the signature lines in order.
struct SignedNote {
  std::string text;
  std::vector<NoteSignature> signatures;
};

// Splits a signed note by the grammar alone: nothing is verified, so the
// text must not be trusted. InvalidArgument when the note is not UTF-8, has
// a control character other than newline, has no blank line before the
// signatures, a signature line is malformed, or there are more than
// kMaxNoteSignatures signatures.
absl::StatusOr<SignedNote> ParseSignedNote(absl::string_view note);

// The text form of `note`. InvalidArgument when the text does not end in a
// newline, has a control character, or a signature is malformed (name,
// empty signature), or there are no signatures.
absl::StatusOr<std::string> FormatSignedNote(const SignedNote& note);

// `text` (which must end in a newline) signed by `signer`, as a signed note.
absl::StatusOr<std::string> SignNote(absl::string_view text,
                                     const NoteSigner& signer);

// Parses `note` and verifies it against `known` keys, as the spec says:
// signatures by keys not in `known` (by name and key id) are ignored; every
// signature by a known key must verify (else InvalidArgument naming the
// key); at least one must exist (else Unauthenticated). On success the
// returned text is authentic.
absl::StatusOr<SignedNote> OpenNote(absl::string_view note,
                                    absl::Span<const NoteVerifier> known);

// A checkpoint (signed tree head): the body of a checkpoint note.
struct Checkpoint {
  std::string origin;  // the log's identity, e.g. "ledger.example/city"
  uint64_t tree_size = 0;
  merkle::Hash root_hash{};
  std::vector<std::string> extensions;  // opaque extra lines; NOT RECOMMENDED

  friend bool operator==(const Checkpoint& a, const Checkpoint& b) {
    return a.origin == b.origin && a.tree_size == b.tree_size &&
           a.root_hash == b.root_hash && a.extensions == b.extensions;
  }
};

// The note text of `checkpoint`: origin, decimal size, base64 root and the
// extension lines, each ending in a newline. InvalidArgument for an empty
// origin or extension line, or one with a newline or control character.
absl::StatusOr<std::string> FormatCheckpoint(const Checkpoint& checkpoint);

// Parses a checkpoint note text strictly (canonical decimal without leading
// zeros, canonical padded base64 of exactly 32 bytes, non-empty lines,
// final newline). InvalidArgument naming the line and the reason.
absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text);

// FormatCheckpoint, then SignNote. The spec recommends a signer named like
// the origin.
absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                           const NoteSigner& signer);

// OpenNote, then ParseCheckpoint, then the origin must be `origin`
// (InvalidArgument otherwise).
absl::StatusOr<Checkpoint> OpenCheckpoint(absl::string_view note,
                                          absl::string_view origin,
                                          absl::Span<const NoteVerifier> known);

// OK when `proof` shows that `newer` extends `older`, two checkpoints the
// caller has already opened (a client's last verified checkpoint and a new
// one): same origin, older.tree_size <= newer.tree_size, and
// merkle::VerifyConsistency of their sizes and roots. InvalidArgument
// saying why otherwise.
absl::Status VerifyCheckpointConsistency(const Checkpoint& older,
                                         const Checkpoint& newer,
                                         absl::Span<const merkle::Hash> proof);

// A c2sp.org/tlog-proof@v1: a leaf's index and inclusion proof in the tree
// of a signed checkpoint, plus optional unauthenticated extra data.
struct TlogProof {
  std::optional<std::string> extra;  // raw bytes; never trust them
  uint64_t index = 0;
  std::vector<merkle::Hash> hashes;  // the inclusion proof, leaf side first
  std::string checkpoint;            // the signed checkpoint note, verbatim

  friend bool operator==(const TlogProof& a, const TlogProof& b) {
    return a.extra == b.extra && a.index == b.index && a.hashes == b.hashes &&
           a.checkpoint == b.checkpoint;
  }
};

// The text form of `proof`. InvalidArgument when the checkpoint is not a
// well-formed signed checkpoint note.
absl::StatusOr<std::string> FormatTlogProof(const TlogProof& proof);

// Parses a tlog-proof strictly: the "c2sp.org/tlog-proof@v1" line, an
// optional "extra <base64>" line, the "index <decimal>" line, base64 hash
// lines, a blank line, then a well-formed signed checkpoint note (parsed
// for grammar, not verified). InvalidArgument naming the line and reason.
absl::StatusOr<TlogProof> ParseTlogProof(absl::string_view text);

// Verifies `proof` for the leaf with hash `leaf_hash`: opens its checkpoint
// (OpenCheckpoint with `origin` and `known`), then checks the inclusion
// proof against the checkpoint's root. Returns the verified checkpoint.
absl::StatusOr<Checkpoint> VerifyTlogProof(
    const TlogProof& proof, const merkle::Hash& leaf_hash,
    absl::string_view origin, absl::Span<const NoteVerifier> known);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_NOTE_H_
