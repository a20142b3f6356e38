// run_query: plans the SQL, opens input and output, lays out the sources
// (one, or one per shard with --parallel-read), starts one pinned thread per
// shard, runs the output writer on the calling thread, and sums the counters.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <barrier>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "output_writer.h"
#include "query_shard.h"
#include "sluice/base.h"
#include "sluice/runtime.h"
#include "sluice/sql.h"
#include "topology.h"

namespace sluice {

namespace {

constexpr uint32_t kMaxShards = 256;

class Fd {
public:
    explicit Fd(int fd = -1, bool owned = true) : fd_(fd), owned_(owned) {}
    ~Fd() {
        if (owned_ && fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
    bool owned_;
};

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Result<QueryStats> run_query(const QueryOptions& options) {
    const int64_t t0 = monotonic_ns();
    if (options.shards == 0 || options.shards > kMaxShards)
        return Error{"--shards must be between 1 and " + std::to_string(kMaxShards)};
    if (!options.cpus.empty() && options.cpus.size() < options.shards)
        return Error{"--cpus lists " + std::to_string(options.cpus.size()) + " CPUs for " +
                     std::to_string(options.shards) + " shards"};

    Result<Plan> planned = plan_sql(options.sql);
    if (!planned) return planned.error();
    const Plan& plan = planned.value();

    std::unique_ptr<Topology> topology;
    if (!options.cpus.empty()) {
        Result<Topology*> t = Topology::load();
        if (!t) return t.error();
        topology.reset(t.value());
        for (uint32_t s = 0; s < options.shards; ++s)
            if (!topology->is_allowed(options.cpus[s]))
                return Error{"CPU " + std::to_string(options.cpus[s]) + " is not allowed for this process (allowed: " +
                             format_cpu_list(topology->allowed_cpus()) + ")"};
    }

    const bool from_stdin = options.input_path == "-";
    Fd in(from_stdin ? STDIN_FILENO : ::open(options.input_path.c_str(), O_RDONLY | O_CLOEXEC), !from_stdin);
    if (in.get() < 0) return Error{"cannot open input '" + options.input_path + "': " + errno_text()};
    struct stat st{};
    if (::fstat(in.get(), &st) != 0) return Error{"cannot stat input '" + options.input_path + "': " + errno_text()};
    if (S_ISDIR(st.st_mode)) return Error{"input '" + options.input_path + "' is a directory"};
    const bool parallel = options.parallel_read && options.shards > 1;
    if (parallel && !S_ISREG(st.st_mode))
        return Error{"--parallel-read needs a regular input file, not a pipe or stdin"};

    const bool to_stdout = options.output_path == "-";
    Fd out(to_stdout ? STDOUT_FILENO
                     : ::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
           !to_stdout);
    if (out.get() < 0) return Error{"cannot open output '" + options.output_path + "': " + errno_text()};

    const bool dead_letters = plan.props.late_strategy == LateStrategy::DeadLetter;
    const bool dead_to_stderr = options.dead_letter_path == "-";
    Fd dead(!dead_letters ? -1
            : dead_to_stderr
                ? STDERR_FILENO
                : ::open(options.dead_letter_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
            dead_letters && !dead_to_stderr);
    if (dead_letters && dead.get() < 0)
        return Error{"cannot open dead-letter output '" + options.dead_letter_path + "': " + errno_text()};

    const uint32_t sources = parallel ? options.shards : 1;
    std::vector<uint64_t> bounds;
    if (parallel) {
        bounds = split_at_lines(in.get(), static_cast<uint64_t>(st.st_size), sources);
    }

    Mesh mesh(options.shards);
    OutputWriter writer;
    const uint32_t rows_group = writer.add_group(plan.limit);
    const uint32_t dead_group = writer.add_group(std::nullopt);
    std::vector<OutputWriter::Port*> row_ports;
    std::vector<OutputWriter::Port*> dead_ports;
    for (uint32_t s = 0; s < options.shards; ++s) {
        row_ports.push_back(writer.add_port(out.get(), rows_group));
        if (dead_letters) dead_ports.push_back(writer.add_port(dead.get(), dead_group, OutputWriter::kSmallRingBytes));
    }
    std::barrier<> started(static_cast<std::ptrdiff_t>(options.shards));
    RunShared shared;
    shared.mesh = &mesh;
    shared.writer = &writer;
    shared.started = &started;
    shared.running.store(options.shards, std::memory_order_relaxed);

    std::vector<std::unique_ptr<QueryShard>> shards;
    for (uint32_t s = 0; s < options.shards; ++s) {
        ShardSetup setup;
        setup.plan = &plan;
        setup.id = s;
        setup.shards = options.shards;
        setup.sources = sources;
        setup.max_record_bytes = options.max_record_bytes;
        setup.idle = options.idle;
        setup.topology = topology.get();
        setup.rows = row_ports[s];
        if (dead_letters) setup.dead_letters = dead_ports[s];
        if (!options.cpus.empty()) setup.cpu = static_cast<int>(options.cpus[s]);
        if (s < sources) {
            setup.has_source = true;
            setup.source_id = static_cast<uint16_t>(s);
            setup.input_fd = in.get();
            if (parallel) {
                setup.begin = bounds[s];
                setup.end = bounds[s + 1];
            } else if (S_ISREG(st.st_mode) && !from_stdin) {
                setup.begin = 0;
                setup.end = static_cast<uint64_t>(st.st_size);
            }
        }
        shards.push_back(std::make_unique<QueryShard>(setup, shared));
    }

    std::vector<std::thread> threads;
    threads.reserve(options.shards);
    for (auto& shard : shards) threads.emplace_back([&shard] { shard->run(); });
    writer.run(shared.running);
    for (auto& t : threads) t.join();

    for (auto& shard : shards)
        if (!shard->error().empty()) return Error{shard->error()};
    if (!writer.error().empty()) return Error{writer.error()};

    QueryStats stats;
    for (auto& shard : shards) {
        stats.per_shard.push_back(shard->counters());
        add_counters(stats.totals, shard->counters());
    }
    if (plan.limit) stats.totals.rows_out = writer.rows_written(rows_group);
    stats.seconds = static_cast<double>(monotonic_ns() - t0) / 1e9;
    return stats;
}

std::string counters_json(const ShardCounters& c) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "\"records_in\":%llu,\"records_processed\":%llu,\"records_rejected\":%llu,\"late_dropped\":%llu,"
                  "\"dead_lettered\":%llu,\"overload_dropped\":%llu,\"type_mismatch\":%llu,\"rows_out\":%llu",
                  static_cast<unsigned long long>(c.records_in), static_cast<unsigned long long>(c.records_processed),
                  static_cast<unsigned long long>(c.records_rejected), static_cast<unsigned long long>(c.late_dropped),
                  static_cast<unsigned long long>(c.dead_lettered), static_cast<unsigned long long>(c.overload_dropped),
                  static_cast<unsigned long long>(c.type_mismatch), static_cast<unsigned long long>(c.rows_out));
    return buf;
}

std::string stats_json(const QueryStats& stats, uint32_t shards) {
    const double rate = stats.seconds > 0 ? static_cast<double>(stats.totals.records_in) / stats.seconds : 0.0;
    char tail[128];
    std::snprintf(tail, sizeof tail, ",\"shards\":%u,\"seconds\":%.6f,\"records_per_second\":%.0f}\n", shards,
                  stats.seconds, rate);
    std::string out = "{";
    out += counters_json(stats.totals);
    out += tail;
    return out;
}

}  // namespace sluice
