// libFuzzer target: the SQL front end (lexer, parser, planner, EXPLAIN) on
// any text, and the engine on every plan it accepts.
//
// plan_sql() must answer every input with a plan or an error ("line L:C: ..."),
// never a crash, UB or unbounded recursion; EXPLAIN must print any plan. A
// plan is then run, without threads, the way `sluice query --shards 2
// --parallel-read` runs it: two QueryPipelines (src/runtime) joined by a
// two-shard mesh, each reading its own source, then both sources end. Both
// pipelines must finish, and every row they write must be one JSON object.
// The plan that runs is a copy, and the original is destroyed before it runs.
//
// The records: when the input has a line "-- input", the NDJSON after it
// (as in a conformance case; the SQL is what comes before); otherwise a dozen
// made for the plan's fields (every field gets timestamps, strings, doubles,
// NULLs, booleans and escapes in turn; one record is late). Blocks of lines
// go to the two shards in turn. FUZZ_SQL_VERBOSE=1 prints the rows.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/mesh.h"
#include "runtime/query_pipeline.h"
#include "sluice/decode.h"
#include "sluice/plan.h"
#include "sluice/sql.h"
#include "sluice/value.h"

namespace sluice {
namespace {

constexpr uint32_t kShards = 2;
constexpr int kRecords = 12;
constexpr std::size_t kMinRecordLimit = 1024;  // max_record_bytes: this, or the longest line

// Event times of the records: in order, one late, jumps over minutes and an hour.
constexpr int64_t kTimes[kRecords] = {1000,  1500,  2999,   3000,    6000,    2000,
                                      61000, 62000, 120000, 3600000, 3601000, 86400000};

void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", u);
            out += esc;
        } else {
            out += c;
        }
    }
    out += '"';
}

// The value of field j in record i.
void json_value(std::string& out, int i, std::size_t j) {
    switch ((static_cast<std::size_t>(i) + j * 5) % 12) {
        case 4:
            json_string(out, i % 3 ? "AAPL" : "MSFT");
            break;
        case 5:
            out += i % 2 ? "-12.75" : "1e300";
            break;
        case 6:
            out += "null";
            break;
        case 8:
            out += std::to_string(i % 3 - 1);
            break;
        case 9:
            out += i % 2 ? "true" : "false";
            break;
        case 11:
            out += "\"a\\\"b\\\\c\\u00e9\\n\xf0\x9f\x98\x80\"";
            break;
        default:
            out += std::to_string(kTimes[i]);
            break;
    }
}

// One record holding every field of the plan; dotted paths become nested
// objects. A path that is a prefix of another is an object (the leaf is NULL).
struct Tree {
    std::string key;
    std::ptrdiff_t field = -1;
    std::vector<Tree> kids;
};

void build(Tree& root, const std::vector<FieldPath>& fields) {
    for (std::size_t f = 0; f < fields.size(); ++f) {
        Tree* t = &root;
        for (const std::string& part : fields[f].parts) {
            Tree* next = nullptr;
            for (Tree& k : t->kids)
                if (k.key == part) next = &k;
            if (!next) {
                t->kids.push_back(Tree{part, -1, {}});
                next = &t->kids.back();
            }
            t = next;
        }
        if (t->field < 0) t->field = static_cast<std::ptrdiff_t>(f);
    }
}

void write(std::string& out, const Tree& t, int i) {
    if (t.kids.empty()) {
        json_value(out, i, static_cast<std::size_t>(t.field < 0 ? 0 : t.field));
        return;
    }
    out += '{';
    bool first = true;
    for (const Tree& k : t.kids) {
        if (!first) out += ',';
        first = false;
        json_string(out, k.key);
        out += ':';
        write(out, k, i);
    }
    out += '}';
}

// What a pipeline writes: result rows or dead letters.
struct Rows {
    std::string text;
    static void sink(void* ctx, const char* p, std::size_t n) { static_cast<Rows*>(ctx)->text.append(p, n); }
};

// Every row is one JSON object on its own line. (A row over 1 MiB, which
// string functions can make of a small input, is not checked.)
void check_rows(const Rows& rows, const char* what, std::string_view sql) {
    constexpr std::size_t kMaxChecked = 1 << 20;
    static NdjsonDecoder validator(std::vector<FieldPath>{}, kMaxChecked);
    std::string buf = rows.text;
    buf.append(kDecodePadding, ' ');
    std::size_t at = 0;
    while (at < rows.text.size()) {
        std::size_t nl = rows.text.find('\n', at);
        if (nl == std::string::npos) nl = rows.text.size();
        uint64_t mm = 0;
        Value none[1];
        if (nl - at <= kMaxChecked && !validator.decode(buf.data() + at, nl - at, none, mm)) {
            std::fprintf(stderr, "fuzz_sql: %s row is not a JSON object: %s\nquery: %.*s\n", what,
                         rows.text.substr(at, nl - at).c_str(), static_cast<int>(sql.size()), sql.data());
            std::abort();
        }
        at = nl + 1;
    }
}

// While one shard waits for ring space (backpressure), the other shard, which
// runs on its own thread in sluice, drains its rings: here both are drained.
struct Shards {
    std::unique_ptr<QueryPipeline> shard[kShards];
    static bool drain(void* ctx) {
        bool any = false;
        for (auto& s : static_cast<Shards*>(ctx)->shard) any |= s->drain_inbound();
        return any;
    }
};

// Blocks of whole lines; block b goes to shard b % 2 (each shard is a source).
std::vector<std::string> given_blocks(std::string_view input) {
    std::vector<std::string> blocks;
    std::size_t at = 0;
    int lines = 0;
    while (at < input.size()) {
        std::size_t nl = input.find('\n', at);
        nl = nl == std::string_view::npos ? input.size() : nl + 1;
        if (lines++ % 3 == 0) blocks.emplace_back();
        blocks.back().append(input.substr(at, nl - at));
        at = nl;
    }
    return blocks;
}

std::vector<std::string> made_blocks(const Plan& plan) {
    Tree root;
    build(root, plan.fields);
    std::vector<std::string> blocks;
    for (int i = 0; i < kRecords; ++i) {
        if (i % 4 == 0) blocks.emplace_back();
        write(blocks.back(), root, i);
        blocks.back() += i % 3 == 2 ? "\r\n" : "\n";
    }
    blocks.back() += "not json\n{\"unterminated\": \n";
    return blocks;
}

void run(const Plan& plan, std::string_view sql, std::vector<std::string> blocks) {
    // The decoders are sized as a LineReader sizes them: every block and line fits.
    std::size_t max_block = 0;
    std::size_t max_record = kMinRecordLimit;
    for (const std::string& b : blocks) {
        max_block = std::max(max_block, b.size());
        for (std::size_t at = 0; at < b.size();) {
            std::size_t nl = b.find('\n', at);
            nl = nl == std::string::npos ? b.size() : nl;
            max_record = std::max(max_record, nl - at);
            at = nl + 1;
        }
    }

    Mesh mesh(kShards, 1u << 18);
    Rows rows;
    Rows dead;
    std::atomic<bool> stop{false};
    Shards shards;
    auto& shard = shards.shard;
    for (uint32_t s = 0; s < kShards; ++s) {
        PipelineSetup p;
        p.plan = &plan;
        p.shard = s;
        p.shards = kShards;
        p.sources = kShards;
        p.has_source = true;
        p.source_id = static_cast<uint16_t>(s);
        p.mesh = &mesh;
        p.sink = &Rows::sink;
        p.sink_ctx = &rows;
        p.dead_letter_sink = &Rows::sink;
        p.dead_letter_ctx = &dead;
        p.max_record_bytes = max_record;
        p.max_block_bytes = max_block;
        p.stop = &stop;
        shard[s] = std::make_unique<QueryPipeline>(p);
        shard[s]->set_wait_hook(&Shards::drain, &shards);
    }
    for (std::size_t b = 0; b < blocks.size(); ++b) {
        std::string& text = blocks[b];
        const std::size_t len = text.size();
        text.append(kDecodePadding, '\n');
        QueryPipeline& q = *shard[b % kShards];
        if (q.source_done()) continue;  // its LIMIT was reached: the shard reads no more
        q.on_block(text.data(), len, 1700000000000 + static_cast<int64_t>(b) * 1000, false);
        q.end_chunk();
        for (auto& s : shard) {
            s->drain_inbound();
            s->end_batch();
        }
        if (q.limit_hit()) q.end_source();
    }
    for (auto& s : shard) s->end_source();
    bool done = false;
    for (int round = 0; round < 16 && !done && !stop.load(); ++round) {
        done = true;
        for (auto& s : shard) {
            s->drain_inbound();
            s->end_batch();
        }
        for (auto& s : shard) done = done && s->finished();
    }
    for (auto& s : shard) s->flush_output();
    if (!done && !stop.load()) {
        std::fprintf(stderr, "fuzz_sql: the pipelines did not finish after their sources ended\nquery: %.*s\n",
                     static_cast<int>(sql.size()), sql.data());
        std::abort();
    }
    static const bool verbose = std::getenv("FUZZ_SQL_VERBOSE") != nullptr;
    if (verbose) {
        std::fprintf(stderr, "query: %.*s\nrows:\n%sdead letters:\n%s", static_cast<int>(sql.size()), sql.data(),
                     rows.text.c_str(), dead.text.c_str());
    }
    check_rows(rows, "result", sql);
    check_rows(dead, "dead-letter", sql);
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace sluice;
    std::string_view sql(reinterpret_cast<const char*>(data), size);
    std::string_view input;
    bool given = false;
    constexpr std::string_view kInput = "-- input\n";
    for (std::size_t at = 0; (at = sql.find(kInput, at)) != std::string_view::npos; ++at) {
        if (at == 0 || sql[at - 1] == '\n') {
            input = sql.substr(at + kInput.size());
            sql = sql.substr(0, at);
            given = true;
            break;
        }
    }
    Result<Plan> plan = plan_sql(sql);
    if (!plan) {
        // "line L:C: message" with a real place. plan_query turns an
        // exception into "line 0:0: internal planner error: ..." (or out of
        // memory), and a failure that recorded no error is "line 0:0: syntax
        // error" / "planning failed": bugs, not answers.
        const std::string& m = plan.error().message;
        unsigned line = 0, col = 0;
        int used = 0;
        if (std::sscanf(m.c_str(), "line %u:%u: %n", &line, &col, &used) != 2 || used == 0 ||
            static_cast<std::size_t>(used) == m.size() ||
            ((line == 0 || col == 0) && m != "line 0:0: statement too long")) {
            std::fprintf(stderr, "fuzz_sql: bad error: '%s'\n", m.c_str());
            std::abort();
        }
        return 0;
    }
    const std::string text = explain(*plan);
    const std::string routing = explain_routing(*plan);
    if (text.empty() || routing.empty()) {
        std::fprintf(stderr, "fuzz_sql: empty EXPLAIN\n");
        std::abort();
    }
    // A copy of the plan owns everything it points to (ExprPool's string
    // constants): it runs after the original is gone.
    std::optional<Plan> original(std::move(plan.value()));
    const Plan copy = *original;
    original.reset();
    if (explain(copy) != text) {
        std::fprintf(stderr, "fuzz_sql: the copied plan explains differently\n");
        std::abort();
    }
    run(copy, sql, given ? given_blocks(input) : made_blocks(copy));
    return 0;
}
