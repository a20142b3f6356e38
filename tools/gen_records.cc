#include "gen_records.h"

#include <charconv>
#include <cstring>
#include <utility>

#include "stations.h"

namespace sluice {
namespace {

// Keeps the shuffle's stream apart from the temperature stream of the same seed.
constexpr uint64_t kShuffleSalt = 0x5851f42d4c957f2dULL;

template <std::size_t N>
inline char* put(char* p, const char (&literal)[N]) noexcept {
    std::memcpy(p, literal, N - 1);
    return p + N - 1;
}

inline char* put_u64(char* p, uint64_t v) noexcept {
    return std::to_chars(p, p + 20, v).ptr;
}

// Decimal text of 0..999, four bytes each with the length in the last byte:
// most fields are small moduli, and one 4-byte copy beats a to_chars call.
struct SmallDecimals {
    char text[1000][4];
    constexpr SmallDecimals() : text{} {
        for (int v = 0; v < 1000; ++v) {
            const int len = v < 10 ? 1 : v < 100 ? 2 : 3;
            int x = v;
            for (int d = len - 1; d >= 0; --d) {
                text[v][d] = static_cast<char>('0' + x % 10);
                x /= 10;
            }
            text[v][3] = static_cast<char>(len);
        }
    }
};
constexpr SmallDecimals kSmall;

inline char* put_small(char* p, uint64_t v) noexcept {
    std::memcpy(p, kSmall.text[v], 4);  // the caller's buffer has slack past the record
    return p + kSmall.text[v][3];
}

// Integral doubles print as "150.0" so the decoder sees a DOUBLE, not a BIGINT.
inline char* put_integral_double(char* p, uint64_t v) noexcept {
    p = put_small(p, v);
    return put(p, ".0");
}

inline char* put_tenths(char* p, int64_t tenths) noexcept {
    if (tenths < 0) {
        *p++ = '-';
        tenths = -tenths;
    }
    p = put_small(p, static_cast<uint64_t>(tenths / 10));
    *p++ = '.';
    *p++ = static_cast<char>('0' + tenths % 10);
    return p;
}

char* format_s3(char* p, uint64_t i, uint64_t trade_time) noexcept {
    p = put(p, "{\"trader_id\":\"T");
    p = put_small(p, i % 50);
    p = put(p, "\",\"symbol\":\"SYM");
    p = put_small(p, i % 100);
    p = put(p, "\",\"price\":");
    p = put_integral_double(p, 100 + i % 50);
    p = put(p, ",\"quantity\":");
    p = put_small(p, i % 1000);
    p = put(p, ",\"trade_time\":");
    p = put_u64(p, trade_time);
    *p++ = '}';
    return p;
}

}  // namespace

std::string_view scenario_name(Scenario s) noexcept {
    switch (s) {
    case Scenario::S0: return "s0";
    case Scenario::S1: return "s1";
    case Scenario::S2: return "s2";
    case Scenario::S3: return "s3";
    case Scenario::S3Dense: return "s3-dense";
    case Scenario::OneBrc: return "1brc";
    }
    return "?";
}

std::optional<Scenario> parse_scenario(std::string_view name) noexcept {
    for (Scenario s : kAllScenarios) {
        if (scenario_name(s) == name) return s;
    }
    return std::nullopt;
}

std::span<const std::string_view, kStationCount> station_names() noexcept {
    return kStations;
}

uint64_t splitmix64_at(uint64_t seed, uint64_t i) noexcept {
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

RecordFormatter::RecordFormatter(Scenario scenario, uint64_t seed) noexcept
    : scenario_(scenario), seed_(seed), stations_(kStations) {
    // Fisher-Yates with our own generator: std::shuffle's draws are
    // implementation-defined, and the data set must not depend on the libc++/libstdc++ used.
    for (std::size_t k = kStationCount - 1; k > 0; --k) {
        const std::size_t j = splitmix64_at(seed ^ kShuffleSalt, k) % (k + 1);
        std::swap(stations_[k], stations_[j]);
    }
}

std::size_t RecordFormatter::format(uint64_t i, char* out) const noexcept {
    char* p = out;
    switch (scenario_) {
    case Scenario::S0:
        p = put(p, "{\"order_id\":");
        p = put_u64(p, i);
        p = put(p, ",\"customer_id\":");
        p = put_small(p, i % 1000);
        p = put(p, ",\"order_date\":\"2024-01-15\",\"total_amount\":");
        p = put_integral_double(p, 150 + i % 100);
        *p++ = '}';
        break;
    case Scenario::S1:
        p = put(p, "{\"symbol\":\"SYM");
        p = put_small(p, i % 10);
        p = put(p, "\",\"price\":");
        p = put_integral_double(p, 100 + i % 50);
        p = put(p, ",\"timestamp\":");
        p = put_u64(p, 1700000000000ULL + i * 1000);
        *p++ = '}';
        break;
    case Scenario::S2:
        p = put(p, "{\"symbol\":\"SYM");
        p = put_small(p, i % 200);
        p = put(p, "\",\"price\":");
        p = put_integral_double(p, 100 + i % 100);
        p = put(p, ",\"quantity\":");
        p = put_small(p, i % 1000);
        *p++ = '}';
        break;
    case Scenario::S3:
        p = format_s3(p, i, 1000000 + i * 1000);
        break;
    case Scenario::S3Dense:
        p = format_s3(p, i, 1000000 + i);
        break;
    case Scenario::OneBrc: {
        const std::string_view name = station(i);
        p = put(p, "{\"station\":\"");
        std::memcpy(p, name.data(), name.size());
        p += name.size();
        p = put(p, "\",\"temperature\":");
        // 1999 tenths: -99.9 .. 99.9 inclusive.
        const auto tenths = static_cast<int64_t>(splitmix64_at(seed_, i) % 1999) - 999;
        p = put_tenths(p, tenths);
        *p++ = '}';
        break;
    }
    }
    return static_cast<std::size_t>(p - out);
}

std::size_t format_record(Scenario scenario, uint64_t i, char* out) noexcept {
    // One formatter per data set, built once: the 1BRC shuffle is not redone per record.
    static const std::array<RecordFormatter, kAllScenarios.size()> formatters = {
        RecordFormatter(Scenario::S0),      RecordFormatter(Scenario::S1),
        RecordFormatter(Scenario::S2),      RecordFormatter(Scenario::S3),
        RecordFormatter(Scenario::S3Dense), RecordFormatter(Scenario::OneBrc)};
    return formatters[static_cast<std::size_t>(scenario)].format(i, out);
}

}  // namespace sluice
