// NDJSON ingest: framing of a byte stream into lines (or blocks of lines), and
// decoding of each line into the plan's field slots with simdjson On-Demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
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
    // for the larger of max_record_bytes and max_block_bytes (the longest block
    // decode_block() will see, e.g. LineReader::max_block_bytes()); construct on
    // the owning shard after pinning.
    NdjsonDecoder(const std::vector<FieldPath>& fields, std::size_t max_record_bytes,
                  std::size_t max_block_bytes = 0);
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

    // Decodes a block of lines [p, p+len) (kDecodePadding readable bytes must
    // follow): for every non-blank line in order, either fills out and calls
    // on_record(), or calls on_reject() -- exactly what decode() would say for
    // that line, with lines split and blank lines skipped as LineReader does
    // (a trailing '\r' is stripped; the last line needs no '\n'). One simdjson
    // stage 1 serves many lines; any line it cannot vouch for is decoded alone
    // (ndjson_decoder.cc has the details). String values stay valid until the
    // callback returns; the callbacks must not use this decoder.
    template <class OnRecord, class OnReject>
    void decode_block(const char* p, std::size_t len, Value* out, uint64_t& type_mismatch, OnRecord&& on_record,
                      OnReject&& on_reject);

    std::size_t field_count() const noexcept;
    // The line of the record last decoded (valid while decode()'s input or
    // decode_block()'s callback is), e.g. for a dead-letter output.
    std::string_view last_line() const noexcept;

    // How decode_block() got through its lines so far: from a shared stage 1
    // (streamed), or alone with decode() after an anomaly; and the streams it ran.
    struct BlockStats {
        uint64_t streamed = 0;
        uint64_t alone = 0;
        uint64_t windows = 0;
    };
    const BlockStats& block_stats() const noexcept;

private:
    enum class Step : uint8_t { Record, Reject, End };
    void block_begin(const char* p, std::size_t len) noexcept;
    // Decodes the next non-blank line of the block.
    Step block_next(Value* out, uint64_t& type_mismatch) noexcept;

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

template <class OnRecord, class OnReject>
void NdjsonDecoder::decode_block(const char* p, std::size_t len, Value* out, uint64_t& type_mismatch,
                                 OnRecord&& on_record, OnReject&& on_reject) {
    block_begin(p, len);
    for (;;) {
        switch (block_next(out, type_mismatch)) {
            case Step::Record:
                on_record();
                break;
            case Step::Reject:
                on_reject();
                break;
            case Step::End:
                return;
        }
    }
}

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

    // Like next_chunk, but hands out the chunk's complete lines as maximal
    // blocks: on_block(const char* p, std::size_t len) for each run of lines
    // (every one at most max_record_bytes; blank lines included; each line
    // ends with '\n', except an unterminated last line of the input), with
    // on_oversize() for each oversized line, in input order. p + len is
    // followed by kDecodePadding readable bytes; len <= max_block_bytes().
    template <class OnBlock, class OnOversize>
    bool next_blocks(OnBlock&& on_block, OnOversize&& on_oversize);

    // The longest block next_blocks() can hand out (a carried partial line plus one chunk).
    std::size_t max_block_bytes() const noexcept { return cap_; }

    int error() const noexcept { return error_; }

private:
    // Fills buf_ after the carried partial line; returns bytes read, 0 at EOF, -1 on error.
    long fill();
    // Hands out the complete lines [p, end) (end[-1] == '\n') as blocks.
    template <class OnBlock, class OnOversize>
    void emit_blocks(const char* p, const char* end, OnBlock& on_block, OnOversize& on_oversize);

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
