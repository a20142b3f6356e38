// SpscRing. Memory order, one edge per direction:
//  (P1) producer flush():   write_pub_.store(release)  -- publishes headers and payloads
//  (C1) consumer front():   write_pub_.load(acquire)   -- pairs with P1
//  (C2) consumer release(): read_pub_.store(release)   -- all reads of popped messages are done
//  (P2) producer try_alloc(): read_pub_.load(acquire)  -- pairs with C2 before overwriting
// Each side reads its own index and its cached copy of the peer's index with
// plain loads; the peer's atomic is touched only when the cache says full/empty.
#include "sluice/spsc_ring.h"

#include <cassert>
#include <cstddef>
#include <cstring>
#include <new>
#include <stdexcept>

namespace sluice {

namespace {

constexpr uint32_t kHeader = 8;
// Length value of a header that pads the ring to its end.
constexpr uint32_t kSkip = UINT32_MAX;

inline uint32_t round8(uint32_t n) noexcept { return (n + 7u) & ~7u; }

inline void write_header(uint8_t* at, uint32_t len) noexcept { std::memcpy(at, &len, sizeof len); }

inline uint32_t read_header(const uint8_t* at) noexcept {
    uint32_t len;
    std::memcpy(&len, at, sizeof len);
    return len;
}

}  // namespace

SpscRing::SpscRing(uint32_t capacity_bytes) {
    if (capacity_bytes < 4096 || (capacity_bytes & (capacity_bytes - 1)) != 0) {
        throw std::invalid_argument("SpscRing capacity must be a power of two >= 4096");
    }
    static_assert(offsetof(SpscRing, read_pub_) - offsetof(SpscRing, write_pub_) >= 2 * kCacheLine,
                  "peer indices need a guard line between them");
    static_assert(offsetof(SpscRing, write_local_) - offsetof(SpscRing, write_pub_) >= 2 * kCacheLine);
    static_assert(offsetof(SpscRing, read_local_) - offsetof(SpscRing, read_pub_) >= 2 * kCacheLine);
    capacity_ = capacity_bytes;
    mask_ = capacity_bytes - 1;
    data_ = static_cast<uint8_t*>(::operator new(capacity_bytes, std::align_val_t(kCacheLine)));
    // First touch on the constructing (consumer's, pinned) thread.
    std::memset(data_, 0, capacity_bytes);
}

SpscRing::~SpscRing() { ::operator delete(data_, std::align_val_t(kCacheLine)); }

void* SpscRing::try_alloc(uint32_t bytes) noexcept {
    assert(bytes <= capacity_ / 4);
    if (bytes > capacity_ / 2) [[unlikely]] {
        return nullptr;  // could never fit (and must not overflow the size math)
    }
    const uint32_t need = kHeader + round8(bytes);
    const uint32_t off = write_local_ & mask_;
    const uint32_t to_end = capacity_ - off;
    // When the message does not fit before the end, the tail is wasted (skip).
    const uint32_t total = need <= to_end ? need : to_end + need;
    if (capacity_ - (write_local_ - read_cache_) < total) [[unlikely]] {
        read_cache_ = read_pub_.load(std::memory_order_acquire);  // (P2) pairs with (C2)
        if (capacity_ - (write_local_ - read_cache_) < total) {
            return nullptr;
        }
    }
    if (need > to_end) {
        // off is 8-aligned, so there is always room for the skip header.
        write_header(data_ + off, kSkip);
        write_local_ += to_end;
    }
    pending_ = bytes;
    return data_ + (write_local_ & mask_) + kHeader;
}

void SpscRing::push() noexcept {
    write_header(data_ + (write_local_ & mask_), pending_);
    write_local_ += kHeader + round8(pending_);
}

void SpscRing::flush() noexcept {
    write_pub_.store(write_local_, std::memory_order_release);  // (P1) pairs with (C1)
}

const void* SpscRing::front(uint32_t* bytes) noexcept {
    for (;;) {
        if (read_local_ == write_cache_) {
            write_cache_ = write_pub_.load(std::memory_order_acquire);  // (C1) pairs with (P1)
            if (read_local_ == write_cache_) {
                return nullptr;
            }
        }
        const uint32_t off = read_local_ & mask_;
        const uint32_t len = read_header(data_ + off);
        if (len == kSkip) [[unlikely]] {
            read_local_ += capacity_ - off;
            continue;
        }
        *bytes = len;
        return data_ + off + kHeader;
    }
}

void SpscRing::pop() noexcept {
    read_local_ += kHeader + round8(read_header(data_ + (read_local_ & mask_)));
}

void SpscRing::release() noexcept {
    read_pub_.store(read_local_, std::memory_order_release);  // (C2) pairs with (P2)
}

uint32_t SpscRing::occupancy() const noexcept {
    // Any thread. Reading the consumer index first (acquire) means the
    // producer index read after it is at least as new, so w - r never wraps.
    const uint32_t r = read_pub_.load(std::memory_order_acquire);
    const uint32_t w = write_pub_.load(std::memory_order_relaxed);
    return w - r;
}

}  // namespace sluice
