#include "core/packed_leaves.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fieldledger {
namespace {

std::vector<std::string> Unpack(absl::string_view packed, bool* malformed) {
  std::vector<std::string> out;
  PackedLeaves leaves(packed);
  for (absl::string_view leaf; leaves.Next(leaf);) out.emplace_back(leaf);
  *malformed = leaves.malformed();
  return out;
}

TEST(PackedLeavesTest, RoundTripsLeavesOfEveryLengthClass) {
  const std::vector<std::string> leaves = {"",
                                           "a",
                                           std::string(127, 'x'),
                                           std::string(128, 'y'),
                                           std::string(70000, 'z'),
                                           "窗口无人值守"};
  std::string packed;
  for (const std::string& leaf : leaves) AppendPackedLeaf(packed, leaf);
  // Lengths 0..127 take one byte, 128 two, 70000 three.
  EXPECT_EQ(packed[0], '\0');
  EXPECT_EQ(packed.size(), size_t{1 + 2 + 128 + 130 + 70003 + 1 + 18});
  bool malformed = true;
  EXPECT_EQ(Unpack(packed, &malformed), leaves);
  EXPECT_FALSE(malformed);
  EXPECT_TRUE(Unpack("", &malformed).empty());
  EXPECT_FALSE(malformed);
}

TEST(PackedLeavesTest, StopsAtAnythingThatIsNotAWholeRecord) {
  std::string packed;
  AppendPackedLeaf(packed, "first");
  AppendPackedLeaf(packed, std::string(200, 'b'));
  bool malformed = false;
  // Cut inside the second record's bytes, and inside its length.
  for (size_t cut : {packed.size() - 1, size_t{7}}) {
    const auto got =
        Unpack(absl::string_view(packed).substr(0, cut), &malformed);
    EXPECT_EQ(got, std::vector<std::string>{"first"}) << cut;
    EXPECT_TRUE(malformed) << cut;
  }
  // A length of more than ten varint bytes.
  EXPECT_TRUE(Unpack(std::string(11, '\x80') + "x", &malformed).empty());
  EXPECT_TRUE(malformed);
}

}  // namespace
}  // namespace fieldledger
