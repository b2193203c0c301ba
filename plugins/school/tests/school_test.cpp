// The school core plugin against the real kernel, on SQLite and PostgreSQL.

#include <catch2/catch.hpp>

#include "support/test_env.hpp"

using ardoise::test::HttpResult;
using ardoise::test::TestServer;
using nlohmann::json;

namespace {

const std::string kBase = "/api/v1/school";

struct School {
    std::string slug, admin, teacher, parent, otherParent, student;
    std::string teacherUser, parentUser, otherParentUser, studentUser;
};

School school(TestServer& s, const std::string& slug) {
    s.createTenant(slug);
    School out{slug, "", "", "", "", "", "", "", "", ""};
    out.teacherUser = s.createUser(slug, "prof@" + slug + ".test", "teacher");
    out.parentUser = s.createUser(slug, "parent@" + slug + ".test", "parent");
    out.otherParentUser = s.createUser(slug, "parent2@" + slug + ".test", "parent");
    out.studentUser = s.createUser(slug, "eleve@" + slug + ".test", "student");
    s.enablePlugin(slug, "school");
    out.admin = s.login(slug, "admin@" + slug + ".test");
    out.teacher = s.login(slug, "prof@" + slug + ".test");
    out.parent = s.login(slug, "parent@" + slug + ".test");
    out.otherParent = s.login(slug, "parent2@" + slug + ".test");
    out.student = s.login(slug, "eleve@" + slug + ".test");
    return out;
}

/// POSTs and returns the created object, failing the test on another status.
json make(TestServer& s, const School& a, const std::string& path, const json& body) {
    auto r = s.as(a.admin, a.slug, "POST", kBase + path, body);
    INFO(path << " " << r.body);
    REQUIRE(r.status == 201);
    return r.json();
}

std::vector<std::string> names(const json& list, const std::string& field = "family_name") {
    std::vector<std::string> out;
    for (const auto& item : list["items"]) {
        out.push_back(item[field]);
    }
    return out;
}

/// A small school: a year with two terms, a teacher, a class of two students
/// (Kouamé and Traoré) with guardians, and a second class with Diallo.
struct Fixture {
    json year, term1, term2, teacher, classA, classB, kouame, traore, diallo, mother, father, otherParent;
};

Fixture populate(TestServer& s, const School& a) {
    Fixture f;
    f.year = make(s, a, "/years", {{"name", "2025-2026"}, {"starts_on", "2025-09-01"}, {"ends_on", "2026-07-15"}});
    f.term1 = make(s, a, "/terms", {{"year_id", f.year["id"]}, {"name", "Trimestre 1"}, {"starts_on", "2025-09-01"}, {"ends_on", "2025-12-20"}});
    f.term2 = make(s, a, "/terms", {{"year_id", f.year["id"]}, {"name", "Trimestre 2"}, {"starts_on", "2026-01-05"}, {"ends_on", "2026-03-31"}});
    f.teacher = make(s, a, "/staff", {{"given_name", "Awa"}, {"family_name", "Koné"}, {"user_id", a.teacherUser}});
    f.classA = make(s, a, "/classes", {{"year_id", f.year["id"]}, {"name", "6e A"}, {"level", "6e"}, {"section", "A"},
                                       {"homeroom_staff_id", f.teacher["id"]}, {"capacity", 40}});
    f.classB = make(s, a, "/classes", {{"year_id", f.year["id"]}, {"name", "6e B"}, {"level", "6e"}});
    f.kouame = make(s, a, "/students", {{"number", "E001"}, {"given_name", "Aya"}, {"family_name", "Kouamé"},
                                        {"birth_date", "2013-04-02"}, {"sex", "female"}, {"user_id", a.studentUser}});
    f.traore = make(s, a, "/students", {{"number", "E002"}, {"given_name", "Moussa"}, {"family_name", "Traoré"}});
    f.diallo = make(s, a, "/students", {{"number", "E003"}, {"given_name", "Fatou"}, {"family_name", "Diallo"}});
    f.mother = make(s, a, "/guardians", {{"given_name", "Adjoa"}, {"family_name", "Kouamé"}, {"user_id", a.parentUser}});
    f.father = make(s, a, "/guardians", {{"given_name", "Yao"}, {"family_name", "Kouamé"}, {"phone", "+225 07 00 00 00"}});
    f.otherParent = make(s, a, "/guardians", {{"given_name", "Mariam"}, {"family_name", "Diallo"}, {"user_id", a.otherParentUser}});
    const std::string k = f.kouame["id"];
    REQUIRE(s.as(a.admin, a.slug, "PUT", kBase + "/students/" + k + "/guardians/" + f.mother["id"].get<std::string>(),
                 {{"relationship", "mother"}}).status == 200);
    REQUIRE(s.as(a.admin, a.slug, "PUT", kBase + "/students/" + k + "/guardians/" + f.father["id"].get<std::string>(),
                 {{"relationship", "father"}}).status == 200);
    REQUIRE(s.as(a.admin, a.slug, "PUT", kBase + "/students/" + f.diallo["id"].get<std::string>() + "/guardians/" +
                     f.otherParent["id"].get<std::string>(), json::object()).status == 200);
    make(s, a, "/enrollments", {{"student_id", f.kouame["id"]}, {"class_id", f.classA["id"]}});
    make(s, a, "/enrollments", {{"student_id", f.traore["id"]}, {"class_id", f.classA["id"]}});
    make(s, a, "/enrollments", {{"student_id", f.diallo["id"]}, {"class_id", f.classB["id"]}});
    return f;
}

std::vector<std::string> eventNames(TestServer& s) {
    std::vector<std::string> out;
    for (const auto& row : s.app().database().acquire()->query(
             "SELECT name FROM platform_events WHERE name LIKE 'school.%' ORDER BY seq")) {
        out.push_back(row.text("name"));
    }
    return out;
}

std::map<std::string, long long> schoolCounts(TestServer& s) {
    std::map<std::string, long long> out;
    for (const auto& [table, n] : s.rowCounts()) {
        if (table.rfind("school_", 0) == 0 && table != "school_uploads") {
            out[table] = n;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("Years, terms, subjects, rooms, staff and classes are created, read, changed and deleted",
          "[school][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);

    CHECK(f.year["status"] == "open");
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/terms?year_id=" + f.year["id"].get<std::string>()).json(), "name") ==
          std::vector<std::string>{"Trimestre 1", "Trimestre 2"});
    auto current = s.as(a.teacher, "ecole-a", "GET", kBase + "/current-term?date=2026-02-10");
    REQUIRE(current.status == 200);
    CHECK(current.json()["name"] == "Trimestre 2");
    CHECK(current.json()["year"]["name"] == "2025-2026");
    CHECK(s.as(a.teacher, "ecole-a", "GET", kBase + "/current-term?date=2026-01-01").status == 404);  // holidays
    CHECK(s.as(a.teacher, "ecole-a", "GET", kBase + "/current-term?date=2026-02-30").status == 422);
    // A term must lie within its year, and end after it starts.
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/terms",
               {{"year_id", f.year["id"]}, {"name", "T"}, {"starts_on", "2026-06-01"}, {"ends_on", "2026-08-01"}}).status == 422);
    auto reversed = s.as(a.admin, "ecole-a", "POST", kBase + "/years", {{"name", "x"}, {"starts_on", "2026-09-01"}, {"ends_on", "2026-01-01"}});
    CHECK(reversed.status == 422);
    CHECK(reversed.json()["errors"][0]["pointer"] == "/ends_on");

    auto maths = make(s, a, "/subjects", {{"code", "MATH"}, {"name", "Mathématiques"}, {"colour", "#3366ff"}});
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/subjects", {{"code", "MATH"}, {"name", "Maths bis"}}).status == 409);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/subjects", {{"code", "PC"}, {"name", "x"}, {"colour", "blue"}}).status == 422);
    auto lab = make(s, a, "/rooms", {{"name", "Labo 1"}, {"type", "lab"}, {"capacity", 24}});
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/rooms", {{"name", "Piscine"}, {"type", "pool"}}).status == 422);
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/rooms?type=lab").json(), "name") == std::vector<std::string>{"Labo 1"});

    // Staff teach subjects that exist.
    const std::string teacherId = f.teacher["id"];
    auto changed = s.as(a.admin, "ecole-a", "PATCH", kBase + "/staff/" + teacherId, {{"subject_ids", {maths["id"]}}});
    REQUIRE(changed.status == 200);
    CHECK(changed.json()["subject_ids"] == json::array({maths["id"]}));
    CHECK(changed.json()["family_name"] == "Koné");  // untouched fields stay
    auto unknown = s.as(a.admin, "ecole-a", "PATCH", kBase + "/staff/" + teacherId, {{"subject_ids", {maths["id"], "nosuchsubject"}}});
    CHECK(unknown.status == 422);
    CHECK(unknown.json()["errors"][0]["pointer"] == "/subject_ids/1");

    // Classes: room reference, capacity, change, filters.
    const std::string classA = f.classA["id"];
    auto moved = s.as(a.admin, "ecole-a", "PATCH", kBase + "/classes/" + classA, {{"room_id", lab["id"]}, {"capacity", 35}});
    REQUIRE(moved.status == 200);
    CHECK(moved.json()["room_id"] == lab["id"]);
    CHECK(moved.json()["section"] == "A");
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/classes?homeroom_staff_id=" + teacherId).json(), "name") ==
          std::vector<std::string>{"6e A"});
    CHECK(s.as(a.admin, "ecole-a", "PATCH", kBase + "/classes/" + classA, {{"name", nullptr}}).status == 422);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/classes", {{"year_id", "nosuchyear"}, {"name", "x"}, {"level", "6e"}}).status ==
          422);

    // Deleting what others refer to is refused; deleting the rest works.
    CHECK(s.as(a.admin, "ecole-a", "DELETE", kBase + "/years/" + f.year["id"].get<std::string>()).status == 409);
    CHECK(s.as(a.admin, "ecole-a", "DELETE", kBase + "/rooms/" + lab["id"].get<std::string>()).status == 409);
    CHECK(s.as(a.admin, "ecole-a", "DELETE", kBase + "/subjects/" + maths["id"].get<std::string>()).status == 204);
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/subjects/" + maths["id"].get<std::string>()).status == 404);
    // Only admins write.
    CHECK(s.as(a.teacher, "ecole-a", "POST", kBase + "/rooms", {{"name", "x"}}).status == 403);
    CHECK(s.as(a.parent, "ecole-a", "DELETE", kBase + "/classes/" + classA).status == 403);
}

TEST_CASE("Students are found by name without accents, in stable keyset pages, with filters", "[school][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    make(s, a, "/students", {{"given_name", "Éloïse"}, {"family_name", "N'Guessan"}, {"status", "suspended"}});

    for (const std::string q : {"Kouame", "KOUAMÉ", "kouame%20aya", "aya"}) {
        INFO(q);
        CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students?q=" + q).json()) == std::vector<std::string>{"Kouamé"});
    }
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students?q=eloise").json()) == std::vector<std::string>{"N'Guessan"});
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students?q=E002").json()) == std::vector<std::string>{"Traoré"});
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/students?q=%25").json()["items"].empty());  // % is not a wildcard
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/guardians?q=kouame").json(), "given_name") ==
          std::vector<std::string>{"Adjoa", "Yao"});
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students?status=suspended").json()) ==
          std::vector<std::string>{"N'Guessan"});
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students?class_id=" + f.classA["id"].get<std::string>()).json()) ==
          std::vector<std::string>{"Kouamé", "Traoré"});

    // Pages of one, in name order, each student once.
    std::vector<std::string> seen;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        auto r = s.as(a.admin, "ecole-a", "GET", kBase + "/students?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor)).json();
        for (const auto& n : names(r)) {
            seen.push_back(n);
        }
        if (r["next_cursor"].is_null()) {
            break;
        }
        cursor = r["next_cursor"];
    }
    CHECK(seen == std::vector<std::string>{"Diallo", "Kouamé", "N'Guessan", "Traoré"});
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/students?cursor=zz.abc").status == 422);
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/students?limit=500").status == 422);
    // Unique student numbers.
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/students", {{"number", "E001"}, {"given_name", "x"}, {"family_name", "y"}})
              .status == 409);
}

TEST_CASE("A parent sees only their own children, on every endpoint and through school.may_see_student",
          "[school][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    const std::string kouame = f.kouame["id"], traore = f.traore["id"], diallo = f.diallo["id"];
    const std::string classA = f.classA["id"], classB = f.classB["id"];

    // The mother of Kouamé: her child, her child's class (with only her child), her child's guardians.
    CHECK(names(s.as(a.parent, "ecole-a", "GET", kBase + "/students").json()) == std::vector<std::string>{"Kouamé"});
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/students/" + kouame).status == 200);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/students/" + traore).status == 404);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/students/" + diallo).status == 404);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/students?q=traore").json()["items"].empty());
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/students?class_id=" + classA).json()["items"].size() == 1);
    CHECK(names(s.as(a.parent, "ecole-a", "GET", kBase + "/classes").json(), "name") == std::vector<std::string>{"6e A"});
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/classes/" + classB).status == 404);
    auto roster = s.as(a.parent, "ecole-a", "GET", kBase + "/classes/" + classA + "/students").json();
    CHECK(names(roster) == std::vector<std::string>{"Kouamé"});
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/classes/" + classB + "/students").status == 404);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/students/" + kouame + "/guardians").json()["items"].size() == 2);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/students/" + diallo + "/guardians").status == 404);
    CHECK(names(s.as(a.parent, "ecole-a", "GET", kBase + "/guardians").json(), "given_name") ==
          std::vector<std::string>{"Adjoa", "Yao"});
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/guardians/" + f.otherParent["id"].get<std::string>()).status == 404);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/enrollments").json()["items"].size() == 1);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/enrollments?student_id=" + diallo).json()["items"].empty());

    // The other parent sees Diallo only; the student sees themself; the teacher sees their class.
    CHECK(names(s.as(a.otherParent, "ecole-a", "GET", kBase + "/students").json()) == std::vector<std::string>{"Diallo"});
    CHECK(names(s.as(a.student, "ecole-a", "GET", kBase + "/students").json()) == std::vector<std::string>{"Kouamé"});
    CHECK(names(s.as(a.teacher, "ecole-a", "GET", kBase + "/students").json()) == std::vector<std::string>{"Kouamé", "Traoré"});
    CHECK(s.as(a.teacher, "ecole-a", "GET", kBase + "/students/" + diallo).status == 404);
    CHECK(names(s.as(a.teacher, "ecole-a", "GET", kBase + "/classes").json(), "name") == std::vector<std::string>{"6e A"});
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students").json()).size() == 3);

    // Other plugins and scripts ask the same question.
    const std::string tenant = s.app().tenants().resolve("ecole-a")->id;
    auto& host = s.app().plugins();
    auto ask = [&](const std::string& user, const std::string& student) {
        auto r = host.callLuaFunction("school.may_see_student", tenant, {{"user_id", user}, {"student_id", student}});
        REQUIRE(r);
        return (*r)["allowed"].get<bool>();
    };
    CHECK(ask(a.parentUser, kouame));
    CHECK_FALSE(ask(a.parentUser, traore));
    CHECK_FALSE(ask(a.parentUser, diallo));
    CHECK(ask(a.otherParentUser, diallo));
    CHECK(ask(a.teacherUser, traore));
    CHECK_FALSE(ask(a.teacherUser, diallo));
    CHECK(ask(a.studentUser, kouame));
    CHECK_FALSE(ask("nosuchuser", kouame));
    auto visible = host.callLuaFunction("school.students_of_class", tenant, {{"class_id", classA}, {"user_id", a.parentUser}});
    REQUIRE(visible);
    CHECK((*visible)["items"].size() == 1);
    auto guardians = host.callLuaFunction("school.guardians_of_student", tenant, {{"student_id", diallo}, {"user_id", a.parentUser}});
    CHECK(guardians.status().code() == ardoise::Code::kNotFound);
    auto mine = host.callLuaFunction("school.students_of_user", tenant, {{"user_id", a.parentUser}});
    REQUIRE(mine);
    CHECK((*mine)["student_ids"] == json::array({kouame}));
    CHECK(host.callLuaFunction("school.may_see_student", tenant, {{"user_id", a.parentUser}}).status().code() ==
          ardoise::Code::kInvalidArgument);
}

TEST_CASE("A class roster lists each student once with all their guardians", "[school][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    auto roster = s.as(a.teacher, "ecole-a", "GET", kBase + "/classes/" + f.classA["id"].get<std::string>() + "/students");
    REQUIRE(roster.status == 200);
    const auto items = roster.json()["items"];
    REQUIRE(items.size() == 2);
    CHECK(items[0]["family_name"] == "Kouamé");
    REQUIRE(items[0]["guardians"].size() == 2);
    CHECK(items[0]["guardians"][0]["given_name"] == "Adjoa");
    CHECK(items[0]["guardians"][0]["relationship"] == "mother");
    CHECK(items[0]["guardians"][1]["relationship"] == "father");
    CHECK(items[1]["family_name"] == "Traoré");
    CHECK(items[1]["guardians"].empty());
    auto bare = s.as(a.teacher, "ecole-a", "GET", kBase + "/classes/" + f.classA["id"].get<std::string>() + "/students?guardians=false");
    CHECK_FALSE(bare.json()["items"][0].contains("guardians"));
    auto empty = make(s, a, "/classes", {{"year_id", f.year["id"]}, {"name", "5e A"}, {"level", "5e"}});
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/classes/" + empty["id"].get<std::string>() + "/students").json()["items"].empty());
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/classes/nosuchclass/students").status == 404);
}

TEST_CASE("Enrolling, leaving and changing a class publish their events with the write", "[school][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    auto events = eventNames(s);
    CHECK(std::count(events.begin(), events.end(), "school.student.enrolled") == 3);
    CHECK(std::count(events.begin(), events.end(), "school.student.created") == 3);
    CHECK(std::count(events.begin(), events.end(), "school.guardian.linked") == 3);

    // A full class refuses a student, and nothing is published.
    auto tiny = make(s, a, "/classes", {{"year_id", f.year["id"]}, {"name", "Atelier"}, {"level", "6e"}, {"capacity", 1}});
    make(s, a, "/enrollments", {{"student_id", f.kouame["id"]}, {"class_id", tiny["id"]}});
    const auto before = eventNames(s).size();
    auto full = s.as(a.admin, "ecole-a", "POST", kBase + "/enrollments", {{"student_id", f.traore["id"]}, {"class_id", tiny["id"]}});
    CHECK(full.status == 409);
    CHECK(full.json()["type"] == "/problems/class-full");
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/enrollments", {{"student_id", f.kouame["id"]}, {"class_id", tiny["id"]}}).status ==
          409);  // already enrolled
    CHECK(eventNames(s).size() == before);

    // Leaving ends the open enrollments and says so.
    auto left = s.as(a.admin, "ecole-a", "PATCH", kBase + "/students/" + f.traore["id"].get<std::string>(), {{"status", "left"}});
    REQUIRE(left.status == 200);
    events = eventNames(s);
    CHECK(events.back() == "school.student.left");
    auto enrollment = s.as(a.admin, "ecole-a", "GET", kBase + "/enrollments?student_id=" + f.traore["id"].get<std::string>()).json();
    CHECK(enrollment["items"][0]["ends_on"].is_string());

    auto renamed = s.as(a.admin, "ecole-a", "PATCH", kBase + "/classes/" + f.classA["id"].get<std::string>(), {{"name", "6e A1"}});
    REQUIRE(renamed.status == 200);
    auto last = s.app().database().acquire()->queryOne(
        "SELECT name, payload FROM platform_events WHERE name LIKE 'school.%' ORDER BY seq DESC LIMIT 1");
    REQUIRE(last);
    CHECK(last->text("name") == "school.class.changed");
    CHECK(json::parse(last->text("payload"))["changed"] == json::array({"name"}));

    const std::string enrollmentId = enrollment["items"][0]["id"];
    CHECK(s.as(a.admin, "ecole-a", "DELETE", kBase + "/enrollments/" + enrollmentId).status == 204);
    CHECK(eventNames(s).back() == "school.student.unenrolled");
}

TEST_CASE("Custom fields are typed and validated, and bad input writes nothing", "[school][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    make(s, a, "/fields", {{"entity", "student"}, {"field_key", "blood_group"}, {"label", "Groupe sanguin"}, {"type", "enum"},
                           {"options", {"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"}}});
    make(s, a, "/fields", {{"entity", "student"}, {"field_key", "bus_line"}, {"label", "Ligne de car"}, {"type", "integer"}});
    make(s, a, "/fields", {{"entity", "student"}, {"field_key", "scholarship"}, {"label", "Boursier"}, {"type", "boolean"},
                           {"required", true}});
    make(s, a, "/fields", {{"entity", "class"}, {"field_key", "opened_on"}, {"label", "Ouverture"}, {"type", "date"}});
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/fields", {{"entity", "student"}, {"field_key", "x"}, {"label", "x"}, {"type", "enum"}})
              .status == 422);  // an enum needs options

    auto ok = s.as(a.admin, "ecole-a", "PATCH", kBase + "/students/" + f.kouame["id"].get<std::string>(),
                   {{"custom", {{"blood_group", "O+"}, {"bus_line", 3}, {"scholarship", true}}}});
    REQUIRE(ok.status == 200);
    CHECK(ok.json()["custom"]["blood_group"] == "O+");
    CHECK(s.as(a.admin, "ecole-a", "PATCH", kBase + "/classes/" + f.classA["id"].get<std::string>(),
               {{"custom", {{"opened_on", "2025-09-01"}}}}).status == 200);

    const auto before = s.rowCounts();
    const auto eventsBefore = eventNames(s).size();
    const std::string kouame = kBase + "/students/" + f.kouame["id"].get<std::string>();
    auto bad = s.as(a.admin, "ecole-a", "PATCH", kouame,
                    {{"custom", {{"blood_group", "Z"}, {"bus_line", "trois"}, {"colour", "red"}}}}).json();
    REQUIRE(bad["errors"].size() == 4);  // bad enum, bad integer, unknown field, missing required
    std::set<std::string> pointers;
    for (const auto& e : bad["errors"]) {
        pointers.insert(e["pointer"]);
    }
    CHECK(pointers == std::set<std::string>{"/custom/blood_group", "/custom/bus_line", "/custom/colour", "/custom/scholarship"});
    CHECK(s.as(a.admin, "ecole-a", "PATCH", kBase + "/classes/" + f.classA["id"].get<std::string>(),
               {{"custom", {{"opened_on", "2025-02-30"}}}}).status == 422);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/students", {{"given_name", "x"}}).status == 422);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/students",
               {{"given_name", "x"}, {"family_name", "y"}, {"birth_date", "2013-13-01"}, {"custom", {{"scholarship", false}}}})
              .status == 422);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/students", {{"given_name", "x"}, {"family_name", "y"}, {"admin", true}}).status ==
          422);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/enrollments", {{"student_id", "nosuchstudent"}, {"class_id", f.classA["id"]}})
              .status == 422);
    CHECK(s.as(a.admin, "ecole-a", "PUT", kBase + "/students/" + f.kouame["id"].get<std::string>() + "/guardians/nosuchguardian",
               json::object()).status == 404);
    CHECK(s.as(a.admin, "ecole-a", "PUT", kBase + "/students/" + f.kouame["id"].get<std::string>() + "/guardians/" +
                   f.mother["id"].get<std::string>(), {{"relationship", "uncle-ish"}}).status == 422);
    auto english = s.request("POST", kBase + "/years", {{"name", "x"}, {"starts_on", "2026-09-01"}, {"ends_on", "2026-01-01"}},
                             {{"X-Tenant", "ecole-a"}, {"Authorization", "Bearer " + a.admin}, {"Accept-Language", "en"}});
    CHECK(english.json()["errors"][0]["detail"] == "must not be before starts_on");
    CHECK(s.rowCounts() == before);
    CHECK(eventNames(s).size() == eventsBefore);
}

TEST_CASE("A school's data is invisible to another school", "[school][isolation][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    auto f = populate(s, a);
    for (const std::string path : {"/students", "/guardians", "/classes", "/years", "/terms", "/staff", "/enrollments"}) {
        INFO(path);
        CHECK(s.as(b.admin, "ecole-b", "GET", kBase + path).json()["items"].empty());
    }
    CHECK(s.as(b.admin, "ecole-b", "GET", kBase + "/students/" + f.kouame["id"].get<std::string>()).status == 404);
    // B cannot attach its rows to A's: references are per school.
    CHECK(s.as(b.admin, "ecole-b", "POST", kBase + "/classes", {{"year_id", f.year["id"]}, {"name", "x"}, {"level", "6e"}}).status ==
          422);
    const std::string tenantB = s.app().tenants().resolve("ecole-b")->id;
    auto asked = s.app().plugins().callLuaFunction("school.may_see_student", tenantB,
                                                   {{"user_id", b.parentUser}, {"student_id", f.kouame["id"]}});
    REQUIRE(asked);
    CHECK((*asked)["allowed"] == false);
}

namespace {

json exportFiles(TestServer& s, const School& a) {
    auto r = s.as(a.admin, a.slug, "GET", kBase + "/oneroster/export");
    REQUIRE(r.status == 200);
    return r.json()["files"];
}

/// Each file's lines, sorted: equal files modulo ordering.
std::map<std::string, std::vector<std::string>> sortedLines(const json& files) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& [name, text] : files.items()) {
        std::vector<std::string> lines;
        std::string t = text;
        std::size_t start = 0;
        for (auto end = t.find("\r\n"); end != std::string::npos; end = t.find("\r\n", start)) {
            lines.push_back(t.substr(start, end - start));
            start = end + 2;
        }
        std::sort(lines.begin() + 1, lines.end());
        out[name] = lines;
    }
    return out;
}

HttpResult importFiles(TestServer& s, const School& a, const json& files, bool dryRun) {
    return s.as(a.admin, a.slug, "POST", kBase + "/oneroster/import", {{"files", files}, {"dry_run", dryRun}});
}

}  // namespace

TEST_CASE("OneRoster: export, import into a fresh school, export again gives the same files; re-import changes nothing",
          "[school][oneroster][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    auto f = populate(s, a);
    for (const auto* one : {&a, &b}) {
        make(s, *one, "/fields", {{"entity", "student"}, {"field_key", "bus_line"}, {"label", "Car"}, {"type", "integer"}});
    }
    REQUIRE(s.as(a.admin, "ecole-a", "PATCH", kBase + "/students/" + f.kouame["id"].get<std::string>(),
                 {{"custom", {{"bus_line", 7}}}}).status == 200);
    const auto second = make(s, a, "/staff", {{"given_name", "Jean"}, {"family_name", "Bamba"}, {"role", "teacher"}});
    const auto exported = exportFiles(s, a);
    CHECK(exported["manifest.csv"].get<std::string>().find("oneroster.version,1.2") != std::string::npos);
    CHECK(exported["users.csv"].get<std::string>().find("metadata.ardoise.bus_line") != std::string::npos);
    CHECK(exported["demographics.csv"].get<std::string>().find("2013-04-02,female") != std::string::npos);

    auto dry = importFiles(s, b, exported, true);
    REQUIRE(dry.status == 200);
    CHECK(dry.json()["valid"] == true);
    CHECK(dry.json()["counts"]["users.csv"] == 8);  // 3 students, 2 staff, 3 guardians
    CHECK(s.as(b.admin, "ecole-b", "GET", kBase + "/students").json()["items"].empty());  // a dry run writes nothing

    auto queued = importFiles(s, b, exported, false);
    REQUIRE(queued.status == 202);
    const std::string job = queued.json()["job_id"];
    CHECK(s.app().jobs().drain() >= 1);
    auto done = s.as(b.admin, "ecole-b", "GET", "/api/v1/jobs/" + job).json();
    CHECK(done["status"] == "succeeded");
    CHECK(done["result"]["imported"] == true);
    CHECK(done["progress"]["done"] == done["progress"]["total"]);
    CHECK(sortedLines(exportFiles(s, b)) == sortedLines(exported));

    // The fresh school works with the imported data.
    auto roster = s.as(b.admin, "ecole-b", "GET", kBase + "/students?q=kouame").json();
    REQUIRE(roster["items"].size() == 1);
    CHECK(roster["items"][0]["custom"]["bus_line"] == 7);
    CHECK(s.as(b.admin, "ecole-b", "GET", kBase + "/students/" + roster["items"][0]["id"].get<std::string>() + "/guardians")
              .json()["items"].size() == 2);

    // Importing the same files again changes nothing.
    const auto counts = schoolCounts(s);
    REQUIRE(importFiles(s, b, exported, false).status == 202);
    s.app().jobs().drain();
    CHECK(schoolCounts(s) == counts);
    CHECK(sortedLines(exportFiles(s, b)) == sortedLines(exported));
    // And into the school it came from, too: its own ids are its sourcedIds.
    REQUIRE(importFiles(s, a, exported, false).status == 202);
    s.app().jobs().drain();
    auto expected = counts;
    expected["school_orgs"] += 1;  // A now records the org it was exported as
    CHECK(schoolCounts(s) == expected);
    auto mother = s.as(a.admin, "ecole-a", "GET", kBase + "/students/" + f.kouame["id"].get<std::string>() + "/guardians").json();
    CHECK(mother["items"][0]["relationship"] == "mother");  // not flattened to OneRoster's "parent"
    (void)second;

    // A changed file changes what it says, and only that.
    json changed = exported;
    std::string users = changed["users.csv"];
    users.replace(users.find("Traoré"), std::string("Traoré").size(), "Traoré-Sy");
    const auto traoreLine = users.rfind("\r\n", users.find("Traoré-Sy")) + 2;
    users.replace(users.find(",true,", traoreLine), 6, ",false,");  // enabledUser: the student left
    changed["users.csv"] = users;
    REQUIRE(importFiles(s, b, changed, false).status == 202);
    s.app().jobs().drain();
    auto moved = s.as(b.admin, "ecole-b", "GET", kBase + "/students?q=traore").json();
    REQUIRE(moved["items"].size() == 1);
    CHECK(moved["items"][0]["family_name"] == "Traoré-Sy");
    CHECK(moved["items"][0]["status"] == "left");
    auto kept = s.as(b.admin, "ecole-b", "GET", kBase + "/students?q=kouame").json()["items"][0];
    CHECK(kept["birth_date"] == "2013-04-02");
    CHECK(kept["status"] == "active");
    CHECK(schoolCounts(s) == expected);
}

TEST_CASE("OneRoster: malformed files give a precise report and write nothing", "[school][oneroster][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    populate(s, a);
    const auto good = exportFiles(s, a);
    const auto before = schoolCounts(s);

    auto reportOf = [&](const json& files) {
        auto r = importFiles(s, b, files, true);
        REQUIRE(r.status == 200);
        CHECK(r.json()["valid"] == false);
        return r.json()["errors"];
    };
    auto has = [](const json& errors, const std::string& file, int line, const std::string& field, const std::string& reason) {
        for (const auto& e : errors) {
            if (e["file"] == file && e["line"] == line && e["field"] == field && e["reason"] == reason) {
                return true;
            }
        }
        return false;
    };
    auto replaced = [](json files, const std::string& file, const std::string& from, const std::string& to) {
        std::string t = files[file];
        auto at = t.find(from);
        REQUIRE(at != std::string::npos);
        files[file] = t.replace(at, from.size(), to);
        return files;
    };

    SECTION("wrong header") {
        auto errors = reportOf(replaced(good, "users.csv", "givenName", "firstName"));
        CHECK(has(errors, "users.csv", 1, "firstName", "header"));
        CHECK(has(errors, "users.csv", 1, "givenName", "header"));
    }
    SECTION("bad dates") {
        auto errors = reportOf(replaced(good, "academicSessions.csv", "2025-12-20", "2025-12-32"));
        CHECK(has(errors, "academicSessions.csv", 3, "endDate", "date"));
        errors = reportOf(replaced(good, "demographics.csv", "2013-04-02", "02/04/2013"));
        CHECK(has(errors, "demographics.csv", 2, "birthDate", "date"));
    }
    SECTION("unknown references and duplicate sourcedIds, all reported at once") {
        json files = good;
        files["enrollments.csv"] = files["enrollments.csv"].get<std::string>() + ",,,nosuchclass,x,nosuchuser,student,false,,\r\n";
        std::string users = files["users.csv"];
        const auto firstRow = users.find("\r\n") + 2;
        const auto end = users.find("\r\n", firstRow) + 2;
        files["users.csv"] = users + users.substr(firstRow, end - firstRow);  // the first user again, on a new last line
        const int userLine = static_cast<int>(std::count(users.begin(), users.end(), '\n')) + 1;
        auto errors = reportOf(files);
        const std::string enrollmentsCsv = good["enrollments.csv"];
        const int enrollmentLine = static_cast<int>(std::count(enrollmentsCsv.begin(), enrollmentsCsv.end(), '\n')) + 1;
        INFO(errors.dump());
        CHECK(has(errors, "enrollments.csv", enrollmentLine, "classSourcedId", "unknown-reference"));
        CHECK(has(errors, "enrollments.csv", enrollmentLine, "userSourcedId", "unknown-reference"));
        CHECK(has(errors, "users.csv", userLine, "sourcedId", "duplicate"));
        CHECK(has(errors, "users.csv", userLine, "identifier", "duplicate"));  // the same student number
    }
    SECTION("wrong encoding") {
        json files = good;
        // "École" in Latin-1, sent as base64 since JSON text cannot carry it.
        files["orgs.csv"] = {{"base64", "c291cmNlZElkLHN0YXR1cyxkYXRlTGFzdE1vZGlmaWVkLG5hbWUsdHlwZSxpZGVudGlmaWVyLHBhcmVudFNvdXJjZWRJZA0KbzEsLCzJY29sZSxzY2hvb2wsLA0K"}};
        auto errors = reportOf(files);
        CHECK(has(errors, "orgs.csv", 2, "", "encoding"));
        files["orgs.csv"] = {{"base64", "not base64!"}};
        CHECK(has(reportOf(files), "orgs.csv", 0, "", "unknown-file"));
    }
    SECTION("a 50 MB file") {
        json files = good;
        files["users.csv"] = std::string(50 * 1024 * 1024, 'x');
        auto r = importFiles(s, b, files, true);
        CHECK(r.status == 413);
        CHECK(r.json()["type"] == "/problems/payload-too-large");
    }
    SECTION("a real import of bad files writes no school data") {
        auto queued = importFiles(s, b, replaced(good, "users.csv", "givenName", "firstName"), false);
        REQUIRE(queued.status == 202);
        s.app().jobs().drain();
        auto job = s.as(b.admin, "ecole-b", "GET", "/api/v1/jobs/" + queued.json()["job_id"].get<std::string>()).json();
        CHECK(job["result"]["valid"] == false);
        CHECK_FALSE(job["result"]["errors"].empty());
    }
    CHECK(schoolCounts(s) == before);
    CHECK(s.as(a.teacher, "ecole-a", "GET", kBase + "/oneroster/export").status == 403);
}

TEST_CASE("A school year rolls over: promotions, repeaters, graduates and leavers, with a dry run; the old year closes",
          "[school][rollover][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    const std::string kouame = f.kouame["id"], traore = f.traore["id"], diallo = f.diallo["id"];
    const json request = {{"from_year_id", f.year["id"]},
                          {"to_year", {{"name", "2026-2027"}, {"starts_on", "2026-09-01"}, {"ends_on", "2027-07-15"}}},
                          {"levels", {"6e", "5e"}},
                          {"repeaters", {traore}},
                          {"leavers", {diallo}}};
    const auto before = s.rowCounts();
    json dry = request;
    dry["dry_run"] = true;
    auto plan = s.as(a.admin, "ecole-a", "POST", kBase + "/rollover", dry);
    REQUIRE(plan.status == 200);
    CHECK(plan.json()["promoted"] == json::array({{{"student_id", kouame}, {"class", "5e A"}}}));
    CHECK(plan.json()["repeated"] == json::array({{{"student_id", traore}, {"class", "6e A"}}}));
    CHECK(plan.json()["left"] == json::array({diallo}));
    CHECK(plan.json()["classes"].size() == 3);  // 5e A, 6e A (repeaters), 5e B
    CHECK(s.rowCounts() == before);

    json wrong = request;
    wrong["levels"] = {"5e"};
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/rollover", wrong).json()["errors"][0]["reason"] == "missing-level");
    wrong = request;
    wrong["repeaters"] = {"nosuchstudent"};
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/rollover", wrong).status == 422);
    CHECK(s.as(a.teacher, "ecole-a", "POST", kBase + "/rollover", request).status == 403);
    CHECK(s.rowCounts() == before);

    auto done = s.as(a.admin, "ecole-a", "POST", kBase + "/rollover", request);
    REQUIRE(done.status == 200);
    const std::string next = done.json()["to_year_id"];
    auto classes = s.as(a.admin, "ecole-a", "GET", kBase + "/classes?year_id=" + next).json();
    CHECK(names(classes, "name") == std::vector<std::string>{"5e A", "5e B", "6e A"});
    CHECK(classes["items"][0]["homeroom_staff_id"] == f.teacher["id"]);  // carried over
    CHECK(classes["items"][0]["capacity"] == 40);
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students?class_id=" + classes["items"][0]["id"].get<std::string>()).json()) ==
          std::vector<std::string>{"Kouamé"});
    CHECK(names(s.as(a.admin, "ecole-a", "GET", kBase + "/students?class_id=" + classes["items"][2]["id"].get<std::string>()).json()) ==
          std::vector<std::string>{"Traoré"});
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/students/" + diallo).json()["status"] == "left");
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/years/" + f.year["id"].get<std::string>()).json()["status"] == "closed");
    // The teacher follows their class into the new year.
    CHECK(names(s.as(a.teacher, "ecole-a", "GET", kBase + "/classes?year_id=" + next).json(), "name") ==
          std::vector<std::string>{"5e A", "6e A"});

    // The closed year no longer changes.
    CHECK(s.as(a.admin, "ecole-a", "PATCH", kBase + "/classes/" + f.classA["id"].get<std::string>(), {{"name", "x"}}).json()["type"] ==
          "/problems/year-closed");
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/enrollments", {{"student_id", kouame}, {"class_id", f.classB["id"]}}).status == 409);
    CHECK(s.as(a.admin, "ecole-a", "POST", kBase + "/rollover", request).status == 409);
    CHECK(eventNames(s).back() == "school.year.rolled_over");
}

TEST_CASE("The last level graduates", "[school][rollover]") {
    TestServer s("sqlite");
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    auto done = s.as(a.admin, "ecole-a", "POST", kBase + "/rollover",
                     {{"from_year_id", f.year["id"]},
                      {"to_year", {{"name", "2026-2027"}, {"starts_on", "2026-09-01"}, {"ends_on", "2027-07-15"}}},
                      {"levels", {"6e"}}});
    REQUIRE(done.status == 200);
    CHECK(done.json()["graduated"].size() == 3);
    CHECK(done.json()["classes"].empty());
    CHECK(s.as(a.admin, "ecole-a", "GET", kBase + "/students?status=graduated").json()["items"].size() == 3);
}

TEST_CASE("A class teacher other than the homeroom teacher reads that class and its students", "[school][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto f = populate(s, a);
    const std::string classB = f.classB["id"];
    const std::string teachers = kBase + "/classes/" + classB + "/teachers/" + f.teacher["id"].get<std::string>();
    CHECK(s.as(a.teacher, "ecole-a", "GET", kBase + "/classes/" + classB).status == 404);
    CHECK(s.as(a.teacher, "ecole-a", "PUT", teachers).status == 403);
    REQUIRE(s.as(a.admin, "ecole-a", "PUT", teachers).status == 204);
    CHECK(s.as(a.admin, "ecole-a", "PUT", teachers).status == 204);  // harmless again
    CHECK(eventNames(s).back() == "school.class.changed");
    CHECK(s.as(a.teacher, "ecole-a", "GET", kBase + "/classes/" + classB).status == 200);
    CHECK(names(s.as(a.teacher, "ecole-a", "GET", kBase + "/students").json()) ==
          std::vector<std::string>{"Diallo", "Kouamé", "Traoré"});
    auto list = s.as(a.teacher, "ecole-a", "GET", kBase + "/classes/" + classB + "/teachers").json();
    REQUIRE(list["items"].size() == 1);
    CHECK(list["items"][0]["homeroom"] == false);
    CHECK(s.as(a.parent, "ecole-a", "GET", kBase + "/classes/" + classB + "/teachers").status == 404);  // not their child's class
    CHECK(s.as(a.admin, "ecole-a", "PUT", kBase + "/classes/" + classB + "/teachers/nosuchstaff").status == 404);
    CHECK(s.as(a.admin, "ecole-a", "DELETE", teachers).status == 204);
    CHECK(s.as(a.admin, "ecole-a", "DELETE", teachers).status == 404);
    CHECK(s.as(a.teacher, "ecole-a", "GET", kBase + "/students/" + f.diallo["id"].get<std::string>()).status == 404);
}
