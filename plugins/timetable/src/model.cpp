// The timetable model of a term: its days and periods, then teachers,
// subjects, student sets, rooms, activities and other constraints, each a
// JSON document checked by its schema and its references; and the engine
// instance built from them.
#include "timetable.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace ardoise::plugins::timetable {

namespace tt = ardoise::timetable;

std::int64_t nowMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

const json kId = {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}};
const json kName = {{"type", "string"}, {"minLength", 1}, {"maxLength", 120}};
const json kIds = {{"type", "array"}, {"maxItems", 200}, {"uniqueItems", true}, {"items", kId}};
const json kTime = {{"type", "string"}, {"pattern", "^([01][0-9]|2[0-3]):[0-5][0-9]$"}};
const json kDate = {{"type", "string"}, {"pattern", "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}};
const json kSlot = {{"type", "object"},
                    {"additionalProperties", false},
                    {"required", {"day", "period"}},
                    {"properties", {{"day", {{"type", "integer"}, {"minimum", 0}, {"maximum", 6}}},
                                    {"period", {{"type", "integer"}, {"minimum", 0}, {"maximum", 39}}}}}};
const json kSlots = {{"type", "array"}, {"maxItems", 280}, {"items", kSlot}};

json object(json properties, json required) {
    return {{"type", "object"}, {"additionalProperties", false}, {"required", required}, {"properties", properties}};
}

json termSchema() {
    const json span = object({{"name", kName}, {"start", kTime}, {"end", kTime}}, {"name", "start", "end"});
    return object({{"name", kName},
                   {"school_term_id", kId},
                   {"starts_on", kDate},
                   {"ends_on", kDate},
                   {"days", {{"type", "array"}, {"minItems", 1}, {"maxItems", 7},
                             {"items", object({{"name", kName}, {"weekday", {{"type", "integer"}, {"minimum", 1}, {"maximum", 7}}}},
                                              {"name", "weekday"})}}},
                   {"periods", {{"type", "array"}, {"minItems", 1}, {"maxItems", 40}, {"items", span}}},
                   {"breaks", {{"type", "array"}, {"maxItems", 20}, {"items", span}}}},
                  {"name", "starts_on", "ends_on", "days", "periods"});
}

json kindSchema(const std::string& kind) {
    const json hours = {{"type", "integer"}, {"minimum", 0}, {"maximum", 60}};
    if (kind == "teachers") {
        return object({{"name", kName}, {"staff_id", kId}, {"subject_ids", kIds}, {"unavailable", kSlots},
                       {"max_hours_day", hours}, {"max_hours_week", hours}, {"max_gaps_week", hours},
                       {"max_days_week", {{"type", "integer"}, {"minimum", 1}, {"maximum", 7}}}},
                      {"name"});
    }
    if (kind == "subjects") {
        return object({{"name", kName}, {"subject_id", kId}}, {"name"});
    }
    if (kind == "student_sets") {
        return object({{"name", kName}, {"kind", {{"type", "string"}, {"enum", {"year", "group", "subgroup"}}}}, {"parent_id", kId},
                       {"students", {{"type", "integer"}, {"minimum", 0}, {"maximum", 5000}}}, {"class_id", kId}},
                      {"name", "kind"});
    }
    if (kind == "rooms") {
        return object({{"name", kName}, {"capacity", {{"type", "integer"}, {"minimum", 0}, {"maximum", 5000}}},
                       {"type", {{"type", "string"}, {"maxLength", 60}}}, {"building", {{"type", "string"}, {"maxLength", 120}}},
                       {"unavailable", kSlots}, {"room_id", kId}},
                      {"name"});
    }
    if (kind == "activities") {
        return object({{"label", {{"type", "string"}, {"maxLength", 120}}}, {"subject_id", kId}, {"teacher_ids", kIds},
                       {"student_set_ids", kIds}, {"duration", {{"type", "integer"}, {"minimum", 1}, {"maximum", 12}}},
                       {"lessons_per_week", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}}},
                       {"min_days_between", {{"type", "integer"}, {"minimum", 0}, {"maximum", 6}}},
                       {"min_days_weight", {{"type", "number"}, {"minimum", 0}, {"maximum", 100}}},
                       {"preferred_times", kSlots}, {"preferred_room_ids", kIds},
                       {"room_type", {{"type", "string"}, {"minLength", 1}, {"maxLength", 60}}}},
                      {"subject_id"});
    }
    // constraints
    return object({{"type", {{"type", "string"}, {"pattern", "^[A-Z][A-Za-z]{2,80}$"}}},
                   {"weight", {{"type", "number"}, {"minimum", 0}, {"maximum", 100}}},
                   {"active", {{"type", "boolean"}}},
                   {"params", {{"type", "object"}, {"maxProperties", 60}}}},
                  {"type"});
}

bool named(const std::string& kind) { return kind != "activities" && kind != "constraints"; }

json itemJson(const SqlRow& row) {
    json out = json::parse(row.text("data"));
    out["id"] = row.text("id");
    out["term_id"] = row.text("term_id");
    return out;
}

Status checkSlots(const json& term, const json& slots, const std::string& pointer, const std::string& locale) {
    const auto days = term["days"].size(), periods = term["periods"].size();
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (slots[i]["day"].get<std::size_t>() >= days || slots[i]["period"].get<std::size_t>() >= periods) {
            return invalid(locale, pointer + "/" + std::to_string(i), "range",
                           tr(locale, "Jour ou période hors de la grille de la période scolaire.", "Day or period outside the term's grid."));
        }
    }
    return Status::ok();
}

/// Every id of `ids` is an item of `kind` in the term.
Status checkRefs(TenantDatabase& db, const std::string& termId, const std::string& kind, const json& ids,
                 const std::string& pointer, const std::string& locale) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
        auto row = db.queryOne("SELECT id FROM timetable_items WHERE tenant_id = @tenant AND term_id = ? AND kind = ? AND id = ?",
                               {termId, kind, ids[i].get<std::string>()});
        if (!row) {
            return row.status();
        }
        if (!*row) {
            return invalid(locale, ids.is_array() ? pointer + "/" + std::to_string(i) : pointer, "reference",
                           tr(locale, "Aucun élément de ce type dans cette période.", "No such item of this kind in this term."));
        }
    }
    return Status::ok();
}

Status checkItem(TenantServices& services, const json& term, const std::string& kind, const json& body, const std::string& selfId,
                 const std::string& locale) {
    auto& db = services.db();
    const std::string termId = term["id"];
    if (body.contains("unavailable")) {
        if (auto s = checkSlots(term, body["unavailable"], "/unavailable", locale); !s.isOk()) {
            return s;
        }
    }
    if (kind == "teachers") {
        if (body.contains("subject_ids")) {
            if (auto s = checkRefs(db, termId, "subjects", body["subject_ids"], "/subject_ids", locale); !s.isOk()) {
                return s;
            }
        }
        if (body.contains("staff_id")) {
            auto staff = services.call("school.staff", {{"id", body["staff_id"]}});
            if (!staff) {
                return staff.status().code() == Code::kNotFound
                           ? invalid(locale, "/staff_id", "reference", tr(locale, "Aucun membre du personnel avec cet identifiant.", "No staff member with this id."))
                           : staff.status();
            }
        }
    } else if (kind == "student_sets") {
        const std::string k = body["kind"];
        if ((k == "year") == body.contains("parent_id")) {
            return invalid(locale, "/parent_id", "parent",
                           tr(locale, "Une année n'a pas de parent ; un groupe a une année, un sous-groupe un groupe.",
                              "A year has no parent; a group has a year, a subgroup a group."));
        }
        if (body.contains("parent_id")) {
            auto parent = db.queryOne("SELECT data FROM timetable_items WHERE tenant_id = @tenant AND term_id = ? AND "
                                      "kind = 'student_sets' AND id = ? AND id <> ?",
                                      {termId, body["parent_id"].get<std::string>(), selfId});
            if (!parent) {
                return parent.status();
            }
            const std::string want = k == "group" ? "year" : "group";
            if (!*parent || json::parse((*parent)->text("data")).value("kind", "") != want) {
                return invalid(locale, "/parent_id", "parent",
                               tr(locale, "Le parent doit être un ensemble d'élèves de type ", "The parent must be a student set of kind ") + want + ".");
            }
        }
        if (body.contains("class_id")) {
            auto cls = services.call("school.students_of_class", {{"class_id", body["class_id"]}});
            if (!cls) {
                return cls.status().code() == Code::kNotFound
                           ? invalid(locale, "/class_id", "reference", tr(locale, "Aucune classe avec cet identifiant.", "No class with this id."))
                           : cls.status();
            }
        }
    } else if (kind == "activities") {
        if (auto s = checkRefs(db, termId, "subjects", json::array({body["subject_id"]}), "/subject_id", locale); !s.isOk()) {
            return s;
        }
        const std::pair<const char*, const char*> refs[] = {
            {"teacher_ids", "teachers"}, {"student_set_ids", "student_sets"}, {"preferred_room_ids", "rooms"}};
        for (const auto& [field, target] : refs) {
            if (body.contains(field)) {
                if (auto s = checkRefs(db, termId, target, body[field], std::string("/") + field, locale); !s.isOk()) {
                    return s;
                }
            }
        }
        if (body.contains("preferred_times")) {
            if (auto s = checkSlots(term, body["preferred_times"], "/preferred_times", locale); !s.isOk()) {
                return s;
            }
        }
        if (body.value("duration", 1) > static_cast<int>(term["periods"].size())) {
            return invalid(locale, "/duration", "maximum", tr(locale, "Plus long qu'une journée.", "Longer than a day."));
        }
    } else if (kind == "constraints") {
        if (body.contains("params") && body["params"].contains("Activity_Id")) {
            json ids = body["params"]["Activity_Id"];
            if (!ids.is_array()) {
                ids = json::array({ids});
            }
            for (const auto& id : ids) {
                if (!id.is_string()) {
                    return invalid(locale, "/params/Activity_Id", "type",
                                   tr(locale, "Les activités sont désignées par leur identifiant (texte).", "Activities are named by their id (text)."));
                }
            }
            if (auto s = checkRefs(db, termId, "activities", ids, "/params/Activity_Id", locale); !s.isOk()) {
                return s;
            }
        }
    }
    return Status::ok();
}

Result<json> termOf(Request& r) { return loadTerm(r.services->db(), r.param("term"), r.locale); }

std::string itemName(const std::string& kind, const json& body, const std::string& id) {
    return named(kind) ? body["name"].get<std::string>() : id;
}

Result<Response> createItem(Request& r, const std::string& kind) {
    auto term = termOf(r);
    if (!term) {
        return term.status();
    }
    if (auto s = checkItem(*r.services, *term, kind, r.json, "", r.locale); !s.isOk()) {
        return s;
    }
    auto& db = r.services->db();
    const std::string id = db.newId();
    auto written = db.execute("INSERT INTO timetable_items (tenant_id, id, term_id, kind, name, data, created_us) "
                              "VALUES (@tenant, ?, ?, ?, ?, ?, ?)",
                              {id, r.param("term"), kind, itemName(kind, r.json, id), r.json.dump(), nowMicros()});
    if (!written) {
        if (written.status().type() == "unique-violation") {
            return invalid(r.locale, "/name", "unique", tr(r.locale, "Ce nom est déjà pris dans cette période.", "This name is already used in this term."));
        }
        return written.status();
    }
    json out = r.json;
    out["id"] = id;
    out["term_id"] = r.param("term");
    return Response::json(201, out);
}

Result<Response> updateItem(Request& r, const std::string& kind) {
    auto term = termOf(r);
    if (!term) {
        return term.status();
    }
    auto& db = r.services->db();
    auto row = db.queryOne("SELECT id FROM timetable_items WHERE tenant_id = @tenant AND term_id = ? AND kind = ? AND id = ?",
                           {r.param("term"), kind, r.param("id")});
    if (!row) {
        return row.status();
    }
    if (!*row) {
        return notFound(r.locale);
    }
    if (auto s = checkItem(*r.services, *term, kind, r.json, r.param("id"), r.locale); !s.isOk()) {
        return s;
    }
    auto written = db.execute("UPDATE timetable_items SET name = ?, data = ? WHERE tenant_id = @tenant AND id = ?",
                              {itemName(kind, r.json, r.param("id")), r.json.dump(), r.param("id")});
    if (!written) {
        if (written.status().type() == "unique-violation") {
            return invalid(r.locale, "/name", "unique", tr(r.locale, "Ce nom est déjà pris dans cette période.", "This name is already used in this term."));
        }
        return written.status();
    }
    json out = r.json;
    out["id"] = r.param("id");
    out["term_id"] = r.param("term");
    return Response::json(200, out);
}

Result<Response> deleteItem(Request& r, const std::string& kind) {
    auto& db = r.services->db();
    const std::string id = r.param("id");
    auto row = db.queryOne("SELECT id FROM timetable_items WHERE tenant_id = @tenant AND term_id = ? AND kind = ? AND id = ?",
                           {r.param("term"), kind, id});
    if (!row) {
        return row.status();
    }
    if (!*row) {
        return notFound(r.locale);
    }
    // Ids are random: an item naming this id in its document refers to it.
    auto users = db.query("SELECT id, kind FROM timetable_items WHERE tenant_id = @tenant AND term_id = ? AND data LIKE ? AND id <> ?",
                          {r.param("term"), "%\"" + id + "\"%", id});
    if (!users) {
        return users.status();
    }
    if (!users->empty()) {
        return Status(Code::kConflict, "in-use",
                      tr(r.locale, "Cet élément est utilisé par ", "This item is used by ") + (*users)[0].text("kind") + " " +
                          (*users)[0].text("id") + ".")
            .addExtra("used_by", (*users)[0].text("id"));
    }
    auto n = db.execute("DELETE FROM timetable_items WHERE tenant_id = @tenant AND id = ?", {id});
    if (!n) {
        return n.status();
    }
    return Response::noContent();
}

json termJson(const SqlRow& row) {
    json out = json::parse(row.text("data"));
    out["id"] = row.text("id");
    if (!out.contains("breaks")) {
        out["breaks"] = json::array();
    }
    return out;
}

Status checkTerm(const json& body, const std::string& locale) {
    if (body["ends_on"].get<std::string>() < body["starts_on"].get<std::string>()) {
        return invalid(locale, "/ends_on", "order", tr(locale, "La fin précède le début.", "The end comes before the start."));
    }
    std::set<int> weekdays;
    for (std::size_t i = 0; i < body["days"].size(); ++i) {
        if (!weekdays.insert(body["days"][i]["weekday"].get<int>()).second) {
            return invalid(locale, "/days/" + std::to_string(i) + "/weekday", "unique",
                           tr(locale, "Deux jours ont le même jour de la semaine.", "Two days share a weekday."));
        }
    }
    for (std::size_t i = 0; i < body["periods"].size(); ++i) {
        if (body["periods"][i]["end"].get<std::string>() <= body["periods"][i]["start"].get<std::string>()) {
            return invalid(locale, "/periods/" + std::to_string(i) + "/end", "order",
                           tr(locale, "Une période finit après son début.", "A period ends after it starts."));
        }
    }
    return Status::ok();
}

}  // namespace

const std::vector<std::string>& kinds() {
    static const std::vector<std::string> k = {"teachers", "subjects", "student_sets", "rooms", "activities", "constraints"};
    return k;
}

Result<json> loadTerm(TenantDatabase& db, const std::string& termId, const std::string& locale) {
    auto row = db.queryOne("SELECT * FROM timetable_terms WHERE tenant_id = @tenant AND id = ?", {termId});
    if (!row) {
        return row.status();
    }
    if (!*row) {
        return notFound(locale);
    }
    return termJson(**row);
}

Result<std::vector<json>> loadItems(TenantDatabase& db, const std::string& termId, const std::string& kind) {
    auto rows = db.query("SELECT * FROM timetable_items WHERE tenant_id = @tenant AND term_id = ? AND kind = ? ORDER BY created_us, id",
                         {termId, kind});
    if (!rows) {
        return rows.status();
    }
    std::vector<json> out;
    for (const auto& row : *rows) {
        out.push_back(itemJson(row));
    }
    return out;
}

tt::Constraint engineConstraint(const Built& b, const json& item) {
    tt::Constraint c;
    c.type = item["type"];
    c.weight = item.value("weight", 100.0);
    c.active = item.value("active", true);
    c.params = item.value("params", json::object());
    // Fields named *Activity_Id hold the plugin's activity ids: a list becomes
    // every lesson of those activities, a single id its first lesson.
    for (auto it = c.params.begin(); it != c.params.end(); ++it) {
        const std::string key = it.key();
        if (key.size() < 11 || key.compare(key.size() - 11, 11, "Activity_Id") != 0) {
            continue;
        }
        auto lessons = [&](const json& id) {
            std::vector<int> out;
            const std::string a = id.is_string() ? id.get<std::string>() : id.dump();
            for (auto e = b.engineIdOf.lower_bound({a, 0}); e != b.engineIdOf.end() && e->first.first == a; ++e) {
                out.push_back(e->second);
            }
            return out;
        };
        if (it->is_array()) {
            json engineIds = json::array();
            for (const auto& id : *it) {
                for (int e : lessons(id)) {
                    engineIds.push_back(e);
                }
            }
            *it = engineIds;
        } else {
            auto l = lessons(*it);
            *it = l.empty() ? json(0) : json(l.front());
        }
    }
    return c;
}

Result<Built> buildInstance(TenantDatabase& db, const std::string& termId, const std::string& locale) {
    Built b;
    auto term = loadTerm(db, termId, locale);
    if (!term) {
        return term.status();
    }
    b.term = *term;
    tt::Instance& in = b.instance;
    in.name = b.term["name"];
    for (const auto& d : b.term["days"]) {
        in.days.push_back(d["name"]);
    }
    for (const auto& p : b.term["periods"]) {
        in.hours.push_back(p["name"]);
    }
    std::map<std::string, std::vector<json>> byKind;
    for (const auto& kind : kinds()) {
        auto items = loadItems(db, termId, kind);
        if (!items) {
            return items.status();
        }
        byKind[kind] = *items;
        for (const auto& item : *items) {
            b.items[item["id"]] = item;
            b.kindOf[item["id"]] = kind;
        }
    }
    auto slotsOf = [&](const json& slots) {
        json out = json::array();
        for (const auto& s : slots) {
            out.push_back({{"Day", in.days.at(s["day"].get<std::size_t>())}, {"Hour", in.hours.at(s["period"].get<std::size_t>())}});
        }
        return out;
    };
    for (const auto& s : byKind["subjects"]) {
        in.subjects.push_back(s["name"]);
    }
    for (const auto& t : byKind["teachers"]) {
        const std::string name = t["name"];
        in.teachers.push_back(name);
        if (!t.value("unavailable", json::array()).empty()) {
            in.timeConstraints.push_back({"TeacherNotAvailableTimes", 100, true, {{"Teacher", name}, {"Not_Available_Time", slotsOf(t["unavailable"])}}});
        }
        if (t.contains("max_hours_day")) {
            in.timeConstraints.push_back({"TeacherMaxHoursDaily", 100, true, {{"Teacher", name}, {"Maximum_Hours_Daily", t["max_hours_day"]}}});
        }
        if (t.contains("max_days_week")) {
            in.timeConstraints.push_back({"TeacherMaxDaysPerWeek", 100, true, {{"Teacher_Name", name}, {"Max_Days_Per_Week", t["max_days_week"]}}});
        }
        if (t.contains("max_gaps_week")) {
            in.timeConstraints.push_back({"TeacherMaxGapsPerWeek", 100, true, {{"Teacher_Name", name}, {"Max_Gaps", t["max_gaps_week"]}}});
        }
    }
    std::set<std::string> buildings;
    for (const auto& r : byKind["rooms"]) {
        tt::Room room;
        room.name = r["name"];
        room.building = r.value("building", "");
        room.capacity = r.value("capacity", 0);
        if (!room.building.empty() && buildings.insert(room.building).second) {
            in.buildings.push_back(room.building);
        }
        b.roomIdByName[room.name] = r["id"];
        in.rooms.push_back(room);
        if (!r.value("unavailable", json::array()).empty()) {
            in.spaceConstraints.push_back({"RoomNotAvailableTimes", 100, true, {{"Room", room.name}, {"Not_Available_Time", slotsOf(r["unavailable"])}}});
        }
    }
    // Student sets: years, their groups, the groups' subgroups.
    const auto& sets = byKind["student_sets"];
    for (const auto& y : sets) {
        if (y["kind"] != "year") {
            continue;
        }
        tt::Year year{y["name"], y.value("students", 0), {}};
        for (const auto& g : sets) {
            if (g["kind"] != "group" || g.value("parent_id", "") != y["id"]) {
                continue;
            }
            tt::Group group{g["name"], g.value("students", 0), {}};
            for (const auto& s : sets) {
                if (s["kind"] == "subgroup" && s.value("parent_id", "") == g["id"]) {
                    group.subgroups.push_back({s["name"], s.value("students", 0)});
                }
            }
            year.groups.push_back(group);
        }
        in.years.push_back(year);
    }
    int next = 1;
    for (const auto& a : byKind["activities"]) {
        const int lessons = a.value("lessons_per_week", 1);
        const int duration = a.value("duration", 1);
        const int first = next;
        json ids = json::array();
        std::vector<std::string> preferredRooms;
        for (const auto& id : a.value("preferred_room_ids", json::array())) {
            preferredRooms.push_back(b.nameOf(id));
        }
        if (a.contains("room_type")) {
            for (const auto& r : byKind["rooms"]) {
                if (r.value("type", "") == a["room_type"]) {
                    preferredRooms.push_back(r["name"]);
                }
            }
        }
        for (int k = 0; k < lessons; ++k) {
            tt::Activity act;
            act.id = next++;
            act.groupId = lessons > 1 ? first : 0;
            act.subject = b.nameOf(a["subject_id"]);
            for (const auto& t : a.value("teacher_ids", json::array())) {
                act.teachers.push_back(b.nameOf(t));
            }
            for (const auto& s : a.value("student_set_ids", json::array())) {
                act.students.push_back(b.nameOf(s));
            }
            act.duration = duration;
            act.totalDuration = duration * lessons;
            in.activities.push_back(act);
            b.lessonOf[act.id] = {a["id"], k};
            b.engineIdOf[{a["id"], k}] = act.id;
            ids.push_back(act.id);
            if (!a.value("preferred_times", json::array()).empty()) {
                json times = json::array();
                for (const auto& s : a["preferred_times"]) {
                    times.push_back({{"Preferred_Starting_Day", in.days.at(s["day"].get<std::size_t>())},
                                     {"Preferred_Starting_Hour", in.hours.at(s["period"].get<std::size_t>())}});
                }
                in.timeConstraints.push_back({"ActivityPreferredStartingTimes", 100, true, {{"Activity_Id", act.id}, {"Preferred_Starting_Time", times}}});
            }
            if (!preferredRooms.empty()) {
                in.spaceConstraints.push_back({"ActivityPreferredRooms", 100, true, {{"Activity_Id", json::array({act.id})}, {"Preferred_Room", preferredRooms}}});
            }
        }
        if (lessons > 1 && a.value("min_days_between", 0) > 0) {
            in.timeConstraints.push_back({"MinDaysBetweenActivities", a.value("min_days_weight", 95.0), true,
                                          {{"Activity_Id", ids}, {"MinDays", a["min_days_between"]}, {"Consecutive_If_Same_Day", true}}});
        }
    }
    for (const auto& c : byKind["constraints"]) {
        tt::Constraint k = engineConstraint(b, c);
        const bool space = k.type.find("Room") != std::string::npos || k.type.find("Building") != std::string::npos ||
                           k.type == "BasicCompulsorySpace";
        (space ? in.spaceConstraints : in.timeConstraints).push_back(k);
    }
    return b;
}

std::vector<Route> modelRoutes() {
    std::vector<Route> out;
    out.push_back(makeRoute("POST", "/terms", "timetable.manage", "Create a timetable term: its days and periods",
                        [](Request& r) -> Result<Response> {
                            if (auto s = checkTerm(r.json, r.locale); !s.isOk()) {
                                return s;
                            }
                            auto& db = r.services->db();
                            const std::string id = db.newId();
                            auto w = db.execute("INSERT INTO timetable_terms (tenant_id, id, name, data, created_us) VALUES (@tenant, ?, ?, ?, ?)",
                                                {id, r.json["name"].get<std::string>(), r.json.dump(), nowMicros()});
                            if (!w) {
                                return w.status();
                            }
                            return jsonResponse(loadTerm(db, id, r.locale), 201);
                        },
                        termSchema()));
    out.push_back(makeRoute("GET", "/terms", "timetable.read", "The school's timetable terms", [](Request& r) -> Result<Response> {
        auto rows = r.services->db().query("SELECT * FROM timetable_terms WHERE tenant_id = @tenant ORDER BY created_us, id");
        if (!rows) {
            return rows.status();
        }
        json items = json::array();
        for (const auto& row : *rows) {
            items.push_back(termJson(row));
        }
        return Response::json(200, {{"items", items}});
    }));
    out.push_back(makeRoute("GET", "/terms/{term}", "timetable.read", "One term", [](Request& r) -> Result<Response> {
        return jsonResponse(termOf(r));
    }));
    out.push_back(makeRoute("PUT", "/terms/{term}", "timetable.manage", "Replace a term's days and periods (the grid may not shrink below what the model uses)",
                        [](Request& r) -> Result<Response> {
                            auto term = termOf(r);
                            if (!term) {
                                return term.status();
                            }
                            if (auto s = checkTerm(r.json, r.locale); !s.isOk()) {
                                return s;
                            }
                            if (r.json["days"].size() < (*term)["days"].size() || r.json["periods"].size() < (*term)["periods"].size()) {
                                auto used = r.services->db().queryOne("SELECT COUNT(*) AS n FROM timetable_items WHERE tenant_id = @tenant AND term_id = ?",
                                                                      {r.param("term")});
                                if (!used) {
                                    return used.status();
                                }
                                if ((*used)->integer("n") > 0) {
                                    return Status(Code::kConflict, "grid-in-use",
                                                  tr(r.locale, "La grille ne peut rétrécir : le modèle l'utilise.", "The grid cannot shrink: the model uses it."));
                                }
                            }
                            auto w = r.services->db().execute("UPDATE timetable_terms SET name = ?, data = ? WHERE tenant_id = @tenant AND id = ?",
                                                              {r.json["name"].get<std::string>(), r.json.dump(), r.param("term")});
                            if (!w) {
                                return w.status();
                            }
                            return jsonResponse(termOf(r));
                        },
                        termSchema()));
    out.back().successStatus = 200;
    out.push_back(makeRoute("DELETE", "/terms/{term}", "timetable.manage", "Delete a term, its model and its timetables",
                        [](Request& r) -> Result<Response> {
                            auto n = r.services->db().execute("DELETE FROM timetable_terms WHERE tenant_id = @tenant AND id = ?", {r.param("term")});
                            if (!n) {
                                return n.status();
                            }
                            return *n == 0 ? Result<Response>(notFound(r.locale)) : Response::noContent();
                        }));
    for (const auto& kind : kinds()) {
        const std::string base = "/terms/{term}/" + kind;
        out.push_back(makeRoute("POST", base, "timetable.manage", "Add to a term's " + kind,
                            [kind](Request& r) { return createItem(r, kind); }, kindSchema(kind)));
        out.push_back(makeRoute("GET", base, "timetable.manage", "A term's " + kind + ", in creation order",
                            [kind](Request& r) -> Result<Response> {
                                auto term = termOf(r);
                                if (!term) {
                                    return term.status();
                                }
                                auto items = loadItems(r.services->db(), r.param("term"), kind);
                                if (!items) {
                                    return items.status();
                                }
                                return Response::json(200, {{"items", *items}});
                            }));
        out.push_back(makeRoute("GET", base + "/{id}", "timetable.manage", "One of a term's " + kind,
                            [kind](Request& r) -> Result<Response> {
                                auto row = r.services->db().queryOne(
                                    "SELECT * FROM timetable_items WHERE tenant_id = @tenant AND term_id = ? AND kind = ? AND id = ?",
                                    {r.param("term"), kind, r.param("id")});
                                if (!row) {
                                    return row.status();
                                }
                                if (!*row) {
                                    return notFound(r.locale);
                                }
                                return Response::json(200, itemJson(**row));
                            }));
        out.push_back(makeRoute("PUT", base + "/{id}", "timetable.manage", "Replace one of a term's " + kind,
                            [kind](Request& r) { return updateItem(r, kind); }, kindSchema(kind)));
        out.back().successStatus = 200;
        out.push_back(makeRoute("DELETE", base + "/{id}", "timetable.manage", "Remove one of a term's " + kind + " (refused while used)",
                            [kind](Request& r) { return deleteItem(r, kind); }));
    }
    return out;
}

}  // namespace ardoise::plugins::timetable
