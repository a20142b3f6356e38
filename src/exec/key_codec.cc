// Canonical group-key bytes: per value a type tag, then Int 8 bytes, Bool 1,
// Double 8, String u32 length + bytes, Null nothing. Integral doubles encode
// as Int so 1 and 1.0 form one group; -0.0 and every NaN encode alike. The
// per-value helpers live in key_inline.h, shared with Prepare's inline path.
#include <cmath>
#include <vector>

#include "key_inline.h"
#include "number_text.h"
#include "sluice/exec.h"

namespace sluice {

uint32_t encode_key(const Value* keys, uint32_t n, uint8_t* out, uint32_t cap) noexcept {
    uint32_t size = 0;
    for (uint32_t k = 0; k < n; ++k) size += detail::key_value_size(keys[k]);
    if (size > cap) return size;
    uint8_t* p = out;
    for (uint32_t k = 0; k < n; ++k) p = detail::encode_key_value(p, keys[k]);
    return size;
}

void decode_key(const uint8_t* bytes, uint32_t len, Value* out, uint32_t n) noexcept {
    detail::decode_key_values(bytes, len, out, n);
}

void append_key_text(const uint8_t* key, uint32_t len, uint32_t n, std::string& out) {
    std::vector<Value> values(n);
    detail::decode_key_values(key, len, values.data(), n);
    char buf[detail::kDoubleTextMax + 16];
    for (uint32_t k = 0; k < n; ++k) {
        if (k) out += '|';
        const Value& v = values[k];
        switch (v.type) {
            case Type::Null: break;
            case Type::Bool: out += v.b ? "true" : "false"; break;
            case Type::Int: out.append(buf, detail::format_int(buf, v.i)); break;
            case Type::Double:
                // As a row prints it (NaN and infinities print null: nothing).
                if (std::isfinite(v.d)) out.append(buf, detail::format_finite_double(buf, v.d));
                break;
            case Type::String: out.append(v.s, v.len); break;
        }
    }
}

}  // namespace sluice
