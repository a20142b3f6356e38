#include "app_shard.h"

#include <liburing.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "io/kafka.h"
#include "kafka_shard.h"
#include "net/dpdk_port.h"
#include "net/sink_tcp.h"
#include "net/sink_udp.h"
#include "net/socket.h"
#include "net/tcp_source.h"
#include "net/udp_source.h"
#include "net/uring.h"
#include "net/user_data.h"
#include "sluice/base.h"

namespace sluice {

namespace {

constexpr std::size_t kTcpBlockBytes = 16384;  // one receive; a line spanning reads is handed out alone
constexpr std::size_t kCompletionBatch = 256;
constexpr uint32_t kShortWaits = 200;  // idle rounds of 50 us before waits of 1 ms
constexpr uint64_t kPublishNs = 10'000'000;  // metrics are at most this old
static_assert(net::kDpdkPadding == kDecodePadding, "DPDK payloads are decoded in place");


}  // namespace

// A completion copied off the CQ, so handlers can wait (and take further
// completions) without re-entering an iteration of the CQ.
struct AppShard::Completion {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;

    io_uring_cqe cqe() const noexcept {
        io_uring_cqe c{};
        c.user_data = user_data;
        c.res = res;
        c.flags = flags;
        return c;
    }
    bool for_sink() const noexcept {
        const net::OpKind kind = net::UserData::kind_of(user_data);
        return kind >= net::OpKind::sink_first && kind <= net::OpKind::sink_last;
    }
};

// A network sink of this shard and the OutBuffer callback that feeds it.
struct AppShard::NetSink {
    Io* io = nullptr;
    uint32_t index = 0;  // config sink index
    std::unique_ptr<net::UdpSink> udp;  // one of the two
    std::unique_ptr<net::TcpSink> tcp;
    uint64_t rows_abandoned = 0;  // rows a blocked TCP sink could not take before a forced stop

    void poll(uint64_t now) noexcept { udp ? udp->poll(now) : tcp->poll(now); }
    void flush() noexcept { udp ? udp->flush() : tcp->flush(); }
    bool idle() const noexcept { return udp ? udp->idle() : tcp->idle(); }
    void on_cqe(const io_uring_cqe& c) noexcept { udp ? udp->on_cqe(c) : tcp->on_cqe(c); }
};

struct AppShard::Io {
    std::unique_ptr<net::Uring> ring;
    struct Udp {
        std::unique_ptr<net::UdpSource> source;
        std::vector<uint32_t> feeds;  // queries it feeds
    };
    struct Tcp {
        std::unique_ptr<net::TcpSource> source;
        std::vector<uint32_t> feeds;
    };
    // A DPDK port's RX queue this shard polls (frames parsed, payloads in place).
    struct Dpdk {
        net::DpdkRxQueue* queue = nullptr;  // owned by the DpdkRuntime
        std::vector<uint32_t> feeds;
        uint32_t source = 0;  // config index
    };
    std::vector<Udp> udp;
    std::vector<Tcp> tcp;
    std::vector<Dpdk> dpdk;
    std::unique_ptr<net::DpdkThread> dpdk_thread;  // this thread as an lcore, while it polls queues
    std::vector<std::unique_ptr<NetSink>> sinks;  // by config sink index; nullptr: stdout/file
    std::vector<Completion> completions;          // this batch
    std::vector<Completion> deferred;             // taken while a sink waited; handled next
    std::vector<Completion> waiting;              // what a waiting sink takes
    std::vector<std::unique_ptr<QueryPipeline>>* pipelines = nullptr;
    std::vector<int64_t>* last_input_ms = nullptr;
    int64_t now_ms = 0;
    std::atomic<bool>* stop = nullptr;

    // Takes every ready completion into `into`.
    void take(std::vector<Completion>& into) {
        ring->poll();
        ring->for_each_cqe([&](const io_uring_cqe& c) { into.push_back(Completion{c.user_data, c.res, c.flags}); });
    }

    void feed(const std::vector<uint32_t>& queries, const char* p, std::size_t len, bool drop_when_full) {
        for (const uint32_t q : queries) {
            (*pipelines)[q]->on_block(p, len, now_ms, drop_when_full);
            (*last_input_ms)[q] = now_ms;
        }
    }

    // A TCP source's lines go to the queries it feeds; the shard waits when a ring is full.
    struct TcpHandler {
        Io* io;
        const std::vector<uint32_t>* feeds;
        void on_lines(const char* p, std::size_t n) { io->feed(*feeds, p, n, false); }
        void on_oversize() {
            for (const uint32_t q : *feeds) (*io->pipelines)[q]->on_rejected_line();
        }
        void on_reject(const char*, std::size_t) { on_oversize(); }  // a line cut by a reset
    };

    // OutBuffer sink of a network sink. A TCP sink under on_full = "block"
    // that cannot take the rows makes the shard wait here, serving only sink
    // completions (others are deferred), until it can.
    static void sink_rows(void* ctx, const char* data, std::size_t n) {
        auto* s = static_cast<NetSink*>(ctx);
        if (s->udp) {
            s->udp->append(data, n);
            return;
        }
        Io& io = *s->io;
        std::vector<Completion>& taken = io.waiting;
        while (!s->tcp->append(data, n)) {
            // A forced stop (second signal, drain timeout) gives up on a collector that never came back.
            if (io.stop->load(std::memory_order_relaxed)) {
                s->rows_abandoned += static_cast<uint64_t>(std::count(data, data + n, '\n'));
                return;
            }
            s->tcp->poll(static_cast<uint64_t>(monotonic_ns()));
            taken.clear();
            io.take(taken);
            for (const Completion& c : taken) {
                if (c.for_sink())
                    io.on_sink_completion(c);
                else
                    io.deferred.push_back(c);
            }
            if (taken.empty()) io.ring->wait(std::chrono::microseconds(200));
        }
    }

    void on_sink_completion(const Completion& c) {
        const uint8_t owner = net::UserData::owner_of(c.user_data);
        if (owner < sinks.size() && sinks[owner]) sinks[owner]->on_cqe(c.cqe());
    }
};

AppShard::AppShard(const AppShardSetup& setup, AppShared& shared)
    : setup_(setup),
      shared_(shared),
      metrics_(std::make_unique<MetricsSlot>(shared.config->queries.size(), shared.config->sources.size(),
                                             shared.config->sinks.size())) {}

AppShard::~AppShard() = default;

void AppShard::fail(std::string message) {
    if (error_.empty()) error_ = "shard " + std::to_string(setup_.id) + ": " + std::move(message);
    shared_.stop.store(true, std::memory_order_relaxed);
}

const ShardCounters& AppShard::counters(uint32_t query) const {
    return query < pipelines_.size() && pipelines_[query] ? pipelines_[query]->counters() : no_counters_;
}

void AppShard::run() {
    std::string err = pin_then_set_up(setup_.topology, setup_.cpu, [this] { setup_on_thread(); });
    if (!err.empty()) fail(err);
    shared_.ready->arrive_and_wait();
    if (!shared_.stop.load(std::memory_order_relaxed)) loop();
    for (auto& p : pipelines_) {
        p->flush_output();
        if (error_.empty() && !p->error().empty()) error_ = p->error();
    }
    flush_sinks_at_exit();
    publish_metrics();
    io_.reset();  // sources cancel their requests while the ring still exists
    // Release: the writer sees every buffer flushed above once it reads the decrement.
    shared_.running.fetch_sub(1, std::memory_order_release);
}

void AppShard::setup_on_thread() {
    const AppConfig& cfg = *shared_.config;
    io_ = std::make_unique<Io>();
    Io& io = *io_;
    io.pipelines = &pipelines_;
    io.stop = &shared_.stop;
    io.last_input_ms = &last_input_ms_;
    io.completions.reserve(kCompletionBatch);
    io.deferred.reserve(kCompletionBatch);
    io.waiting.reserve(kCompletionBatch);
    auto ring = net::Uring::create();
    if (!ring) return fail(ring.error().message);
    io.ring = std::move(ring.value());

    // Sinks first: pipelines write into them from their first row.
    io.sinks.resize(cfg.sinks.size());
    for (uint32_t s = 0; s < cfg.sinks.size(); ++s) {
        const SinkSpec& spec = cfg.sinks[s];
        if (spec.type != SinkType::Udp && spec.type != SinkType::Tcp) continue;
        auto ep = net::parse_endpoint(spec.address.host, spec.address.port);
        if (!ep) return fail("sink '" + spec.name + "': " + ep.error().message);
        net::SinkConfig sc;
        sc.datagram_bytes = spec.datagram_bytes;
        sc.batch_bytes = spec.batch_bytes;
        sc.flush_us = spec.flush_us;
        sc.buffer_bytes = spec.buffer_bytes;
        sc.drop_when_full = spec.on_full == OnFull::Drop;
        sc.reconnect_min_ms = spec.reconnect_min_ms;
        sc.reconnect_max_ms = spec.reconnect_max_ms;
        auto sink = std::make_unique<NetSink>();
        sink->io = &io;
        sink->index = s;
        const auto kind = static_cast<net::OpKind>(static_cast<uint8_t>(net::OpKind::sink_first) + (spec.type == SinkType::Tcp ? 1 : 0));
        const uint64_t tag = net::user_data(kind, static_cast<uint8_t>(s));
        Result<bool> opened = true;
        if (spec.type == SinkType::Udp) {
            sink->udp = std::make_unique<net::UdpSink>(io.ring->raw(), tag, ep.value().addr, sc);
            opened = sink->udp->open();
        } else {
            sink->tcp = std::make_unique<net::TcpSink>(io.ring->raw(), tag, ep.value().addr, sc);
            opened = sink->tcp->open();
        }
        if (!opened) return fail("sink '" + spec.name + "': " + opened.error().message);
        io.sinks[s] = std::move(sink);
    }

    // Sources: this shard's own sockets, all shards on the same ports.
    std::size_t max_block = kTcpBlockBytes;
    std::vector<std::vector<uint32_t>> feeds(cfg.sources.size());
    for (uint32_t q = 0; q < cfg.queries.size(); ++q)
        for (const uint32_t s : cfg.queries[q].source_indexes) feeds[s].push_back(q);
    description_ = "shard " + std::to_string(setup_.id) +
                   (setup_.cpu >= 0 ? " (CPU " + std::to_string(setup_.cpu) + ")" : std::string(" (not pinned)")) +
                   ": io_uring " + io.ring->features().describe();
    uint32_t dpdk_port = 0;  // index among the dpdk sources (DpdkRuntime's ports)
    for (uint32_t s = 0; s < cfg.sources.size(); ++s) {
        const SourceSpec& spec = cfg.sources[s];
        if (spec.type == SourceType::Kafka) {
            // Read from this shard's queue of the consumer (KafkaShard, after the pipelines).
            max_block = std::max(max_block, KafkaShard::block_bytes(cfg.limits.max_record_bytes));
            description_ += ", kafka " + spec.name;
            continue;
        }
        if (spec.type == SourceType::Dpdk) {
            net::DpdkRxQueue* q = shared_.dpdk ? shared_.dpdk->queue(dpdk_port, setup_.id) : nullptr;
            ++dpdk_port;
            if (q == nullptr) {
                description_ += ", dpdk " + spec.name + ": no queue";
                continue;
            }
            if (!io.dpdk_thread) {
                auto t = net::DpdkThread::register_current();
                if (!t) return fail(t.error().message);
                io.dpdk_thread = std::move(t.value());
                description_ += ", dpdk lcore " + std::to_string(io.dpdk_thread->lcore());
            }
            auto attached = q->attach();
            if (!attached) return fail("source '" + spec.name + "': " + attached.error().message);
            description_ += ", dpdk " + q->description();
            io.dpdk.push_back(Io::Dpdk{q, feeds[s], s});
        } else if (spec.type == SourceType::Udp) {
            net::UdpConfig uc;
            uc.host = spec.listen.host;
            uc.port = spec.listen.port;
            uc.buffers = cfg.limits.udp_buffers;
            uc.max_datagram = cfg.limits.udp_buffer_bytes;
            uc.rcvbuf = static_cast<int>(spec.receive_buffer_bytes);
            auto src = net::UdpSource::open(*io.ring, uc, static_cast<uint8_t>(io.udp.size()));
            if (!src) return fail("source '" + spec.name + "': " + src.error().message);
            max_block = std::max(max_block, src.value()->max_block_bytes());
            description_ += ", udp " + src.value()->endpoint();
            io.udp.push_back(Io::Udp{std::move(src.value()), feeds[s]});
        } else {
            net::TcpConfig tc;
            tc.host = spec.listen.host;
            tc.port = spec.listen.port;
            tc.buffer_bytes = static_cast<unsigned>(kTcpBlockBytes);
            tc.max_record_bytes = cfg.limits.max_record_bytes;
            tc.max_connections = spec.max_connections;
            tc.rcvbuf = static_cast<int>(spec.receive_buffer_bytes);
            auto src = net::TcpSource::open(*io.ring, tc, static_cast<uint8_t>(io.tcp.size()));
            if (!src) return fail("source '" + spec.name + "': " + src.error().message);
            max_block = std::max(max_block, src.value()->max_block_bytes());
            description_ += ", tcp " + src.value()->endpoint();
            io.tcp.push_back(Io::Tcp{std::move(src.value()), feeds[s]});
        }
    }

    // One pipeline per query; every shard is one watermark source.
    for (uint32_t q = 0; q < cfg.queries.size(); ++q) {
        PipelineSetup p;
        p.plan = &(*shared_.plans)[q];
        p.shard = setup_.id;
        p.shards = setup_.shards;
        p.sources = setup_.shards;
        p.has_source = true;
        p.source_id = static_cast<uint16_t>(setup_.id);
        p.mesh = (*shared_.meshes)[q].get();
        const uint32_t sink = cfg.queries[q].sink_index;
        void* kafka_rows = shared_.kafka ? shared_.kafka->row_port(setup_.id, q) : nullptr;
        void* kafka_dead = shared_.kafka ? shared_.kafka->dead_letter_port(setup_.id, q) : nullptr;
        if (kafka_rows != nullptr) {
            p.sink = &io::KafkaSink::sink;
            p.sink_ctx = kafka_rows;
        } else if (setup_.rows[q] != nullptr) {
            p.sink = &OutputWriter::sink;
            p.sink_ctx = setup_.rows[q];
        } else {
            p.sink = &Io::sink_rows;
            p.sink_ctx = io.sinks[sink].get();
        }
        const int32_t dl = cfg.queries[q].dead_letter_index;
        if (dl >= 0) {
            if (kafka_dead != nullptr) {
                p.dead_letter_sink = &io::KafkaSink::sink;
                p.dead_letter_ctx = kafka_dead;
            } else if (setup_.dead_letters[q] != nullptr) {
                p.dead_letter_sink = &OutputWriter::sink;
                p.dead_letter_ctx = setup_.dead_letters[q];
            } else {
                p.dead_letter_sink = &Io::sink_rows;
                p.dead_letter_ctx = io.sinks[static_cast<uint32_t>(dl)].get();
            }
        }
        p.max_record_bytes = cfg.limits.max_record_bytes;
        p.max_block_bytes = std::max(max_block, std::size_t{cfg.limits.max_record_bytes} + 1);
        p.idle = cfg.shards.idle;
        p.stop = &shared_.stop;
        pipelines_.push_back(std::make_unique<QueryPipeline>(p));
        pipelines_.back()->set_wait_hook(&AppShard::drain_all, this);
    }
    last_input_ms_.assign(pipelines_.size(), wall_ms());
    if (shared_.kafka) {
        const KafkaRuntime& k = *shared_.kafka;
        kafka_ = std::make_unique<KafkaShard>(*shared_.kafka, setup_.id, pipelines_,
                                              k.has_source() ? feeds[k.source_index()] : std::vector<uint32_t>{},
                                              cfg.limits.max_record_bytes);
    }
    io.ring->submit();
}

void AppShard::collect_source_totals() {
    const AppConfig& cfg = *shared_.config;
    source_totals_.assign(cfg.sources.size(), SourceTotals{});
    sink_totals_.assign(cfg.sinks.size(), SinkTotals{});
    if (!io_) return;
    for (uint32_t k = 0; k < io_->sinks.size() && k < sink_totals_.size(); ++k) {
        const NetSink* n = io_->sinks[k].get();
        if (n == nullptr) continue;
        SinkTotals& st = sink_totals_[k];
        if (n->udp) {
            const auto& c = n->udp->counters();
            st.rows = c.rows;
            st.bytes = c.bytes;
            st.datagrams = c.datagrams;
            st.rows_dropped = c.rows_send_failed + c.rows_dropped_oversize + c.rows_dropped_busy + c.rows_dropped_closed;
        } else if (n->tcp) {
            const auto& c = n->tcp->counters();
            st.rows = c.rows;
            st.bytes = c.bytes;
            st.rows_dropped = c.rows_dropped + c.rows_truncated + c.rows_dropped_closed + n->rows_abandoned;
            st.connects = c.connects;
            st.disconnects = c.disconnects;
        }
    }
    // Sources were opened in config order, UDP and TCP each in their own list.
    std::size_t u = 0;
    std::size_t t = 0;
    for (uint32_t s = 0; s < cfg.sources.size(); ++s) {
        SourceTotals& st = source_totals_[s];
        if (cfg.sources[s].type == SourceType::Dpdk) {
            for (const Io::Dpdk& d : io_->dpdk) {
                if (d.source != s) continue;
                const net::FrameCounters& c = d.queue->counters();
                st.frames = c.frames;
                st.bytes = c.frame_bytes;
                st.datagrams = c.payloads;
                st.copied_for_padding = c.copied_for_padding;
                st.frames_dropped = c.dropped;
            }
        } else if (cfg.sources[s].type == SourceType::Kafka) {
            if (!kafka_) continue;
            const io::KafkaReaderCounters& c = kafka_->counters();
            st.datagrams = c.messages;
            st.bytes = c.bytes;
            st.copied_for_padding = c.messages;  // every payload is copied into the padded block
        } else if (cfg.sources[s].type == SourceType::Udp) {
            if (u >= io_->udp.size()) break;
            const auto& c = io_->udp[u++].source->counters();
            st.datagrams = c.datagrams;
            st.kernel_dropped = c.kernel_dropped;
            st.bytes = c.bytes;
        } else {
            if (t >= io_->tcp.size()) break;
            const auto& c = io_->tcp[t++].source->counters();
            st.connections = c.accepted;
            st.bytes = c.bytes;
        }
    }
}

// Copies this shard's counters into its metrics slot (every kPublishNs, and
// at exit). Sizes are fixed after set-up, so nothing here allocates.
void AppShard::publish_metrics() {
    collect_source_totals();
    query_metrics_.resize(pipelines_.size());
    for (std::size_t q = 0; q < pipelines_.size(); ++q) query_metrics_[q] = pipelines_[q]->metrics();
    if (io_ && io_->ring) {
        const auto& c = io_->ring->counts();
        loop_metrics_.uring_enters = c.enters;
        loop_metrics_.uring_submitted = c.submitted;
        loop_metrics_.uring_completed = c.completed;
    }
    metrics_->publish(loop_metrics_, query_metrics_, source_totals_, sink_totals_);
}

bool AppShard::drain_all(void* self) {
    auto* shard = static_cast<AppShard*>(self);
    bool any = false;
    for (auto& p : shard->pipelines_) any |= p->drain_inbound();
    return any;
}

// Serves the completions taken so far (deferred ones first), then every
// source's end-of-batch work. True when anything arrived.
bool AppShard::pump_completions() {
    Io& io = *io_;
    io.now_ms = wall_ms();
    const int64_t ingest_ns = monotonic_ns();
    for (auto& p : pipelines_) p->set_ingest_ns(ingest_ns);
    io.completions.clear();
    io.completions.swap(io.deferred);
    io.take(io.completions);
    for (const Completion& c : io.completions) dispatch(c);
    for (auto& u : io.udp) u.source->flush();
    for (auto& t : io.tcp) t.source->flush();
    const bool kafka = kafka_ && !draining_ && kafka_->poll(io.now_ms, last_input_ms_);
    return poll_dpdk() || kafka || !io.completions.empty();
}

// One burst from each DPDK queue of this shard: every UDP payload goes to
// the queries its source feeds (in place in the mbufs; a record whose ring
// is full is dropped and counted, as for datagrams), then the burst's mbufs
// are freed at once. While draining, frames stay in the port.
bool AppShard::poll_dpdk() {
    Io& io = *io_;
    if (draining_) return false;
    bool any = false;
    for (Io::Dpdk& d : io.dpdk) {
        if (d.queue->receive() == 0) continue;
        any = true;
        for (const net::DpdkRxQueue::Payload& p : d.queue->payloads()) io.feed(d.feeds, p.data, p.len, true);
        d.queue->release();
    }
    return any;
}

void AppShard::dispatch(const Completion& c) {
    Io& io = *io_;
    const io_uring_cqe cqe = c.cqe();
    const uint8_t owner = net::UserData::owner_of(c.user_data);
    switch (net::UserData::kind_of(c.user_data)) {
        case net::OpKind::udp_recv: {
            if (owner >= io.udp.size()) return;
            Io::Udp& u = io.udp[owner];
            if (draining_) {
                // Ingest has stopped: the datagram's buffer goes back, its records are not taken.
                u.source->on_cqe(cqe, [](const char*, std::size_t) {});
                return;
            }
            // Datagrams cannot wait: a record whose ring is full is dropped and counted.
            u.source->on_cqe(cqe, [&](const char* p, std::size_t len) { io.feed(u.feeds, p, len, true); });
            return;
        }
        case net::OpKind::tcp_accept:
        case net::OpKind::tcp_recv:
        case net::OpKind::tcp_cancel: {
            if (owner >= io.tcp.size()) return;
            Io::TcpHandler h{&io, &io.tcp[owner].feeds};
            io.tcp[owner].source->on_cqe(cqe, h);
            return;
        }
        default:
            if (c.for_sink()) io.on_sink_completion(c);
            return;
    }
}

void AppShard::loop() {
    const AppConfig& cfg = *shared_.config;
    Io& io = *io_;
    for (;;) {
        if (shared_.stop.load(std::memory_order_relaxed)) return;
        // With Kafka, the drain waits for the final checkpoint (and the shard for its cut).
        if (!draining_ && shared_.drain.load(std::memory_order_relaxed) && (!kafka_ || kafka_->may_drain()))
            begin_drain();
        bool progressed = pump_completions();
        if (kafka_ && !draining_) progressed |= kafka_->service();
        const bool paused = kafka_ && kafka_->paused();
        const int64_t now = io.now_ms;
        for (uint32_t q = 0; q < pipelines_.size(); ++q) {
            QueryPipeline& p = *pipelines_[q];
            if (!draining_ && !paused) {
                if (kafka_) p.check_lanes_idle(now);
                p.end_chunk();
                // Silent past its idle timeout: this shard's source stops holding windows back.
                const bool quiet = now - last_input_ms_[q] >= p.plan().props.idle_timeout_ms;
                if (quiet != p.source_idle()) p.set_source_idle(quiet);
            }
            progressed |= p.drain_inbound();
            p.end_batch();
            // Rows leave every iteration: the sinks batch them (batch_bytes,
            // flush_us), so a trickle is not held in a shard buffer.
            p.flush_output();
        }
        const auto t = static_cast<uint64_t>(monotonic_ns());
        for (auto& s : io.sinks)
            if (s) s->poll(t);
        io.ring->submit();
        if (draining_ && (drained() || now - drain_started_ms_ > cfg.drain.timeout_ms)) return;
        ++loop_metrics_.iterations;
        if (t >= next_publish_ns_) {
            publish_metrics();
            next_publish_ns_ = t + kPublishNs;
        }
        if (progressed) {
            idle_rounds_ = 0;
            continue;
        }
        ++loop_metrics_.idle_iterations;
        if (cfg.shards.idle == IdlePolicy::Adaptive) {
            // Sleep in the kernel until a completion or a timeout: short at
            // first (rows waiting for their flush deadline, other shards'
            // rings), longer once the shard has been idle for a while, so an
            // idle appliance costs next to no CPU.
            const bool long_idle = ++idle_rounds_ > kShortWaits;
            io.ring->wait(long_idle ? std::chrono::microseconds(1000) : std::chrono::microseconds(50));
        } else {
            cpu_relax();
        }
    }
}

// Stop reading, then end this shard's source in every pipeline: other shards
// see the end marker behind everything this shard sent them.
void AppShard::begin_drain() {
    draining_ = true;
    drain_started_ms_ = wall_ms();
    for (auto& t : io_->tcp) t.source->pause();
    const bool flush = shared_.config->drain.flush_windows;
    for (auto& p : pipelines_) p->end_source(flush);
}

bool AppShard::drained() const {
    for (const auto& p : pipelines_)
        if (!p->finished()) return false;
    for (const auto& s : io_->sinks)
        if (s && !s->idle()) return false;
    return true;
}

// Rows still buffered in network sinks go out before the shard exits
// (bounded by the drain timeout).
void AppShard::flush_sinks_at_exit() {
    if (!io_ || !io_->ring) return;
    Io& io = *io_;
    const int64_t deadline = wall_ms() + shared_.config->drain.timeout_ms;
    std::vector<Completion>& taken = io.waiting;
    for (;;) {
        bool idle = true;
        const auto t = static_cast<uint64_t>(monotonic_ns());
        for (auto& s : io.sinks) {
            if (!s) continue;
            s->poll(t);
            s->flush();
            idle &= s->idle();
        }
        if (idle || wall_ms() > deadline || shared_.stop.load(std::memory_order_relaxed)) return;
        taken.clear();
        io.take(taken);
        for (const Completion& c : taken)
            if (c.for_sink()) io.on_sink_completion(c);
        io.ring->wait(std::chrono::milliseconds(1));
    }
}

}  // namespace sluice
