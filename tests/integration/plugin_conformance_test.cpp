// Rules every first-party plugin (plugins/<name>) follows, checked on the
// loaded plugins rather than by reading their code: loading, manifest texts,
// routes under their prefix and in the OpenAPI document, tables
// with the plugin's prefix and tenant_id first in the key, and no answer to
// a school that has not enabled them.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

std::vector<const ardoise::kernel::plugins::PluginRecord*> firstParty(TestServer& s) {
    std::vector<const ardoise::kernel::plugins::PluginRecord*> out;
    for (const auto& r : s.app().plugins().records()) {
        if (std::filesystem::path(r.folder).parent_path() == std::filesystem::path(ARDOISE_PLUGIN_DIR)) {
            out.push_back(&r);
        }
    }
    return out;
}

std::vector<std::string> createdTables(const std::filesystem::path& migrations) {
    static const std::regex create(R"(CREATE TABLE\s+(?:IF NOT EXISTS\s+)?([A-Za-z0-9_]+))", std::regex::icase);
    std::vector<std::string> out;
    for (const auto& file : std::filesystem::directory_iterator(migrations)) {
        std::ifstream in(file.path());
        std::stringstream text;
        text << in.rdbuf();
        const std::string sql = text.str();
        for (std::sregex_iterator it(sql.begin(), sql.end(), create), end; it != end; ++it) {
            out.push_back((*it)[1]);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("Every first-party plugin loads and follows the platform's rules", "[plugins][conformance]") {
    TestServer s("sqlite");
    s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    const auto plugins = firstParty(s);
    REQUIRE_FALSE(plugins.empty());
    const std::string adminA = s.login("ecole-a", "admin@ecole-a.test");
    const std::string adminB = s.login("ecole-b", "admin@ecole-b.test");
    const auto openapi = s.request("GET", "/api/v1/openapi.json").json();
    for (const auto* p : plugins) {
        INFO("plugin " << p->name);
        REQUIRE(p->loaded);
        REQUIRE(p->manifest);
        const auto& m = *p->manifest;
        CHECK_FALSE(m.description.fr.empty());
        CHECK_FALSE(m.description.en.empty());
        for (const auto& permission : m.permissions) {
            CHECK_FALSE(permission.description.fr.empty());
            CHECK_FALSE(permission.description.en.empty());
        }
        s.enablePlugin("ecole-a", p->name);

        for (const auto& table : createdTables(p->folder / "migrations")) {
            INFO("table " << table);
            CHECK(table.rfind(p->name + "_", 0) == 0);
            auto columns = s.app().database().acquire()->query("SELECT name, pk FROM pragma_table_info(?)", {table});
            bool tenantFirst = false;
            for (const auto& c : columns) {
                tenantFirst = tenantFirst || (c.text("name") == "tenant_id" && c.integer("pk") == 1);
            }
            CHECK(tenantFirst);
        }

        int routes = 0;
        for (const auto& route : s.app().router().routes()) {
            if (route->plugin != p->name) {
                continue;
            }
            ++routes;
            INFO("route " << route->method << " " << route->pattern);
            CHECK(route->pattern.rfind("/api/v1/" + p->name + "/", 0) == 0);
            CHECK_FALSE(route->summary.empty());
            CHECK(openapi["paths"].contains(route->pattern));
            // Unknown ids answer 404, never 500, and a school without the plugin sees nothing.
            const std::string target = std::regex_replace(route->pattern, std::regex("\\{[a-z_]+\\}"), "zzzzzzzzzzzzzzzzzzzz");
            const json body = route->requestSchema.is_object() ? json::object() : json(nullptr);
            auto other = s.as(adminB, "ecole-b", route->method, target, body);
            CHECK(other.status == 403);  // not in ecole-b's plan
            CHECK(other.json()["feature"] == m.planFeature);
            if (target != route->pattern) {
                auto unknown = s.as(adminA, "ecole-a", route->method, target, body);
                CHECK((unknown.status == 404 || unknown.status == 422));
            }
        }
        CHECK(routes > 0);
    }
}
