// Per-kind accumulator states as they sit inside a group's block. Every state
// is trivially copyable and holds no pointer into itself, so a group table may
// move blocks with memcpy when it grows; out-of-line bytes live in the arena of
// the table that owns the block.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "sluice/arena.h"
#include "sluice/value.h"

namespace sluice::agg {

// A string copy that reuses its storage: up to kInline bytes in place, longer
// ones in an arena buffer that is kept and reused while later values fit, so a
// changing MIN/MAX/LAST grows memory only with the longest value it has seen.
struct StrBuf {
    static constexpr uint32_t kInline = 16;
    char* heap;  // nullptr: the value is in inl
    uint32_t len;
    uint32_t cap;  // capacity of heap
    char inl[kInline];

    void init() noexcept {
        heap = nullptr;
        len = 0;
        cap = 0;
    }
    const char* data() const noexcept { return heap != nullptr ? heap : inl; }
    void set(const char* p, uint32_t n, Arena& arena) noexcept {
        const uint32_t room = heap != nullptr ? cap : kInline;
        if (n > room) {
            const uint64_t doubled = uint64_t{room} * 2;
            const uint32_t want = doubled > n && doubled <= UINT32_MAX ? static_cast<uint32_t>(doubled) : n;
            heap = static_cast<char*>(arena.alloc(want, 1));
            cap = want;
        }
        if (n != 0) std::memmove(heap != nullptr ? heap : inl, p, n);
        len = n;
    }
};

struct CountState {
    int64_t n;
};

// SUM stays exact in int64 while every input is an integer and no overflow
// happened; doubles (and ints after an overflow) accumulate in dsum with a
// running compensation (Neumaier), so the sum hardly depends on the order of
// the additions: partial sums merged across shards give the 1-shard result.
struct SumState {
    int64_t isum;
    double dsum;
    double dcomp;  // the low-order bits dsum lost
    uint8_t has_int;
    uint8_t has_double;
    uint8_t overflow;  // the integer part was folded into dsum for good
};

struct AvgState {
    SumState sum;
    int64_t n;
};

enum : uint8_t { kClassNone = 0, kClassNumber = 1, kClassString = 2 };

// MIN/MAX: the first non-NULL value's class (number or string) is kept.
struct MinMaxState {
    uint8_t cls;
    Value num;
    StrBuf str;
};

// Welford's running mean and sum of squared deviations.
struct MomentsState {
    int64_t n;
    double mean;
    double m2;
};

// FIRST/LAST: any non-NULL value with the arrival sequence it came with.
struct PickState {
    uint8_t has;
    uint64_t seq;
    Value val;  // strings: val.type == String, bytes in str
    StrBuf str;
};

// COUNT(DISTINCT): open-addressing set of canonical value bytes (arena memory).
struct DistinctEntry {
    uint64_t hash;
    const uint8_t* bytes;  // nullptr: empty slot
    uint32_t len;
    uint8_t tag;
};

struct DistinctState {
    DistinctEntry* slots;
    uint32_t size;
    uint32_t cap;  // power of two, 0 before the first value
};

// Stores into a Value member by member: GCC assembles a returned Value in
// two registers with masks, which costs more than the work it carries.
inline void put_null(Value& o) noexcept {
    o.i = 0;
    o.len = 0;
    o.type = Type::Null;
}
inline void put_int(Value& o, int64_t v) noexcept {
    o.i = v;
    o.len = 0;
    o.type = Type::Int;
}
inline void put_double(Value& o, double v) noexcept {
    o.d = v;
    o.len = 0;
    o.type = Type::Double;
}

// dsum += x, keeping what rounding dropped in dcomp.
inline void add_double(SumState& s, double x) noexcept {
    const double t = s.dsum + x;
    if (__builtin_fabs(s.dsum) >= __builtin_fabs(x))
        s.dcomp += (s.dsum - t) + x;
    else
        s.dcomp += (x - t) + s.dsum;
    s.dsum = t;
}

// Values of the common states (finalize's fast path and accumulators.cc).
inline double sum_as_double(const SumState& s) noexcept {
    SumState t = s;
    add_double(t, static_cast<double>(s.isum));
    return t.dsum + t.dcomp;
}

inline Value sum_value(const SumState& s) noexcept {
    if (!s.has_int && !s.has_double) return Value::null();
    if (s.has_double || s.overflow) return Value::of_double(sum_as_double(s));
    return Value::of_int(s.isum);
}

inline Value avg_value(const AvgState& s) noexcept {
    if (s.n == 0) return Value::null();
    return Value::of_double(sum_as_double(s.sum) / static_cast<double>(s.n));
}

inline Value minmax_value(const MinMaxState& s) noexcept {
    if (s.cls == kClassNumber) return s.num;
    if (s.cls == kClassString) return Value::of_string(s.str.data(), s.str.len);
    return Value::null();
}

static_assert(std::is_trivially_copyable_v<MinMaxState>);
static_assert(std::is_trivially_copyable_v<PickState>);
static_assert(std::is_trivially_copyable_v<DistinctState>);

}  // namespace sluice::agg
