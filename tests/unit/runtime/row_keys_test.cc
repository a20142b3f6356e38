// Keys of result rows for the Kafka sink (io::row_key_text) and of groups in
// checkpoints (append_key_text): the same text for the same group, so a
// group's state follows the partition its rows go to.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../support/collected_text.h"
#include "io/kafka.h"
#include "sluice/exec.h"
#include "sluice/hash.h"
#include "sluice/out_buffer.h"
#include "sluice/sql.h"

namespace sluice {
namespace {

std::string key_of(const std::string& row, std::vector<uint32_t> cols) {
    std::string out;
    if (!io::row_key_text(row, cols, out)) return "<malformed>";
    return out;
}

TEST(RowKeys, ColumnsByPositionJoinedWithABar) {
    EXPECT_EQ(key_of(R"({"k":"AAPL","n":3})", {0}), "AAPL");
    EXPECT_EQ(key_of(R"({"n":3,"k":"AAPL","x":1.5})", {1}), "AAPL");
    EXPECT_EQ(key_of(R"({"a":"x","b":42,"c":true})", {0, 1, 2}), "x|42|true");
    EXPECT_EQ(key_of(R"({"a":"x","b":42})", {1, 0}), "42|x");  // GROUP BY order, not column order
    EXPECT_EQ(key_of(R"({"a":null,"b":-1.25e3})", {0, 1}), "|-1.25e3");
    EXPECT_EQ(key_of(R"({"a":"x"})", {}), "");
}

TEST(RowKeys, StringsAreUnescaped) {
    EXPECT_EQ(key_of(R"({"k":"a\"b\\c\/d\n\t"})", {0}), "a\"b\\c/d\n\t");
    EXPECT_EQ(key_of(R"({"k":"caf\u00e9 \ud83d\ude00"})", {0}), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    EXPECT_EQ(key_of(R"({"k":"a|b"})", {0}), "a|b");
}

TEST(RowKeys, MalformedRowsAreSaidSo) {
    EXPECT_EQ(key_of(R"([1,2])", {0}), "<malformed>");
    EXPECT_EQ(key_of(R"({"k":"open)", {0}), "<malformed>");
    EXPECT_EQ(key_of(R"({"k":1})", {3}), "<malformed>");  // no such column
    EXPECT_EQ(key_of(R"({})", {0}), "<malformed>");
}

// What the sink reads from a row is what a checkpoint computes from the group's key bytes.
TEST(RowKeys, RowKeysAndStateKeysAgree) {
    auto planned = plan_sql("SELECT s, i, d, b, COUNT(*) AS n FROM t GROUP BY s, i, d, b");
    ASSERT_TRUE(planned.ok()) << planned.error().message;
    const Plan& plan = planned.value();
    struct Case {
        Value s, i, d, b;
    };
    const std::string esc = "tab\there \"q\" \xc3\xa9";
    const std::vector<Case> cases = {
        {Value::of_string("AAPL", 4), Value::of_int(7), Value::of_double(1.5), Value::of_bool(true)},
        {Value::of_string(esc.data(), static_cast<uint32_t>(esc.size())), Value::of_int(-3), Value::of_double(2.0),
         Value::of_bool(false)},
        {Value::null(), Value::of_int(0), Value::of_double(1e21), Value::null()},
        {Value::of_string("", 0), Value::of_int(INT64_MIN), Value::of_double(0.1), Value::of_bool(true)},
    };
    for (const Case& c : cases) {
        const Value keys[4] = {c.s, c.i, c.d, c.b};
        uint8_t bytes[256];
        const uint32_t len = encode_key(keys, 4, bytes, sizeof bytes);
        ASSERT_LE(len, sizeof bytes);
        std::string state_text;
        append_key_text(bytes, len, 4, state_text);
        // The row the engine writes for that group.
        std::string rows;
        OutBuffer out(1 << 12, &testing::collect, &rows);
        ShardCounters counters;
        QueryState state(plan, 0, 1, 1, out, counters);
        AggInput in;
        in.key = bytes;
        in.key_len = len;
        in.hash = hash64(bytes, len);
        std::vector<Value> args(plan.aggs.size());
        in.args = args.data();
        state.on_record(in);
        out.flush();
        const auto lines = testing::split_lines(rows);
        ASSERT_EQ(lines.size(), 1u);
        EXPECT_EQ(key_of(lines[0], {0, 1, 2, 3}), state_text) << lines[0];
    }
}

}  // namespace
}  // namespace sluice
