// The operator's view of a running appliance: /metrics and /health over
// HTTP, `sluice top` reading them, the log's format and its periodic
// summary, and a metrics port in use refusing to start.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "appliance.h"

namespace {

using namespace sluice::testing;

struct Reply {
    int status = 0;
    std::string body;
};

// GET over a plain socket (the server closes after the body).
Reply http_get(uint16_t port, const std::string& path) {
    Reply r;
    const int fd = connect_tcp(port);
    if (fd < 0) return r;
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    send_all(fd, req.data(), req.size());
    std::string text;
    char buf[8192];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    if (text.size() < 12 || text.rfind("HTTP/1.1 ", 0) != 0) return r;
    r.status = std::atoi(text.c_str() + 9);
    const auto body = text.find("\r\n\r\n");
    if (body != std::string::npos) r.body = text.substr(body + 4);
    return r;
}

// Sum of a series over every label set that contains `match` (e.g. query="q").
double series_sum(const std::string& text, const std::string& name, const std::string& match = "") {
    double sum = 0;
    for (const std::string& line : lines_of(text)) {
        if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
        if (!match.empty() && line.find(match) == std::string::npos) continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
}

std::string config(uint16_t udp, uint16_t metrics) {
    return "[shards]\ncount = 2\nidle = \"adaptive\"\n"
           "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics) + "\"\n"
           "[log]\nsummary_interval_s = 1\n"
           "[[sources]]\nname = \"in\"\ntype = \"udp\"\nlisten = \"127.0.0.1:" + std::to_string(udp) + "\"\n"
           "[[sinks]]\nname = \"out\"\ntype = \"file\"\npath = \"out.ndjson\"\n"
           "[[queries]]\nname = \"q\"\nsql = \"SELECT k, COUNT(*) AS n FROM t GROUP BY k\"\nsink = \"out\"\n";
}

TEST_F(Appliance, MetricsHealthTopAndTheLog) {
    const uint16_t udp = free_port(SOCK_DGRAM);
    const uint16_t metrics = free_port(SOCK_STREAM);
    ASSERT_TRUE(start(config(udp, metrics))) << err();

    // 200 datagrams of 10 records, paced, over 50 keys.
    const int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in ua = loopback(udp);
    int n = 0;
    for (int d = 0; d < 200; ++d) {
        std::string dgram;
        for (int r = 0; r < 10; ++r, ++n) dgram += "{\"k\":\"K" + std::to_string(n % 50) + "\"}\n";
        ::sendto(u, dgram.data(), dgram.size(), 0, reinterpret_cast<const sockaddr*>(&ua), sizeof ua);
        if (d % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::close(u);
    ASSERT_TRUE(wait_for_lines(path("out.ndjson"), 2000)) << err();

    // Shards publish every 10 ms: the endpoint catches up with the rows.
    std::string text;
    ASSERT_TRUE(wait_until([&] {
        const Reply m = http_get(metrics, "/metrics");
        text = m.body;
        return m.status == 200 && series_sum(text, "sluice_rows_out_total") == 2000;
    })) << text;
    EXPECT_EQ(series_sum(text, "sluice_records_in_total", "query=\"q\""), 2000);
    EXPECT_EQ(series_sum(text, "sluice_records_processed_total"), 2000);
    EXPECT_EQ(series_sum(text, "sluice_groups"), 50);
    EXPECT_EQ(series_sum(text, "sluice_source_datagrams_total", "source=\"in\""), 200);
    EXPECT_EQ(series_sum(text, "sluice_shards"), 2);
    EXPECT_EQ(series_sum(text, "sluice_up"), 1);
    // Every EMIT CHANGES flush carried rows: the histogram has samples, all counted in +Inf.
    const double flushes = series_sum(text, "sluice_ingest_to_emit_seconds_count");
    EXPECT_GT(flushes, 0);
    EXPECT_EQ(series_sum(text, "sluice_ingest_to_emit_seconds_bucket", "le=\"+Inf\""), flushes);
    EXPECT_GT(series_sum(text, "sluice_uring_completed_total"), 0);

    const Reply health = http_get(metrics, "/health");
    EXPECT_EQ(health.status, 200);
    EXPECT_NE(health.body.find("\"status\":\"ok\""), std::string::npos) << health.body;
    EXPECT_NE(health.body.find("{\"name\":\"q\",\"records_in\":2000,\"rows_out\":2000}"), std::string::npos)
        << health.body;
    EXPECT_EQ(http_get(metrics, "/nothing").status, 404);

    // sluice top against the live endpoint: two frames, the query on both shards.
    const pid_t top = spawn_process({sluice_binary(), "top", "--url", "http://127.0.0.1:" + std::to_string(metrics),
                                     "--count", "2", "--interval", "0.2"},
                                    path("top.out"), path("top.err"));
    ASSERT_GT(top, 0);
    int status = -1;
    ASSERT_TRUE(wait_until([&] { return ::waitpid(top, &status, WNOHANG) == top; }));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(path("top.err"));
    const std::string screen = read_file(path("top.out"));
    EXPECT_NE(screen.find("QUERY            SHARD      IN/s"), std::string::npos) << screen;
    EXPECT_NE(screen.find("\nq                    0 "), std::string::npos) << screen;
    EXPECT_NE(screen.find("\nq                    1 "), std::string::npos) << screen;

    // The periodic summary (every second) names the query and its totals.
    ASSERT_TRUE(wait_until([&] { return err().find("sluice: query 'q': ") != std::string::npos; })) << err();
    ASSERT_EQ(stop(), 0) << err();
    EXPECT_EQ(counter(stats(), "records_in"), 2000);
    // One format for every log line: UTC time, level, "sluice: ".
    const std::regex line_format(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|error) sluice: .+$)");
    const auto log = lines_of(err());
    ASSERT_FALSE(log.empty());
    for (const std::string& line : log) EXPECT_TRUE(std::regex_match(line, line_format)) << line;
    EXPECT_NE(err().find("  metrics on http://127.0.0.1:" + std::to_string(metrics) + "/metrics"), std::string::npos);
}

TEST_F(Appliance, AMetricsPortInUseIsAStartUpError) {
    const uint16_t metrics = free_port(SOCK_STREAM);
    const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in a = loopback(metrics);
    ASSERT_EQ(::bind(holder, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(holder, 1), 0);
    EXPECT_FALSE(start(config(free_port(SOCK_DGRAM), metrics)));
    EXPECT_EQ(exit_code_, 1);
    EXPECT_NE(err().find("metrics: cannot listen on 127.0.0.1:" + std::to_string(metrics)), std::string::npos)
        << err();
    ::close(holder);
}

}  // namespace

int main(int argc, char** argv) { return appliance_test_main(argc, argv); }
