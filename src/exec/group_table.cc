// Flat group table (see group_table.h for the layout).
#include "group_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <exception>
#include <new>

#include "sluice/base.h"

namespace sluice {

namespace {

static_assert(std::endian::native == std::endian::little, "control-byte groups assume little endian");

constexpr std::size_t kMinCapacity = 16;
constexpr uint8_t kEmpty = 0x80;

void* alloc_lines(std::size_t n) noexcept {
    return ::operator new(n, std::align_val_t{kCacheLine}, std::nothrow);
}

void free_lines(void* p) noexcept {
    if (p != nullptr) ::operator delete(p, std::align_val_t{kCacheLine});
}

// Entries of at least this many bytes live in an anonymous mapping: the
// reserve up to max_load costs address space, and memory only for the pages
// entries were written to. Smaller tables (most window tables) stay on the heap.
constexpr std::size_t kMapBytes = std::size_t{1} << 20;
constexpr std::size_t kPage = 4096;

// ThreadSanitizer (gcc 12's runtime) does not intercept mremap: pages it moves
// have no shadow memory and the next access faults inside the runtime. Under
// it a mapping grows by a new mapping and a copy instead.
#if defined(__SANITIZE_THREAD__)
constexpr bool kGrowByRemap = false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kGrowByRemap = false;
#else
constexpr bool kGrowByRemap = true;
#endif
#else
constexpr bool kGrowByRemap = true;
#endif

uint8_t* map_entries(std::size_t bytes) noexcept {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

}  // namespace

GroupTable::GroupTable(uint32_t block_size, std::size_t arena_chunk_bytes)
    : stride_(static_cast<uint32_t>((sizeof(Header) + block_size + 7) & ~std::size_t{7})), arena_(arena_chunk_bytes) {
    allocate(kMinCapacity);
}

GroupTable::~GroupTable() {
    free_lines(ctrl_);
    free_lines(index_);
    free_entries();
}

void GroupTable::free_entries() noexcept {
    if (entries_mapped_) ::munmap(entries_, entries_bytes_);
    else free_lines(entries_);
    entries_ = nullptr;
}

// Slots and the entry reserve for `capacity`. Entries already written move
// along: a mapping grows with mremap (no copy), a heap block is copied.
void GroupTable::allocate(std::size_t capacity) noexcept {
    capacity_ = capacity;
    group_mask_ = capacity / kGroup - 1;
    ctrl_ = static_cast<uint8_t*>(alloc_lines(capacity));
    index_ = static_cast<uint32_t*>(alloc_lines(capacity * sizeof(uint32_t)));
    const std::size_t bytes = max_load() * stride_;
    uint8_t* entries = nullptr;
    bool mapped = false;
    if (bytes >= kMapBytes) {
        mapped = true;
        if (entries_mapped_ && kGrowByRemap) {
            void* p = ::mremap(entries_, entries_bytes_, bytes, MREMAP_MAYMOVE);
            entries = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
            entries_ = nullptr;  // moved (or lost with the failure below)
        } else {
            entries = map_entries(bytes);
        }
    } else {
        entries = static_cast<uint8_t*>(alloc_lines(bytes));
    }
    if (ctrl_ == nullptr || index_ == nullptr || entries == nullptr) [[unlikely]]
        std::terminate();  // out of memory on the data path
    if (entries_ != nullptr) {
        std::memcpy(entries, entries_, std::size_t{size_} * stride_);
        free_entries();
    }
    entries_ = entries;
    entries_bytes_ = bytes;
    entries_mapped_ = mapped;
    std::memset(ctrl_, kEmpty, capacity);
}

std::size_t GroupTable::free_slot(uint64_t hash) const noexcept {
    std::size_t g = static_cast<std::size_t>(hash) & group_mask_;
    for (std::size_t step = 1;; ++step) {
        const uint64_t empty = match_empty(load_group(ctrl_, g));
        if (empty != 0) return g * kGroup + lowest_byte(empty);
        g = (g + step) & group_mask_;  // triangular: visits every group
    }
}

// The entry of (hash, key), or -1 with *empty set to the first empty slot on
// the probe sequence (where the key would go).
int64_t GroupTable::probe(uint64_t hash, const uint8_t* key, uint32_t len, std::size_t* empty) const noexcept {
    const uint8_t tag = tag_of(hash);
    std::size_t g = static_cast<std::size_t>(hash) & group_mask_;
    for (std::size_t step = 1;; ++step) {
        const uint64_t w = load_group(ctrl_, g);
        for (uint64_t m = match_tag(w, tag); m != 0; m &= m - 1) {
            const uint32_t idx = index_[g * kGroup + lowest_byte(m)];
            const Header& h = header(idx);
            if (h.hash == hash && h.key_len == len && detail::key_bytes_equal(h.key, key, len)) return idx;
        }
        if (const uint64_t free = match_empty(w); free != 0) {
            *empty = g * kGroup + lowest_byte(free);
            return -1;
        }
        g = (g + step) & group_mask_;  // triangular: visits every group
    }
}

GroupTable::Hit GroupTable::find_or_insert_slow(uint64_t hash, const uint8_t* key, uint32_t len) noexcept {
    std::size_t slot;
    if (const int64_t found = probe(hash, key, len, &slot); found >= 0) {
        const auto idx = static_cast<uint32_t>(found);
        return Hit{block_at(idx), idx, false};
    }
    if (size_ + 1 > max_load()) [[unlikely]] {
        grow();
        slot = free_slot(hash);
    }
    uint8_t* copy = nullptr;
    if (len != 0) {
        copy = static_cast<uint8_t*>(arena_.alloc(len, 1));
        std::memcpy(copy, key, len);
    }
    const uint32_t idx = size_++;
    high_water_ = std::max(high_water_, size_);
    auto* h = reinterpret_cast<Header*>(entries_ + std::size_t{idx} * stride_);
    *h = Header{hash, copy, len, 0};
    ctrl_[slot] = tag_of(hash);
    index_[slot] = idx;
    return Hit{block_at(idx), idx, true};
}

int64_t GroupTable::find(uint64_t hash, const uint8_t* key, uint32_t len) const noexcept {
    std::size_t unused;
    return probe(hash, key, len, &unused);
}

void GroupTable::prefetch(uint64_t hash) const noexcept {
    __builtin_prefetch(ctrl_ + (static_cast<std::size_t>(hash) & group_mask_) * kGroup);
}

void GroupTable::grow() noexcept {
    uint8_t* old_ctrl = ctrl_;
    uint32_t* old_index = index_;
    allocate(capacity_ * 2);
    for (uint32_t i = 0; i < size_; ++i) {
        const uint64_t hash = hash_at(i);
        const std::size_t slot = free_slot(hash);
        ctrl_[slot] = tag_of(hash);
        index_[slot] = i;
    }
    free_lines(old_ctrl);
    free_lines(old_index);
}

void GroupTable::clear() noexcept {
    if (size_ != 0) std::memset(ctrl_, kEmpty, capacity_);
    size_ = 0;
    arena_.reset();
}

std::size_t GroupTable::memory_bytes() const noexcept {
    // A mapping holds memory for the pages written so far (clear() keeps them).
    const std::size_t entries = entries_mapped_
                                    ? std::min(entries_bytes_, (std::size_t{high_water_} * stride_ + kPage - 1) & ~(kPage - 1))
                                    : entries_bytes_;
    return capacity_ * (1 + sizeof(uint32_t)) + entries + arena_.reserved_bytes();
}

}  // namespace sluice
