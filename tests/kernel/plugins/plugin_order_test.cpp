#include "kernel/plugins/plugin_order.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using ardoise::SdkVersion;
using ardoise::kernel::plugins::LoadPlan;
using ardoise::kernel::plugins::Manifest;
using ardoise::kernel::plugins::orderPlugins;
using ardoise::kernel::plugins::parseVersion;
using ardoise::kernel::plugins::VersionRange;

namespace {

using Names = std::vector<std::string>;
using Refused = std::map<std::string, std::string>;

Manifest plugin(const std::string& name, std::map<std::string, std::string> requires_ = {},
                const char* version = "1.0.0", const char* sdk = "^0.1.0") {
    Manifest m;
    m.name = name;
    m.version = *parseVersion(version);
    m.sdk = *VersionRange::parse(sdk);
    for (const auto& [dep, range] : requires_) {
        m.dependencies.emplace(dep, *VersionRange::parse(range));
    }
    return m;
}

LoadPlan order(const std::vector<Manifest>& manifests) { return orderPlugins(manifests, SdkVersion{0, 1, 0}); }

}  // namespace

TEST_CASE("A chain of requirements loads from the bottom up", "[plugins]") {
    auto plan = order({plugin("a", {{"b", "*"}}), plugin("b", {{"c", "^1.0.0"}}), plugin("c")});
    CHECK(plan.order == Names{"c", "b", "a"});
    CHECK(plan.refused.empty());
}

TEST_CASE("A diamond loads its shared base once and first", "[plugins]") {
    auto plan = order({plugin("top", {{"left", "*"}, {"right", "*"}}), plugin("right", {{"base", "*"}}),
                       plugin("left", {{"base", "*"}}), plugin("base")});
    CHECK(plan.order == Names{"base", "left", "right", "top"});
}

TEST_CASE("The order is alphabetical among ready plugins whatever the input order", "[plugins]") {
    std::vector<Manifest> manifests{plugin("zeta"), plugin("alpha", {{"zeta", "*"}}), plugin("mid"), plugin("beta")};
    auto first = order(manifests);
    CHECK(first.order == Names{"beta", "mid", "zeta", "alpha"});
    std::reverse(manifests.begin(), manifests.end());
    CHECK(order(manifests).order == first.order);
}

TEST_CASE("Every plugin on a cycle of three is refused with the whole cycle named", "[plugins]") {
    auto plan = order({plugin("a", {{"b", "*"}}), plugin("b", {{"c", "*"}}), plugin("c", {{"a", "*"}}), plugin("d")});
    CHECK(plan.order == Names{"d"});
    CHECK(plan.refused == Refused{{"a", "dependency cycle: a → b → c → a"},
                                  {"b", "dependency cycle: b → c → a → b"},
                                  {"c", "dependency cycle: c → a → b → c"}});
}

TEST_CASE("A plugin that requires itself is refused as a cycle", "[plugins]") {
    auto plan = order({plugin("solo", {{"solo", "*"}}), plugin("other")});
    CHECK(plan.order == Names{"other"});
    CHECK(plan.refused == Refused{{"solo", "dependency cycle: solo → solo"}});
}

TEST_CASE("A missing dependency is named with its range and the rest still loads", "[plugins]") {
    auto plan = order({plugin("quiz", {{"grades", "^2.0.0"}}), plugin("timetable")});
    CHECK(plan.order == Names{"timetable"});
    CHECK(plan.refused == Refused{{"quiz", "requires 'grades' (^2.0.0), which is not installed"}});
}

TEST_CASE("A dependency outside the required range is refused naming both versions", "[plugins]") {
    auto plan = order({plugin("quiz", {{"grades", ">=1.0.0 <2.0.0"}}), plugin("grades", {}, "2.1.0")});
    CHECK(plan.order == Names{"grades"});
    CHECK(plan.refused == Refused{{"quiz", "requires 'grades' >=1.0.0 <2.0.0, but 'grades' 2.1.0 is installed"}});
}

TEST_CASE("A plugin whose dependency cannot load is refused too, transitively", "[plugins]") {
    auto plan = order({plugin("a", {{"b", "*"}}), plugin("b", {{"missing", "*"}}), plugin("c", {{"a", "*"}}),
                       plugin("x", {{"y", "*"}}), plugin("y", {{"x", "*"}}), plugin("z", {{"x", "*"}}),
                       plugin("ok")});
    CHECK(plan.order == Names{"ok"});
    CHECK(plan.refused.at("b") == "requires 'missing' (*), which is not installed");
    CHECK(plan.refused.at("a") == "requires 'b', which cannot load");
    CHECK(plan.refused.at("c") == "requires 'a', which cannot load");
    CHECK(plan.refused.at("z") == "requires 'x', which cannot load");
    CHECK(plan.refused.at("x") == "dependency cycle: x → y → x");
}

TEST_CASE("A plugin whose SDK range excludes the host is refused naming both", "[plugins]") {
    auto plan = order({plugin("future", {}, "1.0.0", "^0.2.0"), plugin("user", {{"future", "*"}})});
    CHECK(plan.order.empty());
    CHECK(plan.refused.at("future") == "supports SDK ^0.2.0, but this host provides SDK 0.1.0");
    CHECK(plan.refused.at("user") == "requires 'future', which cannot load");
}

TEST_CASE("Several direct reasons are all given", "[plugins]") {
    auto plan = order({plugin("a", {{"a", "*"}, {"ghost", "^1.0.0"}})});
    CHECK(plan.refused.at("a") == "requires 'ghost' (^1.0.0), which is not installed; dependency cycle: a → a");
}

TEST_CASE("A plugin refused earlier blocks its dependents without being called missing", "[plugins]") {
    auto plan = orderPlugins({plugin("quiz", {{"grades", "*"}})}, SdkVersion{0, 1, 0},
                             {{"grades", "manifest.json of 'grades' is invalid: /version: is required"}});
    CHECK(plan.order.empty());
    CHECK(plan.refused == Refused{{"grades", "manifest.json of 'grades' is invalid: /version: is required"},
                                  {"quiz", "requires 'grades', which cannot load"}});
}

TEST_CASE("A name declared twice is refused", "[plugins]") {
    auto plan = order({plugin("twin"), plugin("twin"), plugin("solo")});
    CHECK(plan.order == Names{"solo"});
    CHECK(plan.refused == Refused{{"twin", "declared more than once"}});
}
