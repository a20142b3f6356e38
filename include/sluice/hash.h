// hash64: a wyhash-style multiply-mix hash with a fixed seed. Keys are read 4,
// 8 or 16 bytes at a time with memcpy (no alignment or aliasing assumptions);
// the 1..16-byte path, which covers most group keys, has no loop. The result
// depends only on the bytes, the length and the seed, so routing agrees across
// runs, shards and machines (little-endian hosts; the project targets x86-64
// and aarch64).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sluice/bytes.h"

namespace sluice {

inline constexpr uint64_t kHashSeed = 0x9e3779b97f4a7c15ULL;

namespace hash_detail {

__extension__ using U128 = unsigned __int128;

// Odd 64-bit constants with balanced bit counts: each multiply spreads every
// input bit over the whole 128-bit product.
constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

// Full 64x64->128 multiply folded to 64 bits: both halves carry entropy from
// both operands, which is where the avalanche comes from.
inline uint64_t fold_mul(uint64_t a, uint64_t b) noexcept {
    const U128 r = static_cast<U128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load8(const uint8_t* p) noexcept { return load_u64(p); }
// Widened: the hash shifts it into the high half.
inline uint64_t load4(const uint8_t* p) noexcept { return load_u32(p); }

// 1..3 bytes: first, middle and last byte (they overlap for short keys, the
// length is mixed in separately).
inline uint64_t load_small(const uint8_t* p, std::size_t n) noexcept {
    return (static_cast<uint64_t>(p[0]) << 16) | (static_cast<uint64_t>(p[n >> 1]) << 8) | p[n - 1];
}

}  // namespace hash_detail

// Fixed-seed 64-bit hash (never per-process seeded): routing must agree
// across runs, shards and machines. Inline: the key hash sits on the hot path.
inline uint64_t hash64(const void* data, std::size_t len, uint64_t seed = kHashSeed) noexcept {
    using namespace hash_detail;
    const auto* p = static_cast<const uint8_t*>(data);
    seed ^= fold_mul(seed ^ kP0, kP1);
    uint64_t a;
    uint64_t b;
    if (len <= 16) [[likely]] {
        if (len >= 4) {
            // Two overlapping 4-byte reads from each end cover 4..16 bytes.
            const std::size_t mid = (len >> 3) << 2;
            a = (load4(p) << 32) | load4(p + mid);
            b = (load4(p + len - 4) << 32) | load4(p + len - 4 - mid);
        } else if (len > 0) {
            a = load_small(p, len);
            b = 0;
        } else {
            a = 0;
            b = 0;
        }
    } else if (len <= 32) {
        // One 16-byte round, then the last 16 bytes: the loop below, unrolled.
        seed = fold_mul(load8(p) ^ kP1, load8(p + 8) ^ seed);
        a = load8(p + len - 16);
        b = load8(p + len - 8);
    } else {
        std::size_t left = len;
        if (left > 48) {
            // Three independent lanes keep the multipliers busy on long keys.
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
        // The last 16 bytes of the key (may overlap bytes already mixed).
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

}  // namespace sluice

namespace sluice {

// Partition from the high 32 bits (multiply-shift range reduction); tables
// probe with the low bits, so the two never share entropy.
inline uint32_t partition_of(uint64_t hash, uint32_t partitions) noexcept {
    return static_cast<uint32_t>(((hash >> 32) * partitions) >> 32);
}

}  // namespace sluice
