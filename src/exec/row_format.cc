// One JSON object per output row. Column names are escaped once; a row is
// written straight into the OutBuffer after reserving an upper bound, then
// committed once. Short strings that need no escaping, integers and the
// common doubles (number_text.h) are written without calls.
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "eval_util.h"
#include "sluice/bytes.h"
#include "row_format.h"
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

// The same test on 16 bytes given as two words, in vector registers (GCC
// vector extensions: SSE2 on x86-64, NEON on aarch64). As signed bytes,
// control chars and non-ASCII are exactly those below 0x20.
using Bytes16 = int8_t __attribute__((vector_size(16)));

inline bool needs_escape16(uint64_t a, uint64_t b) noexcept {
    Bytes16 v;
    std::memcpy(&v, &a, 8);
    std::memcpy(reinterpret_cast<char*>(&v) + 8, &b, 8);
    const Bytes16 bad = (v < 0x20) | (v == '"') | (v == '\\');
    uint64_t lo;
    uint64_t hi;
    std::memcpy(&lo, &bad, 8);
    std::memcpy(&hi, reinterpret_cast<const char*>(&bad) + 8, 8);
    return (lo | hi) != 0;
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
        while (i + 16 <= len) {
            uint64_t a;
            uint64_t b;
            std::memcpy(&a, s + i, 8);
            std::memcpy(&b, s + i + 8, 8);
            if (needs_escape16(a, b)) break;
            std::memcpy(out, &a, 8);
            std::memcpy(out + 8, &b, 8);
            out += 16;
            i += 16;
        }
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

// A string of at most 16 bytes that needs no escaping is checked and copied
// with two overlapping loads (no read past it); false leaves it to escape_into.
inline bool copy_plain_short(char* out, const char* s, uint32_t len) noexcept {
    if (len >= 8) {
        const uint64_t a = load_u64(s);
        const uint64_t b = load_u64(s + len - 8);
        if (needs_escape16(a, b)) return false;
        std::memcpy(out, &a, 8);
        std::memcpy(out + len - 8, &b, 8);
        return true;
    }
    if (len >= 4) {
        const uint32_t a = load_u32(s);
        const uint32_t b = load_u32(s + len - 4);
        if (needs_escape8(a | (uint64_t{b} << 32))) return false;
        std::memcpy(out, &a, 4);
        std::memcpy(out + len - 4, &b, 4);
        return true;
    }
    if (len == 0) return true;
    // 1..3 bytes: first, middle and last cover them; the rest of the word is spaces.
    const auto c0 = static_cast<unsigned char>(s[0]);
    const auto c1 = static_cast<unsigned char>(s[len >> 1]);
    const auto c2 = static_cast<unsigned char>(s[len - 1]);
    const uint64_t w = 0x2020202020000000ULL | c0 | (uint64_t{c1} << 8) | (uint64_t{c2} << 16);
    if (needs_escape8(w)) return false;
    out[0] = static_cast<char>(c0);
    out[len >> 1] = static_cast<char>(c1);
    out[len - 1] = static_cast<char>(c2);
    return true;
}

constexpr std::size_t kLongString = 4096;
// Room for any non-string value: "false", 20 integer digits, a double's text.
constexpr std::size_t kScalarBound = detail::kDoubleTextMax;

inline std::size_t value_bound(const Value& v) noexcept {
    if (v.type != Type::String) return kScalarBound;
    return 2 + (v.len < kLongString ? std::size_t{6} * v.len : escaped_size(v.s, v.len));
}

[[gnu::always_inline]] inline char* write_value(char* p, const Value& v) noexcept {
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
            if (v.len <= 16 && copy_plain_short(p, v.s, v.len)) [[likely]]
                p += v.len;
            else
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

// Column prefixes: "{\"a\":" then ",\"b\":" ..., and the closing text.
std::vector<std::string> column_prefixes(const std::vector<OutputColumn>& columns) {
    std::vector<std::string> prefixes;
    prefixes.reserve(columns.size() + 1);
    for (std::size_t i = 0; i < columns.size(); ++i) {
        std::string prefix(1, i == 0 ? '{' : ',');
        prefix += json_string(columns[i].name);
        prefix += ':';
        prefixes.push_back(std::move(prefix));
    }
    prefixes.push_back(columns.empty() ? "{}\n" : "}\n");
    return prefixes;
}

}  // namespace

// ---------------------------------------------------------------- RowFormat

namespace detail {

RowFormat::RowFormat(const std::vector<OutputColumn>& columns) {
    const std::vector<std::string> texts = column_prefixes(columns);
    for (const std::string& t : texts) {
        const auto at = static_cast<uint32_t>(text_.size());
        prefixes_.push_back(Prefix{at, static_cast<uint32_t>(t.size())});
        short_prefixes_ &= t.size() <= kSlot;
        text_.insert(text_.end(), t.begin(), t.end());
        text_.resize(at + (t.size() + kSlot - 1) / kSlot * kSlot + (t.empty() ? kSlot : 0), '\0');
        fixed_bound_ += t.size();
    }
    // A scalar per column; the last slot copy may run kSlot bytes past the text.
    fixed_bound_ += (texts.size() - 1) * kScalarBound + kSlot;
}

// Prefix and value of columns [from, to) at p; returns the end. Each write
// stays within kSlot (prefixes) or kScalarBound (numbers) bytes past the text
// written so far, which the callers' bounds leave room for.
template <class At>
char* RowFormat::write_columns(char* p, At at, std::size_t from, std::size_t to) const noexcept {
    const Prefix* pre = prefixes_.data();
    const char* text = text_.data();
    if (short_prefixes_) [[likely]] {
        for (std::size_t i = from; i < to; ++i) {
            std::memcpy(p, text + pre[i].offset, kSlot);
            p = write_value(p + pre[i].len, at(i));
        }
    } else {
        for (std::size_t i = from; i < to; ++i) {
            std::memcpy(p, text + pre[i].offset, pre[i].len);
            p = write_value(p + pre[i].len, at(i));
        }
    }
    return p;
}

// The row's closing text ("}\n"), kept as the last prefix slot.
inline char* RowFormat::write_close(char* p) const noexcept {
    const Prefix& close = prefixes_.back();
    if (short_prefixes_) [[likely]]
        std::memcpy(p, text_.data() + close.offset, kSlot);
    else
        std::memcpy(p, text_.data() + close.offset, close.len);
    return p + close.len;
}

template <class At>
void RowFormat::write_row(OutBuffer& out, At at) const noexcept {
    const std::size_t n = prefixes_.size() - 1;
    // Scalars are in the fixed bound; strings add their own worst case.
    std::size_t bound = fixed_bound_;
    for (std::size_t i = 0; i < n; ++i)
        if (at(i).type == Type::String) bound += value_bound(at(i));
    char* const start = out.reserve(bound);
    char* p = write_columns(start, at, 0, n);
    p = write_close(p);
    out.commit(static_cast<std::size_t>(p - start));
}

std::size_t RowFormat::lead_bound(const Value* const* values, uint32_t lead) const noexcept {
    std::size_t bound = 0;
    for (uint32_t i = 0; i < lead; ++i)
        bound += prefixes_[i].len + kSlot + (values[i]->type == Type::String ? value_bound(*values[i]) : kScalarBound);
    return bound;
}

char* RowFormat::write_lead(char* out, const Value* const* values, uint32_t lead) const noexcept {
    return write_columns(out, [values](std::size_t i) -> const Value& { return *values[i]; }, 0, lead);
}

void RowFormat::write_after_lead(OutBuffer& out, const char* lead_text, uint32_t lead_len, uint32_t lead,
                                 const Value* const* values) const noexcept {
    const std::size_t n = prefixes_.size() - 1;
    // The fixed bound covers columns [lead, n) as well as [0, lead).
    std::size_t bound = fixed_bound_ + lead_len;
    for (std::size_t i = lead; i < n; ++i)
        if (values[i]->type == Type::String) bound += value_bound(*values[i]);
    char* const start = out.reserve(bound);
    // Key text is short: overlapping 16-byte moves up to 64 bytes, no call.
    if (lead_len >= 16 && lead_len <= 64) {
        std::memcpy(start, lead_text, 16);
        if (lead_len > 32) {
            std::memcpy(start + 16, lead_text + 16, 16);
            if (lead_len > 48) std::memcpy(start + 32, lead_text + 32, 16);
        }
        std::memcpy(start + lead_len - 16, lead_text + lead_len - 16, 16);
    } else if (lead_len != 0) {  // no lead: lead_text may be null, which memcpy must not get
        std::memcpy(start, lead_text, lead_len);
    }
    const auto at = [values](std::size_t i) -> const Value& { return *values[i]; };
    char* p = write_columns(start + lead_len, at, lead, n);
    p = write_close(p);
    out.commit(static_cast<std::size_t>(p - start));
}

void RowFormat::write(OutBuffer& out, const Value* values) const noexcept {
    write_row(out, [values](std::size_t i) -> const Value& { return values[i]; });
}

void RowFormat::write(OutBuffer& out, const Value* const* values) const noexcept {
    write_row(out, [values](std::size_t i) -> const Value& { return *values[i]; });
}

void RowFormat::write(OutBuffer& out, const Value* fields, const uint32_t* index) const noexcept {
    write_row(out, [fields, index](std::size_t i) -> const Value& { return fields[index[i]]; });
}

}  // namespace detail

}  // namespace sluice
