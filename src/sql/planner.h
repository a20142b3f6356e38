// Planner internals: AST -> Plan for the whole dialect (plan_sql() in sluice/sql.h).
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

// Parses and plans one statement.
Result<Plan> plan_query(std::string_view sql);

}  // namespace sluice::sql
