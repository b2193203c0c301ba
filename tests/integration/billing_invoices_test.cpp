// Ardoise's own invoices, manual payments (bank transfer, mobile money) and
// the operators' billing report, over HTTP on SQLite and PostgreSQL.

#include <catch2/catch.hpp>

#include <fstream>

#include "kernel/billing/billing.hpp"
#include "kernel/data/database.hpp"
#include "support/child_process.hpp"
#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

json plan(const std::string& code, const json& prices) {
    return {{"code", code}, {"name", {{"fr", code}, {"en", code}}}, {"prices", prices}};
}

std::string year() {
    return ardoise::kernel::billing::UsageService::periodOf(ardoise::kernel::data::nowSeconds()).substr(0, 4);
}

}  // namespace

TEST_CASE("Operators issue numbered invoices with taxes in XOF, record manual payments, and a paid invoice lifts "
          "a suspension",
          "[billing][invoices]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string tenantId = s.createTenant("ecole-a");
    const std::string otherId = s.createTenant("ecole-b");
    const std::map<std::string, std::string> ops = {{"Authorization", "Bearer " + s.operatorToken()},
                                                    {"Accept-Language", "fr"}};
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("starter", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 25000}}})));
    REQUIRE(plans.assign(tenantId, "XOF", {{"plan", "starter"}}));

    const json input = {{"due_days", 15},
                        {"lines",
                         {{{"description", "Abonnement Essentiel, novembre"}, {"unit_amount", 25000}, {"tax_rate_bp", 1800}},
                          {{"description", "SMS supplémentaires"}, {"quantity", 3}, {"unit_amount", 1333},
                           {"tax_rate_bp", 1800}}}}};
    auto created = s.request("POST", "/api/v1/platform/tenants/" + tenantId + "/invoices", input, ops);
    REQUIRE(created.status == 201);
    const json inv = created.json();
    CHECK(inv["number"] == "ARD-" + year() + "-000001");
    CHECK(inv["currency"] == "XOF");  // the school's
    CHECK(inv["status"] == "open");
    CHECK(inv["lines"][1]["amount"] == 3999);
    CHECK(inv["lines"][0]["tax"] == 4500);
    CHECK(inv["lines"][1]["tax"] == 720);  // 719.82 rounded
    CHECK(inv["subtotal"] == 28999);
    CHECK(inv["tax"] == 5220);
    CHECK(inv["total"] == 34219);
    CHECK(inv["formatted"]["total"]["fr"] == "34\u202F219\u00A0F\u00A0CFA");
    CHECK(created.header("location") == "/api/v1/platform/invoices/" + inv["id"].get<std::string>());
    // The sequence is platform-wide: the next school's invoice follows.
    auto euro = s.request("POST", "/api/v1/platform/tenants/" + otherId + "/invoices",
                          {{"currency", "EUR"}, {"lines", {{{"description", "Setup"}, {"unit_amount", 9900}}}}}, ops);
    REQUIRE(euro.status == 201);
    CHECK(euro.json()["number"] == "ARD-" + year() + "-000002");
    CHECK(euro.json()["formatted"]["total"]["en"] == "\u20AC99.00");

    // The school reads its own invoices, not another school's.
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    auto mine = s.as(token, "ecole-a", "GET", "/api/v1/billing/invoices");
    REQUIRE(mine.status == 200);
    CHECK(mine.json()["items"].size() == 1);
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/invoices/" + euro.json()["id"].get<std::string>()).status ==
          404);

    // Bad payments write nothing.
    const std::string payments = "/api/v1/platform/invoices/" + inv["id"].get<std::string>() + "/payments";
    const auto before = s.rowCounts();
    const long long paymentsBefore = s.countRows("platform_payments");
    auto tooMuch = s.request("POST", payments, {{"method", "bank_transfer"}, {"amount", 34220}, {"reference", "VIR-1"}}, ops);
    CHECK(tooMuch.status == 422);
    CHECK(tooMuch.json()["errors"][0]["reason"] == "exceeds-balance");
    CHECK(tooMuch.json()["errors"][0]["detail"] == "dépasse le solde de la facture");
    auto wrongCurrency = s.request(
        "POST", payments, {{"method", "bank_transfer"}, {"amount", 100}, {"currency", "EUR"}, {"reference", "VIR-1"}}, ops);
    CHECK(wrongCurrency.status == 422);
    CHECK(wrongCurrency.json()["errors"][0]["pointer"] == "/currency");
    auto badMethod = s.request("POST", payments, {{"method", "bitcoin"}, {"amount", 100}, {"reference", "x"}}, ops);
    CHECK(badMethod.status == 422);
    CHECK(badMethod.header("content-type") == "application/problem+json");
    CHECK(s.request("POST", "/api/v1/platform/invoices/nope/payments",
                    {{"method", "cash"}, {"amount", 100}, {"reference", "R"}}, ops)
              .status == 404);
    CHECK(s.rowCounts() == before);
    CHECK(s.countRows("platform_payments") == paymentsBefore);

    // The school fell behind and was suspended; the office takes a bank
    // transfer and a mobile money payment.
    {
        auto lease = s.app().database().acquire();
        lease->exec("UPDATE platform_subscriptions SET status = 'suspended' WHERE tenant_id = ?", {tenantId});
    }
    s.app().billing().invalidate();
    REQUIRE(s.as(token, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", false}}).status == 403);
    auto part = s.request("POST", payments,
                          {{"method", "bank_transfer"}, {"amount", 20000}, {"reference", "VIR-2026-118"},
                           {"note", "Ecobank"}},
                          ops);
    REQUIRE(part.status == 201);
    CHECK(part.json()["status"] == "open");
    CHECK(part.json()["balance"] == 14219);
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/subscription").json()["status"] == "suspended");
    auto dup = s.request("POST", payments, {{"method", "bank_transfer"}, {"amount", 100}, {"reference", "VIR-2026-118"}}, ops);
    CHECK(dup.status == 409);
    CHECK(dup.json()["type"] == "/problems/payment-duplicate");
    auto rest = s.request("POST", payments,
                          {{"method", "mobile_money"}, {"amount", 14219}, {"reference", "OM-77001122"}}, ops);
    REQUIRE(rest.status == 201);
    CHECK(rest.json()["status"] == "paid");
    CHECK(rest.json()["balance"] == 0);
    CHECK(rest.json()["payments"].size() == 2);
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/billing/subscription").json()["status"] == "active");
    CHECK(s.as(token, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", false}}).status != 403);
    auto closed = s.request("POST", payments, {{"method", "cash"}, {"amount", 1}, {"reference", "C-1"}}, ops);
    CHECK(closed.status == 409);
    CHECK(closed.json()["type"] == "/problems/invoice-not-open");

    auto lease = s.app().database().acquire();
    auto countEvents = [&](const std::string& name) {
        return lease->queryOne("SELECT COUNT(*) AS n FROM platform_events WHERE tenant_id = ? AND name = ?",
                               {tenantId, name})
            ->integer("n");
    };
    CHECK(countEvents("billing.invoice.issued") == 1);
    CHECK(countEvents("billing.payment.recorded") == 2);
    CHECK(countEvents("billing.invoice.paid") == 1);
    CHECK(countEvents("billing.subscription.active") == 2);  // put on the plan, then paid in full
}

TEST_CASE("The billing report counts schools by status, sums MRR per currency and lists failed payments",
          "[billing][report]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create(plan("starter", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 25000}},
                                          {{"currency", "XOF"}, {"interval", "year"}, {"amount", 250000}},
                                          {{"currency", "EUR"}, {"interval", "month"}, {"amount", 3900}}})));
    REQUIRE(plans.create(plan("per-head", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 500},
                                            {"per_student", true}}})));
    const std::string a = s.createTenant("ecole-a");
    const std::string b = s.createTenant("ecole-b");
    const std::string c = s.createTenant("ecole-c");
    const std::string d = s.createTenant("ecole-d");
    s.createTenant("ecole-e");  // no plan
    REQUIRE(plans.assign(a, "XOF", {{"plan", "starter"}}));
    REQUIRE(plans.assign(b, "XOF", {{"plan", "starter"}, {"interval", "year"}}));
    REQUIRE(plans.assign(c, "EUR", {{"plan", "starter"}}));
    REQUIRE(plans.assign(d, "XOF", {{"plan", "per-head"}}));
    REQUIRE(s.app().billing().usage().record(d, "students", 120).isOk());
    {
        auto lease = s.app().database().acquire();
        REQUIRE(ardoise::kernel::billing::processStripeEvent(
            *lease, {{"id", "evt_f"},
                     {"type", "invoice.payment_failed"},
                     {"created", 1700000000},
                     {"data",
                      {{"object",
                        {{"id", "in_f"}, {"object", "invoice"}, {"subscription", "sub_c"},
                         {"subscription_details", {{"metadata", {{"tenant_id", c}}}}}}}}}}));
        lease->exec("UPDATE platform_subscriptions SET status = 'canceled' WHERE tenant_id = ?", {a});
    }
    const std::map<std::string, std::string> ops = {{"Authorization", "Bearer " + s.operatorToken()}};
    auto r = s.request("GET", "/api/v1/platform/billing/report", nullptr, ops);
    REQUIRE(r.status == 200);
    const json report = r.json();
    CHECK(report["tenants_by_status"]["active"] == 2);  // b, d
    CHECK(report["tenants_by_status"]["past_due"] == 1);  // c
    CHECK(report["tenants_by_status"]["canceled"] == 1);  // a
    CHECK(report["tenants_by_status"]["no_plan"] == 1);   // e
    REQUIRE(report["mrr"].size() == 2);
    CHECK(report["mrr"][0]["currency"] == "EUR");
    CHECK(report["mrr"][0]["amount"] == 3900);  // c is past_due: still billed
    CHECK(report["mrr"][1]["currency"] == "XOF");
    CHECK(report["mrr"][1]["amount"] == 20833 + 60000);  // 250000/12 rounded + 120 × 500; a canceled
    CHECK(report["mrr"][1]["subscriptions"] == 2);
    CHECK(report["mrr"][1]["formatted"]["fr"] == "80\u202F833\u00A0F\u00A0CFA");
    REQUIRE(report["failed_payments"].size() == 1);
    CHECK(report["failed_payments"][0]["slug"] == "ecole-c");
    CHECK(report["failed_payments"][0]["stripe_invoice_id"] == "in_f");
    // Schools may not read it.
    const std::string token = s.login("ecole-b", "admin@ecole-b.test");
    CHECK(s.as(token, "ecole-b", "GET", "/api/v1/platform/billing/report").status == 401);
}

TEST_CASE("An invoice renders as a PDF in French whose text shows the XOF amount, the number and the school",
          "[billing][invoices][pdf]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    if (ardoise::test::runCommand("command -v pdftotext").exitCode != 0) {
        WARN("pdftotext is not installed (Debian: poppler-utils): PDF text not checked");
        return;
    }
    TestServer s(backend);
    const std::string tenantId = s.createTenant("lycee-dakar");
    const std::map<std::string, std::string> ops = {{"Authorization", "Bearer " + s.operatorToken()}};
    auto created = s.request("POST", "/api/v1/platform/tenants/" + tenantId + "/invoices",
                             {{"lines",
                               {{{"description", "Abonnement Pro, année scolaire (élèves : 250)"},
                                 {"quantity", 250},
                                 {"unit_amount", 500},
                                 {"tax_rate_bp", 1800}}}}},
                             ops);
    REQUIRE(created.status == 201);
    const json inv = created.json();
    CHECK(inv["total"] == 147500);
    const std::string token = s.login("lycee-dakar", "admin@lycee-dakar.test");
    auto pdfOf = [&](const std::string& lang) {
        auto r = s.request("GET", "/api/v1/billing/invoices/" + inv["id"].get<std::string>() + "/pdf", nullptr,
                           {{"X-Tenant", "lycee-dakar"}, {"Authorization", "Bearer " + token}, {"Accept-Language", lang}});
        REQUIRE(r.status == 200);
        CHECK(r.header("content-type") == "application/pdf");
        CHECK(r.body.rfind("%PDF-1.4", 0) == 0);
        ardoise::test::TempDir dir;
        const std::string file = dir.path() + "/invoice.pdf";
        {
            std::ofstream out(file, std::ios::binary);
            out << r.body;
        }
        auto text = ardoise::test::runCommand("pdftotext -enc UTF-8 " + file + " - 2>&1");
        REQUIRE(text.exitCode == 0);
        std::string t = text.output;
        // pdftotext gives the no-break spaces of French amounts back as U+00A0.
        for (auto pos = t.find("\u00A0"); pos != std::string::npos; pos = t.find("\u00A0")) {
            t.replace(pos, 2, " ");
        }
        return t;
    };
    const std::string fr = pdfOf("fr");
    INFO(fr);
    CHECK(fr.find("FACTURE " + inv["number"].get<std::string>()) != std::string::npos);
    CHECK(fr.find("École lycee-dakar") != std::string::npos);
    CHECK(fr.find("Total TTC : 147 500 F CFA") != std::string::npos);
    CHECK(fr.find("TVA : 22 500 F CFA") != std::string::npos);
    CHECK(fr.find("élèves : 250") != std::string::npos);
    CHECK(fr.find("Reste à payer : 147 500 F CFA") != std::string::npos);
    const std::string en = pdfOf("en");
    CHECK(en.find("INVOICE " + inv["number"].get<std::string>()) != std::string::npos);
    CHECK(en.find("Total: XOF 147,500") != std::string::npos);
    // Another school cannot fetch it; operators can.
    s.createTenant("ecole-b");
    const std::string tokenB = s.login("ecole-b", "admin@ecole-b.test");
    CHECK(s.as(tokenB, "ecole-b", "GET", "/api/v1/billing/invoices/" + inv["id"].get<std::string>() + "/pdf").status ==
          404);
    CHECK(s.request("GET", "/api/v1/platform/invoices/" + inv["id"].get<std::string>() + "/pdf", nullptr, ops).status ==
          200);
}
