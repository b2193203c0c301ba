#include "support/test_env.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "kernel/data/ids.hpp"
#include "kernel/tenancy/tenancy.hpp"

namespace ardoise::test {
namespace fs = std::filesystem;

namespace {

std::string pgBase() {
    const char* url = std::getenv("ARDOISE_TEST_PG_URL");
    return url == nullptr ? "" : url;
}

/// "postgresql://user@host:port/db" with another user and database.
std::string pgUrl(const std::string& user, const std::string& db) {
    std::string base = pgBase();
    auto at = base.find('@');
    auto slash = base.rfind('/');
    return "postgresql://" + user + base.substr(at, slash - at) + "/" + db;
}

void pgAdmin(const std::string& sql) {
    kernel::data::Database admin(pgBase(), 1);
    admin.acquire()->execScript(sql);
}

}  // namespace

std::vector<std::string> backends() {
    std::vector<std::string> out = {"sqlite"};
    if (!pgBase().empty()) {
        out.emplace_back("postgresql");
    } else if (const char* req = std::getenv("ARDOISE_TEST_REQUIRE_PG"); req != nullptr && std::string(req) == "1") {
        throw std::runtime_error("ARDOISE_TEST_REQUIRE_PG=1 but ARDOISE_TEST_PG_URL is not set");
    }
    return out;
}

TestDatabase::TestDatabase(const std::string& b) : backend(b) {
    dir = (fs::temp_directory_path() / ("ardoise-test-" + kernel::data::newId())).string();
    fs::create_directories(dir);
    if (backend == "sqlite") {
        url = "sqlite:" + dir + "/ardoise.db";
        adminUrl = url;
        return;
    }
    name = "ardoise_t_" + kernel::data::newId();
    appRole = "ardoise_app";
    pgAdmin(
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ardoise_owner') THEN CREATE ROLE ardoise_owner LOGIN; END IF; "
        "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ardoise_app') THEN CREATE ROLE ardoise_app LOGIN; END IF; "
        "END $$");
    pgAdmin("CREATE DATABASE " + name + " OWNER ardoise_owner");
    pgAdmin("REVOKE ALL ON DATABASE " + name + " FROM PUBLIC; GRANT CONNECT ON DATABASE " + name + " TO ardoise_app");
    {
        kernel::data::Database owner(pgUrl("ardoise_owner", name), 1);
        owner.acquire()->execScript("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    }
    url = pgUrl("ardoise_app", name);
    adminUrl = pgUrl("ardoise_owner", name);
}

TestDatabase::~TestDatabase() {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!name.empty()) {
        try {
            pgAdmin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (const std::exception&) {
        }
    }
}

nlohmann::json HttpResult::json() const {
    return body.empty() ? nlohmann::json() : nlohmann::json::parse(body, nullptr, false);
}

std::string HttpResult::header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? "" : it->second;
}

HttpResult httpRequest(int port, const std::string& method, const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest req(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) {
        req.set(k, v);
    }
    if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
        req.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    HttpResult out;
    out.status = resp.getStatus();
    for (const auto& [k, v] : resp) {
        std::string key = k;
        for (auto& c : key) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        out.headers[key] = v;
    }
    Poco::StreamCopier::copyToString(in, out.body);
    return out;
}

TestServer::TestServer(const std::string& backend, bool startNow) : db_(std::make_unique<TestDatabase>(backend)) {
    auto cfg = kernel::app::loadConfig("");
    config_ = *cfg;
    config_.databaseUrl = db_->url;
    config_.databaseAdminUrl = db_->adminUrl;
    config_.databaseAppRole = db_->appRole;
    config_.databasePool = 8;
    config_.listen = "127.0.0.1:0";
    config_.dataDir = db_->dir;
    config_.jwtKeys = "test1:" + std::string(48, 'k');
    config_.accessLog = false;
    config_.outbox = false;
    config_.jobWorkers = 0;  // tests run the event dispatcher and jobs by hand (drain)
    config_.billingSweepSeconds = 0;  // tests call Billing::sweepOnce() by hand
    config_.httpThreads = 64;
    config_.rateAuthPerMinute = 1000;
    // Every suite also covers the fixture plugins and the first-party ones.
    config_.pluginPath = std::string(ARDOISE_FIXTURE_PLUGIN_DIR) + ":" + ARDOISE_PLUGIN_DIR;
    if (startNow) {
        start();
    }
}

void TestServer::start() {
    app_ = std::make_unique<kernel::app::Application>(config_);
    auto m = app_->migrate();
    if (!m.isOk()) {
        throw std::runtime_error("migrate: " + m.message());
    }
    auto s = app_->start();
    if (!s.isOk()) {
        throw std::runtime_error("start: " + s.message());
    }
}

TestServer::~TestServer() { app_.reset(); }

std::string TestServer::createTenant(const std::string& slug) {
    auto t = app_->tenants().create({{"slug", slug}, {"name", "École " + slug}});
    if (!t) {
        throw std::runtime_error("createTenant: " + t.status().message());
    }
    createUser(slug, "admin@" + slug + ".test", "admin");
    return (*t)["id"];
}

std::string TestServer::createUser(const std::string& slug, const std::string& email, const std::string& role,
                                   const std::string& password) {
    auto ctx = app_->tenants().resolve(slug);
    auto u = app_->auth().createUser(*ctx, {{"email", email}, {"name", email}, {"roles", {role}}, {"password", password}},
                                     "", {"test", ""});
    if (!u) {
        throw std::runtime_error("createUser: " + u.status().message());
    }
    return (*u)["id"];
}

void TestServer::enablePlugin(const std::string& slug, const std::string& plugin) {
    const std::string tenantId = app_->tenants().resolve(slug)->id;
    if (!app_->enablement().setAllowed(tenantId, plugin, true) ||
        !app_->enablement().configure(tenantId, plugin, {{"enabled", true}})) {
        throw std::runtime_error("cannot enable " + plugin + " for " + slug);
    }
}

nlohmann::json TestServer::loginPair(const std::string& slug, const std::string& email, const std::string& password) {
    auto r = request("POST", "/api/v1/auth/login", {{"email", email}, {"password", password}}, {{"X-Tenant", slug}});
    if (r.status != 200) {
        throw std::runtime_error("login failed: " + std::to_string(r.status) + " " + r.body);
    }
    return r.json();
}

std::string TestServer::login(const std::string& slug, const std::string& email, const std::string& password) {
    return loginPair(slug, email, password)["access_token"];
}

std::string TestServer::operatorToken() {
    const std::string email = "ops@platform.test";
    app_->auth().createOperator(email, "Ops", "operator-password-1");
    auto r = request("POST", "/api/v1/platform/auth/login", {{"email", email}, {"password", "operator-password-1"}});
    if (r.status != 200) {
        throw std::runtime_error("operator login failed: " + r.body);
    }
    return r.json()["access_token"];
}

HttpResult TestServer::request(const std::string& method, const std::string& target, const nlohmann::json& body,
                               const std::map<std::string, std::string>& headers) {
    auto h = headers;
    std::string text;
    if (!body.is_null()) {
        text = body.dump();
        h.emplace("Content-Type", "application/json");
    }
    return httpRequest(port(), method, target, text, h);
}

HttpResult TestServer::as(const std::string& token, const std::string& slug, const std::string& method,
                          const std::string& target, const nlohmann::json& body) {
    std::map<std::string, std::string> h = {{"Authorization", "Bearer " + token}};
    if (!slug.empty()) {
        h["X-Tenant"] = slug;
    }
    return request(method, target, body, h);
}

long long TestServer::countRows(const std::string& table) {
    kernel::data::Database admin(db_->adminUrl, 1);
    auto lease = admin.acquire();
    if (admin.dialect() == kernel::data::Dialect::kPostgres) {
        // The owner is subject to forced RLS too: count as superuser.
        kernel::data::Database super(pgUrl("postgres", db_->name), 1);
        return super.acquire()->queryOne("SELECT count(*) AS n FROM " + table)->integer("n");
    }
    return lease->queryOne("SELECT count(*) AS n FROM " + table)->integer("n");
}

std::map<std::string, long long> TestServer::rowCounts() {
    std::vector<std::string> tables;
    {
        auto lease = app_->database().acquire();
        tables = kernel::tenancy::tenantTables(*lease);
    }
    tables.emplace_back("tenants");
    tables.emplace_back("platform_mail_outbox");
    tables.emplace_back("platform_events");
    tables.emplace_back("platform_jobs");
    std::map<std::string, long long> out;
    for (const auto& t : tables) {
        out[t] = countRows(t);
    }
    return out;
}

}  // namespace ardoise::test
