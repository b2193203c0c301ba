#pragma once
// Tenants (schools): creation, settings, suspension, export and deletion,
// and the resolution of a request's tenant by slug.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>

#include "kernel/data/database.hpp"
#include "kernel/http/http.hpp"

namespace ardoise::kernel::tenancy {

/// Checks a slug: 3–40 of [a-z0-9-], no leading/trailing hyphen, not reserved.
Status validateSlug(const std::string& slug);
/// True when the IANA zone exists in the system's tz database.
bool isKnownTimezone(const std::string& zone);

class TenantService {
public:
    TenantService(data::Database& db, std::string dataDir) : db_(db), dataDir_(std::move(dataDir)) {}

    /// JSON Schemas for the API (also used in the OpenAPI document).
    static const nlohmann::json& createSchema();
    static const nlohmann::json& updateSchema();
    static const nlohmann::json& tenantSchema();

    /// `input` has been validated against createSchema().
    Result<nlohmann::json> create(const nlohmann::json& input);
    /// Creates or updates by slug (for `tenant apply`); reports "created" or "updated".
    Result<nlohmann::json> upsert(const nlohmann::json& input, bool* created = nullptr);
    /// Keyset pagination by slug.
    nlohmann::json list(int limit, const std::string& after, const std::string& status);
    /// By id or slug.
    Result<nlohmann::json> get(const std::string& idOrSlug);
    Result<nlohmann::json> update(const std::string& idOrSlug, const nlohmann::json& patch);
    Result<nlohmann::json> setStatus(const std::string& idOrSlug, const std::string& status);
    /// Exports the tenant's data as a JSON archive under <dataDir>/exports,
    /// then removes the tenant and every row it owns. Returns the archive path.
    Result<std::string> remove(const std::string& idOrSlug);

    /// For the pipeline: an active or suspended tenant, cached for a short TTL.
    std::shared_ptr<const http::TenantContext> resolve(const std::string& slug);

private:
    void invalidate(const std::string& slug);
    std::optional<data::Row> find(data::Connection& c, const std::string& idOrSlug);

    data::Database& db_;
    std::string dataDir_;
    std::shared_mutex cacheMutex_;
    struct Cached {
        std::shared_ptr<const http::TenantContext> tenant;
        std::chrono::steady_clock::time_point at;
    };
    std::map<std::string, Cached> cache_;
};

/// Tables whose rows belong to tenants (they have a tenant_id column).
std::vector<std::string> tenantTables(data::Connection& c);

}  // namespace ardoise::kernel::tenancy
