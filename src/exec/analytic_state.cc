// ROWS windows (SPEC §7). The reading shard evaluates WHERE and the
// partition key (AnalyticPrepare); the owning shard keeps, per partition,
// each analytic function's state in one block of a GroupTable and writes one
// row per input row (AnalyticState), in the Projector's way: compiled
// expressions, a scratch arena reset per record only when some expression
// may use it, the shared RowFormat, this shard's share of LIMIT.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "analytic_state.h"
#include "compiled_expr.h"
#include "group_table.h"
#include "key_encoder.h"
#include "row_format.h"
#include "sluice/exec.h"
#include "sluice/hash.h"

namespace sluice {

using detail::CompiledExpr;

// ================================================================ storage helpers

namespace rows {

void slot_reserve(Slot& s, uint32_t len, Arena& arena) noexcept {
    const uint64_t doubled = uint64_t{s.buf_cap} * 2;
    uint32_t want = doubled > len && doubled <= UINT32_MAX ? static_cast<uint32_t>(doubled) : len;
    if (want < 16) want = 16;
    s.buf = static_cast<char*>(arena.alloc(want, 1));
    s.buf_cap = want;
}

void ring_grow(Ring& r, uint32_t limit, uint32_t elem, BlockPool& pool) noexcept {
    const uint32_t cap = r.cap == 0 ? std::min(limit, kFirstRingCap)
                                    : static_cast<uint32_t>(std::min<uint64_t>(uint64_t{r.cap} * 2, limit));
    const std::size_t bytes = std::size_t{cap} * elem;
    const std::size_t old = std::size_t{r.cap} * elem;
    auto* p = static_cast<uint8_t*>(cap == limit ? pool.take_final(bytes) : pool.take_growing(bytes));
    if (old != 0) {
        std::memcpy(p, r.data, old);
        pool.give(r.data, old);
    }
    std::memset(p + old, 0, bytes - old);
    r.data = p;
    r.cap = cap;
}

void deque_grow(SlotDeque& d, uint32_t limit, BlockPool& pool) noexcept {
    const uint32_t cap = d.cap == 0 ? std::min(limit, kFirstRingCap)
                                    : static_cast<uint32_t>(std::min<uint64_t>(uint64_t{d.cap} * 2, limit));
    const std::size_t bytes = std::size_t{cap} * sizeof(Slot);
    auto* p = static_cast<Slot*>(cap == limit ? pool.take_final(bytes) : pool.take_growing(bytes));
    // Full when it grows: every old slot is an entry, copied front first
    // (their string buffers come along).
    for (uint32_t i = 0; i < d.cap; ++i) std::memcpy(p + i, &deque_at(d, i), sizeof(Slot));
    std::memset(static_cast<void*>(p + d.cap), 0, (cap - d.cap) * sizeof(Slot));
    if (d.cap != 0) pool.give(d.e, std::size_t{d.cap} * sizeof(Slot));
    d.e = p;
    d.cap = cap;
    d.head = 0;
}

void sum_rebuild(SumWindow& w) noexcept {
    double s = 0;
    double c = 0;
    const auto* e = reinterpret_cast<const Value*>(w.ring.data);
    for (uint32_t i = 0; i < w.ring.cap; ++i)  // slots not filled yet are zero: NULL
        if (e[i].type == Type::Double && std::isfinite(e[i].d)) neumaier(s, c, e[i].d);
    w.dsum = s;
    w.dcomp = c;
    w.overflowed = std::isfinite(s) && std::isfinite(c) ? 0 : 1;
}

}  // namespace rows

// ================================================================ reading shard

// Every analytic of a query has the same PARTITION BY (the planner checks it).
std::vector<ExprId> partition_key(const Plan& p) {
    return p.analytics.empty() ? std::vector<ExprId>{} : p.analytics.front().partition_by;
}

struct AnalyticPrepare::Impl {
    explicit Impl(const Plan& p) : plan(p), key(p.exprs, partition_key(p)) {
        has_where = p.where != kNoExpr;
        where = CompiledExpr(p.exprs, p.where);
        reset_scratch = detail::may_use_scratch(p.exprs, p.where) || key.may_use_scratch_memory();
    }

    const Plan& plan;
    Arena scratch{16 * 1024};
    bool reset_scratch = false;
    bool has_where = false;
    CompiledExpr where;
    detail::KeyEncoder key;
};

AnalyticPrepare::AnalyticPrepare(const Plan& plan) : impl_(std::make_unique<Impl>(plan)) {}
AnalyticPrepare::~AnalyticPrepare() = default;

bool AnalyticPrepare::run(const Value* fields, int64_t arrival_ms, PreparedRecord& out,
                          ShardCounters& counters) noexcept {
    Impl& im = *impl_;
    const ExprPool& pool = im.plan.exprs;
    if (im.reset_scratch) im.scratch.reset();
    const EvalContext ctx = record_context(fields, arrival_ms, &im.scratch, &counters.type_mismatch);
    if (im.has_where && !im.where.holds(pool, ctx)) return false;

    out.key_len = im.key.encode(fields, pool, ctx);
    out.key = im.key.data();
    out.hash = hash64(out.key, out.key_len);
    out.ts = arrival_ms;
    out.args = fields;
    out.nargs = static_cast<uint32_t>(im.plan.fields.size());
    return true;
}

// ================================================================ owning shard

namespace {

struct Op {
    AnalyticKind kind;
    uint32_t offset;  // of its state in the partition block
    uint32_t limit;   // ring size: BUFFER, or LAG's offset + 1
    uint32_t buffer;  // BUFFER
    uint32_t out;     // index in the analytics values
    CompiledExpr arg;
};

uint32_t state_size(AnalyticKind kind) noexcept {
    switch (kind) {
        case AnalyticKind::RowNumber:
        case AnalyticKind::LastValue: return 0;
        case AnalyticKind::Lag:
        case AnalyticKind::FirstValue: return sizeof(rows::Ring);
        case AnalyticKind::Count: return sizeof(rows::CountWindow);
        case AnalyticKind::Sum:
        case AnalyticKind::Avg: return sizeof(rows::SumWindow);
        case AnalyticKind::Min:
        case AnalyticKind::Max: return sizeof(rows::MinMaxWindow);
    }
    return 0;
}

// A column whose value already sits somewhere is pointed at, not copied.
struct Column {
    enum class Src : uint8_t { Field, Analytic, Expr };
    Src src;
    uint32_t index;  // field slot or analytic
    CompiledExpr expr;
};

}  // namespace

struct AnalyticState::Impl {
    Impl(const Plan& p, OutBuffer& o, ShardCounters& c)
        : plan(p), out(o), counters(c), writer(p.columns), block_size(layout(p)), table(block_size),
          pool(table.arena()), analytics(p.analytics.size()), row(p.columns.size()),
          row_ptrs(p.columns.size()), limit(p.limit.value_or(UINT64_MAX)) {
        const ExprPool& ex = p.exprs;
        bool uses_scratch = false;
        for (Op& op : ops) {
            const AnalyticSpec& a = p.analytics[op.out];
            op.arg = CompiledExpr(ex, a.arg);
            uses_scratch |= detail::may_use_scratch(ex, a.arg);
        }
        for (const OutputColumn& col : p.columns) {
            const ExprNode& n = ex.nodes[col.expr];
            if (n.op == ExprOp::Field)
                columns.push_back(Column{Column::Src::Field, n.index, {}});
            else if (n.op == ExprOp::AnalyticRef)
                columns.push_back(Column{Column::Src::Analytic, n.index, {}});
            else
                columns.push_back(Column{Column::Src::Expr, 0, CompiledExpr(ex, col.expr)});
            uses_scratch |= detail::may_use_scratch(ex, col.expr);
        }
        reset_scratch = uses_scratch;
    }

    // Lays out the partition block: the row count, then each function's state.
    uint32_t layout(const Plan& p) {
        uint32_t at = sizeof(uint64_t);
        for (uint32_t i = 0; i < p.analytics.size(); ++i) {
            const AnalyticSpec& a = p.analytics[i];
            if (a.buffer_rows < 1) throw std::invalid_argument("ROWS window: BUFFER needs at least 1 row");
            uint32_t ring = a.buffer_rows;
            if (a.kind == AnalyticKind::Lag) {
                if (a.offset < 1 || static_cast<uint64_t>(a.offset) >= a.buffer_rows)
                    throw std::invalid_argument("ROWS window: LAG offset " + std::to_string(a.offset) +
                                                " needs BUFFER " + std::to_string(a.offset + 1) + " ROWS or more");
                ring = static_cast<uint32_t>(a.offset) + 1;
            }
            if (a.kind != AnalyticKind::RowNumber && a.arg == kNoExpr)
                throw std::invalid_argument("ROWS window: " + a.text + " has no argument");
            ops.push_back(Op{a.kind, at, ring, a.buffer_rows, i, {}});
            at += (state_size(a.kind) + 7) & ~7u;
        }
        return at;
    }

    const Plan& plan;
    OutBuffer& out;
    ShardCounters& counters;
    detail::RowFormat writer;
    std::vector<Op> ops;  // filled by layout(), before the table is built
    uint32_t block_size;
    GroupTable table;     // partition key -> block
    rows::BlockPool pool;  // ring blocks, in the table's arena
    Arena scratch{16 * 1024};
    std::vector<Value> analytics;  // this row's analytic values (EvalContext::analytics)
    std::vector<Value> row;        // evaluated columns
    std::vector<const Value*> row_ptrs;
    std::vector<Column> columns;
    bool reset_scratch = false;
    uint64_t limit;
    uint64_t written = 0;
};

AnalyticState::AnalyticState(const Plan& plan, OutBuffer& out, ShardCounters& counters)
    : impl_(std::make_unique<Impl>(plan, out, counters)) {}
AnalyticState::~AnalyticState() = default;

void AnalyticState::on_record(uint64_t hash, const uint8_t* key, uint32_t key_len, const Value* fields,
                              int64_t arrival_ms) noexcept {
    using namespace rows;
    Impl& im = *impl_;
    ++im.counters.records_processed;
    if (im.written >= im.limit) return;  // nothing more can come out of this shard
    if (im.reset_scratch) im.scratch.reset();

    const GroupTable::Hit hit = im.table.find_or_insert(hash, key, key_len);
    uint8_t* const block = hit.block;
    if (hit.inserted) std::memset(block, 0, im.block_size);
    uint64_t c;  // the current row's number in its partition, from 0
    std::memcpy(&c, block, sizeof c);
    const uint64_t rows_now = c + 1;
    std::memcpy(block, &rows_now, sizeof rows_now);

    EvalContext ctx = record_context(fields, arrival_ms, &im.scratch, &im.counters.type_mismatch);
    ctx.analytics = im.analytics.data();
    const ExprPool& ex = im.plan.exprs;
    Arena& arena = im.table.arena();
    uint64_t& mismatch = im.counters.type_mismatch;
    Value* const results = im.analytics.data();

    for (Op& op : im.ops) {
        uint8_t* const st = block + op.offset;
        Value& o = results[op.out];
        Value tmp;
        switch (op.kind) {
            case AnalyticKind::RowNumber: put_int(o, static_cast<int64_t>(rows_now)); break;
            case AnalyticKind::LastValue: std::memcpy(&o, &op.arg.value(tmp, ex, ctx), sizeof(Value)); break;
            case AnalyticKind::Lag: {
                auto& r = *reinterpret_cast<Ring*>(st);
                ring_ready(r, op.limit, sizeof(Slot), im.pool);
                slot_store(*ring_at<Slot>(r, r.pos), op.arg.value(tmp, ex, ctx), arena);
                const uint32_t next = ring_next(r.pos, op.limit);
                // limit = k + 1: once full, the slot after the current one holds row c - k.
                if (c + 1 >= op.limit)
                    std::memcpy(&o, &ring_at<Slot>(r, next)->v, sizeof(Value));
                else
                    put_null(o);
                r.pos = next;
                break;
            }
            case AnalyticKind::FirstValue: {
                auto& r = *reinterpret_cast<Ring*>(st);
                ring_ready(r, op.limit, sizeof(Slot), im.pool);
                slot_store(*ring_at<Slot>(r, r.pos), op.arg.value(tmp, ex, ctx), arena);
                const uint32_t next = ring_next(r.pos, op.limit);
                std::memcpy(&o, &ring_at<Slot>(r, c + 1 >= op.limit ? next : 0)->v, sizeof(Value));
                r.pos = next;
                break;
            }
            case AnalyticKind::Count: {
                auto& w = *reinterpret_cast<CountWindow*>(st);
                ring_ready(w.ring, op.limit, 1, im.pool);
                uint8_t& flag = *ring_at<uint8_t>(w.ring, w.ring.pos);
                if (c >= op.limit) w.n -= flag;
                flag = op.arg.value(tmp, ex, ctx).is_null() ? 0 : 1;
                w.n += flag;
                w.ring.pos = ring_next(w.ring.pos, op.limit);
                put_int(o, static_cast<int64_t>(w.n));
                break;
            }
            case AnalyticKind::Sum:
            case AnalyticKind::Avg: {
                auto& w = *reinterpret_cast<SumWindow*>(st);
                ring_ready(w.ring, op.limit, sizeof(Value), im.pool);
                Value& e = *ring_at<Value>(w.ring, w.ring.pos);
                if (c >= op.limit) sum_remove(w, e);
                sum_insert(w, op.arg.value(tmp, ex, ctx), e, mismatch);
                if (w.overflowed) [[unlikely]]
                    sum_rebuild(w);
                w.ring.pos = ring_next(w.ring.pos, op.limit);
                if (op.kind == AnalyticKind::Sum)
                    sum_value(w, o);
                else
                    avg_value(w, o);
                break;
            }
            case AnalyticKind::Min:
                minmax_row<true>(*reinterpret_cast<MinMaxWindow*>(st), op.arg.value(tmp, ex, ctx),
                                 static_cast<uint32_t>(c), op.buffer, arena, im.pool, mismatch, o);
                break;
            case AnalyticKind::Max:
                minmax_row<false>(*reinterpret_cast<MinMaxWindow*>(st), op.arg.value(tmp, ex, ctx),
                                  static_cast<uint32_t>(c), op.buffer, arena, im.pool, mismatch, o);
                break;
        }
    }

    const Value** ptrs = im.row_ptrs.data();
    Value* row = im.row.data();
    const auto n = static_cast<uint32_t>(im.columns.size());
    const Column* cols = im.columns.data();
    for (uint32_t i = 0; i < n; ++i) {
        switch (cols[i].src) {
            case Column::Src::Field: ptrs[i] = fields + cols[i].index; break;
            case Column::Src::Analytic: ptrs[i] = results + cols[i].index; break;
            case Column::Src::Expr:
                cols[i].expr.eval_into(row[i], ex, ctx);
                ptrs[i] = row + i;
                break;
        }
    }
    im.writer.write(im.out, ptrs);
    ++im.counters.rows_out;
    ++im.written;
}

bool AnalyticState::limit_reached() const noexcept { return impl_->written >= impl_->limit; }
std::size_t AnalyticState::partition_count() const noexcept { return impl_->table.size(); }
std::size_t AnalyticState::state_bytes() const noexcept {
    return impl_->table.memory_bytes() + impl_->scratch.reserved_bytes();
}

}  // namespace sluice
