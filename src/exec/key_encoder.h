// A record's canonical key bytes (group_keys of a GROUP BY, the PARTITION BY
// of a ROWS window): bare fields are encoded straight from the decoded slots,
// other key expressions are evaluated first. The buffer grows only when a
// longer key than any before appears.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "compiled_expr.h"
#include "key_inline.h"
#include "sluice/plan.h"

namespace sluice::detail {

class KeyEncoder {
public:
    KeyEncoder(const ExprPool& pool, const std::vector<ExprId>& keys) : bytes_(64) {
        for (const ExprId k : keys) {
            exprs_.emplace_back(pool, k);
            uses_scratch_ |= may_use_scratch(pool, k);
            if (pool.nodes[k].op == ExprOp::Field)
                fields_.push_back(pool.nodes[k].index);
            else
                all_fields_ = false;
        }
    }

    bool may_use_scratch_memory() const noexcept { return uses_scratch_; }

    // Encodes the key; returns its length. The bytes (data()) stay valid
    // until the next call. A key expression's string result may sit in
    // ctx's scratch: its bytes are copied before the next one is evaluated.
    [[gnu::always_inline]] uint32_t encode(const Value* fields, const ExprPool& pool, const EvalContext& ctx) noexcept {
        uint32_t len = 0;
        uint8_t* base = bytes_.data();
        std::size_t cap = bytes_.size();
        if (all_fields_) [[likely]] {
            for (const uint32_t f : fields_) put(fields[f], len, base, cap);
        } else {
            Value tmp;
            for (const CompiledExpr& k : exprs_) put(k.value(tmp, pool, ctx), len, base, cap);
        }
        return len;
    }

    const uint8_t* data() const noexcept { return bytes_.data(); }

private:
    [[gnu::always_inline]] void put(const Value& v, uint32_t& len, uint8_t*& base, std::size_t& cap) noexcept {
        const uint32_t need = key_value_bound(v);
        if (len + need > cap) [[unlikely]] {
            grow(len, need);
            base = bytes_.data();
            cap = bytes_.size();
        }
        len = static_cast<uint32_t>(encode_key_value(base + len, v) - base);
    }

    [[gnu::noinline, gnu::cold]] void grow(uint32_t used, uint32_t need) {
        const auto cap = static_cast<uint32_t>(bytes_.size());
        bytes_.resize(used + need < 2 * cap ? 2 * cap : used + need);
    }

    std::vector<CompiledExpr> exprs_;
    std::vector<uint32_t> fields_;  // when all_fields_
    bool all_fields_ = true;        // the usual case: keys are columns, encoded without evaluation
    bool uses_scratch_ = false;
    std::vector<uint8_t> bytes_;
};

}  // namespace sluice::detail
