// Stateless queries on the reading shard: WHERE, the columns, one JSON row
// per passing record, and this shard's share of LIMIT.
#include <vector>

#include "eval_util.h"
#include "sluice/exec.h"

namespace sluice {

struct Projector::Impl {
    Impl(const Plan& p, OutBuffer& o, ShardCounters& c)
        : plan(p), out(o), counters(c), writer(p.columns), row(p.columns.size()),
          limit(p.limit.value_or(UINT64_MAX)) {}

    const Plan& plan;
    OutBuffer& out;
    ShardCounters& counters;
    RowWriter writer;
    Arena scratch{16 * 1024};
    std::vector<Value> row;
    uint64_t limit;
    uint64_t written = 0;
};

Projector::Projector(const Plan& plan, OutBuffer& out, ShardCounters& counters)
    : impl_(std::make_unique<Impl>(plan, out, counters)) {}
Projector::~Projector() = default;

bool Projector::on_record(const Value* fields, int64_t arrival_ms) noexcept {
    Impl& im = *impl_;
    ++im.counters.records_processed;  // filtered or past LIMIT, the record was handled
    if (im.written >= im.limit) return false;
    im.scratch.reset();
    EvalContext ctx;
    ctx.fields = fields;
    ctx.arrival_ms = arrival_ms;
    ctx.scratch = &im.scratch;
    ctx.type_mismatch = &im.counters.type_mismatch;
    const Plan& plan = im.plan;
    if (plan.where != kNoExpr && !eval_predicate(plan.exprs, plan.where, ctx)) return true;
    const std::size_t n = im.row.size();
    for (std::size_t i = 0; i < n; ++i) {
        detail::store_value(im.row[i], detail::eval_inline(plan.exprs, plan.columns[i].expr, ctx));
    }
    im.writer.write(im.out, im.row.data());
    ++im.counters.rows_out;
    return ++im.written < im.limit;
}

}  // namespace sluice
