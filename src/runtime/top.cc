#include "top.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "http_client.h"
#include "sluice/base.h"

namespace sluice {

namespace {

using Labels = std::map<std::string, std::string>;

double value_of(const std::vector<PromSample>& s, const char* name, const Labels& match) {
    return prom_sum(s, name, match).value_or(0);
}

std::string rate_text(const std::vector<PromSample>& before, const std::vector<PromSample>& now, const char* name,
                      const Labels& match, double seconds) {
    if (before.empty() || seconds <= 0) return "-";
    const double d = value_of(now, name, match) - value_of(before, name, match);
    char buf[32];
    const double r = d / seconds;
    if (r >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
    else if (r >= 1e3) std::snprintf(buf, sizeof buf, "%.1fK", r / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", r);
    return buf;
}

// A quantile of the histogram's samples between the two scrapes, as the
// upper bound of the bucket it falls in.
std::string latency_text(const std::vector<PromSample>& before, const std::vector<PromSample>& now,
                         const Labels& match, double q) {
    std::map<double, double> cumulative;  // le -> count in the interval
    auto add = [&](const std::vector<PromSample>& samples, double sign) {
        for (const PromSample& s : samples) {
            if (s.name != "sluice_ingest_to_emit_seconds_bucket") continue;
            bool all = true;
            for (const auto& [k, v] : match)
                if (auto it = s.labels.find(k); it == s.labels.end() || it->second != v) all = false;
            if (!all) continue;
            const auto le = s.labels.find("le");
            if (le == s.labels.end()) continue;
            const double bound = le->second == "+Inf" ? INFINITY : std::strtod(le->second.c_str(), nullptr);
            cumulative[bound] += sign * s.value;
        }
    };
    add(now, 1);
    add(before, -1);
    if (cumulative.empty()) return "-";
    const double total = cumulative.rbegin()->second;
    if (total <= 0) return "-";
    for (const auto& [bound, c] : cumulative) {
        if (c < q * total) continue;
        if (std::isinf(bound)) return ">1s";
        char buf[32];
        if (bound >= 1e-3) std::snprintf(buf, sizeof buf, "<=%.0fms", bound * 1e3);
        else std::snprintf(buf, sizeof buf, "<=%.0fus", bound * 1e6);
        return buf;
    }
    return "-";
}

std::set<std::string> label_values(const std::vector<PromSample>& s, const char* name, const char* label) {
    std::set<std::string> out;
    for (const PromSample& x : s)
        if (x.name == name)
            if (auto it = x.labels.find(label); it != x.labels.end()) out.insert(it->second);
    return out;
}

std::string lag_text(const std::vector<PromSample>& now, const Labels& match) {
    std::optional<double> worst;
    for (const PromSample& s : now) {
        if (s.name != "sluice_watermark_lag_milliseconds") continue;
        bool all = true;
        for (const auto& [k, v] : match)
            if (auto it = s.labels.find(k); it == s.labels.end() || it->second != v) all = false;
        if (all) worst = std::max(worst.value_or(s.value), s.value);
    }
    if (!worst) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0fms", *worst);
    return buf;
}

}  // namespace

std::string render_top(const std::vector<PromSample>& before, const std::vector<PromSample>& now, double seconds) {
    std::string out;
    char line[256];
    const double up = value_of(now, "sluice_up", {});
    std::snprintf(line, sizeof line, "sluice top  uptime %.0fs  shards %.0f running %.0f  %s\n\n",
                  value_of(now, "sluice_uptime_seconds", {}), value_of(now, "sluice_shards", {}),
                  value_of(now, "sluice_shards_running", {}), up > 0 ? "up" : "draining or failed");
    out += line;
    const char* drops[] = {"sluice_records_rejected_total", "sluice_records_late_dropped_total",
                           "sluice_records_overload_dropped_total"};
    std::snprintf(line, sizeof line, "%-16s %5s %9s %9s %7s %7s %7s %9s %9s %9s %5s %5s\n", "QUERY", "SHARD",
                  "IN/s", "OUT/s", "REJ/s", "LATE/s", "OVLD/s", "WM LAG", "LAT p50", "LAT p99", "IDLE", "RING");
    out += line;
    for (const std::string& query : label_values(now, "sluice_records_in_total", "query")) {
        for (const std::string& shard : label_values(now, "sluice_records_in_total", "shard")) {
            const Labels m{{"query", query}, {"shard", shard}};
            const double idle = value_of(now, "sluice_loop_idle_ratio", {{"shard", shard}});
            const double ring = value_of(now, "sluice_ring_occupancy_ratio", m);
            std::snprintf(line, sizeof line, "%-16.16s %5s %9s %9s %7s %7s %7s %9s %9s %9s %4.0f%% %4.0f%%\n",
                          query.c_str(), shard.c_str(),
                          rate_text(before, now, "sluice_records_in_total", m, seconds).c_str(),
                          rate_text(before, now, "sluice_rows_out_total", m, seconds).c_str(),
                          rate_text(before, now, drops[0], m, seconds).c_str(),
                          rate_text(before, now, drops[1], m, seconds).c_str(),
                          rate_text(before, now, drops[2], m, seconds).c_str(), lag_text(now, m).c_str(),
                          latency_text(before, now, m, 0.5).c_str(), latency_text(before, now, m, 0.99).c_str(),
                          idle * 100, ring * 100);
            out += line;
        }
    }
    const auto sources = label_values(now, "sluice_source_received_bytes_total", "source");
    if (!sources.empty()) {
        std::snprintf(line, sizeof line, "\n%-16s %12s %12s %14s\n", "SOURCE", "BYTES/s", "DGRAMS/s", "KERNEL DROP/s");
        out += line;
        for (const std::string& src : sources) {
            const Labels m{{"source", src}};
            std::snprintf(line, sizeof line, "%-16.16s %12s %12s %14s\n", src.c_str(),
                          rate_text(before, now, "sluice_source_received_bytes_total", m, seconds).c_str(),
                          rate_text(before, now, "sluice_source_datagrams_total", m, seconds).c_str(),
                          rate_text(before, now, "sluice_source_kernel_dropped_total", m, seconds).c_str());
            out += line;
        }
    }
    return out;
}

int run_top(const TopOptions& options) {
    auto url = parse_http_url(options.url, "/metrics");
    if (!url) {
        std::fprintf(stderr, "sluice top: %s\n", url.error().message.c_str());
        return 2;
    }
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    std::vector<PromSample> before;
    int64_t before_ns = 0;
    for (uint64_t n = 0; options.count == 0 || n < options.count; ++n) {
        if (n != 0) std::this_thread::sleep_for(std::chrono::duration<double>(options.interval_s));
        auto reply = http_get(*url, 2000);
        if (!reply || reply->status != 200) {
            std::fprintf(stderr, "sluice top: %s\n",
                         reply ? ("HTTP " + std::to_string(reply->status) + " from " + options.url).c_str()
                               : reply.error().message.c_str());
            return 1;
        }
        const int64_t now_ns = monotonic_ns();
        std::vector<PromSample> now = parse_prometheus(reply->body);
        const std::string screen = render_top(before, now, double(now_ns - before_ns) / 1e9);
        // A terminal gets the screen redrawn in place; a pipe gets one frame after another.
        if (tty) std::fputs("\x1b[H\x1b[2J", stdout);
        std::fputs(screen.c_str(), stdout);
        if (!tty) std::fputs("\n", stdout);
        std::fflush(stdout);
        before = std::move(now);
        before_ns = now_ns;
    }
    return 0;
}

}  // namespace sluice
