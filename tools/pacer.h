// Busy-wait pacing clock of sluice-gen and sluice-lat. The schedule is fixed
// at start: unit k (a record index) is due at t0 + k / rate. A sender that
// falls behind sends at once and never bursts to catch up on purpose; its
// lateness is kept (max_lag_ns) so a report can say how far behind it ran.
// Times are CLOCK_MONOTONIC nanoseconds, the clock sent_ns fields carry.
#pragma once

#include <time.h>

#include <cstdint>

namespace sluice::gen {

inline int64_t monotonic_ns() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Tells the core this is a spin loop (saves power, frees the sibling hyperthread).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

class Pacer {
public:
    // rate: units per second; 0 (or less) means unpaced: every unit is due at once.
    explicit Pacer(double rate = 0, int64_t t0_ns = 0) noexcept : rate_(rate > 0 ? rate : 0), t0_(t0_ns) {}

    bool paced() const noexcept { return rate_ > 0; }
    double rate() const noexcept { return rate_; }
    int64_t t0() const noexcept { return t0_; }
    void restart(int64_t t0_ns) noexcept {
        t0_ = t0_ns;
        max_lag_ = 0;
    }

    // The intended time of unit k: t0 + k / rate (t0 when unpaced). A double
    // holds k * 1e9 / rate exactly enough: 2^53 ns is over 100 days.
    int64_t due_ns(uint64_t k) const noexcept {
        if (!paced()) return t0_;
        return t0_ + static_cast<int64_t>(static_cast<double>(k) * 1e9 / rate_);
    }

    // Notes that a unit due at `due` is being sent at `now`.
    void note_send(int64_t due, int64_t now) noexcept {
        if (now - due > max_lag_) max_lag_ = now - due;
    }

    // Spins until unit k is due and returns its intended time (the current
    // time when unpaced). Lateness is noted.
    int64_t wait_for(uint64_t k) noexcept {
        if (!paced()) return monotonic_ns();
        const int64_t due = due_ns(k);
        int64_t now = monotonic_ns();
        while (now < due) {
            cpu_relax();
            now = monotonic_ns();
        }
        note_send(due, now);
        return due;
    }

    // The largest lateness seen: how long after its intended time a unit left.
    int64_t max_lag_ns() const noexcept { return max_lag_; }

private:
    double rate_;
    int64_t t0_;
    int64_t max_lag_ = 0;
};

}  // namespace sluice::gen
