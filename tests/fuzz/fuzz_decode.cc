// libFuzzer target: the NDJSON decoder, as the shards drive it.
//
// The input is a block of NDJSON lines. For each of a few fixed field plans
// (the BENCH.md queries' fields, nested paths, duplicates, odd keys, none),
// it is decoded three ways and every way must say, line by line, exactly what
// decode() says about each line alone (decode_outcomes.h, shared with the
// block/per-line unit test):
//  1. decode_block() over the whole input, in an allocation of exactly
//     len + kDecodePadding bytes (ASan sees any read past the padding; the
//     padding holds a byte taken from the input, since it may hold anything);
//  2. decode_block() with a small max_record and a parser sized only for it,
//     so the block is decoded in many stream windows;
//  3. the shard path: LineReader::next_blocks() over a memfd in small chunks
//     (lines carried across reads, oversized lines skipped) into decode_block().
// A difference aborts, so the fuzzer reports it as a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "decode_outcomes.h"
#include "field_paths.h"
#include "sluice/decode.h"

namespace sluice {
namespace {

constexpr std::size_t kMaxInput = 1 << 16;  // scripts/fuzz.sh runs with a smaller -max_len
constexpr std::size_t kBigRecord = 1024;    // ways 1 and reference A
constexpr std::size_t kSmallRecord = 100;   // ways 2, 3 and reference B
constexpr std::size_t kChunk = 61;          // LineReader read size (odd, to cut lines anywhere)

struct PlanDecoders {
    const char* name;
    std::vector<FieldPath> fields;
    std::unique_ptr<NdjsonDecoder> ref_big;    // decode() per line, max_record kBigRecord
    std::unique_ptr<NdjsonDecoder> ref_small;  // decode() per line, max_record kSmallRecord
    std::unique_ptr<NdjsonDecoder> whole;      // way 1: one window holds any input
    std::unique_ptr<NdjsonDecoder> windows;    // way 2: windows of about kSmallRecord bytes
    std::unique_ptr<NdjsonDecoder> reader;     // way 3: sized for LineReader's blocks
};

std::vector<PlanDecoders>& plans() {
    static std::vector<PlanDecoders> all = [] {
        std::vector<PlanDecoders> v;
        auto add = [&v](const char* name, std::vector<FieldPath> fields) {
            PlanDecoders p;
            p.name = name;
            p.fields = std::move(fields);
            v.push_back(std::move(p));
        };
        // S0..S3, 1BRC fields and the conformance cases' common ones.
        add("bench", paths({"symbol", "price", "quantity", "trader_id", "trade_time", "timestamp", "station",
                            "temperature", "order_id", "total_amount", "ts", "id", "amount", "k", "v"}));
        // Nested paths, a path that is also a prefix of others, duplicates,
        // keys that need unescaping or are not ASCII, the empty key.
        add("nested", paths({"a", "a.b", "a.b.c", "o.x", "o.y.z", "o.y", "s", "a", "we\"ird", "caf\xc3\xa9",
                             "", "x.", "arr", "user.address.city", "\\u0061"}));
        add("nothing", paths({}));
        for (PlanDecoders& p : v) {
            p.ref_big = std::make_unique<NdjsonDecoder>(p.fields, kBigRecord);
            p.ref_small = std::make_unique<NdjsonDecoder>(p.fields, kSmallRecord);
            p.whole = std::make_unique<NdjsonDecoder>(p.fields, kBigRecord, kMaxInput);
            p.windows = std::make_unique<NdjsonDecoder>(p.fields, kSmallRecord);
            p.reader = std::make_unique<NdjsonDecoder>(p.fields, kSmallRecord, kSmallRecord + 1 + kChunk);
        }
        return v;
    }();
    return all;
}

[[noreturn]] void mismatch(const char* plan, const char* way, const Outcomes& want, const Outcomes& got) {
    std::fprintf(stderr, "fuzz_decode: plan '%s', %s differs from decode() per line\n", plan, way);
    const std::size_t n = want.size() > got.size() ? want.size() : got.size();
    for (std::size_t i = 0; i < n; ++i) {
        const char* w = i < want.size() ? want[i].c_str() : "(none)";
        const char* g = i < got.size() ? got[i].c_str() : "(none)";
        std::fprintf(stderr, "  line %zu: %s %s / %s\n", i, w == std::string(g) ? "  " : "!=", w, g);
    }
    std::abort();
}

// Way 3: the bytes through a LineReader over a memfd, blocks into decode_block().
Outcomes through_reader(NdjsonDecoder& dec, const uint8_t* data, std::size_t size) {
    static const int fd = [] {
        const int f = ::memfd_create("fuzz_decode", MFD_CLOEXEC);
        if (f < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        return f;
    }();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
        std::perror("memfd write");
        std::abort();
    }
    Outcomes got;
    LineReader reader(fd, 0, size, kChunk, kSmallRecord);
    if (reader.max_block_bytes() > kSmallRecord + 1 + kChunk) std::abort();
    while (reader.next_blocks([&](const char* p, std::size_t len) { by_block(dec, p, len, got); },
                              [&] { got.push_back("X"); })) {
    }
    if (reader.error() != 0) std::abort();
    return got;
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace sluice;
    if (size > kMaxInput) return -1;  // not added to the corpus
    // Exactly the bytes plus the padding: the padding repeats one input byte.
    const char pad = size ? static_cast<char>(data[size / 2]) : '\n';
    std::unique_ptr<char[]> exact(new char[size + kDecodePadding]);
    if (size) std::memcpy(exact.get(), data, size);
    std::memset(exact.get() + size, pad, kDecodePadding);
    const std::string buf(exact.get(), size + kDecodePadding);

    for (PlanDecoders& p : plans()) {
        const Outcomes want_big = per_line(*p.ref_big, buf, size);
        Outcomes got;
        by_block(*p.whole, exact.get(), size, got);
        if (got != want_big) mismatch(p.name, "decode_block (one window)", want_big, got);

        const Outcomes want_small = per_line(*p.ref_small, buf, size);
        got.clear();
        by_block(*p.windows, exact.get(), size, got);
        if (got != want_small) mismatch(p.name, "decode_block (small windows)", want_small, got);

        // LineReader reports a line over max_record as oversized, blank or not.
        const Outcomes want_lines = per_line(*p.ref_small, buf, size, kSmallRecord);
        got = through_reader(*p.reader, data, size);
        if (got != want_lines) mismatch(p.name, "LineReader + decode_block", want_lines, got);
    }
    return 0;
}
