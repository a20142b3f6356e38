// QueryState's implementation (the modes are described in query_state.cc).
// The per-record paths — records, windows, sessions, emission — are defined
// here, inline; set-up and the public API are in query_state.cc, combining
// and two-phase merging in query_state_partials.cc, state.ttl sweeps and
// compaction in query_state_ttl.cc. Private to exec.
#pragma once

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "accumulators.h"
#include "compiled_expr.h"
#include "dead_letter.h"
#include "group_table.h"
#include "key_inline.h"
#include "partial_codec.h"
#include "partial_merge.h"
#include "row_format.h"
#include "session_store.h"
#include "sluice/base.h"
#include "sluice/exec.h"
#include "window_assign.h"
#include "window_set.h"
#include "window_watermarks.h"

namespace sluice {

// Cache-line aligned: each shard's state sits on lines no other shard writes.
struct alignas(kCacheLine) QueryState::Impl {
    enum class Mode : uint8_t { Grouped, Windowed, Session, Global };

    static constexpr std::size_t kGroupArenaChunk = 64 * 1024;
    // A global aggregate has one group per window: its arena only holds strings.
    static constexpr std::size_t kGlobalArenaChunk = 4 * 1024;
    // The records before a group table is compacted: dead groups must outnumber
    // live ones by this much, so compaction is amortized over the evictions.
    static constexpr std::size_t kCompactSlack = 4096;

    // Where a group's rendered key text sits: after its accumulators.
    struct KeyText {
        const char* text;  // nullptr until the group's first row
        uint32_t len;
        uint32_t pad;
    };

    // state.ttl: when a group last saw a record (event time), and whether it
    // was aged out (its block is reinitialised on its next record).
    struct GroupAge {
        int64_t last;
        uint32_t dead;
        uint32_t pad;
    };

    static Mode mode_of(const Plan& plan);

    Impl(const Plan& plan, uint32_t shard, uint32_t shards, uint32_t sources, OutBuffer& out,
         ShardCounters& counters, OutBuffer* dead_letter);

    // ------------------------------------------------------------ records

    void on_record(const AggInput& in) noexcept {
        switch (mode_) {
            case Mode::Grouped:
                ++counters_.records_processed;
                if (limit_reached()) return;
                if (ttl_ != 0) {
                    apply_aged(in);
                    return;
                }
                apply_grouped(in);
                return;
            case Mode::Windowed:
                if (lateness_ != 0) close_before(in);
                if (sliding_) {
                    on_sliding_record(in);
                    return;
                }
                on_windowed_record(in);
                return;
            case Mode::Session:
                if (lateness_ != 0) close_before(in);
                on_session_record(in);
                return;
            case Mode::Global:
                if (windowed_) {
                    if (sliding_)
                        on_sliding_record(in);
                    else
                        on_windowed_record(in);
                    return;
                }
                ++counters_.records_processed;
                apply_global(*table_, in);
                global_dirty_ = true;
                return;
        }
    }

    // The watermark a record is judged against (SPEC §4): its own source's
    // just before it, every other source's latest.
    int64_t judged_watermark(const AggInput& in) const noexcept {
        return std::min(in.wm_before, sources_.min_except(in.source));
    }

    // With allowed lateness a closed window's row is emitted again when a late
    // record updates it, so whether a window has closed must not depend on
    // when a watermark message arrives: the record's own watermark closes what
    // it passes first (it is the source's watermark at this point of its stream).
    void close_before(const AggInput& in) noexcept {
        if (in.wm_before > closed_wm_ && sources_.advance(in.source, in.wm_before)) close_until(sources_.min());
    }

    void late(const AggInput& in) noexcept {
        ++counters_.late_dropped;
        if (dead_ == nullptr) return;
        detail::write_dead_letter(*dead_, std::string_view(in.raw, in.raw_len), in.ts, judged_watermark(in));
        ++counters_.dead_lettered;
    }

    [[gnu::always_inline]] void apply_grouped(const AggInput& in) noexcept {
        apply(combine_ ? local_ : *table_, in, 0, 0);
    }

    // Updates the record's group in t and, for EMIT CHANGES, emits its row
    // (DISTINCT: only a new group's).
    [[gnu::always_inline]] void apply(GroupTable& t, const AggInput& in, int64_t ws, int64_t we) noexcept {
        const GroupTable::Hit hit = t.find_or_insert(in.hash, in.key, in.key_len);
        if (hit.inserted) [[unlikely]]
            init_group(hit.block);
        layout_.update(hit.block, in.args, in.seq, t.arena(), counters_.type_mismatch);
        if (!final_ && (!distinct_ || hit.inserted)) emit_group(t, hit, ws, we);
    }

    void emit_group(GroupTable& t, const GroupTable::Hit& hit, int64_t ws, int64_t we) noexcept {
        if (lead_ != 0)
            emit_cached(t, hit.index, hit.block);
        else
            emit(t.key_at(hit.index), t.key_len_at(hit.index), hit.block, ws, we);
    }

    // ------------------------------------------------------------ state.ttl

    GroupAge& age(uint8_t* block) const noexcept { return *reinterpret_cast<GroupAge*>(block + age_off_); }

    // A group idle for the TTL (judged like a late record: by the watermark
    // the record sees) starts over; under EMIT FINAL its row goes out first.
    void apply_aged(const AggInput& in) noexcept {
        GroupTable& t = *table_;
        const GroupTable::Hit hit = t.find_or_insert(in.hash, in.key, in.key_len);
        bool fresh = hit.inserted;
        GroupAge& a = age(hit.block);
        if (fresh) {
            init_group(hit.block);
            a = GroupAge{in.ts, 0, 0};
        } else if (a.dead || window_closed_for(a.last, ttl_, judged_watermark(in))) {
            if (a.dead)
                --dead_groups_;
            else if (final_)
                emit(t.key_at(hit.index), t.key_len_at(hit.index), hit.block, 0, 0);
            layout_.init(hit.block);
            a = GroupAge{in.ts, 0, 0};
            fresh = true;
        }
        layout_.update(hit.block, in.args, in.seq, t.arena(), counters_.type_mismatch);
        a.last = std::max(a.last, in.ts);
        if (!final_ && (!distinct_ || fresh)) emit_group(t, hit, 0, 0);
    }

    // Ages out the groups idle past the TTL at watermark w (rows first under
    // EMIT FINAL), then compacts once dead groups outnumber live ones.
    void expire_until(int64_t w) noexcept;

    // Copies the live groups into the spare table (their out-of-line state
    // into its arena) and swaps: dead keys and their bytes go.
    void compact_groups() noexcept;

    // ------------------------------------------------------------ combining

    bool aggregates_locally() const noexcept { return mode_ == Mode::Global || combine_ || wcombine_; }

    // Combined groups go to their owners: merged here when this shard owns
    // them, else shipped (key, serialized block) ahead of the end markers.
    void end_of_local_input() noexcept;

    // Merges a group's accumulators (combined elsewhere) into t.
    void merge_group(GroupTable& t, uint64_t hash, const uint8_t* key, uint32_t key_len,
                     const uint8_t* block) noexcept;

    // A shipped group (h.a = key length; key bytes, then the serialized block) merged into t.
    void merge_shipped_group(GroupTable& t, const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept;

    // The one block of a global aggregate (per window): empty key, fixed hash.
    void apply_global(GroupTable& t, const AggInput& in) noexcept {
        const GroupTable::Hit hit = t.find_or_insert(0, nullptr, 0);
        if (hit.inserted) layout_.init(hit.block);
        layout_.update(hit.block, in.args, in.seq, t.arena(), counters_.type_mismatch);
    }

    // ------------------------------------------------------------ windows

    [[gnu::always_inline]] void on_windowed_record(const AggInput& in) noexcept {
        // Records come in runs of one window: the last window found is kept
        // and tried first (no division, no search of the open windows).
        OpenWindow* ow = cur_;
        if (ow == nullptr || in.ts < ow->start || in.ts >= ow->end) [[unlikely]] {
            const WindowBounds w = tumbling_window(in.ts, plan_.window.size_ms);
            if (is_late(w.end, in)) {
                late(in);
                return;
            }
            ++counters_.records_processed;
            if (limit_reached()) return;
            ow = &windows_.find_or_open(w.start, w.end);
            if (w.end <= closed_wm_) {
                // Closed, within the allowed lateness: updated and emitted again.
                apply_to_window(*ow, in);
                cur_ = nullptr;
                return;
            }
            // Saturated bounds (times near the int64 ends) are not a plain
            // [start, end) range of the time line: never reused.
            cur_ = w.start != INT64_MIN && w.end != INT64_MAX ? ow : nullptr;
            cur_late_at_ = saturating_add(w.end, lateness_);
        } else {
            // is_late for the kept window: it has not been closed (closing
            // drops it), so only the watermarks can make the record late.
            if (judged_watermark(in) >= cur_late_at_) {
                late(in);
                return;
            }
            ++counters_.records_processed;
            if (limit_reached()) return;
        }
        apply_to_window(*ow, in);
    }

    // Every window of the record that has not closed for it for good; late
    // when there is none.
    void on_sliding_record(const AggInput& in) noexcept {
        const int64_t size = plan_.window.size_ms;
        const int64_t advance = plan_.window.advance_ms;
        const SlidingRange r = sliding_windows(in.ts, size, advance);
        int64_t k = r.first;
        // Windows end in the order they start: skip the closed ones.
        while (k <= r.last && is_late(sliding_window(k, size, advance).end, in)) ++k;
        if (k > r.last) {
            late(in);
            return;
        }
        ++counters_.records_processed;
        if (limit_reached()) return;
        cur_ = nullptr;
        for (; k <= r.last; ++k) {
            const WindowBounds w = sliding_window(k, size, advance);
            apply_to_window(windows_.find_or_open(w.start, w.end), in);
        }
    }

    // Applies the record to one of its windows; a window that has closed
    // already (allowed lateness) emits its updated row at once.
    void apply_to_window(OpenWindow& ow, const AggInput& in) noexcept {
        const bool closed = ow.end <= closed_wm_;
        if (mode_ == Mode::Global) {
            apply_global(*ow.table, in);
            ow.dirty = true;
            return;
        }
        GroupTable& t = *ow.table;
        const GroupTable::Hit hit = t.find_or_insert(in.hash, in.key, in.key_len);
        if (hit.inserted) [[unlikely]]
            init_group(hit.block);
        layout_.update(hit.block, in.args, in.seq, t.arena(), counters_.type_mismatch);
        if (!final_ || closed) emit_group(t, hit, ow.start, ow.end);
    }

    // Late: the window has closed for this record past its allowed lateness
    // (its own source's watermark before it, the other sources' latest), or
    // this state dropped it already.
    bool is_late(int64_t end, const AggInput& in) const noexcept {
        return window_closed_for(end, lateness_, judged_watermark(in)) || window_closed_for(end, lateness_, closed_wm_);
    }

    // ------------------------------------------------------------ sessions

    void on_session_record(const AggInput& in) noexcept {
        const int64_t wm = judged_watermark(in);
        SessionStore& ss = *sessions_;
        if (ss.late(in.ts, wm) || ss.late(in.ts, closed_wm_)) {
            late(in);
            return;
        }
        ++counters_.records_processed;
        if (limit_reached()) return;
        const uint32_t id = ss.place(in.hash, in.key, in.key_len, in.ts, wm, closed_wm_);
        uint8_t* block = ss.block(id);
        layout_.update(block, in.args, in.seq, ss.arena(), counters_.type_mismatch);
        // EMIT FINAL: a session the watermark has passed (allowed lateness) emits again at once.
        if (!final_ || ss.session(id).closed) emit_session(id);
    }

    void emit_session(uint32_t id) noexcept {
        SessionStore& ss = *sessions_;
        emit(ss.key(id), ss.key_len(id), ss.block(id), ss.session(id).first, ss.end_of(id));
    }

    // ------------------------------------------------------------ watermarks

    void on_watermark(uint16_t source, int64_t watermark) noexcept {
        if (sources_.advance(source, watermark)) on_min_advanced();
    }

    void on_source_idle(uint16_t source, bool idle) noexcept {
        if (sources_.set_idle(source, idle)) on_min_advanced();
    }

    void on_min_advanced() noexcept {
        if (windowed_) close_until(sources_.min());
        if (ttl_ != 0) expire_until(sources_.min());
    }

    void on_source_end(uint16_t source) noexcept {
        if (source < stopped_.size() && stopped_[source]) return;
        if (!sources_.end(source)) return;
        on_min_advanced();
        if (sources_.all_ended() && !done_) finish();
    }

    // A drain that drops open state: once every source stopped, nothing more comes out.
    void on_source_stop(uint16_t source) noexcept {
        if (stopped_.empty()) stopped_.assign(sources_.sources(), 0);
        if (source >= stopped_.size() || stopped_[source]) return;
        stopped_[source] = 1;
        if (++stopped_count_ < stopped_.size()) return;
        done_ = true;
        owned_done_ = true;
        merge_done_ = true;
        outbox_.bytes.clear();
    }

    // Closes, in end order, every window that ends at or before w (EMIT
    // FINAL: emits it), and drops those that end + allowed lateness passed.
    void close_until(int64_t w) noexcept {
        if (w <= closed_wm_) return;
        const int64_t before = closed_wm_;
        closed_wm_ = w;
        cur_ = nullptr;  // closing moves the open windows
        if (mode_ == Mode::Session) {
            sessions_->advance(w, [this](uint32_t id) {
                if (final_) emit_session(id);
            });
            sessions_->maybe_compact();
            return;
        }
        for (std::size_t i = 0; i < windows_.size() && windows_.at(i).end <= w; ++i) {
            OpenWindow& f = windows_.at(i);
            if (f.end <= before) continue;  // closed earlier, kept for the allowed lateness
            if (mode_ == Mode::Global) {
                if (final_ || f.dirty) ship_snapshot(f.start, f.end, *f.table);
                f.dirty = false;
            } else if (wcombine_) {
                ship_window_groups(f);
            } else if (final_) {
                emit_table(*f.table, f.start, f.end);
            }
        }
        while (!windows_.empty() && window_closed_for(windows_.front().end, lateness_, w)) windows_.close_front();
        if (mode_ == Mode::Global) ship_mark(PartialKind::Watermark, w);
        if (wcombine_) {
            // Every owner learns that this shard shipped all it had for windows up to w.
            std::vector<uint8_t>& box = outbox_.bytes;
            for (uint32_t to = 0; to < shards_; ++to)
                end_partial(box, begin_partial(box, PartialHeader{PartialKind::Shipped, shard_, w, 0}, to));
        }
    }

    // A window closed on this (reading) shard: each group goes to its owner.
    void ship_window_groups(OpenWindow& f) noexcept;

    // The window starting at `start` (tumbling or sliding: the size fixes the end).
    WindowBounds window_from_start(int64_t start) const noexcept {
        return WindowBounds{start, saturating_add(start, plan_.window.size_ms)};
    }

    // A window group combined on a reading shard: merged into the owned
    // window, emitted once every shard has shipped past the window's end.
    void on_window_group(const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept;

    void on_shipped(const PartialHeader& h) noexcept;

    // Every source ended: flush what is left (windows and sessions closed
    // already at the +infinity watermark).
    void finish() noexcept {
        if (mode_ == Mode::Grouped && final_) {
            GroupTable& t = *table_;
            for (uint32_t i = 0; i < t.size() && !limit_reached(); ++i) {
                if (ttl_ != 0 && age(t.block_at(i)).dead) continue;
                emit(t.key_at(i), t.key_len_at(i), t.block_at(i), 0, 0);
            }
        }
        if (mode_ == Mode::Global) {
            if (!windowed_ && !table_->empty() && (final_ || global_dirty_)) ship_snapshot(0, 0, *table_);
            global_dirty_ = false;
            ship_mark(PartialKind::End, kWatermarkMax);
        }
        done_ = true;
    }

    void end_batch() noexcept {
        if (mode_ != Mode::Global || final_ || done_) return;
        if (!windowed_) {
            if (global_dirty_) ship_snapshot(0, 0, *table_);
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

    void ship_snapshot(int64_t start, int64_t end, GroupTable& t) noexcept;

    void ship_mark(PartialKind kind, int64_t watermark) noexcept;

    // ------------------------------------------------------------ two phases: merging (shard 0)

    void on_partial(const uint8_t* payload, uint32_t len) noexcept;

    void on_merge_partial(const PartialHeader& h, const uint8_t* body, uint32_t len) noexcept;

    // Windows every shard has passed: emitted (EMIT FINAL) in end order, then dropped.
    void release_merged() noexcept;

    // Merges the latest snapshot of every shard and emits the row.
    void emit_merged(const MergeWindow& mw) noexcept;

    // ------------------------------------------------------------ checkpoints (query_state_snapshot.cc)

    void snapshot(std::vector<uint8_t>& out) const;
    QueryState::RestoreCounts restore(const uint8_t* items, std::size_t len, QueryState::RestoreFilter accept, void* ctx,
                                      bool keyless);
    void restore_closed_watermark(int64_t w) noexcept;
    // One restored group merged into table t (its serialized block at [p, end)).
    bool restore_group(GroupTable& t, uint64_t hash, const uint8_t* key, uint32_t key_len, const uint8_t* p,
                       const uint8_t* end, int64_t last) noexcept;

    bool finished() const noexcept {
        if (merge_) return merge_done_;
        return wcombine_ ? done_ && owned_done_ : done_;
    }

    std::size_t group_count() const noexcept {
        switch (mode_) {
            case Mode::Grouped:
                // Combined groups (not shipped to their owners yet) are state too.
                return table_->size() - dead_groups_ + local_.size();
            case Mode::Windowed:
                return windows_.group_count();
            case Mode::Session:
                return sessions_->live();
            case Mode::Global:
                return windowed_ ? windows_.size() : table_->size();
        }
        return 0;
    }

    std::size_t open_windows() const noexcept {
        if (mode_ == Mode::Session) return sessions_->live();
        return windowed_ ? windows_.size() + owned_.size() : 0;
    }

    std::size_t state_bytes() const noexcept {
        std::size_t n = table_->memory_bytes() + windows_.memory_bytes() + scratch_.reserved_bytes() +
                        outbox_.bytes.capacity() + local_.memory_bytes() + owned_.memory_bytes();
        if (spare_) n += spare_->memory_bytes();
        if (sessions_) n += sessions_->memory_bytes();
        if (merge_) n += merge_->memory_bytes() + merge_scratch_.reserved_bytes();
        return n;
    }

    const Plan& plan_;
    const uint32_t shard_;
    const uint32_t shards_;
    OutBuffer& out_;
    OutBuffer* const dead_;  // dead-letter output (late.data.strategy = 'dead_letter'), or nullptr
    ShardCounters& counters_;
    const Mode mode_;
    const bool windowed_;
    const bool sliding_;
    const bool final_;
    const bool distinct_;  // SELECT DISTINCT: a row only when a group appears
    const int64_t lateness_;
    const int64_t ttl_;    // state.ttl of a Grouped query (0: none)
    const uint64_t limit_;
    AggLayout layout_;
    detail::RowFormat writer_;
    SourceWatermarks sources_;
    int64_t closed_wm_ = kWatermarkMin;  // watermark up to which windows were closed
    const bool combine_;                 // GROUP BY ... EMIT FINAL on several shards: combine, then ship
    const uint32_t lead_;                // leading columns cached per group as text (0: none)
    const uint32_t text_off_;            // KeyText's offset in a group's block (when lead_)
    const uint32_t age_off_;             // GroupAge's offset in a group's block (when ttl_)
    const uint32_t group_block_;         // a group's block: accumulators (+ KeyText) (+ GroupAge)
    std::unique_ptr<GroupTable> table_;  // Grouped groups (owned); non-windowed Global block
    std::unique_ptr<GroupTable> spare_;  // state.ttl: the compaction target
    std::size_t dead_groups_ = 0;        // state.ttl: aged-out groups still in table_
    int64_t next_sweep_ = kWatermarkMin; // state.ttl: the watermark of the next sweep
    GroupTable local_;                   // combine_: every group this shard read, until its input ends
    const bool wcombine_;                // windowed EMIT FINAL on several shards: combine per window, then ship
    SourceWatermarks shipped_;           // wcombine_: per shard, windows shipped through this watermark
    WindowSet windows_;                  // open windows (wcombine_: of the records this shard read)
    WindowSet owned_;                    // wcombine_: windows of the groups this shard owns, being merged
    std::unique_ptr<SessionStore> sessions_;  // Session mode
    int64_t owned_closed_ = kWatermarkMin;
    bool owned_done_ = false;
    bool global_dirty_ = false;          // the non-windowed Global block changed since its last snapshot
    bool done_ = false;                  // every source ended, all emitted or shipped
    std::vector<uint8_t> stopped_;       // sources stopped without a flush (drain)
    std::size_t stopped_count_ = 0;
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

}  // namespace sluice
