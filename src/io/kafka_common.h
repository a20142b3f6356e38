// What the librdkafka-backed sources share: configuration, logging and the
// statistics callback that turns librdkafka's per-broker counters into
// KafkaClientCounters. Private to io.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdarg>
#include <string>

#include "kafka.h"

namespace sluice::io::detail {

void log(int level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// Sets one property; false with `error` set when librdkafka refuses it.
bool set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, std::string& error);

// error_cb, stats_cb and log_cb of a client whose opaque is `counters`;
// `owner` is what owner_of(counters) gives back (e.g. in a rebalance callback).
void install_callbacks(rd_kafka_conf_t* conf, KafkaClientCounters* counters, const std::string& who,
                       void* owner = nullptr);
void* owner_of(const void* counters);
// The client is gone: its tag goes.
void forget_client(const void* counters);

// What a statistics JSON says, folded into the counters (absolute values).
void apply_statistics(const char* json, std::size_t len, KafkaClientCounters& counters);

}  // namespace sluice::io::detail
