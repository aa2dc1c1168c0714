#include "client/args.h"

#include "gtest/gtest.h"

namespace fieldledger::client {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"unit", OptionKind::kValue, true}, {"observed-at", OptionKind::kValue},
    {"lat", OptionKind::kValue},        {"force", OptionKind::kFlag},
    {"help", OptionKind::kFlag},
};

TEST(ParseArgsTest, SpaceAndEqualsForms) {
  auto args = ParseArgs(
      {"--unit", "u1", "--observed-at=2024-09-02T08:00:00Z", "pos", "--force"},
      kSpecs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(*args->Get("unit"), "u1");
  EXPECT_EQ(*args->Get("observed-at"), "2024-09-02T08:00:00Z");
  EXPECT_TRUE(args->Has("force"));
  EXPECT_FALSE(args->Get("lat").has_value());
  EXPECT_EQ(args->GetOr("lat", "x"), "x");
  EXPECT_EQ(args->positionals, std::vector<std::string>{"pos"});
}

TEST(ParseArgsTest, ValueMayStartWithDashAndContainEquals) {
  auto args = ParseArgs({"--unit=a=b", "--lat", "-22.5"}, kSpecs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(*args->Get("unit"), "a=b");
  EXPECT_EQ(*args->Get("lat"), "-22.5");
}

TEST(ParseArgsTest, EmptyValueAndUtf8) {
  auto args = ParseArgs({"--unit=", "窗口"}, kSpecs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(*args->Get("unit"), "");
  EXPECT_EQ(args->positionals[0], "窗口");
}

TEST(ParseArgsTest, DoubleDashEndsOptions) {
  auto args = ParseArgs({"--unit", "u", "--", "--force"}, kSpecs);
  ASSERT_TRUE(args.ok());
  EXPECT_FALSE(args->Has("force"));
  EXPECT_EQ(args->positionals, std::vector<std::string>{"--force"});
}

TEST(ParseArgsTest, Errors) {
  EXPECT_EQ(
      ParseArgs({"--unit", "u", "--colour", "red"}, kSpecs).status().message(),
      "unknown option --colour");
  EXPECT_EQ(ParseArgs({"--unit"}, kSpecs).status().message(),
            "option --unit needs a value");
  EXPECT_EQ(ParseArgs({"--lat", "1"}, kSpecs).status().message(),
            "missing required option --unit");
  EXPECT_EQ(
      ParseArgs({"--unit", "u", "--force=yes"}, kSpecs).status().message(),
      "option --force takes no value");
  EXPECT_EQ(ParseArgs({"--unit", "u", "-x"}, kSpecs).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseArgsTest, HelpSkipsRequiredCheck) {
  auto args = ParseArgs({"-h"}, kSpecs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(args->Has("help"));
}

}  // namespace
TEST(ParseArgsTest, RepeatedOptionsKeepEveryValueAndShortOutput) {
  auto parsed =
      ParseArgs({"--evidence", "a.jpg", "--evidence=b.png", "-o", "out.bin"},
                {{"evidence"}, {"output"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->GetAll("evidence"),
            (std::vector<std::string>{"a.jpg", "b.png"}));
  EXPECT_EQ(parsed->Get("evidence"), "b.png");
  EXPECT_EQ(parsed->Get("output"), "out.bin");
  EXPECT_TRUE(parsed->GetAll("unit").empty());
  EXPECT_FALSE(ParseArgs({"-o", "x"}, {{"evidence"}}).ok());
}

}  // namespace fieldledger::client
