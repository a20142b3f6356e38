// Validation of raw JSON scalar tokens (as simdjson's raw_json_token() gives
// them: the scalar plus any whitespace up to the next structural character).
// Used for values nobody reads: checking the token is cheaper than parsing it.
#pragma once

#include <cstddef>
#include <cstring>

namespace sluice {

inline bool json_only_space(const char* p, const char* end) noexcept {
    for (; p != end; ++p) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            return false;
        }
    }
    return true;
}

// `true`, `false` or `null` (word of n bytes) and nothing else.
inline bool json_literal_token(const char* p, const char* end, const char* word, std::size_t n) noexcept {
    return static_cast<std::size_t>(end - p) >= n && std::memcmp(p, word, n) == 0 && json_only_space(p + n, end);
}

inline bool json_digit(char c) noexcept { return static_cast<unsigned char>(c - '0') <= 9; }

// The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
inline bool json_number_token(const char* p, const char* end) noexcept {
    if (p != end && *p == '-') {
        ++p;
    }
    if (p == end || !json_digit(*p)) {
        return false;
    }
    if (*p++ == '0') {
        if (p != end && json_digit(*p)) {
            return false;  // leading zero
        }
    } else {
        while (p != end && json_digit(*p)) {
            ++p;
        }
    }
    if (p != end && *p == '.') {
        ++p;
        if (p == end || !json_digit(*p)) {
            return false;
        }
        while (p != end && json_digit(*p)) {
            ++p;
        }
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
        ++p;
        if (p != end && (*p == '+' || *p == '-')) {
            ++p;
        }
        if (p == end || !json_digit(*p)) {
            return false;
        }
        while (p != end && json_digit(*p)) {
            ++p;
        }
    }
    return json_only_space(p, end);
}

}  // namespace sluice
