// The metrics path off the shards: slots published by one thread and read by
// another, the Prometheus text read back, /health, the HTTP server and
// client, and `sluice top`'s screen from two scrapes.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "runtime/config.h"
#include "runtime/http_client.h"
#include "runtime/http_server.h"
#include "runtime/metrics_view.h"
#include "runtime/prometheus_parse.h"
#include "runtime/shard_metrics.h"
#include "runtime/top.h"

namespace sluice {
namespace {

AppConfig two_query_config() {
    auto r = parse_config(R"(
[shards]
count = 2
[[sources]]
name = "u"
type = "udp"
listen = "127.0.0.1:9000"
[[sources]]
name = "t"
type = "tcp"
listen = "127.0.0.1:9001"
[[sinks]]
name = "out"
type = "udp"
address = "127.0.0.1:9002"
[[queries]]
name = "q1"
sql = "SELECT a, COUNT(*) AS n FROM s GROUP BY a"
sink = "out"
[[queries]]
name = "q2"
sql = "SELECT a FROM s"
sink = "out"
)",
                          "m.toml");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.value();
}

QueryMetrics query_metrics(uint64_t base) {
    QueryMetrics m;
    m.counters.records_in = base + 10;
    m.counters.records_processed = base + 7;
    m.counters.records_rejected = 2;
    m.counters.overload_dropped = 1;
    m.counters.rows_out = base + 5;
    m.groups = base;
    m.open_windows = 3;
    m.state_bytes = 4096;
    m.watermark_ms = 1'700'000'000'000 + int64_t(base);
    m.ring_bytes = 512;
    m.ring_capacity = 2048;
    m.latency.observe(1'500);    // 1.5 us -> le 2e-06
    m.latency.observe(40'000);   // 40 us -> le 5e-05
    m.latency.observe(3'000'000'000);  // 3 s -> +Inf
    return m;
}

MetricsView view_of(const AppConfig& cfg, uint64_t base) {
    MetricsView v;
    v.config = &cfg;
    v.wall_ms = 1'700'000'001'000;
    v.uptime_s = 12.5;
    v.shards_running = 2;
    for (uint32_t s = 0; s < 2; ++s) {
        ShardMetrics m;
        m.loop.iterations = 100 + s;
        m.loop.idle_iterations = 40;
        m.queries = {query_metrics(base + s), query_metrics(base + 100 + s)};
        m.sources = {SourceTotals{5, 1, 0, 700}, SourceTotals{0, 0, 2, 300}};
        m.sinks = {SinkTotals{9, 900, 3, 1, 0, 0}};
        v.shards.push_back(m);
        v.idle_ratio.push_back(0.25 * (s + 1));
    }
    return v;
}

TEST(LatencyBuckets, BoundsAreInclusiveUpperLimits) {
    LatencyBuckets b;
    b.observe(0);
    b.observe(1'000);  // exactly 1 us: the first bucket
    b.observe(1'001);  // just above: the second
    b.observe(1'000'000'000);  // exactly 1 s: the last finite bucket
    b.observe(1'000'000'001);  // above every bound
    EXPECT_EQ(b.counts[0], 2u);
    EXPECT_EQ(b.counts[1], 1u);
    EXPECT_EQ(b.counts[kLatencyBucketsUs.size() - 1], 1u);
    EXPECT_EQ(b.counts.back(), 1u);
    EXPECT_EQ(b.count(), 5u);
    EXPECT_EQ(b.sum_ns, 0u + 1'000 + 1'001 + 1'000'000'000 + 1'000'000'001);
}

TEST(MetricsSlot, ReadReturnsWhatWasPublished) {
    MetricsSlot slot(2, 2, 1);
    LoopMetrics loop{7, 3, 11, 13, 17};
    std::vector<QueryMetrics> q = {query_metrics(1), query_metrics(2)};
    std::vector<SourceTotals> src = {SourceTotals{1, 2, 3, 4}, SourceTotals{5, 6, 7, 8}};
    std::vector<SinkTotals> sink = {SinkTotals{9, 10, 11, 12, 13, 14}};
    slot.publish(loop, q, src, sink);
    const ShardMetrics m = slot.read();
    EXPECT_EQ(m.loop.iterations, 7u);
    EXPECT_EQ(m.loop.uring_completed, 17u);
    ASSERT_EQ(m.queries.size(), 2u);
    EXPECT_EQ(m.queries[1].counters.records_in, 12u);
    EXPECT_EQ(m.queries[1].watermark_ms, q[1].watermark_ms);
    EXPECT_EQ(m.queries[0].latency.counts, q[0].latency.counts);
    EXPECT_EQ(m.sources[1].bytes, 8u);
    EXPECT_EQ(m.sinks[0].disconnects, 14u);
}

// One writer publishing increasing counters, one reader: every value read is
// one that was published (whole words, never torn), and reads never go back.
TEST(MetricsSlot, ConcurrentReadsSeeWholeGrowingValues) {
    MetricsSlot slot(1, 0, 0);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        LoopMetrics loop;
        std::vector<QueryMetrics> q(1);
        for (uint64_t i = 1; i <= 200'000; ++i) {
            loop.iterations = i;
            q[0].counters.records_in = i * 0x100000001ull;  // both halves of the word change
            slot.publish(loop, q, {}, {});
        }
        done.store(true);
    });
    uint64_t last = 0;
    while (!done.load()) {
        const ShardMetrics m = slot.read();
        const uint64_t v = m.queries[0].counters.records_in;
        ASSERT_EQ(v % 0x100000001ull, 0u) << "torn value " << v;
        ASSERT_GE(v, last);
        last = v;
    }
    writer.join();
    EXPECT_EQ(slot.read().loop.iterations, 200'000u);
}

TEST(PrometheusText, EveryLineParsesAndSumsMatchTheShards) {
    const AppConfig cfg = two_query_config();
    const MetricsView v = view_of(cfg, 1000);
    const std::string text = prometheus_text(v);
    std::size_t bad = 99;
    const auto samples = parse_prometheus(text, &bad);
    EXPECT_EQ(bad, 0u);
    // Per query, summed over both shards.
    EXPECT_EQ(prom_sum(samples, "sluice_records_in_total", {{"query", "q1"}}), (1000 + 10) + (1001 + 10));
    EXPECT_EQ(prom_sum(samples, "sluice_rows_out_total", {{"query", "q2"}, {"shard", "1"}}), 1101 + 5);
    EXPECT_EQ(prom_sum(samples, "sluice_records_overload_dropped_total"), 4);
    EXPECT_EQ(prom_sum(samples, "sluice_ring_occupancy_ratio", {{"query", "q1"}, {"shard", "0"}}), 0.25);
    EXPECT_EQ(prom_sum(samples, "sluice_watermark_lag_milliseconds", {{"query", "q1"}, {"shard", "0"}}),
              1'000.0 - 1000);
    EXPECT_EQ(prom_sum(samples, "sluice_loop_idle_ratio", {{"shard", "1"}}), 0.5);
    // Source families only for the kinds they describe.
    EXPECT_EQ(prom_sum(samples, "sluice_source_datagrams_total", {{"source", "u"}}), 10);
    EXPECT_FALSE(prom_sum(samples, "sluice_source_datagrams_total", {{"source", "t"}}).has_value());
    EXPECT_EQ(prom_sum(samples, "sluice_source_connections_total", {{"source", "t"}}), 4);
    EXPECT_EQ(prom_sum(samples, "sluice_sink_rows_total", {{"sink", "out"}}), 18);
    // The histogram is cumulative, ends at +Inf with the count, and keeps the sum in seconds.
    const std::map<std::string, std::string> h{{"query", "q1"}, {"shard", "0"}};
    auto bucket = [&](const char* le) {
        auto m = h;
        m["le"] = le;
        return prom_sum(samples, "sluice_ingest_to_emit_seconds_bucket", m);
    };
    EXPECT_EQ(bucket("1e-06"), 0);
    EXPECT_EQ(bucket("2e-06"), 1);
    EXPECT_EQ(bucket("5e-05"), 2);
    EXPECT_EQ(bucket("1"), 2);
    EXPECT_EQ(bucket("+Inf"), 3);
    EXPECT_EQ(prom_sum(samples, "sluice_ingest_to_emit_seconds_count", h), 3);
    EXPECT_NEAR(*prom_sum(samples, "sluice_ingest_to_emit_seconds_sum", h), 3.0000415, 1e-9);
    // Every family is announced once with its type before its samples.
    EXPECT_EQ(text.find("# TYPE sluice_records_in_total counter"), text.rfind("# TYPE sluice_records_in_total counter"));
    EXPECT_LT(text.find("# TYPE sluice_records_in_total counter"), text.find("sluice_records_in_total{"));
}

TEST(PrometheusText, DpdkSourcesShowFramesAndDropsByReason) {
    AppConfig cfg = two_query_config();
    SourceSpec wire;  // made by hand: a build without DPDK refuses the config text
    wire.name = "wire";
    wire.type = SourceType::Dpdk;
    cfg.sources.push_back(wire);
    MetricsView v = view_of(cfg, 0);
    for (uint32_t s = 0; s < 2; ++s) {
        SourceTotals t;
        t.frames = 100 + s;
        t.bytes = 150000;
        t.datagrams = 90;
        t.copied_for_padding = 1;
        t.frames_dropped[static_cast<std::size_t>(net::FrameDrop::bad_checksum)] = 3;
        t.frames_dropped[static_cast<std::size_t>(net::FrameDrop::not_ipv4)] = 7 + s;
        v.shards[s].sources.push_back(t);
    }
    std::size_t bad = 99;
    const auto samples = parse_prometheus(prometheus_text(v), &bad);
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(prom_sum(samples, "sluice_source_frames_total", {{"source", "wire"}}), 201);
    EXPECT_EQ(prom_sum(samples, "sluice_source_datagrams_total", {{"source", "wire"}}), 180);
    EXPECT_EQ(prom_sum(samples, "sluice_source_received_bytes_total", {{"source", "wire"}}), 300000);
    EXPECT_EQ(prom_sum(samples, "sluice_source_copied_for_padding_total", {{"source", "wire"}, {"shard", "1"}}), 1);
    EXPECT_EQ(prom_sum(samples, "sluice_source_frames_dropped_total", {{"source", "wire"}, {"reason", "bad_checksum"}}),
              6);
    EXPECT_EQ(prom_sum(samples, "sluice_source_frames_dropped_total", {{"reason", "not_ipv4"}, {"shard", "1"}}), 8);
    EXPECT_EQ(prom_sum(samples, "sluice_source_frames_dropped_total", {{"reason", "fragment"}}), 0);
    EXPECT_FALSE(prom_sum(samples, "sluice_source_frames_dropped_total", {{"reason", "none"}}).has_value());
    // Socket-only families leave the dpdk source out, and the frame families the sockets.
    EXPECT_FALSE(prom_sum(samples, "sluice_source_kernel_dropped_total", {{"source", "wire"}}).has_value());
    EXPECT_FALSE(prom_sum(samples, "sluice_source_frames_total", {{"source", "u"}}).has_value());
}

TEST(PrometheusText, NoWatermarkMeansNoWatermarkSamples) {
    const AppConfig cfg = two_query_config();
    MetricsView v = view_of(cfg, 0);
    for (auto& s : v.shards)
        for (auto& q : s.queries) q.watermark_ms = INT64_MIN;
    const auto samples = parse_prometheus(prometheus_text(v));
    EXPECT_FALSE(prom_sum(samples, "sluice_watermark_milliseconds").has_value());
}

TEST(PrometheusParse, LabelsEscapesTimestampsAndBadLines) {
    std::size_t bad = 0;
    const auto s = parse_prometheus(
        "# HELP x y\n"
        "a 1\n"
        "b{k=\"v\",q=\"x\\\"y\"} 2.5 1700000000\n"
        "c{le=\"+Inf\"} +Inf\n"
        "broken{k=\"v\" 3\n"
        "{k=\"v\"} 4\n"
        "d notanumber\n",
        &bad);
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[1].labels.at("q"), "x\"y");
    EXPECT_EQ(s[1].value, 2.5);
    EXPECT_TRUE(std::isinf(s[2].value));
    EXPECT_EQ(bad, 3u);
}

TEST(HealthJson, SaysOkDrainingOrFailed) {
    const AppConfig cfg = two_query_config();
    MetricsView v = view_of(cfg, 0);
    EXPECT_TRUE(healthy(v));
    const std::string ok = health_json(v);
    EXPECT_NE(ok.find("\"status\":\"ok\""), std::string::npos) << ok;
    EXPECT_NE(ok.find("{\"name\":\"q1\",\"records_in\":21,\"rows_out\":11,\"watermark_ms\":1700000000000}"),
              std::string::npos)
        << ok;
    v.draining = true;
    EXPECT_FALSE(healthy(v));
    EXPECT_NE(health_json(v).find("\"status\":\"draining\""), std::string::npos);
    v.failed = true;
    EXPECT_NE(health_json(v).find("\"status\":\"failed\""), std::string::npos);
}

TEST(SummaryLines, RatesComeFromTheDifference) {
    const AppConfig cfg = two_query_config();
    const MetricsView a = view_of(cfg, 0);
    const MetricsView b = view_of(cfg, 1000);
    const auto lines = summary_lines(a, b, 2.0);
    ASSERT_EQ(lines.size(), 3u);
    // q1: records_in grew by 2 x 1000 over 2 s.
    EXPECT_EQ(lines[0].rfind("query 'q1': 1.0K rec/s in, 1.0K rows/s out", 0), 0u) << lines[0];
    EXPECT_EQ(lines[2], "shards idle: 25% 50%");
}

TEST(HttpServer, ParsesRequestLines) {
    std::string_view m, p;
    EXPECT_TRUE(parse_request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", m, p));
    EXPECT_EQ(m, "GET");
    EXPECT_EQ(p, "/metrics");
    EXPECT_FALSE(parse_request_line("GET metrics HTTP/1.1\r\n", m, p));
    EXPECT_FALSE(parse_request_line("GET /metrics HTTP/2\r\n", m, p));
    EXPECT_FALSE(parse_request_line("\x01\x02\r\n", m, p));
    EXPECT_FALSE(parse_request_line("", m, p));
}

TEST(HttpServer, ServesTheHandlerAndRefusesTheRest) {
    Endpoint listen{"127.0.0.1", 0, false, "127.0.0.1:0"};
    auto server = HttpServer::start(listen, [](std::string_view path) {
        if (path == "/x") return HttpResponse{200, "text/plain", "hello\n"};
        return HttpResponse{404, "text/plain", "no\n"};
    });
    ASSERT_TRUE(server.ok()) << server.error().message;
    const uint16_t port = server.value()->port();
    ASSERT_NE(port, 0);
    auto url = parse_http_url("http://127.0.0.1:" + std::to_string(port) + "/x", "/");
    ASSERT_TRUE(url.ok());
    auto r = http_get(*url, 2000);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello\n");
    url->path = "/y";
    r = http_get(*url, 2000);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 404);
    // A second server on the same port fails: the listener is never shared.
    Endpoint same{"127.0.0.1", port, false, "127.0.0.1:" + std::to_string(port)};
    auto second = HttpServer::start(same, [](std::string_view) { return HttpResponse{}; });
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.error().message.find("metrics: cannot listen on 127.0.0.1:"), std::string::npos);
}

TEST(HttpClient, ParsesUrls) {
    auto u = parse_http_url("http://[::1]:9180", "/metrics");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 9180);
    EXPECT_EQ(u->path, "/metrics");
    u = parse_http_url("127.0.0.1:80/health", "/metrics");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->path, "/health");
    EXPECT_FALSE(parse_http_url("http://127.0.0.1:99999/", "/").ok());
    EXPECT_FALSE(parse_http_url("http://:80/", "/").ok());
}

TEST(Top, ShowsRatesLatencyAndDrops) {
    const AppConfig cfg = two_query_config();
    const auto a = parse_prometheus(prometheus_text(view_of(cfg, 0)));
    MetricsView later = view_of(cfg, 2000);
    for (auto& s : later.shards) s.queries[0].latency.observe(8'000);  // one more sample at 8 us
    const auto b = parse_prometheus(prometheus_text(later));
    const std::string screen = render_top(a, b, 2.0);
    // q1 on shard 0: records_in 10 -> 2010 over 2 s; the watermark is 1 s ahead of
    // the wall clock; the interval's only latency sample is 8 us.
    EXPECT_NE(screen.find("q1                   0      1.0K      1.0K       0       0       0   -1000ms"
                          "    <=10us    <=10us   25%   25%"),
              std::string::npos)
        << screen;
    EXPECT_NE(screen.find("shards 2 running 2  up"), std::string::npos);
    // Without an earlier scrape, rates show as "-".
    EXPECT_NE(render_top({}, b, 0).find("q1                   0         -"), std::string::npos);
}

}  // namespace
}  // namespace sluice
