// The SDK as a third party gets it: `ardoise plugin new` makes a plugin from
// sdk/template, which builds out of tree against `cmake --install`ed SDK,
// passes its own unit test and loads in a server.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/test_env.hpp"

namespace fs = std::filesystem;
using ardoise::test::TempDir;
using ardoise::test::TestServer;

namespace {

ardoise::test::CommandResult ardoiseCli(const std::string& dataDir, const std::string& args) {
    return ardoise::test::runCommand("ARDOISE_DATA_DIR=" + dataDir + " ARDOISE_DATABASE_URL=sqlite:" + dataDir + "/ardoise.db " +
                      std::string(ARDOISE_BINARY) + " " + args);
}

/// `"text"` for a shell command line (test paths hold no quotes).
std::string quoted(const std::string& text) {
    std::string out = "\"";
    out += text;
    out += '"';
    return out;
}

/// cmake with `args`, built piecewise (GCC 12 warns falsely on long chains of + with macros).
std::string cmake(const std::string& args) {
    std::string command = quoted(ARDOISE_CMAKE_COMMAND);
    command += ' ';
    command += args;
    return command;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// `cmake --install` of this build into a private prefix, once per test run.
const std::string& installedSdk() {
    static TempDir dir;
    static const std::string prefix = [] {
        const std::string p = dir.path() + "/prefix";
        auto r = ardoise::test::runCommand(cmake("--install " + quoted(ARDOISE_BUILD_DIR) + " --prefix " + quoted(p)));
        INFO(r.output);
        REQUIRE(r.exitCode == 0);
        return p;
    }();
    return prefix;
}

}  // namespace

TEST_CASE("`ardoise plugin new` creates a plugin folder from the template and refuses to overwrite one", "[sdk]") {
    TempDir dir;
    const std::string target = dir.path() + "/notes";
    auto created = ardoiseCli(dir.path(), "plugin new notes --dir " + target);
    INFO(created.output);
    REQUIRE(created.exitCode == 0);
    CHECK(contains(created.output, "created plugin notes in " + target));
    CHECK(contains(created.output, "cmake --build"));
    for (const char* file : {"manifest.json", "CMakeLists.txt", "README.md", "src/notes.cpp", "src/notes.hpp",
                             "migrations/0001_notes.sql", "lang/fr.json", "lang/en.json", "tests/notes_test.cpp"}) {
        INFO(file);
        CHECK(fs::is_regular_file(fs::path(target) / file));
    }
    std::ifstream source(fs::path(target) / "src/notes.cpp");
    const std::string text((std::istreambuf_iterator<char>(source)), std::istreambuf_iterator<char>());
    CHECK(contains(text, "namespace ardoise::plugins::notes"));
    CHECK(contains(text, "NotesPlugin"));
    CHECK_FALSE(contains(text, "@name@"));
    CHECK_FALSE(contains(text, "@Name@"));

    auto again = ardoiseCli(dir.path(), "plugin new notes --dir " + target);
    CHECK(again.exitCode != 0);
    CHECK(contains(again.output, "already exists"));

    auto bad = ardoiseCli(dir.path(), "plugin new Bad-Name --dir " + dir.path() + "/bad");
    CHECK(bad.exitCode != 0);
    CHECK(contains(bad.output, "'Bad-Name' is not a plugin name"));
    CHECK_FALSE(fs::exists(dir.path() + "/bad"));

    auto reserved = ardoiseCli(dir.path(), "plugin new users --dir " + dir.path() + "/users");
    CHECK(reserved.exitCode != 0);
    CHECK(contains(reserved.output, "'users' is reserved"));
    CHECK_FALSE(fs::exists(dir.path() + "/users"));
}

TEST_CASE("A generated plugin builds out of tree against the installed SDK, passes its unit test and serves its route",
          "[sdk][slow]") {
    const std::string prefix = installedSdk();
    CHECK(fs::is_regular_file(prefix + "/lib/cmake/ArdoiseSDK/ArdoiseSDKConfig.cmake"));
    CHECK(fs::is_regular_file(prefix + "/lib/cmake/ArdoiseSDK/ArdoiseSDKConfigVersion.cmake"));
    CHECK(fs::is_regular_file(prefix + "/include/ardoise/plugin.hpp"));
    CHECK(fs::is_regular_file(prefix + "/share/ardoise/sdk/ABI.md"));

    TempDir dir;
    const std::string source = dir.path() + "/notes";
    const std::string build = dir.path() + "/notes-build";
    // The installed binary, with the installed template: what a third party runs.
    auto created = ardoise::test::runCommand("ARDOISE_DATA_DIR=" + dir.path() + " " + prefix + "/bin/ardoise --set share_dir=" + prefix + "/share/ardoise plugin new notes --dir " +
                              source);
    INFO(created.output);
    REQUIRE(created.exitCode == 0);

    std::string configure =
        cmake("-S " + source + " -B " + build + " -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH=" + prefix);
    if (fs::exists("/usr/bin/ccache")) {
        configure += " -DCMAKE_CXX_COMPILER_LAUNCHER=/usr/bin/ccache";
    }
    auto configured = ardoise::test::runCommand(configure);
    INFO(configured.output);
    REQUIRE(configured.exitCode == 0);
    auto built = ardoise::test::runCommand(cmake("--build " + build + " -j 1"));
    INFO(built.output);
    REQUIRE(built.exitCode == 0);
    CHECK_FALSE(contains(built.output, "warning:"));
    REQUIRE(fs::is_regular_file(build + "/plugins/notes/libnotes.so"));
    REQUIRE(fs::is_regular_file(build + "/plugins/notes/manifest.json"));
    REQUIRE(fs::is_regular_file(build + "/plugins/notes/migrations/0001_notes.sql"));

    auto unit = ardoise::test::runCommand(build + "/notes_tests");
    INFO(unit.output);
    CHECK(unit.exitCode == 0);
    CHECK(contains(unit.output, "All tests passed"));

    TestServer s("sqlite", false);
    s.config().pluginPath = build + "/plugins";
    s.start();
    bool loaded = false;
    for (const auto& r : s.app().plugins().records()) {
        if (r.name == "notes") {
            INFO(r.reason);
            loaded = r.loaded;
        }
    }
    REQUIRE(loaded);
    s.createTenant("ecole-a");
    CHECK(s.countRows("notes_items") == 0);  // its migration ran
    s.enablePlugin("ecole-a", "notes");
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    auto hello = s.as(token, "ecole-a", "GET", "/api/v1/notes/hello");
    INFO(hello.body);
    CHECK(hello.status == 200);
    CHECK(hello.json()["school"] == "ecole-a");
    CHECK(s.request("GET", "/api/v1/notes/hello", nullptr, {{"X-Tenant", "ecole-a"}}).status == 401);
    // Another school, which has not enabled it, does not see it.
    s.createTenant("ecole-b");
    const std::string other = s.login("ecole-b", "admin@ecole-b.test");
    REQUIRE(s.app().enablement().setAllowed(s.app().tenants().resolve("ecole-b")->id, "notes", true));
    CHECK(s.as(other, "ecole-b", "GET", "/api/v1/notes/hello").status == 404);
}
