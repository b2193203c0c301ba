#pragma once
#include <ardoise/database.hpp>

#include <functional>
#include <optional>
#include <vector>

#include "kernel/tenancy/tenant_db.hpp"

namespace ardoise::kernel::plugins {

/// The SDK's TenantDatabase over the kernel's TenantDb: database errors
/// become Statuses, so nothing throws into plugin code.
class PluginDatabase : public TenantDatabase {
public:
    PluginDatabase(data::Database& db, std::string tenantId) : db_(db, std::move(tenantId)) {}

    const std::string& tenantId() const override { return db_.tenantId(); }
    Result<std::vector<SqlRow>> query(const std::string& sql, const std::vector<SqlValue>& params) override;
    Result<std::optional<SqlRow>> queryOne(const std::string& sql, const std::vector<SqlValue>& params) override;
    Result<std::int64_t> execute(const std::string& sql, const std::vector<SqlValue>& params) override;
    Status transaction(const std::function<Status(TenantDatabase&)>& work) override;
    std::string newId() override;

    /// Runs `work` on the leased connection (inside the open transaction, if
    /// any), turning database errors into a Status.
    Status withConnection(const std::function<void(data::Connection&)>& work);
    /// Runs `action` once the current transaction commits (dropped on
    /// rollback), or now when none is open.
    void afterCommit(std::function<void()> action);

private:
    tenancy::TenantDb db_;
    bool inTransaction_ = false;
    std::vector<std::function<void()>> afterCommit_;
};

}  // namespace ardoise::kernel::plugins
