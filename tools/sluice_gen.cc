// sluice-gen: the BENCH.md data sets as NDJSON, written to a file or stdout,
// or sent over UDP or TCP (paced or as fast as possible, with a send
// timestamp per record when asked), or the UDP datagrams written as Ethernet
// frames to a pcap file (--pcap: input for a DPDK net_pcap port).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "gen_net_run.h"
#include "gen_pcap.h"
#include "gen_records.h"
#include "gen_target.h"
#include "gen_writer.h"
#include "tool_args.h"

namespace {

using sluice::RecordFormatter;
using sluice::Scenario;
using sluice::gen::Transport;
using sluice::tools::parse_number;
using sluice::tools::parse_u64;

// Two workers already overlap formatting with the kernel's copy; more only
// pays on a machine with cores to spare.
unsigned default_threads() {
    return std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
}

struct GenOptions {
    Scenario scenario = Scenario::S0;
    std::optional<uint64_t> count;
    uint64_t start = 0;
    uint64_t seed = sluice::kDefaultGenSeed;
    std::string output = "-";
    unsigned threads = default_threads();

    // Network modes.
    std::optional<Transport> transport;
    std::string target;
    bool allow_remote = false;
    double rate = 0;
    double duration_s = 0;
    bool sent_ns = false;
    std::optional<uint64_t> per_datagram;
    std::optional<uint64_t> datagram_bytes;
    std::optional<uint64_t> batch_bytes;
    std::optional<uint64_t> per_batch;
    unsigned connections = 1;

    std::string pcap;  // --pcap FILE: the datagrams as frames in a capture file
};

void print_usage(std::FILE* to) {
    std::fprintf(to,
        "usage: sluice-gen --scenario NAME --count N [--output FILE|-] [--seed S] [--start I] [--threads T]\n"
        "       sluice-gen --scenario NAME (--udp HOST:PORT | --tcp HOST:PORT) (--count N | --duration S)...\n"
        "                  [--rate R] [--sent-ns] [--per-datagram N] [--datagram-bytes B]\n"
        "                  [--connections C] [--batch-bytes B] [--per-batch N] [--allow-remote]\n"
        "                  [--seed S] [--start I]\n"
        "       sluice-gen --scenario NAME --count N --pcap FILE [--udp A.B.C.D:PORT] [--sent-ns]\n"
        "                  [--per-datagram N] [--datagram-bytes B] [--seed S] [--start I]\n"
        "\n"
        "Writes or sends records start, start+1, ... of a benchmark data set (BENCH.md) as NDJSON.\n"
        "\n"
        "  --scenario NAME     s0, s1, s2, s3, s3-dense or 1brc\n"
        "  --count N           number of records (required for file output)\n"
        "  --output FILE       output file, '-' for stdout (default)\n"
        "  --seed S            1brc only: station shuffle and temperatures (default %llu)\n"
        "  --start I           index of the first record (default 0)\n"
        "  --threads T         file output: formatting threads; the output is the same for any T (default %u)\n"
        "  --help              this text\n"
        "\n"
        "Network modes (one of --udp, --tcp; at least one of --count, --duration):\n"
        "  --udp HOST:PORT     datagrams of whole records, one per line (HOST: IPv4, [IPv6] or localhost)\n"
        "  --tcp HOST:PORT     an NDJSON stream; line-aligned batches round-robin over the connections\n"
        "  --duration S        stop after S seconds (with --count: whichever comes first)\n"
        "  --rate R            records/s (suffix k, M: 250k), paced by a busy-wait clock; one datagram\n"
        "                      or TCP batch leaves at the intended time of its first record.\n"
        "                      Default: as fast as possible\n"
        "  --sent-ns           add \"sent_ns\" (CLOCK_MONOTONIC ns) to each record: the intended send time\n"
        "                      when paced (a late sender does not hide latency), else the time of the send\n"
        "  --per-datagram N    udp: records per datagram (default: as many as fit in --datagram-bytes)\n"
        "  --datagram-bytes B  udp: largest datagram (default 1400)\n"
        "  --connections C     tcp: connections (default 1)\n"
        "  --batch-bytes B     tcp: bytes per write (default 65536; 1400 when paced)\n"
        "  --per-batch N       tcp: records per write (default: as many as fit in --batch-bytes)\n"
        "  --allow-remote      send to an address outside 127.0.0.0/8 and ::1, resolve host names\n"
        "\n"
        "Capture file (for a DPDK net_pcap port, tcpdump, Wireshark):\n"
        "  --pcap FILE         write the datagrams --udp would send as Ethernet/IPv4/UDP frames to a pcap\n"
        "                      file instead: from 10.0.0.1:40000 to --udp's IPv4 address and port (default\n"
        "                      10.0.0.2:9000; nothing is sent, any address will do), 1 us apart, no\n"
        "                      fragments (--datagram-bytes at most 1472)\n"
        "\n"
        "A progress line goes to stderr every second when it is a terminal; a summary line always.\n"
        "Send errors are counted, not fatal; a failed TCP connect is. Exit status: 0 ok, 1 runtime\n"
        "error, 2 usage error.\n"
        "\n"
        "Fields of record i:\n"
        "  s0        order_id=i, customer_id=i%%1000, order_date=\"2024-01-15\", total_amount=150.0+(i%%100)\n"
        "  s1        symbol=\"SYM{i%%10}\", price=100.0+(i%%50), timestamp=1700000000000+i*1000\n"
        "  s2        symbol=\"SYM{i%%200}\", price=100.0+(i%%100), quantity=i%%1000\n"
        "  s3        trader_id=\"T{i%%50}\", symbol=\"SYM{i%%100}\", price=100.0+(i%%50), quantity=i%%1000,\n"
        "            trade_time=1000000+i*1000\n"
        "  s3-dense  as s3 with trade_time=1000000+i\n"
        "  1brc      station (413 names, round-robin over a seeded shuffle), temperature in [-99.9, 99.9]\n",
        static_cast<unsigned long long>(sluice::kDefaultGenSeed), default_threads());
}

// Checks a whole-number option against [lo, hi].
bool in_range(std::string_view name, std::string_view value, uint64_t lo, uint64_t hi, uint64_t& out,
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

// Rules that span several options, once they are all read.
bool check_combination(const GenOptions& o, bool have_output, bool have_threads, std::string& error) {
    if (!o.pcap.empty()) {
        if (o.transport == Transport::Tcp || o.rate > 0 || o.duration_s > 0 || o.batch_bytes || o.per_batch ||
            o.connections != 1 || have_output || have_threads) {
            error = "--pcap takes --count, --udp (the address in the frames), --sent-ns, --per-datagram and "
                    "--datagram-bytes; not --tcp, --rate, --duration, --output, --threads, --connections, "
                    "--batch-bytes or --per-batch";
            return false;
        }
        if (!o.count) {
            error = "--pcap needs --count N";
            return false;
        }
        if (o.datagram_bytes && *o.datagram_bytes > sluice::gen::kMaxPcapDatagram) {
            error = "--datagram-bytes " + std::to_string(*o.datagram_bytes) + " does not fit one frame of a "
                    "1500-byte MTU with --pcap (at most " + std::to_string(sluice::gen::kMaxPcapDatagram) + ")";
            return false;
        }
        return true;
    }
    if (!o.transport) {
        const bool network_only = o.rate > 0 || o.duration_s > 0 || o.sent_ns || o.allow_remote || o.per_datagram ||
                                  o.datagram_bytes || o.batch_bytes || o.per_batch || o.connections != 1;
        if (network_only) {
            error = "--rate, --duration, --sent-ns, --per-datagram, --datagram-bytes, --batch-bytes, "
                    "--per-batch, --connections and --allow-remote need --udp or --tcp";
            return false;
        }
        if (!o.count) {
            error = "--count is required";
            return false;
        }
        return true;
    }
    if (have_output || have_threads) {
        error = "--output and --threads are for file output, not with --udp/--tcp";
        return false;
    }
    if (!o.count && o.duration_s <= 0) {
        error = "--udp and --tcp need --count N or --duration S";
        return false;
    }
    const bool udp = *o.transport == Transport::Udp;
    if (udp && (o.batch_bytes || o.per_batch || o.connections != 1)) {
        error = "--batch-bytes, --per-batch and --connections are for --tcp";
        return false;
    }
    if (!udp && (o.per_datagram || o.datagram_bytes)) {
        error = "--per-datagram and --datagram-bytes are for --udp";
        return false;
    }
    return true;
}

std::optional<GenOptions> parse_args(int argc, char** argv, std::string& error, bool& help) {
    GenOptions o;
    bool have_scenario = false, have_output = false, have_threads = false;
    sluice::tools::ArgReader reader(argc, argv);
    sluice::tools::Arg arg;
    while (reader.next(arg, error, {"--help", "-h", "--sent-ns", "--allow-remote"},
                       {"--scenario", "--count", "--output", "--seed", "--start", "--threads", "--udp", "--tcp",
                        "--rate", "--duration", "--per-datagram", "--datagram-bytes", "--connections",
                        "--batch-bytes", "--per-batch", "--pcap"})) {
        const std::string_view name = arg.name, value = arg.value;
        uint64_t n = 0;
        if (name == "--help" || name == "-h") {
            help = true;
            return std::nullopt;
        } else if (name == "--sent-ns") {
            o.sent_ns = true;
        } else if (name == "--allow-remote") {
            o.allow_remote = true;
        } else if (name == "--scenario") {
            const auto s = sluice::parse_scenario(value);
            if (!s) {
                error = "unknown scenario '" + std::string(value) + "' (s0, s1, s2, s3, s3-dense, 1brc)";
                return std::nullopt;
            }
            o.scenario = *s;
            have_scenario = true;
        } else if (name == "--output") {
            if (value.empty()) {
                error = "--output needs a file name or '-'";
                return std::nullopt;
            }
            o.output = value;
            have_output = true;
        } else if (name == "--pcap") {
            if (value.empty()) {
                error = "--pcap needs a file name";
                return std::nullopt;
            }
            o.pcap = value;
        } else if (name == "--udp" || name == "--tcp") {
            if (o.transport) {
                error = "give one of --udp and --tcp, once";
                return std::nullopt;
            }
            o.transport = name == "--udp" ? Transport::Udp : Transport::Tcp;
            o.target = value;
        } else if (name == "--rate" || name == "--duration") {
            const auto v = parse_number(value, name == "--rate");
            if (!v || *v <= 0) {
                error = std::string(name) + ": '" + std::string(value) + "' is not a positive number";
                return std::nullopt;
            }
            (name == "--rate" ? o.rate : o.duration_s) = *v;
        } else if (name == "--threads") {
            if (!in_range(name, value, 1, 256, n, error)) return std::nullopt;
            o.threads = static_cast<unsigned>(n);
            have_threads = true;
        } else if (name == "--per-datagram" || name == "--per-batch") {
            if (!in_range(name, value, 1, 16 << 20, n, error)) return std::nullopt;
            (name == "--per-datagram" ? o.per_datagram : o.per_batch) = n;
        } else if (name == "--datagram-bytes") {
            if (!in_range(name, value, 1, 65507, n, error)) return std::nullopt;
            o.datagram_bytes = n;
        } else if (name == "--batch-bytes") {
            if (!in_range(name, value, 1, 16 << 20, n, error)) return std::nullopt;
            o.batch_bytes = n;
        } else if (name == "--connections") {
            if (!in_range(name, value, 1, 1024, n, error)) return std::nullopt;
            o.connections = static_cast<unsigned>(n);
        } else {
            if (!in_range(name, value, 0, UINT64_MAX, n, error)) {
                error = std::string(name) + ": '" + std::string(value) + "' is not a non-negative integer";
                return std::nullopt;
            }
            if (name == "--count") o.count = n;
            else if (name == "--seed") o.seed = n;
            else o.start = n;
        }
    }
    if (!error.empty()) return std::nullopt;
    if (!have_scenario) {
        error = "--scenario is required";
        return std::nullopt;
    }
    if (!check_combination(o, have_output, have_threads, error)) return std::nullopt;
    if (o.count && *o.count > UINT64_MAX - o.start) {
        error = "--start + --count exceeds the record index range";
        return std::nullopt;
    }
    return o;
}

int write_file(const GenOptions& o) {
    int fd = STDOUT_FILENO;
    const bool to_stdout = o.output == "-";
    if (!to_stdout) {
        fd = ::open(o.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            std::fprintf(stderr, "sluice-gen: cannot open '%s': %s\n", o.output.c_str(), std::strerror(errno));
            return 1;
        }
    }
    const RecordFormatter formatter(o.scenario, o.seed);
    int err = sluice::write_record_blocks(fd, formatter, o.start, *o.count, o.threads);
    if (!to_stdout && ::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) {
        std::fprintf(stderr, "sluice-gen: writing '%s': %s\n", o.output.c_str(), std::strerror(err));
        return 1;
    }
    return 0;
}

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

// SIGINT/SIGTERM end the run early with its summary (no SA_RESTART: a blocked
// TCP wait returns). A second signal kills at once.
void stop_on_signals() {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

int send_network(const GenOptions& o) {
    std::string error;
    sluice::gen::NetRunOptions run;
    run.transport = *o.transport;
    const auto target = sluice::gen::parse_endpoint(o.target, {.allow_remote = o.allow_remote}, error);
    if (!target) {
        std::fprintf(stderr, "sluice-gen: %s\n", error.c_str());
        return 2;
    }
    run.target = *target;
    run.start = o.start;
    run.count = o.count.value_or(UINT64_MAX);
    run.duration_s = o.duration_s;
    run.rate = o.rate;
    run.sent_ns = o.sent_ns;
    run.limits = sluice::gen::default_limits(run.transport, o.rate > 0);
    if (o.datagram_bytes) run.limits.max_bytes = *o.datagram_bytes;
    if (o.batch_bytes) run.limits.max_bytes = *o.batch_bytes;
    if (o.per_datagram) run.limits.max_records = *o.per_datagram;
    if (o.per_batch) run.limits.max_records = *o.per_batch;
    run.connections = o.connections;
    run.progress = ::isatty(STDERR_FILENO) == 1;
    run.stop = &g_stop;

    const RecordFormatter formatter(o.scenario, o.seed);
    // One record must fit a packet on its own: a usage error, found before sending.
    const sluice::gen::PacketFormatter packets(formatter, run.limits, run.sent_ns);
    char probe[sluice::kMaxGenRecordBytes + sluice::gen::kSentNsReserve + 1];
    if (run.count != 0 && packets.fill(o.start, 1, 0, probe).records == 0) {
        std::fprintf(stderr, "sluice-gen: a record takes %zu bytes, more than --%s %zu allows\n",
                     packets.charged_bytes(o.start), run.transport == Transport::Udp ? "datagram-bytes" : "batch-bytes",
                     run.limits.max_bytes);
        return 2;
    }

    stop_on_signals();
    const auto result = sluice::gen::run_network(formatter, run);
    if (result.started) std::fprintf(stderr, "%s\n", sluice::gen::summary_line(run, result).c_str());
    if (!result.ok) {
        std::fprintf(stderr, "sluice-gen: %s\n", result.error.c_str());
        return 1;
    }
    return 0;
}

// --pcap: the datagrams of send_network's UDP mode, as frames in a file.
int write_pcap_file(const GenOptions& o) {
    std::string error;
    sluice::gen::PcapRun run;
    run.start = o.start;
    run.count = *o.count;
    run.sent_ns = o.sent_ns;
    run.limits = sluice::gen::default_limits(Transport::Udp, false);
    if (o.datagram_bytes) run.limits.max_bytes = *o.datagram_bytes;
    if (o.per_datagram) run.limits.max_records = *o.per_datagram;
    if (o.transport) {
        // Nothing is sent: any IPv4 address will do, but not a name to resolve.
        const auto target = sluice::gen::parse_endpoint(o.target, {.allow_remote = true}, error);
        if (!target || target->family() != AF_INET) {
            std::fprintf(stderr, "sluice-gen: --pcap frames are IPv4: '%s' is not an IPv4 address and port%s%s\n",
                         o.target.c_str(), error.empty() ? "" : ": ", error.c_str());
            return 2;
        }
        const auto* in = reinterpret_cast<const sockaddr_in*>(target->sa());
        run.addresses.dst_ip = ntohl(in->sin_addr.s_addr);
        run.addresses.dst_port = ntohs(in->sin_port);
    }
    const RecordFormatter formatter(o.scenario, o.seed);
    const sluice::gen::PacketFormatter packets(formatter, run.limits, run.sent_ns);
    char probe[sluice::kMaxGenRecordBytes + sluice::gen::kSentNsReserve + 1];
    if (run.count != 0 && packets.fill(o.start, 1, 0, probe).records == 0) {
        std::fprintf(stderr, "sluice-gen: a record takes %zu bytes, more than --datagram-bytes %zu allows\n",
                     packets.charged_bytes(o.start), run.limits.max_bytes);
        return 2;
    }
    const auto r = sluice::gen::write_pcap(formatter, run, o.pcap);
    if (!r.ok) {
        std::fprintf(stderr, "sluice-gen: %s\n", r.error.c_str());
        return 1;
    }
    std::fprintf(stderr, "sluice-gen: %llu records in %llu frames (%llu bytes) to %s\n",
                 static_cast<unsigned long long>(r.records), static_cast<unsigned long long>(r.frames),
                 static_cast<unsigned long long>(r.bytes), o.pcap.c_str());
    return 0;
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
        std::fprintf(stderr, "sluice-gen: %s\nTry 'sluice-gen --help'.\n", error.c_str());
        return 2;
    }
    if (!opts->pcap.empty()) return write_pcap_file(*opts);
    return opts->transport ? send_network(*opts) : write_file(*opts);
}
