// NDJSON ingest: framing of a byte stream into lines, and decoding of one line
// into the plan's field slots with simdjson On-Demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice {

// Readable bytes every decoder input must have after its end (SIMDJSON_PADDING).
inline constexpr std::size_t kDecodePadding = 64;
inline constexpr std::size_t kDefaultMaxRecordBytes = 1 << 20;

class NdjsonDecoder {
public:
    // Builds the field plan (a trie of dotted paths) once. Allocates the parser
    // for max_record_bytes; construct on the owning shard after pinning.
    NdjsonDecoder(const std::vector<FieldPath>& fields, std::size_t max_record_bytes);
    ~NdjsonDecoder();
    NdjsonDecoder(const NdjsonDecoder&) = delete;
    NdjsonDecoder& operator=(const NdjsonDecoder&) = delete;

    // Decodes one record [p, p+len) (no newline; kDecodePadding readable bytes
    // must follow). Fills out[0 .. fields.size()); a missing field is NULL.
    // Returns false when the line is not exactly one valid JSON object: the
    // caller rejects the record. A leaf that holds an object or array is NULL
    // and counted in type_mismatch. String values stay valid until the next call.
    // Details: a JSON integer is Int, except above INT64_MAX (Double); other
    // numbers are Double (beyond double range: NULL, counted); a path through
    // a non-object is missing (NULL, not counted); with duplicate keys the
    // last one wins; lines over max_record_bytes or nested deeper than 256
    // levels are rejected.
    [[nodiscard]] bool decode(const char* p, std::size_t len, Value* out, uint64_t& type_mismatch) noexcept;

    std::size_t field_count() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Reads a file descriptor (a byte range of a file, or a pipe) in large chunks
// into a padded buffer and hands out complete, non-empty lines (a trailing
// '\r' is stripped; whitespace-only lines are skipped). A line longer than
// max_record_bytes (counted without '\n' and a stripped '\r') is reported once
// as oversized and skipped to its newline, however many chunks it spans, even
// when it is blank. An unterminated last line is still a line.
class LineReader {
public:
    // end == UINT64_MAX: read until EOF with read(); otherwise pread [begin, end).
    LineReader(int fd, uint64_t begin, uint64_t end, std::size_t chunk_bytes, std::size_t max_record_bytes);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    // Reads one chunk and calls on_line(const char* p, std::size_t len) for every
    // complete line in it (p is followed by kDecodePadding readable bytes) and
    // on_oversize() for every oversized line that ends in it.
    // Returns false once the input is exhausted and every line was handed out.
    // A read error returns false and sets error() (an errno value).
    template <class OnLine, class OnOversize>
    bool next_chunk(OnLine&& on_line, OnOversize&& on_oversize);

    int error() const noexcept { return error_; }

private:
    // Fills buf_ after the carried partial line; returns bytes read, 0 at EOF, -1 on error.
    long fill();
    // Hands out one line [p, p+len) without its '\n'.
    template <class OnLine, class OnOversize>
    void emit(const char* p, std::size_t len, OnLine& on_line, OnOversize& on_oversize);

    // buf_ holds [carried partial line | one chunk | kDecodePadding], so a
    // line anywhere in it has its padding inside the allocation.
    int fd_;
    uint64_t pos_;
    uint64_t end_;
    std::size_t chunk_;        // bytes asked of one read
    std::size_t max_record_;
    char* buf_ = nullptr;
    std::size_t cap_ = 0;      // usable bytes (padding allocated beyond)
    std::size_t carry_ = 0;    // bytes of an unfinished line kept at buf_[0..carry_)
    bool skipping_ = false;    // inside an oversized line: drop bytes until '\n'
    bool eof_ = false;
    int error_ = 0;
};

// Splits [0, size) of a regular file into `parts` ranges that start at line
// starts. Returns parts+1 offsets (first 0, last size); ranges may be empty.
std::vector<uint64_t> split_at_lines(int fd, uint64_t size, unsigned parts);

}  // namespace sluice

#include "sluice/line_reader_inl.h"
