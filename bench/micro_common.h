// Helpers shared by the Google Benchmark binaries (micro_exec, micro_decode,
// micro_state): BENCH.md's queries, planning from SQL, NDJSON blocks of the
// generated data sets, and records decoded once up front.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "gen_records.h"
#include "sluice/decode.h"
#include "sluice/plan.h"
#include "sluice/sql.h"
#include "sluice/value.h"

namespace sluice::bench {

// ------------------------------------------------------------------ BENCH.md's queries

inline constexpr const char* kSqlS0 =
    "SELECT order_id, customer_id, order_date, total_amount FROM orders WHERE total_amount > 100";
inline constexpr const char* kSqlS2 =
    "SELECT symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, MIN(price) AS min_price, "
    "MAX(price) AS max_price, SUM(quantity) AS total_quantity FROM market_data GROUP BY symbol";
inline constexpr const char* kSqlS3a =
    "SELECT trader_id, symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, SUM(quantity) AS "
    "total_quantity, SUM(price * quantity) AS total_value FROM market_data GROUP BY trader_id, symbol "
    "WINDOW TUMBLING (trade_time, INTERVAL '1' MINUTE)";
inline constexpr const char* kSqlS3b =
    "SELECT trader_id, symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, SUM(quantity) AS "
    "total_quantity, SUM(price * quantity) AS total_value FROM market_data GROUP BY trader_id, symbol "
    "WINDOW TUMBLING (trade_time, INTERVAL '1' MINUTE) EMIT CHANGES";
inline constexpr const char* kSql1Brc =
    "SELECT station, MIN(temperature) AS min_temp, AVG(temperature) AS avg_temp, MAX(temperature) AS "
    "max_temp FROM measurements GROUP BY station EMIT FINAL";

inline Plan plan_or_die(std::string_view sql) {
    auto r = plan_sql(sql);
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(r.value());
}

// An OutBuffer sink that drops the bytes.
inline void discard(void*, const char*, std::size_t) {}

// ------------------------------------------------------------------ NDJSON text

// Records [0, n) of a data set as NDJSON lines, as many as fit in
// max_bytes, followed by kDecodePadding spaces (a decoder's padding).
struct LineBlock {
    std::vector<char> bytes;
    std::size_t len = 0;  // bytes of lines, padding excluded
    uint64_t records = 0;
    std::vector<std::size_t> starts;  // offset of each line (length: next start - 1)

    const char* line(uint64_t i, std::size_t* n) const noexcept {
        const std::size_t end = i + 1 < records ? starts[i + 1] : len;
        *n = end - starts[i] - 1;  // '\n' excluded
        return bytes.data() + starts[i];
    }
};

inline LineBlock make_line_block(Scenario scenario, std::size_t max_bytes) {
    LineBlock b;
    b.bytes.resize(max_bytes + kMaxGenRecordBytes + 1 + kDecodePadding);
    const RecordFormatter fmt(scenario);
    for (uint64_t i = 0;; ++i) {
        const std::size_t n = fmt.format(i, b.bytes.data() + b.len);
        if (b.len + n + 1 > max_bytes) break;
        b.starts.push_back(b.len);
        b.len += n;
        b.bytes[b.len++] = '\n';
        ++b.records;
    }
    b.bytes.resize(b.len + kDecodePadding);
    std::memset(b.bytes.data() + b.len, ' ', kDecodePadding);
    return b;
}

// ------------------------------------------------------------------ decoded records

// Records [0, count) of one data set, decoded with the plan's field list.
// String values point into `strings`, which never moves after decoding.
struct Dataset {
    uint32_t nfields = 0;
    uint64_t count = 0;
    std::vector<Value> values;  // count * nfields
    std::vector<char> strings;

    const Value* record(uint64_t i) const noexcept { return values.data() + i * nfields; }
};

inline Dataset predecode(const Plan& plan, Scenario scenario, uint64_t count) {
    Dataset d;
    d.nfields = static_cast<uint32_t>(plan.fields.size());
    d.count = count;
    d.values.resize(count * d.nfields);
    NdjsonDecoder decoder(plan.fields, kDefaultMaxRecordBytes);
    RecordFormatter fmt(scenario);
    std::vector<char> line(kMaxGenRecordBytes + kDecodePadding, ' ');
    uint64_t mismatch = 0;
    for (uint64_t i = 0; i < count; ++i) {
        const std::size_t len = fmt.format(i, line.data());
        std::memset(line.data() + len, ' ', kDecodePadding);
        Value* out = d.values.data() + i * d.nfields;
        if (!decoder.decode(line.data(), len, out, mismatch)) throw std::runtime_error("bad record");
        for (uint32_t f = 0; f < d.nfields; ++f) {
            Value& v = out[f];
            if (v.type != Type::String) continue;
            // An offset into `strings` for now, patched into a pointer at the end.
            const std::size_t at = d.strings.size();
            d.strings.insert(d.strings.end(), v.s, v.s + v.len);
            v.i = static_cast<int64_t>(at);
        }
    }
    for (Value& v : d.values)
        if (v.type == Type::String) v.s = d.strings.data() + v.i;
    return d;
}

}  // namespace sluice::bench
