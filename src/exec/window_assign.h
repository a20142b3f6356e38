// Window assignment (tumbling: one window per record; sliding: several) and
// the lateness rule. Sessions depend on the records before them: session_store.h.
#pragma once

#include <cstdint>

#include "sluice/plan.h"

namespace sluice {

struct WindowBounds {
    int64_t start = 0;
    int64_t end = 0;  // exclusive
};

inline int64_t saturating_add(int64_t a, int64_t b) noexcept {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

// Floor division for b > 0 (negative timestamps round down, not toward zero).
inline int64_t floor_div(int64_t a, int64_t b) noexcept {
    const int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

// TUMBLING(size): [k*size, (k+1)*size) aligned to the epoch.
inline WindowBounds tumbling_window(int64_t ts, int64_t size) noexcept {
    int64_t start;
    if (__builtin_mul_overflow(floor_div(ts, size), size, &start)) start = INT64_MIN;
    return WindowBounds{start, saturating_add(start, size)};
}

// SLIDING(size, advance): the windows [k*advance, k*advance + size) that
// contain ts are those with k in [first, last]; k*advance is their start.
struct SlidingRange {
    int64_t first = 0;
    int64_t last = 0;
};

inline SlidingRange sliding_windows(int64_t ts, int64_t size, int64_t advance) noexcept {
    // ts - size can only overflow near INT64_MIN, where one window is all there is.
    int64_t lo;
    if (__builtin_sub_overflow(ts, size, &lo)) return SlidingRange{floor_div(ts, advance), floor_div(ts, advance)};
    return SlidingRange{floor_div(lo, advance) + 1, floor_div(ts, advance)};
}

// The window of a sliding query that starts at k*advance.
inline WindowBounds sliding_window(int64_t k, int64_t size, int64_t advance) noexcept {
    int64_t start;
    if (__builtin_mul_overflow(k, advance, &start)) start = k < 0 ? INT64_MIN : INT64_MAX - size;
    return WindowBounds{start, saturating_add(start, size)};
}

// SPEC §4: a window has closed for a record once end + allowed_lateness <= watermark.
inline bool window_closed_for(int64_t end, int64_t allowed_lateness, int64_t watermark) noexcept {
    return saturating_add(end, allowed_lateness) <= watermark;
}

}  // namespace sluice
