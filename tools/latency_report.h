// What sluice-lat reports from a LatencyHistogram: a percentile table for people, HdrHistogram's
// .hgrm percentile distribution and a JSON summary for tools, and a gnuplot PNG that overlays runs.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "latency_histogram.h"

namespace sluice::lat {

struct LatencySummary {
    std::string mode;                      // e.g. "sluice" or "floor"
    uint64_t sent = 0, received = 0, lost = 0;  // records sent, result rows received, rows never received
    double rate = 0;                       // target rate (records/s), 0 = unpaced
    double seconds = 0;                    // measurement duration
    std::vector<std::pair<std::string, std::string>> extra;  // written as JSON strings
};

// The percentiles every report shows: label for people, key stem for JSON ("p99_9" -> "p99_9_ns").
struct ReportPercentile {
    double percentile;
    const char* label;
    const char* key;
};
inline constexpr std::array<ReportPercentile, 6> kReportPercentiles{{
    {50, "p50", "p50"},
    {90, "p90", "p90"},
    {99, "p99", "p99"},
    {99.9, "p99.9", "p99_9"},
    {99.99, "p99.99", "p99_99"},
    {100, "max", "max"},
}};

// Human-readable: a header line from the summary, the kReportPercentiles in microseconds with three
// decimals, min/mean/stddev, clamped values if any, and the extra key/values. Ends with a newline.
std::string format_percentile_table(const LatencyHistogram& hist, const LatencySummary& summary);

// HdrHistogram's outputPercentileDistribution text (.hgrm): values divided by ns_per_unit
// (1000 = microseconds), 5 percentile ticks per half distance, Java's exact column formats and
// "#[Mean ...]" / "#[Max ...]" / "#[Buckets ...]" footer. Values are bucket highest-equivalent
// values clamped to [min(), max()], so the 100% line is the exact max.
void write_percentile_distribution(const LatencyHistogram& hist, std::FILE* out, double ns_per_unit = 1000.0);
// The same into a file; returns "" on success or an error message.
std::string write_percentile_distribution_file(const LatencyHistogram& hist, const std::string& path,
                                               double ns_per_unit = 1000.0);

// One JSON object (no trailing newline): mode, sent, received, lost, rate, seconds, count, clamped,
// min/mean/stddev/p50/p90/p99/p99_9/p99_99/max as "<key>_ns" and "<key>_us", and "extra" as an
// object of strings. Non-finite doubles are written as null.
std::string summary_json(const LatencyHistogram& hist, const LatencySummary& summary);

// A PNG of one or more .hgrm files written in microseconds (ns_per_unit 1000): x is 1/(1-p) on a log
// scale labelled 0%, 50%, 90%, 99%, ... and y is latency in µs, one curve per (label, file). Runs
// gnuplot (posix_spawnp, PATH lookup) on a temporary script; returns "" on success or an error message
// ("gnuplot not found: install gnuplot-nox", gnuplot's own diagnostics, ...). Never throws.
std::string plot_percentiles_png(const std::vector<std::pair<std::string, std::string>>& label_and_hgrm_files,
                                 const std::string& png_path, const std::string& title);

}  // namespace sluice::lat
