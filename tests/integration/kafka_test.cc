// Kafka sources and sinks end to end, with no broker: sluice-kafka-mock
// serves librdkafka's mock cluster (the Kafka wire protocol on loopback) and
// is the producer and consumer of the tests. Every test checks rows exactly
// against `sluice query` over the same records: one appliance, two in one
// consumer group, a member leaving while they run, kill -9 and a restart
// (exactly-once and at-least-once), and broker faults.
//
// The 2.0.2 mock cluster keeps no transaction markers: a read_committed
// consumer sees the messages of aborted and open transactions too. The
// exactly-once test therefore reads the committed output itself: every row
// carries its transaction's name (header sluice.txn) and sluice logs each
// transaction it commits; rows of the others are left out.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "appliance.h"

namespace {

using sluice::testing::connect_tcp;
using sluice::testing::free_port;
using sluice::testing::lines_of;
using sluice::testing::read_file;
using sluice::testing::spawn_process;
using sluice::testing::TempDir;
using sluice::testing::wait_until;
using sluice::testing::write_file;

std::string g_sluice, g_mock;

// Runs a command to completion: its stdout ("" on failure).
std::string run(std::vector<std::string> args, const std::string& dir, int* status = nullptr) {
    const std::string out = dir + "/cmd.out", err = dir + "/cmd.err";
    const pid_t pid = spawn_process(std::move(args), out, err);
    int st = -1;
    if (pid > 0) ::waitpid(pid, &st, 0);
    if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return read_file(out);
}

// GET path from 127.0.0.1:port: the body ("" on failure).
std::string http_get(uint16_t port, const std::string& path) {
    const int fd = connect_tcp(port);
    if (fd < 0) return "";
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    sluice::testing::send_all(fd, req.data(), req.size());
    std::string resp;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto body = resp.find("\r\n\r\n");
    return body == std::string::npos ? "" : resp.substr(body + 4);
}

// The mock cluster: `serve` with its stdin on a pipe (fault commands).
class Mock {
public:
    bool start(const std::string& dir, int brokers, const std::vector<std::string>& topics) {
        dir_ = dir;
        int fds[2];
        if (::pipe(fds) != 0) return false;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
        posix_spawn_file_actions_addclose(&fa, fds[1]);
        posix_spawn_file_actions_addopen(&fa, 1, (dir + "/mock.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, (dir + "/mock.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::vector<std::string> args = {g_mock, "serve", "--brokers", std::to_string(brokers), "--bootstrap-file",
                                         dir + "/bootstrap"};
        for (const std::string& t : topics) {
            args.push_back("--topic");
            args.push_back(t);
        }
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = posix_spawn(&pid_, g_mock.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(fds[0]);
        cmd_ = fds[1];
        if (rc != 0) return false;
        if (!wait_until([&] { return !read_file(dir + "/bootstrap").empty(); })) return false;
        bootstrap_ = read_file(dir + "/bootstrap");
        while (!bootstrap_.empty() && bootstrap_.back() == '\n') bootstrap_.pop_back();
        return true;
    }
    ~Mock() {
        if (cmd_ >= 0) ::close(cmd_);
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    // A fault command (see sluice-kafka-mock --help); true once it answered ok.
    bool command(const std::string& line) {
        const std::size_t before = lines_of(read_file(dir_ + "/mock.out")).size();
        const std::string l = line + "\n";
        if (::write(cmd_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) return false;
        wait_until([&] { return lines_of(read_file(dir_ + "/mock.out")).size() > before; });
        const auto lines = lines_of(read_file(dir_ + "/mock.out"));
        return lines.size() > before && lines.back() == "ok";
    }
    const std::string& bootstrap() const { return bootstrap_; }

    std::string produce(const std::string& file, const std::string& topic, const std::string& key,
                        const std::string& extra_flag = "", const std::string& extra_value = "") {
        std::vector<std::string> a = {g_mock, "produce", "--bootstrap", bootstrap_, "--topic", topic, "--input", file,
                                      "--key", key};
        if (!extra_flag.empty()) {
            a.push_back(extra_flag);
            a.push_back(extra_value);
        }
        return run(a, dir_);
    }
    // Every message of the topic: "partition offset key headers value" lines (meta) or values.
    std::vector<std::string> consume(const std::string& topic, const std::string& format = "value") {
        return lines_of(run({g_mock, "consume", "--bootstrap", bootstrap_, "--topic", topic, "--format", format,
                             "--idle-ms", "1500"},
                            dir_));
    }
    // The group's committed offsets, summed over the partitions (-1001 counts as 0).
    long committed(const std::string& group, const std::string& topic) {
        long sum = 0;
        for (const std::string& l : lines_of(run({g_mock, "offsets", "--bootstrap", bootstrap_, "--group", group,
                                                   "--topic", topic},
                                                  dir_))) {
            const long v = std::stol(l.substr(l.rfind(' ') + 1));
            if (v > 0) sum += v;
        }
        return sum;
    }

private:
    pid_t pid_ = -1;
    int cmd_ = -1;
    std::string dir_;
    std::string bootstrap_;
};

// One `sluice run` (several can run at once, each in its own directory).
class Node {
public:
    explicit Node(std::string dir) : dir_(std::move(dir)) { std::filesystem::create_directories(dir_); }
    ~Node() { kill9(); }
    bool start(const std::string& config) {
        write_file(dir_ + "/app.toml", config);
        ++runs_;
        pid_ = spawn_process({g_sluice, "run", "--config", dir_ + "/app.toml", "--stats", dir_ + "/stats.json"},
                             dir_ + "/stdout", dir_ + "/stderr." + std::to_string(runs_));
        if (pid_ < 0) return false;
        return wait_until([&] {
            if (err().find("sluice: ready") != std::string::npos) return true;
            int st;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) pid_ = -1;
            return pid_ < 0;
        }) && pid_ > 0;
    }
    // SIGTERM: the exit status (within 60 s), -1 if it did not end.
    int stop() {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 6000; ++i) {
            int st;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }
    void kill9() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    std::string err() const { return read_file(dir_ + "/stderr." + std::to_string(runs_)); }
    std::string all_err() const {
        std::string s;
        for (int r = 1; r <= runs_; ++r) s += read_file(dir_ + "/stderr." + std::to_string(r));
        return s;
    }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    std::string stats() const { return read_file(dir_ + "/stats.json"); }

private:
    std::string dir_;
    pid_t pid_ = -1;
    int runs_ = 0;
};

// N records {"k","v","s","ts"}: keys k0..k(keys-1), ts ascending by 10 ms.
std::string records(int n, int keys, uint32_t seed, int64_t ts0 = 1'000'000) {
    std::mt19937 rng(seed);
    std::string out;
    for (int i = 0; i < n; ++i) {
        out += "{\"k\":\"k" + std::to_string(rng() % keys) + "\",\"v\":" + std::to_string(1 + rng() % 100) +
               ",\"s\":\"x" + std::to_string(rng() % 40) + "\",\"ts\":" + std::to_string(ts0 + 10 * i) + "}\n";
    }
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// What `sluice query` makes of the file: the reference.
std::vector<std::string> reference(const std::string& sql, const std::string& input, const std::string& dir) {
    return lines_of(run({g_sluice, "query", "-e", sql, "--input", input}, dir));
}

// The common part of the configs: one kafka source, one kafka sink, the
// query, and a progress query (one file line per record read).
struct Cfg {
    std::string bootstrap;
    std::string sql;
    int shards = 2;
    bool checkpoint = false;
    std::string checkpoint_dir;
    std::string name = "a";
    int interval_ms = 500;
    bool flush_windows = true;
    bool exactly_once = false;
    std::string group = "g";

    std::string text() const {
        std::string c = "[shards]\ncount = " + std::to_string(shards) + "\nidle = \"adaptive\"\n";
        c += "[drain]\nflush_windows = " + std::string(flush_windows ? "true" : "false") + "\ntimeout_ms = 20000\n";
        if (checkpoint)
            c += "[checkpoint]\ndir = \"" + checkpoint_dir + "\"\ninterval_ms = " + std::to_string(interval_ms) +
                 "\nname = \"" + name + "\"\n";
        c += "[[sources]]\nname = \"in\"\ntype = \"kafka\"\nbrokers = \"" + bootstrap + "\"\ntopics = [\"in\"]\ngroup = \"" +
             group + "\"\nproperties = { \"session.timeout.ms\" = \"6000\", \"heartbeat.interval.ms\" = \"500\" }\n";
        c += "[[sinks]]\nname = \"out\"\ntype = \"kafka\"\nbrokers = \"" + bootstrap + "\"\ntopic = \"out\"\nlinger_ms = 2\n";
        if (exactly_once) c += "exactly_once = true\n";
        c += "[[sinks]]\nname = \"seen\"\ntype = \"file\"\npath = \"seen.ndjson\"\n";
        c += "[[queries]]\nname = \"q\"\nsql = \"" + sql + "\"\nsink = \"out\"\n";
        c += "[[queries]]\nname = \"seen\"\nsql = \"SELECT _PARTITION AS p, _OFFSET AS o FROM t\"\nsink = \"seen\"\n";
        return c;
    }
};

const std::string kTotals =
    "SELECT k, COUNT(*) AS n, SUM(v) AS sv, AVG(v) AS a, MIN(s) AS mn, MAX(s) AS mx, COUNT(DISTINCT s) AS d, "
    "FIRST(v) AS f, LAST(v) AS l FROM t GROUP BY k EMIT FINAL";

// Lines of the nodes' progress files: records read (duplicates after a restart count twice).
std::size_t seen(const std::vector<const Node*>& nodes) {
    std::size_t n = 0;
    for (const Node* node : nodes) n += lines_of(read_file(node->file("seen.ndjson"))).size();
    return n;
}

// ---------------------------------------------------------------- one appliance

TEST(KafkaPipeline, ConsumeAggregateProduceExact) {
    TempDir dir("sluice-kafka");
    Mock mock;
    ASSERT_TRUE(mock.start(dir.path().string(), 1, {"in:4", "out:4"}));
    const int n = 20000;
    write_file(dir.file("in.ndjson"), records(n, 300, 1));
    ASSERT_EQ(mock.produce(dir.file("in.ndjson"), "in", "k"), std::to_string(n) + "\n");

    Node node(dir.file("a"));
    Cfg cfg;
    cfg.bootstrap = mock.bootstrap();
    cfg.sql = kTotals;
    ASSERT_TRUE(node.start(cfg.text())) << node.err();
    ASSERT_TRUE(wait_until([&] { return seen({&node}) >= static_cast<std::size_t>(n); }, std::chrono::seconds(60)))
        << node.err();
    EXPECT_EQ(node.stop(), 0) << node.err();

    const auto out = mock.consume("out", "meta");
    const auto ref = reference(kTotals, dir.file("in.ndjson"), dir.path().string());
    ASSERT_EQ(ref.size(), 300u);
    std::vector<std::string> values;
    std::map<std::string, std::set<std::string>> partitions_of_key;
    for (const std::string& l : out) {
        // partition, offset, key, headers, value
        std::vector<std::string> f;
        std::stringstream ss(l);
        for (std::string x; std::getline(ss, x, '\t');) f.push_back(x);
        ASSERT_EQ(f.size(), 5u) << l;
        values.push_back(f[4]);
        partitions_of_key[f[2]].insert(f[0]);
        EXPECT_NE(f[4].find("{\"k\":\"" + f[2] + "\","), std::string::npos) << "keyed by the group key: " << l;
    }
    EXPECT_EQ(sorted(values), sorted(ref));
    for (const auto& [k, parts] : partitions_of_key) EXPECT_EQ(parts.size(), 1u) << k;
    // Every input message was taken, copied once into the padded block and counted.
    EXPECT_NE(node.stats().find("\"messages\":" + std::to_string(n)), std::string::npos) << node.stats();
}

TEST(KafkaPipeline, MetadataColumnsAndWindowsOnMessageTime) {
    TempDir dir("sluice-kafka");
    Mock mock;
    ASSERT_TRUE(mock.start(dir.path().string(), 1, {"in:3", "out:3"}));
    const int n = 3000;
    write_file(dir.file("in.ndjson"), records(n, 20, 2));
    // Message time = the record's ts: windows over _TIMESTAMP are windows over ts.
    ASSERT_EQ(mock.produce(dir.file("in.ndjson"), "in", "k", "--timestamp", "ts"), std::to_string(n) + "\n");

    Node node(dir.file("a"));
    Cfg cfg;
    cfg.bootstrap = mock.bootstrap();
    cfg.sql = "SELECT k, _WINDOW_START AS w, COUNT(*) AS n, SUM(v) AS sv FROM t GROUP BY k "
              "WINDOW TUMBLING(_TIMESTAMP, 1s) EMIT FINAL";
    ASSERT_TRUE(node.start(cfg.text())) << node.err();
    ASSERT_TRUE(wait_until([&] { return seen({&node}) >= static_cast<std::size_t>(n); }, std::chrono::seconds(60)));
    EXPECT_EQ(node.stop(), 0) << node.err();

    // _PARTITION and _OFFSET of every record: each (partition, offset) once, offsets 0.. per partition.
    std::map<int, std::set<long>> offsets;
    for (const std::string& l : lines_of(read_file(node.file("seen.ndjson")))) {
        const int p = std::stoi(l.substr(l.find("\"p\":") + 4));
        const long o = std::stol(l.substr(l.find("\"o\":") + 4));
        EXPECT_TRUE(offsets[p].insert(o).second) << l;
    }
    std::size_t total = 0;
    for (const auto& [p, os] : offsets) {
        total += os.size();
        EXPECT_EQ(*os.rbegin() + 1, static_cast<long>(os.size())) << "partition " << p;
    }
    EXPECT_EQ(total, static_cast<std::size_t>(n));
    // Per partition the messages are in time order, so no record is late and
    // every window comes out as over the file (the drain closes the last ones).
    const auto ref = reference("SELECT k, _WINDOW_START AS w, COUNT(*) AS n, SUM(v) AS sv FROM t GROUP BY k "
                               "WINDOW TUMBLING(ts, 1s) EMIT FINAL",
                               dir.file("in.ndjson"), dir.path().string());
    EXPECT_EQ(sorted(mock.consume("out")), sorted(ref));
}

// ---------------------------------------------------------------- consumer groups

TEST(KafkaGroup, TwoAppliancesSplitThePartitions) {
    TempDir dir("sluice-kafka");
    Mock mock;
    ASSERT_TRUE(mock.start(dir.path().string(), 1, {"in:4", "out:4"}));
    Node a(dir.file("a")), b(dir.file("b"));
    Cfg cfg;
    cfg.bootstrap = mock.bootstrap();
    cfg.sql = kTotals;
    cfg.shards = 1;
    ASSERT_TRUE(a.start(cfg.text())) << a.err();
    ASSERT_TRUE(b.start(cfg.text())) << b.err();
    // Both members hold partitions before any record exists.
    const auto holds = [](const Node& n) { return n.err().find("assigned in[") != std::string::npos; };
    ASSERT_TRUE(wait_until([&] { return holds(a) && holds(b); }, std::chrono::seconds(60))) << a.err() << b.err();
    std::this_thread::sleep_for(std::chrono::seconds(1));

    const int n = 12000;
    write_file(dir.file("in.ndjson"), records(n, 200, 3));
    ASSERT_EQ(mock.produce(dir.file("in.ndjson"), "in", "k"), std::to_string(n) + "\n");
    ASSERT_TRUE(wait_until([&] { return seen({&a, &b}) >= static_cast<std::size_t>(n); }, std::chrono::seconds(60)))
        << seen({&a, &b});
    const std::size_t read_a = lines_of(read_file(a.file("seen.ndjson"))).size();
    const std::size_t read_b = lines_of(read_file(b.file("seen.ndjson"))).size();
    EXPECT_GT(read_a, 0u);
    EXPECT_GT(read_b, 0u);
    EXPECT_EQ(read_a + read_b, static_cast<std::size_t>(n));
    EXPECT_EQ(a.stop(), 0) << a.err();
    EXPECT_EQ(b.stop(), 0) << b.err();
    // Input keyed by the group key: each member has complete groups; together
    // they give what one appliance (one query over the file) gives.
    EXPECT_EQ(sorted(mock.consume("out")), sorted(reference(kTotals, dir.file("in.ndjson"), dir.path().string())));
}

TEST(KafkaGroup, AMemberLeavingWhileRunningLosesNoRecord) {
    TempDir dir("sluice-kafka");
    Mock mock;
    ASSERT_TRUE(mock.start(dir.path().string(), 1, {"in:4", "out:4"}));
    Node a(dir.file("a")), b(dir.file("b"));
    Cfg cfg;
    cfg.bootstrap = mock.bootstrap();
    cfg.sql = kTotals;
    cfg.shards = 2;
    cfg.checkpoint = true;
    cfg.checkpoint_dir = dir.file("ckpt");
    cfg.flush_windows = false;  // a member that leaves hands its state over: no rows of its own
    cfg.name = "a";
    ASSERT_TRUE(a.start(cfg.text())) << a.err();
    cfg.name = "b";
    cfg.flush_windows = true;  // the member that stays emits everything at the end
    ASSERT_TRUE(b.start(cfg.text())) << b.err();
    const auto holds = [](const Node& n) { return n.err().find("assigned in[") != std::string::npos; };
    ASSERT_TRUE(wait_until([&] { return holds(a) && holds(b); }, std::chrono::seconds(60))) << a.err() << b.err();

    // Records keep coming while a leaves.
    const std::string first = records(10000, 250, 4);
    const std::string second = records(10000, 250, 5, 5'000'000);
    write_file(dir.file("in1.ndjson"), first);
    write_file(dir.file("in2.ndjson"), second);
    write_file(dir.file("all.ndjson"), first + second);
    ASSERT_EQ(mock.produce(dir.file("in1.ndjson"), "in", "k"), "10000\n");
    ASSERT_TRUE(wait_until([&] { return seen({&a, &b}) >= 10000u; }, std::chrono::seconds(60)));
    std::thread producer([&] { mock.produce(dir.file("in2.ndjson"), "in", "k"); });
    EXPECT_EQ(a.stop(), 0) << a.err();  // revokes: checkpoint, commit, leave
    producer.join();
    // Its last cut covered everything it read: checkpointed and committed before it left.
    EXPECT_NE(a.err().find("(drain)"), std::string::npos) << a.err();
    // b takes a's partitions with their state from a's checkpoint and reads the rest.
    ASSERT_TRUE(wait_until(
        [&] { return mock.committed("g", "in") >= 20000; }, std::chrono::seconds(90)))
        << mock.committed("g", "in") << "\n" << b.err();
    EXPECT_EQ(b.stop(), 0) << b.err();
    EXPECT_EQ(sorted(mock.consume("out")), sorted(reference(kTotals, dir.file("all.ndjson"), dir.path().string())))
        << a.err() << b.err();
}

TEST(KafkaGroup, AMemberJoiningWhileRunningTakesTheStateOfItsPartitions) {
    TempDir dir("sluice-kafka");
    Mock mock;
    ASSERT_TRUE(mock.start(dir.path().string(), 1, {"in:4", "out:4"}));
    Node a(dir.file("a")), b(dir.file("b"));
    Cfg cfg;
    cfg.bootstrap = mock.bootstrap();
    cfg.sql = kTotals;
    cfg.checkpoint = true;
    cfg.checkpoint_dir = dir.file("ckpt");
    cfg.name = "a";
    ASSERT_TRUE(a.start(cfg.text())) << a.err();
    const std::string first = records(10000, 250, 9);
    const std::string second = records(10000, 250, 10, 5'000'000);
    write_file(dir.file("in1.ndjson"), first);
    write_file(dir.file("in2.ndjson"), second);
    write_file(dir.file("all.ndjson"), first + second);
    ASSERT_EQ(mock.produce(dir.file("in1.ndjson"), "in", "k"), "10000\n");
    ASSERT_TRUE(wait_until([&] { return seen({&a}) >= 10000u; }, std::chrono::seconds(60))) << a.err();
    // b joins: a gives up half of its partitions (checkpoint, commit, reload
    // of what it keeps) and b takes them with their groups.
    cfg.name = "b";
    ASSERT_TRUE(b.start(cfg.text())) << b.err();
    ASSERT_TRUE(wait_until([&] { return b.err().find("assigned in[") != std::string::npos; }, std::chrono::seconds(60)))
        << a.err() << b.err();
    // a gives up partitions (revoked: checkpointed, committed, its state
    // reloaded), or, when a commit met the rebalance, loses them (librdkafka
    // 2.0 takes that as a lost assignment): then both restore from the last
    // committed checkpoint. Either way nothing is lost or counted twice.
    EXPECT_TRUE(a.err().find("revoked") != std::string::npos || a.err().find("lost") != std::string::npos) << a.err();
    ASSERT_EQ(mock.produce(dir.file("in2.ndjson"), "in", "k"), "10000\n");
    ASSERT_TRUE(wait_until([&] { return mock.committed("g", "in") >= 20000; }, std::chrono::seconds(90)))
        << mock.committed("g", "in");
    EXPECT_EQ(a.stop(), 0) << a.err();
    EXPECT_EQ(b.stop(), 0) << b.err();
    // Each group's row comes from the member that owns its partition now, whole.
    EXPECT_EQ(sorted(mock.consume("out")), sorted(reference(kTotals, dir.file("all.ndjson"), dir.path().string())))
        << a.err() << b.err();
}

// ---------------------------------------------------------------- kill -9

// The transactions sluice committed, from its logs.
std::set<std::string> committed_transactions(const std::string& log) {
    std::set<std::string> out;
    const std::string mark = "committed transaction ";
    for (std::size_t at = log.find(mark); at != std::string::npos; at = log.find(mark, at + 1)) {
        const std::size_t from = at + mark.size();
        out.insert(log.substr(from, log.find(' ', from) - from));
    }
    return out;
}

class KafkaKill : public ::testing::TestWithParam<bool> {};

TEST_P(KafkaKill, KillNineAndRestart) {
    const bool exactly_once = GetParam();
    TempDir dir("sluice-kafka");
    Mock mock;
    ASSERT_TRUE(mock.start(dir.path().string(), 1, {"in:4", "out:4"}));
    const int first = 10000, n = 40000;
    const std::string all = records(n, 400, 6);
    const std::size_t cut = [&] {
        std::size_t at = 0;
        for (int i = 0; i < first; ++i) at = all.find('\n', at) + 1;
        return at;
    }();
    write_file(dir.file("in.ndjson"), all);
    write_file(dir.file("in1.ndjson"), all.substr(0, cut));
    write_file(dir.file("in2.ndjson"), all.substr(cut));
    ASSERT_EQ(mock.produce(dir.file("in1.ndjson"), "in", "k"), std::to_string(first) + "\n");
    // One row per record (the running totals of its group): every row is checked.
    const std::string sql = "SELECT k, COUNT(*) AS n, SUM(v) AS sv, MAX(s) AS mx, LAST(v) AS l FROM t GROUP BY k EMIT CHANGES";

    Node node(dir.file("a"));
    Cfg cfg;
    cfg.bootstrap = mock.bootstrap();
    cfg.sql = sql;
    cfg.checkpoint = true;
    cfg.checkpoint_dir = dir.file("ckpt");
    cfg.interval_ms = 200;
    cfg.flush_windows = false;
    cfg.exactly_once = exactly_once;
    ASSERT_TRUE(node.start(cfg.text())) << node.err();
    // Killed in the middle: after a checkpoint covered the first records,
    // while the rest is being read.
    ASSERT_TRUE(wait_until([&] { return mock.committed("g", "in") >= first; }, std::chrono::seconds(60))) << node.err();
    std::thread producer([&] { mock.produce(dir.file("in2.ndjson"), "in", "k"); });
    ASSERT_TRUE(wait_until([&] { return seen({&node}) >= static_cast<std::size_t>(first + 3000); },
                           std::chrono::seconds(60)));
    node.kill9();
    producer.join();
    const std::size_t read_before = seen({&node});
    EXPECT_LT(read_before, static_cast<std::size_t>(n)) << "killed too late to matter";
    ASSERT_TRUE(node.start(cfg.text())) << node.err();
    ASSERT_TRUE(wait_until([&] { return mock.committed("g", "in") >= n; }, std::chrono::seconds(90)))
        << mock.committed("g", "in") << node.err();
    EXPECT_EQ(node.stop(), 0) << node.err();
    EXPECT_NE(node.err().find("restored from 1 checkpoint"), std::string::npos) << node.err();

    const auto ref = reference(sql, dir.file("in.ndjson"), dir.path().string());
    ASSERT_EQ(ref.size(), static_cast<std::size_t>(n));
    std::vector<std::string> out;
    if (exactly_once) {
        const std::set<std::string> txns = committed_transactions(node.all_err());
        ASSERT_FALSE(txns.empty());
        std::size_t left_out = 0;
        for (const std::string& l : mock.consume("out", "meta")) {
            std::vector<std::string> f;
            std::stringstream ss(l);
            for (std::string x; std::getline(ss, x, '\t');) f.push_back(x);
            ASSERT_EQ(f.size(), 5u);
            const std::string txn = f[3].substr(f[3].find('=') + 1);
            if (txns.count(txn))
                out.push_back(f[4]);
            else
                ++left_out;
        }
        // The committed output is the uninterrupted run's, row for row; the
        // killed run's open transaction (never committed) is left out.
        EXPECT_EQ(sorted(out), sorted(ref)) << "rows of uncommitted transactions: " << left_out;
        EXPECT_GT(left_out, 0u) << "the kill should have cut a transaction short";
    } else {
        out = mock.consume("out");
        // Everything came out, and every extra row repeats a row that is in it.
        std::multiset<std::string> have(out.begin(), out.end());
        const std::set<std::string> expected(ref.begin(), ref.end());
        for (const std::string& r : ref) {
            auto it = have.find(r);
            ASSERT_NE(it, have.end()) << "missing " << r;
            have.erase(it);
        }
        for (const std::string& extra : have) EXPECT_TRUE(expected.count(extra)) << "not a duplicate: " << extra;
        // The rows after the last commit before the kill came out twice.
        EXPECT_GT(out.size(), ref.size());
    }
}

INSTANTIATE_TEST_SUITE_P(Delivery, KafkaKill, ::testing::Values(true, false),
                         [](const auto& p) { return p.param ? "ExactlyOnce" : "AtLeastOnce"; });

// ---------------------------------------------------------------- faults

TEST(KafkaFaults, BrokerFaultsAreRetriedAndCounted) {
    TempDir dir("sluice-kafka");
    Mock mock;
    ASSERT_TRUE(mock.start(dir.path().string(), 3, {"in:4", "out:4"}));
    for (int p = 0; p < 4; ++p) {
        EXPECT_TRUE(mock.command("leader in " + std::to_string(p) + " 1"));
        EXPECT_TRUE(mock.command("leader out " + std::to_string(p) + " 3"));
    }
    const int n = 8000;
    write_file(dir.file("in.ndjson"), records(n, 100, 7));
    write_file(dir.file("in2.ndjson"), records(n, 100, 8, 9'000'000));
    write_file(dir.file("all.ndjson"), read_file(dir.file("in.ndjson")) + read_file(dir.file("in2.ndjson")));
    ASSERT_EQ(mock.produce(dir.file("in.ndjson"), "in", "k"), std::to_string(n) + "\n");
    // A row per record: the producer is busy while the faults happen.
    const std::string sql = "SELECT k, COUNT(*) AS n, SUM(v) AS sv FROM t GROUP BY k EMIT CHANGES";

    const uint16_t metrics = free_port(SOCK_STREAM);
    Node node(dir.file("a"));
    Cfg cfg;
    cfg.bootstrap = mock.bootstrap();
    cfg.sql = sql;
    cfg.checkpoint = true;
    cfg.checkpoint_dir = dir.file("ckpt");
    cfg.interval_ms = 300;
    ASSERT_TRUE(node.start(cfg.text() + "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics) + "\"\n"))
        << node.err();
    ASSERT_TRUE(wait_until([&] { return seen({&node}) >= static_cast<std::size_t>(n); }, std::chrono::seconds(60)));
    // Requests fail, then the brokers leading the partitions go away for a
    // while, while records flow, rows are produced and checkpoints commit.
    // Broker 3 leads the output partitions only: its errors hit sluice's producer alone.
    EXPECT_TRUE(mock.command("broker-errors 3 Produce 4 NOT_LEADER_FOR_PARTITION"));
    EXPECT_TRUE(mock.command("errors Fetch 3 NOT_LEADER_FOR_PARTITION"));
    EXPECT_TRUE(mock.command("errors OffsetCommit 2 COORDINATOR_LOAD_IN_PROGRESS"));
    std::thread producer([&] { mock.produce(dir.file("in2.ndjson"), "in", "k"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_TRUE(mock.command("down 3"));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_TRUE(mock.command("up 3"));
    EXPECT_TRUE(mock.command("down 1"));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_TRUE(mock.command("up 1"));
    producer.join();
    ASSERT_TRUE(wait_until([&] { return mock.committed("g", "in") >= 2 * n; }, std::chrono::seconds(90)))
        << mock.committed("g", "in") << node.err();
    // The faults show in the metrics: errors and retries of both clients.
    const std::string text = http_get(metrics, "/metrics");
    EXPECT_EQ(node.stop(), 0) << node.err();
    ASSERT_FALSE(text.empty());
    const auto value = [&](const std::string& series) {
        long sum = 0;
        for (const std::string& l : lines_of(text))
            if (l.rfind(series, 0) == 0) sum += std::stol(l.substr(l.rfind(' ') + 1));
        return sum;
    };
    EXPECT_GT(value("sluice_kafka_errors_total{client=\"source\"") + value("sluice_kafka_request_retries_total{client=\"source\""),
              0)
        << text;
    EXPECT_GT(value("sluice_kafka_errors_total{client=\"sink\"") + value("sluice_kafka_request_retries_total{client=\"sink\""),
              0)
        << text;
    EXPECT_GT(value("sluice_checkpoints_total"), 0) << text;
    EXPECT_EQ(value("sluice_kafka_sink_delivery_failures_total"), 0) << text;
    // Nothing lost; a retried request may repeat rows (at-least-once), never invent one.
    const auto ref = reference(sql, dir.file("all.ndjson"), dir.path().string());
    const auto out = mock.consume("out");
    std::multiset<std::string> have(out.begin(), out.end());
    const std::set<std::string> expected(ref.begin(), ref.end());
    for (const std::string& r : ref) {
        auto it = have.find(r);
        ASSERT_NE(it, have.end()) << "missing " << r;
        have.erase(it);
    }
    for (const std::string& extra : have) EXPECT_TRUE(expected.count(extra)) << "not a duplicate: " << extra;
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s [gtest flags] PATH_TO_SLUICE PATH_TO_SLUICE_KAFKA_MOCK\n", argv[0]);
        return 2;
    }
    g_sluice = argv[1];
    g_mock = argv[2];
    ::signal(SIGPIPE, SIG_IGN);
    return RUN_ALL_TESTS();
}
