#include "lexer.h"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

#include "duration.h"

namespace sluice::sql {

namespace {

struct KeywordName {
    std::string_view upper;
    Kw kw;
};

constexpr std::array<KeywordName, 31> kKeywords{{
    {"SELECT", Kw::Select}, {"DISTINCT", Kw::Distinct}, {"FROM", Kw::From},   {"WHERE", Kw::Where},
    {"GROUP", Kw::Group},   {"BY", Kw::By},             {"WINDOW", Kw::Window}, {"HAVING", Kw::Having},
    {"LIMIT", Kw::Limit},   {"EMIT", Kw::Emit},         {"WITH", Kw::With},   {"AS", Kw::As},
    {"AND", Kw::And},       {"OR", Kw::Or},             {"NOT", Kw::Not},     {"IN", Kw::In},
    {"BETWEEN", Kw::Between}, {"LIKE", Kw::Like},       {"IS", Kw::Is},       {"NULL", Kw::Null},
    {"TRUE", Kw::True},     {"FALSE", Kw::False},       {"CASE", Kw::Case},   {"WHEN", Kw::When},
    {"THEN", Kw::Then},     {"ELSE", Kw::Else},         {"END", Kw::End},     {"CAST", Kw::Cast},
    {"INTERVAL", Kw::Interval}, {"OVER", Kw::Over},     {"CREATE", Kw::Create},
}};

Kw keyword_of(std::string_view word) {
    if (word.size() > 8) return Kw::None;
    const std::string upper = to_upper(word);
    for (const KeywordName& k : kKeywords) {
        if (k.upper == upper) return k.kw;
    }
    return Kw::None;
}

bool is_ident_start(unsigned char c) noexcept { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool is_ident_char(unsigned char c) noexcept { return std::isalnum(c) || c == '_' || c >= 0x80; }
bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

// Shorthand duration units (SPEC §1): only these, so `5x` is an error, not a surprise.
std::optional<int64_t> shorthand_unit_ms(std::string_view unit) {
    const std::string lower = to_lower(unit);
    if (lower == "ms" || lower == "s" || lower == "m" || lower == "h" || lower == "d") return unit_ms(lower);
    return std::nullopt;
}

class Lexer {
public:
    explicit Lexer(std::string_view src) : src_(src) {}

    Result<std::vector<Token>> run() {
        if (src_.size() >= std::numeric_limits<uint32_t>::max()) {
            return error_at(SrcPos{}, "statement too long");
        }
        std::vector<Token> out;
        for (;;) {
            skip_blanks_and_comments();
            if (failed_) return Error{std::move(error_)};
            Token t;
            t.begin = static_cast<uint32_t>(i_);
            t.pos = pos_at(i_);
            if (i_ >= src_.size()) {
                t.kind = Tok::End;
                t.end = t.begin;
                out.push_back(std::move(t));
                return out;
            }
            // After a name, ".5" is a path step ("a.5"), not a number.
            after_name_ = !out.empty() && (out.back().kind == Tok::QuotedIdent ||
                                           (out.back().kind == Tok::Ident && out.back().kw == Kw::None));
            scan(t);
            if (failed_) return Error{std::move(error_)};
            t.end = static_cast<uint32_t>(i_);
            out.push_back(std::move(t));
        }
    }

private:
    unsigned char at(std::size_t k) const noexcept {
        return k < src_.size() ? static_cast<unsigned char>(src_[k]) : 0;
    }

    // Positions are asked for in increasing offsets, so walk forward from the last one.
    SrcPos pos_at(std::size_t offset) {
        while (cursor_ < offset && cursor_ < src_.size()) {
            const auto c = static_cast<unsigned char>(src_[cursor_]);
            if (c == '\n') {
                ++cursor_pos_.line;
                cursor_pos_.col = 1;
            } else if ((c & 0xC0) != 0x80) {
                ++cursor_pos_.col;
            }
            ++cursor_;
        }
        return cursor_pos_;
    }

    void fail(std::size_t offset, std::string_view message) {
        if (failed_) return;
        failed_ = true;
        error_ = format_error(pos_at(offset), message);
    }

    void skip_blanks_and_comments() {
        while (i_ < src_.size()) {
            const unsigned char c = at(i_);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
                ++i_;
            } else if (c == '-' && at(i_ + 1) == '-') {
                while (i_ < src_.size() && src_[i_] != '\n') ++i_;
            } else if (c == '/' && at(i_ + 1) == '*') {
                const std::size_t start = i_;
                const std::size_t close = src_.find("*/", i_ + 2);
                if (close == std::string_view::npos) {
                    fail(start, "unterminated /* comment");
                    return;
                }
                i_ = close + 2;
            } else {
                return;
            }
        }
    }

    void scan(Token& t) {
        const unsigned char c = at(i_);
        if (is_ident_start(c)) return scan_word(t);
        if (is_digit(c) || (c == '.' && !after_name_ && is_digit(at(i_ + 1)))) return scan_number(t);
        if (c == '\'') return scan_quoted(t, '\'', Tok::String);
        if (c == '"') return scan_quoted(t, '"', Tok::QuotedIdent);
        scan_symbol(t);
    }

    void scan_word(Token& t) {
        const std::size_t start = i_;
        while (i_ < src_.size() && is_ident_char(at(i_))) ++i_;
        t.kind = Tok::Ident;
        t.text = std::string(src_.substr(start, i_ - start));
        t.kw = keyword_of(t.text);
    }

    void scan_number(Token& t) {
        const std::size_t start = i_;
        while (is_digit(at(i_))) ++i_;
        bool decimal = false;
        if (at(i_) == '.' && is_digit(at(i_ + 1))) {
            decimal = true;
            ++i_;
            while (is_digit(at(i_))) ++i_;
        } else if (at(i_) == '.' && !is_ident_start(at(i_ + 1))) {
            // "1." is a complete decimal; "1.x" is left for the parser to reject.
            decimal = true;
            ++i_;
        }
        const unsigned char e = at(i_);
        if ((e == 'e' || e == 'E') &&
            (is_digit(at(i_ + 1)) || ((at(i_ + 1) == '+' || at(i_ + 1) == '-') && is_digit(at(i_ + 2))))) {
            decimal = true;
            i_ += 2;
            while (is_digit(at(i_))) ++i_;
        }
        const std::string digits(src_.substr(start, i_ - start));

        if (is_ident_char(at(i_))) {
            const std::size_t unit_start = i_;
            while (i_ < src_.size() && is_ident_char(at(i_))) ++i_;
            const std::string_view word = src_.substr(start, i_ - start);
            const auto unit = shorthand_unit_ms(src_.substr(unit_start, i_ - unit_start));
            if (decimal || !unit) {
                fail(start, "invalid number or duration '" + std::string(word) +
                                "' (durations are a whole number with ms, s, m, h or d, e.g. 500ms)");
                return;
            }
            const auto n = parse_magnitude(digits, start);
            if (failed_) return;
            const auto ms = scale_duration(n, *unit);
            if (!ms) {
                fail(start, "duration '" + std::string(word) + "' is too large");
                return;
            }
            t.kind = Tok::Duration;
            t.u = static_cast<uint64_t>(*ms);
            return;
        }

        if (decimal) {
            // from_chars: locale-independent, and it reports overflow.
            const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.d);
            if (ec != std::errc{} || ptr != digits.data() + digits.size()) {
                fail(start, "number " + digits + " is out of range for DOUBLE");
                return;
            }
            t.kind = Tok::Decimal;
            return;
        }
        t.kind = Tok::Integer;
        t.u = parse_magnitude(digits, start);
    }

    uint64_t parse_magnitude(const std::string& digits, std::size_t start) {
        uint64_t n = 0;
        for (char ch : digits) {
            const auto digit = static_cast<uint64_t>(ch - '0');
            if (n > (kMaxIntMagnitude - digit) / 10) {
                fail(start, "integer literal " + digits + " is out of range for BIGINT");
                return 0;
            }
            n = n * 10 + digit;
        }
        return n;
    }

    void scan_quoted(Token& t, char quote, Tok kind) {
        const std::size_t start = i_;
        ++i_;
        std::string value;
        for (;;) {
            if (i_ >= src_.size()) {
                fail(start, kind == Tok::String ? "unterminated string literal" : "unterminated quoted identifier");
                return;
            }
            const char c = src_[i_++];
            if (c == quote) {
                if (i_ < src_.size() && src_[i_] == quote) {
                    value.push_back(quote);
                    ++i_;
                    continue;
                }
                break;
            }
            value.push_back(c);
        }
        if (kind == Tok::QuotedIdent && value.empty()) {
            fail(start, "empty quoted identifier");
            return;
        }
        t.kind = kind;
        t.text = std::move(value);
    }

    void scan_symbol(Token& t) {
        const unsigned char c = at(i_);
        const unsigned char n = at(i_ + 1);
        auto take = [&](Tok kind, std::size_t len) {
            t.kind = kind;
            i_ += len;
        };
        switch (c) {
            case '(': return take(Tok::LParen, 1);
            case ')': return take(Tok::RParen, 1);
            case ',': return take(Tok::Comma, 1);
            case '.': return take(Tok::Dot, 1);
            case ';': return take(Tok::Semicolon, 1);
            case '*': return take(Tok::Star, 1);
            case '+': return take(Tok::Plus, 1);
            case '-': return take(Tok::Minus, 1);
            case '/': return take(Tok::Slash, 1);
            case '%': return take(Tok::Percent, 1);
            case '=': return take(Tok::Eq, n == '=' ? 2 : 1);
            case '<':
                if (n == '=') return take(Tok::Le, 2);
                if (n == '>') return take(Tok::Ne, 2);
                return take(Tok::Lt, 1);
            case '>':
                if (n == '=') return take(Tok::Ge, 2);
                return take(Tok::Gt, 1);
            case '!':
                if (n == '=') return take(Tok::Ne, 2);
                break;
            case '|':
                if (n == '|') return take(Tok::Concat, 2);
                break;
            default:
                break;
        }
        std::string message = "unexpected character ";
        if (c >= 0x20 && c < 0x7f) {
            message.push_back('\'');
            message.push_back(static_cast<char>(c));
            message.push_back('\'');
        } else {
            static constexpr char kHex[] = "0123456789abcdef";
            message.append("byte 0x");
            message.push_back(kHex[c >> 4]);
            message.push_back(kHex[c & 0xF]);
        }
        fail(i_, message);
    }

    std::string_view src_;
    std::size_t i_ = 0;
    std::size_t cursor_ = 0;
    SrcPos cursor_pos_;
    bool after_name_ = false;
    bool failed_ = false;
    std::string error_;
};

}  // namespace

std::string format_error(SrcPos pos, std::string_view message) {
    std::string out = "line " + std::to_string(pos.line) + ":" + std::to_string(pos.col) + ": ";
    out.append(message);
    return out;
}

Result<std::vector<Token>> lex(std::string_view sql) { return Lexer(sql).run(); }

bool is_word(const Token& t, std::string_view upper) noexcept {
    if (t.kind != Tok::Ident || t.text.size() != upper.size()) return false;
    for (std::size_t i = 0; i < upper.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(t.text[i])) != upper[i]) return false;
    }
    return true;
}

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace sluice::sql
