#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "case_file.h"

namespace sluice::conformance {
namespace {

JsonValue json(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v.ok()) << text << ": " << (v.ok() ? "" : v.error().message);
    return v.ok() ? v.value() : JsonValue{};
}

bool eq(std::string_view a, std::string_view b) { return values_equal(json(a), json(b)); }

std::vector<Row> rows(std::initializer_list<std::string_view> lines) {
    std::string text;
    for (auto l : lines) {
        text.append(l);
        text += '\n';
    }
    auto r = parse_rows(text);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : std::vector<Row>{};
}

Comparison compare(const std::vector<Row>& expected, const std::vector<Row>& actual, OrderMode order,
                   std::vector<std::string> keys = {}) {
    return compare_rows(expected, actual, order, keys);
}

// --- values ---------------------------------------------------------------

TEST(CompareValues, IntegersEqualTheSameDouble) {
    EXPECT_TRUE(eq("300", "300.0"));
    EXPECT_TRUE(eq("300.0", "300"));
    EXPECT_TRUE(eq("-2", "-2.0"));
    EXPECT_TRUE(eq("0", "0.0"));
    EXPECT_TRUE(eq("0", "-0.0"));
    EXPECT_TRUE(eq("1e3", "1000"));
    EXPECT_FALSE(eq("300", "301"));
    EXPECT_FALSE(eq("300", "300.5"));
}

TEST(CompareValues, RelativeToleranceIsOneInTenToTheNine) {
    EXPECT_TRUE(eq("1.0", "1.0000000005"));
    EXPECT_FALSE(eq("1.0", "1.000000002"));
    EXPECT_TRUE(eq("8.16496580927726", "8.164965809277261"));
    EXPECT_TRUE(eq("1e20", "1.0000000001e20"));
    EXPECT_FALSE(eq("1e20", "1.00000001e20"));
    EXPECT_TRUE(eq("-5e-12", "-5.000000001e-12"));
    EXPECT_FALSE(eq("5e-12", "-5e-12"));
    // Relative, so nothing but zero equals zero.
    EXPECT_FALSE(eq("0.0", "1e-300"));
}

TEST(CompareValues, IntegersCompareExactlyBeyondDoublePrecision) {
    EXPECT_FALSE(eq("9007199254740993", "9007199254740992"));
    EXPECT_TRUE(eq("9007199254740993", "9007199254740993"));
    EXPECT_TRUE(eq("18446744073709551615", "18446744073709551615"));
    EXPECT_FALSE(eq("18446744073709551615", "18446744073709551614"));
    EXPECT_FALSE(eq("-1", "18446744073709551615"));
    EXPECT_TRUE(eq("9223372036854775808", "9223372036854775808"));  // first value past int64
}

TEST(CompareValues, NullEqualsOnlyNull) {
    EXPECT_TRUE(eq("null", "null"));
    for (const char* other : {"0", "0.0", "\"\"", "false", "\"null\"", "[]", "{}"}) {
        EXPECT_FALSE(eq("null", other)) << other;
        EXPECT_FALSE(eq(other, "null")) << other;
    }
}

TEST(CompareValues, TypesDoNotConvert) {
    EXPECT_FALSE(eq("\"1\"", "1"));
    EXPECT_FALSE(eq("true", "1"));
    EXPECT_TRUE(eq("true", "true"));
    EXPECT_FALSE(eq("true", "false"));
    EXPECT_TRUE(eq("\"AAPL\"", "\"AAPL\""));
    EXPECT_FALSE(eq("\"AAPL\"", "\"aapl\""));
}

TEST(CompareValues, ObjectsNeedTheSameKeysInAnyOrder) {
    EXPECT_TRUE(eq(R"({"a":1,"b":"x"})", R"({"b":"x","a":1.0})"));
    EXPECT_FALSE(eq(R"({"a":1})", R"({"a":1,"b":null})"));  // a missing column is not a null one
    EXPECT_FALSE(eq(R"({"a":1,"b":null})", R"({"a":1})"));
    EXPECT_FALSE(eq(R"({"a":1})", R"({"A":1})"));
    EXPECT_FALSE(eq(R"({"a":1,"b":2})", R"({"a":1,"c":2})"));
    EXPECT_TRUE(eq(R"({"n":{"x":[1,2.0]}})", R"({"n":{"x":[1.0,2]}})"));
    EXPECT_FALSE(eq(R"({"n":[1,2]})", R"({"n":[2,1]})"));
    EXPECT_FALSE(eq(R"({"n":[1,2]})", R"({"n":[1,2,3]})"));
}

TEST(CompareValues, RepeatedKeysAreRejected) {
    EXPECT_FALSE(parse_json(R"({"a":1,"a":2})").ok());
    EXPECT_FALSE(parse_json(R"({"o":{"k":1,"k":1}})").ok());
}

// --- rows -------------------------------------------------------------------

TEST(ParseRows, OneObjectPerNonBlankLine) {
    auto r = parse_rows("{\"a\":1}\n\n  \n{\"a\":2}\r\n{\"a\":3}");
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[1].text, "{\"a\":2}");
    EXPECT_TRUE(values_equal((*r)[2].value, json("{\"a\":3}")));
}

TEST(ParseRows, RejectsAnythingButObjects) {
    EXPECT_FALSE(parse_rows("{\"a\":1}\n[1,2]\n").ok());
    EXPECT_FALSE(parse_rows("{\"a\":1}\n{\"a\":\n").ok());
    EXPECT_FALSE(parse_rows("42\n").ok());
    EXPECT_FALSE(parse_rows("{\"a\":1} {\"a\":2}\n").ok());
    auto bad = parse_rows("{\"a\":1}\nnot json\n");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("line 2"), std::string::npos) << bad.error().message;
}

// --- order modes ------------------------------------------------------------

TEST(CompareRows, ExactNeedsTheSameOrder) {
    const auto e = rows({R"({"n":1})", R"({"n":2})"});
    EXPECT_TRUE(compare(e, rows({R"({"n":1.0})", R"({"n":2})"}), OrderMode::Exact).ok);
    const auto swapped = compare(e, rows({R"({"n":2})", R"({"n":1})"}), OrderMode::Exact);
    EXPECT_FALSE(swapped.ok);
    EXPECT_NE(swapped.message.find("row 1 differs"), std::string::npos) << swapped.message;
    EXPECT_FALSE(compare(e, rows({R"({"n":1})"}), OrderMode::Exact).ok);
    EXPECT_FALSE(compare(e, rows({R"({"n":1})", R"({"n":2})", R"({"n":2})"}), OrderMode::Exact).ok);
}

TEST(CompareRows, EmptyExpectedNeedsNoRows) {
    EXPECT_TRUE(compare({}, {}, OrderMode::Exact).ok);
    EXPECT_TRUE(compare({}, {}, OrderMode::Any).ok);
    EXPECT_FALSE(compare({}, rows({R"({"n":1})"}), OrderMode::Exact).ok);
    EXPECT_FALSE(compare({}, rows({R"({"n":1})"}), OrderMode::Any).ok);
    EXPECT_FALSE(compare(rows({R"({"n":1})"}), {}, OrderMode::Any).ok);
}

TEST(CompareRows, AnyIsAMultiset) {
    const auto e = rows({R"({"k":"a"})", R"({"k":"a"})", R"({"k":"b"})"});
    EXPECT_TRUE(compare(e, rows({R"({"k":"b"})", R"({"k":"a"})", R"({"k":"a"})"}), OrderMode::Any).ok);
    const auto wrong = compare(e, rows({R"({"k":"a"})", R"({"k":"b"})", R"({"k":"b"})"}), OrderMode::Any);
    EXPECT_FALSE(wrong.ok);
    EXPECT_NE(wrong.message.find("missing    {\"k\":\"a\"}"), std::string::npos) << wrong.message;
    EXPECT_NE(wrong.message.find("unexpected {\"k\":\"b\"}"), std::string::npos) << wrong.message;
    EXPECT_FALSE(compare(e, rows({R"({"k":"a"})", R"({"k":"b"})"}), OrderMode::Any).ok);
}

TEST(CompareRows, AnyFindsAMatchingThatFirstComeFirstServedMisses) {
    // a ~ b and b ~ c within tolerance, but a !~ c.
    const char* a = R"({"x":1.0})";
    const char* b = R"({"x":1.0000000008})";
    const char* c = R"({"x":1.0000000016})";
    ASSERT_TRUE(eq(a, b));
    ASSERT_TRUE(eq(b, c));
    ASSERT_FALSE(eq(a, c));
    // Expected b first would grab a; only b <-> c, a <-> a pairs everything.
    EXPECT_TRUE(compare(rows({b, a}), rows({a, c}), OrderMode::Any).ok);
    EXPECT_FALSE(compare(rows({a, a}), rows({a, c}), OrderMode::Any).ok);
}

TEST(CompareRows, ByKeyKeepsEachKeysOrderButNotTheInterleaving) {
    const auto e = rows({R"({"s":"A","n":1})", R"({"s":"A","n":2})", R"({"s":"M","n":1})", R"({"s":"A","n":3})"});
    const auto interleaved =
        rows({R"({"s":"M","n":1})", R"({"s":"A","n":1})", R"({"s":"A","n":2})", R"({"s":"A","n":3})"});
    EXPECT_TRUE(compare(e, interleaved, OrderMode::ByKey, {"s"}).ok);
    EXPECT_FALSE(compare(e, interleaved, OrderMode::Exact).ok);

    const auto reordered =
        rows({R"({"s":"A","n":2})", R"({"s":"A","n":1})", R"({"s":"M","n":1})", R"({"s":"A","n":3})"});
    const auto bad = compare(e, reordered, OrderMode::ByKey, {"s"});
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.message.find("s=\"A\""), std::string::npos) << bad.message;
    EXPECT_TRUE(compare(e, reordered, OrderMode::Any).ok);
}

TEST(CompareRows, ByKeyNeedsEveryKeyAndNoOthers) {
    const auto e = rows({R"({"s":"A","n":1})", R"({"s":"M","n":1})"});
    EXPECT_FALSE(compare(e, rows({R"({"s":"A","n":1})"}), OrderMode::ByKey, {"s"}).ok);
    EXPECT_FALSE(
        compare(e, rows({R"({"s":"A","n":1})", R"({"s":"M","n":1})", R"({"s":"Z","n":1})"}), OrderMode::ByKey, {"s"})
            .ok);
    // A row without the key column is its own group, apart from a null key.
    EXPECT_FALSE(compare(rows({R"({"s":null,"n":1})"}), rows({R"({"n":1})"}), OrderMode::ByKey, {"s"}).ok);
}

TEST(CompareRows, ByKeyOnSeveralColumnsComparesKeysByValue) {
    const auto e = rows({R"({"t":"T1","w":0,"n":1})", R"({"t":"T1","w":60000,"n":2})", R"({"t":"T1","w":0,"n":3})"});
    // w=0.0 is the same key as w=0, so (T1, 0) must still see n=1 before n=3.
    EXPECT_TRUE(compare(e, rows({R"({"t":"T1","w":60000,"n":2})", R"({"t":"T1","w":0.0,"n":1})",
                                 R"({"t":"T1","w":0,"n":3})"}),
                        OrderMode::ByKey, {"t", "w"})
                    .ok);
    EXPECT_FALSE(compare(e, rows({R"({"t":"T1","w":0,"n":3})", R"({"t":"T1","w":60000,"n":2})",
                                  R"({"t":"T1","w":0,"n":1})"}),
                         OrderMode::ByKey, {"t", "w"})
                     .ok);
}

// --- case files -----------------------------------------------------------

constexpr const char* kCase = R"(# A global COUNT.
# Second comment line.
-- query
SELECT COUNT(*) AS n
FROM t WINDOW TUMBLING(ts, 5s)

-- input
{"ts":1000}
not json
  {"ts":2000}  
-- expected order=by-key:a, b
{"a":1,"b":"x","n":2}

{"a":1,"b":"y","n":1}
-- stats
records_in=3
records_rejected = 1
)";

TEST(ParseCase, ReadsEverySection) {
    auto c = parse_case(kCase, "07_sample");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->name, "07_sample");
    EXPECT_EQ(c->description, "A global COUNT.\nSecond comment line.\n");
    EXPECT_EQ(c->query, "SELECT COUNT(*) AS n\nFROM t WINDOW TUMBLING(ts, 5s)");
    // Byte for byte, malformed line and whitespace included.
    EXPECT_EQ(c->input, "{\"ts\":1000}\nnot json\n  {\"ts\":2000}  \n");
    EXPECT_EQ(c->order, OrderMode::ByKey);
    EXPECT_EQ(c->order_keys, (std::vector<std::string>{"a", "b"}));
    ASSERT_EQ(c->expected.size(), 2u);
    EXPECT_TRUE(values_equal(c->expected[1].value, json(R"({"n":1,"b":"y","a":1})")));
    ASSERT_EQ(c->stats.size(), 2u);
    EXPECT_EQ(c->stats[0].name, "records_in");
    EXPECT_EQ(c->stats[0].value, 3u);
    EXPECT_EQ(c->stats[1].name, "records_rejected");
    EXPECT_EQ(c->stats[1].value, 1u);
    EXPECT_TRUE(c->has_stat("records_rejected"));
    EXPECT_FALSE(c->has_stat("late_dropped"));
}

TEST(ParseCase, OrderModesAndEmptyExpected) {
    auto any = parse_case("-- query\nSELECT 1 FROM t\n-- input\n-- expected order=any\n", "x");
    ASSERT_TRUE(any.ok()) << any.error().message;
    EXPECT_EQ(any->order, OrderMode::Any);
    EXPECT_TRUE(any->expected.empty());
    EXPECT_TRUE(any->input.empty());

    auto exact = parse_case("-- query\nSELECT a FROM t\n-- expected order=exact\n{\"a\":1}\n", "x");
    ASSERT_TRUE(exact.ok()) << exact.error().message;
    EXPECT_EQ(exact->order, OrderMode::Exact);
    EXPECT_EQ(exact->expected.size(), 1u);
    EXPECT_TRUE(exact->stats.empty());
}

TEST(ParseCase, KeepsCarriageReturnsOfInputLines) {
    auto c = parse_case("-- query\r\nSELECT a FROM t\r\n-- input\r\n{\"a\":1}\r\n-- expected order=any\r\n", "crlf");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->query, "SELECT a FROM t");
    EXPECT_EQ(c->input, "{\"a\":1}\r\n");
}

TEST(ParseCase, RejectsMalformedCases) {
    const std::vector<std::pair<const char*, const char*>> bad = {
        {"-- input\n{}\n-- expected order=any\n", "no '-- query'"},
        {"-- query\nSELECT a FROM t\n-- input\n", "no '-- expected'"},
        {"-- query\n\n-- expected order=any\n", "empty query"},
        {"-- query\nSELECT a FROM t\n-- expected order=sorted\n", "unknown order"},
        {"-- query\nSELECT a FROM t\n-- expected order=by-key:\n", "empty column"},
        {"-- query\nSELECT a FROM t\n-- expected order=by-key:a,,b\n", "empty column"},
        {"-- query\nSELECT a FROM t\n-- expected sort=any\n", "order="},
        {"-- query\nSELECT a FROM t\n-- expected order=any\n{\"a\":1\n", "expected row"},
        {"-- query\nSELECT a FROM t\n-- expected order=any\n[1]\n", "not a JSON object"},
        {"-- query\nSELECT a FROM t\n-- expected order=any\n-- stats\nbogus=1\n", "unknown counter"},
        {"-- query\nSELECT a FROM t\n-- expected order=any\n-- stats\nrows_out=-1\n", "not a non-negative"},
        {"-- query\nSELECT a FROM t\n-- expected order=any\n-- stats\nrows_out=1x\n", "not a non-negative"},
        {"-- query\nSELECT a FROM t\n-- expected order=any\n-- stats\nrows_out\n", "name=value"},
        {"-- query\nSELECT a FROM t\n-- expected order=any\n-- stats\nrows_out=1\nrows_out=1\n", "repeated"},
        {"-- query\nSELECT a FROM t\n-- query\nSELECT b FROM t\n-- expected order=any\n", "section repeated"},
        {"SELECT a FROM t\n-- query\nSELECT a FROM t\n-- expected order=any\n", "before the first section"},
    };
    for (const auto& [text, why] : bad) {
        auto c = parse_case(text, "bad");
        ASSERT_FALSE(c.ok()) << text;
        EXPECT_NE(c.error().message.find(why), std::string::npos) << c.error().message << " <- " << text;
    }
}

TEST(ParseCase, ErrorsNameTheLine) {
    auto c = parse_case("-- query\nSELECT a FROM t\n-- expected order=any\n{\"a\":1}\n{bad}\n", "f");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().message.rfind("f:5:", 0), 0u) << c.error().message;
}

TEST(Counters, EveryNameReadsItsOwnCounter) {
    ShardCounters c;
    c.records_in = 11;
    c.records_processed = 12;
    c.records_rejected = 13;
    c.late_dropped = 14;
    c.overload_dropped = 15;
    c.type_mismatch = 16;
    c.rows_out = 17;
    const uint64_t want[] = {11, 12, 13, 14, 15, 16, 17};
    ASSERT_EQ(kStatNames.size(), std::size(want));
    for (std::size_t k = 0; k < kStatNames.size(); ++k) {
        EXPECT_EQ(counter_value(c, kStatNames[k]), want[k]) << kStatNames[k];
    }
    EXPECT_FALSE(counter_value(c, "seconds").has_value());
}

}  // namespace
}  // namespace sluice::conformance
