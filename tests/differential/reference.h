// The reference evaluator: buffers every record and recomputes each emitted
// row from the records of its group and window, following SPEC literally.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "case_file.h"
#include "case_gen.h"

namespace sluice::differential {

struct Expected {
    std::vector<std::string> rows;  // JSON objects
    // Any: the same multiset; ByKey: per value of order_keys, the same rows
    // in the same order. Rows are matched within each value of order_keys in both.
    conformance::OrderMode order = conformance::OrderMode::Any;
    std::vector<std::string> order_keys;
    // Running totals without GROUP BY: only the last row of each window (of
    // the whole output when not windowed) is exact, and rows holds exactly those.
    bool last_per_window = false;
    uint64_t records_in = 0;
    uint64_t records_rejected = 0;
    uint64_t late_dropped = 0;
    std::vector<std::string> notes;  // choices the reference made where the rules leave room
};

Expected evaluate(const Query& q, const std::vector<Record>& records);

}  // namespace sluice::differential
