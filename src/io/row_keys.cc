// Keys of result rows for the Kafka sink: a row is a flat JSON object as
// sluice's row writer makes it ({"name":value,...}, values are strings,
// numbers, true, false or null), so the key columns are found by position
// with a small scanner instead of a JSON parser.
#include "kafka.h"

namespace sluice::io {

namespace {

inline void skip_ws(const char*& p, const char* end) noexcept {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
}

int hex(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void put_utf8(uint32_t cp, std::string* out) {
    if (out == nullptr) return;
    if (cp < 0x80) {
        *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        *out += static_cast<char>(0xC0 | (cp >> 6));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out += static_cast<char>(0xE0 | (cp >> 12));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        *out += static_cast<char>(0xF0 | (cp >> 18));
        *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool read_u4(const char*& p, const char* end, uint32_t& v) noexcept {
    if (end - p < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
        const int h = hex(p[i]);
        if (h < 0) return false;
        v = (v << 4) | static_cast<uint32_t>(h);
    }
    p += 4;
    return true;
}

// A string starting at p (on the opening quote); unescaped into out (when given).
bool scan_string(const char*& p, const char* end, std::string* out) {
    if (p >= end || *p != '"') return false;
    ++p;
    for (;;) {
        const char* q = p;
        while (q < end && *q != '"' && *q != '\\') ++q;
        if (out != nullptr) out->append(p, static_cast<std::size_t>(q - p));
        if (q >= end) return false;
        if (*q == '"') {
            p = q + 1;
            return true;
        }
        // An escape.
        p = q + 1;
        if (p >= end) return false;
        const char e = *p++;
        char c;
        switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                uint32_t cp;
                if (!read_u4(p, end, cp)) return false;
                if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                    const char* save = p;
                    p += 2;
                    uint32_t lo;
                    if (read_u4(p, end, lo) && lo >= 0xDC00 && lo < 0xE000)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    else
                        p = save;
                }
                put_utf8(cp, out);
                continue;
            }
            default: return false;
        }
        if (out != nullptr) *out += c;
    }
}

// A scalar (number, true, false, null) up to the next ',' or '}'.
bool scan_scalar(const char*& p, const char* end, std::string_view& text) {
    const char* q = p;
    while (q < end && *q != ',' && *q != '}' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') ++q;
    if (q == p) return false;
    text = std::string_view(p, static_cast<std::size_t>(q - p));
    p = q;
    return true;
}

}  // namespace

bool row_key_text(std::string_view row, const std::vector<uint32_t>& key_columns, std::string& out) {
    out.clear();
    if (key_columns.empty()) return true;
    const char* p = row.data();
    const char* end = p + row.size();
    skip_ws(p, end);
    if (p >= end || *p != '{') return false;
    ++p;
    // Values of the key columns, in column order first, then joined in key order.
    uint32_t wanted_max = 0;
    for (uint32_t c : key_columns) wanted_max = c > wanted_max ? c : wanted_max;
    thread_local std::vector<std::string> values;
    thread_local std::vector<uint8_t> found;
    values.resize(key_columns.size());
    found.assign(key_columns.size(), 0);
    uint32_t column = 0;
    skip_ws(p, end);
    if (p < end && *p == '}') return false;  // no columns at all
    for (;;) {
        skip_ws(p, end);
        if (!scan_string(p, end, nullptr)) return false;  // the name
        skip_ws(p, end);
        if (p >= end || *p != ':') return false;
        ++p;
        skip_ws(p, end);
        // Which key positions take this column (a column may appear once in the key list).
        int target = -1;
        for (std::size_t k = 0; k < key_columns.size(); ++k)
            if (key_columns[k] == column) target = static_cast<int>(k);
        if (p >= end) return false;
        if (*p == '"') {
            std::string* into = nullptr;
            if (target >= 0) {
                values[static_cast<std::size_t>(target)].clear();
                into = &values[static_cast<std::size_t>(target)];
            }
            if (!scan_string(p, end, into)) return false;
        } else {
            std::string_view text;
            if (!scan_scalar(p, end, text)) return false;
            if (target >= 0) {
                if (text == "null")
                    values[static_cast<std::size_t>(target)].clear();
                else
                    values[static_cast<std::size_t>(target)].assign(text);
            }
        }
        if (target >= 0) found[static_cast<std::size_t>(target)] = 1;
        if (column == wanted_max) break;  // every key column is read; the rest does not matter
        skip_ws(p, end);
        if (p >= end) return false;
        if (*p == '}') break;
        if (*p != ',') return false;
        ++p;
        ++column;
    }
    for (std::size_t k = 0; k < key_columns.size(); ++k) {
        if (!found[k]) return false;
        if (k) out += '|';
        out += values[k];
    }
    return true;
}

}  // namespace sluice::io
