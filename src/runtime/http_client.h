// A blocking HTTP/1.1 GET for `sluice top` (and tests): one request per
// connection, bounded by a timeout. Loopback-sized bodies only.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/result.h"

namespace sluice {

struct HttpUrl {
    std::string host;  // numeric address or "localhost"
    uint16_t port = 80;
    std::string path = "/";
};

// "http://HOST:PORT/path" or "HOST:PORT" (path defaults to default_path).
Result<HttpUrl> parse_http_url(const std::string& text, const std::string& default_path);

struct HttpReply {
    int status = 0;
    std::string body;
};

Result<HttpReply> http_get(const HttpUrl& url, int timeout_ms);

}  // namespace sluice
