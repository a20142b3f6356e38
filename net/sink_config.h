// Settings of one network egress sink (net/sink_udp.h, net/sink_tcp.h),
// filled by the config loader. Plain values: nothing here is read per row.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::net {

struct SinkConfig {
    std::size_t datagram_bytes = 1400;     // udp: max datagram payload (a longer row goes alone)
    std::size_t batch_bytes = 65536;       // flush once this much is buffered
    uint32_t flush_us = 50;                // ... or once the oldest unsent byte is this old
    std::size_t buffer_bytes = 4 << 20;    // tcp: bounded buffer (also holds rows while disconnected)
    bool drop_when_full = false;           // tcp: false = block (append refuses), true = drop and count
    uint32_t reconnect_min_ms = 10;        // tcp: first reconnect delay, doubled per failure ...
    uint32_t reconnect_max_ms = 1000;      // ... up to this
};

}  // namespace sluice::net
