#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "runtime/ring_message.h"

namespace sluice {
namespace {

TEST(RingMessage, RecordRoundTripsThroughARing) {
    SpscRing ring(1 << 16);
    const uint8_t key[] = {1, 2, 3, 4, 5};
    std::string s1 = "hello", s2 = "a longer string value";
    Value args[4] = {Value::of_int(-7), Value::of_string(s1), Value::null(), Value::of_string(s2)};
    PreparedRecord r;
    r.hash = 0x1234567890abcdefULL;
    r.key = key;
    r.key_len = sizeof key;
    r.ts = 1700000000123;
    r.args = args;
    r.nargs = 4;

    const std::string raw = R"({"sym":"hello","v":-7})";
    const auto bytes = static_cast<uint32_t>(record_msg_size(r, static_cast<uint32_t>(raw.size())));
    void* dst = ring.try_alloc(bytes);
    ASSERT_NE(dst, nullptr);
    encode_record(dst, r, 3, 999, 42, raw.data(), static_cast<uint32_t>(raw.size()));
    ring.push();
    ring.flush();
    s1.assign(s1.size(), 'x');  // the message must not point into the sender's memory
    s2.assign(s2.size(), 'y');

    uint32_t len = 0;
    const void* msg = ring.front(&len);
    ASSERT_NE(msg, nullptr);
    EXPECT_GE(len, bytes);
    Value out[4];
    AggInput in = decode_record(msg, out, 4);
    EXPECT_EQ(in.hash, r.hash);
    EXPECT_EQ(in.ts, r.ts);
    EXPECT_EQ(in.wm_before, 999);
    EXPECT_EQ(in.seq, 42u);
    EXPECT_EQ(in.source, 3);
    ASSERT_EQ(in.key_len, sizeof key);
    EXPECT_EQ(std::memcmp(in.key, key, sizeof key), 0);
    EXPECT_EQ(out[0].type, Type::Int);
    EXPECT_EQ(out[0].i, -7);
    EXPECT_EQ(out[1].str(), "hello");
    EXPECT_TRUE(out[2].is_null());
    EXPECT_EQ(out[3].str(), "a longer string value");
    // The record's text rides behind the strings, for a dead-letter output.
    EXPECT_EQ(std::string(in.raw, in.raw_len), raw);
}

TEST(RingMessage, RecordWithoutTextCarriesNone) {
    SpscRing ring(1 << 16);
    const uint8_t key[2] = {1, 2};
    Value args[1] = {Value::of_int(5)};
    PreparedRecord r;
    r.key = key;
    r.key_len = sizeof key;
    r.args = args;
    r.nargs = 1;
    void* dst = ring.try_alloc(static_cast<uint32_t>(record_msg_size(r)));
    ASSERT_NE(dst, nullptr);
    encode_record(dst, r, 0, 0, 0);
    ring.push();
    ring.flush();
    uint32_t len = 0;
    Value out[1];
    const AggInput in = decode_record(ring.front(&len), out, 1);
    EXPECT_EQ(in.raw, nullptr);
    EXPECT_EQ(in.raw_len, 0u);
    EXPECT_EQ(out[0].i, 5);
}

}  // namespace
}  // namespace sluice
