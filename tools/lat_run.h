// The measuring loop of sluice-lat, on one thread: records with sent_ns (their
// intended send time) leave at a fixed rate; between sends, result rows are
// taken without waiting and now − sent_ns goes into a histogram. Since
// sent_ns is the intended time, a sender that fell behind adds its delay to
// the latency instead of hiding it (coordinated omission).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "gen_net_run.h"
#include "gen_records.h"
#include "lat_receiver.h"
#include "latency_histogram.h"

namespace sluice::lat {

struct LatRunOptions {
    gen::Transport transport = gen::Transport::Udp;  // how records travel
    gen::Endpoint target;                            // sluice's source, or the floor's echo
    uint64_t start = 0;                              // index of the first record
    uint64_t count = UINT64_MAX;                     // records to send
    double duration_s = 0;                           // seconds of sending (0: no bound)
    double rate = 1000;                              // records/s
    gen::PackLimits limits{1400, 1};                 // per datagram or TCP batch
    unsigned connections = 1;                        // TCP
    double warmup_s = 1;            // rows whose sent_ns is this close to the start are not recorded
    int64_t drain_ms = 500;         // after the last send, wait this long for trailing rows
    uint64_t rows_per_record = 1;   // rows the query emits per record (for `lost`)
    bool progress = false;          // a line on stderr every second
    const std::atomic<bool>* stop = nullptr;
};

struct LatRunResult {
    bool ok = true;
    std::string error;
    LatencyHistogram histogram;
    gen::SendCounters sent;
    uint64_t generated = 0;   // records formatted (sent or dropped at the send)
    uint64_t rows = 0;        // every row received
    uint64_t matched = 0;     // rows with a sent_ns of this run (warm-up ones included)
    uint64_t unmatched = 0;   // rows without an integer sent_ns
    uint64_t warmup = 0;      // matched rows sent during the warm-up, not recorded
    uint64_t stale = 0;       // rows whose sent_ns is before this run began (or not yet reached)
    double send_seconds = 0;  // first intended send to the last send
    int64_t max_lag_ns = 0;   // how far the sender fell behind its schedule at worst

    // Rows expected but not received (0 when more came).
    uint64_t lost(uint64_t rows_per_record) const noexcept {
        const uint64_t expected = sent.records * rows_per_record;
        return expected > matched ? expected - matched : 0;
    }
};

// Sends to options.target and takes rows from `rows` (already open) until
// the sending is over and the drain time has passed or every expected row
// came. Fails only when the sender cannot connect or every TCP connection broke.
LatRunResult run_latency(const RecordFormatter& records, const LatRunOptions& options, RowReceiver& rows);

}  // namespace sluice::lat
