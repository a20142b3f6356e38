// The full mesh of SPSC rings between shards: ring(i, j) carries shard i's
// messages to shard j. Shard j creates its inbound rings on its own thread,
// after pinning, so their memory is first touched on j's NUMA node.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sluice/spsc_ring.h"

namespace sluice {

// Bytes of each ring by default; the largest message a ring carries is a
// quarter of it (SpscRing's limit).
inline constexpr uint32_t kMeshRingBytes = 4u << 20;

class Mesh {
public:
    explicit Mesh(uint32_t shards, uint32_t ring_bytes = kMeshRingBytes)
        : n_(shards), ring_bytes_(ring_bytes), rings_(shards * shards) {}

    void create_inbound(uint32_t to) {
        for (uint32_t from = 0; from < n_; ++from)
            if (from != to) rings_[from * n_ + to] = std::make_unique<SpscRing>(ring_bytes_);
    }
    SpscRing& ring(uint32_t from, uint32_t to) { return *rings_[from * n_ + to]; }
    uint32_t max_message() const noexcept { return ring_bytes_ / 4; }

private:
    uint32_t n_;
    uint32_t ring_bytes_;
    std::vector<std::unique_ptr<SpscRing>> rings_;
};

}  // namespace sluice
