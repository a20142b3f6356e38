// The runtime: shards pinned to CPUs, the SPSC mesh between them, and the
// bounded-input driver behind `sluice query` (and the conformance runner).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sluice/decode.h"
#include "sluice/result.h"
#include "sluice/stats.h"

namespace sluice {

enum class IdlePolicy : uint8_t { Busy, Adaptive };

struct QueryOptions {
    std::string sql;
    std::string input_path = "-";   // "-" = stdin
    std::string output_path = "-";  // "-" = stdout
    // Late records under late.data.strategy = 'dead_letter' ("-" = stderr).
    std::string dead_letter_path = "-";
    uint32_t shards = 1;
    std::vector<unsigned> cpus;     // one per shard when given; empty = not pinned
    bool parallel_read = false;     // split a regular input file across all shards at line boundaries
    std::size_t max_record_bytes = kDefaultMaxRecordBytes;
    IdlePolicy idle = IdlePolicy::Adaptive;
};

struct QueryStats {
    ShardCounters totals;
    std::vector<ShardCounters> per_shard;
    double seconds = 0;  // wall time of the whole run, start-up included
};

// Runs one query over a bounded input to completion. Errors (bad SQL, a
// missing file, a CPU not allowed) come back as Error with a clear message.
Result<QueryStats> run_query(const QueryOptions& options);

// `sluice run --config FILE`: the appliance, until SIGINT/SIGTERM has drained
// it. Prints the plan and errors to stderr; returns the exit status (0 after
// a drain, 1 on a start-up or runtime error). stats_path (non-empty) gets
// each query's counters as JSON at exit ("-" = stderr).
int run_appliance(const std::string& config_path, const std::string& stats_path);

// The SPEC §9 counters (plus records_in, dead_lettered, rows_out) as JSON
// members, without braces: shared by `query --stats` and `run --stats`.
std::string counters_json(const ShardCounters& counters);

// The statistics file of `sluice query --stats` (SPEC §9 counters plus
// records_in, rows_out, shards, seconds, records_per_second).
std::string stats_json(const QueryStats& stats, uint32_t shards);

}  // namespace sluice
