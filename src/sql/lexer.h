// SQL tokens. Positions are 1-based line:column (columns count UTF-8 code
// points) so every later error can name where it happened.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/result.h"

namespace sluice::sql {

struct SrcPos {
    uint32_t line = 1;
    uint32_t col = 1;
};

inline bool operator<(SrcPos a, SrcPos b) noexcept {
    return a.line != b.line ? a.line < b.line : a.col < b.col;
}

// "line L:C: <message>", the prefix every front-end error carries.
std::string format_error(SrcPos pos, std::string_view message);
inline Error error_at(SrcPos pos, std::string_view message) { return Error{format_error(pos, message)}; }

enum class Tok : uint8_t {
    End,
    Ident,        // unquoted; `kw` is set when it is a reserved word
    QuotedIdent,  // "name"
    String,       // 'text' (text holds the decoded value)
    Integer,      // magnitude in `u` (at most 2^63, the sign comes from the parser)
    Decimal,      // value in `d`
    Duration,     // 500ms, 5s, 1m, 1h, 1d; milliseconds in `u`
    LParen,
    RParen,
    Comma,
    Dot,
    Semicolon,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Concat,  // ||
    Eq,
    Ne,  // <> or !=
    Lt,
    Le,
    Gt,
    Ge,
};

// Reserved words: they delimit clauses, so they cannot be bare field names or
// aliases (double-quote them for that). Context words such as TUMBLING or
// CHANGES stay ordinary identifiers.
enum class Kw : uint8_t {
    None,
    Select,
    Distinct,
    From,
    Where,
    Group,
    By,
    Window,
    Having,
    Limit,
    Emit,
    With,
    As,
    And,
    Or,
    Not,
    In,
    Between,
    Like,
    Is,
    Null,
    True,
    False,
    Case,
    When,
    Then,
    Else,
    End,
    Cast,
    Interval,
    Over,
    Create,
};

struct Token {
    Tok kind = Tok::End;
    Kw kw = Kw::None;
    SrcPos pos;
    uint32_t begin = 0;  // byte range in the source text
    uint32_t end = 0;
    std::string text;  // identifier name or decoded string literal
    uint64_t u = 0;
    double d = 0;
};

inline constexpr uint64_t kMaxIntMagnitude = uint64_t{1} << 63;  // |INT64_MIN|

// Splits the whole statement into tokens; the last one is always Tok::End.
Result<std::vector<Token>> lex(std::string_view sql);

// True when `t` is an unquoted identifier spelling `upper` in any case.
bool is_word(const Token& t, std::string_view upper) noexcept;

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);

}  // namespace sluice::sql
