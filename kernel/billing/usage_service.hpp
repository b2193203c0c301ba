#pragma once
// Usage metering and plan quotas. platform_usage holds, per school, running
// totals of the gauges (students, staff, storage_mb; period "total") and
// monthly counters (sms, api_calls; period "YYYY-MM", UTC). API calls are
// counted in memory and flushed by the billing sweep, so the request path
// never writes for them.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::billing {

class PlanService;

/// The metrics metered, in the order of the usage report.
inline constexpr const char* kUsageMetrics[] = {"students", "staff", "storage_mb", "sms", "api_calls"};

class UsageService {
public:
    UsageService(data::Database& db, PlanService& plans) : db_(db), plans_(plans) {}

    /// "YYYY-MM" (UTC) of `now`.
    static std::string periodOf(std::int64_t now);
    /// Gauges are running totals; the others count per month.
    static bool isGauge(const std::string& metric);
    static bool isMetric(const std::string& metric);

    /// Adds `amount` (negative for a gauge going down; never below 0) to the
    /// school's metric for the current period, on `c` (joining the caller's
    /// transaction). kInvalidArgument "unknown-metric" for another name, or a
    /// negative amount on a counter.
    Status record(data::Connection& c, const std::string& tenantId, const std::string& metric, std::int64_t amount);
    Status record(const std::string& tenantId, const std::string& metric, std::int64_t amount);
    /// Sets a gauge (the kernel's own counts, e.g. staff).
    Status set(data::Connection& c, const std::string& tenantId, const std::string& metric, std::int64_t value);
    /// The metric's value for the current period (0 when nothing recorded).
    std::int64_t current(data::Connection& c, const std::string& tenantId, const std::string& metric);

    /// May the school add `adding` to the metric limited by `limit`
    /// ("students", "staff", "storage_mb", "sms" or "sms_per_month")? OK
    /// without a plan or when the plan leaves it unlimited. Otherwise 403
    /// "quota-exceeded" with extras limit, max, used, adding, plan and, when
    /// some plan lifts it, upgrade_plan (the cheapest). kInvalidArgument
    /// "unknown-limit" for another name.
    Status check(data::Connection& c, const std::string& tenantId, const std::string& limit, std::int64_t adding);
    Status check(const std::string& tenantId, const std::string& limit, std::int64_t adding);

    /// The school's usage this month with its plan's limits:
    /// {period, plan, metrics: {<metric>: {used, limit}}}.
    nlohmann::json report(const std::string& tenantId);

    /// Counts one API request of the school, in memory (thread-safe).
    void countApiCall(const std::string& tenantId);
    /// Writes the counted API calls to platform_usage; how many were written.
    std::int64_t flush();

private:
    data::Database& db_;
    PlanService& plans_;
    std::mutex mutex_;
    std::map<std::string, std::int64_t> apiCalls_;  // guarded by mutex_
};

}  // namespace ardoise::kernel::billing
