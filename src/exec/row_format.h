// Result rows as JSON objects, one per line, columns in SELECT order: the
// serializer of the exec stage's emitters (QueryState, Projector). Doubles
// print shortest round-trip and keep a ".0" when integral; NaN and infinities
// print null; strings are JSON-escaped, invalid UTF-8 becomes U+FFFD.
// Every column prefix sits in its own 32-byte slot of one buffer, so a
// prefix is one fixed-size copy; the bound of a row is a constant plus the
// strings' worst case, so only string columns are looked at before writing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sluice/exec.h"
#include "sluice/out_buffer.h"
#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice::detail {

class RowFormat {
public:
    explicit RowFormat(const std::vector<OutputColumn>& columns);

    void write(OutBuffer& out, const Value* values) const noexcept;
    // The same with column i's value at *values[i] (emitters point at their
    // keys and aggregates instead of copying them into a row).
    void write(OutBuffer& out, const Value* const* values) const noexcept;
    // The same with column i's value at fields[index[i]] (a projection of
    // bare fields, written straight from the decoded record).
    void write(OutBuffer& out, const Value* fields, const uint32_t* index) const noexcept;

    // Pre-rendered leading columns: an emitter renders columns [0, lead)
    // once (a group's key columns), then writes each row from that text.
    // lead_bound is the room write_lead needs at out.
    std::size_t lead_bound(const Value* const* values, uint32_t lead) const noexcept;
    // Columns [0, lead) exactly as write gives them ("{\"a\":1,\"b\":2"); returns the end.
    char* write_lead(char* out, const Value* const* values, uint32_t lead) const noexcept;
    // A row whose columns [0, lead) are lead_text (from write_lead), the
    // others at *values[i]; the same bytes as write(out, values).
    void write_after_lead(OutBuffer& out, const char* lead_text, uint32_t lead_len, uint32_t lead,
                          const Value* const* values) const noexcept;

private:
    template <class At>
    void write_row(OutBuffer& out, At at) const noexcept;
    template <class At>
    char* write_columns(char* p, At at, std::size_t from, std::size_t to) const noexcept;
    // The closing text of a row after its last column.
    char* write_close(char* p) const noexcept;

    static constexpr std::size_t kSlot = 32;

    struct Prefix {
        uint32_t offset;  // into text_
        uint32_t len;
    };

    std::vector<char> text_;        // prefixes, each in a zero-padded slot of >= kSlot bytes
    std::vector<Prefix> prefixes_;  // one per column, then the closing text
    std::size_t fixed_bound_ = 0;   // prefixes + scalar bound per column + slot slack
    bool short_prefixes_ = true;    // every prefix fits one slot
};

}  // namespace sluice::detail
