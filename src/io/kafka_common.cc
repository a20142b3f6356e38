#include "kafka_common.h"

#include <simdjson.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace sluice::io {

namespace {

std::atomic<KafkaLogFn> g_log{nullptr};

// A client's name for the log, kept with its counters (callbacks get only the opaque).
struct ClientTag {
    KafkaClientCounters* counters;
    std::string who;
    void* owner;
};

std::mutex g_tags_mu;
std::unordered_map<const void*, ClientTag>& tags() {
    static std::unordered_map<const void*, ClientTag> t;
    return t;
}

std::string who_of(const void* counters) {
    std::lock_guard<std::mutex> lock(g_tags_mu);
    auto it = tags().find(counters);
    return it == tags().end() ? std::string("kafka") : it->second.who;
}

void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* c = static_cast<KafkaClientCounters*>(opaque);
    if (c != nullptr) c->errors.fetch_add(1, std::memory_order_relaxed);
    const auto e = static_cast<rd_kafka_resp_err_t>(err);
    // Transport errors come and go with brokers: a warning; the rest is an error.
    const bool transient = e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
                           e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__RESOLVE;
    detail::log(transient ? 1 : 2, "%s: %s: %s", who_of(opaque).c_str(), rd_kafka_err2name(e), reason);
}

int on_stats(rd_kafka_t*, char* json, size_t len, void* opaque) {
    auto* c = static_cast<KafkaClientCounters*>(opaque);
    if (c != nullptr) detail::apply_statistics(json, len, *c);
    return 0;  // librdkafka frees the JSON
}

void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    // syslog levels: 0..3 errors, 4 warning; the rest stays out of the log,
    // unless librdkafka's own `debug` property asked for it.
    if (level > 4) {
        const char* d = getenv("SLUICE_KAFKA_DEBUG_LOG");
        if (d == nullptr || *d == '\0') return;
        detail::log(0, "librdkafka %s: %s", fac, buf);
        return;
    }
    const void* opaque = rd_kafka_opaque(rk);
    detail::log(level <= 3 ? 2 : 1, "%s: librdkafka %s: %s", who_of(opaque).c_str(), fac, buf);
}

}  // namespace

void set_kafka_log(KafkaLogFn fn) noexcept { g_log.store(fn); }

namespace detail {

void log(int level, const char* format, ...) {
    char text[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof text, format, args);
    va_end(args);
    if (KafkaLogFn fn = g_log.load()) {
        fn(level, text);
    } else {
        std::fprintf(stderr, "sluice: %s\n", text);
    }
}

bool set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, std::string& error) {
    char err[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK) return true;
    error = "property '" + key + "': " + err;
    return false;
}

void* owner_of(const void* counters) {
    std::lock_guard<std::mutex> lock(g_tags_mu);
    auto it = tags().find(counters);
    return it == tags().end() ? nullptr : it->second.owner;
}

void forget_client(const void* counters) {
    std::lock_guard<std::mutex> lock(g_tags_mu);
    tags().erase(counters);
}

void install_callbacks(rd_kafka_conf_t* conf, KafkaClientCounters* counters, const std::string& who, void* owner) {
    {
        std::lock_guard<std::mutex> lock(g_tags_mu);
        tags()[counters] = ClientTag{counters, who, owner};
    }
    rd_kafka_conf_set_opaque(conf, counters);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_conf_set_log_cb(conf, on_log);
}

void apply_statistics(const char* json, std::size_t len, KafkaClientCounters& c) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(json, len).get(root) != simdjson::SUCCESS) return;
    simdjson::dom::object brokers;
    if (root["brokers"].get(brokers) != simdjson::SUCCESS) return;
    uint64_t retries = 0, timeouts = 0, transport = 0, up = 0;
    for (auto field : brokers) {
        simdjson::dom::object b;
        if (field.value.get(b) != simdjson::SUCCESS) continue;
        int64_t nodeid = -1;
        if (b["nodeid"].get(nodeid) == simdjson::SUCCESS && nodeid < 0) continue;  // bootstrap and internal handles
        uint64_t v = 0;
        if (b["txretries"].get(v) == simdjson::SUCCESS) retries += v;
        if (b["req_timeouts"].get(v) == simdjson::SUCCESS) timeouts += v;
        uint64_t tx = 0, rx = 0;
        if (b["txerrs"].get(tx) == simdjson::SUCCESS) transport += tx;
        if (b["rxerrs"].get(rx) == simdjson::SUCCESS) transport += rx;
        std::string_view state;
        if (b["state"].get(state) == simdjson::SUCCESS && state == "UP") ++up;
    }
    // Broker handles come and go (a decommissioned broker takes its counts
    // along): the counters never go back.
    const auto raise = [](std::atomic<uint64_t>& a, uint64_t v) {
        uint64_t cur = a.load(std::memory_order_relaxed);
        while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
        }
    };
    // A consumer's group: steady (not joining or syncing) since rebalance_age ms.
    simdjson::dom::object cgrp;
    if (root["cgrp"].get(cgrp) == simdjson::SUCCESS) {
        std::string_view join;
        int64_t age = 0;
        if (cgrp["join_state"].get(join) == simdjson::SUCCESS) c.group_steady.store(join == "steady", std::memory_order_relaxed);
        if (cgrp["rebalance_age"].get(age) == simdjson::SUCCESS) c.group_steady_since.store(age, std::memory_order_relaxed);
    }
    raise(c.request_retries, retries);
    raise(c.request_timeouts, timeouts);
    raise(c.transport_errors, transport);
    c.brokers_up.store(up, std::memory_order_relaxed);
}

}  // namespace detail

bool kafka_built_in() noexcept { return true; }

int32_t kafka_partition_for_key(std::string_view key, int32_t partitions) noexcept {
    if (partitions <= 0) return 0;
    // A null key would be placed at random: an empty key is hashed like any other.
    const char* k = key.empty() ? "" : key.data();
    return rd_kafka_msg_partitioner_murmur2_random(nullptr, k, key.size(), partitions, nullptr, nullptr);
}

}  // namespace sluice::io
