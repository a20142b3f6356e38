// The "not supported yet" gate: every refusal with its position, each feature
// still planned by the unchecked entry point, and the earliest one reported.
#include <gtest/gtest.h>

#include <string>

#include "sql_test_util.h"

namespace sluice::sql {
namespace {

using testing::checked_error;
using testing::must_plan;

struct Refusal {
    const char* sql;
    const char* message;
};

TEST(Supported, EachFeatureIsRefusedAtItsPosition) {
    const Refusal cases[] = {
        {"SELECT DISTINCT a FROM s", "line 1:8: not supported yet: SELECT DISTINCT"},
        {"SELECT COUNT(*) FROM s WINDOW SLIDING(ts, 10s, 5s)", "line 1:31: not supported yet: SLIDING windows"},
        {"SELECT COUNT(*) FROM s\nWINDOW hopping(ts, 10s, 5s)", "line 2:8: not supported yet: HOPPING windows"},
        {"SELECT k, COUNT(*) FROM s GROUP BY k\nWINDOW SESSION(ts, 3s)", "line 2:8: not supported yet: SESSION windows"},
        {"SELECT a, LAG(a) OVER (ROWS WINDOW BUFFER 2 ROWS) FROM s",
         "line 1:18: not supported yet: ROWS windows (OVER ...)"},
        {"SELECT k, APPROX_COUNT_DISTINCT(u) FROM s GROUP BY k", "line 1:11: not supported yet: APPROX_COUNT_DISTINCT"},
        {"SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('window.allowed_lateness' = '5s')",
         "line 1:54: not supported yet: window.allowed_lateness > 0"},
        {"SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('late.data.strategy' = 'dead_letter')",
         "line 1:54: not supported yet: late.data.strategy = dead_letter"},
        {"SELECT k, COUNT(*) FROM s GROUP BY k WITH ('state.ttl' = '10m')", "line 1:44: not supported yet: state.ttl"},
    };
    for (const Refusal& c : cases) {
        EXPECT_EQ(checked_error(c.sql), c.message) << c.sql;
        must_plan(c.sql);  // the whole feature plans without the gate
    }
}

TEST(Supported, DefaultsOfRefusableFeaturesPass) {
    const char* ok[] = {
        "SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('window.allowed_lateness' = '0s')",
        "SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('late.data.strategy' = 'drop')",
        "SELECT k, COUNT(DISTINCT u) FROM s GROUP BY k",
        "SELECT a FROM s",
    };
    for (const char* sql : ok) {
        auto r = plan_sql(sql);
        EXPECT_TRUE(r.ok()) << sql << ": " << (r.ok() ? "" : r.error().message);
    }
}

TEST(Supported, TheEarliestConstructIsReported) {
    EXPECT_EQ(checked_error("SELECT DISTINCT k, APPROX_COUNT_DISTINCT(u) FROM s GROUP BY k WINDOW SESSION(ts, 1s)"),
              "line 1:8: not supported yet: SELECT DISTINCT");
    EXPECT_EQ(checked_error("SELECT k, APPROX_COUNT_DISTINCT(u) FROM s GROUP BY k WINDOW SESSION(ts, 1s)"),
              "line 1:11: not supported yet: APPROX_COUNT_DISTINCT");
    EXPECT_EQ(checked_error("SELECT k, COUNT(*) AS n, APPROX_COUNT_DISTINCT(u) FROM s GROUP BY k HAVING "
                            "APPROX_COUNT_DISTINCT(v) > 1"),
              "line 1:26: not supported yet: APPROX_COUNT_DISTINCT");
}

TEST(Supported, PlanningErrorsComeBeforeTheGate) {
    EXPECT_EQ(checked_error("SELECT DISTINCT a FROM s WHERE FOO(a)"), "line 1:32: unknown function 'FOO'");
}

TEST(Supported, CheckedPlanEqualsUncheckedPlan) {
    const char* sql = "SELECT k, COUNT(*) AS n FROM s GROUP BY k WINDOW TUMBLING(ts, 1s) HAVING COUNT(*) > 2";
    auto checked = plan_sql(sql);
    ASSERT_TRUE(checked.ok());
    const Plan unchecked = must_plan(sql);
    EXPECT_EQ(testing::sexpr(checked.value(), checked->having), testing::sexpr(unchecked, unchecked.having));
    EXPECT_EQ(checked->aggs.size(), unchecked.aggs.size());
    EXPECT_EQ(checked->fields.size(), unchecked.fields.size());
}

}  // namespace
}  // namespace sluice::sql
