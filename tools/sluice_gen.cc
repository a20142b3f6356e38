// sluice-gen: writes the BENCH.md data sets as NDJSON to a file or stdout.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gen_records.h"
#include "gen_writer.h"

namespace {

using sluice::RecordFormatter;
using sluice::Scenario;

// Two workers already overlap formatting with the kernel's copy; more only
// pays on a machine with cores to spare.
unsigned default_threads() {
    return std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
}

struct GenOptions {
    Scenario scenario = Scenario::S0;
    uint64_t count = 0;
    uint64_t start = 0;
    uint64_t seed = sluice::kDefaultGenSeed;
    std::string output = "-";
    unsigned threads = default_threads();
};

void print_usage(std::FILE* to) {
    std::fprintf(to,
        "usage: sluice-gen --scenario NAME --count N [--output FILE|-] [--seed S] [--start I]\n"
        "                  [--threads T]\n"
        "\n"
        "Writes records start .. start+count-1 of a benchmark data set (BENCH.md) as NDJSON.\n"
        "\n"
        "  --scenario NAME  s0, s1, s2, s3, s3-dense or 1brc\n"
        "  --count N        number of records\n"
        "  --output FILE    output file, '-' for stdout (default)\n"
        "  --seed S         1brc only: station shuffle and temperatures (default %llu)\n"
        "  --start I        index of the first record (default 0)\n"
        "  --threads T      formatting threads; the output is the same for any T (default %u)\n"
        "  --help           this text\n"
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

std::optional<uint64_t> parse_u64(std::string_view text) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

// Returns the options, or an error message (the caller prints usage hints).
std::optional<GenOptions> parse_args(int argc, char** argv, std::string& error, bool& help) {
    GenOptions opts;
    bool have_scenario = false;
    bool have_count = false;
    for (int a = 1; a < argc; ++a) {
        std::string_view arg = argv[a];
        if (arg == "--help" || arg == "-h") {
            help = true;
            return std::nullopt;
        }
        std::string_view value;
        bool inline_value = false;
        if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            inline_value = true;
        }
        const bool known = arg == "--scenario" || arg == "--count" || arg == "--output" ||
                           arg == "--seed" || arg == "--start" || arg == "--threads";
        if (!known) {
            error = "unknown argument '" + std::string(argv[a]) + "'";
            return std::nullopt;
        }
        if (!inline_value) {
            if (a + 1 >= argc) {
                error = std::string(arg) + " needs a value";
                return std::nullopt;
            }
            value = argv[++a];
        }
        if (arg == "--scenario") {
            const auto s = sluice::parse_scenario(value);
            if (!s) {
                error = "unknown scenario '" + std::string(value) + "' (s0, s1, s2, s3, s3-dense, 1brc)";
                return std::nullopt;
            }
            opts.scenario = *s;
            have_scenario = true;
        } else if (arg == "--output") {
            if (value.empty()) {
                error = "--output needs a file name or '-'";
                return std::nullopt;
            }
            opts.output = value;
        } else {
            const auto n = parse_u64(value);
            if (!n) {
                error = std::string(arg) + ": '" + std::string(value) + "' is not a non-negative integer";
                return std::nullopt;
            }
            if (arg == "--count") {
                opts.count = *n;
                have_count = true;
            } else if (arg == "--threads") {
                if (*n < 1 || *n > 256) {
                    error = "--threads must be between 1 and 256";
                    return std::nullopt;
                }
                opts.threads = static_cast<unsigned>(*n);
            } else if (arg == "--seed") {
                opts.seed = *n;
            } else {
                opts.start = *n;
            }
        }
    }
    if (!have_scenario) {
        error = "--scenario is required";
        return std::nullopt;
    }
    if (!have_count) {
        error = "--count is required";
        return std::nullopt;
    }
    if (opts.count > UINT64_MAX - opts.start) {
        error = "--start + --count exceeds the record index range";
        return std::nullopt;
    }
    return opts;
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

    int fd = STDOUT_FILENO;
    const bool to_stdout = opts->output == "-";
    if (!to_stdout) {
        fd = ::open(opts->output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            std::fprintf(stderr, "sluice-gen: cannot open '%s': %s\n", opts->output.c_str(), std::strerror(errno));
            return 1;
        }
    }

    const RecordFormatter formatter(opts->scenario, opts->seed);
    int err = sluice::write_record_blocks(fd, formatter, opts->start, opts->count, opts->threads);
    if (!to_stdout && ::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) {
        std::fprintf(stderr, "sluice-gen: writing '%s': %s\n", opts->output.c_str(), std::strerror(err));
        return 1;
    }
    return 0;
}
