// The control thread's side of the metrics: reads every shard's published
// slot, samples the loops once a second for the idle ratio, serves /metrics
// and /health on the configured listener, and logs a summary per query
// every [log] summary_interval_s.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "config.h"
#include "http_server.h"
#include "metrics_view.h"
#include "shard_metrics.h"
#include "sluice/result.h"

namespace sluice {

class MetricsHub {
public:
    MetricsHub(const AppConfig& config, std::vector<const MetricsSlot*> slots);
    ~MetricsHub();

    // Starts the HTTP listener when [metrics] is enabled; returns its port (0: none).
    Result<uint16_t> listen();

    // Control thread, often: samples once a second, logs every summary interval.
    void tick();
    // Control thread: the appliance's state as /health reports it.
    void set_state(bool draining, bool failed, uint32_t shards_running) noexcept;

    // Any thread.
    MetricsView view() const;
    // More series appended to /metrics (e.g. Kafka and checkpoints); set before listen().
    using ExtraFn = std::string (*)(const void* ctx);
    void set_extra(ExtraFn fn, const void* ctx) noexcept {
        extra_ = fn;
        extra_ctx_ = ctx;
    }

private:
    HttpResponse answer(std::string_view path) const;

    const AppConfig& config_;
    std::vector<const MetricsSlot*> slots_;
    const int64_t started_ms_;
    std::atomic<bool> draining_{false};
    std::atomic<bool> failed_{false};
    std::atomic<uint32_t> running_{0};

    mutable std::mutex mu_;            // idle_ratio_ (the HTTP thread reads it)
    std::vector<double> idle_ratio_;
    std::vector<LoopMetrics> last_loops_;
    int64_t last_sample_ms_ = 0;

    MetricsView last_summary_;         // control thread only
    int64_t last_summary_ms_ = 0;

    std::unique_ptr<HttpServer> http_;
    ExtraFn extra_ = nullptr;
    const void* extra_ctx_ = nullptr;
};

}  // namespace sluice
