// Randomized differential cases: a query description (rendered to SQL for
// the engine, evaluated directly by the reference) and its NDJSON input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::differential {

// splitmix64: the same sequence on every platform, unlike <random>'s distributions.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [lo, hi].
    int64_t range(int64_t lo, int64_t hi) {
        return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
    }
    bool percent(int p) { return range(0, 99) < p; }
    template <class T>
    const T& pick(const std::vector<T>& v) {
        return v[static_cast<std::size_t>(range(0, static_cast<int64_t>(v.size()) - 1))];
    }

private:
    uint64_t state_;
};

// One field of a generated record.
struct Field {
    enum class Kind : uint8_t { Missing, Null, Int, Double, String };
    Kind kind = Kind::Missing;
    int64_t i = 0;
    double d = 0;
    std::string s;     // String: the value
    std::string json;  // the JSON text written to the input (not for Missing)

    bool present() const { return kind != Kind::Missing && kind != Kind::Null; }
    bool is_number() const { return kind == Kind::Int || kind == Kind::Double; }
    double number() const { return kind == Kind::Int ? static_cast<double>(i) : d; }
};

struct Record {
    enum class Line : uint8_t { Object, Malformed, Blank };
    Line line = Line::Object;
    Field k, g, v, s, ts;
    std::string text;  // Object: the line as written (without its newline)
};

enum class QueryKind : uint8_t { Aggregate, Rows, Distinct };
enum class KeyField : uint8_t { K, G };
enum class AggFn : uint8_t {
    CountStar, CountV, SumV, AvgV, MinV, MaxV, MinS, MaxS, FirstV, LastV, CountDistinctG,
    ApproxDistinctG, ApproxDistinctK  // exact up to 384 distinct values, more than k and g ever hold
};
enum class WhereKind : uint8_t { None, VGreater, GNotEqual, VNotNull };
enum class WindowKind : uint8_t { None, Tumbling, Sliding, Session };
enum class RowsFn : uint8_t { Lag, RowNumber, FirstValue, LastValue, Avg, Sum, Min, Max, Count };

struct Query {
    QueryKind kind = QueryKind::Aggregate;
    WhereKind where = WhereKind::None;
    int64_t where_c = 0;

    bool final = false;  // Aggregate and Distinct

    // Aggregate
    std::vector<KeyField> keys;
    std::vector<AggFn> aggs;  // aliased a0, a1, ...
    std::optional<int64_t> having_count;  // HAVING COUNT(*) > c
    WindowKind window = WindowKind::None;
    int64_t size = 0;     // TUMBLING / SLIDING
    int64_t advance = 0;  // SLIDING
    int64_t gap = 0;      // SESSION
    int64_t out_of_orderness = 0;
    int64_t lateness = 0;
    bool explicit_zero_props = false;  // WITH (... '0s') written out
    bool dead_letter = false;          // windowed: 'late.data.strategy' = 'dead_letter'
    // Non-windowed GROUP BY and DISTINCT: 'state.ttl' (ms, 0: none), with
    // 'timestamp' = 'ts'; watermarks as for windows (out_of_orderness).
    int64_t ttl = 0;

    // Rows: SELECT k, v, f OVER (ROWS WINDOW BUFFER buffer ROWS PARTITION BY k) AS a
    RowsFn rows_fn = RowsFn::RowNumber;
    int64_t lag_offset = 1;
    int64_t buffer = 1;

    // Rendering only (the reference ignores them).
    bool keys_last = false;        // key columns after the aggregates
    bool window_cols_first = false;
    int duration_style = 0;
    bool hopping_word = false;

    bool windowed() const { return kind == QueryKind::Aggregate && window != WindowKind::None; }
    bool global() const { return kind == QueryKind::Aggregate && keys.empty(); }
};

struct Case {
    uint64_t seed = 0;
    Query query;
    std::vector<Record> records;  // one per input line
    std::string input;            // the NDJSON bytes
};

Case generate_case(uint64_t seed);
std::string render_sql(const Query& q);
const char* agg_sql(AggFn fn);
std::string json_string(const std::string& s);

}  // namespace sluice::differential
