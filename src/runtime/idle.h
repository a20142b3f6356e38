// What a shard does when a loop iteration found no work. `busy` spins with a
// pause instruction (isolated CPUs); `adaptive` spins briefly, then yields,
// then sleeps in short steps so shards can share CPUs (CI, laptops).
#pragma once

#include <sched.h>
#include <time.h>

#include <cstdint>

#include "sluice/base.h"
#include "sluice/runtime.h"

namespace sluice {

class Idler {
public:
    explicit Idler(IdlePolicy policy) noexcept : policy_(policy) {}

    void wait() noexcept {
        if (policy_ == IdlePolicy::Busy || ++idle_polls_ < kSpinPolls) {
            cpu_relax();
        } else if (idle_polls_ < kYieldPolls) {
            sched_yield();
        } else {
            timespec ts{0, kSleepNs};
            nanosleep(&ts, nullptr);
        }
    }
    void reset() noexcept { idle_polls_ = 0; }

private:
    static constexpr uint32_t kSpinPolls = 200;
    static constexpr uint32_t kYieldPolls = 400;
    static constexpr long kSleepNs = 50'000;
    IdlePolicy policy_;
    uint32_t idle_polls_ = 0;
};

}  // namespace sluice
