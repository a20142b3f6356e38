// A provided buffer ring: N buffers (N a power of two) that the kernel picks
// from for receives with IOSQE_BUFFER_SELECT. Built with mmap +
// io_uring_register_buf_ring (liburing 2.3 has no io_uring_setup_buf_ring).
//
// Memory: one mapping, the ring entries first (page aligned), then N slots.
// Each slot is the kernel_bytes the kernel may write plus kPadding bytes it
// never writes, so a record ending anywhere in a buffer has kPadding readable
// bytes after it (the decoder reads up to 64 bytes past a record). Slots are
// cache-line aligned.
//
// Ownership of a buffer: kernel -> (CQE) acquire() -> caller -> recycle() ->
// pending -> commit() -> kernel. Recycles are batched: one release store
// publishes all pending buffers.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/uring.h"
#include "sluice/result.h"

namespace sluice::net {

// Readable bytes after every received byte; equals kDecodePadding (sluice/decode.h).
inline constexpr std::size_t kPadding = 64;

class BufRing {
public:
    // count: power of two, at most 32768. kernel_bytes: what the kernel may
    // write into one buffer. The ring must outlive this object.
    static Result<std::unique_ptr<BufRing>> create(Uring& ring, unsigned count, unsigned kernel_bytes);
    ~BufRing();
    BufRing(const BufRing&) = delete;
    BufRing& operator=(const BufRing&) = delete;

    [[nodiscard]] uint16_t group() const noexcept { return bgid_; }
    [[nodiscard]] unsigned count() const noexcept { return count_; }
    [[nodiscard]] unsigned kernel_bytes() const noexcept { return kernel_bytes_; }
    // Buffers the kernel can still pick (as far as this side knows).
    [[nodiscard]] unsigned kernel_owned() const noexcept { return kernel_owned_; }

    [[nodiscard]] char* buffer(uint16_t bid) const noexcept { return base_ + std::size_t{bid} * stride_; }

    // The kernel handed buffer bid back in a CQE.
    [[nodiscard]] char* acquire(uint16_t bid) noexcept {
        --kernel_owned_;
        return buffer(bid);
    }

    // Queues bid for the kernel; published by commit(), or here once a batch is full.
    void recycle(uint16_t bid) noexcept {
        io_uring_buf_ring_add(br_, buffer(bid), kernel_bytes_, bid, static_cast<int>(mask_),
                              static_cast<int>(pending_));
        if (++pending_ == batch_) commit();
    }

    // Publishes all pending buffers with one release store.
    void commit() noexcept {
        if (pending_ == 0) return;
        io_uring_buf_ring_advance(br_, static_cast<int>(pending_));
        kernel_owned_ += pending_;
        pending_ = 0;
    }

private:
    BufRing(Uring& ring) : ring_(ring) {}

    Uring& ring_;
    io_uring_buf_ring* br_ = nullptr;
    char* base_ = nullptr;
    void* map_ = nullptr;
    std::size_t map_bytes_ = 0;
    std::size_t stride_ = 0;
    unsigned count_ = 0;
    unsigned mask_ = 0;
    unsigned kernel_bytes_ = 0;
    unsigned kernel_owned_ = 0;
    unsigned pending_ = 0;
    unsigned batch_ = 0;
    uint16_t bgid_ = 0;
    bool registered_ = false;
};

}  // namespace sluice::net
