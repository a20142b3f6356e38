// Shared by the ingest tests: a ring fixture that skips only when io_uring
// itself is unavailable, a bounded shard-loop pump, loopback clients.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "net/uring.h"

namespace sluice::net::test {

using namespace std::chrono_literals;

class RingTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = Uring::create();
        if (!r) {
            if (r.error().message.rfind("io_uring unavailable", 0) == 0) GTEST_SKIP() << r.error().message;
            FAIL() << r.error().message;
        }
        ring_ = std::move(r.value());
    }

    // One shard loop iteration after another until done() or the time limit:
    // poll, dispatch every CQE, flush, and block briefly when idle.
    template <class Dispatch, class Flush, class Done>
    bool pump(Dispatch&& dispatch, Flush&& flush, Done&& done, std::chrono::milliseconds limit = 3000ms) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            step(dispatch, flush);
        }
        return true;
    }
    template <class Dispatch, class Flush>
    void pump_for(Dispatch&& dispatch, Flush&& flush, std::chrono::milliseconds d) {
        const auto deadline = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < deadline) step(dispatch, flush);
    }
    template <class Dispatch, class Flush>
    void step(Dispatch& dispatch, Flush& flush) {
        ring_->poll();
        const unsigned n = ring_->for_each_cqe(dispatch);
        flush();
        if (n == 0) ring_->wait(1ms);
    }

    std::unique_ptr<Uring> ring_;
};

inline sockaddr_in loopback4(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// A plain UDP sender (an ephemeral source port per socket).
class UdpClient {
public:
    UdpClient() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
    ~UdpClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool send(uint16_t port, std::string_view d) const {
        const sockaddr_in a = loopback4(port);
        return ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) ==
               static_cast<ssize_t>(d.size());
    }

private:
    int fd_;
};

// A blocking TCP client with TCP_NODELAY: every write leaves at once.
class TcpClient {
public:
    explicit TcpClient(uint16_t port, int sndbuf = 0) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        const int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (sndbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        // A stuck test fails instead of hanging.
        timeval tv{5, 0};
        setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        const sockaddr_in a = loopback4(port);
        connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
    }
    ~TcpClient() { close(); }
    bool connected() const { return connected_; }
    int fd() const { return fd_; }
    bool write(std::string_view d) const {
        while (!d.empty()) {
            const ssize_t n = ::send(fd_, d.data(), d.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            d.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    // Closes with an RST instead of a FIN.
    void reset() {
        linger l{1, 0};
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        close();
    }

private:
    int fd_;
    bool connected_ = false;
};

}  // namespace sluice::net::test
