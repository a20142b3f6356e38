// QueryState, state.ttl: sweeps that age idle groups out, and compaction of
// the group table once aged-out groups outnumber live ones.
#include "query_state_impl.h"

namespace sluice {

void QueryState::Impl::expire_until(int64_t w) noexcept {
    if (w < next_sweep_) return;
    // Sweeps cost a pass over the table: at most one per quarter TTL of event time.
    next_sweep_ = saturating_add(w, std::max<int64_t>(ttl_ / 4, 1));
    GroupTable& t = *table_;
    for (uint32_t i = 0; i < t.size(); ++i) {
        GroupAge& a = age(t.block_at(i));
        if (a.dead || !window_closed_for(a.last, ttl_, w)) continue;
        if (final_) emit(t.key_at(i), t.key_len_at(i), t.block_at(i), 0, 0);
        a.dead = 1;
        ++dead_groups_;
    }
    if (dead_groups_ >= t.size() - dead_groups_ + kCompactSlack) compact_groups();
}

void QueryState::Impl::compact_groups() noexcept {
    if (!spare_) spare_ = std::make_unique<GroupTable>(group_block_, kGroupArenaChunk);
    GroupTable& from = *table_;
    GroupTable& to = *spare_;
    to.clear();
    for (uint32_t i = 0; i < from.size(); ++i) {
        const uint8_t* src = from.block_at(i);
        const GroupAge a = age(const_cast<uint8_t*>(src));
        if (a.dead) continue;
        const GroupTable::Hit hit = to.find_or_insert(from.hash_at(i), from.key_at(i), from.key_len_at(i));
        init_group(hit.block);  // the cached key text is rendered again
        layout_.merge(hit.block, src, to.arena());
        age(hit.block) = a;
    }
    from.clear();
    std::swap(table_, spare_);
    dead_groups_ = 0;
}

}  // namespace sluice
