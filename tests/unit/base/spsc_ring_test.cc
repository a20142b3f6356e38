// SpscRing: single-thread semantics and a bounded two-thread stress test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <random>
#include <thread>
#include <vector>

#include "../../support/scale.h"
#include "sluice/spsc_ring.h"

namespace sluice {
namespace {

// Message content derived from `seq`: full 8-byte words, then tail bytes.
uint64_t word_of(uint64_t seq, uint32_t i) { return (seq + 1) * 0x9e3779b97f4a7c15ULL + i * 0x100000001b3ULL; }

void fill_payload(void* p, uint32_t bytes, uint64_t seq) {
    auto* b = static_cast<uint8_t*>(p);
    uint32_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        const uint64_t w = word_of(seq, i);
        std::memcpy(b + i, &w, 8);
    }
    for (; i < bytes; ++i) {
        b[i] = static_cast<uint8_t>(word_of(seq, i));
    }
}

bool check_payload(const void* p, uint32_t bytes, uint64_t seq) {
    const auto* b = static_cast<const uint8_t*>(p);
    uint32_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        std::memcpy(&w, b + i, 8);
        if (w != word_of(seq, i)) {
            return false;
        }
    }
    for (; i < bytes; ++i) {
        if (b[i] != static_cast<uint8_t>(word_of(seq, i))) {
            return false;
        }
    }
    return true;
}

bool push_one(SpscRing& r, uint32_t bytes, uint64_t seq) {
    void* p = r.try_alloc(bytes);
    if (p == nullptr) {
        return false;
    }
    fill_payload(p, bytes, seq);
    r.push();
    return true;
}

TEST(SpscRing, RejectsBadCapacity) {
    EXPECT_THROW(SpscRing(1000), std::invalid_argument);
    EXPECT_THROW(SpscRing(2048), std::invalid_argument);
    EXPECT_THROW(SpscRing(4096 + 64), std::invalid_argument);
    SpscRing ok(4096);
    EXPECT_EQ(ok.capacity(), 4096u);
}

TEST(SpscRing, EmptyRingHasNothing) {
    SpscRing r(4096);
    uint32_t n = 99;
    EXPECT_EQ(r.front(&n), nullptr);
    EXPECT_EQ(r.occupancy(), 0u);
}

TEST(SpscRing, InvisibleBeforeFlush) {
    SpscRing r(4096);
    ASSERT_TRUE(push_one(r, 24, 1));
    uint32_t n = 0;
    EXPECT_EQ(r.front(&n), nullptr);  // pushed, not published
    EXPECT_EQ(r.occupancy(), 0u);
    r.flush();
    const void* m = r.front(&n);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(n, 24u);
    EXPECT_TRUE(check_payload(m, n, 1));
    EXPECT_EQ(r.occupancy(), 32u);  // 8-byte header + 24
    // front() again without pop returns the same message.
    EXPECT_EQ(r.front(&n), m);
    r.pop();
    EXPECT_EQ(r.front(&n), nullptr);
    r.release();
    EXPECT_EQ(r.occupancy(), 0u);
}

TEST(SpscRing, PayloadsAreEightByteAligned) {
    SpscRing r(4096);
    for (uint32_t bytes = 0; bytes < 40; ++bytes) {
        void* p = r.try_alloc(bytes);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
        r.push();
    }
    r.flush();
    uint32_t n = 0;
    for (uint32_t bytes = 0; bytes < 40; ++bytes) {
        const void* m = r.front(&n);
        ASSERT_NE(m, nullptr);
        EXPECT_EQ(n, bytes);  // the exact size, not the rounded one
        r.pop();
    }
}

TEST(SpscRing, FullUntilReleased) {
    SpscRing r(4096);
    // 64-byte messages take 72 bytes: 56 fit in 4096 (4032 bytes), the 57th does not.
    int pushed = 0;
    while (push_one(r, 64, static_cast<uint64_t>(pushed))) {
        ++pushed;
    }
    EXPECT_EQ(pushed, 4096 / 72);
    r.flush();
    uint32_t n = 0;
    ASSERT_NE(r.front(&n), nullptr);
    r.pop();
    // Popped but not released: the producer still sees a full ring.
    EXPECT_EQ(r.try_alloc(64), nullptr);
    r.release();
    // Only 72 + 64 bytes are free now, not contiguous before the end (4032 used,
    // 64 left at the end): the message wraps with a skip, which needs 64 + 72.
    EXPECT_NE(r.try_alloc(64), nullptr);
    r.push();
    r.flush();
    for (int i = 1; i < pushed; ++i) {
        const void* m = r.front(&n);
        ASSERT_NE(m, nullptr) << i;
        ASSERT_TRUE(check_payload(m, n, static_cast<uint64_t>(i))) << i;
        r.pop();
    }
    EXPECT_NE(r.front(&n), nullptr);  // the wrapped message
    r.pop();
    EXPECT_EQ(r.front(&n), nullptr);
}

TEST(SpscRing, WrapsWithManySizes) {
    SpscRing r(4096);
    std::mt19937 rng(7);
    std::deque<std::pair<uint64_t, uint32_t>> in_flight;
    uint64_t next_seq = 0;
    uint64_t next_expected = 0;
    // Many laps of the ring with sizes up to capacity/4 - 1 and random
    // interleaving of produce, publish, consume and release.
    for (int step = 0; step < 20000; ++step) {
        const uint32_t bytes = rng() % 1023;
        if (rng() % 2 == 0) {
            if (push_one(r, bytes, next_seq)) {
                in_flight.emplace_back(next_seq++, bytes);
            }
            if (rng() % 3 == 0) {
                r.flush();
            }
        } else {
            uint32_t n = 0;
            const void* m = r.front(&n);
            if (m != nullptr) {
                ASSERT_FALSE(in_flight.empty());
                ASSERT_EQ(in_flight.front().first, next_expected);
                ASSERT_EQ(n, in_flight.front().second);
                ASSERT_TRUE(check_payload(m, n, next_expected));
                in_flight.pop_front();
                ++next_expected;
                r.pop();
            }
            if (rng() % 4 == 0) {
                r.release();
            }
        }
    }
    EXPECT_GT(next_expected, 1000u);  // many laps of a 4 KiB ring
}

TEST(SpscRing, QuarterCapacityMessagesWrap) {
    SpscRing r(4096);
    // 1024-byte messages take 1032 bytes: three fit, the fourth needs a wrap.
    for (uint64_t seq = 0; seq < 50; ++seq) {
        ASSERT_TRUE(push_one(r, 1024, seq)) << seq;
        r.flush();
        uint32_t n = 0;
        const void* m = r.front(&n);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(n, 1024u);
        ASSERT_TRUE(check_payload(m, n, seq));
        r.pop();
        r.release();
    }
}

TEST(SpscRing, OccupancyCountsPublishedBytes) {
    SpscRing r(8192);
    ASSERT_TRUE(push_one(r, 10, 0));  // 8 + 16
    ASSERT_TRUE(push_one(r, 16, 1));  // 8 + 16
    r.flush();
    EXPECT_EQ(r.occupancy(), 48u);
    uint32_t n = 0;
    ASSERT_NE(r.front(&n), nullptr);
    r.pop();
    r.release();
    EXPECT_EQ(r.occupancy(), 24u);
}

// Two threads, 2M messages (SLUICE_TEST_SCALE divides them) of random sizes
// 8..512: the consumer checks order and content. Bounded by count and by a
// deadline so a broken ring fails instead of hanging.
TEST(SpscRing, TwoThreadStress) {
    const uint64_t messages = testing::scaled(2000000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    SpscRing ring(1 << 16);
    std::atomic<bool> stop{false};
    std::atomic<bool> producer_timed_out{false};

    std::thread producer([&] {
        std::mt19937 size_rng(12345);
        std::mt19937 batch_rng(777);
        uint64_t seq = 0;
        uint32_t batch = 0;
        uint32_t batch_size = 1 + batch_rng() % 64;
        while (seq < messages && !stop.load(std::memory_order_relaxed)) {
            const uint32_t bytes = 8 + size_rng() % 505;
            void* p;
            while ((p = ring.try_alloc(bytes)) == nullptr) {
                ring.flush();  // never wait on a full ring with unpublished data
                if (stop.load(std::memory_order_relaxed)) {
                    return;
                }
                if (std::chrono::steady_clock::now() > deadline) {
                    producer_timed_out = true;
                    return;
                }
                std::this_thread::yield();
            }
            fill_payload(p, bytes, seq);
            ring.push();
            ++seq;
            if (++batch == batch_size) {
                ring.flush();
                batch = 0;
                batch_size = 1 + batch_rng() % 64;
            }
        }
        ring.flush();
    });

    // The consumer replays the producer's size sequence to check sizes.
    std::mt19937 size_rng(12345);
    std::mt19937 release_rng(99);
    uint64_t expected = 0;
    uint64_t bad = 0;
    uint32_t pending_release = 0;
    bool timed_out = false;
    while (expected < messages) {
        uint32_t n = 0;
        const void* m = ring.front(&n);
        if (m == nullptr) {
            ring.release();
            if (std::chrono::steady_clock::now() > deadline) {
                timed_out = true;
                break;
            }
            std::this_thread::yield();
            continue;
        }
        const uint32_t want_bytes = 8 + size_rng() % 505;
        if (n != want_bytes || !check_payload(m, n, expected)) {
            ++bad;
            if (bad > 10) {
                break;
            }
        }
        ring.pop();
        ++expected;
        if (++pending_release >= 1 + release_rng() % 32) {
            ring.release();
            pending_release = 0;
        }
    }
    stop = true;
    producer.join();
    EXPECT_FALSE(timed_out) << "consumer stopped at " << expected;
    EXPECT_FALSE(producer_timed_out.load());
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(expected, messages);
}

}  // namespace
}  // namespace sluice
