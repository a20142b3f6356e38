// Packets of whole records: a UDP datagram or a TCP write of sluice-gen and
// sluice-lat. Each record is one NDJSON line; a packet never splits one.
// Where a packet ends depends only on the records and the limits, never on
// the time: a record is charged the room of the widest sent_ns field, so the
// same arguments give the same packets (only the sent_ns digits differ).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gen_records.h"

namespace sluice::gen {

inline constexpr std::string_view kSentNsKey = ",\"sent_ns\":";
// The key plus the widest int64 ("-9223372036854775808").
inline constexpr std::size_t kSentNsReserve = kSentNsKey.size() + 20;

// Turns the JSON object at rec[0, len) into one ending with ,"sent_ns":ns}
// (its closing brace is replaced). rec must have kSentNsReserve bytes past
// len. Returns the new length.
std::size_t append_sent_ns(char* rec, std::size_t len, int64_t ns) noexcept;

struct PackLimits {
    std::size_t max_bytes = 1400;  // bytes per packet, newlines included
    uint64_t max_records = 0;      // records per packet; 0: as many as fit in max_bytes
};

struct Packet {
    std::size_t bytes = 0;
    uint64_t records = 0;
};

class PacketFormatter {
public:
    PacketFormatter(const RecordFormatter& records, PackLimits limits, bool sent_ns) noexcept
        : records_(records), limits_(limits), sent_ns_(sent_ns) {}

    // Bytes a caller's packet buffer must hold (the limit plus formatting slack).
    std::size_t buffer_bytes() const noexcept { return limits_.max_bytes + kMaxGenRecordBytes + kSentNsReserve + 1; }

    // Room a record takes in the packing arithmetic: its line plus, with
    // sent_ns, the widest field.
    std::size_t charged_bytes(uint64_t i) const noexcept;

    // Formats records first, first + 1, ... (at most `left`, and at most
    // limits.max_records) into out (buffer_bytes() long), one per line,
    // while they fit in limits.max_bytes. With sent_ns on, each carries ns.
    // A packet with 0 records means record `first` alone is too big.
    Packet fill(uint64_t first, uint64_t left, int64_t ns, char* out) const noexcept;

    const PackLimits& limits() const noexcept { return limits_; }
    bool sent_ns() const noexcept { return sent_ns_; }

private:
    const RecordFormatter& records_;
    PackLimits limits_;
    bool sent_ns_;
};

}  // namespace sluice::gen
