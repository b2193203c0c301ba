#include "kernel/plugins/discovery.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>

using ardoise::Code;
using ardoise::kernel::plugins::discoverPlugins;
using ardoise::kernel::plugins::Discovery;
using ardoise::kernel::plugins::splitPluginPath;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system temporary directory, removed afterwards.
struct TempTree {
    fs::path root;
    TempTree() {
        std::random_device random;
        root = fs::temp_directory_path() / ("ardoise-plugins-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(random()));
        fs::create_directories(root);
    }
    ~TempTree() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;

    fs::path write(const fs::path& relative, const std::string& text) const {
        auto path = root / relative;
        fs::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
};

std::string manifest(const std::string& name, const char* version = "1.0.0") {
    return R"({"name": ")" + name + R"(", "version": ")" + version +
           R"(", "sdk": "^0.1.0", "description": {"fr": "x", "en": "x"}})";
}

const ardoise::Status* errorFor(const Discovery& d, const std::string& name) {
    for (const auto& e : d.errors) {
        if (e.name == name) {
            return &e.status;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("Good plugins are found in every root and bad ones reported by folder", "[plugins]") {
    TempTree tree;
    tree.write("build/quiz/manifest.json", manifest("quiz"));
    tree.write("build/grades/manifest.json", manifest("grades"));
    tree.write("build/broken/manifest.json", R"({"name": "broken"})");
    tree.write("build/not_a_plugin/README.md", "no manifest here");
    tree.write("build/.hidden/manifest.json", "garbage");
    tree.write("install/timetable/manifest.json", manifest("timetable"));

    auto d = discoverPlugins({tree.root / "build", tree.root / "missing", tree.root / "install"});
    REQUIRE(d.plugins.size() == 3);
    CHECK(d.plugins[0].manifest.name == "grades");
    CHECK(d.plugins[1].manifest.name == "quiz");
    CHECK(d.plugins[1].folder == tree.root / "build" / "quiz");
    CHECK(d.plugins[2].manifest.name == "timetable");
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].folder == tree.root / "build" / "broken");
    CHECK(d.errors[0].status.type() == "invalid-manifest");
    CHECK(d.errors[0].status.message().find("/version: is required") != std::string::npos);
}

TEST_CASE("The same plugin name in two roots is an error naming both paths and neither loads", "[plugins]") {
    TempTree tree;
    tree.write("a/quiz/manifest.json", manifest("quiz"));
    tree.write("b/quiz/manifest.json", manifest("quiz", "2.0.0"));
    tree.write("b/grades/manifest.json", manifest("grades"));
    auto d = discoverPlugins({tree.root / "a", tree.root / "b"});
    REQUIRE(d.plugins.size() == 1);
    CHECK(d.plugins[0].manifest.name == "grades");
    const auto* error = errorFor(d, "quiz");
    REQUIRE(error != nullptr);
    CHECK(error->code() == Code::kConflict);
    CHECK(error->type() == "duplicate-plugin");
    CHECK(error->message() == "plugin 'quiz' is found twice, in " + (tree.root / "a" / "quiz").string() + " and in " +
                                  (tree.root / "b" / "quiz").string() + "; neither is loaded");
}

TEST_CASE("An oversized manifest is refused without reading it whole", "[plugins]") {
    TempTree tree;
    tree.write("p/quiz/manifest.json", manifest("quiz"));
    tree.write("p/big/manifest.json", std::string(300 * 1024, ' ') + manifest("big"));
    auto d = discoverPlugins({tree.root / "p"});
    CHECK(d.plugins.size() == 1);
    const auto* error = errorFor(d, "big");
    REQUIRE(error != nullptr);
    CHECK(error->code() == Code::kPayloadTooLarge);
    CHECK(error->type() == "manifest-too-large");
    CHECK(error->message().find("larger than 262144 bytes") != std::string::npos);
    CHECK(discoverPlugins({tree.root / "p"}, 64).errors.size() == 2);
}

TEST_CASE("A manifest that is a folder or a FIFO is reported unreadable and does not block", "[plugins]") {
    TempTree tree;
    fs::create_directories(tree.root / "p" / "dir_manifest" / "manifest.json");
    fs::create_directories(tree.root / "p" / "fifo_manifest");
    REQUIRE(::mkfifo((tree.root / "p" / "fifo_manifest" / "manifest.json").c_str(), 0600) == 0);
    tree.write("p/quiz/manifest.json", manifest("quiz"));
    auto d = discoverPlugins({tree.root / "p"});
    CHECK(d.plugins.size() == 1);
    REQUIRE(d.errors.size() == 2);
    for (const auto& e : d.errors) {
        CHECK(e.status.type() == "manifest-unreadable");
        CHECK(e.status.message().find("is not a regular file") != std::string::npos);
    }
}

TEST_CASE("A manifest without read permission is reported unreadable", "[plugins]") {
    TempTree tree;
    auto path = tree.write("p/quiz/manifest.json", manifest("quiz"));
    fs::permissions(path, fs::perms::none);
    if (::geteuid() == 0) {
        // Root reads anything: run the discovery as an unprivileged user in a
        // child process (folders opened up so only the file's mode matters).
        const auto open = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                          fs::perms::others_read | fs::perms::others_exec;
        for (auto dir = path.parent_path(); dir != tree.root.parent_path(); dir = dir.parent_path()) {
            fs::permissions(dir, open);
        }
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
                ::_exit(3);
            }
            auto d = discoverPlugins({tree.root / "p"});
            const bool ok = d.plugins.empty() && d.errors.size() == 1 &&
                            d.errors[0].status.type() == "manifest-unreadable";
            ::_exit(ok ? 0 : 1);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);  // 3: could not drop privileges; 1: not reported unreadable
        return;
    }
    auto d = discoverPlugins({tree.root / "p"});
    CHECK(d.plugins.empty());
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].status.type() == "manifest-unreadable");
}

TEST_CASE("A root that is a file is reported and the other roots still scanned", "[plugins]") {
    TempTree tree;
    auto file = tree.write("not_a_dir", "x");
    tree.write("p/quiz/manifest.json", manifest("quiz"));
    auto d = discoverPlugins({file, tree.root / "p"});
    CHECK(d.plugins.size() == 1);
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].status.type() == "plugin-root-unreadable");
}

TEST_CASE("The plugin path splits on colons and drops empty entries", "[plugins]") {
    CHECK(splitPluginPath("/a:/b/c::/d:") == std::vector<fs::path>{"/a", "/b/c", "/d"});
    CHECK(splitPluginPath("").empty());
    CHECK(splitPluginPath(":").empty());
}
