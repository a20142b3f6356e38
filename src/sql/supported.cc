// What the engine does not execute yet. The parser and planner handle the
// whole dialect; this one function turns the rest away, so enabling a feature
// is deleting its lines here.
#include <string>
#include <utility>
#include <vector>

#include "planner.h"
#include "sluice/sql.h"

namespace sluice {

namespace sql {

std::optional<Error> check_supported(const PlannedQuery& query) {
    const Plan& plan = query.plan;
    const FeatureSites& at = query.sites;
    std::vector<std::pair<SrcPos, std::string>> refused;

    if (plan.distinct) refused.emplace_back(at.distinct, "SELECT DISTINCT");
    if (plan.window.kind == WindowKind::Sliding) refused.emplace_back(at.window, at.window_word + " windows");
    if (plan.window.kind == WindowKind::Session) refused.emplace_back(at.window, "SESSION windows");
    if (!plan.analytics.empty()) refused.emplace_back(at.over, "ROWS windows (OVER ...)");
    for (const AggSpec& agg : plan.aggs) {
        if (agg.kind == AggKind::ApproxCountDistinct) {
            refused.emplace_back(at.approx_count_distinct, "APPROX_COUNT_DISTINCT");
            break;
        }
    }
    if (plan.props.allowed_lateness_ms > 0) refused.emplace_back(at.allowed_lateness, "window.allowed_lateness > 0");
    if (plan.props.late_strategy == LateStrategy::DeadLetter) {
        refused.emplace_back(at.late_strategy, "late.data.strategy = dead_letter");
    }
    if (plan.props.state_ttl_ms) refused.emplace_back(at.state_ttl, "state.ttl");

    if (refused.empty()) return std::nullopt;
    // Report the construct written first.
    const auto* first = &refused.front();
    for (const auto& r : refused) {
        if (r.first < first->first) first = &r;
    }
    return error_at(first->first, "not supported yet: " + first->second);
}

}  // namespace sql

Result<Plan> plan_sql(std::string_view sql) {
    auto query = sql::plan_query(sql);
    if (!query) return query.error();
    if (auto refused = sql::check_supported(query.value())) return std::move(*refused);
    return std::move(query.value().plan);
}

}  // namespace sluice
