// A small HTTP/1.1 server for the metrics endpoint: its own thread, blocking
// sockets with timeouts, one request per connection (Connection: close).
// It answers GET and HEAD through a handler; anything malformed gets a 4xx
// and the connection is closed. Never on a shard's CPU path.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "config.h"
#include "sluice/result.h"

namespace sluice {

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

class HttpServer {
public:
    // Called on the server thread with the request path (query string removed).
    using Handler = std::function<HttpResponse(std::string_view path)>;

    // Binds and listens (errors: "metrics: cannot listen on ADDR: reason"),
    // then serves on a new thread until destroyed.
    static Result<std::unique_ptr<HttpServer>> start(const Endpoint& listen, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    uint16_t port() const noexcept { return port_; }

private:
    HttpServer(int fd, uint16_t port, Handler handler);
    void serve();
    void answer(int client);

    int fd_;
    int wake_fd_;  // eventfd: the destructor wakes the thread out of poll()
    uint16_t port_;
    Handler handler_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// Parses the request head: method and path of "METHOD /path?query HTTP/1.x".
// Returns false for anything else (the server answers 400).
bool parse_request_line(std::string_view head, std::string_view& method, std::string_view& path);

}  // namespace sluice
