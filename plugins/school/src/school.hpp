#pragma once
// Internal declarations of the school plugin, shared by its sources. Nothing
// here is part of the SDK: other plugins reach the school's data through the
// Lua functions it exports (TenantServices::call("school.…")).

#include <ardoise/plugin.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ardoise::plugins::school {

using nlohmann::json;

// ---- text.cpp: text, dates, CSV, time zones -------------------------------

/// Lower-case, Latin accents stripped ("Kouamé N'Guessan" → "kouame n'guessan"):
/// the form names are searched and ordered by.
std::string fold(const std::string& text);
/// True for valid UTF-8.
bool validUtf8(const std::string& text);
/// True for a real calendar date written YYYY-MM-DD.
bool validDate(const std::string& text);
/// Seconds since the epoch now.
std::int64_t now();
/// Today's date (YYYY-MM-DD) in the IANA time zone `zone` (UTC when unknown).
std::string todayIn(const std::string& zone);
/// The offset from UTC, in seconds, of `zone` at `unixTime` (0 when unknown).
std::int64_t utcOffset(const std::string& zone, std::int64_t unixTime);
/// The text for `locale` ("fr" or "en").
inline std::string tr(const std::string& locale, const std::string& fr, const std::string& en) {
    return locale == "en" ? en : fr;
}

/// One parsed CSV record and the line it starts on (1-based, header = 1).
struct CsvRecord {
    int line = 0;
    std::vector<std::string> cells;
};
/// RFC 4180 CSV. Errors: kInvalidArgument with the line of an unterminated quote.
Result<std::vector<CsvRecord>> parseCsv(const std::string& text);
/// Standard base64 (line breaks ignored); nullopt when malformed.
std::optional<std::string> base64Decode(const std::string& text);
/// A CSV line (with CRLF) quoting cells where needed.
std::string csvLine(const std::vector<std::string>& cells);

// ---- access.cpp: who sees what --------------------------------------------

/// Who is asking: an admin (school.manage) sees everything; anyone else sees
/// the students linked to their user account as the student, a guardian or a
/// teacher of one of their classes.
struct Viewer {
    bool all = false;
    std::string userId;
};
Viewer viewerOf(const Principal& principal);
/// The viewer of a user id, from the user's roles (for Lua callers).
Result<Viewer> viewerOfUser(TenantDatabase& db, const std::string& userId);

/// An SQL condition with its parameters, to AND into a statement.
struct Condition {
    std::string sql;
    std::vector<SqlValue> params;
};
/// `column` (a student id expression) is a student the viewer may see.
Condition studentVisible(const Viewer& v, const std::string& column);
/// `column` (a class id expression) is a class the viewer may see: a teacher's
/// own classes, the classes of the viewer's visible students.
Condition classVisible(const Viewer& v, const std::string& column);
/// `column` (a guardian id expression) is the viewer or a guardian of a visible student.
Condition guardianVisible(const Viewer& v, const std::string& column);
/// True when the user may see the student.
Result<bool> maySeeStudent(TenantDatabase& db, const Viewer& v, const std::string& studentId);

// ---- entities.cpp: the REST resources -------------------------------------

std::vector<Route> entityRoutes();
/// The search key of a person: folded "family given number".
std::string personSearchKey(const std::string& given, const std::string& family, const std::string& number);
/// JSON of a student row / guardian row etc. by kind ("student", …).
json rowToJson(const std::string& kind, const SqlRow& row);
/// The students of a class with their guardians, in one query.
Result<json> classRoster(TenantDatabase& db, const Viewer& v, const std::string& classId, bool withGuardians);
/// The guardians of a student the viewer may see.
Result<json> guardiansOf(TenantDatabase& db, const Viewer& v, const std::string& studentId);
/// Validates `custom` against the school's field definitions of `entity`;
/// field errors under `pointer`.
Status checkCustom(TenantDatabase& db, const std::string& entity, const json& custom, const std::string& pointer,
                   const std::string& locale);

// ---- oneroster.cpp ----------------------------------------------------------

std::vector<Route> onerosterRoutes();
/// Checks the plan's student quota before `delta` (> 0) students are
/// added, and records the change in the school's usage (also when < 0).
/// A host that does not meter usage is not an error.
Status countStudents(TenantServices& services, std::int64_t delta);

Result<json> runImportJob(const Job& job, TenantServices& services, JobControl& control);
/// Exports the school as OneRoster 1.2 CSV files: file name → CSV text.
Result<json> exportOneRoster(TenantServices& services);
/// Checks and (unless dryRun) imports OneRoster files in one transaction. The
/// report: {"valid", "dry_run", "errors": [{file, line, field, reason}], "counts"}.
Result<json> importOneRoster(TenantServices& services, const json& files, bool dryRun, JobControl* control,
                             const std::string& locale);

// ---- rollover.cpp ------------------------------------------------------------

std::vector<Route> rolloverRoutes();

// ---- shared answers --------------------------------------------------------

inline Status notFound(const std::string& locale) {
    return {Code::kNotFound, "not-found", tr(locale, "Aucune ressource à cette adresse.", "No such resource.")};
}
inline Status invalidField(const std::string& locale, const std::string& pointer, const std::string& reason,
                           const std::string& detail) {
    return Status(Code::kInvalidArgument, "validation",
                  tr(locale, "Certains champs sont invalides.", "Some fields are invalid."))
        .addField({pointer, reason, detail});
}

}  // namespace ardoise::plugins::school
