// Planner internals: AST -> Plan for the whole dialect, and the separate
// check that refuses what the engine does not execute yet. plan_sql() is
// plan_query() followed by check_supported(); tests use the pieces.
//
// Name resolution where SPEC.md is silent (records have no schema, so a name
// cannot be checked against one):
//  - `q.x` is the field x when q is the stream's alias, or its name if it has none;
//  - GROUP BY n (an integer) is the n-th select item; a GROUP BY name that is a
//    select alias means that item's expression, even if a field has that name;
//  - in HAVING, a name that is not a group key but is a select alias means
//    that item's expression (`HAVING total > 10`);
//  - output column names must be unique (rows are JSON objects).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lexer.h"
#include "sluice/plan.h"
#include "sluice/result.h"

namespace sluice::sql {

// Where the constructs that check_supported() may refuse were written.
struct FeatureSites {
    SrcPos distinct;
    SrcPos window;
    std::string window_word;  // TUMBLING, SLIDING, HOPPING, SESSION
    SrcPos over;              // first OVER
    SrcPos approx_count_distinct;
    SrcPos allowed_lateness;  // the property keys
    SrcPos late_strategy;
    SrcPos state_ttl;
};

struct PlannedQuery {
    Plan plan;
    FeatureSites sites;
};

// Parses and plans one statement, every feature of the dialect included.
Result<PlannedQuery> plan_query(std::string_view sql);

// Refuses, at the construct's position, what the engine does not run yet.
std::optional<Error> check_supported(const PlannedQuery& query);

// plan_sql() without check_supported().
Result<Plan> plan_sql_unchecked(std::string_view sql);

}  // namespace sluice::sql
