// Where rows written to files and stdout go: shards never write a shared file
// descriptor themselves (two shards' buffers would interleave mid-line on a
// pipe); each producer (a shard's query output) hands full OutBuffers to the
// writer through its own SPSC ring (a port), and the writer — the control
// thread — writes them out whole. A port belongs to a limit group: a query's
// LIMIT counts the rows of all its ports.
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
    OutputWriter();
    ~OutputWriter();

    struct Port {
        OutputWriter* writer;
        uint32_t index;
    };
    // A limit group: rows of its ports let through up to `limit` (none: all).
    uint32_t add_group(std::optional<uint64_t> limit);
    // A producer's port writing to fd, counted in `group`. Set up before run().
    Port* add_port(int fd, uint32_t group, uint32_t ring_bytes = kRowRingBytes);
    // OutBuffer sink: copies the bytes into the port's ring (waits when the
    // writer is behind). Called on the producer's thread.
    static void sink(void* port, const char* data, std::size_t n);

    // Writes until `producers_running` drops to zero and every ring is empty.
    void run(const std::atomic<uint32_t>& producers_running);
    // Writes whatever the rings hold now; true if it wrote anything.
    bool drain();

    // Rows a group let through under its LIMIT (without one, nothing is counted here).
    uint64_t rows_written(uint32_t group) const { return groups_[group].written; }
    // Non-empty when an output failed (e.g. the reader of a pipe went away).
    const std::string& error() const { return error_; }
    bool failed() const { return failed_.load(std::memory_order_relaxed); }

    static constexpr uint32_t kRowRingBytes = 8u << 20;
    static constexpr uint32_t kSmallRingBytes = 1u << 20;  // dead letters: rare

private:
    struct Group {
        std::optional<uint64_t> limit;
        uint64_t written = 0;
    };
    struct Output {
        int fd;
        uint32_t group;
        std::size_t max_piece;  // a message stays under a quarter of its ring
        std::unique_ptr<SpscRing> ring;
    };
    bool drain_ring(uint32_t port);
    void write_out(uint32_t port, const char* data, std::size_t n);

    std::vector<Group> groups_;
    std::vector<Output> outputs_;             // one per port
    std::vector<std::unique_ptr<Port>> ports_;  // stable addresses (OutBuffer contexts)
    std::atomic<bool> failed_{false};
    std::string error_;
};

}  // namespace sluice
