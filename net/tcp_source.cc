#include "net/tcp_source.h"

#include <unistd.h>

#include <cerrno>
#include <new>

namespace sluice::net {

Result<std::unique_ptr<TcpSource>> TcpSource::open(Uring& ring, const TcpConfig& config, uint8_t owner) {
    if (config.max_connections == 0 || config.max_connections > 65535) {
        return Error{"tcp source: max_connections must be in 1..65535, not " +
                     std::to_string(config.max_connections)};
    }
    if (config.max_record_bytes == 0) return Error{"tcp source: max_record_bytes must be positive"};
    auto ep = parse_endpoint(config.host, config.port);
    if (!ep) return ep.error();
    std::unique_ptr<TcpSource> s(new TcpSource(ring, owner));
    auto fd = open_tcp_listener(*ep, config.rcvbuf, config.backlog);
    if (!fd) return fd.error();
    s->listener_ = std::move(fd.value());
    s->port_ = bound_port(s->listener_.get());
    s->endpoint_ = config.port == 0 ? parse_endpoint(config.host, s->port_)->text : ep->text;
    auto bufs = BufRing::create(ring, config.buffers, config.buffer_bytes);
    if (!bufs) return Error{"tcp " + s->endpoint_ + ": " + bufs.error().message};
    s->bufs_ = std::move(bufs.value());

    s->max_record_ = config.max_record_bytes;
    s->buffer_bytes_ = config.buffer_bytes;
    s->scan_ = config.buffer_bytes > config.max_record_bytes;
    s->multishot_recv_ = config.multishot && ring.features().recv_multishot;
    s->multishot_accept_ = config.multishot && ring.features().accept_multishot;
    // Every fixed-size table is sized here: nothing grows per connection or record.
    s->conns_.resize(config.max_connections);
    s->free_.reserve(config.max_connections);
    for (uint32_t i = config.max_connections; i-- > 0;) s->free_.push_back(i);
    s->arm_queue_.resize(config.max_connections);
    // While paused: at most one completion per buffer plus one final one per connection.
    s->parked_.resize(std::size_t{config.buffers} + config.max_connections);
    s->arm_accept();
    return s;
}

TcpSource::~TcpSource() {
    ring_.submit();  // nothing of ours may stay queued: cancel only sees submitted requests
    if (listener_.valid()) {
        if (accept_armed_) ring_.cancel_fd(listener_.get());
        listener_.reset();
    }
    for (Conn& c : conns_) {
        if (!c.open) continue;
        if (c.armed) ring_.cancel_fd(c.fd);
        ::close(c.fd);
    }
    bufs_.reset();  // unregisters the buffer group: after the receives are gone
}

void TcpSource::arm_accept() noexcept {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (!sqe) [[unlikely]] {
        ++counters_.errors;  // the next flush() tries again
        return;
    }
    if (multishot_accept_) {
        io_uring_prep_multishot_accept(sqe, listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    } else {
        io_uring_prep_accept(sqe, listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    }
    io_uring_sqe_set_data64(sqe, user_data(OpKind::tcp_accept, owner_));
    accept_armed_ = true;
}

bool TcpSource::arm_recv(uint32_t slot) noexcept {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (!sqe) [[unlikely]] {
        ++counters_.errors;
        return false;
    }
    Conn& c = conns_[slot];
    if (multishot_recv_) {
        io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    } else {
        io_uring_prep_recv(sqe, c.fd, nullptr, buffer_bytes_, 0);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = bufs_->group();
    io_uring_sqe_set_data64(sqe, recv_data(slot));
    c.armed = true;
    return true;
}

void TcpSource::schedule_arm(uint32_t slot) noexcept {
    Conn& c = conns_[slot];
    if (c.queued) return;
    c.queued = true;
    arm_queue_[(arm_head_ + arm_count_) % arm_queue_.size()] = slot;
    ++arm_count_;
}

void TcpSource::flush() noexcept {
    bufs_->commit();
    if (!accept_armed_) {
        ++counters_.rearms;
        arm_accept();
    }
    if (paused_) return;
    while (arm_count_ > 0) {
        const uint32_t slot = arm_queue_[arm_head_];
        Conn& c = conns_[slot];
        if (c.open && !c.armed) {
            // Without buffers the receive would only end with -ENOBUFS again.
            if (bufs_->kernel_owned() == 0) break;
            if (!arm_recv(slot)) break;
            if (!c.fresh) ++counters_.rearms;
            c.fresh = false;
        }
        c.queued = false;
        arm_head_ = (arm_head_ + 1) % arm_queue_.size();
        --arm_count_;
    }
}

void TcpSource::on_accept(const io_uring_cqe& cqe) noexcept {
    if (!(cqe.flags & IORING_CQE_F_MORE)) accept_armed_ = false;
    if (cqe.res < 0) [[unlikely]] {
        if (cqe.res == -EINVAL && multishot_accept_ && !accept_ok_) {
            // The kernel refused the multishot request itself.
            multishot_accept_ = false;
            ring_.features().accept_multishot = false;
        } else if (cqe.res != -ECANCELED) {
            ++counters_.errors;
        }
        return;
    }
    accept_ok_ = true;
    if (free_.empty()) {
        ::close(cqe.res);
        ++counters_.refused;
        return;
    }
    const uint32_t slot = free_.back();
    free_.pop_back();
    Conn& c = conns_[slot];
    c.fd = cqe.res;
    c.open = true;
    c.armed = false;
    c.fresh = true;
    c.skipping = false;
    c.tail_len = 0;
    ++open_count_;
    ++counters_.accepted;
    schedule_arm(slot);
}

bool TcpSource::on_recv_status(int res) noexcept {
    switch (res) {
    case -ENOBUFS: ++counters_.enobufs; return true;  // flush() re-arms once buffers are back
    case -ECANCELED: return true;                     // pause(): resume() re-arms
    case -EINVAL:
        if (multishot_recv_ && !recv_ok_) {
            // The kernel refused the multishot request itself.
            multishot_recv_ = false;
            ring_.features().recv_multishot = false;
            return true;
        }
        return false;
    default: return false;  // a reset: process() closes the connection
    }
}

void TcpSource::close_conn(uint32_t slot) noexcept {
    Conn& c = conns_[slot];
    ::close(c.fd);
    c.fd = -1;
    c.open = false;
    ++c.gen;
    free_.push_back(slot);
    --open_count_;
}

void TcpSource::park(uint32_t slot, int res, uint32_t flags, uint32_t offset) noexcept {
    if (parked_count_ == parked_.size()) [[unlikely]] {
        // Cannot happen (see open()); never lose a buffer if it does.
        ++counters_.errors;
        if (res > 0) bufs_->recycle(static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT));
        return;
    }
    parked_[(parked_head_ + parked_count_) % parked_.size()] = Parked{slot, res, flags, offset};
    ++parked_count_;
}

void TcpSource::pause() noexcept {
    if (paused_) return;
    paused_ = true;
    for (uint32_t s = 0; s < conns_.size(); ++s) {
        const Conn& c = conns_[s];
        if (!c.open || !c.armed) continue;
        io_uring_sqe* sqe = ring_.get_sqe();
        if (!sqe) [[unlikely]] {
            ++counters_.errors;  // its completions are parked all the same
            continue;
        }
        io_uring_prep_cancel64(sqe, recv_data(s), 0);
        io_uring_sqe_set_data64(sqe, user_data(OpKind::tcp_cancel, owner_, s));
    }
    ring_.submit();
}

bool TcpSource::reserve_tail(Conn& c, std::size_t need) noexcept {
    if (need + kPadding <= c.tail_cap) return true;
    // Grows to the longest line seen (at most max_record + '\r' + '\n'), then stays.
    const std::size_t limit = max_record_ + 2 + kPadding;
    std::size_t cap = std::max<std::size_t>({need + kPadding, c.tail_cap * 2, 256});
    cap = std::min(cap, std::max(limit, need + kPadding));
    std::unique_ptr<char[]> t(new (std::nothrow) char[cap]());
    if (!t) [[unlikely]] {
        ++counters_.errors;
        return false;
    }
    if (c.tail_len) std::memcpy(t.get(), c.tail.get(), c.tail_len);
    c.tail = std::move(t);
    c.tail_cap = cap;
    return true;
}

}  // namespace sluice::net
