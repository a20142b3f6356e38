// Helpers shared by expression evaluation, functions and row serialization:
// mismatch accounting, scratch strings, value comparison and number text.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

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

// Longest text of a double in shortest round-trip form plus ".0".
inline constexpr std::size_t kDoubleTextMax = 32;
inline constexpr std::size_t kIntTextMax = 20;

inline std::size_t format_int(char* out, int64_t v) noexcept {
    return static_cast<std::size_t>(std::to_chars(out, out + kIntTextMax, v).ptr - out);
}

// Shortest round-trip text of a finite double; integral values keep a ".0"
// so that a DOUBLE column stays recognisable (300.0, not 300). Integral
// values below 1e16 print in full (100000.0, not to_chars' 1e+05): readable,
// still exact, and the fast path for the common whole-number case.
inline std::size_t format_finite_double(char* out, double d) noexcept {
    if (std::trunc(d) == d && std::fabs(d) < 1e16 && !(d == 0 && std::signbit(d))) {
        const std::size_t n = format_int(out, static_cast<int64_t>(d));
        out[n] = '.';
        out[n + 1] = '0';
        return n + 2;
    }
    char* end = std::to_chars(out, out + kDoubleTextMax - 2, d).ptr;
    bool plain = true;
    for (const char* p = out; p != end; ++p) {
        if (*p == '.' || *p == 'e' || *p == 'n') {
            plain = false;
            break;
        }
    }
    if (plain) {
        end[0] = '.';
        end[1] = '0';
        end += 2;
    }
    return static_cast<std::size_t>(end - out);
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
