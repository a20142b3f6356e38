// A sluice built without librdkafka: the Kafka types exist, every attempt to
// make one says so (the config loader refuses kafka sources and sinks first).
#include <cstdio>

#include "kafka.h"

namespace sluice::io {

namespace {
const char* const kAbsent = "this sluice was built without Kafka (meson -Dkafka=enabled)";
}

bool kafka_built_in() noexcept { return false; }
void set_kafka_log(KafkaLogFn) noexcept {}
int32_t kafka_partition_for_key(std::string_view, int32_t) noexcept { return 0; }

class KafkaShardQueue {};

KafkaShardReader::KafkaShardReader(KafkaShardQueue* queue, std::size_t max_messages, std::size_t block_bytes)
    : queue_(queue), max_messages_(max_messages), block_(block_bytes) {}
KafkaShardReader::~KafkaShardReader() = default;
bool KafkaShardReader::poll(KafkaBatch& out) noexcept {
    out = KafkaBatch{};
    return false;
}

struct KafkaConsumer::Impl {
    KafkaClientCounters counters;
    std::vector<std::string> topics;
    std::vector<int32_t> partitions;
};
KafkaConsumer::KafkaConsumer() : impl_(std::make_unique<Impl>()) {}
KafkaConsumer::~KafkaConsumer() = default;
Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::create(const KafkaConsumerSetup&) { return Error{kAbsent}; }
KafkaShardQueue* KafkaConsumer::shard_queue(uint32_t) const { return nullptr; }
const std::vector<std::string>& KafkaConsumer::topics() const { return impl_->topics; }
const std::vector<int32_t>& KafkaConsumer::partition_counts() const { return impl_->partitions; }
uint32_t KafkaConsumer::slots() const { return 0; }
KafkaPartition KafkaConsumer::partition_of_slot(uint32_t) const { return {}; }
Result<bool> KafkaConsumer::subscribe() { return Error{kAbsent}; }
void KafkaConsumer::poll(int, Listener&) {}
Result<bool> KafkaConsumer::attach(const KafkaPartition&, uint32_t) { return Error{kAbsent}; }
void KafkaConsumer::detach(const KafkaPartition&) {}
Result<bool> KafkaConsumer::commit(const std::vector<KafkaPartition>&, bool) { return Error{kAbsent}; }
Result<std::vector<int64_t>> KafkaConsumer::committed(const std::vector<KafkaPartition>&, int) { return Error{kAbsent}; }
void KafkaConsumer::close(Listener&) {}
void* KafkaConsumer::group_metadata() const { return nullptr; }
void KafkaConsumer::free_group_metadata(void*) {}
std::string KafkaConsumer::member_id() const { return {}; }
bool KafkaConsumer::group_steady(int64_t) { return false; }
KafkaClientCounters& KafkaConsumer::counters() { return impl_->counters; }

struct KafkaSink::Impl {
    KafkaClientCounters counters;
};
KafkaSink::KafkaSink() : impl_(std::make_unique<Impl>()) {}
KafkaSink::~KafkaSink() = default;
Result<std::unique_ptr<KafkaSink>> KafkaSink::create(const KafkaSinkSetup&) { return Error{kAbsent}; }
void* KafkaSink::port(uint32_t) { return nullptr; }
void KafkaSink::sink(void*, const char*, std::size_t) {}
void KafkaSink::cut(void*, uint64_t) {}
Result<bool> KafkaSink::start() { return Error{kAbsent}; }
Result<bool> KafkaSink::complete_epoch(uint64_t, KafkaTxnOffsets, int) { return Error{kAbsent}; }
void KafkaSink::request_epoch(uint64_t, KafkaTxnOffsets) {}
int KafkaSink::epoch_result(uint64_t, std::string*) { return -1; }
void KafkaSink::stop(int) {}
bool KafkaSink::exactly_once() const { return false; }
bool KafkaSink::failed() const { return false; }
std::string KafkaSink::error() const { return kAbsent; }
uint64_t KafkaSink::rows() const { return 0; }
KafkaClientCounters& KafkaSink::counters() { return impl_->counters; }

}  // namespace sluice::io
