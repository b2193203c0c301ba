#pragma once
// Numbered SQL migrations per component (kernel, each plugin).
//
// A component's folder holds NNNN_what.sql files, applied in order and
// recorded with a SHA-256 checksum; a dialect may override a file with
// NNNN_what.sqlite.sql or NNNN_what.postgresql.sql. A recorded migration whose
// file changed is refused: released migrations are never edited.

#include <ardoise/status.hpp>

#include <string>
#include <vector>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::data {

struct MigrationSource {
    std::string component;  ///< "kernel" or a plugin name
    std::string directory;
};

struct Migration {
    std::string component;
    int version = 0;
    std::string name;  ///< file name, for messages
    std::string sql;
    std::string checksum;
};

/// Reads a component's migrations, sorted by version. Malformed file names
/// and duplicate versions are errors.
Result<std::vector<Migration>> loadMigrations(const MigrationSource& source, Dialect dialect);

struct MigrationReport {
    int applied = 0;
    int pending = 0;  ///< after the run (0 when migrate succeeded)
};

/// Applies pending migrations of every source, each in its own transaction.
/// On PostgreSQL it then forces row-level security on every table with a
/// `tenant_id` column (except `platform_*` tables), refuses views without
/// `security_invoker`, and grants DML to `appRole` when not empty.
Result<MigrationReport> migrate(Database& db, const std::vector<MigrationSource>& sources,
                                const std::string& appRole = "");

/// Counts pending migrations and detects edited ones, without changing anything.
Result<MigrationReport> checkMigrations(Database& db, const std::vector<MigrationSource>& sources);

}  // namespace ardoise::kernel::data

namespace ardoise::kernel::data {
/// On PostgreSQL, refuses a server role that is superuser, has BYPASSRLS, or
/// owns tables (owners bypass row-level security unless it is forced, and a
/// role that can alter policies defeats them). OK on SQLite.
Status checkServerRole(Database& db);
}  // namespace ardoise::kernel::data
