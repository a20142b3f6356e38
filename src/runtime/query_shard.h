// One shard of a bounded `sluice query` run: a pinned thread that reads its
// input range (if it has one), decodes, routes records by key hash to their
// owning shard (a local call, or the SPSC ring to that shard), aggregates what
// it owns, and serializes rows into its OutBuffer — run to completion, no
// locks, no shared counters.
#pragma once

#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "idle.h"
#include "mesh.h"
#include "output_writer.h"
#include "ring_message.h"
#include "sluice/decode.h"
#include "sluice/exec.h"
#include "sluice/out_buffer.h"
#include "sluice/plan.h"
#include "sluice/runtime.h"
#include "sluice/stats.h"
#include "topology.h"

namespace sluice {

struct ShardSetup {
    const Plan* plan = nullptr;
    uint32_t id = 0;
    uint32_t shards = 1;
    uint32_t sources = 1;
    // Input range, when this shard reads a source.
    bool has_source = false;
    uint16_t source_id = 0;
    int input_fd = -1;
    int dead_letter_port = -1;  // OutputWriter port of the dead-letter output (-1: none)
    uint64_t begin = 0;
    uint64_t end = UINT64_MAX;
    std::size_t max_record_bytes = kDefaultMaxRecordBytes;
    std::size_t chunk_bytes = 1u << 20;
    IdlePolicy idle = IdlePolicy::Adaptive;
    int cpu = -1;  // -1: not pinned
    const Topology* topology = nullptr;
};

// What every shard shares with the control thread for the run.
struct RunShared {
    Mesh* mesh = nullptr;
    OutputWriter* writer = nullptr;
    std::barrier<>* started = nullptr;
    std::atomic<bool> stop{false};        // a shard failed or the output is gone
    std::atomic<uint32_t> running{0};     // shards that have not finished flushing
};

class QueryShard {
public:
    QueryShard(const ShardSetup& setup, RunShared& shared);
    ~QueryShard();

    // Thread body.
    void run();

    const ShardCounters& counters() const { return counters_; }
    const std::string& error() const { return error_; }

private:
    void setup_on_thread();
    void loop();
    void read_chunk();
    bool poll_source();
    void set_source_idle(bool idle);
    void on_record();  // fields_ holds a decoded record
    void on_analytic_record();
    bool drain_inbound();
    void handle_message(const void* msg);
    void ship_outbox();
    void broadcast(MsgKind kind, int64_t watermark);
    void* alloc_blocking(uint32_t to, uint32_t bytes);
    void flush_outbound();
    bool finished() const;
    void fail(std::string message);

    ShardSetup setup_;
    RunShared& shared_;
    const Plan& plan_;
    const bool aggregate_;
    const bool rows_window_;  // ROWS windows: whole records routed by partition key
    bool global_ = false;  // two-phase global aggregate: every record stays on its reading shard
    bool local_ = false;   // records stay on this shard (the state aggregates locally)
    bool timed_ = false;   // the query needs watermarks (windows, state.ttl)
    bool dead_letter_ = false;  // late records carry their text to the dead-letter output
    Idler idler_;

    ShardCounters counters_;
    std::unique_ptr<OutBuffer> out_;
    std::unique_ptr<OutBuffer> dead_out_;  // dead-letter rows (late.data.strategy = 'dead_letter')
    std::unique_ptr<NdjsonDecoder> decoder_;
    std::unique_ptr<LineReader> reader_;
    std::unique_ptr<Prepare> prepare_;
    std::unique_ptr<Projector> projector_;
    std::unique_ptr<QueryState> state_;
    std::unique_ptr<AnalyticPrepare> analytic_prepare_;  // ROWS windows: reading side
    std::unique_ptr<AnalyticState> analytic_;           // ROWS windows: owning side
    std::vector<Value> fields_;
    std::vector<Value> args_;          // decoded arguments of an inbound record
    std::vector<uint8_t> partials_;    // outbox being shipped
    PreparedRecord prepared_;

    // Source state (only when has_source).
    bool source_done_ = false;
    bool limit_hit_ = false;
    int64_t max_event_ms_ = kWatermarkMin;
    int64_t watermark_ = kWatermarkMin;
    int64_t arrival_ms_ = 0;
    uint64_t seq_ = 0;
    // A pipe can go quiet: past watermark.idle_timeout the source is marked
    // idle so it stops holding other sources' windows back.
    bool pollable_ = false;
    bool source_idle_ = false;
    int64_t last_input_ms_ = 0;

    uint32_t ended_sources_ = 0;
    std::string error_;
};

}  // namespace sluice
