// Unit tests of the base utilities: hash, arena, output buffer, value names.
// The SPSC ring has its own file (spsc_ring_test.cc).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "sluice/arena.h"
#include "sluice/base.h"
#include "sluice/out_buffer.h"
#include "sluice/value.h"

namespace sluice {
namespace {

// Deterministic bytes for the hash tests (splitmix64 stream).
std::vector<uint8_t> pattern_bytes(std::size_t n, uint64_t seed) {
    std::vector<uint8_t> v(n);
    uint64_t x = seed;
    for (auto& b : v) {
        x += 0x9e3779b97f4a7c15ULL;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        b = static_cast<uint8_t>(z ^ (z >> 31));
    }
    return v;
}

// "prefix<i>" without string concatenation (GCC 12 warns falsely on it).
std::string numbered(const char* prefix, int i) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%s%d", prefix, i);
    return std::string(buf, static_cast<std::size_t>(n));
}

TEST(Hash, DeterministicAndSeeded) {
    const std::string key = "station-Hamburg";
    const uint64_t h1 = hash64(key.data(), key.size());
    const uint64_t h2 = hash64(key.data(), key.size());
    EXPECT_EQ(h1, h2);
    EXPECT_EQ(h1, hash64(key.data(), key.size(), kHashSeed));
    // A copy at another address hashes the same: only the bytes matter.
    std::vector<char> copy(key.begin(), key.end());
    EXPECT_EQ(h1, hash64(copy.data(), copy.size()));
    EXPECT_NE(h1, hash64(key.data(), key.size(), kHashSeed + 1));
    EXPECT_NE(hash64(key.data(), key.size(), 1), hash64(key.data(), key.size(), 2));
}

TEST(Hash, EmptyKeyDependsOnSeedOnly) {
    const char* p = "x";
    EXPECT_EQ(hash64(p, 0), hash64(nullptr, 0));
    EXPECT_NE(hash64(nullptr, 0, 1), hash64(nullptr, 0, 2));
    EXPECT_NE(hash64(p, 0), hash64(p, 1));
}

TEST(Hash, LengthIsPartOfTheKey) {
    // Zero bytes of different lengths must not collide.
    std::vector<uint8_t> zeros(80, 0);
    std::set<uint64_t> seen;
    for (std::size_t n = 0; n <= 80; ++n) {
        seen.insert(hash64(zeros.data(), n));
    }
    EXPECT_EQ(seen.size(), 81u);
}

TEST(Hash, EveryBitFlipChangesTheHashAtEveryLength) {
    // Lengths 0..64 cover every code path (small, 4..16, 17..48, > 48 lanes).
    double total_changed = 0;
    int flips = 0;
    for (std::size_t len = 1; len <= 64; ++len) {
        std::vector<uint8_t> key = pattern_bytes(len, len);
        const uint64_t base = hash64(key.data(), len);
        for (std::size_t i = 0; i < len; ++i) {
            for (int bit = 0; bit < 8; ++bit) {
                key[i] ^= static_cast<uint8_t>(1u << bit);
                const uint64_t h = hash64(key.data(), len);
                key[i] ^= static_cast<uint8_t>(1u << bit);
                ASSERT_NE(h, base) << "len=" << len << " byte=" << i << " bit=" << bit;
                total_changed += std::popcount(h ^ base);
                ++flips;
            }
        }
        // Flipping the whole byte changes it too.
        for (std::size_t i = 0; i < len; ++i) {
            key[i] ^= 0xff;
            EXPECT_NE(hash64(key.data(), len), base) << "len=" << len << " byte=" << i;
            key[i] ^= 0xff;
        }
    }
    // Avalanche: on average about half of the 64 output bits change. With
    // ~17k flips the mean of a fair coin model is 32 +- 0.03, so [31, 33]
    // only fails for a badly mixing function.
    const double mean = total_changed / flips;
    EXPECT_GT(mean, 31.0);
    EXPECT_LT(mean, 33.0);
}

TEST(Hash, NoCollisionsOnSimilarShortKeys) {
    std::set<uint64_t> seen;
    for (int i = 0; i < 50000; ++i) {
        const std::string k = numbered("k", i);
        seen.insert(hash64(k.data(), k.size()));
    }
    EXPECT_EQ(seen.size(), 50000u);
}

TEST(Hash, PartitionOfSpreadsKeysEvenly) {
    constexpr int kKeys = 100000;
    constexpr uint32_t kParts = 4;
    std::vector<int> count(kParts, 0);
    for (int i = 0; i < kKeys; ++i) {
        const std::string k = numbered("user-", i);
        const uint32_t p = partition_of(hash64(k.data(), k.size()), kParts);
        ASSERT_LT(p, kParts);
        ++count[p];
    }
    // Binomial(n, 1/4): sd = sqrt(n p (1-p)) ~ 137; allow 5 sd.
    const double expected = static_cast<double>(kKeys) / kParts;
    const double sd = std::sqrt(kKeys * (1.0 / kParts) * (1.0 - 1.0 / kParts));
    for (uint32_t p = 0; p < kParts; ++p) {
        EXPECT_NEAR(count[p], expected, 5 * sd) << "partition " << p;
    }
}

TEST(Hash, PartitionOfUsesHighBits) {
    EXPECT_EQ(partition_of(0, 4), 0u);
    EXPECT_EQ(partition_of(UINT64_MAX, 4), 3u);
    // Low bits alone never move a key between partitions.
    EXPECT_EQ(partition_of(0x00000000ffffffffULL, 7), 0u);
    EXPECT_EQ(partition_of(0x8000000000000000ULL, 2), 1u);
    EXPECT_EQ(partition_of(0x7fffffffffffffffULL, 2), 0u);
    for (uint32_t parts = 1; parts <= 9; ++parts) {
        EXPECT_EQ(partition_of(UINT64_MAX, parts), parts - 1);
    }
}

TEST(Arena, AlignmentAndDistinctMemory) {
    Arena a(1024);
    std::vector<std::pair<uint8_t*, std::size_t>> blocks;
    for (std::size_t i = 0; i < 500; ++i) {
        const std::size_t align = std::size_t{1} << (i % 7);  // 1..64
        const std::size_t n = 1 + (i * 37) % 200;
        auto* p = static_cast<uint8_t*>(a.alloc(n, align));
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << "align " << align;
        std::memset(p, static_cast<int>(i & 0xff), n);
        blocks.emplace_back(p, n);
    }
    // No block was overwritten by a later one.
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        for (std::size_t j = 0; j < blocks[i].second; ++j) {
            ASSERT_EQ(blocks[i].first[j], static_cast<uint8_t>(i & 0xff)) << "block " << i;
        }
    }
    EXPECT_GE(a.reserved_bytes(), 500u);
}

TEST(Arena, OversizedRequestGetsItsOwnChunk) {
    Arena a(256);
    auto* small1 = static_cast<uint8_t*>(a.alloc(16));
    const std::size_t before = a.reserved_bytes();
    auto* big = static_cast<uint8_t*>(a.alloc(10000));
    std::memset(big, 0xab, 10000);
    EXPECT_GE(a.reserved_bytes(), before + 10000);
    // The chunk being filled keeps its free tail: the next small block follows the first.
    auto* small2 = static_cast<uint8_t*>(a.alloc(16));
    EXPECT_EQ(small2, small1 + 16);
    for (int i = 0; i < 10000; ++i) {
        ASSERT_EQ(big[i], 0xab);
    }
}

TEST(Arena, ResetReusesMemoryWithoutGrowing) {
    Arena a(4096);
    auto run = [&] {
        for (int i = 0; i < 300; ++i) {
            void* p = a.alloc(static_cast<std::size_t>(24 + (i % 5) * 40), 8);
            std::memset(p, 1, 24);
        }
        void* big = a.alloc(20000, 64);
        std::memset(big, 2, 20000);
    };
    run();
    a.reset();
    run();  // may still settle the order of chunks
    const std::size_t settled = a.reserved_bytes();
    for (int round = 0; round < 20; ++round) {
        a.reset();
        run();
        EXPECT_EQ(a.reserved_bytes(), settled) << "round " << round;
    }
}

TEST(Arena, FirstAllocationAfterResetReusesFirstChunk) {
    Arena a(1024);
    void* first = a.alloc(100);
    for (int i = 0; i < 50; ++i) {
        (void)a.alloc(100);
    }
    a.reset();
    EXPECT_EQ(a.alloc(100), first);
}

struct Sink {
    std::string got;
    int calls = 0;
    static void fn(void* ctx, const char* data, std::size_t n) {
        auto* s = static_cast<Sink*>(ctx);
        s->got.append(data, n);
        ++s->calls;
    }
};

void write_str(OutBuffer& out, const std::string& s) {
    char* p = out.reserve(s.size());
    std::memcpy(p, s.data(), s.size());
    out.commit(s.size());
}

TEST(OutBuffer, BatchesUntilFullThenFlushes) {
    Sink sink;
    OutBuffer out(16, &Sink::fn, &sink);
    write_str(out, "0123456789");  // 10
    EXPECT_EQ(sink.calls, 0);
    EXPECT_EQ(out.size(), 10u);
    write_str(out, "abcdef");  // 16: exactly full, no flush yet
    EXPECT_EQ(sink.calls, 0);
    write_str(out, "X");  // does not fit: flush the 16 bytes first
    EXPECT_EQ(sink.calls, 1);
    EXPECT_EQ(sink.got, "0123456789abcdef");
    EXPECT_EQ(out.size(), 1u);
    out.flush();
    EXPECT_EQ(sink.calls, 2);
    EXPECT_EQ(sink.got, "0123456789abcdefX");
    out.flush();  // nothing pending: no call
    EXPECT_EQ(sink.calls, 2);
}

TEST(OutBuffer, HugeReservationGrowsOnce) {
    Sink sink;
    OutBuffer out(8, &Sink::fn, &sink);
    write_str(out, "ab");
    const std::string big(100, 'z');
    write_str(out, big);
    EXPECT_EQ(sink.got, "ab");  // flushed before growing
    EXPECT_GE(out.capacity(), 100u);
    write_str(out, "c");
    out.flush();
    EXPECT_EQ(sink.got, "ab" + big + "c");
}

TEST(OutBuffer, ReserveWithoutCommitWritesNothing) {
    Sink sink;
    OutBuffer out(32, &Sink::fn, &sink);
    char* p = out.reserve(8);
    std::memcpy(p, "ignored!", 8);
    write_str(out, "kept");
    out.flush();
    EXPECT_EQ(sink.got, "kept");
}

TEST(Value, TypeNames) {
    EXPECT_STREQ(type_name(Type::Null), "NULL");
    EXPECT_STREQ(type_name(Type::Bool), "BOOLEAN");
    EXPECT_STREQ(type_name(Type::Int), "BIGINT");
    EXPECT_STREQ(type_name(Type::Double), "DOUBLE");
    EXPECT_STREQ(type_name(Type::String), "VARCHAR");
}

TEST(Base, MonotonicClockDoesNotGoBack) {
    int64_t prev = monotonic_ns();
    for (int i = 0; i < 1000; ++i) {
        const int64_t now = monotonic_ns();
        ASSERT_GE(now, prev);
        prev = now;
    }
    EXPECT_GT(wall_ms(), 1600000000000LL);  // after 2020: the clock is in ms
}

}  // namespace
}  // namespace sluice
