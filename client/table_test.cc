#include "client/table.h"

#include "gtest/gtest.h"

namespace fieldledger::client {
namespace {

TEST(DisplayWidthTest, AsciiCjkAndOthers) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("走读"), 4u);
  EXPECT_EQ(DisplayWidth("南山区a"), 7u);
  EXPECT_EQ(DisplayWidth("，"), 2u);       // Fullwidth comma.
  EXPECT_EQ(DisplayWidth("\u3002"), 2u);   // Ideographic full stop.
  EXPECT_EQ(DisplayWidth("é"), 1u);        // Precomposed.
  EXPECT_EQ(DisplayWidth("e\u0301"), 1u);  // Combining accent.
  EXPECT_EQ(DisplayWidth("\xff"), 1u);     // Not UTF-8.
  EXPECT_EQ(DisplayWidth("한국"), 4u);
}

TEST(TruncateToWidthTest, CutsByColumnsNotBytes) {
  EXPECT_EQ(TruncateToWidth("abc", 3), "abc");
  EXPECT_EQ(TruncateToWidth("abcdef", 4), "abc…");
  EXPECT_EQ(TruncateToWidth("窗口无人值守", 6), "窗口…");
  // A wide character that does not fit whole is left out.
  EXPECT_EQ(TruncateToWidth("窗口无人值守", 5), "窗口…");
  EXPECT_LE(DisplayWidth(TruncateToWidth("窗口无人值守", 5)), 5u);
}

TEST(TableTest, AlignsMixedWidthCells) {
  Table table({"ID", "NAME", "NOTE"});
  table.AddRow({"1", "南山区", "x"});
  table.AddRow({"22", "Nanshan", "y"});
  table.AddRow({"3", "粤海", "多行\n文本"});
  EXPECT_EQ(table.Render(),
            "ID  NAME     NOTE\n"
            "--  -------  ---------\n"
            "1   南山区   x\n"
            "22  Nanshan  y\n"
            "3   粤海     多行 文本\n");
}

TEST(TableTest, MaxWidthTruncates) {
  Table table({"S"});
  table.SetMaxWidth(0, 5);
  table.AddRow({"窗口无人值守"});
  EXPECT_EQ(table.Render(), "S\n-----\n窗口…\n");
}

TEST(TableTest, MissingCellsAreEmpty) {
  Table table({"A", "B"});
  table.AddRow({"only"});
  EXPECT_EQ(table.Render(), "A     B\n----  -\nonly\n");
}

}  // namespace
}  // namespace fieldledger::client
