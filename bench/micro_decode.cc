// Micro-benchmarks of the NDJSON decoder (src/decode): the field plan of a
// BENCH.md query over a block of its data set's lines, as a shard decodes
// what LineReader::next_blocks hands it (QueryPipeline::on_block ->
// NdjsonDecoder::decode_block, 1 MiB read chunks), and the same lines one at a
// time through NdjsonDecoder::decode (the per-line path). Records/s and
// bytes/s of NDJSON text, newlines included.
//
//   build/bench/micro_decode
//   build/bench/micro_decode --benchmark_filter=Block/s2
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gen_records.h"
#include "micro_common.h"
#include "sluice/decode.h"
#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice::bench {
namespace {

// The shard's read chunk (QueryShard's chunk_bytes): the size of the blocks decode_block sees.
constexpr std::size_t kBlockBytes = std::size_t{1} << 20;

struct DecodeSet {
    const char* name;
    Scenario data;
    const char* sql;  // the query whose field plan decodes the set
};

constexpr DecodeSet kSets[] = {
    {"s0", Scenario::S0, kSqlS0},
    {"s2", Scenario::S2, kSqlS2},
    {"s3", Scenario::S3, kSqlS3a},
    {"1brc", Scenario::OneBrc, kSql1Brc},
};

// Something of every record the callback sees, so nothing is decoded for nothing.
inline uint64_t fold(const Value* out, std::size_t n) noexcept {
    uint64_t x = 0;
    for (std::size_t f = 0; f < n; ++f) x += static_cast<uint64_t>(out[f].i) + out[f].len + static_cast<uint64_t>(out[f].type);
    return x;
}

void set_rates(benchmark::State& state, const LineBlock& block, std::size_t fields) {
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * block.records));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block.len));
    state.counters["B/rec"] = static_cast<double>(block.len) / static_cast<double>(block.records);
    state.counters["fields"] = static_cast<double>(fields);
}

// decode_block over one 1 MiB block of lines per iteration.
void BM_DecodeBlock(benchmark::State& state, const DecodeSet* set) {
    const Plan plan = plan_or_die(set->sql);
    const LineBlock block = make_line_block(set->data, kBlockBytes);
    NdjsonDecoder decoder(plan.fields, kDefaultMaxRecordBytes, block.len);
    std::vector<Value> out(plan.fields.size());
    uint64_t mismatch = 0, records = 0, rejected = 0, sum = 0;
    for (auto _ : state) {
        decoder.decode_block(
            block.bytes.data(), block.len, out.data(), mismatch,
            [&] {
                ++records;
                sum += fold(out.data(), out.size());
            },
            [&] { ++rejected; });
    }
    benchmark::DoNotOptimize(sum);
    if (records != state.iterations() * block.records || rejected != 0 || mismatch != 0) {
        state.SkipWithError(("decoded " + std::to_string(records) + " records, rejected " + std::to_string(rejected) +
                             ", type mismatches " + std::to_string(mismatch) + "; expected " +
                             std::to_string(state.iterations() * block.records))
                                .c_str());
        return;
    }
    set_rates(state, block, out.size());
    // Lines decode_block had to decode alone (after an anomaly): 0 on clean input.
    const auto& st = decoder.block_stats();
    state.counters["alone"] =
        static_cast<double>(st.alone) / static_cast<double>(st.alone + st.streamed == 0 ? 1 : st.alone + st.streamed);
}

// The same lines through decode(), one call per line.
void BM_DecodeLine(benchmark::State& state, const DecodeSet* set) {
    const Plan plan = plan_or_die(set->sql);
    const LineBlock block = make_line_block(set->data, kBlockBytes);
    NdjsonDecoder decoder(plan.fields, kDefaultMaxRecordBytes);
    std::vector<Value> out(plan.fields.size());
    uint64_t mismatch = 0, records = 0, sum = 0;
    for (auto _ : state) {
        for (uint64_t i = 0; i < block.records; ++i) {
            std::size_t n;
            const char* p = block.line(i, &n);  // the next lines (or the padding) follow: readable
            if (decoder.decode(p, n, out.data(), mismatch)) {
                ++records;
                sum += fold(out.data(), out.size());
            }
        }
    }
    benchmark::DoNotOptimize(sum);
    if (records != state.iterations() * block.records || mismatch != 0) {
        state.SkipWithError(("decoded " + std::to_string(records) + " of " +
                             std::to_string(state.iterations() * block.records) + " records")
                                .c_str());
        return;
    }
    set_rates(state, block, out.size());
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
    using namespace sluice::bench;
    for (const DecodeSet& s : kSets)
        benchmark::RegisterBenchmark((std::string("BM_DecodeBlock/") + s.name).c_str(), BM_DecodeBlock, &s)
            ->Unit(benchmark::kMicrosecond);
    for (const DecodeSet& s : kSets)
        benchmark::RegisterBenchmark((std::string("BM_DecodeLine/") + s.name).c_str(), BM_DecodeLine, &s)
            ->Unit(benchmark::kMicrosecond);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
