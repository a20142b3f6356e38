// The exact set behind COUNT(DISTINCT x): canonical bytes of each value (an
// integral DOUBLE counts as the BIGINT of the same value, so 1 and 1.0 are one
// value), linear probing over arena memory. The set only grows; its memory goes
// back with the owning table's arena when the window closes.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "agg_states.h"
#include "sluice/arena.h"
#include "sluice/base.h"
#include "sluice/value.h"

namespace sluice::agg {

enum : uint8_t { kTagBool = 1, kTagInt = 2, kTagDouble = 3, kTagString = 4 };

// A value's canonical form: tag plus payload bytes (numbers: 8 native bytes).
struct CanonicalValue {
    uint8_t tag = 0;
    const uint8_t* bytes = nullptr;
    uint32_t len = 0;
    uint8_t buf[8];
};

// False for NULL. Strings point at the value's own bytes.
inline bool canonical_value(const Value& v, CanonicalValue& out) noexcept {
    switch (v.type) {
        case Type::Null:
            return false;
        case Type::Bool:
            out.tag = kTagBool;
            out.buf[0] = v.b ? 1 : 0;
            out.bytes = out.buf;
            out.len = 1;
            return true;
        case Type::Int:
            out.tag = kTagInt;
            std::memcpy(out.buf, &v.i, 8);
            out.bytes = out.buf;
            out.len = 8;
            return true;
        case Type::Double: {
            double d = v.d;
            if (d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
                const auto i = static_cast<int64_t>(d);  // also folds -0.0 into 0
                out.tag = kTagInt;
                std::memcpy(out.buf, &i, 8);
            } else {
                if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
                out.tag = kTagDouble;
                std::memcpy(out.buf, &d, 8);
            }
            out.bytes = out.buf;
            out.len = 8;
            return true;
        }
        case Type::String:
            out.tag = kTagString;
            out.bytes = reinterpret_cast<const uint8_t*>(v.s);
            out.len = v.len;
            return true;
    }
    return false;
}

inline uint64_t canonical_hash(uint8_t tag, const uint8_t* bytes, uint32_t len) noexcept {
    return hash64(bytes, len, kHashSeed + tag);
}

inline void distinct_init(DistinctState& s) noexcept {
    s.slots = nullptr;
    s.size = 0;
    s.cap = 0;
}

namespace detail {

inline DistinctEntry* distinct_probe(DistinctEntry* slots, uint32_t cap, uint64_t hash, uint8_t tag,
                                     const uint8_t* bytes, uint32_t len) noexcept {
    const uint32_t mask = cap - 1;
    // The low bits pick a slot; the top bits route between shards (base.h).
    for (uint32_t i = static_cast<uint32_t>(hash) & mask;; i = (i + 1) & mask) {
        DistinctEntry& e = slots[i];
        if (e.bytes == nullptr) return &e;
        if (e.hash == hash && e.tag == tag && e.len == len && std::memcmp(e.bytes, bytes, len) == 0) return &e;
    }
}

inline void distinct_grow(DistinctState& s, Arena& arena) noexcept {
    const uint32_t cap = s.cap == 0 ? 8 : s.cap * 2;
    auto* slots = static_cast<DistinctEntry*>(arena.alloc(sizeof(DistinctEntry) * cap, alignof(DistinctEntry)));
    for (uint32_t i = 0; i < cap; ++i) slots[i].bytes = nullptr;
    for (uint32_t i = 0; i < s.cap; ++i) {
        const DistinctEntry& e = s.slots[i];
        if (e.bytes != nullptr) *distinct_probe(slots, cap, e.hash, e.tag, e.bytes, e.len) = e;
    }
    s.slots = slots;
    s.cap = cap;
}

}  // namespace detail

// Adds one canonical value (bytes are copied into the arena when new).
inline void distinct_insert(DistinctState& s, uint64_t hash, uint8_t tag, const uint8_t* bytes, uint32_t len,
                            Arena& arena) noexcept {
    if ((s.size + 1) * 4 > s.cap * 3) detail::distinct_grow(s, arena);  // max load 3/4
    DistinctEntry* e = detail::distinct_probe(s.slots, s.cap, hash, tag, bytes, len);
    if (e->bytes != nullptr) return;
    auto* copy = static_cast<uint8_t*>(arena.alloc(len == 0 ? 1 : len, 1));
    if (len != 0) std::memcpy(copy, bytes, len);
    *e = DistinctEntry{hash, copy, len, tag};
    ++s.size;
}

inline void distinct_add(DistinctState& s, const Value& v, Arena& arena) noexcept {
    CanonicalValue c;
    if (!canonical_value(v, c)) return;
    distinct_insert(s, canonical_hash(c.tag, c.bytes, c.len), c.tag, c.bytes, c.len, arena);
}

}  // namespace sluice::agg
