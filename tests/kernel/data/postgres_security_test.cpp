// PostgreSQL pitfalls the design closes, each reproduced against a real server.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "kernel/data/database.hpp"
#include "kernel/data/migrations.hpp"
#include "kernel/tenancy/tenant_db.hpp"
#include "support/test_env.hpp"

using namespace ardoise::kernel::data;
using ardoise::test::TestServer;

namespace {

bool havePostgres() {
    auto b = ardoise::test::backends();
    return std::find(b.begin(), b.end(), "postgresql") != b.end();
}

std::string superUrl(const TestServer& s) {
    std::string base = std::getenv("ARDOISE_TEST_PG_URL");
    return base.substr(0, base.rfind('/') + 1) + const_cast<TestServer&>(s).db().name;
}

}  // namespace

TEST_CASE("On PostgreSQL, row-level security hides every row from a query without the tenant setting",
          "[postgres][isolation]") {
    if (!havePostgres()) {
        WARN("no PostgreSQL server configured (ARDOISE_TEST_PG_URL)");
        return;
    }
    TestServer s("postgresql");
    const std::string a = s.createTenant("ecole-a");
    s.createTenant("ecole-b");
    Database app(s.db().url, 1);
    auto c = app.acquire();
    CHECK(c->queryOne("SELECT count(*) AS n FROM users")->integer("n") == 0);
    CHECK(c->queryOne("SELECT count(*) AS n FROM audit_log")->integer("n") == 0);
    c->setTenantSetting(a);
    CHECK(c->queryOne("SELECT count(*) AS n FROM users")->integer("n") == 1);
    // A pooler's DISCARD ALL drops the setting: the connection fails closed.
    c->execScript("DISCARD ALL");
    CHECK(c->queryOne("SELECT count(*) AS n FROM users")->integer("n") == 0);
    CHECK(s.countRows("users") == 2);  // the rows exist
}

TEST_CASE("On PostgreSQL, writing a row for another tenant is refused by the policy", "[postgres][isolation]") {
    if (!havePostgres()) {
        WARN("no PostgreSQL server configured");
        return;
    }
    TestServer s("postgresql");
    const std::string a = s.createTenant("ecole-a");
    const std::string b = s.createTenant("ecole-b");
    Database app(s.db().url, 1);
    auto c = app.acquire();
    c->setTenantSetting(a);
    CHECK_THROWS_AS(c->exec("INSERT INTO audit_log (tenant_id, id, at, action, details) VALUES (?, 'x', 0, 'x', '{}')",
                            {b}),
                    DbError);
    CHECK(c->exec("UPDATE users SET name = 'pwned' WHERE tenant_id = ?", {b}) == 0);
}

TEST_CASE("On PostgreSQL, the table owner is subject to the policies (FORCE ROW LEVEL SECURITY)",
          "[postgres][isolation]") {
    if (!havePostgres()) {
        WARN("no PostgreSQL server configured");
        return;
    }
    TestServer s("postgresql");
    s.createTenant("ecole-a");
    Database owner(s.db().adminUrl, 1);
    CHECK(owner.acquire()->queryOne("SELECT count(*) AS n FROM users")->integer("n") == 0);
}

TEST_CASE("On PostgreSQL, a foreign key cannot point at another tenant's row", "[postgres][isolation]") {
    if (!havePostgres()) {
        WARN("no PostgreSQL server configured");
        return;
    }
    TestServer s("postgresql");
    const std::string a = s.createTenant("ecole-a");
    const std::string b = s.createTenant("ecole-b");
    const std::string userOfB = s.createUser("ecole-b", "x@ecole-b.test", "student");
    Database app(s.db().url, 1);
    auto c = app.acquire();
    c->setTenantSetting(a);
    // Foreign keys include tenant_id, so (a, userOfB) references nothing.
    CHECK_THROWS_AS(c->exec("INSERT INTO auth_sessions (tenant_id, id, user_id, created_at) VALUES (?, 's1', ?, 0)",
                            {a, userOfB}),
                    DbError);
}

TEST_CASE("Every foreign key of a tenant table leads with tenant_id", "[data][isolation]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    auto lease = s.app().database().acquire();
    for (const auto& table : ardoise::kernel::tenancy::tenantTables(*lease)) {
        INFO(table);
        if (backend == "sqlite") {
            for (const auto& fk : lease->query("SELECT * FROM pragma_foreign_key_list(?)", {table})) {
                if (fk.text("table") != "tenants") {
                    // Composite keys list tenant_id as their first column (seq 0).
                    if (fk.integer("seq") == 0) {
                        CHECK(fk.text("from") == "tenant_id");
                    }
                }
            }
        } else {
            for (const auto& fk : lease->query(
                     "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'f' "
                     "AND conrelid = CAST(? AS regclass)",
                     {table})) {
                CHECK(fk.text("def").rfind("FOREIGN KEY (tenant_id", 0) == 0);
            }
        }
    }
}

TEST_CASE("On PostgreSQL, a view without security_invoker is refused by migrate", "[postgres][migrations]") {
    if (!havePostgres()) {
        WARN("no PostgreSQL server configured");
        return;
    }
    TestServer s("postgresql");
    const std::string dir = s.db().dir + "/bad";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/0001_view.sql") << "CREATE VIEW all_users AS SELECT * FROM users;";
    Database owner(s.db().adminUrl, 1);
    auto r = migrate(owner, {{"bad", dir}}, "ardoise_app");
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("security_invoker") != std::string::npos);

    std::ofstream(dir + "/0001_view.sql", std::ios::trunc)
        << "CREATE VIEW all_users WITH (security_invoker = true) AS SELECT * FROM users;";
    Database owner2(s.db().adminUrl, 1);
    auto fixed = migrate(owner2, {{"bad2", dir}}, "ardoise_app");
    CHECK(fixed);
}

TEST_CASE("On PostgreSQL, the server refuses to start as a superuser or as the tables' owner", "[postgres]") {
    if (!havePostgres()) {
        WARN("no PostgreSQL server configured");
        return;
    }
    TestServer s("postgresql");
    Database super(superUrl(s), 1);
    auto asSuper = checkServerRole(super);
    CHECK(asSuper.type() == "unsafe-role");
    CHECK(asSuper.message().find("superuser") != std::string::npos);
    Database owner(s.db().adminUrl, 1);
    auto asOwner = checkServerRole(owner);
    CHECK(asOwner.type() == "unsafe-role");
    CHECK(asOwner.message().find("owns tables") != std::string::npos);
    Database app(s.db().url, 1);
    CHECK(checkServerRole(app).isOk());
}
