// Ethernet / IPv4 / UDP parsing of one received frame, for kernel-bypass
// ingest (net/dpdk_port.cc): the UDP payload's place in the frame, or why the
// frame is not one sluice takes. Pure and allocation-free, no DPDK: always
// built and unit-tested with hand-made frames.
//
//   Ethernet II   dst(6) src(6) type(2), optionally one 802.1Q tag
//                 (0x8100: TCI(2) type(2)); any other type is not_ipv4 (IPv6,
//                 ARP, a second tag, ...). Bytes past the IP packet (the
//                 padding of a minimum-size frame, a CRC a driver kept) are
//                 not part of the payload.
//   IPv4          version 4 (else not_ipv4), IHL >= 5 (options are skipped),
//                 header checksum over IHL*4 bytes (bad_checksum), total
//                 length within [IHL*4 + 0, frame] (bad_length); MF set or a
//                 fragment offset is a fragment (dropped: sluice does not
//                 reassemble); protocol 17 (else not_udp); the destination
//                 address when a filter is set (wrong_address).
//   UDP           destination port among the accepted ones (wrong_port);
//                 UDP length == IP payload length, >= 8 (bad_length). The UDP
//                 checksum is not checked (veth and NIC offloads leave it
//                 partial; the IPv4 header checksum is always real).
//
// Checks run in that order and stop at the first failure, so every frame is
// counted under exactly one reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::net {

enum class FrameDrop : uint8_t {
    none = 0,       // a UDP payload for us (possibly empty)
    short_frame,    // shorter than its Ethernet, VLAN, IPv4 or UDP header
    not_ipv4,       // another ethertype (IPv6, ARP, QinQ ...) or IP version
    bad_checksum,   // IPv4 header checksum
    fragment,       // MF flag or a fragment offset: not reassembled
    not_udp,        // IPv4 but another protocol
    wrong_address,  // destination address not the configured one
    wrong_port,     // destination port not among the configured ones
    bad_length,     // IHL < 5, IP total length, UDP length inconsistent with each other or the frame
};

inline constexpr std::size_t kFrameDropReasons = 9;  // including none (index 0, unused as a counter)

// Stable names (stats JSON keys, Prometheus label values).
inline constexpr std::array<const char*, kFrameDropReasons> kFrameDropNames = {
    "none", "short", "not_ipv4", "bad_checksum", "fragment", "not_udp", "wrong_address", "wrong_port", "bad_length"};

inline constexpr const char* frame_drop_name(FrameDrop d) noexcept {
    return kFrameDropNames[static_cast<std::size_t>(d)];
}

// What a source accepts: destination UDP ports, and optionally one
// destination IPv4 address.
struct FrameFilter {
    static constexpr std::size_t kMaxPorts = 16;
    std::array<uint16_t, kMaxPorts> ports{};  // host order
    uint8_t port_count = 0;
    bool check_address = false;
    uint32_t address = 0;  // host order, e.g. 10.0.0.2 = 0x0a000002

    bool add_port(uint16_t p) noexcept {
        if (port_count == kMaxPorts) return false;
        ports[port_count++] = p;
        return true;
    }
    bool accepts_port(uint16_t p) const noexcept {
        for (uint8_t i = 0; i < port_count; ++i)
            if (ports[i] == p) return true;
        return false;
    }
};

struct FrameResult {
    FrameDrop drop = FrameDrop::none;
    uint32_t offset = 0;  // of the UDP payload in the frame
    uint32_t length = 0;  // of the UDP payload
};

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::size_t kEthHeaderBytes = 14;
inline constexpr std::size_t kVlanTagBytes = 4;
inline constexpr std::size_t kIpv4MinHeaderBytes = 20;
inline constexpr std::size_t kUdpHeaderBytes = 8;
inline constexpr uint8_t kIpProtoUdp = 17;

namespace detail {

inline uint16_t load_be16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t load_be32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

}  // namespace detail

// The ones'-complement sum of `len` bytes (len even) folded to 16 bits; an
// IPv4 header with a correct checksum sums to 0xffff.
inline uint16_t ones_complement_sum(const uint8_t* p, std::size_t len) noexcept {
    uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += detail::load_be16(p + i);
    if (len & 1) sum += uint32_t{p[len - 1]} << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The checksum field value for an IPv4 header whose checksum bytes are zero.
inline uint16_t ipv4_header_checksum(const uint8_t* header, std::size_t len) noexcept {
    return static_cast<uint16_t>(~ones_complement_sum(header, len));
}

// Parses frame[0, len). Reads only inside it.
inline FrameResult parse_frame(const uint8_t* frame, std::size_t len, const FrameFilter& filter) noexcept {
    using detail::load_be16;
    FrameResult r;
    const auto drop = [&r](FrameDrop d) {
        r.drop = d;
        return r;
    };
    if (len < kEthHeaderBytes) return drop(FrameDrop::short_frame);
    std::size_t at = 12;
    uint16_t type = load_be16(frame + at);
    at += 2;
    if (type == kEtherTypeVlan) {
        if (len < kEthHeaderBytes + kVlanTagBytes) return drop(FrameDrop::short_frame);
        type = load_be16(frame + at + 2);
        at += kVlanTagBytes;
    }
    if (type != kEtherTypeIpv4) return drop(FrameDrop::not_ipv4);

    const uint8_t* ip = frame + at;
    const std::size_t ip_room = len - at;  // bytes of the frame from the IP header on
    if (ip_room < kIpv4MinHeaderBytes) return drop(FrameDrop::short_frame);
    if ((ip[0] >> 4) != 4) return drop(FrameDrop::not_ipv4);
    const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
    if (ihl < kIpv4MinHeaderBytes) return drop(FrameDrop::bad_length);
    if (ip_room < ihl) return drop(FrameDrop::short_frame);
    if (ones_complement_sum(ip, ihl) != 0xffff) return drop(FrameDrop::bad_checksum);
    const std::size_t total = load_be16(ip + 2);
    if (total < ihl || total > ip_room) return drop(FrameDrop::bad_length);
    const uint16_t frag = load_be16(ip + 6);
    if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) return drop(FrameDrop::fragment);
    if (ip[9] != kIpProtoUdp) return drop(FrameDrop::not_udp);
    if (filter.check_address && detail::load_be32(ip + 16) != filter.address) return drop(FrameDrop::wrong_address);

    const std::size_t udp_room = total - ihl;  // the IP payload
    if (udp_room < kUdpHeaderBytes) return drop(FrameDrop::short_frame);
    const uint8_t* udp = ip + ihl;
    if (!filter.accepts_port(load_be16(udp + 2))) return drop(FrameDrop::wrong_port);
    const std::size_t udp_len = load_be16(udp + 4);
    if (udp_len != udp_room) return drop(FrameDrop::bad_length);
    r.offset = static_cast<uint32_t>(at + ihl + kUdpHeaderBytes);
    r.length = static_cast<uint32_t>(udp_len - kUdpHeaderBytes);
    return r;
}

// Per source and shard: frames seen, payloads taken, and the rest by reason.
struct FrameCounters {
    uint64_t frames = 0;        // received
    uint64_t frame_bytes = 0;   // received, whole frames
    uint64_t payloads = 0;      // UDP payloads handed to the queries
    uint64_t payload_bytes = 0;
    // Payloads copied to a padded slot: too little room after them in their
    // mbuf for the decoder's padding, or a frame spread over several mbufs.
    uint64_t copied_for_padding = 0;
    std::array<uint64_t, kFrameDropReasons> dropped{};  // by FrameDrop; [0] unused

    void count(FrameDrop d) noexcept { ++dropped[static_cast<std::size_t>(d)]; }
    uint64_t dropped_total() const noexcept {
        uint64_t n = 0;
        for (std::size_t i = 1; i < kFrameDropReasons; ++i) n += dropped[i];
        return n;
    }
};

}  // namespace sluice::net
