// The full mesh of SPSC rings between shards: ring(i, j) carries shard i's
// messages to shard j. Shard j creates its inbound rings on its own thread,
// after pinning, so their memory is first touched on j's NUMA node.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sluice/spsc_ring.h"

namespace sluice {

// Bytes of each ring, and the largest message one carries (SpscRing's limit).
inline constexpr uint32_t kMeshRingBytes = 4u << 20;
inline constexpr uint32_t kMaxRingMessage = kMeshRingBytes / 4;

class Mesh {
public:
    explicit Mesh(uint32_t shards) : n_(shards), rings_(shards * shards) {}

    void create_inbound(uint32_t to) {
        for (uint32_t from = 0; from < n_; ++from)
            if (from != to) rings_[from * n_ + to] = std::make_unique<SpscRing>(kMeshRingBytes);
    }
    SpscRing& ring(uint32_t from, uint32_t to) { return *rings_[from * n_ + to]; }

private:
    uint32_t n_;
    std::vector<std::unique_ptr<SpscRing>> rings_;
};

}  // namespace sluice
