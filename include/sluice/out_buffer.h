// Output byte buffer of one shard: rows are serialized straight into it and
// the whole buffer is handed to the sink when full or on flush(). The sink is
// a plain function pointer called once per buffer, never per row.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

class OutBuffer {
public:
    // Called with a full buffer; must consume (copy or write) it before returning.
    using SinkFn = void (*)(void* ctx, const char* data, std::size_t n);

    OutBuffer(std::size_t capacity, SinkFn sink, void* ctx);
    // Does not flush: the owner flushes while the sink is still alive.
    ~OutBuffer();
    OutBuffer(const OutBuffer&) = delete;
    OutBuffer& operator=(const OutBuffer&) = delete;

    // At least n contiguous writable bytes (flushes first if needed; grows once
    // if n exceeds the capacity, which only a huge row can cause).
    [[nodiscard]] char* reserve(std::size_t n) {
        if (n <= capacity_ - used_) [[likely]] {
            return data_ + used_;
        }
        return reserve_slow(n);
    }
    void commit(std::size_t n) noexcept { used_ += n; }
    void flush();
    std::size_t size() const noexcept { return used_; }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    char* reserve_slow(std::size_t n);

    char* data_;
    std::size_t capacity_;
    std::size_t used_ = 0;
    SinkFn sink_;
    void* ctx_;
};

}  // namespace sluice
