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
        : block_size_(block_size), arena_chunk_(arena_chunk_bytes), ring_(16), mask_(15) {}

    // The window [start, end), opened with an empty table when absent.
    // Binary search over the ring ordered by (end, start): with several
    // sources far apart in time, thousands of windows can be open at once.
    OpenWindow& find_or_open(int64_t start, int64_t end) {
        std::size_t lo = 0;
        std::size_t hi = size_;
        while (lo < hi) {
            const std::size_t mid = (lo + hi) / 2;
            const OpenWindow& w = at(mid);
            if (w.end < end || (w.end == end && w.start < start))
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < size_ && at(lo).start == start && at(lo).end == end) return at(lo);
        return insert(lo, OpenWindow{start, end, take_table(), false});
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    OpenWindow& front() noexcept { return at(0); }
    OpenWindow& at(std::size_t i) noexcept { return ring_[(head_ + i) & mask_]; }
    const OpenWindow& at(std::size_t i) const noexcept { return ring_[(head_ + i) & mask_]; }

    // Closes the earliest-ending window; its table returns to the pool.
    void close_front() noexcept {
        OpenWindow& w = front();
        w.table->clear();
        pool_.push_back(w.table);
        head_ = (head_ + 1) & mask_;
        --size_;
    }

    std::size_t group_count() const noexcept {
        std::size_t n = 0;
        for (std::size_t i = 0; i < size_; ++i) n += at(i).table->size();
        return n;
    }

    std::size_t memory_bytes() const noexcept {
        std::size_t n = 0;
        for (const auto& t : tables_) n += t->memory_bytes();
        return n;
    }

private:
    // Inserts at position i, moving whichever side of the ring is shorter.
    OpenWindow& insert(std::size_t i, const OpenWindow& w) {
        if (size_ == ring_.size()) grow();
        if (i < size_ / 2) {
            head_ = (head_ - 1) & mask_;
            for (std::size_t k = 0; k < i; ++k) at(k) = at(k + 1);
        } else {
            for (std::size_t k = size_; k > i; --k) at(k) = at(k - 1);
        }
        ++size_;
        at(i) = w;
        return at(i);
    }

    void grow() {
        std::vector<OpenWindow> bigger(ring_.size() * 2);
        for (std::size_t k = 0; k < size_; ++k) bigger[k] = at(k);
        ring_.swap(bigger);
        head_ = 0;
        mask_ = ring_.size() - 1;
    }

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
    std::vector<OpenWindow> ring_;  // circular, power-of-two size, ordered by (end, start) from head_
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    std::size_t mask_;
    std::vector<GroupTable*> pool_;
    std::vector<std::unique_ptr<GroupTable>> tables_;  // owns every table, open or pooled
};

}  // namespace sluice
