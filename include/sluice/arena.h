// Bump allocator in chunks: group keys, out-of-line accumulator state and
// per-record scratch strings. reset() keeps the chunks, so a steady state
// that resets per batch allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice {

class Arena {
public:
    // chunk_bytes: the largest regular chunk (the first ones are smaller).
    explicit Arena(std::size_t chunk_bytes = 64 * 1024);
    ~Arena();
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    // n bytes aligned to `align` (power of two <= 64). Oversized requests get their own chunk.
    [[nodiscard]] void* alloc(std::size_t n, std::size_t align = 8) {
        if (current_ < chunks_.size()) [[likely]] {
            const Chunk& c = chunks_[current_];
            const std::size_t off = (used_ + align - 1) & ~(align - 1);
            if (off <= c.size && n <= c.size - off) [[likely]] {
                used_ = off + n;
                return c.data + off;
            }
        }
        return alloc_slow(n, align);
    }
    // Forget every allocation but keep the memory for reuse.
    void reset() noexcept;
    // Bytes obtained from the system (for state-size metrics).
    std::size_t reserved_bytes() const noexcept { return reserved_; }

private:
    struct Chunk {
        uint8_t* data;
        std::size_t size;
    };
    void* alloc_slow(std::size_t n, std::size_t align);

    // chunks_[0, current_) are filled, chunks_[current_] is being filled
    // (used_ bytes), the rest are free. New chunks double in size up to
    // chunk_bytes_; a request larger than that gets a chunk of its own size.
    std::vector<Chunk> chunks_;
    std::size_t current_ = 0;  // index of the chunk being filled
    std::size_t used_ = 0;     // bytes used in it
    std::size_t chunk_bytes_;
    std::size_t reserved_ = 0;
};

}  // namespace sluice
