#include "storage/counters.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fieldledger::storage {
namespace {

class CounterAdd final : public rocksdb::AssociativeMergeOperator {
 public:
  const char* Name() const override { return "fieldledger.CounterAdd"; }
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
             const rocksdb::Slice& operand, std::string* new_value,
             rocksdb::Logger*) const override {
    int64_t sum = 0, add = 0;
    if (existing != nullptr) {
      DecodeCounter(absl::string_view(existing->data(), existing->size()), sum);
    }
    DecodeCounter(absl::string_view(operand.data(), operand.size()), add);
    *new_value = EncodeCounter(static_cast<int64_t>(
        static_cast<uint64_t>(sum) + static_cast<uint64_t>(add)));
    return true;
  }
};

}  // namespace

std::string EncodeCounter(int64_t value) {
  std::string out(8, '\0');
  const uint64_t v = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

bool DecodeCounter(absl::string_view bytes, int64_t& value) {
  if (bytes.size() != 8) return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  }
  value = static_cast<int64_t>(v);
  return true;
}

std::shared_ptr<rocksdb::MergeOperator> NewCounterAddOperator() {
  return std::make_shared<CounterAdd>();
}

CounterDiff DiffCounters(const std::map<std::string, int64_t>& stored,
                         const std::map<std::string, int64_t>& expected,
                         size_t max_examples) {
  CounterDiff diff;
  auto note = [&](const std::string& key, int64_t have, int64_t want) {
    if (have == want) return;
    ++diff.count;
    diff.corrections[key] = want - have;
    if (diff.examples.size() < max_examples) {
      diff.examples.push_back(absl::StrCat(absl::CEscape(key), ": stored ",
                                           have, ", the events say ", want));
    }
  };
  auto s = stored.begin();
  auto e = expected.begin();
  while (s != stored.end() || e != expected.end()) {
    if (e == expected.end() || (s != stored.end() && s->first < e->first)) {
      note(s->first, s->second, 0);
      ++s;
    } else if (s == stored.end() || e->first < s->first) {
      note(e->first, 0, e->second);
      ++e;
    } else {
      note(s->first, s->second, e->second);
      ++s;
      ++e;
    }
  }
  return diff;
}

}  // namespace fieldledger::storage
