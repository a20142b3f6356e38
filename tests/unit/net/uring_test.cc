// Uring (setup, features, submit/poll/wait, CQE draining), the user_data
// scheme and BufRing layout and accounting.
#include <liburing.h>

#include <cstdint>
#include <set>

#include <gtest/gtest.h>

#include "net/buf_ring.h"
#include "net/uring.h"
#include "net/user_data.h"
#include "net_test_util.h"
#include "sluice/decode.h"

namespace sluice::net {
namespace {

using test::RingTest;

static_assert(kPadding == kDecodePadding, "receive padding must cover the decoder's");

TEST(UserData, PacksAndUnpacksEveryField) {
    const uint64_t u = user_data(OpKind::tcp_recv, 0xab, 0x89abcdef, 0x1234);
    EXPECT_EQ(u, 0x03ab123489abcdefULL);
    const UserData d = UserData::unpack(u);
    EXPECT_EQ(d.kind, OpKind::tcp_recv);
    EXPECT_EQ(d.owner, 0xab);
    EXPECT_EQ(d.spare, 0x1234);
    EXPECT_EQ(d.value, 0x89abcdefu);
    EXPECT_EQ(d.pack(), u);
    EXPECT_EQ(UserData::kind_of(LIBURING_UDATA_TIMEOUT), OpKind::internal);
}

TEST_F(RingTest, FeaturesDescribeTheRing) {
    const Features& f = ring_->features();
    EXPECT_GE(f.sq_entries, 256u);
    if (f.setup_flags & IORING_SETUP_CQSIZE) {
        EXPECT_GE(f.cq_entries, 8 * f.sq_entries);
    }
    EXPECT_FALSE(f.describe().empty());
    RecordProperty("features", f.describe());
}

TEST_F(RingTest, WaitTimesOutOnAnIdleRing) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(ring_->wait(std::chrono::milliseconds(5)), -ETIME);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(4));
    EXPECT_EQ(ring_->poll(), 0);
}

TEST(Uring, GetSqeSubmitsWhenTheQueueIsFull) {
    UringOptions o;
    o.sq_entries = 4;
    auto r = Uring::create(o);
    if (!r) GTEST_SKIP() << r.error().message;
    Uring& ring = *r.value();
    for (uint32_t i = 0; i < 10; ++i) {
        io_uring_sqe* sqe = ring.get_sqe();
        ASSERT_NE(sqe, nullptr);
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, user_data(OpKind::sink_first, 2, i));
    }
    std::set<uint32_t> seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (seen.size() < 10 && std::chrono::steady_clock::now() < deadline) {
        ring.poll();
        ring.for_each_cqe([&](const io_uring_cqe& c) {
            const UserData d = UserData::unpack(c.user_data);
            EXPECT_EQ(d.kind, OpKind::sink_first);
            EXPECT_EQ(d.owner, 2);
            EXPECT_EQ(c.res, 0);
            seen.insert(d.value);
        });
        if (seen.size() < 10) ring.wait(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(seen.size(), 10u);
}

TEST_F(RingTest, BufRingRejectsACountThatIsNoPowerOfTwo) {
    auto b = BufRing::create(*ring_, 3, 100);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("power of two"), std::string::npos) << b.error().message;
}

TEST_F(RingTest, BufRingSlotsArePaddedAlignedAndAccounted) {
    auto r = BufRing::create(*ring_, 8, 100);
    ASSERT_TRUE(r) << r.error().message;
    BufRing& b = *r.value();
    EXPECT_EQ(b.count(), 8u);
    EXPECT_EQ(b.kernel_bytes(), 100u);
    EXPECT_EQ(b.kernel_owned(), 8u);
    for (uint16_t i = 0; i + 1 < 8; ++i) {
        const std::size_t stride = static_cast<std::size_t>(b.buffer(i + 1) - b.buffer(i));
        EXPECT_GE(stride, 100 + kPadding);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(b.buffer(i)) % 64, 0u);
    }
    // Acquire as the kernel would hand buffers back, then recycle: published at commit.
    for (uint16_t i = 0; i < 3; ++i) (void)b.acquire(i);
    EXPECT_EQ(b.kernel_owned(), 5u);
    for (uint16_t i = 0; i < 3; ++i) b.recycle(i);
    b.commit();
    EXPECT_EQ(b.kernel_owned(), 8u);
    // A second ring on the same io_uring gets its own group.
    auto r2 = BufRing::create(*ring_, 4, 64);
    ASSERT_TRUE(r2) << r2.error().message;
    EXPECT_NE(r2.value()->group(), b.group());
}

}  // namespace
}  // namespace sluice::net
