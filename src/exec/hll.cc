// HyperLogLog slow paths: table growth, the switch to registers, union,
// the estimator and the wire form.
#include "hll.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sluice::agg {

namespace {

constexpr uint32_t kPackedBytes = kHllRegisters / 4 * 3;  // 4 registers of 6 bits in 3 bytes

uint64_t* new_slots(uint32_t cap, Arena& arena) noexcept {
    auto* slots = static_cast<uint64_t*>(arena.alloc(sizeof(uint64_t) * cap, alignof(uint64_t)));
    std::memset(slots, 0, sizeof(uint64_t) * cap);
    return slots;
}

// h must not be in the table and a slot must be free.
void slot_insert(uint64_t* slots, uint32_t cap, uint64_t h) noexcept {
    const uint32_t mask = cap - 1;
    uint32_t i = static_cast<uint32_t>(h) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = h;
}

HllDense* new_dense(Arena& arena) noexcept {
    auto* d = static_cast<HllDense*>(arena.alloc(sizeof(HllDense), 64));
    std::memset(d, 0, sizeof(HllDense));
    d->hist[0] = kHllRegisters;
    return d;
}

void recount(HllDense& d) noexcept {
    std::memset(d.hist, 0, sizeof d.hist);
    for (uint32_t i = 0; i < kHllRegisters; ++i) ++d.hist[d.reg[i]];
}

// Folds a sparse table into registers.
void fold_sparse(HllDense& d, const HllState& s) noexcept {
    const auto* slots = static_cast<const uint64_t*>(s.mem);
    for (uint32_t i = 0; i < s.cap; ++i)
        if (slots[i] != 0) hll_dense_add(d, slots[i]);
}

// A sparse (or empty) state becomes dense in the same arena.
void densify(HllState& s, Arena& arena) noexcept {
    HllDense* d = new_dense(arena);
    if (s.cap != 0) fold_sparse(*d, s);
    s.mem = d;
    s.size = 0;
    s.cap = kHllDenseCap;
}

// The table size that n hashes reach by insertion (load at most 3/4).
uint32_t slots_for(uint32_t n) noexcept {
    uint32_t cap = kHllFirstSlots;
    while (n * 4 > cap * 3) cap *= 2;
    return cap;
}

// Ertl (2017), "New cardinality estimation algorithms for HyperLogLog sketches".
double sigma(double x) noexcept {
    if (x == 1.0) return INFINITY;
    double y = 1.0;
    double z = x;
    double prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

double tau(double x) noexcept {
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0;
    double z = 1.0 - x;
    double prev;
    do {
        x = std::sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != prev);
    return z / 3.0;
}

}  // namespace

void hll_add_slow(HllState& s, uint64_t h, Arena& arena) noexcept {
    if (s.cap == 0) {
        s.mem = new_slots(kHllFirstSlots, arena);
        s.cap = kHllFirstSlots;
    } else if (s.size >= kHllSparseMax) {
        densify(s, arena);
        hll_dense_add(*static_cast<HllDense*>(s.mem), h);
        return;
    } else {
        const uint32_t cap = s.cap * 2;
        uint64_t* slots = new_slots(cap, arena);
        const auto* old = static_cast<const uint64_t*>(s.mem);
        for (uint32_t i = 0; i < s.cap; ++i)
            if (old[i] != 0) slot_insert(slots, cap, old[i]);
        s.mem = slots;
        s.cap = cap;
    }
    hll_add_hash(s, h, arena);  // h is new: the probe finds a free slot under the load limit
}

void hll_merge(HllState& into, const HllState& from, Arena& arena) noexcept {
    if (from.cap == 0) return;
    if (!hll_is_dense(from)) {
        const auto* slots = static_cast<const uint64_t*>(from.mem);
        for (uint32_t i = 0; i < from.cap; ++i)
            if (slots[i] != 0) hll_add_hash(into, slots[i], arena);
        return;
    }
    const auto& f = *static_cast<const HllDense*>(from.mem);
    if (!hll_is_dense(into)) {
        HllDense* d = new_dense(arena);
        std::memcpy(d->reg, f.reg, kHllRegisters);
        std::memcpy(d->hist, f.hist, sizeof d->hist);
        if (into.cap != 0) fold_sparse(*d, into);
        into.mem = d;
        into.size = 0;
        into.cap = kHllDenseCap;
        return;
    }
    auto& d = *static_cast<HllDense*>(into.mem);
    for (uint32_t i = 0; i < kHllRegisters; ++i) d.reg[i] = std::max(d.reg[i], f.reg[i]);
    recount(d);
}

double hll_estimate_histogram(const uint16_t* hist) noexcept {
    constexpr double m = kHllRegisters;
    constexpr uint32_t q = 64 - kHllPrecision;
    double z = m * tau(1.0 - hist[q + 1] / m);
    for (uint32_t k = q; k >= 1; --k) z = 0.5 * (z + hist[k]);
    z += m * sigma(hist[0] / m);
    return m * m / (2.0 * std::log(2.0) * z);  // alpha_inf * m^2 / z, alpha_inf = 1 / (2 ln 2)
}

int64_t hll_estimate(const HllState& s) noexcept {
    if (!hll_is_dense(s)) return s.size;
    const double e = hll_estimate_histogram(static_cast<const HllDense*>(s.mem)->hist);
    // Saturated registers (only a crafted wire form has them) estimate infinity.
    if (!(e < 9.2e18)) return INT64_MAX;
    return std::llround(e);
}

void hll_serialize(const HllState& s, std::vector<uint8_t>& out) noexcept {
    const std::size_t at = out.size();
    if (hll_is_dense(s)) {
        out.resize(at + 2 + kPackedBytes);
        uint8_t* p = out.data() + at;
        const uint16_t tag = kHllDenseTag;
        std::memcpy(p, &tag, 2);
        p += 2;
        const uint8_t* r = static_cast<const HllDense*>(s.mem)->reg;
        for (uint32_t i = 0; i < kHllRegisters; i += 4, p += 3) {
            const uint32_t v = r[i] | uint32_t{r[i + 1]} << 6 | uint32_t{r[i + 2]} << 12 | uint32_t{r[i + 3]} << 18;
            p[0] = static_cast<uint8_t>(v);
            p[1] = static_cast<uint8_t>(v >> 8);
            p[2] = static_cast<uint8_t>(v >> 16);
        }
        return;
    }
    // Ascending: equal sets give equal bytes.
    uint64_t sorted[kHllSparseMax];
    uint32_t n = 0;
    const auto* slots = static_cast<const uint64_t*>(s.mem);
    for (uint32_t i = 0; i < s.cap; ++i)
        if (slots[i] != 0) sorted[n++] = slots[i];
    std::sort(sorted, sorted + n);
    out.resize(at + 2 + std::size_t{8} * n);
    const auto tag = static_cast<uint16_t>(n);
    std::memcpy(out.data() + at, &tag, 2);
    if (n != 0) std::memcpy(out.data() + at + 2, sorted, std::size_t{8} * n);
}

bool hll_deserialize(HllState& s, const uint8_t*& p, const uint8_t* end, Arena& arena) noexcept {
    hll_init(s);
    if (end - p < 2) return false;
    uint16_t tag;
    std::memcpy(&tag, p, 2);
    const uint8_t* b = p + 2;
    if (tag == kHllDenseTag) {
        if (end - b < static_cast<std::ptrdiff_t>(kPackedBytes)) return false;
        HllDense* d = new_dense(arena);
        for (uint32_t i = 0; i < kHllRegisters; i += 4, b += 3) {
            const uint32_t v = b[0] | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16;
            for (uint32_t k = 0; k < 4; ++k) {
                const auto r = static_cast<uint8_t>((v >> (6 * k)) & 63);
                if (r > kHllMaxRank) return false;
                d->reg[i + k] = r;
            }
        }
        recount(*d);
        s.mem = d;
        s.cap = kHllDenseCap;
        p = b;
        return true;
    }
    if (tag > kHllSparseMax) return false;
    const uint32_t n = tag;
    if (static_cast<std::size_t>(end - b) < std::size_t{8} * n) return false;
    if (n == 0) {
        p = b;
        return true;
    }
    const uint32_t cap = slots_for(n);
    uint64_t* slots = new_slots(cap, arena);
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; ++i, b += 8) {
        uint64_t h;
        std::memcpy(&h, b, 8);
        if (h <= prev) return false;  // zero, repeated or out of order
        slot_insert(slots, cap, h);
        prev = h;
    }
    s.mem = slots;
    s.size = n;
    s.cap = cap;
    p = b;
    return true;
}

}  // namespace sluice::agg
