// Every setup tier of the fallback chain (DEFER_TASKRUN, COOP_TASKRUN, plain)
// drives the same busy-polling shard loop: poll() alone must surface
// completions in each (no blocking wait() to enter the kernel for it).
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "net/tcp_source.h"
#include "net/udp_source.h"
#include "net_test_util.h"

namespace sluice::net {
namespace {

using Mode = Features::Mode;
using namespace std::chrono_literals;

struct Lines {
    std::string text;
    void on_lines(const char* p, std::size_t n) { text.append(p, n); }
    void on_oversize() {}
    void on_reject(const char*, std::size_t) {}
};

class ModeTest : public ::testing::TestWithParam<Mode> {};

TEST_P(ModeTest, UdpAndTcpShareTheRing) {
    UringOptions o;
    o.best_mode = GetParam();
    auto r = Uring::create(o);
    if (!r) {
        if (r.error().message.rfind("io_uring unavailable", 0) == 0) GTEST_SKIP() << r.error().message;
        FAIL() << r.error().message;
    }
    Uring& ring = *r.value();
    EXPECT_GE(ring.features().mode, GetParam()) << ring.features().describe();

    UdpConfig ucfg;
    ucfg.buffers = 4;
    auto u = UdpSource::open(ring, ucfg, 0);
    ASSERT_TRUE(u) << u.error().message;
    TcpConfig tcfg;
    tcfg.buffers = 4;
    tcfg.buffer_bytes = 16;
    auto t = TcpSource::open(ring, tcfg, 0);
    ASSERT_TRUE(t) << t.error().message;
    ring.submit();

    std::string datagrams;
    Lines lines;
    auto step = [&] {
        ring.poll();
        const unsigned n = ring.for_each_cqe([&](const io_uring_cqe& c) {
            if (UserData::kind_of(c.user_data) == OpKind::udp_recv) {
                u.value()->on_cqe(c, [&](const char* p, std::size_t len) { datagrams.append(p, len); });
            } else {
                t.value()->on_cqe(c, lines);
            }
        });
        u.value()->flush();
        t.value()->flush();
        if (n == 0) std::this_thread::yield();  // busy idle policy: no wait(), poll() alone must do
    };

    test::UdpClient uc;
    std::string want_d;
    for (int i = 0; i < 12; ++i) {  // more than the 4 buffers
        const std::string d = "{\"u\":" + std::to_string(i) + "}\n";
        want_d += d;
        ASSERT_TRUE(uc.send(u.value()->port(), d));
    }
    test::TcpClient tc(t.value()->port());
    const std::string want_l = "{\"t\":1,\"pad\":\"0123456789\"}\n{\"t\":2}\n{\"t\":3}";
    ASSERT_TRUE(tc.write(want_l));
    tc.close();

    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while ((datagrams.size() < want_d.size() || t.value()->counters().closed < 1) &&
           std::chrono::steady_clock::now() < deadline) {
        step();
    }
    EXPECT_EQ(datagrams, want_d);
    EXPECT_EQ(lines.text, want_l + "\n");
}

INSTANTIATE_TEST_SUITE_P(Tiers, ModeTest, ::testing::Values(Mode::defer_taskrun, Mode::coop_taskrun, Mode::plain),
                         [](const ::testing::TestParamInfo<Mode>& i) {
                             switch (i.param) {
                             case Mode::defer_taskrun: return std::string("defer_taskrun");
                             case Mode::coop_taskrun: return std::string("coop_taskrun");
                             case Mode::plain: return std::string("plain");
                             }
                             return std::string("unknown");
                         });

}  // namespace
}  // namespace sluice::net
