// decode_block() against decode() line by line: random blocks of valid records
// mixed with every malformed shape (lines that are not objects, objects split
// over lines or sharing one, truncated lines, bad escapes, raw control bytes,
// bad UTF-8, oversized lines, random byte mutations), with CRLF, blank lines
// and an optional final newline. The sequence of (record values | reject) and
// the type_mismatch count must be identical.
#include <gtest/gtest.h>

#include "decode_outcomes.h"
#include "field_paths.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/decode.h"

namespace sluice {
namespace {

// ---------------------------------------------------------------------------
// Random input.

class Gen {
public:
    // Every block draws how often its lines are malformed: from rarely to mostly.
    explicit Gen(uint32_t seed) : rng_(seed) {
        static const uint32_t kRates[] = {0, 1, 2, 4, 9};
        bad_rate_ = kRates[below(5)];
    }

    uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
    bool one_in(uint32_t n) { return below(n) == 0; }

    std::string ws() {
        static const char* const kWs[] = {"", "", "", "", " ", "\t", "  ", " \t "};
        return kWs[below(8)];
    }

    std::string key() {
        static const char* const kKeys[] = {"k",     "v",        "a",          "s",        "o",
                                            "arr",   "x",        "y",          "z",        "trader_id",
                                            "price", "quantity", "trade_time", "\\u0061",  "we\\\"ird",
                                            "",      "ab",       "abc",        "abcdefgh", "caf\xc3\xa9"};
        return kKeys[below(20)];
    }

    std::string string_value() {
        static const char* const kParts[] = {"plain", "\\\"", "\\\\", "\\n",     "\\t",       "\\u00e9",
                                             "\\/",   " ",    "x",    "\\r\\n", "\\ud83d\\ude00", "\xc3\xbc",
                                             "{",     "}",    "[",    ",",      ":",             "\\u0000"};
        std::string s = "\"";
        const uint32_t n = below(5);
        for (uint32_t i = 0; i < n; ++i) {
            s += kParts[below(18)];
        }
        return s + "\"";
    }

    std::string number() {
        static const char* const kNums[] = {"0",   "-0",   "1",    "-7",   "42",        "3.25",
                                            "1e3", "-2E-2", "0.5", "1e400", "9223372036854775807",
                                            "9223372036854775808", "18446744073709551616", "-1.5e+10",
                                            "123456789"};
        return kNums[below(15)];
    }

    std::string value(int depth) {
        const uint32_t kind = depth > 3 ? below(6) : below(9);
        switch (kind) {
            case 0:
            case 1:
                return number();
            case 2:
            case 3:
                return string_value();
            case 4:
                return one_in(2) ? "true" : "false";
            case 5:
                return "null";
            case 6:
            case 7:
                return object(depth + 1);
            default: {
                std::string s = "[";
                s += ws();
                const uint32_t n = below(4);
                for (uint32_t i = 0; i < n; ++i) {
                    if (i) {
                        s += ',';
                        s += ws();
                    }
                    s += value(depth + 1);
                    s += ws();
                }
                s += ']';
                return s;
            }
        }
    }

    std::string object(int depth) {
        std::string s = "{";
        s += ws();
        const uint32_t n = below(depth == 0 ? 7 : 4);
        for (uint32_t i = 0; i < n; ++i) {
            if (i) {
                s += ',';
                s += ws();
            }
            s += '"';
            s += key();
            s += '"';
            s += ws();
            s += ':';
            s += ws();
            s += value(depth);
            s += ws();
        }
        s += '}';
        return s;
    }

    std::string record() {
        std::string s = ws();
        s += object(0);
        s += ws();
        return s;
    }

    std::string mutate(std::string s) {
        static const char kBytes[] = "{}[]\",:\\ \t\r\nx0-e.\x01\xff";
        const uint32_t n = 1 + below(3);
        for (uint32_t i = 0; i < n && !s.empty(); ++i) {
            const std::size_t at = below(static_cast<uint32_t>(s.size()));
            const char c = kBytes[below(sizeof kBytes - 1)];
            switch (below(3)) {
                case 0:
                    s[at] = c;
                    break;
                case 1:
                    s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
                    break;
                default:
                    s.erase(at, 1);
                    break;
            }
        }
        return s;
    }

    // One or more lines (no line terminators inside except for splits).
    std::string lines(std::size_t max_record) {
        static const char* const kBad[] = {
            "not json", "[1,2,3]", "{\"k\":\"a\",\"v\":3", "\"str\"", "42", "null", "{}}", "{\"a\":1} {\"b\":2}",
            "{\"a\":1}x", "{\"a\":1},", "{", "}", "]", "{\"a\":}", "{\"a\":\"abc}", "{\"a\":\"ctrl\x01\"}",
            "{\"a\":\"bad utf8 \xff\"}", "{\"a\":[1,2},\"b\":1}", "{\"a\":\"\\q\"}", "{\"a\":tru}", "{\"a\":01}",
            "\xef\xbb\xbf{\"a\":1}", "{\"a\":1}\x0c", "{\"a\":1}\r{\"b\":2}", "{\"a\":[", "1,2]}", "{\"s\":\"",
            "\"}", "{\"a\":{\"b\":1}", "[{\"a\":1}", "{\"a\":1}]", ",{\"a\":1}", "{\"a\":1}{", "\\", "{\"\\",
            "{\"a\":1}\xc3", "{}\xe2\x82", "{\"a\":\"\xf0\x9f\x98\"}", "{\"s\":\"\xc3\xa9\"}\xc3\xa9",
        };
        // bad_rate_ in 20ths: the chance of a malformed shape.
        if (below(20) >= bad_rate_) {
            return record();
        }
        switch (11 + below(9)) {
            case 11:
            case 12:
                return kBad[below(sizeof kBad / sizeof kBad[0])];
            case 13: {
                // A record split over two (or three) lines.
                std::string r = record();
                const std::size_t at = below(static_cast<uint32_t>(r.size() + 1));
                r.insert(at, one_in(3) ? "\r\n" : "\n");
                if (one_in(3)) {
                    r.insert(below(static_cast<uint32_t>(r.size() + 1)), "\n");
                }
                return r;
            }
            case 14: {
                // Several records on one line.
                std::string r = record();
                const uint32_t n = 1 + below(2);
                for (uint32_t i = 0; i < n; ++i) {
                    r += ws() + (one_in(3) ? kBad[below(sizeof kBad / sizeof kBad[0])] : record());
                }
                return r;
            }
            case 15:
            case 16:
                return mutate(record());
            case 17:
                // Deep nesting, sometimes past the decoder's 256 levels.
                return "{\"k\":" + std::string(one_in(2) ? 300 : 40, '[') + std::string(one_in(2) ? 300 : 40, ']') +
                       "}";
            case 18: {
                // Around the record size limit (with a '\r' that may be stripped).
                const std::size_t pad = max_record - 10 + below(20);
                return "{\"s\":\"" + std::string(pad > 8 ? pad - 8 : 0, 'x') + "\"}";
            }
            default:
                // A record followed by the start of the next one, or a dangling tail.
                return record() + "\n" + kBad[below(sizeof kBad / sizeof kBad[0])];
        }
    }

    // A block: lines with terminators, blank lines, CRLF, maybe no final '\n'.
    std::string block(std::size_t max_record, uint32_t max_lines) {
        std::string s;
        const uint32_t n = 1 + below(max_lines);
        for (uint32_t i = 0; i < n; ++i) {
            switch (below(12)) {
                case 0:
                    break;  // empty line
                case 1:
                    s += one_in(2) ? "  \t" : "\r";
                    break;
                default:
                    s += lines(max_record);
                    break;
            }
            const bool last = i + 1 == n;
            if (!last || !one_in(4)) {
                s += one_in(4) ? "\r\n" : "\n";
            }
        }
        return s;
    }

private:
    std::mt19937 rng_;
    uint32_t bad_rate_ = 0;
};

struct Plan {
    const char* name;
    std::vector<FieldPath> fields;
};

std::vector<Plan> plans() {
    return {
        {"reads", paths({"k", "v", "a", "s", "o.x", "o.y.z", "arr", "trader_id", "quantity", "caf\xc3\xa9", "o"})},
        {"nothing", paths({})},
        {"dup", paths({"a", "x", "a", "we\"ird", ""})},
    };
}

// Random blocks through both paths; `cap` is the decoder's block capacity (0:
// only max_record, so long blocks are decoded in several windows).
// SLUICE_FUZZ_SCALE=N runs N times as many seeds (a longer fuzzing run).
void differential(uint32_t first_seed, uint32_t seeds, std::size_t max_record, std::size_t cap, uint32_t max_lines) {
    if (const char* scale = std::getenv("SLUICE_FUZZ_SCALE")) {
        seeds *= static_cast<uint32_t>(std::max(1, std::atoi(scale)));
        first_seed *= 1000;  // ranges of the three tests stay apart
    }
    uint64_t streamed = 0;
    uint64_t alone = 0;
    for (const Plan& plan : plans()) {
        NdjsonDecoder reference(plan.fields, max_record);
        NdjsonDecoder blocks(plan.fields, max_record, cap);
        for (uint32_t seed = first_seed; seed < first_seed + seeds; ++seed) {
            Gen g(seed);
            std::string buf = g.block(max_record, max_lines);
            const std::size_t len = buf.size();
            // The padding may hold anything, e.g. the start of the next line.
            static const char* const kPads[] = {"\n", "}", "]", ",", "\"", " ", "{\"a\":1}"};
            const std::string pad = kPads[g.below(7)];
            while (buf.size() < len + kDecodePadding) {
                buf += pad;
            }
            const Outcomes want = per_line(reference, buf, len);
            const Outcomes got = by_block(blocks, buf, len);
            ASSERT_EQ(got, want) << "plan " << plan.name << " seed " << seed << " block:\n" << buf.substr(0, len);
        }
        streamed += blocks.block_stats().streamed;
        alone += blocks.block_stats().alone;
    }
    // Both paths were exercised.
    EXPECT_GT(streamed * 2, alone) << "streamed " << streamed << " alone " << alone;
    EXPECT_GT(alone, 0u);
    std::printf("  streamed %llu lines, %llu alone\n", static_cast<unsigned long long>(streamed),
                static_cast<unsigned long long>(alone));
}

TEST(DecodeBlock, SameAsDecodePerLineSmallBlocks) {
    differential(1, 3000, 1024, 1 << 16, 12);
}

TEST(DecodeBlock, SameAsDecodePerLineLargeBlocks) {
    // Hundreds of lines per block: anomalies land in windows of every size.
    differential(100000, 150, 1024, 1 << 20, 400);
}

TEST(DecodeBlock, SameAsDecodePerLineBlocksOverCapacity) {
    // The parser holds 4 KiB: a block is decoded in several windows.
    differential(200000, 200, 300, 0, 200);
}

TEST(DecodeBlock, CleanBlockIsOneStream) {
    // Every record of a clean block is decoded, in order, values and all.
    const auto fields = paths({"i", "s", "o.d", "t"});
    std::string buf;
    for (int i = 0; i < 5000; ++i) {
        buf += "{\"i\":" + std::to_string(i) + ",\"s\":\"v\\n" + std::to_string(i) +
               "\",\"o\":{\"d\":" + std::to_string(i) + ".5,\"e\":[1,{}]},\"t\":" + (i % 2 ? "true" : "false") + "}" +
               (i % 3 ? "\n" : "\r\n");
    }
    const std::size_t len = buf.size();
    buf.append(kDecodePadding, '\0');
    NdjsonDecoder dec(fields, 1024, len);
    Value out[4];
    uint64_t mm = 0;
    int next = 0;
    int rejected = 0;
    dec.decode_block(
        buf.data(), len, out, mm,
        [&] {
            ASSERT_EQ(out[0].type, Type::Int);
            EXPECT_EQ(out[0].i, next);
            EXPECT_EQ(out[1].str(), "v\n" + std::to_string(next));
            EXPECT_EQ(out[2].d, next + 0.5);
            EXPECT_EQ(out[3].b, next % 2 != 0);
            ++next;
        },
        [&] { ++rejected; });
    EXPECT_EQ(next, 5000);
    EXPECT_EQ(rejected, 0);
    EXPECT_EQ(mm, 0u);
    EXPECT_EQ(dec.block_stats().streamed, 5000u);
    EXPECT_EQ(dec.block_stats().alone, 0u);
    EXPECT_EQ(dec.block_stats().windows, 1u);
}

TEST(DecodeBlock, NeighboursOfMalformedLinesSurvive) {
    // SPEC §2: a malformed line never takes its neighbours with it.
    const auto fields = paths({"k", "v"});
    const std::vector<std::string> bad = {R"({"k":"a","v":3)", "not json", R"({"a":1} {"b":2})", R"({"a":)",
                                          "1}", R"({"k":"x","v":"unterminated)", "[1,2,3]", "\"s\""};
    NdjsonDecoder dec(fields, 1024, 1 << 16);
    for (const std::string& b : bad) {
        for (int where = 0; where < 3; ++where) {
            std::string buf;
            for (int i = 0; i < 6; ++i) {
                if (i == where * 2 + 1) {
                    buf += b + "\n";
                }
                buf += "{\"k\":\"r" + std::to_string(i) + "\",\"v\":" + std::to_string(i) + "}\n";
            }
            const std::size_t len = buf.size();
            buf.append(kDecodePadding, ' ');
            Value out[2];
            uint64_t mm = 0;
            std::vector<int64_t> seen;
            int rejected = 0;
            dec.decode_block(
                buf.data(), len, out, mm, [&] { seen.push_back(out[1].i); }, [&] { ++rejected; });
            EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5})) << b << " at " << where;
            EXPECT_EQ(rejected, 1) << b << " at " << where;
        }
    }
    // A line split in two: both halves are rejected, nothing else.
    std::string buf = "{\"k\":\"a\",\"v\":1}\n{\"k\":\"b\",\n\"v\":2}\n{\"k\":\"c\",\"v\":3}\n";
    const std::size_t len = buf.size();
    buf.append(kDecodePadding, ' ');
    Value out[2];
    uint64_t mm = 0;
    std::vector<std::string> seen;
    dec.decode_block(
        buf.data(), len, out, mm, [&] { seen.push_back(std::string(out[0].str())); }, [&] { seen.push_back("X"); });
    EXPECT_EQ(seen, (std::vector<std::string>{"a", "X", "X", "c"}));
}

TEST(DecodeBlock, UnclosedLastDocumentStopsAtTheWindowEnd) {
    // Found by the differential test: an object left open on the last line of
    // a stream window must not be closed by whatever byte follows the window
    // (simdjson reads it as one more token), nor continue into the next line.
    const auto fields = paths({"v"});
    for (const char* tail : {"\n", "", "\r\n"}) {
        for (char pad : {'}', ']', ',', '\n', '1'}) {
            std::string buf = std::string("{\"v\":1}\n{ \"v\": 9223372\n036854775807  }  ") + tail;
            const std::size_t len = buf.size();
            buf.append(kDecodePadding, pad);
            NdjsonDecoder dec(fields, 1024, 4096);
            Value out[1];
            uint64_t mm = 0;
            std::vector<std::string> seen;
            dec.decode_block(
                buf.data(), len, out, mm, [&] { seen.push_back(std::to_string(out[0].i)); },
                [&] { seen.push_back("X"); });
            EXPECT_EQ(seen, (std::vector<std::string>{"1", "X", "X"})) << "pad " << pad << " tail " << tail;
        }
    }
}

TEST(DecodeBlock, BadUtf8AtTheWindowEnd) {
    // Found by the differential test: in streaming mode simdjson 3.0.1 drops
    // up to 3 final bytes that could be a cut UTF-8 sequence, unchecked.
    const auto fields = paths({"s"});
    for (const char* last : {"{ } \xff ", "{}\xf0", "{} \xe0", "{\"s\":\"\xc3\xa9\"}", "{\"s\":1}\xf4\x80"}) {
        for (const char* tail : {"\n", "", "\r\n"}) {
            std::string buf = std::string("{\"s\":\"a\"}\n") + last + tail;
            const std::size_t len = buf.size();
            buf.append(kDecodePadding, '"');
            NdjsonDecoder reference(fields, 1024);
            NdjsonDecoder dec(fields, 1024, 4096);
            Value out[1];
            uint64_t mm = 0;
            std::vector<std::string> seen;
            dec.decode_block(
                buf.data(), len, out, mm, [&] { seen.push_back(std::string(out[0].str())); },
                [&] { seen.push_back("X"); });
            const std::string alone(last);
            std::string copy = alone + std::string(kDecodePadding, '"');
            const bool ok = reference.decode(copy.data(), alone.size(), out, mm);
            EXPECT_EQ(seen, (std::vector<std::string>{"a", ok ? std::string(out[0].str()) : "X"}))
                << "last line " << last << " tail " << tail;
        }
    }
}

TEST(DecodeBlock, NonAsciiLineEndsStillStream) {
    // Valid lines never end in a UTF-8 lead byte: windows need not give any back.
    const auto fields = paths({"name"});
    std::string buf;
    for (int i = 0; i < 1000; ++i) {
        buf += i % 2 ? "{\"name\":\"Jos\xc3\xa9\"}\n" : "{\"name\":\"\xf0\x9f\x98\x80\"}\r\n";
    }
    const std::size_t len = buf.size();
    buf.append(kDecodePadding, ' ');
    NdjsonDecoder dec(fields, 1024, len);
    Value out[1];
    uint64_t mm = 0;
    int records = 0;
    dec.decode_block(
        buf.data(), len, out, mm, [&] { ++records; }, [] { ADD_FAILURE() << "rejected"; });
    EXPECT_EQ(records, 1000);
    EXPECT_EQ(dec.block_stats().streamed, 1000u);
    EXPECT_EQ(dec.block_stats().windows, 1u);
}

TEST(DecodeBlock, MalformedUtf8TailsCostLittle) {
    // Every line ends in a lead byte: each is rejected, one by one, without
    // rescanning the block for each line.
    const auto fields = paths({"a"});
    std::string buf;
    for (int i = 0; i < 3000; ++i) {
        buf += "{\"a\":1}\xc3\n";
    }
    const std::size_t len = buf.size();
    buf.append(kDecodePadding, ' ');
    NdjsonDecoder dec(fields, 1024, len);
    Value out[1];
    uint64_t mm = 0;
    int rejected = 0;
    dec.decode_block(
        buf.data(), len, out, mm, [] { ADD_FAILURE() << "accepted"; }, [&] { ++rejected; });
    EXPECT_EQ(rejected, 3000);
    EXPECT_EQ(dec.block_stats().alone, 3000u);
}

TEST(DecodeBlock, EmptyAndBlankBlocks) {
    const auto fields = paths({"k"});
    NdjsonDecoder dec(fields, 1024, 4096);
    Value out[1];
    uint64_t mm = 0;
    int calls = 0;
    for (std::string buf : {std::string(), std::string("\n"), std::string(" \t\r\n\r\n\n  ")}) {
        const std::size_t len = buf.size();
        buf.append(kDecodePadding, '{');
        dec.decode_block(
            buf.data(), len, out, mm, [&] { ++calls; }, [&] { ++calls; });
    }
    EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace sluice
