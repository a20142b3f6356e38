// Short constructors of Values for test tables.
#pragma once

#include <cstdint>
#include <cstring>

#include "sluice/value.h"

namespace sluice::testing {

inline Value I(int64_t v) { return Value::of_int(v); }
inline Value D(double v) { return Value::of_double(v); }
// The string must outlive the Value (literals do).
inline Value S(const char* s) { return Value::of_string(s, static_cast<uint32_t>(std::strlen(s))); }
inline Value B(bool b) { return Value::of_bool(b); }
inline Value N() { return Value::null(); }

}  // namespace sluice::testing
