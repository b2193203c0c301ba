// Billing routes: operators manage plans and schools' plans; Stripe posts
// its events to the webhook.
#include "kernel/billing/billing.hpp"

#include "kernel/auth/permissions.hpp"

namespace ardoise::kernel::billing {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;

Billing::Billing(data::Database& db, BillingOptions options)
    : db_(db), options_(std::move(options)), plans_(db), stripe_(options_.stripe) {}

void Billing::registerRoutes(http::Router& router, tenancy::TenantService& tenants) {
    const json& plan = PlanService::planSchema();
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/plans",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Plans for sale: prices, limits and features",
                .tag = "billing",
                .responseSchema = {{"type", "object"}, {"properties", {{"items", {{"type", "array"}, {"items", plan}}}}}},
                .handler = [this](Request&) -> Result<Response> { return Response::json(200, plans_.list()); }});
    router.add({.method = "POST",
                .pattern = "/api/v1/platform/plans",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Create a plan (amounts in the currency's minor unit; a missing limit is unlimited)",
                .tag = "billing",
                .requestSchema = PlanService::createSchema(),
                .responseSchema = plan,
                .successStatus = 201,
                .handler = [this](Request& r) -> Result<Response> {
                    auto created = plans_.create(r.json);
                    if (!created) {
                        return created.status();
                    }
                    auto resp = Response::json(201, *created);
                    resp.headers.emplace_back("Location",
                                              "/api/v1/platform/plans/" + (*created)["code"].get<std::string>());
                    return resp;
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/plans/{code}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "One plan",
                .tag = "billing",
                .responseSchema = plan,
                .handler = [this](Request& r) -> Result<Response> {
                    return http::jsonResponse(plans_.get(r.param("code")));
                }});
    router.add({.method = "PUT",
                .pattern = "/api/v1/platform/plans/{code}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Replace a plan's names, trial, prices, limits and features",
                .tag = "billing",
                .requestSchema = PlanService::replaceSchema(),
                .responseSchema = plan,
                .handler = [this](Request& r) -> Result<Response> {
                    return http::jsonResponse(plans_.replace(r.param("code"), r.json));
                }});
    router.add({.method = "DELETE",
                .pattern = "/api/v1/platform/plans/{code}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Delete a plan no school is on",
                .tag = "billing",
                .responseSchema = {{"type", "object"}},
                .handler = [this](Request& r) -> Result<Response> {
                    if (auto s = plans_.remove(r.param("code")); !s.isOk()) {
                        return s;
                    }
                    return Response::json(200, {{"deleted", true}, {"code", r.param("code")}});
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/tenants/{id}/plan",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "A school's plan and subscription state",
                .tag = "billing",
                .responseSchema = PlanService::subscriptionSchema(),
                .handler = [this, &tenants](Request& r) -> Result<Response> {
                    auto tenant = tenants.get(r.param("id"));
                    if (!tenant) {
                        return tenant.status();
                    }
                    return http::jsonResponse(plans_.subscription((*tenant)["id"]));
                }});
    router.add({.method = "PUT",
                .pattern = "/api/v1/platform/tenants/{id}/plan",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Put a school on a plan (currency: the school's by default; interval: month by default)",
                .tag = "billing",
                .requestSchema = PlanService::assignSchema(),
                .responseSchema = PlanService::subscriptionSchema(),
                .handler = [this, &tenants](Request& r) -> Result<Response> {
                    auto tenant = tenants.get(r.param("id"));
                    if (!tenant) {
                        return tenant.status();
                    }
                    return http::jsonResponse(plans_.assign((*tenant)["id"], (*tenant)["currency"], r.json));
                }});
    // Stripe signs the raw body: no JSON schema, so the pipeline leaves it untouched.
    router.add({.method = "POST",
                .pattern = "/api/v1/billing/stripe/webhook",
                .access = Access::kPublic,
                .summary = "Stripe webhook: verifies Stripe-Signature and records the event once (processed later)",
                .tag = "billing",
                .responseSchema = {{"type", "object"},
                                   {"properties", {{"received", {{"type", "boolean"}}}, {"duplicate", {{"type", "boolean"}}}}}},
                .handler = [this](Request& r) -> Result<Response> {
                    if (auto s = verifyStripeSignature(r.body, r.header("stripe-signature"), options_.webhookSecrets,
                                                       data::nowSeconds());
                        !s.isOk()) {
                        return s;
                    }
                    auto stored = storeStripeEvent(db_, r.body);
                    if (!stored) {
                        return stored.status();
                    }
                    return Response::json(200, {{"received", true}, {"duplicate", !*stored}});
                }});
}

}  // namespace ardoise::kernel::billing
