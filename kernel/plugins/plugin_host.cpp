#include "kernel/plugins/plugin_host.hpp"

#include <boost/dll/shared_library.hpp>

#include <atomic>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>

#include "kernel/auth/permissions.hpp"
#include "kernel/plugins/discovery.hpp"
#include "kernel/http/json_schema.hpp"
#include "kernel/plugins/plugin_order.hpp"
#include "kernel/plugins/semver.hpp"

namespace ardoise::kernel::plugins {
namespace {

bool validName(const std::string& s) {
    static const std::regex name("[a-z][a-z0-9_]{0,63}");
    return std::regex_match(s, name);
}

/// Runs plugin code; an exception becomes a failed Status, is logged and
/// counted per plugin. `exposeWhat` puts the exception's text in the Status
/// (background work, whose errors only operators and admins read).
template <typename F>
auto contained(const std::string& plugin, http::Metrics& metrics, const std::string& context, bool exposeWhat, F&& f)
    -> decltype(f()) {
    std::string what = "a non-standard exception";
    try {
        return f();
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
    }
    pluginLog(LogLevel::kError, plugin, context + " threw: " + what);
    metrics.increment("ardoise_plugin_errors_total", "plugin=\"" + http::promLabel(plugin) + "\"");
    return Status(Code::kInternal, "plugin-error",
                  "The " + plugin + " module failed " + (exposeWhat ? context + ": " + what : "while handling this request") + ".");
}

/// Plugin code bound to its plugin: `plugin` is declared first, so it is
/// destroyed after `inner`, whose code lives in the plugin's library.
template <typename F>
struct Bound {
    std::shared_ptr<Plugin> plugin;
    std::shared_ptr<std::atomic<bool>> running;
    std::shared_ptr<const PluginRuntime> runtime;
    F inner;
    const std::string& name() const { return runtime->manifest->name; }
};

/// Calls a route handler through one door: the plugin stays loaded for the
/// call, gets its services, and whatever it throws becomes a problem for this
/// request only.
struct PluginHandler {
    std::shared_ptr<const Bound<Handler>> bound;
    ServiceHub* hub;

    Result<Response> operator()(Request& request) const {
        const auto& name = bound->name();
        if (!bound->running->load()) {
            return Status(Code::kUnavailable, "plugin-unavailable", "The " + name + " module is not running.");
        }
        request.services = hub->make(*bound->runtime, request.tenant);  // connects on first use
        return contained(name, hub->metrics(), "handler (request " + request.requestId + ")", false,
                         [&] { return bound->inner(request); });
    }
};

bool validRelativePattern(const std::string& pattern) {
    if (pattern.empty() || pattern[0] != '/' || pattern.find("//") != std::string::npos ||
        pattern.find("..") != std::string::npos) {
        return false;
    }
    for (char c : pattern) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '{' || c == '}' ||
              c == '.')) {
            return false;
        }
    }
    return true;
}

/// Collects what a plugin registers; nothing reaches the router, the bus or
/// the queue unless registerWith succeeds as a whole.
class Registrar : public PluginContext {
public:
    Registrar(std::shared_ptr<Plugin> plugin, std::shared_ptr<std::atomic<bool>> running,
              std::shared_ptr<const PluginRuntime> runtime)
        : plugin_(std::move(plugin)), running_(std::move(running)), runtime_(std::move(runtime)) {}

    const std::string& pluginName() const override { return manifest().name; }

    Status addRoute(Route route) override {
        const std::string& name = manifest().name;
        if (auto s = checkOpen(); !s.isOk()) {
            return s;
        }
        if (!validRelativePattern(route.pattern)) {
            return {Code::kInvalidArgument, "invalid-route",
                    name + ": route pattern '" + route.pattern + "' must start with '/' and hold only [A-Za-z0-9/_.-{}]"};
        }
        if (route.access != Access::kTenantUser && route.access != Access::kTenantPublic) {
            return {Code::kInvalidArgument, "invalid-route",
                    name + ": plugin routes are tenant routes (kTenantUser or kTenantPublic): " + route.pattern};
        }
        if (!route.permission.empty()) {
            bool declared = false;
            for (const auto& p : manifest().permissions) {
                declared = declared || p.name == route.permission;
            }
            if (!declared) {
                return {Code::kInvalidArgument, "invalid-route",
                        name + ": permission '" + route.permission + "' is not declared in manifest.json"};
            }
        }
        if (!route.handler) {
            return {Code::kInvalidArgument, "invalid-route", name + ": route " + route.pattern + " has no handler"};
        }
        route.pattern = "/api/v1/" + name + route.pattern;
        for (const auto& r : routes_) {
            if (r.method == route.method && r.pattern == route.pattern) {
                return {Code::kConflict, "duplicate-route", name + ": " + route.method + " " + route.pattern + " twice"};
            }
        }
        route.plugin = name;
        if (route.tag.empty()) {
            route.tag = name;
        }
        routes_.push_back(std::move(route));
        return Status::ok();
    }

    Status subscribe(const std::string& eventName, EventHandler handler) override {
        if (auto s = checkOpen(); !s.isOk()) {
            return s;
        }
        const auto& consumes = manifest().eventsConsumed;
        if (std::find(consumes.begin(), consumes.end(), eventName) == consumes.end()) {
            return {Code::kInvalidArgument, "undeclared-event",
                    manifest().name + ": subscribes to '" + eventName + "', which manifest.json does not list under events.consumes"};
        }
        if (!handler) {
            return {Code::kInvalidArgument, "invalid-handler", manifest().name + ": no handler for " + eventName};
        }
        subscriptions_.emplace_back(eventName, std::move(handler));
        return Status::ok();
    }

    Status addJob(const std::string& name, JobHandler handler) override {
        if (auto s = checkOpen(); !s.isOk()) {
            return s;
        }
        if (!validName(name) || !handler) {
            return {Code::kInvalidArgument, "invalid-job",
                    manifest().name + ": a job needs a name matching [a-z][a-z0-9_]* and a handler ('" + name + "')"};
        }
        if (jobs_.count(name) != 0) {
            return {Code::kConflict, "duplicate-job", manifest().name + ": job " + name + " twice"};
        }
        jobs_[name] = std::move(handler);
        return Status::ok();
    }

    Status exportFunction(LuaFunction function) override {
        if (auto s = checkOpen(); !s.isOk()) {
            return s;
        }
        if (manifest().luaModule.empty()) {
            return {Code::kInvalidArgument, "no-lua-module",
                    manifest().name + ": exporting '" + function.name + "' needs lua_module in manifest.json"};
        }
        if (!validName(function.name) || !function.call || !function.argsSchema.is_object()) {
            return {Code::kInvalidArgument, "invalid-function",
                    manifest().name + ": a Lua function needs a name matching [a-z][a-z0-9_]*, a call and an object "
                                      "argsSchema ('" + function.name + "')"};
        }
        for (const auto& f : functions_) {
            if (f.name == function.name) {
                return {Code::kConflict, "duplicate-function", manifest().name + ": function " + function.name + " twice"};
            }
        }
        functions_.push_back(std::move(function));
        return Status::ok();
    }

    void log(LogLevel level, const std::string& message) override { pluginLog(level, manifest().name, message); }
    Metrics& metrics() override { return *runtime_->metrics; }

    void close() { open_ = false; }

    template <typename F>
    std::shared_ptr<const Bound<F>> bind(F inner) const {
        return std::make_shared<const Bound<F>>(Bound<F>{plugin_, running_, runtime_, std::move(inner)});
    }

    std::vector<Route> routes_;
    std::vector<std::pair<std::string, EventHandler>> subscriptions_;
    std::map<std::string, JobHandler> jobs_;
    std::vector<LuaFunction> functions_;

private:
    const Manifest& manifest() const { return *runtime_->manifest; }
    Status checkOpen() const {
        if (!open_) {
            return {Code::kFailedPrecondition, "registration-closed", "plugins register during registerWith only"};
        }
        return Status::ok();
    }

    std::shared_ptr<Plugin> plugin_;
    std::shared_ptr<std::atomic<bool>> running_;
    std::shared_ptr<const PluginRuntime> runtime_;
    bool open_ = true;
};

}  // namespace

std::string libraryFileName(const std::string& pluginName) { return "lib" + pluginName + ".so"; }

struct PluginHost::Loaded {
    std::string name;
    std::filesystem::path folder;
    std::shared_ptr<Plugin> plugin;
    std::shared_ptr<std::atomic<bool>> running = std::make_shared<std::atomic<bool>>(false);
};

namespace {

/// Services for background work of `tenantId`, or why there are none.
Result<std::shared_ptr<TenantServices>> backgroundServices(ServiceHub& hub, const PluginRuntime& runtime,
                                                           const std::atomic<bool>& running, const std::string& tenantId) {
    const auto& name = runtime.manifest->name;
    if (!running.load()) {
        return Status(Code::kUnavailable, "plugin-unavailable", "The " + name + " module is not running.");
    }
    if (!hub.enabled(tenantId, name)) {
        return Status(Code::kNotFound, "plugin-disabled", "The " + name + " module is not enabled for this school.");
    }
    return hub.forTenant(runtime, tenantId);
}

}  // namespace

PluginHost::~PluginHost() { stopAll(); }

Status PluginHost::loadOne(const Manifest& manifest, const std::filesystem::path& folder) {
    const auto path = folder / libraryFileName(manifest.name);
    auto library = std::make_shared<boost::dll::shared_library>();
    try {
        library->load(path.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return {Code::kFailedPrecondition, "plugin-load-failed", "cannot load " + path.string() + ": " + e.what()};
    }
    if (!library->has("ardoise_plugin_describe") || !library->has("ardoise_plugin_create")) {
        return {Code::kFailedPrecondition, "not-a-plugin",
                path.string() + " exports no ardoise_plugin_describe/ardoise_plugin_create (use ARDOISE_PLUGIN)"};
    }
    // The descriptor is plain C data: read and checked before any C++ of the plugin runs.
    const PluginDescriptor* d = library->get<const PluginDescriptor*()>("ardoise_plugin_describe")();
    if (d == nullptr || d->name == nullptr || d->version == nullptr || d->toolchain == nullptr) {
        return {Code::kFailedPrecondition, "bad-descriptor", path.string() + " returns an incomplete descriptor"};
    }
    if (auto s = checkSdkCompatibility(manifest.name, {d->sdkMajor, d->sdkMinor, d->sdkPatch}, SdkVersion::current());
        !s.isOk()) {
        return s;
    }
    if (std::string(d->toolchain) != ARDOISE_TOOLCHAIN) {
        return {Code::kFailedPrecondition, "plugin-abi-mismatch",
                manifest.name + " was built with " + d->toolchain + ", this host with " ARDOISE_TOOLCHAIN +
                    "; rebuild the plugin with the host's compiler settings"};
    }
    if (d->name != manifest.name || d->version != manifest.version.toString()) {
        return {Code::kFailedPrecondition, "plugin-manifest-mismatch",
                "the library says " + std::string(d->name) + " " + d->version + ", manifest.json says " + manifest.name +
                    " " + manifest.version.toString()};
    }
    Plugin* raw = library->get<Plugin*()>("ardoise_plugin_create")();
    if (raw == nullptr) {
        return {Code::kFailedPrecondition, "plugin-create-failed", manifest.name + ": creating the plugin failed"};
    }
    // The deleter owns the library: it is unloaded only after the plugin object,
    // and the plugin only after every route handler that holds it.
    std::shared_ptr<Plugin> plugin(raw, [library](Plugin* p) { delete p; });
    auto loaded = std::make_shared<Loaded>();
    loaded->name = manifest.name;
    loaded->folder = folder;
    loaded->plugin = plugin;
    auto runtime = std::make_shared<PluginRuntime>();
    runtime->manifest = std::make_shared<const Manifest>(manifest);
    runtime->folder = folder;
    runtime->metrics = hub_.pluginMetrics(manifest.name);
    Registrar registrar(plugin, loaded->running, runtime);
    Status registered = contained(manifest.name, hub_.metrics(), "registerWith", true,
                                  [&] { return plugin->registerWith(registrar); });
    registrar.close();
    if (!registered.isOk()) {
        return registered;
    }
    ServiceHub* hub = &hub_;
    for (auto& route : registrar.routes_) {
        route.handler = PluginHandler{registrar.bind(std::move(route.handler)), hub};
        router_.add(std::move(route));
    }
    for (auto& [eventName, handler] : registrar.subscriptions_) {
        auto bound = registrar.bind(std::move(handler));
        hub_.bus().subscribe("plugin:" + manifest.name, eventName, [bound, hub](const Event& event) -> Status {
            auto services = backgroundServices(*hub, *bound->runtime, *bound->running, event.tenantId);
            if (!services) {
                // Disabled there, or the school is gone: nothing to deliver.
                return services.status().code() == Code::kNotFound ? Status::ok() : services.status();
            }
            return contained(bound->name(), hub->metrics(), "event handler for " + event.name, true,
                             [&] { return bound->inner(event, **services); });
        });
    }
    for (auto& [jobName, handler] : registrar.jobs_) {
        auto bound = registrar.bind(std::move(handler));
        hub_.jobs().registerHandler(manifest.name + "." + jobName,
                                    [bound, hub](const Job& job, JobControl& control) -> Result<nlohmann::json> {
                                        auto services = backgroundServices(*hub, *bound->runtime, *bound->running,
                                                                           job.tenantId);
                                        if (!services) {
                                            return services.status();
                                        }
                                        return contained(bound->name(), hub->metrics(), "job " + job.name, true,
                                                         [&] { return bound->inner(job, **services, control); });
                                    });
    }
    for (auto& function : registrar.functions_) {
        auto bound = registrar.bind(std::move(function.call));
        const std::string qualified = manifest.luaModule + "." + function.name;
        function.call = [bound, hub, qualified](TenantServices& services, const nlohmann::json& args) {
            return contained(bound->name(), hub->metrics(), "Lua function " + qualified, true,
                             [&] { return bound->inner(services, args); });
        };
        functions_.push_back({manifest.name, qualified, std::move(function)});
    }
    for (const auto& permission : manifest.permissions) {
        for (const auto& role : permission.defaultRoles) {
            auth::grantPermission(role, permission.name);
        }
    }
    runtimes_[manifest.name] = {runtime, loaded->running};
    loaded_.push_back(std::move(loaded));
    return Status::ok();
}

void PluginHost::load(const std::vector<std::filesystem::path>& roots) {
    auto discovery = discoverPlugins(roots);
    std::map<std::string, std::string> failed;
    for (const auto& e : discovery.errors) {
        failed[e.name] = e.status.message();
        records_.push_back({e.name, "", e.folder, false, e.status.message(), nullptr});
    }
    std::vector<Manifest> manifests;
    std::map<std::string, const DiscoveredPlugin*> byName;
    for (const auto& p : discovery.plugins) {
        manifests.push_back(p.manifest);
        byName[p.manifest.name] = &p;
    }
    const auto plan = orderPlugins(manifests, SdkVersion::current(), failed);
    for (const auto& [name, reason] : plan.refused) {
        if (failed.count(name) == 0) {
            const auto* p = byName.at(name);
            records_.push_back({name, p->manifest.version.toString(), p->folder, false, reason,
                                std::make_shared<const Manifest>(p->manifest)});
        }
    }
    for (const auto& name : plan.order) {
        const auto* p = byName.at(name);
        PluginRecord record{name, p->manifest.version.toString(), p->folder, true, "",
                            std::make_shared<const Manifest>(p->manifest)};
        // A dependency refused at load time takes its dependents with it.
        for (const auto& [dep, range] : p->manifest.dependencies) {
            for (const auto& r : records_) {
                if (r.name == dep && !r.loaded) {
                    record.loaded = false;
                    record.reason = "requires '" + dep + "', which cannot load";
                }
            }
        }
        if (record.loaded) {
            if (auto s = loadOne(p->manifest, p->folder); !s.isOk()) {
                record.loaded = false;
                record.reason = s.message();
            }
        }
        records_.push_back(std::move(record));
    }
    std::sort(records_.begin(), records_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (const auto& r : records_) {
        if (r.loaded) {
            pluginLog(LogLevel::kInfo, r.name, "loaded " + r.version + " from " + r.folder.string());
        } else {
            pluginLog(LogLevel::kWarning, r.name, "not loaded: " + r.reason);
        }
    }
}

void PluginHost::startAll() {
    for (const auto& l : loaded_) {
        const Status s = contained(l->name, hub_.metrics(), "start", true, [&] { return l->plugin->start(); });
        l->running->store(s.isOk());
        if (!s.isOk()) {
            pluginLog(LogLevel::kError, l->name, "start failed: " + s.message());
        }
    }
}

void PluginHost::stopAll() {
    for (auto it = loaded_.rbegin(); it != loaded_.rend(); ++it) {
        if ((*it)->running->exchange(false)) {
            try {
                (*it)->plugin->stop();
            } catch (...) {
                pluginLog(LogLevel::kError, (*it)->name, "stop threw");
            }
        }
    }
}

Result<nlohmann::json> PluginHost::callLuaFunction(const std::string& qualifiedName, const std::string& tenantId,
                                                  const nlohmann::json& args) const {
    for (const auto& f : functions_) {
        if (f.qualifiedName != qualifiedName) {
            continue;
        }
        const auto& [runtime, running] = runtimes_.at(f.plugin);
        auto services = backgroundServices(hub_, *runtime, *running, tenantId);
        if (!services) {
            return services.status().code() == Code::kNotFound
                       ? Status(Code::kNotFound, "unknown-function", "No function " + qualifiedName + " for this school.")
                       : services.status();
        }
        if (auto errors = http::validateJson(f.function.argsSchema, args); !errors.empty()) {
            Status s(Code::kInvalidArgument, "validation", qualifiedName + ": invalid arguments");
            for (auto& e : errors) {
                s.addField(std::move(e));
            }
            return s;
        }
        return f.function.call(**services, args);
    }
    return Status(Code::kNotFound, "unknown-function", "No function " + qualifiedName + " for this school.");
}

std::vector<data::MigrationSource> PluginHost::migrationSources() const {
    std::vector<data::MigrationSource> out;
    for (const auto& l : loaded_) {
        out.push_back({l->name, (l->folder / "migrations").string()});
    }
    return out;
}

nlohmann::json PluginHost::describe() const {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : records_) {
        nlohmann::json item = {{"name", r.name},
                               {"version", r.version},
                               {"loaded", r.loaded},
                               {"reason", r.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.reason)}};
        if (r.manifest) {
            item["plan_feature"] = r.manifest->planFeature;
            item["status"] = r.manifest->status == PluginStatus::kBeta ? "beta" : "stable";
            item["description"] = {{"fr", r.manifest->description.fr}, {"en", r.manifest->description.en}};
            nlohmann::json permissions = nlohmann::json::array();
            for (const auto& p : r.manifest->permissions) {
                permissions.push_back(p.name);
            }
            item["permissions"] = permissions;
        }
        items.push_back(std::move(item));
    }
    return {{"items", items}};
}

}  // namespace ardoise::kernel::plugins
