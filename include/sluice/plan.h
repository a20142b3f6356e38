// The plan: what the SQL front end hands to the engine. Everything the data
// path needs is resolved here, once: field slots, flat expression trees,
// aggregate specs, the window, the emission mode and the properties.
//
// Expressions are stored in a pool of nodes addressed by ExprId; children are
// listed in ExprPool::args[first_arg .. first_arg + nargs). Evaluation is a
// switch over ExprOp (no virtual calls).
//
// Two evaluation phases exist for aggregate queries:
//  - pre-aggregation (on the shard that read the record): `where`,
//    `group_keys`, every AggSpec::arg and `window.time` see Field nodes;
//  - post-aggregation (on the shard that owns the group): `having` and the
//    output columns see only Const, KeyRef, AggRef, WindowStart/WindowEnd and
//    operators/functions over them (the planner rewrites group-key
//    expressions to KeyRef and aggregate calls to AggRef).
// Stateless queries evaluate `where` and the columns over Field nodes only.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "sluice/value.h"

namespace sluice {

using ExprId = uint32_t;
inline constexpr ExprId kNoExpr = UINT32_MAX;

enum class ExprOp : uint8_t {
    Const,        // index -> ExprPool::consts
    Field,        // index -> field slot (Plan::fields)
    KeyRef,       // index -> group key
    AggRef,       // index -> aggregate (finalized value)
    AnalyticRef,  // index -> Plan::analytics (ROWS windows)
    WindowStart,  // _WINDOW_START (ms)
    WindowEnd,    // _WINDOW_END (ms)
    ArrivalTime,  // _TIMESTAMP (ms at ingest)
    Neg,
    Not,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,  // ||
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    IsNull,
    IsNotNull,
    In,          // args[0] IN (args[1..])
    NotIn,
    Between,     // args: x, lo, hi
    NotBetween,
    Like,        // args: x, pattern
    NotLike,
    Case,        // args: when1, then1, when2, then2, ..., [else] (aux = 1 when an ELSE is present)
    Cast,        // args: x; aux = target Type
    Func,        // aux = Func
};

enum class Func : uint8_t {
    Coalesce,
    Nullif,
    Abs,
    Round,
    Floor,
    Ceil,
    Sqrt,
    Power,
    Mod,
    Greatest,
    Least,
    Upper,
    Lower,
    Length,
    Substring,
    Trim,
    Concat,
    Replace,
};

struct ExprNode {
    ExprOp op = ExprOp::Const;
    uint8_t aux = 0;         // Func id, cast target Type, Case has-else flag
    uint16_t nargs = 0;
    uint32_t first_arg = 0;  // into ExprPool::args
    uint32_t index = 0;      // Const/Field/KeyRef/AggRef/AnalyticRef index
    Type type = Type::Null;  // statically inferred result type; Null = known only at run time
};

struct ExprPool {
    std::vector<ExprNode> nodes;
    std::vector<ExprId> args;
    std::vector<Value> consts;            // string consts point into const_strings
    std::deque<std::string> const_strings;  // deque: stable addresses, also across moves

    ExprPool() = default;
    ExprPool(ExprPool&&) noexcept = default;
    ExprPool& operator=(ExprPool&&) noexcept = default;
    // A copy owns its strings: its string constants point into its own deque.
    ExprPool(const ExprPool& other)
        : nodes(other.nodes), args(other.args), consts(other.consts), const_strings(other.const_strings) {
        for (Value& v : consts) {
            if (v.type != Type::String) continue;
            for (std::size_t k = 0; k < other.const_strings.size(); ++k) {
                if (v.s == other.const_strings[k].data()) {
                    v.s = const_strings[k].data();
                    break;
                }
            }
        }
    }
    ExprPool& operator=(const ExprPool& other) {
        if (this != &other) *this = ExprPool(other);
        return *this;
    }

    const ExprNode& node(ExprId id) const { return nodes[id]; }
    ExprId arg(const ExprNode& n, uint32_t k) const { return args[n.first_arg + k]; }
};

enum class AggKind : uint8_t {
    CountStar,
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    StddevSamp,  // STDDEV, STDDEV_SAMP
    StddevPop,
    VarSamp,     // VARIANCE, VAR_SAMP
    VarPop,
    First,
    Last,
    ApproxCountDistinct,
};

struct AggSpec {
    AggKind kind = AggKind::CountStar;
    ExprId arg = kNoExpr;  // pre-aggregation expression; kNoExpr for COUNT(*)
    std::string text;      // as written, for EXPLAIN and column names
};

// Record metadata a source attaches (Kafka: partition and offset), read
// like a field: the decoder leaves its slot alone (it has no path), the
// source fills it per record (NULL for sources without it).
enum class FieldMeta : uint8_t { None, Partition, Offset };

// A dotted JSON path: "customer.id" -> {"customer", "id"}. Slot = index in Plan::fields.
struct FieldPath {
    std::vector<std::string> parts;
    std::string dotted;
    FieldMeta meta = FieldMeta::None;  // _PARTITION, _OFFSET: parts is empty
};

enum class WindowKind : uint8_t { None, Tumbling, Sliding, Session };

struct WindowSpec {
    WindowKind kind = WindowKind::None;
    ExprId time = kNoExpr;  // pre-aggregation expression giving epoch ms (a Field or ArrivalTime)
    int64_t size_ms = 0;    // TUMBLING / SLIDING size
    int64_t advance_ms = 0; // SLIDING advance
    int64_t gap_ms = 0;     // SESSION gap
};

// ROWS WINDOW BUFFER n ROWS analytic functions (SPEC §7).
enum class AnalyticKind : uint8_t { Lag, RowNumber, FirstValue, LastValue, Avg, Sum, Min, Max, Count };

struct AnalyticSpec {
    AnalyticKind kind = AnalyticKind::RowNumber;
    ExprId arg = kNoExpr;  // kNoExpr for ROW_NUMBER()
    int64_t offset = 1;    // LAG offset
    uint32_t buffer_rows = 0;
    std::vector<ExprId> partition_by;
    ExprId order_by = kNoExpr;
    std::string text;
};

enum class EmitMode : uint8_t { Changes, Final };
enum class LateStrategy : uint8_t { Drop, DeadLetter };

struct Properties {
    int64_t max_out_of_orderness_ms = 0;
    int64_t idle_timeout_ms = 5000;
    int64_t allowed_lateness_ms = 0;
    LateStrategy late_strategy = LateStrategy::Drop;
    std::optional<int64_t> state_ttl_ms;
};

struct OutputColumn {
    std::string name;
    ExprId expr = kNoExpr;
};

struct Plan {
    std::string stream_name;  // CREATE STREAM <name>; empty for a bare SELECT
    std::string source_name;  // FROM <stream>
    std::vector<FieldPath> fields;
    ExprPool exprs;
    ExprId where = kNoExpr;
    std::vector<ExprId> group_keys;  // pre-aggregation expressions
    std::vector<std::string> group_key_text;
    std::vector<AggSpec> aggs;
    std::vector<AnalyticSpec> analytics;
    ExprId having = kNoExpr;  // post-aggregation
    std::vector<OutputColumn> columns;
    WindowSpec window;
    // Without a window: the event time that ages groups under state.ttl
    // (the 'timestamp' property; kNoExpr = arrival time).
    ExprId event_time = kNoExpr;
    EmitMode emit = EmitMode::Changes;
    bool emit_explicit = false;
    bool distinct = false;  // SELECT DISTINCT: planned as GROUP BY the columns, a row when a group appears
    std::optional<uint64_t> limit;
    Properties props;

    bool is_aggregate() const { return !aggs.empty() || !group_keys.empty() || window.kind != WindowKind::None; }
    bool is_global_aggregate() const { return is_aggregate() && group_keys.empty(); }
    bool is_windowed() const { return window.kind != WindowKind::None; }
};

// How an aggregate query's records meet their groups when several shards run
// (one shard does all of it alone). EXPLAIN prints it; QueryState follows it.
enum class Routing : uint8_t {
    TwoPhase,          // no GROUP BY: partials per shard, merged on shard 0
    CombineAtEnd,      // GROUP BY ... EMIT FINAL: combined where read, groups shipped at end of input
    CombinePerWindow,  // windowed EMIT FINAL: combined where read, groups shipped as windows close
    ByKey,             // every record goes to the shard owning its key
};

inline Routing routing_of(const Plan& p) {
    const bool final = p.emit == EmitMode::Final;
    // Sessions depend on all of a key's records in order; a late update to
    // a closed window must reach the one place its row came from; an aged-out
    // group is judged against all of its key's records.
    if (p.window.kind == WindowKind::Session) return Routing::ByKey;
    if (p.group_keys.empty()) return p.is_windowed() && p.props.allowed_lateness_ms > 0 ? Routing::ByKey : Routing::TwoPhase;
    if (!final) return Routing::ByKey;
    if (p.is_windowed()) return p.props.allowed_lateness_ms > 0 ? Routing::ByKey : Routing::CombinePerWindow;
    return p.props.state_ttl_ms ? Routing::ByKey : Routing::CombineAtEnd;
}

}  // namespace sluice
