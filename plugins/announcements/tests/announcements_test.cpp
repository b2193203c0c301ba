// The announcements plugin against the real kernel, on SQLite and PostgreSQL.

#include <catch2/catch.hpp>

#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

struct Sign {
    std::string admin, teacher, student, parent, teacherId, studentId;
};

Sign school(TestServer& s, const std::string& slug) {
    s.createTenant(slug);
    Sign out;
    out.teacherId = s.createUser(slug, "prof@" + slug + ".test", "teacher");
    out.studentId = s.createUser(slug, "eleve@" + slug + ".test", "student");
    s.createUser(slug, "parent@" + slug + ".test", "parent");
    s.enablePlugin(slug, "announcements");
    out.admin = s.login(slug, "admin@" + slug + ".test");
    out.teacher = s.login(slug, "prof@" + slug + ".test");
    out.student = s.login(slug, "eleve@" + slug + ".test");
    out.parent = s.login(slug, "parent@" + slug + ".test");
    return out;
}

std::vector<std::string> titles(const json& list) {
    std::vector<std::string> out;
    for (const auto& item : list["items"]) {
        out.push_back(item["title"]);
    }
    return out;
}

const std::string kBase = "/api/v1/announcements/announcements";

}  // namespace

TEST_CASE("Announcements reach their audience, carry read receipts and publish an event", "[announcements][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto all = s.as(a.admin, "ecole-a", "POST", kBase, {{"title", "Rentrée"}, {"body", "Lundi 8 h."}});
    REQUIRE(all.status == 201);
    CHECK(all.json()["audience"]["roles"].empty());
    auto parents = s.as(a.teacher, "ecole-a", "POST", kBase,
                        {{"title", "Réunion"}, {"body", "Jeudi 17 h."}, {"roles", {"parent", "parent"}}});
    REQUIRE(parents.status == 201);
    CHECK(parents.json()["audience"]["roles"] == json::array({"parent"}));
    CHECK(parents.json()["author"]["id"] == a.teacherId);

    CHECK(titles(s.as(a.parent, "ecole-a", "GET", kBase).json()) == std::vector<std::string>{"Réunion", "Rentrée"});
    CHECK(titles(s.as(a.student, "ecole-a", "GET", kBase).json()) == std::vector<std::string>{"Rentrée"});
    CHECK(titles(s.as(a.teacher, "ecole-a", "GET", kBase).json()).size() == 2);  // its author
    const std::string meeting = parents.json()["id"];
    CHECK(s.as(a.student, "ecole-a", "GET", kBase + "/" + meeting).status == 404);  // not for students
    CHECK(s.as(a.student, "ecole-a", "POST", kBase + "/" + meeting + "/read").status == 404);
    CHECK(s.as(a.student, "ecole-a", "POST", kBase, {{"title", "x"}, {"body", "y"}}).status == 403);

    CHECK(s.as(a.parent, "ecole-a", "POST", kBase + "/" + meeting + "/read").status == 204);
    CHECK(s.as(a.parent, "ecole-a", "POST", kBase + "/" + meeting + "/read").status == 204);  // harmless again
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/" + meeting).json()["read"] == true);
    CHECK(titles(s.as(a.parent, "ecole-a", "GET", kBase + "?unread=true").json()) == std::vector<std::string>{"Rentrée"});
    auto receipts = s.as(a.teacher, "ecole-a", "GET", kBase + "/" + meeting + "/receipts").json();
    CHECK(receipts["read_count"] == 1);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/" + meeting + "/receipts").status == 403);

    auto events = s.app().database().acquire()->query(
        "SELECT payload FROM platform_events WHERE name = 'announcements.published' ORDER BY seq");
    REQUIRE(events.size() == 2);
    CHECK(json::parse(events[1].text("payload"))["roles"] == json::array({"parent"}));

    // Pagination is stable and complete.
    auto first = s.as(a.admin, "ecole-a", "GET", kBase + "?limit=1").json();
    REQUIRE(first["next_cursor"].is_string());
    auto second = s.as(a.admin, "ecole-a", "GET", kBase + "?limit=1&cursor=" + first["next_cursor"].get<std::string>()).json();
    CHECK(titles(first).size() == 1);
    CHECK(titles(second).size() == 1);
    CHECK(titles(first)[0] != titles(second)[0]);
    CHECK(second["next_cursor"].is_null());
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "?cursor=nope").status == 422);

    // Only the author or an admin withdraws; receipts go with it.
    const std::string back = all.json()["id"];
    CHECK(s.as(a.teacher, "ecole-a", "DELETE", kBase + "/" + back).status == 404);
    CHECK(s.as(a.admin, "ecole-a", "DELETE", kBase + "/" + meeting).status == 204);
    CHECK(s.countRows("announcements_receipts") == 0);
}

TEST_CASE("Announcements of one school are invisible to another, and bad input writes nothing",
          "[announcements][isolation][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    const std::string id = s.as(a.admin, "ecole-a", "POST", kBase, {{"title", "A"}, {"body", "a"}}).json()["id"];
    CHECK(s.as(b.admin, "ecole-b", "GET", kBase).json()["items"].empty());
    CHECK(s.as(b.admin, "ecole-b", "GET", kBase + "/" + id).status == 404);
    CHECK(s.as(b.admin, "ecole-b", "POST", kBase + "/" + id + "/read").status == 404);
    CHECK(s.as(b.admin, "ecole-b", "GET", kBase + "/" + id + "/receipts").status == 404);
    CHECK(s.as(b.admin, "ecole-b", "DELETE", kBase + "/" + id).status == 404);

    const auto before = s.rowCounts();
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase, {{"title", ""}, {"body", "a"}}).status == 422);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase, {{"title", "t"}, {"body", "a"}, {"roles", {"janitor"}}}).status == 422);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase, {{"title", "t"}}).status == 422);
    REQUIRE(s.as(a.admin, "ecole-a", "PUT", "/api/v1/plugins/announcements", {{"settings", {{"max_body_length", 100}}}})
                .status == 200);
    auto tooLong = s.as(a.admin, "ecole-a", "POST", kBase, {{"title", "t"}, {"body", std::string(101, 'x')}});
    CHECK(tooLong.status == 422);
    CHECK(tooLong.json()["errors"][0]["pointer"] == "/body");
    auto after = s.rowCounts();
    after.erase("tenant_plugins");
    auto expected = before;
    expected.erase("tenant_plugins");
    CHECK(after == expected);
}

TEST_CASE("Schools that ask for it email each announcement to its audience, once", "[announcements][jobs]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    REQUIRE(s.as(a.admin, "ecole-a", "PUT", "/api/v1/plugins/announcements", {{"settings", {{"email_on_publish", true}}}})
                .status == 200);
    const auto before = s.countRows("platform_mail_outbox");
    REQUIRE(s.as(a.admin, "ecole-a", "POST", kBase, {{"title", "Sortie"}, {"body", "Vendredi."}, {"roles", {"student", "parent"}}})
                .status == 201);
    CHECK(s.app().jobs().drain() == 1);
    CHECK(s.countRows("platform_mail_outbox") == before + 2);  // the student and the parent
    auto mail = s.app().database().acquire()->queryOne(
        "SELECT subject, body FROM platform_mail_outbox WHERE recipient = 'parent@ecole-a.test'");
    REQUIRE(mail);
    CHECK(mail->text("subject") == "École ecole-a : Sortie");
    CHECK(mail->text("body").find("Vendredi.") != std::string::npos);
}

TEST_CASE("Scripts publish and read announcements through the Lua functions", "[announcements][lua]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    const std::string tenant = s.app().tenants().resolve("ecole-a")->id;
    auto& host = s.app().plugins();
    auto published = host.callLuaFunction("announcements.publish", tenant, {{"title", "Alerte"}, {"body", "Pluie"}});
    REQUIRE(published);
    CHECK((*published)["author"]["id"] == "script");
    auto recent = host.callLuaFunction("announcements.recent", tenant, {{"limit", 5}});
    REQUIRE(recent);
    CHECK((*recent)["items"].size() == 1);
    CHECK(host.callLuaFunction("announcements.recent", tenant, {{"limit", 500}}).status().code() ==
          ardoise::Code::kInvalidArgument);
    CHECK(titles(s.as(a.student, "ecole-a", "GET", kBase).json()) == std::vector<std::string>{"Alerte"});
}

TEST_CASE("A school's rule can refuse or rewrite an announcement; a script of one school cannot read another's",
          "[announcements][scripts]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    auto rule = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts", {{"name", "rules"}, {"source", R"(
filter("announcements.before_publish", function(a)
  if a.body:find("grève", 1, true) then return {reject = "Annonce refusée par le règlement."} end
  return {title = a.title:upper()}
end)
on("user.created", function(e)
  local other = announcements.get{id = settings.foreign}
  log(other == nil and "nil" or other.title)
end)
)"}, {"settings", {{"foreign", "x"}}}});
    REQUIRE(rule.status == 201);
    auto refused = s.as(a.teacher, "ecole-a", "POST", kBase, {{"title", "Info"}, {"body", "Demain grève."}});
    CHECK(refused.status == 409);
    CHECK(refused.json()["type"] == "/problems/rejected-by-school-rule");
    CHECK(refused.json()["detail"] == "Annonce refusée par le règlement.");
    auto rewritten = s.as(a.teacher, "ecole-a", "POST", kBase, {{"title", "Info"}, {"body", "Demain cours."}});
    REQUIRE(rewritten.status == 201);
    CHECK(rewritten.json()["title"] == "INFO");
    CHECK(s.as(b.teacher, "ecole-b", "POST", kBase, {{"title", "Info"}, {"body", "Demain grève."}}).status == 201);  // B's rules

    // A's script asks for B's announcement by id: it does not exist for A.
    const std::string ofB = s.as(b.admin, "ecole-b", "POST", kBase, {{"title", "Secret B"}, {"body", "b"}}).json()["id"];
    const std::string script = rule.json()["id"];
    REQUIRE(s.as(a.admin, "ecole-a", "PUT", "/api/v1/scripts/" + script, {{"settings", {{"foreign", ofB}}}}).status == 200);
    auto dry = s.as(a.admin, "ecole-a", "POST", "/api/v1/scripts/" + script + "/dry-run",
                    {{"event", {{"name", "user.created"}, {"payload", json::object()}}}}).json();
    REQUIRE(dry["status"] == "ok");
    CHECK(dry["effects"][0]["log"] == "nil");
}
