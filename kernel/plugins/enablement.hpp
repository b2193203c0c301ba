#pragma once
// Per-tenant plugin state: allowed by the operator (later: by the plan),
// enabled and configured by the school's admins.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>

#include "kernel/data/database.hpp"
#include "kernel/plugins/plugin_host.hpp"

namespace ardoise::kernel::plugins {

struct TenantPluginState {
    bool allowed = false;
    bool enabled = false;
    nlohmann::json settings = nlohmann::json::object();
};

/// How plans decide plugins (bound by the application to billing).
struct PlanPolicy {
    /// nullopt: the school has no plan (the operator's `allowed` decides);
    /// else whether its plan's features include `feature`.
    std::function<std::optional<bool>(const std::string& tenantId, const std::string& feature)> includes;
    /// The cheapest plan including `feature`, for the school's currency.
    std::function<std::optional<std::string>(const std::string& tenantId, const std::string& feature)> cheapestWith;
};

class Enablement {
public:
    Enablement(data::Database& db, const PluginHost& host) : db_(db), host_(host) {}

    /// A plugin is allowed when the operator allowed it for the school, or
    /// the school's plan includes its plan feature. Before serving.
    void setPlanPolicy(PlanPolicy policy) { plans_ = std::move(policy); }

    /// For the request path: may this tenant's request reach `plugin`'s routes?
    /// Not allowed → 403 "plugin-not-in-plan" naming the plan feature;
    /// allowed but disabled → 404 like a route that does not exist.
    /// Cached for a short TTL (changes on this node apply at once).
    Status gate(const std::string& tenantId, const std::string& plugin);

    /// The tenant's stored settings of `plugin` (cached like gate).
    nlohmann::json settings(const std::string& tenantId, const std::string& plugin);

    /// The loaded plugins with this tenant's state, for admins.
    nlohmann::json list(const std::string& tenantId);
    Result<nlohmann::json> get(const std::string& tenantId, const std::string& plugin);
    /// `patch` holds "enabled" and/or "settings" (validated against the
    /// manifest's settings schema). Enabling needs the plugin allowed.
    Result<nlohmann::json> configure(const std::string& tenantId, const std::string& plugin, const nlohmann::json& patch);
    /// Operators allow or withdraw a plugin for a tenant (withdrawing also disables it).
    Result<nlohmann::json> setAllowed(const std::string& tenantId, const std::string& plugin, bool allowed);

private:
    const PluginRecord* loaded(const std::string& plugin) const;
    TenantPluginState cached(const std::string& tenantId, const std::string& plugin);
    TenantPluginState read(const std::string& tenantId, const std::string& plugin);
    nlohmann::json toJson(const PluginRecord& record, const TenantPluginState& state) const;
    void invalidate(const std::string& tenantId, const std::string& plugin);
    Status notInPlan(const std::string& tenantId, const std::string& plugin, const std::string& feature) const;

    data::Database& db_;
    const PluginHost& host_;
    PlanPolicy plans_;
    std::shared_mutex mutex_;
    struct Cached {
        TenantPluginState state;
        std::chrono::steady_clock::time_point at;
    };
    std::map<std::pair<std::string, std::string>, Cached> cache_;
};

}  // namespace ardoise::kernel::plugins
