// Aggregate accumulators. The plan's AggSpecs are laid out once into a fixed
// block (one state per aggregate at a precomputed offset); a group owns one
// block. Every operation is a switch over AggKind: no virtual calls, no
// allocation except arena bytes for strings and COUNT(DISTINCT) sets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sluice/arena.h"
#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice {

// ---------------------------------------------------------------- one accumulator

// Kinds the accumulators implement (APPROX_COUNT_DISTINCT not yet).
bool agg_kind_supported(AggKind kind) noexcept;
uint32_t agg_state_size(AggKind kind) noexcept;
void agg_init(AggKind kind, uint8_t* state) noexcept;
// Applies one input. seq orders FIRST/LAST; a non-NULL value of a type the
// aggregate cannot take is skipped and counted in type_mismatch.
void agg_update(AggKind kind, uint8_t* state, const Value& v, uint64_t seq, Arena& arena,
                uint64_t& type_mismatch) noexcept;
// Folds `from` into `into` as if into's inputs had come first.
void agg_merge(AggKind kind, uint8_t* into, const uint8_t* from, Arena& arena) noexcept;
// The aggregate's value; strings point into the state's storage.
Value agg_finalize(AggKind kind, const uint8_t* state) noexcept;
// Appends the state's bytes; agg_deserialize reads them back into an
// uninitialised state (false on truncated input), advancing p.
void agg_serialize(AggKind kind, const uint8_t* state, std::vector<uint8_t>& out) noexcept;
[[nodiscard]] bool agg_deserialize(AggKind kind, uint8_t* state, const uint8_t*& p, const uint8_t* end,
                                   Arena& arena) noexcept;

// ---------------------------------------------------------------- a group's block

class AggLayout {
public:
    static constexpr uint32_t kBlockAlign = 8;

    // Throws std::invalid_argument for an aggregate kind not supported yet.
    explicit AggLayout(const std::vector<AggSpec>& aggs);

    uint32_t count() const noexcept { return static_cast<uint32_t>(kinds_.size()); }
    uint32_t block_size() const noexcept { return block_size_; }
    AggKind kind(uint32_t i) const noexcept { return kinds_[i]; }
    uint32_t offset(uint32_t i) const noexcept { return offsets_[i]; }

    void init(uint8_t* block) const noexcept;
    // args: one per aggregate (the COUNT(*) slot is ignored).
    void update(uint8_t* block, const Value* args, uint64_t seq, Arena& arena,
                uint64_t& type_mismatch) const noexcept;
    void merge(uint8_t* into, const uint8_t* from, Arena& arena) const noexcept;
    void finalize(const uint8_t* block, Value* out) const noexcept;
    void serialize(const uint8_t* block, std::vector<uint8_t>& out) const noexcept;
    // Reads a whole serialized block of [p, end) into an uninitialised block.
    [[nodiscard]] bool deserialize(uint8_t* block, const uint8_t* p, const uint8_t* end,
                                   Arena& arena) const noexcept;

private:
    std::vector<AggKind> kinds_;
    std::vector<uint32_t> offsets_;
    uint32_t block_size_ = 0;
};

}  // namespace sluice
