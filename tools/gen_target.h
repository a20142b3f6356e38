// Network addresses of sluice-gen and sluice-lat: "HOST:PORT" with an IPv4
// literal, "[IPv6]:PORT" or "localhost:PORT". Load generators stay on this
// machine unless told otherwise: an address outside 127.0.0.0/8 and ::1 is
// refused, and host names other than localhost are not even resolved,
// unless allow_remote is set.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace sluice::gen {

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;  // numeric form: "127.0.0.1:9000", "[::1]:9000"

    int family() const noexcept { return addr.ss_family; }
    const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&addr); }
};

// 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8.
bool is_loopback(const sockaddr_storage& addr) noexcept;

// The numeric text of an address ("[::1]:9000" for IPv6).
std::string endpoint_text(const sockaddr_storage& addr);

struct EndpointRules {
    bool allow_remote = false;  // non-loopback addresses and name resolution
    bool allow_port_zero = false;  // a listener may ask for any free port
};

// Parses spec, or returns nullopt and a message naming the problem in error.
std::optional<Endpoint> parse_endpoint(std::string_view spec, EndpointRules rules, std::string& error);

}  // namespace sluice::gen
