// Terminal display width of UTF-8 text, and a plain-text table whose columns
// line up when cells mix ASCII and CJK (a wide character takes 2 columns).
//
//   Table table({"ID", "UNIT", "SUMMARY"});
//   table.SetMaxWidth(2, 40);            // longer cells end in "…"
//   table.AddRow({id, "u1", "窗口无人值守"});
//   std::cout << table.Render();
//
// Thread-safety: a Table is a plain value; DisplayWidth is pure.
#ifndef FIELDLEDGER_CLIENT_TABLE_H_
#define FIELDLEDGER_CLIENT_TABLE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fieldledger::client {

// Columns `s` takes on a terminal: East Asian wide and fullwidth characters
// (CJK, Hangul, fullwidth forms, most emoji) count 2, combining marks, zero
// width and control characters 0, everything else 1. A byte that is not
// well-formed UTF-8 counts 1 (it is shown as a replacement character).
size_t DisplayWidth(absl::string_view s);

// The longest prefix of `s` whose width is at most `width`, ending in "…"
// when anything was cut. Never splits a character.
std::string TruncateToWidth(absl::string_view s, size_t width);

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Cells beyond the header count are dropped; missing ones are empty.
  // Line breaks and tabs in cells are shown as spaces.
  void AddRow(std::vector<std::string> cells);

  // Cuts cells of `column` wider than `width` (at least 2). No limit by
  // default.
  void SetMaxWidth(size_t column, size_t width);

  // The header, a rule of dashes, then the rows; columns separated by two
  // spaces, padded by display width, no trailing spaces. Each line ends in
  // '\n'.
  std::string Render() const;

  size_t rows() const { return rows_.size(); }

 private:
  std::vector<std::string> headers_;
  std::vector<size_t> max_widths_;  // 0: no limit.
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_TABLE_H_
