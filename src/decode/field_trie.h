// The plan's dotted field paths compiled into a trie, one level per path
// component, with each node's children contiguous. Keys are matched against
// simdjson's raw keys (the bytes after the opening quote, still escaped):
// a plain key of up to 7 bytes is one masked 8-byte compare that includes the
// closing quote, so "ab" never matches "abc". A key with '"', '\\' or a
// control byte can only appear escaped in JSON; it is matched on the slow
// path, against the unescaped key.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/plan.h"

namespace sluice {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

struct TrieNode {
    std::string key;
    uint64_t head = 0;       // key bytes + closing quote, for keys of <= 7 bytes
    uint64_t head_mask = 0;  // bytes of `head` that take part in the compare; 0: longer key
    bool plain = true;       // no '"', '\\' or control byte: the raw compare is exact
    uint32_t slot = kNoSlot;  // field slot of the path ending here
    uint32_t first_child = 0;
    uint32_t child_count = 0;
    // Slots of every path ending at or below this node.
    uint32_t first_sub = 0;
    uint32_t sub_count = 0;
};

class FieldTrie {
public:
    explicit FieldTrie(const std::vector<FieldPath>& fields);

    const TrieNode& root() const noexcept { return nodes_[0]; }

    // The child of `level` whose key is the raw key at `raw`, or nullptr.
    // 8 bytes from `raw` must be readable (the key lies inside a padded line).
    const TrieNode* match_raw(const TrieNode& level, const char* raw) const noexcept {
        uint64_t w;
        std::memcpy(&w, raw, 8);
        const TrieNode* n = nodes_.data() + level.first_child;
        const TrieNode* const last = n + level.child_count;
        for (; n != last; ++n) {
            if (n->head_mask != 0) {
                if ((w & n->head_mask) == n->head) {
                    return n;
                }
            } else if (n->plain && std::memcmp(raw, n->key.data(), n->key.size()) == 0 &&
                       raw[n->key.size()] == '"') {
                return n;
            }
        }
        return nullptr;
    }

    // The child of `level` whose key equals an unescaped key, or nullptr.
    const TrieNode* match_unescaped(const TrieNode& level, std::string_view key) const noexcept;

    const uint32_t* sub_slots(const TrieNode& n) const noexcept { return sub_slots_.data() + n.first_sub; }
    // Paths listed twice in the plan: slot `second` repeats slot `first`.
    const std::vector<std::pair<uint32_t, uint32_t>>& dup_slots() const noexcept { return dup_slots_; }

private:
    std::vector<TrieNode> nodes_;  // nodes_[0] is the root
    std::vector<uint32_t> sub_slots_;
    std::vector<std::pair<uint32_t, uint32_t>> dup_slots_;
};

}  // namespace sluice
