// CPU topology through hwloc: which CPUs this process may use, and pinning
// of the calling thread to one of them. Built once on the control thread.
#pragma once

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

    // Logical CPU ids (OS indexes) this process is allowed to run on.
    const std::vector<unsigned>& allowed_cpus() const { return allowed_; }
    bool is_allowed(unsigned cpu) const;
    // Binds the calling thread to one CPU. Returns an empty string or the error.
    std::string pin_current_thread(unsigned cpu) const;

private:
    Topology() = default;
    hwloc_topology* topo_ = nullptr;
    std::vector<unsigned> allowed_;
};

// "0-3,6,8-9" -> {0,1,2,3,6,8,9}; Error on malformed text.
Result<std::vector<unsigned>> parse_cpu_list(const std::string& text);
std::string format_cpu_list(const std::vector<unsigned>& cpus);

}  // namespace sluice
