// Pieces shared by the io_uring egress sinks: the user_data layout, row
// scanning, and setup helpers (address text, opcode probe). A sink owns the
// low 32 bits of user_data; the shard's tag (net/user_data.h kind and owner)
// fills the high 32 bits and routes the CQE back to the sink's on_cqe().
#pragma once

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>

#include "sluice/result.h"

namespace sluice::net {

inline constexpr uint64_t kSinkTagMask = 0xffff'ffff'0000'0000ULL;

// Low 32 bits: op (4 bits) | a (12 bits) | b (16 bits).
inline constexpr uint64_t sink_user_data(uint64_t tag, uint32_t op, uint32_t a, uint32_t b) noexcept {
    return (tag & kSinkTagMask) | (uint64_t{op & 0xfu} << 28) | (uint64_t{a & 0xfffu} << 16) | (b & 0xffffu);
}
inline constexpr uint32_t sink_op(uint64_t ud) noexcept { return static_cast<uint32_t>(ud >> 28) & 0xfu; }
inline constexpr uint32_t sink_a(uint64_t ud) noexcept { return static_cast<uint32_t>(ud >> 16) & 0xfffu; }
inline constexpr uint32_t sink_b(uint64_t ud) noexcept { return static_cast<uint32_t>(ud) & 0xffffu; }

// Number of '\n' in [p, p + n).
inline std::size_t count_rows(const char* p, std::size_t n) noexcept {
    std::size_t rows = 0;
    const char* end = p + n;
    while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        if (nl == nullptr) break;
        ++rows;
        p = static_cast<const char*>(nl) + 1;
    }
    return rows;
}

// Deadline in ns from a microsecond setting (0 = flush every poll).
inline constexpr uint64_t us_to_ns(uint32_t us) noexcept { return uint64_t{us} * 1000u; }
inline constexpr uint64_t ms_to_ns(uint32_t ms) noexcept { return uint64_t{ms} * 1000000u; }

// Length of dest for connect(2), or 0 if the family is not IPv4/IPv6.
inline socklen_t sink_addr_len(const sockaddr_storage& dest) noexcept {
    if (dest.ss_family == AF_INET) return sizeof(sockaddr_in);
    if (dest.ss_family == AF_INET6) return sizeof(sockaddr_in6);
    return 0;
}

// "host:port" / "[host]:port" for setup messages (never on the data path).
inline std::string sink_addr_string(const sockaddr_storage& dest) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    std::string out;
    if (dest.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&dest);
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        out.append(host);
    } else if (dest.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&dest);
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        out.append(1, '[').append(host).append(1, ']');
    } else {
        return "(unsupported address family)";
    }
    out.append(1, ':').append(std::to_string(port));
    return out;
}

// Setup: fails with a named reason if the ring's kernel lacks an opcode.
inline Result<bool> sink_probe(io_uring* ring, std::initializer_list<int> ops, const char* who) {
    io_uring_probe* probe = io_uring_get_probe_ring(ring);
    if (probe == nullptr) return Error{std::string(who) + ": cannot probe io_uring opcodes"};
    for (int op : ops) {
        if (!io_uring_opcode_supported(probe, op)) {
            io_uring_free_probe(probe);
            return Error{std::string(who) + ": this kernel's io_uring lacks opcode " + std::to_string(op)};
        }
    }
    io_uring_free_probe(probe);
    return true;
}

}  // namespace sluice::net
