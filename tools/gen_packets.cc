#include "gen_packets.h"

#include <charconv>
#include <cstring>

namespace sluice::gen {

std::size_t append_sent_ns(char* rec, std::size_t len, int64_t ns) noexcept {
    char* p = rec + len - 1;  // the closing brace
    std::memcpy(p, kSentNsKey.data(), kSentNsKey.size());
    p += kSentNsKey.size();
    p = std::to_chars(p, p + 20, ns).ptr;
    *p++ = '}';
    return static_cast<std::size_t>(p - rec);
}

std::size_t PacketFormatter::charged_bytes(uint64_t i) const noexcept {
    char buf[kMaxGenRecordBytes];
    return records_.format(i, buf) + 1 + (sent_ns_ ? kSentNsReserve : 0);
}

Packet PacketFormatter::fill(uint64_t first, uint64_t left, int64_t ns, char* out) const noexcept {
    if (limits_.max_records != 0 && left > limits_.max_records) left = limits_.max_records;
    Packet packet;
    std::size_t charged = 0;
    for (; packet.records < left; ++packet.records) {
        char* rec = out + packet.bytes;
        // Formatting in place may write slack past the limit; buffer_bytes() allows for it.
        std::size_t len = records_.format(first + packet.records, rec);
        charged += len + 1 + (sent_ns_ ? kSentNsReserve : 0);
        if (charged > limits_.max_bytes) break;
        if (sent_ns_) len = append_sent_ns(rec, len, ns);
        rec[len] = '\n';
        packet.bytes += len + 1;
    }
    return packet;
}

}  // namespace sluice::gen
