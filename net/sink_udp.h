// UDP egress sink of one shard: NDJSON rows packed into datagrams of at most
// datagram_bytes (a row is never split; a longer row goes alone, up to 65507
// bytes, else it is dropped and counted) and sent on a connected socket with
// one io_uring send per datagram, through the shard's ring.
//
// Memory: kBuffers send buffers of max(batch_bytes, 65507) bytes, used round
// robin. One fills; the others are sealed and owned by the kernel until every
// datagram's CQE is back. Nothing allocates after the constructor.
//
// When every buffer is in flight, rows are dropped and counted
// (rows_dropped_busy) rather than blocking the shard: UDP is a lossy sink and
// its receiver may drop anyway; a sink that must not lose rows is tcp.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/sink_config.h"
#include "sluice/result.h"

namespace sluice::net {

struct alignas(64) UdpSinkCounters {
    uint64_t datagrams = 0;              // sent
    uint64_t bytes = 0;                  // sent (payload)
    uint64_t rows = 0;                   // sent
    uint64_t send_errors = 0;            // failed sends (e.g. ECONNREFUSED from a closed port)
    uint64_t rows_send_failed = 0;       // rows in those datagrams
    uint64_t rows_dropped_oversize = 0;  // row longer than 65507 bytes
    uint64_t rows_dropped_busy = 0;      // every send buffer in flight
    uint64_t rows_dropped_closed = 0;    // buffered or appended after close()
    uint64_t sq_full = 0;                // SQ had no free entry; retried at the next poll
    int32_t last_error = 0;              // errno of the last failed send
};

class UdpSink {
public:
    static constexpr std::size_t kMaxDatagram = 65507;
    static constexpr unsigned kBuffers = 8;
    static constexpr unsigned kMaxDatagramsPerBuffer = 1024;
    // batch_bytes above this buys nothing for datagrams; it would only grow the buffers.
    static constexpr std::size_t kMaxBatch = std::size_t{1} << 20;

    // tag: the shard's routing tag (high 32 bits); the sink owns the low 32.
    UdpSink(io_uring* ring, uint64_t tag, const sockaddr_storage& dest, const SinkConfig& config);
    ~UdpSink();
    UdpSink(const UdpSink&) = delete;
    UdpSink& operator=(const UdpSink&) = delete;

    // Creates and connects the socket; checks the ring supports SEND.
    [[nodiscard]] Result<bool> open();

    // n bytes of whole '\n'-terminated rows; copied before returning.
    void append(const char* rows, std::size_t n) noexcept;
    // Every loop iteration: deadline flush, and SQEs the SQ had no room for.
    void poll(uint64_t now_ns) noexcept;
    // Hands everything buffered to the kernel now (drain).
    void flush() noexcept;
    // Each CQE whose user_data carries this sink's tag.
    void on_cqe(const io_uring_cqe& cqe) noexcept;

    // Nothing buffered and nothing in flight (after close(): safe to destroy).
    bool idle() const noexcept;
    // Drops what is still buffered (counted), closes the socket once the
    // in-flight sends are back. Call flush() and wait for idle() first to drain.
    void close() noexcept;

    const UdpSinkCounters& counters() const noexcept { return c_; }
    int fd() const noexcept { return fd_; }

private:
    enum class BufState : uint8_t { kFree, kFilling, kSealed };
    struct Buf {
        uint32_t used = 0;
        uint16_t n_dgrams = 0;
        uint16_t n_prepared = 0;
        uint16_t n_done = 0;
        BufState state = BufState::kFree;
    };
    struct Dgram {
        uint32_t off;
        uint32_t len;
        uint32_t rows;
    };

    void add_row(const char* row, std::size_t len) noexcept;
    bool take_fill_buffer() noexcept;
    void seal() noexcept;
    void prepare_pending() noexcept;
    void reset(Buf& b) noexcept;
    Dgram* dgrams(unsigned buf) noexcept { return dgrams_.get() + std::size_t{buf} * kMaxDatagramsPerBuffer; }
    char* data(unsigned buf) noexcept { return data_.get() + std::size_t{buf} * cap_; }

    io_uring* ring_;
    uint64_t tag_;
    sockaddr_storage dest_;
    std::size_t datagram_bytes_;
    std::size_t batch_bytes_;
    uint64_t flush_ns_;
    std::size_t cap_;  // bytes per send buffer
    int fd_ = -1;
    bool closed_ = false;
    unsigned fill_ = 0;     // buffer being filled (or next to fill)
    unsigned prepare_ = 0;  // oldest sealed buffer with datagrams not yet prepared
    uint32_t in_flight_ = 0;
    uint64_t now_ns_ = 0;         // clock of the last poll()
    uint64_t fill_since_ns_ = 0;  // when the filling buffer got its first row
    Buf bufs_[kBuffers];
    std::unique_ptr<char[]> data_;
    std::unique_ptr<Dgram[]> dgrams_;
    UdpSinkCounters c_;
};

}  // namespace sluice::net
