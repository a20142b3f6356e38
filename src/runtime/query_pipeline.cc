#include "query_pipeline.h"

#include <algorithm>
#include <cstring>

#include "idle.h"
#include "sluice/base.h"

namespace sluice {

namespace {
constexpr uint32_t kReleaseEvery = 64;  // consumer hands space back every N messages

int64_t saturating_sub(int64_t a, int64_t b) noexcept {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return kWatermarkMin;
    return r;
}
}  // namespace

QueryPipeline::QueryPipeline(const PipelineSetup& setup)
    : setup_(setup),
      plan_(*setup.plan),
      aggregate_(setup.plan->is_aggregate()),
      rows_window_(!setup.plan->analytics.empty()),
      max_message_(setup.mesh->max_message()) {
    setup_.mesh->create_inbound(setup_.shard);
    q_seen_.assign(setup_.shards, BarrierSeen{});
    out_ = std::make_unique<OutBuffer>(256 * 1024, setup_.sink, setup_.sink_ctx);
    if (setup_.dead_letter_sink != nullptr)
        dead_out_ = std::make_unique<OutBuffer>(64 * 1024, setup_.dead_letter_sink, setup_.dead_letter_ctx);
    if (aggregate_) {
        state_ = std::make_unique<QueryState>(plan_, setup_.shard, setup_.shards, setup_.sources, *out_, counters_,
                                              dead_out_.get());
        local_ = state_->aggregates_locally();
        global_ = state_->two_phase();
        timed_ = state_->needs_watermarks();
        // Only windows have late records.
        dead_letter_ = dead_out_ != nullptr && plan_.is_windowed() &&
                       plan_.props.late_strategy == LateStrategy::DeadLetter;
        args_.resize(plan_.aggs.size());
    }
    if (rows_window_) {
        analytic_ = std::make_unique<AnalyticState>(plan_, *out_, counters_);
        args_.resize(plan_.fields.size());  // a routed record carries every field
    }
    if (setup_.has_source) {
        // Sized for the largest block: decode_block never allocates.
        decoder_ = std::make_unique<NdjsonDecoder>(plan_.fields, setup_.max_record_bytes, setup_.max_block_bytes);
        fields_.resize(plan_.fields.size());
        if (aggregate_)
            prepare_ = std::make_unique<Prepare>(plan_);
        else if (rows_window_)
            analytic_prepare_ = std::make_unique<AnalyticPrepare>(plan_);
        else
            projector_ = std::make_unique<Projector>(plan_, *out_, counters_);
        seq_ = static_cast<uint64_t>(setup_.source_id) << 40;
        for (uint32_t k = 0; k < plan_.fields.size(); ++k) {
            if (plan_.fields[k].meta == FieldMeta::Partition) partition_slot_ = k;
            if (plan_.fields[k].meta == FieldMeta::Offset) offset_slot_ = k;
        }
    } else {
        source_done_ = true;
    }
}

QueryPipeline::~QueryPipeline() = default;

void QueryPipeline::fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    if (setup_.stop) setup_.stop->store(true, std::memory_order_relaxed);
}

void QueryPipeline::flush_output() {
    if (out_) out_->flush();
    if (dead_out_) dead_out_->flush();
    // One latency sample per flush that carried rows: from the oldest record
    // applied since the last flush (one clock read, not one per row).
    if (pending_ns_ != 0) {
        if (counters_.rows_out != rows_flushed_) {
            const int64_t now = monotonic_ns();
            latency_.observe(now > pending_ns_ ? static_cast<uint64_t>(now - pending_ns_) : 0);
        }
        pending_ns_ = 0;
    }
    rows_flushed_ = counters_.rows_out;
}

QueryMetrics QueryPipeline::metrics() const {
    QueryMetrics m;
    m.counters = counters_;
    if (state_) {
        m.groups = state_->group_count();
        m.open_windows = state_->open_windows();
        m.state_bytes = state_->state_bytes();
        if (timed_) m.watermark_ms = state_->watermark();
    } else if (analytic_) {
        m.groups = analytic_->partition_count();
        m.state_bytes = analytic_->state_bytes();
    }
    m.ring_full_events = ring_full_events_;
    for (uint32_t from = 0; from < setup_.shards; ++from) {
        if (from == setup_.shard) continue;
        const SpscRing& r = setup_.mesh->ring(from, setup_.shard);
        m.ring_bytes += r.occupancy();
        m.ring_capacity += r.capacity();
    }
    m.latency = latency_;
    return m;
}

void QueryPipeline::on_block(const char* p, std::size_t len, int64_t arrival_ms, bool drop_when_full) {
    arrival_ms_ = arrival_ms;
    drop_when_full_ = drop_when_full;
    if (pending_ns_ == 0) pending_ns_ = ingest_ns_;
    decoder_->decode_block(
        p, len, fields_.data(), counters_.type_mismatch,
        [this] {
            ++counters_.records_in;
            on_record();
        },
        [this] { on_rejected_line(); });
}

void QueryPipeline::on_kafka_block(const char* p, std::size_t len, const io::KafkaMessageMeta* messages,
                                   uint32_t count, int64_t arrival_ms) {
    if (count == 0) return;
    drop_when_full_ = false;
    if (pending_ns_ == 0) pending_ns_ = ingest_ns_;
    // Lanes of the block's partitions spoke (an idle one is active again).
    for (uint32_t m = 0; m < count; ++m) {
        const uint32_t slot = messages[m].slot;
        if (slot >= lanes_.size() || !lanes_[slot].open) open_lane(slot, kWatermarkMin, arrival_ms);
        Lane& l = lanes_[slot];
        l.last_ms = arrival_ms;
        if (l.idle) {
            l.idle = false;
            recompute_lanes();
        }
    }
    uint32_t at = 0;  // the message of the record being decoded
    kafka_input_ = true;
    decoder_->decode_block(
        p, len, fields_.data(), counters_.type_mismatch,
        [&] {
            ++counters_.records_in;
            // Lines come in message order: the message is the last one starting at or before the line.
            const char* line = decoder_->last_line().data();
            while (at + 1 < count && line >= p + messages[at + 1].start) ++at;
            const io::KafkaMessageMeta& m = messages[at];
            arrival_ms_ = m.timestamp_ms >= 0 ? m.timestamp_ms : arrival_ms;
            lane_ = m.slot;
            kafka_seq_ = (static_cast<uint64_t>(m.slot) << 40) | (static_cast<uint64_t>(m.offset) & ((uint64_t{1} << 40) - 1));
            if (partition_slot_ != kNoSlot) fields_[partition_slot_] = Value::of_int(m.partition);
            if (offset_slot_ != kNoSlot) fields_[offset_slot_] = Value::of_int(m.offset);
            on_record();
        },
        [this] { on_rejected_line(); });
    kafka_input_ = false;
}

void QueryPipeline::open_lane(uint32_t slot, int64_t max_event_ms, int64_t now_ms) {
    if (slot >= lanes_.size()) lanes_.resize(slot + 1);
    Lane& l = lanes_[slot];
    l.open = true;
    l.idle = false;
    l.max_event = max_event_ms;
    l.last_ms = now_ms;
    lanes_on_ = true;
    recompute_lanes();
}

void QueryPipeline::close_lane(uint32_t slot) {
    if (slot >= lanes_.size() || !lanes_[slot].open) return;
    lanes_[slot] = Lane{};
    recompute_lanes();
}

int64_t QueryPipeline::lane_max_event(uint32_t slot) const noexcept {
    return slot < lanes_.size() && lanes_[slot].open ? lanes_[slot].max_event : kWatermarkMin;
}

void QueryPipeline::check_lanes_idle(int64_t now_ms) {
    if (!lanes_on_) return;
    bool changed = false;
    for (Lane& l : lanes_) {
        if (!l.open || l.idle || now_ms - l.last_ms < plan_.props.idle_timeout_ms) continue;
        l.idle = true;
        changed = true;
    }
    if (changed) recompute_lanes();
}

// The minimum over the open lanes that speak; with none, the watermark holds.
void QueryPipeline::recompute_lanes() noexcept {
    int64_t m = kWatermarkMax;
    bool any = false;
    for (const Lane& l : lanes_) {
        if (!l.open || l.idle) continue;
        any = true;
        m = std::min(m, saturating_sub(l.max_event, plan_.props.max_out_of_orderness_ms));
    }
    if (any) watermark_ = m;
}

void QueryPipeline::advance_event_time(int64_t ts) noexcept {
    if (!kafka_input_ || !lanes_on_) {
        if (ts > max_event_ms_) {
            max_event_ms_ = ts;
            watermark_ = saturating_sub(max_event_ms_, plan_.props.max_out_of_orderness_ms);
        }
        return;
    }
    Lane& l = lanes_[lane_];
    if (ts <= l.max_event) return;
    const int64_t before = saturating_sub(l.max_event, plan_.props.max_out_of_orderness_ms);
    l.max_event = ts;
    // Only the lane that held the minimum can move it.
    if (before <= watermark_) recompute_lanes();
}

void QueryPipeline::on_rejected_line() noexcept {
    ++counters_.records_in;
    ++counters_.records_rejected;
}

void QueryPipeline::end_chunk() {
    if (!timed_ || watermark_ == sent_watermark_) return;
    // Watermarks follow the records they cover, in every ring.
    sent_watermark_ = watermark_;
    broadcast(MsgKind::Watermark, 0, watermark_);
    state_->on_watermark(setup_.source_id, watermark_);
}

void QueryPipeline::end_source(bool flush) {
    if (source_done_) return;
    source_done_ = true;
    if (!flush) {
        broadcast(MsgKind::SourceEnd, 1, kWatermarkMax);
        ++ended_sources_;
        if (state_) state_->on_source_stop(setup_.source_id);
        return;
    }
    end_chunk();
    if (state_) {
        // Partials combined from this source go out ahead of its end marker.
        state_->end_of_local_input();
        ship_outbox();
    }
    broadcast(MsgKind::SourceEnd, 0, kWatermarkMax);
    ++ended_sources_;
    if (state_) state_->on_source_end(setup_.source_id);
}

void QueryPipeline::set_source_idle(bool idle) {
    if (idle == source_idle_) return;
    source_idle_ = idle;
    broadcast(MsgKind::SourceIdle, idle ? 1 : 0, watermark_);
    if (state_) state_->on_source_idle(setup_.source_id, idle);
}

// ROWS windows: a partition's rows must meet in arrival order on one shard,
// so the whole record (its field values) goes to the partition key's owner.
void QueryPipeline::on_analytic_record() {
    if (!analytic_prepare_->run(fields_.data(), arrival_ms_, prepared_, counters_)) {
        ++counters_.records_processed;
        return;
    }
    const uint32_t owner = partition_of(prepared_.hash, setup_.shards);
    if (owner == setup_.shard) {
        analytic_->on_record(prepared_.hash, prepared_.key, prepared_.key_len, prepared_.args, prepared_.ts);
        return;
    }
    const uint64_t bytes = record_msg_size(prepared_);
    if (bytes > max_message_) [[unlikely]] {
        ++counters_.records_rejected;
        return;
    }
    void* dst = alloc(owner, static_cast<uint32_t>(bytes));
    if (!dst) {
        if (drop_when_full_) ++counters_.overload_dropped;
        return;  // dropped, or the run is stopping
    }
    encode_record(dst, prepared_, setup_.source_id, kWatermarkMin, kafka_input_ ? kafka_seq_ : seq_++);
    static_cast<RecordMsg*>(dst)->ingest_ns = ingest_ns_;
    setup_.mesh->ring(setup_.shard, owner).push();
    ++pushes_;
}

void QueryPipeline::on_record() {
    if (rows_window_) {
        on_analytic_record();
        return;
    }
    if (!aggregate_) {
        if (limit_hit_) {
            ++counters_.records_processed;
            return;
        }
        if (!projector_->on_record(fields_.data(), arrival_ms_)) limit_hit_ = true;
        return;
    }
    if (prepare_->run(fields_.data(), arrival_ms_, prepared_, counters_) == Prepare::Outcome::Filtered) {
        ++counters_.records_processed;
        return;
    }
    const uint32_t home = partition_of(prepared_.hash, setup_.shards);
    const uint32_t owner = local_ ? setup_.shard : home;
    // Message size of the record on its way to its home shard (routed now,
    // or combined and shipped later); 0 when it never leaves this shard.
    std::string_view raw = dead_letter_ ? decoder_->last_line() : std::string_view{};
    const auto carried = static_cast<uint32_t>(owner != setup_.shard ? raw.size() : 0);
    uint64_t bytes = home != setup_.shard && !global_ ? record_msg_size(prepared_, carried) : 0;
    if (bytes > max_message_ && carried != 0) [[unlikely]] {
        // The text rides along only for a possible dead letter: a record too
        // big to carry it is still processed (its dead letter says null).
        raw = {};
        bytes = record_msg_size(prepared_);
    }
    if (bytes > max_message_) [[unlikely]] {
        // Too big to cross a ring in one message: rejected and counted, as an
        // oversized line is.
        ++counters_.records_rejected;
        return;
    }
    // Space first: a record dropped for a full ring must not move the watermark.
    void* dst = nullptr;
    if (owner != setup_.shard) {
        dst = alloc(owner, static_cast<uint32_t>(bytes));
        if (!dst) {
            if (drop_when_full_) ++counters_.overload_dropped;
            return;  // dropped, or the run is stopping
        }
    }
    const int64_t wm_before = watermark_;
    const uint64_t seq = kafka_input_ ? kafka_seq_ : seq_++;
    if (timed_) advance_event_time(prepared_.ts);
    if (owner == setup_.shard) {
        AggInput in;
        in.hash = prepared_.hash;
        in.key = prepared_.key;
        in.key_len = prepared_.key_len;
        in.ts = prepared_.ts;
        in.wm_before = wm_before;
        in.seq = seq;
        in.source = setup_.source_id;
        in.args = prepared_.args;
        in.raw = raw.data();
        in.raw_len = static_cast<uint32_t>(raw.size());
        state_->on_record(in);
        return;
    }
    encode_record(dst, prepared_, setup_.source_id, wm_before, seq, raw.data(), static_cast<uint32_t>(raw.size()));
    static_cast<RecordMsg*>(dst)->ingest_ns = ingest_ns_;
    setup_.mesh->ring(setup_.shard, owner).push();
    ++pushes_;
}

// Ring space for a message to shard `to`: at once, or nullptr when the ring
// is full and this record may be dropped (counted by the caller), or after
// waiting (backpressure).
void* QueryPipeline::alloc(uint32_t to, uint32_t bytes) {
    void* p = setup_.mesh->ring(setup_.shard, to).try_alloc(bytes);
    if (p != nullptr) [[likely]]
        return p;
    if (drop_when_full_) {
        ++ring_full_events_;
        return nullptr;
    }
    return alloc_blocking(to, bytes);
}

void* QueryPipeline::alloc_blocking(uint32_t to, uint32_t bytes) {
    SpscRing& ring = setup_.mesh->ring(setup_.shard, to);
    void* p = ring.try_alloc(bytes);
    if (p) [[likely]]
        return p;
    if (bytes > max_message_) {
        fail("a message of " + std::to_string(bytes) + " bytes does not fit a shard ring");
        return nullptr;
    }
    ++ring_full_events_;
    // Backpressure: publish what is staged and keep consuming inbound rings
    // (every pipeline's, through the hook) while the owner catches up, so
    // two full shards cannot deadlock.
    Idler idler(setup_.idle);
    while ((p = ring.try_alloc(bytes)) == nullptr) {
        ring.flush();
        if (setup_.stop && setup_.stop->load(std::memory_order_relaxed)) return nullptr;
        const bool progressed = wait_hook_ != nullptr ? wait_hook_(wait_ctx_) : drain_inbound();
        if (!progressed) idler.wait();
    }
    return p;
}

void QueryPipeline::broadcast(MsgKind kind, uint8_t flag, int64_t watermark) {
    for (uint32_t to = 0; to < setup_.shards; ++to) {
        if (to == setup_.shard) continue;
        void* dst = alloc_blocking(to, sizeof(WatermarkMsg));
        if (!dst) return;
        auto* m = static_cast<WatermarkMsg*>(dst);
        m->h = MsgHeader{kind, flag, setup_.source_id, 0};
        m->watermark = watermark;
        setup_.mesh->ring(setup_.shard, to).push();
        ++pushes_;
    }
}

bool QueryPipeline::drain_inbound() {
    bool any = false;
    for (uint32_t from = 0; from < setup_.shards; ++from) {
        if (from == setup_.shard) continue;
        SpscRing& ring = setup_.mesh->ring(from, setup_.shard);
        uint32_t len;
        uint32_t n = 0;
        while (const void* msg = ring.front(&len)) {
            handle_message(msg);
            ring.pop();
            if (++n % kReleaseEvery == 0) ring.release();
        }
        if (n) {
            ring.release();
            any = true;
        }
    }
    return any;
}

void QueryPipeline::handle_message(const void* msg) {
    const auto* h = static_cast<const MsgHeader*>(msg);
    switch (h->kind) {
        case MsgKind::Record: {
            const AggInput in = decode_record(msg, args_.data(), static_cast<uint32_t>(args_.size()));
            if (pending_ns_ == 0) pending_ns_ = static_cast<const RecordMsg*>(msg)->ingest_ns;
            if (analytic_)
                analytic_->on_record(in.hash, in.key, in.key_len, in.args, in.ts);
            else
                state_->on_record(in);
            break;
        }
        case MsgKind::SourceIdle:
            if (state_) state_->on_source_idle(h->source, h->flag != 0);
            break;
        case MsgKind::Watermark:
            state_->on_watermark(h->source, static_cast<const WatermarkMsg*>(msg)->watermark);
            break;
        case MsgKind::SourceEnd:
            ++ended_sources_;
            if (state_ && h->flag != 0)
                state_->on_source_stop(h->source);
            else if (state_)
                state_->on_source_end(h->source);
            break;
        case MsgKind::Partial:
            state_->on_partial(reinterpret_cast<const uint8_t*>(h + 1), h->len);
            break;
        case MsgKind::Barrier: {
            const auto* b = static_cast<const BarrierMsg*>(msg);
            if (h->source >= q_seen_.size()) break;
            BarrierSeen& seen = q_seen_[h->source];
            if (b->epoch > seen.epoch || (b->epoch == seen.epoch && b->round > seen.round)) seen = {b->epoch, b->round};
            if (b->epoch == q_epoch_ && b->sent != 0) q_flags_[b->round & 1] |= 1;
            break;
        }
    }
}

void QueryPipeline::ship_outbox() {
    std::vector<uint8_t>& box = state_->outbox().bytes;
    if (box.empty()) return;
    partials_.swap(box);  // the receiving side may append while we ship
    bool stopped = false;
    for_each_partial(partials_, [&](uint32_t dest, const uint8_t* payload, uint32_t len) {
        if (stopped || dest >= setup_.shards) return;
        if (dest == setup_.shard) {
            state_->on_partial(payload, len);
            return;
        }
        void* dst = alloc_blocking(dest, static_cast<uint32_t>(sizeof(MsgHeader)) + len);
        if (!dst) {
            stopped = true;
            return;
        }
        auto* h = static_cast<MsgHeader*>(dst);
        *h = MsgHeader{MsgKind::Partial, 0, static_cast<uint16_t>(setup_.shard), len};
        std::memcpy(h + 1, payload, len);
        setup_.mesh->ring(setup_.shard, dest).push();
        ++pushes_;
    });
    partials_.clear();
}

void QueryPipeline::end_batch() {
    if (state_) {
        state_->end_batch();
        ship_outbox();
    }
    flush_outbound();
}

void QueryPipeline::flush_outbound() {
    for (uint32_t to = 0; to < setup_.shards; ++to)
        if (to != setup_.shard) setup_.mesh->ring(setup_.shard, to).flush();
}

QueryState::RestoreCounts QueryPipeline::restore(const uint8_t* items, std::size_t len, QueryState::RestoreFilter accept,
                                                 void* ctx, bool keyless) {
    if (!state_) return {};
    QueryState::RestoreCounts c = state_->restore(items, len, accept, ctx, keyless);
    ship_outbox();
    return c;
}

void QueryPipeline::restore_closed_watermark(int64_t w) {
    if (state_) state_->restore_closed_watermark(w);
}

void QueryPipeline::reload_state() {
    if (!state_) return;
    state_ = std::make_unique<QueryState>(plan_, setup_.shard, setup_.shards, setup_.sources, *out_, counters_,
                                          dead_out_.get());
    sent_watermark_ = kWatermarkMin;  // sent again at the next end_chunk
    if (source_idle_) broadcast(MsgKind::SourceIdle, 1, watermark_);
    if (source_idle_) state_->on_source_idle(setup_.source_id, true);
}

void QueryPipeline::send_barrier(uint32_t round, uint32_t sent) {
    for (uint32_t to = 0; to < setup_.shards; ++to) {
        if (to == setup_.shard) continue;
        void* dst = alloc_blocking(to, sizeof(BarrierMsg));
        if (!dst) return;
        auto* b = static_cast<BarrierMsg*>(dst);
        b->h = MsgHeader{MsgKind::Barrier, 0, static_cast<uint16_t>(setup_.shard), 0};
        b->round = round;
        b->sent = sent;
        b->epoch = q_epoch_;
        setup_.mesh->ring(setup_.shard, to).push();
    }
    flush_outbound();
}

void QueryPipeline::begin_quiesce(uint64_t epoch) {
    if (q_seen_.size() != setup_.shards) q_seen_.assign(setup_.shards, BarrierSeen{});
    q_epoch_ = epoch;
    q_round_ = 0;
    q_done_ = false;
    q_my_flag_ = false;
    q_flags_[0] = q_flags_[1] = 0;
}

bool QueryPipeline::quiesce_step() {
    if (q_done_) return true;
    const auto seen_round = [&](uint32_t j) { return q_seen_[j].epoch == q_epoch_ ? q_seen_[j].round : 0u; };
    if (q_round_ == 0) {
        // Round 1 follows everything this shard sent before the pause.
        end_batch();
        pushes_at_barrier_ = pushes_;
        q_round_ = 1;
        send_barrier(1, 0);
    }
    for (uint32_t j = 0; j < setup_.shards; ++j)
        if (j != setup_.shard && seen_round(j) < q_round_) return false;
    // Every shard's barrier of this round is in: what they sent before it was handled.
    const uint32_t parity = q_round_ & 1;
    const bool anything = q_round_ == 1 || q_my_flag_ || q_flags_[parity] != 0;
    q_flags_[parity] = 0;
    if (!anything) {
        q_done_ = true;
        return true;
    }
    // The next round: what handling this round's messages sent goes before its barrier.
    end_batch();
    q_my_flag_ = pushes_ != pushes_at_barrier_;
    pushes_at_barrier_ = pushes_;
    ++q_round_;
    send_barrier(q_round_, q_my_flag_ ? 1 : 0);
    return false;
}

bool QueryPipeline::finished() const {
    if (!source_done_ || ended_sources_ < setup_.sources) return false;
    return !state_ || (state_->finished() && state_->outbox().bytes.empty());
}

}  // namespace sluice
