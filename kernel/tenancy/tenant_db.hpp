#pragma once
// TenantDb: the only way kernel code reaches school data.
//
// Every statement must name `@tenant`, which is bound to this accessor's
// tenant; a statement without it is a bug and throws std::logic_error. On
// PostgreSQL the connection's `ardoise.tenant_id` is set too, so row-level
// security stands behind the application check.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::tenancy {

class TenantDb {
public:
    TenantDb(data::Database& db, std::string tenantId) : db_(db), tenantId_(std::move(tenantId)) {}

    const std::string& tenantId() const { return tenantId_; }
    data::Dialect dialect() const { return db_.dialect(); }

    std::vector<data::Row> query(const std::string& sql, const data::Params& params = {});
    std::optional<data::Row> queryOne(const std::string& sql, const data::Params& params = {});
    std::int64_t exec(const std::string& sql, const data::Params& params = {});

    /// The leased connection, with the tenant setting applied; for transactions.
    data::Connection& connection();

private:
    std::pair<std::string, data::Params> bind(const std::string& sql, const data::Params& params) const;

    data::Database& db_;
    std::string tenantId_;
    std::optional<data::Lease> lease_;
};

}  // namespace ardoise::kernel::tenancy
