// Accumulator kinds: init / update / merge / finalize / serialize, one switch
// each. SQL rules: NULL inputs are skipped; numeric aggregates skip (and
// count) non-numbers; empty SUM/AVG/MIN/MAX/variance are NULL, counts are 0.
#include "accumulators.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "agg_distinct.h"
#include "agg_states.h"
#include "hll.h"

namespace sluice {

using namespace agg;

namespace {

template <class T>
T& state_as(uint8_t* p) noexcept {
    return *reinterpret_cast<T*>(p);
}
template <class T>
const T& state_as(const uint8_t* p) noexcept {
    return *reinterpret_cast<const T*>(p);
}

// ---------------------------------------------------------------- serialization helpers

template <class T>
void put(std::vector<uint8_t>& out, const T& v) noexcept {
    const auto* b = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), b, b + sizeof(T));
}

void put_bytes(std::vector<uint8_t>& out, const void* p, uint32_t n) noexcept {
    put(out, n);
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

// A number or boolean as its type byte and 8 payload bytes.
void put_scalar(std::vector<uint8_t>& out, const Value& v) noexcept {
    put(out, static_cast<uint8_t>(v.type));
    uint8_t payload[8];
    std::memcpy(payload, &v, 8);  // the union sits at offset 0
    out.insert(out.end(), payload, payload + 8);
}

struct Reader {
    const uint8_t*& p;
    const uint8_t* end;
    bool ok = true;

    template <class T>
    T get() noexcept {
        T v{};
        if (static_cast<std::size_t>(end - p) < sizeof(T)) {
            ok = false;
            return v;
        }
        std::memcpy(&v, p, sizeof(T));
        p += sizeof(T);
        return v;
    }
    const uint8_t* bytes(uint32_t n) noexcept {
        if (static_cast<std::size_t>(end - p) < n) {
            ok = false;
            return nullptr;
        }
        const uint8_t* r = p;
        p += n;
        return r;
    }
    // A length-prefixed byte string; nullptr (and !ok) when truncated.
    const uint8_t* sized(uint32_t& n) noexcept {
        n = get<uint32_t>();
        return ok ? bytes(n) : nullptr;
    }
    Value scalar() noexcept {
        const auto t = get<uint8_t>();
        const uint8_t* b = bytes(8);
        Value v;
        if (!ok || t > static_cast<uint8_t>(Type::Double)) {
            ok = false;
            return v;
        }
        std::memcpy(&v.i, b, 8);
        v.type = static_cast<Type>(t);
        return v;
    }
};

// ---------------------------------------------------------------- SUM / AVG

void sum_init(SumState& s) noexcept { s = SumState{0, 0.0, 0.0, 0, 0, 0}; }

void sum_add_int(SumState& s, int64_t x) noexcept {
    s.has_int = 1;
    if (s.overflow) {
        add_double(s, static_cast<double>(x));
        return;
    }
    int64_t r;
    if (__builtin_add_overflow(s.isum, x, &r)) {
        add_double(s, static_cast<double>(s.isum));
        add_double(s, static_cast<double>(x));
        s.isum = 0;
        s.overflow = 1;
    } else {
        s.isum = r;
    }
}

// True when v was a number and went into the sum.
bool sum_add(SumState& s, const Value& v, uint64_t& type_mismatch) noexcept {
    if (v.type == Type::Int) {
        sum_add_int(s, v.i);
        return true;
    }
    if (v.type == Type::Double) {
        s.has_double = 1;
        add_double(s, v.d);
        return true;
    }
    if (!v.is_null()) ++type_mismatch;
    return false;
}

void sum_merge(SumState& into, const SumState& from) noexcept {
    into.has_int |= from.has_int;
    into.has_double |= from.has_double;
    add_double(into, from.dsum);
    into.dcomp += from.dcomp;
    int64_t r;
    if (into.overflow || from.overflow || __builtin_add_overflow(into.isum, from.isum, &r)) {
        add_double(into, static_cast<double>(into.isum));
        add_double(into, static_cast<double>(from.isum));
        into.isum = 0;
        into.overflow = 1;
    } else {
        into.isum = r;
    }
}

void sum_put(std::vector<uint8_t>& out, const SumState& s) noexcept {
    put(out, s.isum);
    put(out, s.dsum);
    put(out, s.dcomp);
    put(out, s.has_int);
    put(out, s.has_double);
    put(out, s.overflow);
}

void sum_get(Reader& r, SumState& s) noexcept {
    s.isum = r.get<int64_t>();
    s.dsum = r.get<double>();
    s.dcomp = r.get<double>();
    s.has_int = r.get<uint8_t>();
    s.has_double = r.get<uint8_t>();
    s.overflow = r.get<uint8_t>();
}

// ---------------------------------------------------------------- MIN / MAX

// Exact order of two numbers (an int and a double compare without rounding the int).
int compare_numbers(const Value& a, const Value& b) noexcept {
    if (a.type == Type::Int && b.type == Type::Int) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    if (a.type == Type::Double && b.type == Type::Double) return a.d < b.d ? -1 : (a.d > b.d ? 1 : 0);
    const bool a_int = a.type == Type::Int;
    const int64_t i = a_int ? a.i : b.i;
    const double d = a_int ? b.d : a.d;
    int c;  // order of i against d
    if (std::isnan(d)) {
        c = 0;  // unordered: never replaces
    } else if (d >= 9223372036854775808.0) {
        c = -1;
    } else if (d < -9223372036854775808.0) {
        c = 1;
    } else {
        const double t = std::trunc(d);
        const auto ti = static_cast<int64_t>(t);
        c = i < ti ? -1 : (i > ti ? 1 : (d > t ? -1 : (d < t ? 1 : 0)));
    }
    return a_int ? c : -c;
}

int compare_strings(const char* a, uint32_t alen, const char* b, uint32_t blen) noexcept {
    const int c = std::memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

uint8_t class_of(const Value& v) noexcept {
    if (v.is_number()) return kClassNumber;
    if (v.type == Type::String) return kClassString;
    return kClassNone;
}

void minmax_init(MinMaxState& s) noexcept {
    s.cls = kClassNone;
    s.num = Value::null();
    s.str.init();
}

// Offers a value of the state's class (or the first value); keeps the smaller (IsMin) or larger.
template <bool IsMin>
void minmax_offer(MinMaxState& s, uint8_t cls, const Value& num, const char* str, uint32_t len,
                  Arena& arena) noexcept {
    bool take = s.cls == kClassNone;
    if (!take) {
        const int c = cls == kClassNumber ? compare_numbers(num, s.num) : compare_strings(str, len, s.str.data(), s.str.len);
        take = IsMin ? c < 0 : c > 0;
    }
    if (!take) return;
    s.cls = cls;
    if (cls == kClassNumber)
        s.num = num;
    else
        s.str.set(str, len, arena);
}

template <bool IsMin>
void minmax_update(MinMaxState& s, const Value& v, Arena& arena, uint64_t& type_mismatch) noexcept {
    if (v.is_null()) return;
    const uint8_t cls = class_of(v);
    if (cls == kClassNone || (s.cls != kClassNone && cls != s.cls)) {
        ++type_mismatch;
        return;
    }
    minmax_offer<IsMin>(s, cls, v, v.s, v.len, arena);
}

// A merge keeps `into`'s class: the other class's value is dropped, as an update would.
template <bool IsMin>
void minmax_merge(MinMaxState& into, const MinMaxState& from, Arena& arena) noexcept {
    if (from.cls == kClassNone || (into.cls != kClassNone && into.cls != from.cls)) return;
    minmax_offer<IsMin>(into, from.cls, from.num, from.str.data(), from.str.len, arena);
}

void minmax_put(std::vector<uint8_t>& out, const MinMaxState& s) noexcept {
    put(out, s.cls);
    if (s.cls == kClassNumber) put_scalar(out, s.num);
    if (s.cls == kClassString) put_bytes(out, s.str.data(), s.str.len);
}

void minmax_get(Reader& r, MinMaxState& s, Arena& arena) noexcept {
    minmax_init(s);
    const auto cls = r.get<uint8_t>();
    if (cls == kClassNumber) {
        s.num = r.scalar();
        if (!s.num.is_number()) r.ok = false;
    } else if (cls == kClassString) {
        uint32_t n;
        const uint8_t* b = r.sized(n);
        if (b != nullptr) s.str.set(reinterpret_cast<const char*>(b), n, arena);
    } else if (cls != kClassNone) {
        r.ok = false;
    }
    if (r.ok) s.cls = cls;
}

// ---------------------------------------------------------------- variance family

void moments_add(MomentsState& s, double x) noexcept {
    ++s.n;
    const double delta = x - s.mean;
    s.mean += delta / static_cast<double>(s.n);
    s.m2 += delta * (x - s.mean);
}

// Chan et al.'s pairwise combination of two Welford states.
void moments_merge(MomentsState& into, const MomentsState& from) noexcept {
    if (from.n == 0) return;
    if (into.n == 0) {
        into = from;
        return;
    }
    const double na = static_cast<double>(into.n);
    const double nb = static_cast<double>(from.n);
    const double n = na + nb;
    const double delta = from.mean - into.mean;
    into.mean += delta * nb / n;
    into.m2 += from.m2 + delta * delta * na * nb / n;
    into.n += from.n;
}

Value moments_value(AggKind kind, const MomentsState& s) noexcept {
    const bool sample = kind == AggKind::StddevSamp || kind == AggKind::VarSamp;
    if (s.n == 0 || (sample && s.n < 2)) return Value::null();
    const double m2 = s.m2 > 0 ? s.m2 : 0.0;
    const double var = m2 / static_cast<double>(sample ? s.n - 1 : s.n);
    const bool stddev = kind == AggKind::StddevSamp || kind == AggKind::StddevPop;
    return Value::of_double(stddev ? std::sqrt(var) : var);
}

// ---------------------------------------------------------------- FIRST / LAST

void pick_init(PickState& s) noexcept {
    s.has = 0;
    s.seq = 0;
    s.val = Value::null();
    s.str.init();
}

// FIRST keeps the lowest sequence; LAST the highest (a tie goes to the later offer).
template <bool IsFirst>
bool pick_wins(const PickState& s, uint64_t seq) noexcept {
    if (!s.has) return true;
    return IsFirst ? seq < s.seq : seq >= s.seq;
}

// v: a non-NULL value; a string's bytes are copied into the state.
void pick_store(PickState& s, const Value& v, uint64_t seq, Arena& arena) noexcept {
    s.has = 1;
    s.seq = seq;
    s.val = v;
    if (v.type == Type::String) {
        s.str.set(v.s, v.len, arena);
        s.val.s = nullptr;  // the bytes live in str
    }
}

Value pick_value(const PickState& s) noexcept {
    if (!s.has) return Value::null();
    if (s.val.type == Type::String) return Value::of_string(s.str.data(), s.str.len);
    return s.val;
}

void pick_put(std::vector<uint8_t>& out, const PickState& s) noexcept {
    put(out, s.has);
    if (!s.has) return;
    put(out, s.seq);
    if (s.val.type == Type::String) {
        put(out, static_cast<uint8_t>(Type::String));
        put_bytes(out, s.str.data(), s.str.len);
    } else {
        put_scalar(out, s.val);
    }
}

void pick_get(Reader& r, PickState& s, Arena& arena) noexcept {
    pick_init(s);
    const auto has = r.get<uint8_t>();
    if (!r.ok || has == 0) return;
    const auto seq = r.get<uint64_t>();
    const uint8_t* save = r.p;
    const auto t = r.get<uint8_t>();
    if (!r.ok) return;
    if (t == static_cast<uint8_t>(Type::String)) {
        uint32_t n;
        const uint8_t* b = r.sized(n);
        if (b == nullptr) return;
        pick_store(s, Value::of_string(reinterpret_cast<const char*>(b), n), seq, arena);
        return;
    }
    r.p = save;
    const Value v = r.scalar();
    if (r.ok && !v.is_null()) pick_store(s, v, seq, arena);
    if (v.is_null()) r.ok = false;
}

// ---------------------------------------------------------------- COUNT(DISTINCT)

void distinct_merge(DistinctState& into, const DistinctState& from, Arena& arena) noexcept {
    for (uint32_t i = 0; i < from.cap; ++i) {
        const DistinctEntry& e = from.slots[i];
        if (e.bytes != nullptr) distinct_insert(into, e.hash, e.tag, e.bytes, e.len, arena);
    }
}

void distinct_put(std::vector<uint8_t>& out, const DistinctState& s) noexcept {
    put(out, s.size);
    for (uint32_t i = 0; i < s.cap; ++i) {
        const DistinctEntry& e = s.slots[i];
        if (e.bytes == nullptr) continue;
        put(out, e.tag);
        put(out, e.hash);
        put_bytes(out, e.bytes, e.len);
    }
}

void distinct_get(Reader& r, DistinctState& s, Arena& arena) noexcept {
    distinct_init(s);
    const auto n = r.get<uint32_t>();
    for (uint32_t i = 0; i < n && r.ok; ++i) {
        const auto tag = r.get<uint8_t>();
        const auto hash = r.get<uint64_t>();
        uint32_t len;
        const uint8_t* b = r.sized(len);
        if (b != nullptr) distinct_insert(s, hash, tag, b, len, arena);
    }
}

// Every AggKind has an accumulator: only a value outside the enum gets here.
[[noreturn, gnu::cold]] void unsupported_kind() noexcept { std::abort(); }

}  // namespace

// ---------------------------------------------------------------- per kind

bool agg_kind_supported(AggKind kind) noexcept {
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
        case AggKind::CountDistinct:
        case AggKind::Sum:
        case AggKind::Avg:
        case AggKind::Min:
        case AggKind::Max:
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop:
        case AggKind::First:
        case AggKind::Last:
        case AggKind::ApproxCountDistinct:
            return true;
    }
    return false;
}

uint32_t agg_state_size(AggKind kind) noexcept {
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
            return sizeof(CountState);
        case AggKind::CountDistinct:
            return sizeof(DistinctState);
        case AggKind::Sum:
            return sizeof(SumState);
        case AggKind::Avg:
            return sizeof(AvgState);
        case AggKind::Min:
        case AggKind::Max:
            return sizeof(MinMaxState);
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop:
            return sizeof(MomentsState);
        case AggKind::First:
        case AggKind::Last:
            return sizeof(PickState);
        case AggKind::ApproxCountDistinct:
            return sizeof(HllState);
    }
    unsupported_kind();
}

void agg_init(AggKind kind, uint8_t* p) noexcept {
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
            state_as<CountState>(p).n = 0;
            return;
        case AggKind::CountDistinct:
            distinct_init(state_as<DistinctState>(p));
            return;
        case AggKind::Sum:
            sum_init(state_as<SumState>(p));
            return;
        case AggKind::Avg:
            sum_init(state_as<AvgState>(p).sum);
            state_as<AvgState>(p).n = 0;
            return;
        case AggKind::Min:
        case AggKind::Max:
            minmax_init(state_as<MinMaxState>(p));
            return;
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop:
            state_as<MomentsState>(p) = MomentsState{0, 0.0, 0.0};
            return;
        case AggKind::First:
        case AggKind::Last:
            pick_init(state_as<PickState>(p));
            return;
        case AggKind::ApproxCountDistinct:
            hll_init(state_as<HllState>(p));
            return;
    }
    unsupported_kind();
}

void agg_update(AggKind kind, uint8_t* p, const Value& v, uint64_t seq, Arena& arena,
                uint64_t& type_mismatch) noexcept {
    switch (kind) {
        case AggKind::CountStar:
            ++state_as<CountState>(p).n;
            return;
        case AggKind::Count:
            if (!v.is_null()) ++state_as<CountState>(p).n;
            return;
        case AggKind::CountDistinct:
            distinct_add(state_as<DistinctState>(p), v, arena);
            return;
        case AggKind::Sum:
            sum_add(state_as<SumState>(p), v, type_mismatch);
            return;
        case AggKind::Avg: {
            auto& s = state_as<AvgState>(p);
            if (sum_add(s.sum, v, type_mismatch)) ++s.n;
            return;
        }
        case AggKind::Min:
            minmax_update<true>(state_as<MinMaxState>(p), v, arena, type_mismatch);
            return;
        case AggKind::Max:
            minmax_update<false>(state_as<MinMaxState>(p), v, arena, type_mismatch);
            return;
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop:
            if (v.is_number())
                moments_add(state_as<MomentsState>(p), v.as_double());
            else if (!v.is_null())
                ++type_mismatch;
            return;
        case AggKind::First:
            if (!v.is_null() && pick_wins<true>(state_as<PickState>(p), seq))
                pick_store(state_as<PickState>(p), v, seq, arena);
            return;
        case AggKind::Last:
            if (!v.is_null() && pick_wins<false>(state_as<PickState>(p), seq))
                pick_store(state_as<PickState>(p), v, seq, arena);
            return;
        case AggKind::ApproxCountDistinct:
            hll_add(state_as<HllState>(p), v, arena);
            return;
    }
    unsupported_kind();
}

void agg_merge(AggKind kind, uint8_t* into, const uint8_t* from, Arena& arena) noexcept {
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
            state_as<CountState>(into).n += state_as<CountState>(from).n;
            return;
        case AggKind::CountDistinct:
            distinct_merge(state_as<DistinctState>(into), state_as<DistinctState>(from), arena);
            return;
        case AggKind::Sum:
            sum_merge(state_as<SumState>(into), state_as<SumState>(from));
            return;
        case AggKind::Avg:
            sum_merge(state_as<AvgState>(into).sum, state_as<AvgState>(from).sum);
            state_as<AvgState>(into).n += state_as<AvgState>(from).n;
            return;
        case AggKind::Min:
            minmax_merge<true>(state_as<MinMaxState>(into), state_as<MinMaxState>(from), arena);
            return;
        case AggKind::Max:
            minmax_merge<false>(state_as<MinMaxState>(into), state_as<MinMaxState>(from), arena);
            return;
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop:
            moments_merge(state_as<MomentsState>(into), state_as<MomentsState>(from));
            return;
        case AggKind::First:
        case AggKind::Last: {
            const auto& f = state_as<PickState>(from);
            auto& t = state_as<PickState>(into);
            if (!f.has) return;
            const bool wins = kind == AggKind::First ? pick_wins<true>(t, f.seq) : pick_wins<false>(t, f.seq);
            if (wins) pick_store(t, pick_value(f), f.seq, arena);
            return;
        }
        case AggKind::ApproxCountDistinct:
            hll_merge(state_as<HllState>(into), state_as<HllState>(from), arena);
            return;
    }
    unsupported_kind();
}

Value agg_finalize(AggKind kind, const uint8_t* p) noexcept {
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
            return Value::of_int(state_as<CountState>(p).n);
        case AggKind::CountDistinct:
            return Value::of_int(state_as<DistinctState>(p).size);
        case AggKind::Sum:
            return sum_value(state_as<SumState>(p));
        case AggKind::Avg:
            return avg_value(state_as<AvgState>(p));
        case AggKind::Min:
        case AggKind::Max:
            return minmax_value(state_as<MinMaxState>(p));
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop:
            return moments_value(kind, state_as<MomentsState>(p));
        case AggKind::First:
        case AggKind::Last:
            return pick_value(state_as<PickState>(p));
        case AggKind::ApproxCountDistinct:
            return Value::of_int(hll_estimate(state_as<HllState>(p)));
    }
    unsupported_kind();
}

void agg_serialize(AggKind kind, const uint8_t* p, std::vector<uint8_t>& out) noexcept {
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
            put(out, state_as<CountState>(p).n);
            return;
        case AggKind::CountDistinct:
            distinct_put(out, state_as<DistinctState>(p));
            return;
        case AggKind::Sum:
            sum_put(out, state_as<SumState>(p));
            return;
        case AggKind::Avg:
            sum_put(out, state_as<AvgState>(p).sum);
            put(out, state_as<AvgState>(p).n);
            return;
        case AggKind::Min:
        case AggKind::Max:
            minmax_put(out, state_as<MinMaxState>(p));
            return;
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop: {
            const auto& s = state_as<MomentsState>(p);
            put(out, s.n);
            put(out, s.mean);
            put(out, s.m2);
            return;
        }
        case AggKind::First:
        case AggKind::Last:
            pick_put(out, state_as<PickState>(p));
            return;
        case AggKind::ApproxCountDistinct:
            hll_serialize(state_as<HllState>(p), out);
            return;
    }
    unsupported_kind();
}

bool agg_deserialize(AggKind kind, uint8_t* p, const uint8_t*& cur, const uint8_t* end, Arena& arena) noexcept {
    Reader r{cur, end};
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
            state_as<CountState>(p).n = r.get<int64_t>();
            return r.ok;
        case AggKind::CountDistinct:
            distinct_get(r, state_as<DistinctState>(p), arena);
            return r.ok;
        case AggKind::Sum:
            sum_get(r, state_as<SumState>(p));
            return r.ok;
        case AggKind::Avg:
            sum_get(r, state_as<AvgState>(p).sum);
            state_as<AvgState>(p).n = r.get<int64_t>();
            return r.ok;
        case AggKind::Min:
        case AggKind::Max:
            minmax_get(r, state_as<MinMaxState>(p), arena);
            return r.ok;
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop: {
            auto& s = state_as<MomentsState>(p);
            s.n = r.get<int64_t>();
            s.mean = r.get<double>();
            s.m2 = r.get<double>();
            return r.ok;
        }
        case AggKind::First:
        case AggKind::Last:
            pick_get(r, state_as<PickState>(p), arena);
            return r.ok;
        case AggKind::ApproxCountDistinct:
            return hll_deserialize(state_as<HllState>(p), cur, end, arena);
    }
    unsupported_kind();
}

// ---------------------------------------------------------------- layout

namespace {

AggLayout::Step step_of(AggKind kind) noexcept {
    switch (kind) {
        case AggKind::CountStar: return AggLayout::Step::CountStar;
        case AggKind::Count: return AggLayout::Step::Count;
        case AggKind::Sum: return AggLayout::Step::Sum;
        case AggKind::Avg: return AggLayout::Step::Avg;
        case AggKind::Min: return AggLayout::Step::Min;
        case AggKind::Max: return AggLayout::Step::Max;
        default: return AggLayout::Step::Generic;
    }
}

}  // namespace

AggLayout::AggLayout(const std::vector<AggSpec>& aggs) {
    kinds_.reserve(aggs.size());
    offsets_.reserve(aggs.size());
    ops_.reserve(aggs.size());
    uint32_t off = 0;
    for (const AggSpec& a : aggs) {
        if (!agg_kind_supported(a.kind)) throw std::invalid_argument("aggregate not supported yet: " + a.text);
        kinds_.push_back(a.kind);
        offsets_.push_back(off);
        ops_.push_back(Op{step_of(a.kind), a.kind, off});
        off += (agg_state_size(a.kind) + kBlockAlign - 1) & ~(kBlockAlign - 1);
    }
    block_size_ = off;
    static_assert(static_cast<int>(Step::Generic) == 6, "runs_ holds one count per Step");
    for (int step = 0; step <= static_cast<int>(Step::Generic); ++step) {
        for (uint32_t i = 0; i < ops_.size(); ++i) {
            if (static_cast<int>(ops_[i].step) != step) continue;
            if (i > UINT16_MAX) throw std::invalid_argument("too many aggregates");
            by_kind_.push_back(Slot{ops_[i].offset, static_cast<uint16_t>(i), ops_[i].kind});
            ++runs_[step];
        }
    }
    // Every initial state is plain bytes (no pointer into itself): init copies them.
    empty_block_.assign(block_size_, 0);
    for (uint32_t i = 0; i < count(); ++i) agg_init(kinds_[i], empty_block_.data() + offsets_[i]);
}

void AggLayout::merge(uint8_t* into, const uint8_t* from, Arena& arena) const noexcept {
    for (uint32_t i = 0; i < count(); ++i) agg_merge(kinds_[i], into + offsets_[i], from + offsets_[i], arena);
}

void AggLayout::serialize(const uint8_t* block, std::vector<uint8_t>& out) const noexcept {
    for (uint32_t i = 0; i < count(); ++i) agg_serialize(kinds_[i], block + offsets_[i], out);
}

bool AggLayout::deserialize(uint8_t* block, const uint8_t* p, const uint8_t* end, Arena& arena) const noexcept {
    for (uint32_t i = 0; i < count(); ++i) {
        if (!agg_deserialize(kinds_[i], block + offsets_[i], p, end, arena)) {
            // Leave every state valid (and empty) so the block can still be read.
            for (uint32_t j = i; j < count(); ++j) agg_init(kinds_[j], block + offsets_[j]);
            return false;
        }
    }
    return p == end;
}

}  // namespace sluice
