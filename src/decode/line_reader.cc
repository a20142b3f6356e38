// LineReader setup and reads, and split_at_lines.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

#include "sluice/base.h"
#include "sluice/decode.h"

namespace sluice {

LineReader::LineReader(int fd, uint64_t begin, uint64_t end, std::size_t chunk_bytes, std::size_t max_record_bytes)
    : fd_(fd),
      pos_(begin),
      end_(end),
      chunk_(std::max<std::size_t>(chunk_bytes, 1)),
      max_record_(max_record_bytes == 0 ? kDefaultMaxRecordBytes : max_record_bytes) {
    if (end != UINT64_MAX && end < begin) {
        throw std::invalid_argument("LineReader: range end before begin");
    }
    // A carried partial line is at most max_record_ + 1 bytes (see next_blocks).
    cap_ = max_record_ + 1 + chunk_;
    buf_ = static_cast<char*>(::operator new(cap_ + kDecodePadding, std::align_val_t(kCacheLine)));
    // Zeroed once, so the padding after the last line never holds stale bytes
    // before the first full chunk; it is never written afterwards.
    std::memset(buf_, 0, cap_ + kDecodePadding);
}

LineReader::~LineReader() { ::operator delete(buf_, std::align_val_t(kCacheLine)); }

long LineReader::fill() {
    char* at = buf_ + carry_;
    for (;;) {
        ssize_t n;
        if (end_ == UINT64_MAX) {
            n = ::read(fd_, at, chunk_);
        } else {
            const uint64_t left = end_ - pos_;
            if (left == 0) {
                return 0;
            }
            const std::size_t want = left < chunk_ ? static_cast<std::size_t>(left) : chunk_;
            n = ::pread(fd_, at, want, static_cast<off_t>(pos_));
        }
        if (n >= 0) {
            pos_ += static_cast<uint64_t>(n);
            return static_cast<long>(n);
        }
        if (errno != EINTR) {
            error_ = errno;
            return -1;
        }
    }
}

std::vector<uint64_t> split_at_lines(int fd, uint64_t size, unsigned parts) {
    if (parts == 0) {
        parts = 1;
    }
    std::vector<uint64_t> offsets(parts + 1, size);
    offsets[0] = 0;
    char buf[16 * 1024];
    for (unsigned k = 1; k < parts; ++k) {
        // size * k / parts without overflow.
        const uint64_t target = size / parts * k + size % parts * k / parts;
        // offsets[k] is the first line start at or after target. The previous
        // boundary is the first one at or after a smaller target, so when it
        // is already past this target it is the answer (an empty range).
        if (offsets[k - 1] >= target) {
            offsets[k] = offsets[k - 1];
            continue;
        }
        // Otherwise: just after the first '\n' at or after target - 1.
        uint64_t at = target - 1;
        uint64_t found = size;
        while (at < size) {
            const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(sizeof buf, size - at));
            const ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(at));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break;
            }
            const auto* nl = static_cast<const char*>(std::memchr(buf, '\n', static_cast<std::size_t>(n)));
            if (nl != nullptr) {
                found = at + static_cast<uint64_t>(nl - buf) + 1;
                break;
            }
            at += static_cast<uint64_t>(n);
        }
        offsets[k] = found;
    }
    return offsets;
}

}  // namespace sluice
