// Scalar functions and CAST. Same conventions as eval.cc: NULL in, NULL out
// (uncounted); a wrong-typed operand is NULL and counted once; domain errors
// (division by zero, SQRT of a negative) are NULL and not counted.
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#include "eval_util.h"
#include "functions.h"

namespace sluice::detail {

namespace {

inline Value arg(const ExprPool& pool, const ExprNode& n, uint32_t k, const EvalContext& ctx) noexcept {
    return eval_inline(pool, pool.args[n.first_arg + k], ctx);
}

constexpr double kTwo63 = 9223372036854775808.0;

// An integer argument (a count or position): Int, or a Double with no fraction.
enum class IntArg : uint8_t { Ok, Null, Bad };

IntArg int_arg(const Value& v, int64_t& out) noexcept {
    if (v.type == Type::Int) {
        out = v.i;
        return IntArg::Ok;
    }
    if (v.is_null()) return IntArg::Null;
    if (v.type == Type::Double && std::trunc(v.d) == v.d && v.d >= -kTwo63 && v.d < kTwo63) {
        out = static_cast<int64_t>(v.d);
        return IntArg::Ok;
    }
    return IntArg::Bad;
}

std::string_view trim_spaces(std::string_view s) noexcept {
    std::size_t b = 0;
    std::size_t e = s.size();
    while (b < e && s[b] == ' ') ++b;
    while (e > b && s[e - 1] == ' ') --e;
    return s.substr(b, e - b);
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim_whitespace(std::string_view s) noexcept {
    std::size_t b = 0;
    std::size_t e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// from_chars rejects a leading '+'; SQL casts accept it.
std::string_view skip_plus(std::string_view s) noexcept {
    if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') return s.substr(1);
    return s;
}

Value string_value(const EvalContext& ctx, std::string_view text) noexcept {
    char* p = scratch_chars(ctx, text.size());
    if (p == nullptr) return Value::null();
    if (!text.empty()) std::memcpy(p, text.data(), text.size());
    return Value::of_string(p, static_cast<uint32_t>(text.size()));
}

// ---------------------------------------------------------------- numeric

// ROUND of an integer to 10^k (k > 0), half away from zero; false on overflow.
bool round_int(int64_t x, int64_t k, int64_t& out) noexcept {
    if (k > 19) {
        out = 0;
        return true;
    }
    if (k == 19) {  // 10^19 does not fit: only |x| >= 5e18 would round away from zero
        if (x >= 5000000000000000000LL || x <= -5000000000000000000LL) return false;
        out = 0;
        return true;
    }
    int64_t p = 1;
    for (int64_t i = 0; i < k; ++i) p *= 10;
    const int64_t r = x % p;
    int64_t q = x - r;
    if ((r < 0 ? -r : r) * 2 >= p) {
        if (__builtin_add_overflow(q, x < 0 ? -p : p, &q)) return false;
    }
    out = q;
    return true;
}

Value round_value(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const Value x = arg(pool, n, 0, ctx);
    int64_t d = 0;
    IntArg da = IntArg::Ok;
    if (n.nargs >= 2) da = int_arg(arg(pool, n, 1, ctx), d);
    if (x.is_null() || da == IntArg::Null) return Value::null();
    if (da == IntArg::Bad) return mismatch(ctx);
    if (x.type == Type::Int) {
        // Flink keeps an integer an integer under ROUND, also for d < 0.
        if (d >= 0) return x;
        int64_t r;
        if (!round_int(x.i, -d, r)) return mismatch(ctx);
        return Value::of_int(r);
    }
    if (x.type == Type::Double) return Value::of_double(round_double(x.d, d));
    return mismatch(ctx);
}

template <bool IsFloor>
Value floor_ceil(const Value& v, const EvalContext& ctx) noexcept {
    if (v.type == Type::Int || v.is_null()) return v;
    if (v.type == Type::Double) return Value::of_double(IsFloor ? std::floor(v.d) : std::ceil(v.d));
    return mismatch(ctx);
}

Value abs_value(const Value& v, const EvalContext& ctx) noexcept {
    if (v.type == Type::Int) {
        if (v.i == INT64_MIN) return mismatch(ctx);  // overflow
        return Value::of_int(v.i < 0 ? -v.i : v.i);
    }
    if (v.type == Type::Double) return Value::of_double(std::fabs(v.d));
    return v.is_null() ? v : mismatch(ctx);
}

Value sqrt_value(const Value& v, const EvalContext& ctx) noexcept {
    if (v.is_null()) return v;
    if (!v.is_number()) return mismatch(ctx);
    const double x = v.as_double();
    if (x < 0) return Value::null();
    return Value::of_double(std::sqrt(x));
}

Value power_value(const Value& a, const Value& b, const EvalContext& ctx) noexcept {
    if (a.is_null() || b.is_null()) return Value::null();
    if (!a.is_number() || !b.is_number()) return mismatch(ctx);
    const double r = std::pow(a.as_double(), b.as_double());
    // A domain error (a negative base with a fractional exponent) is NULL, like SQRT.
    if (std::isnan(r) && !std::isnan(a.as_double()) && !std::isnan(b.as_double())) return Value::null();
    return Value::of_double(r);
}

// GREATEST/LEAST skip NULLs; numbers compare by value and the result is DOUBLE
// when any argument was (Flink's common type); NaN wins, as in Java's Math.max.
template <bool IsGreatest>
Value extreme(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    Value best;
    bool any_double = false;
    for (uint32_t k = 0; k < n.nargs; ++k) {
        const Value v = arg(pool, n, k, ctx);
        if (v.is_null()) continue;
        any_double |= v.type == Type::Double;
        if (best.is_null()) {
            best = v;
            continue;
        }
        const Cmp c = compare_values(v, best);
        if (c == Cmp::Mismatch) return mismatch(ctx);
        if (c == (IsGreatest ? Cmp::Greater : Cmp::Less)) best = v;
        if (c == Cmp::Unordered && v.type == Type::Double && std::isnan(v.d)) best = v;
    }
    if (any_double && best.type == Type::Int) return Value::of_double(static_cast<double>(best.i));
    return best;
}

// ---------------------------------------------------------------- strings

template <bool IsUpper>
Value change_case(const Value& v, const EvalContext& ctx) noexcept {
    if (v.type != Type::String) return v.is_null() ? v : mismatch(ctx);
    const auto changes = [](char c) { return IsUpper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'); };
    uint32_t first = 0;
    while (first < v.len && !changes(v.s[first])) ++first;
    if (first == v.len) return v;  // nothing to change: no copy
    char* p = scratch_chars(ctx, v.len);
    if (p == nullptr) return Value::null();
    std::memcpy(p, v.s, first);
    for (uint32_t i = first; i < v.len; ++i) {
        const char c = v.s[i];
        p[i] = changes(c) ? static_cast<char>(IsUpper ? c - 32 : c + 32) : c;
    }
    return Value::of_string(p, v.len);
}

int64_t code_points(std::string_view s) noexcept {
    int64_t n = 0;
    for (const char c : s) n += is_utf8_continuation(static_cast<unsigned char>(c)) ? 0 : 1;
    return n;
}

// Byte offset of code point k (0-based); s.size() when s has fewer.
std::size_t code_point_offset(std::string_view s, int64_t k) noexcept {
    std::size_t i = 0;
    while (k > 0 && i < s.size()) {
        ++i;
        while (i < s.size() && is_utf8_continuation(static_cast<unsigned char>(s[i]))) ++i;
        --k;
    }
    return i;
}

// SUBSTRING(s, start[, len]) as SQL defines it: the code points at positions
// [start, start + len) that exist, so SUBSTRING('abc', 0, 2) is 'a'.
// A negative length is NULL (SQL raises a data exception).
Value substring(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const Value s = arg(pool, n, 0, ctx);
    int64_t start = 0;
    int64_t len = 0;
    const IntArg sa = int_arg(arg(pool, n, 1, ctx), start);
    const IntArg la = n.nargs >= 3 ? int_arg(arg(pool, n, 2, ctx), len) : IntArg::Ok;
    const bool has_len = n.nargs >= 3;
    if (s.is_null() || sa == IntArg::Null || la == IntArg::Null) return Value::null();
    if (s.type != Type::String || sa == IntArg::Bad || la == IntArg::Bad) return mismatch(ctx);
    if (has_len && len < 0) return Value::null();
    int64_t end = INT64_MAX;  // exclusive, in 1-based positions
    if (has_len && __builtin_add_overflow(start, len, &end)) end = INT64_MAX;
    const int64_t first = start < 1 ? 1 : start;
    if (end <= first) return Value::of_string(s.s, 0);
    const std::string_view sv = s.str();
    const std::size_t b = code_point_offset(sv, first - 1);
    const std::size_t e = end == INT64_MAX ? sv.size() : b + code_point_offset(sv.substr(b), end - first);
    return Value::of_string(s.s + b, static_cast<uint32_t>(e - b));
}

Value trim_value(const Value& v, const EvalContext& ctx) noexcept {
    if (v.type != Type::String) return v.is_null() ? v : mismatch(ctx);
    const std::string_view t = trim_spaces(v.str());
    return Value::of_string(t);
}

// CONCAT(a, b, ...) skips NULLs (unlike ||); numbers and bools print as text.
Value concat_n(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    if (ctx.scratch == nullptr) return Value::null();
    auto* parts = static_cast<Value*>(ctx.scratch->alloc(sizeof(Value) * (n.nargs == 0 ? 1 : n.nargs), alignof(Value)));
    std::size_t total = 0;
    for (uint32_t k = 0; k < n.nargs; ++k) {
        Value v = arg(pool, n, k, ctx);
        if (!v.is_null() && v.type != Type::String) {
            char buf[kDoubleTextMax];
            const std::string_view t = scalar_text(v, buf);
            v = t.data() == buf ? string_value(ctx, t) : Value::of_string(t);
        }
        parts[k] = v;
        total += v.len;
    }
    if (total > UINT32_MAX) return Value::null();
    char* p = scratch_chars(ctx, total);
    std::size_t at = 0;
    for (uint32_t k = 0; k < n.nargs; ++k) {
        if (parts[k].len == 0) continue;
        std::memcpy(p + at, parts[k].s, parts[k].len);
        at += parts[k].len;
    }
    return Value::of_string(p, static_cast<uint32_t>(total));
}

Value replace(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const Value s = arg(pool, n, 0, ctx);
    const Value from = arg(pool, n, 1, ctx);
    const Value to = arg(pool, n, 2, ctx);
    if (s.is_null() || from.is_null() || to.is_null()) return Value::null();
    if (s.type != Type::String || from.type != Type::String || to.type != Type::String) return mismatch(ctx);
    if (from.len == 0) return s;
    const std::string_view sv = s.str();
    const std::string_view fv = from.str();
    std::size_t count = 0;
    for (std::size_t pos = sv.find(fv); pos != std::string_view::npos; pos = sv.find(fv, pos + fv.size())) ++count;
    if (count == 0) return s;
    const std::size_t total = sv.size() - count * fv.size() + count * to.len;
    if (total > UINT32_MAX) return Value::null();
    char* p = scratch_chars(ctx, total);
    if (p == nullptr) return Value::null();
    std::size_t at = 0;
    std::size_t prev = 0;
    for (std::size_t pos = sv.find(fv); pos != std::string_view::npos; pos = sv.find(fv, prev)) {
        std::memcpy(p + at, sv.data() + prev, pos - prev);
        at += pos - prev;
        if (to.len != 0) std::memcpy(p + at, to.s, to.len);
        at += to.len;
        prev = pos + fv.size();
    }
    if (sv.size() > prev) std::memcpy(p + at, sv.data() + prev, sv.size() - prev);
    return Value::of_string(p, static_cast<uint32_t>(total));
}

// ---------------------------------------------------------------- casts

Value cast_to_int(const Value& v, const EvalContext& ctx) noexcept {
    switch (v.type) {
        case Type::Int: return v;
        case Type::Bool: return Value::of_int(v.b ? 1 : 0);
        case Type::Double: {
            const double t = std::trunc(v.d);  // NaN stays NaN and fails the range test
            if (!(t >= -kTwo63 && t < kTwo63)) return mismatch(ctx);
            return Value::of_int(static_cast<int64_t>(t));
        }
        case Type::String: {
            const std::string_view s = skip_plus(trim_whitespace(v.str()));
            int64_t r = 0;
            const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), r);
            if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return mismatch(ctx);
            return Value::of_int(r);
        }
        case Type::Null: break;
    }
    return Value::null();
}

Value cast_to_double(const Value& v, const EvalContext& ctx) noexcept {
    switch (v.type) {
        case Type::Double: return v;
        case Type::Int: return Value::of_double(static_cast<double>(v.i));
        case Type::Bool: return Value::of_double(v.b ? 1.0 : 0.0);
        case Type::String: {
            const std::string_view s = skip_plus(trim_whitespace(v.str()));
            double r = 0;
            const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), r);
            if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return mismatch(ctx);
            return Value::of_double(r);
        }
        case Type::Null: break;
    }
    return Value::null();
}

Value cast_to_string(const Value& v, const EvalContext& ctx) noexcept {
    if (v.type == Type::String || v.is_null()) return v;
    char buf[kDoubleTextMax];
    const std::string_view t = scalar_text(v, buf);
    return t.data() == buf ? string_value(ctx, t) : Value::of_string(t);  // literals need no copy
}

bool iequals(std::string_view s, std::string_view lower) noexcept {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = (s[i] >= 'A' && s[i] <= 'Z') ? static_cast<char>(s[i] + 32) : s[i];
        if (c != lower[i]) return false;
    }
    return true;
}

Value cast_to_bool(const Value& v, const EvalContext& ctx) noexcept {
    switch (v.type) {
        case Type::Bool: return v;
        case Type::Int: return Value::of_bool(v.i != 0);
        case Type::Double:
            if (std::isnan(v.d)) return mismatch(ctx);
            return Value::of_bool(v.d != 0.0);
        case Type::String: {
            const std::string_view s = trim_whitespace(v.str());
            if (iequals(s, "true")) return Value::of_bool(true);
            if (iequals(s, "false")) return Value::of_bool(false);
            return mismatch(ctx);
        }
        case Type::Null: break;
    }
    return Value::null();
}

}  // namespace

Value modulo(const Value& a, const Value& b, const EvalContext& ctx) noexcept {
    if (a.type == Type::Int && b.type == Type::Int) {
        if (b.i == 0) return Value::null();
        if (b.i == -1) return Value::of_int(0);  // INT64_MIN % -1 traps in hardware
        return Value::of_int(a.i % b.i);         // sign of the dividend, as SQL's MOD
    }
    if (a.is_null() || b.is_null()) return Value::null();
    if (!a.is_number() || !b.is_number()) return mismatch(ctx);
    const double y = b.as_double();
    if (y == 0.0) return Value::null();
    return Value::of_double(std::fmod(a.as_double(), y));
}

double round_double(double x, int64_t d) noexcept {
    if (!std::isfinite(x) || d >= 400) return x;
    if (d <= -400) return 0.0;
    // Fixed notation, shortest round-trip: at most ~330 characters for a double.
    char text[400];
    const auto res = std::to_chars(text, text + sizeof(text), x, std::chars_format::fixed);
    if (res.ec != std::errc{}) return x;
    const char* p = text;
    const char* end = res.ptr;
    const bool negative = *p == '-';
    if (negative) ++p;
    // digits = all decimal digits without the point; int_digits = how many precede it.
    char digits[400];
    int64_t count = 0;
    int64_t int_digits = -1;
    for (; p != end; ++p) {
        if (*p == '.') {
            int_digits = count;
        } else {
            digits[count++] = *p;
        }
    }
    if (int_digits < 0) int_digits = count;
    const int64_t keep = int_digits + d;  // digits kept before rounding
    if (keep >= count) return x;          // nothing beyond the requested place
    if (keep < 0) return 0.0;
    const bool up = digits[keep] >= '5';
    // The kept digits as an integer (with a leading 0 for a carry out), times 10^-d.
    char out[420];
    std::size_t o = 0;
    if (negative) out[o++] = '-';
    const std::size_t mant_at = o;
    out[o++] = '0';  // room for a carry out of the leading digit
    for (int64_t i = 0; i < keep; ++i) out[o++] = digits[i];
    if (up) {
        std::size_t i = o;
        while (true) {
            --i;
            if (out[i] == '9') {
                out[i] = '0';
            } else {
                ++out[i];
                break;
            }
        }
    }
    out[o++] = 'e';
    const auto er = std::to_chars(out + o, out + sizeof(out), int_digits - keep);  // = -d
    double r = 0;
    std::from_chars(out + mant_at, er.ptr, r);
    if (r == 0.0) return 0.0;  // no negative zero from rounding
    return negative ? -r : r;
}

Value eval_func(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    switch (static_cast<Func>(n.aux)) {
        case Func::Coalesce:
            for (uint32_t k = 0; k < n.nargs; ++k) {
                const Value v = arg(pool, n, k, ctx);
                if (!v.is_null()) return v;
            }
            return Value::null();
        case Func::Nullif: {
            // Values of different types are simply not equal here.
            const Value a = arg(pool, n, 0, ctx);
            const Value b = arg(pool, n, 1, ctx);
            return compare_values(a, b) == Cmp::Equal ? Value::null() : a;
        }
        case Func::Abs: return abs_value(arg(pool, n, 0, ctx), ctx);
        case Func::Round: return round_value(pool, n, ctx);
        case Func::Floor: return floor_ceil<true>(arg(pool, n, 0, ctx), ctx);
        case Func::Ceil: return floor_ceil<false>(arg(pool, n, 0, ctx), ctx);
        case Func::Sqrt: return sqrt_value(arg(pool, n, 0, ctx), ctx);
        case Func::Power: return power_value(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case Func::Mod: return modulo(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case Func::Greatest: return extreme<true>(pool, n, ctx);
        case Func::Least: return extreme<false>(pool, n, ctx);
        case Func::Upper: return change_case<true>(arg(pool, n, 0, ctx), ctx);
        case Func::Lower: return change_case<false>(arg(pool, n, 0, ctx), ctx);
        case Func::Length: {
            const Value v = arg(pool, n, 0, ctx);
            if (v.type == Type::String) return Value::of_int(code_points(v.str()));
            return v.is_null() ? v : mismatch(ctx);
        }
        case Func::Substring: return substring(pool, n, ctx);
        case Func::Trim: return trim_value(arg(pool, n, 0, ctx), ctx);
        case Func::Concat: return concat_n(pool, n, ctx);
        case Func::Replace: return replace(pool, n, ctx);
    }
    return Value::null();
}

Value eval_cast(const Value& v, Type target, const EvalContext& ctx) noexcept {
    switch (target) {
        case Type::Int: return cast_to_int(v, ctx);
        case Type::Double: return cast_to_double(v, ctx);
        case Type::String: return cast_to_string(v, ctx);
        case Type::Bool: return cast_to_bool(v, ctx);
        case Type::Null: break;
    }
    return Value::null();
}

}  // namespace sluice::detail
