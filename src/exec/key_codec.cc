// Canonical group-key bytes: per value a type tag, then Int 8 bytes, Bool 1,
// Double 8, String u32 length + bytes, Null nothing. Integral doubles encode
// as Int so 1 and 1.0 form one group; -0.0 and every NaN encode alike.
#include <cmath>
#include <cstring>
#include <limits>

#include "sluice/exec.h"

namespace sluice {

namespace {

constexpr double kTwo63 = 9223372036854775808.0;

// The type a value is stored under: an integral Double in int64 range is Int.
inline Type canonical_type(const Value& v) noexcept {
    if (v.type == Type::Double && v.d >= -kTwo63 && v.d < kTwo63 && std::trunc(v.d) == v.d) return Type::Int;
    return v.type;
}

inline uint32_t encoded_size(const Value& v, Type t) noexcept {
    switch (t) {
        case Type::Null: return 1;
        case Type::Bool: return 2;
        case Type::Int:
        case Type::Double: return 9;
        case Type::String: return 5 + v.len;
    }
    return 1;
}

}  // namespace

uint32_t encode_key(const Value* keys, uint32_t n, uint8_t* out, uint32_t cap) noexcept {
    uint32_t size = 0;
    for (uint32_t k = 0; k < n; ++k) size += encoded_size(keys[k], canonical_type(keys[k]));
    if (size > cap) return size;
    uint8_t* p = out;
    for (uint32_t k = 0; k < n; ++k) {
        const Value& v = keys[k];
        const Type t = canonical_type(v);
        *p++ = static_cast<uint8_t>(t);
        switch (t) {
            case Type::Null: break;
            case Type::Bool: *p++ = v.b ? 1 : 0; break;
            case Type::Int: {
                const int64_t i = v.type == Type::Int ? v.i : static_cast<int64_t>(v.d);
                std::memcpy(p, &i, 8);
                p += 8;
                break;
            }
            case Type::Double: {
                const double d = std::isnan(v.d) ? std::numeric_limits<double>::quiet_NaN() : v.d;
                std::memcpy(p, &d, 8);
                p += 8;
                break;
            }
            case Type::String:
                std::memcpy(p, &v.len, 4);
                if (v.len != 0) std::memcpy(p + 4, v.s, v.len);
                p += 4 + v.len;
                break;
        }
    }
    return size;
}

void decode_key(const uint8_t* bytes, uint32_t len, Value* out, uint32_t n) noexcept {
    const uint8_t* p = bytes;
    const uint8_t* end = bytes + len;
    for (uint32_t k = 0; k < n; ++k) {
        if (p >= end) {
            out[k] = Value::null();
            continue;
        }
        const auto t = static_cast<Type>(*p++);
        switch (t) {
            case Type::Bool: out[k] = Value::of_bool(*p++ != 0); break;
            case Type::Int: {
                int64_t i;
                std::memcpy(&i, p, 8);
                p += 8;
                out[k] = Value::of_int(i);
                break;
            }
            case Type::Double: {
                double d;
                std::memcpy(&d, p, 8);
                p += 8;
                out[k] = Value::of_double(d);
                break;
            }
            case Type::String: {
                uint32_t l;
                std::memcpy(&l, p, 4);
                out[k] = Value::of_string(reinterpret_cast<const char*>(p + 4), l);
                p += 4 + l;
                break;
            }
            case Type::Null:
            default: out[k] = Value::null(); break;
        }
    }
}

}  // namespace sluice
