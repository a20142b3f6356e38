#include "metrics_view.h"

#include <cinttypes>
#include <cstdio>
#include <functional>

namespace sluice {

namespace {

// Label values are config names ([A-Za-z0-9_.-], checked by the loader), so
// they need no escaping.
std::string labels(const char* k1, const std::string& v1, const char* k2 = nullptr, uint32_t v2 = 0) {
    std::string s = "{";
    s.append(k1).append("=\"").append(v1).append("\"");
    if (k2) s.append(",").append(k2).append("=\"").append(std::to_string(v2)).append("\"");
    s += '}';
    return s;
}

std::string number(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

class Exposition {
public:
    void family(const char* name, const char* type, const char* help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    void sample(const std::string& name, const std::string& label_text, uint64_t v) {
        out_ += name + label_text + ' ' + std::to_string(v) + '\n';
    }
    void sample(const std::string& name, const std::string& label_text, int64_t v) {
        out_ += name + label_text + ' ' + std::to_string(v) + '\n';
    }
    void sample(const std::string& name, const std::string& label_text, double v) {
        out_ += name + label_text + ' ' + number(v) + '\n';
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

using QueryField = std::function<uint64_t(const QueryMetrics&)>;

struct QueryFamily {
    const char* name;
    const char* type;
    const char* help;
    QueryField get;
};

const QueryFamily kQueryFamilies[] = {
    {"sluice_records_in_total", "counter", "Records seen (non-empty lines and datagram records).",
     [](const QueryMetrics& m) { return m.counters.records_in; }},
    {"sluice_records_processed_total", "counter", "Records accepted and applied, including those WHERE filtered out.",
     [](const QueryMetrics& m) { return m.counters.records_processed; }},
    {"sluice_records_rejected_total", "counter", "Records that were not a JSON object or were too big.",
     [](const QueryMetrics& m) { return m.counters.records_rejected; }},
    {"sluice_records_late_dropped_total", "counter", "Records whose window had closed.",
     [](const QueryMetrics& m) { return m.counters.late_dropped; }},
    {"sluice_records_overload_dropped_total", "counter", "Datagram records dropped because a shard ring was full.",
     [](const QueryMetrics& m) { return m.counters.overload_dropped; }},
    {"sluice_records_dead_lettered_total", "counter", "Late records written to the dead-letter sink.",
     [](const QueryMetrics& m) { return m.counters.dead_lettered; }},
    {"sluice_type_mismatches_total", "counter", "Values set to NULL for having the wrong type.",
     [](const QueryMetrics& m) { return m.counters.type_mismatch; }},
    {"sluice_rows_out_total", "counter", "Result rows serialized.",
     [](const QueryMetrics& m) { return m.counters.rows_out; }},
    {"sluice_groups", "gauge", "Groups (or ROWS-window partitions) held in state.",
     [](const QueryMetrics& m) { return m.groups; }},
    {"sluice_open_windows", "gauge", "Windows or sessions holding state.",
     [](const QueryMetrics& m) { return m.open_windows; }},
    {"sluice_state_bytes", "gauge", "Memory held by the query's state.",
     [](const QueryMetrics& m) { return m.state_bytes; }},
    {"sluice_ring_full_events_total", "counter", "Times a message to another shard found its ring full.",
     [](const QueryMetrics& m) { return m.ring_full_events; }},
    {"sluice_ring_bytes", "gauge", "Bytes waiting in the shard's inbound rings.",
     [](const QueryMetrics& m) { return m.ring_bytes; }},
};

struct ShardFamily {
    const char* name;
    const char* type;
    const char* help;
    uint64_t LoopMetrics::*field;
};

const ShardFamily kShardFamilies[] = {
    {"sluice_loop_iterations_total", "counter", "Shard loop iterations.", &LoopMetrics::iterations},
    {"sluice_loop_idle_iterations_total", "counter", "Shard loop iterations that found no work.",
     &LoopMetrics::idle_iterations},
    {"sluice_uring_enters_total", "counter", "io_uring_enter calls.", &LoopMetrics::uring_enters},
    {"sluice_uring_submitted_total", "counter", "Submission queue entries the kernel took.",
     &LoopMetrics::uring_submitted},
    {"sluice_uring_completed_total", "counter", "Completion queue entries handled.", &LoopMetrics::uring_completed},
};

void query_families(Exposition& e, const MetricsView& v) {
    const AppConfig& cfg = *v.config;
    for (const QueryFamily& f : kQueryFamilies) {
        e.family(f.name, f.type, f.help);
        for (uint32_t s = 0; s < v.shards.size(); ++s)
            for (std::size_t q = 0; q < cfg.queries.size() && q < v.shards[s].queries.size(); ++q)
                e.sample(f.name, labels("query", cfg.queries[q].name, "shard", s), f.get(v.shards[s].queries[q]));
    }
    e.family("sluice_ring_occupancy_ratio", "gauge", "Fill of the shard's inbound rings (0 to 1).");
    for (uint32_t s = 0; s < v.shards.size(); ++s)
        for (std::size_t q = 0; q < cfg.queries.size() && q < v.shards[s].queries.size(); ++q) {
            const QueryMetrics& m = v.shards[s].queries[q];
            const double ratio = m.ring_capacity ? double(m.ring_bytes) / double(m.ring_capacity) : 0.0;
            e.sample("sluice_ring_occupancy_ratio", labels("query", cfg.queries[q].name, "shard", s), ratio);
        }
    e.family("sluice_watermark_milliseconds", "gauge", "The shard's watermark (event time, ms); absent before the first.");
    e.family("sluice_watermark_lag_milliseconds", "gauge",
             "Wall clock minus the watermark: meaningful when event times are wall-clock milliseconds.");
    for (uint32_t s = 0; s < v.shards.size(); ++s)
        for (std::size_t q = 0; q < cfg.queries.size() && q < v.shards[s].queries.size(); ++q) {
            const QueryMetrics& m = v.shards[s].queries[q];
            if (m.watermark_ms == INT64_MIN || m.watermark_ms == INT64_MAX) continue;
            const std::string l = labels("query", cfg.queries[q].name, "shard", s);
            e.sample("sluice_watermark_milliseconds", l, m.watermark_ms);
            e.sample("sluice_watermark_lag_milliseconds", l, v.wall_ms - m.watermark_ms);
        }
    const char* h = "sluice_ingest_to_emit_seconds";
    e.family(h, "histogram",
             "Per output flush: from taking in the oldest record it covers to handing its rows to the sink.");
    for (uint32_t s = 0; s < v.shards.size(); ++s)
        for (std::size_t q = 0; q < cfg.queries.size() && q < v.shards[s].queries.size(); ++q) {
            const LatencyBuckets& b = v.shards[s].queries[q].latency;
            const std::string base = "query=\"" + cfg.queries[q].name + "\",shard=\"" + std::to_string(s) + "\"";
            uint64_t cumulative = 0;
            for (std::size_t i = 0; i < kLatencyBucketsUs.size(); ++i) {
                cumulative += b.counts[i];
                e.sample(std::string(h) + "_bucket", "{" + base + ",le=\"" + number(kLatencyBucketsUs[i] * 1e-6) + "\"}",
                         cumulative);
            }
            cumulative += b.counts.back();
            e.sample(std::string(h) + "_bucket", "{" + base + ",le=\"+Inf\"}", cumulative);
            e.sample(std::string(h) + "_sum", "{" + base + "}", double(b.sum_ns) * 1e-9);
            e.sample(std::string(h) + "_count", "{" + base + "}", cumulative);
        }
}

void shard_families(Exposition& e, const MetricsView& v) {
    for (const ShardFamily& f : kShardFamilies) {
        e.family(f.name, f.type, f.help);
        for (uint32_t s = 0; s < v.shards.size(); ++s)
            e.sample(f.name, "{shard=\"" + std::to_string(s) + "\"}", v.shards[s].loop.*f.field);
    }
    e.family("sluice_loop_idle_ratio", "gauge", "Share of the shard's loop iterations without work, over the last second.");
    for (uint32_t s = 0; s < v.idle_ratio.size(); ++s)
        if (v.idle_ratio[s] >= 0) e.sample("sluice_loop_idle_ratio", "{shard=\"" + std::to_string(s) + "\"}", v.idle_ratio[s]);
}

void io_families(Exposition& e, const MetricsView& v) {
    const AppConfig& cfg = *v.config;
    // Which source types a family applies to.
    constexpr unsigned kUdp = 1u << static_cast<unsigned>(SourceType::Udp);
    constexpr unsigned kTcp = 1u << static_cast<unsigned>(SourceType::Tcp);
    constexpr unsigned kDpdk = 1u << static_cast<unsigned>(SourceType::Dpdk);
    constexpr unsigned kKafka = 1u << static_cast<unsigned>(SourceType::Kafka);
    struct SourceFamily {
        const char* name;
        const char* help;
        uint64_t SourceTotals::*field;
        unsigned types;
    };
    const SourceFamily sources[] = {
        {"sluice_source_received_bytes_total", "Bytes received (dpdk: whole frames; kafka: message payloads).",
         &SourceTotals::bytes, kUdp | kTcp | kDpdk | kKafka},
        {"sluice_source_messages_total", "Kafka messages taken from the shard's partitions (each copied once into a padded block).",
         &SourceTotals::datagrams, kKafka},
        {"sluice_source_datagrams_total", "Datagrams taken in (dpdk: UDP payloads handed to the queries).",
         &SourceTotals::datagrams, kUdp | kDpdk},
        {"sluice_source_kernel_dropped_total", "Datagrams the kernel dropped at a full socket buffer.",
         &SourceTotals::kernel_dropped, kUdp},
        {"sluice_source_connections_total", "Connections accepted.", &SourceTotals::connections, kTcp},
        {"sluice_source_frames_total", "Ethernet frames received from the DPDK queue.", &SourceTotals::frames, kDpdk},
        {"sluice_source_copied_for_padding_total",
         "UDP payloads copied out of their mbuf for want of room for the decoder's padding.",
         &SourceTotals::copied_for_padding, kDpdk},
    };
    const auto applies = [&](unsigned types, std::size_t k) {
        return (types & (1u << static_cast<unsigned>(cfg.sources[k].type))) != 0;
    };
    for (const SourceFamily& f : sources) {
        e.family(f.name, "counter", f.help);
        for (uint32_t s = 0; s < v.shards.size(); ++s)
            for (std::size_t k = 0; k < cfg.sources.size() && k < v.shards[s].sources.size(); ++k) {
                if (!applies(f.types, k)) continue;
                e.sample(f.name, labels("source", cfg.sources[k].name, "shard", s), v.shards[s].sources[k].*f.field);
            }
    }
    const char* dropped = "sluice_source_frames_dropped_total";
    e.family(dropped, "counter", "Frames not taken, by reason (dpdk sources).");
    for (uint32_t s = 0; s < v.shards.size(); ++s)
        for (std::size_t k = 0; k < cfg.sources.size() && k < v.shards[s].sources.size(); ++k) {
            if (!applies(kDpdk, k)) continue;
            for (std::size_t r = 1; r < net::kFrameDropReasons; ++r)
                e.sample(dropped,
                         "{source=\"" + cfg.sources[k].name + "\",shard=\"" + std::to_string(s) + "\",reason=\"" +
                             net::kFrameDropNames[r] + "\"}",
                         v.shards[s].sources[k].frames_dropped[r]);
        }
    struct SinkFamily {
        const char* name;
        const char* help;
        uint64_t SinkTotals::*field;
    };
    const SinkFamily sinks[] = {
        {"sluice_sink_rows_total", "Rows handed to the kernel.", &SinkTotals::rows},
        {"sluice_sink_sent_bytes_total", "Bytes handed to the kernel.", &SinkTotals::bytes},
        {"sluice_sink_rows_dropped_total", "Rows that could not be sent.", &SinkTotals::rows_dropped},
        {"sluice_sink_datagrams_total", "Datagrams sent (udp sinks).", &SinkTotals::datagrams},
        {"sluice_sink_connects_total", "Connections made (tcp sinks).", &SinkTotals::connects},
        {"sluice_sink_disconnects_total", "Connections lost (tcp sinks).", &SinkTotals::disconnects},
    };
    for (const SinkFamily& f : sinks) {
        e.family(f.name, "counter", f.help);
        for (uint32_t s = 0; s < v.shards.size(); ++s)
            for (std::size_t k = 0; k < cfg.sinks.size() && k < v.shards[s].sinks.size(); ++k) {
                const SinkType t = cfg.sinks[k].type;
                if (t != SinkType::Udp && t != SinkType::Tcp) continue;
                e.sample(f.name, labels("sink", cfg.sinks[k].name, "shard", s), v.shards[s].sinks[k].*f.field);
            }
    }
}

std::string human(double v) {
    char buf[32];
    if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
    else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.1fK", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

// The smallest bucket bound covering p of the samples ("<= 20us"), or "-".
std::string latency_quantile(const LatencyBuckets& b, double p) {
    const uint64_t n = b.count();
    if (n == 0) return "-";
    const auto want = static_cast<uint64_t>(p * double(n) + 0.999999);
    uint64_t c = 0;
    for (std::size_t i = 0; i < kLatencyBucketsUs.size(); ++i) {
        c += b.counts[i];
        if (c >= want) {
            const uint64_t us = kLatencyBucketsUs[i];
            return "<=" + (us >= 1000 ? std::to_string(us / 1000) + "ms" : std::to_string(us) + "us");
        }
    }
    return ">1s";
}

}  // namespace

QueryMetrics query_total(const MetricsView& view, std::size_t query) {
    QueryMetrics t;
    t.watermark_ms = INT64_MAX;
    bool any_watermark = false;
    for (const ShardMetrics& s : view.shards) {
        if (query >= s.queries.size()) continue;
        const QueryMetrics& m = s.queries[query];
        add_counters(t.counters, m.counters);
        t.groups += m.groups;
        t.open_windows += m.open_windows;
        t.state_bytes += m.state_bytes;
        t.ring_full_events += m.ring_full_events;
        t.ring_bytes += m.ring_bytes;
        t.ring_capacity += m.ring_capacity;
        t.latency.add(m.latency);
        if (m.watermark_ms != INT64_MIN) {
            any_watermark = true;
            t.watermark_ms = std::min(t.watermark_ms, m.watermark_ms);
        }
    }
    if (!any_watermark) t.watermark_ms = INT64_MIN;
    return t;
}

std::string prometheus_text(const MetricsView& v) {
    Exposition e;
    e.family("sluice_up", "gauge", "1 while the appliance runs; 0 while it drains or after a shard failed.");
    e.sample("sluice_up", "", uint64_t{healthy(v) ? 1u : 0u});
    e.family("sluice_uptime_seconds", "gauge", "Seconds since start-up.");
    e.sample("sluice_uptime_seconds", "", v.uptime_s);
    e.family("sluice_shards", "gauge", "Shards configured.");
    e.sample("sluice_shards", "", uint64_t{v.shards.size()});
    e.family("sluice_shards_running", "gauge", "Shards whose loop still runs.");
    e.sample("sluice_shards_running", "", uint64_t{v.shards_running});
    query_families(e, v);
    shard_families(e, v);
    io_families(e, v);
    return e.take();
}

std::string health_json(const MetricsView& v) {
    const char* status = v.failed ? "failed" : v.draining ? "draining" : "ok";
    std::string j = "{\"status\":\"" + std::string(status) + "\",\"uptime_seconds\":" + number(v.uptime_s) +
                    ",\"shards\":" + std::to_string(v.shards.size()) +
                    ",\"shards_running\":" + std::to_string(v.shards_running) + ",\"queries\":[";
    const AppConfig& cfg = *v.config;
    for (std::size_t q = 0; q < cfg.queries.size(); ++q) {
        const QueryMetrics t = query_total(v, q);
        j += (q ? ",{" : "{") + std::string("\"name\":\"") + cfg.queries[q].name +
             "\",\"records_in\":" + std::to_string(t.counters.records_in) +
             ",\"rows_out\":" + std::to_string(t.counters.rows_out);
        if (t.watermark_ms != INT64_MIN && t.watermark_ms != INT64_MAX)
            j += ",\"watermark_ms\":" + std::to_string(t.watermark_ms);
        j += "}";
    }
    return j + "]}\n";
}

std::vector<std::string> summary_lines(const MetricsView& before, const MetricsView& now, double seconds) {
    std::vector<std::string> lines;
    const AppConfig& cfg = *now.config;
    const double dt = seconds > 0 ? seconds : 1;
    for (std::size_t q = 0; q < cfg.queries.size(); ++q) {
        const QueryMetrics a = query_total(before, q);
        const QueryMetrics b = query_total(now, q);
        const ShardCounters& c = b.counters;
        LatencyBuckets recent = b.latency;  // the interval's samples only
        for (std::size_t i = 0; i < recent.counts.size(); ++i) recent.counts[i] -= a.latency.counts[i];
        std::string line = "query '" + cfg.queries[q].name + "': " +
                           human(double(c.records_in - a.counters.records_in) / dt) + " rec/s in, " +
                           human(double(c.rows_out - a.counters.rows_out) / dt) + " rows/s out; totals " +
                           std::to_string(c.records_in) + " in, " + std::to_string(c.records_rejected) +
                           " rejected, " + std::to_string(c.late_dropped) + " late, " +
                           std::to_string(c.overload_dropped) + " overload; " + std::to_string(b.groups) +
                           " groups, " + human(double(b.state_bytes)) + "B state";
        if (b.watermark_ms != INT64_MIN && b.watermark_ms != INT64_MAX)
            line += ", watermark lag " + std::to_string(now.wall_ms - b.watermark_ms) + " ms";
        line += "; latency p50 " + latency_quantile(recent, 0.5) + " p99 " + latency_quantile(recent, 0.99);
        lines.push_back(std::move(line));
    }
    std::string idle = "shards idle:";
    for (const double r : now.idle_ratio) {
        idle += ' ';
        if (r < 0) {
            idle += '-';
        } else {
            idle += std::to_string(int(r * 100 + 0.5));
            idle += '%';
        }
    }
    lines.push_back(std::move(idle));
    return lines;
}

}  // namespace sluice
