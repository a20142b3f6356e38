// One query's slice on one shard: its decoder (the query's own field plan),
// the reading side (WHERE, key, routing by key hash — a local call or the
// query's SPSC ring to the owning shard), the owning side (aggregation state,
// ROWS windows or stateless projection) and its output buffers. A shard runs
// one pipeline per query; the shard decides where input comes from (a file
// range, sockets) and drives the pipeline in batches. No locks, no shared
// counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/kafka.h"
#include "mesh.h"
#include "ring_message.h"
#include "sluice/decode.h"
#include "sluice/exec.h"
#include "sluice/out_buffer.h"
#include "sluice/plan.h"
#include "sluice/runtime.h"
#include "shard_metrics.h"
#include "sluice/stats.h"

namespace sluice {

struct PipelineSetup {
    const Plan* plan = nullptr;
    uint32_t shard = 0;
    uint32_t shards = 1;
    uint32_t sources = 1;      // watermark sources feeding every shard
    bool has_source = false;   // this shard reads a source
    uint16_t source_id = 0;
    Mesh* mesh = nullptr;      // this query's rings between shards
    OutBuffer::SinkFn sink = nullptr;  // result rows
    void* sink_ctx = nullptr;
    OutBuffer::SinkFn dead_letter_sink = nullptr;  // late records (late.data.strategy = 'dead_letter')
    void* dead_letter_ctx = nullptr;
    std::size_t max_record_bytes = kDefaultMaxRecordBytes;
    std::size_t max_block_bytes = 0;  // largest block on_block() is given (the decoder is sized for it)
    IdlePolicy idle = IdlePolicy::Adaptive;
    std::atomic<bool>* stop = nullptr;  // set on a fatal error; waits give up once it is set
};

class QueryPipeline {
public:
    // Constructed on the shard's thread (after pinning): its memory is first touched there.
    explicit QueryPipeline(const PipelineSetup& setup);
    ~QueryPipeline();

    // While a ring to another shard is full, the shard keeps draining every
    // pipeline's inbound rings (two full shards must not wait on each other).
    using WaitHook = bool (*)(void* ctx);  // true when it made progress
    void set_wait_hook(WaitHook hook, void* ctx) noexcept {
        wait_hook_ = hook;
        wait_ctx_ = ctx;
    }

    // A block of whole NDJSON lines from this shard's source ([p, p+len),
    // kDecodePadding readable bytes after it). With drop_when_full a record
    // whose owner's ring is full is counted as overload_dropped (datagram
    // ingest); otherwise the shard waits (backpressure).
    void on_block(const char* p, std::size_t len, int64_t arrival_ms, bool drop_when_full);
    // A block of Kafka messages (io::KafkaShardReader::poll): each record
    // takes its message's time as _TIMESTAMP (arrival_ms where it has none),
    // its partition and offset as _PARTITION and _OFFSET, its partition's
    // watermark lane, and an arrival order of (partition, offset), so FIRST
    // and LAST do not depend on how partitions interleave. Waits when a ring is full.
    void on_kafka_block(const char* p, std::size_t len, const io::KafkaMessageMeta* messages, uint32_t count,
                        int64_t arrival_ms);
    // Watermark lanes: with lanes (Kafka partitions, by slot), the source's
    // watermark is the minimum over the open lanes that are not idle, each
    // lane's the max event time of its records minus the out-of-orderness:
    // results do not depend on how partitions are spread over shards.
    void open_lane(uint32_t slot, int64_t max_event_ms, int64_t now_ms);
    void close_lane(uint32_t slot);
    // The lane's max event time (kWatermarkMin: none, or not open).
    int64_t lane_max_event(uint32_t slot) const noexcept;
    // A lane without records for watermark.idle_timeout stops holding the watermark back.
    void check_lanes_idle(int64_t now_ms);
    // The monotonic time the shard took its current input in (0: not
    // measured): the start of the ingest → emit latency of the rows it makes.
    void set_ingest_ns(int64_t ns) noexcept { ingest_ns_ = ns; }
    // A line that is no record (over max_record_bytes, or cut by a
    // connection reset): rejected and counted.
    void on_rejected_line() noexcept;
    // After a read: the source's watermark goes out behind the records it covers.
    void end_chunk();
    // The source is exhausted, or the shard drains: partials, then the end
    // marker (flush: windows and EMIT FINAL groups are emitted as at the end
    // of a bounded input; otherwise they are dropped).
    void end_source(bool flush = true);
    // The source went quiet for watermark.idle_timeout, or spoke again.
    void set_source_idle(bool idle);
    bool source_idle() const noexcept { return source_idle_; }

    bool drain_inbound();

    // Quiescing for a checkpoint, once every shard stopped taking input:
    // rounds of barriers in every ring (each after everything its shard sent
    // before it) until a round in which no shard sent anything else. Then no
    // message is in flight and every record read before the pause has been
    // applied where it belongs: the state can be snapshotted. Call
    // begin_quiesce once, then quiesce_step every loop iteration (between
    // drains) until it returns true.
    void begin_quiesce(uint64_t epoch);
    bool quiesce_step();

    // Checkpoints (quiesced): the state's items (QueryState::snapshot), its
    // closing watermark, restoring items, and dropping the whole state (a
    // rebalance reloads what stays). After a reload this shard's watermark
    // and idleness are sent again (the other shards' new states learn them).
    void snapshot(std::vector<uint8_t>& out) const {
        if (state_) state_->snapshot(out);
    }
    int64_t closed_watermark() const noexcept { return state_ ? state_->closed_watermark() : kWatermarkMin; }
    QueryState::RestoreCounts restore(const uint8_t* items, std::size_t len, QueryState::RestoreFilter accept, void* ctx,
                                      bool keyless);
    void restore_closed_watermark(int64_t w);
    void reload_state();

    // End of a loop iteration: global snapshots and partials shipped, staged ring messages published.
    void end_batch();
    void flush_output();

    // Every source ended and everything was emitted or shipped.
    bool finished() const;
    // A stateless query wrote its LIMIT: its source may stop reading.
    bool limit_hit() const noexcept { return limit_hit_; }
    bool source_done() const noexcept { return source_done_; }
    // The query ages state by event time (windows, state.ttl).
    bool needs_watermarks() const noexcept { return timed_; }
    const ShardCounters& counters() const noexcept { return counters_; }
    // Counters, state gauges, ring occupancy and latency, for the metrics endpoint.
    QueryMetrics metrics() const;
    const std::string& error() const noexcept { return error_; }
    const Plan& plan() const noexcept { return plan_; }

private:
    void on_record();  // fields_ holds a decoded record
    // The record's event time raised its source's (lane's) watermark.
    void advance_event_time(int64_t ts) noexcept;
    void recompute_lanes() noexcept;
    void on_analytic_record();
    void handle_message(const void* msg);
    void ship_outbox();
    void broadcast(MsgKind kind, uint8_t flag, int64_t watermark);
    void send_barrier(uint32_t round, uint32_t sent);
    void* alloc(uint32_t to, uint32_t bytes);
    void* alloc_blocking(uint32_t to, uint32_t bytes);
    void flush_outbound();
    void fail(std::string message);

    PipelineSetup setup_;
    const Plan& plan_;
    const bool aggregate_;
    const bool rows_window_;  // ROWS windows: whole records routed by partition key
    const uint32_t max_message_;  // the largest message the query's rings carry
    bool global_ = false;     // two-phase global aggregate: every record stays on its reading shard
    bool local_ = false;      // records stay on this shard (the state aggregates locally)
    bool timed_ = false;      // the query needs watermarks (windows, state.ttl)
    bool dead_letter_ = false;  // late records carry their text to the dead-letter output
    bool drop_when_full_ = false;

    ShardCounters counters_;
    uint64_t ring_full_events_ = 0;
    LatencyBuckets latency_;
    int64_t ingest_ns_ = 0;       // of the input being fed now
    int64_t pending_ns_ = 0;      // oldest ingest time among records applied since the last flush
    uint64_t rows_flushed_ = 0;   // rows_out at the last flush
    std::unique_ptr<OutBuffer> out_;
    std::unique_ptr<OutBuffer> dead_out_;
    std::unique_ptr<NdjsonDecoder> decoder_;
    std::unique_ptr<Prepare> prepare_;
    std::unique_ptr<Projector> projector_;
    std::unique_ptr<QueryState> state_;
    std::unique_ptr<AnalyticPrepare> analytic_prepare_;
    std::unique_ptr<AnalyticState> analytic_;
    std::vector<Value> fields_;
    std::vector<Value> args_;        // decoded arguments of an inbound record
    std::vector<uint8_t> partials_;  // outbox being shipped
    PreparedRecord prepared_;
    WaitHook wait_hook_ = nullptr;
    void* wait_ctx_ = nullptr;

    // Source state (only when has_source).
    bool source_done_ = false;
    bool source_idle_ = false;
    bool limit_hit_ = false;
    int64_t max_event_ms_ = kWatermarkMin;
    int64_t watermark_ = kWatermarkMin;
    int64_t sent_watermark_ = kWatermarkMin;
    int64_t arrival_ms_ = 0;
    uint64_t seq_ = 0;

    // Kafka input: the current record's lane and arrival order; the slots of
    // _PARTITION and _OFFSET (kNoSlot: the query reads neither).
    static constexpr uint32_t kNoSlot = UINT32_MAX;
    struct Lane {
        int64_t max_event = kWatermarkMin;
        int64_t last_ms = 0;  // wall clock of its last record
        bool open = false;
        bool idle = false;
    };
    std::vector<Lane> lanes_;  // by slot
    bool lanes_on_ = false;    // the watermark comes from the lanes
    bool kafka_input_ = false; // the record being handled came from on_kafka_block
    uint32_t lane_ = 0;
    uint64_t kafka_seq_ = 0;
    uint32_t partition_slot_ = kNoSlot;
    uint32_t offset_slot_ = kNoSlot;

    uint32_t ended_sources_ = 0;
    std::string error_;

    // Quiescing (begin_quiesce/quiesce_step).
    struct BarrierSeen {
        uint64_t epoch = 0;
        uint32_t round = 0;
    };
    uint64_t pushes_ = 0;             // messages pushed to other shards, barriers excepted
    uint64_t pushes_at_barrier_ = 0;
    uint64_t q_epoch_ = 0;
    uint32_t q_round_ = 0;            // 0: barrier 1 not sent yet
    bool q_done_ = true;
    bool q_my_flag_ = false;          // this shard sent something between its last two barriers
    uint32_t q_flags_[2] = {0, 0};    // by round parity: barriers of that round that said they sent something
    std::vector<BarrierSeen> q_seen_; // per shard: its latest barrier
};

}  // namespace sluice
