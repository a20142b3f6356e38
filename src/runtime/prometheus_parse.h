// Reads the Prometheus text format back (what /metrics serves): used by
// `sluice top` and by tests that check the endpoint against --stats.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

struct PromSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

// Samples in text order; comment lines skipped. Malformed lines are skipped
// and counted in *bad (when given).
std::vector<PromSample> parse_prometheus(std::string_view text, std::size_t* bad = nullptr);

// The sum of every sample of `name` whose labels include all of `match`.
std::optional<double> prom_sum(const std::vector<PromSample>& samples, std::string_view name,
                               const std::map<std::string, std::string>& match = {});

}  // namespace sluice
