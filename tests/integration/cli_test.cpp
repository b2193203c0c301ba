// The real `ardoise` binary: the README's run path, the CLI, and durability
// of acknowledged writes across a SIGKILL.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "support/child_process.hpp"
#include "support/test_env.hpp"

using ardoise::test::ChildProcess;
using ardoise::test::httpRequest;
using nlohmann::json;

namespace {

/// Runs the ardoise binary with `args` in a private data folder; stdout and stderr.
ardoise::test::CommandResult runCli(const std::string& dataDir, const std::string& args) {
    return ardoise::test::runCommand("ARDOISE_DATA_DIR=" + dataDir + " ARDOISE_DATABASE_URL=sqlite:" + dataDir +
                                     "/ardoise.db ARDOISE_PASSWORD=Operateur-2026-solide " +
                                     std::string(ARDOISE_BINARY) + " " + args);
}

/// `ardoise serve` as a child on a free port, with the environment of `dataDir`.
struct Served {
    Served(const std::string& dataDir, std::uint16_t port)
        : process({"/usr/bin/env", "ARDOISE_DATA_DIR=" + dataDir, "ARDOISE_DATABASE_URL=sqlite:" + dataDir + "/ardoise.db",
                   "ARDOISE_LISTEN=127.0.0.1:" + std::to_string(port), "ARDOISE_ACCESS_LOG=0", "ARDOISE_OUTBOX=0",
                   "ARDOISE_RATE_TENANT_PER_SECOND=100000", ARDOISE_BINARY, "serve"}) {
        REQUIRE(process.waitForLine("Ardoise " ARDOISE_VERSION " listening on http://127.0.0.1:" + std::to_string(port),
                                    std::chrono::seconds(20)));
    }
    ChildProcess process;
};

std::string demoLogin(int port) {
    auto r = httpRequest(port, "POST", "/api/v1/auth/login",
                         R"({"email":"admin@demo.ardoise.test","password":"demo-admin-2026"})",
                         {{"X-Tenant", "demo"}, {"Content-Type", "application/json"}});
    REQUIRE(r.status == 200);
    return r.json()["access_token"];
}

}  // namespace

TEST_CASE("The README path: migrate, apply the demo school twice, serve, sign in and read /me", "[cli]") {
    ardoise::test::TempDir dir;
    REQUIRE(runCli(dir.path(), "migrate").exitCode == 0);
    auto first = runCli(dir.path(), "tenant apply " + std::string(ARDOISE_SOURCE_DIR) + "/tenants/demo");
    REQUIRE(first.exitCode == 0);
    CHECK(first.output.find("created tenant demo") != std::string::npos);
    auto second = runCli(dir.path(), "tenant apply " + std::string(ARDOISE_SOURCE_DIR) + "/tenants/demo");
    REQUIRE(second.exitCode == 0);
    CHECK(second.output.find("updated tenant demo") != std::string::npos);
    auto users = runCli(dir.path(), "user list --tenant demo");
    CHECK(std::count(users.output.begin(), users.output.end(), '\n') == 4);  // idempotent: still four users

    const auto port = ardoise::test::freeLoopbackPort();
    Served server(dir.path(), port);
    const std::string token = demoLogin(port);
    auto me = httpRequest(port, "GET", "/api/v1/me", "", {{"X-Tenant", "demo"}, {"Authorization", "Bearer " + token}});
    REQUIRE(me.status == 200);
    CHECK(me.json()["name"] == "Awa Koné");
    CHECK(me.json()["tenant"]["name"] == "Lycée de démonstration Ardoise");
}

TEST_CASE("The CLI manages operators, tenants and users, with clear errors", "[cli]") {
    ardoise::test::TempDir dir;
    REQUIRE(runCli(dir.path(), "migrate").exitCode == 0);
    CHECK(runCli(dir.path(), "--help").output.find("tenant apply DIR") != std::string::npos);
    CHECK(runCli(dir.path(), "--help").output.find("ARDOISE_DATABASE_URL") != std::string::npos);
    CHECK(runCli(dir.path(), "tenant --help").exitCode == 0);
    auto op = runCli(dir.path(), "operator create --email ops@ardoise.test --name Ops");
    CHECK(op.exitCode == 0);
    CHECK(op.output.find("ops@ardoise.test") != std::string::npos);
    auto created = runCli(dir.path(), "tenant create --slug college-a --name 'Collège A' --timezone Africa/Lome");
    REQUIRE(created.exitCode == 0);
    CHECK(json::parse(created.output)["timezone"] == "Africa/Lome");
    auto bad = runCli(dir.path(), "tenant create --slug 'Bad!' --name X");
    CHECK(bad.exitCode != 0);
    CHECK(bad.output.find("/slug") != std::string::npos);
    auto dup = runCli(dir.path(), "tenant create --slug college-a --name X");
    CHECK(dup.exitCode != 0);
    CHECK(dup.output.find("already used") != std::string::npos);
    CHECK(runCli(dir.path(), "tenant list").output.find("college-a\tactive") != std::string::npos);
    CHECK(json::parse(runCli(dir.path(), "tenant suspend college-a").output)["status"] == "suspended");
    CHECK(json::parse(runCli(dir.path(), "tenant resume college-a").output)["status"] == "active");
    CHECK(json::parse(runCli(dir.path(), "tenant show college-a").output)["name"] == "Collège A");
    auto updated = runCli(dir.path(), "tenant update college-a --locale en --currency XAF");
    REQUIRE(updated.exitCode == 0);
    CHECK(json::parse(updated.output)["currency"] == "XAF");
    CHECK(runCli(dir.path(), "tenant update college-a --locale de").exitCode != 0);
    auto user = runCli(dir.path(), "user create --tenant college-a --email dir@college-a.test --name Directrice --roles admin");
    REQUIRE(user.exitCode == 0);
    CHECK(json::parse(user.output)["status"] == "active");
    auto weak = runCli(dir.path(), "user create --tenant college-a --email x@college-a.test --name X --roles teacher --password 123456789");
    CHECK(weak.exitCode != 0);
    CHECK(weak.output.find("/password") != std::string::npos);
    CHECK(runCli(dir.path(), "user list --tenant college-a").output.find("dir@college-a.test") != std::string::npos);
    auto missing = runCli(dir.path(), "user create --tenant college-a --email y@college-a.test");
    CHECK(missing.exitCode == 2);
    CHECK(missing.output.find("missing --name") != std::string::npos);
    auto deleted = runCli(dir.path(), "tenant delete college-a");
    CHECK(deleted.exitCode == 0);
    CHECK(deleted.output.find("exported to ") != std::string::npos);
    CHECK(runCli(dir.path(), "tenant show college-a").exitCode != 0);
    CHECK(runCli(dir.path(), "frobnicate").exitCode != 0);
}

TEST_CASE("Every write acknowledged before a SIGKILL is there after restart", "[cli][durability]") {
    ardoise::test::TempDir dir;
    REQUIRE(runCli(dir.path(), "migrate").exitCode == 0);
    REQUIRE(runCli(dir.path(), "tenant apply " + std::string(ARDOISE_SOURCE_DIR) + "/tenants/demo").exitCode == 0);
    const auto port = ardoise::test::freeLoopbackPort();
    auto server = std::make_unique<Served>(dir.path(), port);
    const std::string token = demoLogin(port);
    const std::map<std::string, std::string> h = {{"X-Tenant", "demo"}, {"Authorization", "Bearer " + token},
                                                  {"Content-Type", "application/json"}};
    std::mutex ackMutex;
    std::vector<std::string> acknowledged;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            for (int i = 0; !stop; ++i) {
                const std::string email = "w" + std::to_string(w) + "-" + std::to_string(i) + "@demo.ardoise.test";
                try {
                    auto r = httpRequest(port, "POST", "/api/v1/users",
                                         json({{"email", email}, {"name", "Élève"}, {"roles", {"student"}}, {"password", "Mot-De-Passe-2026"}}).dump(), h);
                    if (r.status == 201) {
                        std::lock_guard lock(ackMutex);
                        acknowledged.push_back(email);
                    }
                } catch (const std::exception&) {
                    return;  // the server is gone
                }
            }
        });
    }
    while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::lock_guard lock(ackMutex);
        if (acknowledged.size() >= 30) {
            break;
        }
    }
    ::kill(server->process.pid(), SIGKILL);  // mid-burst: writers are still sending
    stop = true;
    for (auto& t : writers) {
        t.join();
    }
    server.reset();
    REQUIRE(acknowledged.size() >= 30);

    Served restarted(dir.path(), port);
    const std::string again = demoLogin(port);
    std::set<std::string> present;
    std::string cursor;
    do {
        auto page = httpRequest(port, "GET", "/api/v1/users?limit=100&cursor=" + cursor, "",
                                {{"X-Tenant", "demo"}, {"Authorization", "Bearer " + again}});
        REQUIRE(page.status == 200);
        const auto body = page.json();
        for (const auto& u : body["items"]) {
            present.insert(u["email"].get<std::string>());
        }
        cursor = body["next_cursor"].is_null() ? "" : body["next_cursor"].get<std::string>();
    } while (!cursor.empty());
    for (const auto& email : acknowledged) {
        INFO(email);
        CHECK(present.count(email) == 1);
    }
}

TEST_CASE("The CLI lists plugins and explains the ones it refuses", "[cli][plugins]") {
    ardoise::test::TempDir dir;
    const std::string path = std::string("--set plugin_path=") + ARDOISE_FIXTURE_PLUGIN_DIR + " ";
    auto list = runCli(dir.path(), path + "plugin list");
    REQUIRE(list.exitCode == 0);
    CHECK(list.output.find("hello\t1.0.0\tloaded") != std::string::npos);
    CHECK(list.output.find("wrong_sdk\t1.0.0\trefused: ") != std::string::npos);
    auto info = runCli(dir.path(), path + "plugin info hello");
    REQUIRE(info.exitCode == 0);
    CHECK(info.output.find("\"plan_feature\": \"hello\"") != std::string::npos);
    CHECK(runCli(dir.path(), path + "plugin info nothing").exitCode != 0);
}
