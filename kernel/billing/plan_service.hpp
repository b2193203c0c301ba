#pragma once
// Plans the platform sells (prices, limits, features) and the plan each
// school is on.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::billing {

/// The limits a plan may set, in the order of the API and the database
/// columns (`limit_<name>`). A missing or null limit is unlimited.
inline constexpr const char* kLimitNames[] = {"students",      "staff", "storage_mb", "sms_per_month",
                                              "api_requests_per_minute", "script_instruction_budget"};

class PlanService {
public:
    explicit PlanService(data::Database& db) : db_(db) {}

    /// JSON Schemas for the API and the CLI (also in the OpenAPI document).
    static const nlohmann::json& createSchema();   ///< a whole plan, with its code
    static const nlohmann::json& replaceSchema();  ///< a whole plan; "code", if given, must match the path
    static const nlohmann::json& planSchema();     ///< what the API returns
    static const nlohmann::json& assignSchema();   ///< PUT /platform/tenants/{id}/plan
    static const nlohmann::json& subscriptionSchema();

    /// Every plan, by code.
    nlohmann::json list();
    /// 404 "plan-not-found" when unknown.
    Result<nlohmann::json> get(const std::string& code);
    /// `input` has passed createSchema(). 409 "plan-code-taken" when the code exists;
    /// 422 when two prices share a currency and interval.
    Result<nlohmann::json> create(const nlohmann::json& input);
    /// Replaces everything but the code. `input` has passed replaceSchema().
    Result<nlohmann::json> replace(const std::string& code, const nlohmann::json& input);
    /// create() or replace() by code (seeding); reports which.
    Result<nlohmann::json> upsert(const nlohmann::json& input, bool* created = nullptr);
    /// 409 "plan-in-use" while a school is on the plan.
    Status remove(const std::string& code);

    /// Puts the school `tenantId` on a plan (`input` passed assignSchema();
    /// the currency defaults to `tenantCurrency`). A first assignment starts
    /// the plan's trial, if it has one; a change of plan keeps the status.
    Result<nlohmann::json> assign(const std::string& tenantId, const std::string& tenantCurrency,
                                  const nlohmann::json& input);
    /// The school's plan and subscription state; 404 "no-plan" when none.
    Result<nlohmann::json> subscription(const std::string& tenantId);

    /// The cheapest plan (by its price in `currency` and `interval`; plans
    /// without such a price after those with one, then by code) for which
    /// `fits(planRow)` holds; nullopt when none. `planRow` is a row of
    /// platform_plans (limit_* columns).
    std::optional<std::string> cheapestPlan(data::Connection& c, const std::string& currency,
                                            const std::string& interval,
                                            const std::function<bool(data::Connection&, const data::Row&)>& fits);
    /// The cheapest plan whose features include `feature`, in the school's
    /// currency and interval (the tenant's currency, monthly, without a plan).
    std::optional<std::string> cheapestPlanWithFeature(const std::string& tenantId, const std::string& feature);
    /// Whether the school has a plan (not canceled), and whether its features include `feature`.
    std::optional<bool> planIncludes(const std::string& tenantId, const std::string& feature);

private:
    Result<nlohmann::json> write(const std::string& code, const nlohmann::json& input, bool insert);

    data::Database& db_;
};

}  // namespace ardoise::kernel::billing
