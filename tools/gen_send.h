// Senders of sluice-gen and sluice-lat: packets of whole NDJSON records to
// one UDP or TCP endpoint. Send errors are counted, never fatal: a UDP
// datagram the kernel refuses (ENOBUFS, ECONNREFUSED after an ICMP
// unreachable, ...) is skipped; a broken TCP connection is closed and the
// next batches go to the remaining ones. Only a failed TCP connect is an error
// the caller must stop for.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gen_target.h"

namespace sluice::gen {

struct SendCounters {
    uint64_t packets = 0;   // datagrams, or TCP batches
    uint64_t records = 0;   // records the kernel took (TCP: queued minus those cut off by a broken connection)
    uint64_t bytes = 0;
    uint64_t errors = 0;    // failed send calls (UDP: one per datagram skipped)
    uint64_t records_dropped = 0;  // records of datagrams refused or of batches cut by a broken connection
    int last_error = 0;     // errno of the last error
};

struct Datagram {
    const char* data = nullptr;
    std::size_t bytes = 0;
    uint64_t records = 0;
};

class UdpSender {
public:
    static constexpr unsigned kBatch = 64;  // datagrams per sendmmsg call

    UdpSender() = default;
    ~UdpSender();
    UdpSender(const UdpSender&) = delete;
    UdpSender& operator=(const UdpSender&) = delete;

    // A socket connected to `to` (so refusals are reported). Non-blocking
    // sends never wait for socket buffer room; a full buffer is an error.
    bool open(const Endpoint& to, bool nonblocking, std::string& error);

    // Sends the datagrams in order with sendmmsg (send for one).
    void send(std::span<const Datagram> datagrams) noexcept;

    const SendCounters& counters() const noexcept { return counters_; }
    int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
    int flags_ = 0;
    mmsghdr msgs_[kBatch]{};
    iovec iov_[kBatch]{};
    SendCounters counters_;
};

class TcpSender {
public:
    TcpSender() = default;
    ~TcpSender();
    TcpSender(const TcpSender&) = delete;
    TcpSender& operator=(const TcpSender&) = delete;

    // Connects `connections` sockets (each connect blocks; the sockets are
    // non-blocking afterwards). nodelay: send small paced batches at once.
    bool open(const Endpoint& to, unsigned connections, bool nodelay, std::string& error);

    // Queues one batch of whole lines on the next live connection in turn
    // and writes what that socket takes now. False when no connection is left.
    bool queue(const char* data, std::size_t bytes, uint64_t records);

    // Writes queued bytes without blocking. True when nothing is left queued.
    bool flush_nonblocking() noexcept;

    // Blocks until at most `bytes` are queued over all connections, `stop`
    // is set (a signal interrupts the wait), CLOCK_MONOTONIC passes
    // deadline_ns, or no connection is left (then false).
    bool wait_queued_at_most(std::size_t bytes, const std::atomic<bool>* stop = nullptr,
                             int64_t deadline_ns = INT64_MAX);

    // Writes what the sockets take now, then ends every connection (shutdown,
    // close); bytes still queued are dropped and counted.
    void close();

    std::size_t queued_bytes() const noexcept;
    unsigned live_connections() const noexcept;
    const SendCounters& counters() const noexcept { return counters_; }

private:
    struct Connection {
        int fd = -1;
        std::string pending;  // queued bytes; those before `sent` are written
        std::size_t sent = 0;
    };

    // Writes what the socket takes; false when the connection broke (and was dropped).
    bool write_some(Connection& c) noexcept;
    void drop(Connection& c, int err) noexcept;

    std::vector<Connection> conns_;
    unsigned next_ = 0;
    SendCounters counters_;
};

}  // namespace sluice::gen
