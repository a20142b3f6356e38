// run_appliance: the control thread of `sluice run`. Plans every query, opens
// the file and stdout sinks, lays out one SPSC mesh per query, starts one
// pinned shard per configured CPU, prints the plan once every shard has its
// sockets, writes file/stdout rows while the shards run, turns SIGINT/SIGTERM
// into a drain (a second one stops at once), and reports the counters.
#include <fcntl.h>
#include <unistd.h>

#include <barrier>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "app_shard.h"
#include "config.h"
#include "kafka_runtime.h"
#include "log.h"
#include "metrics_hub.h"
#include "net/dpdk_port.h"
#include "output_writer.h"
#include "sluice/base.h"
#include "sluice/runtime.h"
#include "sluice/sql.h"
#include "stop_signals.h"
#include "topology.h"

namespace sluice {

namespace {

// The DPDK side of the config, in net/'s terms.
net::DpdkSetup dpdk_setup(const AppConfig& cfg) {
    net::DpdkSetup d;
    d.eal_args = cfg.dpdk.eal_args;
    d.memory_mb = cfg.dpdk.memory_mb;
    d.mbufs = cfg.dpdk.mbufs;
    d.burst = cfg.dpdk.burst;
    d.rx_descriptors = cfg.dpdk.rx_descriptors;
    for (uint32_t s = 0; s < cfg.shards.count; ++s)
        d.shard_cpus.push_back(cfg.shards.cpus.empty() ? -1 : static_cast<int>(cfg.shards.cpus[s]));
    for (const SourceSpec& src : cfg.sources) {
        if (src.type != SourceType::Dpdk) continue;
        net::DpdkPortSetup p;
        p.source = src.name;
        p.port = src.port;
        p.queues = src.queues;
        p.promiscuous = src.promiscuous;
        for (const uint16_t port : src.udp_ports) (void)p.filter.add_port(port);
        p.filter.check_address = !src.ipv4.empty();
        p.filter.address = src.ipv4_address;
        d.ports.push_back(std::move(p));
    }
    return d;
}

// A source's counters in the --stats JSON (after its name); `port`: a dpdk
// source's device counters.
std::string source_json(const SourceSpec& spec, const SourceTotals& sum, const net::DpdkPortStats& port) {
    switch (spec.type) {
        case SourceType::Udp:
            return ",\"bytes\":" + std::to_string(sum.bytes) + ",\"datagrams\":" + std::to_string(sum.datagrams) +
                   ",\"kernel_dropped\":" + std::to_string(sum.kernel_dropped);
        case SourceType::Tcp:
            return ",\"bytes\":" + std::to_string(sum.bytes) + ",\"connections\":" + std::to_string(sum.connections);
        case SourceType::Kafka:
            return ",\"type\":\"kafka\",\"messages\":" + std::to_string(sum.datagrams) + ",\"bytes\":" +
                   std::to_string(sum.bytes) + ",\"copied_for_padding\":" + std::to_string(sum.copied_for_padding);
        case SourceType::Dpdk: {
            std::string j = ",\"type\":\"dpdk\",\"frames\":" + std::to_string(sum.frames) + ",\"bytes\":" +
                            std::to_string(sum.bytes) + ",\"datagrams\":" + std::to_string(sum.datagrams) +
                            ",\"copied_for_padding\":" + std::to_string(sum.copied_for_padding) + ",\"dropped\":{";
            for (std::size_t r = 1; r < net::kFrameDropReasons; ++r)
                j += (r > 1 ? ",\"" : "\"") + std::string(net::kFrameDropNames[r]) + "\":" +
                     std::to_string(sum.frames_dropped[r]);
            return j + "},\"port\":{\"packets\":" + std::to_string(port.packets) + ",\"missed\":" +
                   std::to_string(port.missed) + ",\"errors\":" + std::to_string(port.errors) +
                   ",\"no_mbuf\":" + std::to_string(port.no_mbuf) + "}";
        }
    }
    return {};
}

}  // namespace

int run_appliance(const std::string& config_path, const std::string& stats_path) {
    auto loaded = load_config(config_path);
    if (!loaded) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        return 1;
    }
    const AppConfig& cfg = loaded.value();
    auto planned = check_config(cfg);
    if (!planned) {
        std::fprintf(stderr, "%s\n", planned.error().message.c_str());
        return 1;
    }
    const std::vector<Plan>& plans = planned.value();
    const uint32_t shards = cfg.shards.count;
    const uint32_t queries = static_cast<uint32_t>(cfg.queries.size());

    std::unique_ptr<Topology> topology;
    if (!cfg.shards.cpus.empty()) {
        auto t = Topology::load();
        if (!t) {
            SLUICE_LOG_ERROR("%s", t.error().message.c_str());
            return 1;
        }
        topology.reset(t.value());
    }

    // stdout and file sinks are written by this thread, whole buffers at a time.
    std::vector<int> sink_fds(cfg.sinks.size(), -1);
    for (uint32_t s = 0; s < cfg.sinks.size(); ++s) {
        const SinkSpec& spec = cfg.sinks[s];
        if (spec.type == SinkType::Stdout) {
            sink_fds[s] = STDOUT_FILENO;
        } else if (spec.type == SinkType::File) {
            sink_fds[s] = ::open(spec.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (sink_fds[s] < 0) {
                std::fprintf(stderr, "%s\n",
                             config_error(cfg, spec.pos, "sink '" + spec.name + "': cannot open '" + spec.path +
                                                             "': " + std::strerror(errno))
                                 .c_str());
                for (int fd : sink_fds)
                    if (fd > STDERR_FILENO) ::close(fd);
                return 1;
            }
        }
    }
    OutputWriter writer;
    std::vector<AppShardSetup> setups(shards);
    std::vector<uint32_t> row_groups;
    for (uint32_t q = 0; q < queries; ++q) {
        const uint32_t group = writer.add_group(plans[q].limit);
        row_groups.push_back(group);
        const uint32_t dead_group = writer.add_group(std::nullopt);
        const int rows_fd = sink_fds[cfg.queries[q].sink_index];
        const int32_t dl = cfg.queries[q].dead_letter_index;
        const int dead_fd = dl >= 0 ? sink_fds[static_cast<uint32_t>(dl)] : -1;
        for (uint32_t s = 0; s < shards; ++s) {
            setups[s].rows.push_back(rows_fd >= 0 ? writer.add_port(rows_fd, group) : nullptr);
            setups[s].dead_letters.push_back(
                dead_fd >= 0 ? writer.add_port(dead_fd, dead_group, OutputWriter::kSmallRingBytes) : nullptr);
        }
    }
    std::vector<std::unique_ptr<Mesh>> meshes;
    for (uint32_t q = 0; q < queries; ++q) meshes.push_back(std::make_unique<Mesh>(shards, cfg.limits.ring_bytes));

    // Blocked here, so every shard thread inherits the mask: signals come to wait() only.
    StopSignals signals;
    // The EAL and its threads start after the mask is set (they inherit it);
    // the ports are stopped when this goes, after every shard thread ended.
    std::unique_ptr<net::DpdkRuntime> dpdk;
    bool any_dpdk = false;
    for (const SourceSpec& s : cfg.sources) any_dpdk |= s.type == SourceType::Dpdk;
    if (any_dpdk) {
        auto started = net::DpdkRuntime::start(dpdk_setup(cfg));
        if (!started) {
            SLUICE_LOG_ERROR("%s", started.error().message.c_str());
            for (int fd : sink_fds)
                if (fd > STDERR_FILENO) ::close(fd);
            return 1;
        }
        dpdk = std::move(started.value());
    }
    // Kafka: the consumer and producers connect (and the topics are checked) before any shard starts.
    std::unique_ptr<KafkaRuntime> kafka;
    bool any_kafka = cfg.checkpoint.enabled;
    for (const SourceSpec& s : cfg.sources) any_kafka |= s.type == SourceType::Kafka;
    for (const SinkSpec& s : cfg.sinks) any_kafka |= s.type == SinkType::Kafka;
    if (any_kafka) {
        auto created = KafkaRuntime::create(cfg, plans, shards);
        if (!created) {
            SLUICE_LOG_ERROR("%s", created.error().message.c_str());
            for (int fd : sink_fds)
                if (fd > STDERR_FILENO) ::close(fd);
            return 1;
        }
        kafka = std::move(created.value());
    }
    std::barrier<> ready(static_cast<std::ptrdiff_t>(shards) + 1);
    AppShared shared;
    shared.config = &cfg;
    shared.plans = &plans;
    shared.meshes = &meshes;
    shared.dpdk = dpdk.get();
    shared.kafka = kafka.get();
    shared.ready = &ready;
    shared.running.store(shards, std::memory_order_relaxed);

    std::vector<std::unique_ptr<AppShard>> app;
    for (uint32_t s = 0; s < shards; ++s) {
        setups[s].id = s;
        setups[s].shards = shards;
        setups[s].topology = topology.get();
        if (!cfg.shards.cpus.empty()) setups[s].cpu = static_cast<int>(cfg.shards.cpus[s]);
        app.push_back(std::make_unique<AppShard>(setups[s], shared));
    }
    std::vector<const MetricsSlot*> slots;
    for (auto& shard : app) slots.push_back(&shard->metrics());
    MetricsHub metrics(cfg, std::move(slots));
    if (kafka)
        metrics.set_extra([](const void* k) { return static_cast<const KafkaRuntime*>(k)->metrics_text(); }, kafka.get());
    auto metrics_port = metrics.listen();
    if (!metrics_port) {
        SLUICE_LOG_ERROR("%s", metrics_port.error().message.c_str());
        for (int fd : sink_fds)
            if (fd > STDERR_FILENO) ::close(fd);
        return 1;
    }
    metrics.set_state(false, false, shards);

    std::vector<std::thread> threads;
    threads.reserve(shards);
    for (auto& shard : app) threads.emplace_back([&shard] { shard->run(); });
    ready.arrive_and_wait();

    bool failed_start = shared.stop.load(std::memory_order_relaxed);
    if (!failed_start && kafka) {
        auto started = kafka->start(&shared.drain, &shared.stop, &shared.running);
        if (!started) {
            SLUICE_LOG_ERROR("%s", started.error().message.c_str());
            shared.stop.store(true, std::memory_order_relaxed);
            failed_start = true;
        }
    }
    if (!failed_start) {
        SLUICE_LOG_INFO("%s, %u shard(s), idle %s", cfg.path.c_str(), shards, name_of(cfg.shards.idle));
        if (dpdk)
            for (const std::string& line : dpdk->description()) SLUICE_LOG_INFO("  %s", line.c_str());
        for (auto& shard : app) SLUICE_LOG_INFO("  %s", shard->description().c_str());
        for (uint32_t q = 0; q < queries; ++q)
            SLUICE_LOG_INFO("  query '%s' -> sink '%s' (%s)", cfg.queries[q].name.c_str(),
                            cfg.queries[q].sink.c_str(), explain_routing(plans[q]).c_str());
        if (*metrics_port != 0)
            SLUICE_LOG_INFO("  metrics on http://%s%s:%u/metrics and /health", cfg.metrics.listen.ipv6 ? "[" : "",
                            (cfg.metrics.listen.host + (cfg.metrics.listen.ipv6 ? "]" : "")).c_str(),
                            unsigned{*metrics_port});
        SLUICE_LOG_INFO("ready");
    }

    bool status_kafka_failed = false;
    // Write rows until every shard is done; a signal asks them to drain.
    int signals_seen = 0;
    int64_t drain_deadline = INT64_MAX;
    for (;;) {
        const bool done = shared.running.load(std::memory_order_acquire) == 0;
        metrics.tick();
        if (writer.drain()) continue;
        if (done) break;
        if (writer.failed()) shared.stop.store(true, std::memory_order_relaxed);
        const int sig = signals.wait(1);
        if (sig != 0) {
            if (++signals_seen == 1) {
                SLUICE_LOG_INFO("%s: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
                shared.drain.store(true, std::memory_order_relaxed);
                drain_deadline = wall_ms() + cfg.drain.timeout_ms + 1000;
            } else {
                SLUICE_LOG_WARN("second signal: stopping now");
                shared.stop.store(true, std::memory_order_relaxed);
            }
        }
        if (wall_ms() > drain_deadline) shared.stop.store(true, std::memory_order_relaxed);
        metrics.set_state(shared.drain.load(std::memory_order_relaxed), shared.stop.load(std::memory_order_relaxed),
                          shared.running.load(std::memory_order_relaxed));
    }
    for (auto& t : threads) t.join();
    // The consumer leaves its group; the producers deliver (or abort) what they hold.
    if (kafka) {
        kafka->finish();
        if (!kafka->error().empty()) status_kafka_failed = true;
    }
    for (int fd : sink_fds)
        if (fd > STDERR_FILENO) ::close(fd);

    int status = 0;
    for (auto& shard : app) {
        if (!shard->error().empty()) {
            SLUICE_LOG_ERROR("%s", shard->error().c_str());
            status = 1;
        }
    }
    if (!writer.error().empty()) {
        SLUICE_LOG_ERROR("%s", writer.error().c_str());
        status = 1;
    }
    if (status_kafka_failed) status = 1;
    if (failed_start) return 1;

    // Per query, summed over the shards.
    std::string json = "{\"queries\":[";
    for (uint32_t q = 0; q < queries; ++q) {
        ShardCounters total;
        for (auto& shard : app) add_counters(total, shard->counters(q));
        if (plans[q].limit) total.rows_out = writer.rows_written(row_groups[q]);
        SLUICE_LOG_INFO("query '%s': %llu in, %llu processed, %llu rejected, %llu late, %llu overload, %llu rows",
                     cfg.queries[q].name.c_str(), static_cast<unsigned long long>(total.records_in),
                     static_cast<unsigned long long>(total.records_processed),
                     static_cast<unsigned long long>(total.records_rejected),
                     static_cast<unsigned long long>(total.late_dropped),
                     static_cast<unsigned long long>(total.overload_dropped),
                     static_cast<unsigned long long>(total.rows_out));
        json += (q ? ",{" : "{") + std::string("\"name\":\"") + cfg.queries[q].name + "\"," + counters_json(total) + "}";
    }
    json += "],\"sources\":[";
    std::size_t dpdk_port = 0;  // index among the dpdk sources
    for (uint32_t src = 0; src < cfg.sources.size(); ++src) {
        SourceTotals sum;
        net::DpdkPortStats port;
        for (auto& shard : app) {
            if (src >= shard->source_totals().size()) continue;
            const SourceTotals& t = shard->source_totals()[src];
            sum.datagrams += t.datagrams;
            sum.kernel_dropped += t.kernel_dropped;
            sum.connections += t.connections;
            sum.bytes += t.bytes;
            sum.frames += t.frames;
            sum.copied_for_padding += t.copied_for_padding;
            for (std::size_t r = 0; r < t.frames_dropped.size(); ++r) sum.frames_dropped[r] += t.frames_dropped[r];
        }
        const bool udp = cfg.sources[src].type == SourceType::Udp;
        if (udp && sum.kernel_dropped != 0)
            SLUICE_LOG_WARN("source '%s': the kernel dropped %llu datagrams at full socket buffers",
                         cfg.sources[src].name.c_str(), static_cast<unsigned long long>(sum.kernel_dropped));
        if (cfg.sources[src].type == SourceType::Dpdk) {
            if (dpdk) port = dpdk->port_stats(dpdk_port);
            ++dpdk_port;
            if (port.missed + port.no_mbuf != 0)
                SLUICE_LOG_WARN("source '%s': the port dropped %llu frames at a full RX queue and %llu for want of mbufs",
                                cfg.sources[src].name.c_str(), static_cast<unsigned long long>(port.missed),
                                static_cast<unsigned long long>(port.no_mbuf));
            uint64_t dropped = 0;
            for (std::size_t r = 1; r < sum.frames_dropped.size(); ++r) dropped += sum.frames_dropped[r];
            SLUICE_LOG_INFO("source '%s': %llu frames, %llu UDP payloads taken, %llu dropped, %llu copied for padding",
                            cfg.sources[src].name.c_str(), static_cast<unsigned long long>(sum.frames),
                            static_cast<unsigned long long>(sum.datagrams), static_cast<unsigned long long>(dropped),
                            static_cast<unsigned long long>(sum.copied_for_padding));
        }
        json += (src ? ",{" : "{") + std::string("\"name\":\"") + cfg.sources[src].name + "\"" +
                source_json(cfg.sources[src], sum, port) + "}";
    }
    json += "],\"sinks\":[";
    for (uint32_t k = 0; k < cfg.sinks.size(); ++k) {
        SinkTotals sum;
        for (auto& shard : app) {
            if (k >= shard->sink_totals().size()) continue;
            const SinkTotals& t = shard->sink_totals()[k];
            sum.rows += t.rows;
            sum.bytes += t.bytes;
            sum.datagrams += t.datagrams;
            sum.rows_dropped += t.rows_dropped;
            sum.connects += t.connects;
            sum.disconnects += t.disconnects;
        }
        const SinkType type = cfg.sinks[k].type;
        if (sum.rows_dropped != 0)
            SLUICE_LOG_WARN("sink '%s': %llu rows could not be sent", cfg.sinks[k].name.c_str(),
                         static_cast<unsigned long long>(sum.rows_dropped));
        json += (k ? ",{" : "{") + std::string("\"name\":\"") + cfg.sinks[k].name + "\",\"type\":\"" +
                name_of(type) + "\"";
        if (type == SinkType::Udp || type == SinkType::Tcp) {
            json += ",\"rows\":" + std::to_string(sum.rows) + ",\"bytes\":" + std::to_string(sum.bytes) +
                    ",\"rows_dropped\":" + std::to_string(sum.rows_dropped);
            json += type == SinkType::Udp ? ",\"datagrams\":" + std::to_string(sum.datagrams)
                                          : ",\"connects\":" + std::to_string(sum.connects) + ",\"disconnects\":" +
                                                std::to_string(sum.disconnects);
        }
        json += "}";
    }
    if (kafka) json += "],\"kafka\":" + kafka->stats_json() + ",\"shards\":" + std::to_string(shards) + "}\n";
    else json += "],\"shards\":" + std::to_string(shards) + "}\n";
    if (!stats_path.empty()) {
        FILE* f = stats_path == "-" ? stderr : std::fopen(stats_path.c_str(), "w");
        if (f == nullptr) {
            SLUICE_LOG_ERROR("cannot write stats '%s': %s", stats_path.c_str(), std::strerror(errno));
            return 1;
        }
        std::fputs(json.c_str(), f);
        if (f != stderr) std::fclose(f);
    }
    return status;
}

}  // namespace sluice
