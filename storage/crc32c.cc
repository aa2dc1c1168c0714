#include "storage/crc32c.h"

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>

namespace fieldledger::storage {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);

// rocksdb::crc32c::Extend(unsigned int, char const*, unsigned long).
constexpr char kExtendSymbol[] = "_ZN7rocksdb6crc32c6ExtendEjPKcm";

__attribute__((target("sse4.2"))) uint32_t HardwareExtend(uint32_t crc,
                                                          const char* data,
                                                          size_t size) {
  uint64_t l = crc ^ 0xffffffffu;
  for (; size >= 8; data += 8, size -= 8) {
    uint64_t word;
    std::memcpy(&word, data, sizeof(word));
    l = _mm_crc32_u64(l, word);
  }
  uint32_t l32 = static_cast<uint32_t>(l);
  for (; size > 0; ++data, --size) {
    l32 = _mm_crc32_u8(l32, static_cast<uint8_t>(*data));
  }
  return l32 ^ 0xffffffffu;
}

// The library's own Extend, for x86-64 CPUs without SSE4.2.
ExtendFn LibraryExtend() {
  static const ExtendFn library =
      reinterpret_cast<ExtendFn>(dlsym(RTLD_NEXT, kExtendSymbol));
  return library;
}

bool HasSse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}

}  // namespace
}  // namespace fieldledger::storage

namespace rocksdb::crc32c {

// Replaces librocksdb's definition (see crc32c.h): the CRC32C of `data`
// continuing from `crc`, the CRC32C of what came before.
uint32_t Extend(uint32_t crc, const char* data, size_t size) {
  using fieldledger::storage::HardwareExtend;
  using fieldledger::storage::HasSse42;
  using fieldledger::storage::LibraryExtend;
  if (HasSse42()) return HardwareExtend(crc, data, size);
  return LibraryExtend()(crc, data, size);
}

}  // namespace rocksdb::crc32c

namespace fieldledger::storage {

bool HardwareCrc32cInUse() {
  // What librocksdb's calls resolve to: this file's Extend unless the
  // executable does not export it.
  return HasSse42() && dlsym(RTLD_DEFAULT, kExtendSymbol) ==
                           reinterpret_cast<void*>(&rocksdb::crc32c::Extend);
}

}  // namespace fieldledger::storage

#else  // other CPUs keep the library's CRC32C

namespace fieldledger::storage {
bool HardwareCrc32cInUse() { return false; }
}  // namespace fieldledger::storage

#endif
