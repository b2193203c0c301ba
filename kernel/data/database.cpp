#include "kernel/data/database.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <sstream>
#include <thread>

namespace ardoise::kernel::data {

std::int64_t nowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// ---------------------------------------------------------------- Row

const Value& Row::at(const std::string& name) const {
    for (std::size_t i = 0; i < names_->size(); ++i) {
        if ((*names_)[i] == name) {
            return values_[i];
        }
    }
    throw std::out_of_range("no column named " + name);
}

std::string Row::text(const std::string& name) const { return optText(name).value_or(""); }

std::optional<std::string> Row::optText(const std::string& name) const {
    const Value& v = at(name);
    if (const auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return std::to_string(*i);
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return std::to_string(*d);
    }
    return std::nullopt;
}

std::int64_t Row::integer(const std::string& name) const { return optInteger(name).value_or(0); }

std::optional<std::int64_t> Row::optInteger(const std::string& name) const {
    const Value& v = at(name);
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return *i;
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return static_cast<std::int64_t>(*d);
    }
    if (const auto* s = std::get_if<std::string>(&v)) {
        // SQLite reports expressions (count(*), max(...)) as text.
        return s->empty() ? std::nullopt : std::optional<std::int64_t>(std::stoll(*s));
    }
    return std::nullopt;
}

// ---------------------------------------------------------------- errors

namespace {

DbError translate(const soci::soci_error& e, Dialect dialect) {
    std::string msg = e.what();
    if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
        const std::string state = pg->sqlstate();
        if (state == "23505") {
            return {DbError::Kind::kUniqueViolation, msg};
        }
        if (state == "23503") {
            return {DbError::Kind::kForeignKeyViolation, msg};
        }
        if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
            return {DbError::Kind::kUnavailable, msg};
        }
        return {DbError::Kind::kOther, msg};
    }
    if (msg.find("UNIQUE constraint failed") != std::string::npos ||
        msg.find("PRIMARY KEY constraint failed") != std::string::npos) {
        return {DbError::Kind::kUniqueViolation, msg};
    }
    if (msg.find("FOREIGN KEY constraint failed") != std::string::npos) {
        return {DbError::Kind::kForeignKeyViolation, msg};
    }
    if (msg.find("database is locked") != std::string::npos ||
        msg.find("Cannot establish connection") != std::string::npos ||
        msg.find("connection") != std::string::npos) {
        return {DbError::Kind::kUnavailable, msg};
    }
    (void)dialect;
    return {DbError::Kind::kOther, msg};
}

/// `?` → `:pN`, skipping quoted text.
std::string bindMarkers(const std::string& sql) {
    std::string out;
    out.reserve(sql.size() + 16);
    char quote = 0;
    int n = 0;
    for (char c : sql) {
        if (quote != 0) {
            out += c;
            if (c == quote) {
                quote = 0;
            }
        } else if (c == '\'' || c == '"') {
            quote = c;
            out += c;
        } else if (c == '?') {
            out += ":p" + std::to_string(++n);
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------- statements

namespace {
// The SQLite handle under a SOCI session. Not checked by UBSan's vptr check:
// it needs the backend's typeinfo, which SOCI's library does not export.
__attribute__((no_sanitize("vptr"))) sqlite_api::sqlite3* sqliteHandle(soci::session& session) {
    return static_cast<soci::sqlite3_session_backend*>(session.get_backend())->conn_;
}

// Retry while another connection holds the lock: 50 µs naps for the first
// ~10 ms, then 1 ms naps, giving up after about 10 s.
int busyWait(void*, int attempt) {
    constexpr int kShort = 200;
    constexpr int kLong = 10000;
    if (attempt >= kShort + kLong) {
        return 0;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(attempt < kShort ? 50 : 1000));
    return 1;
}
}  // namespace

constexpr std::size_t kMaxCachedStatements = 512;

struct CachedStatement {
    struct Slot {
        std::string text;
        long long integer = 0;
        double real = 0;
        soci::indicator ind = soci::i_ok;
    };
    explicit CachedStatement(soci::session& s, std::size_t n) : st(s), slots(n) {}
    soci::statement st;
    std::vector<Slot> slots;  // sized once: SOCI keeps pointers into it
    soci::row row;
    std::shared_ptr<const std::vector<std::string>> names;
};

Connection::Connection(Dialect dialect, const std::string& url) : dialect_(dialect) {
    try {
        if (dialect == Dialect::kSqlite) {
            session_ = std::make_unique<soci::session>(soci::sqlite3, "db=" + url);
            *session_ << "PRAGMA journal_mode=WAL";
            *session_ << "PRAGMA foreign_keys=ON";
            // SQLite's own busy handler sleeps 1, 2, 5, 10… ms: two threads of
            // this process taking turns at the write lock would spend most of
            // their time asleep. Short sleeps first, the same 10 s in all.
            waitForLocks(true);
            *session_ << "PRAGMA synchronous=NORMAL";
        } else {
            session_ = std::make_unique<soci::session>(soci::postgresql, url);
        }
    } catch (const soci::soci_error& e) {
        throw DbError(DbError::Kind::kUnavailable, std::string("cannot connect to the database: ") + e.what());
    }
}

Connection::~Connection() {
    cache_.clear();  // statements before the session they belong to
}

void Connection::dropCache() { cache_.clear(); }

void Connection::waitForLocks(bool wait) {
    if (dialect_ == Dialect::kSqlite) {
        sqlite_api::sqlite3_busy_handler(sqliteHandle(*session_), wait ? &busyWait : nullptr, nullptr);
    }
}

namespace {
char typeTag(const Value& v) {
    switch (v.index()) {
        case 0: return 'n';
        case 1: return 'i';
        case 2: return 'd';
        default: return 's';
    }
}
}  // namespace

CachedStatement& Connection::prepare(const std::string& sql, const Params& params, bool rows) {
    std::string key = sql;
    key += rows ? '\x1f' : '\x1e';
    for (const auto& p : params) {
        key += typeTag(p);
    }
    auto it = cache_.find(key);
    if (it == cache_.end()) {
        if (cache_.size() >= kMaxCachedStatements) {
            cache_.clear();  // SQL built at run time (IN lists) must not grow it forever
        }
        auto cs = std::make_unique<CachedStatement>(*session_, params.size());
        for (std::size_t i = 0; i < params.size(); ++i) {
            auto& slot = cs->slots[i];
            switch (params[i].index()) {
                case 1: cs->st.exchange(soci::use(slot.integer, slot.ind)); break;
                case 2: cs->st.exchange(soci::use(slot.real, slot.ind)); break;
                default: cs->st.exchange(soci::use(slot.text, slot.ind)); break;  // text or NULL
            }
        }
        if (rows) {
            cs->st.exchange(soci::into(cs->row));
        }
        cs->st.alloc();
        cs->st.prepare(bindMarkers(sql), soci::details::st_repeatable_query);
        cs->st.define_and_bind();
        it = cache_.emplace(std::move(key), std::move(cs)).first;
    }
    auto& cs = *it->second;
    for (std::size_t i = 0; i < params.size(); ++i) {
        auto& slot = cs.slots[i];
        slot.ind = soci::i_ok;
        switch (params[i].index()) {
            case 0: slot.ind = soci::i_null; slot.text.clear(); break;
            case 1: slot.integer = std::get<std::int64_t>(params[i]); break;
            case 2: slot.real = std::get<double>(params[i]); break;
            default: slot.text = std::get<std::string>(params[i]); break;
        }
    }
    return cs;
}

namespace {
Value readColumn(const soci::row& row, std::size_t i) {
    if (row.get_indicator(i) == soci::i_null) {
        return std::monostate{};
    }
    switch (row.get_properties(i).get_data_type()) {
        case soci::dt_integer: return static_cast<std::int64_t>(row.get<int>(i));
        case soci::dt_long_long: return static_cast<std::int64_t>(row.get<long long>(i));
        case soci::dt_unsigned_long_long: return static_cast<std::int64_t>(row.get<unsigned long long>(i));
        case soci::dt_double: return row.get<double>(i);
        case soci::dt_date: {
            std::tm t = row.get<std::tm>(i);
            char buf[32];
            std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
            return std::string(buf);
        }
        default: return row.get<std::string>(i);
    }
}
}  // namespace

std::vector<Row> Connection::query(const std::string& sql, const Params& params) {
    try {
        return runQuery(sql, params);
    } catch (const DbError& e) {
        if (!statementsLost_) {
            throw;
        }
        // Something (a pooler's DISCARD ALL) dropped our prepared statements and
        // session settings: forget both and run once more. The tenant setting is
        // gone too, so row-level security now hides every row: fail closed.
        statementsLost_ = false;
        tenantSetting_.clear();
        return runQuery(sql, params);
    }
}

std::vector<Row> Connection::runQuery(const std::string& sql, const Params& params) {
    std::vector<Row> rows;
    try {
        auto& cs = prepare(sql, params);
        bool got = cs.st.execute(true);
        while (got) {
            if (!cs.names) {
                auto names = std::make_shared<std::vector<std::string>>();
                for (std::size_t i = 0; i < cs.row.size(); ++i) {
                    std::string n = cs.row.get_properties(i).get_name();
                    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
                    names->push_back(std::move(n));
                }
                cs.names = std::move(names);
            }
            std::vector<Value> values;
            values.reserve(cs.row.size());
            for (std::size_t i = 0; i < cs.row.size(); ++i) {
                values.push_back(readColumn(cs.row, i));
            }
            rows.emplace_back(cs.names, std::move(values));
            got = cs.st.fetch();
        }
    } catch (const soci::soci_error& e) {
        dropCache();
        const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e);
        statementsLost_ = pg != nullptr && pg->sqlstate() == "26000";
        auto err = translate(e, dialect_);
        broken_ = broken_ || err.kind() == DbError::Kind::kUnavailable;
        throw err;
    }
    return rows;
}

std::optional<Row> Connection::queryOne(const std::string& sql, const Params& params) {
    auto rows = query(sql, params);
    if (rows.empty()) {
        return std::nullopt;
    }
    return std::move(rows.front());
}

std::int64_t Connection::exec(const std::string& sql, const Params& params) {
    try {
        if (dialect_ == Dialect::kSqlite) {
            // Parsing and planning cost SQLite more than a small write does.
            auto& cs = prepare(sql, params, false);
            cs.st.execute(true);
            return cs.st.get_affected_rows();
        }
        // PostgreSQL: one round trip either way; unnamed statements survive poolers.
        soci::statement st(*session_);
        std::vector<CachedStatement::Slot> slots(params.size());
        for (std::size_t i = 0; i < params.size(); ++i) {
            auto& slot = slots[i];
            switch (params[i].index()) {
                case 0: slot.ind = soci::i_null; st.exchange(soci::use(slot.text, slot.ind)); break;
                case 1: slot.integer = std::get<std::int64_t>(params[i]); st.exchange(soci::use(slot.integer, slot.ind)); break;
                case 2: slot.real = std::get<double>(params[i]); st.exchange(soci::use(slot.real, slot.ind)); break;
                default: slot.text = std::get<std::string>(params[i]); st.exchange(soci::use(slot.text, slot.ind)); break;
            }
        }
        st.alloc();
        st.prepare(bindMarkers(sql));
        st.define_and_bind();
        st.execute(true);
        return st.get_affected_rows();
    } catch (const soci::soci_error& e) {
        dropCache();
        auto err = translate(e, dialect_);
        broken_ = broken_ || err.kind() == DbError::Kind::kUnavailable;
        throw err;
    }
}

void Connection::execScript(const std::string& sql) {
    try {
        if (dialect_ == Dialect::kPostgres) {
            *session_ << sql;  // the simple query protocol accepts several statements
            return;
        }
        // SQLite prepares one statement at a time: split on ';' at top level.
        std::string current;
        char quote = 0;
        bool lineComment = false;
        for (std::size_t i = 0; i < sql.size(); ++i) {
            char c = sql[i];
            if (lineComment) {
                if (c == '\n') {
                    lineComment = false;
                }
                continue;
            }
            if (quote == 0 && c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
                lineComment = true;
                continue;
            }
            if (quote != 0) {
                quote = (c == quote) ? 0 : quote;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == ';') {
                if (current.find_first_not_of(" \t\r\n") != std::string::npos) {
                    *session_ << current;
                }
                current.clear();
                continue;
            }
            current += c;
        }
        if (current.find_first_not_of(" \t\r\n") != std::string::npos) {
            *session_ << current;
        }
    } catch (const soci::soci_error& e) {
        throw translate(e, dialect_);
    }
}

void Connection::setTenantSetting(const std::string& tenantId) {
    if (dialect_ != Dialect::kPostgres || tenantSetting_ == tenantId) {
        return;
    }
    query("SELECT set_config('ardoise.tenant_id', ?, false)", {tenantId});
    tenantSetting_ = tenantId;
}

// ---------------------------------------------------------------- transactions

Transaction::Transaction(Connection& conn, bool write) : conn_(conn) {
    conn.exec(conn.dialect() == Dialect::kSqlite && write ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
    if (!done_) {
        try {
            conn_.exec("ROLLBACK");
        } catch (...) {
            conn_.markBroken();  // the pool will drop this connection
        }
    }
}

void Transaction::commit() {
    conn_.exec("COMMIT");
    done_ = true;
}

// ---------------------------------------------------------------- pool

Lease::~Lease() {
    if (conn_ && db_ != nullptr) {
        db_->release(std::move(conn_));
    }
}

namespace {
bool startsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string percentDecode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string conninfoValue(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\\' || c == '\'') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

/// postgresql://user:pass@host:port/db?k=v → libpq keyword/value form (SOCI
/// splits its connection string on spaces and '=', which URIs do not survive).
std::string pgConninfo(const std::string& url) {
    std::string rest = url.substr(url.find("://") + 3);
    std::string query;
    if (auto q = rest.find('?'); q != std::string::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string info;
    auto add = [&info](const std::string& k, const std::string& v) {
        if (!v.empty()) {
            info += (info.empty() ? "" : " ") + k + "=" + conninfoValue(percentDecode(v));
        }
    };
    if (auto at = rest.rfind('@'); at != std::string::npos) {
        std::string cred = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = cred.find(':');
        add("user", cred.substr(0, colon));
        if (colon != std::string::npos) {
            add("password", cred.substr(colon + 1));
        }
    }
    std::string hostport = rest.substr(0, rest.find('/'));
    if (auto slash = rest.find('/'); slash != std::string::npos) {
        add("dbname", rest.substr(slash + 1));
    }
    auto colon = hostport.rfind(':');
    add("host", hostport.substr(0, colon));
    if (colon != std::string::npos) {
        add("port", hostport.substr(colon + 1));
    }
    std::stringstream qs(query);
    for (std::string kv; std::getline(qs, kv, '&');) {
        auto eq = kv.find('=');
        if (eq != std::string::npos) {
            add(kv.substr(0, eq), kv.substr(eq + 1));
        }
    }
    return info;
}
}  // namespace

namespace {
/// Each pooled connection is used by one thread at a time, so SQLite's
/// per-connection mutexes and its global memory statistics (a process-wide
/// lock taken on every allocation) only add contention. Must run before the
/// first connection opens; later calls are refused by SQLite and ignored.
void configureSqliteOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        sqlite_api::sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
        sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    });
}
}  // namespace

// SQLite copies its write-ahead log back into the database file (a checkpoint,
// ending with an fsync) every 1,000 pages by default, on the thread whose
// commit crossed the mark: a request or the event dispatcher. Here that work
// runs on a thread of its own; commits only ask for it.
class Checkpointer {
public:
    explicit Checkpointer(std::string path) : path_(std::move(path)) {}
    ~Checkpointer() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    static int walHook(void* self, sqlite_api::sqlite3*, const char*, int frames) {
        if (frames >= kFrames) {
            static_cast<Checkpointer*>(self)->request();
        }
        return SQLITE_OK;
    }

private:
    static constexpr int kFrames = 1000;  // SQLite's default threshold
    static constexpr auto kPause = std::chrono::milliseconds(20);

    void request() {
        std::lock_guard lock(mutex_);
        if (pending_ || stop_) {
            return;
        }
        pending_ = true;
        if (!thread_.joinable()) {
            thread_ = std::thread([this] { run(); });
        }
        wake_.notify_one();
    }

    void run() {
        std::unique_ptr<Connection> conn;
        std::unique_lock lock(mutex_);
        while (true) {
            wake_.wait(lock, [&] { return stop_ || pending_; });
            if (stop_) {
                return;
            }
            lock.unlock();
            try {
                if (!conn) {
                    conn = std::make_unique<Connection>(Dialect::kSqlite, path_);
                }
                conn->query("PRAGMA wal_checkpoint(PASSIVE)");  // never blocks writers
            } catch (const std::exception&) {
                conn.reset();  // the next commit past the mark asks again
            }
            std::this_thread::sleep_for(kPause);  // requests meanwhile are folded into the next one
            lock.lock();
            pending_ = false;
        }
    }

    std::string path_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool pending_ = false;
    bool stop_ = false;
    std::thread thread_;
};

std::unique_ptr<Connection> Database::connect() {
    auto conn = std::make_unique<Connection>(dialect_, connectString_);
    if (checkpointer_) {
        sqlite_api::sqlite3_wal_hook(sqliteHandle(*conn->session_), &Checkpointer::walHook, checkpointer_.get());
    }
    return conn;
}

Database::Database(const std::string& url, std::size_t poolSize) : url_(url), poolSize_(std::max<std::size_t>(1, poolSize)) {
    if (startsWith(url, "postgresql://") || startsWith(url, "postgres://") || url.find("dbname=") != std::string::npos) {
        dialect_ = Dialect::kPostgres;
        connectString_ = url.find("://") != std::string::npos ? pgConninfo(url) : url;
    } else {
        dialect_ = Dialect::kSqlite;
        configureSqliteOnce();
        if (startsWith(url, "sqlite3:")) {
            connectString_ = url.substr(8);
        } else if (startsWith(url, "sqlite:")) {
            connectString_ = url.substr(7);
        } else {
            connectString_ = url;
        }
        if (startsWith(connectString_, "//")) {
            connectString_ = connectString_.substr(2);
        }
    }
    if (dialect_ == Dialect::kSqlite && connectString_ != ":memory:") {
        checkpointer_ = std::make_unique<Checkpointer>(connectString_);
    }
    // Connect once now so a wrong URL fails at start-up, not on first request.
    free_.push_back(connect());
    created_ = 1;
    stats_.size = poolSize_;
}

Database::~Database() {
    free_.clear();  // before the checkpointer their hooks point to
}

Lease Database::acquire(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (free_.empty() && created_ >= poolSize_) {
        ++stats_.waits;
        if (!available_.wait_for(lock, timeout, [&] { return !free_.empty() || created_ < poolSize_; })) {
            ++stats_.timeouts;
            throw DbError(DbError::Kind::kUnavailable, "no database connection became free in time");
        }
    }
    if (!free_.empty()) {
        auto conn = std::move(free_.back());
        free_.pop_back();
        ++stats_.inUse;
        return Lease(this, std::move(conn));
    }
    ++created_;
    ++stats_.inUse;
    lock.unlock();
    try {
        return Lease(this, connect());
    } catch (...) {
        std::lock_guard relock(mutex_);
        --created_;
        --stats_.inUse;
        available_.notify_one();
        throw;
    }
}

void Database::release(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mutex_);
    --stats_.inUse;
    if (conn->broken_) {
        --created_;  // dropped; a fresh one is made on demand
    } else {
        free_.push_back(std::move(conn));
    }
    available_.notify_one();
}

PoolStats Database::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace ardoise::kernel::data
