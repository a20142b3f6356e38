#include "net/uring.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace sluice::net {
namespace {

struct Tier {
    Features::Mode mode;
    unsigned flags;
};

// Best first; the kernel answers -EINVAL for a flag it does not know.
constexpr Tier kTiers[] = {
    {Features::Mode::defer_taskrun,
     IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE},
    {Features::Mode::coop_taskrun,
     IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE},
    {Features::Mode::plain, IORING_SETUP_CQSIZE},
    {Features::Mode::plain, 0},
};

struct Op {
    int code;
    const char* name;
};

// Ingest needs the receive side, egress (net/sink_*) the send side.
constexpr Op kRequiredOps[] = {
    {IORING_OP_RECVMSG, "IORING_OP_RECVMSG"}, {IORING_OP_RECV, "IORING_OP_RECV"},
    {IORING_OP_ACCEPT, "IORING_OP_ACCEPT"},   {IORING_OP_SEND, "IORING_OP_SEND"},
    {IORING_OP_SENDMSG, "IORING_OP_SENDMSG"}, {IORING_OP_CONNECT, "IORING_OP_CONNECT"},
    {IORING_OP_CLOSE, "IORING_OP_CLOSE"},     {IORING_OP_WRITE, "IORING_OP_WRITE"},
};

std::string setup_error(int err) {
    std::string msg = "io_uring unavailable: ";
    msg += std::strerror(err);
    switch (err) {
    case ENOSYS: msg += " (kernel built without io_uring)"; break;
    case EPERM: msg += " (disabled by sysctl kernel.io_uring_disabled or a seccomp profile)"; break;
    case ENOMEM: msg += " (ring memory: raise RLIMIT_MEMLOCK or use a newer kernel)"; break;
    default: break;
    }
    return msg;
}

const char* mode_name(Features::Mode m) {
    switch (m) {
    case Features::Mode::defer_taskrun: return "defer_taskrun";
    case Features::Mode::coop_taskrun: return "coop_taskrun";
    case Features::Mode::plain: return "plain";
    }
    return "?";
}

}  // namespace

std::string Features::describe() const {
    std::string s = mode_name(mode);
    s += " sq=" + std::to_string(sq_entries) + " cq=" + std::to_string(cq_entries);
    s += recv_multishot ? " multishot-recv" : " single-shot-recv";
    s += accept_multishot ? " multishot-accept" : " single-shot-accept";
    if (!ext_arg) s += " no-ext-arg";
    return s;
}

Result<std::unique_ptr<Uring>> Uring::create(const UringOptions& options) {
    if (options.sq_entries == 0 || options.cq_factor == 0) {
        return Error{"io_uring: sq_entries and cq_factor must be positive"};
    }
    std::unique_ptr<Uring> u(new Uring());
    int ret = -EINVAL;
    io_uring_params params{};
    const Tier* tier = nullptr;
    for (const Tier& t : kTiers) {
        if (t.mode < options.best_mode) continue;
        params = io_uring_params{};
        params.flags = t.flags;
        if (t.flags & IORING_SETUP_CQSIZE) params.cq_entries = options.sq_entries * options.cq_factor;
        ret = io_uring_queue_init_params(options.sq_entries, &u->ring_, &params);
        if (ret == 0) {
            tier = &t;
            break;
        }
        if (ret != -EINVAL) break;  // not a missing flag: no tier will do better
    }
    if (ret < 0) return Error{setup_error(-ret)};
    u->initialized_ = true;

    Features& f = u->features_;
    f.mode = tier->mode;
    f.setup_flags = tier->flags;
    f.sq_entries = params.sq_entries;
    f.cq_entries = params.cq_entries;
    f.ext_arg = (params.features & IORING_FEAT_EXT_ARG) != 0;

    io_uring_probe* probe = io_uring_get_probe_ring(&u->ring_);
    if (!probe) return Error{"io_uring unavailable: the kernel cannot list its opcodes (Linux >= 5.6 needed)"};
    for (const Op& op : kRequiredOps) {
        if (!io_uring_opcode_supported(probe, op.code)) {
            io_uring_free_probe(probe);
            return Error{std::string("io_uring lacks opcode ") + op.name};
        }
    }
    io_uring_free_probe(probe);

    // Saves the fd lookup on every io_uring_enter; optional.
    f.registered_ring_fd = io_uring_register_ring_fd(&u->ring_) == 1;
    return u;
}

Uring::~Uring() {
    if (initialized_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* Uring::get_sqe_slow() noexcept {
    submit();
    return io_uring_get_sqe(&ring_);
}

int Uring::submit() noexcept {
    if (!io_uring_sq_ready(&ring_)) return 0;
    return entered(io_uring_submit(&ring_));
}

int Uring::poll() noexcept {
    if (features_.mode == Features::Mode::defer_taskrun) {
        // Deferred completions are posted only inside io_uring_enter.
        return entered(io_uring_submit_and_get_events(&ring_));
    }
    // Enter only when there is something to submit or the kernel asks for it.
    const unsigned kflags = __atomic_load_n(ring_.sq.kflags, __ATOMIC_RELAXED);
    if (io_uring_sq_ready(&ring_) || (kflags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) {
        return entered(io_uring_submit_and_get_events(&ring_));
    }
    return 0;
}

int Uring::wait(std::chrono::nanoseconds timeout) noexcept {
    const auto ns = timeout.count() < 0 ? 0 : timeout.count();
    __kernel_timespec ts{};
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    io_uring_cqe* cqe = nullptr;
    const int ret = entered(io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr));
    return ret < 0 ? ret : 0;
}

void Uring::cancel_fd(int fd) noexcept {
    io_uring_sync_cancel_reg reg{};
    reg.fd = fd;
    reg.flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
    reg.timeout.tv_sec = 1;
    const int ret = io_uring_register_sync_cancel(&ring_, &reg);
    if (ret == 0 || ret == -ENOENT) return;
    if (io_uring_sqe* sqe = get_sqe()) {
        io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, user_data(OpKind::internal, 0));
        submit();
    }
}

}  // namespace sluice::net
