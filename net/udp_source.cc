#include "net/udp_source.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace sluice::net {

Result<std::unique_ptr<UdpSource>> UdpSource::open(Uring& ring, const UdpConfig& config, uint8_t owner) {
    if (config.max_datagram == 0 || config.max_datagram > 65536) {  // [limits] udp_buffer_bytes allows 64 KiB
        return Error{"udp source: max_datagram must be in 1..65536, not " + std::to_string(config.max_datagram)};
    }
    auto ep = parse_endpoint(config.host, config.port);
    if (!ep) return ep.error();
    std::unique_ptr<UdpSource> s(new UdpSource(ring, owner));
    auto fd = open_udp_socket(*ep, config.rcvbuf);
    if (!fd) return fd.error();
    s->fd_ = std::move(fd.value());
    s->port_ = bound_port(s->fd_.get());
    s->endpoint_ = config.port == 0 ? parse_endpoint(config.host, s->port_)->text : ep->text;
    s->max_datagram_ = config.max_datagram;
    s->single_shot_ = !config.multishot || !ring.features().recv_multishot;
    // The kernel reports its drops at this socket with each datagram (best
    // effort: without it the counter stays 0).
    const int one = 1;
    if (::setsockopt(s->fd_.get(), SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) == 0)
        s->msg_.msg_controllen = CMSG_SPACE(sizeof(uint32_t));
    // Multishot recvmsg puts an io_uring_recvmsg_out header (and the control
    // data) before the payload.
    auto bufs = BufRing::create(ring, config.buffers,
                                config.max_datagram + static_cast<unsigned>(sizeof(io_uring_recvmsg_out)) +
                                    static_cast<unsigned>(s->msg_.msg_controllen));
    if (!bufs) return Error{"udp " + s->endpoint_ + ": " + bufs.error().message};
    s->bufs_ = std::move(bufs.value());
    s->arm();
    return s;
}

UdpSource::~UdpSource() {
    // A receive still in the SQ would reach the kernel after msg_ is gone.
    ring_.submit();
    if (armed_ && fd_.valid()) ring_.cancel_fd(fd_.get());
    fd_.reset();
    bufs_.reset();  // unregisters the buffer group: after the receive is gone
}

void UdpSource::arm() noexcept {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (!sqe) [[unlikely]] {
        ++counters_.errors;  // the next flush() tries again
        return;
    }
    if (single_shot_) {
        // MSG_TRUNC: the result is the datagram's full length, so truncation shows.
        io_uring_prep_recv(sqe, fd_.get(), nullptr, max_datagram_, MSG_TRUNC);
    } else {
        io_uring_prep_recvmsg_multishot(sqe, fd_.get(), &msg_, 0);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = bufs_->group();
    io_uring_sqe_set_data64(sqe, user_data(OpKind::udp_recv, owner_));
    armed_ = true;
}

void UdpSource::read_drop_count(io_uring_recvmsg_out* out) noexcept {
    for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(out, &msg_); c != nullptr;
         c = io_uring_recvmsg_cmsg_nexthdr(out, &msg_, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
            uint32_t drops;
            std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
            counters_.kernel_dropped = drops;  // cumulative for the socket
        }
    }
}

void UdpSource::on_failure(const io_uring_cqe& cqe) noexcept {
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        // Not expected with a failure; never lose the buffer if it happens.
        const auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        (void)bufs_->acquire(bid);
        bufs_->recycle(bid);
    }
    const int res = cqe.res;
    if (res >= 0) {
        ++counters_.errors;  // a datagram without a buffer
    } else if (res == -ENOBUFS) {
        ++counters_.enobufs;
    } else if (res == -EINVAL && !single_shot_ && !received_) {
        // The kernel refused the multishot request itself.
        single_shot_ = true;
        ring_.features().recv_multishot = false;
    } else if (res != -ECANCELED) {
        ++counters_.errors;
    }
}

}  // namespace sluice::net
