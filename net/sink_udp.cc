#include "net/sink_udp.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "net/sink_batch.h"

namespace sluice::net {
namespace {
constexpr uint32_t kOpSend = 1;
}  // namespace

UdpSink::UdpSink(io_uring* ring, uint64_t tag, const sockaddr_storage& dest, const SinkConfig& config)
    : ring_(ring),
      tag_(tag & kSinkTagMask),
      dest_(dest),
      datagram_bytes_(std::clamp<std::size_t>(config.datagram_bytes, 1, kMaxDatagram)),
      batch_bytes_(std::clamp<std::size_t>(config.batch_bytes, 1, kMaxBatch)),
      flush_ns_(us_to_ns(config.flush_us)),
      cap_(std::max(batch_bytes_, kMaxDatagram)),
      // Not value-initialized: pages are first touched by the shard that writes them.
      data_(new char[cap_ * kBuffers]),
      dgrams_(new Dgram[std::size_t{kBuffers} * kMaxDatagramsPerBuffer]) {}

UdpSink::~UdpSink() {
    if (fd_ >= 0) ::close(fd_);
}

Result<bool> UdpSink::open() {
    if (fd_ >= 0) return true;
    const std::string where = "udp sink " + sink_addr_string(dest_);
    const socklen_t len = sink_addr_len(dest_);
    if (len == 0) return Error{where + ": destination must be IPv4 or IPv6"};
    Result<bool> probed = sink_probe(ring_, {IORING_OP_SEND}, where.c_str());
    if (!probed) return probed;
    int fd = ::socket(dest_.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error{where + ": socket: " + std::strerror(errno)};
    // Connected: the kernel resolves the route once, and sends need no address.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&dest_), len) != 0) {
        const int err = errno;
        ::close(fd);
        return Error{where + ": connect: " + std::strerror(err)};
    }
    fd_ = fd;
    closed_ = false;
    return true;
}

void UdpSink::append(const char* rows, std::size_t n) noexcept {
    const char* p = rows;
    const char* end = rows + n;
    while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        const char* row_end = nl ? static_cast<const char*>(nl) + 1 : end;
        add_row(p, static_cast<std::size_t>(row_end - p));
        p = row_end;
    }
    prepare_pending();
}

void UdpSink::add_row(const char* row, std::size_t len) noexcept {
    if (closed_ || fd_ < 0) [[unlikely]] {
        ++c_.rows_dropped_closed;
        return;
    }
    if (len > kMaxDatagram) [[unlikely]] {
        ++c_.rows_dropped_oversize;
        return;
    }
    if (!take_fill_buffer()) [[unlikely]] {
        ++c_.rows_dropped_busy;
        return;
    }
    Buf* b = &bufs_[fill_];
    Dgram* d = dgrams(fill_);
    // A row longer than datagram_bytes always opens (and fills) its own datagram.
    bool open_new = b->n_dgrams == 0 || d[b->n_dgrams - 1].len + len > datagram_bytes_;
    if (b->used + len > cap_ || (open_new && b->n_dgrams == kMaxDatagramsPerBuffer)) {
        seal();
        if (!take_fill_buffer()) {
            ++c_.rows_dropped_busy;
            return;
        }
        b = &bufs_[fill_];
        d = dgrams(fill_);
        open_new = true;
    }
    if (open_new) d[b->n_dgrams++] = Dgram{b->used, 0, 0};
    Dgram& g = d[b->n_dgrams - 1];
    std::memcpy(data(fill_) + b->used, row, len);
    b->used += static_cast<uint32_t>(len);
    g.len += static_cast<uint32_t>(len);
    ++g.rows;
    if (b->used >= batch_bytes_) seal();
}

bool UdpSink::take_fill_buffer() noexcept {
    Buf& b = bufs_[fill_];
    if (b.state == BufState::kFilling) return true;
    if (b.state != BufState::kFree) return false;  // still in flight
    b.state = BufState::kFilling;
    fill_since_ns_ = now_ns_;
    return true;
}

void UdpSink::seal() noexcept {
    Buf& b = bufs_[fill_];
    if (b.state != BufState::kFilling) return;
    if (b.n_dgrams == 0) {
        reset(b);
        return;
    }
    b.state = BufState::kSealed;
    fill_ = (fill_ + 1) % kBuffers;
}

// Sealed buffers are prepared in the order they were sealed, so datagrams
// leave in row order (the kernel may still reorder under send-buffer pressure).
void UdpSink::prepare_pending() noexcept {
    for (unsigned visited = 0; visited < kBuffers; ++visited) {
        Buf& b = bufs_[prepare_];
        if (b.state != BufState::kSealed || b.n_prepared == b.n_dgrams) return;
        const Dgram* d = dgrams(prepare_);
        while (b.n_prepared < b.n_dgrams) {
            io_uring_sqe* sqe = io_uring_get_sqe(ring_);
            if (sqe == nullptr) [[unlikely]] {
                ++c_.sq_full;  // the next poll() retries after the loop submits
                return;
            }
            const Dgram& g = d[b.n_prepared];
            io_uring_prep_send(sqe, fd_, data(prepare_) + g.off, g.len, 0);
            io_uring_sqe_set_data64(sqe, sink_user_data(tag_, kOpSend, prepare_, b.n_prepared));
            ++b.n_prepared;
            ++in_flight_;
        }
        prepare_ = (prepare_ + 1) % kBuffers;
    }
}

void UdpSink::reset(Buf& b) noexcept { b = Buf{}; }

void UdpSink::poll(uint64_t now_ns) noexcept {
    now_ns_ = now_ns;
    const Buf& b = bufs_[fill_];
    if (b.state == BufState::kFilling && now_ns - fill_since_ns_ >= flush_ns_) seal();
    prepare_pending();
}

void UdpSink::flush() noexcept {
    seal();
    prepare_pending();
}

void UdpSink::on_cqe(const io_uring_cqe& cqe) noexcept {
    const uint64_t ud = cqe.user_data;
    if (sink_op(ud) != kOpSend) [[unlikely]] return;
    const unsigned bi = sink_a(ud);
    const unsigned di = sink_b(ud);
    if (bi >= kBuffers || di >= kMaxDatagramsPerBuffer) [[unlikely]] return;
    Buf& b = bufs_[bi];
    const Dgram& g = dgrams(bi)[di];
    if (cqe.res >= 0) [[likely]] {
        ++c_.datagrams;
        c_.bytes += static_cast<uint64_t>(cqe.res);
        c_.rows += g.rows;
    } else {
        // ECONNREFUSED (nobody listening yet) is routine for UDP: count, go on.
        ++c_.send_errors;
        c_.rows_send_failed += g.rows;
        c_.last_error = -cqe.res;
    }
    --in_flight_;
    if (++b.n_done == b.n_dgrams) reset(b);
    if (closed_ && in_flight_ == 0 && fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool UdpSink::idle() const noexcept {
    if (in_flight_ != 0) return false;
    for (const Buf& b : bufs_) {
        if (b.state != BufState::kFree) return false;
    }
    return true;
}

void UdpSink::close() noexcept {
    if (closed_) return;
    closed_ = true;
    for (unsigned i = 0; i < kBuffers; ++i) {
        Buf& b = bufs_[i];
        if (b.state == BufState::kFree) continue;
        const Dgram* d = dgrams(i);
        // Datagrams not yet handed to the ring are dropped; prepared ones complete.
        for (unsigned k = b.n_prepared; k < b.n_dgrams; ++k) c_.rows_dropped_closed += d[k].rows;
        b.n_dgrams = b.n_prepared;
        if (b.state == BufState::kFilling || b.n_done == b.n_dgrams) reset(b);
    }
    if (in_flight_ == 0 && fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

}  // namespace sluice::net
