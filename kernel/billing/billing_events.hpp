#pragma once
// What billing tells the rest of the platform: every change of a school's
// subscription status, and invoice facts, are written to the school's audit
// log and published as `billing.*` events, in the caller's transaction.

#include <nlohmann/json.hpp>

#include <string>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::billing {

/// Audits ("billing.subscription.<to>") and publishes the event
/// `billing.subscription.<to>` with {tenant_id, from, to, plan, cause…}
/// (`details` merged in), on `c` inside the caller's transaction. Nothing
/// when `from == to`.
void recordTransition(data::Connection& c, const std::string& tenantId, const std::string& from, const std::string& to,
                      const nlohmann::json& details);

/// Audits and publishes `billing.<what>` (e.g. "invoice.paid") with `payload`
/// (tenant_id added), on `c` inside the caller's transaction.
void recordBillingFact(data::Connection& c, const std::string& tenantId, const std::string& what,
                       const nlohmann::json& payload, const std::string& actorId = "");

}  // namespace ardoise::kernel::billing
