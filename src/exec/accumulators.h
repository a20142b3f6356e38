// Aggregate accumulators. The plan's AggSpecs are laid out once into a fixed
// block (one state per aggregate at a precomputed offset); a group owns one
// block. Every operation is a switch over AggKind: no virtual calls, no
// allocation except arena bytes for strings, COUNT(DISTINCT) sets and
// APPROX_COUNT_DISTINCT sketches (hll.h). The per-record operations (update,
// finalize) are inline over a step list fixed at construction, with the
// common kinds and input types handled in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "agg_states.h"
#include "eval_util.h"
#include "sluice/arena.h"
#include "sluice/plan.h"
#include "sluice/value.h"

namespace sluice {

// ---------------------------------------------------------------- one accumulator

// Kinds the accumulators implement (every AggKind).
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

    // Throws std::invalid_argument for an aggregate kind it cannot lay out.
    explicit AggLayout(const std::vector<AggSpec>& aggs);

    uint32_t count() const noexcept { return static_cast<uint32_t>(kinds_.size()); }
    uint32_t block_size() const noexcept { return block_size_; }
    AggKind kind(uint32_t i) const noexcept { return kinds_[i]; }
    uint32_t offset(uint32_t i) const noexcept { return offsets_[i]; }

    // Copies a block whose states were initialised once, at construction.
    void init(uint8_t* block) const noexcept {
        if (block_size_ != 0) std::memcpy(block, empty_block_.data(), block_size_);
    }
    // args: one per aggregate (the COUNT(*) slot is ignored). Inline: the
    // common kinds and input types update in place, anything else (first
    // value of MIN/MAX, overflow, mismatches, other kinds) takes agg_update.
    void update(uint8_t* block, const Value* args, uint64_t seq, Arena& arena,
                uint64_t& type_mismatch) const noexcept;
    void merge(uint8_t* into, const uint8_t* from, Arena& arena) const noexcept;
    void finalize(const uint8_t* block, Value* out) const noexcept;
    void serialize(const uint8_t* block, std::vector<uint8_t>& out) const noexcept;
    // Reads a whole serialized block of [p, end) into an uninitialised block.
    [[nodiscard]] bool deserialize(uint8_t* block, const uint8_t* p, const uint8_t* end,
                                   Arena& arena) const noexcept;

    // How update and finalize treat one aggregate, fixed at construction.
    enum class Step : uint8_t { CountStar, Count, Sum, Avg, Min, Max, Generic };

private:
    struct Op {
        Step step;
        AggKind kind;
        uint32_t offset;
    };

    // A number added in place; false leaves NULL, mismatches and integer
    // overflow to agg_update (nothing changed).
    static bool sum_fast(agg::SumState& s, const Value& v) noexcept {
        if (v.type == Type::Double) {
            s.has_double = 1;
            agg::add_double(s, v.d);
            return true;
        }
        int64_t r;
        if (v.type == Type::Int && !s.overflow && !__builtin_add_overflow(s.isum, v.i, &r)) {
            s.isum = r;
            s.has_int = 1;
            return true;
        }
        return false;
    }

    // A number of the state's own type; false leaves the first value, other
    // types and strings to agg_update (nothing changed).
    template <bool IsMin>
    static bool minmax_fast(agg::MinMaxState& s, const Value& v) noexcept {
        if (s.cls != agg::kClassNumber || v.type != s.num.type) return false;
        bool take;
        if (v.type == Type::Double)
            take = IsMin ? v.d < s.num.d : v.d > s.num.d;  // NaN never replaces, as compare_numbers
        else if (v.type == Type::Int)
            take = IsMin ? v.i < s.num.i : v.i > s.num.i;
        else
            return false;
        if (take) std::memcpy(&s.num, &v, sizeof(Value));
        return true;
    }

    // An aggregate in update's runs: its state and argument.
    struct Slot {
        uint32_t offset;
        uint16_t arg;
        AggKind kind;
    };

    std::vector<AggKind> kinds_;
    std::vector<uint32_t> offsets_;
    std::vector<Op> ops_;      // in SELECT order (finalize)
    std::vector<Slot> by_kind_;  // grouped by Step, in Step order (update)
    uint32_t runs_[7] = {};      // aggregates per Step in by_kind_
    std::vector<uint8_t> empty_block_;  // every state initialised
    uint32_t block_size_ = 0;
};

inline void AggLayout::update(uint8_t* block, const Value* args, uint64_t seq, Arena& arena,
                              uint64_t& type_mismatch) const noexcept {
    // One run per kind (the order between aggregates does not matter: their
    // states are independent), so no per-aggregate dispatch.
    const Slot* s = by_kind_.data();
    for (const Slot* end = s + runs_[0]; s != end; ++s) ++reinterpret_cast<agg::CountState*>(block + s->offset)->n;
    for (const Slot* end = s + runs_[1]; s != end; ++s)
        if (!args[s->arg].is_null()) ++reinterpret_cast<agg::CountState*>(block + s->offset)->n;
    for (const Slot* end = s + runs_[2]; s != end; ++s) {
        if (!sum_fast(*reinterpret_cast<agg::SumState*>(block + s->offset), args[s->arg]))
            agg_update(AggKind::Sum, block + s->offset, args[s->arg], seq, arena, type_mismatch);
    }
    for (const Slot* end = s + runs_[3]; s != end; ++s) {
        auto& avg = *reinterpret_cast<agg::AvgState*>(block + s->offset);
        if (sum_fast(avg.sum, args[s->arg]))
            ++avg.n;
        else
            agg_update(AggKind::Avg, block + s->offset, args[s->arg], seq, arena, type_mismatch);
    }
    for (const Slot* end = s + runs_[4]; s != end; ++s) {
        if (!minmax_fast<true>(*reinterpret_cast<agg::MinMaxState*>(block + s->offset), args[s->arg]))
            agg_update(AggKind::Min, block + s->offset, args[s->arg], seq, arena, type_mismatch);
    }
    for (const Slot* end = s + runs_[5]; s != end; ++s) {
        if (!minmax_fast<false>(*reinterpret_cast<agg::MinMaxState*>(block + s->offset), args[s->arg]))
            agg_update(AggKind::Max, block + s->offset, args[s->arg], seq, arena, type_mismatch);
    }
    for (const Slot* end = s + runs_[6]; s != end; ++s)
        agg_update(s->kind, block + s->offset, args[s->arg], seq, arena, type_mismatch);
}

inline void AggLayout::finalize(const uint8_t* block, Value* out) const noexcept {
    const Op* ops = ops_.data();
    const auto n = static_cast<uint32_t>(ops_.size());
    for (uint32_t i = 0; i < n; ++i) {
        const uint8_t* p = block + ops[i].offset;
        Value& o = out[i];
        switch (ops[i].step) {
            case Step::CountStar:
            case Step::Count: agg::put_int(o, reinterpret_cast<const agg::CountState*>(p)->n); continue;
            case Step::Sum: {
                const auto& s = *reinterpret_cast<const agg::SumState*>(p);
                if (s.has_double || s.overflow)
                    agg::put_double(o, agg::sum_as_double(s));
                else if (s.has_int)
                    agg::put_int(o, s.isum);
                else
                    agg::put_null(o);
                continue;
            }
            case Step::Avg: {
                const auto& s = *reinterpret_cast<const agg::AvgState*>(p);
                if (s.n == 0)
                    agg::put_null(o);
                else
                    agg::put_double(o, agg::sum_as_double(s.sum) / static_cast<double>(s.n));
                continue;
            }
            case Step::Min:
            case Step::Max: {
                const auto& s = *reinterpret_cast<const agg::MinMaxState*>(p);
                if (s.cls == agg::kClassNumber)
                    std::memcpy(&o, &s.num, sizeof(Value));
                else
                    detail::store_result(o, agg::minmax_value(s));
                continue;
            }
            case Step::Generic: break;
        }
        detail::store_result(o, agg_finalize(ops[i].kind, p));
    }
}

}  // namespace sluice
