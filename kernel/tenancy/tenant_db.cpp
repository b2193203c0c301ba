#include "kernel/tenancy/tenant_db.hpp"

#include <stdexcept>

namespace ardoise::kernel::tenancy {

data::Connection& TenantDb::connection() {
    if (!lease_) {
        lease_.emplace(db_.acquire());
    }
    (*lease_)->setTenantSetting(tenantId_);
    return **lease_;
}

std::pair<std::string, data::Params> TenantDb::bind(const std::string& sql, const data::Params& params) const {
    static const std::string kMarker = "@tenant";
    std::string out;
    data::Params bound;
    std::size_t next = 0;
    bool named = false;
    char quote = 0;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        char c = sql[i];
        if (quote != 0) {
            quote = (c == quote) ? 0 : quote;
            out += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            out += c;
        } else if (c == '?') {
            if (next >= params.size()) {
                throw std::logic_error("TenantDb: fewer parameters than placeholders in: " + sql);
            }
            bound.push_back(params[next++]);
            out += c;
        } else if (sql.compare(i, kMarker.size(), kMarker) == 0) {
            bound.emplace_back(tenantId_);
            out += '?';
            named = true;
            i += kMarker.size() - 1;
        } else {
            out += c;
        }
    }
    if (!named) {
        throw std::logic_error("TenantDb: statement does not scope to @tenant: " + sql);
    }
    if (next != params.size()) {
        throw std::logic_error("TenantDb: more parameters than placeholders in: " + sql);
    }
    return {std::move(out), std::move(bound)};
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
