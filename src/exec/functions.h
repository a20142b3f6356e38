// Scalar functions and CAST, called from the expression switch in eval.cc.
#pragma once

#include <string_view>

#include "sluice/exec.h"
#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice::detail {

// n is an ExprOp::Func node; aux holds the Func id.
Value eval_func(const ExprPool& pool, const ExprNode& n, const EvalContext& ctx) noexcept;
Value eval_cast(const Value& v, Type target, const EvalContext& ctx) noexcept;

// x % y with SQL's NULL-on-zero rule (shared by the operator and MOD()).
Value modulo(const Value& a, const Value& b, const EvalContext& ctx) noexcept;

// LIKE with % and _ (one code point); case-sensitive, no escape character.
bool like_match(std::string_view s, std::string_view p) noexcept;

// ROUND(x, d) half away from zero on the shortest decimal text of x, so
// ROUND(2.675, 2) is 2.68 as written, not 2.67 as stored in binary.
double round_double(double x, int64_t d) noexcept;

}  // namespace sluice::detail
