// School-year rollover: from an open year to a new one, every class is
// carried over one level up (its section, homeroom teacher, room, capacity
// and custom fields with it), students are promoted with their class,
// repeaters stay at their level, students of the last level graduate, and
// leavers leave. The old year is then closed: its classes and enrollments
// no longer change. A dry run answers the same plan and writes nothing.
#include "school.hpp"

#include <algorithm>
#include <set>

namespace ardoise::plugins::school {

namespace {

json rolloverSchema() {
    const json id = {{"type", "string"}, {"pattern", "^[a-z0-9]{1,40}$"}, {"maxLength", 40}};
    const json ids = {{"type", "array"}, {"maxItems", 100000}, {"uniqueItems", true}, {"items", id}};
    return {{"type", "object"},
            {"additionalProperties", false},
            {"required", {"from_year_id", "to_year", "levels"}},
            {"properties",
             {{"from_year_id", id},
              {"to_year",
               {{"type", "object"},
                {"additionalProperties", false},
                {"required", {"name", "starts_on", "ends_on"}},
                {"properties",
                 {{"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}},
                  {"starts_on", {{"type", "string"}, {"format", "date"}}},
                  {"ends_on", {{"type", "string"}, {"format", "date"}}}}}}},
              {"levels",
               {{"type", "array"}, {"minItems", 1}, {"maxItems", 30}, {"uniqueItems", true},
                {"items", {{"type", "string"}, {"minLength", 1}, {"maxLength", 60}}}}},
              {"repeaters", ids},
              {"leavers", ids},
              {"dry_run", {{"type", "boolean"}}}}}};
}

struct NewClass {
    std::string id;
    std::string name;
    std::string level;
    const SqlRow* from = nullptr;
};

Result<Response> rollover(Request& r) {
    auto& services = *r.services;
    auto& db = services.db();
    const std::string& l = r.locale;
    const json& in = r.json;
    auto year = db.queryOne("SELECT * FROM school_years WHERE tenant_id = @tenant AND id = ?", {in["from_year_id"].get<std::string>()});
    if (!year) {
        return year.status();
    }
    if (!*year) {
        return invalidField(l, "/from_year_id", "unknown-reference", tr(l, "année inconnue", "unknown year"));
    }
    if ((*year)->text("status") == "closed") {
        return Status(Code::kConflict, "year-closed", tr(l, "Cette année scolaire est close.", "This school year is closed."));
    }
    const json& to = in["to_year"];
    if (to["starts_on"].get<std::string>() > to["ends_on"].get<std::string>()) {
        return invalidField(l, "/to_year/ends_on", "date-order", tr(l, "avant starts_on", "before starts_on"));
    }
    if (to["starts_on"].get<std::string>() <= (*year)->text("ends_on")) {
        return invalidField(l, "/to_year/starts_on", "date-order",
                            tr(l, "doit suivre la fin de l'année close", "must follow the end of the year being closed"));
    }
    std::vector<std::string> levels;
    for (const auto& lv : in["levels"]) {
        levels.push_back(lv.get<std::string>());
    }
    const std::string fromId = (*year)->text("id");
    auto classes = db.query("SELECT * FROM school_classes WHERE tenant_id = @tenant AND year_id = ? ORDER BY search_key, id", {fromId});
    auto enrolled = db.query(
        "SELECT e.student_id, e.class_id FROM school_enrollments e JOIN school_students s ON s.tenant_id = e.tenant_id AND "
        "s.id = e.student_id WHERE e.tenant_id = @tenant AND e.year_id = ? AND e.ends_on IS NULL AND s.status = 'active' "
        "ORDER BY s.search_key, s.id",
        {fromId});
    if (!classes || !enrolled) {
        return !classes ? classes.status() : enrolled.status();
    }

    Status bad(Code::kInvalidArgument, "validation", tr(l, "Certains champs sont invalides.", "Some fields are invalid."));
    std::map<std::string, std::size_t> levelOf;  // old class id → index in levels
    for (const auto& c : *classes) {
        auto it = std::find(levels.begin(), levels.end(), c.text("level"));
        if (it == levels.end()) {
            bad.addField({"/levels", "missing-level",
                          tr(l, "le niveau « " + c.text("level") + " » de la classe « " + c.text("name") + " » manque",
                             "level '" + c.text("level") + "' of class '" + c.text("name") + "' is missing")});
        } else {
            levelOf[c.text("id")] = static_cast<std::size_t>(it - levels.begin());
        }
    }
    std::set<std::string> students;
    for (const auto& e : *enrolled) {
        students.insert(e.text("student_id"));
    }
    std::set<std::string> repeaters, leavers;
    for (const auto& [key, into] : {std::pair<const char*, std::set<std::string>*>{"repeaters", &repeaters}, {"leavers", &leavers}}) {
        const json list = in.value(key, json::array());
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (students.count(list[i]) == 0) {
                bad.addField({std::string("/") + key + "/" + std::to_string(i), "unknown-reference",
                              tr(l, "aucun élève actif inscrit cette année", "no active student enrolled this year")});
            }
            into->insert(list[i].get<std::string>());
        }
    }
    for (const auto& s : repeaters) {
        if (leavers.count(s) != 0) {
            bad.addField({"/leavers", "conflict", tr(l, "un élève ne peut à la fois redoubler et partir",
                                                     "a student cannot both repeat and leave")});
        }
    }
    if (!bad.fields().empty()) {
        return bad;
    }

    // New classes, made on demand: the class one level up, or the same level for repeaters.
    std::map<std::string, const SqlRow*> classById;
    for (const auto& c : *classes) {
        classById[c.text("id")] = &c;
    }
    std::vector<NewClass> made;
    std::map<std::string, std::size_t> madeByName;
    auto target = [&](const SqlRow& from, const std::string& level) -> NewClass& {
        const std::string oldLevel = from.text("level");
        std::string name = from.text("name");
        if (name.rfind(oldLevel, 0) == 0) {
            name = level + name.substr(oldLevel.size());
        }
        auto it = madeByName.find(name);
        if (it == madeByName.end()) {
            made.push_back({db.newId(), name, level, &from});
            it = madeByName.emplace(name, made.size() - 1).first;
        }
        return made[it->second];
    };
    json promoted = json::array(), repeated = json::array(), graduated = json::array(), left = json::array();
    std::vector<std::pair<std::string, std::string>> enrollments;  // student, new class id
    for (const auto& e : *enrolled) {
        const std::string sid = e.text("student_id");
        const SqlRow& from = *classById[e.text("class_id")];
        const std::size_t i = levelOf[from.text("id")];
        if (leavers.count(sid) != 0) {
            left.push_back(sid);
        } else if (repeaters.count(sid) != 0) {
            NewClass& c = target(from, levels[i]);
            enrollments.emplace_back(sid, c.id);
            repeated.push_back({{"student_id", sid}, {"class", c.name}});
        } else if (i + 1 == levels.size()) {
            graduated.push_back(sid);
        } else {
            NewClass& c = target(from, levels[i + 1]);
            enrollments.emplace_back(sid, c.id);
            promoted.push_back({{"student_id", sid}, {"class", c.name}});
        }
    }
    // Classes carry over even when empty, except past the last level.
    for (const auto& c : *classes) {
        if (levelOf[c.text("id")] + 1 < levels.size()) {
            target(c, levels[levelOf[c.text("id")] + 1]);
        }
    }
    json plan = {{"dry_run", in.value("dry_run", false)},
                 {"from_year_id", fromId},
                 {"to_year", to},
                 {"classes", json::array()},
                 {"promoted", promoted},
                 {"repeated", repeated},
                 {"graduated", graduated},
                 {"left", left}};
    for (const auto& c : made) {
        plan["classes"].push_back({{"name", c.name}, {"level", c.level}, {"from_class_id", c.from->text("id")}});
    }
    if (plan["dry_run"].get<bool>()) {
        return Response::json(200, plan);
    }

    const std::string toId = db.newId();
    const std::string today = todayIn(services.tenant().timezone);
    const std::int64_t at = now();
    Status s = db.transaction([&](TenantDatabase& tx) -> Status {
        auto y = tx.execute("INSERT INTO school_years (tenant_id, id, name, starts_on, ends_on, status, search_key, created_at) "
                            "VALUES (@tenant, ?, ?, ?, ?, 'open', ?, ?)",
                            {toId, to["name"].get<std::string>(), to["starts_on"].get<std::string>(),
                             to["ends_on"].get<std::string>(), to["starts_on"].get<std::string>() + " " + fold(to["name"]), at});
        if (!y) {
            return y.status();
        }
        for (const auto& c : made) {
            // Section, homeroom teacher, room, capacity and custom fields as they were.
            auto n = tx.execute("INSERT INTO school_classes (tenant_id, id, year_id, name, level, section, homeroom_staff_id, "
                                "room_id, capacity, custom, search_key, created_at) SELECT tenant_id, ?, ?, ?, ?, section, "
                                "homeroom_staff_id, room_id, capacity, custom, ?, CAST(? AS BIGINT) FROM school_classes WHERE tenant_id = @tenant "
                                "AND id = ?",
                                {c.id, toId, c.name, c.level, fold(c.name), at, c.from->text("id")});
            if (!n) {
                return n.status();
            }
        }
        for (const auto& [student, classId] : enrollments) {
            auto n = tx.execute("INSERT INTO school_enrollments (tenant_id, id, student_id, class_id, year_id, starts_on, "
                                "search_key, created_at) VALUES (@tenant, ?, ?, ?, ?, ?, '', ?)",
                                {tx.newId(), student, classId, toId, to["starts_on"].get<std::string>(), at});
            if (!n) {
                return n.status();
            }
        }
        for (const auto& [ids, status] : {std::pair<const json*, const char*>{&graduated, "graduated"}, {&left, "left"}}) {
            for (const auto& id : *ids) {
                auto n = tx.execute("UPDATE school_students SET status = ? WHERE tenant_id = @tenant AND id = ?",
                                    {std::string(status), id.get<std::string>()});
                if (!n) {
                    return n.status();
                }
                if (std::string(status) == "left") {
                    if (auto p = services.publish("school.student.left", {{"id", id}}); !p.isOk()) {
                        return p;
                    }
                }
            }
        }
        auto ended = tx.execute("UPDATE school_enrollments SET ends_on = ? WHERE tenant_id = @tenant AND year_id = ? AND ends_on IS NULL",
                                {std::min(today, (*year)->text("ends_on")), fromId});
        auto closed = tx.execute("UPDATE school_years SET status = 'closed' WHERE tenant_id = @tenant AND id = ?", {fromId});
        if (!ended || !closed) {
            return !ended ? ended.status() : closed.status();
        }
        return services.publish("school.year.rolled_over", {{"from_year_id", fromId},
                                                            {"to_year_id", toId},
                                                            {"promoted", promoted.size()},
                                                            {"repeated", repeated.size()},
                                                            {"graduated", graduated.size()},
                                                            {"left", left.size()}});
    });
    if (!s.isOk()) {
        return s;
    }
    plan["to_year_id"] = toId;
    return Response::json(200, plan);
}

}  // namespace

std::vector<Route> rolloverRoutes() {
    Route r;
    r.method = "POST";
    r.pattern = "/rollover";
    r.access = Access::kTenantUser;
    r.permission = "school.manage";
    r.tag = "school";
    r.summary = "Roll a school year over to a new one (promotions, repeaters, graduates, leavers), closing it; "
                "dry_run shows the plan";
    r.requestSchema = rolloverSchema();
    r.handler = rollover;
    return {std::move(r)};
}

}  // namespace ardoise::plugins::school
