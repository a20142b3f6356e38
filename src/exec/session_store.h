// SESSION(gap) windows of one shard (SPEC §5): per group key, its sessions
// [first, last + gap), each with one accumulator block. A record joins every
// session of its key it touches (first - gap <= ts <= last + gap) that has not
// closed for it for good, merging them when it bridges two (out-of-order
// input); else it starts a session of its own. A heap ordered by due time
// closes sessions as the watermark passes their end and drops them once it
// passes end + allowed lateness. A session has one live heap entry (its
// `due`); growing moves it forward lazily, reopening pushes a new one.
//
// Memory: blocks live in a slab of fixed-size slots reused through a free
// list; their out-of-line bytes (strings, distinct sets) in the key table's
// arena. Keys and arena bytes of finished sessions are reclaimed by compaction
// into a spare table once there is more garbage than live state, so an
// unbounded key space keeps a bounded footprint.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "accumulators.h"
#include "group_table.h"
#include "window_assign.h"

namespace sluice {

class SessionStore {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    struct Session {
        int64_t first = 0;
        int64_t last = 0;
        uint32_t key = 0;      // entry in the key table
        uint32_t next = kNone; // next session of the key, by first
        int64_t due = 0;       // time of its one live heap entry (other entries for it are stale)
        uint32_t gen = 0;      // bumped when the slot is freed: heap entries of the old session go stale
        uint8_t closed = 0;    // the watermark has passed its end (its row went out under EMIT FINAL)
        uint8_t live = 0;
    };

    SessionStore(const AggLayout& layout, int64_t gap, int64_t lateness)
        : layout_(layout),
          block_(std::max<uint32_t>(layout.block_size(), 8)),
          gap_(gap),
          lateness_(lateness),
          tables_{std::make_unique<GroupTable>(kHeadBytes), std::make_unique<GroupTable>(kHeadBytes)} {}

    int64_t end_of(uint32_t id) const noexcept { return saturating_add(sessions_[id].last, gap_); }
    const Session& session(uint32_t id) const noexcept { return sessions_[id]; }
    uint8_t* block(uint32_t id) noexcept { return blocks_.data() + std::size_t{id} * block_; }
    const uint8_t* key(uint32_t id) const noexcept { return keys().key_at(sessions_[id].key); }
    uint32_t key_len(uint32_t id) const noexcept { return keys().key_len_at(sessions_[id].key); }
    Arena& arena() noexcept { return keys().arena(); }
    std::size_t live() const noexcept { return live_; }

    // Late for good: the session the record would start has closed for it
    // past the allowed lateness.
    bool late(int64_t ts, int64_t wm) const noexcept {
        return window_closed_for(saturating_add(ts, gap_), lateness_, wm);
    }

    // The session the record at ts belongs to (created or merged); wm is the
    // watermark the record is judged against, closed_wm the one this store
    // has closed sessions up to. After the call the session spans ts.
    uint32_t place(uint64_t hash, const uint8_t* key, uint32_t len, int64_t ts, int64_t wm, int64_t closed_wm) noexcept {
        GroupTable& t = keys();
        const GroupTable::Hit hit = t.find_or_insert(hash, key, len);
        if (hit.inserted) set_head(hit.block, kNone);
        uint32_t target = kNone;
        uint32_t prev = kNone;
        for (uint32_t id = head(hit.block); id != kNone;) {
            Session& s = sessions_[id];
            const uint32_t next = s.next;
            const bool touches = saturating_add(s.first, -gap_) <= ts && ts <= end_of(id);
            if (touches && !window_closed_for(end_of(id), lateness_, wm)) {
                if (target == kNone) {
                    target = id;
                    prev = id;
                } else {
                    absorb(target, id, prev);  // unlinks id; prev stays
                }
            } else {
                prev = id;
            }
            id = next;
        }
        if (target == kNone) return open(hit.block, hit.index, ts, closed_wm);
        Session& s = sessions_[target];
        s.first = std::min(s.first, ts);
        s.last = std::max(s.last, ts);
        if (s.closed && end_of(target) > closed_wm) {
            // Extended past the watermark: open again, due at its new end.
            s.closed = 0;
            push(target, end_of(target));
        }
        return target;
    }

    // Calls on_close(id) for every open session whose end the watermark w
    // reached, and drops the ones past end + allowed lateness (closing first).
    template <class OnClose>
    void advance(int64_t w, OnClose&& on_close) noexcept {
        while (!heap_.empty() && heap_.front().at <= w) {
            std::pop_heap(heap_.begin(), heap_.end(), later);
            const Due d = heap_.back();
            heap_.pop_back();
            Session& s = sessions_[d.id];
            if (!s.live || s.gen != d.gen || s.due != d.at) continue;
            const int64_t end = end_of(d.id);
            if (!s.closed && end <= w) {
                s.closed = 1;
                on_close(d.id);
            }
            const int64_t due = s.closed ? saturating_add(end, lateness_) : end;
            if (due <= w) {
                release(d.id);
            } else {
                push(d.id, due);
            }
        }
    }

    // A session from a checkpoint: [first, last] of the key, closed or not,
    // its accumulators merged from `from` (a block in any arena). Placed as
    // it was, not merged with the key's other sessions. The id.
    uint32_t restore(uint64_t hash, const uint8_t* key, uint32_t len, int64_t first, int64_t last, bool closed,
                     const uint8_t* from) noexcept {
        GroupTable& t = keys();
        const GroupTable::Hit hit = t.find_or_insert(hash, key, len);
        if (hit.inserted) set_head(hit.block, kNone);
        const uint32_t id = open(hit.block, hit.index, first, INT64_MIN);
        Session& s = sessions_[id];
        s.last = std::max(first, last);
        s.closed = closed ? 1 : 0;
        // Due at its end, or once closed at its end + lateness (the entry open() pushed goes stale).
        push(id, closed ? saturating_add(end_of(id), lateness_) : end_of(id));
        layout_.merge(block(id), from, t.arena());
        return id;
    }

    // Every session, for the end of the input.
    template <class F>
    void for_each_live(F&& f) noexcept {
        for (uint32_t id = 0; id < sessions_.size(); ++id)
            if (sessions_[id].live) f(id);
    }

    // Rebuilds the key table and the arena around the live sessions once the
    // garbage outweighs them. The caller's block pointers are invalid after.
    void maybe_compact() noexcept {
        if (garbage_ < live_ + kCompactSlack) return;
        GroupTable& from = keys();
        GroupTable& to = *tables_[1 - cur_];
        to.clear();
        auto* tmp = static_cast<uint8_t*>(scratch_.alloc(block_, AggLayout::kBlockAlign));
        for (uint32_t e = 0; e < from.size(); ++e) {
            const uint32_t first = head(from.block_at(e));
            if (first == kNone) continue;
            const GroupTable::Hit hit = to.find_or_insert(from.hash_at(e), from.key_at(e), from.key_len_at(e));
            set_head(hit.block, first);
            for (uint32_t id = first; id != kNone; id = sessions_[id].next) {
                sessions_[id].key = hit.index;
                std::memcpy(tmp, block(id), layout_.block_size());
                layout_.init(block(id));
                layout_.merge(block(id), tmp, to.arena());
            }
        }
        scratch_.reset();
        from.clear();
        cur_ = 1 - cur_;
        garbage_ = 0;
    }

    std::size_t memory_bytes() const noexcept {
        return tables_[0]->memory_bytes() + tables_[1]->memory_bytes() + blocks_.capacity() +
               sessions_.capacity() * sizeof(Session) + heap_.capacity() * sizeof(Due) + free_.capacity() * 4;
    }

private:
    static constexpr uint32_t kHeadBytes = 8;
    static constexpr std::size_t kCompactSlack = 4096;

    struct Due {
        int64_t at;
        uint32_t id;
        uint32_t gen;
    };
    static bool later(const Due& a, const Due& b) noexcept { return a.at > b.at; }

    GroupTable& keys() noexcept { return *tables_[cur_]; }
    const GroupTable& keys() const noexcept { return *tables_[cur_]; }
    static uint32_t head(const uint8_t* b) noexcept {
        uint32_t h;
        std::memcpy(&h, b, 4);
        return h;
    }
    static void set_head(uint8_t* b, uint32_t h) noexcept { std::memcpy(b, &h, 4); }

    uint32_t open(uint8_t* key_block, uint32_t key_entry, int64_t ts, int64_t closed_wm) noexcept {
        uint32_t id;
        if (!free_.empty()) {
            id = free_.back();
            free_.pop_back();
        } else {
            id = static_cast<uint32_t>(sessions_.size());
            sessions_.emplace_back();
            blocks_.resize(blocks_.size() + block_);
        }
        Session& s = sessions_[id];
        s.first = ts;
        s.last = ts;
        s.key = key_entry;
        s.live = 1;
        s.closed = 0;
        layout_.init(block(id));
        // Linked in order of first: out-of-order keys rarely have more than two.
        uint32_t at = head(key_block);
        uint32_t before = kNone;
        while (at != kNone && sessions_[at].first < ts) {
            before = at;
            at = sessions_[at].next;
        }
        s.next = at;
        if (before == kNone)
            set_head(key_block, id);
        else
            sessions_[before].next = id;
        ++live_;
        push(id, end_of(id));
        // A session can start closed, inside the allowed lateness; it is
        // emitted by the caller and dropped by advance().
        if (end_of(id) <= closed_wm) s.closed = 1;
        return id;
    }

    // Folds session `id` into `into` and unlinks it (prev precedes it in the key's list).
    void absorb(uint32_t into, uint32_t id, uint32_t prev) noexcept {
        Session& a = sessions_[into];
        Session& b = sessions_[id];
        layout_.merge(block(into), block(id), keys().arena());
        a.first = std::min(a.first, b.first);
        a.last = std::max(a.last, b.last);
        sessions_[prev].next = b.next;
        free_slot(id);
    }

    // The session's time is over: unlinked from its key and freed.
    void release(uint32_t id) noexcept {
        Session& s = sessions_[id];
        uint8_t* kb = keys().block_at(s.key);
        if (head(kb) == id) {
            set_head(kb, s.next);
        } else {
            uint32_t at = head(kb);
            while (sessions_[at].next != id) at = sessions_[at].next;
            sessions_[at].next = s.next;
        }
        free_slot(id);
    }

    void free_slot(uint32_t id) noexcept {
        Session& s = sessions_[id];
        s.live = 0;
        ++s.gen;
        free_.push_back(id);
        --live_;
        ++garbage_;
    }

    void push(uint32_t id, int64_t at) noexcept {
        sessions_[id].due = at;
        heap_.push_back(Due{at, id, sessions_[id].gen});
        std::push_heap(heap_.begin(), heap_.end(), later);
    }

    const AggLayout& layout_;
    const uint32_t block_;
    const int64_t gap_;
    const int64_t lateness_;
    std::unique_ptr<GroupTable> tables_[2];  // key -> head session; the spare is the compaction target
    int cur_ = 0;
    std::vector<Session> sessions_;
    std::vector<uint8_t> blocks_;  // one accumulator block per session slot
    std::vector<uint32_t> free_;
    std::vector<Due> heap_;
    std::size_t live_ = 0;
    std::size_t garbage_ = 0;  // sessions freed since the last compaction
    Arena scratch_{4096};
};

}  // namespace sluice
