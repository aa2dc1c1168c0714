// Identifying metadata in photo evidence: detection and removal (DESIGN.md
// principles 5 and 7). The client library strips a photo before it hashes
// it; the server refuses JPEG or PNG evidence that still carries metadata.
//
//   absl::StatusOr<std::string> clean = StripMetadata(photo);  // client
//   absl::Status s = CheckNoMetadata(upload);                   // server
//
// What counts as identifying metadata:
//   JPEG: APP1 segments (EXIF, XMP, extended XMP, anything else in APP1),
//         APP13 (Photoshop image resources, IPTC), COM, and any bytes after
//         EOI (camera trailers, "motion photo" videos).
//   PNG:  tEXt, iTXt, zTXt, eXIf and tIME chunks, and any bytes after IEND.
// Every other JPEG segment (APP0 JFIF, APP2 ICC profile, APP14 Adobe,
// DQT, DHT, SOFn, DRI, SOS, ...) and every other PNG chunk is kept byte
// for byte, and the JPEG entropy-coded data is copied verbatim, so the
// image decodes to the same pixels.
//
// JPEG allows APPn and COM segments between the scans of a progressive or
// multi-scan image, so the parser does not stop at the first SOS: it walks
// each scan's entropy-coded data (skipping 0xFF00 stuffing and RST0-7) to the
// next marker and strips metadata wherever it appears before EOI.
//
// Input that is JPEG or PNG by its magic bytes but malformed (bad or
// reserved marker, a segment or chunk running past the end, a bad PNG CRC,
// no EOI or IEND, ...) gives INVALID_ARGUMENT naming the problem and its byte
// offset. Parsing never reads outside `bytes`. Input of any other type is
// not inspected.
//
// Thread-safety: these are pure functions of their arguments; call them from
// any thread.
#ifndef FIELDLEDGER_CORE_MEDIA_H_
#define FIELDLEDGER_CORE_MEDIA_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldledger {

inline constexpr absl::string_view kMediaTypeJpeg = "image/jpeg";
inline constexpr absl::string_view kMediaTypePng = "image/png";
inline constexpr absl::string_view kMediaTypeOther = "application/octet-stream";

// The media type of `bytes` by its magic bytes: kMediaTypeJpeg when it starts
// with FF D8 FF, kMediaTypePng when it starts with the 8-byte PNG signature,
// otherwise kMediaTypeOther. Looks at nothing but the first bytes.
absl::string_view DetectMediaType(absl::string_view bytes);

// `bytes` without its identifying metadata (see above). JPEG fill bytes
// (0xFF padding) before a removed segment are removed with it.
// JPEG and PNG: INVALID_ARGUMENT when `bytes` is malformed.
// Any other media type: `bytes` unchanged.
// Idempotent: StripMetadata(*StripMetadata(x)) == *StripMetadata(x), and a
// JPEG or PNG without metadata comes back byte-identical.
absl::StatusOr<std::string> StripMetadata(absl::string_view bytes);

// The kinds of identifying metadata in `bytes`, each once, in the order of
// first appearance; empty when there is none (and always for media types
// other than JPEG and PNG). The kinds are
//   "JPEG APP1 (EXIF)", "JPEG APP1 (XMP)", "JPEG APP1 (extended XMP)",
//   "JPEG APP1 (other)", "JPEG APP13 (IPTC)", "JPEG APP13 (Photoshop)",
//   "JPEG APP13 (other)", "JPEG COM", "JPEG data after EOI",
//   "PNG tEXt", "PNG iTXt", "PNG zTXt", "PNG eXIf", "PNG tIME",
//   "PNG data after IEND".
// INVALID_ARGUMENT when a JPEG or PNG is malformed, as StripMetadata.
absl::StatusOr<std::vector<std::string>> FindMetadata(absl::string_view bytes);

// OK when `bytes` is well-formed and carries no identifying metadata, or is
// neither JPEG nor PNG. Otherwise INVALID_ARGUMENT: either the parse error,
// or "evidence carries identifying metadata: <kinds, comma-separated>; strip
// it before hashing".
absl::Status CheckNoMetadata(absl::string_view bytes);

// The node's rule for uploaded evidence: a JPEG or PNG (known from its first
// bytes, `head`) must pass CheckNoMetadata; anything else is accepted as it
// is. `content` yields the whole bytes and is called only for photos.
absl::Status AcceptEvidence(
    absl::string_view head,
    const std::function<absl::StatusOr<std::string>()>& content);

// The CRC-32 (ISO-HDLC / zlib / PNG) of `data`; exposed for tests.
uint32_t Crc32(absl::string_view data);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_MEDIA_H_
