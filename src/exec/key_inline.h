// Group-key bytes on the hot path: canonical encoding of one value straight
// into the key buffer, decoding, equality of two keys and the key hash, all
// inline so that a record's key costs no calls. Formats are those of
// key_codec.cc (encode_key/decode_key use these helpers).
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "sluice/base.h"
#include "sluice/bytes.h"
#include "sluice/value.h"

namespace sluice::detail {

// ---------------------------------------------------------------- bytes

// n bytes without reading or writing past either end; short lengths take
// overlapping fixed-size moves instead of a memcpy call.
inline void copy_bytes(uint8_t* d, const void* src, std::size_t n) noexcept {
    const auto* s = static_cast<const uint8_t*>(src);
    if (n <= 16) {
        if (n >= 8) {
            std::memcpy(d, s, 8);
            std::memcpy(d + n - 8, s + n - 8, 8);
        } else if (n >= 4) {
            std::memcpy(d, s, 4);
            std::memcpy(d + n - 4, s + n - 4, 4);
        } else if (n != 0) {
            d[0] = s[0];  // 1..3 bytes: first, middle, last cover them all
            d[n >> 1] = s[n >> 1];
            d[n - 1] = s[n - 1];
        }
        return;
    }
    std::memcpy(d, s, n);
}

// Equality of two keys of the same length; up to 32 bytes without a call.
inline bool key_bytes_equal(const uint8_t* a, const uint8_t* b, std::size_t n) noexcept {
    if (n <= 32) {
        if (n >= 16) {
            return ((load_u64(a) ^ load_u64(b)) | (load_u64(a + 8) ^ load_u64(b + 8)) | (load_u64(a + n - 16) ^ load_u64(b + n - 16)) |
                    (load_u64(a + n - 8) ^ load_u64(b + n - 8))) == 0;
        }
        if (n >= 8) return ((load_u64(a) ^ load_u64(b)) | (load_u64(a + n - 8) ^ load_u64(b + n - 8))) == 0;
        if (n >= 4) return ((load_u32(a) ^ load_u32(b)) | (load_u32(a + n - 4) ^ load_u32(b + n - 4))) == 0;
        for (std::size_t i = 0; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    return std::memcmp(a, b, n) == 0;
}

// ---------------------------------------------------------------- one key value

inline constexpr double kKeyTwo63 = 9223372036854775808.0;

// Canonical bytes of one value: a type tag, then Int 8 bytes, Bool 1, Double
// 8, String u32 length + bytes, Null nothing. An integral Double in int64
// range is stored as the Int of the same value; every NaN alike.
inline constexpr uint32_t kKeyScalarMax = 9;

// Upper bound of the value's encoded size (exact for Int, Double and String).
inline uint32_t key_value_bound(const Value& v) noexcept {
    return v.type == Type::String ? 5 + v.len : kKeyScalarMax;
}

inline uint32_t key_value_size(const Value& v) noexcept {
    switch (v.type) {
        case Type::Null: return 1;
        case Type::Bool: return 2;
        case Type::Int:
        case Type::Double: return 9;
        case Type::String: return 5 + v.len;
    }
    return 1;
}

// Writes the value's canonical bytes at p (room: key_value_bound); returns the end.
inline uint8_t* encode_key_value(uint8_t* p, const Value& v) noexcept {
    switch (v.type) {
        case Type::String:
            p[0] = static_cast<uint8_t>(Type::String);
            std::memcpy(p + 1, &v.len, 4);
            copy_bytes(p + 5, v.s, v.len);
            return p + 5 + v.len;
        case Type::Int:
            p[0] = static_cast<uint8_t>(Type::Int);
            std::memcpy(p + 1, &v.i, 8);
            return p + 9;
        case Type::Double:
            if (v.d >= -kKeyTwo63 && v.d < kKeyTwo63 && std::trunc(v.d) == v.d) {
                const auto i = static_cast<int64_t>(v.d);
                p[0] = static_cast<uint8_t>(Type::Int);
                std::memcpy(p + 1, &i, 8);
            } else {
                const double d = std::isnan(v.d) ? std::numeric_limits<double>::quiet_NaN() : v.d;
                p[0] = static_cast<uint8_t>(Type::Double);
                std::memcpy(p + 1, &d, 8);
            }
            return p + 9;
        case Type::Bool:
            p[0] = static_cast<uint8_t>(Type::Bool);
            p[1] = v.b ? 1 : 0;
            return p + 2;
        case Type::Null: break;
    }
    p[0] = static_cast<uint8_t>(Type::Null);
    return p + 1;
}

// Inverse of the encoding for n values; strings point into the bytes. Values
// past the end of the bytes are NULL. Written member by member (no Value
// assembled in registers).
inline void decode_key_values(const uint8_t* bytes, uint32_t len, Value* out, uint32_t n) noexcept {
    const uint8_t* p = bytes;
    const uint8_t* end = bytes + len;
    for (uint32_t k = 0; k < n; ++k) {
        Value& o = out[k];
        o.len = 0;
        if (p >= end) {
            o.i = 0;
            o.type = Type::Null;
            continue;
        }
        const auto t = static_cast<Type>(*p++);
        switch (t) {
            case Type::String: {
                uint32_t l;
                std::memcpy(&l, p, 4);
                o.s = reinterpret_cast<const char*>(p + 4);
                o.len = l;
                o.type = Type::String;
                p += 4 + l;
                continue;
            }
            case Type::Int:
            case Type::Double:
                std::memcpy(&o.i, p, 8);
                o.type = t;
                p += 8;
                continue;
            case Type::Bool:
                o.i = 0;
                o.b = *p++ != 0;
                o.type = Type::Bool;
                continue;
            case Type::Null:
            default: break;
        }
        o.i = 0;
        o.type = Type::Null;
    }
}

}  // namespace sluice::detail
