// net/frame_parse.h on hand-built frames: Ethernet with and without an
// 802.1Q tag, IPv4 with options, checksums, fragments, the three lengths
// (UDP, IP, frame — with Ethernet minimum-frame padding), ports, addresses,
// other protocols and truncation at every header.
#include "net/frame_parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, std::size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

struct FrameSpec {
    std::string payload = "{\"a\":1}\n";
    bool vlan = false;
    uint16_t ethertype = kEtherTypeIpv4;
    uint8_t version = 4;
    std::size_t options = 0;      // IPv4 option bytes (a multiple of 4)
    uint8_t protocol = kIpProtoUdp;
    uint16_t flags_fragment = 0;  // the IPv4 flags + fragment offset field
    uint32_t dst = 0x0a000002;    // 10.0.0.2
    uint16_t dport = 9000;
    int ip_total_delta = 0;       // added to the correct IP total length
    int udp_len_delta = 0;        // added to the correct UDP length
    bool break_checksum = false;
    std::size_t pad_to = 60;      // Ethernet minimum frame (without the FCS)
};

Bytes build(const FrameSpec& f) {
    Bytes b(12, 0);
    for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = 0x02;  // dst MAC
    b[11] = 1;
    if (f.vlan) {
        b.resize(b.size() + 4);
        put16(b, 12, kEtherTypeVlan);
        put16(b, 14, 0x0064);  // VLAN 100
    }
    const std::size_t type_at = b.size();
    b.resize(b.size() + 2);
    put16(b, type_at, f.ethertype);
    const std::size_t ip = b.size();
    const std::size_t ihl = 20 + f.options;
    const std::size_t udp_len = 8 + f.payload.size();
    b.resize(ip + ihl + udp_len);
    b[ip] = static_cast<uint8_t>(f.version << 4 | (ihl / 4));
    put16(b, ip + 2, static_cast<uint16_t>(static_cast<int>(ihl + udp_len) + f.ip_total_delta));
    put16(b, ip + 4, 7);  // id
    put16(b, ip + 6, f.flags_fragment);
    b[ip + 8] = 64;
    b[ip + 9] = f.protocol;
    b[ip + 12] = 10;
    b[ip + 15] = 1;
    b[ip + 16] = static_cast<uint8_t>(f.dst >> 24);
    b[ip + 17] = static_cast<uint8_t>(f.dst >> 16);
    b[ip + 18] = static_cast<uint8_t>(f.dst >> 8);
    b[ip + 19] = static_cast<uint8_t>(f.dst);
    for (std::size_t i = 0; i < f.options; ++i) b[ip + 20 + i] = 1;  // NOP options
    put16(b, ip + 10, ipv4_header_checksum(b.data() + ip, ihl));
    if (f.break_checksum) b[ip + 11] ^= 0x55;
    const std::size_t udp = ip + ihl;
    put16(b, udp, 40000);
    put16(b, udp + 2, f.dport);
    put16(b, udp + 4, static_cast<uint16_t>(static_cast<int>(udp_len) + f.udp_len_delta));
    std::copy(f.payload.begin(), f.payload.end(), b.begin() + static_cast<std::ptrdiff_t>(udp + 8));
    if (b.size() < f.pad_to) b.resize(f.pad_to, 0);
    return b;
}

FrameFilter port_9000() {
    FrameFilter f;
    EXPECT_TRUE(f.add_port(9000));
    return f;
}

FrameResult parse(const Bytes& b, const FrameFilter& f = port_9000()) { return parse_frame(b.data(), b.size(), f); }

std::string_view payload_of(const Bytes& b, const FrameResult& r) {
    return {reinterpret_cast<const char*>(b.data()) + r.offset, r.length};
}

TEST(FrameParse, PlainUdpFrame) {
    FrameSpec s;
    s.payload = std::string(100, 'x') + "\n";
    const Bytes b = build(s);
    const FrameResult r = parse(b);
    ASSERT_EQ(r.drop, FrameDrop::none);
    EXPECT_EQ(r.offset, 14u + 20u + 8u);
    EXPECT_EQ(payload_of(b, r), s.payload);
}

TEST(FrameParse, MinimumFramePaddingIsNotPayload) {
    FrameSpec s;
    s.payload = "{}\n";  // 14 + 20 + 8 + 3 = 45 bytes, padded to 60
    const Bytes b = build(s);
    ASSERT_EQ(b.size(), 60u);
    const FrameResult r = parse(b);
    ASSERT_EQ(r.drop, FrameDrop::none);
    EXPECT_EQ(payload_of(b, r), "{}\n");
    // A driver that keeps the 4-byte FCS: still only the IP packet counts.
    Bytes with_fcs = b;
    with_fcs.insert(with_fcs.end(), {0xde, 0xad, 0xbe, 0xef});
    const FrameResult r2 = parse(with_fcs);
    ASSERT_EQ(r2.drop, FrameDrop::none);
    EXPECT_EQ(payload_of(with_fcs, r2), "{}\n");
}

TEST(FrameParse, EmptyPayloadIsTaken) {
    FrameSpec s;
    s.payload.clear();
    const FrameResult r = parse(build(s));
    ASSERT_EQ(r.drop, FrameDrop::none);
    EXPECT_EQ(r.length, 0u);
}

TEST(FrameParse, VlanTag) {
    FrameSpec s;
    s.vlan = true;
    const Bytes b = build(s);
    const FrameResult r = parse(b);
    ASSERT_EQ(r.drop, FrameDrop::none);
    EXPECT_EQ(r.offset, 18u + 20u + 8u);
    EXPECT_EQ(payload_of(b, r), s.payload);
    // A second tag (QinQ) is not IPv4 to this parser.
    s.ethertype = kEtherTypeVlan;
    EXPECT_EQ(parse(build(s)).drop, FrameDrop::not_ipv4);
}

TEST(FrameParse, IpOptionsAreSkipped) {
    for (std::size_t options : {4u, 8u, 40u}) {
        FrameSpec s;
        s.options = options;
        const Bytes b = build(s);
        const FrameResult r = parse(b);
        ASSERT_EQ(r.drop, FrameDrop::none) << options;
        EXPECT_EQ(r.offset, 14u + 20u + options + 8u);
        EXPECT_EQ(payload_of(b, r), s.payload);
    }
}

TEST(FrameParse, IhlBelowFiveIsBadLength) {
    Bytes b = build(FrameSpec{});
    b[14] = 0x44;  // IHL 4
    b[24] = b[25] = 0;
    put16(b, 24, ipv4_header_checksum(b.data() + 14, 16));
    EXPECT_EQ(parse(b).drop, FrameDrop::bad_length);
}

TEST(FrameParse, HeaderChecksum) {
    FrameSpec s;
    s.break_checksum = true;
    EXPECT_EQ(parse(build(s)).drop, FrameDrop::bad_checksum);
    Bytes b = build(FrameSpec{.options = 12});  // the options are covered too
    b[14 + 20 + 5] ^= 0x10;  // an option byte
    EXPECT_EQ(parse(b).drop, FrameDrop::bad_checksum);
}

TEST(FrameParse, ChecksumHelperMatchesAKnownHeader) {
    // A textbook header: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
    const uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                           0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(ipv4_header_checksum(h, 20), 0xb861);
}

TEST(FrameParse, Fragments) {
    FrameSpec s;
    s.flags_fragment = 0x2000;  // MF, offset 0: the first fragment
    EXPECT_EQ(parse(build(s)).drop, FrameDrop::fragment);
    s.flags_fragment = 0x00b9;  // offset 185*8, last fragment
    EXPECT_EQ(parse(build(s)).drop, FrameDrop::fragment);
    s.flags_fragment = 0x20b9;  // a middle one
    EXPECT_EQ(parse(build(s)).drop, FrameDrop::fragment);
    s.flags_fragment = 0x4000;  // DF alone: a whole datagram
    EXPECT_EQ(parse(build(s)).drop, FrameDrop::none);
}

TEST(FrameParse, LengthsMustAgree) {
    // UDP length longer than the IP payload.
    EXPECT_EQ(parse(build(FrameSpec{.udp_len_delta = 1})).drop, FrameDrop::bad_length);
    // ... or shorter.
    EXPECT_EQ(parse(build(FrameSpec{.udp_len_delta = -1})).drop, FrameDrop::bad_length);
    // UDP length below its own header.
    FrameSpec tiny;
    tiny.payload.clear();
    tiny.udp_len_delta = -1;
    EXPECT_EQ(parse(build(tiny)).drop, FrameDrop::bad_length);
    // IP total length past the frame's end (a cut frame).
    FrameSpec big;
    big.payload = std::string(200, 'y');
    EXPECT_EQ(parse(build(FrameSpec{.payload = big.payload, .ip_total_delta = 1})).drop, FrameDrop::bad_length);
    // IP total length below its header.
    Bytes b = build(FrameSpec{});
    put16(b, 16, 19);
    b[24] = b[25] = 0;
    put16(b, 24, ipv4_header_checksum(b.data() + 14, 20));
    EXPECT_EQ(parse(b).drop, FrameDrop::bad_length);
    // A shorter IP total length inside a padded frame: the UDP length then disagrees.
    EXPECT_EQ(parse(build(FrameSpec{.ip_total_delta = -2})).drop, FrameDrop::bad_length);
}

TEST(FrameParse, TruncatedFrames) {
    const Bytes whole = build(FrameSpec{.payload = std::string(64, 'z'), .vlan = true});
    // Every cut short of the UDP header is short; a cut inside the payload is a length mismatch.
    for (std::size_t len = 0; len < whole.size(); ++len) {
        const FrameResult r = parse_frame(whole.data(), len, port_9000());
        if (len < 18 + 20) {
            EXPECT_EQ(r.drop, FrameDrop::short_frame) << len;
        } else {
            EXPECT_EQ(r.drop, FrameDrop::bad_length) << len;
        }
    }
    EXPECT_EQ(parse_frame(whole.data(), whole.size(), port_9000()).drop, FrameDrop::none);
    // An IP packet too short for a UDP header.
    FrameSpec s;
    s.payload.clear();
    Bytes b = build(s);
    put16(b, 16, 20 + 4);  // total: header + 4 bytes
    b[24] = b[25] = 0;
    put16(b, 24, ipv4_header_checksum(b.data() + 14, 20));
    EXPECT_EQ(parse(b).drop, FrameDrop::short_frame);
}

TEST(FrameParse, OtherProtocols) {
    EXPECT_EQ(parse(build(FrameSpec{.ethertype = kEtherTypeIpv6})).drop, FrameDrop::not_ipv4);
    EXPECT_EQ(parse(build(FrameSpec{.ethertype = 0x0806})).drop, FrameDrop::not_ipv4);  // ARP
    EXPECT_EQ(parse(build(FrameSpec{.version = 6})).drop, FrameDrop::not_ipv4);        // IPv4 type, version 6
    EXPECT_EQ(parse(build(FrameSpec{.protocol = 6})).drop, FrameDrop::not_udp);        // TCP
    EXPECT_EQ(parse(build(FrameSpec{.protocol = 1})).drop, FrameDrop::not_udp);        // ICMP
}

TEST(FrameParse, PortsAndAddress) {
    FrameFilter f;
    ASSERT_TRUE(f.add_port(9000));
    ASSERT_TRUE(f.add_port(9001));
    EXPECT_EQ(parse(build(FrameSpec{.dport = 9001}), f).drop, FrameDrop::none);
    EXPECT_EQ(parse(build(FrameSpec{.dport = 9002}), f).drop, FrameDrop::wrong_port);
    f.check_address = true;
    f.address = 0x0a000002;
    EXPECT_EQ(parse(build(FrameSpec{}), f).drop, FrameDrop::none);
    EXPECT_EQ(parse(build(FrameSpec{.dst = 0x0a000003}), f).drop, FrameDrop::wrong_address);
    // No ports at all: nothing is taken.
    EXPECT_EQ(parse(build(FrameSpec{}), FrameFilter{}).drop, FrameDrop::wrong_port);
    // At most kMaxPorts.
    FrameFilter full;
    for (uint16_t p = 1; p <= FrameFilter::kMaxPorts; ++p) EXPECT_TRUE(full.add_port(p));
    EXPECT_FALSE(full.add_port(9999));
}

TEST(FrameParse, ReadsOnlyInsideTheFrame) {
    // Every prefix of a frame, copied to an exact-size heap buffer: ASan (in
    // sanitizer builds) catches a read past the end.
    const Bytes whole = build(FrameSpec{.vlan = true, .options = 8});
    for (std::size_t len = 0; len <= whole.size(); ++len) {
        std::vector<uint8_t> exact(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(len));
        (void)parse_frame(exact.data(), exact.size(), port_9000());
    }
}

TEST(FrameParse, ReasonNames) {
    EXPECT_STREQ(frame_drop_name(FrameDrop::short_frame), "short");
    EXPECT_STREQ(frame_drop_name(FrameDrop::bad_length), "bad_length");
    FrameCounters c;
    c.count(FrameDrop::fragment);
    c.count(FrameDrop::fragment);
    c.count(FrameDrop::not_udp);
    EXPECT_EQ(c.dropped_total(), 3u);
}

}  // namespace
}  // namespace sluice::net
