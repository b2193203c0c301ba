#include "kernel/http/pipeline.hpp"

#include <chrono>
#include <iostream>
#include <mutex>

#include "kernel/data/database.hpp"
#include "kernel/data/ids.hpp"
#include "kernel/http/json_schema.hpp"
#include "kernel/http/problem.hpp"

namespace ardoise::kernel::http {

Pipeline::Pipeline(Router& router, Metrics& metrics, PipelineOptions options, TenantResolver tenants,
                   Authenticator authenticate, RouteGate gate)
    : router_(router),
      metrics_(metrics),
      options_(std::move(options)),
      tenants_(std::move(tenants)),
      authenticate_(std::move(authenticate)),
      gate_(std::move(gate)),
      tenantLimiter_(options_.tenantRatePerSecond, options_.tenantBurst),
      authLimiter_(options_.authRatePerMinute / 60.0, options_.authBurst) {}

namespace {

bool isValidRequestId(const std::string& id) {
    if (id.empty() || id.size() > 64) {
        return false;
    }
    for (char c : id) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

bool isValidSlug(const std::string& s) {
    if (s.size() < 3 || s.size() > 40) {
        return false;
    }
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

}  // namespace

Response Pipeline::handle(Request& request) {
    const auto start = std::chrono::steady_clock::now();
    std::string given = request.header("x-request-id");
    request.requestId = isValidRequestId(given) ? given : data::newRequestId();
    request.locale = negotiateLocale(request.header("accept-language"), "");

    const Route* route = nullptr;
    Response response;
    try {
        auto result = run(request, route);
        if (!result && httpStatusOf(result.status().code(), false) >= 500) {
            // The client gets a generic detail; the operator gets the reason.
            std::cerr << nlohmann::json({{"level", "error"},
                                         {"msg", "request failed"},
                                         {"request_id", request.requestId},
                                         {"type", result.status().type()},
                                         {"error", result.status().message()}})
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
        }
        response = result ? std::move(result.value()) : problemResponse(result.status(), request);
    } catch (const data::DbError& e) {
        std::cerr << R"({"level":"error","msg":"database error","request_id":")" << request.requestId
                  << R"(","error":)" << nlohmann::json(e.what()).dump() << "}\n";
        Status s = e.kind() == data::DbError::Kind::kUnavailable
                       ? Status(Code::kUnavailable, "database-unavailable", "The database is unavailable.")
                       : Status(Code::kInternal, "internal", "An internal error occurred.");
        response = problemResponse(s, request);
    } catch (const std::exception& e) {
        std::cerr << R"({"level":"error","msg":"unhandled exception","request_id":")" << request.requestId
                  << R"(","error":)" << nlohmann::json(e.what()).dump() << "}\n";
        response = problemResponse(Status(Code::kInternal, "internal", "An internal error occurred."), request);
    }
    response.headers.emplace_back("X-Request-Id", request.requestId);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // An unmatched request's method is whatever the client sent: as a label it
    // would grow the metrics maps without bound and inject into /metrics.
    metrics_.observeRequest(route != nullptr ? route->pattern : "unmatched",
                            route != nullptr ? request.method : "other", response.status,
                            seconds, request.tenant ? request.tenant->slug : "");
    if (options_.accessLog) {
        log(request, response, route, seconds);
    }
    return response;
}

Result<Response> Pipeline::run(Request& request, const Route*& route) {
    if (request.locale.empty()) {
        request.locale = "fr";
    }
    auto match = router_.match(request.method, request.path);
    if (match.route == nullptr) {
        if (match.pathExists) {
            std::string allow;
            for (const auto& m : match.allowed) {
                allow += (allow.empty() ? "" : ", ") + m;
            }
            return Status(Code::kMethodNotAllowed, "method-not-allowed",
                          "Method " + request.method + " is not allowed here.")
                .addExtra("allow", allow);
        }
        return Status(Code::kNotFound, "not-found", "No resource at this address.");
    }
    route = match.route;
    request.params = std::move(match.params);

    if (route->access == Access::kTenantPublic || route->access == Access::kTenantUser) {
        if (auto s = resolveTenant(request); !s.isOk()) {
            return s;
        }
    }
    if (auto s = authenticate(request, *route); !s.isOk()) {
        return s;
    }
    if (gate_) {
        if (auto s = gate_(request, *route); !s.isOk()) {
            return s;
        }
    }
    if (!route->permission.empty() && !(request.principal && request.principal->can(route->permission))) {
        return Status(Code::kPermissionDenied, "forbidden", "You do not have the permission this action needs.")
            .addExtra("permission", route->permission);
    }
    if (auto s = parseBody(request, *route); !s.isOk()) {
        return s;
    }
    if (auto s = rateLimit(request, *route); !s.isOk()) {
        return s;
    }
    return route->handler(request);
}

Status Pipeline::resolveTenant(Request& request) {
    std::string slug = request.header("x-tenant");
    if (slug.empty()) {
        std::string host = request.header("host");
        host = host.substr(0, host.find(':'));
        const std::string suffix = "." + options_.baseDomain;
        if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
            slug = host.substr(0, host.size() - suffix.size());
        }
    }
    if (slug.empty()) {
        return {Code::kInvalidArgument, "tenant-required",
                "Name the school with the X-Tenant header or its own host name."};
    }
    auto tenant = isValidSlug(slug) ? tenants_(slug) : nullptr;
    if (!tenant) {
        return Status(Code::kNotFound, "tenant-not-found", "No school answers at this address.");
    }
    if (negotiateLocale(request.header("accept-language"), "").empty()) {
        request.locale = tenant->locale;
    }
    request.tenant = std::move(tenant);
    if (request.tenant->status == "suspended") {
        return Status(Code::kPermissionDenied, "tenant-suspended", "This school's account is suspended.");
    }
    return Status::ok();
}

Status Pipeline::authenticate(Request& request, const Route& route) {
    if (route.access != Access::kTenantUser && route.access != Access::kOperator) {
        return Status::ok();
    }
    const std::string auth = request.header("authorization");
    static const std::string kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0) {
        return {Code::kUnauthenticated, "unauthenticated", "Sign in first: send an Authorization: Bearer token."};
    }
    auto principal = authenticate_(auth.substr(kBearer.size()),
                                   route.access == Access::kOperator ? nullptr : &*request.tenant);
    if (!principal) {
        return principal.status();
    }
    if ((route.access == Access::kOperator) != (principal->kind == Principal::Kind::kOperator)) {
        return {Code::kUnauthenticated, "invalid-token", "This token is not valid here."};
    }
    if (!principal->locale.empty() && negotiateLocale(request.header("accept-language"), "").empty()) {
        request.locale = principal->locale;
    }
    request.principal = std::move(principal.value());
    return Status::ok();
}

Status Pipeline::parseBody(Request& request, const Route& route) {
    if (route.requestSchema.is_null()) {
        return Status::ok();
    }
    std::string type = request.header("content-type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') {
        type.pop_back();
    }
    if (type != "application/json") {
        return {Code::kUnsupportedMedia, "unsupported-media-type", "Send the body as application/json."};
    }
    auto parsed = parseJsonBody(request.body);
    if (!parsed) {
        return parsed.status();
    }
    auto errors = validateJson(route.requestSchema, *parsed);
    if (!errors.empty()) {
        Status s(Code::kInvalidArgument, "validation", "Some fields are invalid.");
        for (auto& e : errors) {
            s.addField(std::move(e));
        }
        return s;
    }
    request.json = std::move(parsed.value());
    return Status::ok();
}

Status Pipeline::rateLimit(Request& request, const Route& route) {
    int retry = 0;
    if (request.tenant && !tenantLimiter_.allow(request.tenant->id, &retry)) {
        return Status(Code::kRateLimited, "rate-limited", "Too many requests for this school; slow down.")
            .addExtra("retry_after", std::to_string(retry));
    }
    if (route.authRateLimited) {
        std::string account = request.json.is_object() && request.json.contains("email") &&
                                      request.json["email"].is_string()
                                  ? request.json["email"].get<std::string>()
                                  : "";
        std::string key = request.remoteIp + "|" + (request.tenant ? request.tenant->id : "") + "|" + account;
        if (!authLimiter_.allow(key, &retry)) {
            return Status(Code::kRateLimited, "rate-limited", "Too many attempts; wait before trying again.")
                .addExtra("retry_after", std::to_string(retry));
        }
    }
    return Status::ok();
}

void Pipeline::log(const Request& request, const Response& response, const Route* route, double seconds) const {
    nlohmann::json line = {
        {"ts", data::nowSeconds()},
        {"request_id", request.requestId},
        {"method", request.method},
        {"path", request.path},
        {"route", route != nullptr ? route->pattern : ""},
        {"status", response.status},
        {"ms", seconds * 1000},
        {"ip", request.remoteIp},
        {"tenant", request.tenant ? request.tenant->slug : ""},
        {"user", request.principal ? request.principal->id : ""},
    };
    static std::mutex out;
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(out);
    std::clog << text;
}

}  // namespace ardoise::kernel::http
