// Storage of ROWS-window state (SPEC §7): value slots, rings and the pool
// their blocks come from. Everything here is valid when zeroed and trivially
// copyable, so a partition's state can sit in a group-table block (moved with
// memcpy when the table grows); the bytes it points to live in the table's arena.
//
// A ring holds a function's last R values. It starts small and doubles up to
// R while a partition's first R rows arrive, so memory follows the rows a
// partition has rather than the declared BUFFER; an outgrown block goes back
// to the pool, where the next growing ring takes it. From its R-th row on, a
// partition allocates nothing (except for a string longer than any its slot
// held before).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sluice/arena.h"
#include "sluice/value.h"

namespace sluice::rows {

// One stored value. A string's bytes are copied into buf, which the slot
// keeps and reuses while later strings fit.
struct Slot {
    Value v;
    char* buf;
    uint32_t buf_cap;
    uint32_t row;  // deque entries: the row number modulo 2^32
};
static_assert(sizeof(Slot) == 32);

// Makes room for len bytes in s.buf (the old buffer stays in the arena).
void slot_reserve(Slot& s, uint32_t len, Arena& arena) noexcept;

inline void slot_store(Slot& s, const Value& v, Arena& arena) noexcept {
    if (v.type != Type::String) [[likely]] {
        std::memcpy(&s.v, &v, sizeof(Value));
        return;
    }
    if (v.len > s.buf_cap) [[unlikely]]
        slot_reserve(s, v.len, arena);
    if (v.len != 0) std::memcpy(s.buf, v.s, v.len);
    s.v.s = s.buf;
    s.v.len = v.len;
    s.v.type = Type::String;
}

// Blocks of growing rings, by power-of-two size class; a ring's final block
// (capacity R) is never given back.
class BlockPool {
public:
    explicit BlockPool(Arena& arena) noexcept : arena_(arena) {}
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;

    void* take_growing(std::size_t bytes) noexcept {
        const unsigned c = size_class(bytes);
        if (void* p = free_[c]) {
            std::memcpy(&free_[c], p, sizeof(void*));
            return p;
        }
        return arena_.alloc(std::size_t{1} << c, 16);
    }
    void* take_final(std::size_t bytes) noexcept { return arena_.alloc(bytes == 0 ? 1 : bytes, 16); }
    // p came from take_growing(bytes).
    void give(void* p, std::size_t bytes) noexcept {
        const unsigned c = size_class(bytes);
        std::memcpy(p, &free_[c], sizeof(void*));
        free_[c] = p;
    }

private:
    static unsigned size_class(std::size_t bytes) noexcept {
        return static_cast<unsigned>(std::bit_width((bytes < 16 ? std::size_t{16} : bytes) - 1));
    }

    Arena& arena_;
    void* free_[64] = {};
};

// The last R values of one function, elem bytes each; pos is where the
// current row goes. Until R rows arrived it has not wrapped (pos == row), so
// growing it is one copy.
struct Ring {
    uint8_t* data;
    uint32_t cap;
    uint32_t pos;
};

inline constexpr uint32_t kFirstRingCap = 4;

// Room for position r.pos: r.pos == r.cap < limit. Out of line (cold).
void ring_grow(Ring& r, uint32_t limit, uint32_t elem, BlockPool& pool) noexcept;

inline uint32_t ring_next(uint32_t pos, uint32_t limit) noexcept { return pos + 1 == limit ? 0 : pos + 1; }

template <class T>
inline T* ring_at(const Ring& r, uint32_t pos) noexcept {
    return reinterpret_cast<T*>(r.data) + pos;
}

// Makes r.pos writable (grows while the ring is filling).
inline void ring_ready(Ring& r, uint32_t limit, uint32_t elem, BlockPool& pool) noexcept {
    if (r.pos >= r.cap) [[unlikely]]
        ring_grow(r, limit, elem, pool);
}

}  // namespace sluice::rows
