#include "gen_pcap.h"

#include <time.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sluice::gen {

namespace {

constexpr uint32_t kPcapMagicMicros = 0xa1b2c3d4;
constexpr uint32_t kLinkTypeEthernet = 1;
constexpr uint32_t kSnapLen = 65535;
constexpr uint64_t kFirstTimestampUs = 1'700'000'000ull * 1'000'000ull;  // 2023-11-14T22:13:20Z

void put16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) noexcept {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}

// The ones'-complement sum of bytes (big-endian 16-bit words), not folded.
uint32_t sum16(const uint8_t* p, std::size_t len, uint32_t sum = 0) noexcept {
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
    if (len & 1) sum += uint32_t{p[len - 1]} << 8;
    return sum;
}
uint16_t fold(uint32_t sum) noexcept {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// A pcap record or file header field, little-endian (the magic says which).
void le32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

int64_t monotonic_now_ns() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::size_t build_udp_frame(const FrameAddresses& a, uint16_t ip_id, const char* payload, std::size_t len,
                            uint8_t* out) noexcept {
    uint8_t* eth = out;
    std::memcpy(eth, a.dst_mac.data(), 6);
    std::memcpy(eth + 6, a.src_mac.data(), 6);
    put16(eth + 12, 0x0800);
    uint8_t* ip = eth + 14;
    const auto udp_len = static_cast<uint16_t>(8 + len);
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, static_cast<uint16_t>(20 + udp_len));
    put16(ip + 4, ip_id);
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = 17;
    put16(ip + 10, 0);
    put32(ip + 12, a.src_ip);
    put32(ip + 16, a.dst_ip);
    put16(ip + 10, fold(sum16(ip, 20)));
    uint8_t* udp = ip + 20;
    put16(udp, a.src_port);
    put16(udp + 2, a.dst_port);
    put16(udp + 4, udp_len);
    put16(udp + 6, 0);
    std::memcpy(udp + 8, payload, len);
    // UDP checksum over the pseudo header (addresses, protocol, length), header and payload.
    uint32_t sum = sum16(ip + 12, 8);
    sum += 17;
    sum += udp_len;
    sum = sum16(udp, udp_len, sum);
    uint16_t c = fold(sum);
    if (c == 0) c = 0xffff;  // 0 means "no checksum"
    put16(udp + 6, c);
    std::size_t frame = kUdpFrameOverhead + len;
    if (frame < kMinEthernetFrame) {
        std::memset(out + frame, 0, kMinEthernetFrame - frame);
        frame = kMinEthernetFrame;
    }
    return frame;
}

std::unique_ptr<PcapWriter> PcapWriter::open(const std::string& path, std::string& error) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
        error = "cannot create '" + path + "': " + std::strerror(errno);
        return nullptr;
    }
    std::unique_ptr<PcapWriter> w(new PcapWriter(f, path));
    w->buffer_.reset(new char[1 << 20]);
    std::setvbuf(f, w->buffer_.get(), _IOFBF, 1 << 20);
    std::vector<uint8_t> header;
    le32(header, kPcapMagicMicros);
    header.push_back(2);  // version 2.4
    header.push_back(0);
    header.push_back(4);
    header.push_back(0);
    le32(header, 0);  // thiszone
    le32(header, 0);  // sigfigs
    le32(header, kSnapLen);
    le32(header, kLinkTypeEthernet);
    if (std::fwrite(header.data(), 1, header.size(), f) != header.size()) {
        error = "writing '" + path + "': " + std::strerror(errno);
        return nullptr;
    }
    return w;
}

PcapWriter::~PcapWriter() {
    if (f_ != nullptr) std::fclose(f_);
}

bool PcapWriter::write(const uint8_t* frame, std::size_t len, uint64_t ts_us) noexcept {
    uint8_t rec[16];
    const auto put_le = [&rec](std::size_t at, uint32_t v) {
        for (int i = 0; i < 4; ++i) rec[at + static_cast<std::size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
    };
    put_le(0, static_cast<uint32_t>(ts_us / 1'000'000));
    put_le(4, static_cast<uint32_t>(ts_us % 1'000'000));
    put_le(8, static_cast<uint32_t>(len));   // captured
    put_le(12, static_cast<uint32_t>(len));  // on the wire
    return std::fwrite(rec, 1, sizeof rec, f_) == sizeof rec && std::fwrite(frame, 1, len, f_) == len;
}

bool PcapWriter::close(std::string& error) {
    std::FILE* f = f_;
    f_ = nullptr;
    const bool failed = std::ferror(f) != 0;
    if (std::fclose(f) != 0 || failed) {
        error = "writing '" + path_ + "': " + std::strerror(errno != 0 ? errno : EIO);
        return false;
    }
    return true;
}

PcapResult write_pcap(const RecordFormatter& records, const PcapRun& run, const std::string& path) {
    PcapResult r;
    const PacketFormatter packets(records, run.limits, run.sent_ns);
    auto writer = PcapWriter::open(path, r.error);
    if (!writer) {
        r.ok = false;
        return r;
    }
    std::vector<char> payload(packets.buffer_bytes());
    std::vector<uint8_t> frame(packets.buffer_bytes() + kUdpFrameOverhead + kMinEthernetFrame);
    uint64_t left = run.count;
    while (left > 0) {
        const int64_t stamp = run.sent_ns ? monotonic_now_ns() : 0;
        const Packet p = packets.fill(run.start + r.records, left, stamp, payload.data());
        if (p.records == 0) {
            r.ok = false;
            r.error = "record " + std::to_string(run.start + r.records) + " takes " +
                      std::to_string(packets.charged_bytes(run.start + r.records)) + " bytes, more than a datagram's " +
                      std::to_string(run.limits.max_bytes);
            return r;
        }
        const std::size_t len = build_udp_frame(run.addresses, static_cast<uint16_t>(r.frames + 1), payload.data(),
                                                p.bytes, frame.data());
        if (!writer->write(frame.data(), len, kFirstTimestampUs + r.frames)) {
            r.ok = false;
            r.error = "writing '" + path + "': " + std::strerror(errno);
            return r;
        }
        r.records += p.records;
        r.frames += 1;
        r.bytes += len;
        left -= p.records;
    }
    if (!writer->close(r.error)) r.ok = false;
    return r;
}

}  // namespace sluice::gen
