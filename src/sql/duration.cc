#include "duration.h"

#include <array>
#include <cctype>
#include <limits>

namespace sluice::sql {

namespace {

struct UnitName {
    std::string_view name;
    int64_t ms;
};

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

constexpr std::array<UnitName, 20> kUnits{{
    {"ms", 1},           {"millisecond", 1}, {"milliseconds", 1}, {"s", kSecond},       {"sec", kSecond},
    {"second", kSecond}, {"seconds", kSecond}, {"m", kMinute},    {"min", kMinute},     {"minute", kMinute},
    {"minutes", kMinute}, {"h", kHour},       {"hour", kHour},     {"hours", kHour},     {"d", kDay},
    {"day", kDay},       {"days", kDay},       {"msec", 1},         {"secs", kSecond},    {"mins", kMinute},
}};

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    }
    return true;
}

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

}  // namespace

std::optional<int64_t> unit_ms(std::string_view word) noexcept {
    for (const UnitName& u : kUnits) {
        if (iequals(word, u.name)) return u.ms;
    }
    return std::nullopt;
}

std::optional<int64_t> scale_duration(uint64_t n, int64_t unit) noexcept {
    const auto max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (unit <= 0 || n > max / static_cast<uint64_t>(unit)) return std::nullopt;
    return static_cast<int64_t>(n * static_cast<uint64_t>(unit));
}

std::optional<int64_t> parse_duration_string(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size() && is_blank(s[i])) ++i;
    std::size_t end = s.size();
    while (end > i && is_blank(s[end - 1])) --end;
    if (i == end || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;

    uint64_t n = 0;
    while (i < end && std::isdigit(static_cast<unsigned char>(s[i]))) {
        const auto digit = static_cast<uint64_t>(s[i] - '0');
        if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
        n = n * 10 + digit;
        ++i;
    }
    while (i < end && is_blank(s[i])) ++i;
    if (i == end) {
        // A bare number has no unit; only zero is unambiguous.
        if (n == 0) return 0;
        return std::nullopt;
    }
    const auto unit = unit_ms(s.substr(i, end - i));
    if (!unit) return std::nullopt;
    return scale_duration(n, *unit);
}

}  // namespace sluice::sql
