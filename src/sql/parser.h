// Recursive-descent parser: tokens -> Statement. Errors say what was expected
// and what was found, at the found token.
#pragma once

#include <string_view>

#include "ast.h"
#include "sluice/result.h"

namespace sluice::sql {

// One statement: SELECT ... or CREATE STREAM name AS SELECT ..., optional ';'.
// `sql` must outlive the returned Statement.
Result<Statement> parse(std::string_view sql);

}  // namespace sluice::sql
