// The items a QueryState snapshot is made of (QueryState::snapshot and
// restore; the runtime's checkpoint file stores them per query). Each item is
// a fixed header followed by the key bytes and the serialized accumulator
// block (AggLayout::serialize, the same bytes partials cross the rings in):
//   u8 kind, u8 flags, u16 zero, u32 origin, u32 key_len, u32 block_len,
//   i64 a, i64 b, key[key_len], block[block_len]      (little-endian)
// Kinds:
//   Group        a GROUP BY group (no window); a = its last event time under state.ttl
//   WindowGroup  a group of window [a, b)
//   Session      a session [a = first, b = last]; flags bit 0: closed (its row went out)
//   Global       a global aggregate's partial of window [a, b) (0, 0: no window), held by shard `origin`
//   GlobalMerged the merge shard's copy of shard `origin`'s last partial of window [a, b)
// Items do not depend on the shard count: a restore routes each key to its
// owner and merges, as partials from other shards merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace sluice {

enum class SnapshotItemKind : uint8_t { Group = 1, WindowGroup = 2, Session = 3, Global = 4, GlobalMerged = 5 };

struct SnapshotItem {
    SnapshotItemKind kind = SnapshotItemKind::Group;
    uint8_t flags = 0;
    uint32_t origin = 0;
    int64_t a = 0;
    int64_t b = 0;
    const uint8_t* key = nullptr;
    uint32_t key_len = 0;
    const uint8_t* block = nullptr;
    uint32_t block_len = 0;
};

inline constexpr std::size_t kSnapshotItemHeader = 32;

// Appends the header and key; returns where block_len goes (filled by end_snapshot_item).
inline std::size_t begin_snapshot_item(std::vector<uint8_t>& out, SnapshotItemKind kind, uint8_t flags, uint32_t origin,
                                       int64_t a, int64_t b, const uint8_t* key, uint32_t key_len) {
    const std::size_t at = out.size();
    out.resize(at + kSnapshotItemHeader + key_len);
    uint8_t* p = out.data() + at;
    p[0] = static_cast<uint8_t>(kind);
    p[1] = flags;
    p[2] = p[3] = 0;
    std::memcpy(p + 4, &origin, 4);
    std::memcpy(p + 8, &key_len, 4);
    std::memset(p + 12, 0, 4);
    std::memcpy(p + 16, &a, 8);
    std::memcpy(p + 24, &b, 8);
    if (key_len != 0) std::memcpy(p + kSnapshotItemHeader, key, key_len);
    return at;
}

// The block was appended after the key: its length goes into the header.
inline void end_snapshot_item(std::vector<uint8_t>& out, std::size_t at) {
    uint32_t key_len;
    std::memcpy(&key_len, out.data() + at + 8, 4);
    const auto block_len = static_cast<uint32_t>(out.size() - at - kSnapshotItemHeader - key_len);
    std::memcpy(out.data() + at + 12, &block_len, 4);
}

// Reads the item at [p, end); false when it is cut short or of no known kind.
inline bool read_snapshot_item(const uint8_t*& p, const uint8_t* end, SnapshotItem& it) noexcept {
    if (end - p < static_cast<std::ptrdiff_t>(kSnapshotItemHeader)) return false;
    if (p[0] < 1 || p[0] > 5) return false;
    it.kind = static_cast<SnapshotItemKind>(p[0]);
    it.flags = p[1];
    std::memcpy(&it.origin, p + 4, 4);
    std::memcpy(&it.key_len, p + 8, 4);
    std::memcpy(&it.block_len, p + 12, 4);
    std::memcpy(&it.a, p + 16, 8);
    std::memcpy(&it.b, p + 24, 8);
    const uint64_t body = uint64_t{it.key_len} + it.block_len;
    if (static_cast<uint64_t>(end - p) - kSnapshotItemHeader < body) return false;
    it.key = p + kSnapshotItemHeader;
    it.block = it.key + it.key_len;
    p = it.block + it.block_len;
    return true;
}

}  // namespace sluice
