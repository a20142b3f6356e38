// The appliance's TOML configuration (`sluice run|check --config FILE`):
// shards, limits, drain, sources, sinks and queries, as plain values the
// runtime uses directly. config/README.md documents every key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
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

enum class SourceType : uint8_t { Udp, Tcp, Dpdk, Kafka };
enum class SinkType : uint8_t { Stdout, File, Udp, Tcp, Kafka };
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

// [dpdk]: the EAL and the mbuf pools of kernel-bypass ingest (dpdk sources).
struct DpdkConfig {
    bool present = false;                 // the table was written
    std::vector<std::string> eal_args;    // passed to rte_eal_init after sluice's own
    uint32_t memory_mb = 0;               // -m; 0: the EAL's default
    uint32_t mbufs = 0;                   // per pool (one per NUMA node); 0: sized for the queues
    uint32_t burst = 32;                  // frames per rte_eth_rx_burst
    uint32_t rx_descriptors = 1024;       // per RX queue
    ConfigPos pos;
};

// [checkpoint]: periodic snapshots of every query's state with the input
// offsets they cover (checkpoint.h); off unless the table is present.
struct CheckpointConfig {
    bool enabled = false;
    std::string dir;               // resolved against the config file's directory
    uint32_t interval_ms = 10000;
    std::string name;              // this appliance among the members of its group; default: the host name
    uint32_t keep = 2;             // checkpoint files kept per appliance
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
    // dpdk: the port, the UDP destination ports and address taken, RX queues.
    std::string port;                  // a DPDK port name ("net_pcap0") or decimal id
    std::vector<uint16_t> udp_ports;
    std::string ipv4;                  // destination address filter, "" = any
    uint32_t ipv4_address = 0;         // host order
    uint32_t queues = 0;               // 0: one per shard, capped by the device
    bool promiscuous = false;
    // kafka: the cluster, the topics, the consumer group and librdkafka properties.
    std::string brokers;               // bootstrap.servers, as written ("host:port,host:port")
    std::vector<std::string> topics;
    std::string group;
    std::vector<std::pair<std::string, std::string>> properties;
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
    // kafka: the cluster, the topic, batching and delivery.
    std::string brokers;
    std::string topic;
    uint32_t linger_ms = 5;
    bool exactly_once = false;
    std::string transactional_id;  // exactly_once; default "sluice-<checkpoint name>-<sink name>"
    std::vector<std::pair<std::string, std::string>> properties;
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
    DpdkConfig dpdk;
    CheckpointConfig checkpoint;
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
