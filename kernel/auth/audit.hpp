#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "kernel/tenancy/tenant_db.hpp"

namespace ardoise::kernel::auth {

struct AuditEntry {
    std::string actorId;  ///< "" for anonymous (failed login of an unknown account)
    std::string action;   ///< "login.succeeded", "user.invited", …
    std::string target;
    std::string ip;
    std::string requestId;
    nlohmann::json details = nlohmann::json::object();
};

/// Appends a security event to the tenant's audit log.
void recordAudit(tenancy::TenantDb& db, const AuditEntry& entry);

/// Newest first; `before` is an opaque cursor from the previous page.
nlohmann::json listAudit(tenancy::TenantDb& db, int limit, const std::string& before, const std::string& action);

}  // namespace ardoise::kernel::auth
