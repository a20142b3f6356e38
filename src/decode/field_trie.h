// The plan's dotted field paths compiled into a trie, one level per path
// component, with each node's children contiguous. Keys are matched against
// simdjson's raw keys (the bytes after the opening quote, still escaped): the
// key plus its closing quote is compared as 8-byte words, the last one masked,
// so "ab" never matches "abc". A key with '"', '\\' or a control byte can only
// appear escaped in JSON; it never matches raw and is matched on the slow
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
    // key bytes + closing quote as 8-byte words (masks: the bytes that take
    // part in the compare): the first two here, any further ones in the trie's
    // word table. A key that is not plain has mask0 0 and word0 1: it never
    // matches. A key of up to 7 bytes has mask1 0.
    uint64_t word0 = 0;
    uint64_t mask0 = 0;
    uint64_t word1 = 0;
    uint64_t mask1 = 0;
    uint32_t first_word = 0;  // words 3..: words_[first_word .. + word_count)
    uint32_t word_count = 0;
    // The child to try first when matching below this node (the one after the
    // last match); matching state, so the trie belongs to one decoder.
    mutable uint32_t hint = 0;
    uint32_t slot = kNoSlot;  // field slot of the path ending here
    uint32_t first_child = 0;
    uint32_t child_count = 0;
    // Slots of every path ending at or below this node.
    uint32_t first_sub = 0;
    uint32_t sub_count = 0;
    std::string key;
};

class FieldTrie {
public:
    explicit FieldTrie(const std::vector<FieldPath>& fields);

    const TrieNode& root() const noexcept { return nodes_[0]; }

    // The child of `level` whose key is the raw key at `raw`, or nullptr.
    // 8 bytes from `raw` must be readable (the key lies inside a padded line);
    // a further word is read only while the key matches, so never more than 7
    // bytes past the raw key's closing quote. The search starts at the child
    // after the one matched last at this level: records tend to repeat their
    // key order, so the expected key is usually the first one tried.
    const TrieNode* match_raw(const TrieNode& level, const char* raw) const noexcept {
        const uint32_t count = level.child_count;
        uint64_t w0;
        std::memcpy(&w0, raw, 8);
        const TrieNode* const first = nodes_.data() + level.first_child;
        uint32_t i = level.hint;
        for (uint32_t tried = 0; tried != count; ++tried) {
            const TrieNode& n = first[i];
            const uint32_t after = i + 1 == count ? 0 : i + 1;
            if ((w0 & n.mask0) == n.word0 && (n.mask1 == 0 || rest_matches(n, raw))) {
                level.hint = after;
                return &n;
            }
            i = after;
        }
        return nullptr;
    }

    // The child of `level` whose key equals an unescaped key, or nullptr.
    const TrieNode* match_unescaped(const TrieNode& level, std::string_view key) const noexcept;

    const uint32_t* sub_slots(const TrieNode& n) const noexcept { return sub_slots_.data() + n.first_sub; }
    // Paths listed twice in the plan: slot `second` repeats slot `first`.
    const std::vector<std::pair<uint32_t, uint32_t>>& dup_slots() const noexcept { return dup_slots_; }

private:
    // Words 2.. of a key longer than 7 bytes (the first one matched).
    bool rest_matches(const TrieNode& n, const char* raw) const noexcept {
        uint64_t w;
        std::memcpy(&w, raw + 8, 8);
        if ((w & n.mask1) != n.word1) {
            return false;
        }
        for (uint32_t k = 0; k < n.word_count; ++k) {
            const KeyWord& kw = words_[n.first_word + k];
            std::memcpy(&w, raw + 16 + 8 * k, 8);
            if ((w & kw.mask) != kw.bits) {
                return false;
            }
        }
        return true;
    }

    struct KeyWord {
        uint64_t bits;
        uint64_t mask;
    };

    std::vector<TrieNode> nodes_;  // nodes_[0] is the root
    std::vector<KeyWord> words_;
    std::vector<uint32_t> sub_slots_;
    std::vector<std::pair<uint32_t, uint32_t>> dup_slots_;
};

}  // namespace sluice
