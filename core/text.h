// UTF-8 checks and identifiers shared by validation and the CLI.
#ifndef FIELDLEDGER_CORE_TEXT_H_
#define FIELDLEDGER_CORE_TEXT_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fieldledger {

// Number of code points in `s`, or nullopt when `s` is not well-formed UTF-8
// (overlong forms, surrogates and code points past U+10FFFF are not).
std::optional<size_t> Utf8Length(absl::string_view s);

// A UUIDv7 for `now` in canonical lower-case text form, with 74 random bits
// from a cryptographic generator.
std::string NewUuidV7(absl::Time now);

// True when `s` is a version-7, RFC 9562 variant UUID in canonical
// lower-case text form.
bool IsUuidV7(absl::string_view s);

// `bytes` bytes from a cryptographic generator, as lower-case hex.
std::string RandomHex(size_t bytes);

// SHA-256 of `data`, 32 raw bytes.
std::string Sha256(absl::string_view data);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_TEXT_H_
