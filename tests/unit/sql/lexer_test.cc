#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "duration.h"
#include "lexer.h"

namespace sluice::sql {
namespace {

std::vector<Token> must_lex(std::string_view sql) {
    auto r = lex(sql);
    if (!r) {
        ADD_FAILURE() << "lex failed: " << r.error().message;
        return {};
    }
    return std::move(r.value());
}

std::vector<Tok> kinds(const std::vector<Token>& toks) {
    std::vector<Tok> out;
    for (const Token& t : toks) out.push_back(t.kind);
    return out;
}

std::string lex_error(std::string_view sql) {
    auto r = lex(sql);
    if (r) {
        ADD_FAILURE() << "expected a lex error for: " << sql;
        return "";
    }
    return r.error().message;
}

TEST(Lexer, TokenKindsOfAStatement) {
    const auto toks = must_lex("SELECT a.b, COUNT(*) FROM t WHERE x >= 1.5 AND y <> 'q' OR z != 2;");
    const std::vector<Tok> expect = {
        Tok::Ident, Tok::Ident, Tok::Dot,    Tok::Ident, Tok::Comma,   Tok::Ident,   Tok::LParen,
        Tok::Star,  Tok::RParen, Tok::Ident, Tok::Ident, Tok::Ident,   Tok::Ident,   Tok::Ge,
        Tok::Decimal, Tok::Ident, Tok::Ident, Tok::Ne,   Tok::String,  Tok::Ident,   Tok::Ident,
        Tok::Ne,    Tok::Integer, Tok::Semicolon, Tok::End,
    };
    EXPECT_EQ(kinds(toks), expect);
}

TEST(Lexer, KeywordsAreCaseInsensitiveAndIdentifiersKeepTheirCase) {
    const auto toks = must_lex("select Amount fRoM Orders");
    ASSERT_EQ(toks.size(), 5u);
    EXPECT_EQ(toks[0].kw, Kw::Select);
    EXPECT_EQ(toks[1].kw, Kw::None);
    EXPECT_EQ(toks[1].text, "Amount");
    EXPECT_EQ(toks[2].kw, Kw::From);
    EXPECT_EQ(toks[3].text, "Orders");
    EXPECT_TRUE(is_word(toks[3], "ORDERS"));
    EXPECT_FALSE(is_word(toks[3], "ORDER"));
}

TEST(Lexer, ContextWordsAreNotReserved) {
    const auto toks = must_lex("tumbling changes final rows");
    for (std::size_t k = 0; k + 1 < toks.size(); ++k) EXPECT_EQ(toks[k].kw, Kw::None) << toks[k].text;
}

TEST(Lexer, OperatorsAndSymbols) {
    const auto toks = must_lex("+ - * / % || = == <> != < <= > >= ( ) , . ;");
    const std::vector<Tok> expect = {Tok::Plus, Tok::Minus, Tok::Star, Tok::Slash, Tok::Percent, Tok::Concat,
                                     Tok::Eq,   Tok::Eq,    Tok::Ne,   Tok::Ne,    Tok::Lt,      Tok::Le,
                                     Tok::Gt,   Tok::Ge,    Tok::LParen, Tok::RParen, Tok::Comma, Tok::Dot,
                                     Tok::Semicolon, Tok::End};
    EXPECT_EQ(kinds(toks), expect);
}

TEST(Lexer, Numbers) {
    const auto toks = must_lex("42 3.25 .5 1e3 2.5E-2 7. 9223372036854775807");
    ASSERT_EQ(toks.size(), 8u);
    EXPECT_EQ(toks[0].kind, Tok::Integer);
    EXPECT_EQ(toks[0].u, 42u);
    EXPECT_EQ(toks[1].kind, Tok::Decimal);
    EXPECT_DOUBLE_EQ(toks[1].d, 3.25);
    EXPECT_EQ(toks[2].kind, Tok::Decimal);
    EXPECT_DOUBLE_EQ(toks[2].d, 0.5);
    EXPECT_EQ(toks[3].kind, Tok::Decimal);
    EXPECT_DOUBLE_EQ(toks[3].d, 1000.0);
    EXPECT_EQ(toks[4].kind, Tok::Decimal);
    EXPECT_DOUBLE_EQ(toks[4].d, 0.025);
    EXPECT_EQ(toks[5].kind, Tok::Decimal);
    EXPECT_DOUBLE_EQ(toks[5].d, 7.0);
    EXPECT_EQ(toks[6].kind, Tok::Integer);
    EXPECT_EQ(toks[6].u, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
}

TEST(Lexer, IntegerMagnitudeUpToTwoToThe63) {
    const auto toks = must_lex("9223372036854775808");
    EXPECT_EQ(toks[0].u, kMaxIntMagnitude);
    EXPECT_EQ(lex_error("x = 9223372036854775809"),
              "line 1:5: integer literal 9223372036854775809 is out of range for BIGINT");
}

TEST(Lexer, DurationShorthands) {
    const auto toks = must_lex("500ms 5s 1m 1h 1d 10S");
    ASSERT_EQ(toks.size(), 7u);
    const uint64_t expect[] = {500, 5000, 60000, 3600000, 86400000, 10000};
    for (int k = 0; k < 6; ++k) {
        EXPECT_EQ(toks[k].kind, Tok::Duration);
        EXPECT_EQ(toks[k].u, expect[k]);
    }
}

TEST(Lexer, BadDurationSuffixIsAnError) {
    EXPECT_EQ(lex_error("TUMBLING(ts, 5x)"),
              "line 1:14: invalid number or duration '5x' (durations are a whole number with ms, s, m, h or d, "
              "e.g. 500ms)");
    EXPECT_NE(lex_error("1.5s").find("invalid number or duration '1.5s'"), std::string::npos);
    EXPECT_NE(lex_error("99999999999999999d").find("is too large"), std::string::npos);
}

TEST(Lexer, StringLiteralsWithDoubledQuotes) {
    const auto toks = must_lex("'it''s' ''");
    ASSERT_EQ(toks.size(), 3u);
    EXPECT_EQ(toks[0].kind, Tok::String);
    EXPECT_EQ(toks[0].text, "it's");
    EXPECT_EQ(toks[1].text, "");
}

TEST(Lexer, QuotedIdentifiers) {
    const auto toks = must_lex("\"select\" \"a\"\"b\" \"Mixed Case\"");
    ASSERT_EQ(toks.size(), 4u);
    EXPECT_EQ(toks[0].kind, Tok::QuotedIdent);
    EXPECT_EQ(toks[0].kw, Kw::None);
    EXPECT_EQ(toks[0].text, "select");
    EXPECT_EQ(toks[1].text, "a\"b");
    EXPECT_EQ(toks[2].text, "Mixed Case");
    EXPECT_EQ(lex_error("a = \"\""), "line 1:5: empty quoted identifier");
}

TEST(Lexer, CommentsAreSkippedAndPositionsTrackLines) {
    const auto toks = must_lex("SELECT -- a comment\n  a /* multi\nline */ , b\n\tFROM t");
    ASSERT_EQ(toks.size(), 7u);
    EXPECT_EQ(toks[0].pos.line, 1u);
    EXPECT_EQ(toks[0].pos.col, 1u);
    EXPECT_EQ(toks[1].text, "a");
    EXPECT_EQ(toks[1].pos.line, 2u);
    EXPECT_EQ(toks[1].pos.col, 3u);
    EXPECT_EQ(toks[2].kind, Tok::Comma);
    EXPECT_EQ(toks[2].pos.line, 3u);
    EXPECT_EQ(toks[2].pos.col, 9u);
    EXPECT_EQ(toks[4].kw, Kw::From);
    EXPECT_EQ(toks[4].pos.line, 4u);
    EXPECT_EQ(toks[4].pos.col, 2u);
}

TEST(Lexer, ColumnsCountCodePoints) {
    const auto toks = must_lex("'héllo' x");
    ASSERT_EQ(toks.size(), 3u);
    EXPECT_EQ(toks[1].pos.col, 9u);
}

TEST(Lexer, TokenByteRanges) {
    const std::string_view sql = "a  >=  'x'";
    const auto toks = must_lex(sql);
    ASSERT_EQ(toks.size(), 4u);
    EXPECT_EQ(sql.substr(toks[1].begin, toks[1].end - toks[1].begin), ">=");
    EXPECT_EQ(sql.substr(toks[2].begin, toks[2].end - toks[2].begin), "'x'");
    EXPECT_EQ(toks[3].begin, sql.size());
}

TEST(Lexer, DotAfterANameIsAPathStep) {
    const auto toks = must_lex("a.5 .5");
    const std::vector<Tok> expect = {Tok::Ident, Tok::Dot, Tok::Integer, Tok::Decimal, Tok::End};
    EXPECT_EQ(kinds(toks), expect);
}

TEST(Lexer, Errors) {
    EXPECT_EQ(lex_error("SELECT 'abc"), "line 1:8: unterminated string literal");
    EXPECT_EQ(lex_error("SELECT \"abc"), "line 1:8: unterminated quoted identifier");
    EXPECT_EQ(lex_error("SELECT a\n  /* never closed"), "line 2:3: unterminated /* comment");
    EXPECT_EQ(lex_error("SELECT a # b"), "line 1:10: unexpected character '#'");
    EXPECT_EQ(lex_error("SELECT a | b"), "line 1:10: unexpected character '|'");
    EXPECT_EQ(lex_error(std::string_view("a \x01", 3)), "line 1:3: unexpected character byte 0x01");
    EXPECT_EQ(lex_error("1e999"), "line 1:1: number 1e999 is out of range for DOUBLE");
}

TEST(Lexer, EmptyInputIsJustEnd) {
    const auto toks = must_lex("  -- only a comment\n");
    ASSERT_EQ(toks.size(), 1u);
    EXPECT_EQ(toks[0].kind, Tok::End);
    EXPECT_EQ(toks[0].pos.line, 2u);
}

TEST(Duration, UnitWords) {
    EXPECT_EQ(unit_ms("MILLISECOND"), 1);
    EXPECT_EQ(unit_ms("milliseconds"), 1);
    EXPECT_EQ(unit_ms("Second"), 1000);
    EXPECT_EQ(unit_ms("SECONDS"), 1000);
    EXPECT_EQ(unit_ms("minute"), 60000);
    EXPECT_EQ(unit_ms("MINUTES"), 60000);
    EXPECT_EQ(unit_ms("hour"), 3600000);
    EXPECT_EQ(unit_ms("HOURS"), 3600000);
    EXPECT_EQ(unit_ms("day"), 86400000);
    EXPECT_EQ(unit_ms("days"), 86400000);
    EXPECT_EQ(unit_ms("ms"), 1);
    EXPECT_EQ(unit_ms("s"), 1000);
    EXPECT_FALSE(unit_ms("week"));
    EXPECT_FALSE(unit_ms(""));
}

TEST(Duration, Strings) {
    EXPECT_EQ(parse_duration_string("2s"), 2000);
    EXPECT_EQ(parse_duration_string("500ms"), 500);
    EXPECT_EQ(parse_duration_string("1m"), 60000);
    EXPECT_EQ(parse_duration_string(" 3 seconds "), 3000);
    EXPECT_EQ(parse_duration_string("1h"), 3600000);
    EXPECT_EQ(parse_duration_string("2d"), 172800000);
    EXPECT_EQ(parse_duration_string("0"), 0);
    EXPECT_EQ(parse_duration_string("0s"), 0);
    EXPECT_FALSE(parse_duration_string("5"));
    EXPECT_FALSE(parse_duration_string("-1s"));
    EXPECT_FALSE(parse_duration_string("1.5s"));
    EXPECT_FALSE(parse_duration_string("s"));
    EXPECT_FALSE(parse_duration_string(""));
    EXPECT_FALSE(parse_duration_string("2 fortnights"));
    EXPECT_FALSE(parse_duration_string("99999999999999999999d"));
    EXPECT_FALSE(parse_duration_string("9999999999999999d"));
}

TEST(Duration, ScaleChecksOverflow) {
    EXPECT_EQ(scale_duration(3, 1000), 3000);
    EXPECT_FALSE(scale_duration(std::numeric_limits<uint64_t>::max() / 2, 1000));
    EXPECT_EQ(scale_duration(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), 1),
              std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace sluice::sql
