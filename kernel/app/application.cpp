#include "kernel/app/application.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "kernel/data/ids.hpp"
#include "kernel/data/migrations.hpp"
#include "kernel/http/openapi.hpp"
#include "kernel/http/problem.hpp"
#include "kernel/notify/smtp_mailer.hpp"
#include "kernel/plugins/discovery.hpp"

namespace ardoise::kernel::app {
namespace {

namespace fs = std::filesystem;

/// "kid:secret,kid:secret" → pairs; when empty, a key generated once and kept
/// in <dataDir>/jwt-keys (mode 0600) so restarts keep sessions valid.
std::vector<std::pair<std::string, std::string>> jwtKeys(const Config& c) {
    std::string spec = c.jwtKeys;
    if (spec.empty()) {
        const fs::path file = fs::path(c.dataDir) / "jwt-keys";
        if (fs::exists(file)) {
            std::ifstream in(file);
            std::getline(in, spec);
        } else {
            fs::create_directories(c.dataDir);
            spec = "k" + data::newId().substr(0, 8) + ":" + data::randomToken(48);
            std::ofstream out(file, std::ios::trunc);
            out << spec << "\n";
            out.close();
            fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
        }
    }
    std::vector<std::pair<std::string, std::string>> keys;
    std::stringstream ss(spec);
    std::string item;
    while (std::getline(ss, item, ',')) {
        auto colon = item.find(':');
        if (colon != std::string::npos && colon > 0 && item.size() > colon + 1) {
            keys.emplace_back(item.substr(0, colon), item.substr(colon + 1));
        }
    }
    if (keys.empty()) {
        throw std::runtime_error("jwt_keys must be kid:secret[,kid:secret…]");
    }
    return keys;
}

billing::BillingOptions billingOptions(const Config& c) {
    billing::BillingOptions o;
    o.stripe.apiBase = c.stripeApiBase;
    o.stripe.secretKey = c.stripeSecretKey;
    o.stripe.connectTimeoutMs = c.stripeConnectTimeoutMs;
    o.stripe.timeoutMs = c.stripeTimeoutMs;
    o.stripe.maxRetries = c.stripeMaxRetries;
    o.graceDays = c.billingGraceDays;
    o.sweepSeconds = c.billingSweepSeconds;
    o.templatesDir = (fs::path(c.shareDir) / "templates").string();
    o.publicUrl = c.publicUrl.empty() ? "http://" + c.listen : c.publicUrl;
    std::stringstream secrets(c.stripeWebhookSecrets);
    for (std::string s; std::getline(secrets, s, ',');) {
        if (!s.empty()) {
            o.webhookSecrets.push_back(s);
        }
    }
    return o;
}

}  // namespace

Application::Application(Config config) : config_(std::move(config)) {
    if (config_.databaseUrl.rfind("sqlite", 0) == 0) {
        fs::create_directories(config_.dataDir);
    }
    http::Messages::instance().load((fs::path(config_.shareDir) / "templates" / "i18n").string());
    db_ = std::make_unique<data::Database>(config_.databaseUrl, static_cast<std::size_t>(config_.databasePool));
    hasher_ = std::make_unique<auth::PasswordHasher>(auth::HashParams{}, static_cast<std::size_t>(config_.hashConcurrency),
                                                     static_cast<std::size_t>(config_.hashQueue));
    const auto keys = jwtKeys(config_);
    userTokens_ = std::make_unique<auth::TokenSigner>(keys, config_.jwtIssuer, config_.jwtAudience,
                                                      config_.accessTokenTtl);
    operatorTokens_ = std::make_unique<auth::TokenSigner>(keys, config_.jwtIssuer, config_.jwtAudience + "-platform",
                                                          config_.accessTokenTtl);
    tenants_ = std::make_unique<tenancy::TenantService>(*db_, config_.dataDir);
    auth::AuthOptions authOptions;
    authOptions.templatesDir = (fs::path(config_.shareDir) / "templates").string();
    authOptions.publicUrl = config_.publicUrl;
    auth_ = std::make_unique<auth::AuthService>(*db_, *hasher_, *userTokens_, *operatorTokens_, authOptions);
    auto mailer = std::make_shared<notify::SmtpMailer>(config_.smtpHost, config_.smtpPort, 10000);
    const std::string from = config_.mailFrom;
    outbox_ = std::make_unique<notify::OutboxWorker>(*db_, [mailer, from](const notify::Email& e) {
        notify::EmailMessage m;
        m.from = from;
        m.to = e.to;
        m.subject = e.subject;
        m.textBody = e.body;
        return mailer->send(m);
    });
    auth_->setOutbox(outbox_.get());

    registerSystemRoutes();
    registerTenantRoutes(router_, *tenants_, *auth_);
    registerAuthRoutes(router_, *auth_);
    events::JobQueueOptions jobOptions;
    jobOptions.workers = config_.jobWorkers;
    jobs_ = std::make_unique<events::JobQueue>(*db_, metrics_, jobOptions);
    bus_ = std::make_unique<events::EventBus>(*db_, *jobs_, metrics_);
    auth_->setEvents(bus_.get());
    registerJobRoutes(router_, *jobs_);
    hub_ = std::make_unique<plugins::ServiceHub>(*db_, *bus_, *jobs_, metrics_);
    plugins_ = std::make_unique<plugins::PluginHost>(router_, *hub_);
    plugins_->load(plugins::splitPluginPath(config_.pluginPath));
    enablement_ = std::make_unique<plugins::Enablement>(*db_, *plugins_);
    hub_->bind({[this](const std::string& tenantId, const std::string& plugin) {
                    return enablement_->gate(tenantId, plugin).isOk();
                },
                [this](const std::string& tenantId, const std::string& plugin) {
                    return enablement_->settings(tenantId, plugin);
                },
                [this](const std::string& function, const std::string& tenantId, const nlohmann::json& args) {
                    return plugins_->callLuaFunction(function, tenantId, args);
                },
                [this](data::Connection& c, const std::string& tenantId, const std::string& limit, std::int64_t adding) {
                    return billing_->usage().check(c, tenantId, limit, adding);
                },
                [this](data::Connection& c, const std::string& tenantId, const std::string& metric, std::int64_t amount) {
                    return billing_->usage().record(c, tenantId, metric, amount);
                }},
               outbox_.get());
    registerPluginRoutes(router_, *plugins_, *enablement_, *tenants_);
    scripting::ScriptOptions scriptOptions;
    scriptOptions.limits.instructions = config_.scriptInstructions;
    scriptOptions.limits.memoryBytes = static_cast<std::size_t>(config_.scriptMemoryMb) << 20;
    scriptOptions.limits.deadline = std::chrono::milliseconds(config_.scriptDeadlineMs);
    scriptOptions.filterDeadline = std::chrono::milliseconds(config_.scriptFilterDeadlineMs);
    scriptOptions.templatesDir = (fs::path(config_.shareDir) / "templates").string();
    scriptOptions.workflowsDir = (fs::path(config_.shareDir) / "scripts" / "workflows").string();
    scripts_ = std::make_unique<scripting::ScriptHost>(*db_, *bus_, *jobs_, metrics_, *plugins_, scriptOptions);
    scripts_->setOutbox(outbox_.get());
    scripts_->setLimits([this, defaults = scriptOptions.limits](const std::string& tenantId) {
        // The plan's script_instruction_budget, when the school has a live plan that sets one.
        scripting::Limits limits = defaults;
        auto subscription = billing_->plans().subscription(tenantId);
        if (subscription && (*subscription)["status"] != "canceled") {
            auto plan = billing_->plans().get((*subscription)["plan"].get<std::string>());
            if (plan && (*plan)["limits"].value("script_instruction_budget", nlohmann::json(nullptr)).is_number_integer()) {
                limits.instructions = (*plan)["limits"]["script_instruction_budget"].get<std::int64_t>();
            }
        }
        return limits;
    });
    auth_->setUserFilter([this](const std::string& tenantId, const std::string& hook, const nlohmann::json& data,
                                const std::vector<std::string>& adjustable) {
        return scripts_->filter(tenantId, hook, data, adjustable, scripting::FailMode::kOpen);
    });
    hub_->setFilter([this](const std::string& tenantId, const std::string& hook, const nlohmann::json& data,
                           const std::vector<std::string>& adjustable, bool failClosed) {
        return scripts_->filter(tenantId, hook, data, adjustable,
                                failClosed ? scripting::FailMode::kClosed : scripting::FailMode::kOpen);
    });
    registerScriptRoutes(router_, *scripts_);
    billing_ = std::make_unique<billing::Billing>(*db_, billingOptions(config_));
    billing_->attach(*jobs_, *bus_);
    billing_->registerRoutes(router_, *tenants_);
    // Plans decide plugins (the operator's per-school `allowed` still adds).
    enablement_->setPlanPolicy({[this](const std::string& tenantId, const std::string& feature) {
                                    return billing_->plans().planIncludes(tenantId, feature);
                                },
                                [this](const std::string& tenantId, const std::string& feature) {
                                    return billing_->plans().cheapestPlanWithFeature(tenantId, feature);
                                }});
    // Staff (admins, teachers, not deactivated) are counted, and limited by
    // the plan, when a user becomes staff; counted down when one stops.
    auth_->setStaffHook([this](data::Connection& c, const std::string& tenantId, std::int64_t adding) -> Status {
        const auto staff = c.queryOne(
            "SELECT COUNT(*) AS n FROM users WHERE tenant_id = ? AND status <> 'deactivated' AND "
            "(',' || roles || ',' LIKE '%,admin,%' OR ',' || roles || ',' LIKE '%,teacher,%')",
            {tenantId});
        const std::int64_t count = staff ? staff->integer("n") : 0;
        auto& usage = billing_->usage();
        if (auto s = usage.set(c, tenantId, "staff", count); !s.isOk()) {
            return s;
        }
        if (adding <= 0) {
            return Status::ok();
        }
        if (auto s = usage.check(c, tenantId, "staff", adding); !s.isOk()) {
            return s;
        }
        return usage.set(c, tenantId, "staff", count + adding);
    });

    http::PipelineOptions options;
    options.baseDomain = config_.baseDomain;
    options.tenantRatePerSecond = config_.rateTenantPerSecond;
    options.tenantBurst = config_.rateTenantPerSecond * 2;
    options.authRatePerMinute = config_.rateAuthPerMinute;
    options.authBurst = config_.rateAuthPerMinute;
    options.accessLog = config_.accessLog;
    pipeline_ = std::make_unique<http::Pipeline>(
        router_, metrics_, options, [this](const std::string& slug) { return tenants_->resolve(slug); },
        [this](const std::string& token, const http::TenantContext* tenant) {
            return auth_->authenticate(token, tenant);
        },
        [this](const http::Request& request, const http::Route& route) {
            if (!request.tenant) {
                return Status::ok();
            }
            billing_->usage().countApiCall(request.tenant->id);
            if (auto s = billing_->rateGate(request.tenant->id, request.path); !s.isOk()) {
                return s;
            }
            if (auto s = billing_->writeGate(request.tenant->id, request.method, request.path); !s.isOk()) {
                return s;
            }
            return route.plugin.empty() ? Status::ok() : enablement_->gate(request.tenant->id, route.plugin);
        });
    metrics_.addGauge("ardoise_db_pool_in_use", "Database connections leased", [this] {
        return static_cast<double>(db_->stats().inUse);
    });
    metrics_.addGauge("ardoise_db_pool_size", "Database pool capacity", [this] {
        return static_cast<double>(db_->stats().size);
    });
    metrics_.addGauge("ardoise_db_pool_waits_total", "Leases that waited for a connection", [this] {
        return static_cast<double>(db_->stats().waits);
    });
}

Application::~Application() { stop(); }

std::vector<data::MigrationSource> Application::migrationSources() const {
    std::vector<data::MigrationSource> sources = {
        {"kernel", (fs::path(config_.shareDir) / "kernel" / "data" / "migrations").string()}};
    for (auto& s : plugins_->migrationSources()) {
        sources.push_back(std::move(s));
    }
    return sources;
}

Status Application::migrate() {
    const std::string url = config_.databaseAdminUrl.empty() ? config_.databaseUrl : config_.databaseAdminUrl;
    data::Database admin(url, 1);
    auto report = data::migrate(admin, migrationSources(), config_.databaseAppRole);
    if (!report) {
        return report.status();
    }
    if (report->applied > 0) {
        std::clog << R"({"level":"info","msg":"migrations applied","count":)" << report->applied << "}\n";
    }
    return Status::ok();
}

Status Application::start() {
    if (auto s = data::checkServerRole(*db_); !s.isOk()) {
        return s;
    }
    auto pending = data::checkMigrations(*db_, migrationSources());
    if (!pending) {
        return pending.status();
    }
    if (pending->pending > 0) {
        return {Code::kFailedPrecondition, "migrations-pending",
                std::to_string(pending->pending) + " migrations are pending: run `ardoise migrate` first"};
    }
    http::ServerOptions options;
    options.host = config_.host();
    options.port = config_.port();
    options.maxThreads = config_.httpThreads;
    options.maxQueued = config_.httpMaxQueued;
    options.maxBodyBytes = static_cast<std::size_t>(config_.maxBodyBytes);
    plugins_->startAll();
    server_ = std::make_unique<http::Server>(*pipeline_, options);
    server_->start();
    if (config_.outbox) {
        outbox_->start();
    }
    if (config_.jobWorkers > 0) {
        bus_->start();
        jobs_->start();
        scripts_->start();
    }
    billing_->start();
    return Status::ok();
}

void Application::stop() {
    if (server_) {
        server_->stop();
        server_.reset();
    }
    if (outbox_) {
        outbox_->stop();
    }
    if (scripts_) {
        scripts_->stop();
    }
    if (billing_) {
        billing_->stop();
    }
    if (bus_) {
        bus_->stop();
    }
    if (jobs_) {
        jobs_->stop();
    }
    if (plugins_) {
        plugins_->stopAll();
    }
}

int Application::port() const { return server_ ? server_->port() : config_.port(); }

void Application::registerSystemRoutes() {
    using http::Access;
    using http::Request;
    using http::Response;
    using nlohmann::json;
    router_.add({"GET", "/", Access::kPublic, "", "Home page", "system", nullptr, nullptr, 200,
                 false, [](Request&) -> Result<Response> {
                     std::string html =
                         "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Ardoise</title>"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>"
                         "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">"
                         "<h1>Ardoise</h1><p>Plateforme scolaire multi-établissements — "
                         "multi-tenant school platform.</p><p>Version " ARDOISE_VERSION "</p>"
                         "<ul><li><a href=\"/api/v1/openapi.json\">API (OpenAPI 3.1)</a></li>"
                         "<li><a href=\"/healthz\">/healthz</a></li><li><a href=\"/readyz\">/readyz</a></li>"
                         "<li><a href=\"/metrics\">/metrics</a></li></ul></body></html>";
                     return Response{200, "text/html; charset=utf-8", html, {}, {}};
                 }});
    router_.add({"GET", "/healthz", Access::kPublic, "", "Liveness: the process answers", "system", nullptr,
                 json{{"type", "object"}}, 200, false, [](Request&) -> Result<Response> {
                     return Response::json(200, {{"status", "ok"}});
                 }});
    router_.add({"GET", "/readyz", Access::kPublic, "", "Readiness: database reachable, migrations applied",
                 "system", nullptr, json{{"type", "object"}}, 200, false, [this](Request&) -> Result<Response> {
                     auto report = data::checkMigrations(*db_, migrationSources());
                     if (!report) {
                         return Status(Code::kUnavailable, "not-ready", report.status().message());
                     }
                     if (report->pending > 0) {
                         return Status(Code::kUnavailable, "not-ready",
                                       std::to_string(report->pending) + " migrations are pending.");
                     }
                     return Response::json(200, {{"status", "ready"}});
                 }});
    router_.add({"GET", "/metrics", Access::kPublic, "", "Prometheus metrics", "system", nullptr, nullptr, 200,
                 false, [this](Request&) -> Result<Response> {
                     return Response{200, "text/plain; version=0.0.4", metrics_.render(), {}, {}};
                 }});
    router_.add({"GET", "/api/v1/openapi.json", Access::kPublic, "", "This API's OpenAPI 3.1 document", "system",
                 nullptr, json{{"type", "object"}}, 200, false, [this](Request&) -> Result<Response> {
                     return Response::json(200, http::buildOpenApi(router_, ARDOISE_VERSION));
                 }});
}

}  // namespace ardoise::kernel::app
