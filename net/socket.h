// Socket setup for the ingest sources: numeric endpoints, SO_REUSEPORT UDP
// sockets and TCP listeners (one per shard, all on the same port), owned fds.
// Setup only: errors come back as Error with the endpoint in the message.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/result.h"

namespace sluice::net {

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset() noexcept;

private:
    int fd_ = -1;
};

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;  // "127.0.0.1:9000", "[::1]:9000"
};

// host: a numeric IPv4 or IPv6 address (brackets allowed), or "localhost".
Result<Endpoint> parse_endpoint(std::string_view host, uint16_t port);

// rcvbuf: SO_RCVBUF in bytes, 0 keeps the kernel's default (and autotuning).
// "cannot bind udp 127.0.0.1:9000: Address already in use".
Result<Fd> open_udp_socket(const Endpoint& ep, int rcvbuf);
// Accepted connections inherit rcvbuf.
Result<Fd> open_tcp_listener(const Endpoint& ep, int rcvbuf, int backlog);

// The port a socket is bound to (0 on error): binding port 0 picks one.
uint16_t bound_port(int fd) noexcept;

}  // namespace sluice::net
