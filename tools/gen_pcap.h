// sluice-gen --pcap: the UDP datagrams `--udp` would send, written as
// Ethernet II / IPv4 / UDP frames to a pcap file (libpcap format, Ethernet
// link type, microsecond timestamps) instead of a socket. A DPDK net_pcap
// port (rx_pcap=FILE) replays them into `sluice run`; tcpdump -r and
// Wireshark read them too.
//
// The file depends only on the arguments: the datagrams are those of
// PacketFormatter (same limits as --udp), timestamps start at a fixed
// second and grow by 1 µs per frame, IP ids count up from 1. Only the
// sent_ns digits (with --sent-ns) differ between runs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "gen_packets.h"
#include "gen_records.h"

namespace sluice::gen {

// Addresses and ports written into every frame (host order).
struct FrameAddresses {
    std::array<uint8_t, 6> src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    std::array<uint8_t, 6> dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    uint32_t src_ip = 0x0a000001;  // 10.0.0.1
    uint32_t dst_ip = 0x0a000002;  // 10.0.0.2
    uint16_t src_port = 40000;
    uint16_t dst_port = 9000;
};

inline constexpr std::size_t kUdpFrameOverhead = 14 + 20 + 8;  // Ethernet, IPv4 (no options), UDP
inline constexpr std::size_t kMinEthernetFrame = 60;            // without the FCS; shorter frames are padded
// The largest UDP payload in one unfragmented frame of a 1500-byte MTU.
inline constexpr std::size_t kMaxPcapDatagram = 1500 - 20 - 8;

// Writes an Ethernet/IPv4/UDP frame carrying payload[0, len) to out, which
// holds max(len + kUdpFrameOverhead, kMinEthernetFrame) bytes; returns the
// frame's length. IPv4 and UDP checksums are filled in; DF is set.
std::size_t build_udp_frame(const FrameAddresses& a, uint16_t ip_id, const char* payload, std::size_t len,
                            uint8_t* out) noexcept;

// A pcap file being written (buffered).
class PcapWriter {
public:
    // Creates (truncates) path and writes the file header; nullptr and error on failure.
    static std::unique_ptr<PcapWriter> open(const std::string& path, std::string& error);
    ~PcapWriter();
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;

    // One frame with its capture time. False once a write failed.
    bool write(const uint8_t* frame, std::size_t len, uint64_t ts_us) noexcept;
    // Flushes and closes; false and error on failure.
    bool close(std::string& error);

private:
    explicit PcapWriter(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
    std::FILE* f_;
    std::string path_;
    std::unique_ptr<char[]> buffer_;
};

struct PcapRun {
    uint64_t start = 0;
    uint64_t count = 0;
    PackLimits limits;      // as for --udp
    bool sent_ns = false;   // records carry the time they were written
    FrameAddresses addresses;
};

struct PcapResult {
    bool ok = true;
    std::string error;
    uint64_t records = 0;
    uint64_t frames = 0;
    uint64_t bytes = 0;  // of the frames
};

// Records [start, start + count) in datagrams, one frame each, into path.
PcapResult write_pcap(const RecordFormatter& records, const PcapRun& run, const std::string& path);

}  // namespace sluice::gen
