#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "latency_histogram.h"
#include "latency_report.h"

namespace sluice::lat {
namespace {

// ---- helpers -------------------------------------------------------------------------------------

// Deterministic pseudo-random numbers (splitmix64), so the distributions are the same on every run.
struct SplitMix {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

// Percentiles checked, in units of 0.0001% so the exact rank is integer arithmetic, not floating point.
constexpr uint64_t kPercentilesE4[] = {1,      1000,   10000,  100000, 250000, 500000, 750000, 900000,
                                       950000, 990000, 995000, 999000, 999500, 999900, 999990};

uint64_t exact_rank(uint64_t p_e4, uint64_t n) { return std::max<uint64_t>(1, (p_e4 * n + 999'999) / 1'000'000); }

// Every checked percentile against the sorted values: the histogram must return exactly the highest
// equivalent value of the rank's bucket (clamped to [min, max]), which is never below the true value
// and above it by at most 2^-sub_bucket_bits relative.
void expect_percentiles_match(const LatencyHistogram& h, std::vector<uint64_t> values) {
    ASSERT_FALSE(values.empty());
    std::sort(values.begin(), values.end());
    const uint64_t n = values.size();
    ASSERT_EQ(h.count(), n);
    EXPECT_EQ(h.min(), values.front());
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.value_at_percentile(0), values.front());
    EXPECT_EQ(h.value_at_percentile(100), values.back());
    for (const uint64_t p_e4 : kPercentilesE4) {
        const double p = static_cast<double>(p_e4) / 10000.0;
        const uint64_t truth = values[exact_rank(p_e4, n) - 1];
        const uint64_t got = h.value_at_percentile(p);
        std::ostringstream trace;  // (not operator+: GCC 12 -O3 warns falsely, -Wrestrict)
        trace << "p" << p << " n=" << n << " truth=" << truth;
        SCOPED_TRACE(trace.str());
        EXPECT_EQ(got, std::clamp(h.highest_equivalent(truth), h.min(), h.max()));
        EXPECT_GE(got, truth);
        EXPECT_LE(static_cast<long double>(got - truth),
                  std::ldexp(static_cast<long double>(truth), -static_cast<int>(h.sub_bucket_bits())));
    }
}

LatencyHistogram histogram_of(const std::vector<uint64_t>& values, unsigned sub_bits,
                              uint64_t max_ns = 3'600'000'000'000ull) {
    LatencyHistogram h(max_ns, sub_bits);
    for (const uint64_t v : values) h.record(v);
    return h;
}

std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> buckets_of(const LatencyHistogram& h) {
    std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> out;
    h.for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t n) { out.emplace_back(lo, hi, n); });
    return out;
}

void expect_same(const LatencyHistogram& a, const LatencyHistogram& b) {
    EXPECT_EQ(a.count(), b.count());
    EXPECT_EQ(a.min(), b.min());
    EXPECT_EQ(a.max(), b.max());
    EXPECT_EQ(a.mean(), b.mean());
    EXPECT_EQ(a.stddev(), b.stddev());
    EXPECT_EQ(a.clamped(), b.clamped());
    EXPECT_EQ(buckets_of(a), buckets_of(b));
    for (const uint64_t p_e4 : kPercentilesE4) {
        const double p = static_cast<double>(p_e4) / 10000.0;
        EXPECT_EQ(a.value_at_percentile(p), b.value_at_percentile(p)) << p;
    }
}

std::string write_to_string(const LatencyHistogram& h, double ns_per_unit) {
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);
    EXPECT_NE(f, nullptr);
    if (f == nullptr) return "";
    write_percentile_distribution(h, f, ns_per_unit);
    std::fclose(f);
    std::string out(buf, len);
    std::free(buf);
    return out;
}

// ---- layout --------------------------------------------------------------------------------------

class LayoutTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(LayoutTest, BucketsTileTheValueRangeWithBoundedWidth) {
    const unsigned s = GetParam();
    const LatencyHistogram h(UINT64_MAX, s);
    std::vector<uint64_t> probes;
    for (uint64_t v = 0; v < 5000; ++v) probes.push_back(v);
    for (unsigned k = 1; k < 64; ++k) {
        const uint64_t p2 = uint64_t{1} << k;
        probes.insert(probes.end(), {p2 - 1, p2, p2 + 1, p2 + p2 / 2});
    }
    probes.push_back(UINT64_MAX);
    for (const uint64_t v : probes) {
        const uint64_t lo = h.lowest_equivalent(v);
        const uint64_t hi = h.highest_equivalent(v);
        SCOPED_TRACE("v=" + std::to_string(v));
        ASSERT_LE(lo, v);
        ASSERT_GE(hi, v);
        if (v < (uint64_t{2} << s)) {
            EXPECT_EQ(lo, hi);  // the linear range is exact
        } else {
            // width = 2^(e-s) for v in [2^e, 2^(e+1)): a power of two, aligned, at most lo * 2^-s
            const uint64_t width = hi - lo + 1;
            EXPECT_TRUE(std::has_single_bit(width));
            EXPECT_EQ(lo % width, 0u);
            EXPECT_LE(static_cast<long double>(width), std::ldexp(static_cast<long double>(lo), -static_cast<int>(s)));
        }
        // neighbours start right where this bucket ends
        if (hi != UINT64_MAX) {
            EXPECT_EQ(h.lowest_equivalent(hi + 1), hi + 1);
        }
        if (lo != 0) {
            EXPECT_EQ(h.highest_equivalent(lo - 1), lo - 1);
        }
    }
}

TEST_P(LayoutTest, PowersOfTwoAroundBucketEdgesMatchExactPercentiles) {
    const unsigned s = GetParam();
    std::vector<uint64_t> values;
    for (unsigned k = 1; k < 41; ++k) {
        const uint64_t p2 = uint64_t{1} << k;
        for (int copies = 0; copies < 3; ++copies) values.insert(values.end(), {p2 - 1, p2, p2 + 1});
    }
    expect_percentiles_match(histogram_of(values, s), values);
}

INSTANTIATE_TEST_SUITE_P(SubBucketBits, LayoutTest, ::testing::Values(1u, 2u, 3u, 7u, 11u, 14u));

TEST(LatencyHistogramLayout, DefaultLayoutMatchesHdrHistogramTerms) {
    const LatencyHistogram h;
    EXPECT_EQ(h.max_ns(), 3'600'000'000'000ull);
    EXPECT_EQ(h.sub_bucket_bits(), 11u);
    EXPECT_EQ(h.sub_bucket_count(), 4096u);
    // 3.6e12 < 2^42: 42 - 12 doublings above the linear first bucket.
    EXPECT_EQ(h.bucket_count(), 31u);
    EXPECT_EQ(h.highest_equivalent(4095), 4095u);
    EXPECT_EQ(h.lowest_equivalent(4097), 4096u);
    EXPECT_EQ(h.highest_equivalent(4096), 4097u);
    EXPECT_LT(h.counts_length(), 70'000u);  // ~0.5 MiB, allocated once
}

TEST(LatencyHistogramLayout, RejectsUnusableLayouts) {
    EXPECT_THROW(LatencyHistogram(0, 11), std::invalid_argument);
    EXPECT_THROW(LatencyHistogram(1000, 0), std::invalid_argument);
    EXPECT_THROW(LatencyHistogram(1000, 21), std::invalid_argument);
    EXPECT_NO_THROW(LatencyHistogram(1, 1));
}

// ---- percentiles against known distributions ----------------------------------------------------

class PercentileTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(PercentileTest, UniformOneToN) {
    const unsigned s = GetParam();
    constexpr uint64_t n = 200'000;
    std::vector<uint64_t> values;
    for (uint64_t v = 1; v <= n; ++v) values.push_back(v);
    const auto h = histogram_of(values, s);
    expect_percentiles_match(h, values);
    const double bound = std::ldexp(1.0, -static_cast<int>(s));
    EXPECT_NEAR(static_cast<double>(h.value_at_percentile(50)), n / 2.0, n / 2.0 * bound);
    EXPECT_NEAR(static_cast<double>(h.value_at_percentile(99)), n * 0.99, n * 0.99 * bound);
    EXPECT_EQ(h.value_at_percentile(100), n);
    EXPECT_EQ(h.mean(), (n + 1) / 2.0);
}

TEST_P(PercentileTest, ConstantValueIsExactEverywhere) {
    LatencyHistogram h(3'600'000'000'000ull, GetParam());
    h.record_n(123'456'789, 1000);
    for (const double p : {0.0, 0.001, 1.0, 50.0, 99.0, 99.99, 100.0}) EXPECT_EQ(h.value_at_percentile(p), 123'456'789u);
    EXPECT_EQ(h.mean(), 123'456'789.0);
    EXPECT_EQ(h.stddev(), 0.0);
}

TEST_P(PercentileTest, TwoPointMixtureSplitsBetweenP99AndP999) {
    const unsigned s = GetParam();
    std::vector<uint64_t> values(99'000, 10'000);    // 99% at 10 µs
    values.insert(values.end(), 1'000, 5'000'000);  // 1% at 5 ms
    const auto h = histogram_of(values, s);
    expect_percentiles_match(h, values);
    const double bound = std::ldexp(1.0, -static_cast<int>(s));
    EXPECT_NEAR(static_cast<double>(h.value_at_percentile(50)), 10'000.0, 10'000.0 * bound);
    EXPECT_NEAR(static_cast<double>(h.value_at_percentile(99)), 10'000.0, 10'000.0 * bound);
    EXPECT_EQ(h.value_at_percentile(99.9), 5'000'000u);  // the max bucket is clamped to the exact max
    EXPECT_EQ(h.value_at_percentile(99.0001), 5'000'000u);
}

TEST_P(PercentileTest, ExponentialQuantiles) {
    // The exact exponential quantiles of mean 50 µs, offset by a 5 µs floor.
    constexpr size_t n = 100'000;
    std::vector<uint64_t> values;
    for (size_t i = 0; i < n; ++i) {
        const double u = (static_cast<double>(i) + 0.5) / n;
        values.push_back(5'000 + static_cast<uint64_t>(-50'000.0 * std::log(1.0 - u)));
    }
    expect_percentiles_match(histogram_of(values, GetParam()), values);
}

TEST_P(PercentileTest, LogUniformOverTwelveDecades) {
    SplitMix rng{42};
    std::vector<uint64_t> values;
    for (int i = 0; i < 100'000; ++i) values.push_back(static_cast<uint64_t>(std::pow(10.0, 12.0 * rng.unit())));
    expect_percentiles_match(histogram_of(values, GetParam()), values);
}

TEST_P(PercentileTest, SmallCountsUseCeilingRank) {
    // n=3: p33.3334 needs 2 values, p33.3333 one; p50 needs 2; p66.67 needs 3.
    const auto h = histogram_of({100, 200, 300}, GetParam());
    EXPECT_EQ(h.value_at_percentile(33.3333), h.highest_equivalent(100));
    EXPECT_EQ(h.value_at_percentile(33.3334), h.highest_equivalent(200));
    EXPECT_EQ(h.value_at_percentile(50), h.highest_equivalent(200));
    EXPECT_EQ(h.value_at_percentile(66.67), 300u);
    // 99.9 as a double is slightly above 99.9; with 1000 values it must still be rank 999, not 1000.
    std::vector<uint64_t> many;
    for (uint64_t v = 1; v <= 1000; ++v) many.push_back(v);
    const auto m = histogram_of(many, 11);  // 1..1000 is in the exact range
    EXPECT_EQ(m.value_at_percentile(99.9), 999u);
    EXPECT_EQ(m.value_at_percentile(99.99), 1000u);
    EXPECT_EQ(m.value_at_percentile(0.1), 1u);
    EXPECT_EQ(m.value_at_percentile(0.1001), 2u);
}

INSTANTIATE_TEST_SUITE_P(SubBucketBits, PercentileTest, ::testing::Values(3u, 7u, 11u));

// ---- recording operations ------------------------------------------------------------------------

TEST(LatencyHistogram, EmptyHistogramReportsZeros) {
    const LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
    EXPECT_EQ(h.stddev(), 0.0);
    EXPECT_EQ(h.clamped(), 0u);
    for (const double p : {0.0, 50.0, 99.9, 100.0}) EXPECT_EQ(h.value_at_percentile(p), 0u);
    EXPECT_TRUE(buckets_of(h).empty());
}

TEST(LatencyHistogram, RecordNEqualsRepeatedRecord) {
    LatencyHistogram a, b;
    SplitMix rng{7};
    for (int i = 0; i < 500; ++i) {
        const uint64_t v = rng.next() % 10'000'000'000ull;
        const uint64_t n = 1 + rng.next() % 20;
        a.record_n(v, n);
        for (uint64_t j = 0; j < n; ++j) b.record(v);
    }
    a.record_n(999, 0);  // n = 0 records nothing, not even a min
    expect_same(a, b);
}

TEST(LatencyHistogram, MergeEqualsRecordingBoth) {
    LatencyHistogram left, right, both;
    SplitMix rng{9};
    for (int i = 0; i < 20'000; ++i) {
        const uint64_t v = static_cast<uint64_t>(std::pow(10.0, 9.0 * rng.unit()));
        (i % 3 == 0 ? left : right).record(v);
        both.record(v);
    }
    left.record(4'000'000'000'000ull);  // clamped, in one side only
    both.record(4'000'000'000'000ull);
    left.merge(right);
    expect_same(left, both);

    LatencyHistogram empty;
    empty.merge(both);  // into an empty histogram: min must come from the other side
    expect_same(empty, both);
    both.merge(LatencyHistogram{});
    expect_same(empty, both);
}

TEST(LatencyHistogram, MergeRejectsDifferentLayouts) {
    LatencyHistogram h;
    EXPECT_THROW(h.merge(LatencyHistogram(1'000'000, 11)), std::invalid_argument);
    EXPECT_THROW(h.merge(LatencyHistogram(3'600'000'000'000ull, 10)), std::invalid_argument);
}

TEST(LatencyHistogram, ValuesAboveMaxAreClampedAndCounted) {
    LatencyHistogram h(1'000'000, 11);
    h.record(500);
    h.record(2'000'000);
    h.record_n(UINT64_MAX, 2);
    EXPECT_EQ(h.count(), 4u);
    EXPECT_EQ(h.clamped(), 3u);
    EXPECT_EQ(h.max(), 1'000'000u);
    EXPECT_EQ(h.value_at_percentile(100), 1'000'000u);
    EXPECT_EQ(h.value_at_percentile(50), 1'000'000u);
    EXPECT_EQ(h.value_at_percentile(25), 500u);
    EXPECT_EQ(h.mean(), (500.0 + 3 * 1'000'000.0) / 4);
}

TEST(LatencyHistogram, MeanIsExactBeyondSixtyFourBitSums) {
    LatencyHistogram h(UINT64_MAX, 11);
    h.record_n(uint64_t{1} << 62, 1000);  // the sum needs 72 bits
    h.record_n((uint64_t{1} << 62) + 2, 1000);
    EXPECT_EQ(h.mean(), std::ldexp(1.0, 62) + 1);
    EXPECT_EQ(h.max(), (uint64_t{1} << 62) + 2);
}

TEST(LatencyHistogram, StdDevOfExactValues) {
    const auto h = histogram_of({1000, 3000, 1000, 3000}, 11);  // both in the exact linear range
    EXPECT_EQ(h.mean(), 2000.0);
    EXPECT_DOUBLE_EQ(h.stddev(), 1000.0);
}

TEST(LatencyHistogram, ResetEmptiesAndAllowsReuse) {
    auto h = histogram_of({5, 50'000, 5'000'000'000'000ull}, 11);
    h.reset();
    expect_same(h, LatencyHistogram{});
    h.record(42);
    EXPECT_EQ(h.min(), 42u);
    EXPECT_EQ(h.max(), 42u);
    EXPECT_EQ(h.value_at_percentile(50), 42u);
}

TEST(LatencyHistogram, ForEachBucketVisitsNonEmptyBucketsInOrder) {
    const auto h = histogram_of({7, 7, 100'000, 3, 1'000'000'000}, 11);
    const auto buckets = buckets_of(h);
    ASSERT_EQ(buckets.size(), 4u);
    EXPECT_EQ(buckets[0], std::make_tuple(3ull, 3ull, 1ull));
    EXPECT_EQ(buckets[1], std::make_tuple(7ull, 7ull, 2ull));
    EXPECT_EQ(std::get<0>(buckets[2]), h.lowest_equivalent(100'000));
    EXPECT_EQ(std::get<1>(buckets[2]), h.highest_equivalent(100'000));
    EXPECT_EQ(std::get<2>(buckets[3]), 1u);
}

// ---- .hgrm ---------------------------------------------------------------------------------------

TEST(PercentileDistribution, MatchesHdrHistogramOutputForThreeValues) {
    // HdrHistogram(JS/Java) prints exactly these rows for 25, 50, 75 (values in the exact range).
    const auto h = histogram_of({25, 50, 75}, 11);
    const std::string expected =
        "       Value     Percentile TotalCount 1/(1-Percentile)\n"
        "\n"
        "      25.000 0.000000000000          1           1.00\n"
        "      25.000 0.100000000000          1           1.11\n"
        "      25.000 0.200000000000          1           1.25\n"
        "      25.000 0.300000000000          1           1.43\n"
        "      50.000 0.400000000000          2           1.67\n"
        "      50.000 0.500000000000          2           2.00\n"
        "      50.000 0.550000000000          2           2.22\n"
        "      50.000 0.600000000000          2           2.50\n"
        "      50.000 0.650000000000          2           2.86\n"
        "      75.000 0.700000000000          3           3.33\n"
        "      75.000 1.000000000000          3\n"
        "#[Mean    =       50.000, StdDeviation   =       20.412]\n"
        "#[Max     =       75.000, Total count    =            3]\n"
        "#[Buckets =           31, SubBuckets     =         4096]\n";
    EXPECT_EQ(write_to_string(h, 1.0), expected);
}

struct HgrmRow {
    double value, percentile;
    uint64_t total;
    bool has_inverse;
    double inverse;
};

TEST(PercentileDistribution, ParsesBackConsistently) {
    SplitMix rng{3};
    LatencyHistogram h;
    for (int i = 0; i < 50'000; ++i) h.record(2'000 + static_cast<uint64_t>(-30'000.0 * std::log(1.0 - rng.unit())));
    const std::string text = write_to_string(h, 1000.0);

    std::istringstream in(text);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(line, "       Value     Percentile TotalCount 1/(1-Percentile)");
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(line, "");
    std::vector<HgrmRow> rows;
    std::vector<std::string> footer;
    while (std::getline(in, line)) {
        if (line.starts_with("#")) {
            footer.push_back(line);
            continue;
        }
        ASSERT_TRUE(footer.empty()) << "row after the footer: " << line;
        HgrmRow r{};
        std::istringstream fields(line);
        ASSERT_TRUE(fields >> r.value >> r.percentile >> r.total) << line;
        r.has_inverse = static_cast<bool>(fields >> r.inverse);
        rows.push_back(r);
    }
    ASSERT_GT(rows.size(), 50u);  // ticks reach far into the tail
    EXPECT_EQ(rows.front().percentile, 0.0);
    EXPECT_NEAR(rows.front().value, static_cast<double>(h.min()) / 1000.0, 0.002);
    for (size_t i = 0; i + 1 < rows.size(); ++i) {
        EXPECT_TRUE(rows[i].has_inverse);
        EXPECT_NEAR(rows[i].inverse, 1.0 / (1.0 - rows[i].percentile), 0.006) << i;
        EXPECT_LE(rows[i].value, rows[i + 1].value) << i;
        EXPECT_LT(rows[i].percentile, rows[i + 1].percentile) << i;
        EXPECT_LE(rows[i].total, rows[i + 1].total) << i;
        // a row's count covers its percentile level
        EXPECT_GE(static_cast<double>(rows[i].total) / static_cast<double>(h.count()), rows[i].percentile - 1e-12);
    }
    EXPECT_EQ(rows.back().percentile, 1.0);
    EXPECT_FALSE(rows.back().has_inverse);
    EXPECT_EQ(rows.back().total, h.count());
    EXPECT_NEAR(rows.back().value, static_cast<double>(h.max()) / 1000.0, 0.0005);
    // The first ticks are HdrHistogram's: tenths to 50%, then 5% steps to 75%, then 2.5% ...
    const double expected_levels[] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.775, 0.8};
    for (size_t i = 0; i < std::size(expected_levels); ++i) EXPECT_NEAR(rows[i].percentile, expected_levels[i], 1e-12);

    ASSERT_EQ(footer.size(), 3u);
    EXPECT_TRUE(footer[0].starts_with("#[Mean    = ")) << footer[0];
    EXPECT_NE(footer[1].find("Total count    =        50000]"), std::string::npos) << footer[1];
    EXPECT_EQ(footer[2], "#[Buckets =           31, SubBuckets     =         4096]");
}

TEST(PercentileDistribution, EmptyHistogramHasHeaderAndFooterOnly) {
    const std::string text = write_to_string(LatencyHistogram{}, 1000.0);
    EXPECT_EQ(text,
              "       Value     Percentile TotalCount 1/(1-Percentile)\n\n"
              "#[Mean    =        0.000, StdDeviation   =        0.000]\n"
              "#[Max     =        0.000, Total count    =            0]\n"
              "#[Buckets =           31, SubBuckets     =         4096]\n");
}

// ---- JSON ----------------------------------------------------------------------------------------

// A strict little JSON reader: validates the whole text and returns the top-level members, strings
// unescaped and other values as their raw text.
class JsonReader {
public:
    explicit JsonReader(std::string text) : s_(std::move(text)) {}

    bool object(std::map<std::string, std::string>* top) {
        ws();
        if (!value(top)) return false;
        ws();
        return i_ == s_.size();
    }

private:
    bool value(std::map<std::string, std::string>* members) {
        ws();
        if (i_ >= s_.size()) return false;
        const char c = s_[i_];
        if (c == '{') return obj(members);
        if (c == '"') {
            std::string ignored;
            return str(&ignored);
        }
        if (c == '[') return false;  // not expected in the summary
        for (const char* lit : {"true", "false", "null"}) {
            if (s_.compare(i_, std::strlen(lit), lit) == 0) {
                i_ += std::strlen(lit);
                return true;
            }
        }
        return num();
    }
    bool obj(std::map<std::string, std::string>* members) {
        ++i_;
        ws();
        if (peek('}')) return ++i_, true;
        for (;;) {
            std::string key;
            ws();
            if (!str(&key)) return false;
            ws();
            if (!peek(':')) return false;
            ++i_;
            ws();
            const size_t start = i_;
            std::string text;
            if (peek('"')) {
                if (!str(&text)) return false;
            } else {
                if (!value(nullptr)) return false;
                text = s_.substr(start, i_ - start);
            }
            if (members != nullptr && !members->emplace(key, text).second) return false;  // duplicate key
            ws();
            if (peek('}')) return ++i_, true;
            if (!peek(',')) return false;
            ++i_;
        }
    }
    bool str(std::string* out) {
        if (!peek('"')) return false;
        for (++i_; i_ < s_.size(); ++i_) {
            const char c = s_[i_];
            if (c == '"') return ++i_, true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                *out += c;
                continue;
            }
            if (++i_ >= s_.size()) return false;
            switch (s_[i_]) {
                case '"': *out += '"'; break;
                case '\\': *out += '\\'; break;
                case '/': *out += '/'; break;
                case 'n': *out += '\n'; break;
                case 'r': *out += '\r'; break;
                case 't': *out += '\t'; break;
                case 'b': *out += '\b'; break;
                case 'f': *out += '\f'; break;
                case 'u': {
                    if (i_ + 4 >= s_.size()) return false;
                    const unsigned code = std::stoul(s_.substr(i_ + 1, 4), nullptr, 16);
                    if (code >= 0x80) return false;  // only control characters are escaped here
                    *out += static_cast<char>(code);
                    i_ += 4;
                    break;
                }
                default: return false;
            }
        }
        return false;
    }
    bool num() {
        if (peek('-')) ++i_;
        if (peek('0')) {
            ++i_;  // no leading zeros
        } else if (!digits()) {
            return false;
        }
        if (peek('.')) {
            ++i_;
            if (!digits()) return false;
        }
        if (peek('e') || peek('E')) {
            ++i_;
            if (peek('+') || peek('-')) ++i_;
            if (!digits()) return false;
        }
        return true;
    }
    bool digits() {
        const size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        return i_ > start;
    }
    bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
    }

    std::string s_;
    size_t i_ = 0;
};

std::map<std::string, std::string> parse_json(const std::string& text) {
    std::map<std::string, std::string> members;
    EXPECT_TRUE(JsonReader(text).object(&members)) << text;
    return members;
}

TEST(SummaryJson, HasEveryFieldAndPercentileInBothUnits) {
    std::vector<uint64_t> values(99'000, 10'000);
    values.insert(values.end(), 1'000, 5'000'000);
    const auto h = histogram_of(values, 11);
    LatencySummary s;
    s.mode = "sluice";
    s.sent = 100'000;
    s.received = 99'990;
    s.lost = 10;
    s.rate = 50'000;
    s.seconds = 2.5;
    s.extra = {{"query", "SELECT k, \"count\"(*)\n\tFROM t\\x"}, {"ctl", std::string("a\x01z")}};
    const std::string json = summary_json(h, s);
    const auto m = parse_json(json);

    EXPECT_EQ(m.at("mode"), "sluice");
    EXPECT_EQ(m.at("sent"), "100000");
    EXPECT_EQ(m.at("received"), "99990");
    EXPECT_EQ(m.at("lost"), "10");
    EXPECT_EQ(m.at("rate"), "50000");
    EXPECT_EQ(m.at("seconds"), "2.5");
    EXPECT_EQ(m.at("count"), "100000");
    EXPECT_EQ(m.at("clamped"), "0");
    EXPECT_EQ(m.at("min_ns"), "10000");
    EXPECT_EQ(m.at("min_us"), "10");
    EXPECT_EQ(m.at("max_ns"), "5000000");
    EXPECT_EQ(m.at("max_us"), "5000");
    EXPECT_EQ(m.at("p99_9_ns"), "5000000");
    EXPECT_EQ(m.at("p99_ns"), std::to_string(h.value_at_percentile(99)));
    for (const auto& rp : kReportPercentiles) {
        const std::string key = rp.key;
        ASSERT_TRUE(m.count(key + "_ns") && m.count(key + "_us")) << key;
        EXPECT_DOUBLE_EQ(std::stod(m.at(key + "_us")), std::stod(m.at(key + "_ns")) / 1000.0) << key;
        EXPECT_EQ(std::stod(m.at(key + "_ns")), static_cast<double>(h.value_at_percentile(rp.percentile))) << key;
    }
    EXPECT_DOUBLE_EQ(std::stod(m.at("mean_ns")), h.mean());
    EXPECT_TRUE(m.count("stddev_ns") && m.count("stddev_us"));

    std::map<std::string, std::string> extra;
    ASSERT_TRUE(JsonReader(m.at("extra")).object(&extra)) << m.at("extra");
    EXPECT_EQ(extra.at("query"), "SELECT k, \"count\"(*)\n\tFROM t\\x");
    EXPECT_EQ(extra.at("ctl"), std::string("a\x01z"));
}

TEST(SummaryJson, EmptyHistogramAndNonFiniteNumbersStayValid) {
    LatencySummary s;
    s.rate = std::nan("");
    s.seconds = INFINITY;
    const auto m = parse_json(summary_json(LatencyHistogram{}, s));
    EXPECT_EQ(m.at("mode"), "");
    EXPECT_EQ(m.at("rate"), "null");
    EXPECT_EQ(m.at("seconds"), "null");
    EXPECT_EQ(m.at("count"), "0");
    EXPECT_EQ(m.at("p50_ns"), "0");
    EXPECT_EQ(m.at("extra"), "{}");
}

// ---- table ---------------------------------------------------------------------------------------

TEST(PercentileTable, ShowsSummaryPercentilesAndExtras) {
    std::vector<uint64_t> values(99'000, 10'000);
    values.insert(values.end(), 1'000, 5'000'000);
    const auto h = histogram_of(values, 11);
    LatencySummary s;
    s.mode = "floor";
    s.sent = 100'000;
    s.received = 100'000;
    s.rate = 20'000;
    s.seconds = 5;
    s.extra = {{"transport", "tcp"}};
    const std::string table = format_percentile_table(h, s);
    EXPECT_NE(table.find("floor: sent 100000, received 100000, lost 0, 5.000 s, target 20000 records/s\n"),
              std::string::npos)
        << table;
    for (const auto& rp : kReportPercentiles) EXPECT_NE(table.find(std::string("  ") + rp.label + " "), std::string::npos) << rp.label;
    char p50[64];
    std::snprintf(p50, sizeof p50, "%.3f µs", static_cast<double>(h.value_at_percentile(50)) / 1000.0);
    EXPECT_NE(table.find(p50), std::string::npos) << table;
    EXPECT_NE(table.find("5000.000 µs"), std::string::npos) << table;  // p99.9 and max
    EXPECT_NE(table.find("transport: tcp"), std::string::npos) << table;
    EXPECT_EQ(table.find("recorded as that value"), std::string::npos);
    EXPECT_EQ(table.back(), '\n');

    LatencyHistogram small(1'000'000, 11);
    small.record(5'000'000);
    EXPECT_NE(format_percentile_table(small, LatencySummary{}).find("unpaced"), std::string::npos);
    EXPECT_NE(format_percentile_table(small, LatencySummary{}).find("1 latencies above 1000.000 µs"), std::string::npos);
}

// ---- PNG -----------------------------------------------------------------------------------------

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

class TempDirFixture : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = ::testing::TempDir() + "latency_test_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        for (const auto& f : files_) ::unlink(f.c_str());
        ::rmdir(dir_.c_str());
    }
    std::string file(const std::string& name) {
        files_.push_back(dir_ + "/" + name);
        return files_.back();
    }

    std::string dir_;
    std::vector<std::string> files_;
};

using PlotTest = TempDirFixture;

TEST_F(PlotTest, WritesPngOverlayingTwoRuns) {
    if (!on_path("gnuplot")) GTEST_SKIP() << "gnuplot is not on PATH (apt-get install gnuplot-nox)";
    SplitMix rng{11};
    LatencyHistogram sluice, floor;
    for (int i = 0; i < 20'000; ++i) {
        const double e = -std::log(1.0 - rng.unit());
        floor.record(8'000 + static_cast<uint64_t>(2'000 * e));
        sluice.record(15'000 + static_cast<uint64_t>(6'000 * e));
    }
    const std::string a = file("sluice.hgrm"), b = file("floor's run.hgrm"), png = file("plot.png");
    ASSERT_EQ(write_percentile_distribution_file(sluice, a), "");
    ASSERT_EQ(write_percentile_distribution_file(floor, b), "");
    const std::string err = plot_percentiles_png({{"sluice_run", a}, {"floor 'tcp'", b}}, png, "latency: it's \"sluice\"");
    ASSERT_EQ(err, "");
    std::FILE* f = std::fopen(png.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    char sig[8] = {};
    const size_t got = std::fread(sig, 1, sizeof sig, f);
    std::fclose(f);
    ASSERT_EQ(got, 8u);
    EXPECT_EQ(std::string(sig, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(PlotTest, ReportsMissingInputInsteadOfFailing) {
    const std::string png = file("never.png");
    const std::string err = plot_percentiles_png({{"x", dir_ + "/missing.hgrm"}}, png, "t");
    EXPECT_NE(err.find("cannot read"), std::string::npos) << err;
    EXPECT_NE(plot_percentiles_png({}, png, "t"), "");
}

TEST_F(PlotTest, ReportsMissingGnuplot) {
    const std::string hgrm = file("one.hgrm");
    ASSERT_EQ(write_percentile_distribution_file(histogram_of({1000, 2000}, 11), hgrm), "");
    const char* old = std::getenv("PATH");
    const std::string saved = old != nullptr ? old : "";
    ::setenv("PATH", dir_.c_str(), 1);  // a directory without gnuplot
    const std::string err = plot_percentiles_png({{"x", hgrm}}, file("none.png"), "t");
    ::setenv("PATH", saved.c_str(), 1);
    EXPECT_EQ(err, "gnuplot not found: install gnuplot-nox");
}

TEST_F(PlotTest, WriteFileReportsUnwritablePath) {
    const std::string err = write_percentile_distribution_file(LatencyHistogram{}, dir_ + "/no/such/dir/x.hgrm");
    EXPECT_NE(err.find("cannot write"), std::string::npos) << err;
}

}  // namespace
}  // namespace sluice::lat
