#include "storage/evidence_store.h"

#include <stdlib.h>

#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/text.h"
#include "gtest/gtest.h"

namespace fieldledger::storage {
namespace {

constexpr uint64_t kChunk = 1 << 20;
const absl::Time kT0 = absl::FromUnixSeconds(1764000000);

std::string HexSha256(absl::string_view bytes) {
  return absl::BytesToHexString(Sha256(bytes));
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

class EvidenceStoreTest : public ::testing::Test {
 protected:
  static EvidenceOptions SmallLimits() {
    EvidenceOptions options;
    options.max_bytes = 8 << 20;
    options.max_chunk_bytes = kChunk;
    return options;
  }

  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "evidence_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    options_.path = dir_;
    auto opened = EvidenceStore::Open(options_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  // Appends `data` from `from` on in kChunk pieces; the last state.
  absl::StatusOr<UploadState> Upload(const std::string& sha256,
                                     const std::string& data,
                                     uint64_t from = 0) {
    UploadState state;
    for (uint64_t at = from; at < data.size(); at += kChunk) {
      auto s = store_->Append(sha256, at, data.substr(at, kChunk), kT0);
      if (!s.ok()) return s.status();
      state = *s;
    }
    return state;
  }

  std::string ReadAll(const std::string& sha256, uint64_t offset = 0) {
    std::string out;
    const absl::Status s =
        store_->Read(sha256, offset, [&](absl::string_view bytes) {
          out.append(bytes.data(), bytes.size());
          return true;
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  EvidenceOptions options_ = SmallLimits();
  std::string dir_;
  std::unique_ptr<EvidenceStore> store_;
};

TEST_F(EvidenceStoreTest, ChunksAddUpToVerifiedEvidence) {
  const std::string data = RandomBytes(3 * kChunk + 12345, 1);
  const std::string sha = HexSha256(data);
  auto begun = store_->Begin(sha, data.size(), "image/jpeg", kT0);
  ASSERT_TRUE(begun.ok()) << begun.status();
  EXPECT_EQ(begun->received, 0u);
  EXPECT_FALSE(begun->complete);

  auto done = Upload(sha, data);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(done->received, data.size());
  EXPECT_EQ(ReadAll(sha), data);
  // From the middle of a stored chunk.
  EXPECT_EQ(ReadAll(sha, kChunk + 7), data.substr(kChunk + 7));
  Reopen();
  auto status = store_->Status(sha);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_TRUE((*status)->complete);
  EXPECT_EQ((*status)->media_type, "image/jpeg");
}

TEST_F(EvidenceStoreTest, AnInterruptedUploadResumesWhereTheNodeStopped) {
  const std::string data = RandomBytes(4 * kChunk, 2);
  const std::string sha = HexSha256(data);
  ASSERT_TRUE(store_->Begin(sha, data.size(), "audio/mp4", kT0).ok());
  ASSERT_TRUE(store_->Append(sha, 0, data.substr(0, kChunk), kT0).ok());
  ASSERT_TRUE(
      store_->Append(sha, kChunk, data.substr(kChunk, kChunk), kT0).ok());
  Reopen();  // the connection dropped, or the node restarted

  auto status = store_->Status(sha);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_EQ((*status)->received, 2 * kChunk);
  // Sending earlier bytes again is refused, and says where to resume.
  auto again = store_->Append(sha, 0, data.substr(0, kChunk), kT0);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(
      again.status().message().find(absl::StrCat("resume at ", 2 * kChunk)),
      absl::string_view::npos)
      << again.status();
  auto done = Upload(sha, data, (*status)->received);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(ReadAll(sha), data);
}

TEST_F(EvidenceStoreTest, BytesThatDoNotMatchTheirNameAreDiscarded) {
  const std::string data = RandomBytes(2 * kChunk + 1, 3);
  const std::string claimed = HexSha256("something else");
  ASSERT_TRUE(store_->Begin(claimed, data.size(), "image/png", kT0).ok());
  auto done = Upload(claimed, data);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(done.status().message().find(HexSha256(data)),
            absl::string_view::npos)
      << done.status();
  auto status = store_->Status(claimed);
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->has_value());
  EXPECT_EQ(
      store_->Read(claimed, 0, [](absl::string_view) { return true; }).code(),
      absl::StatusCode::kNotFound);
}

TEST_F(EvidenceStoreTest, OutOfOrderAndOverlongChunksChangeNothing) {
  const std::string data = RandomBytes(1000, 4);
  const std::string sha = HexSha256(data);
  ASSERT_TRUE(store_->Begin(sha, data.size(), "image/jpeg", kT0).ok());
  ASSERT_TRUE(store_->Append(sha, 0, data.substr(0, 100), kT0).ok());

  // A gap.
  EXPECT_EQ(store_->Append(sha, 200, data.substr(200, 10), kT0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Past the declared size.
  auto past = store_->Append(sha, 100, data.substr(100) + "x", kT0);
  EXPECT_EQ(past.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(past.status().message().find("past the declared size"),
            absl::string_view::npos);
  // Over the chunk limit, and empty.
  EXPECT_EQ(store_->Append(sha, 100, std::string(kChunk + 1, 'a'), kT0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Append(sha, 100, "", kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Without Begin.
  EXPECT_EQ(store_->Append(HexSha256("x"), 0, "x", kT0).status().code(),
            absl::StatusCode::kNotFound);

  auto status = store_->Status(sha);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_EQ((*status)->received, 100u);
  auto done = Upload(sha, data, 100);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(ReadAll(sha), data);
}

TEST_F(EvidenceStoreTest, BeginRefusesBadNamesSizesAndTypes) {
  const std::string sha = HexSha256("x");
  EXPECT_EQ(
      store_->Begin(sha, (8 << 20) + 1, "image/jpeg", kT0).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Begin(sha, 0, "image/jpeg", kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Begin(sha, 1, "", kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const std::string& bad :
       {std::string("abc"), absl::AsciiStrToUpper(sha), sha.substr(1) + "g"}) {
    auto s = store_->Begin(bad, 1, "image/jpeg", kT0);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.status().message().find("sha256:"), absl::string_view::npos);
  }
  ASSERT_TRUE(store_->Begin(sha, 1, "text/plain", kT0).ok());
  EXPECT_EQ(store_->Begin(sha, 2, "text/plain", kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EvidenceStoreTest, ContentTheNodeRefusesIsDiscarded) {
  options_.accept = [](absl::string_view head, const auto& content) {
    if (!absl::StartsWith(head, "photo")) return absl::OkStatus();
    auto whole = content();
    if (!whole.ok()) return whole.status();
    return absl::StrContains(*whole, "serial")
               ? absl::InvalidArgumentError("carries a camera serial")
               : absl::OkStatus();
  };
  Reopen();
  const std::string bad = "photo" + RandomBytes(kChunk, 10) + "serial 12345";
  ASSERT_TRUE(
      store_->Begin(HexSha256(bad), bad.size(), "image/jpeg", kT0).ok());
  auto refused = Upload(HexSha256(bad), bad);
  EXPECT_EQ(refused.status().message(), "carries a camera serial");
  EXPECT_FALSE(store_->Status(HexSha256(bad))->has_value());

  const std::string good = "photo" + RandomBytes(kChunk + 1, 11);
  // Other content is never read whole, whatever it holds.
  const std::string other = RandomBytes(kChunk, 12) + "serial 12345";
  ASSERT_TRUE(
      store_->Begin(HexSha256(other), other.size(), "audio/mp4", kT0).ok());
  ASSERT_TRUE(Upload(HexSha256(other), other).ok());
  ASSERT_TRUE(
      store_->Begin(HexSha256(good), good.size(), "image/jpeg", kT0).ok());
  ASSERT_TRUE(Upload(HexSha256(good), good).ok());
}

TEST_F(EvidenceStoreTest, KnownContentCompletesAtOnce) {
  const std::string data = RandomBytes(kChunk / 2, 5);
  const std::string sha = HexSha256(data);
  ASSERT_TRUE(store_->Begin(sha, data.size(), "image/jpeg", kT0).ok());
  ASSERT_TRUE(Upload(sha, data).ok());
  // A second inspector with the same bytes.
  auto second = store_->Begin(sha, data.size(), "image/jpeg", kT0);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->complete);
  EXPECT_EQ(second->received, data.size());
  auto chunk = store_->Append(sha, 0, data, kT0);
  ASSERT_TRUE(chunk.ok());
  EXPECT_TRUE(chunk->complete);
  EXPECT_EQ(ReadAll(sha), data);
}

TEST_F(EvidenceStoreTest, ConcurrentUploadersOfTheSameBytesStoreThemOnce) {
  const std::string data = RandomBytes(6 * kChunk, 6);
  const std::string sha = HexSha256(data);
  auto upload = [&] {
    auto s = store_->Begin(sha, data.size(), "image/jpeg", kT0);
    while (s.ok() && !s->complete) {
      const uint64_t at = s->received;
      s = store_->Append(sha, at, data.substr(at, kChunk), kT0);
      // The other uploader got there first: ask where to go on.
      if (s.status().code() == absl::StatusCode::kFailedPrecondition) {
        s = **store_->Status(sha);
      }
    }
    EXPECT_TRUE(s.ok()) << s.status();
  };
  std::thread a(upload), b(upload);
  a.join();
  b.join();
  EXPECT_EQ(ReadAll(sha), data);
}

TEST_F(EvidenceStoreTest, StalePartialUploadsExpire) {
  const std::string stale = RandomBytes(100, 7), fresh = RandomBytes(100, 8),
                    whole = RandomBytes(100, 9);
  ASSERT_TRUE(store_->Begin(HexSha256(stale), 100, "image/jpeg", kT0).ok());
  ASSERT_TRUE(
      store_->Append(HexSha256(stale), 0, stale.substr(0, 50), kT0).ok());
  ASSERT_TRUE(store_->Begin(HexSha256(whole), 100, "image/jpeg", kT0).ok());
  ASSERT_TRUE(Upload(HexSha256(whole), whole).ok());
  const absl::Time later = kT0 + absl::Hours(24 * 8);
  ASSERT_TRUE(store_->Begin(HexSha256(fresh), 100, "image/jpeg", later).ok());

  auto removed = store_->ExpirePartial(later - absl::Hours(24 * 7));
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(store_->Status(HexSha256(stale))->has_value());
  EXPECT_TRUE(store_->Status(HexSha256(fresh))->has_value());
  EXPECT_EQ(ReadAll(HexSha256(whole)), whole);
  // An expired upload starts over from byte 0.
  auto again = store_->Begin(HexSha256(stale), 100, "image/jpeg", later);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->received, 0u);
}

// What Status says: only bytes a Commit (or completion) made durable.
uint64_t Durable(EvidenceStore& store, const std::string& sha256) {
  auto status = store.Status(sha256);
  EXPECT_TRUE(status.ok() && status->has_value());
  return status.ok() && status->has_value() ? (*status)->received : 0;
}

TEST_F(EvidenceStoreTest, AWriterMakesItsAppendsDurableAtCommit) {
  const std::string data = RandomBytes(5 * kChunk + 99, 20);
  const std::string sha = HexSha256(data);
  auto writer = store_->OpenWriter(sha, data.size(), "video/mp4", kT0);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (uint64_t at = 0; at < 3 * kChunk; at += kChunk) {
    auto s = (*writer)->Append(at, data.substr(at, kChunk), kT0);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->received, at + kChunk);
  }
  // Durable only as far as a flush got (3 MiB fill no memtable).
  EXPECT_EQ((*writer)->durable(), Durable(*store_, sha));
  EXPECT_LT((*writer)->durable(), 3 * kChunk);
  auto committed = (*writer)->Commit(kT0);
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->received, 3 * kChunk);
  EXPECT_EQ(Durable(*store_, sha), 3 * kChunk);
  // One more chunk, never committed: the node restarts without it.
  ASSERT_TRUE(
      (*writer)->Append(3 * kChunk, data.substr(3 * kChunk, kChunk), kT0).ok());
  writer->reset();
  Reopen();
  EXPECT_EQ(Durable(*store_, sha), 3 * kChunk);
  auto done = Upload(sha, data, 3 * kChunk);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(HexSha256(ReadAll(sha)), sha);
}

TEST_F(EvidenceStoreTest, ChunksPastTheDurableOffsetAreNeverRead) {
  const std::string data = RandomBytes(6 * kChunk + 5, 21);
  const std::string sha = HexSha256(data);
  {
    auto writer = store_->OpenWriter(sha, data.size(), "video/mp4", kT0);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Append(0, data.substr(0, kChunk), kT0).ok());
    ASSERT_TRUE((*writer)->Commit(kT0).ok());
    // Written but not committed (a crash before the next sync), and not
    // even the right bytes: none of it may reach the evidence.
    const std::string garbage = RandomBytes(3 * kChunk, 22);
    for (uint64_t at = 0; at < garbage.size(); at += kChunk) {
      ASSERT_TRUE(
          (*writer)->Append(kChunk + at, garbage.substr(at, kChunk), kT0).ok());
    }
  }
  Reopen();
  ASSERT_EQ(Durable(*store_, sha), kChunk);
  // Resume in pieces cut elsewhere than the stale chunks.
  auto writer = store_->OpenWriter(sha, data.size(), "video/mp4", kT0);
  ASSERT_TRUE(writer.ok()) << writer.status();
  constexpr uint64_t kPiece = 300 << 10;
  for (uint64_t at = kChunk; at < data.size(); at += kPiece) {
    auto s = (*writer)->Append(at, data.substr(at, kPiece), kT0);
    ASSERT_TRUE(s.ok()) << at << ": " << s.status();
  }
  EXPECT_TRUE((*writer)->state().complete);
  EXPECT_EQ((*writer)->durable(), data.size());
  writer->reset();
  EXPECT_EQ(HexSha256(ReadAll(sha)), sha);
  Reopen();
  EXPECT_EQ(HexSha256(ReadAll(sha)), sha);
}

TEST_F(EvidenceStoreTest, AWriterWhoseBytesDoNotMatchDiscardsThem) {
  const std::string data = RandomBytes(3 * kChunk, 23);
  const std::string claimed = HexSha256("something else");
  auto writer = store_->OpenWriter(claimed, data.size(), "image/png", kT0);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(0, data.substr(0, kChunk), kT0).ok());
  ASSERT_TRUE((*writer)->Commit(kT0).ok());
  ASSERT_TRUE((*writer)->Append(kChunk, data.substr(kChunk, kChunk), kT0).ok());
  auto last = (*writer)->Append(2 * kChunk, data.substr(2 * kChunk), kT0);
  EXPECT_EQ(last.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(last.status().message(),
            absl::StrCat("sha256: the bytes hash to ", HexSha256(data),
                         ", not ", claimed, "; the upload was discarded"));
  EXPECT_FALSE(store_->Status(claimed)->has_value());
  // The session is over.
  EXPECT_EQ((*writer)->Commit(kT0).status().code(),
            absl::StatusCode::kNotFound);
  writer->reset();
  auto again = store_->Begin(claimed, data.size(), "image/png", kT0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->received, 0u);
}

TEST_F(EvidenceStoreTest, OneWriterAtATimePerEvidence) {
  const std::string data = RandomBytes(2 * kChunk, 24);
  const std::string sha = HexSha256(data);
  auto first = store_->OpenWriter(sha, data.size(), "image/jpeg", kT0);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = store_->OpenWriter(sha, data.size(), "image/jpeg", kT0);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  // Other evidence is not held up, and bad arguments are named first.
  EXPECT_TRUE(
      store_->OpenWriter(HexSha256("other"), 1, "text/plain", kT0).ok());
  EXPECT_EQ(store_->OpenWriter(sha, 0, "image/jpeg", kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A partial upload being written to does not expire.
  EXPECT_EQ(*store_->ExpirePartial(kT0 + absl::Hours(1)), 1);
  EXPECT_TRUE(store_->Status(sha)->has_value());
  first->reset();
  auto third = store_->OpenWriter(sha, data.size(), "image/jpeg", kT0);
  ASSERT_TRUE(third.ok()) << third.status();
}

}  // namespace
}  // namespace fieldledger::storage
