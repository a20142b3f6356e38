// NdjsonDecoder: one simdjson On-Demand pass over one line, or over a block
// of lines that share one stage 1.
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
//
// decode_block() runs one stage 1 (iterate_many) over a window of whole lines
// and walks its documents with the same code, in step with the lines. 3.0.1
// splits documents by structure, not by newline, so a document is taken as
// line L's only when stage 1 succeeded on the window and:
//  - the window's first document starts at its first line's first non-blank
//    byte (later ones start where the previous one was checked to end);
//  - L is at most max_record bytes long, and the walk succeeds on an object;
//  - the next token is the first non-blank byte of the next non-blank line L'
//    (when every indexed token is consumed: the start of the incomplete tail
//    that stage 1 dropped, see truncated_bytes(), or nothing when L is the
//    window's last line and nothing was dropped).
// Then the document's tokens are exactly L's, tokenized as decode() tokenizes
// L alone: stage 1 fails (UNESCAPED_CHARS) if a string holds a raw '\n', so
// every line starts outside a string and after whitespace, and it checks the
// whole window's UTF-8. The walk validates every container it enters, so the
// checks decode() makes at the root (the last token is '}', the tokens
// balance) hold too. Two traps of streaming mode are closed in open_window():
// a walk that runs off the last indexed token reads the byte just past the
// stream as one more token (the stream ends before the window's last '\n',
// so that byte is a '\n', which no walk accepts), and stage 1 silently drops
// up to 3 final bytes that may be a cut UTF-8 sequence (the stream ends on a
// line with no UTF-8 lead byte among its last 3 bytes, as every valid one).
//
// Anything else is an anomaly: the stream is dropped, L goes to decode(), and
// a new window starts after it. Windows after an anomaly start small (twice
// the bytes the last one got through, at least kMinWindow) and double while
// clean; after windows that fail on their first line the next few lines go
// straight to decode(), so a run of bad lines costs about what decode() does.
//
// simdjson is compiled here without thread support: with it, 3.0.1 gives every
// document_stream a heap-allocated stage-1 worker (whose destructor locks a
// mutex) even when parser.threaded is false. This file is the only user of
// On-Demand (and of parser/stream types) in the program, so the layouts agree;
// another file using them must include simdjson the same way.
#pragma push_macro("_REENTRANT")
#undef _REENTRANT
#undef SIMDJSON_THREADS_ENABLED
#include <simdjson.h>
#pragma pop_macro("_REENTRANT")
#ifdef SIMDJSON_THREADS_ENABLED
#error "the decoder must see simdjson without threads (no allocation per document_stream)"
#endif

#include <string.h>  // memrchr (GNU)

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "field_trie.h"
#include "json_tokens.h"
#include "sluice/decode.h"

namespace sluice {

namespace od = simdjson::ondemand;

namespace {

static_assert(kDecodePadding >= simdjson::SIMDJSON_PADDING, "decoder padding must cover simdjson's");
static_assert(sizeof(Value) == 16 && std::is_trivially_copyable_v<Value> && Value::null().i == 0 && Value::null().len == 0 &&
                  static_cast<int>(Value::null().type) == 0,
              "clearing a slot with memset must give Value::null()");

// Deeper nesting is rejected: it bounds the recursion of the skip walk.
constexpr int kMaxDepth = 256;

// Smallest stream window after an anomaly: small enough that a wasted stage 1
// costs about one decode(), large enough to amortize starting a stream.
constexpr std::size_t kMinWindow = 1024;
// Lines decoded one by one after windows that failed on their first line
// (2^k - 1 after k such windows in a row, at most this).
constexpr unsigned kMaxCoolLines = 63;
// Lines a window may give back at its end to avoid a malformed UTF-8 tail.
constexpr int kMaxBackoff = 4;
// The parser never shrinks below simdjson's MINIMAL_BATCH_SIZE, so that a
// stream's batch is exactly the parser's capacity (no reallocation).
constexpr std::size_t kMinCapacity = 4096;

inline bool blank_byte(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

// A line of a block: where it starts and its first non-blank byte.
struct Line {
    const char* start = nullptr;
    const char* tok = nullptr;  // nullptr: no further non-blank line
};

// The first non-blank line starting at or after s, before limit.
inline Line next_line(const char* s, const char* limit) noexcept {
    while (s < limit) {
        const char* t = s;
        while (t != limit && blank_byte(*t)) {
            ++t;
        }
        if (t != limit && *t != '\n') {
            return {s, t};
        }
        s = t + 1;  // a blank line
    }
    return {};
}

// No UTF-8 lead byte among the last (up to) 3 bytes of [p, p+len): nothing
// there can be taken for a cut multi-byte sequence. A valid JSON line always
// passes (it ends with '}' and whitespace, after at most a continuation byte).
inline bool whole_utf8_tail(const char* p, std::size_t len) noexcept {
    for (std::size_t i = len < 3 ? 0 : len - 3; i < len; ++i) {
        if (static_cast<unsigned char>(p[i]) >= 0xC0) {
            return false;
        }
    }
    return true;
}

// The end of the line whose first non-blank byte is tok: its '\n', or limit.
inline const char* line_end(const char* tok, const char* limit) noexcept {
    const auto* nl = static_cast<const char*>(std::memchr(tok, '\n', static_cast<std::size_t>(limit - tok)));
    return nl != nullptr ? nl : limit;
}

}  // namespace

struct NdjsonDecoder::Impl {
    Impl(const std::vector<FieldPath>& fields, std::size_t max_record_bytes, std::size_t max_block_bytes)
        : trie(fields),
          field_count(fields.size()),
          max_record(max_record_bytes),
          capacity(std::max({max_record_bytes, max_block_bytes, kMinCapacity})) {}

    od::parser parser;
    FieldTrie trie;
    std::size_t field_count;
    std::size_t max_record;
    std::size_t capacity;  // the parser's, and every stream's batch size

    // Per-call state.
    Value* out = nullptr;
    uint64_t mismatches = 0;

    // Block state (decode_block).
    const char* block_end = nullptr;
    const char* next = nullptr;  // where the lines not yet handed out start
    bool streaming = false;      // a stream window is open
    bool advance = false;        // the stream's current document was handed out
    const char* win_start = nullptr;
    const char* win_end = nullptr;   // just after the window's last '\n'
    std::size_t win_len = 0;         // bytes in the stream: up to that '\n'
    Line pending;                // the window's next line (streaming only)
    uint64_t win_docs = 0;       // documents the window got through
    std::size_t window = 0;      // bytes of the next window
    unsigned misses = 0;         // windows in a row that failed on their first line
    unsigned cool = 0;           // lines to decode alone before the next window
    od::document_stream stream;
    od::document_stream::iterator it;
    BlockStats stats;
    const char* line = nullptr;  // the line last handed to decode() or streamed (last_line())
    std::size_t line_len = 0;

    [[gnu::always_inline]] inline bool stream_doc(Value* o, uint64_t& type_mismatch) noexcept;
    bool open_window(Line first) noexcept;
    NdjsonDecoder::Step decode_line(NdjsonDecoder& dec, Line l, Value* o, uint64_t& type_mismatch) noexcept;

    bool decode_object(od::object& obj, const TrieNode& level, int depth) noexcept;
    const TrieNode* match(od::field& f, const TrieNode& level, bool& error) noexcept;
    const TrieNode* match_escaped(od::field& f, const TrieNode& level, const char* raw, bool& error) noexcept;
    void clear(Value* o) const noexcept {
        // Value::null() is all zero bytes: zero the slots as one range (o may
        // be null when the plan reads no field). Up to 128 bytes, two
        // possibly overlapping fixed-size stores instead of a libc call.
        const std::size_t n = field_count * sizeof(Value);
        auto* b = reinterpret_cast<unsigned char*>(o);
        if (n > 128) {
            std::memset(b, 0, n);
        } else if (n > 64) {
            std::memset(b, 0, 64);
            std::memset(b + n - 64, 0, 64);
        } else if (n >= 32) {
            std::memset(b, 0, 32);
            std::memset(b + n - 32, 0, 32);
        } else if (n != 0) {
            std::memset(b, 0, 16);
        }
    }
    // Inlined into the field loop: the call cost was a quarter of a leaf's.
    [[gnu::always_inline]] inline bool read_leaf(od::value& v, Value& slot, int depth) noexcept;
    bool skip_value(od::value& v, int depth) noexcept;
    bool skip_object(od::object& obj, int depth) noexcept;
};

NdjsonDecoder::NdjsonDecoder(const std::vector<FieldPath>& fields, std::size_t max_record_bytes,
                             std::size_t max_block_bytes)
    : impl_(std::make_unique<Impl>(fields, max_record_bytes == 0 ? kDefaultMaxRecordBytes : max_record_bytes,
                                   max_block_bytes)) {
    // One allocation for the largest record or block: neither iterate() nor
    // iterate_many() with this batch size allocates after this.
    if (impl_->parser.allocate(impl_->capacity) != simdjson::SUCCESS) {
        throw std::runtime_error("cannot allocate the JSON parser for " + std::to_string(impl_->capacity) +
                                 "-byte inputs");
    }
    impl_->window = impl_->capacity;
}

NdjsonDecoder::~NdjsonDecoder() = default;

std::size_t NdjsonDecoder::field_count() const noexcept { return impl_->field_count; }

const NdjsonDecoder::BlockStats& NdjsonDecoder::block_stats() const noexcept { return impl_->stats; }

// ---------------------------------------------------------------------------
// Per-record path.

std::string_view NdjsonDecoder::last_line() const noexcept { return {impl_->line, impl_->line_len}; }

bool NdjsonDecoder::decode(const char* p, std::size_t len, Value* out, uint64_t& type_mismatch) noexcept {
    Impl& im = *impl_;
    im.line = p;
    im.line_len = len;
    im.clear(out);
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

// ---------------------------------------------------------------------------
// Block path.

void NdjsonDecoder::block_begin(const char* p, std::size_t len) noexcept {
    Impl& im = *impl_;
    im.next = p;
    im.block_end = p + len;
    im.streaming = false;
    // Anomaly state (window, misses) carries over: bad input tends to come in runs.
}

NdjsonDecoder::Step NdjsonDecoder::block_next(Value* out, uint64_t& type_mismatch) noexcept {
    Impl& im = *impl_;
    for (;;) {
        if (im.streaming) {
            if (im.pending.tok == nullptr) {
                // The window is done, every line of it through the stream.
                im.streaming = false;
                im.next = im.win_end;
                im.window = std::min(im.window * 2, im.capacity);
                im.misses = 0;
                continue;
            }
            if (im.stream_doc(out, type_mismatch)) [[likely]] {
                return Step::Record;
            }
            // An anomaly at the pending line: it goes to decode(), and the
            // next window is sized by what this one got through.
            im.streaming = false;
            const auto clean = static_cast<std::size_t>(im.pending.start - im.win_start);
            im.window = std::clamp(clean * 2, kMinWindow, im.capacity);
            if (im.win_docs == 0) {
                im.misses = std::min(im.misses + 1, 6u);
                im.cool = std::min((1u << im.misses) - 1, kMaxCoolLines);
            } else {
                im.misses = 0;
            }
            return im.decode_line(*this, im.pending, out, type_mismatch);
        }
        const Line l = next_line(im.next, im.block_end);
        if (l.tok == nullptr) {
            im.next = im.block_end;
            return Step::End;
        }
        if (im.cool != 0) {
            --im.cool;
            return im.decode_line(*this, l, out, type_mismatch);
        }
        if (!im.open_window(l)) {
            return im.decode_line(*this, l, out, type_mismatch);
        }
    }
}

// Decodes line l alone and moves past it.
NdjsonDecoder::Step NdjsonDecoder::Impl::decode_line(NdjsonDecoder& dec, Line l, Value* o,
                                                     uint64_t& type_mismatch) noexcept {
    ++stats.alone;
    const char* const end = line_end(l.tok, block_end);
    next = end == block_end ? end : end + 1;
    std::size_t len = static_cast<std::size_t>(end - l.start);
    if (l.start[len - 1] == '\r') {  // len >= 1: l.tok is in the line
        --len;
    }
    return dec.decode(l.start, len, o, type_mismatch) ? Step::Record : Step::Reject;
}

// Starts a stream over whole lines from `first`: about `window` bytes, ending
// with a '\n', at most the parser's capacity. False when there is none (the
// first line is unterminated, or longer than any window): that line goes to
// decode().
bool NdjsonDecoder::Impl::open_window(Line first) noexcept {
    const char* const s = first.start;
    const auto left = static_cast<std::size_t>(block_end - s);
    const std::size_t want = std::min(left, window);
    // Back to the last line end within the window; when the first line is
    // longer than that, forward to its end.
    const auto* nl = static_cast<const char*>(::memrchr(s, '\n', want));
    if (nl == nullptr && want < left) {
        nl = static_cast<const char*>(std::memchr(s + want, '\n', std::min(left, capacity) - want));
    }
    // In streaming mode stage 1 silently drops up to 3 final bytes that might
    // be a cut UTF-8 sequence: they would be neither validated nor indexed.
    // End the stream on a line that cannot end that way (a few lines back at
    // most: past malformed tails, the next window starts small).
    for (int back = 0; nl != nullptr && !whole_utf8_tail(s, static_cast<std::size_t>(nl - s)); ++back) {
        if (back == kMaxBackoff) {
            window = kMinWindow;
            return false;
        }
        nl = static_cast<const char*>(::memrchr(s, '\n', static_cast<std::size_t>(nl - s)));
    }
    if (nl == nullptr) {
        return false;
    }
    ++stats.windows;
    win_start = s;
    win_end = nl + 1;
    // The stream stops short of the window's last '\n'. simdjson's end
    // sentinel is the byte just past the stream, read as one more token when a
    // walk runs off the end (an unclosed last document); a '\n' is not a valid
    // token anywhere, so that walk fails there instead of reading on into
    // stale structural indexes.
    win_len = static_cast<std::size_t>(nl - s);
    pending = first;
    win_docs = 0;
    advance = false;
    streaming = true;
    if (parser.iterate_many(s, win_len, capacity).get(stream) != simdjson::SUCCESS) {
        it = od::document_stream::iterator();  // finished: the first line is an anomaly
        return true;
    }
    it = stream.begin();  // runs stage 1 over the window
    return true;
}

// Walks the stream's next document as the pending line's; true when it is
// exactly that line's record (out filled, pending moved to the next line).
bool NdjsonDecoder::Impl::stream_doc(Value* o, uint64_t& type_mismatch) noexcept {
    if (advance) {
        ++it;  // only now: the strings of the last record lived until its callback returned
        advance = false;
    }
    if (!(it != stream.end())) {
        return false;  // fewer documents than lines
    }
    od::document_reference doc;
    if ((*it).get(doc) != simdjson::SUCCESS) {
        return false;
    }
    if (win_docs == 0) {
        // The window's first document starts at its first token. Later ones
        // start where the last one ended, which was checked to be this line.
        const char* at = nullptr;
        if (doc.current_location().get(at) != simdjson::SUCCESS || at != pending.tok) {
            return false;
        }
    }
    const char* const end = line_end(pending.tok, win_end);
    std::size_t len = static_cast<std::size_t>(end - pending.start);
    if (pending.start[len - 1] == '\r') {
        --len;
    }
    if (len > max_record) [[unlikely]] {
        return false;
    }
    line = pending.start;
    line_len = len;
    const Line after = end == win_end ? Line{} : next_line(end + 1, win_end);
    clear(o);
    od::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        return false;
    }
    out = o;
    mismatches = 0;
    if (!decode_object(obj, trie.root(), 1)) {
        return false;
    }
    // The document must end where the line does: the next token is the next
    // line's first (see the top of the file).
    const char* following = nullptr;
    const simdjson::error_code e = doc.current_location().get(following);
    if (e == simdjson::OUT_OF_BOUNDS) {
        // Every indexed token is consumed. What follows is where stage 1
        // stopped indexing: nothing, or the start of the incomplete last
        // document it dropped.
        const std::size_t dropped = stream.truncated_bytes();
        if (dropped > win_len) [[unlikely]] {
            return false;
        }
        following = dropped == 0 ? nullptr : win_start + (win_len - dropped);
    } else if (e != simdjson::SUCCESS) {
        return false;
    }
    if (following != after.tok) {
        return false;
    }
    for (const auto& [from, to] : trie.dup_slots()) {
        o[to] = o[from];
    }
    type_mismatch += mismatches;
    pending = after;
    advance = true;
    ++win_docs;
    ++stats.streamed;
    return true;
}

// The trie child named by the field's key, or nullptr.
inline const TrieNode* NdjsonDecoder::Impl::match(od::field& f, const TrieNode& level, bool& error) noexcept {
    const char* raw = f.key().raw();  // just after the opening quote
    if (const TrieNode* n = trie.match_raw(level, raw)) [[likely]] {
        return n;
    }
    return match_escaped(f, level, raw, error);
}

// The raw key matched no child; it might be an escaped spelling of a wanted key.
const TrieNode* NdjsonDecoder::Impl::match_escaped(od::field& f, const TrieNode& level, const char* raw,
                                                   bool& error) noexcept {
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
