#include "kernel/tenancy/tenancy.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "kernel/data/ids.hpp"
#include "kernel/tenancy/tenant_db.hpp"

namespace ardoise::kernel::tenancy {
namespace {

constexpr auto kCacheTtl = std::chrono::seconds(2);
const std::set<std::string> kReserved = {"www", "api", "app", "admin", "platform", "static", "assets", "mail",
                                         "smtp", "status", "help", "docs", "ardoise", "root", "system"};
const std::set<std::string> kSecretColumns = {"password_hash", "totp_secret", "token_hash", "code_hash"};

nlohmann::json toJson(const data::Row& r) {
    nlohmann::json branding = nlohmann::json::parse(r.text("branding"), nullptr, false);
    return {
        {"id", r.text("id")},
        {"slug", r.text("slug")},
        {"name", r.text("name")},
        {"status", r.text("status")},
        {"locale", r.text("locale")},
        {"timezone", r.text("timezone")},
        {"currency", r.text("currency")},
        {"branding", branding.is_discarded() ? nlohmann::json::object() : branding},
        {"created_at", r.integer("created_at")},
        {"updated_at", r.integer("updated_at")},
    };
}

Status notFound() { return {Code::kNotFound, "tenant-not-found", "No such school."}; }

nlohmann::json brandingSchema() {
    return {{"type", "object"},
            {"additionalProperties", false},
            {"properties",
             {{"name", {{"type", "string"}, {"maxLength", 120}}},
              {"primary_color", {{"type", "string"}, {"pattern", "^#[0-9a-fA-F]{6}$"}}},
              {"secondary_color", {{"type", "string"}, {"pattern", "^#[0-9a-fA-F]{6}$"}}},
              {"logo_url", {{"type", "string"}, {"format", "uri"}, {"maxLength", 500}}}}}};
}

nlohmann::json tenantProperties() {
    return {{"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 120}}},
            {"locale", {{"type", "string"}, {"enum", {"fr", "en"}}}},
            {"timezone", {{"type", "string"}, {"minLength", 1}, {"maxLength", 64}}},
            {"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
            {"branding", brandingSchema()}};
}

Status semanticChecks(const nlohmann::json& input) {
    if (input.contains("timezone") && !isKnownTimezone(input["timezone"].get<std::string>())) {
        return Status(Code::kInvalidArgument, "validation", "Unknown timezone.")
            .addField({"/timezone", "timezone", "must be an IANA timezone such as Africa/Abidjan"});
    }
    return Status::ok();
}

}  // namespace

Status validateSlug(const std::string& slug) {
    auto bad = [](const std::string& reason, const std::string& detail) {
        return Status(Code::kInvalidArgument, "validation", "Invalid slug.").addField({"/slug", reason, detail});
    };
    if (slug.size() < 3 || slug.size() > 40) {
        return bad("slug", "must be 3 to 40 characters");
    }
    for (char c : slug) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return bad("slug", "may hold only lowercase letters, digits and hyphens");
        }
    }
    if (slug.front() == '-' || slug.back() == '-') {
        return bad("slug", "may not start or end with a hyphen");
    }
    if (kReserved.count(slug) != 0) {
        return bad("reserved", "is reserved");
    }
    return Status::ok();
}

bool isKnownTimezone(const std::string& zone) {
    if (zone.empty() || zone.find("..") != std::string::npos || zone.front() == '/') {
        return false;
    }
    for (char c : zone) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+')) {
            return false;
        }
    }
    if (zone == "UTC") {
        return true;
    }
    return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + zone);
}

const nlohmann::json& TenantService::createSchema() {
    static const nlohmann::json schema = [] {
        nlohmann::json props = tenantProperties();
        props["slug"] = {{"type", "string"}, {"minLength", 3}, {"maxLength", 40}, {"pattern", "^[a-z0-9-]+$"}};
        return nlohmann::json{{"type", "object"},
                              {"additionalProperties", false},
                              {"required", {"slug", "name"}},
                              {"properties", props}};
    }();
    return schema;
}

const nlohmann::json& TenantService::updateSchema() {
    static const nlohmann::json schema = {
        {"type", "object"}, {"additionalProperties", false}, {"minProperties", 1}, {"properties", tenantProperties()}};
    return schema;
}

const nlohmann::json& TenantService::tenantSchema() {
    static const nlohmann::json schema = [] {
        nlohmann::json props = tenantProperties();
        props["id"] = {{"type", "string"}};
        props["slug"] = {{"type", "string"}};
        props["status"] = {{"type", "string"}, {"enum", {"active", "suspended", "deleted"}}};
        props["created_at"] = {{"type", "integer"}};
        props["updated_at"] = {{"type", "integer"}};
        return nlohmann::json{{"type", "object"}, {"properties", props}};
    }();
    return schema;
}

std::optional<data::Row> TenantService::find(data::Connection& c, const std::string& idOrSlug) {
    return c.queryOne("SELECT * FROM tenants WHERE (id = ? OR slug = ?) AND status <> 'deleted'", {idOrSlug, idOrSlug});
}

Result<nlohmann::json> TenantService::create(const nlohmann::json& input) {
    const std::string slug = input.at("slug").get<std::string>();
    if (auto s = validateSlug(slug); !s.isOk()) {
        return s;
    }
    if (auto s = semanticChecks(input); !s.isOk()) {
        return s;
    }
    const auto now = data::nowSeconds();
    const std::string id = data::newId();
    auto lease = db_.acquire();
    try {
        lease->exec(
            "INSERT INTO tenants (id, slug, name, status, locale, timezone, currency, branding, created_at, updated_at) "
            "VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)",
            {id, slug, input.at("name").get<std::string>(), input.value("locale", "fr"),
             input.value("timezone", "Africa/Abidjan"), input.value("currency", "XOF"),
             input.value("branding", nlohmann::json::object()).dump(), now, now});
    } catch (const data::DbError& e) {
        if (e.kind() == data::DbError::Kind::kUniqueViolation) {
            return Status(Code::kConflict, "slug-taken", "This slug is already used by another school.")
                .addField({"/slug", "taken", "is already used"});
        }
        throw;
    }
    invalidate(slug);
    return toJson(*find(*lease, id));
}

Result<nlohmann::json> TenantService::upsert(const nlohmann::json& input, bool* created) {
    const std::string slug = input.at("slug").get<std::string>();
    auto existing = get(slug);
    if (created != nullptr) {
        *created = !existing;
    }
    if (!existing) {
        return create(input);
    }
    nlohmann::json patch = input;
    patch.erase("slug");
    return update(slug, patch);
}

nlohmann::json TenantService::list(int limit, const std::string& after, const std::string& status) {
    auto lease = db_.acquire();
    std::string sql = "SELECT * FROM tenants WHERE slug > ? AND status <> 'deleted'";
    data::Params params{after};
    if (!status.empty()) {
        sql += " AND status = ?";
        params.emplace_back(status);
    }
    sql += " ORDER BY slug LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(limit + 1));
    auto rows = lease->query(sql, params);
    nlohmann::json items = nlohmann::json::array();
    for (std::size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i) {
        items.push_back(toJson(rows[i]));
    }
    nlohmann::json out = {{"items", items}, {"next_cursor", nullptr}};
    if (static_cast<int>(rows.size()) > limit) {
        out["next_cursor"] = items.back()["slug"];
    }
    return out;
}

Result<nlohmann::json> TenantService::get(const std::string& idOrSlug) {
    auto lease = db_.acquire();
    auto row = find(*lease, idOrSlug);
    if (!row) {
        return notFound();
    }
    return toJson(*row);
}

Result<nlohmann::json> TenantService::update(const std::string& idOrSlug, const nlohmann::json& patch) {
    if (auto s = semanticChecks(patch); !s.isOk()) {
        return s;
    }
    auto lease = db_.acquire();
    data::Transaction tx(*lease);
    auto row = find(*lease, idOrSlug);
    if (!row) {
        return notFound();
    }
    nlohmann::json current = toJson(*row);
    for (const auto& key : {"name", "locale", "timezone", "currency"}) {
        if (patch.contains(key)) {
            current[key] = patch[key];
        }
    }
    if (patch.contains("branding")) {
        current["branding"].update(patch["branding"]);
    }
    lease->exec("UPDATE tenants SET name = ?, locale = ?, timezone = ?, currency = ?, branding = ?, updated_at = ? "
                "WHERE id = ?",
                {current["name"].get<std::string>(), current["locale"].get<std::string>(),
                 current["timezone"].get<std::string>(), current["currency"].get<std::string>(),
                 current["branding"].dump(), data::nowSeconds(), current["id"].get<std::string>()});
    tx.commit();
    invalidate(current["slug"]);
    return toJson(*find(*lease, current["id"]));
}

Result<nlohmann::json> TenantService::setStatus(const std::string& idOrSlug, const std::string& status) {
    auto lease = db_.acquire();
    auto row = find(*lease, idOrSlug);
    if (!row) {
        return notFound();
    }
    lease->exec("UPDATE tenants SET status = ?, updated_at = ? WHERE id = ?",
                {status, data::nowSeconds(), row->text("id")});
    invalidate(row->text("slug"));
    return toJson(*find(*lease, row->text("id")));
}

std::vector<std::string> tenantTables(data::Connection& c) {
    std::vector<std::string> out;
    if (c.dialect() == data::Dialect::kSqlite) {
        for (const auto& t : c.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) {
            const std::string name = t.text("name");
            for (const auto& col : c.query("SELECT name FROM pragma_table_info(?)", {name})) {
                if (col.text("name") == "tenant_id" && name.rfind("platform_", 0) != 0) {
                    out.push_back(name);
                }
            }
        }
    } else {
        for (const auto& t : c.query("SELECT table_name AS name FROM information_schema.columns "
                                     "WHERE table_schema = current_schema() AND column_name = 'tenant_id' "
                                     "AND table_name NOT LIKE 'platform\\_%' ORDER BY table_name")) {
            out.push_back(t.text("name"));
        }
    }
    return out;
}

Result<std::string> TenantService::remove(const std::string& idOrSlug) {
    auto tenant = get(idOrSlug);
    if (!tenant) {
        return tenant.status();
    }
    const std::string id = (*tenant)["id"];
    const std::string slug = (*tenant)["slug"];
    {
        auto lease = db_.acquire();
        lease->exec("UPDATE tenants SET status = 'deleted', updated_at = ? WHERE id = ?", {data::nowSeconds(), id});
    }
    invalidate(slug);

    nlohmann::json archive = {{"format", "ardoise-tenant-export/1"},
                              {"exported_at", data::nowSeconds()},
                              {"tenant", *tenant},
                              {"tables", nlohmann::json::object()}};
    {
    TenantDb tdb(db_, id);
    for (const auto& table : tenantTables(tdb.connection())) {
        auto& rows = archive["tables"][table] = nlohmann::json::array();
        for (const auto& r : tdb.query("SELECT * FROM " + table + " WHERE tenant_id = @tenant")) {
            nlohmann::json obj;
            for (std::size_t i = 0; i < r.size(); ++i) {
                const auto& name = r.names()[i];
                if (kSecretColumns.count(name) != 0) {
                    continue;  // secrets never leave the platform
                }
                const auto& v = r.at(i);
                if (std::holds_alternative<std::int64_t>(v)) {
                    obj[name] = std::get<std::int64_t>(v);
                } else if (std::holds_alternative<double>(v)) {
                    obj[name] = std::get<double>(v);
                } else if (std::holds_alternative<std::string>(v)) {
                    obj[name] = std::get<std::string>(v);
                } else {
                    obj[name] = nullptr;
                }
            }
            rows.push_back(std::move(obj));
        }
    }
    }  // releases the tenant's connection before the delete below
    const auto dir = std::filesystem::path(dataDir_) / "exports";
    std::filesystem::create_directories(dir);
    const auto path = dir / (slug + "-" + std::to_string(data::nowSeconds()) + ".json");
    {
        std::ofstream out(path.string() + ".tmp", std::ios::binary | std::ios::trunc);
        out << archive.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
        out.flush();
        if (!out) {
            return Status(Code::kUnavailable, "export-failed",
                          "The school's data could not be exported, so nothing was deleted.");
        }
    }
    std::filesystem::rename(path.string() + ".tmp", path);
    auto lease = db_.acquire();
    lease->exec("DELETE FROM tenants WHERE id = ?", {id});  // every tenant table cascades from tenants
    return path.string();
}

std::shared_ptr<const http::TenantContext> TenantService::resolve(const std::string& slug) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::shared_lock lock(cacheMutex_);
        auto it = cache_.find(slug);
        if (it != cache_.end() && now - it->second.at < kCacheTtl) {
            return it->second.tenant;
        }
    }
    std::shared_ptr<const http::TenantContext> ctx;
    {
        auto lease = db_.acquire();
        auto row = lease->queryOne(
            "SELECT id, slug, name, status, locale, timezone, currency FROM tenants WHERE slug = ? AND status <> 'deleted'",
            {slug});
        if (row) {
            ctx = std::make_shared<const http::TenantContext>(http::TenantContext{
                row->text("id"), row->text("slug"), row->text("name"), row->text("status"), row->text("locale"),
                row->text("timezone"), row->text("currency")});
        }
    }
    std::unique_lock lock(cacheMutex_);
    if (cache_.size() > 10000) {
        cache_.clear();
    }
    cache_[slug] = {ctx, now};
    return ctx;
}

void TenantService::invalidate(const std::string& slug) {
    std::unique_lock lock(cacheMutex_);
    cache_.erase(slug);
}

}  // namespace ardoise::kernel::tenancy
