#include "http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "net/socket.h"
#include "sluice/base.h"

namespace sluice {

Result<HttpUrl> parse_http_url(const std::string& text, const std::string& default_path) {
    std::string_view rest = text;
    if (rest.starts_with("http://")) rest.remove_prefix(7);
    HttpUrl url;
    const std::size_t slash = rest.find('/');
    url.path = slash == std::string_view::npos ? default_path : std::string(rest.substr(slash));
    std::string_view authority = rest.substr(0, slash);
    std::size_t colon = authority.rfind(':');
    if (!authority.empty() && authority[0] == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return Error{"malformed URL '" + text + "'"};
        url.host = std::string(authority.substr(1, close - 1));
        colon = close + 1 < authority.size() && authority[close + 1] == ':' ? close + 1 : std::string_view::npos;
    } else {
        url.host = std::string(authority.substr(0, colon));
    }
    if (colon != std::string_view::npos) {
        const std::string_view p = authority.substr(colon + 1);
        unsigned v = 0;
        const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (ec != std::errc{} || end != p.data() + p.size() || v == 0 || v > 65535)
            return Error{"malformed port in URL '" + text + "'"};
        url.port = static_cast<uint16_t>(v);
    }
    if (url.host.empty()) return Error{"no host in URL '" + text + "'"};
    return url;
}

Result<HttpReply> http_get(const HttpUrl& url, int timeout_ms) {
    const std::string where = url.host + ":" + std::to_string(url.port);
    auto ep = net::parse_endpoint(url.host, url.port);
    if (!ep) return ep.error();
    net::Fd fd(::socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return Error{std::string("socket: ") + std::strerror(errno)};
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) < 0)
        return Error{"cannot connect to " + where + ": " + std::strerror(errno)};
    const std::string request = "GET " + url.path + " HTTP/1.1\r\nHost: " + where + "\r\nConnection: close\r\n\r\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        return Error{"cannot send to " + where + ": " + std::strerror(errno)};
    std::string reply;
    char buf[16384];
    for (;;) {
        const ssize_t r = ::recv(fd.get(), buf, sizeof(buf), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return Error{"no answer from " + where + ": " + std::strerror(errno)};
        if (r == 0) break;
        reply.append(buf, static_cast<std::size_t>(r));
    }
    // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" (the server closes after the body).
    const std::size_t head_end = reply.find("\r\n\r\n");
    if (!reply.starts_with("HTTP/1.") || reply.size() < 12 || head_end == std::string::npos)
        return Error{"malformed HTTP reply from " + where};
    HttpReply out;
    out.status = std::atoi(reply.c_str() + 9);
    out.body = reply.substr(head_end + 4);
    return out;
}

}  // namespace sluice
