#include "planner.h"

#include <algorithm>
#include <limits>
#include <map>
#include <new>
#include <set>
#include <utility>
#include <vector>

#include "ast.h"
#include "catalog.h"
#include "duration.h"
#include "parser.h"

namespace sluice::sql {

namespace {

// Where an expression is evaluated decides what it may contain (plan.h:
// pre-aggregation contexts see fields, post-aggregation ones keys and aggregates).
enum class Ctx : uint8_t {
    Where,
    GroupKey,
    AggArg,
    WindowTime,
    Column,       // a column of a stateless query
    AnalyticArg,  // argument, PARTITION BY or ORDER BY of a ROWS window function
    Post,         // HAVING and columns of an aggregate query
};

// A SLIDING window puts every record in ceil(size / advance) windows, and
// each costs work and state: beyond this the query is refused (SLIDING(1d,
// 1ms) put 86,400,000 windows in every record and ran out of memory).
constexpr int64_t kMaxWindowsPerRecord = 10000;

constexpr std::string_view kPropertyList =
    "watermark.max_out_of_orderness, watermark.idle_timeout, window.allowed_lateness, late.data.strategy, "
    "state.ttl, timestamp";

// The aggregate a call denotes; ROWS-window calls (OVER) are not aggregates.
std::optional<AggKind> aggregate_of(const Ast& a) {
    if (a.kind != AstKind::Call || a.over) return std::nullopt;
    return aggregate_kind(a.name, a.star, a.distinct_arg);
}

std::string special_name(SpecialColumn s) {
    switch (s) {
        case SpecialColumn::WindowStart: return "_WINDOW_START";
        case SpecialColumn::WindowEnd: return "_WINDOW_END";
        case SpecialColumn::Timestamp: return "_TIMESTAMP";
        case SpecialColumn::Partition: return "_PARTITION";
        case SpecialColumn::Offset: return "_OFFSET";
    }
    return "";
}

// Calls f on every node of the tree, OVER clauses included.
template <class F>
void for_each_node(Ast& a, F& f) {
    f(a);
    for (AstPtr& c : a.args) for_each_node(*c, f);
    if (a.over) {
        for (AstPtr& c : a.over->partition_by) for_each_node(*c, f);
        if (a.over->order_by) for_each_node(*a.over->order_by, f);
    }
}

bool contains_aggregate(const Ast& a) {
    if (aggregate_of(a)) return true;
    for (const AstPtr& c : a.args) {
        if (contains_aggregate(*c)) return true;
    }
    return false;
}

class Planner {
public:
    explicit Planner(Statement& st) : st_(st) {}

    Result<Plan> run() {
        Plan& plan = plan_;
        plan.stream_name = st_.stream_name;
        plan.source_name = st_.from;
        plan.distinct = st_.distinct;
        plan.limit = st_.limit;

        strip_qualifier();
        aggregate_ = !st_.group_by.empty() || st_.window.has_value() || any_aggregate();
        if (st_.distinct && !plan_distinct()) return take_error();
        if (st_.having && !aggregate_) {
            fail(st_.having_pos, "HAVING needs GROUP BY, a WINDOW or an aggregate");
            return take_error();
        }
        if (!resolve_group_by()) return take_error();
        if (st_.having) substitute_having_aliases(st_.having);
        assign_field_slots();

        // Clause order, except that the columns need the group keys first.
        if (!plan_where() || !plan_group_keys() || !plan_window() || !plan_columns() || !plan_having() ||
            !plan_properties()) {
            return take_error();
        }
        plan.emit = st_.emit.value_or(st_.window ? EmitMode::Final : EmitMode::Changes);
        plan.emit_explicit = st_.emit.has_value();
        return std::move(plan_);
    }

private:
    Error take_error() { return err_ ? *err_ : error_at(SrcPos{}, "planning failed"); }

    bool fail(SrcPos pos, std::string_view message) {
        if (!err_) err_ = error_at(pos, message);
        return false;
    }
    ExprId fail_id(SrcPos pos, std::string_view message) {
        fail(pos, message);
        return kNoExpr;
    }

    template <class F>
    void for_each_tree(F& f) {
        for (SelectItem& item : st_.items) for_each_node(*item.expr, f);
        if (st_.where) for_each_node(*st_.where, f);
        for (AstPtr& key : st_.group_by) for_each_node(*key, f);
        if (st_.window) for_each_node(*st_.window->time, f);
        if (st_.having) for_each_node(*st_.having, f);
    }

    // `t.x` where t names the stream (its alias, else its name) is the field x.
    void strip_qualifier() {
        const std::string& qualifier = st_.from_alias.empty() ? st_.from : st_.from_alias;
        auto strip = [&](Ast& a) {
            if (a.kind == AstKind::Column && a.path.size() > 1 && a.path.front() == qualifier) {
                a.path.erase(a.path.begin());
            }
        };
        for_each_tree(strip);
    }

    // SELECT DISTINCT of a stateless query is a GROUP BY over its columns
    // that emits a group's row once, when the group appears (Plan::distinct).
    bool plan_distinct() {
        if (aggregate_) {
            return fail(st_.distinct_pos,
                        "SELECT DISTINCT applies to queries without GROUP BY, WINDOW or aggregates "
                        "(their rows are one per group already)");
        }
        for (const SelectItem& item : st_.items) {
            bool over = false;
            auto find_over = [&](Ast& n) { over |= n.kind == AstKind::Call && n.over != nullptr; };
            for_each_node(*item.expr, find_over);
            if (over) return fail(st_.distinct_pos, "SELECT DISTINCT cannot be combined with ROWS window functions");
            st_.group_by.push_back(ast_clone(*item.expr));
        }
        aggregate_ = true;
        return true;
    }

    bool any_aggregate() const {
        for (const SelectItem& item : st_.items) {
            if (contains_aggregate(*item.expr)) return true;
        }
        return st_.having && contains_aggregate(*st_.having);
    }

    const SelectItem* find_alias(const std::string& name) const {
        for (const SelectItem& item : st_.items) {
            if (item.has_alias && item.alias == name) return &item;
        }
        return nullptr;
    }

    // GROUP BY may name a select alias or a 1-based select position; the
    // alias wins over a field of the same name, since records have no schema
    // to tell them apart.
    bool resolve_group_by() {
        std::vector<AstPtr> keys;
        for (AstPtr& key : st_.group_by) {
            const SrcPos pos = key->pos;
            if (key->kind == AstKind::Literal && key->lit_type == Type::Int) {
                const int64_t n = key->i;
                if (n < 1 || n > static_cast<int64_t>(st_.items.size())) {
                    return fail(pos, "GROUP BY position " + std::to_string(n) + " is not in the select list (1.." +
                                         std::to_string(st_.items.size()) + ")");
                }
                key = ast_clone(*st_.items[static_cast<std::size_t>(n - 1)].expr);
            } else if (key->kind == AstKind::Column && key->path.size() == 1) {
                if (const SelectItem* item = find_alias(key->path[0])) key = ast_clone(*item->expr);
            }
            if (contains_aggregate(*key)) return fail(pos, "aggregate functions are not allowed in GROUP BY");
            const bool duplicate = std::any_of(keys.begin(), keys.end(),
                                               [&](const AstPtr& k) { return ast_equal(*k, *key); });
            if (!duplicate) keys.push_back(std::move(key));
        }
        st_.group_by = std::move(keys);
        return true;
    }

    bool is_group_key(const Ast& a) const {
        return std::any_of(st_.group_by.begin(), st_.group_by.end(),
                           [&](const AstPtr& k) { return ast_equal(*k, a); });
    }

    // HAVING may name a select alias (`HAVING total > 250`) when that name is
    // not a group key; aggregate arguments keep reading fields.
    void substitute_having_aliases(AstPtr& a) {
        if (a->kind == AstKind::Column && a->path.size() == 1) {
            if (is_group_key(*a)) return;
            if (const SelectItem* item = find_alias(a->path[0])) a = ast_clone(*item->expr);
            return;
        }
        if (aggregate_of(*a)) return;
        for (AstPtr& c : a->args) substitute_having_aliases(c);
    }

    // One slot per distinct path, numbered in order of first appearance in the text.
    void assign_field_slots() {
        std::map<std::vector<std::string>, SrcPos> first_seen;
        auto collect = [&](Ast& a) {
            if (a.kind != AstKind::Column) return;
            auto [it, inserted] = first_seen.emplace(a.path, a.pos);
            if (!inserted && a.pos < it->second) it->second = a.pos;
        };
        for_each_tree(collect);
        std::vector<std::pair<SrcPos, const std::vector<std::string>*>> order;
        order.reserve(first_seen.size());
        for (const auto& [path, pos] : first_seen) order.emplace_back(pos, &path);
        std::stable_sort(order.begin(), order.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        for (const auto& [pos, path] : order) {
            slots_.emplace(*path, static_cast<uint32_t>(plan_.fields.size()));
            plan_.fields.push_back(FieldPath{*path, dotted(*path)});
        }
    }

    // ------------------------------------------------------------ clauses

    bool plan_window() {
        if (!st_.window) return true;
        const WindowClause& w = *st_.window;
        WindowSpec& spec = plan_.window;
        const Ast& time = *w.time;
        const bool usable = time.kind == AstKind::Column ||
                            (time.kind == AstKind::Special && time.special == SpecialColumn::Timestamp);
        if (!usable) {
            return fail(time.pos, "the window time column must be a field or _TIMESTAMP, found '" +
                                      text_of(st_, time) + "'");
        }
        spec.kind = w.kind;
        spec.time = build(time, Ctx::WindowTime);
        if (w.kind == WindowKind::Session) {
            if (w.size_ms <= 0) return fail(w.size_pos, "the SESSION gap must be greater than 0");
            spec.gap_ms = w.size_ms;
            return true;
        }
        if (w.size_ms <= 0) return fail(w.size_pos, "the window size must be greater than 0");
        spec.size_ms = w.size_ms;
        if (w.kind == WindowKind::Sliding) {
            if (w.advance_ms <= 0) return fail(w.advance_pos, "the window advance must be greater than 0");
            if (w.advance_ms > w.size_ms) {
                return fail(w.advance_pos, "the window advance must not be larger than its size");
            }
            const int64_t per_record = w.size_ms / w.advance_ms + (w.size_ms % w.advance_ms != 0 ? 1 : 0);
            if (per_record > kMaxWindowsPerRecord) {
                return fail(w.advance_pos, "the window advance is too small: every record would be in " +
                                               std::to_string(per_record) + " windows (at most " +
                                               std::to_string(kMaxWindowsPerRecord) + ")");
            }
            spec.advance_ms = w.advance_ms;
        }
        return true;
    }

    bool plan_where() {
        if (st_.where) plan_.where = build(*st_.where, Ctx::Where);
        return !err_;
    }

    bool plan_group_keys() {
        for (const AstPtr& key : st_.group_by) {
            const ExprId id = build(*key, Ctx::GroupKey);
            if (err_) return false;
            plan_.group_keys.push_back(id);
            plan_.group_key_text.push_back(text_of(st_, *key));
        }
        return true;
    }

    bool plan_columns() {
        std::set<std::string> names;
        for (const SelectItem& item : st_.items) {
            const ExprId id = build(*item.expr, aggregate_ ? Ctx::Post : Ctx::Column);
            if (err_) return false;
            std::string name;
            if (item.has_alias) {
                name = item.alias;
            } else if (item.expr->kind == AstKind::Column) {
                name = dotted(item.expr->path);
            } else {
                name = text_of(st_, *item.expr);
            }
            if (!names.insert(name).second) {
                return fail(item.has_alias ? item.alias_pos : item.expr->pos,
                            "duplicate output column name '" + name + "' (rename one with AS)");
            }
            plan_.columns.push_back(OutputColumn{std::move(name), id});
        }
        return true;
    }

    bool plan_having() {
        if (st_.having) plan_.having = build(*st_.having, Ctx::Post);
        return !err_;
    }

    std::optional<int64_t> property_duration(const Property& p, const std::string& key) {
        const auto ms = parse_duration_string(p.value);
        if (!ms) {
            fail(p.value_pos, "invalid duration '" + p.value + "' for '" + key + "' (expected e.g. '2s', '500ms', '1m')");
        }
        return ms;
    }

    // The event-time column of a query without a window ('timestamp'): a
    // field path or _TIMESTAMP.
    ExprId event_time_column(const std::string& name) {
        if (to_lower(name) == "_timestamp") return add_node(ExprOp::ArrivalTime, Type::Int);
        std::vector<std::string> path;
        std::size_t from = 0;
        for (;;) {
            const std::size_t dot = name.find('.', from);
            path.push_back(name.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
            if (dot == std::string::npos) break;
            from = dot + 1;
        }
        auto [it, inserted] = slots_.emplace(path, static_cast<uint32_t>(plan_.fields.size()));
        if (inserted) plan_.fields.push_back(FieldPath{path, name});
        return add_node(ExprOp::Field, Type::Null, {}, it->second);
    }

    bool plan_properties() {
        Properties& props = plan_.props;
        std::set<std::string> seen;
        for (const Property& p : st_.props) {
            const std::string key = to_lower(p.key);
            if (!seen.insert(key).second) return fail(p.key_pos, "property '" + p.key + "' is set more than once");
            if (key == "watermark.max_out_of_orderness") {
                const auto ms = property_duration(p, key);
                if (!ms) return false;
                props.max_out_of_orderness_ms = *ms;
            } else if (key == "watermark.idle_timeout") {
                const auto ms = property_duration(p, key);
                if (!ms) return false;
                if (*ms == 0) return fail(p.value_pos, "'watermark.idle_timeout' must be greater than 0");
                props.idle_timeout_ms = *ms;
            } else if (key == "window.allowed_lateness") {
                const auto ms = property_duration(p, key);
                if (!ms) return false;
                if (!st_.window) return fail(p.key_pos, "'window.allowed_lateness' applies only to windowed queries");
                props.allowed_lateness_ms = *ms;
            } else if (key == "late.data.strategy") {
                const std::string value = to_lower(p.value);
                if (value == "drop") {
                    props.late_strategy = LateStrategy::Drop;
                } else if (value == "dead_letter") {
                    props.late_strategy = LateStrategy::DeadLetter;
                } else {
                    return fail(p.value_pos, "invalid value '" + p.value +
                                                 "' for 'late.data.strategy' (expected 'drop' or 'dead_letter')");
                }
            } else if (key == "state.ttl") {
                const auto ms = property_duration(p, key);
                if (!ms) return false;
                if (*ms == 0) return fail(p.value_pos, "'state.ttl' must be greater than 0");
                if (st_.window || st_.group_by.empty()) {
                    return fail(p.key_pos, "'state.ttl' applies only to GROUP BY queries without a window");
                }
                props.state_ttl_ms = *ms;
            } else if (key == "timestamp") {
                if (st_.window) {
                    return fail(p.key_pos, "'timestamp' applies to queries without a window (the window names its time column)");
                }
                plan_.event_time = event_time_column(p.value);
            } else {
                return fail(p.key_pos, "unknown property '" + p.key + "' (known: " + std::string(kPropertyList) + ")");
            }
        }
        return true;
    }

    // ------------------------------------------------------------ expressions

    Type type_of(ExprId id) const { return plan_.exprs.nodes[id].type; }

    ExprId add_node(ExprOp op, Type type, const std::vector<ExprId>& args = {}, uint32_t index = 0,
                    uint8_t aux = 0) {
        ExprPool& pool = plan_.exprs;
        ExprNode n;
        n.op = op;
        n.aux = aux;
        n.nargs = static_cast<uint16_t>(args.size());
        n.first_arg = static_cast<uint32_t>(pool.args.size());
        n.index = index;
        n.type = type;
        pool.args.insert(pool.args.end(), args.begin(), args.end());
        pool.nodes.push_back(n);
        return static_cast<ExprId>(pool.nodes.size() - 1);
    }

    ExprId add_const(const Ast& lit) {
        ExprPool& pool = plan_.exprs;
        Value v;
        switch (lit.lit_type) {
            case Type::Null: break;
            case Type::Bool: v = Value::of_bool(lit.b); break;
            case Type::Int: v = Value::of_int(lit.i); break;
            case Type::Double: v = Value::of_double(lit.d); break;
            case Type::String:
                pool.const_strings.push_back(lit.s);
                v = Value::of_string(pool.const_strings.back());
                break;
        }
        pool.consts.push_back(v);
        return add_node(ExprOp::Const, lit.lit_type, {}, static_cast<uint32_t>(pool.consts.size() - 1));
    }

    bool build_args(const Ast& a, Ctx ctx, std::vector<ExprId>& ids, std::vector<Type>& types) {
        if (a.args.size() >= kVariadic) return fail(a.pos, "too many arguments (at most 65534)");
        for (const AstPtr& c : a.args) {
            const ExprId id = build(*c, ctx);
            if (err_) return false;
            ids.push_back(id);
            types.push_back(type_of(id));
        }
        return true;
    }

    ExprId build(const Ast& a, Ctx ctx) {
        if (err_) return kNoExpr;
        if (ctx == Ctx::Post) {
            for (std::size_t k = 0; k < st_.group_by.size(); ++k) {
                if (ast_equal(a, *st_.group_by[k])) {
                    const ExprId key = plan_.group_keys[k];
                    return add_node(ExprOp::KeyRef, type_of(key), {}, static_cast<uint32_t>(k));
                }
            }
        }
        switch (a.kind) {
            case AstKind::Literal: return add_const(a);
            case AstKind::Column:
                if (ctx == Ctx::Post) {
                    return fail_id(a.pos, "column '" + dotted(a.path) +
                                              "' must appear in GROUP BY or inside an aggregate");
                }
                return add_node(ExprOp::Field, Type::Null, {}, slots_.at(a.path));
            case AstKind::Special: return build_special(a, ctx);
            case AstKind::Call: return build_call(a, ctx);
            default: break;
        }
        std::vector<ExprId> ids;
        std::vector<Type> types;
        if (!build_args(a, ctx, ids, types)) return kNoExpr;
        switch (a.kind) {
            case AstKind::Unary: {
                const Type t = a.op == ExprOp::Not ? Type::Bool : (is_numeric(types[0]) ? types[0] : Type::Null);
                return add_node(a.op, t, ids);
            }
            case AstKind::Binary: {
                Type t = Type::Bool;
                switch (a.op) {
                    case ExprOp::Add:
                    case ExprOp::Sub:
                    case ExprOp::Mul:
                    case ExprOp::Div:
                    case ExprOp::Mod: t = arithmetic_type(types[0], types[1]); break;
                    case ExprOp::Concat: t = Type::String; break;
                    default: break;
                }
                return add_node(a.op, t, ids);
            }
            case AstKind::IsNull:
            case AstKind::In:
            case AstKind::Between:
            case AstKind::Like: return add_node(a.op, Type::Bool, ids);
            case AstKind::Case: {
                std::vector<Type> results;
                for (std::size_t k = 1; k < types.size(); k += 2) results.push_back(types[k]);
                if (a.has_else) results.push_back(types.back());
                return add_node(ExprOp::Case, same_type(results), ids, 0, a.has_else ? 1 : 0);
            }
            case AstKind::Cast:
                return add_node(ExprOp::Cast, a.cast_to, ids, 0, static_cast<uint8_t>(a.cast_to));
            default: break;
        }
        return fail_id(a.pos, "unsupported expression");
    }

    ExprId build_special(const Ast& a, Ctx ctx) {
        const std::string name = special_name(a.special);
        if (a.special == SpecialColumn::Timestamp) {
            if (ctx == Ctx::Post) {
                return fail_id(a.pos, "column '" + name + "' must appear in GROUP BY or inside an aggregate");
            }
            return add_node(ExprOp::ArrivalTime, Type::Int);
        }
        if (a.special == SpecialColumn::Partition || a.special == SpecialColumn::Offset) {
            if (ctx == Ctx::Post) {
                return fail_id(a.pos, "column '" + name + "' must appear in GROUP BY or inside an aggregate");
            }
            // A slot of its own that the decoder never fills: the source does.
            const FieldMeta meta = a.special == SpecialColumn::Partition ? FieldMeta::Partition : FieldMeta::Offset;
            uint32_t slot = static_cast<uint32_t>(plan_.fields.size());
            for (uint32_t k = 0; k < plan_.fields.size(); ++k)
                if (plan_.fields[k].meta == meta) slot = k;
            if (slot == plan_.fields.size()) plan_.fields.push_back(FieldPath{{}, name, meta});
            return add_node(ExprOp::Field, Type::Null, {}, slot);
        }
        if (!st_.window) return fail_id(a.pos, name + " is only valid in windowed queries");
        if (ctx != Ctx::Post) {
            return fail_id(a.pos, name + " is only available in the SELECT list and HAVING (after aggregation)");
        }
        return add_node(a.special == SpecialColumn::WindowStart ? ExprOp::WindowStart : ExprOp::WindowEnd,
                        Type::Int);
    }

    ExprId build_call(const Ast& a, Ctx ctx) {
        if (a.name == "LEAD") {
            return fail_id(a.pos, "LEAD needs future rows; ROWS windows support " + std::string(kAnalyticList));
        }
        if (a.over) return build_analytic(a, ctx);
        if (const auto kind = aggregate_of(a)) return build_aggregate(a, *kind, ctx);
        if (a.name == "LAG" || a.name == "ROW_NUMBER" || a.name == "FIRST_VALUE" || a.name == "LAST_VALUE") {
            return fail_id(a.pos, a.name + " needs OVER (ROWS WINDOW BUFFER n ROWS ...)");
        }
        return build_scalar(a, ctx);
    }

    ExprId build_aggregate(const Ast& a, AggKind kind, Ctx ctx) {
        switch (ctx) {
            case Ctx::Post: break;
            case Ctx::AggArg: return fail_id(a.pos, "aggregate functions cannot be nested");
            case Ctx::Where:
                return fail_id(a.pos, "aggregate functions are not allowed in WHERE (filter groups with HAVING)");
            case Ctx::GroupKey: return fail_id(a.pos, "aggregate functions are not allowed in GROUP BY");
            case Ctx::AnalyticArg:
                return fail_id(a.pos, "aggregate functions are not allowed inside a ROWS window function");
            case Ctx::WindowTime:
            case Ctx::Column: return fail_id(a.pos, "aggregate functions are not allowed here");
        }
        if (a.star && kind != AggKind::CountStar) return fail_id(a.pos, "'*' is only allowed in COUNT(*)");
        if (a.distinct_arg && kind != AggKind::CountDistinct) {
            return fail_id(a.pos, "DISTINCT is only supported in COUNT(DISTINCT x)");
        }
        if (kind != AggKind::CountStar && a.args.size() != 1) {
            return fail_id(a.pos, a.name + " takes exactly one argument, found " + std::to_string(a.args.size()));
        }
        const Ast* arg = kind == AggKind::CountStar ? nullptr : a.args[0].get();
        for (std::size_t j = 0; j < seen_aggs_.size(); ++j) {
            const AggSeen& s = seen_aggs_[j];
            if (s.kind == kind && (s.arg == nullptr ? arg == nullptr : arg != nullptr && ast_equal(*s.arg, *arg))) {
                return add_node(ExprOp::AggRef, agg_types_[j], {}, static_cast<uint32_t>(j));
            }
        }
        AggSpec spec;
        spec.kind = kind;
        spec.text = text_of(st_, a);
        Type arg_type = Type::Null;
        if (arg) {
            spec.arg = build(*arg, Ctx::AggArg);
            if (err_) return kNoExpr;
            arg_type = type_of(spec.arg);
        }
        plan_.aggs.push_back(std::move(spec));
        seen_aggs_.push_back(AggSeen{kind, arg});
        agg_types_.push_back(aggregate_type(kind, arg_type));
        return add_node(ExprOp::AggRef, agg_types_.back(), {}, static_cast<uint32_t>(plan_.aggs.size() - 1));
    }

    static bool same_partitioning(const OverClause& x, const OverClause& y) {
        if (x.partition_by.size() != y.partition_by.size()) return false;
        for (std::size_t i = 0; i < x.partition_by.size(); ++i) {
            if (!ast_equal(*x.partition_by[i], *y.partition_by[i])) return false;
        }
        return true;
    }

    ExprId build_analytic(const Ast& a, Ctx ctx) {
        const OverClause& over = *a.over;
        if (ctx != Ctx::Column) {
            if (aggregate_) {
                return fail_id(over.pos,
                               "ROWS window functions (OVER) cannot be combined with GROUP BY, WINDOW or aggregates");
            }
            if (ctx == Ctx::AnalyticArg) return fail_id(over.pos, "ROWS window functions cannot be nested");
            if (ctx == Ctx::Where) return fail_id(over.pos, "ROWS window functions are not allowed in WHERE");
            return fail_id(over.pos, "ROWS window functions are only allowed in the SELECT list");
        }
        const auto kind = analytic_kind(a.name);
        if (!kind) {
            return fail_id(a.pos, a.name + " cannot be used with OVER; ROWS windows support " +
                                      std::string(kAnalyticList));
        }
        if (a.star) return fail_id(a.pos, a.name + "(*) OVER (...) is not supported; name a field, e.g. COUNT(x)");
        if (a.distinct_arg) return fail_id(a.pos, "DISTINCT is not allowed in ROWS window functions");
        const std::size_t min_args = *kind == AnalyticKind::RowNumber ? 0 : 1;
        const std::size_t max_args = *kind == AnalyticKind::RowNumber ? 0 : *kind == AnalyticKind::Lag ? 2 : 1;
        if (a.args.size() < min_args || a.args.size() > max_args) {
            const std::string expect = max_args == 0   ? "no arguments"
                                       : min_args == max_args ? "exactly one argument"
                                                              : "1 or 2 arguments";
            return fail_id(a.pos, a.name + " takes " + expect + ", found " + std::to_string(a.args.size()));
        }
        if (over.buffer_rows < 1) return fail_id(over.buffer_pos, "BUFFER needs at least 1 row");
        if (over.buffer_rows > std::numeric_limits<uint32_t>::max()) {
            return fail_id(over.buffer_pos, "BUFFER is too large (at most 4294967295 rows)");
        }
        int64_t offset = 1;
        if (*kind == AnalyticKind::Lag && a.args.size() == 2) {
            const Ast& k = *a.args[1];
            if (k.kind != AstKind::Literal || k.lit_type != Type::Int || k.i < 1) {
                return fail_id(k.pos, "the LAG offset must be a positive integer constant");
            }
            offset = k.i;
        }
        if (*kind == AnalyticKind::Lag && static_cast<uint64_t>(offset) >= over.buffer_rows) {
            // The buffer holds the current row and the ones before it.
            return fail_id(over.buffer_pos, "LAG offset " + std::to_string(offset) + " needs BUFFER " +
                                                std::to_string(offset + 1) + " ROWS or more");
        }
        if (over.descending) {
            return fail_id(over.descending_pos,
                           "ORDER BY ... DESC is not supported in ROWS windows: rows are kept in arrival order");
        }
        if (!seen_analytics_.empty() && !same_partitioning(*seen_analytics_.front()->over, over)) {
            // Rows are routed to the shard that owns their partition key: one key per query.
            return fail_id(over.pos, "every ROWS window function of a query must use the same PARTITION BY");
        }
        for (std::size_t j = 0; j < seen_analytics_.size(); ++j) {
            if (ast_equal(*seen_analytics_[j], a)) {
                return add_node(ExprOp::AnalyticRef, analytic_types_[j], {}, static_cast<uint32_t>(j));
            }
        }
        AnalyticSpec spec;
        spec.kind = *kind;
        spec.offset = offset;
        spec.buffer_rows = static_cast<uint32_t>(over.buffer_rows);
        spec.text = text_of(st_, a);
        Type arg_type = Type::Null;
        if (*kind != AnalyticKind::RowNumber) {
            spec.arg = build(*a.args[0], Ctx::AnalyticArg);
            if (err_) return kNoExpr;
            arg_type = type_of(spec.arg);
        }
        for (const AstPtr& p : over.partition_by) {
            const ExprId id = build(*p, Ctx::AnalyticArg);
            if (err_) return kNoExpr;
            spec.partition_by.push_back(id);
        }
        if (over.order_by) {
            spec.order_by = build(*over.order_by, Ctx::AnalyticArg);
            if (err_) return kNoExpr;
        }
        plan_.analytics.push_back(std::move(spec));
        seen_analytics_.push_back(&a);
        analytic_types_.push_back(analytic_type(*kind, arg_type));
        return add_node(ExprOp::AnalyticRef, analytic_types_.back(), {},
                        static_cast<uint32_t>(plan_.analytics.size() - 1));
    }

    ExprId build_scalar(const Ast& a, Ctx ctx) {
        const FunctionInfo* f = find_function(a.name);
        if (!f) {
            const std::string& written = st_.tokens[a.tok_begin].text;
            return fail_id(a.pos, "unknown function '" + written + "'");
        }
        if (a.star) return fail_id(a.pos, "'*' is only allowed in COUNT(*)");
        if (a.distinct_arg) return fail_id(a.pos, "DISTINCT is only supported in COUNT(DISTINCT x)");
        const std::size_t n = a.args.size();
        if (n < f->min_args || n > f->max_args) {
            std::string expect;
            if (f->max_args == kVariadic) {
                expect = "at least " + std::to_string(f->min_args) + (f->min_args == 1 ? " argument" : " arguments");
            } else if (f->min_args == f->max_args) {
                expect = std::to_string(f->min_args) + (f->min_args == 1 ? " argument" : " arguments");
            } else {
                expect = std::to_string(f->min_args) + " or " + std::to_string(f->max_args) + " arguments";
            }
            return fail_id(a.pos, a.name + " takes " + expect + ", found " + std::to_string(n));
        }
        std::vector<ExprId> ids;
        std::vector<Type> types;
        if (!build_args(a, ctx, ids, types)) return kNoExpr;
        return add_node(ExprOp::Func, function_type(f->func, types), ids, 0, static_cast<uint8_t>(f->func));
    }

    struct AggSeen {
        AggKind kind;
        const Ast* arg;  // nullptr for COUNT(*)
    };

    Statement& st_;
    Plan plan_;
    std::optional<Error> err_;
    bool aggregate_ = false;
    std::map<std::vector<std::string>, uint32_t> slots_;
    std::vector<AggSeen> seen_aggs_;
    std::vector<Type> agg_types_;
    std::vector<const Ast*> seen_analytics_;
    std::vector<Type> analytic_types_;
};

}  // namespace

Result<Plan> plan_query(std::string_view sql) {
    try {
        auto st = parse(sql);
        if (!st) return st.error();
        return Planner(st.value()).run();
    } catch (const std::bad_alloc&) {
        return error_at(SrcPos{}, "out of memory while planning");
    } catch (const std::exception& e) {
        return error_at(SrcPos{}, std::string("internal planner error: ") + e.what());
    }
}

}  // namespace sluice::sql

namespace sluice {

Result<Plan> plan_sql(std::string_view sql) { return sql::plan_query(sql); }

}  // namespace sluice
