// The network modes of sluice-gen: records of a data set, packed into UDP
// datagrams or TCP batches, sent to one endpoint, paced or as fast as
// possible, bounded by a record count and/or a duration.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "gen_packets.h"
#include "gen_records.h"
#include "gen_send.h"
#include "gen_target.h"

namespace sluice::gen {

enum class Transport : uint8_t { Udp, Tcp };

struct NetRunOptions {
    Transport transport = Transport::Udp;
    Endpoint target;
    uint64_t start = 0;           // index of the first record
    uint64_t count = UINT64_MAX;  // records to send (UINT64_MAX: no bound)
    double duration_s = 0;        // seconds of sending (0: no bound)
    double rate = 0;              // records/s (0: as fast as possible)
    bool sent_ns = false;         // add "sent_ns" to every record
    PackLimits limits;            // per datagram (UDP) or batch (TCP)
    unsigned connections = 1;     // TCP
    bool progress = false;        // a line on stderr every second
    const std::atomic<bool>* stop = nullptr;  // set from a signal handler: stop early
};

struct NetRunResult {
    bool ok = true;
    bool started = false;  // the socket(s) opened and connected: the counters mean something
    std::string error;     // when !ok
    SendCounters sent;
    uint64_t generated = 0;  // records formatted (sent or dropped at the send)
    double seconds = 0;
    int64_t max_lag_ns = 0;
};

// Default packing: UDP datagrams of up to 1400 bytes; TCP batches of
// 64 KiB unpaced, and of a datagram's size when paced (so a record's delay
// behind its batch is as small as over UDP).
PackLimits default_limits(Transport transport, bool paced);

NetRunResult run_network(const RecordFormatter& records, const NetRunOptions& options);

// One line: transport, target, records, datagrams or batches, bytes,
// seconds, rate, errors, max pacing lag.
std::string summary_line(const NetRunOptions& options, const NetRunResult& result);

}  // namespace sluice::gen
