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

Events read_all(LineReader& r, int* error = nullptr) {
    Collect c;
    auto on_line = [&c](const char* p, std::size_t len) {
        c.ev.push_back("L:" + std::string(p, len));
        // The padding after the line must be readable (checked under ASan).
        for (std::size_t i = 0; i < kDecodePadding; ++i) {
            c.padding_sum += static_cast<unsigned char>(p[len + i]);
        }
    };
    auto on_oversize = [&c] { c.ev.push_back("O"); };
    int calls = 0;
    while (r.next_chunk(on_line, on_oversize)) {
        ++calls;
        if (calls > 10000000) {
            ADD_FAILURE() << "next_chunk never finished";
            break;
        }
    }
    // Once finished it stays finished.
    EXPECT_FALSE(r.next_chunk(on_line, on_oversize));
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
            LineReader r(f.fd(), 0, data.size(), chunk, 32);
            ASSERT_EQ(read_all(r), want) << "chunk " << chunk << " round " << round;
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
        LineReader r(f.fd(), 0, data.size(), chunk, 32);
        EXPECT_EQ(read_all(r), want) << "chunk " << chunk;
    }
}

TEST(LineReader, OversizedLineAtEndOfInput) {
    const std::string data = "ok\n" + std::string(500, 'x');
    TempFile f(data);
    LineReader r(f.fd(), 0, data.size(), 64, 32);
    EXPECT_EQ(read_all(r), (Events{"L:ok", "O"}));
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
    LineReader r(f.fd(), 4, 7, 64, 32);  // "def"
    EXPECT_EQ(read_all(r), (Events{"L:def"}));
}

TEST(LineReader, StreamModeReadsToEof) {
    const std::string data = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
    TempFile f(data);
    ASSERT_EQ(::lseek(f.fd(), 0, SEEK_SET), 0);
    LineReader r(f.fd(), 0, UINT64_MAX, 5, 32);
    EXPECT_EQ(read_all(r), (Events{"L:{\"a\":1}", "L:{\"b\":2}", "L:{\"c\":3}"}));
}

TEST(LineReader, PipeWithRandomWrites) {
    std::mt19937 rng(77);
    for (int round = 0; round < 3; ++round) {
        const std::string data = random_input(rng, 400, round != 1);
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
        const Events got = read_all(r);
        writer.join();
        ::close(fds[0]);
        EXPECT_EQ(got, want) << "round " << round;
    }
}

TEST(LineReader, ReadErrorIsReported) {
    LineReader r(-1, 0, UINT64_MAX, 64, 32);
    int err = 0;
    EXPECT_TRUE(read_all(r, &err).empty());
    EXPECT_EQ(err, EBADF);
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
                const Events part = read_all(r);
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
