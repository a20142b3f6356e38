// UdpSink and TcpSink against plain loopback receivers, with a real io_uring
// driven the way a shard drives it: prepare -> submit -> wait CQEs -> on_cqe
// -> poll. Every wait is bounded; no assertion depends on tight timing.
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "counting_new.h"
#include "net/sink_batch.h"
#include "net/sink_tcp.h"
#include "net/sink_udp.h"
#include "sluice/base.h"

namespace sluice::net {
namespace {

// As the shard gives them: kind in the top byte, owner next, low 32 bits free.
constexpr uint64_t kUdpTag = uint64_t{0x40} << 56 | uint64_t{3} << 48;
constexpr uint64_t kTcpTag = uint64_t{0x41} << 56 | uint64_t{5} << 48;
constexpr auto kDeadline = std::chrono::seconds(5);

uint64_t now_ns() { return static_cast<uint64_t>(monotonic_ns()); }

class Ring {
public:
    Ring() { ok_ = io_uring_queue_init(256, &ring_, 0) == 0; }
    ~Ring() {
        if (ok_) io_uring_queue_exit(&ring_);
    }
    bool ok() const { return ok_; }
    io_uring* get() { return &ring_; }

    // One loop iteration of a shard with one sink.
    template <class Sink>
    void step(Sink& sink, uint64_t tag, long wait_us = 1000) {
        io_uring_submit(&ring_);
        __kernel_timespec ts{0, wait_us * 1000};
        io_uring_cqe* cqe = nullptr;
        io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
        unsigned head;
        unsigned n = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            if ((cqe->user_data & kSinkTagMask) == tag) sink.on_cqe(*cqe);
            ++n;
        }
        io_uring_cq_advance(&ring_, n);
        sink.poll(now_ns());
    }

private:
    io_uring ring_{};
    bool ok_ = false;
};

sockaddr_storage loopback(uint16_t port) {
    sockaddr_storage ss{};
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ss;
}

uint16_t port_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

// A loopback port nobody listens on (right now).
uint16_t unused_port(int type) {
    int fd = socket(AF_INET, type, 0);
    sockaddr_storage ss = loopback(0);
    bind(fd, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
    uint16_t port = port_of(fd);
    close(fd);
    return port;
}

// Row i, whole, with a pad of the given length.
void add_row(std::string& out, int i, std::size_t pad) {
    char head[48];
    int n = std::snprintf(head, sizeof head, "{\"seq\":%08d,\"pad\":\"", i);
    out.append(head, static_cast<std::size_t>(n));
    out.append(pad, 'x');
    out.append("\"}\n");
}

std::string rows(int from, int to, std::size_t pad = 40) {
    std::string s;
    for (int i = from; i < to; ++i) add_row(s, i, pad);
    return s;
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < s.size()) {
        std::size_t nl = s.find('\n', start);
        if (nl == std::string::npos) {
            out.push_back(s.substr(start));  // an unterminated tail
            break;
        }
        out.push_back(s.substr(start, nl + 1 - start));
        start = nl + 1;
    }
    return out;
}

// Seq of a whole row, -1 if the line is not exactly one row of our format.
int seq_of(const std::string& line) {
    int seq = -1;
    int consumed = 0;
    if (std::sscanf(line.c_str(), "{\"seq\":%08d,\"pad\":\"%*[x]\"}\n%n", &seq, &consumed) < 1) return -1;
    if (consumed != static_cast<int>(line.size())) return -1;
    return seq;
}

// ---------------------------------------------------------------------------
// UDP

class UdpReceiver {
public:
    UdpReceiver() {
        fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int rcvbuf = 8 << 20;
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_storage ss = loopback(0);
        bind(fd_, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
    }
    ~UdpReceiver() { close(fd_); }
    uint16_t port() const { return port_of(fd_); }
    int fd() const { return fd_; }
    void drain() {
        for (;;) {
            ssize_t n = recv(fd_, buf_, sizeof buf_, 0);
            if (n < 0) return;
            datagrams.emplace_back(buf_, static_cast<std::size_t>(n));
        }
    }
    std::vector<std::string> datagrams;

private:
    int fd_;
    char buf_[65536];
};

struct UdpFixture : ::testing::Test {
    void SetUp() override {
        if (!ring.ok()) GTEST_SKIP() << "io_uring unavailable";
    }
    Ring ring;
};

TEST_F(UdpFixture, PacksWholeRowsIntoDatagramsInOrder) {
    UdpReceiver rx;
    SinkConfig cfg;
    cfg.datagram_bytes = 1400;
    UdpSink sink(ring.get(), kUdpTag, loopback(rx.port()), cfg);
    ASSERT_TRUE(sink.open().ok());

    constexpr int kRows = 20000;
    std::vector<std::string> expected;
    std::string chunk;
    for (int i = 0; i < kRows; ++i) {
        std::size_t pad = (i * 7) % 120;
        if (i % 997 == 0) pad = 1500;         // longer than a datagram: goes alone
        if (i == 5000) pad = 70000;           // longer than any datagram: dropped
        std::string row;
        add_row(row, i, pad);
        if (i != 5000) expected.push_back(row);
        chunk += row;
        if (chunk.size() >= 8192 || i == kRows - 1) {
            sink.append(chunk.data(), chunk.size());
            chunk.clear();
            ring.step(sink, kUdpTag, 100);
            rx.drain();
        }
    }
    sink.flush();
    for (auto t0 = std::chrono::steady_clock::now(); !sink.idle() && std::chrono::steady_clock::now() - t0 < kDeadline;) {
        ring.step(sink, kUdpTag);
        rx.drain();
    }
    rx.drain();
    ASSERT_TRUE(sink.idle());

    std::string stream;
    for (const std::string& d : rx.datagrams) {
        ASSERT_FALSE(d.empty());
        EXPECT_EQ(d.back(), '\n') << "a row was split";
        if (d.size() > cfg.datagram_bytes) {
            EXPECT_EQ(count_rows(d.data(), d.size()), 1u) << "an oversize datagram holds more than its one row";
        }
        stream += d;
    }
    std::vector<std::string> got = split_lines(stream);
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "row " << i;

    const UdpSinkCounters& c = sink.counters();
    EXPECT_EQ(c.rows, expected.size());
    EXPECT_EQ(c.rows_dropped_oversize, 1u);
    EXPECT_EQ(c.rows_dropped_busy, 0u);
    EXPECT_EQ(c.send_errors, 0u);
    EXPECT_EQ(c.datagrams, rx.datagrams.size());
    EXPECT_EQ(c.bytes, stream.size());
    // Packed: far fewer datagrams than rows.
    EXPECT_LT(c.datagrams, expected.size() / 5);
    sink.close();
    EXPECT_TRUE(sink.idle());
}

TEST_F(UdpFixture, DeadlineFlushSendsASmallRowPromptly) {
    UdpReceiver rx;
    SinkConfig cfg;  // batch_bytes 65536, flush_us 50
    UdpSink sink(ring.get(), kUdpTag, loopback(rx.port()), cfg);
    ASSERT_TRUE(sink.open().ok());
    ring.step(sink, kUdpTag, 0);
    const std::string row = rows(7, 8);
    sink.append(row.data(), row.size());
    for (auto t0 = std::chrono::steady_clock::now();
         rx.datagrams.empty() && std::chrono::steady_clock::now() - t0 < kDeadline;) {
        ring.step(sink, kUdpTag);
        rx.drain();
    }
    ASSERT_EQ(rx.datagrams.size(), 1u);
    EXPECT_EQ(rx.datagrams[0], row);
    EXPECT_EQ(sink.counters().datagrams, 1u);
    EXPECT_TRUE(sink.idle());
}

TEST_F(UdpFixture, ClosedPortIsCountedNeverFatal) {
    UdpSink sink(ring.get(), kUdpTag, loopback(unused_port(SOCK_DGRAM)), SinkConfig{});
    ASSERT_TRUE(sink.open().ok());
    uint64_t appended = 0;
    const std::string chunk = rows(0, 10);
    for (auto t0 = std::chrono::steady_clock::now();
         sink.counters().send_errors == 0 && std::chrono::steady_clock::now() - t0 < kDeadline;) {
        sink.append(chunk.data(), chunk.size());
        appended += 10;
        sink.flush();
        ring.step(sink, kUdpTag);
    }
    while (!sink.idle()) ring.step(sink, kUdpTag);
    const UdpSinkCounters& c = sink.counters();
    EXPECT_GT(c.send_errors, 0u);
    EXPECT_EQ(c.last_error, ECONNREFUSED);
    EXPECT_EQ(c.rows + c.rows_send_failed, appended);
}

TEST_F(UdpFixture, AllBuffersInFlightDropsAndCounts) {
    UdpReceiver rx;
    UdpSink sink(ring.get(), kUdpTag, loopback(rx.port()), SinkConfig{});
    ASSERT_TRUE(sink.open().ok());
    // No submit in between: every sealed buffer stays in flight.
    const std::string chunk = rows(0, 1000);
    uint64_t appended = 0;
    for (unsigned i = 0; i < UdpSink::kBuffers * 2 && sink.counters().rows_dropped_busy == 0; ++i) {
        sink.append(chunk.data(), chunk.size());
        appended += 1000;
    }
    EXPECT_GT(sink.counters().rows_dropped_busy, 0u);
    sink.flush();
    for (auto t0 = std::chrono::steady_clock::now(); !sink.idle() && std::chrono::steady_clock::now() - t0 < kDeadline;) {
        ring.step(sink, kUdpTag);
        rx.drain();
    }
    ASSERT_TRUE(sink.idle());
    const UdpSinkCounters& c = sink.counters();
    EXPECT_EQ(c.rows + c.rows_dropped_busy + c.rows_send_failed, appended);
}

TEST_F(UdpFixture, SteadyStateAllocatesNothing) {
    UdpReceiver rx;
    UdpSink sink(ring.get(), kUdpTag, loopback(rx.port()), SinkConfig{});
    ASSERT_TRUE(sink.open().ok());
    const std::string chunk = rows(0, 200);
    char sink_buf[65536];
    auto run = [&](int iterations) {
        for (int i = 0; i < iterations; ++i) {
            sink.append(chunk.data(), chunk.size());
            ring.step(sink, kUdpTag, 100);
            while (recv(rx.fd(), sink_buf, sizeof sink_buf, MSG_DONTWAIT) > 0) {
            }
        }
    };
    run(50);  // warm up
    const uint64_t before = test::allocation_count();
    run(500);
    EXPECT_EQ(test::allocation_count(), before);
    EXPECT_GT(sink.counters().rows, 0u);
}

TEST_F(UdpFixture, OpenNamesTheProblem) {
    sockaddr_storage unix_dest{};
    unix_dest.ss_family = AF_UNIX;
    UdpSink udp(ring.get(), kUdpTag, unix_dest, SinkConfig{});
    Result<bool> r = udp.open();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("IPv4 or IPv6"), std::string::npos) << r.error().message;
    TcpSink tcp(ring.get(), kTcpTag, unix_dest, SinkConfig{});
    Result<bool> t = tcp.open();
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("tcp sink"), std::string::npos) << t.error().message;
    // Not opened: rows are counted, never sent.
    const std::string row = rows(0, 1);
    udp.append(row.data(), row.size());
    EXPECT_EQ(udp.counters().rows_dropped_closed, 1u);
}

// ---------------------------------------------------------------------------
// TCP

// A plain collector: accepts one connection at a time and reads everything
// into a string, unless told to stop reading.
class Collector {
public:
    explicit Collector(uint16_t port = 0, int rcvbuf = 0, bool reading = true) : reading_(reading) {
        data_.reserve(64 << 20);
        lfd_ = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (rcvbuf > 0) setsockopt(lfd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_storage ss = loopback(port);
        if (bind(lfd_, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in)) != 0 || listen(lfd_, 8) != 0) {
            ADD_FAILURE() << "collector cannot listen: " << std::strerror(errno);
        }
        port_ = port_of(lfd_);
        thread_ = std::thread([this] { run(); });
    }
    ~Collector() { stop(); }

    // Closes the connection and the listener.
    void stop() {
        if (!thread_.joinable()) return;
        stop_ = true;
        thread_.join();
        if (cfd_ >= 0) close(cfd_);
        close(lfd_);
        cfd_ = lfd_ = -1;
    }
    uint16_t port() const { return port_; }
    void set_reading(bool on) { reading_ = on; }
    int accepted() const { return accepted_; }
    std::size_t size() {
        std::lock_guard<std::mutex> lock(mu_);
        return data_.size();
    }
    std::string data() {
        std::lock_guard<std::mutex> lock(mu_);
        return data_;
    }

private:
    void run() {
        char buf[65536];
        while (!stop_) {
            pollfd p[2] = {{lfd_, POLLIN, 0}, {cfd_, POLLIN, 0}};
            int nfds = (cfd_ >= 0 && reading_) ? 2 : 1;
            if (poll(p, static_cast<nfds_t>(nfds), 5) <= 0) continue;
            if ((p[0].revents & POLLIN) && cfd_ < 0) {
                cfd_ = accept(lfd_, nullptr, nullptr);
                if (cfd_ >= 0) ++accepted_;
            }
            if (nfds == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t n = recv(cfd_, buf, sizeof buf, 0);
                if (n > 0) {
                    std::lock_guard<std::mutex> lock(mu_);
                    data_.append(buf, static_cast<std::size_t>(n));
                } else {
                    close(cfd_);  // the sink went away: take the next one
                    cfd_ = -1;
                }
            }
        }
    }

    int lfd_ = -1;
    int cfd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<bool> reading_;
    std::atomic<int> accepted_{0};
    std::mutex mu_;
    std::string data_;
    std::thread thread_;
};

struct TcpFixture : ::testing::Test {
    void SetUp() override {
        if (!ring.ok()) GTEST_SKIP() << "io_uring unavailable";
    }
    template <class Pred>
    bool run_until(TcpSink& sink, Pred done, std::chrono::milliseconds limit = kDeadline) {
        for (auto t0 = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - t0 < limit;) {
            if (done()) return true;
            ring.step(sink, kTcpTag);
        }
        return done();
    }
    Ring ring;
};

TEST_F(TcpFixture, DeliversRowsInOrder) {
    Collector col;
    TcpSink sink(ring.get(), kTcpTag, loopback(col.port()), SinkConfig{});
    ASSERT_TRUE(sink.open().ok());
    std::string all;
    for (int i = 0; i < 50000; i += 200) {
        const std::string chunk = rows(i, i + 200, static_cast<std::size_t>(i % 50));
        ASSERT_TRUE(sink.append(chunk.data(), chunk.size()));
        all += chunk;
        ring.step(sink, kTcpTag, 0);
    }
    ASSERT_TRUE(run_until(sink, [&] { return col.size() >= all.size(); }));
    EXPECT_EQ(col.data(), all);
    const TcpSinkCounters& c = sink.counters();
    EXPECT_EQ(c.connects, 1u);
    EXPECT_EQ(c.rows, 50000u);
    EXPECT_EQ(c.bytes, all.size());
    EXPECT_EQ(c.rows_dropped, 0u);
    EXPECT_TRUE(sink.idle());
    sink.close();
    ASSERT_TRUE(run_until(sink, [&] { return sink.idle(); }));
}

TEST_F(TcpFixture, DeadlineFlushSendsASmallRowPromptly) {
    Collector col;
    TcpSink sink(ring.get(), kTcpTag, loopback(col.port()), SinkConfig{});
    ASSERT_TRUE(sink.open().ok());
    ASSERT_TRUE(run_until(sink, [&] { return sink.connected(); }));
    const std::string row = rows(1, 2);
    ASSERT_TRUE(sink.append(row.data(), row.size()));
    ASSERT_TRUE(run_until(sink, [&] { return col.size() >= row.size(); }));
    EXPECT_EQ(col.data(), row);
}

TEST_F(TcpFixture, ConnectsAfterBackoffWhenCollectorStartsLate) {
    const uint16_t port = unused_port(SOCK_STREAM);
    SinkConfig cfg;
    cfg.reconnect_min_ms = 10;
    cfg.reconnect_max_ms = 100;
    TcpSink sink(ring.get(), kTcpTag, loopback(port), cfg);
    ASSERT_TRUE(sink.open().ok());
    const std::string buffered = rows(0, 100);
    ASSERT_TRUE(sink.append(buffered.data(), buffered.size()));
    run_until(sink, [] { return false; }, std::chrono::milliseconds(300));
    const uint64_t failures = sink.counters().connect_failures;
    EXPECT_GE(failures, 2u);
    EXPECT_LT(failures, 60u) << "no backoff between attempts";
    EXPECT_EQ(sink.counters().connects, 0u);
    EXPECT_FALSE(sink.idle());

    Collector col(port);
    ASSERT_TRUE(run_until(sink, [&] { return col.size() >= buffered.size(); }));
    EXPECT_EQ(col.data(), buffered);
    EXPECT_EQ(sink.counters().connects, 1u);
    EXPECT_TRUE(sink.idle());
}

TEST_F(TcpFixture, ReconnectsAfterCollectorCloses) {
    SinkConfig cfg;
    cfg.reconnect_min_ms = 5;
    cfg.reconnect_max_ms = 50;
    auto first = std::make_unique<Collector>();
    const uint16_t port = first->port();
    TcpSink sink(ring.get(), kTcpTag, loopback(port), cfg);
    ASSERT_TRUE(sink.open().ok());
    const std::string before = rows(0, 1000);
    ASSERT_TRUE(sink.append(before.data(), before.size()));
    ASSERT_TRUE(run_until(sink, [&] { return first->size() >= before.size(); }));
    EXPECT_EQ(first->data(), before);

    first->stop();  // closes the connection and the listener
    ASSERT_TRUE(run_until(sink, [&] { return sink.counters().disconnects == 1; }));
    const std::string after = rows(1000, 2000);
    ASSERT_TRUE(sink.append(after.data(), after.size()));  // buffered while disconnected
    run_until(sink, [] { return false; }, std::chrono::milliseconds(50));
    EXPECT_FALSE(sink.idle());

    Collector second(port);
    ASSERT_TRUE(run_until(sink, [&] { return second.size() >= after.size(); }));
    EXPECT_EQ(second.data(), after);
    const TcpSinkCounters& c = sink.counters();
    EXPECT_EQ(c.connects, 2u);
    EXPECT_EQ(c.rows, 2000u);
    EXPECT_EQ(c.rows_truncated, 0u);
}

// The collector stops reading, then dies with data unread while a send is
// blocked (usually mid-row): the new connection starts at a row boundary.
TEST_F(TcpFixture, BrokenConnectionResumesAtARowBoundary) {
    SinkConfig cfg;
    cfg.reconnect_min_ms = 5;
    cfg.reconnect_max_ms = 50;
    cfg.buffer_bytes = 16 << 20;  // more than the kernel's socket buffers absorb
    auto first = std::make_unique<Collector>(0, 4096, /*reading=*/false);
    const uint16_t port = first->port();
    TcpSink sink(ring.get(), kTcpTag, loopback(port), cfg);
    ASSERT_TRUE(sink.open().ok());
    ASSERT_TRUE(run_until(sink, [&] { return sink.connected(); }));
    int appended = 0;
    while (appended < 100000) {
        const std::string chunk = rows(appended, appended + 100, 57);
        ASSERT_TRUE(sink.append(chunk.data(), chunk.size()));
        appended += 100;
    }
    sink.flush();
    // Until the kernel stops taking bytes.
    uint64_t last = ~uint64_t{0};
    for (int quiet = 0; quiet < 20;) {
        ring.step(sink, kTcpTag);
        quiet = sink.counters().bytes == last ? quiet + 1 : 0;
        last = sink.counters().bytes;
    }
    ASSERT_FALSE(sink.idle());
    first->stop();  // unread data: the connection is reset
    ASSERT_TRUE(run_until(sink, [&] { return sink.counters().disconnects == 1; }));

    Collector second(port);
    ASSERT_TRUE(run_until(sink, [&] { return sink.idle() && second.size() >= sink.counters().bytes - last; }));
    const TcpSinkCounters& c = sink.counters();
    EXPECT_LE(c.rows_truncated, 1u);
    EXPECT_EQ(c.rows + c.rows_truncated, static_cast<uint64_t>(appended));
    std::vector<std::string> lines = split_lines(second.data());
    ASSERT_FALSE(lines.empty());
    int prev = -1;
    for (const std::string& line : lines) {
        const int seq = seq_of(line);
        ASSERT_GE(seq, 0) << "not a whole row: " << line;
        ASSERT_GT(seq, prev);
        prev = seq;
    }
    EXPECT_EQ(prev, appended - 1);
}

// Appends chunks of 40 rows until the sink refuses (block) or drops (drop).
struct Filler {
    int next = 0;
    std::string pending;
    void make() { pending = rows(next, next + 40, 60); }
};

TEST_F(TcpFixture, BlockPolicyRefusesWhenFullAndLosesNothing) {
    Collector col(0, 4096, /*reading=*/false);
    SinkConfig cfg;
    cfg.buffer_bytes = 64 << 10;
    cfg.batch_bytes = 16 << 10;
    TcpSink sink(ring.get(), kTcpTag, loopback(col.port()), cfg);
    ASSERT_TRUE(sink.open().ok());
    ASSERT_TRUE(run_until(sink, [&] { return sink.connected(); }));

    std::string accepted;
    Filler f;
    f.make();
    bool refused = false;
    for (auto t0 = std::chrono::steady_clock::now(); !refused && std::chrono::steady_clock::now() - t0 < kDeadline;) {
        for (int k = 0; k < 64; ++k) {
            if (!sink.can_accept(f.pending.size())) {
                EXPECT_FALSE(sink.append(f.pending.data(), f.pending.size()));
                refused = true;
                break;
            }
            ASSERT_TRUE(sink.append(f.pending.data(), f.pending.size()));
            accepted += f.pending;
            f.next += 40;
            f.make();
        }
        ring.step(sink, kTcpTag, 100);
    }
    ASSERT_TRUE(refused) << "the kernel absorbed everything";
    EXPECT_GT(sink.counters().full_refusals, 0u);
    const std::size_t buffered = sink.buffered();

    col.set_reading(true);
    // The caller kept the refused chunk: it goes in once there is room.
    ASSERT_TRUE(run_until(sink, [&] { return sink.can_accept(f.pending.size()); }));
    ASSERT_TRUE(sink.append(f.pending.data(), f.pending.size()));
    accepted += f.pending;
    sink.flush();
    ASSERT_TRUE(run_until(sink, [&] { return col.size() >= accepted.size(); }));
    EXPECT_EQ(col.size(), accepted.size());
    EXPECT_TRUE(col.data() == accepted) << "stream differs (buffered at refusal: " << buffered << ")";
    EXPECT_EQ(sink.counters().rows_dropped, 0u);
}

TEST_F(TcpFixture, DropPolicyCountsDroppedRowsAndSendsWholeLines) {
    Collector col(0, 4096, /*reading=*/false);
    SinkConfig cfg;
    cfg.buffer_bytes = 64 << 10;
    cfg.batch_bytes = 16 << 10;
    cfg.drop_when_full = true;
    TcpSink sink(ring.get(), kTcpTag, loopback(col.port()), cfg);
    ASSERT_TRUE(sink.open().ok());
    ASSERT_TRUE(run_until(sink, [&] { return sink.connected(); }));

    Filler f;
    uint64_t appended = 0;
    int extra = 0;
    for (auto t0 = std::chrono::steady_clock::now(); extra < 200 && std::chrono::steady_clock::now() - t0 < kDeadline;) {
        for (int k = 0; k < 64; ++k) {
            f.make();
            ASSERT_TRUE(sink.append(f.pending.data(), f.pending.size()));
            appended += 40;
            f.next += 40;
            if (sink.counters().rows_dropped > 0) ++extra;
        }
        ring.step(sink, kTcpTag, 100);
    }
    ASSERT_GT(sink.counters().rows_dropped, 0u);
    EXPECT_EQ(sink.counters().rows_dropped % 40, 0u) << "whole chunks are dropped";

    col.set_reading(true);
    sink.flush();
    ASSERT_TRUE(run_until(sink, [&] { return sink.idle() && col.size() >= sink.counters().bytes; }));
    const TcpSinkCounters& c = sink.counters();
    EXPECT_EQ(c.rows + c.rows_dropped, appended);
    std::vector<std::string> lines = split_lines(col.data());
    ASSERT_EQ(lines.size(), c.rows);
    int last = -1;
    for (const std::string& line : lines) {
        const int seq = seq_of(line);
        ASSERT_GE(seq, 0) << "not a whole row: " << line;
        ASSERT_GT(seq, last);
        last = seq;
    }
}

TEST_F(TcpFixture, CloseDropsWhatIsBufferedAndCountsIt) {
    SinkConfig cfg;
    cfg.reconnect_min_ms = 1000;
    TcpSink sink(ring.get(), kTcpTag, loopback(unused_port(SOCK_STREAM)), cfg);
    ASSERT_TRUE(sink.open().ok());
    const std::string chunk = rows(0, 10);
    ASSERT_TRUE(sink.append(chunk.data(), chunk.size()));
    run_until(sink, [] { return false; }, std::chrono::milliseconds(20));
    sink.close();
    ASSERT_TRUE(run_until(sink, [&] { return sink.idle(); }));
    EXPECT_EQ(sink.counters().rows_dropped_closed, 10u);
    EXPECT_TRUE(sink.append(chunk.data(), chunk.size()));
    EXPECT_EQ(sink.counters().rows_dropped_closed, 20u);
}

TEST_F(TcpFixture, SteadyStateAllocatesNothing) {
    Collector col;
    TcpSink sink(ring.get(), kTcpTag, loopback(col.port()), SinkConfig{});
    ASSERT_TRUE(sink.open().ok());
    ASSERT_TRUE(run_until(sink, [&] { return sink.connected(); }));
    const std::string chunk = rows(0, 200);
    auto run = [&](int iterations) {
        for (int i = 0; i < iterations; ++i) {
            while (!sink.append(chunk.data(), chunk.size())) ring.step(sink, kTcpTag, 100);
            ring.step(sink, kTcpTag, 0);
        }
    };
    run(50);
    const uint64_t before = test::allocation_count();
    run(500);
    EXPECT_EQ(test::allocation_count(), before);
}

}  // namespace
}  // namespace sluice::net
