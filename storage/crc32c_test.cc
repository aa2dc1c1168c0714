#include "storage/crc32c.h"

#include <dlfcn.h>

#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace rocksdb::crc32c {
uint32_t Extend(uint32_t crc, const char* data, size_t size);
}  // namespace rocksdb::crc32c

namespace fieldledger::storage {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);

uint32_t Value(const std::string& s) {
  return rocksdb::crc32c::Extend(0, s.data(), s.size());
}

TEST(Crc32cTest, ReplacesTheLibrarysOnX86) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("sse4.2")) GTEST_SKIP() << "no SSE4.2";
  EXPECT_TRUE(HardwareCrc32cInUse());
#else
  EXPECT_FALSE(HardwareCrc32cInUse());
#endif
}

// The vectors of RFC 3720 (iSCSI) B.4 and RocksDB's own crc32c_test.
TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(Value("123456789"), 0xe3069283u);
  EXPECT_EQ(Value(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Value(std::string(32, '\xff')), 0x62a8ab43u);
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Value(up), 0x46dd794eu);
  EXPECT_EQ(Value(down), 0x113fdb5cu);
}

// Whatever the length, alignment and split, the same as librocksdb's own.
TEST(Crc32cTest, AgreesWithTheLibrary) {
  const auto library = reinterpret_cast<ExtendFn>(
      dlsym(RTLD_NEXT, "_ZN7rocksdb6crc32c6ExtendEjPKcm"));
  ASSERT_NE(library, nullptr) << dlerror();
  std::mt19937 random(5);
  std::string bytes(70000, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  for (size_t start : {0, 1, 3, 7, 8}) {
    for (size_t size : {0, 1, 7, 8, 9, 63, 64, 4097, 69000}) {
      const char* data = bytes.data() + start;
      const uint32_t want = library(0, data, size);
      EXPECT_EQ(rocksdb::crc32c::Extend(0, data, size), want)
          << "start " << start << " size " << size;
      const size_t half = size / 2;
      EXPECT_EQ(rocksdb::crc32c::Extend(rocksdb::crc32c::Extend(0, data, half),
                                        data + half, size - half),
                want)
          << "start " << start << " size " << size << " in two";
      EXPECT_EQ(rocksdb::crc32c::Extend(0x12345678, data, size),
                library(0x12345678, data, size));
    }
  }
}

}  // namespace
}  // namespace fieldledger::storage
