// Command-line reading shared by sluice-gen and sluice-lat: "--name value",
// "--name=value" and value-less flags, and the numbers they take.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::tools {

inline std::optional<uint64_t> parse_u64(std::string_view text) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

// A finite non-negative decimal number ("2000", "0.5", "1e6"); with
// suffixes, k, M or G multiply by 1e3, 1e6, 1e9 ("250k").
inline std::optional<double> parse_number(std::string_view text, bool suffixes = false) {
    double scale = 1;
    if (suffixes && !text.empty()) {
        switch (text.back()) {
        case 'k': scale = 1e3; break;
        case 'M': scale = 1e6; break;
        case 'G': scale = 1e9; break;
        default: break;
        }
        if (scale != 1) text.remove_suffix(1);
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    v *= scale;
    if (!std::isfinite(v) || v < 0) return std::nullopt;
    return v;
}

struct Arg {
    std::string_view name;   // "--rate"
    std::string_view value;  // empty for a flag
};

// Walks argv once. Options named in `flags` take no value; those in
// `valued` take one; anything else is an error.
class ArgReader {
public:
    ArgReader(int argc, char** argv) : argc_(argc), argv_(argv) {}

    // False at the end or on an error (then error is set).
    bool next(Arg& out, std::string& error, std::initializer_list<std::string_view> flags,
              std::initializer_list<std::string_view> valued) {
        if (at_ >= argc_) return false;
        std::string_view arg = argv_[at_++];
        std::optional<std::string_view> inline_value;
        if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            inline_value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        const auto in = [&](std::initializer_list<std::string_view> names) {
            for (std::string_view n : names)
                if (n == arg) return true;
            return false;
        };
        out.name = arg;
        out.value = {};
        if (in(flags)) {
            if (inline_value) {
                error = std::string(arg) + " takes no value";
                return false;
            }
            return true;
        }
        if (!in(valued)) {
            error = "unknown argument '" + std::string(argv_[at_ - 1]) + "'";
            return false;
        }
        if (inline_value) {
            out.value = *inline_value;
        } else if (at_ < argc_) {
            out.value = argv_[at_++];
        } else {
            error = std::string(arg) + " needs a value";
            return false;
        }
        return true;
    }

private:
    int argc_;
    char** argv_;
    int at_ = 1;
};

}  // namespace sluice::tools
