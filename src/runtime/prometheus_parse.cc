#include "prometheus_parse.h"

#include <cmath>
#include <cstdlib>

namespace sluice {

namespace {

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
}

// {k="v",...} starting at text[i] == '{'; i ends after '}'.
bool parse_labels(std::string_view text, std::size_t& i, std::map<std::string, std::string>& out) {
    ++i;
    while (i < text.size() && text[i] != '}') {
        const std::size_t k0 = i;
        while (i < text.size() && name_char(text[i])) ++i;
        if (i == k0 || i + 1 >= text.size() || text[i] != '=' || text[i + 1] != '"') return false;
        const std::string key(text.substr(k0, i - k0));
        i += 2;
        std::string value;
        for (;; ++i) {
            if (i >= text.size()) return false;
            const char c = text[i];
            if (c == '"') break;
            if (c == '\\') {
                if (++i >= text.size()) return false;
                value += text[i] == 'n' ? '\n' : text[i];
            } else {
                value += c;
            }
        }
        ++i;
        out[key] = std::move(value);
        if (i < text.size() && text[i] == ',') ++i;
    }
    if (i >= text.size()) return false;
    ++i;
    return true;
}

bool parse_value(std::string_view text, double& v) {
    if (text == "+Inf") v = INFINITY;
    else if (text == "-Inf") v = -INFINITY;
    else if (text == "NaN") v = NAN;
    else {
        const std::string s(text);
        char* end = nullptr;
        v = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0') return false;
    }
    return true;
}

}  // namespace

std::vector<PromSample> parse_prometheus(std::string_view text, std::size_t* bad) {
    std::vector<PromSample> out;
    std::size_t malformed = 0;
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (line.empty() || line[0] == '#') continue;
        PromSample s;
        std::size_t i = 0;
        while (i < line.size() && name_char(line[i])) ++i;
        s.name = std::string(line.substr(0, i));
        bool ok = !s.name.empty();
        if (ok && i < line.size() && line[i] == '{') ok = parse_labels(line, i, s.labels);
        if (ok && (i >= line.size() || line[i] != ' ')) ok = false;
        if (ok) {
            std::string_view rest = line.substr(i + 1);
            rest = rest.substr(0, rest.find(' '));  // an optional timestamp follows
            ok = parse_value(rest, s.value);
        }
        if (ok) out.push_back(std::move(s));
        else ++malformed;
    }
    if (bad) *bad = malformed;
    return out;
}

std::optional<double> prom_sum(const std::vector<PromSample>& samples, std::string_view name,
                               const std::map<std::string, std::string>& match) {
    std::optional<double> sum;
    for (const PromSample& s : samples) {
        if (s.name != name) continue;
        bool all = true;
        for (const auto& [k, v] : match) {
            const auto it = s.labels.find(k);
            if (it == s.labels.end() || it->second != v) {
                all = false;
                break;
            }
        }
        if (all) sum = sum.value_or(0) + s.value;
    }
    return sum;
}

}  // namespace sluice
