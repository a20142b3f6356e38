// DPDK ports for kernel-bypass ingest (see dpdk_port.h). The only file that
// includes DPDK headers; built when meson finds libdpdk.
#include "net/dpdk_port.h"

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string_view>

namespace sluice::net {

bool dpdk_built_in() noexcept { return true; }

namespace {

std::string rte_error_text(int err) { return rte_strerror(err < 0 ? -err : err); }

bool has_option(const std::vector<std::string>& args, std::string_view opt) {
    for (const std::string& a : args)
        if (a == opt || (a.size() > opt.size() && a.compare(0, opt.size(), opt) == 0 && a[opt.size()] == '='))
            return true;
    return false;
}

// "0-3,6": the CPUs the calling thread may run on.
std::string own_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return "0";
    std::string out;
    int first = -1;
    for (int c = 0; c <= CPU_SETSIZE; ++c) {
        const bool in = c < CPU_SETSIZE && CPU_ISSET(c, &set);
        if (in && first < 0) first = c;
        if (!in && first >= 0) {
            if (!out.empty()) out += ',';
            out += std::to_string(first);
            if (c - 1 > first) {
                out += '-';
                out += std::to_string(c - 1);
            }
            first = -1;
        }
    }
    return out.empty() ? "0" : out;
}

// The NUMA node of a CPU (the EAL's socket id), or -1 when unknown.
int numa_node_of(int cpu) {
    if (cpu < 0) return -1;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return -1;
    int node = -1;
    while (dirent* e = ::readdir(d)) {
        if (std::strncmp(e->d_name, "node", 4) == 0 && e->d_name[4] >= '0' && e->d_name[4] <= '9') {
            node = std::atoi(e->d_name + 4);
            break;
        }
    }
    ::closedir(d);
    return node;
}

std::string socket_text(int socket) { return socket == SOCKET_ID_ANY ? "any" : std::to_string(socket); }

// 2^k - 1 >= n: the mempool's most efficient sizes.
uint32_t pool_size_for(uint64_t n) {
    uint64_t s = 1;
    while (s - 1 < n) s <<= 1;
    return static_cast<uint32_t>(std::min<uint64_t>(s - 1, UINT32_MAX));
}

constexpr unsigned kPoolCache = 256;  // per lcore; <= RTE_MEMPOOL_CACHE_MAX_SIZE
// The longest frame taken (a 9000-byte MTU jumbo frame and its headers):
// one spanning several mbufs is copied into a slot of this size.
constexpr uint32_t kMaxFrameBytes = 9216;

}  // namespace

// ---------------------------------------------------------------------------
// The RX queue of one shard.

struct DpdkRxQueue::Hot {
    FrameCounters counters;
    uint32_t held = 0;   // mbufs of the current burst
    uint32_t count = 0;  // payloads of the current burst
    std::unique_ptr<rte_mbuf*[]> mbufs;
    std::unique_ptr<Payload[]> payloads;
    std::unique_ptr<char[]> slots;  // burst × slot_bytes: copies with padding
    std::size_t slot_bytes = 0;
};

DpdkRxQueue::DpdkRxQueue(uint16_t port, uint16_t queue, uint32_t burst, uint32_t max_frame, const FrameFilter& filter,
                         std::string description)
    : port_(port), queue_(queue), burst_(std::clamp<uint32_t>(burst, 1, kMaxBurst)),
      max_frame_(max_frame), filter_(filter), description_(std::move(description)) {}

DpdkRxQueue::~DpdkRxQueue() {
    if (hot_ && hot_->held != 0) release();
}

Result<bool> DpdkRxQueue::attach() {
    auto h = std::make_unique<Hot>();
    h->slot_bytes = (max_frame_ + kDpdkPadding + 63) / 64 * 64;
    h->mbufs.reset(new rte_mbuf*[burst_]());
    h->payloads.reset(new Payload[burst_]());
    // Zeroed: first touched here, and the padding a decoder reads is defined.
    h->slots.reset(new char[burst_ * h->slot_bytes]());
    hot_ = std::move(h);
    return true;
}

const FrameCounters& DpdkRxQueue::counters() const noexcept {
    static const FrameCounters kNone{};
    return hot_ ? hot_->counters : kNone;
}

std::span<const DpdkRxQueue::Payload> DpdkRxQueue::payloads() const noexcept {
    return {hot_->payloads.get(), hot_->count};
}

uint32_t DpdkRxQueue::receive() noexcept {
    Hot& h = *hot_;
    const uint16_t n = rte_eth_rx_burst(port_, queue_, h.mbufs.get(), static_cast<uint16_t>(burst_));
    h.held = n;
    h.count = 0;
    if (n == 0) return 0;
    FrameCounters& c = h.counters;
    c.frames += n;
    char* slot = h.slots.get();
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = h.mbufs[i];
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(h.mbufs[i + 1], const void*));
        const uint32_t len = rte_pktmbuf_pkt_len(m);
        c.frame_bytes += len;
        const uint8_t* frame;
        std::size_t after;  // readable bytes after the frame
        bool copied = false;
        if (m->nb_segs == 1) [[likely]] {
            frame = rte_pktmbuf_mtod(m, const uint8_t*);
            after = rte_pktmbuf_tailroom(m);
        } else {
            // Scattered over segments: one contiguous copy, then parsed there.
            if (len > max_frame_) {
                c.count(FrameDrop::bad_length);
                continue;
            }
            uint32_t at = 0;
            for (const rte_mbuf* s = m; s != nullptr && at < len; s = s->next) {
                const uint32_t take = std::min<uint32_t>(s->data_len, len - at);
                std::memcpy(slot + at, rte_pktmbuf_mtod(s, const char*), take);
                at += take;
            }
            frame = reinterpret_cast<const uint8_t*>(slot);
            after = h.slot_bytes - len;
            copied = true;
        }
        const FrameResult r = parse_frame(frame, len, filter_);
        if (r.drop != FrameDrop::none) [[unlikely]] {
            c.count(r.drop);
            continue;
        }
        const char* payload = reinterpret_cast<const char*>(frame) + r.offset;
        if (!copied && len - (r.offset + r.length) + after < kDpdkPadding) [[unlikely]] {
            std::memcpy(slot, payload, r.length);
            payload = slot;
            copied = true;
        }
        if (copied) [[unlikely]] {
            slot += h.slot_bytes;
            ++c.copied_for_padding;
        }
        h.payloads[h.count++] = Payload{payload, r.length};
        ++c.payloads;
        c.payload_bytes += r.length;
    }
    return n;
}

void DpdkRxQueue::release() noexcept {
    Hot& h = *hot_;
    if (h.held != 0) rte_pktmbuf_free_bulk(h.mbufs.get(), h.held);
    h.held = 0;
    h.count = 0;
}

// ---------------------------------------------------------------------------
// Shard threads as lcores.

Result<std::unique_ptr<DpdkThread>> DpdkThread::register_current() {
    if (rte_thread_register() != 0)
        return Error{"dpdk: cannot register the shard thread with the EAL: " + rte_error_text(rte_errno) +
                     " (at most " + std::to_string(RTE_MAX_LCORE - 1) + " shards poll DPDK queues)"};
    std::unique_ptr<DpdkThread> t(new DpdkThread());
    t->lcore_ = rte_lcore_id();
    return t;
}

DpdkThread::~DpdkThread() { rte_thread_unregister(); }

// ---------------------------------------------------------------------------
// EAL, pools and ports.

struct DpdkRuntime::State {
    std::vector<uint16_t> ports;  // started, to stop and close
    std::vector<uint16_t> by_setup;  // the port id of each DpdkPortSetup
    std::map<int, rte_mempool*> pools;  // by socket
    bool eal = false;
    std::string own_runtime_dir;  // removed at exit when sluice chose the prefix
};

namespace {

bool g_eal_started = false;  // rte_eal_init may run once per process

Result<std::vector<std::string>> eal_arguments(const DpdkSetup& setup, bool& own_prefix) {
    const std::vector<std::string>& user = setup.eal_args;
    std::vector<std::string> args = {"sluice"};
    // The EAL's main lcore is this (control) thread, left on the CPUs it may
    // use; shard threads register as lcores of their own.
    args.push_back("--lcores=0@(" + own_cpus() + ")");
    own_prefix = !has_option(user, "--file-prefix");
    if (own_prefix) args.push_back("--file-prefix=sluice-" + std::to_string(::getpid()));
    const bool no_huge = has_option(user, "--no-huge") || has_option(user, "--legacy-mem");
    if (!has_option(user, "--in-memory") && !has_option(user, "--no-shconf"))
        args.push_back(no_huge ? "--no-shconf" : "--in-memory");
    if (!has_option(user, "--telemetry") && !has_option(user, "--no-telemetry")) args.push_back("--no-telemetry");
    args.push_back("--log-level=warning");  // the user's --log-level options come later and win
    if (setup.memory_mb != 0) {
        args.push_back("-m");
        args.push_back(std::to_string(setup.memory_mb));
    }
    args.insert(args.end(), user.begin(), user.end());
    return args;
}

Result<bool> init_eal(const std::vector<std::string>& args) {
    if (g_eal_started) return Error{"dpdk: the EAL was already initialized in this process"};
    g_eal_started = true;
    std::vector<std::string> copy = args;  // rte_eal_init may permute argv
    std::vector<char*> argv;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    // EAL logs go to stderr, like sluice's own; stdout may carry rows.
    rte_openlog_stream(stderr);
    std::fflush(stdout);
    // The EAL prints its usage to stdout on bad arguments: keep rows clean.
    const int saved = ::dup(STDOUT_FILENO);
    if (saved >= 0) ::dup2(STDERR_FILENO, STDOUT_FILENO);
    const int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
    std::fflush(stdout);
    if (saved >= 0) {
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
    }
    if (rc < 0) {
        std::string line;
        for (std::size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + args[i];
        return Error{"dpdk: EAL initialization failed: " + rte_error_text(rte_errno) + " (arguments: " + line + ")"};
    }
    return true;
}

std::string port_names() {
    std::string names;
    uint16_t p;
    RTE_ETH_FOREACH_DEV(p) {
        char name[RTE_ETH_NAME_MAX_LEN] = {};
        rte_eth_dev_get_name_by_port(p, name);
        names += (names.empty() ? "" : ", ") + std::string(name) + " (" + std::to_string(p) + ")";
    }
    return names.empty() ? "none; give one with --vdev or a PCI device in eal_args" : names;
}

Result<uint16_t> find_port(const DpdkPortSetup& ps) {
    const std::string& id = ps.port;
    const bool numeric = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric && id.size() <= 5) {
        const unsigned long v = std::strtoul(id.c_str(), nullptr, 10);
        if (v < RTE_MAX_ETHPORTS && rte_eth_dev_is_valid_port(static_cast<uint16_t>(v)))
            return static_cast<uint16_t>(v);
    } else {
        uint16_t p = 0;
        if (rte_eth_dev_get_port_by_name(id.c_str(), &p) == 0) return p;
    }
    return Error{"dpdk source '" + ps.source + "': no DPDK port '" + id + "' (ports: " + port_names() + ")"};
}

}  // namespace

Result<std::unique_ptr<DpdkRuntime>> DpdkRuntime::start(const DpdkSetup& setup) {
    std::unique_ptr<DpdkRuntime> rt(new DpdkRuntime());
    rt->state_ = std::make_unique<State>();
    State& st = *rt->state_;
    const uint32_t shards = static_cast<uint32_t>(std::max<std::size_t>(setup.shard_cpus.size(), 1));
    const uint32_t burst = std::clamp<uint32_t>(setup.burst, 1, DpdkRxQueue::kMaxBurst);

    bool own_prefix = false;
    auto args = eal_arguments(setup, own_prefix);
    if (!args) return args.error();
    auto eal = init_eal(*args);
    if (!eal) return eal.error();
    st.eal = true;
    if (own_prefix) {
        if (const char* dir = rte_eal_get_runtime_dir()) st.own_runtime_dir = dir;
    }
    {
        std::string line = "dpdk: EAL";
        for (std::size_t i = 1; i < args->size(); ++i) line += " " + (*args)[i];
        rt->description_.push_back(line);
    }

    // Ports first: the queues they get decide the pools' sizes.
    struct Planned {
        uint16_t port;
        uint16_t queues;
        uint16_t rx_desc;
        uint64_t rss_hf;
        rte_eth_dev_info info;
        std::vector<int> sockets;  // per queue
    };
    std::vector<Planned> planned;
    std::map<int, uint64_t> need;  // mbufs per socket
    for (const DpdkPortSetup& ps : setup.ports) {
        auto port = find_port(ps);
        if (!port) return port.error();
        for (const Planned& p : planned)
            if (p.port == *port)
                return Error{"dpdk source '" + ps.source + "': port '" + ps.port + "' is already another dpdk source's"};
        Planned p{};
        p.port = *port;
        const int rc = rte_eth_dev_info_get(p.port, &p.info);
        if (rc != 0) return Error{"dpdk source '" + ps.source + "': port '" + ps.port + "': " + rte_error_text(rc)};
        if (p.info.max_rx_queues == 0)
            return Error{"dpdk source '" + ps.source + "': port '" + ps.port + "' has no RX queue"};
        const uint32_t want = ps.queues != 0 ? std::min(ps.queues, shards) : shards;
        p.queues = static_cast<uint16_t>(std::min<uint32_t>(want, p.info.max_rx_queues));
        p.rss_hf = p.queues > 1 ? (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & p.info.flow_type_rss_offloads : 0;
        uint16_t rxd = static_cast<uint16_t>(std::min<uint32_t>(setup.rx_descriptors, UINT16_MAX));
        uint16_t txd = 0;
        if (rte_eth_dev_adjust_nb_rx_tx_desc(p.port, &rxd, &txd) != 0) rxd = static_cast<uint16_t>(setup.rx_descriptors);
        p.rx_desc = rxd;
        const int port_socket = rte_eth_dev_socket_id(p.port);
        for (uint16_t q = 0; q < p.queues; ++q) {
            int s = numa_node_of(setup.shard_cpus.empty() ? -1 : setup.shard_cpus[q]);
            if (s < 0) s = port_socket >= 0 ? port_socket : SOCKET_ID_ANY;
            p.sockets.push_back(s);
            need[s] += uint64_t{rxd} + burst;
        }
        planned.push_back(std::move(p));
    }

    // One pool per NUMA node the polling shards are on.
    for (auto& [socket, n] : need) {
        const uint64_t caches = uint64_t{kPoolCache} * (shards + 1);
        const uint64_t minimum = n + caches;
        uint32_t size = setup.mbufs;
        if (size == 0) {
            size = pool_size_for(std::max<uint64_t>(minimum, 8191));
        } else if (size < minimum) {
            return Error{"dpdk: mbufs = " + std::to_string(size) + " is too few for the RX queues on NUMA node " +
                         socket_text(socket) + ": they hold " + std::to_string(n) +
                         " (rx_descriptors + burst each) and the per-shard caches " + std::to_string(caches) +
                         "; give at least " + std::to_string(minimum)};
        }
        const std::string name = "sluice_mbuf_" + (socket == SOCKET_ID_ANY ? std::string("any") : std::to_string(socket));
        rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), size, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
        std::string where = "node " + socket_text(socket);
        if (pool == nullptr && socket != SOCKET_ID_ANY) {
            // e.g. --no-huge: memory exists on one node only.
            pool = rte_pktmbuf_pool_create(name.c_str(), size, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
            where += " (allocated on any node: none left on this one)";
        }
        if (pool == nullptr)
            return Error{"dpdk: cannot create the mbuf pool for NUMA node " + socket_text(socket) + " (" +
                         std::to_string(size) + " mbufs of " + std::to_string(RTE_MBUF_DEFAULT_BUF_SIZE) +
                         " bytes): " + rte_error_text(rte_errno) + "; raise [dpdk] memory_mb or lower mbufs"};
        st.pools[socket] = pool;
        rt->description_.push_back("dpdk: pool " + name + ": " + std::to_string(size) + " mbufs of " +
                                   std::to_string(RTE_MBUF_DEFAULT_BUF_SIZE) + " bytes, " + where);
    }

    rt->queues_.resize(setup.ports.size());
    for (std::size_t i = 0; i < planned.size(); ++i) {
        const Planned& p = planned[i];
        const DpdkPortSetup& ps = setup.ports[i];
        const std::string what = "dpdk source '" + ps.source + "': port '" + ps.port + "': ";
        rte_eth_conf conf{};
        if (p.rss_hf != 0) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = nullptr;  // the driver's default key
            conf.rx_adv_conf.rss_conf.rss_hf = p.rss_hf;
        }
        // Receive only; a driver that insists on a TX queue gets one, unused.
        uint16_t tx_queues = 0;
        int rc = rte_eth_dev_configure(p.port, p.queues, 0, &conf);
        if (rc != 0 && p.info.max_tx_queues > 0) {
            tx_queues = 1;
            rc = rte_eth_dev_configure(p.port, p.queues, tx_queues, &conf);
        }
        if (rc != 0) return Error{what + "configure (" + std::to_string(p.queues) + " RX queues): " + rte_error_text(rc)};
        if (tx_queues != 0) {
            rc = rte_eth_tx_queue_setup(p.port, 0, 512, static_cast<unsigned>(p.sockets[0]), nullptr);
            if (rc != 0) return Error{what + "TX queue setup: " + rte_error_text(rc)};
        }
        rte_mempool* first_pool = st.pools.at(p.sockets[0]);
        const uint32_t max_frame = std::max<uint32_t>(
            kMaxFrameBytes, static_cast<uint32_t>(rte_pktmbuf_data_room_size(first_pool)) - RTE_PKTMBUF_HEADROOM);
        for (uint16_t q = 0; q < p.queues; ++q) {
            rte_mempool* pool = st.pools.at(p.sockets[q]);
            rc = rte_eth_rx_queue_setup(p.port, q, p.rx_desc, static_cast<unsigned>(p.sockets[q]), nullptr, pool);
            if (rc != 0)
                return Error{what + "RX queue " + std::to_string(q) + " setup: " + rte_error_text(rc) +
                             " (a net_pcap infinite_rx port keeps every packet of its file in mbufs: raise [dpdk] mbufs)"};
            rt->queues_[i].push_back(std::make_unique<DpdkRxQueue>(
                p.port, q, burst, max_frame, ps.filter,
                ps.port + " queue " + std::to_string(q) + " (node " + socket_text(p.sockets[q]) + ")"));
        }
        if (ps.promiscuous) {
            rc = rte_eth_promiscuous_enable(p.port);
            if (rc != 0 && rc != -ENOTSUP) return Error{what + "promiscuous mode: " + rte_error_text(rc)};
        }
        rc = rte_eth_dev_start(p.port);
        if (rc != 0) return Error{what + "start: " + rte_error_text(rc)};
        st.ports.push_back(p.port);
        st.by_setup.push_back(p.port);
        std::string line = "dpdk: source '" + ps.source + "' on port " + ps.port + " (" + std::to_string(p.port) +
                           ", " + (p.info.driver_name ? p.info.driver_name : "?") + "): " + std::to_string(p.queues) +
                           " RX queue(s) of " + std::to_string(p.rx_desc) + " descriptors";
        if (p.queues > 1) line += p.rss_hf != 0 ? ", RSS over IPv4/UDP" : ", no RSS (the device spreads frames itself)";
        if (p.queues < shards)
            line += "; shards " + std::to_string(p.queues) + ".." + std::to_string(shards - 1) +
                    " poll no queue of it (records reach them through the rings)";
        rt->description_.push_back(line);
    }
    return rt;
}

DpdkRuntime::~DpdkRuntime() {
    queues_.clear();  // hold no mbufs any more
    if (!state_) return;
    for (const uint16_t p : state_->ports) {
        rte_eth_dev_stop(p);
        rte_eth_dev_close(p);
    }
    for (auto& [socket, pool] : state_->pools) rte_mempool_free(pool);
    if (state_->eal) {
        rte_eal_cleanup();
        // An own --file-prefix leaves an empty runtime directory behind.
        if (!state_->own_runtime_dir.empty()) ::rmdir(state_->own_runtime_dir.c_str());
    }
}

DpdkPortStats DpdkRuntime::port_stats(std::size_t port) const noexcept {
    DpdkPortStats out;
    if (!state_ || port >= state_->by_setup.size()) return out;
    rte_eth_stats s{};
    if (rte_eth_stats_get(state_->by_setup[port], &s) != 0) return out;
    out.packets = s.ipackets;
    out.missed = s.imissed;
    out.errors = s.ierrors;
    out.no_mbuf = s.rx_nombuf;
    return out;
}

DpdkRxQueue* DpdkRuntime::queue(std::size_t port, uint32_t shard) const noexcept {
    if (port >= queues_.size() || shard >= queues_[port].size()) return nullptr;
    return queues_[port][shard].get();
}

}  // namespace sluice::net
