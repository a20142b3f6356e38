// Kafka sources and sinks (librdkafka), behind plain C++ types: nothing here
// names a librdkafka type, so the runtime compiles the same with and without
// Kafka (kafka_absent.cc answers every call with "built without Kafka").
//
// Source: one consumer per kafka source and appliance, in a consumer group
// (cooperative-sticky by default). Every assigned partition is owned by one
// shard: its fetch queue is forwarded to that shard's queue (before the
// partition is assigned), and the shard takes batches off its queue without
// blocking (KafkaShardReader::poll), copies the payloads into one padded
// block (the decoder needs kDecodePadding readable bytes after its input)
// and destroys the messages in one go. Rebalances are served on the thread
// that calls KafkaConsumer::poll (the coordinator), through a Listener.
//
// Sink: one producer per kafka sink and appliance, on a thread of its own.
// Shards hand it row buffers through per-(shard, query) SPSC rings (ports),
// as they hand rows to the file writer; the thread cuts them into rows,
// keys each row by its GROUP BY columns (compound keys joined with '|') and
// produces it (murmur2_random partitioner, as Java clients). A cut marker in
// every port (KafkaSink::cut) ends a checkpoint's rows: at-least-once waits
// until they are acknowledged, exactly-once commits them in one transaction
// together with the source offsets of the checkpoint.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/result.h"

namespace sluice::io {

bool kafka_built_in() noexcept;

// Where io's messages go (the appliance's log); level 0 info, 1 warning, 2 error.
using KafkaLogFn = void (*)(int level, const char* text);
void set_kafka_log(KafkaLogFn fn) noexcept;

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// The partition librdkafka's murmur2_random partitioner (Java's default)
// gives a key among `partitions`; an empty key is hashed like any other.
int32_t kafka_partition_for_key(std::string_view key, int32_t partitions) noexcept;

// ---------------------------------------------------------------- source

// A partition of one of the source's topics. `slot` numbers the partitions
// of all the source's topics densely (topic after topic), for per-partition
// state (watermark lanes, offsets) kept in flat arrays.
struct KafkaPartition {
    uint32_t topic = 0;  // index into the source's topics
    int32_t partition = 0;
    uint32_t slot = 0;
    int64_t offset = -1001;  // next offset to read; -1001: the committed one (or auto.offset.reset)
};

// One message of a batch: where its text starts and where it came from.
struct KafkaMessageMeta {
    uint32_t start = 0;  // offset of its first byte in KafkaBatch::text
    uint32_t slot = 0;
    int32_t partition = 0;
    int64_t offset = 0;
    int64_t timestamp_ms = 0;  // the message's time (CreateTime or LogAppendTime); -1: none
};

// What one poll took: the payloads one after another, each ending with
// '\n', followed by kDecodePadding readable bytes (at most block_bytes in
// all), and the messages too long to fit a block (rejected; they are read,
// so their offsets count).
struct KafkaBatch {
    const char* text = nullptr;
    std::size_t len = 0;
    const KafkaMessageMeta* messages = nullptr;
    uint32_t count = 0;
    const KafkaMessageMeta* oversize = nullptr;
    uint32_t oversize_count = 0;
};

// A shard's counters for one kafka source (written by the shard only).
struct KafkaReaderCounters {
    uint64_t messages = 0;
    uint64_t bytes = 0;         // payload bytes
    uint64_t copied_bytes = 0;  // bytes copied into the padded block (every payload, plus a '\n' when missing)
    uint64_t batches = 0;
    uint64_t errors = 0;        // error events found in the partition queues
};

class KafkaShardQueue;  // the queue a shard's partitions are forwarded to (owned by the consumer)

// A shard's reader of one kafka source: created and used on the shard's thread.
class KafkaShardReader {
public:
    // block_bytes: the largest block poll() hands out (what the decoder is sized for).
    KafkaShardReader(KafkaShardQueue* queue, std::size_t max_messages, std::size_t block_bytes);
    ~KafkaShardReader();
    KafkaShardReader(const KafkaShardReader&) = delete;
    KafkaShardReader& operator=(const KafkaShardReader&) = delete;

    // Takes what the queue holds now (up to max_messages, never waiting;
    // messages taken earlier that did not fit the last block come first)
    // into `out` (valid until the next call). False when there was nothing.
    bool poll(KafkaBatch& out) noexcept;
    const KafkaReaderCounters& counters() const noexcept { return counters_; }
    // The last error event's text (set on the shard thread; for the log).
    const std::string& last_error() const noexcept { return last_error_; }

private:
    KafkaShardQueue* queue_;
    std::size_t max_messages_;
    std::size_t block_;
    std::vector<void*> taken_;  // rd_kafka_message_t*
    std::size_t taken_count_ = 0;
    std::size_t taken_pos_ = 0;  // the first not handed out yet
    std::vector<KafkaMessageMeta> meta_;
    std::vector<KafkaMessageMeta> oversize_;
    char* buf_ = nullptr;
    std::size_t cap_ = 0;
    KafkaReaderCounters counters_;
    std::string last_error_;
};

struct KafkaConsumerSetup {
    std::string source;  // config name, for messages
    std::string brokers;
    std::string group;
    std::vector<std::string> topics;
    KafkaProperties properties;  // passed to librdkafka after sluice's own (they win)
    uint32_t shards = 1;
};

// Appliance-wide counters of a client (librdkafka's statistics and errors),
// updated on librdkafka's threads, read by anyone.
struct KafkaClientCounters {
    std::atomic<uint64_t> errors{0};            // error events (transport, all brokers down, ...)
    std::atomic<uint64_t> request_retries{0};   // requests retried (from the statistics: sum over brokers)
    std::atomic<uint64_t> request_timeouts{0};  // requests timed out (statistics)
    std::atomic<uint64_t> transport_errors{0};  // connection errors (statistics)
    std::atomic<uint64_t> brokers_up{0};        // brokers in state UP at the last statistics
    std::atomic<uint64_t> rebalances{0};
    std::atomic<bool> group_steady{false};      // consumer: the group was steady (no rebalance) at the last statistics
    std::atomic<int64_t> group_steady_since{0}; // consumer: since when (ms, from rebalance_age)
    std::atomic<uint64_t> commits{0};
    std::atomic<uint64_t> commit_failures{0};
    std::atomic<uint64_t> delivered{0};         // producer: messages acknowledged
    std::atomic<uint64_t> delivery_failures{0}; // producer: messages that failed for good
    std::atomic<uint64_t> transactions{0};      // producer: transactions committed
    std::atomic<uint64_t> transaction_aborts{0};
    std::atomic<uint64_t> transaction_retries{0};
};

class KafkaConsumer {
public:
    // Rebalance events, called on the thread inside poll(). on_assigned may
    // set each partition's start offset; it must attach() every partition
    // it keeps to a shard. on_revoked must detach() them.
    class Listener {
    public:
        virtual void on_assigned(std::vector<KafkaPartition>& partitions) = 0;
        virtual void on_revoked(const std::vector<KafkaPartition>& partitions, bool lost) = 0;

    protected:
        ~Listener() = default;
    };

    // Creates the consumer (not subscribed yet) and one queue per shard;
    // learns every topic's partition count (the topics must exist).
    static Result<std::unique_ptr<KafkaConsumer>> create(const KafkaConsumerSetup& setup);
    ~KafkaConsumer();

    KafkaShardQueue* shard_queue(uint32_t shard) const;
    const std::vector<std::string>& topics() const;
    // Partitions of each topic, and their total (the number of slots).
    const std::vector<int32_t>& partition_counts() const;
    uint32_t slots() const;
    KafkaPartition partition_of_slot(uint32_t slot) const;

    Result<bool> subscribe();
    // Serves rebalance callbacks and errors for up to timeout_ms.
    void poll(int timeout_ms, Listener& listener);
    // Forwards the partition's messages to a shard's queue / back to none.
    Result<bool> attach(const KafkaPartition& p, uint32_t shard);
    void detach(const KafkaPartition& p);
    // Synchronous commit of the given next offsets.
    // Commit of the given next offsets; async: the result is counted when it
    // comes (commits, commit_failures) and a failure is logged.
    Result<bool> commit(const std::vector<KafkaPartition>& offsets, bool async = false);
    // The group's committed next offsets of these partitions (-1001: none).
    Result<std::vector<int64_t>> committed(const std::vector<KafkaPartition>& partitions, int timeout_ms);
    // Leaves the group (revokes everything through the listener) and stops fetching.
    void close(Listener& listener);
    // The consumer group metadata of the current generation (exactly-once
    // producers send offsets with it); opaque, freed with free_group_metadata.
    void* group_metadata() const;
    static void free_group_metadata(void* md);
    std::string member_id() const;
    // The group was steady at the last statistics (every 250 ms) and had
    // been for at least min_age_ms: an offset commit now is unlikely to meet
    // a rebalance (librdkafka 2.0 takes a commit refused for its generation
    // as the loss of the whole assignment).
    bool group_steady(int64_t min_age_ms);

    KafkaClientCounters& counters();

private:
    KafkaConsumer();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------- sink

struct KafkaSinkPortSetup {
    std::string query;                 // for messages
    std::vector<uint32_t> key_columns; // output columns that form the key, in GROUP BY order (empty: no key)
};

struct KafkaSinkSetup {
    std::string sink;  // config name
    std::string brokers;
    std::string topic;
    uint32_t linger_ms = 5;
    bool exactly_once = false;
    std::string transactional_id;  // exactly_once
    KafkaProperties properties;
    std::vector<KafkaSinkPortSetup> ports;  // one per producer (shard, query)
    uint32_t ring_bytes = 8u << 20;
};

// What an epoch needs to be committed with (exactly-once): the source's
// offsets and the consumer group's metadata.
struct KafkaTxnOffsets {
    std::vector<std::string> topics;
    std::vector<KafkaPartition> offsets;
    void* group_metadata = nullptr;  // KafkaConsumer::group_metadata(); the sink frees it
};

class KafkaSink {
public:
    static Result<std::unique_ptr<KafkaSink>> create(const KafkaSinkSetup& setup);
    ~KafkaSink();

    // A producer's port (stable address): an OutBuffer sink context.
    void* port(uint32_t index);
    // OutBuffer sink: copies the rows into the port's ring (waits while it is full).
    static void sink(void* port, const char* data, std::size_t n);
    // Ends the port's rows of checkpoint `epoch` (shard thread, after its rows).
    static void cut(void* port, uint64_t epoch);

    // Starts the producer thread (exactly-once: after init_transactions).
    Result<bool> start();
    // Coordinator: once every port's rows up to the cut of `epoch` were
    // produced, waits until they are acknowledged (at-least-once), or commits
    // them with `offsets` in the epoch's transaction (exactly-once). Fails
    // when delivery failed or the transaction could not be committed; then
    // the rows and the offsets of the epoch must be taken as not written.
    Result<bool> complete_epoch(uint64_t epoch, KafkaTxnOffsets offsets, int timeout_ms);
    // The same without waiting: ask (epochs in order), then ask for the
    // answer: 0 not yet, 1 done, -1 failed (why says why). An answer is
    // given once; earlier epochs' answers go with it.
    void request_epoch(uint64_t epoch, KafkaTxnOffsets offsets);
    int epoch_result(uint64_t epoch, std::string* why);
    // Produces what the ports hold, waits for delivery (exactly-once: the
    // open transaction is aborted, not committed), stops the thread.
    void stop(int timeout_ms);

    bool exactly_once() const;
    bool failed() const;          // a fatal producer error: the appliance must stop
    std::string error() const;
    uint64_t rows() const;        // produced
    KafkaClientCounters& counters();

private:
    KafkaSink();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------- row keys

// The text of the key columns of one row as sluice writes rows (a flat JSON
// object): strings unescaped, other values as written, null as nothing,
// joined with '|'. False when the row is not a flat object of that shape.
bool row_key_text(std::string_view row, const std::vector<uint32_t>& key_columns, std::string& out);

}  // namespace sluice::io
