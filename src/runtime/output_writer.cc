#include "output_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <time.h>

#include "sluice/base.h"

namespace sluice {

namespace {
constexpr uint32_t kRingBytes = 8u << 20;
// A message must stay under a quarter of the ring; bigger buffers go in pieces.
constexpr std::size_t kMaxPiece = kRingBytes / 8;
}  // namespace

OutputWriter::OutputWriter(int fd, uint32_t shards, std::optional<uint64_t> limit, int dead_letter_fd)
    : fd_(fd), dead_letter_fd_(dead_letter_fd), shards_(shards), limit_(limit) {
    const uint32_t rings = dead_letter_fd >= 0 ? 2 * shards : shards;
    ports_.reserve(rings);
    for (uint32_t r = 0; r < rings; ++r) {
        // Dead letters are rare: their rings are small.
        rings_.push_back(std::make_unique<SpscRing>(r < shards ? kRingBytes : kRingBytes / 8));
        ports_.push_back(Port{this, r});
    }
}

OutputWriter::~OutputWriter() = default;

void OutputWriter::sink(void* ctx, const char* data, std::size_t n) {
    auto* port = static_cast<Port*>(ctx);
    OutputWriter* w = port->writer;
    SpscRing& ring = *w->rings_[port->ring];
    while (n > 0) {
        const std::size_t max_piece = port->ring < w->shards_ ? kMaxPiece : kMaxPiece / 8;
        std::size_t piece = n < max_piece ? n : max_piece;
        void* dst;
        while ((dst = ring.try_alloc(static_cast<uint32_t>(piece))) == nullptr) {
            if (w->failed()) return;  // nobody will drain it any more
            ring.flush();
            timespec ts{0, 20'000};
            nanosleep(&ts, nullptr);
        }
        std::memcpy(dst, data, piece);
        ring.push();
        data += piece;
        n -= piece;
    }
    ring.flush();
}

void OutputWriter::write_out(uint32_t ring, const char* data, std::size_t n) {
    if (failed()) return;
    const bool rows = ring < shards_;
    const int fd = rows ? fd_ : dead_letter_fd_;
    if (limit_ && rows) {
        // Count rows up to the limit and cut the buffer after the last allowed
        // one. Without a LIMIT the shards count their own rows.
        if (rows_written_ >= *limit_) return;
        std::size_t keep = 0;
        const char* p = data;
        const char* end = data + n;
        while (p < end && rows_written_ < *limit_) {
            const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
            if (!nl) break;
            p = static_cast<const char*>(nl) + 1;
            keep = static_cast<std::size_t>(p - data);
            ++rows_written_;
        }
        n = keep;
    }
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            error_ = std::string("cannot write output: ") + std::strerror(errno);
            failed_.store(true, std::memory_order_relaxed);
            return;
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

bool OutputWriter::drain_ring(uint32_t r) {
    SpscRing& ring = *rings_[r];
    bool any = false;
    uint32_t len;
    // A row larger than one piece spans messages: keep draining this ring
    // until the output ends on a line boundary, so rows never interleave.
    bool mid_line = false;
    for (;;) {
        const void* msg = ring.front(&len);
        if (!msg) {
            if (!mid_line) break;
            ring.release();
            cpu_relax();
            continue;
        }
        const char* data = static_cast<const char*>(msg);
        write_out(r, data, len);
        mid_line = len > 0 && data[len - 1] != '\n';
        ring.pop();
        any = true;
    }
    ring.release();
    return any;
}

void OutputWriter::run(const std::atomic<uint32_t>& producers_running) {
    uint32_t idle = 0;
    for (;;) {
        // Read the counter before draining: whatever a finished producer
        // flushed is visible once we see its decrement (release/acquire).
        bool done = producers_running.load(std::memory_order_acquire) == 0;
        bool any = false;
        for (uint32_t s = 0; s < rings_.size(); ++s) any |= drain_ring(s);
        if (any) {
            idle = 0;
            continue;
        }
        if (done) break;
        if (++idle < 64) {
            cpu_relax();
        } else {
            timespec ts{0, 50'000};
            nanosleep(&ts, nullptr);
        }
    }
}

}  // namespace sluice
