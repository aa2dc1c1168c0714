// Micro benchmarks of the ledger's Merkle math (core/merkle.h): proofs from
// an in-memory 1,000,000-leaf tree (target: < 1 ms each) and the rate of
// `ledger audit`'s root recomputation from leaf bytes (target: >= 1 M
// leaves/s). Run: build/bin/fieldledger_ledger_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/merkle.h"

namespace fieldledger::bench {
namespace {

constexpr uint64_t kTreeSize = 1'000'000;

// Built once, on first use: 1M leaves, ~2M stored subtree hashes (64 MB).
merkle::MemorySubtreeStore& MillionLeafTree() {
  static merkle::MemorySubtreeStore* store = [] {
    auto* s = new merkle::MemorySubtreeStore;
    for (uint64_t i = 0; i < kTreeSize; ++i) {
      if (!s->Append(merkle::HashLeaf(absl::StrCat("entry ", i))).ok()) {
        std::abort();
      }
    }
    return s;
  }();
  return *store;
}

void BM_InclusionProof1M(benchmark::State& state) {
  merkle::MemorySubtreeStore& store = MillionLeafTree();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto proof = merkle::InclusionProof(rng() % kTreeSize, kTreeSize, store);
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_InclusionProof1M)->Repetitions(5)->ReportAggregatesOnly(true);

// The same, timing each call on its own: the median and p99 of one proof.
void BM_InclusionProof1MLatency(benchmark::State& state) {
  merkle::MemorySubtreeStore& store = MillionLeafTree();
  std::mt19937_64 rng(4);
  std::vector<double> ns;
  for (auto _ : state) {
    const uint64_t index = rng() % kTreeSize;
    const auto start = std::chrono::steady_clock::now();
    auto proof = merkle::InclusionProof(index, kTreeSize, store);
    const auto stop = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(proof);
    ns.push_back(
        std::chrono::duration<double, std::nano>(stop - start).count());
  }
  std::sort(ns.begin(), ns.end());
  state.counters["p50_ns"] = ns[ns.size() / 2];
  state.counters["p99_ns"] = ns[ns.size() * 99 / 100];
  state.counters["max_ns"] = ns.back();
}
BENCHMARK(BM_InclusionProof1MLatency);

void BM_InclusionProofAndVerify1M(benchmark::State& state) {
  merkle::MemorySubtreeStore& store = MillionLeafTree();
  const merkle::Hash root = *merkle::RootHash(kTreeSize, store);
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    const uint64_t index = rng() % kTreeSize;
    auto proof = merkle::InclusionProof(index, kTreeSize, store);
    const merkle::Hash leaf = *store.Get(0, index);
    if (!merkle::VerifyInclusion(index, kTreeSize, leaf, *proof, root).ok()) {
      state.SkipWithError("proof did not verify");
    }
  }
}
BENCHMARK(BM_InclusionProofAndVerify1M)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

void BM_ConsistencyProof1M(benchmark::State& state) {
  merkle::MemorySubtreeStore& store = MillionLeafTree();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    auto proof =
        merkle::ConsistencyProof(1 + rng() % kTreeSize, kTreeSize, store);
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_ConsistencyProof1M)->Repetitions(5)->ReportAggregatesOnly(true);

// Recomputes the root of state.range(0) leaves of state.range(1) bytes each
// from the leaf bytes, as `ledger audit` does.
void BM_RootFromLeafBytes(benchmark::State& state) {
  const auto leaves = static_cast<uint64_t>(state.range(0));
  std::string leaf(static_cast<size_t>(state.range(1)), 'x');
  for (auto _ : state) {
    merkle::RootBuilder builder;
    for (uint64_t i = 0; i < leaves; ++i) {
      leaf[i % leaf.size()] = static_cast<char>(i);
      builder.AppendLeaf(leaf);
    }
    benchmark::DoNotOptimize(builder.Root());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * leaves));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * leaves * leaf.size()));
}
BENCHMARK(BM_RootFromLeafBytes)
    ->Args({1'000'000, 64})
    ->Args({1'000'000, 256})
    ->Args({1'000'000, 1024})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fieldledger::bench

BENCHMARK_MAIN();
