// Single-producer single-consumer ring of variable-length messages, the only
// channel between two shards. Producer and consumer indices live on their own
// cache lines with a guard line between them; each side caches the other's
// index and reloads it (acquire) only when the ring looks full or empty.
// Publishing is explicit and batched: push() stages a message locally,
// flush() makes everything pushed so far visible with one release store.
//
// Layout of the byte ring: each message is an 8-byte header (payload length)
// followed by the payload rounded up to 8 bytes, so every payload is 8-byte
// aligned. A message never straddles the end of the ring: when it would, a
// skip header pads to the end and the message starts again at offset 0.
// Indices are free-running uint32 byte counts (unsigned subtraction gives the
// fill level; `& mask_` gives the offset).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstddef>

#include "sluice/base.h"

namespace sluice {

class SpscRing {
public:
    // capacity_bytes: power of two, >= 4096. Memory is allocated by the
    // constructor, so construct on the consumer's thread after pinning.
    explicit SpscRing(uint32_t capacity_bytes);
    ~SpscRing();
    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    // Producer: space for one message of `bytes` (8-byte aligned, contiguous),
    // or nullptr when the ring is full. A message must be < capacity/4.
    [[nodiscard]] void* try_alloc(uint32_t bytes) noexcept;
    // Producer: finish the message last returned by try_alloc (still invisible).
    void push() noexcept;
    // Producer: make every pushed message visible to the consumer.
    void flush() noexcept;

    // Consumer: the next visible message (its size in *bytes), or nullptr.
    [[nodiscard]] const void* front(uint32_t* bytes) noexcept;
    // Consumer: drop the message returned by front (space is returned lazily).
    void pop() noexcept;
    // Consumer: hand consumed space back to the producer (one release store).
    void release() noexcept;

    uint32_t capacity() const noexcept { return capacity_; }
    // Approximate bytes in flight (for metrics).
    uint32_t occupancy() const noexcept;

private:
    // Read-only after construction, shared by both sides.
    alignas(kCacheLine) uint8_t* data_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t mask_ = 0;
    [[maybe_unused]] alignas(kCacheLine) char guard0_[kCacheLine];
    // Written by the producer on flush(), read by the consumer when it runs dry.
    alignas(kCacheLine) std::atomic<uint32_t> write_pub_{0};
    [[maybe_unused]] alignas(kCacheLine) char guard1_[kCacheLine];
    // Producer-private.
    alignas(kCacheLine) uint32_t write_local_ = 0;  // end of pushed messages
    uint32_t pending_ = 0;                          // payload bytes of the message being built
    uint32_t read_cache_ = 0;                       // cached consumer index
    [[maybe_unused]] alignas(kCacheLine) char guard2_[kCacheLine];
    // Written by the consumer on release(), read by the producer when full.
    alignas(kCacheLine) std::atomic<uint32_t> read_pub_{0};
    [[maybe_unused]] alignas(kCacheLine) char guard3_[kCacheLine];
    // Consumer-private.
    alignas(kCacheLine) uint32_t read_local_ = 0;  // position of the next message
    uint32_t write_cache_ = 0;                     // cached producer index
};

}  // namespace sluice
