#include "client/table.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace fieldledger::client {
namespace {

// Decodes one code point from the front of `s`; returns its byte length, or
// 0 when the bytes are not well-formed UTF-8 (then *cp is unspecified).
size_t DecodeOne(absl::string_view s, uint32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  size_t len;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, *cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, *cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, *cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

bool InRanges(uint32_t cp, const uint32_t (*ranges)[2], size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (cp >= ranges[i][0] && cp <= ranges[i][1]) return true;
  }
  return false;
}

// East Asian Wide (W) and Fullwidth (F) blocks, coarse but covering what
// inspectors type: CJK ideographs and punctuation, kana, Hangul, fullwidth
// forms, emoji.
constexpr uint32_t kWide[][2] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},
    {0x23E9, 0x23EC},   {0x2614, 0x2615},   {0x2E80, 0x303E},
    {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
    {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},
    {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},
    {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F},
    {0x1F680, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD},
    {0x30000, 0x3FFFD},
};

constexpr uint32_t kZero[][2] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD},   {0x200B, 0x200F},
    {0x2028, 0x202E}, {0x2060, 0x2064}, {0x20D0, 0x20FF},   {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

size_t CodePointWidth(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 0;
  if (cp < 0x300) return 1;
  if (InRanges(cp, kZero, sizeof(kZero) / sizeof(kZero[0]))) return 0;
  if (InRanges(cp, kWide, sizeof(kWide) / sizeof(kWide[0]))) return 2;
  return 1;
}

std::string Clean(std::string cell) {
  for (char& c : cell) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return cell;
}

}  // namespace

size_t DisplayWidth(absl::string_view s) {
  size_t width = 0;
  while (!s.empty()) {
    uint32_t cp = 0;
    size_t len = DecodeOne(s, &cp);
    if (len == 0) {
      width += 1;
      len = 1;
    } else {
      width += CodePointWidth(cp);
    }
    s.remove_prefix(len);
  }
  return width;
}

std::string TruncateToWidth(absl::string_view s, size_t width) {
  if (DisplayWidth(s) <= width) return std::string(s);
  if (width == 0) return "";
  const size_t budget = width - 1;  // Room for "…" (width 1).
  size_t used = 0;
  size_t bytes = 0;
  while (bytes < s.size()) {
    uint32_t cp = 0;
    size_t len = DecodeOne(s.substr(bytes), &cp);
    const size_t w = len == 0 ? 1 : CodePointWidth(cp);
    if (len == 0) len = 1;
    if (used + w > budget) break;
    used += w;
    bytes += len;
  }
  return std::string(s.substr(0, bytes)) + "\u2026";
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), max_widths_(headers_.size(), 0) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& cell : cells) cell = Clean(std::move(cell));
  rows_.push_back(std::move(cells));
}

void Table::SetMaxWidth(size_t column, size_t width) {
  if (column < max_widths_.size())
    max_widths_[column] = std::max<size_t>(width, 2);
}

std::string Table::Render() const {
  const size_t n = headers_.size();
  std::vector<std::vector<std::string>> lines;
  lines.push_back(headers_);
  for (const auto& row : rows_) {
    std::vector<std::string> cut(n);
    for (size_t c = 0; c < n; ++c) {
      cut[c] = max_widths_[c] == 0 ? row[c]
                                   : TruncateToWidth(row[c], max_widths_[c]);
    }
    lines.push_back(std::move(cut));
  }
  std::vector<size_t> widths(n, 0);
  for (const auto& line : lines) {
    for (size_t c = 0; c < n; ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(line[c]));
    }
  }
  std::vector<std::string> rule(n);
  for (size_t c = 0; c < n; ++c) rule[c] = std::string(widths[c], '-');
  lines.insert(lines.begin() + 1, rule);

  std::string out;
  for (const auto& line : lines) {
    std::string text;
    for (size_t c = 0; c < n; ++c) {
      if (c > 0) text += "  ";
      text += line[c];
      if (c + 1 < n) text.append(widths[c] - DisplayWidth(line[c]), ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  }
  return out;
}

}  // namespace fieldledger::client
