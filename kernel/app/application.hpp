#pragma once
// Wires the kernel's subsystems together: database, services, routes,
// pipeline, server and background workers.

#include <ardoise/status.hpp>

#include <memory>

#include "kernel/app/config.hpp"
#include "kernel/auth/auth.hpp"
#include "kernel/billing/billing.hpp"
#include "kernel/data/database.hpp"
#include "kernel/data/migrations.hpp"
#include "kernel/events/event_bus.hpp"
#include "kernel/events/job_queue.hpp"
#include "kernel/http/metrics.hpp"
#include "kernel/http/pipeline.hpp"
#include "kernel/http/router.hpp"
#include "kernel/http/server.hpp"
#include "kernel/notify/outbox.hpp"
#include "kernel/plugins/enablement.hpp"
#include "kernel/plugins/plugin_host.hpp"
#include "kernel/scripting/script_host.hpp"
#include "kernel/tenancy/tenancy.hpp"

namespace ardoise::kernel::app {

class Application {
public:
    explicit Application(Config config);
    ~Application();

    /// Applies the kernel's migrations with the admin connection.
    Status migrate();
    /// Refuses an unsafe database role, then serves HTTP and runs workers.
    Status start();
    void stop();
    int port() const;

    const Config& config() const { return config_; }
    data::Database& database() { return *db_; }
    tenancy::TenantService& tenants() { return *tenants_; }
    auth::AuthService& auth() { return *auth_; }
    http::Router& router() { return router_; }
    http::Pipeline& pipeline() { return *pipeline_; }
    notify::OutboxWorker& outbox() { return *outbox_; }
    events::JobQueue& jobs() { return *jobs_; }
    events::EventBus& events() { return *bus_; }
    plugins::PluginHost& plugins() { return *plugins_; }
    plugins::Enablement& enablement() { return *enablement_; }
    scripting::ScriptHost& scripts() { return *scripts_; }
    billing::Billing& billing() { return *billing_; }
    std::vector<data::MigrationSource> migrationSources() const;

private:
    void registerSystemRoutes();

    Config config_;
    std::unique_ptr<data::Database> db_;
    std::unique_ptr<auth::PasswordHasher> hasher_;
    std::unique_ptr<auth::TokenSigner> userTokens_;
    std::unique_ptr<auth::TokenSigner> operatorTokens_;
    std::unique_ptr<tenancy::TenantService> tenants_;
    std::unique_ptr<auth::AuthService> auth_;
    std::unique_ptr<notify::OutboxWorker> outbox_;
    http::Router router_;
    http::Metrics metrics_;
    std::unique_ptr<events::JobQueue> jobs_;
    std::unique_ptr<events::EventBus> bus_;
    std::unique_ptr<plugins::ServiceHub> hub_;
    std::unique_ptr<plugins::PluginHost> plugins_;
    std::unique_ptr<plugins::Enablement> enablement_;
    std::unique_ptr<scripting::ScriptHost> scripts_;
    std::unique_ptr<billing::Billing> billing_;
    std::unique_ptr<http::Pipeline> pipeline_;
    std::unique_ptr<http::Server> server_;
};

/// Routes of each subsystem, registered by the application.
void registerTenantRoutes(http::Router& router, tenancy::TenantService& tenants, auth::AuthService& auth);
void registerAuthRoutes(http::Router& router, auth::AuthService& auth);
void registerScriptRoutes(http::Router& router, scripting::ScriptHost& scripts);
void registerJobRoutes(http::Router& router, events::JobQueue& jobs);
void registerPluginRoutes(http::Router& router, plugins::PluginHost& plugins, plugins::Enablement& enablement,
                          tenancy::TenantService& tenants);

}  // namespace ardoise::kernel::app
