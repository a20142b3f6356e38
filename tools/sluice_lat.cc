// sluice-lat: end-to-end latency of sluice. Sends records carrying sent_ns
// (their intended send time) at a fixed rate, receives sluice's result rows,
// and reports receive time − sent_ns as percentiles. --floor measures the
// loopback UDP round trip of this machine the same way, through an echo
// thread instead of sluice.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cpu_pin.h"
#include "gen_records.h"
#include "gen_target.h"
#include "lat_echo.h"
#include "lat_receiver.h"
#include "lat_run.h"
#include "latency_report.h"
#include "tool_args.h"

namespace {

using sluice::gen::Transport;
using sluice::tools::parse_number;
using sluice::tools::parse_u64;

struct LatOptions {
    sluice::Scenario scenario = sluice::Scenario::S2;
    uint64_t seed = sluice::kDefaultGenSeed;
    uint64_t start = 0;
    std::optional<uint64_t> count;
    double duration_s = 0;
    double rate = 0;
    std::optional<Transport> transport;
    std::string target;
    std::string listen;  // "udp:HOST:PORT" or "tcp:HOST:PORT"
    bool floor = false;
    bool echo_busy = true;
    std::optional<int> cpu, echo_cpu;
    double warmup_s = 1;
    uint64_t drain_ms = 500;
    uint64_t rows_per_record = 1;
    std::optional<uint64_t> per_datagram, datagram_bytes, per_batch, batch_bytes;
    unsigned connections = 1;
    bool allow_remote = false;
    std::string hgrm, json, png, title, label;
    std::vector<std::pair<std::string, std::string>> plot_with;
};

void print_usage(std::FILE* to) {
    std::fprintf(to,
        "usage: sluice-lat --rate R (--udp HOST:PORT | --tcp HOST:PORT) --listen udp:HOST:PORT|tcp:HOST:PORT\n"
        "                  (--count N | --duration S) [options]\n"
        "       sluice-lat --floor --rate R (--count N | --duration S) [--echo-cpu N] [--echo-poll busy|block]\n"
        "                  [options]\n"
        "\n"
        "Sends records with \"sent_ns\" (CLOCK_MONOTONIC ns, the intended send time) to sluice at a fixed\n"
        "rate, receives its result rows and reports receive time - sent_ns. Rows without an integer\n"
        "sent_ns are counted as unmatched. One thread busy-polls sending and receiving (one CPU).\n"
        "\n"
        "  --rate R             records/s (suffix k, M), required\n"
        "  --udp HOST:PORT      send to sluice's UDP source (HOST: IPv4, [IPv6] or localhost)\n"
        "  --tcp HOST:PORT      send to sluice's TCP source\n"
        "  --listen udp:HOST:PORT | tcp:HOST:PORT\n"
        "                       where sluice's udp sink sends rows, or its tcp sink connects\n"
        "  --count N            records to send\n"
        "  --duration S         seconds of sending (with --count: whichever ends first)\n"
        "  --scenario NAME      data set (default s2): s0, s1, s2, s3, s3-dense, 1brc\n"
        "  --seed S, --start I  as for sluice-gen\n"
        "  --warmup S           rows sent in the first S seconds are not recorded (default 1)\n"
        "  --drain-ms MS        wait this long after the last send for trailing rows (default 500)\n"
        "  --expect-rows-per-record K\n"
        "                       rows the query emits per record (default 1): lost = sent*K - received\n"
        "  --per-datagram N     udp: records per datagram (default 1)\n"
        "  --datagram-bytes B   udp: largest datagram (default 1400)\n"
        "  --per-batch N        tcp: records per write (default 1)\n"
        "  --batch-bytes B      tcp: largest write (default 1400)\n"
        "  --connections C      tcp: connections (default 1)\n"
        "  --cpu N              pin the measuring thread to CPU N\n"
        "  --allow-remote       addresses outside 127.0.0.0/8 and ::1, host names\n"
        "\n"
        "  --floor              no sluice: an echo thread on 127.0.0.1 returns every datagram, so the\n"
        "                       latency is the loopback UDP round trip at the same sizes and rate\n"
        "  --echo-cpu N         pin the echo thread to CPU N\n"
        "  --echo-poll MODE     busy (spin on receive; default) or block\n"
        "\n"
        "Output: counts (sent, received, lost, unmatched) and p50/p90/p99/p99.9/p99.99/max in µs on stdout.\n"
        "  --hgrm FILE          HdrHistogram percentile distribution (µs)\n"
        "  --json FILE          summary as JSON\n"
        "  --png FILE           percentile plot (needs gnuplot)\n"
        "  --plot-with LABEL=FILE.hgrm\n"
        "                       another curve on the plot, e.g. a floor run (repeatable)\n"
        "  --label TEXT         this run's curve (default: the mode)\n"
        "  --title TEXT         the plot's title\n"
        "\n"
        "Exit status: 0 measured, 1 runtime error (bind, connect, CPU, an output file), 2 usage error.\n");
}

bool whole(std::string_view name, std::string_view value, uint64_t lo, uint64_t hi, uint64_t& out,
           std::string& error) {
    const auto n = parse_u64(value);
    if (!n || *n < lo || *n > hi) {
        error = std::string(name) + ": '" + std::string(value) + "' is not an integer in " + std::to_string(lo) +
                " .. " + std::to_string(hi);
        return false;
    }
    out = *n;
    return true;
}

bool check_combination(const LatOptions& o, std::string& error) {
    if (o.rate <= 0) {
        error = "--rate is required";
        return false;
    }
    if (!o.count && o.duration_s <= 0) {
        error = "give --count N or --duration S";
        return false;
    }
    if (o.floor) {
        if (o.transport || !o.listen.empty()) {
            error = "--floor runs its own echo: no --udp, --tcp or --listen";
            return false;
        }
    } else {
        if (!o.transport) {
            error = "give --udp HOST:PORT or --tcp HOST:PORT (or --floor)";
            return false;
        }
        if (o.listen.empty()) {
            error = "--listen udp:HOST:PORT or tcp:HOST:PORT is required";
            return false;
        }
        if (o.echo_cpu || !o.echo_busy) {
            error = "--echo-cpu and --echo-poll go with --floor";
            return false;
        }
    }
    const bool udp = o.floor || *o.transport == Transport::Udp;
    if (udp && (o.per_batch || o.batch_bytes || o.connections != 1)) {
        error = "--per-batch, --batch-bytes and --connections are for --tcp";
        return false;
    }
    if (!udp && (o.per_datagram || o.datagram_bytes)) {
        error = "--per-datagram and --datagram-bytes are for --udp";
        return false;
    }
    return true;
}

std::optional<LatOptions> parse_args(int argc, char** argv, std::string& error, bool& help) {
    LatOptions o;
    sluice::tools::ArgReader reader(argc, argv);
    sluice::tools::Arg arg;
    while (reader.next(arg, error, {"--help", "-h", "--floor", "--allow-remote"},
                       {"--rate", "--udp", "--tcp", "--listen", "--count", "--duration", "--scenario", "--seed",
                        "--start", "--warmup", "--drain-ms", "--expect-rows-per-record", "--per-datagram",
                        "--datagram-bytes", "--per-batch", "--batch-bytes", "--connections", "--cpu", "--echo-cpu",
                        "--echo-poll", "--hgrm", "--json", "--png", "--plot-with", "--label", "--title"})) {
        const std::string_view name = arg.name, value = arg.value;
        uint64_t n = 0;
        if (name == "--help" || name == "-h") {
            help = true;
            return std::nullopt;
        } else if (name == "--floor") {
            o.floor = true;
        } else if (name == "--allow-remote") {
            o.allow_remote = true;
        } else if (name == "--udp" || name == "--tcp") {
            if (o.transport) {
                error = "give one of --udp and --tcp, once";
                return std::nullopt;
            }
            o.transport = name == "--udp" ? Transport::Udp : Transport::Tcp;
            o.target = value;
        } else if (name == "--listen") {
            if (!value.starts_with("udp:") && !value.starts_with("tcp:")) {
                error = "--listen: '" + std::string(value) + "' is not udp:HOST:PORT or tcp:HOST:PORT";
                return std::nullopt;
            }
            o.listen = value;
        } else if (name == "--scenario") {
            const auto s = sluice::parse_scenario(value);
            if (!s) {
                error = "unknown scenario '" + std::string(value) + "' (s0, s1, s2, s3, s3-dense, 1brc)";
                return std::nullopt;
            }
            o.scenario = *s;
        } else if (name == "--rate" || name == "--duration" || name == "--warmup") {
            const auto v = parse_number(value, name == "--rate");
            if (!v || (*v <= 0 && name != "--warmup")) {
                error = std::string(name) + ": '" + std::string(value) + "' is not a " +
                        (name == "--warmup" ? "non-negative" : "positive") + " number";
                return std::nullopt;
            }
            (name == "--rate" ? o.rate : name == "--duration" ? o.duration_s : o.warmup_s) = *v;
        } else if (name == "--echo-poll") {
            if (value != "busy" && value != "block") {
                error = "--echo-poll: 'busy' or 'block', not '" + std::string(value) + "'";
                return std::nullopt;
            }
            o.echo_busy = value == "busy";
        } else if (name == "--cpu" || name == "--echo-cpu") {
            if (!whole(name, value, 0, CPU_SETSIZE - 1, n, error)) return std::nullopt;
            (name == "--cpu" ? o.cpu : o.echo_cpu) = static_cast<int>(n);
        } else if (name == "--per-datagram" || name == "--per-batch") {
            if (!whole(name, value, 1, 1 << 20, n, error)) return std::nullopt;
            (name == "--per-datagram" ? o.per_datagram : o.per_batch) = n;
        } else if (name == "--datagram-bytes") {
            if (!whole(name, value, 1, 65507, n, error)) return std::nullopt;
            o.datagram_bytes = n;
        } else if (name == "--batch-bytes") {
            if (!whole(name, value, 1, 16 << 20, n, error)) return std::nullopt;
            o.batch_bytes = n;
        } else if (name == "--connections") {
            if (!whole(name, value, 1, 1024, n, error)) return std::nullopt;
            o.connections = static_cast<unsigned>(n);
        } else if (name == "--expect-rows-per-record") {
            if (!whole(name, value, 0, 1'000'000, n, error)) return std::nullopt;
            o.rows_per_record = n;
        } else if (name == "--drain-ms") {
            if (!whole(name, value, 0, 3'600'000, n, error)) return std::nullopt;
            o.drain_ms = n;
        } else if (name == "--count" || name == "--seed" || name == "--start") {
            if (!whole(name, value, 0, UINT64_MAX, n, error)) return std::nullopt;
            if (name == "--count") o.count = n;
            else if (name == "--seed") o.seed = n;
            else o.start = n;
        } else if (name == "--plot-with") {
            const auto eq = value.find('=');
            if (eq == std::string_view::npos || eq == 0 || eq + 1 == value.size()) {
                error = "--plot-with: '" + std::string(value) + "' is not LABEL=FILE.hgrm";
                return std::nullopt;
            }
            o.plot_with.emplace_back(value.substr(0, eq), value.substr(eq + 1));
        } else {
            if (value.empty()) {
                error = std::string(name) + " needs a non-empty value";
                return std::nullopt;
            }
            (name == "--hgrm" ? o.hgrm : name == "--json" ? o.json : name == "--png" ? o.png
             : name == "--label" ? o.label : o.title) = value;
        }
    }
    if (!error.empty()) return std::nullopt;
    if (!check_combination(o, error)) return std::nullopt;
    if (o.count && *o.count > UINT64_MAX - o.start) {
        error = "--start + --count exceeds the record index range";
        return std::nullopt;
    }
    return o;
}

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

std::string format_us(int64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(ns) / 1e3);
    return buf;
}

// Writes the files asked for; returns false (after saying why) if one failed.
bool write_outputs(const LatOptions& o, const sluice::lat::LatencyHistogram& hist,
                   const sluice::lat::LatencySummary& summary) {
    bool ok = true;
    std::string hgrm = o.hgrm;
    std::string temp_hgrm;
    if (hgrm.empty() && !o.png.empty()) {
        // The plot reads .hgrm files: this run's goes to a temporary one.
        const char* tmp = std::getenv("TMPDIR");
        temp_hgrm = std::string(tmp && *tmp ? tmp : "/tmp") + "/sluice-lat-XXXXXX";
        const int fd = ::mkstemp(temp_hgrm.data());
        if (fd < 0) {
            std::fprintf(stderr, "sluice-lat: cannot create a temporary file in %s\n", tmp ? tmp : "/tmp");
            return false;
        }
        ::close(fd);
        hgrm = temp_hgrm;
    }
    if (!hgrm.empty()) {
        if (const std::string err = sluice::lat::write_percentile_distribution_file(hist, hgrm); !err.empty()) {
            std::fprintf(stderr, "sluice-lat: --hgrm %s: %s\n", hgrm.c_str(), err.c_str());
            ok = false;
        }
    }
    if (!o.json.empty()) {
        std::FILE* f = std::fopen(o.json.c_str(), "w");
        const std::string text = sluice::lat::summary_json(hist, summary) + "\n";
        if (f == nullptr || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
            std::fprintf(stderr, "sluice-lat: cannot write --json %s\n", o.json.c_str());
            ok = false;
        }
    }
    if (!o.png.empty() && ok) {
        std::vector<std::pair<std::string, std::string>> curves = {{o.label.empty() ? summary.mode : o.label, hgrm}};
        curves.insert(curves.end(), o.plot_with.begin(), o.plot_with.end());
        const std::string title = o.title.empty() ? "sluice-lat: " + summary.mode : o.title;
        if (const std::string err = sluice::lat::plot_percentiles_png(curves, o.png, title); !err.empty()) {
            std::fprintf(stderr, "sluice-lat: --png %s: %s\n", o.png.c_str(), err.c_str());
            ok = false;
        }
    }
    if (!temp_hgrm.empty()) ::unlink(temp_hgrm.c_str());
    return ok;
}

int run(const LatOptions& o) {
    std::string error;
    const sluice::gen::EndpointRules rules{.allow_remote = o.allow_remote};
    sluice::lat::LatRunOptions run;
    run.transport = o.floor ? Transport::Udp : *o.transport;
    const bool udp = run.transport == Transport::Udp;

    // Where rows come back: sluice's sink address, or any port for the echo.
    const bool listen_tcp = o.listen.starts_with("tcp:");
    const std::string listen_spec = o.floor ? "127.0.0.1:0" : o.listen.substr(4);
    const auto listen = sluice::gen::parse_endpoint(listen_spec, {.allow_remote = o.allow_remote,
                                                                   .allow_port_zero = o.floor}, error);
    if (!listen) {
        std::fprintf(stderr, "sluice-lat: --listen %s\n", error.c_str());
        return 2;
    }
    if (!o.floor) {
        const auto target = sluice::gen::parse_endpoint(o.target, rules, error);
        if (!target) {
            std::fprintf(stderr, "sluice-lat: %s\n", error.c_str());
            return 2;
        }
        run.target = *target;
    }
    if (o.cpu) {
        if (const std::string err = sluice::lat::pin_thread(::pthread_self(), *o.cpu); !err.empty()) {
            std::fprintf(stderr, "sluice-lat: --cpu: %s\n", err.c_str());
            return 1;
        }
    }
    sluice::lat::RowReceiver rows;
    if (!rows.open(listen_tcp, *listen, error)) {
        std::fprintf(stderr, "sluice-lat: %s\n", error.c_str());
        return 1;
    }
    sluice::lat::UdpEcho echo;
    if (o.floor) {
        if (!echo.start(rows.address(), o.echo_busy, o.echo_cpu, error)) {
            std::fprintf(stderr, "sluice-lat: %s\n", error.c_str());
            return 1;
        }
        run.target = echo.address();
    }

    run.start = o.start;
    run.count = o.count.value_or(UINT64_MAX);
    run.duration_s = o.duration_s;
    run.rate = o.rate;
    run.limits = {udp ? o.datagram_bytes.value_or(1400) : o.batch_bytes.value_or(1400),
                  udp ? o.per_datagram.value_or(1) : o.per_batch.value_or(1)};
    run.connections = o.connections;
    run.warmup_s = o.warmup_s;
    run.drain_ms = static_cast<int64_t>(o.drain_ms);
    run.rows_per_record = o.rows_per_record;
    run.progress = ::isatty(STDERR_FILENO) == 1;
    run.stop = &g_stop;

    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    const sluice::RecordFormatter records(o.scenario, o.seed);
    std::fprintf(stderr, "sluice-lat: %s %s -> %s %s, rows on %s %s, %.0f records/s\n",
                 o.floor ? "floor" : "sending", std::string(sluice::scenario_name(o.scenario)).c_str(),
                 udp ? "udp" : "tcp", run.target.text.c_str(), listen_tcp ? "tcp" : "udp",
                 rows.address().text.c_str(), o.rate);
    const auto result = sluice::lat::run_latency(records, run, rows);
    echo.stop();
    if (!result.ok) {
        std::fprintf(stderr, "sluice-lat: %s\n", result.error.c_str());
        return 1;
    }

    sluice::lat::LatencySummary summary;
    summary.mode = o.floor ? "floor" : udp ? "udp" : "tcp";
    summary.sent = result.sent.records;
    summary.received = result.matched;
    summary.lost = result.lost(o.rows_per_record);
    summary.rate = o.rate;
    summary.seconds = result.send_seconds;
    const uint64_t expected = result.sent.records * o.rows_per_record;
    summary.extra = {
        {"unmatched", std::to_string(result.unmatched)},
        {"surplus", std::to_string(result.matched > expected ? result.matched - expected : 0)},
        {"warmup_rows", std::to_string(result.warmup)},
        {"stale_rows", std::to_string(result.stale)},
        {"rows_per_record", std::to_string(o.rows_per_record)},
        {"send_errors", std::to_string(result.sent.errors)},
        {"max_lag_us", format_us(result.max_lag_ns)},
        {"scenario", std::string(sluice::scenario_name(o.scenario))},
        {"target", run.target.text},
        {"listen", std::string(listen_tcp ? "tcp:" : "udp:") + rows.address().text},
        {"records_per_packet", std::to_string(run.limits.max_records)},
    };
    if (o.floor) summary.extra.emplace_back("echo_poll", o.echo_busy ? "busy" : "block");
    if (rows.truncated_bytes() != 0) summary.extra.emplace_back("truncated_bytes", std::to_string(rows.truncated_bytes()));

    const std::string table = sluice::lat::format_percentile_table(result.histogram, summary);
    std::fwrite(table.data(), 1, table.size(), stdout);
    std::fflush(stdout);
    if (result.histogram.count() == 0)
        std::fprintf(stderr, "sluice-lat: no latency recorded (rows: %" PRIu64 ", warm-up: %" PRIu64 ")\n",
                     result.rows, result.warmup);
    return write_outputs(o, result.histogram, summary) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string error;
    bool help = false;
    const auto opts = parse_args(argc, argv, error, help);
    if (help) {
        print_usage(stdout);
        return 0;
    }
    if (!opts) {
        std::fprintf(stderr, "sluice-lat: %s\nTry 'sluice-lat --help'.\n", error.c_str());
        return 2;
    }
    return run(*opts);
}
