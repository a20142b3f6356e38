// CPU topology through hwloc: which CPUs this process may use, and pinning
// of the calling thread to one of them. Built once on the control thread.
#pragma once

#include <exception>
#include <string>
#include <vector>

#include "sluice/result.h"

struct hwloc_topology;

namespace sluice {

class Topology {
public:
    static Result<Topology*> load();  // caller owns; nullptr never returned on success
    ~Topology();
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;

    // Logical CPU ids (OS indexes) the cgroup cpuset lets this process use
    // (isolated CPUs included: shards pin to them explicitly).
    const std::vector<unsigned>& allowed_cpus() const { return allowed_; }
    bool is_allowed(unsigned cpu) const;
    // Binds the calling thread to one CPU. Returns an empty string or the error.
    std::string pin_current_thread(unsigned cpu) const;

private:
    Topology() = default;
    hwloc_topology* topo_ = nullptr;
    std::vector<unsigned> allowed_;
};

// A shard thread's start: pinned first (cpu < 0: not pinned), then set up,
// so everything setup allocates is first touched on that CPU's NUMA node.
// Returns the error (pinning, or what setup threw), empty on success.
template <class F>
std::string pin_then_set_up(const Topology* topology, int cpu, F&& setup) {
    if (cpu >= 0 && topology != nullptr) {
        std::string err = topology->pin_current_thread(static_cast<unsigned>(cpu));
        if (!err.empty()) return err;
    }
    try {
        setup();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

// "0-3,6,8-9" -> {0,1,2,3,6,8,9}; Error on malformed text.
Result<std::vector<unsigned>> parse_cpu_list(const std::string& text);
std::string format_cpu_list(const std::vector<unsigned>& cpus);

}  // namespace sluice
