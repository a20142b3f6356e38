#include "gen_send.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pacer.h"

namespace sluice::gen {
namespace {

std::string errno_text(const char* what, const Endpoint& to, int err) {
    return std::string(what) + " " + to.text + ": " + std::strerror(err);
}

}  // namespace

// ------------------------------------------------------------------ UDP

UdpSender::~UdpSender() {
    if (fd_ >= 0) ::close(fd_);
}

bool UdpSender::open(const Endpoint& to, bool nonblocking, std::string& error) {
    fd_ = ::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = errno_text("UDP socket for", to, errno);
        return false;
    }
    if (::connect(fd_, to.sa(), to.len) != 0) {
        error = errno_text("UDP connect to", to, errno);
        return false;
    }
    flags_ = nonblocking ? MSG_DONTWAIT : 0;
    for (unsigned k = 0; k < kBatch; ++k) {
        msgs_[k].msg_hdr.msg_iov = &iov_[k];
        msgs_[k].msg_hdr.msg_iovlen = 1;
    }
    return true;
}

void UdpSender::send(std::span<const Datagram> datagrams) noexcept {
    std::size_t at = 0;
    while (at < datagrams.size()) {
        const auto n = static_cast<unsigned>(std::min<std::size_t>(kBatch, datagrams.size() - at));
        for (unsigned k = 0; k < n; ++k) {
            iov_[k].iov_base = const_cast<char*>(datagrams[at + k].data);
            iov_[k].iov_len = datagrams[at + k].bytes;
        }
        int sent;
        if (n == 1) {
            sent = ::send(fd_, iov_[0].iov_base, iov_[0].iov_len, flags_) < 0 ? -1 : 1;
        } else {
            sent = ::sendmmsg(fd_, msgs_, n, flags_);
        }
        if (sent < 0) {
            if (errno == EINTR) continue;
            // The first datagram was refused: count it and go on with the next.
            ++counters_.errors;
            counters_.last_error = errno;
            counters_.records_dropped += datagrams[at].records;
            ++at;
            continue;
        }
        for (int k = 0; k < sent; ++k) {
            const Datagram& d = datagrams[at + static_cast<std::size_t>(k)];
            ++counters_.packets;
            counters_.records += d.records;
            counters_.bytes += d.bytes;
        }
        at += static_cast<std::size_t>(sent);
    }
}

// ------------------------------------------------------------------ TCP

TcpSender::~TcpSender() { close(); }

bool TcpSender::open(const Endpoint& to, unsigned connections, bool nodelay, std::string& error) {
    for (unsigned k = 0; k < connections; ++k) {
        Connection c;
        c.fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            error = errno_text("TCP socket for", to, errno);
            return false;
        }
        conns_.push_back(std::move(c));
        int rc;
        do {
            rc = ::connect(conns_.back().fd, to.sa(), to.len);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            error = errno_text("TCP connect to", to, errno);
            return false;
        }
        const int one = 1;
        if (nodelay) ::setsockopt(conns_.back().fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::fcntl(conns_.back().fd, F_SETFL, ::fcntl(conns_.back().fd, F_GETFL) | O_NONBLOCK);
    }
    return true;
}

void TcpSender::drop(Connection& c, int err) noexcept {
    // Lines not written in full are lost with the connection.
    const std::string_view unsent(c.pending.data() + c.sent, c.pending.size() - c.sent);
    const auto lines = static_cast<uint64_t>(std::count(unsent.begin(), unsent.end(), '\n'));
    counters_.records -= lines;
    counters_.records_dropped += lines;
    counters_.bytes -= unsent.size();
    ++counters_.errors;
    counters_.last_error = err;
    ::close(c.fd);
    c.fd = -1;
    c.pending.clear();
    c.sent = 0;
}

bool TcpSender::write_some(Connection& c) noexcept {
    while (c.sent < c.pending.size()) {
        const ssize_t w = ::send(c.fd, c.pending.data() + c.sent, c.pending.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
            drop(c, errno);
            return false;
        }
        c.sent += static_cast<std::size_t>(w);
    }
    // Everything written: reuse the buffer from its start.
    c.pending.clear();
    c.sent = 0;
    return true;
}

bool TcpSender::queue(const char* data, std::size_t bytes, uint64_t records) {
    for (std::size_t tries = 0; tries < conns_.size(); ++tries) {
        Connection& c = conns_[next_];
        next_ = (next_ + 1) % static_cast<unsigned>(conns_.size());
        if (c.fd < 0) continue;
        if (c.sent > 0 && c.sent >= c.pending.size() / 2) {  // keep the buffer from growing without end
            c.pending.erase(0, c.sent);
            c.sent = 0;
        }
        c.pending.append(data, bytes);
        ++counters_.packets;
        counters_.records += records;
        counters_.bytes += bytes;
        write_some(c);
        return true;
    }
    return false;
}

bool TcpSender::flush_nonblocking() noexcept {
    bool empty = true;
    for (Connection& c : conns_) {
        if (c.fd < 0) continue;
        write_some(c);
        if (c.fd >= 0 && c.sent < c.pending.size()) empty = false;
    }
    return empty;
}

bool TcpSender::wait_queued_at_most(std::size_t bytes, const std::atomic<bool>* stop, int64_t deadline_ns) {
    std::vector<pollfd> fds;
    while (true) {
        flush_nonblocking();
        if (live_connections() == 0) return false;
        if (queued_bytes() <= bytes) return true;
        if (stop != nullptr && stop->load(std::memory_order_relaxed)) return true;
        if (monotonic_ns() >= deadline_ns) return true;
        fds.clear();
        for (const Connection& c : conns_)
            if (c.fd >= 0 && c.sent < c.pending.size()) fds.push_back(pollfd{c.fd, POLLOUT, 0});
        if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) return false;
    }
}

void TcpSender::close() {
    for (Connection& c : conns_) {
        if (c.fd < 0) continue;
        write_some(c);
        if (c.fd < 0) continue;
        // What is still queued goes nowhere now: not counted as sent.
        const std::string_view unsent(c.pending.data() + c.sent, c.pending.size() - c.sent);
        const auto lines = static_cast<uint64_t>(std::count(unsent.begin(), unsent.end(), '\n'));
        counters_.records -= lines;
        counters_.records_dropped += lines;
        counters_.bytes -= unsent.size();
        ::shutdown(c.fd, SHUT_WR);
        ::close(c.fd);
        c.fd = -1;
    }
}

std::size_t TcpSender::queued_bytes() const noexcept {
    std::size_t n = 0;
    for (const Connection& c : conns_)
        if (c.fd >= 0) n += c.pending.size() - c.sent;
    return n;
}

unsigned TcpSender::live_connections() const noexcept {
    return static_cast<unsigned>(std::count_if(conns_.begin(), conns_.end(), [](const Connection& c) { return c.fd >= 0; }));
}

}  // namespace sluice::gen
