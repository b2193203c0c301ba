// OneRoster 1.2 CSV import and export.
//
// Mapping (see README.md): the school is one org; school years and terms
// are academicSessions; a course is derived from each (year, level) pair of
// classes; classes are homeroom classes; students, staff and guardians are
// users with their roles in roles.csv and guardian links in
// agentSourcedIds; student enrollments are enrollments, and teacher
// enrollments make the homeroom teacher (primary) or class teachers;
// birth date and sex are demographics. Custom fields travel as
// `metadata.ardoise.<key>` columns of users.csv and classes.csv.
//
// An import first reads and checks every file, collecting every row error
// (file, line, field, reason); it writes only when there is none, in one
// transaction, matching existing objects by sourcedId (or by id, for files
// this school exported), so importing the same files twice changes nothing.
#include "school.hpp"

#include <algorithm>
#include <set>

namespace ardoise::plugins::school {

namespace {

const std::vector<std::pair<std::string, std::vector<std::string>>>& specs() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> all = {
        {"orgs.csv", {"sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"}},
        {"academicSessions.csv",
         {"sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"}},
        {"courses.csv",
         {"sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId",
          "subjects", "subjectCodes"}},
        {"classes.csv",
         {"sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location",
          "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"}},
        {"users.csv",
         {"sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName",
          "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
          "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
          "primaryOrgSourcedId", "pronouns"}},
        {"roles.csv",
         {"sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate",
          "orgSourcedId", "userProfileSourcedId"}},
        {"enrollments.csv",
         {"sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary",
          "beginDate", "endDate"}},
        {"demographics.csv",
         {"sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative", "asian",
          "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
          "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
          "publicSchoolResidenceStatus"}},
    };
    return all;
}

const std::vector<std::string>& columnsOf(const std::string& file) {
    for (const auto& [name, columns] : specs()) {
        if (name == file) {
            return columns;
        }
    }
    throw std::logic_error("no OneRoster file " + file);  // a bug in this plugin
}

const std::string kMeta = "metadata.ardoise.";
constexpr std::size_t kMaxErrors = 1000;
constexpr std::size_t kBatch = 200;

// ---- reading ---------------------------------------------------------------

struct Row {
    int line = 0;
    std::map<std::string, std::string> v;
    const std::string& operator[](const std::string& k) const {
        static const std::string empty;
        auto it = v.find(k);
        return it == v.end() ? empty : it->second;
    }
};

class Report {
public:
    void add(const std::string& file, int line, const std::string& field, const std::string& reason,
             const std::string& detail) {
        ++count_;
        if (errors_.size() < kMaxErrors) {
            errors_.push_back({{"file", file}, {"line", line}, {"field", field}, {"reason", reason}, {"detail", detail}});
        }
    }
    bool ok() const { return count_ == 0; }
    json errors() const { return errors_; }
    std::size_t count() const { return count_; }

private:
    json errors_ = json::array();
    std::size_t count_ = 0;
};

std::vector<std::string> splitList(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ',') {
            if (!cur.empty()) {
                out.push_back(cur);
            }
            cur.clear();
        } else if (c != ' ') {
            cur += c;
        }
    }
    if (!cur.empty()) {
        out.push_back(cur);
    }
    return out;
}

std::string joinList(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& s : list) {
        out += (out.empty() ? "" : ",") + s;
    }
    return out;
}

/// Reads one file's rows, checking its encoding and header.
std::vector<Row> readFile(const std::string& file, const std::string& text, Report& report, const std::string& l) {
    if (!validUtf8(text)) {
        int line = 1;
        std::size_t good = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '\n') {
                if (!validUtf8(text.substr(good, i - good))) {
                    break;
                }
                ++line;
                good = i + 1;
            }
        }
        report.add(file, line, "", "encoding", tr(l, "le fichier n'est pas en UTF-8", "the file is not UTF-8"));
        return {};
    }
    auto records = parseCsv(text);
    if (!records) {
        report.add(file, std::stoi(records.status().extras().front().second), "", "csv",
                   tr(l, "guillemet jamais refermé", "a quoted cell never ends"));
        return {};
    }
    if (records->empty()) {
        report.add(file, 1, "", "header", tr(l, "fichier vide : l'en-tête manque", "empty file: the header is missing"));
        return {};
    }
    const auto& header = records->front().cells;
    const auto& expected = columnsOf(file);
    std::set<std::string> seen;
    for (const auto& h : header) {
        if (!seen.insert(h).second) {
            report.add(file, 1, h, "header", tr(l, "colonne en double", "duplicate column"));
        } else if (std::find(expected.begin(), expected.end(), h) == expected.end() && h.rfind("metadata.", 0) != 0) {
            report.add(file, 1, h, "header", tr(l, "colonne inconnue de OneRoster 1.2", "not a OneRoster 1.2 column"));
        }
    }
    for (const auto& c : expected) {
        if (seen.count(c) == 0) {
            report.add(file, 1, c, "header", tr(l, "colonne obligatoire absente de l'en-tête", "required column missing from the header"));
        }
    }
    if (!report.ok()) {
        return {};
    }
    std::vector<Row> rows;
    for (std::size_t i = 1; i < records->size(); ++i) {
        const auto& rec = (*records)[i];
        if (rec.cells.size() != header.size()) {
            report.add(file, rec.line, "", "columns",
                       tr(l, std::to_string(rec.cells.size()) + " cellules au lieu de " + std::to_string(header.size()),
                          std::to_string(rec.cells.size()) + " cells instead of " + std::to_string(header.size())));
            continue;
        }
        Row row{rec.line, {}};
        for (std::size_t c = 0; c < header.size(); ++c) {
            row.v[header[c]] = rec.cells[c];
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

// ---- the model being imported ---------------------------------------------

struct CustomDef {
    std::string entity;
    std::string key;
    std::string type;
};

struct Known {
    std::map<std::string, std::string> ids;  ///< sourcedId (or id) → id
    std::map<std::string, std::string> extra;  ///< id → a detail (a user's kind, a term's year, a class's year)
};

Result<Known> loadKnown(TenantDatabase& db, const std::string& table, const std::string& extraColumn) {
    auto rows = db.query("SELECT id, source_id" + (extraColumn.empty() ? std::string() : ", " + extraColumn + " AS extra") +
                         " FROM " + table + " WHERE tenant_id = @tenant");
    if (!rows) {
        return rows.status();
    }
    Known k;
    for (const auto& r : *rows) {
        k.ids[r.text("id")] = r.text("id");
        if (!r.isNull("source_id")) {
            k.ids[r.text("source_id")] = r.text("id");
        }
        if (!extraColumn.empty()) {
            k.extra[r.text("id")] = r.text("extra");
        }
    }
    return k;
}

std::string userKindOfRole(const std::string& role) {
    if (role == "student") {
        return "student";
    }
    if (role == "guardian" || role == "parent" || role == "relative") {
        return "guardian";
    }
    if (role == "teacher") {
        return "teacher";
    }
    static const std::set<std::string> admins = {"administrator", "principal", "siteAdministrator", "districtAdministrator",
                                                 "systemAdministrator"};
    if (admins.count(role) != 0) {
        return "administrator";
    }
    static const std::set<std::string> staff = {"aide", "counselor", "proctor"};
    return staff.count(role) != 0 ? "staff" : "";
}

/// Batched multi-row INSERTs (`suffix` may add ON CONFLICT …).
Status insertMany(TenantDatabase& db, const std::string& table, const std::vector<std::string>& columns,
                  const std::vector<std::vector<SqlValue>>& rows, const std::string& suffix,
                  const std::function<void(std::size_t)>& progressed) {
    std::string head = "INSERT INTO " + table + " (tenant_id";
    std::string tuple = "(@tenant";
    for (const auto& c : columns) {
        head += ", " + c;
        tuple += ", ?";
    }
    head += ") VALUES ";
    tuple += ")";
    for (std::size_t start = 0; start < rows.size(); start += kBatch) {
        const std::size_t end = std::min(rows.size(), start + kBatch);
        std::string sql = head;
        std::vector<SqlValue> params;
        params.reserve((end - start) * columns.size());
        for (std::size_t i = start; i < end; ++i) {
            sql += (i == start ? "" : ", ") + tuple;
            params.insert(params.end(), rows[i].begin(), rows[i].end());
        }
        auto n = db.execute(sql + suffix, params);
        if (!n) {
            return n.status();
        }
        progressed(end - start);
    }
    return Status::ok();
}

Status updateOne(TenantDatabase& db, const std::string& table, const std::vector<std::string>& columns,
                 std::vector<SqlValue> values, const std::string& id) {
    std::string sql = "UPDATE " + table + " SET ";
    for (std::size_t i = 0; i < columns.size(); ++i) {
        sql += (i == 0 ? "" : ", ") + columns[i] + " = ?";
    }
    values.emplace_back(id);
    auto n = db.execute(sql + " WHERE tenant_id = @tenant AND id = ?", values);
    return n ? Status::ok() : n.status();
}

/// Batched UPDATEs: `rows` hold the id first, then the values that `set`
/// names as v.column2, v.column3… (VALUES columns are column1… on both
/// databases); `set` may also read the row being changed as `<table>.<column>`.
Status updateMany(TenantDatabase& db, const std::string& table, const std::string& set,
                  const std::vector<std::vector<SqlValue>>& rows, const std::function<void(std::size_t)>& progressed) {
    for (std::size_t start = 0; start < rows.size(); start += kBatch) {
        const std::size_t end = std::min(rows.size(), start + kBatch);
        std::string values;
        std::vector<SqlValue> params;
        for (std::size_t i = start; i < end; ++i) {
            values += i == start ? "(" : ", (";
            for (std::size_t c = 0; c < rows[i].size(); ++c) {
                values += c == 0 ? "?" : ", ?";
            }
            values += ")";
            params.insert(params.end(), rows[i].begin(), rows[i].end());
        }
        auto n = db.execute("UPDATE " + table + " SET " + set + " FROM (VALUES " + values + ") AS v WHERE " + table +
                                ".tenant_id = @tenant AND " + table + ".id = v.column1",
                            params);
        if (!n) {
            return n.status();
        }
        progressed(end - start);
    }
    return Status::ok();
}

SqlValue orNull(const std::string& s) { return s.empty() ? SqlValue(std::monostate{}) : SqlValue(s); }

/// The custom values of a row's metadata.ardoise.* cells for `entity`, as JSON.
json customOf(const Row& row, const std::string& entity, const std::vector<CustomDef>& defs, const std::string& file,
              Report& report, const std::string& l) {
    json out = json::object();
    for (const auto& [col, value] : row.v) {
        if (col.rfind(kMeta, 0) != 0 || value.empty()) {
            continue;
        }
        const std::string key = col.substr(kMeta.size());
        auto def = std::find_if(defs.begin(), defs.end(), [&](const CustomDef& d) { return d.entity == entity && d.key == key; });
        if (def == defs.end()) {
            report.add(file, row.line, col, "unknown-field",
                       tr(l, "aucun champ personnalisé « " + key + " » pour ce type de fiche",
                          "no custom field '" + key + "' for this kind of record"));
            continue;
        }
        if (def->type == "integer") {
            try {
                std::size_t used = 0;
                const long long n = std::stoll(value, &used);
                out[key] = used == value.size() ? json(n) : json(value);
            } catch (...) {
                out[key] = value;
            }
        } else if (def->type == "boolean") {
            out[key] = value == "true" ? json(true) : value == "false" ? json(false) : json(value);
        } else {
            out[key] = value;
        }
    }
    return out;
}

std::string customCell(const json& custom, const std::string& key) {
    if (!custom.is_object() || !custom.contains(key) || custom[key].is_null()) {
        return "";
    }
    const json& v = custom[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

Result<json> importOneRoster(TenantServices& services, const json& files, bool dryRun, JobControl* control,
                             const std::string& l) {
    auto& db = services.db();
    Report report;
    std::map<std::string, std::vector<Row>> in;
    std::size_t total = 0;
    for (const auto& [name, text] : files.items()) {
        if (name == "manifest.csv") {
            continue;  // informative only; every listed file is read
        }
        bool known = false;
        for (const auto& [specName, cols] : specs()) {
            known = known || specName == name;
        }
        std::optional<std::string> content;
        if (text.is_string()) {
            content = text.get<std::string>();
        } else if (text.is_object() && text.contains("base64") && text["base64"].is_string()) {
            content = base64Decode(text["base64"].get<std::string>());
        }
        if (!known || !content) {
            report.add(name, 0, "", "unknown-file",
                       tr(l, "fichier inconnu de OneRoster 1.2, ou contenu ni texte ni base64 valide",
                          "not a OneRoster 1.2 file, or its content is neither text nor valid base64"));
            continue;
        }
        in[name] = readFile(name, *content, report, l);
        total += in[name].size();
    }

    auto defsRows = db.query("SELECT entity, field_key, type FROM school_fields WHERE tenant_id = @tenant");
    if (!defsRows) {
        return defsRows.status();
    }
    std::vector<CustomDef> defs;
    for (const auto& d : *defsRows) {
        defs.push_back({d.text("entity"), d.text("field_key"), d.text("type")});
    }
    auto years = loadKnown(db, "school_years", "");
    auto terms = loadKnown(db, "school_terms", "year_id");
    auto classes = loadKnown(db, "school_classes", "year_id");
    auto students = loadKnown(db, "school_students", "number");
    auto staff = loadKnown(db, "school_staff", "");
    auto guardians = loadKnown(db, "school_guardians", "");
    auto enrollments = loadKnown(db, "school_enrollments", "");
    auto teachers = db.query("SELECT class_id, staff_id, source_id FROM school_class_teachers WHERE tenant_id = @tenant");
    for (const Status& s : {years.status(), terms.status(), classes.status(), students.status(), staff.status(),
                            guardians.status(), enrollments.status(), teachers.status()}) {
        if (!s.isOk()) {
            return s;
        }
    }

    auto required = [&](const std::string& file, const Row& row, const std::string& field) {
        if (row[field].empty()) {
            report.add(file, row.line, field, "required", tr(l, "valeur obligatoire", "a value is required"));
            return false;
        }
        return true;
    };
    auto date = [&](const std::string& file, const Row& row, const std::string& field, bool mandatory) {
        if (row[field].empty()) {
            return mandatory ? required(file, row, field) : true;
        }
        if (!validDate(row[field])) {
            report.add(file, row.line, field, "date", tr(l, "date invalide (AAAA-MM-JJ attendu)", "not a date (YYYY-MM-DD)"));
            return false;
        }
        return true;
    };
    auto oneOf = [&](const std::string& file, const Row& row, const std::string& field, const std::set<std::string>& values) {
        if (values.count(row[field]) == 0) {
            report.add(file, row.line, field, "enum",
                       tr(l, "valeur inattendue « " + row[field] + " »", "unexpected value '" + row[field] + "'"));
            return false;
        }
        return true;
    };
    /// sourcedIds unique within a file.
    auto uniqueIds = [&](const std::string& file) {
        std::map<std::string, int> firstLine;
        for (const auto& row : in[file]) {
            if (!required(file, row, "sourcedId")) {
                continue;
            }
            auto [it, fresh] = firstLine.emplace(row["sourcedId"], row.line);
            if (!fresh) {
                report.add(file, row.line, "sourcedId", "duplicate",
                           tr(l, "sourcedId déjà utilisé ligne " + std::to_string(it->second),
                              "sourcedId already used on line " + std::to_string(it->second)));
            }
        }
    };
    for (const auto& [file, rows] : in) {
        uniqueIds(file);
        for (const auto& row : rows) {
            if (!row["status"].empty() && row["status"] != "active") {
                report.add(file, row.line, "status", "bulk-only",
                           tr(l, "seul l'import complet est pris en charge : status doit être vide ou « active »",
                              "only bulk imports are supported: status must be empty or 'active'"));
            }
        }
    }

    // orgs: the first school org is this school.
    const Row* org = nullptr;
    for (const auto& row : in["orgs.csv"]) {
        required("orgs.csv", row, "name");
        oneOf("orgs.csv", row, "type", {"department", "school", "district", "local", "state", "national"});
        if (org == nullptr && row["type"] == "school") {
            org = &row;
        }
    }

    // academicSessions
    std::map<std::string, const Row*> sessions;
    for (const auto& row : in["academicSessions.csv"]) {
        sessions[row["sourcedId"]] = &row;
    }
    for (const auto& row : in["academicSessions.csv"]) {
        const std::string f = "academicSessions.csv";
        required(f, row, "title");
        const bool t = oneOf(f, row, "type", {"gradingPeriod", "semester", "schoolYear", "term"});
        if (date(f, row, "startDate", true) && date(f, row, "endDate", true) && row["startDate"] > row["endDate"]) {
            report.add(f, row.line, "endDate", "date-order", tr(l, "avant startDate", "before startDate"));
        }
        if (t && row["type"] != "schoolYear") {
            auto p = sessions.find(row["parentSourcedId"]);
            const bool inFile = p != sessions.end() && (*p->second)["type"] == "schoolYear";
            if (!inFile && years->ids.count(row["parentSourcedId"]) == 0) {
                report.add(f, row.line, "parentSourcedId", "unknown-reference",
                           tr(l, "aucune année scolaire (schoolYear) n'a ce sourcedId", "no schoolYear session has this sourcedId"));
            }
        }
    }
    /// The year sourcedId (or id) a session belongs to, "" when unknown.
    auto yearOfSession = [&](const std::string& sid) -> std::string {
        auto s = sessions.find(sid);
        if (s != sessions.end()) {
            return (*s->second)["type"] == "schoolYear" ? sid : (*s->second)["parentSourcedId"];
        }
        if (years->ids.count(sid) != 0) {
            return sid;
        }
        auto t = terms->ids.find(sid);
        return t != terms->ids.end() ? terms->extra[t->second] : "";
    };

    // courses
    std::map<std::string, const Row*> courses;
    for (const auto& row : in["courses.csv"]) {
        courses[row["sourcedId"]] = &row;
        required("courses.csv", row, "title");
    }

    // classes
    std::map<std::string, const Row*> classRows;
    std::map<std::string, json> classCustom;
    for (const auto& row : in["classes.csv"]) {
        const std::string f = "classes.csv";
        classRows[row["sourcedId"]] = &row;
        required(f, row, "title");
        oneOf(f, row, "classType", {"homeroom", "scheduled"});
        if (required(f, row, "courseSourcedId") && courses.count(row["courseSourcedId"]) == 0) {
            report.add(f, row.line, "courseSourcedId", "unknown-reference",
                       tr(l, "aucun cours de courses.csv n'a ce sourcedId", "no course of courses.csv has this sourcedId"));
        }
        if (required(f, row, "termSourcedIds")) {
            for (const auto& t : splitList(row["termSourcedIds"])) {
                if (yearOfSession(t).empty()) {
                    report.add(f, row.line, "termSourcedIds", "unknown-reference",
                               tr(l, "session inconnue « " + t + " »", "unknown session '" + t + "'"));
                }
            }
        }
        classCustom[row["sourcedId"]] = customOf(row, "class", defs, f, report, l);
    }

    // roles, then users
    std::map<std::string, std::string> roleOf;  // user sourcedId → OneRoster role (the primary one)
    for (const auto& row : in["roles.csv"]) {
        const std::string f = "roles.csv";
        required(f, row, "userSourcedId");
        oneOf(f, row, "roleType", {"primary", "secondary"});
        if (userKindOfRole(row["role"]).empty()) {
            report.add(f, row.line, "role", "enum", tr(l, "rôle non pris en charge « " + row["role"] + " »",
                                                       "unsupported role '" + row["role"] + "'"));
        }
        date(f, row, "beginDate", false);
        date(f, row, "endDate", false);
        if (row["roleType"] == "primary" || roleOf.count(row["userSourcedId"]) == 0) {
            roleOf[row["userSourcedId"]] = row["role"];
        }
    }
    std::map<std::string, const Row*> users;
    std::map<std::string, std::string> kindOf;  // user sourcedId → student | guardian | teacher | staff | administrator
    std::map<std::string, std::pair<int, std::string>> numbers;  // student number → line, sourcedId
    for (const auto& row : in["users.csv"]) {
        users[row["sourcedId"]] = &row;
    }
    auto kindOfUser = [&](const std::string& sid) -> std::string {
        auto r = roleOf.find(sid);
        if (r != roleOf.end()) {
            return userKindOfRole(r->second);
        }
        if (students->ids.count(sid) != 0) {
            return "student";
        }
        if (guardians->ids.count(sid) != 0) {
            return "guardian";
        }
        return staff->ids.count(sid) != 0 ? "teacher" : "";
    };
    std::map<std::string, json> userCustom;
    for (const auto& row : in["users.csv"]) {
        const std::string f = "users.csv";
        required(f, row, "givenName");
        required(f, row, "familyName");
        oneOf(f, row, "enabledUser", {"true", "false"});
        if (!row["email"].empty() && row["email"].find('@') == std::string::npos) {
            report.add(f, row.line, "email", "format", tr(l, "adresse électronique invalide", "not an email address"));
        }
        const std::string kind = kindOfUser(row["sourcedId"]);
        kindOf[row["sourcedId"]] = kind;
        if (kind.empty()) {
            report.add(f, row.line, "sourcedId", "no-role",
                       tr(l, "aucun rôle pour cet utilisateur dans roles.csv", "no role for this user in roles.csv"));
            continue;
        }
        if (kind == "student" && !row["identifier"].empty()) {
            auto [it, fresh] = numbers.emplace(row["identifier"], std::make_pair(row.line, row["sourcedId"]));
            if (!fresh) {
                report.add(f, row.line, "identifier", "duplicate",
                           tr(l, "matricule déjà utilisé ligne " + std::to_string(it->second.first),
                              "student number already used on line " + std::to_string(it->second.first)));
            }
        }
        for (const auto& agent : splitList(row["agentSourcedIds"])) {
            const std::string other = kindOfUser(agent);
            const bool fits = (kind == "student" && other == "guardian") || (kind == "guardian" && other == "student");
            if (!fits) {
                report.add(f, row.line, "agentSourcedIds", "unknown-reference",
                           tr(l, "« " + agent + " » n'est pas un responsable (ou un élève) connu",
                              "'" + agent + "' is not a known guardian (or student)"));
            }
        }
        const std::string entity = kind == "student" ? "student" : kind == "guardian" ? "guardian" : "staff";
        userCustom[row["sourcedId"]] = customOf(row, entity, defs, f, report, l);
    }
    // A student number must not belong to another student already in the school.
    std::map<std::string, std::string> studentOfNumber;
    for (const auto& [id, number] : students->extra) {
        if (!number.empty()) {
            studentOfNumber[number] = id;
        }
    }
    for (const auto& [number, where] : numbers) {
        auto owner = studentOfNumber.find(number);
        auto self = students->ids.find(where.second);
        if (owner != studentOfNumber.end() && (self == students->ids.end() || self->second != owner->second)) {
            report.add("users.csv", where.first, "identifier", "duplicate",
                       tr(l, "matricule d'un autre élève de l'établissement", "the number of another student of the school"));
        }
    }
    for (const auto& [sid, custom] : userCustom) {
        const std::string kind = kindOf[sid];
        const std::string entity = kind == "student" ? "student" : kind == "guardian" ? "guardian" : "staff";
        Status s = checkCustom(db, entity, custom, "", l);
        for (const auto& fe : s.fields()) {
            report.add("users.csv", users[sid]->line, kMeta + fe.pointer.substr(1), fe.reason, fe.detail);
        }
    }
    for (const auto& [sid, custom] : classCustom) {
        Status s = checkCustom(db, "class", custom, "", l);
        for (const auto& fe : s.fields()) {
            report.add("classes.csv", classRows[sid]->line, kMeta + fe.pointer.substr(1), fe.reason, fe.detail);
        }
    }

    // enrollments
    for (const auto& row : in["enrollments.csv"]) {
        const std::string f = "enrollments.csv";
        const bool roleOk = oneOf(f, row, "role", {"student", "teacher"});
        oneOf(f, row, "primary", {"true", "false", ""});
        date(f, row, "beginDate", false);
        date(f, row, "endDate", false);
        if (classRows.count(row["classSourcedId"]) == 0 && classes->ids.count(row["classSourcedId"]) == 0) {
            report.add(f, row.line, "classSourcedId", "unknown-reference",
                       tr(l, "aucune classe n'a ce sourcedId", "no class has this sourcedId"));
        }
        const std::string kind = kindOfUser(row["userSourcedId"]);
        const bool userOk = row["role"] == "student" ? kind == "student" : (kind == "teacher" || kind == "staff" || kind == "administrator");
        if (roleOk && (!userOk || (users.count(row["userSourcedId"]) == 0 && students->ids.count(row["userSourcedId"]) == 0 &&
                                   staff->ids.count(row["userSourcedId"]) == 0))) {
            report.add(f, row.line, "userSourcedId", "unknown-reference",
                       tr(l, "aucun utilisateur de ce rôle n'a ce sourcedId", "no user with this role has this sourcedId"));
        }
    }

    // demographics
    for (const auto& row : in["demographics.csv"]) {
        const std::string f = "demographics.csv";
        date(f, row, "birthDate", false);
        if (!row["sex"].empty()) {
            oneOf(f, row, "sex", {"male", "female", "other", "unspecified"});
        }
        if (kindOfUser(row["sourcedId"]) != "student") {
            report.add(f, row.line, "sourcedId", "unknown-reference",
                       tr(l, "aucun élève n'a ce sourcedId", "no student has this sourcedId"));
        }
    }

    json counts = json::object();
    for (const auto& [file, rows] : in) {
        counts[file] = rows.size();
    }
    json result = {{"valid", report.ok()}, {"dry_run", dryRun}, {"errors", report.errors()},
                   {"error_count", report.count()}, {"counts", counts}};
    if (!report.ok() || dryRun) {
        return result;
    }

    // ---- writing: one transaction ------------------------------------------
    // Progress counts rows of the files: inserts move it during a stage, and
    // each finished stage settles it to the rows of the files it read.
    std::size_t done = 0;
    std::size_t settled = 0;
    auto publishProgress = [&] {
        if (control != nullptr) {
            control->progress({{"done", done}, {"total", total}});
        }
    };
    auto progressed = [&](std::size_t n) {
        done = std::min(done + n, total);
        publishProgress();
    };
    auto settle = [&](std::initializer_list<const char*> stageFiles) {
        for (const char* file : stageFiles) {
            settled += in[file].size();
        }
        done = settled;
        publishProgress();
    };
    const std::int64_t at = now();
    auto idFor = [&](Known& k, const std::string& sid, bool& fresh) {
        auto it = k.ids.find(sid);
        fresh = it == k.ids.end();
        if (fresh) {
            const std::string id = db.newId();
            k.ids[sid] = id;
            return id;
        }
        return it->second;
    };
    Status written = db.transaction([&](TenantDatabase& tx) -> Status {
        if (org != nullptr) {
            auto n = tx.execute("DELETE FROM school_orgs WHERE tenant_id = @tenant", {});
            if (!n) {
                return n.status();
            }
            auto i = tx.execute("INSERT INTO school_orgs (tenant_id, id, source_id, name, type, identifier) VALUES "
                                "(@tenant, ?, ?, ?, ?, ?)",
                                {tx.newId(), (*org)["sourcedId"], (*org)["name"], (*org)["type"], orNull((*org)["identifier"])});
            if (!i) {
                return i.status();
            }
        }
        settle({"orgs.csv"});

        // Years before terms: a term's year may be in the same file.
        std::vector<std::vector<SqlValue>> fresh;
        for (const bool yearPass : {true, false}) {
            fresh.clear();
            for (const auto& row : in["academicSessions.csv"]) {
                if ((row["type"] == "schoolYear") != yearPass) {
                    continue;
                }
                bool isNew = false;
                const std::string key = row["startDate"] + " " + fold(row["title"]);
                if (yearPass) {
                    const std::string id = idFor(*years, row["sourcedId"], isNew);
                    if (isNew) {
                        fresh.push_back({id, row["sourcedId"], row["title"], row["startDate"], row["endDate"], std::string("open"), key, at});
                    } else if (auto s = updateOne(tx, "school_years", {"name", "starts_on", "ends_on", "search_key"},
                                                  {row["title"], row["startDate"], row["endDate"], key}, id);
                               !s.isOk()) {
                        return s;
                    }
                } else {
                    const std::string yearId = years->ids[row["parentSourcedId"]];
                    const std::string id = idFor(*terms, row["sourcedId"], isNew);
                    terms->extra[id] = row["parentSourcedId"];
                    if (isNew) {
                        fresh.push_back({id, row["sourcedId"], yearId, row["title"], row["startDate"], row["endDate"], key, at});
                    } else if (auto s = updateOne(tx, "school_terms", {"year_id", "name", "starts_on", "ends_on", "search_key"},
                                                  {yearId, row["title"], row["startDate"], row["endDate"], key}, id);
                               !s.isOk()) {
                        return s;
                    }
                }
            }
            Status s = yearPass ? insertMany(tx, "school_years",
                                             {"id", "source_id", "name", "starts_on", "ends_on", "status", "search_key", "created_at"},
                                             fresh, "", progressed)
                                : insertMany(tx, "school_terms",
                                             {"id", "source_id", "year_id", "name", "starts_on", "ends_on", "search_key", "created_at"},
                                             fresh, "", progressed);
            if (!s.isOk()) {
                return s;
            }
        }
        settle({"academicSessions.csv", "courses.csv"});

        // Users: staff, students (with their demographics), guardians.
        std::map<std::string, const Row*> demo;
        for (const auto& row : in["demographics.csv"]) {
            demo[row["sourcedId"]] = &row;
        }
        std::vector<std::vector<SqlValue>> freshStaff, freshStudents, freshGuardians, oldStaff, oldStudents, oldGuardians;
        for (const auto& row : in["users.csv"]) {
            const std::string sid = row["sourcedId"];
            const std::string kind = kindOf[sid];
            const std::string custom = userCustom[sid].dump();
            bool isNew = false;
            if (kind == "student") {
                const std::string id = idFor(*students, sid, isNew);
                const Row* d = demo.count(sid) != 0 ? demo[sid] : nullptr;
                const SqlValue birth = d != nullptr ? orNull((*d)["birthDate"]) : SqlValue(std::monostate{});
                const SqlValue sex = d != nullptr ? orNull((*d)["sex"]) : SqlValue(std::monostate{});
                const std::string status = row["enabledUser"] == "false" ? "left" : "active";
                const std::string key = personSearchKey(row["givenName"], row["familyName"], row["identifier"]);
                if (isNew) {
                    freshStudents.push_back({id, sid, orNull(row["identifier"]), row["givenName"], row["familyName"], birth, sex,
                                             orNull(row["email"]), status, custom, key, at});
                } else {
                    oldStudents.push_back({id, orNull(row["identifier"]), row["givenName"], row["familyName"], orNull(row["email"]),
                                           custom, key, std::string(d != nullptr ? "1" : "0"), birth, sex, row["enabledUser"]});
                }
            } else if (kind == "guardian") {
                const std::string id = idFor(*guardians, sid, isNew);
                const std::string key = personSearchKey(row["givenName"], row["familyName"], "");
                if (isNew) {
                    freshGuardians.push_back({id, sid, row["givenName"], row["familyName"], orNull(row["email"]),
                                              orNull(row["phone"]), custom, key, at});
                } else {
                    oldGuardians.push_back(
                        {id, row["givenName"], row["familyName"], orNull(row["email"]), orNull(row["phone"]), custom, key});
                }
            } else {
                const std::string id = idFor(*staff, sid, isNew);
                const std::string key = personSearchKey(row["givenName"], row["familyName"], row["identifier"]);
                if (isNew) {
                    freshStaff.push_back({id, sid, orNull(row["identifier"]), row["givenName"], row["familyName"],
                                          orNull(row["email"]), kind, std::string("[]"), custom, key, at});
                } else {
                    oldStaff.push_back({id, orNull(row["identifier"]), row["givenName"], row["familyName"], orNull(row["email"]),
                                        kind, custom, key});
                }
            }
        }
        // Rows already here: demographics only when given; only a change of enabledUser changes the status.
        if (auto s = updateMany(tx, "school_students",
                                "number = v.column2, given_name = v.column3, family_name = v.column4, email = v.column5, "
                                "custom = v.column6, search_key = v.column7, "
                                "birth_date = CASE WHEN v.column8 = '1' THEN v.column9 ELSE school_students.birth_date END, "
                                "sex = CASE WHEN v.column8 = '1' THEN v.column10 ELSE school_students.sex END, "
                                "status = CASE WHEN v.column11 = 'false' AND school_students.status IN ('active', 'suspended') "
                                "THEN 'left' WHEN v.column11 = 'true' AND school_students.status IN ('left', 'graduated') "
                                "THEN 'active' ELSE school_students.status END",
                                oldStudents, progressed);
            !s.isOk()) {
            return s;
        }
        if (auto s = updateMany(tx, "school_guardians",
                                "given_name = v.column2, family_name = v.column3, email = v.column4, phone = v.column5, "
                                "custom = v.column6, search_key = v.column7",
                                oldGuardians, progressed);
            !s.isOk()) {
            return s;
        }
        if (auto s = updateMany(tx, "school_staff",
                                "number = v.column2, given_name = v.column3, family_name = v.column4, email = v.column5, "
                                "role = v.column6, custom = v.column7, search_key = v.column8",
                                oldStaff, progressed);
            !s.isOk()) {
            return s;
        }
        if (auto s = insertMany(tx, "school_staff",
                                {"id", "source_id", "number", "given_name", "family_name", "email", "role", "subject_ids",
                                 "custom", "search_key", "created_at"},
                                freshStaff, "", progressed);
            !s.isOk()) {
            return s;
        }
        if (auto q = countStudents(services, static_cast<std::int64_t>(freshStudents.size())); !q.isOk()) {
            return q;
        }
        if (auto s = insertMany(tx, "school_students",
                                {"id", "source_id", "number", "given_name", "family_name", "birth_date", "sex", "email",
                                 "status", "custom", "search_key", "created_at"},
                                freshStudents, "", progressed);
            !s.isOk()) {
            return s;
        }
        if (auto s = insertMany(tx, "school_guardians",
                                {"id", "source_id", "given_name", "family_name", "email", "phone", "custom", "search_key",
                                 "created_at"},
                                freshGuardians, "", progressed);
            !s.isOk()) {
            return s;
        }
        // Demographics of students not in users.csv.
        for (const auto& row : in["demographics.csv"]) {
            if (users.count(row["sourcedId"]) == 0) {
                if (auto s = updateOne(tx, "school_students", {"birth_date", "sex"}, {orNull(row["birthDate"]), orNull(row["sex"])},
                                       students->ids[row["sourcedId"]]);
                    !s.isOk()) {
                    return s;
                }
            }
        }
        settle({"users.csv", "roles.csv", "demographics.csv"});

        // Guardian links, from both sides' agentSourcedIds; the guardian's role is the relationship.
        std::map<std::pair<std::string, std::string>, std::string> links;
        for (const auto& row : in["users.csv"]) {
            const std::string sid = row["sourcedId"];
            for (const auto& agent : splitList(row["agentSourcedIds"])) {
                const bool isStudent = kindOf[sid] == "student";
                const std::string studentSid = isStudent ? sid : agent;
                const std::string guardianSid = isStudent ? agent : sid;
                const std::string role = roleOf.count(guardianSid) != 0 ? roleOf[guardianSid] : "guardian";
                links[{students->ids[studentSid], guardians->ids[guardianSid]}] = role;
            }
        }
        std::vector<std::vector<SqlValue>> linkRows;
        for (const auto& [pair, role] : links) {
            linkRows.push_back({pair.first, pair.second, role});
        }
        if (auto s = insertMany(tx, "school_student_guardians", {"student_id", "guardian_id", "relationship"}, linkRows,
                                // A OneRoster role keeps a more precise relationship it covers (parent: mother, father).
                                " ON CONFLICT (tenant_id, student_id, guardian_id) DO UPDATE SET relationship = CASE WHEN "
                                "(excluded.relationship = 'parent' AND school_student_guardians.relationship IN ('mother', 'father')) "
                                "OR (excluded.relationship = 'guardian' AND school_student_guardians.relationship = 'tutor') "
                                "OR (excluded.relationship = 'relative' AND school_student_guardians.relationship = 'other') "
                                "THEN school_student_guardians.relationship ELSE excluded.relationship END",
                                [](std::size_t) {});
            !s.isOk()) {
            return s;
        }

        // Classes, with their homeroom teacher from primary teacher enrollments.
        std::map<std::string, std::string> homeroom;  // class sid → staff id
        for (const auto& row : in["enrollments.csv"]) {
            if (row["role"] == "teacher" && row["primary"] == "true") {
                homeroom[row["classSourcedId"]] = staff->ids[row["userSourcedId"]];
            }
        }
        std::vector<std::vector<SqlValue>> freshClasses;
        for (const auto& row : in["classes.csv"]) {
            bool isNew = false;
            const std::string sid = row["sourcedId"];
            const std::string id = idFor(*classes, sid, isNew);
            const std::string yearId = years->ids[yearOfSession(splitList(row["termSourcedIds"]).front())];
            classes->extra[id] = yearId;
            const std::string level = (*courses[row["courseSourcedId"]])["title"];
            const SqlValue teacher = homeroom.count(sid) != 0 ? SqlValue(homeroom[sid]) : SqlValue(std::monostate{});
            if (isNew) {
                freshClasses.push_back({id, sid, yearId, row["title"], level, orNull(row["classCode"]), teacher,
                                        classCustom[sid].dump(), fold(row["title"]), at});
            } else {
                std::vector<std::string> cols = {"year_id", "name", "level", "section", "custom", "search_key"};
                std::vector<SqlValue> vals = {yearId, row["title"], level, orNull(row["classCode"]), classCustom[sid].dump(),
                                              fold(row["title"])};
                if (homeroom.count(sid) != 0) {
                    cols.emplace_back("homeroom_staff_id");
                    vals.emplace_back(teacher);
                }
                if (auto s = updateOne(tx, "school_classes", cols, vals, id); !s.isOk()) {
                    return s;
                }
            }
        }
        if (auto s = insertMany(tx, "school_classes",
                                {"id", "source_id", "year_id", "name", "level", "section", "homeroom_staff_id", "custom",
                                 "search_key", "created_at"},
                                freshClasses, "", progressed);
            !s.isOk()) {
            return s;
        }
        settle({"classes.csv"});

        // Enrollments: students, and teachers other than the homeroom one.
        std::vector<std::vector<SqlValue>> freshEnrollments, oldEnrollments, classTeachers;
        for (const auto& row : in["enrollments.csv"]) {
            const std::string classId = classes->ids[row["classSourcedId"]];
            if (row["role"] == "teacher") {
                if (row["primary"] != "true") {
                    classTeachers.push_back({classId, staff->ids[row["userSourcedId"]], row["sourcedId"]});
                }
                continue;
            }
            bool isNew = false;
            const std::string id = idFor(*enrollments, row["sourcedId"], isNew);
            const std::string studentId = students->ids[row["userSourcedId"]];
            if (isNew) {
                freshEnrollments.push_back({id, row["sourcedId"], studentId, classId, classes->extra[classId],
                                            orNull(row["beginDate"]), orNull(row["endDate"]), std::string(), at});
            } else {
                oldEnrollments.push_back(
                    {id, studentId, classId, classes->extra[classId], orNull(row["beginDate"]), orNull(row["endDate"])});
            }
        }
        if (auto s = updateMany(tx, "school_enrollments",
                                "student_id = v.column2, class_id = v.column3, year_id = v.column4, starts_on = v.column5, "
                                "ends_on = v.column6",
                                oldEnrollments, progressed);
            !s.isOk()) {
            return s;
        }
        if (auto s = insertMany(tx, "school_enrollments",
                                {"id", "source_id", "student_id", "class_id", "year_id", "starts_on", "ends_on", "search_key",
                                 "created_at"},
                                freshEnrollments,
                                " ON CONFLICT (tenant_id, student_id, class_id) DO UPDATE SET source_id = excluded.source_id, "
                                "starts_on = excluded.starts_on, ends_on = excluded.ends_on",
                                progressed);
            !s.isOk()) {
            return s;
        }
        if (auto s = insertMany(tx, "school_class_teachers", {"class_id", "staff_id", "source_id"}, classTeachers,
                                " ON CONFLICT (tenant_id, class_id, staff_id) DO UPDATE SET source_id = excluded.source_id",
                                progressed);
            !s.isOk()) {
            return s;
        }
        settle({"enrollments.csv"});
        return services.publish("school.import.completed", {{"counts", counts}});
    });
    if (!written.isOk()) {
        return written;
    }
    result["imported"] = true;
    return result;
}

Result<json> exportOneRoster(TenantServices& services) {
    auto& db = services.db();
    const TenantContext& tenant = services.tenant();
    std::map<std::string, std::string> out;
    auto sidOf = [](const SqlRow& r, const std::string& prefix = "") {
        return r.isNull(prefix + "source_id") ? r.text(prefix + "id") : r.text(prefix + "source_id");
    };
    auto q = [&](const std::string& sql) { return db.query(sql); };

    auto defs = q("SELECT entity, field_key FROM school_fields WHERE tenant_id = @tenant ORDER BY field_key");
    auto org = db.queryOne("SELECT * FROM school_orgs WHERE tenant_id = @tenant");
    auto years = q("SELECT * FROM school_years WHERE tenant_id = @tenant ORDER BY starts_on, id");
    auto terms = q("SELECT t.*, y.source_id AS y_source_id, y.id AS y_id FROM school_terms t JOIN school_years y ON "
                   "y.tenant_id = t.tenant_id AND y.id = t.year_id WHERE t.tenant_id = @tenant ORDER BY t.starts_on, t.id");
    auto classes = q("SELECT c.*, y.source_id AS y_source_id, y.id AS y_id FROM school_classes c JOIN school_years y ON "
                     "y.tenant_id = c.tenant_id AND y.id = c.year_id WHERE c.tenant_id = @tenant ORDER BY c.search_key, c.id");
    auto students = q("SELECT * FROM school_students WHERE tenant_id = @tenant ORDER BY search_key, id");
    auto guardians = q("SELECT * FROM school_guardians WHERE tenant_id = @tenant ORDER BY search_key, id");
    auto staff = q("SELECT * FROM school_staff WHERE tenant_id = @tenant ORDER BY search_key, id");
    auto links = q("SELECT sg.relationship, s.id AS s_id, s.source_id AS s_source_id, g.id AS g_id, g.source_id AS g_source_id "
                   "FROM school_student_guardians sg JOIN school_students s ON s.tenant_id = sg.tenant_id AND s.id = sg.student_id "
                   "JOIN school_guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id WHERE sg.tenant_id = @tenant "
                   "ORDER BY s.id, g.id");
    auto enrollments = q("SELECT e.*, s.id AS s_id, s.source_id AS s_source_id, c.id AS c_id, c.source_id AS c_source_id "
                         "FROM school_enrollments e JOIN school_students s ON s.tenant_id = e.tenant_id AND s.id = e.student_id "
                         "JOIN school_classes c ON c.tenant_id = e.tenant_id AND c.id = e.class_id WHERE e.tenant_id = @tenant "
                         "ORDER BY e.id");
    auto classTeachers = q("SELECT ct.source_id AS ct_source_id, f.id AS f_id, f.source_id AS f_source_id, c.id AS c_id, "
                           "c.source_id AS c_source_id FROM school_class_teachers ct JOIN school_staff f ON f.tenant_id = "
                           "ct.tenant_id AND f.id = ct.staff_id JOIN school_classes c ON c.tenant_id = ct.tenant_id AND "
                           "c.id = ct.class_id WHERE ct.tenant_id = @tenant ORDER BY c.id, f.id");
    for (const Status& s : {defs.status(), org.status(), years.status(), terms.status(), classes.status(), students.status(),
                            guardians.status(), staff.status(), links.status(), enrollments.status(), classTeachers.status()}) {
        if (!s.isOk()) {
            return s;
        }
    }
    std::vector<std::string> userMeta, classMeta;
    for (const auto& d : *defs) {
        auto& list = d.text("entity") == "class" ? classMeta : userMeta;
        if (std::find(list.begin(), list.end(), d.text("field_key")) == list.end()) {
            list.push_back(d.text("field_key"));
        }
    }
    auto withMeta = [](std::vector<std::string> cols, const std::vector<std::string>& meta) {
        for (const auto& m : meta) {
            cols.push_back(kMeta + m);
        }
        return cols;
    };

    const std::string orgSid = *org ? (*org)->text("source_id") : tenant.id;
    out["orgs.csv"] = csvLine(columnsOf("orgs.csv")) +
                      csvLine({orgSid, "", "", *org ? (*org)->text("name") : tenant.name, "school",
                               *org ? (*org)->text("identifier") : tenant.slug, ""});

    std::string sessions = csvLine(columnsOf("academicSessions.csv"));
    std::map<std::string, std::vector<std::string>> termsOfYear;
    std::map<std::string, std::string> yearSid;
    for (const auto& y : *years) {
        yearSid[y.text("id")] = sidOf(y);
        sessions += csvLine({sidOf(y), "", "", y.text("name"), "schoolYear", y.text("starts_on"), y.text("ends_on"), "",
                             y.text("ends_on").substr(0, 4)});
    }
    for (const auto& t : *terms) {
        termsOfYear[t.text("y_id")].push_back(sidOf(t));
        sessions += csvLine({sidOf(t), "", "", t.text("name"), "term", t.text("starts_on"), t.text("ends_on"), sidOf(t, "y_"),
                             t.text("ends_on").substr(0, 4)});
    }
    out["academicSessions.csv"] = sessions;

    std::string courses = csvLine(columnsOf("courses.csv"));
    std::string classesCsv = csvLine(withMeta(columnsOf("classes.csv"), classMeta));
    std::set<std::string> courseSids;
    std::map<std::string, std::string> staffSid;
    for (const auto& f : *staff) {
        staffSid[f.text("id")] = sidOf(f);
    }
    std::string enroll = csvLine(columnsOf("enrollments.csv"));
    for (const auto& c : *classes) {
        const std::string ysid = sidOf(c, "y_");
        std::string level = fold(c.text("level"));
        for (char& ch : level) {
            ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '-';
        }
        const std::string courseSid = "course-" + ysid + "-" + level;
        if (courseSids.insert(courseSid).second) {
            courses += csvLine({courseSid, "", "", ysid, c.text("level"), c.text("level"), "", orgSid, "", ""});
        }
        const auto& ts = termsOfYear[c.text("y_id")];
        std::vector<std::string> row = {sidOf(c), "", "", c.text("name"), "", courseSid, c.text("section"), "homeroom", "",
                                        orgSid, ts.empty() ? ysid : joinList(ts), "", "", ""};
        const json custom = json::parse(c.text("custom"), nullptr, false);
        for (const auto& m : classMeta) {
            row.push_back(customCell(custom, m));
        }
        classesCsv += csvLine(row);
        if (!c.isNull("homeroom_staff_id")) {
            enroll += csvLine({"hr-" + sidOf(c), "", "", sidOf(c), orgSid, staffSid[c.text("homeroom_staff_id")], "teacher",
                               "true", "", ""});
        }
    }
    out["courses.csv"] = courses;
    out["classes.csv"] = classesCsv;
    for (const auto& ct : *classTeachers) {
        const std::string sid = ct.isNull("ct_source_id") ? "ct-" + sidOf(ct, "c_") + "-" + sidOf(ct, "f_") : ct.text("ct_source_id");
        enroll += csvLine({sid, "", "", sidOf(ct, "c_"), orgSid, sidOf(ct, "f_"), "teacher", "false", "", ""});
    }
    for (const auto& e : *enrollments) {
        enroll += csvLine({sidOf(e), "", "", sidOf(e, "c_"), orgSid, sidOf(e, "s_"), "student", "false", e.text("starts_on"),
                           e.text("ends_on")});
    }
    out["enrollments.csv"] = enroll;

    std::map<std::string, std::vector<std::string>> agents;  // user sid → agent sids
    std::map<std::string, std::string> guardianRole;
    for (const auto& link : *links) {
        agents[sidOf(link, "s_")].push_back(sidOf(link, "g_"));
        agents[sidOf(link, "g_")].push_back(sidOf(link, "s_"));
        const std::string rel = link.text("relationship");
        const std::string role = (rel == "mother" || rel == "father" || rel == "parent") ? "parent"
                                 : (rel == "relative" || rel == "other")                 ? "relative"
                                                                                         : "guardian";
        guardianRole.emplace(sidOf(link, "g_"), role);
    }
    std::string usersCsv = csvLine(withMeta(columnsOf("users.csv"), userMeta));
    std::string roles = csvLine(columnsOf("roles.csv"));
    std::string demographics = csvLine(columnsOf("demographics.csv"));
    auto user = [&](const SqlRow& r, const std::string& role, bool enabled, const std::string& identifier,
                    const std::string& phone) {
        const std::string sid = sidOf(r);
        auto& a = agents[sid];
        std::sort(a.begin(), a.end());
        std::vector<std::string> row = {sid, "", "", enabled ? "true" : "false", r.text("email"), "", r.text("given_name"),
                                        r.text("family_name"), "", identifier, r.text("email"), "", phone, joinList(a), "", "",
                                        "", "", "", "", "", orgSid, ""};
        const json custom = json::parse(r.text("custom"), nullptr, false);
        for (const auto& m : userMeta) {
            row.push_back(customCell(custom, m));
        }
        usersCsv += csvLine(row);
        roles += csvLine({"role-" + sid, "", "", sid, "primary", role, "", "", orgSid, ""});
    };
    for (const auto& s : *students) {
        const std::string status = s.text("status");
        user(s, "student", status == "active" || status == "suspended", s.text("number"), "");
        if (!s.isNull("birth_date") || !s.isNull("sex")) {
            std::vector<std::string> row(columnsOf("demographics.csv").size());
            row[0] = sidOf(s);
            row[3] = s.text("birth_date");
            row[4] = s.text("sex");
            demographics += csvLine(row);
        }
    }
    for (const auto& f : *staff) {
        const std::string role = f.text("role") == "teacher" ? "teacher" : f.text("role") == "administrator" ? "administrator" : "aide";
        user(f, role, true, f.text("number"), "");
    }
    for (const auto& g : *guardians) {
        const std::string sid = sidOf(g);
        user(g, guardianRole.count(sid) != 0 ? guardianRole[sid] : "guardian", true, "", g.text("phone"));
    }
    out["users.csv"] = usersCsv;
    out["roles.csv"] = roles;
    out["demographics.csv"] = demographics;

    std::string manifest = csvLine({"propertyName", "value"}) + csvLine({"manifest.version", "1.0"}) +
                           csvLine({"oneroster.version", "1.2"});
    for (const std::string f : {"academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
                                "demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems",
                                "lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds", "results",
                                "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources", "users"}) {
        manifest += csvLine({"file." + f, out.count(f + ".csv") != 0 ? "bulk" : "absent"});
    }
    manifest += csvLine({"source.systemName", "Ardoise"}) + csvLine({"source.systemCode", "ardoise"});
    out["manifest.csv"] = manifest;
    json files = json::object();
    for (const auto& [name, text] : out) {
        files[name] = text;
    }
    return json{{"format", "oneroster-1.2-csv"}, {"files", files}};
}

Result<json> runImportJob(const Job& job, TenantServices& services, JobControl& control) {
    const std::string uploadId = job.payload.value("upload_id", "");
    auto upload = services.db().queryOne("SELECT files FROM school_uploads WHERE tenant_id = @tenant AND id = ?", {uploadId});
    if (!upload) {
        return upload.status();
    }
    if (!*upload) {
        return json{{"valid", false}, {"reason", "upload-gone"}};
    }
    const json files = json::parse((*upload)->text("files"), nullptr, false);
    auto report = importOneRoster(services, files, false, &control, job.payload.value("locale", "fr"));
    if (!report) {
        return report.status();  // a database failure: retried
    }
    auto removed = services.db().execute("DELETE FROM school_uploads WHERE tenant_id = @tenant AND id = ?", {uploadId});
    if (!removed) {
        return removed.status();
    }
    return *report;
}

std::vector<Route> onerosterRoutes() {
    std::vector<Route> out;
    Route import;
    import.method = "POST";
    import.pattern = "/oneroster/import";
    import.access = Access::kTenantUser;
    import.permission = "school.import";
    import.tag = "school";
    import.summary =
        "Import OneRoster 1.2 CSV files {files: {name: CSV text or {base64}}, dry_run}: a dry run answers the report at once and "
        "writes nothing; otherwise a background job (202, GET /api/v1/jobs/{id}) imports all or nothing";
    import.requestSchema = {{"type", "object"},
                            {"additionalProperties", false},
                            {"required", {"files"}},
                            {"properties",
                             {{"files", {{"type", "object"}, {"minProperties", 1}, {"maxProperties", 20},
                                         {"additionalProperties",
                                          {{"type", {"string", "object"}},
                                           {"additionalProperties", false},
                                           {"required", {"base64"}},
                                           {"properties", {{"base64", {{"type", "string"}}}}}}}}},
                              {"dry_run", {{"type", "boolean"}}}}}};
    import.handler = [](Request& r) -> Result<Response> {
        auto& services = *r.services;
        auto settings = services.settings();
        if (!settings) {
            return settings.status();
        }
        const auto limit = (*settings).value("max_import_bytes", std::int64_t{20971520});
        std::int64_t size = 0;
        for (const auto& [name, text] : r.json["files"].items()) {
            const std::string& bytes = text.is_string() ? text.get_ref<const std::string&>() : text["base64"].get_ref<const std::string&>();
            size += static_cast<std::int64_t>(text.is_string() ? bytes.size() : bytes.size() / 4 * 3);
        }
        if (size > limit) {
            return Status(Code::kPayloadTooLarge, "import-too-large",
                          tr(r.locale, "Les fichiers dépassent la taille permise (" + std::to_string(limit) + " octets).",
                             "The files exceed the allowed size (" + std::to_string(limit) + " bytes)."))
                .addExtra("max_bytes", std::to_string(limit));
        }
        if (r.json.value("dry_run", false)) {
            return jsonResponse(importOneRoster(services, r.json["files"], true, nullptr, r.locale));
        }
        const std::string uploadId = services.db().newId();
        std::string jobId;
        Status s = services.db().transaction([&](TenantDatabase& tx) -> Status {
            auto n = tx.execute("INSERT INTO school_uploads (tenant_id, id, files, created_by, created_at) VALUES (@tenant, ?, ?, ?, ?)",
                                {uploadId, r.json["files"].dump(), r.principal->id, now()});
            if (!n) {
                return n.status();
            }
            JobOptions options;
            options.maxAttempts = 3;
            options.serialKey = "oneroster_import";
            auto job = services.enqueue("oneroster_import", {{"upload_id", uploadId}, {"locale", r.locale}}, options);
            if (!job) {
                return job.status();
            }
            jobId = *job;
            return Status::ok();
        });
        if (!s.isOk()) {
            return s;
        }
        Response resp = Response::json(202, {{"job_id", jobId}, {"status_url", "/api/v1/jobs/" + jobId}});
        resp.headers.emplace_back("Location", "/api/v1/jobs/" + jobId);
        return resp;
    };
    import.successStatus = 202;
    out.push_back(std::move(import));

    Route exp;
    exp.method = "GET";
    exp.pattern = "/oneroster/export";
    exp.access = Access::kTenantUser;
    exp.permission = "school.import";
    exp.tag = "school";
    exp.summary = "The school as OneRoster 1.2 CSV files: {format, files: {file name: CSV text}}";
    exp.handler = [](Request& r) -> Result<Response> { return jsonResponse(exportOneRoster(*r.services)); };
    out.push_back(std::move(exp));
    return out;
}

}  // namespace ardoise::plugins::school
