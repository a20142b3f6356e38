// The loopback UDP echo of `sluice-lat --floor`: a thread that sends every
// datagram it receives on 127.0.0.1 straight back to sluice-lat's receiving
// socket. The round trip through it is the floor sluice's latency is
// compared with: the same kernel paths, no processing.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "gen_target.h"

namespace sluice::lat {

class UdpEcho {
public:
    UdpEcho() = default;
    ~UdpEcho();
    UdpEcho(const UdpEcho&) = delete;
    UdpEcho& operator=(const UdpEcho&) = delete;

    // Binds 127.0.0.1 (any port) and starts the thread, pinned to `cpu` if
    // given. busy: spin on non-blocking receives (like a busy-polling
    // appliance); else block in the kernel until a datagram comes.
    bool start(const gen::Endpoint& reply_to, bool busy, std::optional<int> cpu, std::string& error);

    // Stops and joins the thread.
    void stop();

    const gen::Endpoint& address() const noexcept { return address_; }
    uint64_t echoed() const noexcept { return echoed_.load(std::memory_order_relaxed); }

private:
    void run(bool busy);

    int in_fd_ = -1;   // receives from sluice-lat's sender
    int out_fd_ = -1;  // connected to sluice-lat's receiver
    gen::Endpoint address_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> echoed_{0};
};

}  // namespace sluice::lat
