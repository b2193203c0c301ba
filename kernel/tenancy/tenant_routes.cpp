// Platform routes: operators sign in and manage tenants.
#include "kernel/app/application.hpp"
#include "kernel/auth/permissions.hpp"

namespace ardoise::kernel::app {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;

void registerTenantRoutes(http::Router& router, tenancy::TenantService& tenants, auth::AuthService& auth) {
    const auto& tenantSchema = tenancy::TenantService::tenantSchema();
    const json page = {{"type", "object"},
                       {"properties",
                        {{"items", {{"type", "array"}, {"items", tenantSchema}}},
                         {"next_cursor", {{"type", {"string", "null"}}}}}}};

    router.add({.method = "POST",
                .pattern = "/api/v1/platform/auth/login",
                .access = Access::kPublic,
                .summary = "Operator sign-in",
                .tag = "platform",
                .requestSchema = {{"type", "object"},
                                  {"additionalProperties", false},
                                  {"required", {"email", "password"}},
                                  {"properties",
                                   {{"email", {{"type", "string"}, {"format", "email"}, {"maxLength", 254}}},
                                    {"password", {{"type", "string"}, {"minLength", 1}, {"maxLength", 256}}}}}},
                .authRateLimited = true,
                .handler = [&auth](Request& r) -> Result<Response> {
                    return http::jsonResponse(auth.operatorLogin(r.json, {r.remoteIp, r.requestId}));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/tenants",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "List schools (?limit, ?cursor, ?status)",
                .tag = "platform",
                .responseSchema = page,
                .handler = [&tenants](Request& r) -> Result<Response> {
                    auto limit = http::pageLimit(r);
                    if (!limit) {
                        return limit.status();
                    }
                    const std::string status = r.queryParam("status");
                    if (!status.empty() && status != "active" && status != "suspended") {
                        return Status(Code::kInvalidArgument, "validation", "Unknown status filter.")
                            .addField({"/status", "enum", "must be active or suspended"});
                    }
                    return Response::json(200, tenants.list(*limit, r.queryParam("cursor"), status));
                }});
    router.add({.method = "POST",
                .pattern = "/api/v1/platform/tenants",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Create a school",
                .tag = "platform",
                .requestSchema = tenancy::TenantService::createSchema(),
                .responseSchema = tenantSchema,
                .successStatus = 201,
                .handler = [&tenants](Request& r) -> Result<Response> {
                    auto t = tenants.create(r.json);
                    if (!t) {
                        return t.status();
                    }
                    auto resp = Response::json(201, *t);
                    resp.headers.emplace_back("Location", "/api/v1/platform/tenants/" + (*t)["id"].get<std::string>());
                    return resp;
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/platform/tenants/{id}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Show a school (by id or slug)",
                .tag = "platform",
                .responseSchema = tenantSchema,
                .handler = [&tenants](Request& r) -> Result<Response> {
                    return http::jsonResponse(tenants.get(r.param("id")));
                }});
    router.add({.method = "PATCH",
                .pattern = "/api/v1/platform/tenants/{id}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Update a school's name, locale, timezone, currency or branding",
                .tag = "platform",
                .requestSchema = tenancy::TenantService::updateSchema(),
                .responseSchema = tenantSchema,
                .handler = [&tenants](Request& r) -> Result<Response> {
                    return http::jsonResponse(tenants.update(r.param("id"), r.json));
                }});
    for (const auto& [verb, status] : {std::pair<std::string, std::string>{"suspend", "suspended"}, {"resume", "active"}}) {
        router.add({.method = "POST",
                    .pattern = "/api/v1/platform/tenants/{id}/" + verb,
                    .access = Access::kOperator,
                    .permission = auth::kPlatformManage,
                    .summary = verb == "suspend" ? "Suspend a school (its users get 403 tenant-suspended)"
                                                 : "Resume a suspended school",
                    .tag = "platform",
                    .responseSchema = tenantSchema,
                    .handler = [&tenants, status = status](Request& r) -> Result<Response> {
                        return http::jsonResponse(tenants.setStatus(r.param("id"), status));
                    }});
    }
    router.add({.method = "DELETE",
                .pattern = "/api/v1/platform/tenants/{id}",
                .access = Access::kOperator,
                .permission = auth::kPlatformManage,
                .summary = "Export a school's data to a JSON archive, then delete the school",
                .tag = "platform",
                .responseSchema = {{"type", "object"}, {"properties", {{"archive", {{"type", "string"}}}}}},
                .handler = [&tenants](Request& r) -> Result<Response> {
                    auto archive = tenants.remove(r.param("id"));
                    if (!archive) {
                        return archive.status();
                    }
                    return Response::json(200, {{"deleted", true}, {"archive", *archive}});
                }});
}

}  // namespace ardoise::kernel::app
