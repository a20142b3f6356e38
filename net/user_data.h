// The 64-bit io_uring user_data of every request sluice submits. Several
// components share a shard's ring; the shard loop dispatches each CQE on its
// kind, then on its owner index (which source or sink of that kind).
//
//   bits 63..56  kind   (OpKind)
//   bits 55..48  owner  (index of the component among those of its kind)
//   bits 47..32  spare  (free for the component)
//   bits 31..0   value  (the component's: a connection slot, a buffer id, ...)
//
// No per-request object exists: everything a completion needs is here.
#pragma once

#include <cstdint>

namespace sluice::net {

enum class OpKind : uint8_t {
    none = 0,
    udp_recv = 1,    // UdpSource: the (multishot) receive
    tcp_accept = 2,  // TcpSource: the (multishot) accept
    tcp_recv = 3,    // TcpSource: a connection's (multishot) receive; value = slot | generation << 16
    tcp_cancel = 4,  // TcpSource: a cancel request's own completion (nothing to do)
    // 0x40 .. 0x7f are the egress sinks' (net/sink_*): add their kinds here.
    sink_first = 0x40,
    sink_last = 0x7f,
    // liburing's own timeout (LIBURING_UDATA_TIMEOUT, all ones) and Uring's
    // teardown cancels decode as this: skip them.
    internal = 0xff,
};

struct UserData {
    OpKind kind = OpKind::none;
    uint8_t owner = 0;
    uint16_t spare = 0;
    uint32_t value = 0;

    [[nodiscard]] constexpr uint64_t pack() const noexcept {
        return uint64_t{static_cast<uint8_t>(kind)} << 56 | uint64_t{owner} << 48 | uint64_t{spare} << 32 | value;
    }
    [[nodiscard]] static constexpr UserData unpack(uint64_t u) noexcept {
        return UserData{static_cast<OpKind>(u >> 56), static_cast<uint8_t>(u >> 48), static_cast<uint16_t>(u >> 32),
                        static_cast<uint32_t>(u)};
    }
    [[nodiscard]] static constexpr OpKind kind_of(uint64_t u) noexcept { return static_cast<OpKind>(u >> 56); }
    [[nodiscard]] static constexpr uint8_t owner_of(uint64_t u) noexcept { return static_cast<uint8_t>(u >> 48); }
};

[[nodiscard]] constexpr uint64_t user_data(OpKind kind, uint8_t owner, uint32_t value = 0,
                                           uint16_t spare = 0) noexcept {
    return UserData{kind, owner, spare, value}.pack();
}

static_assert(UserData::unpack(user_data(OpKind::tcp_recv, 7, 0xdeadbeef, 0x1234)).value == 0xdeadbeef);
static_assert(UserData::kind_of(~uint64_t{0}) == OpKind::internal);

}  // namespace sluice::net
