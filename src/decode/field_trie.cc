#include "field_trie.h"

#include <bit>

namespace sluice {

// Keys are compared as little-endian words: the mask's low bytes are the first ones.
static_assert(std::endian::native == std::endian::little, "the key compare assumes a little-endian host");

FieldTrie::FieldTrie(const std::vector<FieldPath>& fields) {
    // A temporary tree with children by index, built path by path.
    struct Tmp {
        std::string key;
        uint32_t slot = kNoSlot;
        std::vector<uint32_t> children;
    };
    std::vector<Tmp> tmp(1);
    for (std::size_t s = 0; s < fields.size(); ++s) {
        const std::vector<std::string>& parts = fields[s].parts;
        if (parts.empty()) {
            continue;  // never present: stays NULL
        }
        uint32_t at = 0;
        for (const std::string& part : parts) {
            uint32_t next = kNoSlot;
            for (uint32_t c : tmp[at].children) {
                if (tmp[c].key == part) {
                    next = c;
                    break;
                }
            }
            if (next == kNoSlot) {
                next = static_cast<uint32_t>(tmp.size());
                tmp.push_back(Tmp{part, kNoSlot, {}});
                tmp[at].children.push_back(next);
            }
            at = next;
        }
        if (tmp[at].slot == kNoSlot) {
            tmp[at].slot = static_cast<uint32_t>(s);
        } else {
            dup_slots_.emplace_back(tmp[at].slot, static_cast<uint32_t>(s));
        }
    }

    // Flatten breadth-first so every node's children are contiguous.
    nodes_.resize(1);
    std::vector<uint32_t> order{0};  // tmp index of nodes_[i]
    for (std::size_t i = 0; i < order.size(); ++i) {
        const Tmp& t = tmp[order[i]];
        nodes_[i].first_child = static_cast<uint32_t>(nodes_.size());
        nodes_[i].child_count = static_cast<uint32_t>(t.children.size());
        for (uint32_t c : t.children) {
            TrieNode n;
            n.key = tmp[c].key;
            n.slot = tmp[c].slot;
            nodes_.push_back(std::move(n));
            order.push_back(c);
        }
    }

    for (TrieNode& n : nodes_) {
        bool plain = true;
        for (unsigned char ch : n.key) {
            if (ch == '"' || ch == '\\' || ch < 0x20) {
                plain = false;
            }
        }
        if (!plain) {
            n.word0 = 1;  // (w & 0) != 1: never matches raw
            n.mask0 = 0;
            continue;
        }
        // key + '"' in 8-byte words, zero-padded, with masks over the used bytes.
        std::string bytes = n.key + '"';
        const std::size_t used = bytes.size();
        bytes.resize((used + 7) / 8 * 8, '\0');
        n.first_word = static_cast<uint32_t>(words_.size());
        for (std::size_t at = 0; at < used; at += 8) {
            KeyWord kw{};
            std::memcpy(&kw.bits, bytes.data() + at, 8);
            const std::size_t in_word = used - at < 8 ? used - at : 8;
            kw.mask = in_word == 8 ? ~uint64_t{0} : ((uint64_t{1} << (8 * in_word)) - 1);
            if (at == 0) {
                n.word0 = kw.bits;
                n.mask0 = kw.mask;
            } else if (at == 8) {
                n.word1 = kw.bits;
                n.mask1 = kw.mask;
            } else {
                words_.push_back(kw);
                ++n.word_count;
            }
        }
    }

    // Children come after their parent, so a reverse pass sees them first.
    std::vector<std::vector<uint32_t>> below(nodes_.size());
    for (std::size_t i = nodes_.size(); i-- > 0;) {
        const TrieNode& n = nodes_[i];
        if (n.slot != kNoSlot) {
            below[i].push_back(n.slot);
        }
        for (uint32_t c = n.first_child; c < n.first_child + n.child_count; ++c) {
            below[i].insert(below[i].end(), below[c].begin(), below[c].end());
        }
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        nodes_[i].first_sub = static_cast<uint32_t>(sub_slots_.size());
        nodes_[i].sub_count = static_cast<uint32_t>(below[i].size());
        sub_slots_.insert(sub_slots_.end(), below[i].begin(), below[i].end());
    }
}

const TrieNode* FieldTrie::match_unescaped(const TrieNode& level, std::string_view key) const noexcept {
    const TrieNode* n = nodes_.data() + level.first_child;
    const TrieNode* const last = n + level.child_count;
    for (; n != last; ++n) {
        if (n->key == key) {
            return n;
        }
    }
    return nullptr;
}

}  // namespace sluice
