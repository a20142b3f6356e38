// One shard of `sluice run`: a pinned thread with its own io_uring, its own
// SO_REUSEPORT sockets on every configured source (and its RX queue of each
// DPDK port, when the port has one for it), its own network sinks,
// and one QueryPipeline per configured query. Records from a datagram or a
// TCP read go through every pipeline the source feeds; rows leave through
// the query's sink (network sinks from this shard's ring, files and stdout
// through the control thread's writer). A drain request stops ingest, ends
// this shard's source in every pipeline (emitting open windows or not, as
// configured), and runs until the rings and sinks are empty.
#pragma once

#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "mesh.h"
#include "output_writer.h"
#include "query_pipeline.h"
#include "shard_metrics.h"
#include "sluice/plan.h"
#include "topology.h"

namespace sluice {

namespace net {
class Uring;
class UdpSource;
class TcpSource;
class UdpSink;
class TcpSink;
class DpdkRuntime;
}  // namespace net

class KafkaRuntime;
class KafkaShard;

struct AppShared {
    const AppConfig* config = nullptr;
    const std::vector<Plan>* plans = nullptr;
    std::vector<std::unique_ptr<Mesh>>* meshes = nullptr;  // one per query
    const net::DpdkRuntime* dpdk = nullptr;  // the DPDK ports of dpdk sources (none: nullptr)
    KafkaRuntime* kafka = nullptr;           // kafka sources and sinks, checkpoints (none: nullptr)
    std::barrier<>* ready = nullptr;       // every shard set up (or failed), and the control thread
    std::atomic<bool> stop{false};         // a fatal error, or a second signal: leave now
    std::atomic<bool> drain{false};        // SIGINT/SIGTERM: stop ingest, finish what is queued
    std::atomic<uint32_t> running{0};      // shards still running (the writer drains until 0)
};

struct AppShardSetup {
    uint32_t id = 0;
    uint32_t shards = 1;
    int cpu = -1;  // -1: not pinned
    const Topology* topology = nullptr;
    // Per query: the writer port of its sink when that is stdout or a file
    // (nullptr: a network sink of this shard), and of its dead-letter sink.
    std::vector<OutputWriter::Port*> rows;
    std::vector<OutputWriter::Port*> dead_letters;
};

class AppShard {
public:
    AppShard(const AppShardSetup& setup, AppShared& shared);
    ~AppShard();

    // Thread body.
    void run();

    // After the thread ended.
    const std::string& error() const { return error_; }
    const ShardCounters& counters(uint32_t query) const;
    // Per configured source and sink: this shard's socket and network sink.
    const std::vector<SourceTotals>& source_totals() const { return source_totals_; }
    const std::vector<SinkTotals>& sink_totals() const { return sink_totals_; }
    // Live metrics, published by the shard every few milliseconds (any thread).
    const MetricsSlot& metrics() const { return *metrics_; }
    // Sockets and the ring mode, for the start-up plan (set before `ready`).
    const std::string& description() const { return description_; }

    // Everything behind the net/ types (defined in app_shard.cc).
    struct Io;
    struct Completion;
    struct NetSink;

private:
    void setup_on_thread();
    void loop();
    bool pump_completions();
    bool poll_dpdk();
    void dispatch(const Completion& c);
    void begin_drain();
    bool drained() const;
    void flush_sinks_at_exit();
    void collect_source_totals();
    void publish_metrics();
    void fail(std::string message);
    static bool drain_all(void* self);  // QueryPipeline wait hook

    AppShardSetup setup_;
    AppShared& shared_;
    uint32_t idle_rounds_ = 0;  // loop iterations without work, in a row
    std::unique_ptr<Io> io_;
    std::unique_ptr<KafkaShard> kafka_;  // with a KafkaRuntime: reading partitions, pausing at cuts
    std::vector<std::unique_ptr<QueryPipeline>> pipelines_;
    std::vector<int64_t> last_input_ms_;  // per query: when its source last gave it a record
    bool draining_ = false;
    int64_t drain_started_ms_ = 0;
    ShardCounters no_counters_;
    std::vector<SourceTotals> source_totals_;
    std::vector<SinkTotals> sink_totals_;
    std::unique_ptr<MetricsSlot> metrics_;
    LoopMetrics loop_metrics_;
    std::vector<QueryMetrics> query_metrics_;  // scratch of publish_metrics
    uint64_t next_publish_ns_ = 0;
    std::string description_;
    std::string error_;
};

}  // namespace sluice
