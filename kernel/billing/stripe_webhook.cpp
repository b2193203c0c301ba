#include "kernel/billing/stripe_webhook.hpp"

#include <sodium.h>

#include <array>
#include <iostream>

#include "kernel/billing/billing_events.hpp"

namespace ardoise::kernel::billing {
namespace {

using nlohmann::json;

std::array<unsigned char, crypto_auth_hmacsha256_BYTES> hmac(const std::string& key, std::string_view t,
                                                             std::string_view payload) {
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(t.data()), t.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>("."), 1);
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
    crypto_auth_hmacsha256_final(&state, mac.data());
    return mac;
}

/// 64 hex digits → 32 bytes; false for anything else.
bool fromHex(std::string_view hex, std::array<unsigned char, crypto_auth_hmacsha256_BYTES>& out) {
    if (hex.size() != out.size() * 2) {
        return false;
    }
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return true;
}

Status invalidSignature(const std::string& why) {
    return {Code::kInvalidArgument, "stripe-signature-invalid", "The Stripe-Signature header is not valid: " + why};
}

}  // namespace

Status verifyStripeSignature(std::string_view payload, std::string_view header, const std::vector<std::string>& secrets,
                             std::int64_t now, std::int64_t tolerance) {
    if (secrets.empty()) {
        return {Code::kFailedPrecondition, "stripe-not-configured",
                "Stripe webhooks are not configured (stripe_webhook_secrets)."};
    }
    std::string_view timestamp;
    std::vector<std::array<unsigned char, crypto_auth_hmacsha256_BYTES>> signatures;
    std::size_t pos = 0;
    while (pos <= header.size()) {
        const std::size_t comma = std::min(header.find(',', pos), header.size());
        const std::string_view item = header.substr(pos, comma - pos);
        const std::size_t eq = item.find('=');
        if (eq != std::string_view::npos) {
            const std::string_view key = item.substr(0, eq);
            const std::string_view value = item.substr(eq + 1);
            if (key == "t" && timestamp.empty()) {
                timestamp = value;
            } else if (key == "v1") {
                std::array<unsigned char, crypto_auth_hmacsha256_BYTES> sig{};
                if (fromHex(value, sig)) {
                    signatures.push_back(sig);
                }
            }
        }
        pos = comma + 1;
    }
    if (timestamp.empty() || timestamp.size() > 12 ||
        timestamp.find_first_not_of("0123456789") != std::string_view::npos) {
        return invalidSignature("no timestamp t=");
    }
    if (signatures.empty()) {
        return invalidSignature("no v1 signature");
    }
    const std::int64_t t = std::stoll(std::string(timestamp));
    if (t < now - tolerance || t > now + tolerance) {
        return invalidSignature("the timestamp is more than " + std::to_string(tolerance) + " seconds away from now");
    }
    bool match = false;
    for (const auto& secret : secrets) {
        const auto expected = hmac(secret, timestamp, payload);
        for (const auto& sig : signatures) {
            // Every comparison runs, so timing reveals neither which matched nor where.
            match = (sodium_memcmp(expected.data(), sig.data(), expected.size()) == 0) || match;
        }
    }
    return match ? Status::ok() : invalidSignature("no signature matches");
}

std::string stripeSignatureHeader(std::string_view payload, const std::string& secret, std::int64_t t) {
    const std::string ts = std::to_string(t);
    const auto mac = hmac(secret, ts, payload);
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : mac) {
        hex += kHex[c >> 4];
        hex += kHex[c & 15];
    }
    return "t=" + ts + ",v1=" + hex;
}

namespace {
bool isEvent(const json& event) {
    return event.is_object() && event.contains("id") && event["id"].is_string() && event.contains("type") &&
           event["type"].is_string() && event.contains("created") && event["created"].is_number_integer();
}
}  // namespace

Result<bool> storeStripeEvent(data::Connection& c, const std::string& payload) {
    const json event = json::parse(payload, nullptr, false);
    if (!isEvent(event)) {
        return Status(Code::kInvalidArgument, "stripe-event-invalid",
                      "The body is not a Stripe event (id, type and created are required).");
    }
    const auto inserted = c.exec(
        "INSERT INTO platform_stripe_events (id, type, created, livemode, payload, received_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        {event["id"].get<std::string>(), event["type"].get<std::string>(), event["created"].get<std::int64_t>(),
         static_cast<std::int64_t>(event.value("livemode", false)), payload, data::nowSeconds()});
    return inserted > 0;
}

Result<bool> storeStripeEvent(data::Database& db, const std::string& payload) {
    auto lease = db.acquire();
    return storeStripeEvent(*lease, payload);
}

const char* toString(EventOutcome outcome) {
    switch (outcome) {
        case EventOutcome::kApplied: return "applied";
        case EventOutcome::kStale: return "stale";
        case EventOutcome::kIgnored: return "ignored";
        case EventOutcome::kUnknownTenant: return "unknown-tenant";
    }
    return "unknown";
}

namespace {

/// Stripe's subscription status → Ardoise's.
std::string mapStatus(const std::string& stripe) {
    if (stripe == "unpaid" || stripe == "paused") {
        return "suspended";
    }
    if (stripe == "incomplete_expired") {
        return "canceled";
    }
    if (stripe == "trialing" || stripe == "active" || stripe == "past_due" || stripe == "canceled") {
        return stripe;
    }
    return "incomplete";
}

/// Lifecycle order, the last tie-break between two states of the same second.
int rank(const std::string& status) {
    static const std::array<const char*, 6> kOrder = {"incomplete", "trialing", "active", "past_due", "suspended",
                                                      "canceled"};
    for (std::size_t i = 0; i < kOrder.size(); ++i) {
        if (status == kOrder[i]) {
            return static_cast<int>(i);
        }
    }
    return 0;
}

/// An expandable field: the id string, or the expanded object's id.
std::string idOf(const json& object, const char* field) {
    if (!object.contains(field)) {
        return "";
    }
    const json& v = object[field];
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_object() && v.contains("id") && v["id"].is_string()) {
        return v["id"].get<std::string>();
    }
    return "";
}

data::Value optionalInt(const json& object, const char* field) {
    if (object.contains(field) && object[field].is_number_integer()) {
        return object[field].get<std::int64_t>();
    }
    return data::null();
}

/// The school's subscription row: by metadata.tenant_id, then the Stripe
/// subscription id, then the customer id.
/// The row is locked until the transaction ends (PostgreSQL; SQLite's write
/// transaction already excludes other writers), so two workers applying
/// events of one school cannot interleave their read and write.
std::optional<data::Row> findSubscription(data::Connection& c, const std::string& tenantId,
                                          const std::string& subscriptionId, const std::string& customerId) {
    const std::string lock = c.dialect() == data::Dialect::kPostgres ? " FOR UPDATE" : "";
    if (!tenantId.empty()) {
        if (auto r = c.queryOne("SELECT * FROM platform_subscriptions WHERE tenant_id = ?" + lock, {tenantId})) {
            return r;
        }
    }
    if (!subscriptionId.empty()) {
        if (auto r = c.queryOne("SELECT * FROM platform_subscriptions WHERE stripe_subscription_id = ?" + lock,
                                {subscriptionId})) {
            return r;
        }
    }
    if (!customerId.empty()) {
        return c.queryOne("SELECT * FROM platform_subscriptions WHERE stripe_customer_id = ?" + lock, {customerId});
    }
    return std::nullopt;
}

/// The plan whose Stripe price is the subscription's first item, if any.
std::optional<data::Row> planOfPrice(data::Connection& c, const json& subscription) {
    const json items = subscription.contains("items") && subscription["items"].is_object()
                           ? subscription["items"].value("data", json::array())
                           : json::array();
    if (!items.is_array() || items.empty() || !items[0].is_object()) {
        return std::nullopt;
    }
    const std::string price = items[0].contains("price") ? idOf(items[0], "price") : "";
    if (price.empty()) {
        return std::nullopt;
    }
    return c.queryOne("SELECT plan_code, currency, billing_interval FROM platform_plan_prices WHERE stripe_price_id = ?",
                      {price});
}

/// past_due_since for a move from `from` to `to` at `at`.
data::Value pastDueSince(const data::Row& row, const std::string& to, std::int64_t at) {
    if (to != "past_due") {
        return data::null();
    }
    return row.text("status") == "past_due" && !row.isNull("past_due_since") ? data::Value(row.integer("past_due_since"))
                                                                            : data::Value(at);
}

EventOutcome applySubscription(data::Connection& c, const json& event, const json& sub) {
    const std::string type = event["type"];
    const std::int64_t created = event["created"];
    const std::string eventId = event["id"];
    const std::string subId = sub.value("id", "");
    const std::string customer = idOf(sub, "customer");
    const std::string tenantHint = sub.contains("metadata") && sub["metadata"].is_object()
                                       ? sub["metadata"].value("tenant_id", "")
                                       : "";
    const std::string status = type == "customer.subscription.deleted" ? "canceled" : mapStatus(sub.value("status", ""));
    const std::int64_t periodStart =
        sub.contains("current_period_start") && sub["current_period_start"].is_number_integer()
            ? sub["current_period_start"].get<std::int64_t>()
            : 0;
    const auto plan = planOfPrice(c, sub);
    auto row = findSubscription(c, tenantHint, subId, customer);
    const auto now = data::nowSeconds();
    if (!row) {
        // A school known only from the metadata: its row can be created when
        // the price names a plan.
        if (tenantHint.empty() || !plan || !c.queryOne("SELECT id FROM tenants WHERE id = ?", {tenantHint})) {
            return EventOutcome::kUnknownTenant;
        }
        c.exec("INSERT INTO platform_subscriptions (tenant_id, plan_code, currency, billing_interval, status, "
               "created_at, updated_at) VALUES (?, ?, ?, ?, 'incomplete', ?, ?)",
               {tenantHint, plan->text("plan_code"), plan->text("currency"), plan->text("billing_interval"), now, now});
        row = c.queryOne("SELECT * FROM platform_subscriptions WHERE tenant_id = ?", {tenantHint});
    }
    const std::string storedSub = row->text("stripe_subscription_id");
    if (row->text("status") == "canceled" && !storedSub.empty() && storedSub == subId) {
        return EventOutcome::kStale;  // a canceled Stripe subscription never comes back
    }
    const std::int64_t storedCreated = row->integer("state_event_created");
    const std::int64_t storedPeriod = row->integer("state_period_start");
    if (row->text("state_event_id") == eventId || created < storedCreated ||
        (created == storedCreated && periodStart < storedPeriod) ||
        (created == storedCreated && periodStart == storedPeriod && rank(status) < rank(row->text("status")))) {
        return EventOutcome::kStale;
    }
    c.exec("UPDATE platform_subscriptions SET status = ?, plan_code = ?, currency = ?, billing_interval = ?, "
           "stripe_subscription_id = ?, stripe_customer_id = ?, current_period_end = ?, cancel_at_period_end = ?, "
           "trial_ends_at = ?, past_due_since = ?, state_event_id = ?, state_event_created = ?, state_period_start = ?, "
           "updated_at = ? WHERE tenant_id = ?",
           {status, plan ? plan->text("plan_code") : row->text("plan_code"),
            plan ? plan->text("currency") : row->text("currency"),
            plan ? plan->text("billing_interval") : row->text("billing_interval"),
            subId.empty() ? data::optionalText(row->optText("stripe_subscription_id")) : data::Value(subId),
            customer.empty() ? data::optionalText(row->optText("stripe_customer_id")) : data::Value(customer),
            optionalInt(sub, "current_period_end"),
            static_cast<std::int64_t>(sub.value("cancel_at_period_end", false) ? 1 : 0), optionalInt(sub, "trial_end"),
            pastDueSince(*row, status, created), eventId, created, std::max(periodStart, storedPeriod), now,
            row->text("tenant_id")});
    recordTransition(c, row->text("tenant_id"), row->text("status"), status,
                     {{"plan", plan ? plan->text("plan_code") : row->text("plan_code")},
                      {"cause", type},
                      {"stripe_event_id", eventId},
                      {"stripe_subscription_id", subId}});
    return EventOutcome::kApplied;
}

EventOutcome applyInvoice(data::Connection& c, const json& event, const json& invoice) {
    const std::string type = event["type"];
    const std::int64_t created = event["created"];
    const bool paid = type != "invoice.payment_failed";
    const std::string invoiceId = invoice.value("id", "");
    const std::string subId = idOf(invoice, "subscription");
    const std::string tenantHint =
        invoice.contains("subscription_details") && invoice["subscription_details"].is_object() &&
                invoice["subscription_details"].contains("metadata") &&
                invoice["subscription_details"]["metadata"].is_object()
            ? invoice["subscription_details"]["metadata"].value("tenant_id", "")
            : "";
    auto row = findSubscription(c, tenantHint, subId, idOf(invoice, "customer"));
    if (!row) {
        return EventOutcome::kUnknownTenant;
    }
    if (row->text("state_event_id") == event["id"].get<std::string>()) {
        return EventOutcome::kStale;  // this very event, delivered again
    }
    const auto now = data::nowSeconds();
    const auto known = c.queryOne("SELECT status FROM platform_stripe_invoices WHERE id = ?", {invoiceId});
    if (known && known->text("status") == "paid") {
        return EventOutcome::kStale;  // paid is final
    }
    if (!invoiceId.empty() && !(known && known->text("status") == (paid ? "paid" : "failed"))) {
        recordBillingFact(c, row->text("tenant_id"), paid ? "invoice.paid" : "invoice.payment_failed",
                          {{"stripe_invoice_id", invoiceId},
                           {"amount", paid ? invoice.value("amount_paid", json(nullptr)) : invoice.value("amount_due", json(nullptr))},
                           {"currency", invoice.value("currency", json(nullptr))},
                           {"hosted_invoice_url", invoice.value("hosted_invoice_url", json(nullptr))},
                           {"stripe_event_id", event["id"]}});
    }
    if (!invoiceId.empty()) {
        if (known) {
            c.exec("UPDATE platform_stripe_invoices SET status = ?, event_created = ?, updated_at = ? WHERE id = ?",
                   {paid ? "paid" : "failed", created, now, invoiceId});
        } else {
            c.exec("INSERT INTO platform_stripe_invoices (id, tenant_id, stripe_subscription_id, status, event_created, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                   {invoiceId, row->text("tenant_id"), subId, paid ? "paid" : "failed", created, now});
        }
    }
    const std::string current = row->text("status");
    if (created < row->integer("state_event_created") || current == "canceled") {
        return EventOutcome::kStale;
    }
    std::string next = current;
    if (paid && (current == "past_due" || current == "suspended" || current == "incomplete")) {
        next = "active";
    } else if (!paid && (current == "active" || current == "trialing" || current == "incomplete")) {
        next = "past_due";
    }
    c.exec("UPDATE platform_subscriptions SET status = ?, past_due_since = ?, state_event_id = ?, "
           "state_event_created = ?, updated_at = ? WHERE tenant_id = ?",
           {next, next == "past_due" ? pastDueSince(*row, next, created) : data::null(), event["id"].get<std::string>(),
            created, now, row->text("tenant_id")});
    recordTransition(c, row->text("tenant_id"), current, next,
                     {{"plan", row->text("plan_code")},
                      {"cause", type},
                      {"stripe_event_id", event["id"]},
                      {"stripe_invoice_id", invoiceId}});
    return EventOutcome::kApplied;
}

EventOutcome applyCheckout(data::Connection& c, const json& session) {
    const std::string tenantId = session.value("client_reference_id", json(nullptr)).is_string()
                                     ? session["client_reference_id"].get<std::string>()
                                     : "";
    auto row = findSubscription(c, tenantId, idOf(session, "subscription"), idOf(session, "customer"));
    if (!row) {
        return EventOutcome::kUnknownTenant;
    }
    // Links ids only; the subscription's own events carry its state.
    const std::string customer = idOf(session, "customer");
    const std::string subscription = idOf(session, "subscription");
    c.exec("UPDATE platform_subscriptions SET stripe_customer_id = COALESCE(stripe_customer_id, ?), "
           "stripe_subscription_id = COALESCE(stripe_subscription_id, ?), updated_at = ? WHERE tenant_id = ?",
           {customer.empty() ? data::null() : data::Value(customer),
            subscription.empty() ? data::null() : data::Value(subscription), data::nowSeconds(), row->text("tenant_id")});
    return EventOutcome::kApplied;
}

}  // namespace

namespace {

/// Applies `event` on `c`, inside the caller's transaction.
Result<EventOutcome> applyEvent(data::Connection& c, const json& event) {
    if (!isEvent(event) || !event.contains("data") || !event["data"].is_object() || !event["data"].contains("object") ||
        !event["data"]["object"].is_object()) {
        return Status(Code::kInvalidArgument, "stripe-event-invalid", "The Stripe event lacks id, type, created or data.object.");
    }
    const std::string type = event["type"];
    const json& object = event["data"]["object"];
    if (type == "checkout.session.completed") {
        return applyCheckout(c, object);
    }
    if (type == "customer.subscription.created" || type == "customer.subscription.updated" ||
        type == "customer.subscription.deleted" || type == "customer.subscription.paused" ||
        type == "customer.subscription.resumed") {
        return applySubscription(c, event, object);
    }
    if (type == "invoice.paid" || type == "invoice.payment_succeeded" || type == "invoice.payment_failed") {
        return applyInvoice(c, event, object);
    }
    return EventOutcome::kIgnored;
}

}  // namespace

Result<EventOutcome> processStripeEvent(data::Connection& c, const json& event) {
    data::Transaction tx(c);
    auto outcome = applyEvent(c, event);
    if (outcome) {
        tx.commit();
    }
    return outcome;
}

std::string tenantOfStripeEvent(data::Connection& c, const json& event) {
    if (!event.is_object() || !event.contains("data") || !event["data"].is_object() ||
        !event["data"].contains("object") || !event["data"]["object"].is_object()) {
        return "";
    }
    const json& object = event["data"]["object"];
    auto metadataTenant = [](const json& o) -> std::string {
        if (o.contains("metadata") && o["metadata"].is_object() && o["metadata"].contains("tenant_id") &&
            o["metadata"]["tenant_id"].is_string()) {
            return o["metadata"]["tenant_id"].get<std::string>();
        }
        return "";
    };
    std::vector<std::string> candidates;
    if (object.contains("client_reference_id") && object["client_reference_id"].is_string()) {
        candidates.push_back(object["client_reference_id"].get<std::string>());
    }
    candidates.push_back(metadataTenant(object));
    if (object.contains("subscription_details") && object["subscription_details"].is_object()) {
        candidates.push_back(metadataTenant(object["subscription_details"]));
    }
    for (const auto& id : candidates) {
        if (!id.empty() && c.queryOne("SELECT id FROM tenants WHERE id = ?", {id})) {
            return id;
        }
    }
    const std::string object_type = object.value("object", "");
    const std::string subscription = object_type == "subscription" ? object.value("id", "") : idOf(object, "subscription");
    if (!subscription.empty()) {
        if (auto r = c.queryOne("SELECT tenant_id FROM platform_subscriptions WHERE stripe_subscription_id = ?",
                                {subscription})) {
            return r->text("tenant_id");
        }
    }
    const std::string customer = object_type == "customer" ? object.value("id", "") : idOf(object, "customer");
    if (!customer.empty()) {
        if (auto r = c.queryOne("SELECT tenant_id FROM platform_subscriptions WHERE stripe_customer_id = ?", {customer})) {
            return r->text("tenant_id");
        }
    }
    return "";
}

Result<json> processStoredStripeEvent(data::Connection& c, const std::string& eventId) {
    std::string error;
    try {
        data::Transaction tx(c);
        // The row lock (PostgreSQL; SQLite's write transaction excludes other
        // writers) makes a job and the sweep that meet on one event apply it once.
        const std::string lock = c.dialect() == data::Dialect::kPostgres ? " FOR UPDATE" : "";
        auto row = c.queryOne("SELECT payload, processed_at, outcome FROM platform_stripe_events WHERE id = ?" + lock,
                              {eventId});
        if (!row) {
            return Status(Code::kNotFound, "stripe-event-not-found", "No Stripe event " + eventId + " was received.");
        }
        if (!row->isNull("processed_at")) {
            return json{{"event_id", eventId}, {"outcome", row->text("outcome")}, {"already_processed", true}};
        }
        const json event = json::parse(row->text("payload"), nullptr, false);
        auto outcome = applyEvent(c, event);
        if (!outcome && outcome.status().code() != Code::kInvalidArgument) {
            error = outcome.status().message();
        } else {
            // An invalid event will never apply: recorded, not retried.
            const std::string result = outcome ? toString(*outcome) : "invalid";
            c.exec("UPDATE platform_stripe_events SET processed_at = ?, outcome = ?, attempts = attempts + 1, "
                   "last_error = ? WHERE id = ?",
                   {data::nowSeconds(), result,
                    outcome ? data::null() : data::Value(outcome.status().message()), eventId});
            const std::string tenantId = outcome ? tenantOfStripeEvent(c, event) : "";
            tx.commit();
            return json{{"event_id", eventId},
                        {"outcome", result},
                        {"tenant_id", tenantId.empty() ? json(nullptr) : json(tenantId)}};
        }
    } catch (const data::DbError& e) {
        error = e.what();
    }
    std::cerr << json({{"level", "warning"}, {"msg", "stripe event not processed"}, {"event", eventId}, {"error", error}})
                     .dump()
              << "\n";
    try {
        c.exec("UPDATE platform_stripe_events SET attempts = attempts + 1, last_error = ? WHERE id = ?", {error, eventId});
    } catch (const data::DbError&) {
    }
    return Status(Code::kUnavailable, "stripe-event-failed", "The Stripe event " + eventId + " was not applied: " + error);
}

int processPendingStripeEvents(data::Database& db, int limit, std::int64_t receivedBefore) {
    auto lease = db.acquire();
    const auto pending = lease->query(
        "SELECT id FROM platform_stripe_events WHERE processed_at IS NULL AND received_at <= ? "
        "ORDER BY created, received_at LIMIT ?",
        {receivedBefore, static_cast<std::int64_t>(limit)});
    int done = 0;
    for (const auto& row : pending) {
        auto r = processStoredStripeEvent(*lease, row.text("id"));
        if (r && !r->value("already_processed", false)) {
            ++done;
        }
    }
    return done;
}

int suspendOverdue(data::Database& db, std::int64_t now, int graceDays) {
    auto lease = db.acquire();
    const std::int64_t limit = now - static_cast<std::int64_t>(graceDays) * 86400;
    const auto overdue = lease->query(
        "SELECT tenant_id FROM platform_subscriptions WHERE status = 'past_due' AND past_due_since IS NOT NULL "
        "AND past_due_since <= ?",
        {limit});
    int changed = 0;
    for (const auto& row : overdue) {
        const std::string tenantId = row.text("tenant_id");
        data::Transaction tx(*lease);
        // Re-checked in the transaction: a payment may have landed meanwhile.
        if (lease->exec("UPDATE platform_subscriptions SET status = 'suspended', updated_at = ? WHERE tenant_id = ? "
                        "AND status = 'past_due' AND past_due_since IS NOT NULL AND past_due_since <= ?",
                        {now, tenantId, limit}) == 1) {
            auto sub = lease->queryOne("SELECT plan_code, past_due_since FROM platform_subscriptions WHERE tenant_id = ?",
                                       {tenantId});
            recordTransition(*lease, tenantId, "past_due", "suspended",
                             {{"plan", sub->text("plan_code")},
                              {"cause", "grace-period"},
                              {"grace_days", graceDays},
                              {"past_due_since", sub->integer("past_due_since")}});
            ++changed;
        }
        tx.commit();
    }
    return changed;
}

}  // namespace ardoise::kernel::billing
