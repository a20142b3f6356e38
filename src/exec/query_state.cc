// QueryState: one shard's slice of an aggregate query. Four modes, fixed at
// construction and dispatched with a switch:
//  - Grouped : GROUP BY without a window, one group table (state.ttl ages
//              groups out by event time);
//  - Windowed: tumbling or sliding windows, one table per open window (also a
//              global aggregate with allowed lateness, as one empty-key group);
//  - Session : session windows per key (session_store.h);
//  - Global  : no GROUP BY (windowed or not), two phases: every shard keeps
//              partial blocks and ships snapshots to shard 0, which merges.
// Windows close when the minimum watermark over the sources reaches their
// end, earliest end first, and are dropped once it passes end + allowed
// lateness; a record for a window that has closed for it for good is late.
// Rows are serialized straight into the shard's OutBuffer.
#include <stdexcept>

#include "query_state_impl.h"

namespace sluice {

QueryState::Impl::Mode QueryState::Impl::mode_of(const Plan& plan) {
    if (!plan.is_aggregate()) throw std::invalid_argument("QueryState needs an aggregate query");
    if (plan.window.kind == WindowKind::Session) return Mode::Session;
    // A global aggregate with allowed lateness is routed (routing_of): merged
    // snapshots could not tell a late update from a shard's first one.
    if (routing_of(plan) == Routing::TwoPhase) return Mode::Global;
    return plan.is_windowed() ? Mode::Windowed : Mode::Grouped;
}

namespace {

void check_window(const WindowSpec& w) {
    switch (w.kind) {
        case WindowKind::None:
            return;
        case WindowKind::Tumbling:
            if (w.size_ms <= 0) throw std::invalid_argument("TUMBLING window size must be positive");
            return;
        case WindowKind::Sliding:
            if (w.size_ms <= 0 || w.advance_ms <= 0 || w.advance_ms > w.size_ms)
                throw std::invalid_argument("SLIDING window needs 0 < advance <= size");
            return;
        case WindowKind::Session:
            if (w.gap_ms <= 0) throw std::invalid_argument("SESSION gap must be positive");
            return;
    }
    throw std::invalid_argument("unknown window kind");
}

// EMIT CHANGES rows of grouped and windowed queries whose key columns lead
// the SELECT list: the leading run of key and constant columns is rendered
// once per group and copied into every row after. Only when nothing else
// reads the keys (no HAVING, every other column a key in the run, an
// aggregate or a constant), so a row decodes no key.
uint32_t cached_lead(const Plan& plan) {
    if (plan.emit == EmitMode::Final || plan.is_global_aggregate() || plan.having != kNoExpr ||
        plan.window.kind == WindowKind::Session)
        return 0;
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

uint32_t key_text_offset(const AggLayout& layout) { return (layout.block_size() + 7) & ~uint32_t{7}; }

}  // namespace

QueryState::Impl::Impl(const Plan& plan, uint32_t shard, uint32_t shards, uint32_t sources, OutBuffer& out,
     ShardCounters& counters, OutBuffer* dead_letter)
    : plan_(plan),
      shard_(shard),
      shards_(shards == 0 ? 1 : shards),
      out_(out),
      dead_(plan.props.late_strategy == LateStrategy::DeadLetter ? dead_letter : nullptr),
      counters_(counters),
      mode_(mode_of(plan)),
      windowed_(plan.is_windowed()),
      sliding_(plan.window.kind == WindowKind::Sliding),
      final_(plan.emit == EmitMode::Final),
      distinct_(plan.distinct),
      lateness_(plan.props.allowed_lateness_ms),
      ttl_(mode_ == Mode::Grouped && plan.props.state_ttl_ms ? *plan.props.state_ttl_ms : 0),
      limit_(plan.limit.value_or(UINT64_MAX)),
      layout_(plan.aggs),
      writer_(plan.columns),
      sources_(sources),
      combine_(shards_ > 1 && routing_of(plan) == Routing::CombineAtEnd),
      lead_(cached_lead(plan)),
      text_off_(key_text_offset(layout_)),
      age_off_(lead_ != 0 ? text_off_ + static_cast<uint32_t>(sizeof(KeyText)) : text_off_),
      group_block_(ttl_ != 0 ? age_off_ + static_cast<uint32_t>(sizeof(GroupAge))
                   : lead_ != 0 ? age_off_
                                : layout_.block_size()),
      table_(std::make_unique<GroupTable>(group_block_, mode_ == Mode::Global ? kGlobalArenaChunk : kGroupArenaChunk)),
      local_(layout_.block_size(), kGroupArenaChunk),
      wcombine_(shards_ > 1 && routing_of(plan) == Routing::CombinePerWindow),
      shipped_(shards_),
      windows_(group_block_, mode_ == Mode::Global ? kGlobalArenaChunk : kGroupArenaChunk),
      owned_(group_block_, kGroupArenaChunk),
      scratch_(16 * 1024),
      merge_scratch_(16 * 1024) {
    check_window(plan.window);
    if (mode_ == Mode::Session) sessions_ = std::make_unique<SessionStore>(layout_, plan.window.gap_ms, lateness_);
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

// ---------------------------------------------------------------- public API

QueryState::QueryState(const Plan& plan, uint32_t shard, uint32_t shards, uint32_t sources, OutBuffer& out,
                       ShardCounters& counters, OutBuffer* dead_letter)
    : impl_(std::make_unique<Impl>(plan, shard, shards, sources, out, counters, dead_letter)) {}

QueryState::~QueryState() = default;

void QueryState::on_record(const AggInput& in) noexcept { impl_->on_record(in); }
void QueryState::on_watermark(uint16_t source, int64_t watermark) noexcept { impl_->on_watermark(source, watermark); }
void QueryState::on_source_idle(uint16_t source, bool idle) noexcept { impl_->on_source_idle(source, idle); }
void QueryState::on_source_end(uint16_t source) noexcept { impl_->on_source_end(source); }
void QueryState::on_source_stop(uint16_t source) noexcept { impl_->on_source_stop(source); }
void QueryState::end_batch() noexcept { impl_->end_batch(); }
bool QueryState::aggregates_locally() const noexcept { return impl_->aggregates_locally(); }
bool QueryState::two_phase() const noexcept { return impl_->mode_ == Impl::Mode::Global; }
bool QueryState::needs_watermarks() const noexcept { return impl_->windowed_ || impl_->ttl_ != 0; }
void QueryState::end_of_local_input() noexcept { impl_->end_of_local_input(); }
PartialOutbox& QueryState::outbox() noexcept { return impl_->outbox_; }
void QueryState::on_partial(const uint8_t* payload, uint32_t len) noexcept { impl_->on_partial(payload, len); }
bool QueryState::finished() const noexcept { return impl_->finished(); }
bool QueryState::limit_reached() const noexcept { return impl_->limit_reached(); }
std::size_t QueryState::group_count() const noexcept { return impl_->group_count(); }
std::size_t QueryState::state_bytes() const noexcept { return impl_->state_bytes(); }
std::size_t QueryState::open_windows() const noexcept { return impl_->open_windows(); }
int64_t QueryState::watermark() const noexcept { return impl_->sources_.min(); }

}  // namespace sluice
