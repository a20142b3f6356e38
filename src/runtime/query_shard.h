// One shard of a bounded `sluice query` run: a pinned thread that reads its
// input range (if it has one) and drives the query's pipeline over it —
// decode, route by key hash, aggregate what it owns, serialize rows into its
// output buffer — run to completion, no locks, no shared counters.
#pragma once

#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <string>

#include "idle.h"
#include "mesh.h"
#include "output_writer.h"
#include "query_pipeline.h"
#include "sluice/decode.h"
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
    OutputWriter::Port* rows = nullptr;          // where result rows go
    OutputWriter::Port* dead_letters = nullptr;  // where late records go (nullptr: none)
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

    const ShardCounters& counters() const { return pipeline_ ? pipeline_->counters() : no_counters_; }
    const std::string& error() const { return error_; }

private:
    void setup_on_thread();
    void loop();
    void read_chunk();
    bool poll_source();
    void fail(std::string message);

    ShardSetup setup_;
    RunShared& shared_;
    Idler idler_;
    std::unique_ptr<LineReader> reader_;
    std::unique_ptr<QueryPipeline> pipeline_;
    // A pipe can go quiet: past watermark.idle_timeout the source is marked
    // idle so it stops holding other sources' windows back.
    bool pollable_ = false;
    int64_t last_input_ms_ = 0;
    ShardCounters no_counters_;
    std::string error_;
};

}  // namespace sluice
