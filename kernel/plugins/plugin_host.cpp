#include "kernel/plugins/plugin_host.hpp"

#include <boost/dll/shared_library.hpp>

#include <atomic>
#include <iostream>
#include <mutex>
#include <set>

#include "kernel/auth/permissions.hpp"
#include "kernel/plugins/discovery.hpp"
#include "kernel/plugins/plugin_database.hpp"
#include "kernel/plugins/plugin_order.hpp"
#include "kernel/plugins/semver.hpp"

namespace ardoise::kernel::plugins {
namespace {

void logLine(const std::string& level, const std::string& plugin, const std::string& message) {
    static std::mutex out;
    const std::string line = nlohmann::json({{"level", level}, {"plugin", plugin}, {"msg", message}})
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                             "\n";
    std::lock_guard lock(out);
    std::clog << line;
}

const char* levelName(LogLevel level) {
    switch (level) {
        case LogLevel::kDebug: return "debug";
        case LogLevel::kInfo: return "info";
        case LogLevel::kWarning: return "warn";
        case LogLevel::kError: return "error";
    }
    return "info";
}

/// Calls into plugin code through one door: the plugin stays loaded for the
/// call, and whatever it throws becomes a problem for this request only.
struct PluginHandler {
    std::shared_ptr<Plugin> plugin;  // declared first: destroyed after `inner`, whose code lives in the library
    std::shared_ptr<std::atomic<bool>> running;
    std::string name;
    data::Database* database;
    http::Metrics* metrics;
    Handler inner;

    Result<Response> operator()(Request& request) const {
        if (!running->load()) {
            return Status(Code::kUnavailable, "plugin-unavailable", "The " + name + " module is not running.");
        }
        request.db = std::make_shared<PluginDatabase>(*database, request.tenant->id);  // connects on first use
        try {
            return inner(request);
        } catch (const std::exception& e) {
            logLine("error", name, std::string("handler threw: ") + e.what() + " (request " + request.requestId + ")");
        } catch (...) {
            logLine("error", name, "handler threw a non-standard exception (request " + request.requestId + ")");
        }
        metrics->increment("ardoise_plugin_errors_total", "plugin=\"" + http::promLabel(name) + "\"");
        return Status(Code::kInternal, "plugin-error", "The " + name + " module failed while handling this request.");
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

/// Collects what a plugin registers; nothing reaches the router unless
/// registerWith succeeds as a whole.
class Registrar : public PluginContext {
public:
    Registrar(const Manifest& manifest, std::shared_ptr<Plugin> plugin, std::shared_ptr<std::atomic<bool>> running,
              data::Database& database, http::Metrics& metrics)
        : manifest_(manifest),
          plugin_(std::move(plugin)),
          running_(std::move(running)),
          database_(database),
          metrics_(metrics) {}

    const std::string& pluginName() const override { return manifest_.name; }

    Status addRoute(Route route) override {
        const std::string& name = manifest_.name;
        if (!open_) {
            return {Code::kFailedPrecondition, "registration-closed", "routes are registered during registerWith only"};
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
            for (const auto& p : manifest_.permissions) {
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
        route.handler = PluginHandler{plugin_, running_, name, &database_, &metrics_, std::move(route.handler)};
        routes_.push_back(std::move(route));
        return Status::ok();
    }

    void log(LogLevel level, const std::string& message) override { logLine(levelName(level), manifest_.name, message); }

    void close() { open_ = false; }
    std::vector<Route>& routes() { return routes_; }

private:
    const Manifest& manifest_;
    std::shared_ptr<Plugin> plugin_;
    std::shared_ptr<std::atomic<bool>> running_;
    data::Database& database_;
    http::Metrics& metrics_;
    std::vector<Route> routes_;
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
    Registrar registrar(manifest, plugin, loaded->running, database_, metrics_);
    Status registered;
    try {
        registered = plugin->registerWith(registrar);
    } catch (const std::exception& e) {
        registered = Status(Code::kInternal, "plugin-register-failed", manifest.name + ": registerWith threw: " + e.what());
    } catch (...) {
        registered = Status(Code::kInternal, "plugin-register-failed", manifest.name + ": registerWith threw");
    }
    registrar.close();
    if (!registered.isOk()) {
        return registered;
    }
    for (auto& route : registrar.routes()) {
        router_.add(std::move(route));
    }
    for (const auto& permission : manifest.permissions) {
        for (const auto& role : permission.defaultRoles) {
            auth::grantPermission(role, permission.name);
        }
    }
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
            logLine("info", r.name, "loaded " + r.version + " from " + r.folder.string());
        } else {
            logLine("warn", r.name, "not loaded: " + r.reason);
        }
    }
}

void PluginHost::startAll() {
    for (const auto& l : loaded_) {
        Status s;
        try {
            s = l->plugin->start();
        } catch (const std::exception& e) {
            s = Status(Code::kInternal, "plugin-start-failed", std::string("start threw: ") + e.what());
        } catch (...) {
            s = Status(Code::kInternal, "plugin-start-failed", "start threw");
        }
        l->running->store(s.isOk());
        if (!s.isOk()) {
            logLine("error", l->name, "start failed: " + s.message());
        }
    }
}

void PluginHost::stopAll() {
    for (auto it = loaded_.rbegin(); it != loaded_.rend(); ++it) {
        if ((*it)->running->exchange(false)) {
            try {
                (*it)->plugin->stop();
            } catch (...) {
                logLine("error", (*it)->name, "stop threw");
            }
        }
    }
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
