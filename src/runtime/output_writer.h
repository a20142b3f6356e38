// Where the rows of `sluice query` go: one file descriptor shared by every
// shard. Shards never write it themselves (two shards' buffers would
// interleave mid-line on a pipe); each hands full OutBuffers to the writer
// through its own SPSC ring, and the writer — the control thread — writes
// them out whole. It also enforces a query's global LIMIT.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/spsc_ring.h"

namespace sluice {

class OutputWriter {
public:
    // dead_letter_fd >= 0 adds a second output, for late records: shard s
    // writes it through port(shards + s). LIMIT counts only result rows.
    OutputWriter(int fd, uint32_t shards, std::optional<uint64_t> limit, int dead_letter_fd = -1);
    ~OutputWriter();

    struct Port {
        OutputWriter* writer;
        uint32_t ring;
    };
    Port* port(uint32_t ring) { return &ports_[ring]; }
    // OutBuffer sink: copies the bytes into the shard's ring (waits when the
    // writer is behind). Called on the shard's thread.
    static void sink(void* port, const char* data, std::size_t n);

    // Writes until `producers_running` drops to zero and every ring is empty.
    void run(const std::atomic<uint32_t>& producers_running);

    // Rows let through under a LIMIT (without one, nothing is counted here).
    uint64_t rows_written() const { return rows_written_; }
    // Non-empty when the output failed (e.g. the reader of a pipe went away).
    const std::string& error() const { return error_; }
    bool failed() const { return failed_.load(std::memory_order_relaxed); }

private:
    bool drain_ring(uint32_t ring);
    void write_out(uint32_t ring, const char* data, std::size_t n);

    int fd_;
    int dead_letter_fd_;
    uint32_t shards_;
    std::optional<uint64_t> limit_;
    uint64_t rows_written_ = 0;
    std::vector<std::unique_ptr<SpscRing>> rings_;
    std::vector<Port> ports_;
    std::atomic<bool> failed_{false};
    std::string error_;
};

}  // namespace sluice
