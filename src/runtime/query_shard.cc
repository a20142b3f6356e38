#include "query_shard.h"

#include <poll.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "sluice/base.h"

namespace sluice {

QueryShard::QueryShard(const ShardSetup& setup, RunShared& shared)
    : setup_(setup), shared_(shared), idler_(setup.idle) {}

QueryShard::~QueryShard() = default;

void QueryShard::fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    shared_.stop.store(true, std::memory_order_relaxed);
}

void QueryShard::run() {
    std::string err = pin_then_set_up(setup_.topology, setup_.cpu, [this] { setup_on_thread(); });
    if (!err.empty()) fail("shard " + std::to_string(setup_.id) + ": " + err);
    shared_.started->arrive_and_wait();
    if (!shared_.stop.load(std::memory_order_relaxed)) loop();
    if (pipeline_) {
        pipeline_->flush_output();
        if (error_.empty() && !pipeline_->error().empty()) error_ = pipeline_->error();
    }
    // Release: the writer sees every buffer flushed above once it reads the decrement.
    shared_.running.fetch_sub(1, std::memory_order_release);
}

void QueryShard::setup_on_thread() {
    if (setup_.has_source)
        reader_ = std::make_unique<LineReader>(setup_.input_fd, setup_.begin, setup_.end, setup_.chunk_bytes,
                                               setup_.max_record_bytes);
    PipelineSetup p;
    p.plan = setup_.plan;
    p.shard = setup_.id;
    p.shards = setup_.shards;
    p.sources = setup_.sources;
    p.has_source = setup_.has_source;
    p.source_id = setup_.source_id;
    p.mesh = shared_.mesh;
    p.sink = &OutputWriter::sink;
    p.sink_ctx = setup_.rows;
    if (setup_.dead_letters != nullptr) {
        p.dead_letter_sink = &OutputWriter::sink;
        p.dead_letter_ctx = setup_.dead_letters;
    }
    p.max_record_bytes = setup_.max_record_bytes;
    p.max_block_bytes = reader_ ? reader_->max_block_bytes() : 0;
    p.idle = setup_.idle;
    p.stop = &shared_.stop;
    pipeline_ = std::make_unique<QueryPipeline>(p);
    if (setup_.has_source) {
        struct stat st{};
        pollable_ = pipeline_->needs_watermarks() && setup_.end == UINT64_MAX && ::fstat(setup_.input_fd, &st) == 0 && !S_ISREG(st.st_mode);
        last_input_ms_ = wall_ms();
    }
}

void QueryShard::loop() {
    QueryPipeline& q = *pipeline_;
    for (;;) {
        if (shared_.stop.load(std::memory_order_relaxed) || shared_.writer->failed()) return;
        bool progressed = false;
        if (!q.source_done()) {
            if (pollable_) {
                progressed = poll_source();
            } else {
                read_chunk();
                progressed = true;
            }
        }
        progressed |= q.drain_inbound();
        q.end_batch();
        if (q.finished()) return;
        if (progressed)
            idler_.reset();
        else
            idler_.wait();
    }
}

// A source that can stall (a pipe) is read only when it has data; silent
// for watermark.idle_timeout, it is marked idle on every shard.
// True when it read.
bool QueryShard::poll_source() {
    pollfd p{setup_.input_fd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) {
        pipeline_->set_source_idle(false);
        last_input_ms_ = wall_ms();
        read_chunk();
        return true;
    }
    if (wall_ms() - last_input_ms_ >= setup_.plan->props.idle_timeout_ms) pipeline_->set_source_idle(true);
    return false;
}

void QueryShard::read_chunk() {
    QueryPipeline& q = *pipeline_;
    const int64_t arrival_ms = wall_ms();
    const bool more = reader_->next_blocks(
        [&q, arrival_ms](const char* p, std::size_t len) { q.on_block(p, len, arrival_ms, false); },
        [&q] { q.on_rejected_line(); });
    if (reader_->error() != 0) fail(std::string("cannot read input: ") + std::strerror(reader_->error()));
    q.end_chunk();
    if (!more || q.limit_hit()) q.end_source();
}

}  // namespace sluice
