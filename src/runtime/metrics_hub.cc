#include "metrics_hub.h"

#include "log.h"
#include "sluice/base.h"

namespace sluice {

MetricsHub::MetricsHub(const AppConfig& config, std::vector<const MetricsSlot*> slots)
    : config_(config),
      slots_(std::move(slots)),
      started_ms_(wall_ms()),
      idle_ratio_(slots_.size(), -1.0),
      last_loops_(slots_.size()),
      last_sample_ms_(started_ms_),
      last_summary_ms_(started_ms_) {
    last_summary_ = view();
}

// Stops the listener before the slots it reads go away.
MetricsHub::~MetricsHub() { http_.reset(); }

Result<uint16_t> MetricsHub::listen() {
    if (!config_.metrics.enabled) return uint16_t{0};
    auto server = HttpServer::start(config_.metrics.listen, [this](std::string_view path) { return answer(path); });
    if (!server) return server.error();
    http_ = std::move(server.value());
    return http_->port();
}

void MetricsHub::set_state(bool draining, bool failed, uint32_t shards_running) noexcept {
    draining_.store(draining, std::memory_order_relaxed);
    failed_.store(failed, std::memory_order_relaxed);
    running_.store(shards_running, std::memory_order_relaxed);
}

MetricsView MetricsHub::view() const {
    MetricsView v;
    v.config = &config_;
    v.wall_ms = wall_ms();
    v.uptime_s = double(v.wall_ms - started_ms_) / 1000.0;
    v.shards.reserve(slots_.size());
    for (const MetricsSlot* s : slots_) v.shards.push_back(s->read());
    v.draining = draining_.load(std::memory_order_relaxed);
    v.failed = failed_.load(std::memory_order_relaxed);
    v.shards_running = running_.load(std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    v.idle_ratio = idle_ratio_;
    return v;
}

void MetricsHub::tick() {
    const int64_t now = wall_ms();
    if (now - last_sample_ms_ >= 1000) {
        std::vector<double> ratio(slots_.size(), -1.0);
        for (std::size_t s = 0; s < slots_.size(); ++s) {
            const LoopMetrics l = slots_[s]->read().loop;
            const uint64_t iterations = l.iterations - last_loops_[s].iterations;
            if (iterations != 0) ratio[s] = double(l.idle_iterations - last_loops_[s].idle_iterations) / double(iterations);
            last_loops_[s] = l;
        }
        last_sample_ms_ = now;
        std::lock_guard lock(mu_);
        idle_ratio_ = std::move(ratio);
    }
    const uint32_t every = config_.log.summary_interval_s;
    if (every != 0 && now - last_summary_ms_ >= int64_t{every} * 1000) {
        MetricsView v = view();
        for (const std::string& line : summary_lines(last_summary_, v, double(now - last_summary_ms_) / 1000.0))
            SLUICE_LOG_INFO("%s", line.c_str());
        last_summary_ = std::move(v);
        last_summary_ms_ = now;
    }
}

HttpResponse MetricsHub::answer(std::string_view path) const {
    if (path == "/metrics") {
        std::string text = prometheus_text(view());
        if (extra_) text += extra_(extra_ctx_);
        return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)};
    }
    if (path == "/health") {
        const MetricsView v = view();
        return {healthy(v) ? 200 : 503, "application/json", health_json(v)};
    }
    return {404, "text/plain; charset=utf-8", "not found: try /metrics or /health\n"};
}

}  // namespace sluice
