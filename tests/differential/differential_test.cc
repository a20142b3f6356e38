// Randomized differential test: generated queries and inputs run through
// sluice::run_query with 1 and 4 shards and are checked against the
// reference evaluator (reference.h): the rows, the counters and, under
// 'late.data.strategy' = 'dead_letter', the dead-letter output (the late
// records with their event times and watermarks, as a multiset).
//
// SLUICE_DIFF_SEED (default kDefaultSeed) and SLUICE_DIFF_CASES (default
// kDefaultCases, divided by SLUICE_TEST_SCALE) choose the cases; case i has
// its own seed derived from both, so one case replays with
// --gtest_filter='Cases/Differential.Run/i'.
// SLUICE_DIFF_VERBOSE=1 prints every case's query. A query the engine
// refuses as "not supported yet" skips its case.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../support/files.h"
#include "../support/scale.h"
#include "case_file.h"
#include "case_gen.h"
#include "reference.h"
#include "sluice/runtime.h"

namespace sluice::differential {
namespace {

namespace fs = std::filesystem;
using conformance::Row;

constexpr uint64_t kDefaultSeed = 20250601;
constexpr int kDefaultCases = 150;
constexpr uint32_t kShardCounts[] = {1, 4};

uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* s = std::getenv(name);
    if (s == nullptr || *s == '\0') return fallback;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 0);
    return end != nullptr && *end == '\0' ? v : fallback;
}

uint64_t base_seed() { return env_u64("SLUICE_DIFF_SEED", kDefaultSeed); }
int case_count() { return static_cast<int>(env_u64("SLUICE_DIFF_CASES", testing::scaled(kDefaultCases))); }
uint64_t case_seed(uint64_t base, int index) { return Rng(base ^ (0x51ed27u * static_cast<uint64_t>(index + 1))).next(); }

using testing::read_file;
using testing::temp_base;
using testing::TempDir;
using testing::write_file;

const conformance::JsonValue* member(const conformance::JsonValue& object, const std::string& name) {
    for (std::size_t i = 0; i < object.keys.size(); ++i) {
        if (object.keys[i] == name) return &object.items[i];
    }
    return nullptr;
}

// A key column's value as text; an integral double reads as the integer it
// equals, as values_equal has it.
std::string key_text(const conformance::JsonValue* v) {
    using Kind = conformance::JsonValue::Kind;
    if (v == nullptr) return "absent";
    switch (v->kind) {
        case Kind::Null: return "null";
        case Kind::Bool: return v->boolean ? "true" : "false";
        case Kind::Int: return std::to_string(v->int_value);
        case Kind::UInt: return std::to_string(v->uint_value);
        case Kind::Double: {
            if (std::trunc(v->double_value) == v->double_value && std::fabs(v->double_value) < 9e15)
                return std::to_string(static_cast<int64_t>(v->double_value));
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", v->double_value);
            return buf;
        }
        case Kind::String: return std::string(1, '"').append(v->string).append(1, '"');
        default: return "(array or object)";
    }
}

// A value as text such that equal texts are values_equal (members in key
// order, numbers as key_text has them).
std::string canonical(const conformance::JsonValue& v) {
    using Kind = conformance::JsonValue::Kind;
    if (v.kind == Kind::String) return json_string(v.string);  // escaped: no text of two values
    if (v.kind != Kind::Array && v.kind != Kind::Object) return key_text(&v);
    std::string out(1, v.kind == Kind::Array ? '[' : '{');
    for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        if (v.kind == Kind::Object) out += v.keys[i] + ':';
        out += canonical(v.items[i]);
    }
    return out + (v.kind == Kind::Array ? ']' : '}');
}

// Multisets of rows whose values are identical, without the quadratic
// matching of compare_rows (parts of thousands of equal rows: DISTINCT lives).
bool same_multiset(const std::vector<Row>& expected, const std::vector<Row>& actual) {
    if (expected.size() != actual.size()) return false;
    std::vector<std::string> e, a;
    for (const Row& r : expected) e.push_back(canonical(r.value));
    for (const Row& r : actual) a.push_back(canonical(r.value));
    std::sort(e.begin(), e.end());
    std::sort(a.begin(), a.end());
    return e == a;
}

// Running totals: the last row of each window (by ws; the whole output when there is none).
std::vector<Row> last_per_window(const std::vector<Row>& rows) {
    std::map<std::string, Row> last;
    for (const Row& r : rows) last.insert_or_assign(key_text(member(r.value, "ws")), r);
    std::vector<Row> out;
    for (auto& [ws, r] : last) out.push_back(std::move(r));
    return out;
}

// Rows split by the values of `columns` (hashing, not a linear search, so
// outputs of tens of thousands of rows stay cheap); each part is compared
// with `order`: Exact for order=by-key, Any for a multiset.
conformance::Comparison compare_parts(const std::vector<Row>& expected, const std::vector<Row>& actual,
                                      conformance::OrderMode order, const std::vector<std::string>& columns) {
    std::map<std::string, std::pair<std::vector<Row>, std::vector<Row>>> parts;
    auto key_of = [&columns](const Row& r) {
        std::string key;
        for (const std::string& c : columns) key += c + "=" + key_text(member(r.value, c)) + " ";
        return key;
    };
    for (const Row& r : expected) parts[key_of(r)].first.push_back(r);
    for (const Row& r : actual) parts[key_of(r)].second.push_back(r);
    conformance::Comparison result;
    int reported = 0;
    for (const auto& [key, p] : parts) {
        if (order == conformance::OrderMode::Any && same_multiset(p.first, p.second)) continue;
        const conformance::Comparison c = conformance::compare_rows(p.first, p.second, order, {});
        if (c.ok) continue;
        result.ok = false;
        if (++reported <= 5) result.message += "rows with " + (key.empty() ? std::string("(all)") : key) + ":\n" + c.message;
    }
    if (reported > 5) result.message += "... and " + std::to_string(reported - 5) + " more parts differ\n";
    return result;
}

std::string head(const std::vector<Row>& rows, std::size_t n) {
    std::vector<Row> first(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(std::min(n, rows.size())));
    std::string out = conformance::rows_text(first);
    if (rows.size() > n) out += "  ... (" + std::to_string(rows.size() - n) + " more)\n";
    return out;
}

std::string clip(const std::string& s, std::size_t n) {
    return s.size() <= n ? s : s.substr(0, n) + "\n  ... (clipped)\n";
}

// The dead-letter output against the reference's late records, both as
// multisets of dead_letter_text(); "" when they match. A row must be
// {"reason":"late","event_time":T,"watermark":W,"record":<the input line>},
// the record last and as it arrived.
std::string compare_dead_letters(std::vector<std::string> expected, const std::string& file) {
    using Kind = conformance::JsonValue::Kind;
    static const std::string kRecord = ",\"record\":";
    std::vector<std::string> actual;
    std::string out;
    std::istringstream lines(file);
    for (std::string line; std::getline(lines, line);) {
        const auto v = conformance::parse_json(line);
        const conformance::JsonValue* reason = v.ok() ? member(v.value(), "reason") : nullptr;
        const conformance::JsonValue* t = v.ok() ? member(v.value(), "event_time") : nullptr;
        const conformance::JsonValue* w = v.ok() ? member(v.value(), "watermark") : nullptr;
        const conformance::JsonValue* rec = v.ok() ? member(v.value(), "record") : nullptr;
        const std::size_t at = line.find(kRecord);
        const std::string text = at == std::string::npos ? "" : line.substr(at + kRecord.size(), line.size() - at - kRecord.size() - 1);
        const auto text_value = conformance::parse_json(text);
        if (!reason || reason->kind != Kind::String || reason->string != "late" || !t || t->kind != Kind::Int || !w ||
            w->kind != Kind::Int || !rec || !text_value.ok() || !conformance::values_equal(text_value.value(), *rec)) {
            out += "  not a dead-letter row (or its record is not last): " + line + "\n";
            continue;
        }
        actual.push_back(dead_letter_text(t->int_value, w->int_value, text));
    }
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    std::vector<std::string> missing, extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(), std::back_inserter(missing));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(), std::back_inserter(extra));
    auto list = [&out](const char* what, const std::vector<std::string>& v) {
        for (std::size_t i = 0; i < v.size() && i < 10; ++i) out += std::string("  ") + what + ": " + v[i] + "\n";
        if (v.size() > 10) out += "  ... (" + std::to_string(v.size() - 10) + " more " + what + ")\n";
    };
    list("missing", missing);
    list("unexpected", extra);
    if (!out.empty()) {
        out = "dead letters: expected " + std::to_string(expected.size()) + ", got " + std::to_string(actual.size()) +
              " well-formed\n" + out;
    }
    return out;
}

struct Outcome {
    bool refused = false;  // "not supported yet"
    std::string failure;   // empty on a match
};

Outcome run_and_compare(const std::string& sql, const fs::path& input, const fs::path& output,
                        const fs::path* dead_letter, uint32_t shards, const Expected& e,
                        const std::vector<Row>& expected) {
    QueryOptions options;
    options.sql = sql;
    options.input_path = input.string();
    options.output_path = output.string();
    if (dead_letter) options.dead_letter_path = dead_letter->string();
    options.shards = shards;
    options.parallel_read = false;
    options.idle = IdlePolicy::Adaptive;
    const auto stats = run_query(options);
    if (!stats.ok()) {
        const std::string& m = stats.error().message;
        return Outcome{m.find("not supported yet") != std::string::npos, "run_query failed: " + m + "\n"};
    }
    auto parsed = conformance::parse_rows(read_file(output));
    if (!parsed.ok()) return Outcome{false, "output is not NDJSON objects: " + parsed.error().message + "\n"};
    const std::vector<Row>& actual = parsed.value();

    const conformance::Comparison cmp = compare_parts(
        expected, e.last_per_window ? last_per_window(actual) : actual,
        e.order == conformance::OrderMode::ByKey ? conformance::OrderMode::Exact : conformance::OrderMode::Any,
        e.order_keys);
    const ShardCounters& t = stats->totals;
    std::string counters;
    auto check = [&counters](const char* name, uint64_t want, uint64_t got) {
        if (want != got) counters += "  " + std::string(name) + ": expected " + std::to_string(want) + ", got " + std::to_string(got) + "\n";
    };
    check("records_in", e.records_in, t.records_in);
    check("records_rejected", e.records_rejected, t.records_rejected);
    check("late_dropped", e.late_dropped, t.late_dropped);
    check("records_processed + late_dropped + records_rejected", t.records_in,
          t.records_processed + t.late_dropped + t.records_rejected);
    check("dead_lettered", dead_letter ? t.late_dropped : 0, t.dead_lettered);
    const std::string dead = dead_letter ? compare_dead_letters(e.dead_letters, read_file(*dead_letter)) : "";
    if (cmp.ok && counters.empty() && dead.empty()) return {};

    std::ostringstream msg;
    msg << "expected" << (e.last_per_window ? " (last row per window)" : "")
        << " (order=" << conformance::order_text(e.order, e.order_keys) << "), " << expected.size() << " rows:\n"
        << head(expected, 30) << "actual, " << actual.size() << " rows:\n"
        << head(actual, 30);
    if (!cmp.ok) msg << "difference:\n" << clip(cmp.message, 4000);
    if (!counters.empty()) msg << "counters:\n" << counters;
    msg << clip(dead, 4000);
    return Outcome{false, msg.str()};
}

class Differential : public ::testing::TestWithParam<int> {};

TEST_P(Differential, Run) {
    const int index = GetParam();
    const uint64_t base = base_seed();
    const uint64_t seed = case_seed(base, index);
    const Case c = generate_case(seed);
    const std::string sql = render_sql(c.query);
    const Expected e = evaluate(c.query, c.records);

    std::vector<Row> expected;
    for (const std::string& text : e.rows) {
        auto v = conformance::parse_json(text);
        ASSERT_TRUE(v.ok()) << "the reference wrote a bad row: " << text;
        expected.push_back(Row{text, std::move(v.value())});
    }

    TempDir tmp("sluice-diff");
    ASSERT_FALSE(tmp.path().empty()) << "cannot create a temporary directory";
    const fs::path input = tmp.path() / "input.ndjson";
    ASSERT_TRUE(write_file(input, c.input));

    if (std::getenv("SLUICE_DIFF_VERBOSE") != nullptr) {
        std::printf("case %d: %zu lines, %zu expected rows, late %llu: %s\n", index, c.records.size(), expected.size(),
                    static_cast<unsigned long long>(e.late_dropped), sql.c_str());
    }
    for (const uint32_t shards : kShardCounts) {
        const fs::path dead_letter = tmp.path() / "dead_letter.ndjson";
        const Outcome o = run_and_compare(sql, input, tmp.path() / "output.ndjson",
                                          c.query.dead_letter ? &dead_letter : nullptr, shards, e, expected);
        if (o.refused) GTEST_SKIP() << sql << "\n" << o.failure;
        if (o.failure.empty()) continue;

        // Keep the input (and the query) for a replay.
        const std::string stem = temp_base() + "/sluice-diff-" + std::to_string(base) + "-" + std::to_string(index);
        const bool saved = write_file(stem + ".ndjson", c.input) && write_file(stem + ".sql", sql + "\n");
        std::ostringstream msg;
        msg << "differential case " << index << " (SLUICE_DIFF_SEED=" << base << ", case seed " << seed << "), "
            << shards << " shard(s)\nsql: " << sql << "\n"
            << "input: " << (saved ? stem + ".ndjson" : "(could not be saved)") << " (" << c.records.size()
            << " lines)\nreplay: SLUICE_DIFF_SEED=" << base << " SLUICE_DIFF_CASES=" << index + 1
            << " differential_test --gtest_filter='Cases/Differential.Run/" << index << "'\n"
            << "    or: sluice query --sql " << stem << ".sql --input " << stem << ".ndjson --shards " << shards
            << (c.query.dead_letter ? " --dead-letter " + stem + ".dead.ndjson --stats -" : "") << "\n";
        for (std::size_t k = 0; k < e.notes.size() && k < 3; ++k) msg << "reference note: " << e.notes[k] << "\n";
        if (e.notes.size() > 3) msg << "reference note: ... (" << e.notes.size() - 3 << " more)\n";
        ADD_FAILURE() << msg.str() << o.failure;
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, Differential, ::testing::Range(0, case_count()));

}  // namespace
}  // namespace sluice::differential
