// Micro-benchmarks of the SPSC ring between two shards (sluice::SpscRing, the
// ring of variable-length messages the mesh is made of, src/runtime/mesh.h).
//
// BM_SpscRing/burst/bytes: the benchmark's thread produces, pinned to one CPU
// (0 by default); a consumer thread pinned to another (1) creates the ring
// (after pinning, as a shard creates its inbound rings) and drains it as
// QueryPipeline::drain_inbound does: front/pop, release every 64 messages and
// at the end of each drain. The producer stages `burst` messages of `bytes`
// payload bytes with try_alloc/push and publishes them with one flush(); a
// full ring is flushed and retried, as QueryPipeline::alloc_blocking does.
// One iteration moves kMessages messages and ends once the consumer has read
// the last of them, so the time covers the whole cross-core path. The
// consumer reads every 8-byte word of every payload; the sum it ends with
// must equal what the producer wrote, or the benchmark fails.
//
// BM_SpscRingSameThread/burst/bytes: the same messages pushed and drained by
// one thread (no cache line crosses cores): the ring's own cost.
//
// Message sizes: 64 B, and a routed S2 record as QueryPipeline encodes it
// (ring_message.h: the RecordMsg header, 5 aggregate arguments as Values, the
// key "SYMnnn" encoded in 11 bytes; 139 B when RecordMsg is 48 B); the ring
// adds an 8-byte header and pads to 8 bytes. Ring: the mesh's 4 MiB.
//
//   build/bench/micro_ring                     # CPUs 0 and 1
//   build/bench/micro_ring --cpus=2,3          # producer CPU, consumer CPU
//   build/bench/micro_ring --benchmark_filter='SpscRing/32/'
//
// When the two CPUs are not both in the process's affinity mask, the first two
// CPUs it may use are taken; with fewer than two, the threads are not pinned
// (the label says which).
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "../src/runtime/mesh.h"
#include "../src/runtime/ring_message.h"
#include "sluice/base.h"
#include "sluice/spsc_ring.h"

namespace sluice::bench {
namespace {

constexpr uint64_t kMessages = 1u << 18;     // per iteration
constexpr uint32_t kS2RecordBytes = sizeof(RecordMsg) + 5 * sizeof(Value) + 11;
constexpr uint32_t kReleaseEvery = 64;       // as QueryPipeline's consumer
constexpr auto kStallLimit = std::chrono::seconds(10);  // no progress for this long: fail, do not hang

// ------------------------------------------------------------------ pinning

int g_cpu[2] = {0, 1};  // producer, consumer (--cpus=A,B)

// The two CPUs to use, or {-1, -1} when the process may not use two.
void choose_cpus(int out[2]) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    out[0] = out[1] = -1;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
    if (g_cpu[0] != g_cpu[1] && g_cpu[0] >= 0 && g_cpu[1] >= 0 && g_cpu[0] < CPU_SETSIZE &&
        g_cpu[1] < CPU_SETSIZE && CPU_ISSET(g_cpu[0], &allowed) && CPU_ISSET(g_cpu[1], &allowed)) {
        out[0] = g_cpu[0];
        out[1] = g_cpu[1];
        return;
    }
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; ++c)
        if (CPU_ISSET(c, &allowed)) out[n++] = c;
    if (n < 2) out[0] = out[1] = -1;
}

bool pin_self(int cpu) {
    if (cpu < 0) return false;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// Pins the calling thread for its lifetime; puts the old mask back.
class ScopedPin {
public:
    explicit ScopedPin(int cpu) {
        saved_ok_ = pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0;
        pinned_ = saved_ok_ && pin_self(cpu);
    }
    ~ScopedPin() {
        if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
    }
    ScopedPin(const ScopedPin&) = delete;
    ScopedPin& operator=(const ScopedPin&) = delete;
    bool pinned() const noexcept { return pinned_; }

private:
    cpu_set_t saved_;
    bool saved_ok_ = false;
    bool pinned_ = false;
};

// ------------------------------------------------------------------ messages

// Payload word j of message `seq`.
inline uint64_t word(uint64_t seq, uint32_t j) noexcept { return seq * 0x9e3779b97f4a7c15ULL + j; }

inline void write_message(void* dst, uint64_t seq, uint32_t words) noexcept {
    auto* w = static_cast<uint64_t*>(dst);
    for (uint32_t j = 0; j < words; ++j) w[j] = word(seq, j);
}

// The ring keeps every payload 8-byte aligned and rounds its space up to 8
// bytes, so a message of `bytes` is read and written as whole words.
inline uint32_t words_of(uint32_t bytes) noexcept { return (bytes + 7) / 8; }

// The sum of every word of a payload.
inline uint64_t read_message(const void* src, uint32_t bytes) noexcept {
    const auto* w = static_cast<const uint64_t*>(src);
    uint64_t s = 0;
    for (uint32_t j = 0; j < words_of(bytes); ++j) s += w[j];
    return s;
}

// What write_message puts in message seq, summed.
inline uint64_t message_sum(uint64_t seq, uint32_t words) noexcept {
    return seq * 0x9e3779b97f4a7c15ULL * words + uint64_t{words} * (words - 1) / 2;
}

// Drains what the ring shows now; returns messages read.
inline uint64_t drain(SpscRing& ring, uint64_t& sum) noexcept {
    uint32_t len;
    uint64_t n = 0;
    while (const void* m = ring.front(&len)) {
        sum += read_message(m, len);
        ring.pop();
        if (++n % kReleaseEvery == 0) ring.release();
    }
    if (n != 0) ring.release();
    return n;
}

// Stages one message, flushing and waiting while the ring is full (the
// consumer drains until the producer says stop, so the wait ends).
inline void* alloc_waiting(SpscRing& ring, uint32_t bytes) noexcept {
    void* p = ring.try_alloc(bytes);
    if (p != nullptr) [[likely]]
        return p;
    ring.flush();
    uint64_t spins = 0;
    while ((p = ring.try_alloc(bytes)) == nullptr) {
        cpu_relax();
        // Progress when both threads share a CPU; cheap next to the wait itself.
        if (++spins % (1u << 16) == 0) sched_yield();
    }
    return p;
}

// ------------------------------------------------------------------ two threads

struct alignas(kCacheLine) ConsumerSide {
    std::atomic<uint64_t> consumed{0};  // messages read so far (written by the consumer)
    std::atomic<bool> ready{false};     // the ring exists
    std::atomic<bool> failed{false};    // could not create the ring
    bool pinned = false;
    uint64_t sum = 0;                   // valid after join
};

struct alignas(kCacheLine) ProducerSide {
    std::atomic<bool> stop{false};
};

void consumer_main(int cpu, uint32_t ring_bytes, std::unique_ptr<SpscRing>& ring, ConsumerSide& me,
                   const ProducerSide& producer) {
    me.pinned = pin_self(cpu);
    try {
        ring = std::make_unique<SpscRing>(ring_bytes);  // first touch on this CPU
    } catch (...) {
        me.failed.store(true, std::memory_order_release);
        return;
    }
    me.ready.store(true, std::memory_order_release);
    uint64_t total = 0, sum = 0, idle = 0;
    for (;;) {
        const uint64_t n = drain(*ring, sum);
        if (n != 0) {
            total += n;
            me.consumed.store(total, std::memory_order_release);
            idle = 0;
            continue;
        }
        if (producer.stop.load(std::memory_order_acquire)) {
            total += drain(*ring, sum);  // anything flushed before stop
            break;
        }
        cpu_relax();
        if (++idle % (1u << 16) == 0) sched_yield();
    }
    me.consumed.store(total, std::memory_order_release);
    me.sum = sum;
}

void BM_SpscRing(benchmark::State& state) {
    const auto burst = static_cast<uint32_t>(state.range(0));
    const auto bytes = static_cast<uint32_t>(state.range(1));
    int cpus[2];
    choose_cpus(cpus);

    ConsumerSide consumer;
    ProducerSide producer;
    std::unique_ptr<SpscRing> ring;
    ScopedPin pin(cpus[0]);
    std::thread thread(consumer_main, cpus[1], kMeshRingBytes, std::ref(ring), std::ref(consumer),
                       std::cref(producer));
    while (!consumer.ready.load(std::memory_order_acquire) && !consumer.failed.load(std::memory_order_acquire))
        std::this_thread::yield();
    if (consumer.failed.load(std::memory_order_acquire)) {
        thread.join();
        state.SkipWithError("cannot create the ring");
        return;
    }

    const uint32_t words = words_of(bytes);
    uint64_t seq = 0, expect = 0;
    std::string error;
    for (auto _ : state) {
        for (uint64_t sent = 0; sent < kMessages && error.empty();) {
            const uint64_t n = std::min<uint64_t>(burst, kMessages - sent);
            for (uint64_t k = 0; k < n; ++k) {
                void* p = alloc_waiting(*ring, bytes);
                write_message(p, seq, words);
                expect += message_sum(seq, words);
                ++seq;
                ring->push();
            }
            ring->flush();
            sent += n;
        }
        // The iteration ends when the consumer has read everything sent.
        auto last_progress = std::chrono::steady_clock::now();
        uint64_t seen = consumer.consumed.load(std::memory_order_acquire);
        for (uint64_t spins = 0; seen != seq; seen = consumer.consumed.load(std::memory_order_acquire)) {
            cpu_relax();
            if (++spins % (1u << 16) != 0) continue;
            const auto now = std::chrono::steady_clock::now();
            const uint64_t again = consumer.consumed.load(std::memory_order_acquire);
            if (again != seen) {
                last_progress = now;
            } else if (now - last_progress > kStallLimit) {
                error = "the consumer stopped making progress";
                break;
            }
            sched_yield();
        }
        if (!error.empty()) break;
    }
    producer.stop.store(true, std::memory_order_release);
    thread.join();

    if (error.empty() && (consumer.consumed.load() != seq || consumer.sum != expect))
        error = "the consumer read " + std::to_string(consumer.consumed.load()) + " messages of " +
                std::to_string(seq) + (consumer.sum != expect ? ", and their sum differs" : "");
    if (!error.empty()) {
        state.SkipWithError(error.c_str());
        return;
    }
    state.SetItemsProcessed(static_cast<int64_t>(seq));
    state.SetBytesProcessed(static_cast<int64_t>(seq * bytes));
    state.counters["bursts/s"] = benchmark::Counter(static_cast<double>((seq + burst - 1) / burst),
                                                    benchmark::Counter::kIsRate);
    if (pin.pinned() && consumer.pinned)
        state.SetLabel("cpus " + std::to_string(cpus[0]) + "," + std::to_string(cpus[1]));
    else
        state.SetLabel("unpinned");
}

// ------------------------------------------------------------------ one thread

void BM_SpscRingSameThread(benchmark::State& state) {
    const auto burst = static_cast<uint32_t>(state.range(0));
    const auto bytes = static_cast<uint32_t>(state.range(1));
    SpscRing ring(kMeshRingBytes);
    const uint32_t words = words_of(bytes);
    uint64_t seq = 0, expect = 0, sum = 0, read = 0;
    for (auto _ : state) {
        for (uint64_t sent = 0; sent < kMessages;) {
            const uint64_t n = std::min<uint64_t>(burst, kMessages - sent);
            for (uint64_t k = 0; k < n; ++k) {
                void* p = ring.try_alloc(bytes);  // never full: drained after every burst
                write_message(p, seq, words);
                expect += message_sum(seq, words);
                ++seq;
                ring.push();
            }
            ring.flush();
            read += drain(ring, sum);
            sent += n;
        }
    }
    if (read != seq || sum != expect) {
        state.SkipWithError("messages lost or garbled");
        return;
    }
    state.SetItemsProcessed(static_cast<int64_t>(seq));
    state.SetBytesProcessed(static_cast<int64_t>(seq * bytes));
}

void grid(benchmark::internal::Benchmark* b) {
    b->ArgNames({"burst", "bytes"});
    for (const int64_t bytes : {int64_t{64}, int64_t{kS2RecordBytes}})
        for (const int64_t burst : {1, 8, 32, 256}) b->Args({burst, bytes});
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
    using namespace sluice::bench;
    // Our own flag, taken out before Google Benchmark sees the arguments.
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--cpus=", 7) == 0) {
            if (std::sscanf(argv[i] + 7, "%d,%d", &g_cpu[0], &g_cpu[1]) != 2) {
                std::fprintf(stderr, "micro_ring: --cpus=PRODUCER,CONSUMER, got %s\n", argv[i] + 7);
                return 2;
            }
            continue;
        }
        argv[kept++] = argv[i];
    }
    argc = kept;
    benchmark::RegisterBenchmark("BM_SpscRing", BM_SpscRing)->Apply(grid)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_SpscRingSameThread", BM_SpscRingSameThread)
        ->Apply(grid)
        ->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
