#pragma once
// Billing: plans and limits, each school's subscription, the Stripe client
// and webhook. The face other subsystems include.

#include <memory>
#include <string>
#include <vector>

#include "kernel/billing/plan_service.hpp"
#include "kernel/billing/stripe_client.hpp"
#include "kernel/billing/stripe_webhook.hpp"
#include "kernel/data/database.hpp"
#include "kernel/http/router.hpp"
#include "kernel/tenancy/tenancy.hpp"

namespace ardoise::kernel::billing {

struct BillingOptions {
    StripeOptions stripe;
    /// Webhook endpoint secrets (whsec_…); several while one is rotated out.
    std::vector<std::string> webhookSecrets;
};

/// The billing services of one application.
class Billing {
public:
    Billing(data::Database& db, BillingOptions options);

    PlanService& plans() { return plans_; }
    StripeClient& stripe() { return stripe_; }
    const BillingOptions& options() const { return options_; }

    /// Operator routes under /api/v1/platform (plans, a school's plan) and
    /// the public Stripe webhook POST /api/v1/billing/stripe/webhook.
    void registerRoutes(http::Router& router, tenancy::TenantService& tenants);

private:
    data::Database& db_;
    BillingOptions options_;
    PlanService plans_;
    StripeClient stripe_;
};

}  // namespace ardoise::kernel::billing
