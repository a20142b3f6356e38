// TcpSource on loopback: NDJSON framing across reads (every split point of a
// short input, byte-by-byte writes on several connections), oversize lines,
// EOF and reset, the connection limit, and pause()/resume() backpressure.
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/tcp_source.h"
#include "net_test_util.h"

namespace sluice::net {
namespace {

using test::TcpClient;

struct Collector {
    std::string text;  // every block handed out, concatenated
    std::size_t blocks = 0;
    std::size_t oversize = 0;
    std::vector<std::string> rejects;
    TcpSource* pause_source = nullptr;  // pause it from inside on_lines ...
    std::size_t pause_at_bytes = 0;     // ... once this much text arrived

    void on_lines(const char* p, std::size_t n) {
        EXPECT_GT(n, 0u);
        EXPECT_EQ(p[n - 1], '\n');
        volatile char sink = 0;  // the decoder may read kPadding bytes past the block
        for (std::size_t k = 0; k < kPadding; ++k) sink = sink ^ p[n + k];
        if (pause_source) {
            EXPECT_FALSE(pause_source->paused()) << "a block while paused";
        }
        text.append(p, n);
        ++blocks;
        if (pause_source && text.size() >= pause_at_bytes && !pause_source->paused()) pause_source->pause();
    }
    void on_oversize() { ++oversize; }
    void on_reject(const char* p, std::size_t n) { rejects.emplace_back(p, n); }

    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::size_t start = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '\n') {
                v.push_back(text.substr(start, i - start));
                start = i + 1;
            }
        }
        return v;
    }
};
static_assert(TcpHandler<Collector>);

class TcpTest : public test::RingTest {
protected:
    bool open(TcpConfig c) {
        auto s = TcpSource::open(*ring_, c, 3);
        if (!s) {
            ADD_FAILURE() << s.error().message;
            return false;
        }
        src = std::move(s.value());
        ring_->submit();
        return true;
    }
    template <class Done>
    bool run_until(Done&& done, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
        return pump(dispatch_, flush_, done, limit);
    }
    void run_for(std::chrono::milliseconds d) { pump_for(dispatch_, flush_, d); }
    const TcpCounters& counters() const { return src->counters(); }

    std::unique_ptr<TcpSource> src;
    Collector h;

private:
    std::function<void(const io_uring_cqe&)> dispatch_ = [this](const io_uring_cqe& c) {
        ASSERT_EQ(UserData::owner_of(c.user_data), 3);
        src->on_cqe(c, h);
    };
    std::function<void()> flush_ = [this] { src->flush(); };
};

std::string record(int conn, int i, std::string_view extra = "") {
    return "{\"c\":" + std::to_string(conn) + ",\"i\":" + std::to_string(i) + std::string(extra) + "}\n";
}

TEST_F(TcpTest, ReassemblesARecordSplitAtEveryByte) {
    TcpConfig cfg;
    cfg.buffers = 8;
    cfg.buffer_bytes = 256;
    ASSERT_TRUE(open(cfg));
    const std::string base = record(0, 1, ",\"s\":\"xy\"") + record(0, 2);
    std::string expected;
    for (std::size_t k = 1; k < base.size(); ++k) {
        TcpClient c(src->port());
        ASSERT_TRUE(c.connected());
        // The first part is received alone before the rest is written.
        const uint64_t b0 = counters().bytes;
        ASSERT_TRUE(c.write(std::string_view(base).substr(0, k)));
        ASSERT_TRUE(run_until([&] { return counters().bytes == b0 + k; })) << "split " << k;
        ASSERT_TRUE(c.write(std::string_view(base).substr(k)));
        c.close();
        expected += base;
        ASSERT_TRUE(run_until([&] { return counters().closed == k; })) << "split " << k;
        ASSERT_EQ(h.text, expected) << "split " << k;
    }
    EXPECT_EQ(counters().accepted, base.size() - 1);
    EXPECT_EQ(counters().lines, 2 * (base.size() - 1));
    EXPECT_EQ(src->open_connections(), 0u);
}

TEST_F(TcpTest, SeveralConnectionsWrittenByteByByte) {
    TcpConfig cfg;
    cfg.buffers = 16;
    cfg.buffer_bytes = 128;
    ASSERT_TRUE(open(cfg));
    constexpr int kConns = 3;
    std::vector<std::unique_ptr<TcpClient>> clients;
    std::vector<std::string> input(kConns);
    for (int c = 0; c < kConns; ++c) {
        clients.push_back(std::make_unique<TcpClient>(src->port()));
        ASSERT_TRUE(clients.back()->connected());
        for (int i = 0; i < 4; ++i) input[c] += record(c, i, i % 2 ? ",\"pad\":\"........\"" : "");
    }
    ASSERT_TRUE(run_until([&] { return counters().accepted == kConns; }));
    uint64_t written = 0;
    for (std::size_t pos = 0; pos < input[0].size() + 16; ++pos) {
        for (int c = 0; c < kConns; ++c) {
            if (pos >= input[c].size()) continue;
            ASSERT_TRUE(clients[c]->write(std::string_view(input[c]).substr(pos, 1)));
            ++written;
            ASSERT_TRUE(run_until([&] { return counters().bytes == written; })) << "byte " << pos;
        }
    }
    for (auto& c : clients) c->close();
    ASSERT_TRUE(run_until([&] { return counters().closed == kConns; }));
    // Lines of each connection, in order, exactly as written.
    std::map<int, std::string> per_conn;
    for (const std::string& line : h.lines()) {
        const int c = line[5] - '0';
        per_conn[c] += line + "\n";
    }
    for (int c = 0; c < kConns; ++c) EXPECT_EQ(per_conn[c], input[c]) << "connection " << c;
    EXPECT_EQ(counters().lines, 4u * kConns);
}

TEST_F(TcpTest, OversizeLineSpanningReadsIsSkippedOnce) {
    TcpConfig cfg;
    cfg.buffers = 8;
    cfg.buffer_bytes = 64;  // <= max_record: lines inside one buffer need no scan
    cfg.max_record_bytes = 100;
    ASSERT_TRUE(open(cfg));
    TcpClient c(src->port());
    ASSERT_TRUE(c.connected());
    const std::string input = "{\"a\":1}\n" + std::string(300, 'x') + "\n{\"b\":2}\n" + std::string(100, 'm') +
                              "\n" + std::string(101, 'n') + "\n{\"c\":3}\n" + std::string(150, 'y');
    for (std::size_t pos = 0; pos < input.size(); pos += 50) {
        const std::string_view part = std::string_view(input).substr(pos, 50);
        const uint64_t b0 = counters().bytes;
        ASSERT_TRUE(c.write(part));
        ASSERT_TRUE(run_until([&] { return counters().bytes == b0 + part.size(); }));
    }
    c.close();  // the last (oversize) line is unterminated: still skipped
    ASSERT_TRUE(run_until([&] { return counters().closed == 1; }));
    EXPECT_EQ(h.lines(), (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", std::string(100, 'm'), "{\"c\":3}"}));
    EXPECT_EQ(h.oversize, 3u);  // 300 x, 101 n, 150 y
    EXPECT_EQ(counters().oversize, 3u);
}

TEST_F(TcpTest, OversizeLineInsideOneBufferIsSkipped) {
    TcpConfig cfg;
    cfg.buffers = 8;
    cfg.buffer_bytes = 4096;  // > max_record: lines inside a buffer are scanned
    cfg.max_record_bytes = 100;
    ASSERT_TRUE(open(cfg));
    TcpClient c(src->port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.write("{\"a\":1}\n" + std::string(200, 'x') + "\n" + std::string(100, 'm') + "\n" +
                        std::string(101, 'n') + "\n{\"b\":2}\n"));
    c.close();
    ASSERT_TRUE(run_until([&] { return counters().closed == 1; }));
    EXPECT_EQ(h.lines(), (std::vector<std::string>{"{\"a\":1}", std::string(100, 'm'), "{\"b\":2}"}));
    EXPECT_EQ(h.oversize, 2u);
}

// max_record_bytes is measured without a trailing '\r' (docs/semantics.md), as
// the decoder and LineReader measure it: a CRLF line of exactly the limit is a
// line, one byte more is oversize -- inside one buffer, across reads, at EOF.
class TcpCrLimitTest : public TcpTest {
protected:
    void check(unsigned buffer_bytes) {
        TcpConfig cfg;
        cfg.buffers = 8;
        cfg.buffer_bytes = buffer_bytes;
        cfg.max_record_bytes = 100;
        ASSERT_TRUE(open(cfg));
        TcpClient c(src->port());
        ASSERT_TRUE(c.connected());
        const std::string at_limit(100, 'a');
        const std::string over(101, 'b');
        const std::string input = at_limit + "\r\n" + over + "\r\n" + over + "\n" + at_limit + "\r";
        for (std::size_t pos = 0; pos < input.size(); pos += 50) {
            const std::string_view part = std::string_view(input).substr(pos, 50);
            const uint64_t b0 = counters().bytes;
            ASSERT_TRUE(c.write(part));
            ASSERT_TRUE(run_until([&] { return counters().bytes == b0 + part.size(); }));
        }
        c.close();  // the last line, unterminated, ends in '\r': still within the limit
        ASSERT_TRUE(run_until([&] { return counters().closed == 1; }));
        EXPECT_EQ(h.lines(), (std::vector<std::string>{at_limit + "\r", at_limit + "\r"}));
        EXPECT_EQ(h.oversize, 2u);
        EXPECT_EQ(counters().oversize, 2u);
    }
};

TEST_F(TcpCrLimitTest, InsideOneBuffer) { check(4096); }  // > max_record: lines inside a buffer are scanned
TEST_F(TcpCrLimitTest, AcrossReads) { check(64); }        // <= max_record: long lines are assembled in the tail

TEST_F(TcpTest, UnterminatedLastLineAtCloseIsALine) {
    TcpConfig cfg;
    cfg.buffers = 4;
    cfg.buffer_bytes = 1024;
    ASSERT_TRUE(open(cfg));
    TcpClient c(src->port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.write("{\"r\":1}\n{\"r\":2}"));
    c.close();
    ASSERT_TRUE(run_until([&] { return counters().closed == 1; }));
    EXPECT_EQ(h.text, "{\"r\":1}\n{\"r\":2}\n");
    EXPECT_EQ(counters().lines, 2u);
    EXPECT_TRUE(h.rejects.empty());
    EXPECT_EQ(counters().reset, 0u);
}

TEST_F(TcpTest, ResetMidRecordIsARejection) {
    TcpConfig cfg;
    cfg.buffers = 4;
    cfg.buffer_bytes = 1024;
    ASSERT_TRUE(open(cfg));
    TcpClient c(src->port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.write("{\"ok\":1}\n{\"par"));
    ASSERT_TRUE(run_until([&] { return counters().bytes == 14; }));
    c.reset();
    ASSERT_TRUE(run_until([&] { return counters().reset == 1; }));
    EXPECT_EQ(h.text, "{\"ok\":1}\n");
    EXPECT_EQ(h.rejects, std::vector<std::string>{"{\"par"});
    EXPECT_EQ(counters().rejected, 1u);
    EXPECT_EQ(counters().closed, 0u);
    EXPECT_EQ(src->open_connections(), 0u);
}

TEST_F(TcpTest, ExtraConnectionsAreClosedAtTheLimit) {
    TcpConfig cfg;
    cfg.buffers = 4;
    cfg.buffer_bytes = 1024;
    cfg.max_connections = 2;
    ASSERT_TRUE(open(cfg));
    TcpClient a(src->port());
    TcpClient b(src->port());
    ASSERT_TRUE(run_until([&] { return counters().accepted == 2; }));
    TcpClient extra(src->port());
    ASSERT_TRUE(run_until([&] { return counters().refused == 1; }));
    char byte;
    EXPECT_LE(::recv(extra.fd(), &byte, 1, 0), 0);  // EOF (or reset): the server closed it
    // A slot frees up when a connection ends.
    a.close();
    ASSERT_TRUE(run_until([&] { return counters().closed == 1; }));
    TcpClient d(src->port());
    ASSERT_TRUE(d.write("{\"d\":1}\n"));
    ASSERT_TRUE(run_until([&] { return counters().lines == 1; }));
    EXPECT_EQ(h.text, "{\"d\":1}\n");
    EXPECT_EQ(counters().accepted, 3u);
}

TEST_F(TcpTest, PauseBlocksTheSenderAndResumeLosesNothing) {
    TcpConfig cfg;
    cfg.buffers = 16;
    cfg.buffer_bytes = 16384;
    cfg.rcvbuf = 64 * 1024;  // small windows: the sender stalls soon
    ASSERT_TRUE(open(cfg));
    constexpr int kLines = 200000;
    std::string input;
    for (int i = 0; i < kLines; ++i) input += record(9, i);
    h.pause_source = src.get();
    h.pause_at_bytes = 100000;  // pauses from inside on_lines

    std::atomic<std::size_t> sent{0};
    std::atomic<bool> failed{false};
    std::thread sender([&] {
        TcpClient c(src->port(), 64 * 1024);
        if (!c.connected()) {
            failed = true;
            return;
        }
        for (std::size_t pos = 0; pos < input.size(); pos += 4096) {
            if (!c.write(std::string_view(input).substr(pos, 4096))) {
                failed = true;
                return;
            }
            sent.store(std::min(pos + 4096, input.size()), std::memory_order_relaxed);
        }
    });

    ASSERT_TRUE(run_until([&] { return src->paused(); }));
    const std::size_t at_pause = h.text.size();
    run_for(std::chrono::milliseconds(300));  // completions still come in: parked
    // Socket buffers on both ends, plus what was parked, hold a few hundred KB
    // (TCP may open the window a little more as it compacts its queue); the
    // rest of the input waits in the blocked sender.
    const std::size_t sent_paused = sent.load();
    EXPECT_EQ(h.text.size(), at_pause) << "lines handed out while paused";
    EXPECT_LT(sent_paused, input.size() / 2) << "the sender was not blocked";

    h.pause_source = nullptr;
    src->resume(h);
    const bool all = run_until([&] { return h.text.size() == input.size(); }, std::chrono::milliseconds(5000));
    sender.join();
    ASSERT_FALSE(failed.load());
    ASSERT_TRUE(all) << h.text.size() << " of " << input.size();
    EXPECT_TRUE(h.text == input) << "lines lost, duplicated or reordered";
    EXPECT_EQ(counters().lines, static_cast<uint64_t>(kLines));
    EXPECT_EQ(counters().errors, 0u);
}

TEST_F(TcpTest, PauseBetweenBlocksParksTheRestOfABuffer) {
    TcpConfig cfg;
    cfg.buffers = 4;
    cfg.buffer_bytes = 4096;  // > max_record: a buffer is handed out as several blocks
    cfg.max_record_bytes = 64;
    ASSERT_TRUE(open(cfg));
    TcpClient c(src->port());
    ASSERT_TRUE(c.connected());
    // An oversize line in the middle splits the buffer into two blocks.
    const std::string first = record(1, 1) + record(1, 2);
    const std::string second = record(1, 3);
    h.pause_source = src.get();
    h.pause_at_bytes = 1;
    ASSERT_TRUE(c.write(first + std::string(100, 'x') + "\n" + second));
    ASSERT_TRUE(run_until([&] { return src->paused(); }));
    run_for(std::chrono::milliseconds(20));
    EXPECT_EQ(h.text, first);
    h.pause_source = nullptr;
    src->resume(h);
    EXPECT_EQ(h.text, first + second);
    EXPECT_EQ(h.oversize, 1u);
    c.close();
    ASSERT_TRUE(run_until([&] { return counters().closed == 1; }));
    EXPECT_EQ(h.text, first + second);
}

TEST_F(TcpTest, SingleShotFallbackFramesTheSame) {
    TcpConfig cfg;
    cfg.buffers = 4;
    cfg.buffer_bytes = 32;
    cfg.multishot = false;
    ASSERT_TRUE(open(cfg));
    std::string expected;
    for (int k = 0; k < 3; ++k) {
        TcpClient c(src->port());
        ASSERT_TRUE(c.connected());
        std::string input;
        for (int i = 0; i < 10; ++i) input += record(k, i, ",\"v\":\"0123456789\"");
        ASSERT_TRUE(c.write(input + "{\"tail\":1}"));
        c.close();
        expected += input + "{\"tail\":1}\n";
        ASSERT_TRUE(run_until([&] { return counters().closed == static_cast<uint64_t>(k + 1); }));
    }
    EXPECT_EQ(h.text, expected);
}

}  // namespace
}  // namespace sluice::net
