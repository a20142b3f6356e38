#include "gen_target.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace sluice::gen {
namespace {

std::optional<uint16_t> parse_port(std::string_view text, bool allow_zero) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v > 65535) return std::nullopt;
    if (v == 0 && !allow_zero) return std::nullopt;
    return static_cast<uint16_t>(v);
}

void set_v4(Endpoint& e, const in_addr& ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr = ip;
    a.sin_port = htons(port);
    std::memcpy(&e.addr, &a, sizeof a);
    e.len = sizeof a;
}

void set_v6(Endpoint& e, const in6_addr& ip, uint16_t port) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = ip;
    a.sin6_port = htons(port);
    std::memcpy(&e.addr, &a, sizeof a);
    e.len = sizeof a;
}

// Resolves a host name (only with allow_remote): the first address returned.
bool resolve(const std::string& host, uint16_t port, Endpoint& e, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0 || res == nullptr) {
        error = "cannot resolve '" + host + "': " + ::gai_strerror(rc);
        return false;
    }
    if (res->ai_family == AF_INET) {
        set_v4(e, reinterpret_cast<const sockaddr_in*>(res->ai_addr)->sin_addr, port);
    } else {
        set_v6(e, reinterpret_cast<const sockaddr_in6*>(res->ai_addr)->sin6_addr, port);
    }
    ::freeaddrinfo(res);
    return true;
}

// 'spec', for messages.
std::string quoted(std::string_view spec) {
    std::string q = "'";
    q.append(spec).append("'");
    return q;
}

}  // namespace

bool is_loopback(const sockaddr_storage& addr) noexcept {
    if (addr.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
        return (ntohl(a.sin_addr.s_addr) >> 24) == 127;
    }
    if (addr.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
        return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
    }
    return false;
}

std::string endpoint_text(const sockaddr_storage& addr) {
    char host[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
        ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
    }
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    std::string text = "[";  // appended piecewise: GCC 12 warns (-Wrestrict) falsely on "[" + std::string
    text.append(host).append("]:").append(std::to_string(ntohs(a.sin6_port)));
    return text;
}

std::optional<Endpoint> parse_endpoint(std::string_view spec, EndpointRules rules, std::string& error) {
    std::string host;
    std::string_view port_text;
    bool bracketed = false;
    if (spec.starts_with('[')) {
        const auto close = spec.find(']');
        if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
            error = quoted(spec) + ": expected [IPv6]:PORT";
            return std::nullopt;
        }
        host = spec.substr(1, close - 1);
        port_text = spec.substr(close + 2);
        bracketed = true;
    } else {
        const auto colon = spec.rfind(':');
        if (colon == std::string_view::npos) {
            error = quoted(spec) + ": expected HOST:PORT";
            return std::nullopt;
        }
        host = spec.substr(0, colon);
        port_text = spec.substr(colon + 1);
        if (host.find(':') != std::string::npos) {
            error = quoted(spec) + ": an IPv6 address goes in brackets, e.g. [::1]:9000";
            return std::nullopt;
        }
    }
    const auto port = parse_port(port_text, rules.allow_port_zero);
    if (!port) {
        error = quoted(spec) + ": the port must be " + (rules.allow_port_zero ? "0" : "1") + " .. 65535";
        return std::nullopt;
    }

    Endpoint e;
    in_addr v4{};
    in6_addr v6{};
    if (bracketed) {
        if (::inet_pton(AF_INET6, host.c_str(), &v6) != 1) {
            error = quoted(spec) + ": '" + host + "' is not an IPv6 address";
            return std::nullopt;
        }
        set_v6(e, v6, *port);
    } else if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        set_v4(e, v4, *port);
    } else if (host == "localhost") {
        v4.s_addr = htonl(INADDR_LOOPBACK);
        set_v4(e, v4, *port);
    } else if (host.empty()) {
        error = quoted(spec) + ": the host is missing";
        return std::nullopt;
    } else if (!rules.allow_remote) {
        error = quoted(spec) + ": host names other than localhost are resolved only with --allow-remote";
        return std::nullopt;
    } else if (!resolve(host, *port, e, error)) {
        return std::nullopt;
    }

    e.text = endpoint_text(e.addr);
    if (!rules.allow_remote && !is_loopback(e.addr)) {
        error = quoted(spec) + " is not a loopback address (127.0.0.0/8, ::1); "
                "pass --allow-remote to use another host";
        return std::nullopt;
    }
    return e;
}

}  // namespace sluice::gen
