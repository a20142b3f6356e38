#include "case_gen.h"

#include <algorithm>
#include <cstdio>

namespace sluice::differential {

namespace {

Field int_field(int64_t x) {
    Field f;
    f.kind = Field::Kind::Int;
    f.i = x;
    f.json = std::to_string(x);
    return f;
}

Field null_field() {
    Field f;
    f.kind = Field::Kind::Null;
    f.json = "null";
    return f;
}

Field string_field(const std::string& s) {
    Field f;
    f.kind = Field::Kind::String;
    f.s = s;
    f.json = json_string(s);
    return f;
}

// Quarters only: sums of them stay exact in a double, whatever the order.
Field double_field(Rng& rng, int64_t quarters) {
    Field f;
    f.kind = Field::Kind::Double;
    f.d = static_cast<double>(quarters) * 0.25;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", f.d);
    f.json = buf;
    if (rng.percent(10)) f.json += "e0";  // exponent form, still a DOUBLE
    return f;
}

int64_t pick_size(Rng& rng) { return rng.pick(std::vector<int64_t>{500, 1000, 2000, 3000, 5000, 10000}); }

int64_t pick_advance(Rng& rng, int64_t size) {
    if (rng.percent(50)) {
        // Divides size.
        return size / rng.pick(std::vector<int64_t>{1, 2, 4, 5});
    }
    // Does not divide size (when it can).
    for (int tries = 0; tries < 8; ++tries) {
        const int64_t a = rng.range(std::max<int64_t>(1, size / 5), size - 1);
        if (size % a != 0) return a;
    }
    return size * 2 / 3;
}

AggFn pick_agg(Rng& rng) { return static_cast<AggFn>(rng.range(0, static_cast<int64_t>(AggFn::ApproxDistinctK))); }

void pick_where(Rng& rng, Query& q, int64_t g_max) {
    const int64_t r = rng.range(0, 99);
    if (r < 50) {
        q.where = WhereKind::None;
    } else if (r < 70) {
        q.where = WhereKind::VGreater;
        q.where_c = rng.range(-10, 60);
    } else if (r < 90) {
        q.where = WhereKind::GNotEqual;
        q.where_c = rng.range(0, g_max);
    } else {
        q.where = WhereKind::VNotNull;
    }
}

Query generate_query(Rng& rng, int64_t g_max) {
    Query q;
    const int64_t kind = rng.range(0, 99);
    q.kind = kind < 70 ? QueryKind::Aggregate : kind < 85 ? QueryKind::Rows : QueryKind::Distinct;
    pick_where(rng, q, g_max);
    q.duration_style = static_cast<int>(rng.range(0, 2));
    if (q.kind == QueryKind::Rows) {
        q.rows_fn = static_cast<RowsFn>(rng.range(0, static_cast<int64_t>(RowsFn::Count)));
        q.lag_offset = q.rows_fn == RowsFn::Lag && rng.percent(50) ? 2 : 1;
        q.buffer = rng.range(q.rows_fn == RowsFn::Lag ? q.lag_offset + 1 : 1, 6);
        return q;
    }
    if (q.kind == QueryKind::Distinct) {
        q.final = rng.percent(30);
        if (rng.percent(50)) {
            q.ttl = 1;  // scaled to the input's clock in generate_case
            q.explicit_zero_props = rng.percent(20);
        }
        return q;
    }

    const int64_t nkeys = rng.range(0, 99) < 25 ? 0 : rng.range(0, 99) < 60 ? 1 : 2;
    if (nkeys == 1) q.keys = {rng.percent(50) ? KeyField::K : KeyField::G};
    if (nkeys == 2) q.keys = rng.percent(50) ? std::vector{KeyField::K, KeyField::G} : std::vector{KeyField::G, KeyField::K};
    const int64_t naggs = rng.range(1, 4);
    for (int64_t a = 0; a < naggs; ++a) q.aggs.push_back(pick_agg(rng));
    if (rng.percent(25)) q.having_count = rng.range(0, 3);
    q.final = rng.percent(50);
    q.keys_last = rng.percent(30);
    q.window_cols_first = rng.percent(30);

    const int64_t w = rng.range(0, 99);
    q.window = w < 30 ? WindowKind::None : w < 65 ? WindowKind::Tumbling : w < 85 ? WindowKind::Sliding : WindowKind::Session;
    if (q.window == WindowKind::Session && q.keys.empty()) q.window = WindowKind::Tumbling;
    if (q.window == WindowKind::None) {
        if (!q.keys.empty() && rng.percent(50)) {
            q.ttl = 1;  // scaled to the input's clock in generate_case
            q.explicit_zero_props = rng.percent(20);
        }
        return q;
    }
    q.size = pick_size(rng);
    if (q.window == WindowKind::Sliding) {
        q.advance = pick_advance(rng, q.size);
        q.hopping_word = rng.percent(20);
    }
    if (q.window == WindowKind::Session) {
        q.gap = rng.pick(std::vector<int64_t>{300, 1000, 2000, 5000});
        q.size = q.gap;
    }
    if (rng.percent(50)) q.out_of_orderness = rng.pick(std::vector<int64_t>{q.size / 4, q.size, 2 * q.size, 250});
    if (rng.percent(30)) q.lateness = rng.pick(std::vector<int64_t>{q.size / 2, q.size, 2 * q.size});
    q.explicit_zero_props = rng.percent(20);
    q.dead_letter = rng.percent(30);
    return q;
}

bool uses_agg(const Query& q, AggFn fn) { return std::find(q.aggs.begin(), q.aggs.end(), fn) != q.aggs.end(); }

std::string malformed_line(Rng& rng) {
    static const std::vector<std::string> lines = {
        "{\"k\":\"a\",\"v\":", "[1,2,3]", "not json", "{\"k\":\"a\"} {\"k\":\"b\"}", "{\"v\":1,}", "42",
    };
    return rng.pick(lines);
}

// A value of the number field v, per the case's mix.
struct VMix {
    int doubles = 0;  // percent
    int nulls = 0;
    int strings = 0;
};

Field gen_v(Rng& rng, const VMix& mix) {
    const int64_t r = rng.range(0, 99);
    if (r < mix.nulls) return rng.percent(50) ? Field{} : null_field();
    if (r < mix.nulls + mix.strings) return string_field("x");
    if (r < mix.nulls + mix.strings + mix.doubles) {
        if (rng.percent(20)) return double_field(rng, 4 * rng.range(-20, 100));  // integral: "7.00"
        return double_field(rng, rng.range(-80, 400));
    }
    return int_field(rng.range(-20, 100));
}

Field gen_ts(Rng& rng, int64_t t) {
    const int64_t r = rng.range(0, 999);
    if (r < 10) return Field{};                  // missing
    if (r < 15) return null_field();
    if (r < 25) return string_field("later");
    if (r < 35) {                                // fractional: not a time
        Field f;
        f.kind = Field::Kind::Double;
        f.d = static_cast<double>(t) + 0.5;
        f.json = std::to_string(t) + ".5";
        return f;
    }
    if (r < 55) {                                // integral double: a time
        Field f;
        f.kind = Field::Kind::Double;
        f.d = static_cast<double>(t);
        f.json = std::to_string(t) + ".0";
        return f;
    }
    return int_field(t);
}

std::string record_json(Rng& rng, const Record& r) {
    std::vector<std::pair<const char*, const Field*>> fields = {
        {"k", &r.k}, {"g", &r.g}, {"v", &r.v}, {"s", &r.s}, {"ts", &r.ts}};
    // A random member order: the decoder must not depend on it.
    for (std::size_t i = fields.size(); i > 1; --i) {
        std::swap(fields[i - 1], fields[static_cast<std::size_t>(rng.range(0, static_cast<int64_t>(i) - 1))]);
    }
    std::string out = "{";
    bool first = true;
    for (const auto& [name, f] : fields) {
        if (f->kind == Field::Kind::Missing) continue;
        if (!first) out += ",";
        first = false;
        out += "\"";
        out += name;
        out += "\":" + f->json;
    }
    return out + "}";
}

}  // namespace

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "\"";
}

const char* agg_sql(AggFn fn) {
    switch (fn) {
        case AggFn::CountStar: return "COUNT(*)";
        case AggFn::CountV: return "COUNT(v)";
        case AggFn::SumV: return "SUM(v)";
        case AggFn::AvgV: return "AVG(v)";
        case AggFn::MinV: return "MIN(v)";
        case AggFn::MaxV: return "MAX(v)";
        case AggFn::MinS: return "MIN(s)";
        case AggFn::MaxS: return "MAX(s)";
        case AggFn::FirstV: return "FIRST(v)";
        case AggFn::LastV: return "LAST(v)";
        case AggFn::CountDistinctG: return "COUNT(DISTINCT g)";
        case AggFn::ApproxDistinctG: return "APPROX_COUNT_DISTINCT(g)";
        case AggFn::ApproxDistinctK: return "APPROX_COUNT_DISTINCT(k)";
    }
    return "?";
}

Case generate_case(uint64_t seed) {
    Rng rng(seed);
    Case c;
    c.seed = seed;
    const int64_t g_max = rng.range(1, 5);
    c.query = generate_query(rng, g_max);
    const Query& q = c.query;

    // MIN/MAX over a mix of numbers and strings depends on which comes
    // first; whether FIRST_VALUE/LAST_VALUE skip NULLs is not fixed: there v
    // is always a number.
    const bool v_min_max = uses_agg(q, AggFn::MinV) || uses_agg(q, AggFn::MaxV) ||
                           (q.kind == QueryKind::Rows && (q.rows_fn == RowsFn::Min || q.rows_fn == RowsFn::Max));
    const bool v_plain = q.kind == QueryKind::Rows && (q.rows_fn == RowsFn::FirstValue || q.rows_fn == RowsFn::LastValue);
    VMix mix;
    mix.doubles = rng.percent(40) ? static_cast<int>(rng.range(5, 50)) : 0;
    mix.nulls = v_plain ? 0 : static_cast<int>(rng.range(0, 15));
    mix.strings = v_plain || v_min_max || !rng.percent(30) ? 0 : 3;

    // Mostly a handful of keys; sometimes hundreds, so group tables grow.
    std::vector<std::string> k_values = {"a", "b", "c", "d", "\xc3\xa9"};
    k_values.resize(static_cast<std::size_t>(rng.range(1, 5)));
    if (rng.percent(15)) {
        const int64_t many = rng.range(20, 300);
        for (int64_t i = 0; i < many; ++i) k_values.push_back("k" + std::to_string(i));
    }
    static const std::vector<std::string> s_values = {"apple", "Banana", "cherry", "\xc3\xa9" "clair", "q\"uote", "", "b"};

    // Event times: a steady clock with bounded disorder and a few stragglers.
    const int64_t scale = q.windowed() ? q.size : 1000;
    const int64_t base = rng.percent(30) ? rng.range(0, scale) : rng.range(0, 10'000'000);
    const int64_t step = std::max<int64_t>(1, scale / rng.range(2, 12));
    const int64_t disorder = rng.pick(std::vector<int64_t>{0, scale / 4, scale, 3 * scale});
    const int straggler_pct = static_cast<int>(rng.range(0, 5));
    if (q.ttl != 0) {
        // From groups that age out between any two of their records to groups that never do.
        c.query.ttl = step * rng.pick(std::vector<int64_t>{1, 2, 3, 5, 10, 40});
        if (rng.percent(40)) c.query.out_of_orderness = rng.pick(std::vector<int64_t>{step, q.ttl / 2, q.ttl, 3 * step});
    }

    // A few inputs span several 1 MiB read chunks, so watermarks also travel
    // between records; only where the reference stays linear.
    const bool big_ok = q.kind == QueryKind::Distinct ||
                        (q.kind == QueryKind::Aggregate &&
                         (q.window == WindowKind::Tumbling || q.window == WindowKind::Sliding ||
                          (q.window == WindowKind::None && (q.final || q.keys.empty()))));
    const int64_t size_roll = rng.range(0, 99);
    int64_t n = size_roll < 3 ? 0 : size_roll < 18 ? rng.range(1, 10) : size_roll < 60 ? rng.range(10, 60)
                                                                                        : rng.range(60, 300);
    if (big_ok && rng.percent(4)) n = rng.range(20'000, 40'000);
    // state.ttl: sometimes thousands of short-lived keys (each k for `churn`
    // records in a row), so aged-out groups are swept and the table compacted.
    // Only where every group holds one k (APPROX_COUNT_DISTINCT(k) stays exact)
    // and lives stay short (the reference stays linear).
    const bool k_key = std::find(q.keys.begin(), q.keys.end(), KeyField::K) != q.keys.end();
    const int64_t churn = q.ttl != 0 && (q.kind == QueryKind::Distinct || k_key) && rng.percent(8) ? rng.range(1, 3) : 0;
    if (churn) n = rng.range(8'000, 16'000);
    for (int64_t i = 0; i < n; ++i) {
        Record r;
        if (rng.range(0, 999) < 15) {
            r.line = Record::Line::Malformed;
            c.input += malformed_line(rng) + "\n";
            c.records.push_back(r);
            continue;
        }
        if (rng.range(0, 999) < 8) {
            r.line = Record::Line::Blank;
            c.input += rng.percent(50) ? "\n" : "   \n";
            c.records.push_back(r);
            continue;
        }
        const int64_t kr = rng.range(0, 99);
        if (kr < 8) {
            r.k = Field{};
        } else if (kr < 15) {
            r.k = null_field();
        } else {
            r.k = string_field(churn ? "c" + std::to_string(i / churn) : rng.pick(k_values));
        }
        const int64_t gr = rng.range(0, 99);
        r.g = gr < 5 ? Field{} : gr < 10 ? null_field() : int_field(rng.range(0, g_max));
        r.v = gen_v(rng, mix);
        const int64_t sr = rng.range(0, 99);
        r.s = sr < 10 ? Field{} : sr < 20 ? null_field() : string_field(rng.pick(s_values));
        int64_t t = base + i * step + (disorder > 0 ? rng.range(-disorder, disorder) : 0);
        if (rng.percent(straggler_pct)) t -= rng.range(scale, 5 * scale);
        r.ts = gen_ts(rng, std::max<int64_t>(0, t));
        r.text = record_json(rng, r);
        if (rng.range(0, 999) < 15) r.text = (rng.percent(50) ? " " : "\t") + r.text + " ";  // kept verbatim in dead letters
        c.input += r.text + "\n";
        c.records.push_back(std::move(r));
    }
    return c;
}

namespace {

std::string duration(int64_t ms, int style) {
    if (style == 1) return std::to_string(ms) + "ms";
    if (style == 2 && ms % 1000 == 0) return "INTERVAL '" + std::to_string(ms / 1000) + "' SECOND";
    if (style == 2) return std::to_string(ms) + "ms";
    return "INTERVAL '" + std::to_string(ms) + "' MILLISECOND";
}

std::string property_duration(int64_t ms) {
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::string where_sql(const Query& q) {
    switch (q.where) {
        case WhereKind::None: return "";
        case WhereKind::VGreater: return " WHERE v > " + std::to_string(q.where_c);
        case WhereKind::GNotEqual: return " WHERE g <> " + std::to_string(q.where_c);
        case WhereKind::VNotNull: return " WHERE v IS NOT NULL";
    }
    return "";
}

const char* rows_fn_sql(const Query& q) {
    switch (q.rows_fn) {
        case RowsFn::Lag: return q.lag_offset == 1 ? "LAG(v)" : "LAG(v, 2)";
        case RowsFn::RowNumber: return "ROW_NUMBER()";
        case RowsFn::FirstValue: return "FIRST_VALUE(v)";
        case RowsFn::LastValue: return "LAST_VALUE(v)";
        case RowsFn::Avg: return "AVG(v)";
        case RowsFn::Sum: return "SUM(v)";
        case RowsFn::Min: return "MIN(v)";
        case RowsFn::Max: return "MAX(v)";
        case RowsFn::Count: return "COUNT(v)";
    }
    return "?";
}

std::string with_sql(const Query& q) {
    const bool timed = q.windowed() || q.ttl != 0;
    std::vector<std::string> props;
    if (q.ttl != 0) {
        props.push_back("'state.ttl' = '" + (q.duration_style == 1 ? std::to_string(q.ttl) + "ms" : property_duration(q.ttl)) + "'");
    }
    if (q.out_of_orderness > 0 || (timed && q.explicit_zero_props)) {
        props.push_back("'watermark.max_out_of_orderness' = '" + property_duration(q.out_of_orderness) + "'");
    }
    if (q.lateness > 0 || (q.windowed() && q.explicit_zero_props)) {
        props.push_back("'window.allowed_lateness' = '" + property_duration(q.lateness) + "'");
    }
    if (q.dead_letter || (q.windowed() && q.explicit_zero_props)) {
        props.push_back(std::string("'late.data.strategy' = '") + (q.dead_letter ? "dead_letter" : "drop") + "'");
    }
    if (q.ttl != 0) props.push_back("'timestamp' = 'ts'");
    if (props.empty()) return "";
    std::string sql = " WITH (";
    for (std::size_t i = 0; i < props.size(); ++i) sql += (i ? ", " : "") + props[i];
    return sql + ")";
}

}  // namespace

std::string render_sql(const Query& q) {
    if (q.kind == QueryKind::Distinct) {
        return "SELECT DISTINCT k, g FROM t" + where_sql(q) + (q.final ? " EMIT FINAL" : "") + with_sql(q);
    }
    if (q.kind == QueryKind::Rows) {
        return std::string("SELECT k, v, ") + rows_fn_sql(q) + " OVER (ROWS WINDOW BUFFER " + std::to_string(q.buffer) +
               " ROWS PARTITION BY k) AS a FROM t" + where_sql(q);
    }

    std::vector<std::string> keys;
    for (KeyField k : q.keys) keys.push_back(k == KeyField::K ? "k" : "g");
    std::vector<std::string> aggs;
    for (std::size_t a = 0; a < q.aggs.size(); ++a) aggs.push_back(std::string(agg_sql(q.aggs[a])) + " AS a" + std::to_string(a));
    std::vector<std::string> window_cols;
    if (q.windowed()) window_cols = {"_WINDOW_START AS ws", "_WINDOW_END AS we"};

    std::vector<std::string> cols;
    auto append = [&cols](const std::vector<std::string>& v) { cols.insert(cols.end(), v.begin(), v.end()); };
    if (q.window_cols_first) append(window_cols);
    if (!q.keys_last) append(keys);
    append(aggs);
    if (q.keys_last) append(keys);
    if (!q.window_cols_first) append(window_cols);

    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < cols.size(); ++i) sql += (i ? ", " : "") + cols[i];
    sql += " FROM t" + where_sql(q);
    if (!keys.empty()) {
        sql += " GROUP BY ";
        for (std::size_t i = 0; i < keys.size(); ++i) sql += (i ? ", " : "") + keys[i];
    }
    switch (q.window) {
        case WindowKind::None: break;
        case WindowKind::Tumbling: sql += " WINDOW TUMBLING(ts, " + duration(q.size, q.duration_style) + ")"; break;
        case WindowKind::Sliding:
            sql += std::string(" WINDOW ") + (q.hopping_word ? "HOPPING" : "SLIDING") + "(ts, " +
                   duration(q.size, q.duration_style) + ", " + duration(q.advance, q.duration_style) + ")";
            break;
        case WindowKind::Session: sql += " WINDOW SESSION(ts, " + duration(q.gap, q.duration_style) + ")"; break;
    }
    if (q.having_count) sql += " HAVING COUNT(*) > " + std::to_string(*q.having_count);
    sql += q.final ? " EMIT FINAL" : " EMIT CHANGES";
    return sql + with_sql(q);
}

}  // namespace sluice::differential
