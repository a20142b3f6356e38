// The messages shards exchange over the SPSC mesh. A routed record is copied
// into the ring in one piece — fixed header, aggregate arguments as Values
// (string pointers replaced by offsets), key bytes, string bytes — so the
// owning shard reads it in place and nothing points into the sender's
// buffers. Watermarks and end-of-source markers travel in the same ring,
// after the records they cover.
#pragma once

#include <cstdint>
#include <cstring>

#include "sluice/exec.h"
#include "sluice/spsc_ring.h"

namespace sluice {

enum class MsgKind : uint8_t { Record = 1, Watermark, SourceEnd, SourceIdle, Partial, Barrier };

struct MsgHeader {
    MsgKind kind;
    uint8_t flag;  // SourceIdle: 1 idle, 0 active again; SourceEnd: 1 stopped without a flush
    uint16_t source;
    uint32_t len;  // Record: key bytes; Partial: payload bytes
};

// The argument count is not sent: both ends take it from the plan.
struct RecordMsg {
    MsgHeader h;
    uint32_t string_bytes;
    uint32_t raw_len;  // the record's text, for a dead-letter output (0: not carried)
    uint64_t hash;
    int64_t ts;
    int64_t wm_before;
    uint64_t seq;
    int64_t ingest_ns;  // when the reading shard took the record in (metrics; 0: not stamped)
    // Value args[nargs]; uint8_t key[h.len]; char strings[string_bytes]; char raw[raw_len];
};

struct WatermarkMsg {
    MsgHeader h;
    int64_t watermark;
};

// Quiescing for a checkpoint: round `round` of epoch `epoch` from shard
// h.source, which sent `sent` other messages since its previous barrier.
struct BarrierMsg {
    MsgHeader h;
    uint32_t round;
    uint32_t sent;
    uint64_t epoch;
};

// 64-bit: a record of many long strings can exceed 4 GiB only in theory,
// but the caller compares against the ring's limit without overflow.
inline uint64_t record_msg_size(const PreparedRecord& r, uint32_t raw_len = 0) noexcept {
    uint64_t strings = 0;
    for (uint32_t k = 0; k < r.nargs; ++k)
        if (r.args[k].type == Type::String) strings += r.args[k].len;
    return sizeof(RecordMsg) + uint64_t{r.nargs} * sizeof(Value) + r.key_len + strings + raw_len;
}

// Writes the record into `dst` (record_msg_size bytes).
inline void encode_record(void* dst, const PreparedRecord& r, uint16_t source, int64_t wm_before, uint64_t seq,
                          const char* raw = nullptr, uint32_t raw_len = 0) noexcept {
    auto* m = static_cast<RecordMsg*>(dst);
    m->h = MsgHeader{MsgKind::Record, 0, source, r.key_len};
    m->raw_len = raw_len;
    m->hash = r.hash;
    m->ts = r.ts;
    m->wm_before = wm_before;
    m->seq = seq;
    m->ingest_ns = 0;
    auto* args = reinterpret_cast<Value*>(m + 1);
    auto* key = reinterpret_cast<uint8_t*>(args + r.nargs);
    std::memcpy(key, r.key, r.key_len);
    char* strings = reinterpret_cast<char*>(key + r.key_len);
    uint32_t off = 0;
    for (uint32_t k = 0; k < r.nargs; ++k) {
        Value v = r.args[k];
        if (v.type == Type::String) {
            std::memcpy(strings + off, v.s, v.len);
            v.i = off;  // offset into the string area; fixed up by the reader
            off += v.len;
        }
        args[k] = v;
    }
    m->string_bytes = off;
    if (raw_len != 0) std::memcpy(strings + off, raw, raw_len);
}

// Reads a record message of nargs arguments in place; string views point into the message.
inline AggInput decode_record(const void* src, Value* args_out, uint32_t nargs) noexcept {
    const auto* m = static_cast<const RecordMsg*>(src);
    const auto* args = reinterpret_cast<const Value*>(m + 1);
    const auto* key = reinterpret_cast<const uint8_t*>(args + nargs);
    const char* strings = reinterpret_cast<const char*>(key + m->h.len);
    for (uint32_t k = 0; k < nargs; ++k) {
        Value v = args[k];
        if (v.type == Type::String) v.s = strings + v.i;
        args_out[k] = v;
    }
    AggInput in;
    in.hash = m->hash;
    in.key = key;
    in.key_len = m->h.len;
    in.ts = m->ts;
    in.wm_before = m->wm_before;
    in.seq = m->seq;
    in.source = m->h.source;
    in.args = args_out;
    if (m->raw_len != 0) {
        in.raw = strings + m->string_bytes;
        in.raw_len = m->raw_len;
    }
    return in;
}

}  // namespace sluice
