// Billing against the stateful Stripe stand-in (tests/js/stripe_fake.mjs), over
// HTTP, on SQLite and PostgreSQL: the school's checkout creates objects the
// stand-in keeps, its signed webhooks (signatures made by the official
// `stripe` npm package) drive the school's state, and injected faults (500s
// before or after Stripe acted, timeouts, dropped connections) show that
// retries reuse one Idempotency-Key and that a failure writes nothing.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "kernel/billing/billing.hpp"
#include "kernel/data/database.hpp"
#include "support/stripe_fake.hpp"
#include "support/test_env.hpp"

using ardoise::test::StripeFake;
using ardoise::test::TestServer;
using nlohmann::json;

namespace {

const char* kSecret = "whsec_stand_in";

/// A server wired to a fresh account of the stand-in, whose webhooks go to it.
void startWith(TestServer& s, const StripeFake& fake, int retries = 2) {
    s.config().stripeApiBase = fake.url();
    s.config().stripeSecretKey = fake.key();
    s.config().stripeWebhookSecrets = kSecret;
    s.config().stripeMaxRetries = retries;
    s.config().stripeTimeoutMs = 1500;
    s.config().publicUrl = "https://demo.ardoise.test";
    s.start();
    fake.webhook(s.port(), kSecret);
}

json plan(const std::string& code, std::int64_t amount, const std::string& priceId) {
    return {{"code", code},
            {"name", {{"fr", "Offre " + code}, {"en", code + " plan"}}},
            {"prices", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", amount}, {"stripe_price_id", priceId}}}}};
}

json subscriptionRow(TestServer& s, const std::string& tenantId) {
    return *s.app().billing().plans().subscription(tenantId);
}

long long count(TestServer& s, const std::string& sql, const ardoise::kernel::data::Params& params = {}) {
    auto lease = s.app().database().acquire();
    return lease->queryOne(sql, params)->integer("n");
}

long long published(TestServer& s, const std::string& tenantId, const std::string& name) {
    return count(s, "SELECT COUNT(*) AS n FROM platform_events WHERE tenant_id = ? AND name = ?", {tenantId, name});
}

/// Delivers, requires every delivery accepted, and runs the queued jobs.
void deliverAll(TestServer& s, const StripeFake& fake, const json& request = json::object()) {
    for (const auto& d : fake.deliver(request)) {
        INFO(d.dump());
        CHECK(d["status"] == 200);
    }
    while (s.app().jobs().drain() > 0) {
    }
}

/// Objects of `kind` in the stand-in's state that belong to the school.
std::size_t ownedBy(const json& state, const std::string& kind, const std::string& tenantId) {
    std::size_t n = 0;
    for (const auto& o : state[kind]) {
        const bool byMetadata = o.contains("metadata") && o["metadata"].value("tenant_id", "") == tenantId;
        const bool byReference = o.value("client_reference_id", json(nullptr)) == json(tenantId);
        n += (byMetadata || byReference) ? 1 : 0;
    }
    return n;
}

std::vector<json> requestsTo(const json& state, const std::string& method, const std::string& path) {
    std::vector<json> out;
    for (const auto& r : state["requests"]) {
        if (r["method"] == method && r["path"] == path) {
            out.push_back(r);
        }
    }
    return out;
}

struct School {
    std::string id;
    std::string token;
    std::string price;
};

School schoolOnPlan(TestServer& s, StripeFake& fake) {
    School school;
    school.price = fake.createPrice("xof", 25000);
    school.id = s.createTenant("ecole-a");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("pro", 25000, school.price)));
    REQUIRE(plans.assign(school.id, "XOF", {{"plan", "pro"}}));
    school.token = s.login("ecole-a", "admin@ecole-a.test");
    return school;
}

}  // namespace

TEST_CASE("A school pays through Checkout: a declined first payment leaves it past due, paying the invoice makes it "
          "active, from webhooks the stand-in signs with the stripe package",
          "[billing][stripe][fake][checkout]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    StripeFake fake;
    TestServer s(backend, false);
    startWith(s, fake);
    School school = schoolOnPlan(s, fake);
    REQUIRE(subscriptionRow(s, school.id)["status"] == "active");  // put on the plan by the operator

    auto checkout = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
    REQUIRE(checkout.status == 200);
    const std::string sessionId = checkout.json()["id"];
    json state = fake.state();
    REQUIRE(state["checkout_sessions"].size() == 1);
    const json session = state["checkout_sessions"][0];
    CHECK(session["id"] == sessionId);
    CHECK(checkout.json()["url"] == session["url"]);
    CHECK(session["client_reference_id"] == school.id);
    CHECK(session["success_url"] == "https://demo.ardoise.test/billing?checkout=done");
    REQUIRE(state["customers"].size() == 1);
    CHECK(state["customers"][0]["metadata"]["tenant_id"] == school.id);
    CHECK(subscriptionRow(s, school.id)["stripe_customer_id"] == state["customers"][0]["id"]);
    for (const auto& r : state["requests"]) {
        CHECK(r["stripe_version"] == "2023-08-16");
        CHECK(r["status"] == 200);
        if (r["method"] == "POST") {
            CHECK(r["idempotency_key"].is_string());
        }
    }

    // The card is declined: Stripe's subscription is incomplete, its first invoice failed.
    const json completed = fake.complete(sessionId, "fails");
    const std::string subscriptionId = completed["subscription"]["id"];
    const std::string invoiceId = completed["invoice"]["id"];
    CHECK(completed["subscription"]["status"] == "incomplete");
    deliverAll(s, fake);
    json row = subscriptionRow(s, school.id);
    CHECK(row["status"] == "past_due");
    CHECK(row["stripe_subscription_id"] == subscriptionId);
    CHECK(published(s, school.id, "billing.invoice.payment_failed") == 1);
    CHECK(published(s, school.id, "billing.subscription.past_due") == 1);

    // Paid a minute later (the stand-in's clock moves, like a Stripe test clock).
    fake.control("POST", "/__fake/clock", {{"advance_seconds", 60}});
    fake.control("POST", "/__fake/invoices/" + invoiceId + "/pay");
    deliverAll(s, fake);
    row = subscriptionRow(s, school.id);
    CHECK(row["status"] == "active");
    CHECK(row["plan"] == "pro");
    CHECK(published(s, school.id, "billing.invoice.paid") == 1);
    CHECK(published(s, school.id, "billing.subscription.active") == 2);  // the operator's plan, then the payment
    CHECK(count(s, "SELECT COUNT(*) AS n FROM platform_stripe_invoices WHERE id = ? AND status = 'paid'",
                {invoiceId}) == 1);
    auto seen = s.as(school.token, "ecole-a", "GET", "/api/v1/billing/subscription");
    REQUIRE(seen.status == 200);
    CHECK(seen.json()["status"] == "active");

    // A second checkout is refused while this subscription lives: nothing more at Stripe.
    auto again = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
    CHECK(again.status == 409);
    CHECK(again.json()["type"] == "/problems/subscription-exists");
    CHECK(fake.state()["checkout_sessions"].size() == 1);
}

TEST_CASE("Lost answers and 500s from Stripe: the retries reuse each call's Idempotency-Key and leave one "
          "customer, one session and one subscription",
          "[billing][stripe][fake][idempotency]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    StripeFake fake;
    TestServer s(backend, false);
    startWith(s, fake);
    School school = schoolOnPlan(s, fake);
    // The customer is created but the answer is lost (a 500 after Stripe acted).
    fake.fault({{"path", "/v1/customers"}, {"mode", "after"}, {"status", 500}});
    // The session's first attempt is refused before Stripe acts.
    fake.fault({{"path", "/v1/checkout/sessions"}, {"mode", "before"}, {"status", 500}});

    auto checkout = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
    REQUIRE(checkout.status == 200);
    json state = fake.state();
    CHECK(ownedBy(state, "customers", school.id) == 1);
    CHECK(ownedBy(state, "checkout_sessions", school.id) == 1);

    const auto customers = requestsTo(state, "POST", "/v1/customers");
    REQUIRE(customers.size() == 2);
    CHECK(customers[0]["status"] == 500);
    CHECK(customers[1]["status"] == 200);
    CHECK(customers[1]["replayed"] == true);  // Stripe's stored answer, not a second customer
    CHECK(customers[0]["idempotency_key"] == customers[1]["idempotency_key"]);
    CHECK(subscriptionRow(s, school.id)["stripe_customer_id"] == state["customers"][0]["id"]);

    const auto sessions = requestsTo(state, "POST", "/v1/checkout/sessions");
    REQUIRE(sessions.size() == 2);
    CHECK(sessions[0]["status"] == 500);
    CHECK(sessions[1]["status"] == 200);
    CHECK(sessions[1]["replayed"] == false);  // the first attempt did nothing at Stripe
    CHECK(sessions[0]["idempotency_key"] == sessions[1]["idempotency_key"]);

    fake.complete(checkout.json()["id"]);
    deliverAll(s, fake);
    state = fake.state();
    CHECK(ownedBy(state, "subscriptions", school.id) == 1);
    CHECK(subscriptionRow(s, school.id)["stripe_subscription_id"] == state["subscriptions"][0]["id"]);
    CHECK(subscriptionRow(s, school.id)["status"] == "active");
}

TEST_CASE("A Stripe that times out or drops the connection fails the checkout with a clear problem and writes "
          "nothing; the next checkout reuses the customer Stripe created meanwhile",
          "[billing][stripe][fake][faults]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    StripeFake fake;
    TestServer s(backend, false);
    startWith(s, fake, 1);
    School school = schoolOnPlan(s, fake);
    const json before = subscriptionRow(s, school.id);
    const auto rows = s.rowCounts();

    // Every attempt waits longer than the client's timeout (1.5 s); Stripe
    // still creates the customer, after the client gave up.
    fake.fault({{"path", "/v1/customers"}, {"delay_ms", 2500}, {"times", 2}});
    auto slow = s.request("POST", "/api/v1/billing/checkout", json{{"plan", "pro"}},
                          {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + school.token}, {"Accept-Language", "fr"}});
    CHECK(slow.status == 503);
    CHECK(slow.header("content-type") == "application/problem+json");
    CHECK(slow.json()["type"] == "/problems/stripe-unavailable");
    CHECK(slow.json()["title"] == "Stripe injoignable");
    CHECK(s.rowCounts() == rows);
    CHECK(subscriptionRow(s, school.id) == before);

    // The connection is dropped on every attempt to create the session.
    fake.fault({{"path", "/v1/checkout/sessions"}, {"drop", true}, {"times", 2}});
    auto dropped = s.request("POST", "/api/v1/billing/checkout", json{{"plan", "pro"}},
                             {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + school.token},
                              {"Accept-Language", "en"}});
    CHECK(dropped.status == 503);
    CHECK(dropped.json()["type"] == "/problems/stripe-unavailable");
    CHECK(dropped.json()["title"] == "Stripe unreachable");
    json state = fake.state();
    CHECK(state["checkout_sessions"].empty());
    // The customer Stripe made during the slow attempts came back through its
    // key (customer-<school>) and is the school's: one customer, linked.
    CHECK(ownedBy(state, "customers", school.id) == 1);
    CHECK(subscriptionRow(s, school.id)["stripe_customer_id"] == state["customers"][0]["id"]);
    CHECK(subscriptionRow(s, school.id)["status"] == before["status"]);

    auto ok = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
    CHECK(ok.status == 200);
    state = fake.state();
    CHECK(ownedBy(state, "customers", school.id) == 1);
    CHECK(ownedBy(state, "checkout_sessions", school.id) == 1);
}

TEST_CASE("A customer key reused after the school was renamed is refused by Stripe (idempotency_error) and answered "
          "with a clear 409 problem that writes nothing",
          "[billing][stripe][fake][idempotency]") {
    StripeFake fake;
    TestServer s("sqlite", false);
    startWith(s, fake, 0);
    School school = schoolOnPlan(s, fake);
    // Stripe creates the customer, the answer is lost: nothing is linked here.
    fake.fault({{"path", "/v1/customers"}, {"mode", "after"}, {"status", 502}});
    CHECK(s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}}).status == 503);
    CHECK(subscriptionRow(s, school.id)["stripe_customer_id"].is_null());

    const std::map<std::string, std::string> ops = {{"Authorization", "Bearer " + s.operatorToken()}};
    REQUIRE(s.request("PATCH", "/api/v1/platform/tenants/" + school.id, {{"name", "Lycée renommé"}}, ops).status == 200);
    const auto rows = s.rowCounts();
    auto r = s.request("POST", "/api/v1/billing/checkout", json{{"plan", "pro"}},
                       {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + school.token}, {"Accept-Language", "fr"}});
    CHECK(r.status == 409);
    CHECK(r.json()["type"] == "/problems/stripe-idempotency-conflict");
    CHECK(r.json()["title"] == "Requête Stripe en conflit");
    CHECK(s.rowCounts() == rows);
    CHECK(subscriptionRow(s, school.id)["stripe_customer_id"].is_null());
    const json state = fake.state();
    CHECK(ownedBy(state, "customers", school.id) == 1);
    CHECK(state["checkout_sessions"].empty());
}

TEST_CASE("Every call of the Stripe client passes the stand-in's check against Stripe's full OpenAPI document, which "
          "refuses unknown and mistyped parameters as Stripe does",
          "[billing][stripe][fake][contract]") {
    StripeFake fake;
    auto client = fake.client();
    const std::string price = fake.createPrice("xof", 9000);
    const std::string price2 = fake.createPrice("xof", 18000);
    auto customer = client.createCustomer("t1", "Lycée Moderne", "compta@lycee.test", "cus-key-1");
    REQUIRE(customer);
    const std::string customerId = (*customer)["id"];
    auto session = client.createCheckoutSession({.tenantId = "t1",
                                                 .customerId = customerId,
                                                 .priceId = price,
                                                 .quantity = 3,
                                                 .trialDays = 0,
                                                 .successUrl = "https://x.test/ok",
                                                 .cancelUrl = "https://x.test/no"});
    REQUIRE(session);
    auto portal = client.createPortalSession(customerId, "https://x.test/billing");
    REQUIRE(portal);
    CHECK((*portal)["object"] == "billing_portal.session");
    const json completed = fake.complete((*session)["id"]);
    const std::string subId = completed["subscription"]["id"];
    const std::string itemId = completed["subscription"]["items"]["data"][0]["id"];
    auto retrieved = client.retrieveSubscription(subId);
    REQUIRE(retrieved);
    CHECK((*retrieved)["status"] == "active");
    CHECK((*retrieved)["metadata"]["tenant_id"] == "t1");

    fake.control("POST", "/__fake/clock", {{"advance_seconds", 86400}});
    auto changed = client.changeSubscriptionPrice(subId, itemId, price2, 3);
    REQUIRE(changed);
    CHECK((*changed)["items"]["data"][0]["price"]["id"] == price2);
    // Proration: the unused days of the old price credited, the new price charged for them.
    const json items = fake.state()["invoice_items"];
    REQUIRE(items.size() == 2);
    std::int64_t credit = 0;
    std::int64_t charge = 0;
    for (const auto& i : items) {
        CHECK(i["proration"] == true);
        (i["amount"].get<std::int64_t>() < 0 ? credit : charge) = i["amount"].get<std::int64_t>();
    }
    CHECK(credit < 0);
    CHECK(-credit < 9000 * 3);  // a day of the period was used
    CHECK(std::abs(charge + 2 * credit) <= 1);  // twice the price for the same days, give or take the rounding
    auto canceled = client.cancelAtPeriodEnd(subId);
    REQUIRE(canceled);
    CHECK((*canceled)["cancel_at_period_end"] == true);
    CHECK((*canceled)["status"] == "active");
    const auto updates = fake.events("customer.subscription.updated");
    REQUIRE(updates.size() == 2);
    auto event = client.retrieveEvent(updates.back());
    REQUIRE(event);
    CHECK((*event)["data"]["previous_attributes"]["cancel_at_period_end"] == false);

    // Refused like Stripe: a parameter the spec does not know, a wrong type,
    // a missing required one, an endpoint that does not exist.
    auto unknown = client.call("POST", "/v1/customers", {{"nmae", "typo"}});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.status().type() == "stripe-invalid-request");
    CHECK(unknown.status().message().find("nmae") != std::string::npos);
    auto nested = client.call("POST", "/v1/checkout/sessions",
                              {{"mode", "subscription"}, {"subscription_data", {{"trial_days", 3}}}});
    REQUIRE_FALSE(nested);
    CHECK(nested.status().message().find("subscription_data[trial_days]") != std::string::npos);
    auto typed = client.call("POST", "/v1/subscriptions/" + subId, {{"cancel_at_period_end", "soon"}});
    REQUIRE_FALSE(typed);
    CHECK(typed.status().type() == "stripe-invalid-request");
    auto required = client.call("POST", "/v1/billing_portal/sessions", json::object());
    REQUIRE_FALSE(required);
    CHECK(required.status().message().find("customer") != std::string::npos);
    auto nowhere = client.call("GET", "/v1/no_such_thing");
    REQUIRE_FALSE(nowhere);
    CHECK(nowhere.status().type() == "stripe-not-found");
    // A refused request stores nothing under its key: the corrected one goes through.
    auto corrected = client.call("POST", "/v1/customers", {{"nmae", "typo"}}, "key-typo");
    REQUIRE_FALSE(corrected);
    CHECK(client.call("POST", "/v1/customers", {{"name", "typo"}}, "key-typo").isOk());
    // The same key with other parameters: Stripe's idempotency_error.
    auto conflict = client.createCustomer("t1", "Another name", "compta@lycee.test", "cus-key-1");
    REQUIRE_FALSE(conflict);
    CHECK(conflict.status().type() == "stripe-idempotency-conflict");
    // The same key with the same parameters: the first answer again.
    auto replay = client.createCustomer("t1", "Lycée Moderne", "compta@lycee.test", "cus-key-1");
    REQUIRE(replay);
    CHECK((*replay)["id"] == customerId);
}

TEST_CASE("Webhooks signed by the stripe package: accepted when valid; a tampered body, a wrong secret or a stale "
          "timestamp refused with nothing stored; one event delivered three times applies once",
          "[billing][stripe][fake][webhook]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    StripeFake fake;
    TestServer s(backend, false);
    startWith(s, fake);
    School school = schoolOnPlan(s, fake);
    auto checkout = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
    REQUIRE(checkout.status == 200);
    fake.complete(checkout.json()["id"], "fails");
    const std::string failed = fake.events("invoice.payment_failed").at(0);
    const auto stored = [&] { return count(s, "SELECT COUNT(*) AS n FROM platform_stripe_events"); };

    const long long none = stored();
    for (const json& bad : {json{{"tamper", true}}, json{{"secret", "whsec_someone_else"}},
                            json{{"timestamp", ardoise::kernel::data::nowSeconds() - 600}}}) {
        json request = bad;
        request["events"] = {failed};
        const json d = fake.deliver(request).at(0);
        INFO(bad.dump() << " -> " << d.dump());
        CHECK(d["status"] == 400);
        CHECK(json::parse(d["body"].get<std::string>())["type"] == "/problems/stripe-signature-invalid");
    }
    CHECK(stored() == none);

    const json three = fake.deliver({{"events", {failed}}, {"times", 3}});
    REQUIRE(three.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(three[i]["status"] == 200);
        CHECK(json::parse(three[i]["body"].get<std::string>())["duplicate"] == (i > 0));
    }
    CHECK(stored() == none + 1);
    while (s.app().jobs().drain() > 0) {
    }
    CHECK(subscriptionRow(s, school.id)["status"] == "past_due");
    CHECK(published(s, school.id, "billing.invoice.payment_failed") == 1);
    CHECK(published(s, school.id, "billing.subscription.past_due") == 1);
}

TEST_CASE("Out of order from the stand-in: subscription.updated before subscription.created ends on the new plan; "
          "invoice.paid before invoice.payment_failed of the same invoice ends active",
          "[billing][stripe][fake][webhook][order]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    StripeFake fake;
    TestServer s(backend, false);
    startWith(s, fake);
    School school = schoolOnPlan(s, fake);
    const std::string maxPrice = fake.createPrice("xof", 60000);
    REQUIRE(s.app().billing().plans().create(plan("max", 60000, maxPrice)));

    SECTION("subscription events") {
        auto checkout = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
        REQUIRE(checkout.status == 200);
        const json completed = fake.complete(checkout.json()["id"]);
        fake.control("POST", "/__fake/clock", {{"advance_seconds", 3600}});
        REQUIRE(fake.client().changeSubscriptionPrice(completed["subscription"]["id"],
                                                      completed["subscription"]["items"]["data"][0]["id"], maxPrice));
        const std::string created = fake.events("customer.subscription.created").at(0);
        const std::string updated = fake.events("customer.subscription.updated").at(0);
        deliverAll(s, fake, {{"events", {updated, created}}});
        json row = subscriptionRow(s, school.id);
        CHECK(row["plan"] == "max");
        CHECK(row["status"] == "active");
        CHECK(row["stripe_subscription_id"] == completed["subscription"]["id"]);
        // Everything else, in order now: still on max.
        deliverAll(s, fake);
        CHECK(subscriptionRow(s, school.id)["plan"] == "max");
    }

    SECTION("invoice events") {
        auto checkout = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
        REQUIRE(checkout.status == 200);
        const json completed = fake.complete(checkout.json()["id"], "fails");
        fake.control("POST", "/__fake/clock", {{"advance_seconds", 60}});
        fake.control("POST", "/__fake/invoices/" + completed["invoice"]["id"].get<std::string>() + "/pay");
        const std::string failed = fake.events("invoice.payment_failed").at(0);
        const std::string paid = fake.events("invoice.paid").at(0);
        deliverAll(s, fake, {{"events", {paid, failed}}});
        CHECK(subscriptionRow(s, school.id)["status"] == "active");
        CHECK(published(s, school.id, "billing.subscription.past_due") == 0);
        deliverAll(s, fake);
        CHECK(subscriptionRow(s, school.id)["status"] == "active");
        CHECK(published(s, school.id, "billing.invoice.paid") == 1);
    }
}

TEST_CASE("A school admin moves the Stripe subscription to another plan, prorated, and cancels it at the period's "
          "end through Ardoise's API; the school follows Stripe's events",
          "[billing][stripe][fake][plan-change]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    StripeFake fake;
    TestServer s(backend, false);
    startWith(s, fake, 1);
    School school = schoolOnPlan(s, fake);
    const std::string maxPrice = fake.createPrice("xof", 60000);
    REQUIRE(s.app().billing().plans().create(plan("max", 60000, maxPrice)));
    REQUIRE(s.app().billing().plans().create(
        {{"code", "quote"}, {"name", {{"fr", "Sur devis"}, {"en", "On quote"}}}}));  // no Stripe price

    auto early = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/cancel");
    CHECK(early.status == 409);
    CHECK(early.json()["type"] == "/problems/no-stripe-subscription");
    CHECK(s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/plan", {{"plan", "max"}}).status == 409);

    auto checkout = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
    REQUIRE(checkout.status == 200);
    const json completed = fake.complete(checkout.json()["id"]);
    const std::string subId = completed["subscription"]["id"];
    deliverAll(s, fake);
    REQUIRE(subscriptionRow(s, school.id)["stripe_subscription_id"] == subId);
    fake.control("POST", "/__fake/clock", {{"advance_seconds", 86400}});

    // Refused before any call to Stripe.
    auto unknown = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/plan", {{"plan", "gold"}});
    CHECK(unknown.status == 422);
    auto same = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/plan", {{"plan", "pro"}});
    CHECK(same.status == 409);
    CHECK(same.json()["type"] == "/problems/same-plan");
    auto offline = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/plan", {{"plan", "quote"}});
    CHECK(offline.status == 409);
    CHECK(offline.json()["type"] == "/problems/plan-not-sold-online");
    CHECK(s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/plan", json{{"plan", 7}}).status == 422);
    s.createUser("ecole-a", "t@ecole-a.test", "teacher");
    const std::string teacher = s.login("ecole-a", "t@ecole-a.test");
    CHECK(s.as(teacher, "ecole-a", "POST", "/api/v1/billing/subscription/plan", {{"plan", "max"}}).status == 403);
    CHECK(s.as(teacher, "ecole-a", "POST", "/api/v1/billing/subscription/cancel").status == 403);
    CHECK(requestsTo(fake.state(), "POST", "/v1/subscriptions/" + subId).empty());

    // Stripe's own 500 is stored under the key and replayed to the retry: a
    // clear problem, nothing changed on either side.
    fake.fault({{"path", "/v1/subscriptions/{subscription_exposed_id}"}, {"mode", "stored"}, {"status", 500}});
    const auto rows = s.rowCounts();
    auto failed = s.request("POST", "/api/v1/billing/subscription/plan", json{{"plan", "max"}},
                            {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + school.token},
                             {"Accept-Language", "en"}});
    CHECK(failed.status == 503);
    CHECK(failed.json()["type"] == "/problems/stripe-unavailable");
    CHECK(s.rowCounts() == rows);
    json state = fake.state();
    const auto attempts = requestsTo(state, "POST", "/v1/subscriptions/" + subId);
    REQUIRE(attempts.size() == 2);
    CHECK(attempts[1]["replayed"] == true);
    CHECK(attempts[1]["status"] == 500);
    CHECK(state["subscriptions"][0]["items"]["data"][0]["price"]["id"] == school.price);

    auto moved = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/plan", {{"plan", "max"}});
    REQUIRE(moved.status == 202);
    CHECK(moved.json()["plan"] == "max");
    state = fake.state();
    CHECK(state["subscriptions"][0]["items"]["data"][0]["price"]["id"] == maxPrice);
    REQUIRE(state["invoice_items"].size() == 2);
    std::int64_t credit = 0;
    std::int64_t charge = 0;
    for (const auto& i : state["invoice_items"]) {
        CHECK(i["proration"] == true);
        (i["amount"].get<std::int64_t>() < 0 ? credit : charge) = i["amount"].get<std::int64_t>();
    }
    CHECK(credit < 0);
    CHECK(charge > -credit);  // the bigger plan costs more for the same remaining days
    CHECK(subscriptionRow(s, school.id)["plan"] == "pro");  // until Stripe's event arrives
    deliverAll(s, fake);
    CHECK(subscriptionRow(s, school.id)["plan"] == "max");

    auto cancel = s.as(school.token, "ecole-a", "POST", "/api/v1/billing/subscription/cancel");
    REQUIRE(cancel.status == 202);
    CHECK(cancel.json()["cancel_at_period_end"] == true);
    CHECK(fake.state()["subscriptions"][0]["cancel_at_period_end"] == true);
    CHECK(subscriptionRow(s, school.id)["cancel_at_period_end"] == false);
    deliverAll(s, fake);
    json row = subscriptionRow(s, school.id);
    CHECK(row["cancel_at_period_end"] == true);
    CHECK(row["status"] == "active");  // paid until the period's end
    CHECK(row["current_period_end"] == completed["subscription"]["current_period_end"]);
}
