// Unaligned little loads of raw bytes (memcpy: no alignment or aliasing
// assumptions), shared by the hash, key comparison and row text code.
#pragma once

#include <cstdint>
#include <cstring>

namespace sluice {

inline uint64_t load_u64(const void* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

inline uint32_t load_u32(const void* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

}  // namespace sluice
