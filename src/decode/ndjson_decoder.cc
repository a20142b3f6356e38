// NdjsonDecoder: one simdjson On-Demand pass over one line.
//
// decode() walks the object's fields once, in document order, and matches
// each raw key against the current level of the field trie (field_trie.h):
//  - a leaf is read into its slot;
//  - an interior node recurses into the value when it is an object;
//  - anything else is skipped, but still walked and checked, so that a
//    malformed value in a field the query never reads rejects the line too.
// Only a raw key that contains a backslash is unescaped (slow path).
//
// Errors come back as simdjson error codes through .get(); nothing here
// throws, and nothing allocates after the constructor.
#include <simdjson.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "field_trie.h"
#include "json_tokens.h"
#include "sluice/decode.h"

namespace sluice {

namespace od = simdjson::ondemand;

namespace {

static_assert(kDecodePadding >= simdjson::SIMDJSON_PADDING, "decoder padding must cover simdjson's");

// Deeper nesting is rejected: it bounds the recursion of the skip walk.
constexpr int kMaxDepth = 256;

}  // namespace

struct NdjsonDecoder::Impl {
    Impl(const std::vector<FieldPath>& fields, std::size_t max_record_bytes)
        : trie(fields), field_count(fields.size()), max_record(max_record_bytes) {}

    od::parser parser;
    FieldTrie trie;
    std::size_t field_count;
    std::size_t max_record;

    // Per-call state.
    Value* out = nullptr;
    uint64_t mismatches = 0;

    bool decode_object(od::object& obj, const TrieNode& level, int depth) noexcept;
    const TrieNode* match(od::field& f, const TrieNode& level, bool& error) noexcept;
    bool read_leaf(od::value& v, Value& slot, int depth) noexcept;
    bool skip_value(od::value& v, int depth) noexcept;
    bool skip_object(od::object& obj, int depth) noexcept;
};

NdjsonDecoder::NdjsonDecoder(const std::vector<FieldPath>& fields, std::size_t max_record_bytes)
    : impl_(std::make_unique<Impl>(fields, max_record_bytes == 0 ? kDefaultMaxRecordBytes : max_record_bytes)) {
    // One allocation for the largest record: iterate() never allocates after this.
    if (impl_->parser.allocate(impl_->max_record) != simdjson::SUCCESS) {
        throw std::runtime_error("cannot allocate the JSON parser for " + std::to_string(impl_->max_record) +
                                 "-byte records");
    }
#if SIMDJSON_THREADS_ENABLED
    impl_->parser.threaded = false;  // never a helper thread (only iterate_many would start one)
#endif
}

NdjsonDecoder::~NdjsonDecoder() = default;

std::size_t NdjsonDecoder::field_count() const noexcept { return impl_->field_count; }

// ---------------------------------------------------------------------------
// Per-record path.

bool NdjsonDecoder::decode(const char* p, std::size_t len, Value* out, uint64_t& type_mismatch) noexcept {
    Impl& im = *impl_;
    for (std::size_t i = 0; i < im.field_count; ++i) {
        out[i] = Value::null();
    }
    if (len > im.max_record) [[unlikely]] {
        return false;  // the parser would have to grow
    }
    od::document doc;
    if (im.parser.iterate(p, len, len + kDecodePadding).get(doc) != simdjson::SUCCESS) {
        return false;
    }
    od::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        return false;  // not an object, or unbalanced
    }
    im.out = out;
    im.mismatches = 0;
    if (!im.decode_object(obj, im.trie.root(), 1)) {
        return false;
    }
    // Only whitespace may follow the object: the token stream must be
    // exhausted (current_location() reports OUT_OF_BOUNDS exactly then).
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
        return false;
    }
    for (const auto& [from, to] : im.trie.dup_slots()) {
        out[to] = out[from];
    }
    type_mismatch += im.mismatches;
    return true;
}

// The trie child named by the field's key, or nullptr.
const TrieNode* NdjsonDecoder::Impl::match(od::field& f, const TrieNode& level, bool& error) noexcept {
    const char* raw = f.key().raw();  // just after the opening quote
    if (const TrieNode* n = trie.match_raw(level, raw)) {
        return n;
    }
    // Slow path: the raw key might be an escaped spelling of a wanted key.
    const char* q = raw;
    while (*q != '"' && *q != '\\') {
        ++q;
    }
    if (*q == '"') {
        return nullptr;
    }
    std::string_view key;
    if (f.unescaped_key().get(key) != simdjson::SUCCESS) {
        error = true;
        return nullptr;
    }
    return trie.match_unescaped(level, key);
}

bool NdjsonDecoder::Impl::decode_object(od::object& obj, const TrieNode& level, int depth) noexcept {
    for (auto item : obj) {
        od::field f;
        if (std::move(item).get(f) != simdjson::SUCCESS) {
            return false;
        }
        bool bad_key = false;
        const TrieNode* n = match(f, level, bad_key);
        if (bad_key) [[unlikely]] {
            return false;
        }
        od::value& v = f.value();
        if (n == nullptr) {
            if (!skip_value(v, depth)) {
                return false;
            }
            continue;
        }
        if (n->child_count == 0) {
            if (!read_leaf(v, out[n->slot], depth)) {
                return false;
            }
            continue;
        }
        // Interior node. A repeated key replaces the earlier value whole (last
        // one wins), so forget what the earlier one filled in.
        const uint32_t* sub = trie.sub_slots(*n);
        for (uint32_t i = 0; i < n->sub_count; ++i) {
            out[sub[i]] = Value::null();
        }
        od::json_type t;
        if (v.type().get(t) != simdjson::SUCCESS) {
            return false;
        }
        if (t != od::json_type::object) {
            // The path goes through a non-object: the deeper fields are missing.
            if (n->slot != kNoSlot) {
                if (!read_leaf(v, out[n->slot], depth)) {
                    return false;
                }
            } else if (!skip_value(v, depth)) {
                return false;
            }
            continue;
        }
        if (n->slot != kNoSlot) {
            ++mismatches;  // the same path is also read as a scalar
        }
        if (depth >= kMaxDepth) [[unlikely]] {
            return false;
        }
        od::object inner;
        if (v.get_object().get(inner) != simdjson::SUCCESS) {
            return false;
        }
        if (!decode_object(inner, *n, depth + 1)) {
            return false;
        }
    }
    return true;
}

bool NdjsonDecoder::Impl::read_leaf(od::value& v, Value& slot, int depth) noexcept {
    od::json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) {
        return false;
    }
    switch (t) {
        case od::json_type::number: {
            od::number num;
            if (v.get_number().get(num) != simdjson::SUCCESS) [[unlikely]] {
                // Integers beyond 64 bits are still valid JSON numbers.
                double d;
                if (v.get_double().get(d) == simdjson::SUCCESS) {
                    slot = Value::of_double(d);
                    return true;
                }
                // Valid JSON but beyond a double's range (1e400): not a value
                // of any SQL type, like a wrong-typed one.
                const std::string_view token = v.raw_json_token();
                if (!json_number_token(token.data(), token.data() + token.size())) {
                    return false;
                }
                slot = Value::null();
                ++mismatches;
                return true;
            }
            switch (num.get_number_type()) {
                case od::number_type::signed_integer:
                    slot = Value::of_int(num.get_int64());
                    break;
                case od::number_type::unsigned_integer:
                    slot = Value::of_double(static_cast<double>(num.get_uint64()));
                    break;
                case od::number_type::floating_point_number:
                    slot = Value::of_double(num.get_double());
                    break;
            }
            return true;
        }
        case od::json_type::string: {
            std::string_view s;
            if (v.get_string().get(s) != simdjson::SUCCESS) {
                return false;
            }
            slot = Value::of_string(s);
            return true;
        }
        case od::json_type::boolean: {
            bool b;
            if (v.get_bool().get(b) != simdjson::SUCCESS) {
                return false;
            }
            slot = Value::of_bool(b);
            return true;
        }
        case od::json_type::null: {
            bool is_null;
            if (v.is_null().get(is_null) != simdjson::SUCCESS || !is_null) {
                return false;
            }
            slot = Value::null();
            return true;
        }
        case od::json_type::object:
        case od::json_type::array:
            slot = Value::null();
            ++mismatches;
            return skip_value(v, depth);
    }
    return false;
}

// Walks a value nobody reads, validating it as fully as reading it would.
// Scalars are checked on their raw token without being consumed (the field
// loop steps over them); only strings with escapes are unescaped.
bool NdjsonDecoder::Impl::skip_value(od::value& v, int depth) noexcept {
    const std::string_view token = v.raw_json_token();
    const char* p = token.data();
    const char* const end = p + token.size();
    switch (*p) {
        case '"':
            // Stage 1 has checked quotes, UTF-8 and control bytes; only escapes remain.
            if (std::memchr(p, '\\', token.size()) == nullptr) {
                return true;
            } else {
                std::string_view s;
                return v.get_string().get(s) == simdjson::SUCCESS;
            }
        case 't':
            return json_literal_token(p, end, "true", 4);
        case 'f':
            return json_literal_token(p, end, "false", 5);
        case 'n':
            return json_literal_token(p, end, "null", 4);
        case '{':
        case '[':
            break;
        default:
            return json_number_token(p, end);
    }
    od::json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) {
        return false;
    }
    switch (t) {
        case od::json_type::object: {
            if (depth >= kMaxDepth) [[unlikely]] {
                return false;
            }
            od::object obj;
            if (v.get_object().get(obj) != simdjson::SUCCESS) {
                return false;
            }
            return skip_object(obj, depth + 1);
        }
        case od::json_type::array: {
            if (depth >= kMaxDepth) [[unlikely]] {
                return false;
            }
            od::array arr;
            if (v.get_array().get(arr) != simdjson::SUCCESS) {
                return false;
            }
            for (auto item : arr) {
                od::value e;
                if (std::move(item).get(e) != simdjson::SUCCESS || !skip_value(e, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        default:
            return false;
    }
}

bool NdjsonDecoder::Impl::skip_object(od::object& obj, int depth) noexcept {
    for (auto item : obj) {
        od::field f;
        if (std::move(item).get(f) != simdjson::SUCCESS) {
            return false;
        }
        // Raw keys are not unescaped on the way; check the escaped ones here.
        const char* q = f.key().raw();
        while (*q != '"' && *q != '\\') {
            ++q;
        }
        if (*q == '\\') {
            std::string_view key;
            if (f.unescaped_key().get(key) != simdjson::SUCCESS) {
                return false;
            }
        }
        od::value& v = f.value();
        if (!skip_value(v, depth)) {
            return false;
        }
    }
    return true;
}

}  // namespace sluice
