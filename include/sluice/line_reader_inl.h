// LineReader::next_blocks (and next_chunk, its line-by-line form): the
// per-chunk scan, inline so the callbacks are direct calls. next_blocks only
// looks for lines longer than max_record (one memrchr per max_record bytes). The only copy is the partial last line, moved to the front of the
// buffer after every callback of the chunk returned.
#pragma once

#include <string.h>  // memrchr (GNU)

#include <algorithm>
#include <cstring>

#include "sluice/decode.h"

namespace sluice {

// The lines of one block (complete lines, none oversized), each without its
// '\n' and a trailing '\r'; blank lines are skipped.
template <class OnLine>
void for_each_line(const char* p, std::size_t len, OnLine& on_line) {
    const char* const end = p + len;
    while (p < end) {
        const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* stop = nl ? nl : end;
        std::size_t n = static_cast<std::size_t>(stop - p);
        if (n != 0 && p[n - 1] == '\r') --n;
        for (std::size_t i = 0; i < n; ++i) {
            const char c = p[i];
            if (c != ' ' && c != '\t' && c != '\r') {
                on_line(p, n);
                break;
            }
        }
        p = stop + 1;
    }
}

template <class OnLine, class OnOversize>
bool LineReader::next_chunk(OnLine&& on_line, OnOversize&& on_oversize) {
    return next_blocks([&on_line](const char* p, std::size_t n) { for_each_line(p, n, on_line); }, on_oversize);
}

template <class OnBlock, class OnOversize>
void LineReader::emit_blocks(const char* p, const char* end, OnBlock& on_block, OnOversize& on_oversize) {
    // Every line in [s, q] with q the last '\n' of [s, s + max_record_] is
    // at most max_record_ bytes long: jump there. Only a line with no '\n' in
    // that span can be oversized; it is measured exactly.
    const char* block = p;
    const char* s = p;
    while (s != end) {
        const std::size_t span = std::min(max_record_ + 1, static_cast<std::size_t>(end - s));
        if (const auto* q = static_cast<const char*>(::memrchr(s, '\n', span))) [[likely]] {
            s = q + 1;
            continue;
        }
        // end[-1] is a '\n', so there is one after s + span.
        const std::size_t rest = static_cast<std::size_t>(end - s) - span;
        const auto* nl = static_cast<const char*>(std::memchr(s + span, '\n', rest));
        std::size_t len = static_cast<std::size_t>(nl - s);
        if (s[len - 1] == '\r') {
            --len;
        }
        if (len > max_record_) {
            if (s != block) {
                on_block(block, static_cast<std::size_t>(s - block));
            }
            on_oversize();
            block = nl + 1;
        }
        s = nl + 1;
    }
    if (s != block) {
        on_block(block, static_cast<std::size_t>(s - block));
    }
}

template <class OnBlock, class OnOversize>
bool LineReader::next_blocks(OnBlock&& on_block, OnOversize&& on_oversize) {
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
                const std::size_t len = carry_ - (buf_[carry_ - 1] == '\r' ? 1 : 0);
                if (len > max_record_) {
                    on_oversize();
                } else {
                    on_block(static_cast<const char*>(buf_), carry_);
                }
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
    if (scan != last) {
        if (const auto* nl = static_cast<const char*>(::memrchr(scan, '\n', static_cast<std::size_t>(last - scan)))) {
            emit_blocks(line, nl + 1, on_block, on_oversize);
            line = nl + 1;
        }
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
