#include "kernel/billing/billing_events.hpp"

#include "kernel/data/ids.hpp"
#include "kernel/events/event_bus.hpp"

namespace ardoise::kernel::billing {
namespace {

void audit(data::Connection& c, const std::string& tenantId, const std::string& action, const std::string& actorId,
           const nlohmann::json& details) {
    // audit_log is a tenant table under row-level security on PostgreSQL.
    // A transaction-local setting (is_local = true) leaves the connection's
    // session setting, and the pool's cache of it, untouched.
    if (c.dialect() == data::Dialect::kPostgres) {
        c.query("SELECT set_config('ardoise.tenant_id', ?, true)", {tenantId});
    }
    c.exec("INSERT INTO audit_log (tenant_id, id, at, actor_id, action, target, ip, request_id, details) "
           "VALUES (?, ?, ?, ?, ?, ?, '', '', ?)",
           {tenantId, data::newId(), data::nowSeconds(), actorId.empty() ? data::null() : data::Value(actorId), action,
            tenantId, details.dump()});
}

}  // namespace

void recordTransition(data::Connection& c, const std::string& tenantId, const std::string& from, const std::string& to,
                      const nlohmann::json& details) {
    if (from == to) {
        return;
    }
    nlohmann::json payload = details.is_object() ? details : nlohmann::json::object();
    payload["tenant_id"] = tenantId;
    payload["from"] = from.empty() ? nlohmann::json(nullptr) : nlohmann::json(from);
    payload["to"] = to;
    const std::string name = "billing.subscription." + to;
    audit(c, tenantId, name, payload.value("actor_id", ""), payload);
    events::publish(c, tenantId, name, "kernel", payload);
}

void recordBillingFact(data::Connection& c, const std::string& tenantId, const std::string& what,
                       const nlohmann::json& payload, const std::string& actorId) {
    nlohmann::json p = payload.is_object() ? payload : nlohmann::json::object();
    p["tenant_id"] = tenantId;
    audit(c, tenantId, "billing." + what, actorId, p);
    events::publish(c, tenantId, "billing." + what, "kernel", p);
}

}  // namespace ardoise::kernel::billing
