// The reading shard's half of an aggregate query: filter, key bytes + hash,
// event time and aggregate arguments, ready to route to the owning shard.
// Every expression is compiled once (compiled_expr.h); the key is encoded
// value by value straight into the key buffer and hashed inline, so a record
// costs no calls unless its expressions need the general evaluator.
#include <cmath>
#include <cstring>
#include <vector>

#include "compiled_expr.h"
#include "eval_util.h"
#include "key_encoder.h"
#include "sluice/base.h"
#include "sluice/exec.h"

namespace sluice {

using detail::CompiledExpr;

struct Prepare::Impl {
    explicit Impl(const Plan& p) : plan(p), key(p.exprs, p.group_keys), arg_values(p.aggs.size()) {
        const ExprPool& pool = p.exprs;
        has_where = p.where != kNoExpr;
        where = CompiledExpr(pool, p.where);
        // The event time: the window's time column, or the 'timestamp'
        // property of a query without a window (state.ttl).
        const ExprId t = p.window.kind != WindowKind::None ? p.window.time : p.event_time;
        timed = t != kNoExpr;
        if (timed) {
            time = CompiledExpr(pool, t);
            if (pool.nodes[t].op == ExprOp::Field) time_field = pool.nodes[t].index;
        }
        bool uses_scratch = detail::may_use_scratch(pool, p.where) || (timed && detail::may_use_scratch(pool, t)) ||
                            key.may_use_scratch_memory();
        for (uint32_t a = 0; a < p.aggs.size(); ++a) {
            const ExprId e = p.aggs[a].arg;
            if (e == kNoExpr) continue;  // COUNT(*): its slot stays NULL
            if (pool.nodes[e].op == ExprOp::Field) {
                field_args.push_back(FieldArg{a, pool.nodes[e].index});
            } else {
                expr_args.push_back(ExprArg{a, CompiledExpr(pool, e)});
                uses_scratch |= detail::may_use_scratch(pool, e);
            }
        }
        reset_scratch = uses_scratch;
    }

    struct FieldArg {
        uint32_t slot;   // in arg_values
        uint32_t field;  // record slot
    };
    struct ExprArg {
        uint32_t slot;
        CompiledExpr expr;
    };

    const Plan& plan;
    Arena scratch{16 * 1024};
    bool reset_scratch = false;  // some expression may leave strings in scratch
    bool has_where = false;
    bool timed = false;  // the record carries an event time from a column
    static constexpr uint32_t kNoField = UINT32_MAX;
    uint32_t time_field = kNoField;  // the window's time column, when it is a bare field
    CompiledExpr where;
    CompiledExpr time;
    detail::KeyEncoder key;
    std::vector<FieldArg> field_args;  // aggregate arguments that are bare fields: copied
    std::vector<ExprArg> expr_args;    // the others: evaluated
    std::vector<Value> arg_values;     // one per Plan::aggs (COUNT(*) slots stay NULL)
};

Prepare::Prepare(const Plan& plan) : impl_(std::make_unique<Impl>(plan)) {}
Prepare::~Prepare() = default;

namespace {

constexpr double kTwo63 = 9223372036854775808.0;

// Event time in ms: an Int, or a Double without fraction (JSON writers emit 1.7e12).
inline bool event_time(const Value& v, int64_t& out) noexcept {
    if (v.type == Type::Int) [[likely]] {
        out = v.i;
        return true;
    }
    if (v.type == Type::Double && v.d >= -kTwo63 && v.d < kTwo63 && std::trunc(v.d) == v.d) {
        out = static_cast<int64_t>(v.d);
        return true;
    }
    return false;
}

}  // namespace

Prepare::Outcome Prepare::run(const Value* fields, int64_t arrival_ms, PreparedRecord& out,
                              ShardCounters& counters) noexcept {
    Impl& im = *impl_;
    const ExprPool& pool = im.plan.exprs;
    if (im.reset_scratch) im.scratch.reset();
    const EvalContext ctx = record_context(fields, arrival_ms, &im.scratch, &counters.type_mismatch);

    if (im.has_where && !im.where.holds(pool, ctx)) return Outcome::Filtered;

    // The time first: a record without a usable time is dropped before its
    // key and arguments could count mismatches of their own.
    out.ts = arrival_ms;  // without an event-time column, groups age (state.ttl) by arrival
    if (im.timed) {
        // A NULL or missing time cannot place the record in time: counted as well.
        Value tmp;
        const Value& t = im.time_field != Impl::kNoField ? fields[im.time_field] : im.time.value(tmp, pool, ctx);
        if (!event_time(t, out.ts)) [[unlikely]] {
            ++counters.type_mismatch;
            return Outcome::Filtered;
        }
    }

    out.key_len = im.key.encode(fields, pool, ctx);
    out.key = im.key.data();
    out.hash = hash64(out.key, out.key_len);

    Value* values = im.arg_values.data();
    for (const Impl::FieldArg& a : im.field_args) std::memcpy(values + a.slot, fields + a.field, sizeof(Value));
    for (const Impl::ExprArg& a : im.expr_args) a.expr.eval_into(values[a.slot], pool, ctx);
    out.args = values;
    out.nargs = static_cast<uint32_t>(im.arg_values.size());
    return Outcome::Ready;
}

}  // namespace sluice
