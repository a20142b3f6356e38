// Result rows as sluice-lat reads them: NDJSON objects from sluice's sinks,
// of which only the integer "sent_ns" field matters. Rows come whole in UDP
// datagrams and in pieces over TCP, so a splitter keeps the unfinished line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::lat {

// The integer value of the "sent_ns" field of a JSON object row, or nullopt
// when the row has none, or a value that is not an integer (null, a string,
// a fraction or an exponent).
inline std::optional<int64_t> parse_sent_ns(std::string_view row) {
    constexpr std::string_view kKey = "\"sent_ns\"";
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    for (std::size_t at = row.find(kKey); at != std::string_view::npos; at = row.find(kKey, at + 1)) {
        std::size_t p = at + kKey.size();
        while (p < row.size() && is_space(row[p])) ++p;
        if (p >= row.size() || row[p] != ':') continue;  // "sent_ns" as a value, not a key
        ++p;
        while (p < row.size() && is_space(row[p])) ++p;
        const bool negative = p < row.size() && row[p] == '-';
        if (negative) ++p;
        const std::size_t digits = p;
        uint64_t v = 0;
        while (p < row.size() && row[p] >= '0' && row[p] <= '9') {
            if (v > (UINT64_MAX - 9) / 10) return std::nullopt;  // far beyond int64
            v = v * 10 + static_cast<uint64_t>(row[p] - '0');
            ++p;
        }
        if (p == digits || v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
        while (p < row.size() && is_space(row[p])) ++p;
        if (p >= row.size() || (row[p] != ',' && row[p] != '}')) return std::nullopt;  // 1.5, 1e9, ...
        return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    }
    return std::nullopt;
}

// Calls f(row) for each newline-separated row of a whole datagram; a last
// row without a newline counts too. Empty lines are skipped.
template <class F>
void for_each_row(std::string_view text, F&& f) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view row = text.substr(0, nl);
        if (!row.empty()) f(row);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

// Reassembles rows of a byte stream: whole lines are handed out, the
// unfinished tail is kept for the next piece.
class LineSplitter {
public:
    template <class F>
    void feed(std::string_view piece, F&& f) {
        if (!partial_.empty()) {
            const auto nl = piece.find('\n');
            if (nl == std::string_view::npos) {
                partial_.append(piece);
                return;
            }
            partial_.append(piece.substr(0, nl));
            if (!partial_.empty()) f(std::string_view(partial_));
            partial_.clear();
            piece.remove_prefix(nl + 1);
        }
        const auto last_nl = piece.rfind('\n');
        if (last_nl == std::string_view::npos) {
            partial_.assign(piece);
            return;
        }
        for_each_row(piece.substr(0, last_nl), f);
        partial_.assign(piece.substr(last_nl + 1));
    }

    // Bytes of an unfinished row (a stream that ended here lost a row).
    std::size_t pending() const noexcept { return partial_.size(); }

private:
    std::string partial_;
};

}  // namespace sluice::lat
