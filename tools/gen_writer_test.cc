#include "gen_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace sluice {
namespace {

// Runs the block writer into an anonymous temporary file and returns its bytes.
std::string write_to_string(const RecordFormatter& f, uint64_t start, uint64_t count, unsigned threads) {
    std::FILE* tmp = std::tmpfile();
    EXPECT_NE(tmp, nullptr);
    if (tmp == nullptr) return {};
    const int fd = fileno(tmp);
    EXPECT_EQ(write_record_blocks(fd, f, start, count, threads), 0);
    std::string out;
    char buf[1 << 16];
    ssize_t n;
    off_t off = 0;
    while ((n = ::pread(fd, buf, sizeof buf, off)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        off += n;
    }
    std::fclose(tmp);
    return out;
}

std::string expected_lines(const RecordFormatter& f, uint64_t start, uint64_t count) {
    std::string out;
    char buf[kMaxGenRecordBytes];
    for (uint64_t i = start; i < start + count; ++i) {
        out.append(buf, f.format(i, buf));
        out.push_back('\n');
    }
    return out;
}

TEST(GenWriter, WritesEveryRecordOncePerLineInOrder) {
    const RecordFormatter f(Scenario::S2);
    // Several blocks plus a partial one.
    const uint64_t count = 3 * records_per_block(f, 0) + 17;
    EXPECT_EQ(write_to_string(f, 0, count, 1), expected_lines(f, 0, count));
}

TEST(GenWriter, ThreadCountDoesNotChangeTheBytes) {
    for (Scenario s : {Scenario::S0, Scenario::OneBrc}) {
        const RecordFormatter f(s, 3);
        const uint64_t count = 5 * records_per_block(f, 1000) + 5;
        const std::string one = write_to_string(f, 1000, count, 1);
        EXPECT_EQ(one, expected_lines(f, 1000, count));
        EXPECT_EQ(write_to_string(f, 1000, count, 2), one);
        EXPECT_EQ(write_to_string(f, 1000, count, 3), one);
    }
}

TEST(GenWriter, RangesConcatenate) {
    const RecordFormatter f(Scenario::S3Dense);
    const uint64_t a = records_per_block(f, 0) + 3;
    EXPECT_EQ(write_to_string(f, 0, a, 2) + write_to_string(f, a, 500, 2), expected_lines(f, 0, a + 500));
}

TEST(GenWriter, SmallAndEmptyCounts) {
    const RecordFormatter f(Scenario::S1);
    EXPECT_EQ(write_to_string(f, 0, 0, 2), "");
    EXPECT_EQ(write_to_string(f, 7, 1, 4), expected_lines(f, 7, 1));
}

TEST(GenWriter, BlocksAreAboutOneMebibyte) {
    for (Scenario s : kAllScenarios) {
        const RecordFormatter f(s);
        const uint64_t n = records_per_block(f, 0);
        const std::size_t bytes = expected_lines(f, 0, n).size();
        EXPECT_GT(bytes, kGenBlockBytes * 9 / 10) << scenario_name(s);
        EXPECT_LT(bytes, kGenBlockBytes * 11 / 10) << scenario_name(s);
    }
}

TEST(GenWriter, ReportsAWriteError) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[1]);
    // Writing to a read-only end fails with EBADF.
    EXPECT_EQ(write_record_blocks(fds[0], RecordFormatter(Scenario::S0), 0, 10, 2), EBADF);
    ::close(fds[0]);
}

}  // namespace
}  // namespace sluice
