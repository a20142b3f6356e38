#include "lat_run.h"

#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

#include "gen_packets.h"
#include "gen_send.h"
#include "pacer.h"

namespace sluice::lat {
namespace {

// Paced TCP writes that the socket has not taken pile up to this much; past
// it the next batch waits (and the lag shows it) while rows are still read,
// so a sink blocked on us cannot block our sender in turn.
constexpr std::size_t kTcpBacklog = 4 << 20;
// The first send is this far in the future, so the loop is running at t0.
constexpr int64_t kStartDelayNs = 1'000'000;

// Sends packets over UDP or TCP behind one interface for the loop.
class Sender {
public:
    bool open(const LatRunOptions& o, std::string& error) {
        udp_ = o.transport == gen::Transport::Udp;
        return udp_ ? udp_sender_.open(o.target, true, error) : tcp_sender_.open(o.target, o.connections, true, error);
    }
    // Room for another packet now (TCP: the backlog is below its bound).
    bool ready() const { return udp_ || tcp_sender_.queued_bytes() <= kTcpBacklog; }
    // False when no TCP connection is left.
    bool send(const char* data, std::size_t bytes, uint64_t records) {
        if (udp_) {
            const gen::Datagram d{data, bytes, records};
            udp_sender_.send(std::span(&d, 1));
            return true;
        }
        return tcp_sender_.queue(data, bytes, records);
    }
    // Moves queued TCP bytes on; true when nothing is left queued.
    bool flush() { return udp_ || tcp_sender_.flush_nonblocking(); }
    void close() {
        if (!udp_) tcp_sender_.close();
    }
    const gen::SendCounters& counters() const { return udp_ ? udp_sender_.counters() : tcp_sender_.counters(); }
    bool tcp_alive() const { return udp_ || tcp_sender_.live_connections() > 0; }

private:
    bool udp_ = true;
    gen::UdpSender udp_sender_;
    gen::TcpSender tcp_sender_;
};

// Classifies every row and records the latency of those that count.
class RowAccounting {
public:
    RowAccounting(LatRunResult& r, int64_t t0, int64_t warm_end) : r_(r), t0_(t0), warm_end_(warm_end) {}

    // Called once before each poll: the receive time is read lazily, after
    // the rows are in, once per batch.
    void new_batch() noexcept { now_ = 0; }

    void operator()(std::string_view row) noexcept {
        ++r_.rows;
        const auto sent = parse_sent_ns(row);
        if (!sent) {
            ++r_.unmatched;
            return;
        }
        if (now_ == 0) now_ = gen::monotonic_ns();
        if (*sent < t0_ || *sent > now_) {
            ++r_.stale;
            return;
        }
        ++r_.matched;
        if (*sent < warm_end_) {
            ++r_.warmup;
            return;
        }
        r_.histogram.record(static_cast<uint64_t>(now_ - *sent));
    }

private:
    LatRunResult& r_;
    int64_t t0_;
    int64_t warm_end_;
    int64_t now_ = 0;
};

class Progress {
public:
    Progress(bool on, int64_t t0) : on_(on), t0_(t0), next_(t0 + 1'000'000'000) {}

    void maybe_print(int64_t now, const LatRunResult& r, const gen::SendCounters& sent) {
        if (!on_ || now < next_) return;
        next_ += 1'000'000'000;
        std::fprintf(stderr, "sluice-lat: %.0f s, sent %" PRIu64 ", rows %" PRIu64 ", p99 %.1f µs, max %.1f µs\n",
                     static_cast<double>(now - t0_) / 1e9, sent.records, r.matched,
                     static_cast<double>(r.histogram.value_at_percentile(99)) / 1e3,
                     static_cast<double>(r.histogram.max()) / 1e3);
    }

private:
    bool on_;
    int64_t t0_;
    int64_t next_;
};

bool stopped(const LatRunOptions& o) { return o.stop != nullptr && o.stop->load(std::memory_order_relaxed); }

}  // namespace

LatRunResult run_latency(const RecordFormatter& records, const LatRunOptions& o, RowReceiver& rows) {
    LatRunResult r;
    if (o.rate <= 0) {  // unpaced, every sent_ns would be t0
        r.ok = false;
        r.error = "a latency run needs a rate";
        return r;
    }
    Sender sender;
    if (!sender.open(o, r.error)) {
        r.ok = false;
        return r;
    }
    const gen::PacketFormatter packets(records, o.limits, true);
    std::vector<char> buf(packets.buffer_bytes());

    const int64_t t0 = gen::monotonic_ns() + kStartDelayNs;
    gen::Pacer pacer(o.rate, t0);
    const int64_t send_end = o.duration_s > 0 ? t0 + static_cast<int64_t>(o.duration_s * 1e9) : INT64_MAX;
    RowAccounting account(r, t0, t0 + static_cast<int64_t>(o.warmup_s * 1e9));
    Progress progress(o.progress, t0);

    // The next packet is built ahead, so at its time it only has to leave.
    uint64_t left = o.count;
    gen::Packet next;
    int64_t due = 0;
    const auto build = [&]() -> bool {
        due = pacer.due_ns(r.generated);
        if (left == 0 || due >= send_end) return false;
        next = packets.fill(o.start + r.generated, left, due, buf.data());
        if (next.records == 0) {
            r.ok = false;
            r.error = "a record takes " + std::to_string(packets.charged_bytes(o.start + r.generated)) +
                      " bytes, more than a packet may hold (" + std::to_string(o.limits.max_bytes) + ")";
            return false;
        }
        return true;
    };

    bool sending = build();
    int64_t last_send = t0;
    while (sending && !stopped(o)) {
        const int64_t now = gen::monotonic_ns();
        bool busy = false;
        if (now >= due && sender.ready()) {
            if (!sender.send(buf.data(), next.bytes, next.records)) break;
            pacer.note_send(due, now);
            last_send = now;
            r.generated += next.records;
            left -= next.records;
            sending = build();
            busy = true;
        }
        account.new_batch();
        if (rows.poll(account) > 0) busy = true;
        sender.flush();
        progress.maybe_print(now, r, sender.counters());
        if (!busy) gen::cpu_relax();
    }
    r.send_seconds = static_cast<double>(last_send - t0) / 1e9;

    // Trailing rows: until every expected one came, or the drain time is up.
    const int64_t drain_end = gen::monotonic_ns() + o.drain_ms * 1'000'000;
    for (int64_t now = gen::monotonic_ns(); now < drain_end && !stopped(o); now = gen::monotonic_ns()) {
        const bool flushed = sender.flush();
        if (flushed && r.matched >= sender.counters().records * o.rows_per_record) break;
        account.new_batch();
        if (rows.poll(account) == 0) gen::cpu_relax();
        progress.maybe_print(now, r, sender.counters());
    }
    const bool alive = sender.tcp_alive();
    sender.close();
    r.sent = sender.counters();
    r.max_lag_ns = pacer.max_lag_ns();
    if (r.ok && !alive) {
        r.ok = false;
        r.error = "every TCP connection to " + o.target.text + " broke (" + std::strerror(r.sent.last_error) + ")";
    }
    return r;
}

}  // namespace sluice::lat
