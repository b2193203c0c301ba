// Tenant routes: sign-in, sessions, 2FA, the current user, users and audit.
#include "kernel/app/application.hpp"
#include "kernel/auth/audit.hpp"
#include "kernel/auth/permissions.hpp"
#include "kernel/http/json_writer.hpp"

namespace ardoise::kernel::app {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;

namespace {

auth::Origin origin(const Request& r) { return {r.remoteIp, r.requestId}; }

json objectSchema(std::initializer_list<std::string> required, json properties) {
    return {{"type", "object"}, {"additionalProperties", false}, {"required", required}, {"properties", properties}};
}

const json kPassword = {{"type", "string"}, {"minLength", 1}, {"maxLength", 256}};
const json kToken = {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}};

}  // namespace

void registerAuthRoutes(http::Router& router, auth::AuthService& auth) {
    using S = auth::AuthService;
    const json userPage = {{"type", "object"},
                           {"properties",
                            {{"items", {{"type", "array"}, {"items", S::userSchema()}}},
                             {"next_cursor", {{"type", {"string", "null"}}}}}}};

    router.add({.method = "POST", .pattern = "/api/v1/auth/login", .access = Access::kTenantPublic,
                .summary = "Sign in with email and password (and a TOTP or recovery code when 2FA is on)",
                .tag = "auth", .requestSchema = S::loginSchema(), .responseSchema = S::tokenPairSchema(),
                .authRateLimited = true,
                .handler = [&auth](Request& r) { return http::jsonResponse(auth.login(*r.tenant, r.json, origin(r))); }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/refresh", .access = Access::kTenantPublic,
                .summary = "Exchange a refresh token for new tokens (rotation; reuse revokes the session)",
                .tag = "auth", .requestSchema = S::refreshSchema(), .responseSchema = S::tokenPairSchema(),
                .authRateLimited = true,
                .handler = [&auth](Request& r) {
                    return http::jsonResponse(auth.refresh(*r.tenant, r.json["refresh_token"].get<std::string>(), origin(r)));
                }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/logout", .access = Access::kTenantUser,
                .summary = "End this session (its access and refresh tokens stop working at once)", .tag = "auth",
                .successStatus = 204,
                .handler = [&auth](Request& r) -> Result<Response> {
                    if (auto s = auth.logout(*r.tenant, *r.principal, origin(r)); !s.isOk()) {
                        return s;
                    }
                    return Response::noContent();
                }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/accept-invite", .access = Access::kTenantPublic,
                .summary = "Accept an invitation: choose a password", .tag = "auth",
                .requestSchema = objectSchema({"token", "password"},
                                              {{"token", kToken},
                                               {"password", kPassword},
                                               {"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 120}}}}),
                .responseSchema = S::userSchema(), .authRateLimited = true,
                .handler = [&auth](Request& r) { return http::jsonResponse(auth.acceptInvite(*r.tenant, r.json, origin(r))); }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/password-reset", .access = Access::kTenantPublic,
                .summary = "Ask for a password reset link (same answer whether the account exists or not)",
                .tag = "auth",
                .requestSchema = objectSchema({"email"}, {{"email", {{"type", "string"}, {"format", "email"}, {"maxLength", 254}}}}),
                .successStatus = 202, .authRateLimited = true,
                .handler = [&auth](Request& r) -> Result<Response> {
                    auth.requestPasswordReset(*r.tenant, r.json["email"].get<std::string>(), origin(r));
                    return Response::json(202, {{"status", "accepted"}});
                }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/password-reset/confirm", .access = Access::kTenantPublic,
                .summary = "Set a new password with a reset token (ends every session)", .tag = "auth",
                .requestSchema = objectSchema({"token", "password"}, {{"token", kToken}, {"password", kPassword}}),
                .successStatus = 204, .authRateLimited = true,
                .handler = [&auth](Request& r) -> Result<Response> {
                    if (auto s = auth.confirmPasswordReset(*r.tenant, r.json, origin(r)); !s.isOk()) {
                        return s;
                    }
                    return Response::noContent();
                }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/totp/enroll", .access = Access::kTenantUser,
                .summary = "Start TOTP enrolment: a secret and an otpauth:// URI", .tag = "auth",
                .responseSchema = {{"type", "object"},
                                   {"properties", {{"secret", {{"type", "string"}}}, {"otpauth_uri", {{"type", "string"}}}}}},
                .handler = [&auth](Request& r) { return http::jsonResponse(auth.enrollTotp(*r.tenant, *r.principal)); }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/totp/confirm", .access = Access::kTenantUser,
                .summary = "Confirm TOTP with a first code; returns single-use recovery codes", .tag = "auth",
                .requestSchema = objectSchema({"code"}, {{"code", {{"type", "string"}, {"pattern", "^[0-9]{6}$"}}}}),
                .responseSchema = {{"type", "object"},
                                   {"properties", {{"recovery_codes", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}},
                .handler = [&auth](Request& r) {
                    return http::jsonResponse(auth.confirmTotp(*r.tenant, *r.principal, r.json["code"].get<std::string>(), origin(r)));
                }});
    router.add({.method = "POST", .pattern = "/api/v1/auth/totp/disable", .access = Access::kTenantUser,
                .summary = "Turn TOTP off (needs the password)", .tag = "auth",
                .requestSchema = objectSchema({"password"}, {{"password", kPassword}}), .successStatus = 204,
                .handler = [&auth](Request& r) -> Result<Response> {
                    if (auto s = auth.disableTotp(*r.tenant, *r.principal, r.json["password"].get<std::string>(), origin(r));
                        !s.isOk()) {
                        return s;
                    }
                    return Response::noContent();
                }});
    router.add({.method = "GET", .pattern = "/api/v1/me", .access = Access::kTenantUser,
                .summary = "The signed-in user and their school", .tag = "auth",
                .responseSchema = {{"type", "object"}},
                .handler = [](Request& r) -> Result<Response> {
                    // On every page load: written directly, without a JSON tree.
                    const auto& p = *r.principal;
                    const auto& t = *r.tenant;
                    http::JsonWriter w;
                    w.beginObject()
                        .key("id").value(p.id)
                        .key("email").value(p.email)
                        .key("name").value(p.name)
                        .key("roles").stringArray(p.roles)
                        .key("permissions").stringArray(*p.permissions)
                        .key("totp_enabled").value(p.totpEnabled)
                        .key("locale").value(r.locale)
                        .key("tenant").beginObject()
                            .key("id").value(t.id)
                            .key("slug").value(t.slug)
                            .key("name").value(t.name)
                            .key("timezone").value(t.timezone)
                            .key("currency").value(t.currency)
                        .endObject()
                    .endObject();
                    return Response{200, "application/json", w.take(), {}, {}};
                }});
    router.add({.method = "GET", .pattern = "/api/v1/users", .access = Access::kTenantUser,
                .permission = "users.read", .summary = "List users (?limit, ?cursor, ?role, ?status)",
                .tag = "users", .responseSchema = userPage,
                .handler = [&auth](Request& r) -> Result<Response> {
                    auto limit = http::pageLimit(r);
                    if (!limit) {
                        return limit.status();
                    }
                    const std::string role = r.queryParam("role");
                    const auto& roles = auth::knownRoles();
                    if (!role.empty() && std::find(roles.begin(), roles.end(), role) == roles.end()) {
                        return Status(Code::kInvalidArgument, "validation", "Unknown role filter.")
                            .addField({"/role", "enum", "must be admin, teacher, student or parent"});
                    }
                    const std::string status = r.queryParam("status");
                    if (!status.empty() && status != "active" && status != "invited" && status != "deactivated") {
                        return Status(Code::kInvalidArgument, "validation", "Unknown status filter.")
                            .addField({"/status", "enum", "must be active, invited or deactivated"});
                    }
                    return Response::json(200, auth.listUsers(*r.tenant, *limit, r.queryParam("cursor"), role, status));
                }});
    router.add({.method = "POST", .pattern = "/api/v1/users", .access = Access::kTenantUser,
                .permission = "users.manage",
                .summary = "Invite a user by email (or create an active one when a password is given)",
                .tag = "users", .requestSchema = S::userCreateSchema(), .responseSchema = S::userSchema(),
                .successStatus = 201,
                .handler = [&auth](Request& r) {
                    return http::jsonResponse(auth.createUser(*r.tenant, r.json, r.principal->id, origin(r)), 201);
                }});
    router.add({.method = "GET", .pattern = "/api/v1/users/{id}", .access = Access::kTenantUser,
                .permission = "users.read", .summary = "Show a user", .tag = "users",
                .responseSchema = S::userSchema(),
                .handler = [&auth](Request& r) { return http::jsonResponse(auth.getUser(*r.tenant, r.param("id"))); }});
    router.add({.method = "PATCH", .pattern = "/api/v1/users/{id}", .access = Access::kTenantUser,
                .permission = "users.manage", .summary = "Change a user's name, roles, locale or status",
                .tag = "users", .requestSchema = S::userUpdateSchema(), .responseSchema = S::userSchema(),
                .handler = [&auth](Request& r) {
                    return http::jsonResponse(auth.updateUser(*r.tenant, r.param("id"), r.json, r.principal->id, origin(r)));
                }});
    router.add({.method = "DELETE", .pattern = "/api/v1/users/{id}", .access = Access::kTenantUser,
                .permission = "users.manage", .summary = "Deactivate a user (data kept, sessions ended)",
                .tag = "users", .successStatus = 204,
                .handler = [&auth](Request& r) -> Result<Response> {
                    if (auto s = auth.deactivateUser(*r.tenant, r.param("id"), r.principal->id, origin(r)); !s.isOk()) {
                        return s;
                    }
                    return Response::noContent();
                }});
    router.add({.method = "GET", .pattern = "/api/v1/audit", .access = Access::kTenantUser,
                .permission = "audit.read", .summary = "Security events of the school, newest first (?limit, ?cursor, ?action)",
                .tag = "audit", .responseSchema = {{"type", "object"}},
                .handler = [&auth](Request& r) -> Result<Response> {
                    auto limit = http::pageLimit(r);
                    if (!limit) {
                        return limit.status();
                    }
                    return Response::json(200, auth.audit(*r.tenant, *limit, r.queryParam("cursor"), r.queryParam("action")));
                }});
}

}  // namespace ardoise::kernel::app
