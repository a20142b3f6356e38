// Hostile input and overload through the real UDP and TCP paths of `sluice
// run` on loopback.
//
// A deterministic corpus of lines, each with its expected fate -- processed,
// rejected (counted in records_rejected) or skipped (blank: not a record) --
// is sent as datagrams (one or many items each, empty, 64 KiB, without a
// final newline, longer than udp_buffer_bytes) and as TCP streams (split at
// every byte boundary, at random, byte by byte, cut by a reset or an EOF).
// Valid records with known keys and values sit between the hostile ones; an
// EMIT FINAL GROUP BY proves from its rows that none of them was lost, and a
// stateless second query writing one row per record tells the test when the
// appliance has taken everything (so SIGTERM's drain loses nothing).
//
// Then overload: a bounded UDP blast into small shard rings, a recovery, and
// a paced phase whose records must all arrive, told apart by /metrics
// ([metrics]) read before and after it and by its own keys. Memory is
// bounded throughout (VmRSS and VmHWM of the process).
//
// Only counts and memory are asserted, never timings. Every wait is bounded.
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "appliance.h"

namespace {

using sluice::testing::Appliance;
using sluice::testing::connect_tcp;
using sluice::testing::counter;
using sluice::testing::free_port;
using sluice::testing::lines_of;
using sluice::testing::loopback;
using sluice::testing::named;
using sluice::testing::read_file;
using sluice::testing::send_all;
using sluice::testing::wait_until;

// ---- the corpus ------------------------------------------------------------

enum class Fate { Processed, Rejected, Skipped };

struct Item {
    std::string text;         // the line without its end (never holds '\n')
    std::string eol = "\n";   // "\n" or "\r\n"
    Fate fate = Fate::Rejected;
    std::string key;          // Processed: the GROUP BY key
    std::optional<long> v;    // Processed: SUM's argument (nullopt: NULL, still counted by COUNT(*))
    std::string what;         // for failure messages
    std::string line() const { return text + eol; }
};

// What a set of items must do to the counters and the rows.
struct Expected {
    long in = 0;
    long processed = 0;
    long rejected = 0;
    std::map<std::string, std::pair<long, std::optional<long>>> groups;  // key -> COUNT(*), SUM(v)

    void add(const Item& it) {
        if (it.fate == Fate::Skipped) return;
        ++in;
        if (it.fate == Fate::Rejected) {
            ++rejected;
            return;
        }
        ++processed;
        auto& g = groups[it.key];
        ++g.first;
        if (it.v) g.second = g.second.value_or(0) + *it.v;
    }
    void add(const std::vector<Item>& items, int times = 1) {
        for (int t = 0; t < times; ++t)
            for (const Item& it : items) add(it);
    }
    void add(const Expected& o) {
        in += o.in;
        processed += o.processed;
        rejected += o.rejected;
        for (const auto& [k, g] : o.groups) {
            auto& t = groups[k];
            t.first += g.first;
            if (g.second) t.second = t.second.value_or(0) + *g.second;
        }
    }
    void add_rejected(long n) {
        in += n;
        rejected += n;
    }
    // The rows of `SELECT k, COUNT(*) AS n, SUM(v) AS s ... GROUP BY k`, sorted.
    std::vector<std::string> rows() const {
        std::vector<std::string> out;
        for (const auto& [k, g] : groups)
            out.push_back("{\"k\":\"" + k + "\",\"n\":" + std::to_string(g.first) +
                          ",\"s\":" + (g.second ? std::to_string(*g.second) : "null") + "}");
        std::sort(out.begin(), out.end());
        return out;
    }
};

// prefix + n (spelled out: GCC 12 warns wrongly (-Wrestrict) about "lit" + std::to_string(n)).
std::string key_of(const char* prefix, long n) {
    std::string k = prefix;
    k += std::to_string(n);
    return k;
}

std::string rec(const std::string& k, long v, const std::string& more = "") {
    return "{\"k\":\"" + k + "\",\"v\":" + std::to_string(v) + more + "}";
}

Item valid(const std::string& k, long v, const std::string& more = "", const std::string& what = "valid") {
    return Item{rec(k, v, more), "\n", Fate::Processed, k, v, what};
}

Item rejected(std::string text, const std::string& what) {
    return Item{std::move(text), "\n", Fate::Rejected, "", std::nullopt, what};
}

// A record of exactly `bytes` bytes, valid but for its size: the padding is
// in a field no query reads, so only the size limit can reject it.
std::string padded(const std::string& k, long v, std::size_t bytes) {
    const std::string head = "{\"k\":\"" + k + "\",\"v\":" + std::to_string(v) + ",\"pad\":\"";
    return head + std::string(bytes - head.size() - 2, 'x') + "\"}";
}

// `depth` nested arrays or objects under the field x of a record: the record
// is 1 + depth levels deep.
std::string nested(long v, int depth, bool objects) {
    std::string s = "{\"k\":\"k7\",\"v\":" + std::to_string(v) + ",\"x\":";
    if (objects) {
        for (int i = 0; i < depth; ++i) s += "{\"a\":";
        s += "1";
        s += std::string(static_cast<std::size_t>(depth), '}');
    } else {
        s += std::string(static_cast<std::size_t>(depth), '[');
        s += std::string(static_cast<std::size_t>(depth), ']');
    }
    return s + "}";
}

// Random bytes without '\n' that start with a NUL: never JSON, never blank.
std::string garbage(std::mt19937& rng, std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 1; i < n; ++i) {
        char c;
        do c = static_cast<char>(rng() & 0xff);
        while (c == '\n');
        s[i] = c;
    }
    return s;
}

// The hostile items for max_record_bytes = limit; `stream`: also those that
// only a TCP stream can carry (longer than a datagram).
std::vector<Item> hostile_items(std::size_t limit, bool stream) {
    std::mt19937 rng(20240611);
    std::vector<Item> h;
    // Valid, in unusual shapes.
    h.push_back({"  " + rec("k1", 7) + "\t ", "\n", Fate::Processed, "k1", 7, "blanks around the object"});
    h.push_back({rec("k2", 8), "\r\n", Fate::Processed, "k2", 8, "CRLF"});
    h.push_back(valid("k3", 9, ",\"z\":\"caf\\u00e9 \\\"q\\\" \\\\ \\u0000 \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\"",
                      "escapes and valid UTF-8 in an unread field"));
    h.push_back({"{\"k\":\"k4\",\"v\":1000,\"v\":11}", "\n", Fate::Processed, "k4", 11, "duplicate key: the last wins"});
    h.push_back({"{\"k\":\"k5\",\"v\":\"twelve\"}", "\n", Fate::Processed, "k5", std::nullopt, "type mismatch: NULL"});
    h.push_back({"{\"x\":{\"k\":\"no\"},\"k\":\"k6\",\"v\":13,\"big\":123456789012345678901234567890}", "\n",
                 Fate::Processed, "k6", 13, "a nested k and a huge integer, unread"});
    h.push_back({padded("k0", 14, limit), "\n", Fate::Processed, "k0", 14, "exactly max_record_bytes"});
    h.push_back({padded("k1", 15, limit), "\r\n", Fate::Processed, "k1", 15, "exactly max_record_bytes, then CRLF"});
    h.push_back({nested(16, 255, true), "\n", Fate::Processed, "k7", 16, "256 levels of objects"});
    h.push_back({nested(17, 255, false), "\n", Fate::Processed, "k7", 17, "256 levels (arrays)"});
    // Skipped: blank lines are no records.
    h.push_back({"", "\n", Fate::Skipped, "", std::nullopt, "empty line"});
    h.push_back({"", "\r\n", Fate::Skipped, "", std::nullopt, "empty CRLF line"});
    h.push_back({" \t  \t", "\n", Fate::Skipped, "", std::nullopt, "whitespace only"});
    // Truncated records.
    const std::string whole = rec("k1", 123456, ",\"z\":\"abc\"");
    for (const std::size_t cut : {std::size_t{1}, std::size_t{4}, std::size_t{9}, std::size_t{15}, whole.size() - 7,
                                  whole.size() - 1})
        h.push_back(rejected(whole.substr(0, cut), "truncated at " + std::to_string(cut)));
    h.push_back(rejected("{\"k\":\"k1\",\"v\":1,\"z\":\"never closed}", "unterminated string"));
    // Binary garbage.
    for (const std::size_t n : {std::size_t{3}, std::size_t{64}, std::size_t{700}, std::size_t{3000}})
        h.push_back(rejected(garbage(rng, n), "garbage of " + std::to_string(n) + " bytes"));
    h.push_back(rejected("{\"k\":\"k1\",\"v\":1,\"z\":\"a" + std::string(1, '\0') + "b\"}", "raw NUL in a string"));
    h.push_back(rejected(rec("k1", 1) + std::string(1, '\0'), "NUL after the object"));
    h.push_back(rejected("\x1b[31m" + rec("k1", 1), "escape sequence before the object"));
    // Invalid UTF-8 (simdjson validates the whole line: rejected, also in unread fields).
    h.push_back(rejected("{\"k\":\"\xff\",\"v\":1}", "0xFF in the key"));
    h.push_back(rejected(rec("k1", 1, ",\"z\":\"\x80\""), "lone continuation byte"));
    h.push_back(rejected(rec("k1", 1, ",\"z\":\"\xc0\xaf\""), "overlong encoding"));
    h.push_back(rejected(rec("k1", 1, ",\"z\":\"\xed\xa0\x80\""), "UTF-16 surrogate"));
    h.push_back(rejected(rec("k1", 1, ",\"z\":\"\xf4\x90\x80\x80\""), "above U+10FFFF"));
    h.push_back(rejected(rec("k1", 1, ",\"z\":\"\xe6\x97\""), "sequence cut short"));
    h.push_back(rejected("{\"\xfe\":1,\"k\":\"k1\",\"v\":1}", "invalid UTF-8 in a field name"));
    // Over max_record_bytes: valid but for their size.
    h.push_back(rejected(padded("k2", 1, limit + 1), "max_record_bytes + 1"));
    h.push_back({padded("k2", 1, limit + 1), "\r\n", Fate::Rejected, "", std::nullopt, "max_record_bytes + 1, CRLF"});
    h.push_back(rejected(padded("k2", 1, 40000), "40000 bytes"));
    if (stream) h.push_back(rejected(padded("k2", 1, 1 << 20), "1 MiB"));
    // Too deep.
    h.push_back(rejected(nested(1, 256, true), "257 levels of objects"));
    h.push_back(rejected(nested(1, 256, false), "257 levels (arrays)"));
    h.push_back(rejected(nested(1, 10000, false), "10001 levels (arrays)"));
    h.push_back(rejected(nested(1, 10000, true), "10001 levels of objects"));
    // Not one JSON object.
    for (const char* s : {"[1,2,3]", "[]", "[{\"k\":\"k1\",\"v\":1}]", "42", "-1.5e3", "\"str\"", "null", "true",
                          "false", "{", "}", "{}}", "{'k':'k1','v':1}", "{k:\"k1\",v:1}", "{\"k\":\"k1\",\"v\":NaN}",
                          "{\"k\":\"k1\",\"v\":1,}"})
        h.push_back(rejected(s, std::string("not an object: ") + s));
    h.push_back(rejected(rec("k1", 1) + rec("k1", 1), "two objects"));
    h.push_back(rejected(rec("k1", 1) + " x", "trailing text"));
    h.push_back(rejected(rec("k1", 1) + ",", "trailing comma"));
    return h;
}

// A valid record before every hostile item and one at the end, keys k0..k7.
std::vector<Item> interleave(const std::vector<Item>& hostile, long first_v) {
    std::vector<Item> out;
    long v = first_v;
    for (const Item& it : hostile) {
        out.push_back(valid(key_of("k", v % 8), v));
        ++v;
        out.push_back(it);
    }
    out.push_back(valid(key_of("k", v % 8), v));
    return out;
}

// A small corpus (~300 bytes) for the every-byte passes. No item but the
// valid ones has a prefix that is a valid record, so any cut can be judged.
std::vector<Item> small_corpus() {
    return {
        valid("k1", 1),
        {rec("k2", 2, ",\"z\":\"caf\xc3\xa9\""), "\r\n", Fate::Processed, "k2", 2, "CRLF, UTF-8"},
        {"", "\n", Fate::Skipped, "", std::nullopt, "empty"},
        rejected("{\"k\":\"k1\",\"v\":3", "truncated"),
        rejected("[1,{\"k\":\"k2\"}]", "array"),
        rejected(std::string("\0\xff garbage \x01", 12), "garbage"),
        rejected("{\"k\":\"k3\",\"v\":\"\xc3\x28\"}", "invalid UTF-8"),
        {" \t ", "\n", Fate::Skipped, "", std::nullopt, "blank"},
        valid("k2", 4, ",\"x\":[[[[{}]]]]"),
        rejected("{\"k\":\"k3\",\"v\":5,}", "trailing comma"),
        rejected("42", "number"),
        valid("k3", 6),
        {rec("k1", 7), "\r\n", Fate::Processed, "k1", 7, "CRLF"},
        valid("k3", 8),
    };
}

std::string text_of(const std::vector<Item>& items) {
    std::string s;
    for (const Item& it : items) s += it.line();
    return s;
}

bool blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// What a TCP connection that sent text_of(items)[0, cut) and then ended does:
// complete lines as their items say; the unterminated rest, when a reset ends
// the connection, is rejected (also when blank: the caller avoids that case);
// at EOF it is a line of its own: blank (skipped), the item's whole text
// (its fate), or a proper prefix of it (rejected: see small_corpus()).
Expected after_cut(const std::vector<Item>& items, std::size_t cut, bool reset, std::string* partial = nullptr) {
    Expected e;
    std::size_t pos = 0;
    for (const Item& it : items) {
        const std::string line = it.line();
        if (pos + line.size() <= cut) {
            e.add(it);
            pos += line.size();
            continue;
        }
        std::string part = line.substr(0, cut - pos);
        if (partial) *partial = part;
        if (part.empty()) break;
        if (reset) {
            e.add_rejected(1);
            break;
        }
        if (part.back() == '\r') part.pop_back();
        if (blank(part)) break;
        if (part == it.text)
            e.add(it);
        else
            e.add_rejected(1);
        break;
    }
    return e;
}

// ---- the fixture -------------------------------------------------------------

const char* const kTotals = "SELECT k, COUNT(*) AS n, SUM(v) AS s FROM t GROUP BY k EMIT FINAL";

class Hostile : public Appliance {
public:
    long seen() const { return static_cast<long>(lines_of(read_file(path("seen.ndjson"))).size()); }
    // Waits until the stateless query wrote n rows: every record sent before the
    // last of them was taken.
    bool wait_seen(long n) { return wait_until([&] { return seen() >= n; }); }

protected:
    // Two shards (or `shards`), one source of `type`, the totals query to
    // out.ndjson and `seen_sql` (one row per record it lets through) to seen.ndjson.
    std::string config(const std::string& type, uint16_t port, const std::string& limits, int shards = 2,
                       const std::string& seen_sql = "SELECT k FROM t", const std::string& totals_sql = kTotals,
                       const std::string& source_extra = "") {
        return "[shards]\ncount = " + std::to_string(shards) + "\nidle = \"adaptive\"\n[limits]\n" + limits +
               "[drain]\nflush_windows = true\n"
               "[[sources]]\nname = \"src\"\ntype = \"" + type + "\"\nlisten = \"127.0.0.1:" + std::to_string(port) +
               "\"\n" + source_extra +
               "[[sinks]]\nname = \"out\"\ntype = \"file\"\npath = \"out.ndjson\"\n"
               "[[sinks]]\nname = \"seen\"\ntype = \"file\"\npath = \"seen.ndjson\"\n"
               "[[queries]]\nname = \"q\"\nsql = \"" + totals_sql + "\"\nsink = \"out\"\n"
               "[[queries]]\nname = \"seen\"\nsql = \"" + seen_sql + "\"\nsink = \"seen\"\n";
    }

    bool started(const std::string& cfg) {
        if (!start(cfg)) return false;
        baseline_kib_ = status_kib("VmHWM");
        return baseline_kib_ > 0;
    }

    // The appliance is up and its memory within bound_kib (VmRSS now and the
    // peak, VmHWM, since start).
    void check_alive_and_bounded(const std::string& phase, long bound_kib) {
        ASSERT_TRUE(running()) << phase << ": the appliance died\n" << err();
        const long rss = status_kib("VmRSS");
        const long peak = status_kib("VmHWM");
        peak_kib_ = std::max(peak_kib_, peak);
        EXPECT_LE(rss, bound_kib) << phase;
        EXPECT_LE(peak, bound_kib) << phase << ": peak resident set (start: " << baseline_kib_ << " KiB)";
    }

    // SIGTERM, exit 0, then the counters of both queries must be `e`, and the
    // totals' rows e.rows().
    void stop_and_check(const Expected& e) {
        ASSERT_EQ(stop(), 0) << err();
        const std::string s = stats();
        for (const char* q : {"q", "seen"}) {
            const std::size_t at = named(s, q);
            ASSERT_NE(at, std::string::npos) << s;
            EXPECT_EQ(counter(s, "records_in", at), e.in) << q << ": " << s;
            EXPECT_EQ(counter(s, "records_processed", at), e.processed) << q << ": " << s;
            EXPECT_EQ(counter(s, "records_rejected", at), e.rejected) << q << ": " << s;
            EXPECT_EQ(counter(s, "overload_dropped", at), 0) << q << ": " << s;
            EXPECT_EQ(counter(s, "late_dropped", at), 0) << q << ": " << s;
        }
        std::vector<std::string> rows = lines_of(read_file(path("out.ndjson")));
        std::sort(rows.begin(), rows.end());
        EXPECT_EQ(rows, e.rows());
        EXPECT_EQ(seen(), e.processed);
    }

    long baseline_kib_ = 0;
    long peak_kib_ = 0;
};

// Memory allowed above the appliance's peak at start-up (which already holds
// its buffer rings, populated at start, and its parsers) for the hostile
// corpus tests: each file query's port ring to the writer (8 MiB, touched only
// as rows flow: 2 queries x 2 shards), the TCP tails (at most max_record_bytes
// + 2 per open connection, ~20 at once here: < 1 MiB), a few groups, and
// 16 MiB of slack for the allocator and the kernel's accounting. A 1 MiB line
// or a 64 KiB datagram must not be buffered beyond these.
constexpr long kCorpusHeadroomKib = (4 * 8 + 1 + 16) * 1024;

// ---- UDP ---------------------------------------------------------------------

// Room for what the pacing below lets be in flight, many times over (the
// kernel caps it at net.core.rmem_max without CAP_NET_ADMIN).
const char* const kBigReceiveBuffer = "receive_buffer_bytes = 4194304\n";

// Datagrams go out from two sockets (two flows: SO_REUSEPORT may give them
// to different shards), at most ~96 KiB in flight: then a valid record goes
// out last on each socket and the sender waits until the stateless query
// shows it (a socket's datagrams are taken in order), so the receive buffers
// (even the default 208 KiB) never overflow and the run is lossless.
class UdpSender {
public:
    UdpSender(Hostile& fx, uint16_t port) : fx_(fx), to_(loopback(port)) {
        for (int& fd : fds_) fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    }
    ~UdpSender() {
        for (int fd : fds_) ::close(fd);
    }
    // Sends one datagram holding these items' lines (the last one without its
    // line end when `cut_last_eol`).
    bool send(const std::vector<Item>& items, bool cut_last_eol = false) {
        std::string d;
        for (const Item& it : items) d += it.line();
        if (cut_last_eol && !items.empty()) d.resize(d.size() - items.back().eol.size());
        if (!send_raw(d)) return false;
        for (const Item& it : items) expected.add(it);
        return true;
    }
    // A datagram whose records the caller adds to `expected` after it was sent.
    bool send_raw(const std::string& d) {
        if (in_flight_ + d.size() + 1024 > 96 * 1024 && !finish()) return false;
        const int fd = fds_[(datagrams_ / 16) % 2];
        if (::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_) !=
            static_cast<ssize_t>(d.size()))
            return false;
        ++datagrams_;
        in_flight_ += d.size() + 1024;  // + what the kernel charges per datagram, roughly
        return true;
    }
    // Waits until everything sent is taken: a valid record last on each socket.
    bool finish() {
        for (int s = 0; s < 2; ++s) {
            const Item last = valid(key_of("k", s), 1000000 + datagrams_);
            const std::string d = last.line();
            if (::sendto(fds_[s], d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_) !=
                static_cast<ssize_t>(d.size()))
                return false;
            expected.add(last);
            ++datagrams_;
        }
        in_flight_ = 0;
        return fx_.wait_seen(expected.processed);
    }
    long datagrams() const { return datagrams_; }

    Expected expected;

private:
    Hostile& fx_;
    sockaddr_in to_;
    int fds_[2];
    long datagrams_ = 0;
    std::size_t in_flight_ = 0;
};

TEST_F(Hostile, CorpusOverUdp) {
    // 64 KiB receive buffers: the largest loopback datagram (65507 bytes) is taken whole.
    constexpr std::size_t kLimit = 32768;
    const uint16_t port = free_port(SOCK_DGRAM);
    ASSERT_TRUE(started(config("udp", port,
                               "max_record_bytes = " + std::to_string(kLimit) +
                                   "\nudp_buffer_bytes = 65536\nudp_buffers = 64\n",
                               2, "SELECT k FROM t", kTotals, kBigReceiveBuffer)))
        << err();
    const long bound = baseline_kib_ + kCorpusHeadroomKib;
    UdpSender tx(*this, port);
    const std::vector<Item> corpus = interleave(hostile_items(kLimit, false), 1);

    // One item per datagram, an empty datagram every fifth, every seventh without its line end.
    for (std::size_t i = 0; i < corpus.size(); ++i) {
        ASSERT_TRUE(tx.send({corpus[i]}, i % 7 == 3)) << corpus[i].what;
        if (i % 5 == 0) {
            ASSERT_TRUE(tx.send_raw(""));
        }
    }
    ASSERT_TRUE(tx.finish()) << "one item per datagram: " << seen() << " of " << tx.expected.processed << "\n" << err();
    check_alive_and_bounded("one item per datagram", bound);

    // Several items per datagram, packed up to 200, 1400, 9000 or 65507 bytes.
    const std::size_t sizes[] = {200, 1400, 9000, 65507};
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<Item> batch;
        std::size_t bytes = 0;
        int n = 0;
        for (const Item& it : corpus) {
            if (!batch.empty() && bytes + it.line().size() > sizes[(pass + n) % 4]) {
                ASSERT_TRUE(tx.send(batch, n % 2 == 1));
                ++n;
                batch.clear();
                bytes = 0;
            }
            batch.push_back(it);
            bytes += it.line().size();
        }
        ASSERT_TRUE(tx.send(batch));
    }
    ASSERT_TRUE(tx.finish()) << "packed: " << seen() << " of " << tx.expected.processed << "\n" << err();
    check_alive_and_bounded("packed datagrams", bound);

    // 65507-byte datagrams: full of records (the last one without '\n'), one
    // oversize line, and blank lines around one record.
    {
        std::vector<Item> full;
        std::size_t bytes = 0;
        for (long v = 0;; ++v) {
            Item it = valid(key_of("f", v % 16), v);
            if (bytes + it.line().size() + 40 > 65507) {
                // Pad the last record so that, without its '\n', the datagram is exactly 65507 bytes.
                full.push_back({padded("f0", v, 65507 - bytes), "\n", Fate::Processed, "f0", v, "last, padded"});
                break;
            }
            bytes += it.line().size();
            full.push_back(std::move(it));
        }
        ASSERT_EQ(text_of(full).size(), 65508u);
        ASSERT_TRUE(tx.send(full, true));
        const Item huge = rejected(padded("f1", 1, 65507), "one 65507-byte line");
        ASSERT_TRUE(tx.send({huge}, true));
        // Blank lines (each shorter than max_record_bytes), then one record without '\n'.
        const Item one = valid("f2", 2);
        const std::size_t blanks = 65507 - one.text.size();
        std::string d;
        while (d.size() + 20001 < blanks) d += std::string(20000, ' ') + "\n";
        d += std::string(blanks - d.size() - 1, ' ') + "\n" + one.text;
        ASSERT_EQ(d.size(), 65507u);
        ASSERT_TRUE(tx.send_raw(d));
        tx.expected.add(one);
        for (int i = 0; i < 3; ++i) ASSERT_TRUE(tx.send_raw(""));
    }
    ASSERT_TRUE(tx.finish()) << "64 KiB datagrams: " << seen() << " of " << tx.expected.processed << "\n" << err();
    check_alive_and_bounded("64 KiB datagrams", bound);

    stop_and_check(tx.expected);
    const std::string s = stats();
    const std::size_t src = named(s, "src");
    EXPECT_EQ(counter(s, "datagrams", src), tx.datagrams()) << s;  // every one taken, the empty ones too
    EXPECT_EQ(counter(s, "kernel_dropped", src), 0) << s;
    std::printf("[ info ] %ld datagrams, %ld records in, %ld rejected; resident: %ld KiB at start, peak %ld KiB\n",
                tx.datagrams(), tx.expected.in, tx.expected.rejected, baseline_kib_, peak_kib_);
}

// udp_buffer_bytes is "the largest datagram taken" (config/README.md): a
// longer one is skipped whole -- not cut into a record, not counted as records
// (the source counts it as truncated, which --stats does not show).
TEST_F(Hostile, DatagramsLongerThanTheBufferAreNotTaken) {
    const uint16_t port = free_port(SOCK_DGRAM);
    ASSERT_TRUE(started(config("udp", port, "udp_buffer_bytes = 2048\nudp_buffers = 64\n", 2, "SELECT k FROM t", kTotals,
                               kBigReceiveBuffer)))
        << err();
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in to = loopback(port);
    auto send = [&](const std::string& d) {
        return ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
               static_cast<ssize_t>(d.size());
    };
    // Datagrams of valid records, exactly 2048, 2049 and 65507 bytes long.
    auto records_of = [](std::size_t size, const std::string& key) {
        std::string d;
        long v = 0;
        while (d.size() + rec(key, v).size() + 1 + 40 <= size) d += rec(key, v++) + "\n";
        return d + padded(key, v, size - d.size());  // no final '\n': exactly `size` bytes
    };
    Expected e;
    long taken = 0;
    for (int round = 0; round < 3; ++round) {
        const std::string fits = records_of(2048, "fit");
        ASSERT_EQ(fits.size(), 2048u);
        ASSERT_TRUE(send(fits));
        ++taken;
        for (const std::string& line : lines_of(fits))
            e.add(Item{line, "\n", Fate::Processed, "fit", std::stol(line.substr(line.find("\"v\":") + 4)), ""});
        ASSERT_TRUE(send(records_of(2049, "cut")));
        ASSERT_TRUE(send(records_of(65507, "cut")));
        const Item after = valid("after", round);
        ASSERT_TRUE(send(after.line()));
        ++taken;
        e.add(after);
        ASSERT_TRUE(wait_seen(e.processed)) << seen() << " of " << e.processed << "\n" << err();
    }
    check_alive_and_bounded("long datagrams", baseline_kib_ + kCorpusHeadroomKib);
    ::close(fd);
    stop_and_check(e);
    const std::string s = stats();
    EXPECT_EQ(counter(s, "datagrams", named(s, "src")), taken) << s;
}

// ---- TCP ---------------------------------------------------------------------

class HostileTcp : public Hostile, public ::testing::WithParamInterface<std::size_t> {};

// max_record_bytes 4096 (< the 16 KiB receive buffers: lines inside a buffer
// are scanned for their length) and 32768 (long lines always span reads and
// are assembled or skipped in the connection's tail).
INSTANTIATE_TEST_SUITE_P(Limits, HostileTcp, ::testing::Values(std::size_t{4096}, std::size_t{32768}));

TEST_P(HostileTcp, CorpusOverTcp) {
    const std::size_t limit = GetParam();
    const uint16_t port = free_port(SOCK_STREAM);
    ASSERT_TRUE(started(config("tcp", port, "max_record_bytes = " + std::to_string(limit) + "\n"))) << err();
    const long bound = baseline_kib_ + kCorpusHeadroomKib;
    Expected e;

    // The whole corpus (1 MiB line included) on three connections at once,
    // written round-robin: random chunks, one write, chunks around the 16 KiB
    // receive size. Each stream ends with a valid record.
    const std::vector<Item> corpus = interleave(hostile_items(limit, true), 1);
    const std::string text = text_of(corpus);
    {
        std::mt19937 rng(7);
        std::vector<std::size_t> random_sizes;
        for (int i = 0; i < 4000; ++i) random_sizes.push_back(1 + rng() % 3000);
        const std::vector<std::vector<std::size_t>> plans = {
            random_sizes, {text.size()}, {1, 7, 16383, 13, 16385, 4093, 2}};
        std::vector<int> fds;
        std::vector<std::size_t> at(plans.size(), 0);
        std::vector<std::size_t> step(plans.size(), 0);
        for (std::size_t c = 0; c < plans.size(); ++c) {
            fds.push_back(connect_tcp(port));
            ASSERT_GE(fds.back(), 0);
        }
        for (bool more = true; more;) {
            more = false;
            for (std::size_t c = 0; c < plans.size(); ++c) {
                if (at[c] >= text.size()) continue;
                const std::size_t n = std::min(plans[c][step[c]++ % plans[c].size()], text.size() - at[c]);
                send_all(fds[c], text.data() + at[c], n);
                at[c] += n;
                more = true;
            }
        }
        for (int fd : fds) ::close(fd);
        e.add(corpus, 3);
    }
    ASSERT_TRUE(wait_seen(e.processed)) << "corpus: " << seen() << " of " << e.processed << "\n" << err();
    check_alive_and_bounded("corpus", bound);

    // The small corpus split at every byte boundary: one connection per split
    // point, 20 at a time; all first parts go out, then all second parts.
    const std::vector<Item> small = small_corpus();
    const std::string st = text_of(small);
    for (std::size_t first = 1; first < st.size(); first += 20) {
        std::vector<std::pair<int, std::size_t>> conns;
        for (std::size_t cut = first; cut < std::min(first + 20, st.size()); ++cut) {
            const int fd = connect_tcp(port);
            ASSERT_GE(fd, 0);
            send_all(fd, st.data(), cut);
            conns.emplace_back(fd, cut);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // not asserted: the split usually shows
        for (const auto& [fd, cut] : conns) {
            send_all(fd, st.data() + cut, st.size() - cut);
            ::close(fd);
        }
        e.add(small, static_cast<int>(conns.size()));
    }
    // ... and byte by byte on one connection.
    {
        const int fd = connect_tcp(port);
        ASSERT_GE(fd, 0);
        for (char c : st) send_all(fd, &c, 1);
        ::close(fd);
        e.add(small);
    }
    ASSERT_TRUE(wait_seen(e.processed)) << "every split: " << seen() << " of " << e.processed << "\n" << err();
    check_alive_and_bounded("every split", bound);

    // Connections that send nothing, or only blank lines.
    for (int i = 0; i < 5; ++i) {
        const int fd = connect_tcp(port);
        ASSERT_GE(fd, 0);
        if (i % 2) send_all(fd, "\n \r\n\t\n\n", 7);
        ::close(fd);
    }
    // A record after them, on a new connection, so that the drain finds nothing in flight.
    {
        const Item last = valid("k0", 99);
        const int fd = connect_tcp(port);
        ASSERT_GE(fd, 0);
        send_all(fd, last.line().data(), last.line().size());
        ::close(fd);
        e.add(last);
    }
    ASSERT_TRUE(wait_seen(e.processed)) << err();
    check_alive_and_bounded("empty connections", bound);
    stop_and_check(e);
    std::printf("[ info ] limit %zu: %ld records in, %ld rejected; resident: %ld KiB at start, peak %ld KiB\n", limit,
                e.in, e.rejected, baseline_kib_, peak_kib_);
}

// Connections cut at every byte of the small corpus, by a reset (SO_LINGER 0)
// or by an EOF. One shard: a connection made after the cut ones reaches the
// same io_uring after their ends, so once its record shows, every cut
// connection has been accounted for.
TEST_F(Hostile, TcpConnectionsCutAtEveryByte) {
    const uint16_t port = free_port(SOCK_STREAM);
    ASSERT_TRUE(started(config("tcp", port, "max_record_bytes = 4096\n", 1))) << err();
    const long bound = baseline_kib_ + kCorpusHeadroomKib;
    const std::vector<Item> small = small_corpus();
    const std::string st = text_of(small);
    Expected e;
    long cuts = 0;
    for (const bool reset : {true, false}) {
        for (std::size_t cut = 1; cut <= st.size(); ++cut) {
            std::string partial;
            const Expected here = after_cut(small, cut, reset, &partial);
            // A blank partial line cut by a reset is counted as rejected, the
            // same at EOF is skipped: neither is asserted here.
            if (reset && !partial.empty() && blank(partial)) continue;
            const int fd = connect_tcp(port);
            ASSERT_GE(fd, 0);
            send_all(fd, st.data(), cut);
            if (reset) {
                linger l{1, 0};
                ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            }
            ::close(fd);
            e.add(here);
            ++cuts;
        }
        const Item last = valid("end", reset ? 1 : 2);
        const int fd = connect_tcp(port);
        ASSERT_GE(fd, 0);
        send_all(fd, last.line().data(), last.line().size());
        ::close(fd);
        e.add(last);
        ASSERT_TRUE(wait_seen(e.processed)) << (reset ? "resets: " : "EOFs: ") << seen() << " of " << e.processed
                                            << "\n" << err();
        check_alive_and_bounded(reset ? "resets" : "EOFs", bound);
    }
    stop_and_check(e);
    std::printf("[ info ] %ld cut connections, %ld records in, %ld rejected\n", cuts, e.in, e.rejected);
}

// ---- overload and recovery -----------------------------------------------------

// GET http://127.0.0.1:port/metrics: the body ("" when it failed).
std::string scrape(uint16_t port) {
    const int fd = connect_tcp(port);
    if (fd < 0) return "";
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    send_all(fd, req.data(), req.size());
    std::string out;
    char buf[16384];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto body = out.find("\r\n\r\n");
    return out.compare(0, 12, "HTTP/1.1 200") == 0 && body != std::string::npos ? out.substr(body + 4) : "";
}

// The sum over shards of a series `name{...}` whose labels include `label`.
long series(const std::string& metrics, const std::string& name, const std::string& label) {
    long sum = 0;
    for (const std::string& l : lines_of(metrics)) {
        if (l.compare(0, name.size() + 1, name + "{") != 0) continue;
        const auto close = l.find("} ");
        if (close == std::string::npos || l.find(label) > close) continue;
        sum += std::stol(l.substr(close + 2));
    }
    return sum;
}

// The counters of query q and source src that tell the phases apart.
struct Books {
    long in = 0, processed = 0, rejected = 0, overload = 0, late = 0, datagrams = 0, kernel_dropped = 0;
    bool operator==(const Books&) const = default;
};

std::optional<Books> books(uint16_t metrics_port) {
    const std::string m = scrape(metrics_port);
    if (m.empty()) return std::nullopt;
    const std::string q = "query=\"q\"";
    const std::string src = "source=\"src\"";
    return Books{series(m, "sluice_records_in_total", q),
                 series(m, "sluice_records_processed_total", q),
                 series(m, "sluice_records_rejected_total", q),
                 series(m, "sluice_records_overload_dropped_total", q),
                 series(m, "sluice_records_late_dropped_total", q),
                 series(m, "sluice_source_datagrams_total", src),
                 series(m, "sluice_source_kernel_dropped_total", src)};
}

// The books once nothing moves any more: the same in 5 scrapes 50 ms apart
// (shards publish every 10 ms), within 20 s.
std::optional<Books> settled_books(uint16_t metrics_port) {
    std::optional<Books> last;
    int same = 0;
    for (int i = 0; i < 400; ++i) {
        const std::optional<Books> b = books(metrics_port);
        if (b && last && *b == *last) {
            if (++same == 4) return b;
        } else {
            same = 0;
        }
        last = b;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
}

// The blast's records: 20 per datagram, keys b0 .. b9999, p = 1.
std::string blast_datagram(long& next) {
    std::string d;
    for (int r = 0; r < 20; ++r, ++next)
        d += "{\"k\":\"b" + std::to_string(next % 10000) + "\",\"v\":1,\"p\":1}\n";
    return d;
}

TEST_F(Hostile, UdpOverloadThenRecovery) {
    // Two shards, 64 KiB rings. EMIT CHANGES sends every record to the
    // shard that owns its key (EMIT FINAL would combine on the reading shard
    // and ship once at the end): with 10,000 keys half the records cross, and
    // a blast fills those rings (overload_dropped) and the socket buffers
    // (kernel_dropped). HAVING keeps the rows to the paced phase's keys
    // (n0 .. n49): one row per record, the last one per key its totals.
    // `seen` lets through only the recovery markers (p = 3) and the paced phase (p = 2).
    const uint16_t port = free_port(SOCK_DGRAM);
    const uint16_t metrics_port = free_port(SOCK_STREAM);
    ASSERT_TRUE(started(config("udp", port,
                               "ring_bytes = 65536\nmax_record_bytes = 4096\nudp_buffers = 1024\n"
                               "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics_port) + "\"\n",
                               2,
                               "SELECT k, v FROM t WHERE p >= 2",
                               "SELECT k, COUNT(*) AS n, SUM(v) AS s FROM t GROUP BY k HAVING k >= 'n' EMIT CHANGES")))
        << err();
    // The bound, from the config: the start-up peak (buffer rings of 1024 x
    // ~2.2 KiB per shard, populated at start, the parsers, the binary) plus
    //   rings between shards: 2 queries x 2 x 64 KiB         =  0.25 MiB
    //   rows to the writer: 2 queries x 2 shards x 8 MiB     = 32 MiB (at most; rows are few here)
    //   groups: 10,051 keys x <= 1 KiB (key, COUNT, SUM, table slot, doubled on growth) = 10 MiB
    //   slack for the allocator: 24 MiB
    // The blast offers far more than that (hundreds of MB in 2 s): an
    // appliance that queued overload instead of shedding it would exceed it.
    const long bound = baseline_kib_ + (1 + 32 + 10 + 24) * 1024;
    const sockaddr_in to = loopback(port);

    // 1. Blast for 2 s with sendmmsg from two sockets (two flows, which
    // SO_REUSEPORT may give to one shard each or both to one).
    std::atomic<bool> blasting{true};
    std::atomic<long> sent{0};
    long peak_rss = 0;
    std::thread blaster([&] {
        int fds[2] = {::socket(AF_INET, SOCK_DGRAM, 0), ::socket(AF_INET, SOCK_DGRAM, 0)};
        long next = 0;
        constexpr int kBatch = 32;
        std::vector<std::string> dgrams;
        for (int i = 0; i < kBatch * 16; ++i) dgrams.push_back(blast_datagram(next));  // reused: 10,240 records
        std::vector<iovec> iov(kBatch);
        std::vector<mmsghdr> msgs(kBatch);
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        for (long round = 0; std::chrono::steady_clock::now() < end; ++round) {
            for (int i = 0; i < kBatch; ++i) {
                std::string& d = dgrams[static_cast<std::size_t>((round % 16) * kBatch + i)];
                iov[static_cast<std::size_t>(i)] = iovec{d.data(), d.size()};
                msgs[static_cast<std::size_t>(i)] = mmsghdr{};
                msgs[static_cast<std::size_t>(i)].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
                msgs[static_cast<std::size_t>(i)].msg_hdr.msg_namelen = sizeof to;
                msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iov = &iov[static_cast<std::size_t>(i)];
                msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iovlen = 1;
            }
            const int n = ::sendmmsg(fds[round % 2], msgs.data(), kBatch, 0);
            if (n > 0) sent += n;
        }
        ::close(fds[0]);
        ::close(fds[1]);
        blasting = false;
    });
    while (blasting) {
        peak_rss = std::max(peak_rss, status_kib("VmRSS"));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    blaster.join();
    const long blast_datagrams = sent.load();
    ASSERT_GT(blast_datagrams, 0);
    check_alive_and_bounded("during the blast", bound);
    EXPECT_LE(peak_rss, bound) << "sampled during the blast";

    // 2. Recovery: a marker every 20 ms from one socket until one shows (its
    // shard has worked through the backlog in front of it); the paced phase
    // follows on the same socket, so it reaches the same shard behind it.
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto send = [&](const std::string& d) {
        return ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
               static_cast<ssize_t>(d.size());
    };
    long markers = 0;
    ASSERT_TRUE(wait_until([&] {
        if (seen() > 0) return true;
        if (send("{\"k\":\"m\",\"v\":1,\"p\":3}\n")) ++markers;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return false;
    })) << "no recovery\n" << err();
    check_alive_and_bounded("after the blast", bound);
    // The books before the paced phase, once the backlog is gone.
    const std::optional<Books> before = settled_books(metrics_port);
    ASSERT_TRUE(before) << "no settled /metrics\n" << err();
    EXPECT_EQ(before->in, before->processed + before->rejected + before->overload + before->late);

    // 3. Normal load: 5,000 records (keys n0 .. n49, 100 each, v = i) in
    // datagrams of 10, 25 datagrams (~8 KiB) at a time, each burst taken
    // before the next: none may be lost.
    auto paced_rows = [&] {
        long n = 0;
        for (const std::string& l : lines_of(read_file(path("seen.ndjson"))))
            if (l.compare(0, 7, "{\"k\":\"n") == 0) ++n;
        return n;
    };
    long paced_datagrams = 0;
    for (int i = 0; i < 5000;) {
        for (int d = 0; d < 25; ++d, ++paced_datagrams) {
            std::string dgram;
            for (int r = 0; r < 10; ++r, ++i)
                dgram += "{\"k\":\"n" + std::to_string(i % 50) + "\",\"v\":" + std::to_string(i) + ",\"p\":2}\n";
            ASSERT_TRUE(send(dgram));
        }
        ASSERT_TRUE(wait_until([&] { return paced_rows() >= i; })) << paced_rows() << " of " << i << "\n" << err();
    }
    ::close(fd);
    check_alive_and_bounded("after recovery", bound);
    // Its books: 500 datagrams and 5,000 records in, all processed, nothing dropped.
    const std::optional<Books> after = settled_books(metrics_port);
    ASSERT_TRUE(after) << "no settled /metrics\n" << err();
    EXPECT_EQ(after->in - before->in, 5000);
    EXPECT_EQ(after->processed - before->processed, 5000);
    EXPECT_EQ(after->rejected - before->rejected, 0);
    EXPECT_EQ(after->overload - before->overload, 0);
    EXPECT_EQ(after->datagrams - before->datagrams, paced_datagrams);
    EXPECT_EQ(after->kernel_dropped - before->kernel_dropped, 0);
    ASSERT_EQ(stop(), 0) << err();

    // The books.
    const std::string s = stats();
    const std::size_t q = named(s, "q");
    const long in = counter(s, "records_in", q);
    const long processed = counter(s, "records_processed", q);
    const long overload = counter(s, "overload_dropped", q);
    EXPECT_EQ(in, processed + counter(s, "records_rejected", q) + overload + counter(s, "late_dropped", q)) << s;
    EXPECT_EQ(counter(s, "records_rejected", q), 0) << s;
    // /metrics said the same just before the drain.
    EXPECT_EQ(in, after->in) << s;
    EXPECT_EQ(processed, after->processed) << s;
    EXPECT_EQ(overload, after->overload) << s;
    // Both queries read the same datagrams; the stateless one never crosses a ring.
    const std::size_t sq = named(s, "seen");
    EXPECT_EQ(counter(s, "records_in", sq), in) << s;
    EXPECT_EQ(counter(s, "records_processed", sq), in) << s;
    EXPECT_EQ(counter(s, "overload_dropped", sq), 0) << s;
    // What the kernel dropped was never taken; what was taken is no more than was sent.
    const std::size_t src = named(s, "src");
    const long taken = counter(s, "datagrams", src);
    const long kernel_dropped = counter(s, "kernel_dropped", src);
    EXPECT_EQ(taken, after->datagrams) << s;
    EXPECT_EQ(kernel_dropped, after->kernel_dropped) << s;
    const long total_sent = blast_datagrams + markers + paced_datagrams;
    EXPECT_LE(taken + kernel_dropped, total_sent) << s;
    // Every datagram taken was read whole: 20 records a blast datagram, 1 a
    // marker (at least one was taken), 10 a paced one (all 500 were). So
    // records_in = 20 (taken - M - 500) + M + 5000 for the M markers taken.
    const long m19 = 20 * taken - 5000 - in;
    EXPECT_EQ(m19 % 19, 0) << s;
    EXPECT_GE(m19 / 19, 1) << s;
    EXPECT_LE(m19 / 19, markers) << s;
    // It was overloaded: otherwise this test proves nothing.
    EXPECT_GT(overload + kernel_dropped, 0) << "the blast did not overload the appliance: " << s;

    // The rows: one per paced record, none for the others; the last one of
    // each key (its owner writes them in order) holds the phase's totals.
    const std::vector<std::string> out = lines_of(read_file(path("out.ndjson")));
    EXPECT_EQ(static_cast<long>(out.size()), 5000);
    EXPECT_EQ(counter(s, "rows_out", q), 5000) << s;
    std::map<std::string, std::string> rows;
    for (const std::string& l : out) {
        const auto k0 = l.find("\"k\":\"") + 5;
        rows[l.substr(k0, l.find('"', k0) - k0)] = l;
    }
    EXPECT_EQ(rows.size(), 50u);
    for (int k = 0; k < 50; ++k) {
        long sum = 0;
        for (int i = k; i < 5000; i += 50) sum += i;
        const std::string key = key_of("n", k);
        EXPECT_EQ(rows[key], "{\"k\":\"" + key + "\",\"n\":100,\"s\":" + std::to_string(sum) + "}");
    }
    std::printf(
        "[ info ] blast: %ld datagrams (%ld records) sent; taken %ld, kernel_dropped %ld; records in %ld, "
        "processed %ld, overload_dropped %ld; markers %ld; resident: %ld KiB at start, peak %ld KiB (bound %ld)\n",
        blast_datagrams, 20 * blast_datagrams, taken, kernel_dropped, in, processed, overload, markers, baseline_kib_,
        peak_kib_, bound);
}

}  // namespace

int main(int argc, char** argv) { return sluice::testing::appliance_test_main(argc, argv); }
