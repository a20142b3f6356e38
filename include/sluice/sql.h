// SQL front end: text -> Plan. Errors name line:column and what was expected.
#pragma once

#include <string>
#include <string_view>

#include "sluice/plan.h"
#include "sluice/result.h"

namespace sluice {

// Parses and plans one statement (SELECT ... or CREATE STREAM ... AS SELECT ...).
// Error messages look like "line 1:15: expected FROM, found 'FORM'" or
// "line 2:1: not supported yet: SESSION windows".
Result<Plan> plan_sql(std::string_view sql);

// Human-readable plan: fields read, key, routing, state, emission (`sluice explain`).
std::string explain(const Plan& plan);
// How the plan's records reach the shard that keeps their state (one line, as EXPLAIN prints it).
std::string explain_routing(const Plan& plan);

}  // namespace sluice
