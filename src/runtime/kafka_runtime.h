// The Kafka side of `sluice run`: the consumer of the kafka source, the
// producers of kafka sinks, and the coordinator thread that serves the
// consumer group's rebalances, takes checkpoints and commits offsets.
//
// Every checkpoint (and every offset commit, and every rebalance) pauses the
// shards at a cut: each shard stops reading its partitions, the shards
// exchange barrier rounds until nothing is in flight between them
// (QueryPipeline::quiesce_step), then each snapshots its queries' state and
// records the next offset of every partition it reads, flushes its rows and
// puts a cut marker into every kafka sink port, and waits. The coordinator
// writes the checkpoint file (state + offsets; checkpoint.h), lets the shards
// go on, and then makes the cut durable: at-least-once waits until every row
// before the cut is acknowledged, then commits the offsets; exactly-once
// commits the rows before the cut and the offsets in one transaction.
//
// Partitions: an assigned partition is owned by shard slot % shards (its fetch
// queue is forwarded to that shard's queue). Its state comes from the
// checkpoint whose offset for it equals the group's committed offset (written
// by any member; keyed items are attributed to partitions by their key, as the
// kafka sink partitions rows). A revoked partition is checkpointed and
// committed first; then every shard drops its state and reloads the
// partitions it keeps from that checkpoint.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint.h"
#include "config.h"
#include "io/kafka.h"
#include "sluice/base.h"
#include "sluice/plan.h"
#include "sluice/result.h"

namespace sluice {

// What a shard and the coordinator exchange at a pause. Fields above the
// atomics are written by one side and read by the other only after the
// matching release/acquire (paused, or the runtime's released epoch).
struct KafkaShardSlot {
    struct SlotState {
        uint32_t slot = 0;
        int64_t next_offset = -1;         // -1: nothing read since it was assigned
        std::vector<int64_t> lane_max;    // per query
    };
    struct Open {
        uint32_t slot = 0;
        std::vector<int64_t> lane_max;    // per query (kWatermarkMin: none known)
    };
    // Restores a shard applies at release: the items of `checkpoint` whose key
    // maps to one of `partitions` (all: every keyed item).
    struct Restore {
        const Checkpoint* checkpoint = nullptr;
        std::vector<int32_t> partitions;
        bool all = false;
        bool keyless = false;           // global aggregates' partials too (this appliance's own checkpoint)
        bool closed_watermark = false;  // windows up to its closing watermark count as closed
    };

    // Shard -> coordinator (published by `paused`).
    std::vector<std::vector<uint8_t>> items;  // per query
    std::vector<int64_t> closed_watermark;    // per query
    std::vector<SlotState> slots;             // every slot it owns
    // Coordinator -> shard (published by the runtime's `released`).
    std::vector<Open> open;
    std::vector<uint32_t> close;
    bool reload = false;
    std::vector<Restore> restores;
    std::string restore_error;                // shard -> coordinator, with `resumed`
    uint64_t restored_items = 0;              // shard -> coordinator, with `resumed`

    alignas(kCacheLine) std::atomic<uint64_t> paused{0};
    alignas(kCacheLine) std::atomic<uint64_t> resumed{0};
};

class KafkaRuntime {
public:
    // Opens the consumer (not subscribed yet) and the sinks' producers (not
    // started). Fails when a broker cannot be reached or a topic is missing.
    static Result<std::unique_ptr<KafkaRuntime>> create(const AppConfig& config, const std::vector<Plan>& plans,
                                                        uint32_t shards);
    ~KafkaRuntime();

    // ---- set-up, on the shards' threads
    bool has_source() const noexcept { return source_ >= 0; }
    uint32_t source_index() const noexcept { return static_cast<uint32_t>(source_); }
    io::KafkaShardQueue* shard_queue(uint32_t shard) const;
    uint32_t slots() const;
    // The kafka sink port a shard's query writes rows (dead letters) to; nullptr: not a kafka sink.
    void* row_port(uint32_t shard, uint32_t query) const;
    void* dead_letter_port(uint32_t shard, uint32_t query) const;
    // Every kafka sink port of the shard (cut markers go into each).
    const std::vector<void*>& ports_of(uint32_t shard) const;
    KafkaShardSlot& shard_slot(uint32_t shard) { return *slots_[shard]; }
    const std::string& query_name(uint32_t query) const { return query_names_[query]; }

    // ---- the protocol, read by the shards every loop iteration
    uint64_t requested() const noexcept { return request_.load(std::memory_order_acquire); }
    bool request_snapshot() const noexcept { return request_snapshot_.load(std::memory_order_relaxed); }
    bool request_cut() const noexcept { return request_cut_.load(std::memory_order_relaxed); }
    uint64_t released() const noexcept { return release_.load(std::memory_order_acquire); }
    // The shards may begin their drain (the final checkpoint is taken).
    bool drain_allowed() const noexcept { return drain_ok_.load(std::memory_order_acquire); }

    // ---- control thread
    // Starts the producers and the coordinator (which subscribes). `drain`,
    // `stop`, `running`: the appliance's flags.
    Result<bool> start(std::atomic<bool>* drain, std::atomic<bool>* stop, std::atomic<uint32_t>* running);
    // After every shard ended: the consumer leaves its group, producers
    // deliver what they hold (exactly-once: the open transaction is aborted).
    void finish();
    // Non-empty after a fatal error (a sink failed, a checkpoint could not be written or committed).
    std::string error() const;
    // Prometheus text of the Kafka and checkpoint series.
    std::string metrics_text() const;
    // The --stats JSON fields (after "kafka":).
    std::string stats_json() const;

private:
    KafkaRuntime();
    class Coordinator;
    std::unique_ptr<Coordinator> co_;

    int32_t source_ = -1;
    std::vector<std::unique_ptr<KafkaShardSlot>> slots_;
    std::vector<std::vector<void*>> row_ports_;          // [shard][query]
    std::vector<std::vector<void*>> dead_letter_ports_;  // [shard][query]
    std::vector<std::vector<void*>> shard_ports_;        // [shard]
    std::vector<std::string> query_names_;
    std::atomic<uint64_t> request_{0};
    std::atomic<bool> request_snapshot_{false};
    std::atomic<bool> request_cut_{false};
    std::atomic<uint64_t> release_{0};
    std::atomic<bool> drain_ok_{false};
};

}  // namespace sluice
