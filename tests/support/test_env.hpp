#pragma once
// Test support: throwaway databases on SQLite and PostgreSQL, and an
// in-process Ardoise server with a small HTTP client.

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/app/application.hpp"
#include "support/child_process.hpp"

namespace ardoise::test {

/// "sqlite", plus "postgresql" when ARDOISE_TEST_PG_URL is set. When
/// ARDOISE_TEST_REQUIRE_PG=1 and no server is configured, this throws so a
/// missing PostgreSQL can never pass silently.
std::vector<std::string> backends();

/// A fresh empty database. On PostgreSQL: a new database owned by the role
/// ardoise_owner, served through ardoise_app (not owner, not superuser).
struct TestDatabase {
    explicit TestDatabase(const std::string& backend);
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    std::string backend;
    std::string url;       ///< the application's connection
    std::string adminUrl;  ///< the owner's connection (migrations)
    std::string appRole;
    std::string dir;       ///< a private temporary folder (SQLite file, exports)
    std::string name;      ///< PostgreSQL database name
};

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
    nlohmann::json json() const;
    std::string header(const std::string& lowerName) const;
};

/// Raw HTTP request to 127.0.0.1:port.
HttpResult httpRequest(int port, const std::string& method, const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});

/// A migrated Ardoise on a test database, serving on a free port, with the
/// config a test may adjust before start().
class TestServer {
public:
    explicit TestServer(const std::string& backend, bool start = true);
    ~TestServer();

    kernel::app::Config& config() { return config_; }
    void start();
    kernel::app::Application& app() { return *app_; }
    int port() const { return app_->port(); }
    TestDatabase& db() { return *db_; }

    /// Creates a tenant (slug) with an admin; returns the tenant id.
    std::string createTenant(const std::string& slug);
    /// Creates an active user with a password in tenant `slug`.
    std::string createUser(const std::string& slug, const std::string& email, const std::string& role,
                           const std::string& password = "correct-horse-battery");
    /// Allows and enables a plugin for tenant `slug` (as operator and admin would).
    void enablePlugin(const std::string& slug, const std::string& plugin);
    /// Signs in and returns the access token (throws on failure).
    std::string login(const std::string& slug, const std::string& email,
                      const std::string& password = "correct-horse-battery");
    nlohmann::json loginPair(const std::string& slug, const std::string& email,
                             const std::string& password = "correct-horse-battery");
    /// An operator token.
    std::string operatorToken();

    HttpResult request(const std::string& method, const std::string& target, const nlohmann::json& body = nullptr,
                       const std::map<std::string, std::string>& headers = {});
    /// request() with X-Tenant and a bearer token.
    HttpResult as(const std::string& token, const std::string& slug, const std::string& method,
                  const std::string& target, const nlohmann::json& body = nullptr);

    /// Counts rows of a table over every tenant, through the admin connection.
    long long countRows(const std::string& table);
    /// Row counts of every tenant table, tenants and the mail outbox: equal
    /// before and after a request means it wrote nothing.
    std::map<std::string, long long> rowCounts();

private:
    std::unique_ptr<TestDatabase> db_;
    kernel::app::Config config_;
    std::unique_ptr<kernel::app::Application> app_;
};

}  // namespace ardoise::test
