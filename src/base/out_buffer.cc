#include "sluice/out_buffer.h"

#include <new>

#include "sluice/base.h"

namespace sluice {

namespace {

char* alloc_bytes(std::size_t n) {
    return static_cast<char*>(::operator new(n, std::align_val_t(kCacheLine)));
}

void free_bytes(char* p) noexcept {
    ::operator delete(p, std::align_val_t(kCacheLine));
}

}  // namespace

OutBuffer::OutBuffer(std::size_t capacity, SinkFn sink, void* ctx)
    : data_(nullptr), capacity_(capacity == 0 ? 1 : capacity), sink_(sink), ctx_(ctx) {
    data_ = alloc_bytes(capacity_);
}

OutBuffer::~OutBuffer() { free_bytes(data_); }

void OutBuffer::flush() {
    if (used_ != 0) {
        sink_(ctx_, data_, used_);
        used_ = 0;
    }
}

// Cold: the buffer is full, or a single reservation is larger than the whole
// buffer (then it grows to that size and stays grown).
char* OutBuffer::reserve_slow(std::size_t n) {
    flush();
    if (n > capacity_) {
        char* bigger = alloc_bytes(n);
        free_bytes(data_);
        data_ = bigger;
        capacity_ = n;
    }
    return data_;
}

}  // namespace sluice
