#include "lat_echo.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "cpu_pin.h"
#include "pacer.h"

namespace sluice::lat {
namespace {

constexpr unsigned kBatch = 32;
constexpr std::size_t kDatagramBytes = 65536;

}  // namespace

UdpEcho::~UdpEcho() {
    stop();
    if (in_fd_ >= 0) ::close(in_fd_);
    if (out_fd_ >= 0) ::close(out_fd_);
}

bool UdpEcho::start(const gen::Endpoint& reply_to, bool busy, std::optional<int> cpu, std::string& error) {
    std::string parse_error;
    const auto any = gen::parse_endpoint("127.0.0.1:0", {.allow_port_zero = true}, parse_error);
    in_fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    out_fd_ = ::socket(reply_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (in_fd_ < 0 || out_fd_ < 0) {
        error = std::string("echo socket: ") + std::strerror(errno);
        return false;
    }
    const int big = 16 << 20;
    ::setsockopt(in_fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (!busy) {
        // Block, but not for ever: stop() is noticed within the timeout.
        timeval tv{0, 50'000};
        ::setsockopt(in_fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    if (::bind(in_fd_, any->sa(), any->len) != 0 || ::connect(out_fd_, reply_to.sa(), reply_to.len) != 0) {
        error = std::string("echo socket: ") + std::strerror(errno);
        return false;
    }
    address_.len = sizeof address_.addr;
    ::getsockname(in_fd_, reinterpret_cast<sockaddr*>(&address_.addr), &address_.len);
    address_.text = gen::endpoint_text(address_.addr);
    thread_ = std::thread([this, busy] { run(busy); });
    if (cpu) {
        error = pin_thread(thread_.native_handle(), *cpu);
        if (!error.empty()) {
            stop();
            error = "--echo-cpu: " + error;
            return false;
        }
    }
    return true;
}

void UdpEcho::stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
}

void UdpEcho::run(bool busy) {
    std::vector<std::vector<char>> buffers(kBatch, std::vector<char>(kDatagramBytes));
    mmsghdr in[kBatch]{};
    mmsghdr out[kBatch]{};
    iovec iov[kBatch]{};
    iovec out_iov[kBatch]{};
    for (unsigned k = 0; k < kBatch; ++k) {
        iov[k] = iovec{buffers[k].data(), kDatagramBytes};
        in[k].msg_hdr.msg_iov = &iov[k];
        in[k].msg_hdr.msg_iovlen = 1;
        out[k].msg_hdr.msg_iov = &out_iov[k];
        out[k].msg_hdr.msg_iovlen = 1;
    }
    while (!stop_.load(std::memory_order_relaxed)) {
        const int n = ::recvmmsg(in_fd_, in, kBatch, busy ? MSG_DONTWAIT : MSG_WAITFORONE, nullptr);
        if (n <= 0) {
            if (busy) gen::cpu_relax();
            continue;
        }
        for (int k = 0; k < n; ++k) out_iov[k] = iovec{buffers[static_cast<std::size_t>(k)].data(), in[k].msg_len};
        for (int sent = 0; sent < n;) {
            const int r = ::sendmmsg(out_fd_, out + sent, static_cast<unsigned>(n - sent), 0);
            if (r <= 0) {
                if (r < 0 && errno == EINTR) continue;
                ++sent;  // refused (the receiver is gone): drop it, the report counts it lost
                continue;
            }
            sent += r;
        }
        echoed_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
}

}  // namespace sluice::lat
