// Expression evaluation: one recursive switch over ExprOp. Leaves return at
// once; Int/Double arithmetic and comparisons take a direct path before the
// general dynamic-typing rules.
#include <cmath>
#include <cstring>

#include "eval_util.h"
#include "functions.h"
#include "sluice/exec.h"

namespace sluice {

using detail::arith;
using detail::Cmp;
using detail::comparison;
using detail::mismatch;

namespace {

inline Value arg(const ExprPool& pool, const ExprNode& n, uint32_t k, const EvalContext& ctx) noexcept {
    return detail::eval_inline(pool, pool.args[n.first_arg + k], ctx);
}

// Three-valued logic. The right side is skipped when the left decides the
// result (FALSE AND x, TRUE OR x), as in Flink's generated code.
template <bool IsAnd>
Value logic(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const Value a = arg(pool, n, 0, ctx);
    if (a.type == Type::Bool && a.b != IsAnd) return a;
    if (a.type != Type::Bool && !a.is_null()) return mismatch(ctx);
    const Value b = arg(pool, n, 1, ctx);
    if (b.type == Type::Bool && b.b != IsAnd) return b;
    if (b.type != Type::Bool && !b.is_null()) return mismatch(ctx);
    if (a.is_null() || b.is_null()) return Value::null();
    return Value::of_bool(IsAnd);
}

Value negate_truth(const Value& v) noexcept {
    return v.type == Type::Bool ? Value::of_bool(!v.b) : v;
}

// x IN (a, b, ...): TRUE on a match; otherwise NULL if x or any item is NULL.
Value in_list(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const Value x = arg(pool, n, 0, ctx);
    if (x.is_null()) return x;
    bool saw_null = false;
    bool saw_mismatch = false;
    for (uint32_t k = 1; k < n.nargs; ++k) {
        const Cmp c = detail::compare_values(x, arg(pool, n, k, ctx));
        if (c == Cmp::Equal) return Value::of_bool(true);
        saw_null |= c == Cmp::Null;
        saw_mismatch |= c == Cmp::Mismatch;
    }
    if (saw_mismatch) return mismatch(ctx);
    if (saw_null) return Value::null();
    return Value::of_bool(false);
}

// Truth of one bound check: 1 true, 0 false, -1 unknown.
int bound_truth(Cmp c, bool lower) noexcept {
    if (c == Cmp::Null) return -1;
    if (c == Cmp::Equal) return 1;
    if (c == Cmp::Unordered) return 0;
    return (lower ? c == Cmp::Greater : c == Cmp::Less) ? 1 : 0;
}

Value between(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const Value x = arg(pool, n, 0, ctx);
    const Cmp lo = detail::compare_values(x, arg(pool, n, 1, ctx));
    const Cmp hi = detail::compare_values(x, arg(pool, n, 2, ctx));
    if (lo == Cmp::Mismatch || hi == Cmp::Mismatch) return mismatch(ctx);
    const int a = bound_truth(lo, true);
    const int b = bound_truth(hi, false);
    if (a == 0 || b == 0) return Value::of_bool(false);
    if (a < 0 || b < 0) return Value::null();
    return Value::of_bool(true);
}

Value like(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const Value s = arg(pool, n, 0, ctx);
    const Value p = arg(pool, n, 1, ctx);
    if (s.is_null() || p.is_null()) return Value::null();
    if (s.type != Type::String || p.type != Type::String) return mismatch(ctx);
    return Value::of_bool(detail::like_match(s.str(), p.str()));
}

// Searched CASE; a WHEN that is not a Bool counts as a mismatch and does not hold.
Value case_when(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    const bool has_else = (n.aux & 1) != 0;
    const uint32_t pairs = (n.nargs - (has_else ? 1u : 0u)) / 2;
    for (uint32_t k = 0; k < pairs; ++k) {
        const Value w = arg(pool, n, 2 * k, ctx);
        if (w.type == Type::Bool) {
            if (w.b) return arg(pool, n, 2 * k + 1, ctx);
        } else if (!w.is_null()) {
            mismatch(ctx);
        }
    }
    return has_else ? arg(pool, n, n.nargs - 1, ctx) : Value::null();
}

// a || b: NULL if either side is NULL; numbers and bools are formatted as text.
Value concat2(const Value& a, const Value& b, const EvalContext& ctx) noexcept {
    if (a.is_null() || b.is_null()) return Value::null();
    char ba[detail::kDoubleTextMax];
    char bb[detail::kDoubleTextMax];
    const std::string_view sa = detail::scalar_text(a, ba);
    const std::string_view sb = detail::scalar_text(b, bb);
    if (sb.empty() && a.type == Type::String) return a;
    if (sa.empty() && b.type == Type::String) return b;
    const std::size_t total = sa.size() + sb.size();
    if (total > UINT32_MAX) return Value::null();
    char* p = detail::scratch_chars(ctx, total);
    if (p == nullptr) return Value::null();
    if (!sa.empty()) std::memcpy(p, sa.data(), sa.size());
    if (!sb.empty()) std::memcpy(p + sa.size(), sb.data(), sb.size());
    return Value::of_string(p, static_cast<uint32_t>(total));
}

}  // namespace

Value eval(const ExprPool& pool, ExprId id, const EvalContext& ctx) noexcept {
    return detail::eval_inline(pool, id, ctx);
}

Value detail::eval_node(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept {
    switch (n.op) {
        case ExprOp::Const: return pool.consts[n.index];
        case ExprOp::Field: return ctx.fields[n.index];
        case ExprOp::KeyRef: return ctx.keys[n.index];
        case ExprOp::AggRef: return ctx.aggs[n.index];
        case ExprOp::AnalyticRef:  // only ROWS-window operators supply analytics
            return ctx.analytics != nullptr ? ctx.analytics[n.index] : Value::null();
        case ExprOp::WindowStart: return Value::of_int(ctx.window_start);
        case ExprOp::WindowEnd: return Value::of_int(ctx.window_end);
        case ExprOp::ArrivalTime: return Value::of_int(ctx.arrival_ms);

        case ExprOp::Neg: {
            const Value v = arg(pool, n, 0, ctx);
            if (v.type == Type::Int) {
                if (v.i == INT64_MIN) return mismatch(ctx);  // overflow
                return Value::of_int(-v.i);
            }
            if (v.type == Type::Double) return Value::of_double(-v.d);
            return v.is_null() ? v : mismatch(ctx);
        }
        case ExprOp::Not: {
            const Value v = arg(pool, n, 0, ctx);
            if (v.type == Type::Bool) return Value::of_bool(!v.b);
            return v.is_null() ? v : mismatch(ctx);
        }

        case ExprOp::Add: return arith<ExprOp::Add>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Sub: return arith<ExprOp::Sub>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Mul: return arith<ExprOp::Mul>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Div: return arith<ExprOp::Div>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Mod: return arith<ExprOp::Mod>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Concat: return concat2(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);

        case ExprOp::Eq: return comparison<ExprOp::Eq>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Ne: return comparison<ExprOp::Ne>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Lt: return comparison<ExprOp::Lt>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Le: return comparison<ExprOp::Le>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Gt: return comparison<ExprOp::Gt>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);
        case ExprOp::Ge: return comparison<ExprOp::Ge>(arg(pool, n, 0, ctx), arg(pool, n, 1, ctx), ctx);

        case ExprOp::And: return logic<true>(pool, n, ctx);
        case ExprOp::Or: return logic<false>(pool, n, ctx);
        case ExprOp::IsNull: return Value::of_bool(arg(pool, n, 0, ctx).is_null());
        case ExprOp::IsNotNull: return Value::of_bool(!arg(pool, n, 0, ctx).is_null());
        case ExprOp::In: return in_list(pool, n, ctx);
        case ExprOp::NotIn: return negate_truth(in_list(pool, n, ctx));
        case ExprOp::Between: return between(pool, n, ctx);
        case ExprOp::NotBetween: return negate_truth(between(pool, n, ctx));
        case ExprOp::Like: return like(pool, n, ctx);
        case ExprOp::NotLike: return negate_truth(like(pool, n, ctx));
        case ExprOp::Case: return case_when(pool, n, ctx);
        case ExprOp::Cast: return detail::eval_cast(arg(pool, n, 0, ctx), static_cast<Type>(n.aux), ctx);
        case ExprOp::Func: return detail::eval_func(pool, n, ctx);
    }
    return Value::null();
}

bool eval_predicate(const ExprPool& pool, ExprId id, const EvalContext& ctx) noexcept {
    const Value v = eval(pool, id, ctx);
    if (v.type == Type::Bool) return v.b;
    if (!v.is_null()) mismatch(ctx);  // a predicate that is not a truth value
    return false;
}

namespace detail {

namespace {
std::size_t next_code_point(std::string_view s, std::size_t i) noexcept {
    ++i;
    while (i < s.size() && is_utf8_continuation(static_cast<unsigned char>(s[i]))) ++i;
    return i;
}
}  // namespace

// Greedy match with one backtrack point (the last %): O(|s| * |p|) at worst,
// never exponential. `_` consumes one UTF-8 code point.
bool like_match(std::string_view s, std::string_view p) noexcept {
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::size_t si = 0;
    std::size_t pi = 0;
    std::size_t star_p = kNone;
    std::size_t star_s = 0;
    while (si < s.size()) {
        if (pi < p.size()) {
            const char c = p[pi];
            if (c == '%') {
                star_p = pi++;
                star_s = si;
                continue;
            }
            if (c == '_') {
                si = next_code_point(s, si);
                ++pi;
                continue;
            }
            if (c == s[si]) {
                ++si;
                ++pi;
                continue;
            }
        }
        if (star_p == kNone) return false;
        pi = star_p + 1;
        star_s = next_code_point(s, star_s);
        si = star_s;
    }
    while (pi < p.size() && p[pi] == '%') ++pi;
    return pi == p.size();
}

}  // namespace detail

}  // namespace sluice
