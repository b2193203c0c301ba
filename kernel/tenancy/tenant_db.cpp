#include "kernel/tenancy/tenant_db.hpp"

#include <stdexcept>
#include <unordered_map>

namespace ardoise::kernel::tenancy {

data::Connection& TenantDb::connection() {
    if (!lease_) {
        lease_.emplace(db_.acquire());
    }
    (*lease_)->setTenantSetting(tenantId_);
    return **lease_;
}

namespace {

/// A statement with `@tenant` markers turned into `?`, and which of its
/// placeholders take the tenant.
struct Template {
    std::string sql;
    std::vector<bool> tenantSlot;
    std::size_t callerParams = 0;
};

Template compile(const std::string& sql) {
    static const std::string kMarker = "@tenant";
    Template t;
    char quote = 0;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        if (quote != 0) {
            quote = (c == quote) ? 0 : quote;
            t.sql += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            t.sql += c;
        } else if (c == '?') {
            t.tenantSlot.push_back(false);
            ++t.callerParams;
            t.sql += c;
        } else if (sql.compare(i, kMarker.size(), kMarker) == 0) {
            t.tenantSlot.push_back(true);
            t.sql += '?';
            i += kMarker.size() - 1;
        } else {
            t.sql += c;
        }
    }
    if (t.callerParams == t.tenantSlot.size()) {
        throw std::logic_error("TenantDb: statement does not scope to @tenant: " + sql);
    }
    return t;
}

}  // namespace

std::pair<std::string, data::Params> TenantDb::bind(const std::string& sql, const data::Params& params) const {
    // Statements are few and fixed: each thread compiles each once.
    thread_local std::unordered_map<std::string, Template> templates;
    auto it = templates.find(sql);
    if (it == templates.end()) {
        it = templates.emplace(sql, compile(sql)).first;
    }
    const Template& t = it->second;
    if (params.size() != t.callerParams) {
        throw std::logic_error("TenantDb: " + std::to_string(params.size()) + " parameters for " +
                               std::to_string(t.callerParams) + " placeholders in: " + sql);
    }
    data::Params bound;
    bound.reserve(t.tenantSlot.size());
    std::size_t next = 0;
    for (bool isTenant : t.tenantSlot) {
        bound.push_back(isTenant ? data::Value(tenantId_) : params[next++]);
    }
    return {t.sql, std::move(bound)};
}

std::vector<data::Row> TenantDb::query(const std::string& sql, const data::Params& params) {
    auto [text, bound] = bind(sql, params);
    return connection().query(text, bound);
}

std::optional<data::Row> TenantDb::queryOne(const std::string& sql, const data::Params& params) {
    auto [text, bound] = bind(sql, params);
    return connection().queryOne(text, bound);
}

std::int64_t TenantDb::exec(const std::string& sql, const data::Params& params) {
    auto [text, bound] = bind(sql, params);
    return connection().exec(text, bound);
}

}  // namespace ardoise::kernel::tenancy
