// sluice-gen's network pieces: addresses and the loopback rule, sent_ns,
// packing records into packets, the pacing schedule, and real sends over
// loopback UDP and TCP into sockets of this test (small bounded counts).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gen_net_run.h"
#include "gen_packets.h"
#include "gen_target.h"
#include "pacer.h"

namespace sluice::gen {
namespace {

// ------------------------------------------------------------ addresses

std::optional<Endpoint> parse(std::string_view spec, bool allow_remote = false, std::string* error_out = nullptr) {
    std::string error;
    auto e = parse_endpoint(spec, {.allow_remote = allow_remote}, error);
    if (error_out != nullptr) *error_out = error;
    return e;
}

TEST(GenTarget, ParsesIpv4Ipv6AndLocalhost) {
    auto e = parse("127.0.0.1:9000");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->family(), AF_INET);
    EXPECT_EQ(e->text, "127.0.0.1:9000");
    e = parse("[::1]:9001");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->family(), AF_INET6);
    EXPECT_EQ(e->text, "[::1]:9001");
    e = parse("localhost:80");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->text, "127.0.0.1:80");
    // All of 127.0.0.0/8, and IPv4-mapped loopback, are this machine.
    EXPECT_TRUE(parse("127.5.6.7:1"));
    EXPECT_TRUE(parse("[::ffff:127.0.0.1]:5"));
}

TEST(GenTarget, MalformedAddressesAreRejectedWithTheReason) {
    std::string error;
    EXPECT_FALSE(parse("127.0.0.1", false, &error));
    EXPECT_NE(error.find("HOST:PORT"), std::string::npos) << error;
    EXPECT_FALSE(parse("::1:9000", false, &error));
    EXPECT_NE(error.find("brackets"), std::string::npos) << error;
    EXPECT_FALSE(parse("[::1:9000", false, &error));
    EXPECT_FALSE(parse("[zz]:9000", false, &error));
    EXPECT_FALSE(parse("127.0.0.1:0", false, &error));
    EXPECT_NE(error.find("port"), std::string::npos) << error;
    EXPECT_FALSE(parse("127.0.0.1:65536"));
    EXPECT_FALSE(parse("127.0.0.1:x"));
    EXPECT_FALSE(parse(":9000"));
    // A listener may ask for port 0.
    EXPECT_TRUE(parse_endpoint("127.0.0.1:0", {.allow_port_zero = true}, error));
}

TEST(GenTarget, OnlyLoopbackUnlessAllowRemote) {
    std::string error;
    EXPECT_FALSE(parse("10.1.2.3:9000", false, &error));
    EXPECT_NE(error.find("--allow-remote"), std::string::npos) << error;
    EXPECT_FALSE(parse("[2001:db8::1]:9000", false, &error));
    EXPECT_NE(error.find("loopback"), std::string::npos) << error;
    EXPECT_FALSE(parse("0.0.0.0:9000"));
    // Names other than localhost are not even resolved.
    EXPECT_FALSE(parse("example.invalid:9000", false, &error));
    EXPECT_NE(error.find("--allow-remote"), std::string::npos) << error;

    EXPECT_TRUE(parse("10.1.2.3:9000", true));
    EXPECT_TRUE(parse("[2001:db8::1]:9000", true));
}

// ------------------------------------------------------------ sent_ns and packets

std::string record_text(const RecordFormatter& f, uint64_t i) {
    char buf[kMaxGenRecordBytes];
    return std::string(buf, f.format(i, buf));
}

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        out.emplace_back(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return out;
}

// The value of "sent_ns" if the line ends with it (else -1), and the line without it.
int64_t split_sent_ns(std::string& line) {
    const auto at = line.rfind(kSentNsKey);
    if (at == std::string::npos || line.back() != '}') return -1;
    const int64_t ns = std::stoll(line.substr(at + kSentNsKey.size()));
    line = line.substr(0, at) + "}";
    return ns;
}

TEST(GenPackets, SentNsReplacesTheClosingBrace) {
    char buf[64 + kSentNsReserve] = "{\"a\":1}";
    std::size_t n = append_sent_ns(buf, 7, 123456789);
    EXPECT_EQ(std::string(buf, n), "{\"a\":1,\"sent_ns\":123456789}");
    char buf2[64 + kSentNsReserve] = "{\"b\":\"x\"}";
    n = append_sent_ns(buf2, 9, INT64_MIN);
    EXPECT_EQ(std::string(buf2, n), "{\"b\":\"x\",\"sent_ns\":-9223372036854775808}");
    EXPECT_LE(n, 9 + kSentNsReserve);
}

TEST(GenPackets, SentNsLinesAreJsonObjectsWithTheField) {
    for (Scenario s : kAllScenarios) {
        const RecordFormatter f(s, 3);
        const PacketFormatter packets(f, {1400, 0}, true);
        std::vector<char> buf(packets.buffer_bytes());
        const Packet p = packets.fill(10, 100, 987654321012345, buf.data());
        ASSERT_GT(p.records, 0u);
        const auto lines = lines_of(std::string_view(buf.data(), p.bytes));
        ASSERT_EQ(lines.size(), p.records);
        simdjson::dom::parser parser;
        for (std::size_t k = 0; k < lines.size(); ++k) {
            // A valid JSON object with the integer field (and the record's own fields before it).
            simdjson::dom::object object;
            ASSERT_EQ(parser.parse(lines[k]).get_object().get(object), simdjson::SUCCESS) << lines[k];
            int64_t ns = 0;
            ASSERT_EQ(object["sent_ns"].get_int64().get(ns), simdjson::SUCCESS) << lines[k];
            EXPECT_EQ(ns, 987654321012345);
            std::string line = lines[k];
            EXPECT_EQ(split_sent_ns(line), 987654321012345) << lines[k];
            EXPECT_EQ(line, record_text(f, 10 + k));
        }
    }
}

// Packs records [first, first + count) into packets and checks them.
std::vector<std::string> pack_all(const PacketFormatter& packets, const RecordFormatter& f, uint64_t first,
                                  uint64_t count, int64_t ns) {
    std::vector<std::string> out;
    std::vector<char> buf(packets.buffer_bytes());
    uint64_t next = first;
    while (next < first + count) {
        const Packet p = packets.fill(next, first + count - next, ns, buf.data());
        EXPECT_GT(p.records, 0u);
        if (p.records == 0) break;
        const std::string text(buf.data(), p.bytes);
        EXPECT_LE(p.bytes, packets.limits().max_bytes);
        EXPECT_EQ(text.back(), '\n');  // whole records only
        if (packets.limits().max_records != 0) {
            EXPECT_LE(p.records, packets.limits().max_records);
        }
        const auto lines = lines_of(text);
        EXPECT_EQ(lines.size(), p.records);
        for (std::size_t k = 0; k < lines.size(); ++k) {
            std::string line = lines[k];
            if (packets.sent_ns()) {
                EXPECT_EQ(split_sent_ns(line), ns);
            }
            EXPECT_EQ(line, record_text(f, next + k));  // every record once, in order
        }
        // As many as fit: the next record would have crossed the limit.
        const bool last = next + p.records == first + count;
        const bool full_count = packets.limits().max_records != 0 && p.records == packets.limits().max_records;
        if (!last && !full_count) {
            std::size_t charged = 0;
            for (uint64_t i = next; i <= next + p.records; ++i) charged += packets.charged_bytes(i);
            EXPECT_GT(charged, packets.limits().max_bytes);
        }
        next += p.records;
        out.push_back(text);
    }
    return out;
}

TEST(GenPackets, WholeRecordsWithinTheByteLimitEachOnceInOrder) {
    for (Scenario s : {Scenario::S0, Scenario::S2, Scenario::S3, Scenario::OneBrc}) {
        const RecordFormatter f(s);
        for (std::size_t limit : {200u, 1400u, 9000u}) {
            for (bool sent_ns : {false, true}) {
                const PacketFormatter packets(f, {limit, 0}, sent_ns);
                const auto p = pack_all(packets, f, 5, 3000, 1700000000123456789);
                EXPECT_GT(p.size(), 1u);
            }
        }
    }
}

TEST(GenPackets, PerDatagramCountIsRespected) {
    const RecordFormatter f(Scenario::S2);
    const PacketFormatter packets(f, {1400, 3}, true);
    const auto p = pack_all(packets, f, 0, 100, 42);
    ASSERT_EQ(p.size(), 34u);  // 33 of 3, then 1
    EXPECT_EQ(lines_of(p.back()).size(), 1u);
    // The byte limit still wins over the count.
    const PacketFormatter small(f, {150, 10}, false);
    for (const auto& text : pack_all(small, f, 0, 100, 0)) EXPECT_LE(text.size(), 150u);
}

TEST(GenPackets, BoundariesDoNotDependOnTheTime) {
    const RecordFormatter f(Scenario::S2);
    const PacketFormatter packets(f, {1400, 0}, true);
    const auto early = pack_all(packets, f, 0, 2000, 7);
    const auto late = pack_all(packets, f, 0, 2000, 9223372036854775807);
    ASSERT_EQ(early.size(), late.size());
    for (std::size_t k = 0; k < early.size(); ++k) EXPECT_EQ(lines_of(early[k]).size(), lines_of(late[k]).size());
}

TEST(GenPackets, ARecordTooBigForThePacketIsReported) {
    const RecordFormatter f(Scenario::S0);
    const PacketFormatter packets(f, {20, 0}, false);
    std::vector<char> buf(packets.buffer_bytes());
    EXPECT_EQ(packets.fill(0, 10, 0, buf.data()).records, 0u);
}

// ------------------------------------------------------------ pacing schedule

TEST(Pacer, IntendedTimesFollowTheRate) {
    const Pacer p(1000, 5'000'000'000);
    EXPECT_TRUE(p.paced());
    EXPECT_EQ(p.due_ns(0), 5'000'000'000);
    EXPECT_EQ(p.due_ns(1), 5'001'000'000);
    EXPECT_EQ(p.due_ns(1000), 6'000'000'000);
    EXPECT_EQ(p.due_ns(3'600'000), 5'000'000'000 + 3'600'000'000'000);  // an hour on
    const Pacer third(3, 0);
    EXPECT_EQ(third.due_ns(1), 333'333'333);
    EXPECT_EQ(third.due_ns(3), 1'000'000'000);
    const Pacer fast(2.5e6, 100);
    EXPECT_EQ(fast.due_ns(5), 100 + 2000);
    // The schedule never moves: later units are due later, at a fixed spacing.
    for (uint64_t k = 0; k < 10000; ++k) EXPECT_LT(third.due_ns(k), third.due_ns(k + 1));
}

TEST(Pacer, UnpacedIsAlwaysDueAndLagIsTheWorstLateness) {
    Pacer p(0, 77);
    EXPECT_FALSE(p.paced());
    EXPECT_EQ(p.due_ns(12345), 77);
    Pacer q(1000, 0);
    q.note_send(q.due_ns(1), q.due_ns(1) + 500);
    q.note_send(q.due_ns(2), q.due_ns(2) + 20);
    q.note_send(q.due_ns(3), q.due_ns(3) - 10);  // early never counts
    EXPECT_EQ(q.max_lag_ns(), 500);
    q.restart(1);
    EXPECT_EQ(q.max_lag_ns(), 0);
    EXPECT_EQ(q.due_ns(0), 1);
}

// ------------------------------------------------------------ loopback sends

struct Receiver {
    int fd = -1;
    Endpoint at;
    ~Receiver() {
        if (fd >= 0) ::close(fd);
    }
};

// A socket of `type` bound to port 0 of the loopback address of `family`.
bool bind_receiver(Receiver& r, int family, int type) {
    r.fd = ::socket(family, type, 0);
    if (r.fd < 0) return false;
    const int big = 8 << 20;  // loopback UDP is lossless while the buffer has room
    ::setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    std::string error;
    const auto e = parse_endpoint(family == AF_INET ? "127.0.0.1:0" : "[::1]:0", {.allow_port_zero = true}, error);
    if (!e || ::bind(r.fd, e->sa(), e->len) != 0) return false;
    r.at.len = sizeof r.at.addr;
    ::getsockname(r.fd, reinterpret_cast<sockaddr*>(&r.at.addr), &r.at.len);
    r.at.text = endpoint_text(r.at.addr);
    return type == SOCK_DGRAM || ::listen(r.fd, 16) == 0;
}

// Datagrams received until `want` came or none came for 500 ms.
std::vector<std::string> receive_datagrams(int fd, std::size_t want) {
    std::vector<std::string> out;
    char buf[65536];
    while (out.size() < want) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 500) <= 0) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) out.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return out;
}

NetRunOptions udp_options(const Endpoint& to, uint64_t count) {
    NetRunOptions o;
    o.transport = Transport::Udp;
    o.target = to;
    o.count = count;
    o.limits = default_limits(Transport::Udp, false);
    return o;
}

// What the sender should produce for records [start, start + count), one per line.
std::string expected_lines(const RecordFormatter& f, uint64_t start, uint64_t count) {
    std::string s;
    for (uint64_t i = start; i < start + count; ++i) s += record_text(f, i) + "\n";
    return s;
}

TEST(GenSend, UdpDeliversEveryRecordOnceInOrder) {
    for (int family : {AF_INET, AF_INET6}) {
        Receiver r;
        if (!bind_receiver(r, family, SOCK_DGRAM)) {
            ASSERT_EQ(family, AF_INET6) << "IPv4 loopback must work";
            continue;  // no IPv6 on this host
        }
        const RecordFormatter f(Scenario::S2);
        NetRunOptions o = udp_options(r.at, 3000);
        o.start = 100;
        o.rate = 200000;  // paced: 0.015 s
        o.sent_ns = true;
        // Received while sent, so the socket buffer never has to hold the whole run.
        std::vector<std::string> got;
        std::thread receiver([&] { got = receive_datagrams(r.fd, SIZE_MAX); });
        const auto result = run_network(f, o);
        receiver.join();
        ASSERT_TRUE(result.ok) << result.error;
        EXPECT_EQ(result.sent.records, 3000u);
        EXPECT_EQ(result.sent.errors, 0u);
        ASSERT_EQ(got.size(), result.sent.packets);
        std::string all;
        int64_t previous = 0;
        for (const auto& d : got) {
            EXPECT_LE(d.size(), 1400u);
            int64_t first_ns = -1;
            for (std::string line : lines_of(d)) {
                const int64_t ns = split_sent_ns(line);
                if (first_ns < 0) first_ns = ns;
                EXPECT_EQ(ns, first_ns);  // a datagram carries its intended time
                all += line + "\n";
            }
            EXPECT_GE(first_ns, previous);
            previous = first_ns;
        }
        EXPECT_EQ(all, expected_lines(f, 100, 3000));
    }
}

TEST(GenSend, SameArgumentsSendTheSameDatagrams) {
    const RecordFormatter f(Scenario::OneBrc, 9);
    std::vector<std::string> runs[2];
    for (auto& run : runs) {
        Receiver r;
        ASSERT_TRUE(bind_receiver(r, AF_INET, SOCK_DGRAM));
        NetRunOptions o = udp_options(r.at, 1000);
        o.limits.max_records = 7;
        std::thread receiver([&] { run = receive_datagrams(r.fd, SIZE_MAX); });
        const auto result = run_network(f, o);  // unpaced: sendmmsg batches
        receiver.join();
        ASSERT_TRUE(result.ok) << result.error;
        EXPECT_EQ(run.size(), (1000u + 6) / 7);
    }
    EXPECT_EQ(runs[0], runs[1]);
}

TEST(GenSend, UdpSendErrorsAreCountedNotFatal) {
    // Nobody listens: ICMP port unreachable makes later sends fail with ECONNREFUSED.
    Receiver r;
    ASSERT_TRUE(bind_receiver(r, AF_INET, SOCK_DGRAM));
    const Endpoint gone = r.at;
    ::close(r.fd);
    r.fd = -1;
    const RecordFormatter f(Scenario::S2);
    NetRunOptions o = udp_options(gone, 400);
    o.limits.max_records = 1;
    o.rate = 100000;
    const auto result = run_network(f, o);
    EXPECT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.generated, 400u);
    EXPECT_EQ(result.sent.records + result.sent.records_dropped, 400u);
    EXPECT_EQ(result.sent.errors, result.sent.records_dropped);
}

TEST(GenSend, TcpConnectionsShareTheRecordsInLineAlignedBatches) {
    Receiver listener;
    ASSERT_TRUE(bind_receiver(listener, AF_INET, SOCK_STREAM));
    const RecordFormatter f(Scenario::S3);
    NetRunOptions o;
    o.transport = Transport::Tcp;
    o.target = listener.at;
    o.count = 20000;
    o.connections = 3;
    o.limits = {4096, 0};
    NetRunResult result;
    std::thread sender([&] { result = run_network(f, o); });

    std::vector<pollfd> fds;
    std::map<int, std::string> received;
    std::size_t open = 0, accepted = 0;
    while (accepted < 3 || open > 0) {
        std::vector<pollfd> all = fds;
        if (accepted < 3) all.push_back(pollfd{listener.fd, POLLIN, 0});
        if (::poll(all.data(), all.size(), 5000) <= 0) break;
        for (std::size_t k = 0; k < all.size(); ++k) {
            if (!(all[k].revents & (POLLIN | POLLHUP))) continue;
            if (all[k].fd == listener.fd) {
                fds.push_back(pollfd{::accept(listener.fd, nullptr, nullptr), POLLIN, 0});
                ++accepted;
                ++open;
                continue;
            }
            char buf[65536];
            const ssize_t n = ::recv(all[k].fd, buf, sizeof buf, 0);
            if (n > 0) {
                received[all[k].fd].append(buf, static_cast<std::size_t>(n));
            } else {
                ::close(all[k].fd);
                fds.erase(std::find_if(fds.begin(), fds.end(), [&](const pollfd& p) { return p.fd == all[k].fd; }));
                --open;
            }
        }
    }
    sender.join();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.sent.records, 20000u);
    EXPECT_EQ(result.sent.errors, 0u);
    ASSERT_EQ(received.size(), 3u);

    // Each connection: whole lines, in increasing record order; together: every record once.
    std::vector<std::string> every;
    std::map<std::string, uint64_t> index_of;
    for (uint64_t i = 0; i < 20000; ++i) index_of[record_text(f, i)] = i;
    for (const auto& [fd, text] : received) {
        ASSERT_FALSE(text.empty());
        EXPECT_EQ(text.back(), '\n');
        uint64_t last = 0;
        bool first = true;
        for (const auto& line : lines_of(text)) {
            ASSERT_TRUE(index_of.count(line)) << line;
            EXPECT_TRUE(first || index_of[line] > last);
            last = index_of[line];
            first = false;
            every.push_back(line);
        }
    }
    std::sort(every.begin(), every.end());
    std::vector<std::string> want;
    for (uint64_t i = 0; i < 20000; ++i) want.push_back(record_text(f, i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(every, want);
}

TEST(GenSend, TcpConnectFailureIsAnError) {
    Receiver r;
    ASSERT_TRUE(bind_receiver(r, AF_INET, SOCK_STREAM));
    const Endpoint gone = r.at;
    ::close(r.fd);
    r.fd = -1;
    const RecordFormatter f(Scenario::S2);
    NetRunOptions o;
    o.transport = Transport::Tcp;
    o.target = gone;
    o.count = 10;
    o.limits = default_limits(Transport::Tcp, false);
    const auto result = run_network(f, o);
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("connect"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find(gone.text), std::string::npos) << result.error;
}

TEST(GenSend, DurationBoundsAPacedRun) {
    Receiver r;
    ASSERT_TRUE(bind_receiver(r, AF_INET, SOCK_DGRAM));
    const RecordFormatter f(Scenario::S2);
    NetRunOptions o = udp_options(r.at, UINT64_MAX);
    o.duration_s = 0.05;
    o.rate = 10000;
    o.limits.max_records = 1;
    const auto result = run_network(f, o);
    ASSERT_TRUE(result.ok) << result.error;
    // The schedule decides: units due before t0 + 50 ms, i.e. 500 records.
    EXPECT_EQ(result.generated, 500u);
}

}  // namespace
}  // namespace sluice::gen
