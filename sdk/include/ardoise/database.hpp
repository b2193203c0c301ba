#pragma once
// Tenant-scoped database access for plugins.
//
// Every statement names its tenant with the marker `@tenant`, which the
// host binds to the request's school; a statement without it is refused.
// Values are bound by position to `?` with their own type. Statements are
// prepared once per pooled connection and reused. On PostgreSQL, row-level
// security stands behind this rule as a second wall.
//
// Data rules (see sdk/README.md): every table of a plugin is named
// `<plugin>_…`, has `tenant_id` first in its primary key and in every unique
// and foreign key, and references tenants(id) ON DELETE CASCADE.

#include <ardoise/status.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ardoise {

/// NULL, integer, real or text.
using SqlValue = std::variant<std::monostate, std::int64_t, double, std::string>;

/// One result row. Column names are lower-case.
class SqlRow {
public:
    SqlRow(std::shared_ptr<const std::vector<std::string>> names, std::vector<SqlValue> values)
        : names_(std::move(names)), values_(std::move(values)) {}

    bool has(const std::string& column) const { return find(column) != nullptr; }
    bool isNull(const std::string& column) const {
        const auto* v = find(column);
        return v == nullptr || std::holds_alternative<std::monostate>(*v);
    }
    /// Text of a column ("" for NULL or a missing column; numbers as text).
    std::string text(const std::string& column) const {
        const auto* v = find(column);
        if (v == nullptr) {
            return "";
        }
        if (const auto* s = std::get_if<std::string>(v)) {
            return *s;
        }
        if (const auto* i = std::get_if<std::int64_t>(v)) {
            return std::to_string(*i);
        }
        if (const auto* d = std::get_if<double>(v)) {
            return std::to_string(*d);
        }
        return "";
    }
    /// Integer of a column (0 for NULL or a missing column; text is parsed).
    std::int64_t integer(const std::string& column) const {
        const auto* v = find(column);
        if (v == nullptr) {
            return 0;
        }
        if (const auto* i = std::get_if<std::int64_t>(v)) {
            return *i;
        }
        if (const auto* d = std::get_if<double>(v)) {
            return static_cast<std::int64_t>(*d);
        }
        if (const auto* s = std::get_if<std::string>(v)) {
            try {
                return std::stoll(*s);
            } catch (...) {
                return 0;
            }
        }
        return 0;
    }
    const std::vector<std::string>& columns() const { return *names_; }
    const std::vector<SqlValue>& values() const { return values_; }

private:
    const SqlValue* find(const std::string& column) const {
        for (std::size_t i = 0; i < names_->size(); ++i) {
            if ((*names_)[i] == column) {
                return &values_[i];
            }
        }
        return nullptr;
    }
    std::shared_ptr<const std::vector<std::string>> names_;
    std::vector<SqlValue> values_;
};

/// The request's school's data. Not thread-safe: one per request. Errors:
/// kInternal "sql-not-tenant-scoped" (no @tenant, wrong number of
/// parameters: a bug in the plugin), kConflict "unique-violation", kFailedPrecondition
/// "foreign-key-violation", kUnavailable "database-unavailable", kInternal
/// "sql-error" (bad SQL; the message says why).
class TenantDatabase {
public:
    virtual ~TenantDatabase() = default;
    virtual const std::string& tenantId() const = 0;
    virtual Result<std::vector<SqlRow>> query(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
    /// The first row, or an empty optional.
    virtual Result<std::optional<SqlRow>> queryOne(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
    /// INSERT/UPDATE/DELETE; the number of rows affected.
    virtual Result<std::int64_t> execute(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
    /// Runs `work` in one transaction: committed when it returns ok, rolled
    /// back when it fails or throws. Not nestable.
    virtual Status transaction(const std::function<Status(TenantDatabase&)>& work) = 0;
    /// A new random id (20 base32 characters), the platform's id format.
    virtual std::string newId() = 0;
};

}  // namespace ardoise
