// End-to-end tests of the `sluice` binary: flags, exit codes, messages,
// stdin/stdout, the stats file, sharding and pinning.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../support/files.h"

extern char** environ;

namespace {

using sluice::testing::read_file;
using sluice::testing::TempDir;
using sluice::testing::write_file;

std::string g_sluice;  // path of the binary under test (argv[1])

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

class Cli : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

    std::string path(const std::string& name) const { return dir_.file(name); }

    // Runs sluice with args; stdin from `stdin_text`; captures stdout/stderr via files.
    // With `through_pipe`, stdin is a pipe instead of a regular file.
    RunResult run(std::vector<std::string> args, const std::string& stdin_text = "", bool through_pipe = false) {
        const std::string in = path("stdin"), out = path("stdout"), err = path("stderr");
        write_file(in, stdin_text);
        int pipe_fds[2] = {-1, -1};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        if (through_pipe) {
            if (pipe(pipe_fds) != 0) return {};
            posix_spawn_file_actions_adddup2(&fa, pipe_fds[0], 0);
            posix_spawn_file_actions_addclose(&fa, pipe_fds[1]);
        } else {
            posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
        }
        posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        args.insert(args.begin(), g_sluice);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid;
        RunResult r;
        if (posix_spawn(&pid, g_sluice.c_str(), &fa, nullptr, argv.data(), environ) != 0) return r;
        posix_spawn_file_actions_destroy(&fa);
        if (through_pipe) {
            close(pipe_fds[0]);
            // Small inputs only: the whole text fits the pipe buffer.
            if (write(pipe_fds[1], stdin_text.data(), stdin_text.size()) < 0) return r;
            close(pipe_fds[1]);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        r.out = read_file(out);
        r.err = read_file(err);
        return r;
    }

    TempDir dir_{"sluice-cli"};
};

std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream ss(text);
    for (std::string l; std::getline(ss, l);)
        if (!l.empty()) lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    return lines;
}

std::string trades(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        s += "{\"sym\":\"S" + std::to_string(i % 7) + "\",\"px\":" + std::to_string(100 + i % 13) +
             ".5,\"qty\":" + std::to_string(i % 5) + ",\"ts\":" + std::to_string(1000 * i) + "}\n";
    }
    return s;
}

TEST_F(Cli, HelpAndVersion) {
    RunResult h = run({"--help"});
    EXPECT_EQ(h.exit_code, 0);
    EXPECT_NE(h.out.find("sluice query"), std::string::npos);
    RunResult v = run({"--version"});
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_EQ(v.out.rfind("sluice ", 0), 0u);
    RunResult none = run({});
    EXPECT_EQ(none.exit_code, 2);
}

TEST_F(Cli, BadFlagsAreUsageErrors) {
    RunResult r = run({"query", "-e", "SELECT a FROM t", "--bogus"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
    r = run({"query", "-e", "SELECT a FROM t", "--shards", "zero"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--shards"), std::string::npos);
    r = run({"query", "--input", "x"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("needs --sql FILE or -e SQL"), std::string::npos);
    r = run({"frobnicate"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
    r = run({"query", "-e", "SELECT a FROM t", "--cpus", "3-1"});
    EXPECT_EQ(r.exit_code, 2);
}

TEST_F(Cli, BadSqlNamesLineAndColumn) {
    RunResult r = run({"query", "-e", "SELECT a\nFORM t"}, "{}\n");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("line 2:1"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST_F(Cli, MissingFilesAreClearErrors) {
    RunResult r = run({"query", "-e", "SELECT a FROM t", "--input", path("nope.ndjson")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot open input"), std::string::npos) << r.err;
    r = run({"query", "--sql", path("nope.sql"), "--input", "-"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot read SQL file"), std::string::npos) << r.err;
    r = run({"query", "-e", "SELECT a FROM t", "--output", path("no/such/dir/out")}, "{}\n");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot open output"), std::string::npos) << r.err;
}

TEST_F(Cli, StdinToStdoutStateless) {
    RunResult r = run({"query", "-e", "SELECT sym, px * qty AS notional FROM t WHERE qty > 3"}, trades(20), true);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // qty = i % 5 > 3 for i = 4, 9, 14, 19, in input order.
    EXPECT_EQ(r.out,
              "{\"sym\":\"S4\",\"notional\":418.0}\n"
              "{\"sym\":\"S2\",\"notional\":438.0}\n"
              "{\"sym\":\"S0\",\"notional\":406.0}\n"
              "{\"sym\":\"S5\",\"notional\":426.0}\n");
}

TEST_F(Cli, StatsFileCountsEverything) {
    write_file(path("in.ndjson"), trades(10) + "garbage\n\n[1]\n{\"sym\":\"S1\",\"px\":\"bad\",\"qty\":1,\"ts\":1}\n");
    RunResult r = run({"query", "-e", "SELECT sym, SUM(px) AS s FROM t GROUP BY sym EMIT FINAL", "--input",
                       path("in.ndjson"), "--output", path("out.ndjson"), "--stats", path("stats.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string stats = read_file(path("stats.json"));
    EXPECT_NE(stats.find("\"records_in\":13"), std::string::npos) << stats;
    EXPECT_NE(stats.find("\"records_rejected\":2"), std::string::npos) << stats;
    EXPECT_NE(stats.find("\"records_processed\":11"), std::string::npos) << stats;
    EXPECT_NE(stats.find("\"type_mismatch\":1"), std::string::npos) << stats;
    EXPECT_NE(stats.find("\"rows_out\":7"), std::string::npos) << stats;
    EXPECT_EQ(sorted_lines(read_file(path("out.ndjson"))).size(), 7u);
}

TEST_F(Cli, ShardCountDoesNotChangeResults) {
    write_file(path("in.ndjson"), trades(5000));
    const std::string sql =
        "SELECT sym, _WINDOW_START AS ws, COUNT(*) AS n, SUM(qty) AS q, MAX(px) AS m FROM t GROUP BY sym "
        "WINDOW TUMBLING(ts, INTERVAL '1' MINUTE)";
    RunResult one = run({"query", "-e", sql, "--input", path("in.ndjson")});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    RunResult two = run({"query", "-e", sql, "--input", path("in.ndjson"), "--shards", "2"});
    ASSERT_EQ(two.exit_code, 0) << two.err;
    RunResult par = run({"query", "-e", sql, "--input", path("in.ndjson"), "--shards", "2", "--parallel-read"});
    ASSERT_EQ(par.exit_code, 0) << par.err;
    auto a = sorted_lines(one.out);
    EXPECT_EQ(a.size(), 7u * 84u);  // 5000 s of data = 84 one-minute windows, 7 symbols each
    EXPECT_EQ(a, sorted_lines(two.out));
    EXPECT_EQ(a, sorted_lines(par.out));
}

// A pipe is polled (it can go idle); a windowed query over one gives the file's rows.
TEST_F(Cli, WindowedQueryOverAPipe) {
    const std::string sql = "SELECT sym, _WINDOW_START AS ws, COUNT(*) AS n FROM t GROUP BY sym "
                            "WINDOW TUMBLING(ts, INTERVAL '1' MINUTE) WITH ('watermark.idle_timeout' = '50ms')";
    write_file(path("in.ndjson"), trades(600));
    RunResult from_file = run({"query", "-e", sql, "--input", path("in.ndjson"), "--shards", "2"});
    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    RunResult from_pipe = run({"query", "-e", sql, "--shards", "2"}, trades(600), true);
    ASSERT_EQ(from_pipe.exit_code, 0) << from_pipe.err;
    EXPECT_EQ(sorted_lines(from_file.out).size(), 70u);  // 10 minutes, 7 symbols
    EXPECT_EQ(sorted_lines(from_pipe.out), sorted_lines(from_file.out));
}

TEST_F(Cli, DeadLetterFileHoldsLateRecordsAsTheyArrived) {
    write_file(path("in.ndjson"), "{\"k\":\"a\",\"ts\":5000}\n{\"k\":\"b\", \"ts\":100}\n{\"k\":\"a\",\"ts\":7000}\n");
    const std::string sql = "SELECT k, COUNT(*) AS n FROM t GROUP BY k WINDOW TUMBLING(ts, 1s) "
                            "WITH ('late.data.strategy' = 'dead_letter')";
    for (const char* shards : {"1", "2"}) {
        RunResult r = run({"query", "-e", sql, "--input", path("in.ndjson"), "--shards", shards, "--dead-letter",
                           path("late.ndjson"), "--stats", path("stats.json")});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(read_file(path("late.ndjson")),
                  "{\"reason\":\"late\",\"event_time\":100,\"watermark\":5000,\"record\":{\"k\":\"b\", \"ts\":100}}\n")
            << shards << " shard(s)";
        const std::string stats = read_file(path("stats.json"));
        EXPECT_NE(stats.find("\"late_dropped\":1"), std::string::npos) << stats;
        EXPECT_NE(stats.find("\"dead_lettered\":1"), std::string::npos) << stats;
        EXPECT_EQ(sorted_lines(r.out).size(), 2u);
    }
    // Without --dead-letter the rows go to stderr.
    RunResult r = run({"query", "-e", sql, "--input", path("in.ndjson")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("\"reason\":\"late\""), std::string::npos) << r.err;
}

// A record near the size limit still crosses shards when its text cannot ride along for a dead letter.
TEST_F(Cli, DeadLetterModeKeepsLargeRecords) {
    std::string in;
    const std::string pad(1048576 - 60, 'x');
    for (const char* k : {"a", "b", "c", "d"}) in += "{\"k\":\"" + std::string(k) + "\",\"ts\":5000,\"pad\":\"" + pad + "\"}\n";
    for (const char* k : {"a", "b", "c", "d"}) in += "{\"k\":\"" + std::string(k) + "\",\"ts\":100,\"pad\":\"" + pad + "\"}\n";
    write_file(path("in.ndjson"), in);
    // EMIT CHANGES routes records to their owners; EMIT FINAL combines where they are read.
    for (const char* emit : {"EMIT CHANGES", "EMIT FINAL"}) {
        RunResult r = run({"query", "-e",
                           std::string("SELECT k, COUNT(*) AS n FROM t GROUP BY k WINDOW TUMBLING(ts, 1s) ") + emit +
                               " WITH ('late.data.strategy' = 'dead_letter')",
                           "--input", path("in.ndjson"), "--shards", "2", "--dead-letter", path("late.ndjson"),
                           "--stats", path("stats.json")});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(sorted_lines(r.out).size(), 4u) << emit;
        const std::string stats = read_file(path("stats.json"));
        EXPECT_NE(stats.find("\"records_rejected\":0"), std::string::npos) << emit << stats;
        EXPECT_NE(stats.find("\"late_dropped\":4"), std::string::npos) << emit << stats;
        EXPECT_NE(stats.find("\"dead_lettered\":4"), std::string::npos) << emit << stats;
        EXPECT_EQ(sorted_lines(read_file(path("late.ndjson"))).size(), 4u) << emit;
    }
}

TEST_F(Cli, ArrivalTimeWindowsCountEveryRecord) {
    write_file(path("in.ndjson"), trades(1000));
    RunResult r = run({"query", "-e",
                       "SELECT _WINDOW_START AS ws, COUNT(*) AS n FROM t WINDOW TUMBLING(_TIMESTAMP, INTERVAL '1' HOUR)",
                       "--input", path("in.ndjson"), "--shards", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // One window, or two if the run straddles an hour.
    long total = 0;
    for (const std::string& line : sorted_lines(r.out)) {
        const auto at = line.find("\"n\":");
        ASSERT_NE(at, std::string::npos) << line;
        total += std::stol(line.substr(at + 4));
    }
    EXPECT_EQ(total, 1000);
}

TEST_F(Cli, CreateStreamAndDistinctRun) {
    write_file(path("in.ndjson"), trades(500));
    RunResult named = run({"query", "-e", "CREATE STREAM volumes AS SELECT sym, SUM(qty) AS q FROM t GROUP BY sym EMIT FINAL",
                           "--input", path("in.ndjson"), "--shards", "2"});
    ASSERT_EQ(named.exit_code, 0) << named.err;
    EXPECT_EQ(sorted_lines(named.out).size(), 7u);
    RunResult distinct = run({"query", "-e", "SELECT DISTINCT sym FROM t", "--input", path("in.ndjson"), "--shards", "2"});
    ASSERT_EQ(distinct.exit_code, 0) << distinct.err;
    EXPECT_EQ(sorted_lines(distinct.out).size(), 7u);
}

TEST_F(Cli, RowsWindowsGiveTheSameRowsOnEveryShardCount) {
    write_file(path("in.ndjson"), trades(3000));
    const std::string sql =
        "SELECT sym, ts, AVG(px) OVER (ROWS WINDOW BUFFER 10 ROWS PARTITION BY sym ORDER BY ts) AS ma, "
        "LAG(px, 2) OVER (ROWS WINDOW BUFFER 10 ROWS PARTITION BY sym ORDER BY ts) AS before FROM t";
    RunResult one = run({"query", "-e", sql, "--input", path("in.ndjson")});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    RunResult two = run({"query", "-e", sql, "--input", path("in.ndjson"), "--shards", "2"});
    ASSERT_EQ(two.exit_code, 0) << two.err;
    EXPECT_EQ(sorted_lines(one.out).size(), 3000u);
    EXPECT_EQ(sorted_lines(one.out), sorted_lines(two.out));
}

// Keys too big to cross a shard ring are rejected and counted, never fatal.
TEST_F(Cli, HugeKeysAreCountedNotFatal) {
    std::string in;
    for (int i = 0; i < 6; ++i) in += "{\"k\":\"" + std::string(1500000, static_cast<char>('a' + i)) + "\",\"v\":1}\n";
    in += trades(50);
    write_file(path("in.ndjson"), in);
    for (const char* emit : {"EMIT CHANGES", "EMIT FINAL"}) {
        RunResult r = run({"query", "-e", std::string("SELECT k, SUM(v) AS s FROM t GROUP BY k ") + emit, "--input",
                           path("in.ndjson"), "--output", path("out.ndjson"), "--shards", "2",
                           "--max-record-bytes", "4000000", "--stats", path("stats.json")});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const std::string stats = read_file(path("stats.json"));
        auto counter = [&](const std::string& name) {
            const auto at = stats.find("\"" + name + "\":");
            return at == std::string::npos ? -1L : std::stol(stats.substr(at + name.size() + 3));
        };
        EXPECT_EQ(counter("records_in"), 56) << stats;
        EXPECT_EQ(counter("records_processed") + counter("records_rejected"), 56) << stats;
        EXPECT_GT(counter("records_processed"), 50) << stats;
    }
}

TEST_F(Cli, ParallelReadNeedsARegularFile) {
    RunResult r = run({"query", "-e", "SELECT sym FROM t", "--shards", "2", "--parallel-read"}, trades(3), true);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--parallel-read needs a regular input file"), std::string::npos) << r.err;
}

TEST_F(Cli, PinningToAllowedAndForbiddenCpus) {
    RunResult ok = run({"query", "-e", "SELECT sym FROM t LIMIT 2", "--cpus", "0"}, trades(5));
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_EQ(sorted_lines(ok.out).size(), 2u);
    RunResult bad = run({"query", "-e", "SELECT sym FROM t", "--cpus", "4000"}, trades(5));
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("CPU 4000 is not allowed"), std::string::npos) << bad.err;
}

TEST_F(Cli, ExplainPrintsThePlan) {
    RunResult r = run({"explain", "-e", "SELECT sym, COUNT(*) AS n FROM t GROUP BY sym"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("sym"), std::string::npos);
    EXPECT_NE(r.out.find("shard"), std::string::npos) << r.out;
}

// `sluice check`: the example configs, and errors with FILE:LINE:COL.
std::string example(const std::string& name) { return std::string(SLUICE_SOURCE_ROOT) + "/config/" + name; }

TEST_F(Cli, CheckAcceptsTheDemoConfig) {
    RunResult r = run({"check", "--config", example("demo.toml")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    EXPECT_NE(r.out.find("shards: 2, not pinned, idle adaptive"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("source trades-udp: udp on 127.0.0.1:9000"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sink console: stdout"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("query volumes: trades-udp, trades-tcp -> console"), std::string::npos) << r.out;
}

// Its CPUs exist on a tuned host only: here it is checked as is, and again
// pinned to CPUs this process may use.
TEST_F(Cli, CheckAcceptsTheTunedHostConfig) {
    const std::string original = example("tuned-host.toml");
    std::string text = read_file(original);
    const auto at = text.find("cpus = \"2-5\"");
    ASSERT_NE(at, std::string::npos);
    const auto line = std::count(text.begin(), text.begin() + static_cast<long>(at), '\n') + 1;
    RunResult as_is = run({"check", "--config", original});
    if (as_is.exit_code != 0) {
        EXPECT_EQ(as_is.exit_code, 1);
        EXPECT_EQ(as_is.err.rfind(original + ":" + std::to_string(line) + ":8: cpus: CPUs 2-5 are not allowed", 0), 0u)
            << as_is.err;
        EXPECT_EQ(std::count(as_is.err.begin(), as_is.err.end(), '\n'), 1) << as_is.err;
    }
    cpu_set_t set;
    ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    std::string cpus;
    for (int c = 0, n = 0; c < CPU_SETSIZE && n < 4; ++c)
        if (CPU_ISSET(c, &set)) {
            cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
            ++n;
        }
    text.replace(at, 12, "cpus = \"" + cpus + "\"");
    write_file(path("tuned.toml"), text);
    RunResult r = run({"check", "--config", path("tuned.toml")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto shards = std::count(cpus.begin(), cpus.end(), ',') + 1;
    EXPECT_NE(r.out.find("shards: " + std::to_string(shards) + ", cpus "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("idle busy"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("query trader-minutes: feed-udp -> collector (late -> late)"), std::string::npos) << r.out;
}

const char* kCheckBase =
    "[shards]\n"
    "count = 1\n"
    "\n"
    "[[sources]]\n"
    "name = \"in\"\n"
    "type = \"tcp\"\n"
    "listen = \"127.0.0.1:9001\"\n"
    "\n"
    "[[sinks]]\n"
    "name = \"out\"\n"
    "type = \"stdout\"\n"
    "\n"
    "[[queries]]\n"
    "name = \"volumes\"\n"
    "sink = \"out\"\n";

TEST_F(Cli, CheckReportsAnUnknownKeyWithItsPosition) {
    std::string text = kCheckBase;
    text.replace(text.find("count = 1"), 9, "count = 1\nidel = \"busy\"");
    text += "sql = \"SELECT a FROM t\"\n";
    write_file(path("app.toml"), text);
    RunResult r = run({"check", "--config", path("app.toml")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, path("app.toml") + ":3:1: unknown key 'idel' in [shards] (known: count, cpus, idle)\n");
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(Cli, CheckReportsBadSqlWithTheQueryAndItsLine) {
    write_file(path("app.toml"), std::string(kCheckBase) + "sql = \"\"\"\nSELECT symbol, COUNT(*)\nFORM trades\"\"\"\n");
    RunResult r = run({"check", "--config", path("app.toml")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, path("app.toml") + ":16:1: query 'volumes': line 2:1: expected FROM, found 'FORM'\n");
    // The same from a file named by sql_file.
    write_file(path("q.sql"), "SELECT symbol,\n  COUNT(*) FORM trades\n");
    write_file(path("app.toml"), std::string(kCheckBase) + "sql_file = \"q.sql\"\n");
    r = run({"check", "--config", path("app.toml")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(path("app.toml") + ":16:1: query 'volumes': line 2:"), std::string::npos) << r.err;
}

TEST_F(Cli, CheckUsageErrors) {
    RunResult r = run({"check"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("check needs --config FILE"), std::string::npos) << r.err;
    r = run({"check", "--config", path("x.toml"), "--shards", "2"});
    EXPECT_EQ(r.exit_code, 2);
    r = run({"check", "--config", path("missing.toml")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot read config"), std::string::npos) << r.err;
    EXPECT_NE(run({"--help"}).out.find("sluice check --config FILE"), std::string::npos);
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: integration_cli PATH_TO_SLUICE\n");
        return 2;
    }
    g_sluice = argv[1];
    // A sluice that exits before reading its piped stdin (a usage error) must
    // not kill the test with SIGPIPE: the write just fails.
    ::signal(SIGPIPE, SIG_IGN);
    return RUN_ALL_TESTS();
}
