// The open windows of one shard's state, ordered by end time, each with its
// own group table. Tables come from a pool and go back (cleared, memory kept)
// when their window closes, so a steady stream of windows allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "group_table.h"

namespace sluice {

struct OpenWindow {
    int64_t start = 0;
    int64_t end = 0;
    GroupTable* table = nullptr;
    bool dirty = false;  // changed since the last snapshot (global EMIT CHANGES)
};

class WindowSet {
public:
    WindowSet(uint32_t block_size, std::size_t arena_chunk_bytes)
        : block_size_(block_size), arena_chunk_(arena_chunk_bytes) {
        open_.reserve(16);
    }

    // The window [start, end), opened with an empty table when absent.
    // Records mostly hit the newest windows, so the search runs from the back.
    OpenWindow& find_or_open(int64_t start, int64_t end) {
        std::size_t i = open_.size();
        while (i > 0) {
            OpenWindow& w = open_[i - 1];
            if (w.start == start && w.end == end) return w;
            if (w.end < end || (w.end == end && w.start < start)) break;
            --i;
        }
        return *open_.insert(open_.begin() + static_cast<std::ptrdiff_t>(i), OpenWindow{start, end, take_table(), false});
    }

    bool empty() const noexcept { return open_.empty(); }
    std::size_t size() const noexcept { return open_.size(); }
    OpenWindow& front() noexcept { return open_.front(); }
    OpenWindow& at(std::size_t i) noexcept { return open_[i]; }

    // Closes the earliest-ending window; its table returns to the pool.
    void close_front() noexcept {
        OpenWindow& w = open_.front();
        w.table->clear();
        pool_.push_back(w.table);
        open_.erase(open_.begin());
    }

    std::size_t group_count() const noexcept {
        std::size_t n = 0;
        for (const OpenWindow& w : open_) n += w.table->size();
        return n;
    }

    std::size_t memory_bytes() const noexcept {
        std::size_t n = 0;
        for (const auto& t : tables_) n += t->memory_bytes();
        return n;
    }

private:
    GroupTable* take_table() {
        if (!pool_.empty()) {
            GroupTable* t = pool_.back();
            pool_.pop_back();
            return t;
        }
        tables_.push_back(std::make_unique<GroupTable>(block_size_, arena_chunk_));
        pool_.reserve(tables_.size());  // returning a table never allocates
        return tables_.back().get();
    }

    uint32_t block_size_;
    std::size_t arena_chunk_;
    std::vector<OpenWindow> open_;
    std::vector<GroupTable*> pool_;
    std::vector<std::unique_ptr<GroupTable>> tables_;  // owns every table, open or pooled
};

}  // namespace sluice
