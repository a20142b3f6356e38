// Group-key bytes on the hot path: canonical encoding of one value straight
// into the key buffer, decoding, equality of two keys and the key hash, all
// inline so that a record's key costs no calls. Formats are those of
// key_codec.cc (encode_key/decode_key use these helpers) and hash64.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "sluice/base.h"
#include "sluice/value.h"

namespace sluice::detail {

// ---------------------------------------------------------------- hash

// hash64 (src/base/hash.cc) compiled into the caller: the same function of
// (bytes, length, kHashSeed), bit for bit (a unit test compares them), so
// that keys hashed here and keys hashed with hash64 agree.
namespace keyhash {

__extension__ using U128 = unsigned __int128;

inline constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
inline constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
inline constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
inline constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

inline uint64_t fold_mul(uint64_t a, uint64_t b) noexcept {
    const U128 r = static_cast<U128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load8(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

inline uint64_t load4(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// The seed's first mix depends only on the seed: a constant.
inline constexpr uint64_t kSeedMixed = kHashSeed ^ [] {
    const U128 r = static_cast<U128>(kHashSeed ^ kP0) * kP1;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}();

}  // namespace keyhash

inline uint64_t hash_key(const uint8_t* p, std::size_t len) noexcept {
    using namespace keyhash;
    uint64_t seed = kSeedMixed;
    uint64_t a;
    uint64_t b;
    if (len <= 16) [[likely]] {
        if (len >= 4) {
            const std::size_t mid = (len >> 3) << 2;
            a = (load4(p) << 32) | load4(p + mid);
            b = (load4(p + len - 4) << 32) | load4(p + len - 4 - mid);
        } else if (len > 0) {
            a = (static_cast<uint64_t>(p[0]) << 16) | (static_cast<uint64_t>(p[len >> 1]) << 8) | p[len - 1];
            b = 0;
        } else {
            a = 0;
            b = 0;
        }
    } else if (len <= 32) {
        // One 16-byte round, then the last 16 bytes: the loop below for one pass.
        seed = fold_mul(load8(p) ^ kP1, load8(p + 8) ^ seed);
        a = load8(p + len - 16);
        b = load8(p + len - 8);
    } else {
        std::size_t left = len;
        if (left > 48) [[unlikely]] {
            uint64_t s1 = seed;
            uint64_t s2 = seed;
            do {
                seed = fold_mul(load8(p) ^ kP1, load8(p + 8) ^ seed);
                s1 = fold_mul(load8(p + 16) ^ kP2, load8(p + 24) ^ s1);
                s2 = fold_mul(load8(p + 32) ^ kP3, load8(p + 40) ^ s2);
                p += 48;
                left -= 48;
            } while (left > 48);
            seed ^= s1 ^ s2;
        }
        while (left > 16) {
            seed = fold_mul(load8(p) ^ kP1, load8(p + 8) ^ seed);
            p += 16;
            left -= 16;
        }
        a = load8(p + left - 16);
        b = load8(p + left - 8);
    }
    a ^= kP1;
    b ^= seed;
    const U128 r = static_cast<U128>(a) * b;
    a = static_cast<uint64_t>(r);
    b = static_cast<uint64_t>(r >> 64);
    return fold_mul(a ^ kP0 ^ len, b ^ kP1);
}

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
    using keyhash::load4;
    using keyhash::load8;
    if (n <= 32) {
        if (n >= 16) {
            return ((load8(a) ^ load8(b)) | (load8(a + 8) ^ load8(b + 8)) | (load8(a + n - 16) ^ load8(b + n - 16)) |
                    (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
        }
        if (n >= 8) return ((load8(a) ^ load8(b)) | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
        if (n >= 4) return ((load4(a) ^ load4(b)) | (load4(a + n - 4) ^ load4(b + n - 4))) == 0;
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
