// net_blast: plain loopback senders and receivers for bench/network.sh. The
// receivers are the kernel ceiling sluice's ingest is compared with; the
// senders drive both, so the two see exactly the same traffic.
//
//   net_blast udp-send --port P --input FILE --seconds S [--datagram-bytes 1400] [--rate 0] [--sockets 1]
//   net_blast udp-recv --port P --seconds S [--reuseport N] [--idle-ms 500] [--buffer-bytes 2048]
//   net_blast tcp-send --port P --input FILE --seconds S --connections C
//   net_blast tcp-recv --port P --seconds S [--connections C]
//
// Everything is on 127.0.0.1. Each mode prints one line of key=value pairs on
// stdout (the script parses it); receivers print "ready" on stderr once bound.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr unsigned kBatch = 64;          // sendmmsg / recvmmsg batch
constexpr std::size_t kTcpChunk = 256 * 1024;

[[noreturn]] void die(const char* fmt, const char* arg = "") {
    std::fprintf(stderr, "net_blast: ");
    std::fprintf(stderr, fmt, arg);
    std::fprintf(stderr, "\n");
    std::exit(1);
}

[[noreturn]] void die_errno(const char* what) { die("%s", (std::string(what) + ": " + std::strerror(errno)).c_str()); }

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint64_t count_newlines(const char* p, std::size_t n) {
    return static_cast<uint64_t>(std::count(p, p + n, '\n'));
}

struct Args {
    std::map<std::string, std::string> kv;

    Args(int argc, char** argv, std::initializer_list<const char*> known) {
        for (int i = 2; i < argc; ++i) {
            std::string k = argv[i];
            if (k.rfind("--", 0) != 0 || i + 1 >= argc) die("bad argument '%s' (options are --name value)", argv[i]);
            k = k.substr(2);
            if (std::find_if(known.begin(), known.end(), [&](const char* s) { return k == s; }) == known.end())
                die("unknown option '--%s' for this mode", k.c_str());
            kv[k] = argv[++i];
        }
    }
    std::string str(const char* k, const char* def = nullptr) const {
        auto it = kv.find(k);
        if (it != kv.end()) return it->second;
        if (!def) die("--%s is required", k);
        return def;
    }
    double num(const char* k, const char* def = nullptr) const {
        const std::string s = str(k, def);
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || v < 0) die("--%s wants a non-negative number", k);
        return v;
    }
};

sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

uint16_t port_arg(const Args& a) {
    const double p = a.num("port");
    if (p < 1 || p > 65535) die("--port must be in 1..65535");
    return static_cast<uint16_t>(p);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die("cannot read '%s'", path.c_str());
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (s.empty()) die("'%s' is empty", path.c_str());
    if (s.back() != '\n') s.push_back('\n');  // whole lines only
    return s;
}

void set_timeout(int fd, int opt, int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) < 0) die_errno("setsockopt timeout");
}

// ------------------------------------------------------------------ udp-send

int udp_send(const Args& a) {
    const uint16_t port = port_arg(a);
    const std::string data = read_file(a.str("input"));
    const double seconds = a.num("seconds");
    const auto dgram_max = static_cast<std::size_t>(a.num("datagram-bytes", "1400"));
    const double rate = a.num("rate", "0");  // datagrams/s, 0: as fast as possible
    const auto nsockets = static_cast<unsigned>(a.num("sockets", "1"));
    if (dgram_max < 1 || dgram_max > 65507) die("--datagram-bytes must be in 1..65507");
    if (nsockets < 1 || nsockets > 1024) die("--sockets must be in 1..1024");

    // Lines are contiguous in the file, so a datagram is a slice of it.
    std::vector<iovec> iov;
    std::vector<uint64_t> rec_prefix{0};  // records in datagrams [0, i)
    for (std::size_t pos = 0; pos < data.size();) {
        std::size_t end = pos, recs = 0;
        while (end < data.size()) {
            const std::size_t nl = data.find('\n', end) + 1;
            if (nl - pos > dgram_max) break;
            end = nl;
            ++recs;
        }
        if (recs == 0) die("a line is longer than --datagram-bytes");
        iov.push_back(iovec{const_cast<char*>(data.data() + pos), end - pos});
        rec_prefix.push_back(rec_prefix.back() + recs);
        pos = end;
    }
    const std::size_t d = iov.size();
    std::vector<mmsghdr> msgs(d);
    for (std::size_t i = 0; i < d; ++i) {
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    std::vector<uint64_t> byte_prefix{0};
    for (const iovec& v : iov) byte_prefix.push_back(byte_prefix.back() + v.iov_len);

    // Several source ports, so SO_REUSEPORT spreads them over the receivers' sockets.
    std::vector<int> fds;
    const sockaddr_in to = loopback(port);
    for (unsigned s = 0; s < nsockets; ++s) {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) die_errno("socket");
        if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) die_errno("connect");
        fds.push_back(fd);
    }

    uint64_t datagrams = 0, records = 0, bytes = 0, refused = 0;
    std::size_t next = 0;
    unsigned sock = 0;
    const int64_t t0 = now_ns();
    const int64_t deadline = t0 + static_cast<int64_t>(seconds * 1e9);
    int64_t t = t0;
    while (t < deadline) {
        if (rate > 0) {
            const int64_t due = t0 + static_cast<int64_t>(static_cast<double>(datagrams) / rate * 1e9);
            if (due > t) {
                const int64_t wait = std::min(due, deadline) - t;
                timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
                nanosleep(&ts, nullptr);
                t = now_ns();
                continue;
            }
        }
        const auto n = static_cast<unsigned>(std::min<std::size_t>(kBatch, d - next));
        const int sent = sendmmsg(fds[sock], &msgs[next], n, 0);
        if (sent < 0) {
            // ICMP port unreachable from an earlier datagram (no receiver yet): keep going.
            if (errno == ECONNREFUSED) ++refused;
            else if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS) die_errno("sendmmsg");
        } else {
            const auto k = static_cast<std::size_t>(sent);
            datagrams += k;
            records += rec_prefix[next + k] - rec_prefix[next];
            bytes += byte_prefix[next + k] - byte_prefix[next];
            next = (next + k) % d;
            sock = (sock + 1) % nsockets;
        }
        t = now_ns();
    }
    const double secs = static_cast<double>(t - t0) / 1e9;
    for (int fd : fds) close(fd);
    std::printf("udp-send: datagrams=%llu records=%llu bytes=%llu seconds=%.3f datagrams_per_s=%.0f records_per_s=%.0f "
                "mb_per_s=%.1f records_per_datagram=%.3f packed_datagrams=%zu sockets=%u refused=%llu\n",
                static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(bytes), secs, static_cast<double>(datagrams) / secs,
                static_cast<double>(records) / secs, static_cast<double>(bytes) / secs / 1e6,
                datagrams ? static_cast<double>(records) / static_cast<double>(datagrams) : 0.0, d, nsockets,
                static_cast<unsigned long long>(refused));
    return 0;
}

// ------------------------------------------------------------------ udp-recv

struct alignas(64) RecvStats {
    std::atomic<int64_t> last_ns{0};
    uint64_t datagrams = 0, records = 0, bytes = 0, truncated = 0;
};

int udp_recv(const Args& a) {
    const uint16_t port = port_arg(a);
    const double seconds = a.num("seconds");
    const auto nsock = static_cast<unsigned>(a.num("reuseport", "1"));
    const auto idle_ns = static_cast<int64_t>(a.num("idle-ms", "500") * 1e6);
    const auto wait_ns = static_cast<int64_t>(a.num("wait-seconds", "30") * 1e9);
    // Like sluice's udp_buffer_bytes: longer datagrams are counted as truncated.
    const auto slot = static_cast<std::size_t>(a.num("buffer-bytes", "2048"));
    if (nsock < 1 || nsock > 256) die("--reuseport must be in 1..256");
    if (slot < 1 || slot > 65536) die("--buffer-bytes must be in 1..65536");

    // The kernel's default receive buffer, as sluice's sockets have.
    std::vector<int> fds;
    const sockaddr_in at = loopback(port);
    for (unsigned s = 0; s < nsock; ++s) {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) die_errno("socket");
        const int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die_errno("SO_REUSEPORT");
        if (bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) < 0) die_errno("bind");
        set_timeout(fd, SO_RCVTIMEO, 20);
        fds.push_back(fd);
    }

    std::atomic<int64_t> first_ns{0};
    std::atomic<bool> stop{false};
    std::vector<RecvStats> stats(nsock);
    std::vector<std::thread> threads;
    for (unsigned s = 0; s < nsock; ++s) {
        threads.emplace_back([&, s] {
            std::vector<char> buf(kBatch * slot);
            std::vector<iovec> iov(kBatch);
            std::vector<mmsghdr> msgs(kBatch);
            RecvStats& st = stats[s];
            while (!stop.load(std::memory_order_relaxed)) {
                for (unsigned i = 0; i < kBatch; ++i) {
                    iov[i] = iovec{buf.data() + i * slot, slot};
                    msgs[i] = mmsghdr{};
                    msgs[i].msg_hdr.msg_iov = &iov[i];
                    msgs[i].msg_hdr.msg_iovlen = 1;
                }
                const int n = recvmmsg(fds[s], msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
                if (n <= 0) {
                    if (n < 0 && errno != EAGAIN && errno != EINTR) die_errno("recvmmsg");
                    continue;
                }
                const int64_t t = now_ns();
                int64_t expected = 0;
                first_ns.compare_exchange_strong(expected, t, std::memory_order_relaxed);
                for (int i = 0; i < n; ++i) {
                    const std::size_t len = msgs[i].msg_len;
                    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                        ++st.truncated;
                        continue;
                    }
                    ++st.datagrams;
                    st.bytes += len;
                    st.records += count_newlines(static_cast<const char*>(iov[i].iov_base), len);
                }
                st.last_ns.store(t, std::memory_order_relaxed);
            }
        });
    }
    std::fprintf(stderr, "ready\n");

    // Ends S seconds after the first datagram, or when the senders have been quiet for idle-ms.
    const int64_t start = now_ns();
    for (;;) {
        usleep(5000);
        const int64_t t = now_ns(), first = first_ns.load(std::memory_order_relaxed);
        if (first == 0) {
            if (t - start > wait_ns) break;
            continue;
        }
        int64_t last = 0;
        for (auto& st : stats) last = std::max(last, st.last_ns.load(std::memory_order_relaxed));
        if (t - first >= static_cast<int64_t>(seconds * 1e9) || t - last >= idle_ns) break;
    }
    stop.store(true);
    for (auto& th : threads) th.join();
    for (int fd : fds) close(fd);

    uint64_t datagrams = 0, records = 0, bytes = 0, truncated = 0;
    int64_t last = 0;
    std::string per_socket;
    for (auto& st : stats) {
        datagrams += st.datagrams;
        records += st.records;
        bytes += st.bytes;
        truncated += st.truncated;
        last = std::max(last, st.last_ns.load());
        if (!per_socket.empty()) per_socket += ',';
        per_socket += std::to_string(st.datagrams);
    }
    const int64_t first = first_ns.load();
    const double secs = first ? static_cast<double>(last - first) / 1e9 : 0.0;
    const double div = secs > 0 ? secs : 1.0;
    std::printf("udp-recv: datagrams=%llu records=%llu bytes=%llu seconds=%.3f datagrams_per_s=%.0f records_per_s=%.0f "
                "mb_per_s=%.1f sockets=%u per_socket=%s truncated=%llu\n",
                static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(bytes), secs, static_cast<double>(datagrams) / div,
                static_cast<double>(records) / div, static_cast<double>(bytes) / div / 1e6, nsock, per_socket.c_str(),
                static_cast<unsigned long long>(truncated));
    return 0;
}

// ------------------------------------------------------------------ tcp-send

int tcp_send(const Args& a) {
    const uint16_t port = port_arg(a);
    const std::string data = read_file(a.str("input"));
    const double seconds = a.num("seconds");
    const auto conns = static_cast<unsigned>(a.num("connections", "1"));
    const auto close_wait_ns = static_cast<int64_t>(a.num("close-wait-seconds", "30") * 1e9);
    if (conns < 1 || conns > 1024) die("--connections must be in 1..1024");

    // Writes end on line boundaries, so stopping at the deadline never cuts a record.
    struct Chunk {
        std::size_t off, len;
        uint64_t records;
    };
    std::vector<Chunk> chunks;
    for (std::size_t pos = 0; pos < data.size();) {
        std::size_t end = std::min(pos + kTcpChunk, data.size());
        if (end < data.size()) {
            const std::size_t nl = data.rfind('\n', end - 1);
            end = nl != std::string::npos && nl >= pos ? nl + 1 : data.find('\n', end) + 1;
        }
        chunks.push_back(Chunk{pos, end - pos, count_newlines(data.data() + pos, end - pos)});
        pos = end;
    }

    const sockaddr_in to = loopback(port);
    std::vector<int> fds;
    for (unsigned c = 0; c < conns; ++c) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) die_errno("socket");
        if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) die_errno("connect");
        fds.push_back(fd);
    }

    struct alignas(64) Out {
        uint64_t bytes = 0, records = 0;
        int64_t sent_ns = 0, closed_ns = 0;  // last write done; peer closed (0: never)
    };
    std::vector<Out> out(conns);
    const int64_t t0 = now_ns();
    const int64_t deadline = t0 + static_cast<int64_t>(seconds * 1e9);
    std::vector<std::thread> threads;
    for (unsigned c = 0; c < conns; ++c) {
        threads.emplace_back([&, c] {
            const int fd = fds[c];
            Out& o = out[c];
            // Each connection starts at a different place in the file.
            std::size_t k = (c * chunks.size()) / conns;
            while (now_ns() < deadline) {
                const Chunk& ch = chunks[k];
                for (std::size_t done = 0; done < ch.len;) {
                    const ssize_t w = write(fd, data.data() + ch.off + done, ch.len - done);
                    if (w < 0) {
                        if (errno == EINTR) continue;
                        die_errno("write");
                    }
                    done += static_cast<std::size_t>(w);
                }
                o.bytes += ch.len;
                o.records += ch.records;
                k = (k + 1) % chunks.size();
            }
            o.sent_ns = now_ns();
            // The receiver closes once it has read everything: that is when the data is in.
            shutdown(fd, SHUT_WR);
            set_timeout(fd, SO_RCVTIMEO, 100);
            char sink[4096];
            for (;;) {
                const ssize_t r = read(fd, sink, sizeof sink);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    o.closed_ns = now_ns();
                    break;
                }
                if (now_ns() - o.sent_ns > close_wait_ns) break;
            }
            close(fd);
        });
    }
    for (auto& th : threads) th.join();

    uint64_t bytes = 0, records = 0;
    int64_t sent = 0, closed = 0;
    unsigned closed_count = 0;
    for (const Out& o : out) {
        bytes += o.bytes;
        records += o.records;
        sent = std::max(sent, o.sent_ns);
        if (o.closed_ns) {
            ++closed_count;
            closed = std::max(closed, o.closed_ns);
        }
    }
    const double send_s = static_cast<double>(sent - t0) / 1e9;
    // The rate counts until the receiver had read everything (all connections closed by it).
    const double secs = closed_count == conns ? static_cast<double>(closed - t0) / 1e9 : send_s;
    std::printf("tcp-send: connections=%u bytes=%llu records=%llu send_seconds=%.3f seconds=%.3f records_per_s=%.0f "
                "mb_per_s=%.1f closed_by_peer=%u\n",
                conns, static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(records), send_s, secs,
                static_cast<double>(records) / secs, static_cast<double>(bytes) / secs / 1e6, closed_count);
    return 0;
}

// ------------------------------------------------------------------ tcp-recv

int tcp_recv(const Args& a) {
    const uint16_t port = port_arg(a);
    const double seconds = a.num("seconds");
    const auto conns = static_cast<unsigned>(a.num("connections", "1"));
    const auto wait_ns = static_cast<int64_t>(a.num("wait-seconds", "30") * 1e9);

    const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) die_errno("socket");
    const int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in at = loopback(port);
    if (bind(lfd, reinterpret_cast<const sockaddr*>(&at), sizeof at) < 0) die_errno("bind");
    if (listen(lfd, SOMAXCONN) < 0) die_errno("listen");
    std::fprintf(stderr, "ready\n");

    struct alignas(64) Conn {
        uint64_t bytes = 0, records = 0;
        int64_t closed_ns = 0;
    };
    std::vector<Conn> stats(conns);
    std::vector<std::thread> threads;
    std::atomic<bool> stop{false};
    const int64_t start = now_ns();
    int64_t first = 0;
    for (unsigned c = 0; c < conns;) {
        pollfd p{lfd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) {
            if (now_ns() - start > wait_ns) break;
            continue;
        }
        const int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        if (!first) first = now_ns();
        set_timeout(fd, SO_RCVTIMEO, 100);
        threads.emplace_back([&, fd, c] {
            std::vector<char> buf(1 << 20);
            Conn& st = stats[c];
            while (!stop.load(std::memory_order_relaxed)) {
                const ssize_t r = read(fd, buf.data(), buf.size());
                if (r == 0) break;
                if (r < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    break;
                }
                st.bytes += static_cast<uint64_t>(r);
                st.records += count_newlines(buf.data(), static_cast<std::size_t>(r));
            }
            st.closed_ns = now_ns();
            close(fd);
        });
        ++c;
    }
    // Bounded: connections still open S seconds after the first one are cut.
    std::thread timer([&] {
        while (!stop.load() && now_ns() - first < static_cast<int64_t>(seconds * 1e9)) usleep(10000);
        stop.store(true);
    });
    for (auto& th : threads) th.join();
    stop.store(true);
    timer.join();
    close(lfd);

    uint64_t bytes = 0, records = 0;
    int64_t last = first;
    for (const Conn& st : stats) {
        bytes += st.bytes;
        records += st.records;
        last = std::max(last, st.closed_ns);
    }
    const double secs = first ? static_cast<double>(last - first) / 1e9 : 0.0;
    const double div = secs > 0 ? secs : 1.0;
    std::printf("tcp-recv: connections=%zu bytes=%llu records=%llu seconds=%.3f records_per_s=%.0f mb_per_s=%.1f\n",
                threads.size(), static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(records), secs,
                static_cast<double>(records) / div, static_cast<double>(bytes) / div / 1e6);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "udp-send")
        return udp_send(Args(argc, argv, {"port", "input", "seconds", "datagram-bytes", "rate", "sockets"}));
    if (mode == "udp-recv")
        return udp_recv(Args(argc, argv, {"port", "seconds", "reuseport", "idle-ms", "wait-seconds", "buffer-bytes"}));
    if (mode == "tcp-send")
        return tcp_send(Args(argc, argv, {"port", "input", "seconds", "connections", "close-wait-seconds"}));
    if (mode == "tcp-recv") return tcp_recv(Args(argc, argv, {"port", "seconds", "connections", "wait-seconds"}));
    std::fprintf(stderr,
                 "usage: net_blast udp-send --port P --input FILE --seconds S [--datagram-bytes 1400] [--rate 0] "
                 "[--sockets 1]\n"
                 "       net_blast udp-recv --port P --seconds S [--reuseport 1] [--idle-ms 500] [--wait-seconds 30] "
                 "[--buffer-bytes 2048]\n"
                 "       net_blast tcp-send --port P --input FILE --seconds S --connections C [--close-wait-seconds 30]\n"
                 "       net_blast tcp-recv --port P --seconds S [--connections 1] [--wait-seconds 30]\n");
    return 2;
}
