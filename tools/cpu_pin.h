// Pins a thread to one CPU (sluice-lat --cpu, --echo-cpu): a busy-polling
// measurement loop should not share its core or migrate mid-run.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>

namespace sluice::lat {

// Empty on success, else why the CPU could not be used.
inline std::string pin_thread(pthread_t thread, int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return "CPU " + std::to_string(cpu) + " is out of range";
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (const int rc = ::pthread_setaffinity_np(thread, sizeof set, &set); rc != 0)
        return "cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(rc);
    return {};
}

}  // namespace sluice::lat
