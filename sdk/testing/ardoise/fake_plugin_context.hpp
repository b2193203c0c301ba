#pragma once
// FakePluginContext: a PluginContext for a plugin's unit tests, with no
// running kernel. It records what the plugin registers and lets a test call a
// recorded route, event handler, job or Lua function, with FakeServices that
// record what the plugin publishes, queues, notifies, logs and counts.
//
//   ardoise::testing::FakePluginContext context("notes");
//   NotesPlugin plugin;
//   REQUIRE(plugin.registerWith(context).isOk());
//   auto request = context.request("GET", "/hello");  // a signed-in user of a test tenant
//   auto response = context.call("GET", "/hello", request);
//   context.services().published;                     // what the handler published
//
// It applies the checks of the real host that need no server: a relative
// pattern, tenant access, the permission prefix, no duplicates. It does not
// route by pattern ("/notes/{id}" is looked up verbatim), check permissions
// or manifest declarations, validate bodies or catch exceptions: a handler
// that throws throws into the test. There is no database: db() fails every
// statement with kUnavailable unless the test sets FakeServices::database;
// test SQL against the real kernel (an integration test) instead.
//
// Not thread-safe; one per test.

#include <ardoise/plugin.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ardoise::testing {

/// A TenantDatabase for code that must not reach one: every call fails.
class NoDatabase : public TenantDatabase {
public:
    const std::string& tenantId() const override { return id_; }
    Result<std::vector<SqlRow>> query(const std::string&, const std::vector<SqlValue>&) override { return none(); }
    Result<std::optional<SqlRow>> queryOne(const std::string&, const std::vector<SqlValue>&) override { return none(); }
    Result<std::int64_t> execute(const std::string&, const std::vector<SqlValue>&) override { return none(); }
    Status transaction(const std::function<Status(TenantDatabase&)>& work) override { return work(*this); }
    std::string newId() override { return "id" + std::to_string(++ids_); }

private:
    static Status none() {
        return {Code::kUnavailable, "database-unavailable", "FakeServices has no database (set FakeServices::database)"};
    }
    std::string id_ = "tenant-test";
    int ids_ = 0;
};

/// Metrics that keep the last value of each series name (labels ignored).
class FakeMetrics : public Metrics {
public:
    void increment(const std::string& name, const Labels&, double by) override { values[name] += by; }
    void set(const std::string& name, const Labels&, double value) override { values[name] = value; }
    std::map<std::string, double> values;
};

/// TenantServices that record instead of acting. Public members are the record.
class FakeServices : public TenantServices {
public:
    struct Published {
        std::string name;
        nlohmann::json payload;
    };
    struct Queued {
        std::string job;
        nlohmann::json payload;
        JobOptions options;
    };
    struct LogLine {
        LogLevel level;
        std::string message;
    };

    FakeServices() {
        context.id = "tenant-test";
        context.slug = "ecole-test";
        context.name = "École test";
        context.status = "active";
        context.locale = "fr";
        context.timezone = "Africa/Abidjan";
        context.currency = "XOF";
    }

    const TenantContext& tenant() const override { return context; }
    TenantDatabase& db() override { return database ? *database : noDatabase_; }
    Status publish(const std::string& name, const nlohmann::json& payload) override {
        published.push_back({name, payload});
        return Status::ok();
    }
    Result<std::string> enqueue(const std::string& job, const nlohmann::json& payload, const JobOptions& options) override {
        queued.push_back({job, payload, options});
        return "job" + std::to_string(queued.size());
    }
    Result<nlohmann::json> settings() override { return settingsValue; }
    Result<std::string> render(const std::string& name, const std::string& locale, const nlohmann::json& data) override {
        return name + "." + locale + ":" + data.dump();
    }
    Status notify(const Notification& notification) override {
        notified.push_back(notification);
        return Status::ok();
    }
    Result<nlohmann::json> call(const std::string& function, const nlohmann::json& args) override {
        calls.push_back({function, args});
        auto it = functions.find(function);
        if (it == functions.end()) {
            return Status(Code::kNotFound, "unknown-function", "FakeServices::functions has no " + function);
        }
        return it->second(args);
    }
    Result<nlohmann::json> filter(const std::string& hook, const nlohmann::json& data, const std::vector<std::string>&,
                                  bool) override {
        filtered.push_back({hook, data});
        return data;
    }
    void log(LogLevel level, const std::string& message) override { logs.push_back({level, message}); }
    Metrics& metrics() override { return metricsValue; }
    /// Refuses when `quotas` names the limit and usage[limit] + adding exceeds it.
    Status checkQuota(const std::string& limit, std::int64_t adding) override {
        const std::string metric = limit == "sms_per_month" ? "sms" : limit;
        auto it = quotas.find(metric);
        if (it == quotas.end() || usage[metric] + adding <= it->second) {
            return Status::ok();
        }
        return Status(Code::kPermissionDenied, "quota-exceeded", "FakeServices::quotas[" + metric + "] reached")
            .addExtra("limit", limit)
            .addExtra("max", std::to_string(it->second))
            .addExtra("used", std::to_string(usage[metric]));
    }
    Status recordUsage(const std::string& metric, std::int64_t amount) override {
        usage[metric] = std::max<std::int64_t>(0, usage[metric] + amount);
        return Status::ok();
    }

    TenantContext context;
    /// Limits checkQuota() enforces, by metric ("students", "sms"…); absent: unlimited.
    std::map<std::string, std::int64_t> quotas;
    /// What recordUsage() added, by metric.
    std::map<std::string, std::int64_t> usage;
    std::shared_ptr<TenantDatabase> database;  ///< null: every statement fails
    nlohmann::json settingsValue = nlohmann::json::object();
    std::vector<Published> published;
    std::vector<Queued> queued;
    std::vector<Notification> notified;
    std::vector<LogLine> logs;
    FakeMetrics metricsValue;
    /// Stand-ins for other plugins' functions, by qualified name; calls are recorded.
    std::map<std::string, std::function<Result<nlohmann::json>(const nlohmann::json&)>> functions;
    std::vector<Published> calls;
    std::vector<Published> filtered;  ///< hooks asked, with their data (accepted unchanged)

private:
    NoDatabase noDatabase_;
};

class FakePluginContext : public PluginContext {
public:
    struct LogLine {
        LogLevel level;
        std::string message;
    };

    explicit FakePluginContext(std::string pluginName) : name_(std::move(pluginName)) {}

    const std::string& pluginName() const override { return name_; }

    Status addRoute(Route route) override {
        if (route.pattern.empty() || route.pattern[0] != '/') {
            return Status(Code::kInvalidArgument, "invalid-route", "a route pattern starts with '/'");
        }
        if (route.access != Access::kTenantUser && route.access != Access::kTenantPublic) {
            return Status(Code::kInvalidArgument, "invalid-route", "a plugin route is kTenantUser or kTenantPublic");
        }
        if (!route.permission.empty() && route.permission.rfind(name_ + ".", 0) != 0) {
            return Status(Code::kInvalidArgument, "invalid-route",
                          "permission '" + route.permission + "' must start with '" + name_ + ".'");
        }
        if (!route.handler) {
            return Status(Code::kInvalidArgument, "invalid-route", "a route needs a handler");
        }
        if (find(route.method, route.pattern) != nullptr) {
            return Status(Code::kConflict, "duplicate-route", route.method + " " + route.pattern + " is already registered");
        }
        route.plugin = name_;
        routes_.push_back(std::move(route));
        return Status::ok();
    }

    Status subscribe(const std::string& eventName, EventHandler handler) override {
        if (eventName.find('.') == std::string::npos || !handler) {
            return Status(Code::kInvalidArgument, "invalid-handler", "an event name is <owner>.<event>, with a handler");
        }
        subscriptions_.emplace_back(eventName, std::move(handler));
        return Status::ok();
    }

    Status addJob(const std::string& name, JobHandler handler) override {
        if (name.empty() || !handler) {
            return Status(Code::kInvalidArgument, "invalid-job", "a job needs a name and a handler");
        }
        if (jobs_.count(name) != 0) {
            return Status(Code::kConflict, "duplicate-job", "job " + name + " twice");
        }
        jobs_[name] = std::move(handler);
        return Status::ok();
    }

    Status exportFunction(LuaFunction function) override {
        if (function.name.empty() || !function.call) {
            return Status(Code::kInvalidArgument, "invalid-function", "a Lua function needs a name and a call");
        }
        if (functions_.count(function.name) != 0) {
            return Status(Code::kConflict, "duplicate-function", "function " + function.name + " twice");
        }
        functions_[function.name] = std::move(function);
        return Status::ok();
    }

    void log(LogLevel level, const std::string& message) override { logs_.push_back({level, message}); }
    Metrics& metrics() override { return services_->metricsValue; }

    /// The services handed to every handler the fake calls.
    FakeServices& services() { return *services_; }

    /// Delivers an event to every handler subscribed to `name`; the first failure.
    Status deliver(const std::string& name, const nlohmann::json& payload, int attempt = 1) {
        Event e;
        e.id = "event-" + std::to_string(++events_);
        e.name = name;
        e.tenantId = services_->context.id;
        e.source = name.substr(0, name.find('.'));
        e.payload = payload;
        e.attempt = attempt;
        Status first = Status::ok();
        for (auto& [n, handler] : subscriptions_) {
            if (n == name) {
                Status s = handler(e, *services_);
                if (first.isOk()) {
                    first = s;
                }
            }
        }
        return first;
    }

    /// Runs the job `name` (without the plugin prefix) once with `payload`.
    Result<nlohmann::json> runJob(const std::string& name, const nlohmann::json& payload, JobControl& control) {
        Job job;
        job.id = "job-test";
        job.name = name_ + "." + name;
        job.tenantId = services_->context.id;
        job.payload = payload;
        return jobs_.at(name)(job, *services_, control);
    }

    /// Calls the exported Lua function `name` with `args`.
    Result<nlohmann::json> callFunction(const std::string& name, const nlohmann::json& args) {
        return functions_.at(name).call(*services_, args);
    }
    const std::map<std::string, LuaFunction>& functions() const { return functions_; }

    /// Every route added, in order, with patterns as the plugin gave them
    /// (relative to /api/v1/<plugin>).
    const std::vector<Route>& routes() const { return routes_; }
    const std::vector<LogLine>& logs() const { return logs_; }

    /// The route `method` `pattern`, or null.
    const Route* find(const std::string& method, const std::string& pattern) const {
        for (const auto& r : routes_) {
            if (r.method == method && r.pattern == pattern) {
                return &r;
            }
        }
        return nullptr;
    }

    /// A request as the kernel would hand it to a kTenantUser handler: tenant
    /// "ecole-test", a teacher holding every permission in `permissions`,
    /// locale `locale`. Adjust its fields before calling.
    Request request(const std::string& method, const std::string& pattern, const std::string& locale = "fr",
                    std::set<std::string> permissions = {}) const {
        Request r;
        r.method = method;
        r.path = "/api/v1/" + name_ + pattern;
        r.target = r.path;
        r.locale = locale;
        r.requestId = "test-request";
        r.remoteIp = "127.0.0.1";
        auto tenant = std::make_shared<TenantContext>();
        tenant->id = "tenant-test";
        tenant->slug = "ecole-test";
        tenant->name = "École test";
        tenant->status = "active";
        tenant->locale = locale;
        tenant->timezone = "Africa/Abidjan";
        tenant->currency = "XOF";
        r.tenant = std::move(tenant);
        Principal p;
        p.id = "user-test";
        p.email = "prof@ecole-test.test";
        p.name = "Awa Test";
        p.locale = locale;
        p.roles = {"teacher"};
        p.permissions = std::make_shared<const std::set<std::string>>(std::move(permissions));
        r.principal = std::move(p);
        r.services = services_;
        return r;
    }

    /// Calls the handler of `method` `pattern` with `request`. Throws
    /// std::out_of_range when no such route was registered.
    Result<Response> call(const std::string& method, const std::string& pattern, Request& request) const {
        const Route* route = find(method, pattern);
        if (route == nullptr) {
            throw std::out_of_range("no route " + method + " " + pattern + " registered by " + name_);
        }
        return route->handler(request);
    }

private:
    std::string name_;
    std::vector<Route> routes_;
    std::vector<LogLine> logs_;
    std::shared_ptr<FakeServices> services_ = std::make_shared<FakeServices>();
    std::vector<std::pair<std::string, EventHandler>> subscriptions_;
    std::map<std::string, JobHandler> jobs_;
    std::map<std::string, LuaFunction> functions_;
    int events_ = 0;
};

}  // namespace ardoise::testing
