#include "cli.h"
#include "top.h"

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "sluice/runtime.h"
#include "sluice/sql.h"
#include "topology.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif

namespace sluice {

namespace {

constexpr const char* kUsage =
    "usage: sluice <command> [options]\n"
    "\n"
    "commands:\n"
    "  query    run one SQL query over a bounded NDJSON input to completion\n"
    "  explain  print the plan of a query: fields read, key, routing, state, emission\n"
    "  run      the appliance: receive records over UDP/TCP, run the configured queries, send rows\n"
    "  check    validate an appliance config and the SQL of its queries, without starting\n"
    "  top      watch a running appliance: rates, drops, watermark lag, latency per shard\n"
    "\n"
    "sluice query (--sql FILE | -e SQL) [--input FILE|-] [--output FILE|-] [options]\n"
    "  --sql FILE             read the query from FILE\n"
    "  -e, --execute SQL      the query text itself\n"
    "  --input FILE|-         NDJSON input (default: stdin)\n"
    "  --output FILE|-        NDJSON result rows (default: stdout)\n"
    "  --dead-letter FILE|-   late records under late.data.strategy = 'dead_letter' (default: stderr)\n"
    "  --shards N             number of shards, one thread each (default 1)\n"
    "  --cpus LIST            pin shard i to the i-th CPU of LIST (e.g. 2-5 or 2,4,6)\n"
    "  --parallel-read        split a regular input file across all shards at line boundaries\n"
    "  --stats FILE|-         write the run's counters as JSON (- = stderr)\n"
    "  --idle busy|adaptive   what idle shards do (default adaptive; busy spins, for isolated CPUs)\n"
    "  --max-record-bytes N   longest accepted record (default 1048576)\n"
    "\n"
    "sluice explain (--sql FILE | -e SQL)\n"
    "\n"
    "sluice run --config FILE [--stats FILE|-]\n"
    "  --config FILE          the TOML config (config/README.md)\n"
    "  --stats FILE|-         at exit, each query's counters as JSON (- = stderr)\n"
    "  SIGINT/SIGTERM drain (stop ingest, finish what is queued, flush sinks) and exit 0; a second one stops at once\n"
    "\n"
    "sluice check --config FILE\n"
    "  --config FILE          the TOML config (config/README.md); errors are FILE:LINE:COL: message\n"
    "\n"
    "sluice top [--url URL] [--interval SECONDS] [--count N]\n"
    "  --url URL              the appliance's metrics endpoint (default http://127.0.0.1:9180/metrics)\n"
    "  --interval SECONDS     refresh period (default 1)\n"
    "  --count N              refreshes before exiting (default: until interrupted)\n"
    "\n"
    "  -h, --help             this text\n"
    "  --version              the version\n";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "sluice: %s\n(see 'sluice --help')\n", message.c_str());
    return 2;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

bool parse_uint(const std::string& s, unsigned long long max, unsigned long long& out) {
    if (s.empty() || s.size() > 20) return false;
    unsigned long long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned long long>(c - '0');
        if (v > max) return false;
    }
    out = v;
    return true;
}

struct Args {
    std::vector<std::string> items;
    size_t i = 0;
    bool next_value(const std::string& flag, std::string& out, std::string& err) {
        if (i + 1 >= items.size()) {
            err = "option " + flag + " needs a value";
            return false;
        }
        out = items[++i];
        return true;
    }
};

int cmd_query_or_explain(const std::string& command, Args& args) {
    QueryOptions opt;
    std::string sql_file, sql_text, stats_path, err;
    bool have_sql = false;
    for (args.i = 1; args.i < args.items.size(); ++args.i) {
        const std::string& a = args.items[args.i];
        std::string v;
        auto value = [&]() { return args.next_value(a, v, err); };
        if (a == "--sql") {
            if (!value()) return usage_error(err);
            sql_file = v;
            have_sql = true;
        } else if (a == "-e" || a == "--execute") {
            if (!value()) return usage_error(err);
            sql_text = v;
            have_sql = true;
        } else if (command == "query" && a == "--input") {
            if (!value()) return usage_error(err);
            opt.input_path = v;
        } else if (command == "query" && a == "--output") {
            if (!value()) return usage_error(err);
            opt.output_path = v;
        } else if (command == "query" && a == "--dead-letter") {
            if (!value()) return usage_error(err);
            opt.dead_letter_path = v;
        } else if (command == "query" && a == "--shards") {
            unsigned long long n;
            if (!value()) return usage_error(err);
            if (!parse_uint(v, 256, n) || n == 0) return usage_error("--shards takes a number from 1 to 256, not '" + v + "'");
            opt.shards = static_cast<uint32_t>(n);
        } else if (command == "query" && a == "--cpus") {
            if (!value()) return usage_error(err);
            auto cpus = parse_cpu_list(v);
            if (!cpus) return usage_error(cpus.error().message);
            opt.cpus = cpus.value();
        } else if (command == "query" && a == "--parallel-read") {
            opt.parallel_read = true;
        } else if (command == "query" && a == "--stats") {
            if (!value()) return usage_error(err);
            stats_path = v;
        } else if (command == "query" && a == "--idle") {
            if (!value()) return usage_error(err);
            if (v == "busy")
                opt.idle = IdlePolicy::Busy;
            else if (v == "adaptive")
                opt.idle = IdlePolicy::Adaptive;
            else
                return usage_error("--idle takes busy or adaptive, not '" + v + "'");
        } else if (command == "query" && a == "--max-record-bytes") {
            unsigned long long n;
            if (!value()) return usage_error(err);
            if (!parse_uint(v, 1ull << 30, n) || n < 16) return usage_error("--max-record-bytes takes a number from 16 to 1073741824");
            opt.max_record_bytes = static_cast<std::size_t>(n);
        } else {
            return usage_error("unknown option '" + a + "' for " + command);
        }
    }
    if (!have_sql) return usage_error(command + " needs --sql FILE or -e SQL");
    if (!sql_file.empty() && !sql_text.empty()) return usage_error("give either --sql or -e, not both");
    if (!sql_file.empty()) {
        if (!read_file(sql_file, opt.sql)) {
            std::fprintf(stderr, "sluice: cannot read SQL file '%s': %s\n", sql_file.c_str(), std::strerror(errno));
            return 1;
        }
    } else {
        opt.sql = sql_text;
    }

    if (command == "explain") {
        Result<Plan> plan = plan_sql(opt.sql);
        if (!plan) {
            std::fprintf(stderr, "sluice: %s\n", plan.error().message.c_str());
            return 1;
        }
        std::fputs(explain(plan.value()).c_str(), stdout);
        return 0;
    }

    const unsigned cpus = std::thread::hardware_concurrency();
    if (opt.idle == IdlePolicy::Busy && cpus != 0 && opt.shards > cpus)
        std::fprintf(stderr, "sluice: warning: %u busy-polling shards on %u CPUs will starve each other; "
                     "use --idle adaptive\n", opt.shards, cpus);
    Result<QueryStats> stats = run_query(opt);
    if (!stats) {
        std::fprintf(stderr, "sluice: %s\n", stats.error().message.c_str());
        return 1;
    }
    if (!stats_path.empty()) {
        std::string json = stats_json(stats.value(), opt.shards);
        if (stats_path == "-") {
            std::fputs(json.c_str(), stderr);
        } else {
            std::ofstream f(stats_path, std::ios::binary | std::ios::trunc);
            if (!(f << json)) {
                std::fprintf(stderr, "sluice: cannot write stats file '%s'\n", stats_path.c_str());
                return 1;
            }
        }
    }
    return 0;
}

std::string endpoint_summary(const SinkSpec& k) {
    switch (k.type) {
        case SinkType::Stdout: return "stdout";
        case SinkType::File: return "file " + k.path;
        case SinkType::Udp: return "udp to " + k.address.text + ", datagrams up to " + std::to_string(k.datagram_bytes) + " B";
        case SinkType::Tcp:
            return "tcp to " + k.address.text + ", buffer " + std::to_string(k.buffer_bytes) + " B, on_full " +
                   name_of(k.on_full);
        case SinkType::Kafka:
            return "kafka topic " + k.topic + " on " + k.brokers + ", linger " + std::to_string(k.linger_ms) + " ms, " +
                   (k.exactly_once ? "exactly-once (transactional.id " + k.transactional_id + ")" : std::string("at-least-once"));
    }
    return "";
}

int cmd_check(Args& args) {
    std::string config_path, err;
    for (args.i = 1; args.i < args.items.size(); ++args.i) {
        const std::string& a = args.items[args.i];
        if (a == "--config") {
            if (!args.next_value(a, config_path, err)) return usage_error(err);
        } else {
            return usage_error("unknown option '" + a + "' for check");
        }
    }
    if (config_path.empty()) return usage_error("check needs --config FILE");

    Result<AppConfig> loaded = load_config(config_path);
    if (!loaded) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        return 1;
    }
    const AppConfig& cfg = loaded.value();
    Result<std::vector<Plan>> plans = check_config(cfg);
    if (!plans) {
        std::fprintf(stderr, "%s\n", plans.error().message.c_str());
        return 1;
    }

    std::string out = cfg.path + ": ok\n";
    out += "shards: " + std::to_string(cfg.shards.count) + ", " +
           (cfg.shards.cpus.empty() ? std::string("not pinned") : "cpus " + format_cpu_list(cfg.shards.cpus)) +
           ", idle " + name_of(cfg.shards.idle) + "\n";
    out += cfg.metrics.enabled ? "metrics: http://" + cfg.metrics.listen.text + "/metrics and /health\n"
                               : std::string("metrics: off\n");
    for (const SourceSpec& s : cfg.sources) {
        if (s.type == SourceType::Dpdk) {
            std::string ports;
            for (const uint16_t p : s.udp_ports) {
                if (!ports.empty()) ports += ',';
                ports += std::to_string(p);
            }
            out += "source " + s.name + ": dpdk port " + s.port + ", udp ports " + ports +
                   (s.ipv4.empty() ? std::string() : " to " + s.ipv4) + "\n";
            continue;
        }
        if (s.type == SourceType::Kafka) {
            std::string topics;
            for (const std::string& t : s.topics) topics += (topics.empty() ? "" : ", ") + t;
            out += "source " + s.name + ": kafka topics " + topics + " on " + s.brokers + ", group " + s.group + "\n";
            continue;
        }
        out += "source " + s.name + ": " + name_of(s.type) + " on " + s.listen.text +
               (s.type == SourceType::Tcp ? ", up to " + std::to_string(s.max_connections) + " connections" : "") + "\n";
    }
    for (const SinkSpec& k : cfg.sinks) out += "sink " + k.name + ": " + endpoint_summary(k) + "\n";
    if (cfg.checkpoint.enabled)
        out += "checkpoint: every " + std::to_string(cfg.checkpoint.interval_ms) + " ms into " + cfg.checkpoint.dir +
               " as " + cfg.checkpoint.name + "\n";
    for (size_t i = 0; i < cfg.queries.size(); ++i) {
        const QuerySpec& q = cfg.queries[i];
        const Plan& p = plans.value()[i];
        std::string sources;
        for (const std::string& s : q.sources) sources += (sources.empty() ? "" : ", ") + s;
        out += "query " + q.name + ": " + sources + " -> " + q.sink +
               (q.dead_letter_sink.empty() ? "" : " (late -> " + q.dead_letter_sink + ")") + ", " +
               (p.is_aggregate() ? (p.emit == EmitMode::Final ? "EMIT FINAL" : "EMIT CHANGES") : "stateless") + "\n";
    }
    std::fputs(out.c_str(), stdout);
    return 0;
}

int cmd_run(Args& args) {
    std::string config_path, stats_path, err;
    for (args.i = 1; args.i < args.items.size(); ++args.i) {
        const std::string& a = args.items[args.i];
        if (a == "--config") {
            if (!args.next_value(a, config_path, err)) return usage_error(err);
        } else if (a == "--stats") {
            if (!args.next_value(a, stats_path, err)) return usage_error(err);
        } else {
            return usage_error("unknown option '" + a + "' for run");
        }
    }
    if (config_path.empty()) return usage_error("run needs --config FILE");
    return run_appliance(config_path, stats_path);
}

int cmd_top(Args& args) {
    TopOptions o;
    std::string v, err;
    for (args.i = 1; args.i < args.items.size(); ++args.i) {
        const std::string& a = args.items[args.i];
        if (a == "--url") {
            if (!args.next_value(a, o.url, err)) return usage_error(err);
        } else if (a == "--interval") {
            if (!args.next_value(a, v, err)) return usage_error(err);
            char* end = nullptr;
            o.interval_s = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || !(o.interval_s >= 0.05 && o.interval_s <= 3600))
                return usage_error("--interval takes seconds from 0.05 to 3600, not '" + v + "'");
        } else if (a == "--count") {
            unsigned long long n = 0;
            if (!args.next_value(a, v, err)) return usage_error(err);
            if (!parse_uint(v, 1ull << 40, n)) return usage_error("--count takes a number, not '" + v + "'");
            o.count = n;
        } else {
            return usage_error("unknown option '" + a + "' for top");
        }
    }
    return run_top(o);
}

}  // namespace

int run_cli(int argc, char** argv) {
    // A closed output pipe is an error we report, not a signal that kills us.
    ::signal(SIGPIPE, SIG_IGN);
    Args args;
    for (int k = 1; k < argc; ++k) args.items.emplace_back(argv[k]);
    if (args.items.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const std::string& command = args.items[0];
    if (command == "-h" || command == "--help" || command == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (command == "--version" || command == "version") {
        std::printf("sluice %s\n", SLUICE_VERSION);
        return 0;
    }
    if (command == "query" || command == "explain") {
        for (const auto& a : args.items)
            if (a == "-h" || a == "--help") {
                std::fputs(kUsage, stdout);
                return 0;
            }
        return cmd_query_or_explain(command, args);
    }
    if (command == "top") {
        for (const auto& a : args.items)
            if (a == "-h" || a == "--help") {
                std::fputs(kUsage, stdout);
                return 0;
            }
        return cmd_top(args);
    }
    if (command == "run" || command == "check") {
        for (const auto& a : args.items)
            if (a == "-h" || a == "--help") {
                std::fputs(kUsage, stdout);
                return 0;
            }
        return command == "run" ? cmd_run(args) : cmd_check(args);
    }
    return usage_error("unknown command '" + command + "'");
}

}  // namespace sluice
