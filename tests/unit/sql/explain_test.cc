#include <gtest/gtest.h>

#include <string>

#include "sql_test_util.h"

namespace sluice::sql {
namespace {

using testing::must_plan;

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Explain, GroupedWindowedQuery) {
    const std::string text = explain(must_plan(
        "CREATE STREAM per_key AS SELECT k, _WINDOW_START AS ws, COUNT(*) AS n, SUM(v * 2) AS s FROM events "
        "WHERE v > 1.5 AND k <> 'x' GROUP BY k WINDOW TUMBLING(ts, INTERVAL '5' SECOND) HAVING COUNT(*) >= 2 "
        "LIMIT 10 WITH ('watermark.max_out_of_orderness' = '2s')"));
    EXPECT_TRUE(has_line(text, "statement: CREATE STREAM per_key AS SELECT")) << text;
    EXPECT_TRUE(has_line(text, "source: events")) << text;
    EXPECT_TRUE(has_line(text, "fields read:")) << text;
    EXPECT_TRUE(has_line(text, "  0: k")) << text;
    EXPECT_TRUE(has_line(text, "  1: v")) << text;
    EXPECT_TRUE(has_line(text, "  2: ts")) << text;
    EXPECT_TRUE(has_line(text, "where: v > 1.5 AND k <> 'x'")) << text;
    EXPECT_TRUE(has_line(text, "  key0 = k [runtime]")) << text;
    EXPECT_TRUE(has_line(text,
                         "routing: combined on the reading shard; when a window closes, each group's partial goes "
                         "to hash(key) -> shard"))
        << text;
    EXPECT_TRUE(has_line(text, "  agg0 = COUNT(*) [count rows]")) << text;
    EXPECT_TRUE(has_line(text, "  agg1 = SUM(v * 2) [sum of v * 2]")) << text;
    EXPECT_TRUE(has_line(text, "window: TUMBLING(ts, 5s)")) << text;
    EXPECT_TRUE(has_line(text, "having: agg0 >= 2")) << text;
    EXPECT_TRUE(has_line(text, "emit: EMIT FINAL (default for windowed queries)")) << text;
    EXPECT_TRUE(has_line(text, "  watermark.max_out_of_orderness = 2s")) << text;
    EXPECT_TRUE(has_line(text, "  watermark.idle_timeout = 5s")) << text;
    EXPECT_TRUE(has_line(text, "  state.ttl = none")) << text;
    EXPECT_TRUE(has_line(text, "  ws = _WINDOW_START [BIGINT]")) << text;
    EXPECT_TRUE(has_line(text, "  n = agg0 [BIGINT]")) << text;
    EXPECT_TRUE(has_line(text, "limit: 10")) << text;
}

TEST(Explain, FinalGroupByCombinesOnTheReader) {
    const std::string text = explain(must_plan("SELECT k, MIN(t) AS lo FROM m GROUP BY k EMIT FINAL"));
    EXPECT_TRUE(has_line(text,
                         "routing: combined on the reading shard; at end of input each group's partial goes to "
                         "hash(key) -> shard"))
        << text;
    const std::string changes = explain(must_plan("SELECT k, MIN(t) AS lo FROM m GROUP BY k"));
    EXPECT_TRUE(has_line(changes, "routing: hash(key) -> shard")) << changes;
}

TEST(Explain, StatelessQuery) {
    const std::string text = explain(must_plan(
        "SELECT id, (a + b) * 2 AS x, CASE WHEN s LIKE 'a%' THEN 'yes' ELSE 'no' END AS c, CAST(q AS BIGINT) AS n "
        "FROM t WHERE id NOT IN (7, 9) OR NOT (a BETWEEN 1 AND 2)"));
    EXPECT_TRUE(has_line(text, "statement: SELECT")) << text;
    EXPECT_TRUE(has_line(text, "routing: stateless: stays on the reading shard")) << text;
    EXPECT_TRUE(has_line(text, "group key: none")) << text;
    EXPECT_TRUE(has_line(text, "window: none")) << text;
    EXPECT_TRUE(has_line(text, "where: id NOT IN (7, 9) OR NOT a BETWEEN 1 AND 2")) << text;
    EXPECT_TRUE(has_line(text, "  x = (a + b) * 2 [runtime]")) << text;
    EXPECT_TRUE(has_line(text, "  c = CASE WHEN s LIKE 'a%' THEN 'yes' ELSE 'no' END [VARCHAR]")) << text;
    EXPECT_TRUE(has_line(text, "  n = CAST(q AS BIGINT) [BIGINT]")) << text;
    EXPECT_TRUE(has_line(text, "emit: EMIT CHANGES (default)")) << text;
    EXPECT_TRUE(has_line(text, "limit: none")) << text;
    EXPECT_EQ(text.find("aggregates:"), std::string::npos) << text;
}

TEST(Explain, GlobalAggregateIsTwoPhase) {
    const std::string text = explain(must_plan("SELECT COUNT(*) AS n, AVG(x) AS a FROM t EMIT FINAL"));
    EXPECT_TRUE(has_line(text, "routing: two-phase: partial per shard, merged on shard 0")) << text;
    EXPECT_TRUE(has_line(text, "group key: none (one global group)")) << text;
    EXPECT_TRUE(has_line(text, "emit: EMIT FINAL")) << text;
    EXPECT_TRUE(has_line(text, "  agg1 = AVG(x) [average of x]")) << text;
}

TEST(Explain, RowsWindowsAndOtherWindows) {
    const std::string rows = explain(must_plan(
        "SELECT LAG(p, 2) OVER (ROWS WINDOW BUFFER 5 ROWS PARTITION BY s ORDER BY ts) AS l FROM t"));
    EXPECT_TRUE(has_line(rows, "routing: hash(PARTITION BY key) -> shard (ROWS window buffers per key)")) << rows;
    EXPECT_NE(rows.find("  rows0 = LAG(p, 2) OVER (ROWS WINDOW BUFFER 5 ROWS PARTITION BY s ORDER BY ts) [lag of p, "
                        "offset 2, buffer 5 rows, partition by s, order by ts]"),
              std::string::npos)
        << rows;
    EXPECT_TRUE(has_line(rows, "  l = rows0 [runtime]")) << rows;

    const std::string sliding = explain(must_plan("SELECT COUNT(*) FROM t WINDOW SLIDING(ts, 1m, 1500ms)"));
    EXPECT_TRUE(has_line(sliding, "window: SLIDING(ts, 1m, 1500ms)")) << sliding;
    const std::string session =
        explain(must_plan("SELECT k, COUNT(*) FROM t GROUP BY k WINDOW SESSION(_TIMESTAMP, 1h) WITH "
                          "('late.data.strategy' = 'dead_letter')"));
    EXPECT_TRUE(has_line(session, "window: SESSION(_TIMESTAMP, gap 1h)")) << session;
    EXPECT_TRUE(has_line(session, "  late.data.strategy = dead_letter")) << session;
}

TEST(Explain, EmptyPlanDoesNotCrash) {
    const std::string text = explain(Plan{});
    EXPECT_TRUE(has_line(text, "fields read: none")) << text;
}

}  // namespace
}  // namespace sluice::sql
