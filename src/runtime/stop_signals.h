// SIGINT and SIGTERM ask a running appliance to drain. They are blocked in
// every thread (block them before starting any) and taken synchronously by
// the control thread, so no handler runs on a shard and nothing is async-signal
// restricted.
#pragma once

#include <signal.h>

namespace sluice {

class StopSignals {
public:
    // Blocks SIGINT and SIGTERM in the calling thread and in threads it starts later.
    StopSignals();
    // Restores the previous mask.
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    // Waits up to timeout_ms for one of them; returns its number, or 0.
    int wait(long timeout_ms);

private:
    sigset_t stop_;
    sigset_t previous_;
};

}  // namespace sluice
