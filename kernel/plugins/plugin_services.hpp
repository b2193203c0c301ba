#pragma once
// The kernel's side of ardoise/services.hpp: TenantServices bound to one
// plugin and one school, over the kernel's database, event bus, job queue,
// outbox, templates and metrics.

#include <ardoise/services.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "kernel/data/database.hpp"
#include "kernel/events/event_bus.hpp"
#include "kernel/events/job_queue.hpp"
#include "kernel/http/metrics.hpp"
#include "kernel/plugins/manifest.hpp"

namespace ardoise::kernel::notify {
class OutboxWorker;
}

namespace ardoise::kernel::plugins {

/// What every TenantServices of one loaded plugin shares.
struct PluginRuntime {
    std::shared_ptr<const Manifest> manifest;
    std::filesystem::path folder;
    std::unique_ptr<Metrics> metrics;
};

/// Per-tenant facts the services need from the rest of the kernel, bound by
/// the application once they exist.
struct TenantHooks {
    std::function<bool(const std::string& tenantId, const std::string& plugin)> enabled;
    std::function<nlohmann::json(const std::string& tenantId, const std::string& plugin)> settings;
    /// Calls an exported function ("<module>.<name>") for the tenant.
    std::function<Result<nlohmann::json>(const std::string& function, const std::string& tenantId,
                                         const nlohmann::json& args)>
        call;
    /// Quotas and usage (billing), on the plugin's connection (inside its
    /// transaction, if any). Unbound: unlimited, nothing recorded.
    std::function<Status(data::Connection&, const std::string& tenantId, const std::string& limit, std::int64_t adding)>
        checkQuota;
    std::function<Status(data::Connection&, const std::string& tenantId, const std::string& metric, std::int64_t amount)>
        recordUsage;
    /// The school scripts' filter hook (ScriptHost::filter).
    std::function<Result<nlohmann::json>(const std::string& tenantId, const std::string& hook, const nlohmann::json& data,
                                         const std::vector<std::string>& adjustable, bool failClosed)>
        filter;
};

class ServiceHub {
public:
    ServiceHub(data::Database& db, events::EventBus& bus, events::JobQueue& jobs, http::Metrics& metrics)
        : db_(db), bus_(bus), jobs_(jobs), metrics_(metrics) {}

    void bind(TenantHooks hooks, notify::OutboxWorker* outbox) {
        hooks_ = std::move(hooks);
        outbox_ = outbox;
    }
    /// Binds the school scripts' filters (the scripting host comes after the plugins).
    void setFilter(decltype(TenantHooks::filter) filter) { hooks_.filter = std::move(filter); }

    /// Services for a request whose tenant is resolved.
    std::shared_ptr<TenantServices> make(const PluginRuntime& runtime, std::shared_ptr<const TenantContext> tenant);
    /// Services for background work (events, jobs, Lua calls) of `tenantId`;
    /// kNotFound when the tenant is gone.
    Result<std::shared_ptr<TenantServices>> forTenant(const PluginRuntime& runtime, const std::string& tenantId);
    /// Whether `plugin` is enabled for the tenant (background work skips the others).
    bool enabled(const std::string& tenantId, const std::string& plugin) const;

    /// The runtime's metrics object (`ardoise_plugin_<plugin>_<name>`).
    std::unique_ptr<Metrics> pluginMetrics(const std::string& plugin);

    data::Database& database() { return db_; }
    events::EventBus& bus() { return bus_; }
    events::JobQueue& jobs() { return jobs_; }
    http::Metrics& metrics() { return metrics_; }
    const TenantHooks& hooks() const { return hooks_; }
    notify::OutboxWorker* outbox() const { return outbox_; }

private:
    data::Database& db_;
    events::EventBus& bus_;
    events::JobQueue& jobs_;
    http::Metrics& metrics_;
    TenantHooks hooks_;
    notify::OutboxWorker* outbox_ = nullptr;
};

/// Plugin log lines below `level` are dropped (default: kDebug, all kept).
void setPluginLogThreshold(LogLevel level);

/// The structured log line of plugin code (stderr, one JSON object).
void pluginLog(LogLevel level, const std::string& plugin, const std::string& message, const std::string& tenantId = "");

}  // namespace ardoise::kernel::plugins
