// Platform routes about plugins.
#include "kernel/app/application.hpp"
#include "kernel/auth/permissions.hpp"

namespace ardoise::kernel::app {

void registerPluginRoutes(http::Router& router, plugins::PluginHost& plugins) {
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/plugins",
                .access = http::Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Installed plugins: loaded or not, and why",
                .tag = "platform",
                .responseSchema = {{"type", "object"}},
                .handler = [&plugins](http::Request&) -> Result<http::Response> {
                    return http::Response::json(200, plugins.describe());
                }});
}

}  // namespace ardoise::kernel::app
