// Where sluice-lat receives result rows: a UDP socket (sluice's udp sink
// sends datagrams of rows to it) or a TCP listener (sluice's tcp sink
// connects to it, one connection per shard). Everything is non-blocking:
// the measuring loop polls it between sends.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gen_target.h"
#include "lat_rows.h"

namespace sluice::lat {

class RowReceiver {
public:
    RowReceiver() = default;
    ~RowReceiver();
    RowReceiver(const RowReceiver&) = delete;
    RowReceiver& operator=(const RowReceiver&) = delete;

    // Binds (and for TCP listens on) `at`; port 0 takes any free port.
    bool open(bool tcp, const gen::Endpoint& at, std::string& error);

    // The bound address (the port chosen when 0 was asked for).
    const gen::Endpoint& address() const noexcept { return address_; }

    // Takes what has arrived, without waiting, and calls on_row(row) for
    // every whole row. Returns the number of rows.
    template <class F>
    std::size_t poll(F&& on_row) {
        std::size_t rows = 0;
        const auto count = [&](std::string_view row) {
            ++rows;
            on_row(row);
        };
        if (!tcp_) {
            const int n = receive_datagrams();
            for (int k = 0; k < n; ++k)
                for_each_row(std::string_view(buffers_[static_cast<std::size_t>(k)].data(), msgs_[k].msg_len), count);
            return rows;
        }
        accept_connections();
        for (Connection& c : conns_) {
            if (c.fd < 0) continue;
            const long n = read_connection(c);
            if (n > 0) c.lines.feed(std::string_view(stream_buf_.data(), static_cast<std::size_t>(n)), count);
        }
        return rows;
    }

    uint64_t datagrams() const noexcept { return datagrams_; }
    uint64_t connections() const noexcept { return accepted_; }
    uint64_t errors() const noexcept { return errors_; }
    // Bytes of rows cut off by a connection that ended mid-row.
    uint64_t truncated_bytes() const noexcept { return truncated_bytes_; }

private:
    static constexpr unsigned kBatch = 32;
    static constexpr std::size_t kDatagramBytes = 65536;

    struct Connection {
        int fd = -1;
        LineSplitter lines;
    };

    int receive_datagrams() noexcept;
    void accept_connections() noexcept;
    long read_connection(Connection& c) noexcept;  // bytes read into stream_buf_, 0 when none

    bool tcp_ = false;
    int fd_ = -1;
    gen::Endpoint address_;
    std::vector<std::vector<char>> buffers_;
    mmsghdr msgs_[kBatch]{};
    iovec iov_[kBatch]{};
    std::vector<Connection> conns_;
    std::vector<char> stream_buf_;
    uint64_t datagrams_ = 0, accepted_ = 0, errors_ = 0, truncated_bytes_ = 0;
};

}  // namespace sluice::lat
