// Test helper: FieldPaths from dotted names, as the planner builds them.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "sluice/plan.h"

namespace sluice {

inline std::vector<FieldPath> paths(std::initializer_list<std::string> dotted) {
    std::vector<FieldPath> out;
    for (const std::string& d : dotted) {
        FieldPath f;
        f.dotted = d;
        std::size_t start = 0;
        for (;;) {
            const std::size_t dot = d.find('.', start);
            f.parts.push_back(d.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
            if (dot == std::string::npos) {
                break;
            }
            start = dot + 1;
        }
        out.push_back(std::move(f));
    }
    return out;
}

}  // namespace sluice
