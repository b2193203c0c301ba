#pragma once
// FakePluginContext: a PluginContext for a plugin's unit tests, with no
// running kernel. It records what the plugin registers and lets a test call a
// recorded route's handler with a hand-built Request.
//
//   ardoise::testing::FakePluginContext context("notes");
//   NotesPlugin plugin;
//   REQUIRE(plugin.registerWith(context).isOk());
//   auto request = context.request("GET", "/hello");  // a signed-in user of a test tenant
//   auto response = context.call("GET", "/hello", request);
//
// It applies the checks of the real host that need no server: a relative
// pattern, tenant access, the permission prefix and no duplicate route. It
// does not route by pattern ("/notes/{id}" is looked up verbatim), check
// permissions, validate bodies or catch exceptions: a handler that throws
// throws into the test.
//
// Not thread-safe; one per test.

#include <ardoise/plugin.hpp>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ardoise::testing {

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

    void log(LogLevel level, const std::string& message) override { logs_.push_back({level, message}); }

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
};

}  // namespace ardoise::testing
