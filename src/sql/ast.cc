#include "ast.h"

namespace sluice::sql {

namespace {

bool all_equal(const std::vector<AstPtr>& a, const std::vector<AstPtr>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (!ast_equal(*a[k], *b[k])) return false;
    }
    return true;
}

bool optional_equal(const AstPtr& a, const AstPtr& b) {
    if (!a || !b) return !a && !b;
    return ast_equal(*a, *b);
}

bool over_equal(const OverClause* a, const OverClause* b) {
    if (!a || !b) return !a && !b;
    return a->buffer_rows == b->buffer_rows && a->descending == b->descending &&
           all_equal(a->partition_by, b->partition_by) && optional_equal(a->order_by, b->order_by);
}

bool literal_equal(const Ast& a, const Ast& b) {
    if (a.lit_type != b.lit_type) return false;
    switch (a.lit_type) {
        case Type::Null: return true;
        case Type::Bool: return a.b == b.b;
        case Type::Int: return a.i == b.i;
        case Type::Double: return a.d == b.d;
        case Type::String: return a.s == b.s;
    }
    return false;
}

std::vector<AstPtr> clone_all(const std::vector<AstPtr>& v) {
    std::vector<AstPtr> out;
    out.reserve(v.size());
    for (const AstPtr& a : v) out.push_back(ast_clone(*a));
    return out;
}

}  // namespace

bool ast_equal(const Ast& a, const Ast& b) {
    if (a.kind != b.kind || a.op != b.op) return false;
    switch (a.kind) {
        case AstKind::Literal: return literal_equal(a, b);
        case AstKind::Column: return a.path == b.path;
        case AstKind::Special: return a.special == b.special;
        case AstKind::Cast:
            if (a.cast_to != b.cast_to) return false;
            break;
        case AstKind::Case:
            if (a.has_else != b.has_else) return false;
            break;
        case AstKind::Call:
            if (a.name != b.name || a.star != b.star || a.distinct_arg != b.distinct_arg ||
                !over_equal(a.over.get(), b.over.get())) {
                return false;
            }
            break;
        default:
            break;
    }
    return all_equal(a.args, b.args);
}

AstPtr ast_clone(const Ast& a) {
    auto out = std::make_unique<Ast>();
    out->kind = a.kind;
    out->pos = a.pos;
    out->tok_begin = a.tok_begin;
    out->tok_end = a.tok_end;
    out->height = a.height;
    out->op = a.op;
    out->lit_type = a.lit_type;
    out->i = a.i;
    out->d = a.d;
    out->b = a.b;
    out->s = a.s;
    out->path = a.path;
    out->special = a.special;
    out->args = clone_all(a.args);
    out->name = a.name;
    out->star = a.star;
    out->distinct_arg = a.distinct_arg;
    if (a.over) {
        auto over = std::make_unique<OverClause>();
        over->pos = a.over->pos;
        over->buffer_rows = a.over->buffer_rows;
        over->buffer_pos = a.over->buffer_pos;
        over->partition_by = clone_all(a.over->partition_by);
        if (a.over->order_by) over->order_by = ast_clone(*a.over->order_by);
        over->descending = a.over->descending;
        over->descending_pos = a.over->descending_pos;
        out->over = std::move(over);
    }
    out->cast_to = a.cast_to;
    out->has_else = a.has_else;
    return out;
}

std::string text_of(const Statement& st, uint32_t tok_begin, uint32_t tok_end) {
    std::string out;
    for (uint32_t k = tok_begin; k < tok_end && k < st.tokens.size(); ++k) {
        const Token& t = st.tokens[k];
        if (k > tok_begin && t.begin > st.tokens[k - 1].end) out.push_back(' ');
        out.append(st.source.substr(t.begin, t.end - t.begin));
    }
    return out;
}

std::string dotted(const std::vector<std::string>& path) {
    std::string out;
    for (std::size_t k = 0; k < path.size(); ++k) {
        if (k > 0) out.push_back('.');
        out.append(path[k]);
    }
    return out;
}

}  // namespace sluice::sql
