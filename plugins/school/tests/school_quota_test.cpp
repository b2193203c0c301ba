// The plan's student quota, enforced where students are created.

#include <catch2/catch.hpp>

#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

TEST_CASE("Adding the student over the plan's limit is refused with the limit and the plan that lifts it",
          "[school][billing]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    const std::string tenant = s.createTenant("ecole-a");
    s.enablePlugin("ecole-a", "school");
    auto& plans = s.app().billing().plans();
    auto plan = [](const std::string& code, std::int64_t price, std::int64_t students) {
        return json{{"code", code},
                    {"name", {{"fr", "Offre " + code}, {"en", code + " plan"}}},
                    {"prices", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", price}}}},
                    {"limits", {{"students", students}}},
                    {"features", {"school"}}};
    };
    REQUIRE(plans.create(plan("petite", 1000, 2)));
    REQUIRE(plans.create(plan("grande", 5000, 1000)));
    REQUIRE(plans.assign(tenant, "XOF", {{"plan", "petite"}}));
    const std::string admin = s.login("ecole-a", "admin@ecole-a.test");
    auto add = [&](const std::string& name) {
        return s.as(admin, "ecole-a", "POST", "/api/v1/school/students", {{"given_name", name}, {"family_name", "Kouamé"}});
    };
    REQUIRE(add("Aya").status == 201);
    const std::string second = add("Kofi").json()["id"];
    const auto before = s.rowCounts();
    auto over = add("Ama");
    CHECK(over.status == 403);
    CHECK(over.json()["type"] == "/problems/quota-exceeded");
    CHECK(over.json()["limit"] == "students");
    CHECK(over.json()["upgrade_plan"] == "grande");
    CHECK(s.rowCounts() == before);
    // Removing a student frees a place.
    REQUIRE(s.as(admin, "ecole-a", "DELETE", "/api/v1/school/students/" + second).status == 204);
    CHECK(add("Ama").status == 201);
}
