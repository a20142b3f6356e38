// Syntax tree of one statement, as written: names are not resolved and
// aggregates are not told apart from scalar calls yet (the planner does that).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lexer.h"
#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice::sql {

// Nesting limit for expressions: deeper input is an error, so neither the
// parser nor the tree walks after it can exhaust the stack.
inline constexpr uint32_t kMaxDepth = 256;

enum class AstKind : uint8_t {
    Literal,  // lit_type + i/d/b/s
    Column,   // path
    Special,  // _WINDOW_START, _WINDOW_END, _TIMESTAMP
    Unary,    // op: Neg, Not; args[0]
    Binary,   // op: arithmetic, ||, comparisons, AND, OR; args[0..1]
    IsNull,   // op: IsNull, IsNotNull; args[0]
    In,       // op: In, NotIn; args[0] IN (args[1..])
    Between,  // op: Between, NotBetween; args: x, lo, hi
    Like,     // op: Like, NotLike; args: x, pattern
    Case,     // args: when, then, ..., [else]; has_else
    Cast,     // args[0]; cast_to
    Call,     // name(args) [OVER (...)]
};

enum class SpecialColumn : uint8_t { WindowStart, WindowEnd, Timestamp, Partition, Offset };

struct Ast;
using AstPtr = std::unique_ptr<Ast>;

// OVER (ROWS WINDOW BUFFER n ROWS [PARTITION BY ...] [ORDER BY x [ASC|DESC]])
struct OverClause {
    SrcPos pos;
    uint64_t buffer_rows = 0;
    SrcPos buffer_pos;
    std::vector<AstPtr> partition_by;
    AstPtr order_by;
    bool descending = false;
    SrcPos descending_pos;
};

struct Ast {
    AstKind kind = AstKind::Literal;
    SrcPos pos;              // first character of the construct
    uint32_t tok_begin = 0;  // token range [tok_begin, tok_end), for the text as written
    uint32_t tok_end = 0;
    uint32_t height = 1;  // 1 for a leaf

    ExprOp op = ExprOp::Const;

    Type lit_type = Type::Null;
    int64_t i = 0;
    double d = 0;
    bool b = false;
    std::string s;  // string literal

    std::vector<std::string> path;  // Column
    SpecialColumn special = SpecialColumn::Timestamp;

    std::vector<AstPtr> args;

    std::string name;  // Call: upper case
    bool star = false;          // COUNT(*)
    bool distinct_arg = false;  // COUNT(DISTINCT x)
    std::unique_ptr<OverClause> over;

    Type cast_to = Type::Null;
    bool has_else = false;
};

struct SelectItem {
    AstPtr expr;
    std::string alias;
    bool has_alias = false;
    SrcPos alias_pos;
};

struct WindowClause {
    WindowKind kind = WindowKind::None;
    std::string word;  // TUMBLING, SLIDING, HOPPING or SESSION (upper case)
    SrcPos pos;
    AstPtr time;
    int64_t size_ms = 0;  // also the SESSION gap
    SrcPos size_pos;
    int64_t advance_ms = 0;
    SrcPos advance_pos;
};

struct Property {
    std::string key;
    std::string value;
    SrcPos key_pos;
    SrcPos value_pos;
};

struct Statement {
    std::string_view source;    // the SQL text (outlives the statement)
    std::vector<Token> tokens;  // for expression text as written

    std::string stream_name;  // CREATE STREAM <name>
    SrcPos stream_pos;

    bool distinct = false;
    SrcPos distinct_pos;
    std::vector<SelectItem> items;

    std::string from;
    SrcPos from_pos;
    std::string from_alias;

    AstPtr where;
    std::vector<AstPtr> group_by;
    std::optional<WindowClause> window;
    AstPtr having;
    SrcPos having_pos;
    std::optional<uint64_t> limit;
    std::optional<EmitMode> emit;
    std::vector<Property> props;
};

// Structural equality (positions and spelling of names aside).
bool ast_equal(const Ast& a, const Ast& b);

AstPtr ast_clone(const Ast& a);

// The source text of tok range [begin, end), whitespace and comments
// between tokens collapsed to one space.
std::string text_of(const Statement& st, uint32_t tok_begin, uint32_t tok_end);
inline std::string text_of(const Statement& st, const Ast& a) { return text_of(st, a.tok_begin, a.tok_end); }

// The dotted form of a field path ("customer.id").
std::string dotted(const std::vector<std::string>& path);

}  // namespace sluice::sql
