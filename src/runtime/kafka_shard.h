// A shard's side of Kafka and checkpoints (kafka_runtime.h has the whole
// protocol): it reads the partitions it owns from its queue into the queries
// the kafka source feeds, pauses at a cut when the coordinator asks (quiesce
// every query, snapshot, record offsets, cut markers into the sink ports),
// and applies what the coordinator decided before going on (partitions
// opened and closed, state reloaded and restored).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "io/kafka.h"
#include "kafka_runtime.h"
#include "query_pipeline.h"

namespace sluice {

class KafkaShard {
public:
    KafkaShard(KafkaRuntime& runtime, uint32_t shard, std::vector<std::unique_ptr<QueryPipeline>>& pipelines,
               std::vector<uint32_t> feeds, std::size_t max_record_bytes);
    ~KafkaShard();

    // The largest block poll() hands a pipeline.
    static std::size_t block_bytes(std::size_t max_record_bytes) noexcept;

    // One batch from the shard's queue into the queries the source feeds
    // (nothing while paused). True when anything came.
    bool poll(int64_t now_ms, std::vector<int64_t>& last_input_ms);
    // The pause protocol; once per loop iteration. True when it did something.
    bool service();
    // Input stopped at a cut: the loop must not send watermarks or idle markers.
    bool paused() const noexcept { return state_ != State::Running; }
    // The shard may begin its drain (the final cut is behind it).
    bool may_drain() const noexcept { return state_ == State::Running && runtime_.drain_allowed(); }
    const io::KafkaReaderCounters& counters() const noexcept;

private:
    enum class State : uint8_t { Running, Quiescing, Paused };
    void pause_done();
    void apply();
    void feed(const io::KafkaBatch& b, uint32_t from, uint32_t to, int64_t now_ms);

    KafkaRuntime& runtime_;
    const uint32_t shard_;
    std::vector<std::unique_ptr<QueryPipeline>>& pipelines_;
    const std::vector<uint32_t> feeds_;
    std::unique_ptr<io::KafkaShardReader> reader_;
    io::KafkaReaderCounters none_;
    std::vector<uint8_t> owned_;        // by slot
    std::vector<int64_t> next_offset_;  // by slot: after the last message read (-1: none since assigned)
    State state_ = State::Running;
    uint64_t epoch_ = 0;
};

}  // namespace sluice
