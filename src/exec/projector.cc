// Stateless queries on the reading shard: WHERE, the columns, one JSON row
// per passing record, and this shard's share of LIMIT. WHERE and the columns
// are compiled once (compiled_expr.h): bare fields and `field op constant`
// evaluate inline.
#include <vector>

#include "compiled_expr.h"
#include "eval_util.h"
#include "row_format.h"
#include "sluice/exec.h"

namespace sluice {

using detail::CompiledExpr;

struct Projector::Impl {
    Impl(const Plan& p, OutBuffer& o, ShardCounters& c)
        : plan(p), out(o), counters(c), writer(p.columns), row(p.columns.size()),
          limit(p.limit.value_or(UINT64_MAX)) {
        has_where = p.where != kNoExpr;
        where = CompiledExpr(p.exprs, p.where);
        bool uses_scratch = detail::may_use_scratch(p.exprs, p.where);
        for (const OutputColumn& col : p.columns) {
            columns.emplace_back(p.exprs, col.expr);
            uses_scratch |= detail::may_use_scratch(p.exprs, col.expr);
            const ExprNode& n = p.exprs.nodes[col.expr];
            if (n.op == ExprOp::Field)
                column_fields.push_back(n.index);
            else
                all_fields = false;
        }
        reset_scratch = uses_scratch;
    }

    const Plan& plan;
    OutBuffer& out;
    ShardCounters& counters;
    detail::RowFormat writer;
    Arena scratch{16 * 1024};
    std::vector<Value> row;
    std::vector<CompiledExpr> columns;
    std::vector<uint32_t> column_fields;  // when all_fields: the record slot of each column
    bool all_fields = true;               // SELECT of bare fields: rows come straight from the record
    CompiledExpr where;
    bool has_where = false;
    bool reset_scratch = false;  // some expression may leave strings in scratch
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
    if (im.reset_scratch) im.scratch.reset();
    const EvalContext ctx = record_context(fields, arrival_ms, &im.scratch, &im.counters.type_mismatch);
    const ExprPool& pool = im.plan.exprs;
    if (im.has_where && !im.where.holds(pool, ctx)) return true;
    if (im.all_fields) [[likely]] {
        im.writer.write(im.out, fields, im.column_fields.data());
    } else {
        Value* row = im.row.data();
        const auto n = static_cast<uint32_t>(im.columns.size());
        const CompiledExpr* columns = im.columns.data();
        for (uint32_t i = 0; i < n; ++i) columns[i].eval_into(row[i], pool, ctx);
        im.writer.write(im.out, row);
    }
    ++im.counters.rows_out;
    return ++im.written < im.limit;
}

}  // namespace sluice
