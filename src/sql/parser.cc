#include "parser.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "duration.h"

namespace sluice::sql {

namespace {

constexpr std::string_view kClauseOrder = "WHERE, GROUP BY, WINDOW, HAVING, LIMIT, EMIT, WITH";

bool comparison_op(Tok kind, ExprOp& op) noexcept {
    switch (kind) {
        case Tok::Eq: op = ExprOp::Eq; return true;
        case Tok::Ne: op = ExprOp::Ne; return true;
        case Tok::Lt: op = ExprOp::Lt; return true;
        case Tok::Le: op = ExprOp::Le; return true;
        case Tok::Gt: op = ExprOp::Gt; return true;
        case Tok::Ge: op = ExprOp::Ge; return true;
        default: return false;
    }
}

std::optional<Type> cast_type(std::string_view upper) {
    if (upper == "BIGINT" || upper == "INT" || upper == "INTEGER") return Type::Int;
    if (upper == "DOUBLE" || upper == "FLOAT" || upper == "REAL") return Type::Double;
    if (upper == "VARCHAR" || upper == "STRING" || upper == "TEXT") return Type::String;
    if (upper == "BOOLEAN" || upper == "BOOL") return Type::Bool;
    return std::nullopt;
}

bool is_clause_keyword(const Token& t) noexcept {
    if (t.kind != Tok::Ident) return false;
    switch (t.kw) {
        case Kw::Where:
        case Kw::Group:
        case Kw::Window:
        case Kw::Having:
        case Kw::Limit:
        case Kw::Emit:
        case Kw::With: return true;
        default: return false;
    }
}

// What may follow the FROM source.
bool starts_clause(const Token& t) noexcept {
    return t.kind == Tok::End || t.kind == Tok::Semicolon || is_clause_keyword(t);
}

class Parser {
public:
    explicit Parser(Statement& st) : st_(st), toks_(st.tokens) {}

    bool parse_statement();
    Error error() const { return err_ ? *err_ : error_at(SrcPos{}, "syntax error"); }

private:
    // Nesting guard: every nested expression (parentheses, arguments, CASE
    // parts) enters through parse_expr; NOT and unary minus recurse on their own.
    struct DepthGuard {
        explicit DepthGuard(Parser& parser) : p(parser) {
            ok = ++p.depth_ <= kMaxDepth;
            if (!ok) p.fail(p.cur().pos, "expression is nested too deeply (more than 256 levels)");
        }
        ~DepthGuard() { --p.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;
        Parser& p;
        bool ok = false;
    };

    // ------------------------------------------------------------ tokens

    const Token& cur() const { return toks_[i_]; }
    const Token& peek(uint32_t k) const { return toks_[std::min<std::size_t>(i_ + k, toks_.size() - 1)]; }
    void advance() {
        if (cur().kind != Tok::End) ++i_;
    }
    bool at(Tok k) const { return cur().kind == k; }
    bool at_kw(Kw k) const { return cur().kind == Tok::Ident && cur().kw == k; }
    bool at_word(std::string_view upper) const { return cur().kw == Kw::None && is_word(cur(), upper); }
    // A token usable as a name: an unreserved identifier or a quoted one.
    bool at_name() const { return (at(Tok::Ident) && cur().kw == Kw::None) || at(Tok::QuotedIdent); }

    bool accept(Tok k) {
        if (!at(k)) return false;
        advance();
        return true;
    }
    bool accept_kw(Kw k) {
        if (!at_kw(k)) return false;
        advance();
        return true;
    }

    bool fail(SrcPos pos, std::string_view message) {
        if (!err_) err_ = error_at(pos, message);
        return false;
    }
    std::string describe(const Token& t) const {
        if (t.kind == Tok::End) return "end of input";
        std::string_view text = st_.source.substr(t.begin, t.end - t.begin);
        std::string out = "'";
        if (text.size() > 40) {
            out.append(text.substr(0, 40));
            out.append("...");
        } else {
            out.append(text);
        }
        out.push_back('\'');
        return out;
    }
    bool expected(std::string_view what) {
        return fail(cur().pos, "expected " + std::string(what) + ", found " + describe(cur()));
    }
    bool expect(Tok k, std::string_view what) { return accept(k) || expected(what); }
    bool expect_kw(Kw k, std::string_view what) { return accept_kw(k) || expected(what); }

    // ------------------------------------------------------------ nodes

    AstPtr make(AstKind kind, SrcPos pos, uint32_t tok_begin) const {
        auto a = std::make_unique<Ast>();
        a->kind = kind;
        a->pos = pos;
        a->tok_begin = tok_begin;
        a->tok_end = i_;
        return a;
    }

    // Closes a node: text range and height; deep trees are refused here, so
    // every later recursive walk is bounded too.
    AstPtr finish(AstPtr a) {
        a->tok_end = std::max(a->tok_end, i_);
        uint32_t h = 0;
        for (const AstPtr& c : a->args) h = std::max(h, c->height);
        if (a->over) {
            for (const AstPtr& c : a->over->partition_by) h = std::max(h, c->height);
            if (a->over->order_by) h = std::max(h, a->over->order_by->height);
        }
        a->height = h + 1;
        if (a->height > kMaxDepth) {
            fail(a->pos, "expression is nested too deeply (more than 256 levels)");
            return nullptr;
        }
        return a;
    }

    AstPtr binary(ExprOp op, AstPtr lhs, AstPtr rhs, SrcPos pos, uint32_t tok_begin) {
        AstPtr a = make(AstKind::Binary, pos, tok_begin);
        a->op = op;
        a->args.push_back(std::move(lhs));
        a->args.push_back(std::move(rhs));
        return finish(std::move(a));
    }

    AstPtr literal(Type type, SrcPos pos, uint32_t tok_begin) const {
        AstPtr a = make(AstKind::Literal, pos, tok_begin);
        a->lit_type = type;
        return a;
    }

    // ------------------------------------------------------------ clauses

    bool parse_item();
    bool parse_source();
    bool parse_window();
    bool parse_with();
    std::optional<int64_t> parse_duration(SrcPos& pos);
    bool reject_trailing();

    // ------------------------------------------------------------ expressions

    AstPtr parse_expr();
    AstPtr parse_or();
    AstPtr parse_and();
    AstPtr parse_not();
    AstPtr parse_cmp();
    AstPtr parse_add();
    AstPtr parse_mul();
    AstPtr parse_unary();
    AstPtr parse_primary();
    AstPtr parse_name();
    AstPtr parse_call();
    bool parse_over(Ast& call);
    AstPtr parse_case();
    AstPtr parse_cast();

    Statement& st_;
    const std::vector<Token>& toks_;
    uint32_t i_ = 0;
    uint32_t depth_ = 0;
    std::optional<Error> err_;
};

bool Parser::parse_statement() {
    const bool create = at_kw(Kw::Create);
    if (create) {
        advance();
        if (!at_word("STREAM")) return expected("STREAM after CREATE");
        advance();
        if (!at_name()) return expected("a stream name");
        st_.stream_name = cur().text;
        st_.stream_pos = cur().pos;
        advance();
        if (!expect_kw(Kw::As, "AS")) return false;
    }
    if (!accept_kw(Kw::Select)) return expected(create ? "SELECT" : "SELECT or CREATE STREAM");
    if (at_kw(Kw::Distinct)) {
        st_.distinct = true;
        st_.distinct_pos = cur().pos;
        advance();
    }
    do {
        if (!parse_item()) return false;
    } while (accept(Tok::Comma));
    if (!expect_kw(Kw::From, "FROM")) return false;
    if (!parse_source()) return false;

    if (accept_kw(Kw::Where)) {
        st_.where = parse_expr();
        if (!st_.where) return false;
    }
    if (accept_kw(Kw::Group)) {
        if (!expect_kw(Kw::By, "BY after GROUP")) return false;
        do {
            AstPtr key = parse_expr();
            if (!key) return false;
            st_.group_by.push_back(std::move(key));
        } while (accept(Tok::Comma));
    }
    if (at_kw(Kw::Window) && !parse_window()) return false;
    if (at_kw(Kw::Having)) {
        st_.having_pos = cur().pos;
        advance();
        st_.having = parse_expr();
        if (!st_.having) return false;
    }
    if (accept_kw(Kw::Limit)) {
        if (!at(Tok::Integer)) return expected("a row count after LIMIT");
        if (cur().u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return fail(cur().pos, "LIMIT is out of range");
        }
        st_.limit = cur().u;
        advance();
    }
    if (accept_kw(Kw::Emit)) {
        if (at_word("CHANGES")) {
            st_.emit = EmitMode::Changes;
        } else if (at_word("FINAL")) {
            st_.emit = EmitMode::Final;
        } else {
            return expected("CHANGES or FINAL after EMIT");
        }
        advance();
    }
    if (at_kw(Kw::With) && !parse_with()) return false;
    accept(Tok::Semicolon);
    return reject_trailing();
}

bool Parser::reject_trailing() {
    if (at(Tok::End)) return true;
    if (is_clause_keyword(cur())) {
        return fail(cur().pos, "unexpected " + to_upper(cur().text) +
                                   ": clauses appear at most once, in the order " + std::string(kClauseOrder));
    }
    if (at(Tok::Semicolon)) return fail(cur().pos, "only one statement is allowed");
    return expected("end of statement");
}

bool Parser::parse_item() {
    if (at(Tok::Star)) {
        return fail(cur().pos, "SELECT * is not supported: records have no fixed schema, name the columns");
    }
    SelectItem item;
    item.expr = parse_expr();
    if (!item.expr) return false;
    const bool explicit_alias = accept_kw(Kw::As);
    if (explicit_alias && !at_name()) return expected("a column alias after AS");
    if (at_name()) {
        // Without AS, a name that is not followed by ',' or FROM was most
        // likely a misspelled FROM: report it, not the token after it.
        const Token& after = peek(1);
        if (!explicit_alias && after.kind != Tok::Comma && !(after.kind == Tok::Ident && after.kw == Kw::From)) {
            return expected("FROM");
        }
        item.alias = cur().text;
        item.has_alias = true;
        item.alias_pos = cur().pos;
        advance();
    }
    st_.items.push_back(std::move(item));
    return true;
}

bool Parser::parse_source() {
    if (!at_name()) return expected("a stream name after FROM");
    st_.from = cur().text;
    st_.from_pos = cur().pos;
    advance();
    const bool explicit_alias = accept_kw(Kw::As);
    if (explicit_alias && !at_name()) return expected("an alias for the stream after AS");
    if (at_name()) {
        // As for select items: a bare name followed by something no clause
        // starts with was most likely a misspelled clause keyword.
        if (!explicit_alias && !starts_clause(peek(1))) {
            return expected(std::string(kClauseOrder) + " or end of statement");
        }
        st_.from_alias = cur().text;
        advance();
    }
    return true;
}

bool Parser::parse_window() {
    advance();  // WINDOW
    WindowClause w;
    w.pos = cur().pos;
    if (at_word("TUMBLING")) {
        w.kind = WindowKind::Tumbling;
    } else if (at_word("SLIDING") || at_word("HOPPING")) {
        w.kind = WindowKind::Sliding;
    } else if (at_word("SESSION")) {
        w.kind = WindowKind::Session;
    } else {
        return expected("TUMBLING, SLIDING, HOPPING or SESSION after WINDOW");
    }
    w.word = to_upper(cur().text);
    advance();
    if (!expect(Tok::LParen, "'(' after " + w.word)) return false;
    w.time = parse_expr();
    if (!w.time) return false;
    if (!expect(Tok::Comma, "',' after the time column")) return false;
    const auto size = parse_duration(w.size_pos);
    if (!size) return false;
    w.size_ms = *size;
    if (w.kind == WindowKind::Sliding) {
        if (!expect(Tok::Comma, "',' before the advance (" + w.word + "(time, size, advance))")) return false;
        const auto advance_ms = parse_duration(w.advance_pos);
        if (!advance_ms) return false;
        w.advance_ms = *advance_ms;
    }
    if (!expect(Tok::RParen, "')' after the " + w.word + " arguments")) return false;
    st_.window = std::move(w);
    return true;
}

std::optional<int64_t> Parser::parse_duration(SrcPos& pos) {
    pos = cur().pos;
    if (at(Tok::Duration)) {
        const auto ms = static_cast<int64_t>(cur().u);
        advance();
        return ms;
    }
    if (!at_kw(Kw::Interval)) {
        expected("a duration (INTERVAL '5' SECOND or 5s)");
        return std::nullopt;
    }
    advance();
    if (!at(Tok::String)) {
        expected("a quoted number after INTERVAL (e.g. INTERVAL '5' SECOND)");
        return std::nullopt;
    }
    const Token& amount = cur();
    advance();
    if (cur().kind == Tok::Ident && cur().kw == Kw::None) {
        const auto unit = unit_ms(cur().text);
        if (!unit) {
            expected("a unit (MILLISECOND, SECOND, MINUTE, HOUR or DAY)");
            return std::nullopt;
        }
        advance();
        const auto ms = parse_duration_string(amount.text + " " + to_lower(toks_[i_ - 1].text));
        if (!ms) {
            fail(amount.pos, "INTERVAL needs a whole non-negative number, found '" + amount.text + "'");
            return std::nullopt;
        }
        return ms;
    }
    // INTERVAL '5 seconds' carries its unit inside the string.
    const auto ms = parse_duration_string(amount.text);
    if (!ms) {
        expected("a unit (MILLISECOND, SECOND, MINUTE, HOUR or DAY) after INTERVAL '" + amount.text + "'");
        return std::nullopt;
    }
    return ms;
}

bool Parser::parse_with() {
    advance();  // WITH
    if (!expect(Tok::LParen, "'(' after WITH")) return false;
    do {
        if (!at(Tok::String)) return expected("a quoted property name (e.g. 'watermark.max_out_of_orderness')");
        Property p;
        p.key = cur().text;
        p.key_pos = cur().pos;
        advance();
        if (!expect(Tok::Eq, "'=' after the property name")) return false;
        p.value_pos = cur().pos;
        if (at(Tok::String)) {
            p.value = cur().text;
        } else if (at(Tok::Duration) || at(Tok::Integer)) {
            p.value = std::string(st_.source.substr(cur().begin, cur().end - cur().begin));
        } else {
            return expected("a quoted property value");
        }
        advance();
        st_.props.push_back(std::move(p));
    } while (accept(Tok::Comma));
    return expect(Tok::RParen, "')' or ',' in WITH (...)");
}

// ---------------------------------------------------------------- expressions

AstPtr Parser::parse_expr() {
    DepthGuard guard(*this);
    if (!guard.ok) return nullptr;
    return parse_or();
}

AstPtr Parser::parse_or() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    AstPtr lhs = parse_and();
    while (lhs && accept_kw(Kw::Or)) {
        AstPtr rhs = parse_and();
        if (!rhs) return nullptr;
        lhs = binary(ExprOp::Or, std::move(lhs), std::move(rhs), p, b);
    }
    return lhs;
}

AstPtr Parser::parse_and() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    AstPtr lhs = parse_not();
    while (lhs && accept_kw(Kw::And)) {
        AstPtr rhs = parse_not();
        if (!rhs) return nullptr;
        lhs = binary(ExprOp::And, std::move(lhs), std::move(rhs), p, b);
    }
    return lhs;
}

AstPtr Parser::parse_not() {
    if (!at_kw(Kw::Not)) return parse_cmp();
    DepthGuard guard(*this);
    if (!guard.ok) return nullptr;
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    advance();
    AstPtr x = parse_not();
    if (!x) return nullptr;
    AstPtr a = make(AstKind::Unary, p, b);
    a->op = ExprOp::Not;
    a->args.push_back(std::move(x));
    return finish(std::move(a));
}

AstPtr Parser::parse_cmp() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    AstPtr lhs = parse_add();
    while (lhs) {
        ExprOp op{};
        if (comparison_op(cur().kind, op)) {
            advance();
            AstPtr rhs = parse_add();
            if (!rhs) return nullptr;
            lhs = binary(op, std::move(lhs), std::move(rhs), p, b);
            continue;
        }
        if (accept_kw(Kw::Is)) {
            const bool negated = accept_kw(Kw::Not);
            if (!accept_kw(Kw::Null)) {
                expected(negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
                return nullptr;
            }
            AstPtr a = make(AstKind::IsNull, p, b);
            a->op = negated ? ExprOp::IsNotNull : ExprOp::IsNull;
            a->args.push_back(std::move(lhs));
            lhs = finish(std::move(a));
            continue;
        }
        bool negated = false;
        if (at_kw(Kw::Not)) {
            const Token& n = peek(1);
            if (n.kind != Tok::Ident || (n.kw != Kw::In && n.kw != Kw::Between && n.kw != Kw::Like)) break;
            negated = true;
            advance();
        }
        if (accept_kw(Kw::In)) {
            if (!expect(Tok::LParen, "'(' after IN")) return nullptr;
            AstPtr a = make(AstKind::In, p, b);
            a->op = negated ? ExprOp::NotIn : ExprOp::In;
            a->args.push_back(std::move(lhs));
            do {
                AstPtr item = parse_expr();
                if (!item) return nullptr;
                a->args.push_back(std::move(item));
            } while (accept(Tok::Comma));
            if (!expect(Tok::RParen, "')' or ',' in the IN list")) return nullptr;
            lhs = finish(std::move(a));
            continue;
        }
        if (accept_kw(Kw::Between)) {
            AstPtr lo = parse_add();
            if (!lo) return nullptr;
            if (!expect_kw(Kw::And, "AND in BETWEEN ... AND ...")) return nullptr;
            AstPtr hi = parse_add();
            if (!hi) return nullptr;
            AstPtr a = make(AstKind::Between, p, b);
            a->op = negated ? ExprOp::NotBetween : ExprOp::Between;
            a->args.push_back(std::move(lhs));
            a->args.push_back(std::move(lo));
            a->args.push_back(std::move(hi));
            lhs = finish(std::move(a));
            continue;
        }
        if (accept_kw(Kw::Like)) {
            AstPtr pattern = parse_add();
            if (!pattern) return nullptr;
            AstPtr a = make(AstKind::Like, p, b);
            a->op = negated ? ExprOp::NotLike : ExprOp::Like;
            a->args.push_back(std::move(lhs));
            a->args.push_back(std::move(pattern));
            lhs = finish(std::move(a));
            continue;
        }
        break;
    }
    return lhs;
}

AstPtr Parser::parse_add() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    AstPtr lhs = parse_mul();
    while (lhs) {
        ExprOp op{};
        if (at(Tok::Plus)) {
            op = ExprOp::Add;
        } else if (at(Tok::Minus)) {
            op = ExprOp::Sub;
        } else if (at(Tok::Concat)) {
            op = ExprOp::Concat;
        } else {
            break;
        }
        advance();
        AstPtr rhs = parse_mul();
        if (!rhs) return nullptr;
        lhs = binary(op, std::move(lhs), std::move(rhs), p, b);
    }
    return lhs;
}

AstPtr Parser::parse_mul() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    AstPtr lhs = parse_unary();
    while (lhs) {
        ExprOp op{};
        if (at(Tok::Star)) {
            op = ExprOp::Mul;
        } else if (at(Tok::Slash)) {
            op = ExprOp::Div;
        } else if (at(Tok::Percent)) {
            op = ExprOp::Mod;
        } else {
            break;
        }
        advance();
        AstPtr rhs = parse_unary();
        if (!rhs) return nullptr;
        lhs = binary(op, std::move(lhs), std::move(rhs), p, b);
    }
    return lhs;
}

AstPtr Parser::parse_unary() {
    if (!at(Tok::Minus) && !at(Tok::Plus)) return parse_primary();
    DepthGuard guard(*this);
    if (!guard.ok) return nullptr;
    const bool negate = at(Tok::Minus);
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    advance();
    if (negate && (at(Tok::Integer) || at(Tok::Decimal))) {
        // A negative literal is a constant (this is also the only way to write INT64_MIN).
        const Token& t = cur();
        advance();
        AstPtr a = literal(t.kind == Tok::Integer ? Type::Int : Type::Double, p, b);
        if (t.kind == Tok::Integer) {
            a->i = t.u == kMaxIntMagnitude ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(t.u);
        } else {
            a->d = -t.d;
        }
        return finish(std::move(a));
    }
    AstPtr x = parse_unary();
    if (!x) return nullptr;
    if (!negate) {
        x->pos = p;
        x->tok_begin = b;
        return x;
    }
    AstPtr a = make(AstKind::Unary, p, b);
    a->op = ExprOp::Neg;
    a->args.push_back(std::move(x));
    return finish(std::move(a));
}

AstPtr Parser::parse_primary() {
    const Token& t = cur();
    const uint32_t b = i_;
    const SrcPos p = t.pos;
    switch (t.kind) {
        case Tok::Integer: {
            if (t.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                fail(p, "integer literal " + std::to_string(t.u) + " is out of range for BIGINT");
                return nullptr;
            }
            advance();
            AstPtr a = literal(Type::Int, p, b);
            a->i = static_cast<int64_t>(t.u);
            return finish(std::move(a));
        }
        case Tok::Decimal: {
            advance();
            AstPtr a = literal(Type::Double, p, b);
            a->d = t.d;
            return finish(std::move(a));
        }
        case Tok::String: {
            advance();
            AstPtr a = literal(Type::String, p, b);
            a->s = t.text;
            return finish(std::move(a));
        }
        case Tok::Duration:
            fail(p, "a duration such as " + describe(t) + " is only allowed in WINDOW (...)");
            return nullptr;
        case Tok::LParen: {
            advance();
            AstPtr x = parse_expr();
            if (!x) return nullptr;
            if (!expect(Tok::RParen, "')'")) return nullptr;
            x->pos = p;
            x->tok_begin = b;
            x->tok_end = i_;
            return x;
        }
        case Tok::QuotedIdent:
            return parse_name();
        case Tok::Ident:
            switch (t.kw) {
                case Kw::None: return parse_name();
                case Kw::True:
                case Kw::False: {
                    advance();
                    AstPtr a = literal(Type::Bool, p, b);
                    a->b = t.kw == Kw::True;
                    return finish(std::move(a));
                }
                case Kw::Null:
                    advance();
                    return finish(literal(Type::Null, p, b));
                case Kw::Case: return parse_case();
                case Kw::Cast: return parse_cast();
                case Kw::Interval:
                    fail(p, "INTERVAL is only allowed in WINDOW (...)");
                    return nullptr;
                default: break;
            }
            break;
        default:
            break;
    }
    expected("an expression");
    return nullptr;
}

AstPtr Parser::parse_name() {
    if (at(Tok::Ident) && peek(1).kind == Tok::LParen) return parse_call();
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    const bool quoted = at(Tok::QuotedIdent);
    AstPtr a = make(AstKind::Column, p, b);
    a->path.push_back(cur().text);
    advance();
    while (accept(Tok::Dot)) {
        if (at(Tok::Ident) || at(Tok::QuotedIdent)) {
            a->path.push_back(cur().text);
        } else if (at(Tok::Integer)) {
            a->path.emplace_back(st_.source.substr(cur().begin, cur().end - cur().begin));
        } else {
            expected("a field name after '.'");
            return nullptr;
        }
        advance();
    }
    if (a->path.size() == 1 && !quoted) {
        const std::string upper = to_upper(a->path[0]);
        if (upper == "_WINDOW_START" || upper == "_WINDOW_END" || upper == "_TIMESTAMP" || upper == "_PARTITION" ||
            upper == "_OFFSET") {
            a->kind = AstKind::Special;
            a->special = upper == "_WINDOW_START" ? SpecialColumn::WindowStart
                         : upper == "_WINDOW_END" ? SpecialColumn::WindowEnd
                         : upper == "_PARTITION"  ? SpecialColumn::Partition
                         : upper == "_OFFSET"     ? SpecialColumn::Offset
                                                  : SpecialColumn::Timestamp;
        }
    }
    return finish(std::move(a));
}

AstPtr Parser::parse_call() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    AstPtr a = make(AstKind::Call, p, b);
    a->name = to_upper(cur().text);
    advance();  // name
    advance();  // (
    if (at(Tok::Star)) {
        a->star = true;
        advance();
        if (!expect(Tok::RParen, "')' after '*'")) return nullptr;
    } else if (!accept(Tok::RParen)) {
        if (accept_kw(Kw::Distinct)) a->distinct_arg = true;
        AstPtr first = parse_expr();
        if (!first) return nullptr;
        a->args.push_back(std::move(first));
        const bool substring = a->name == "SUBSTRING" || a->name == "SUBSTR";
        if (substring && accept_kw(Kw::From)) {
            // SUBSTRING(s FROM start [FOR length])
            AstPtr start = parse_expr();
            if (!start) return nullptr;
            a->args.push_back(std::move(start));
            if (at_word("FOR")) {
                advance();
                AstPtr len = parse_expr();
                if (!len) return nullptr;
                a->args.push_back(std::move(len));
            }
            if (!expect(Tok::RParen, "FOR or ')'")) return nullptr;
        } else {
            while (accept(Tok::Comma)) {
                AstPtr arg = parse_expr();
                if (!arg) return nullptr;
                a->args.push_back(std::move(arg));
            }
            if (!expect(Tok::RParen, "')' or ',' in the argument list")) return nullptr;
        }
    }
    if (at_kw(Kw::Over) && !parse_over(*a)) return nullptr;
    return finish(std::move(a));
}

bool Parser::parse_over(Ast& call) {
    auto over = std::make_unique<OverClause>();
    over->pos = cur().pos;
    advance();  // OVER
    if (!expect(Tok::LParen, "'(' after OVER")) return false;
    if (!at_word("ROWS")) return expected("ROWS WINDOW BUFFER n ROWS in OVER (...)");
    advance();
    if (!expect_kw(Kw::Window, "WINDOW after ROWS")) return false;
    if (!at_word("BUFFER")) return expected("BUFFER after ROWS WINDOW");
    advance();
    if (!at(Tok::Integer)) return expected("the number of rows after BUFFER");
    over->buffer_rows = cur().u;
    over->buffer_pos = cur().pos;
    advance();
    if (!at_word("ROWS")) return expected("ROWS after BUFFER n");
    advance();
    if (at_word("PARTITION")) {
        advance();
        if (!expect_kw(Kw::By, "BY after PARTITION")) return false;
        do {
            AstPtr key = parse_expr();
            if (!key) return false;
            over->partition_by.push_back(std::move(key));
        } while (accept(Tok::Comma));
    }
    if (at_word("ORDER")) {
        advance();
        if (!expect_kw(Kw::By, "BY after ORDER")) return false;
        over->order_by = parse_expr();
        if (!over->order_by) return false;
        if (at_word("ASC")) {
            advance();
        } else if (at_word("DESC")) {
            over->descending = true;
            over->descending_pos = cur().pos;
            advance();
        }
    }
    if (!expect(Tok::RParen, "')' to close OVER (...)")) return false;
    call.over = std::move(over);
    return true;
}

AstPtr Parser::parse_case() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    advance();  // CASE
    AstPtr operand;
    if (!at_kw(Kw::When)) {
        operand = parse_expr();
        if (!operand) return nullptr;
    }
    if (!at_kw(Kw::When)) {
        expected("WHEN");
        return nullptr;
    }
    AstPtr a = make(AstKind::Case, p, b);
    while (at_kw(Kw::When)) {
        advance();
        const uint32_t wb = i_;
        const SrcPos wp = cur().pos;
        AstPtr when = parse_expr();
        if (!when) return nullptr;
        if (operand) {
            // CASE x WHEN v THEN ... is CASE WHEN x = v THEN ...
            when = binary(ExprOp::Eq, ast_clone(*operand), std::move(when), wp, wb);
            if (!when) return nullptr;
        }
        if (!expect_kw(Kw::Then, "THEN")) return nullptr;
        AstPtr then = parse_expr();
        if (!then) return nullptr;
        a->args.push_back(std::move(when));
        a->args.push_back(std::move(then));
    }
    if (accept_kw(Kw::Else)) {
        AstPtr otherwise = parse_expr();
        if (!otherwise) return nullptr;
        a->args.push_back(std::move(otherwise));
        a->has_else = true;
        if (!expect_kw(Kw::End, "END to close CASE")) return nullptr;
    } else if (!expect_kw(Kw::End, "WHEN, ELSE or END")) {
        return nullptr;
    }
    return finish(std::move(a));
}

AstPtr Parser::parse_cast() {
    const uint32_t b = i_;
    const SrcPos p = cur().pos;
    advance();  // CAST
    if (!expect(Tok::LParen, "'(' after CAST")) return nullptr;
    AstPtr x = parse_expr();
    if (!x) return nullptr;
    if (!expect_kw(Kw::As, "AS in CAST (x AS type)")) return nullptr;
    if (!at(Tok::Ident)) {
        expected("a type name");
        return nullptr;
    }
    const std::string upper = to_upper(cur().text);
    const auto type = cast_type(upper);
    if (!type) {
        fail(cur().pos, "unknown type '" + cur().text +
                            "' in CAST (expected BIGINT, INT, INTEGER, DOUBLE, FLOAT, REAL, VARCHAR, STRING, "
                            "TEXT or BOOLEAN)");
        return nullptr;
    }
    advance();
    if (upper == "DOUBLE" && at_word("PRECISION")) advance();
    if (*type == Type::String && at(Tok::LParen)) {
        // VARCHAR(n): the length is accepted and not enforced.
        advance();
        if (!at(Tok::Integer)) {
            expected("a length in VARCHAR(n)");
            return nullptr;
        }
        advance();
        if (!expect(Tok::RParen, "')'")) return nullptr;
    }
    if (!expect(Tok::RParen, "')' to close CAST")) return nullptr;
    AstPtr a = make(AstKind::Cast, p, b);
    a->cast_to = *type;
    a->args.push_back(std::move(x));
    return finish(std::move(a));
}

}  // namespace

Result<Statement> parse(std::string_view sql) {
    auto tokens = lex(sql);
    if (!tokens) return tokens.error();
    Statement st;
    st.source = sql;
    st.tokens = std::move(tokens.value());
    Parser parser(st);
    if (!parser.parse_statement()) return parser.error();
    return st;
}

}  // namespace sluice::sql
