// Runs every shared conformance case (*.case, discovered at start-up) through
// sluice::run_query, the code path of `sluice query`, in several shard
// configurations: one test per case and configuration.
//
// usage: conformance_runner [gtest flags] DIR
// SLUICE_CONFORMANCE_DIR, when set, overrides DIR (the build always passes
// DIR, so the environment is the way to point a build at other cases).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../support/files.h"
#include "case_file.h"
#include "sluice/runtime.h"

namespace sluice::conformance {
namespace {

namespace fs = std::filesystem;


struct RunConfig {
    const char* suffix;
    uint32_t shards;
    bool parallel_read;
};

constexpr RunConfig kConfigs[] = {
    {"shards1", 1, false},
    {"shards4", 4, false},
    {"shards4_parallel_read", 4, true},
};

struct CaseParam {
    std::string path;
    std::string stem;
    int number = -1;  // the file name's leading digits
    RunConfig config{};
    std::shared_ptr<const Result<CaseFile>> parsed;  // parsed once, shared by the configurations
};

void PrintTo(const CaseParam& p, std::ostream* os) { *os << p.stem << " [" << p.config.suffix << "]"; }

std::vector<CaseParam>& case_params() {
    static std::vector<CaseParam> params;
    return params;
}

bool has_word(std::string_view text, std::string_view word) {
    auto is_word = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
    for (std::size_t at = 0; at + word.size() <= text.size(); ++at) {
        bool same = true;
        for (std::size_t k = 0; k < word.size() && same; ++k) {
            same = std::toupper(static_cast<unsigned char>(text[at + k])) == word[k];
        }
        if (!same) continue;
        const bool starts = at == 0 || !is_word(text[at - 1]);
        const bool ends = at + word.size() == text.size() || !is_word(text[at + word.size()]);
        if (starts && ends) return true;
    }
    return false;
}

// With parallel_read every byte range of the input file is its own source
// (with its own watermark) and the ranges are read concurrently, so records
// reach a group in an order the file does not fix. Results that need one
// ordered source cannot hold there, and those cases run with 1 and 4 shards
// only: late drops (`-- stats late_dropped`), LIMIT's first n rows, per-key
// row sequences (order=by-key), running EMIT CHANGES rows (explicit, or the
// default of a GROUP BY without a window), FIRST/LAST, ROWS windows (OVER)
// and session windows. The other cases also run with parallel_read, and
// order=exact is compared as `any` there: windows of different ranges may
// close in another order.
bool runs_with_parallel_read(const CaseFile& c) {
    const std::string& q = c.query;
    const bool windowed = has_word(q, "WINDOW");
    const bool grouped = has_word(q, "GROUP");
    const bool emits_changes = has_word(q, "CHANGES") || (grouped && !windowed && !has_word(q, "FINAL"));
    const bool arrival_order_functions =
        has_word(q, "FIRST") || has_word(q, "LAST") || has_word(q, "OVER") || has_word(q, "SESSION");
    return !c.has_stat("late_dropped") && !has_word(q, "LIMIT") && c.order != OrderMode::ByKey && !emits_changes &&
           !arrival_order_functions;
}

std::string sanitized(std::string s) {
    for (char& ch : s) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    return s;
}

Result<bool> discover_cases(const std::string& dir) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".case") files.push_back(it->path());
    }
    if (ec) return Error{"cannot list " + dir + ": " + ec.message()};
    if (files.empty()) return Error{"no *.case files in " + dir};
    std::sort(files.begin(), files.end());

    for (const auto& f : files) {
        CaseParam base;
        base.path = f.string();
        base.stem = f.stem().string();
        std::size_t digits = 0;
        while (digits < base.stem.size() && std::isdigit(static_cast<unsigned char>(base.stem[digits]))) ++digits;
        if (digits > 0) base.number = std::stoi(base.stem.substr(0, digits));
        base.parsed = std::make_shared<const Result<CaseFile>>(load_case(base.path));
        for (const RunConfig& config : kConfigs) {
            // A case that does not parse fails once per plain configuration.
            if (config.parallel_read && (!base.parsed->ok() || !runs_with_parallel_read(base.parsed->value()))) {
                continue;
            }
            CaseParam p = base;
            p.config = config;
            case_params().push_back(std::move(p));
        }
    }
    return true;
}

using testing::read_file;
using testing::TempDir;

// Runs one case in one configuration; returns an empty string on a match,
// else a report with the query, the expected and the actual rows.
std::string run_case(const CaseFile& c, const RunConfig& config) {
    std::ostringstream report;
    report << "case " << c.name << " with " << config.shards << " shard(s)"
           << (config.parallel_read ? " and parallel_read" : "") << "\nquery:\n";
    std::istringstream query_lines(c.query);
    for (std::string line; std::getline(query_lines, line);) report << "  " << line << "\n";

    TempDir tmp("sluice-conformance");
    if (tmp.path().empty()) return report.str() + "cannot create a temporary directory\n";
    const fs::path input = tmp.path() / "input.ndjson";
    const fs::path output = tmp.path() / "output.ndjson";
    {
        std::ofstream out(input, std::ios::binary);
        out << c.input;
        if (!out.flush()) return report.str() + "cannot write " + input.string() + "\n";
    }

    QueryOptions options;
    options.sql = c.query;
    options.input_path = input.string();
    options.output_path = output.string();
    options.shards = config.shards;
    options.parallel_read = config.parallel_read;
    options.idle = IdlePolicy::Adaptive;
    auto stats = run_query(options);
    if (!stats.ok()) return report.str() + "run_query failed: " + stats.error().message + "\n";

    bool readable = false;
    const std::string produced = read_file(output, &readable);
    if (!readable) return report.str() + "run_query succeeded but wrote no output file\n";
    auto actual = parse_rows(produced);
    if (!actual.ok()) return report.str() + "output is not NDJSON objects: " + actual.error().message + "\n";

    // Under parallel_read the file's order across ranges is not the arrival order.
    const OrderMode order = config.parallel_read && c.order == OrderMode::Exact ? OrderMode::Any : c.order;
    const Comparison cmp = compare_rows(c.expected, actual.value(), order, c.order_keys);

    std::string stat_errors;
    for (const ExpectedStat& s : c.stats) {
        const auto got = counter_value(stats->totals, s.name);
        if (!got || *got != s.value) {
            stat_errors += "  " + s.name + ": expected " + std::to_string(s.value) + ", got " +
                           (got ? std::to_string(*got) : std::string("(unknown)")) + "\n";
        }
    }
    if (cmp.ok && stat_errors.empty()) return {};

    report << "expected (order=" << order_text(order, c.order_keys) << "):\n"
           << rows_text(c.expected) << "actual:\n"
           << rows_text(actual.value());
    if (!cmp.ok) report << "difference:\n" << cmp.message;
    if (!stat_errors.empty()) report << "counters:\n" << stat_errors;
    return report.str();
}

class Conformance : public ::testing::TestWithParam<CaseParam> {};

TEST_P(Conformance, Run) {
    const CaseParam& p = GetParam();
    if (!p.parsed->ok()) FAIL() << "case file does not parse: " << p.parsed->error().message;
    const std::string failure = run_case(p.parsed->value(), p.config);
    if (!failure.empty()) FAIL() << failure;
}

std::string param_name(const ::testing::TestParamInfo<CaseParam>& info) {
    return sanitized(info.param.stem + "_" + info.param.config.suffix);
}

INSTANTIATE_TEST_SUITE_P(Cases, Conformance, ::testing::ValuesIn(case_params()), param_name);

}  // namespace
}  // namespace sluice::conformance

int main(int argc, char** argv) {
    std::string dir;
    for (int k = 1; k < argc; ++k) {
        if (argv[k][0] != '-') {
            dir = argv[k];
            break;
        }
    }
    if (const char* env = std::getenv("SLUICE_CONFORMANCE_DIR"); env && *env) dir = env;
    if (dir.empty()) {
        std::fprintf(stderr, "usage: %s [gtest flags] CONFORMANCE_DIR (or set SLUICE_CONFORMANCE_DIR)\n", argv[0]);
        return 2;
    }
    // The parameters must exist before InitGoogleTest instantiates the suite.
    if (auto found = sluice::conformance::discover_cases(dir); !found.ok()) {
        std::fprintf(stderr, "conformance: %s\n", found.error().message.c_str());
        return 1;
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
