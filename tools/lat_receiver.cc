#include "lat_receiver.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::lat {

RowReceiver::~RowReceiver() {
    for (Connection& c : conns_)
        if (c.fd >= 0) ::close(c.fd);
    if (fd_ >= 0) ::close(fd_);
}

bool RowReceiver::open(bool tcp, const gen::Endpoint& at, std::string& error) {
    tcp_ = tcp;
    fd_ = ::socket(at.family(), (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Rows of a burst wait here while the loop is sending: ask for a large
    // buffer (the kernel caps it at net.core.rmem_max).
    const int big = 16 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (::bind(fd_, at.sa(), at.len) != 0) {
        error = "bind " + at.text + ": " + std::strerror(errno);
        return false;
    }
    if (tcp && ::listen(fd_, 256) != 0) {
        error = "listen " + at.text + ": " + std::strerror(errno);
        return false;
    }
    address_.len = sizeof address_.addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address_.addr), &address_.len);
    address_.text = gen::endpoint_text(address_.addr);

    if (tcp) {
        stream_buf_.resize(1 << 20);
    } else {
        buffers_.assign(kBatch, std::vector<char>(kDatagramBytes));
        for (unsigned k = 0; k < kBatch; ++k) {
            iov_[k] = iovec{buffers_[k].data(), kDatagramBytes};
            msgs_[k].msg_hdr.msg_iov = &iov_[k];
            msgs_[k].msg_hdr.msg_iovlen = 1;
        }
    }
    return true;
}

int RowReceiver::receive_datagrams() noexcept {
    const int n = ::recvmmsg(fd_, msgs_, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
        // ECONNREFUSED and the like are reports about earlier sends, not about rows.
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++errors_;
        return 0;
    }
    datagrams_ += static_cast<uint64_t>(n);
    return n;
}

void RowReceiver::accept_connections() noexcept {
    while (true) {
        const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++errors_;
            return;
        }
        ++accepted_;
        Connection* slot = nullptr;
        for (Connection& c : conns_)
            if (c.fd < 0) slot = &c;
        if (slot == nullptr) slot = &conns_.emplace_back();
        slot->fd = fd;
        slot->lines = LineSplitter{};
    }
}

long RowReceiver::read_connection(Connection& c) noexcept {
    const ssize_t n = ::recv(c.fd, stream_buf_.data(), stream_buf_.size(), MSG_DONTWAIT);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    if (n < 0) ++errors_;
    // The sink closed (or reset) the connection: a row it cut is lost.
    truncated_bytes_ += c.lines.pending();
    ::close(c.fd);
    c.fd = -1;
    return 0;
}

}  // namespace sluice::lat
