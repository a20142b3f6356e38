// `sluice top`: a terminal view of a running appliance, read from its
// /metrics endpoint once per interval: per shard and per query the input
// and output rates, drops, watermark lag, ingest → emit latency, idle share
// and ring fill.
#pragma once

#include <string>
#include <vector>

#include "prometheus_parse.h"

namespace sluice {

struct TopOptions {
    std::string url = "http://127.0.0.1:9180/metrics";
    double interval_s = 1.0;
    uint64_t count = 0;  // refreshes before exiting; 0 = until interrupted
};

// One screen from two scrapes `seconds` apart (before may be empty: rates
// then show as "-").
std::string render_top(const std::vector<PromSample>& before, const std::vector<PromSample>& now, double seconds);

// Returns the exit status (1 when the endpoint cannot be read).
int run_top(const TopOptions& options);

}  // namespace sluice
