// What the metrics endpoint and the periodic log show: every shard's
// published metrics at one moment, with the appliance's state. Rendered as
// Prometheus text (/metrics), JSON (/health) and summary log lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"
#include "shard_metrics.h"

namespace sluice {

struct MetricsView {
    const AppConfig* config = nullptr;
    std::vector<ShardMetrics> shards;
    std::vector<double> idle_ratio;  // per shard, over the last second (-1: not measured yet)
    int64_t wall_ms = 0;             // when the view was taken
    double uptime_s = 0;
    uint32_t shards_running = 0;
    bool draining = false;
    bool failed = false;             // a shard stopped on an error
};

// The Prometheus text exposition format (version 0.0.4).
std::string prometheus_text(const MetricsView& view);

// {"status":"ok"|"draining"|"failed", ...}; healthy() says which HTTP status goes with it.
std::string health_json(const MetricsView& view);
inline bool healthy(const MetricsView& view) { return !view.draining && !view.failed; }

// One line per query: rates since `before` (taken `seconds` earlier), drops,
// watermark lag, groups, state and latency; then one for the shards' idle ratio.
std::vector<std::string> summary_lines(const MetricsView& before, const MetricsView& now, double seconds);

// Sums over shards.
QueryMetrics query_total(const MetricsView& view, std::size_t query);

}  // namespace sluice
