// Import of a FET file (the body, as XML) into an empty term: its grid,
// teachers, subjects, student sets, rooms, activities and constraints,
// through the engine's reader. A dry run reports without writing.
#include "timetable.hpp"

#include <set>
#include <stdexcept>

namespace ardoise::plugins::timetable {

namespace tt = ardoise::timetable;

namespace {

std::string hhmm(int minutes) {
    const int h = (minutes / 60) % 24, m = minutes % 60;
    return std::string{static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':', static_cast<char>('0' + m / 10),
                       static_cast<char>('0' + m % 10)};
}

/// Activity ids of FET (numbers) in a constraint's fields named *Activity_Id become the plugin's ids.
json mapActivities(const json& params, const std::map<std::string, std::string>& ids, bool& dangling) {
    json out = params;
    for (auto it = out.begin(); it != out.end(); ++it) {
        const std::string key = it.key();
        if (key.size() < 11 || key.compare(key.size() - 11, 11, "Activity_Id") != 0) {
            continue;
        }
        auto one = [&](const json& v) -> json {
            const std::string k = v.is_string() ? v.get<std::string>() : v.dump();
            auto f = ids.find(k);
            if (f == ids.end()) {
                dangling = true;
                return k;
            }
            return f->second;
        };
        if (it->is_array()) {
            json list = json::array();
            for (const auto& v : *it) {
                list.push_back(one(v));
            }
            *it = list;
        } else {
            *it = one(*it);
        }
    }
    return out;
}

Result<json> importFet(TenantServices& services, const std::string& termId, const std::string& xml, bool dryRun, const std::string& locale) {
    auto& db = services.db();
    auto term = loadTerm(db, termId, locale);
    if (!term) {
        return term.status();
    }
    tt::ImportReport report;
    try {
        report = tt::readFet(xml);
    } catch (const std::exception& e) {
        return Status(Code::kInvalidArgument, "invalid-fet", tr(locale, "Fichier FET illisible : ", "Unreadable FET file: ") + e.what());
    }
    const tt::Instance& in = report.instance;
    json warnings = report.warnings;
    if (in.days.empty() || in.days.size() > 7 || in.hours.empty() || in.hours.size() > 40) {
        return Status(Code::kInvalidArgument, "invalid-fet",
                      tr(locale, "La grille doit avoir 1 à 7 jours et 1 à 40 heures.", "The grid must have 1 to 7 days and 1 to 40 hours."));
    }
    std::map<std::string, int> counts = {{"teachers", 0}, {"subjects", 0}, {"student_sets", 0}, {"rooms", 0}, {"activities", 0}, {"constraints", 0}};
    json skipped = json::object();
    std::map<std::string, std::string> idOf;  // kind|name -> id
    std::map<std::string, std::string> activityIds;  // FET id -> plugin id
    std::vector<std::tuple<std::string, std::string, std::string, json>> rows;  // id, kind, name, data
    auto add = [&](const std::string& kind, const std::string& name, json data) -> std::string {
        const std::string key = kind + "|" + name;
        if (idOf.count(key)) {
            return idOf[key];
        }
        const std::string id = db.newId();
        idOf[key] = id;
        rows.emplace_back(id, kind, kind == "activities" || kind == "constraints" ? id : name, std::move(data));
        ++counts[kind];
        return id;
    };
    for (const auto& s : in.subjects) {
        add("subjects", s, {{"name", s}});
    }
    for (const auto& t : in.teachers) {
        add("teachers", t, {{"name", t}});
    }
    for (const auto& y : in.years) {
        const std::string yid = add("student_sets", y.name, {{"name", y.name}, {"kind", "year"}, {"students", y.students}});
        for (const auto& g : y.groups) {
            if (idOf.count("student_sets|" + g.name)) {
                warnings.push_back("shared group " + g.name + " kept under its first year");
                continue;
            }
            const std::string gid = add("student_sets", g.name, {{"name", g.name}, {"kind", "group"}, {"parent_id", yid}, {"students", g.students}});
            for (const auto& s : g.subgroups) {
                if (idOf.count("student_sets|" + s.name)) {
                    continue;  // shared subgroup: one set
                }
                add("student_sets", s.name, {{"name", s.name}, {"kind", "subgroup"}, {"parent_id", gid}, {"students", s.students}});
            }
        }
    }
    for (const auto& r : in.rooms) {
        json data = {{"name", r.name}, {"capacity", r.capacity}};
        if (!r.building.empty()) {
            data["building"] = r.building;
        }
        if (r.isVirtual) {
            warnings.push_back("virtual room " + r.name + " imported as a plain room");
        }
        add("rooms", r.name, data);
    }
    int inactive = 0;
    for (const auto& a : in.activities) {
        if (!a.active) {
            ++inactive;
            continue;
        }
        json data = {{"subject_id", idOf["subjects|" + a.subject]}, {"duration", a.duration}, {"lessons_per_week", 1},
                     {"label", "FET " + std::to_string(a.id)}};
        if (a.subject.empty() || !idOf.count("subjects|" + a.subject)) {
            data["subject_id"] = add("subjects", a.subject.empty() ? "-" : a.subject, {{"name", a.subject.empty() ? "-" : a.subject}});
        }
        json teachers = json::array(), students = json::array();
        for (const auto& t : a.teachers) {
            teachers.push_back(add("teachers", t, {{"name", t}}));
        }
        for (const auto& s : a.students) {
            if (!idOf.count("student_sets|" + s)) {
                warnings.push_back("activity " + std::to_string(a.id) + ": unknown students set " + s);
                continue;
            }
            students.push_back(idOf["student_sets|" + s]);
        }
        data["teacher_ids"] = teachers;
        data["student_set_ids"] = students;
        activityIds[std::to_string(a.id)] = add("activities", "a" + std::to_string(a.id), data);
    }
    if (inactive > 0) {
        skipped["inactive_activities"] = inactive;
    }
    std::map<std::string, int> constraintTypes;
    for (const auto* list : {&in.timeConstraints, &in.spaceConstraints}) {
        for (const auto& c : *list) {
            bool dangling = false;
            json params = mapActivities(c.params, activityIds, dangling);
            if (dangling) {
                skipped[c.type] = skipped.value(c.type, 0) + 1;
                continue;
            }
            add("constraints", "c" + std::to_string(counts["constraints"]), {{"type", c.type}, {"weight", c.weight}, {"active", c.active}, {"params", params}});
            ++constraintTypes[c.type];
        }
    }
    json days = json::array(), periods = json::array();
    for (std::size_t i = 0; i < in.days.size(); ++i) {
        days.push_back({{"name", in.days[i]}, {"weekday", i + 1}});
    }
    const int step = in.hours.size() > 14 ? 30 : 60;
    for (std::size_t i = 0; i < in.hours.size(); ++i) {
        periods.push_back({{"name", in.hours[i]}, {"start", hhmm(8 * 60 + static_cast<int>(i) * step)}, {"end", hhmm(8 * 60 + static_cast<int>(i + 1) * step - 5)}});
    }
    json result = {{"dry_run", dryRun},
                   {"term_id", termId},
                   {"name", in.name},
                   {"days", in.days.size()},
                   {"periods", in.hours.size()},
                   {"created", counts},
                   {"constraint_types", constraintTypes},
                   {"engine_imported", report.imported},
                   {"unsupported", report.unsupported},
                   {"skipped", skipped},
                   {"warnings", warnings}};
    if (dryRun) {
        return result;
    }
    auto used = db.queryOne("SELECT COUNT(*) AS n FROM timetable_items WHERE tenant_id = @tenant AND term_id = ?", {termId});
    if (!used) {
        return used.status();
    }
    if ((*used)->integer("n") > 0) {
        return Status(Code::kConflict, "term-not-empty",
                      tr(locale, "Importez dans une période vide (celle-ci a déjà un modèle).", "Import into an empty term (this one already has a model)."));
    }
    Status s = db.transaction([&](TenantDatabase& tx) -> Status {
        json data = *term;
        data.erase("id");
        data["days"] = days;
        data["periods"] = periods;
        auto t = tx.execute("UPDATE timetable_terms SET data = ? WHERE tenant_id = @tenant AND id = ?", {data.dump(), termId});
        if (!t) {
            return t.status();
        }
        std::int64_t at = nowMicros();
        for (const auto& [id, kind, name, item] : rows) {
            auto w = tx.execute("INSERT INTO timetable_items (tenant_id, id, term_id, kind, name, data, created_us) VALUES (@tenant, ?, ?, ?, ?, ?, ?)",
                                {id, termId, kind, name, item.dump(), at++});
            if (!w) {
                return w.status();
            }
        }
        return Status::ok();
    });
    if (!s.isOk()) {
        return s;
    }
    return result;
}

}  // namespace

std::vector<Route> importRoutes() {
    std::vector<Route> out;
    out.push_back(makeRoute("POST", "/import/fet", "timetable.manage",
                            "Import a .fet file (the body, XML) into an empty term ?term_id; ?dry_run=true only reports",
                            [](Request& r) -> Result<Response> {
                                const std::string termId = r.queryParam("term_id");
                                if (termId.empty()) {
                                    return invalid(r.locale, "/term_id", "required", tr(r.locale, "Paramètre term_id requis.", "The term_id parameter is required."));
                                }
                                if (r.body.empty()) {
                                    return invalid(r.locale, "", "required", tr(r.locale, "Envoyez le fichier .fet comme corps.", "Send the .fet file as the body."));
                                }
                                const bool dryRun = r.queryParam("dry_run") == "true";
                                return jsonResponse(importFet(*r.services, termId, r.body, dryRun, r.locale), dryRun ? 200 : 201);
                            }));
    out.back().successStatus = 201;
    return out;
}

}  // namespace ardoise::plugins::timetable
