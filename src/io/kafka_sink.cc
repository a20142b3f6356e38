// The Kafka sink: one producer and its thread. Shards write row buffers into
// their ports (SPSC rings, as for the file writer); the thread cuts them into
// rows, keys and produces them, and completes checkpoint epochs when every
// port reached the epoch's cut marker: at-least-once waits for the rows'
// acknowledgements, exactly-once commits the epoch's transaction with the
// source offsets.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "kafka_common.h"
#include "sluice/spsc_ring.h"

namespace sluice::io {

namespace {

// A cut marker: rows never start with a NUL byte (JSON text has none).
struct CutMarker {
    char magic[8];
    uint64_t epoch;
};
constexpr char kCutMagic[8] = {'\0', 'S', 'L', 'C', 'U', 'T', '\0', '\0'};

void short_sleep() {
    timespec ts{0, 20'000};
    nanosleep(&ts, nullptr);
}

}  // namespace

struct KafkaSink::Impl {
    struct Port {
        Impl* impl = nullptr;
        uint32_t index = 0;
        std::unique_ptr<SpscRing> ring;
        uint32_t max_piece = 0;
        std::vector<uint32_t> key_columns;
        std::string query;
        std::string carry;    // the start of a row whose end is in a later piece
        uint64_t at_cut = 0;  // stopped at the cut marker of this epoch (0: not stopped)
    };

    KafkaSinkSetup setup;
    rd_kafka_t* rk = nullptr;
    rd_kafka_topic_t* rkt = nullptr;
    std::vector<std::unique_ptr<Port>> ports;
    KafkaClientCounters counters;
    std::thread thread;
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::atomic<uint64_t> rows{0};
    std::atomic<uint64_t> failures_seen{0};  // delivery failures so far (callback)
    uint64_t failures_checked = 0;           // thread: at the last completed epoch
    std::string key;                         // thread scratch
    std::string header;                      // exactly-once: the transaction's name, on every row
    uint64_t nonce = 0;
    uint64_t txn = 1;                        // exactly-once: the open transaction's number
    bool txn_open = false;

    // The coordinator's requests to complete epochs (in epoch order), and their answers.
    mutable std::mutex mu;
    std::condition_variable cv;
    std::string error;  // under mu
    struct Request {
        uint64_t epoch = 0;
        KafkaTxnOffsets offsets;
        int state = 0;  // 0 pending, 1 done, -1 failed
        std::string why;
    };
    std::deque<Request> requests;  // under mu

    Request* find(uint64_t e) {
        for (Request& r : requests)
            if (r.epoch == e) return &r;
        return nullptr;
    }

    ~Impl() {
        if (rkt) rd_kafka_topic_destroy(rkt);
        if (rk) rd_kafka_destroy(rk);
        detail::forget_client(&counters);
    }

    void fail(const std::string& why) {
        {
            std::lock_guard<std::mutex> lock(mu);
            if (error.empty()) error = why;
        }
        failed.store(true, std::memory_order_relaxed);
        detail::log(2, "kafka sink '%s': %s", setup.sink.c_str(), why.c_str());
    }

    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* c = static_cast<KafkaClientCounters*>(opaque);
        auto* self = static_cast<Impl*>(detail::owner_of(opaque));
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            c->delivered.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        c->delivery_failures.fetch_add(1, std::memory_order_relaxed);
        if (self && self->failures_seen.fetch_add(1, std::memory_order_relaxed) == 0)
            detail::log(2, "kafka sink '%s': a row was not delivered: %s", self->setup.sink.c_str(),
                        rd_kafka_err2str(m->err));
    }

    void produce_row(Port& port, const char* row, std::size_t len) {
        if (len == 0) return;
        if (!row_key_text(std::string_view(row, len), port.key_columns, key)) key.clear();
        const bool keyed = !port.key_columns.empty();
        for (;;) {
            const rd_kafka_resp_err_t e =
                setup.exactly_once
                    ? rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_VALUE(const_cast<char*>(row), len),
                                        RD_KAFKA_V_KEY(keyed ? key.data() : nullptr, keyed ? key.size() : 0),
                                        RD_KAFKA_V_HEADER("sluice.txn", header.data(), static_cast<ssize_t>(header.size())),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)
                    : rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_VALUE(const_cast<char*>(row), len),
                                        RD_KAFKA_V_KEY(keyed ? key.data() : nullptr, keyed ? key.size() : 0),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                // The producer's queue is full: serve acknowledgements (backpressure
                // reaches the shards through the ports).
                rd_kafka_poll(rk, 5);
                if (stop.load(std::memory_order_relaxed) && failed.load(std::memory_order_relaxed)) return;
                continue;
            }
            fail(std::string("produce: ") + rd_kafka_err2str(e));
            return;
        }
        rows.fetch_add(1, std::memory_order_relaxed);
    }

    // Cuts a piece into rows (a row may span pieces: its start waits in carry).
    void on_piece(Port& port, const char* data, std::size_t n) {
        const char* p = data;
        const char* end = data + n;
        while (p < end) {
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            if (nl == nullptr) {
                port.carry.append(p, static_cast<std::size_t>(end - p));
                return;
            }
            if (!port.carry.empty()) {
                port.carry.append(p, static_cast<std::size_t>(nl - p));
                produce_row(port, port.carry.data(), port.carry.size());
                port.carry.clear();
            } else {
                produce_row(port, p, static_cast<std::size_t>(nl - p));
            }
            p = nl + 1;
        }
    }

    // Produces what the port holds, up to its next cut marker. True if it took anything.
    bool drain(Port& port) {
        SpscRing& ring = *port.ring;
        bool any = false;
        uint32_t len;
        while (const void* msg = ring.front(&len)) {
            any = true;
            const char* data = static_cast<const char*>(msg);
            if (len == sizeof(CutMarker) && data[0] == '\0') {
                CutMarker m;
                std::memcpy(&m, data, sizeof m);
                ring.pop();
                if (std::memcmp(m.magic, kCutMagic, sizeof kCutMagic) == 0) {
                    port.at_cut = m.epoch;
                    break;
                }
                continue;
            }
            on_piece(port, data, len);
            ring.pop();
        }
        ring.release();
        return any;
    }

    bool begin_txn() {
        if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk)) {
            fail(std::string("begin_transaction: ") + rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return false;
        }
        txn_open = true;
        header = setup.transactional_id + ":" + std::to_string(nonce) + ":" + std::to_string(txn);
        return true;
    }

    // Runs one transactional call, retrying what librdkafka calls retriable.
    // On an error that needs an abort, aborts; false on any failure.
    template <class Call>
    bool txn_call(const char* what, Call&& call, std::string& why) {
        for (int attempt = 0; attempt < 10; ++attempt) {
            rd_kafka_error_t* e = call();
            if (e == nullptr) return true;
            why = std::string(what) + ": " + rd_kafka_error_string(e);
            const bool retriable = rd_kafka_error_is_retriable(e);
            const bool abort = rd_kafka_error_txn_requires_abort(e);
            const bool fatal = rd_kafka_error_is_fatal(e);
            rd_kafka_error_destroy(e);
            if (retriable && !fatal) {
                counters.transaction_retries.fetch_add(1, std::memory_order_relaxed);
                detail::log(1, "kafka sink '%s': %s (retrying)", setup.sink.c_str(), why.c_str());
                std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
                continue;
            }
            if (abort) {
                if (rd_kafka_error_t* a = rd_kafka_abort_transaction(rk, 30000)) rd_kafka_error_destroy(a);
                counters.transaction_aborts.fetch_add(1, std::memory_order_relaxed);
                txn_open = false;
            }
            return false;
        }
        return false;
    }

    // Completes epoch `e` (every port is at its cut): true once the request was answered.
    bool try_complete(uint64_t e) {
        KafkaTxnOffsets offsets;
        {
            std::lock_guard<std::mutex> lock(mu);
            Request* r = find(e);
            if (r == nullptr || r->state != 0) return false;
            offsets = std::move(r->offsets);
            r->offsets = KafkaTxnOffsets{};
        }
        bool ok = true;
        std::string why;
        if (setup.exactly_once) {
            rd_kafka_consumer_group_metadata_t* md =
                static_cast<rd_kafka_consumer_group_metadata_t*>(offsets.group_metadata);
            if (!offsets.offsets.empty() && md != nullptr) {
                rd_kafka_topic_partition_list_t* list =
                    rd_kafka_topic_partition_list_new(static_cast<int>(offsets.offsets.size()));
                for (const KafkaPartition& p : offsets.offsets)
                    rd_kafka_topic_partition_list_add(list, offsets.topics[p.topic].c_str(), p.partition)->offset =
                        p.offset;
                ok = txn_call("send_offsets_to_transaction",
                              [&] { return rd_kafka_send_offsets_to_transaction(rk, list, md, 30000); }, why);
                rd_kafka_topic_partition_list_destroy(list);
            }
            if (ok) ok = txn_call("commit_transaction", [&] { return rd_kafka_commit_transaction(rk, 60000); }, why);
            if (ok) {
                counters.transactions.fetch_add(1, std::memory_order_relaxed);
                detail::log(0, "kafka sink '%s': committed transaction %s (checkpoint %llu)", setup.sink.c_str(),
                            header.c_str(), static_cast<unsigned long long>(e));
                txn_open = false;
                ++txn;
                ok = begin_txn();
                if (!ok) why = "begin_transaction failed";
            }
        } else {
            // Every row produced before the cut is acknowledged, or the epoch fails.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (rd_kafka_outq_len(rk) > 0 && std::chrono::steady_clock::now() < deadline) rd_kafka_flush(rk, 100);
            if (rd_kafka_outq_len(rk) > 0) {
                ok = false;
                why = "rows not acknowledged within 60 s";
            }
            const uint64_t f = failures_seen.load(std::memory_order_relaxed);
            if (f != failures_checked) {
                ok = false;
                why = std::to_string(f - failures_checked) + " rows were not delivered";
                failures_checked = f;
            }
        }
        if (offsets.group_metadata) KafkaConsumer::free_group_metadata(offsets.group_metadata);
        if (!ok) fail("checkpoint " + std::to_string(e) + ": " + why);
        {
            std::lock_guard<std::mutex> lock(mu);
            if (Request* r = find(e)) {
                r->state = ok ? 1 : -1;
                r->why = why;
            }
        }
        cv.notify_all();
        return true;
    }

    void run() {
        uint32_t idle = 0;
        for (;;) {
            const bool stopping = stop.load(std::memory_order_acquire);
            bool any = false;
            for (auto& p : ports)
                if (p->at_cut == 0) any |= drain(*p);
            rd_kafka_poll(rk, 0);
            // Every port at the same cut: the epoch's rows are all produced.
            if (!ports.empty() && ports[0]->at_cut != 0) {
                bool all = true;
                for (auto& p : ports) all &= p->at_cut == ports[0]->at_cut;
                if (all && try_complete(ports[0]->at_cut)) {
                    for (auto& p : ports) p->at_cut = 0;
                    any = true;
                }
            } else if (ports.empty()) {
                uint64_t e = 0;
                {
                    std::lock_guard<std::mutex> lock(mu);
                    for (const Request& r : requests)
                        if (r.state == 0) {
                            e = r.epoch;
                            break;
                        }
                }
                if (e != 0) any |= try_complete(e);
            }
            if (stopping && !any) break;
            if (any) {
                idle = 0;
            } else if (++idle < 64) {
                short_sleep();
            } else {
                rd_kafka_poll(rk, 1);  // sleeps up to 1 ms, serving acknowledgements
            }
        }
    }
};

KafkaSink::KafkaSink() : impl_(std::make_unique<Impl>()) {}

KafkaSink::~KafkaSink() {
    if (impl_->thread.joinable()) stop(1000);
}

Result<std::unique_ptr<KafkaSink>> KafkaSink::create(const KafkaSinkSetup& setup) {
    std::unique_ptr<KafkaSink> s(new KafkaSink());
    Impl& im = *s->impl_;
    im.setup = setup;
    const std::string who = "kafka sink '" + setup.sink + "'";
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::string error;
    KafkaProperties ours = {
        {"bootstrap.servers", setup.brokers},
        {"linger.ms", std::to_string(setup.linger_ms)},
        {"partitioner", "murmur2_random"},
        {"enable.idempotence", "true"},
        {"statistics.interval.ms", "1000"},
        {"client.id", "sluice"},
        {"queue.buffering.max.messages", "1000000"},
    };
    if (setup.exactly_once) ours.emplace_back("transactional.id", setup.transactional_id);
    for (const auto& [k, v] : ours)
        if (!detail::set_property(conf, k, v, error)) break;
    for (const auto& [k, v] : setup.properties) {
        if (!error.empty()) break;
        detail::set_property(conf, k, v, error);
    }
    if (!error.empty()) {
        rd_kafka_conf_destroy(conf);
        return Error{who + ": " + error};
    }
    detail::install_callbacks(conf, &im.counters, who, &im);
    rd_kafka_conf_set_dr_msg_cb(conf, &Impl::on_delivery);
    char err[512];
    im.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (im.rk == nullptr) return Error{who + ": " + err};
    im.rkt = rd_kafka_topic_new(im.rk, setup.topic.c_str(), nullptr);
    // The topic must exist: nothing creates it here.
    const rd_kafka_metadata_t* md = nullptr;
    std::string why = "no answer from the brokers";
    bool found = false;
    for (int attempt = 0; attempt < 5 && !found; ++attempt) {
        const rd_kafka_resp_err_t e = rd_kafka_metadata(im.rk, 0, im.rkt, &md, 2000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            why = rd_kafka_err2str(e);
            continue;
        }
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0)
            found = true;
        else if (md->topic_cnt == 1)
            why = rd_kafka_err2str(md->topics[0].err);
        rd_kafka_metadata_destroy(md);
    }
    if (!found) return Error{who + ": topic '" + setup.topic + "': " + why};
    for (uint32_t i = 0; i < setup.ports.size(); ++i) {
        auto p = std::make_unique<Impl::Port>();
        p->impl = &im;
        p->index = i;
        p->ring = std::make_unique<SpscRing>(setup.ring_bytes);
        p->max_piece = setup.ring_bytes / 8;
        p->key_columns = setup.ports[i].key_columns;
        p->query = setup.ports[i].query;
        im.ports.push_back(std::move(p));
    }
    std::random_device rd;
    im.nonce = (static_cast<uint64_t>(rd()) << 32 | rd()) ^ static_cast<uint64_t>(::getpid());
    return s;
}

void* KafkaSink::port(uint32_t index) { return index < impl_->ports.size() ? impl_->ports[index].get() : nullptr; }

void KafkaSink::sink(void* ctx, const char* data, std::size_t n) {
    auto* port = static_cast<Impl::Port*>(ctx);
    Impl& im = *port->impl;
    SpscRing& ring = *port->ring;
    while (n > 0) {
        const std::size_t piece = n < port->max_piece ? n : port->max_piece;
        void* dst;
        while ((dst = ring.try_alloc(static_cast<uint32_t>(piece))) == nullptr) {
            if (im.failed.load(std::memory_order_relaxed) && im.stop.load(std::memory_order_relaxed)) return;
            ring.flush();
            short_sleep();
        }
        std::memcpy(dst, data, piece);
        ring.push();
        data += piece;
        n -= piece;
    }
    ring.flush();
}

void KafkaSink::cut(void* ctx, uint64_t epoch) {
    auto* port = static_cast<Impl::Port*>(ctx);
    Impl& im = *port->impl;
    SpscRing& ring = *port->ring;
    void* dst;
    while ((dst = ring.try_alloc(sizeof(CutMarker))) == nullptr) {
        if (im.failed.load(std::memory_order_relaxed) && im.stop.load(std::memory_order_relaxed)) return;
        ring.flush();
        short_sleep();
    }
    CutMarker m;
    std::memcpy(m.magic, kCutMagic, sizeof kCutMagic);
    m.epoch = epoch;
    std::memcpy(dst, &m, sizeof m);
    ring.push();
    ring.flush();
}

Result<bool> KafkaSink::start() {
    Impl& im = *impl_;
    if (im.setup.exactly_once) {
        if (rd_kafka_error_t* e = rd_kafka_init_transactions(im.rk, 60000)) {
            const std::string why = rd_kafka_error_string(e);
            rd_kafka_error_destroy(e);
            return Error{"kafka sink '" + im.setup.sink + "': init_transactions: " + why};
        }
        if (!im.begin_txn()) return Error{"kafka sink '" + im.setup.sink + "': " + error()};
    }
    im.thread = std::thread([&im] { im.run(); });
    return true;
}

void KafkaSink::request_epoch(uint64_t epoch, KafkaTxnOffsets offsets) {
    Impl& im = *impl_;
    std::lock_guard<std::mutex> lock(im.mu);
    Impl::Request r;
    r.epoch = epoch;
    r.offsets = std::move(offsets);
    if (im.failed.load()) {
        r.state = -1;
        r.why = im.error;
        if (r.offsets.group_metadata) KafkaConsumer::free_group_metadata(r.offsets.group_metadata);
        r.offsets.group_metadata = nullptr;
    }
    im.requests.push_back(std::move(r));
}

int KafkaSink::epoch_result(uint64_t epoch, std::string* why) {
    Impl& im = *impl_;
    std::lock_guard<std::mutex> lock(im.mu);
    Impl::Request* r = im.find(epoch);
    if (r == nullptr) return -1;
    const int state = r->state;
    if (state == 0) return 0;
    if (why) *why = r->why;
    // Answered: it and every earlier one go.
    while (!im.requests.empty() && im.requests.front().epoch <= epoch) im.requests.pop_front();
    return state;
}

Result<bool> KafkaSink::complete_epoch(uint64_t epoch, KafkaTxnOffsets offsets, int timeout_ms) {
    Impl& im = *impl_;
    request_epoch(epoch, std::move(offsets));
    {
        std::unique_lock<std::mutex> lock(im.mu);
        im.cv.notify_all();
        if (!im.cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
                const Impl::Request* r = im.find(epoch);
                return r == nullptr || r->state != 0;
            })) {
            lock.unlock();
            im.fail("checkpoint " + std::to_string(epoch) + ": the rows did not reach their cut within " +
                    std::to_string(timeout_ms) + " ms");
            return Error{"kafka sink '" + im.setup.sink + "': " + error()};
        }
    }
    std::string why;
    if (epoch_result(epoch, &why) != 1) return Error{"kafka sink '" + im.setup.sink + "': " + why};
    return true;
}

void KafkaSink::stop(int timeout_ms) {
    Impl& im = *impl_;
    if (im.thread.joinable()) {
        im.stop.store(true, std::memory_order_release);
        {
            // Requests nobody will complete any more.
            std::lock_guard<std::mutex> lock(im.mu);
            for (Impl::Request& r : im.requests) {
                if (r.state != 0) continue;
                r.state = -1;
                r.why = "stopped";
                if (r.offsets.group_metadata) KafkaConsumer::free_group_metadata(r.offsets.group_metadata);
                r.offsets.group_metadata = nullptr;
            }
        }
        im.cv.notify_all();
        im.thread.join();
    }
    // Rows after the ports' last cut: exactly-once leaves them out (the open
    // transaction is aborted; the last checkpoint covers everything committed).
    for (auto& p : im.ports) {
        while (p->at_cut != 0 || im.drain(*p)) p->at_cut = 0;
    }
    if (im.setup.exactly_once) {
        if (im.txn_open) {
            if (rd_kafka_error_t* e = rd_kafka_abort_transaction(im.rk, timeout_ms)) rd_kafka_error_destroy(e);
            im.txn_open = false;
        }
        return;
    }
    rd_kafka_flush(im.rk, timeout_ms);
}

bool KafkaSink::exactly_once() const { return impl_->setup.exactly_once; }
bool KafkaSink::failed() const { return impl_->failed.load(std::memory_order_relaxed); }
std::string KafkaSink::error() const {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->error;
}
uint64_t KafkaSink::rows() const { return impl_->rows.load(std::memory_order_relaxed); }
KafkaClientCounters& KafkaSink::counters() { return impl_->counters; }

}  // namespace sluice::io
