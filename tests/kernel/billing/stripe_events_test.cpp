// processStripeEvent: the subscription lifecycle, whatever the order and
// however often Stripe delivers its events. On SQLite and PostgreSQL.

#include <catch2/catch.hpp>

#include "kernel/billing/billing.hpp"
#include "support/test_env.hpp"

using ardoise::kernel::billing::EventOutcome;
using ardoise::test::TestServer;
using nlohmann::json;

namespace {

/// A migrated server with the plans "starter" and "pro" (Stripe prices
/// price_starter and price_pro) and the school "ecole-a" on starter.
struct Fixture {
    explicit Fixture(const std::string& backend) : server(backend) {
        auto& plans = server.app().billing().plans();
        for (const auto& [code, price] : {std::pair{"starter", "price_starter"}, std::pair{"pro", "price_pro"}}) {
            REQUIRE(plans.create({{"code", code},
                                  {"name", {{"fr", code}, {"en", code}}},
                                  {"prices", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 1000},
                                               {"stripe_price_id", price}}}}}));
        }
        tenantId = server.createTenant("ecole-a");
        REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));
    }

    EventOutcome apply(const json& event) {
        auto lease = server.app().database().acquire();
        auto outcome = ardoise::kernel::billing::processStripeEvent(*lease, event);
        REQUIRE(outcome);
        return *outcome;
    }

    json state() { return *server.app().billing().plans().subscription(tenantId); }

    json subscriptionEvent(const std::string& id, const std::string& type, std::int64_t created,
                           const std::string& status, std::int64_t periodStart, const std::string& price = "price_pro",
                           const std::string& sub = "sub_1") {
        return {{"id", id},
                {"object", "event"},
                {"type", type},
                {"created", created},
                {"data",
                 {{"object",
                   {{"id", sub},
                    {"object", "subscription"},
                    {"customer", "cus_1"},
                    {"status", status},
                    {"current_period_start", periodStart},
                    {"current_period_end", periodStart + 30 * 86400},
                    {"cancel_at_period_end", false},
                    {"trial_end", nullptr},
                    {"metadata", {{"tenant_id", tenantId}}},
                    {"items", {{"object", "list"}, {"data", {{{"id", "si_1"}, {"price", {{"id", price}}}}}}}}}}}}};
    }

    static json invoiceEvent(const std::string& id, const std::string& type, std::int64_t created,
                             const std::string& invoice, const std::string& sub = "sub_1") {
        return {{"id", id},
                {"object", "event"},
                {"type", type},
                {"created", created},
                {"data", {{"object", {{"id", invoice}, {"object", "invoice"}, {"subscription", sub}, {"customer", "cus_1"}}}}}};
    }

    TestServer server;
    std::string tenantId;
};

constexpr std::int64_t kDay = 86400;

}  // namespace

TEST_CASE("A subscription goes trialing, active, past_due, suspended after the grace days, active on payment, "
          "then canceled for good",
          "[billing][events]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    Fixture f(backend);
    CHECK(f.apply(f.subscriptionEvent("evt_1", "customer.subscription.created", 1000, "trialing", 1000)) ==
          EventOutcome::kApplied);
    auto s = f.state();
    CHECK(s["status"] == "trialing");
    CHECK(s["plan"] == "pro");  // the price names the plan
    CHECK(s["stripe_subscription_id"] == "sub_1");
    CHECK(s["stripe_customer_id"] == "cus_1");

    CHECK(f.apply(f.subscriptionEvent("evt_2", "customer.subscription.updated", 2000, "active", 2000)) ==
          EventOutcome::kApplied);
    CHECK(f.state()["status"] == "active");
    CHECK(f.state()["current_period_end"] == 2000 + 30 * kDay);

    CHECK(f.apply(Fixture::invoiceEvent("evt_3", "invoice.payment_failed", 3000, "in_1")) == EventOutcome::kApplied);
    CHECK(f.state()["status"] == "past_due");
    auto& db = f.server.app().database();
    CHECK(ardoise::kernel::billing::suspendOverdue(db, 3000 + 3 * kDay - 1, 3) == 0);
    CHECK(f.state()["status"] == "past_due");
    CHECK(ardoise::kernel::billing::suspendOverdue(db, 3000 + 3 * kDay, 3) == 1);
    CHECK(f.state()["status"] == "suspended");

    CHECK(f.apply(Fixture::invoiceEvent("evt_4", "invoice.paid", 3000 + 4 * kDay, "in_1")) == EventOutcome::kApplied);
    CHECK(f.state()["status"] == "active");

    CHECK(f.apply(f.subscriptionEvent("evt_5", "customer.subscription.deleted", 3000 + 5 * kDay, "canceled", 2000)) ==
          EventOutcome::kApplied);
    CHECK(f.state()["status"] == "canceled");
    // A canceled Stripe subscription never comes back, even by a newer event.
    CHECK(f.apply(f.subscriptionEvent("evt_6", "customer.subscription.updated", 3000 + 6 * kDay, "active", 2000)) ==
          EventOutcome::kStale);
    CHECK(f.state()["status"] == "canceled");
    // A new subscription for the same school starts a new life.
    CHECK(f.apply(f.subscriptionEvent("evt_7", "customer.subscription.created", 3000 + 7 * kDay, "active",
                                      3000 + 7 * kDay, "price_starter", "sub_2")) == EventOutcome::kApplied);
    CHECK(f.state()["status"] == "active");
    CHECK(f.state()["plan"] == "starter");
    CHECK(f.state()["stripe_subscription_id"] == "sub_2");
}

TEST_CASE("subscription.updated delivered before subscription.created ends in the updated state", "[billing][events]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    Fixture f(backend);
    CHECK(f.apply(f.subscriptionEvent("evt_up", "customer.subscription.updated", 2000, "active", 2000)) ==
          EventOutcome::kApplied);
    CHECK(f.apply(f.subscriptionEvent("evt_cr", "customer.subscription.created", 1000, "trialing", 1000)) ==
          EventOutcome::kStale);
    CHECK(f.state()["status"] == "active");

    // In the same second, the later period wins, then the later lifecycle step.
    CHECK(f.apply(f.subscriptionEvent("evt_a", "customer.subscription.updated", 5000, "past_due", 4000)) ==
          EventOutcome::kApplied);
    CHECK(f.apply(f.subscriptionEvent("evt_b", "customer.subscription.updated", 5000, "active", 3000)) ==
          EventOutcome::kStale);
    CHECK(f.apply(f.subscriptionEvent("evt_c", "customer.subscription.created", 5000, "incomplete", 4000)) ==
          EventOutcome::kStale);
    CHECK(f.state()["status"] == "past_due");
}

TEST_CASE("invoice.paid delivered before invoice.payment_failed of the same invoice leaves the school active",
          "[billing][events]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    Fixture f(backend);
    f.apply(f.subscriptionEvent("evt_1", "customer.subscription.created", 1000, "active", 1000));
    CHECK(f.apply(Fixture::invoiceEvent("evt_paid", "invoice.paid", 2010, "in_9")) == EventOutcome::kApplied);
    CHECK(f.apply(Fixture::invoiceEvent("evt_failed", "invoice.payment_failed", 2000, "in_9")) == EventOutcome::kStale);
    CHECK(f.state()["status"] == "active");
    // Even a failure stamped later cannot unpay a paid invoice.
    CHECK(f.apply(Fixture::invoiceEvent("evt_failed2", "invoice.payment_failed", 2020, "in_9")) == EventOutcome::kStale);
    CHECK(f.state()["status"] == "active");
    // Another invoice's failure does count.
    CHECK(f.apply(Fixture::invoiceEvent("evt_other", "invoice.payment_failed", 2030, "in_10")) == EventOutcome::kApplied);
    CHECK(f.state()["status"] == "past_due");
}

TEST_CASE("An event applied three times changes the state once", "[billing][events]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    Fixture f(backend);
    f.apply(f.subscriptionEvent("evt_1", "customer.subscription.created", 1000, "active", 1000));
    const auto failed = Fixture::invoiceEvent("evt_f", "invoice.payment_failed", 2000, "in_1");
    CHECK(f.apply(failed) == EventOutcome::kApplied);
    const auto after = f.state();
    CHECK(f.apply(failed) == EventOutcome::kStale);
    CHECK(f.apply(failed) == EventOutcome::kStale);
    CHECK(f.state() == after);
    const auto updated = f.subscriptionEvent("evt_u", "customer.subscription.updated", 3000, "active", 3000);
    CHECK(f.apply(updated) == EventOutcome::kApplied);
    CHECK(f.apply(updated) == EventOutcome::kStale);
    CHECK(f.state()["status"] == "active");
}

TEST_CASE("Checkout completion links Stripe's ids; unknown schools and other event types change nothing",
          "[billing][events]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    Fixture f(backend);
    const json checkout = {{"id", "evt_co"},
                           {"type", "checkout.session.completed"},
                           {"created", 1000},
                           {"data",
                            {{"object",
                              {{"id", "cs_1"}, {"client_reference_id", f.tenantId}, {"customer", "cus_9"},
                               {"subscription", "sub_9"}}}}}};
    CHECK(f.apply(checkout) == EventOutcome::kApplied);
    CHECK(f.state()["stripe_customer_id"] == "cus_9");
    CHECK(f.state()["stripe_subscription_id"] == "sub_9");
    CHECK(f.state()["status"] == "active");  // status comes from the subscription's own events

    json stranger = f.subscriptionEvent("evt_x", "customer.subscription.updated", 2000, "canceled", 2000, "price_pro",
                                        "sub_unknown");
    stranger["data"]["object"]["metadata"] = json::object();
    stranger["data"]["object"]["customer"] = "cus_unknown";
    CHECK(f.apply(stranger) == EventOutcome::kUnknownTenant);
    CHECK(f.state()["status"] == "active");
    CHECK(f.apply({{"id", "evt_c"}, {"type", "customer.created"}, {"created", 1}, {"data", {{"object", json::object()}}}}) ==
          EventOutcome::kIgnored);

    auto lease = f.server.app().database().acquire();
    auto invalid = ardoise::kernel::billing::processStripeEvent(*lease, {{"id", "evt_bad"}, {"type", "invoice.paid"}});
    CHECK(invalid.status().type() == "stripe-event-invalid");
}

TEST_CASE("Stored events are processed once, oldest first, with their outcome recorded", "[billing][events]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    Fixture f(backend);
    auto& db = f.server.app().database();
    const auto created = f.subscriptionEvent("evt_cr", "customer.subscription.created", 1000, "trialing", 1000);
    const auto updated = f.subscriptionEvent("evt_up", "customer.subscription.updated", 2000, "active", 2000);
    // Received out of order, the second one twice.
    CHECK(*ardoise::kernel::billing::storeStripeEvent(db, updated.dump()));
    CHECK(*ardoise::kernel::billing::storeStripeEvent(db, created.dump()));
    CHECK_FALSE(*ardoise::kernel::billing::storeStripeEvent(db, created.dump()));
    CHECK(ardoise::kernel::billing::storeStripeEvent(db, R"({"id":"evt_no_type"})").status().type() ==
          "stripe-event-invalid");
    CHECK(ardoise::kernel::billing::processPendingStripeEvents(db) == 2);
    CHECK(ardoise::kernel::billing::processPendingStripeEvents(db) == 0);
    CHECK(f.state()["status"] == "active");
    auto lease = db.acquire();
    auto rows = lease->query("SELECT id, outcome, attempts FROM platform_stripe_events ORDER BY created");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].text("outcome") == "applied");  // evt_cr, processed first because older
    CHECK(rows[1].text("outcome") == "applied");
    CHECK(rows[1].integer("attempts") == 1);
}
