// The school core plugin: registration of its routes, its OneRoster import
// job and the functions it exports to scripts and to other plugins
// (TenantServices::call("school.may_see_student", …)). Uses the SDK only.
#include "school.hpp"

namespace ardoise::plugins::school {

namespace {

const json kIdArg = {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}};

json args(std::initializer_list<std::pair<const char*, bool>> names) {
    json props = json::object();
    json required = json::array();
    for (const auto& [name, isRequired] : names) {
        props[name] = kIdArg;
        if (isRequired) {
            required.push_back(name);
        }
    }
    json s = {{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
    if (!required.empty()) {
        s["required"] = required;
    }
    return s;
}

/// The viewer named by args.user_id, or everything when the caller (a school
/// script, a plugin acting for the school) names no user.
Result<Viewer> viewerFor(TenantServices& services, const json& a) {
    if (!a.contains("user_id")) {
        return Viewer{true, ""};
    }
    return viewerOfUser(services.db(), a["user_id"].get<std::string>());
}

std::vector<LuaFunction> functions() {
    std::vector<LuaFunction> out;
    out.push_back({"may_see_student",
                   "Whether the user {user_id} may see the student {student_id}: an admin, the student, a guardian, "
                   "a teacher of one of the student's classes",
                   true, args({{"user_id", true}, {"student_id", true}}),
                   [](TenantServices& services, const json& a) -> Result<json> {
                       auto v = viewerOfUser(services.db(), a["user_id"].get<std::string>());
                       if (!v) {
                           return v.status();
                       }
                       auto may = maySeeStudent(services.db(), *v, a["student_id"].get<std::string>());
                       if (!may) {
                           return may.status();
                       }
                       return json{{"allowed", *may}};
                   }});
    out.push_back({"students_of_class",
                   "The students of the class {class_id} with their guardians; with {user_id}, only those that user may see",
                   true, args({{"class_id", true}, {"user_id", false}}),
                   [](TenantServices& services, const json& a) -> Result<json> {
                       auto v = viewerFor(services, a);
                       if (!v) {
                           return v.status();
                       }
                       return classRoster(services.db(), *v, a["class_id"].get<std::string>(), true);
                   }});
    out.push_back({"guardians_of_student",
                   "The guardians of the student {student_id}; with {user_id}, only if that user may see the student",
                   true, args({{"student_id", true}, {"user_id", false}}),
                   [](TenantServices& services, const json& a) -> Result<json> {
                       auto v = viewerFor(services, a);
                       if (!v) {
                           return v.status();
                       }
                       return guardiansOf(services.db(), *v, a["student_id"].get<std::string>());
                   }});
    out.push_back({"student", "One student {id}; with {user_id}, only if that user may see them", true,
                   args({{"id", true}, {"user_id", false}}), [](TenantServices& services, const json& a) -> Result<json> {
                       auto v = viewerFor(services, a);
                       if (!v) {
                           return v.status();
                       }
                       auto cond = studentVisible(*v, "t.id");
                       cond.params.insert(cond.params.begin(), a["id"].get<std::string>());
                       auto row = services.db().queryOne(
                           "SELECT t.* FROM school_students t WHERE t.tenant_id = @tenant AND t.id = ? AND " + cond.sql,
                           cond.params);
                       if (!row) {
                           return row.status();
                       }
                       if (!*row) {
                           return Status(Code::kNotFound, "not-found", "No such student.");
                       }
                       return rowToJson("student", **row);
                   }});
    out.push_back({"students_of_user",
                   "Ids of the students the user {user_id} may see as themself, guardian or teacher (admins: all)", true,
                   args({{"user_id", true}}), [](TenantServices& services, const json& a) -> Result<json> {
                       auto v = viewerOfUser(services.db(), a["user_id"].get<std::string>());
                       if (!v) {
                           return v.status();
                       }
                       auto cond = studentVisible(*v, "t.id");
                       auto rows = services.db().query("SELECT t.id FROM school_students t WHERE t.tenant_id = @tenant AND " +
                                                           cond.sql + " ORDER BY t.search_key, t.id",
                                                       cond.params);
                       if (!rows) {
                           return rows.status();
                       }
                       json ids = json::array();
                       for (const auto& r : *rows) {
                           ids.push_back(r.text("id"));
                       }
                       return json{{"student_ids", ids}};
                   }});
    out.push_back({"staff", "One staff member {id} (with subject_ids and user_id), or not-found", true, args({{"id", true}}),
                   [](TenantServices& services, const json& a) -> Result<json> {
                       auto row = services.db().queryOne("SELECT t.* FROM school_staff t WHERE t.tenant_id = @tenant AND t.id = ?",
                                                         {a["id"].get<std::string>()});
                       if (!row) {
                           return row.status();
                       }
                       if (!*row) {
                           return Status(Code::kNotFound, "not-found", "No such staff member.");
                       }
                       return rowToJson("staff", **row);
                   }});
    out.push_back({"may_see_class",
                   "Whether the user {user_id} may see the class {class_id}: an admin, its teachers, its students and their guardians",
                   true, args({{"user_id", true}, {"class_id", true}}), [](TenantServices& services, const json& a) -> Result<json> {
                       auto v = viewerOfUser(services.db(), a["user_id"].get<std::string>());
                       if (!v) {
                           return v.status();
                       }
                       auto cond = classVisible(*v, "c.id");
                       cond.params.insert(cond.params.begin(), a["class_id"].get<std::string>());
                       auto row = services.db().queryOne(
                           "SELECT c.id FROM school_classes c WHERE c.tenant_id = @tenant AND c.id = ? AND " + cond.sql, cond.params);
                       if (!row) {
                           return row.status();
                       }
                       return json{{"allowed", row->has_value()}};
                   }});
    out.push_back({"current_term", "The term containing today in the school's time zone, or null", true,
                   {{"type", "object"}, {"additionalProperties", false}},
                   [](TenantServices& services, const json&) -> Result<json> {
                       const std::string today = todayIn(services.tenant().timezone);
                       auto row = services.db().queryOne(
                           "SELECT t.* FROM school_terms t WHERE t.tenant_id = @tenant AND t.starts_on <= ? AND t.ends_on >= ? "
                           "ORDER BY t.starts_on DESC, t.id LIMIT 1",
                           {today, today});
                       if (!row) {
                           return row.status();
                       }
                       return json{{"term", *row ? rowToJson("term", **row) : json(nullptr)}, {"date", today}};
                   }});
    return out;
}

class SchoolPlugin : public Plugin {
public:
    Status registerWith(PluginContext& context) override {
        std::vector<Route> routes = entityRoutes();
        for (auto& r : onerosterRoutes()) {
            routes.push_back(std::move(r));
        }
        for (auto& r : rolloverRoutes()) {
            routes.push_back(std::move(r));
        }
        for (auto& r : routes) {
            if (auto s = context.addRoute(std::move(r)); !s.isOk()) {
                return s;
            }
        }
        if (auto s = context.addJob("oneroster_import", runImportJob); !s.isOk()) {
            return s;
        }
        for (auto& fn : functions()) {
            if (auto s = context.exportFunction(std::move(fn)); !s.isOk()) {
                return s;
            }
        }
        return Status::ok();
    }
};

}  // namespace

Status countStudents(TenantServices& services, std::int64_t delta) {
    if (delta == 0) {
        return Status::ok();
    }
    if (delta > 0) {
        if (auto q = services.checkQuota("students", delta); !q.isOk() && q.type() != "quota-unavailable") {
            return q;
        }
    }
    if (auto u = services.recordUsage("students", delta); !u.isOk() && u.type() != "quota-unavailable") {
        return u;
    }
    return Status::ok();
}

}  // namespace ardoise::plugins::school

ARDOISE_PLUGIN(ardoise::plugins::school::SchoolPlugin, "school", "1.0.0")
