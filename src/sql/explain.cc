// `sluice explain`: the plan as text, one fact per line, for people.
#include <charconv>
#include <string>

#include "sluice/sql.h"

namespace sluice {

namespace {

const char* type_label(Type t) {
    switch (t) {
        case Type::Null: return "runtime";
        case Type::Bool: return "BOOLEAN";
        case Type::Int: return "BIGINT";
        case Type::Double: return "DOUBLE";
        case Type::String: return "VARCHAR";
    }
    return "?";
}

const char* agg_label(AggKind k) {
    switch (k) {
        case AggKind::CountStar: return "count rows";
        case AggKind::Count: return "count non-null";
        case AggKind::CountDistinct: return "count distinct (exact)";
        case AggKind::Sum: return "sum";
        case AggKind::Avg: return "average";
        case AggKind::Min: return "min";
        case AggKind::Max: return "max";
        case AggKind::StddevSamp: return "sample stddev";
        case AggKind::StddevPop: return "population stddev";
        case AggKind::VarSamp: return "sample variance";
        case AggKind::VarPop: return "population variance";
        case AggKind::First: return "first non-null";
        case AggKind::Last: return "last non-null";
        case AggKind::ApproxCountDistinct: return "approximate count distinct (HyperLogLog)";
    }
    return "?";
}

const char* analytic_label(AnalyticKind k) {
    switch (k) {
        case AnalyticKind::Lag: return "lag";
        case AnalyticKind::RowNumber: return "row number";
        case AnalyticKind::FirstValue: return "first value";
        case AnalyticKind::LastValue: return "last value";
        case AnalyticKind::Avg: return "average";
        case AnalyticKind::Sum: return "sum";
        case AnalyticKind::Min: return "min";
        case AnalyticKind::Max: return "max";
        case AnalyticKind::Count: return "count";
    }
    return "?";
}

const char* func_name(Func f) {
    switch (f) {
        case Func::Coalesce: return "COALESCE";
        case Func::Nullif: return "NULLIF";
        case Func::Abs: return "ABS";
        case Func::Round: return "ROUND";
        case Func::Floor: return "FLOOR";
        case Func::Ceil: return "CEIL";
        case Func::Sqrt: return "SQRT";
        case Func::Power: return "POWER";
        case Func::Mod: return "MOD";
        case Func::Greatest: return "GREATEST";
        case Func::Least: return "LEAST";
        case Func::Upper: return "UPPER";
        case Func::Lower: return "LOWER";
        case Func::Length: return "LENGTH";
        case Func::Substring: return "SUBSTRING";
        case Func::Trim: return "TRIM";
        case Func::Concat: return "CONCAT";
        case Func::Replace: return "REPLACE";
    }
    return "?";
}

std::string duration_text(int64_t ms) {
    struct Unit {
        int64_t ms;
        const char* suffix;
    };
    static constexpr Unit kUnits[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    if (ms != 0) {
        for (const Unit& u : kUnits) {
            if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.suffix;
        }
    }
    return std::to_string(ms) + "ms";
}

std::string double_text(double d) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, d);
    std::string out(buf, res.ptr);
    if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
    return out;
}

std::string const_text(const Value& v) {
    switch (v.type) {
        case Type::Null: return "NULL";
        case Type::Bool: return v.b ? "TRUE" : "FALSE";
        case Type::Int: return std::to_string(v.i);
        case Type::Double: return double_text(v.d);
        case Type::String: {
            std::string out = "'";
            for (char c : v.str()) {
                if (c == '\'') out.push_back('\'');
                out.push_back(c);
            }
            out.push_back('\'');
            return out;
        }
    }
    return "?";
}

// Binding strength, for parentheses only where the tree needs them.
int precedence(ExprOp op) {
    switch (op) {
        case ExprOp::Or: return 1;
        case ExprOp::And: return 2;
        case ExprOp::Not: return 3;
        case ExprOp::Eq:
        case ExprOp::Ne:
        case ExprOp::Lt:
        case ExprOp::Le:
        case ExprOp::Gt:
        case ExprOp::Ge:
        case ExprOp::IsNull:
        case ExprOp::IsNotNull:
        case ExprOp::In:
        case ExprOp::NotIn:
        case ExprOp::Between:
        case ExprOp::NotBetween:
        case ExprOp::Like:
        case ExprOp::NotLike: return 4;
        case ExprOp::Add:
        case ExprOp::Sub:
        case ExprOp::Concat: return 5;
        case ExprOp::Mul:
        case ExprOp::Div:
        case ExprOp::Mod: return 6;
        case ExprOp::Neg: return 7;
        default: return 8;
    }
}

const char* binary_symbol(ExprOp op) {
    switch (op) {
        case ExprOp::Add: return " + ";
        case ExprOp::Sub: return " - ";
        case ExprOp::Mul: return " * ";
        case ExprOp::Div: return " / ";
        case ExprOp::Mod: return " % ";
        case ExprOp::Concat: return " || ";
        case ExprOp::Eq: return " = ";
        case ExprOp::Ne: return " <> ";
        case ExprOp::Lt: return " < ";
        case ExprOp::Le: return " <= ";
        case ExprOp::Gt: return " > ";
        case ExprOp::Ge: return " >= ";
        case ExprOp::And: return " AND ";
        case ExprOp::Or: return " OR ";
        case ExprOp::Like: return " LIKE ";
        case ExprOp::NotLike: return " NOT LIKE ";
        default: return nullptr;
    }
}

class ExprPrinter {
public:
    explicit ExprPrinter(const Plan& plan) : plan_(plan) {}

    std::string print(ExprId id, int min_prec = 0) const {
        const ExprPool& pool = plan_.exprs;
        if (id >= pool.nodes.size()) return "?";
        const ExprNode& n = pool.node(id);
        std::string s = print_node(n);
        if (precedence(n.op) < min_prec) return "(" + s + ")";
        return s;
    }

private:
    ExprId arg(const ExprNode& n, uint32_t k) const {
        const uint32_t at = n.first_arg + k;
        return at < plan_.exprs.args.size() ? plan_.exprs.args[at] : kNoExpr;
    }

    std::string list(const ExprNode& n, uint32_t from) const {
        std::string out;
        for (uint32_t k = from; k < n.nargs; ++k) {
            if (k > from) out += ", ";
            out += print(arg(n, k));
        }
        return out;
    }

    std::string print_node(const ExprNode& n) const {
        const int p = precedence(n.op);
        switch (n.op) {
            case ExprOp::Const:
                return n.index < plan_.exprs.consts.size() ? const_text(plan_.exprs.consts[n.index]) : "?";
            case ExprOp::Field:
                return n.index < plan_.fields.size() ? plan_.fields[n.index].dotted : "$" + std::to_string(n.index);
            case ExprOp::KeyRef: return "key" + std::to_string(n.index);
            case ExprOp::AggRef: return "agg" + std::to_string(n.index);
            case ExprOp::AnalyticRef: return "rows" + std::to_string(n.index);
            case ExprOp::WindowStart: return "_WINDOW_START";
            case ExprOp::WindowEnd: return "_WINDOW_END";
            case ExprOp::ArrivalTime: return "_TIMESTAMP";
            case ExprOp::Neg: return "-" + print(arg(n, 0), p);
            case ExprOp::Not: return "NOT " + print(arg(n, 0), p);
            case ExprOp::IsNull: return print(arg(n, 0), p + 1) + " IS NULL";
            case ExprOp::IsNotNull: return print(arg(n, 0), p + 1) + " IS NOT NULL";
            case ExprOp::In:
            case ExprOp::NotIn:
                return print(arg(n, 0), p + 1) + (n.op == ExprOp::In ? " IN (" : " NOT IN (") + list(n, 1) + ")";
            case ExprOp::Between:
            case ExprOp::NotBetween:
                return print(arg(n, 0), p + 1) + (n.op == ExprOp::Between ? " BETWEEN " : " NOT BETWEEN ") +
                       print(arg(n, 1), p + 1) + " AND " + print(arg(n, 2), p + 1);
            case ExprOp::Case: {
                std::string out = "CASE";
                const uint32_t pairs = n.aux ? (n.nargs - 1u) / 2u : n.nargs / 2u;
                for (uint32_t k = 0; k < pairs; ++k) {
                    out += " WHEN " + print(arg(n, 2 * k)) + " THEN " + print(arg(n, 2 * k + 1));
                }
                if (n.aux && n.nargs > 0) out += " ELSE " + print(arg(n, n.nargs - 1u));
                return out + " END";
            }
            case ExprOp::Cast:
                return "CAST(" + print(arg(n, 0)) + " AS " + type_label(static_cast<Type>(n.aux)) + ")";
            case ExprOp::Func: return std::string(func_name(static_cast<Func>(n.aux))) + "(" + list(n, 0) + ")";
            default: break;
        }
        if (const char* sym = binary_symbol(n.op); sym && n.nargs == 2) {
            return print(arg(n, 0), p) + sym + print(arg(n, 1), p + 1);
        }
        return "?";
    }

    const Plan& plan_;
};

}  // namespace

std::string explain_routing(const Plan& plan) {
    if (plan.is_aggregate()) {
        switch (routing_of(plan)) {
            case Routing::TwoPhase:
                return "two-phase: partial per shard, merged on shard 0";
            case Routing::CombinePerWindow:
                return "combined on the reading shard; when a window closes, each group's partial goes to hash(key) -> shard";
            case Routing::CombineAtEnd:
                return "combined on the reading shard; at end of input each group's partial goes to hash(key) -> shard";
            case Routing::ByKey:
                return plan.group_keys.empty() ? "every record to one shard (hash of the empty key)" : "hash(key) -> shard";
        }
    }
    if (!plan.analytics.empty()) {
        if (!plan.analytics.front().partition_by.empty()) {
            return "hash(PARTITION BY key) -> shard (ROWS window buffers per key)";
        }
        return "one ROWS window buffer for the whole stream: every row to one shard (hash of the empty key)";
    }
    return "stateless: stays on the reading shard";
}

namespace {

std::string window_text(const Plan& plan, const ExprPrinter& p) {
    const WindowSpec& w = plan.window;
    switch (w.kind) {
        case WindowKind::None: return "none";
        case WindowKind::Tumbling:
            return "TUMBLING(" + p.print(w.time) + ", " + duration_text(w.size_ms) + ")";
        case WindowKind::Sliding:
            return "SLIDING(" + p.print(w.time) + ", " + duration_text(w.size_ms) + ", " +
                   duration_text(w.advance_ms) + ")";
        case WindowKind::Session: return "SESSION(" + p.print(w.time) + ", gap " + duration_text(w.gap_ms) + ")";
    }
    return "?";
}

}  // namespace

std::string explain(const Plan& plan) {
    const ExprPrinter p(plan);
    std::string out;
    auto line = [&out](const std::string& s) {
        out += s;
        out += '\n';
    };

    if (plan.stream_name.empty()) {
        line(std::string("statement: SELECT") + (plan.distinct ? " DISTINCT" : ""));
    } else {
        line("statement: CREATE STREAM " + plan.stream_name + " AS SELECT" + (plan.distinct ? " DISTINCT" : ""));
    }
    line("source: " + plan.source_name);

    line("fields read:" + std::string(plan.fields.empty() ? " none" : ""));
    for (std::size_t k = 0; k < plan.fields.size(); ++k) line("  " + std::to_string(k) + ": " + plan.fields[k].dotted);

    line("where: " + (plan.where == kNoExpr ? std::string("none") : p.print(plan.where)));

    if (plan.group_keys.empty()) {
        line(std::string("group key: ") + (plan.is_aggregate() ? "none (one global group)" : "none"));
    } else {
        line("group key:");
        for (std::size_t k = 0; k < plan.group_keys.size(); ++k) {
            line("  key" + std::to_string(k) + " = " + p.print(plan.group_keys[k]) + " [" +
                 type_label(plan.exprs.nodes[plan.group_keys[k]].type) + "]");
        }
    }
    line("routing: " + explain_routing(plan));

    if (plan.is_aggregate()) {
        line("aggregates:" + std::string(plan.aggs.empty() ? " none" : ""));
        for (std::size_t k = 0; k < plan.aggs.size(); ++k) {
            const AggSpec& a = plan.aggs[k];
            std::string s = "  agg" + std::to_string(k) + " = " + a.text + " [" + agg_label(a.kind);
            if (a.arg != kNoExpr) s += " of " + p.print(a.arg);
            line(s + "]");
        }
    }
    if (!plan.analytics.empty()) {
        line("rows windows:");
        for (std::size_t k = 0; k < plan.analytics.size(); ++k) {
            const AnalyticSpec& a = plan.analytics[k];
            std::string s = "  rows" + std::to_string(k) + " = " + a.text + " [" + analytic_label(a.kind);
            if (a.arg != kNoExpr) s += " of " + p.print(a.arg);
            if (a.kind == AnalyticKind::Lag) s += ", offset " + std::to_string(a.offset);
            s += ", buffer " + std::to_string(a.buffer_rows) + " rows";
            if (!a.partition_by.empty()) {
                s += ", partition by ";
                for (std::size_t j = 0; j < a.partition_by.size(); ++j) {
                    if (j > 0) s += ", ";
                    s += p.print(a.partition_by[j]);
                }
            }
            if (a.order_by != kNoExpr) s += ", order by " + p.print(a.order_by);
            line(s + "]");
        }
    }

    line("window: " + window_text(plan, p));
    if (plan.having != kNoExpr) line("having: " + p.print(plan.having));

    std::string emit = plan.emit == EmitMode::Final ? "EMIT FINAL" : "EMIT CHANGES";
    if (!plan.emit_explicit) emit += plan.is_windowed() ? " (default for windowed queries)" : " (default)";
    line("emit: " + emit);

    const Properties& props = plan.props;
    line("properties:");
    line("  watermark.max_out_of_orderness = " + duration_text(props.max_out_of_orderness_ms));
    line("  watermark.idle_timeout = " + duration_text(props.idle_timeout_ms));
    line("  window.allowed_lateness = " + duration_text(props.allowed_lateness_ms));
    line(std::string("  late.data.strategy = ") +
         (props.late_strategy == LateStrategy::Drop ? "drop" : "dead_letter"));
    line("  state.ttl = " + (props.state_ttl_ms ? duration_text(*props.state_ttl_ms) : std::string("none")));

    line("columns:");
    for (const OutputColumn& c : plan.columns) {
        const Type t = c.expr < plan.exprs.nodes.size() ? plan.exprs.nodes[c.expr].type : Type::Null;
        line("  " + c.name + " = " + p.print(c.expr) + " [" + type_label(t) + "]");
    }
    line("limit: " + (plan.limit ? std::to_string(*plan.limit) : std::string("none")));
    return out;
}

}  // namespace sluice
