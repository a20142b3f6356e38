// Test helper: what decode_block() and decode() say about a buffer of lines,
// as comparable strings. The block/per-line differential test and the decoder
// fuzzer (tests/fuzz/fuzz_decode.cc) both use it; it needs no test framework.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sluice/decode.h"
#include "sluice/value.h"

namespace sluice {

// One outcome, printable: "X" for a reject, else the slot values and the
// type_mismatch delta.
inline std::string describe(const Value* out, std::size_t n, uint64_t mismatch_delta) {
    std::string s = "R";
    for (std::size_t i = 0; i < n; ++i) {
        const Value& v = out[i];
        s += '|';
        switch (v.type) {
            case Type::Null:
                s += "null";
                break;
            case Type::Bool:
                s += v.b ? "true" : "false";
                break;
            case Type::Int:
                s += 'i';
                s += std::to_string(v.i);
                break;
            case Type::Double: {
                uint64_t bits;
                std::memcpy(&bits, &v.d, 8);
                s += 'd';
                s += std::to_string(bits);
                break;
            }
            case Type::String:
                s += "s'";
                s += v.str();
                s += '\'';
                break;
        }
    }
    s += "|mm";
    s += std::to_string(mismatch_delta);
    return s;
}

using Outcomes = std::vector<std::string>;

// decode() on every line of [0, len) of buf (kDecodePadding readable bytes
// after len), split as LineReader splits them: '\n' ends a line, one trailing
// '\r' is stripped, blank lines (spaces, tabs, '\r') are skipped. With
// max_record set, a line longer than it is an "X" even when blank, as
// LineReader reports it oversized.
inline Outcomes per_line(NdjsonDecoder& dec, const std::string& buf, std::size_t len, std::size_t max_record = 0) {
    Outcomes got;
    std::vector<Value> out(dec.field_count());
    std::size_t at = 0;
    while (at < len) {
        std::size_t nl = buf.find('\n', at);
        if (nl == std::string::npos || nl > len) {
            nl = len;
        }
        std::size_t n = nl - at;
        if (n != 0 && buf[at + n - 1] == '\r') {
            --n;
        }
        bool blank = true;
        for (std::size_t i = at; i < at + n; ++i) {
            if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r') {
                blank = false;
                break;
            }
        }
        if (max_record != 0 && n > max_record) {
            got.push_back("X");
        } else if (!blank) {
            uint64_t mm = 0;
            got.push_back(dec.decode(buf.data() + at, n, out.data(), mm) ? describe(out.data(), out.size(), mm)
                                                                          : "X");
        }
        at = nl + 1;
    }
    return got;
}

// decode_block() over [p, p+len) (kDecodePadding readable bytes after it),
// appending to got. A rejected line that counted a type mismatch is "X+mm",
// which per_line() never says.
inline void by_block(NdjsonDecoder& dec, const char* p, std::size_t len, Outcomes& got) {
    std::vector<Value> out(dec.field_count());
    uint64_t mm = 0;
    uint64_t mm_before = 0;
    dec.decode_block(
        p, len, out.data(), mm,
        [&] {
            got.push_back(describe(out.data(), out.size(), mm - mm_before));
            mm_before = mm;
        },
        [&] {
            got.push_back(mm == mm_before ? "X" : "X+mm");
            mm_before = mm;
        });
}

inline Outcomes by_block(NdjsonDecoder& dec, const std::string& buf, std::size_t len) {
    Outcomes got;
    by_block(dec, buf.data(), len, got);
    return got;
}

}  // namespace sluice
