#include "kernel/billing/usage_service.hpp"

#include <ctime>
#include <cstring>

#include "kernel/billing/plan_service.hpp"

namespace ardoise::kernel::billing {
namespace {

using nlohmann::json;

constexpr const char* kTotal = "total";

/// A quota's limit name → (metric, plan column).
std::optional<std::pair<std::string, std::string>> limitOf(const std::string& limit) {
    if (limit == "students" || limit == "staff" || limit == "storage_mb") {
        return std::pair{limit, "limit_" + limit};
    }
    if (limit == "sms" || limit == "sms_per_month") {
        return std::pair{std::string("sms"), std::string("limit_sms_per_month")};
    }
    return std::nullopt;
}

/// The plan column limiting a metric, "" when the plan has none.
std::string columnOfMetric(const std::string& metric) {
    if (metric == "sms") {
        return "limit_sms_per_month";
    }
    if (metric == "api_calls") {
        return "";
    }
    return "limit_" + metric;
}

Status unknownMetric(const std::string& metric) {
    return Status(Code::kInvalidArgument, "unknown-metric", "No usage metric is named " + metric + ".")
        .addExtra("metric", metric);
}

}  // namespace

std::string UsageService::periodOf(std::int64_t now) {
    const std::time_t t = static_cast<std::time_t>(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m", &tm);
    return buf;
}

bool UsageService::isGauge(const std::string& metric) {
    return metric == "students" || metric == "staff" || metric == "storage_mb";
}

bool UsageService::isMetric(const std::string& metric) {
    for (const char* m : kUsageMetrics) {
        if (metric == m) {
            return true;
        }
    }
    return false;
}

Status UsageService::record(data::Connection& c, const std::string& tenantId, const std::string& metric,
                            std::int64_t amount) {
    if (!isMetric(metric)) {
        return unknownMetric(metric);
    }
    if (amount < 0 && !isGauge(metric)) {
        return Status(Code::kInvalidArgument, "invalid-usage", "A counter (" + metric + ") only goes up.")
            .addExtra("metric", metric);
    }
    const auto now = data::nowSeconds();
    c.exec("INSERT INTO platform_usage (tenant_id, period, metric, amount, updated_at) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (tenant_id, period, metric) DO UPDATE SET amount = CASE WHEN platform_usage.amount + "
           "excluded.amount < 0 THEN 0 ELSE platform_usage.amount + excluded.amount END, updated_at = excluded.updated_at",
           {tenantId, isGauge(metric) ? std::string(kTotal) : periodOf(now), metric, amount < 0 ? std::int64_t{0} : amount,
            now});
    if (amount < 0) {
        c.exec("UPDATE platform_usage SET amount = CASE WHEN amount + ? < 0 THEN 0 ELSE amount + ? END, updated_at = ? "
               "WHERE tenant_id = ? AND period = ? AND metric = ?",
               {amount, amount, now, tenantId, std::string(kTotal), metric});
    }
    return Status::ok();
}

Status UsageService::record(const std::string& tenantId, const std::string& metric, std::int64_t amount) {
    auto lease = db_.acquire();
    return record(*lease, tenantId, metric, amount);
}

Status UsageService::set(data::Connection& c, const std::string& tenantId, const std::string& metric,
                         std::int64_t value) {
    if (!isGauge(metric)) {
        return unknownMetric(metric);
    }
    c.exec("INSERT INTO platform_usage (tenant_id, period, metric, amount, updated_at) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (tenant_id, period, metric) DO UPDATE SET amount = excluded.amount, "
           "updated_at = excluded.updated_at",
           {tenantId, std::string(kTotal), metric, value < 0 ? std::int64_t{0} : value, data::nowSeconds()});
    return Status::ok();
}

std::int64_t UsageService::current(data::Connection& c, const std::string& tenantId, const std::string& metric) {
    const auto row = c.queryOne("SELECT amount FROM platform_usage WHERE tenant_id = ? AND period = ? AND metric = ?",
                                {tenantId, isGauge(metric) ? std::string(kTotal) : periodOf(data::nowSeconds()), metric});
    std::int64_t value = row ? row->integer("amount") : 0;
    if (metric == "api_calls") {
        std::lock_guard lock(mutex_);
        auto it = apiCalls_.find(tenantId);
        value += it == apiCalls_.end() ? 0 : it->second;
    }
    return value;
}

Status UsageService::check(data::Connection& c, const std::string& tenantId, const std::string& limit,
                           std::int64_t adding) {
    const auto which = limitOf(limit);
    if (!which) {
        return Status(Code::kInvalidArgument, "unknown-limit", "No plan limit is named " + limit + ".")
            .addExtra("limit", limit);
    }
    const std::string metric = which->first;
    const std::string column = which->second;  // a plain variable: clang does not capture structured bindings
    auto sub = c.queryOne("SELECT s.plan_code, s.currency, s.billing_interval, p." + column +
                              " AS max FROM platform_subscriptions s JOIN platform_plans p ON p.code = s.plan_code "
                              "WHERE s.tenant_id = ?",
                          {tenantId});
    if (!sub || sub->isNull("max")) {
        return Status::ok();  // no plan (operator-managed) or unlimited
    }
    const std::int64_t max = sub->integer("max");
    const std::int64_t used = current(c, tenantId, metric);
    if (adding <= 0 || used + adding <= max) {
        return Status::ok();
    }
    const std::int64_t needed = used + adding;
    auto upgrade = plans_.cheapestPlan(c, sub->text("currency"), sub->text("billing_interval"),
                                       [&](data::Connection&, const data::Row& plan) {
                                           return plan.isNull(column) || plan.integer(column) >= needed;
                                       });
    Status s(Code::kPermissionDenied, "quota-exceeded",
             "The plan " + sub->text("plan_code") + " allows " + std::to_string(max) + " " + metric + " (" +
                 std::to_string(used) + " used, " + std::to_string(adding) + " more asked)" +
                 (upgrade ? "; the plan " + *upgrade + " lifts this limit." : "."));
    s.addExtra("limit", metric == "sms" ? "sms_per_month" : metric)
        .addExtra("max", std::to_string(max))
        .addExtra("used", std::to_string(used))
        .addExtra("adding", std::to_string(adding))
        .addExtra("plan", sub->text("plan_code"));
    if (upgrade) {
        s.addExtra("upgrade_plan", *upgrade).addExtra("detail_variant", "upgrade");
    }
    return s;
}

Status UsageService::check(const std::string& tenantId, const std::string& limit, std::int64_t adding) {
    auto lease = db_.acquire();
    return check(*lease, tenantId, limit, adding);
}

json UsageService::report(const std::string& tenantId) {
    auto lease = db_.acquire();
    const auto now = data::nowSeconds();
    auto sub = lease->queryOne(
        "SELECT p.* FROM platform_subscriptions s JOIN platform_plans p ON p.code = s.plan_code WHERE s.tenant_id = ?",
        {tenantId});
    json metrics = json::object();
    for (const char* m : kUsageMetrics) {
        const std::string column = columnOfMetric(m);
        json limit = nullptr;
        if (sub && !column.empty() && !sub->isNull(column)) {
            limit = sub->integer(column);
        }
        metrics[m] = {{"used", current(*lease, tenantId, m)},
                      {"limit", limit},
                      {"per", isGauge(m) ? "total" : "month"}};
    }
    return {{"tenant_id", tenantId},
            {"period", periodOf(now)},
            {"plan", sub ? json(sub->text("code")) : json(nullptr)},
            {"metrics", metrics}};
}

void UsageService::countApiCall(const std::string& tenantId) {
    std::lock_guard lock(mutex_);
    ++apiCalls_[tenantId];
}

std::int64_t UsageService::flush() {
    std::map<std::string, std::int64_t> counts;
    {
        std::lock_guard lock(mutex_);
        counts.swap(apiCalls_);
    }
    if (counts.empty()) {
        return 0;
    }
    std::int64_t written = 0;
    try {
        auto lease = db_.acquire();
        for (const auto& [tenantId, n] : counts) {
            try {
                record(*lease, tenantId, "api_calls", n);
                written += n;
            } catch (const data::DbError&) {
                // The school may have been deleted meanwhile (foreign key): drop its count.
            }
        }
    } catch (const data::DbError&) {
        // Database unavailable: put the counts back for the next flush.
        std::lock_guard lock(mutex_);
        for (const auto& [tenantId, n] : counts) {
            apiCalls_[tenantId] += n;
        }
    }
    return written;
}

}  // namespace ardoise::kernel::billing
