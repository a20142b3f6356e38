// APPROX_COUNT_DISTINCT: the HyperLogLog sketch (accuracy, the exact sparse
// phase, union, wire form), the aggregate through AggLayout, and whole queries
// through run_query with 1 and 4 shards.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../../../src/exec/accumulators.h"
#include "../../../src/exec/hll.h"
#include "../../support/scale.h"
#include "sluice/arena.h"
#include "sluice/plan.h"
#include "sluice/runtime.h"
#include "sluice/value.h"

namespace sluice {
namespace {

using namespace agg;

// A sketch with its own arena.
struct Sketch {
    Arena arena;
    HllState s;

    Sketch() { hll_init(s); }
    Sketch& add(const Value& v) {
        hll_add(s, v, arena);
        return *this;
    }
    // Integers [from, to).
    Sketch& ints(int64_t from, int64_t to) {
        for (int64_t i = from; i < to; ++i) add(Value::of_int(i));
        return *this;
    }
    Sketch& merge(const Sketch& o) {
        hll_merge(s, o.s, arena);
        return *this;
    }
    int64_t estimate() const { return hll_estimate(s); }
    bool dense() const { return hll_is_dense(s); }
    std::vector<uint8_t> bytes() const {
        std::vector<uint8_t> b;
        hll_serialize(s, b);
        return b;
    }
};

// Same set of hashes or same registers, hence the same estimate.
::testing::AssertionResult same_sketch(const Sketch& a, const Sketch& b) {
    if (a.dense() != b.dense()) return ::testing::AssertionFailure() << "dense " << a.dense() << " vs " << b.dense();
    if (a.dense() && std::memcmp(hll_registers(a.s), hll_registers(b.s), kHllRegisters) != 0)
        return ::testing::AssertionFailure() << "registers differ";
    if (a.bytes() != b.bytes()) return ::testing::AssertionFailure() << "serialized forms differ";
    if (a.estimate() != b.estimate())
        return ::testing::AssertionFailure() << "estimates " << a.estimate() << " vs " << b.estimate();
    return ::testing::AssertionSuccess();
}

double rel_error(int64_t est, int64_t n) { return std::fabs(static_cast<double>(est - n)) / static_cast<double>(n); }

const int64_t kCardinalities[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

// ---------------------------------------------------------------- accuracy

TEST(Hll, RelativeErrorWithinTwoPercent) {
    // Three deterministic input families, checked as the sketches grow.
    Sketch ints;
    Sketch strings;
    Sketch doubles;
    char buf[32];
    int64_t n = 0;
    for (int64_t target : kCardinalities) {
        for (; n < target; ++n) {
            ints.add(Value::of_int(n));
            const int len = std::snprintf(buf, sizeof buf, "user-%lld", static_cast<long long>(n));
            strings.add(Value::of_string(buf, static_cast<uint32_t>(len)));
            doubles.add(Value::of_double(static_cast<double>(n) + 0.25));
        }
        const struct {
            const char* name;
            const Sketch& sk;
        } cases[] = {{"ints", ints}, {"strings", strings}, {"doubles", doubles}};
        for (const auto& c : cases) {
            const int64_t est = c.sk.estimate();
            const double err = rel_error(est, target);
            std::printf("  n=%-8lld %-8s estimate=%-8lld error=%.4f%%\n", static_cast<long long>(target), c.name,
                        static_cast<long long>(est), 100.0 * err);
            EXPECT_LE(err, 0.02) << c.name << " n=" << target << " estimate=" << est;
        }
    }
}

// The estimator alone: empty registers are 0, one register hit is about 1.
TEST(Hll, EstimatorEdges) {
    uint16_t hist[kHllMaxRank + 1] = {};
    hist[0] = kHllRegisters;
    EXPECT_EQ(hll_estimate_histogram(hist), 0.0);
    hist[0] = kHllRegisters - 1;
    hist[1] = 1;
    EXPECT_NEAR(hll_estimate_histogram(hist), 1.0, 0.01);
    // Saturated registers next to empty ones: finite.
    hist[1] = 0;
    hist[0] = kHllRegisters / 2;
    hist[kHllMaxRank] = kHllRegisters / 2;
    const double mixed = hll_estimate_histogram(hist);
    EXPECT_TRUE(std::isfinite(mixed));
    EXPECT_GT(mixed, 0.0);
    // Every register saturated (a crafted wire form): the estimate is clamped.
    std::vector<uint8_t> wire(2 + kHllRegisters * 6 / 8, 0);
    const uint16_t tag = kHllDenseTag;
    std::memcpy(wire.data(), &tag, 2);
    for (std::size_t i = 2; i < wire.size(); i += 3) {
        const uint32_t v = kHllMaxRank * (1u | 1u << 6 | 1u << 12 | 1u << 18);
        wire[i] = static_cast<uint8_t>(v);
        wire[i + 1] = static_cast<uint8_t>(v >> 8);
        wire[i + 2] = static_cast<uint8_t>(v >> 16);
    }
    Sketch full;
    const uint8_t* p = wire.data();
    ASSERT_TRUE(hll_deserialize(full.s, p, wire.data() + wire.size(), full.arena));
    EXPECT_EQ(full.estimate(), INT64_MAX);
}

// ---------------------------------------------------------------- exact phase

TEST(Hll, ExactWhileSparse) {
    Sketch sk;
    EXPECT_EQ(sk.estimate(), 0);
    for (int64_t n = 1; n <= kHllSparseMax; ++n) {
        sk.add(Value::of_int(n * 7919));
        sk.add(Value::of_int(n * 7919));  // repeats change nothing
        sk.add(Value::of_int(7919));
        ASSERT_FALSE(sk.dense()) << n;
        ASSERT_EQ(sk.estimate(), n);
    }
    sk.add(Value::of_int(-1));
    EXPECT_TRUE(sk.dense());
    EXPECT_LE(rel_error(sk.estimate(), kHllSparseMax + 1), 0.02);
}

TEST(Hll, NullsAreSkipped) {
    Sketch sk;
    for (int i = 0; i < 1000; ++i) sk.add(Value::null());
    EXPECT_EQ(sk.estimate(), 0);
    EXPECT_EQ(sk.bytes(), Sketch().bytes());
    sk.add(Value::of_int(3)).add(Value::null()).add(Value::of_string("x", 1)).add(Value::null());
    EXPECT_EQ(sk.estimate(), 2);
}

TEST(Hll, OneAndOnePointZeroAreOneValue) {
    Sketch sk;
    sk.add(Value::of_int(1)).add(Value::of_double(1.0)).add(Value::of_int(1));
    EXPECT_EQ(sk.estimate(), 1);
    sk.add(Value::of_double(0.0)).add(Value::of_double(-0.0)).add(Value::of_int(0));
    EXPECT_EQ(sk.estimate(), 2);
    sk.add(Value::of_double(std::nan(""))).add(Value::of_double(-std::nan("")));
    EXPECT_EQ(sk.estimate(), 3);
    // Every other type counts, and types stay apart: "1", true and 1.5 are new.
    sk.add(Value::of_string("1", 1)).add(Value::of_bool(true)).add(Value::of_double(1.5)).add(Value::of_bool(false));
    EXPECT_EQ(sk.estimate(), 7);
    sk.add(Value::of_string("", 0)).add(Value::of_string("", 0));
    EXPECT_EQ(sk.estimate(), 8);
    // Past the exact phase the two spellings still land on the same register.
    Sketch a;
    Sketch b;
    for (int64_t i = 0; i < 5000; ++i) {
        a.add(Value::of_int(i));
        b.add(Value::of_double(static_cast<double>(i)));
    }
    EXPECT_TRUE(same_sketch(a, b));
}

// ---------------------------------------------------------------- union

Sketch& build(Sketch& sk, int64_t from, int64_t to) { return sk.ints(from, to); }

TEST(Hll, MergeEqualsSketchOfTheUnion) {
    struct Case {
        int64_t a0, a1, b0, b1;
    };
    const Case cases[] = {
        {0, 0, 0, 0},             // empty, empty
        {0, 0, 0, 50},            // empty, sparse
        {0, 0, 0, 20000},         // empty, dense
        {0, 100, 100, 200},       // sparse, sparse: disjoint, fits
        {0, 300, 200, 350},       // overlapping, fits
        {0, 200, 0, 184},         // a subset
        {0, 192, 192, 384},       // disjoint, exactly full
        {0, 192, 192, 385},       // disjoint, one past full
        {0, 300, 250, 600},       // overlapping, overflows
        {0, 100, 50, 5000},       // sparse, dense
        {0, 100000, 50000, 200000},  // dense, dense: overlapping
        {0, 70000, 70000, 140000},   // dense, dense: disjoint
        {0, 30000, 0, 30000},        // equal sets
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(::testing::Message() << "[" << c.a0 << "," << c.a1 << ") + [" << c.b0 << "," << c.b1 << ")");
        Sketch whole;
        build(whole, c.a0, c.a1);
        build(whole, c.b0, c.b1);
        {
            Sketch a, b;
            build(a, c.a0, c.a1);
            build(b, c.b0, c.b1);
            a.merge(b);
            EXPECT_TRUE(same_sketch(a, whole));
        }
        {
            Sketch a, b;
            build(a, c.a0, c.a1);
            build(b, c.b0, c.b1);
            b.merge(a);
            EXPECT_TRUE(same_sketch(b, whole));
        }
        // The values counted are the union's.
        const int64_t lo = std::min(c.a0, c.b0);
        const int64_t hi = std::max(c.a1, c.b1);
        const int64_t n = c.a1 <= c.b0 || c.b1 <= c.a0 ? (c.a1 - c.a0) + (c.b1 - c.b0) : hi - lo;
        if (n <= kHllSparseMax)
            EXPECT_EQ(whole.estimate(), n);
        else
            EXPECT_LE(rel_error(whole.estimate(), n), 0.02);
    }
}

TEST(Hll, MergeIsOrderIndependent) {
    // Parts of different sizes (empty, sparse, dense), overlapping.
    const int64_t ranges[][2] = {{0, 0}, {0, 40}, {30, 250}, {200, 9000}, {8000, 30000}, {100, 101}};
    constexpr std::size_t kParts = std::size(ranges);
    Sketch whole;
    for (const auto& r : ranges) build(whole, r[0], r[1]);

    std::vector<std::size_t> order(kParts);
    for (std::size_t i = 0; i < kParts; ++i) order[i] = i;
    int permutations = 0;
    do {
        // Chain: ((p0 + p1) + p2) + ...
        Sketch acc;
        for (std::size_t i : order) {
            Sketch part;
            build(part, ranges[i][0], ranges[i][1]);
            acc.merge(part);
        }
        ASSERT_TRUE(same_sketch(acc, whole)) << "permutation " << permutations;
        ++permutations;
    } while (std::next_permutation(order.begin(), order.end()) && permutations < 200);

    // Tree: (p0 + p1) + ((p2 + p3) + (p4 + p5)), parts fed in reverse.
    std::vector<std::unique_ptr<Sketch>> parts;
    for (const auto& r : ranges) {
        parts.push_back(std::make_unique<Sketch>());
        for (int64_t i = r[1] - 1; i >= r[0]; --i) parts.back()->add(Value::of_int(i));
    }
    parts[0]->merge(*parts[1]);
    parts[2]->merge(*parts[3]);
    parts[4]->merge(*parts[5]);
    parts[2]->merge(*parts[4]);
    parts[0]->merge(*parts[2]);
    EXPECT_TRUE(same_sketch(*parts[0], whole));
}

TEST(Hll, ShardedByValueMergesToTheWhole) {
    // Values split across 4 "shards" by hash order, as a two-phase aggregate would see them.
    std::mt19937_64 rng(7);
    std::vector<int64_t> values(60000);
    for (auto& v : values) v = static_cast<int64_t>(rng() % 40000);
    Sketch whole;
    Sketch shard[4];
    for (std::size_t i = 0; i < values.size(); ++i) {
        whole.add(Value::of_int(values[i]));
        shard[(values[i] * 31 + static_cast<int64_t>(i)) % 4].add(Value::of_int(values[i]));
    }
    Sketch merged;
    for (int s = 3; s >= 0; --s) merged.merge(shard[s]);
    EXPECT_TRUE(same_sketch(merged, whole));
}

// ---------------------------------------------------------------- wire form

TEST(Hll, SerializeRoundTrips) {
    for (int64_t n : {0, 1, 3, 4, 100, 383, 384, 385, 1000, 100000}) {
        SCOPED_TRACE(n);
        Sketch src;
        build(src, 0, n);
        const std::vector<uint8_t> bytes = src.bytes();
        if (n <= kHllSparseMax)
            EXPECT_EQ(bytes.size(), 2u + 8u * static_cast<std::size_t>(n));
        else
            EXPECT_EQ(bytes.size(), 2u + kHllRegisters * 6 / 8);

        Sketch dst;
        const uint8_t* p = bytes.data();
        ASSERT_TRUE(hll_deserialize(dst.s, p, bytes.data() + bytes.size(), dst.arena));
        EXPECT_EQ(p, bytes.data() + bytes.size());
        EXPECT_TRUE(same_sketch(dst, src));

        // Trailing bytes are left for the next state.
        std::vector<uint8_t> more = bytes;
        more.push_back(0xab);
        Sketch dst2;
        const uint8_t* q = more.data();
        ASSERT_TRUE(hll_deserialize(dst2.s, q, more.data() + more.size(), dst2.arena));
        EXPECT_EQ(q, more.data() + bytes.size());

        // The copy goes on like the original.
        build(src, n / 2, n + 500);
        build(dst, n / 2, n + 500);
        EXPECT_TRUE(same_sketch(dst, src));

        // Every truncation is refused and leaves an empty, usable state.
        for (std::size_t cut : {std::size_t{0}, std::size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
            if (cut >= bytes.size()) continue;
            Sketch bad;
            const uint8_t* r = bytes.data();
            EXPECT_FALSE(hll_deserialize(bad.s, r, bytes.data() + cut, bad.arena)) << cut;
            EXPECT_EQ(bad.estimate(), 0);
            bad.add(Value::of_int(1));
            EXPECT_EQ(bad.estimate(), 1);
        }
    }
}

TEST(Hll, CorruptWireFormsAreRefused) {
    auto refused = [](const std::vector<uint8_t>& b) {
        Sketch sk;
        const uint8_t* p = b.data();
        const bool ok = hll_deserialize(sk.s, p, b.data() + b.size(), sk.arena);
        return !ok && sk.estimate() == 0;
    };
    Sketch sparse;
    build(sparse, 0, 10);
    std::vector<uint8_t> b = sparse.bytes();
    std::vector<uint8_t> swapped = b;  // hashes out of order
    std::swap_ranges(swapped.begin() + 2, swapped.begin() + 10, swapped.begin() + 10);
    EXPECT_TRUE(refused(swapped));
    std::vector<uint8_t> repeated = b;  // a hash twice
    std::copy(b.begin() + 2, b.begin() + 10, repeated.begin() + 10);
    EXPECT_TRUE(refused(repeated));
    std::vector<uint8_t> zero = b;  // the free-slot marker
    std::fill(zero.begin() + 2, zero.begin() + 10, 0);
    EXPECT_TRUE(refused(zero));
    std::vector<uint8_t> too_many(2 + 8 * 400, 0);  // a count past the exact phase
    const uint16_t n = kHllSparseMax + 1;
    std::memcpy(too_many.data(), &n, 2);
    EXPECT_TRUE(refused(too_many));

    Sketch dense;
    build(dense, 0, 2000);
    std::vector<uint8_t> d = dense.bytes();
    d[2] |= 0x3f;  // register 0 = 63, past the largest rank
    EXPECT_TRUE(refused(d));
}

// ---------------------------------------------------------------- memory

TEST(Hll, SmallGroupsStaySmall) {
    EXPECT_EQ(agg_state_size(AggKind::ApproxCountDistinct), 16u);
    // 100000 groups with 2 distinct values each: a 4-slot table (32 bytes) per group.
    constexpr int kGroups = 100000;
    Arena arena;
    std::vector<HllState> states(kGroups);
    for (int g = 0; g < kGroups; ++g) {
        hll_init(states[g]);
        for (int r = 0; r < 10; ++r) hll_add(states[g], Value::of_int(g + r % 2), arena);
    }
    for (int g = 0; g < kGroups; g += 997) EXPECT_EQ(hll_estimate(states[g]), 2);
    const double per_group = static_cast<double>(arena.reserved_bytes()) / kGroups;
    std::printf("  arena bytes per group with 2 values: %.1f (state in the block: %zu)\n", per_group,
                sizeof(HllState));
    EXPECT_LT(per_group, 40.0);

    // The largest sparse table and a dense sketch.
    Arena a1;
    HllState full;
    hll_init(full);
    for (int64_t i = 0; i < kHllSparseMax; ++i) hll_add(full, Value::of_int(i), a1);
    Arena a2;
    HllState dense;
    hll_init(dense);
    for (int64_t i = 0; i <= kHllSparseMax; ++i) hll_add(dense, Value::of_int(i), a2);
    EXPECT_EQ(full.cap * sizeof(uint64_t), 4096u);
    std::printf("  sparse at %u values: %zu table bytes; dense: %zu bytes of registers and histogram\n",
                kHllSparseMax, full.cap * sizeof(uint64_t), sizeof(HllDense));
}

TEST(Hll, NoArenaGrowthOnceDense) {
    Arena arena;
    HllState s;
    hll_init(s);
    for (int64_t i = 0; i < 1000; ++i) hll_add(s, Value::of_int(i), arena);
    ASSERT_TRUE(hll_is_dense(s));
    const std::size_t before = arena.reserved_bytes();
    for (int64_t i = 0; i < 200000; ++i) hll_add(s, Value::of_int(i * 13), arena);
    EXPECT_EQ(arena.reserved_bytes(), before);
}

// ---------------------------------------------------------------- through AggLayout

TEST(HllLayout, UpdateMergeFinalizeNextToOtherAggregates) {
    const std::vector<AggSpec> specs{
        AggSpec{AggKind::CountStar, kNoExpr, "COUNT(*)"},
        AggSpec{AggKind::ApproxCountDistinct, kNoExpr, "APPROX_COUNT_DISTINCT(u)"},
        AggSpec{AggKind::Sum, kNoExpr, "SUM(v)"},
        AggSpec{AggKind::CountDistinct, kNoExpr, "COUNT(DISTINCT u)"},
        AggSpec{AggKind::ApproxCountDistinct, kNoExpr, "APPROX_COUNT_DISTINCT(w)"},
        AggSpec{AggKind::Max, kNoExpr, "MAX(s)"},
    };
    const AggLayout layout(specs);
    ASSERT_EQ(layout.count(), specs.size());
    EXPECT_EQ(layout.offset(2) - layout.offset(1), 16u);

    // Two "shards" in their own arenas, then the block shipped over the wire.
    Arena arena_a;
    Arena arena_b;
    std::vector<uint64_t> mem_a(layout.block_size() / 8 + 1);
    std::vector<uint64_t> mem_b(layout.block_size() / 8 + 1);
    std::vector<uint64_t> mem_c(layout.block_size() / 8 + 1);
    auto* a = reinterpret_cast<uint8_t*>(mem_a.data());
    auto* b = reinterpret_cast<uint8_t*>(mem_b.data());
    auto* c = reinterpret_cast<uint8_t*>(mem_c.data());
    layout.init(a);
    layout.init(b);
    uint64_t mismatch = 0;
    constexpr int64_t kRows = 40000;
    Sketch u_whole;  // what one sketch of every u would hold
    for (int64_t i = 0; i < kRows; ++i) {
        const int64_t u = i % 300;       // 300 distinct: stays exact
        const int64_t w = i * 7 % 25000;  // 25000 distinct: dense
        const Value args[] = {Value::null(),
                              i % 3 == 0 ? Value::of_double(static_cast<double>(u)) : Value::of_int(u),
                              Value::of_int(1),
                              Value::of_int(u),
                              i % 11 == 0 ? Value::null() : Value::of_int(w),
                              Value::of_string("s", 1)};
        layout.update(i % 2 == 0 ? a : b, args, static_cast<uint64_t>(i), i % 2 == 0 ? arena_a : arena_b, mismatch);
        u_whole.add(args[1]);
    }
    EXPECT_EQ(mismatch, 0u);

    std::vector<uint8_t> wire;
    layout.serialize(b, wire);
    Arena arena_c;
    ASSERT_TRUE(layout.deserialize(c, wire.data(), wire.data() + wire.size(), arena_c));
    layout.merge(a, c, arena_a);
    arena_c.reset();  // nothing of the shipped block may still be referenced

    Value out[6];
    layout.finalize(a, out);
    EXPECT_EQ(out[0].i, kRows);
    ASSERT_EQ(out[1].type, Type::Int);
    EXPECT_EQ(out[1].i, 300);
    EXPECT_EQ(out[2].i, kRows);
    EXPECT_EQ(out[3].i, 300);
    ASSERT_EQ(out[4].type, Type::Int);
    int64_t w_exact = 0;
    {
        std::vector<bool> seen(25000);
        for (int64_t i = 0; i < kRows; ++i)
            if (i % 11 != 0 && !seen[i * 7 % 25000]) seen[i * 7 % 25000] = true, ++w_exact;
    }
    EXPECT_LE(rel_error(out[4].i, w_exact), 0.02) << out[4].i << " vs " << w_exact;
    EXPECT_EQ(out[5].str(), "s");

    std::vector<uint8_t> merged_u;
    hll_serialize(*reinterpret_cast<const HllState*>(a + layout.offset(1)), merged_u);
    EXPECT_EQ(merged_u, u_whole.bytes());

    // Merging into a fresh block gives the same sketches, byte for byte.
    std::vector<uint64_t> mem_d(layout.block_size() / 8 + 1);
    auto* d = reinterpret_cast<uint8_t*>(mem_d.data());
    layout.init(d);
    Arena arena_d;
    layout.merge(d, a, arena_d);
    for (uint32_t i : {1u, 4u}) {
        std::vector<uint8_t> wa;
        std::vector<uint8_t> wd;
        agg_serialize(AggKind::ApproxCountDistinct, a + layout.offset(i), wa);
        agg_serialize(AggKind::ApproxCountDistinct, d + layout.offset(i), wd);
        EXPECT_EQ(wa, wd) << i;
    }
}

// ---------------------------------------------------------------- whole queries

class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/sluice-hll-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    return lines;
}

int64_t field_int(const std::string& row, const std::string& name) {
    const std::string key = "\"" + name + "\":";
    const std::size_t at = row.find(key);
    if (at == std::string::npos) return -1;
    return std::strtoll(row.c_str() + at + key.size(), nullptr, 10);
}

class HllQuery : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir;
        ASSERT_FALSE(dir_->path().empty());
        // Groups of 300 (exact), 5000 and 60000 distinct users; integral
        // doubles repeat integers, NULL and missing users are skipped.
        // 240000 records (SLUICE_TEST_SCALE divides them).
        std::ofstream out(input(), std::ios::binary);
        std::mt19937_64 rng(11);
        const auto records = static_cast<int64_t>(testing::scaled(240000));
        for (int64_t i = 0; i < records; ++i) {
            const int g = static_cast<int>(rng() % 3);
            const char* k = g == 0 ? "small" : (g == 1 ? "mid" : "big");
            const int64_t range = g == 0 ? 300 : (g == 1 ? 5000 : 60000);
            const int64_t u = static_cast<int64_t>(rng() % range);
            out << "{\"ts\":" << i << ",\"k\":\"" << k << "\",";
            if (i % 17 == 0)
                out << "\"u\":null";
            else if (i % 19 == 0)
                out << "\"other\":1";
            else if (i % 5 == 0)
                out << "\"u\":" << u << ".0";
            else if (g == 1 && i % 7 == 0)
                out << "\"u\":\"" << u << "\"";  // a string is another value than the number
            else
                out << "\"u\":" << u;
            out << "}\n";
        }
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    static std::string input() { return dir_->path() + "/in.ndjson"; }

    static std::string run(const std::string& sql, uint32_t shards, bool parallel_read) {
        QueryOptions o;
        o.sql = sql;
        o.input_path = input();
        o.output_path = dir_->path() + "/out-" + std::to_string(shards) + (parallel_read ? "p" : "") + ".ndjson";
        o.shards = shards;
        o.parallel_read = parallel_read;
        auto r = run_query(o);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        return slurp(o.output_path);
    }

    static TempDir* dir_;
};

TempDir* HllQuery::dir_ = nullptr;

TEST_F(HllQuery, GroupByGivesTheSameValuesOnOneAndFourShards) {
    const std::string sql =
        "SELECT k, APPROX_COUNT_DISTINCT(u) AS n, COUNT(DISTINCT u) AS exact, COUNT(*) AS c FROM s GROUP BY k "
        "EMIT FINAL";
    const auto one = sorted_lines(run(sql, 1, false));
    ASSERT_EQ(one.size(), 3u);
    EXPECT_EQ(sorted_lines(run(sql, 4, false)), one);
    EXPECT_EQ(sorted_lines(run(sql, 4, true)), one);
    for (const std::string& row : one) {
        const int64_t n = field_int(row, "n");
        const int64_t exact = field_int(row, "exact");
        std::printf("  %s\n", row.c_str());
        if (exact <= kHllSparseMax)
            EXPECT_EQ(n, exact) << row;
        else
            EXPECT_LE(rel_error(n, exact), 0.02) << row;
    }
}

TEST_F(HllQuery, GlobalAndWindowedGiveTheSameValuesOnOneAndFourShards) {
    for (const char* sql : {"SELECT APPROX_COUNT_DISTINCT(u) AS n, COUNT(DISTINCT u) AS exact FROM s EMIT FINAL",
                            "SELECT APPROX_COUNT_DISTINCT(u) AS n, COUNT(DISTINCT u) AS exact FROM s "
                            "WINDOW TUMBLING(ts, 100000ms)"}) {
        SCOPED_TRACE(sql);
        const auto one = sorted_lines(run(sql, 1, false));
        ASSERT_FALSE(one.empty());
        EXPECT_EQ(sorted_lines(run(sql, 4, false)), one);
        EXPECT_EQ(sorted_lines(run(sql, 4, true)), one);
        for (const std::string& row : one) {
            std::printf("  %s\n", row.c_str());
            EXPECT_LE(rel_error(field_int(row, "n"), field_int(row, "exact")), 0.02) << row;
        }
    }
}

}  // namespace
}  // namespace sluice
