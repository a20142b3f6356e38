#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "net/dpdk_port.h"
#include "runtime/config.h"

#ifndef SLUICE_SOURCE_ROOT
#error "SLUICE_SOURCE_ROOT must name the source tree"
#endif

namespace sluice {
namespace {

// Appended after each test's own text, so that text starts at line 1.
const std::string kMinimal = R"(
[[sources]]
name = "in"
type = "udp"
listen = "127.0.0.1:9000"

[[sinks]]
name = "out"
type = "stdout"

[[queries]]
name = "q"
sql = "SELECT a FROM t"
sink = "out"
)";

std::string error_of(const std::string& text, const std::string& name = "t.toml") {
    Result<AppConfig> r = parse_config(text, name);
    if (r.ok()) return "(loaded)";
    return r.error().message;
}

// The whole message for a config made of `text` and the minimal rest.
std::string error_with_minimal(const std::string& text) { return error_of(text + kMinimal); }

TEST(Config, MinimalConfigTakesTheDefaults) {
    Result<AppConfig> r = parse_config(kMinimal, "dir/t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const AppConfig& c = r.value();
    EXPECT_EQ(c.path, "dir/t.toml");
    EXPECT_EQ(c.shards.count, 1u);
    EXPECT_TRUE(c.shards.cpus.empty());
    EXPECT_EQ(c.shards.idle, IdlePolicy::Adaptive);
    EXPECT_EQ(c.limits.max_record_bytes, 1048576u);
    EXPECT_EQ(c.limits.ring_bytes, 4194304u);
    EXPECT_EQ(c.limits.udp_buffers, 4096u);
    EXPECT_EQ(c.limits.udp_buffer_bytes, 2048u);
    EXPECT_TRUE(c.drain.flush_windows);
    EXPECT_EQ(c.drain.timeout_ms, 5000u);

    ASSERT_EQ(c.sources.size(), 1u);
    EXPECT_EQ(c.sources[0].name, "in");
    EXPECT_EQ(c.sources[0].type, SourceType::Udp);
    EXPECT_EQ(c.sources[0].listen.host, "127.0.0.1");
    EXPECT_EQ(c.sources[0].listen.port, 9000);
    EXPECT_FALSE(c.sources[0].listen.ipv6);
    EXPECT_EQ(c.sources[0].max_connections, 1024u);
    EXPECT_EQ(c.sources[0].pos.line, 2u);

    ASSERT_EQ(c.sinks.size(), 1u);
    const SinkSpec& k = c.sinks[0];
    EXPECT_EQ(k.type, SinkType::Stdout);
    EXPECT_EQ(k.datagram_bytes, 1400u);
    EXPECT_EQ(k.batch_bytes, 65536u);
    EXPECT_EQ(k.flush_us, 50u);
    EXPECT_EQ(k.buffer_bytes, 4194304u);
    EXPECT_EQ(k.on_full, OnFull::Block);
    EXPECT_EQ(k.reconnect_min_ms, 10u);
    EXPECT_EQ(k.reconnect_max_ms, 1000u);

    ASSERT_EQ(c.queries.size(), 1u);
    const QuerySpec& q = c.queries[0];
    EXPECT_EQ(q.name, "q");
    EXPECT_EQ(q.sql, "SELECT a FROM t");
    EXPECT_TRUE(q.sql_file.empty());
    EXPECT_EQ(q.sink, "out");
    EXPECT_EQ(q.sink_index, 0u);
    EXPECT_TRUE(q.dead_letter_sink.empty());
    EXPECT_EQ(q.dead_letter_index, -1);
    EXPECT_EQ(q.sources, std::vector<std::string>{"in"});  // all of them
    EXPECT_EQ(q.source_indexes, std::vector<uint32_t>{0});
    EXPECT_EQ(q.pos.line, 11u);
    EXPECT_EQ(q.sql_pos.line, 13u);
    EXPECT_EQ(q.sql_pos.column, 1u);
}

TEST(Config, EveryKeyIsRead) {
    const std::string text = R"([shards]
count = 2
cpus = "0,1"
idle = "busy"

[limits]
max_record_bytes = 2048
ring_bytes = 65536
udp_buffers = 32768
udp_buffer_bytes = 65536

[drain]
flush_windows = false
timeout_ms = 250

[[sources]]
name = "u"
type = "udp"
listen = "[::1]:9000"

[[sources]]
name = "t"
type = "tcp"
listen = "10.1.2.3:65535"
max_connections = 7

[[sinks]]
name = "f"
type = "file"
path = "rows.ndjson"
batch_bytes = 512
flush_us = 1000000

[[sinks]]
name = "d"
type = "udp"
address = "127.0.0.1:9100"
datagram_bytes = 64

[[sinks]]
name = "c"
type = "tcp"
address = "[fe80::1]:1"
batch_bytes = 16777216
buffer_bytes = 1073741824
on_full = "drop"
reconnect_min_ms = 60000
reconnect_max_ms = 600000

[[sinks]]
name = "o"
type = "stdout"

[[queries]]
name = "a"
sql = "SELECT x FROM s"
sink = "c"
dead_letter_sink = "f"
sources = ["t"]

[[queries]]
name = "b"
sql = """
SELECT y
FROM s"""
sink = "o"
sources = ["t", "u"]
)";
    Result<AppConfig> r = parse_config(text, "/etc/sluice/app.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const AppConfig& c = r.value();
    EXPECT_EQ(c.shards.count, 2u);
    EXPECT_EQ(c.shards.cpus, (std::vector<unsigned>{0, 1}));
    EXPECT_EQ(c.shards.cpus_pos.line, 3u);
    EXPECT_EQ(c.shards.cpus_pos.column, 8u);
    EXPECT_EQ(c.shards.idle, IdlePolicy::Busy);
    EXPECT_EQ(c.limits.max_record_bytes, 2048u);
    EXPECT_EQ(c.limits.ring_bytes, 65536u);
    EXPECT_EQ(c.limits.udp_buffers, 32768u);
    EXPECT_EQ(c.limits.udp_buffer_bytes, 65536u);
    EXPECT_FALSE(c.drain.flush_windows);
    EXPECT_EQ(c.drain.timeout_ms, 250u);

    ASSERT_EQ(c.sources.size(), 2u);
    EXPECT_EQ(c.sources[0].listen.host, "::1");
    EXPECT_TRUE(c.sources[0].listen.ipv6);
    EXPECT_EQ(c.sources[0].listen.port, 9000);
    EXPECT_EQ(c.sources[0].listen.text, "[::1]:9000");
    EXPECT_EQ(c.sources[1].type, SourceType::Tcp);
    EXPECT_EQ(c.sources[1].listen.host, "10.1.2.3");
    EXPECT_EQ(c.sources[1].listen.port, 65535);
    EXPECT_EQ(c.sources[1].max_connections, 7u);

    ASSERT_EQ(c.sinks.size(), 4u);
    EXPECT_EQ(c.sinks[0].type, SinkType::File);
    EXPECT_EQ(c.sinks[0].path, "/etc/sluice/rows.ndjson");
    EXPECT_EQ(c.sinks[0].batch_bytes, 512u);
    EXPECT_EQ(c.sinks[0].flush_us, 1000000u);
    EXPECT_EQ(c.sinks[1].type, SinkType::Udp);
    EXPECT_EQ(c.sinks[1].address.text, "127.0.0.1:9100");
    EXPECT_EQ(c.sinks[1].datagram_bytes, 64u);
    EXPECT_EQ(c.sinks[2].type, SinkType::Tcp);
    EXPECT_EQ(c.sinks[2].address.host, "fe80::1");
    EXPECT_EQ(c.sinks[2].address.port, 1);
    EXPECT_EQ(c.sinks[2].batch_bytes, 16777216u);
    EXPECT_EQ(c.sinks[2].buffer_bytes, 1073741824u);
    EXPECT_EQ(c.sinks[2].on_full, OnFull::Drop);
    EXPECT_EQ(c.sinks[2].reconnect_min_ms, 60000u);
    EXPECT_EQ(c.sinks[2].reconnect_max_ms, 600000u);
    EXPECT_EQ(c.sinks[3].type, SinkType::Stdout);

    ASSERT_EQ(c.queries.size(), 2u);
    EXPECT_EQ(c.queries[0].sink_index, 2u);
    EXPECT_EQ(c.queries[0].dead_letter_sink, "f");
    EXPECT_EQ(c.queries[0].dead_letter_index, 0);
    EXPECT_EQ(c.queries[0].sources, std::vector<std::string>{"t"});
    EXPECT_EQ(c.queries[0].source_indexes, std::vector<uint32_t>{1});
    EXPECT_EQ(c.queries[1].sql, "SELECT y\nFROM s");
    EXPECT_EQ(c.queries[1].sql_pos.line, 63u);
    EXPECT_EQ(c.queries[1].sink_index, 3u);
    EXPECT_EQ(c.queries[1].source_indexes, (std::vector<uint32_t>{1, 0}));
}

TEST(Config, MetricsAndLogTables) {
    Result<AppConfig> none = parse_config(kMinimal, "t.toml");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none.value().metrics.enabled);  // no listener unless asked for
    EXPECT_EQ(none.value().log.summary_interval_s, 10u);
    EXPECT_EQ(none.value().sources[0].receive_buffer_bytes, 0u);

    Result<AppConfig> dflt = parse_config("[metrics]\n" + kMinimal, "t.toml");
    ASSERT_TRUE(dflt.ok()) << dflt.error().message;
    EXPECT_TRUE(dflt.value().metrics.enabled);
    EXPECT_EQ(dflt.value().metrics.listen.text, "127.0.0.1:9180");  // loopback by default

    Result<AppConfig> r = parse_config(
        "[metrics]\nlisten = \"[::1]:9300\"\n[log]\nsummary_interval_s = 0\n" + kMinimal, "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r.value().metrics.listen.ipv6);
    EXPECT_EQ(r.value().metrics.listen.port, 9300);
    EXPECT_EQ(r.value().log.summary_interval_s, 0u);

    Result<AppConfig> off = parse_config("[metrics]\nenabled = false\n" + kMinimal, "t.toml");
    ASSERT_TRUE(off.ok());
    EXPECT_FALSE(off.value().metrics.enabled);

    EXPECT_EQ(error_with_minimal("[metrics]\nlisten = \"localhost\"\n"),
              "t.toml:2:10: listen: malformed address 'localhost' (expected a.b.c.d:port or [ipv6]:port)");
    EXPECT_EQ(error_with_minimal("[metrics]\nport = 1\n"),
              "t.toml:2:1: unknown key 'port' in [metrics] (known: enabled, listen)");
    EXPECT_EQ(error_with_minimal("[log]\nsummary_interval_s = -1\n"),
              "t.toml:2:22: summary_interval_s: -1 is out of range (0 .. 86400)");
}

TEST(Config, CpusAloneSetTheCount) {
    Result<AppConfig> r = parse_config("[shards]\ncpus = \"2-4,7\"\n" + kMinimal, "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->shards.count, 4u);
    EXPECT_EQ(r->shards.cpus, (std::vector<unsigned>{2, 3, 4, 7}));
}

TEST(Config, TomlSyntaxErrorsHaveFileLineColumn) {
    EXPECT_EQ(error_of("[shards]\ncount = \n"), "t.toml:2:9: Error while parsing key-value pair: expected value, saw '\\n'");
    const std::string dup = error_of("[shards]\ncount = 1\ncount = 2\n");
    EXPECT_EQ(dup.rfind("t.toml:3:", 0), 0u) << dup;
}

TEST(Config, UnknownKeysNameTheKeyAndTheKnownOnes) {
    EXPECT_EQ(error_with_minimal("metrics = 1\n"), "t.toml:1:11: metrics: expected a table ([metrics]), found an integer");
    EXPECT_EQ(error_with_minimal("stats = 1\n"),
              "t.toml:1:1: unknown key 'stats' at the top level (known: shards, limits, drain, metrics, log, dpdk, "
              "checkpoint, sources, sinks, queries)");
    EXPECT_EQ(error_with_minimal("[shards]\ncout = 2\n"),
              "t.toml:2:1: unknown key 'cout' in [shards] (known: count, cpus, idle)");
    EXPECT_EQ(error_with_minimal("[limits]\n  ring_size = 2\n"),
              "t.toml:2:3: unknown key 'ring_size' in [limits] (known: max_record_bytes, ring_bytes, udp_buffers, "
              "udp_buffer_bytes)");
    EXPECT_EQ(error_with_minimal("[drain]\nflush = true\n"),
              "t.toml:2:1: unknown key 'flush' in [drain] (known: flush_windows, timeout_ms)");
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"udp\"\nlisten = \"127.0.0.1:1\"\nbind = 1\n"),
              "t.toml:5:1: unknown key 'bind' in [[sources]] (known: name, type, listen, max_connections, "
              "receive_buffer_bytes, port, udp_ports, ipv4, queues, promiscuous, brokers, topics, group, properties)");
    EXPECT_EQ(error_with_minimal("[dpdk]\nargs = []\n"),
              "t.toml:2:1: unknown key 'args' in [dpdk] (known: eal_args, memory_mb, mbufs, burst, rx_descriptors)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"stdout\"\ncolor = true\n"),
              "t.toml:4:1: unknown key 'color' in [[sinks]] (known: name, type, path, address, datagram_bytes, "
              "batch_bytes, flush_us, buffer_bytes, on_full, reconnect_min_ms, reconnect_max_ms, brokers, topic, linger_ms, "
              "exactly_once, transactional_id, properties)");
    EXPECT_EQ(error_of(kMinimal + "window = \"1s\"\n"),
              "t.toml:15:1: unknown key 'window' in [[queries]] (known: name, sql, sql_file, sink, dead_letter_sink, "
              "sources)");
    // A sub-table is an unknown key of its parent.
    EXPECT_EQ(error_with_minimal("[shards.extra]\na = 1\n"),
              "t.toml:1:9: unknown key 'extra' in [shards] (known: count, cpus, idle)");
}

TEST(Config, KeysOfAnotherTypeAreErrors) {
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"udp\"\nlisten = \"127.0.0.1:1\"\nmax_connections = 3\n"),
              "t.toml:5:1: key 'max_connections' applies only to tcp sources, not to udp");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"udp\"\naddress = \"127.0.0.1:1\"\npath = \"a\"\n"),
              "t.toml:5:1: key 'path' applies only to file sinks, not to udp");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"stdout\"\naddress = \"127.0.0.1:1\"\n"),
              "t.toml:4:1: key 'address' applies only to udp or tcp sinks, not to stdout");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"file\"\npath = \"p\"\non_full = \"drop\"\n"),
              "t.toml:5:1: key 'on_full' applies only to tcp sinks, not to file");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\ndatagram_bytes = 100\n"),
              "t.toml:5:1: key 'datagram_bytes' applies only to udp sinks, not to tcp");
}

TEST(Config, KeysOfDpdkAndSocketSourcesDoNotMix) {
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"udp\"\nlisten = \"127.0.0.1:1\"\nport = 1\n"),
              "t.toml:5:1: key 'port' applies only to dpdk sources, not to udp");
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"tcp\"\nlisten = \"127.0.0.1:1\"\n"
                                 "udp_ports = [1]\n"),
              "t.toml:5:1: key 'udp_ports' applies only to dpdk sources, not to tcp");
    if (!net::dpdk_built_in()) return;  // a dpdk source is an error of its own there (below)
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"dpdk\"\nport = 0\nudp_ports = [1]\n"
                                 "listen = \"127.0.0.1:1\"\n"),
              "t.toml:6:1: key 'listen' applies only to udp or tcp sources, not to dpdk");
}

TEST(Config, WrongTypesAreErrorsAtTheValue) {
    EXPECT_EQ(error_with_minimal("[shards]\ncount = \"2\"\n"), "t.toml:2:9: count: expected an integer, found a string");
    EXPECT_EQ(error_with_minimal("[shards]\ncount = 2.0\n"), "t.toml:2:9: count: expected an integer, found a float");
    EXPECT_EQ(error_with_minimal("[shards]\ncpus = [2, 3]\n"), "t.toml:2:8: cpus: expected a string, found an array");
    EXPECT_EQ(error_with_minimal("[drain]\nflush_windows = \"yes\"\n"),
              "t.toml:2:17: flush_windows: expected true or false, found a string");
    EXPECT_EQ(error_with_minimal("shards = 2\n"), "t.toml:1:10: shards: expected a table ([shards]), found an integer");
    EXPECT_EQ(error_of("[sources]\nname = \"in\"\n[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n"
                       "[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n"),
              "t.toml:1:1: sources: expected an array of tables ([[sources]]), found a table");
    EXPECT_EQ(error_of(kMinimal + "sources = \"in\"\n"),
              "t.toml:15:11: sources: expected an array of source names, found a string");
}

TEST(Config, OutOfRangeValuesAreErrorsAtTheValue) {
    EXPECT_EQ(error_with_minimal("[shards]\ncount = 0\n"), "t.toml:2:9: count: 0 is out of range (1 .. 256)");
    EXPECT_EQ(error_with_minimal("[shards]\ncount = 257\n"), "t.toml:2:9: count: 257 is out of range (1 .. 256)");
    EXPECT_EQ(error_with_minimal("[limits]\nmax_record_bytes = 1023\n"),
              "t.toml:2:20: max_record_bytes: 1023 is out of range (1024 .. 67108864)");
    EXPECT_EQ(error_with_minimal("[limits]\nring_bytes = 32768\n"),
              "t.toml:2:14: ring_bytes: 32768 is out of range (65536 .. 1073741824)");
    EXPECT_EQ(error_with_minimal("[limits]\nring_bytes = 100000\n"), "t.toml:2:14: ring_bytes: 100000 is not a power of two");
    EXPECT_EQ(error_with_minimal("[limits]\nudp_buffers = 65536\n"),
              "t.toml:2:15: udp_buffers: 65536 is out of range (1 .. 32768)");
    EXPECT_EQ(error_with_minimal("[limits]\nudp_buffers = 1000\n"), "t.toml:2:15: udp_buffers: 1000 is not a power of two");
    EXPECT_EQ(error_with_minimal("[limits]\nudp_buffer_bytes = 511\n"),
              "t.toml:2:20: udp_buffer_bytes: 511 is out of range (512 .. 65536)");
    EXPECT_EQ(error_with_minimal("[drain]\ntimeout_ms = -1\n"), "t.toml:2:14: timeout_ms: -1 is out of range (1 .. 3600000)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"udp\"\naddress = \"127.0.0.1:1\"\ndatagram_bytes = 65508\n"),
              "t.toml:5:18: datagram_bytes: 65508 is out of range (64 .. 65507)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"stdout\"\nflush_us = 0\n"),
              "t.toml:4:12: flush_us: 0 is out of range (1 .. 1000000)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"stdout\"\nbatch_bytes = 16777217\n"),
              "t.toml:4:15: batch_bytes: 16777217 is out of range (512 .. 16777216)");
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"tcp\"\nlisten = \"127.0.0.1:1\"\nmax_connections = 0\n"),
              "t.toml:5:19: max_connections: 0 is out of range (1 .. 65536)");
}

TEST(Config, RelatedSizesMustAgree) {
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"udp\"\naddress = \"127.0.0.1:1\"\nbatch_bytes = 1000\n"),
              "t.toml:5:15: batch_bytes 1000 is smaller than datagram_bytes 1400");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\nbuffer_bytes = 65536\n"
                                 "batch_bytes = 131072\n"),
              "t.toml:5:16: buffer_bytes 65536 is smaller than batch_bytes 131072");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\nreconnect_min_ms = 2000\n"),
              "t.toml:5:20: reconnect_min_ms 2000 is more than reconnect_max_ms 1000");
}

TEST(Config, ShardCpusAreChecked) {
    EXPECT_EQ(error_with_minimal("[shards]\ncpus = \"3-1\"\n"), "t.toml:2:8: cpus: bad CPU list '3-1' (expected e.g. 0-3,6)");
    EXPECT_EQ(error_with_minimal("[shards]\ncpus = \"1,2,1\"\n"), "t.toml:2:8: cpus: CPU 1 is listed twice in '1,2,1'");
    EXPECT_EQ(error_with_minimal("[shards]\ncount = 3\ncpus = \"0-1\"\n"),
              "t.toml:2:9: count: 3 shards but cpus '0-1' lists 2 CPUs");
}

TEST(Config, UnknownWordsAreErrorsAtTheValue) {
    EXPECT_EQ(error_with_minimal("[shards]\nidle = \"lazy\"\n"),
              "t.toml:2:8: idle: unknown value 'lazy' (expected busy or adaptive)");
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"sctp\"\nlisten = \"127.0.0.1:1\"\n"),
              "t.toml:3:8: type: unknown value 'sctp' (expected udp, tcp, dpdk or kafka)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"mqtt\"\n"),
              "t.toml:3:8: type: unknown value 'mqtt' (expected stdout, file, udp, tcp or kafka)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\non_full = \"wait\"\n"),
              "t.toml:5:11: on_full: unknown value 'wait' (expected block or drop)");
}

TEST(Config, MalformedAddressesAreErrorsAtTheValue) {
    auto listen = [](const std::string& addr) {
        return error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"udp\"\nlisten = \"" + addr + "\"\n");
    };
    for (const char* bad : {"127.0.0.1", "localhost:9000", "1.2.3:9", "1.2.3.4:", "1.2.3.4:x", "::1:9000", "[::1]9000",
                            "[::g]:1", "[1.2.3.4]:1", ":9000", "1.2.3.4:+9"})
        EXPECT_EQ(listen(bad), "t.toml:4:10: listen: malformed address '" + std::string(bad) +
                                   "' (expected a.b.c.d:port or [ipv6]:port)");
    EXPECT_EQ(listen("1.2.3.4:0"), "t.toml:4:10: listen: port 0 in '1.2.3.4:0' is out of range (1 .. 65535)");
    EXPECT_EQ(listen("[::1]:65536"), "t.toml:4:10: listen: port 65536 in '[::1]:65536' is out of range (1 .. 65535)");
    EXPECT_EQ(listen("1.2.3.4:9999999999"),
              "t.toml:4:10: listen: port 9999999999 in '1.2.3.4:9999999999' is out of range (1 .. 65535)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"tcp\"\naddress = \"collector:9100\"\n"),
              "t.toml:4:11: address: malformed address 'collector:9100' (expected a.b.c.d:port or [ipv6]:port)");
}

TEST(Config, NamesAreWordsThatStatsAndLogsCanCarry) {
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"a\\\"b\"\ntype = \"stdout\"\n"),
              "t.toml:2:8: name: sink name 'a\"b' may hold only letters, digits, '_', '-' and '.'");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"out 2\"\ntype = \"stdout\"\n"),
              "t.toml:2:8: name: sink name 'out 2' may hold only letters, digits, '_', '-' and '.'");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"out-2.b_c\"\ntype = \"stdout\"\n"), "(loaded)");
}

TEST(Config, DuplicatesAreErrors) {
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"in\"\ntype = \"tcp\"\nlisten = \"127.0.0.1:1\"\n"),
              "t.toml:7:8: name: duplicate source name 'in' (first at line 2)");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"out\"\ntype = \"stdout\"\n"),
              "t.toml:11:8: name: duplicate sink name 'out' (first at line 2)");
    EXPECT_EQ(error_of(kMinimal + "[[queries]]\nname = \"q\"\nsql = \"SELECT b FROM t\"\nsink = \"out\"\n"),
              "t.toml:16:8: name: duplicate query name 'q' (first at line 12)");
    // Same type and address: the second socket would steal half the traffic.
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"udp\"\nlisten = \"127.0.0.1:9000\"\n"),
              "t.toml:9:10: listen: 127.0.0.1:9000 is already the address of udp source 'x'");
    // A TCP source may share a UDP source's port.
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"tcp\"\nlisten = \"127.0.0.1:9000\"\n"), "(loaded)");
    const std::string listed = error_of(kMinimal + "sources = [\"in\", \"in\"]\n");
    EXPECT_EQ(listed, "t.toml:15:18: sources: 'in' is listed twice");
}

TEST(Config, ReferencesMustNameConfiguredSinksAndSources) {
    const std::string sinks = "[[sinks]]\nname = \"b\"\ntype = \"stdout\"\n";
    EXPECT_EQ(error_of(sinks + kMinimal + "dead_letter_sink = \"late\"\n"),
              "t.toml:18:20: dead_letter_sink: unknown sink 'late' (sinks: b, out)");
    EXPECT_EQ(error_of(kMinimal + "sources = [\"in\", \"nope\"]\n"),
              "t.toml:15:18: sources: unknown source 'nope' (sources: in)");
    EXPECT_EQ(error_of(kMinimal + "sources = []\n"),
              "t.toml:15:11: sources: must name at least one source (leave it out for all of them)");
    EXPECT_EQ(error_of(kMinimal + "sources = [1]\n"), "t.toml:15:12: sources: expected a source name, found an integer");
    std::string text = kMinimal;
    text.replace(text.find("sink = \"out\""), 12, "sink = \"outt\"");
    EXPECT_EQ(error_of(text), "t.toml:14:8: sink: unknown sink 'outt' (sinks: out)");
}

TEST(Config, MissingRequiredKeysAreReportedAtTheirTable) {
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"udp\"\n"),
              "t.toml:1:1: missing required key 'listen' in [[sources]]");
    EXPECT_EQ(error_with_minimal("\n[[sinks]]\ntype = \"stdout\"\n"), "t.toml:2:1: missing required key 'name' in [[sinks]]");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\n"), "t.toml:1:1: missing required key 'type' in [[sinks]]");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"file\"\n"),
              "t.toml:1:1: missing required key 'path' in [[sinks]]");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"x\"\ntype = \"udp\"\n"),
              "t.toml:1:1: missing required key 'address' in [[sinks]]");
    EXPECT_EQ(error_with_minimal("[[queries]]\nname = \"y\"\nsink = \"out\"\n"),
              "t.toml:1:1: missing required key 'sql' or 'sql_file' in [[queries]]");
    EXPECT_EQ(error_with_minimal("[[queries]]\nname = \"y\"\nsql = \"SELECT 1 FROM t\"\n"),
              "t.toml:1:1: missing required key 'sink' in [[queries]]");
    EXPECT_EQ(error_with_minimal("[[sinks]]\nname = \"\"\ntype = \"stdout\"\n"), "t.toml:2:8: name: must not be empty");
    // Whole sections: at least one source, sink and query.
    EXPECT_EQ(error_of("[shards]\ncount = 1\n[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n"),
              "t.toml:1:1: missing [[sources]]: at least one is required\n"
              "t.toml:1:1: missing [[queries]]: at least one is required");
    EXPECT_EQ(error_of("sources = []\n" + kMinimal.substr(kMinimal.find("[[sinks]]"))),
              "t.toml:1:11: sources: at least one is required");
}

TEST(Config, EveryErrorIsReportedInFileOrder) {
    const std::string text = "[shards]\nidle = \"x\"\ncount = 0\nzzz = 1\n" + kMinimal + "dead_letter_sink = \"nope\"\n";
    EXPECT_EQ(error_of(text),
              "t.toml:2:8: idle: unknown value 'x' (expected busy or adaptive)\n"
              "t.toml:3:9: count: 0 is out of range (1 .. 256)\n"
              "t.toml:4:1: unknown key 'zzz' in [shards] (known: count, cpus, idle)\n"
              "t.toml:19:20: dead_letter_sink: unknown sink 'nope' (sinks: out)");
}

class ConfigFiles : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/sluice-config-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        const std::string p = dir_ + "/" + name;
        std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
        return p;
    }
    std::string dir_;
};

TEST_F(ConfigFiles, SqlFileIsReadRelativeToTheConfig) {
    write("q.sql", "SELECT a\nFROM t\n");
    std::string text = kMinimal;
    text.replace(text.find("sql = \"SELECT a FROM t\""), 23, "sql_file = \"q.sql\"");
    const std::string cfg = write("app.toml", text);
    Result<AppConfig> r = load_config(cfg);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->queries[0].sql, "SELECT a\nFROM t\n");
    EXPECT_EQ(r->queries[0].sql_file, dir_ + "/q.sql");
    EXPECT_EQ(r->queries[0].sql_pos.line, 13u);
}

TEST_F(ConfigFiles, MissingSqlFileIsAnErrorAtItsKey) {
    std::string text = kMinimal;
    text.replace(text.find("sql = \"SELECT a FROM t\""), 23, "  sql_file = \"gone.sql\"");
    const std::string cfg = write("app.toml", text);
    Result<AppConfig> r = load_config(cfg);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              cfg + ":13:3: sql_file: cannot read '" + dir_ + "/gone.sql': No such file or directory");
}

TEST_F(ConfigFiles, SqlAndSqlFileTogetherAreAnError) {
    const std::string text = kMinimal + "sql_file = \"q.sql\"\n";
    EXPECT_EQ(error_of(text), "t.toml:15:1: give either sql or sql_file, not both");
}

TEST_F(ConfigFiles, MissingConfigFileIsAnError) {
    Result<AppConfig> r = load_config(dir_ + "/none.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, dir_ + "/none.toml: cannot read config: No such file or directory");
}

TEST(ConfigCheck, PlansEveryQuery) {
    Result<AppConfig> c = parse_config(kMinimal, "t.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    Result<std::vector<Plan>> plans = check_config(c.value());
    ASSERT_TRUE(plans.ok()) << plans.error().message;
    EXPECT_EQ(plans->size(), 1u);
}

TEST(ConfigCheck, SqlErrorsNameTheQueryAndTheSqlKey) {
    std::string text = kMinimal + "[[queries]]\nname = \"second\"\nsink = \"out\"\n  sql = \"\"\"\nSELECT a\nFORM t\"\"\"\n";
    Result<AppConfig> c = parse_config(text, "t.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    Result<std::vector<Plan>> plans = check_config(c.value());
    ASSERT_FALSE(plans.ok());
    EXPECT_EQ(plans.error().message, "t.toml:18:3: query 'second': line 2:1: expected FROM, found 'FORM'");
}

TEST(ConfigCheck, DeadLetterQueriesNeedADeadLetterSink) {
    std::string text = kMinimal;
    text.replace(text.find("\"SELECT a FROM t\""), 17,
                 "\"SELECT k, COUNT(*) AS n FROM t GROUP BY k WINDOW TUMBLING(ts, 1s) "
                 "WITH ('late.data.strategy' = 'dead_letter')\"");
    Result<AppConfig> c = parse_config(text, "t.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    Result<std::vector<Plan>> plans = check_config(c.value());
    ASSERT_FALSE(plans.ok());
    EXPECT_EQ(plans.error().message,
              "t.toml:11:1: query 'q': late.data.strategy = 'dead_letter' needs a dead_letter_sink");
    c = parse_config(text + "dead_letter_sink = \"out\"\n", "t.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(check_config(c.value()).ok());
}

TEST(ConfigCheck, CpusMustBeAllowed) {
    Result<AppConfig> c = parse_config("[shards]\ncpus = \"4000-4001\"\n" + kMinimal, "t.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    Result<std::vector<Plan>> plans = check_config(c.value());
    ASSERT_FALSE(plans.ok());
    EXPECT_EQ(plans.error().message.rfind("t.toml:2:8: cpus: CPUs 4000-4001 are not allowed for this process (allowed: ", 0),
              0u)
        << plans.error().message;
}

TEST(ConfigExamples, BothExampleConfigsLoad) {
    for (const char* name : {"demo.toml", "tuned-host.toml"}) {
        const std::string path = std::string(SLUICE_SOURCE_ROOT) + "/config/" + name;
        Result<AppConfig> c = load_config(path);
        ASSERT_TRUE(c.ok()) << c.error().message;
        EXPECT_FALSE(c->sources.empty()) << name;
        EXPECT_FALSE(c->sinks.empty()) << name;
        EXPECT_EQ(c->queries.size(), 2u) << name;
    }
    Result<AppConfig> demo = load_config(std::string(SLUICE_SOURCE_ROOT) + "/config/demo.toml");
    ASSERT_TRUE(demo.ok());
    EXPECT_EQ(demo->shards.count, 2u);
    EXPECT_EQ(demo->shards.idle, IdlePolicy::Adaptive);
    EXPECT_TRUE(check_config(demo.value()).ok());
    Result<AppConfig> tuned = load_config(std::string(SLUICE_SOURCE_ROOT) + "/config/tuned-host.toml");
    ASSERT_TRUE(tuned.ok());
    EXPECT_EQ(tuned->shards.idle, IdlePolicy::Busy);
    EXPECT_FALSE(tuned->shards.cpus.empty());
    EXPECT_EQ(tuned->shards.count, tuned->shards.cpus.size());
    EXPECT_EQ(tuned->sinks[0].on_full, OnFull::Block);
}

// A dpdk source and the [dpdk] table, in a build with DPDK; without it the
// source is refused at its position (the EAL never starts).
const std::string kDpdk = R"([dpdk]
eal_args = ["--no-huge", "--no-pci", "--vdev=net_pcap0,rx_pcap=/tmp/x.pcap"]
memory_mb = 512
mbufs = 4095
burst = 64
rx_descriptors = 512

[[sources]]
name = "wire"
type = "dpdk"
port = "net_pcap0"
udp_ports = [9000, 9001]
ipv4 = "10.0.0.2"
queues = 2
promiscuous = true

[[sinks]]
name = "out"
type = "stdout"

[[queries]]
name = "q"
sql = "SELECT a FROM t"
sink = "out"
)";

TEST(ConfigDpdk, EveryKeyIsRead) {
    Result<AppConfig> r = parse_config(kDpdk, "t.toml");
    if (!net::dpdk_built_in()) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message,
                  "t.toml:8:1: dpdk source 'wire': this sluice was built without DPDK (meson -Ddpdk=enabled)");
        return;
    }
    ASSERT_TRUE(r.ok()) << r.error().message;
    const AppConfig& c = r.value();
    EXPECT_TRUE(c.dpdk.present);
    EXPECT_EQ(c.dpdk.eal_args,
              (std::vector<std::string>{"--no-huge", "--no-pci", "--vdev=net_pcap0,rx_pcap=/tmp/x.pcap"}));
    EXPECT_EQ(c.dpdk.memory_mb, 512u);
    EXPECT_EQ(c.dpdk.mbufs, 4095u);
    EXPECT_EQ(c.dpdk.burst, 64u);
    EXPECT_EQ(c.dpdk.rx_descriptors, 512u);
    ASSERT_EQ(c.sources.size(), 1u);
    const SourceSpec& s = c.sources[0];
    EXPECT_EQ(s.type, SourceType::Dpdk);
    EXPECT_EQ(s.port, "net_pcap0");
    EXPECT_EQ(s.udp_ports, (std::vector<uint16_t>{9000, 9001}));
    EXPECT_EQ(s.ipv4, "10.0.0.2");
    EXPECT_EQ(s.ipv4_address, 0x0a000002u);
    EXPECT_EQ(s.queues, 2u);
    EXPECT_TRUE(s.promiscuous);
    EXPECT_TRUE(check_config(c).ok());
}

TEST(ConfigDpdk, DefaultsAndNumericPorts) {
    if (!net::dpdk_built_in()) GTEST_SKIP() << "built without DPDK";
    Result<AppConfig> r = parse_config(
        "[[sources]]\nname = \"w\"\ntype = \"dpdk\"\nport = 0\nudp_ports = [1]\n"
        "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n",
        "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->dpdk.present);
    EXPECT_EQ(r->dpdk.mbufs, 0u);  // sized for the queues
    EXPECT_EQ(r->dpdk.burst, 32u);
    EXPECT_EQ(r->dpdk.rx_descriptors, 1024u);
    EXPECT_EQ(r->sources[0].port, "0");
    EXPECT_EQ(r->sources[0].queues, 0u);
    EXPECT_FALSE(r->sources[0].promiscuous);
    EXPECT_TRUE(r->sources[0].ipv4.empty());
}

TEST(ConfigDpdk, ErrorsHaveLineAndColumn) {
    if (!net::dpdk_built_in()) GTEST_SKIP() << "built without DPDK";
    const std::string sink_and_query =
        "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n";
    EXPECT_EQ(error_of("[[sources]]\nname = \"w\"\ntype = \"dpdk\"\n" + sink_and_query),
              "t.toml:1:1: missing required key 'port' in [[sources]]\n"
              "t.toml:1:1: missing required key 'udp_ports' in [[sources]]");
    EXPECT_EQ(error_of("[[sources]]\nname = \"w\"\ntype = \"dpdk\"\nport = 0\nudp_ports = [0, 9000, 9000, \"x\"]\n"
                       "ipv4 = \"10.0.0\"\nqueues = 0\n" + sink_and_query),
              "t.toml:5:14: udp_ports: expected a port 1 .. 65535, found 0\n"
              "t.toml:5:23: udp_ports: 9000 is listed twice\n"
              "t.toml:5:29: udp_ports: expected a port 1 .. 65535, found a string\n"
              "t.toml:6:8: ipv4: malformed IPv4 address '10.0.0' (expected a.b.c.d)\n"
              "t.toml:7:10: queues: 0 is out of range (1 .. 1024)");
    EXPECT_EQ(error_of("[[sources]]\nname = \"w\"\ntype = \"dpdk\"\nport = true\nudp_ports = []\n" + sink_and_query),
              "t.toml:4:8: port: expected a DPDK port name or id, found a boolean\n"
              "t.toml:5:13: udp_ports: expected a non-empty array of UDP ports, found an empty array");
    EXPECT_EQ(error_of("[[sources]]\nname = \"a\"\ntype = \"dpdk\"\nport = \"p\"\nudp_ports = [1]\n"
                       "[[sources]]\nname = \"b\"\ntype = \"dpdk\"\nport = \"p\"\nudp_ports = [1]\n" + sink_and_query),
              "t.toml:9:8: port: port 'p' is already the port of dpdk source 'a'");
    // sluice sets the lcores itself; memory once.
    EXPECT_EQ(error_of("[dpdk]\neal_args = [\"-l\", \"0-1\", \"--lcores=0@1\", \"-S2\", \"-m\", \"64\", 3]\n"
                       "memory_mb = 64\nburst = 0\nrx_descriptors = 1000\n"
                       "[[sources]]\nname = \"w\"\ntype = \"dpdk\"\nport = 0\nudp_ports = [1]\n" + sink_and_query),
              "t.toml:2:13: eal_args: '-l': sluice sets -l itself (the EAL's main lcore is the control thread; "
              "shards, pinned by [shards] cpus, register as lcores of their own)\n"
              "t.toml:2:26: eal_args: '--lcores=0@1': sluice sets --lcores itself (the EAL's main lcore is the "
              "control thread; shards, pinned by [shards] cpus, register as lcores of their own)\n"
              "t.toml:2:42: eal_args: '-S2': sluice sets -S itself (the EAL's main lcore is the control thread; "
              "shards, pinned by [shards] cpus, register as lcores of their own)\n"
              "t.toml:2:49: eal_args: '-m' and memory_mb both set the EAL's memory; give one\n"
              "t.toml:2:61: eal_args: expected a string, found an integer\n"
              "t.toml:4:9: burst: 0 is out of range (1 .. 512)\n"
              "t.toml:5:18: rx_descriptors: 1000 is not a power of two");
}

TEST(ConfigDpdk, ExampleConfigLoads) {
    Result<AppConfig> c = load_config(std::string(SLUICE_SOURCE_ROOT) + "/config/dpdk.toml");
    if (!net::dpdk_built_in()) {
        ASSERT_FALSE(c.ok());
        EXPECT_NE(c.error().message.find("this sluice was built without DPDK (meson -Ddpdk=enabled)"),
                  std::string::npos);
        return;
    }
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->dpdk.present);
    EXPECT_TRUE(check_config(c.value()).ok());
}

// Found by fuzz_config (tests/fuzz): toml++ quotes the raw input it choked
// on, newline included, and a TOML string may hold any control character;
// either used to split one error over two lines.
TEST(ConfigErrors, ControlCharactersInMessagesAreEscaped) {
    EXPECT_EQ(error_of("[drain]\nflush_windows = t\nu[\n"),
              "t.toml:2:18: Error while parsing boolean: expected 'true', saw 't\\n'");
    EXPECT_EQ(error_with_minimal("[[sources]]\nname = \"x\"\ntype = \"u\\ndp\\u0001\"\nlisten = \"127.0.0.1:1\"\n"),
              "t.toml:3:8: type: unknown value 'u\\ndp\\x01' (expected udp, tcp, dpdk or kafka)");
}

// Found by fuzz_config (tests/fuzz): toml++ recurses once per part of a
// dotted key, without a limit; `sluice check` died of a stack overflow on an
// 80 KB file holding [a.a.a...] with 40,000 parts. Such chains are refused first.
TEST(ConfigErrors, OverlongDottedKeysAreRefusedBeforeParsing) {
    std::string header = "[a";
    for (int i = 0; i < 100000; ++i) header += ".a";
    EXPECT_EQ(error_of(header + "]\n"), "t.toml:1:2: a dotted key or table name with more than 64 parts");
    std::string key = "x = 1\n  a";
    for (int i = 0; i < 64; ++i) key += i % 2 ? ". \"q\"" : ".'b'";
    EXPECT_EQ(error_of(key + " = 1\n"), "t.toml:2:3: a dotted key or table name with more than 64 parts");
    // 64 parts are still for toml++ (and then an unknown key).
    std::string ok = "[a";
    for (int i = 1; i < 64; ++i) ok += ".a";
    const std::string unknown = error_of(ok + "]\n" + kMinimal);
    EXPECT_NE(unknown, "(loaded)");
    EXPECT_EQ(unknown.find("dotted"), std::string::npos) << unknown;
    // Dots in comments and strings (here a multi-line one holding an escaped quote) are no parts.
    std::string dots;
    for (int i = 0; i < 100; ++i) dots += "t.";
    EXPECT_EQ(error_of(kMinimal + "# " + dots + "\n"), "(loaded)");
    EXPECT_EQ(error_of("[[sources]]\nname = \"in\"\ntype = \"udp\"\nlisten = \"127.0.0.1:9000\"\n"
                       "[[sinks]]\nname = \"out\"\ntype = \"stdout\"\n"
                       "[[queries]]\nname = \"q\"\nsink = \"out\"\nsql = \"\"\"\nSELECT a FROM t -- " + dots +
                       "\\\"\"\" \n \"\"\"\n"),
              "(loaded)");
}

}  // namespace
}  // namespace sluice
