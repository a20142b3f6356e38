// TCP egress sink of one shard: NDJSON rows go into a bounded byte ring of
// buffer_bytes and are written to a collector with io_uring sends through the
// shard's ring, one send in flight at a time (a stream needs its bytes in
// order; a short write simply continues from where it stopped).
//
// Batching: a send starts once batch_bytes are buffered or the oldest unsent
// byte is flush_us old (checked by poll()).
//
// Full buffer (also while disconnected, when rows accumulate):
//   block (drop_when_full = false): append() returns false and takes nothing;
//     the caller keeps the chunk and applies backpressure (can_accept() tells
//     in advance).
//   drop: append() drops the whole chunk and counts its rows (rows_dropped).
//
// Connection: a non-blocking socket connected with io_uring; after a failed
// connect, an error or the collector closing (seen by a POLLRDHUP watch, so an
// idle connection notices too), the sink reconnects after reconnect_min_ms,
// doubling per failed attempt up to reconnect_max_ms, timed by poll()'s clock.
// At a reconnect the collector may have received a truncated last line on the
// old connection: bytes the kernel accepted are never resent, so a row cut by
// the break is abandoned (rows_truncated) and sending resumes with the next
// whole row. Rows the kernel accepted just before the break may still be lost
// in flight: TCP without acknowledgements from the collector cannot tell.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/sink_config.h"
#include "sluice/result.h"

namespace sluice::net {

struct alignas(64) TcpSinkCounters {
    uint64_t connects = 0;             // successful connects
    uint64_t connect_failures = 0;     // failed or timed-out attempts
    uint64_t disconnects = 0;          // established connections lost
    uint64_t bytes = 0;                // accepted by the kernel
    uint64_t rows = 0;                 // whole rows accepted by the kernel
    uint64_t rows_dropped = 0;         // drop policy on a full buffer, or a chunk larger than the buffer
    uint64_t rows_truncated = 0;       // cut by a connection break, not resent
    uint64_t rows_dropped_closed = 0;  // still buffered at close(), or appended after it
    uint64_t full_refusals = 0;        // append() returned false (block policy)
    uint64_t sq_full = 0;              // SQ had no free entry; retried at the next poll
    int32_t last_error = 0;            // errno of the last connect/send failure
};

class TcpSink {
public:
    // A connect that has not completed after this long is cancelled and retried.
    static constexpr uint64_t kConnectTimeoutNs = 3'000'000'000ULL;

    // tag: the shard's routing tag (high 32 bits); the sink owns the low 32.
    TcpSink(io_uring* ring, uint64_t tag, const sockaddr_storage& dest, const SinkConfig& config);
    ~TcpSink();
    TcpSink(const TcpSink&) = delete;
    TcpSink& operator=(const TcpSink&) = delete;

    // Checks the destination and the ring's opcodes; the first poll() connects.
    [[nodiscard]] Result<bool> open();

    // Room for n more bytes right now. Never true for n > buffer_bytes:
    // append() drops such a chunk (counted) instead of refusing it forever.
    bool can_accept(std::size_t n) const noexcept { return n <= cap_ - (wr_ - sent_); }
    // n bytes of whole '\n'-terminated rows. Returns false (nothing taken)
    // only under the block policy when the buffer lacks room; a chunk larger
    // than buffer_bytes can never fit and is dropped and counted instead.
    [[nodiscard]] bool append(const char* rows, std::size_t n) noexcept;
    // Every loop iteration: connect/backoff timers, deadline flush, retries.
    void poll(uint64_t now_ns) noexcept;
    // Sends everything buffered as soon as connected (drain).
    void flush() noexcept;
    // Each CQE whose user_data carries this sink's tag.
    void on_cqe(const io_uring_cqe& cqe) noexcept;

    // Everything appended has been accepted by the kernel (or dropped); after
    // close(): also nothing in flight, so the sink may be destroyed.
    bool idle() const noexcept;
    // Drops what is still buffered (counted) and closes the connection once
    // its in-flight operations are back. Drain first with flush() + idle().
    void close() noexcept;

    bool connected() const noexcept { return state_ == State::kConnected; }
    std::size_t buffered() const noexcept { return static_cast<std::size_t>(wr_ - sent_); }
    const TcpSinkCounters& counters() const noexcept { return c_; }

private:
    enum class State : uint8_t { kBackoff, kConnecting, kConnected, kClosing, kClosed };

    void start_connect() noexcept;
    void on_connected() noexcept;
    void connect_failed(int err) noexcept;
    void arm_watch() noexcept;
    void kick() noexcept;
    void account_sent(std::size_t n) noexcept;
    void begin_close() noexcept;
    void finish_close() noexcept;
    void schedule_reconnect() noexcept;
    void skip_partial_row() noexcept;
    void cancel(uint32_t op) noexcept;
    std::size_t rows_between(uint64_t from, uint64_t to) const noexcept;
    io_uring_sqe* sqe() noexcept;

    io_uring* ring_;
    uint64_t tag_;
    sockaddr_storage dest_;
    socklen_t dest_len_ = 0;
    std::size_t cap_;
    std::size_t batch_bytes_;
    uint64_t flush_ns_;
    uint64_t backoff_min_ns_;
    uint64_t backoff_max_ns_;
    bool drop_when_full_;

    // Positions in the byte stream (monotonic; index = pos % cap_):
    // sent_ <= due_ <= wr_. [sent_, wr_) is buffered, the send in flight
    // reads from sent_, and due_ is how far the current flush reaches.
    uint64_t wr_ = 0;
    uint64_t sent_ = 0;
    uint64_t due_ = 0;
    uint64_t row_end_ = 0;  // end of the last whole row the kernel accepted

    State state_ = State::kClosed;
    bool closing_for_good_ = false;
    bool send_in_flight_ = false;
    bool watch_in_flight_ = false;
    bool connect_in_flight_ = false;  // connect, or its POLLOUT fallback
    bool cancel_sent_ = false;
    bool watch_broken_ = false;  // the kernel refused the POLLRDHUP watch: rely on send errors
    uint32_t connect_op_ = 0;  // which op connect_in_flight_ refers to
    uint32_t ops_ = 0;         // SQEs of this sink not yet completed
    int fd_ = -1;

    uint64_t now_ns_ = 0;            // clock of the last poll()
    uint64_t pending_since_ns_ = 0;  // when bytes after due_ started to wait
    uint64_t next_connect_ns_ = 0;
    uint64_t connect_started_ns_ = 0;
    uint64_t backoff_ns_;

    std::unique_ptr<char[]> buf_;
    TcpSinkCounters c_;
};

}  // namespace sluice::net
