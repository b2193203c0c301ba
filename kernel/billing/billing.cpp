// Billing routes: operators manage plans and schools' plans; Stripe posts
// its events to the webhook.
#include "kernel/billing/billing.hpp"

#include <iostream>

#include "kernel/auth/permissions.hpp"
#include "kernel/billing/invoice_pdf.hpp"

namespace ardoise::kernel::billing {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;
using ardoise::Job;
using ardoise::JobControl;
using ardoise::JobOptions;

namespace {
constexpr auto kStateTtl = std::chrono::seconds(2);
/// A stored event left pending this long is the sweep's to apply.
constexpr std::int64_t kSweepLateSeconds = 60;

void logLine(const char* level, const std::string& msg, const json& extra = json::object()) {
    json line = {{"level", level}, {"msg", msg}};
    line.update(extra);
    std::clog << line.dump() << "\n";
}
}  // namespace

Billing::Billing(data::Database& db, BillingOptions options)
    : db_(db), options_(std::move(options)), plans_(db), stripe_(options_.stripe), usage_(db, plans_), invoices_(db) {}

void Billing::attach(events::JobQueue& jobs, events::EventBus& bus) {
    jobs_ = &jobs;
    bus_ = &bus;
    jobs.registerHandler(kStripeEventJob, [this](const Job& job, JobControl&) -> Result<json> {
        auto lease = db_.acquire();
        auto result = processStoredStripeEvent(*lease, job.payload.value("event_id", ""));
        if (result && !result->value("already_processed", false)) {
            notifyChanged();
        }
        return result;
    });
}

void Billing::notifyChanged() {
    invalidate();
    if (bus_ != nullptr) {
        bus_->poke();
    }
}

void Billing::invalidate() {
    std::unique_lock lock(stateMutex_);
    states_.clear();
}

Billing::CachedState Billing::state(const std::string& tenantId) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::shared_lock lock(stateMutex_);
        if (auto it = states_.find(tenantId); it != states_.end() && now - it->second.at < kStateTtl) {
            return it->second;
        }
    }
    CachedState state;
    state.at = now;
    {
        auto lease = db_.acquire();
        auto row = lease->queryOne(
            "SELECT s.status, s.plan_code, s.currency, s.billing_interval, p.limit_api_requests_per_minute AS per_minute "
            "FROM platform_subscriptions s LEFT JOIN platform_plans p ON p.code = s.plan_code WHERE s.tenant_id = ?",
            {tenantId});
        if (row) {
            state.status = row->text("status");
            state.plan = row->text("plan_code");
            // A canceled subscription has no plan to limit it (as for plugins).
            if (state.status != "canceled" && !row->isNull("per_minute")) {
                state.perMinute = std::max<std::int64_t>(1, row->integer("per_minute"));
                const std::int64_t current = state.perMinute;
                state.upgradePlan = plans_
                                        .cheapestPlan(*lease, row->text("currency"), row->text("billing_interval"),
                                                      [current](data::Connection&, const data::Row& plan) {
                                                          return plan.isNull("limit_api_requests_per_minute") ||
                                                                 plan.integer("limit_api_requests_per_minute") > current;
                                                      })
                                        .value_or("");
            }
        }
    }
    std::unique_lock lock(stateMutex_);
    if (states_.size() > 100000) {
        states_.clear();
    }
    states_[tenantId] = state;
    return state;
}

Status Billing::writeGate(const std::string& tenantId, const std::string& method, const std::string& path) {
    if (method == "GET" || method == "HEAD" || method == "OPTIONS") {
        return Status::ok();
    }
    if (path.rfind("/api/v1/auth/", 0) == 0 || path.rfind("/api/v1/billing/", 0) == 0) {
        return Status::ok();  // a suspended school can still sign in and pay
    }
    if (state(tenantId).status == "suspended") {
        return Status(Code::kPermissionDenied, "subscription-suspended",
                      "This school's subscription is suspended for an unpaid invoice: the school is read-only until "
                      "it is paid (by card through the billing portal, or by bank transfer or mobile money recorded "
                      "by the platform).")
            .addExtra("billing_url", "/api/v1/billing/subscription");
    }
    return Status::ok();
}

Status Billing::rateGate(const std::string& tenantId, const std::string& path) {
    if (path.rfind("/api/v1/billing/", 0) == 0) {
        return Status::ok();  // the school can always reach the page that lifts the limit
    }
    const CachedState plan = state(tenantId);
    if (plan.perMinute <= 0) {
        return Status::ok();
    }
    // GCRA: each request moves the school's theoretical arrival time one
    // interval ahead; a bucket of one minute's allowance may be spent at once.
    const std::int64_t window = 60'000'000'000LL;
    const std::int64_t interval = window / plan.perMinute;
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    std::int64_t waitNs = 0;
    {
        std::lock_guard lock(rateMutex_);
        if (rateTat_.size() > 100000) {
            rateTat_.clear();
        }
        RateState& rate = rateTat_[tenantId];
        if (rate.perMinute != plan.perMinute) {
            rate = {0, plan.perMinute};  // a new plan starts with its full allowance
        }
        const std::int64_t next = std::max(rate.tat, now) + interval;
        if (next - now <= window) {
            rate.tat = next;
            return Status::ok();
        }
        waitNs = next - now - window;
    }
    const std::int64_t retry = std::max<std::int64_t>(1, (waitNs + 999'999'999) / 1'000'000'000);
    Status s(Code::kRateLimited, "plan-rate-limited",
             "The plan " + plan.plan + " allows " + std::to_string(plan.perMinute) +
                 " API requests per minute; try again in " + std::to_string(retry) + " seconds" +
                 (plan.upgradePlan.empty() ? "." : "; the plan " + plan.upgradePlan + " allows more."));
    s.addExtra("limit", "api_requests_per_minute")
        .addExtra("max", std::to_string(plan.perMinute))
        .addExtra("plan", plan.plan)
        .addExtra("retry_after", std::to_string(retry));
    if (!plan.upgradePlan.empty()) {
        s.addExtra("upgrade_plan", plan.upgradePlan).addExtra("detail_variant", "upgrade");
    }
    return s;
}

Result<std::string> Billing::stripeCustomer(const http::TenantContext& tenant) {
    {
        auto lease = db_.acquire();
        auto row = lease->queryOne("SELECT stripe_customer_id FROM platform_subscriptions WHERE tenant_id = ?", {tenant.id});
        if (row && !row->isNull("stripe_customer_id")) {
            return row->text("stripe_customer_id");
        }
    }
    // One customer per school even when two admins click at once: Stripe
    // answers the same customer to the same key (for 24 h).
    auto customer = stripe_.createCustomer(tenant.id, tenant.name, "", "customer-" + tenant.id);
    if (!customer) {
        return customer.status();
    }
    const std::string id = (*customer)["id"];
    auto lease = db_.acquire();
    lease->exec("UPDATE platform_subscriptions SET stripe_customer_id = COALESCE(stripe_customer_id, ?), updated_at = ? "
                "WHERE tenant_id = ?",
                {id, data::nowSeconds(), tenant.id});
    auto row = lease->queryOne("SELECT stripe_customer_id FROM platform_subscriptions WHERE tenant_id = ?", {tenant.id});
    return row ? row->text("stripe_customer_id") : id;
}

Result<Response> Billing::checkout(const Request& r) {
    const std::string code = r.json["plan"];
    std::string priceId;
    std::int64_t quantity = 1;
    int trialDays = 0;
    {
        // Scoped: no connection is held across the Stripe calls.
        auto lease = db_.acquire();
        auto sub = lease->queryOne("SELECT currency, billing_interval, stripe_subscription_id, status FROM "
                                   "platform_subscriptions WHERE tenant_id = ?",
                                   {r.tenant->id});
        if (!sub) {
            return Status(Code::kFailedPrecondition, "no-plan", "This school has no plan yet.");
        }
        const std::string interval = r.json.value("interval", sub->text("billing_interval"));
        auto plan = lease->queryOne("SELECT p.trial_days, pr.stripe_price_id, pr.per_student FROM platform_plans p "
                                    "LEFT JOIN platform_plan_prices pr ON pr.plan_code = p.code AND pr.currency = ? "
                                    "AND pr.billing_interval = ? WHERE p.code = ?",
                                    {sub->text("currency"), interval, code});
        if (!plan) {
            return Status(Code::kInvalidArgument, "validation", "No plan has the code " + code + ".")
                .addField({"/plan", "unknown-plan", "is not a plan's code"});
        }
        if (plan->isNull("stripe_price_id")) {
            return Status(Code::kFailedPrecondition, "plan-not-sold-online",
                          "The plan " + code + " has no Stripe price in " + sub->text("currency") + " per " + interval +
                              ": ask the platform for a bank transfer or mobile money invoice.")
                .addExtra("plan", code)
                .addExtra("currency", sub->text("currency"));
        }
        if (!sub->isNull("stripe_subscription_id") && sub->text("status") != "canceled") {
            return Status(Code::kConflict, "subscription-exists",
                          "This school already pays through Stripe: change the plan or the card in the billing portal.");
        }
        if (plan->integer("per_student") != 0) {
            quantity = std::max<std::int64_t>(1, usage_.current(*lease, r.tenant->id, "students"));
        }
        trialDays = sub->text("status") == "trialing" ? static_cast<int>(plan->integer("trial_days")) : 0;
        priceId = plan->text("stripe_price_id");
    }
    auto customer = stripeCustomer(*r.tenant);
    if (!customer) {
        return customer.status();
    }
    auto session = stripe_.createCheckoutSession({.tenantId = r.tenant->id,
                                                  .customerId = *customer,
                                                  .priceId = priceId,
                                                  .quantity = quantity,
                                                  .trialDays = trialDays,
                                                  .successUrl = options_.publicUrl + "/billing?checkout=done",
                                                  .cancelUrl = options_.publicUrl + "/billing?checkout=canceled"});
    if (!session) {
        return session.status();
    }
    return Response::json(200, {{"id", (*session)["id"]}, {"url", (*session).value("url", json(nullptr))}});
}

namespace {

/// The school's live Stripe subscription id, or 409 no-stripe-subscription.
Result<std::string> liveStripeSubscription(data::Connection& c, const std::string& tenantId) {
    auto sub = c.queryOne("SELECT stripe_subscription_id, status FROM platform_subscriptions WHERE tenant_id = ?",
                          {tenantId});
    if (!sub || sub->isNull("stripe_subscription_id") || sub->text("status") == "canceled") {
        return Status(Code::kConflict, "no-stripe-subscription",
                      "This school has no live Stripe subscription: start with a checkout.");
    }
    return sub->text("stripe_subscription_id");
}

}  // namespace

Result<Response> Billing::changePlan(const Request& r) {
    const std::string code = r.json["plan"];
    std::string subscriptionId;
    std::string priceId;
    bool perStudent = false;
    std::int64_t students = 0;
    {
        auto lease = db_.acquire();
        auto live = liveStripeSubscription(*lease, r.tenant->id);
        if (!live) {
            return live.status();
        }
        subscriptionId = *live;
        auto sub = lease->queryOne("SELECT plan_code, currency, billing_interval FROM platform_subscriptions WHERE "
                                   "tenant_id = ?",
                                   {r.tenant->id});
        auto plan = lease->queryOne("SELECT pr.stripe_price_id, pr.per_student FROM platform_plans p LEFT JOIN "
                                    "platform_plan_prices pr ON pr.plan_code = p.code AND pr.currency = ? AND "
                                    "pr.billing_interval = ? WHERE p.code = ?",
                                    {sub->text("currency"), sub->text("billing_interval"), code});
        if (!plan) {
            return Status(Code::kInvalidArgument, "validation", "No plan has the code " + code + ".")
                .addField({"/plan", "unknown-plan", "is not a plan's code"});
        }
        if (plan->isNull("stripe_price_id")) {
            return Status(Code::kFailedPrecondition, "plan-not-sold-online",
                          "The plan " + code + " has no Stripe price in " + sub->text("currency") + " per " +
                              sub->text("billing_interval") +
                              ": ask the platform for a bank transfer or mobile money invoice.")
                .addExtra("plan", code)
                .addExtra("currency", sub->text("currency"));
        }
        if (sub->text("plan_code") == code) {
            return Status(Code::kConflict, "same-plan", "The school is already on the plan " + code + ".")
                .addExtra("plan", code);
        }
        priceId = plan->text("stripe_price_id");
        perStudent = plan->integer("per_student") != 0;
        students = usage_.current(*lease, r.tenant->id, "students");
    }
    // Stripe's subscription names the item to move (one item: the plan).
    auto current = stripe_.retrieveSubscription(subscriptionId);
    if (!current) {
        return current.status();
    }
    const json items = (*current).contains("items") && (*current)["items"].is_object()
                           ? (*current)["items"].value("data", json::array())
                           : json::array();
    if (!items.is_array() || items.empty() || !items[0].is_object() || !items[0].contains("id")) {
        return Status(Code::kUnavailable, "stripe-unavailable", "Stripe's subscription has no item to change.");
    }
    const std::int64_t quantity = perStudent ? std::max<std::int64_t>(1, students) : 1;
    auto changed = stripe_.changeSubscriptionPrice(subscriptionId, items[0]["id"].get<std::string>(), priceId, quantity);
    if (!changed) {
        return changed.status();
    }
    // The school's row changes when Stripe's customer.subscription.updated arrives.
    return Response::json(202, {{"plan", code},
                                {"stripe_subscription_id", subscriptionId},
                                {"stripe_status", (*changed).value("status", json(nullptr))},
                                {"proration", "create_prorations"}});
}

Result<Response> Billing::cancelAtPeriodEnd(const Request& r) {
    std::string subscriptionId;
    {
        auto lease = db_.acquire();
        auto live = liveStripeSubscription(*lease, r.tenant->id);
        if (!live) {
            return live.status();
        }
        subscriptionId = *live;
    }
    auto canceled = stripe_.cancelAtPeriodEnd(subscriptionId);
    if (!canceled) {
        return canceled.status();
    }
    return Response::json(202, {{"stripe_subscription_id", subscriptionId},
                                {"cancel_at_period_end", (*canceled).value("cancel_at_period_end", false)},
                                {"current_period_end", (*canceled).value("current_period_end", json(nullptr))}});
}

void Billing::start() {
    if (options_.sweepSeconds <= 0 || running_.exchange(true)) {
        return;
    }
    sweeper_ = std::thread([this] {
        std::unique_lock lock(sweepMutex_);
        while (running_) {
            sweepWake_.wait_for(lock, std::chrono::seconds(options_.sweepSeconds), [this] { return !running_; });
            if (!running_) {
                break;
            }
            lock.unlock();
            try {
                sweepOnce(data::nowSeconds());
            } catch (const std::exception& e) {
                logLine("warning", "billing sweep failed", {{"error", e.what()}});
            }
            lock.lock();
        }
    });
}

void Billing::stop() {
    if (running_.exchange(false)) {
        {
            std::lock_guard lock(sweepMutex_);
        }
        sweepWake_.notify_all();
        if (sweeper_.joinable()) {
            sweeper_.join();
        }
    }
    usage_.flush();  // the API calls counted since the last sweep
}

json Billing::sweepOnce(std::int64_t now) {
    const int applied = processPendingStripeEvents(db_, 100, now - kSweepLateSeconds);
    const int suspended = suspendOverdue(db_, now, options_.graceDays);
    const auto calls = usage_.flush();
    if (applied > 0 || suspended > 0) {
        notifyChanged();
        logLine("info", "billing sweep", {{"stripe_events", applied}, {"suspended", suspended}});
    }
    return {{"stripe_events", applied}, {"suspended", suspended}, {"api_calls", calls}};
}

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
    const json usageSchema = {{"type", "object"},
                              {"properties",
                               {{"tenant_id", {{"type", "string"}}},
                                {"period", {{"type", "string"}}},
                                {"plan", {{"type", {"string", "null"}}}},
                                {"metrics", {{"type", "object"}}}}}};
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/tenants/{id}/usage",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "A school's usage this month (students, staff, storage, SMS, API calls) with its plan's limits",
                .tag = "billing",
                .responseSchema = usageSchema,
                .handler = [this, &tenants](Request& r) -> Result<Response> {
                    auto tenant = tenants.get(r.param("id"));
                    if (!tenant) {
                        return tenant.status();
                    }
                    return Response::json(200, usage_.report((*tenant)["id"]));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/billing/usage",
                .access = Access::kTenantUser,
                .permission = "billing.read",
                .summary = "This school's usage this month with its plan's limits",
                .tag = "billing",
                .responseSchema = usageSchema,
                .handler = [this](Request& r) -> Result<Response> {
                    return Response::json(200, usage_.report(r.tenant->id));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/billing/subscription",
                .access = Access::kTenantUser,
                .permission = "billing.read",
                .summary = "This school's plan and subscription state",
                .tag = "billing",
                .responseSchema = PlanService::subscriptionSchema(),
                .handler = [this](Request& r) -> Result<Response> {
                    return http::jsonResponse(plans_.subscription(r.tenant->id));
                }});
    const json& invoice = InvoiceService::invoiceSchema();
    const json invoiceList = {{"type", "object"}, {"properties", {{"items", {{"type", "array"}, {"items", invoice}}}}}};
    router.add({.method = "POST",
                .pattern = "/api/v1/platform/tenants/{id}/invoices",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Issue an invoice to a school (numbered platform-wide; amounts in minor units; tax in basis points)",
                .tag = "billing",
                .requestSchema = InvoiceService::createSchema(),
                .responseSchema = invoice,
                .successStatus = 201,
                .handler = [this, &tenants](Request& r) -> Result<Response> {
                    auto tenant = tenants.get(r.param("id"));
                    if (!tenant) {
                        return tenant.status();
                    }
                    auto created = invoices_.create((*tenant)["id"], (*tenant)["currency"], r.json, r.principal->id);
                    if (!created) {
                        return created.status();
                    }
                    notifyChanged();
                    auto resp = Response::json(201, *created);
                    resp.headers.emplace_back("Location",
                                              "/api/v1/platform/invoices/" + (*created)["id"].get<std::string>());
                    return resp;
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/tenants/{id}/invoices",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "A school's invoices, newest first",
                .tag = "billing",
                .responseSchema = invoiceList,
                .handler = [this, &tenants](Request& r) -> Result<Response> {
                    auto tenant = tenants.get(r.param("id"));
                    if (!tenant) {
                        return tenant.status();
                    }
                    return Response::json(200, invoices_.list((*tenant)["id"]));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/invoices/{id}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "One invoice with its lines and payments",
                .tag = "billing",
                .responseSchema = invoice,
                .handler = [this](Request& r) -> Result<Response> {
                    return http::jsonResponse(invoices_.get(r.param("id")));
                }});
    router.add({.method = "POST",
                .pattern = "/api/v1/platform/invoices/{id}/payments",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Record a payment received outside Stripe (bank transfer, mobile money, cash, cheque)",
                .tag = "billing",
                .requestSchema = InvoiceService::paymentSchema(),
                .responseSchema = invoice,
                .successStatus = 201,
                .handler = [this](Request& r) -> Result<Response> {
                    auto paid = invoices_.recordPayment(r.param("id"), r.json, r.principal->id);
                    if (!paid) {
                        return paid.status();
                    }
                    notifyChanged();  // a suspended school is writable again at once
                    return Response::json(201, *paid);
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/billing/report",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Schools by subscription status, MRR by currency, failed Stripe payments, overdue invoices",
                .tag = "billing",
                .responseSchema = {{"type", "object"}},
                .handler = [this](Request&) -> Result<Response> { return Response::json(200, invoices_.report()); }});
    router.add({.method = "GET",
                .pattern = "/api/v1/billing/invoices",
                .access = Access::kTenantUser,
                .permission = "billing.read",
                .summary = "This school's invoices from the platform, newest first",
                .tag = "billing",
                .responseSchema = invoiceList,
                .handler = [this](Request& r) -> Result<Response> {
                    return Response::json(200, invoices_.list(r.tenant->id));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/billing/invoices/{id}",
                .access = Access::kTenantUser,
                .permission = "billing.read",
                .summary = "One of this school's invoices",
                .tag = "billing",
                .responseSchema = invoice,
                .handler = [this](Request& r) -> Result<Response> {
                    return http::jsonResponse(invoices_.get(r.param("id"), r.tenant->id));
                }});
    auto pdf = [this, &tenants](const std::string& invoiceId, const std::string& tenantId,
                                const std::string& locale) -> Result<Response> {
        auto inv = invoices_.get(invoiceId, tenantId);
        if (!inv) {
            return inv.status();
        }
        auto tenant = tenants.get((*inv)["tenant_id"]);
        if (!tenant) {
            return tenant.status();
        }
        auto doc = renderInvoicePdf(*inv, (*tenant)["name"], locale, options_.templatesDir);
        if (!doc) {
            return doc.status();
        }
        Response resp{200, "application/pdf", std::move(*doc), {}};
        resp.headers.emplace_back("Content-Disposition",
                                  "inline; filename=\"" + (*inv)["number"].get<std::string>() + ".pdf\"");
        return resp;
    };
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/invoices/{id}/pdf",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "An invoice as PDF (Accept-Language: fr by default, or en)",
                .tag = "billing",
                .handler = [pdf](Request& r) -> Result<Response> {
                    return pdf(r.param("id"), "", r.locale);
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/billing/invoices/{id}/pdf",
                .access = Access::kTenantUser,
                .permission = "billing.read",
                .summary = "One of this school's invoices as PDF, in the reader's language",
                .tag = "billing",
                .handler = [pdf](Request& r) -> Result<Response> {
                    return pdf(r.param("id"), r.tenant->id, r.locale);
                }});
    router.add({.method = "POST",
                .pattern = "/api/v1/billing/checkout",
                .access = Access::kTenantUser,
                .permission = "billing.manage",
                .summary = "Pay the plan by card: a Stripe Checkout Session (its url) for the school's currency",
                .tag = "billing",
                .requestSchema = {{"type", "object"},
                                  {"additionalProperties", false},
                                  {"required", {"plan"}},
                                  {"properties",
                                   {{"plan", {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}}},
                                    {"interval", {{"type", "string"}, {"enum", {"month", "year"}}}}}}},
                .responseSchema = {{"type", "object"},
                                   {"properties", {{"id", {{"type", "string"}}}, {"url", {{"type", {"string", "null"}}}}}}},
                .handler = [this](Request& r) -> Result<Response> { return checkout(r); }});
    router.add({.method = "POST",
                .pattern = "/api/v1/billing/subscription/plan",
                .access = Access::kTenantUser,
                .permission = "billing.manage",
                .summary = "Move the school's Stripe subscription to another plan, prorated (applied when Stripe's "
                           "event arrives)",
                .tag = "billing",
                .requestSchema = {{"type", "object"},
                                  {"additionalProperties", false},
                                  {"required", {"plan"}},
                                  {"properties", {{"plan", {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}}}}}},
                .responseSchema = {{"type", "object"},
                                   {"properties",
                                    {{"plan", {{"type", "string"}}},
                                     {"stripe_subscription_id", {{"type", "string"}}},
                                     {"stripe_status", {{"type", {"string", "null"}}}},
                                     {"proration", {{"type", "string"}}}}}},
                .successStatus = 202,
                .handler = [this](Request& r) -> Result<Response> { return changePlan(r); }});
    router.add({.method = "POST",
                .pattern = "/api/v1/billing/subscription/cancel",
                .access = Access::kTenantUser,
                .permission = "billing.manage",
                .summary = "Cancel the school's Stripe subscription at the end of the paid period",
                .tag = "billing",
                .responseSchema = {{"type", "object"},
                                   {"properties",
                                    {{"stripe_subscription_id", {{"type", "string"}}},
                                     {"cancel_at_period_end", {{"type", "boolean"}}},
                                     {"current_period_end", {{"type", {"integer", "null"}}}}}}},
                .successStatus = 202,
                .handler = [this](Request& r) -> Result<Response> { return cancelAtPeriodEnd(r); }});
    router.add({.method = "POST",
                .pattern = "/api/v1/billing/portal",
                .access = Access::kTenantUser,
                .permission = "billing.manage",
                .summary = "Manage the card, invoices and plan on Stripe: a Billing Portal session (its url)",
                .tag = "billing",
                .responseSchema = {{"type", "object"}, {"properties", {{"url", {{"type", {"string", "null"}}}}}}},
                .handler = [this](Request& r) -> Result<Response> {
                    std::string customer;
                    {
                        auto lease = db_.acquire();
                        auto row = lease->queryOne(
                            "SELECT stripe_customer_id FROM platform_subscriptions WHERE tenant_id = ?", {r.tenant->id});
                        customer = row ? row->text("stripe_customer_id") : "";
                    }
                    if (customer.empty()) {
                        return Status(Code::kFailedPrecondition, "no-stripe-customer",
                                      "This school does not pay through Stripe yet: start with a checkout.");
                    }
                    auto session = stripe_.createPortalSession(customer, options_.publicUrl + "/billing");
                    if (!session) {
                        return session.status();
                    }
                    return Response::json(200, {{"url", (*session).value("url", json(nullptr))}});
                }});
    // Stripe signs the raw body: no JSON schema, so the pipeline leaves it untouched.
    router.add({.method = "POST",
                .pattern = "/api/v1/billing/stripe/webhook",
                .access = Access::kPublic,
                .summary = "Stripe webhook: verifies Stripe-Signature and records the event once (processed later)",
                .tag = "billing",
                .responseSchema = {{"type", "object"},
                                   {"properties",
                                    {{"received", {{"type", "boolean"}}},
                                     {"duplicate", {{"type", "boolean"}}},
                                     {"queued", {{"type", "boolean"}}}}}},
                .handler = [this](Request& r) -> Result<Response> {
                    if (auto s = verifyStripeSignature(r.body, r.header("stripe-signature"), options_.webhookSecrets,
                                                       data::nowSeconds());
                        !s.isOk()) {
                        return s;
                    }
                    auto lease = db_.acquire();
                    data::Transaction tx(*lease);
                    auto stored = storeStripeEvent(*lease, r.body);
                    if (!stored) {
                        return stored.status();
                    }
                    bool queued = false;
                    if (*stored && jobs_ != nullptr) {
                        // The job row commits with the event: a crash after the
                        // 200 leaves both, and the job runs after a restart.
                        // An event naming no known school waits for the sweep.
                        const json event = json::parse(r.body, nullptr, false);
                        const std::string tenantId = tenantOfStripeEvent(*lease, event);
                        if (!tenantId.empty()) {
                            JobOptions options;
                            options.uniqueKey = "stripe:" + event["id"].get<std::string>();
                            options.serialKey = "billing";  // one school's events apply one at a time
                            options.maxAttempts = 10;
                            auto job = jobs_->enqueue(*lease, tenantId, kStripeEventJob,
                                                      {{"event_id", event["id"]}}, options);
                            if (!job) {
                                return job.status();
                            }
                            queued = true;
                        }
                    }
                    tx.commit();
                    if (queued) {
                        jobs_->poke();
                    }
                    return Response::json(200, {{"received", true}, {"duplicate", !*stored}, {"queued", queued}});
                }});
}

}  // namespace ardoise::kernel::billing
