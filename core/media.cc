#include "core/media.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fieldledger {
namespace {

constexpr absl::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

uint8_t ByteAt(absl::string_view s, size_t i) {
  return static_cast<uint8_t>(s[i]);
}

uint16_t BigEndian16(absl::string_view s, size_t i) {
  return static_cast<uint16_t>(ByteAt(s, i) << 8 | ByteAt(s, i + 1));
}

uint32_t BigEndian32(absl::string_view s, size_t i) {
  return static_cast<uint32_t>(ByteAt(s, i)) << 24 |
         static_cast<uint32_t>(ByteAt(s, i + 1)) << 16 |
         static_cast<uint32_t>(ByteAt(s, i + 2)) << 8 | ByteAt(s, i + 3);
}

// `v` as `digits` upper-case hex digits: markers are written 0xFFD8 in T.81.
std::string UpperHex(uint32_t v, int digits) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out(digits, '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[i] = kDigits[v & 0xF];
  return out;
}

// Where a walk over a file puts what it finds. Either pointer may be null.
struct WalkOutput {
  std::string* kept;                // the file without its metadata
  std::vector<std::string>* kinds;  // the kinds of metadata seen, once each

  void Keep(absl::string_view bytes) const {
    if (kept != nullptr) kept->append(bytes.data(), bytes.size());
  }
  void Found(absl::string_view kind) const {
    if (kinds != nullptr &&
        std::find(kinds->begin(), kinds->end(), kind) == kinds->end()) {
      kinds->emplace_back(kind);
    }
  }
};

// ---- JPEG (ITU-T T.81 Annex B) ----

std::string MarkerName(uint8_t code) {
  return absl::StrCat("0xFF", UpperHex(code, 2));
}

absl::Status JpegError(absl::string_view what, size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed JPEG: ", what, " at offset ", offset));
}

bool IsSof(uint8_t code) {
  // C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
  return code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 &&
         code != 0xCC;
}

// The Photoshop image resource blocks after "Photoshop 3.0\0": true when one
// of them is IPTC-IIM (resource 0x0404). Stops quietly at anything malformed;
// the segment is removed either way.
bool HasIptcResource(absl::string_view irbs) {
  size_t i = 0;
  while (irbs.size() - i >= 12) {  // signature, id, empty name, size
    const uint16_t id = BigEndian16(irbs, i + 4);
    if (id == 0x0404) return true;
    size_t name_size = 1 + ByteAt(irbs, i + 6);
    name_size += name_size % 2;
    i += 6;
    if (irbs.size() - i < name_size + 4) return false;
    i += name_size;
    size_t data_size = BigEndian32(irbs, i);
    data_size += data_size % 2;
    i += 4;
    if (irbs.size() - i < data_size) return false;
    i += data_size;
  }
  return false;
}

// The metadata kind of a segment, or "" when the segment is kept.
absl::string_view JpegMetadataKind(uint8_t code, absl::string_view payload) {
  switch (code) {
    case 0xE1:
      if (absl::StartsWith(payload, absl::string_view("Exif\0", 5))) {
        return "JPEG APP1 (EXIF)";
      }
      if (absl::StartsWith(
              payload,
              absl::string_view("http://ns.adobe.com/xap/1.0/\0", 29))) {
        return "JPEG APP1 (XMP)";
      }
      if (absl::StartsWith(
              payload,
              absl::string_view("http://ns.adobe.com/xmp/extension/\0", 35))) {
        return "JPEG APP1 (extended XMP)";
      }
      return "JPEG APP1 (other)";
    case 0xED: {
      constexpr absl::string_view kPhotoshop("Photoshop 3.0\0", 14);
      if (!absl::StartsWith(payload, kPhotoshop)) return "JPEG APP13 (other)";
      return HasIptcResource(payload.substr(kPhotoshop.size()))
                 ? "JPEG APP13 (IPTC)"
                 : "JPEG APP13 (Photoshop)";
    }
    case 0xFE:
      return "JPEG COM";
    default:
      return "";
  }
}

// The end of the entropy-coded data that starts at `i`: the offset of the
// 0xFF that begins the next marker other than RST0-7. Inside the data, 0xFF
// is followed by 0x00 (a stuffed byte) or by an RSTn marker.
absl::StatusOr<size_t> EndOfEntropyCodedData(absl::string_view bytes,
                                             size_t i) {
  const size_t start = i;
  while (true) {
    const size_t ff = bytes.find('\xFF', i);
    if (ff == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "malformed JPEG: missing EOI: the entropy-coded data from offset ",
          start, " runs to the end of the data (", bytes.size(), " bytes)"));
    }
    if (ff + 1 == bytes.size()) {
      return JpegError("entropy-coded data ends in a lone 0xFF", ff);
    }
    const uint8_t next = ByteAt(bytes, ff + 1);
    if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
      i = ff + 2;
      continue;
    }
    return ff;
  }
}

absl::Status WalkJpeg(absl::string_view bytes, const WalkOutput& out) {
  // DetectMediaType saw FF D8 FF.
  out.Keep(bytes.substr(0, 2));
  bool seen_sof = false;
  bool seen_sos = false;
  size_t pos = 2;
  while (true) {
    if (pos >= bytes.size()) {
      return JpegError("missing EOI: data ends", bytes.size());
    }
    if (ByteAt(bytes, pos) != 0xFF) {
      return JpegError(absl::StrCat("expected a marker, found byte 0x",
                                    UpperHex(ByteAt(bytes, pos), 2)),
                       pos);
    }
    const size_t segment_start = pos;  // fill bytes go with their marker
    while (pos < bytes.size() && ByteAt(bytes, pos) == 0xFF) ++pos;
    if (pos >= bytes.size()) {
      return JpegError("missing EOI: data ends in fill bytes", bytes.size());
    }
    const size_t marker_offset = pos - 1;
    const uint8_t code = ByteAt(bytes, pos);
    ++pos;
    if (code == 0x00) {
      return JpegError("stuffed byte 0xFF00 outside entropy-coded data",
                       marker_offset);
    }
    if (code == 0xD8) return JpegError("second SOI", marker_offset);
    if (code >= 0xD0 && code <= 0xD7) {
      return JpegError(absl::StrCat("restart marker ", MarkerName(code),
                                    " outside entropy-coded data"),
                       marker_offset);
    }
    if (code < 0xC0) {
      return JpegError(absl::StrCat("reserved marker ", MarkerName(code)),
                       marker_offset);
    }
    if (code == 0xD9) {
      if (!seen_sos) return JpegError("EOI before any SOS", marker_offset);
      out.Keep(bytes.substr(segment_start, pos - segment_start));
      if (pos < bytes.size()) out.Found("JPEG data after EOI");
      return absl::OkStatus();
    }

    // Every other marker starts a segment with a 16-bit length that counts
    // itself but not the marker.
    if (bytes.size() - pos < 2) {
      return JpegError(absl::StrCat("segment ", MarkerName(code),
                                    " is cut off before its length"),
                       marker_offset);
    }
    const size_t length = BigEndian16(bytes, pos);
    if (length < 2) {
      return JpegError(absl::StrCat("segment ", MarkerName(code),
                                    " has length ", length, " (less than 2)"),
                       marker_offset);
    }
    if (bytes.size() - pos < length) {
      return JpegError(
          absl::StrCat("segment ", MarkerName(code), " has length ", length,
                       ", past the end of the data (", bytes.size(), " bytes)"),
          marker_offset);
    }
    const size_t segment_end = pos + length;
    const absl::string_view kind =
        JpegMetadataKind(code, bytes.substr(pos + 2, length - 2));
    if (!kind.empty()) {
      out.Found(kind);
      pos = segment_end;
      continue;
    }
    out.Keep(bytes.substr(segment_start, segment_end - segment_start));
    pos = segment_end;
    if (IsSof(code)) seen_sof = true;
    if (code == 0xDA) {
      if (!seen_sof) return JpegError("SOS before any SOF", marker_offset);
      seen_sos = true;
      absl::StatusOr<size_t> end = EndOfEntropyCodedData(bytes, pos);
      if (!end.ok()) return end.status();
      out.Keep(bytes.substr(pos, *end - pos));
      pos = *end;
    }
  }
}

// ---- PNG (ISO/IEC 15948, PNG 3rd edition) ----

absl::Status PngError(absl::string_view what, size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed PNG: ", what, " at offset ", offset));
}

bool IsChunkTypeByte(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

absl::string_view PngMetadataKind(absl::string_view type) {
  if (type == "tEXt") return "PNG tEXt";
  if (type == "iTXt") return "PNG iTXt";
  if (type == "zTXt") return "PNG zTXt";
  if (type == "eXIf") return "PNG eXIf";
  if (type == "tIME") return "PNG tIME";
  return "";
}

absl::Status WalkPng(absl::string_view bytes, const WalkOutput& out) {
  // DetectMediaType saw the signature.
  out.Keep(bytes.substr(0, kPngSignature.size()));
  bool seen_idat = false;
  size_t pos = kPngSignature.size();
  while (true) {
    if (pos == bytes.size()) {
      return PngError("missing IEND: data ends", pos);
    }
    if (bytes.size() - pos < 12) {
      return PngError(absl::StrCat("truncated chunk (", bytes.size() - pos,
                                   " bytes left, a chunk has at least 12)"),
                      pos);
    }
    const uint32_t length = BigEndian32(bytes, pos);
    const absl::string_view type = bytes.substr(pos + 4, 4);
    if (!std::all_of(type.begin(), type.end(), [](char c) {
          return IsChunkTypeByte(static_cast<uint8_t>(c));
        })) {
      return PngError(absl::StrCat("invalid chunk type 0x",
                                   UpperHex(BigEndian32(bytes, pos + 4), 8)),
                      pos);
    }
    if (length > 0x7FFFFFFFu) {
      return PngError(absl::StrCat("chunk '", type, "' has length ", length,
                                   " (more than 2^31-1)"),
                      pos);
    }
    if (bytes.size() - pos - 12 < length) {
      return PngError(
          absl::StrCat("chunk '", type, "' has length ", length,
                       ", past the end of the data (", bytes.size(), " bytes)"),
          pos);
    }
    const size_t chunk_end = pos + 12 + length;
    const uint32_t stored_crc = BigEndian32(bytes, chunk_end - 4);
    const uint32_t crc = Crc32(bytes.substr(pos + 4, 4 + length));
    if (stored_crc != crc) {
      return PngError(absl::StrCat("bad CRC in chunk '", type, "' (stored 0x",
                                   UpperHex(stored_crc, 8), ", computed 0x",
                                   UpperHex(crc, 8), ")"),
                      pos);
    }
    const bool first = pos == kPngSignature.size();
    if (first != (type == "IHDR")) {
      return PngError(
          first ? absl::StrCat("first chunk is '", type, "', not IHDR")
                : std::string("second IHDR"),
          pos);
    }
    if (type == "IDAT") seen_idat = true;
    if (type == "IEND") {
      if (length != 0) {
        return PngError(absl::StrCat("IEND has length ", length, ", not 0"),
                        pos);
      }
      if (!seen_idat) return PngError("IEND before any IDAT", pos);
      out.Keep(bytes.substr(pos, chunk_end - pos));
      if (chunk_end < bytes.size()) out.Found("PNG data after IEND");
      return absl::OkStatus();
    }
    const absl::string_view kind = PngMetadataKind(type);
    if (kind.empty()) {
      out.Keep(bytes.substr(pos, chunk_end - pos));
    } else {
      out.Found(kind);
    }
    pos = chunk_end;
  }
}

absl::Status Walk(absl::string_view bytes, const WalkOutput& out) {
  const absl::string_view type = DetectMediaType(bytes);
  if (type == kMediaTypeJpeg) return WalkJpeg(bytes, out);
  if (type == kMediaTypePng) return WalkPng(bytes, out);
  out.Keep(bytes);
  return absl::OkStatus();
}

constexpr std::array<uint32_t, 256> MakeCrc32Table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrc32Table = MakeCrc32Table();

}  // namespace

absl::string_view DetectMediaType(absl::string_view bytes) {
  if (absl::StartsWith(bytes, "\xFF\xD8\xFF")) return kMediaTypeJpeg;
  if (absl::StartsWith(bytes, kPngSignature)) return kMediaTypePng;
  return kMediaTypeOther;
}

absl::StatusOr<std::string> StripMetadata(absl::string_view bytes) {
  std::string kept;
  kept.reserve(bytes.size());
  absl::Status status = Walk(bytes, WalkOutput{&kept, nullptr});
  if (!status.ok()) return status;
  return kept;
}

absl::StatusOr<std::vector<std::string>> FindMetadata(absl::string_view bytes) {
  std::vector<std::string> kinds;
  absl::Status status = Walk(bytes, WalkOutput{nullptr, &kinds});
  if (!status.ok()) return status;
  return kinds;
}

absl::Status CheckNoMetadata(absl::string_view bytes) {
  absl::StatusOr<std::vector<std::string>> kinds = FindMetadata(bytes);
  if (!kinds.ok()) return kinds.status();
  if (kinds->empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "evidence carries identifying metadata: ", absl::StrJoin(*kinds, ", "),
      "; strip it before hashing"));
}

uint32_t Crc32(absl::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (const char ch : data) {
    c = kCrc32Table[(c ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

absl::Status AcceptEvidence(
    absl::string_view head,
    const std::function<absl::StatusOr<std::string>()>& content) {
  if (DetectMediaType(head) == kMediaTypeOther) return absl::OkStatus();
  absl::StatusOr<std::string> whole = content();
  if (!whole.ok()) return whole.status();
  return CheckNoMetadata(*whole);
}

}  // namespace fieldledger
