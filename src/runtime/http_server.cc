#include "http_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/socket.h"

namespace sluice {

namespace {

constexpr std::size_t kMaxRequestHead = 8192;
constexpr int kClientTimeoutMs = 2000;

const char* reason_of(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        case 503: return "Service Unavailable";
        default: return "Error";
    }
}

// Writes all of [p, p+n) or gives up on error/timeout (the client is gone).
void write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void respond(int fd, const HttpResponse& r, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_of(r.status) +
                      "\r\nContent-Type: " + r.content_type +
                      "\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
    if (!head_only) out += r.body;
    write_all(fd, out.data(), out.size());
}

}  // namespace

bool parse_request_line(std::string_view head, std::string_view& method, std::string_view& path) {
    const std::size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return false;
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return false;
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
    method = line.substr(0, sp1);
    path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (path.empty() || path[0] != '/') return false;
    if (const std::size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    return true;
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const Endpoint& listen, Handler handler) {
    auto fail = [&](const std::string& why) {
        return Error{"metrics: cannot listen on " + listen.text + ": " + why};
    };
    auto ep = net::parse_endpoint(listen.host, listen.port);
    if (!ep) return fail(ep.error().message);
    const int fd = ::socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(std::strerror(errno));
    // SO_REUSEADDR only: a second appliance on the same port must fail, not share it.
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) < 0 || ::listen(fd, 64) < 0) {
        const int e = errno;
        ::close(fd);
        return fail(std::strerror(e));
    }
    return std::unique_ptr<HttpServer>(new HttpServer(fd, net::bound_port(fd), std::move(handler)));
}

HttpServer::HttpServer(int fd, uint16_t port, Handler handler)
    : fd_(fd), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), port_(port), handler_(std::move(handler)) {
    thread_ = std::thread([this] { serve(); });
}

HttpServer::~HttpServer() {
    stop_.store(true, std::memory_order_relaxed);
    const uint64_t one = 1;
    if (wake_fd_ >= 0) {
        const ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));  // poll()'s timeout covers a failure
        (void)ignored;
    }
    thread_.join();
    ::close(fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void HttpServer::serve() {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    while (!stop_.load(std::memory_order_relaxed)) {
        // Without an eventfd the thread still notices stop_ within the timeout.
        const int n = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, 200);
        if (n <= 0 || !(fds[0].revents & POLLIN)) continue;
        const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        answer(client);
        ::close(client);
    }
}

void HttpServer::answer(int client) {
    timeval tv{kClientTimeoutMs / 1000, (kClientTimeoutMs % 1000) * 1000};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    std::string head;
    char buf[2048];
    while (head.find("\r\n\r\n") == std::string::npos) {
        if (head.size() >= kMaxRequestHead) return respond(client, {431, "text/plain", "request too large\n"}, false);
        const ssize_t r = ::recv(client, buf, sizeof(buf), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;  // closed or timed out before a whole request head
        head.append(buf, static_cast<std::size_t>(r));
    }
    std::string_view method, path;
    if (!parse_request_line(head, method, path)) return respond(client, {400, "text/plain", "bad request\n"}, false);
    const bool head_only = method == "HEAD";
    if (method != "GET" && !head_only) return respond(client, {405, "text/plain", "only GET and HEAD\n"}, false);
    respond(client, handler_(path), head_only);
}

}  // namespace sluice
