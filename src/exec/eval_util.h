// Helpers shared by expression evaluation, functions and row serialization:
// mismatch accounting, scratch strings, value comparison and number text.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "number_text.h"
#include "sluice/exec.h"
#include "sluice/value.h"

namespace sluice::detail {

// A non-NULL operand of the wrong type: the result is NULL and counted once.
inline Value mismatch(const EvalContext& ctx) noexcept {
    if (ctx.type_mismatch != nullptr) ++*ctx.type_mismatch;
    return Value::null();
}

// n bytes of scratch for a string result; nullptr when the caller gave no arena.
inline char* scratch_chars(const EvalContext& ctx, std::size_t n) noexcept {
    if (ctx.scratch == nullptr) return nullptr;
    return static_cast<char*>(ctx.scratch->alloc(n == 0 ? 1 : n, 1));
}

// Every node kind; eval() inlines the common leaves in front of it.
Value eval_node(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept;

// Leaves resolve at the call site; only operators pay for a call.
inline Value eval_inline(const ExprPool& pool, ExprId id, const EvalContext& ctx) noexcept {
    const ExprNode& n = pool.nodes[id];
    switch (n.op) {
        case ExprOp::Field: return ctx.fields[n.index];
        case ExprOp::Const: return pool.consts[n.index];
        case ExprOp::KeyRef: return ctx.keys[n.index];
        case ExprOp::AggRef: return ctx.aggs[n.index];
        default: return eval_node(pool, n, ctx);
    }
}

// One 16-byte copy: GCC copies a Value member-wise as two overlapping 8-byte
// moves, whose second load then misses store forwarding.
inline void store_value(Value& dst, const Value& v) noexcept { std::memcpy(&dst, &v, sizeof(Value)); }

// For a value just computed (in registers): member by member. A 16-byte
// store would first assemble len and type with the padding bytes in one
// register, masks and all.
inline void store_result(Value& dst, const Value& v) noexcept {
    dst.i = v.i;
    dst.len = v.len;
    dst.type = v.type;
}

inline bool is_truthy(const Value& v) noexcept { return v.type == Type::Bool && v.b; }

enum class Cmp : int8_t { Less, Equal, Greater, Unordered, Null, Mismatch };

// Exact order of an integer and a double (no rounding of large integers).
inline Cmp compare_int_double(int64_t a, double b) noexcept {
    if (std::isnan(b)) return Cmp::Unordered;
    if (b >= 9223372036854775808.0) return Cmp::Less;
    if (b < -9223372036854775808.0) return Cmp::Greater;
    const double t = std::trunc(b);
    const auto ti = static_cast<int64_t>(t);
    if (a < ti) return Cmp::Less;
    if (a > ti) return Cmp::Greater;
    const double frac = b - t;  // exact for doubles
    return frac > 0 ? Cmp::Less : (frac < 0 ? Cmp::Greater : Cmp::Equal);
}

inline Cmp flip(Cmp c) noexcept {
    return c == Cmp::Less ? Cmp::Greater : (c == Cmp::Greater ? Cmp::Less : c);
}

inline Cmp compare_strings(const Value& a, const Value& b) noexcept {
    const uint32_t n = a.len < b.len ? a.len : b.len;
    const int r = n == 0 ? 0 : std::memcmp(a.s, b.s, n);
    if (r != 0) return r < 0 ? Cmp::Less : Cmp::Greater;
    return a.len < b.len ? Cmp::Less : (a.len > b.len ? Cmp::Greater : Cmp::Equal);
}

// SQL comparison: numbers by value, strings bytewise, bools false < true.
// NaN is unordered (every comparison but <> is false), as in IEEE.
inline Cmp compare_values(const Value& a, const Value& b) noexcept {
    if (a.type == Type::Null || b.type == Type::Null) return Cmp::Null;
    if (a.type == b.type) {
        switch (a.type) {
            case Type::Int: return a.i < b.i ? Cmp::Less : (a.i > b.i ? Cmp::Greater : Cmp::Equal);
            case Type::Double:
                if (a.d < b.d) return Cmp::Less;
                if (a.d > b.d) return Cmp::Greater;
                if (a.d == b.d) return Cmp::Equal;
                return Cmp::Unordered;
            case Type::String: return compare_strings(a, b);
            case Type::Bool: return a.b == b.b ? Cmp::Equal : (a.b ? Cmp::Greater : Cmp::Less);
            case Type::Null: break;
        }
        return Cmp::Null;
    }
    if (a.type == Type::Int && b.type == Type::Double) return compare_int_double(a.i, b.d);
    if (a.type == Type::Double && b.type == Type::Int) return flip(compare_int_double(b.i, a.d));
    return Cmp::Mismatch;
}

// x % y with SQL's NULL-on-zero rule (functions.cc).
Value modulo(const Value& a, const Value& b, const EvalContext& ctx) noexcept;

// Binary operators over two evaluated operands: Int/Double take a direct
// path before the general dynamic-typing rules. Inline so that compiled
// operands (compiled_expr.h) evaluate a whole `a op b` without a call.
template <ExprOp Op>
[[gnu::always_inline]] inline Value arith(const Value& a, const Value& b, const EvalContext& ctx) noexcept {
    if (a.type == Type::Int && b.type == Type::Int) {
        int64_t r;
        if constexpr (Op == ExprOp::Add) {
            if (__builtin_add_overflow(a.i, b.i, &r)) return mismatch(ctx);
        } else if constexpr (Op == ExprOp::Sub) {
            if (__builtin_sub_overflow(a.i, b.i, &r)) return mismatch(ctx);
        } else if constexpr (Op == ExprOp::Mul) {
            if (__builtin_mul_overflow(a.i, b.i, &r)) return mismatch(ctx);
        } else if constexpr (Op == ExprOp::Div) {
            if (b.i == 0) return Value::null();
            if (a.i == INT64_MIN && b.i == -1) return mismatch(ctx);  // overflow
            r = a.i / b.i;  // C++ truncates toward zero, as SQL does
        } else {
            return modulo(a, b, ctx);
        }
        return Value::of_int(r);
    }
    if (a.type == Type::Double && b.type == Type::Double) {
        if constexpr (Op == ExprOp::Add) return Value::of_double(a.d + b.d);
        if constexpr (Op == ExprOp::Sub) return Value::of_double(a.d - b.d);
        if constexpr (Op == ExprOp::Mul) return Value::of_double(a.d * b.d);
    }
    if constexpr (Op == ExprOp::Add || Op == ExprOp::Sub || Op == ExprOp::Mul) {
        // price * quantity: one side a Double, the other an Int (as below, without the checks).
        if (a.type == Type::Double && b.type == Type::Int) {
            const double y = static_cast<double>(b.i);
            if constexpr (Op == ExprOp::Add) return Value::of_double(a.d + y);
            if constexpr (Op == ExprOp::Sub) return Value::of_double(a.d - y);
            if constexpr (Op == ExprOp::Mul) return Value::of_double(a.d * y);
        }
    }
    if (a.is_null() || b.is_null()) return Value::null();
    if (!a.is_number() || !b.is_number()) return mismatch(ctx);
    const double x = a.as_double();
    const double y = b.as_double();
    if constexpr (Op == ExprOp::Add) return Value::of_double(x + y);
    if constexpr (Op == ExprOp::Sub) return Value::of_double(x - y);
    if constexpr (Op == ExprOp::Mul) return Value::of_double(x * y);
    if constexpr (Op == ExprOp::Div) {
        if (y == 0.0) return Value::null();
        return Value::of_double(x / y);
    }
    return modulo(a, b, ctx);
}

template <ExprOp Op>
constexpr bool holds(Cmp c) noexcept {
    if constexpr (Op == ExprOp::Eq) return c == Cmp::Equal;
    if constexpr (Op == ExprOp::Ne) return c != Cmp::Equal;
    if constexpr (Op == ExprOp::Lt) return c == Cmp::Less;
    if constexpr (Op == ExprOp::Le) return c == Cmp::Less || c == Cmp::Equal;
    if constexpr (Op == ExprOp::Gt) return c == Cmp::Greater;
    return c == Cmp::Greater || c == Cmp::Equal;
}

// IEEE comparison: with a NaN only <> holds, as compare_values decides too.
template <ExprOp Op>
constexpr bool holds(double x, double y) noexcept {
    if constexpr (Op == ExprOp::Eq) return x == y;
    if constexpr (Op == ExprOp::Ne) return x != y;
    if constexpr (Op == ExprOp::Lt) return x < y;
    if constexpr (Op == ExprOp::Le) return x <= y;
    if constexpr (Op == ExprOp::Gt) return x > y;
    return x >= y;
}

// Integers up to 2^53 convert to double exactly.
inline bool exact_in_double(int64_t i) noexcept {
    return static_cast<uint64_t>(i) + (uint64_t{1} << 53) <= (uint64_t{1} << 54);
}

template <ExprOp Op>
[[gnu::always_inline]] inline Value comparison(const Value& a, const Value& b, const EvalContext& ctx) noexcept {
    if (a.type == Type::Int && b.type == Type::Int) {
        const Cmp c = a.i < b.i ? Cmp::Less : (a.i > b.i ? Cmp::Greater : Cmp::Equal);
        return Value::of_bool(holds<Op>(c));
    }
    if (a.type == Type::Double) {
        if (b.type == Type::Double) return Value::of_bool(holds<Op>(a.d, b.d));
        if (b.type == Type::Int && exact_in_double(b.i)) {
            return Value::of_bool(holds<Op>(a.d, static_cast<double>(b.i)));
        }
    } else if (a.type == Type::Int && b.type == Type::Double && exact_in_double(a.i)) {
        return Value::of_bool(holds<Op>(static_cast<double>(a.i), b.d));
    }
    const Cmp c = compare_values(a, b);
    if (c == Cmp::Null) return Value::null();
    if (c == Cmp::Mismatch) return mismatch(ctx);
    return Value::of_bool(holds<Op>(c));  // Unordered (NaN): only <> holds
}

// Text of a scalar for || and CONCAT and CAST(... AS VARCHAR). Strings are
// returned as they are; numbers and bools are formatted into buf
// (kDoubleTextMax bytes). NaN and infinities print as Java does (Flink).
inline std::string_view scalar_text(const Value& v, char* buf) noexcept {
    switch (v.type) {
        case Type::String: return v.str();
        case Type::Int: return {buf, format_int(buf, v.i)};
        case Type::Double:
            if (std::isnan(v.d)) return "NaN";
            if (std::isinf(v.d)) return v.d > 0 ? std::string_view("Infinity") : std::string_view("-Infinity");
            return {buf, format_finite_double(buf, v.d)};
        case Type::Bool: return v.b ? std::string_view("true") : std::string_view("false");
        case Type::Null: break;
    }
    return {};
}

inline bool is_utf8_continuation(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }

}  // namespace sluice::detail
