#include "kafka_shard.h"

#include <algorithm>

#include "sluice/base.h"
#include "sluice/decode.h"
#include "sluice/exec.h"

namespace sluice {

namespace {

constexpr std::size_t kMaxMessagesPerPoll = 1024;

// Keyed items of a restore: those whose key the kafka sink would send to one
// of the partitions (murmur2_random over the key text, as rows are keyed).
struct PartitionFilter {
    const std::vector<int32_t>* partitions;
    int32_t count;
    uint32_t keys;
    std::string text;

    static bool accept(void* ctx, const uint8_t* key, uint32_t len) {
        auto* f = static_cast<PartitionFilter*>(ctx);
        f->text.clear();
        append_key_text(key, len, f->keys, f->text);
        const int32_t p = io::kafka_partition_for_key(f->text, f->count);
        return std::find(f->partitions->begin(), f->partitions->end(), p) != f->partitions->end();
    }
};

}  // namespace

std::size_t KafkaShard::block_bytes(std::size_t max_record_bytes) noexcept {
    return std::max<std::size_t>(max_record_bytes + 1, 256 * 1024);
}

KafkaShard::KafkaShard(KafkaRuntime& runtime, uint32_t shard, std::vector<std::unique_ptr<QueryPipeline>>& pipelines,
                       std::vector<uint32_t> feeds, std::size_t max_record_bytes)
    : runtime_(runtime), shard_(shard), pipelines_(pipelines), feeds_(std::move(feeds)) {
    if (runtime_.has_source()) {
        reader_ = std::make_unique<io::KafkaShardReader>(runtime_.shard_queue(shard_), kMaxMessagesPerPoll,
                                                         block_bytes(max_record_bytes));
        owned_.assign(runtime_.slots(), 0);
        next_offset_.assign(runtime_.slots(), -1);
    }
}

KafkaShard::~KafkaShard() = default;

const io::KafkaReaderCounters& KafkaShard::counters() const noexcept { return reader_ ? reader_->counters() : none_; }

void KafkaShard::feed(const io::KafkaBatch& b, uint32_t from, uint32_t to, int64_t now_ms) {
    if (from >= to) return;
    const char* start = b.text + b.messages[from].start;
    const std::size_t len = (to < b.count ? b.messages[to].start : b.len) - b.messages[from].start;
    // Messages keep their offsets relative to the block handed out.
    thread_local std::vector<io::KafkaMessageMeta> shifted;
    const io::KafkaMessageMeta* meta = b.messages + from;
    if (from != 0) {
        shifted.assign(b.messages + from, b.messages + to);
        for (io::KafkaMessageMeta& m : shifted) m.start -= b.messages[from].start;
        meta = shifted.data();
    }
    for (const uint32_t q : feeds_) pipelines_[q]->on_kafka_block(start, len, meta, to - from, now_ms);
}

bool KafkaShard::poll(int64_t now_ms, std::vector<int64_t>& last_input_ms) {
    if (!reader_ || state_ != State::Running) return false;
    io::KafkaBatch b;
    if (!reader_->poll(b)) return false;
    // Runs of messages from partitions this shard owns (a revoked partition's
    // messages may still be queued: they are not read here).
    uint32_t run = 0;
    for (uint32_t m = 0; m < b.count; ++m) {
        const io::KafkaMessageMeta& msg = b.messages[m];
        if (msg.slot < owned_.size() && owned_[msg.slot]) {
            next_offset_[msg.slot] = std::max(next_offset_[msg.slot], msg.offset + 1);
            continue;
        }
        feed(b, run, m, now_ms);
        run = m + 1;
    }
    feed(b, run, b.count, now_ms);
    // Messages too long for a record: rejected (and read: their offsets count).
    for (uint32_t m = 0; m < b.oversize_count; ++m) {
        const io::KafkaMessageMeta& msg = b.oversize[m];
        if (msg.slot >= owned_.size() || !owned_[msg.slot]) continue;
        next_offset_[msg.slot] = std::max(next_offset_[msg.slot], msg.offset + 1);
        for (const uint32_t q : feeds_) pipelines_[q]->on_rejected_line();
    }
    for (const uint32_t q : feeds_) last_input_ms[q] = now_ms;
    return true;
}

bool KafkaShard::service() {
    switch (state_) {
        case State::Running: {
            const uint64_t e = runtime_.requested();
            if (e <= epoch_) return false;
            epoch_ = e;
            // Input stops here; the watermark of what was read goes out ahead of the barriers.
            for (auto& p : pipelines_) {
                p->end_chunk();
                p->begin_quiesce(e);
            }
            state_ = State::Quiescing;
            return true;
        }
        case State::Quiescing: {
            bool all = true;
            for (auto& p : pipelines_) all &= p->quiesce_step();
            if (all) pause_done();
            return true;
        }
        case State::Paused:
            if (runtime_.released() < epoch_) return false;
            apply();
            state_ = State::Running;
            runtime_.shard_slot(shard_).resumed.store(epoch_, std::memory_order_release);
            return true;
    }
    return false;
}

void KafkaShard::pause_done() {
    KafkaShardSlot& slot = runtime_.shard_slot(shard_);
    const bool snapshot = runtime_.request_snapshot();
    for (uint32_t q = 0; q < pipelines_.size(); ++q) {
        slot.items[q].clear();
        if (snapshot) pipelines_[q]->snapshot(slot.items[q]);
        slot.closed_watermark[q] = pipelines_[q]->closed_watermark();
    }
    slot.slots.clear();
    for (uint32_t s = 0; s < owned_.size(); ++s) {
        if (!owned_[s]) continue;
        KafkaShardSlot::SlotState st;
        st.slot = s;
        st.next_offset = next_offset_[s];
        for (auto& p : pipelines_) st.lane_max.push_back(p->lane_max_event(s));
        slot.slots.push_back(std::move(st));
    }
    if (runtime_.request_cut()) {
        // Every row of the records before the cut goes ahead of its marker.
        for (auto& p : pipelines_) p->flush_output();
        for (void* port : runtime_.ports_of(shard_)) io::KafkaSink::cut(port, epoch_);
    }
    state_ = State::Paused;
    slot.paused.store(epoch_, std::memory_order_release);
}

void KafkaShard::apply() {
    KafkaShardSlot& slot = runtime_.shard_slot(shard_);
    for (const uint32_t s : slot.close) {
        if (s >= owned_.size()) continue;
        owned_[s] = 0;
        next_offset_[s] = -1;
        for (auto& p : pipelines_) p->close_lane(s);
    }
    if (slot.reload)
        for (auto& p : pipelines_) p->reload_state();
    const int64_t now = wall_ms();
    for (const KafkaShardSlot::Open& o : slot.open) {
        if (o.slot >= owned_.size()) continue;
        owned_[o.slot] = 1;
        next_offset_[o.slot] = -1;
        for (uint32_t q = 0; q < pipelines_.size(); ++q)
            if (std::find(feeds_.begin(), feeds_.end(), q) != feeds_.end())
                pipelines_[q]->open_lane(o.slot, q < o.lane_max.size() ? o.lane_max[q] : kWatermarkMin, now);
    }
    for (const KafkaShardSlot::Restore& r : slot.restores) {
        const Checkpoint& c = *r.checkpoint;
        for (uint32_t q = 0; q < pipelines_.size(); ++q) {
            const CheckpointQuery* cq = nullptr;
            for (const CheckpointQuery& x : c.queries)
                if (x.name == runtime_.query_name(q)) cq = &x;
            if (cq == nullptr) continue;
            PartitionFilter f{&r.partitions, c.topic_partitions.empty() ? 1 : c.topic_partitions[0],
                              static_cast<uint32_t>(pipelines_[q]->plan().group_keys.size()), {}};
            const QueryState::RestoreCounts counts = pipelines_[q]->restore(
                cq->items.data(), cq->items.size(), r.all ? nullptr : &PartitionFilter::accept, &f, r.keyless);
            if (counts.malformed && slot.restore_error.empty())
                slot.restore_error = "checkpoint of " + c.member + " at epoch " + std::to_string(c.epoch) +
                                     ": the state of query '" + cq->name + "' is malformed";
            slot.restored_items += counts.items;
            if (r.closed_watermark) pipelines_[q]->restore_closed_watermark(cq->closed_watermark);
        }
    }
}

}  // namespace sluice
