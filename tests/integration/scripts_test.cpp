// School scripts over the API: storage and versions, validation with lines,
// triggers (events, schedules in the school's time zone, filters), plugin
// functions, dry runs that change nothing, the run log and the catalog.

#include <catch2/catch.hpp>

#include <set>

#include "kernel/scripting/schedule.hpp"
#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

struct School {
    std::string id;
    std::string admin;
    std::string adminId;
};

School school(TestServer& s, const std::string& slug) {
    School out{s.createTenant(slug), "", ""};
    s.enablePlugin(slug, "announcements");
    out.admin = s.login(slug, "admin@" + slug + ".test");
    out.adminId = s.as(out.admin, slug, "GET", "/api/v1/me").json()["id"];
    s.app().events().drain();
    return out;
}

std::string create(TestServer& s, const School& sc, const std::string& slug, const std::string& name,
                   const std::string& source, const json& settings = json::object()) {
    auto r = s.as(sc.admin, slug, "POST", "/api/v1/scripts", {{"name", name}, {"source", source}, {"settings", settings}});
    REQUIRE(r.status == 201);
    return r.json()["id"];
}

long long outbox(TestServer& s) { return s.countRows("platform_mail_outbox"); }

}  // namespace

TEST_CASE("Scripts are validated with line numbers, versioned, and scoped to their school", "[scripts][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    auto bad = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts", {{"name", "bad"}, {"source", "on('x', function()\n  if then\nend)"}});
    CHECK(bad.status == 422);
    CHECK(bad.json()["errors"][0]["pointer"] == "/source");
    CHECK(bad.json()["errors"][0]["detail"].get<std::string>().find("line 2") != std::string::npos);
    auto checked = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/validate", {{"source", "every('61 * * * *', print)"}});
    CHECK(checked.json()["valid"] == false);
    CHECK(checked.json()["errors"][0]["type"] == "invalid-cron");
    auto top = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/validate", {{"source", "local x = 1\nerror('no')"}});
    CHECK(top.json()["errors"][0]["line"] == 2);

    const std::string id = create(s, a, "ecole-a", "hello", "on('user.created', function(e) log(e.payload.name) end)");
    auto updated = s.as(a.admin, "ecole-a", "PUT", "/api/v1/scripts/" + id,
                        {{"source", "on('user.created', function(e) log('v2') end)"}});
    REQUIRE(updated.status == 200);
    CHECK(updated.json()["version"] == 2);
    CHECK(s.as(a.admin, "ecole-a", "PUT", "/api/v1/scripts/" + id, {{"enabled", false}}).json()["version"] == 2);
    auto versions = s.as(a.admin, "ecole-a", "GET", "/api/v1/scripts/" + id + "/versions").json()["items"];
    REQUIRE(versions.size() == 2);
    CHECK(versions[0]["version"] == 2);
    CHECK(versions[0]["author_id"] == a.adminId);
    CHECK(s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts", {{"name", "hello"}, {"source", "x = 1"}}).status == 409);

    CHECK(s.as(b.admin, "ecole-b", "GET", "/api/v1/scripts/" + id).status == 404);
    CHECK(s.as(b.admin, "ecole-b", "GET", "/api/v1/scripts").json()["items"].empty());
    s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    CHECK(s.as(s.login("ecole-a", "prof@ecole-a.test"), "ecole-a", "GET", "/api/v1/scripts").status == 403);
}

TEST_CASE("Event triggers run after the commit, call plugin functions and log their runs", "[scripts][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    create(s, a, "ecole-a", "welcome-teachers", R"(
on("user.created", function(e)
  announcements.publish{title = "Bienvenue " .. e.payload.name, body = "key " .. e.key}
  notify{to = e.payload.id, template = "welcome_user", data = {name = e.payload.name}}
  emit("welcomed", {user = e.payload.id})
end)
)");
    const std::string broken = create(s, a, "ecole-a", "broken", "on('user.created', function(e)\n  local x = nil\n  return x.y\nend)");
    const auto mails = outbox(s);
    const std::string prof = s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    s.createUser("ecole-b", "prof@ecole-b.test", "teacher");  // ecole-b has no scripts
    CHECK(s.countRows("announcements_items") == 0);           // nothing on the request path
    s.app().events().drain();
    auto listA = s.as(a.admin, "ecole-a", "GET", "/api/v1/announcements/announcements").json()["items"];
    REQUIRE(listA.size() == 1);
    CHECK(listA[0]["title"] == "Bienvenue prof@ecole-a.test");
    CHECK(listA[0]["body"].get<std::string>().find(":") != std::string::npos);  // the idempotency key
    CHECK(s.as(b.admin, "ecole-b", "GET", "/api/v1/announcements/announcements").json()["items"].empty());
    CHECK(outbox(s) == mails + 1);
    auto emitted = s.app().database().acquire()->queryOne(
        "SELECT payload FROM platform_events WHERE name = 'script.welcomed'");
    REQUIRE(emitted);
    CHECK(json::parse(emitted->text("payload"))["user"] == prof);

    auto runs = s.as(a.admin, "ecole-a", "GET", "/api/v1/scripts/" + broken + "/runs").json()["items"];
    REQUIRE(runs.size() == 1);
    CHECK(runs[0]["status"] == "script-error");
    CHECK(runs[0]["line"] == 3);
    CHECK(runs[0]["trigger"]["key"] == "user.created");
    CHECK(s.request("GET", "/metrics").body.find("ardoise_script_failures_total{tenant=\"" + a.id + "\",script=\"" +
                                                 broken + "\"} 1") != std::string::npos);
}

TEST_CASE("A dry run shows what a script would do and changes nothing", "[scripts]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    const std::string id = create(s, a, "ecole-a", "welcome", R"(
on("user.created", function(e)
  local before = #announcements.recent{limit = 5}.items
  announcements.publish{title = "Bienvenue " .. e.payload.name, body = "…"}
  notify{to = e.payload.id, template = "welcome_user", data = {name = e.payload.name}}
  emit("welcomed", {n = before})
  log("done", before)
  return before
end)
)");
    const auto before = s.rowCounts();
    auto dry = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/" + id + "/dry-run",
                    {{"event", {{"name", "user.created"}, {"payload", {{"id", "u1"}, {"name", "Awa"}}}}}});
    REQUIRE(dry.status == 200);
    const auto out = dry.json();
    CHECK(out["status"] == "ok");
    CHECK(out["result"] == 0);
    REQUIRE(out["effects"].size() == 4);
    CHECK(out["effects"][0]["call"] == "announcements.publish");
    CHECK(out["effects"][1]["notify"]["to"] == "u1");
    CHECK(out["effects"][2]["emit"] == "script.welcomed");
    CHECK(out["effects"][3]["log"] == "done 0");
    CHECK(s.rowCounts() == before);
    auto none = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/" + id + "/dry-run", {{"event", {{"name", "other"}}}});
    CHECK(none.status == 422);
}

TEST_CASE("Schedules follow the school's time zone", "[scripts]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    REQUIRE(s.app().tenants().update("ecole-a", {{"timezone", "Asia/Tokyo"}}));  // UTC+9, no DST
    create(s, a, "ecole-a", "morning", R"(every("30 8 * * *", function(run) log(date(run.time, "%H:%M")) end))");
    // 2027-03-02 23:30 UTC is 08:30 on the 3rd in Tokyo.
    const std::int64_t tokyoMorning = 1804030200;
    CHECK(ardoise::kernel::scripting::localTime("Asia/Tokyo", tokyoMorning).tm_hour == 8);
    CHECK(s.app().scripts().scheduleDue(tokyoMorning - 9 * 3600) == 0);  // 08:30 UTC: not yet
    CHECK(s.app().scripts().scheduleDue(tokyoMorning) == 1);
    CHECK(s.app().scripts().scheduleDue(tokyoMorning + 20) == 0);        // claimed once per minute
    CHECK(s.app().jobs().drain() == 1);
    auto scripts = s.as(a.admin, "ecole-a", "GET", "/api/v1/scripts").json()["items"];
    auto runs = s.as(a.admin, "ecole-a", "GET", "/api/v1/scripts/" + scripts[0]["id"].get<std::string>() + "/runs").json();
    REQUIRE(runs["items"].size() == 1);
    CHECK(runs["items"][0]["status"] == "ok");
    CHECK(runs["items"][0]["trigger"]["kind"] == "every");
}

TEST_CASE("A filter rejects or adjusts a new user before it exists, and fails open", "[scripts]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    create(s, a, "ecole-a", "rules", R"(
filter("user.before_create", function(u)
  if u.email:match("@spam%.test$") then return {reject = "Pas de spam."} end
  if u.email:match("^loop") then while true do end end
  return {name = u.name:upper(), roles = {"admin"}}
end)
)");
    auto refused = s.as(a.admin, "ecole-a", "POST", "/api/v1/users", {{"email", "x@spam.test"}, {"name", "x"}, {"roles", {"student"}}});
    CHECK(refused.status == 409);
    CHECK(refused.json()["type"] == "/problems/rejected-by-school-rule");
    CHECK(refused.json()["detail"] == "Pas de spam.");
    auto adjusted = s.as(a.admin, "ecole-a", "POST", "/api/v1/users", {{"email", "awa@ecole.test"}, {"name", "Awa"}, {"roles", {"student"}}});
    REQUIRE(adjusted.status == 201);
    CHECK(adjusted.json()["name"] == "AWA");
    CHECK(adjusted.json()["roles"] == json::array({"student"}));  // roles are not adjustable
    auto looping = s.as(a.admin, "ecole-a", "POST", "/api/v1/users", {{"email", "loop@ecole.test"}, {"name", "Kofi"}, {"roles", {"student"}}});
    CHECK(looping.status == 201);  // the rule overran its 50 ms: the hook fails open
    CHECK(looping.json()["name"] == "Kofi");
}

TEST_CASE("Catalog workflows install with checked settings and run", "[scripts]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    auto catalog = s.as(a.admin, "ecole-a", "GET", "/api/v1/scripts/catalog").json()["items"];
    std::set<std::string> names;
    for (const auto& w : catalog) {
        names.insert(w["name"].get<std::string>());
        CHECK_FALSE(w["title"]["fr"].get<std::string>().empty());
    }
    CHECK(names == std::set<std::string>{"absence_alert", "unpaid_invoice_reminder", "weekly_digest", "welcome_new_user"});
    CHECK(s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/catalog/absence_alert", {{"settings", {{"threshold", 0}}}})
              .status == 422);
    auto alert = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/catalog/absence_alert", {{"settings", {{"threshold", 3}}}});
    REQUIRE(alert.status == 201);
    const std::string parent = s.createUser("ecole-a", "parent@ecole-a.test", "parent");
    auto dry = [&](int count) {
        return s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/" + alert.json()["id"].get<std::string>() + "/dry-run",
                    {{"event", {{"name", "attendance.absent"},
                                {"payload", {{"student_name", "Ama"}, {"absences_this_term", count},
                                             {"guardian_user_ids", {parent}}}}}}}).json();
    };
    CHECK(dry(2)["effects"].empty());
    CHECK(dry(3)["effects"][0]["notify"]["template"] == "absence_alert");
    auto welcome = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/catalog/welcome_new_user", {{"settings", {{"roles", {"teacher"}}}}});
    REQUIRE(welcome.status == 201);
    s.app().events().drain();
    const auto mails = outbox(s);
    s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    s.createUser("ecole-a", "eleve@ecole-a.test", "student");
    s.app().events().drain();
    CHECK(outbox(s) == mails + 1);  // the teacher only
}

TEST_CASE("A hostile script fails alone: the server keeps serving and other schools' scripts run", "[scripts][attack]") {
    TestServer s("sqlite", false);
    s.config().scriptDeadlineMs = 200;
    s.start();
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    const std::string hostile = create(s, a, "ecole-a", "hostile", R"(
on("user.created", function(e)
  local t = {}
  while true do pcall(function() t[#t + 1] = string.rep("x", 1 << 20) end) end
end)
on("user.created", function(e) while true do end end)
)");
    const std::string calm = create(s, b, "ecole-b", "calm", "on('user.created', function(e) log('ok') end)");
    s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    s.createUser("ecole-b", "prof@ecole-b.test", "teacher");
    s.app().events().drain();
    auto runsA = s.as(a.admin, "ecole-a", "GET", "/api/v1/scripts/" + hostile + "/runs").json()["items"];
    REQUIRE(runsA.size() == 2);
    std::multiset<std::string> outcomes = {runsA[0]["status"], runsA[1]["status"]};
    CHECK(outcomes.count("memory-limit") == 1);  // the bomb; the loop stops at whichever limit comes first
    CHECK(outcomes.count("instruction-limit") + outcomes.count("deadline") == 1);
    auto runsB = s.as(b.admin, "ecole-b", "GET", "/api/v1/scripts/" + calm + "/runs").json()["items"];
    REQUIRE(runsB.size() == 1);
    CHECK(runsB[0]["status"] == "ok");
    CHECK(s.as(a.admin, "ecole-a", "GET", "/api/v1/me").status == 200);
    CHECK(s.app().scripts().stateMemory(b.id) < 64 * 1024);
}

TEST_CASE("A plan's script instruction budget bounds the school's runs", "[scripts][billing]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    auto& plans = s.app().billing().plans();
    REQUIRE(plans.create({{"code", "tiny"},
                          {"name", {{"fr", "Offre tiny"}, {"en", "tiny plan"}}},
                          {"prices", {{{"currency", "XOF"}, {"interval", "month"}, {"amount", 1000}}}},
                          {"limits", {{"script_instruction_budget", 100000}}},
                          {"features", {"announcements"}}}));
    REQUIRE(plans.assign(a.id, "XOF", {{"plan", "tiny"}}));
    // Longer than the 1 ms before metering starts, far over 100,000 instructions.
    const std::string id = create(s, a, "ecole-a", "busy",
                                  "on('user.created', function(e) local n = 0 for i = 1, 5e7 do n = n + i end end)");
    s.createUser("ecole-a", "prof@ecole-a.test", "teacher");
    s.app().events().drain();
    auto runs = s.as(a.admin, "ecole-a", "GET", "/api/v1/scripts/" + id + "/runs").json()["items"];
    REQUIRE(runs.size() == 1);
    CHECK(runs[0]["status"] == "instruction-limit");
    CHECK(runs[0]["error"].get<std::string>().find("100000") != std::string::npos);
}
