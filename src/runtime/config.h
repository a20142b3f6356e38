// The appliance's TOML configuration (`sluice run|check --config FILE`):
// shards, limits, drain, sources, sinks and queries, as plain values the
// runtime uses directly. config/README.md documents every key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/plan.h"
#include "sluice/result.h"
#include "sluice/runtime.h"

namespace sluice {

// A place in the config file, 1-based; {0, 0} = not given.
struct ConfigPos {
    uint32_t line = 0;
    uint32_t column = 0;
};

struct Endpoint {
    std::string host;  // "127.0.0.1", "::1" (no brackets)
    uint16_t port = 0;
    bool ipv6 = false;
    std::string text;  // as written: "127.0.0.1:9000", "[::1]:9000"
};

enum class SourceType : uint8_t { Udp, Tcp };
enum class SinkType : uint8_t { Stdout, File, Udp, Tcp };
enum class OnFull : uint8_t { Block, Drop };

// The config words: "udp", "file", "block", "adaptive", ...
const char* name_of(SourceType t);
const char* name_of(SinkType t);
const char* name_of(OnFull f);
const char* name_of(IdlePolicy p);

struct ShardsConfig {
    uint32_t count = 1;
    std::vector<unsigned> cpus;  // one per shard; empty = not pinned
    IdlePolicy idle = IdlePolicy::Adaptive;
    ConfigPos cpus_pos;
};

struct LimitsConfig {
    uint32_t max_record_bytes = 1u << 20;
    uint32_t ring_bytes = 4u << 20;      // each SPSC ring between two shards
    uint32_t udp_buffers = 4096;         // provided buffers per shard per UDP source
    uint32_t udp_buffer_bytes = 2048;    // bytes per buffer = largest datagram taken
};

struct DrainConfig {
    bool flush_windows = true;  // emit open windows and EMIT FINAL groups on SIGINT/SIGTERM
    uint32_t timeout_ms = 5000;
};

// [metrics]: the HTTP endpoint (/metrics, /health). Off unless the table is
// present; loopback unless another address is written.
struct MetricsConfig {
    bool enabled = false;
    Endpoint listen{"127.0.0.1", 9180, false, "127.0.0.1:9180"};
    ConfigPos pos;
};

struct LogConfig {
    uint32_t summary_interval_s = 10;  // one summary line per query this often; 0: none
};

struct SourceSpec {
    std::string name;
    SourceType type = SourceType::Udp;
    Endpoint listen;
    uint32_t max_connections = 1024;  // tcp
    uint32_t receive_buffer_bytes = 0; // SO_RCVBUF of each shard's socket; 0: the kernel's default
    ConfigPos pos;                     // the [[sources]] table
};

struct SinkSpec {
    std::string name;
    SinkType type = SinkType::Stdout;
    std::string path;      // file: resolved against the config file's directory
    Endpoint address;      // udp, tcp
    uint32_t datagram_bytes = 1400;  // udp
    uint32_t batch_bytes = 65536;
    uint32_t flush_us = 50;
    uint32_t buffer_bytes = 4u << 20;  // tcp
    OnFull on_full = OnFull::Block;    // tcp
    uint32_t reconnect_min_ms = 10;    // tcp
    uint32_t reconnect_max_ms = 1000;  // tcp
    ConfigPos pos;
};

struct QuerySpec {
    std::string name;
    std::string sql;       // the text, also when it came from sql_file
    std::string sql_file;  // resolved path; empty for inline SQL
    std::string sink;
    uint32_t sink_index = 0;
    std::string dead_letter_sink;  // empty = none
    int32_t dead_letter_index = -1;
    std::vector<std::string> sources;  // every source when the key is absent
    std::vector<uint32_t> source_indexes;
    ConfigPos pos;      // the [[queries]] table
    ConfigPos sql_pos;  // the `sql` or `sql_file` key
};

struct AppConfig {
    std::string path;  // as given; prefixes every message
    ShardsConfig shards;
    LimitsConfig limits;
    DrainConfig drain;
    MetricsConfig metrics;
    LogConfig log;
    std::vector<SourceSpec> sources;
    std::vector<SinkSpec> sinks;
    std::vector<QuerySpec> queries;
};

// Reads and validates a config. On failure the message holds every error
// found, one per line, each "FILE:LINE:COL: message", in file order.
Result<AppConfig> load_config(const std::string& path);
// The same over text; relative paths resolve against source_name's directory.
Result<AppConfig> parse_config(std::string_view text, const std::string& source_name);

// What needs the planner or the host: plans every query (in config order),
// requires a dead_letter_sink under late.data.strategy = 'dead_letter', and
// checks that the CPUs in `cpus` are allowed. Errors as for load_config.
Result<std::vector<Plan>> check_config(const AppConfig& config);

// "FILE:LINE:COL: message"
std::string config_error(const AppConfig& config, ConfigPos pos, const std::string& message);

}  // namespace sluice
