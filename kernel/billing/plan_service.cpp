#include "kernel/billing/plan_service.hpp"

#include <ardoise/money.hpp>

#include <set>

#include "kernel/billing/billing_events.hpp"

namespace ardoise::kernel::billing {
namespace {

using nlohmann::json;

json limitsSchema() {
    json props = json::object();
    for (const char* name : kLimitNames) {
        props[name] = {{"type", {"integer", "null"}}, {"minimum", 0}};
    }
    return {{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
}

json priceSchema() {
    return {{"type", "object"},
            {"additionalProperties", false},
            {"required", {"currency", "interval", "amount"}},
            {"properties",
             {{"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
              {"interval", {{"type", "string"}, {"enum", {"month", "year"}}}},
              {"amount", {{"type", "integer"}, {"minimum", 0}, {"description", "in the currency's minor unit"}}},
              {"per_student", {{"type", "boolean"}}},
              {"stripe_price_id", {{"type", {"string", "null"}}, {"pattern", "^price_[A-Za-z0-9]+$"}, {"maxLength", 255}}}}}};
}

json planProperties() {
    return {{"code", {{"type", "string"}, {"pattern", "^[a-z][a-z0-9-]{1,39}$"}, {"maxLength", 40}}},
            {"name",
             {{"type", "object"},
              {"additionalProperties", false},
              {"required", {"fr", "en"}},
              {"properties",
               {{"fr", {{"type", "string"}, {"minLength", 1}, {"maxLength", 80}}},
                {"en", {{"type", "string"}, {"minLength", 1}, {"maxLength", 80}}}}}}},
            {"trial_days", {{"type", "integer"}, {"minimum", 0}, {"maximum", 365}}},
            {"prices", {{"type", "array"}, {"maxItems", 50}, {"items", priceSchema()}}},
            {"limits", limitsSchema()},
            {"features",
             {{"type", "array"},
              {"maxItems", 200},
              {"uniqueItems", true},
              {"items", {{"type", "string"}, {"pattern", "^[a-z][a-z0-9_.-]{0,63}$"}, {"maxLength", 64}}}}}};
}

Status planNotFound(const std::string& code) {
    return Status(Code::kNotFound, "plan-not-found", "No plan has the code " + code + ".").addExtra("plan", code);
}

json priceToJson(const data::Row& r) {
    const Money money{r.integer("amount_minor"), r.text("currency")};
    return {{"currency", money.currency},
            {"interval", r.text("billing_interval")},
            {"amount", money.minor},
            {"per_student", r.integer("per_student") != 0},
            {"stripe_price_id", r.isNull("stripe_price_id") ? json(nullptr) : json(r.text("stripe_price_id"))},
            {"formatted", {{"fr", formatMoney(money, "fr")}, {"en", formatMoney(money, "en")}}}};
}

json readPlan(data::Connection& c, const data::Row& r) {
    const std::string code = r.text("code");
    json limits = json::object();
    for (const char* name : kLimitNames) {
        auto v = r.optInteger(std::string("limit_") + name);
        limits[name] = v ? json(*v) : json(nullptr);
    }
    json prices = json::array();
    for (const auto& p : c.query("SELECT * FROM platform_plan_prices WHERE plan_code = ? "
                                 "ORDER BY currency, billing_interval", {code})) {
        prices.push_back(priceToJson(p));
    }
    json features = json::array();
    for (const auto& f : c.query("SELECT feature FROM platform_plan_features WHERE plan_code = ? ORDER BY feature",
                                 {code})) {
        features.push_back(f.text("feature"));
    }
    return {{"code", code},
            {"name", {{"fr", r.text("name_fr")}, {"en", r.text("name_en")}}},
            {"trial_days", r.integer("trial_days")},
            {"prices", prices},
            {"limits", limits},
            {"features", features},
            {"created_at", r.integer("created_at")},
            {"updated_at", r.integer("updated_at")}};
}

Status checkPrices(const json& input) {
    std::set<std::pair<std::string, std::string>> seen;
    const json prices = input.value("prices", json::array());
    for (std::size_t i = 0; i < prices.size(); ++i) {
        if (!seen.emplace(prices[i]["currency"], prices[i]["interval"]).second) {
            return Status(Code::kInvalidArgument, "validation", "Two prices have the same currency and interval.")
                .addField({"/prices/" + std::to_string(i), "duplicate", "repeats a currency and interval"});
        }
    }
    return Status::ok();
}

json subscriptionToJson(const data::Row& r) {
    auto optional = [&](const char* column) { return r.isNull(column) ? json(nullptr) : json(r.integer(column)); };
    auto optionalText = [&](const char* column) { return r.isNull(column) ? json(nullptr) : json(r.text(column)); };
    return {{"tenant_id", r.text("tenant_id")},
            {"plan", r.text("plan_code")},
            {"currency", r.text("currency")},
            {"interval", r.text("billing_interval")},
            {"status", r.text("status")},
            {"trial_ends_at", optional("trial_ends_at")},
            {"current_period_end", optional("current_period_end")},
            {"cancel_at_period_end", r.integer("cancel_at_period_end") != 0},
            {"stripe_customer_id", optionalText("stripe_customer_id")},
            {"stripe_subscription_id", optionalText("stripe_subscription_id")},
            {"updated_at", r.integer("updated_at")}};
}

}  // namespace

const json& PlanService::createSchema() {
    static const json schema = {{"type", "object"},
                                {"additionalProperties", false},
                                {"required", {"code", "name"}},
                                {"properties", planProperties()}};
    return schema;
}

const json& PlanService::replaceSchema() {
    static const json schema = {
        {"type", "object"}, {"additionalProperties", false}, {"required", {"name"}}, {"properties", planProperties()}};
    return schema;
}

const json& PlanService::planSchema() {
    static const json schema = [] {
        json props = planProperties();
        props["prices"]["items"]["properties"]["formatted"] = {{"type", "object"}};
        props["prices"]["items"].erase("additionalProperties");
        props["created_at"] = {{"type", "integer"}};
        props["updated_at"] = {{"type", "integer"}};
        return json{{"type", "object"}, {"properties", props}};
    }();
    return schema;
}

const json& PlanService::assignSchema() {
    static const json schema = {{"type", "object"},
                                {"additionalProperties", false},
                                {"required", {"plan"}},
                                {"properties",
                                 {{"plan", {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}}},
                                  {"interval", {{"type", "string"}, {"enum", {"month", "year"}}}},
                                  {"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}}}}};
    return schema;
}

const json& PlanService::subscriptionSchema() {
    static const json schema = {
        {"type", "object"},
        {"properties",
         {{"tenant_id", {{"type", "string"}}},
          {"plan", {{"type", "string"}}},
          {"currency", {{"type", "string"}}},
          {"interval", {{"type", "string"}, {"enum", {"month", "year"}}}},
          {"status", {{"type", "string"}, {"enum", {"trialing", "active", "past_due", "suspended", "canceled", "incomplete"}}}},
          {"trial_ends_at", {{"type", {"integer", "null"}}}},
          {"current_period_end", {{"type", {"integer", "null"}}}},
          {"cancel_at_period_end", {{"type", "boolean"}}},
          {"stripe_customer_id", {{"type", {"string", "null"}}}},
          {"stripe_subscription_id", {{"type", {"string", "null"}}}},
          {"updated_at", {{"type", "integer"}}}}}};
    return schema;
}

json PlanService::list() {
    auto lease = db_.acquire();
    json items = json::array();
    for (const auto& r : lease->query("SELECT * FROM platform_plans ORDER BY code")) {
        items.push_back(readPlan(*lease, r));
    }
    return {{"items", items}};
}

Result<json> PlanService::get(const std::string& code) {
    auto lease = db_.acquire();
    auto row = lease->queryOne("SELECT * FROM platform_plans WHERE code = ?", {code});
    if (!row) {
        return planNotFound(code);
    }
    return readPlan(*lease, *row);
}

Result<json> PlanService::create(const json& input) { return write(input.at("code").get<std::string>(), input, true); }

Result<json> PlanService::replace(const std::string& code, const json& input) {
    if (input.contains("code") && input["code"] != code) {
        return Status(Code::kInvalidArgument, "validation", "The code cannot change.")
            .addField({"/code", "immutable", "must match the plan's code in the address"});
    }
    return write(code, input, false);
}

Result<json> PlanService::upsert(const json& input, bool* created) {
    const std::string code = input.at("code").get<std::string>();
    const bool exists = get(code).isOk();
    if (created != nullptr) {
        *created = !exists;
    }
    return exists ? replace(code, input) : create(input);
}

Result<json> PlanService::write(const std::string& code, const json& input, bool insert) {
    if (auto s = checkPrices(input); !s.isOk()) {
        return s;
    }
    const auto now = data::nowSeconds();
    const json limits = input.value("limits", json::object());
    data::Params limitValues;
    for (const char* name : kLimitNames) {
        const auto it = limits.find(name);
        limitValues.push_back(it == limits.end() || it->is_null() ? data::null()
                                                                   : data::Value(it->get<std::int64_t>()));
    }
    auto lease = db_.acquire();
    data::Transaction tx(*lease);
    if (insert) {
        if (lease->queryOne("SELECT code FROM platform_plans WHERE code = ?", {code})) {
            return Status(Code::kConflict, "plan-code-taken", "A plan already has the code " + code + ".")
                .addField({"/code", "taken", "is already used"});
        }
        data::Params p = {code, input["name"]["fr"].get<std::string>(), input["name"]["en"].get<std::string>(),
                          static_cast<std::int64_t>(input.value("trial_days", 0))};
        p.insert(p.end(), limitValues.begin(), limitValues.end());
        p.emplace_back(now);
        p.emplace_back(now);
        lease->exec("INSERT INTO platform_plans (code, name_fr, name_en, trial_days, limit_students, limit_staff, "
                    "limit_storage_mb, limit_sms_per_month, limit_api_requests_per_minute, "
                    "limit_script_instruction_budget, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    p);
    } else {
        data::Params p = {input["name"]["fr"].get<std::string>(), input["name"]["en"].get<std::string>(),
                          static_cast<std::int64_t>(input.value("trial_days", 0))};
        p.insert(p.end(), limitValues.begin(), limitValues.end());
        p.emplace_back(now);
        p.emplace_back(code);
        if (lease->exec("UPDATE platform_plans SET name_fr = ?, name_en = ?, trial_days = ?, limit_students = ?, "
                        "limit_staff = ?, limit_storage_mb = ?, limit_sms_per_month = ?, "
                        "limit_api_requests_per_minute = ?, limit_script_instruction_budget = ?, updated_at = ? "
                        "WHERE code = ?",
                        p) == 0) {
            return planNotFound(code);
        }
        lease->exec("DELETE FROM platform_plan_prices WHERE plan_code = ?", {code});
        lease->exec("DELETE FROM platform_plan_features WHERE plan_code = ?", {code});
    }
    for (const auto& price : input.value("prices", json::array())) {
        const auto stripe = price.value("stripe_price_id", json(nullptr));
        lease->exec("INSERT INTO platform_plan_prices (plan_code, currency, billing_interval, amount_minor, per_student, "
                    "stripe_price_id) VALUES (?, ?, ?, ?, ?, ?)",
                    {code, price["currency"].get<std::string>(), price["interval"].get<std::string>(),
                     price["amount"].get<std::int64_t>(), static_cast<std::int64_t>(price.value("per_student", false)),
                     stripe.is_null() ? data::null() : data::Value(stripe.get<std::string>())});
    }
    for (const auto& feature : input.value("features", json::array())) {
        lease->exec("INSERT INTO platform_plan_features (plan_code, feature) VALUES (?, ?)",
                    {code, feature.get<std::string>()});
    }
    auto row = lease->queryOne("SELECT * FROM platform_plans WHERE code = ?", {code});
    json out = readPlan(*lease, *row);
    tx.commit();
    return out;
}

Status PlanService::remove(const std::string& code) {
    auto lease = db_.acquire();
    data::Transaction tx(*lease);
    const auto users = lease->queryOne("SELECT count(*) AS n FROM platform_subscriptions WHERE plan_code = ?", {code});
    if (users->integer("n") > 0) {
        return Status(Code::kConflict, "plan-in-use", "Schools are on this plan; move them to another plan first.")
            .addExtra("plan", code)
            .addExtra("schools", std::to_string(users->integer("n")));
    }
    if (lease->exec("DELETE FROM platform_plans WHERE code = ?", {code}) == 0) {
        return planNotFound(code);
    }
    tx.commit();
    return Status::ok();
}

Result<json> PlanService::assign(const std::string& tenantId, const std::string& tenantCurrency, const json& input) {
    const std::string code = input["plan"].get<std::string>();
    const std::string interval = input.value("interval", "month");
    const std::string currency = input.value("currency", tenantCurrency);
    const auto now = data::nowSeconds();
    auto lease = db_.acquire();
    data::Transaction tx(*lease);
    auto plan = lease->queryOne("SELECT * FROM platform_plans WHERE code = ?", {code});
    if (!plan) {
        return Status(Code::kInvalidArgument, "validation", "No plan has the code " + code + ".")
            .addField({"/plan", "unknown-plan", "is not a plan's code"});
    }
    const bool hasPrices = lease->queryOne("SELECT 1 AS x FROM platform_plan_prices WHERE plan_code = ?", {code}).has_value();
    if (hasPrices && !lease->queryOne("SELECT 1 AS x FROM platform_plan_prices WHERE plan_code = ? AND currency = ? "
                                      "AND billing_interval = ?",
                                      {code, currency, interval})) {
        return Status(Code::kInvalidArgument, "validation",
                      "The plan " + code + " has no " + interval + "ly price in " + currency + ".")
            .addField({"/interval", "no-price", "has no price in this currency for this plan"});
    }
    if (auto current = lease->queryOne("SELECT plan_code, currency, billing_interval FROM platform_subscriptions "
                                       "WHERE tenant_id = ?",
                                       {tenantId})) {
        lease->exec("UPDATE platform_subscriptions SET plan_code = ?, currency = ?, billing_interval = ?, updated_at = ? "
                    "WHERE tenant_id = ?",
                    {code, currency, interval, now, tenantId});
        if (current->text("plan_code") != code || current->text("currency") != currency ||
            current->text("billing_interval") != interval) {
            recordBillingFact(*lease, tenantId, "plan.changed",
                              {{"from", current->text("plan_code")}, {"to", code}, {"currency", currency},
                               {"interval", interval}});
        }
    } else {
        const std::int64_t trialDays = plan->integer("trial_days");
        const std::string status = trialDays > 0 ? "trialing" : "active";
        lease->exec("INSERT INTO platform_subscriptions (tenant_id, plan_code, currency, billing_interval, status, "
                    "trial_ends_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    {tenantId, code, currency, interval, status,
                     trialDays > 0 ? data::Value(now + trialDays * 86400) : data::null(), now, now});
        recordTransition(*lease, tenantId, "", status, {{"plan", code}, {"cause", "plan-assigned"}});
    }
    auto row = lease->queryOne("SELECT * FROM platform_subscriptions WHERE tenant_id = ?", {tenantId});
    tx.commit();
    return subscriptionToJson(*row);
}

Result<json> PlanService::subscription(const std::string& tenantId) {
    auto lease = db_.acquire();
    auto row = lease->queryOne("SELECT * FROM platform_subscriptions WHERE tenant_id = ?", {tenantId});
    if (!row) {
        return Status(Code::kNotFound, "no-plan", "This school has no plan yet.");
    }
    return subscriptionToJson(*row);
}

std::optional<std::string> PlanService::cheapestPlan(
    data::Connection& c, const std::string& currency, const std::string& interval,
    const std::function<bool(data::Connection&, const data::Row&)>& fits) {
    const auto rows = c.query(
        "SELECT p.*, pr.amount_minor AS price_amount FROM platform_plans p LEFT JOIN platform_plan_prices pr "
        "ON pr.plan_code = p.code AND pr.currency = ? AND pr.billing_interval = ? "
        "ORDER BY CASE WHEN pr.amount_minor IS NULL THEN 1 ELSE 0 END, pr.amount_minor, p.code",
        {currency, interval});
    for (const auto& row : rows) {
        if (fits(c, row)) {
            return row.text("code");
        }
    }
    return std::nullopt;
}

std::optional<std::string> PlanService::cheapestPlanWithFeature(const std::string& tenantId, const std::string& feature) {
    auto lease = db_.acquire();
    std::string currency;
    std::string interval = "month";
    if (auto sub = lease->queryOne("SELECT currency, billing_interval FROM platform_subscriptions WHERE tenant_id = ?",
                                   {tenantId})) {
        currency = sub->text("currency");
        interval = sub->text("billing_interval");
    } else if (auto t = lease->queryOne("SELECT currency FROM tenants WHERE id = ?", {tenantId})) {
        currency = t->text("currency");
    }
    return cheapestPlan(*lease, currency, interval, [&](data::Connection& conn, const data::Row& plan) {
        return conn
            .queryOne("SELECT 1 AS x FROM platform_plan_features WHERE plan_code = ? AND feature = ?",
                      {plan.text("code"), feature})
            .has_value();
    });
}

std::optional<bool> PlanService::planIncludes(const std::string& tenantId, const std::string& feature) {
    auto lease = db_.acquire();
    auto sub = lease->queryOne("SELECT plan_code FROM platform_subscriptions WHERE tenant_id = ? AND status <> 'canceled'",
                               {tenantId});
    if (!sub) {
        return std::nullopt;
    }
    return lease
        ->queryOne("SELECT 1 AS x FROM platform_plan_features WHERE plan_code = ? AND feature = ?",
                   {sub->text("plan_code"), feature})
        .has_value();
}

}  // namespace ardoise::kernel::billing
