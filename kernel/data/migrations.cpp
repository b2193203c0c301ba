#include "kernel/data/migrations.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "kernel/data/ids.hpp"

namespace fs = std::filesystem;

namespace ardoise::kernel::data {
namespace {

const char* dialectName(Dialect d) { return d == Dialect::kSqlite ? "sqlite" : "postgresql"; }

Status migrationError(const std::string& type, const std::string& message) {
    return {Code::kFailedPrecondition, type, message};
}

void ensureTable(Connection& c) {
    c.execScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
        " checksum TEXT NOT NULL, applied_at BIGINT NOT NULL,"
        " PRIMARY KEY (component, version))");
}

/// What the database recorded, keyed by (component, version).
std::map<std::pair<std::string, int>, std::string> recorded(Connection& c) {
    std::map<std::pair<std::string, int>, std::string> out;
    for (const auto& r : c.query("SELECT component, version, checksum FROM schema_migrations")) {
        out[{r.text("component"), static_cast<int>(r.integer("version"))}] = r.text("checksum");
    }
    return out;
}

Result<std::vector<Migration>> pendingOf(Database& db, Connection& c, const std::vector<MigrationSource>& sources) {
    auto done = recorded(c);
    std::vector<Migration> pending;
    for (const auto& src : sources) {
        auto list = loadMigrations(src, db.dialect());
        if (!list) {
            return list.status();
        }
        for (auto& m : *list) {
            auto it = done.find({m.component, m.version});
            if (it == done.end()) {
                pending.push_back(std::move(m));
            } else if (it->second != m.checksum) {
                return migrationError("migration-changed",
                                      "Migration " + m.component + "/" + m.name +
                                          " was edited after it was applied (recorded checksum " +
                                          it->second.substr(0, 12) + ", file now " + m.checksum.substr(0, 12) +
                                          "). Released migrations are never edited: restore the file and add a "
                                          "new migration instead.");
            }
        }
    }
    return pending;
}

void secureTenantTables(Connection& c, const std::string& appRole) {
    auto views = c.query(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'v' "
        "AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)");
    if (!views.empty()) {
        throw DbError(DbError::Kind::kOther, "view " + views.front().text("name") +
                                                 " must be created WITH (security_invoker = true), "
                                                 "or it would bypass row-level security");
    }
    auto tables = c.query(
        "SELECT t.table_name AS name FROM information_schema.tables t "
        "JOIN information_schema.columns col ON col.table_schema = t.table_schema AND col.table_name = t.table_name "
        "WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "AND col.column_name = 'tenant_id' AND t.table_name NOT LIKE 'platform\\_%'");
    for (const auto& t : tables) {
        const std::string name = t.text("name");
        c.execScript("SET LOCAL client_min_messages = warning; ALTER TABLE " + name + " ENABLE ROW LEVEL SECURITY; ALTER TABLE " + name +
                     " FORCE ROW LEVEL SECURITY; DROP POLICY IF EXISTS tenant_isolation ON " + name +
                     "; CREATE POLICY tenant_isolation ON " + name +
                     " USING (tenant_id = current_setting('ardoise.tenant_id', true))"
                     " WITH CHECK (tenant_id = current_setting('ardoise.tenant_id', true))");
    }
    if (!appRole.empty()) {
        c.execScript("GRANT USAGE ON SCHEMA " + std::string("public") + " TO " + appRole +
                     "; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + appRole);
    }
}

}  // namespace

Result<std::vector<Migration>> loadMigrations(const MigrationSource& source, Dialect dialect) {
    std::vector<Migration> out;
    if (!fs::is_directory(source.directory)) {
        return out;
    }
    static const std::regex kName(R"(^(\d{4})_([a-z0-9_]+)(\.(sqlite|postgresql))?\.sql$)");
    std::map<int, fs::path> common;
    std::map<int, fs::path> specific;
    for (const auto& entry : fs::directory_iterator(source.directory)) {
        const std::string file = entry.path().filename().string();
        if (entry.path().extension() != ".sql") {
            continue;
        }
        std::smatch m;
        if (!std::regex_match(file, m, kName)) {
            return migrationError("migration-name", "Migration file " + source.component + "/" + file +
                                                        " must be named NNNN_what.sql (lowercase, digits, _)");
        }
        int version = std::stoi(m[1].str());
        auto& target = m[4].matched ? specific : common;
        if (m[4].matched && m[4].str() != dialectName(dialect)) {
            continue;
        }
        if (target.count(version) != 0) {
            return migrationError("migration-duplicate", "Two migrations of " + source.component +
                                                             " have version " + m[1].str());
        }
        target[version] = entry.path();
    }
    for (const auto& [version, path] : specific) {
        common[version] = path;
    }
    for (const auto& [version, path] : common) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string sql = ss.str();
        sql.erase(std::remove(sql.begin(), sql.end(), '\r'), sql.end());
        out.push_back({source.component, version, path.filename().string(), sql, sha256Hex(sql)});
    }
    return out;
}

Result<MigrationReport> migrate(Database& db, const std::vector<MigrationSource>& sources, const std::string& appRole) {
    try {
        auto lease = db.acquire();
        ensureTable(*lease);
        auto pending = pendingOf(db, *lease, sources);
        if (!pending) {
            return pending.status();
        }
        MigrationReport report;
        for (const auto& m : *pending) {
            Transaction tx(*lease);
            try {
                lease->execScript(m.sql);
                if (db.dialect() == Dialect::kPostgres) {
                    secureTenantTables(*lease, appRole);  // in the same transaction: a refused view is undone
                }
            } catch (const DbError& e) {
                return migrationError("migration-failed",
                                      "Migration " + m.component + "/" + m.name + " failed: " + e.what());
            }
            lease->exec("INSERT INTO schema_migrations (component, version, name, checksum, applied_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        {m.component, std::int64_t{m.version}, m.name, m.checksum, nowSeconds()});
            tx.commit();
            ++report.applied;
        }
        if (db.dialect() == Dialect::kPostgres && report.applied == 0) {
            Transaction tx(*lease);  // grants for a new application role
            secureTenantTables(*lease, appRole);
            tx.commit();
        }
        return report;
    } catch (const DbError& e) {
        return Status(Code::kUnavailable, "migration-failed", e.what());
    }
}

Result<MigrationReport> checkMigrations(Database& db, const std::vector<MigrationSource>& sources) {
    try {
        auto lease = db.acquire();
        auto exists = lease->query(db.dialect() == Dialect::kSqlite
                                       ? "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
                                       : "SELECT table_name AS name FROM information_schema.tables "
                                         "WHERE table_schema = current_schema() AND table_name = 'schema_migrations'");
        MigrationReport report;
        if (exists.empty()) {
            for (const auto& src : sources) {
                auto list = loadMigrations(src, db.dialect());
                if (!list) {
                    return list.status();
                }
                report.pending += static_cast<int>(list->size());
            }
            return report;
        }
        auto pending = pendingOf(db, *lease, sources);
        if (!pending) {
            return pending.status();
        }
        report.pending = static_cast<int>(pending->size());
        return report;
    } catch (const DbError& e) {
        return Status(Code::kUnavailable, "database-unavailable", e.what());
    }
}

}  // namespace ardoise::kernel::data

namespace ardoise::kernel::data {
Status checkServerRole(Database& db) {
    if (db.dialect() != Dialect::kPostgres) {
        return Status::ok();
    }
    auto lease = db.acquire();
    auto role = lease->queryOne(
        "SELECT current_user AS name, CAST(rolsuper AS INTEGER) AS super, CAST(rolbypassrls AS INTEGER) AS bypass "
        "FROM pg_roles WHERE rolname = current_user");
    if (!role) {
        return {Code::kFailedPrecondition, "unsafe-role", "cannot read the server's database role"};
    }
    if (role->integer("super") != 0 || role->integer("bypass") != 0) {
        return {Code::kFailedPrecondition, "unsafe-role",
                "database role " + role->text("name") +
                    " is superuser or has BYPASSRLS; row-level security would not apply. Connect as the "
                    "application role (see deploy/README.md)."};
    }
    auto owned = lease->queryOne(
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user");
    if (owned && owned->integer("n") > 0) {
        return {Code::kFailedPrecondition, "unsafe-role",
                "database role " + role->text("name") +
                    " owns tables; the server must connect as a role that does not own them "
                    "(set database_admin_url for migrations)."};
    }
    return Status::ok();
}
}  // namespace ardoise::kernel::data
