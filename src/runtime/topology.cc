#include "topology.h"

#include <hwloc.h>

#include <algorithm>
#include <cstdlib>

namespace sluice {

Result<Topology*> Topology::load() {
    auto* t = new Topology();
    if (hwloc_topology_init(&t->topo_) != 0) {
        delete t;
        return Error{"hwloc: cannot initialise the topology"};
    }
    if (hwloc_topology_load(t->topo_) != 0) {
        delete t;
        return Error{"hwloc: cannot load the topology"};
    }
    // What the cgroup's cpuset allows, not the inherited affinity mask: with
    // isolcpus every process starts on the housekeeping CPUs only, and the
    // shard CPUs named in the config are exactly the isolated ones.
    hwloc_bitmap_t set = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(t->topo_));
    unsigned id;
    hwloc_bitmap_foreach_begin(id, set) { t->allowed_.push_back(id); }
    hwloc_bitmap_foreach_end();
    hwloc_bitmap_free(set);
    return t;
}

Topology::~Topology() {
    if (topo_) hwloc_topology_destroy(topo_);
}

bool Topology::is_allowed(unsigned cpu) const {
    return std::find(allowed_.begin(), allowed_.end(), cpu) != allowed_.end();
}

std::string Topology::pin_current_thread(unsigned cpu) const {
    if (!is_allowed(cpu)) {
        return "CPU " + std::to_string(cpu) + " is not allowed for this process (allowed: " +
               format_cpu_list(allowed_) + ")";
    }
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    hwloc_bitmap_only(set, cpu);
    int rc = hwloc_set_cpubind(topo_, set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
    if (rc != 0) rc = hwloc_set_cpubind(topo_, set, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(set);
    if (rc != 0) return "cannot pin a shard thread to CPU " + std::to_string(cpu);
    return {};
}

Result<std::vector<unsigned>> parse_cpu_list(const std::string& text) {
    std::vector<unsigned> out;
    size_t i = 0;
    auto number = [&](unsigned& v) {
        size_t start = i;
        unsigned long acc = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            acc = acc * 10 + static_cast<unsigned>(text[i] - '0');
            if (acc > 4095) return false;
            ++i;
        }
        v = static_cast<unsigned>(acc);
        return i > start;
    };
    while (i < text.size()) {
        unsigned a, b;
        if (!number(a)) return Error{"bad CPU list '" + text + "' (expected e.g. 0-3,6)"};
        b = a;
        if (i < text.size() && text[i] == '-') {
            ++i;
            if (!number(b) || b < a) return Error{"bad CPU list '" + text + "' (expected e.g. 0-3,6)"};
        }
        for (unsigned c = a; c <= b; ++c) out.push_back(c);
        if (i < text.size()) {
            if (text[i] != ',' || i + 1 == text.size())
                return Error{"bad CPU list '" + text + "' (expected e.g. 0-3,6)"};
            ++i;
        }
    }
    if (out.empty()) return Error{"empty CPU list"};
    return out;
}

std::string format_cpu_list(const std::vector<unsigned>& cpus) {
    std::string s;
    for (size_t i = 0; i < cpus.size();) {
        size_t j = i;
        while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
        if (!s.empty()) s += ',';
        s += std::to_string(cpus[i]);
        if (j > i) s += '-' + std::to_string(cpus[j]);
        i = j + 1;
    }
    return s;
}

}  // namespace sluice
