// MIN/MAX over the last n rows in O(1) amortized per row: a deque of the
// rows that can still become the extreme, oldest first, each value strictly
// better than every older one left in it. A new value drops the values it
// beats from the back; the front leaves once it falls out of the buffer. A
// tie keeps the older value, so the result is the first extreme in arrival
// order, as the MIN/MAX aggregates give it.
//
// The deque is a circular array of slots (analytic_slots.h) that grows by
// doubling up to n (it never holds more than the buffer's rows); a slot keeps
// its string storage when its value leaves, for the next value pushed there.
#pragma once

#include <cstdint>

#include "analytic_slots.h"
#include "eval_util.h"
#include "sluice/arena.h"
#include "sluice/value.h"

namespace sluice::rows {

struct SlotDeque {
    Slot* e;        // cap slots
    uint32_t cap;
    uint32_t head;  // physical index of the front
    uint32_t size;
};

// Room for one more entry: size == cap < limit. Out of line (cold).
void deque_grow(SlotDeque& d, uint32_t limit, BlockPool& pool) noexcept;

inline Slot& deque_at(SlotDeque& d, uint32_t i) noexcept {
    uint32_t p = d.head + i;
    if (p >= d.cap) p -= d.cap;
    return d.e[p];
}

// Total order of two values of one class (both numbers, or both strings):
// numbers by value, an Int and a Double exactly, NaN after every number;
// strings bytewise.
inline int order_values(const Value& a, const Value& b) noexcept {
    if (a.type == Type::Int && b.type == Type::Int) return (a.i > b.i) - (a.i < b.i);
    if (a.type == Type::Double && b.type == Type::Double) {
        if (a.d < b.d) return -1;
        if (a.d > b.d) return 1;
        if (a.d == b.d) return 0;
        return static_cast<int>(__builtin_isnan(a.d)) - static_cast<int>(__builtin_isnan(b.d));
    }
    detail::Cmp c;
    if (a.type == Type::String)
        c = detail::compare_strings(a, b);
    else if (a.type == Type::Int)
        c = detail::compare_int_double(a.i, b.d);
    else
        c = detail::flip(detail::compare_int_double(b.i, a.d));
    switch (c) {
        case detail::Cmp::Less: return -1;
        case detail::Cmp::Greater: return 1;
        case detail::Cmp::Unordered: return a.type == Type::Double ? 1 : -1;  // the NaN is the larger
        default: return 0;
    }
}

// Drops the entries that are no longer among the last n rows once row `row`
// is the current one. Rows are kept modulo 2^32: every entry is at most n
// (< 2^32) rows behind the current row.
inline void deque_expire(SlotDeque& d, uint32_t row, uint32_t n) noexcept {
    while (d.size != 0 && static_cast<uint32_t>(row - d.e[d.head].row) >= n) {
        d.head = d.head + 1 == d.cap ? 0 : d.head + 1;
        --d.size;
    }
}

// Appends v (of the deque's class) for row `row`, after dropping the entries it beats.
template <bool IsMin>
inline void deque_push(SlotDeque& d, const Value& v, uint32_t row, uint32_t n, Arena& arena,
                       BlockPool& pool) noexcept {
    while (d.size != 0) {
        const int c = order_values(v, deque_at(d, d.size - 1).v);
        if (IsMin ? c >= 0 : c <= 0) break;
        --d.size;
    }
    if (d.size == d.cap) [[unlikely]]
        deque_grow(d, n, pool);
    Slot& s = deque_at(d, d.size);
    slot_store(s, v, arena);
    s.row = row;
    ++d.size;
}

}  // namespace sluice::rows
