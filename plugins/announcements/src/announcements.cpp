// School announcements with read receipts. Uses the SDK only.
//
// An announcement goes to everyone, or to the users holding one of its
// audience roles; its author and holders of announcements.publish see it
// whatever the audience. Publishing emits announcements.published (and,
// when the school's settings ask, emails the audience).
#include <ardoise/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <regex>

namespace ardoise::plugins::announcements {

namespace {

using nlohmann::json;

const std::vector<std::string> kRoles = {"admin", "teacher", "student", "parent"};

std::int64_t nowMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t now() { return nowMicros() / 1000000; }

/// ",parent,student," for ["student", "parent"]; "" for everyone.
std::string storedRoles(const json& roles) {
    std::vector<std::string> list;
    for (const auto& r : roles) {
        list.push_back(r.get<std::string>());
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    std::string out;
    for (const auto& r : list) {
        out += "," + r;
    }
    return out.empty() ? "" : out + ",";
}

json rolesOf(const std::string& stored) {
    json out = json::array();
    std::size_t start = 1;
    for (auto end = stored.find(',', start); end != std::string::npos; end = stored.find(',', start)) {
        out.push_back(stored.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

json toJson(const SqlRow& row) {
    json out = {{"id", row.text("id")},
                {"title", row.text("title")},
                {"body", row.text("body")},
                {"audience", {{"roles", rolesOf(row.text("audience_roles"))}}},
                {"author", {{"id", row.text("author_id")}, {"name", row.text("author_name")}}},
                {"published_at", row.integer("published_at")}};
    if (row.has("read_at")) {
        out["read"] = !row.isNull("read_at");
    }
    return out;
}

/// The SQL condition "the caller may see this announcement", with its parameters.
std::pair<std::string, std::vector<SqlValue>> visibleTo(const Principal& p) {
    if (p.can("announcements.publish")) {
        return {"1 = 1", {}};
    }
    std::string sql = "(a.audience_roles = '' OR a.author_id = ?";
    std::vector<SqlValue> params{p.id};
    for (const auto& role : p.roles) {
        sql += " OR a.audience_roles LIKE ?";
        params.emplace_back("%," + role + ",%");
    }
    return {sql + ")", params};
}

Status notFound() { return {Code::kNotFound, "not-found", "No such announcement."}; }

json createSchema(int maxBody) {
    return {{"type", "object"},
            {"additionalProperties", false},
            {"required", {"title", "body"}},
            {"properties",
             {{"title", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}},
              {"body", {{"type", "string"}, {"minLength", 1}, {"maxLength", maxBody}}},
              {"roles", {{"type", "array"}, {"maxItems", 4}, {"items", {{"type", "string"}, {"enum", kRoles}}}}}}}};
}

struct Author {
    std::string id;
    std::string name;
};

/// Stores an announcement and publishes its event in one transaction, then
/// (when the school's settings ask) emails its audience.
Result<json> publish(TenantServices& services, const json& input, const Author& author) {
    auto settings = services.settings();
    if (!settings) {
        return settings.status();
    }
    // The school's rules may refuse the announcement or rewrite its text.
    auto checked = services.filter("announcements.before_publish",
                                   {{"title", input["title"]}, {"body", input["body"]},
                                    {"roles", input.value("roles", json::array())}, {"author_id", author.id}},
                                   {"title", "body"});
    if (!checked) {
        return checked.status();
    }
    json accepted = input;
    accepted["title"] = (*checked)["title"];
    accepted["body"] = (*checked)["body"];
    const std::string body = accepted["body"].get<std::string>();
    const auto maxBody = (*settings)["max_body_length"].get<std::size_t>();
    if (body.size() > maxBody) {
        return Status(Code::kInvalidArgument, "validation", "The text is longer than this school allows.")
            .addField({"/body", "maxLength", "must be at most " + std::to_string(maxBody) + " bytes"});
    }
    const std::string id = services.db().newId();
    const std::string roles = storedRoles(input.value("roles", json::array()));
    const std::int64_t at = nowMicros();
    Status s = services.db().transaction([&](TenantDatabase& db) -> Status {
        auto written = db.execute(
            "INSERT INTO announcements_items (tenant_id, id, title, body, audience_roles, author_id, author_name, "
            "published_at, posted_us) VALUES (@tenant, ?, ?, ?, ?, ?, ?, ?, ?)",
            {id, accepted["title"].get<std::string>(), body, roles, author.id, author.name, at / 1000000, at});
        if (!written) {
            return written.status();
        }
        return services.publish("announcements.published", {{"id", id},
                                                             {"title", accepted["title"]},
                                                             {"roles", rolesOf(roles)},
                                                             {"author_id", author.id}});
    });
    if (!s.isOk()) {
        return s;
    }
    if ((*settings)["email_on_publish"].get<bool>()) {
        auto queued = services.enqueue("email_audience", {{"id", id}}, JobOptions{});
        if (!queued) {
            return queued.status();
        }
    }
    services.metrics().increment("published_total");
    auto row = services.db().queryOne("SELECT a.* FROM announcements_items a WHERE a.tenant_id = @tenant AND a.id = ?", {id});
    if (!row || !*row) {
        return row ? Status(Code::kInternal, "announcement-lost", "The announcement vanished after publishing.") : row.status();
    }
    return toJson(**row);
}

/// The job behind email_on_publish: one email per member of the audience.
Result<json> emailAudience(const Job& job, TenantServices& services, JobControl& control) {
    auto a = services.db().queryOne("SELECT a.* FROM announcements_items a WHERE a.tenant_id = @tenant AND a.id = ?",
                                    {job.payload.value("id", "")});
    if (!a) {
        return a.status();
    }
    if (!*a) {
        return json{{"sent", 0}, {"reason", "deleted"}};
    }
    const std::string roles = (*a)->text("audience_roles");
    auto users = services.db().query("SELECT id, roles FROM users WHERE tenant_id = @tenant AND status = 'active'");
    if (!users) {
        return users.status();
    }
    // One transaction: a retried attempt never emails anyone twice.
    int sent = 0;
    int seen = 0;
    Status s = services.db().transaction([&](TenantDatabase&) -> Status {
        for (const auto& u : *users) {
            ++seen;
            bool member = roles.empty();
            for (const auto& role : rolesOf("," + u.text("roles") + ",")) {
                member = member || roles.find("," + role.get<std::string>() + ",") != std::string::npos;
            }
            if (!member) {
                continue;
            }
            Notification n{u.text("id"), "published",
                           {{"title", (*a)->text("title")}, {"body", (*a)->text("body")}, {"author", (*a)->text("author_name")}}};
            if (auto st = services.notify(n); !st.isOk() && st.code() != Code::kFailedPrecondition) {
                return st;
            }
            ++sent;
            control.progress({{"done", seen}, {"total", users->size()}});
        }
        return Status::ok();
    });
    if (!s.isOk()) {
        return s;
    }
    return json{{"sent", sent}};
}

class AnnouncementsPlugin : public Plugin {
public:
    Status registerWith(PluginContext& context) override {
        for (auto& route : routes()) {
            if (auto s = context.addRoute(std::move(route)); !s.isOk()) {
                return s;
            }
        }
        if (auto s = context.addJob("email_audience", emailAudience); !s.isOk()) {
            return s;
        }
        LuaFunction fn;
        fn.name = "publish";
        fn.summary = "Publish an announcement {title, body, roles} on behalf of the school's workflows";
        fn.argsSchema = createSchema(20000);
        fn.call = [](TenantServices& services, const json& args) {
            return publish(services, args, {"script", "Ardoise"});
        };
        if (auto s = context.exportFunction(std::move(fn)); !s.isOk()) {
            return s;
        }
        LuaFunction one;
        one.name = "get";
        one.summary = "One announcement of the school {id}, or nil";
        one.readOnly = true;
        one.argsSchema = {{"type", "object"},
                          {"additionalProperties", false},
                          {"required", {"id"}},
                          {"properties", {{"id", {{"type", "string"}, {"maxLength", 40}}}}}};
        one.call = [](TenantServices& services, const json& args) -> Result<json> {
            auto row = services.db().queryOne("SELECT a.* FROM announcements_items a WHERE a.tenant_id = @tenant AND a.id = ?",
                                              {args["id"].get<std::string>()});
            if (!row) {
                return row.status();
            }
            return *row ? toJson(**row) : json(nullptr);
        };
        if (auto s = context.exportFunction(std::move(one)); !s.isOk()) {
            return s;
        }
        LuaFunction recent;
        recent.name = "recent";
        recent.summary = "The school's latest announcements {limit = 1..20}";
        recent.readOnly = true;
        recent.argsSchema = {{"type", "object"},
                             {"additionalProperties", false},
                             {"properties", {{"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}}}}}};
        recent.call = [](TenantServices& services, const json& args) -> Result<json> {
            auto rows = services.db().query("SELECT a.* FROM announcements_items a WHERE a.tenant_id = @tenant "
                                            "ORDER BY a.posted_us DESC, a.id DESC LIMIT ?",
                                            {std::int64_t{args.value("limit", 5)}});
            if (!rows) {
                return rows.status();
            }
            json items = json::array();
            for (const auto& r : *rows) {
                items.push_back(toJson(r));
            }
            return json{{"items", items}};
        };
        return context.exportFunction(std::move(recent));
    }

private:
    static std::vector<Route> routes() {
        std::vector<Route> out;
        auto add = [&out](std::string method, std::string pattern, std::string permission, std::string summary,
                          Handler handler) -> Route& {
            Route r;
            r.method = std::move(method);
            r.pattern = std::move(pattern);
            r.access = Access::kTenantUser;
            r.permission = std::move(permission);
            r.summary = std::move(summary);
            r.handler = std::move(handler);
            out.push_back(std::move(r));
            return out.back();
        };

        auto& create = add("POST", "/announcements", "announcements.publish",
                           "Publish an announcement to the school or to some roles", [](Request& r) -> Result<Response> {
                               return jsonResponse(publish(*r.services, r.json, {r.principal->id, r.principal->name}), 201);
                           });
        create.requestSchema = createSchema(20000);
        create.successStatus = 201;

        add("GET", "/announcements", "announcements.read",
            "Announcements the caller may see, newest first, with their read state (?limit, ?cursor, ?unread=true)",
            [](Request& r) -> Result<Response> {
                auto limit = pageLimit(r);
                if (!limit) {
                    return limit.status();
                }
                static const std::regex cursorForm("([0-9]{1,19})\\.([a-z0-9]{1,40})");
                std::smatch m;
                const std::string cursor = r.queryParam("cursor");
                std::int64_t beforeAt = INT64_MAX;
                std::string beforeId;
                if (!cursor.empty()) {
                    if (!std::regex_match(cursor, m, cursorForm)) {
                        return Status(Code::kInvalidArgument, "validation", "cursor is not one this API returned.")
                            .addField({"/cursor", "format", "must be a next_cursor value"});
                    }
                    beforeAt = std::stoll(m[1]);
                    beforeId = m[2];
                }
                auto [visible, params] = visibleTo(*r.principal);
                std::string sql =
                    "SELECT a.*, rc.read_at FROM announcements_items a LEFT JOIN announcements_receipts rc ON "
                    "rc.tenant_id = a.tenant_id AND rc.announcement_id = a.id AND rc.user_id = ? "
                    "WHERE a.tenant_id = @tenant AND " + visible +
                    " AND (a.posted_us < ? OR (a.posted_us = ? AND a.id < ?))";
                params.insert(params.begin(), r.principal->id);
                params.emplace_back(beforeAt);
                params.emplace_back(beforeAt);
                params.emplace_back(beforeId.empty() ? std::string("~") : beforeId);
                if (r.queryParam("unread") == "true") {
                    sql += " AND rc.read_at IS NULL";
                }
                sql += " ORDER BY a.posted_us DESC, a.id DESC LIMIT ?";
                params.emplace_back(std::int64_t{*limit + 1});
                auto rows = r.services->db().query(sql, params);
                if (!rows) {
                    return rows.status();
                }
                json items = json::array();
                for (std::size_t i = 0; i < rows->size() && static_cast<int>(i) < *limit; ++i) {
                    items.push_back(toJson((*rows)[i]));
                }
                json body = {{"items", items}, {"next_cursor", nullptr}};
                if (static_cast<int>(rows->size()) > *limit) {
                    const auto& last = (*rows)[static_cast<std::size_t>(*limit) - 1];
                    body["next_cursor"] = std::to_string(last.integer("posted_us")) + "." + last.text("id");
                }
                return Response::json(200, body);
            });

        add("GET", "/announcements/{id}", "announcements.read", "One announcement the caller may see",
            [](Request& r) -> Result<Response> {
                auto [visible, params] = visibleTo(*r.principal);
                params.insert(params.begin(), r.principal->id);
                params.push_back(r.param("id"));
                auto row = r.services->db().queryOne(
                    "SELECT a.*, rc.read_at FROM announcements_items a LEFT JOIN announcements_receipts rc ON "
                    "rc.tenant_id = a.tenant_id AND rc.announcement_id = a.id AND rc.user_id = ? "
                    "WHERE a.tenant_id = @tenant AND " + visible + " AND a.id = ?",
                    params);
                if (!row) {
                    return row.status();
                }
                if (!*row) {
                    return notFound();
                }
                return Response::json(200, toJson(**row));
            });

        auto& read = add("POST", "/announcements/{id}/read", "announcements.read",
                         "Mark an announcement read by the caller (repeating is harmless)", [](Request& r) -> Result<Response> {
                             auto [visible, params] = visibleTo(*r.principal);
                             params.push_back(r.param("id"));
                             auto& db = r.services->db();
                             auto row = db.queryOne("SELECT a.id FROM announcements_items a WHERE a.tenant_id = @tenant AND " +
                                                        visible + " AND a.id = ?",
                                                    params);
                             if (!row) {
                                 return row.status();
                             }
                             if (!*row) {
                                 return notFound();
                             }
                             auto written = db.execute(
                                 "INSERT INTO announcements_receipts (tenant_id, announcement_id, user_id, read_at) "
                                 "VALUES (@tenant, ?, ?, ?) ON CONFLICT DO NOTHING",
                                 {r.param("id"), r.principal->id, now()});
                             if (!written) {
                                 return written.status();
                             }
                             return Response::noContent();
                         });
        read.successStatus = 204;

        add("GET", "/announcements/{id}/receipts", "announcements.publish",
            "Who read an announcement, and how many (first 100 readers, earliest first)", [](Request& r) -> Result<Response> {
                auto& db = r.services->db();
                auto a = db.queryOne("SELECT id FROM announcements_items WHERE tenant_id = @tenant AND id = ?", {r.param("id")});
                if (!a) {
                    return a.status();
                }
                if (!*a) {
                    return notFound();
                }
                auto rows = db.query("SELECT user_id, read_at FROM announcements_receipts WHERE tenant_id = @tenant AND "
                                     "announcement_id = ? ORDER BY read_at, user_id LIMIT 100",
                                     {r.param("id")});
                auto count = db.queryOne("SELECT COUNT(*) AS n FROM announcements_receipts WHERE tenant_id = @tenant AND "
                                         "announcement_id = ?",
                                         {r.param("id")});
                if (!rows || !count) {
                    return !rows ? rows.status() : count.status();
                }
                json readers = json::array();
                for (const auto& row : *rows) {
                    readers.push_back({{"user_id", row.text("user_id")}, {"read_at", row.integer("read_at")}});
                }
                return Response::json(200, {{"read_count", (*count)->integer("n")}, {"readers", readers}});
            });

        auto& remove = add("DELETE", "/announcements/{id}", "announcements.publish",
                           "Withdraw an announcement (its author, or an admin)", [](Request& r) -> Result<Response> {
                               const bool admin = std::find(r.principal->roles.begin(), r.principal->roles.end(),
                                                            "admin") != r.principal->roles.end();
                               auto n = r.services->db().execute(
                                   "DELETE FROM announcements_items WHERE tenant_id = @tenant AND id = ? AND "
                                   "(author_id = ? OR ? = 1)",
                                   {r.param("id"), r.principal->id, std::int64_t{admin ? 1 : 0}});
                               if (!n) {
                                   return n.status();
                               }
                               return *n == 0 ? Result<Response>(notFound()) : Response::noContent();
                           });
        remove.successStatus = 204;
        return out;
    }
};

}  // namespace

}  // namespace ardoise::plugins::announcements

ARDOISE_PLUGIN(ardoise::plugins::announcements::AnnouncementsPlugin, "announcements", "1.0.0")
