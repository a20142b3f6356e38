// sluice-kafka-mock: a Kafka cluster for tests and demos, without a broker.
// librdkafka's mock cluster (rd_kafka_mock_cluster_new) speaks the real Kafka
// wire protocol on loopback listeners; this tool starts one, creates topics,
// prints its bootstrap address and serves until SIGTERM/SIGINT, taking fault
// commands on stdin. It is also the client the tests and bench/kafka.sh use:
// `produce` writes an NDJSON file into a topic (one record per message,
// keyed by fields, partitioned as sluice's Kafka sink partitions),
// `consume` prints a topic's messages (read_committed), `offsets` prints a
// consumer group's committed offsets.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tool_args.h"

namespace {

using sluice::tools::Arg;
using sluice::tools::ArgReader;
using sluice::tools::parse_u64;

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

void usage(std::FILE* to) {
    std::fprintf(to,
        "usage: sluice-kafka-mock serve [--brokers N] [--topic NAME:PARTITIONS ...] [--bootstrap-file FILE]\n"
        "       sluice-kafka-mock produce --bootstrap ADDR --topic NAME --input FILE [--key F[,F...]]\n"
        "                                 [--timestamp FIELD] [--transactional-id ID]\n"
        "       sluice-kafka-mock consume --bootstrap ADDR --topic NAME [--idle-ms MS] [--count N]\n"
        "                                 [--format value|key|meta] [--timeout-ms MS]\n"
        "       sluice-kafka-mock offsets --bootstrap ADDR --group G --topic NAME\n"
        "       sluice-kafka-mock offsets --bootstrap ADDR --topic NAME --watermarks\n"
        "\n"
        "serve: starts a mock cluster of N brokers (default 1) on loopback, creates the topics (replication\n"
        "  min(3, N)), prints 'bootstrap=HOST:PORT,...' on stdout (and into --bootstrap-file) and serves until\n"
        "  SIGTERM or SIGINT. Fault commands, one per stdin line (answered 'ok' or 'error: ...' on stdout):\n"
        "    down B | up B            broker B (1..N) stops or resumes answering\n"
        "    rtt B MS                 broker B answers MS later\n"
        "    errors API N ERR         the next N requests of API (name or number: Produce, Fetch, OffsetCommit,\n"
        "                             JoinGroup, ...) fail with ERR (name, e.g. NOT_LEADER_FOR_PARTITION, or code)\n"
        "    broker-errors B API N ERR  the same for requests to broker B only (N: 1..4 or 8)\n"
        "    leader TOPIC P B         broker B leads partition P\n"
        "    topic NAME PARTITIONS    creates a topic\n"
        "produce: one message per non-empty line of FILE; its key is the value of the --key fields joined by\n"
        "  '|' (strings as they are, numbers as written, missing or null as nothing), partitioned with\n"
        "  murmur2_random, as sluice's kafka sink keys rows; --timestamp takes the message time (ms) from a\n"
        "  field. Prints the count. With --transactional-id, all lines go in one committed transaction.\n"
        "consume: every partition from the beginning, read_committed, one message per line on stdout: the value\n"
        "  (default), 'key<TAB>value', or meta: 'partition<TAB>offset<TAB>key<TAB>headers<TAB>value'. Ends once\n"
        "  every partition is at its end and nothing came for --idle-ms (default 1000), after --count messages,\n"
        "  or after --timeout-ms (default 60000).\n"
        "offsets: the group's committed offset of every partition: 'TOPIC PARTITION OFFSET' (-1001: none);\n"
        "  with --watermarks the first and next offset each partition holds: 'TOPIC PARTITION LOW HIGH'.\n"
        "\n"
        "The mock cluster (librdkafka 2.0) keeps about 5 MB of messages per partition and drops the oldest\n"
        "beyond that, as retention would: spread large inputs over enough partitions.\n");
}

// ---------------------------------------------------------------- clients

rd_kafka_t* make_client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& props) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            std::fprintf(stderr, "sluice-kafka-mock: %s\n", err);
            rd_kafka_conf_destroy(conf);
            return nullptr;
        }
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == nullptr) std::fprintf(stderr, "sluice-kafka-mock: %s\n", err);
    return rk;
}

// Partition count of a topic, or -1.
int partitions_of(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    int n = -1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
            if (n > 0) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

// ---------------------------------------------------------------- serve

int16_t api_key(const std::string& s) {
    static const std::map<std::string, int16_t> names = {
        {"produce", 0},        {"fetch", 1},          {"listoffsets", 2},        {"metadata", 3},
        {"offsetcommit", 8},   {"offsetfetch", 9},    {"findcoordinator", 10},   {"joingroup", 11},
        {"heartbeat", 12},     {"leavegroup", 13},    {"syncgroup", 14},         {"apiversion", 18},
        {"initproducerid", 22}, {"addpartitionstotxn", 24}, {"addoffsetstotxn", 25}, {"endtxn", 26},
        {"txnoffsetcommit", 28}};
    std::string l;
    for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto it = names.find(l); it != names.end()) return it->second;
    if (auto v = parse_u64(s); v && *v < 100) return static_cast<int16_t>(*v);
    return -1;
}

std::optional<rd_kafka_resp_err_t> error_code(const std::string& s) {
    if (auto v = parse_u64(s)) return static_cast<rd_kafka_resp_err_t>(*v);
    const struct rd_kafka_err_desc* descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; ++i)
        if (descs[i].name != nullptr && s == descs[i].name) return descs[i].code;
    return std::nullopt;
}

std::string run_command(rd_kafka_mock_cluster_t* mc, int brokers, const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    std::vector<std::string> a;
    for (std::string w; in >> w;) a.push_back(w);
    const auto broker = [&](const std::string& s) -> int32_t {
        auto v = parse_u64(s);
        return v && *v >= 1 && static_cast<int>(*v) <= brokers ? static_cast<int32_t>(*v) : -1;
    };
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if ((cmd == "down" || cmd == "up") && a.size() == 1) {
        const int32_t b = broker(a[0]);
        if (b < 0) return "error: no broker " + a[0];
        err = cmd == "down" ? rd_kafka_mock_broker_set_down(mc, b) : rd_kafka_mock_broker_set_up(mc, b);
    } else if (cmd == "rtt" && a.size() == 2) {
        const int32_t b = broker(a[0]);
        auto ms = parse_u64(a[1]);
        if (b < 0 || !ms) return "error: rtt B MS";
        err = rd_kafka_mock_broker_set_rtt(mc, b, static_cast<int>(*ms));
    } else if (cmd == "errors" && a.size() == 3) {
        const int16_t api = api_key(a[0]);
        auto n = parse_u64(a[1]);
        auto code = error_code(a[2]);
        if (api < 0 || !n || !code || *n == 0 || *n > 1000) return "error: errors API N ERR";
        std::vector<rd_kafka_resp_err_t> errs(*n, *code);
        rd_kafka_mock_push_request_errors_array(mc, api, errs.size(), errs.data());
    } else if (cmd == "broker-errors" && a.size() == 4) {
        // Only requests that reach broker B fail (the leader of some partitions: their clients only).
        const int32_t b = broker(a[0]);
        const int16_t api = api_key(a[1]);
        auto n = parse_u64(a[2]);
        auto code = error_code(a[3]);
        if (b < 0 || api < 0 || !n || !code || *n == 0 || *n > 8) return "error: broker-errors B API N ERR (N <= 8)";
        // Variadic pairs of (error, rtt): up to 8 of them.
        const rd_kafka_resp_err_t e = *code;
        switch (*n) {
            case 1: err = rd_kafka_mock_broker_push_request_error_rtts(mc, b, api, 1, e, 0); break;
            case 2: err = rd_kafka_mock_broker_push_request_error_rtts(mc, b, api, 2, e, 0, e, 0); break;
            case 3: err = rd_kafka_mock_broker_push_request_error_rtts(mc, b, api, 3, e, 0, e, 0, e, 0); break;
            case 4: err = rd_kafka_mock_broker_push_request_error_rtts(mc, b, api, 4, e, 0, e, 0, e, 0, e, 0); break;
            default:
                err = rd_kafka_mock_broker_push_request_error_rtts(mc, b, api, 8, e, 0, e, 0, e, 0, e, 0, e, 0, e, 0, e, 0, e, 0);
                break;
        }
    } else if (cmd == "leader" && a.size() == 3) {
        auto p = parse_u64(a[1]);
        const int32_t b = broker(a[2]);
        if (!p || b < 0) return "error: leader TOPIC P B";
        err = rd_kafka_mock_partition_set_leader(mc, a[0].c_str(), static_cast<int32_t>(*p), b);
    } else if (cmd == "topic" && a.size() == 2) {
        auto p = parse_u64(a[1]);
        if (!p || *p == 0) return "error: topic NAME PARTITIONS";
        err = rd_kafka_mock_topic_create(mc, a[0].c_str(), static_cast<int>(*p), std::min(3, brokers));
    } else {
        return "error: unknown command '" + line + "'";
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::string("error: ") + rd_kafka_err2str(err);
    return "ok";
}

int serve(int argc, char** argv) {
    int brokers = 1;
    std::vector<std::pair<std::string, int>> topics;
    std::string bootstrap_file;
    ArgReader r(argc, argv);
    Arg arg;
    std::string error;
    while (r.next(arg, error, {}, {"--brokers", "--topic", "--bootstrap-file"})) {
        if (arg.name == "--brokers") {
            auto v = parse_u64(arg.value);
            if (!v || *v < 1 || *v > 16) {
                std::fprintf(stderr, "sluice-kafka-mock: --brokers takes 1 .. 16\n");
                return 2;
            }
            brokers = static_cast<int>(*v);
        } else if (arg.name == "--topic") {
            const auto colon = arg.value.rfind(':');
            auto p = colon == std::string_view::npos ? std::nullopt : parse_u64(arg.value.substr(colon + 1));
            if (!p || *p == 0 || *p > 10000 || colon == 0) {
                std::fprintf(stderr, "sluice-kafka-mock: --topic takes NAME:PARTITIONS\n");
                return 2;
            }
            topics.emplace_back(std::string(arg.value.substr(0, colon)), static_cast<int>(*p));
        } else {
            bootstrap_file = std::string(arg.value);
        }
    }
    if (!error.empty()) {
        std::fprintf(stderr, "sluice-kafka-mock: %s\n", error.c_str());
        return 2;
    }
    // The mock cluster lives in this handle's threads; the handle itself is idle.
    rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
    if (rk == nullptr) return 1;
    rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == nullptr) {
        std::fprintf(stderr, "sluice-kafka-mock: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (const auto& [name, parts] : topics) {
        const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name.c_str(), parts, std::min(3, brokers));
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            std::fprintf(stderr, "sluice-kafka-mock: topic %s: %s\n", name.c_str(), rd_kafka_err2str(e));
            return 1;
        }
    }
    const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (!bootstrap_file.empty()) {
        // Written under a temporary name and renamed: a reader never sees half of it.
        const std::string tmp = bootstrap_file + ".tmp";
        std::ofstream(tmp) << bootstraps << "\n";
        std::rename(tmp.c_str(), bootstrap_file.c_str());
    }
    std::printf("bootstrap=%s\n", bootstraps.c_str());
    std::fflush(stdout);

    std::string pending;
    bool stdin_open = true;
    while (!g_stop.load()) {
        pollfd p{STDIN_FILENO, POLLIN, 0};
        const int n = stdin_open ? ::poll(&p, 1, 100) : (std::this_thread::sleep_for(std::chrono::milliseconds(100)), 0);
        if (n <= 0) continue;
        char buf[4096];
        const ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
        if (got <= 0) {
            stdin_open = false;  // no commands any more; serve until a signal
            continue;
        }
        pending.append(buf, static_cast<std::size_t>(got));
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            std::printf("%s\n", run_command(mc, brokers, line).c_str());
            std::fflush(stdout);
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

// ---------------------------------------------------------------- produce

// The text of one field for a key: strings unescaped, numbers and booleans
// as written, null or missing as nothing.
bool field_text(simdjson::ondemand::document& doc, const std::string& path, std::string& out) {
    std::string pointer = "/";
    for (char c : path) pointer += c == '.' ? '/' : c;
    simdjson::ondemand::value v;
    if (doc.at_pointer(pointer).get(v) != simdjson::SUCCESS) return true;  // missing
    simdjson::ondemand::json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) return false;
    if (t == simdjson::ondemand::json_type::string) {
        std::string_view s;
        if (v.get_string().get(s) != simdjson::SUCCESS) return false;
        out.append(s);
    } else if (t == simdjson::ondemand::json_type::null) {
    } else {
        std::string_view raw = v.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' || raw.back() == '\n'))
            raw.remove_suffix(1);
        out.append(raw);
    }
    return true;
}

void delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) static_cast<std::atomic<uint64_t>*>(opaque)->fetch_add(1);
}

int produce(int argc, char** argv) {
    std::string bootstrap, topic, input, timestamp_field, txn_id;
    std::vector<std::string> keys;
    ArgReader r(argc, argv);
    Arg arg;
    std::string error;
    while (r.next(arg, error, {}, {"--bootstrap", "--topic", "--input", "--key", "--timestamp", "--transactional-id"})) {
        const std::string v(arg.value);
        if (arg.name == "--bootstrap") bootstrap = v;
        else if (arg.name == "--topic") topic = v;
        else if (arg.name == "--input") input = v;
        else if (arg.name == "--timestamp") timestamp_field = v;
        else if (arg.name == "--transactional-id") txn_id = v;
        else {
            for (std::size_t from = 0;;) {
                const auto comma = v.find(',', from);
                keys.push_back(v.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
                if (comma == std::string::npos) break;
                from = comma + 1;
            }
        }
    }
    if (!error.empty() || bootstrap.empty() || topic.empty() || input.empty()) {
        std::fprintf(stderr, "sluice-kafka-mock: %s\n", error.empty() ? "produce needs --bootstrap, --topic and --input" : error.c_str());
        return 2;
    }
    std::atomic<uint64_t> failed{0};
    std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", bootstrap}, {"partitioner", "murmur2_random"}, {"linger.ms", "5"},
        {"queue.buffering.max.messages", "1000000"}, {"log_level", "3"}};
    if (!txn_id.empty()) props.emplace_back("transactional.id", txn_id);
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [k, v] : props) rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, delivery);
    rd_kafka_conf_set_opaque(conf, &failed);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
        std::fprintf(stderr, "sluice-kafka-mock: %s\n", err);
        return 1;
    }
    if (!txn_id.empty()) {
        if (rd_kafka_error_t* e = rd_kafka_init_transactions(rk, 30000)) {
            std::fprintf(stderr, "sluice-kafka-mock: init_transactions: %s\n", rd_kafka_error_string(e));
            return 1;
        }
        if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk)) {
            std::fprintf(stderr, "sluice-kafka-mock: begin_transaction: %s\n", rd_kafka_error_string(e));
            return 1;
        }
    }
    std::ifstream in(input);
    if (!in) {
        std::fprintf(stderr, "sluice-kafka-mock: cannot read '%s'\n", input.c_str());
        return 1;
    }
    simdjson::ondemand::parser parser;
    uint64_t sent = 0, bad = 0;
    std::string key;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        key.clear();
        int64_t ts = 0;
        if (!keys.empty() || !timestamp_field.empty()) {
            simdjson::padded_string padded(line);
            for (std::size_t k = 0; k < keys.size(); ++k) {
                simdjson::ondemand::document doc;
                if (k) key += '|';
                if (parser.iterate(padded).get(doc) != simdjson::SUCCESS || !field_text(doc, keys[k], key)) ++bad;
            }
            if (!timestamp_field.empty()) {
                simdjson::ondemand::document doc;
                std::string t;
                if (parser.iterate(padded).get(doc) == simdjson::SUCCESS && field_text(doc, timestamp_field, t))
                    ts = std::strtoll(t.c_str(), nullptr, 10);
            }
        }
        for (;;) {
            const rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(line.data(), line.size()),
                RD_KAFKA_V_KEY(keys.empty() ? nullptr : key.data(), keys.empty() ? 0 : key.size()),
                RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                std::fprintf(stderr, "sluice-kafka-mock: produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        ++sent;
        rd_kafka_poll(rk, 0);
    }
    if (!txn_id.empty()) {
        if (rd_kafka_error_t* e = rd_kafka_commit_transaction(rk, 60000)) {
            std::fprintf(stderr, "sluice-kafka-mock: commit_transaction: %s\n", rd_kafka_error_string(e));
            return 1;
        }
    }
    while (rd_kafka_outq_len(rk) > 0) rd_kafka_flush(rk, 1000);
    rd_kafka_destroy(rk);
    if (failed.load() != 0) {
        std::fprintf(stderr, "sluice-kafka-mock: %" PRIu64 " messages were not delivered\n", failed.load());
        return 1;
    }
    if (bad) std::fprintf(stderr, "sluice-kafka-mock: %" PRIu64 " lines had no readable key\n", bad);
    std::printf("%" PRIu64 "\n", sent);
    return 0;
}

// ---------------------------------------------------------------- consume

int consume(int argc, char** argv) {
    std::string bootstrap, topic, format = "value";
    uint64_t idle_ms = 1000, timeout_ms = 60000;
    std::optional<uint64_t> count;
    ArgReader r(argc, argv);
    Arg arg;
    std::string error;
    while (r.next(arg, error, {}, {"--bootstrap", "--topic", "--idle-ms", "--count", "--format", "--timeout-ms"})) {
        const std::string v(arg.value);
        if (arg.name == "--bootstrap") bootstrap = v;
        else if (arg.name == "--topic") topic = v;
        else if (arg.name == "--format") format = v;
        else {
            auto n = parse_u64(v);
            if (!n) {
                std::fprintf(stderr, "sluice-kafka-mock: %s takes a number\n", std::string(arg.name).c_str());
                return 2;
            }
            if (arg.name == "--idle-ms") idle_ms = *n;
            else if (arg.name == "--timeout-ms") timeout_ms = *n;
            else count = *n;
        }
    }
    if (!error.empty() || bootstrap.empty() || topic.empty() ||
        (format != "value" && format != "key" && format != "meta")) {
        std::fprintf(stderr, "sluice-kafka-mock: %s\n",
                     error.empty() ? "consume needs --bootstrap and --topic (--format value|key|meta)" : error.c_str());
        return 2;
    }
    rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                      {"group.id", "sluice-kafka-mock-reader"},
                                                      {"isolation.level", "read_committed"},
                                                      {"enable.partition.eof", "true"},
                                                      {"enable.auto.commit", "false"},
                                                      {"log_level", "3"}});
    if (rk == nullptr) return 1;
    const int parts = partitions_of(rk, topic, 10000);
    if (parts <= 0) {
        std::fprintf(stderr, "sluice-kafka-mock: no topic '%s'\n", topic.c_str());
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<bool> at_end(static_cast<std::size_t>(parts), false);
    uint64_t seen = 0;
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    std::string out;
    while (!g_stop.load()) {
        const auto now = std::chrono::steady_clock::now();
        if (now - start > std::chrono::milliseconds(timeout_ms)) break;
        if (count && seen >= *count) break;
        bool all_end = true;
        for (bool e : at_end) all_end &= e;
        if (!count && all_end && now - last > std::chrono::milliseconds(idle_ms)) break;
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 50);
        if (m == nullptr) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < parts) at_end[static_cast<std::size_t>(m->partition)] = true;
        } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            std::fprintf(stderr, "sluice-kafka-mock: %s\n", rd_kafka_message_errstr(m));
        } else {
            at_end[static_cast<std::size_t>(m->partition)] = false;
            last = std::chrono::steady_clock::now();
            ++seen;
            out.clear();
            const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
            if (format == "key") {
                out.append(key).append("\t");
            } else if (format == "meta") {
                out += std::to_string(m->partition) + "\t" + std::to_string(m->offset) + "\t";
                out.append(key).append("\t");
                rd_kafka_headers_t* hdrs = nullptr;
                if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    const char* name;
                    const void* val;
                    size_t size;
                    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
                        if (i) out += ',';
                        out.append(name).append("=").append(static_cast<const char*>(val), size);
                    }
                }
                out += "\t";
            }
            std::string_view value(static_cast<const char*>(m->payload), m->len);
            while (!value.empty() && value.back() == '\n') value.remove_suffix(1);
            out.append(value).append("\n");
            std::fwrite(out.data(), 1, out.size(), stdout);
        }
        rd_kafka_message_destroy(m);
    }
    std::fflush(stdout);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

// ---------------------------------------------------------------- offsets

int offsets(int argc, char** argv) {
    std::string bootstrap, topic, group = "sluice-kafka-mock-reader";
    bool watermarks = false;
    ArgReader r(argc, argv);
    Arg arg;
    std::string error;
    while (r.next(arg, error, {"--watermarks"}, {"--bootstrap", "--topic", "--group"})) {
        const std::string v(arg.value);
        if (arg.name == "--watermarks") watermarks = true;
        else if (arg.name == "--bootstrap") bootstrap = v;
        else if (arg.name == "--topic") topic = v;
        else group = v;
    }
    if (!error.empty() || bootstrap.empty() || topic.empty()) {
        std::fprintf(stderr, "sluice-kafka-mock: %s\n", error.empty() ? "offsets needs --bootstrap, --group and --topic" : error.c_str());
        return 2;
    }
    rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"group.id", group},
                                                      {"enable.auto.commit", "false"}, {"log_level", "3"}});
    if (rk == nullptr) return 1;
    const int parts = partitions_of(rk, topic, 10000);
    if (parts <= 0) {
        std::fprintf(stderr, "sluice-kafka-mock: no topic '%s'\n", topic.c_str());
        return 1;
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
    if (watermarks) {
        // The first and next offsets the brokers hold (the mock keeps a few MB per partition).
        for (int p = 0; p < parts; ++p) {
            int64_t low = -1, high = -1;
            const rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                std::fprintf(stderr, "sluice-kafka-mock: watermarks: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            std::printf("%s %d %" PRId64 " %" PRId64 "\n", topic.c_str(), p, low, high);
        }
        rd_kafka_topic_partition_list_destroy(list);
        rd_kafka_destroy(rk);
        return 0;
    }
    const rd_kafka_resp_err_t e = rd_kafka_committed(rk, list, 10000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::fprintf(stderr, "sluice-kafka-mock: committed: %s\n", rd_kafka_err2str(e));
        return 1;
    }
    for (int i = 0; i < list->cnt; ++i)
        std::printf("%s %d %" PRId64 "\n", list->elems[i].topic, list->elems[i].partition, list->elems[i].offset);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(rk);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    const std::string_view mode = argv[1];
    if (mode == "serve") return serve(argc - 1, argv + 1);
    if (mode == "produce") return produce(argc - 1, argv + 1);
    if (mode == "consume") return consume(argc - 1, argv + 1);
    if (mode == "offsets") return offsets(argc - 1, argv + 1);
    std::fprintf(stderr, "sluice-kafka-mock: unknown mode '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
