// The data layer on SQLite and PostgreSQL: statements, types, transactions,
// migrations with checksums, and TenantDb scoping.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "kernel/data/database.hpp"
#include "kernel/data/migrations.hpp"
#include "kernel/tenancy/tenant_db.hpp"
#include "support/test_env.hpp"

using namespace ardoise::kernel::data;
using ardoise::kernel::tenancy::TenantDb;
using ardoise::test::TestDatabase;

namespace {

void writeFile(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("Values of every type round-trip through a reused prepared statement", "[data]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestDatabase tdb(backend);
    Database db(tdb.adminUrl, 2);
    auto c = db.acquire();
    c->execScript("CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT)");
    c->exec("INSERT INTO t (k, i, d, s) VALUES (?, ?, ?, ?)", {std::string("a"), std::int64_t{9007199254740993}, 2.5, std::string("Kouamé")});
    c->exec("INSERT INTO t (k, i, d, s) VALUES (?, ?, ?, ?)", {std::string("b"), null(), null(), null()});
    for (int round = 0; round < 3; ++round) {  // the cached statement is reused
        auto a = c->queryOne("SELECT k, i, d, s FROM t WHERE k = ?", {std::string("a")});
        REQUIRE(a);
        CHECK(a->integer("i") == 9007199254740993);
        CHECK(std::get<double>(a->at("d")) == 2.5);
        CHECK(a->text("s") == "Kouamé");
        auto b = c->queryOne("SELECT k, i, d, s FROM t WHERE k = ?", {std::string("b")});
        REQUIRE(b);
        CHECK(b->isNull("i"));
        CHECK(b->isNull("s"));
    }
    CHECK(c->queryOne("SELECT count(*) AS n FROM t")->integer("n") == 2);
    CHECK_FALSE(c->queryOne("SELECT k FROM t WHERE k = ?", {std::string("zz")}));
    CHECK(c->exec("UPDATE t SET s = ? WHERE k <> ?", {std::string("x"), std::string("none")}) == 2);
}

TEST_CASE("A transaction that is not committed leaves nothing behind", "[data]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestDatabase tdb(backend);
    Database db(tdb.adminUrl, 2);
    auto c = db.acquire();
    c->execScript("CREATE TABLE t (k TEXT PRIMARY KEY)");
    {
        Transaction tx(*c);
        c->exec("INSERT INTO t (k) VALUES (?)", {std::string("a")});
    }
    CHECK(c->queryOne("SELECT count(*) AS n FROM t")->integer("n") == 0);
    {
        Transaction tx(*c);
        c->exec("INSERT INTO t (k) VALUES (?)", {std::string("a")});
        tx.commit();
    }
    CHECK(c->queryOne("SELECT count(*) AS n FROM t")->integer("n") == 1);
    try {
        c->exec("INSERT INTO t (k) VALUES (?)", {std::string("a")});
        FAIL("duplicate accepted");
    } catch (const DbError& e) {
        CHECK(e.kind() == DbError::Kind::kUniqueViolation);
    }
}

TEST_CASE("A pool hands out at most its size and times out clearly", "[data]") {
    TestDatabase tdb("sqlite");
    Database db(tdb.url, 2);
    auto a = db.acquire();
    auto b = db.acquire();
    CHECK(db.stats().inUse == 2);
    CHECK_THROWS_AS(db.acquire(std::chrono::milliseconds(50)), DbError);
    CHECK(db.stats().timeouts == 1);
}

TEST_CASE("SQLite: a connection can stop waiting for locks and wait again", "[data]") {
    TestDatabase tdb("sqlite");
    Database db(tdb.url, 2);
    auto a = db.acquire();
    auto b = db.acquire();
    a->execScript("CREATE TABLE t (k INTEGER PRIMARY KEY)");
    auto tx = std::make_unique<Transaction>(*a);  // holds the write lock
    a->exec("INSERT INTO t (k) VALUES (1)");
    b->waitForLocks(false);
    CHECK_THROWS_AS(b->exec("INSERT INTO t (k) VALUES (2)"), DbError);
    b->waitForLocks(true);
    std::thread release([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        tx->commit();
    });
    b->exec("INSERT INTO t (k) VALUES (2)");  // waits for the commit
    release.join();
    CHECK(b->queryOne("SELECT count(*) AS n FROM t")->integer("n") == 2);
}

TEST_CASE("SQLite: the write-ahead log reaches the database file with no connection closed", "[data]") {
    TestDatabase tdb("sqlite");
    const std::string file = tdb.url.substr(tdb.url.find(':') + 1);
    Database db(tdb.url, 2);
    auto c = db.acquire();
    c->execScript("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    const auto before = std::filesystem::file_size(file);
    // Past SQLite's 1,000-page mark: commits go to the WAL, the file grows
    // only when a checkpoint copies them in.
    for (int i = 0; i < 1500; ++i) {
        c->exec("INSERT INTO t (k, v) VALUES (?, ?)", {std::int64_t{i}, std::string(3000, 'x')});
    }
    // A checkpoint at the mark copies hundreds of distinct pages at once (the
    // rows take about one page each; every commit also rewrites a few shared
    // pages); without one the file does not grow at all.
    constexpr std::uintmax_t kCopied = 200 * 4096;
    auto grown = std::filesystem::file_size(file);
    for (int i = 0; i < 100 && grown <= before + kCopied; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        grown = std::filesystem::file_size(file);
    }
    CHECK(grown > before + kCopied);
}

TEST_CASE("Migrations apply once, in order, and an edited migration is refused", "[data][migrations]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestDatabase tdb(backend);
    Database db(tdb.adminUrl, 1);
    const std::string dir = tdb.dir + "/migrations";
    writeFile(dir + "/0001_first.sql", "CREATE TABLE demo_a (id TEXT PRIMARY KEY);");
    writeFile(dir + "/0002_second.sql", "CREATE TABLE demo_b (id TEXT PRIMARY KEY);");
    std::vector<MigrationSource> sources = {{"demo", dir}};
    auto first = migrate(db, sources);
    REQUIRE(first);
    CHECK(first->applied == 2);
    auto again = migrate(db, sources);
    REQUIRE(again);
    CHECK(again->applied == 0);
    CHECK(checkMigrations(db, sources)->pending == 0);

    writeFile(dir + "/0003_third.sql", "CREATE TABLE demo_c (id TEXT PRIMARY KEY);");
    CHECK(checkMigrations(db, sources)->pending == 1);

    writeFile(dir + "/0001_first.sql", "CREATE TABLE demo_a (id TEXT PRIMARY KEY, extra TEXT);");
    auto edited = migrate(db, sources);
    REQUIRE_FALSE(edited);
    CHECK(edited.status().type() == "migration-changed");
    CHECK(edited.status().message().find("0001_first.sql") != std::string::npos);
    CHECK(checkMigrations(db, sources).status().type() == "migration-changed");
}

TEST_CASE("A failing migration is rolled back and reported with its file name", "[data][migrations]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestDatabase tdb(backend);
    Database db(tdb.adminUrl, 1);
    const std::string dir = tdb.dir + "/migrations";
    writeFile(dir + "/0001_broken.sql", "CREATE TABLE ok_table (id TEXT PRIMARY KEY); CREATE TABLE oops (;");
    auto r = migrate(db, {{"demo", dir}});
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("0001_broken.sql") != std::string::npos);
    auto c = db.acquire();
    auto tables = c->query(backend == "sqlite" ? "SELECT name FROM sqlite_master WHERE name = 'ok_table'"
                                               : "SELECT tablename FROM pg_tables WHERE tablename = 'ok_table'");
    CHECK(tables.empty());
}

TEST_CASE("Badly named migration files are refused", "[data][migrations]") {
    TestDatabase tdb("sqlite");
    Database db(tdb.url, 1);
    const std::string dir = tdb.dir + "/migrations";
    writeFile(dir + "/1_first.sql", "SELECT 1;");
    auto r = migrate(db, {{"demo", dir}});
    REQUIRE_FALSE(r);
    CHECK(r.status().type() == "migration-name");
}

TEST_CASE("TenantDb refuses a statement that does not name its tenant", "[data][tenancy]") {
    TestDatabase tdb("sqlite");
    Database db(tdb.url, 2);
    db.acquire()->execScript("CREATE TABLE x (tenant_id TEXT, v TEXT)");
    TenantDb t(db, "tenant-a");
    CHECK_THROWS_AS(t.query("SELECT * FROM x"), std::logic_error);
    CHECK_THROWS_AS(t.query("SELECT * FROM x WHERE tenant_id = @tenant AND v = ?"), std::logic_error);
    t.exec("INSERT INTO x (tenant_id, v) VALUES (@tenant, ?)", {std::string("one")});
    TenantDb other(db, "tenant-b");
    CHECK(other.query("SELECT v FROM x WHERE tenant_id = @tenant").empty());
    CHECK(t.query("SELECT v FROM x WHERE tenant_id = @tenant").size() == 1);
}
