#pragma once
// Stripe webhooks: signature verification, storage of the raw event (once per
// event id), and the application of an event to a school's subscription.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::billing {

/// Stripe's default tolerance between the signature's timestamp and now.
inline constexpr std::int64_t kStripeSignatureTolerance = 300;

/// Checks a `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` header for
/// `payload` (the raw body, byte for byte): accepted when some v1 equals
/// hex(HMAC-SHA256(secret, "<t>.<payload>")) for some secret of `secrets`
/// (several during a rotation), compared in constant time, and t is within
/// `tolerance` seconds of `now`, before or after. Other schemes (v0) are
/// ignored. Errors: "stripe-signature-invalid" (kInvalidArgument) with the
/// reason; "stripe-not-configured" when `secrets` is empty.
Status verifyStripeSignature(std::string_view payload, std::string_view header,
                             const std::vector<std::string>& secrets, std::int64_t now,
                             std::int64_t tolerance = kStripeSignatureTolerance);

/// The header Stripe would send for `payload` signed with `secret` at `t`
/// (for tests and tools).
std::string stripeSignatureHeader(std::string_view payload, const std::string& secret, std::int64_t t);

/// Stores a verified event's raw body in platform_stripe_events. Returns true
/// when stored, false when this event id was already there (a redelivery,
/// which changes nothing). Error "stripe-event-invalid" when the body is not
/// an event (an object with string id, string type and integer created).
Result<bool> storeStripeEvent(data::Database& db, const std::string& payload);
/// The same on `c`, joining the caller's transaction.
Result<bool> storeStripeEvent(data::Connection& c, const std::string& payload);

/// The school an event is about, when it can be told before processing: by
/// client_reference_id or metadata.tenant_id (an existing school), else by a
/// known Stripe subscription or customer id; "" when unknown.
std::string tenantOfStripeEvent(data::Connection& c, const nlohmann::json& event);

/// What processStripeEvent() did with an event.
enum class EventOutcome {
    kApplied,        ///< the school's state changed (or was linked to Stripe ids)
    kStale,          ///< older than the state already recorded: nothing changed
    kIgnored,        ///< a type Ardoise does not act on
    kUnknownTenant,  ///< no school could be matched to the event
};
const char* toString(EventOutcome outcome);

/// Applies one Stripe event to the platform's billing state, in one
/// transaction. Handled: checkout.session.completed (links the customer and
/// subscription ids, by client_reference_id), customer.subscription.created
/// / updated / deleted / paused / resumed, invoice.paid /
/// payment_succeeded / payment_failed.
///
/// Statuses follow Stripe's (trialing, active, past_due, canceled,
/// incomplete; unpaid and paused become suspended; incomplete_expired and
/// deleted become canceled). Order-independent: a subscription event older
/// than the recorded state (by the event's `created`, then the object's
/// current_period_start, then lifecycle order) changes nothing; a canceled
/// subscription stays canceled; a paid invoice stays paid, so its late
/// payment_failed changes nothing; a paid invoice brings past_due or
/// suspended back to active. Applying the same event twice is a no-op.
Result<EventOutcome> processStripeEvent(data::Connection& c, const nlohmann::json& event);

/// Applies the stored event `eventId` once: in one transaction that locks
/// its row, applies it unless already processed, and records the outcome.
/// Returns {event_id, outcome, tenant_id} or {…, already_processed: true}.
/// Errors: kNotFound (never received); kUnavailable when it could not be
/// applied now (attempts and last_error recorded; the caller retries).
/// What the job `kernel.stripe_event` runs.
Result<nlohmann::json> processStoredStripeEvent(data::Connection& c, const std::string& eventId);

/// Processes up to `limit` stored events not yet processed and received at
/// or before `receivedBefore`, oldest first (processStoredStripeEvent each).
/// Returns how many were processed now. The billing sweep's catch-up.
int processPendingStripeEvents(data::Database& db, int limit = 100,
                               std::int64_t receivedBefore = INT64_MAX);

/// Moves subscriptions past_due for more than `graceDays` to suspended, each
/// audited and published as billing.subscription.suspended. Returns how
/// many changed.
int suspendOverdue(data::Database& db, std::int64_t now, int graceDays);

}  // namespace ardoise::kernel::billing
