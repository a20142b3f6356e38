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
    // One per late record, as dead_letter_text() has it (for 'dead_letter').
    std::vector<std::string> dead_letters;
    std::vector<std::string> notes;  // choices the reference made where the rules leave room
};

Expected evaluate(const Query& q, const std::vector<Record>& records);

// A dead-letter row's content, for comparison as a multiset.
std::string dead_letter_text(int64_t event_time, int64_t watermark, const std::string& record);

}  // namespace sluice::differential
