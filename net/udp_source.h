// UDP ingest of one shard: an SO_REUSEPORT socket (every shard binds the same
// port, the kernel spreads flows), one multishot recvmsg on a provided buffer
// ring. Each completion is one datagram; on_cqe() hands its payload out in
// place and recycles the buffer right after.
//
//   -ENOBUFS     every buffer was in use: the multishot ended. Counted; flush()
//                re-arms once buffers are back. Datagrams wait in the socket
//                buffer meanwhile (the kernel drops them only when it is full).
//   MSG_TRUNC    the datagram was longer than max_datagram: counted, skipped.
//   no F_MORE    the request ended: flush() re-arms.
//   -EINVAL      on the very first completion: the kernel has no multishot
//                receive; the source falls back to single-shot receives.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/buf_ring.h"
#include "net/socket.h"
#include "net/uring.h"
#include "net/user_data.h"
#include "sluice/result.h"

namespace sluice::net {

struct UdpConfig {
    std::string host = "127.0.0.1";
    uint16_t port = 0;              // 0: the kernel picks one (port() tells)
    unsigned buffers = 1024;        // provided buffers, a power of two
    unsigned max_datagram = 2048;   // payload bytes per buffer; longer datagrams are truncated, counted
    int rcvbuf = 0;                 // SO_RCVBUF bytes; 0 keeps the kernel default
    bool multishot = true;          // false forces single-shot receives (the old-kernel path)
};

struct UdpCounters {
    uint64_t datagrams = 0;  // handed out
    uint64_t bytes = 0;      // payload bytes handed out
    uint64_t truncated = 0;  // longer than max_datagram, skipped
    uint64_t enobufs = 0;    // the receive ran out of buffers
    uint64_t rearms = 0;     // receives submitted again after one ended
    uint64_t errors = 0;     // other failed completions
    // Datagrams the kernel dropped at this socket's full receive buffer
    // (SO_RXQ_OVFL), as of the last datagram received: never taken, so they
    // are not records_in; this makes them visible.
    uint64_t kernel_dropped = 0;
};

class UdpSource {
public:
    // Binds and arms the receive (submitted by the ring's next poll/submit).
    // owner: this source's index among the shard's UDP sources (user_data).
    static Result<std::unique_ptr<UdpSource>> open(Uring& ring, const UdpConfig& config, uint8_t owner);
    // Cancels the receive and closes the socket; the ring must still exist.
    ~UdpSource();
    UdpSource(const UdpSource&) = delete;
    UdpSource& operator=(const UdpSource&) = delete;

    [[nodiscard]] uint16_t port() const noexcept { return port_; }
    [[nodiscard]] const std::string& endpoint() const noexcept { return endpoint_; }
    [[nodiscard]] uint8_t owner() const noexcept { return owner_; }
    [[nodiscard]] const UdpCounters& counters() const noexcept { return counters_; }
    [[nodiscard]] bool single_shot() const noexcept { return single_shot_; }
    // The longest payload on_datagram() can see (for sizing the decoder).
    [[nodiscard]] std::size_t max_block_bytes() const noexcept { return max_datagram_; }

    // For a CQE of kind udp_recv and this owner. Calls on_datagram(const char*
    // p, std::size_t len) for a whole datagram; kPadding readable bytes follow
    // p + len. The bytes are valid only during the call.
    template <class F>
    void on_cqe(const io_uring_cqe& cqe, F&& on_datagram) noexcept {
        if (!(cqe.flags & IORING_CQE_F_MORE)) armed_ = false;
        if (cqe.res < 0 || !(cqe.flags & IORING_CQE_F_BUFFER)) [[unlikely]] {
            on_failure(cqe);
            return;
        }
        const auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        char* buf = bufs_->acquire(bid);
        received_ = true;
        const char* payload = buf;
        std::size_t len = static_cast<std::size_t>(cqe.res);
        bool truncated = len > max_datagram_;  // single-shot: res is the full length (MSG_TRUNC)
        if (!single_shot_) {
            io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buf, cqe.res, &msg_);
            if (!out) [[unlikely]] {
                ++counters_.errors;
                bufs_->recycle(bid);
                return;
            }
            truncated = (out->flags & MSG_TRUNC) != 0;
            if (out->controllen != 0) [[unlikely]]
                read_drop_count(out);
            payload = static_cast<const char*>(io_uring_recvmsg_payload(out, &msg_));
            len = io_uring_recvmsg_payload_length(out, cqe.res, &msg_);
        }
        if (truncated) [[unlikely]] {
            ++counters_.truncated;
        } else {
            ++counters_.datagrams;
            counters_.bytes += len;
            on_datagram(payload, len);
        }
        bufs_->recycle(bid);
    }

    // Once per loop iteration, after the CQEs: publishes recycled buffers and
    // re-arms the receive if it ended and buffers are available.
    void flush() noexcept {
        bufs_->commit();
        if (!armed_ && bufs_->kernel_owned() > 0) {
            ++counters_.rearms;
            arm();
        }
    }

private:
    UdpSource(Uring& ring, uint8_t owner) : ring_(ring), owner_(owner) {}
    void arm() noexcept;
    [[gnu::cold]] void on_failure(const io_uring_cqe& cqe) noexcept;
    // The socket's drop count (SO_RXQ_OVFL control message), when present.
    void read_drop_count(io_uring_recvmsg_out* out) noexcept;

    Uring& ring_;
    std::unique_ptr<BufRing> bufs_;
    Fd fd_;
    msghdr msg_{};  // read by the kernel at submission; no name, room for the drop count
    UdpCounters counters_;
    std::string endpoint_;
    std::size_t max_datagram_ = 0;
    uint16_t port_ = 0;
    uint8_t owner_ = 0;
    bool armed_ = false;
    bool single_shot_ = false;
    bool received_ = false;  // a completion succeeded: -EINVAL no longer means "no multishot"
};

}  // namespace sluice::net
