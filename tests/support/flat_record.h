// Test inputs written as flat JSON objects (`{"k":"a","v":1.5,"n":null}`:
// strings without escapes, integers, doubles, booleans, null) turned into
// Values without the engine's decoder. String values live in the caller's store.
#pragma once

#include <cstdlib>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "sluice/value.h"

namespace sluice::testing {

using FlatFields = std::vector<std::pair<std::string, Value>>;

inline FlatFields parse_flat(const std::string& s, std::deque<std::string>& store) {
    FlatFields r;
    std::size_t i = 1;  // after '{'
    while (i < s.size() && s[i] != '}') {
        const std::size_t k0 = s.find('"', i) + 1;
        const std::size_t k1 = s.find('"', k0);
        std::string name = s.substr(k0, k1 - k0);
        i = k1 + 2;  // past '":'
        Value v;
        if (s[i] == '"') {
            const std::size_t e = s.find('"', i + 1);
            store.push_back(s.substr(i + 1, e - i - 1));
            v = Value::of_string(store.back());
            i = e + 1;
        } else {
            const std::size_t e = s.find_first_of(",}", i);
            const std::string t = s.substr(i, e - i);
            if (t == "null")
                v = Value::null();
            else if (t == "true" || t == "false")
                v = Value::of_bool(t == "true");
            else if (t.find_first_of(".eE") != std::string::npos)
                v = Value::of_double(std::strtod(t.c_str(), nullptr));
            else
                v = Value::of_int(std::strtoll(t.c_str(), nullptr, 10));
            i = e;
        }
        r.emplace_back(std::move(name), v);
        if (s[i] == ',') ++i;
    }
    return r;
}

}  // namespace sluice::testing
