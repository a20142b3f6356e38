// Per-shard accounting (SPEC §9). Each shard writes only its own block; the
// control thread sums snapshots after the shards stop, or reads them relaxed.
#pragma once

#include <cstdint>

namespace sluice {

struct alignas(64) ShardCounters {
    uint64_t records_in = 0;         // non-empty lines / datagram records seen
    uint64_t records_processed = 0;  // accepted and applied (incl. filtered by WHERE)
    uint64_t records_rejected = 0;   // not a JSON object, or over max_record_bytes
    uint64_t late_dropped = 0;       // window closed for it
    uint64_t overload_dropped = 0;   // network ingest only
    uint64_t type_mismatch = 0;      // values NULLed for a wrong type (not a drop)
    uint64_t rows_out = 0;           // result rows serialized
    uint64_t dead_lettered = 0;      // late records written to the dead-letter output (also in late_dropped)
};

static_assert(sizeof(ShardCounters) == 64);

inline void add_counters(ShardCounters& into, const ShardCounters& c) noexcept {
    into.records_in += c.records_in;
    into.records_processed += c.records_processed;
    into.records_rejected += c.records_rejected;
    into.late_dropped += c.late_dropped;
    into.overload_dropped += c.overload_dropped;
    into.type_mismatch += c.type_mismatch;
    into.rows_out += c.rows_out;
    into.dead_lettered += c.dead_lettered;
}

}  // namespace sluice
