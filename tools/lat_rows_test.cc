// sluice-lat's row handling: the sent_ns field, row splitting of datagrams
// and streams, and the measuring loop over loopback against an echo (UDP)
// and a relay standing in for sluice (TCP in, TCP rows out). Small bounded
// counts; no timing is asserted.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "lat_echo.h"
#include "lat_receiver.h"
#include "lat_rows.h"
#include "lat_run.h"

namespace sluice::lat {
namespace {

TEST(LatRows, FindsTheIntegerSentNs) {
    EXPECT_EQ(parse_sent_ns(R"({"symbol":"SYM1","sent_ns":123456789})"), 123456789);
    EXPECT_EQ(parse_sent_ns(R"({"sent_ns":5,"symbol":"SYM1"})"), 5);
    EXPECT_EQ(parse_sent_ns(R"({"sent_ns" :  42 , "x":1})"), 42);
    EXPECT_EQ(parse_sent_ns(R"({"sent_ns":-7})"), -7);
    EXPECT_EQ(parse_sent_ns(R"({"sent_ns":9223372036854775807})"), INT64_MAX);
    // "sent_ns" as a string value first, then as the key.
    EXPECT_EQ(parse_sent_ns(R"({"name":"sent_ns","sent_ns":11})"), 11);
}

TEST(LatRows, RowsWithoutAnIntegerSentNsDoNotMatch) {
    EXPECT_FALSE(parse_sent_ns(R"({"symbol":"SYM1","n":3})"));
    EXPECT_FALSE(parse_sent_ns(R"({"sent_ns":null})"));
    EXPECT_FALSE(parse_sent_ns(R"({"sent_ns":"12"})"));
    EXPECT_FALSE(parse_sent_ns(R"({"sent_ns":1.5e15})"));
    EXPECT_FALSE(parse_sent_ns(R"({"sent_ns":12.0})"));
    EXPECT_FALSE(parse_sent_ns(R"({"sent_ns":})"));
    EXPECT_FALSE(parse_sent_ns(R"({"sent_ns":99999999999999999999})"));
    EXPECT_FALSE(parse_sent_ns(R"({"sent_ns":12)"));  // cut off
    EXPECT_FALSE(parse_sent_ns(""));
}

TEST(LatRows, DatagramsSplitIntoRows) {
    std::vector<std::string> rows;
    for_each_row("{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}", [&](std::string_view r) { rows.emplace_back(r); });
    EXPECT_EQ(rows, (std::vector<std::string>{"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"}));
}

TEST(LatRows, StreamsAreReassembledAtNewlines) {
    const std::string text = "{\"sent_ns\":1}\n{\"sent_ns\":22}\n{\"sent_ns\":333}\n{\"x\":";
    for (std::size_t piece : {1u, 2u, 5u, 13u, 100u}) {
        LineSplitter splitter;
        std::vector<std::string> rows;
        for (std::size_t at = 0; at < text.size(); at += piece)
            splitter.feed(std::string_view(text).substr(at, piece), [&](std::string_view r) { rows.emplace_back(r); });
        EXPECT_EQ(rows, (std::vector<std::string>{"{\"sent_ns\":1}", "{\"sent_ns\":22}", "{\"sent_ns\":333}"}))
            << "piece " << piece;
        EXPECT_EQ(splitter.pending(), 5u);
    }
}

gen::Endpoint any_loopback_port() {
    std::string error;
    return *gen::parse_endpoint("127.0.0.1:0", {.allow_port_zero = true}, error);
}

TEST(LatRun, FloorEchoReturnsEveryRecord) {
    RowReceiver rows;
    std::string error;
    ASSERT_TRUE(rows.open(false, any_loopback_port(), error)) << error;
    UdpEcho echo;
    ASSERT_TRUE(echo.start(rows.address(), false, std::nullopt, error)) << error;
    LatRunOptions o;
    o.target = echo.address();
    o.count = 500;
    o.rate = 20000;
    o.warmup_s = 0;
    o.limits = {1400, 3};
    const RecordFormatter records(Scenario::S2);
    const LatRunResult r = run_latency(records, o, rows);
    echo.stop();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.sent.records, 500u);
    EXPECT_EQ(r.matched, 500u);
    EXPECT_EQ(r.lost(1), 0u);
    EXPECT_EQ(r.unmatched, 0u);
    EXPECT_EQ(r.stale, 0u);
    EXPECT_EQ(r.histogram.count(), 500u);
    EXPECT_GT(r.histogram.value_at_percentile(50), 0u);
    EXPECT_EQ(echo.echoed(), (500u + 2) / 3);
}

TEST(LatRun, WarmupRowsAreCountedButNotRecorded) {
    RowReceiver rows;
    std::string error;
    ASSERT_TRUE(rows.open(false, any_loopback_port(), error)) << error;
    UdpEcho echo;
    ASSERT_TRUE(echo.start(rows.address(), false, std::nullopt, error)) << error;
    LatRunOptions o;
    o.target = echo.address();
    o.count = 200;
    o.rate = 10000;  // 20 ms of sending, all inside the warm-up
    o.warmup_s = 10;
    const LatRunResult r = run_latency(RecordFormatter(Scenario::S0), o, rows);
    echo.stop();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.matched, 200u);
    EXPECT_EQ(r.warmup, 200u);
    EXPECT_EQ(r.histogram.count(), 0u);
}

// Stands in for sluice: takes records over TCP, writes each back as a row
// (sent_ns kept, other fields dropped) on a connection to `rows_to`, plus one
// row without sent_ns per 100 records.
void relay(int listener, gen::Endpoint rows_to, std::atomic<bool>& stop) {
    const int in = ::accept(listener, nullptr, nullptr);
    const int out = ::socket(AF_INET, SOCK_STREAM, 0);
    if (in < 0 || ::connect(out, rows_to.sa(), rows_to.len) != 0) return;
    LineSplitter lines;
    char buf[65536];
    uint64_t n = 0;
    while (!stop.load()) {
        pollfd p{in, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        const ssize_t got = ::recv(in, buf, sizeof buf, 0);
        if (got <= 0) break;
        std::string rows;
        lines.feed(std::string_view(buf, static_cast<std::size_t>(got)), [&](std::string_view r) {
            rows += "{\"sent_ns\":" + std::to_string(*parse_sent_ns(r)) + "}\n";
            if (++n % 100 == 0) rows += "{\"heartbeat\":true}\n";
        });
        for (std::size_t at = 0; at < rows.size();) {
            const ssize_t w = ::send(out, rows.data() + at, rows.size() - at, MSG_NOSIGNAL);
            if (w <= 0) break;
            at += static_cast<std::size_t>(w);
        }
    }
    ::close(in);
    ::close(out);
}

TEST(LatRun, TcpInTcpRowsOut) {
    RowReceiver rows;
    std::string error;
    ASSERT_TRUE(rows.open(true, any_loopback_port(), error)) << error;
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    gen::Endpoint source = any_loopback_port();
    ASSERT_EQ(::bind(listener, source.sa(), source.len), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    source.len = sizeof source.addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&source.addr), &source.len);
    source.text = gen::endpoint_text(source.addr);

    std::atomic<bool> stop{false};
    std::thread sluice_standin(relay, listener, rows.address(), std::ref(stop));
    LatRunOptions o;
    o.transport = gen::Transport::Tcp;
    o.target = source;
    o.count = 1000;
    o.rate = 50000;
    o.warmup_s = 0;
    o.drain_ms = 5000;  // ends as soon as every row came
    o.limits = {1400, 4};
    const LatRunResult r = run_latency(RecordFormatter(Scenario::S3), o, rows);
    stop = true;
    sluice_standin.join();
    ::close(listener);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.sent.records, 1000u);
    EXPECT_EQ(r.matched, 1000u);
    EXPECT_EQ(r.unmatched, 10u);
    EXPECT_EQ(r.lost(1), 0u);
    EXPECT_EQ(r.histogram.count(), 1000u);
    EXPECT_EQ(rows.connections(), 1u);
    // Two rows per record expected: half of them are missing.
    EXPECT_EQ(r.lost(2), 1000u);
}

}  // namespace
}  // namespace sluice::lat
