// What the SDK's TenantServices give a plugin, through the hello fixture:
// events, jobs, settings, templates, notifications, Lua functions, metrics.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "support/test_env.hpp"

using ardoise::Code;
using ardoise::test::TestServer;
using nlohmann::json;

namespace {

struct School {
    std::string id;
    std::string admin;
};

School school(TestServer& s, const std::string& slug) {
    School out{s.createTenant(slug), ""};
    s.enablePlugin(slug, "hello");
    out.admin = s.login(slug, "admin@" + slug + ".test");
    s.app().events().drain();  // user.created of the admin
    return out;
}

/// Makes every waiting job due now (retries wait with backoff).
void makeJobsDue(TestServer& s) { s.app().database().acquire()->exec("UPDATE platform_jobs SET run_at = 0"); }

json heard(TestServer& s, const School& sc, const std::string& slug) {
    return s.as(sc.admin, slug, "GET", "/api/v1/hello/heard").json()["items"];
}

}  // namespace

TEST_CASE("An event exists only if its transaction commits, and reaches the subscriber once", "[events][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Akwaba"}}).status == 201);
    auto rolledBack = s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "rollback"}});
    CHECK(rolledBack.status == 409);
    CHECK(s.countRows("hello_greetings") == 1);
    auto greeted = s.app().database().acquire()->queryOne(
        "SELECT COUNT(*) AS n FROM platform_events WHERE name = 'hello.greeted'");
    CHECK(greeted->integer("n") == 1);  // the rolled-back event went with its insert
    CHECK(heard(s, a, "ecole-a").empty());       // nothing runs on the request thread

    CHECK(s.app().events().drain() == 1);
    auto items = heard(s, a, "ecole-a");
    REQUIRE(items.size() == 1);
    CHECK(items[0]["text"] == "Akwaba");
    CHECK(items[0]["attempt"] == 1);
    CHECK(s.app().events().drain() == 0);  // dispatched once
    CHECK(s.request("GET", "/metrics").body.find("ardoise_plugin_hello_greetings_total 1") != std::string::npos);
}

TEST_CASE("A subscriber that fails or throws gets the event again through a retry job", "[events][jobs][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "fail-once"}}).status == 201);
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "throw"}}).status == 201);
    CHECK(s.app().events().drain() == 2);
    CHECK(heard(s, a, "ecole-a").empty());
    CHECK(s.countRows("platform_jobs") == 2);  // one retry per failed delivery
    CHECK(s.app().jobs().drain() == 0);        // retries wait
    makeJobsDue(s);
    CHECK(s.app().jobs().drain() == 2);
    auto items = heard(s, a, "ecole-a");
    REQUIRE(items.size() == 1);
    CHECK(items[0]["text"] == "fail-once");
    CHECK(items[0]["attempt"] == 2);

    auto jobs = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs?status=pending").json()["items"];
    REQUIRE(jobs.size() == 1);  // the thrower is retried, its error visible to the school
    CHECK(jobs[0]["name"] == "kernel.event_delivery");
    CHECK(jobs[0]["error"].get<std::string>().find("listener exploded") != std::string::npos);
    const auto metrics = s.request("GET", "/metrics").body;
    CHECK(metrics.find("ardoise_plugin_errors_total{plugin=\"hello\"} 2") != std::string::npos);
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/hello/greetings").status == 200);  // still serving
}

TEST_CASE("A school where the plugin is disabled is skipped by its subscriber", "[events]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Akwaba"}}).status == 201);
    REQUIRE(s.as(a.admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", false}}).status == 200);
    CHECK(s.app().events().drain() == 1);
    CHECK(s.countRows("hello_heard") == 0);
    CHECK(s.countRows("platform_jobs") == 0);  // skipped, not failed
}

TEST_CASE("Jobs run in the background with progress and results, visible only to their school", "[jobs][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    auto queued = s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/shouts", {{"text", "akwaba"}});
    REQUIRE(queued.status == 202);
    const std::string id = queued.json()["job_id"];
    auto pending = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs/" + id).json();
    CHECK(pending["status"] == "pending");
    CHECK(pending["name"] == "hello.shout");
    CHECK(s.as(b.admin, "ecole-b", "GET", "/api/v1/jobs/" + id).status == 404);
    CHECK(s.as(b.admin, "ecole-b", "POST", "/api/v1/jobs/" + id + "/cancel").status == 404);

    CHECK(s.app().jobs().drain() == 1);
    auto done = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs/" + id).json();
    CHECK(done["status"] == "succeeded");
    CHECK(done["result"] == json({{"shouted", "AKWABA"}, {"attempt", 1}}));
    CHECK(done["progress"] == json({{"done", 1}, {"total", 1}}));
    CHECK(done["attempts"] == 1);

    // The same unique key while the first is pending: one job.
    const std::string first = s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/shouts",
                                   {{"text", "x"}, {"unique_key", "k"}}).json()["job_id"];
    CHECK(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/shouts", {{"text", "y"}, {"unique_key", "k"}})
              .json()["job_id"] == first);
    auto canceled = s.as(a.admin, "ecole-a", "POST", "/api/v1/jobs/" + first + "/cancel");
    CHECK(canceled.json()["status"] == "canceled");
    CHECK(s.app().jobs().drain() == 0);

    auto page = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs?limit=1").json();
    CHECK(page["items"].size() == 1);
    CHECK(page["items"][0]["id"] == first);  // newest first
    auto next = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs?limit=1&cursor=" + page["next_cursor"].get<std::string>()).json();
    CHECK(next["items"][0]["id"] == id);
    CHECK(s.as(b.admin, "ecole-b", "GET", "/api/v1/jobs").json()["items"].empty());
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs?status=lost").status == 422);
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs?cursor=abc").status == 422);
    s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    CHECK(s.as(s.login("ecole-a", "prof@ecole-a.test"), "ecole-a", "GET", "/api/v1/jobs").status == 403);
}

TEST_CASE("A job that throws is retried with backoff, then fails with its error", "[jobs]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    const std::string id =
        s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/shouts", {{"text", "boom"}, {"max_attempts", 2}}).json()["job_id"];
    CHECK(s.app().jobs().drain() == 1);
    auto retrying = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs/" + id).json();
    CHECK(retrying["status"] == "pending");
    CHECK(retrying["attempts"] == 1);
    CHECK(retrying["run_at"].get<std::int64_t>() > retrying["created_at"].get<std::int64_t>());
    CHECK(retrying["error"].get<std::string>().find("job exploded") != std::string::npos);
    makeJobsDue(s);
    CHECK(s.app().jobs().drain() == 1);
    auto failed = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs/" + id).json();
    CHECK(failed["status"] == "failed");
    CHECK(failed["attempts"] == 2);
    CHECK(failed["finished_at"].is_number());
    CHECK(s.request("GET", "/metrics").body.find("ardoise_plugin_errors_total{plugin=\"hello\"} 2") != std::string::npos);
}

TEST_CASE("A running job sees a cancel request and ends canceled", "[jobs]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    const std::string id = s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/shouts", {{"text", "wait"}}).json()["job_id"];
    std::thread worker([&] { s.app().jobs().runOnce(); });
    json job;
    for (int i = 0; i < 400; ++i) {
        job = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs/" + id).json();
        if (job["status"] == "running" && job["progress"].is_object()) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(job["status"] == "running");
    CHECK(s.as(a.admin, "ecole-a", "POST", "/api/v1/jobs/" + id + "/cancel").json()["cancel_requested"] == true);
    worker.join();
    auto ended = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs/" + id).json();
    CHECK(ended["status"] == "canceled");
    CHECK(ended["progress"]["done"].get<int>() < 2000);
}

TEST_CASE("With workers on, events and jobs run without being driven", "[events][jobs]") {
    TestServer s("sqlite", false);
    s.config().jobWorkers = 1;
    s.start();
    auto a = school(s, "ecole-a");
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Akwaba"}}).status == 201);
    const std::string id = s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/shouts", {{"text", "a"}}).json()["job_id"];
    bool delivered = false;
    bool ran = false;
    for (int i = 0; i < 500 && !(delivered && ran); ++i) {
        delivered = heard(s, a, "ecole-a").size() == 1;
        ran = s.as(a.admin, "ecole-a", "GET", "/api/v1/jobs/" + id).json()["status"] == "succeeded";
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(delivered);
    CHECK(ran);
}

TEST_CASE("Settings carry schema defaults; templates render in the caller's language; notifications go to the outbox",
          "[plugins][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    s.createTenant("ecole-b");
    const std::string prof = s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    const std::string other = s.createUser("ecole-b", "prof@ecole-b.test", "teacher");
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/hello/greeting").json()["message"] == "Bonjour admin@ecole-a.test");
    REQUIRE(s.as(a.admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"settings", {{"greeting", "Akwaba"}}}}).status == 200);
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/hello/greeting").json()["message"] == "Akwaba admin@ecole-a.test");

    auto fr = s.as(a.admin, "ecole-a", "GET", "/api/v1/hello/card");
    CHECK(fr.body == "<p class=\"carte\">&lt;b&gt;hi&lt;/b&gt;, admin@ecole-a.test</p>\n");
    auto en = s.request("GET", "/api/v1/hello/card", nullptr,
                        {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + a.admin}, {"Accept-Language", "en"}});
    CHECK(en.body.find("class=\"card\"") != std::string::npos);

    const auto before = s.countRows("platform_mail_outbox");
    CHECK(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/welcome", {{"user_id", prof}}).status == 204);
    CHECK(s.countRows("platform_mail_outbox") == before + 1);
    auto mail = s.app().database().acquire()->queryOne(
        "SELECT recipient, subject FROM platform_mail_outbox ORDER BY created_at DESC, id LIMIT 1");
    REQUIRE(mail);
    CHECK(mail->text("recipient") == "prof@ecole-a.test");
    CHECK(mail->text("subject") == "Bienvenue à École ecole-a");
    CHECK(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/welcome", {{"user_id", other}}).status == 404);  // another school's
    CHECK(s.countRows("platform_mail_outbox") == before + 1);
}

TEST_CASE("Creating a user publishes user.created in the same transaction", "[events]") {
    TestServer s("sqlite");
    s.createTenant("ecole-a");
    const std::string id = s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    auto row = s.app().database().acquire()->queryOne(
        "SELECT source, payload FROM platform_events WHERE name = 'user.created' ORDER BY seq DESC LIMIT 1");
    REQUIRE(row);
    CHECK(row->text("source") == "kernel");
    auto payload = json::parse(row->text("payload"));
    CHECK(payload["id"] == id);
    CHECK(payload["roles"] == json::array({"teacher"}));
}

TEST_CASE("Lua functions a plugin exports are called per school, with arguments checked and failures contained",
          "[plugins][lua]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    const std::string b = s.createTenant("ecole-b");
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Akwaba"}}).status == 201);
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Bonne rentrée"}}).status == 201);
    auto& host = s.app().plugins();
    const ardoise::kernel::plugins::ExportedFunction* count = nullptr;
    for (const auto& f : host.luaFunctions()) {
        count = f.qualifiedName == "hello.count" ? &f : count;
    }
    REQUIRE(count != nullptr);
    CHECK(count->plugin == "hello");
    CHECK(count->function.readOnly);
    auto all = host.callLuaFunction("hello.count", a.id, json::object());
    REQUIRE(all);
    CHECK((*all)["count"] == 2);
    CHECK((*host.callLuaFunction("hello.count", a.id, {{"text", "Akw"}}))["count"] == 1);
    auto bad = host.callLuaFunction("hello.count", a.id, {{"text", 5}});
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == Code::kInvalidArgument);
    REQUIRE(bad.status().fields().size() == 1);
    CHECK(bad.status().fields()[0].pointer == "/text");
    CHECK(host.callLuaFunction("hello.count", b, json::object()).status().code() == Code::kNotFound);  // not enabled there
    CHECK(host.callLuaFunction("hello.nothing", a.id, json::object()).status().code() == Code::kNotFound);
}

TEST_CASE("A plugin calls the functions of a plugin it requires, for its own school only", "[plugins]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    s.enablePlugin("ecole-a", "caller");
    REQUIRE(s.as(a.admin, "ecole-a", "POST", "/api/v1/hello/greetings", {{"text", "Akwaba"}}).status == 201);
    auto count = s.as(a.admin, "ecole-a", "GET", "/api/v1/caller/count?text=Akw");
    REQUIRE(count.status == 200);
    CHECK(count.json()["count"] == 1);
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/caller/count?function=announcements.recent").status == 404);  // not required
    REQUIRE(s.as(a.admin, "ecole-a", "PUT", "/api/v1/plugins/hello", {{"enabled", false}}).status == 200);
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/caller/count").status == 404);  // hello off for this school
}
