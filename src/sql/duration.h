// Durations in milliseconds: the unit words of INTERVAL and the string forms
// of WITH values ('2s', '500ms', '1 minute').
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::sql {

// Milliseconds per unit for a unit word (ms, s, m, h, d and the spelled-out
// singular and plural names, any case); nullopt for anything else.
std::optional<int64_t> unit_ms(std::string_view word) noexcept;

// n * unit without overflow; nullopt when it does not fit.
std::optional<int64_t> scale_duration(uint64_t n, int64_t unit) noexcept;

// "<integer>[ ]<unit>" (surrounding blanks allowed), or "0". nullopt when malformed.
std::optional<int64_t> parse_duration_string(std::string_view s) noexcept;

}  // namespace sluice::sql
