// Billing in motion, over HTTP on SQLite and PostgreSQL: Stripe events
// applied by the job queue (after a restart too), billing.* events and audit
// entries for every transition, the grace-days sweep, suspended schools
// read-only, plans deciding plugins, and quotas with usage metering.

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>

#include "kernel/billing/billing.hpp"
#include "kernel/data/database.hpp"
#include "support/child_process.hpp"
#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

constexpr std::int64_t kDay = 86400;
const char* kSecret = "whsec_lifecycle";

json plan(const std::string& code, std::int64_t xofMonthly, const json& limits, const json& features) {
    return {{"code", code},
            {"name", {{"fr", "Offre " + code}, {"en", code + " plan"}}},
            {"prices", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", xofMonthly}}}},
            {"limits", limits},
            {"features", features}};
}

json invoiceEvent(const std::string& id, const std::string& type, std::int64_t created, const std::string& invoice,
                  const std::string& tenantId) {
    return {{"id", id},
            {"object", "event"},
            {"type", type},
            {"created", created},
            {"livemode", false},
            {"data",
             {{"object",
               {{"id", invoice},
                {"object", "invoice"},
                {"customer", "cus_1"},
                {"subscription", "sub_1"},
                {"amount_due", 25000},
                {"amount_paid", type == "invoice.paid" ? 25000 : 0},
                {"currency", "xof"},
                {"subscription_details", {{"metadata", {{"tenant_id", tenantId}}}}}}}}}};
}

ardoise::test::HttpResult postWebhook(TestServer& s, const json& event) {
    const std::string body = event.dump();
    return ardoise::test::httpRequest(
        s.port(), "POST", "/api/v1/billing/stripe/webhook", body,
        {{"Content-Type", "application/json"},
         {"Stripe-Signature",
          ardoise::kernel::billing::stripeSignatureHeader(body, kSecret, ardoise::kernel::data::nowSeconds())}});
}

long long count(TestServer& s, const std::string& sql, const ardoise::kernel::data::Params& params = {}) {
    auto lease = s.app().database().acquire();
    return lease->queryOne(sql, params)->integer("n");
}

long long published(TestServer& s, const std::string& tenantId, const std::string& name) {
    return count(s, "SELECT COUNT(*) AS n FROM platform_events WHERE tenant_id = ? AND name = ?", {tenantId, name});
}

long long audited(TestServer& s, const std::string& tenantId, const std::string& action) {
    auto lease = s.app().database().acquire();
    lease->setTenantSetting(tenantId);  // audit_log is under row-level security on PostgreSQL
    return lease->queryOne("SELECT COUNT(*) AS n FROM audit_log WHERE tenant_id = ? AND action = ?", {tenantId, action})
        ->integer("n");
}

std::string subscriptionStatus(TestServer& s, const std::string& tenantId) {
    return (*s.app().billing().plans().subscription(tenantId))["status"];
}

TestServer& startWithWebhook(TestServer& s) {
    s.config().stripeWebhookSecrets = kSecret;
    s.start();
    return s;
}

}  // namespace

TEST_CASE("A Stripe event is applied by a kernel job once, even when the server stops between receiving and "
          "processing it",
          "[billing][lifecycle]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend, false);
    startWithWebhook(s);
    const std::string tenantId = s.createTenant("ecole-a");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("starter", 25000, json::object(), json::array())));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));
    REQUIRE(subscriptionStatus(s, tenantId) == "active");
    CHECK(published(s, tenantId, "billing.subscription.active") == 1);  // the first plan starts the subscription
    REQUIRE(plans.create(plan("pro", 50000, json::object(), json::array())));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "pro"}}));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));  // no change: no event
    CHECK(published(s, tenantId, "billing.plan.changed") == 2);
    CHECK(published(s, tenantId, "billing.subscription.active") == 1);  // a plan change keeps the status

    const json failed = invoiceEvent("evt_fail", "invoice.payment_failed", ardoise::kernel::data::nowSeconds(), "in_1",
                                     tenantId);
    for (int delivery = 0; delivery < 3; ++delivery) {
        auto r = postWebhook(s, failed);
        REQUIRE(r.status == 200);
        CHECK(r.json()["duplicate"] == (delivery > 0));
        CHECK(r.json()["queued"] == (delivery == 0));
    }
    CHECK(count(s, "SELECT COUNT(*) AS n FROM platform_jobs WHERE name = 'kernel.stripe_event' AND tenant_id = ?",
                {tenantId}) == 1);
    CHECK(subscriptionStatus(s, tenantId) == "active");  // stored, not applied yet

    // The server stops (jobs never ran) and starts again on the same database.
    s.start();
    CHECK(subscriptionStatus(s, tenantId) == "active");
    CHECK(s.app().jobs().drain() == 1);
    CHECK(subscriptionStatus(s, tenantId) == "past_due");
    CHECK(count(s, "SELECT COUNT(*) AS n FROM platform_stripe_events WHERE id = 'evt_fail' AND outcome = 'applied' "
                   "AND attempts = 1") == 1);
    CHECK(published(s, tenantId, "billing.subscription.past_due") == 1);
    CHECK(published(s, tenantId, "billing.invoice.payment_failed") == 1);
    CHECK(audited(s, tenantId, "billing.subscription.past_due") == 1);
    auto lease = s.app().database().acquire();
    auto event = lease->queryOne("SELECT payload, source FROM platform_events WHERE tenant_id = ? AND name = ?",
                                 {tenantId, std::string("billing.subscription.past_due")});
    REQUIRE(event);
    CHECK(event->text("source") == "kernel");
    const json payload = json::parse(event->text("payload"));
    CHECK(payload["from"] == "active");
    CHECK(payload["to"] == "past_due");
    CHECK(payload["plan"] == "starter");
    CHECK(payload["stripe_event_id"] == "evt_fail");

    // Delivered again after processing: nothing queued, nothing changes.
    auto again = postWebhook(s, failed);
    CHECK(again.json()["duplicate"] == true);
    CHECK(s.app().jobs().drain() == 0);
    CHECK(ardoise::kernel::billing::processPendingStripeEvents(s.app().database()) == 0);
    CHECK(published(s, tenantId, "billing.subscription.past_due") == 1);

    // Paid: back to active, announced once.
    REQUIRE(postWebhook(s, invoiceEvent("evt_paid", "invoice.paid", ardoise::kernel::data::nowSeconds() + 1, "in_1",
                                        tenantId))
                .status == 200);
    CHECK(s.app().jobs().drain() == 1);
    CHECK(subscriptionStatus(s, tenantId) == "active");
    CHECK(published(s, tenantId, "billing.subscription.active") == 2);  // put on the plan, then paid
    CHECK(published(s, tenantId, "billing.invoice.paid") == 1);
    CHECK(audited(s, tenantId, "billing.invoice.paid") == 1);
}

TEST_CASE("An event naming no known school waits for the sweep, which applies it a minute later", "[billing][lifecycle]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend, false);
    startWithWebhook(s);
    auto r = postWebhook(s, invoiceEvent("evt_orphan", "invoice.paid", 1700000000, "in_9", "no-such-school"));
    REQUIRE(r.status == 200);
    CHECK(r.json()["queued"] == false);
    const auto now = ardoise::kernel::data::nowSeconds();
    CHECK(s.app().billing().sweepOnce(now)["stripe_events"] == 0);  // too recent: its job may still come
    CHECK(s.app().billing().sweepOnce(now + 61)["stripe_events"] == 1);
    CHECK(count(s, "SELECT COUNT(*) AS n FROM platform_stripe_events WHERE outcome = 'unknown-tenant'") == 1);
}

TEST_CASE("A school past due beyond the grace days is suspended: writes refused with a clear problem, reads "
          "allowed, lifted at once by a payment",
          "[billing][lifecycle][suspended]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend, false);
    startWithWebhook(s);
    const std::string tenantId = s.createTenant("ecole-a");
    const std::string otherId = s.createTenant("ecole-b");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("starter", 25000, json::object(), json::array())));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));
    REQUIRE(plans.assign(otherId, "XOF", {{"plan", "starter"}}));
    const auto now = ardoise::kernel::data::nowSeconds();
    {
        auto lease = s.app().database().acquire();
        // ecole-a failed 8 days ago (grace: 7), ecole-b 6 days ago.
        REQUIRE(ardoise::kernel::billing::processStripeEvent(
            *lease, invoiceEvent("evt_a", "invoice.payment_failed", now - 8 * kDay, "in_a", tenantId)));
        json b = invoiceEvent("evt_b", "invoice.payment_failed", now - 6 * kDay, "in_b", otherId);
        b["data"]["object"]["subscription"] = "sub_2";
        b["data"]["object"]["customer"] = "cus_2";
        REQUIRE(ardoise::kernel::billing::processStripeEvent(*lease, b));
    }
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    const json teacher = {{"email", "t1@ecole-a.test"}, {"name", "T1"}, {"roles", {"teacher"}},
                          {"password", "correct-horse-battery"}};
    CHECK(s.as(token, "ecole-a", "POST", "/api/v1/users", teacher).status == 201);  // past_due still writes

    auto swept = s.app().billing().sweepOnce(now);
    CHECK(swept["suspended"] == 1);
    CHECK(subscriptionStatus(s, tenantId) == "suspended");
    CHECK(subscriptionStatus(s, otherId) == "past_due");
    CHECK(published(s, tenantId, "billing.subscription.suspended") == 1);
    CHECK(audited(s, tenantId, "billing.subscription.suspended") == 1);
    CHECK(s.app().billing().sweepOnce(now)["suspended"] == 0);  // once

    const auto before = s.rowCounts();
    json second = teacher;
    second["email"] = "t2@ecole-a.test";
    auto refused = s.request("POST", "/api/v1/users", second,
                             {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "fr"}});
    CHECK(refused.status == 403);
    CHECK(refused.header("content-type") == "application/problem+json");
    CHECK(refused.json()["type"] == "/problems/subscription-suspended");
    CHECK(refused.json()["title"] == "Abonnement suspendu");
    CHECK(refused.json()["detail"].get<std::string>().find("lecture seule") != std::string::npos);
    CHECK(refused.json()["billing_url"] == "/api/v1/billing/subscription");
    auto english = s.request("DELETE", "/api/v1/users/whoever", nullptr,
                             {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "en"}});
    CHECK(english.status == 403);
    CHECK(english.json()["title"] == "Subscription suspended");
    CHECK(english.json()["detail"].get<std::string>().find("read-only") != std::string::npos);
    CHECK(s.rowCounts() == before);

    // Reads, signing in and the billing pages still work.
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/users").status == 200);
    CHECK(!s.login("ecole-a", "admin@ecole-a.test").empty());
    auto sub = s.as(token, "ecole-a", "GET", "/api/v1/billing/subscription");
    CHECK(sub.status == 200);
    CHECK(sub.json()["status"] == "suspended");
    // Another school is not affected.
    const std::string tokenB = s.login("ecole-b", "admin@ecole-b.test");
    json teacherB = teacher;
    teacherB["email"] = "t1@ecole-b.test";
    CHECK(s.as(tokenB, "ecole-b", "POST", "/api/v1/users", teacherB).status == 201);

    // Paid through Stripe: writable on the next request.
    REQUIRE(postWebhook(s, invoiceEvent("evt_a_paid", "invoice.paid", now, "in_a", tenantId)).status == 200);
    CHECK(s.app().jobs().drain() == 1);
    CHECK(subscriptionStatus(s, tenantId) == "active");
    CHECK(s.as(token, "ecole-a", "POST", "/api/v1/users", second).status == 201);
    CHECK(published(s, tenantId, "billing.subscription.active") == 2);  // put on the plan, then paid
}

TEST_CASE("Plans decide plugins: outside the plan the problem names the feature and the cheapest plan with it",
          "[billing][plans][plugins]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string tenantId = s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("basic", 10000, json::object(), json::array())));
    REQUIRE(plans.create(plan("max", 90000, json::object(), {"hello"})));
    REQUIRE(plans.create(plan("plus", 20000, json::object(), {"hello", "other"})));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "basic"}}));
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");

    const auto before = s.rowCounts();
    auto refused = s.request("PUT", "/api/v1/plugins/hello", {{"enabled", true}},
                             {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "fr"}});
    CHECK(refused.status == 403);
    CHECK(refused.json()["type"] == "/problems/plugin-not-in-plan");
    CHECK(refused.json()["feature"] == "hello");
    CHECK(refused.json()["plan"] == "plus");  // cheaper than max
    CHECK(refused.json()["detail"] ==
          "Ce module ne fait pas partie de l'offre de l'établissement (fonctionnalité hello) ; l'offre plus l'inclut.");
    CHECK(s.rowCounts() == before);
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/plugins/hello").json()["allowed"] == false);

    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "plus"}}));
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/plugins/hello").json()["allowed"] == true);
    CHECK(s.as(token, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", true}}).status == 200);
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/hello/greeting").status == 200);

    // Back on basic: the plugin's routes answer 403 again (after the 2 s cache).
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "basic"}}));
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    auto gated = s.as(token, "ecole-a", "GET", "/api/v1/hello/greeting");
    CHECK(gated.status == 403);
    CHECK(gated.json()["plan"] == "plus");

    // A school without a plan: the operator's per-school allowance decides.
    const std::string tokenB = s.login("ecole-b", "admin@ecole-b.test");
    auto noPlan = s.as(tokenB, "ecole-b", "PUT", "/api/v1/plugins/hello", {{"enabled", true}});
    CHECK(noPlan.status == 403);
    s.enablePlugin("ecole-b", "hello");
    CHECK(s.as(tokenB, "ecole-b", "GET", "/api/v1/hello/greeting").status == 200);
}

TEST_CASE("Each plan limit refuses the creation beyond it with a problem naming the limit and the plan that lifts it",
          "[billing][quota]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string tenantId = s.createTenant("ecole-a");  // its admin is staff #1
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("small", 1000, {{"students", 3}, {"staff", 2}, {"storage_mb", 10}, {"sms_per_month", 5}},
                              {"hello"})));
    REQUIRE(plans.create(plan("big", 5000, {{"students", nullptr}, {"staff", 10}, {"storage_mb", 100}, {"sms_per_month", 100}},
                              {"hello"})));
    REQUIRE(plans.create(plan("huge", 9000, json::object(), {"hello"})));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "small"}}));
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    auto user = [](const std::string& email, const std::string& role) {
        return json{{"email", email}, {"name", email}, {"roles", {role}}, {"password", "correct-horse-battery"}};
    };

    SECTION("staff: admins and teachers, counted by the kernel when created") {
        CHECK(s.as(token, "ecole-a", "POST", "/api/v1/users", user("t1@x.test", "teacher")).status == 201);
        const auto before = s.rowCounts();
        auto refused = s.request("POST", "/api/v1/users", user("t2@x.test", "teacher"),
                                 {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "en"}});
        CHECK(refused.status == 403);
        CHECK(refused.json()["type"] == "/problems/quota-exceeded");
        CHECK(refused.json()["limit"] == "staff");
        CHECK(refused.json()["max"] == "2");
        CHECK(refused.json()["used"] == "2");
        CHECK(refused.json()["plan"] == "small");
        CHECK(refused.json()["upgrade_plan"] == "big");
        CHECK(refused.json()["detail"] ==
              "The small plan allows 2 (staff); 2 already used, 1 more asked. The big plan lifts this limit.");
        CHECK(s.rowCounts() == before);
        // Students and parents are not staff.
        auto student = s.as(token, "ecole-a", "POST", "/api/v1/users", user("s1@x.test", "student"));
        CHECK(student.status == 201);
        auto usage = s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json();
        CHECK(usage["metrics"]["staff"]["used"] == 2);
        CHECK(usage["metrics"]["staff"]["limit"] == 2);

        // A student made a teacher is one more staff member: refused, nothing written.
        const std::string studentId = student.json()["id"];
        const auto unchanged = s.rowCounts();
        auto promoted = s.as(token, "ecole-a", "PATCH", "/api/v1/users/" + studentId, {{"roles", {"teacher"}}});
        CHECK(promoted.status == 403);
        CHECK(promoted.json()["limit"] == "staff");
        CHECK(s.rowCounts() == unchanged);
        CHECK(s.as(token, "ecole-a", "GET", "/api/v1/users/" + studentId).json()["roles"] == json{"student"});

        // A deactivated teacher frees a place at once; reactivating needs one.
        auto users = s.as(token, "ecole-a", "GET", "/api/v1/users?role=teacher&status=active").json();
        REQUIRE(users["items"].size() == 1);
        const std::string teacherId = users["items"][0]["id"];
        CHECK(s.as(token, "ecole-a", "DELETE", "/api/v1/users/" + teacherId).status == 204);
        CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json()["metrics"]["staff"]["used"] == 1);
        CHECK(s.as(token, "ecole-a", "POST", "/api/v1/users", user("t2@x.test", "teacher")).status == 201);
        CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json()["metrics"]["staff"]["used"] == 2);
        auto back = s.as(token, "ecole-a", "PATCH", "/api/v1/users/" + teacherId, {{"status", "active"}});
        CHECK(back.status == 403);
        CHECK(back.json()["type"] == "/problems/quota-exceeded");
        CHECK(s.as(token, "ecole-a", "GET", "/api/v1/users/" + teacherId).json()["status"] == "deactivated");
        // A teacher whose role is removed counts down too.
        auto t2 = s.as(token, "ecole-a", "GET", "/api/v1/users?role=teacher&status=active").json()["items"][0];
        CHECK(s.as(token, "ecole-a", "PATCH", "/api/v1/users/" + t2["id"].get<std::string>(), {{"roles", {"parent"}}})
                  .status == 200);
        CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json()["metrics"]["staff"]["used"] == 1);
        CHECK(s.as(token, "ecole-a", "PATCH", "/api/v1/users/" + teacherId, {{"status", "active"}}).status == 200);
        CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json()["metrics"]["staff"]["used"] == 2);
    }

    SECTION("sms: a plugin checks and meters through the SDK, per month") {
        s.enablePlugin("ecole-a", "hello");
        CHECK(s.as(token, "ecole-a", "POST", "/api/v1/hello/sms", {{"count", 4}}).status == 201);
        const auto before = s.rowCounts();
        auto refused = s.request("POST", "/api/v1/hello/sms", {{"count", 2}},
                                 {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "fr"}});
        CHECK(refused.status == 403);
        CHECK(refused.json()["type"] == "/problems/quota-exceeded");
        CHECK(refused.json()["limit"] == "sms_per_month");
        CHECK(refused.json()["upgrade_plan"] == "big");
        CHECK(refused.json()["title"] == "Limite de l'offre atteinte");
        CHECK(refused.json()["detail"] == "L'offre small permet 5 (sms_per_month) ; 4 déjà utilisés, 2 de plus demandés. "
                                          "L'offre big lève cette limite.");
        CHECK(s.rowCounts() == before);
        CHECK(s.as(token, "ecole-a", "POST", "/api/v1/hello/sms", {{"count", 1}}).status == 201);
        auto usage = s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json();
        CHECK(usage["metrics"]["sms"]["used"] == 5);
        CHECK(usage["metrics"]["sms"]["limit"] == 5);
        CHECK(usage["metrics"]["sms"]["per"] == "month");
        CHECK(usage["period"] == ardoise::kernel::billing::UsageService::periodOf(ardoise::kernel::data::nowSeconds()));
    }

    SECTION("storage: a plugin checks and meters stored megabytes through the SDK, over HTTP") {
        s.enablePlugin("ecole-a", "hello");
        CHECK(s.as(token, "ecole-a", "POST", "/api/v1/hello/files", {{"size_mb", 8}}).status == 201);
        const auto before = s.rowCounts();
        auto refused = s.request("POST", "/api/v1/hello/files", {{"size_mb", 3}},
                                 {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "en"}});
        CHECK(refused.status == 403);
        CHECK(refused.json()["type"] == "/problems/quota-exceeded");
        CHECK(refused.json()["limit"] == "storage_mb");
        CHECK(refused.json()["max"] == "10");
        CHECK(refused.json()["used"] == "8");
        CHECK(refused.json()["upgrade_plan"] == "big");
        CHECK(refused.json()["detail"] ==
              "The small plan allows 10 (storage_mb); 8 already used, 3 more asked. The big plan lifts this limit.");
        CHECK(s.rowCounts() == before);
        CHECK(s.as(token, "ecole-a", "POST", "/api/v1/hello/files", {{"size_mb", 2}}).status == 201);
        auto usage = s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json();
        CHECK(usage["metrics"]["storage_mb"]["used"] == 10);
        CHECK(usage["metrics"]["storage_mb"]["limit"] == 10);
        CHECK(s.as(token, "ecole-a", "POST", "/api/v1/hello/files", {{"size_mb", 1}}).status == 403);
    }

    SECTION("students and storage: recorded by whoever creates them, checked before") {
        auto& usage = s.app().billing().usage();
        REQUIRE(usage.record(tenantId, "students", 3).isOk());
        auto students = usage.check(tenantId, "students", 1);
        CHECK(students.type() == "quota-exceeded");
        CHECK(students.code() == ardoise::Code::kPermissionDenied);
        bool namesBig = false;
        for (const auto& [k, v] : students.extras()) {
            namesBig = namesBig || (k == "upgrade_plan" && v == "big");  // big: unlimited students
        }
        CHECK(namesBig);
        REQUIRE(usage.record(tenantId, "students", -1).isOk());  // one left
        CHECK(usage.check(tenantId, "students", 1).isOk());
        REQUIRE(usage.record(tenantId, "storage_mb", 10).isOk());
        CHECK(usage.check(tenantId, "storage_mb", 1).type() == "quota-exceeded");
        CHECK(usage.check(tenantId, "storage_mb", 0).isOk());
        CHECK(usage.check(tenantId, "bananas", 1).type() == "unknown-limit");
        CHECK(usage.record(tenantId, "sms", -1).type() == "invalid-usage");
        CHECK(usage.record(tenantId, "bananas", 1).type() == "unknown-metric");
        REQUIRE(usage.record(tenantId, "students", -10).isOk());  // never below 0
        auto report = s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").json();
        CHECK(report["metrics"]["students"]["used"] == 0);
        CHECK(report["metrics"]["storage_mb"]["used"] == 10);
        // On the unlimited plan nothing is refused.
        REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "huge"}}));
        CHECK(usage.check(tenantId, "storage_mb", 1000000).isOk());
    }

    SECTION("api calls are counted in memory and flushed by the sweep; operators read any school's usage") {
        for (int i = 0; i < 5; ++i) {
            REQUIRE(s.as(token, "ecole-a", "GET", "/api/v1/users").status == 200);
        }
        s.app().billing().sweepOnce(ardoise::kernel::data::nowSeconds());
        CHECK(count(s, "SELECT COUNT(*) AS n FROM platform_usage WHERE tenant_id = ? AND metric = 'api_calls' AND "
                       "amount >= 6",
                    {tenantId}) == 1);  // the login and the five reads
        const std::map<std::string, std::string> ops = {{"Authorization", "Bearer " + s.operatorToken()}};
        auto report = s.request("GET", "/api/v1/platform/tenants/" + tenantId + "/usage", nullptr, ops);
        REQUIRE(report.status == 200);
        CHECK(report.json()["plan"] == "small");
        CHECK(report.json()["metrics"]["api_calls"]["used"].get<int>() >= 6);
        CHECK(report.json()["metrics"]["api_calls"]["limit"].is_null());
        CHECK(s.request("GET", "/api/v1/platform/tenants/nowhere/usage", nullptr, ops).status == 404);
        // A teacher may not read the school's usage.
        REQUIRE(s.as(token, "ecole-a", "POST", "/api/v1/users", user("t1@x.test", "teacher")).status == 201);
        const std::string teacher = s.login("ecole-a", "t1@x.test");
        CHECK(s.as(teacher, "ecole-a", "GET", "/api/v1/billing/usage").status == 403);
    }
}

TEST_CASE("A plan's api_requests_per_minute answers 429 beyond it with the limit and the plan that allows more; other "
          "schools and the billing pages are not held back",
          "[billing][quota][rate]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string tenantId = s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("small", 1000, {{"api_requests_per_minute", 5}}, json::array())));
    REQUIRE(plans.create(plan("big", 5000, {{"api_requests_per_minute", 1000}}, json::array())));
    REQUIRE(plans.create(plan("medium", 3000, {{"api_requests_per_minute", 3}}, json::array())));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "small"}}));
    s.app().billing().invalidate();
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");  // the first of the five
    const std::string tokenB = s.login("ecole-b", "admin@ecole-b.test");
    int ok = 0;
    ardoise::test::HttpResult refused;
    for (int i = 0; i < 8; ++i) {
        auto r = s.request("GET", "/api/v1/me", nullptr,
                           {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + token}, {"Accept-Language", "fr"}});
        if (r.status == 200) {
            ++ok;
        } else {
            refused = r;
        }
    }
    CHECK(ok == 4);  // one request every 12 s refills: the loop takes far less
    REQUIRE(refused.status == 429);
    CHECK(refused.header("content-type") == "application/problem+json");
    CHECK(refused.json()["type"] == "/problems/plan-rate-limited");
    CHECK(refused.json()["limit"] == "api_requests_per_minute");
    CHECK(refused.json()["max"] == "5");
    CHECK(refused.json()["plan"] == "small");
    CHECK(refused.json()["upgrade_plan"] == "big");  // medium allows fewer
    const int retry = std::stoi(refused.header("retry-after"));
    CHECK(retry >= 1);
    CHECK(retry <= 12);
    CHECK(refused.json()["title"] == "Trop de requêtes pour l'offre");
    CHECK(refused.json()["detail"] == "L'offre small permet 5 requêtes par minute ; réessayez dans " +
                                          std::to_string(retry) + " secondes. L'offre big en permet davantage.");
    // The billing pages still answer (the school can upgrade); another school is not held back.
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/usage").status == 200);
    for (int i = 0; i < 8; ++i) {
        CHECK(s.as(tokenB, "ecole-b", "GET", "/api/v1/me").status == 200);
    }
    // On the bigger plan the school is served again at once.
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "big"}}));
    s.app().billing().invalidate();
    for (int i = 0; i < 8; ++i) {
        CHECK(s.as(token, "ecole-a", "GET", "/api/v1/me").status == 200);
    }
}

TEST_CASE("A server killed between receiving a Stripe event and processing it applies the event once after a restart",
          "[billing][lifecycle][restart]") {
    ardoise::test::TempDir dir;
    const std::string db = "sqlite:" + dir.path() + "/ardoise.db";
    auto cli = [&](const std::string& args) {
        return ardoise::test::runCommand("ARDOISE_DATA_DIR=" + dir.path() + " ARDOISE_DATABASE_URL=" + db + " " +
                                         std::string(ARDOISE_BINARY) + " " + args + " 2>&1");
    };
    REQUIRE(cli("migrate").exitCode == 0);
    REQUIRE(cli("tenant create --slug ecole-k --name K").exitCode == 0);
    const std::string tenantId = json::parse(cli("tenant show ecole-k").output)["id"];
    REQUIRE(cli(R"(plan create --json '{"code":"mini","name":{"fr":"Mini","en":"Mini"}}')").exitCode == 0);
    REQUIRE(cli("plan assign --tenant ecole-k --plan mini").exitCode == 0);

    auto serve = [&](std::uint16_t port, const std::string& workers) {
        auto p = std::make_unique<ardoise::test::ChildProcess>(std::vector<std::string>{
            "/usr/bin/env", "ARDOISE_DATA_DIR=" + dir.path(), "ARDOISE_DATABASE_URL=" + db,
            "ARDOISE_LISTEN=127.0.0.1:" + std::to_string(port), "ARDOISE_ACCESS_LOG=0", "ARDOISE_OUTBOX=0",
            "ARDOISE_JOB_WORKERS=" + workers, std::string("ARDOISE_STRIPE_WEBHOOK_SECRETS=") + kSecret, ARDOISE_BINARY,
            "serve"});
        REQUIRE(p->waitForLine("Ardoise " ARDOISE_VERSION " listening on http://127.0.0.1:" + std::to_string(port),
                               std::chrono::seconds(20)));
        return p;
    };
    ardoise::kernel::data::Database database(db, 1);
    auto status = [&] {
        auto lease = database.acquire();
        return lease->queryOne("SELECT status FROM platform_subscriptions WHERE tenant_id = ?", {tenantId})->text("status");
    };
    {
        const auto port = ardoise::test::freeLoopbackPort();
        auto server = serve(port, "0");  // no job workers: the event can only be stored
        const std::string body =
            invoiceEvent("evt_kill", "invoice.payment_failed", ardoise::kernel::data::nowSeconds(), "in_k", tenantId).dump();
        auto r = ardoise::test::httpRequest(
            port, "POST", "/api/v1/billing/stripe/webhook", body,
            {{"Content-Type", "application/json"},
             {"Stripe-Signature",
              ardoise::kernel::billing::stripeSignatureHeader(body, kSecret, ardoise::kernel::data::nowSeconds())}});
        REQUIRE(r.status == 200);
        CHECK(r.json()["queued"] == true);
        ::kill(server->pid(), SIGKILL);
        server->stop();
    }
    CHECK(status() == "active");
    {
        const auto port = ardoise::test::freeLoopbackPort();
        auto server = serve(port, "2");
        for (int i = 0; i < 100 && status() != "past_due"; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        CHECK(status() == "past_due");
        server->stop();
    }
    auto lease = database.acquire();
    CHECK(lease->queryOne("SELECT attempts FROM platform_stripe_events WHERE id = 'evt_kill'")->integer("attempts") == 1);
    CHECK(lease->queryOne("SELECT COUNT(*) AS n FROM platform_events WHERE name = 'billing.subscription.past_due'")
              ->integer("n") == 1);
    CHECK(lease->queryOne("SELECT status FROM platform_jobs WHERE name = 'kernel.stripe_event'")->text("status") ==
          "succeeded");
}

TEST_CASE("The billing sweep runs on its own every billing_sweep_seconds and suspends overdue schools",
          "[billing][lifecycle][sweep]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend, false);
    s.config().billingSweepSeconds = 1;
    s.config().billingGraceDays = 3;
    s.start();
    const std::string tenantId = s.createTenant("ecole-a");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("starter", 25000, json::object(), json::array())));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));
    {
        auto lease = s.app().database().acquire();
        REQUIRE(ardoise::kernel::billing::processStripeEvent(
            *lease, invoiceEvent("evt_old", "invoice.payment_failed",
                                 ardoise::kernel::data::nowSeconds() - 4 * kDay, "in_o", tenantId)));
    }
    REQUIRE(subscriptionStatus(s, tenantId) == "past_due");
    for (int i = 0; i < 40 && subscriptionStatus(s, tenantId) != "suspended"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(subscriptionStatus(s, tenantId) == "suspended");
    CHECK(published(s, tenantId, "billing.subscription.suspended") == 1);
}
