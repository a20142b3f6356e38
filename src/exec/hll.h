// APPROX_COUNT_DISTINCT: a HyperLogLog sketch (precision 15) that starts as an
// exact set of value hashes and turns into 32768 one-byte registers once the
// set passes kHllSparseMax, so groups with few distinct values stay small.
// All memory is arena memory; the state in the block is 16 plain bytes.
//
// The sketch is a pure function of the set of hashes it has seen: updates,
// merges and deserialization in any order give the same sparse set or the same
// registers, so results do not depend on the shard count.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "agg_distinct.h"
#include "sluice/arena.h"
#include "sluice/hash.h"
#include "sluice/value.h"

namespace sluice::agg {

inline constexpr uint32_t kHllPrecision = 15;
inline constexpr uint32_t kHllRegisters = 1u << kHllPrecision;
inline constexpr uint32_t kHllMaxRank = 64 - kHllPrecision + 1;  // all 50 low bits zero
// Exact phase: at most this many hashes (a 512-slot table at load 3/4, 4 KiB).
inline constexpr uint32_t kHllSparseMax = 384;
inline constexpr uint32_t kHllFirstSlots = 4;
inline constexpr uint32_t kHllDenseCap = UINT32_MAX;  // HllState::cap of a dense sketch
// Not canonical_hash's seed: the two aggregates stay independent.
inline constexpr uint64_t kHllSeed = 0x2545f4914f6cdd1dULL;

// Registers plus a histogram of their values, kept up to date so an estimate
// reads 51 counters instead of 32768 registers (EMIT CHANGES finalizes often).
struct HllDense {
    uint8_t reg[kHllRegisters];
    uint16_t hist[kHllMaxRank + 1];
};

struct HllState {
    void* mem;      // nullptr: empty; sparse: uint64_t slots[cap] (0 = free); dense: HllDense
    uint32_t size;  // sparse: hashes held
    uint32_t cap;   // sparse: slots, a power of two; kHllDenseCap: dense
};
static_assert(std::is_trivially_copyable_v<HllState>);

inline void hll_init(HllState& s) noexcept {
    s.mem = nullptr;
    s.size = 0;
    s.cap = 0;
}

inline bool hll_is_dense(const HllState& s) noexcept { return s.cap == kHllDenseCap; }

// The registers of a dense sketch, else nullptr.
inline const uint8_t* hll_registers(const HllState& s) noexcept {
    return hll_is_dense(s) ? static_cast<const HllDense*>(s.mem)->reg : nullptr;
}

// The hash of a non-NULL value's canonical bytes (1 and 1.0 hash alike).
// 0 marks a free slot, so a zero hash is folded into 1.
inline uint64_t hll_hash(const CanonicalValue& c) noexcept {
    const uint64_t h = hash64(c.bytes, c.len, kHllSeed + c.tag);
    return h != 0 ? h : 1;
}

// Register index from the top bits, rank (1 + leading zeros) from the rest.
inline void hll_dense_add(HllDense& d, uint64_t h) noexcept {
    const auto idx = static_cast<uint32_t>(h >> (64 - kHllPrecision));
    // The marker bit caps the rank at kHllMaxRank when the low bits are zero.
    const uint64_t w = (h << kHllPrecision) | (uint64_t{1} << (kHllPrecision - 1));
    const auto r = static_cast<uint8_t>(__builtin_clzll(w) + 1);
    uint8_t& reg = d.reg[idx];
    if (r > reg) {
        --d.hist[reg];
        ++d.hist[r];
        reg = r;
    }
}

// Growth, the first table and the switch to registers.
void hll_add_slow(HllState& s, uint64_t h, Arena& arena) noexcept;

// h: from hll_hash (never 0).
inline void hll_add_hash(HllState& s, uint64_t h, Arena& arena) noexcept {
    if (hll_is_dense(s)) {
        hll_dense_add(*static_cast<HllDense*>(s.mem), h);
        return;
    }
    if (s.cap != 0) {
        auto* slots = static_cast<uint64_t*>(s.mem);
        const uint32_t mask = s.cap - 1;
        uint32_t i = static_cast<uint32_t>(h) & mask;
        for (; slots[i] != 0; i = (i + 1) & mask)
            if (slots[i] == h) return;
        if ((s.size + 1) * 4 <= s.cap * 3) {
            slots[i] = h;
            ++s.size;
            return;
        }
    }
    hll_add_slow(s, h, arena);
}

// NULL is skipped; every other value counts.
inline void hll_add(HllState& s, const Value& v, Arena& arena) noexcept {
    CanonicalValue c;
    if (canonical_value(v, c)) hll_add_hash(s, hll_hash(c), arena);
}

// Union: the result is the sketch of both inputs' values together. Nothing
// of `from` is shared (its arena may be reset right after).
void hll_merge(HllState& into, const HllState& from, Arena& arena) noexcept;

// Exact while sparse, else Ertl's improved raw estimator, rounded.
int64_t hll_estimate(const HllState& s) noexcept;
// The estimator over a register histogram (hist[k]: registers of value k).
double hll_estimate_histogram(const uint16_t* hist) noexcept;

// u16 tag: 0..kHllSparseMax = that many hashes follow, ascending (8 bytes
// each); kHllDenseTag = 12288 bytes of registers packed 6 bits each follow.
inline constexpr uint16_t kHllDenseTag = 0xffff;
void hll_serialize(const HllState& s, std::vector<uint8_t>& out) noexcept;
// Reads into an uninitialised state, which stays valid (maybe empty) on
// failure: truncated input, a register out of range or hashes out of order.
[[nodiscard]] bool hll_deserialize(HllState& s, const uint8_t*& p, const uint8_t* end, Arena& arena) noexcept;

}  // namespace sluice::agg
