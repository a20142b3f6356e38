// One io_uring per shard, created on (and only used by) the shard's thread.
// Sources and sinks share it: each tags its requests with net/user_data.h and
// the shard loop dispatches completions by kind:
//
//   ring.poll();                                   // submit + run deferred work, never blocks
//   ring.for_each_cqe([&](const io_uring_cqe& c) { switch (UserData::kind_of(c.user_data)) ... });
//   for each source: source.flush();               // recycle buffers, re-arm
//   if idle: ring.wait(timeout);                   // adaptive idle policy only
//
// With DEFER_TASKRUN, completions exist only after the owner enters the kernel:
// spinning on the CQ without poll() sees nothing.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "net/user_data.h"
#include "sluice/result.h"

namespace sluice::net {

struct Features {
    enum class Mode : uint8_t {
        defer_taskrun,  // SINGLE_ISSUER | DEFER_TASKRUN | SUBMIT_ALL | CQSIZE
        coop_taskrun,   // COOP_TASKRUN | TASKRUN_FLAG | SUBMIT_ALL | CQSIZE
        plain,          // CQSIZE only, or no flags at all
    };
    Mode mode = Mode::plain;
    unsigned setup_flags = 0;
    unsigned sq_entries = 0;
    unsigned cq_entries = 0;
    bool ext_arg = false;          // IORING_FEAT_EXT_ARG: wait() needs no timeout SQE
    bool registered_ring_fd = false;
    // Assumed until a request's first CQE says -EINVAL; sources then fall back
    // to single-shot requests and clear these so later sources start there.
    bool recv_multishot = true;
    bool accept_multishot = true;

    // "defer_taskrun sq=256 cq=2048 ..." for the start-up plan.
    [[nodiscard]] std::string describe() const;
};

struct UringOptions {
    unsigned sq_entries = 256;
    unsigned cq_factor = 8;  // multishot requests post many CQEs per SQE
    // Where the fallback chain starts (tests and debugging; the best by default).
    Features::Mode best_mode = Features::Mode::defer_taskrun;
};

class Uring {
public:
    // Creates the ring on the calling thread and probes the opcodes sluice uses.
    // Errors: "io_uring unavailable: <reason>", "io_uring lacks opcode <NAME>".
    static Result<std::unique_ptr<Uring>> create(const UringOptions& options = {});
    ~Uring();
    Uring(const Uring&) = delete;
    Uring& operator=(const Uring&) = delete;

    [[nodiscard]] const Features& features() const noexcept { return features_; }
    Features& features() noexcept { return features_; }
    [[nodiscard]] io_uring* raw() noexcept { return &ring_; }

    // A free SQE; submits first when the SQ is full. nullptr only if the
    // kernel refuses the submission (the caller counts and retries later).
    [[nodiscard]] io_uring_sqe* get_sqe() noexcept {
        if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) [[likely]] return sqe;
        return get_sqe_slow();
    }

    // Submits queued SQEs; returns the number submitted or -errno.
    int submit() noexcept;

    // Submits queued SQEs and, when the kernel holds completions for us
    // (deferred task work, overflow), has it post them. Never blocks.
    int poll() noexcept;

    // Submits and blocks until a CQE is ready or the timeout passes (adaptive
    // idle). Returns 0, -ETIME on timeout, -EINTR, or -errno.
    int wait(std::chrono::nanoseconds timeout) noexcept;

    // Calls f(const io_uring_cqe&) for every ready CQE, then advances the CQ
    // once. f may queue SQEs. Returns the number of CQEs seen.
    template <class F>
    unsigned for_each_cqe(F&& f) noexcept(noexcept(std::declval<F&>()(std::declval<const io_uring_cqe&>()))) {
        unsigned head;
        io_uring_cqe* cqe;
        unsigned n = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            f(static_cast<const io_uring_cqe&>(*cqe));
            ++n;
        }
        if (n) io_uring_cq_advance(&ring_, n);
        counts_.completed += n;
        return n;
    }

    // Cancels every request on fd (teardown): synchronously where the kernel
    // can (Linux >= 6.0), else queues an async cancel (its CQE kind is internal).
    void cancel_fd(int fd) noexcept;

    // What this ring did, for the metrics endpoint (plain counters: only the
    // owning shard touches the ring).
    struct Counts {
        uint64_t enters = 0;      // io_uring_enter calls made through submit/poll/wait
        uint64_t submitted = 0;   // SQEs the kernel took
        uint64_t completed = 0;   // CQEs seen
    };
    [[nodiscard]] const Counts& counts() const noexcept { return counts_; }

    // Buffer group ids for provided buffer rings, unique on this ring.
    [[nodiscard]] uint16_t next_buffer_group() noexcept { return next_bgid_++; }

private:
    Uring() = default;
    io_uring_sqe* get_sqe_slow() noexcept;
    int entered(int ret) noexcept {
        ++counts_.enters;
        if (ret > 0) counts_.submitted += static_cast<unsigned>(ret);
        return ret;
    }

    io_uring ring_{};
    Features features_;
    bool initialized_ = false;
    uint16_t next_bgid_ = 0;
    Counts counts_;
};

}  // namespace sluice::net
