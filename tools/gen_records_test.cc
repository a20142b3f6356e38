#include "gen_records.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace sluice {
namespace {

std::string record(const RecordFormatter& f, uint64_t i) {
    char buf[kMaxGenRecordBytes];
    return std::string(buf, f.format(i, buf));
}

std::string record(Scenario s, uint64_t i) {
    char buf[kMaxGenRecordBytes];
    return std::string(buf, format_record(s, i, buf));
}

// The BENCH.md formulas, written out independently of the formatter.
std::string expected(Scenario s, uint64_t i) {
    char buf[256];
    const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    switch (s) {
    case Scenario::S0:
        std::snprintf(buf, sizeof buf,
                      "{\"order_id\":%llu,\"customer_id\":%llu,\"order_date\":\"2024-01-15\",\"total_amount\":%.1f}",
                      u(i), u(i % 1000), 150.0 + static_cast<double>(i % 100));
        break;
    case Scenario::S1:
        std::snprintf(buf, sizeof buf, "{\"symbol\":\"SYM%llu\",\"price\":%.1f,\"timestamp\":%llu}", u(i % 10),
                      100.0 + static_cast<double>(i % 50), u(1700000000000ULL + i * 1000));
        break;
    case Scenario::S2:
        std::snprintf(buf, sizeof buf, "{\"symbol\":\"SYM%llu\",\"price\":%.1f,\"quantity\":%llu}", u(i % 200),
                      100.0 + static_cast<double>(i % 100), u(i % 1000));
        break;
    case Scenario::S3:
    case Scenario::S3Dense:
        std::snprintf(buf, sizeof buf,
                      "{\"trader_id\":\"T%llu\",\"symbol\":\"SYM%llu\",\"price\":%.1f,\"quantity\":%llu,"
                      "\"trade_time\":%llu}",
                      u(i % 50), u(i % 100), 100.0 + static_cast<double>(i % 50), u(i % 1000),
                      u(1000000 + (s == Scenario::S3 ? i * 1000 : i)));
        break;
    case Scenario::OneBrc:
        return {};
    }
    return buf;
}

const std::vector<uint64_t> kSampleIndices = {0, 1, 2, 49, 50, 99, 100, 199, 200, 999, 1000, 12345, 60000, 10000000,
                                              (uint64_t{1} << 40) + 7};

TEST(GenRecords, FixedScenariosMatchBenchFormulas) {
    for (Scenario s : {Scenario::S0, Scenario::S1, Scenario::S2, Scenario::S3, Scenario::S3Dense}) {
        for (uint64_t i : kSampleIndices) {
            EXPECT_EQ(record(s, i), expected(s, i)) << scenario_name(s) << " i=" << i;
        }
    }
}

TEST(GenRecords, SpotChecksOfLiteralRecords) {
    // A few records spelled out by hand, to catch a shared mistake in both formulas.
    EXPECT_EQ(record(Scenario::S0, 1234),
              R"({"order_id":1234,"customer_id":234,"order_date":"2024-01-15","total_amount":184.0})");
    EXPECT_EQ(record(Scenario::S1, 3), R"({"symbol":"SYM3","price":103.0,"timestamp":1700000003000})");
    EXPECT_EQ(record(Scenario::S2, 1201), R"({"symbol":"SYM1","price":101.0,"quantity":201})");
    EXPECT_EQ(record(Scenario::S3, 61),
              R"({"trader_id":"T11","symbol":"SYM61","price":111.0,"quantity":61,"trade_time":1061000})");
    EXPECT_EQ(record(Scenario::S3Dense, 61),
              R"({"trader_id":"T11","symbol":"SYM61","price":111.0,"quantity":61,"trade_time":1000061})");
}

TEST(GenRecords, FixedScenariosIgnoreTheSeed) {
    for (Scenario s : {Scenario::S0, Scenario::S1, Scenario::S2, Scenario::S3, Scenario::S3Dense}) {
        const RecordFormatter a(s, 1);
        const RecordFormatter b(s, 987654321);
        for (uint64_t i : kSampleIndices) EXPECT_EQ(record(a, i), record(b, i));
    }
}

TEST(GenRecords, DeterministicForASeed) {
    for (Scenario s : kAllScenarios) {
        const RecordFormatter a(s, 77);
        const RecordFormatter b(s, 77);
        for (uint64_t i = 0; i < 2000; ++i) ASSERT_EQ(record(a, i), record(b, i)) << scenario_name(s);
        // Random access: a record does not depend on the ones formatted before it.
        EXPECT_EQ(record(a, 1500), record(RecordFormatter(s, 77), 1500));
    }
}

TEST(GenRecords, DefaultSeedIsTheFreeFunction) {
    const RecordFormatter f(Scenario::OneBrc, kDefaultGenSeed);
    for (uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(record(f, i), record(Scenario::OneBrc, i));
}

TEST(GenRecords, StationListIsFixedAndDistinct) {
    const auto names = station_names();
    ASSERT_EQ(names.size(), 413u);
    std::set<std::string_view> distinct(names.begin(), names.end());
    EXPECT_EQ(distinct.size(), 413u);
    for (std::string_view n : names) {
        EXPECT_FALSE(n.empty());
        for (char c : n) {
            // Names go into JSON unescaped.
            EXPECT_TRUE(c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) << n;
        }
    }
}

// Splits a 1brc record into its station and temperature text.
void split_1brc(const std::string& rec, std::string& station, std::string& temperature) {
    const std::string head = "{\"station\":\"";
    const std::string mid = "\",\"temperature\":";
    ASSERT_EQ(rec.compare(0, head.size(), head), 0) << rec;
    const auto m = rec.find(mid, head.size());
    ASSERT_NE(m, std::string::npos) << rec;
    ASSERT_EQ(rec.back(), '}') << rec;
    station = rec.substr(head.size(), m - head.size());
    temperature = rec.substr(m + mid.size(), rec.size() - 1 - (m + mid.size()));
}

bool is_one_decimal(const std::string& t) {
    std::size_t k = t.starts_with('-') ? 1 : 0;
    const std::size_t dot = t.find('.');
    if (dot == std::string::npos || dot == k || dot - k > 2 || dot + 2 != t.size()) return false;
    for (std::size_t j = k; j < t.size(); ++j) {
        if (j != dot && (t[j] < '0' || t[j] > '9')) return false;
    }
    // No leading zero except "0.x".
    return !(t[k] == '0' && dot - k > 1);
}

TEST(GenRecords, OneBrcStationsRoundRobinOverAShuffle) {
    const RecordFormatter f(Scenario::OneBrc, 5);
    const auto names = station_names();
    const std::set<std::string_view> all(names.begin(), names.end());
    std::set<std::string> first_cycle;
    std::vector<std::string> order;
    for (uint64_t i = 0; i < 3 * 413; ++i) {
        std::string station, temperature;
        split_1brc(record(f, i), station, temperature);
        ASSERT_TRUE(all.count(station)) << station;
        ASSERT_EQ(station, f.station(i));
        if (i < 413) {
            first_cycle.insert(station);
            order.push_back(station);
        } else {
            ASSERT_EQ(station, order[i % 413]) << "i=" << i;
        }
    }
    EXPECT_EQ(first_cycle.size(), 413u);  // every station once per cycle

    // The shuffle depends on the seed and is not the list order.
    const RecordFormatter g(Scenario::OneBrc, 6);
    int same_as_other_seed = 0, same_as_list = 0;
    for (uint64_t i = 0; i < 413; ++i) {
        same_as_other_seed += order[i] == g.station(i);
        same_as_list += order[i] == names[i];
    }
    EXPECT_LT(same_as_other_seed, 40);
    EXPECT_LT(same_as_list, 40);
}

TEST(GenRecords, OneBrcTemperaturesHaveOneDecimalInRange) {
    const RecordFormatter f(Scenario::OneBrc, kDefaultGenSeed);
    int negative = 0, positive = 0;
    std::set<std::string> values;
    for (uint64_t i = 0; i < 20000; ++i) {
        std::string station, t;
        split_1brc(record(f, i), station, t);
        ASSERT_TRUE(is_one_decimal(t)) << t;
        const double v = std::stod(t);
        ASSERT_GE(v, -99.9);
        ASSERT_LE(v, 99.9);
        negative += v < 0;
        positive += v > 0;
        values.insert(t);
    }
    // Spread over the range rather than stuck on a few values.
    EXPECT_GT(negative, 8000);
    EXPECT_GT(positive, 8000);
    EXPECT_GT(values.size(), 1500u);
}

TEST(GenRecords, OneBrcTemperaturesDependOnTheSeed) {
    const RecordFormatter a(Scenario::OneBrc, 1);
    const RecordFormatter b(Scenario::OneBrc, 2);
    int differ = 0;
    for (uint64_t i = 0; i < 1000; ++i) differ += record(a, i) != record(b, i);
    EXPECT_GT(differ, 900);
}

TEST(GenRecords, RecordsFitTheBufferBound) {
    const uint64_t huge = ~uint64_t{0};
    for (Scenario s : kAllScenarios) {
        const RecordFormatter f(s);
        for (uint64_t i : {uint64_t{0}, huge, huge - 1, huge / 3}) EXPECT_LE(record(f, i).size(), kMaxGenRecordBytes);
    }
    std::size_t longest = 0;
    for (std::string_view n : station_names()) longest = std::max(longest, n.size());
    EXPECT_LE(longest + 40, kMaxGenRecordBytes);
}

TEST(GenRecords, ScenarioNamesRoundTrip) {
    for (Scenario s : kAllScenarios) {
        const auto parsed = parse_scenario(scenario_name(s));
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(*parsed, s);
    }
    EXPECT_EQ(parse_scenario("s3-dense"), Scenario::S3Dense);
    EXPECT_EQ(parse_scenario("1brc"), Scenario::OneBrc);
    EXPECT_FALSE(parse_scenario("S0").has_value());
    EXPECT_FALSE(parse_scenario("s4").has_value());
    EXPECT_FALSE(parse_scenario("").has_value());
}

TEST(GenRecords, Splitmix64MatchesPublishedOutputs) {
    // First outputs of the reference splitmix64 seeded with 0.
    EXPECT_EQ(splitmix64_at(0, 0), 0xe220a8397b1dcdafULL);
    EXPECT_EQ(splitmix64_at(0, 1), 0x6e789e6aa1b965f4ULL);
    EXPECT_EQ(splitmix64_at(0, 2), 0x06c45d188009454fULL);
}

TEST(GenRecords, Splitmix64MatchesTheSequentialGenerator) {
    // The reference sequential splitmix64: state += golden; mix(state).
    uint64_t state = 12345;
    for (uint64_t i = 0; i < 100; ++i) {
        state += 0x9e3779b97f4a7c15ULL;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        ASSERT_EQ(splitmix64_at(12345, i), z);
    }
}

}  // namespace
}  // namespace sluice
