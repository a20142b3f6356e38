// dpdk_port.h in a build without DPDK: nothing starts. The config loader
// refuses dpdk sources before anything gets here (with the source's
// position); this is the backstop.
#include "net/dpdk_port.h"

namespace sluice::net {

bool dpdk_built_in() noexcept { return false; }

struct DpdkRxQueue::Hot {};
struct DpdkRuntime::State {};

DpdkRxQueue::DpdkRxQueue(uint16_t port, uint16_t queue, uint32_t burst, uint32_t max_frame, const FrameFilter& filter,
                         std::string description)
    : port_(port), queue_(queue), burst_(burst), max_frame_(max_frame), filter_(filter),
      description_(std::move(description)) {}
DpdkRxQueue::~DpdkRxQueue() = default;
Result<bool> DpdkRxQueue::attach() {
    (void)port_, (void)burst_, (void)max_frame_;  // kept for the interface; nothing receives here
    return Error{"this sluice was built without DPDK (meson -Ddpdk=enabled)"};
}
uint32_t DpdkRxQueue::receive() noexcept { return 0; }
std::span<const DpdkRxQueue::Payload> DpdkRxQueue::payloads() const noexcept { return {}; }
void DpdkRxQueue::release() noexcept {}
const FrameCounters& DpdkRxQueue::counters() const noexcept {
    static const FrameCounters kNone{};
    return kNone;
}

Result<std::unique_ptr<DpdkThread>> DpdkThread::register_current() {
    return Error{"this sluice was built without DPDK (meson -Ddpdk=enabled)"};
}
DpdkThread::~DpdkThread() = default;

Result<std::unique_ptr<DpdkRuntime>> DpdkRuntime::start(const DpdkSetup&) {
    return Error{"dpdk: this sluice was built without DPDK (meson -Ddpdk=enabled)"};
}
DpdkRuntime::~DpdkRuntime() = default;
DpdkRxQueue* DpdkRuntime::queue(std::size_t, uint32_t) const noexcept { return nullptr; }
DpdkPortStats DpdkRuntime::port_stats(std::size_t) const noexcept { return {}; }

}  // namespace sluice::net
