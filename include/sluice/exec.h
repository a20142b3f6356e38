// Execution: expression evaluation, the reading shard's preparation of a
// record for routing, stateless projection, and the owning shard's
// aggregation state (groups, windows, watermarks, emission).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "sluice/arena.h"
#include "sluice/out_buffer.h"
#include "sluice/plan.h"
#include "sluice/stats.h"
#include "sluice/value.h"

namespace sluice {

inline constexpr int64_t kWatermarkMin = INT64_MIN;
inline constexpr int64_t kWatermarkMax = INT64_MAX;

// ---------------------------------------------------------------- expressions

struct EvalContext {
    const Value* fields = nullptr;     // decoded record slots (pre-aggregation)
    const Value* keys = nullptr;       // group key values (post-aggregation)
    const Value* aggs = nullptr;       // finalized aggregates (post-aggregation)
    const Value* analytics = nullptr;  // ROWS-window results
    int64_t window_start = 0;
    int64_t window_end = 0;
    int64_t arrival_ms = 0;
    Arena* scratch = nullptr;           // storage for string results; the caller resets it
    uint64_t* type_mismatch = nullptr;  // bumped for every value NULLed by a wrong type
};

// The context of one decoded record (pre-aggregation expressions).
inline EvalContext record_context(const Value* fields, int64_t arrival_ms, Arena* scratch,
                                  uint64_t* type_mismatch) noexcept {
    EvalContext ctx;
    ctx.fields = fields;
    ctx.arrival_ms = arrival_ms;
    ctx.scratch = scratch;
    ctx.type_mismatch = type_mismatch;
    return ctx;
}

Value eval(const ExprPool& pool, ExprId id, const EvalContext& ctx) noexcept;
// SQL truth: true only for a TRUE value (NULL and FALSE are not true).
bool eval_predicate(const ExprPool& pool, ExprId id, const EvalContext& ctx) noexcept;

// ---------------------------------------------------------------- group keys

// Canonical bytes of a group key: equal keys give equal bytes (an integral
// DOUBLE encodes as the BIGINT of the same value; every NULL alike). Returns
// the encoded size; writes only when it fits in cap.
uint32_t encode_key(const Value* keys, uint32_t n, uint8_t* out, uint32_t cap) noexcept;
// Inverse of encode_key; string values point into `bytes`.
void decode_key(const uint8_t* bytes, uint32_t len, Value* out, uint32_t n) noexcept;
// The text of a key as the Kafka sink keys a row by it: each of the n values
// as a row prints it, strings without quotes or escapes, NULL as nothing,
// joined with '|'. Appended to out (not for the record path: it allocates).
void append_key_text(const uint8_t* key, uint32_t len, uint32_t n, std::string& out);

// ---------------------------------------------------------------- reading shard

// A record shaped for routing: the key bytes and hash, the event time, and
// the aggregate arguments. Views stay valid until the next Prepare::run.
struct PreparedRecord {
    uint64_t hash = 0;
    const uint8_t* key = nullptr;
    uint32_t key_len = 0;
    int64_t ts = 0;
    const Value* args = nullptr;  // one per Plan::aggs (COUNT(*) slot is NULL)
    uint32_t nargs = 0;
};

class Prepare {
public:
    explicit Prepare(const Plan& plan);
    ~Prepare();

    enum class Outcome : uint8_t { Filtered, Ready };
    // Evaluates WHERE, the group key, the time column and the aggregate
    // arguments. Filtered when WHERE does not hold, or when a windowed query's
    // time column is not an integer (counted as type_mismatch).
    Outcome run(const Value* fields, int64_t arrival_ms, PreparedRecord& out, ShardCounters& counters) noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Stateless queries (no aggregates): WHERE, columns, LIMIT, on the reading shard.
class Projector {
public:
    Projector(const Plan& plan, OutBuffer& out, ShardCounters& counters);
    ~Projector();
    // Returns false once this shard has written LIMIT rows (the caller may stop reading).
    bool on_record(const Value* fields, int64_t arrival_ms) noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------- owning shard

// What the owning shard receives for one record (locally or from a ring).
struct AggInput {
    uint64_t hash = 0;
    const uint8_t* key = nullptr;
    uint32_t key_len = 0;
    int64_t ts = 0;                    // event time (windowed queries)
    int64_t wm_before = kWatermarkMin; // the record's source watermark just before it
    uint64_t seq = 0;                  // global arrival order (FIRST/LAST across shards)
    uint16_t source = 0;
    const Value* args = nullptr;       // one per Plan::aggs
    // The record as it arrived, for the dead-letter output (late.data.strategy
    // = 'dead_letter'); empty otherwise.
    const char* raw = nullptr;
    uint32_t raw_len = 0;
};

// Framed partial-aggregate messages for other shards:
// [u32 payload length][u32 destination shard][payload] ...
struct PartialOutbox {
    std::vector<uint8_t> bytes;
};

// Calls f(destination, payload, length) for every frame of `bytes`, in order.
template <class F>
void for_each_partial(const std::vector<uint8_t>& bytes, F&& f) {
    std::size_t off = 0;
    while (off + 8 <= bytes.size()) {
        uint32_t len;
        uint32_t dest;
        std::memcpy(&len, bytes.data() + off, 4);
        std::memcpy(&dest, bytes.data() + off + 4, 4);
        f(dest, bytes.data() + off + 8, len);
        off += 8 + len;
    }
}

// One shard's slice of one aggregate query. Grouped queries own the groups
// whose key hashes to this shard. Aggregates without GROUP BY run in two
// phases: every shard keeps partial accumulators and ships snapshots through
// the PartialOutbox to the merge shard (shard 0), which merges and emits.
// GROUP BY ... EMIT FINAL combines too: the reading shard aggregates what it
// reads and ships each group's partial to its owner once its input ends (no
// window) or once a window closes on it, instead of routing every record;
// owners emit a window when every shard has shipped past its end.
class QueryState {
public:
    // dead_letter: where late records go under late.data.strategy =
    // 'dead_letter' (nullptr: they are only counted).
    QueryState(const Plan& plan, uint32_t shard, uint32_t shards, uint32_t sources, OutBuffer& out,
               ShardCounters& counters, OutBuffer* dead_letter = nullptr);
    ~QueryState();

    void on_record(const AggInput& in) noexcept;
    // In-band watermark of one source; closes the windows it passes.
    void on_watermark(uint16_t source, int64_t watermark) noexcept;
    // The source went silent for watermark.idle_timeout (true) or spoke again
    // (false): an idle source does not hold the minimum watermark back.
    void on_source_idle(uint16_t source, bool idle) noexcept;
    // The source is exhausted (watermark +infinity). After every source ended,
    // all windows and EMIT FINAL groups have been emitted (or shipped as partials).
    void on_source_end(uint16_t source) noexcept;
    // The source stopped for a drain that drops open windows and groups: once
    // every source stopped (or ended), the state is finished and emits nothing more.
    void on_source_stop(uint16_t source) noexcept;
    // End of one processing batch: global EMIT CHANGES ships its snapshots here.
    void end_batch() noexcept;
    // True when records stay on the shard that read them (global aggregates
    // and combined GROUP BY ... EMIT FINAL) instead of going to their owner.
    bool aggregates_locally() const noexcept;
    // True for two-phase global aggregates: records never leave their
    // reading shard, only snapshots do.
    bool two_phase() const noexcept;
    // The query ages state by event time (windows, state.ttl): sources must
    // send watermarks.
    bool needs_watermarks() const noexcept;
    // This shard's own input is exhausted: partials it combined locally go to
    // their owners now, ahead of its end-of-source markers.
    void end_of_local_input() noexcept;

    // Two-phase global aggregates.
    PartialOutbox& outbox() noexcept;
    void on_partial(const uint8_t* payload, uint32_t len) noexcept;  // merge shard only
    // True once nothing more can come out of this state: every source ended
    // and, on the merge shard, every shard's final partial arrived.
    bool finished() const noexcept;
    // LIMIT reached on this shard.
    bool limit_reached() const noexcept;

    std::size_t group_count() const noexcept;
    std::size_t state_bytes() const noexcept;
    // Windows (or sessions) holding state on this shard; 0 without windows.
    std::size_t open_windows() const noexcept;
    // The minimum watermark over the sources (kWatermarkMin before any).
    int64_t watermark() const noexcept;

    // ---- checkpoints (query_state_snapshot.cc)
    // Appends this shard's state as items that do not depend on the shard
    // count (snapshot_format.h): groups and window groups (key bytes and
    // serialized accumulators), sessions, and a global aggregate's partials.
    // Only while nothing is in flight between the shards (quiesced).
    void snapshot(std::vector<uint8_t>& out) const;
    // Windows ending at or before this watermark are closed on this shard.
    int64_t closed_watermark() const noexcept;
    // Which keyed items a restore takes (e.g. those of some Kafka partitions).
    using RestoreFilter = bool (*)(void* ctx, const uint8_t* key, uint32_t key_len);
    struct RestoreCounts {
        uint64_t items = 0;     // taken
        uint64_t skipped = 0;   // another shard's, or refused by the filter
        uint64_t emitted = 0;   // windows already closed here: their rows went out at once
        bool malformed = false; // the bytes were not a sequence of items
    };
    // Merges the items that belong to this shard (their key's owner; global
    // partials: shard 0, and only with `keyless`) and that `accept` takes
    // (nullptr: all) into the state, as the shards' partials merge. A window
    // that has closed here for good is emitted at once (EMIT FINAL) instead.
    RestoreCounts restore(const uint8_t* items, std::size_t len, RestoreFilter accept, void* ctx, bool keyless);
    // After a restart: windows ending at or before w count as closed (as they were).
    void restore_closed_watermark(int64_t w) noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------- ROWS windows

// Reading shard of a ROWS-window query (SPEC §7): WHERE and the partition key.
// The analytic arguments and the columns are evaluated on the owning shard.
class AnalyticPrepare {
public:
    explicit AnalyticPrepare(const Plan& plan);
    ~AnalyticPrepare();
    // false when WHERE does not hold. Otherwise fills hash/key/key_len of `out`
    // (canonical bytes of the PARTITION BY values, encoded as group keys are),
    // out.ts = arrival_ms, out.args = fields, out.nargs = number of field slots.
    // The key bytes stay valid until the next run.
    bool run(const Value* fields, int64_t arrival_ms, PreparedRecord& out, ShardCounters& counters) noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Owning shard of a ROWS-window query: per partition key, what each analytic
// function needs of the last rows, and one output row per input row.
// Setup throws std::invalid_argument for a spec the planner should have refused.
class AnalyticState {
public:
    AnalyticState(const Plan& plan, OutBuffer& out, ShardCounters& counters);
    ~AnalyticState();
    // fields: the record's decoded field slots (Plan::fields order). Counts
    // records_processed; writes the row (rows_out) unless LIMIT was reached on this shard.
    void on_record(uint64_t hash, const uint8_t* key, uint32_t key_len, const Value* fields,
                   int64_t arrival_ms) noexcept;
    bool limit_reached() const noexcept;
    std::size_t partition_count() const noexcept;
    std::size_t state_bytes() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
