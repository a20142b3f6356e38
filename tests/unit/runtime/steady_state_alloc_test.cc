// Proves the hot path allocates nothing per record once warm: decode →
// prepare → ring message → aggregate or project → serialize, for the
// benchmark query shapes. Global operator new is replaced to count.
#include <gtest/gtest.h>

#include <cstring>
#include <string.h>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../../support/scale.h"
#include "counting_new.h"
#include "runtime/ring_message.h"
#include "sluice/decode.h"
#include "sluice/exec.h"
#include "sluice/sql.h"


namespace sluice {
namespace {

void discard(void*, const char*, std::size_t) {}

constexpr std::size_t kBlockBytes = 256 * 1024;

// One shard's data path without threads: every other record takes the ring.
class Pipeline {
public:
    explicit Pipeline(const std::string& sql)
        : plan_(plan_or_die(sql)),
          out_(64 * 1024, &discard, nullptr),
          decoder_(plan_.fields, kDefaultMaxRecordBytes, kBlockBytes),
          ring_(1 << 20),
          fields_(plan_.fields.size()),
          args_(plan_.aggs.size()) {
        if (plan_.is_aggregate()) {
            prepare_ = std::make_unique<Prepare>(plan_);
            state_ = std::make_unique<QueryState>(plan_, 0, 1, 1, out_, counters_);
        } else {
            projector_ = std::make_unique<Projector>(plan_, out_, counters_);
        }
    }

    // `lines` is newline-terminated NDJSON followed by kDecodePadding spare
    // bytes: one block, decoded the way the runtime decodes a chunk.
    void feed(const std::string& lines, std::size_t len) {
        decoder_.decode_block(
            lines.data(), len, fields_.data(), counters_.type_mismatch,
            [this] {
                ++counters_.records_in;
                on_record();
            },
            [this] {
                ++counters_.records_in;
                ++counters_.records_rejected;
            });
        if (state_) {
            state_->on_watermark(0, watermark_);
            state_->end_batch();
            state_->outbox().bytes.clear();  // one shard: nobody merges; keep the box from growing
        }
    }

    const ShardCounters& counters() const { return counters_; }

private:
    static Plan plan_or_die(const std::string& sql) {
        auto r = plan_sql(sql);
        if (!r) throw std::runtime_error(r.error().message);
        return std::move(r.value());
    }

    void on_record() {
        if (projector_) {
            projector_->on_record(fields_.data(), 0);
            return;
        }
        PreparedRecord r;
        if (prepare_->run(fields_.data(), 0, r, counters_) == Prepare::Outcome::Filtered) return;
        const int64_t wm_before = watermark_;
        if (plan_.is_windowed() && r.ts > watermark_) watermark_ = r.ts;
        if (++n_ % 2 == 0) {
            AggInput in;
            in.hash = r.hash;
            in.key = r.key;
            in.key_len = r.key_len;
            in.ts = r.ts;
            in.wm_before = wm_before;
            in.seq = n_;
            in.args = r.args;
            state_->on_record(in);
            return;
        }
        void* dst = ring_.try_alloc(static_cast<uint32_t>(record_msg_size(r)));
        ASSERT_NE(dst, nullptr);
        encode_record(dst, r, 0, wm_before, n_);
        ring_.push();
        ring_.flush();
        uint32_t bytes;
        const void* msg = ring_.front(&bytes);
        ASSERT_NE(msg, nullptr);
        state_->on_record(decode_record(msg, args_.data(), static_cast<uint32_t>(args_.size())));
        ring_.pop();
        ring_.release();
    }

    Plan plan_;
    ShardCounters counters_;
    OutBuffer out_;
    NdjsonDecoder decoder_;
    SpscRing ring_;
    std::vector<Value> fields_;
    std::vector<Value> args_;
    std::unique_ptr<Prepare> prepare_;
    std::unique_ptr<Projector> projector_;
    std::unique_ptr<QueryState> state_;
    int64_t watermark_ = INT64_MIN;
    uint64_t n_ = 0;
};

// Records [first, first+count) of a trading data set, padded for the decoder.
std::string trades(uint64_t first, uint64_t count, std::size_t& len) {
    std::string s;
    for (uint64_t i = first; i < first + count; ++i) {
        s += "{\"trader_id\":\"T" + std::to_string(i % 50) + "\",\"symbol\":\"SYM" + std::to_string(i % 100) +
             "\",\"price\":" + std::to_string(100 + i % 50) + ".0,\"quantity\":" + std::to_string(i % 1000) +
             ",\"trade_time\":" + std::to_string(1000000 + i * 10) + "}\n";
    }
    len = s.size();
    s.append(kDecodePadding, ' ');
    return s;
}

// Records [first, first+count) cut into padded blocks at line ends, as the
// runtime's reader hands them to the decoder.
std::vector<std::pair<std::string, std::size_t>> blocks_of(uint64_t first, uint64_t count) {
    std::size_t len;
    const std::string text = trades(first, count, len);
    std::vector<std::pair<std::string, std::size_t>> blocks;
    for (std::size_t off = 0; off < len;) {
        const std::size_t most = std::min<std::size_t>(len - off, kBlockBytes);
        const char* start = text.data() + off;
        const char* stop = static_cast<const char*>(::memrchr(start, '\n', most)) + 1;
        const auto n = static_cast<std::size_t>(stop - start);
        blocks.emplace_back(std::string(start, n + kDecodePadding), n);
        off += n;
    }
    return blocks;
}

uint64_t allocations_while_feeding(const std::string& sql) {
    Pipeline p(sql);
    // Warm-up covers every group and several windows; the measured part
    // reuses the same keys in later windows (200000 records, SLUICE_TEST_SCALE
    // divides them). Blocks are cut before counting.
    const uint64_t measured = testing::scaled(200000);
    const auto warm = blocks_of(0, 30000);
    const auto hot = blocks_of(30000, measured);
    for (const auto& [bytes, n] : warm) p.feed(bytes, n);
    const uint64_t before = test::allocation_count();
    for (const auto& [bytes, n] : hot) p.feed(bytes, n);
    const uint64_t allocations = test::allocation_count() - before;
    EXPECT_EQ(p.counters().records_in, 30000 + measured);
    EXPECT_EQ(p.counters().records_rejected, 0u);
    return allocations;
}

TEST(SteadyState, GroupByEmitChangesAllocatesNothing) {
    EXPECT_EQ(allocations_while_feeding("SELECT symbol, COUNT(*) AS n, AVG(price) AS a, MIN(price) AS mn, "
                                        "MAX(price) AS mx, SUM(quantity) AS q FROM t GROUP BY symbol"),
              0u);
}

TEST(SteadyState, TumblingWindowAllocatesNothing) {
    EXPECT_EQ(allocations_while_feeding(
                  "SELECT trader_id, symbol, COUNT(*) AS n, AVG(price) AS a, SUM(quantity) AS q, "
                  "SUM(price * quantity) AS v FROM t GROUP BY trader_id, symbol "
                  "WINDOW TUMBLING (trade_time, INTERVAL '1' SECOND)"),
              0u);
}

TEST(SteadyState, TumblingWindowEmitChangesAllocatesNothing) {
    EXPECT_EQ(allocations_while_feeding("SELECT symbol, COUNT(*) AS n, SUM(price * quantity) AS v FROM t "
                                        "GROUP BY symbol WINDOW TUMBLING (trade_time, INTERVAL '1' SECOND) "
                                        "EMIT CHANGES"),
              0u);
}

TEST(SteadyState, FinalGroupByAllocatesNothing) {
    EXPECT_EQ(allocations_while_feeding("SELECT symbol, MIN(price) AS mn, AVG(price) AS a, MAX(price) AS mx "
                                        "FROM t GROUP BY symbol EMIT FINAL"),
              0u);
}

TEST(SteadyState, StatelessProjectionAllocatesNothing) {
    EXPECT_EQ(allocations_while_feeding("SELECT trader_id, UPPER(symbol) AS s, price * quantity AS v FROM t "
                                        "WHERE quantity > 10"),
              0u);
}

TEST(SteadyState, GlobalAggregateAllocatesNothing) {
    EXPECT_EQ(allocations_while_feeding("SELECT COUNT(*) AS n, SUM(quantity) AS q, MAX(price) AS m FROM t"), 0u);
}

// Sparse sketches per window group (the window's arena is reused), dense ones
// for the global aggregate (grown during warm-up).
TEST(SteadyState, ApproxCountDistinctAllocatesNothing) {
    EXPECT_EQ(allocations_while_feeding("SELECT symbol, APPROX_COUNT_DISTINCT(trader_id) AS t, "
                                        "APPROX_COUNT_DISTINCT(quantity) AS q FROM t GROUP BY symbol "
                                        "WINDOW TUMBLING (trade_time, INTERVAL '1' SECOND)"),
              0u);
    EXPECT_EQ(allocations_while_feeding("SELECT APPROX_COUNT_DISTINCT(trade_time) AS t, "
                                        "APPROX_COUNT_DISTINCT(quantity) AS q FROM t"),
              0u);
}

}  // namespace
}  // namespace sluice
