// Unit tests of the @name@ plugin, with the SDK's fake context: no server.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <ardoise/fake_plugin_context.hpp>

#include "@name@.hpp"

using ardoise::plugins::@name@::@Name@Plugin;
using ardoise::testing::FakePluginContext;

TEST_CASE("@name@ registers GET /hello for signed-in users with the @name@.read permission", "[@name@]") {
    FakePluginContext context("@name@");
    @Name@Plugin plugin;
    REQUIRE(plugin.registerWith(context).isOk());
    const auto* route = context.find("GET", "/hello");
    REQUIRE(route != nullptr);
    CHECK(route->access == ardoise::Access::kTenantUser);
    CHECK(route->permission == "@name@.read");
}

TEST_CASE("@name@'s GET /hello answers in the request's language", "[@name@]") {
    FakePluginContext context("@name@");
    @Name@Plugin plugin;
    REQUIRE(plugin.registerWith(context).isOk());
    auto fr = context.request("GET", "/hello", "fr");
    auto frResponse = context.call("GET", "/hello", fr);
    REQUIRE(frResponse.isOk());
    CHECK(frResponse->status == 200);
    CHECK(nlohmann::json::parse(frResponse->body)["message"] == "Bonjour, Awa Test");
    auto en = context.request("GET", "/hello", "en");
    auto enResponse = context.call("GET", "/hello", en);
    REQUIRE(enResponse.isOk());
    CHECK(nlohmann::json::parse(enResponse->body)["message"] == "Hello, Awa Test");
}

TEST_CASE("@name@ counts the users created in its schools", "[@name@]") {
    FakePluginContext context("@name@");
    @Name@Plugin plugin;
    REQUIRE(plugin.registerWith(context).isOk());
    REQUIRE(context.deliver("user.created", {{"id", "u1"}, {"roles", {"student"}}}).isOk());
    REQUIRE(context.deliver("user.created", {{"id", "u2"}, {"roles", {"teacher"}}}).isOk());
    CHECK(context.services().metricsValue.values["users_seen_total"] == 2);
    REQUIRE(context.services().logs.size() == 2);
    CHECK(context.services().logs[1].message == "new user u2");
}
