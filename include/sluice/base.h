// Base constants and small helpers shared by every stage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

#include "sluice/hash.h"

namespace sluice {

// The one cache-line constant of the project (x86-64 and aarch64 servers).
inline constexpr std::size_t kCacheLine = 64;

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
