#include "net/buf_ring.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <string>

#include "sluice/base.h"

namespace sluice::net {
namespace {

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

}  // namespace

Result<std::unique_ptr<BufRing>> BufRing::create(Uring& ring, unsigned count, unsigned kernel_bytes) {
    if (count == 0 || count > 32768 || !std::has_single_bit(count)) {
        return Error{"buffer ring: the buffer count must be a power of two up to 32768, not " + std::to_string(count)};
    }
    if (kernel_bytes == 0) return Error{"buffer ring: buffers must hold at least one byte"};

    std::unique_ptr<BufRing> b(new BufRing(ring));
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t ring_bytes = round_up(std::size_t{count} * sizeof(io_uring_buf), page);
    b->stride_ = round_up(std::size_t{kernel_bytes} + kPadding, kCacheLine);
    b->map_bytes_ = ring_bytes + std::size_t{count} * b->stride_;
    // Populated here, on the owning shard's thread: first touch on its NUMA node.
    void* map = mmap(nullptr, b->map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (map == MAP_FAILED) {
        return Error{"buffer ring: cannot map " + std::to_string(b->map_bytes_) + " bytes: " + std::strerror(errno)};
    }
    b->map_ = map;
    b->br_ = static_cast<io_uring_buf_ring*>(map);
    b->base_ = static_cast<char*>(map) + ring_bytes;
    b->count_ = count;
    b->mask_ = static_cast<unsigned>(io_uring_buf_ring_mask(count));
    b->kernel_bytes_ = kernel_bytes;
    b->batch_ = std::clamp(count / 4, 1u, 32u);
    b->bgid_ = ring.next_buffer_group();

    io_uring_buf_ring_init(b->br_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(b->br_);
    reg.ring_entries = count;
    reg.bgid = b->bgid_;
    if (int ret = io_uring_register_buf_ring(ring.raw(), &reg, 0); ret < 0) {
        if (ret == -EINVAL) return Error{"io_uring lacks provided buffer rings (Linux >= 5.19 needed)"};
        return Error{std::string("buffer ring: cannot register: ") + std::strerror(-ret)};
    }
    b->registered_ = true;

    for (unsigned i = 0; i < count; ++i) {
        io_uring_buf_ring_add(b->br_, b->buffer(static_cast<uint16_t>(i)), kernel_bytes, static_cast<uint16_t>(i),
                              static_cast<int>(b->mask_), static_cast<int>(i));
    }
    io_uring_buf_ring_advance(b->br_, static_cast<int>(count));
    b->kernel_owned_ = count;
    return b;
}

BufRing::~BufRing() {
    if (registered_) io_uring_unregister_buf_ring(ring_.raw(), bgid_);
    if (map_) munmap(map_, map_bytes_);
}

}  // namespace sluice::net
