// The reading shard's half of an aggregate query: filter, key bytes + hash,
// event time and aggregate arguments, ready to route to the owning shard.
#include <cmath>
#include <vector>

#include "eval_util.h"
#include "sluice/base.h"
#include "sluice/exec.h"

namespace sluice {

struct Prepare::Impl {
    explicit Impl(const Plan& p)
        : plan(p), keys(p.group_keys.size()), args(p.aggs.size()), key_bytes(64) {}

    const Plan& plan;
    Arena scratch{16 * 1024};
    std::vector<Value> keys;
    std::vector<Value> args;
    std::vector<uint8_t> key_bytes;  // grows only when a longer key appears
};

Prepare::Prepare(const Plan& plan) : impl_(std::make_unique<Impl>(plan)) {}
Prepare::~Prepare() = default;

namespace {

constexpr double kTwo63 = 9223372036854775808.0;

// Event time in ms: an Int, or a Double without fraction (JSON writers emit 1.7e12).
bool event_time(const Value& v, int64_t& out) noexcept {
    if (v.type == Type::Int) {
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
    const Plan& plan = im.plan;
    im.scratch.reset();
    EvalContext ctx;
    ctx.fields = fields;
    ctx.arrival_ms = arrival_ms;
    ctx.scratch = &im.scratch;
    ctx.type_mismatch = &counters.type_mismatch;

    if (plan.where != kNoExpr && !eval_predicate(plan.exprs, plan.where, ctx)) return Outcome::Filtered;

    // The time first: a record without a usable time is dropped before its
    // key and arguments could count mismatches of their own.
    out.ts = arrival_ms;  // non-windowed queries age groups (state.ttl) by arrival
    if (plan.window.kind != WindowKind::None) {
        // A NULL or missing time cannot place the record in a window: counted as well.
        if (!event_time(detail::eval_inline(plan.exprs, plan.window.time, ctx), out.ts)) {
            ++counters.type_mismatch;
            return Outcome::Filtered;
        }
    }

    const auto nkeys = static_cast<uint32_t>(im.keys.size());
    for (uint32_t k = 0; k < nkeys; ++k) {
        detail::store_value(im.keys[k], detail::eval_inline(plan.exprs, plan.group_keys[k], ctx));
    }
    auto cap = static_cast<uint32_t>(im.key_bytes.size());
    uint32_t len = encode_key(im.keys.data(), nkeys, im.key_bytes.data(), cap);
    if (len > cap) {
        im.key_bytes.resize(len < 2 * cap ? 2 * cap : len);
        len = encode_key(im.keys.data(), nkeys, im.key_bytes.data(), static_cast<uint32_t>(im.key_bytes.size()));
    }
    out.key = im.key_bytes.data();
    out.key_len = len;
    out.hash = hash64(im.key_bytes.data(), len);

    const auto nargs = static_cast<uint32_t>(im.args.size());
    for (uint32_t a = 0; a < nargs; ++a) {
        const ExprId e = plan.aggs[a].arg;
        detail::store_value(im.args[a], e == kNoExpr ? Value::null() : detail::eval_inline(plan.exprs, e, ctx));
    }
    out.args = im.args.data();
    out.nargs = nargs;
    return Outcome::Ready;
}

}  // namespace sluice
