// The school's REST resources under /api/v1/school/. Each resource is
// described once (fields, schema, references, filters, who sees it, its
// events) and served by the same list/get/create/update/delete handlers.
#include "school.hpp"

#include <algorithm>
#include <functional>
#include <regex>
#include <set>

namespace ardoise::plugins::school {

namespace {

enum class Type { kText, kInteger, kBool, kJson };

struct Field {
    std::string name{};
    Type type = Type::kText;
    json schema;              ///< JSON Schema of a non-null value
    bool required = false;    ///< on create
    bool filter = false;      ///< ?name=value on lists
    std::string ref{};        ///< the table an id refers to ("" when none)
    bool writable = true;     ///< false: derived by the plugin
    json fallback = nullptr;  ///< value when absent on create
};

/// Who may see a row of the resource (besides school.manage, who sees all).
enum class Scope { kEveryone, kStudent, kClass, kGuardian, kEnrollment };

struct Entity {
    std::string kind{};  ///< "student"
    std::string path{};  ///< "students"
    std::string table{};  ///< "school_students"
    std::string custom{};  ///< custom fields' entity, "" for none
    std::vector<Field> fields{};
    Scope scope = Scope::kEveryone;
    bool patchable = true;
    std::function<std::string(const json&)> searchKey{};
    /// Checks and completes a new or changed object, inside no transaction.
    std::function<Status(TenantDatabase&, json& obj, const json* before, const std::string& locale)> prepare{};
    /// Runs in the write's transaction after it: events and follow-up writes.
    std::function<Status(TenantServices&, TenantDatabase&, const json* before, const json& after)> after{};
    std::function<Status(TenantServices&, TenantDatabase&, const json& before)> afterDelete{};
};

json nullable(json schema) {
    schema["type"] = json::array({schema["type"], "null"});
    return schema;
}

const json kId = {{"type", "string"}, {"pattern", "^[a-z0-9]{1,40}$"}, {"maxLength", 40}};
const json kName = {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}};
const json kDate = {{"type", "string"}, {"format", "date"}};
const json kShort = {{"type", "string"}, {"minLength", 1}, {"maxLength", 60}};

std::string personKey(const json& o) {
    const bool numbered = o.contains("number") && o["number"].is_string();
    return personSearchKey(o.value("given_name", ""), o.value("family_name", ""),
                           numbered ? o["number"].get<std::string>() : "");
}

Status checkDates(const json& o, const std::string& from, const std::string& to, const std::string& locale) {
    if (o[from].is_string() && o[to].is_string() && o[from].get<std::string>() > o[to].get<std::string>()) {
        return invalidField(locale, "/" + to, "date-order",
                            tr(locale, "doit être postérieure ou égale à " + from, "must not be before " + from));
    }
    return Status::ok();
}

/// kConflict "year-closed" when the year is closed (rolled over): its classes and enrollments stay as they were.
Status yearClosed(TenantDatabase& db, const std::string& yearId, const std::string& locale) {
    auto y = db.queryOne("SELECT status FROM school_years WHERE tenant_id = @tenant AND id = ?", {yearId});
    if (!y) {
        return y.status();
    }
    if (*y && (*y)->text("status") == "closed") {
        return {Code::kConflict, "year-closed", tr(locale, "Cette année scolaire est close.", "This school year is closed.")};
    }
    return Status::ok();
}

std::vector<std::string> changedFields(const json* before, const json& after) {
    std::vector<std::string> out;
    for (const auto& [k, v] : after.items()) {
        if (before == nullptr || !before->contains(k) || (*before)[k] != v) {
            out.push_back(k);
        }
    }
    return out;
}

std::vector<Entity> buildEntities() {
    std::vector<Entity> out;
    {
        Entity e{"year", "years", "school_years", "", {}, Scope::kEveryone};
        e.fields = {{"name", Type::kText, kName, true},
                    {"starts_on", Type::kText, kDate, true},
                    {"ends_on", Type::kText, kDate, true},
                    {"status", Type::kText, {{"type", "string"}, {"enum", {"open", "closed"}}}, false, true, "", true, "open"}};
        e.searchKey = [](const json& o) { return o.value("starts_on", "") + " " + fold(o.value("name", "")); };
        e.prepare = [](TenantDatabase&, json& o, const json*, const std::string& l) { return checkDates(o, "starts_on", "ends_on", l); };
        out.push_back(std::move(e));
    }
    {
        Entity e{"term", "terms", "school_terms", "", {}, Scope::kEveryone};
        e.fields = {{"year_id", Type::kText, kId, true, true, "school_years"},
                    {"name", Type::kText, kName, true},
                    {"starts_on", Type::kText, kDate, true},
                    {"ends_on", Type::kText, kDate, true}};
        e.searchKey = [](const json& o) { return o.value("starts_on", "") + " " + fold(o.value("name", "")); };
        e.prepare = [](TenantDatabase& db, json& o, const json*, const std::string& l) -> Status {
            if (auto s = checkDates(o, "starts_on", "ends_on", l); !s.isOk()) {
                return s;
            }
            auto year = db.queryOne("SELECT starts_on, ends_on FROM school_years WHERE tenant_id = @tenant AND id = ?",
                                    {o["year_id"].get<std::string>()});
            if (!year) {
                return year.status();
            }
            if (*year && (o["starts_on"].get<std::string>() < (*year)->text("starts_on") ||
                          o["ends_on"].get<std::string>() > (*year)->text("ends_on"))) {
                return invalidField(l, "/starts_on", "outside-year",
                                    tr(l, "le trimestre doit tenir dans son année scolaire", "the term must lie within its year"));
            }
            return Status::ok();
        };
        out.push_back(std::move(e));
    }
    {
        Entity e{"subject", "subjects", "school_subjects", "", {}, Scope::kEveryone};
        e.fields = {{"code", Type::kText, {{"type", "string"}, {"pattern", "^[A-Za-z0-9_.-]{1,20}$"}, {"maxLength", 20}}, true, true},
                    {"name", Type::kText, kName, true},
                    {"colour", Type::kText, {{"type", "string"}, {"pattern", "^#[0-9a-fA-F]{6}$"}, {"maxLength", 7}}}};
        e.searchKey = [](const json& o) { return fold(o.value("name", "")); };
        out.push_back(std::move(e));
    }
    {
        Entity e{"room", "rooms", "school_rooms", "", {}, Scope::kEveryone};
        e.fields = {{"name", Type::kText, kName, true},
                    {"type", Type::kText,
                     {{"type", "string"},
                      {"enum", {"classroom", "lab", "gym", "computer_room", "library", "hall", "workshop", "other"}}},
                     false, true, "", true, "classroom"},
                    {"capacity", Type::kInteger, {{"type", "integer"}, {"minimum", 0}, {"maximum", 100000}}}};
        e.searchKey = [](const json& o) { return fold(o.value("name", "")); };
        out.push_back(std::move(e));
    }
    {
        Entity e{"staff", "staff", "school_staff", "staff", {}, Scope::kEveryone};
        e.fields = {{"number", Type::kText, kShort},
                    {"given_name", Type::kText, kName, true},
                    {"family_name", Type::kText, kName, true},
                    {"email", Type::kText, {{"type", "string"}, {"format", "email"}, {"maxLength", 254}}},
                    {"role", Type::kText, {{"type", "string"}, {"enum", {"teacher", "staff", "administrator"}}}, false, true, "",
                     true, "teacher"},
                    {"subject_ids", Type::kJson, {{"type", "array"}, {"maxItems", 50}, {"uniqueItems", true}, {"items", kId}},
                     false, false, "school_subjects", true, json::array()},
                    {"user_id", Type::kText, kId, false, true}};
        e.searchKey = personKey;
        out.push_back(std::move(e));
    }
    {
        Entity e{"student", "students", "school_students", "student", {}, Scope::kStudent};
        e.fields = {{"number", Type::kText, kShort, false, true},
                    {"given_name", Type::kText, kName, true},
                    {"family_name", Type::kText, kName, true},
                    {"birth_date", Type::kText, kDate},
                    {"sex", Type::kText, {{"type", "string"}, {"enum", {"male", "female", "other", "unspecified"}}}},
                    {"email", Type::kText, {{"type", "string"}, {"format", "email"}, {"maxLength", 254}}},
                    {"status", Type::kText, {{"type", "string"}, {"enum", {"active", "suspended", "left", "graduated"}}}, false,
                     true, "", true, "active"},
                    {"user_id", Type::kText, kId, false, true}};
        e.searchKey = personKey;
        e.after = [](TenantServices& services, TenantDatabase& db, const json* before, const json& after) -> Status {
            const json brief = {{"id", after["id"]}, {"given_name", after["given_name"]},
                                {"family_name", after["family_name"]}, {"status", after["status"]}};
            if (before == nullptr) {
                return services.publish("school.student.created", brief);
            }
            if (auto s = services.publish("school.student.updated", {{"id", after["id"]}, {"changed", changedFields(before, after)}});
                !s.isOk()) {
                return s;
            }
            if (after["status"] == "left" && (*before)["status"] != "left") {
                // Open enrollments end today; the event tells the other plugins.
                auto ended = db.execute("UPDATE school_enrollments SET ends_on = ? WHERE tenant_id = @tenant AND "
                                        "student_id = ? AND ends_on IS NULL",
                                        {todayIn(services.tenant().timezone), after["id"].get<std::string>()});
                if (!ended) {
                    return ended.status();
                }
                return services.publish("school.student.left", brief);
            }
            return Status::ok();
        };
        out.push_back(std::move(e));
    }
    {
        Entity e{"guardian", "guardians", "school_guardians", "guardian", {}, Scope::kGuardian};
        e.fields = {{"given_name", Type::kText, kName, true},
                    {"family_name", Type::kText, kName, true},
                    {"email", Type::kText, {{"type", "string"}, {"format", "email"}, {"maxLength", 254}}},
                    {"phone", Type::kText, {{"type", "string"}, {"pattern", "^\\+?[0-9 .-]{4,20}$"}, {"maxLength", 20}}},
                    {"user_id", Type::kText, kId, false, true}};
        e.searchKey = personKey;
        out.push_back(std::move(e));
    }
    {
        Entity e{"class", "classes", "school_classes", "class", {}, Scope::kClass};
        e.fields = {{"year_id", Type::kText, kId, true, true, "school_years"},
                    {"name", Type::kText, kName, true},
                    {"level", Type::kText, kShort, true, true},
                    {"section", Type::kText, kShort},
                    {"homeroom_staff_id", Type::kText, kId, false, true, "school_staff"},
                    {"room_id", Type::kText, kId, false, false, "school_rooms"},
                    {"capacity", Type::kInteger, {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}}};
        e.searchKey = [](const json& o) { return fold(o.value("name", "")); };
        e.prepare = [](TenantDatabase& db, json& o, const json* before, const std::string& l) -> Status {
            for (const json* version : {before, static_cast<const json*>(&o)}) {
                if (version == nullptr) {
                    continue;
                }
                auto closed = yearClosed(db, (*version)["year_id"].get<std::string>(), l);
                if (!closed.isOk()) {
                    return closed;
                }
            }
            return Status::ok();
        };
        e.after = [](TenantServices& services, TenantDatabase&, const json* before, const json& after) -> Status {
            if (before == nullptr) {
                return services.publish("school.class.created",
                                        {{"id", after["id"]}, {"name", after["name"]}, {"year_id", after["year_id"]}});
            }
            return services.publish("school.class.changed", {{"id", after["id"]}, {"changed", changedFields(before, after)}});
        };
        out.push_back(std::move(e));
    }
    {
        Entity e{"enrollment", "enrollments", "school_enrollments", "", {}, Scope::kEnrollment};
        e.patchable = false;
        e.fields = {{"student_id", Type::kText, kId, true, true, "school_students"},
                    {"class_id", Type::kText, kId, true, true, "school_classes"},
                    {"year_id", Type::kText, kId, false, true, "", false},
                    {"starts_on", Type::kText, kDate},
                    {"ends_on", Type::kText, kDate}};
        e.searchKey = [](const json&) { return std::string(); };
        e.prepare = [](TenantDatabase& db, json& o, const json*, const std::string& l) -> Status {
            if (auto s = checkDates(o, "starts_on", "ends_on", l); !s.isOk()) {
                return s;
            }
            auto cls = db.queryOne(
                "SELECT c.year_id, c.capacity, (SELECT COUNT(*) FROM school_enrollments e WHERE e.tenant_id = c.tenant_id "
                "AND e.class_id = c.id AND e.ends_on IS NULL) AS enrolled FROM school_classes c "
                "WHERE c.tenant_id = @tenant AND c.id = ?",
                {o["class_id"].get<std::string>()});
            if (!cls) {
                return cls.status();
            }
            if (!*cls) {
                return invalidField(l, "/class_id", "unknown-reference", tr(l, "classe inconnue", "unknown class"));
            }
            if (!(*cls)->isNull("capacity") && (*cls)->integer("enrolled") >= (*cls)->integer("capacity")) {
                return Status(Code::kConflict, "class-full",
                              tr(l, "La classe a atteint sa capacité.", "The class is at capacity."));
            }
            o["year_id"] = (*cls)->text("year_id");
            return yearClosed(db, o["year_id"].get<std::string>(), l);
        };
        e.after = [](TenantServices& services, TenantDatabase&, const json*, const json& after) -> Status {
            return services.publish("school.student.enrolled", {{"enrollment_id", after["id"]},
                                                                {"student_id", after["student_id"]},
                                                                {"class_id", after["class_id"]},
                                                                {"year_id", after["year_id"]}});
        };
        e.afterDelete = [](TenantServices& services, TenantDatabase&, const json& before) -> Status {
            return services.publish("school.student.unenrolled", {{"enrollment_id", before["id"]},
                                                                  {"student_id", before["student_id"]},
                                                                  {"class_id", before["class_id"]}});
        };
        out.push_back(std::move(e));
    }
    {
        Entity e{"field", "fields", "school_fields", "", {}, Scope::kEveryone};
        e.patchable = false;
        e.fields = {{"entity", Type::kText, {{"type", "string"}, {"enum", {"student", "guardian", "staff", "class"}}}, true, true},
                    {"field_key", Type::kText, {{"type", "string"}, {"pattern", "^[a-z][a-z0-9_]{0,39}$"}, {"maxLength", 40}}, true},
                    {"label", Type::kText, kName, true},
                    {"type", Type::kText, {{"type", "string"}, {"enum", {"text", "integer", "date", "boolean", "enum"}}}, true},
                    {"options", Type::kJson,
                     {{"type", "array"}, {"maxItems", 100}, {"uniqueItems", true}, {"items", kShort}}, false, false, "", true,
                     json::array()},
                    {"required", Type::kBool, {{"type", "boolean"}}, false, false, "", true, false}};
        e.searchKey = [](const json& o) { return o.value("entity", "") + " " + o.value("field_key", ""); };
        e.prepare = [](TenantDatabase&, json& o, const json*, const std::string& l) -> Status {
            if ((o["type"] == "enum") != !o["options"].empty()) {
                return invalidField(l, "/options", "options",
                                    tr(l, "obligatoire pour le type enum, et seulement pour lui",
                                       "required for the enum type, and only for it"));
            }
            return Status::ok();
        };
        out.push_back(std::move(e));
    }
    return out;
}

const std::vector<Entity>& entities() {
    static const std::vector<Entity> all = buildEntities();
    return all;
}

const Entity& entity(const std::string& kind) {
    for (const auto& e : entities()) {
        if (e.kind == kind) {
            return e;
        }
    }
    throw std::logic_error("no school entity " + kind);  // a bug in this plugin
}

SqlValue toSql(const Field& f, const json& v) {
    if (v.is_null()) {
        return std::monostate{};
    }
    switch (f.type) {
        case Type::kInteger: return v.get<std::int64_t>();
        case Type::kBool: return std::int64_t{v.get<bool>() ? 1 : 0};
        case Type::kJson: return v.dump();
        case Type::kText: break;
    }
    return v.get<std::string>();
}

json fromRow(const Entity& e, const SqlRow& row) {
    json out = {{"id", row.text("id")}};
    for (const auto& f : e.fields) {
        if (row.isNull(f.name)) {
            out[f.name] = nullptr;
            continue;
        }
        switch (f.type) {
            case Type::kInteger: out[f.name] = row.integer(f.name); break;
            case Type::kBool: out[f.name] = row.integer(f.name) != 0; break;
            case Type::kJson: out[f.name] = json::parse(row.text(f.name), nullptr, false); break;
            case Type::kText: out[f.name] = row.text(f.name); break;
        }
    }
    if (!e.custom.empty()) {
        out["custom"] = json::parse(row.text("custom"), nullptr, false);
    }
    out["source_id"] = row.isNull("source_id") ? json(nullptr) : json(row.text("source_id"));
    out["created_at"] = row.integer("created_at");
    return out;
}

Condition scopeOf(const Entity& e, const Viewer& v) {
    switch (e.scope) {
        case Scope::kEveryone: return {"1 = 1", {}};
        case Scope::kStudent: return studentVisible(v, "t.id");
        case Scope::kClass: return classVisible(v, "t.id");
        case Scope::kGuardian: return guardianVisible(v, "t.id");
        case Scope::kEnrollment: return studentVisible(v, "t.student_id");
    }
    return {"1 = 0", {}};
}

json bodySchema(const Entity& e, bool create) {
    json props = json::object();
    json required = json::array();
    for (const auto& f : e.fields) {
        if (!f.writable) {
            continue;
        }
        props[f.name] = f.required ? f.schema : nullable(f.schema);
        if (f.required && create) {
            required.push_back(f.name);
        }
    }
    if (!e.custom.empty()) {
        props["custom"] = {{"type", "object"}, {"maxProperties", 100}};
    }
    json s = {{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
    if (!required.empty()) {
        s["required"] = required;
    }
    return s;
}

std::string hex(const std::string& s) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::optional<std::string> unhex(const std::string& s) {
    if (s.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 0; i < s.size(); i += 2) {
        auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
        const int hi = nibble(s[i]);
        const int lo = nibble(s[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

Status badCursor(const std::string& locale) {
    return invalidField(locale, "/cursor", "format",
                        tr(locale, "doit être une valeur next_cursor", "must be a next_cursor value"));
}

/// LIKE pattern of a folded search text, with % and _ escaped.
std::string likePattern(const std::string& q) {
    std::string out = "%";
    for (char c : fold(q)) {
        if (c == '%' || c == '_' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "%";
}

Status checkReferences(TenantDatabase& db, const Entity& e, const json& obj, const std::string& locale) {
    for (const auto& f : e.fields) {
        if (f.ref.empty() || !obj.contains(f.name) || obj[f.name].is_null()) {
            continue;
        }
        std::vector<std::string> ids;
        if (obj[f.name].is_array()) {
            for (const auto& id : obj[f.name]) {
                ids.push_back(id.get<std::string>());
            }
        } else {
            ids.push_back(obj[f.name].get<std::string>());
        }
        for (std::size_t i = 0; i < ids.size(); ++i) {
            auto row = db.queryOne("SELECT id FROM " + f.ref + " WHERE tenant_id = @tenant AND id = ?", {ids[i]});
            if (!row) {
                return row.status();
            }
            if (!*row) {
                const std::string pointer = "/" + f.name + (obj[f.name].is_array() ? "/" + std::to_string(i) : "");
                return invalidField(locale, pointer, "unknown-reference",
                                    tr(locale, "ne désigne rien de connu dans l'établissement", "refers to nothing in this school"));
            }
        }
    }
    return Status::ok();
}

Status conflict(const Status& s, const std::string& locale) {
    if (s.code() == Code::kConflict && s.type() == "unique-violation") {
        return {Code::kConflict, "already-exists",
                tr(locale, "Une fiche avec cette valeur unique existe déjà.", "A record with this unique value already exists.")};
    }
    if (s.code() == Code::kFailedPrecondition && s.type() == "foreign-key-violation") {
        return {Code::kConflict, "in-use",
                tr(locale, "D'autres fiches y font référence.", "Other records refer to it.")};
    }
    return s;
}

Result<std::optional<json>> loadOne(TenantDatabase& db, const Entity& e, const Viewer& v, const std::string& id) {
    auto cond = scopeOf(e, v);
    std::vector<SqlValue> params{id};
    params.insert(params.end(), cond.params.begin(), cond.params.end());
    auto row = db.queryOne("SELECT t.* FROM " + e.table + " t WHERE t.tenant_id = @tenant AND t.id = ? AND " + cond.sql, params);
    if (!row) {
        return row.status();
    }
    if (!*row) {
        return std::optional<json>();
    }
    return std::optional<json>(fromRow(e, **row));
}

Result<Response> listHandler(const Entity& e, Request& r) {
    auto limit = pageLimit(r);
    if (!limit) {
        return limit.status();
    }
    const Viewer v = viewerOf(*r.principal);
    auto cond = scopeOf(e, v);
    std::string sql = "SELECT t.* FROM " + e.table + " t WHERE t.tenant_id = @tenant AND " + cond.sql;
    std::vector<SqlValue> params = cond.params;
    for (const auto& f : e.fields) {
        if (!f.filter || r.query.count(f.name) == 0) {
            continue;
        }
        sql += " AND t." + f.name + " = ?";
        params.emplace_back(r.queryParam(f.name));
    }
    if (e.kind == "student" && r.query.count("class_id") != 0) {
        sql += " AND t.id IN (SELECT student_id FROM school_enrollments WHERE tenant_id = @tenant AND class_id = ?)";
        params.emplace_back(r.queryParam("class_id"));
    }
    if (e.kind == "guardian" && r.query.count("student_id") != 0) {
        sql += " AND t.id IN (SELECT guardian_id FROM school_student_guardians WHERE tenant_id = @tenant AND student_id = ?)";
        params.emplace_back(r.queryParam("student_id"));
    }
    if (const std::string q = r.queryParam("q"); !q.empty()) {
        if (q.size() > 100) {
            return invalidField(r.locale, "/q", "max-length", tr(r.locale, "100 caractères au plus", "at most 100 characters"));
        }
        sql += " AND t.search_key LIKE ? ESCAPE '\\'";
        params.emplace_back(likePattern(q));
    }
    if (const std::string cursor = r.queryParam("cursor"); !cursor.empty()) {
        const auto dot = cursor.rfind('.');
        auto key = dot == std::string::npos ? std::nullopt : unhex(cursor.substr(0, dot));
        if (!key || cursor.size() - dot - 1 > 40) {
            return badCursor(r.locale);
        }
        sql += " AND (t.search_key > ? OR (t.search_key = ? AND t.id > ?))";
        params.insert(params.end(), {*key, *key, cursor.substr(dot + 1)});
    }
    sql += " ORDER BY t.search_key, t.id LIMIT ?";
    params.emplace_back(std::int64_t{*limit + 1});
    auto rows = r.services->db().query(sql, params);
    if (!rows) {
        return rows.status();
    }
    json items = json::array();
    for (std::size_t i = 0; i < rows->size() && static_cast<int>(i) < *limit; ++i) {
        items.push_back(fromRow(e, (*rows)[i]));
    }
    json body = {{"items", items}, {"next_cursor", nullptr}};
    if (static_cast<int>(rows->size()) > *limit) {
        const auto& last = (*rows)[static_cast<std::size_t>(*limit) - 1];
        body["next_cursor"] = hex(last.text("search_key")) + "." + last.text("id");
    }
    return Response::json(200, body);
}

/// Writes a new or changed object and runs its follow-ups, in one transaction.
Result<json> write(const Entity& e, TenantServices& services, json obj, const json* before, const std::string& locale) {
    auto& db = services.db();
    if (auto s = checkReferences(db, e, obj, locale); !s.isOk()) {
        return s;
    }
    if (!e.custom.empty()) {
        if (auto s = checkCustom(db, e.custom, obj["custom"], "/custom", locale); !s.isOk()) {
            return s;
        }
    }
    if (e.prepare) {
        if (auto s = e.prepare(db, obj, before, locale); !s.isOk()) {
            return s;
        }
    }
    std::vector<std::string> columns;
    std::vector<SqlValue> values;
    for (const auto& f : e.fields) {
        columns.push_back(f.name);
        values.push_back(toSql(f, obj[f.name]));
    }
    if (!e.custom.empty()) {
        columns.emplace_back("custom");
        values.emplace_back(obj["custom"].dump());
    }
    columns.emplace_back("search_key");
    values.emplace_back(e.searchKey(obj));
    Status s = db.transaction([&](TenantDatabase& tx) -> Status {
        Result<std::int64_t> written = std::int64_t{0};
        const bool newStudent = before == nullptr && e.table == "school_students";
        if (newStudent) {
            if (auto q = countStudents(services, 1); !q.isOk()) {
                return q;
            }
        }
        if (before == nullptr) {
            std::string sql = "INSERT INTO " + e.table + " (tenant_id, id, created_at";
            std::string marks = "@tenant, ?, ?";
            for (const auto& c : columns) {
                sql += ", " + c;
                marks += ", ?";
            }
            values.insert(values.begin(), {obj["id"].get<std::string>(), now()});
            written = tx.execute(sql + ") VALUES (" + marks + ")", values);
        } else {
            std::string sql = "UPDATE " + e.table + " SET ";
            for (std::size_t i = 0; i < columns.size(); ++i) {
                sql += (i == 0 ? "" : ", ") + columns[i] + " = ?";
            }
            values.emplace_back(obj["id"].get<std::string>());
            written = tx.execute(sql + " WHERE tenant_id = @tenant AND id = ?", values);
        }
        if (!written) {
            return conflict(written.status(), locale);
        }
        return e.after ? e.after(services, tx, before, obj) : Status::ok();
    });
    if (!s.isOk()) {
        return s;
    }
    auto stored = loadOne(db, e, Viewer{true, ""}, obj["id"].get<std::string>());
    if (!stored || !*stored) {
        return stored ? Status(Code::kInternal, "school-row-lost", "The row vanished after writing.") : stored.status();
    }
    return **stored;
}

Result<json> create(const Entity& e, TenantServices& services, const json& input, const std::string& locale) {
    json obj = {{"id", services.db().newId()}};
    for (const auto& f : e.fields) {
        obj[f.name] = input.contains(f.name) && !input[f.name].is_null() ? input[f.name] : f.fallback;
    }
    if (!e.custom.empty()) {
        obj["custom"] = input.value("custom", json::object());
    }
    return write(e, services, std::move(obj), nullptr, locale);
}

Result<json> update(const Entity& e, TenantServices& services, const std::string& id, const json& patch,
                    const std::string& locale) {
    auto current = loadOne(services.db(), e, Viewer{true, ""}, id);
    if (!current) {
        return current.status();
    }
    if (!*current) {
        return notFound(locale);
    }
    json obj = **current;
    for (const auto& [k, v] : patch.items()) {
        const auto f = std::find_if(e.fields.begin(), e.fields.end(), [&](const Field& x) { return x.name == k; });
        if (f != e.fields.end() && f->required && v.is_null()) {
            return invalidField(locale, "/" + k, "required", tr(locale, "ne peut pas être vide", "cannot be null"));
        }
        obj[k] = v.is_null() && f != e.fields.end() ? f->fallback : v;
    }
    obj.erase("source_id");
    obj.erase("created_at");
    json before = **current;
    before.erase("source_id");
    before.erase("created_at");
    return write(e, services, std::move(obj), &before, locale);
}

Route route(std::string method, std::string pattern, std::string permission, std::string summary, Handler handler) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.access = Access::kTenantUser;
    r.permission = std::move(permission);
    r.summary = std::move(summary);
    r.tag = "school";
    r.handler = std::move(handler);
    return r;
}

json guardianLinkJson(const SqlRow& row) {
    return {{"id", row.text("g_id")},
            {"given_name", row.text("g_given_name")},
            {"family_name", row.text("g_family_name")},
            {"email", row.isNull("g_email") ? json(nullptr) : json(row.text("g_email"))},
            {"phone", row.isNull("g_phone") ? json(nullptr) : json(row.text("g_phone"))},
            {"user_id", row.isNull("g_user_id") ? json(nullptr) : json(row.text("g_user_id"))},
            {"relationship", row.text("g_relationship")}};
}

const char* kGuardianColumns =
    "g.id AS g_id, g.given_name AS g_given_name, g.family_name AS g_family_name, g.email AS g_email, "
    "g.phone AS g_phone, g.user_id AS g_user_id, sg.relationship AS g_relationship";

}  // namespace

std::string personSearchKey(const std::string& given, const std::string& family, const std::string& number) {
    std::string key = fold(family + " " + given);
    return number.empty() ? key : key + " " + fold(number);
}

json rowToJson(const std::string& kind, const SqlRow& row) { return fromRow(entity(kind), row); }

Status checkCustom(TenantDatabase& db, const std::string& entityName, const json& custom, const std::string& pointer,
                   const std::string& locale) {
    auto defs = db.query("SELECT field_key, type, options, required FROM school_fields WHERE tenant_id = @tenant AND entity = ?",
                         {entityName});
    if (!defs) {
        return defs.status();
    }
    Status bad = Status(Code::kInvalidArgument, "validation", tr(locale, "Certains champs sont invalides.", "Some fields are invalid."));
    std::set<std::string> known;
    for (const auto& d : *defs) {
        const std::string key = d.text("field_key");
        known.insert(key);
        const std::string at = pointer + "/" + key;
        if (!custom.contains(key) || custom[key].is_null()) {
            if (d.integer("required") != 0) {
                bad.addField({at, "required", tr(locale, "est obligatoire", "is required")});
            }
            continue;
        }
        const json& v = custom[key];
        const std::string type = d.text("type");
        bool ok = true;
        if (type == "text") {
            ok = v.is_string() && v.get<std::string>().size() <= 1000;
        } else if (type == "integer") {
            ok = v.is_number_integer();
        } else if (type == "boolean") {
            ok = v.is_boolean();
        } else if (type == "date") {
            ok = v.is_string() && validDate(v.get<std::string>());
        } else if (type == "enum") {
            const json options = json::parse(d.text("options"), nullptr, false);
            ok = v.is_string() && options.is_array() && std::find(options.begin(), options.end(), v) != options.end();
        }
        if (!ok) {
            bad.addField({at, "type", tr(locale, "doit être une valeur de type " + type, "must be a value of type " + type)});
        }
    }
    if (custom.is_object()) {
        for (const auto& [k, v] : custom.items()) {
            if (known.count(k) == 0) {
                bad.addField({pointer + "/" + k, "unknown-field",
                              tr(locale, "aucun champ personnalisé de ce nom", "no custom field has this name")});
            }
        }
    }
    return bad.fields().empty() ? Status::ok() : bad;
}

Result<json> classRoster(TenantDatabase& db, const Viewer& v, const std::string& classId, bool withGuardians) {
    auto cond = studentVisible(v, "s.id");
    std::string sql = "SELECT s.*, e.id AS enrollment_id" + std::string(withGuardians ? std::string(", ") + kGuardianColumns : "") +
                      // CROSS JOIN: SQLite then starts from the class's enrollments instead of walking
                      // every student in name order to skip a sort (PostgreSQL reads it as a plain join).
                      " FROM school_enrollments e CROSS JOIN school_students s";
    if (withGuardians) {
        sql += " LEFT JOIN school_student_guardians sg ON sg.tenant_id = s.tenant_id AND sg.student_id = s.id"
               " LEFT JOIN school_guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id";
    }
    sql += " WHERE e.tenant_id = @tenant AND e.class_id = ? AND s.tenant_id = e.tenant_id AND s.id = e.student_id AND " +
           cond.sql + " ORDER BY s.search_key, s.id";
    sql += withGuardians ? ", g.search_key, g.id" : "";
    std::vector<SqlValue> params{classId};
    params.insert(params.end(), cond.params.begin(), cond.params.end());
    auto rows = db.query(sql, params);
    if (!rows) {
        return rows.status();
    }
    json items = json::array();
    for (const auto& row : *rows) {
        if (items.empty() || items.back()["id"] != row.text("id")) {
            json student = fromRow(entity("student"), row);
            student["enrollment_id"] = row.text("enrollment_id");
            if (withGuardians) {
                student["guardians"] = json::array();
            }
            items.push_back(std::move(student));
        }
        if (withGuardians && !row.isNull("g_id")) {
            items.back()["guardians"].push_back(guardianLinkJson(row));
        }
    }
    if (items.empty()) {
        // Is it an empty class, or none the viewer may see?
        auto visible = classVisible(v, "c.id");
        std::vector<SqlValue> p{classId};
        p.insert(p.end(), visible.params.begin(), visible.params.end());
        auto cls = db.queryOne("SELECT c.id FROM school_classes c WHERE c.tenant_id = @tenant AND c.id = ? AND " + visible.sql, p);
        if (!cls) {
            return cls.status();
        }
        if (!*cls) {
            return Status(Code::kNotFound, "not-found", "No such class.");
        }
    }
    return json{{"items", items}};
}

Result<json> guardiansOf(TenantDatabase& db, const Viewer& v, const std::string& studentId) {
    auto may = maySeeStudent(db, v, studentId);
    if (!may) {
        return may.status();
    }
    if (!*may) {
        return Status(Code::kNotFound, "not-found", "No such student.");
    }
    auto rows = db.query(std::string("SELECT ") + kGuardianColumns +
                             " FROM school_student_guardians sg JOIN school_guardians g ON g.tenant_id = sg.tenant_id AND "
                             "g.id = sg.guardian_id WHERE sg.tenant_id = @tenant AND sg.student_id = ? ORDER BY g.search_key, g.id",
                         {studentId});
    if (!rows) {
        return rows.status();
    }
    json items = json::array();
    for (const auto& row : *rows) {
        items.push_back(guardianLinkJson(row));
    }
    return json{{"items", items}};
}

std::vector<Route> entityRoutes() {
    std::vector<Route> out;
    for (const auto& e : entities()) {
        const Entity* ep = &e;
        const std::string base = "/" + e.path;
        out.push_back(route("GET", base, "school.read",
                            "List " + e.path + " the caller may see (?limit, ?cursor, ?q for accent-insensitive search, filters)",
                            [ep](Request& r) { return listHandler(*ep, r); }));
        out.push_back(route("GET", base + "/{id}", "school.read", "One " + e.kind + " the caller may see",
                            [ep](Request& r) -> Result<Response> {
                                auto one = loadOne(r.services->db(), *ep, viewerOf(*r.principal), r.param("id"));
                                if (!one) {
                                    return one.status();
                                }
                                if (!*one) {
                                    return notFound(r.locale);
                                }
                                return Response::json(200, **one);
                            }));
        Route post = route("POST", base, "school.manage", "Create a " + e.kind, [ep](Request& r) {
            return jsonResponse(create(*ep, *r.services, r.json, r.locale), 201);
        });
        post.requestSchema = bodySchema(e, true);
        post.successStatus = 201;
        out.push_back(std::move(post));
        if (e.patchable) {
            Route patch = route("PATCH", base + "/{id}", "school.manage", "Change a " + e.kind + " (fields given; null clears)",
                                [ep](Request& r) { return jsonResponse(update(*ep, *r.services, r.param("id"), r.json, r.locale)); });
            patch.requestSchema = bodySchema(e, false);
            out.push_back(std::move(patch));
        }
        Route del = route("DELETE", base + "/{id}", "school.manage", "Delete a " + e.kind + " (409 while others refer to it)",
                          [ep](Request& r) -> Result<Response> {
                              auto& db = r.services->db();
                              auto current = loadOne(db, *ep, Viewer{true, ""}, r.param("id"));
                              if (!current) {
                                  return current.status();
                              }
                              if (!*current) {
                                  return notFound(r.locale);
                              }
                              if ((ep->kind == "class" || ep->kind == "enrollment") && (**current)["year_id"].is_string()) {
                                  if (auto closed = yearClosed(db, (**current)["year_id"].get<std::string>(), r.locale);
                                      !closed.isOk()) {
                                      return closed;
                                  }
                              }
                              Status s = db.transaction([&](TenantDatabase& tx) -> Status {
                                  auto n = tx.execute("DELETE FROM " + ep->table + " WHERE tenant_id = @tenant AND id = ?",
                                                      {r.param("id")});
                                  if (!n) {
                                      return conflict(n.status(), r.locale);
                                  }
                                  if (ep->table == "school_students" && *n > 0) {
                                      if (auto q = countStudents(*r.services, -1); !q.isOk()) {
                                          return q;
                                      }
                                  }
                                  return ep->afterDelete ? ep->afterDelete(*r.services, tx, **current) : Status::ok();
                              });
                              if (!s.isOk()) {
                                  return s;
                              }
                              return Response::noContent();
                          });
        del.successStatus = 204;
        out.push_back(std::move(del));
    }

    out.push_back(route("GET", "/classes/{id}/students", "school.read",
                        "The students of a class the caller may see, with their guardians unless ?guardians=false "
                        "(one database query)",
                        [](Request& r) -> Result<Response> {
                            auto roster = classRoster(r.services->db(), viewerOf(*r.principal), r.param("id"),
                                                      r.queryParam("guardians") != "false");
                            if (!roster && roster.status().code() == Code::kNotFound) {
                                return notFound(r.locale);
                            }
                            return jsonResponse(roster);
                        }));
    out.push_back(route("GET", "/students/{id}/guardians", "school.read", "The guardians of a student the caller may see",
                        [](Request& r) -> Result<Response> {
                            auto g = guardiansOf(r.services->db(), viewerOf(*r.principal), r.param("id"));
                            if (!g && g.status().code() == Code::kNotFound) {
                                return notFound(r.locale);
                            }
                            return jsonResponse(g);
                        }));
    Route link = route(
        "PUT", "/students/{id}/guardians/{guardian_id}", "school.manage",
        "Link a guardian to a student, or change the relationship", [](Request& r) -> Result<Response> {
            auto& db = r.services->db();
            auto both = db.queryOne("SELECT s.id FROM school_students s JOIN school_guardians g ON g.tenant_id = s.tenant_id "
                                    "AND g.id = ? WHERE s.tenant_id = @tenant AND s.id = ?",
                                    {r.param("guardian_id"), r.param("id")});
            if (!both) {
                return both.status();
            }
            if (!*both) {
                return notFound(r.locale);
            }
            const std::string relationship = r.json.value("relationship", "guardian");
            Status s = db.transaction([&](TenantDatabase& tx) -> Status {
                auto n = tx.execute("UPDATE school_student_guardians SET relationship = ? WHERE tenant_id = @tenant AND "
                                    "student_id = ? AND guardian_id = ?",
                                    {relationship, r.param("id"), r.param("guardian_id")});
                if (!n) {
                    return n.status();
                }
                if (*n == 0) {
                    auto i = tx.execute("INSERT INTO school_student_guardians (tenant_id, student_id, guardian_id, relationship) "
                                        "VALUES (@tenant, ?, ?, ?)",
                                        {r.param("id"), r.param("guardian_id"), relationship});
                    if (!i) {
                        return i.status();
                    }
                }
                return r.services->publish("school.guardian.linked", {{"student_id", r.param("id")},
                                                                      {"guardian_id", r.param("guardian_id")},
                                                                      {"relationship", relationship}});
            });
            if (!s.isOk()) {
                return s;
            }
            return jsonResponse(guardiansOf(db, Viewer{true, ""}, r.param("id")));
        });
    link.requestSchema = {{"type", "object"},
                          {"additionalProperties", false},
                          {"properties",
                           {{"relationship",
                             {{"type", "string"},
                              {"enum", {"mother", "father", "parent", "guardian", "relative", "tutor", "other"}}}}}}};
    out.push_back(std::move(link));
    Route unlink = route("DELETE", "/students/{id}/guardians/{guardian_id}", "school.manage", "Unlink a guardian from a student",
                         [](Request& r) -> Result<Response> {
                             auto n = r.services->db().execute("DELETE FROM school_student_guardians WHERE tenant_id = @tenant "
                                                               "AND student_id = ? AND guardian_id = ?",
                                                               {r.param("id"), r.param("guardian_id")});
                             if (!n) {
                                 return n.status();
                             }
                             if (*n == 0) {
                                 return notFound(r.locale);
                             }
                             return Response::noContent();
                         });
    unlink.successStatus = 204;
    out.push_back(std::move(unlink));
    out.push_back(route("GET", "/classes/{id}/teachers", "school.read",
                        "The teachers of a class the caller may see: its homeroom teacher and its class teachers",
                        [](Request& r) -> Result<Response> {
                            auto& db = r.services->db();
                            auto visible = classVisible(viewerOf(*r.principal), "c.id");
                            std::vector<SqlValue> p{r.param("id")};
                            p.insert(p.end(), visible.params.begin(), visible.params.end());
                            auto cls = db.queryOne("SELECT c.id FROM school_classes c WHERE c.tenant_id = @tenant AND c.id = ? AND " +
                                                       visible.sql, p);
                            if (!cls) {
                                return cls.status();
                            }
                            if (!*cls) {
                                return notFound(r.locale);
                            }
                            auto rows = db.query(
                                "SELECT f.*, CASE WHEN c.homeroom_staff_id = f.id THEN 1 ELSE 0 END AS homeroom FROM school_classes c "
                                "JOIN school_staff f ON f.tenant_id = c.tenant_id AND (f.id = c.homeroom_staff_id OR f.id IN "
                                "(SELECT ct.staff_id FROM school_class_teachers ct WHERE ct.tenant_id = c.tenant_id AND "
                                "ct.class_id = c.id)) WHERE c.tenant_id = @tenant AND c.id = ? ORDER BY f.search_key, f.id",
                                {r.param("id")});
                            if (!rows) {
                                return rows.status();
                            }
                            json items = json::array();
                            for (const auto& row : *rows) {
                                json t = fromRow(entity("staff"), row);
                                t["homeroom"] = row.integer("homeroom") != 0;
                                items.push_back(std::move(t));
                            }
                            return Response::json(200, {{"items", items}});
                        }));
    Route addTeacher = route("PUT", "/classes/{id}/teachers/{staff_id}", "school.manage",
                             "Make a staff member a teacher of a class (besides its homeroom teacher)",
                             [](Request& r) -> Result<Response> {
                                 auto& db = r.services->db();
                                 auto both = db.queryOne("SELECT c.year_id FROM school_classes c JOIN school_staff f ON "
                                                         "f.tenant_id = c.tenant_id AND f.id = ? WHERE c.tenant_id = @tenant "
                                                         "AND c.id = ?",
                                                         {r.param("staff_id"), r.param("id")});
                                 if (!both) {
                                     return both.status();
                                 }
                                 if (!*both) {
                                     return notFound(r.locale);
                                 }
                                 if (auto closed = yearClosed(db, (*both)->text("year_id"), r.locale); !closed.isOk()) {
                                     return closed;
                                 }
                                 Status s = db.transaction([&](TenantDatabase& tx) -> Status {
                                     auto n = tx.execute("INSERT INTO school_class_teachers (tenant_id, class_id, staff_id) VALUES "
                                                         "(@tenant, ?, ?) ON CONFLICT DO NOTHING",
                                                         {r.param("id"), r.param("staff_id")});
                                     if (!n) {
                                         return n.status();
                                     }
                                     return *n == 0 ? Status::ok()
                                                    : r.services->publish("school.class.changed",
                                                                          {{"id", r.param("id")}, {"changed", {"teachers"}}});
                                 });
                                 if (!s.isOk()) {
                                     return s;
                                 }
                                 return Response::noContent();
                             });
    addTeacher.successStatus = 204;
    out.push_back(std::move(addTeacher));
    Route removeTeacher = route("DELETE", "/classes/{id}/teachers/{staff_id}", "school.manage",
                                "Remove a class teacher (the homeroom teacher is changed on the class)",
                                [](Request& r) -> Result<Response> {
                                    auto& db = r.services->db();
                                    Result<std::int64_t> n = std::int64_t{0};
                                    Status s = db.transaction([&](TenantDatabase& tx) -> Status {
                                        n = tx.execute("DELETE FROM school_class_teachers WHERE tenant_id = @tenant AND "
                                                       "class_id = ? AND staff_id = ?",
                                                       {r.param("id"), r.param("staff_id")});
                                        if (!n) {
                                            return n.status();
                                        }
                                        return *n == 0 ? Status::ok()
                                                       : r.services->publish("school.class.changed",
                                                                             {{"id", r.param("id")}, {"changed", {"teachers"}}});
                                    });
                                    if (!s.isOk()) {
                                        return s;
                                    }
                                    return *n == 0 ? Result<Response>(notFound(r.locale)) : Response::noContent();
                                });
    removeTeacher.successStatus = 204;
    out.push_back(std::move(removeTeacher));
    out.push_back(route("GET", "/current-term", "school.read",
                        "The term containing today in the school's time zone (or ?date=YYYY-MM-DD), with its year",
                        [](Request& r) -> Result<Response> {
                            const std::string date = r.queryParam("date", todayIn(r.services->tenant().timezone));
                            if (!validDate(date)) {
                                return invalidField(r.locale, "/date", "format",
                                                    tr(r.locale, "doit être une date AAAA-MM-JJ", "must be a date YYYY-MM-DD"));
                            }
                            auto& db = r.services->db();
                            auto row = db.queryOne("SELECT t.* FROM school_terms t WHERE t.tenant_id = @tenant AND "
                                                   "t.starts_on <= ? AND t.ends_on >= ? ORDER BY t.starts_on DESC, t.id LIMIT 1",
                                                   {date, date});
                            if (!row) {
                                return row.status();
                            }
                            if (!*row) {
                                return Status(Code::kNotFound, "no-current-term",
                                              tr(r.locale, "Aucun trimestre ne contient le " + date + ".",
                                                 "No term contains " + date + "."));
                            }
                            json term = fromRow(entity("term"), **row);
                            auto year = loadOne(db, entity("year"), Viewer{true, ""}, term["year_id"].get<std::string>());
                            if (!year) {
                                return year.status();
                            }
                            term["year"] = *year ? **year : json(nullptr);
                            term["date"] = date;
                            return Response::json(200, term);
                        }));
    return out;
}

}  // namespace ardoise::plugins::school
