#pragma once
// HTTP types shared by the kernel and plugins: a request as a handler sees
// it (after tenant resolution, authentication and body validation), the
// response it returns, and the route that binds them. Plain value types: no
// Poco or SOCI type ever appears here.
//
// Thread safety: a Request belongs to the thread handling it; a Route's
// handler may be called from many threads at once and must be thread-safe.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ardoise {

class TenantServices;

/// Case-insensitive header map keys are stored lower-case.
using Headers = std::map<std::string, std::string>;

struct TenantContext {
    std::string id;
    std::string slug;
    std::string name;
    std::string status;  ///< active | suspended | deleted
    std::string locale;
    std::string timezone;
    std::string currency;
};

struct Principal {
    static const std::shared_ptr<const std::set<std::string>>& noPermissions() {
        static const auto none = std::make_shared<const std::set<std::string>>();
        return none;
    }

    enum class Kind { kUser, kOperator };
    Kind kind = Kind::kUser;
    std::string id;
    std::string email;
    std::string name;
    std::string locale;
    std::string sessionId;
    std::vector<std::string> roles;
    /// Shared between principals with the same roles; never null.
    std::shared_ptr<const std::set<std::string>> permissions = noPermissions();
    bool totpEnabled = false;
    bool can(const std::string& permission) const { return permissions->count(permission) != 0; }
};

struct Request {
    std::string method;
    std::string path;    ///< decoded path, without query
    std::string target;  ///< raw request target
    std::map<std::string, std::string> query;
    Headers headers;
    std::string body;
    std::string remoteIp;
    std::string requestId;
    std::string locale = "fr";  ///< "fr" or "en": for messages
    std::map<std::string, std::string> params;  ///< path parameters
    std::shared_ptr<const TenantContext> tenant;  ///< shared with the resolution cache
    std::optional<Principal> principal;
    nlohmann::json json;  ///< parsed and validated body, when the route has a schema
    /// The school's data, events, jobs, settings… for plugin routes (see
    /// ardoise/services.hpp); null for kernel routes.
    std::shared_ptr<TenantServices> services;

    std::string header(const std::string& lowerName) const {
        auto it = headers.find(lowerName);
        return it == headers.end() ? std::string() : it->second;
    }
    std::string param(const std::string& name) const {
        auto it = params.find(name);
        return it == params.end() ? std::string() : it->second;
    }
    std::string queryParam(const std::string& name, const std::string& fallback = "") const {
        auto it = query.find(name);
        return it == query.end() ? fallback : it->second;
    }
};

struct Response {
    /// Sends one piece of a streamed body; false once the client has gone.
    using Writer = std::function<bool(const std::string&)>;

    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    /// When set, the body is streamed (chunked) instead of `body`: called on
    /// the request's thread once the headers are sent, for as long as it
    /// runs. It must not hold a database connection between writes.
    std::function<void(const Writer&)> stream;

    static Response json(int status, const nlohmann::json& body) {
        return {status, "application/json", body.dump(), {}, {}};
    }
    static Response noContent() { return {204, "", "", {}, {}}; }
};

/// Who may call a route.
enum class Access {
    kPublic,        ///< no tenant, no token (health, OpenAPI)
    kTenantPublic,  ///< a tenant, no token (login, password reset)
    kTenantUser,    ///< a tenant and a user token of that tenant
    kOperator,      ///< platform route: an operator token, no tenant
};

using Handler = std::function<Result<Response>(Request&)>;

struct Route {
    std::string method;
    std::string pattern;  ///< "/api/v1/users/{id}"
    Access access = Access::kPublic;
    std::string permission;  ///< required permission ("" = any authenticated caller)
    std::string summary;
    std::string tag;
    nlohmann::json requestSchema;   ///< JSON Schema of the body, null when none
    nlohmann::json responseSchema;  ///< JSON Schema of the success body, null when none
    int successStatus = 200;
    bool authRateLimited = false;  ///< per IP+account limits (login, reset)
    Handler handler;
    std::string plugin;  ///< the plugin that registered it (set by the host), "" for the kernel
};

/// A JSON response from a result, or its failure.
inline Result<Response> jsonResponse(const Result<nlohmann::json>& r, int status = 200) {
    if (!r) {
        return r.status();
    }
    return Response::json(status, *r);
}

/// The `limit` query parameter: 1–100, default 50.
inline Result<int> pageLimit(const Request& r) {
    const std::string v = r.queryParam("limit", "50");
    int n = 0;
    bool digits = !v.empty() && v.size() <= 3;
    for (char c : v) {
        digits = digits && c >= '0' && c <= '9';
    }
    if (digits) {
        n = std::stoi(v);
    }
    if (!digits || n < 1 || n > 100) {
        return Status(Code::kInvalidArgument, "validation", "limit must be between 1 and 100.")
            .addField({"/limit", "maximum", "must be an integer from 1 to 100"});
    }
    return n;
}

}  // namespace ardoise
