// Helpers for the SQL front-end tests: plan or fail the test, and a compact
// s-expression view of plan expressions so tests can assert tree shapes.
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <string_view>

#include "planner.h"
#include "sluice/plan.h"
#include "sluice/sql.h"

namespace sluice::sql::testing {

// Plans; a planning error fails the test.
inline Plan must_plan(std::string_view sql) {
    auto r = plan_sql(sql);
    if (!r) {
        ADD_FAILURE() << "planning failed for: " << sql << "\n  -> " << r.error().message;
        return Plan{};
    }
    return std::move(r.value());
}

// The planning error message; fails the test if it planned.
inline std::string plan_error(std::string_view sql) {
    auto r = plan_sql(sql);
    if (r) {
        ADD_FAILURE() << "expected an error for: " << sql;
        return "";
    }
    return r.error().message;
}

inline const char* op_name(ExprOp op) {
    switch (op) {
        case ExprOp::Const: return "Const";
        case ExprOp::Field: return "Field";
        case ExprOp::KeyRef: return "KeyRef";
        case ExprOp::AggRef: return "AggRef";
        case ExprOp::AnalyticRef: return "AnalyticRef";
        case ExprOp::WindowStart: return "WindowStart";
        case ExprOp::WindowEnd: return "WindowEnd";
        case ExprOp::ArrivalTime: return "ArrivalTime";
        case ExprOp::Neg: return "Neg";
        case ExprOp::Not: return "Not";
        case ExprOp::Add: return "Add";
        case ExprOp::Sub: return "Sub";
        case ExprOp::Mul: return "Mul";
        case ExprOp::Div: return "Div";
        case ExprOp::Mod: return "Mod";
        case ExprOp::Concat: return "Concat";
        case ExprOp::Eq: return "Eq";
        case ExprOp::Ne: return "Ne";
        case ExprOp::Lt: return "Lt";
        case ExprOp::Le: return "Le";
        case ExprOp::Gt: return "Gt";
        case ExprOp::Ge: return "Ge";
        case ExprOp::And: return "And";
        case ExprOp::Or: return "Or";
        case ExprOp::IsNull: return "IsNull";
        case ExprOp::IsNotNull: return "IsNotNull";
        case ExprOp::In: return "In";
        case ExprOp::NotIn: return "NotIn";
        case ExprOp::Between: return "Between";
        case ExprOp::NotBetween: return "NotBetween";
        case ExprOp::Like: return "Like";
        case ExprOp::NotLike: return "NotLike";
        case ExprOp::Case: return "Case";
        case ExprOp::Cast: return "Cast";
        case ExprOp::Func: return "Func";
    }
    return "?";
}

// Leaves: 1, 2.5, 'str', true, null, $field.path, key0, agg0, rows0,
// wstart, wend, arrival. Inner nodes: (Op child ...), with Func/Cast/Case
// showing their aux as Func:<id>, Cast:<type>, Case+else.
inline std::string sexpr(const Plan& plan, ExprId id) {
    if (id == kNoExpr) return "none";
    const ExprPool& pool = plan.exprs;
    const ExprNode& n = pool.node(id);
    std::ostringstream out;
    switch (n.op) {
        case ExprOp::Const: {
            const Value& v = pool.consts[n.index];
            switch (v.type) {
                case Type::Null: out << "null"; break;
                case Type::Bool: out << (v.b ? "true" : "false"); break;
                case Type::Int: out << v.i; break;
                case Type::Double: out << v.d; break;
                case Type::String: out << "'" << v.str() << "'"; break;
            }
            return out.str();
        }
        case ExprOp::Field: return "$" + plan.fields[n.index].dotted;
        case ExprOp::KeyRef: return "key" + std::to_string(n.index);
        case ExprOp::AggRef: return "agg" + std::to_string(n.index);
        case ExprOp::AnalyticRef: return "rows" + std::to_string(n.index);
        case ExprOp::WindowStart: return "wstart";
        case ExprOp::WindowEnd: return "wend";
        case ExprOp::ArrivalTime: return "arrival";
        default: break;
    }
    out << "(" << op_name(n.op);
    if (n.op == ExprOp::Func) out << ":" << static_cast<int>(n.aux);
    if (n.op == ExprOp::Cast) out << ":" << static_cast<int>(n.aux);
    if (n.op == ExprOp::Case && n.aux) out << "+else";
    for (uint32_t k = 0; k < n.nargs; ++k) out << " " << sexpr(plan, pool.arg(n, k));
    out << ")";
    return out.str();
}

inline int func_id(Func f) { return static_cast<int>(f); }

// The WHERE of `SELECT x FROM s WHERE <expr>` as an s-expression.
inline std::string where_of(std::string_view expr) {
    const Plan p = must_plan("SELECT x FROM s WHERE " + std::string(expr));
    return sexpr(p, p.where);
}

}  // namespace sluice::sql::testing
