// Arena: chunks are 64-byte aligned, so any alignment <= 64 is a rounding of
// the offset. A request that does not fit moves on to the next free chunk (one
// big enough is swapped forward) or allocates one; after reset() the same
// sequence of requests finds the chunks it grew, so it allocates nothing.
#include "sluice/arena.h"

#include <algorithm>
#include <new>
#include <utility>

#include "sluice/base.h"

namespace sluice {

namespace {
constexpr std::size_t kFirstChunk = 256;
}  // namespace

Arena::Arena(std::size_t chunk_bytes) : chunk_bytes_(std::max<std::size_t>(chunk_bytes, kCacheLine)) {}

Arena::~Arena() {
    for (const Chunk& c : chunks_) {
        ::operator delete(c.data, std::align_val_t(kCacheLine));
    }
}

// The current chunk is full (or there is none).
void* Arena::alloc_slow(std::size_t n, std::size_t align) {
    (void)align;  // a fresh chunk starts 64-byte aligned
    const bool oversized = n > chunk_bytes_;
    const bool have_current = current_ < chunks_.size();
    const std::size_t first_free = have_current ? current_ + 1 : current_;

    // Reuse a free chunk that can hold n, else get a new one from the system;
    // either way it ends up at index first_free.
    std::size_t found = chunks_.size();
    for (std::size_t i = first_free; i < chunks_.size(); ++i) {
        if (chunks_[i].size >= n) {
            found = i;
            break;
        }
    }
    if (found < chunks_.size()) {
        std::swap(chunks_[found], chunks_[first_free]);
    } else {
        // Chunks double from a small first one up to chunk_bytes_: thousands of
        // open windows with a few groups each must not cost a full chunk each.
        const std::size_t grow = std::clamp<std::size_t>(reserved_, kFirstChunk, chunk_bytes_);
        const std::size_t size = std::max(n, grow);
        auto* data = static_cast<uint8_t*>(::operator new(size, std::align_val_t(kCacheLine)));
        chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(first_free), Chunk{data, size});
        reserved_ += size;
    }

    if (oversized && have_current) {
        // The big request takes its chunk whole; the chunk being filled keeps
        // its place as current, so its free tail is not wasted.
        std::swap(chunks_[current_], chunks_[first_free]);
        ++current_;
        return chunks_[current_ - 1].data;
    }
    current_ = first_free;
    used_ = n;
    return chunks_[current_].data;
}

void Arena::reset() noexcept {
    current_ = 0;
    used_ = 0;
}

}  // namespace sluice
