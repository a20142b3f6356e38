// Kernel-bypass ingest: DPDK ports whose frames (Ethernet / IPv4 / UDP,
// net/frame_parse.h) feed the shards directly, no kernel on the receive path.
// No DPDK header is included here, so the runtime builds against this
// interface with or without DPDK: a build without it links dpdk_absent.cc,
// whose DpdkRuntime::start() refuses with the reason.
//
//   control thread   DpdkRuntime::start(): EAL (once per process), one mbuf
//                    pool per NUMA node the polling shards sit on, each port
//                    configured with one RX queue per shard (capped by the
//                    device; RSS over IP/UDP when it has several and supports
//                    it), started. DpdkRuntime's destructor stops and closes
//                    the ports and cleans the EAL up, after the shards ended.
//   shard thread     DpdkThread::register_current() once (an lcore id: the
//                    mempool's per-lcore cache), then per queue attach()
//                    (buffers first touched on the shard's node), then per
//                    loop iteration: receive() → payloads() → release().
//
// The data path allocates nothing, takes no lock, makes no virtual call and
// logs nothing: one rte_eth_rx_burst, one parse per frame, one
// rte_pktmbuf_free_bulk per burst. Payloads are handed out in place in the
// mbuf when kPadding bytes of it (trailing frame bytes + tailroom) follow
// them, else copied into a padded slot of the queue (counted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/frame_parse.h"
#include "sluice/result.h"

struct rte_mbuf;

namespace sluice::net {

// Readable bytes after every payload handed out; equals kDecodePadding (sluice/decode.h).
inline constexpr std::size_t kDpdkPadding = 64;

// True in a build with DPDK (meson -Ddpdk=enabled and libdpdk found).
bool dpdk_built_in() noexcept;

struct DpdkPortSetup {
    std::string source;        // the config source's name (messages)
    std::string port;          // a DPDK port name ("net_pcap0", "0000:01:00.0") or decimal id
    uint32_t queues = 0;       // RX queues wanted; 0: one per shard (capped by the device)
    FrameFilter filter;
    bool promiscuous = false;
};

struct DpdkSetup {
    std::vector<std::string> eal_args;  // passed through after sluice's own
    uint32_t memory_mb = 0;             // -m; 0: EAL's default (or what eal_args say)
    uint32_t mbufs = 0;                 // per pool; 0: sized for the queues on its node
    uint32_t burst = 32;                // frames per rte_eth_rx_burst, <= DpdkRxQueue::kMaxBurst
    uint32_t rx_descriptors = 1024;     // per RX queue (adjusted to the device's limits)
    std::vector<int> shard_cpus;        // per shard: its CPU, or -1 (not pinned); size = shard count
    std::vector<DpdkPortSetup> ports;   // one per dpdk source
};

class DpdkRxQueue {
public:
    struct Payload {
        const char* data;
        uint32_t len;
    };
    static constexpr uint32_t kMaxBurst = 512;

    DpdkRxQueue(uint16_t port, uint16_t queue, uint32_t burst, uint32_t max_frame, const FrameFilter& filter,
                std::string description);
    ~DpdkRxQueue();
    DpdkRxQueue(const DpdkRxQueue&) = delete;
    DpdkRxQueue& operator=(const DpdkRxQueue&) = delete;

    // On the shard's thread, after DpdkThread::register_current(): allocates
    // the burst arrays and copy slots there.
    Result<bool> attach();

    // One burst: receives up to `burst` frames and parses them. Returns the
    // frames received; payloads() lists the UDP payloads among them, valid
    // (and the frames held) until release(), which must follow every
    // receive() that returned more than 0.
    uint32_t receive() noexcept;
    std::span<const Payload> payloads() const noexcept;
    void release() noexcept;

    // Written by the owning shard only.
    const FrameCounters& counters() const noexcept;
    const std::string& description() const noexcept { return description_; }
    uint16_t queue_id() const noexcept { return queue_; }

private:
    struct Hot;
    uint16_t port_;
    uint16_t queue_;
    uint32_t burst_;
    uint32_t max_frame_;  // longest frame taken (9216 bytes); a frame spanning mbufs is copied whole
    FrameFilter filter_;
    std::string description_;
    std::unique_ptr<Hot> hot_;  // allocated by attach() on the shard
};

// The calling thread as a DPDK lcore, for its lifetime (destroy it on the
// same thread).
class DpdkThread {
public:
    static Result<std::unique_ptr<DpdkThread>> register_current();
    ~DpdkThread();
    DpdkThread(const DpdkThread&) = delete;
    DpdkThread& operator=(const DpdkThread&) = delete;
    unsigned lcore() const noexcept { return lcore_; }

private:
    DpdkThread() = default;
    unsigned lcore_ = 0;
};

// A port's own counters (rte_eth_stats_get), read by the control thread.
struct DpdkPortStats {
    uint64_t packets = 0;   // received by the device
    uint64_t missed = 0;    // dropped by the device: its RX queue was full (imissed)
    uint64_t errors = 0;    // erroneous frames (ierrors)
    uint64_t no_mbuf = 0;   // receive failures for want of an mbuf (rx_nombuf)
};

class DpdkRuntime {
public:
    // Once per process, on the control thread, before the shards start and
    // after SIGINT/SIGTERM were blocked (the EAL's own threads inherit the
    // mask). The EAL runs on the calling thread's CPUs (--lcores 0@(them)):
    // it spawns no polling thread of its own.
    static Result<std::unique_ptr<DpdkRuntime>> start(const DpdkSetup& setup);
    // Stops and closes the ports, frees the pools, cleans the EAL up. After
    // every shard thread ended.
    ~DpdkRuntime();
    DpdkRuntime(const DpdkRuntime&) = delete;
    DpdkRuntime& operator=(const DpdkRuntime&) = delete;

    // Port p's (setup order) queue polled by `shard`, or nullptr: the port
    // has fewer queues than there are shards.
    DpdkRxQueue* queue(std::size_t port, uint32_t shard) const noexcept;
    // Port p's device counters (zero when unavailable); any thread.
    DpdkPortStats port_stats(std::size_t port) const noexcept;
    // For the start-up log: EAL arguments, ports, queues, RSS, pools.
    const std::vector<std::string>& description() const noexcept { return description_; }

    struct State;  // defined where DPDK is

private:
    DpdkRuntime() = default;
    std::unique_ptr<State> state_;
    std::vector<std::vector<std::unique_ptr<DpdkRxQueue>>> queues_;  // [port][queue]
    std::vector<std::string> description_;
};

}  // namespace sluice::net
