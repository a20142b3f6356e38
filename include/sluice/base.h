// Base constants and small helpers shared by every stage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

namespace sluice {

// The one cache-line constant of the project (x86-64 and aarch64 servers).
inline constexpr std::size_t kCacheLine = 64;

// Fixed-seed 64-bit hash (never per-process seeded): routing must agree
// across runs, shards and machines.
inline constexpr uint64_t kHashSeed = 0x9e3779b97f4a7c15ULL;
uint64_t hash64(const void* data, std::size_t len, uint64_t seed = kHashSeed) noexcept;

// Partition from the high 32 bits (multiply-shift range reduction); tables
// probe with the low bits, so the two never share entropy.
inline uint32_t partition_of(uint64_t hash, uint32_t partitions) noexcept {
    return static_cast<uint32_t>(((hash >> 32) * partitions) >> 32);
}

inline int64_t monotonic_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline int64_t wall_ms() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace sluice
