#pragma once
// The plugin host: discovers plugin folders, orders them by `requires`,
// loads each library with Boost.DLL after checking its descriptor, lets it
// register its routes, event handlers, jobs and Lua functions, and keeps the
// library loaded while anything it created lives.

#include <ardoise/plugin.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/data/migrations.hpp"
#include "kernel/http/metrics.hpp"
#include "kernel/http/router.hpp"
#include "kernel/plugins/manifest.hpp"
#include "kernel/plugins/plugin_services.hpp"

namespace ardoise::kernel::plugins {

struct PluginRecord {
    std::string name;
    std::string version;
    std::filesystem::path folder;
    bool loaded = false;
    std::string reason;  ///< why it was refused (English), empty when loaded
    std::shared_ptr<const Manifest> manifest;  ///< null when the manifest was invalid
};

/// A Lua function a plugin exports, callable by the scripting host.
struct ExportedFunction {
    std::string plugin;
    std::string qualifiedName;  ///< "<lua_module>.<name>"
    LuaFunction function;       ///< `call` is wrapped: plugin enabled, arguments valid, exceptions contained
};

class PluginHost {
public:
    /// The hub's metrics count what plugins throw (ardoise_plugin_errors_total{plugin}).
    PluginHost(http::Router& router, ServiceHub& hub) : router_(router), hub_(hub) {}
    ~PluginHost();
    PluginHost(const PluginHost&) = delete;
    PluginHost& operator=(const PluginHost&) = delete;

    /// Discovers and loads the plugins of `roots`. A plugin that cannot load
    /// is recorded with the reason and logged; the others load. Never throws
    /// for a plugin's fault. Call once, before serving.
    void load(const std::vector<std::filesystem::path>& roots);
    /// start() of every loaded plugin, in load order; failures are logged and
    /// that plugin's routes answer 503.
    void startAll();
    /// stop() in reverse order.
    void stopAll();

    /// Every plugin found, loaded or not, by name.
    const std::vector<PluginRecord>& records() const { return records_; }
    /// The migrations folders of the loaded plugins, in load order.
    std::vector<data::MigrationSource> migrationSources() const;
    /// The platform's view of the plugins (GET /api/v1/platform/plugins).
    nlohmann::json describe() const;

    /// The Lua functions of the loaded plugins.
    const std::vector<ExportedFunction>& luaFunctions() const { return functions_; }
    /// Calls `qualifiedName` for `tenantId`: kNotFound for an unknown function
    /// or a plugin not enabled there, 422-style kInvalidArgument for bad
    /// arguments, a plugin-error Status when it throws.
    Result<nlohmann::json> callLuaFunction(const std::string& qualifiedName, const std::string& tenantId,
                                           const nlohmann::json& args) const;

private:
    struct Loaded;
    Status loadOne(const Manifest& manifest, const std::filesystem::path& folder);

    http::Router& router_;
    ServiceHub& hub_;
    std::vector<PluginRecord> records_;
    std::vector<ExportedFunction> functions_;
    std::map<std::string, std::pair<std::shared_ptr<const PluginRuntime>, std::shared_ptr<std::atomic<bool>>>> runtimes_;
    std::vector<std::shared_ptr<Loaded>> loaded_;  // in load order
};

/// The file name of a plugin's library inside its folder: lib<name>.so.
std::string libraryFileName(const std::string& pluginName);

}  // namespace ardoise::kernel::plugins
