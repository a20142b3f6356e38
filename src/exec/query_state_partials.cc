// QueryState, combining and two phases: groups combined on the reading shard
// and shipped to their owners (at end of input, or per window as it closes),
// and the snapshots of global aggregates merged on shard 0.
#include "query_state_impl.h"

namespace sluice {

void QueryState::Impl::end_of_local_input() noexcept {
    if (!combine_) return;
    std::vector<uint8_t>& box = outbox_.bytes;
    for (uint32_t i = 0; i < local_.size(); ++i) {
        const uint64_t hash = local_.hash_at(i);
        const uint32_t owner = partition_of(hash, shards_);
        if (owner == shard_) {
            merge_group(*table_, hash, local_.key_at(i), local_.key_len_at(i), local_.block_at(i));
            continue;
        }
        const uint32_t key_len = local_.key_len_at(i);
        const std::size_t at =
            begin_partial(box, PartialHeader{PartialKind::Group, shard_, key_len, 0}, owner);
        box.insert(box.end(), local_.key_at(i), local_.key_at(i) + key_len);
        layout_.serialize(local_.block_at(i), box);
        end_partial(box, at);
    }
    local_.clear();
}

void QueryState::Impl::merge_group(GroupTable& t, uint64_t hash, const uint8_t* key, uint32_t key_len,
                 const uint8_t* block) noexcept {
    const GroupTable::Hit hit = t.find_or_insert(hash, key, key_len);
    if (hit.inserted) layout_.init(hit.block);
    layout_.merge(hit.block, block, t.arena());
}

void QueryState::Impl::merge_shipped_group(GroupTable& t, const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept {
    if (h.a < 0 || static_cast<uint64_t>(h.a) > len) return;
    const auto key_len = static_cast<uint32_t>(h.a);
    const std::size_t bytes = std::max<std::size_t>(layout_.block_size(), 8);
    auto* part = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
    if (layout_.deserialize(part, body + key_len, body + len, merge_scratch_))
        merge_group(t, hash64(body, key_len), body, key_len, part);
    merge_scratch_.reset();
}

void QueryState::Impl::ship_window_groups(OpenWindow& f) noexcept {
    GroupTable& t = *f.table;
    std::vector<uint8_t>& box = outbox_.bytes;
    for (uint32_t i = 0; i < t.size(); ++i) {
        const uint32_t key_len = t.key_len_at(i);
        const uint32_t owner = partition_of(t.hash_at(i), shards_);
        const std::size_t at =
            begin_partial(box, PartialHeader{PartialKind::WindowGroup, shard_, key_len, f.start}, owner);
        box.insert(box.end(), t.key_at(i), t.key_at(i) + key_len);
        layout_.serialize(t.block_at(i), box);
        end_partial(box, at);
    }
}

void QueryState::Impl::on_window_group(const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept {
    const WindowBounds w = window_from_start(h.b);
    if (w.end <= owned_closed_) return;  // a sender ships a window before marking it shipped
    merge_shipped_group(*owned_.find_or_open(w.start, w.end).table, h, body, len);
}

void QueryState::Impl::on_shipped(const PartialHeader& h) noexcept {
    if (!shipped_.advance(static_cast<uint16_t>(h.shard), h.a)) return;
    const int64_t w = shipped_.min();
    owned_closed_ = w;
    while (!owned_.empty() && owned_.front().end <= w) {
        emit_table(*owned_.front().table, owned_.front().start, owned_.front().end);
        owned_.close_front();
    }
    if (w == kWatermarkMax) owned_done_ = true;
}

void QueryState::Impl::ship_snapshot(int64_t start, int64_t end, GroupTable& t) noexcept {
    if (t.empty()) return;
    std::vector<uint8_t>& box = outbox_.bytes;
    const std::size_t at = begin_partial(box, PartialHeader{PartialKind::Snapshot, shard_, start, end});
    layout_.serialize(t.block_at(0), box);
    end_partial(box, at);
}

void QueryState::Impl::ship_mark(PartialKind kind, int64_t watermark) noexcept {
    std::vector<uint8_t>& box = outbox_.bytes;
    end_partial(box, begin_partial(box, PartialHeader{kind, shard_, watermark, 0}));
}

void QueryState::Impl::on_partial(const uint8_t* payload, uint32_t len) noexcept {
    PartialHeader h;
    if (!read_partial_header(payload, len, h) || h.shard >= shards_) return;
    const uint8_t* body = payload + kPartialHeaderBytes;
    const auto body_len = len - static_cast<uint32_t>(kPartialHeaderBytes);
    switch (h.kind) {
        case PartialKind::WindowGroup:
            if (wcombine_) on_window_group(h, body, body_len);
            return;
        case PartialKind::Shipped:
            if (wcombine_) on_shipped(h);
            return;
        case PartialKind::Group:
            if (combine_) merge_shipped_group(*table_, h, body, body_len);
            return;
        case PartialKind::Snapshot:
        case PartialKind::Watermark:
        case PartialKind::End:
            if (merge_) on_merge_partial(h, body, body_len);
            return;
    }
}

void QueryState::Impl::on_merge_partial(const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept {
    const auto from = static_cast<uint16_t>(h.shard);
    switch (h.kind) {
        case PartialKind::Snapshot: {
            // A shard ships a window before the watermark that closes it, so
            // nothing arrives for a window the merge already released.
            if (windowed_ && h.b <= merged_wm_) return;
            MergeWindow& mw = windowed_ ? merge_->find_or_open(h.a, h.b) : merge_->global();
            mw.store(h.shard, body, len);
            if (!final_) emit_merged(mw);
            return;
        }
        case PartialKind::Watermark:
            if (merge_->marks().advance(from, h.a)) release_merged();
            return;
        case PartialKind::End:
            if (!merge_->marks().end(from)) return;
            release_merged();
            if (merge_->marks().all_ended()) {
                if (!windowed_ && final_) emit_merged(merge_->global());
                merge_done_ = true;
            }
            return;
        default:
            return;
    }
}

void QueryState::Impl::release_merged() noexcept {
    if (!windowed_) return;
    const int64_t w = merge_->marks().min();
    if (w <= merged_wm_) return;
    merged_wm_ = w;
    while (!merge_->empty() && merge_->front().end <= w) {
        if (final_) emit_merged(merge_->front());
        merge_->close_front();
    }
}

void QueryState::Impl::emit_merged(const MergeWindow& mw) noexcept {
    if (limit_reached()) return;
    const std::size_t bytes = std::max<std::size_t>(layout_.block_size(), 8);
    auto* acc = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
    auto* part = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
    layout_.init(acc);
    for (uint32_t s = 0; s < shards_; ++s) {
        if (!mw.has[s]) continue;
        const std::vector<uint8_t>& snap = mw.snapshots[s];
        if (layout_.deserialize(part, snap.data(), snap.data() + snap.size(), merge_scratch_))
            layout_.merge(acc, part, merge_scratch_);
    }
    emit(nullptr, 0, acc, mw.start, mw.end);
    merge_scratch_.reset();
}

}  // namespace sluice
