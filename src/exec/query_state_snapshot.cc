// QueryState, checkpoints: the state as items independent of the shard count
// (snapshot_format.h), and their restore, routed by key and merged as the
// shards' partials merge.
#include "query_state_impl.h"
#include "snapshot_format.h"

namespace sluice {

namespace {

void put_group(std::vector<uint8_t>& out, const AggLayout& layout, SnapshotItemKind kind, uint32_t origin, int64_t a,
               int64_t b, const GroupTable& t, uint32_t i) {
    const std::size_t at = begin_snapshot_item(out, kind, 0, origin, a, b, t.key_at(i), t.key_len_at(i));
    layout.serialize(t.block_at(i), out);
    end_snapshot_item(out, at);
}

void put_table(std::vector<uint8_t>& out, const AggLayout& layout, SnapshotItemKind kind, uint32_t origin, int64_t a,
               int64_t b, const GroupTable& t) {
    for (uint32_t i = 0; i < t.size(); ++i) put_group(out, layout, kind, origin, a, b, t, i);
}

}  // namespace

void QueryState::Impl::snapshot(std::vector<uint8_t>& out) const {
    switch (mode_) {
        case Mode::Grouped: {
            const GroupTable& t = *table_;
            for (uint32_t i = 0; i < t.size(); ++i) {
                int64_t last = 0;
                if (ttl_ != 0) {
                    const GroupAge a = age(const_cast<uint8_t*>(t.block_at(i)));
                    if (a.dead) continue;
                    last = a.last;
                }
                put_group(out, layout_, SnapshotItemKind::Group, shard_, last, 0, t, i);
            }
            // Combined on this shard, not shipped yet (GROUP BY ... EMIT FINAL on several shards).
            put_table(out, layout_, SnapshotItemKind::Group, shard_, 0, 0, local_);
            return;
        }
        case Mode::Windowed:
            for (std::size_t w = 0; w < windows_.size(); ++w) {
                const OpenWindow& f = windows_.at(w);
                put_table(out, layout_, SnapshotItemKind::WindowGroup, shard_, f.start, f.end, *f.table);
            }
            for (std::size_t w = 0; w < owned_.size(); ++w) {
                const OpenWindow& f = owned_.at(w);
                put_table(out, layout_, SnapshotItemKind::WindowGroup, shard_, f.start, f.end, *f.table);
            }
            return;
        case Mode::Session: {
            SessionStore& ss = *sessions_;
            ss.for_each_live([&](uint32_t id) {
                const SessionStore::Session& s = ss.session(id);
                const std::size_t at = begin_snapshot_item(out, SnapshotItemKind::Session, s.closed ? 1 : 0, shard_,
                                                           s.first, s.last, ss.key(id), ss.key_len(id));
                layout_.serialize(ss.block(id), out);
                end_snapshot_item(out, at);
            });
            return;
        }
        case Mode::Global:
            if (!windowed_) {
                if (!table_->empty()) put_group(out, layout_, SnapshotItemKind::Global, shard_, 0, 0, *table_, 0);
            } else {
                for (std::size_t w = 0; w < windows_.size(); ++w) {
                    const OpenWindow& f = windows_.at(w);
                    if (!f.table->empty())
                        put_group(out, layout_, SnapshotItemKind::Global, shard_, f.start, f.end, *f.table, 0);
                }
            }
            if (merge_) {
                // What the merge shard holds of every shard: windows other shards
                // closed and shipped live only here.
                const auto put_merged = [&](const MergeWindow& mw) {
                    for (uint32_t s = 0; s < shards_; ++s) {
                        if (!mw.has[s]) continue;
                        const std::size_t at = begin_snapshot_item(out, SnapshotItemKind::GlobalMerged, 0, s, mw.start,
                                                                   mw.end, nullptr, 0);
                        out.insert(out.end(), mw.snapshots[s].begin(), mw.snapshots[s].end());
                        end_snapshot_item(out, at);
                    }
                };
                if (!windowed_) put_merged(merge_->global());
                for (std::size_t w = 0; w < merge_->open_count(); ++w) put_merged(merge_->at(w));
            }
            return;
    }
}

bool QueryState::Impl::restore_group(GroupTable& t, uint64_t hash, const uint8_t* key, uint32_t key_len,
                                     const uint8_t* p, const uint8_t* end, int64_t last) noexcept {
    const std::size_t bytes = std::max<std::size_t>(layout_.block_size(), 8);
    auto* part = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
    const bool ok = layout_.deserialize(part, p, end, merge_scratch_);
    if (ok) {
        const GroupTable::Hit hit = t.find_or_insert(hash, key, key_len);
        if (hit.inserted) {
            init_group(hit.block);
            if (ttl_ != 0) age(hit.block) = GroupAge{last, 0, 0};
        } else if (ttl_ != 0) {
            age(hit.block).last = std::max(age(hit.block).last, last);
        }
        layout_.merge(hit.block, part, t.arena());
    }
    merge_scratch_.reset();
    return ok;
}

QueryState::RestoreCounts QueryState::Impl::restore(const uint8_t* items, std::size_t len, QueryState::RestoreFilter accept,
                                                    void* ctx, bool keyless) {
    QueryState::RestoreCounts counts;
    const uint8_t* end = items + len;
    // Global partials a shard still held: the merge shard's copy of the same
    // window of that shard is older or equal, and is left out.
    std::vector<std::pair<uint32_t, std::pair<int64_t, int64_t>>> held;
    if (mode_ == Mode::Global && shard_ == 0 && keyless) {
        for (const uint8_t* p = items; p < end;) {
            SnapshotItem it;
            if (!read_snapshot_item(p, end, it)) break;
            if (it.kind == SnapshotItemKind::Global) held.push_back({it.origin, {it.a, it.b}});
        }
    }
    for (const uint8_t* p = items; p < end;) {
        SnapshotItem it;
        if (!read_snapshot_item(p, end, it)) {
            counts.malformed = true;
            break;
        }
        const uint8_t* body = it.block;
        const uint8_t* body_end = it.block + it.block_len;
        if (it.kind == SnapshotItemKind::Global || it.kind == SnapshotItemKind::GlobalMerged) {
            if (mode_ != Mode::Global || shard_ != 0 || !keyless) {
                ++counts.skipped;
                continue;
            }
            if (it.kind == SnapshotItemKind::GlobalMerged) {
                bool dup = false;
                for (const auto& h : held) dup |= h.first == it.origin && h.second.first == it.a && h.second.second == it.b;
                if (dup) {
                    ++counts.skipped;
                    continue;
                }
            }
            // Every shard's partial merges into this shard's own: the merge
            // shard sums them as before (the others start empty).
            GroupTable* t = table_.get();
            if (windowed_) {
                if (window_closed_for(it.b, lateness_, closed_wm_)) {
                    ++counts.skipped;
                    continue;
                }
                // Not dirty: the merged totals including it were emitted before
                // the snapshot (EMIT CHANGES would repeat them otherwise).
                t = windows_.find_or_open(it.a, it.b).table;
            }
            if (!restore_group(*t, 0, nullptr, 0, body, body_end, 0)) counts.malformed = true;
            ++counts.items;
            continue;
        }
        if (it.kind == SnapshotItemKind::Group ? mode_ != Mode::Grouped
            : it.kind == SnapshotItemKind::WindowGroup ? mode_ != Mode::Windowed
                                                         : mode_ != Mode::Session) {
            counts.malformed = true;
            break;
        }
        const uint64_t hash = hash64(it.key, it.key_len);
        if (partition_of(hash, shards_) != shard_ || (accept != nullptr && !accept(ctx, it.key, it.key_len))) {
            ++counts.skipped;
            continue;
        }
        switch (it.kind) {
            case SnapshotItemKind::Group:
                if (!restore_group(*table_, hash, it.key, it.key_len, body, body_end, it.a)) counts.malformed = true;
                break;
            case SnapshotItemKind::WindowGroup: {
                if (window_closed_for(it.b, lateness_, wcombine_ ? owned_closed_ : closed_wm_)) {
                    // Closed here for good (a partition came from an appliance
                    // whose watermark was behind): its row goes out now.
                    if (final_) {
                        const std::size_t bytes = std::max<std::size_t>(layout_.block_size(), 8);
                        auto* part = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
                        auto* acc = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
                        if (layout_.deserialize(part, body, body_end, merge_scratch_)) {
                            layout_.init(acc);
                            layout_.merge(acc, part, merge_scratch_);
                            emit(it.key, it.key_len, acc, it.a, it.b);
                            ++counts.emitted;
                        }
                        merge_scratch_.reset();
                    }
                    continue;
                }
                WindowSet& set = wcombine_ ? owned_ : windows_;
                cur_ = nullptr;  // opening a window may move the others
                OpenWindow& w = set.find_or_open(it.a, it.b);
                if (!restore_group(*w.table, hash, it.key, it.key_len, body, body_end, 0)) counts.malformed = true;
                break;
            }
            case SnapshotItemKind::Session: {
                const std::size_t bytes = std::max<std::size_t>(layout_.block_size(), 8);
                auto* part = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
                if (layout_.deserialize(part, body, body_end, merge_scratch_))
                    sessions_->restore(hash, it.key, it.key_len, it.a, it.b, (it.flags & 1) != 0, part);
                else
                    counts.malformed = true;
                merge_scratch_.reset();
                break;
            }
            default:
                break;
        }
        ++counts.items;
    }
    return counts;
}

void QueryState::Impl::restore_closed_watermark(int64_t w) noexcept {
    if (w <= closed_wm_) return;
    closed_wm_ = w;
    cur_ = nullptr;
    if (wcombine_ && w > owned_closed_) owned_closed_ = w;
    if (merge_ && w > merged_wm_) merged_wm_ = w;
}

// ---------------------------------------------------------------- public API

void QueryState::snapshot(std::vector<uint8_t>& out) const { impl_->snapshot(out); }
int64_t QueryState::closed_watermark() const noexcept { return impl_->closed_wm_; }
QueryState::RestoreCounts QueryState::restore(const uint8_t* items, std::size_t len, RestoreFilter accept, void* ctx,
                                              bool keyless) {
    return impl_->restore(items, len, accept, ctx, keyless);
}
void QueryState::restore_closed_watermark(int64_t w) noexcept { impl_->restore_closed_watermark(w); }

}  // namespace sluice
