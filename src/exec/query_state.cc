// QueryState: one shard's slice of an aggregate query. Three modes, fixed at
// construction and dispatched with a switch:
//  - Grouped : GROUP BY without a window, one group table;
//  - Windowed: GROUP BY with a window, one table per open window;
//  - Global  : no GROUP BY (windowed or not), two phases: every shard keeps
//              partial blocks and ships snapshots to shard 0, which merges.
// Windows close when the minimum watermark over the sources reaches their
// end, earliest end first; a record for a window that has closed for it is
// late. Rows are serialized straight into the shard's OutBuffer.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "accumulators.h"
#include "compiled_expr.h"
#include "group_table.h"
#include "key_inline.h"
#include "partial_codec.h"
#include "partial_merge.h"
#include "row_format.h"
#include "sluice/base.h"
#include "sluice/exec.h"
#include "window_assign.h"
#include "window_set.h"
#include "window_watermarks.h"

namespace sluice {

namespace {

enum class Mode : uint8_t { Grouped, Windowed, Global };

constexpr std::size_t kGroupArenaChunk = 64 * 1024;
// A global aggregate has one group per window: its arena only holds strings.
constexpr std::size_t kGlobalArenaChunk = 4 * 1024;

Mode mode_of(const Plan& plan) {
    if (!plan.is_aggregate()) throw std::invalid_argument("QueryState needs an aggregate query");
    if (plan.is_global_aggregate()) return Mode::Global;
    return plan.is_windowed() ? Mode::Windowed : Mode::Grouped;
}

void check_window(const WindowSpec& w) {
    switch (w.kind) {
        case WindowKind::None:
            return;
        case WindowKind::Tumbling:
            if (w.size_ms <= 0) throw std::invalid_argument("TUMBLING window size must be positive");
            return;
        case WindowKind::Sliding:
            throw std::invalid_argument("not supported yet: SLIDING windows");
        case WindowKind::Session:
            throw std::invalid_argument("not supported yet: SESSION windows");
    }
    throw std::invalid_argument("unknown window kind");
}

// EMIT CHANGES rows of grouped and windowed queries whose key columns lead
// the SELECT list: the leading run of key and constant columns is rendered
// once per group and copied into every row after. Only when nothing else
// reads the keys (no HAVING, every other column a key in the run, an
// aggregate or a constant), so a row decodes no key.
uint32_t cached_lead(const Plan& plan) {
    if (plan.emit == EmitMode::Final || plan.is_global_aggregate() || plan.having != kNoExpr) return 0;
    const ExprPool& pool = plan.exprs;
    uint32_t lead = 0;
    bool in_lead = true;
    for (const OutputColumn& c : plan.columns) {
        const ExprNode& n = pool.nodes[c.expr];
        const bool key = n.op == ExprOp::KeyRef && n.index < plan.group_keys.size();
        const bool agg = n.op == ExprOp::AggRef && n.index < plan.aggs.size();
        const bool constant = n.op == ExprOp::Const;
        if (in_lead && (key || constant)) {
            ++lead;
            continue;
        }
        in_lead = false;
        if (key || !(agg || constant)) return 0;
    }
    return lead;
}

// Where a group's rendered key text sits: after its accumulators.
struct KeyText {
    const char* text;  // nullptr until the group's first row
    uint32_t len;
    uint32_t pad;
};

uint32_t key_text_offset(const AggLayout& layout) { return (layout.block_size() + 7) & ~uint32_t{7}; }

}  // namespace

// Cache-line aligned: each shard's state sits on lines no other shard writes.
struct alignas(kCacheLine) QueryState::Impl {
    Impl(const Plan& plan, uint32_t shard, uint32_t shards, uint32_t sources, OutBuffer& out,
         ShardCounters& counters)
        : plan_(plan),
          shard_(shard),
          shards_(shards == 0 ? 1 : shards),
          out_(out),
          counters_(counters),
          mode_(mode_of(plan)),
          windowed_(plan.is_windowed()),
          final_(plan.emit == EmitMode::Final),
          lateness_(plan.props.allowed_lateness_ms),
          limit_(plan.limit.value_or(UINT64_MAX)),
          layout_(plan.aggs),
          writer_(plan.columns),
          sources_(sources),
          combine_(mode_ == Mode::Grouped && final_ && shards_ > 1),
          lead_(cached_lead(plan)),
          text_off_(key_text_offset(layout_)),
          group_block_(lead_ != 0 ? text_off_ + static_cast<uint32_t>(sizeof(KeyText)) : layout_.block_size()),
          table_(group_block_, mode_ == Mode::Global ? kGlobalArenaChunk : kGroupArenaChunk),
          local_(layout_.block_size(), kGroupArenaChunk),
          wcombine_(mode_ == Mode::Windowed && final_ && shards_ > 1),
          shipped_(shards_),
          windows_(group_block_, mode_ == Mode::Global ? kGlobalArenaChunk : kGroupArenaChunk),
          owned_(group_block_, kGroupArenaChunk),
          scratch_(16 * 1024),
          merge_scratch_(16 * 1024) {
        check_window(plan.window);
        keys_.resize(plan.group_keys.size());
        aggs_.resize(plan.aggs.size());
        cols_.resize(plan.columns.size());
        if (mode_ == Mode::Global && shard_ == 0) merge_ = std::make_unique<PartialMerge>(shards_);
        // Output expressions compiled once; the row context's arrays never move.
        const ExprPool& pool = plan.exprs;
        has_having_ = plan.having != kNoExpr;
        having_ = detail::CompiledExpr(pool, plan.having);
        bool uses_scratch = detail::may_use_scratch(pool, plan.having);
        // A column that is a key, an aggregate or a constant is written from
        // where it is; the others are evaluated into cols_ per row.
        for (uint32_t i = 0; i < plan.columns.size(); ++i) {
            const ExprId e = plan.columns[i].expr;
            const ExprNode& n = pool.nodes[e];
            uses_scratch |= detail::may_use_scratch(pool, e);
            if (n.op == ExprOp::KeyRef && n.index < keys_.size()) {
                col_refs_.push_back(&keys_[n.index]);
            } else if (n.op == ExprOp::AggRef && n.index < aggs_.size()) {
                col_refs_.push_back(&aggs_[n.index]);
            } else if (n.op == ExprOp::Const) {
                col_refs_.push_back(&pool.consts[n.index]);
            } else {
                col_refs_.push_back(&cols_[i]);
                computed_.push_back(Computed{i, detail::CompiledExpr(pool, e)});
            }
        }
        reset_scratch_ = uses_scratch;
        row_ctx_.keys = keys_.data();
        row_ctx_.aggs = aggs_.data();
        row_ctx_.scratch = &scratch_;
        row_ctx_.type_mismatch = &counters_.type_mismatch;
        if (lead_ != 0) lead_buf_.resize(1024);
    }

    // ------------------------------------------------------------ records

    void on_record(const AggInput& in) noexcept {
        switch (mode_) {
            case Mode::Grouped:
                ++counters_.records_processed;
                if (limit_reached()) return;
                apply_grouped(in);
                return;
            case Mode::Windowed:
                on_windowed_record(in);
                return;
            case Mode::Global:
                if (windowed_) {
                    on_windowed_record(in);
                    return;
                }
                ++counters_.records_processed;
                apply_global(table_, in);
                global_dirty_ = true;
                return;
        }
    }

    [[gnu::always_inline]] void apply_grouped(const AggInput& in) noexcept {
        apply(combine_ ? local_ : table_, in, 0, 0);
    }

    // Updates the record's group in t and, for EMIT CHANGES, emits its row.
    [[gnu::always_inline]] void apply(GroupTable& t, const AggInput& in, int64_t ws, int64_t we) noexcept {
        const GroupTable::Hit hit = t.find_or_insert(in.hash, in.key, in.key_len);
        if (hit.inserted) [[unlikely]]
            init_group(hit.block);
        layout_.update(hit.block, in.args, in.seq, t.arena(), counters_.type_mismatch);
        if (!final_) {
            if (lead_ != 0)
                emit_cached(t, hit.index, hit.block);
            else
                emit(t.key_at(hit.index), t.key_len_at(hit.index), hit.block, ws, we);
        }
    }

    bool aggregates_locally() const noexcept { return mode_ == Mode::Global || combine_ || wcombine_; }

    // Combined groups go to their owners: merged here when this shard owns
    // them, else shipped (key, serialized block) ahead of the end markers.
    void end_of_local_input() noexcept {
        if (!combine_) return;
        std::vector<uint8_t>& box = outbox_.bytes;
        for (uint32_t i = 0; i < local_.size(); ++i) {
            const uint64_t hash = local_.hash_at(i);
            const uint32_t owner = partition_of(hash, shards_);
            if (owner == shard_) {
                merge_group(table_, hash, local_.key_at(i), local_.key_len_at(i), local_.block_at(i));
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

    // Merges a group's accumulators (combined elsewhere) into t.
    void merge_group(GroupTable& t, uint64_t hash, const uint8_t* key, uint32_t key_len,
                     const uint8_t* block) noexcept {
        const GroupTable::Hit hit = t.find_or_insert(hash, key, key_len);
        if (hit.inserted) layout_.init(hit.block);
        layout_.merge(hit.block, block, t.arena());
    }

    // A combined group from another shard (this shard owns its key).
    void on_group_partial(const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept {
        merge_shipped_group(table_, h, body, len);
    }

    // A shipped group (h.a = key length; key bytes, then the serialized block) merged into t.
    void merge_shipped_group(GroupTable& t, const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept {
        if (h.a < 0 || static_cast<uint64_t>(h.a) > len) return;
        const auto key_len = static_cast<uint32_t>(h.a);
        const std::size_t bytes = std::max<std::size_t>(layout_.block_size(), 8);
        auto* part = static_cast<uint8_t*>(merge_scratch_.alloc(bytes, AggLayout::kBlockAlign));
        if (layout_.deserialize(part, body + key_len, body + len, merge_scratch_))
            merge_group(t, hash64(body, key_len), body, key_len, part);
        merge_scratch_.reset();
    }

    // The one block of a global aggregate (per window): empty key, fixed hash.
    void apply_global(GroupTable& t, const AggInput& in) noexcept {
        const GroupTable::Hit hit = t.find_or_insert(0, nullptr, 0);
        if (hit.inserted) layout_.init(hit.block);
        layout_.update(hit.block, in.args, in.seq, t.arena(), counters_.type_mismatch);
    }

    [[gnu::always_inline]] void on_windowed_record(const AggInput& in) noexcept {
        // Records come in runs of one window: the last window found is kept
        // and tried first (no division, no search of the open windows).
        OpenWindow* ow = cur_;
        if (ow == nullptr || in.ts < ow->start || in.ts >= ow->end) [[unlikely]] {
            const WindowBounds w = assign_window(in.ts);
            if (is_late(w.end, in)) {
                ++counters_.late_dropped;
                return;
            }
            ++counters_.records_processed;
            if (limit_reached()) return;
            ow = &windows_.find_or_open(w.start, w.end);
            // Saturated bounds (times near the int64 ends) are not a plain
            // [start, end) range of the time line: never reused.
            cur_ = w.start != INT64_MIN && w.end != INT64_MAX ? ow : nullptr;
            cur_late_at_ = saturating_add(w.end, lateness_);
        } else {
            // is_late for the kept window: it has not been closed (closing
            // drops it), so only the watermarks can make the record late.
            if (std::min(in.wm_before, sources_.min_except(in.source)) >= cur_late_at_) {
                ++counters_.late_dropped;
                return;
            }
            ++counters_.records_processed;
            if (limit_reached()) return;
        }
        if (mode_ == Mode::Global) {
            apply_global(*ow->table, in);
            ow->dirty = true;
            return;
        }
        apply(*ow->table, in, ow->start, ow->end);
    }

    WindowBounds assign_window(int64_t ts) const noexcept { return tumbling_window(ts, plan_.window.size_ms); }

    // Late: the window has closed for this record (its own source's watermark
    // before it, the other sources' latest), or this state closed it already.
    bool is_late(int64_t end, const AggInput& in) const noexcept {
        const int64_t wm = std::min(in.wm_before, sources_.min_except(in.source));
        return window_closed_for(end, lateness_, wm) || end <= closed_wm_;
    }

    // ------------------------------------------------------------ watermarks

    void on_watermark(uint16_t source, int64_t watermark) noexcept {
        if (sources_.advance(source, watermark) && windowed_) close_until(sources_.min());
    }

    void on_source_end(uint16_t source) noexcept {
        if (!sources_.end(source)) return;
        if (windowed_) close_until(sources_.min());
        if (sources_.all_ended() && !done_) finish();
    }

    // Closes, in end order, every window that ends at or before w.
    void close_until(int64_t w) noexcept {
        if (w <= closed_wm_) return;
        closed_wm_ = w;
        cur_ = nullptr;  // closing moves the open windows
        while (!windows_.empty() && windows_.front().end <= w) {
            OpenWindow& f = windows_.front();
            if (mode_ == Mode::Global) {
                if (final_ || f.dirty) ship_snapshot(f.start, f.end, *f.table);
            } else if (wcombine_) {
                ship_window_groups(f);
            } else if (final_) {
                emit_table(*f.table, f.start, f.end);
            }
            windows_.close_front();
        }
        if (mode_ == Mode::Global) ship_mark(PartialKind::Watermark, w);
        if (wcombine_) {
            // Every owner learns that this shard shipped all it had for windows up to w.
            std::vector<uint8_t>& box = outbox_.bytes;
            for (uint32_t to = 0; to < shards_; ++to)
                end_partial(box, begin_partial(box, PartialHeader{PartialKind::Shipped, shard_, w, 0}, to));
        }
    }

    // A window closed on this (reading) shard: each group goes to its owner.
    void ship_window_groups(OpenWindow& f) noexcept {
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

    // A window group combined on a reading shard: merged into the owned
    // window, emitted once every shard has shipped past the window's end.
    void on_window_group(const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept {
        const WindowBounds w = assign_window(h.b);
        if (w.end <= owned_closed_) return;  // a sender ships a window before marking it shipped
        merge_shipped_group(*owned_.find_or_open(w.start, w.end).table, h, body, len);
    }

    void on_shipped(const PartialHeader& h) noexcept {
        if (!shipped_.advance(static_cast<uint16_t>(h.shard), h.a)) return;
        const int64_t w = shipped_.min();
        owned_closed_ = w;
        while (!owned_.empty() && owned_.front().end <= w) {
            emit_table(*owned_.front().table, owned_.front().start, owned_.front().end);
            owned_.close_front();
        }
        if (w == kWatermarkMax) owned_done_ = true;
    }

    // Every source ended: flush what is left.
    void finish() noexcept {
        if (mode_ == Mode::Grouped && final_) emit_table(table_, 0, 0);
        if (mode_ == Mode::Global) {
            if (!windowed_ && !table_.empty() && (final_ || global_dirty_)) ship_snapshot(0, 0, table_);
            global_dirty_ = false;
            ship_mark(PartialKind::End, kWatermarkMax);
        }
        done_ = true;
    }

    void end_batch() noexcept {
        if (mode_ != Mode::Global || final_ || done_) return;
        if (!windowed_) {
            if (global_dirty_) ship_snapshot(0, 0, table_);
            global_dirty_ = false;
            return;
        }
        for (std::size_t i = 0; i < windows_.size(); ++i) {
            OpenWindow& w = windows_.at(i);
            if (!w.dirty) continue;
            ship_snapshot(w.start, w.end, *w.table);
            w.dirty = false;
        }
    }

    // ------------------------------------------------------------ emission

    void init_group(uint8_t* block) const noexcept {
        layout_.init(block);
        if (lead_ != 0) {
            const KeyText empty{nullptr, 0, 0};
            std::memcpy(block + text_off_, &empty, sizeof empty);
        }
    }

    // An EMIT CHANGES row from the group's cached key text (cached_lead):
    // no key decoding, no HAVING, no computed columns.
    [[gnu::noinline]] void emit_cached(GroupTable& t, uint32_t index, const uint8_t* block) noexcept {
        if (limit_reached()) return;
        KeyText kt;
        std::memcpy(&kt, block + text_off_, sizeof kt);
        if (kt.text == nullptr) [[unlikely]]
            kt = render_key_text(t, index, block);
        layout_.finalize(block, aggs_.data());
        writer_.write_after_lead(out_, kt.text, kt.len, lead_, col_refs_.data());
        ++rows_;
        ++counters_.rows_out;
    }

    // The group's first row: its leading columns rendered once into the
    // table's arena (freed with the table).
    [[gnu::noinline, gnu::cold]] KeyText render_key_text(GroupTable& t, uint32_t index, const uint8_t* block) noexcept {
        detail::decode_key_values(t.key_at(index), t.key_len_at(index), keys_.data(), static_cast<uint32_t>(keys_.size()));
        const std::size_t bound = writer_.lead_bound(col_refs_.data(), lead_);
        if (lead_buf_.size() < bound) lead_buf_.resize(bound);
        const char* end = writer_.write_lead(lead_buf_.data(), col_refs_.data(), lead_);
        const auto len = static_cast<uint32_t>(end - lead_buf_.data());
        auto* text = static_cast<char*>(t.arena().alloc(len == 0 ? 1 : len, 1));
        std::memcpy(text, lead_buf_.data(), len);
        const KeyText kt{text, len, 0};
        std::memcpy(const_cast<uint8_t*>(block) + text_off_, &kt, sizeof kt);
        return kt;
    }

    // One output row for a group, if HAVING holds and LIMIT allows.
    void emit(const uint8_t* key, uint32_t key_len, const uint8_t* block, int64_t ws, int64_t we) noexcept {
        if (limit_reached()) return;
        if (!keys_.empty()) detail::decode_key_values(key, key_len, keys_.data(), static_cast<uint32_t>(keys_.size()));
        layout_.finalize(block, aggs_.data());
        row_ctx_.window_start = ws;
        row_ctx_.window_end = we;
        const ExprPool& pool = plan_.exprs;
        if (!has_having_ || having_.holds(pool, row_ctx_)) {
            for (const Computed& c : computed_) c.expr.eval_into(cols_[c.column], pool, row_ctx_);
            writer_.write(out_, col_refs_.data());
            ++rows_;
            ++counters_.rows_out;
        }
        if (reset_scratch_) scratch_.reset();
    }

    void emit_table(GroupTable& t, int64_t ws, int64_t we) noexcept {
        for (uint32_t i = 0; i < t.size() && !limit_reached(); ++i) emit(t.key_at(i), t.key_len_at(i), t.block_at(i), ws, we);
    }

    bool limit_reached() const noexcept { return rows_ >= limit_; }

    // ------------------------------------------------------------ two phases: shipping

    void ship_snapshot(int64_t start, int64_t end, GroupTable& t) noexcept {
        if (t.empty()) return;
        std::vector<uint8_t>& box = outbox_.bytes;
        const std::size_t at = begin_partial(box, PartialHeader{PartialKind::Snapshot, shard_, start, end});
        layout_.serialize(t.block_at(0), box);
        end_partial(box, at);
    }

    void ship_mark(PartialKind kind, int64_t watermark) noexcept {
        std::vector<uint8_t>& box = outbox_.bytes;
        end_partial(box, begin_partial(box, PartialHeader{kind, shard_, watermark, 0}));
    }

    // ------------------------------------------------------------ two phases: merging (shard 0)

    void on_partial(const uint8_t* payload, uint32_t len) noexcept {
        PartialHeader h;
        if (!read_partial_header(payload, len, h) || h.shard >= shards_) return;
        if (h.kind == PartialKind::WindowGroup) {
            if (wcombine_)
                on_window_group(h, payload + kPartialHeaderBytes, len - static_cast<uint32_t>(kPartialHeaderBytes));
            return;
        }
        if (h.kind == PartialKind::Shipped) {
            if (wcombine_) on_shipped(h);
            return;
        }
        if (h.kind == PartialKind::Group) {
            if (combine_)
                on_group_partial(h, payload + kPartialHeaderBytes, len - static_cast<uint32_t>(kPartialHeaderBytes));
            return;
        }
        if (!merge_) return;
        const auto from = static_cast<uint16_t>(h.shard);
        switch (h.kind) {
            case PartialKind::Group:
            case PartialKind::WindowGroup:
            case PartialKind::Shipped:
                return;
            case PartialKind::Snapshot: {
                // A shard ships a window before the watermark that closes it, so
                // nothing arrives for a window the merge already released.
                if (windowed_ && h.b <= merged_wm_) return;
                MergeWindow& mw = windowed_ ? merge_->find_or_open(h.a, h.b) : merge_->global();
                mw.store(h.shard, payload + kPartialHeaderBytes, len - kPartialHeaderBytes);
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
        }
    }

    // Windows every shard has passed: emitted (EMIT FINAL) in end order, then dropped.
    void release_merged() noexcept {
        if (!windowed_) return;
        const int64_t w = merge_->marks().min();
        if (w <= merged_wm_) return;
        merged_wm_ = w;
        while (!merge_->empty() && merge_->front().end <= w) {
            if (final_) emit_merged(merge_->front());
            merge_->close_front();
        }
    }

    // Merges the latest snapshot of every shard and emits the row.
    void emit_merged(const MergeWindow& mw) noexcept {
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

    bool finished() const noexcept {
        if (merge_) return merge_done_;
        return wcombine_ ? done_ && owned_done_ : done_;
    }

    std::size_t group_count() const noexcept {
        switch (mode_) {
            case Mode::Grouped:
                return table_.size();
            case Mode::Windowed:
                return windows_.group_count();
            case Mode::Global:
                return windowed_ ? windows_.size() : table_.size();
        }
        return 0;
    }

    std::size_t state_bytes() const noexcept {
        std::size_t n = table_.memory_bytes() + windows_.memory_bytes() + scratch_.reserved_bytes() +
                        outbox_.bytes.capacity();
        if (merge_) n += merge_->memory_bytes() + merge_scratch_.reserved_bytes();
        return n;
    }

    const Plan& plan_;
    const uint32_t shard_;
    const uint32_t shards_;
    OutBuffer& out_;
    ShardCounters& counters_;
    const Mode mode_;
    const bool windowed_;
    const bool final_;
    const int64_t lateness_;
    const uint64_t limit_;
    AggLayout layout_;
    detail::RowFormat writer_;
    SourceWatermarks sources_;
    int64_t closed_wm_ = kWatermarkMin;  // watermark up to which windows were closed
    const bool combine_;                 // GROUP BY ... EMIT FINAL on several shards: combine, then ship
    const uint32_t lead_;                // leading columns cached per group as text (0: none)
    const uint32_t text_off_;            // KeyText's offset in a group's block (when lead_)
    const uint32_t group_block_;         // a group's block: accumulators (+ KeyText)
    GroupTable table_;                   // Grouped groups (owned); non-windowed Global block
    GroupTable local_;                   // combine_: every group this shard read, until its input ends
    const bool wcombine_;                // windowed EMIT FINAL on several shards: combine per window, then ship
    SourceWatermarks shipped_;           // wcombine_: per shard, windows shipped through this watermark
    WindowSet windows_;                  // open windows (wcombine_: of the records this shard read)
    WindowSet owned_;                    // wcombine_: windows of the groups this shard owns, being merged
    int64_t owned_closed_ = kWatermarkMin;
    bool owned_done_ = false;
    bool global_dirty_ = false;          // the non-windowed Global block changed since its last snapshot
    bool done_ = false;                  // every source ended, all emitted or shipped
    uint64_t rows_ = 0;
    Arena scratch_;        // string results of one row's expressions
    Arena merge_scratch_;  // blocks merged for one row on the merge shard
    std::vector<Value> keys_;
    std::vector<Value> aggs_;
    std::vector<Value> cols_;
    std::vector<char> lead_buf_;  // one group's key text while it is rendered
    struct Computed {
        uint32_t column;
        detail::CompiledExpr expr;
    };
    std::vector<const Value*> col_refs_;  // per output column: where its value is
    std::vector<Computed> computed_;      // columns that are not a key, aggregate or constant
    detail::CompiledExpr having_;
    bool has_having_ = false;
    bool reset_scratch_ = false;  // an output expression may leave strings in scratch_
    EvalContext row_ctx_;         // keys_, aggs_, scratch_; the window is set per row
    OpenWindow* cur_ = nullptr;   // the window of the last record (nullptr: none cached)
    int64_t cur_late_at_ = 0;     // its end + allowed lateness: late from this watermark on
    PartialOutbox outbox_;
    std::unique_ptr<PartialMerge> merge_;  // shard 0 of a Global query
    int64_t merged_wm_ = kWatermarkMin;    // merge shard: windows up to here were released
    bool merge_done_ = false;              // merge shard: every shard's End arrived
};

// ---------------------------------------------------------------- public API

QueryState::QueryState(const Plan& plan, uint32_t shard, uint32_t shards, uint32_t sources, OutBuffer& out,
                       ShardCounters& counters)
    : impl_(std::make_unique<Impl>(plan, shard, shards, sources, out, counters)) {}

QueryState::~QueryState() = default;

void QueryState::on_record(const AggInput& in) noexcept { impl_->on_record(in); }
void QueryState::on_watermark(uint16_t source, int64_t watermark) noexcept { impl_->on_watermark(source, watermark); }
void QueryState::on_source_end(uint16_t source) noexcept { impl_->on_source_end(source); }
void QueryState::end_batch() noexcept { impl_->end_batch(); }
bool QueryState::aggregates_locally() const noexcept { return impl_->aggregates_locally(); }
void QueryState::end_of_local_input() noexcept { impl_->end_of_local_input(); }
PartialOutbox& QueryState::outbox() noexcept { return impl_->outbox_; }
void QueryState::on_partial(const uint8_t* payload, uint32_t len) noexcept { impl_->on_partial(payload, len); }
bool QueryState::finished() const noexcept { return impl_->finished(); }
bool QueryState::limit_reached() const noexcept { return impl_->limit_reached(); }
std::size_t QueryState::group_count() const noexcept { return impl_->group_count(); }
std::size_t QueryState::state_bytes() const noexcept { return impl_->state_bytes(); }

}  // namespace sluice
