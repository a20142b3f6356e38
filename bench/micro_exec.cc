// Micro-benchmarks of the execution stage, decoder excluded: records of the
// BENCH.md data sets are decoded once up front, then every pass runs them
// through Prepare -> QueryState (or Projector) -> RowFormat into an OutBuffer
// whose sink discards, as one shard does for its own keys. Plus the pieces on
// their own: RowFormat::write, hash64, encode_key. The decoder has its own
// binary (micro_decode), and so do group tables and accumulators
// (micro_state) and the SPSC ring (micro_ring).
//
//   build-perf/bench/micro_exec                       # every benchmark
//   build-perf/bench/micro_exec --benchmark_filter=Pipeline
//   valgrind --tool=callgrind --toggle-collect='*run_pass*'
//       build-perf/bench/micro_exec --profile=S3a     (exact instructions per record)
//
// --profile=NAME[,passes] runs passes (default 3) of one pipeline without the
// benchmark harness and prints records and rows; with callgrind's
// --toggle-collect only run_pass is counted, so instructions / records is the
// per-record cost of Prepare + aggregation + serialization.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../src/exec/key_inline.h"
#include "../src/exec/row_format.h"
#include "gen_records.h"
#include "micro_common.h"
#include "sluice/base.h"
#include "sluice/decode.h"
#include "sluice/exec.h"
#include "sluice/out_buffer.h"
#include "sluice/sql.h"
#include "sluice/stats.h"

namespace sluice::bench {
namespace {

// ------------------------------------------------------------------ pipelines

struct Scene {
    const char* name;
    Scenario data;
    uint64_t records;
    const char* sql;
};

// BENCH.md's queries. S3a/S3b run 4 one-minute windows of s3-dense (60,000 records each).
constexpr Scene kScenes[] = {
    {"S0", Scenario::S0, 200000, kSqlS0},
    {"S2", Scenario::S2, 200000, kSqlS2},
    {"S3a", Scenario::S3Dense, 240000, kSqlS3a},
    {"S3b", Scenario::S3Dense, 240000, kSqlS3b},
    {"1BRC", Scenario::OneBrc, 200000, kSql1Brc},
};

// Records between two in-band watermarks (the runtime sends one per read chunk).
constexpr uint64_t kChunkRecords = 4096;

class Pipeline {
public:
    explicit Pipeline(const Scene& scene)
        : plan_(plan_or_die(scene.sql)),
          data_(predecode(plan_, scene.data, scene.records)),
          out_(256 * 1024, &discard, nullptr) {
        if (plan_.is_aggregate())
            prepare_ = std::make_unique<Prepare>(plan_);
        else
            projector_ = std::make_unique<Projector>(plan_, out_, counters_);
    }

    // A fresh state per pass, so windows and EMIT FINAL run their whole course.
    void reset_state() {
        if (!prepare_) return;
        state_.reset();
        state_ = std::make_unique<QueryState>(plan_, 0, 1, 1, out_, counters_);
    }

    uint64_t records() const noexcept { return data_.count; }
    const ShardCounters& counters() const noexcept { return counters_; }

    [[gnu::noinline]] void run_pass() noexcept {
        if (projector_) {
            for (uint64_t i = 0; i < data_.count; ++i) projector_->on_record(data_.record(i), 0);
            out_.flush();
            return;
        }
        const bool windowed = plan_.is_windowed();
        int64_t watermark = kWatermarkMin;
        for (uint64_t i = 0; i < data_.count; ++i) {
            PreparedRecord r;
            if (prepare_->run(data_.record(i), 0, r, counters_) == Prepare::Outcome::Filtered) continue;
            AggInput in;
            in.hash = r.hash;
            in.key = r.key;
            in.key_len = r.key_len;
            in.ts = r.ts;
            in.wm_before = watermark;
            in.seq = i;
            in.args = r.args;
            state_->on_record(in);
            if (windowed && r.ts > watermark) watermark = r.ts;
            if (windowed && (i + 1) % kChunkRecords == 0) state_->on_watermark(0, watermark);
        }
        state_->on_source_end(0);
        out_.flush();
    }

private:
    Plan plan_;
    Dataset data_;
    ShardCounters counters_;
    OutBuffer out_;
    std::unique_ptr<Prepare> prepare_;
    std::unique_ptr<Projector> projector_;
    std::unique_ptr<QueryState> state_;
};

void BM_Pipeline(benchmark::State& state, const Scene* scene) {
    Pipeline p(*scene);
    for (auto _ : state) {
        state.PauseTiming();
        p.reset_state();
        state.ResumeTiming();
        p.run_pass();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * p.records()));
    state.counters["rows/rec"] =
        static_cast<double>(p.counters().rows_out) / static_cast<double>(state.iterations() * p.records());
}

// ------------------------------------------------------------------ rows

std::vector<OutputColumn> columns_named(std::initializer_list<const char*> names) {
    std::vector<OutputColumn> cols;
    for (const char* n : names) cols.push_back(OutputColumn{n, kNoExpr});
    return cols;
}

void run_writer(benchmark::State& state, const std::vector<OutputColumn>& cols, const std::vector<Value>& row) {
    OutBuffer out(256 * 1024, &discard, nullptr);
    detail::RowFormat w(cols);
    for (auto _ : state) {
        w.write(out, row.data());
        benchmark::ClobberMemory();
    }
    out.flush();
    state.SetItemsProcessed(state.iterations());
}

// An S2 row: symbol, count, avg, min, max, sum (whole-number doubles).
void BM_RowWriteS2(benchmark::State& state) {
    run_writer(state,
               columns_named({"symbol", "trade_count", "avg_price", "min_price", "max_price", "total_quantity"}),
               {Value::of_string("SYM117"), Value::of_int(4321), Value::of_double(117.0), Value::of_double(117.0),
                Value::of_double(117.0), Value::of_int(2159500)});
}
BENCHMARK(BM_RowWriteS2);

// An S0 row: two ints, a date string, a whole-number double.
void BM_RowWriteS0(benchmark::State& state) {
    run_writer(state, columns_named({"order_id", "customer_id", "order_date", "total_amount"}),
               {Value::of_int(1234567), Value::of_int(567), Value::of_string("2024-01-15"),
                Value::of_double(217.0)});
}
BENCHMARK(BM_RowWriteS0);

// A 1BRC row: one-decimal min/max and an average with all 17 digits.
void BM_RowWrite1BRC(benchmark::State& state) {
    run_writer(state, columns_named({"station", "min_temp", "avg_temp", "max_temp"}),
               {Value::of_string("Addis Ababa"), Value::of_double(-59.3), Value::of_double(12.345678901234567),
                Value::of_double(98.7)});
}
BENCHMARK(BM_RowWrite1BRC);

// ------------------------------------------------------------------ hash64, encode_key

void BM_Hash64(benchmark::State& state) {
    const auto len = static_cast<std::size_t>(state.range(0));
    std::vector<uint8_t> key(len);
    for (std::size_t i = 0; i < len; ++i) key[i] = static_cast<uint8_t>('a' + i % 26);
    for (auto _ : state) {
        benchmark::DoNotOptimize(key.data());
        benchmark::DoNotOptimize(hash64(key.data(), len));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hash64)->Arg(10)->Arg(16)->Arg(17)->Arg(24)->Arg(32)->Arg(40);

// S3a's key (two short strings) and an integer key.
void BM_EncodeKey(benchmark::State& state) {
    const bool two_strings = state.range(0) == 0;
    const Value strings[2] = {Value::of_string("T17"), Value::of_string("SYM67")};
    const Value ints[1] = {Value::of_int(123456789)};
    uint8_t out[64];
    for (auto _ : state) {
        benchmark::DoNotOptimize(strings);
        benchmark::DoNotOptimize(ints);
        const uint32_t n = two_strings ? encode_key(strings, 2, out, sizeof out) : encode_key(ints, 1, out, sizeof out);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeKey)->ArgName("int")->Arg(0)->Arg(1);

// ------------------------------------------------------------------ entry

int profile(std::string_view spec) {
    const std::size_t comma = spec.find(',');
    const std::string_view name = spec.substr(0, comma);
    const int passes = comma == std::string_view::npos ? 3 : std::stoi(std::string(spec.substr(comma + 1)));
    for (const Scene& s : kScenes) {
        if (name != s.name) continue;
        Pipeline p(s);
        for (int i = 0; i < passes; ++i) {
            p.reset_state();
            p.run_pass();
        }
        std::printf("%s: %d passes, %llu records, %llu rows out\n", s.name, passes,
                    static_cast<unsigned long long>(p.records() * static_cast<uint64_t>(passes)),
                    static_cast<unsigned long long>(p.counters().rows_out));
        return 0;
    }
    std::fprintf(stderr, "unknown pipeline: %.*s\n", static_cast<int>(name.size()), name.data());
    return 2;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
    using namespace sluice::bench;
    if (argc > 1 && std::strncmp(argv[1], "--profile=", 10) == 0) return profile(argv[1] + 10);
    for (const Scene& s : kScenes)
        benchmark::RegisterBenchmark((std::string("BM_Pipeline/") + s.name).c_str(), BM_Pipeline, &s)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
