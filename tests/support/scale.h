// Size of the stress tests. SLUICE_TEST_SCALE=N divides the record or case
// count of the few tests that use scaled() (default 1: full size);
// scripts/test-sanitizers.sh sets 10, so the same assertions run on less data
// under ASan and TSan, which are 3 to 20 times slower.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace sluice::testing {

inline uint64_t test_scale() {
    const char* s = std::getenv("SLUICE_TEST_SCALE");
    const long long v = s != nullptr ? std::atoll(s) : 1;
    return v > 1 ? static_cast<uint64_t>(v) : 1;
}

// n divided by the scale (at least 1).
inline uint64_t scaled(uint64_t n) {
    const uint64_t v = n / test_scale();
    return v > 0 ? v : 1;
}

}  // namespace sluice::testing
