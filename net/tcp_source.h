// TCP ingest of one shard: an SO_REUSEPORT listener (every shard listens on
// the same port), a multishot accept, and per connection a multishot recv that
// picks buffers from one provided buffer ring shared by the shard's
// connections. NDJSON framing runs across reads:
//
//   - Complete lines are handed out in blocks, on_lines(p, len): whole lines,
//     the block ends with '\n', kPadding readable bytes follow. Usually the
//     block is the complete-line prefix of the kernel buffer, in place; a line
//     that spans reads is assembled in the connection's tail buffer (which
//     grows only to the longest line seen, then stays) and handed out alone.
//   - A line longer than max_record_bytes (counted without its '\n' and a
//     trailing '\r') is reported once, on_oversize(), and
//     skipped up to its '\n', however many reads it spans.
//   - At EOF an unterminated last line is still a line (handed out with a '\n').
//   - On a reset (any error completion) the partial line, if any, goes to
//     on_reject(p, len): counted, never processed. The connection is closed.
//
// Backpressure: pause() cancels every connection's receive, so the kernel
// stops reading the sockets; their receive buffers fill, the TCP window closes
// and the senders block -- nothing is dropped. Completions the kernel posted
// before the cancels took effect are parked (with their buffers) and handed
// out by resume(), in order, before the receives are re-armed. Between
// pause() and resume() the handler sees no on_lines() call at all; a pause()
// from inside on_lines() takes effect before the next block.
#pragma once

#include <liburing.h>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "net/buf_ring.h"
#include "net/socket.h"
#include "net/uring.h"
#include "net/user_data.h"
#include "sluice/result.h"

namespace sluice::net {

struct TcpConfig {
    std::string host = "127.0.0.1";
    uint16_t port = 0;                      // 0: the kernel picks one (port() tells)
    unsigned buffers = 256;                 // provided buffers shared by the connections, a power of two
    unsigned buffer_bytes = 16384;          // bytes per receive
    std::size_t max_record_bytes = 1 << 20; // longer lines are skipped and counted
    unsigned max_connections = 256;         // per shard; extra connections are closed at accept
    int rcvbuf = 0;                         // SO_RCVBUF bytes (inherited by connections); 0: kernel default
    int backlog = 0;                        // listen() backlog; 0: SOMAXCONN
    bool multishot = true;                  // false forces single-shot accept/recv (the old-kernel path)
};

struct TcpCounters {
    uint64_t accepted = 0;  // connections taken
    uint64_t closed = 0;    // ended by EOF
    uint64_t reset = 0;     // ended by an error (ECONNRESET, ...)
    uint64_t refused = 0;   // closed at accept: max_connections reached
    uint64_t bytes = 0;     // received
    uint64_t lines = 0;     // handed out
    uint64_t oversize = 0;  // lines over max_record_bytes, skipped
    uint64_t rejected = 0;  // partial lines cut by a reset
    uint64_t enobufs = 0;   // a receive ran out of buffers
    uint64_t rearms = 0;    // receives/accepts submitted again after one ended
    uint64_t errors = 0;    // other failures (accept errors, no SQE, no memory)
};

template <class H>
concept TcpHandler = requires(H& h, const char* p, std::size_t n) {
    h.on_lines(p, n);
    h.on_oversize();
    h.on_reject(p, n);
};

class TcpSource {
public:
    // Listens and arms the accept (submitted by the ring's next poll/submit).
    // owner: this source's index among the shard's TCP sources (user_data).
    static Result<std::unique_ptr<TcpSource>> open(Uring& ring, const TcpConfig& config, uint8_t owner);
    // Cancels outstanding requests and closes every socket; the ring must still exist.
    ~TcpSource();
    TcpSource(const TcpSource&) = delete;
    TcpSource& operator=(const TcpSource&) = delete;

    [[nodiscard]] uint16_t port() const noexcept { return port_; }
    [[nodiscard]] const std::string& endpoint() const noexcept { return endpoint_; }
    [[nodiscard]] uint8_t owner() const noexcept { return owner_; }
    [[nodiscard]] const TcpCounters& counters() const noexcept { return counters_; }
    [[nodiscard]] unsigned open_connections() const noexcept { return open_count_; }
    [[nodiscard]] bool paused() const noexcept { return paused_; }
    // The longest block on_lines() can see (for sizing the decoder).
    // (A line assembled across reads: max_record bytes, a '\r' and the '\n'.)
    [[nodiscard]] std::size_t max_block_bytes() const noexcept {
        return std::max<std::size_t>(buffer_bytes_, max_record_ + 2);
    }

    // For a CQE of kind tcp_accept, tcp_recv or tcp_cancel and this owner.
    template <TcpHandler H>
    void on_cqe(const io_uring_cqe& cqe, H& handler) noexcept;

    // Once per loop iteration, after the CQEs: publishes recycled buffers,
    // re-arms the accept and (unless paused) the receives that ended.
    void flush() noexcept;

    // Stops reading (see the top of this file). Submits the cancels at once.
    void pause() noexcept;
    // Hands out what was parked, then re-arms every connection's receive.
    template <TcpHandler H>
    void resume(H& handler) noexcept;

private:
    struct Conn {
        int fd = -1;
        uint16_t gen = 0;        // bumped at close: completions of an old connection are ignored
        bool open = false;
        bool armed = false;      // a receive is outstanding in the kernel
        bool fresh = false;      // not armed yet since accept
        bool queued = false;     // in arm_queue_
        bool skipping = false;   // inside an oversize line: drop up to its '\n'
        std::size_t tail_len = 0;
        std::size_t tail_cap = 0;
        std::unique_ptr<char[]> tail;  // the unterminated line so far (+ kPadding)
    };
    // A completion held while paused; offset: bytes of its buffer already consumed.
    struct Parked {
        uint32_t slot;
        int32_t res;
        uint32_t flags;
        uint32_t offset;
    };

    TcpSource(Uring& ring, uint8_t owner) : ring_(ring), owner_(owner) {}

    [[nodiscard]] uint64_t recv_data(uint32_t slot) const noexcept {
        return user_data(OpKind::tcp_recv, owner_, slot | uint32_t{conns_[slot].gen} << 16);
    }
    void on_accept(const io_uring_cqe& cqe) noexcept;
    // Non-data outcomes of a receive; true when the completion needs no more work.
    [[nodiscard]] bool on_recv_status(int res) noexcept;
    void arm_accept() noexcept;
    [[nodiscard]] bool arm_recv(uint32_t slot) noexcept;
    void schedule_arm(uint32_t slot) noexcept;
    void close_conn(uint32_t slot) noexcept;
    void park(uint32_t slot, int res, uint32_t flags, uint32_t offset) noexcept;
    // Room for need bytes plus kPadding in the tail buffer; false when out of memory.
    [[nodiscard]] bool reserve_tail(Conn& c, std::size_t need) noexcept;

    template <class H> void on_recv(const io_uring_cqe& cqe, H& h) noexcept;
    template <class H> [[nodiscard]] bool process(uint32_t slot, int res, uint32_t flags, uint32_t& offset, H& h) noexcept;
    template <class H> [[nodiscard]] std::size_t feed(Conn& c, const char* p, std::size_t n, H& h) noexcept;
    template <class H> [[nodiscard]] std::size_t deliver_block(const char* p, std::size_t n, H& h) noexcept;
    template <class H> void extend_tail(Conn& c, const char* p, std::size_t n, H& h) noexcept;
    // A line's length as max_record_bytes measures it: without its '\n' and a
    // trailing '\r' (docs/semantics.md, as the decoder and LineReader count).
    [[nodiscard]] static std::size_t record_bytes(const char* p, std::size_t n) noexcept {
        return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
    }
    template <class H> void oversize(H& h) noexcept {
        ++counters_.oversize;
        h.on_oversize();
    }
    template <class H> void deliver(const char* p, std::size_t n, H& h) noexcept {
        counters_.lines += static_cast<uint64_t>(std::count(p, p + n, '\n'));
        h.on_lines(p, n);
    }

    Uring& ring_;
    std::unique_ptr<BufRing> bufs_;
    Fd listener_;
    std::vector<Conn> conns_;
    std::vector<uint32_t> free_;       // free connection slots (a stack)
    std::vector<uint32_t> arm_queue_;  // slots whose receive must be armed (a FIFO ring)
    std::size_t arm_head_ = 0;
    std::size_t arm_count_ = 0;
    std::vector<Parked> parked_;       // completions held while paused (a FIFO ring)
    std::size_t parked_head_ = 0;
    std::size_t parked_count_ = 0;
    TcpCounters counters_;
    std::string endpoint_;
    std::size_t max_record_ = 0;
    unsigned buffer_bytes_ = 0;
    unsigned open_count_ = 0;
    uint16_t port_ = 0;
    uint8_t owner_ = 0;
    bool scan_ = false;            // buffers longer than max_record: a line inside one may be oversize
    bool paused_ = false;
    bool accept_armed_ = false;
    bool multishot_recv_ = true;
    bool multishot_accept_ = true;
    bool recv_ok_ = false;         // a receive succeeded: -EINVAL no longer means "no multishot"
    bool accept_ok_ = false;
};

// ---- the data path, inline -------------------------------------------------

template <TcpHandler H>
void TcpSource::on_cqe(const io_uring_cqe& cqe, H& handler) noexcept {
    switch (UserData::kind_of(cqe.user_data)) {
    case OpKind::tcp_recv: on_recv(cqe, handler); break;
    case OpKind::tcp_accept: on_accept(cqe); break;
    default: break;  // tcp_cancel: the cancelled receive reports itself
    }
}

template <class H>
void TcpSource::on_recv(const io_uring_cqe& cqe, H& h) noexcept {
    const uint32_t value = UserData::unpack(cqe.user_data).value;
    const uint32_t slot = value & 0xffff;
    const bool has_buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
    const auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (has_buffer) {
        (void)bufs_->acquire(bid);
        if (cqe.res <= 0) [[unlikely]] bufs_->recycle(bid);  // not expected; never lose a buffer
    }
    if (slot >= conns_.size() || !conns_[slot].open || conns_[slot].gen != (value >> 16)) [[unlikely]] {
        if (has_buffer && cqe.res > 0) bufs_->recycle(bid);  // a closed connection's late completion
        return;
    }
    Conn& c = conns_[slot];
    if (!(cqe.flags & IORING_CQE_F_MORE)) {
        c.armed = false;
        schedule_arm(slot);
    }
    if (cqe.res > 0) {
        if (!has_buffer) [[unlikely]] {
            ++counters_.errors;  // buffer select always picks one; never trust otherwise
            return;
        }
        recv_ok_ = true;
        counters_.bytes += static_cast<uint64_t>(cqe.res);
    } else if (cqe.res < 0 && on_recv_status(cqe.res)) {
        return;
    }
    if (paused_ || parked_count_ > 0) [[unlikely]] {
        park(slot, cqe.res, cqe.flags, 0);
        return;
    }
    uint32_t offset = 0;
    if (!process(slot, cqe.res, cqe.flags, offset, h)) park(slot, cqe.res, cqe.flags, offset);
}

// Data, EOF or reset. False when the handler paused before the data was all
// handed out: offset then says how far it got.
template <class H>
bool TcpSource::process(uint32_t slot, int res, uint32_t flags, uint32_t& offset, H& h) noexcept {
    Conn& c = conns_[slot];
    if (res > 0) [[likely]] {
        const auto bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        const char* p = bufs_->buffer(bid) + offset;
        const std::size_t n = static_cast<std::size_t>(res) - offset;
        const std::size_t done = feed(c, p, n, h);
        if (done < n) {
            offset += static_cast<uint32_t>(done);
            return false;
        }
        bufs_->recycle(bid);
        return true;
    }
    if (res == 0) {
        // EOF: an unterminated last line is still a line.
        if (c.tail_len > 0 && !c.skipping) {
            if (record_bytes(c.tail.get(), c.tail_len) > max_record_) {
                oversize(h);
            } else if (reserve_tail(c, c.tail_len + 1)) {
                c.tail[c.tail_len++] = '\n';
                deliver(c.tail.get(), c.tail_len, h);
            }
        }
        ++counters_.closed;
    } else {
        if (c.tail_len > 0) {
            ++counters_.rejected;
            h.on_reject(c.tail.get(), c.tail_len);
        }
        ++counters_.reset;
    }
    c.tail_len = 0;
    c.skipping = false;
    close_conn(slot);
    return true;
}

// Frames [p, p+n) of one connection. Returns the bytes consumed: n, or less
// when the handler paused (the rest is fed again after resume()).
template <class H>
std::size_t TcpSource::feed(Conn& c, const char* p, std::size_t n, H& h) noexcept {
    std::size_t i = 0;
    if (c.skipping) {
        const auto* nl = static_cast<const char*>(std::memchr(p, '\n', n));
        if (!nl) return n;
        i = static_cast<std::size_t>(nl - p) + 1;
        c.skipping = false;
    }
    if (c.tail_len > 0 && i < n) {
        // The first '\n' completes the line held in the tail.
        const auto* nl = static_cast<const char*>(std::memchr(p + i, '\n', n - i));
        if (!nl) {
            extend_tail(c, p + i, n - i, h);
            return n;
        }
        const std::size_t part = static_cast<std::size_t>(nl - (p + i));  // without the '\n'
        const bool cr = (part > 0 ? p[i + part - 1] : c.tail[c.tail_len - 1]) == '\r';
        if (c.tail_len + part - (cr ? 1 : 0) > max_record_) {
            c.tail_len = 0;
            oversize(h);
        } else {
            if (paused_) return i;
            const std::size_t len = c.tail_len + part + 1;
            if (reserve_tail(c, len)) {
                std::memcpy(c.tail.get() + c.tail_len, p + i, part + 1);
                c.tail_len = 0;
                deliver(c.tail.get(), len, h);
            }
            c.tail_len = 0;
        }
        i += part + 1;
    }
    if (i < n) {
        // Complete lines in place, then the unterminated rest goes to the tail.
        const auto* last = static_cast<const char*>(memrchr(p + i, '\n', n - i));
        if (last) {
            const std::size_t block = static_cast<std::size_t>(last - (p + i)) + 1;
            const std::size_t done = deliver_block(p + i, block, h);
            i += done;
            if (done < block) return i;
        }
        if (i < n) extend_tail(c, p + i, n - i, h);
    }
    return n;
}

// [p, p+n) is whole lines at a line boundary. Returns the bytes consumed (n,
// or up to where the handler paused).
template <class H>
std::size_t TcpSource::deliver_block(const char* p, std::size_t n, H& h) noexcept {
    if (!scan_) [[likely]] {
        // A line inside one buffer is at most buffer_bytes <= max_record long.
        if (paused_) return 0;
        deliver(p, n, h);
        return n;
    }
    std::size_t run = 0;
    std::size_t j = 0;
    while (j < n) {
        const auto* nl = static_cast<const char*>(std::memchr(p + j, '\n', n - j));
        const std::size_t len = static_cast<std::size_t>(nl - (p + j));
        if (record_bytes(p + j, len) > max_record_) {
            if (run < j) {
                if (paused_) return run;
                deliver(p + run, j - run, h);
            }
            oversize(h);
            run = j + len + 1;
        }
        j += len + 1;
    }
    if (run < n) {
        if (paused_) return run;
        deliver(p + run, n - run, h);
    }
    return n;
}

// Appends an unterminated piece to the line held in the tail.
template <class H>
void TcpSource::extend_tail(Conn& c, const char* p, std::size_t n, H& h) noexcept {
    // + 1: a line of max_record bytes may still end in a '\r' (not counted).
    if (c.tail_len + n > max_record_ + 1) {
        c.tail_len = 0;
        c.skipping = true;
        oversize(h);
        return;
    }
    // +1: EOF may add the missing '\n'.
    if (!reserve_tail(c, c.tail_len + n + 1)) {
        c.tail_len = 0;
        c.skipping = true;
        return;
    }
    std::memcpy(c.tail.get() + c.tail_len, p, n);
    c.tail_len += n;
}

template <TcpHandler H>
void TcpSource::resume(H& h) noexcept {
    if (!paused_) return;
    paused_ = false;
    while (parked_count_ > 0 && !paused_) {
        Parked& e = parked_[parked_head_];
        if (!process(e.slot, e.res, e.flags, e.offset, h)) break;
        parked_head_ = (parked_head_ + 1) % parked_.size();
        --parked_count_;
    }
    if (paused_) return;  // the handler paused again
    for (uint32_t s = 0; s < conns_.size(); ++s) {
        if (conns_[s].open && !conns_[s].armed) schedule_arm(s);
    }
    flush();
}

}  // namespace sluice::net
