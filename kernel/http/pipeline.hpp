#pragma once
// The request path, declared in one place and read top to bottom:
// request id → route → tenant → authentication → route gate → authorization → rate limit
// → body → handler → error mapping → access log and metrics.

#include <functional>
#include <memory>
#include <string>

#include "kernel/http/http.hpp"
#include "kernel/http/metrics.hpp"
#include "kernel/http/rate_limiter.hpp"
#include "kernel/http/router.hpp"

namespace ardoise::kernel::http {

struct PipelineOptions {
    std::string baseDomain = "localhost";  ///< tenants answer at <slug>.<baseDomain>
    double tenantRatePerSecond = 200;      ///< per tenant
    double tenantBurst = 400;
    double authRatePerMinute = 10;  ///< per IP + account on login/reset routes
    double authBurst = 10;
    bool accessLog = true;
};

/// Finds an active-or-suspended tenant by slug (nullopt when unknown or deleted).
using TenantResolver = std::function<std::shared_ptr<const TenantContext>(const std::string& slug)>;
/// Checks a bearer token. `tenant` is null on platform routes.
using Authenticator = std::function<Result<Principal>(const std::string& token, const TenantContext* tenant)>;
/// Decides, after authentication, whether this tenant may reach the route at
/// all (a plugin it has not enabled answers 404).
using RouteGate = std::function<Status(const Request& request, const Route& route)>;

class Pipeline {
public:
    Pipeline(Router& router, Metrics& metrics, PipelineOptions options, TenantResolver tenants,
             Authenticator authenticate, RouteGate gate = nullptr);

    /// Never throws; every failure becomes problem+json.
    Response handle(Request& request);

private:
    Result<Response> run(Request& request, const Route*& route);
    Status resolveTenant(Request& request);
    Status authenticate(Request& request, const Route& route);
    Status parseBody(Request& request, const Route& route);
    Status rateLimit(Request& request, const Route& route);
    void log(const Request& request, const Response& response, const Route* route, double seconds) const;

    Router& router_;
    Metrics& metrics_;
    PipelineOptions options_;
    TenantResolver tenants_;
    Authenticator authenticate_;
    RouteGate gate_;
    RateLimiter tenantLimiter_;
    RateLimiter authLimiter_;
};

}  // namespace ardoise::kernel::http
