// Every call the Stripe client makes, sent to Prism serving Stripe's own
// OpenAPI document (../shared/specs/stripe-openapi-trimmed.json): Prism
// refuses a request that breaks the schema (422) and answers valid ones with
// Stripe's example objects.
//
// tests/run.sh starts one Prism for the whole run and exports its URL as
// ARDOISE_TEST_STRIPE_MOCK_URL; without it, this test starts its own (about
// 20 s on a cold machine) on a free loopback port, once per process.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "kernel/billing/billing.hpp"
#include "kernel/billing/stripe_client.hpp"
#include "support/child_process.hpp"
#include "support/node.hpp"
#include "support/test_env.hpp"

using ardoise::kernel::billing::StripeClient;
using nlohmann::json;

namespace {

std::string stripeSpec() {
    if (const char* spec = std::getenv("ARDOISE_STRIPE_SPEC")) {
        return spec;
    }
    return (std::filesystem::path(ARDOISE_TESTS_DIR) / ".." / ".." / "shared" / "specs" / "stripe-openapi-trimmed.json")
        .lexically_normal()
        .string();
}

/// The URL of a running Prism: the run's, or one started here and kept for
/// the rest of the process.
std::string prismUrl() {
    if (const char* url = std::getenv("ARDOISE_TEST_STRIPE_MOCK_URL"); url != nullptr && *url != '\0') {
        return url;
    }
    static std::unique_ptr<ardoise::test::ChildProcess> prism;
    static std::string url;
    if (!prism) {
        const std::string bin = ardoise::test::kJsDir + "/node_modules/.bin/prism";
        if (!std::filesystem::exists(bin)) {
            FAIL("Prism is missing from " << ardoise::test::kJsDir << "/node_modules: run `npm ci` in tests/js");
        }
        if (!std::filesystem::exists(stripeSpec())) {
            FAIL("Stripe's OpenAPI document is missing: " << stripeSpec() << " (set ARDOISE_STRIPE_SPEC)");
        }
        const auto port = std::to_string(ardoise::test::freeLoopbackPort());
        // Its log goes to a file: a pipe nobody reads would fill and block it.
        const std::string log = (std::filesystem::temp_directory_path() / ("ardoise-prism-" + port + ".log")).string();
        prism = std::make_unique<ardoise::test::ChildProcess>(std::vector<std::string>{
            "/bin/sh", "-c",
            "exec " + ardoise::test::shellQuote(bin) + " mock -h 127.0.0.1 -p " + port + " " +
                ardoise::test::shellQuote(stripeSpec()) + " >" + ardoise::test::shellQuote(log) + " 2>&1"});
        url = "http://127.0.0.1:" + port;
    }
    return url;
}

/// Waits until Prism answers (it needs seconds to load the document).
StripeClient readyClient() {
    ardoise::kernel::billing::StripeOptions o;
    o.apiBase = prismUrl();
    o.secretKey = "sk_test_ardoise";
    o.maxRetries = 0;
    o.timeoutMs = 10000;
    StripeClient client(o);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (true) {
        auto probe = client.retrieveEvent("evt_probe");
        if (probe.isOk() || probe.status().type() != "stripe-unavailable") {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            FAIL("Prism did not answer at " << o.apiBase << " within 120 s: " << probe.status().message());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return client;
}

}  // namespace

TEST_CASE("Every Stripe call Ardoise makes is accepted by Stripe's OpenAPI schema (Prism)",
          "[billing][stripe][prism]") {
    StripeClient client = readyClient();

    auto customer = client.createCustomer("t1", "Lycée Moderne de Cocody", "compta@lycee.test");
    REQUIRE(customer);
    CHECK((*customer)["object"] == "customer");

    auto checkout = client.createCheckoutSession({.tenantId = "t1",
                                                  .customerId = "cus_123",
                                                  .priceId = "price_123",
                                                  .quantity = 420,
                                                  .trialDays = 30,
                                                  .successUrl = "https://demo.ardoise.test/billing/ok",
                                                  .cancelUrl = "https://demo.ardoise.test/billing"});
    REQUIRE(checkout);
    CHECK((*checkout)["object"] == "checkout.session");

    auto portal = client.createPortalSession("cus_123", "https://demo.ardoise.test/billing");
    REQUIRE(portal);
    CHECK((*portal)["object"] == "billing_portal.session");

    auto sub = client.retrieveSubscription("sub_123");
    REQUIRE(sub);
    CHECK((*sub)["object"] == "subscription");
    auto changed = client.changeSubscriptionPrice("sub_123", "si_123", "price_456", 420);
    REQUIRE(changed);
    CHECK((*changed)["object"] == "subscription");
    auto canceled = client.cancelAtPeriodEnd("sub_123");
    REQUIRE(canceled);
    CHECK((*canceled)["object"] == "subscription");

    auto event = client.retrieveEvent("evt_123");
    REQUIRE(event);
    CHECK((*event)["object"] == "event");

    // Prism does check: a Checkout Session without its required fields is refused.
    auto refused = client.call("POST", "/v1/checkout/sessions", json::object());
    REQUIRE_FALSE(refused);
    CHECK(refused.status().type() == "stripe-invalid-request");
}

TEST_CASE("A school admin starts a Stripe Checkout for its plan and opens the billing portal; the calls pass Stripe's "
          "schema",
          "[billing][stripe][prism][checkout]") {
    const std::string apiBase = readyClient().options().apiBase;
    ardoise::test::TestServer s("sqlite", false);
    s.config().stripeApiBase = apiBase;
    s.config().stripeSecretKey = "sk_test_ardoise";
    s.config().stripeMaxRetries = 0;
    s.config().publicUrl = "https://demo.ardoise.test";
    s.start();
    const std::string tenantId = s.createTenant("ecole-a");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create({{"code", "pro"},
                          {"name", {{"fr", "Pro"}, {"en", "Pro"}}},
                          {"trial_days", 14},
                          {"prices",
                           {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 500}, {"per_student", true},
                             {"stripe_price_id", "price_pro"}},
                            {{"currency", "XOF"}, {"interval", "year"}, {"amount", 5000}}}}}));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "pro"}}));
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");

    auto portalFirst = s.as(token, "ecole-a", "POST", "/api/v1/billing/portal");
    CHECK(portalFirst.status == 409);
    CHECK(portalFirst.json()["type"] == "/problems/no-stripe-customer");
    auto yearly = s.as(token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}, {"interval", "year"}});
    CHECK(yearly.status == 409);
    CHECK(yearly.json()["type"] == "/problems/plan-not-sold-online");
    CHECK(s.as(token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "gold"}}).status == 422);
    s.createUser("ecole-a", "t@ecole-a.test", "teacher");
    const std::string teacher = s.login("ecole-a", "t@ecole-a.test");
    CHECK(s.as(teacher, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}}).status == 403);

    auto checkout = s.as(token, "ecole-a", "POST", "/api/v1/billing/checkout", {{"plan", "pro"}});
    REQUIRE(checkout.status == 200);
    CHECK(checkout.json()["id"].is_string());
    // Prism answers Stripe's example customer; its id is now the school's.
    auto sub = *plans.subscription(tenantId);
    CHECK(sub["stripe_customer_id"].is_string());
    auto portal = s.as(token, "ecole-a", "POST", "/api/v1/billing/portal");
    CHECK(portal.status == 200);
}

TEST_CASE("An unreachable Stripe fails a checkout with a clear problem and writes nothing", "[billing][stripe][checkout]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    ardoise::test::TestServer s(backend, false);
    s.config().stripeApiBase = "http://127.0.0.1:" + std::to_string(ardoise::test::freeLoopbackPort());
    s.config().stripeSecretKey = "sk_test_ardoise";
    s.config().stripeMaxRetries = 1;
    s.config().stripeConnectTimeoutMs = 500;
    s.start();
    const std::string tenantId = s.createTenant("ecole-a");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create({{"code", "pro"},
                          {"name", {{"fr", "Pro"}, {"en", "Pro"}}},
                          {"prices", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 9000},
                                       {"stripe_price_id", "price_pro"}}}}}));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "pro"}}));
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    const auto before = s.rowCounts();
    const auto subBefore = *plans.subscription(tenantId);
    auto r = s.request("POST", "/api/v1/billing/checkout", json{{"plan", "pro"}},
                       {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "fr"}});
    CHECK(r.status == 503);
    CHECK(r.json()["type"] == "/problems/stripe-unavailable");
    CHECK(r.json()["detail"] == "Le service de paiement Stripe ne répond pas. Réessayez dans quelques minutes.");
    CHECK(s.rowCounts() == before);
    CHECK(*plans.subscription(tenantId) == subBefore);
}
