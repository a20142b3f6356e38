// An expression with its common shapes resolved once, at setup: a bare
// leaf (field, key, aggregate, constant) or `leaf op leaf` for arithmetic and
// comparisons evaluates inline at the call site, without the pool walk and
// the calls of eval(); any other tree goes through eval_node as before. The
// results are those of eval() in every case (same operator templates).
#pragma once

#include <cstdint>
#include <cstring>

#include "eval_util.h"
#include "sluice/exec.h"
#include "sluice/plan.h"

namespace sluice::detail {

// True when evaluating the tree may take scratch memory (string results):
// callers reset their scratch arena per record only then.
inline bool may_use_scratch(const ExprPool& pool, ExprId id) noexcept {
    if (id == kNoExpr) return false;
    const ExprNode& n = pool.nodes[id];
    if (n.op == ExprOp::Concat || n.op == ExprOp::Cast || n.op == ExprOp::Func) return true;
    for (uint32_t k = 0; k < n.nargs; ++k)
        if (may_use_scratch(pool, pool.args[n.first_arg + k])) return true;
    return false;
}

class CompiledExpr {
public:
    // Evaluates to NULL (the argument slot of COUNT(*)).
    CompiledExpr() noexcept = default;

    CompiledExpr(const ExprPool& pool, ExprId id) noexcept : id_(id) {
        if (id == kNoExpr) return;
        const ExprNode& n = pool.nodes[id];
        if (leaf(pool, id, a_)) {
            shape_ = n.op == ExprOp::Field ? Shape::Field : Shape::Leaf;
            return;
        }
        shape_ = Shape::Tree;
        if (n.nargs != 2) return;
        Leaf a;
        Leaf b;
        if (!leaf(pool, pool.args[n.first_arg], a) || !leaf(pool, pool.args[n.first_arg + 1], b)) return;
        Shape s;
        switch (n.op) {
            case ExprOp::Add: s = Shape::Add; break;
            case ExprOp::Sub: s = Shape::Sub; break;
            case ExprOp::Mul: s = Shape::Mul; break;
            case ExprOp::Div: s = Shape::Div; break;
            case ExprOp::Eq: s = Shape::Eq; break;
            case ExprOp::Ne: s = Shape::Ne; break;
            case ExprOp::Lt: s = Shape::Lt; break;
            case ExprOp::Le: s = Shape::Le; break;
            case ExprOp::Gt: s = Shape::Gt; break;
            case ExprOp::Ge: s = Shape::Ge; break;
            default: return;
        }
        shape_ = s;
        a_ = a;
        b_ = b;
    }

    bool is_null() const noexcept { return shape_ == Shape::Null; }
    bool is_leaf() const noexcept { return shape_ == Shape::Field || shape_ == Shape::Leaf; }

    // The value by reference: a leaf is read where it is (no 16-byte value
    // assembled in registers); anything else is evaluated into tmp.
    [[gnu::always_inline]] inline const Value& value(Value& tmp, const ExprPool& pool,
                                                     const EvalContext& ctx) const noexcept {
        if (shape_ == Shape::Field) [[likely]]
            return ctx.fields[a_.index];
        if (shape_ == Shape::Leaf) return a_.ref(ctx);
        store_result(tmp, eval(pool, ctx));
        return tmp;
    }

    // Stores the value into dst; a leaf is copied memory to memory.
    [[gnu::always_inline]] inline void eval_into(Value& dst, const ExprPool& pool,
                                                 const EvalContext& ctx) const noexcept {
        if (shape_ == Shape::Field) [[likely]] {
            std::memcpy(&dst, ctx.fields + a_.index, sizeof(Value));
            return;
        }
        if (shape_ == Shape::Leaf) {
            std::memcpy(&dst, &a_.ref(ctx), sizeof(Value));
            return;
        }
        store_result(dst, eval(pool, ctx));
    }

    [[gnu::always_inline]] inline Value eval(const ExprPool& pool, const EvalContext& ctx) const noexcept {
        switch (shape_) {
            case Shape::Null: return Value::null();
            case Shape::Field: return ctx.fields[a_.index];
            case Shape::Leaf: return a_.ref(ctx);
            case Shape::Add: return arith<ExprOp::Add>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Sub: return arith<ExprOp::Sub>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Mul: return arith<ExprOp::Mul>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Div: return arith<ExprOp::Div>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Eq: return comparison<ExprOp::Eq>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Ne: return comparison<ExprOp::Ne>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Lt: return comparison<ExprOp::Lt>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Le: return comparison<ExprOp::Le>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Gt: return comparison<ExprOp::Gt>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Ge: return comparison<ExprOp::Ge>(a_.ref(ctx), b_.ref(ctx), ctx);
            case Shape::Tree: break;
        }
        return eval_node(pool, pool.nodes[id_], ctx);
    }

    // SQL truth, as eval_predicate: only TRUE holds; a non-boolean counts as a mismatch.
    [[gnu::always_inline]] inline bool holds(const ExprPool& pool, const EvalContext& ctx) const noexcept {
        const Value v = eval(pool, ctx);
        if (v.type == Type::Bool) return v.b;
        if (!v.is_null()) mismatch(ctx);
        return false;
    }

private:
    // Field: a record field (the common pre-aggregation leaf); Leaf: any other.
    enum class Shape : uint8_t { Null, Field, Leaf, Add, Sub, Mul, Div, Eq, Ne, Lt, Le, Gt, Ge, Tree };

    // A value read from one of the context's arrays, or a constant.
    struct Leaf {
        const Value* EvalContext::*array = nullptr;  // nullptr: the constant
        uint32_t index = 0;
        bool field = false;  // array is fields: read without the member pointer
        Value constant;

        const Value& ref(const EvalContext& ctx) const noexcept {
            if (field) return ctx.fields[index];
            return array != nullptr ? (ctx.*array)[index] : constant;
        }
    };

    static bool leaf(const ExprPool& pool, ExprId id, Leaf& out) noexcept {
        const ExprNode& n = pool.nodes[id];
        out.index = n.index;
        switch (n.op) {
            case ExprOp::Field:
                out.array = &EvalContext::fields;
                out.field = true;
                return true;
            case ExprOp::KeyRef: out.array = &EvalContext::keys; return true;
            case ExprOp::AggRef: out.array = &EvalContext::aggs; return true;
            case ExprOp::Const:
                out.array = nullptr;
                out.constant = pool.consts[n.index];
                return true;
            default: return false;
        }
    }

    Shape shape_ = Shape::Null;
    ExprId id_ = kNoExpr;
    Leaf a_;
    Leaf b_;
};

}  // namespace sluice::detail
