#include "net/socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::net {

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        reset();
        fd_ = o.release();
    }
    return *this;
}

void Fd::reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

Result<Endpoint> parse_endpoint(std::string_view host, uint16_t port) {
    std::string h(host);
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    if (h == "localhost") h = "127.0.0.1";
    Endpoint ep;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ep.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ep.addr);
    if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        ep.len = sizeof(sockaddr_in);
        ep.text = h + ":" + std::to_string(port);
    } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        ep.len = sizeof(sockaddr_in6);
        ep.text = "[" + h + "]:" + std::to_string(port);
    } else {
        return Error{"bad address '" + std::string(host) + "': expected a numeric IPv4 or IPv6 address"};
    }
    return ep;
}

namespace {

Error sys_error(const char* what, const char* proto, const Endpoint& ep, int err) {
    return Error{std::string(what) + " " + proto + " " + ep.text + ": " + std::strerror(err)};
}

Result<Fd> open_socket(const Endpoint& ep, int type, const char* proto, int rcvbuf) {
    Fd fd(::socket(ep.addr.ss_family, type | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return sys_error("cannot open", proto, ep, errno);
    const int one = 1;
    // One socket per shard on the same port; the kernel spreads flows over them.
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        return sys_error("cannot set SO_REUSEPORT on", proto, ep, errno);
    }
    // TCP only: a restart may bind while old connections sit in TIME_WAIT.
    if (type == SOCK_STREAM && setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        return sys_error("cannot set SO_REUSEADDR on", proto, ep, errno);
    }
    // SO_RCVBUFFORCE passes net.core.rmem_max when the process may (CAP_NET_ADMIN);
    // otherwise the kernel caps SO_RCVBUF at rmem_max (scripts/tune-host.sh raises it).
    if (rcvbuf > 0 && setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
        setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
        return sys_error("cannot set SO_RCVBUF on", proto, ep, errno);
    }
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) < 0) {
        return sys_error("cannot bind", proto, ep, errno);
    }
    return fd;
}

}  // namespace

Result<Fd> open_udp_socket(const Endpoint& ep, int rcvbuf) { return open_socket(ep, SOCK_DGRAM, "udp", rcvbuf); }

Result<Fd> open_tcp_listener(const Endpoint& ep, int rcvbuf, int backlog) {
    auto fd = open_socket(ep, SOCK_STREAM, "tcp", rcvbuf);
    if (!fd) return fd;
    if (::listen(fd->get(), backlog > 0 ? backlog : SOMAXCONN) < 0) return sys_error("cannot listen on", "tcp", ep, errno);
    return fd;
}

uint16_t bound_port(int fd) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return 0;
}

}  // namespace sluice::net
