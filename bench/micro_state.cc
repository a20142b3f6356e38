// Micro-benchmarks of aggregation state (src/exec): the flat group table
// (GroupTable) and the accumulator blocks (AggLayout), the two pieces
// QueryState's per-record apply() is made of:
//
//   hit = table.find_or_insert(hash, key, len);
//   if (hit.inserted) layout.init(hit.block);
//   layout.update(hit.block, args, seq, table.arena(), type_mismatch);
//
// - BM_AggUpdate/{S2,1BRC}: layout.update on one warm group, per record: the
//   S2 set (COUNT(*), AVG, MIN, MAX of price, SUM of quantity) and the 1BRC
//   set (MIN/AVG/MAX of temperature), arguments from real records (decoded,
//   then Prepare), cycling through 4096 of them.
// - BM_GroupTableLookup/groups: find_or_insert of existing groups only
//   (8-byte blocks), uniform random over the groups.
// - BM_GroupUpsert/groups: find_or_insert + the S2 accumulator update,
//   uniform random over groups that all exist already (the steady state).
// - BM_GroupFill/groups: the same from an empty table, every record a new
//   group (inserts, table growth and key copies included); one iteration
//   builds the whole table.
// Keys are encoded BIGINTs (9 bytes), hashed once up front as the shard
// hashes a record's key once at decode. Prefilled tables are cached across
// Google Benchmark's calls of one benchmark, so the 10M-group case is built
// once per benchmark, not once per run.
//
//   build/bench/micro_state
//   build/bench/micro_state --benchmark_filter='Upsert/10000$'
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../src/exec/accumulators.h"
#include "../src/exec/group_table.h"
#include "gen_records.h"
#include "micro_common.h"
#include "sluice/arena.h"
#include "sluice/base.h"
#include "sluice/exec.h"
#include "sluice/stats.h"

namespace sluice::bench {
namespace {

// QueryState's arena chunk for group tables (query_state_impl.h).
constexpr std::size_t kArenaChunk = 64 * 1024;

// ------------------------------------------------------------------ arguments

// Aggregate arguments of `count` records of a data set, as Prepare hands
// them to QueryState (one Value per Plan::aggs; COUNT(*)'s slot is NULL).
struct AggArgs {
    Plan plan;
    uint32_t nargs = 0;
    uint64_t count = 0;
    std::vector<Value> values;

    const Value* record(uint64_t i) const noexcept { return values.data() + (i & (count - 1)) * nargs; }
};

constexpr uint64_t kArgRecords = 4096;  // a power of two

AggArgs agg_args(const char* sql, Scenario data) {
    AggArgs a{plan_or_die(sql), 0, kArgRecords, {}};
    a.nargs = static_cast<uint32_t>(a.plan.aggs.size());
    const Dataset d = predecode(a.plan, data, kArgRecords);
    Prepare prepare(a.plan);
    ShardCounters counters;
    for (uint64_t i = 0; i < kArgRecords; ++i) {
        PreparedRecord r;
        if (prepare.run(d.record(i), 0, r, counters) == Prepare::Outcome::Filtered)
            throw std::runtime_error("record filtered");
        for (uint32_t k = 0; k < a.nargs; ++k) {
            // Strings would point into Prepare's buffers; these sets have none.
            if (r.args[k].type == Type::String) throw std::runtime_error("string argument");
            a.values.push_back(r.args[k]);
        }
    }
    return a;
}

const AggArgs& s2_args() {
    static const AggArgs a = agg_args(kSqlS2, Scenario::S2);
    return a;
}

const AggArgs& brc_args() {
    static const AggArgs a = agg_args(kSql1Brc, Scenario::OneBrc);
    return a;
}

// A group's accumulator block (8-byte aligned).
struct Block {
    explicit Block(const AggLayout& layout) : words((layout.block_size() + 7) / 8 + 1) { layout.init(data()); }
    uint8_t* data() noexcept { return reinterpret_cast<uint8_t*>(words.data()); }
    std::vector<uint64_t> words;
};

// ------------------------------------------------------------------ aggregate update

void BM_AggUpdate(benchmark::State& state, const AggArgs& (*args_of)()) {
    const AggArgs& a = args_of();
    const AggLayout layout(a.plan.aggs);
    Block block(layout);
    Arena arena(kArenaChunk);
    uint64_t mismatch = 0, seq = 0;
    for (auto _ : state) {
        layout.update(block.data(), a.record(seq), seq, arena, mismatch);
        ++seq;
        benchmark::ClobberMemory();
    }
    // Nothing skipped, and COUNT(*) (S2) saw every record.
    std::vector<Value> out(layout.count());
    layout.finalize(block.data(), out.data());
    for (uint32_t i = 0; i < layout.count(); ++i)
        if (layout.kind(i) == AggKind::CountStar && out[i].i != static_cast<int64_t>(seq))
            state.SkipWithError("COUNT(*) differs from the records applied");
    if (mismatch != 0) state.SkipWithError("type mismatches");
    state.SetItemsProcessed(state.iterations());
    state.counters["block B"] = layout.block_size();
    state.counters["aggs"] = layout.count();
}

// ------------------------------------------------------------------ keys

constexpr uint32_t kKeyStride = 16;

// Group g's key (the BIGINT g * 7919, encoded) and its hash, for g < n; grows on demand.
struct Keys {
    uint64_t n = 0;
    uint32_t len = 0;
    std::vector<uint8_t> bytes;
    std::vector<uint64_t> hashes;

    const uint8_t* key(uint64_t g) const noexcept { return bytes.data() + g * kKeyStride; }

    void ensure(uint64_t want) {
        if (want <= n) return;
        bytes.resize(want * kKeyStride);
        hashes.resize(want);
        for (uint64_t g = n; g < want; ++g) {
            const Value v = Value::of_int(static_cast<int64_t>(g * 7919));
            const uint32_t l = encode_key(&v, 1, bytes.data() + g * kKeyStride, kKeyStride);
            if (len != 0 && l != len) throw std::runtime_error("key lengths differ");
            len = l;
            hashes[g] = hash64(key(g), len);
        }
        n = want;
    }
};

Keys& keys_upto(uint64_t n) {
    static Keys k;
    k.ensure(n);
    return k;
}

// A uniform pseudo-random stream of group numbers in [0, groups): an LCG,
// its high 32 bits scaled by multiplication (no division per record).
struct Picker {
    uint64_t x = 1;
    uint64_t groups;
    explicit Picker(uint64_t g) : groups(g) {}
    uint64_t next() noexcept {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        return ((x >> 32) * groups) >> 32;
    }
};

// ------------------------------------------------------------------ prefilled tables

// One table holding every group 0 .. groups-1 (blocks initialised), kept
// between the calls Google Benchmark makes of one benchmark; replaced (the
// old one freed first) when another size or block is asked for.
struct Prefilled {
    uint64_t groups = 0;
    uint32_t block_size = 0;
    std::unique_ptr<GroupTable> table;
};

Prefilled& prefilled_slot() {
    static Prefilled p;
    return p;
}

void drop_prefilled() {
    Prefilled& p = prefilled_slot();
    p.table.reset();
    p.groups = 0;
}

GroupTable& prefilled(uint64_t groups, const AggLayout* layout) {
    const uint32_t block_size = layout != nullptr ? layout->block_size() : 8;
    Prefilled& p = prefilled_slot();
    if (p.table && p.groups == groups && p.block_size == block_size) return *p.table;
    drop_prefilled();
    const Keys& k = keys_upto(groups);
    auto t = std::make_unique<GroupTable>(block_size, kArenaChunk);
    for (uint64_t g = 0; g < groups; ++g) {
        const GroupTable::Hit hit = t->find_or_insert(k.hashes[g], k.key(g), k.len);
        if (layout != nullptr) layout->init(hit.block);
    }
    p.table = std::move(t);
    p.groups = groups;
    p.block_size = block_size;
    return *p.table;
}

void table_counters(benchmark::State& state, const GroupTable& t) {
    state.counters["groups"] = t.size();
    state.counters["table MiB"] = static_cast<double>(t.memory_bytes()) / (1024.0 * 1024.0);
}

// ------------------------------------------------------------------ group table

// Lookups of existing groups in random order.
void BM_GroupTableLookup(benchmark::State& state) {
    const auto groups = static_cast<uint64_t>(state.range(0));
    const Keys& k = keys_upto(groups);
    GroupTable& table = prefilled(groups, nullptr);
    Picker pick(groups);
    for (auto _ : state) {
        const uint64_t g = pick.next();
        const GroupTable::Hit hit = table.find_or_insert(k.hashes[g], k.key(g), k.len);
        benchmark::DoNotOptimize(hit.block);
    }
    if (table.size() != groups) state.SkipWithError("a lookup inserted a group");
    state.SetItemsProcessed(state.iterations());
    table_counters(state, table);
}

// Upserts with the S2 accumulators on a table that holds every group.
void BM_GroupUpsert(benchmark::State& state) {
    const auto groups = static_cast<uint64_t>(state.range(0));
    const AggArgs& a = s2_args();
    const AggLayout layout(a.plan.aggs);
    const Keys& k = keys_upto(groups);
    GroupTable& table = prefilled(groups, &layout);
    Picker pick(groups);
    uint64_t mismatch = 0, seq = 0, inserted = 0;
    for (auto _ : state) {
        const uint64_t g = pick.next();
        const GroupTable::Hit hit = table.find_or_insert(k.hashes[g], k.key(g), k.len);
        if (hit.inserted) [[unlikely]] {
            layout.init(hit.block);
            ++inserted;
        }
        layout.update(hit.block, a.record(seq), seq, table.arena(), mismatch);
        ++seq;
    }
    if (inserted != 0 || mismatch != 0) state.SkipWithError("unexpected insert or type mismatch");
    state.SetItemsProcessed(state.iterations());
    table_counters(state, table);
}

// Builds a table of `groups` groups from empty, S2 accumulators, one record per group.
void BM_GroupFill(benchmark::State& state) {
    const auto groups = static_cast<uint64_t>(state.range(0));
    drop_prefilled();  // its memory is needed here
    const AggArgs& a = s2_args();
    const AggLayout layout(a.plan.aggs);
    const Keys& k = keys_upto(groups);
    uint64_t mismatch = 0, inserted = 0;
    double mib = 0;
    double per_group = 0;
    for (auto _ : state) {
        GroupTable table(layout.block_size(), kArenaChunk);
        for (uint64_t g = 0; g < groups; ++g) {
            const GroupTable::Hit hit = table.find_or_insert(k.hashes[g], k.key(g), k.len);
            if (hit.inserted) [[likely]] {
                layout.init(hit.block);
                ++inserted;
            }
            layout.update(hit.block, a.record(g), g, table.arena(), mismatch);
        }
        benchmark::DoNotOptimize(table.size());
        mib = static_cast<double>(table.memory_bytes()) / (1024.0 * 1024.0);
        per_group = static_cast<double>(table.memory_bytes()) / static_cast<double>(groups);
    }
    if (inserted != state.iterations() * groups || mismatch != 0) state.SkipWithError("a group was not new");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * groups));
    state.counters["groups"] = static_cast<double>(groups);
    state.counters["table MiB"] = mib;
    // BENCH.md: state memory <= key bytes + 64 B per group plus accumulators.
    state.counters["B/group"] = per_group;
    state.counters["key B"] = k.len;
    state.counters["acc B"] = layout.block_size();
    state.counters["overhead B/group"] = per_group - k.len - layout.block_size();
}

void group_counts(benchmark::internal::Benchmark* b) {
    b->ArgName("groups");
    for (const int64_t n : {100, 10000, 1000000, 10000000}) b->Arg(n);
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
    using namespace sluice::bench;
    benchmark::RegisterBenchmark("BM_AggUpdate/S2", BM_AggUpdate, &s2_args);
    benchmark::RegisterBenchmark("BM_AggUpdate/1BRC", BM_AggUpdate, &brc_args);
    benchmark::RegisterBenchmark("BM_GroupTableLookup", BM_GroupTableLookup)->Apply(group_counts);
    benchmark::RegisterBenchmark("BM_GroupUpsert", BM_GroupUpsert)->Apply(group_counts);
    benchmark::RegisterBenchmark("BM_GroupFill", BM_GroupFill)->Apply(group_counts)->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
