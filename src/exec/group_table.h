// Flat hash table of groups: key bytes -> accumulator block.
//
// Layout (all cache-line aligned):
//  - ctrl_: one control byte per slot, 0x80 = empty, else a 7-bit tag taken
//    from hash bits 25..31 (the high 32 bits route records between shards and
//    the low bits pick the probe group, so the tag adds fresh entropy);
//  - index_: per slot, the entry number;
//  - entries_: dense, in insertion order, {hash, key, key_len, block}; reserved
//    up to the load limit, from 1 MiB on as an anonymous mapping that holds
//    memory only for the pages written (and grows by mremap, without a copy).
// Probing looks at groups of 8 control bytes at once (SWAR), triangular over
// groups. Keys are copied into the table's arena, which also holds the
// blocks' out-of-line state; clear() keeps every byte of memory for reuse.
// Groups are never erased one by one: a window's table is cleared as a whole.
// A hit in the first probed group (the common case) is resolved inline,
// keys up to 32 bytes compared without a call; the rest is out of line.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "key_inline.h"
#include "sluice/arena.h"

namespace sluice {

class GroupTable {
public:
    // block_size: bytes of one group's accumulator block (8-byte aligned).
    explicit GroupTable(uint32_t block_size, std::size_t arena_chunk_bytes = 64 * 1024);
    ~GroupTable();
    GroupTable(const GroupTable&) = delete;
    GroupTable& operator=(const GroupTable&) = delete;

    struct Hit {
        uint8_t* block;    // valid until the next insert
        uint32_t index;    // entry number (stable until clear)
        bool inserted;     // new group: the caller initialises the block
    };

    // Finds the group of (hash, key) or adds it. Growth is amortized.
    Hit find_or_insert(uint64_t hash, const uint8_t* key, uint32_t len) noexcept {
        const std::size_t g = static_cast<std::size_t>(hash) & group_mask_;
        for (uint64_t m = match_tag(load_group(ctrl_, g), tag_of(hash)); m != 0; m &= m - 1) {
            const uint32_t idx = index_[g * kGroup + lowest_byte(m)];
            const Header& h = header(idx);
            if (h.hash == hash && h.key_len == len && detail::key_bytes_equal(h.key, key, len)) [[likely]]
                return Hit{block_at(idx), idx, false};
        }
        return find_or_insert_slow(hash, key, len);
    }
    // Entry number of the group, or -1.
    int64_t find(uint64_t hash, const uint8_t* key, uint32_t len) const noexcept;
    // Warms the control group a later lookup of `hash` reads.
    void prefetch(uint64_t hash) const noexcept;

    uint32_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return capacity_; }

    // Entries in insertion order, 0 .. size()-1.
    uint64_t hash_at(uint32_t i) const noexcept { return header(i).hash; }
    const uint8_t* key_at(uint32_t i) const noexcept { return header(i).key; }
    uint32_t key_len_at(uint32_t i) const noexcept { return header(i).key_len; }
    uint8_t* block_at(uint32_t i) noexcept { return entries_ + std::size_t{i} * stride_ + sizeof(Header); }
    const uint8_t* block_at(uint32_t i) const noexcept {
        return entries_ + std::size_t{i} * stride_ + sizeof(Header);
    }

    // Drops every group; capacity and arena memory stay for reuse.
    void clear() noexcept;
    Arena& arena() noexcept { return arena_; }
    std::size_t memory_bytes() const noexcept;

private:
    static constexpr std::size_t kGroup = 8;
    static constexpr uint64_t kLsbs = 0x0101010101010101ULL;
    static constexpr uint64_t kMsbs = 0x8080808080808080ULL;

    static uint8_t tag_of(uint64_t hash) noexcept { return static_cast<uint8_t>((hash >> 25) & 0x7f); }
    static uint64_t load_group(const uint8_t* ctrl, std::size_t g) noexcept {
        uint64_t w;
        std::memcpy(&w, ctrl + g * kGroup, kGroup);
        return w;
    }
    // High bit of every byte equal to tag (rare false positives are checked by the caller).
    static uint64_t match_tag(uint64_t w, uint8_t tag) noexcept {
        const uint64_t x = w ^ (kLsbs * tag);
        return (x - kLsbs) & ~x & kMsbs;
    }
    static uint64_t match_empty(uint64_t w) noexcept { return w & kMsbs; }
    static std::size_t lowest_byte(uint64_t m) noexcept { return static_cast<std::size_t>(std::countr_zero(m)) >> 3; }

    // The whole probe: later groups, or an insert.
    Hit find_or_insert_slow(uint64_t hash, const uint8_t* key, uint32_t len) noexcept;
    int64_t probe(uint64_t hash, const uint8_t* key, uint32_t len, std::size_t* empty) const noexcept;

    struct Header {
        uint64_t hash;
        const uint8_t* key;
        uint32_t key_len;
        uint32_t pad;
    };
    static_assert(sizeof(Header) % 8 == 0);

    const Header& header(uint32_t i) const noexcept {
        return *reinterpret_cast<const Header*>(entries_ + std::size_t{i} * stride_);
    }
    std::size_t max_load() const noexcept { return capacity_ - capacity_ / 8; }
    // First empty slot on hash's probe sequence.
    std::size_t free_slot(uint64_t hash) const noexcept;
    [[gnu::noinline]] void grow() noexcept;
    void allocate(std::size_t capacity) noexcept;
    void free_entries() noexcept;

    uint8_t* ctrl_ = nullptr;
    uint32_t* index_ = nullptr;
    uint8_t* entries_ = nullptr;
    std::size_t entries_bytes_ = 0;  // reserved for max_load() entries
    bool entries_mapped_ = false;
    uint32_t high_water_ = 0;        // most entries ever written (pages a mapping holds)
    std::size_t capacity_ = 0;  // slots, a power of two >= 16
    std::size_t group_mask_ = 0;
    uint32_t size_ = 0;
    uint32_t stride_;
    Arena arena_;
};

}  // namespace sluice
