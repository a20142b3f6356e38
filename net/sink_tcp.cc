#include "net/sink_tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "net/sink_batch.h"

namespace sluice::net {
namespace {
constexpr uint32_t kOpConnect = 1;
constexpr uint32_t kOpConnectPoll = 2;
constexpr uint32_t kOpSend = 3;
constexpr uint32_t kOpWatch = 4;
constexpr uint32_t kOpCancel = 5;
constexpr std::size_t kMaxSend = std::size_t{1} << 30;
}  // namespace

TcpSink::TcpSink(io_uring* ring, uint64_t tag, const sockaddr_storage& dest, const SinkConfig& config)
    : ring_(ring),
      tag_(tag & kSinkTagMask),
      dest_(dest),
      cap_(std::max<std::size_t>(config.buffer_bytes, 1)),
      batch_bytes_(std::clamp<std::size_t>(config.batch_bytes, 1, cap_)),
      flush_ns_(us_to_ns(config.flush_us)),
      backoff_min_ns_(ms_to_ns(std::max<uint32_t>(config.reconnect_min_ms, 1))),
      backoff_max_ns_(std::max(ms_to_ns(config.reconnect_max_ms), backoff_min_ns_)),
      drop_when_full_(config.drop_when_full),
      backoff_ns_(backoff_min_ns_),
      // Not value-initialized: pages are first touched by the shard that writes them.
      buf_(new char[cap_]) {}

TcpSink::~TcpSink() {
    if (fd_ >= 0) ::close(fd_);
}

Result<bool> TcpSink::open() {
    const std::string where = "tcp sink " + sink_addr_string(dest_);
    dest_len_ = sink_addr_len(dest_);
    if (dest_len_ == 0) return Error{where + ": destination must be IPv4 or IPv6"};
    Result<bool> probed = sink_probe(
        ring_, {IORING_OP_CONNECT, IORING_OP_SEND, IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL}, where.c_str());
    if (!probed) return probed;
    if (state_ == State::kClosed && ops_ == 0) {
        closing_for_good_ = false;
        state_ = State::kBackoff;
        next_connect_ns_ = 0;  // the first poll() connects
    }
    return true;
}

bool TcpSink::append(const char* rows, std::size_t n) noexcept {
    if (state_ == State::kClosed || closing_for_good_) [[unlikely]] {
        c_.rows_dropped_closed += count_rows(rows, n);
        return true;
    }
    if (n == 0) return true;
    if (n > cap_ || (!can_accept(n) && drop_when_full_)) [[unlikely]] {
        c_.rows_dropped += count_rows(rows, n);
        return true;
    }
    if (!can_accept(n)) [[unlikely]] {
        ++c_.full_refusals;
        return false;
    }
    const std::size_t at = static_cast<std::size_t>(wr_ % cap_);
    const std::size_t first = std::min(n, cap_ - at);
    std::memcpy(buf_.get() + at, rows, first);
    if (first < n) std::memcpy(buf_.get(), rows + first, n - first);
    if (wr_ == due_) pending_since_ns_ = now_ns_;
    wr_ += n;
    if (wr_ - due_ >= batch_bytes_) {
        due_ = wr_;
        kick();
    }
    return true;
}

void TcpSink::poll(uint64_t now_ns) noexcept {
    now_ns_ = now_ns;
    switch (state_) {
    case State::kBackoff:
        if (now_ns >= next_connect_ns_) start_connect();
        break;
    case State::kConnecting:
        if (connect_in_flight_ && !cancel_sent_ && now_ns - connect_started_ns_ >= kConnectTimeoutNs) {
            cancel(connect_op_);
        }
        break;
    case State::kConnected:
        if (!watch_in_flight_) arm_watch();
        break;
    case State::kClosing:
        if (connect_in_flight_ && !cancel_sent_) cancel(connect_op_);
        break;
    case State::kClosed:
        break;
    }
    if (wr_ > due_ && now_ns - pending_since_ns_ >= flush_ns_) due_ = wr_;
    kick();
}

void TcpSink::flush() noexcept {
    due_ = wr_;
    kick();
}

io_uring_sqe* TcpSink::sqe() noexcept {
    io_uring_sqe* s = io_uring_get_sqe(ring_);
    if (s == nullptr) [[unlikely]] ++c_.sq_full;  // the next poll() retries
    return s;
}

void TcpSink::start_connect() noexcept {
    const int fd = ::socket(dest_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ++c_.connect_failures;
        c_.last_error = errno;
        schedule_reconnect();
        return;
    }
    // Batching is done here; Nagle would only delay the deadline flushes.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    io_uring_sqe* s = sqe();
    if (s == nullptr) {
        ::close(fd);
        return;  // still kBackoff and due: the next poll() tries again
    }
    io_uring_prep_connect(s, fd, reinterpret_cast<const sockaddr*>(&dest_), dest_len_);
    io_uring_sqe_set_data64(s, sink_user_data(tag_, kOpConnect, 0, 0));
    ++ops_;
    fd_ = fd;
    connect_in_flight_ = true;
    connect_op_ = kOpConnect;
    cancel_sent_ = false;
    connect_started_ns_ = now_ns_;
    state_ = State::kConnecting;
}

void TcpSink::on_connected() noexcept {
    state_ = State::kConnected;
    ++c_.connects;
    backoff_ns_ = backoff_min_ns_;
    arm_watch();
    kick();
}

void TcpSink::connect_failed(int err) noexcept {
    ++c_.connect_failures;
    c_.last_error = cancel_sent_ ? ETIMEDOUT : err;
    begin_close();
}

// The collector never sends: POLLRDHUP (or HUP/ERR) means it went away, which
// an idle connection would otherwise only learn by losing the next send.
void TcpSink::arm_watch() noexcept {
    if (watch_broken_ || watch_in_flight_) return;
    io_uring_sqe* s = sqe();
    if (s == nullptr) return;
    io_uring_prep_poll_add(s, fd_, POLLRDHUP);
    io_uring_sqe_set_data64(s, sink_user_data(tag_, kOpWatch, 0, 0));
    ++ops_;
    watch_in_flight_ = true;
}

void TcpSink::cancel(uint32_t op) noexcept {
    io_uring_sqe* s = sqe();
    if (s == nullptr) return;
    io_uring_prep_cancel64(s, sink_user_data(tag_, op, 0, 0), 0);
    io_uring_sqe_set_data64(s, sink_user_data(tag_, kOpCancel, 0, 0));
    ++ops_;
    cancel_sent_ = true;
}

// One send at a time: two sends in flight on a stream could interleave after
// a short write.
void TcpSink::kick() noexcept {
    if (state_ != State::kConnected || send_in_flight_ || sent_ >= due_) return;
    const std::size_t at = static_cast<std::size_t>(sent_ % cap_);
    const std::size_t len = std::min({static_cast<std::size_t>(due_ - sent_), cap_ - at, kMaxSend});
    io_uring_sqe* s = sqe();
    if (s == nullptr) return;
    io_uring_prep_send(s, fd_, buf_.get() + at, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, sink_user_data(tag_, kOpSend, 0, 0));
    ++ops_;
    send_in_flight_ = true;
}

void TcpSink::account_sent(std::size_t n) noexcept {
    uint64_t pos = sent_;
    const uint64_t end = sent_ + n;
    while (pos < end) {
        const std::size_t at = static_cast<std::size_t>(pos % cap_);
        const std::size_t seg = std::min(static_cast<std::size_t>(end - pos), cap_ - at);
        const char* base = buf_.get() + at;
        const char* p = base;
        const char* stop = base + seg;
        while (p < stop) {
            const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(stop - p));
            if (nl == nullptr) break;
            p = static_cast<const char*>(nl) + 1;
            ++c_.rows;
            row_end_ = pos + static_cast<uint64_t>(p - base);
        }
        pos += seg;
    }
    sent_ = end;
    c_.bytes += n;
}

std::size_t TcpSink::rows_between(uint64_t from, uint64_t to) const noexcept {
    std::size_t rows = 0;
    while (from < to) {
        const std::size_t at = static_cast<std::size_t>(from % cap_);
        const std::size_t seg = std::min(static_cast<std::size_t>(to - from), cap_ - at);
        rows += count_rows(buf_.get() + at, seg);
        from += seg;
    }
    return rows;
}

void TcpSink::on_cqe(const io_uring_cqe& cqe) noexcept {
    const uint32_t op = sink_op(cqe.user_data);
    const int res = cqe.res;
    if (ops_ > 0) --ops_;
    switch (op) {
    case kOpConnect:
    case kOpConnectPoll: {
        connect_in_flight_ = false;
        if (state_ != State::kConnecting) break;
        if (op == kOpConnect && (res == -EINPROGRESS || res == -EALREADY)) {
            // Kernels without fast poll may report an unfinished connect.
            io_uring_sqe* s = sqe();
            if (s == nullptr) {
                connect_failed(EAGAIN);
                break;
            }
            io_uring_prep_poll_add(s, fd_, POLLOUT);
            io_uring_sqe_set_data64(s, sink_user_data(tag_, kOpConnectPoll, 0, 0));
            ++ops_;
            connect_in_flight_ = true;
            connect_op_ = kOpConnectPoll;
            break;
        }
        int err = res < 0 ? -res : 0;
        if (op == kOpConnectPoll && res >= 0) {
            socklen_t len = sizeof err;
            if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
        if (err == 0) {
            on_connected();
        } else {
            connect_failed(err);
        }
        break;
    }
    case kOpSend:
        send_in_flight_ = false;
        if (res > 0) account_sent(static_cast<std::size_t>(res));
        if (state_ == State::kConnected) {
            if (res > 0 || res == -EAGAIN || res == -EINTR) {
                kick();  // the rest of a short write, or the next due bytes
            } else {
                c_.last_error = res < 0 ? -res : EPIPE;
                begin_close();
            }
        }
        break;
    case kOpWatch:
        watch_in_flight_ = false;
        if (res < 0) {
            watch_broken_ = res != -ECANCELED;  // the poll itself failed: stop watching
        } else if (state_ == State::kConnected) {
            begin_close();
        }
        break;
    default:  // kOpCancel: its target reports on its own
        break;
    }
    if (state_ == State::kClosing && ops_ == 0) finish_close();
}

void TcpSink::begin_close() noexcept {
    if (state_ != State::kConnected && state_ != State::kConnecting) return;
    if (state_ == State::kConnected && !closing_for_good_) ++c_.disconnects;
    state_ = State::kClosing;
    // Wakes the watch and a send blocked on a full socket; they come back with errors.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    if (connect_in_flight_ && !cancel_sent_) cancel(connect_op_);
}

// Every operation on the old socket is back: nothing in the buffer is in the
// kernel's hands any more.
void TcpSink::finish_close() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    send_in_flight_ = watch_in_flight_ = connect_in_flight_ = false;
    skip_partial_row();
    if (closing_for_good_) {
        c_.rows_dropped_closed += rows_between(sent_, wr_);
        sent_ = due_ = row_end_ = wr_;
        state_ = State::kClosed;
        return;
    }
    schedule_reconnect();
}

void TcpSink::schedule_reconnect() noexcept {
    state_ = State::kBackoff;
    next_connect_ns_ = now_ns_ + backoff_ns_;
    backoff_ns_ = std::min(backoff_ns_ * 2, backoff_max_ns_);
}

// The head of a row went out on the broken connection: the collector holds a
// truncated line there. Resume at the next whole row, never mid-row.
void TcpSink::skip_partial_row() noexcept {
    if (sent_ == row_end_) return;
    ++c_.rows_truncated;
    uint64_t pos = sent_;
    while (pos < wr_) {
        const std::size_t at = static_cast<std::size_t>(pos % cap_);
        const std::size_t seg = std::min(static_cast<std::size_t>(wr_ - pos), cap_ - at);
        const void* nl = std::memchr(buf_.get() + at, '\n', seg);
        if (nl != nullptr) {
            pos += static_cast<uint64_t>(static_cast<const char*>(nl) - (buf_.get() + at)) + 1;
            sent_ = row_end_ = pos;
            due_ = std::max(due_, sent_);
            return;
        }
        pos += seg;
    }
    sent_ = row_end_ = due_ = wr_;  // unterminated tail: nothing whole left
}

bool TcpSink::idle() const noexcept {
    if (closing_for_good_) return state_ == State::kClosed;
    return sent_ == wr_;
}

void TcpSink::close() noexcept {
    if (state_ == State::kClosed) return;
    closing_for_good_ = true;
    if (state_ == State::kBackoff) {
        state_ = State::kClosing;
    } else {
        begin_close();
    }
    if (state_ == State::kClosing && ops_ == 0) finish_close();
}

}  // namespace sluice::net
