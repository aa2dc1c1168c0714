#include "core/text.h"

#include "gtest/gtest.h"

namespace fieldledger {
namespace {

TEST(Utf8LengthTest, CountsCodePoints) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("走读"), 2u);
  EXPECT_EQ(Utf8Length("中梗阻 ok"), 6u);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), 1u);  // U+1F600
}

TEST(Utf8LengthTest, RejectsMalformedInput) {
  EXPECT_FALSE(Utf8Length("\xC3"));              // truncated
  EXPECT_FALSE(Utf8Length("\x80"));              // lone continuation
  EXPECT_FALSE(Utf8Length("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(Utf8Length("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(Utf8Length("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(Utf8Length("\xFF"));
}

TEST(UuidV7Test, NewIdsAreValidAndTimeOrdered) {
  const absl::Time t = absl::FromUnixMillis(1756771200000);
  const std::string a = NewUuidV7(t);
  const std::string b = NewUuidV7(t + absl::Milliseconds(1));
  EXPECT_TRUE(IsUuidV7(a)) << a;
  EXPECT_TRUE(IsUuidV7(b)) << b;
  EXPECT_LT(a, b);
  EXPECT_NE(NewUuidV7(t), NewUuidV7(t));
  EXPECT_EQ(a.substr(0, 13), "019907b9-2c00");  // 48-bit big-endian millis
}

TEST(UuidV7Test, RejectsOtherForms) {
  EXPECT_FALSE(IsUuidV7(""));
  EXPECT_FALSE(IsUuidV7("0190f5e8-7c3a-4b1e-9d2c-5a4b3c2d1e0f"));  // v4
  EXPECT_FALSE(IsUuidV7("0190F5E8-7C3A-7B1E-9D2C-5A4B3C2D1E0F"));  // upper
  EXPECT_FALSE(IsUuidV7("0190f5e8-7c3a-7b1e-1d2c-5a4b3c2d1e0f"));  // variant
  EXPECT_FALSE(IsUuidV7("0190f5e87c3a7b1e9d2c5a4b3c2d1e0f"));      // no dashes
  EXPECT_TRUE(IsUuidV7("0190f5e8-7c3a-7b1e-9d2c-5a4b3c2d1e0f"));
}

TEST(RandomHexTest, HasTheRequestedLength) {
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
}

}  // namespace
}  // namespace fieldledger
