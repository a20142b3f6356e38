// The merge shard's view of a global aggregate: per window (or the one
// non-windowed "window"), the latest serialized snapshot of every shard, plus
// every shard's reported watermark. Snapshot bytes are replaced in place (the
// vectors keep their capacity) and closed windows return to a pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "window_watermarks.h"

namespace sluice {

struct MergeWindow {
    int64_t start = 0;
    int64_t end = 0;
    std::vector<std::vector<uint8_t>> snapshots;  // one per shard
    std::vector<uint8_t> has;                     // snapshot received from that shard

    void reset(uint32_t shards, int64_t s, int64_t e) {
        start = s;
        end = e;
        snapshots.resize(shards);
        has.assign(shards, 0);
    }
    void store(uint32_t shard, const uint8_t* p, std::size_t n) {
        snapshots[shard].assign(p, p + n);
        has[shard] = 1;
    }
};

class PartialMerge {
public:
    explicit PartialMerge(uint32_t shards) : shards_(shards == 0 ? 1 : shards), marks_(shards_) {
        global_.reset(shards_, 0, 0);
        open_.reserve(16);
    }

    MergeWindow& global() noexcept { return global_; }

    // Ordered by end time, like the shards' own windows.
    MergeWindow& find_or_open(int64_t start, int64_t end) {
        std::size_t i = open_.size();
        while (i > 0) {
            MergeWindow* w = open_[i - 1];
            if (w->start == start && w->end == end) return *w;
            if (w->end < end || (w->end == end && w->start < start)) break;
            --i;
        }
        MergeWindow* w;
        if (!free_.empty()) {
            w = free_.back();
            free_.pop_back();
        } else {
            owned_.push_back(std::make_unique<MergeWindow>());
            free_.reserve(owned_.size());
            w = owned_.back().get();
        }
        w->reset(shards_, start, end);
        open_.insert(open_.begin() + static_cast<std::ptrdiff_t>(i), w);
        return *w;
    }

    bool empty() const noexcept { return open_.empty(); }
    MergeWindow& front() noexcept { return *open_.front(); }
    void close_front() noexcept {
        free_.push_back(open_.front());
        open_.erase(open_.begin());
    }
    std::size_t open_count() const noexcept { return open_.size(); }
    const MergeWindow& at(std::size_t i) const noexcept { return *open_[i]; }

    // Per-shard reported watermarks (a shard's End counts as +infinity).
    SourceWatermarks& marks() noexcept { return marks_; }

    std::size_t memory_bytes() const noexcept {
        std::size_t n = bytes_of(global_);
        for (const auto& w : owned_) n += bytes_of(*w);
        return n;
    }

private:
    static std::size_t bytes_of(const MergeWindow& w) noexcept {
        std::size_t n = 0;
        for (const auto& s : w.snapshots) n += s.capacity();
        return n;
    }

    uint32_t shards_;
    SourceWatermarks marks_;
    MergeWindow global_;
    std::vector<MergeWindow*> open_;
    std::vector<MergeWindow*> free_;
    std::vector<std::unique_ptr<MergeWindow>> owned_;
};

}  // namespace sluice
