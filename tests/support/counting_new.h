// Test support: the binaries that link counting_new.cc replace the global
// operator new, so a test can assert that a code path allocates nothing.
#pragma once

#include <cstdint>

namespace sluice::test {

// Calls to any operator new since the program started.
uint64_t allocation_count() noexcept;

}  // namespace sluice::test
