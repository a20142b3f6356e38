#include "kafka_runtime.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <string_view>
#include <thread>

#include "log.h"
#include "sluice/exec.h"

namespace sluice {

namespace {

constexpr int kPauseTimeoutMs = 120000;
constexpr int kDeliveryTimeoutMs = 120000;
constexpr uint32_t kCommitIntervalMs = 5000;  // without [checkpoint]: offsets are committed this often

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double since_s(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void kafka_log(int level, const char* text) {
    if (level >= 2)
        SLUICE_LOG_ERROR("%s", text);
    else if (level == 1)
        SLUICE_LOG_WARN("%s", text);
    else
        SLUICE_LOG_INFO("%s", text);
}

// The output columns that key a query's rows: its GROUP BY keys, in order,
// when every one is selected as a bare key column (else no key).
std::vector<uint32_t> key_columns(const Plan& plan) {
    std::vector<uint32_t> cols;
    for (uint32_t k = 0; k < plan.group_keys.size(); ++k) {
        int64_t found = -1;
        for (uint32_t c = 0; c < plan.columns.size(); ++c) {
            const ExprNode& n = plan.exprs.nodes[plan.columns[c].expr];
            if (n.op == ExprOp::KeyRef && n.index == k) {
                found = c;
                break;
            }
        }
        if (found < 0) return {};
        cols.push_back(static_cast<uint32_t>(found));
    }
    return cols;
}

}  // namespace

// ---------------------------------------------------------------- coordinator

class KafkaRuntime::Coordinator final : public io::KafkaConsumer::Listener {
public:
    Coordinator(KafkaRuntime& rt, const AppConfig& cfg, const std::vector<Plan>& plans, uint32_t shards)
        : rt_(rt), cfg_(cfg), plans_(plans), shards_(shards) {}

    KafkaRuntime& rt_;
    const AppConfig& cfg_;
    const std::vector<Plan>& plans_;
    const uint32_t shards_;
    std::unique_ptr<io::KafkaConsumer> consumer_;
    std::vector<std::unique_ptr<io::KafkaSink>> sinks_;  // by config sink index (nullptr: not kafka)
    std::thread thread_;
    std::atomic<bool>* drain_ = nullptr;
    std::atomic<bool>* stop_ = nullptr;
    std::atomic<uint32_t>* running_ = nullptr;
    bool started_ = false;
    bool final_done_ = false;
    bool restored_once_ = false;  // the first assignment after start restores closing watermarks

    uint64_t epoch_ = 0;
    std::vector<int32_t> owner_;           // by slot: the shard reading it, -1: not assigned here
    std::vector<int64_t> assigned_offset_; // by slot: the committed offset it was assigned at (-1001: none)
    std::vector<uint32_t> per_shard_;      // slots owned per shard
    std::unique_ptr<Checkpoint> last_;     // the latest snapshot taken (written or not)
    // At-least-once cuts whose rows are still being acknowledged: their
    // offsets are committed once every kafka sink answered.
    struct Pending {
        uint64_t epoch = 0;
        std::vector<io::KafkaPartition> offsets;
        std::vector<int8_t> answered;  // per sink index
    };
    std::deque<Pending> pending_;
    uint64_t committed_epoch_ = 0;  // the newest cut whose offsets were committed (asked to be)

    mutable std::mutex mu_;
    std::string error_;

    // Metrics (read by the HTTP thread).
    std::atomic<uint64_t> checkpoints_{0}, checkpoint_failures_{0}, commits_{0}, cuts_{0};
    std::atomic<uint64_t> last_checkpoint_us_{0}, last_pause_us_{0}, last_bytes_{0}, last_items_{0};
    std::atomic<uint64_t> restored_items_{0}, assigned_{0}, rebalances_{0};

    void fail(const std::string& why) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (error_.empty()) error_ = why;
        }
        SLUICE_LOG_ERROR("%s", why.c_str());
        if (stop_) stop_->store(true, std::memory_order_relaxed);
    }
    bool stopping() const { return stop_ && stop_->load(std::memory_order_relaxed); }
    bool shards_running() const { return running_ && running_->load(std::memory_order_acquire) == shards_; }

    // ---------------------------------------------------------------- pauses

    // Asks every shard to pause at a cut (snapshot: with its state; cut: with
    // cut markers in the sink ports) and waits until all have. 0 on failure.
    uint64_t pause(bool snapshot, bool cut) {
        if (!shards_running()) return 0;
        const uint64_t e = ++epoch_;
        rt_.request_snapshot_.store(snapshot, std::memory_order_relaxed);
        rt_.request_cut_.store(cut, std::memory_order_relaxed);
        rt_.request_.store(e, std::memory_order_release);
        const auto start = std::chrono::steady_clock::now();
        for (uint32_t s = 0; s < shards_; ++s) {
            while (rt_.slots_[s]->paused.load(std::memory_order_acquire) < e) {
                if (stopping() || !shards_running()) return 0;
                if (since_s(start) * 1000 > kPauseTimeoutMs) {
                    fail("checkpoint " + std::to_string(e) + ": shard " + std::to_string(s) + " did not pause within " +
                         std::to_string(kPauseTimeoutMs) + " ms");
                    return 0;
                }
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
        }
        last_pause_us_.store(static_cast<uint64_t>(since_s(start) * 1e6), std::memory_order_relaxed);
        return e;
    }

    // Lets the shards go on (after applying what their slots say), and waits
    // until they did: the restores' checkpoints must outlive them.
    bool release(uint64_t e) {
        rt_.release_.store(e, std::memory_order_release);
        const auto start = std::chrono::steady_clock::now();
        bool ok = true;
        for (uint32_t s = 0; s < shards_; ++s) {
            KafkaShardSlot& slot = *rt_.slots_[s];
            while (slot.resumed.load(std::memory_order_acquire) < e) {
                if (stopping() || !shards_running()) return false;
                if (since_s(start) * 1000 > kPauseTimeoutMs) {
                    fail("shard " + std::to_string(s) + " did not resume within " + std::to_string(kPauseTimeoutMs) + " ms");
                    return false;
                }
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
            if (!slot.restore_error.empty()) {
                fail(slot.restore_error);
                ok = false;
            }
            restored_items_.fetch_add(slot.restored_items, std::memory_order_relaxed);
            slot.restored_items = 0;
            slot.open.clear();
            slot.close.clear();
            slot.reload = false;
            slot.restores.clear();
            slot.restore_error.clear();
        }
        return ok;
    }

    // The next offsets at the cut of every partition read here.
    std::vector<io::KafkaPartition> offsets_at_cut() const {
        std::vector<io::KafkaPartition> out;
        for (uint32_t s = 0; s < shards_; ++s) {
            for (const KafkaShardSlot::SlotState& st : rt_.slots_[s]->slots) {
                io::KafkaPartition p = consumer_->partition_of_slot(st.slot);
                p.offset = st.next_offset >= 0 ? st.next_offset : assigned_offset_[st.slot];
                if (p.offset < 0) continue;  // neither read nor committed: nothing to say
                out.push_back(p);
            }
        }
        return out;
    }

    // The shards' snapshots at epoch e as one checkpoint.
    std::unique_ptr<Checkpoint> gather(uint64_t e, const std::vector<io::KafkaPartition>& offsets) const {
        auto c = std::make_unique<Checkpoint>();
        c->epoch = e;
        c->created_ms = now_ms();
        c->member = cfg_.checkpoint.name;
        if (rt_.has_source()) {
            const SourceSpec& src = cfg_.sources[rt_.source_index()];
            c->group = src.group;
            c->topics = src.topics;
            c->topic_partitions = consumer_->partition_counts();
        }
        for (uint32_t q = 0; q < cfg_.queries.size(); ++q) {
            CheckpointQuery cq;
            cq.name = cfg_.queries[q].name;
            cq.fingerprint = query_fingerprint(cfg_.queries[q].sql);
            std::size_t bytes = 0;
            for (uint32_t s = 0; s < shards_; ++s) bytes += rt_.slots_[s]->items[q].size();
            cq.items.reserve(bytes);
            int64_t closed = kWatermarkMax;
            for (uint32_t s = 0; s < shards_; ++s) {
                const KafkaShardSlot& slot = *rt_.slots_[s];
                cq.items.insert(cq.items.end(), slot.items[q].begin(), slot.items[q].end());
                closed = std::min(closed, slot.closed_watermark[q]);
            }
            cq.closed_watermark = closed;
            c->queries.push_back(std::move(cq));
        }
        for (const io::KafkaPartition& p : offsets) {
            CheckpointPartition cp;
            cp.topic = p.topic;
            cp.partition = p.partition;
            cp.next_offset = p.offset;
            cp.lane_max_event.assign(cfg_.queries.size(), kWatermarkMin);
            for (uint32_t s = 0; s < shards_; ++s)
                for (const KafkaShardSlot::SlotState& st : rt_.slots_[s]->slots)
                    if (st.slot == p.slot) cp.lane_max_event = st.lane_max;
            c->partitions.push_back(std::move(cp));
        }
        return c;
    }

    bool transactional() const {
        for (const auto& s : sinks_)
            if (s && s->exactly_once()) return true;
        return false;
    }

    // At-least-once without waiting: the sinks are asked to acknowledge the
    // cut's rows; advance() commits the offsets once they have.
    void deliver_later(uint64_t e, const std::vector<io::KafkaPartition>& offsets) {
        Pending p;
        p.epoch = e;
        p.offsets = offsets;
        p.answered.assign(sinks_.size(), 0);
        for (uint32_t k = 0; k < sinks_.size(); ++k) {
            if (sinks_[k])
                sinks_[k]->request_epoch(e, {});
            else
                p.answered[k] = 1;
        }
        pending_.push_back(std::move(p));
        advance();
    }

    void advance() {
        while (!pending_.empty()) {
            Pending& p = pending_.front();
            bool all = true;
            for (uint32_t k = 0; k < sinks_.size(); ++k) {
                if (p.answered[k]) continue;
                std::string why;
                const int r = sinks_[k]->epoch_result(p.epoch, &why);
                if (r == 0) {
                    all = false;
                    continue;
                }
                if (r < 0) {
                    fail("checkpoint " + std::to_string(p.epoch) + ": kafka sink '" + cfg_.sinks[k].name + "': " + why);
                    pending_.clear();
                    return;
                }
                p.answered[k] = 1;
            }
            if (!all) return;
            // Commits wait while the group rebalances (and a later cut covers an earlier one).
            if (consumer_ && !consumer_->group_steady(1000)) return;
            if (consumer_ && !p.offsets.empty()) {
                auto c = consumer_->commit(p.offsets, true);
                if (!c) SLUICE_LOG_WARN("checkpoint %" PRIu64 ": %s", p.epoch, c.error().message.c_str());
            }
            commits_.fetch_add(1, std::memory_order_relaxed);
            committed_epoch_ = std::max(committed_epoch_, p.epoch);
            pending_.pop_front();
            if (cfg_.checkpoint.enabled) prune();
        }
    }

    // Makes the rows before cut e and the offsets durable together, waiting.
    // False (after fail()) when it could not.
    bool deliver(uint64_t e, const std::vector<io::KafkaPartition>& offsets) {
        for (auto& s : sinks_) {
            if (!s) continue;
            io::KafkaTxnOffsets t;
            if (s->exactly_once() && consumer_) {
                t.topics = consumer_->topics();
                t.offsets = offsets;
                t.group_metadata = consumer_->group_metadata();
            }
            auto done = s->complete_epoch(e, std::move(t), kDeliveryTimeoutMs);
            if (!done) {
                fail("checkpoint " + std::to_string(e) + ": " + done.error().message);
                return false;
            }
        }
        // Earlier cuts still waiting are covered by this one (their answers went with it).
        while (!pending_.empty() && pending_.front().epoch < e) pending_.pop_front();
        // Exactly-once: the transaction committed the offsets. They are
        // committed once more, plainly: a broker takes the same offsets twice,
        // and librdkafka 2.0's mock cluster keeps no transactional offsets
        // (without this, a restart against it would find none).
        if (consumer_ && !offsets.empty()) {
            auto committed = consumer_->commit(offsets);
            if (!committed) {
                // A commit can fail in a rebalance (the partitions went elsewhere): not fatal, the next one covers it.
                SLUICE_LOG_WARN("checkpoint %" PRIu64 ": %s", e, committed.error().message.c_str());
                return true;
            }
        }
        commits_.fetch_add(1, std::memory_order_relaxed);
        committed_epoch_ = std::max(committed_epoch_, e);
        return true;
    }

    // A cut: state snapshot (with [checkpoint]) written to a file, the rows
    // and offsets made durable. `then` fills the slots' changes before the
    // release. False when it failed (the appliance stops).
    template <class Then>
    bool cut(const char* why, bool keep_paused_until_delivered, Then&& then, bool wait = true) {
        const bool snapshot = cfg_.checkpoint.enabled;
        const auto start = std::chrono::steady_clock::now();
        const uint64_t e = pause(snapshot, true);
        if (e == 0) return false;
        cuts_.fetch_add(1, std::memory_order_relaxed);
        const std::vector<io::KafkaPartition> offsets = offsets_at_cut();
        if (snapshot) {
            last_ = gather(e, offsets);
            const std::vector<uint8_t> bytes = encode_checkpoint(*last_);
            std::size_t items = 0;
            for (const CheckpointQuery& q : last_->queries) items += q.items.size();
            auto written = write_checkpoint_file(cfg_.checkpoint.dir, cfg_.checkpoint.name, e, bytes);
            if (!written) {
                checkpoint_failures_.fetch_add(1, std::memory_order_relaxed);
                fail("checkpoint " + std::to_string(e) + ": " + written.error().message);
                return false;
            }
            checkpoints_.fetch_add(1, std::memory_order_relaxed);
            last_bytes_.store(bytes.size(), std::memory_order_relaxed);
            last_items_.store(items, std::memory_order_relaxed);
        }
        last_checkpoint_us_.store(static_cast<uint64_t>(since_s(start) * 1e6), std::memory_order_relaxed);
        then();
        if (!keep_paused_until_delivered && !release(e)) return false;
        // A periodic at-least-once cut does not wait for the acknowledgements
        // (the consumer keeps serving the group meanwhile); exactly-once and
        // the cuts of rebalances and the drain do.
        bool ok = true;
        if (wait || transactional())
            ok = deliver(e, offsets);
        else
            deliver_later(e, offsets);
        if (keep_paused_until_delivered && !release(e)) return false;
        if (ok && snapshot) prune();
        const double took_ms = since_s(start) * 1000;
        // Periodic checkpoints are logged now and then (and when slow), the others always.
        const bool periodic = std::string_view(why) == "periodic";
        if (ok && snapshot && (!periodic || checkpoints_.load() % 100 == 1 || took_ms > cfg_.checkpoint.interval_ms / 2.0))
            SLUICE_LOG_INFO("checkpoint %" PRIu64 " (%s): %zu partitions, %" PRIu64 " bytes, %.1f ms (pause %.1f ms)", e,
                            why, offsets.size(), last_bytes_.load(), took_ms, last_pause_us_.load() / 1000.0);
        else if (ok && !snapshot && !periodic)
            SLUICE_LOG_INFO("offsets of %zu partitions committed (%s, %.1f ms)", offsets.size(), why,
                            since_s(start) * 1000);
        return ok;
    }

    // Own checkpoint files older than the last committed one go, but for the
    // newest `keep` - 1 of them; newer ones (not committed yet) stay.
    void prune() {
        std::vector<CheckpointFile> old;
        for (CheckpointFile& f : list_checkpoints(cfg_.checkpoint.dir))
            if (f.member == cfg_.checkpoint.name && f.epoch < committed_epoch_) old.push_back(std::move(f));
        const std::size_t keep = cfg_.checkpoint.keep - 1;
        for (std::size_t i = 0; i + keep < old.size(); ++i) ::unlink(old[i].path.c_str());
    }

    // ---------------------------------------------------------------- rebalances

    uint32_t shard_of(uint32_t slot) const { return slot % shards_; }

    void on_assigned(std::vector<io::KafkaPartition>& parts) override {
        if (parts.empty()) return;
        const auto restore_start = std::chrono::steady_clock::now();  // files read, state merged
        rebalances_.fetch_add(1, std::memory_order_relaxed);
        // Where each partition's state is: the checkpoint whose offset for it
        // is the group's committed offset.
        std::vector<int64_t> committed(parts.size(), -1001);
        if (auto c = consumer_->committed(parts, 30000)) {
            committed = c.value();
        } else {
            SLUICE_LOG_WARN("%s", c.error().message.c_str());
        }
        std::vector<std::unique_ptr<Checkpoint>> sources;     // checkpoints restored from
        std::vector<std::vector<int32_t>> source_parts;      // their partitions
        std::vector<const CheckpointPartition*> found(parts.size(), nullptr);
        if (cfg_.checkpoint.enabled) {
            std::vector<CheckpointFile> files = list_checkpoints(cfg_.checkpoint.dir);
            std::sort(files.begin(), files.end(), [](const CheckpointFile& a, const CheckpointFile& b) { return a.epoch > b.epoch; });
            for (const CheckpointFile& f : files) {
                bool useful = false;
                for (std::size_t i = 0; i < parts.size() && !useful; ++i) useful = !found[i] && committed[i] >= 0;
                if (!useful) break;
                auto read = read_checkpoint_file(f.path);
                if (!read) {
                    SLUICE_LOG_WARN("%s (skipped)", read.error().message.c_str());
                    continue;
                }
                auto cp = std::make_unique<Checkpoint>(std::move(read.value()));
                std::vector<int32_t> mine;
                for (std::size_t i = 0; i < parts.size(); ++i) {
                    if (found[i] || committed[i] < 0) continue;
                    const std::string& topic = consumer_->topics()[parts[i].topic];
                    for (const CheckpointPartition& cpp : cp->partitions) {
                        if (cpp.partition != parts[i].partition || cp->topics[cpp.topic] != topic) continue;
                        if (cpp.next_offset != committed[i]) continue;
                        found[i] = &cpp;
                        mine.push_back(parts[i].partition);
                    }
                }
                if (mine.empty()) continue;
                if (!check_queries(*cp, f.path)) return;
                sources.push_back(std::move(cp));
                source_parts.push_back(std::move(mine));
            }
        }
        const uint64_t items_before = restored_items_.load(std::memory_order_relaxed);
        const uint64_t e = pause(false, false);
        if (e == 0) return;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const uint32_t slot = parts[i].slot;
            const uint32_t shard = shard_of(slot);
            KafkaShardSlot::Open o;
            o.slot = slot;
            o.lane_max.assign(cfg_.queries.size(), kWatermarkMin);
            if (found[i] != nullptr) o.lane_max = remap_lanes(*found[i], sources, i);
            rt_.slots_[shard]->open.push_back(std::move(o));
            owner_[slot] = static_cast<int32_t>(shard);
            assigned_offset_[slot] = committed[i];
            ++per_shard_[shard];
            parts[i].offset = committed[i] >= 0 ? committed[i] : -1001;
            auto attached = consumer_->attach(parts[i], shard);
            if (!attached) fail(attached.error().message);
        }
        for (std::size_t k = 0; k < sources.size(); ++k) {
            KafkaShardSlot::Restore r;
            r.checkpoint = sources[k].get();
            r.partitions = source_parts[k];
            r.keyless = sources[k]->member == cfg_.checkpoint.name;
            r.closed_watermark = r.keyless && !restored_once_;
            for (uint32_t s = 0; s < shards_; ++s) rt_.slots_[s]->restores.push_back(r);
        }
        release(e);
        restored_once_ = true;
        std::size_t restored = 0;
        for (const auto& p : found) restored += p != nullptr;
        assigned_.fetch_add(parts.size(), std::memory_order_relaxed);
        std::string list;
        for (const io::KafkaPartition& p : parts)
            list += (list.empty() ? "" : ", ") + consumer_->topics()[p.topic] + "[" + std::to_string(p.partition) + "]@" +
                    (p.offset >= 0 ? std::to_string(p.offset) : std::string("start"));
        SLUICE_LOG_INFO("kafka source '%s': assigned %s; state of %zu restored from %zu checkpoint(s) (%" PRIu64
                        " items, %.1f ms)",
                        cfg_.sources[rt_.source_index()].name.c_str(), list.c_str(), restored, sources.size(),
                        restored_items_.load(std::memory_order_relaxed) - items_before,
                        since_s(restore_start) * 1000);
    }

    // A checkpoint's partition entry carries lane maxima in its own query order.
    std::vector<int64_t> remap_lanes(const CheckpointPartition& cpp, const std::vector<std::unique_ptr<Checkpoint>>& sources,
                                     std::size_t) const {
        std::vector<int64_t> out(cfg_.queries.size(), kWatermarkMin);
        const Checkpoint* owner = nullptr;
        for (const auto& s : sources)
            for (const CheckpointPartition& p : s->partitions)
                if (&p == &cpp) owner = s.get();
        if (owner == nullptr) return out;
        for (uint32_t q = 0; q < cfg_.queries.size(); ++q)
            for (uint32_t k = 0; k < owner->queries.size(); ++k)
                if (owner->queries[k].name == cfg_.queries[q].name && k < cpp.lane_max_event.size())
                    out[q] = cpp.lane_max_event[k];
        return out;
    }

    // A checkpoint's queries must be the configured ones (by SQL text) to be restored.
    bool check_queries(const Checkpoint& cp, const std::string& path) {
        for (const CheckpointQuery& cq : cp.queries) {
            for (const QuerySpec& q : cfg_.queries) {
                if (q.name != cq.name) continue;
                if (query_fingerprint(q.sql) != cq.fingerprint) {
                    fail("checkpoint " + path + " holds query '" + q.name +
                         "' with another SQL text: its state cannot be restored (restore the query, or remove the checkpoints)");
                    return false;
                }
            }
        }
        return true;
    }

    void on_revoked(const std::vector<io::KafkaPartition>& parts, bool lost) override {
        if (parts.empty()) return;
        if (!shards_running() || final_done_) {
            // Leaving after the final checkpoint (or the shards are gone): nothing more to save.
            for (const io::KafkaPartition& p : parts) consumer_->detach(p);
            return;
        }
        rebalances_.fetch_add(1, std::memory_order_relaxed);
        std::vector<uint32_t> closing;
        for (const io::KafkaPartition& p : parts) closing.push_back(p.slot);
        const auto changes = [&](const Checkpoint* reload_from) {
            for (const uint32_t slot : closing) {
                if (owner_[slot] < 0) continue;
                rt_.slots_[static_cast<uint32_t>(owner_[slot])]->close.push_back(slot);
                --per_shard_[static_cast<uint32_t>(owner_[slot])];
                owner_[slot] = -1;
            }
            if (reload_from == nullptr) return;
            // Every shard drops its state and takes back the partitions that stay.
            KafkaShardSlot::Restore r;
            r.checkpoint = reload_from;
            for (uint32_t slot = 0; slot < owner_.size(); ++slot)
                if (owner_[slot] >= 0) r.partitions.push_back(consumer_->partition_of_slot(slot).partition);
            r.keyless = true;
            for (uint32_t s = 0; s < shards_; ++s) {
                rt_.slots_[s]->reload = true;
                rt_.slots_[s]->restores.push_back(r);
            }
        };
        for (const io::KafkaPartition& p : parts) consumer_->detach(p);
        if (lost) {
            // Gone already (the group moved on): nothing to commit; the state of
            // the partitions that stay is taken from a fresh snapshot.
            SLUICE_LOG_WARN("kafka source '%s': %zu partition(s) lost", cfg_.sources[rt_.source_index()].name.c_str(),
                            parts.size());
            const uint64_t e = pause(cfg_.checkpoint.enabled, false);
            if (e == 0) return;
            std::unique_ptr<Checkpoint> now;
            if (cfg_.checkpoint.enabled) now = gather(e, offsets_at_cut());
            changes(now.get());
            release(e);
            return;
        }
        const bool ok = cut("revocation", true, [&] { changes(cfg_.checkpoint.enabled ? last_.get() : nullptr); });
        std::string list;
        for (const io::KafkaPartition& p : parts)
            list += (list.empty() ? "" : ", ") + consumer_->topics()[p.topic] + "[" + std::to_string(p.partition) + "]";
        SLUICE_LOG_INFO("kafka source '%s': revoked %s%s", cfg_.sources[rt_.source_index()].name.c_str(), list.c_str(),
                        ok ? " (checkpointed and committed)" : "");
    }

    // ---------------------------------------------------------------- the thread

    uint32_t owned() const {
        uint32_t n = 0;
        for (const uint32_t c : per_shard_) n += c;
        return n;
    }

    void run() {
        if (consumer_) {
            auto sub = consumer_->subscribe();
            if (!sub) {
                fail(sub.error().message);
                rt_.drain_ok_.store(true, std::memory_order_release);
                return;
            }
        }
        const uint32_t interval = cfg_.checkpoint.enabled ? cfg_.checkpoint.interval_ms : kCommitIntervalMs;
        auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval);
        for (;;) {
            if (stopping()) break;
            if (running_->load(std::memory_order_acquire) == 0) break;
            for (auto& s : sinks_) {
                if (s && s->failed()) fail("kafka sink: " + s->error());
            }
            if (!final_done_ && drain_->load(std::memory_order_relaxed)) {
                // The last cut covers everything read; then the shards drain.
                if (consumer_ && owned() > 0) cut("drain", false, [] {});
                final_done_ = true;
                rt_.drain_ok_.store(true, std::memory_order_release);
                continue;
            }
            if (final_done_ || !consumer_) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                continue;
            }
            consumer_->poll(20, *this);
            advance();
            // Periodic cuts wait while the group rebalances: their commits
            // would carry a generation the group is leaving.
            if (std::chrono::steady_clock::now() >= next && consumer_->group_steady(1000)) {
                if (owned() > 0) cut("periodic", false, [] {}, false);
                next = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval);
            }
        }
        rt_.drain_ok_.store(true, std::memory_order_release);
    }
};

// ---------------------------------------------------------------- runtime

KafkaRuntime::KafkaRuntime() = default;

KafkaRuntime::~KafkaRuntime() {
    if (co_ && co_->thread_.joinable()) co_->thread_.join();
}

Result<std::unique_ptr<KafkaRuntime>> KafkaRuntime::create(const AppConfig& cfg, const std::vector<Plan>& plans,
                                                           uint32_t shards) {
    io::set_kafka_log(&kafka_log);
    std::unique_ptr<KafkaRuntime> rt(new KafkaRuntime());
    rt->co_ = std::make_unique<Coordinator>(*rt, cfg, plans, shards);
    for (const QuerySpec& q : cfg.queries) rt->query_names_.push_back(q.name);
    Coordinator& co = *rt->co_;
    for (uint32_t s = 0; s < shards; ++s) {
        auto slot = std::make_unique<KafkaShardSlot>();
        slot->items.resize(cfg.queries.size());
        slot->closed_watermark.assign(cfg.queries.size(), kWatermarkMin);
        rt->slots_.push_back(std::move(slot));
    }
    for (uint32_t i = 0; i < cfg.sources.size(); ++i) {
        const SourceSpec& src = cfg.sources[i];
        if (src.type != SourceType::Kafka) continue;
        rt->source_ = static_cast<int32_t>(i);
        io::KafkaConsumerSetup cs;
        cs.source = src.name;
        cs.brokers = src.brokers;
        cs.group = src.group;
        cs.topics = src.topics;
        cs.properties = src.properties;
        cs.shards = shards;
        auto consumer = io::KafkaConsumer::create(cs);
        if (!consumer) return consumer.error();
        co.consumer_ = std::move(consumer.value());
        co.owner_.assign(co.consumer_->slots(), -1);
        co.assigned_offset_.assign(co.consumer_->slots(), -1001);
        co.per_shard_.assign(shards, 0);
        const auto& counts = co.consumer_->partition_counts();
        for (std::size_t t = 1; t < counts.size(); ++t)
            if (counts[t] != counts[0])
                SLUICE_LOG_WARN("kafka source '%s': topics %s and %s have %d and %d partitions: state follows the "
                                "partition numbers, so keyed state is only exact for co-partitioned topics",
                                src.name.c_str(), src.topics[0].c_str(), src.topics[t].c_str(), counts[0], counts[t]);
    }
    // Ports: one per (shard, query) whose rows (dead letters) go to a kafka sink.
    rt->row_ports_.assign(shards, std::vector<void*>(cfg.queries.size(), nullptr));
    rt->dead_letter_ports_.assign(shards, std::vector<void*>(cfg.queries.size(), nullptr));
    rt->shard_ports_.assign(shards, {});
    co.sinks_.resize(cfg.sinks.size());
    for (uint32_t k = 0; k < cfg.sinks.size(); ++k) {
        const SinkSpec& spec = cfg.sinks[k];
        if (spec.type != SinkType::Kafka) continue;
        io::KafkaSinkSetup ss;
        ss.sink = spec.name;
        ss.brokers = spec.brokers;
        ss.topic = spec.topic;
        ss.linger_ms = spec.linger_ms;
        ss.exactly_once = spec.exactly_once;
        ss.transactional_id = spec.transactional_id;
        ss.properties = spec.properties;
        struct Use {
            uint32_t shard, query;
            bool dead;
        };
        std::vector<Use> uses;
        for (uint32_t s = 0; s < shards; ++s) {
            for (uint32_t q = 0; q < cfg.queries.size(); ++q) {
                if (cfg.queries[q].sink_index == k) {
                    uses.push_back({s, q, false});
                    ss.ports.push_back({cfg.queries[q].name, key_columns(plans[q])});
                    if (s == 0 && ss.ports.back().key_columns.empty() && !plans[q].group_keys.empty())
                        SLUICE_LOG_WARN("query '%s': not every GROUP BY key is selected: its rows go to kafka sink '%s' "
                                        "without a key", cfg.queries[q].name.c_str(), spec.name.c_str());
                }
                if (cfg.queries[q].dead_letter_index == static_cast<int32_t>(k)) {
                    uses.push_back({s, q, true});
                    ss.ports.push_back({cfg.queries[q].name, {}});
                }
            }
        }
        auto sink = io::KafkaSink::create(ss);
        if (!sink) return sink.error();
        for (uint32_t u = 0; u < uses.size(); ++u) {
            void* port = sink.value()->port(u);
            (uses[u].dead ? rt->dead_letter_ports_ : rt->row_ports_)[uses[u].shard][uses[u].query] = port;
            rt->shard_ports_[uses[u].shard].push_back(port);
        }
        co.sinks_[k] = std::move(sink.value());
    }
    // Checkpoint epochs go on from this appliance's newest file.
    if (cfg.checkpoint.enabled)
        for (const CheckpointFile& f : list_checkpoints(cfg.checkpoint.dir))
            if (f.member == cfg.checkpoint.name) co.epoch_ = std::max(co.epoch_, f.epoch);
    return rt;
}

io::KafkaShardQueue* KafkaRuntime::shard_queue(uint32_t shard) const {
    return co_->consumer_ ? co_->consumer_->shard_queue(shard) : nullptr;
}
uint32_t KafkaRuntime::slots() const { return co_->consumer_ ? co_->consumer_->slots() : 0; }
void* KafkaRuntime::row_port(uint32_t shard, uint32_t query) const { return row_ports_[shard][query]; }
void* KafkaRuntime::dead_letter_port(uint32_t shard, uint32_t query) const { return dead_letter_ports_[shard][query]; }
const std::vector<void*>& KafkaRuntime::ports_of(uint32_t shard) const { return shard_ports_[shard]; }

Result<bool> KafkaRuntime::start(std::atomic<bool>* drain, std::atomic<bool>* stop, std::atomic<uint32_t>* running) {
    Coordinator& co = *co_;
    co.drain_ = drain;
    co.stop_ = stop;
    co.running_ = running;
    for (auto& s : co.sinks_) {
        if (!s) continue;
        auto started = s->start();
        if (!started) return started;
    }
    co.started_ = true;
    co.thread_ = std::thread([&co] { co.run(); });
    return true;
}

void KafkaRuntime::finish() {
    Coordinator& co = *co_;
    if (co.thread_.joinable()) co.thread_.join();
    if (co.consumer_) co.consumer_->close(co);
    for (auto& s : co.sinks_)
        if (s) s->stop(10000);
}

std::string KafkaRuntime::error() const {
    std::lock_guard<std::mutex> lock(co_->mu_);
    return co_->error_;
}

std::string KafkaRuntime::metrics_text() const {
    const Coordinator& co = *co_;
    std::string out;
    char line[512];
    const auto family = [&](const char* name, const char* type, const char* help) {
        std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
        out += line;
    };
    const auto sample = [&](const char* name, const std::string& labels, uint64_t v) {
        std::snprintf(line, sizeof line, "%s%s %" PRIu64 "\n", name, labels.c_str(), v);
        out += line;
    };
    const auto sample_d = [&](const char* name, const std::string& labels, double v) {
        std::snprintf(line, sizeof line, "%s%s %.9g\n", name, labels.c_str(), v);
        out += line;
    };
    // Clients: the source's consumer and every kafka sink's producer.
    struct Client {
        std::string label;
        io::KafkaClientCounters* c;
    };
    std::vector<Client> clients;
    if (co.consumer_) clients.push_back({"{client=\"source\",name=\"" + co.cfg_.sources[source_index()].name + "\"}",
                                         &co.consumer_->counters()});
    for (uint32_t k = 0; k < co.sinks_.size(); ++k)
        if (co.sinks_[k]) clients.push_back({"{client=\"sink\",name=\"" + co.cfg_.sinks[k].name + "\"}", &co.sinks_[k]->counters()});
    const auto each = [&](const char* name, const char* type, const char* help, auto get) {
        family(name, type, help);
        for (const Client& c : clients) sample(name, c.label, get(*c.c));
    };
    each("sluice_kafka_errors_total", "counter", "Errors librdkafka reported (transport, brokers down, ...).",
         [](io::KafkaClientCounters& c) { return c.errors.load(); });
    each("sluice_kafka_request_retries_total", "counter", "Requests to brokers that were retried.",
         [](io::KafkaClientCounters& c) { return c.request_retries.load(); });
    each("sluice_kafka_request_timeouts_total", "counter", "Requests to brokers that timed out.",
         [](io::KafkaClientCounters& c) { return c.request_timeouts.load(); });
    each("sluice_kafka_transport_errors_total", "counter", "Send and receive errors on broker connections.",
         [](io::KafkaClientCounters& c) { return c.transport_errors.load(); });
    each("sluice_kafka_brokers_up", "gauge", "Brokers the client is connected to.",
         [](io::KafkaClientCounters& c) { return c.brokers_up.load(); });
    if (co.consumer_) {
        const std::string l = "{source=\"" + co.cfg_.sources[source_index()].name + "\"}";
        family("sluice_kafka_rebalances_total", "counter", "Rebalance events served (assignments and revocations).");
        sample("sluice_kafka_rebalances_total", l, co.rebalances_.load());
        family("sluice_kafka_commits_total", "counter", "Offset commits (or transactions with offsets) that succeeded.");
        sample("sluice_kafka_commits_total", l, co.commits_.load());
        family("sluice_kafka_commit_failures_total", "counter", "Offset commits that failed.");
        sample("sluice_kafka_commit_failures_total", l, co.consumer_->counters().commit_failures.load());
        uint32_t owned = 0;
        for (uint32_t c : co.per_shard_) owned += c;
        family("sluice_kafka_assigned_partitions", "gauge", "Partitions this appliance reads.");
        sample("sluice_kafka_assigned_partitions", l, owned);
    }
    for (uint32_t k = 0; k < co.sinks_.size(); ++k) {
        if (!co.sinks_[k]) continue;
        const std::string l = "{sink=\"" + co.cfg_.sinks[k].name + "\"}";
        io::KafkaClientCounters& c = co.sinks_[k]->counters();
        family("sluice_kafka_sink_rows_total", "counter", "Rows produced.");
        sample("sluice_kafka_sink_rows_total", l, co.sinks_[k]->rows());
        family("sluice_kafka_sink_delivered_total", "counter", "Rows the brokers acknowledged.");
        sample("sluice_kafka_sink_delivered_total", l, c.delivered.load());
        family("sluice_kafka_sink_delivery_failures_total", "counter", "Rows that could not be delivered.");
        sample("sluice_kafka_sink_delivery_failures_total", l, c.delivery_failures.load());
        family("sluice_kafka_sink_transactions_total", "counter", "Transactions committed (exactly-once).");
        sample("sluice_kafka_sink_transactions_total", l, c.transactions.load());
        family("sluice_kafka_sink_transaction_retries_total", "counter", "Transactional calls retried.");
        sample("sluice_kafka_sink_transaction_retries_total", l, c.transaction_retries.load());
        family("sluice_kafka_sink_transaction_aborts_total", "counter", "Transactions aborted.");
        sample("sluice_kafka_sink_transaction_aborts_total", l, c.transaction_aborts.load());
    }
    family("sluice_checkpoints_total", "counter", "Checkpoints written.");
    sample("sluice_checkpoints_total", "", co.checkpoints_.load());
    family("sluice_checkpoint_failures_total", "counter", "Checkpoints that could not be written.");
    sample("sluice_checkpoint_failures_total", "", co.checkpoint_failures_.load());
    family("sluice_checkpoint_cuts_total", "counter", "Cuts taken (checkpoints and offset commits).");
    sample("sluice_checkpoint_cuts_total", "", co.cuts_.load());
    family("sluice_checkpoint_last_seconds", "gauge", "Time of the last cut: pause, snapshot and file.");
    sample_d("sluice_checkpoint_last_seconds", "", co.last_checkpoint_us_.load() / 1e6);
    family("sluice_checkpoint_last_pause_seconds", "gauge", "How long the shards took to pause at the last cut.");
    sample_d("sluice_checkpoint_last_pause_seconds", "", co.last_pause_us_.load() / 1e6);
    family("sluice_checkpoint_last_bytes", "gauge", "Size of the last checkpoint file.");
    sample("sluice_checkpoint_last_bytes", "", co.last_bytes_.load());
    family("sluice_checkpoint_restored_items_total", "counter", "State items restored from checkpoints.");
    sample("sluice_checkpoint_restored_items_total", "", co.restored_items_.load());
    return out;
}

std::string KafkaRuntime::stats_json() const {
    const Coordinator& co = *co_;
    std::string j = "{\"checkpoints\":" + std::to_string(co.checkpoints_.load()) +
                    ",\"cuts\":" + std::to_string(co.cuts_.load()) + ",\"commits\":" + std::to_string(co.commits_.load()) +
                    ",\"rebalances\":" + std::to_string(co.rebalances_.load()) +
                    ",\"last_checkpoint_bytes\":" + std::to_string(co.last_bytes_.load()) +
                    ",\"last_checkpoint_us\":" + std::to_string(co.last_checkpoint_us_.load());
    if (co.consumer_) {
        const io::KafkaClientCounters& c = co.consumer_->counters();
        j += ",\"source\":{\"errors\":" + std::to_string(c.errors.load()) + ",\"request_retries\":" +
             std::to_string(c.request_retries.load()) + ",\"commit_failures\":" + std::to_string(c.commit_failures.load()) + "}";
    }
    j += ",\"sinks\":[";
    bool first = true;
    for (uint32_t k = 0; k < co.sinks_.size(); ++k) {
        if (!co.sinks_[k]) continue;
        const io::KafkaClientCounters& c = co.sinks_[k]->counters();
        j += std::string(first ? "" : ",") + "{\"name\":\"" + co.cfg_.sinks[k].name + "\",\"rows\":" +
             std::to_string(co.sinks_[k]->rows()) + ",\"delivered\":" + std::to_string(c.delivered.load()) +
             ",\"delivery_failures\":" + std::to_string(c.delivery_failures.load()) + ",\"transactions\":" +
             std::to_string(c.transactions.load()) + ",\"errors\":" + std::to_string(c.errors.load()) +
             ",\"request_retries\":" + std::to_string(c.request_retries.load()) + "}";
        first = false;
    }
    return j + "]}";
}

}  // namespace sluice
