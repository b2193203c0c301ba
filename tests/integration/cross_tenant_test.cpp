// Tenant isolation over every tenant-scoped route: tokens never cross
// tenants, ids of another tenant look exactly like missing ids, and nothing
// is written by a refused request.

#include <catch2/catch.hpp>

#include <sodium.h>

#include "kernel/auth/jwt.hpp"
#include "kernel/data/ids.hpp"
#include "support/test_env.hpp"
#include "support/token_craft.hpp"

using ardoise::kernel::http::Access;
using ardoise::test::TestServer;
using nlohmann::json;

namespace {

std::string fill(const std::string& pattern, const std::string& id) {
    std::string out = pattern;
    auto open = out.find('{');
    while (open != std::string::npos) {
        auto close = out.find('}', open);
        out.replace(open, close - open + 1, id);
        open = out.find('{');
    }
    return out;
}

/// A body that passes validation, so a request reaches the handler.
json sampleBody(const std::string& method, const std::string& pattern) {
    if (pattern == "/api/v1/users/{id}" && method == "PATCH") {
        return {{"name", "Changed"}};
    }
    if ((pattern == "/api/v1/plugins/{name}" || pattern == "/api/v1/scripts/{id}") && method == "PUT") {
        return {{"enabled", false}};
    }
    if (pattern == "/api/v1/scripts/{id}/dry-run") {
        return {{"every", "* * * * *"}};
    }
    // The timetable plugin: valid bodies, so the id alone decides.
    const std::string term = "/api/v1/timetable/terms/{term}";
    if (pattern == term && method == "PUT") {
        return {{"name", "T"}, {"starts_on", "2026-09-07"}, {"ends_on", "2026-10-30"}, {"days", {{{"name", "L"}, {"weekday", 1}}}},
                {"periods", {{{"name", "1"}, {"start", "08:00"}, {"end", "09:00"}}}}};
    }
    if (pattern.rfind(term + "/", 0) == 0 && (method == "POST" || method == "PUT")) {
        const std::string kind = pattern.substr(term.size() + 1, pattern.find('/', term.size() + 1) - term.size() - 1);
        if (kind == "student_sets") {
            return {{"name", "x"}, {"kind", "year"}};
        }
        if (kind == "activities") {
            return {{"subject_id", "x"}};
        }
        if (kind == "constraints") {
            return {{"type", "BreakTimes"}};
        }
        if (kind != "runs") {
            return {{"name", "x"}};
        }
    }
    if (pattern == "/api/v1/timetable/timetables/{id}/substitutions") {
        return {{"date", "2026-09-07"}, {"activity_id", "x"}, {"lesson", 0}, {"absent_teacher_id", "x"}, {"substitute_id", "y"}};
    }
    return json::object();
}

}  // namespace

TEST_CASE("A token of tenant B is refused on tenant A, by header or by host, on every tenant route",
          "[isolation][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    const std::string tokenB = s.login("ecole-b", "admin@ecole-b.test");
    const auto before = s.rowCounts();
    int checked = 0;
    for (const auto& route : s.app().router().routes()) {
        if (route->access != Access::kTenantUser) {
            continue;
        }
        const std::string target = fill(route->pattern, ardoise::kernel::data::newId());
        const json body = route->requestSchema.is_null() ? json() : sampleBody(route->method, route->pattern);
        INFO(route->method << " " << route->pattern);
        auto byHeader = s.as(tokenB, "ecole-a", route->method, target, body);
        CHECK(byHeader.status == 401);
        CHECK(byHeader.header("content-type") == "application/problem+json");
        auto byHost = s.request(route->method, target, body,
                                {{"Authorization", "Bearer " + tokenB}, {"Host", "ecole-a.localhost"}});
        CHECK(byHost.status == 401);
        ++checked;
    }
    CHECK(checked >= 10);
    CHECK(s.rowCounts() == before);
    // The same token still works on its own tenant, by header and by host.
    CHECK(s.as(tokenB, "ecole-b", "GET", "/api/v1/me").status == 200);
    CHECK(s.request("GET", "/api/v1/me", nullptr, {{"Authorization", "Bearer " + tokenB}, {"Host", "ecole-b.localhost"}})
              .status == 200);
}

TEST_CASE("Within tenant B, an id that belongs to tenant A answers exactly like a missing id", "[isolation][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string tenantA = s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    const std::string userOfA = s.createUser("ecole-a", "eleve@ecole-a.test", "student");
    for (const auto& p : s.app().plugins().records()) {
        if (p.loaded) {
            s.enablePlugin("ecole-a", p.name);
            s.enablePlugin("ecole-b", p.name);
        }
    }
    // Objects of A that plugin routes address by id.
    const std::string tokenA = s.login("ecole-a", "admin@ecole-a.test");
    std::map<std::string, std::string> idsOfA = {
        {"/api/v1/announcements/", s.as(tokenA, "ecole-a", "POST", "/api/v1/announcements/announcements",
                                        {{"title", "A"}, {"body", "a"}}).json()["id"]},
        {"/api/v1/billing/invoices/",
         (*s.app().billing().invoices().create(tenantA, "XOF", {{"lines", {{{"description", "A"}, {"unit_amount", 1}}}}},
                                                ""))["id"]}};
    // The school plugin's objects, each under its own prefix.
    auto school = [&](const std::string& path, const json& body) {
        auto r = s.as(tokenA, "ecole-a", "POST", "/api/v1/school/" + path, body);
        REQUIRE(r.status == 201);
        idsOfA["/api/v1/school/" + path + "/"] = r.json()["id"];
        return r.json()["id"].get<std::string>();
    };
    const std::string yearOfA = school("years", {{"name", "2025"}, {"starts_on", "2025-09-01"}, {"ends_on", "2026-07-01"}});
    school("terms", {{"year_id", yearOfA}, {"name", "T1"}, {"starts_on", "2025-09-01"}, {"ends_on", "2025-12-01"}});
    school("subjects", {{"code", "MATH"}, {"name", "Maths"}});
    school("rooms", {{"name", "Salle 1"}});
    school("staff", {{"given_name", "A"}, {"family_name", "B"}});
    school("fields", {{"entity", "student"}, {"field_key", "bus"}, {"label", "Bus"}, {"type", "integer"}});
    const std::string classOfA = school("classes", {{"year_id", yearOfA}, {"name", "6e A"}, {"level", "6e"}});
    const std::string studentOfA = school("students", {{"given_name", "Aya"}, {"family_name", "Kouamé"}});
    const std::string guardianOfA = school("guardians", {{"given_name", "Yao"}, {"family_name", "Kouamé"}});
    school("enrollments", {{"student_id", studentOfA}, {"class_id", classOfA}});
    REQUIRE(s.as(tokenA, "ecole-a", "PUT", "/api/v1/school/students/" + studentOfA + "/guardians/" + guardianOfA, json::object())
                .status == 200);
    const std::string tokenB = s.login("ecole-b", "admin@ecole-b.test");
    const auto before = s.rowCounts();
    int checked = 0;
    for (const auto& route : s.app().router().routes()) {
        if (route->access != Access::kTenantUser || route->pattern.find('{') == std::string::npos) {
            continue;
        }
        INFO(route->method << " " << route->pattern);
        const json body = route->requestSchema.is_null() ? json() : sampleBody(route->method, route->pattern);
        std::string idOfA = userOfA;
        for (const auto& [prefix, id] : idsOfA) {
            idOfA = route->pattern.rfind(prefix, 0) == 0 ? id : idOfA;
        }
        auto foreign = s.as(tokenB, "ecole-b", route->method, fill(route->pattern, idOfA), body);
        auto missing = s.as(tokenB, "ecole-b", route->method, fill(route->pattern, ardoise::kernel::data::newId()), body);
        REQUIRE(missing.status == 404);  // a 422 here means sampleBody() needs a body for this route
        CHECK(foreign.status == 404);
        CHECK(foreign.json()["type"] == missing.json()["type"]);
        CHECK(foreign.json()["title"] == missing.json()["title"]);
        CHECK(foreign.json()["detail"] == missing.json()["detail"]);
        ++checked;
    }
    CHECK(checked >= 3);
    CHECK(s.rowCounts() == before);
    // Tenant A's user is untouched and still active.
    auto user = s.as(tokenA, "ecole-a", "GET", "/api/v1/users/" + userOfA);
    CHECK(user.json()["status"] == "active");
    CHECK(user.json()["name"] == "eleve@ecole-a.test");
}

TEST_CASE("Credentials of tenant B do not sign in on tenant A", "[isolation][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    auto r = s.request("POST", "/api/v1/auth/login", {{"email", "admin@ecole-b.test"}, {"password", "correct-horse-battery"}},
                       {{"X-Tenant", "ecole-a"}});
    CHECK(r.status == 401);
    CHECK(r.json()["type"] == "/problems/invalid-credentials");
    auto pairB = s.loginPair("ecole-b", "admin@ecole-b.test");
    auto refreshOnA = s.request("POST", "/api/v1/auth/refresh", {{"refresh_token", pairB["refresh_token"]}},
                                {{"X-Tenant", "ecole-a"}});
    CHECK(refreshOnA.status == 401);
}

TEST_CASE("Unknown, malformed and suspended tenants get clear problems", "[isolation][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("ecole-a");
    auto token = s.login("ecole-a", "admin@ecole-a.test");
    CHECK(s.request("GET", "/api/v1/me", nullptr, {{"Authorization", "Bearer " + token}}).json()["type"] ==
          "/problems/tenant-required");
    CHECK(s.as(token, "ecole-zz", "GET", "/api/v1/me").json()["type"] == "/problems/tenant-not-found");
    CHECK(s.as(token, "../../etc", "GET", "/api/v1/me").status == 404);
    s.app().tenants().setStatus("ecole-a", "suspended");
    auto suspended = s.as(token, "ecole-a", "GET", "/api/v1/me");
    CHECK(suspended.status == 403);
    CHECK(suspended.json()["type"] == "/problems/tenant-suspended");
    s.app().tenants().setStatus("ecole-a", "active");
    CHECK(s.as(token, "ecole-a", "GET", "/api/v1/me").status == 200);  // nothing else changed
}

using namespace ardoise::test::token_craft;

TEST_CASE("Tampered and foreign access tokens are refused by the API", "[auth][api][tokens]") {
    TestServer s("sqlite");
    const std::string tenantA = s.createTenant("ecole-a");
    const std::string tenantB = s.createTenant("ecole-b");
    const std::string secret(48, 'k');  // TestServer's key "test1"
    auto pair = s.loginPair("ecole-a", "admin@ecole-a.test");
    const std::string good = pair["access_token"];
    REQUIRE(s.as(good, "ecole-a", "GET", "/api/v1/me").status == 200);
    const auto dot1 = good.find('.');
    const auto dot2 = good.rfind('.');
    json header = json::parse(unb64url(good.substr(0, dot1)));
    json claims = json::parse(unb64url(good.substr(dot1 + 1, dot2 - dot1 - 1)));

    auto sign = [&](const json& h, const json& c, const std::string& alg) {
        std::string input = b64url(h.dump()) + "." + b64url(c.dump());
        if (alg == "none") {
            return input + ".";
        }
        return input + "." + b64url(alg == "HS512" ? hs512(secret, input) : hs256(secret, input));
    };
    auto refused = [&](const std::string& token) {
        auto r = s.as(token, "ecole-a", "GET", "/api/v1/me");
        return r.status == 401 && r.header("content-type") == "application/problem+json";
    };
    // Sanity: our own re-signing of the unchanged token is accepted, so each refusal below is due to its change.
    REQUIRE(s.as(sign(header, claims, "HS256"), "ecole-a", "GET", "/api/v1/me").status == 200);

    SECTION("alg none") {
        json h = header;
        h["alg"] = "none";
        CHECK(refused(sign(h, claims, "none")));
    }
    SECTION("HS512 instead of HS256") {
        json h = header;
        h["alg"] = "HS512";
        CHECK(refused(sign(h, claims, "HS512")));
    }
    SECTION("RS256 header with an HMAC signature (algorithm confusion)") {
        json h = header;
        h["alg"] = "RS256";
        CHECK(refused(sign(h, claims, "HS256")));
    }
    SECTION("tid changed, signature kept") {
        json c = claims;
        c["tid"] = tenantB;
        CHECK(refused(good.substr(0, dot1) + "." + b64url(c.dump()) + good.substr(dot2)));
    }
    SECTION("tid of another tenant, correctly signed, on this tenant") {
        json c = claims;
        c["tid"] = tenantB;
        CHECK(refused(sign(header, c, "HS256")));
    }
    SECTION("expired") {
        json c = claims;
        c["exp"] = ardoise::kernel::data::nowSeconds() - 120;
        CHECK(refused(sign(header, c, "HS256")));
    }
    SECTION("not valid yet") {
        json c = claims;
        c["nbf"] = ardoise::kernel::data::nowSeconds() + 600;
        CHECK(refused(sign(header, c, "HS256")));
    }
    SECTION("unknown kid") {
        json h = header;
        h["kid"] = "other";
        CHECK(refused(sign(h, claims, "HS256")));
    }
    SECTION("signed with another key") {
        std::string input = good.substr(0, dot2);
        CHECK(refused(input + "." + b64url(hs256(std::string(48, 'x'), input))));
    }
    SECTION("garbage") {
        CHECK(refused("not.a.token"));
        CHECK(refused(good + "x"));
    }
}
