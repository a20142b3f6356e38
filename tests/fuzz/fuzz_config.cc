// libFuzzer target: the appliance's TOML config loader (parse_config, the
// text form of load_config) and what `sluice check` does next (check_config:
// plans every query), on any text. Errors must come back as
// "FILE:LINE:COL: message" lines, never as a crash or an escaping exception.
//
// The config is read as if from /nonexistent-sluice-fuzz/, so a relative
// sql_file opens nothing. An absolute sql_file is not loaded at all (it could
// name /dev/zero or a FIFO: a read that never ends is not the loader's bug);
// nor is the host's CPU list checked (hwloc, not the config).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "runtime/config.h"

namespace {

constexpr const char* kName = "/nonexistent-sluice-fuzz/fuzz.toml";

// True when some [[queries]] table names an absolute sql_file.
bool absolute_sql_file(std::string_view text) {
    toml::table root;
#if TOML_EXCEPTIONS
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error&) {
        return false;
    }
#else
    toml::parse_result parsed = toml::parse(text);
    if (!parsed) return false;
    root = std::move(parsed).table();
#endif
    const toml::array* queries = root["queries"].as_array();
    if (!queries) return false;
    for (const toml::node& q : *queries) {
        const toml::table* t = q.as_table();
        if (!t) continue;
        const toml::node* f = t->get("sql_file");
        const toml::value<std::string>* s = f ? f->as_string() : nullptr;
        if (s && !s->get().empty() && s->get()[0] == '/') return true;
    }
    return false;
}

void expect_located(const std::string& message, const char* what) {
    // Every line starts with the file name and a position.
    std::size_t at = 0;
    while (at < message.size()) {
        std::size_t nl = message.find('\n', at);
        if (nl == std::string::npos) nl = message.size();
        const std::string_view line(message.data() + at, nl - at);
        if (line.substr(0, std::string_view(kName).size()) != kName) {
            std::fprintf(stderr, "fuzz_config: %s error without its place: '%.*s'\n", what,
                         static_cast<int>(line.size()), line.data());
            std::abort();
        }
        at = nl + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    // (The pre-parse below is plain toml++, which a long dotted key overflows
    // at ~30,000 parts; parse_config refuses those. scripts/fuzz.sh stays at 8 KiB.)
    if (size > 32768) return -1;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (absolute_sql_file(text)) return -1;
    sluice::Result<sluice::AppConfig> config = sluice::parse_config(text, kName);
    if (!config) {
        expect_located(config.error().message, "parse_config");
        return 0;
    }
    sluice::AppConfig cfg = std::move(config.value());
    cfg.shards.cpus.clear();
    sluice::Result<std::vector<sluice::Plan>> plans = sluice::check_config(cfg);
    if (!plans) {
        expect_located(plans.error().message, "check_config");
    } else if (plans->size() != cfg.queries.size()) {
        std::fprintf(stderr, "fuzz_config: %zu queries, %zu plans\n", cfg.queries.size(), plans->size());
        std::abort();
    }
    return 0;
}
