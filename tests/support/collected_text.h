// Rows a test collects: an OutBuffer sink appending to a std::string, and
// the text split into lines.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace sluice::testing {

// OutBuffer::SinkFn; ctx is a std::string*.
inline void collect(void* ctx, const char* data, std::size_t n) { static_cast<std::string*>(ctx)->append(data, n); }

inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> r;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        r.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    return r;
}

}  // namespace sluice::testing
