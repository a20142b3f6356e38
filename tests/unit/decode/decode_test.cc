// NdjsonDecoder: field types, paths, escapes, duplicates and every malformed
// shape the engine must reject.
#include <gtest/gtest.h>

#include "field_paths.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/decode.h"

namespace sluice {
namespace {

// A decoder plus an input buffer with the padding the contract requires.
struct Harness {
    explicit Harness(const std::vector<FieldPath>& f, std::size_t max_record = kDefaultMaxRecordBytes)
        : dec(f, max_record), out(f.size()) {}

    // pad: the byte that fills the padding after the line (it must not matter).
    bool run(std::string_view line, char pad = '\n') {
        buf.assign(line.data(), line.size());
        buf.append(kDecodePadding, pad);
        // Poison the slots: decode must overwrite every one of them.
        for (Value& v : out) {
            v = Value::of_int(-999);
        }
        return dec.decode(buf.data(), line.size(), out.data(), mismatches);
    }

    NdjsonDecoder dec;
    std::vector<Value> out;
    uint64_t mismatches = 0;
    std::string buf;
};

void expect_int(const Value& v, int64_t want) {
    ASSERT_EQ(v.type, Type::Int);
    EXPECT_EQ(v.i, want);
}

void expect_double(const Value& v, double want) {
    ASSERT_EQ(v.type, Type::Double);
    EXPECT_DOUBLE_EQ(v.d, want);
}

void expect_str(const Value& v, std::string_view want) {
    ASSERT_EQ(v.type, Type::String);
    EXPECT_EQ(v.str(), want);
}

void expect_bool(const Value& v, bool want) {
    ASSERT_EQ(v.type, Type::Bool);
    EXPECT_EQ(v.b, want);
}

TEST(Decoder, EveryFieldType) {
    Harness h(paths({"i", "neg", "d", "e", "s", "t", "f", "n", "missing", "zero"}));
    ASSERT_TRUE(h.run(R"({"i":42,"neg":-7,"d":1.5,"e":2e3,"s":"hi","t":true,"f":false,"n":null,"zero":-0.0})"));
    expect_int(h.out[0], 42);
    expect_int(h.out[1], -7);
    expect_double(h.out[2], 1.5);
    expect_double(h.out[3], 2000.0);
    expect_str(h.out[4], "hi");
    expect_bool(h.out[5], true);
    expect_bool(h.out[6], false);
    EXPECT_TRUE(h.out[7].is_null());
    EXPECT_TRUE(h.out[8].is_null());
    expect_double(h.out[9], 0.0);
    EXPECT_EQ(h.mismatches, 0u);
    EXPECT_EQ(h.dec.field_count(), 10u);
}

TEST(Decoder, BigIntegers) {
    Harness h(paths({"a", "b", "c", "d", "e", "f"}));
    ASSERT_TRUE(h.run(R"({"a":9223372036854775807,"b":9223372036854775808,"c":-9223372036854775808,)"
                      R"("d":18446744073709551615,"e":123456789012345678901234567890,"f":-99999999999999999999})"));
    expect_int(h.out[0], INT64_MAX);
    expect_double(h.out[1], 9223372036854775808.0);
    expect_int(h.out[2], INT64_MIN);
    expect_double(h.out[3], 18446744073709551615.0);
    expect_double(h.out[4], 1.2345678901234568e29);
    expect_double(h.out[5], -1e20);
}

TEST(Decoder, NumbersBeyondDoubleRange) {
    Harness h(paths({"big", "tiny", "k"}));
    ASSERT_TRUE(h.run(R"({"big":1e400,"tiny":1e-400,"k":-2.5E+3})"));
    EXPECT_TRUE(h.out[0].is_null());
    expect_double(h.out[1], 0.0);
    expect_double(h.out[2], -2500.0);
    EXPECT_EQ(h.mismatches, 1u);
    Harness skip(paths({"k"}));
    ASSERT_TRUE(skip.run(R"({"big":-1e400,"k":1})"));
    expect_int(skip.out[0], 1);
}

TEST(Decoder, BigIntegersWhenSkipped) {
    Harness h(paths({"k"}));
    ASSERT_TRUE(h.run(R"({"x":123456789012345678901234567890,"k":1})"));
    expect_int(h.out[0], 1);
}

TEST(Decoder, NestedPaths) {
    Harness h(paths({"a.b.c", "a.x", "a.y", "z", "a.b.missing", "q.r"}));
    ASSERT_TRUE(h.run(R"({"a":{"x":1,"b":{"skip":[1,{"c":9}],"c":"deep"},"y":2.5},"z":0})"));
    expect_str(h.out[0], "deep");
    expect_int(h.out[1], 1);
    expect_double(h.out[2], 2.5);
    expect_int(h.out[3], 0);
    EXPECT_TRUE(h.out[4].is_null());
    EXPECT_TRUE(h.out[5].is_null());
    EXPECT_EQ(h.mismatches, 0u);
}

TEST(Decoder, NestedFieldsOfTheConformanceCase) {
    Harness h(paths({"customer.id", "cart.total"}));
    ASSERT_TRUE(h.run(R"({"customer":{"id":"c1","name":"Ann"},"cart":{"total":10.5,"items":2}})"));
    expect_str(h.out[0], "c1");
    expect_double(h.out[1], 10.5);
    ASSERT_TRUE(h.run(R"({"customer":{"id":"c2"},"cart":{}})"));
    expect_str(h.out[0], "c2");
    EXPECT_TRUE(h.out[1].is_null());
}

TEST(Decoder, PathThroughNonObjectIsNull) {
    Harness h(paths({"a.b", "k"}));
    for (const char* line : {R"({"a":5,"k":1})", R"({"a":"str","k":1})", R"({"a":[{"b":1}],"k":1})",
                             R"({"a":null,"k":1})", R"({"a":true,"k":1})"}) {
        ASSERT_TRUE(h.run(line)) << line;
        EXPECT_TRUE(h.out[0].is_null()) << line;
        expect_int(h.out[1], 1);
    }
    EXPECT_EQ(h.mismatches, 0u);
}

TEST(Decoder, ObjectOrArrayLeafIsNullAndCounted) {
    Harness h(paths({"o", "arr", "k"}));
    h.mismatches = 5;  // decode adds to the caller's counter
    ASSERT_TRUE(h.run(R"({"o":{"k":1},"arr":[1,2],"k":"v"})"));
    EXPECT_TRUE(h.out[0].is_null());
    EXPECT_TRUE(h.out[1].is_null());
    expect_str(h.out[2], "v");
    EXPECT_EQ(h.mismatches, 7u);
}

TEST(Decoder, PathThatIsAlsoALeaf) {
    Harness h(paths({"a", "a.b"}));
    ASSERT_TRUE(h.run(R"({"a":{"b":1}})"));
    EXPECT_TRUE(h.out[0].is_null());
    expect_int(h.out[1], 1);
    EXPECT_EQ(h.mismatches, 1u);
    ASSERT_TRUE(h.run(R"({"a":3})"));
    expect_int(h.out[0], 3);
    EXPECT_TRUE(h.out[1].is_null());
    EXPECT_EQ(h.mismatches, 1u);
}

TEST(Decoder, MissingFieldsAreNull) {
    Harness h(paths({"a", "b.c", "d"}));
    ASSERT_TRUE(h.run(R"({"x":1,"b":{"y":2}})"));
    for (const Value& v : h.out) {
        EXPECT_TRUE(v.is_null());
    }
    ASSERT_TRUE(h.run("{}"));
    for (const Value& v : h.out) {
        EXPECT_TRUE(v.is_null());
    }
}

TEST(Decoder, DocumentOrderDoesNotMatter) {
    Harness h(paths({"c", "a.y", "b", "a.x"}));
    std::vector<std::string> members = {R"("a":{"x":1,"y":"two"})", R"("b":3.5)", R"("c":false)", R"("d":[1])"};
    std::sort(members.begin(), members.end());
    int perms = 0;
    do {
        std::string line = "{";
        for (std::size_t i = 0; i < members.size(); ++i) {
            line += (i ? "," : "") + members[i];
        }
        line += "}";
        ASSERT_TRUE(h.run(line)) << line;
        expect_bool(h.out[0], false);
        expect_str(h.out[1], "two");
        expect_double(h.out[2], 3.5);
        expect_int(h.out[3], 1);
        ++perms;
    } while (std::next_permutation(members.begin(), members.end()));
    EXPECT_EQ(perms, 24);
}

TEST(Decoder, KeysThatArePrefixesOfEachOther) {
    Harness h(paths({"ab", "abc", "abcdefg", "abcdefgh", "abcdefghi", "a"}));
    ASSERT_TRUE(h.run(R"({"abcdefghi":5,"abcdefgh":4,"abcdefg":3,"abc":2,"ab":1,"abcd":0,"a":6})"));
    expect_int(h.out[0], 1);
    expect_int(h.out[1], 2);
    expect_int(h.out[2], 3);
    expect_int(h.out[3], 4);
    expect_int(h.out[4], 5);
    expect_int(h.out[5], 6);
    // Longer keys in the document that extend the wanted ones do not match.
    ASSERT_TRUE(h.run(R"({"abx":1,"abcdefgX":2,"abcdefghij":3,"":4})"));
    for (const Value& v : h.out) {
        EXPECT_TRUE(v.is_null());
    }
}

TEST(Decoder, LongKeysAreComparedWordByWord) {
    // 16 and 24 bytes (a third and fourth word holding just the closing
    // quote), 23 bytes, and near misses in every word.
    Harness h(paths({"x234567812345678", "a_rather_long_field_name", "a_rather_long_field_nam", "k"}));
    ASSERT_TRUE(h.run(R"({"x234567812345678":1,"a_rather_long_field_name":2,"a_rather_long_field_nam":3,"k":4})"));
    expect_int(h.out[0], 1);
    expect_int(h.out[1], 2);
    expect_int(h.out[2], 3);
    expect_int(h.out[3], 4);
    ASSERT_TRUE(h.run(R"({"x23456781234567":1,"x2345678123456789":1,"y234567812345678":1,"x234567812345679":1,)"
                      R"("a_rather_long_field_names":2,"a_rather_long_field_nbm":3,"a_rather_Long_field_name":2,)"
                      R"("a_rather_long_field_na":3,"k":4})"));
    EXPECT_TRUE(h.out[0].is_null());
    EXPECT_TRUE(h.out[1].is_null());
    EXPECT_TRUE(h.out[2].is_null());
    expect_int(h.out[3], 4);
    // The key as the document's last bytes: the compare stops at the first
    // differing word, inside the padding.
    ASSERT_FALSE(h.run(R"({"a":{"x234567812345678)"));
}

TEST(Decoder, EmptyKey) {
    Harness h(paths({"", "k"}));
    ASSERT_TRUE(h.run(R"({"":7,"k":1})"));
    expect_int(h.out[0], 7);
    expect_int(h.out[1], 1);
}

TEST(Decoder, EscapedStringsAreUnescaped) {
    Harness h(paths({"q", "u", "t", "emoji", "slash"}));
    ASSERT_TRUE(h.run(R"({"q":"a\"b","u":"caf\u00e9","t":"x\ty\nz","emoji":"\ud83d\ude00","slash":"\/\\"})"));
    expect_str(h.out[0], "a\"b");
    expect_str(h.out[1], "caf\xc3\xa9");
    expect_str(h.out[2], "x\ty\nz");
    expect_str(h.out[3], "\xf0\x9f\x98\x80");
    expect_str(h.out[4], "/\\");
}

TEST(Decoder, Utf8PassesThrough) {
    Harness h(paths({"name", "caf\xc3\xa9"}));
    ASSERT_TRUE(h.run("{\"name\":\"M\xc3\xbcnchen\",\"caf\xc3\xa9\":1}"));
    expect_str(h.out[0], "M\xc3\xbcnchen");
    expect_int(h.out[1], 1);
}

TEST(Decoder, EscapedKeysMatchTheirUnescapedSpelling) {
    Harness h(paths({"a", "we\"ird", "back\\slash", "caf\xc3\xa9", "o.k"}));
    ASSERT_TRUE(h.run(R"({"\u0061":1,"we\"ird":2,"back\\slash":3,"caf\u00e9":4,"\u006f":{"\u006b":5}})"));
    expect_int(h.out[0], 1);
    expect_int(h.out[1], 2);
    expect_int(h.out[2], 3);
    expect_int(h.out[3], 4);
    expect_int(h.out[4], 5);
    // An escaped key that matches nothing is skipped; a broken escape rejects.
    ASSERT_TRUE(h.run(R"({"\u0062":1})"));
    EXPECT_TRUE(h.out[0].is_null());
    EXPECT_FALSE(h.run(R"({"\q":1})"));
}

TEST(Decoder, DuplicateKeysLastOneWins) {
    Harness h(paths({"a", "o.x", "o.y"}));
    ASSERT_TRUE(h.run(R"({"a":1,"o":{"x":1,"y":1},"a":2,"o":{"y":2}})"));
    expect_int(h.out[0], 2);
    EXPECT_TRUE(h.out[1].is_null());  // the later "o" has no "x"
    expect_int(h.out[2], 2);
    ASSERT_TRUE(h.run(R"({"o":{"x":1},"o":3})"));
    EXPECT_TRUE(h.out[1].is_null());
    EXPECT_TRUE(h.out[2].is_null());
}

TEST(Decoder, SamePathTwiceInThePlan) {
    Harness h(paths({"x", "y", "x"}));
    ASSERT_TRUE(h.run(R"({"x":"v","y":1})"));
    expect_str(h.out[0], "v");
    expect_int(h.out[1], 1);
    expect_str(h.out[2], "v");
}

TEST(Decoder, NoFieldsStillValidates) {
    Harness h(paths({}));
    EXPECT_TRUE(h.run(R"({"a":[1,{"b":null}],"c":"d"})"));
    EXPECT_TRUE(h.run("{\"a\":-0,\"b\":0.0e0,\"c\":1E+2 ,\"d\":true ,\"e\":null\t,\"f\":false,"
                      "\"g\":-12.5e-3,\"h\":\"x\\\"y\\u00e9\",\"\\u0041\":[],\"i\":{}}"));
    EXPECT_FALSE(h.run(R"({"a":[1,{"b":nul}],"c":"d"})"));
}

TEST(Decoder, WhitespaceAroundTokens) {
    Harness h(paths({"a", "b"}));
    ASSERT_TRUE(h.run(" \t{ \"a\" : 1 ,\n \"b\" : [ 1 , 2 ] }  \r"));
    expect_int(h.out[0], 1);
    EXPECT_TRUE(h.out[1].is_null());
}

// Every malformed line, decoded by a plan that reads its fields and by one
// that reads nothing (so the bad part is skipped, not read), with padding
// bytes that imitate a following record.
TEST(Decoder, RejectsMalformedLines) {
    const std::vector<std::string> bad = {
        "not json",
        "[1,2,3]",
        R"({"k":"a","v":3)",
        R"("str")",
        "{}}",
        R"({"a":1} {"b":2})",
        R"({"a":1}x)",
        R"({"a":1}})",
        R"({"a":1}])",
        R"({"a":1},)",
        "",
        "   ",
        "42",
        "null",
        "{",
        "}",
        R"({"a":})",
        R"({"a" 1})",
        R"({"a":1,})",
        R"({,})",
        R"({"a":1 "b":2})",
        R"({"a":tru})",
        R"({"a":nul})",
        R"({"a":falsey})",
        R"({"a":01})",
        R"({"a":1.})",
        R"({"a":-})",
        R"({"a":1e})",
        R"({"a":0x10})",
        R"({"a":"\x"})",
        R"({"a":"\u12"})",
        R"({"a":"abc})",
        R"({"a":'single'})",
        R"({a:1})",
        R"({"a":[1 2],"b":1})",
        R"({"a":[1,2},"b":1})",
        R"({"a":[1,2,],"b":1})",
        R"({"a":{"x":1,},"b":1})",
        R"({"a":{"x" 1},"b":1})",
        R"({"a":{"\q":1},"b":1})",
        R"({"a":["\q"],"b":1})",
        R"({"b":1,"a":[[[]]})",
        R"({"b":1,"a":{"c":{"d":[}}}})",
        R"({"a":-01})",
        R"({"a":1.5e})",
        R"({"a":1e+})",
        R"({"a":--1})",
        R"({"a":+1})",
        R"({"a":.5})",
        R"({"a":1.2.3})",
        R"({"a":Infinity})",
        R"({"a":NaN})",
        R"({"a":truee})",
        R"({"a":nulll})",
        R"({"a":True})",
        "{\"a\":\"ctrl\x01\"}",
        "{\"a\":\"bad utf8 \xff\"}",
    };
    Harness reads(paths({"a", "b", "k", "v", "a.x"}));
    Harness skips(paths({"zzz"}));
    for (const std::string& line : bad) {
        for (char pad : {'\n', '}', ' ', '"'}) {
            EXPECT_FALSE(reads.run(line, pad)) << "reading: " << line << " pad=" << pad;
            EXPECT_FALSE(skips.run(line, pad)) << "skipping: " << line << " pad=" << pad;
        }
    }
    // The decoder is still usable after every rejection.
    ASSERT_TRUE(reads.run(R"({"a":1,"b":2})"));
    expect_int(reads.out[0], 1);
}

TEST(Decoder, RejectedLineLeavesSlotsNull) {
    Harness h(paths({"k", "v"}));
    ASSERT_FALSE(h.run(R"({"k":"a","v":3)"));
    EXPECT_TRUE(h.out[0].is_null());
    EXPECT_TRUE(h.out[1].is_null());
}

TEST(Decoder, ConformanceBadInputShapes) {
    // The input of conformance case 26: three lines are rejected, one value mismatches.
    Harness h(paths({"k", "v"}));
    const std::vector<std::string> lines = {R"({"k":"a","v":1})",   "not json", R"({"k":"a","v":2})",
                                            R"({"k":"b","v":"oops"})", "[1,2,3]",  R"({"k":"a","v":3)",
                                            R"({"k":"b","v":4})"};
    int accepted = 0;
    for (const std::string& l : lines) {
        accepted += h.run(l) ? 1 : 0;
    }
    EXPECT_EQ(accepted, 4);
    // "oops" is a string: the decoder hands it over as is (the mismatch is the
    // evaluator's, which needs a number); objects/arrays are the decoder's.
    EXPECT_EQ(h.mismatches, 0u);
}

TEST(Decoder, OverMaxRecordIsRejected) {
    Harness h(paths({"a"}), 64);
    std::string ok = R"({"a":")" + std::string(50, 'x') + R"("})";
    ASSERT_LE(ok.size(), 64u);
    EXPECT_TRUE(h.run(ok));
    std::string big = R"({"a":")" + std::string(80, 'x') + R"("})";
    EXPECT_FALSE(h.run(big));
    EXPECT_TRUE(h.run(R"({"a":1})"));
}

TEST(Decoder, DeepNestingIsBoundedNotFatal) {
    Harness h(paths({"k"}));
    auto nested = [](int depth) {
        return R"({"k":1,"a":)" + std::string(static_cast<std::size_t>(depth), '[') +
               std::string(static_cast<std::size_t>(depth), ']') + "}";
    };
    EXPECT_TRUE(h.run(nested(100)));
    EXPECT_FALSE(h.run(nested(100000)));
    std::string objs = "{";
    for (int i = 0; i < 100000; ++i) {
        objs += R"("a":{)";
    }
    objs += std::string(100000, '}') + "}";
    EXPECT_FALSE(h.run(objs));
}

TEST(Decoder, ManyRecordsBackToBack) {
    Harness h(paths({"id", "name", "score", "tags.first", "ok"}));
    for (int i = 0; i < 20000; ++i) {
        std::string line = "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i % 97) + "\"";
        if (i % 3 == 0) {
            line += ",\"score\":" + std::to_string(i) + ".25";
        }
        if (i % 5 == 0) {
            line += ",\"tags\":{\"first\":\"t" + std::to_string(i) + "\",\"rest\":[1,2]}";
        }
        line += ",\"ok\":" + std::string(i % 2 ? "true" : "false") + "}";
        if (i % 7 == 0) {
            ASSERT_FALSE(h.run(line.substr(0, line.size() - 1))) << i;  // truncated
            continue;
        }
        ASSERT_TRUE(h.run(line)) << line;
        expect_int(h.out[0], i);
        expect_str(h.out[1], "n" + std::to_string(i % 97));
        if (i % 3 == 0) {
            expect_double(h.out[2], i + 0.25);
        } else {
            EXPECT_TRUE(h.out[2].is_null());
        }
        if (i % 5 == 0) {
            expect_str(h.out[3], "t" + std::to_string(i));
        } else {
            EXPECT_TRUE(h.out[3].is_null());
        }
        expect_bool(h.out[4], i % 2 != 0);
    }
    EXPECT_EQ(h.mismatches, 0u);
}

TEST(Decoder, StringsLiveUntilTheNextDecode) {
    Harness h(paths({"a", "b"}));
    ASSERT_TRUE(h.run(R"({"a":"first\u0021","b":"second"})"));
    // Overwrite the input: escaped and plain strings alike live in the decoder.
    const Value a = h.out[0];
    const Value b = h.out[1];
    std::fill(h.buf.begin(), h.buf.end(), 'X');
    EXPECT_EQ(a.str(), "first!");
    EXPECT_EQ(b.str(), "second");
}

}  // namespace
}  // namespace sluice
