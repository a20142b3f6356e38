// End-to-end smoke tests of the load tools against `sluice run` on loopback:
// sluice-gen feeds a file sink over UDP and TCP (rows checked exactly), and
// sluice-lat measures through the appliance (UDP and TCP) and alone
// (--floor). Counts, rates and durations are small and bounded; no timing is
// asserted, only that everything sent came back.
//
// argv: [gtest flags] SLUICE SLUICE_GEN SLUICE_LAT
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "appliance.h"

namespace {

using namespace sluice::testing;

std::string g_gen, g_lat;

std::string address(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// A number field of a flat JSON object or a key=value line ("key":N or key=N); -1 if absent.
long long number_after(const std::string& text, const std::string& key) {
    for (const std::string& k : {"\"" + key + "\":", key + "="}) {
        const auto at = text.find(k);
        if (at != std::string::npos) return std::stoll(text.substr(at + k.size()));
    }
    return -1;
}

double double_after(const std::string& text, const std::string& key) {
    const auto at = text.find("\"" + key + "\":");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + key.size() + 3));
}

struct Exit {
    int code = -1;
    std::string out, err;
};

// The appliance fixture, plus running a tool to completion.
class Tools : public Appliance {
protected:
    // Runs a tool to completion (killed after 60 s).
    Exit run_tool(const std::vector<std::string>& args) {
        const std::string out = path("tool.out"), err = path("tool.err");
        Exit e;
        const pid_t pid = spawn_process(args, out, err);
        if (pid < 0) return e;
        for (int i = 0; i < 6000; ++i) {
            int status;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                e.out = read_file(out);
                e.err = read_file(err);
                return e;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        e.err = read_file(err) + "\n(killed after 60 s)";
        return e;
    }
};

std::string shards_and_idle() { return "[shards]\ncount = 2\nidle = \"adaptive\"\n"; }

std::string source(const std::string& name, const std::string& type, uint16_t port) {
    return "[[sources]]\nname = \"" + name + "\"\ntype = \"" + type + "\"\nlisten = \"" + address(port) + "\"\n";
}

std::string query(const std::string& name, const std::string& sql, const std::string& sink) {
    return "[[queries]]\nname = \"" + name + "\"\nsql = \"" + sql + "\"\nsink = \"" + sink + "\"\n";
}

TEST_F(Tools, GenFeedsTheApplianceOverUdpAndTcp) {
    const uint16_t udp = free_port(SOCK_DGRAM), tcp = free_port(SOCK_STREAM);
    const std::string config =
        shards_and_idle() + source("u", "udp", udp) + source("t", "tcp", tcp) +
        "[[sinks]]\nname = \"out\"\ntype = \"file\"\npath = \"out.ndjson\"\n"
        "[[sinks]]\nname = \"seen\"\ntype = \"file\"\npath = \"seen.ndjson\"\n" +
        query("totals", "SELECT symbol, COUNT(*) AS n, SUM(quantity) AS q FROM market_data GROUP BY symbol EMIT FINAL",
              "out") +
        // One row per record: the test sees when everything was taken.
        query("seen", "SELECT symbol FROM market_data", "seen");
    ASSERT_TRUE(start(config)) << err();

    // Records 0..1999 over UDP (paced, well below what two shards take), 2000..4999 over TCP.
    Exit gen = run_tool({g_gen, "--scenario", "s2", "--udp", address(udp), "--count", "2000", "--rate", "20000"});
    ASSERT_EQ(gen.code, 0) << gen.err;
    EXPECT_EQ(number_after(gen.err, "records"), 2000) << gen.err;
    EXPECT_EQ(number_after(gen.err, "errors"), 0) << gen.err;
    const long long udp_datagrams = number_after(gen.err, "datagrams");
    gen = run_tool({g_gen, "--scenario", "s2", "--tcp", address(tcp), "--start", "2000", "--count", "3000",
                    "--connections", "2", "--batch-bytes", "4096"});
    ASSERT_EQ(gen.code, 0) << gen.err;
    EXPECT_EQ(number_after(gen.err, "records"), 3000) << gen.err;
    ASSERT_TRUE(wait_for_lines(path("seen.ndjson"), 5000)) << err();
    ASSERT_EQ(stop(), 0) << err();

    const std::string stats = read_file(path("stats.json"));
    EXPECT_EQ(number_after(stats, "records_in"), 5000) << stats;  // of the first query
    EXPECT_EQ(number_after(stats, "records_processed"), 5000) << stats;
    EXPECT_EQ(number_after(stats, "datagrams"), udp_datagrams) << stats;
    // s2 record i: symbol SYM{i%200}, quantity i%1000.
    std::map<std::string, std::pair<long, long>> want;
    for (long i = 0; i < 5000; ++i) {
        auto& [n, q] = want["SYM" + std::to_string(i % 200)];
        ++n;
        q += i % 1000;
    }
    std::map<std::string, std::pair<long, long>> got;
    for (const std::string& row : lines_of(read_file(path("out.ndjson")))) {
        const auto at = row.find("\"symbol\":\"") + 10;
        got[row.substr(at, row.find('"', at) - at)] = {number_after(row, "n"), number_after(row, "q")};
    }
    EXPECT_EQ(got, want);
}

TEST_F(Tools, GenRefusesNonLoopbackTargets) {
    const Exit e = run_tool({g_gen, "--scenario", "s2", "--udp", "192.0.2.1:9000", "--count", "1"});
    EXPECT_EQ(e.code, 2);
    EXPECT_NE(e.err.find("--allow-remote"), std::string::npos) << e.err;
}

// sluice-lat through the appliance: `transport` in and out, one row per record.
class LatThroughSluice : public Tools, public ::testing::WithParamInterface<const char*> {};

TEST_P(LatThroughSluice, EveryRecordComesBackWithALatency) {
    const std::string transport = GetParam();
    const int type = transport == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    const uint16_t in = free_port(type), back = free_port(type);
    const std::string config =
        shards_and_idle() + source("in", transport, in) + "[[sinks]]\nname = \"back\"\ntype = \"" + transport +
        "\"\naddress = \"" + address(back) + "\"\n" +
        query("latency", "SELECT symbol, LAST(sent_ns) AS sent_ns FROM market_data GROUP BY symbol EMIT CHANGES",
              "back");
    ASSERT_TRUE(start(config)) << err();

    const Exit lat = run_tool({g_lat, "--rate", "2000", "--count", "2000", "--" + transport, address(in), "--listen",
                               transport + ":" + address(back), "--warmup", "0", "--drain-ms", "5000", "--json",
                               path("lat.json"), "--hgrm", path("lat.hgrm")});
    ASSERT_EQ(lat.code, 0) << lat.err << lat.out;
    ASSERT_EQ(stop(), 0) << err();
    const std::string json = read_file(path("lat.json"));
    EXPECT_EQ(number_after(json, "sent"), 2000) << json;
    EXPECT_EQ(number_after(json, "received"), 2000) << json;
    EXPECT_EQ(number_after(json, "lost"), 0) << json;
    EXPECT_EQ(number_after(json, "count"), 2000) << json;
    EXPECT_GT(double_after(json, "p50_ns"), 0) << json;
    EXPECT_GT(double_after(json, "p99_ns"), 0) << json;
    EXPECT_GE(double_after(json, "max_ns"), double_after(json, "p99_ns")) << json;
    EXPECT_NE(json.find("\"unmatched\":\"0\""), std::string::npos) << json;
    EXPECT_NE(lat.out.find("p99.9"), std::string::npos) << lat.out;
    EXPECT_NE(read_file(path("lat.hgrm")).find("#[Max"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Transports, LatThroughSluice, ::testing::Values("udp", "tcp"));

TEST_F(Tools, LatFloorMeasuresTheLoopbackRoundTrip) {
    const Exit lat = run_tool({g_lat, "--floor", "--rate", "2000", "--count", "1000", "--warmup", "0",
                               "--echo-poll", "block", "--json", path("floor.json")});
    ASSERT_EQ(lat.code, 0) << lat.err << lat.out;
    const std::string json = read_file(path("floor.json"));
    EXPECT_NE(json.find("\"mode\":\"floor\""), std::string::npos) << json;
    EXPECT_EQ(number_after(json, "sent"), 1000) << json;
    EXPECT_EQ(number_after(json, "received"), 1000) << json;
    EXPECT_EQ(number_after(json, "lost"), 0) << json;
    EXPECT_GT(double_after(json, "p50_ns"), 0) << json;
}

TEST_F(Tools, LatUsageErrors) {
    EXPECT_EQ(run_tool({g_lat, "--floor", "--count", "10"}).code, 2);  // no --rate
    const Exit e = run_tool({g_lat, "--rate", "10", "--count", "10", "--udp", "127.0.0.1:9"});
    EXPECT_EQ(e.code, 2);
    EXPECT_NE(e.err.find("--listen"), std::string::npos) << e.err;
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s [gtest flags] PATH_TO_SLUICE PATH_TO_SLUICE_GEN PATH_TO_SLUICE_LAT\n", argv[0]);
        return 2;
    }
    sluice_binary() = argv[1];
    g_gen = argv[2];
    g_lat = argv[3];
    ::signal(SIGPIPE, SIG_IGN);
    return RUN_ALL_TESTS();
}
