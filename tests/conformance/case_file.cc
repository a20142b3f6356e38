#include "case_file.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace sluice::conformance {
namespace {

constexpr double kRelativeTolerance = 1e-9;

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) {
            lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

Error at_line(std::string_view name, std::size_t line, const std::string& what) {
    return Error{std::string(name) + ":" + std::to_string(line) + ": " + what};
}

Result<JsonValue> convert(simdjson::dom::element el) {
    using simdjson::dom::element_type;
    JsonValue v;
    switch (el.type()) {
    case element_type::NULL_VALUE:
        v.kind = JsonValue::Kind::Null;
        break;
    case element_type::BOOL:
        v.kind = JsonValue::Kind::Bool;
        if (el.get(v.boolean) != simdjson::SUCCESS) return Error{"bad boolean"};
        break;
    case element_type::INT64:
        v.kind = JsonValue::Kind::Int;
        if (el.get(v.int_value) != simdjson::SUCCESS) return Error{"bad integer"};
        break;
    case element_type::UINT64:
        v.kind = JsonValue::Kind::UInt;
        if (el.get(v.uint_value) != simdjson::SUCCESS) return Error{"bad integer"};
        break;
    case element_type::DOUBLE:
        v.kind = JsonValue::Kind::Double;
        if (el.get(v.double_value) != simdjson::SUCCESS) return Error{"bad number"};
        break;
    case element_type::STRING: {
        v.kind = JsonValue::Kind::String;
        std::string_view s;
        if (el.get(s) != simdjson::SUCCESS) return Error{"bad string"};
        v.string = s;
        break;
    }
    case element_type::ARRAY: {
        v.kind = JsonValue::Kind::Array;
        simdjson::dom::array arr;
        if (el.get(arr) != simdjson::SUCCESS) return Error{"bad array"};
        for (simdjson::dom::element item : arr) {
            auto c = convert(item);
            if (!c) return c.error();
            v.items.push_back(std::move(c.value()));
        }
        break;
    }
    case element_type::OBJECT: {
        v.kind = JsonValue::Kind::Object;
        simdjson::dom::object obj;
        if (el.get(obj) != simdjson::SUCCESS) return Error{"bad object"};
        std::vector<std::pair<std::string, JsonValue>> members;
        for (simdjson::dom::key_value_pair kv : obj) {
            auto c = convert(kv.value);
            if (!c) return c.error();
            members.emplace_back(std::string(kv.key), std::move(c.value()));
        }
        std::stable_sort(members.begin(), members.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t k = 1; k < members.size(); ++k) {
            if (members[k].first == members[k - 1].first) {
                return Error{"duplicate key \"" + members[k].first + "\""};
            }
        }
        for (auto& [key, value] : members) {
            v.keys.push_back(std::move(key));
            v.items.push_back(std::move(value));
        }
        break;
    }
    }
    return v;
}

bool is_number(const JsonValue& v) {
    return v.kind == JsonValue::Kind::Int || v.kind == JsonValue::Kind::UInt || v.kind == JsonValue::Kind::Double;
}

double as_double(const JsonValue& v) {
    switch (v.kind) {
    case JsonValue::Kind::Int: return static_cast<double>(v.int_value);
    case JsonValue::Kind::UInt: return static_cast<double>(v.uint_value);
    default: return v.double_value;
    }
}

// Two JSON integers, exactly (doubles would merge neighbours above 2^53).
bool integers_equal(const JsonValue& a, const JsonValue& b) {
    const bool a_int = a.kind == JsonValue::Kind::Int;
    const bool b_int = b.kind == JsonValue::Kind::Int;
    if (a_int && b_int) return a.int_value == b.int_value;
    if (!a_int && !b_int) return a.uint_value == b.uint_value;
    const JsonValue& s = a_int ? a : b;
    const JsonValue& u = a_int ? b : a;
    return s.int_value >= 0 && static_cast<uint64_t>(s.int_value) == u.uint_value;
}

// A key of by-key ordering: the values of the key columns; a column the row
// lacks is absent (std::nullopt), which differs from null.
using RowKey = std::vector<std::optional<JsonValue>>;

const JsonValue* member(const JsonValue& object, std::string_view key) {
    const auto it = std::lower_bound(object.keys.begin(), object.keys.end(), key);
    if (it == object.keys.end() || *it != key) return nullptr;
    return &object.items[static_cast<std::size_t>(it - object.keys.begin())];
}

RowKey row_key(const Row& row, const std::vector<std::string>& columns) {
    RowKey key;
    for (const auto& c : columns) {
        const JsonValue* v = member(row.value, c);
        key.push_back(v ? std::optional<JsonValue>(*v) : std::nullopt);
    }
    return key;
}

bool keys_equal(const RowKey& a, const RowKey& b) {
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (a[k].has_value() != b[k].has_value()) return false;
        if (a[k] && !values_equal(*a[k], *b[k])) return false;
    }
    return true;
}

std::string key_text(const RowKey& key, const std::vector<std::string>& columns) {
    std::string out = "{";
    for (std::size_t k = 0; k < key.size(); ++k) {
        if (k > 0) out += ", ";
        out += columns[k] + "=";
        if (!key[k]) {
            out += "(absent)";
            continue;
        }
        const JsonValue& v = *key[k];
        switch (v.kind) {
        case JsonValue::Kind::Null: out += "null"; break;
        case JsonValue::Kind::Bool: out += v.boolean ? "true" : "false"; break;
        case JsonValue::Kind::Int: out += std::to_string(v.int_value); break;
        case JsonValue::Kind::UInt: out += std::to_string(v.uint_value); break;
        case JsonValue::Kind::Double: {
            std::ostringstream os;
            os.precision(17);
            os << v.double_value;
            out += os.str();
            break;
        }
        case JsonValue::Kind::String: out += "\"" + v.string + "\""; break;
        default: out += "(array or object)"; break;
        }
    }
    return out + "}";
}

// Rows in the same order, one by one.
Comparison compare_exact(const std::vector<Row>& expected, const std::vector<Row>& actual, const std::string& what) {
    Comparison result;
    std::ostringstream msg;
    const std::size_t n = std::min(expected.size(), actual.size());
    for (std::size_t k = 0; k < n; ++k) {
        if (!values_equal(expected[k].value, actual[k].value)) {
            result.ok = false;
            msg << what << "row " << k + 1 << " differs:\n  expected " << expected[k].text << "\n  actual   "
                << actual[k].text << "\n";
            break;
        }
    }
    if (expected.size() != actual.size()) {
        result.ok = false;
        msg << what << expected.size() << " rows expected, " << actual.size() << " produced\n";
        for (std::size_t k = n; k < expected.size(); ++k) msg << "  missing    " << expected[k].text << "\n";
        for (std::size_t k = n; k < actual.size(); ++k) msg << "  unexpected " << actual[k].text << "\n";
    }
    result.message = msg.str();
    return result;
}

// The same multiset. Tolerance makes "equal" non-transitive, so rows are
// paired by a maximum bipartite matching rather than first come, first served.
Comparison compare_any(const std::vector<Row>& expected, const std::vector<Row>& actual) {
    const std::size_t ne = expected.size();
    const std::size_t na = actual.size();
    std::vector<std::vector<std::size_t>> candidates(ne);
    for (std::size_t e = 0; e < ne; ++e) {
        for (std::size_t a = 0; a < na; ++a) {
            if (values_equal(expected[e].value, actual[a].value)) candidates[e].push_back(a);
        }
    }
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::vector<std::size_t> owner(na, kNone);  // actual row -> expected row
    std::vector<char> seen;
    // Kuhn's augmenting paths, iterative so long inputs cannot exhaust the stack.
    auto augment = [&](std::size_t root) {
        struct Frame {
            std::size_t e;
            std::size_t next;
        };
        std::vector<Frame> stack{{root, 0}};
        std::vector<std::size_t> path;  // actual rows taken on the way down
        while (!stack.empty()) {
            Frame& f = stack.back();
            if (f.next == candidates[f.e].size()) {
                stack.pop_back();
                if (!path.empty()) path.pop_back();
                continue;
            }
            const std::size_t a = candidates[f.e][f.next++];
            if (seen[a]) continue;
            seen[a] = 1;
            if (owner[a] == kNone) {
                // Flip the path: every expected row on the stack takes the actual row below it.
                path.push_back(a);
                for (std::size_t k = 0; k < stack.size(); ++k) owner[path[k]] = stack[k].e;
                return true;
            }
            path.push_back(a);
            stack.push_back({owner[a], 0});
        }
        return false;
    };
    std::vector<char> matched(ne, 0);
    for (std::size_t e = 0; e < ne; ++e) {
        seen.assign(na, 0);
        matched[e] = augment(e);
    }

    Comparison result;
    std::ostringstream msg;
    for (std::size_t e = 0; e < ne; ++e) {
        if (!matched[e]) {
            result.ok = false;
            msg << "  missing    " << expected[e].text << "\n";
        }
    }
    for (std::size_t a = 0; a < na; ++a) {
        if (owner[a] == kNone) {
            result.ok = false;
            msg << "  unexpected " << actual[a].text << "\n";
        }
    }
    if (!result.ok) {
        result.message = std::to_string(ne) + " rows expected, " + std::to_string(na) +
                         " produced; unmatched rows (order not checked):\n" + msg.str();
    }
    return result;
}

// Per distinct key: that key's rows in order; interleaving between keys is free.
Comparison compare_by_key(const std::vector<Row>& expected, const std::vector<Row>& actual,
                          const std::vector<std::string>& columns) {
    struct Group {
        RowKey key;
        std::vector<Row> expected;
        std::vector<Row> actual;
    };
    std::vector<Group> groups;
    auto group_of = [&](const Row& row) -> Group& {
        RowKey key = row_key(row, columns);
        for (auto& g : groups) {
            if (keys_equal(g.key, key)) return g;
        }
        groups.push_back(Group{std::move(key), {}, {}});
        return groups.back();
    };
    for (const auto& r : expected) group_of(r).expected.push_back(r);
    for (const auto& r : actual) group_of(r).actual.push_back(r);

    Comparison result;
    for (const auto& g : groups) {
        const Comparison c = compare_exact(g.expected, g.actual, "key " + key_text(g.key, columns) + ": ");
        if (!c.ok) {
            result.ok = false;
            result.message += c.message;
        }
    }
    return result;
}

}  // namespace

bool CaseFile::has_stat(std::string_view stat_name) const {
    return std::any_of(stats.begin(), stats.end(), [&](const ExpectedStat& s) { return s.name == stat_name; });
}

std::optional<uint64_t> counter_value(const ShardCounters& c, std::string_view stat_name) {
    if (stat_name == "records_in") return c.records_in;
    if (stat_name == "records_processed") return c.records_processed;
    if (stat_name == "records_rejected") return c.records_rejected;
    if (stat_name == "late_dropped") return c.late_dropped;
    if (stat_name == "overload_dropped") return c.overload_dropped;
    if (stat_name == "type_mismatch") return c.type_mismatch;
    if (stat_name == "rows_out") return c.rows_out;
    return std::nullopt;
}

Result<JsonValue> parse_json(std::string_view text) {
    simdjson::dom::parser parser;
    simdjson::dom::element el;
    // realloc_if_needed: the text is not padded, simdjson copies it.
    if (const auto err = parser.parse(text.data(), text.size(), true).get(el); err != simdjson::SUCCESS) {
        return Error{std::string("invalid JSON: ") + simdjson::error_message(err)};
    }
    return convert(el);
}

Result<std::vector<Row>> parse_rows(std::string_view ndjson) {
    std::vector<Row> rows;
    const auto lines = split_lines(ndjson);
    for (std::size_t k = 0; k < lines.size(); ++k) {
        if (is_blank(lines[k])) continue;
        auto v = parse_json(lines[k]);
        if (!v) return Error{"line " + std::to_string(k + 1) + ": " + v.error().message + ": " + std::string(lines[k])};
        if (v->kind != JsonValue::Kind::Object) {
            return Error{"line " + std::to_string(k + 1) + ": not a JSON object: " + std::string(lines[k])};
        }
        rows.push_back(Row{std::string(trim(lines[k])), std::move(v.value())});
    }
    return rows;
}

Result<CaseFile> parse_case(std::string_view text, std::string_view name) {
    enum class Section { None, Query, Input, Expected, Stats };
    CaseFile c;
    c.name = name;
    Section section = Section::None;
    std::map<Section, std::size_t> seen;  // section -> its header line
    std::vector<std::string_view> query_lines;

    const auto lines = split_lines(text);
    for (std::size_t k = 0; k < lines.size(); ++k) {
        const std::size_t line_no = k + 1;
        const std::string_view raw = lines[k];
        const std::string_view header = trim(raw);

        Section next = Section::None;
        std::string_view header_rest;
        if (header == "-- query") {
            next = Section::Query;
        } else if (header == "-- input") {
            next = Section::Input;
        } else if (header == "-- stats") {
            next = Section::Stats;
        } else if (header == "-- expected" || header.starts_with("-- expected ")) {
            next = Section::Expected;
            header_rest = trim(header.substr(std::string_view("-- expected").size()));
        }
        if (next != Section::None) {
            if (const auto it = seen.find(next); it != seen.end()) {
                return at_line(name, line_no, "section repeated (first at line " + std::to_string(it->second) + ")");
            }
            seen[next] = line_no;
            section = next;
            if (next == Section::Expected && !header_rest.empty()) {
                // The only option is order=exact|any|by-key:col[,col...]; without it, exact.
                if (!header_rest.starts_with("order=")) {
                    return at_line(name, line_no, "expected 'order=exact|any|by-key:cols', got '" +
                                                      std::string(header_rest) + "'");
                }
                const std::string_view mode = header_rest.substr(6);
                if (mode == "exact") {
                    c.order = OrderMode::Exact;
                } else if (mode == "any") {
                    c.order = OrderMode::Any;
                } else if (mode.starts_with("by-key:")) {
                    c.order = OrderMode::ByKey;
                    std::string_view cols = mode.substr(7);
                    while (true) {
                        const auto comma = cols.find(',');
                        const std::string_view col = trim(cols.substr(0, comma));
                        if (col.empty()) return at_line(name, line_no, "empty column in by-key");
                        if (col.find_first_of(" \t") != std::string_view::npos) {
                            return at_line(name, line_no, "by-key column '" + std::string(col) + "' has a space");
                        }
                        c.order_keys.emplace_back(col);
                        if (comma == std::string_view::npos) break;
                        cols = cols.substr(comma + 1);
                    }
                } else {
                    return at_line(name, line_no, "unknown order '" + std::string(mode) + "'");
                }
            }
            continue;
        }

        switch (section) {
        case Section::None:
            if (header.starts_with("#")) {
                c.description += std::string(trim(header.substr(1)));
                c.description += '\n';
            } else if (!header.empty()) {
                return at_line(name, line_no, "text before the first section: '" + std::string(raw) + "'");
            }
            break;
        case Section::Query:
            query_lines.push_back(raw);
            break;
        case Section::Input:
            // Byte for byte, malformed lines included.
            c.input.append(raw);
            c.input += '\n';
            break;
        case Section::Expected: {
            if (is_blank(raw)) break;
            auto v = parse_json(raw);
            if (!v) return at_line(name, line_no, "expected row: " + v.error().message);
            if (v->kind != JsonValue::Kind::Object) return at_line(name, line_no, "expected row is not a JSON object");
            c.expected.push_back(Row{std::string(trim(raw)), std::move(v.value())});
            break;
        }
        case Section::Stats: {
            if (is_blank(raw)) break;
            const auto eq = header.find('=');
            if (eq == std::string_view::npos) return at_line(name, line_no, "expected 'name=value'");
            const std::string_view stat = trim(header.substr(0, eq));
            const std::string_view value = trim(header.substr(eq + 1));
            if (std::find(kStatNames.begin(), kStatNames.end(), stat) == kStatNames.end()) {
                return at_line(name, line_no, "unknown counter '" + std::string(stat) + "'");
            }
            if (c.has_stat(stat)) return at_line(name, line_no, "counter '" + std::string(stat) + "' repeated");
            uint64_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || value.empty()) {
                return at_line(name, line_no, "counter value '" + std::string(value) + "' is not a non-negative integer");
            }
            c.stats.push_back(ExpectedStat{std::string(stat), n});
            break;
        }
        }
    }

    if (!seen.contains(Section::Query)) return Error{std::string(name) + ": no '-- query' section"};
    if (!seen.contains(Section::Expected)) return Error{std::string(name) + ": no '-- expected' section"};
    while (!query_lines.empty() && is_blank(query_lines.back())) query_lines.pop_back();
    std::size_t first = 0;
    while (first < query_lines.size() && is_blank(query_lines[first])) ++first;
    for (std::size_t k = first; k < query_lines.size(); ++k) {
        if (k > first) c.query += '\n';
        std::string_view l = query_lines[k];
        if (l.ends_with('\r')) l.remove_suffix(1);
        c.query.append(l);
    }
    if (c.query.empty()) return Error{std::string(name) + ": empty query"};
    return c;
}

Result<CaseFile> load_case(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"cannot open " + path};
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string stem = path.substr(path.find_last_of('/') + 1);
    if (const auto dot = stem.rfind('.'); dot != std::string::npos) stem.resize(dot);
    return parse_case(ss.str(), stem);
}

bool numbers_equal(const JsonValue& a, const JsonValue& b) {
    if (a.kind != JsonValue::Kind::Double && b.kind != JsonValue::Kind::Double) return integers_equal(a, b);
    const double x = as_double(a);
    const double y = as_double(b);
    if (x == y) return true;
    if (std::isnan(x) || std::isnan(y)) return false;
    return std::fabs(x - y) <= kRelativeTolerance * std::max(std::fabs(x), std::fabs(y));
}

bool values_equal(const JsonValue& a, const JsonValue& b) {
    if (is_number(a) && is_number(b)) return numbers_equal(a, b);
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case JsonValue::Kind::Null: return true;
    case JsonValue::Kind::Bool: return a.boolean == b.boolean;
    case JsonValue::Kind::String: return a.string == b.string;
    case JsonValue::Kind::Array:
    case JsonValue::Kind::Object:
        if (a.keys != b.keys || a.items.size() != b.items.size()) return false;
        for (std::size_t k = 0; k < a.items.size(); ++k) {
            if (!values_equal(a.items[k], b.items[k])) return false;
        }
        return true;
    default: return false;  // numbers are handled above
    }
}

Comparison compare_rows(const std::vector<Row>& expected, const std::vector<Row>& actual, OrderMode order,
                        const std::vector<std::string>& order_keys) {
    switch (order) {
    case OrderMode::Exact: return compare_exact(expected, actual, "");
    case OrderMode::Any: return compare_any(expected, actual);
    case OrderMode::ByKey: return compare_by_key(expected, actual, order_keys);
    }
    return Comparison{false, "unknown order mode"};
}

std::string order_text(OrderMode order, const std::vector<std::string>& order_keys) {
    switch (order) {
    case OrderMode::Exact: return "exact";
    case OrderMode::Any: return "any";
    case OrderMode::ByKey: {
        std::string s = "by-key:";
        for (std::size_t k = 0; k < order_keys.size(); ++k) s += (k ? "," : "") + order_keys[k];
        return s;
    }
    }
    return "?";
}

std::string rows_text(const std::vector<Row>& rows) {
    if (rows.empty()) return "  (no rows)\n";
    std::string out;
    for (const auto& r : rows) out += "  " + r.text + "\n";
    return out;
}

}  // namespace sluice::conformance
