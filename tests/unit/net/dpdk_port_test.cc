// DpdkRuntime and DpdkRxQueue on net_pcap virtual devices (no hugepages, no
// PCI scan): the payloads handed out are the datagrams in the capture, byte
// for byte; frames for another port are counted, not handed out; a shard
// thread receiving and releasing bursts allocates nothing once warm. One EAL
// per process, so one test drives it all. Its own binary: it links the
// counting operator new. Built only with DPDK.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "../../support/files.h"
#include "counting_new.h"
#include "gen_pcap.h"
#include "net/dpdk_port.h"

namespace sluice::net {
namespace {

// The datagrams sluice-gen --udp would send for records [0, count), as --pcap writes them.
std::vector<std::string> datagrams(uint64_t count, const gen::PackLimits& limits) {
    const RecordFormatter records(Scenario::S2);
    const gen::PacketFormatter packets(records, limits, false);
    std::vector<char> buf(packets.buffer_bytes());
    std::vector<std::string> out;
    for (uint64_t i = 0; i < count;) {
        const gen::Packet p = packets.fill(i, count - i, 0, buf.data());
        out.emplace_back(buf.data(), p.bytes);
        i += p.records;
    }
    return out;
}

TEST(DpdkPort, PayloadsInPlaceCountersAndNoAllocationOnceWarm) {
    testing::TempDir dir("sluice-dpdk-port");
    ASSERT_FALSE(dir.path().empty());
    const gen::PackLimits limits{1400, 0};
    const RecordFormatter records(Scenario::S2);
    gen::PcapRun run;
    run.count = 3000;
    run.limits = limits;
    const std::string good = dir.file("good.pcap"), other = dir.file("other.pcap");
    ASSERT_TRUE(gen::write_pcap(records, run, good).ok);
    run.addresses.dst_port = 9001;
    const gen::PcapResult other_written = gen::write_pcap(records, run, other);
    ASSERT_TRUE(other_written.ok);
    const std::vector<std::string> want = datagrams(run.count, limits);

    DpdkSetup setup;
    setup.eal_args = {"--no-huge", "-m", "128", "--no-pci", "--vdev=net_pcap0,rx_pcap=" + good + ",infinite_rx=1",
                      "--vdev=net_pcap1,rx_pcap=" + other};
    setup.shard_cpus = {-1, -1};  // two shards; a net_pcap port of one file has one queue
    setup.burst = 32;
    DpdkPortSetup replay;
    replay.source = "replay";
    replay.port = "net_pcap0";
    ASSERT_TRUE(replay.filter.add_port(9000));
    DpdkPortSetup wrong = replay;
    wrong.source = "wrong";
    wrong.port = "1";  // by id
    setup.ports = {replay, wrong};
    auto started = DpdkRuntime::start(setup);
    ASSERT_TRUE(started) << started.error().message;
    DpdkRuntime& rt = *started.value();
    ASSERT_NE(rt.queue(0, 0), nullptr);
    EXPECT_EQ(rt.queue(0, 1), nullptr);  // shard 1 polls nothing: one queue
    ASSERT_NE(rt.queue(1, 0), nullptr);
    EXPECT_EQ(rt.queue(2, 0), nullptr);
    std::string log;
    for (const auto& l : rt.description()) log += l + "\n";
    EXPECT_NE(log.find("dpdk: source 'replay' on port net_pcap0"), std::string::npos) << log;
    EXPECT_NE(log.find("shards 1..1 poll no queue of it"), std::string::npos) << log;

    // A second EAL in one process is refused with the reason.
    auto again = DpdkRuntime::start(setup);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("already initialized"), std::string::npos);

    std::string failure;
    uint64_t allocations = 0;
    FrameCounters replay_counters, wrong_counters;
    std::thread shard([&] {
        auto t = DpdkThread::register_current();
        if (!t) {
            failure = t.error().message;
            return;
        }
        DpdkRxQueue& q = *rt.queue(0, 0);
        DpdkRxQueue& w = *rt.queue(1, 0);
        if (!q.attach() || !w.attach()) {
            failure = "attach failed";
            return;
        }
        // The looping capture: payload k is datagram k % want.size(), in place.
        std::size_t next = 0;
        auto burst = [&]() -> bool {
            if (q.receive() == 0) return true;
            for (const DpdkRxQueue::Payload& p : q.payloads()) {
                if (std::string_view(p.data, p.len) != want[next % want.size()]) {
                    failure = "payload " + std::to_string(next) + " differs";
                    return false;
                }
                // The padding after it is readable (ASan builds would catch a read past the buffer).
                volatile char c = p.data[p.len + kDpdkPadding - 1];
                (void)c;
                ++next;
            }
            q.release();
            return true;
        };
        for (int i = 0; i < 200; ++i)
            if (!burst()) return;
        const uint64_t before = test::allocation_count();
        for (int i = 0; i < 3000; ++i)
            if (!burst()) return;
        allocations = test::allocation_count() - before;
        // The other port: every frame counted as wrong_port, nothing handed out.
        for (int i = 0; i < 10000 && w.counters().frames < other_written.frames; ++i) {
            if (w.receive() == 0) continue;
            if (!w.payloads().empty()) failure = "a payload for port 9001";
            w.release();
        }
        replay_counters = q.counters();
        wrong_counters = w.counters();
    });
    shard.join();
    ASSERT_TRUE(failure.empty()) << failure;
    EXPECT_EQ(allocations, 0u);
    EXPECT_GT(replay_counters.frames, 3000u * 8);  // infinite_rx keeps bursts mostly full
    EXPECT_EQ(replay_counters.payloads, replay_counters.frames);
    EXPECT_EQ(replay_counters.dropped_total(), 0u);
    EXPECT_EQ(replay_counters.copied_for_padding, 0u);
    EXPECT_EQ(wrong_counters.frames, other_written.frames);
    EXPECT_EQ(wrong_counters.dropped[static_cast<std::size_t>(FrameDrop::wrong_port)], other_written.frames);
    EXPECT_EQ(wrong_counters.payloads, 0u);
    EXPECT_EQ(wrong_counters.frame_bytes, other_written.bytes);
}

}  // namespace
}  // namespace sluice::net
