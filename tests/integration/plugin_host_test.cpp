// The plugin host with the fixture plugins of tests/fixtures/plugins.

#include <catch2/catch.hpp>

#include <set>

#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {
const ardoise::kernel::plugins::PluginRecord* record(TestServer& s, const std::string& name) {
    for (const auto& r : s.app().plugins().records()) {
        if (r.name == name) {
            return &r;
        }
    }
    return nullptr;
}
}  // namespace

TEST_CASE("Compatible plugins load; an incompatible SDK and a missing dependency are refused with clear reasons",
          "[plugins][api]") {
    TestServer s("sqlite");
    const auto* hello = record(s, "hello");
    REQUIRE(hello != nullptr);
    CHECK(hello->loaded);
    const auto* wrong = record(s, "wrong_sdk");
    REQUIRE(wrong != nullptr);
    CHECK_FALSE(wrong->loaded);
    CHECK(wrong->reason.find("9.0.0") != std::string::npos);  // names both versions
    CHECK(wrong->reason.find(ardoise::SdkVersion::current().toString()) != std::string::npos);
    const auto* needs = record(s, "needs_missing");
    REQUIRE(needs != nullptr);
    CHECK_FALSE(needs->loaded);
    CHECK(needs->reason.find("ghost") != std::string::npos);

    const std::string ops = s.operatorToken();
    auto list = s.request("GET", "/api/v1/platform/plugins", nullptr, {{"Authorization", "Bearer " + ops}});
    REQUIRE(list.status == 200);
    std::set<std::string> loaded;
    const auto body = list.json();
    for (const auto& item : body["items"]) {
        if (item["loaded"].get<bool>()) {
            loaded.insert(item["name"].get<std::string>());
        }
    }
    CHECK(loaded == std::set<std::string>{"announcements", "caller", "hello", "school", "timetable"});  // the fixtures that load, and first-party
}

TEST_CASE("A plugin's routes are mounted under its name, guarded by its declared permission", "[plugins][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("ecole-a");
    s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    s.createUser("ecole-a", "eleve@ecole-a.test", "student");
    s.enablePlugin("ecole-a", "hello");
    auto teacher = s.as(s.login("ecole-a", "prof@ecole-a.test"), "ecole-a", "GET", "/api/v1/hello/greeting");
    REQUIRE(teacher.status == 200);
    CHECK(teacher.json()["message"] == "Bonjour prof@ecole-a.test");
    CHECK(teacher.json()["school"] == "ecole-a");
    auto student = s.as(s.login("ecole-a", "eleve@ecole-a.test"), "ecole-a", "GET", "/api/v1/hello/greeting");
    CHECK(student.status == 403);
    CHECK(student.json()["type"] == "/problems/forbidden");
    auto doc = s.request("GET", "/api/v1/openapi.json").json();
    CHECK(doc["paths"].contains("/api/v1/hello/greeting"));
    CHECK(doc["paths"]["/api/v1/hello/greeting"]["get"]["x-permission"] == "hello.read");
}

TEST_CASE("A plugin that throws from its handler yields a 500 and the next request succeeds", "[plugins][api]") {
    TestServer s("sqlite");
    s.createTenant("ecole-a");
    s.enablePlugin("ecole-a", "hello");
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    auto boom = s.as(token, "ecole-a", "GET", "/api/v1/hello/boom");
    CHECK(boom.status == 500);
    CHECK(boom.json()["type"] == "/problems/plugin-error");
    CHECK(boom.body.find("kaboom") == std::string::npos);  // no internals leak
    CHECK(s.request("GET", "/metrics").body.find("ardoise_plugin_errors_total{plugin=\"hello\"} 1") != std::string::npos);
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/hello/greeting").status == 200);
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/me").status == 200);
}

TEST_CASE("A plugin's migrations run with the kernel's, and its tenant tables get row-level security",
          "[plugins][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    CHECK(s.countRows("hello_greetings") == 0);
    auto lease = s.app().database().acquire();
    auto applied = lease->queryOne("SELECT count(*) AS n FROM schema_migrations WHERE component = 'hello'");
    CHECK(applied->integer("n") == 2);
    if (backend == "postgresql") {
        auto rls = lease->queryOne(
            "SELECT CAST(relrowsecurity AS INTEGER) AS enabled, CAST(relforcerowsecurity AS INTEGER) AS forced "
            "FROM pg_class WHERE relname = 'hello_greetings'");
        CHECK(rls->integer("enabled") == 1);
        CHECK(rls->integer("forced") == 1);
    }
}

TEST_CASE("Operators allow a plugin per school; admins enable and configure it; disabling keeps its settings",
          "[plugins][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("ecole-a");
    s.createUser("ecole-a", "eleve@ecole-a.test", "student");
    const std::string admin = s.login("ecole-a", "admin@ecole-a.test");
    const std::string ops = s.operatorToken();
    const std::map<std::string, std::string> asOps = {{"Authorization", "Bearer " + ops}};

    auto outside = s.as(admin, "ecole-a", "GET", "/api/v1/hello/greeting");
    CHECK(outside.status == 403);
    CHECK(outside.json()["type"] == "/problems/plugin-not-in-plan");
    CHECK(outside.json()["feature"] == "hello");
    CHECK(s.as(admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", true}}).status == 403);

    auto allowed = s.request("PUT", "/api/v1/platform/tenants/ecole-a/plugins/hello", {{"allowed", true}}, asOps);
    REQUIRE(allowed.status == 200);
    CHECK(allowed.json()["allowed"] == true);
    CHECK(allowed.json()["enabled"] == false);
    CHECK(s.as(admin, "ecole-a", "GET", "/api/v1/hello/greeting").status == 404);  // allowed, not enabled

    auto bad = s.as(admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"settings", {{"greeting", 42}}}});
    CHECK(bad.status == 422);
    CHECK(bad.json()["errors"][0]["pointer"] == "/settings/greeting");
    auto unknown = s.as(admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"settings", {{"colour", "red"}}}});
    CHECK(unknown.status == 422);
    auto on = s.as(admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", true}, {"settings", {{"greeting", "Akwaba"}}}});
    REQUIRE(on.status == 200);
    CHECK(s.as(admin, "ecole-a", "GET", "/api/v1/hello/greeting").status == 200);

    CHECK(s.as(admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", false}}).status == 200);
    CHECK(s.as(admin, "ecole-a", "GET", "/api/v1/hello/greeting").status == 404);
    auto state = s.as(admin, "ecole-a", "GET", "/api/v1/plugins/hello");
    CHECK(state.json()["settings"]["greeting"] == "Akwaba");  // kept while disabled
    CHECK(s.as(admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", true}}).status == 200);

    CHECK(s.request("PUT", "/api/v1/platform/tenants/ecole-a/plugins/hello", {{"allowed", false}}, asOps).status == 200);
    CHECK(s.as(admin, "ecole-a", "GET", "/api/v1/hello/greeting").status == 403);
    CHECK(s.as(admin, "ecole-a", "GET", "/api/v1/plugins/hello").json()["enabled"] == false);

    const auto listed = s.as(admin, "ecole-a", "GET", "/api/v1/plugins").json();
    CHECK(listed["items"].size() == 5);  // only loaded plugins: hello, caller, announcements, school, timetable
    CHECK(listed.dump().find("wrong_sdk") == std::string::npos);
    CHECK(s.as(admin, "ecole-a", "GET", "/api/v1/plugins/wrong_sdk").status == 404);
    CHECK(s.as(s.login("ecole-a", "eleve@ecole-a.test"), "ecole-a", "GET", "/api/v1/plugins").status == 403);
    CHECK(s.as(admin, "ecole-a", "PUT", "/api/v1/plugins/hello", json::object()).status == 422);
}

TEST_CASE("A plugin's data is its school's alone, and a statement without @tenant is refused", "[plugins][api][isolation]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    s.enablePlugin("ecole-a", "hello");
    s.enablePlugin("ecole-b", "hello");
    const std::string a = s.login("ecole-a", "admin@ecole-a.test");
    const std::string b = s.login("ecole-b", "admin@ecole-b.test");
    REQUIRE(s.as(a, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Akwaba"}}).status == 201);
    REQUIRE(s.as(a, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Bonne rentrée"}}).status == 201);
    CHECK(s.as(b, "ecole-b", "POST", "/api/v1/hello/greetings", {{"text", ""}}).status == 422);
    auto listA = s.as(a, "ecole-a", "GET", "/api/v1/hello/greetings").json();
    auto listB = s.as(b, "ecole-b", "GET", "/api/v1/hello/greetings").json();
    CHECK(listA["items"].size() == 2);
    CHECK(listA["items"][0]["text"] == "Akwaba");
    CHECK(listB["items"].empty());
    auto unscoped = s.as(a, "ecole-a", "GET", "/api/v1/hello/unscoped");
    CHECK(unscoped.status == 500);
    CHECK(unscoped.json()["type"] == "/problems/sql-not-tenant-scoped");
    CHECK(unscoped.body.find("SELECT") == std::string::npos);  // the statement is not shown to clients
    CHECK(s.countRows("hello_greetings") == 2);
}
