// Checkpoints: the file format (round trip; corrupt, truncated, foreign and
// newer files refused with a message naming the file), writing and listing
// files, and QueryState snapshots: for every aggregate kind and every mode
// (groups, state.ttl, tumbling, sliding and session windows with allowed
// lateness, global aggregates), a state snapshotted halfway and restored
// into a fresh one (also split over two shards) goes on exactly as the
// uninterrupted state does.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../support/collected_text.h"
#include "../../support/files.h"
#include "runtime/checkpoint.h"
#include "sluice/exec.h"
#include "sluice/hash.h"
#include "sluice/out_buffer.h"
#include "sluice/sql.h"

namespace sluice {
namespace {

using testing::collect;
using testing::split_lines;

// ---------------------------------------------------------------- file format

Checkpoint sample() {
    Checkpoint c;
    c.epoch = 42;
    c.created_ms = 1'700'000'000'123;
    c.member = "node-a";
    c.group = "g";
    c.topics = {"in", "more"};
    c.topic_partitions = {4, 4};
    c.queries.push_back({"q", query_fingerprint("SELECT 1"), 5000, {1, 2, 3, 4, 5}});
    c.queries.push_back({"r", query_fingerprint("SELECT 2"), INT64_MIN, {}});
    c.partitions.push_back({0, 3, 1234, {100, INT64_MIN}});
    c.partitions.push_back({1, 0, 7, {200, 300}});
    return c;
}

TEST(CheckpointFormat, RoundTrip) {
    const Checkpoint c = sample();
    const std::vector<uint8_t> bytes = encode_checkpoint(c);
    auto d = decode_checkpoint(bytes.data(), bytes.size(), "mem");
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->epoch, 42u);
    EXPECT_EQ(d->created_ms, c.created_ms);
    EXPECT_EQ(d->member, "node-a");
    EXPECT_EQ(d->group, "g");
    EXPECT_EQ(d->topics, c.topics);
    EXPECT_EQ(d->topic_partitions, c.topic_partitions);
    ASSERT_EQ(d->queries.size(), 2u);
    EXPECT_EQ(d->queries[0].name, "q");
    EXPECT_EQ(d->queries[0].fingerprint, query_fingerprint("SELECT 1"));
    EXPECT_EQ(d->queries[0].closed_watermark, 5000);
    EXPECT_EQ(d->queries[0].items, (std::vector<uint8_t>{1, 2, 3, 4, 5}));
    EXPECT_TRUE(d->queries[1].items.empty());
    ASSERT_EQ(d->partitions.size(), 2u);
    EXPECT_EQ(d->partitions[0].partition, 3);
    EXPECT_EQ(d->partitions[0].next_offset, 1234);
    EXPECT_EQ(d->partitions[0].lane_max_event, (std::vector<int64_t>{100, INT64_MIN}));
    EXPECT_EQ(d->partitions[1].topic, 1u);
    EXPECT_EQ(d->partitions[1].lane_max_event, (std::vector<int64_t>{200, 300}));
}

TEST(CheckpointFormat, CorruptOrCutFilesAreRefusedWithTheirName) {
    const std::vector<uint8_t> good = encode_checkpoint(sample());
    const auto error_of = [](std::vector<uint8_t> b) {
        auto d = decode_checkpoint(b.data(), b.size(), "dir/a.ckpt");
        return d.ok() ? std::string("ok") : d.error().message;
    };
    EXPECT_EQ(error_of(good), "ok");
    // Every cut is refused, and says so.
    for (std::size_t len = 0; len < good.size(); ++len) {
        const std::string e = error_of(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)));
        EXPECT_EQ(e.rfind("checkpoint dir/a.ckpt: ", 0), 0u) << len << ": " << e;
        EXPECT_NE(e, "ok") << len;
    }
    EXPECT_EQ(error_of(std::vector<uint8_t>(good.begin(), good.end() - 3)),
              "checkpoint dir/a.ckpt: truncated: " + std::to_string(good.size() - 3) + " bytes, the header announces " +
                  std::to_string(good.size()));
    // Every flipped byte of the body is caught by the checksum.
    for (std::size_t at = 24; at + 16 < good.size(); at += 7) {
        std::vector<uint8_t> bad = good;
        bad[at] ^= 0x20;
        EXPECT_EQ(error_of(bad), "checkpoint dir/a.ckpt: checksum mismatch: the file is corrupt") << at;
    }
    std::vector<uint8_t> other = good;
    other[0] = 'X';
    EXPECT_EQ(error_of(other), "checkpoint dir/a.ckpt: not a sluice checkpoint (bad magic)");
    std::vector<uint8_t> newer = good;
    newer[8] = 2;
    EXPECT_EQ(error_of(newer), "checkpoint dir/a.ckpt: format version 2 (this sluice reads version 1)");
    std::vector<uint8_t> longer = good;
    longer.push_back(0);
    EXPECT_EQ(error_of(longer), "checkpoint dir/a.ckpt: trailing bytes after the checkpoint (1)");
    EXPECT_EQ(error_of({}), "checkpoint dir/a.ckpt: too short to be a checkpoint (0 bytes)");
}

TEST(CheckpointFiles, WrittenWholeAndListedByMemberAndEpoch) {
    testing::TempDir dir("sluice-ckpt");
    const std::string d = dir.file("ckpt");  // created on the first write
    Checkpoint c = sample();
    for (const auto& [member, epoch] : std::vector<std::pair<std::string, uint64_t>>{{"b", 3}, {"a", 10}, {"a", 2}}) {
        c.member = member;
        c.epoch = epoch;
        auto w = write_checkpoint_file(d, member, epoch, encode_checkpoint(c));
        ASSERT_TRUE(w.ok()) << w.error().message;
    }
    testing::write_file(d + "/stray.txt", "x");
    testing::write_file(d + "/a.00000000000000zz.ckpt", "x");
    const auto files = list_checkpoints(d);
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0].member, "a");
    EXPECT_EQ(files[0].epoch, 2u);
    EXPECT_EQ(files[1].epoch, 10u);
    EXPECT_EQ(files[2].member, "b");
    EXPECT_EQ(files[1].path, checkpoint_path(d, "a", 10));
    for (const auto& e : std::filesystem::directory_iterator(d))
        EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
    auto r = read_checkpoint_file(files[1].path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->epoch, 10u);
    EXPECT_EQ(r->member, "a");
    // A file cut by a crash mid-write (a rename makes that impossible, a
    // copy by hand does not) is refused with its path.
    const std::string bytes = testing::read_file(files[1].path);
    testing::write_file(files[1].path, bytes.substr(0, bytes.size() / 2));
    auto cut = read_checkpoint_file(files[1].path);
    ASSERT_FALSE(cut.ok());
    EXPECT_NE(cut.error().message.find(files[1].path + ": truncated"), std::string::npos) << cut.error().message;
}

// ---------------------------------------------------------------- state snapshots

using Fields = std::map<std::string, Value>;

Value I(int64_t v) { return Value::of_int(v); }
Value D(double v) { return Value::of_double(v); }
Value S(const std::string& s) {
    static std::vector<std::unique_ptr<std::string>> keep;
    keep.push_back(std::make_unique<std::string>(s));
    return Value::of_string(keep.back()->data(), static_cast<uint32_t>(keep.back()->size()));
}

// One shard's QueryState fed by one source, as a pipeline feeds it: the
// source watermark before each record rides along, a watermark message
// follows every `batch` records, partials come back to the state (one shard).
class Shard {
public:
    Shard(const Plan& plan, uint32_t shard, uint32_t shards) : plan_(plan), shard_(shard), shards_(shards) {
        out_ = std::make_unique<OutBuffer>(1 << 16, &collect, &text_);
        state_ = std::make_unique<QueryState>(plan_, shard_, shards_, 1, *out_, counters_);
        prepare_ = std::make_unique<Prepare>(plan_);
    }

    // Owner of the record's key (for routing between two shards).
    uint32_t owner(const Fields& f) {
        PreparedRecord p;
        if (!prepared(f, p)) return 0;
        return partition_of(p.hash, shards_);
    }

    void record(const Fields& f, uint64_t seq) {
        PreparedRecord p;
        ++counters_.records_in;
        if (!prepared(f, p)) {
            ++counters_.records_processed;
            return;
        }
        AggInput in;
        in.hash = p.hash;
        in.key = p.key;
        in.key_len = p.key_len;
        in.ts = p.ts;
        in.wm_before = wm_;
        in.seq = seq;
        in.source = 0;
        in.args = p.args;
        if (p.ts > max_ts_) {
            max_ts_ = p.ts;
            wm_ = p.ts - plan_.props.max_out_of_orderness_ms;
        }
        state_->on_record(in);
        if (++since_ % 37 == 0) watermark();
        pump();
    }
    void watermark() {
        state_->on_watermark(0, wm_);
        pump();
    }
    void pump() {
        state_->end_batch();
        std::vector<uint8_t> box;
        box.swap(state_->outbox().bytes);
        for_each_partial(box, [&](uint32_t, const uint8_t* p, uint32_t n) { state_->on_partial(p, n); });
    }
    std::vector<std::string> finish() {
        state_->on_source_end(0);
        pump();
        out_->flush();
        return split_lines(text_);
    }
    // What a checkpoint keeps of a shard: its state's items and closing
    // watermark, and its source's watermark state (the pipeline's lane).
    struct Snapshot {
        std::vector<uint8_t> items;
        int64_t closed = kWatermarkMin;
        int64_t wm = kWatermarkMin;
        int64_t max_ts = kWatermarkMin;
    };
    Snapshot snapshot() const {
        Snapshot s;
        state_->snapshot(s.items);
        s.closed = state_->closed_watermark();
        s.wm = wm_;
        s.max_ts = max_ts_;
        return s;
    }
    // Restore as a restarted appliance does: the items, the closing
    // watermark, the source's state, then the watermark sent again.
    QueryState::RestoreCounts restore(const Snapshot& from) {
        const auto c = state_->restore(from.items.data(), from.items.size(), nullptr, nullptr, true);
        state_->restore_closed_watermark(from.closed);
        wm_ = from.wm;
        max_ts_ = from.max_ts;
        watermark();
        return c;
    }
    std::string rows() {
        out_->flush();
        return text_;
    }
    QueryState& state() { return *state_; }
    ShardCounters& counters() { return counters_; }

private:
    bool prepared(const Fields& f, PreparedRecord& p) {
        std::vector<Value>& fields = fields_;
        fields.assign(plan_.fields.size(), Value::null());
        for (std::size_t i = 0; i < plan_.fields.size(); ++i) {
            auto it = f.find(plan_.fields[i].dotted);
            if (it != f.end()) fields[i] = it->second;
        }
        return prepare_->run(fields.data(), 0, p, counters_) != Prepare::Outcome::Filtered;
    }

    const Plan& plan_;
    uint32_t shard_, shards_;
    std::string text_;
    ShardCounters counters_;
    std::unique_ptr<OutBuffer> out_;
    std::unique_ptr<QueryState> state_;
    std::unique_ptr<Prepare> prepare_;
    std::vector<Value> fields_;
    int64_t wm_ = kWatermarkMin;
    int64_t max_ts_ = kWatermarkMin;
    uint64_t since_ = 0;
};

// Records with every type an aggregate takes; time mostly ascending with
// some disorder, and gaps (sessions end).
std::vector<Fields> workload(int n) {
    std::mt19937 rng(11);
    std::vector<Fields> out;
    int64_t t = 1'000'000;
    for (int i = 0; i < n; ++i) {
        t += rng() % 40;
        if (rng() % 50 == 0) t += 3000;  // a gap: sessions close
        Fields f;
        f["k"] = S("k" + std::to_string(rng() % 17));
        f["v"] = I(static_cast<int64_t>(rng() % 1000) - 300);
        f["d"] = D((rng() % 10000) / 7.0);
        f["s"] = S("s" + std::to_string(rng() % 60));
        f["ts"] = I(t - static_cast<int64_t>(rng() % 300));  // up to 300 ms out of order
        if (rng() % 29 == 0) f.erase("v");                   // NULLs
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

const char* const kAllAggregates =
    "COUNT(*) AS c, COUNT(v) AS cv, COUNT(DISTINCT s) AS ds, SUM(v) AS sv, SUM(d) AS sd, AVG(d) AS ad, MIN(v) AS mnv, "
    "MAX(d) AS mxd, MIN(s) AS mns, MAX(s) AS mxs, STDDEV(d) AS sdd, STDDEV_POP(v) AS sdp, VARIANCE(d) AS vd, "
    "VAR_POP(v) AS vp, FIRST(s) AS fs, LAST(v) AS lv, APPROX_COUNT_DISTINCT(s) AS acd";

struct SnapshotCase {
    const char* name;
    std::string sql;
};

class StateSnapshot : public ::testing::TestWithParam<SnapshotCase> {};

// Snapshotted halfway and restored into a fresh state, the query goes on as
// the uninterrupted one: the same rows, in the end and along the way.
TEST_P(StateSnapshot, RestoredStateGoesOnAsTheUninterruptedOne) {
    auto planned = plan_sql(GetParam().sql);
    ASSERT_TRUE(planned.ok()) << planned.error().message;
    const Plan plan = std::move(planned.value());
    const auto records = workload(4000);
    const std::size_t half = records.size() / 2;

    Shard whole(plan, 0, 1);
    for (std::size_t i = 0; i < half; ++i) whole.record(records[i], i);
    const Shard::Snapshot snap = whole.snapshot();
    const std::string rows_before = whole.rows();
    Shard restored(plan, 0, 1);
    const auto counts = restored.restore(snap);
    EXPECT_FALSE(counts.malformed);
    // A global aggregate's merge shard also holds a copy of its own partial: left out.
    if (!plan.group_keys.empty()) {
        EXPECT_EQ(counts.skipped, 0u);
    }
    EXPECT_GT(counts.items, 0u);
    for (std::size_t i = half; i < records.size(); ++i) {
        whole.record(records[i], i);
        restored.record(records[i], i);
    }
    const auto all = whole.finish();
    auto after = restored.finish();
    // The rows the whole state wrote after the snapshot are what the restored one wrote.
    std::vector<std::string> expected;
    const auto before = split_lines(rows_before);
    expected.assign(all.begin() + static_cast<std::ptrdiff_t>(before.size()), all.end());
    EXPECT_EQ(sorted(after), sorted(expected));
    EXPECT_FALSE(expected.empty());

    // A snapshot's items do not depend on the shard count: split over two
    // shards (each takes the keys it owns), the keyed query goes on the same.
    // (Not windowed: the two test shards would each be a source of their own,
    // with watermarks of their own, where the uninterrupted run had one.)
    if (plan.group_keys.empty() || plan.emit == EmitMode::Final || plan.is_windowed()) return;
    Shard s0(plan, 0, 2), s1(plan, 1, 2);
    const auto c0 = s0.restore(snap);
    const auto c1 = s1.restore(snap);
    EXPECT_EQ(c0.items + c1.items, counts.items);
    EXPECT_EQ(c0.skipped, c1.items);
    for (std::size_t i = half; i < records.size(); ++i) (s0.owner(records[i]) == 0 ? s0 : s1).record(records[i], i);
    auto a = s0.finish();
    const auto b = s1.finish();
    a.insert(a.end(), b.begin(), b.end());
    EXPECT_EQ(sorted(a), sorted(expected));
}

INSTANTIATE_TEST_SUITE_P(
    Modes, StateSnapshot,
    ::testing::Values(
        SnapshotCase{"GroupedFinal", std::string("SELECT k, ") + kAllAggregates + " FROM t GROUP BY k EMIT FINAL"},
        SnapshotCase{"GroupedChanges", "SELECT k, COUNT(*) AS c, SUM(v) AS sv, MAX(s) AS mx, LAST(d) AS l FROM t GROUP BY k"},
        SnapshotCase{"CompoundKeyTtl",
                     "SELECT k, s, COUNT(*) AS c, SUM(d) AS sd FROM t GROUP BY k, s EMIT FINAL "
                     "WITH ('state.ttl' = '2s', 'timestamp' = 'ts')"},
        SnapshotCase{"Tumbling", std::string("SELECT k, _WINDOW_START AS w, ") + kAllAggregates +
                                     " FROM t GROUP BY k WINDOW TUMBLING(ts, 1s) EMIT FINAL "
                                     "WITH ('watermark.max_out_of_orderness' = '100ms')"},
        SnapshotCase{"TumblingLateness", "SELECT k, _WINDOW_START AS w, COUNT(*) AS c, SUM(v) AS sv FROM t GROUP BY k "
                                         "WINDOW TUMBLING(ts, 1s) EMIT FINAL WITH ('window.allowed_lateness' = '200ms')"},
        SnapshotCase{"TumblingChanges", "SELECT k, _WINDOW_START AS w, COUNT(*) AS c FROM t GROUP BY k "
                                        "WINDOW TUMBLING(ts, 1s) EMIT CHANGES"},
        SnapshotCase{"Sliding", "SELECT k, _WINDOW_START AS w, COUNT(*) AS c, AVG(d) AS a FROM t GROUP BY k "
                                "WINDOW SLIDING(ts, 2s, 500ms) EMIT FINAL"},
        SnapshotCase{"Session", std::string("SELECT k, _WINDOW_START AS w, _WINDOW_END AS e, ") + kAllAggregates +
                                    " FROM t GROUP BY k WINDOW SESSION(ts, 1s) EMIT FINAL"},
        SnapshotCase{"SessionLateness", "SELECT k, _WINDOW_START AS w, COUNT(*) AS c FROM t GROUP BY k "
                                        "WINDOW SESSION(ts, 1s) EMIT FINAL WITH ('window.allowed_lateness' = '300ms')"},
        SnapshotCase{"GlobalFinal", std::string("SELECT ") + kAllAggregates + " FROM t EMIT FINAL"},
        SnapshotCase{"GlobalWindowed", "SELECT _WINDOW_START AS w, COUNT(*) AS c, SUM(v) AS sv, MIN(s) AS m FROM t "
                                       "WINDOW TUMBLING(ts, 1s) EMIT FINAL"},
        SnapshotCase{"GlobalChanges", "SELECT COUNT(*) AS c, SUM(d) AS sd FROM t"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(StateSnapshotItems, AFilterTakesSomeKeysAndMalformedBytesAreReported) {
    auto planned = plan_sql("SELECT k, COUNT(*) AS c FROM t GROUP BY k EMIT FINAL");
    ASSERT_TRUE(planned.ok());
    const Plan plan = std::move(planned.value());
    Shard a(plan, 0, 1);
    const auto records = workload(500);
    for (std::size_t i = 0; i < records.size(); ++i) a.record(records[i], i);
    const auto items = a.snapshot().items;
    Shard b(plan, 0, 1);
    // Only the key "k3" (keys are canonical bytes: a tag, a length, the text).
    const auto only_k3 = [](void*, const uint8_t* key, uint32_t len) {
        std::string text;
        append_key_text(key, len, 1, text);
        return text == "k3";
    };
    const auto c = b.state().restore(items.data(), items.size(), only_k3, nullptr, true);
    EXPECT_EQ(c.items, 1u);
    EXPECT_EQ(c.skipped, 16u);
    const auto rows = b.finish();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].rfind("{\"k\":\"k3\",", 0), 0u) << rows[0];
    // Cut in the middle of an item: what came before is taken, the rest reported.
    Shard cut(plan, 0, 1);
    const auto m = cut.state().restore(items.data(), items.size() - 5, nullptr, nullptr, true);
    EXPECT_TRUE(m.malformed);
    EXPECT_EQ(m.items, 16u);
}

}  // namespace
}  // namespace sluice
