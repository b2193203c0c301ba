// Routes about plugins: operators see what is installed and allow plugins
// per school; school admins enable and configure the ones allowed.
#include "kernel/app/application.hpp"
#include "kernel/auth/permissions.hpp"

namespace ardoise::kernel::app {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;

void registerPluginRoutes(http::Router& router, plugins::PluginHost& plugins, plugins::Enablement& enablement,
                          tenancy::TenantService& tenants) {
    const json state = {{"type", "object"}};
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/plugins",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Installed plugins: loaded or not, and why",
                .tag = "platform",
                .responseSchema = {{"type", "object"}},
                .handler = [&plugins](Request&) -> Result<Response> { return Response::json(200, plugins.describe()); }});
    router.add({.method = "PUT",
                .pattern = "/api/v1/platform/tenants/{id}/plugins/{name}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Allow or withdraw a plugin for a school (until plans decide)",
                .tag = "platform",
                .requestSchema = {{"type", "object"},
                                  {"additionalProperties", false},
                                  {"required", {"allowed"}},
                                  {"properties", {{"allowed", {{"type", "boolean"}}}}}},
                .responseSchema = state,
                .handler = [&enablement, &tenants](Request& r) -> Result<Response> {
                    auto tenant = tenants.get(r.param("id"));
                    if (!tenant) {
                        return tenant.status();
                    }
                    return http::jsonResponse(
                        enablement.setAllowed((*tenant)["id"], r.param("name"), r.json["allowed"].get<bool>()));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/plugins",
                .access = Access::kTenantUser,
                .permission = "plugins.manage",
                .summary = "Plugins installed on the platform, with this school's state and settings",
                .tag = "plugins",
                .responseSchema = {{"type", "object"}},
                .handler = [&enablement](Request& r) -> Result<Response> {
                    return Response::json(200, enablement.list(r.tenant->id));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/plugins/{name}",
                .access = Access::kTenantUser,
                .permission = "plugins.manage",
                .summary = "One plugin's state and settings for this school",
                .tag = "plugins",
                .responseSchema = state,
                .handler = [&enablement](Request& r) -> Result<Response> {
                    return http::jsonResponse(enablement.get(r.tenant->id, r.param("name")));
                }});
    router.add({.method = "PUT",
                .pattern = "/api/v1/plugins/{name}",
                .access = Access::kTenantUser,
                .permission = "plugins.manage",
                .summary = "Enable, disable or configure a plugin (settings checked against its schema; data kept)",
                .tag = "plugins",
                .requestSchema = {{"type", "object"},
                                  {"additionalProperties", false},
                                  {"minProperties", 1},
                                  {"properties", {{"enabled", {{"type", "boolean"}}}, {"settings", {{"type", "object"}}}}}},
                .responseSchema = state,
                .handler = [&enablement](Request& r) -> Result<Response> {
                    return http::jsonResponse(enablement.configure(r.tenant->id, r.param("name"), r.json));
                }});
}

}  // namespace ardoise::kernel::app
