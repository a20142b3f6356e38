#include "stop_signals.h"

#include <pthread.h>
#include <time.h>

#include <cerrno>

namespace sluice {

StopSignals::StopSignals() {
    sigemptyset(&stop_);
    sigaddset(&stop_, SIGINT);
    sigaddset(&stop_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_, &previous_);
}

StopSignals::~StopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

int StopSignals::wait(long timeout_ms) {
    timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000};
    for (;;) {
        const int sig = sigtimedwait(&stop_, nullptr, &ts);
        if (sig > 0) return sig;
        if (errno != EINTR) return 0;  // EAGAIN: timed out
    }
}

}  // namespace sluice
