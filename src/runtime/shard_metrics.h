// Live metrics of `sluice run`. Each shard keeps plain counters on its hot
// path and, every few milliseconds, copies them into its own cache-aligned
// slot of relaxed atomics; the metrics endpoint and the periodic log read
// the slots and sum. Nothing on the record path touches shared memory.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "net/frame_parse.h"
#include "sluice/stats.h"

namespace sluice {

// Ingest → emit latency buckets (upper bounds, microseconds), from 1 µs:
// what the BENCH.md latency target is stated in, up to a second.
inline constexpr std::array<uint64_t, 19> kLatencyBucketsUs = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000};

struct LatencyBuckets {
    std::array<uint64_t, kLatencyBucketsUs.size() + 1> counts{};  // last: above every bound (+Inf)
    uint64_t sum_ns = 0;

    void observe(uint64_t ns) noexcept {
        std::size_t b = 0;
        while (b < kLatencyBucketsUs.size() && ns > kLatencyBucketsUs[b] * 1000) ++b;
        ++counts[b];
        sum_ns += ns;
    }
    void add(const LatencyBuckets& o) noexcept {
        for (std::size_t b = 0; b < counts.size(); ++b) counts[b] += o.counts[b];
        sum_ns += o.sum_ns;
    }
    uint64_t count() const noexcept {
        uint64_t n = 0;
        for (uint64_t c : counts) n += c;
        return n;
    }
};

// One query on one shard.
struct QueryMetrics {
    ShardCounters counters;
    uint64_t groups = 0;
    uint64_t open_windows = 0;
    uint64_t state_bytes = 0;
    int64_t watermark_ms = INT64_MIN;  // INT64_MIN: no watermark yet (or the query has none)
    uint64_t ring_full_events = 0;     // a message to another shard found its ring full
    uint64_t ring_bytes = 0;           // bytes waiting in this shard's inbound rings
    uint64_t ring_capacity = 0;        // bytes of those rings
    LatencyBuckets latency;            // per output flush: oldest record's receipt → rows handed to the sink
};

// One shard's loop and io_uring.
struct LoopMetrics {
    uint64_t iterations = 0;
    uint64_t idle_iterations = 0;  // iterations that found nothing to do
    uint64_t uring_enters = 0;
    uint64_t uring_submitted = 0;
    uint64_t uring_completed = 0;
};

// Per configured source, one shard's socket (or DPDK queue).
struct SourceTotals {
    uint64_t datagrams = 0;       // udp; dpdk: UDP payloads taken
    uint64_t kernel_dropped = 0;  // udp: dropped at the full socket buffer, never taken
    uint64_t connections = 0;     // tcp: accepted
    uint64_t bytes = 0;           // udp, tcp: payload bytes; dpdk: bytes of the frames received
    uint64_t frames = 0;          // dpdk: frames received
    uint64_t copied_for_padding = 0;  // dpdk: payloads copied for want of room for the decoder's padding
    std::array<uint64_t, net::kFrameDropReasons> frames_dropped{};  // dpdk: by net::FrameDrop ([0] unused)
};

// Per configured sink, one shard's network sink (zero for stdout/file).
struct SinkTotals {
    uint64_t rows = 0;           // handed to the kernel
    uint64_t bytes = 0;
    uint64_t datagrams = 0;      // udp
    uint64_t rows_dropped = 0;   // every reason: busy, oversize, full (drop policy), closed, send failed, truncated
    uint64_t connects = 0;       // tcp
    uint64_t disconnects = 0;    // tcp
};

struct ShardMetrics {
    LoopMetrics loop;
    std::vector<QueryMetrics> queries;
    std::vector<SourceTotals> sources;
    std::vector<SinkTotals> sinks;
};

// One shard's published copy: written by that shard only, read by anyone.
// Fields are copied word by word with relaxed atomics, so a reader may see
// one publication's counter next to the previous one's (each value is
// whole; counters only grow between publications).
class MetricsSlot {
public:
    MetricsSlot(std::size_t queries, std::size_t sources, std::size_t sinks)
        : queries_(queries), sources_(sources), sinks_(sinks),
          storage_(new std::atomic<uint64_t>[words_for(queries, sources, sinks) + 2 * kPadWords]()),
          words_(storage_.get() + kPadWords) {}

    void publish(const LoopMetrics& loop, std::span<const QueryMetrics> queries,
                 std::span<const SourceTotals> sources, std::span<const SinkTotals> sinks) noexcept {
        std::size_t at = 0;
        store(at, &loop, 1);
        store(at, queries.data(), std::min(queries.size(), queries_));
        at = offset_sources();
        store(at, sources.data(), std::min(sources.size(), sources_));
        at = offset_sinks();
        store(at, sinks.data(), std::min(sinks.size(), sinks_));
    }

    ShardMetrics read() const {
        ShardMetrics m;
        m.queries.resize(queries_);
        m.sources.resize(sources_);
        m.sinks.resize(sinks_);
        std::size_t at = 0;
        load(at, &m.loop, 1);
        load(at, m.queries.data(), queries_);
        load(at, m.sources.data(), sources_);
        load(at, m.sinks.data(), sinks_);
        return m;
    }

private:
    // A cache line of padding at each end: another shard's slot, or its
    // hot data, never shares a line with this one.
    static constexpr std::size_t kPadWords = 8;
    static_assert(std::is_trivially_copyable_v<QueryMetrics> && sizeof(QueryMetrics) % 8 == 0);
    static_assert(std::is_trivially_copyable_v<LoopMetrics> && sizeof(LoopMetrics) % 8 == 0);
    static_assert(sizeof(SourceTotals) % 8 == 0 && sizeof(SinkTotals) % 8 == 0);
    static_assert(std::is_trivially_copyable_v<SourceTotals> && std::is_trivially_copyable_v<SinkTotals>);

    static std::size_t words_for(std::size_t q, std::size_t so, std::size_t si) {
        return (sizeof(LoopMetrics) + q * sizeof(QueryMetrics) + so * sizeof(SourceTotals) +
                si * sizeof(SinkTotals)) / 8;
    }
    std::size_t offset_sources() const { return (sizeof(LoopMetrics) + queries_ * sizeof(QueryMetrics)) / 8; }
    std::size_t offset_sinks() const { return offset_sources() + sources_ * sizeof(SourceTotals) / 8; }

    template <class T>
    void store(std::size_t& at, const T* from, std::size_t n) noexcept {
        const auto* bytes = reinterpret_cast<const unsigned char*>(from);
        for (std::size_t w = 0; w < n * sizeof(T) / 8; ++w) {
            uint64_t v;
            std::memcpy(&v, bytes + 8 * w, 8);
            words_[at++].store(v, std::memory_order_relaxed);
        }
    }
    template <class T>
    void load(std::size_t& at, T* to, std::size_t n) const noexcept {
        auto* bytes = reinterpret_cast<unsigned char*>(to);
        for (std::size_t w = 0; w < n * sizeof(T) / 8; ++w) {
            const uint64_t v = words_[at++].load(std::memory_order_relaxed);
            std::memcpy(bytes + 8 * w, &v, 8);
        }
    }

    std::size_t queries_;
    std::size_t sources_;
    std::size_t sinks_;
    std::unique_ptr<std::atomic<uint64_t>[]> storage_;
    std::atomic<uint64_t>* words_;
};

}  // namespace sluice
