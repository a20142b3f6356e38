// ROWS windows (SPEC §7): what each analytic function keeps per partition and
// its step for one row. The buffer of a partition is its last n rows
// including the current one. States are zero-initialised (a new partition's
// block is zeroed) and trivially copyable (see analytic_slots.h).
//
//  ROW_NUMBER   the partition's row count (kept by the partition, no state)
//  LAST_VALUE   the current row's value (no state)
//  LAG(x, k)    a ring of k + 1 slots: the current row and the k before it
//  FIRST_VALUE  a ring of n slots
//  COUNT        a ring of n non-NULL flags and their count
//  SUM, AVG     a ring of n numbers (anything else is NULL there) and running sums
//  MIN, MAX     a monotonic deque of at most n slots (monotonic_deque.h)
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "agg_states.h"
#include "analytic_slots.h"
#include "monotonic_deque.h"
#include "sluice/value.h"

namespace sluice::rows {

__extension__ using I128 = __int128;

using agg::put_double;
using agg::put_int;
using agg::put_null;

// ---------------------------------------------------------------- COUNT

struct CountWindow {
    Ring ring;  // uint8_t per row: 1 when the value was not NULL
    uint64_t n;
};

// ---------------------------------------------------------------- SUM, AVG

// Integers sum exactly in 128 bits (n < 2^32 values of 64 bits cannot
// overflow it), so removing a value is exact too. Finite doubles sum with
// Neumaier's compensation, which also covers the subtraction of a value
// leaving the buffer; infinities and NaNs are counted instead of summed, so
// one leaving restores the finite sum. When no double is left in the buffer
// the double sum restarts from zero, dropping any residue.
struct SumWindow {
    Ring ring;  // Value per row: Int, Double or Null
    uint64_t ilo;  // the integers' sum, low and high 64 bits (the block is only 8-byte aligned)
    int64_t ihi;
    double dsum;
    double dcomp;  // what dsum's roundings dropped
    uint32_t nint;
    uint32_t ndouble;  // finite or not
    uint32_t npinf;
    uint32_t nninf;
    uint32_t nnan;
    uint8_t overflowed;  // the finite doubles' sum left the double range: recomputed per row until it is back
};

inline I128 sum_int(const SumWindow& w) noexcept {
    __extension__ using U128 = unsigned __int128;
    return static_cast<I128>((static_cast<U128>(static_cast<uint64_t>(w.ihi)) << 64) | w.ilo);
}
inline void set_sum_int(SumWindow& w, I128 v) noexcept {
    w.ilo = static_cast<uint64_t>(v);
    w.ihi = static_cast<int64_t>(v >> 64);
}

// s += x, keeping what rounding dropped in c.
inline void neumaier(double& s, double& c, double x) noexcept {
    const double t = s + x;
    if (__builtin_fabs(s) >= __builtin_fabs(x))
        c += (s - t) + x;
    else
        c += (x - t) + s;
    s = t;
}

// Recomputes the finite doubles' sum from the ring (after an overflow). Out of line.
void sum_rebuild(SumWindow& w) noexcept;

inline void sum_add_double(SumWindow& w, double x, int sign) noexcept {
    if (std::isfinite(x)) [[likely]] {
        if (w.overflowed) [[unlikely]]
            return;  // the ring is summed again once the row is in it
        neumaier(w.dsum, w.dcomp, sign > 0 ? x : -x);
        if (!std::isfinite(w.dsum) || !std::isfinite(w.dcomp)) [[unlikely]]
            w.overflowed = 1;
        return;
    }
    const uint32_t d = sign > 0 ? 1u : static_cast<uint32_t>(-1);
    if (std::isnan(x))
        w.nnan += d;
    else if (x > 0)
        w.npinf += d;
    else
        w.nninf += d;
}

// The argument of the current row; writes what the ring keeps for it into e.
inline void sum_insert(SumWindow& w, const Value& v, Value& e, uint64_t& type_mismatch) noexcept {
    switch (v.type) {
        case Type::Int:
            set_sum_int(w, sum_int(w) + v.i);
            ++w.nint;
            put_int(e, v.i);
            return;
        case Type::Double:
            ++w.ndouble;
            sum_add_double(w, v.d, 1);
            put_double(e, v.d);
            return;
        case Type::Null: break;
        default: ++type_mismatch; break;
    }
    put_null(e);
}

// A value leaving the buffer (as the ring kept it).
inline void sum_remove(SumWindow& w, const Value& e) noexcept {
    if (e.type == Type::Int) {
        set_sum_int(w, sum_int(w) - e.i);
        --w.nint;
    } else if (e.type == Type::Double) {
        if (--w.ndouble == 0) {
            w.dsum = 0;
            w.dcomp = 0;
            w.npinf = w.nninf = w.nnan = 0;
            w.overflowed = 0;
            return;
        }
        sum_add_double(w, e.d, -1);
    }
}

// The buffer's sum as a double (numbers only).
inline double sum_as_double(const SumWindow& w) noexcept {
    if (w.nnan != 0 || (w.npinf != 0 && w.nninf != 0)) return std::numeric_limits<double>::quiet_NaN();
    if (w.npinf != 0) return std::numeric_limits<double>::infinity();
    if (w.nninf != 0) return -std::numeric_limits<double>::infinity();
    double s = w.dsum;
    double c = w.dcomp;
    const I128 i = sum_int(w);
    if (i != 0) neumaier(s, c, static_cast<double>(i));
    if (!std::isfinite(s) || !std::isfinite(c)) return s;
    return s + c;
}

// SUM: an integer while only integers are in the buffer and their sum fits
// BIGINT, else a DOUBLE; NULL when the buffer holds no number.
inline void sum_value(const SumWindow& w, Value& o) noexcept {
    if (w.ndouble == 0) {
        if (w.nint == 0) return put_null(o);
        const I128 i = sum_int(w);
        if (i >= INT64_MIN && i <= INT64_MAX) return put_int(o, static_cast<int64_t>(i));
    }
    put_double(o, sum_as_double(w));
}

inline void avg_value(const SumWindow& w, Value& o) noexcept {
    const uint64_t n = uint64_t{w.nint} + w.ndouble;
    if (n == 0) return put_null(o);
    put_double(o, sum_as_double(w) / static_cast<double>(n));
}

// ---------------------------------------------------------------- MIN, MAX

enum : uint8_t { kClassNone = 0, kClassNumber = 1, kClassString = 2 };

// Numbers and strings do not compare: the first non-NULL value that arrives
// while the buffer holds no accepted value fixes the class; a value of the
// other class (or a BOOLEAN) is NULL for the function and counted.
struct MinMaxWindow {
    SlotDeque dq;
    uint8_t cls;
};

template <bool IsMin>
inline void minmax_row(MinMaxWindow& w, const Value& v, uint32_t row, uint32_t n, Arena& arena, BlockPool& pool,
                       uint64_t& type_mismatch, Value& o) noexcept {
    deque_expire(w.dq, row, n);
    if (!v.is_null()) {
        const uint8_t cls = v.is_number() ? kClassNumber : v.type == Type::String ? kClassString : kClassNone;
        if (w.dq.size == 0) w.cls = cls;
        if (cls == kClassNone || cls != w.cls)
            ++type_mismatch;
        else
            deque_push<IsMin>(w.dq, v, row, n, arena, pool);
    }
    if (w.dq.size == 0) return put_null(o);
    std::memcpy(&o, &w.dq.e[w.dq.head].v, sizeof(Value));
}

}  // namespace sluice::rows
