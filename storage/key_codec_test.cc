#include "storage/key_codec.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fieldledger::storage {
namespace {

TEST(KeyCodecTest, Uint64OrderIsNumericOrder) {
  const std::vector<uint64_t> values = {0,     1,          255,        256,
                                        65535, 1ull << 32, ~0ull >> 1, ~0ull};
  for (size_t i = 1; i < values.size(); ++i) {
    EXPECT_LT(Uint64Key(values[i - 1]), Uint64Key(values[i])) << values[i];
  }
  for (uint64_t v : values) {
    absl::string_view in;
    const std::string key = Uint64Key(v);
    in = key;
    uint64_t out;
    ASSERT_TRUE(ConsumeUint64(in, out));
    EXPECT_EQ(out, v);
    EXPECT_TRUE(in.empty());
  }
}

TEST(KeyCodecTest, StringsRoundTripAtEveryLengthClass) {
  for (size_t n : {0, 1, 127, 128, 16383, 16384, 100000}) {
    std::string key;
    AppendString(key, std::string(n, 'x'));
    AppendUint64(key, 7);
    absl::string_view in = key;
    std::string s;
    uint64_t seq;
    ASSERT_TRUE(ConsumeString(in, s)) << n;
    ASSERT_TRUE(ConsumeUint64(in, seq));
    EXPECT_EQ(s.size(), n);
    EXPECT_EQ(seq, 7u);
    EXPECT_TRUE(in.empty());
  }
}

TEST(KeyCodecTest, CompositeKeysGroupByStringThenOrderBySeq) {
  // Feed keys: (audience, seq). One audience never interleaves with another,
  // and within one the order is numeric, even across the length classes.
  std::vector<std::pair<std::string, uint64_t>> items;
  for (const std::string& audience :
       {std::string("registry"), std::string("inspector/i-1"),
        std::string("inspector/i-12"), std::string(200, 'a'),
        std::string("走读")}) {
    for (uint64_t seq : {0ull, 9ull, 10ull, 300ull, 1ull << 40}) {
      items.emplace_back(audience, seq);
    }
  }
  std::vector<std::string> keys;
  for (const auto& [audience, seq] : items) {
    std::string key;
    AppendString(key, audience);
    AppendUint64(key, seq);
    keys.push_back(key);
  }
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = items[order[i - 1]];
    const auto& cur = items[order[i]];
    if (prev.first == cur.first) {
      EXPECT_LT(prev.second, cur.second);
    } else {
      // Leaving an audience means never seeing it again.
      for (size_t j = i; j < order.size(); ++j) {
        EXPECT_NE(items[order[j]].first, prev.first);
      }
    }
  }
}

TEST(KeyCodecTest, MalformedInputIsRefused) {
  absl::string_view in =
      "\x05"
      "abc";  // says 5 bytes, has 3
  std::string s;
  EXPECT_FALSE(ConsumeString(in, s));
  absl::string_view empty;
  EXPECT_FALSE(ConsumeString(empty, s));
  absl::string_view bad_header = "\xF0";
  EXPECT_FALSE(ConsumeString(bad_header, s));
  absl::string_view short_int = "1234567";
  uint64_t v;
  EXPECT_FALSE(ConsumeUint64(short_int, v));
}

}  // namespace
}  // namespace fieldledger::storage
