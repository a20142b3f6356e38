// Conformance case files (shared/conformance/README.md): the parser, the JSON
// row model and the comparator that decides whether an engine run matches.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/result.h"
#include "sluice/stats.h"

namespace sluice::conformance {

// A parsed JSON value. Objects keep their members sorted by key, so two rows
// compare equal whatever order their columns were written in.
struct JsonValue {
    enum class Kind : uint8_t { Null, Bool, Int, UInt, Double, String, Array, Object };
    Kind kind = Kind::Null;
    bool boolean = false;
    int64_t int_value = 0;
    uint64_t uint_value = 0;
    double double_value = 0;
    std::string string;
    std::vector<std::string> keys;  // Object: member names, sorted; parallel to items
    std::vector<JsonValue> items;   // Array elements, or Object member values
};

struct Row {
    std::string text;  // the line as written, for messages
    JsonValue value;   // always an Object
};

enum class OrderMode : uint8_t { Exact, Any, ByKey };

struct ExpectedStat {
    std::string name;
    uint64_t value = 0;
};

struct CaseFile {
    std::string name;         // file stem, e.g. "01_tumbling_count"
    std::string description;  // the leading '#' lines
    std::string query;
    std::string input;        // bytes fed to the engine: every input line plus '\n'
    OrderMode order = OrderMode::Exact;
    std::vector<std::string> order_keys;  // ByKey columns
    std::vector<Row> expected;
    std::vector<ExpectedStat> stats;

    bool has_stat(std::string_view stat_name) const;
};

// The counters a case may check (SPEC §9 plus records_in and rows_out).
inline constexpr std::array<std::string_view, 7> kStatNames = {
    "records_in",   "records_processed", "records_rejected", "late_dropped",
    "overload_dropped", "type_mismatch", "rows_out"};

std::optional<uint64_t> counter_value(const ShardCounters& counters, std::string_view stat_name);

// Parses the text of one case file; name becomes CaseFile::name.
Result<CaseFile> parse_case(std::string_view text, std::string_view name);
Result<CaseFile> load_case(const std::string& path);

// One JSON document (simdjson DOM). Objects with a repeated key are an error.
Result<JsonValue> parse_json(std::string_view text);

// NDJSON output: one object per non-blank line.
Result<std::vector<Row>> parse_rows(std::string_view ndjson);

// Numbers compare by value (an integer equals the same double; relative
// tolerance 1e-9; two integers compare exactly); null equals only null;
// objects need the same keys with equal values.
bool values_equal(const JsonValue& a, const JsonValue& b);
bool numbers_equal(const JsonValue& a, const JsonValue& b);

struct Comparison {
    bool ok = true;
    std::string message;  // what differs, when !ok
};

Comparison compare_rows(const std::vector<Row>& expected, const std::vector<Row>& actual, OrderMode order,
                        const std::vector<std::string>& order_keys);

std::string order_text(OrderMode order, const std::vector<std::string>& order_keys);
std::string rows_text(const std::vector<Row>& rows);

}  // namespace sluice::conformance
