// Planner: field slots, the two evaluation phases (KeyRef/AggRef rewrites),
// shared aggregates, column names, defaults, properties, static types, ROWS
// windows and every planning error.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sql_test_util.h"

namespace sluice::sql {
namespace {

using testing::func_id;
using testing::must_plan;
using testing::plan_error;
using testing::sexpr;

std::vector<std::string> field_names(const Plan& p) {
    std::vector<std::string> out;
    for (const FieldPath& f : p.fields) out.push_back(f.dotted);
    return out;
}

std::vector<std::string> column_names(const Plan& p) {
    std::vector<std::string> out;
    for (const OutputColumn& c : p.columns) out.push_back(c.name);
    return out;
}

Type column_type(const Plan& p, std::size_t k) { return p.exprs.node(p.columns[k].expr).type; }

// ---------------------------------------------------------------- field slots

TEST(Slots, OrderOfFirstAppearanceInTheText) {
    const Plan p = must_plan(
        "SELECT customer.id AS cid, SUM(cart.total) AS spent, COUNT(*) AS n FROM events WHERE flag = 1 "
        "GROUP BY customer.id WINDOW TUMBLING(ts, 1s)");
    EXPECT_EQ(field_names(p), (std::vector<std::string>{"customer.id", "cart.total", "flag", "ts"}));
    EXPECT_EQ(p.fields[0].parts, (std::vector<std::string>{"customer", "id"}));
}

TEST(Slots, EachPathOnceAndSharedByEveryUse) {
    const Plan p = must_plan("SELECT a + a AS x, b FROM s WHERE a > b AND c.d IS NULL");
    EXPECT_EQ(field_names(p), (std::vector<std::string>{"a", "b", "c.d"}));
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "(Add $a $a)");
    EXPECT_EQ(p.exprs.node(p.exprs.arg(p.exprs.node(p.columns[0].expr), 0)).index, 0u);
    EXPECT_EQ(sexpr(p, p.where), "(And (Gt $a $b) (IsNull $c.d))");
}

TEST(Slots, WhereFieldsBeforeSelectOnesWhenWrittenFirst) {
    // Text order, not evaluation order: the WHERE field comes after the SELECT ones.
    const Plan p = must_plan("SELECT y FROM s WHERE x > 1");
    EXPECT_EQ(field_names(p), (std::vector<std::string>{"y", "x"}));
}

TEST(Slots, FieldsOfAnalytics) {
    const Plan p = must_plan(
        "SELECT id, LAG(price) OVER (ROWS WINDOW BUFFER 10 ROWS PARTITION BY symbol ORDER BY ts) AS prev FROM t");
    EXPECT_EQ(field_names(p), (std::vector<std::string>{"id", "price", "symbol", "ts"}));
}

TEST(Slots, StreamQualifierIsStripped) {
    const Plan a = must_plan("SELECT t.x, t.y.z FROM s t WHERE t.x > 1");
    EXPECT_EQ(field_names(a), (std::vector<std::string>{"x", "y.z"}));
    EXPECT_EQ(column_names(a), (std::vector<std::string>{"x", "y.z"}));

    const Plan named = must_plan("SELECT orders.amount FROM orders");
    EXPECT_EQ(field_names(named), (std::vector<std::string>{"amount"}));

    // With an alias, the stream name is an ordinary first path step.
    const Plan aliased = must_plan("SELECT orders.amount FROM orders o");
    EXPECT_EQ(field_names(aliased), (std::vector<std::string>{"orders.amount"}));

    const Plan grouped = must_plan("SELECT o.k, COUNT(*) FROM orders AS o GROUP BY k");
    EXPECT_EQ(sexpr(grouped, grouped.columns[0].expr), "key0");
}

// ---------------------------------------------------------------- stateless queries

TEST(Stateless, ColumnsAreFieldExpressions) {
    const Plan p = must_plan("SELECT id, price * quantity AS notional, UPPER(symbol) AS sym FROM trades WHERE id > 0");
    EXPECT_FALSE(p.is_aggregate());
    EXPECT_TRUE(p.aggs.empty());
    EXPECT_TRUE(p.group_keys.empty());
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "$id");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "(Mul $price $quantity)");
    EXPECT_EQ(sexpr(p, p.columns[2].expr), "(Func:" + std::to_string(func_id(Func::Upper)) + " $symbol)");
    EXPECT_EQ(p.emit, EmitMode::Changes);
    EXPECT_FALSE(p.emit_explicit);
}

TEST(Stateless, HavingIsAnError) {
    EXPECT_EQ(plan_error("SELECT a FROM s HAVING a > 1"),
              "line 1:17: HAVING needs GROUP BY, a WINDOW or an aggregate");
}

TEST(Stateless, ArrivalTimeColumn) {
    const Plan p = must_plan("SELECT _TIMESTAMP AS at, a FROM s WHERE _TIMESTAMP > 0");
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "arrival");
    EXPECT_EQ(column_type(p, 0), Type::Int);
    EXPECT_EQ(sexpr(p, p.where), "(Gt arrival 0)");
}

// ---------------------------------------------------------------- aggregate queries

TEST(Aggregates, KeyRefAndAggRefRewrites) {
    const Plan p = must_plan(
        "SELECT customer_id, SUM(amount) AS total FROM orders GROUP BY customer_id HAVING SUM(amount) > 250");
    ASSERT_TRUE(p.is_aggregate());
    EXPECT_FALSE(p.is_global_aggregate());
    ASSERT_EQ(p.group_keys.size(), 1u);
    EXPECT_EQ(sexpr(p, p.group_keys[0]), "$customer_id");
    EXPECT_EQ(p.group_key_text, (std::vector<std::string>{"customer_id"}));
    ASSERT_EQ(p.aggs.size(), 1u);
    EXPECT_EQ(p.aggs[0].kind, AggKind::Sum);
    EXPECT_EQ(sexpr(p, p.aggs[0].arg), "$amount");
    EXPECT_EQ(p.aggs[0].text, "SUM(amount)");
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "key0");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "agg0");
    EXPECT_EQ(sexpr(p, p.having), "(Gt agg0 250)");
    EXPECT_EQ(column_names(p), (std::vector<std::string>{"customer_id", "total"}));
}

TEST(Aggregates, IdenticalCallsShareOneSpec) {
    const Plan p = must_plan(
        "SELECT k, SUM(revenue) AS r, sum( revenue ) / SUM(cost) AS ratio, COUNT(*) AS n, count(*) AS n2 "
        "FROM s GROUP BY k HAVING SUM(revenue) / SUM(cost) > 8 AND COUNT(*) > 1");
    ASSERT_EQ(p.aggs.size(), 3u);
    EXPECT_EQ(p.aggs[0].kind, AggKind::Sum);
    EXPECT_EQ(p.aggs[1].kind, AggKind::Sum);
    EXPECT_EQ(sexpr(p, p.aggs[1].arg), "$cost");
    EXPECT_EQ(p.aggs[2].kind, AggKind::CountStar);
    EXPECT_EQ(p.aggs[2].arg, kNoExpr);
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "agg0");
    EXPECT_EQ(sexpr(p, p.columns[2].expr), "(Div agg0 agg1)");
    EXPECT_EQ(sexpr(p, p.columns[3].expr), "agg2");
    EXPECT_EQ(sexpr(p, p.columns[4].expr), "agg2");
    EXPECT_EQ(sexpr(p, p.having), "(And (Gt (Div agg0 agg1) 8) (Gt agg2 1))");
}

TEST(Aggregates, AliasesOfOneKindShareASpec) {
    const Plan p = must_plan("SELECT STDDEV(x) AS a, STDDEV_SAMP(x) AS b, VARIANCE(x) AS c, VAR_SAMP(x) AS d FROM s");
    ASSERT_EQ(p.aggs.size(), 2u);
    EXPECT_EQ(p.aggs[0].kind, AggKind::StddevSamp);
    EXPECT_EQ(p.aggs[1].kind, AggKind::VarSamp);
}

TEST(Aggregates, DifferentArgumentsOrKindsDoNotShare) {
    const Plan p = must_plan("SELECT COUNT(x), COUNT(DISTINCT x), COUNT(*), COUNT(y) FROM s");
    ASSERT_EQ(p.aggs.size(), 4u);
    EXPECT_EQ(p.aggs[0].kind, AggKind::Count);
    EXPECT_EQ(p.aggs[1].kind, AggKind::CountDistinct);
    EXPECT_EQ(p.aggs[2].kind, AggKind::CountStar);
    EXPECT_EQ(p.aggs[3].kind, AggKind::Count);
    EXPECT_EQ(column_names(p), (std::vector<std::string>{"COUNT(x)", "COUNT(DISTINCT x)", "COUNT(*)", "COUNT(y)"}));
}

TEST(Aggregates, EveryKind) {
    const Plan p = must_plan(
        "SELECT COUNT(*), COUNT(a), COUNT(DISTINCT a), SUM(a), AVG(a), MIN(a), MAX(a), STDDEV(a), STDDEV_POP(a), "
        "VARIANCE(a), VAR_POP(a), FIRST(a), LAST(a), APPROX_COUNT_DISTINCT(a) FROM s");
    const AggKind expect[] = {AggKind::CountStar, AggKind::Count,     AggKind::CountDistinct, AggKind::Sum,
                              AggKind::Avg,       AggKind::Min,       AggKind::Max,           AggKind::StddevSamp,
                              AggKind::StddevPop, AggKind::VarSamp,   AggKind::VarPop,        AggKind::First,
                              AggKind::Last,      AggKind::ApproxCountDistinct};
    ASSERT_EQ(p.aggs.size(), std::size(expect));
    for (std::size_t k = 0; k < p.aggs.size(); ++k) EXPECT_EQ(p.aggs[k].kind, expect[k]) << k;
    EXPECT_TRUE(p.is_global_aggregate());
}

TEST(Aggregates, ArgumentsArePreAggregationExpressions) {
    const Plan p = must_plan("SELECT SUM(price * quantity) AS v, MAX(CASE WHEN a > 0 THEN a END) AS m FROM s");
    EXPECT_EQ(sexpr(p, p.aggs[0].arg), "(Mul $price $quantity)");
    EXPECT_EQ(sexpr(p, p.aggs[1].arg), "(Case (Gt $a 0) $a)");
    EXPECT_EQ(p.aggs[0].text, "SUM(price * quantity)");
}

TEST(Aggregates, GroupKeyExpressionsMatchStructurally) {
    const Plan p = must_plan(
        "SELECT UPPER(sym) AS s, upper( sym ) || '!' AS t, COUNT(*) FROM trades GROUP BY UPPER(sym)");
    EXPECT_EQ(sexpr(p, p.group_keys[0]), "(Func:" + std::to_string(func_id(Func::Upper)) + " $sym)");
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "key0");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "(Concat key0 '!')");
    EXPECT_EQ(p.group_key_text, (std::vector<std::string>{"UPPER(sym)"}));
}

TEST(Aggregates, FieldsInsideKeyedExpressions) {
    const Plan p = must_plan("SELECT a + 1 AS x, b, COUNT(*) FROM s GROUP BY a, b");
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "(Add key0 1)");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "key1");
}

TEST(Aggregates, MultiColumnKeys) {
    const Plan p = must_plan(
        "SELECT trader_id, symbol, COUNT(*) AS n FROM m GROUP BY trader_id, symbol WINDOW TUMBLING(t, 1m)");
    ASSERT_EQ(p.group_keys.size(), 2u);
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "key0");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "key1");
    EXPECT_EQ(p.group_key_text, (std::vector<std::string>{"trader_id", "symbol"}));
}

TEST(Aggregates, GroupByAliasAndPosition) {
    const Plan a = must_plan("SELECT customer.id AS cid, COUNT(*) AS n FROM e GROUP BY cid");
    EXPECT_EQ(sexpr(a, a.group_keys[0]), "$customer.id");
    EXPECT_EQ(sexpr(a, a.columns[0].expr), "key0");
    EXPECT_EQ(a.group_key_text, (std::vector<std::string>{"customer.id"}));

    const Plan b = must_plan("SELECT UPPER(s) AS u, COUNT(*) FROM e GROUP BY 1");
    EXPECT_EQ(sexpr(b, b.columns[0].expr), "key0");

    EXPECT_EQ(plan_error("SELECT a, COUNT(*) FROM e GROUP BY 3"),
              "line 1:36: GROUP BY position 3 is not in the select list (1..2)");
    EXPECT_EQ(plan_error("SELECT a, COUNT(*) AS n FROM e GROUP BY n"),
              "line 1:41: aggregate functions are not allowed in GROUP BY");
}

TEST(Aggregates, DuplicateGroupKeysCollapse) {
    const Plan p = must_plan("SELECT a, COUNT(*) FROM s GROUP BY a, a");
    EXPECT_EQ(p.group_keys.size(), 1u);
}

TEST(Aggregates, HavingMayNameASelectAlias) {
    const Plan p = must_plan("SELECT k, SUM(v) AS total FROM s GROUP BY k HAVING total > 250");
    EXPECT_EQ(sexpr(p, p.having), "(Gt agg0 250)");
    ASSERT_EQ(p.aggs.size(), 1u);
    // A group key keeps its meaning even when an alias shares its name.
    const Plan q = must_plan("SELECT k AS k, COUNT(*) AS n FROM s GROUP BY k HAVING k <> 'x' AND n > 1");
    EXPECT_EQ(sexpr(q, q.having), "(And (Ne key0 'x') (Gt agg0 1))");
}

TEST(Aggregates, WindowColumns) {
    const Plan p = must_plan(
        "SELECT _WINDOW_START AS ws, _window_end AS we, COUNT(*) AS n FROM s WINDOW TUMBLING(ts, 10s) "
        "HAVING _WINDOW_END - _WINDOW_START = 10000");
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "wstart");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "wend");
    EXPECT_EQ(sexpr(p, p.having), "(Eq (Sub wend wstart) 10000)");
    EXPECT_TRUE(p.is_windowed());
    EXPECT_TRUE(p.is_global_aggregate());
    EXPECT_EQ(column_names(p), (std::vector<std::string>{"ws", "we", "n"}));
    const Plan bare = must_plan("SELECT _WINDOW_START, COUNT(*) FROM s WINDOW TUMBLING(ts, 10s)");
    EXPECT_EQ(column_names(bare), (std::vector<std::string>{"_WINDOW_START", "COUNT(*)"}));
}

TEST(Aggregates, WindowWithoutAggregatesIsStillAnAggregateQuery) {
    const Plan p = must_plan("SELECT k FROM s GROUP BY k WINDOW TUMBLING(ts, 1s)");
    EXPECT_TRUE(p.is_aggregate());
    EXPECT_TRUE(p.aggs.empty());
    EXPECT_EQ(plan_error("SELECT a FROM s WINDOW TUMBLING(ts, 1s)"),
              "line 1:8: column 'a' must appear in GROUP BY or inside an aggregate");
}

TEST(Aggregates, Errors) {
    EXPECT_EQ(plan_error("SELECT k, v, COUNT(*) FROM s GROUP BY k"),
              "line 1:11: column 'v' must appear in GROUP BY or inside an aggregate");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s GROUP BY k HAVING v > 1"),
              "line 1:42: column 'v' must appear in GROUP BY or inside an aggregate");
    EXPECT_EQ(plan_error("SELECT a.b + 1, COUNT(*) FROM s"),
              "line 1:8: column 'a.b' must appear in GROUP BY or inside an aggregate");
    EXPECT_EQ(plan_error("SELECT SUM(COUNT(x)) FROM s"), "line 1:12: aggregate functions cannot be nested");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE SUM(a) > 1"),
              "line 1:23: aggregate functions are not allowed in WHERE (filter groups with HAVING)");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s GROUP BY MAX(a)"),
              "line 1:33: aggregate functions are not allowed in GROUP BY");
    EXPECT_EQ(plan_error("SELECT SUM(*) FROM s"), "line 1:8: '*' is only allowed in COUNT(*)");
    EXPECT_EQ(plan_error("SELECT SUM(DISTINCT a) FROM s"), "line 1:8: DISTINCT is only supported in COUNT(DISTINCT x)");
    EXPECT_EQ(plan_error("SELECT SUM(a, b) FROM s"), "line 1:8: SUM takes exactly one argument, found 2");
    EXPECT_EQ(plan_error("SELECT count() FROM s"), "line 1:8: COUNT takes exactly one argument, found 0");
    EXPECT_EQ(plan_error("SELECT _TIMESTAMP, COUNT(*) FROM s"),
              "line 1:8: column '_TIMESTAMP' must appear in GROUP BY or inside an aggregate");
}

TEST(Aggregates, WindowColumnErrors) {
    EXPECT_EQ(plan_error("SELECT _WINDOW_START, COUNT(*) FROM s"),
              "line 1:8: _WINDOW_START is only valid in windowed queries");
    EXPECT_EQ(plan_error("SELECT _WINDOW_END FROM s"), "line 1:8: _WINDOW_END is only valid in windowed queries");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WHERE _WINDOW_START > 0 WINDOW TUMBLING(ts, 1s)"),
              "line 1:30: _WINDOW_START is only available in the SELECT list and HAVING (after aggregation)");
    EXPECT_EQ(plan_error("SELECT SUM(_WINDOW_END) FROM s WINDOW TUMBLING(ts, 1s)"),
              "line 1:12: _WINDOW_END is only available in the SELECT list and HAVING (after aggregation)");
}

TEST(Aggregates, TimestampInsideAggregatesAndKeys) {
    const Plan p = must_plan("SELECT MAX(_TIMESTAMP) AS last_seen, _TIMESTAMP / 1000 AS sec FROM s GROUP BY _TIMESTAMP / 1000");
    EXPECT_EQ(sexpr(p, p.aggs[0].arg), "arrival");
    EXPECT_EQ(sexpr(p, p.group_keys[0]), "(Div arrival 1000)");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "key0");
}

// ---------------------------------------------------------------- column names

TEST(Names, AliasThenFieldThenText) {
    const Plan p = must_plan(
        "SELECT a AS x, b, c.d, COUNT(*), SUM(price * quantity), SUM(a)/SUM(b), MAX( \"q r\" ) FROM s GROUP BY a, b, c.d");
    EXPECT_EQ(column_names(p), (std::vector<std::string>{"x", "b", "c.d", "COUNT(*)", "SUM(price * quantity)",
                                                         "SUM(a)/SUM(b)", "MAX( \"q r\" )"}));
}

TEST(Names, WhitespaceAndCommentsCollapse) {
    const Plan p = must_plan("SELECT a   +\n\t b /* note */ * 2 FROM s");
    EXPECT_EQ(column_names(p), (std::vector<std::string>{"a + b * 2"}));
    const Plan q = must_plan("SELECT (a + b) * 2, -a FROM s");
    EXPECT_EQ(column_names(q), (std::vector<std::string>{"(a + b) * 2", "-a"}));
}

TEST(Names, DuplicatesAreErrors) {
    EXPECT_EQ(plan_error("SELECT a, b AS a FROM s"), "line 1:16: duplicate output column name 'a' (rename one with AS)");
    EXPECT_EQ(plan_error("SELECT a, a FROM s"), "line 1:11: duplicate output column name 'a' (rename one with AS)");
}

// ---------------------------------------------------------------- scalar functions

TEST(Functions, EveryFunctionAndItsId) {
    struct Case {
        const char* call;
        Func f;
        uint16_t nargs;
    };
    const Case cases[] = {
        {"COALESCE(a, b, 'x')", Func::Coalesce, 3}, {"NULLIF(a, 0)", Func::Nullif, 2},
        {"ABS(a)", Func::Abs, 1},                   {"ROUND(a)", Func::Round, 1},
        {"ROUND(a, 2)", Func::Round, 2},            {"FLOOR(a)", Func::Floor, 1},
        {"CEIL(a)", Func::Ceil, 1},                 {"CEILING(a)", Func::Ceil, 1},
        {"SQRT(a)", Func::Sqrt, 1},                 {"POWER(a, 2)", Func::Power, 2},
        {"POW(a, 2)", Func::Power, 2},              {"MOD(a, 3)", Func::Mod, 2},
        {"GREATEST(a, b, c)", Func::Greatest, 3},   {"LEAST(a, b)", Func::Least, 2},
        {"UPPER(a)", Func::Upper, 1},               {"LOWER(a)", Func::Lower, 1},
        {"LENGTH(a)", Func::Length, 1},             {"CHAR_LENGTH(a)", Func::Length, 1},
        {"SUBSTRING(a, 1)", Func::Substring, 2},    {"SUBSTRING(a, 1, 2)", Func::Substring, 3},
        {"SUBSTR(a, 1, 2)", Func::Substring, 3},    {"TRIM(a)", Func::Trim, 1},
        {"CONCAT(a, b, 'c')", Func::Concat, 3},     {"REPLACE(a, 'x', 'y')", Func::Replace, 3},
    };
    for (const Case& c : cases) {
        const Plan p = must_plan(std::string("SELECT ") + c.call + " AS v FROM s");
        const ExprNode& n = p.exprs.node(p.columns[0].expr);
        EXPECT_EQ(n.op, ExprOp::Func) << c.call;
        EXPECT_EQ(n.aux, static_cast<uint8_t>(c.f)) << c.call;
        EXPECT_EQ(n.nargs, c.nargs) << c.call;
    }
}

TEST(Functions, ModOperatorAndFunction) {
    const Plan p = must_plan("SELECT a % 3 AS x, MOD(a, 3) AS y FROM s");
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "(Mod $a 3)");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "(Func:" + std::to_string(func_id(Func::Mod)) + " $a 3)");
}

TEST(Functions, ArityErrors) {
    EXPECT_EQ(plan_error("SELECT ROUND(a, 1, 2) FROM s"), "line 1:8: ROUND takes 1 or 2 arguments, found 3");
    EXPECT_EQ(plan_error("SELECT NULLIF(a) FROM s"), "line 1:8: NULLIF takes 2 arguments, found 1");
    EXPECT_EQ(plan_error("SELECT UPPER() FROM s"), "line 1:8: UPPER takes 1 argument, found 0");
    EXPECT_EQ(plan_error("SELECT COALESCE() FROM s"), "line 1:8: COALESCE takes at least 1 argument, found 0");
    EXPECT_EQ(plan_error("SELECT REPLACE(a, 'b') FROM s"), "line 1:8: REPLACE takes 3 arguments, found 2");
    EXPECT_EQ(plan_error("SELECT UPPER(*) FROM s"), "line 1:8: '*' is only allowed in COUNT(*)");
    EXPECT_EQ(plan_error("SELECT UPPER(DISTINCT a) FROM s"),
              "line 1:8: DISTINCT is only supported in COUNT(DISTINCT x)");
}

TEST(Functions, UnknownFunctionNamesItsPosition) {
    EXPECT_EQ(plan_error("SELECT a\nFROM s\nWHERE FOO(a) > 1"), "line 3:7: unknown function 'FOO'");
    EXPECT_EQ(plan_error("SELECT date_trunc(a) FROM s"), "line 1:8: unknown function 'date_trunc'");
}

// ---------------------------------------------------------------- static types

TEST(Types, ConstantsAndArithmetic) {
    const Plan p = must_plan(
        "SELECT 1 AS i, 2.5 AS d, 'x' AS s, TRUE AS b, NULL AS n, 1 + 2 AS ii, 1 + 2.0 AS id, 7 / 2 AS div, "
        "a + 1 AS unknown, -3 AS neg, -(1.5) AS negd, 'a' || 'b' AS cat FROM t");
    const Type expect[] = {Type::Int, Type::Double, Type::String, Type::Bool,   Type::Null,   Type::Int,
                           Type::Double, Type::Int, Type::Null,   Type::Int,    Type::Double, Type::String};
    ASSERT_EQ(p.columns.size(), std::size(expect));
    for (std::size_t k = 0; k < p.columns.size(); ++k) EXPECT_EQ(column_type(p, k), expect[k]) << p.columns[k].name;
}

TEST(Types, PredicatesFunctionsAndCasts) {
    const Plan p = must_plan(
        "SELECT a > 1 AS c, a IS NULL AS n, a IN (1) AS i, a LIKE 'x' AS l, NOT a AS nt, CAST(a AS DOUBLE) AS cd, "
        "UPPER(a) AS u, LENGTH(a) AS len, SQRT(a) AS sq, ABS(-2) AS ab, CASE WHEN a THEN 1 ELSE 2 END AS cs, "
        "CASE WHEN a THEN 1 ELSE 'x' END AS mixed, COALESCE(a, 1) AS co FROM t");
    const Type expect[] = {Type::Bool,   Type::Bool, Type::Bool,   Type::Bool, Type::Bool, Type::Double, Type::String,
                           Type::Int,    Type::Double, Type::Int,  Type::Int,  Type::Null, Type::Null};
    ASSERT_EQ(p.columns.size(), std::size(expect));
    for (std::size_t k = 0; k < p.columns.size(); ++k) EXPECT_EQ(column_type(p, k), expect[k]) << p.columns[k].name;
}

TEST(Types, AggregatesAndKeys) {
    const Plan p = must_plan(
        "SELECT k, COUNT(*) AS c, COUNT(DISTINCT v) AS cd, AVG(v) AS a, SUM(v) AS s, SUM(1) AS si, SUM(1.5) AS sd, "
        "STDDEV(v) AS sdv, MIN(2) AS mn, _WINDOW_START AS ws FROM t GROUP BY k WINDOW TUMBLING(ts, 1s)");
    const Type expect[] = {Type::Null, Type::Int,    Type::Int, Type::Double, Type::Null,
                           Type::Int,  Type::Double, Type::Double, Type::Int,  Type::Int};
    ASSERT_EQ(p.columns.size(), std::size(expect));
    for (std::size_t k = 0; k < p.columns.size(); ++k) EXPECT_EQ(column_type(p, k), expect[k]) << p.columns[k].name;
    const Plan q = must_plan("SELECT k + 1 AS x, COUNT(*) FROM t GROUP BY k + 1");
    EXPECT_EQ(column_type(q, 0), Type::Null);
    const Plan r = must_plan("SELECT LENGTH(k) AS x, COUNT(*) FROM t GROUP BY LENGTH(k)");
    EXPECT_EQ(column_type(r, 0), Type::Int);
}

// ---------------------------------------------------------------- windows

TEST(WindowRules, TimeColumnMustBeAFieldOrTimestamp) {
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts * 1000, 1s)"),
              "line 1:40: the window time column must be a field or _TIMESTAMP, found 'ts * 1000'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(_WINDOW_START, 1s)"),
              "line 1:40: the window time column must be a field or _TIMESTAMP, found '_WINDOW_START'");
    const Plan p = must_plan("SELECT COUNT(*) FROM s t WINDOW TUMBLING(t.event.ts, 1s)");
    EXPECT_EQ(sexpr(p, p.window.time), "$event.ts");
}

TEST(WindowRules, SizesMustBePositive) {
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 0s)"),
              "line 1:44: the window size must be greater than 0");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW SESSION(ts, INTERVAL '0' SECOND)"),
              "line 1:43: the SESSION gap must be greater than 0");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 10s, 0ms)"),
              "line 1:48: the window advance must be greater than 0");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW HOPPING(ts, 10s, 20s)"),
              "line 1:48: the window advance must not be larger than its size");
    EXPECT_EQ(must_plan("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 10s, 10s)").window.advance_ms, 10000);
    EXPECT_EQ(must_plan("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 10s, 3s)").window.advance_ms, 3000);
}

// Found by fuzz_sql (tests/fuzz): SLIDING(ts, 77s, 1ms) timed out the fuzzer,
// and `sluice query` with SLIDING(ts, 1d, 1ms) died of std::bad_alloc on two
// records (86,400,000 windows each). ceil(size / advance) windows per record
// is bounded now.
TEST(WindowRules, SlidingWindowsPerRecordAreBounded) {
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 1d, 1ms)"),
              "line 1:47: the window advance is too small: every record would be in 86400000 windows (at most 10000)");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW HOPPING(ts, 10001ms, 1ms)"),
              "line 1:52: the window advance is too small: every record would be in 10001 windows (at most 10000)");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 30001ms, 3ms)"),
              "line 1:52: the window advance is too small: every record would be in 10001 windows (at most 10000)");
    EXPECT_EQ(must_plan("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 10s, 1ms)").window.advance_ms, 1);
    EXPECT_EQ(must_plan("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 1h, 1s)").window.advance_ms, 1000);
}

// ---------------------------------------------------------------- emission defaults

TEST(Emission, Defaults) {
    EXPECT_EQ(must_plan("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s)").emit, EmitMode::Final);
    EXPECT_EQ(must_plan("SELECT k, COUNT(*) FROM s GROUP BY k").emit, EmitMode::Changes);
    EXPECT_EQ(must_plan("SELECT COUNT(*) FROM s").emit, EmitMode::Changes);
    EXPECT_EQ(must_plan("SELECT a FROM s").emit, EmitMode::Changes);
    const Plan explicit_changes = must_plan("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) EMIT CHANGES");
    EXPECT_EQ(explicit_changes.emit, EmitMode::Changes);
    EXPECT_TRUE(explicit_changes.emit_explicit);
    EXPECT_FALSE(must_plan("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s)").emit_explicit);
}

// ---------------------------------------------------------------- properties

TEST(Properties, Defaults) {
    const Properties props = must_plan("SELECT a FROM s").props;
    EXPECT_EQ(props.max_out_of_orderness_ms, 0);
    EXPECT_EQ(props.idle_timeout_ms, 5000);
    EXPECT_EQ(props.allowed_lateness_ms, 0);
    EXPECT_EQ(props.late_strategy, LateStrategy::Drop);
    EXPECT_FALSE(props.state_ttl_ms.has_value());
}

TEST(Properties, AllKeys) {
    const Plan w = must_plan(
        "SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('watermark.max_out_of_orderness' = '2s', "
        "'watermark.idle_timeout' = '1m', 'window.allowed_lateness' = '500ms', 'late.data.strategy' = 'dead_letter')");
    EXPECT_EQ(w.props.max_out_of_orderness_ms, 2000);
    EXPECT_EQ(w.props.idle_timeout_ms, 60000);
    EXPECT_EQ(w.props.allowed_lateness_ms, 500);
    EXPECT_EQ(w.props.late_strategy, LateStrategy::DeadLetter);

    const Plan g = must_plan("SELECT k, COUNT(*) FROM s GROUP BY k WITH ('state.ttl' = '1h', 'late.data.strategy' = 'DROP')");
    EXPECT_EQ(g.props.state_ttl_ms, 3600000);
    EXPECT_EQ(g.props.late_strategy, LateStrategy::Drop);
    const Plan zero = must_plan("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('window.allowed_lateness' = '0')");
    EXPECT_EQ(zero.props.allowed_lateness_ms, 0);
}

TEST(Properties, Errors) {
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('watermark.delay' = '1s')"),
              "line 1:23: unknown property 'watermark.delay' (known: watermark.max_out_of_orderness, "
              "watermark.idle_timeout, window.allowed_lateness, late.data.strategy, state.ttl, timestamp)");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('watermark.max_out_of_orderness' = 'soon')"),
              "line 1:58: invalid duration 'soon' for 'watermark.max_out_of_orderness' (expected e.g. '2s', "
              "'500ms', '1m')");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('watermark.idle_timeout' = '5')"),
              "line 1:50: invalid duration '5' for 'watermark.idle_timeout' (expected e.g. '2s', '500ms', '1m')");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('watermark.idle_timeout' = '0s')"),
              "line 1:50: 'watermark.idle_timeout' must be greater than 0");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('late.data.strategy' = 'retry')"),
              "line 1:46: invalid value 'retry' for 'late.data.strategy' (expected 'drop' or 'dead_letter')");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('watermark.idle_timeout' = '1s', 'WATERMARK.IDLE_TIMEOUT' = '2s')"),
              "line 1:56: property 'WATERMARK.IDLE_TIMEOUT' is set more than once");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('window.allowed_lateness' = '1s')"),
              "line 1:23: 'window.allowed_lateness' applies only to windowed queries");
    EXPECT_EQ(plan_error("SELECT k, COUNT(*) FROM s GROUP BY k WINDOW TUMBLING(ts, 1s) WITH ('state.ttl' = '1h')"),
              "line 1:68: 'state.ttl' applies only to GROUP BY queries without a window");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WITH ('state.ttl' = '1h')"),
              "line 1:30: 'state.ttl' applies only to GROUP BY queries without a window");
    EXPECT_EQ(plan_error("SELECT k, COUNT(*) FROM s GROUP BY k WITH ('state.ttl' = '0s')"),
              "line 1:58: 'state.ttl' must be greater than 0");
}

// ---------------------------------------------------------------- ROWS windows

TEST(Analytics, LagWithPartitionAndOrder) {
    const Plan p = must_plan(
        "SELECT symbol, id, price, LAG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY ts) "
        "AS prev_price FROM trades");
    EXPECT_FALSE(p.is_aggregate());
    ASSERT_EQ(p.analytics.size(), 1u);
    const AnalyticSpec& a = p.analytics[0];
    EXPECT_EQ(a.kind, AnalyticKind::Lag);
    EXPECT_EQ(sexpr(p, a.arg), "$price");
    EXPECT_EQ(a.offset, 1);
    EXPECT_EQ(a.buffer_rows, 100u);
    ASSERT_EQ(a.partition_by.size(), 1u);
    EXPECT_EQ(sexpr(p, a.partition_by[0]), "$symbol");
    EXPECT_EQ(sexpr(p, a.order_by), "$ts");
    EXPECT_EQ(a.text, "LAG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY ts)");
    EXPECT_EQ(sexpr(p, p.columns[3].expr), "rows0");
    EXPECT_EQ(p.columns[3].name, "prev_price");
}

TEST(Analytics, EveryFunction) {
    const Plan p = must_plan(
        "SELECT LAG(x, 3) OVER (ROWS WINDOW BUFFER 4 ROWS) AS a, ROW_NUMBER() OVER (ROWS WINDOW BUFFER 2 ROWS) AS b, "
        "FIRST_VALUE(x) OVER (ROWS WINDOW BUFFER 2 ROWS) AS c, LAST_VALUE(x) OVER (ROWS WINDOW BUFFER 2 ROWS) AS d, "
        "AVG(x) OVER (ROWS WINDOW BUFFER 2 ROWS) AS e, SUM(x) OVER (ROWS WINDOW BUFFER 2 ROWS) AS f, "
        "MIN(x) OVER (ROWS WINDOW BUFFER 2 ROWS) AS g, MAX(x) OVER (ROWS WINDOW BUFFER 2 ROWS) AS h, "
        "COUNT(x) OVER (ROWS WINDOW BUFFER 2 ROWS ORDER BY t ASC) AS i FROM s");
    const AnalyticKind expect[] = {AnalyticKind::Lag, AnalyticKind::RowNumber, AnalyticKind::FirstValue,
                                   AnalyticKind::LastValue, AnalyticKind::Avg, AnalyticKind::Sum,
                                   AnalyticKind::Min, AnalyticKind::Max, AnalyticKind::Count};
    ASSERT_EQ(p.analytics.size(), std::size(expect));
    for (std::size_t k = 0; k < p.analytics.size(); ++k) EXPECT_EQ(p.analytics[k].kind, expect[k]) << k;
    EXPECT_EQ(p.analytics[0].offset, 3);
    EXPECT_EQ(p.analytics[1].arg, kNoExpr);
    EXPECT_TRUE(p.aggs.empty());
    EXPECT_EQ(column_type(p, 1), Type::Int);
    EXPECT_EQ(column_type(p, 4), Type::Double);
}

TEST(Analytics, InsideExpressionsAndShared) {
    const Plan p = must_plan(
        "SELECT price - LAG(price) OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY s) AS delta, "
        "LAG(price) OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY s) AS prev, "
        "LAG(price) OVER (ROWS WINDOW BUFFER 3 ROWS PARTITION BY s) AS prev3 FROM t");
    ASSERT_EQ(p.analytics.size(), 2u);
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "(Sub $price rows0)");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "rows0");
    EXPECT_EQ(sexpr(p, p.columns[2].expr), "rows1");
}

TEST(Analytics, Errors) {
    EXPECT_EQ(plan_error("SELECT LEAD(x) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:8: LEAD needs future rows; ROWS windows support LAG, ROW_NUMBER, FIRST_VALUE, LAST_VALUE, "
              "AVG, SUM, MIN, MAX and COUNT");
    EXPECT_EQ(plan_error("SELECT LAG(x) FROM s"), "line 1:8: LAG needs OVER (ROWS WINDOW BUFFER n ROWS ...)");
    EXPECT_EQ(plan_error("SELECT UPPER(x) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:8: UPPER cannot be used with OVER; ROWS windows support LAG, ROW_NUMBER, FIRST_VALUE, "
              "LAST_VALUE, AVG, SUM, MIN, MAX and COUNT");
    EXPECT_EQ(plan_error("SELECT LAG(x, 2) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:43: LAG offset 2 needs BUFFER 3 ROWS or more");
    EXPECT_EQ(plan_error("SELECT LAG(x, 0) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:15: the LAG offset must be a positive integer constant");
    EXPECT_EQ(plan_error("SELECT LAG(x, y) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:15: the LAG offset must be a positive integer constant");
    EXPECT_EQ(plan_error("SELECT ROW_NUMBER(x) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:8: ROW_NUMBER takes no arguments, found 1");
    EXPECT_EQ(plan_error("SELECT LAG() OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:8: LAG takes 1 or 2 arguments, found 0");
    EXPECT_EQ(plan_error("SELECT COUNT(*) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:8: COUNT(*) OVER (...) is not supported; name a field, e.g. COUNT(x)");
    EXPECT_EQ(plan_error("SELECT SUM(x) OVER (ROWS WINDOW BUFFER 0 ROWS) FROM s"),
              "line 1:40: BUFFER needs at least 1 row");
    EXPECT_EQ(plan_error("SELECT SUM(x) OVER (ROWS WINDOW BUFFER 2 ROWS ORDER BY t DESC) FROM s"),
              "line 1:58: ORDER BY ... DESC is not supported in ROWS windows: rows are kept in arrival order");
    EXPECT_EQ(plan_error("SELECT k, SUM(x) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s GROUP BY k"),
              "line 1:18: ROWS window functions (OVER) cannot be combined with GROUP BY, WINDOW or aggregates");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE LAG(a) OVER (ROWS WINDOW BUFFER 2 ROWS) > 1"),
              "line 1:30: ROWS window functions are not allowed in WHERE");
    EXPECT_EQ(plan_error("SELECT SUM(LAG(a) OVER (ROWS WINDOW BUFFER 2 ROWS)) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s"),
              "line 1:19: ROWS window functions cannot be nested");
    EXPECT_EQ(plan_error("SELECT SUM(x) OVER (PARTITION BY k) FROM s"),
              "line 1:21: expected ROWS WINDOW BUFFER n ROWS in OVER (...), found 'PARTITION'");
    EXPECT_EQ(plan_error("SELECT SUM(x) OVER (ROWS WINDOW BUFFER 2) FROM s"),
              "line 1:41: expected ROWS after BUFFER n, found ')'");
}

}  // namespace
}  // namespace sluice::sql

namespace sluice {
namespace {

// A copied plan's string constants must not point into the original.
TEST(PlanCopy, StringConstantsFollowTheCopy) {
    auto planned = plan_sql("SELECT a FROM t WHERE b = 'needle' OR c LIKE 'x%'");
    ASSERT_TRUE(planned.ok()) << planned.error().message;
    std::unique_ptr<Plan> original = std::make_unique<Plan>(std::move(planned.value()));
    Plan copy = *original;
    std::vector<std::string> before;
    for (const Value& v : original->exprs.consts)
        if (v.type == Type::String) before.emplace_back(v.str());
    ASSERT_EQ(before.size(), 2u);
    original.reset();
    std::vector<std::string> after;
    for (const Value& v : copy.exprs.consts)
        if (v.type == Type::String) after.emplace_back(v.str());
    EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace sluice
