// Streaming semantics of QueryState driven from SQL: sliding and session
// windows, allowed lateness (re-emission, independent of when watermarks
// arrive), dead letters, idle sources, state.ttl with bounded memory, and
// SELECT DISTINCT. Records go through Prepare like a reading shard's.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../../support/collected_text.h"
#include "../../support/scale.h"
#include "../../support/values.h"
#include "sluice/exec.h"
#include "sluice/out_buffer.h"
#include "sluice/sql.h"

namespace sluice {
namespace {

using testing::I;
using testing::S;

using testing::collect;

using Fields = std::map<std::string, Value>;


// One shard fed by one source (or several), like QueryShard: the source's
// watermark before each record rides with it; watermark messages follow
// every `batch` records.
class Harness {
public:
    Harness(const std::string& sql, uint32_t sources = 1) {
        auto planned = plan_sql(sql);
        if (!planned.ok()) throw std::runtime_error(planned.error().message);
        plan_ = std::make_unique<Plan>(std::move(planned.value()));
        out_ = std::make_unique<OutBuffer>(1 << 16, &collect, &text_);
        dead_ = std::make_unique<OutBuffer>(1 << 16, &collect, &dead_text_);
        state_ = std::make_unique<QueryState>(*plan_, 0, 1, sources, *out_, counters_, dead_.get());
        prepare_ = std::make_unique<Prepare>(*plan_);
        wm_.assign(sources, kWatermarkMin);
        max_ts_.assign(sources, kWatermarkMin);
    }

    void record(const Fields& f, uint16_t source = 0, const std::string& raw = "{}") {
        std::vector<Value> fields(plan_->fields.size());
        for (std::size_t i = 0; i < plan_->fields.size(); ++i) {
            auto it = f.find(plan_->fields[i].dotted);
            if (it != f.end()) fields[i] = it->second;
        }
        ++counters_.records_in;
        PreparedRecord p;
        if (prepare_->run(fields.data(), 0, p, counters_) == Prepare::Outcome::Filtered) {
            ++counters_.records_processed;
            return;
        }
        AggInput in;
        in.hash = p.hash;
        in.key = p.key;
        in.key_len = p.key_len;
        in.ts = p.ts;
        in.wm_before = wm_[source];
        in.seq = seq_++;
        in.source = source;
        in.args = p.args;
        in.raw = raw.data();
        in.raw_len = static_cast<uint32_t>(raw.size());
        if (p.ts > max_ts_[source]) {
            max_ts_[source] = p.ts;
            wm_[source] = p.ts - plan_->props.max_out_of_orderness_ms;
        }
        state_->on_record(in);
        if (++since_ == batch) flush_watermark(source);
        pump();
    }

    void flush_watermark(uint16_t source = 0) {
        since_ = 0;
        state_->on_watermark(source, wm_[source]);
        pump();
    }

    void idle(uint16_t source, bool is_idle) {
        state_->on_source_idle(source, is_idle);
        pump();
    }

    // A global aggregate's partials come back to this (merge) shard.
    void pump() {
        state_->end_batch();
        std::vector<uint8_t> box;
        box.swap(state_->outbox().bytes);
        for_each_partial(box, [&](uint32_t, const uint8_t* p, uint32_t n) { state_->on_partial(p, n); });
    }

    std::vector<std::string> finish() {
        for (uint16_t s = 0; s < wm_.size(); ++s) state_->on_source_end(s);
        pump();
        out_->flush();
        dead_->flush();
        return testing::split_lines(text_);
    }

    std::vector<std::string> sorted_finish() {
        auto rows = finish();
        std::sort(rows.begin(), rows.end());
        return rows;
    }

    uint32_t batch = 1 << 30;
    QueryState& state() { return *state_; }
    ShardCounters& counters() { return counters_; }
    const std::string& dead_text() const { return dead_text_; }

private:
    std::unique_ptr<Plan> plan_;
    std::string text_;
    std::string dead_text_;
    std::unique_ptr<OutBuffer> out_;
    std::unique_ptr<OutBuffer> dead_;
    ShardCounters counters_;
    std::unique_ptr<QueryState> state_;
    std::unique_ptr<Prepare> prepare_;
    std::vector<int64_t> wm_;
    std::vector<int64_t> max_ts_;
    uint64_t seq_ = 0;
    uint32_t since_ = 0;
};

// ---------------------------------------------------------------- sliding

TEST(Sliding, EveryWindowContainingTheRecordCountsIt) {
    Harness h("SELECT k, _WINDOW_START AS ws, COUNT(*) AS n FROM t GROUP BY k WINDOW SLIDING(ts, 3s, 1s)");
    for (int64_t ts : {500, 1500, 2500}) h.record({{"k", S("a")}, {"ts", I(ts)}});
    const std::vector<std::string> want = {
        R"({"k":"a","ws":-2000,"n":1})", R"({"k":"a","ws":-1000,"n":2})", R"({"k":"a","ws":0,"n":3})",
        R"({"k":"a","ws":1000,"n":2})",  R"({"k":"a","ws":2000,"n":1})",
    };
    EXPECT_EQ(h.finish(), want);  // closed in end order
}

TEST(Sliding, AdvanceNotDividingSize) {
    Harness h("SELECT _WINDOW_START AS ws, _WINDOW_END AS we, COUNT(*) AS n FROM t WINDOW SLIDING(ts, 5s, 2s)");
    h.record({{"ts", I(4500)}});
    // Windows [2000,7000) and [4000,9000) hold 4500; [0,5000) does too.
    const std::vector<std::string> want = {R"({"ws":0,"we":5000,"n":1})", R"({"ws":2000,"we":7000,"n":1})",
                                           R"({"ws":4000,"we":9000,"n":1})"};
    EXPECT_EQ(h.finish(), want);
}

TEST(Sliding, EmitChangesOneRowPerWindowUpdated) {
    Harness h("SELECT _WINDOW_START AS ws, k, COUNT(*) AS n FROM t GROUP BY k WINDOW HOPPING(ts, 2s, 1s) EMIT CHANGES");
    h.record({{"k", S("a")}, {"ts", I(1500)}});
    const std::vector<std::string> want = {R"({"ws":0,"k":"a","n":1})", R"({"ws":1000,"k":"a","n":1})"};
    EXPECT_EQ(h.finish(), want);
}

TEST(Sliding, RecordLateForSomeWindowsCountsOnceInTheOthers) {
    Harness h("SELECT _WINDOW_START AS ws, COUNT(*) AS n FROM t WINDOW SLIDING(ts, 4s, 2s)");
    h.record({{"ts", I(5000)}});
    h.record({{"ts", I(3000)}});  // watermark 5000: [0,4000) closed, [2000,6000) open
    EXPECT_EQ(h.counters().late_dropped, 0u);
    h.record({{"ts", I(1000)}});  // [-2000,2000) and [0,4000) both closed: late
    EXPECT_EQ(h.counters().late_dropped, 1u);
    const std::vector<std::string> want = {R"({"ws":2000,"n":2})", R"({"ws":4000,"n":1})"};
    EXPECT_EQ(h.finish(), want);
}

// ---------------------------------------------------------------- sessions

TEST(Session, OutOfOrderRecordBridgesTwoSessions) {
    Harness h("SELECT u, _WINDOW_START AS ws, _WINDOW_END AS we, COUNT(*) AS n, FIRST(v) AS f, LAST(v) AS l FROM t "
              "GROUP BY u WINDOW SESSION(ts, 3s) WITH ('watermark.max_out_of_orderness' = '10s')");
    h.record({{"u", S("x")}, {"ts", I(1000)}, {"v", I(1)}});
    h.record({{"u", S("x")}, {"ts", I(6000)}, {"v", I(2)}});
    h.record({{"u", S("y")}, {"ts", I(6500)}, {"v", I(9)}});
    h.record({{"u", S("x")}, {"ts", I(3500)}, {"v", I(3)}});  // within 3 s of both: one session
    const std::vector<std::string> want = {R"({"u":"x","ws":1000,"we":9000,"n":3,"f":1,"l":3})",
                                           R"({"u":"y","ws":6500,"we":9500,"n":1,"f":9,"l":9})"};
    EXPECT_EQ(h.sorted_finish(), want);
}

TEST(Session, ClosedSessionIsNotJoinedAgain) {
    Harness h("SELECT u, _WINDOW_START AS ws, COUNT(*) AS n FROM t GROUP BY u WINDOW SESSION(ts, 2s)");
    h.record({{"u", S("x")}, {"ts", I(1000)}});
    h.record({{"u", S("z")}, {"ts", I(3000)}});  // watermark 3000 closes x's [1000, 3000)
    h.record({{"u", S("x")}, {"ts", I(2500)}});  // 2500 + 2000 > 3000: not late, a new session
    EXPECT_EQ(h.counters().late_dropped, 0u);
    h.record({{"u", S("x")}, {"ts", I(500)}});  // 500 + 2000 <= 3000: late
    EXPECT_EQ(h.counters().late_dropped, 1u);
    const std::vector<std::string> want = {R"({"u":"x","ws":1000,"n":1})", R"({"u":"x","ws":2500,"n":1})",
                                           R"({"u":"z","ws":3000,"n":1})"};
    EXPECT_EQ(h.sorted_finish(), want);
}

TEST(Session, EmitChangesRowsCarryTheGrowingSession) {
    Harness h("SELECT u, _WINDOW_END AS we, COUNT(*) AS n FROM t GROUP BY u WINDOW SESSION(ts, 1s) EMIT CHANGES");
    h.record({{"u", S("x")}, {"ts", I(100)}});
    h.record({{"u", S("x")}, {"ts", I(900)}});
    const std::vector<std::string> want = {R"({"u":"x","we":1100,"n":1})", R"({"u":"x","we":1900,"n":2})"};
    EXPECT_EQ(h.finish(), want);
}

TEST(Session, WithoutGroupByOneSessionStream) {
    Harness h("SELECT _WINDOW_START AS ws, COUNT(*) AS n FROM t WINDOW SESSION(ts, 1s)");
    for (int64_t ts : {0, 500, 1400, 5000}) h.record({{"ts", I(ts)}});
    const std::vector<std::string> want = {R"({"ws":0,"n":3})", R"({"ws":5000,"n":1})"};
    EXPECT_EQ(h.finish(), want);
}

TEST(Session, StateStaysBoundedOverAnUnboundedKeySpace) {
    Harness h("SELECT u, COUNT(*) AS n FROM t GROUP BY u WINDOW SESSION(ts, 1s)");
    h.batch = 1000;
    // 600k keys, the memory compared after the first sixth (SLUICE_TEST_SCALE divides both).
    const auto n = static_cast<int64_t>(testing::scaled(600'000));
    const int64_t check_at = n / 6;
    std::size_t bytes_at_check = 0;
    char key[32];
    for (int64_t i = 0; i < n; ++i) {
        std::snprintf(key, sizeof key, "user-%lld", static_cast<long long>(i));
        h.record({{"u", S(key)}, {"ts", I(i)}});
        if (i == check_at) bytes_at_check = h.state().state_bytes();
    }
    // About a thousand sessions are open at any time; finished keys are compacted away.
    EXPECT_LT(h.state().group_count(), 5'000u);
    EXPECT_LT(h.state().state_bytes(), 2 * bytes_at_check);
    EXPECT_EQ(h.finish().size(), static_cast<std::size_t>(n));
}

TEST(Session, ReopenedSessionClosesAtItsNewEnd) {
    for (uint32_t batch : {1u, 1000u}) {
        Harness h("SELECT k, _WINDOW_START AS ws, _WINDOW_END AS we, COUNT(*) AS n FROM t GROUP BY k "
                  "WINDOW SESSION(ts, 2s) EMIT FINAL WITH ('window.allowed_lateness' = '2s')");
        h.batch = batch;
        h.record({{"k", S("a")}, {"ts", I(1000)}});
        h.record({{"k", S("x")}, {"ts", I(3500)}});  // closes a's [1000, 3000)
        h.record({{"k", S("a")}, {"ts", I(2000)}});  // extends it to 4000, past the watermark: open again
        h.record({{"k", S("x")}, {"ts", I(4200)}});  // closes it at its new end
        h.record({{"k", S("a")}, {"ts", I(2500)}});  // reopens it to 4500
        const std::vector<std::string> want = {
            R"({"k":"a","ws":1000,"we":3000,"n":1})", R"({"k":"a","ws":1000,"we":4000,"n":2})",
            R"({"k":"a","ws":1000,"we":4500,"n":3})", R"({"k":"x","ws":3500,"we":6200,"n":2})"};
        EXPECT_EQ(h.sorted_finish(), want) << "batch " << batch;
    }
}

// ---------------------------------------------------------------- allowed lateness

// The same input with watermarks delivered after every record, every few
// records, or never until the end gives the same rows.
void expect_batch_independent(const std::string& sql, const std::vector<Fields>& input) {
    std::vector<std::string> reference;
    for (uint32_t batch : {1u, 2u, 3u, 7u, 1000u}) {
        Harness h(sql);
        h.batch = batch;
        for (const Fields& f : input) h.record(f);
        const auto rows = h.sorted_finish();
        if (batch == 1)
            reference = rows;
        else
            EXPECT_EQ(rows, reference) << sql << " batch " << batch;
    }
    EXPECT_FALSE(reference.empty());
}

std::vector<Fields> late_input() {
    std::vector<Fields> in;
    const int64_t ts[] = {1000, 2000, 12000, 5000, 500, 25000, 9000, 14000, 31000, 11000, 26000, 3000};
    int64_t v = 1;
    for (int64_t t : ts) in.push_back({{"k", S(v % 3 == 0 ? "b" : "a")}, {"ts", I(t)}, {"v", I(v++)}});
    return in;
}

TEST(Lateness, LateRecordInsideTheLatenessReemitsTheWindowRow) {
    Harness h("SELECT k, _WINDOW_START AS ws, COUNT(*) AS n, SUM(v) AS s FROM t GROUP BY k "
              "WINDOW TUMBLING(ts, 10s) WITH ('window.allowed_lateness' = '5s')");
    h.record({{"k", S("a")}, {"ts", I(1000)}, {"v", I(1)}});
    h.record({{"k", S("a")}, {"ts", I(12000)}, {"v", I(2)}});  // closes [0, 10s): row n=1
    h.record({{"k", S("a")}, {"ts", I(4000)}, {"v", I(3)}});   // 10s + 5s > 12s: updates, row n=2
    h.record({{"k", S("a")}, {"ts", I(16000)}, {"v", I(4)}});
    h.record({{"k", S("a")}, {"ts", I(5000)}, {"v", I(5)}});  // 15s <= 16s: late
    EXPECT_EQ(h.counters().late_dropped, 1u);
    const std::vector<std::string> want = {R"({"k":"a","ws":0,"n":1,"s":1})", R"({"k":"a","ws":0,"n":2,"s":4})",
                                           R"({"k":"a","ws":10000,"n":2,"s":6})"};
    EXPECT_EQ(h.finish(), want);
}

TEST(Lateness, RowsDoNotDependOnWatermarkDelivery) {
    const auto input = late_input();
    expect_batch_independent("SELECT k, _WINDOW_START AS ws, COUNT(*) AS n, SUM(v) AS s FROM t GROUP BY k "
                             "WINDOW TUMBLING(ts, 10s) WITH ('window.allowed_lateness' = '6s')",
                             input);
    expect_batch_independent("SELECT k, _WINDOW_START AS ws, COUNT(*) AS n FROM t GROUP BY k "
                             "WINDOW SLIDING(ts, 10s, 5s) WITH ('window.allowed_lateness' = '4s')",
                             input);
    expect_batch_independent("SELECT k, _WINDOW_START AS ws, _WINDOW_END AS we, COUNT(*) AS n FROM t GROUP BY k "
                             "WINDOW SESSION(ts, 3s) WITH ('window.allowed_lateness' = '8s')",
                             input);
    expect_batch_independent("SELECT _WINDOW_START AS ws, COUNT(*) AS n, MAX(v) AS m FROM t "
                             "WINDOW TUMBLING(ts, 10s) WITH ('window.allowed_lateness' = '6s')",
                             input);
}

TEST(Lateness, DeadLetterRowsCarryTheRecord) {
    Harness h("SELECT COUNT(*) AS n FROM t WINDOW TUMBLING(ts, 1s) WITH ('late.data.strategy' = 'dead_letter')");
    h.record({{"ts", I(5000)}}, 0, R"({"ts":5000})");
    h.record({{"ts", I(100)}}, 0, R"({"ts":100,"note":"late"})");
    h.finish();
    EXPECT_EQ(h.counters().late_dropped, 1u);
    EXPECT_EQ(h.counters().dead_lettered, 1u);
    EXPECT_EQ(h.dead_text(),
              "{\"reason\":\"late\",\"event_time\":100,\"watermark\":5000,\"record\":{\"ts\":100,\"note\":\"late\"}}\n");
}

TEST(Lateness, DropStrategyWritesNoDeadLetter) {
    Harness h("SELECT COUNT(*) AS n FROM t WINDOW TUMBLING(ts, 1s)");
    h.record({{"ts", I(5000)}});
    h.record({{"ts", I(100)}});
    h.finish();
    EXPECT_EQ(h.counters().late_dropped, 1u);
    EXPECT_EQ(h.counters().dead_lettered, 0u);
    EXPECT_TRUE(h.dead_text().empty());
}

// ---------------------------------------------------------------- drain without flush

TEST(Drain, StoppedSourcesDropOpenWindows) {
    Harness h("SELECT k, COUNT(*) AS n FROM t GROUP BY k WINDOW TUMBLING(ts, 1s)", 2);
    h.record({{"k", S("a")}, {"ts", I(100)}}, 0);
    h.record({{"k", S("a")}, {"ts", I(2500)}}, 1);
    h.flush_watermark(0);
    h.flush_watermark(1);  // the minimum, 100, closes nothing
    h.state().on_source_stop(0);
    EXPECT_FALSE(h.state().finished());
    h.state().on_source_stop(1);
    EXPECT_TRUE(h.state().finished());
    h.pump();
    EXPECT_TRUE(h.finish().empty());  // ends after the stop change nothing
}

// ---------------------------------------------------------------- idle sources

TEST(IdleSource, AnIdleSourceStopsHoldingWindowsBack) {
    Harness h("SELECT _WINDOW_START AS ws, COUNT(*) AS n FROM t WINDOW TUMBLING(ts, 1s)", 2);
    h.record({{"ts", I(100)}}, 0);
    h.record({{"ts", I(200)}}, 1);
    h.record({{"ts", I(3000)}}, 0);
    h.flush_watermark(0);
    h.flush_watermark(1);
    h.idle(1, true);  // source 1 (watermark 200) no longer holds [0, 1s) open
    h.idle(1, false);
    h.record({{"ts", I(400)}}, 1);  // its window closed meanwhile: late
    EXPECT_EQ(h.counters().late_dropped, 1u);
    const auto rows = h.finish();
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows.front(), R"({"ws":0,"n":2})");
}

TEST(IdleSource, EverySourceIdleHoldsTheWatermark) {
    Harness h("SELECT _WINDOW_START AS ws, COUNT(*) AS n FROM t WINDOW TUMBLING(ts, 1s)", 2);
    h.record({{"ts", I(100)}}, 0);
    h.record({{"ts", I(2000)}}, 1);
    h.flush_watermark(0);
    h.flush_watermark(1);
    h.idle(1, true);
    h.idle(0, true);   // every source idle: the watermark holds at 100
    h.idle(0, false);
    h.record({{"ts", I(500)}}, 0);  // [0, 1s) still open: source 0 held it at 100
    EXPECT_EQ(h.counters().late_dropped, 0u);
}

// ---------------------------------------------------------------- state.ttl

TEST(StateTtl, EmitChangesRestartsAnIdleGroup) {
    Harness h("SELECT k, COUNT(*) AS n FROM t GROUP BY k WITH ('state.ttl' = '10s', 'timestamp' = 'ts')");
    h.record({{"k", S("a")}, {"ts", I(0)}});
    h.record({{"k", S("a")}, {"ts", I(5000)}});
    h.record({{"k", S("b")}, {"ts", I(15000)}});
    h.record({{"k", S("a")}, {"ts", I(15001)}});  // last seen at 5000: idle 10 s at watermark 15000
    const std::vector<std::string> want = {R"({"k":"a","n":1})", R"({"k":"a","n":2})", R"({"k":"b","n":1})",
                                           R"({"k":"a","n":1})"};
    EXPECT_EQ(h.finish(), want);
}

TEST(StateTtl, EmitFinalEmitsAnAgedOutGroupOnce) {
    for (uint32_t batch : {1u, 1000u}) {
        Harness h("SELECT k, COUNT(*) AS n FROM t GROUP BY k EMIT FINAL WITH ('state.ttl' = '10s', 'timestamp' = 'ts')");
        h.batch = batch;
        h.record({{"k", S("a")}, {"ts", I(0)}});
        h.record({{"k", S("a")}, {"ts", I(1000)}});
        h.record({{"k", S("b")}, {"ts", I(20000)}});
        h.record({{"k", S("a")}, {"ts", I(20001)}});
        const std::vector<std::string> want = {R"({"k":"a","n":1})", R"({"k":"a","n":2})", R"({"k":"b","n":1})"};
        EXPECT_EQ(h.sorted_finish(), want) << "batch " << batch;
    }
}

TEST(StateTtl, MemoryStaysBoundedOverAnUnboundedKeySpace) {
    Harness h("SELECT k, COUNT(*) AS n, MAX(name) AS m FROM t GROUP BY k EMIT FINAL "
              "WITH ('state.ttl' = '1s', 'timestamp' = 'ts')");
    h.batch = 500;
    // 1M keys, the memory compared after the first tenth (SLUICE_TEST_SCALE divides both).
    const auto n = static_cast<int64_t>(testing::scaled(1'000'000));
    const int64_t check_at = n / 10;
    std::size_t bytes_at_check = 0;
    char key[48];  // "key-" + up to 20 digits + "-with-some-length" + NUL
    for (int64_t i = 0; i < n; ++i) {
        std::snprintf(key, sizeof key, "key-%lld-with-some-length", static_cast<long long>(i));
        h.record({{"k", S(key)}, {"ts", I(i)}, {"name", S(key)}});
        if (i == check_at) bytes_at_check = h.state().state_bytes();
    }
    // About ttl (1000 ms at one key per ms) live groups, however many keys went by.
    EXPECT_LT(h.state().group_count(), 10'000u);
    EXPECT_LE(h.state().state_bytes(), bytes_at_check * 3 / 2);
    EXPECT_EQ(h.finish().size(), static_cast<std::size_t>(n));  // every group's row, once, as it aged out or at the end
}

// ---------------------------------------------------------------- DISTINCT

TEST(Distinct, EachRowOnceAtItsFirstOccurrence) {
    Harness h("SELECT DISTINCT k, g FROM t WHERE g > 0");
    h.record({{"k", S("a")}, {"g", I(1)}});
    h.record({{"k", S("a")}, {"g", I(1)}});
    h.record({{"k", S("b")}, {"g", I(1)}});
    h.record({{"k", S("a")}, {"g", I(0)}});
    h.record({{"k", S("a")}, {"g", I(2)}});
    h.record({{"k", S("b")}, {"g", I(1)}});
    const std::vector<std::string> want = {R"({"k":"a","g":1})", R"({"k":"b","g":1})", R"({"k":"a","g":2})"};
    EXPECT_EQ(h.finish(), want);
}

}  // namespace
}  // namespace sluice
