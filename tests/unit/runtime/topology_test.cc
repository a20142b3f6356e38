#include <gtest/gtest.h>

#include "runtime/topology.h"

namespace sluice {
namespace {

TEST(CpuList, ParsesRangesAndSingles) {
    auto r = parse_cpu_list("0-3,6,8-9");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), (std::vector<unsigned>{0, 1, 2, 3, 6, 8, 9}));
    EXPECT_EQ(format_cpu_list(r.value()), "0-3,6,8-9");
}

TEST(CpuList, RejectsMalformedText) {
    for (const char* bad : {"", "a", "3-1", "1,", ",1", "1--2", "1-", "99999"}) {
        EXPECT_FALSE(parse_cpu_list(bad).ok()) << bad;
    }
}

TEST(TopologyTest, PinsToAnAllowedCpuAndRefusesOthers) {
    auto t = Topology::load();
    ASSERT_TRUE(t.ok()) << t.error().message;
    std::unique_ptr<Topology> topo(t.value());
    ASSERT_FALSE(topo->allowed_cpus().empty());
    EXPECT_EQ(topo->pin_current_thread(topo->allowed_cpus().front()), "");
    std::string err = topo->pin_current_thread(4000);
    EXPECT_NE(err.find("CPU 4000 is not allowed"), std::string::npos) << err;
}

}  // namespace
}  // namespace sluice
