// The ingest path allocates nothing per datagram or record once warm: UDP
// receive and TCP framing (lines split across reads, tails reassembled).
// Its own binary: it links the counting operator new.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "counting_new.h"
#include "net/tcp_source.h"
#include "net/udp_source.h"
#include "net_test_util.h"

namespace sluice::net {
namespace {

using test::TcpClient;
using test::UdpClient;

struct Sum {
    uint64_t bytes = 0;
    uint64_t lines = 0;
    void on_lines(const char* p, std::size_t n) {
        bytes += n;
        lines += static_cast<uint64_t>(std::count(p, p + n, '\n'));
    }
    void on_oversize() {}
    void on_reject(const char*, std::size_t) {}
};

class NetAlloc : public test::RingTest {};

TEST_F(NetAlloc, UdpReceiveAllocatesNothingOnceWarm) {
    UdpConfig cfg;
    cfg.buffers = 8;
    auto r = UdpSource::open(*ring_, cfg, 0);
    ASSERT_TRUE(r) << r.error().message;
    UdpSource& s = *r.value();
    ring_->submit();
    UdpClient client;
    const std::string d = "{\"a\":1,\"s\":\"x\"}\n{\"a\":2,\"s\":\"y\"}\n";
    uint64_t got = 0;
    auto dispatch = [&](const io_uring_cqe& c) { s.on_cqe(c, [&](const char*, std::size_t n) { got += n; }); };
    auto flush = [&] { s.flush(); };
    auto round = [&](int n) {
        const uint64_t want = got + static_cast<uint64_t>(n) * d.size();
        for (int i = 0; i < n; ++i) client.send(s.port(), d);
        return pump(dispatch, flush, [&] { return got == want; });
    };
    ASSERT_TRUE(round(20));
    const uint64_t before = sluice::test::allocation_count();
    for (int k = 0; k < 50; ++k) ASSERT_TRUE(round(6));
    EXPECT_EQ(sluice::test::allocation_count(), before);
    EXPECT_EQ(s.counters().datagrams, 320u);
}

TEST_F(NetAlloc, TcpFramingAllocatesNothingOnceWarm) {
    TcpConfig cfg;
    cfg.buffers = 8;
    cfg.buffer_bytes = 64;
    auto r = TcpSource::open(*ring_, cfg, 0);
    ASSERT_TRUE(r) << r.error().message;
    TcpSource& s = *r.value();
    ring_->submit();
    Sum h;
    TcpClient c(s.port());
    ASSERT_TRUE(c.connected());
    auto dispatch = [&](const io_uring_cqe& cqe) { s.on_cqe(cqe, h); };
    auto flush = [&] { s.flush(); };
    // Lines of 40 bytes in 64-byte reads: most straddle two reads.
    const std::string line = std::string("{\"k\":\"") + std::string(31, 'v') + "\"}\n";
    auto send = [&](int n) {
        const uint64_t want = h.lines + static_cast<uint64_t>(n);
        std::string chunk;
        for (int i = 0; i < n; ++i) chunk += line;
        const bool ok = c.write(chunk);
        return ok && pump(dispatch, flush, [&] { return h.lines == want; });
    };
    ASSERT_TRUE(send(50));  // the tail buffer grows to its size here
    std::string chunk;
    for (int i = 0; i < 7; ++i) chunk += line;
    const uint64_t before = sluice::test::allocation_count();
    for (int k = 0; k < 100; ++k) {
        const uint64_t want = h.lines + 7;
        ASSERT_TRUE(c.write(chunk));
        ASSERT_TRUE(pump(dispatch, flush, [&] { return h.lines == want; }));
    }
    EXPECT_EQ(sluice::test::allocation_count(), before);
    EXPECT_EQ(h.bytes, 750 * line.size());
}

}  // namespace
}  // namespace sluice::net
