// decode(), decode_block(), next_chunk() and next_blocks() allocate nothing
// once set up (decode_block runs a simdjson document_stream per window: with
// simdjson's thread support compiled in, each would allocate). This binary
// replaces the global operator new to count calls; only the deltas around
// the steady-state loops are checked.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "counting_new.h"
#include "sluice/decode.h"


namespace sluice {
namespace {

std::vector<FieldPath> fields_of(std::initializer_list<std::vector<std::string>> list) {
    std::vector<FieldPath> out;
    for (const auto& parts : list) {
        FieldPath f;
        f.parts = parts;
        out.push_back(f);
    }
    return out;
}

TEST(SteadyState, DecodeAllocatesNothing) {
    const uint64_t at_start = test::allocation_count();
    NdjsonDecoder dec(fields_of({{"a"}, {"s"}, {"o", "x"}, {"\xc3\xa9"}}), 4096);
    EXPECT_GT(test::allocation_count(), at_start);  // the counter sees setup allocations
    std::vector<std::string> lines = {
        R"({"a":1,"s":"plain","o":{"x":2.5,"y":[1,2,{"z":null}]},"skip":"str\"esc"})",
        R"({"\u00e9":"escaped key","s":"caf\u00e9","a":18446744073709551615})",
        R"({"a":[1,2],"o":{"x":{"deep":true}}})",
        R"({"a":1} trailing)",
        "not json",
        R"({"a":123456789012345678901234567890})",
    };
    for (std::string& l : lines) {
        l.append(kDecodePadding, ' ');
    }
    Value out[4];
    uint64_t mm = 0;
    auto run_all = [&] {
        int ok = 0;
        for (const std::string& l : lines) {
            ok += dec.decode(l.data(), l.size() - kDecodePadding, out, mm) ? 1 : 0;
        }
        return ok;
    };
    EXPECT_EQ(run_all(), 4);  // warm-up
    const uint64_t before = test::allocation_count();
    int ok = 0;
    for (int i = 0; i < 1000; ++i) {
        ok += run_all();
    }
    EXPECT_EQ(test::allocation_count() - before, 0u);
    EXPECT_EQ(ok, 4000);
}

TEST(SteadyState, DecodeBlockAllocatesNothing) {
    NdjsonDecoder dec(fields_of({{"a"}, {"s"}, {"o", "x"}}), 4096, 1 << 16);
    // Clean lines, and malformed ones that make decode_block drop its stream
    // and start new windows (every anomaly path runs).
    std::string block;
    for (int i = 0; i < 400; ++i) {
        block += R"({"a":)";
        block += std::to_string(i);
        block += R"(,"s":"x\n","o":{"x":[1,{"y":null}]}})";
        block += i % 3 ? "\n" : "\r\n";
        if (i % 37 == 0) {
            block += "not json\n\n{\"a\":\n1}\n";
        }
        if (i % 91 == 0) {
            block += "{\"s\":\"bad \xff\"}\n{\"a\":1} {\"a\":2}\n";
        }
    }
    block += R"({"a":1})";  // unterminated last line
    const std::size_t len = block.size();
    block.append(kDecodePadding, ' ');
    Value out[3];
    uint64_t mm = 0;
    uint64_t records = 0;
    uint64_t rejects = 0;
    auto run = [&] {
        dec.decode_block(
            block.data(), len, out, mm, [&] { ++records; }, [&] { ++rejects; });
    };
    run();  // warm-up
    const uint64_t before = test::allocation_count();
    for (int i = 0; i < 50; ++i) {
        run();
    }
    EXPECT_EQ(test::allocation_count() - before, 0u);
    EXPECT_EQ(records, 51u * 401u);
    EXPECT_GT(dec.block_stats().windows, 51u * 20u);  // the stream was restarted many times
}

TEST(SteadyState, NextChunkAllocatesNothing) {
    char tmpl[] = "/tmp/sluice_alloc_XXXXXX";
    const int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    std::string data;
    for (int i = 0; i < 2000; ++i) {
        data += "{\"k\":" + std::to_string(i) + "}\r\n\n";
        if (i % 100 == 0) {
            data += std::string(300, 'x') + "\n";  // oversized, spans chunks
        }
    }
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    LineReader r(fd, 0, data.size(), 128, 64);
    uint64_t lines = 0;
    uint64_t oversize = 0;
    auto on_line = [&](const char*, std::size_t) { ++lines; };
    auto on_oversize = [&] { ++oversize; };
    const uint64_t before = test::allocation_count();
    while (r.next_chunk(on_line, on_oversize)) {
    }
    EXPECT_EQ(test::allocation_count() - before, 0u);
    EXPECT_EQ(lines, 2000u);
    EXPECT_EQ(oversize, 20u);

    LineReader br(fd, 0, data.size(), 128, 64);
    uint64_t blocks = 0;
    oversize = 0;
    const uint64_t before_blocks = test::allocation_count();
    while (br.next_blocks([&](const char*, std::size_t) { ++blocks; }, on_oversize)) {
    }
    EXPECT_EQ(test::allocation_count() - before_blocks, 0u);
    EXPECT_GT(blocks, 20u);
    EXPECT_EQ(oversize, 20u);
    ::close(fd);
    ::unlink(tmpl);
}

}  // namespace
}  // namespace sluice
