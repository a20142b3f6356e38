#include "output_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <time.h>

#include "sluice/base.h"

namespace sluice {

OutputWriter::OutputWriter() = default;
OutputWriter::~OutputWriter() = default;

uint32_t OutputWriter::add_group(std::optional<uint64_t> limit) {
    groups_.push_back(Group{limit, 0});
    return static_cast<uint32_t>(groups_.size() - 1);
}

OutputWriter::Port* OutputWriter::add_port(int fd, uint32_t group, uint32_t ring_bytes) {
    outputs_.push_back(Output{fd, group, ring_bytes / 8, std::make_unique<SpscRing>(ring_bytes)});
    ports_.push_back(std::make_unique<Port>(Port{this, static_cast<uint32_t>(ports_.size())}));
    return ports_.back().get();
}

void OutputWriter::sink(void* ctx, const char* data, std::size_t n) {
    auto* port = static_cast<Port*>(ctx);
    OutputWriter* w = port->writer;
    Output& o = w->outputs_[port->index];
    SpscRing& ring = *o.ring;
    while (n > 0) {
        std::size_t piece = n < o.max_piece ? n : o.max_piece;
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

void OutputWriter::write_out(uint32_t port, const char* data, std::size_t n) {
    if (failed()) return;
    const Output& o = outputs_[port];
    Group& g = groups_[o.group];
    const int fd = o.fd;
    if (g.limit) {
        // Count rows up to the limit and cut the buffer after the last allowed
        // one. Without a LIMIT the shards count their own rows.
        if (g.written >= *g.limit) return;
        std::size_t keep = 0;
        const char* p = data;
        const char* end = data + n;
        while (p < end && g.written < *g.limit) {
            const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
            if (!nl) break;
            p = static_cast<const char*>(nl) + 1;
            keep = static_cast<std::size_t>(p - data);
            ++g.written;
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
    SpscRing& ring = *outputs_[r].ring;
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

bool OutputWriter::drain() {
    bool any = false;
    for (uint32_t p = 0; p < outputs_.size(); ++p) any |= drain_ring(p);
    return any;
}

void OutputWriter::run(const std::atomic<uint32_t>& producers_running) {
    uint32_t idle = 0;
    for (;;) {
        // Read the counter before draining: whatever a finished producer
        // flushed is visible once we see its decrement (release/acquire).
        bool done = producers_running.load(std::memory_order_acquire) == 0;
        if (drain()) {
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
