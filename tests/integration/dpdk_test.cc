// Kernel-bypass ingest end to end, without a NIC or hugepages: `sluice run`
// with dpdk sources on virtual devices (--no-huge, --no-pci).
//
//   net_pcap   sluice-gen --pcap writes the datagrams --udp would send; the
//              rows of `sluice run` reading them equal those of `sluice
//              query` over the same records (1 shard, and 2 shards on a
//              2-queue port); malformed frames are counted by reason and do
//              not disturb the valid ones.
//   af_packet  a veth pair, one end in a network namespace the test makes,
//              sluice-gen sending UDP from there; skipped with the reason
//              when namespaces cannot be made (not root, no iproute2).
//
// Built only with DPDK (tests/integration/meson.build). Arguments:
// [gtest flags] SLUICE SLUICE_GEN.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>

#include "appliance.h"
#include "gen_pcap.h"

namespace sluice::testing {
namespace {

std::string g_gen;  // the sluice-gen binary

// argv[0] found on PATH when it has no slash; stdout and stderr to files.
// The exit status, or -1 when it could not start.
int run_program(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// GET path from 127.0.0.1:port; the body, or "" on failure.
std::string http_get(uint16_t port, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return "";
    }
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    send_all(fd, req.data(), req.size());
    std::string resp;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto body = resp.find("\r\n\r\n");
    return body == std::string::npos ? "" : resp.substr(body + 4);
}

// The sum of "records_in" over /health's queries (-1 when unreachable).
long records_in(uint16_t metrics_port) {
    const std::string h = http_get(metrics_port, "/health");
    if (h.empty()) return -1;
    long sum = 0;
    for (std::size_t at = 0; (at = h.find("\"records_in\":", at)) != std::string::npos; at += 13)
        sum += std::stol(h.substr(at + 13));
    return sum;
}

std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> v = lines_of(text);
    std::sort(v.begin(), v.end());
    return v;
}

// S2 of BENCH.md, emitted once at the end: the same rows whatever the batching.
const std::string kSql =
    "SELECT symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, MIN(price) AS min_price, "
    "MAX(price) AS max_price, SUM(quantity) AS total_quantity FROM market_data GROUP BY symbol EMIT FINAL";

// EAL arguments for a test: no hugepages, no PCI scan, little memory.
std::string eal_args(const std::vector<std::string>& vdevs) {
    std::string a = "[\"--no-huge\", \"-m\", \"256\", \"--no-pci\"";
    for (const std::string& v : vdevs) a += ", \"--vdev=" + v + "\"";
    return a + "]";
}

class Dpdk : public Appliance {
protected:
    // sluice-gen ARGS; true when it exited 0.
    bool gen(std::vector<std::string> args) {
        args.insert(args.begin(), g_gen);
        const int rc = run_program(args, path("gen.out"), path("gen.err"));
        EXPECT_EQ(rc, 0) << read_file(path("gen.err"));
        return rc == 0;
    }

    // The rows `sluice query` makes of an NDJSON file.
    std::vector<std::string> query_rows(const std::string& ndjson) {
        const int rc = run_program({sluice_binary(), "query", "-e", kSql, "--input", ndjson, "--output", path("q.out")},
                                   path("q.stdout"), path("q.err"));
        EXPECT_EQ(rc, 0) << read_file(path("q.err"));
        return sorted_lines(read_file(path("q.out")));
    }

    // The appliance config: a dpdk source on `port`, rows to rows.ndjson, metrics on a free port.
    std::string config(uint32_t shards, const std::string& eal, const std::string& port,
                       const std::string& extra_source_keys = "") {
        metrics_port_ = free_port(SOCK_STREAM);
        return "[shards]\ncount = " + std::to_string(shards) + "\nidle = \"adaptive\"\n\n[dpdk]\neal_args = " + eal +
               "\n\n[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics_port_) +
               "\"\n\n[log]\nsummary_interval_s = 0\n\n[[sources]]\nname = \"wire\"\ntype = \"dpdk\"\nport = \"" + port +
               "\"\nudp_ports = [9000]\n" + extra_source_keys + "\n[[sinks]]\nname = \"rows\"\ntype = \"file\"\npath = \"" +
               path("rows.ndjson") + "\"\n\n[[queries]]\nname = \"s2\"\nsql = \"" + kSql + "\"\nsink = \"rows\"\n";
    }

    // Waits until the queries took `n` records in (up to `limit`).
    bool wait_records(long n, std::chrono::milliseconds limit = std::chrono::milliseconds(30000)) {
        return wait_until([&] { return records_in(metrics_port_) >= n; }, limit);
    }

    // A source's counter in the --stats JSON.
    long source_counter(const std::string& name) {
        const std::string s = stats();
        return counter(s, name, named(s, "wire"));
    }

    uint16_t metrics_port_ = 0;
};

TEST_F(Dpdk, PcapRowsEqualThoseOfSluiceQuery) {
    constexpr long kRecords = 30000;
    ASSERT_TRUE(gen({"--scenario", "s2", "--count", std::to_string(kRecords), "--output", path("in.ndjson")}));
    ASSERT_TRUE(gen({"--scenario", "s2", "--count", std::to_string(kRecords), "--pcap", path("in.pcap")}));
    const auto expected = query_rows(path("in.ndjson"));
    ASSERT_EQ(expected.size(), 200u);

    ASSERT_TRUE(start(config(1, eal_args({"net_pcap0,rx_pcap=" + path("in.pcap")}), "net_pcap0"))) << err();
    ASSERT_TRUE(wait_records(kRecords)) << records_in(metrics_port_) << " records in\n" << err();
    ASSERT_EQ(stop(), 0) << err();
    EXPECT_EQ(sorted_lines(read_file(path("rows.ndjson"))), expected);
    const std::string s = stats();
    EXPECT_EQ(counter(s, "records_in", named(s, "s2")), kRecords) << s;
    EXPECT_EQ(counter(s, "records_rejected", named(s, "s2")), 0) << s;
    const long frames = source_counter("frames");
    EXPECT_GT(frames, kRecords / 40) << s;  // ~29 S2 records per 1400-byte datagram
    EXPECT_EQ(source_counter("datagrams"), frames) << s;
    EXPECT_EQ(source_counter("packets"), frames) << s;  // the port's own count (rte_eth_stats)
    EXPECT_EQ(source_counter("missed"), 0) << s;
    for (const char* reason : {"short", "not_ipv4", "bad_checksum", "fragment", "not_udp", "wrong_address",
                               "wrong_port", "bad_length", "copied_for_padding"})
        EXPECT_EQ(source_counter(reason), 0) << reason << "\n" << s;
    EXPECT_NE(err().find("dpdk: source 'wire' on port net_pcap0"), std::string::npos) << err();
}

TEST_F(Dpdk, TwoShardsPollTheirOwnQueue) {
    // Two capture files make a two-queue port: each shard polls one, records
    // of other shards' keys cross the rings.
    constexpr long kHalf = 20000;
    ASSERT_TRUE(gen({"--scenario", "s2", "--count", std::to_string(2 * kHalf), "--output", path("in.ndjson")}));
    ASSERT_TRUE(gen({"--scenario", "s2", "--count", std::to_string(kHalf), "--pcap", path("a.pcap")}));
    ASSERT_TRUE(gen({"--scenario", "s2", "--start", std::to_string(kHalf), "--count", std::to_string(kHalf), "--pcap",
                     path("b.pcap")}));
    const auto expected = query_rows(path("in.ndjson"));

    ASSERT_TRUE(start(config(2, eal_args({"net_pcap0,rx_pcap=" + path("a.pcap") + ",rx_pcap=" + path("b.pcap")}),
                             "net_pcap0")))
        << err();
    ASSERT_TRUE(wait_records(2 * kHalf)) << records_in(metrics_port_) << " records in\n" << err();
    ASSERT_EQ(stop(), 0) << err();
    EXPECT_EQ(sorted_lines(read_file(path("rows.ndjson"))), expected);
    EXPECT_NE(err().find("2 RX queue(s)"), std::string::npos) << err();
    EXPECT_NE(err().find("shard 0 (not pinned): io_uring"), std::string::npos);
    EXPECT_NE(err().find("dpdk net_pcap0 queue 1"), std::string::npos) << err();
}

TEST_F(Dpdk, StartupErrorsSayWhatIsWrong) {
    ASSERT_TRUE(gen({"--scenario", "s2", "--count", "10", "--pcap", path("in.pcap")}));
    // A port the EAL does not have: the ports it has are listed.
    EXPECT_FALSE(start(config(1, eal_args({"net_pcap0,rx_pcap=" + path("in.pcap")}), "net_pcap7")));
    EXPECT_EQ(exit_code_, 1);
    EXPECT_NE(err().find("dpdk source 'wire': no DPDK port 'net_pcap7' (ports: net_pcap0 (0))"), std::string::npos)
        << err();
    // Arguments the EAL refuses: its usage goes to stderr, never to stdout (rows may go there).
    EXPECT_FALSE(start(config(1, "[\"--no-huge\", \"--no-pci\", \"--no-such-option\"]", "net_pcap0")));
    EXPECT_EQ(exit_code_, 1);
    EXPECT_NE(err().find("dpdk: EAL initialization failed"), std::string::npos) << err();
    EXPECT_EQ(read_file(path("stdout")), "");
}

// A frame with its IPv4 header checksum recomputed after an edit.
void fix_ip_checksum(std::vector<uint8_t>& f, std::size_t ip = 14) {
    const std::size_t ihl = static_cast<std::size_t>(f[ip] & 0x0f) * 4;
    f[ip + 10] = f[ip + 11] = 0;
    uint32_t sum = 0;
    for (std::size_t i = 0; i < ihl; i += 2) sum += uint32_t{f[ip + i]} << 8 | f[ip + i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    f[ip + 10] = static_cast<uint8_t>(~sum >> 8);
    f[ip + 11] = static_cast<uint8_t>(~sum);
}

TEST_F(Dpdk, MalformedFramesAreCountedByReason) {
    // Valid frames carry records 0..; every malformed one carries records too,
    // which must not count. Two valid frames are long enough that their mbufs
    // have no room for the decoder's padding after them: copied, not lost.
    std::string error;
    auto pcap = gen::PcapWriter::open(path("mixed.pcap"), error);
    ASSERT_TRUE(pcap) << error;
    std::string valid_ndjson;
    uint64_t next = 0, ts = 1;
    const RecordFormatter records(Scenario::S2);
    const auto payload_of = [&](std::size_t min_bytes) {
        std::string p;
        while (p.size() < min_bytes || p.empty()) {
            char rec[kMaxGenRecordBytes];
            p.append(rec, records.format(next++, rec));
            p += '\n';
        }
        return p;
    };
    const gen::FrameAddresses to;  // 10.0.0.1:40000 -> 10.0.0.2:9000
    const auto frame = [&](const std::string& payload, const gen::FrameAddresses& a) {
        std::vector<uint8_t> f(payload.size() + gen::kUdpFrameOverhead + gen::kMinEthernetFrame);
        f.resize(gen::build_udp_frame(a, 1, payload.data(), payload.size(), f.data()));
        return f;
    };
    const auto put = [&](const std::vector<uint8_t>& f) { ASSERT_TRUE(pcap->write(f.data(), f.size(), ts++)); };
    const auto valid = [&](std::size_t bytes) {
        const std::string p = payload_of(bytes);
        valid_ndjson += p;
        put(frame(p, to));
    };
    std::map<std::string, long> want;
    const auto bad = [&](const char* reason, std::vector<uint8_t> f) {
        ++want[reason];
        put(f);
    };

    valid(200);
    bad("short", std::vector<uint8_t>(10, 0xff));
    {
        auto f = frame(payload_of(100), to);
        f[12] = 0x08, f[13] = 0x06;  // ARP
        bad("not_ipv4", f);
        f[12] = 0x86, f[13] = 0xdd;  // IPv6
        bad("not_ipv4", f);
    }
    valid(1000);
    {
        auto f = frame(payload_of(100), to);
        f[14 + 10] ^= 0xff;
        bad("bad_checksum", f);
    }
    {
        auto f = frame(payload_of(100), to);
        f[14 + 6] = 0x20;  // MF
        fix_ip_checksum(f);
        bad("fragment", f);
        f[14 + 6] = 0x00, f[14 + 7] = 0xb9;  // offset 185
        fix_ip_checksum(f);
        bad("fragment", f);
    }
    {
        auto f = frame(payload_of(100), to);
        f[14 + 9] = 6;  // TCP
        fix_ip_checksum(f);
        bad("not_udp", f);
    }
    {
        gen::FrameAddresses other = to;
        other.dst_port = 9001;
        bad("wrong_port", frame(payload_of(100), other));
        other = to;
        other.dst_ip = 0x0a000003;  // the source takes 10.0.0.2 only
        bad("wrong_address", frame(payload_of(100), other));
    }
    {
        auto f = frame(payload_of(100), to);
        f[14 + 20 + 5] += 1;  // UDP length one more than the IP payload
        bad("bad_length", f);
        auto cut = frame(payload_of(300), to);
        cut.resize(cut.size() - 50);  // IP total length past the frame's end
        bad("bad_length", cut);
    }
    {
        // An 802.1Q-tagged frame and one with IP options: both valid.
        const std::string p = payload_of(150);
        valid_ndjson += p;
        auto f = frame(p, to);
        f.insert(f.begin() + 12, {0x81, 0x00, 0x00, 0x64});
        put(f);
        const std::string q = payload_of(150);
        valid_ndjson += q;
        auto g = frame(q, to);
        g.insert(g.begin() + 14 + 20, {1, 1, 1, 1});  // four NOP option bytes
        g[14] = 0x46;
        const uint16_t total = static_cast<uint16_t>((g[16] << 8 | g[17]) + 4);
        g[16] = static_cast<uint8_t>(total >> 8), g[17] = static_cast<uint8_t>(total);
        fix_ip_checksum(g);
        put(g);
    }
    // 1950 to 1997 bytes of records: a frame of at most 2039 bytes leaves less
    // than 64 bytes of the 2048-byte mbuf data room after it.
    valid(1950);
    // Past 2048 bytes the frame spans two mbufs: copied in one piece too.
    valid(2100);
    valid(300);
    ASSERT_TRUE(pcap->close(error)) << error;
    const long valid_records = static_cast<long>(lines_of(valid_ndjson).size());
    ASSERT_TRUE(write_file(path("valid.ndjson"), valid_ndjson));
    const auto expected = query_rows(path("valid.ndjson"));

    ASSERT_TRUE(start(config(1, eal_args({"net_pcap0,rx_pcap=" + path("mixed.pcap")}), "net_pcap0",
                             "ipv4 = \"10.0.0.2\"\n")))
        << err();
    ASSERT_TRUE(wait_records(valid_records)) << records_in(metrics_port_) << " of " << valid_records << "\n" << err();
    // Every frame is read by now (the last is valid); let a straggler show.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(stop(), 0) << err();
    const std::string s = stats();
    EXPECT_EQ(counter(s, "records_in", named(s, "s2")), valid_records) << s;
    EXPECT_EQ(counter(s, "records_rejected", named(s, "s2")), 0) << s;
    EXPECT_EQ(sorted_lines(read_file(path("rows.ndjson"))), expected);
    for (const char* reason : {"short", "not_ipv4", "bad_checksum", "fragment", "not_udp", "wrong_address",
                               "wrong_port", "bad_length"})
        EXPECT_EQ(source_counter(reason), want[reason]) << reason << "\n" << s;
    EXPECT_EQ(source_counter("copied_for_padding"), 2) << s;
    EXPECT_EQ(source_counter("datagrams"), 7) << s;
    long all_bad = 0;
    for (const auto& [r, n] : want) all_bad += n;
    EXPECT_EQ(source_counter("frames"), 7 + all_bad) << s;
}

// ---------------------------------------------------------------------------
// A real kernel interface: veth, one end in a namespace of the test's own.

// Runs `ip ARGS`; true on exit 0 (the error output in `why` otherwise).
bool ip(const std::vector<std::string>& args, const std::string& dir, std::string* why = nullptr) {
    std::vector<std::string> full = {"ip"};
    full.insert(full.end(), args.begin(), args.end());
    const int rc = run_program(full, dir + "/ip.out", dir + "/ip.err");
    if (rc != 0 && why != nullptr) {
        std::string cmd;
        for (const auto& a : full) cmd += (cmd.empty() ? "" : " ") + a;
        *why = "'" + cmd + "' failed (exit " + std::to_string(rc) + "): " + read_file(dir + "/ip.err");
    }
    return rc == 0;
}

bool write_sysctl(const std::string& path, const std::string& value) { return write_file("/proc/sys/" + path, value); }

// The namespace and veth pair of one test; deleted in every case (the peer
// goes with the namespace, the root end with its peer).
class VethPair {
public:
    explicit VethPair(const std::string& dir) : dir_(dir) {
        const std::string id = std::to_string(::getpid() % 100000);
        ns_ = "sluice-test-" + id;
        outer_ = "slc" + id + "a";
        inner_ = "slc" + id + "b";
    }
    ~VethPair() {
        if (link_) ip({"link", "del", outer_}, dir_);
        if (made_ns_) ip({"netns", "del", ns_}, dir_);
    }

    // Empty on success, else why not.
    std::string create() {
        std::string why;
        if (::geteuid() != 0) return "needs root (network namespaces and veth pairs)";
        if (!ip({"netns", "add", ns_}, dir_, &why)) return why;
        made_ns_ = true;
        if (!ip({"link", "add", outer_, "type", "veth", "peer", "name", inner_}, dir_, &why)) return why;
        link_ = true;
        if (!ip({"link", "set", inner_, "netns", ns_}, dir_, &why)) return why;
        // The outer end has no address and forwards nothing: the host stack
        // drops what arrives there, af_packet still sees it.
        write_sysctl("net/ipv6/conf/" + outer_ + "/disable_ipv6", "1");
        write_sysctl("net/ipv4/conf/" + outer_ + "/forwarding", "0");
        if (!ip({"link", "set", outer_, "up"}, dir_, &why)) return why;
        const std::string mac = read_file("/sys/class/net/" + outer_ + "/address");
        if (mac.size() < 17) return "no MAC address for " + outer_;
        const std::vector<std::vector<std::string>> inside = {
            {"link", "set", "lo", "up"},
            {"addr", "add", "10.199.0.2/24", "dev", inner_},
            {"link", "set", inner_, "up"},
            {"neigh", "replace", "10.199.0.1", "lladdr", mac.substr(0, 17), "dev", inner_, "nud", "permanent"},
        };
        for (const auto& cmd : inside) {
            std::vector<std::string> full = {"netns", "exec", ns_, "ip"};
            full.insert(full.end(), cmd.begin(), cmd.end());
            if (!ip(full, dir_, &why)) return why;
        }
        return "";
    }

    const std::string& ns() const { return ns_; }
    const std::string& outer() const { return outer_; }

private:
    std::string dir_;
    std::string ns_, outer_, inner_;
    bool made_ns_ = false;
    bool link_ = false;
};

TEST_F(Dpdk, VethAfPacketEndToEnd) {
    VethPair veth(dir_.path().string());
    if (const std::string why = veth.create(); !why.empty()) GTEST_SKIP() << "cannot make a veth pair in a namespace: " << why;

    constexpr long kRecords = 20000;
    ASSERT_TRUE(gen({"--scenario", "s2", "--count", std::to_string(kRecords), "--output", path("in.ndjson")}));
    const auto expected = query_rows(path("in.ndjson"));
    ASSERT_TRUE(start(config(1, eal_args({"net_af_packet0,iface=" + veth.outer()}), "net_af_packet0",
                             "ipv4 = \"10.199.0.1\"\n")))
        << err();
    // Paced well below what an adaptive shard drains between its sleeps.
    const int rc = run_program({"ip", "netns", "exec", veth.ns(), g_gen, "--scenario", "s2", "--count",
                                std::to_string(kRecords), "--udp", "10.199.0.1:9000", "--allow-remote", "--rate", "100k"},
                               path("send.out"), path("send.err"));
    ASSERT_EQ(rc, 0) << read_file(path("send.err"));
    ASSERT_TRUE(wait_records(kRecords, std::chrono::milliseconds(20000)))
        << records_in(metrics_port_) << " of " << kRecords << " records in\n"
        << err() << read_file(path("send.err"));
    ASSERT_EQ(stop(), 0) << err();
    EXPECT_EQ(sorted_lines(read_file(path("rows.ndjson"))), expected);
    const std::string s = stats();
    EXPECT_EQ(counter(s, "records_in", named(s, "s2")), kRecords) << s;
    EXPECT_GT(source_counter("datagrams"), kRecords / 40) << s;
    EXPECT_EQ(source_counter("bad_checksum"), 0) << s;
}

}  // namespace
}  // namespace sluice::testing

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s [gtest flags] PATH_TO_SLUICE PATH_TO_SLUICE_GEN\n", argv[0]);
        return 2;
    }
    sluice::testing::sluice_binary() = argv[1];
    sluice::testing::g_gen = argv[2];
    ::signal(SIGPIPE, SIG_IGN);
    return RUN_ALL_TESTS();
}
