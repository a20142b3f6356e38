// What function names mean: aggregates, scalar functions and ROWS-window
// functions, their arities, and the static result types of expressions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice::sql {

// The aggregate an upper-case call name denotes (COUNT splits on * and DISTINCT).
std::optional<AggKind> aggregate_kind(std::string_view upper, bool star, bool distinct);

inline constexpr uint16_t kVariadic = UINT16_MAX;

struct FunctionInfo {
    std::string_view name;
    Func func;
    uint16_t min_args;
    uint16_t max_args;  // kVariadic: no upper bound
};

const FunctionInfo* find_function(std::string_view upper);

std::optional<AnalyticKind> analytic_kind(std::string_view upper);
inline constexpr std::string_view kAnalyticList =
    "LAG, ROW_NUMBER, FIRST_VALUE, LAST_VALUE, AVG, SUM, MIN, MAX and COUNT";

// Static types: Type::Null means only run time knows.
bool is_numeric(Type t) noexcept;
// Int op Int stays Int; any other mix of numbers is Double.
Type arithmetic_type(Type l, Type r) noexcept;
// The type shared by every input, when they all have the same known one.
Type same_type(const std::vector<Type>& types) noexcept;
Type aggregate_type(AggKind kind, Type arg) noexcept;
Type analytic_type(AnalyticKind kind, Type arg) noexcept;
Type function_type(Func f, const std::vector<Type>& args) noexcept;

}  // namespace sluice::sql
