// Billing over HTTP: operators manage plans and schools' plans; Stripe posts
// signed events to the webhook. And the `plan` CLI with the demo's seed.

#include <catch2/catch.hpp>

#include "kernel/billing/billing.hpp"
#include "kernel/data/database.hpp"
#include "support/child_process.hpp"
#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

json starterPlan() {
    return {{"code", "starter"},
            {"name", {{"fr", "Essentiel"}, {"en", "Starter"}}},
            {"trial_days", 30},
            {"prices",
             {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 25000}},
              {{"currency", "XOF"}, {"interval", "year"}, {"amount", 250000}},
              {{"currency", "EUR"}, {"interval", "month"}, {"amount", 3900}, {"stripe_price_id", "price_1Abc"}}}},
            {"limits", {{"students", 300}, {"staff", 30}, {"sms_per_month", 200}}},
            {"features", {"timetable", "gamification"}}};
}

}  // namespace

TEST_CASE("Operators create, list, show, replace and delete plans", "[billing][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::map<std::string, std::string> ops = {{"Authorization", "Bearer " + s.operatorToken()}};

    auto created = s.request("POST", "/api/v1/platform/plans", starterPlan(), ops);
    REQUIRE(created.status == 201);
    CHECK(created.header("location") == "/api/v1/platform/plans/starter");
    auto plan = created.json();
    CHECK(plan["name"]["fr"] == "Essentiel");
    CHECK(plan["trial_days"] == 30);
    CHECK(plan["limits"]["students"] == 300);
    CHECK(plan["limits"]["storage_mb"].is_null());  // not given: unlimited
    CHECK(plan["features"] == json({"gamification", "timetable"}));
    REQUIRE(plan["prices"].size() == 3);
    CHECK(plan["prices"][0]["currency"] == "EUR");
    CHECK(plan["prices"][0]["stripe_price_id"] == "price_1Abc");
    CHECK(plan["prices"][1]["amount"] == 25000);
    CHECK(plan["prices"][1]["formatted"]["fr"] == "25\u202F000\u00A0F\u00A0CFA");
    CHECK(plan["prices"][1]["formatted"]["en"] == "XOF\u00A025,000");

    auto again = s.request("POST", "/api/v1/platform/plans", starterPlan(), ops);
    CHECK(again.status == 409);
    CHECK(again.json()["type"] == "/problems/plan-code-taken");

    CHECK(s.request("GET", "/api/v1/platform/plans", nullptr, ops).json()["items"].size() == 1);
    CHECK(s.request("GET", "/api/v1/platform/plans/starter", nullptr, ops).json() == plan);

    json replacement = starterPlan();
    replacement.erase("code");
    replacement["prices"] = {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 500}, {"per_student", true}}};
    replacement["limits"] = {{"students", nullptr}, {"api_requests_per_minute", 120}};
    auto replaced = s.request("PUT", "/api/v1/platform/plans/starter", replacement, ops);
    REQUIRE(replaced.status == 200);
    CHECK(replaced.json()["prices"].size() == 1);
    CHECK(replaced.json()["prices"][0]["per_student"] == true);
    CHECK(replaced.json()["limits"]["students"].is_null());
    CHECK(replaced.json()["limits"]["api_requests_per_minute"] == 120);
    CHECK(replaced.json()["created_at"] == plan["created_at"]);

    replacement["code"] = "other";
    auto renamed = s.request("PUT", "/api/v1/platform/plans/starter", replacement, ops);
    CHECK(renamed.status == 422);
    CHECK(renamed.json()["errors"][0]["reason"] == "immutable");

    CHECK(s.request("DELETE", "/api/v1/platform/plans/starter", nullptr, ops).status == 200);
    auto gone = s.request("GET", "/api/v1/platform/plans/starter", nullptr, {{"Authorization", ops.at("Authorization")},
                                                                             {"Accept-Language", "fr"}});
    CHECK(gone.status == 404);
    CHECK(gone.json()["type"] == "/problems/plan-not-found");
    CHECK(gone.json()["detail"] == "Aucune offre n'a le code starter.");
    replacement.erase("code");
    CHECK(s.request("PUT", "/api/v1/platform/plans/starter", replacement, ops).status == 404);
    CHECK(s.countRows("platform_plan_prices") == 0);  // a plan's prices and features go with it
    CHECK(s.countRows("platform_plan_features") == 0);
}

TEST_CASE("An invalid plan is refused with each bad field named, in the caller's language", "[billing][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string auth = "Bearer " + s.operatorToken();
    json bad = starterPlan();
    bad["code"] = "Starter!";
    bad["prices"][0]["amount"] = 12.5;       // amounts are integers in minor units
    bad["prices"][1]["interval"] = "week";
    bad["limits"]["students"] = -1;
    bad["limits"]["teachers"] = 3;
    auto r = s.request("POST", "/api/v1/platform/plans", bad, {{"Authorization", auth}, {"Accept-Language", "fr"}});
    REQUIRE(r.status == 422);
    CHECK(r.json()["type"] == "/problems/validation");
    std::set<std::string> pointers;
    const json problem = r.json();
    for (const auto& e : problem["errors"]) {
        pointers.insert(e["pointer"].get<std::string>());
    }
    CHECK(pointers == std::set<std::string>{"/code", "/prices/0/amount", "/prices/1/interval", "/limits/students",
                                            "/limits/teachers"});

    json twice = starterPlan();
    twice["prices"][1]["interval"] = "month";
    auto duplicate = s.request("POST", "/api/v1/platform/plans", twice, {{"Authorization", auth}, {"Accept-Language", "en"}});
    REQUIRE(duplicate.status == 422);
    CHECK(duplicate.json()["errors"][0]["pointer"] == "/prices/1");
    CHECK(duplicate.json()["errors"][0]["detail"] == "repeats a currency and interval");
    CHECK(s.countRows("platform_plans") == 0);

    // School users are not operators.
    s.createTenant("ecole-a");
    CHECK(s.as(s.login("ecole-a", "admin@ecole-a.test"), "", "GET", "/api/v1/platform/plans").status == 401);
    CHECK(s.request("GET", "/api/v1/platform/plans").status == 401);
}

TEST_CASE("Operators put a school on a plan, change it, and cannot delete a plan in use", "[billing][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::map<std::string, std::string> ops = {{"Authorization", "Bearer " + s.operatorToken()}};
    REQUIRE(s.request("POST", "/api/v1/platform/plans", starterPlan(), ops).status == 201);
    json pro = starterPlan();
    pro["code"] = "pro";
    pro["trial_days"] = 0;
    REQUIRE(s.request("POST", "/api/v1/platform/plans", pro, ops).status == 201);
    s.createTenant("ecole-a");

    auto none = s.request("GET", "/api/v1/platform/tenants/ecole-a/plan", nullptr, ops);
    CHECK(none.status == 404);
    CHECK(none.json()["type"] == "/problems/no-plan");

    const auto before = ardoise::kernel::data::nowSeconds();
    auto assigned = s.request("PUT", "/api/v1/platform/tenants/ecole-a/plan", {{"plan", "starter"}}, ops);
    REQUIRE(assigned.status == 200);
    CHECK(assigned.json()["plan"] == "starter");
    CHECK(assigned.json()["status"] == "trialing");  // the plan's 30-day trial starts
    CHECK(assigned.json()["currency"] == "XOF");       // the school's currency
    CHECK(assigned.json()["interval"] == "month");
    CHECK(assigned.json()["trial_ends_at"].get<std::int64_t>() >= before + 30 * 86400);

    auto changed = s.request("PUT", "/api/v1/platform/tenants/ecole-a/plan", {{"plan", "pro"}, {"interval", "year"}}, ops);
    REQUIRE(changed.status == 200);
    CHECK(changed.json()["plan"] == "pro");
    CHECK(changed.json()["status"] == "trialing");  // a change of plan keeps the status
    CHECK(s.request("GET", "/api/v1/platform/tenants/ecole-a/plan", nullptr, ops).json() == changed.json());

    auto noPrice = s.request("PUT", "/api/v1/platform/tenants/ecole-a/plan",
                             {{"plan", "pro"}, {"interval", "year"}, {"currency", "EUR"}}, ops);
    CHECK(noPrice.status == 422);
    CHECK(noPrice.json()["errors"][0]["reason"] == "no-price");
    auto unknown = s.request("PUT", "/api/v1/platform/tenants/ecole-a/plan", {{"plan", "gold"}}, ops);
    CHECK(unknown.status == 422);
    CHECK(unknown.json()["errors"][0]["pointer"] == "/plan");
    CHECK(s.request("PUT", "/api/v1/platform/tenants/nowhere/plan", {{"plan", "pro"}}, ops).status == 404);

    auto inUse = s.request("DELETE", "/api/v1/platform/plans/pro", nullptr, ops);
    CHECK(inUse.status == 409);
    CHECK(inUse.json()["type"] == "/problems/plan-in-use");
    CHECK(inUse.json()["schools"] == "1");
    CHECK(s.request("DELETE", "/api/v1/platform/plans/starter", nullptr, ops).status == 200);

    // Deleting the school removes its subscription; then the plan can go.
    REQUIRE(s.request("DELETE", "/api/v1/platform/tenants/ecole-a", nullptr, ops).status == 200);
    CHECK(s.countRows("platform_subscriptions") == 0);
    CHECK(s.request("DELETE", "/api/v1/platform/plans/pro", nullptr, ops).status == 200);
}

TEST_CASE("The Stripe webhook records a signed event once however often it is delivered, and refuses bad signatures",
          "[billing][api][webhook]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend, false);
    s.config().stripeWebhookSecrets = "whsec_old,whsec_current";
    s.start();
    const std::string tenantId = s.createTenant("ecole-a");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(starterPlan()));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));

    const json event = {{"id", "evt_1Pq"},
                        {"object", "event"},
                        {"type", "invoice.payment_failed"},
                        {"created", 1700000000},
                        {"livemode", false},
                        {"data",
                         {{"object",
                           {{"id", "in_1"},
                            {"object", "invoice"},
                            {"customer", "cus_1"},
                            {"subscription", "sub_1"},
                            {"subscription_details", {{"metadata", {{"tenant_id", tenantId}}}}}}}}}};
    const std::string body = event.dump();
    auto post = [&](const std::string& payload, const std::string& signature, const std::string& lang = "fr") {
        return ardoise::test::httpRequest(s.port(), "POST", "/api/v1/billing/stripe/webhook", payload,
                                          {{"Content-Type", "application/json; charset=utf-8"},
                                           {"Stripe-Signature", signature},
                                           {"Accept-Language", lang}});
    };
    const auto now = ardoise::kernel::data::nowSeconds();
    const std::string signature = ardoise::kernel::billing::stripeSignatureHeader(body, "whsec_current", now);
    for (int delivery = 0; delivery < 3; ++delivery) {
        auto r = post(body, signature);
        REQUIRE(r.status == 200);
        CHECK(r.json()["received"] == true);
        CHECK(r.json()["duplicate"] == (delivery > 0));
    }
    CHECK(s.countRows("platform_stripe_events") == 1);
    // Signed with the secret being rotated out: still accepted.
    json second = event;
    second["id"] = "evt_2Pq";
    CHECK(post(second.dump(), ardoise::kernel::billing::stripeSignatureHeader(second.dump(), "whsec_old", now)).status ==
          200);

    std::string tampered = body;
    tampered.replace(tampered.find("payment_failed"), 14, "paid\",\"x\":\"yyyy");
    auto refused = post(tampered, signature);
    CHECK(refused.status == 400);
    CHECK(refused.json()["type"] == "/problems/stripe-signature-invalid");
    CHECK(refused.json()["title"] == "Signature Stripe invalide");
    CHECK(post(body, ardoise::kernel::billing::stripeSignatureHeader(body, "whsec_wrong", now)).status == 400);
    auto stale = post(body, ardoise::kernel::billing::stripeSignatureHeader(body, "whsec_current", now - 301), "en");
    CHECK(stale.status == 400);
    CHECK(stale.json()["title"] == "Invalid Stripe signature");
    CHECK(post(body, "").status == 400);
    const std::string notEvent = R"({"hello":"world"})";
    auto invalid = post(notEvent, ardoise::kernel::billing::stripeSignatureHeader(notEvent, "whsec_current", now));
    CHECK(invalid.status == 400);
    CHECK(invalid.json()["type"] == "/problems/stripe-event-invalid");
    CHECK(s.countRows("platform_stripe_events") == 2);

    // Processing (later, by the job queue) applies each stored event once.
    CHECK(ardoise::kernel::billing::processPendingStripeEvents(s.app().database()) == 2);
    CHECK((*plans.subscription(tenantId))["status"] == "past_due");
    CHECK(ardoise::kernel::billing::processPendingStripeEvents(s.app().database()) == 0);
}

TEST_CASE("Without webhook secrets the endpoint refuses every event", "[billing][api][webhook]") {
    TestServer s("sqlite");
    const std::string body = R"({"id":"evt_1","type":"invoice.paid","created":1})";
    auto r = ardoise::test::httpRequest(
        s.port(), "POST", "/api/v1/billing/stripe/webhook", body,
        {{"Stripe-Signature", ardoise::kernel::billing::stripeSignatureHeader(body, "whsec_x",
                                                                              ardoise::kernel::data::nowSeconds())}});
    CHECK(r.status == 409);
    CHECK(r.json()["type"] == "/problems/stripe-not-configured");
    CHECK(s.countRows("platform_stripe_events") == 0);
}

TEST_CASE("The plan CLI lists the demo's seeded plans and puts a school on one", "[billing][cli]") {
    ardoise::test::TempDir dir;
    auto cli = [&](const std::string& args) {
        return ardoise::test::runCommand("ARDOISE_DATA_DIR=" + dir.path() + " ARDOISE_DATABASE_URL=sqlite:" + dir.path() +
                                         "/ardoise.db " + std::string(ARDOISE_BINARY) + " " + args + " 2>&1");
    };
    REQUIRE(cli("migrate").exitCode == 0);
    auto applied = cli("tenant apply " + std::string(ARDOISE_SOURCE_DIR) + "/tenants/demo");
    REQUIRE(applied.exitCode == 0);
    CHECK(applied.output.find("created plan starter") != std::string::npos);
    CHECK(applied.output.find("plan pro (trialing)") != std::string::npos);
    auto list = cli("plan list");
    REQUIRE(list.exitCode == 0);
    CHECK(list.output.find("enterprise\tEntreprise") != std::string::npos);
    CHECK(list.output.find("starter\tEssentiel\t\u20AC39.00/month") != std::string::npos);
    CHECK(list.output.find("XOF\u00A025,000/month") != std::string::npos);
    CHECK(list.output.find("pro\tPro") != std::string::npos);
    auto show = cli("plan show pro");
    REQUIRE(show.exitCode == 0);
    CHECK(json::parse(show.output)["limits"]["students"] == 2000);

    REQUIRE(cli("tenant create --slug ecole-b --name B").exitCode == 0);
    auto assigned = cli("plan assign --tenant ecole-b --plan enterprise --interval year");
    REQUIRE(assigned.exitCode == 0);
    CHECK(json::parse(assigned.output)["status"] == "active");  // no trial on Enterprise
    auto created = cli(R"(plan create --json '{"code":"mini","name":{"fr":"Mini","en":"Mini"}}')");
    REQUIRE(created.exitCode == 0);
    CHECK(json::parse(created.output)["prices"].empty());
    auto updated = cli(R"(plan update mini --json '{"name":{"fr":"Petit","en":"Small"},"trial_days":14}')");
    REQUIRE(updated.exitCode == 0);
    CHECK(json::parse(updated.output)["trial_days"] == 14);
    auto refused = cli("plan delete enterprise");
    CHECK(refused.exitCode == 1);
    CHECK(refused.output.find("Schools are on this plan") != std::string::npos);
    CHECK(cli("plan delete mini").exitCode == 0);
    CHECK(cli("plan show mini").exitCode == 1);
}
