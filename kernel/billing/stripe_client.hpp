#pragma once
// Stripe's REST API over libcurl: form-encoded bodies, the API version
// pinned, an Idempotency-Key on every POST kept across retries, retries with
// exponential backoff, and Stripe's errors turned into Status.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace ardoise::kernel::billing {

/// Every request sends `Stripe-Version: kStripeApiVersion`, so a change of
/// the account's default version cannot change what Ardoise receives.
inline constexpr const char* kStripeApiVersion = "2023-08-16";

struct StripeOptions {
    std::string apiBase = "https://api.stripe.com";  ///< no trailing slash
    std::string secretKey;                           ///< sk_live_… / sk_test_…; "" = billing through Stripe is off
    long connectTimeoutMs = 5000;
    long timeoutMs = 30000;  ///< whole request, per attempt
    int maxRetries = 2;      ///< attempts after the first
    std::chrono::milliseconds backoff{500};  ///< first wait; doubled per retry, at most 8 s
};

/// `params` in application/x-www-form-urlencoded with Stripe's brackets:
/// {"metadata":{"tenant_id":"t1"}} → "metadata[tenant_id]=t1",
/// {"items":[{"price":"p"}]} → "items[0][price]=p". Booleans are true/false,
/// null is an empty value (Stripe's way to unset), keys keep their order.
std::string formEncode(const nlohmann::json& params);

/// What a call needs to create a Checkout Session for a subscription.
struct CheckoutRequest {
    std::string tenantId;     ///< client_reference_id and subscription metadata
    std::string customerId;   ///< cus_…
    std::string priceId;      ///< price_…
    std::int64_t quantity = 1;  ///< students, for per-student prices
    int trialDays = 0;          ///< 0 = no trial
    std::string successUrl;
    std::string cancelUrl;
};

/// Thread-safe: every call uses its own curl handle.
class StripeClient {
public:
    explicit StripeClient(StripeOptions options);

    /// One API call. GET and DELETE send `params` in the query string, POST
    /// in the body with an Idempotency-Key: `idempotencyKey`, or a new random
    /// one when empty, the same on every attempt.
    ///
    /// Retried, after 1×, 2×, 4×… `backoff`: network failures and timeouts,
    /// 409 (a lock on the object), 429 and 5xx, unless Stripe answers
    /// `Stripe-Should-Retry: false` (and also other statuses when it says true).
    ///
    /// Errors: "stripe-not-configured" (no secret key, kFailedPrecondition),
    /// "stripe-unavailable" (unreachable, timed out, 429/5xx after the
    /// retries, or not JSON; kUnavailable), "stripe-invalid-request" (400/422,
    /// kInvalidArgument), "stripe-idempotency-conflict" (a key reused with other
    /// parameters, kConflict), "stripe-card-declined" (402, kFailedPrecondition),
    /// "stripe-not-found" (404), "stripe-authentication" (401/403: the key is
    /// wrong, kInternal). Messages carry Stripe's own message and parameter.
    Result<nlohmann::json> call(const std::string& method, const std::string& path,
                                const nlohmann::json& params = nlohmann::json::object(),
                                std::string idempotencyKey = "");

    /// POST /v1/customers with the school's name, email and metadata[tenant_id].
    Result<nlohmann::json> createCustomer(const std::string& tenantId, const std::string& name,
                                          const std::string& email, const std::string& idempotencyKey = "");
    /// POST /v1/checkout/sessions in subscription mode (trial days when > 0).
    Result<nlohmann::json> createCheckoutSession(const CheckoutRequest& request, const std::string& idempotencyKey = "");
    /// POST /v1/billing_portal/sessions: where the school manages its card and invoices.
    Result<nlohmann::json> createPortalSession(const std::string& customerId, const std::string& returnUrl);
    /// GET /v1/subscriptions/{id}.
    Result<nlohmann::json> retrieveSubscription(const std::string& subscriptionId);
    /// POST /v1/subscriptions/{id}: the item `itemId` moves to `priceId`,
    /// prorated (proration_behavior=create_prorations).
    Result<nlohmann::json> changeSubscriptionPrice(const std::string& subscriptionId, const std::string& itemId,
                                                   const std::string& priceId, std::int64_t quantity = 1,
                                                   const std::string& idempotencyKey = "");
    /// POST /v1/subscriptions/{id} with cancel_at_period_end=true.
    Result<nlohmann::json> cancelAtPeriodEnd(const std::string& subscriptionId);
    /// GET /v1/events/{id}: the authoritative copy of a webhook's event.
    Result<nlohmann::json> retrieveEvent(const std::string& eventId);

    const StripeOptions& options() const { return options_; }

private:
    StripeOptions options_;
};

}  // namespace ardoise::kernel::billing
