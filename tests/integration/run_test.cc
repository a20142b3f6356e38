// End-to-end tests of `sluice run` on loopback: a config is written, the
// appliance started, records sent over UDP and TCP by plain sockets, rows
// received from file, UDP and TCP sinks, then SIGTERM drains it. Counts and
// durations are bounded; rows and counters are checked exactly.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "appliance.h"

namespace {

using sluice::testing::Appliance;
using sluice::testing::connect_tcp;
using sluice::testing::counter;
using sluice::testing::free_port;
using sluice::testing::lines_of;
using sluice::testing::loopback;
using sluice::testing::read_file;
using sluice::testing::send_all;
using sluice::testing::wait_for_lines;

std::string record(int i, int quantity) {
    return "{\"symbol\":\"S" + std::to_string(i % 5) + "\",\"price\":1.5,\"quantity\":" + std::to_string(quantity) + "}\n";
}

std::string config(uint16_t udp, uint16_t tcp, const std::string& sink, const std::string& query,
                   const std::string& extra = "") {
    std::string c = "[shards]\ncount = 2\nidle = \"adaptive\"\n" + extra;
    if (udp) c += "[[sources]]\nname = \"u\"\ntype = \"udp\"\nlisten = \"127.0.0.1:" + std::to_string(udp) + "\"\n";
    if (tcp) c += "[[sources]]\nname = \"t\"\ntype = \"tcp\"\nlisten = \"127.0.0.1:" + std::to_string(tcp) + "\"\n";
    c += sink;
    c += "[[queries]]\nname = \"q\"\nsql = \"" + query + "\"\nsink = \"out\"\n";
    return c;
}

const std::string kFileSink = "[[sinks]]\nname = \"out\"\ntype = \"file\"\npath = \"out.ndjson\"\n";
const std::string kTotals = "SELECT symbol, COUNT(*) AS n, SUM(quantity) AS q FROM t GROUP BY symbol EMIT FINAL";
// A second query writing one row per record: the test sees when everything was taken.
const std::string kProgress =
    "[[sinks]]\nname = \"seen\"\ntype = \"file\"\npath = \"seen.ndjson\"\n"
    "[[queries]]\nname = \"seen\"\nsql = \"SELECT symbol FROM t\"\nsink = \"seen\"\n";

TEST_F(Appliance, UdpAndTcpRecordsAreCountedExactly) {
    const uint16_t udp = free_port(SOCK_DGRAM);
    const uint16_t tcp = free_port(SOCK_STREAM);
    ASSERT_TRUE(start(config(udp, tcp, kFileSink, kTotals) + kProgress)) << err();

    // UDP: 300 datagrams of 10 records (quantity 1), paced.
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in ua = loopback(udp);
    int n = 0;
    for (int d = 0; d < 300; ++d) {
        std::string dgram;
        for (int r = 0; r < 10; ++r) dgram += record(n++, 1);
        ::sendto(u, dgram.data(), dgram.size(), 0, reinterpret_cast<const sockaddr*>(&ua), sizeof ua);
        if (d % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::close(u);
    // TCP: three connections of 1000 records (quantity 2), written in pieces
    // that split records anywhere, one of them byte by byte at its start.
    std::string text;
    for (int i = 0; i < 1000; ++i) text += record(i, 2);
    std::vector<int> conns;
    for (int c = 0; c < 3; ++c) conns.push_back(connect_tcp(tcp));
    for (int c = 0; c < 3; ++c) {
        ASSERT_GE(conns[c], 0);
        std::size_t at = 0;
        const std::size_t piece = 7 + 13 * static_cast<std::size_t>(c);
        if (c == 0) {
            for (; at < 200; ++at) send_all(conns[c], text.data() + at, 1);
        }
        for (; at < text.size(); at += piece) send_all(conns[c], text.data() + at, std::min(piece, text.size() - at));
    }
    for (int fd : conns) ::close(fd);
    ASSERT_TRUE(wait_for_lines(path("seen.ndjson"), 6000)) << err();

    ASSERT_EQ(stop(), 0) << err();
    const std::string s = stats();
    EXPECT_EQ(counter(s, "records_in"), 6000) << s;
    EXPECT_EQ(counter(s, "records_processed"), 6000) << s;
    EXPECT_EQ(counter(s, "records_rejected"), 0) << s;
    std::vector<std::string> rows = lines_of(read_file(path("out.ndjson")));
    std::sort(rows.begin(), rows.end());
    // Each symbol: 600 UDP records of 1 and 600 TCP records of 2.
    std::vector<std::string> want;
    for (int k = 0; k < 5; ++k) want.push_back("{\"symbol\":\"S" + std::to_string(k) + "\",\"n\":1200,\"q\":1800}");
    EXPECT_EQ(rows, want);
}

TEST_F(Appliance, MalformedAndPartialTcpLinesAreRejectedNotLost) {
    const uint16_t tcp = free_port(SOCK_STREAM);
    // One shard: the reset and the next connection reach the same ring in order.
    std::string cfg = config(0, tcp, kFileSink, kTotals) + kProgress;
    cfg.replace(cfg.find("count = 2"), 9, "count = 1");
    ASSERT_TRUE(start(cfg)) << err();
    int fd = connect_tcp(tcp);
    ASSERT_GE(fd, 0);
    const std::string text = record(0, 1) + "not json\n" + record(1, 1) + "{\"symbol\":\"S2\",\"quan";
    send_all(fd, text.data(), text.size());
    // A reset mid-record: the partial line is rejected.
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ASSERT_TRUE(wait_for_lines(path("seen.ndjson"), 2)) << err();
    ::close(fd);
    // A record on a later connection is taken after the reset was seen.
    int again = connect_tcp(tcp);
    ASSERT_GE(again, 0);
    const std::string last = record(3, 1);
    send_all(again, last.data(), last.size());
    ::close(again);
    ASSERT_TRUE(wait_for_lines(path("seen.ndjson"), 3)) << err();
    ASSERT_EQ(stop(), 0) << err();
    const std::string s = stats();
    EXPECT_EQ(counter(s, "records_in"), 5) << s;
    EXPECT_EQ(counter(s, "records_processed"), 3) << s;
    EXPECT_EQ(counter(s, "records_rejected"), 2) << s;
}

TEST_F(Appliance, UdpOverloadKeepsTheBooksBalanced) {
    const uint16_t udp = free_port(SOCK_DGRAM);
    ASSERT_TRUE(start(config(udp, 0, kFileSink,
                             "SELECT symbol, COUNT(*) AS n FROM t GROUP BY symbol EMIT CHANGES")))
        << err();
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in ua = loopback(udp);
    std::string dgram;
    for (int r = 0; r < 25; ++r) dgram += record(r, 1);
    for (int d = 0; d < 40000; ++d)  // as fast as this thread can: more than two shards take on a loaded box
        ::sendto(u, dgram.data(), dgram.size(), 0, reinterpret_cast<const sockaddr*>(&ua), sizeof ua);
    ::close(u);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_EQ(stop(), 0) << err();
    const std::string s = stats();
    const long in = counter(s, "records_in");
    EXPECT_GT(in, 0) << s;
    EXPECT_EQ(in, counter(s, "records_processed") + counter(s, "overload_dropped") + counter(s, "records_rejected")) << s;
    EXPECT_EQ(counter(s, "rows_out"), counter(s, "records_processed")) << s;
    EXPECT_EQ(static_cast<long>(lines_of(read_file(path("out.ndjson"))).size()), counter(s, "rows_out"));
    // Every datagram taken is 25 records; what the kernel dropped before that is reported, not hidden.
    const std::string sources = s.substr(s.find("\"sources\""));
    const long datagrams = counter(sources, "datagrams");
    EXPECT_EQ(in, 25 * datagrams) << s;
    ASSERT_NE(counter(sources, "kernel_dropped"), -1) << "kernel_dropped is reported: " << s;
    EXPECT_LE(datagrams + counter(sources, "kernel_dropped"), 40000) << s;
}

TEST_F(Appliance, TcpUnderLoadLosesNothing) {
    const uint16_t tcp = free_port(SOCK_STREAM);
    ASSERT_TRUE(start(config(0, tcp, kFileSink,
                             "SELECT symbol, COUNT(*) AS n FROM t GROUP BY symbol EMIT CHANGES")))
        << err();
    std::string text;
    for (int i = 0; i < 100000; ++i) text += record(i, 1);
    std::vector<std::thread> senders;
    for (int c = 0; c < 2; ++c)
        senders.emplace_back([&] {
            int fd = connect_tcp(tcp);
            if (fd < 0) return;
            send_all(fd, text.data(), text.size());
            ::close(fd);
        });
    for (auto& t : senders) t.join();
    // Everything sent was taken before the drain: wait until the rows are out.
    for (int i = 0; i < 500 && lines_of(read_file(path("out.ndjson"))).size() < 200000; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(stop(), 0) << err();
    const std::string s = stats();
    EXPECT_EQ(counter(s, "records_in"), 200000) << s;
    EXPECT_EQ(counter(s, "records_processed"), 200000) << s;
    EXPECT_EQ(counter(s, "overload_dropped"), 0) << s;
}

TEST_F(Appliance, RowsLeaveThroughUdpAndTcpSinks) {
    // A UDP collector and a TCP collector on loopback.
    int ucol = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in ua = loopback(0);
    ASSERT_EQ(::bind(ucol, reinterpret_cast<sockaddr*>(&ua), sizeof ua), 0);
    socklen_t len = sizeof ua;
    ::getsockname(ucol, reinterpret_cast<sockaddr*>(&ua), &len);
    int tlisten = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in ta = loopback(0);
    ASSERT_EQ(::bind(tlisten, reinterpret_cast<sockaddr*>(&ta), sizeof ta), 0);
    ::listen(tlisten, 4);
    len = sizeof ta;
    ::getsockname(tlisten, reinterpret_cast<sockaddr*>(&ta), &len);

    for (const bool udp_sink : {true, false}) {
        const uint16_t tcp = free_port(SOCK_STREAM);
        const std::string sink = udp_sink ? "[[sinks]]\nname = \"out\"\ntype = \"udp\"\naddress = \"127.0.0.1:" +
                                                std::to_string(ntohs(ua.sin_port)) + "\"\ndatagram_bytes = 200\n"
                                          : "[[sinks]]\nname = \"out\"\ntype = \"tcp\"\naddress = \"127.0.0.1:" +
                                                std::to_string(ntohs(ta.sin_port)) + "\"\n";
        ASSERT_TRUE(start(config(0, tcp, sink, "SELECT symbol, quantity FROM t"))) << err();
        int fd = connect_tcp(tcp);
        ASSERT_GE(fd, 0);
        std::string text;
        for (int i = 0; i < 100; ++i) text += record(i, i);
        send_all(fd, text.data(), text.size());
        ::close(fd);

        // Every shard has its own sink: one TCP connection each, all read.
        std::string got;
        std::vector<pollfd> fds = {{udp_sink ? ucol : tlisten, POLLIN, 0}};
        while (lines_of(got).size() < 100) {
            if (::poll(fds.data(), fds.size(), 10000) <= 0) break;
            for (std::size_t k = 0; k < fds.size(); ++k) {
                if (!(fds[k].revents & POLLIN)) continue;
                if (!udp_sink && k == 0) {
                    fds.push_back(pollfd{::accept(tlisten, nullptr, nullptr), POLLIN, 0});
                    continue;
                }
                char buf[65536];
                const ssize_t r = ::recv(fds[k].fd, buf, sizeof buf, 0);
                if (r <= 0) continue;
                if (udp_sink) {
                    EXPECT_LE(r, 200);
                    EXPECT_EQ(buf[r - 1], '\n');  // whole rows per datagram
                }
                got.append(buf, static_cast<std::size_t>(r));
            }
        }
        ASSERT_EQ(stop(), 0) << err();
        for (std::size_t k = 1; !udp_sink && k < fds.size(); ++k) ::close(fds[k].fd);
        std::vector<std::string> rows = lines_of(got);
        ASSERT_EQ(rows.size(), 100u) << (udp_sink ? "udp" : "tcp");
        // The sink's own books: every row sent, none dropped.
        const std::string sinks = stats().substr(stats().find("\"sinks\""));
        EXPECT_EQ(counter(sinks, "rows"), 100) << sinks;
        EXPECT_EQ(counter(sinks, "rows_dropped"), 0) << sinks;
        for (int i = 0; i < 100; ++i)  // one connection, one shard's rows: in order per symbol at least
            EXPECT_NE(std::find(rows.begin(), rows.end(),
                                "{\"symbol\":\"S" + std::to_string(i % 5) + "\",\"quantity\":" + std::to_string(i) + "}"),
                      rows.end());
    }
    ::close(ucol);
    ::close(tlisten);
}

TEST_F(Appliance, DrainWithoutFlushDropsOpenWindows) {
    const uint16_t tcp = free_port(SOCK_STREAM);
    const std::string q = "SELECT symbol, COUNT(*) AS n FROM t GROUP BY symbol WINDOW TUMBLING(_TIMESTAMP, INTERVAL '1' HOUR)";
    for (const bool flush : {true, false}) {
        const std::string drain = std::string("[drain]\nflush_windows = ") + (flush ? "true" : "false") + "\n";
        ASSERT_TRUE(start(config(0, tcp, kFileSink, q, drain) + kProgress)) << err();
        int fd = connect_tcp(tcp);
        ASSERT_GE(fd, 0);
        std::string text;
        for (int i = 0; i < 50; ++i) text += record(i, 1);
        send_all(fd, text.data(), text.size());
        ::close(fd);
        ASSERT_TRUE(wait_for_lines(path("seen.ndjson"), 50)) << err();
        ASSERT_EQ(stop(), 0) << err();
        EXPECT_EQ(counter(stats(), "records_in"), 50) << stats();
        const auto rows = lines_of(read_file(path("out.ndjson")));
        EXPECT_EQ(rows.size(), flush ? 5u : 0u) << (flush ? "flush" : "no flush");
        std::filesystem::remove(path("out.ndjson"));
        std::filesystem::remove(path("seen.ndjson"));
    }
}

TEST_F(Appliance, StartUpErrorsAreClear) {
    // A port taken without SO_REUSEPORT: the bind fails, the process exits 1.
    int taken = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::listen(taken, 1);
    socklen_t len = sizeof a;
    ::getsockname(taken, reinterpret_cast<sockaddr*>(&a), &len);
    EXPECT_FALSE(start(config(0, ntohs(a.sin_port), kFileSink, kTotals)));
    EXPECT_EQ(exit_code_, 1);
    EXPECT_NE(err().find("Address already in use"), std::string::npos) << err();
    ::close(taken);

    // A CPU this process may not run on.
    std::string cpus = config(0, free_port(SOCK_STREAM), kFileSink, kTotals);
    cpus.replace(cpus.find("count = 2"), 9, "cpus = \"1023\"");
    EXPECT_FALSE(start(cpus));
    EXPECT_EQ(exit_code_, 1);
    EXPECT_NE(err().find("CPU 1023 is not allowed"), std::string::npos) << err();

    // An unknown key: FILE:LINE:COL, exit 1, nothing started.
    EXPECT_FALSE(start(config(0, free_port(SOCK_STREAM), kFileSink, kTotals, "colour = \"blue\"\n")));
    EXPECT_EQ(exit_code_, 1);
    EXPECT_NE(err().find("app.toml:4:1"), std::string::npos) << err();
}

}  // namespace

int main(int argc, char** argv) { return sluice::testing::appliance_test_main(argc, argv); }
