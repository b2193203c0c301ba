// Operators manage tenants over the platform API; system endpoints.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "support/node.hpp"
#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

TEST_CASE("Operators create, list, update, suspend, resume and delete schools", "[platform][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string ops = s.operatorToken();
    const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + ops}};
    auto created = s.request("POST", "/api/v1/platform/tenants",
                             {{"slug", "lycee-moderne"}, {"name", "Lycée Moderne de Cocody"}, {"timezone", "Africa/Dakar"}},
                             auth);
    REQUIRE(created.status == 201);
    CHECK(created.json()["currency"] == "XOF");
    CHECK(created.json()["locale"] == "fr");
    CHECK(created.json()["timezone"] == "Africa/Dakar");
    CHECK(created.header("location") == "/api/v1/platform/tenants/" + created.json()["id"].get<std::string>());
    CHECK(s.request("POST", "/api/v1/platform/tenants", {{"slug", "lycee-moderne"}, {"name", "Again"}}, auth).status == 409);
    for (const auto* slug : {"ecole-1", "ecole-2", "ecole-3"}) {
        REQUIRE(s.request("POST", "/api/v1/platform/tenants", {{"slug", slug}, {"name", slug}}, auth).status == 201);
    }
    auto page = s.request("GET", "/api/v1/platform/tenants?limit=3", nullptr, auth);
    REQUIRE(page.status == 200);
    CHECK(page.json()["items"].size() == 3);
    auto rest = s.request("GET", "/api/v1/platform/tenants?limit=3&cursor=" + page.json()["next_cursor"].get<std::string>(),
                          nullptr, auth);
    CHECK(rest.json()["items"].size() == 1);

    auto patched = s.request("PATCH", "/api/v1/platform/tenants/lycee-moderne",
                             {{"locale", "en"}, {"branding", {{"primary_color", "#112233"}}}}, auth);
    REQUIRE(patched.status == 200);
    CHECK(patched.json()["locale"] == "en");
    CHECK(patched.json()["branding"]["primary_color"] == "#112233");

    s.createUser("lycee-moderne", "admin@lm.test", "admin");
    const std::string userToken = s.login("lycee-moderne", "admin@lm.test");
    CHECK(s.request("POST", "/api/v1/platform/tenants/lycee-moderne/suspend", nullptr, auth).json()["status"] == "suspended");
    auto blocked = s.as(userToken, "lycee-moderne", "GET", "/api/v1/me");
    CHECK(blocked.status == 403);
    CHECK(blocked.json()["type"] == "/problems/tenant-suspended");
    CHECK(blocked.json()["title"] == "School suspended");  // the tenant's locale is now English
    CHECK(s.request("POST", "/api/v1/platform/tenants/lycee-moderne/resume", nullptr, auth).json()["status"] == "active");
    CHECK(s.as(userToken, "lycee-moderne", "GET", "/api/v1/me").status == 200);

    // A school user is not an operator, and an operator is not a school user.
    CHECK(s.as(userToken, "", "GET", "/api/v1/platform/tenants").status == 401);
    CHECK(s.as(ops, "lycee-moderne", "GET", "/api/v1/me").status == 401);

    auto deleted = s.request("DELETE", "/api/v1/platform/tenants/lycee-moderne", nullptr, auth);
    REQUIRE(deleted.status == 200);
    const std::string archive = deleted.json()["archive"];
    REQUIRE(std::filesystem::exists(archive));
    std::ifstream in(archive);
    const auto exported = json::parse(in);
    CHECK(exported["tenant"]["slug"] == "lycee-moderne");
    REQUIRE(exported["tables"]["users"].size() == 1);
    CHECK(exported["tables"]["users"][0]["email"] == "admin@lm.test");
    CHECK_FALSE(exported["tables"]["users"][0].contains("password_hash"));  // secrets never leave
    CHECK(exported["tables"]["audit_log"].size() >= 1);
    CHECK(s.countRows("users") == 0);
    CHECK(s.countRows("audit_log") == 0);
    CHECK(s.request("GET", "/api/v1/platform/tenants/lycee-moderne", nullptr, auth).status == 404);
    CHECK(s.as(userToken, "lycee-moderne", "GET", "/api/v1/me").status == 404);
}

TEST_CASE("Health, readiness, metrics and the home page answer", "[system][api]") {
    TestServer s("sqlite");
    CHECK(s.request("GET", "/healthz").json()["status"] == "ok");
    CHECK(s.request("GET", "/readyz").json()["status"] == "ready");
    auto home = s.request("GET", "/");
    CHECK(home.status == 200);
    CHECK(home.header("content-type").rfind("text/html", 0) == 0);
    CHECK(home.body.find("/api/v1/openapi.json") != std::string::npos);
    s.createTenant("ecole-a");
    s.login("ecole-a", "admin@ecole-a.test");
    const std::string metrics = s.request("GET", "/metrics").body;
    CHECK(metrics.find("ardoise_http_requests_total{route=\"/api/v1/auth/login\",method=\"POST\",status=\"200\"} 1") !=
          std::string::npos);
    CHECK(metrics.find("ardoise_http_request_duration_seconds_bucket{route=\"/api/v1/auth/login\",method=\"POST\",le=\"+Inf\"} 1") !=
          std::string::npos);
    CHECK(metrics.find("ardoise_tenant_requests_total{tenant=\"ecole-a\"} 1") != std::string::npos);
    CHECK(metrics.find("ardoise_db_pool_size 8") != std::string::npos);
}

TEST_CASE("The server refuses to start while migrations are pending", "[system][api]") {
    TestServer s("sqlite");
    const std::string extra = s.db().dir + "/share";
    // A copy of the share folder with one more kernel migration than applied.
    std::filesystem::create_directories(extra + "/kernel/data");
    std::filesystem::copy(s.config().shareDir + "/templates", extra + "/templates", std::filesystem::copy_options::recursive);
    std::filesystem::copy(s.config().shareDir + "/kernel/data/migrations", extra + "/kernel/data/migrations",
                          std::filesystem::copy_options::recursive);
    std::ofstream(extra + "/kernel/data/migrations/9999_later.sql") << "CREATE TABLE later_table (id TEXT PRIMARY KEY);";
    auto config = s.config();
    config.shareDir = extra;
    config.listen = "127.0.0.1:0";
    ardoise::kernel::app::Application app(config);
    auto refused = app.start();
    CHECK(refused.type() == "migrations-pending");
}

TEST_CASE("Every registered route is in the OpenAPI document, which an independent validator accepts",
          "[openapi][api]") {
    TestServer s("sqlite");
    auto doc = s.request("GET", "/api/v1/openapi.json");
    REQUIRE(doc.status == 200);
    const auto openapi = doc.json();
    int routes = 0;
    for (const auto& r : s.app().router().routes()) {
        std::string method = r->method;
        for (auto& c : method) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        INFO(r->method << " " << r->pattern);
        CHECK(openapi["paths"].contains(r->pattern));
        CHECK(openapi["paths"][r->pattern].contains(method));
        ++routes;
    }
    CHECK(routes >= 25);
    ardoise::test::TempDir dir;
    const std::string file = dir.path() + "/openapi.json";
    std::ofstream(file) << doc.body;
    auto check = ardoise::test::node("validate_openapi.mjs", {file});
    INFO(check.output);
    CHECK(check.exitCode == 0);
    // The validator is not a rubber stamp: a broken copy is refused.
    auto broken = openapi;
    broken.erase("info");
    std::ofstream(file, std::ios::trunc) << broken.dump();
    CHECK(ardoise::test::node("validate_openapi.mjs", {file}).exitCode != 0);
}
