// Canonical group-key bytes: per value a type tag, then Int 8 bytes, Bool 1,
// Double 8, String u32 length + bytes, Null nothing. Integral doubles encode
// as Int so 1 and 1.0 form one group; -0.0 and every NaN encode alike. The
// per-value helpers live in key_inline.h, shared with Prepare's inline path.
#include "key_inline.h"
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

}  // namespace sluice
