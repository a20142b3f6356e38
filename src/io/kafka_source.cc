// The Kafka source: a consumer in a group, its partitions forwarded to the
// shards' queues, and each shard's reader of its queue.
#include <cstdlib>
#include <cstring>

#include "kafka_common.h"

namespace sluice::io {

// A shard's queue and the slot bases of its source's topics (to number
// partitions by slot without a lookup by name per message).
class KafkaShardQueue {
public:
    rd_kafka_queue_t* q = nullptr;
    std::vector<std::string> topics;
    std::vector<uint32_t> bases;  // first slot of each topic
};

namespace {

constexpr std::size_t kPadding = 64;  // the decoder's kDecodePadding (sluice/decode.h)

uint32_t topic_index(const KafkaShardQueue& q, rd_kafka_topic_t* rkt, rd_kafka_topic_t*& last, uint32_t& last_index) {
    if (rkt == last) return last_index;
    const char* name = rd_kafka_topic_name(rkt);
    for (uint32_t t = 0; t < q.topics.size(); ++t) {
        if (q.topics[t] == name) {
            last = rkt;
            last_index = t;
            return t;
        }
    }
    return UINT32_MAX;
}

}  // namespace

// ---------------------------------------------------------------- reader

KafkaShardReader::KafkaShardReader(KafkaShardQueue* queue, std::size_t max_messages, std::size_t block_bytes)
    : queue_(queue), max_messages_(max_messages == 0 ? 1 : max_messages), block_(block_bytes) {
    taken_.resize(max_messages_);
    meta_.reserve(max_messages_);
    oversize_.reserve(max_messages_);
    // One allocation, for the largest block, with the decoder's padding after it.
    cap_ = block_;
    buf_ = static_cast<char*>(std::malloc(cap_ + kPadding));
    std::memset(buf_ + cap_, 0, kPadding);
}

KafkaShardReader::~KafkaShardReader() {
    for (std::size_t i = taken_pos_; i < taken_count_; ++i)
        rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(taken_[i]));
    std::free(buf_);
}

bool KafkaShardReader::poll(KafkaBatch& out) noexcept {
    out = KafkaBatch{};
    if (queue_ == nullptr || queue_->q == nullptr) return false;
    auto** msgs = reinterpret_cast<rd_kafka_message_t**>(taken_.data());
    if (taken_pos_ == taken_count_) {
        const ssize_t n = rd_kafka_consume_batch_queue(queue_->q, 0, msgs, max_messages_);
        if (n <= 0) return false;
        taken_count_ = static_cast<std::size_t>(n);
        taken_pos_ = 0;
    }
    meta_.clear();
    oversize_.clear();
    std::size_t at = 0;
    std::size_t i = taken_pos_;
    rd_kafka_topic_t* last = nullptr;
    uint32_t last_index = 0;
    for (; i < taken_count_; ++i) {
        rd_kafka_message_t* m = msgs[i];
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ++counters_.errors;
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) last_error_ = rd_kafka_message_errstr(m);
            continue;
        }
        const uint32_t t = topic_index(*queue_, m->rkt, last, last_index);
        if (t == UINT32_MAX) {
            ++counters_.errors;
            continue;
        }
        KafkaMessageMeta meta;
        meta.slot = queue_->bases[t] + static_cast<uint32_t>(m->partition);
        meta.partition = m->partition;
        meta.offset = m->offset;
        rd_kafka_timestamp_type_t tstype;
        meta.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
        if (m->len + 1 > block_) {
            // Longer than any record may be: rejected, but read.
            counters_.bytes += m->len;
            oversize_.push_back(meta);
            continue;
        }
        if (at + m->len + 1 > block_) break;  // the next block starts with it
        meta.start = static_cast<uint32_t>(at);
        if (m->len != 0) std::memcpy(buf_ + at, m->payload, m->len);
        at += m->len;
        counters_.bytes += m->len;
        if (m->len == 0 || buf_[at - 1] != '\n') buf_[at++] = '\n';
        meta_.push_back(meta);
    }
    // The messages handed out go back at once (their memory is librdkafka's).
    for (std::size_t k = taken_pos_; k < i; ++k) rd_kafka_message_destroy(msgs[k]);
    taken_pos_ = i;
    std::memset(buf_ + at, 0, kPadding);
    counters_.messages += meta_.size() + oversize_.size();
    counters_.copied_bytes += at;
    ++counters_.batches;
    out.text = buf_;
    out.len = at;
    out.messages = meta_.data();
    out.count = static_cast<uint32_t>(meta_.size());
    out.oversize = oversize_.data();
    out.oversize_count = static_cast<uint32_t>(oversize_.size());
    return true;
}

// ---------------------------------------------------------------- consumer

struct KafkaConsumer::Impl {
    KafkaConsumerSetup setup;
    rd_kafka_t* rk = nullptr;
    std::vector<std::unique_ptr<KafkaShardQueue>> queues;
    std::vector<int32_t> partitions;  // per topic
    std::vector<uint32_t> bases;
    uint32_t slots = 0;
    Listener* listener = nullptr;  // during poll()/close()
    KafkaClientCounters counters;
    bool closed = false;

    ~Impl() {
        for (auto& q : queues)
            if (q->q) rd_kafka_queue_destroy(q->q);
        if (rk) rd_kafka_destroy(rk);
        detail::forget_client(&counters);
    }

    int32_t topic_of(const char* name) const {
        for (uint32_t t = 0; t < setup.topics.size(); ++t)
            if (setup.topics[t] == name) return static_cast<int32_t>(t);
        return -1;
    }

    std::vector<KafkaPartition> convert(const rd_kafka_topic_partition_list_t* list) const {
        std::vector<KafkaPartition> out;
        for (int i = 0; i < list->cnt; ++i) {
            const int32_t t = topic_of(list->elems[i].topic);
            if (t < 0 || list->elems[i].partition < 0 || list->elems[i].partition >= partitions[static_cast<uint32_t>(t)])
                continue;
            KafkaPartition p;
            p.topic = static_cast<uint32_t>(t);
            p.partition = list->elems[i].partition;
            p.slot = bases[static_cast<uint32_t>(t)] + static_cast<uint32_t>(p.partition);
            p.offset = list->elems[i].offset;
            out.push_back(p);
        }
        return out;
    }

    rd_kafka_topic_partition_list_t* to_list(const std::vector<KafkaPartition>& parts) const {
        rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
        for (const KafkaPartition& p : parts)
            rd_kafka_topic_partition_list_add(list, setup.topics[p.topic].c_str(), p.partition)->offset = p.offset;
        return list;
    }

    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list,
                             void* opaque);
    // Results of asynchronous commits (served by poll()).
    static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*, void* opaque) {
        auto* self = static_cast<Impl*>(detail::owner_of(opaque));
        if (self == nullptr || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            self->counters.commits.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        self->counters.commit_failures.fetch_add(1, std::memory_order_relaxed);
        detail::log(1, "kafka source '%s': an offset commit failed: %s (the next checkpoint commits again)",
                    self->setup.source.c_str(), rd_kafka_err2str(err));
    }
};

void KafkaConsumer::Impl::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list,
                                       void* opaque) {
    // The opaque is the counters (shared with the other callbacks); they know their owner.
    auto* self = static_cast<Impl*>(detail::owner_of(opaque));
    if (self == nullptr) return;
    self->counters.rebalances.fetch_add(1, std::memory_order_relaxed);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    std::vector<KafkaPartition> parts = self->convert(list);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (self->listener) self->listener->on_assigned(parts);
        rd_kafka_topic_partition_list_t* with_offsets = self->to_list(parts);
        if (cooperative) {
            if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, with_offsets)) {
                detail::log(2, "kafka source '%s': incremental_assign: %s", self->setup.source.c_str(),
                            rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
        } else {
            const rd_kafka_resp_err_t e = rd_kafka_assign(rk, with_offsets);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
                detail::log(2, "kafka source '%s': assign: %s", self->setup.source.c_str(), rd_kafka_err2str(e));
        }
        rd_kafka_topic_partition_list_destroy(with_offsets);
        return;
    }
    const bool lost = rd_kafka_assignment_lost(rk) != 0;
    if (self->listener) self->listener->on_revoked(parts, lost);
    if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, list)) {
            detail::log(2, "kafka source '%s': incremental_unassign: %s", self->setup.source.c_str(),
                        rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(rk, nullptr);
    }
}

KafkaConsumer::KafkaConsumer() : impl_(std::make_unique<Impl>()) {}
KafkaConsumer::~KafkaConsumer() = default;

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::create(const KafkaConsumerSetup& setup) {
    std::unique_ptr<KafkaConsumer> c(new KafkaConsumer());
    Impl& im = *c->impl_;
    im.setup = setup;
    const std::string who = "kafka source '" + setup.source + "'";
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::string error;
    // sluice's choices first; the config's properties after them win.
    const KafkaProperties ours = {
        {"bootstrap.servers", setup.brokers},
        {"group.id", setup.group},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"isolation.level", "read_committed"},
        {"enable.partition.eof", "false"},
        {"statistics.interval.ms", "250"},  // also tells when the group is steady (commits wait for it)
        {"client.id", "sluice"},
    };
    for (const auto& [k, v] : ours)
        if (!detail::set_property(conf, k, v, error)) break;
    for (const auto& [k, v] : setup.properties) {
        if (!error.empty()) break;
        if (k == "enable.auto.commit" && v != "false") {
            error = "property 'enable.auto.commit': sluice commits offsets itself (with its checkpoints); it must stay false";
            break;
        }
        detail::set_property(conf, k, v, error);
    }
    if (!error.empty()) {
        rd_kafka_conf_destroy(conf);
        return Error{who + ": " + error};
    }
    detail::install_callbacks(conf, &im.counters, who, &im);
    rd_kafka_conf_set_rebalance_cb(conf, &Impl::on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, &Impl::on_commit);
    char err[512];
    im.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (im.rk == nullptr) return Error{who + ": " + err};
    // Rebalance events, errors and statistics all come to the consumer queue (poll()).
    rd_kafka_poll_set_consumer(im.rk);

    // Every topic's partitions (the topics must exist: nothing creates them here).
    for (const std::string& topic : setup.topics) {
        rd_kafka_topic_t* rkt = rd_kafka_topic_new(im.rk, topic.c_str(), nullptr);
        int32_t n = -1;
        std::string why = "no answer from the brokers";
        for (int attempt = 0; attempt < 5 && n < 0; ++attempt) {
            const rd_kafka_metadata_t* md = nullptr;
            const rd_kafka_resp_err_t e = rd_kafka_metadata(im.rk, 0, rkt, &md, 2000);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                why = rd_kafka_err2str(e);
                continue;
            }
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0)
                n = md->topics[0].partition_cnt;
            else if (md->topic_cnt == 1)
                why = rd_kafka_err2str(md->topics[0].err);
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
        if (n < 0) return Error{who + ": topic '" + topic + "': " + why};
        im.bases.push_back(im.slots);
        im.partitions.push_back(n);
        im.slots += static_cast<uint32_t>(n);
    }
    for (uint32_t s = 0; s < setup.shards; ++s) {
        auto q = std::make_unique<KafkaShardQueue>();
        q->q = rd_kafka_queue_new(im.rk);
        q->topics = setup.topics;
        q->bases = im.bases;
        im.queues.push_back(std::move(q));
    }
    return c;
}

KafkaShardQueue* KafkaConsumer::shard_queue(uint32_t shard) const {
    return shard < impl_->queues.size() ? impl_->queues[shard].get() : nullptr;
}
const std::vector<std::string>& KafkaConsumer::topics() const { return impl_->setup.topics; }
const std::vector<int32_t>& KafkaConsumer::partition_counts() const { return impl_->partitions; }
uint32_t KafkaConsumer::slots() const { return impl_->slots; }

KafkaPartition KafkaConsumer::partition_of_slot(uint32_t slot) const {
    KafkaPartition p;
    for (uint32_t t = 0; t < impl_->bases.size(); ++t) {
        if (slot >= impl_->bases[t] && slot < impl_->bases[t] + static_cast<uint32_t>(impl_->partitions[t])) {
            p.topic = t;
            p.partition = static_cast<int32_t>(slot - impl_->bases[t]);
            p.slot = slot;
        }
    }
    return p;
}

Result<bool> KafkaConsumer::subscribe() {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(impl_->setup.topics.size()));
    for (const std::string& t : impl_->setup.topics) rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t e = rd_kafka_subscribe(impl_->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return Error{"kafka source '" + impl_->setup.source + "': subscribe: " + rd_kafka_err2str(e)};
    return true;
}

void KafkaConsumer::poll(int timeout_ms, Listener& listener) {
    impl_->listener = &listener;
    // Messages never come here (every partition is forwarded to a shard
    // before it is assigned); anything that does is an event or an error.
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, timeout_ms);
    if (m != nullptr) {
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            impl_->counters.errors.fetch_add(1, std::memory_order_relaxed);
            detail::log(1, "kafka source '%s': %s", impl_->setup.source.c_str(), rd_kafka_message_errstr(m));
        } else {
            detail::log(2, "kafka source '%s': a message of %s [%d] at offset %lld reached the consumer queue",
                        impl_->setup.source.c_str(), rd_kafka_topic_name(m->rkt), m->partition,
                        static_cast<long long>(m->offset));
        }
        rd_kafka_message_destroy(m);
    }
    impl_->listener = nullptr;
}

Result<bool> KafkaConsumer::attach(const KafkaPartition& p, uint32_t shard) {
    if (shard >= impl_->queues.size()) return Error{"no shard " + std::to_string(shard)};
    rd_kafka_queue_t* pq = rd_kafka_queue_get_partition(impl_->rk, impl_->setup.topics[p.topic].c_str(), p.partition);
    if (pq == nullptr)
        return Error{"kafka source '" + impl_->setup.source + "': no queue for " + impl_->setup.topics[p.topic] + " [" +
                     std::to_string(p.partition) + "]"};
    rd_kafka_queue_forward(pq, impl_->queues[shard]->q);
    rd_kafka_queue_destroy(pq);
    return true;
}

void KafkaConsumer::detach(const KafkaPartition& p) {
    rd_kafka_queue_t* pq = rd_kafka_queue_get_partition(impl_->rk, impl_->setup.topics[p.topic].c_str(), p.partition);
    if (pq == nullptr) return;
    rd_kafka_queue_forward(pq, nullptr);
    rd_kafka_queue_destroy(pq);
}

Result<bool> KafkaConsumer::commit(const std::vector<KafkaPartition>& offsets, bool async) {
    if (offsets.empty()) return true;
    rd_kafka_topic_partition_list_t* list = impl_->to_list(offsets);
    const rd_kafka_resp_err_t e = rd_kafka_commit(impl_->rk, list, async ? 1 : 0);
    if (async) {
        rd_kafka_topic_partition_list_destroy(list);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            impl_->counters.commit_failures.fetch_add(1, std::memory_order_relaxed);
            return Error{"kafka source '" + impl_->setup.source + "': commit: " + rd_kafka_err2str(e)};
        }
        return true;  // counted by on_commit
    }
    rd_kafka_topic_partition_list_destroy(list);
    // Counted by on_commit (librdkafka calls it for synchronous commits too).
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return Error{"kafka source '" + impl_->setup.source + "': commit: " + rd_kafka_err2str(e)};
    return true;
}

Result<std::vector<int64_t>> KafkaConsumer::committed(const std::vector<KafkaPartition>& partitions, int timeout_ms) {
    std::vector<int64_t> out;
    if (partitions.empty()) return out;
    rd_kafka_topic_partition_list_t* list = impl_->to_list(partitions);
    for (int i = 0; i < list->cnt; ++i) list->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    const rd_kafka_resp_err_t e = rd_kafka_committed(impl_->rk, list, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(list);
        return Error{"kafka source '" + impl_->setup.source + "': committed offsets: " + rd_kafka_err2str(e)};
    }
    for (int i = 0; i < list->cnt; ++i) out.push_back(list->elems[i].err ? RD_KAFKA_OFFSET_INVALID : list->elems[i].offset);
    rd_kafka_topic_partition_list_destroy(list);
    return out;
}

void KafkaConsumer::close(Listener& listener) {
    if (impl_->closed) return;
    impl_->closed = true;
    impl_->listener = &listener;
    rd_kafka_consumer_close(impl_->rk);
    impl_->listener = nullptr;
}

void* KafkaConsumer::group_metadata() const { return rd_kafka_consumer_group_metadata(impl_->rk); }

void KafkaConsumer::free_group_metadata(void* md) {
    if (md) rd_kafka_consumer_group_metadata_destroy(static_cast<rd_kafka_consumer_group_metadata_t*>(md));
}

std::string KafkaConsumer::member_id() const {
    char* id = rd_kafka_memberid(impl_->rk);
    std::string s = id ? id : "";
    if (id) rd_kafka_mem_free(impl_->rk, id);
    return s;
}

KafkaClientCounters& KafkaConsumer::counters() { return impl_->counters; }

bool KafkaConsumer::group_steady(int64_t min_age_ms) {
    return impl_->counters.group_steady.load(std::memory_order_relaxed) &&
           impl_->counters.group_steady_since.load(std::memory_order_relaxed) >= min_age_ms;
}

}  // namespace sluice::io
