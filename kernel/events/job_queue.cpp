#include "kernel/events/job_queue.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <regex>

#include "kernel/data/ids.hpp"

namespace ardoise::kernel::events {
namespace {

using nlohmann::json;

void logLine(const std::string& level, const std::string& message, const json& extra = json::object()) {
    json line = {{"level", level}, {"msg", message}};
    line.update(extra);
    std::clog << line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

json parsedOrNull(const data::Row& r, const std::string& column) {
    if (r.isNull(column)) {
        return nullptr;
    }
    return json::parse(r.text(column), nullptr, false);
}

json toApi(const data::Row& r) {
    return {{"id", r.text("id")},
            {"name", r.text("name")},
            {"status", r.text("status")},
            {"attempts", r.integer("attempts")},
            {"max_attempts", r.integer("max_attempts")},
            {"cancel_requested", r.integer("cancel_requested") != 0},
            {"progress", parsedOrNull(r, "progress")},
            {"result", parsedOrNull(r, "result")},
            {"error", r.isNull("last_error") ? json(nullptr) : json(r.text("last_error"))},
            {"run_at", r.integer("run_at")},
            {"created_at", r.integer("created_at")},
            {"started_at", r.isNull("started_at") ? json(nullptr) : json(r.integer("started_at"))},
            {"finished_at", r.isNull("finished_at") ? json(nullptr) : json(r.integer("finished_at"))}};
}

const char* kColumns =
    "id, seq, tenant_id, name, payload, status, attempts, max_attempts, serial_key, run_at, cancel_requested, "
    "progress, result, last_error, created_at, started_at, finished_at";

class Control : public JobControl {
public:
    Control(data::Database& db, std::string id, std::int64_t leaseSeconds)
        : db_(db), id_(std::move(id)), leaseSeconds_(leaseSeconds) {}

    void progress(const json& progress) override {
        const auto now = std::chrono::steady_clock::now();
        if (now - lastWrite_ < std::chrono::milliseconds(250)) {
            pending_ = progress;
            return;
        }
        lastWrite_ = now;
        pending_ = nullptr;
        write(progress);
    }

    bool cancelRequested() override {
        const auto now = std::chrono::steady_clock::now();
        if (!cancelled_ && now - lastRead_ >= std::chrono::milliseconds(250)) {
            lastRead_ = now;
            try {
                auto lease = db_.acquire();
                auto row = lease->queryOne("SELECT cancel_requested FROM platform_jobs WHERE id = ?", {id_});
                cancelled_ = row && row->integer("cancel_requested") != 0;
            } catch (const data::DbError&) {
                // unknown: keep running
            }
        }
        return cancelled_;
    }

    /// The last throttled report, written when the job ends.
    void flush() {
        if (!pending_.is_null()) {
            write(pending_);
        }
    }

private:
    void write(const json& progress) {
        try {
            auto lease = db_.acquire();
            // On SQLite a job writing in its own transaction holds the only
            // write lock: waiting for it (busy_timeout, 10 s) would stall the
            // job at every report. Try without waiting; the report stays
            // pending and is written at the next report or when the job ends.
            const bool sqlite = lease->dialect() == data::Dialect::kSqlite;
            lease->waitForLocks(false);
            try {
                lease->exec("UPDATE platform_jobs SET progress = ?, locked_until = ? WHERE id = ? AND status = 'running'",
                            {progress.dump(), data::nowSeconds() + leaseSeconds_, id_});
            } catch (const data::DbError&) {
                lease->waitForLocks(true);
                if (sqlite) {
                    pending_ = progress;
                    return;
                }
                throw;
            }
            lease->waitForLocks(true);
        } catch (const data::DbError& e) {
            logLine("warn", "job progress not saved", {{"job", id_}, {"error", e.what()}});
        }
    }

    data::Database& db_;
    std::string id_;
    std::int64_t leaseSeconds_;
    json pending_;
    bool cancelled_ = false;
    std::chrono::steady_clock::time_point lastWrite_{};
    std::chrono::steady_clock::time_point lastRead_{};
};

}  // namespace

std::int64_t nextSequence() {
    static std::atomic<std::int64_t> last{0};
    const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    std::int64_t prev = last.load();
    std::int64_t next = 0;
    do {
        next = std::max(now, prev + 1);
    } while (!last.compare_exchange_weak(prev, next));
    return next;
}

struct JobQueue::Claimed {
    Job job;
    std::int64_t attempts = 0;
};

JobQueue::JobQueue(data::Database& db, http::Metrics& metrics, JobQueueOptions options)
    : db_(db), metrics_(metrics), options_(options) {}

void JobQueue::registerHandler(const std::string& name, JobFunction handler) {
    handlers_[name] = std::move(handler);
}

Result<std::string> JobQueue::enqueue(data::Connection& conn, const std::string& tenantId, const std::string& name,
                                      const json& payload, const JobOptions& options) {
    if (!hasHandler(name)) {
        return Status(Code::kInvalidArgument, "unknown-job", "No job named '" + name + "' is registered.");
    }
    if (options.maxAttempts < 1 || options.maxAttempts > 20 || options.delaySeconds < 0 ||
        options.delaySeconds > 366 * 86400) {
        return Status(Code::kInvalidArgument, "invalid-job-options",
                      "maxAttempts must be 1–20 and delaySeconds 0 to a year.");
    }
    if (!options.uniqueKey.empty()) {
        if (auto row = conn.queryOne("SELECT id FROM platform_jobs WHERE tenant_id = ? AND unique_key = ? AND "
                                     "status IN ('pending', 'running')",
                                     {tenantId, options.uniqueKey})) {
            return row->text("id");
        }
    }
    const auto now = data::nowSeconds();
    const std::string id = data::newId();
    conn.exec("INSERT INTO platform_jobs (id, seq, tenant_id, name, payload, status, attempts, max_attempts, "
              "unique_key, serial_key, run_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)",
              {id, nextSequence(), tenantId, name, payload.dump(), std::int64_t{options.maxAttempts},
               options.uniqueKey.empty() ? data::null() : data::Value(options.uniqueKey),
               options.serialKey.empty() ? data::null() : data::Value(options.serialKey),
               now + options.delaySeconds, now});
    return id;
}

void JobQueue::requeueExpired() {
    auto lease = db_.acquire();
    const auto n = lease->exec(
        "UPDATE platform_jobs SET status = 'pending', locked_until = NULL WHERE status = 'running' AND locked_until < ?",
        {data::nowSeconds()});
    if (n > 0) {
        logLine("warn", "jobs requeued after their lease expired", {{"count", n}});
    }
}

bool JobQueue::claim(Claimed& out) {
    auto lease = db_.acquire();
    const bool pg = lease->dialect() == data::Dialect::kPostgres;
    data::Transaction tx(*lease);
    const auto now = data::nowSeconds();
    auto row = lease->queryOne(
        std::string("SELECT ") + kColumns +
            " FROM platform_jobs j WHERE status = 'pending' AND run_at <= ? AND (serial_key IS NULL OR NOT EXISTS "
            "(SELECT 1 FROM platform_jobs r WHERE r.status = 'running' AND r.tenant_id = j.tenant_id AND "
            "r.serial_key = j.serial_key)) ORDER BY run_at, seq LIMIT 1" +
            (pg ? " FOR UPDATE SKIP LOCKED" : ""),
        {now});
    if (!row) {
        return false;
    }
    if (pg && !row->isNull("serial_key")) {
        // Two nodes may pick two jobs of one serial key at once: serialize on
        // the key, then look again at what is running.
        lease->queryOne("SELECT 1 AS x FROM (SELECT pg_advisory_xact_lock(hashtext(?))) l",
                        {row->text("tenant_id") + "/" + row->text("serial_key")});
        if (lease->queryOne("SELECT 1 AS x FROM platform_jobs WHERE status = 'running' AND tenant_id = ? AND serial_key = ?",
                            {row->text("tenant_id"), row->text("serial_key")})) {
            return false;
        }
    }
    const auto attempts = row->integer("attempts") + 1;
    lease->exec("UPDATE platform_jobs SET status = 'running', attempts = ?, locked_until = ?, "
                "started_at = COALESCE(started_at, ?) WHERE id = ?",
                {attempts, now + options_.leaseSeconds, now, row->text("id")});
    tx.commit();
    out.job.id = row->text("id");
    out.job.name = row->text("name");
    out.job.tenantId = row->text("tenant_id");
    out.job.payload = json::parse(row->text("payload"), nullptr, false);
    out.job.attempt = static_cast<int>(attempts);
    out.job.maxAttempts = static_cast<int>(row->integer("max_attempts"));
    out.attempts = attempts;
    return true;
}

void JobQueue::finish(const Claimed& c, const Result<json>& outcome) {
    auto lease = db_.acquire();
    const auto now = data::nowSeconds();
    auto row = lease->queryOne("SELECT cancel_requested FROM platform_jobs WHERE id = ?", {c.job.id});
    const bool cancelRequested = row && row->integer("cancel_requested") != 0;
    std::string status;
    std::int64_t runAt = now;
    if (outcome) {
        status = "succeeded";
    } else if (cancelRequested) {
        status = "canceled";
    } else if (c.attempts < c.job.maxAttempts) {
        status = "pending";
        const std::int64_t backoff = options_.retryBaseSeconds << std::min<std::int64_t>(c.attempts - 1, 20);
        runAt = now + std::min<std::int64_t>(backoff, 3600);
    } else {
        status = "failed";
    }
    const bool final = status != "pending";
    lease->exec("UPDATE platform_jobs SET status = ?, result = ?, last_error = ?, run_at = ?, locked_until = NULL, "
                "finished_at = ? WHERE id = ?",
                {status, outcome ? data::Value(outcome->dump()) : data::null(),
                 outcome ? data::null() : data::Value(outcome.status().message()), runAt,
                 final ? data::Value(now) : data::null(), c.job.id});
    metrics_.increment("ardoise_jobs_total",
                       "job=\"" + http::promLabel(c.job.name) + "\",outcome=\"" + (outcome ? "succeeded" : "failed") + "\"");
    if (!outcome) {
        logLine(status == "failed" ? "error" : "warn", "job attempt failed",
                {{"job", c.job.id}, {"name", c.job.name}, {"attempt", c.attempts}, {"status", status},
                 {"error", outcome.status().message()}});
    }
}

bool JobQueue::runOnce() {
    Claimed c;
    if (!claim(c)) {
        return false;
    }
    Control control(db_, c.job.id, options_.leaseSeconds);
    Result<json> outcome = Status(Code::kInternal, "job-failed", "no handler");
    auto handler = handlers_.find(c.job.name);
    if (handler == handlers_.end()) {
        outcome = Status(Code::kFailedPrecondition, "unknown-job",
                         "No handler for '" + c.job.name + "' on this node (is its plugin loaded?).");
    } else {
        try {
            outcome = handler->second(c.job, control);
        } catch (const std::exception& e) {
            outcome = Status(Code::kInternal, "job-threw", std::string("the job threw: ") + e.what());
        } catch (...) {
            outcome = Status(Code::kInternal, "job-threw", "the job threw a non-standard exception");
        }
    }
    control.flush();
    finish(c, outcome);
    return true;
}

int JobQueue::drain() {
    int n = 0;
    while (runOnce()) {
        ++n;
    }
    return n;
}

void JobQueue::start() {
    if (running_.exchange(true)) {
        return;
    }
    for (int i = 0; i < std::max(1, options_.workers); ++i) {
        threads_.emplace_back([this, i] {
            auto lastReap = std::chrono::steady_clock::time_point{};
            while (running_) {
                std::uint64_t seen = 0;
                {
                    std::lock_guard lock(mutex_);
                    seen = pokes_;
                }
                bool ran = false;
                try {
                    if (i == 0 && std::chrono::steady_clock::now() - lastReap > std::chrono::seconds(30)) {
                        lastReap = std::chrono::steady_clock::now();
                        requeueExpired();
                    }
                    ran = runOnce();
                } catch (const std::exception& e) {
                    logLine("warn", "job worker", {{"error", e.what()}});
                }
                if (!ran) {
                    std::unique_lock lock(mutex_);
                    wake_.wait_for(lock, std::chrono::seconds(1), [&] { return !running_ || pokes_ != seen; });
                }
            }
        });
    }
}

void JobQueue::poke() {
    {
        std::lock_guard lock(mutex_);
        ++pokes_;
    }
    wake_.notify_all();
}

void JobQueue::stop() {
    if (!running_.exchange(false)) {
        return;
    }
    wake_.notify_all();
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads_.clear();
}

Result<json> JobQueue::get(const std::string& tenantId, const std::string& id) {
    auto lease = db_.acquire();
    auto row = lease->queryOne(std::string("SELECT ") + kColumns + " FROM platform_jobs WHERE tenant_id = ? AND id = ?",
                               {tenantId, id});
    if (!row) {
        return Status(Code::kNotFound, "not-found", "No such job.");
    }
    return toApi(*row);
}

Result<json> JobQueue::list(const std::string& tenantId, int limit, const std::string& cursor,
                            const std::string& status) {
    static const std::regex digits("[0-9]{1,19}");
    std::int64_t before = INT64_MAX;
    if (!cursor.empty()) {
        if (!std::regex_match(cursor, digits)) {
            return Status(Code::kInvalidArgument, "validation", "cursor is not one this API returned.")
                .addField({"/cursor", "format", "must be a next_cursor value"});
        }
        before = std::stoll(cursor);
    }
    std::string sql = std::string("SELECT ") + kColumns + " FROM platform_jobs WHERE tenant_id = ? AND seq < ?";
    data::Params params{tenantId, before};
    if (!status.empty()) {
        sql += " AND status = ?";
        params.emplace_back(status);
    }
    sql += " ORDER BY seq DESC LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(limit + 1));
    auto lease = db_.acquire();
    auto rows = lease->query(sql, params);
    json items = json::array();
    for (std::size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i) {
        items.push_back(toApi(rows[i]));
    }
    json out = {{"items", items}, {"next_cursor", nullptr}};
    if (static_cast<int>(rows.size()) > limit) {
        out["next_cursor"] = std::to_string(rows[static_cast<std::size_t>(limit) - 1].integer("seq"));
    }
    return out;
}

Result<json> JobQueue::cancel(const std::string& tenantId, const std::string& id) {
    {
        auto lease = db_.acquire();
        const auto now = data::nowSeconds();
        lease->exec("UPDATE platform_jobs SET status = CASE WHEN status = 'pending' THEN 'canceled' ELSE status END, "
                    "finished_at = CASE WHEN status = 'pending' THEN ? ELSE finished_at END, cancel_requested = 1 "
                    "WHERE tenant_id = ? AND id = ? AND status IN ('pending', 'running')",
                    {now, tenantId, id});
    }
    return get(tenantId, id);
}

const json& JobQueue::jobSchema() {
    static const json schema = {
        {"type", "object"},
        {"properties",
         {{"id", {{"type", "string"}}},
          {"name", {{"type", "string"}}},
          {"status", {{"type", "string"}, {"enum", {"pending", "running", "succeeded", "failed", "canceled"}}}},
          {"attempts", {{"type", "integer"}}},
          {"max_attempts", {{"type", "integer"}}},
          {"cancel_requested", {{"type", "boolean"}}},
          {"progress", json::object()},
          {"result", json::object()},
          {"error", {{"type", {"string", "null"}}}},
          {"run_at", {{"type", "integer"}}},
          {"created_at", {{"type", "integer"}}},
          {"started_at", {{"type", {"integer", "null"}}}},
          {"finished_at", {{"type", {"integer", "null"}}}}}}};
    return schema;
}

}  // namespace ardoise::kernel::events
