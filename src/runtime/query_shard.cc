#include "query_shard.h"

#include <poll.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

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

QueryShard::QueryShard(const ShardSetup& setup, RunShared& shared)
    : setup_(setup),
      shared_(shared),
      plan_(*setup.plan),
      aggregate_(setup.plan->is_aggregate()),
      rows_window_(!setup.plan->analytics.empty()),
      idler_(setup.idle) {}

QueryShard::~QueryShard() = default;

void QueryShard::fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    shared_.stop.store(true, std::memory_order_relaxed);
}

void QueryShard::run() {
    // Bind first, then allocate: everything below is first touched on this CPU.
    if (setup_.cpu >= 0 && setup_.topology) {
        std::string err = setup_.topology->pin_current_thread(static_cast<unsigned>(setup_.cpu));
        if (!err.empty()) fail(err);
    }
    if (error_.empty()) {
        try {
            setup_on_thread();
        } catch (const std::exception& e) {
            fail(std::string("shard ") + std::to_string(setup_.id) + ": " + e.what());
        }
    }
    shared_.started->arrive_and_wait();
    if (!shared_.stop.load(std::memory_order_relaxed)) loop();
    if (out_) out_->flush();
    if (dead_out_) dead_out_->flush();
    // Release: the writer sees every buffer flushed above once it reads the decrement.
    shared_.running.fetch_sub(1, std::memory_order_release);
}

void QueryShard::setup_on_thread() {
    shared_.mesh->create_inbound(setup_.id);
    out_ = std::make_unique<OutBuffer>(256 * 1024, &OutputWriter::sink, shared_.writer->port(setup_.id));
    if (setup_.dead_letter_port >= 0) {
        dead_out_ = std::make_unique<OutBuffer>(64 * 1024, &OutputWriter::sink,
                                                shared_.writer->port(static_cast<uint32_t>(setup_.dead_letter_port)));
    }
    if (aggregate_) {
        state_ = std::make_unique<QueryState>(plan_, setup_.id, setup_.shards, setup_.sources, *out_, counters_,
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
        reader_ = std::make_unique<LineReader>(setup_.input_fd, setup_.begin, setup_.end, setup_.chunk_bytes,
                                               setup_.max_record_bytes);
        // Sized for the reader's largest block: decode_block never allocates.
        decoder_ = std::make_unique<NdjsonDecoder>(plan_.fields, setup_.max_record_bytes, reader_->max_block_bytes());
        fields_.resize(plan_.fields.size());
        if (aggregate_)
            prepare_ = std::make_unique<Prepare>(plan_);
        else if (rows_window_)
            analytic_prepare_ = std::make_unique<AnalyticPrepare>(plan_);
        else
            projector_ = std::make_unique<Projector>(plan_, *out_, counters_);
        seq_ = static_cast<uint64_t>(setup_.source_id) << 40;
        struct stat st{};
        pollable_ = timed_ && setup_.end == UINT64_MAX && ::fstat(setup_.input_fd, &st) == 0 && !S_ISREG(st.st_mode);
        last_input_ms_ = wall_ms();
    } else {
        source_done_ = true;
    }
}

void QueryShard::loop() {
    for (;;) {
        if (shared_.stop.load(std::memory_order_relaxed) || shared_.writer->failed()) return;
        bool progressed = false;
        if (!source_done_) {
            if (pollable_) {
                progressed = poll_source();
            } else {
                read_chunk();
                progressed = true;
            }
        }
        progressed |= drain_inbound();
        if (state_) {
            state_->end_batch();
            ship_outbox();
        }
        flush_outbound();
        if (finished()) return;
        if (progressed)
            idler_.reset();
        else
            idler_.wait();
    }
}

// A source that can stall (a pipe) is read only when it has data; silent
// for watermark.idle_timeout, it is marked idle on every shard.
// True when it read.
bool QueryShard::poll_source() {
    pollfd p{setup_.input_fd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) {
        if (source_idle_) set_source_idle(false);
        last_input_ms_ = wall_ms();
        read_chunk();
        return true;
    }
    if (!source_idle_ && wall_ms() - last_input_ms_ >= plan_.props.idle_timeout_ms) set_source_idle(true);
    return false;
}

void QueryShard::set_source_idle(bool idle) {
    source_idle_ = idle;
    for (uint32_t to = 0; to < setup_.shards; ++to) {
        if (to == setup_.id) continue;
        void* dst = alloc_blocking(to, sizeof(WatermarkMsg));
        if (!dst) return;
        auto* m = static_cast<WatermarkMsg*>(dst);
        m->h = MsgHeader{MsgKind::SourceIdle, static_cast<uint8_t>(idle ? 1 : 0), setup_.source_id, 0};
        m->watermark = watermark_;
        shared_.mesh->ring(setup_.id, to).push();
    }
    if (state_) state_->on_source_idle(setup_.source_id, idle);
}

void QueryShard::read_chunk() {
    arrival_ms_ = wall_ms();
    const int64_t wm_at_start = watermark_;
    auto reject = [this] {
        ++counters_.records_in;
        ++counters_.records_rejected;
    };
    bool more = reader_->next_blocks(
        [this, &reject](const char* p, std::size_t len) {
            decoder_->decode_block(
                p, len, fields_.data(), counters_.type_mismatch,
                [this] {
                    ++counters_.records_in;
                    on_record();
                },
                reject);
        },
        reject);
    if (reader_->error() != 0) fail(std::string("cannot read input: ") + std::strerror(reader_->error()));
    if (timed_ && watermark_ != wm_at_start) {
        // Watermarks follow the records they cover, in every ring.
        broadcast(MsgKind::Watermark, watermark_);
        state_->on_watermark(setup_.source_id, watermark_);
    }
    if (!more || limit_hit_) {
        source_done_ = true;
        if (state_) {
            // Partials combined from this source go out ahead of its end marker.
            state_->end_of_local_input();
            ship_outbox();
        }
        broadcast(MsgKind::SourceEnd, kWatermarkMax);
        ++ended_sources_;
        if (state_) state_->on_source_end(setup_.source_id);
    }
}

// ROWS windows: a partition's rows must meet in arrival order on one shard,
// so the whole record (its field values) goes to the partition key's owner.
void QueryShard::on_analytic_record() {
    if (!analytic_prepare_->run(fields_.data(), arrival_ms_, prepared_, counters_)) {
        ++counters_.records_processed;
        return;
    }
    const uint32_t owner = partition_of(prepared_.hash, setup_.shards);
    if (owner == setup_.id) {
        analytic_->on_record(prepared_.hash, prepared_.key, prepared_.key_len, prepared_.args, prepared_.ts);
        return;
    }
    const uint64_t bytes = record_msg_size(prepared_);
    if (bytes > kMaxRingMessage) [[unlikely]] {
        ++counters_.records_rejected;
        return;
    }
    void* dst = alloc_blocking(owner, static_cast<uint32_t>(bytes));
    if (!dst) return;
    encode_record(dst, prepared_, setup_.source_id, kWatermarkMin, seq_++);
    shared_.mesh->ring(setup_.id, owner).push();
}

void QueryShard::on_record() {
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
    const uint32_t owner = local_ ? setup_.id : home;
    // Message size of the record on its way to its home shard (routed now,
    // or combined and shipped later); 0 when it never leaves this shard.
    std::string_view raw = dead_letter_ ? decoder_->last_line() : std::string_view{};
    const auto carried = static_cast<uint32_t>(owner != setup_.id ? raw.size() : 0);
    uint64_t bytes = home != setup_.id && !global_ ? record_msg_size(prepared_, carried) : 0;
    if (bytes > kMaxRingMessage && carried != 0) [[unlikely]] {
        // The text rides along only for a possible dead letter: a record too
        // big to carry it is still processed (its dead letter says null).
        raw = {};
        bytes = record_msg_size(prepared_);
    }
    if (bytes > kMaxRingMessage) [[unlikely]] {
        // Too big to cross a ring in one message: rejected and counted, as an
        // oversized line is.
        ++counters_.records_rejected;
        return;
    }
    const int64_t wm_before = watermark_;
    const uint64_t seq = seq_++;
    if (timed_ && prepared_.ts > max_event_ms_) {
        max_event_ms_ = prepared_.ts;
        watermark_ = saturating_sub(max_event_ms_, plan_.props.max_out_of_orderness_ms);
    }
    if (owner == setup_.id) {
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
    void* dst = alloc_blocking(owner, static_cast<uint32_t>(bytes));
    if (!dst) return;  // the run is stopping
    encode_record(dst, prepared_, setup_.source_id, wm_before, seq, raw.data(), static_cast<uint32_t>(raw.size()));
    shared_.mesh->ring(setup_.id, owner).push();
}

void* QueryShard::alloc_blocking(uint32_t to, uint32_t bytes) {
    SpscRing& ring = shared_.mesh->ring(setup_.id, to);
    void* p = ring.try_alloc(bytes);
    if (p) [[likely]]
        return p;
    if (bytes > kMaxRingMessage) {
        fail("a message of " + std::to_string(bytes) + " bytes does not fit a shard ring");
        return nullptr;
    }
    // Backpressure: publish what is staged and keep consuming our own inbound
    // rings while the owner catches up, so two full shards cannot deadlock.
    Idler idler(setup_.idle);
    while ((p = ring.try_alloc(bytes)) == nullptr) {
        ring.flush();
        if (shared_.stop.load(std::memory_order_relaxed)) return nullptr;
        if (!drain_inbound()) idler.wait();
    }
    return p;
}

void QueryShard::broadcast(MsgKind kind, int64_t watermark) {
    for (uint32_t to = 0; to < setup_.shards; ++to) {
        if (to == setup_.id) continue;
        void* dst = alloc_blocking(to, sizeof(WatermarkMsg));
        if (!dst) return;
        auto* m = static_cast<WatermarkMsg*>(dst);
        m->h = MsgHeader{kind, 0, setup_.source_id, 0};
        m->watermark = watermark;
        shared_.mesh->ring(setup_.id, to).push();
    }
}

bool QueryShard::drain_inbound() {
    bool any = false;
    for (uint32_t from = 0; from < setup_.shards; ++from) {
        if (from == setup_.id) continue;
        SpscRing& ring = shared_.mesh->ring(from, setup_.id);
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

void QueryShard::handle_message(const void* msg) {
    const auto* h = static_cast<const MsgHeader*>(msg);
    switch (h->kind) {
        case MsgKind::Record: {
            const AggInput in = decode_record(msg, args_.data(), static_cast<uint32_t>(args_.size()));
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
            if (state_) state_->on_source_end(h->source);
            break;
        case MsgKind::Partial:
            state_->on_partial(reinterpret_cast<const uint8_t*>(h + 1), h->len);
            break;
    }
}

void QueryShard::ship_outbox() {
    std::vector<uint8_t>& box = state_->outbox().bytes;
    if (box.empty()) return;
    partials_.swap(box);  // the receiving side may append while we ship
    bool stopped = false;
    for_each_partial(partials_, [&](uint32_t dest, const uint8_t* payload, uint32_t len) {
        if (stopped || dest >= setup_.shards) return;
        if (dest == setup_.id) {
            state_->on_partial(payload, len);
            return;
        }
        void* dst = alloc_blocking(dest, static_cast<uint32_t>(sizeof(MsgHeader)) + len);
        if (!dst) {
            stopped = true;
            return;
        }
        auto* h = static_cast<MsgHeader*>(dst);
        *h = MsgHeader{MsgKind::Partial, 0, static_cast<uint16_t>(setup_.id), len};
        std::memcpy(h + 1, payload, len);
        shared_.mesh->ring(setup_.id, dest).push();
    });
    partials_.clear();
}

void QueryShard::flush_outbound() {
    for (uint32_t to = 0; to < setup_.shards; ++to)
        if (to != setup_.id) shared_.mesh->ring(setup_.id, to).flush();
}

bool QueryShard::finished() const {
    if (!source_done_ || ended_sources_ < setup_.sources) return false;
    return !state_ || (state_->finished() && state_->outbox().bytes.empty());
}

}  // namespace sluice
