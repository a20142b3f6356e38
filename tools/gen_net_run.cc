#include "gen_net_run.h"

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstring>
#include <cstdio>
#include <vector>

#include "pacer.h"

namespace sluice::gen {
namespace {

constexpr std::size_t kTcpUnpacedBatch = 64 * 1024;
// Unpaced TCP keeps up to this much queued, so several connections write at once.
constexpr std::size_t kTcpQueueBytes = 1 << 20;
// Paced TCP blocks (and falls behind, which max lag shows) past this backlog.
constexpr std::size_t kTcpPacedBacklog = 4 << 20;
constexpr int64_t kTcpFinalFlushNs = 5'000'000'000;
// Unpaced with sent_ns: fewer datagrams per sendmmsg, so the time stamped
// on a batch is close to its send call.
constexpr unsigned kStampedBatch = 8;

class Progress {
public:
    Progress(bool on, int64_t t0) : on_(on), t0_(t0), next_(t0 + 1'000'000'000) {}

    void maybe_print(int64_t now, const SendCounters& c) {
        if (!on_ || now < next_) return;
        next_ += 1'000'000'000;
        const double s = static_cast<double>(now - t0_) / 1e9;
        std::fprintf(stderr, "sluice-gen: %.0f s, %.0f rec/s, %" PRIu64 " records, %" PRIu64 " send errors\n", s,
                     static_cast<double>(c.records) / s, c.records, c.errors);
    }

private:
    bool on_;
    int64_t t0_;
    int64_t next_;
};

bool stopped(const NetRunOptions& o) { return o.stop != nullptr && o.stop->load(std::memory_order_relaxed); }

int64_t end_time(const NetRunOptions& o, int64_t t0) {
    if (o.duration_s <= 0) return INT64_MAX;
    return t0 + static_cast<int64_t>(o.duration_s * 1e9);
}

std::string too_big(const PacketFormatter& packets, uint64_t index, const char* unit) {
    return "record " + std::to_string(index) + " takes " + std::to_string(packets.charged_bytes(index)) +
           " bytes, more than a " + unit + " may hold (" + std::to_string(packets.limits().max_bytes) + ")";
}

NetRunResult run_udp(const RecordFormatter& records, const NetRunOptions& o) {
    NetRunResult r;
    UdpSender sender;
    if (!sender.open(o.target, false, r.error)) {
        r.ok = false;
        return r;
    }
    r.started = true;
    const PacketFormatter packets(records, o.limits, o.sent_ns);
    const bool paced = o.rate > 0;
    const unsigned batch = paced ? 1 : o.sent_ns ? kStampedBatch : UdpSender::kBatch;
    std::vector<char> buf(batch * packets.buffer_bytes());
    std::vector<Datagram> datagrams(batch);

    const int64_t t0 = monotonic_ns();
    Pacer pacer(o.rate, t0);
    Progress progress(o.progress, t0);
    const int64_t end = end_time(o, t0);
    uint64_t left = o.count;
    int64_t now = t0;
    while (left > 0 && !stopped(o)) {
        if (paced && pacer.due_ns(r.generated) >= end) break;
        if (!paced && now >= end) break;
        // Built before the wait, so the datagram leaves right at its time.
        const int64_t stamp = paced ? pacer.due_ns(r.generated) : monotonic_ns();
        unsigned n = 0;
        for (; n < batch && left > 0; ++n) {
            char* out = buf.data() + n * packets.buffer_bytes();
            const Packet p = packets.fill(o.start + r.generated, left, stamp, out);
            if (p.records == 0) {
                r.ok = false;
                r.error = too_big(packets, o.start + r.generated, "datagram");
                return r;
            }
            datagrams[n] = Datagram{out, p.bytes, p.records};
            r.generated += p.records;
            left -= p.records;
        }
        if (paced) pacer.wait_for(r.generated - datagrams[0].records);
        sender.send(std::span(datagrams.data(), n));
        now = monotonic_ns();
        progress.maybe_print(now, sender.counters());
    }
    r.seconds = static_cast<double>(monotonic_ns() - t0) / 1e9;
    r.sent = sender.counters();
    r.max_lag_ns = pacer.max_lag_ns();
    return r;
}

NetRunResult run_tcp(const RecordFormatter& records, const NetRunOptions& o) {
    NetRunResult r;
    TcpSender sender;
    const bool paced = o.rate > 0;
    if (!sender.open(o.target, o.connections, paced, r.error)) {
        r.ok = false;
        return r;
    }
    r.started = true;
    const PacketFormatter packets(records, o.limits, o.sent_ns);
    std::vector<char> buf(packets.buffer_bytes());

    const int64_t t0 = monotonic_ns();
    Pacer pacer(o.rate, t0);
    Progress progress(o.progress, t0);
    const int64_t end = end_time(o, t0);
    uint64_t left = o.count;
    int64_t now = t0;
    while (left > 0 && !stopped(o)) {
        if (paced && pacer.due_ns(r.generated) >= end) break;
        if (!paced && now >= end) break;
        const int64_t stamp = paced ? pacer.due_ns(r.generated) : monotonic_ns();
        const Packet p = packets.fill(o.start + r.generated, left, stamp, buf.data());
        if (p.records == 0) {
            r.ok = false;
            r.error = too_big(packets, o.start + r.generated, "batch");
            return r;
        }
        if (paced) pacer.wait_for(r.generated);
        r.generated += p.records;
        left -= p.records;
        if (!sender.queue(buf.data(), p.bytes, p.records) ||
            !sender.wait_queued_at_most(paced ? kTcpPacedBacklog : kTcpQueueBytes, o.stop, end)) {
            r.ok = false;
            r.error = "every TCP connection to " + o.target.text + " broke (last error: " +
                      std::strerror(sender.counters().last_error) + ")";
            break;
        }
        now = monotonic_ns();
        progress.maybe_print(now, sender.counters());
    }
    // A count is delivered in full; a duration-bound run gives a stuck
    // receiver a few seconds more, then what is still queued is dropped (counted).
    const int64_t flush_deadline = end == INT64_MAX ? INT64_MAX : std::max(end, monotonic_ns()) + kTcpFinalFlushNs;
    if (r.ok && !sender.wait_queued_at_most(0, o.stop, flush_deadline)) {
        r.ok = false;
        r.error = "every TCP connection to " + o.target.text + " broke before the last bytes were written";
    }
    sender.close();
    r.seconds = static_cast<double>(monotonic_ns() - t0) / 1e9;
    r.sent = sender.counters();
    r.max_lag_ns = pacer.max_lag_ns();
    return r;
}

}  // namespace

PackLimits default_limits(Transport transport, bool paced) {
    if (transport == Transport::Tcp && !paced) return PackLimits{kTcpUnpacedBatch, 0};
    return PackLimits{1400, 0};
}

NetRunResult run_network(const RecordFormatter& records, const NetRunOptions& options) {
    return options.transport == Transport::Udp ? run_udp(records, options) : run_tcp(records, options);
}

std::string summary_line(const NetRunOptions& o, const NetRunResult& r) {
    const bool udp = o.transport == Transport::Udp;
    const double rate = r.seconds > 0 ? static_cast<double>(r.sent.records) / r.seconds : 0;
    char line[512];
    std::snprintf(line, sizeof line,
                  "sluice-gen: %s=%s records=%" PRIu64 " %s=%" PRIu64 " bytes=%" PRIu64
                  " seconds=%.3f rate=%.0f errors=%" PRIu64 " dropped=%" PRIu64 " max_lag_us=%.1f",
                  udp ? "udp" : "tcp", o.target.text.c_str(), r.sent.records, udp ? "datagrams" : "batches",
                  r.sent.packets, r.sent.bytes, r.seconds, rate, r.sent.errors, r.sent.records_dropped,
                  static_cast<double>(r.max_lag_ns) / 1e3);
    std::string s = line;
    if (!udp) s += " connections=" + std::to_string(o.connections);
    return s;
}

}  // namespace sluice::gen
