#pragma once
// The plugin contract: one class derived from ardoise::Plugin, exported with
// ARDOISE_PLUGIN(...), built against these headers only.
//
// Lifecycle (all calls on the host's start-up or shutdown thread):
//   1. the host reads the exported descriptor and refuses an incompatible SDK
//      or toolchain before running any other plugin code;
//   2. it creates the plugin and calls registerWith(context) once: routes,
//      event handlers, jobs and Lua functions are registered there and only
//      there;
//   3. start() once serving begins, stop() before the library is unloaded.
// An exception escaping a route handler becomes a 500 problem for that
// request only, one escaping an event handler or a job a failed attempt with
// its message; the kernel keeps serving. Prefer returning a Status.

#include <ardoise/http.hpp>
#include <ardoise/services.hpp>
#include <ardoise/status.hpp>
#include <ardoise/version.hpp>

#include <string>

namespace ardoise {

/// The C++ ABI a translation unit is built with. std::string, std::function
/// and nlohmann::json cross the plugin boundary, so host and plugin must use
/// the same standard library ABI and language version.
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define ARDOISE_TOOLCHAIN "libstdc++/cxx11-abi-" ARDOISE_SDK_STRINGIFY(_GLIBCXX_USE_CXX11_ABI) "/" ARDOISE_SDK_STRINGIFY(__cplusplus)
#elif defined(_LIBCPP_VERSION)
#define ARDOISE_TOOLCHAIN "libc++-" ARDOISE_SDK_STRINGIFY(_LIBCPP_VERSION) "/" ARDOISE_SDK_STRINGIFY(__cplusplus)
#else
#define ARDOISE_TOOLCHAIN "unknown/" ARDOISE_SDK_STRINGIFY(__cplusplus)
#endif

/// What a plugin library says about itself. Plain C data, readable whatever
/// SDK version the plugin was built with.
struct PluginDescriptor {
    int sdkMajor;
    int sdkMinor;
    int sdkPatch;
    const char* name;       ///< must equal the manifest's name
    const char* version;    ///< must equal the manifest's version
    const char* toolchain;  ///< ARDOISE_TOOLCHAIN of the plugin's build
};

/// The host's side, handed to Plugin::registerWith. Valid only during that
/// call; do not keep it.
class PluginContext {
public:
    virtual ~PluginContext() = default;

    /// The plugin's name (its folder, namespace and prefix everywhere).
    virtual const std::string& pluginName() const = 0;

    /// Mounts `route` under /api/v1/<plugin>; `route.pattern` is relative
    /// ("/notes/{id}"). `route.access` must be kTenantUser or kTenantPublic;
    /// a permission must start with "<plugin>.". The route appears in the
    /// OpenAPI document. Errors: kInvalidArgument (pattern, access,
    /// permission), kConflict (the same method and pattern twice).
    virtual Status addRoute(Route route) = 0;

    /// Calls `handler` for every event `name` (declared under events.consumes
    /// of the manifest) of the schools where this plugin is enabled, at least
    /// once, on a background thread. A failure or exception is retried with
    /// backoff. Errors: kInvalidArgument (undeclared event, no handler).
    virtual Status subscribe(const std::string& eventName, EventHandler handler) = 0;

    /// Registers the job `<plugin>.<name>` (name: [a-z][a-z0-9_]*), queued
    /// with TenantServices::enqueue and run on the job workers. Errors:
    /// kInvalidArgument (name, no handler), kConflict (twice).
    virtual Status addJob(const std::string& name, JobHandler handler) = 0;

    /// Offers `function` to the school's Lua scripts as
    /// `<lua_module>.<name>`; the manifest must declare lua_module. Errors:
    /// kInvalidArgument (no lua_module, name, no function), kConflict (twice).
    virtual Status exportFunction(LuaFunction function) = 0;

    /// A structured log line tagged with the plugin's name. Thread-safe.
    virtual void log(LogLevel level, const std::string& message) = 0;

    /// The plugin's metrics; the reference stays valid while the plugin is
    /// loaded (unlike the context itself).
    virtual Metrics& metrics() = 0;
};

class Plugin {
public:
    virtual ~Plugin() = default;
    /// Registers everything the plugin offers. A failure refuses the plugin
    /// (its routes are removed) and the host goes on with the others.
    virtual Status registerWith(PluginContext& context) = 0;
    /// Called once the server serves; a failure is logged and the plugin's
    /// routes answer 503 until the next start.
    virtual Status start() { return Status::ok(); }
    /// Called before unloading; must not throw.
    virtual void stop() {}
};

}  // namespace ardoise

/// Exports a plugin class. Use once, in one source file of the plugin:
///   ARDOISE_PLUGIN(ardoise::plugins::hello::HelloPlugin, "hello", "1.0.0")
#define ARDOISE_PLUGIN(PluginClass, Name, Version)                                                   \
    extern "C" __attribute__((visibility("default"))) const ::ardoise::PluginDescriptor*            \
    ardoise_plugin_describe() noexcept {                                                             \
        static const ::ardoise::PluginDescriptor descriptor{ARDOISE_SDK_VERSION_MAJOR,               \
                                                            ARDOISE_SDK_VERSION_MINOR,               \
                                                            ARDOISE_SDK_VERSION_PATCH,               \
                                                            Name,                                    \
                                                            Version,                                 \
                                                            ARDOISE_TOOLCHAIN};                      \
        return &descriptor;                                                                          \
    }                                                                                                \
    extern "C" __attribute__((visibility("default"))) ::ardoise::Plugin* ardoise_plugin_create() noexcept { \
        try {                                                                                        \
            return new PluginClass();                                                                \
        } catch (...) {                                                                              \
            return nullptr;                                                                          \
        }                                                                                            \
    }
