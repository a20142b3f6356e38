// Grammar: precedence, every expression form, every statement form, syntax
// errors with positions, and robustness against hostile input.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "parser.h"
#include "sql_test_util.h"

namespace sluice::sql {
namespace {

using testing::func_id;
using testing::must_plan;
using testing::plan_error;
using testing::sexpr;
using testing::where_of;

// ---------------------------------------------------------------- precedence

TEST(Precedence, AndBindsTighterThanOr) {
    EXPECT_EQ(where_of("a OR b AND c"), "(Or $a (And $b $c))");
    EXPECT_EQ(where_of("a AND b OR c"), "(Or (And $a $b) $c)");
}

TEST(Precedence, NotBindsLooserThanComparison) {
    EXPECT_EQ(where_of("NOT a = b"), "(Not (Eq $a $b))");
    EXPECT_EQ(where_of("NOT a AND b"), "(And (Not $a) $b)");
    EXPECT_EQ(where_of("NOT NOT a"), "(Not (Not $a))");
}

TEST(Precedence, ArithmeticLevels) {
    EXPECT_EQ(where_of("a + b * c = d"), "(Eq (Add $a (Mul $b $c)) $d)");
    EXPECT_EQ(where_of("a * b + c % d / e > 0"), "(Gt (Add (Mul $a $b) (Div (Mod $c $d) $e)) 0)");
    EXPECT_EQ(where_of("(a + b) * c = d"), "(Eq (Mul (Add $a $b) $c) $d)");
}

TEST(Precedence, LeftAssociative) {
    EXPECT_EQ(where_of("a - b - c = 0"), "(Eq (Sub (Sub $a $b) $c) 0)");
    EXPECT_EQ(where_of("a / b / c = 0"), "(Eq (Div (Div $a $b) $c) 0)");
}

TEST(Precedence, ConcatSharesTheAdditiveLevel) {
    EXPECT_EQ(where_of("a || b = c"), "(Eq (Concat $a $b) $c)");
    EXPECT_EQ(where_of("a || b * c = d"), "(Eq (Concat $a (Mul $b $c)) $d)");
}

TEST(Precedence, UnaryMinusBindsTightest) {
    EXPECT_EQ(where_of("-a * b = c"), "(Eq (Mul (Neg $a) $b) $c)");
    EXPECT_EQ(where_of("- -a = 1"), "(Eq (Neg (Neg $a)) 1)");
    EXPECT_EQ(where_of("+a = 1"), "(Eq $a 1)");
}

TEST(Precedence, NegativeLiteralsAreConstants) {
    EXPECT_EQ(where_of("a = -5"), "(Eq $a -5)");
    EXPECT_EQ(where_of("a = -2.5"), "(Eq $a -2.5)");
    EXPECT_EQ(where_of("a - -1 = 0"), "(Eq (Sub $a -1) 0)");
    const Plan p = must_plan("SELECT x FROM s WHERE x > -9223372036854775808");
    const ExprNode& gt = p.exprs.node(p.where);
    const ExprNode& lit = p.exprs.node(p.exprs.arg(gt, 1));
    ASSERT_EQ(lit.op, ExprOp::Const);
    EXPECT_EQ(p.exprs.consts[lit.index].i, std::numeric_limits<int64_t>::min());
    EXPECT_NE(plan_error("SELECT x FROM s WHERE x > 9223372036854775808").find("out of range"), std::string::npos);
}

TEST(Precedence, PredicatesAndBooleanOperators) {
    EXPECT_EQ(where_of("a BETWEEN 1 AND 2 AND b"), "(And (Between $a 1 2) $b)");
    EXPECT_EQ(where_of("a + 1 BETWEEN b - 1 AND b + 1"), "(Between (Add $a 1) (Sub $b 1) (Add $b 1))");
    EXPECT_EQ(where_of("a IN (1, 2) OR b LIKE 'x%'"), "(Or (In $a 1 2) (Like $b 'x%'))");
    EXPECT_EQ(where_of("NOT a IS NULL"), "(Not (IsNull $a))");
}

// ---------------------------------------------------------------- expression forms

TEST(Expressions, ComparisonOperators) {
    EXPECT_EQ(where_of("a = 1"), "(Eq $a 1)");
    EXPECT_EQ(where_of("a <> 1"), "(Ne $a 1)");
    EXPECT_EQ(where_of("a != 1"), "(Ne $a 1)");
    EXPECT_EQ(where_of("a < 1"), "(Lt $a 1)");
    EXPECT_EQ(where_of("a <= 1"), "(Le $a 1)");
    EXPECT_EQ(where_of("a > 1"), "(Gt $a 1)");
    EXPECT_EQ(where_of("a >= 1"), "(Ge $a 1)");
}

TEST(Expressions, NegatedPredicates) {
    EXPECT_EQ(where_of("a NOT IN (1, 'x', 2.5)"), "(NotIn $a 1 'x' 2.5)");
    EXPECT_EQ(where_of("a NOT BETWEEN 1 AND 9"), "(NotBetween $a 1 9)");
    EXPECT_EQ(where_of("a NOT LIKE '_b%'"), "(NotLike $a '_b%')");
    EXPECT_EQ(where_of("a IS NOT NULL"), "(IsNotNull $a)");
    EXPECT_EQ(where_of("a IS NULL"), "(IsNull $a)");
}

TEST(Expressions, Literals) {
    EXPECT_EQ(where_of("a = TRUE OR a = false OR a IS NULL OR a = NULL"),
              "(Or (Or (Or (Eq $a true) (Eq $a false)) (IsNull $a)) (Eq $a null))");
    EXPECT_EQ(where_of("a = 'it''s'"), "(Eq $a 'it's')");
    EXPECT_EQ(where_of("a = 1e3"), "(Eq $a 1000)");
}

TEST(Expressions, StringConstantsLiveInThePlan) {
    const Plan p = must_plan("SELECT x FROM s WHERE x = 'hello'");
    const ExprNode& eq = p.exprs.node(p.where);
    const ExprNode& lit = p.exprs.node(p.exprs.arg(eq, 1));
    const Value& v = p.exprs.consts[lit.index];
    ASSERT_EQ(v.type, Type::String);
    EXPECT_EQ(v.str(), "hello");
    ASSERT_FALSE(p.exprs.const_strings.empty());
    EXPECT_EQ(v.s, p.exprs.const_strings.back().data());
}

TEST(Expressions, SearchedCase) {
    EXPECT_EQ(where_of("CASE WHEN a > 1 THEN 'x' WHEN a > 0 THEN 'y' ELSE 'z' END = 'x'"),
              "(Eq (Case+else (Gt $a 1) 'x' (Gt $a 0) 'y' 'z') 'x')");
    EXPECT_EQ(where_of("CASE WHEN a THEN 1 END = 1"), "(Eq (Case $a 1) 1)");
}

TEST(Expressions, SimpleCaseIsRewrittenToEquality) {
    EXPECT_EQ(where_of("CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END = 'one'"),
              "(Eq (Case+else (Eq $a 1) 'one' (Eq $a 2) 'two' 'many') 'one')");
}

TEST(Expressions, CastTargets) {
    const int i = static_cast<int>(Type::Int);
    const int d = static_cast<int>(Type::Double);
    const int s = static_cast<int>(Type::String);
    const int b = static_cast<int>(Type::Bool);
    const auto cast = [](const char* type) { return where_of(std::string("CAST(a AS ") + type + ") IS NULL"); };
    for (const char* t : {"BIGINT", "int", "Integer"}) EXPECT_EQ(cast(t), "(IsNull (Cast:" + std::to_string(i) + " $a))");
    for (const char* t : {"DOUBLE", "float", "REAL", "DOUBLE PRECISION"}) {
        EXPECT_EQ(cast(t), "(IsNull (Cast:" + std::to_string(d) + " $a))");
    }
    for (const char* t : {"VARCHAR", "string", "TEXT", "VARCHAR(20)"}) {
        EXPECT_EQ(cast(t), "(IsNull (Cast:" + std::to_string(s) + " $a))");
    }
    for (const char* t : {"BOOLEAN", "bool"}) EXPECT_EQ(cast(t), "(IsNull (Cast:" + std::to_string(b) + " $a))");
    EXPECT_EQ(plan_error("SELECT CAST(a AS DATE) FROM s"),
              "line 1:18: unknown type 'DATE' in CAST (expected BIGINT, INT, INTEGER, DOUBLE, FLOAT, REAL, "
              "VARCHAR, STRING, TEXT or BOOLEAN)");
    EXPECT_EQ(plan_error("SELECT CAST(a) FROM s"), "line 1:14: expected AS in CAST (x AS type), found ')'");
}

TEST(Expressions, SubstringFromFor) {
    const std::string sub = std::to_string(func_id(Func::Substring));
    EXPECT_EQ(where_of("SUBSTRING(a FROM 2 FOR 3) = 'x'"), "(Eq (Func:" + sub + " $a 2 3) 'x')");
    EXPECT_EQ(where_of("SUBSTRING(a FROM 2) = 'x'"), "(Eq (Func:" + sub + " $a 2) 'x')");
    EXPECT_EQ(where_of("substr(a, 2, 3) = 'x'"), "(Eq (Func:" + sub + " $a 2 3) 'x')");
}

TEST(Expressions, DottedAndQuotedPaths) {
    const Plan p = must_plan("SELECT a.b.c, \"weird name\", \"x\".\"y z\", \"select\" FROM s");
    ASSERT_EQ(p.fields.size(), 4u);
    EXPECT_EQ(p.fields[0].parts, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(p.fields[0].dotted, "a.b.c");
    EXPECT_EQ(p.fields[1].parts, (std::vector<std::string>{"weird name"}));
    EXPECT_EQ(p.fields[2].parts, (std::vector<std::string>{"x", "y z"}));
    EXPECT_EQ(p.fields[3].parts, (std::vector<std::string>{"select"}));
    EXPECT_EQ(p.columns[0].name, "a.b.c");
}

TEST(Expressions, IdentifiersAreCaseSensitive) {
    const Plan p = must_plan("SELECT Amount, amount FROM s");
    ASSERT_EQ(p.fields.size(), 2u);
    EXPECT_EQ(p.fields[0].dotted, "Amount");
    EXPECT_EQ(p.fields[1].dotted, "amount");
}

TEST(Expressions, FunctionNamesAreCaseInsensitive) {
    const std::string upper = std::to_string(func_id(Func::Upper));
    EXPECT_EQ(where_of("upper(a) = 'X'"), "(Eq (Func:" + upper + " $a) 'X')");
    EXPECT_EQ(where_of("UpPeR(a) = 'X'"), "(Eq (Func:" + upper + " $a) 'X')");
}

TEST(Expressions, QuotedSpecialNameIsAPlainField) {
    const Plan p = must_plan("SELECT \"_TIMESTAMP\" AS t, _timestamp AS arrival FROM s");
    ASSERT_EQ(p.fields.size(), 1u);
    EXPECT_EQ(p.fields[0].dotted, "_TIMESTAMP");
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "$_TIMESTAMP");
    EXPECT_EQ(sexpr(p, p.columns[1].expr), "arrival");
}

// ---------------------------------------------------------------- statement forms

TEST(Statements, MinimalSelect) {
    const Plan p = must_plan("SELECT a FROM s");
    EXPECT_EQ(p.source_name, "s");
    EXPECT_TRUE(p.stream_name.empty());
    ASSERT_EQ(p.columns.size(), 1u);
    EXPECT_FALSE(p.distinct);
    EXPECT_FALSE(p.limit.has_value());
    EXPECT_EQ(p.where, kNoExpr);
}

TEST(Statements, EveryClauseInOrder) {
    const Plan p = must_plan(
        "SELECT k, COUNT(*) AS n FROM s AS src WHERE v > 0 GROUP BY k "
        "WINDOW TUMBLING(ts, 5s) HAVING COUNT(*) > 1 LIMIT 10 EMIT CHANGES "
        "WITH ('watermark.max_out_of_orderness' = '2s');");
    EXPECT_FALSE(p.distinct);
    EXPECT_EQ(p.source_name, "s");
    EXPECT_NE(p.where, kNoExpr);
    EXPECT_EQ(p.group_keys.size(), 1u);
    EXPECT_EQ(p.window.kind, WindowKind::Tumbling);
    EXPECT_NE(p.having, kNoExpr);
    EXPECT_EQ(p.limit, 10u);
    EXPECT_EQ(p.emit, EmitMode::Changes);
    EXPECT_TRUE(p.emit_explicit);
    EXPECT_EQ(p.props.max_out_of_orderness_ms, 2000);
}

TEST(Statements, SelectDistinctIsAGroupByOverItsColumns) {
    const Plan p = must_plan("SELECT DISTINCT k, v + 1 AS w FROM s WHERE v > 0");
    EXPECT_TRUE(p.distinct);
    ASSERT_EQ(p.group_keys.size(), 2u);
    ASSERT_EQ(p.columns.size(), 2u);
    EXPECT_EQ(p.exprs.nodes[p.columns[0].expr].op, ExprOp::KeyRef);
    EXPECT_EQ(p.exprs.nodes[p.columns[1].expr].op, ExprOp::KeyRef);
    EXPECT_EQ(p.columns[1].name, "w");
    EXPECT_TRUE(p.aggs.empty());
    EXPECT_EQ(p.emit, EmitMode::Changes);
}

TEST(Statements, SelectDistinctWithAggregatesIsRefused) {
    const auto r = plan_sql("SELECT DISTINCT k, COUNT(*) FROM s GROUP BY k");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("line 1:8: SELECT DISTINCT applies to queries without GROUP BY"), std::string::npos)
        << r.error().message;
}

TEST(Statements, TimestampPropertyNamesTheEventTimeOfAGroupBy) {
    const Plan p = must_plan("SELECT k, COUNT(*) FROM s GROUP BY k WITH ('state.ttl' = '1m', 'timestamp' = 'meta.ts')");
    ASSERT_NE(p.event_time, kNoExpr);
    const ExprNode& n = p.exprs.nodes[p.event_time];
    ASSERT_EQ(n.op, ExprOp::Field);
    EXPECT_EQ(p.fields[n.index].dotted, "meta.ts");
    EXPECT_EQ(p.props.state_ttl_ms, 60000);
    const Plan arrival = must_plan("SELECT k, COUNT(*) FROM s GROUP BY k WITH ('timestamp' = '_TIMESTAMP')");
    EXPECT_EQ(arrival.exprs.nodes[arrival.event_time].op, ExprOp::ArrivalTime);
    const auto windowed = plan_sql("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('timestamp' = 'ts')");
    ASSERT_FALSE(windowed.ok());
    EXPECT_NE(windowed.error().message.find("'timestamp' applies to queries without a window"), std::string::npos);
}

TEST(Statements, CreateStreamAsSelect) {
    const Plan p = must_plan("create stream big_orders as select id from orders where amount > 100 with "
                             "('watermark.idle_timeout' = '10s')");
    EXPECT_EQ(p.stream_name, "big_orders");
    EXPECT_EQ(p.source_name, "orders");
    EXPECT_EQ(p.props.idle_timeout_ms, 10000);
    EXPECT_EQ(plan_error("CREATE TABLE x AS SELECT a FROM s"), "line 1:8: expected STREAM after CREATE, found 'TABLE'");
    EXPECT_EQ(plan_error("CREATE STREAM x SELECT a FROM s"), "line 1:17: expected AS, found 'SELECT'");
}

TEST(Statements, CommentsAnywhereAndTrailingSemicolon) {
    const Plan p = must_plan("-- header\nSELECT /* cols */ a -- trailing\nFROM s /* done */ ;  -- end");
    EXPECT_EQ(p.columns.size(), 1u);
    EXPECT_EQ(p.source_name, "s");
}

TEST(Statements, AliasesWithAndWithoutAs) {
    const Plan p = must_plan("SELECT a AS x, b y, c \"Z z\" FROM s t");
    ASSERT_EQ(p.columns.size(), 3u);
    EXPECT_EQ(p.columns[0].name, "x");
    EXPECT_EQ(p.columns[1].name, "y");
    EXPECT_EQ(p.columns[2].name, "Z z");
}

TEST(Statements, WithValuesMayBeUnquotedDurations) {
    const Plan p = must_plan("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('watermark.max_out_of_orderness' = 3s)");
    EXPECT_EQ(p.props.max_out_of_orderness_ms, 3000);
}

TEST(Statements, EmitFinal) {
    const Plan p = must_plan("SELECT k, COUNT(*) FROM s GROUP BY k EMIT final");
    EXPECT_EQ(p.emit, EmitMode::Final);
    EXPECT_TRUE(p.emit_explicit);
}

TEST(Statements, LimitZero) { EXPECT_EQ(must_plan("SELECT a FROM s LIMIT 0").limit, 0u); }

// ---------------------------------------------------------------- windows and durations

TEST(Windows, IntervalUnitsAndPlurals) {
    struct Case {
        const char* dur;
        int64_t ms;
    };
    const Case cases[] = {
        {"INTERVAL '250' MILLISECOND", 250}, {"INTERVAL '250' MILLISECONDS", 250}, {"INTERVAL '5' SECOND", 5000},
        {"INTERVAL '5' SECONDS", 5000},      {"interval '2' minute", 120000},      {"INTERVAL '2' MINUTES", 120000},
        {"INTERVAL '1' HOUR", 3600000},      {"INTERVAL '3' HOURS", 10800000},     {"INTERVAL '1' DAY", 86400000},
        {"INTERVAL '2' DAYS", 172800000},    {"INTERVAL '5 seconds'", 5000},       {"INTERVAL '10s'", 10000},
        {"500ms", 500},                      {"5s", 5000},                         {"1m", 60000},
        {"1h", 3600000},                     {"1d", 86400000},
    };
    for (const Case& c : cases) {
        const Plan p = must_plan(std::string("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, ") + c.dur + ")");
        EXPECT_EQ(p.window.size_ms, c.ms) << c.dur;
    }
}

TEST(Windows, AllKinds) {
    const Plan t = must_plan("SELECT COUNT(*) FROM s WINDOW TUMBLING (ts, 10s)");
    EXPECT_EQ(t.window.kind, WindowKind::Tumbling);
    EXPECT_EQ(t.window.size_ms, 10000);
    EXPECT_EQ(sexpr(t, t.window.time), "$ts");

    const Plan sl = must_plan("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, INTERVAL '10' SECOND, INTERVAL '5' SECOND)");
    EXPECT_EQ(sl.window.kind, WindowKind::Sliding);
    EXPECT_EQ(sl.window.size_ms, 10000);
    EXPECT_EQ(sl.window.advance_ms, 5000);

    const Plan h = must_plan("SELECT COUNT(*) FROM s WINDOW HOPPING(ts, 1m, 30s)");
    EXPECT_EQ(h.window.kind, WindowKind::Sliding);
    EXPECT_EQ(h.window.size_ms, 60000);
    EXPECT_EQ(h.window.advance_ms, 30000);

    const Plan se = must_plan("SELECT k, COUNT(*) FROM s GROUP BY k WINDOW SESSION(ts, 3s)");
    EXPECT_EQ(se.window.kind, WindowKind::Session);
    EXPECT_EQ(se.window.gap_ms, 3000);
    EXPECT_EQ(se.window.size_ms, 0);

    const Plan a = must_plan("SELECT COUNT(*) FROM s WINDOW TUMBLING(_TIMESTAMP, 1s)");
    EXPECT_EQ(sexpr(a, a.window.time), "arrival");
    EXPECT_TRUE(a.fields.empty());
}

TEST(Windows, SyntaxErrors) {
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW ROLLING(ts, 5s)"),
              "line 1:31: expected TUMBLING, SLIDING, HOPPING or SESSION after WINDOW, found 'ROLLING'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts)"),
              "line 1:42: expected ',' after the time column, found ')'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 5000)"),
              "line 1:44: expected a duration (INTERVAL '5' SECOND or 5s), found '5000'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, INTERVAL '5' FORTNIGHT)"),
              "line 1:57: expected a unit (MILLISECOND, SECOND, MINUTE, HOUR or DAY), found 'FORTNIGHT'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, INTERVAL '1.5' SECOND)"),
              "line 1:53: INTERVAL needs a whole non-negative number, found '1.5'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, INTERVAL 5 SECOND)"),
              "line 1:53: expected a quoted number after INTERVAL (e.g. INTERVAL '5' SECOND), found '5'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 10s)"),
              "line 1:46: expected ',' before the advance (SLIDING(time, size, advance)), found ')'");
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s, 1s)"),
              "line 1:46: expected ')' after the TUMBLING arguments, found ','");
}

TEST(Windows, DurationsOutsideWindowsAreErrors) {
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE t > 5s"),
              "line 1:27: a duration such as '5s' is only allowed in WINDOW (...)");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE t > INTERVAL '5' SECOND"),
              "line 1:27: INTERVAL is only allowed in WINDOW (...)");
}

// ---------------------------------------------------------------- syntax errors

TEST(SyntaxErrors, ExpectedAndFoundWithPosition) {
    EXPECT_EQ(plan_error("SELECT COUNT(*) AS n FORM orders"), "line 1:22: expected FROM, found 'FORM'");
    EXPECT_EQ(plan_error("SELECT a, FROM s"), "line 1:11: expected an expression, found 'FROM'");
    EXPECT_EQ(plan_error("SELECT a\nFROM s\nWHERE x >"), "line 3:10: expected an expression, found end of input");
    EXPECT_EQ(plan_error(""), "line 1:1: expected SELECT or CREATE STREAM, found end of input");
    EXPECT_EQ(plan_error("UPDATE s SET a = 1"), "line 1:1: expected SELECT or CREATE STREAM, found 'UPDATE'");
    EXPECT_EQ(plan_error("SELECT a FROM"), "line 1:14: expected a stream name after FROM, found end of input");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE (a > 1"), "line 1:29: expected ')', found end of input");
    EXPECT_EQ(plan_error("SELECT a FROM s GROUP a"), "line 1:23: expected BY after GROUP, found 'a'");
    EXPECT_EQ(plan_error("SELECT a FROM s LIMIT -1"), "line 1:23: expected a row count after LIMIT, found '-'");
    EXPECT_EQ(plan_error("SELECT a FROM s EMIT NOW"), "line 1:22: expected CHANGES or FINAL after EMIT, found 'NOW'");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE a IS 1"),
              "line 1:28: expected NULL or NOT NULL after IS, found '1'");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE a BETWEEN 1 OR 2"),
              "line 1:35: expected AND in BETWEEN ... AND ..., found 'OR'");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE a IN 1"), "line 1:28: expected '(' after IN, found '1'");
    EXPECT_EQ(plan_error("SELECT CASE a THEN 1 END FROM s"), "line 1:15: expected WHEN, found 'THEN'");
    EXPECT_EQ(plan_error("SELECT CASE WHEN a THEN 1 FROM s"),
              "line 1:27: expected WHEN, ELSE or END, found 'FROM'");
    EXPECT_EQ(plan_error("SELECT f(a b) FROM s"), "line 1:12: expected ')' or ',' in the argument list, found 'b'");
    EXPECT_EQ(plan_error("SELECT a AS FROM s"), "line 1:13: expected a column alias after AS, found 'FROM'");
    EXPECT_EQ(plan_error("SELECT a.FROM s"), "line 1:15: expected FROM, found 's'");
    EXPECT_EQ(plan_error("SELECT a FORM s"), "line 1:10: expected FROM, found 'FORM'");
    EXPECT_EQ(plan_error("SELECT a, b c d FROM s"), "line 1:13: expected FROM, found 'c'");
    EXPECT_EQ(plan_error("SELECT a FROM s WHER a > 1"),
              "line 1:17: expected WHERE, GROUP BY, WINDOW, HAVING, LIMIT, EMIT, WITH or end of statement, found "
              "'WHER'");
}

TEST(SyntaxErrors, ReservedWordsNeedQuotes) {
    EXPECT_EQ(plan_error("SELECT select FROM s"), "line 1:8: expected an expression, found 'select'");
    EXPECT_EQ(must_plan("SELECT \"select\" FROM s").fields[0].dotted, "select");
}

TEST(SyntaxErrors, SelectStar) {
    EXPECT_EQ(plan_error("SELECT * FROM s"),
              "line 1:8: SELECT * is not supported: records have no fixed schema, name the columns");
}

TEST(SyntaxErrors, ClausesOutOfOrder) {
    EXPECT_EQ(plan_error("SELECT COUNT(*) FROM s LIMIT 5 WHERE a > 1"),
              "line 1:32: unexpected WHERE: clauses appear at most once, in the order WHERE, GROUP BY, WINDOW, "
              "HAVING, LIMIT, EMIT, WITH");
    EXPECT_EQ(plan_error("SELECT k, COUNT(*) FROM s GROUP BY k HAVING COUNT(*) > 1 WINDOW TUMBLING(ts, 1s)"),
              "line 1:58: unexpected WINDOW: clauses appear at most once, in the order WHERE, GROUP BY, WINDOW, "
              "HAVING, LIMIT, EMIT, WITH");
    EXPECT_EQ(plan_error("SELECT a FROM s WHERE a > 1 WHERE a < 5").substr(0, 28), "line 1:29: unexpected WHERE:");
}

TEST(SyntaxErrors, TrailingInput) {
    EXPECT_EQ(plan_error("SELECT a FROM s ORDER BY a"),
              "line 1:17: expected WHERE, GROUP BY, WINDOW, HAVING, LIMIT, EMIT, WITH or end of statement, found "
              "'ORDER'");
    EXPECT_EQ(plan_error("SELECT a FROM s t x"),
              "line 1:17: expected WHERE, GROUP BY, WINDOW, HAVING, LIMIT, EMIT, WITH or end of statement, found 't'");
    EXPECT_EQ(plan_error("SELECT a FROM s AS t x"), "line 1:22: expected end of statement, found 'x'");
    EXPECT_EQ(plan_error("SELECT a FROM s; SELECT b FROM s"),
              "line 1:18: expected end of statement, found 'SELECT'");
    EXPECT_EQ(plan_error("SELECT a FROM s;;"), "line 1:17: only one statement is allowed");
}

TEST(SyntaxErrors, WithClause) {
    EXPECT_EQ(plan_error("SELECT a FROM s WITH (watermark = '1s')"),
              "line 1:23: expected a quoted property name (e.g. 'watermark.max_out_of_orderness'), found "
              "'watermark'");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('a' '1s')"),
              "line 1:27: expected '=' after the property name, found ''1s''");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('a' = drop)"), "line 1:29: expected a quoted property value, found 'drop'");
    EXPECT_EQ(plan_error("SELECT a FROM s WITH ('state.ttl' = '1s'"),
              "line 1:41: expected ')' or ',' in WITH (...), found end of input");
}

TEST(SyntaxErrors, LongTokensAreTruncatedInMessages) {
    const std::string name(100, 'q');
    const std::string msg = plan_error("SELECT a FROM s WHERE a " + name);
    EXPECT_EQ(msg.substr(0, 51), "line 1:25: expected end of statement, found 'qqqqqq");
    EXPECT_NE(msg.find("...'"), std::string::npos);
    EXPECT_LT(msg.size(), 110u);
}

// ---------------------------------------------------------------- robustness

TEST(Robustness, DeepParenthesesAreRefused) {
    const std::string deep = "SELECT " + std::string(100000, '(') + "a" + std::string(100000, ')') + " FROM s";
    EXPECT_NE(plan_error(deep).find("nested too deeply"), std::string::npos);
}

TEST(Robustness, DeepUnaryChainsAreRefused) {
    std::string nots = "SELECT a FROM s WHERE ";
    for (int k = 0; k < 50000; ++k) nots += "NOT ";
    nots += "a";
    EXPECT_NE(plan_error(nots).find("nested too deeply"), std::string::npos);
    std::string minus = "SELECT ";
    for (int k = 0; k < 50000; ++k) minus += "- ";
    minus += "a FROM s";
    EXPECT_NE(plan_error(minus).find("nested too deeply"), std::string::npos);
}

TEST(Robustness, LongLeftDeepChainsAreRefused) {
    std::string sum = "SELECT a";
    for (int k = 0; k < 20000; ++k) sum += " + a";
    sum += " FROM s";
    EXPECT_NE(plan_error(sum).find("nested too deeply"), std::string::npos);
}

TEST(Robustness, ModerateNestingIsFine) {
    const std::string ok = "SELECT " + std::string(100, '(') + "a + 1" + std::string(100, ')') + " AS x FROM s";
    const Plan p = must_plan(ok);
    EXPECT_EQ(sexpr(p, p.columns[0].expr), "(Add $a 1)");
    std::string calls = "SELECT ";
    for (int k = 0; k < 60; ++k) calls += "ABS(";
    calls += "a";
    calls.append(60, ')');
    calls += " AS x FROM s";
    must_plan(calls);
}

TEST(Robustness, WideInListsAndManyColumns) {
    std::string in = "SELECT a FROM s WHERE a IN (0";
    for (int k = 1; k < 5000; ++k) in += ", " + std::to_string(k);
    in += ")";
    const Plan p = must_plan(in);
    EXPECT_EQ(p.exprs.node(p.where).nargs, 5001u);

    std::string cols = "SELECT c0";
    for (int k = 1; k < 2000; ++k) cols += ", c" + std::to_string(k);
    cols += " FROM s";
    EXPECT_EQ(must_plan(cols).fields.size(), 2000u);
}

TEST(Robustness, TooManyArgumentsIsAnError) {
    std::string in = "SELECT a FROM s WHERE a IN (0";
    for (int k = 1; k < 70000; ++k) in += ",1";
    in += ")";
    EXPECT_EQ(plan_error(in), "line 1:23: too many arguments (at most 65534)");
}

// Random edits of valid statements: each result is a plan or an error that
// names a position; nothing crashes.
TEST(Robustness, MutatedStatementsNeverCrash) {
    const std::string seeds[] = {
        "SELECT k, COUNT(*) AS n, SUM(v * 2) / COUNT(v) AS r FROM s t WHERE t.v > 1 AND k IN ('a', 'b') GROUP BY k "
        "WINDOW TUMBLING(ts, INTERVAL '5' SECOND) HAVING COUNT(*) > 1 LIMIT 3 EMIT FINAL WITH "
        "('watermark.max_out_of_orderness' = '2s')",
        "CREATE STREAM o AS SELECT CASE x WHEN 1 THEN 'a' ELSE 'b' END AS c, CAST(y AS DOUBLE), "
        "SUBSTRING(z FROM 1 FOR 2), LAG(p, 1) OVER (ROWS WINDOW BUFFER 5 ROWS PARTITION BY k ORDER BY ts) AS l FROM s;",
    };
    const std::string alphabet = "()',.;*+-/%|=<>! \n\"aZ_09eE";
    std::mt19937 rng(12345);
    int planned = 0;
    for (const std::string& seed : seeds) {
        for (int round = 0; round < 1500; ++round) {
            std::string s = seed;
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits; ++e) {
                const std::size_t at = rng() % (s.size() + 1);
                switch (rng() % 3) {
                    case 0:
                        if (at < s.size()) s.erase(at, 1 + rng() % 3);
                        break;
                    case 1: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
                    default:
                        if (at < s.size()) s[at] = alphabet[rng() % alphabet.size()];
                        break;
                }
            }
            auto r = plan_sql(s);
            if (r) {
                ++planned;
                continue;
            }
            const std::string& m = r.error().message;
            ASSERT_EQ(m.rfind("line ", 0), 0u) << s << "\n -> " << m;
            ASSERT_NE(m.find(": ", 5), std::string::npos) << m;
        }
    }
    EXPECT_GT(planned, 0);
}

}  // namespace
}  // namespace sluice::sql
