// LineReader and split_at_lines against a plain reference splitter over the
// same bytes: tiny chunks put every chunk boundary at every position of a
// line, and over-long lines span many chunks.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sluice/decode.h"

namespace sluice {
namespace {

// "L:<line>" for a delivered line, "O" for an oversized one.
using Events = std::vector<std::string>;

bool blank(const std::string& s) {
    for (char c : s) {
        if (c != ' ' && c != '\t' && c != '\r') {
            return false;
        }
    }
    return true;
}

// The specification, written the obvious way: split on '\n', strip one '\r'
// before it, an unterminated tail is a line, longer than max is oversized,
// blank lines vanish.
Events reference_split(const std::string& data, std::size_t max_record) {
    Events ev;
    std::size_t start = 0;
    while (start < data.size()) {
        std::size_t nl = data.find('\n', start);
        const bool terminated = nl != std::string::npos;
        if (!terminated) {
            nl = data.size();
        }
        std::string line = data.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.size() > max_record) {
            ev.push_back("O");
        } else if (!blank(line)) {
            ev.push_back("L:" + line);
        }
        start = nl + 1;
    }
    return ev;
}

struct Collect {
    Events ev;
    uint64_t padding_sum = 0;
};

// Both ways to read: line by line (next_chunk) and block by block (next_blocks).
enum class Api { Lines, Blocks };
constexpr Api kApis[] = {Api::Lines, Api::Blocks};

const char* api_name(Api api) { return api == Api::Lines ? "next_chunk" : "next_blocks"; }

Events read_all(LineReader& r, int* error = nullptr, Api api = Api::Lines, std::size_t max_record = 32) {
    Collect c;
    auto on_line = [&c](const char* p, std::size_t len) {
        c.ev.push_back("L:" + std::string(p, len));
        // The padding after the line must be readable (checked under ASan).
        for (std::size_t i = 0; i < kDecodePadding; ++i) {
            c.padding_sum += static_cast<unsigned char>(p[len + i]);
        }
    };
    auto on_oversize = [&c] { c.ev.push_back("O"); };
    bool unterminated = false;  // a block without a final '\n' must be the last one
    // A block is split the way LineReader splits lines; each of its lines fits.
    auto on_block = [&](const char* p, std::size_t len) {
        EXPECT_FALSE(unterminated) << "a block after the unterminated last line";
        ASSERT_GT(len, 0u);
        EXPECT_LE(len, r.max_block_bytes());
        unterminated = p[len - 1] != '\n';
        for (std::size_t i = 0; i < kDecodePadding; ++i) {
            c.padding_sum += static_cast<unsigned char>(p[len + i]);
        }
        std::size_t at = 0;
        while (at < len) {
            std::size_t nl = at;
            while (nl < len && p[nl] != '\n') {
                ++nl;
            }
            std::string line(p + at, nl - at);
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            EXPECT_LE(line.size(), max_record) << "an oversized line inside a block";
            if (line.find_first_not_of(" \t\r") != std::string::npos) {
                c.ev.push_back("L:" + line);
            }
            at = nl + 1;
        }
    };
    auto next = [&] {
        return api == Api::Lines ? r.next_chunk(on_line, on_oversize) : r.next_blocks(on_block, on_oversize);
    };
    int calls = 0;
    while (next()) {
        ++calls;
        if (calls > 10000000) {
            ADD_FAILURE() << api_name(api) << " never finished";
            break;
        }
    }
    // Once finished it stays finished.
    EXPECT_FALSE(next());
    if (error != nullptr) {
        *error = r.error();
    }
    return c.ev;
}

// Random NDJSON-ish bytes: lines of 0..90 bytes around max_record 32, CRLF,
// blank and whitespace lines, '\r' inside lines, optional final newline.
std::string random_input(std::mt19937& rng, int lines, bool final_newline) {
    std::string s;
    for (int i = 0; i < lines; ++i) {
        const int kind = static_cast<int>(rng() % 10);
        std::string line;
        if (kind == 0) {
            line = "";
        } else if (kind == 1) {
            line = std::string(rng() % 5, ' ') + (rng() % 2 ? "\t" : "");
        } else if (kind == 2) {
            // Right at the limit, with and without a '\r' that is stripped.
            line = std::string(32 + rng() % 2, 'a' + static_cast<char>(rng() % 26));
        } else {
            const std::size_t n = rng() % 90;
            for (std::size_t k = 0; k < n; ++k) {
                const char c = static_cast<char>('!' + rng() % 90);
                line += (rng() % 40 == 0) ? '\r' : c;
            }
        }
        if (rng() % 4 == 0) {
            line += '\r';
        }
        s += line;
        if (i + 1 < lines || final_newline) {
            s += '\n';
        }
    }
    return s;
}

class TempFile {
public:
    explicit TempFile(const std::string& data) {
        char tmpl[] = "/tmp/sluice_line_reader_XXXXXX";
        fd_ = mkstemp(tmpl);
        path_ = tmpl;
        EXPECT_GE(fd_, 0);
        std::size_t off = 0;
        while (off < data.size()) {
            const ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
            EXPECT_GT(n, 0);
            if (n <= 0) {
                break;
            }
            off += static_cast<std::size_t>(n);
        }
    }
    ~TempFile() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    int fd() const { return fd_; }

private:
    int fd_ = -1;
    std::string path_;
};

TEST(LineReader, FileWithEveryChunkSize) {
    std::mt19937 rng(2024);
    for (int round = 0; round < 4; ++round) {
        const std::string data = random_input(rng, 60, round % 2 == 0);
        const Events want = reference_split(data, 32);
        TempFile f(data);
        for (std::size_t chunk = 1; chunk <= 70; ++chunk) {
            for (Api api : kApis) {
                LineReader r(f.fd(), 0, data.size(), chunk, 32);
                ASSERT_EQ(read_all(r, nullptr, api), want) << "chunk " << chunk << " round " << round << " "
                                                           << api_name(api);
            }
        }
    }
}

TEST(LineReader, SpecialShapes) {
    const std::string data =
        "{\"a\":1}\r\n"  // CRLF
        "\n"              // empty
        "   \t \r\n"      // whitespace only
        "\r\n"            // just CR
        "x\ry\n"          // a CR inside the line stays
        + std::string(100, 'z') + "\n"  // oversized, spans chunks
        + std::string(33, 'q') + "\r\n"  // 33 bytes: oversized by one
        + std::string(32, 'p') + "\r\n"  // 32 bytes: fits once the CR is stripped
        + "   " + std::string(40, ' ') + "\n"  // blank but oversized
        "last";  // unterminated
    const Events want = {"L:{\"a\":1}",
                         "L:x\ry",
                         "O",
                         "O",
                         "L:" + std::string(32, 'p'),
                         "O",
                         "L:last"};
    ASSERT_EQ(reference_split(data, 32), want);
    TempFile f(data);
    for (std::size_t chunk : {1u, 2u, 7u, 64u, 4096u}) {
        for (Api api : kApis) {
            LineReader r(f.fd(), 0, data.size(), chunk, 32);
            EXPECT_EQ(read_all(r, nullptr, api), want) << "chunk " << chunk << " " << api_name(api);
        }
    }
}

TEST(LineReader, OversizedLineAtEndOfInput) {
    const std::string data = "ok\n" + std::string(500, 'x');
    TempFile f(data);
    for (Api api : kApis) {
        LineReader r(f.fd(), 0, data.size(), 64, 32);
        EXPECT_EQ(read_all(r, nullptr, api), (Events{"L:ok", "O"})) << api_name(api);
    }
}

TEST(LineReader, EmptyInputAndEmptyRange) {
    TempFile f("abc\n");
    LineReader empty_range(f.fd(), 2, 2, 64, 32);
    EXPECT_TRUE(read_all(empty_range).empty());
    TempFile g("");
    LineReader empty_file(g.fd(), 0, UINT64_MAX, 64, 32);
    EXPECT_TRUE(read_all(empty_file).empty());
}

TEST(LineReader, RangeEndsTheLastLine) {
    TempFile f("abc\ndefgh\nij\n");
    for (Api api : kApis) {
        LineReader r(f.fd(), 4, 7, 64, 32);  // "def"
        EXPECT_EQ(read_all(r, nullptr, api), (Events{"L:def"})) << api_name(api);
    }
}

TEST(LineReader, StreamModeReadsToEof) {
    const std::string data = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
    TempFile f(data);
    for (Api api : kApis) {
        ASSERT_EQ(::lseek(f.fd(), 0, SEEK_SET), 0);
        LineReader r(f.fd(), 0, UINT64_MAX, 5, 32);
        EXPECT_EQ(read_all(r, nullptr, api), (Events{"L:{\"a\":1}", "L:{\"b\":2}", "L:{\"c\":3}"}))
            << api_name(api);
    }
}

TEST(LineReader, PipeWithRandomWrites) {
    std::mt19937 rng(77);
    for (int round = 0; round < 6; ++round) {
        const Api api = kApis[round % 2];
        const std::string data = random_input(rng, 400, round / 2 != 1);
        const Events want = reference_split(data, 32);
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const unsigned seed = static_cast<unsigned>(rng());
        std::thread writer([&data, fd = fds[1], seed] {
            std::mt19937 wrng(seed);
            std::size_t off = 0;
            while (off < data.size()) {
                const std::size_t n = std::min<std::size_t>(1 + wrng() % 100, data.size() - off);
                const ssize_t w = ::write(fd, data.data() + off, n);
                if (w <= 0) {
                    break;
                }
                off += static_cast<std::size_t>(w);
            }
            ::close(fd);
        });
        LineReader r(fds[0], 0, UINT64_MAX, 64, 32);
        const Events got = read_all(r, nullptr, api);
        writer.join();
        ::close(fds[0]);
        EXPECT_EQ(got, want) << "round " << round << " " << api_name(api);
    }
}

TEST(LineReader, ReadErrorIsReported) {
    for (Api api : kApis) {
        LineReader r(-1, 0, UINT64_MAX, 64, 32);
        int err = 0;
        EXPECT_TRUE(read_all(r, &err, api).empty());
        EXPECT_EQ(err, EBADF);
    }
}

TEST(LineReader, BlocksAreMaximalRuns) {
    // Big chunks: one block per chunk, split only around oversized lines.
    std::string data;
    for (int i = 0; i < 40; ++i) {
        data += "{\"i\":" + std::to_string(i) + "}\r\n\n  \n";
        if (i == 10 || i == 11 || i == 30) {
            data += std::string(100, 'x') + "\n";
        }
    }
    data += "{\"end\":1}";
    TempFile f(data);
    LineReader r(f.fd(), 0, data.size(), 1 << 16, 32);
    std::vector<std::string> calls;
    while (r.next_blocks([&](const char* p, std::size_t len) { calls.push_back(std::string(p, len)); },
                         [&] { calls.push_back("O"); })) {
    }
    // Lines 0-10, O, line 11, O, lines 12-30, O, lines 31-39; the unterminated
    // tail comes at end of input.
    ASSERT_EQ(calls.size(), 8u);
    EXPECT_EQ(calls[1], "O");
    EXPECT_EQ(calls[3], "O");
    EXPECT_EQ(calls[5], "O");
    EXPECT_EQ(calls[0].substr(0, 9), "{\"i\":0}\r\n");
    EXPECT_EQ(calls[2], "{\"i\":11}\r\n\n  \n");
    EXPECT_EQ(calls[6].back(), '\n');
    EXPECT_EQ(calls[7], "{\"end\":1}");
}

TEST(LineReader, LinesFeedTheDecoder) {
    // The padding contract end to end: lines straight from the reader's buffer.
    std::string data;
    for (int i = 0; i < 500; ++i) {
        data += "{\"k\":" + std::to_string(i) + ",\"s\":\"" + std::string(static_cast<std::size_t>(i % 40), 'x') +
                "\"}" + (i % 3 == 0 ? "\r\n" : "\n");
        if (i % 50 == 0) {
            data += "garbage\n";
        }
    }
    TempFile f(data);
    FieldPath k;
    k.parts = {"k"};
    k.dotted = "k";
    NdjsonDecoder dec({k}, 1024);
    LineReader r(f.fd(), 0, data.size(), 100, 1024);
    int64_t next = 0;
    int rejected = 0;
    uint64_t mismatches = 0;
    Value out[1];
    auto on_line = [&](const char* p, std::size_t len) {
        if (!dec.decode(p, len, out, mismatches)) {
            ++rejected;
            return;
        }
        ASSERT_EQ(out[0].type, Type::Int);
        EXPECT_EQ(out[0].i, next);
        ++next;
    };
    while (r.next_chunk(on_line, [] { ADD_FAILURE() << "no line is oversized"; })) {
    }
    EXPECT_EQ(next, 500);
    EXPECT_EQ(rejected, 10);

    // The same through blocks: decode_block() reads straight from the reader's buffer.
    NdjsonDecoder block_dec({k}, 1024, 1024 + 1 + 100);
    LineReader br(f.fd(), 0, data.size(), 100, 1024);
    ASSERT_LE(br.max_block_bytes(), 1024u + 1 + 100);
    next = 0;
    rejected = 0;
    auto on_block = [&](const char* p, std::size_t len) {
        block_dec.decode_block(
            p, len, out, mismatches,
            [&] {
                ASSERT_EQ(out[0].type, Type::Int);
                EXPECT_EQ(out[0].i, next);
                ++next;
            },
            [&] { ++rejected; });
    };
    while (br.next_blocks(on_block, [] { ADD_FAILURE() << "no line is oversized"; })) {
    }
    EXPECT_EQ(next, 500);
    EXPECT_EQ(rejected, 10);
}

TEST(SplitAtLines, RangesDeliverEveryLineOnce) {
    std::mt19937 rng(5);
    for (int round = 0; round < 3; ++round) {
        std::string data = random_input(rng, 300, round != 2);
        if (round == 1) {
            data += std::string(5000, 'L') + "\n" + random_input(rng, 20, true);  // one long line
        }
        const Events whole = reference_split(data, 32);
        TempFile f(data);
        for (unsigned parts = 1; parts <= 7; ++parts) {
            const std::vector<uint64_t> off = split_at_lines(f.fd(), data.size(), parts);
            ASSERT_EQ(off.size(), parts + 1u);
            EXPECT_EQ(off.front(), 0u);
            EXPECT_EQ(off.back(), data.size());
            Events joined;
            for (unsigned p = 0; p < parts; ++p) {
                ASSERT_LE(off[p], off[p + 1]);
                // Every boundary is a line start.
                if (off[p] != 0 && off[p] != data.size()) {
                    EXPECT_EQ(data[off[p] - 1], '\n');
                }
                LineReader r(f.fd(), off[p], off[p + 1], 64, 32);
                const Events part = read_all(r, nullptr, p % 2 == 0 ? Api::Lines : Api::Blocks);
                joined.insert(joined.end(), part.begin(), part.end());
            }
            EXPECT_EQ(joined, whole) << "parts " << parts << " round " << round;
        }
    }
}

TEST(SplitAtLines, TinyAndLineFreeFiles) {
    TempFile one("x");
    const auto a = split_at_lines(one.fd(), 1, 4);
    EXPECT_EQ(a, (std::vector<uint64_t>{0, 0, 0, 0, 1}));  // targets 0: the range holds all
    TempFile nolines(std::string(100, 'a'));
    const auto b = split_at_lines(nolines.fd(), 100, 3);
    EXPECT_EQ(b, (std::vector<uint64_t>{0, 100, 100, 100}));
    TempFile lines("a\nb\nc\nd\n");
    const auto c = split_at_lines(lines.fd(), 8, 4);
    EXPECT_EQ(c, (std::vector<uint64_t>{0, 2, 4, 6, 8}));
}

}  // namespace
}  // namespace sluice
