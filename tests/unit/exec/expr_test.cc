// Unit tests of expression evaluation, scalar functions, CAST, the group-key
// codec, row serialization, record preparation and stateless projection.
// Expression trees are built by hand so these tests do not depend on the
// SQL front end.
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "../../../src/exec/compiled_expr.h"
#include "../../../src/exec/key_inline.h"
#include "../../../src/exec/number_text.h"
#include "../../../src/exec/row_format.h"
#include "../../support/scale.h"
#include "sluice/arena.h"
#include "sluice/base.h"
#include "sluice/exec.h"
#include "sluice/out_buffer.h"
#include "sluice/plan.h"
#include "sluice/stats.h"
#include "sluice/value.h"

// ---------------------------------------------------------------- allocation counting
// Every operator new of this binary is counted, so steady-state tests can
// assert that the hot path allocates nothing.
namespace {
uint64_t g_allocations = 0;
}  // namespace

// The replacements pair malloc with free; GCC cannot see through that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t al) {
    ++g_allocations;
    const auto a = static_cast<std::size_t>(al);
    if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace sluice {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------- builders

struct Exprs {
    ExprPool pool;

    ExprId node(ExprOp op, std::initializer_list<ExprId> args = {}, uint8_t aux = 0, uint32_t index = 0) {
        ExprNode n;
        n.op = op;
        n.aux = aux;
        n.index = index;
        n.nargs = static_cast<uint16_t>(args.size());
        n.first_arg = static_cast<uint32_t>(pool.args.size());
        for (ExprId a : args) pool.args.push_back(a);
        pool.nodes.push_back(n);
        return static_cast<ExprId>(pool.nodes.size() - 1);
    }
    ExprId konst(Value v) {
        pool.consts.push_back(v);
        return node(ExprOp::Const, {}, 0, static_cast<uint32_t>(pool.consts.size() - 1));
    }
    ExprId i(int64_t v) { return konst(Value::of_int(v)); }
    ExprId d(double v) { return konst(Value::of_double(v)); }
    ExprId b(bool v) { return konst(Value::of_bool(v)); }
    ExprId null() { return konst(Value::null()); }
    ExprId s(std::string v) {
        pool.const_strings.push_back(std::move(v));
        return konst(Value::of_string(pool.const_strings.back()));
    }
    ExprId field(uint32_t slot) { return node(ExprOp::Field, {}, 0, slot); }
    ExprId op(ExprOp o, ExprId a) { return node(o, {a}); }
    ExprId op(ExprOp o, ExprId a, ExprId b2) { return node(o, {a, b2}); }
    ExprId fn(Func f, std::initializer_list<ExprId> args) { return node(ExprOp::Func, args, static_cast<uint8_t>(f)); }
    ExprId cast(ExprId x, Type t) { return node(ExprOp::Cast, {x}, static_cast<uint8_t>(t)); }
};

// Evaluates single expressions with a scratch arena and a mismatch counter.
struct Eval {
    Exprs x;
    Arena arena;
    uint64_t mismatches = 0;
    std::vector<Value> fields;
    std::vector<Value> keys;
    std::vector<Value> aggs;
    std::vector<Value> analytics;

    EvalContext ctx() {
        EvalContext c;
        c.fields = fields.data();
        c.keys = keys.data();
        c.aggs = aggs.data();
        c.analytics = analytics.data();
        c.window_start = 1000;
        c.window_end = 2000;
        c.arrival_ms = 12345;
        c.scratch = &arena;
        c.type_mismatch = &mismatches;
        return c;
    }
    Value operator()(ExprId id) { return eval(x.pool, id, ctx()); }
    bool pred(ExprId id) { return eval_predicate(x.pool, id, ctx()); }
};

::testing::AssertionResult is_int(const Value& v, int64_t want) {
    if (v.type == Type::Int && v.i == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "type " << static_cast<int>(v.type) << " i=" << v.i << ", want Int "
                                         << want;
}
::testing::AssertionResult is_double(const Value& v, double want) {
    if (v.type == Type::Double && (v.d == want || (std::isnan(v.d) && std::isnan(want))))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "type " << static_cast<int>(v.type) << " d=" << v.d << ", want Double "
                                         << want;
}
::testing::AssertionResult is_bool(const Value& v, bool want) {
    if (v.type == Type::Bool && v.b == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "type " << static_cast<int>(v.type) << ", want Bool " << want;
}
::testing::AssertionResult is_str(const Value& v, std::string_view want) {
    if (v.type == Type::String && v.str() == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "type " << static_cast<int>(v.type)
                                         << (v.type == Type::String ? " '" + std::string(v.str()) + "'" : "")
                                         << ", want '" << want << "'";
}
::testing::AssertionResult is_null(const Value& v) {
    if (v.type == Type::Null) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "type " << static_cast<int>(v.type) << ", want NULL";
}

// ---------------------------------------------------------------- leaves

TEST(EvalLeaves, SlotsAndTimes) {
    Eval e;
    e.fields = {Value::of_int(7), Value::of_string("ab")};
    e.keys = {Value::of_double(1.5)};
    e.aggs = {Value::null(), Value::of_int(99)};
    e.analytics = {Value::of_bool(true)};
    EXPECT_TRUE(is_int(e(e.x.field(0)), 7));
    EXPECT_TRUE(is_str(e(e.x.field(1)), "ab"));
    EXPECT_TRUE(is_double(e(e.x.node(ExprOp::KeyRef, {}, 0, 0)), 1.5));
    EXPECT_TRUE(is_int(e(e.x.node(ExprOp::AggRef, {}, 0, 1)), 99));
    EXPECT_TRUE(is_bool(e(e.x.node(ExprOp::AnalyticRef, {}, 0, 0)), true));
    EXPECT_TRUE(is_int(e(e.x.node(ExprOp::WindowStart)), 1000));
    EXPECT_TRUE(is_int(e(e.x.node(ExprOp::WindowEnd)), 2000));
    EXPECT_TRUE(is_int(e(e.x.node(ExprOp::ArrivalTime)), 12345));
    EXPECT_TRUE(is_str(e(e.x.s("const")), "const"));
    EXPECT_EQ(e.mismatches, 0u);
    // Outside a ROWS-window operator there are no analytics: NULL, not a crash.
    e.analytics.clear();
    EvalContext c = e.ctx();
    c.analytics = nullptr;
    EXPECT_TRUE(is_null(eval(e.x.pool, e.x.node(ExprOp::AnalyticRef, {}, 0, 0), c)));
}

// ---------------------------------------------------------------- arithmetic

TEST(EvalArith, IntStaysIntAndMixingGivesDouble) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Add, x.i(2), x.i(3))), 5));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Sub, x.i(2), x.i(3))), -1));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Mul, x.i(4), x.i(-3))), -12));
    EXPECT_TRUE(is_double(e(x.op(ExprOp::Add, x.i(2), x.d(0.5))), 2.5));
    EXPECT_TRUE(is_double(e(x.op(ExprOp::Mul, x.d(10.5), x.i(4))), 42.0));
    EXPECT_TRUE(is_double(e(x.op(ExprOp::Sub, x.d(1.5), x.d(0.25))), 1.25));
    EXPECT_TRUE(is_double(e(x.op(ExprOp::Div, x.d(10.5), x.i(3))), 3.5));
    EXPECT_TRUE(is_double(e(x.op(ExprOp::Div, x.i(1), x.d(4.0))), 0.25));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Neg, x.i(5))), -5));
    EXPECT_TRUE(is_double(e(x.op(ExprOp::Neg, x.d(2.5))), -2.5));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalArith, IntegerDivisionTruncatesTowardZero) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Div, x.i(7), x.i(2))), 3));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Div, x.i(-7), x.i(2))), -3));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Div, x.i(7), x.i(-2))), -3));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Mod, x.i(7), x.i(3))), 1));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Mod, x.i(-7), x.i(3))), -1));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Mod, x.i(7), x.i(-3))), 1));
    EXPECT_TRUE(is_double(e(x.op(ExprOp::Mod, x.d(7.5), x.i(2))), 1.5));
}

TEST(EvalArith, DivisionByZeroIsNullNotMismatch) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Div, x.i(1), x.i(0)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Div, x.d(1.0), x.d(0.0)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Div, x.i(1), x.d(0.0)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Mod, x.i(1), x.i(0)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Mod, x.d(1.5), x.i(0)))));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalArith, OverflowIsNullAndCounted) {
    Eval e;
    auto& x = e.x;
    const int64_t mx = INT64_MAX;
    const int64_t mn = INT64_MIN;
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Add, x.i(mx), x.i(1)))));
    EXPECT_EQ(e.mismatches, 1u);
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Sub, x.i(mn), x.i(1)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Mul, x.i(mx), x.i(2)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Div, x.i(mn), x.i(-1)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Neg, x.i(mn)))));
    EXPECT_EQ(e.mismatches, 5u);
    // INT64_MIN % -1 is mathematically 0 and must not trap.
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Mod, x.i(mn), x.i(-1))), 0));
    EXPECT_TRUE(is_int(e(x.op(ExprOp::Add, x.i(mx - 1), x.i(1))), mx));
    EXPECT_EQ(e.mismatches, 5u);
}

TEST(EvalArith, WrongTypeIsNullAndCountedOnce) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Add, x.s("3"), x.i(1)))));
    EXPECT_EQ(e.mismatches, 1u);
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Mul, x.d(2.0), x.b(true)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Neg, x.s("x")))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Mod, x.s("x"), x.i(2)))));
    EXPECT_EQ(e.mismatches, 4u);
    // A mismatch deep in a tree is counted once: its NULL then propagates quietly.
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Add, x.op(ExprOp::Mul, x.s("a"), x.i(2)), x.i(1)))));
    EXPECT_EQ(e.mismatches, 5u);
}

TEST(EvalArith, NullPropagatesWithoutCounting) {
    Eval e;
    auto& x = e.x;
    e.fields = {Value::null()};
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Add, x.field(0), x.i(1)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Div, x.d(1.0), x.null()))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Add, x.null(), x.s("x")))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Neg, x.null()))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Div, x.null(), x.i(0)))));
    EXPECT_EQ(e.mismatches, 0u);
}

// ---------------------------------------------------------------- comparisons

TEST(EvalCompare, NumbersByValue) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.i(1), x.d(1.0))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.i(1), x.d(1.5))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Gt, x.d(-0.5), x.i(-1))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Ge, x.i(3), x.i(3))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Le, x.i(4), x.i(3))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Ne, x.d(2.0), x.d(2.0))), false));
    // 2^53 + 1 is not representable as a double: the comparison stays exact.
    const int64_t big = (int64_t{1} << 53) + 1;
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Gt, x.i(big), x.d(9007199254740992.0))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.i(big), x.d(9007199254740992.0))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.i(big - 1), x.d(9007199254740992.0))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.i(-3), x.d(-2.5))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Le, x.d(-2.5), x.i(-3))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.i(INT64_MAX), x.d(9223372036854775808.0))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Ge, x.d(9223372036854775808.0), x.i(INT64_MAX))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.d(-9007199254740994.0), x.i(-big))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Gt, x.d(-kInf), x.i(INT64_MIN))), false));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalCompare, NaNIsUnordered) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.d(kNaN), x.d(kNaN))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Ne, x.d(kNaN), x.i(1))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.i(1), x.d(kNaN))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Ge, x.d(kNaN), x.d(1.0))), false));
}

TEST(EvalCompare, StringsBytewiseAndBools) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.s("a"), x.s("b"))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Gt, x.s("ab"), x.s("a"))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.s("B"), x.s("a"))), true));  // bytewise, not collated
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.s("abc"), x.s("abc"))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.s(std::string("a\0b", 3)), x.s(std::string("a\0c", 3)))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.s("\xc3\xa9"), x.s("z"))), false));  // 0xC3 > 'z'
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.s(""), x.s(""))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Lt, x.b(false), x.b(true))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Eq, x.b(true), x.b(true))), true));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalCompare, MismatchAndNull) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Eq, x.i(1), x.s("1")))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Lt, x.b(true), x.i(1)))));
    EXPECT_EQ(e.mismatches, 2u);
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Eq, x.null(), x.null()))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Ne, x.i(1), x.null()))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Eq, x.null(), x.s("x")))));
    EXPECT_EQ(e.mismatches, 2u);
}

// ---------------------------------------------------------------- logic

// Three-valued truth table: T, F, NULL.
TEST(EvalLogic, AndOrTruthTables) {
    Eval e;
    auto& x = e.x;
    const ExprId t = x.b(true);
    const ExprId f = x.b(false);
    const ExprId n = x.null();
    const ExprId vals[3] = {t, f, n};
    // expected[a][b]: 1 true, 0 false, -1 null
    const int and_tab[3][3] = {{1, 0, -1}, {0, 0, 0}, {-1, 0, -1}};
    const int or_tab[3][3] = {{1, 1, 1}, {1, 0, -1}, {1, -1, -1}};
    for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) {
            const Value va = e(x.op(ExprOp::And, vals[a], vals[b]));
            const Value vo = e(x.op(ExprOp::Or, vals[a], vals[b]));
            if (and_tab[a][b] < 0) EXPECT_TRUE(is_null(va)) << a << "," << b;
            else EXPECT_TRUE(is_bool(va, and_tab[a][b] == 1)) << a << "," << b;
            if (or_tab[a][b] < 0) EXPECT_TRUE(is_null(vo)) << a << "," << b;
            else EXPECT_TRUE(is_bool(vo, or_tab[a][b] == 1)) << a << "," << b;
        }
    }
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Not, t)), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Not, f)), true));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Not, n))));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalLogic, NonBoolOperandIsMismatch) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_null(e(x.op(ExprOp::And, x.b(true), x.i(1)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Or, x.s("true"), x.b(false)))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Not, x.i(0)))));
    EXPECT_EQ(e.mismatches, 3u);
    // The deciding left side short-circuits: the right side is not evaluated.
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::And, x.b(false), x.s("x"))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::Or, x.b(true), x.op(ExprOp::Add, x.s("x"), x.i(1)))), true));
    EXPECT_EQ(e.mismatches, 3u);
}

TEST(EvalLogic, IsNullAndPredicate) {
    Eval e;
    auto& x = e.x;
    e.fields = {Value::null(), Value::of_int(0)};
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::IsNull, x.field(0))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::IsNull, x.field(1))), false));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::IsNotNull, x.field(1))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::IsNotNull, x.field(0))), false));
    EXPECT_TRUE(e.pred(x.b(true)));
    EXPECT_FALSE(e.pred(x.b(false)));
    EXPECT_FALSE(e.pred(x.null()));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_FALSE(e.pred(x.i(1)));  // not a truth value
    EXPECT_EQ(e.mismatches, 1u);
}

// ---------------------------------------------------------------- IN, BETWEEN

TEST(EvalIn, SqlNullRules) {
    Eval e;
    auto& x = e.x;
    auto in = [&](ExprOp op, ExprId v, std::initializer_list<ExprId> items) {
        std::vector<ExprId> all{v};
        all.insert(all.end(), items);
        ExprNode n;
        n.op = op;
        n.nargs = static_cast<uint16_t>(all.size());
        n.first_arg = static_cast<uint32_t>(x.pool.args.size());
        for (ExprId a : all) x.pool.args.push_back(a);
        x.pool.nodes.push_back(n);
        return e(static_cast<ExprId>(x.pool.nodes.size() - 1));
    };
    EXPECT_TRUE(is_bool(in(ExprOp::In, x.i(7), {x.i(7), x.i(9)}), true));
    EXPECT_TRUE(is_bool(in(ExprOp::In, x.i(8), {x.i(7), x.i(9)}), false));
    EXPECT_TRUE(is_bool(in(ExprOp::In, x.i(1), {x.d(1.0)}), true));
    EXPECT_TRUE(is_bool(in(ExprOp::In, x.s("b"), {x.s("a"), x.s("b")}), true));
    EXPECT_TRUE(is_null(in(ExprOp::In, x.null(), {x.i(1)})));
    EXPECT_TRUE(is_null(in(ExprOp::In, x.i(2), {x.i(1), x.null()})));
    EXPECT_TRUE(is_bool(in(ExprOp::In, x.i(1), {x.null(), x.i(1)}), true));
    EXPECT_TRUE(is_bool(in(ExprOp::NotIn, x.i(8), {x.i(7), x.i(9)}), true));
    EXPECT_TRUE(is_bool(in(ExprOp::NotIn, x.i(7), {x.i(7), x.i(9)}), false));
    EXPECT_TRUE(is_null(in(ExprOp::NotIn, x.i(2), {x.i(1), x.null()})));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(in(ExprOp::In, x.s("7"), {x.i(7), x.i(9)})));
    EXPECT_EQ(e.mismatches, 1u);
    EXPECT_TRUE(is_bool(in(ExprOp::In, x.i(9), {x.s("a"), x.i(9)}), true));
}

TEST(EvalBetween, InclusiveWithNulls) {
    Eval e;
    auto& x = e.x;
    auto btw = [&](ExprOp op, ExprId v, ExprId lo, ExprId hi) { return e(x.node(op, {v, lo, hi})); };
    EXPECT_TRUE(is_bool(btw(ExprOp::Between, x.i(1), x.i(1), x.i(3)), true));
    EXPECT_TRUE(is_bool(btw(ExprOp::Between, x.i(3), x.i(1), x.i(3)), true));
    EXPECT_TRUE(is_bool(btw(ExprOp::Between, x.d(3.5), x.i(1), x.i(3)), false));
    EXPECT_TRUE(is_bool(btw(ExprOp::Between, x.i(0), x.i(1), x.i(3)), false));
    EXPECT_TRUE(is_bool(btw(ExprOp::Between, x.s("b"), x.s("a"), x.s("c")), true));
    EXPECT_TRUE(is_bool(btw(ExprOp::NotBetween, x.i(5), x.i(1), x.i(3)), true));
    EXPECT_TRUE(is_bool(btw(ExprOp::NotBetween, x.i(2), x.i(1), x.i(3)), false));
    EXPECT_TRUE(is_null(btw(ExprOp::Between, x.null(), x.i(1), x.i(3))));
    EXPECT_TRUE(is_null(btw(ExprOp::Between, x.i(2), x.null(), x.i(3))));
    // One failing bound decides even when the other is unknown.
    EXPECT_TRUE(is_bool(btw(ExprOp::Between, x.i(5), x.null(), x.i(3)), false));
    EXPECT_TRUE(is_bool(btw(ExprOp::NotBetween, x.i(5), x.null(), x.i(3)), true));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(btw(ExprOp::Between, x.s("2"), x.i(1), x.i(3))));
    EXPECT_EQ(e.mismatches, 1u);
}

// ---------------------------------------------------------------- LIKE

bool like(const std::string& s, const std::string& p) {
    Eval e;
    const Value v = e(e.x.op(ExprOp::Like, e.x.s(s), e.x.s(p)));
    EXPECT_EQ(v.type, Type::Bool);
    return v.type == Type::Bool && v.b;
}

TEST(EvalLike, Patterns) {
    EXPECT_TRUE(like("aapl", "a%"));
    EXPECT_FALSE(like("msft", "a%"));
    EXPECT_TRUE(like("aapl", "%pl"));
    EXPECT_TRUE(like("aapl", "%ap%"));
    EXPECT_FALSE(like("aapl", "%x%"));
    EXPECT_TRUE(like("abc", "a_c"));
    EXPECT_FALSE(like("abbc", "a_c"));
    EXPECT_TRUE(like("abc", "___"));
    EXPECT_FALSE(like("abc", "__"));
    EXPECT_TRUE(like("abc", "abc"));
    EXPECT_FALSE(like("abc", "ab"));
    EXPECT_FALSE(like("ab", "abc"));
    EXPECT_TRUE(like("", ""));
    EXPECT_TRUE(like("", "%"));
    EXPECT_TRUE(like("", "%%"));
    EXPECT_FALSE(like("", "_"));
    EXPECT_TRUE(like("anything", "%"));
    EXPECT_FALSE(like("Abc", "a%"));  // case-sensitive
    EXPECT_TRUE(like("a%b", "a%b"));
    EXPECT_TRUE(like("mississippi", "%iss%ppi"));
    EXPECT_TRUE(like("mississippi", "m%s_i%i"));
    EXPECT_FALSE(like("mississippi", "m%s_x%i"));
    EXPECT_TRUE(like("xaab", "%a_b"));
}

TEST(EvalLike, UnderscoreIsOneCodePoint) {
    EXPECT_TRUE(like("caf\xc3\xa9", "caf_"));
    EXPECT_FALSE(like("caf\xc3\xa9", "caf__"));
    EXPECT_TRUE(like("\xe2\x82\xac" "5", "_5"));
    EXPECT_TRUE(like("a\xf0\x9f\x98\x80z", "a_z"));
    EXPECT_TRUE(like("a\xf0\x9f\x98\x80z", "%_z"));
}

TEST(EvalLike, LongSubjectNoBlowUp) {
    // Exponential backtracking would never finish on this; the greedy matcher is linear-ish.
    const std::string s(20000, 'a');
    EXPECT_FALSE(like(s, "%a%a%a%a%a%a%a%a%a%a%b"));
    EXPECT_TRUE(like(s + "b", "%a%a%a%a%a%a%a%a%a%a%b"));
    EXPECT_TRUE(like(s, "a%a"));
}

TEST(EvalLike, NullAndMismatch) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Like, x.null(), x.s("a%")))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::NotLike, x.s("a"), x.null()))));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Like, x.i(12), x.s("1%")))));
    EXPECT_EQ(e.mismatches, 1u);
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::NotLike, x.s("msft"), x.s("a%"))), true));
    EXPECT_TRUE(is_bool(e(x.op(ExprOp::NotLike, x.s("amzn"), x.s("a%"))), false));
}

// ---------------------------------------------------------------- CASE, ||

TEST(EvalCase, SearchedCase) {
    Eval e;
    auto& x = e.x;
    e.fields = {Value::of_string("B"), Value::null()};
    const ExprId side_b = x.op(ExprOp::Eq, x.field(0), x.s("B"));
    const ExprId side_s = x.op(ExprOp::Eq, x.field(0), x.s("S"));
    EXPECT_TRUE(is_int(e(x.node(ExprOp::Case, {side_b, x.i(1), x.i(-1)}, 1)), 1));
    EXPECT_TRUE(is_int(e(x.node(ExprOp::Case, {side_s, x.i(1), x.i(-1)}, 1)), -1));
    EXPECT_TRUE(is_null(e(x.node(ExprOp::Case, {side_s, x.i(1)}, 0))));  // no ELSE
    EXPECT_TRUE(is_str(e(x.node(ExprOp::Case, {side_s, x.s("s"), side_b, x.s("b")}, 0)), "b"));
    // A NULL condition does not hold.
    const ExprId null_cond = x.op(ExprOp::Eq, x.field(1), x.i(1));
    EXPECT_TRUE(is_int(e(x.node(ExprOp::Case, {null_cond, x.i(1), x.i(2)}, 1)), 2));
    EXPECT_EQ(e.mismatches, 0u);
    // A condition that is not a truth value does not hold and is counted.
    EXPECT_TRUE(is_int(e(x.node(ExprOp::Case, {x.i(1), x.i(1), x.i(2)}, 1)), 2));
    EXPECT_EQ(e.mismatches, 1u);
    // Branches not taken are not evaluated.
    EXPECT_TRUE(is_int(e(x.node(ExprOp::Case, {x.b(true), x.i(1), x.op(ExprOp::Neg, x.s("x"))}, 1)), 1));
    EXPECT_EQ(e.mismatches, 1u);
}

TEST(EvalConcat, OperatorFormatsScalars) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_str(e(x.op(ExprOp::Concat, x.s("ab"), x.s("cd"))), "abcd"));
    EXPECT_TRUE(is_str(e(x.op(ExprOp::Concat, x.s("n="), x.i(-42))), "n=-42"));
    EXPECT_TRUE(is_str(e(x.op(ExprOp::Concat, x.d(3.0), x.s("x"))), "3.0x"));
    EXPECT_TRUE(is_str(e(x.op(ExprOp::Concat, x.d(0.1), x.b(true))), "0.1true"));
    EXPECT_TRUE(is_str(e(x.op(ExprOp::Concat, x.s(""), x.s("z"))), "z"));
    EXPECT_TRUE(is_str(e(x.op(ExprOp::Concat, x.s(std::string("a\0", 2)), x.s("b"))), std::string("a\0b", 3)));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Concat, x.s("a"), x.null()))));
    EXPECT_TRUE(is_null(e(x.op(ExprOp::Concat, x.null(), x.s("a")))));
    EXPECT_EQ(e.mismatches, 0u);
}

// ---------------------------------------------------------------- functions

TEST(EvalFunc, CoalesceAndNullif) {
    Eval e;
    auto& x = e.x;
    e.fields = {Value::null()};
    EXPECT_TRUE(is_str(e(x.fn(Func::Coalesce, {x.field(0), x.s("none")})), "none"));
    EXPECT_TRUE(is_int(e(x.fn(Func::Coalesce, {x.null(), x.i(3), x.i(4)})), 3));
    EXPECT_TRUE(is_null(e(x.fn(Func::Coalesce, {x.null(), x.field(0)}))));
    // Later arguments are not evaluated once one is non-NULL.
    EXPECT_TRUE(is_int(e(x.fn(Func::Coalesce, {x.i(1), x.op(ExprOp::Neg, x.s("x"))})), 1));
    EXPECT_TRUE(is_null(e(x.fn(Func::Nullif, {x.i(3), x.i(3)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Nullif, {x.i(3), x.d(3.0)}))));
    EXPECT_TRUE(is_int(e(x.fn(Func::Nullif, {x.i(3), x.i(4)})), 3));
    EXPECT_TRUE(is_int(e(x.fn(Func::Nullif, {x.i(3), x.null()})), 3));
    EXPECT_TRUE(is_str(e(x.fn(Func::Nullif, {x.s("a"), x.s("b")})), "a"));
    EXPECT_TRUE(is_null(e(x.fn(Func::Nullif, {x.null(), x.i(1)}))));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalFunc, AbsFloorCeilSqrtPowerMod) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_int(e(x.fn(Func::Abs, {x.i(-5)})), 5));
    EXPECT_TRUE(is_double(e(x.fn(Func::Abs, {x.d(-2.5)})), 2.5));
    EXPECT_TRUE(is_null(e(x.fn(Func::Abs, {x.null()}))));
    EXPECT_TRUE(is_int(e(x.fn(Func::Floor, {x.i(7)})), 7));
    EXPECT_TRUE(is_double(e(x.fn(Func::Floor, {x.d(-2.5)})), -3.0));
    EXPECT_TRUE(is_double(e(x.fn(Func::Ceil, {x.d(-2.5)})), -2.0));
    EXPECT_TRUE(is_double(e(x.fn(Func::Ceil, {x.d(2.1)})), 3.0));
    EXPECT_TRUE(is_int(e(x.fn(Func::Ceil, {x.i(-7)})), -7));
    EXPECT_TRUE(is_double(e(x.fn(Func::Sqrt, {x.i(16)})), 4.0));
    EXPECT_TRUE(is_double(e(x.fn(Func::Sqrt, {x.d(2.25)})), 1.5));
    EXPECT_TRUE(is_double(e(x.fn(Func::Power, {x.i(2), x.i(10)})), 1024.0));
    EXPECT_TRUE(is_double(e(x.fn(Func::Power, {x.d(9.0), x.d(0.5)})), 3.0));
    EXPECT_TRUE(is_int(e(x.fn(Func::Mod, {x.i(-7), x.i(3)})), -1));
    EXPECT_TRUE(is_double(e(x.fn(Func::Mod, {x.d(7.5), x.d(2.0)})), 1.5));
    EXPECT_EQ(e.mismatches, 0u);
    // Domain errors: NULL, not counted.
    EXPECT_TRUE(is_null(e(x.fn(Func::Sqrt, {x.i(-1)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Power, {x.d(-8.0), x.d(0.5)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Mod, {x.i(5), x.i(0)}))));
    EXPECT_EQ(e.mismatches, 0u);
    // Wrong types and overflow: NULL, counted.
    EXPECT_TRUE(is_null(e(x.fn(Func::Abs, {x.s("-1")}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Abs, {x.i(INT64_MIN)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Floor, {x.b(true)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Sqrt, {x.s("4")}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Power, {x.i(2), x.s("2")}))));
    EXPECT_EQ(e.mismatches, 5u);
}

TEST(EvalFunc, RoundHalfAwayFromZero) {
    Eval e;
    auto& x = e.x;
    auto round2 = [&](ExprId v, int64_t d) { return e(x.fn(Func::Round, {v, x.i(d)})); };
    EXPECT_TRUE(is_double(round2(x.op(ExprOp::Div, x.d(10.5), x.i(3)), 2), 3.5));
    EXPECT_TRUE(is_double(round2(x.op(ExprOp::Div, x.d(100.0), x.i(3)), 2), 33.33));
    EXPECT_TRUE(is_double(round2(x.op(ExprOp::Div, x.d(3.0), x.i(3)), 2), 1.0));
    EXPECT_TRUE(is_double(e(x.fn(Func::Round, {x.d(2.5)})), 3.0));
    EXPECT_TRUE(is_double(e(x.fn(Func::Round, {x.d(-2.5)})), -3.0));
    EXPECT_TRUE(is_double(e(x.fn(Func::Round, {x.d(2.4999)})), 2.0));
    EXPECT_TRUE(is_double(round2(x.d(2.675), 2), 2.68));  // as written, not as stored
    EXPECT_TRUE(is_double(round2(x.d(-2.675), 2), -2.68));
    EXPECT_TRUE(is_double(round2(x.d(1.005), 2), 1.01));
    EXPECT_TRUE(is_double(round2(x.d(0.995), 2), 1.0));
    EXPECT_TRUE(is_double(round2(x.d(99.5), 0), 100.0));
    EXPECT_TRUE(is_double(round2(x.d(0.00123), 3), 0.001));
    EXPECT_TRUE(is_double(round2(x.d(0.00123), 2), 0.0));
    EXPECT_TRUE(is_double(round2(x.d(1234.5), -2), 1200.0));
    EXPECT_TRUE(is_double(round2(x.d(1250.0), -2), 1300.0));
    EXPECT_TRUE(is_double(round2(x.d(50.0), -2), 100.0));
    EXPECT_TRUE(is_double(round2(x.d(50.0), -3), 0.0));
    EXPECT_TRUE(is_double(round2(x.d(1.5), 5), 1.5));
    EXPECT_TRUE(is_double(round2(x.d(1e300), 2), 1e300));
    EXPECT_TRUE(is_double(round2(x.d(1.2345e-10), 12), 1.23e-10));
    EXPECT_TRUE(is_double(round2(x.d(kNaN), 2), kNaN));
    EXPECT_TRUE(is_double(round2(x.d(kInf), 2), kInf));
    const Value neg_zero = round2(x.d(-0.001), 2);
    EXPECT_TRUE(is_double(neg_zero, 0.0));
    EXPECT_FALSE(std::signbit(neg_zero.d));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalFunc, RoundIntegers) {
    Eval e;
    auto& x = e.x;
    auto round2 = [&](int64_t v, int64_t d) { return e(x.fn(Func::Round, {x.i(v), x.i(d)})); };
    EXPECT_TRUE(is_int(e(x.fn(Func::Round, {x.i(7)})), 7));
    EXPECT_TRUE(is_int(round2(7, 2), 7));
    EXPECT_TRUE(is_int(round2(1234, -2), 1200));
    EXPECT_TRUE(is_int(round2(1250, -2), 1300));
    EXPECT_TRUE(is_int(round2(-1250, -2), -1300));
    EXPECT_TRUE(is_int(round2(-1249, -2), -1200));
    EXPECT_TRUE(is_int(round2(123, -25), 0));
    EXPECT_TRUE(is_int(round2(4999999999999999999LL, -19), 0));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(round2(INT64_MAX, -1)));  // 9223372036854775810 overflows
    EXPECT_TRUE(is_null(round2(INT64_MAX, -19)));
    EXPECT_EQ(e.mismatches, 2u);
    // NULL and wrong-typed places.
    EXPECT_TRUE(is_null(e(x.fn(Func::Round, {x.d(1.5), x.null()}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Round, {x.null(), x.i(1)}))));
    EXPECT_EQ(e.mismatches, 2u);
    EXPECT_TRUE(is_null(e(x.fn(Func::Round, {x.d(1.5), x.s("1")}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Round, {x.d(1.5), x.d(0.5)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Round, {x.s("1.5")}))));
    EXPECT_EQ(e.mismatches, 5u);
    EXPECT_TRUE(is_double(e(x.fn(Func::Round, {x.d(1.25), x.d(1.0)})), 1.3));  // an integral DOUBLE place is fine
}

TEST(EvalFunc, GreatestLeast) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_int(e(x.fn(Func::Greatest, {x.i(1), x.i(5), x.i(3)})), 5));
    EXPECT_TRUE(is_int(e(x.fn(Func::Least, {x.i(1), x.i(5), x.i(-3)})), -3));
    EXPECT_TRUE(is_int(e(x.fn(Func::Greatest, {x.null(), x.i(2), x.null()})), 2));
    EXPECT_TRUE(is_null(e(x.fn(Func::Least, {x.null(), x.null()}))));
    // Mixed numbers compare by value; the result is DOUBLE.
    EXPECT_TRUE(is_double(e(x.fn(Func::Greatest, {x.i(1), x.d(2.5)})), 2.5));
    EXPECT_TRUE(is_double(e(x.fn(Func::Greatest, {x.i(3), x.d(2.5)})), 3.0));
    EXPECT_TRUE(is_int(e(x.fn(Func::Least, {x.i(3), x.null(), x.i(4)})), 3));
    EXPECT_TRUE(is_str(e(x.fn(Func::Greatest, {x.s("apple"), x.s("pear"), x.s("fig")})), "pear"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Least, {x.s("apple"), x.s("pear"), x.s("fig")})), "apple"));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(e(x.fn(Func::Greatest, {x.i(1), x.s("a")}))));
    EXPECT_EQ(e.mismatches, 1u);
}

TEST(EvalFunc, UpperLowerLengthTrim) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_str(e(x.fn(Func::Upper, {x.s("aapl")})), "AAPL"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Upper, {x.s("Mixed 1-z")})), "MIXED 1-Z"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Upper, {x.s("caf\xc3\xa9")})), "CAF\xc3\xa9"));  // ASCII only
    EXPECT_TRUE(is_str(e(x.fn(Func::Lower, {x.s("HeLLo")})), "hello"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Lower, {x.s("")})), ""));
    // An unchanged string is returned as it is, without a copy.
    e.fields = {Value::of_string("ABC")};
    EXPECT_EQ(e(x.fn(Func::Upper, {x.field(0)})).s, e.fields[0].s);
    EXPECT_TRUE(is_int(e(x.fn(Func::Length, {x.s("hello")})), 5));
    EXPECT_TRUE(is_int(e(x.fn(Func::Length, {x.s("h\xc3\xa9llo")})), 5));
    EXPECT_TRUE(is_int(e(x.fn(Func::Length, {x.s("\xf0\x9f\x98\x80")})), 1));
    EXPECT_TRUE(is_int(e(x.fn(Func::Length, {x.s("")})), 0));
    EXPECT_TRUE(is_str(e(x.fn(Func::Trim, {x.s("  a b  ")})), "a b"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Trim, {x.s("   ")})), ""));
    EXPECT_TRUE(is_str(e(x.fn(Func::Trim, {x.s("\tx ")})), "\tx"));  // spaces only
    EXPECT_TRUE(is_null(e(x.fn(Func::Upper, {x.null()}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Length, {x.null()}))));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(e(x.fn(Func::Upper, {x.i(1)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Lower, {x.b(true)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Length, {x.i(12)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Trim, {x.d(1.0)}))));
    EXPECT_EQ(e.mismatches, 4u);
}

TEST(EvalFunc, Substring) {
    Eval e;
    auto& x = e.x;
    auto sub3 = [&](const char* s, int64_t start, int64_t len) {
        return e(x.fn(Func::Substring, {x.s(s), x.i(start), x.i(len)}));
    };
    auto sub2 = [&](const char* s, int64_t start) { return e(x.fn(Func::Substring, {x.s(s), x.i(start)})); };
    EXPECT_TRUE(is_str(sub3("hello", 2, 3), "ell"));
    EXPECT_TRUE(is_str(sub3("hello", 1, 5), "hello"));
    EXPECT_TRUE(is_str(sub3("hello", 4, 10), "lo"));
    EXPECT_TRUE(is_str(sub3("hello", 0, 2), "h"));
    EXPECT_TRUE(is_str(sub3("hello", -1, 3), "h"));
    EXPECT_TRUE(is_str(sub3("hello", -5, 3), ""));
    EXPECT_TRUE(is_str(sub3("hello", 2, 0), ""));
    EXPECT_TRUE(is_str(sub3("hello", 9, 2), ""));
    EXPECT_TRUE(is_str(sub2("hello", 2), "ello"));
    EXPECT_TRUE(is_str(sub2("hello", -3), "hello"));
    EXPECT_TRUE(is_str(sub2("hello", 6), ""));
    EXPECT_TRUE(is_str(sub3("h\xc3\xa9llo", 2, 2), "\xc3\xa9l"));
    EXPECT_TRUE(is_str(sub2("\xe2\x82\xac\xe2\x82\xac!", 2), "\xe2\x82\xac!"));
    EXPECT_TRUE(is_str(sub3("abc", 2, INT64_MAX), "bc"));
    EXPECT_TRUE(is_null(sub3("hello", 1, -1)));  // negative length
    EXPECT_TRUE(is_null(e(x.fn(Func::Substring, {x.null(), x.i(1)}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Substring, {x.s("abc"), x.null(), x.i(1)}))));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(e(x.fn(Func::Substring, {x.s("abc"), x.s("1")}))));
    EXPECT_TRUE(is_null(e(x.fn(Func::Substring, {x.i(123), x.i(1)}))));
    EXPECT_EQ(e.mismatches, 2u);
}

TEST(EvalFunc, ConcatAndReplace) {
    Eval e;
    auto& x = e.x;
    EXPECT_TRUE(is_str(e(x.fn(Func::Concat, {x.s("a"), x.null(), x.s("b")})), "ab"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Concat, {x.s("n"), x.i(5), x.d(2.5), x.b(false)})), "n52.5false"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Concat, {x.null(), x.null()})), ""));
    EXPECT_TRUE(is_str(e(x.fn(Func::Replace, {x.s("a-b-c"), x.s("-"), x.s("+")})), "a+b+c"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Replace, {x.s("aaa"), x.s("aa"), x.s("b")})), "ba"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Replace, {x.s("hello"), x.s("l"), x.s("")})), "heo"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Replace, {x.s("hello"), x.s(""), x.s("x")})), "hello"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Replace, {x.s("hello"), x.s("z"), x.s("x")})), "hello"));
    EXPECT_TRUE(is_str(e(x.fn(Func::Replace, {x.s("abab"), x.s("ab"), x.s("xyz")})), "xyzxyz"));
    EXPECT_TRUE(is_null(e(x.fn(Func::Replace, {x.s("abc"), x.null(), x.s("x")}))));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(e(x.fn(Func::Replace, {x.s("a1"), x.i(1), x.s("x")}))));
    EXPECT_EQ(e.mismatches, 1u);
}

// ---------------------------------------------------------------- CAST

TEST(EvalCast, ToBigint) {
    Eval e;
    auto& x = e.x;
    auto c = [&](ExprId v) { return e(x.cast(v, Type::Int)); };
    EXPECT_TRUE(is_int(c(x.i(5)), 5));
    EXPECT_TRUE(is_int(c(x.d(2.9)), 2));
    EXPECT_TRUE(is_int(c(x.d(-2.9)), -2));
    EXPECT_TRUE(is_int(c(x.s("12")), 12));
    EXPECT_TRUE(is_int(c(x.s("  -34 ")), -34));
    EXPECT_TRUE(is_int(c(x.s("+7")), 7));
    EXPECT_TRUE(is_int(c(x.s("9223372036854775807")), INT64_MAX));
    EXPECT_TRUE(is_int(c(x.b(true)), 1));
    EXPECT_TRUE(is_int(c(x.b(false)), 0));
    EXPECT_TRUE(is_null(c(x.null())));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(c(x.s("x"))));
    EXPECT_TRUE(is_null(c(x.s("1.5"))));
    EXPECT_TRUE(is_null(c(x.s(""))));
    EXPECT_TRUE(is_null(c(x.s("12abc"))));
    EXPECT_TRUE(is_null(c(x.s("9223372036854775808"))));
    EXPECT_TRUE(is_null(c(x.d(1e19))));
    EXPECT_TRUE(is_null(c(x.d(kNaN))));
    EXPECT_TRUE(is_null(c(x.d(-kInf))));
    EXPECT_EQ(e.mismatches, 8u);
}

TEST(EvalCast, ToDouble) {
    Eval e;
    auto& x = e.x;
    auto c = [&](ExprId v) { return e(x.cast(v, Type::Double)); };
    EXPECT_TRUE(is_double(c(x.i(5)), 5.0));
    EXPECT_TRUE(is_double(c(x.d(2.5)), 2.5));
    EXPECT_TRUE(is_double(c(x.s("1.5")), 1.5));
    EXPECT_TRUE(is_double(c(x.s(" 1e3 ")), 1000.0));
    EXPECT_TRUE(is_double(c(x.s("-0.25")), -0.25));
    EXPECT_TRUE(is_double(c(x.s("+2")), 2.0));
    EXPECT_TRUE(is_double(c(x.b(true)), 1.0));
    EXPECT_TRUE(is_null(c(x.null())));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(c(x.s("abc"))));
    EXPECT_TRUE(is_null(c(x.s("1.5x"))));
    EXPECT_TRUE(is_null(c(x.s(""))));
    EXPECT_TRUE(is_null(c(x.s("1e999"))));
    EXPECT_EQ(e.mismatches, 4u);
}

TEST(EvalCast, ToVarchar) {
    Eval e;
    auto& x = e.x;
    auto c = [&](ExprId v) { return e(x.cast(v, Type::String)); };
    EXPECT_TRUE(is_str(c(x.i(-42)), "-42"));
    EXPECT_TRUE(is_str(c(x.d(300.0)), "300.0"));
    EXPECT_TRUE(is_str(c(x.d(0.1)), "0.1"));
    EXPECT_TRUE(is_str(c(x.d(1.0 / 3)), "0.3333333333333333"));
    EXPECT_TRUE(is_str(c(x.d(1e21)), "1e+21"));
    EXPECT_TRUE(is_str(c(x.d(kNaN)), "NaN"));
    EXPECT_TRUE(is_str(c(x.d(-kInf)), "-Infinity"));
    EXPECT_TRUE(is_str(c(x.b(true)), "true"));
    EXPECT_TRUE(is_str(c(x.b(false)), "false"));
    EXPECT_TRUE(is_str(c(x.s("as is")), "as is"));
    EXPECT_TRUE(is_null(c(x.null())));
    EXPECT_EQ(e.mismatches, 0u);
}

TEST(EvalCast, ToBoolean) {
    Eval e;
    auto& x = e.x;
    auto c = [&](ExprId v) { return e(x.cast(v, Type::Bool)); };
    EXPECT_TRUE(is_bool(c(x.s("true")), true));
    EXPECT_TRUE(is_bool(c(x.s("FALSE")), false));
    EXPECT_TRUE(is_bool(c(x.s(" True ")), true));
    EXPECT_TRUE(is_bool(c(x.i(0)), false));
    EXPECT_TRUE(is_bool(c(x.i(-3)), true));
    EXPECT_TRUE(is_bool(c(x.d(0.0)), false));
    EXPECT_TRUE(is_bool(c(x.d(0.5)), true));
    EXPECT_TRUE(is_bool(c(x.b(true)), true));
    EXPECT_TRUE(is_null(c(x.null())));
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_TRUE(is_null(c(x.s("yes"))));
    EXPECT_TRUE(is_null(c(x.s("1"))));
    EXPECT_TRUE(is_null(c(x.d(kNaN))));
    EXPECT_EQ(e.mismatches, 3u);
}

TEST(EvalScratch, StringResultsReuseTheArena) {
    Eval e;
    auto& x = e.x;
    e.fields = {Value::of_string("some symbol")};
    const ExprId upper = x.fn(Func::Upper, {x.op(ExprOp::Concat, x.field(0), x.i(1))});
    EXPECT_TRUE(is_str(e(upper), "SOME SYMBOL1"));
    const std::size_t reserved = e.arena.reserved_bytes();
    EXPECT_GT(reserved, 0u);
    for (int i = 0; i < 10000; ++i) {
        e.arena.reset();
        ASSERT_TRUE(is_str(e(upper), "SOME SYMBOL1"));
    }
    EXPECT_EQ(e.arena.reserved_bytes(), reserved);
}

TEST(EvalScratch, NoArenaGivesNullNotACrash) {
    Exprs x;
    const ExprId concat = x.op(ExprOp::Concat, x.s("a"), x.s("b"));
    EvalContext ctx;  // no scratch, no counter
    EXPECT_TRUE(is_null(eval(x.pool, concat, ctx)));
    EXPECT_TRUE(is_null(eval(x.pool, x.op(ExprOp::Add, x.s("a"), x.i(1)), ctx)));
}

// ---------------------------------------------------------------- key codec

std::vector<uint8_t> encode(std::initializer_list<Value> keys) {
    std::vector<Value> v(keys);
    const uint32_t n = encode_key(v.data(), static_cast<uint32_t>(v.size()), nullptr, 0);
    std::vector<uint8_t> out(n);
    EXPECT_EQ(encode_key(v.data(), static_cast<uint32_t>(v.size()), out.data(), n), n);
    return out;
}

TEST(KeyCodec, LayoutAndSizes) {
    EXPECT_TRUE(encode({}).empty());
    EXPECT_EQ(encode({Value::null()}).size(), 1u);
    EXPECT_EQ(encode({Value::of_bool(true)}).size(), 2u);
    EXPECT_EQ(encode({Value::of_int(1)}).size(), 9u);
    EXPECT_EQ(encode({Value::of_double(1.5)}).size(), 9u);
    EXPECT_EQ(encode({Value::of_string("abc")}).size(), 8u);
    const auto b = encode({Value::of_int(258)});
    EXPECT_EQ(b[0], static_cast<uint8_t>(Type::Int));
    int64_t i;
    std::memcpy(&i, b.data() + 1, 8);
    EXPECT_EQ(i, 258);
    const auto s = encode({Value::of_string("xy")});
    EXPECT_EQ(s[0], static_cast<uint8_t>(Type::String));
    uint32_t len;
    std::memcpy(&len, s.data() + 1, 4);
    EXPECT_EQ(len, 2u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.data() + 5), 2), "xy");
}

TEST(KeyCodec, CanonicalEqualities) {
    EXPECT_EQ(encode({Value::of_int(1)}), encode({Value::of_double(1.0)}));
    EXPECT_EQ(encode({Value::of_int(-7)}), encode({Value::of_double(-7.0)}));
    EXPECT_EQ(encode({Value::of_double(0.0)}), encode({Value::of_double(-0.0)}));
    EXPECT_EQ(encode({Value::of_double(kNaN)}), encode({Value::of_double(-kNaN)}));
    EXPECT_EQ(encode({Value::null()}), encode({Value{}}));  // NULL and missing alike
    EXPECT_NE(encode({Value::of_int(1)}), encode({Value::of_double(1.5)}));
    EXPECT_NE(encode({Value::of_int(1)}), encode({Value::of_string("1")}));
    EXPECT_NE(encode({Value::of_int(1)}), encode({Value::of_bool(true)}));
    EXPECT_NE(encode({Value::null()}), encode({Value::of_string("")}));
    EXPECT_NE(encode({Value::of_int(0)}), encode({Value::null()}));
    // Embedded zero bytes are part of the string.
    EXPECT_NE(encode({Value::of_string(std::string_view("a\0b", 3))}),
              encode({Value::of_string(std::string_view("a\0c", 3))}));
    EXPECT_NE(encode({Value::of_string(std::string_view("a\0", 2))}), encode({Value::of_string("a")}));
    // Boundaries between values are unambiguous.
    EXPECT_NE(encode({Value::of_string("ab"), Value::of_string("c")}),
              encode({Value::of_string("a"), Value::of_string("bc")}));
    // 2^63 is integral but outside int64: it stays a DOUBLE.
    EXPECT_EQ(encode({Value::of_double(9223372036854775808.0)})[0], static_cast<uint8_t>(Type::Double));
}

TEST(KeyCodec, RoundTrip) {
    const std::string_view with_zero("x\0y", 3);
    std::vector<Value> keys = {Value::of_int(INT64_MIN), Value::of_double(2.5),   Value::null(),
                               Value::of_bool(false),    Value::of_string(with_zero), Value::of_double(3.0),
                               Value::of_string(""),      Value::of_double(-kInf)};
    const auto n = static_cast<uint32_t>(keys.size());
    const uint32_t size = encode_key(keys.data(), n, nullptr, 0);
    std::vector<uint8_t> bytes(size);
    ASSERT_EQ(encode_key(keys.data(), n, bytes.data(), size), size);
    std::vector<Value> back(n);
    decode_key(bytes.data(), size, back.data(), n);
    EXPECT_TRUE(is_int(back[0], INT64_MIN));
    EXPECT_TRUE(is_double(back[1], 2.5));
    EXPECT_TRUE(is_null(back[2]));
    EXPECT_TRUE(is_bool(back[3], false));
    EXPECT_TRUE(is_str(back[4], with_zero));
    EXPECT_TRUE(is_int(back[5], 3));  // integral DOUBLE comes back as the BIGINT
    EXPECT_TRUE(is_str(back[6], ""));
    EXPECT_TRUE(is_double(back[7], -kInf));
    // Decoded strings point into the key bytes.
    EXPECT_GE(reinterpret_cast<const uint8_t*>(back[4].s), bytes.data());
    EXPECT_LT(reinterpret_cast<const uint8_t*>(back[4].s), bytes.data() + size);
    // Re-encoding the decoded values gives the same bytes.
    std::vector<uint8_t> again(size);
    EXPECT_EQ(encode_key(back.data(), n, again.data(), size), size);
    EXPECT_EQ(again, bytes);
}

TEST(KeyCodec, WritesNothingWhenTooSmall) {
    const Value k[2] = {Value::of_string("hello"), Value::of_int(1)};
    uint8_t buf[32];
    std::memset(buf, 0xAB, sizeof(buf));
    EXPECT_EQ(encode_key(k, 2, buf, 12), 19u);
    for (uint8_t b : buf) EXPECT_EQ(b, 0xAB);
    EXPECT_EQ(encode_key(k, 2, buf, 19), 19u);
    EXPECT_EQ(buf[0], static_cast<uint8_t>(Type::String));
    EXPECT_EQ(buf[19], 0xAB);
}

// ---------------------------------------------------------------- rows

void append_sink(void* ctx, const char* data, std::size_t n) { static_cast<std::string*>(ctx)->append(data, n); }

std::vector<OutputColumn> columns(std::initializer_list<const char*> names) {
    std::vector<OutputColumn> cols;
    for (const char* n : names) cols.push_back(OutputColumn{n, kNoExpr});
    return cols;
}

std::string row_text(const std::vector<OutputColumn>& cols, std::initializer_list<Value> values,
                     std::size_t capacity = 1 << 16) {
    std::string text;
    OutBuffer out(capacity, append_sink, &text);
    detail::RowFormat w(cols);
    std::vector<Value> v(values);
    w.write(out, v.data());
    out.flush();
    return text;
}

TEST(RowFormat, EveryType) {
    const auto cols = columns({"n", "b", "f", "i", "d", "s"});
    EXPECT_EQ(row_text(cols, {Value::null(), Value::of_bool(true), Value::of_bool(false), Value::of_int(-42),
                              Value::of_double(2.5), Value::of_string("x")}),
              "{\"n\":null,\"b\":true,\"f\":false,\"i\":-42,\"d\":2.5,\"s\":\"x\"}\n");
}

TEST(RowFormat, Numbers) {
    const auto cols = columns({"v"});
    auto one = [&](Value v) { return row_text(cols, {v}); };
    EXPECT_EQ(one(Value::of_double(300.0)), "{\"v\":300.0}\n");
    EXPECT_EQ(one(Value::of_double(42.0)), "{\"v\":42.0}\n");
    EXPECT_EQ(one(Value::of_double(0.1)), "{\"v\":0.1}\n");
    EXPECT_EQ(one(Value::of_double(33.33)), "{\"v\":33.33}\n");
    EXPECT_EQ(one(Value::of_double(-0.0)), "{\"v\":-0.0}\n");
    EXPECT_EQ(one(Value::of_double(100000.0)), "{\"v\":100000.0}\n");
    EXPECT_EQ(one(Value::of_double(-120.0)), "{\"v\":-120.0}\n");
    EXPECT_EQ(one(Value::of_double(1e15)), "{\"v\":1000000000000000.0}\n");
    EXPECT_EQ(one(Value::of_double(123456.5)), "{\"v\":123456.5}\n");
    EXPECT_EQ(one(Value::of_double(1e16)), "{\"v\":1e+16}\n");
    EXPECT_EQ(one(Value::of_double(1e21)), "{\"v\":1e+21}\n");
    EXPECT_EQ(one(Value::of_double(1.5e-7)), "{\"v\":1.5e-07}\n");
    EXPECT_EQ(one(Value::of_double(-2.2250738585072014e-308)), "{\"v\":-2.2250738585072014e-308}\n");
    EXPECT_EQ(one(Value::of_double(kNaN)), "{\"v\":null}\n");
    EXPECT_EQ(one(Value::of_double(kInf)), "{\"v\":null}\n");
    EXPECT_EQ(one(Value::of_double(-kInf)), "{\"v\":null}\n");
    EXPECT_EQ(one(Value::of_int(INT64_MIN)), "{\"v\":-9223372036854775808}\n");
    EXPECT_EQ(one(Value::of_int(0)), "{\"v\":0}\n");
}

TEST(RowFormat, StringEscaping) {
    const auto cols = columns({"s"});
    auto one = [&](std::string_view s) { return row_text(cols, {Value::of_string(s)}); };
    EXPECT_EQ(one(""), "{\"s\":\"\"}\n");
    EXPECT_EQ(one("a\"b\\c"), "{\"s\":\"a\\\"b\\\\c\"}\n");
    EXPECT_EQ(one("\n\r\t\b\f"), "{\"s\":\"\\n\\r\\t\\b\\f\"}\n");
    EXPECT_EQ(one(std::string_view("\x01\x1f\0", 3)), "{\"s\":\"\\u0001\\u001f\\u0000\"}\n");
    EXPECT_EQ(one("/\x7f"), "{\"s\":\"/\x7f\"}\n");
    // Valid UTF-8 passes through (2-, 3- and 4-byte forms).
    EXPECT_EQ(one("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "{\"s\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}\n");
    // Long ASCII runs take the 8-byte path; a special byte inside is still found.
    EXPECT_EQ(one("abcdefghijklmnop\"qrstuvwxyz0123456789"),
              "{\"s\":\"abcdefghijklmnop\\\"qrstuvwxyz0123456789\"}\n");
    EXPECT_EQ(one("abcdefgh\nijklmnop"), "{\"s\":\"abcdefgh\\nijklmnop\"}\n");
}

TEST(RowFormat, InvalidUtf8BecomesReplacementChar) {
    const auto cols = columns({"s"});
    auto one = [&](std::string_view s) { return row_text(cols, {Value::of_string(s)}); };
    const std::string fffd = "\xef\xbf\xbd";
    EXPECT_EQ(one("a\xff" "b"), "{\"s\":\"a" + fffd + "b\"}\n");
    EXPECT_EQ(one("\x80"), "{\"s\":\"" + fffd + "\"}\n");
    EXPECT_EQ(one("\xe2\x82" "A"), "{\"s\":\"" + fffd + "A\"}\n");     // truncated: one U+FFFD
    EXPECT_EQ(one("x\xe2\x82"), "{\"s\":\"x" + fffd + "\"}\n");         // truncated at the end
    EXPECT_EQ(one("\xc0\xaf"), "{\"s\":\"" + fffd + fffd + "\"}\n");    // overlong
    EXPECT_EQ(one("\xed\xa0\x80"), "{\"s\":\"" + fffd + fffd + fffd + "\"}\n");  // surrogate
    EXPECT_EQ(one("\xf4\x90\x80\x80"), "{\"s\":\"" + fffd + fffd + fffd + fffd + "\"}\n");  // > U+10FFFF
}

TEST(RowFormat, ColumnNamesEscapedAndNoColumns) {
    EXPECT_EQ(row_text(columns({"a\"b", "c\\d"}), {Value::of_int(1), Value::of_int(2)}),
              "{\"a\\\"b\":1,\"c\\\\d\":2}\n");
    EXPECT_EQ(row_text({}, {}), "{}\n");
}

TEST(RowFormat, LongStringsAndSmallBuffers) {
    std::string s(10000, 'x');
    s[5000] = '"';
    s[7000] = '\x01';
    std::string want_body(s.substr(0, 5000) + "\\\"" + s.substr(5001, 1999) + "\\u0001" + s.substr(7001));
    EXPECT_EQ(row_text(columns({"s"}), {Value::of_string(s)}), "{\"s\":\"" + want_body + "\"}\n");
    // Many rows through a buffer smaller than one row: every row still comes out whole.
    std::string text;
    {
        OutBuffer out(16, append_sink, &text);
        detail::RowFormat w(columns({"id", "name"}));
        for (int i = 0; i < 100; ++i) {
            const Value v[2] = {Value::of_int(i), Value::of_string("row")};
            w.write(out, v);
        }
        out.flush();
    }
    std::string want;
    for (int i = 0; i < 100; ++i) want += "{\"id\":" + std::to_string(i) + ",\"name\":\"row\"}\n";
    EXPECT_EQ(text, want);
}

// ---------------------------------------------------------------- Prepare

// SELECT k, COUNT(*), SUM(v * 2) FROM t WHERE v > 0 GROUP BY UPPER(k) [WINDOW TUMBLING(ts, ...)]
// fields: 0 = k, 1 = v, 2 = ts
Plan agg_plan(bool windowed) {
    Plan p;
    p.fields.resize(3);
    Exprs x;
    p.where = x.op(ExprOp::Gt, x.field(1), x.i(0));
    p.group_keys.push_back(x.fn(Func::Upper, {x.field(0)}));
    p.aggs.push_back(AggSpec{AggKind::CountStar, kNoExpr, "COUNT(*)"});
    p.aggs.push_back(AggSpec{AggKind::Sum, x.op(ExprOp::Mul, x.field(1), x.i(2)), "SUM(v * 2)"});
    if (windowed) {
        p.window.kind = WindowKind::Tumbling;
        p.window.size_ms = 60000;
        p.window.time = x.field(2);
    }
    p.exprs = std::move(x.pool);
    return p;
}

TEST(Prepare, KeyHashTimeAndArgs) {
    const Plan plan = agg_plan(true);
    Prepare prep(plan);
    ShardCounters counters;
    PreparedRecord out;
    const Value rec[3] = {Value::of_string("abc"), Value::of_int(5), Value::of_int(61000)};
    ASSERT_EQ(prep.run(rec, 7, out, counters), Prepare::Outcome::Ready);
    const Value key = Value::of_string("ABC");
    std::vector<uint8_t> want(64);
    want.resize(encode_key(&key, 1, want.data(), 64));
    ASSERT_EQ(out.key_len, want.size());
    EXPECT_EQ(std::memcmp(out.key, want.data(), want.size()), 0);
    EXPECT_EQ(out.hash, hash64(want.data(), want.size()));
    EXPECT_EQ(out.ts, 61000);
    ASSERT_EQ(out.nargs, 2u);
    EXPECT_TRUE(is_null(out.args[0]));  // COUNT(*)
    EXPECT_TRUE(is_int(out.args[1], 10));
    EXPECT_EQ(counters.type_mismatch, 0u);

    // Same group through a different spelling: same key and hash.
    const uint64_t h = out.hash;
    const Value rec2[3] = {Value::of_string("aBc"), Value::of_double(1.5), Value::of_double(1.7e12)};
    ASSERT_EQ(prep.run(rec2, 7, out, counters), Prepare::Outcome::Ready);
    EXPECT_EQ(out.hash, h);
    EXPECT_EQ(out.ts, 1700000000000);
    EXPECT_TRUE(is_double(out.args[1], 3.0));
}

TEST(Prepare, WhereAndTimeFilter) {
    const Plan plan = agg_plan(true);
    Prepare prep(plan);
    ShardCounters counters;
    PreparedRecord out;
    const Value filtered[3] = {Value::of_string("a"), Value::of_int(-1), Value::of_int(1)};
    EXPECT_EQ(prep.run(filtered, 0, out, counters), Prepare::Outcome::Filtered);
    const Value null_v[3] = {Value::of_string("a"), Value::null(), Value::of_int(1)};
    EXPECT_EQ(prep.run(null_v, 0, out, counters), Prepare::Outcome::Filtered);
    EXPECT_EQ(counters.type_mismatch, 0u);
    const Value str_ts[3] = {Value::of_string("a"), Value::of_int(1), Value::of_string("12:00")};
    EXPECT_EQ(prep.run(str_ts, 0, out, counters), Prepare::Outcome::Filtered);
    EXPECT_EQ(counters.type_mismatch, 1u);
    const Value frac_ts[3] = {Value::of_string("a"), Value::of_int(1), Value::of_double(1.5)};
    EXPECT_EQ(prep.run(frac_ts, 0, out, counters), Prepare::Outcome::Filtered);
    const Value no_ts[3] = {Value::of_string("a"), Value::of_int(1), Value::null()};
    EXPECT_EQ(prep.run(no_ts, 0, out, counters), Prepare::Outcome::Filtered);
    EXPECT_EQ(counters.type_mismatch, 3u);
    // A wrong-typed WHERE operand is a mismatch too, and filters.
    const Value str_v[3] = {Value::of_string("a"), Value::of_string("5"), Value::of_int(1)};
    EXPECT_EQ(prep.run(str_v, 0, out, counters), Prepare::Outcome::Filtered);
    EXPECT_EQ(counters.type_mismatch, 4u);
}

TEST(Prepare, NullKeysGroupTogetherAndKeyBufferGrows) {
    const Plan plan = agg_plan(false);
    Prepare prep(plan);
    ShardCounters counters;
    PreparedRecord out;
    const Value missing[3] = {Value::null(), Value::of_int(1), Value::null()};
    ASSERT_EQ(prep.run(missing, 99, out, counters), Prepare::Outcome::Ready);
    EXPECT_EQ(out.key_len, 1u);
    EXPECT_EQ(out.ts, 99);  // no window: arrival time
    const uint64_t null_hash = out.hash;
    ASSERT_EQ(prep.run(missing, 100, out, counters), Prepare::Outcome::Ready);
    EXPECT_EQ(out.hash, null_hash);
    // UPPER of a number is a mismatch: NULL key, the same group as a missing key.
    const Value num_key[3] = {Value::of_int(3), Value::of_int(1), Value::null()};
    ASSERT_EQ(prep.run(num_key, 0, out, counters), Prepare::Outcome::Ready);
    EXPECT_EQ(out.hash, null_hash);
    EXPECT_EQ(counters.type_mismatch, 1u);

    const std::string big(5000, 'q');
    const Value big_key[3] = {Value::of_string(big), Value::of_int(1), Value::null()};
    ASSERT_EQ(prep.run(big_key, 0, out, counters), Prepare::Outcome::Ready);
    ASSERT_EQ(out.key_len, 5u + 5000u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.key) + 5, 5000), std::string(5000, 'Q'));
}

TEST(Prepare, GlobalAggregateHasEmptyKey) {
    Plan p;
    p.fields.resize(1);
    Exprs x;
    p.aggs.push_back(AggSpec{AggKind::Sum, x.field(0), "SUM(v)"});
    p.exprs = std::move(x.pool);
    Prepare prep(p);
    ShardCounters counters;
    PreparedRecord out;
    const Value rec[1] = {Value::of_string("oops")};
    ASSERT_EQ(prep.run(rec, 0, out, counters), Prepare::Outcome::Ready);
    EXPECT_EQ(out.key_len, 0u);
    EXPECT_EQ(out.hash, hash64(nullptr, 0));
    // The raw argument goes through; the accumulator judges its type.
    EXPECT_TRUE(is_str(out.args[0], "oops"));
    EXPECT_EQ(counters.type_mismatch, 0u);
}

TEST(Prepare, SteadyStateAllocatesNothing) {
    const Plan plan = agg_plan(true);
    Prepare prep(plan);
    ShardCounters counters;
    PreparedRecord out;
    const Value rec[3] = {Value::of_string("some key"), Value::of_int(5), Value::of_int(61000)};
    ASSERT_EQ(prep.run(rec, 0, out, counters), Prepare::Outcome::Ready);
    const uint64_t before = g_allocations;
    for (int i = 0; i < 1000; ++i) {
        const Value r[3] = {Value::of_string(i % 2 ? "abc" : "some key"), Value::of_int(i + 1), Value::of_int(i)};
        if (prep.run(r, 0, out, counters) != Prepare::Outcome::Ready) ADD_FAILURE() << i;
    }
    EXPECT_EQ(g_allocations, before);
}

// ---------------------------------------------------------------- Projector

// SELECT id, price * quantity AS notional, UPPER(symbol) AS sym,
//        CASE WHEN side = 'B' THEN 1 ELSE -1 END AS sign, COALESCE(note, 'none') AS note,
//        CAST(qty_str AS BIGINT) AS q2, ROUND(price / 3, 2) AS p3
// FROM trades WHERE symbol LIKE 'a%' OR id IN (7, 9)
// fields: 0 id, 1 symbol, 2 price, 3 quantity, 4 side, 5 note, 6 qty_str
Plan projection_plan() {
    Plan p;
    p.fields.resize(7);
    Exprs x;
    const ExprId like = x.op(ExprOp::Like, x.field(1), x.s("a%"));
    const ExprId in = x.node(ExprOp::In, {x.field(0), x.i(7), x.i(9)});
    p.where = x.op(ExprOp::Or, like, in);
    p.columns.push_back({"id", x.field(0)});
    p.columns.push_back({"notional", x.op(ExprOp::Mul, x.field(2), x.field(3))});
    p.columns.push_back({"sym", x.fn(Func::Upper, {x.field(1)})});
    p.columns.push_back(
        {"sign", x.node(ExprOp::Case, {x.op(ExprOp::Eq, x.field(4), x.s("B")), x.i(1), x.i(-1)}, 1)});
    p.columns.push_back({"note", x.fn(Func::Coalesce, {x.field(5), x.s("none")})});
    p.columns.push_back({"q2", x.cast(x.field(6), Type::Int)});
    p.columns.push_back({"p3", x.fn(Func::Round, {x.op(ExprOp::Div, x.field(2), x.i(3)), x.i(2)})});
    p.exprs = std::move(x.pool);
    return p;
}

struct Trade {
    int64_t id;
    const char* symbol;
    double price;
    int64_t quantity;
    const char* side;
    const char* note;  // nullptr = NULL
    const char* qty_str;

    std::vector<Value> values() const {
        return {Value::of_int(id),
                Value::of_string(symbol),
                Value::of_double(price),
                Value::of_int(quantity),
                Value::of_string(side),
                note ? Value::of_string(note) : Value::null(),
                Value::of_string(qty_str)};
    }
};

TEST(Projector, ConformanceProjection) {
    const Plan plan = projection_plan();
    std::string text;
    OutBuffer out(1 << 12, append_sink, &text);
    ShardCounters counters;
    Projector proj(plan, out, counters);
    const Trade trades[] = {{1, "aapl", 10.5, 4, "B", nullptr, "12"},
                            {2, "msft", 3.0, 1, "S", nullptr, "x"},
                            {7, "msft", 3.0, 2, "S", "n7", "x"},
                            {9, "amzn", 100.0, 3, "B", "n9", "5"}};
    for (const Trade& t : trades) EXPECT_TRUE(proj.on_record(t.values().data(), 0));
    out.flush();
    EXPECT_EQ(text,
              "{\"id\":1,\"notional\":42.0,\"sym\":\"AAPL\",\"sign\":1,\"note\":\"none\",\"q2\":12,\"p3\":3.5}\n"
              "{\"id\":7,\"notional\":6.0,\"sym\":\"MSFT\",\"sign\":-1,\"note\":\"n7\",\"q2\":null,\"p3\":1.0}\n"
              "{\"id\":9,\"notional\":300.0,\"sym\":\"AMZN\",\"sign\":1,\"note\":\"n9\",\"q2\":5,\"p3\":33.33}\n");
    EXPECT_EQ(counters.records_processed, 4u);
    EXPECT_EQ(counters.rows_out, 3u);
    EXPECT_EQ(counters.type_mismatch, 1u);  // CAST('x' AS BIGINT) of the emitted row 7
}

TEST(Projector, LimitCountsRowsAfterWhere) {
    // SELECT customer_id, amount FROM orders WHERE amount > 150 LIMIT 1
    Plan p;
    p.fields.resize(2);
    Exprs x;
    p.where = x.op(ExprOp::Gt, x.field(1), x.i(150));
    p.columns.push_back({"customer_id", x.field(0)});
    p.columns.push_back({"amount", x.field(1)});
    p.limit = 1;
    p.exprs = std::move(x.pool);
    std::string text;
    OutBuffer out(1 << 12, append_sink, &text);
    ShardCounters counters;
    Projector proj(p, out, counters);
    const Value r1[2] = {Value::of_int(1), Value::of_double(100.0)};
    const Value r2[2] = {Value::of_int(2), Value::of_double(200.0)};
    const Value r3[2] = {Value::of_int(3), Value::of_double(300.0)};
    EXPECT_TRUE(proj.on_record(r1, 0));
    EXPECT_FALSE(proj.on_record(r2, 0));
    EXPECT_FALSE(proj.on_record(r3, 0));
    out.flush();
    EXPECT_EQ(text, "{\"customer_id\":2,\"amount\":200.0}\n");
    EXPECT_EQ(counters.rows_out, 1u);
    EXPECT_EQ(counters.records_processed, 3u);
}

TEST(Projector, LimitZeroAndNoWhere) {
    Plan p;
    p.fields.resize(1);
    Exprs x;
    p.columns.push_back({"t", x.node(ExprOp::ArrivalTime)});
    p.columns.push_back({"v", x.field(0)});
    p.exprs = std::move(x.pool);
    std::string text;
    OutBuffer out(1 << 12, append_sink, &text);
    ShardCounters counters;
    {
        Projector proj(p, out, counters);
        const Value r[1] = {Value::of_string("a")};
        EXPECT_TRUE(proj.on_record(r, 5));
        EXPECT_TRUE(proj.on_record(r, 6));
    }
    p.limit = 0;
    {
        Projector proj(p, out, counters);
        const Value r[1] = {Value::of_string("b")};
        EXPECT_FALSE(proj.on_record(r, 7));
    }
    out.flush();
    EXPECT_EQ(text, "{\"t\":5,\"v\":\"a\"}\n{\"t\":6,\"v\":\"a\"}\n");
    EXPECT_EQ(counters.records_processed, 3u);
    EXPECT_EQ(counters.rows_out, 2u);
}

TEST(Projector, SteadyStateAllocatesNothing) {
    const Plan plan = projection_plan();
    std::string text;
    text.reserve(1 << 20);
    OutBuffer out(1 << 12, append_sink, &text);
    ShardCounters counters;
    Projector proj(plan, out, counters);
    const Trade t{9, "amzn", 100.0, 3, "B", nullptr, "5"};
    const std::vector<Value> rec = t.values();
    EXPECT_TRUE(proj.on_record(rec.data(), 0));
    const uint64_t before = g_allocations;
    for (int i = 0; i < 2000; ++i) proj.on_record(rec.data(), 0);
    EXPECT_EQ(g_allocations, before);
    // The counter does see allocations.
    auto probe = std::make_unique<std::string>(100, 'x');
    EXPECT_GT(g_allocations, before);
    EXPECT_EQ(counters.rows_out, 2001u);
}


// ---------------------------------------------------------------- fast paths: number text

// The text of a double as format_finite_double gave it before its fast
// paths: whole numbers below 1e16 in full, everything else std::to_chars.
std::string reference_double_text(double d) {
    char buf[64];
    if (std::trunc(d) == d && std::fabs(d) < 1e16 && !(d == 0 && std::signbit(d))) {
        const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
        return std::string(buf, r.ptr) + ".0";
    }
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    std::string s(buf, r.ptr);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";
    return s;
}

std::string double_text(double d) {
    char buf[detail::kDoubleTextMax];
    return std::string(buf, detail::format_finite_double(buf, d));
}

void expect_double_text(double d) {
    const std::string got = double_text(d);
    ASSERT_EQ(got, reference_double_text(d)) << "bits " << std::hex << std::bit_cast<uint64_t>(d);
    double back = 0;
    const auto r = std::from_chars(got.data(), got.data() + got.size(), back);
    ASSERT_EQ(r.ec, std::errc()) << got;
    ASSERT_EQ(std::bit_cast<uint64_t>(back), std::bit_cast<uint64_t>(d)) << got;  // round trip, sign of zero too
}

TEST(NumberText, DoublesAreExactlyToCharsText) {
    const double edges[] = {0.0,
                            -0.0,
                            1.0,
                            -1.0,
                            0.1,
                            0.2,
                            0.3,
                            1.0 / 3,
                            2.0 / 3,
                            33.33,
                            123456.5,
                            -59.3,
                            98.7,
                            12.345678901234567,
                            0.001,
                            0.0015,
                            0.005,
                            0.00999,
                            0.0099999999999999985,
                            0.01,
                            0.00099999999999999991,
                            0.0005,
                            1e-4,
                            1.5e-7,
                            9.999999999999999e14,
                            999999999999999.9,
                            1e15 - 0.5,
                            1e15,
                            1e15 + 0.5,
                            4503599627370495.5,
                            9007199254740991.0,
                            9007199254740993.0,
                            1e16 - 2,
                            1e16,
                            1e16 + 2,
                            1e21,
                            1.7976931348623157e308,
                            4.9406564584124654e-324,
                            2.2250738585072014e-308,
                            -2.2250738585072014e-308,
                            9223372036854775808.0,
                            -9223372036854775808.0,
                            0.1 + 0.2,
                            100.0 / 7,
                            149.5,
                            124.25};
    for (const double d : edges) {
        expect_double_text(d);
        expect_double_text(-d);
    }
    // Around every power of ten: the decade boundaries of the few-decimals path.
    for (int p = -6; p <= 17; ++p) {
        double x = std::pow(10.0, p);
        for (int k = 0; k < 8; ++k) {
            expect_double_text(x);
            expect_double_text(std::nextafter(x, 0.0));
            x = std::nextafter(x, 1e300);
        }
    }
    // Decimals as data has them: a few digits after the point.
    for (int64_t m = -300000; m <= 300000; m += 7) {
        for (const double scale : {1.0, 10.0, 100.0, 1000.0, 10000.0, 1e5, 1e6, 1e8})
            expect_double_text(static_cast<double>(m) / scale);
    }
    std::mt19937_64 rng(20240115);
    // Random bit patterns (every magnitude), and random values with few significant digits.
    for (int i = 0; i < 300000; ++i) {
        const double d = std::bit_cast<double>(rng());
        if (std::isfinite(d)) expect_double_text(d);
    }
    for (int i = 0; i < 300000; ++i) {
        const auto digits = static_cast<int64_t>(rng() % 100000000);
        const int scale = static_cast<int>(rng() % 22) - 4;
        const double d = static_cast<double>(digits) / std::pow(10.0, scale);
        expect_double_text(i % 2 ? d : -d);
        expect_double_text(std::nextafter(d, 1e300));
    }
    // Averages, as AVG produces them.
    for (int i = 0; i < 100000; ++i) {
        const double sum = static_cast<double>(static_cast<int64_t>(rng() % 2000000) - 1000000) / 10;
        expect_double_text(sum / static_cast<double>(1 + rng() % 1000));
    }
}

TEST(NumberText, IntegersAreExactlyToCharsText) {
    std::vector<int64_t> values = {0, 1, -1, 9, 10, 11, 99, 100, 999, 1000, 9999, 10000, 99999, 100000,
                                   9999999, 99999999, 100000000, 999999999, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (uint64_t p = 1; p <= 1000000000000000000ULL; p *= 10) {
        for (const int64_t d : {-1, 0, 1}) {
            values.push_back(static_cast<int64_t>(p) + d);
            values.push_back(-static_cast<int64_t>(p) + d);
        }
    }
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200000; ++i) values.push_back(static_cast<int64_t>(rng() >> (rng() % 64)) * (i % 2 ? 1 : -1));
    for (const int64_t v : values) {
        char want[32];
        char got[32];
        const auto r = std::to_chars(want, want + sizeof want, v);
        const std::size_t n = detail::format_int(got, v);
        ASSERT_EQ(std::string(got, n), std::string(want, r.ptr)) << v;
    }
}

// ---------------------------------------------------------------- fast paths: key bytes

TEST(KeyInline, KeyBytesEqualIsMemcmp) {
    std::mt19937_64 rng(5);
    for (std::size_t n = 0; n <= 70; ++n) {
        std::vector<uint8_t> a(n + 1);
        for (auto& b : a) b = static_cast<uint8_t>(rng());
        std::vector<uint8_t> b = a;
        EXPECT_TRUE(detail::key_bytes_equal(a.data(), b.data(), n)) << n;
        for (std::size_t i = 0; i < n; ++i) {
            b[i] ^= static_cast<uint8_t>(1u << (i % 8));
            EXPECT_FALSE(detail::key_bytes_equal(a.data(), b.data(), n)) << n << " at " << i;
            b[i] = a[i];
        }
    }
}

TEST(KeyInline, CopyBytesWritesExactlyN) {
    for (std::size_t n = 0; n <= 40; ++n) {
        std::vector<uint8_t> src(n + 1);
        for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i + 1);
        std::vector<uint8_t> dst(n + 16, 0xAA);
        detail::copy_bytes(dst.data() + 8, src.data(), n);
        for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(dst[i], 0xAA);
        for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(dst[8 + i], src[i]);
        for (std::size_t i = 8 + n; i < dst.size(); ++i) EXPECT_EQ(dst[i], 0xAA) << n;
    }
}

// ---------------------------------------------------------------- fast paths: rows

// Every way RowFormat writes a row (values, pointers, indexed fields, cached
// leading columns) gives the text of the plain values path, which the tests
// above pin down against expected text.
void expect_same_rows(const std::vector<OutputColumn>& cols, const std::vector<std::vector<Value>>& rows,
                      std::size_t capacity) {
    std::string want;
    std::string got_values;
    std::string got_refs;
    std::string got_fields;
    {
        OutBuffer out(capacity, append_sink, &want);
        detail::RowFormat w(cols);
        for (const auto& r : rows) w.write(out, r.data());
        out.flush();
    }
    {
        OutBuffer a(capacity, append_sink, &got_values);
        OutBuffer b(capacity, append_sink, &got_refs);
        OutBuffer c(capacity, append_sink, &got_fields);
        detail::RowFormat f(cols);
        for (const auto& r : rows) {
            f.write(a, r.data());
            std::vector<const Value*> refs;
            for (const Value& v : r) refs.push_back(&v);
            f.write(b, refs.data());
            // Columns in reverse order of a "record".
            std::vector<Value> record(r.rbegin(), r.rend());
            std::vector<uint32_t> index;
            for (std::size_t i = 0; i < r.size(); ++i) index.push_back(static_cast<uint32_t>(r.size() - 1 - i));
            f.write(c, record.data(), index.data());
        }
        a.flush();
        b.flush();
        c.flush();
    }
    EXPECT_EQ(got_values, want);
    EXPECT_EQ(got_refs, want);
    EXPECT_EQ(got_fields, want);
    // Leading columns rendered once (the emitters' cached key text), then
    // the row written after them: the same text for every split.
    for (uint32_t lead = 0; lead <= cols.size(); ++lead) {
        std::string got_lead;
        {
            OutBuffer out(capacity, append_sink, &got_lead);
            detail::RowFormat f(cols);
            for (const auto& r : rows) {
                std::vector<const Value*> refs;
                for (const Value& v : r) refs.push_back(&v);
                std::vector<char> text(f.lead_bound(refs.data(), lead));
                const char* end = f.write_lead(text.data(), refs.data(), lead);
                // Exactly the text's bytes: a copy past them would read the heap's.
                const std::vector<char> exact(static_cast<const char*>(text.data()), end);
                f.write_after_lead(out, exact.data(), static_cast<uint32_t>(exact.size()), lead, refs.data());
            }
            out.flush();
        }
        EXPECT_EQ(got_lead, want) << "lead " << lead;
    }
}

TEST(RowFormat, EveryWriteGivesTheSameText) {
    std::mt19937_64 rng(11);
    std::deque<std::string> strings;
    const char alphabet[] = "abcXYZ09 _-\"\\\n\t\x01\x7f\xc3\xa9\xe2\x82\xac\xff";
    auto random_value = [&]() -> Value {
        switch (rng() % 9) {
            case 0: return Value::null();
            case 1: return Value::of_bool(rng() % 2 == 0);
            case 2: return Value::of_int(static_cast<int64_t>(rng() >> (rng() % 64)) * (rng() % 2 ? 1 : -1));
            case 3: return Value::of_double(static_cast<double>(static_cast<int64_t>(rng() % 100000) - 50000) / 10);
            case 4: return Value::of_double(std::bit_cast<double>(rng()));  // NaN and infinities too
            case 5: return Value::of_double(static_cast<double>(rng() % 1000));
            default: {
                std::string s;
                const std::size_t len = rng() % 8 == 0 ? rng() % 5000 : rng() % 40;
                for (std::size_t i = 0; i < len; ++i)
                    s += rng() % 4 == 0 ? alphabet[rng() % (sizeof alphabet - 1)] : static_cast<char>('a' + rng() % 26);
                strings.push_back(std::move(s));
                return Value::of_string(strings.back());
            }
        }
    };
    const std::vector<std::vector<OutputColumn>> layouts = {
        columns({"a", "bb", "trade_count", "avg_price", "x\"y", "z"}),
        columns({"a_column_name_that_is_longer_than_one_slot", "b"}),  // prefixes past 32 bytes
        columns({"only"}),
        columns({}),
    };
    for (const auto& cols : layouts) {
        std::vector<std::vector<Value>> rows;
        for (uint64_t i = 0; i < testing::scaled(3000); ++i) {
            std::vector<Value> r;
            for (std::size_t c = 0; c < cols.size(); ++c) r.push_back(random_value());
            rows.push_back(std::move(r));
        }
        expect_same_rows(cols, rows, 1 << 16);
        expect_same_rows(cols, rows, 16);  // every row larger than the buffer
    }
}

// ---------------------------------------------------------------- fast paths: compiled expressions

bool same_value(const Value& a, const Value& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
        case Type::Null: return true;
        case Type::Bool: return a.b == b.b;
        case Type::Int: return a.i == b.i;
        case Type::Double: return std::bit_cast<uint64_t>(a.d) == std::bit_cast<uint64_t>(b.d);
        case Type::String: return a.str() == b.str();
    }
    return false;
}

TEST(CompiledExpr, SameResultsAndMismatchesAsEval) {
    Eval e;
    const std::vector<Value> values = {Value::null(),          Value::of_bool(true),     Value::of_int(0),
                                       Value::of_int(7),       Value::of_int(-3),        Value::of_int(INT64_MAX),
                                       Value::of_int(INT64_MIN), Value::of_int(9007199254740993), Value::of_double(2.5),
                                       Value::of_double(-0.0), Value::of_double(0.0),    Value::of_double(kNaN),
                                       Value::of_double(kInf), Value::of_double(1e300),  Value::of_string("abc"),
                                       Value::of_string("abd")};
    e.fields = values;
    e.keys = values;
    e.aggs = values;
    const ExprOp ops[] = {ExprOp::Add, ExprOp::Sub, ExprOp::Mul, ExprOp::Div, ExprOp::Mod, ExprOp::Eq,
                          ExprOp::Ne,  ExprOp::Lt,  ExprOp::Le,  ExprOp::Gt,  ExprOp::Ge,  ExprOp::Concat};
    std::vector<ExprId> leaves;
    for (uint32_t i = 0; i < values.size(); ++i) {
        leaves.push_back(e.x.field(i));
        leaves.push_back(e.x.konst(values[i]));
        leaves.push_back(e.x.node(ExprOp::KeyRef, {}, 0, i));
        leaves.push_back(e.x.node(ExprOp::AggRef, {}, 0, i));
    }
    std::vector<ExprId> exprs = leaves;
    for (const ExprOp op : ops)
        for (const ExprId a : leaves)
            for (const ExprId b : leaves)
                if ((a + b) % 3 == 0 || op == ExprOp::Mul || op == ExprOp::Gt) exprs.push_back(e.x.op(op, a, b));
    exprs.push_back(e.x.fn(Func::Upper, {e.x.field(14)}));  // a tree
    exprs.push_back(e.x.node(ExprOp::WindowStart));
    for (const ExprId id : exprs) {
        const detail::CompiledExpr c(e.x.pool, id);
        const EvalContext ctx = e.ctx();
        const uint64_t m0 = e.mismatches;
        const Value want = eval(e.x.pool, id, ctx);
        const uint64_t m1 = e.mismatches;
        const Value got = c.eval(e.x.pool, ctx);
        ASSERT_TRUE(same_value(got, want)) << "expr " << id;
        ASSERT_EQ(e.mismatches - m1, m1 - m0) << "expr " << id;
        Value into;
        c.eval_into(into, e.x.pool, ctx);
        ASSERT_TRUE(same_value(into, want)) << "expr " << id;
        Value tmp;
        ASSERT_TRUE(same_value(c.value(tmp, e.x.pool, ctx), want)) << "expr " << id;
        const uint64_t m2 = e.mismatches;
        const bool want_truth = eval_predicate(e.x.pool, id, ctx);
        const uint64_t m3 = e.mismatches;
        ASSERT_EQ(c.holds(e.x.pool, ctx), want_truth) << "expr " << id;
        ASSERT_EQ(e.mismatches - m3, m3 - m2) << "expr " << id;
    }
    const detail::CompiledExpr none;
    EXPECT_TRUE(none.is_null());
    EXPECT_TRUE(is_null(none.eval(e.x.pool, e.ctx())));
}

}  // namespace
}  // namespace sluice
