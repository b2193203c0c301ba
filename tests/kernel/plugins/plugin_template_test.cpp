// createPluginFromTemplate: the logic behind `ardoise plugin new`.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "kernel/plugins/plugin_template.hpp"
#include "support/child_process.hpp"

namespace fs = std::filesystem;
using ardoise::Code;
using ardoise::kernel::plugins::createPluginFromTemplate;
using ardoise::kernel::plugins::pascalCase;

namespace {
std::string read(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("A plugin name becomes its class name by capitalizing each '_'-separated word", "[sdk]") {
    CHECK(pascalCase("notes") == "Notes");
    CHECK(pascalCase("mobile_money") == "MobileMoney");
    CHECK(pascalCase("a2_b") == "A2B");
}

TEST_CASE("The template is copied with @name@ and @Name@ replaced in file names and contents", "[sdk]") {
    ardoise::test::TempDir dir;
    const fs::path tpl = fs::path(dir.path()) / "template";
    fs::create_directories(tpl / "src");
    std::ofstream(tpl / "src" / "@name@.cpp") << "namespace ardoise::plugins::@name@ { class @Name@Plugin; }\n";
    auto created = createPluginFromTemplate(tpl, "mobile_money", fs::path(dir.path()) / "out");
    REQUIRE(created.isOk());
    REQUIRE(created->files.size() == 1);
    CHECK(created->files[0] == fs::path("src/mobile_money.cpp"));
    CHECK(read(fs::path(dir.path()) / "out/src/mobile_money.cpp") ==
          "namespace ardoise::plugins::mobile_money { class MobileMoneyPlugin; }\n");
}

TEST_CASE("plugin new refuses a bad or reserved name, an existing folder and a missing template, writing nothing",
          "[sdk]") {
    ardoise::test::TempDir dir;
    const fs::path tpl = fs::path(ARDOISE_SOURCE_DIR) / "sdk" / "template";
    auto bad = createPluginFromTemplate(tpl, "9lives", fs::path(dir.path()) / "a");
    CHECK(bad.status().type() == "invalid-plugin-name");
    auto reserved = createPluginFromTemplate(tpl, "tenants", fs::path(dir.path()) / "b");
    CHECK(reserved.status().type() == "invalid-plugin-name");
    fs::create_directories(fs::path(dir.path()) / "taken");
    std::ofstream(fs::path(dir.path()) / "taken" / "mine.txt") << "keep";
    auto taken = createPluginFromTemplate(tpl, "notes", fs::path(dir.path()) / "taken");
    CHECK(taken.status().code() == Code::kConflict);
    CHECK(read(fs::path(dir.path()) / "taken" / "mine.txt") == "keep");
    auto missing = createPluginFromTemplate(fs::path(dir.path()) / "nowhere", "notes", fs::path(dir.path()) / "c");
    CHECK(missing.status().code() == Code::kNotFound);
    for (const char* name : {"a", "b", "c"}) {
        CHECK_FALSE(fs::exists(fs::path(dir.path()) / name));
    }
}
