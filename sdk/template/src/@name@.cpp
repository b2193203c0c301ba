// The @name@ plugin. Uses the SDK headers only.
#include "@name@.hpp"

namespace ardoise::plugins::@name@ {

namespace {

// The user-visible strings, as in lang/fr.json and lang/en.json. The SDK has
// no message catalogue yet: keep both in step.
std::string greeting(const std::string& locale, const std::string& userName) {
    return (locale == "en" ? "Hello, " : "Bonjour, ") + userName;
}

// GET /api/v1/@name@/hello: a greeting in the caller's language.
// Handlers may run on many threads at once: keep them free of shared
// mutable state, and return a Status rather than throwing.
Result<Response> hello(Request& request) {
    const std::string name = request.principal ? request.principal->name : std::string();
    return Response::json(200, {{"message", greeting(request.locale, name)},
                                {"school", request.tenant ? request.tenant->slug : std::string()},
                                {"locale", request.locale}});
}

}  // namespace

Status @Name@Plugin::registerWith(PluginContext& context) {
    Route route;
    route.method = "GET";
    route.pattern = "/hello";
    route.access = Access::kTenantUser;
    route.permission = "@name@.read";
    route.summary = "A greeting for the signed-in user";
    route.tag = "@name@";
    route.responseSchema = {{"type", "object"},
                            {"properties",
                             {{"message", {{"type", "string"}}},
                              {"school", {{"type", "string"}}},
                              {"locale", {{"type", "string"}}}}}};
    route.handler = hello;
    if (auto s = context.addRoute(std::move(route)); !s.isOk()) {
        return s;
    }

    // An event handler: runs on a background thread for every user created
    // in a school where the plugin is enabled, at least once (use e.id to
    // make repeated deliveries harmless). A failed Status is retried later.
    auto welcomed = context.subscribe("user.created", [](const Event& e, TenantServices& services) -> Status {
        services.metrics().increment("users_seen_total");
        services.log(LogLevel::kInfo, "new user " + e.payload.value("id", std::string()));
        return Status::ok();
    });
    if (!welcomed.isOk()) {
        return welcomed;
    }

    context.log(LogLevel::kInfo, "registered");
    return Status::ok();
}

}  // namespace ardoise::plugins::@name@

ARDOISE_PLUGIN(ardoise::plugins::@name@::@Name@Plugin, "@name@", "0.1.0")
