// Messages between the shards' aggregation states, framed in the PartialOutbox
// as [u32 len][u32 destination shard][payload]. A payload starts with a fixed
// header: u8 kind, 3 zero bytes, u32 shard (the sender), i64 a, i64 b
//   Snapshot : a = window start, b = window end (0, 0 without a window),
//              then the serialized accumulator block (replaces the last one)
//   Watermark: a = the sender's closing watermark
//   End      : the sender is done; nothing follows
//   Group    : a combined group for its owner: a = key length, then the key
//              bytes and the serialized accumulator block (merged in)
//   WindowGroup: the same for one window's group: b = window start
//   Shipped  : the sender has shipped every WindowGroup of windows ending at
//              or before a (+infinity: it is done)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace sluice {

enum class PartialKind : uint8_t { Snapshot = 1, Watermark = 2, End = 3, Group = 4, WindowGroup = 5, Shipped = 6 };

struct PartialHeader {
    PartialKind kind = PartialKind::End;
    uint32_t shard = 0;
    int64_t a = 0;
    int64_t b = 0;
};

inline constexpr std::size_t kPartialHeaderBytes = 24;

inline constexpr std::size_t kFrameBytes = 8;  // u32 length, u32 destination

// Appends the frame (length placeholder, destination) and the header; returns the frame's offset.
inline std::size_t begin_partial(std::vector<uint8_t>& out, const PartialHeader& h, uint32_t dest = 0) noexcept {
    const std::size_t at = out.size();
    out.resize(at + kFrameBytes + kPartialHeaderBytes);
    std::memcpy(out.data() + at + 4, &dest, 4);
    uint8_t* p = out.data() + at + kFrameBytes;
    std::memset(p, 0, 4);
    p[0] = static_cast<uint8_t>(h.kind);
    std::memcpy(p + 4, &h.shard, 4);
    std::memcpy(p + 8, &h.a, 8);
    std::memcpy(p + 16, &h.b, 8);
    return at;
}

// Writes the payload length of the frame begun at `at` (everything appended since).
inline void end_partial(std::vector<uint8_t>& out, std::size_t at) noexcept {
    const auto len = static_cast<uint32_t>(out.size() - at - kFrameBytes);
    std::memcpy(out.data() + at, &len, 4);
}

inline bool read_partial_header(const uint8_t* payload, uint32_t len, PartialHeader& h) noexcept {
    if (len < kPartialHeaderBytes) return false;
    const uint8_t kind = payload[0];
    if (kind < 1 || kind > 6) return false;
    h.kind = static_cast<PartialKind>(kind);
    std::memcpy(&h.shard, payload + 4, 4);
    std::memcpy(&h.a, payload + 8, 8);
    std::memcpy(&h.b, payload + 16, 8);
    return true;
}

}  // namespace sluice
