// Generation runs (a background job per school, one at a time), the
// timetables they produce, manual moves with conflict detection,
// publishing, views, substitutions and the Lua functions.
#include "timetable.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

namespace ardoise::plugins::timetable {

namespace tt = ardoise::timetable;

namespace {

const json kIdSchema = {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}};
const json kDateSchema = {{"type", "string"}, {"pattern", "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}};
constexpr double kDefaultPolishSeconds = 5;  // soft-cost polish after the first valid timetable

json runJson(const SqlRow& row) {
    return {{"id", row.text("id")},
            {"term_id", row.text("term_id")},
            {"job_id", row.text("job_id")},
            {"status", row.text("status")},
            {"options", json::parse(row.text("options"))},
            {"progress", json::parse(row.text("progress"))},
            {"result", json::parse(row.text("result"))},
            {"timetable_id", row.isNull("timetable_id") ? json(nullptr) : json(row.text("timetable_id"))}};
}

json progressJson(const tt::Progress& p) {
    return {{"placed", p.placed}, {"total", p.total}, {"best_soft_cost", p.bestSoftCost}, {"elapsed_seconds", p.elapsedSeconds}};
}

json lessonRef(const Built& b, int engineId) {
    auto it = b.lessonOf.find(engineId);
    if (it == b.lessonOf.end()) {
        return {{"engine_id", engineId}};
    }
    return {{"activity_id", it->second.first}, {"lesson", it->second.second}};
}

const char* statusName(tt::SolveResult::Status s) {
    switch (s) {
        case tt::SolveResult::Status::solved: return "solved";
        case tt::SolveResult::Status::partial: return "partial";
        case tt::SolveResult::Status::impossible: return "impossible";
        case tt::SolveResult::Status::cancelled: return "cancelled";
    }
    return "partial";
}

/// Prechecks of the plugin's own (what the engine has no constraint for) and the engine's.
json prechecks(const Built& b) {
    json out = json::array();
    for (const auto& i : tt::precheck(b.instance)) {
        out.push_back({{"kind", i.kind}, {"name", i.name}, {"en", i.en}, {"fr", i.fr}});
    }
    std::map<std::string, int> load;
    for (const auto& a : b.instance.activities) {
        for (const auto& t : a.teachers) {
            load[t] += a.duration;
        }
    }
    for (const auto& [id, item] : b.items) {
        if (b.is(id, "teachers") && item.contains("max_hours_week")) {
            const std::string name = item["name"];
            const int max = item["max_hours_week"];
            if (load[name] > max) {
                out.push_back({{"kind", "teacher"}, {"name", name},
                               {"en", name + " has " + std::to_string(load[name]) + " periods a week; the limit is " + std::to_string(max) + "."},
                               {"fr", name + " a " + std::to_string(load[name]) + " périodes par semaine ; la limite est " + std::to_string(max) + "."}});
            }
        }
    }
    return out;
}

Status saveTimetable(TenantDatabase& db, const Built& b, const std::string& timetableId, const tt::Timetable& t) {
    for (const auto& p : t) {
        if (p.day < 0) {
            continue;
        }
        auto ref = b.lessonOf.find(p.activityId);
        if (ref == b.lessonOf.end()) {
            continue;
        }
        const std::string room = p.room.empty() ? "" : b.roomIdByName.count(p.room) ? b.roomIdByName.at(p.room) : "";
        auto w = db.execute("INSERT INTO timetable_lessons (tenant_id, timetable_id, activity_id, lesson, day, period, room, locked) "
                            "VALUES (@tenant, ?, ?, ?, ?, ?, ?, ?)",
                            {timetableId, ref->second.first, std::int64_t{ref->second.second}, std::int64_t{p.day},
                             std::int64_t{p.hour}, room, std::int64_t{p.locked ? 1 : 0}});
        if (!w) {
            return w.status();
        }
    }
    return Status::ok();
}

Result<json> conflictsJson(const Built& b, const std::vector<Conflict>& conflicts, const std::string& locale) {
    json out = json::array();
    std::set<std::string> seen;
    for (const auto& c : conflicts) {
        json lessons = json::array();
        for (int id : c.activities) {
            lessons.push_back(lessonRef(b, id));
        }
        const std::string key = c.type + "|" + c.resource + "|" + lessons.dump();
        if (!seen.insert(key).second) {
            continue;
        }
        out.push_back({{"type", c.type}, {"resource", c.resource}, {"lessons", lessons}, {"en", c.en}, {"fr", c.fr},
                       {"message", locale == "en" ? c.en : c.fr}});
    }
    return out;
}

int periodsOf(const Built& b, const std::string& activityId) {
    auto it = b.items.find(activityId);
    return it == b.items.end() ? 1 : it->second.value("duration", 1);
}

/// Which student sets a view of `setId` shows: the set, its ancestors and its descendants.
std::set<std::string> relatedSets(const Built& b, const std::string& setId) {
    std::set<std::string> out{setId};
    std::string up = setId;
    for (int i = 0; i < 3; ++i) {
        auto it = b.items.find(up);
        if (it == b.items.end() || !it->second.contains("parent_id")) {
            break;
        }
        up = it->second["parent_id"];
        out.insert(up);
    }
    std::set<std::string> below{setId};
    for (int round = 0; round < 3; ++round) {
        for (const auto& [id, item] : b.items) {
            if (b.is(id, "student_sets") && item.contains("parent_id") && below.count(item["parent_id"].get<std::string>())) {
                below.insert(id);
            }
        }
    }
    out.insert(below.begin(), below.end());
    return out;
}

bool contains(const json& list, const std::string& id) {
    return std::find(list.begin(), list.end(), json(id)) != list.end();
}

struct Override {
    std::string activityId;
    int lesson = 0;
    std::string absent, substitute;
};

Result<std::vector<Override>> overridesOn(TenantDatabase& db, const std::string& timetableId, const std::string& date) {
    auto rows = db.query("SELECT * FROM timetable_overrides WHERE tenant_id = @tenant AND timetable_id = ? AND on_date = ?", {timetableId, date});
    if (!rows) {
        return rows.status();
    }
    std::vector<Override> out;
    for (const auto& r : *rows) {
        out.push_back({r.text("activity_id"), static_cast<int>(r.integer("lesson")), r.text("absent_id"), r.text("substitute_id")});
    }
    return out;
}

/// The day index of a date in the term (its weekday among the term's days), or -1.
int dayIndex(const Built& b, const std::string& date) {
    if (date < b.term["starts_on"].get<std::string>() || date > b.term["ends_on"].get<std::string>()) {
        return -1;
    }
    const int wd = weekdayOf(date);
    for (std::size_t i = 0; i < b.term["days"].size(); ++i) {
        if (b.term["days"][i]["weekday"] == wd) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

Result<Built> builtForTimetable(Request& r, json* timetable = nullptr) {
    auto t = loadTimetable(r.services->db(), r.param("id"), r.locale);
    if (!t) {
        return t.status();
    }
    if (timetable) {
        *timetable = *t;
    }
    return buildInstance(r.services->db(), (*t)["term_id"], r.locale);
}

bool isManager(const Request& r) { return r.principal && r.principal->can("timetable.manage"); }

/// Candidates to replace `absent` on `date` for a lesson: free, qualified, fewest extra hours first.
Result<json> candidates(TenantServices& services, const Built& b, const std::string& timetableId, const std::string& date,
                        const json& lesson, const std::string& absent) {
    auto& db = services.db();
    auto rows = db.query("SELECT activity_id, lesson, day, period FROM timetable_lessons WHERE tenant_id = @tenant AND timetable_id = ?", {timetableId});
    auto extra = db.query("SELECT substitute_id, COUNT(*) AS n FROM timetable_overrides WHERE tenant_id = @tenant AND timetable_id = ? "
                          "GROUP BY substitute_id",
                          {timetableId});
    auto todays = overridesOn(db, timetableId, date);
    if (!rows || !extra || !todays) {
        return !rows ? rows.status() : !extra ? extra.status() : todays.status();
    }
    std::map<std::string, int> extraHours;
    for (const auto& e : *extra) {
        extraHours[e.text("substitute_id")] = static_cast<int>(e.integer("n"));
    }
    const int day = lesson["day"], start = lesson["period"], len = lesson["duration"];
    std::map<std::string, int> load;
    std::set<std::string> busy;
    for (const auto& row : *rows) {
        const std::string aid = row.text("activity_id");
        auto it = b.items.find(aid);
        if (it == b.items.end()) {
            continue;
        }
        const int d = static_cast<int>(row.integer("day")), p = static_cast<int>(row.integer("period")), l = periodsOf(b, aid);
        for (const auto& t : it->second.value("teacher_ids", json::array())) {
            load[t] += l;
            if (d == day && p < start + len && start < p + l) {
                busy.insert(t);
            }
        }
    }
    // Substitutes already teaching another lesson that overlaps, that day.
    for (const auto& o : *todays) {
        for (const auto& row : *rows) {
            if (row.text("activity_id") != o.activityId || row.integer("lesson") != o.lesson) {
                continue;
            }
            const int d = static_cast<int>(row.integer("day")), p = static_cast<int>(row.integer("period")), l = periodsOf(b, o.activityId);
            if (d == day && p < start + len && start < p + l) {
                busy.insert(o.substitute);
            }
        }
    }
    const std::string subjectId = b.items.at(lesson["activity_id"].get<std::string>())["subject_id"];
    const std::string schoolSubject = b.items.count(subjectId) ? b.items.at(subjectId).value("subject_id", "") : "";
    json out = json::array();
    for (const auto& [id, item] : b.items) {
        if (!item.contains("name") || id == absent || busy.count(id)) {
            continue;
        }
        if (!b.is(id, "teachers")) {
            continue;
        }
        bool unavailable = false;
        for (const auto& s : item.value("unavailable", json::array())) {
            unavailable = unavailable || (s["day"] == day && s["period"].get<int>() >= start && s["period"].get<int>() < start + len);
        }
        if (unavailable) {
            continue;
        }
        bool qualified = contains(item.value("subject_ids", json::array()), subjectId);
        if (!qualified && item.contains("staff_id") && !schoolSubject.empty()) {
            auto staff = services.call("school.staff", {{"id", item["staff_id"]}});
            qualified = staff && contains(staff->value("subject_ids", json::array()), schoolSubject);
        }
        if (!qualified) {
            continue;
        }
        out.push_back({{"teacher_id", id}, {"name", item["name"]}, {"extra_hours", extraHours[id]}, {"weekly_periods", load[id]}});
    }
    std::sort(out.begin(), out.end(), [](const json& a, const json& c) {
        return std::make_tuple(a["extra_hours"].get<int>(), a["weekly_periods"].get<int>(), a["name"].get<std::string>()) <
               std::make_tuple(c["extra_hours"].get<int>(), c["weekly_periods"].get<int>(), c["name"].get<std::string>());
    });
    return out;
}

}  // namespace

Result<json> viewFor(Request& r) {
    json timetable;
    auto b = builtForTimetable(r, &timetable);
    if (!b) {
        return b.status();
    }
    std::string kind, ref;
    for (const auto& [param, k] : {std::pair<const char*, const char*>{"teacher_id", "teacher"}, {"student_set_id", "student_set"}, {"room_id", "room"}}) {
        if (!r.queryParam(param).empty()) {
            kind = k;
            ref = r.queryParam(param);
        }
    }
    if (kind.empty() && !isManager(r)) {
        return invalid(r.locale, "/teacher_id", "required",
                       tr(r.locale, "Indiquez teacher_id, student_set_id ou room_id.", "Give teacher_id, student_set_id or room_id."));
    }
    if (!kind.empty()) {
        const std::string want = kind == "teacher" ? "teachers" : kind == "room" ? "rooms" : "student_sets";
        if (!b->is(ref, want)) {
            return notFound(r.locale);
        }
    }
    if (!isManager(r)) {
        auto may = maySee(*r.services, *r.principal, *b, kind, ref);
        if (!may) {
            return may.status();
        }
        if (!*may || timetable["status"] != "published") {
            return notFound(r.locale);
        }
    }
    const std::string date = r.queryParam("date"), week = r.queryParam("week");
    for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"/date", date}, {"/week", week}}) {
        if (!value.empty() && weekdayOf(value) == 0) {
            return invalid(r.locale, name, "format", tr(r.locale, "Date AAAA-MM-JJ attendue.", "A YYYY-MM-DD date is expected."));
        }
    }
    json weekDates = json::array();
    auto lessons = lessonsView(*r.services, *b, r.param("id"), kind, ref, date);
    if (!lessons) {
        return lessons.status();
    }
    if (!week.empty() && date.empty()) {
        // One dated week (substitutions applied): the term's days of the week holding `week`.
        const std::string monday = addDays(week, 1 - weekdayOf(week));
        *lessons = json::array();
        for (const auto& d : b->term["days"]) {
            const std::string on = addDays(monday, d["weekday"].get<int>() - 1);
            weekDates.push_back(on);
            auto day = lessonsView(*r.services, *b, r.param("id"), kind, ref, on);
            if (!day) {
                return day.status();
            }
            lessons->insert(lessons->end(), day->begin(), day->end());
        }
    }
    json days = json::array(), periods = b->term["periods"];
    for (const auto& d : b->term["days"]) {
        days.push_back(d["name"]);
    }
    std::string title = kind.empty() ? b->term["name"].get<std::string>() : b->nameOf(ref);
    return json{{"timetable_id", r.param("id")}, {"term_id", timetable["term_id"]}, {"term", b->term["name"]}, {"title", title},
                {"kind", kind.empty() ? json("all") : json(kind)},
                {"ref_id", ref}, {"date", date.empty() ? json(nullptr) : json(date)}, {"week_dates", weekDates}, {"days", days},
                {"periods", periods}, {"breaks", b->term.value("breaks", json::array())}, {"lessons", *lessons}};
}

int weekdayOf(const std::string& date) {
    if (date.size() != 10 || date[4] != '-' || date[7] != '-') {
        return 0;
    }
    int y = 0, m = 0, d = 0;
    try {
        y = std::stoi(date.substr(0, 4));
        m = std::stoi(date.substr(5, 2));
        d = std::stoi(date.substr(8, 2));
    } catch (...) {
        return 0;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) {
        return 0;
    }
    // Sakamoto's method: 0 = Sunday.
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3) {
        y -= 1;
    }
    const int w = (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
    return w == 0 ? 7 : w;
}

std::string addDays(const std::string& date, int n) {
    std::tm t{};
    t.tm_year = std::stoi(date.substr(0, 4)) - 1900;
    t.tm_mon = std::stoi(date.substr(5, 2)) - 1;
    t.tm_mday = std::stoi(date.substr(8, 2)) + n;
    t.tm_hour = 12;
    timegm(&t);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &t);
    return buf;
}

Result<json> loadTimetable(TenantDatabase& db, const std::string& id, const std::string& locale) {
    auto row = db.queryOne("SELECT * FROM timetable_timetables WHERE tenant_id = @tenant AND id = ?", {id});
    if (!row) {
        return row.status();
    }
    if (!*row) {
        return notFound(locale);
    }
    return json{{"id", (*row)->text("id")},
                {"term_id", (*row)->text("term_id")},
                {"run_id", (*row)->text("run_id")},
                {"status", (*row)->text("status")},
                {"created_us", (*row)->integer("created_us")}};
}

Result<tt::Timetable> loadPlacements(TenantDatabase& db, const Built& b, const std::string& timetableId) {
    auto rows = db.query("SELECT * FROM timetable_lessons WHERE tenant_id = @tenant AND timetable_id = ?", {timetableId});
    if (!rows) {
        return rows.status();
    }
    tt::Timetable out;
    for (const auto& row : *rows) {
        auto it = b.engineIdOf.find({row.text("activity_id"), static_cast<int>(row.integer("lesson"))});
        if (it == b.engineIdOf.end()) {
            continue;  // the activity changed since: its lesson is gone
        }
        out.push_back({it->second, static_cast<int>(row.integer("day")), static_cast<int>(row.integer("period")),
                       row.text("room").empty() ? "" : b.nameOf(row.text("room")), {}, row.integer("locked") != 0});
    }
    return out;
}

Result<std::optional<std::string>> publishedOf(TenantDatabase& db, const std::string& termId) {
    auto row = db.queryOne("SELECT id FROM timetable_timetables WHERE tenant_id = @tenant AND term_id = ? AND status = 'published'", {termId});
    if (!row) {
        return row.status();
    }
    return *row ? std::optional<std::string>((*row)->text("id")) : std::nullopt;
}

Result<bool> maySee(TenantServices& services, const Principal& p, const Built& b, const std::string& kind, const std::string& refId) {
    if (p.can("timetable.manage")) {
        return true;
    }
    auto it = b.items.find(refId);
    if (it == b.items.end()) {
        return false;
    }
    if (kind == "teacher") {
        if (!it->second.contains("staff_id")) {
            return false;
        }
        auto staff = services.call("school.staff", {{"id", it->second["staff_id"]}});
        if (!staff) {
            return staff.status().code() == Code::kNotFound ? Result<bool>(false) : Result<bool>(staff.status());
        }
        return staff->value("user_id", json(nullptr)) == json(p.id);
    }
    if (kind == "room") {
        return std::find(p.roles.begin(), p.roles.end(), "teacher") != p.roles.end();
    }
    // A student set: through the school class it (or a set above it) stands for.
    std::string id = refId;
    for (int i = 0; i < 3 && b.items.count(id); ++i) {
        const json& set = b.items.at(id);
        if (set.contains("class_id")) {
            auto may = services.call("school.may_see_class", {{"user_id", p.id}, {"class_id", set["class_id"]}});
            if (!may) {
                return may.status();
            }
            if ((*may)["allowed"] == true) {
                return true;
            }
        }
        if (!set.contains("parent_id")) {
            break;
        }
        id = set["parent_id"];
    }
    return false;
}

Result<json> lessonsView(TenantServices& services, const Built& b, const std::string& timetableId, const std::string& kind,
                         const std::string& refId, const std::string& date) {
    auto& db = services.db();
    auto rows = db.query("SELECT * FROM timetable_lessons WHERE tenant_id = @tenant AND timetable_id = ? ORDER BY day, period, activity_id, lesson",
                         {timetableId});
    if (!rows) {
        return rows.status();
    }
    int day = -1;
    std::vector<Override> overrides;
    if (!date.empty()) {
        day = dayIndex(b, date);
        if (day < 0) {
            return json::array();  // not a school day of the term
        }
        auto o = overridesOn(db, timetableId, date);
        if (!o) {
            return o.status();
        }
        overrides = *o;
    }
    const std::set<std::string> sets = kind == "student_set" ? relatedSets(b, refId) : std::set<std::string>{};
    json out = json::array();
    for (const auto& row : *rows) {
        const std::string aid = row.text("activity_id");
        const int lesson = static_cast<int>(row.integer("lesson"));
        auto it = b.items.find(aid);
        if (it == b.items.end() || (day >= 0 && row.integer("day") != day)) {
            continue;
        }
        const json& a = it->second;
        json teacherIds = a.value("teacher_ids", json::array());
        json substitution = nullptr;
        for (const auto& o : overrides) {
            if (o.activityId == aid && o.lesson == lesson) {
                for (auto& t : teacherIds) {
                    if (t == o.absent) {
                        t = o.substitute;
                    }
                }
                substitution = {{"absent_id", o.absent}, {"substitute_id", o.substitute}};
            }
        }
        bool keep = kind.empty();
        if (kind == "teacher") {
            keep = contains(teacherIds, refId);
        } else if (kind == "room") {
            keep = row.text("room") == refId;
        } else if (kind == "student_set") {
            for (const auto& s : a.value("student_set_ids", json::array())) {
                keep = keep || sets.count(s.get<std::string>());
            }
        }
        if (!keep) {
            continue;
        }
        const int d = static_cast<int>(row.integer("day")), p = static_cast<int>(row.integer("period"));
        const int duration = a.value("duration", 1);
        const auto& periods = b.term["periods"];
        json teachers = json::array(), students = json::array();
        for (const auto& t : teacherIds) {
            teachers.push_back({{"id", t}, {"name", b.nameOf(t)}});
        }
        for (const auto& s : a.value("student_set_ids", json::array())) {
            students.push_back({{"id", s}, {"name", b.nameOf(s)}});
        }
        json item = {{"activity_id", aid},
                     {"lesson", lesson},
                     {"day", d},
                     {"day_name", b.term["days"].at(static_cast<std::size_t>(d))["name"]},
                     {"period", p},
                     {"period_name", periods.at(static_cast<std::size_t>(p))["name"]},
                     {"start", periods.at(static_cast<std::size_t>(p))["start"]},
                     {"end", periods.at(std::min<std::size_t>(periods.size() - 1, static_cast<std::size_t>(p + duration - 1)))["end"]},
                     {"duration", duration},
                     {"subject_id", a["subject_id"]},
                     {"subject", b.nameOf(a["subject_id"])},
                     {"teachers", teachers},
                     {"student_sets", students},
                     {"room", row.text("room").empty() ? json(nullptr) : json{{"id", row.text("room")}, {"name", b.nameOf(row.text("room"))}}},
                     {"locked", row.integer("locked") != 0}};
        if (!substitution.is_null()) {
            item["substitution"] = substitution;
        }
        if (!date.empty()) {
            item["date"] = date;
        }
        out.push_back(std::move(item));
    }
    return out;
}

Result<json> runGeneration(const Job& job, TenantServices& services, JobControl& control) {
    auto& db = services.db();
    const std::string runId = job.payload.value("run_id", "");
    auto run = db.queryOne("SELECT * FROM timetable_runs WHERE tenant_id = @tenant AND id = ?", {runId});
    if (!run) {
        return run.status();
    }
    if (!*run) {
        return json{{"skipped", "no such run"}};
    }
    const json options = json::parse((*run)->text("options"));
    const std::string termId = (*run)->text("term_id");
    auto finish = [&](const std::string& status, const json& result, const std::string& timetableId) -> Status {
        auto w = db.execute("UPDATE timetable_runs SET status = ?, result = ?, timetable_id = ? WHERE tenant_id = @tenant AND id = ?",
                            {status, result.dump(), timetableId.empty() ? SqlValue{std::monostate{}} : SqlValue{timetableId}, runId});
        return w ? Status::ok() : w.status();
    };
    if ((*run)->integer("cancel_requested") != 0 || control.cancelRequested()) {
        if (auto s = finish("cancelled", {{"status", "cancelled"}}, ""); !s.isOk()) {
            return s;
        }
        return json{{"status", "cancelled"}};
    }
    auto built = buildInstance(db, termId, "en");
    if (!built) {
        (void)finish("failed", {{"status", "failed"}, {"error", built.status().message()}}, "");
        return built.status();
    }
    if (auto w = db.execute("UPDATE timetable_runs SET status = 'running' WHERE tenant_id = @tenant AND id = ?", {runId}); !w) {
        return w.status();
    }
    tt::SolveOptions so;
    so.seed = options.value("seed", std::uint64_t{1});
    so.timeLimitSeconds = options.value("time_limit_seconds", 60.0);
    so.threads = options.value("threads", 1);
    // Once valid, a fresh timetable is improved on its soft rules for a while;
    // an incremental one is not, so that as few lessons as possible move.
    so.polishSeconds = options.value("polish_seconds", options.contains("incremental_from") ? 0.0 : kDefaultPolishSeconds);
    if (options.contains("incremental_from")) {
        auto start = loadPlacements(db, *built, options["incremental_from"]);
        if (!start) {
            return start.status();
        }
        so.start = *start;
    }
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
    std::mutex mutex;
    tt::Progress latest;
    latest.total = static_cast<int>(built->instance.activities.size());
    so.cancel = &cancel;
    so.onProgress = [&](const tt::Progress& p) {
        std::lock_guard<std::mutex> lock(mutex);
        latest = p;
    };
    tt::SolveResult result;
    std::string failure;
    // The solver runs on its own thread; this one (which owns `services`)
    // reports progress and watches for cancellation.
    std::thread worker([&] {
        try {
            result = tt::solve(built->instance, so);
        } catch (const std::exception& e) {
            failure = e.what();
        } catch (...) {
            failure = "unknown error";
        }
        done = true;
    });
    auto lastWrite = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    while (!done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (std::chrono::steady_clock::now() - lastWrite < std::chrono::milliseconds(250)) {
            continue;
        }
        lastWrite = std::chrono::steady_clock::now();
        json progress;
        {
            std::lock_guard<std::mutex> lock(mutex);
            progress = progressJson(latest);
        }
        control.progress(progress);
        (void)db.execute("UPDATE timetable_runs SET progress = ? WHERE tenant_id = @tenant AND id = ?", {progress.dump(), runId});
        auto flag = db.queryOne("SELECT cancel_requested FROM timetable_runs WHERE tenant_id = @tenant AND id = ?", {runId});
        if (control.cancelRequested() || (flag && *flag && (*flag)->integer("cancel_requested") != 0)) {
            cancel = true;
        }
    }
    worker.join();
    if (!failure.empty()) {
        (void)finish("failed", {{"status", "failed"}, {"error", failure}}, "");
        return Status(Code::kInternal, "solver-failed", failure);
    }
    const tt::Evaluation ev = tt::evaluate(built->instance, result.timetable);
    json unplaced = json::array();
    for (const auto& u : result.unplaced) {
        json blockers = json::array();
        for (const auto& bl : u.blockers) {
            blockers.push_back({{"kind", bl.kind}, {"name", bl.name}, {"en", bl.en}, {"fr", bl.fr}});
        }
        json item = lessonRef(*built, u.activityId);
        item["blockers"] = blockers;
        unplaced.push_back(item);
    }
    json impossibilities = json::array();
    for (const auto& i : result.impossibilities) {
        impossibilities.push_back({{"kind", i.kind}, {"name", i.name}, {"en", i.en}, {"fr", i.fr}});
    }
    int placed = 0;
    for (const auto& p : result.timetable) {
        placed += p.day >= 0 ? 1 : 0;
    }
    const std::string timetableId = db.newId();
    json out = {{"status", statusName(result.status)},
                {"placed", placed},
                {"total", built->instance.activities.size()},
                {"soft_cost", result.softCost},
                {"hard_violations", ev.hard.size()},
                {"unplaced", unplaced},
                {"impossibilities", impossibilities},
                {"moved", result.moved},
                {"cpu_seconds", result.cpuSeconds},
                {"timetable_id", timetableId}};
    const json finalProgress = {{"placed", placed}, {"total", built->instance.activities.size()}, {"best_soft_cost", result.softCost},
                                {"elapsed_seconds", result.cpuSeconds}};
    Status s = db.transaction([&](TenantDatabase& tx) -> Status {
        auto w = tx.execute("INSERT INTO timetable_timetables (tenant_id, id, term_id, run_id, status, created_us) VALUES (@tenant, ?, ?, ?, 'draft', ?)",
                            {timetableId, termId, runId, nowMicros()});
        if (!w) {
            return w.status();
        }
        if (auto st = saveTimetable(tx, *built, timetableId, result.timetable); !st.isOk()) {
            return st;
        }
        auto u = tx.execute("UPDATE timetable_runs SET status = ?, result = ?, progress = ?, timetable_id = ? WHERE tenant_id = @tenant AND id = ?",
                            {std::string(statusName(result.status)), out.dump(), finalProgress.dump(), timetableId, runId});
        return u ? Status::ok() : u.status();
    });
    if (!s.isOk()) {
        return s;
    }
    control.progress(finalProgress);
    services.metrics().increment("runs_total", {{"status", statusName(result.status)}});
    return out;
}

std::vector<Route> scheduleRoutes() {
    std::vector<Route> out;
    const json runSchema = {{"type", "object"},
                            {"additionalProperties", false},
                            {"properties", {{"seed", {{"type", "integer"}, {"minimum", 0}, {"maximum", 4294967295LL}}},
                                            {"time_limit_seconds", {{"type", "number"}, {"minimum", 0.1}, {"maximum", 3600}}},
                                            {"threads", {{"type", "integer"}, {"minimum", 1}, {"maximum", 8}}},
                                            {"polish_seconds", {{"type", "number"}, {"minimum", 0}, {"maximum", 3600}}},
                                            {"incremental_from", kIdSchema}}}};
    out.push_back(makeRoute("POST", "/terms/{term}/runs", "timetable.manage",
                            "Start generating a timetable for a term in the background; answers at once with the prechecks",
                            [](Request& r) -> Result<Response> {
                                auto& db = r.services->db();
                                auto built = buildInstance(db, r.param("term"), r.locale);
                                if (!built) {
                                    return built.status();
                                }
                                if (built->instance.activities.empty()) {
                                    return Status(Code::kFailedPrecondition, "nothing-to-schedule",
                                                  tr(r.locale, "Cette période n'a aucune activité.", "This term has no activity."));
                                }
                                if (r.json.contains("incremental_from")) {
                                    auto t = loadTimetable(db, r.json["incremental_from"], r.locale);
                                    if (!t) {
                                        return t.status().code() == Code::kNotFound
                                                   ? invalid(r.locale, "/incremental_from", "reference", tr(r.locale, "Aucun emploi du temps avec cet identifiant.", "No timetable with this id."))
                                                   : t.status();
                                    }
                                    if ((*t)["term_id"] != r.param("term")) {
                                        return invalid(r.locale, "/incremental_from", "reference", tr(r.locale, "Emploi du temps d'une autre période.", "A timetable of another term."));
                                    }
                                }
                                const json checks = prechecks(*built);
                                const std::string runId = db.newId();
                                std::string jobId;
                                Status s = db.transaction([&](TenantDatabase& tx) -> Status {
                                    JobOptions options;
                                    options.serialKey = "generate";
                                    options.maxAttempts = 1;
                                    auto job = r.services->enqueue("generate", {{"run_id", runId}}, options);
                                    if (!job) {
                                        return job.status();
                                    }
                                    jobId = *job;
                                    auto w = tx.execute("INSERT INTO timetable_runs (tenant_id, id, term_id, job_id, status, options, progress, result, "
                                                        "cancel_requested, created_us) VALUES (@tenant, ?, ?, ?, 'queued', ?, ?, ?, 0, ?)",
                                                        {runId, r.param("term"), jobId, r.json.dump(),
                                                         json{{"placed", 0}, {"total", built->instance.activities.size()}, {"best_soft_cost", 0}, {"elapsed_seconds", 0}}.dump(),
                                                         json::object().dump(), nowMicros()});
                                    return w ? Status::ok() : w.status();
                                });
                                if (!s.isOk()) {
                                    return s;
                                }
                                auto row = db.queryOne("SELECT * FROM timetable_runs WHERE tenant_id = @tenant AND id = ?", {runId});
                                if (!row || !*row) {
                                    return row ? notFound(r.locale) : row.status();
                                }
                                json body = runJson(**row);
                                body["prechecks"] = checks;
                                return Response::json(202, body);
                            },
                            runSchema));
    out.back().successStatus = 202;
    out.push_back(makeRoute("GET", "/terms/{term}/runs", "timetable.manage", "A term's generation runs, newest first", [](Request& r) -> Result<Response> {
        if (auto term = loadTerm(r.services->db(), r.param("term"), r.locale); !term) {
            return term.status();
        }
        auto rows = r.services->db().query("SELECT * FROM timetable_runs WHERE tenant_id = @tenant AND term_id = ? ORDER BY created_us DESC, id",
                                           {r.param("term")});
        if (!rows) {
            return rows.status();
        }
        json items = json::array();
        for (const auto& row : *rows) {
            items.push_back(runJson(row));
        }
        return Response::json(200, {{"items", items}});
    }));
    out.push_back(makeRoute("GET", "/runs/{id}", "timetable.manage", "A generation run: status, progress (placed/total, best soft cost, elapsed), result",
                            [](Request& r) -> Result<Response> {
                                auto row = r.services->db().queryOne("SELECT * FROM timetable_runs WHERE tenant_id = @tenant AND id = ?", {r.param("id")});
                                if (!row) {
                                    return row.status();
                                }
                                if (!*row) {
                                    return notFound(r.locale);
                                }
                                return Response::json(200, runJson(**row));
                            }));
    out.push_back(makeRoute("POST", "/runs/{id}/cancel", "timetable.manage", "Ask a run to stop; it keeps the best partial timetable found",
                            [](Request& r) -> Result<Response> {
                                auto n = r.services->db().execute(
                                    "UPDATE timetable_runs SET cancel_requested = 1 WHERE tenant_id = @tenant AND id = ?", {r.param("id")});
                                if (!n) {
                                    return n.status();
                                }
                                if (*n == 0) {
                                    return notFound(r.locale);
                                }
                                return Response::json(202, {{"id", r.param("id")}, {"cancel_requested", true}});
                            }));
    out.back().successStatus = 202;
    out.push_back(makeRoute("GET", "/terms/{term}/timetables", "timetable.read", "A term's timetables (published only, for readers)",
                            [](Request& r) -> Result<Response> {
                                auto term = loadTerm(r.services->db(), r.param("term"), r.locale);
                                if (!term) {
                                    return term.status();
                                }
                                auto rows = r.services->db().query(
                                    "SELECT * FROM timetable_timetables WHERE tenant_id = @tenant AND term_id = ? AND (status = 'published' OR ? = 1) "
                                    "ORDER BY created_us DESC, id",
                                    {r.param("term"), std::int64_t{isManager(r) ? 1 : 0}});
                                if (!rows) {
                                    return rows.status();
                                }
                                json items = json::array();
                                for (const auto& row : *rows) {
                                    items.push_back({{"id", row.text("id")}, {"term_id", row.text("term_id")}, {"run_id", row.text("run_id")},
                                                     {"status", row.text("status")}});
                                }
                                return Response::json(200, {{"items", items}});
                            }));
    out.push_back(makeRoute("GET", "/timetables/{id}", "timetable.manage", "A timetable with all its lessons and its hard conflicts",
                            [](Request& r) -> Result<Response> {
                                json timetable;
                                auto b = builtForTimetable(r, &timetable);
                                if (!b) {
                                    return b.status();
                                }
                                auto lessons = lessonsView(*r.services, *b, r.param("id"), "", "", "");
                                auto placements = loadPlacements(r.services->db(), *b, r.param("id"));
                                if (!lessons || !placements) {
                                    return !lessons ? lessons.status() : placements.status();
                                }
                                const tt::Evaluation ev = tt::evaluate(b->instance, *placements);
                                json hard = json::array();
                                for (const auto& v : ev.hard) {
                                    json ls = json::array();
                                    for (int id : v.activities) {
                                        ls.push_back(lessonRef(*b, id));
                                    }
                                    hard.push_back({{"type", v.type}, {"resource", v.resource}, {"lessons", ls}, {"en", v.en}, {"fr", v.fr}});
                                }
                                timetable["lessons"] = *lessons;
                                timetable["hard_conflicts"] = hard;
                                timetable["soft_cost"] = ev.softCost;
                                timetable["total_lessons"] = b->instance.activities.size();
                                return Response::json(200, timetable);
                            }));
    out.push_back(makeRoute("POST", "/timetables/{id}/publish", "timetable.manage",
                            "Publish a timetable (the term's previously published one goes back to draft)",
                            [](Request& r) -> Result<Response> {
                                auto t = loadTimetable(r.services->db(), r.param("id"), r.locale);
                                if (!t) {
                                    return t.status();
                                }
                                Status s = r.services->db().transaction([&](TenantDatabase& tx) -> Status {
                                    auto a = tx.execute("UPDATE timetable_timetables SET status = 'draft' WHERE tenant_id = @tenant AND term_id = ? AND status = 'published'",
                                                        {(*t)["term_id"].get<std::string>()});
                                    auto b = tx.execute("UPDATE timetable_timetables SET status = 'published', published_us = ? WHERE tenant_id = @tenant AND id = ?",
                                                        {nowMicros(), r.param("id")});
                                    if (!a || !b) {
                                        return !a ? a.status() : b.status();
                                    }
                                    return r.services->publish("timetable.published", {{"timetable_id", r.param("id")}, {"term_id", (*t)["term_id"]}});
                                });
                                if (!s.isOk()) {
                                    return s;
                                }
                                return jsonResponse(loadTimetable(r.services->db(), r.param("id"), r.locale));
                            }));
    const json lessonKey = {{"type", "object"},
                            {"additionalProperties", false},
                            {"required", {"activity_id", "lesson"}},
                            {"properties", {{"activity_id", kIdSchema}, {"lesson", {{"type", "integer"}, {"minimum", 0}, {"maximum", 19}}}}}};
    json move = lessonKey;
    move["required"] = {"activity_id", "lesson", "day", "period"};
    move["properties"]["day"] = {{"type", "integer"}, {"minimum", 0}, {"maximum", 6}};
    move["properties"]["period"] = {{"type", "integer"}, {"minimum", 0}, {"maximum", 39}};
    move["properties"]["room_id"] = {{"type", {"string", "null"}}, {"maxLength", 40}};
    move["properties"]["locked"] = {{"type", "boolean"}};
    const json movesSchema = {{"type", "object"},
                              {"additionalProperties", false},
                              {"properties", {{"moves", {{"type", "array"}, {"maxItems", 50}, {"items", move}}},
                                              {"swap", {{"type", "array"}, {"minItems", 2}, {"maxItems", 2}, {"items", lessonKey}}},
                                              {"dry_run", {{"type", "boolean"}}},
                                              {"force", {{"type", "boolean"}}}}}};
    out.push_back(makeRoute(
        "POST", "/timetables/{id}/moves", "timetable.manage",
        "Move or swap lessons: answers the exact conflicts at once; applies when there are none (or with force), unless dry_run",
        [](Request& r) -> Result<Response> {
            json timetable;
            auto b = builtForTimetable(r, &timetable);
            if (!b) {
                return b.status();
            }
            auto placements = loadPlacements(r.services->db(), *b, r.param("id"));
            if (!placements) {
                return placements.status();
            }
            std::map<int, tt::Placement*> byId;
            for (auto& p : *placements) {
                byId[p.activityId] = &p;
            }
            auto engineIdOf = [&](const json& key, const std::string& pointer) -> Result<int> {
                auto it = b->engineIdOf.find({key["activity_id"].get<std::string>(), key["lesson"].get<int>()});
                if (it == b->engineIdOf.end()) {
                    return invalid(r.locale, pointer, "reference", tr(r.locale, "Aucun cours de cette activité avec ce numéro.", "No such lesson of this activity."));
                }
                return it->second;
            };
            json moves = r.json.value("moves", json::array());
            if (r.json.contains("swap")) {
                auto a = engineIdOf(r.json["swap"][0], "/swap/0");
                auto c = engineIdOf(r.json["swap"][1], "/swap/1");
                if (!a || !c) {
                    return !a ? a.status() : c.status();
                }
                if (!byId.count(*a) || !byId.count(*c)) {
                    return invalid(r.locale, "/swap", "unplaced", tr(r.locale, "Un des cours n'est pas placé.", "One of the lessons is not placed."));
                }
                const auto& pa = *byId[*a];
                const auto& pc = *byId[*c];
                auto roomId = [&](const std::string& name) { return name.empty() ? json(nullptr) : json(b->roomIdByName[name]); };
                moves.push_back({{"activity_id", r.json["swap"][0]["activity_id"]}, {"lesson", r.json["swap"][0]["lesson"]}, {"day", pc.day},
                                 {"period", pc.hour}, {"room_id", roomId(pc.room)}});
                moves.push_back({{"activity_id", r.json["swap"][1]["activity_id"]}, {"lesson", r.json["swap"][1]["lesson"]}, {"day", pa.day},
                                 {"period", pa.hour}, {"room_id", roomId(pa.room)}});
            }
            if (moves.empty()) {
                return invalid(r.locale, "/moves", "required", tr(r.locale, "Indiquez moves ou swap.", "Give moves or swap."));
            }
            std::vector<int> moved;
            for (std::size_t i = 0; i < moves.size(); ++i) {
                const json& m = moves[i];
                const std::string pointer = "/moves/" + std::to_string(i);
                auto id = engineIdOf(m, pointer);
                if (!id) {
                    return id.status();
                }
                if (m["day"].get<std::size_t>() >= b->instance.days.size() || m["period"].get<std::size_t>() >= b->instance.hours.size()) {
                    return invalid(r.locale, pointer, "range", tr(r.locale, "Jour ou période hors de la grille.", "Day or period outside the grid."));
                }
                std::string room;
                if (m.contains("room_id") && m["room_id"].is_string()) {
                    auto item = b->items.find(m["room_id"].get<std::string>());
                    if (item == b->items.end() || !b->roomIdByName.count(item->second.value("name", "")) ||
                        b->roomIdByName[item->second.value("name", "")] != m["room_id"]) {
                        return invalid(r.locale, pointer + "/room_id", "reference", tr(r.locale, "Aucune salle avec cet identifiant.", "No room with this id."));
                    }
                    room = item->second["name"];
                } else if (!m.contains("room_id") && byId.count(*id)) {
                    room = byId[*id]->room;  // stays in its room
                }
                tt::Placement p{*id, m["day"], m["period"], room, {}, m.value("locked", byId.count(*id) ? byId[*id]->locked : false)};
                if (byId.count(*id)) {
                    *byId[*id] = p;
                } else {
                    placements->push_back(p);
                    byId.clear();
                    for (auto& q : *placements) {
                        byId[q.activityId] = &q;
                    }
                }
                moved.push_back(*id);
            }
            // The fast check on the timetable after the moves.
            const auto started = std::chrono::steady_clock::now();
            ConflictIndex index(b->instance, *placements);
            std::vector<Conflict> conflicts;
            for (int id : moved) {
                auto found = index.check(*byId[id]);
                conflicts.insert(conflicts.end(), found.begin(), found.end());
            }
            // Other hard constraints broken by the moved lessons (the engine's evaluation).
            const tt::Evaluation ev = tt::evaluate(b->instance, *placements);
            for (const auto& v : ev.hard) {
                if (v.type.find("Clash") != std::string::npos || v.type.find("NotAvailable") != std::string::npos) {
                    continue;
                }
                bool involved = false;
                for (int id : v.activities) {
                    involved = involved || std::find(moved.begin(), moved.end(), id) != moved.end();
                }
                if (involved) {
                    conflicts.push_back({v.type, v.resource, v.activities, v.en, v.fr});
                }
            }
            const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
            auto list = conflictsJson(*b, conflicts, r.locale);
            if (!list) {
                return list.status();
            }
            const bool dryRun = r.json.value("dry_run", false);
            if (dryRun) {
                return Response::json(200, {{"applied", false}, {"conflicts", *list}, {"checked_in_us", micros}});
            }
            if (!list->empty() && !r.json.value("force", false)) {
                return problem(409, "timetable-conflicts",
                               tr(r.locale, "Ce déplacement crée des conflits.", "This move creates conflicts."),
                               {{"detail", (*list)[0]["message"]}, {"conflicts", *list}, {"checked_in_us", micros}});
            }
            json movedJson = json::array();
            Status s = r.services->db().transaction([&](TenantDatabase& tx) -> Status {
                for (int id : moved) {
                    const auto& p = *byId[id];
                    const auto& ref = b->lessonOf.at(id);
                    auto d = tx.execute("DELETE FROM timetable_lessons WHERE tenant_id = @tenant AND timetable_id = ? AND activity_id = ? AND lesson = ?",
                                        {r.param("id"), ref.first, std::int64_t{ref.second}});
                    if (!d) {
                        return d.status();
                    }
                    movedJson.push_back({{"activity_id", ref.first}, {"lesson", ref.second}, {"day", p.day}, {"period", p.hour}});
                }
                tt::Timetable changed;
                for (int id : moved) {
                    changed.push_back(*byId[id]);
                }
                if (auto st = saveTimetable(tx, *b, r.param("id"), changed); !st.isOk()) {
                    return st;
                }
                return r.services->publish("timetable.changed", {{"timetable_id", r.param("id")}, {"term_id", timetable["term_id"]}, {"lessons", movedJson}});
            });
            if (!s.isOk()) {
                return s;
            }
            return Response::json(200, {{"applied", true}, {"conflicts", *list}, {"moved", movedJson}, {"checked_in_us", micros}});
        },
        movesSchema));
    out.back().successStatus = 200;
    out.push_back(makeRoute("GET", "/timetables/{id}/view", "timetable.read",
                            "The lessons of a teacher, student set or room (?teacher_id, ?student_set_id, ?room_id): the weekly grid, one ?date, or one dated ?week",
                            [](Request& r) { return jsonResponse(viewFor(r)); }));
    out.push_back(makeRoute("GET", "/timetables/{id}/substitutions", "timetable.manage",
                            "The lessons an absent teacher (?teacher_id) misses on ?date (or ?from to ?to, up to 31 days), each with ranked substitutes",
                            [](Request& r) -> Result<Response> {
                                auto b = builtForTimetable(r);
                                if (!b) {
                                    return b.status();
                                }
                                const std::string teacher = r.queryParam("teacher_id");
                                const std::string from = r.queryParam("from", r.queryParam("date")), to = r.queryParam("to", from);
                                if (!b->is(teacher, "teachers")) {
                                    return notFound(r.locale);
                                }
                                if (weekdayOf(from) == 0 || weekdayOf(to) == 0) {
                                    return invalid(r.locale, weekdayOf(from) == 0 ? "/date" : "/to", "format",
                                                   tr(r.locale, "Date AAAA-MM-JJ attendue (date, ou from et to).", "A YYYY-MM-DD date is expected (date, or from and to)."));
                                }
                                if (to < from || addDays(from, 31) <= to) {
                                    return invalid(r.locale, "/to", "range", tr(r.locale, "De 1 à 31 jours.", "From 1 to 31 days."));
                                }
                                json items = json::array();
                                for (std::string date = from; date <= to; date = addDays(date, 1)) {
                                    auto lessons = lessonsView(*r.services, *b, r.param("id"), "teacher", teacher, date);
                                    if (!lessons) {
                                        return lessons.status();
                                    }
                                    for (auto& lesson : *lessons) {
                                        auto c = candidates(*r.services, *b, r.param("id"), date, lesson, teacher);
                                        if (!c) {
                                            return c.status();
                                        }
                                        lesson["candidates"] = *c;
                                        items.push_back(lesson);
                                    }
                                }
                                return Response::json(200, {{"teacher_id", teacher}, {"from", from}, {"to", to}, {"lessons", items}});
                            }));
    const json subSchema = {{"type", "object"},
                            {"additionalProperties", false},
                            {"required", {"date", "activity_id", "lesson", "absent_teacher_id", "substitute_id"}},
                            {"properties", {{"date", kDateSchema}, {"activity_id", kIdSchema}, {"lesson", {{"type", "integer"}, {"minimum", 0}, {"maximum", 19}}},
                                            {"absent_teacher_id", kIdSchema}, {"substitute_id", kIdSchema}}}};
    out.push_back(makeRoute("POST", "/timetables/{id}/substitutions", "timetable.manage",
                            "Assign a substitute to one lesson on one date (a dated override of the timetable)",
                            [](Request& r) -> Result<Response> {
                                auto b = builtForTimetable(r);
                                if (!b) {
                                    return b.status();
                                }
                                const std::string date = r.json["date"], absent = r.json["absent_teacher_id"], sub = r.json["substitute_id"];
                                if (weekdayOf(date) == 0) {
                                    return invalid(r.locale, "/date", "format", tr(r.locale, "Date invalide.", "Invalid date."));
                                }
                                auto existing = r.services->db().queryOne(
                                    "SELECT substitute_id FROM timetable_overrides WHERE tenant_id = @tenant AND timetable_id = ? AND on_date = ? AND "
                                    "activity_id = ? AND lesson = ?",
                                    {r.param("id"), date, r.json["activity_id"].get<std::string>(), std::int64_t{r.json["lesson"].get<int>()}});
                                if (!existing) {
                                    return existing.status();
                                }
                                if (*existing) {
                                    return Status(Code::kConflict, "already-substituted",
                                                  tr(r.locale, "Ce cours a déjà un remplaçant ce jour-là.", "This lesson already has a substitute that day."));
                                }
                                auto lessons = lessonsView(*r.services, *b, r.param("id"), "teacher", absent, date);
                                if (!lessons) {
                                    return lessons.status();
                                }
                                const json* lesson = nullptr;
                                for (const auto& l : *lessons) {
                                    if (l["activity_id"] == r.json["activity_id"] && l["lesson"] == r.json["lesson"]) {
                                        lesson = &l;
                                    }
                                }
                                if (!lesson) {
                                    return invalid(r.locale, "/activity_id", "reference",
                                                   tr(r.locale, "Ce professeur n'a pas ce cours ce jour-là.", "This teacher has no such lesson that day."));
                                }
                                auto c = candidates(*r.services, *b, r.param("id"), date, *lesson, absent);
                                if (!c) {
                                    return c.status();
                                }
                                bool ok = false;
                                for (const auto& cand : *c) {
                                    ok = ok || cand["teacher_id"] == sub;
                                }
                                if (!ok) {
                                    return Status(Code::kConflict, "not-a-candidate",
                                                  tr(r.locale, "Ce remplaçant n'est pas libre ou pas qualifié pour ce cours.",
                                                     "This substitute is not free or not qualified for this lesson."));
                                }
                                const std::string id = r.services->db().newId();
                                Status s = r.services->db().transaction([&](TenantDatabase& tx) -> Status {
                                    auto w = tx.execute("INSERT INTO timetable_overrides (tenant_id, id, timetable_id, on_date, activity_id, lesson, absent_id, "
                                                        "substitute_id, created_us) VALUES (@tenant, ?, ?, ?, ?, ?, ?, ?, ?)",
                                                        {id, r.param("id"), date, r.json["activity_id"].get<std::string>(),
                                                         std::int64_t{r.json["lesson"].get<int>()}, absent, sub, nowMicros()});
                                    if (!w) {
                                        return w.status().type() == "unique-violation"
                                                   ? Status(Code::kConflict, "already-substituted", tr(r.locale, "Ce cours a déjà un remplaçant.", "This lesson already has a substitute."))
                                                   : w.status();
                                    }
                                    return r.services->publish("timetable.substitution", {{"timetable_id", r.param("id")}, {"date", date},
                                                                                          {"activity_id", r.json["activity_id"]}, {"lesson", r.json["lesson"]},
                                                                                          {"absent_teacher_id", absent}, {"substitute_id", sub}});
                                });
                                if (!s.isOk()) {
                                    return s;
                                }
                                return Response::json(201, {{"id", id}, {"date", date}, {"activity_id", r.json["activity_id"]}, {"lesson", r.json["lesson"]},
                                                            {"absent_teacher_id", absent}, {"substitute_id", sub}});
                            },
                            subSchema));
    return out;
}

std::vector<LuaFunction> luaFunctions() {
    std::vector<LuaFunction> out;
    auto lessonsOf = [](const std::string& kind, const std::string& field) {
        return [kind, field](TenantServices& services, const json& args) -> Result<json> {
            const std::string date = args["date"];
            if (weekdayOf(date) == 0) {
                return Status(Code::kInvalidArgument, "validation", "date must be a real YYYY-MM-DD date");
            }
            auto& db = services.db();
            auto ref = db.queryOne("SELECT term_id FROM timetable_items WHERE tenant_id = @tenant AND id = ?", {args[field].get<std::string>()});
            if (!ref) {
                return ref.status();
            }
            if (!*ref) {
                return Status(Code::kNotFound, "not-found", "No such " + kind + ".");
            }
            auto published = publishedOf(db, (*ref)->text("term_id"));
            if (!published) {
                return published.status();
            }
            if (!*published) {
                return json{{"lessons", json::array()}};
            }
            auto b = buildInstance(db, (*ref)->text("term_id"), "en");
            if (!b) {
                return b.status();
            }
            auto lessons = lessonsView(services, *b, **published, kind, args[field], date);
            if (!lessons) {
                return lessons.status();
            }
            return json{{"lessons", *lessons}};
        };
    };
    auto schema = [](const std::string& field) {
        return json{{"type", "object"},
                    {"additionalProperties", false},
                    {"required", {field, "date"}},
                    {"properties", {{field, kIdSchema}, {"date", kDateSchema}}}};
    };
    out.push_back({"lessons_of_teacher", "The published lessons of the teacher {teacher_id} on {date}, substitutions applied", true,
                   schema("teacher_id"), lessonsOf("teacher", "teacher_id")});
    out.push_back({"lessons_of_class", "The published lessons of the student set {student_set_id} on {date}", true,
                   schema("student_set_id"), lessonsOf("student_set", "student_set_id")});
    return out;
}

}  // namespace ardoise::plugins::timetable
