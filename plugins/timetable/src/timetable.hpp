#pragma once
// Internal declarations of the timetable plugin, shared by its sources.
#include <ardoise/plugin.hpp>

#include "conflicts.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ardoise::plugins::timetable {

using nlohmann::json;

inline std::string tr(const std::string& locale, const std::string& fr, const std::string& en) {
    return locale == "en" ? en : fr;
}
std::int64_t nowMicros();

inline Status notFound(const std::string& locale) {
    return {Code::kNotFound, "not-found", tr(locale, "Aucune ressource à cette adresse.", "No such resource.")};
}
inline Status invalid(const std::string& locale, const std::string& pointer, const std::string& reason,
                      const std::string& detail) {
    return Status(Code::kInvalidArgument, "validation", tr(locale, "Certains champs sont invalides.", "Some fields are invalid."))
        .addField({pointer, reason, detail});
}
/// A Response carrying a JSON body with any status (problem bodies with structured details).
inline Response problem(int status, const std::string& type, const std::string& title, json extra) {
    extra["type"] = "https://ardoise.dev/problems/" + type;
    extra["title"] = title;
    extra["status"] = status;
    return {status, "application/problem+json", extra.dump(), {}, {}};
}

inline Route makeRoute(std::string method, std::string pattern, std::string permission, std::string summary, Handler handler,
                       json schema = nullptr) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.access = Access::kTenantUser;
    r.permission = std::move(permission);
    r.summary = std::move(summary);
    r.tag = "timetable";
    r.requestSchema = std::move(schema);
    r.handler = std::move(handler);
    if (r.method == "POST" && r.requestSchema.is_object()) {
        r.successStatus = 201;
    }
    if (r.method == "DELETE") {
        r.successStatus = 204;
    }
    return r;
}

// ---- model.cpp --------------------------------------------------------------

/// The model kinds, as in URLs: teachers, subjects, student_sets, rooms, activities, constraints.
const std::vector<std::string>& kinds();
std::vector<Route> modelRoutes();
Result<json> loadTerm(TenantDatabase& db, const std::string& termId, const std::string& locale);
/// The items of one kind of a term, in creation order: {id, name, data...}.
Result<std::vector<json>> loadItems(TenantDatabase& db, const std::string& termId, const std::string& kind);

/// The engine instance of a term, and the maps between the engine's names and ids and the plugin's.
struct Built {
    ardoise::timetable::Instance instance;
    json term;
    std::map<std::string, json> items;                      // id -> item (every kind)
    std::map<std::string, std::string> kindOf;              // id -> kind
    std::map<int, std::pair<std::string, int>> lessonOf;    // engine activity id -> (activity id, lesson)
    std::map<std::pair<std::string, int>, int> engineIdOf;  // (activity id, lesson) -> engine id
    std::map<std::string, std::string> roomIdByName;
    bool is(const std::string& id, const std::string& kind) const {
        auto it = kindOf.find(id);
        return it != kindOf.end() && it->second == kind;
    }
    std::string nameOf(const std::string& id) const {
        auto it = items.find(id);
        return it == items.end() ? id : it->second.value("name", id);
    }
};
Result<Built> buildInstance(TenantDatabase& db, const std::string& termId, const std::string& locale);
/// Expands a stored constraint's plugin activity ids to engine ids.
ardoise::timetable::Constraint engineConstraint(const Built& b, const json& item);

// ---- schedule.cpp: runs, timetables, moves, views, substitutions --------------

std::vector<Route> scheduleRoutes();
Result<json> runGeneration(const Job& job, TenantServices& services, JobControl& control);
/// A timetable row of this school (and whether the caller may see it), else not-found.
Result<json> loadTimetable(TenantDatabase& db, const std::string& id, const std::string& locale);
Result<ardoise::timetable::Timetable> loadPlacements(TenantDatabase& db, const Built& b, const std::string& timetableId);
/// The lessons of a timetable (optionally of one teacher / student set / room,
/// optionally on one date with its substitutions), as the API shows them.
Result<json> lessonsView(TenantServices& services, const Built& b, const std::string& timetableId, const std::string& kind,
                         const std::string& refId, const std::string& date);
/// May the principal see the view (kind, ref) of a term? Admins see all.
Result<bool> maySee(TenantServices& services, const Principal& p, const Built& b, const std::string& kind,
                    const std::string& refId);
/// The published timetable of a term, if any.
Result<std::optional<std::string>> publishedOf(TenantDatabase& db, const std::string& termId);
/// The view asked by the request (?teacher_id | ?student_set_id | ?room_id, ?date) of
/// the timetable {id}, if the caller may see it: {title, days, periods, lessons, …}.
Result<json> viewFor(Request& r);
/// `date` (YYYY-MM-DD, valid) plus `n` days.
std::string addDays(const std::string& date, int n);
/// Weekday (1 = Monday … 7) of a YYYY-MM-DD date; 0 when invalid.
int weekdayOf(const std::string& date);
std::vector<LuaFunction> luaFunctions();

// ---- exports.cpp -------------------------------------------------------------

std::vector<Route> exportRoutes();

// ---- fet_import.cpp ------------------------------------------------------------

std::vector<Route> importRoutes();

}  // namespace ardoise::plugins::timetable
