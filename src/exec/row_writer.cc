// One JSON object per output row. Column names are escaped once; a row is
// written straight into the OutBuffer after reserving an upper bound, then
// committed once.
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "eval_util.h"
#include "sluice/exec.h"

namespace sluice {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

inline uint64_t has_zero_byte(uint64_t v) noexcept { return (v - kOnes) & ~v & kHighs; }

// True when any of the 8 bytes needs attention: a control char, '"', '\\' or non-ASCII.
inline bool needs_escape8(uint64_t w) noexcept {
    const uint64_t control = (w - kOnes * 0x20) & ~w & kHighs;
    return ((w & kHighs) | control | has_zero_byte(w ^ (kOnes * '"')) | has_zero_byte(w ^ (kOnes * '\\'))) != 0;
}

// Length of the well-formed UTF-8 sequence at p (2..4), or 0 with `bad` set to
// the length of its maximal ill-formed prefix (each prefix becomes one U+FFFD).
inline uint32_t utf8_sequence(const unsigned char* p, std::size_t avail, uint32_t& bad) noexcept {
    const unsigned char c = p[0];
    uint32_t need;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2;
        lo = 0xA0;  // no overlong forms
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
    } else if (c == 0xED) {
        need = 2;
        hi = 0x9F;  // no surrogates
    } else if (c == 0xF0) {
        need = 3;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else if (c == 0xF4) {
        need = 3;
        hi = 0x8F;  // nothing above U+10FFFF
    } else {
        bad = 1;
        return 0;
    }
    uint32_t k = 1;
    for (; k <= need && k < avail; ++k) {
        const unsigned char b = p[k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) break;
    }
    if (k == need + 1) return need + 1;
    bad = k;
    return 0;
}

constexpr char kHex[] = "0123456789abcdef";

// Escapes one ASCII byte that JSON does not allow raw; returns the new end.
inline char* escape_ascii(char* out, unsigned char c) noexcept {
    out[0] = '\\';
    switch (c) {
        case '"': out[1] = '"'; return out + 2;
        case '\\': out[1] = '\\'; return out + 2;
        case '\n': out[1] = 'n'; return out + 2;
        case '\r': out[1] = 'r'; return out + 2;
        case '\t': out[1] = 't'; return out + 2;
        case '\b': out[1] = 'b'; return out + 2;
        case '\f': out[1] = 'f'; return out + 2;
        default: break;
    }
    out[1] = 'u';
    out[2] = '0';
    out[3] = '0';
    out[4] = kHex[c >> 4];
    out[5] = kHex[c & 15];
    return out + 6;
}

inline bool plain_ascii(unsigned char c) noexcept { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

// Writes s as a JSON string body (no quotes). Valid UTF-8 passes through;
// each ill-formed sequence becomes U+FFFD. At most 6 bytes out per byte in.
char* escape_into(char* out, const char* s, std::size_t len) noexcept {
    std::size_t i = 0;
    while (i < len) {
        while (i + 8 <= len) {
            uint64_t w;
            std::memcpy(&w, s + i, 8);
            if (needs_escape8(w)) break;
            std::memcpy(out, &w, 8);
            out += 8;
            i += 8;
        }
        if (i >= len) break;
        const auto c = static_cast<unsigned char>(s[i]);
        if (plain_ascii(c)) {
            *out++ = static_cast<char>(c);
            ++i;
        } else if (c < 0x80) {
            out = escape_ascii(out, c);
            ++i;
        } else {
            uint32_t bad = 0;
            const uint32_t n = utf8_sequence(reinterpret_cast<const unsigned char*>(s + i), len - i, bad);
            if (n != 0) {
                std::memcpy(out, s + i, n);
                out += n;
                i += n;
            } else {
                std::memcpy(out, "\xEF\xBF\xBD", 3);
                out += 3;
                i += bad;
            }
        }
    }
    return out;
}

// Exact escaped size; used for long strings so that the reservation stays tight.
std::size_t escaped_size(const char* s, std::size_t len) noexcept {
    std::size_t size = 0;
    std::size_t i = 0;
    while (i < len) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (plain_ascii(c)) {
            ++size;
            ++i;
        } else if (c < 0x80) {
            const bool short_form = c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
                                    c == '\f';
            size += short_form ? 2 : 6;
            ++i;
        } else {
            uint32_t bad = 0;
            const uint32_t n = utf8_sequence(reinterpret_cast<const unsigned char*>(s + i), len - i, bad);
            size += n != 0 ? n : 3;
            i += n != 0 ? n : bad;
        }
    }
    return size;
}

// Column prefixes are short: fixed-size overlapping moves instead of a memcpy call.
inline void copy_short(char* d, const char* s, std::size_t n) noexcept {
    if (n >= 8 && n <= 16) {
        std::memcpy(d, s, 8);
        std::memcpy(d + n - 8, s + n - 8, 8);
    } else if (n > 16 && n <= 32) {
        std::memcpy(d, s, 16);
        std::memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 4 && n < 8) {
        std::memcpy(d, s, 4);
        std::memcpy(d + n - 4, s + n - 4, 4);
    } else {
        std::memcpy(d, s, n);
    }
}

constexpr std::size_t kLongString = 4096;

inline std::size_t value_bound(const Value& v) noexcept {
    switch (v.type) {
        case Type::Null: return 4;
        case Type::Bool: return 5;
        case Type::Int: return detail::kIntTextMax;
        case Type::Double: return detail::kDoubleTextMax;
        case Type::String: return 2 + (v.len < kLongString ? std::size_t{6} * v.len : escaped_size(v.s, v.len));
    }
    return 4;
}

inline char* write_value(char* p, const Value& v) noexcept {
    switch (v.type) {
        case Type::Null: break;
        case Type::Bool:
            if (v.b) {
                std::memcpy(p, "true", 4);
                return p + 4;
            }
            std::memcpy(p, "false", 5);
            return p + 5;
        case Type::Int: return p + detail::format_int(p, v.i);
        case Type::Double:
            if (!std::isfinite(v.d)) break;  // JSON has no NaN or infinity
            return p + detail::format_finite_double(p, v.d);
        case Type::String:
            *p++ = '"';
            p = escape_into(p, v.s, v.len);
            *p++ = '"';
            return p;
    }
    std::memcpy(p, "null", 4);
    return p + 4;
}

std::string json_string(const std::string& s) {
    std::string out(2 + 6 * s.size(), '\0');
    char* p = out.data();
    *p++ = '"';
    p = escape_into(p, s.data(), s.size());
    *p++ = '"';
    out.resize(static_cast<std::size_t>(p - out.data()));
    return out;
}

}  // namespace

RowWriter::RowWriter(const std::vector<OutputColumn>& columns) {
    prefixes_.reserve(columns.size() + 1);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        std::string prefix(1, i == 0 ? '{' : ',');
        prefix += json_string(columns[i].name);
        prefix += ':';
        prefixes_.push_back(std::move(prefix));
    }
    prefixes_.push_back(columns.empty() ? "{}\n" : "}\n");  // the closing text
}

void RowWriter::write(OutBuffer& out, const Value* values) const {
    const std::size_t n = prefixes_.size() - 1;
    std::size_t bound = prefixes_[n].size();
    for (std::size_t i = 0; i < n; ++i) bound += prefixes_[i].size() + value_bound(values[i]);
    char* const start = out.reserve(bound);
    char* p = start;
    for (std::size_t i = 0; i < n; ++i) {
        copy_short(p, prefixes_[i].data(), prefixes_[i].size());
        p = write_value(p + prefixes_[i].size(), values[i]);
    }
    copy_short(p, prefixes_[n].data(), prefixes_[n].size());
    p += prefixes_[n].size();
    out.commit(static_cast<std::size_t>(p - start));
}

}  // namespace sluice
