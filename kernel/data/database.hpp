#pragma once
// Connection pool and statements over SOCI, for SQLite and PostgreSQL.
//
// SQL given to Connection uses `?` placeholders; values are bound by
// position with their own type. Statements are prepared once per pooled
// connection and reused (re-preparing on every request costs two thirds of
// the throughput). Errors from SOCI leave as DbError.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace soci {
class session;
}

namespace ardoise::kernel::data {

enum class Dialect { kSqlite, kPostgres };

/// A SQL value: NULL, integer, real or text.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;
using Params = std::vector<Value>;

inline Value null() { return std::monostate{}; }
inline Value optionalText(const std::optional<std::string>& s) { return s ? Value(*s) : null(); }

/// One result row; columns by position or by (lower-case) name.
class Row {
public:
    Row(std::shared_ptr<const std::vector<std::string>> names, std::vector<Value> values)
        : names_(std::move(names)), values_(std::move(values)) {}

    std::size_t size() const { return values_.size(); }
    const Value& at(std::size_t i) const { return values_.at(i); }
    const Value& at(const std::string& name) const;
    bool isNull(const std::string& name) const { return std::holds_alternative<std::monostate>(at(name)); }
    std::string text(const std::string& name) const;  ///< "" for NULL
    std::optional<std::string> optText(const std::string& name) const;
    std::int64_t integer(const std::string& name) const;  ///< 0 for NULL
    std::optional<std::int64_t> optInteger(const std::string& name) const;
    const std::vector<std::string>& names() const { return *names_; }

private:
    std::shared_ptr<const std::vector<std::string>> names_;
    std::vector<Value> values_;
};

/// A database failure (connection lost, constraint violated, bad SQL).
class DbError : public std::runtime_error {
public:
    enum class Kind { kUnavailable, kUniqueViolation, kForeignKeyViolation, kOther };
    DbError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

struct CachedStatement;

/// One pooled database session. Not thread-safe: leased to one thread at a time.
class Connection {
public:
    Connection(Dialect dialect, const std::string& url);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Dialect dialect() const { return dialect_; }
    std::vector<Row> query(const std::string& sql, const Params& params = {});
    std::optional<Row> queryOne(const std::string& sql, const Params& params = {});
    /// Runs a statement; returns affected rows.
    std::int64_t exec(const std::string& sql, const Params& params = {});
    /// Runs SQL text that may hold several statements, without parameters.
    void execScript(const std::string& sql);

    /// Sets `ardoise.tenant_id` on PostgreSQL when it differs from the current
    /// value ("" clears it). A no-op on SQLite.
    void setTenantSetting(const std::string& tenantId);

    /// SQLite: whether a statement that meets another connection's lock waits
    /// for it (the default, up to about 10 s) or fails at once. PostgreSQL: no-op.
    void waitForLocks(bool wait);

    /// Marks the session unusable; the pool drops it when it comes back.
    void markBroken() { broken_ = true; }

private:
    CachedStatement& prepare(const std::string& sql, const Params& params, bool rows = true);
    std::vector<Row> runQuery(const std::string& sql, const Params& params);
    void dropCache();

    Dialect dialect_;
    std::unique_ptr<soci::session> session_;
    std::map<std::string, std::unique_ptr<CachedStatement>> cache_;
    std::string tenantSetting_;
    bool broken_ = false;
    bool statementsLost_ = false;
    friend class Database;
};

class Database;
class Checkpointer;

/// A connection borrowed from the pool; returned on destruction.
class Lease {
public:
    Lease(Database* db, std::unique_ptr<Connection> conn) : db_(db), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

private:
    Database* db_;
    std::unique_ptr<Connection> conn_;
};

/// RAII transaction; rolls back unless commit() was called.
class Transaction {
public:
    /// `write` takes SQLite's write lock up front (BEGIN IMMEDIATE) so two
    /// writers never deadlock upgrading a read lock.
    explicit Transaction(Connection& conn, bool write = true);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Connection& conn_;
    bool done_ = false;
};

struct PoolStats {
    std::size_t size = 0;
    std::size_t inUse = 0;
    std::uint64_t waits = 0;     ///< leases that had to wait for a free connection
    std::uint64_t timeouts = 0;  ///< leases that gave up
};

/// A fixed-size pool of connections to one database URL.
///
/// URLs: `sqlite:PATH` (or `sqlite3:PATH`, a plain path ending in .db) and
/// `postgresql://user:pass@host:port/db` (any libpq connection string).
class Database {
public:
    Database(const std::string& url, std::size_t poolSize);
    ~Database();

    Dialect dialect() const { return dialect_; }
    const std::string& url() const { return url_; }
    /// Waits up to `timeout` for a free connection; DbError(kUnavailable) after.
    Lease acquire(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
    PoolStats stats() const;

private:
    friend class Lease;
    void release(std::unique_ptr<Connection> conn);
    std::unique_ptr<Connection> connect();

    std::unique_ptr<Checkpointer> checkpointer_;  // SQLite files only
    std::string url_;
    Dialect dialect_;
    std::string connectString_;
    std::size_t poolSize_;
    std::size_t created_ = 0;
    std::vector<std::unique_ptr<Connection>> free_;
    mutable std::mutex mutex_;
    std::condition_variable available_;
    PoolStats stats_;
};

/// Current Unix time in seconds.
std::int64_t nowSeconds();

}  // namespace ardoise::kernel::data
