// ROWS windows (SPEC §7) through AnalyticPrepare + AnalyticState: the shared
// conformance cases, every function over buffers larger and smaller than the
// rows, NULLs, strings, integer overflow, LIMIT, interleaved partitions,
// routing over several states, a randomized check against a naive
// recomputation, and no allocation per row in steady state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/sql.h"
#include "collected_text.h"
#include "counting_new.h"
#include "flat_record.h"
#include "values.h"
#include "sluice/exec.h"
#include "sluice/hash.h"
#include "sluice/out_buffer.h"
#include "sluice/plan.h"
#include "sluice/stats.h"

namespace sluice {
namespace {

using testing::I;
using testing::D;
using testing::S;
using testing::N;

// ---------------------------------------------------------------- flat JSON objects

using testing::parse_flat;


::testing::AssertionResult same_value(const Value& a, const Value& b) {
    if (a.type != b.type)
        return ::testing::AssertionFailure() << "types " << type_name(a.type) << " vs " << type_name(b.type);
    switch (a.type) {
        case Type::Null: return ::testing::AssertionSuccess();
        case Type::Bool:
            if (a.b == b.b) return ::testing::AssertionSuccess();
            return ::testing::AssertionFailure() << a.b << " vs " << b.b;
        case Type::Int:
            if (a.i == b.i) return ::testing::AssertionSuccess();
            return ::testing::AssertionFailure() << a.i << " vs " << b.i;
        case Type::Double:
            if (a.d == b.d || std::fabs(a.d - b.d) <= 1e-9 * std::fabs(b.d)) return ::testing::AssertionSuccess();
            return ::testing::AssertionFailure() << a.d << " vs " << b.d;
        case Type::String:
            if (a.str() == b.str()) return ::testing::AssertionSuccess();
            return ::testing::AssertionFailure() << "'" << a.str() << "' vs '" << b.str() << "'";
    }
    return ::testing::AssertionFailure();
}

using testing::collect;
using testing::split_lines;

Plan plan_of(const std::string& sql) {
    Result<Plan> r = plan_sql(sql);
    if (!r.ok()) {
        ADD_FAILURE() << r.error().message << "\n" << sql;
        return Plan{};
    }
    return std::move(r.value());
}

// " OVER (ROWS WINDOW BUFFER n ROWS[ PARTITION BY part])"
std::string over(uint32_t n, const char* part = nullptr) {
    std::string s = " OVER (ROWS WINDOW BUFFER " + std::to_string(n) + " ROWS";
    if (part != nullptr) s += std::string(" PARTITION BY ") + part;
    return s + ")";
}

// ---------------------------------------------------------------- a query over one or more owning states

// The runtime's shape in one thread: one AnalyticPrepare reads every record,
// records go to the state that owns their partition key (partition_of).
class Query {
public:
    explicit Query(const std::string& sql, uint32_t shards = 1) : plan_(std::make_unique<Plan>(plan_of(sql))) {
        prepare_ = std::make_unique<AnalyticPrepare>(*plan_);
        for (uint32_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>(*plan_));
        fields_.resize(plan_->fields.size());
    }

    const Plan& plan() const { return *plan_; }

    // Feeds one record given as a flat JSON object.
    void feed(const std::string& line, int64_t arrival_ms = 0) {
        std::deque<std::string> store;
        const auto rec = parse_flat(line, store);
        for (std::size_t f = 0; f < fields_.size(); ++f) {
            fields_[f] = Value::null();
            for (const auto& [name, v] : rec)
                if (name == plan_->fields[f].dotted) fields_[f] = v;
        }
        feed_fields(fields_.data(), arrival_ms);
    }
    void feed_fields(const Value* fields, int64_t arrival_ms = 0) {
        PreparedRecord pr;
        if (!prepare_->run(fields, arrival_ms, pr, reader_counters_)) {
            ++reader_counters_.records_processed;
            return;
        }
        ASSERT_EQ(pr.args, fields);
        ASSERT_EQ(pr.nargs, plan_->fields.size());
        const uint32_t owner = partition_of(pr.hash, static_cast<uint32_t>(shards_.size()));
        shards_[owner]->state.on_record(pr.hash, pr.key, pr.key_len, pr.args, pr.ts);
    }
    void feed_all(const std::vector<std::string>& lines) {
        for (const std::string& l : lines) feed(l);
    }

    // Rows written since the last call, shard 0's first.
    std::vector<std::string> take() {
        std::vector<std::string> r;
        for (auto& s : shards_) {
            s->out.flush();
            for (std::string& row : split_lines(s->text)) r.push_back(std::move(row));
            s->text.clear();
        }
        return r;
    }

    ShardCounters totals() const {
        ShardCounters t = reader_counters_;
        for (const auto& s : shards_) add_counters(t, s->counters);
        return t;
    }
    AnalyticState& state(uint32_t i = 0) { return shards_[i]->state; }

private:
    struct Shard {
        explicit Shard(const Plan& plan) : out(1 << 16, &collect, &text), state(plan, out, counters) {}
        std::string text;
        OutBuffer out;
        ShardCounters counters;
        AnalyticState state;
    };

    std::unique_ptr<Plan> plan_;
    std::unique_ptr<AnalyticPrepare> prepare_;
    std::vector<std::unique_ptr<Shard>> shards_;
    ShardCounters reader_counters_;
    std::vector<Value> fields_;
};

// Parsed rows: one map column -> value per row.
struct Rows {
    explicit Rows(const std::vector<std::string>& lines) {
        for (const std::string& l : lines) {
            std::map<std::string, Value> m;
            for (auto& [k, v] : parse_flat(l, store)) m[k] = v;
            rows.push_back(std::move(m));
        }
    }
    std::deque<std::string> store;
    std::vector<std::map<std::string, Value>> rows;
};

// ================================================================ conformance

TEST(AnalyticConformance, RowsLag) {
    // 20_rows_lag.case
    Query q("SELECT symbol, id, price, LAG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY ts) "
            "AS prev_price FROM trades");
    q.feed_all({
        R"({"id":1,"symbol":"AAPL","price":100.0,"ts":1000})",
        R"({"id":2,"symbol":"AAPL","price":101.0,"ts":2000})",
        R"({"id":3,"symbol":"MSFT","price":200.0,"ts":2500})",
        R"({"id":4,"symbol":"AAPL","price":102.0,"ts":3000})",
        R"({"id":5,"symbol":"MSFT","price":201.0,"ts":3500})",
    });
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"symbol":"AAPL","id":1,"price":100.0,"prev_price":null})",
                            R"({"symbol":"AAPL","id":2,"price":101.0,"prev_price":100.0})",
                            R"({"symbol":"MSFT","id":3,"price":200.0,"prev_price":null})",
                            R"({"symbol":"AAPL","id":4,"price":102.0,"prev_price":101.0})",
                            R"({"symbol":"MSFT","id":5,"price":201.0,"prev_price":200.0})",
                        }));
    const ShardCounters t = q.totals();
    EXPECT_EQ(t.records_processed, 5u);
    EXPECT_EQ(t.rows_out, 5u);
    EXPECT_EQ(t.type_mismatch, 0u);
    EXPECT_EQ(q.state().partition_count(), 2u);
}

TEST(AnalyticConformance, RowsBufferFunctions) {
    // 21_rows_buffer_functions.case
    Query q("SELECT symbol, price,\n"
            "       AVG(price) OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY symbol) AS ma,\n"
            "       FIRST_VALUE(price) OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY symbol) AS fv,\n"
            "       ROW_NUMBER() OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY symbol) AS rn\n"
            "FROM trades");
    q.feed_all({
        R"({"symbol":"AAPL","price":100.0})",
        R"({"symbol":"AAPL","price":200.0})",
        R"({"symbol":"AAPL","price":300.0})",
        R"({"symbol":"AAPL","price":400.0})",
    });
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"symbol":"AAPL","price":100.0,"ma":100.0,"fv":100.0,"rn":1})",
                            R"({"symbol":"AAPL","price":200.0,"ma":150.0,"fv":100.0,"rn":2})",
                            R"({"symbol":"AAPL","price":300.0,"ma":250.0,"fv":200.0,"rn":3})",
                            R"({"symbol":"AAPL","price":400.0,"ma":350.0,"fv":300.0,"rn":4})",
                        }));
}

// The same cases routed over three owning states: each partition's rows in
// input order, the same rows in all.
TEST(AnalyticConformance, RoutedOverThreeStates) {
    const std::string sql = "SELECT symbol, id, LAG(id) OVER (ROWS WINDOW BUFFER 3 ROWS PARTITION BY symbol) AS p, "
                            "ROW_NUMBER() OVER (ROWS WINDOW BUFFER 3 ROWS PARTITION BY symbol) AS rn FROM t";
    std::vector<std::string> input;
    const char* symbols[] = {"AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA"};
    for (int i = 0; i < 200; ++i)
        input.push_back(std::string(R"({"symbol":")") + symbols[(i * 5 + i / 7) % 7] + R"(","id":)" +
                        std::to_string(i) + "}");
    Query one(sql);
    Query three(sql, 3);
    one.feed_all(input);
    three.feed_all(input);
    const std::vector<std::string> a = one.take();
    const std::vector<std::string> b = three.take();
    ASSERT_EQ(a.size(), 200u);
    // Per partition, the order is the input order in both.
    for (const char* sym : symbols) {
        std::vector<std::string> pa;
        std::vector<std::string> pb;
        const std::string tag = std::string(R"("symbol":")") + sym + "\"";
        for (const auto& r : a)
            if (r.find(tag) != std::string::npos) pa.push_back(r);
        for (const auto& r : b)
            if (r.find(tag) != std::string::npos) pb.push_back(r);
        EXPECT_EQ(pa, pb) << sym;
        EXPECT_FALSE(pa.empty());
    }
    std::size_t parts = 0;
    for (uint32_t s = 0; s < 3; ++s) parts += three.state(s).partition_count();
    EXPECT_EQ(parts, 7u);
    EXPECT_EQ(three.totals().rows_out, 200u);
    EXPECT_EQ(three.totals().records_processed, 200u);
}

// ================================================================ every function

std::string all_functions(uint32_t n) {
    return "SELECT x, ROW_NUMBER()" + over(n) + " AS rn, LAG(x)" + over(n) + " AS l1, LAG(x, 2)" + over(n) +
           " AS l2, FIRST_VALUE(x)" + over(n) + " AS fv, LAST_VALUE(x)" + over(n) + " AS lv, SUM(x)" + over(n) +
           " AS sm, AVG(x)" + over(n) + " AS av, MIN(x)" + over(n) + " AS mn, MAX(x)" + over(n) +
           " AS mx, COUNT(x)" + over(n) + " AS ct FROM t";
}

TEST(AnalyticFunctions, BufferLargerThanRows) {
    Query q(all_functions(10));
    q.feed_all({R"({"x":4})", R"({"x":1})", R"({"x":7})", R"({"x":2})"});
    EXPECT_EQ(q.take(),
              (std::vector<std::string>{
                  R"({"x":4,"rn":1,"l1":null,"l2":null,"fv":4,"lv":4,"sm":4,"av":4.0,"mn":4,"mx":4,"ct":1})",
                  R"({"x":1,"rn":2,"l1":4,"l2":null,"fv":4,"lv":1,"sm":5,"av":2.5,"mn":1,"mx":4,"ct":2})",
                  R"({"x":7,"rn":3,"l1":1,"l2":4,"fv":4,"lv":7,"sm":12,"av":4.0,"mn":1,"mx":7,"ct":3})",
                  R"({"x":2,"rn":4,"l1":7,"l2":1,"fv":4,"lv":2,"sm":14,"av":3.5,"mn":1,"mx":7,"ct":4})",
              }));
    EXPECT_EQ(q.totals().type_mismatch, 0u);
}

TEST(AnalyticFunctions, BufferSmallerThanRows) {
    Query q(all_functions(3));
    q.feed_all({R"({"x":5})", R"({"x":3})", R"({"x":8})", R"({"x":1})", R"({"x":9})", R"({"x":2})", R"({"x":6})"});
    EXPECT_EQ(q.take(),
              (std::vector<std::string>{
                  R"({"x":5,"rn":1,"l1":null,"l2":null,"fv":5,"lv":5,"sm":5,"av":5.0,"mn":5,"mx":5,"ct":1})",
                  R"({"x":3,"rn":2,"l1":5,"l2":null,"fv":5,"lv":3,"sm":8,"av":4.0,"mn":3,"mx":5,"ct":2})",
                  R"({"x":8,"rn":3,"l1":3,"l2":5,"fv":5,"lv":8,"sm":16,"av":5.333333333333333,"mn":3,"mx":8,"ct":3})",
                  R"({"x":1,"rn":4,"l1":8,"l2":3,"fv":3,"lv":1,"sm":12,"av":4.0,"mn":1,"mx":8,"ct":3})",
                  R"({"x":9,"rn":5,"l1":1,"l2":8,"fv":8,"lv":9,"sm":18,"av":6.0,"mn":1,"mx":9,"ct":3})",
                  R"({"x":2,"rn":6,"l1":9,"l2":1,"fv":1,"lv":2,"sm":12,"av":4.0,"mn":1,"mx":9,"ct":3})",
                  R"({"x":6,"rn":7,"l1":2,"l2":9,"fv":9,"lv":6,"sm":17,"av":5.666666666666667,"mn":2,"mx":9,"ct":3})",
              }));
}

TEST(AnalyticFunctions, BufferOfOneRow) {
    const std::string sql = "SELECT x, FIRST_VALUE(x)" + over(1) + " AS fv, SUM(x)" + over(1) + " AS sm, MIN(x)" +
                            over(1) + " AS mn, MAX(x)" + over(1) + " AS mx, COUNT(x)" + over(1) + " AS ct, ROW_NUMBER()" +
                            over(1) + " AS rn FROM t";
    Query q(sql);
    q.feed_all({R"({"x":3})", R"({"x":null})", R"({"x":2.5})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"x":3,"fv":3,"sm":3,"mn":3,"mx":3,"ct":1,"rn":1})",
                            R"({"x":null,"fv":null,"sm":null,"mn":null,"mx":null,"ct":0,"rn":2})",
                            R"({"x":2.5,"fv":2.5,"sm":2.5,"mn":2.5,"mx":2.5,"ct":1,"rn":3})",
                        }));
}

// A ring grows while a partition's first rows arrive: the same results
// across the growth steps (4, 8, 16, ... up to BUFFER).
TEST(AnalyticFunctions, LongBufferAcrossRingGrowth) {
    Query q("SELECT SUM(x)" + over(37) + " AS sm, FIRST_VALUE(x)" + over(37) + " AS fv, LAG(x, 20)" + over(37) +
            " AS lg, MIN(x)" + over(37) + " AS mn, MAX(x)" + over(37) + " AS mx, COUNT(x)" + over(37) + " AS ct FROM t");
    for (int i = 1; i <= 100; ++i) q.feed("{\"x\":" + std::to_string(i) + "}");
    Rows r(q.take());
    ASSERT_EQ(r.rows.size(), 100u);
    for (int i = 1; i <= 100; ++i) {
        const auto& row = r.rows[i - 1];
        const int lo = std::max(1, i - 36);
        int64_t sum = 0;
        for (int k = lo; k <= i; ++k) sum += k;
        EXPECT_TRUE(same_value(row.at("sm"), I(sum))) << i;
        EXPECT_TRUE(same_value(row.at("fv"), I(lo))) << i;
        EXPECT_TRUE(same_value(row.at("lg"), i > 20 ? I(i - 20) : N())) << i;
        EXPECT_TRUE(same_value(row.at("mn"), I(lo))) << i;
        EXPECT_TRUE(same_value(row.at("mx"), I(i))) << i;
        EXPECT_TRUE(same_value(row.at("ct"), I(i - lo + 1))) << i;
    }
    // Descending values keep every row in MIN's deque.
    Query d("SELECT MIN(x)" + over(37) + " AS mn, MAX(x)" + over(37) + " AS mx FROM t");
    for (int i = 100; i >= 1; --i) d.feed("{\"x\":" + std::to_string(i) + "}");
    Rows rd(d.take());
    for (int j = 0; j < 100; ++j) {
        const int cur = 100 - j;
        EXPECT_TRUE(same_value(rd.rows[j].at("mn"), I(cur))) << j;
        EXPECT_TRUE(same_value(rd.rows[j].at("mx"), I(std::min(100, cur + 36)))) << j;
    }
}

TEST(AnalyticFunctions, NullsAndMissingFields) {
    const uint32_t n = 2;
    Query q("SELECT x, LAG(x)" + over(n) + " AS l, FIRST_VALUE(x)" + over(n) + " AS fv, LAST_VALUE(x)" + over(n) +
            " AS lv, SUM(x)" + over(n) + " AS sm, AVG(x)" + over(n) + " AS av, MIN(x)" + over(n) + " AS mn, MAX(x)" +
            over(n) + " AS mx, COUNT(x)" + over(n) + " AS ct FROM t");
    q.feed_all({R"({"x":null})", R"({"y":1})", R"({"x":3})", R"({"x":null})", R"({})", R"({"x":4.5})"});
    EXPECT_EQ(q.take(),
              (std::vector<std::string>{
                  R"({"x":null,"l":null,"fv":null,"lv":null,"sm":null,"av":null,"mn":null,"mx":null,"ct":0})",
                  R"({"x":null,"l":null,"fv":null,"lv":null,"sm":null,"av":null,"mn":null,"mx":null,"ct":0})",
                  R"({"x":3,"l":null,"fv":null,"lv":3,"sm":3,"av":3.0,"mn":3,"mx":3,"ct":1})",
                  R"({"x":null,"l":3,"fv":3,"lv":null,"sm":3,"av":3.0,"mn":3,"mx":3,"ct":1})",
                  R"({"x":null,"l":null,"fv":null,"lv":null,"sm":null,"av":null,"mn":null,"mx":null,"ct":0})",
                  R"({"x":4.5,"l":null,"fv":null,"lv":4.5,"sm":4.5,"av":4.5,"mn":4.5,"mx":4.5,"ct":1})",
              }));
    EXPECT_EQ(q.totals().type_mismatch, 0u);
}

TEST(AnalyticFunctions, MixedIntAndDouble) {
    Query q("SELECT SUM(x)" + over(3) + " AS sm, MIN(x)" + over(3) + " AS mn, MAX(x)" + over(3) + " AS mx FROM t");
    q.feed_all({R"({"x":2})", R"({"x":2.0})", R"({"x":1.5})", R"({"x":3})", R"({"x":1})", R"({"x":7})"});
    // The first of equal extremes stays (2 before 2.0); SUM is DOUBLE while a DOUBLE is in the buffer.
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"sm":2,"mn":2,"mx":2})",
                            R"({"sm":4.0,"mn":2,"mx":2})",
                            R"({"sm":5.5,"mn":1.5,"mx":2})",
                            R"({"sm":6.5,"mn":1.5,"mx":3})",
                            R"({"sm":5.5,"mn":1,"mx":3})",
                            R"({"sm":11,"mn":1,"mx":7})",
                        }));
}

// ================================================================ strings and types

TEST(AnalyticTypes, StringsAreCopiedIntoTheState) {
    const uint32_t n = 3;
    Query q("SELECT s, LAG(s)" + over(n, "g") + " AS l, FIRST_VALUE(s)" + over(n, "g") + " AS fv, MIN(s)" +
            over(n, "g") + " AS mn, MAX(s)" + over(n, "g") + " AS mx, COUNT(s)" + over(n, "g") + " AS ct, SUM(s)" +
            over(n, "g") + " AS sm FROM t");
    const char* values[] = {"pear", "apple", "a-much-longer-string-than-sixteen-bytes", "fig",
                            "zebra-is-also-quite-a-long-string", "kiwi"};
    ASSERT_EQ(q.plan().fields.size(), 2u);
    const bool s_first = q.plan().fields[0].dotted == "s";
    for (const char* v : values) {
        // The record's bytes are gone after the call (as a reused input buffer would be).
        std::string buf = v;
        std::string g = "grp";
        Value fields[2];
        fields[s_first ? 0 : 1] = Value::of_string(buf);
        fields[s_first ? 1 : 0] = Value::of_string(g);
        q.feed_fields(fields);
        std::fill(buf.begin(), buf.end(), '#');
        std::fill(g.begin(), g.end(), '#');
    }
    EXPECT_EQ(q.take(),
              (std::vector<std::string>{
                  R"({"s":"pear","l":null,"fv":"pear","mn":"pear","mx":"pear","ct":1,"sm":null})",
                  R"({"s":"apple","l":"pear","fv":"pear","mn":"apple","mx":"pear","ct":2,"sm":null})",
                  R"({"s":"a-much-longer-string-than-sixteen-bytes","l":"apple","fv":"pear","mn":"a-much-longer-string-than-sixteen-bytes","mx":"pear","ct":3,"sm":null})",
                  R"({"s":"fig","l":"a-much-longer-string-than-sixteen-bytes","fv":"apple","mn":"a-much-longer-string-than-sixteen-bytes","mx":"fig","ct":3,"sm":null})",
                  R"({"s":"zebra-is-also-quite-a-long-string","l":"fig","fv":"a-much-longer-string-than-sixteen-bytes","mn":"a-much-longer-string-than-sixteen-bytes","mx":"zebra-is-also-quite-a-long-string","ct":3,"sm":null})",
                  R"({"s":"kiwi","l":"zebra-is-also-quite-a-long-string","fv":"fig","mn":"fig","mx":"zebra-is-also-quite-a-long-string","ct":3,"sm":null})",
              }));
    EXPECT_EQ(q.totals().type_mismatch, 6u);  // SUM of a string, every row
    EXPECT_EQ(q.state().partition_count(), 1u);
}

TEST(AnalyticTypes, MinMaxClassIsSetWhileTheBufferHoldsNone) {
    Query q("SELECT MIN(v)" + over(2) + " AS mn, MAX(v)" + over(2) + " AS mx FROM t");
    q.feed_all({R"({"v":5})", R"({"v":"b"})", R"({"v":"a"})", R"({"v":true})", R"({"v":2})", R"({"v":null})",
                R"({"v":1})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"mn":5,"mx":5})",      // numbers
                            R"({"mn":5,"mx":5})",      // "b": a string among numbers, counted
                            R"({"mn":"a","mx":"a"})",  // 5 left: the buffer held none, strings now
                            R"({"mn":"a","mx":"a"})",  // a BOOLEAN, counted
                            R"({"mn":2,"mx":2})",
                            R"({"mn":2,"mx":2})",
                            R"({"mn":1,"mx":1})",
                        }));
    EXPECT_EQ(q.totals().type_mismatch, 4u);
}

TEST(AnalyticTypes, LagAndFirstValueKeepAnyType) {
    Query q("SELECT LAG(v)" + over(3) + " AS l, FIRST_VALUE(v)" + over(3) + " AS fv, LAST_VALUE(v)" + over(3) +
            " AS lv, COUNT(v)" + over(3) + " AS ct FROM t");
    q.feed_all({R"({"v":true})", R"({"v":"x"})", R"({"v":1.5})", R"({"v":-2})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"l":null,"fv":true,"lv":true,"ct":1})",
                            R"({"l":true,"fv":true,"lv":"x","ct":2})",
                            R"({"l":"x","fv":true,"lv":1.5,"ct":3})",
                            R"({"l":1.5,"fv":"x","lv":-2,"ct":3})",
                        }));
    EXPECT_EQ(q.totals().type_mismatch, 0u);
}

TEST(AnalyticTypes, SumAvgOfNonNumbersAreNullAndCounted) {
    Query q("SELECT SUM(v)" + over(2) + " AS sm, AVG(v)" + over(2) + " AS av FROM t");
    q.feed_all({R"({"v":"a"})", R"({"v":4})", R"({"v":false})", R"({"v":"b"})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"sm":null,"av":null})",
                            R"({"sm":4,"av":4.0})",
                            R"({"sm":4,"av":4.0})",
                            R"({"sm":null,"av":null})",
                        }));
    EXPECT_EQ(q.totals().type_mismatch, 6u);
}

TEST(AnalyticTypes, IntegerSumOverflowTurnsDoubleAndBack) {
    Query q("SELECT SUM(x)" + over(2) + " AS sm, AVG(x)" + over(2) + " AS av FROM t");
    q.feed_all({R"({"x":9223372036854775807})", R"({"x":1})", R"({"x":-5})", R"({"x":-9223372036854775807})",
                R"({"x":-9223372036854775807})", R"({"x":9223372036854775807})", R"({"x":3})"});
    Rows r(q.take());
    ASSERT_EQ(r.rows.size(), 7u);
    EXPECT_TRUE(same_value(r.rows[0].at("sm"), I(INT64_MAX)));
    EXPECT_TRUE(same_value(r.rows[1].at("sm"), D(9223372036854775808.0)));
    EXPECT_TRUE(same_value(r.rows[1].at("av"), D(4611686018427387904.0)));
    EXPECT_TRUE(same_value(r.rows[2].at("sm"), I(-4)));  // exact again once it fits
    EXPECT_TRUE(same_value(r.rows[2].at("av"), D(-2.0)));
    EXPECT_TRUE(same_value(r.rows[3].at("sm"), D(-9223372036854775812.0)));
    EXPECT_TRUE(same_value(r.rows[4].at("sm"), D(-18446744073709551614.0)));
    EXPECT_TRUE(same_value(r.rows[5].at("sm"), I(0)));
    EXPECT_TRUE(same_value(r.rows[6].at("sm"), D(9223372036854775810.0)));
}

TEST(AnalyticTypes, DoubleSumsSurviveLargeValuesPassingThrough) {
    Query q("SELECT SUM(x)" + over(2) + " AS sm, AVG(x)" + over(2) + " AS av FROM t");
    q.feed_all({R"({"x":1e20})", R"({"x":1.0})", R"({"x":1.0})", R"({"x":0.001})"});
    Rows r(q.take());
    ASSERT_EQ(r.rows.size(), 4u);
    EXPECT_EQ(r.rows[2].at("sm").d, 2.0);  // exact: the 1 lost next to 1e20 was kept aside
    EXPECT_EQ(r.rows[2].at("av").d, 1.0);
    EXPECT_EQ(r.rows[3].at("sm").d, 1.001);

    // Thousands of large values in and out, then small ones alone.
    Query big("SELECT SUM(x)" + over(3) + " AS sm FROM t");
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> huge(-1e16, 1e16);
    for (int i = 0; i < 5000; ++i) {
        char line[64];
        std::snprintf(line, sizeof line, "{\"x\":%.17g}", huge(rng));
        big.feed(line);
    }
    big.feed(R"({"x":1.5})");
    big.feed(R"({"x":2.25})");
    big.feed(R"({"x":3.125})");
    const std::vector<std::string> rows = big.take();
    EXPECT_EQ(rows.back(), R"({"sm":6.875})");
}

TEST(AnalyticTypes, InfinitiesLeaveTheSumAgain) {
    // 1e308 * 10 overflows to infinity in the argument expression.
    Query q("SELECT SUM(x * 10)" + over(2) + " AS sm, MAX(x * 10)" + over(2) + " AS mx FROM t");
    q.feed_all({R"({"x":1e308})", R"({"x":1.5})", R"({"x":2.5})", R"({"x":-1e308})", R"({"x":1e308})",
                R"({"x":0.5})", R"({"x":0.25})"});
    Rows r(q.take());
    ASSERT_EQ(r.rows.size(), 7u);
    EXPECT_TRUE(r.rows[0].at("sm").is_null());  // infinity prints as null
    EXPECT_TRUE(r.rows[1].at("sm").is_null());
    EXPECT_TRUE(same_value(r.rows[2].at("sm"), D(40.0)));
    EXPECT_TRUE(r.rows[4].at("sm").is_null());  // -inf + inf
    EXPECT_TRUE(same_value(r.rows[6].at("sm"), D(7.5)));
    EXPECT_TRUE(same_value(r.rows[6].at("mx"), D(5.0)));
}

TEST(AnalyticTypes, FiniteDoubleOverflowRecovers) {
    Query q("SELECT SUM(x)" + over(3) + " AS sm FROM t");
    q.feed_all({R"({"x":1.7e308})", R"({"x":1.7e308})", R"({"x":1.0})", R"({"x":2.0})", R"({"x":4.0})"});
    Rows r(q.take());
    ASSERT_EQ(r.rows.size(), 5u);
    EXPECT_TRUE(same_value(r.rows[0].at("sm"), D(1.7e308)));
    EXPECT_TRUE(r.rows[1].at("sm").is_null());  // beyond DOUBLE: infinity
    EXPECT_TRUE(r.rows[2].at("sm").is_null());
    EXPECT_TRUE(same_value(r.rows[3].at("sm"), D(1.7e308)));
    EXPECT_TRUE(same_value(r.rows[4].at("sm"), D(7.0)));
}

// ================================================================ partitions, WHERE, LIMIT, columns

TEST(AnalyticQuery, InterleavedPartitions) {
    Query q("SELECT g, x, ROW_NUMBER()" + over(2, "g") + " AS rn, SUM(x)" + over(2, "g") + " AS sm, LAG(x)" +
            over(2, "g") + " AS l FROM t");
    q.feed_all({R"({"g":"a","x":1})", R"({"g":"b","x":2})", R"({"g":"a","x":3})", R"({"g":"c","x":4})",
                R"({"g":"b","x":5})", R"({"g":"a","x":6})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"g":"a","x":1,"rn":1,"sm":1,"l":null})",
                            R"({"g":"b","x":2,"rn":1,"sm":2,"l":null})",
                            R"({"g":"a","x":3,"rn":2,"sm":4,"l":1})",
                            R"({"g":"c","x":4,"rn":1,"sm":4,"l":null})",
                            R"({"g":"b","x":5,"rn":2,"sm":7,"l":2})",
                            R"({"g":"a","x":6,"rn":3,"sm":9,"l":3})",
                        }));
    EXPECT_EQ(q.state().partition_count(), 3u);
}

TEST(AnalyticQuery, PartitionKeysAsGroupKeys) {
    // NULL and missing keys are one partition; 1 and 1.0 are one key; expressions and several columns.
    Query q("SELECT ROW_NUMBER()" + over(5, "g") + " AS rn FROM t");
    q.feed_all({R"({"g":null})", R"({})", R"({"g":1})", R"({"g":1.0})", R"({"g":"1"})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{R"({"rn":1})", R"({"rn":2})", R"({"rn":1})", R"({"rn":2})",
                                                  R"({"rn":1})"}));
    EXPECT_EQ(q.state().partition_count(), 3u);

    Query e("SELECT ROW_NUMBER()" + over(5, "UPPER(g), h") + " AS rn FROM t");
    e.feed_all({R"({"g":"a","h":1})", R"({"g":"A","h":1})", R"({"g":"a","h":2})", R"({"g":"A","h":2})"});
    EXPECT_EQ(e.take(), (std::vector<std::string>{R"({"rn":1})", R"({"rn":2})", R"({"rn":1})", R"({"rn":2})"}));
    EXPECT_EQ(e.state().partition_count(), 2u);

    Query none("SELECT ROW_NUMBER()" + over(5) + " AS rn FROM t");
    none.feed_all({R"({"g":"a"})", R"({"g":"b"})"});
    EXPECT_EQ(none.take(), (std::vector<std::string>{R"({"rn":1})", R"({"rn":2})"}));
}

TEST(AnalyticQuery, WhereFiltersBeforeTheBuffer) {
    Query q("SELECT x, LAG(x)" + over(3) + " AS l, COUNT(x)" + over(3) + " AS ct FROM t WHERE x > 2");
    q.feed_all({R"({"x":3})", R"({"x":1})", R"({"x":5})", R"({"x":"s"})", R"({"x":7})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"x":3,"l":null,"ct":1})",
                            R"({"x":5,"l":3,"ct":2})",
                            R"({"x":7,"l":5,"ct":3})",
                        }));
    const ShardCounters t = q.totals();
    EXPECT_EQ(t.records_processed, 5u);
    EXPECT_EQ(t.rows_out, 3u);
    EXPECT_EQ(t.type_mismatch, 1u);  // "s" > 2
}

TEST(AnalyticQuery, Limit) {
    Query q("SELECT x, ROW_NUMBER()" + over(2, "g") + " AS rn FROM t LIMIT 3");
    q.feed_all({R"({"g":1,"x":1})", R"({"g":2,"x":2})", R"({"g":1,"x":3})", R"({"g":1,"x":4})", R"({"g":2,"x":5})"});
    EXPECT_EQ(q.take(), (std::vector<std::string>{R"({"x":1,"rn":1})", R"({"x":2,"rn":1})", R"({"x":3,"rn":2})"}));
    const ShardCounters t = q.totals();
    EXPECT_EQ(t.records_processed, 5u);
    EXPECT_EQ(t.rows_out, 3u);
    EXPECT_TRUE(q.state().limit_reached());

    Query zero("SELECT x, ROW_NUMBER()" + over(2) + " AS rn FROM t LIMIT 0");
    EXPECT_TRUE(zero.state().limit_reached());
    zero.feed(R"({"x":1})");
    EXPECT_TRUE(zero.take().empty());
    EXPECT_EQ(zero.totals().records_processed, 1u);

    Query unlimited("SELECT x, ROW_NUMBER()" + over(2) + " AS rn FROM t");
    unlimited.feed(R"({"x":1})");
    EXPECT_FALSE(unlimited.state().limit_reached());
}

TEST(AnalyticQuery, ColumnExpressionsOverAnalytics) {
    Query q("SELECT x - LAG(x)" + over(2, "g") + " AS d, g || '-' || CAST(ROW_NUMBER()" + over(2, "g") +
            " AS VARCHAR) AS tag, COALESCE(LAG(x)" + over(2, "g") + ", 0) + 1 AS c, _TIMESTAMP AS t FROM s");
    q.feed(R"({"g":"a","x":10})", 100);
    q.feed(R"({"g":"a","x":13})", 200);
    q.feed(R"({"g":"b","x":1})", 300);
    EXPECT_EQ(q.take(), (std::vector<std::string>{
                            R"({"d":null,"tag":"a-1","c":1,"t":100})",
                            R"({"d":3,"tag":"a-2","c":11,"t":200})",
                            R"({"d":null,"tag":"b-1","c":1,"t":300})",
                        }));
}

TEST(AnalyticQuery, StateFollowsRowsNotTheDeclaredBuffer) {
    const std::string n = "1000000";
    Query q("SELECT FIRST_VALUE(x) OVER (ROWS WINDOW BUFFER " + n + " ROWS PARTITION BY g) AS fv, SUM(x) OVER (ROWS WINDOW BUFFER " +
            n + " ROWS PARTITION BY g) AS sm, MAX(x) OVER (ROWS WINDOW BUFFER " + n + " ROWS PARTITION BY g) AS mx FROM t");
    for (int i = 0; i < 300; ++i) q.feed("{\"g\":" + std::to_string(i % 100) + ",\"x\":" + std::to_string(i) + "}");
    EXPECT_EQ(q.state().partition_count(), 100u);
    EXPECT_LT(q.state().state_bytes(), std::size_t{1} << 20);
    Rows r(q.take());
    EXPECT_TRUE(same_value(r.rows.back().at("fv"), I(99)));
    EXPECT_TRUE(same_value(r.rows.back().at("sm"), I(99 + 199 + 299)));
}

TEST(AnalyticQuery, SpecsThePlannerRefusesThrowAtSetup) {
    Plan plan = plan_of("SELECT LAG(x, 2)" + over(3) + " AS l FROM t");
    ASSERT_EQ(plan.analytics.size(), 1u);
    std::string text;
    OutBuffer out(4096, &collect, &text);
    ShardCounters counters;
    plan.analytics[0].offset = 3;  // needs BUFFER 4
    EXPECT_THROW(AnalyticState(plan, out, counters), std::invalid_argument);
    plan.analytics[0].offset = 2;
    plan.analytics[0].buffer_rows = 0;
    EXPECT_THROW(AnalyticState(plan, out, counters), std::invalid_argument);
}

// ================================================================ randomized against a naive recomputation

struct NaiveRow {
    Value x;
    Value s;
};

// The class rule of MIN/MAX replayed naively: a value is accepted when it is
// a number or string of the class fixed while no accepted value was in the buffer.
struct NaivePartition {
    std::vector<NaiveRow> rows;
    std::vector<uint8_t> accepted_x;  // per row: accepted by MIN(x)/MAX(x)
    uint8_t cls_x = 0;
};

uint8_t class_of(const Value& v) { return v.is_number() ? 1 : v.type == Type::String ? 2 : 0; }

// Exact order of two numbers (long double holds every int64 and double).
int cmp_num(const Value& a, const Value& b) {
    const long double x = a.type == Type::Int ? static_cast<long double>(a.i) : a.d;
    const long double y = b.type == Type::Int ? static_cast<long double>(b.i) : b.d;
    return (x > y) - (x < y);
}
int cmp_any(const Value& a, const Value& b) {
    if (a.type == Type::String) {
        const int c = a.str().compare(b.str());
        return (c > 0) - (c < 0);
    }
    return cmp_num(a, b);
}

TEST(AnalyticRandomized, AgainstNaiveRecomputation) {
    const char* strings[] = {"a", "kiwi", "banana", "cherry-pie-with-cream", "z", "mango-and-passion-fruit-smoothie", "fig",
                             ""};
    for (const uint32_t n : {1u, 2u, 5u, 16u, 100u}) {
        SCOPED_TRACE("BUFFER " + std::to_string(n));
        const uint32_t k = std::min<uint32_t>(3, n - 1);
        std::string sql = "SELECT g, x, s, SUM(x)" + over(n, "g") + " AS sm, AVG(x)" + over(n, "g") + " AS av, MIN(x)" +
                          over(n, "g") + " AS mn, MAX(x)" + over(n, "g") + " AS mx, COUNT(x)" + over(n, "g") +
                          " AS ct, MIN(s)" + over(n, "g") + " AS smin, MAX(s)" + over(n, "g") + " AS smax, FIRST_VALUE(x)" +
                          over(n, "g") + " AS fv, ROW_NUMBER()" + over(n, "g") + " AS rn";
        if (k >= 1) sql += ", LAG(s, " + std::to_string(k) + ")" + over(n, "g") + " AS lg";
        sql += " FROM t";
        Query q(sql, 2);

        std::mt19937_64 rng(12345 + n);
        std::uniform_int_distribution<int> pick(0, 999);
        std::uniform_int_distribution<int64_t> small_int(-1000000, 1000000);
        std::uniform_real_distribution<double> dbl(-1000.0, 1000.0);
        std::uniform_real_distribution<double> huge(-1e15, 1e15);
        std::map<int, NaivePartition> naive;
        uint64_t expect_mismatch = 0;
        std::vector<std::map<std::string, Value>> expected;
        std::deque<std::string> keep;  // string storage of the expected values
        const int kRows = 4000;
        for (int i = 0; i < kRows; ++i) {
            const int g = static_cast<int>(rng() % 5);
            std::string xs;
            Value x;
            const int p = pick(rng);
            if (p < 150) {
                xs = "null";
            } else if (p < 500) {
                x = I(small_int(rng));
            } else if (p < 520) {
                x = I(static_cast<int64_t>(rng() >> 1) - (p % 2 ? 0 : INT64_MAX));  // near the BIGINT limits
            } else if (p < 900) {
                x = D(dbl(rng));
            } else if (p < 950) {
                x = D(huge(rng));
            } else if (p < 980) {
                keep.push_back(strings[rng() % std::size(strings)]);
                x = Value::of_string(keep.back());
            } else {
                x = Value::of_bool(p % 2 == 0);
            }
            char num[64];
            if (x.type == Type::Int) {
                xs = std::to_string(x.i);
            } else if (x.type == Type::Double) {
                std::snprintf(num, sizeof num, "%.17g", x.d);
                if (std::strpbrk(num, ".e") == nullptr) std::strcat(num, ".0");
                xs = num;
                x = D(std::strtod(num, nullptr));
            } else if (x.type == Type::String) {
                xs = "\"" + std::string(x.str()) + "\"";
            } else if (x.type == Type::Bool) {
                xs = x.b ? "true" : "false";
            }
            Value s;
            std::string ss = "null";
            if (pick(rng) >= 200) {
                keep.push_back(strings[rng() % std::size(strings)]);
                s = Value::of_string(keep.back());
                ss = "\"" + keep.back() + "\"";
            }
            q.feed("{\"g\":" + std::to_string(g) + ",\"x\":" + xs + ",\"s\":" + ss + "}");

            // The naive result: every function recomputed over the last n rows.
            NaivePartition& part = naive[g];
            part.rows.push_back(NaiveRow{x, s});
            const std::size_t c = part.rows.size() - 1;
            const std::size_t lo = c + 1 >= n ? c + 1 - n : 0;
            // MIN/MAX(x) class: fixed by this row when no accepted row is left in the buffer.
            bool any_accepted = false;
            for (std::size_t r = lo; r < c; ++r) any_accepted |= part.accepted_x[r] != 0;
            uint8_t acc = 0;
            if (!x.is_null()) {
                if (!any_accepted) part.cls_x = class_of(x);
                acc = class_of(x) != 0 && class_of(x) == part.cls_x;
                if (!acc) expect_mismatch += 2;  // MIN and MAX
                if (!x.is_number()) expect_mismatch += 2;  // SUM and AVG
            }
            part.accepted_x.push_back(acc);

            std::map<std::string, Value> e;
            __extension__ __int128 isum = 0;
            long double dsum = 0;
            int64_t nint = 0;
            int64_t ndouble = 0;
            int64_t count = 0;
            Value mn;
            Value mx;
            Value smin;
            Value smax;
            for (std::size_t r = lo; r <= c; ++r) {
                const Value& v = part.rows[r].x;
                if (!v.is_null()) ++count;
                if (v.type == Type::Int) {
                    isum += v.i;
                    ++nint;
                } else if (v.type == Type::Double) {
                    dsum += v.d;
                    ++ndouble;
                }
                if (part.accepted_x[r]) {
                    if (mn.is_null() || cmp_any(v, mn) < 0) mn = v;
                    if (mx.is_null() || cmp_any(v, mx) > 0) mx = v;
                }
                const Value& sv = part.rows[r].s;
                if (!sv.is_null()) {
                    if (smin.is_null() || cmp_any(sv, smin) < 0) smin = sv;
                    if (smax.is_null() || cmp_any(sv, smax) > 0) smax = sv;
                }
            }
            const long double total = dsum + static_cast<long double>(isum);
            if (nint + ndouble == 0) {
                e["sm"] = N();
                e["av"] = N();
            } else {
                if (ndouble == 0 && isum >= INT64_MIN && isum <= INT64_MAX)
                    e["sm"] = I(static_cast<int64_t>(isum));
                else
                    e["sm"] = D(static_cast<double>(total));
                e["av"] = D(static_cast<double>(total / static_cast<long double>(nint + ndouble)));
            }
            e["mn"] = mn;
            e["mx"] = mx;
            e["ct"] = I(count);
            e["smin"] = smin;
            e["smax"] = smax;
            e["fv"] = part.rows[lo].x;
            e["rn"] = I(static_cast<int64_t>(c + 1));
            if (k >= 1) e["lg"] = c >= k ? part.rows[c - k].s : N();
            e["g"] = I(g);
            expected.push_back(std::move(e));
        }

        // Rows of a partition come out in input order; partitions are split over two states.
        Rows got(q.take());
        ASSERT_EQ(got.rows.size(), static_cast<std::size_t>(kRows));
        std::map<int64_t, std::vector<const std::map<std::string, Value>*>> by_g_got;
        std::map<int64_t, std::vector<const std::map<std::string, Value>*>> by_g_exp;
        for (const auto& r : got.rows) by_g_got[r.at("g").i].push_back(&r);
        for (const auto& r : expected) by_g_exp[r.at("g").i].push_back(&r);
        ASSERT_EQ(by_g_got.size(), by_g_exp.size());
        int failures = 0;
        for (const auto& [g, exp_rows] : by_g_exp) {
            const auto& got_rows = by_g_got[g];
            ASSERT_EQ(got_rows.size(), exp_rows.size()) << "partition " << g;
            for (std::size_t i = 0; i < exp_rows.size() && failures < 10; ++i) {
                for (const auto& [col, ev] : *exp_rows[i]) {
                    const auto it = got_rows[i]->find(col);
                    ASSERT_NE(it, got_rows[i]->end()) << col;
                    const Value& gv = it->second;
                    // A DOUBLE result is compared with relative tolerance; the row
                    // serializer prints the shortest round trip, so values parse back.
                    if (!same_value(gv, ev)) {
                        ++failures;
                        ADD_FAILURE() << "partition " << g << " row " << i << " column " << col << ": "
                                      << same_value(gv, ev).message();
                    }
                }
            }
        }
        const ShardCounters t = q.totals();
        EXPECT_EQ(t.records_processed, static_cast<uint64_t>(kRows));
        EXPECT_EQ(t.rows_out, static_cast<uint64_t>(kRows));
        EXPECT_EQ(t.type_mismatch, expect_mismatch);
        EXPECT_EQ(q.state(0).partition_count() + q.state(1).partition_count(), 5u);
    }
}

// ================================================================ steady state

void discard(void* ctx, const char*, std::size_t n) { *static_cast<std::size_t*>(ctx) += n; }

TEST(AnalyticSteadyState, NoAllocationPerRow) {
    const uint32_t n = 50;
    const std::string sql = "SELECT g, x, s, s || '!' AS t, ROW_NUMBER()" + over(n, "g") + " AS rn, LAG(s, 7)" +
                            over(n, "g") + " AS lg, FIRST_VALUE(s)" + over(n, "g") + " AS fv, LAST_VALUE(x)" +
                            over(n, "g") + " AS lv, SUM(x)" + over(n, "g") + " AS sm, AVG(x)" + over(n, "g") +
                            " AS av, MIN(s)" + over(n, "g") + " AS mn, MAX(s)" + over(n, "g") + " AS mx, MIN(x)" +
                            over(n, "g") + " AS mnx, MAX(x)" + over(n, "g") + " AS mxx, COUNT(x)" + over(n, "g") +
                            " AS ct FROM t";
    const Plan plan = plan_of(sql);
    uint32_t fg = 0;
    uint32_t fx = 0;
    uint32_t fs = 0;
    for (uint32_t f = 0; f < plan.fields.size(); ++f) {
        if (plan.fields[f].dotted == "g") fg = f;
        if (plan.fields[f].dotted == "x") fx = f;
        if (plan.fields[f].dotted == "s") fs = f;
    }
    std::size_t bytes = 0;
    OutBuffer out(1 << 16, &discard, &bytes);
    ShardCounters counters;
    AnalyticPrepare prepare(plan);
    AnalyticState state(plan, out, counters);

    const std::string longest(40, 'w');
    const char* strings[] = {"short", "a-middle-sized-string", "x", "another-fairly-long-value-here"};
    const char* groups[] = {"g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"};
    std::mt19937_64 rng(99);
    // Records made up front: the loop under test only reads them.
    std::vector<std::vector<Value>> records;
    for (int i = 0; i < 20000; ++i) {
        std::vector<Value> f(plan.fields.size());
        f[fg] = S(groups[rng() % 8]);
        const int kind = static_cast<int>(rng() % 4);
        f[fx] = kind == 0 ? N() : kind == 1 ? I(static_cast<int64_t>(rng() % 1000)) : D(static_cast<double>(rng() % 1000) / 7);
        f[fs] = rng() % 5 == 0 ? N() : S(strings[rng() % 4]);
        records.push_back(std::move(f));
    }
    auto run = [&](const std::vector<Value>& f) {
        PreparedRecord pr;
        if (prepare.run(f.data(), 0, pr, counters))
            state.on_record(pr.hash, pr.key, pr.key_len, pr.args, pr.ts);
    };
    // Warm-up: every partition's rings and deques full, every slot once holding the longest string.
    for (const char* g : groups) {
        std::vector<Value> f(plan.fields.size());
        f[fg] = S(g);
        f[fx] = D(1.5);
        f[fs] = Value::of_string(longest);
        for (uint32_t i = 0; i < 2 * n; ++i) run(f);
    }
    for (int i = 0; i < 2000; ++i) run(records[static_cast<std::size_t>(i)]);

    const uint64_t before = test::allocation_count();
    for (std::size_t i = 2000; i < records.size(); ++i) run(records[i]);
    const uint64_t after = test::allocation_count();
    EXPECT_EQ(after - before, 0u);
    EXPECT_EQ(counters.rows_out, 8 * 2 * n + records.size());
    EXPECT_EQ(state.partition_count(), 8u);
    out.flush();
    EXPECT_GT(bytes, 0u);
}

}  // namespace
}  // namespace sluice
