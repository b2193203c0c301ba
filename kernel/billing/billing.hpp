#pragma once
// Billing: plans and limits, each school's subscription, the Stripe client
// and webhook. The face other subsystems include.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kernel/billing/invoice_service.hpp"
#include "kernel/billing/plan_service.hpp"
#include "kernel/billing/usage_service.hpp"
#include "kernel/billing/stripe_client.hpp"
#include "kernel/billing/stripe_webhook.hpp"
#include "kernel/data/database.hpp"
#include "kernel/events/event_bus.hpp"
#include "kernel/events/job_queue.hpp"
#include "kernel/http/router.hpp"
#include "kernel/tenancy/tenancy.hpp"

namespace ardoise::kernel::billing {

struct BillingOptions {
    StripeOptions stripe;
    /// Webhook endpoint secrets (whsec_…); several while one is rotated out.
    std::vector<std::string> webhookSecrets;
    /// Days a school stays past_due before it is suspended (read-only).
    int graceDays = 7;
    /// Where Stripe sends the school back after Checkout or the portal
    /// (<publicUrl>/billing…).
    std::string publicUrl = "http://localhost:8080";
    /// templates/ (pdf/invoice.<locale>.mustache).
    std::string templatesDir = "templates";
    /// Period of the billing sweep (late Stripe events, grace days, API
    /// call counters); 0: no sweep thread (tests call sweepOnce()).
    int sweepSeconds = 60;
};

/// The job that applies one stored Stripe event (payload {"event_id"}).
inline constexpr const char* kStripeEventJob = "kernel.stripe_event";

/// The billing services of one application.
class Billing {
public:
    Billing(data::Database& db, BillingOptions options);

    ~Billing() { stop(); }
    Billing(const Billing&) = delete;
    Billing& operator=(const Billing&) = delete;

    PlanService& plans() { return plans_; }
    StripeClient& stripe() { return stripe_; }
    UsageService& usage() { return usage_; }
    InvoiceService& invoices() { return invoices_; }
    const BillingOptions& options() const { return options_; }

    /// Registers the job kernel.stripe_event on `jobs` (before it starts);
    /// from then on the webhook queues one job per new event.
    void attach(events::JobQueue& jobs, events::EventBus& bus);

    /// Operator routes under /api/v1/platform (plans, a school's plan, its
    /// usage, invoices and manual payments, the billing report), the
    /// school's GET /api/v1/billing/{subscription,usage,invoices} and the
    /// public Stripe webhook POST /api/v1/billing/stripe/webhook.
    void registerRoutes(http::Router& router, tenancy::TenantService& tenants);

    /// The sweep thread (every sweepSeconds): sweepOnce().
    void start();
    void stop();
    /// Applies Stripe events left pending for a minute (no school known when
    /// received, or their job gone), suspends schools past their grace days,
    /// flushes API call counters. Returns {events, suspended, api_calls}.
    nlohmann::json sweepOnce(std::int64_t now);

    /// For the request path: a school whose subscription is suspended is
    /// read-only. Writes (POST, PUT, PATCH, DELETE) of its routes, except
    /// signing in (/api/v1/auth/) and paying (/api/v1/billing/), answer 403
    /// "subscription-suspended". Cached per school for 2 s; changes applied
    /// on this node apply at once.
    Status writeGate(const std::string& tenantId, const std::string& method, const std::string& path);
    /// For the request path: the plan's api_requests_per_minute, per school
    /// and per node (each node of a cluster allows the full rate). A token
    /// bucket refilled continuously: `max` requests at once, then one every
    /// 60/max seconds. Beyond it, 429 "plan-rate-limited" with limit, max,
    /// plan, retry_after and, when a plan allows more, upgrade_plan. No plan,
    /// no limit on the plan, or /api/v1/billing/ (so the school can upgrade):
    /// OK. The plan is cached with the state (2 s).
    Status rateGate(const std::string& tenantId, const std::string& path);
    /// Forgets cached subscription states (after a change).
    void invalidate();

private:
    void notifyChanged();
    /// POST /api/v1/billing/checkout: a Stripe Checkout Session for `plan`.
    Result<http::Response> checkout(const http::Request& request);
    /// POST /api/v1/billing/subscription/plan: the Stripe subscription moves
    /// to `plan`'s price, prorated; the new state arrives by webhook.
    Result<http::Response> changePlan(const http::Request& request);
    /// POST /api/v1/billing/subscription/cancel: cancel at the period's end.
    Result<http::Response> cancelAtPeriodEnd(const http::Request& request);
    /// The school's Stripe customer id, created (once, idempotently) if missing.
    Result<std::string> stripeCustomer(const http::TenantContext& tenant);

    data::Database& db_;
    BillingOptions options_;
    PlanService plans_;
    StripeClient stripe_;
    UsageService usage_;
    InvoiceService invoices_;
    events::JobQueue* jobs_ = nullptr;
    events::EventBus* bus_ = nullptr;

    std::shared_mutex stateMutex_;
    struct CachedState {
        std::string status;
        std::string plan;
        std::int64_t perMinute = 0;  ///< api_requests_per_minute; 0 = unlimited
        std::string upgradePlan;     ///< the cheapest plan allowing more, if any
        std::chrono::steady_clock::time_point at;
    };
    std::map<std::string, CachedState> states_;  // guarded by stateMutex_
    /// The school's cached state, read again after kStateTtl.
    CachedState state(const std::string& tenantId);

    std::mutex rateMutex_;
    /// Per school: the GCRA "theoretical arrival time" (steady-clock ns) and
    /// the limit it was computed for (another limit starts a full bucket).
    struct RateState {
        std::int64_t tat = 0;
        std::int64_t perMinute = 0;
    };
    std::unordered_map<std::string, RateState> rateTat_;  // guarded by rateMutex_

    std::thread sweeper_;
    std::atomic<bool> running_{false};
    std::mutex sweepMutex_;
    std::condition_variable sweepWake_;
};

}  // namespace ardoise::kernel::billing
