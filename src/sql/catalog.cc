#include "catalog.h"

#include <array>

namespace sluice::sql {

namespace {

struct AggName {
    std::string_view name;
    AggKind kind;
};

constexpr std::array<AggName, 14> kAggregates{{
    {"COUNT", AggKind::Count},
    {"SUM", AggKind::Sum},
    {"AVG", AggKind::Avg},
    {"MIN", AggKind::Min},
    {"MAX", AggKind::Max},
    {"STDDEV", AggKind::StddevSamp},
    {"STDDEV_SAMP", AggKind::StddevSamp},
    {"STDDEV_POP", AggKind::StddevPop},
    {"VARIANCE", AggKind::VarSamp},
    {"VAR_SAMP", AggKind::VarSamp},
    {"VAR_POP", AggKind::VarPop},
    {"FIRST", AggKind::First},
    {"LAST", AggKind::Last},
    {"APPROX_COUNT_DISTINCT", AggKind::ApproxCountDistinct},
}};

constexpr std::array<FunctionInfo, 23> kFunctions{{
    {"COALESCE", Func::Coalesce, 1, kVariadic},
    {"NULLIF", Func::Nullif, 2, 2},
    {"ABS", Func::Abs, 1, 1},
    {"ROUND", Func::Round, 1, 2},
    {"FLOOR", Func::Floor, 1, 1},
    {"CEIL", Func::Ceil, 1, 1},
    {"CEILING", Func::Ceil, 1, 1},
    {"SQRT", Func::Sqrt, 1, 1},
    {"POWER", Func::Power, 2, 2},
    {"POW", Func::Power, 2, 2},
    {"MOD", Func::Mod, 2, 2},
    {"GREATEST", Func::Greatest, 1, kVariadic},
    {"LEAST", Func::Least, 1, kVariadic},
    {"UPPER", Func::Upper, 1, 1},
    {"LOWER", Func::Lower, 1, 1},
    {"LENGTH", Func::Length, 1, 1},
    {"CHAR_LENGTH", Func::Length, 1, 1},
    {"CHARACTER_LENGTH", Func::Length, 1, 1},
    {"SUBSTRING", Func::Substring, 2, 3},
    {"SUBSTR", Func::Substring, 2, 3},
    {"TRIM", Func::Trim, 1, 1},
    {"CONCAT", Func::Concat, 1, kVariadic},
    {"REPLACE", Func::Replace, 3, 3},
}};

struct AnalyticName {
    std::string_view name;
    AnalyticKind kind;
};

constexpr std::array<AnalyticName, 9> kAnalytics{{
    {"LAG", AnalyticKind::Lag},
    {"ROW_NUMBER", AnalyticKind::RowNumber},
    {"FIRST_VALUE", AnalyticKind::FirstValue},
    {"LAST_VALUE", AnalyticKind::LastValue},
    {"AVG", AnalyticKind::Avg},
    {"SUM", AnalyticKind::Sum},
    {"MIN", AnalyticKind::Min},
    {"MAX", AnalyticKind::Max},
    {"COUNT", AnalyticKind::Count},
}};

// Sum keeps the integer-ness of its input (SPEC §3), and so do the ROWS-window sums.
Type sum_type(Type arg) noexcept { return is_numeric(arg) ? arg : Type::Null; }

}  // namespace

std::optional<AggKind> aggregate_kind(std::string_view upper, bool star, bool distinct) {
    for (const AggName& n : kAggregates) {
        if (n.name != upper) continue;
        if (n.kind == AggKind::Count) {
            if (star) return AggKind::CountStar;
            if (distinct) return AggKind::CountDistinct;
        }
        return n.kind;
    }
    return std::nullopt;
}

const FunctionInfo* find_function(std::string_view upper) {
    for (const FunctionInfo& f : kFunctions) {
        if (f.name == upper) return &f;
    }
    return nullptr;
}

std::optional<AnalyticKind> analytic_kind(std::string_view upper) {
    for (const AnalyticName& n : kAnalytics) {
        if (n.name == upper) return n.kind;
    }
    return std::nullopt;
}

bool is_numeric(Type t) noexcept { return t == Type::Int || t == Type::Double; }

// Int op Int stays Int; any other mix of numbers is Double; otherwise only run time knows.
Type arithmetic_type(Type l, Type r) noexcept {
    if (l == Type::Int && r == Type::Int) return Type::Int;
    if (is_numeric(l) && is_numeric(r)) return Type::Double;
    return Type::Null;
}

// The common type when every input has the same known type.
Type same_type(const std::vector<Type>& types) noexcept {
    if (types.empty()) return Type::Null;
    for (Type t : types) {
        if (t != types.front()) return Type::Null;
    }
    return types.front();
}

Type aggregate_type(AggKind kind, Type arg) noexcept {
    switch (kind) {
        case AggKind::CountStar:
        case AggKind::Count:
        case AggKind::CountDistinct:
        case AggKind::ApproxCountDistinct: return Type::Int;
        case AggKind::Avg:
        case AggKind::StddevSamp:
        case AggKind::StddevPop:
        case AggKind::VarSamp:
        case AggKind::VarPop: return Type::Double;
        case AggKind::Sum: return sum_type(arg);
        case AggKind::Min:
        case AggKind::Max:
        case AggKind::First:
        case AggKind::Last: return arg;
    }
    return Type::Null;
}

Type analytic_type(AnalyticKind kind, Type arg) noexcept {
    switch (kind) {
        case AnalyticKind::RowNumber:
        case AnalyticKind::Count: return Type::Int;
        case AnalyticKind::Avg: return Type::Double;
        case AnalyticKind::Sum: return sum_type(arg);
        case AnalyticKind::Lag:
        case AnalyticKind::FirstValue:
        case AnalyticKind::LastValue:
        case AnalyticKind::Min:
        case AnalyticKind::Max: return arg;
    }
    return Type::Null;
}

Type function_type(Func f, const std::vector<Type>& args) noexcept {
    switch (f) {
        case Func::Coalesce:
        case Func::Greatest:
        case Func::Least: return same_type(args);
        case Func::Nullif: return args.empty() ? Type::Null : args[0];
        case Func::Abs:
        case Func::Round:
        case Func::Floor:
        case Func::Ceil: return !args.empty() && is_numeric(args[0]) ? args[0] : Type::Null;
        case Func::Sqrt:
        case Func::Power: return Type::Double;
        case Func::Mod: return args.size() == 2 ? arithmetic_type(args[0], args[1]) : Type::Null;
        case Func::Length: return Type::Int;
        case Func::Upper:
        case Func::Lower:
        case Func::Substring:
        case Func::Trim:
        case Func::Concat:
        case Func::Replace: return Type::String;
    }
    return Type::Null;
}

}  // namespace sluice::sql
