// UdpSource on loopback: exact hand-out of known datagrams (several NDJSON
// records each), buffer recycling, -ENOBUFS as backpressure, truncation,
// SO_REUSEPORT sharing, bind errors, and the single-shot fallback.
#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/udp_source.h"
#include "net_test_util.h"

namespace sluice::net {
namespace {

using test::UdpClient;

std::string datagram(int i) {
    std::string d;
    for (int r = 0; r < 3; ++r) {
        d += "{\"d\":" + std::to_string(i) + ",\"r\":" + std::to_string(r) + ",\"sym\":\"ABC\"}\n";
    }
    return d;
}

class UdpTest : public test::RingTest {
protected:
    std::unique_ptr<UdpSource> open(UdpConfig c, uint8_t owner = 0) {
        auto s = UdpSource::open(*ring_, c, owner);
        EXPECT_TRUE(s) << s.error().message;
        return s ? std::move(s.value()) : nullptr;
    }

    // Receives until `want` datagrams arrived in total.
    bool receive(UdpSource& s, std::size_t want) {
        auto dispatch = [&](const io_uring_cqe& c) {
            ASSERT_EQ(UserData::kind_of(c.user_data), OpKind::udp_recv);
            s.on_cqe(c, [&](const char* p, std::size_t n) {
                // The decoder may read kPadding bytes past the datagram.
                volatile char sink = 0;
                for (std::size_t k = 0; k < kPadding; ++k) sink = sink ^ p[n + k];
                got.emplace_back(p, n);
            });
        };
        auto flush = [&] { s.flush(); };
        return pump(dispatch, flush, [&] { return got.size() >= want; });
    }

    std::vector<std::string> got;
};

TEST_F(UdpTest, HandsOutKnownDatagramsExactly) {
    UdpConfig cfg;
    cfg.buffers = 16;
    auto s = open(cfg);
    ASSERT_TRUE(s);
    ASSERT_NE(s->port(), 0);
    EXPECT_EQ(s->endpoint(), "127.0.0.1:" + std::to_string(s->port()));
    ring_->submit();
    UdpClient client;
    std::vector<std::string> sent;
    std::size_t bytes = 0;
    for (int i = 0; i < 5; ++i) {
        sent.push_back(datagram(i));
        bytes += sent.back().size();
        ASSERT_TRUE(client.send(s->port(), sent.back()));
    }
    ASSERT_TRUE(receive(*s, sent.size()));
    EXPECT_EQ(got, sent);
    EXPECT_EQ(s->counters().datagrams, 5u);
    EXPECT_EQ(s->counters().bytes, bytes);
    EXPECT_EQ(s->counters().truncated, 0u);
    EXPECT_EQ(s->counters().errors, 0u);
}

TEST_F(UdpTest, RecyclesBuffersOverManyRounds) {
    UdpConfig cfg;
    cfg.buffers = 8;
    auto s = open(cfg);
    ASSERT_TRUE(s);
    ring_->submit();
    UdpClient client;
    std::vector<std::string> sent;
    for (int round = 0; round < 25; ++round) {
        for (int k = 0; k < 6; ++k) {
            sent.push_back(datagram(round * 6 + k));
            ASSERT_TRUE(client.send(s->port(), sent.back()));
        }
        ASSERT_TRUE(receive(*s, sent.size())) << "round " << round;
    }
    EXPECT_EQ(got, sent);  // 150 datagrams through 8 buffers
    EXPECT_EQ(s->counters().datagrams, 150u);
    EXPECT_EQ(s->counters().enobufs, 0u);
}

TEST_F(UdpTest, EnobufsIsBackpressureNotLoss) {
    UdpConfig cfg;
    cfg.buffers = 4;
    cfg.rcvbuf = 1 << 20;  // the burst waits in the socket, not dropped
    auto s = open(cfg);
    ASSERT_TRUE(s);
    ring_->submit();
    UdpClient client;
    std::vector<std::string> sent;
    for (int i = 0; i < 64; ++i) {
        sent.push_back(datagram(i));
        ASSERT_TRUE(client.send(s->port(), sent.back()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(receive(*s, sent.size()));
    EXPECT_EQ(got, sent);
    EXPECT_GT(s->counters().enobufs, 0u);
    EXPECT_GT(s->counters().rearms, 0u);
    // Still receiving afterwards.
    for (int i = 64; i < 69; ++i) {
        sent.push_back(datagram(i));
        ASSERT_TRUE(client.send(s->port(), sent.back()));
    }
    ASSERT_TRUE(receive(*s, sent.size()));
    EXPECT_EQ(got, sent);
    EXPECT_EQ(s->counters().errors, 0u);
}

TEST_F(UdpTest, TruncatedDatagramIsCountedAndSkipped) {
    UdpConfig cfg;
    cfg.buffers = 4;
    cfg.max_datagram = 64;
    auto s = open(cfg);
    ASSERT_TRUE(s);
    ring_->submit();
    UdpClient client;
    ASSERT_TRUE(client.send(s->port(), std::string(64, 'x')));   // fits exactly
    ASSERT_TRUE(client.send(s->port(), std::string(65, 'y')));   // one byte too long
    ASSERT_TRUE(client.send(s->port(), "{\"ok\":1}\n"));
    ASSERT_TRUE(receive(*s, 2));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], std::string(64, 'x'));
    EXPECT_EQ(got[1], "{\"ok\":1}\n");
    EXPECT_EQ(s->counters().truncated, 1u);
}

TEST_F(UdpTest, SingleShotFallbackReceivesAndDetectsTruncation) {
    UdpConfig cfg;
    cfg.buffers = 4;
    cfg.max_datagram = 64;
    cfg.multishot = false;
    auto s = open(cfg);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->single_shot());
    ring_->submit();
    UdpClient client;
    std::vector<std::string> sent;
    for (int i = 0; i < 10; ++i) {
        sent.push_back("{\"i\":" + std::to_string(i) + "}\n");
        ASSERT_TRUE(client.send(s->port(), sent.back()));
    }
    ASSERT_TRUE(client.send(s->port(), std::string(100, 'z')));
    sent.push_back("{\"last\":1}\n");
    ASSERT_TRUE(client.send(s->port(), sent.back()));
    ASSERT_TRUE(receive(*s, sent.size()));
    EXPECT_EQ(got, sent);
    EXPECT_EQ(s->counters().truncated, 1u);
}

TEST_F(UdpTest, TwoSourcesShareOnePortWithReuseport) {
    UdpConfig cfg;
    cfg.buffers = 16;
    auto a = open(cfg, 0);
    ASSERT_TRUE(a);
    cfg.port = a->port();
    auto b = open(cfg, 1);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->port(), a->port());
    ring_->submit();
    // 32 flows (source ports): the kernel's hash spreads them over both sockets.
    std::vector<std::unique_ptr<UdpClient>> clients;
    for (int i = 0; i < 32; ++i) {
        clients.push_back(std::make_unique<UdpClient>());
        ASSERT_TRUE(clients.back()->send(a->port(), datagram(i)));
    }
    std::size_t n[2] = {0, 0};
    auto dispatch = [&](const io_uring_cqe& c) {
        const uint8_t owner = UserData::owner_of(c.user_data);
        ASSERT_LT(owner, 2);
        UdpSource& s = owner == 0 ? *a : *b;
        s.on_cqe(c, [&](const char*, std::size_t) { ++n[owner]; });
    };
    auto flush = [&] {
        a->flush();
        b->flush();
    };
    ASSERT_TRUE(pump(dispatch, flush, [&] { return n[0] + n[1] == 32; }));
    EXPECT_GT(n[0], 0u);
    EXPECT_GT(n[1], 0u);
    EXPECT_EQ(a->counters().datagrams + b->counters().datagrams, 32u);
}

TEST_F(UdpTest, PortInUseIsAClearError) {
    // A socket without SO_REUSEPORT holds the port.
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = test::loopback4(0);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    const uint16_t port = bound_port(fd);
    UdpConfig cfg;
    cfg.port = port;
    auto s = UdpSource::open(*ring_, cfg, 0);
    ::close(fd);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, "cannot bind udp 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST_F(UdpTest, BadAddressIsAClearError) {
    UdpConfig cfg;
    cfg.host = "example.org";
    auto s = UdpSource::open(*ring_, cfg, 0);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("bad address 'example.org'"), std::string::npos) << s.error().message;
}

TEST_F(UdpTest, ReceivesOnIpv6Loopback) {
    UdpConfig cfg;
    cfg.host = "::1";
    cfg.buffers = 4;
    auto r = UdpSource::open(*ring_, cfg, 0);
    if (!r && r.error().message.find("Cannot assign requested address") != std::string::npos) {
        GTEST_SKIP() << "no IPv6 loopback: " << r.error().message;
    }
    ASSERT_TRUE(r) << r.error().message;
    UdpSource& s = *r.value();
    EXPECT_EQ(s.endpoint(), "[::1]:" + std::to_string(s.port()));
    ring_->submit();
    const int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(s.port());
    to.sin6_addr = in6addr_loopback;
    const std::string d = datagram(7);
    ASSERT_EQ(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(d.size()));
    ::close(fd);
    ASSERT_TRUE(receive(s, 1));
    EXPECT_EQ(got[0], d);
}

}  // namespace
}  // namespace sluice::net
