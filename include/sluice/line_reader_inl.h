// LineReader::next_chunk: the per-chunk line scan, inline so the callbacks are
// direct calls. One memchr per line; the only copy is the partial last line,
// moved to the front of the buffer after every callback of the chunk returned.
#pragma once

#include <cstring>

#include "sluice/decode.h"

namespace sluice {

template <class OnLine, class OnOversize>
void LineReader::emit(const char* p, std::size_t len, OnLine& on_line, OnOversize& on_oversize) {
    if (len != 0 && p[len - 1] == '\r') {
        --len;
    }
    if (len > max_record_) [[unlikely]] {
        on_oversize();
        return;
    }
    // Blank lines are skipped; a record almost always starts with '{'.
    for (std::size_t i = 0; i < len; ++i) {
        const char c = p[i];
        if (c != ' ' && c != '\t' && c != '\r') {
            on_line(p, len);
            return;
        }
    }
}

template <class OnLine, class OnOversize>
bool LineReader::next_chunk(OnLine&& on_line, OnOversize&& on_oversize) {
    if (eof_) {
        return false;
    }
    const long got = fill();
    if (got <= 0) {
        eof_ = true;
        if (got == 0) {
            // End of input: an unterminated last line (or oversized tail) still counts.
            if (skipping_) {
                skipping_ = false;
                on_oversize();
            } else if (carry_ != 0) {
                emit(buf_, carry_, on_line, on_oversize);
            }
        }
        carry_ = 0;
        return false;
    }
    const char* line = buf_;
    const char* const last = buf_ + carry_ + static_cast<std::size_t>(got);
    // The carried bytes hold no '\n': search only the new ones.
    const char* scan = buf_ + carry_;
    if (skipping_) {
        const auto* nl = static_cast<const char*>(std::memchr(scan, '\n', static_cast<std::size_t>(last - scan)));
        if (nl == nullptr) {
            carry_ = 0;
            return true;
        }
        skipping_ = false;
        on_oversize();
        line = nl + 1;
        scan = line;
    }
    for (;;) {
        const auto* nl = static_cast<const char*>(std::memchr(scan, '\n', static_cast<std::size_t>(last - scan)));
        if (nl == nullptr) {
            break;
        }
        emit(line, static_cast<std::size_t>(nl - line), on_line, on_oversize);
        line = nl + 1;
        scan = line;
    }
    // Keep the partial last line, unless it is already too long to be a record
    // (max + 1: its last byte may be a '\r' that the '\n' would strip).
    const std::size_t tail = static_cast<std::size_t>(last - line);
    if (tail > max_record_ + 1) {
        skipping_ = true;
        carry_ = 0;
    } else {
        if (tail != 0 && line != buf_) {
            std::memmove(buf_, line, tail);
        }
        carry_ = tail;
    }
    return true;
}

}  // namespace sluice
