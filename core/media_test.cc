#include "core/media.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Made by core/testdata/gen (see core/testdata/README.md): each *meta* file is
// its base file with metadata blocks inserted, so stripping it must give the
// base file back byte for byte.
std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(MEDIA_TESTDATA_DIR) + "/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in) << "cannot open testdata " << name;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The identifying strings the test images carry (fake).
constexpr const char* kIdentifying[] = {
    "SN-4242-TRACEME",   // EXIF BodySerialNumber
    "FieldCam",          // EXIF Make
    "2026:09:02",        // EXIF DateTimeOriginal
    "Jane Q. Realname",  // XMP dc:creator, IPTC By-line, COM, PNG tEXt
    "Springfield",       // IPTC City, PNG tEXt
    "GPSLatitude",       // XMP
    "Exif",
    "http://ns.adobe.com/",
    "Photoshop 3.0",
    "8BIM",
    "Taken by inspector",
    "XML:com.adobe.xmp",
};

// The GPS IFD's latitude, 39/1 54/1 2712/100, as it sits in the EXIF TIFF.
const std::string kGpsLatitudeRationals(
    "\0\0\0\x27\0\0\0\x01\0\0\0\x36\0\0\0\x01\0\0\x0a\x98\0\0\0\x64", 24);

// StripMetadata's result, or the error as text (so that EXPECT_EQ shows it).
std::string Strip(const std::string& bytes) {
  absl::StatusOr<std::string> stripped = StripMetadata(bytes);
  if (!stripped.ok()) return "error: " + stripped.status().ToString();
  return *std::move(stripped);
}

// FindMetadata's result, or the error as text.
std::vector<std::string> Kinds(const std::string& bytes) {
  absl::StatusOr<std::vector<std::string>> kinds = FindMetadata(bytes);
  if (!kinds.ok()) return {"error: " + kinds.status().ToString()};
  return *std::move(kinds);
}

// A PNG chunk with its length and CRC.
std::string Chunk(absl::string_view type, absl::string_view data) {
  std::string chunk;
  const auto put32 = [&](uint32_t v) {
    for (int k = 0; k < 4; ++k) chunk += static_cast<char>(v >> (24 - 8 * k));
  };
  put32(static_cast<uint32_t>(data.size()));
  absl::StrAppend(&chunk, type, data);
  put32(Crc32(absl::StrCat(type, data)));
  return chunk;
}

void ExpectNoIdentifyingBytes(const std::string& bytes) {
  for (const char* s : kIdentifying) {
    EXPECT_FALSE(absl::StrContains(bytes, s)) << "still contains " << s;
  }
  EXPECT_FALSE(absl::StrContains(bytes, kGpsLatitudeRationals));
}

// An independent, deliberately simple reader for well-formed test files: the
// segments that make up the picture, byte for byte. JPEG: DQT, DHT, SOFn,
// DRI, SOS each followed by its entropy-coded data, EOI. PNG: IHDR, PLTE,
// IDAT, IEND.
std::vector<std::string> ImageData(const std::string& file) {
  std::vector<std::string> parts;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(file[i]); };
  if (DetectMediaType(file) == kMediaTypePng) {
    for (size_t i = 8; i + 12 <= file.size();) {
      const size_t length = size_t{byte(i)} << 24 | size_t{byte(i + 1)} << 16 |
                            size_t{byte(i + 2)} << 8 | byte(i + 3);
      const std::string type = file.substr(i + 4, 4);
      if (type == "IHDR" || type == "PLTE" || type == "IDAT" ||
          type == "IEND") {
        parts.push_back(file.substr(i, 12 + length));
      }
      i += 12 + length;
    }
    return parts;
  }
  for (size_t i = 2; i + 1 < file.size();) {
    while (byte(i + 1) == 0xFF) ++i;  // fill bytes
    const uint8_t code = byte(i + 1);
    if (code == 0xD9) {
      parts.push_back(file.substr(i, 2));
      break;
    }
    size_t end = i + 2 + (size_t{byte(i + 2)} << 8 | byte(i + 3));
    if (code == 0xDA) {
      while (!(byte(end) == 0xFF && byte(end + 1) != 0x00 &&
               !(byte(end + 1) >= 0xD0 && byte(end + 1) <= 0xD7))) {
        ++end;
      }
    }
    const bool image = code == 0xDB || code == 0xC4 || code == 0xDD ||
                       code == 0xDA || (code >= 0xC0 && code <= 0xCF);
    if (image) parts.push_back(file.substr(i, end - i));
    i = end;
  }
  return parts;
}

TEST(Crc32Test, KnownAnswers) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32("IEND"), 0xAE426082u);
}

TEST(DetectMediaTypeTest, ByMagicBytes) {
  EXPECT_EQ(DetectMediaType("\xFF\xD8\xFF\xE0"), kMediaTypeJpeg);
  EXPECT_EQ(DetectMediaType("\x89PNG\r\n\x1a\n"), kMediaTypePng);
  EXPECT_EQ(DetectMediaType(ReadTestdata("meta.jpg")), kMediaTypeJpeg);
  EXPECT_EQ(DetectMediaType(ReadTestdata("meta.png")), kMediaTypePng);
  EXPECT_EQ(DetectMediaType(""), kMediaTypeOther);
  EXPECT_EQ(DetectMediaType("\xFF\xD8"), kMediaTypeOther);
  EXPECT_EQ(DetectMediaType("\x89PNG\r\n\x1a"), kMediaTypeOther);
  EXPECT_EQ(DetectMediaType("%PDF-1.7"), kMediaTypeOther);
}

TEST(MediaTest, StripsEveryMetadataKindFromBaselineJpeg) {
  const std::string meta = ReadTestdata("meta.jpg");
  const std::string base = ReadTestdata("base.jpg");
  EXPECT_THAT(Kinds(meta), ElementsAre("JPEG APP1 (EXIF)", "JPEG APP1 (XMP)",
                                       "JPEG APP13 (IPTC)", "JPEG COM"));
  const absl::StatusOr<std::string> stripped = StripMetadata(meta);
  ASSERT_TRUE(stripped.ok()) << stripped.status();
  ExpectNoIdentifyingBytes(*stripped);
  EXPECT_THAT(Kinds(*stripped), IsEmpty());
  EXPECT_EQ(ImageData(*stripped), ImageData(meta));
  EXPECT_EQ(*stripped, base);
}

TEST(MediaTest, StripsMetadataBetweenProgressiveScans) {
  const std::string meta = ReadTestdata("progressive_meta.jpg");
  const std::string base = ReadTestdata("progressive.jpg");
  // The test image has XMP and COM after the first scan's data.
  ASSERT_GT(meta.find("http://ns.adobe.com/xap"), meta.find("\xFF\xDA"));
  EXPECT_THAT(Kinds(meta), ElementsAre("JPEG APP1 (EXIF)", "JPEG APP13 (IPTC)",
                                       "JPEG APP1 (XMP)", "JPEG COM"));
  const absl::StatusOr<std::string> stripped = StripMetadata(meta);
  ASSERT_TRUE(stripped.ok()) << stripped.status();
  ExpectNoIdentifyingBytes(*stripped);
  EXPECT_THAT(Kinds(*stripped), IsEmpty());
  EXPECT_EQ(ImageData(*stripped), ImageData(meta));
  EXPECT_GT(ImageData(meta).size(), 10u);  // many scans
  EXPECT_EQ(*stripped, base);
}

TEST(MediaTest, StripsEveryMetadataKindFromPng) {
  const std::string meta = ReadTestdata("meta.png");
  const std::string base = ReadTestdata("base.png");
  EXPECT_THAT(Kinds(meta), ElementsAre("PNG eXIf", "PNG tEXt", "PNG iTXt",
                                       "PNG zTXt", "PNG tIME"));
  const absl::StatusOr<std::string> stripped = StripMetadata(meta);
  ASSERT_TRUE(stripped.ok()) << stripped.status();
  ExpectNoIdentifyingBytes(*stripped);
  for (const char* type : {"tEXt", "iTXt", "zTXt", "eXIf", "tIME"}) {
    EXPECT_FALSE(absl::StrContains(*stripped, type)) << type;
  }
  EXPECT_THAT(Kinds(*stripped), IsEmpty());
  EXPECT_EQ(ImageData(*stripped), ImageData(meta));
  EXPECT_TRUE(absl::StrContains(*stripped, "pHYs"));  // ancillary, kept
  EXPECT_EQ(*stripped, base);
}

TEST(MediaTest, StripIsIdempotentAndKeepsCleanFilesIdentical) {
  for (const char* name : {"base.jpg", "meta.jpg", "progressive.jpg",
                           "progressive_meta.jpg", "base.png", "meta.png"}) {
    SCOPED_TRACE(name);
    const std::string file = ReadTestdata(name);
    const absl::StatusOr<std::string> once = StripMetadata(file);
    ASSERT_TRUE(once.ok()) << once.status();
    EXPECT_EQ(Strip(*once), *once);
    EXPECT_TRUE(CheckNoMetadata(*once).ok());
    if (!absl::StrContains(name, "meta")) {
      EXPECT_EQ(*once, file);
      EXPECT_THAT(Kinds(file), IsEmpty());
    }
  }
}

TEST(MediaTest, CheckNoMetadataNamesTheKinds) {
  const absl::Status jpeg = CheckNoMetadata(ReadTestdata("meta.jpg"));
  EXPECT_EQ(jpeg.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(jpeg.message(),
            "evidence carries identifying metadata: JPEG APP1 (EXIF), JPEG "
            "APP1 (XMP), JPEG APP13 (IPTC), JPEG COM; strip it before hashing");
  const absl::Status png = CheckNoMetadata(ReadTestdata("meta.png"));
  EXPECT_EQ(png.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(png.message()),
              HasSubstr("PNG eXIf, PNG tEXt, PNG iTXt"));
  EXPECT_TRUE(CheckNoMetadata(ReadTestdata("base.jpg")).ok());
  EXPECT_TRUE(CheckNoMetadata(ReadTestdata("base.png")).ok());
}

TEST(MediaTest, OtherMediaTypesPassUnchanged) {
  for (const std::string& other :
       {std::string(), std::string("%PDF-1.7\n..."), std::string("\xFF\xD8", 2),
        std::string("RIFF\0\0\0\0WAVE", 12)}) {
    EXPECT_EQ(Strip(other), other);
    EXPECT_THAT(Kinds(other), IsEmpty());
    EXPECT_TRUE(CheckNoMetadata(other).ok());
  }
}

TEST(MediaTest, DataAfterTheEndIsMetadata) {
  const std::string jpeg = ReadTestdata("base.jpg");
  EXPECT_THAT(Kinds(jpeg + "MOTION PHOTO mp4..."),
              ElementsAre("JPEG data after EOI"));
  EXPECT_EQ(Strip(jpeg + "MOTION PHOTO mp4..."), jpeg);
  const std::string png = ReadTestdata("base.png");
  EXPECT_THAT(Kinds(png + std::string(1, '\0')),
              ElementsAre("PNG data after IEND"));
  EXPECT_EQ(Strip(png + "trailer"), png);
}

TEST(MediaTest, ClassifiesApp1AndApp13Payloads) {
  const auto segment = [](char code, const std::string& payload) {
    const size_t length = payload.size() + 2;
    return std::string("\xFF") + code + static_cast<char>(length >> 8) +
           static_cast<char>(length & 0xFF) + payload;
  };
  const std::string base = ReadTestdata("base.jpg");
  const auto with = [&](const std::string& segments) {
    return base.substr(0, 2) + segments + base.substr(2);
  };
  EXPECT_THAT(
      Kinds(with(segment(
          '\xE1', std::string("http://ns.adobe.com/xmp/extension/\0xx", 37)))),
      ElementsAre("JPEG APP1 (extended XMP)"));
  EXPECT_THAT(Kinds(with(segment('\xE1', "") + segment('\xE1', "x"))),
              ElementsAre("JPEG APP1 (other)"));
  EXPECT_THAT(
      Kinds(with(segment(
          '\xED',
          std::string("Photoshop 3.0\0008BIM\x03\xED\0\0\0\0\0\0", 26)))),
      ElementsAre("JPEG APP13 (Photoshop)"));
  // A resource block that claims more bytes than there are: still removed.
  EXPECT_THAT(
      Kinds(with(segment(
          '\xED',
          std::string("Photoshop 3.0\0008BIM\x03\xED\0\0\xFF\xFF\xFF\xFF",
                      26)))),
      ElementsAre("JPEG APP13 (Photoshop)"));
  EXPECT_THAT(Kinds(with(segment('\xED', "Adobe_CM"))),
              ElementsAre("JPEG APP13 (other)"));
  // APP2 (ICC profile) and APP14 (Adobe) are kept.
  const std::string kept =
      with(segment('\xE2', "ICC_PROFILE") + segment('\xEE', "Adobe"));
  EXPECT_EQ(Strip(kept), kept);
}

TEST(MediaTest, FillBytesGoWithTheirSegment) {
  const std::string base = ReadTestdata("base.jpg");
  // Fill bytes before a kept segment stay; before a removed one they go.
  const std::string filled = base.substr(0, 2) + "\xFF\xFF" + base.substr(2);
  EXPECT_EQ(Strip(filled), filled);
  const std::string com = base.substr(0, 2) +
                          std::string("\xFF\xFF\xFF\xFE\x00\x03x", 7) +
                          base.substr(2);
  EXPECT_EQ(Strip(com), base);
}

absl::Status StripStatus(const std::string& bytes) {
  return StripMetadata(bytes).status();
}

std::string Jpeg(absl::string_view middle) {
  return absl::StrCat("\xFF\xD8", middle);
}

TEST(MediaTest, RefusesMalformedJpegWithAReason) {
  const std::string base = ReadTestdata("base.jpg");
  const std::string sof = base.substr(base.find("\xFF\xC0"));  // SOF..EOI
  struct Case {
    std::string bytes;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {Jpeg("\xFF"), "missing EOI: data ends in fill bytes at offset 3"},
      {Jpeg(std::string("\xFF\xE0\x00\x10JFIF\0", 9)),
       "segment 0xFFE0 has length 16, past the end of the data (11 bytes) at "
       "offset 2"},
      {Jpeg(std::string("\xFF\xDB\x00\x01", 4)),
       "segment 0xFFDB has length 1 (less than 2) at offset 2"},
      {Jpeg(std::string("\xFF\xDB\x00", 3)),
       "segment 0xFFDB is cut off before its length at offset 2"},
      {Jpeg(std::string("\xFF\xFE\x00\x02\x12", 5)),
       "expected a marker, found byte 0x12 at offset 6"},
      {Jpeg("\xFF\x02"), "reserved marker 0xFF02 at offset 2"},
      {Jpeg(std::string("\xFF\x00", 2)),
       "stuffed byte 0xFF00 outside entropy-coded data at offset 2"},
      {Jpeg("\xFF\xD3"),
       "restart marker 0xFFD3 outside entropy-coded data at offset 2"},
      {Jpeg("\xFF\xD8"), "second SOI at offset 2"},
      {Jpeg("\xFF\xD9"), "EOI before any SOS at offset 2"},
      {Jpeg(std::string("\xFF\xDA\x00\x02\xFF\xD9", 6)),
       "SOS before any SOF at offset 2"},
      {Jpeg(sof.substr(0, sof.size() - 2)),
       "missing EOI: the entropy-coded data from offset"},
      {Jpeg(sof.substr(0, sof.size() - 1)), "ends in a lone 0xFF"},
      {base.substr(0, base.size() - 1) + std::string(1, '\0'),
       "missing EOI: the entropy-coded data from offset"},
  };
  for (const Case& c : cases) {
    const absl::Status status = StripStatus(c.bytes);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.reason;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.reason));
    EXPECT_THAT(std::string(status.message()), HasSubstr("malformed JPEG"));
    EXPECT_EQ(FindMetadata(c.bytes).status(), status);
    EXPECT_EQ(CheckNoMetadata(c.bytes), status);
  }
}

// `png` with the chunk at `offset` given `length` (and its CRC left alone).
std::string WithChunkLength(std::string png, size_t offset, uint32_t length) {
  for (int k = 0; k < 4; ++k) {
    png[offset + k] = static_cast<char>(length >> (24 - 8 * k));
  }
  return png;
}

TEST(MediaTest, RefusesMalformedPngWithAReason) {
  const std::string base = ReadTestdata("base.png");
  const size_t idat = base.find("IDAT") - 4;
  const size_t iend = base.size() - 12;
  std::string bad_crc = base;
  bad_crc[idat + 8] ^= 0x01;  // first data byte of the first IDAT
  std::string bad_type = base;
  bad_type[idat + 5] = '1';
  const std::string iend_with_data =
      base.substr(0, iend) + Chunk("IEND", std::string(1, '\0'));
  const std::string sig = base.substr(0, 8);
  const std::string ihdr = base.substr(8, 25);
  struct Case {
    std::string bytes;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {bad_crc, absl::StrCat("bad CRC in chunk 'IDAT' (stored 0x")},
      {bad_crc, absl::StrCat("at offset ", idat)},
      {bad_type,
       absl::StrCat("invalid chunk type 0x49314154 at offset ", idat)},
      {base.substr(0, iend),
       absl::StrCat("missing IEND: data ends at offset ", iend)},
      {base.substr(0, iend + 11),
       absl::StrCat("truncated chunk (11 bytes left, a chunk has at least 12) "
                    "at offset ",
                    iend)},
      {WithChunkLength(base, idat, 1000),
       absl::StrCat("chunk 'IDAT' has length 1000, past the end of the data (",
                    base.size(), " bytes) at offset ", idat)},
      {WithChunkLength(base, idat, 0x80000000u),
       "chunk 'IDAT' has length 2147483648 (more than 2^31-1)"},
      {WithChunkLength(base, idat, 0xFFFFFFFFu), "more than 2^31-1"},
      {sig + base.substr(iend), "first chunk is 'IEND', not IHDR at offset 8"},
      {sig + ihdr + ihdr + base.substr(iend), "second IHDR at offset 33"},
      {sig + ihdr + base.substr(iend), "IEND before any IDAT at offset 33"},
      {iend_with_data, "IEND has length 1, not 0"},
  };
  for (const Case& c : cases) {
    const absl::Status status = StripStatus(c.bytes);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.reason;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.reason));
    EXPECT_THAT(std::string(status.message()), HasSubstr("malformed PNG"));
    EXPECT_EQ(FindMetadata(c.bytes).status(), status);
    EXPECT_EQ(CheckNoMetadata(c.bytes), status);
  }
}

const char* const kAllFiles[] = {"base.jpg",        "meta.jpg",
                                 "progressive.jpg", "progressive_meta.jpg",
                                 "base.png",        "meta.png"};

// A copy of `bytes` in a heap block of exactly its size, so that a read one
// past the end is caught by AddressSanitizer or valgrind (a std::string has
// its terminating NUL and often spare capacity there).
class ExactCopy {
 public:
  explicit ExactCopy(absl::string_view bytes)
      : data_(new char[bytes.size()]), size_(bytes.size()) {
    std::copy(bytes.begin(), bytes.end(), data_.get());
  }
  absl::string_view view() const {
    return absl::string_view(data_.get(), size_);
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_;
};

TEST(MediaTest, RefusesEveryTruncation) {
  for (const char* name : kAllFiles) {
    const std::string file = ReadTestdata(name);
    for (size_t n = 0; n < file.size(); ++n) {
      const std::string prefix = file.substr(0, n);
      SCOPED_TRACE(absl::StrCat(name, " cut to ", n, " bytes"));
      if (DetectMediaType(prefix) == kMediaTypeOther) {
        EXPECT_EQ(Strip(prefix), prefix);
        continue;
      }
      const ExactCopy exact(prefix);
      const absl::Status status = StripMetadata(exact.view()).status();
      ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      ASSERT_EQ(FindMetadata(exact.view()).status(), status);
    }
  }
}

// A stripped result must itself be clean, stable and still the same type.
void ExpectCleanOrRefused(const std::string& input) {
  const ExactCopy exact(input);
  const absl::StatusOr<std::string> stripped = StripMetadata(exact.view());
  const absl::StatusOr<std::vector<std::string>> kinds =
      FindMetadata(exact.view());
  ASSERT_EQ(stripped.status(), kinds.status());
  if (!stripped.ok()) {
    ASSERT_EQ(stripped.status().code(), absl::StatusCode::kInvalidArgument);
    return;
  }
  ASSERT_EQ(DetectMediaType(*stripped), DetectMediaType(input));
  ASSERT_EQ(Strip(*stripped), *stripped);
  ASSERT_TRUE(CheckNoMetadata(*stripped).ok());
  if (kinds->empty()) {
    ASSERT_EQ(*stripped, input);
  }
}

TEST(MediaTest, SurvivesRandomBitFlips) {
  std::mt19937 rng(20260902);  // fixed: failures reproduce
  for (const char* name : kAllFiles) {
    SCOPED_TRACE(name);
    const std::string file = ReadTestdata(name);
    std::uniform_int_distribution<size_t> offset(0, file.size() - 1);
    std::uniform_int_distribution<int> bit(0, 7);
    std::uniform_int_distribution<int> flips(1, 4);
    for (int round = 0; round < 3000; ++round) {
      std::string mutated = file;
      for (int k = flips(rng); k > 0; --k) {
        mutated[offset(rng)] ^= static_cast<char>(1 << bit(rng));
      }
      ASSERT_NO_FATAL_FAILURE(ExpectCleanOrRefused(mutated)) << round;
    }
  }
}

TEST(MediaTest, SurvivesRandomBytesAfterTheMagic) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  // Biased towards 0xFF and small lengths so that markers and chunk headers
  // turn up often.
  const std::string interesting("\xFF\xFF\xD8\xD9\xDA\xE1\xFE\x00\x00\x02", 10);
  for (const std::string& magic :
       {std::string("\xFF\xD8\xFF"), std::string("\x89PNG\r\n\x1a\n")}) {
    for (int round = 0; round < 5000; ++round) {
      std::string bytes = magic;
      const int n = round % 64;
      for (int k = 0; k < n; ++k) {
        const int b = byte(rng);
        bytes += b < 128 ? interesting[b % interesting.size()]
                         : static_cast<char>(b);
      }
      ASSERT_NO_FATAL_FAILURE(ExpectCleanOrRefused(bytes)) << round;
    }
  }
}

}  // namespace
}  // namespace fieldledger
