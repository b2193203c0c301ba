// The timetable plugin against the real kernel, on SQLite and PostgreSQL.
//
// Engine assumptions (the engine's header, nothing more): a solvable small
// instance is `solved` with a timetable evaluate() finds no hard violation
// in; a teacher without any available period makes the instance not solvable
// and is named by the prechecks, the impossibilities or the blockers; an
// incremental solve moves few placements; evaluate() reports double-booking.
#include <catch2/catch.hpp>

#include "../src/conflicts.hpp"
#include "support/node.hpp"
#include "support/test_env.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

using ardoise::test::HttpResult;
using ardoise::test::TestServer;
using nlohmann::json;

namespace {

const std::string kTt = "/api/v1/timetable";
const std::string kSchool = "/api/v1/school";

struct School {
    std::string slug, admin, teacher, student, parent, teacherUser, studentUser, parentUser;
};

School school(TestServer& s, const std::string& slug) {
    s.createTenant(slug);
    School out;
    out.slug = slug;
    out.teacherUser = s.createUser(slug, "prof@" + slug + ".test", "teacher");
    out.studentUser = s.createUser(slug, "eleve@" + slug + ".test", "student");
    out.parentUser = s.createUser(slug, "parent@" + slug + ".test", "parent");
    s.enablePlugin(slug, "school");
    s.enablePlugin(slug, "timetable");
    out.admin = s.login(slug, "admin@" + slug + ".test");
    out.teacher = s.login(slug, "prof@" + slug + ".test");
    out.student = s.login(slug, "eleve@" + slug + ".test");
    out.parent = s.login(slug, "parent@" + slug + ".test");
    return out;
}

json make(TestServer& s, const School& a, const std::string& path, const json& body) {
    auto r = s.as(a.admin, a.slug, "POST", path, body);
    INFO(path << " " << r.body);
    REQUIRE(r.status == 201);
    return r.json();
}

std::string id(const json& j) { return j["id"].get<std::string>(); }

/// A small school: Koné (the teacher user, qualified in maths by the school),
/// Traoré (a staff member qualified in maths by the school), Bamba, Diop, Sow,
/// Ndiaye; two groups 6eA (class 6e A, with the student) and 6eB; 19 lessons a
/// week on a 5 × 4 grid.
struct Model {
    std::string term, maths, french, science, kone, bamba, diop, sow, ndiaye, traore, year, g6a, g6b, r1, lab;
    std::string mathsA, frenchA, mathsB;
};

Model populate(TestServer& s, const School& a) {
    Model m;
    auto schoolMaths = make(s, a, kSchool + "/subjects", {{"code", "MATH"}, {"name", "Mathématiques"}});
    auto year = make(s, a, kSchool + "/years", {{"name", "2026-2027"}, {"starts_on", "2026-09-01"}, {"ends_on", "2027-07-10"}});
    auto awa = make(s, a, kSchool + "/staff", {{"given_name", "Awa"}, {"family_name", "Koné"}, {"user_id", a.teacherUser},
                                               {"subject_ids", {id(schoolMaths)}}});
    auto ben = make(s, a, kSchool + "/staff", {{"given_name", "Ben"}, {"family_name", "Traoré"}, {"subject_ids", {id(schoolMaths)}}});
    auto classA = make(s, a, kSchool + "/classes", {{"year_id", id(year)}, {"name", "6e A"}, {"level", "6e"}, {"homeroom_staff_id", id(awa)}});
    auto classB = make(s, a, kSchool + "/classes", {{"year_id", id(year)}, {"name", "6e B"}, {"level", "6e"}});
    auto kid = make(s, a, kSchool + "/students", {{"given_name", "Aya"}, {"family_name", "Kouamé"}, {"user_id", a.studentUser}});
    auto mother = make(s, a, kSchool + "/guardians", {{"given_name", "Adjoa"}, {"family_name", "Kouamé"}, {"user_id", a.parentUser}});
    REQUIRE(s.as(a.admin, a.slug, "PUT", kSchool + "/students/" + id(kid) + "/guardians/" + id(mother), {{"relationship", "mother"}}).status == 200);
    make(s, a, kSchool + "/enrollments", {{"student_id", id(kid)}, {"class_id", id(classA)}});

    m.term = id(make(s, a, kTt + "/terms",
                     {{"name", "Trimestre 1"}, {"starts_on", "2026-09-07"}, {"ends_on", "2026-10-30"},
                      {"days", {{{"name", "Lundi"}, {"weekday", 1}}, {{"name", "Mardi"}, {"weekday", 2}}, {{"name", "Mercredi"}, {"weekday", 3}},
                                {{"name", "Jeudi"}, {"weekday", 4}}, {{"name", "Vendredi"}, {"weekday", 5}}}},
                      {"periods", {{{"name", "M1"}, {"start", "08:00"}, {"end", "09:00"}}, {{"name", "M2"}, {"start", "09:00"}, {"end", "10:00"}},
                                   {{"name", "M3"}, {"start", "10:15"}, {"end", "11:15"}}, {{"name", "M4"}, {"start", "11:15"}, {"end", "12:15"}}}},
                      {"breaks", {{{"name", "Récréation"}, {"start", "10:00"}, {"end", "10:15"}}}}}));
    const std::string base = kTt + "/terms/" + m.term;
    m.maths = id(make(s, a, base + "/subjects", {{"name", "Maths"}, {"subject_id", id(schoolMaths)}}));
    m.french = id(make(s, a, base + "/subjects", {{"name", "Français"}}));
    m.science = id(make(s, a, base + "/subjects", {{"name", "Sciences"}}));
    m.kone = id(make(s, a, base + "/teachers", {{"name", "Koné"}, {"staff_id", id(awa)}, {"subject_ids", {m.maths}}, {"max_hours_day", 4}}));
    m.bamba = id(make(s, a, base + "/teachers", {{"name", "Bamba"}, {"subject_ids", {m.french}}}));
    m.diop = id(make(s, a, base + "/teachers", {{"name", "Diop"}, {"subject_ids", {m.maths, m.science}}}));
    m.sow = id(make(s, a, base + "/teachers", {{"name", "Sow"}, {"subject_ids", {m.french}}}));
    m.ndiaye = id(make(s, a, base + "/teachers", {{"name", "Ndiaye"}}));
    m.traore = id(make(s, a, base + "/teachers", {{"name", "Traoré"}, {"staff_id", id(ben)}}));
    m.year = id(make(s, a, base + "/student_sets", {{"name", "6e"}, {"kind", "year"}, {"students", 60}}));
    m.g6a = id(make(s, a, base + "/student_sets", {{"name", "6eA"}, {"kind", "group"}, {"parent_id", m.year}, {"class_id", id(classA)}, {"students", 30}}));
    m.g6b = id(make(s, a, base + "/student_sets", {{"name", "6eB"}, {"kind", "group"}, {"parent_id", m.year}, {"class_id", id(classB)}, {"students", 30}}));
    m.r1 = id(make(s, a, base + "/rooms", {{"name", "R1"}, {"capacity", 40}, {"building", "A"}}));
    m.lab = id(make(s, a, base + "/rooms", {{"name", "Labo"}, {"capacity", 32}, {"type", "lab"}}));
    auto activity = [&](const std::string& subject, const std::string& teacher, const std::string& set, int n, json extra = json::object()) {
        json body = {{"subject_id", subject}, {"teacher_ids", {teacher}}, {"student_set_ids", {set}}, {"lessons_per_week", n}};
        body.update(extra);
        return id(make(s, a, base + "/activities", body));
    };
    m.mathsA = activity(m.maths, m.kone, m.g6a, 4, {{"min_days_between", 1}});
    m.frenchA = activity(m.french, m.bamba, m.g6a, 4);
    m.mathsB = activity(m.maths, m.diop, m.g6b, 4);
    activity(m.french, m.sow, m.g6b, 3);
    activity(m.science, m.diop, m.g6a, 2, {{"room_type", "lab"}});
    activity(m.science, m.diop, m.g6b, 2, {{"preferred_room_ids", {m.lab}}});
    return m;
}

/// Starts a run, runs the queued job, returns the finished run.
json generate(TestServer& s, const School& a, const std::string& term, const json& options = json::object()) {
    auto started = s.as(a.admin, a.slug, "POST", kTt + "/terms/" + term + "/runs", options);
    INFO(started.body);
    REQUIRE(started.status == 202);
    CHECK(started.json()["status"] == "queued");
    CHECK(started.json()["prechecks"].is_array());
    s.app().jobs().drain();
    auto run = s.as(a.admin, a.slug, "GET", kTt + "/runs/" + started.json()["id"].get<std::string>());
    REQUIRE(run.status == 200);
    json out = run.json();
    out["prechecks"] = started.json()["prechecks"];
    return out;
}

std::string publishNew(TestServer& s, const School& a, const Model& m) {
    auto run = generate(s, a, m.term);
    REQUIRE(run["status"] == "solved");
    const std::string t = run["timetable_id"];
    REQUIRE(s.as(a.admin, a.slug, "POST", kTt + "/timetables/" + t + "/publish").status == 200);
    return t;
}

json lessonOf(const json& timetable, const std::string& activity, int lesson) {
    for (const auto& l : timetable["lessons"]) {
        if (l["activity_id"] == activity && l["lesson"] == lesson) {
            return l;
        }
    }
    FAIL("no lesson " << activity << "/" << lesson);
    return nullptr;
}

std::string dateOfDay(int day, int week = 0) {
    // 2026-09-07 is a Monday; days 0..4 are Monday..Friday.
    const int d = 7 + day + 7 * week;
    const int month = d > 30 ? 10 : 9;
    const int dayOfMonth = d > 30 ? d - 30 : d;
    return "2026-" + std::string(month < 10 ? "0" : "") + std::to_string(month) + "-" +
           (dayOfMonth < 10 ? "0" : "") + std::to_string(dayOfMonth);
}

long long events(TestServer& s, const std::string& name) {
    return s.app().database().acquire()->query("SELECT payload FROM platform_events WHERE name = '" + name + "'").size();
}

std::string writeTemp(const TestServer& s, const std::string& name, const std::string& body) {
    const std::string path = const_cast<TestServer&>(s).db().dir + "/" + name;
    std::ofstream(path, std::ios::binary) << body;
    return path;
}

std::string shell(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        out.append(buffer, n);
    }
    pclose(pipe);
    return out;
}

}  // namespace

TEST_CASE("Timetable model: every invalid write is refused with its field, and writes nothing", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto m = populate(s, a);
    const std::string base = kTt + "/terms/" + m.term;
    const auto before = s.rowCounts();

    auto reversed = s.as(a.admin, a.slug, "POST", kTt + "/terms",
                         {{"name", "x"}, {"starts_on", "2026-10-01"}, {"ends_on", "2026-09-01"}, {"days", {{{"name", "L"}, {"weekday", 1}}}},
                          {"periods", {{{"name", "1"}, {"start", "08:00"}, {"end", "09:00"}}}}});
    CHECK(reversed.status == 422);
    CHECK(reversed.json()["errors"][0]["pointer"] == "/ends_on");
    CHECK(s.as(a.admin, a.slug, "POST", kTt + "/terms", {{"name", "x"}}).status == 422);
    auto badSubject = s.as(a.admin, a.slug, "POST", base + "/teachers", {{"name", "X"}, {"subject_ids", {"nosuchsubject"}}});
    CHECK(badSubject.status == 422);
    CHECK(badSubject.json()["errors"][0]["pointer"] == "/subject_ids/0");
    CHECK(s.as(a.admin, a.slug, "POST", base + "/teachers", {{"name", "X"}, {"staff_id", "nosuchstaff"}}).json()["errors"][0]["pointer"] == "/staff_id");
    auto duplicate = s.as(a.admin, a.slug, "POST", base + "/teachers", {{"name", "Koné"}});
    CHECK(duplicate.status == 422);
    CHECK(duplicate.json()["errors"][0]["reason"] == "unique");
    auto offGrid = s.as(a.admin, a.slug, "POST", base + "/teachers", {{"name", "Y"}, {"unavailable", {{{"day", 5}, {"period", 0}}}}});
    CHECK(offGrid.status == 422);
    CHECK(offGrid.json()["errors"][0]["pointer"] == "/unavailable/0");
    CHECK(s.as(a.admin, a.slug, "POST", base + "/teachers", {{"name", "Z"}, {"max_days_week", 9}}).status == 422);
    CHECK(s.as(a.admin, a.slug, "POST", base + "/student_sets", {{"name", "G"}, {"kind", "group"}}).json()["errors"][0]["pointer"] == "/parent_id");
    CHECK(s.as(a.admin, a.slug, "POST", base + "/student_sets", {{"name", "S"}, {"kind", "subgroup"}, {"parent_id", m.year}}).status == 422);
    CHECK(s.as(a.admin, a.slug, "POST", base + "/activities", {{"subject_id", m.maths}, {"teacher_ids", {m.g6a}}}).json()["errors"][0]["pointer"] ==
          "/teacher_ids/0");
    CHECK(s.as(a.admin, a.slug, "POST", base + "/activities", {{"subject_id", m.maths}, {"duration", 5}}).status == 422);
    CHECK(s.as(a.admin, a.slug, "POST", base + "/constraints", {{"type", "TeacherMaxGapsPerDay"}, {"params", {{"Activity_Id", {"nope"}}}}}).status == 422);
    CHECK(s.as(a.admin, a.slug, "POST", base + "/constraints", {{"type", "bad type"}}).status == 422);
    auto inUse = s.as(a.admin, a.slug, "DELETE", base + "/subjects/" + m.french);
    CHECK(inUse.status == 409);
    CHECK(inUse.json()["type"].get<std::string>().find("in-use") != std::string::npos);
    CHECK(s.as(a.teacher, a.slug, "POST", base + "/subjects", {{"name", "Musique"}}).status == 403);
    CHECK(s.as(a.student, a.slug, "GET", base + "/teachers").status == 403);
    auto english = s.as(a.admin, a.slug, "GET", base + "/teachers/nosuchid");
    CHECK(english.status == 404);
    CHECK(english.header("content-type").find("problem+json") != std::string::npos);
    CHECK(s.rowCounts() == before);

    // What succeeds.
    auto constraint = s.as(a.admin, a.slug, "POST", base + "/constraints",
                           {{"type", "MinDaysBetweenActivities"}, {"weight", 80}, {"params", {{"Activity_Id", {m.frenchA}}, {"MinDays", 1}}}});
    CHECK(constraint.status == 201);
    auto renamed = s.as(a.admin, a.slug, "PUT", base + "/teachers/" + m.ndiaye, {{"name", "Ndiaye N."}, {"max_hours_week", 20}});
    CHECK(renamed.status == 200);
    CHECK(s.as(a.admin, a.slug, "GET", base + "/teachers/" + m.ndiaye).json()["name"] == "Ndiaye N.");
    CHECK(s.as(a.admin, a.slug, "GET", base + "/teachers").json()["items"].size() == 6);
    CHECK(s.as(a.admin, a.slug, "DELETE", base + "/teachers/" + m.ndiaye).status == 204);
    CHECK(s.as(a.admin, a.slug, "GET", base + "/teachers").json()["items"].size() == 5);
}

TEST_CASE("Generation runs as a background job with readable progress, and its timetable is valid", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto m = populate(s, a);
    CHECK(s.as(a.admin, a.slug, "POST", kTt + "/terms/" + m.term + "/runs", {{"threads", 99}}).status == 422);
    auto badPolish = s.as(a.admin, a.slug, "POST", kTt + "/terms/" + m.term + "/runs", {{"polish_seconds", -1}});
    CHECK(badPolish.status == 422);
    CHECK(badPolish.body.find("/polish_seconds") != std::string::npos);

    auto run = generate(s, a, m.term, {{"seed", 7}, {"time_limit_seconds", 20}, {"polish_seconds", 0.5}});
    INFO(run.dump());
    CHECK(run["prechecks"].empty());
    REQUIRE(run["status"] == "solved");
    CHECK(run["progress"]["placed"] == 19);
    CHECK(run["progress"]["total"] == 19);
    CHECK(run["result"]["hard_violations"] == 0);
    CHECK(run["result"]["unplaced"].empty());
    CHECK(s.as(a.admin, a.slug, "GET", "/api/v1/jobs/" + run["job_id"].get<std::string>()).json()["status"] == "succeeded");
    auto timetable = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + run["timetable_id"].get<std::string>());
    REQUIRE(timetable.status == 200);
    CHECK(timetable.json()["lessons"].size() == 19);
    CHECK(timetable.json()["hard_conflicts"].empty());
    const json lessons = timetable.json()["lessons"];
    for (const auto& l : lessons) {
        if (l["subject"] == "Sciences") {
            REQUIRE(l["room"].is_object());
            CHECK(l["room"]["name"] == "Labo");
        }
    }
    CHECK(s.as(a.admin, a.slug, "GET", kTt + "/terms/" + m.term + "/runs").json()["items"].size() == 1);

    // Progress streamed: the run's job as server-sent events, from queued to the end.
    {
        auto streamed = s.as(a.admin, a.slug, "POST", kTt + "/terms/" + m.term + "/runs", {{"seed", 3}});
        REQUIRE(streamed.status == 202);
        const std::string jobId = streamed.json()["job_id"];
        Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(s.port()));
        session.setTimeout(Poco::Timespan(30, 0));
        Poco::Net::HTTPRequest req("GET", "/api/v1/jobs/" + jobId + "/events", Poco::Net::HTTPMessage::HTTP_1_1);
        req.set("Authorization", "Bearer " + a.admin);
        req.set("X-Tenant", a.slug);
        session.sendRequest(req);
        Poco::Net::HTTPResponse resp;
        std::istream& in = session.receiveResponse(resp);
        REQUIRE(resp.getStatus() == 200);
        CHECK(resp.getContentType() == "text/event-stream");
        // Events are "event: NAME" then "data: JSON" then a blank line.
        auto next = [&in](std::string& name) {
            std::string line;
            json data;
            name.clear();
            while (std::getline(in, line)) {
                if (line.rfind("event: ", 0) == 0) name = line.substr(7);
                if (line.rfind("data: ", 0) == 0) data = json::parse(line.substr(6));
                if (line.empty() && !name.empty()) break;
            }
            return data;
        };
        std::string name;
        const json queued = next(name);
        CHECK(name == "job");
        CHECK(queued["status"] == "pending");
        s.app().jobs().drain();
        std::vector<std::string> names;
        json last;
        for (json d = next(name); !name.empty(); d = next(name)) {
            names.push_back(name);
            last = d;
        }
        REQUIRE(!names.empty());
        CHECK(names.back() == "end");
        CHECK(last["status"] == "succeeded");
        CHECK(last["progress"]["placed"] == last["progress"]["total"]);
        CHECK(s.as(a.admin, a.slug, "GET", "/api/v1/jobs/no-such-job/events").status == 404);
    }

    // A cancelled run stops before solving.
    auto second = s.as(a.admin, a.slug, "POST", kTt + "/terms/" + m.term + "/runs", json::object());
    REQUIRE(second.status == 202);
    const std::string runId = second.json()["id"];
    CHECK(s.as(a.admin, a.slug, "POST", kTt + "/runs/" + runId + "/cancel").status == 202);
    s.app().jobs().drain();
    CHECK(s.as(a.admin, a.slug, "GET", kTt + "/runs/" + runId).json()["status"] == "cancelled");
    CHECK(s.as(a.teacher, a.slug, "GET", kTt + "/runs/" + runId).status == 403);
}

TEST_CASE("A teacher with no available period makes generation fail with an explanation naming the teacher", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto m = populate(s, a);
    json never = json::array();
    for (int d = 0; d < 5; ++d) {
        for (int p = 0; p < 4; ++p) {
            never.push_back({{"day", d}, {"period", p}});
        }
    }
    REQUIRE(s.as(a.admin, a.slug, "PUT", kTt + "/terms/" + m.term + "/teachers/" + m.bamba,
                 {{"name", "Bamba"}, {"subject_ids", {m.french}}, {"unavailable", never}}).status == 200);
    auto run = generate(s, a, m.term);
    INFO(run.dump());
    CHECK(run["status"] != "solved");
    const json& result = run["result"];
    REQUIRE(!result["unplaced"].empty());
    std::set<std::string> unplaced;
    for (const auto& u : result["unplaced"]) {
        unplaced.insert(u["activity_id"]);
    }
    CHECK(unplaced.count(m.frenchA) == 1);
    // Named in the prechecks, the impossibilities or the blockers, in both languages.
    bool named = false;
    for (const json& list : {run["prechecks"], result["impossibilities"]}) {
        for (const auto& i : list) {
            named = named || (i["name"] == "Bamba" && i["fr"].get<std::string>().find("Bamba") != std::string::npos);
        }
    }
    for (const auto& u : result["unplaced"]) {
        for (const auto& b : u["blockers"]) {
            named = named || (b["name"] == "Bamba" && b["en"].get<std::string>().find("Bamba") != std::string::npos);
        }
    }
    CHECK(named);
    // The best partial timetable is stored.
    auto partial = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + run["timetable_id"].get<std::string>()).json();
    CHECK(partial["lessons"].size() == 19 - result["unplaced"].size());
}

TEST_CASE("An incremental re-solve after adding an activity keeps most lessons where they were", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto m = populate(s, a);
    auto first = generate(s, a, m.term);
    REQUIRE(first["status"] == "solved");
    const std::string t1 = first["timetable_id"];
    make(s, a, kTt + "/terms/" + m.term + "/activities", {{"subject_id", m.french}, {"teacher_ids", {m.sow}}, {"student_set_ids", {m.g6a}}});
    auto second = generate(s, a, m.term, {{"incremental_from", t1}});
    INFO(second.dump());
    REQUIRE(second["status"] == "solved");
    CHECK(second["result"]["total"] == 20);
    CHECK(second["result"]["moved"].get<int>() <= 3);
    auto before = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t1).json();
    auto after = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + second["timetable_id"].get<std::string>()).json();
    int same = 0;
    for (const auto& l : before["lessons"]) {
        auto n = lessonOf(after, l["activity_id"], l["lesson"]);
        same += (n["day"] == l["day"] && n["period"] == l["period"]) ? 1 : 0;
    }
    CHECK(same >= 16);
    CHECK(19 - same <= second["result"]["moved"].get<int>());
    CHECK(s.as(a.admin, a.slug, "POST", kTt + "/terms/" + m.term + "/runs", {{"incremental_from", "nosuch"}}).status == 422);
}

TEST_CASE("A manual move answers its exact conflicts at once and applies only without them", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto m = populate(s, a);
    auto run = generate(s, a, m.term);
    REQUIRE(run["status"] == "solved");
    const std::string t = run["timetable_id"];
    const std::string moves = kTt + "/timetables/" + t + "/moves";
    auto timetable = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t).json();
    const json maths0 = lessonOf(timetable, m.mathsA, 0);
    const json french0 = lessonOf(timetable, m.frenchA, 0);

    // Onto 6eA's French lesson: the class is double-booked.
    json onto = {{"moves", {{{"activity_id", m.mathsA}, {"lesson", 0}, {"day", french0["day"]}, {"period", french0["period"]}}}}};
    json dry = onto;
    dry["dry_run"] = true;
    auto checked = s.as(a.admin, a.slug, "POST", moves, dry);
    REQUIRE(checked.status == 200);
    INFO(checked.body);
    bool studentsClash = false;
    const json found = checked.json()["conflicts"];
    for (const auto& c : found) {
        if (c["type"] == "StudentsClash" && c["resource"] == "6eA") {
            studentsClash = true;
            CHECK(c["lessons"].size() == 2);
            CHECK(c["message"].get<std::string>().find("6eA") != std::string::npos);
        }
    }
    CHECK(studentsClash);
    auto refused = s.as(a.admin, a.slug, "POST", moves, onto);
    CHECK(refused.status == 409);
    CHECK(refused.header("content-type").find("problem+json") != std::string::npos);
    CHECK(!refused.json()["conflicts"].empty());
    CHECK(lessonOf(s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t).json(), m.mathsA, 0)["day"] == maths0["day"]);
    CHECK(events(s, "timetable.changed") == 0);

    // A free slot for 6eA and Koné, then Koné unavailable there.
    std::set<std::pair<int, int>> busy;
    for (const auto& l : timetable["lessons"]) {
        for (const auto& set : l["student_sets"]) {
            if (set["name"] == "6eA") {
                busy.insert(std::make_pair(l["day"].get<int>(), l["period"].get<int>()));
            }
        }
    }
    std::pair<int, int> free{-1, -1};
    for (int d = 0; d < 5 && free.first < 0; ++d) {
        for (int p = 0; p < 4 && free.first < 0; ++p) {
            if (!busy.count({d, p})) {
                free = {d, p};
            }
        }
    }
    REQUIRE(free.first >= 0);
    REQUIRE(s.as(a.admin, a.slug, "PUT", kTt + "/terms/" + m.term + "/teachers/" + m.kone,
                 {{"name", "Koné"}, {"subject_ids", {m.maths}}, {"unavailable", {{{"day", free.first}, {"period", free.second}}}}}).status == 200);
    json there = {{"moves", {{{"activity_id", m.mathsA}, {"lesson", 0}, {"day", free.first}, {"period", free.second}}}}, {"dry_run", true}};
    auto unavailable = s.as(a.admin, a.slug, "POST", moves, there).json();
    REQUIRE(unavailable["conflicts"].size() >= 1);
    CHECK(unavailable["conflicts"][0]["type"] == "TeacherNotAvailable");
    CHECK(unavailable["conflicts"][0]["resource"] == "Koné");
    REQUIRE(s.as(a.admin, a.slug, "PUT", kTt + "/terms/" + m.term + "/teachers/" + m.kone, {{"name", "Koné"}, {"subject_ids", {m.maths}}}).status == 200);
    there.erase("dry_run");
    auto applied = s.as(a.admin, a.slug, "POST", moves, there);
    INFO(applied.body);
    REQUIRE(applied.status == 200);
    CHECK(applied.json()["applied"] == true);
    CHECK(applied.json()["conflicts"].empty());
    CHECK(lessonOf(s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t).json(), m.mathsA, 0)["day"] == free.first);
    CHECK(events(s, "timetable.changed") == 1);

    // A swap of a Maths and a French lesson of 6eA on one day exchanges their
    // slots (a day with one lesson of each: two Maths lessons on one day must
    // follow each other).
    const auto moved = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t).json();
    std::map<std::pair<std::string, int>, int> perDay;
    for (const auto& l : moved["lessons"]) perDay[{l["activity_id"].get<std::string>(), l["day"].get<int>()}]++;
    json maths, french;
    for (const auto& l : moved["lessons"]) {
        if (l["activity_id"] != m.mathsA || perDay[{m.mathsA, l["day"].get<int>()}] != 1) continue;
        for (const auto& f : moved["lessons"]) {
            if (f["activity_id"] == m.frenchA && f["day"] == l["day"] && perDay[{m.frenchA, f["day"].get<int>()}] == 1) {
                maths = l;
                french = f;
            }
        }
    }
    REQUIRE(french.is_object());
    auto now = s.as(a.admin, a.slug, "POST", moves,
                    {{"swap", {{{"activity_id", m.mathsA}, {"lesson", maths["lesson"]}}, {{"activity_id", m.frenchA}, {"lesson", french["lesson"]}}}}});
    INFO(now.body);
    REQUIRE(now.status == 200);
    auto swapped = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t).json();
    CHECK(lessonOf(swapped, m.mathsA, maths["lesson"].get<int>())["period"] == french["period"]);
    CHECK(lessonOf(swapped, m.frenchA, french["lesson"].get<int>())["period"] == maths["period"]);
    CHECK(s.as(a.admin, a.slug, "POST", moves, {{"moves", {{{"activity_id", m.mathsA}, {"lesson", 9}, {"day", 0}, {"period", 0}}}}}).status == 422);
    CHECK(s.as(a.admin, a.slug, "POST", moves, json::object()).status == 422);
}

TEST_CASE("Checking one move on a 1,000-lesson timetable names each double booking (and prints how long it took)", "[timetable]") {
    namespace tt = ardoise::timetable;
    tt::Instance in;
    in.days = {"Mo", "Tu", "We", "Th", "Fr"};
    in.hours = {"1", "2", "3", "4", "5", "6", "7", "8"};
    const int classes = 40, teachers = 40, perClass = 25;
    for (int t = 0; t < teachers; ++t) {
        in.teachers.push_back("T" + std::to_string(t));
    }
    for (int c = 0; c < classes; ++c) {
        in.years.push_back({"C" + std::to_string(c), 30, {}});
        in.rooms.push_back({"R" + std::to_string(c), "", 40, false, {}});
    }
    tt::Timetable timetable;
    for (int c = 0; c < classes; ++c) {
        for (int k = 0; k < perClass; ++k) {
            tt::Activity act;
            act.id = c * perClass + k + 1;
            act.teachers = {"T" + std::to_string((c + k) % teachers)};
            act.students = {"C" + std::to_string(c)};
            act.subject = "S";
            in.activities.push_back(act);
            timetable.push_back({act.id, k / 8, k % 8, "R" + std::to_string(c), {}, false});
        }
    }
    REQUIRE(timetable.size() == 1000);
    const auto started = std::chrono::steady_clock::now();
    ardoise::plugins::timetable::ConflictIndex index(in, timetable);
    const auto built = std::chrono::steady_clock::now();
    // Lesson 1 of class 0 onto its own lesson 0's slot: class 0 and room R0 double-booked.
    tt::Placement moved = timetable[1];
    moved.day = timetable[0].day;
    moved.hour = timetable[0].hour;
    auto before = index.check(moved);
    const auto checked = std::chrono::steady_clock::now();
    timetable[1] = moved;
    ardoise::plugins::timetable::ConflictIndex after(in, timetable);
    auto conflicts = after.check(moved);
    std::set<std::string> types;
    for (const auto& c : conflicts) {
        types.insert(c.type + ":" + c.resource);
    }
    // Class 1's first lesson, at that slot, has T1 too.
    CHECK(types == std::set<std::string>{"StudentsClash:C0", "RoomClash:R0", "TeacherClash:T1"});
    CHECK(before.size() == conflicts.size());
    const auto us = [](auto a, auto b) { return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count(); };
    std::printf("timetable move check on 1000 lessons: index %lld us, one check %lld us (baseline: none; the budget is 10 ms)\n",
                static_cast<long long>(us(started, built)), static_cast<long long>(us(built, checked)));
}

TEST_CASE("Substitutes are ranked by qualification, freedom and extra hours, and an assignment changes that day only", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto m = populate(s, a);
    const std::string t = publishNew(s, a, m);
    auto week = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t + "/view?teacher_id=" + m.kone).json();
    REQUIRE(week["lessons"].size() == 4);
    const json target = week["lessons"][0];
    const std::string date = dateOfDay(target["day"]);
    const std::string subs = kTt + "/timetables/" + t + "/substitutions";
    auto proposed = s.as(a.admin, a.slug, "GET", subs + "?teacher_id=" + m.kone + "&date=" + date);
    INFO(proposed.body);
    REQUIRE(proposed.status == 200);
    json first;
    const json proposedLessons = proposed.json()["lessons"];
    for (const auto& l : proposedLessons) {
        if (l["activity_id"] == target["activity_id"] && l["lesson"] == target["lesson"]) {
            first = l;
        }
    }
    REQUIRE(first.is_object());
    std::vector<std::string> names;
    for (const auto& c : first["candidates"]) {
        names.push_back(c["name"]);
    }
    // Qualified in maths: Diop (by the timetable), Traoré (by the school's staff subjects); never Bamba, Sow, Ndiaye, Koné.
    CHECK(std::find(names.begin(), names.end(), "Traoré") != names.end());
    for (const char* no : {"Bamba", "Sow", "Ndiaye", "Koné"}) {
        CHECK(std::find(names.begin(), names.end(), no) == names.end());
    }
    REQUIRE(!names.empty());
    CHECK(names[0] == "Traoré");  // no extra hours, no weekly lessons
    auto notCandidate = s.as(a.admin, a.slug, "POST", subs, {{"date", date}, {"activity_id", target["activity_id"]}, {"lesson", target["lesson"]},
                                                              {"absent_teacher_id", m.kone}, {"substitute_id", m.bamba}});
    CHECK(notCandidate.status == 409);
    json assign = {{"date", date}, {"activity_id", target["activity_id"]}, {"lesson", target["lesson"]}, {"absent_teacher_id", m.kone},
                   {"substitute_id", m.traore}};
    auto assigned = s.as(a.admin, a.slug, "POST", subs, assign);
    INFO(assigned.body);
    REQUIRE(assigned.status == 201);
    CHECK(s.as(a.admin, a.slug, "POST", subs, assign).status == 409);
    CHECK(events(s, "timetable.substitution") == 1);

    // That day: Traoré teaches it, Koné does not; the next week is unchanged.
    auto traoreDay = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t + "/view?teacher_id=" + m.traore + "&date=" + date).json();
    REQUIRE(traoreDay["lessons"].size() == 1);
    CHECK(traoreDay["lessons"][0]["substitution"]["absent_id"] == m.kone);
    auto koneDay = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t + "/view?teacher_id=" + m.kone + "&date=" + date).json();
    for (const auto& l : koneDay["lessons"]) {
        CHECK(!(l["activity_id"] == target["activity_id"] && l["lesson"] == target["lesson"]));
    }
    // Scripts see the same day through the Lua functions.
    const std::string tenant = s.app().tenants().resolve(a.slug)->id;
    auto lua = s.app().plugins().callLuaFunction("timetable.lessons_of_teacher", tenant, {{"teacher_id", m.traore}, {"date", date}});
    REQUIRE(lua);
    REQUIRE((*lua)["lessons"].size() == 1);
    CHECK((*lua)["lessons"][0]["activity_id"] == target["activity_id"]);
    auto classLua = s.app().plugins().callLuaFunction("timetable.lessons_of_class", tenant, {{"student_set_id", m.g6a}, {"date", date}});
    REQUIRE(classLua);
    CHECK(!(*classLua)["lessons"].empty());
    CHECK(s.app().plugins().callLuaFunction("timetable.lessons_of_class", tenant, {{"student_set_id", "nosuch"}, {"date", date}}).status().code() ==
          ardoise::Code::kNotFound);
    auto nextWeek = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t + "/view?teacher_id=" + m.traore + "&date=" + dateOfDay(target["day"], 1)).json();
    CHECK(nextWeek["lessons"].empty());
    auto traoreWeek = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t + "/view?teacher_id=" + m.traore + "&week=" + date).json();
    CHECK(traoreWeek["week_dates"].size() == 5);
    CHECK(traoreWeek["lessons"].size() == 1);
    // Absent for two weeks: the lessons of both, dated; the one substituted is no longer missed.
    auto twoWeeks = s.as(a.admin, a.slug, "GET", subs + "?teacher_id=" + m.kone + "&from=" + dateOfDay(0) + "&to=" + dateOfDay(4, 1)).json();
    CHECK(twoWeeks["lessons"].size() == 4 * 2 - 1);
    CHECK(s.as(a.admin, a.slug, "GET", subs + "?teacher_id=" + m.kone + "&from=2026-09-07&to=2026-12-31").status == 422);
    // Traoré now has an extra hour: the ranking counts it.
    auto later = s.as(a.admin, a.slug, "GET", subs + "?teacher_id=" + m.kone + "&date=" + dateOfDay(target["day"], 1)).json();
    for (const auto& l : later["lessons"]) {
        int previous = -1;
        for (const auto& c : l["candidates"]) {
            CHECK(c["extra_hours"].get<int>() >= previous);
            previous = c["extra_hours"];
            if (c["name"] == "Traoré") {
                CHECK(c["extra_hours"] == 1);
            }
        }
    }
}

TEST_CASE("Published views follow the school's visibility; CSV, PDF and iCalendar exports are readable", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto m = populate(s, a);
    auto run = generate(s, a, m.term);
    REQUIRE(run["status"] == "solved");
    const std::string t = run["timetable_id"];
    const std::string view = kTt + "/timetables/" + t + "/view";
    // A draft is for managers only.
    CHECK(s.as(a.teacher, a.slug, "GET", view + "?teacher_id=" + m.kone).status == 404);
    CHECK(s.as(a.teacher, a.slug, "GET", kTt + "/terms/" + m.term + "/timetables").json()["items"].empty());
    REQUIRE(s.as(a.admin, a.slug, "POST", kTt + "/timetables/" + t + "/publish").status == 200);
    CHECK(events(s, "timetable.published") == 1);
    CHECK(s.as(a.teacher, a.slug, "GET", kTt + "/terms/" + m.term + "/timetables").json()["items"].size() == 1);

    auto mine = s.as(a.teacher, a.slug, "GET", view + "?teacher_id=" + m.kone);
    REQUIRE(mine.status == 200);
    CHECK(mine.json()["lessons"].size() == 4);
    CHECK(s.as(a.teacher, a.slug, "GET", view + "?teacher_id=" + m.bamba).status == 404);
    CHECK(s.as(a.teacher, a.slug, "GET", view).status == 422);
    auto classView = s.as(a.student, a.slug, "GET", view + "?student_set_id=" + m.g6a);
    REQUIRE(classView.status == 200);
    CHECK(classView.json()["lessons"].size() == 10);
    CHECK(s.as(a.student, a.slug, "GET", view + "?student_set_id=" + m.g6b).status == 404);
    CHECK(s.as(a.parent, a.slug, "GET", view + "?student_set_id=" + m.g6a).status == 200);
    CHECK(s.as(a.student, a.slug, "GET", view + "?room_id=" + m.lab).status == 404);
    CHECK(s.as(a.teacher, a.slug, "GET", view + "?room_id=" + m.lab).json()["lessons"].size() == 4);
    // The year's view shows its groups' lessons; a day view only that day.
    CHECK(s.as(a.admin, a.slug, "GET", view + "?student_set_id=" + m.year).json()["lessons"].size() == 19);
    auto monday = s.as(a.admin, a.slug, "GET", view + "?student_set_id=" + m.g6a + "&date=2026-09-07").json();
    for (const auto& l : monday["lessons"]) {
        CHECK(l["day"] == 0);
    }
    CHECK(s.as(a.admin, a.slug, "GET", view + "?student_set_id=" + m.g6a + "&date=2026-09-06").json()["lessons"].empty());  // a Sunday
    CHECK(s.as(a.admin, a.slug, "GET", view + "?student_set_id=" + m.g6a + "&date=2026-02-30").status == 422);
    auto dated = s.as(a.admin, a.slug, "GET", view + "?student_set_id=" + m.g6a + "&week=2026-09-09").json();
    CHECK(dated["week_dates"] == json::array({"2026-09-07", "2026-09-08", "2026-09-09", "2026-09-10", "2026-09-11"}));
    CHECK(dated["lessons"].size() == 10);

    // CSV
    auto csv = s.as(a.teacher, a.slug, "GET", kTt + "/timetables/" + t + "/export?format=csv&lang=en&teacher_id=" + m.kone);
    REQUIRE(csv.status == 200);
    CHECK(csv.header("content-type").find("text/csv") == 0);
    CHECK(csv.body.rfind("day,period,start,end,subject,teachers,student_sets,room\r\n", 0) == 0);
    CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 5);
    CHECK(csv.body.find("Maths,Koné,6eA") != std::string::npos);
    CHECK(s.as(a.teacher, a.slug, "GET", kTt + "/timetables/" + t + "/export?format=xls&teacher_id=" + m.kone).status == 422);

    // PDF, read back by pdftotext, in French and in English.
    for (const std::string lang : {"fr", "en"}) {
        auto pdf = s.as(a.admin, a.slug, "GET", kTt + "/timetables/" + t + "/export?format=pdf&lang=" + lang + "&student_set_id=" + m.g6a);
        REQUIRE(pdf.status == 200);
        CHECK(pdf.header("content-type") == "application/pdf");
        CHECK(pdf.body.rfind("%PDF-", 0) == 0);
        const std::string file = writeTemp(s, "tt-" + lang + ".pdf", pdf.body);
        const std::string text = shell("pdftotext -enc UTF-8 '" + file + "' - 2>&1");
        INFO(text);
        CHECK(text.find(lang == "fr" ? "Emploi du temps : 6eA" : "Timetable: 6eA") != std::string::npos);
        CHECK(text.find("Mercredi") != std::string::npos);
        CHECK(text.find("Français") != std::string::npos);
        CHECK(text.find(lang == "fr" ? "salle Labo" : "room Labo") != std::string::npos);
    }

    // iCalendar: a subscription URL without a token, parsed by ical.js, then
    // revoked. Times are UTC from the school's timezone: Paris, whose summer
    // time ends on 2026-10-25, inside the term (UTC+2 before, UTC+1 after).
    REQUIRE(s.app().tenants().update(a.slug, {{"timezone", "Europe/Paris"}}));
    std::map<std::string, int> localMinutes;  // "activity-lesson" → start, minutes after midnight
    const json mineLessons = mine.json()["lessons"];
    for (const auto& l : mineLessons) {
        const std::string start = l["start"];
        localMinutes[l["activity_id"].get<std::string>() + "-" + std::to_string(l["lesson"].get<int>())] =
            std::stoi(start.substr(0, 2)) * 60 + std::stoi(start.substr(3, 2));
    }
    auto refused = s.as(a.student, a.slug, "POST", kTt + "/feeds", {{"term_id", m.term}, {"kind", "teacher"}, {"ref_id", m.kone}});
    CHECK(refused.status == 404);
    auto feed = s.as(a.teacher, a.slug, "POST", kTt + "/feeds", {{"term_id", m.term}, {"kind", "teacher"}, {"ref_id", m.kone}});
    REQUIRE(feed.status == 201);
    const std::string url = feed.json()["url"];
    auto ics = s.request("GET", url, nullptr, {{"X-Tenant", a.slug}});
    REQUIRE(ics.status == 200);
    CHECK(ics.header("content-type").find("text/calendar") == 0);
    const std::string icsFile = writeTemp(s, "kone.ics", ics.body);
    auto parsed = ardoise::test::node("ical_parse.mjs", {icsFile});
    INFO(parsed.output);
    REQUIRE(parsed.exitCode == 0);
    const json cal = json::parse(parsed.output);
    CHECK(cal["version"] == "2.0");
    CHECK(cal["events"].size() == 4 * 8);  // 4 lessons a week, 8 weeks
    std::set<std::string> uids;
    int summer = 0, winter = 0;
    for (const auto& e : cal["events"]) {
        CHECK(e["summary"] == "Maths");
        uids.insert(e["uid"]);
        const std::string full = e["uid"];  // ACTIVITY-LESSON-YYYYMMDD@slug.ardoise
        const std::string uid = full.substr(0, full.find('@'));
        const std::string start = e["start"];  // 2026-09-07T06:00:00Z
        CHECK(start.back() == 'Z');
        const std::string date = uid.substr(uid.rfind('-') + 1, 8);
        const int offset = date < "20261025" ? 120 : 60;
        (offset == 120 ? summer : winter)++;
        INFO(uid << " " << start);
        REQUIRE(localMinutes.count(uid.substr(0, uid.rfind('-'))) == 1);
        CHECK(std::stoi(start.substr(11, 2)) * 60 + std::stoi(start.substr(14, 2)) ==
              localMinutes[uid.substr(0, uid.rfind('-'))] - offset);
    }
    CHECK(summer > 0);
    CHECK(winter > 0);
    CHECK(uids.size() == 32);
    CHECK(s.as(a.teacher, a.slug, "GET", kTt + "/feeds").json()["items"].size() == 1);
    CHECK(s.as(a.admin, a.slug, "GET", kTt + "/feeds").json()["items"].empty());
    CHECK(s.request("GET", url + "x", nullptr, {{"X-Tenant", a.slug}}).status == 404);
    CHECK(s.as(a.teacher, a.slug, "DELETE", kTt + "/feeds/" + feed.json()["id"].get<std::string>()).status == 204);
    CHECK(s.request("GET", url, nullptr, {{"X-Tenant", a.slug}}).status == 404);
}

TEST_CASE("Another school's timetable ids answer 404 on every route, and lists never show them", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    auto b = school(s, "ecole-b");
    auto m = populate(s, a);
    auto mb = populate(s, b);
    auto run = generate(s, a, m.term);
    REQUIRE(run["status"] == "solved");
    const std::string t = run["timetable_id"], runId = run["id"];
    REQUIRE(s.as(a.admin, a.slug, "POST", kTt + "/timetables/" + t + "/publish").status == 200);
    auto feed = s.as(a.admin, a.slug, "POST", kTt + "/feeds", {{"term_id", m.term}, {"kind", "teacher"}, {"ref_id", m.kone}});
    REQUIRE(feed.status == 201);

    const auto before = s.rowCounts();
    const std::string term = kTt + "/terms/" + m.term;
    const std::string bTerm = kTt + "/terms/" + mb.term;
    const json teacher = {{"name", "Intrus"}};
    const std::vector<std::tuple<std::string, std::string, json>> calls = {
        {"GET", term, nullptr},
        {"PUT", term, {{"name", "x"}, {"starts_on", "2026-09-07"}, {"ends_on", "2026-10-30"}, {"days", {{{"name", "L"}, {"weekday", 1}}}},
                       {"periods", {{{"name", "1"}, {"start", "08:00"}, {"end", "09:00"}}}}}},
        {"DELETE", term, nullptr},
        {"GET", term + "/teachers", nullptr},
        {"POST", term + "/teachers", teacher},
        {"GET", term + "/teachers/" + m.kone, nullptr},
        {"PUT", term + "/teachers/" + m.kone, teacher},
        {"DELETE", term + "/teachers/" + m.kone, nullptr},
        {"GET", bTerm + "/teachers/" + m.kone, nullptr},
        {"PUT", bTerm + "/teachers/" + m.kone, teacher},
        {"DELETE", bTerm + "/activities/" + m.mathsA, nullptr},
        {"POST", term + "/runs", json::object()},
        {"GET", term + "/runs", nullptr},
        {"GET", term + "/timetables", nullptr},
        {"GET", kTt + "/runs/" + runId, nullptr},
        {"POST", kTt + "/runs/" + runId + "/cancel", nullptr},
        {"GET", kTt + "/timetables/" + t, nullptr},
        {"POST", kTt + "/timetables/" + t + "/publish", nullptr},
        {"POST", kTt + "/timetables/" + t + "/moves", {{"moves", {{{"activity_id", m.mathsA}, {"lesson", 0}, {"day", 0}, {"period", 0}}}}}},
        {"GET", kTt + "/timetables/" + t + "/view?teacher_id=" + m.kone, nullptr},
        {"GET", kTt + "/timetables/" + t + "/export?format=csv&teacher_id=" + m.kone, nullptr},
        {"GET", kTt + "/timetables/" + t + "/substitutions?teacher_id=" + m.kone + "&date=2026-09-07", nullptr},
        {"POST", kTt + "/timetables/" + t + "/substitutions",
         {{"date", "2026-09-07"}, {"activity_id", m.mathsA}, {"lesson", 0}, {"absent_teacher_id", m.kone}, {"substitute_id", m.diop}}},
        {"POST", kTt + "/feeds", {{"term_id", m.term}, {"kind", "teacher"}, {"ref_id", m.kone}}},
        {"POST", kTt + "/feeds", {{"term_id", mb.term}, {"kind", "teacher"}, {"ref_id", m.kone}}},
        {"DELETE", kTt + "/feeds/" + feed.json()["id"].get<std::string>(), nullptr},
    };
    for (const auto& [method, path, body] : calls) {
        auto r = s.as(b.admin, b.slug, method, path, body);
        INFO(method << " " << path << " " << r.body);
        CHECK(r.status == 404);
    }
    for (const std::string dry : {"&dry_run=true", ""}) {
        CHECK(ardoise::test::httpRequest(s.port(), "POST", kTt + "/import/fet?term_id=" + m.term + dry, "<fet></fet>",
                                         {{"X-Tenant", b.slug}, {"Authorization", "Bearer " + b.admin}, {"Content-Type", "application/xml"}})
                  .status == 404);
    }
    CHECK(s.request("GET", feed.json()["url"].get<std::string>(), nullptr, {{"X-Tenant", b.slug}}).status == 404);
    CHECK(s.request("GET", feed.json()["url"].get<std::string>(), nullptr, {{"X-Tenant", a.slug}}).status == 200);
    auto terms = s.as(b.admin, b.slug, "GET", kTt + "/terms").json()["items"];
    REQUIRE(terms.size() == 1);
    CHECK(terms[0]["id"] == mb.term);
    CHECK(s.as(b.admin, b.slug, "GET", kTt + "/feeds").json()["items"].empty());
    CHECK(s.rowCounts() == before);
}

TEST_CASE("A FET file imports into an empty term, with a report of counts and unsupported constraint types", "[timetable][postgres]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto a = school(s, "ecole-a");
    std::ifstream in(std::string(ARDOISE_SHARED_DIR) + "/timetable/fet/Sudan__Khartoum-2010-02-13.fet", std::ios::binary);
    REQUIRE(in.good());
    const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto term = make(s, a, kTt + "/terms",
                     {{"name", "Khartoum"}, {"starts_on", "2026-09-07"}, {"ends_on", "2026-10-30"}, {"days", {{{"name", "L"}, {"weekday", 1}}}},
                      {"periods", {{{"name", "1"}, {"start", "08:00"}, {"end", "09:00"}}}}});
    const std::string target = kTt + "/import/fet?term_id=" + id(term);
    const std::map<std::string, std::string> headers = {{"X-Tenant", a.slug}, {"Authorization", "Bearer " + a.admin}, {"Content-Type", "application/xml"}};
    const auto before = s.rowCounts();
    auto dry = ardoise::test::httpRequest(s.port(), "POST", target + "&dry_run=true", xml, headers);
    INFO(dry.body.substr(0, 2000));
    REQUIRE(dry.status == 200);
    CHECK(s.rowCounts() == before);
    const json report = dry.json();
    CHECK(report["dry_run"] == true);
    CHECK(report["created"]["teachers"] == 24);
    CHECK(report["created"]["rooms"] == 9);
    CHECK(report["created"]["activities"] == 82);
    CHECK(report["days"] == 5);
    CHECK(report["periods"] == 3);
    int constraints = 0;
    for (const auto& [type, n] : report["constraint_types"].items()) {
        constraints += n.get<int>();
    }
    for (const auto& [type, n] : report["skipped"].items()) {
        constraints += type == "inactive_activities" ? 0 : n.get<int>();
    }
    CHECK(constraints == 161);
    REQUIRE(report["unsupported"].is_object());
    for (const auto& [type, n] : report["unsupported"].items()) {
        CHECK(xml.find("<Constraint" + type + ">") != std::string::npos);
        CHECK(n.get<int>() > 0);
    }

    auto done = ardoise::test::httpRequest(s.port(), "POST", target, xml, headers);
    REQUIRE(done.status == 201);
    CHECK(s.as(a.admin, a.slug, "GET", kTt + "/terms/" + id(term) + "/teachers").json()["items"].size() == 24);
    CHECK(s.as(a.admin, a.slug, "GET", kTt + "/terms/" + id(term) + "/activities").json()["items"].size() == 82);
    CHECK(s.as(a.admin, a.slug, "GET", kTt + "/terms/" + id(term)).json()["days"].size() == 5);
    CHECK(ardoise::test::httpRequest(s.port(), "POST", target, xml, headers).status == 409);
    auto broken = ardoise::test::httpRequest(s.port(), "POST", target + "&dry_run=true", "<fet><Days_List>", headers);
    CHECK(broken.status == 400);
    CHECK(broken.json()["type"].get<std::string>().find("invalid-fet") != std::string::npos);
}
