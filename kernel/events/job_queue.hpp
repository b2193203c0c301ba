#pragma once
// The durable job queue (platform_jobs): jobs are rows, claimed by worker
// threads with a lease, retried with exponential backoff, and readable by the
// school that queued them (status, progress, result, error). Several nodes
// may share a PostgreSQL queue (claims use FOR UPDATE SKIP LOCKED); SQLite
// serves one node.

#include <ardoise/services.hpp>
#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/data/database.hpp"
#include "kernel/http/metrics.hpp"

namespace ardoise::kernel::events {

/// A kernel-side job handler: the job, its control; its result or failure.
using JobFunction = std::function<Result<nlohmann::json>(const Job&, JobControl&)>;

struct JobQueueOptions {
    int workers = 2;
    std::int64_t leaseSeconds = 120;      ///< a running job not heard of for this long is requeued
    std::int64_t retryBaseSeconds = 10;   ///< backoff: base × 2^(attempt−1), capped at an hour
};

/// Process-wide increasing microsecond stamps: the queue order of events and jobs.
std::int64_t nextSequence();

class JobQueue {
public:
    JobQueue(data::Database& db, http::Metrics& metrics, JobQueueOptions options = {});
    ~JobQueue() { stop(); }
    JobQueue(const JobQueue&) = delete;
    JobQueue& operator=(const JobQueue&) = delete;

    /// Registers the handler of `name`; before start() only.
    void registerHandler(const std::string& name, JobFunction handler);
    bool hasHandler(const std::string& name) const { return handlers_.count(name) != 0; }

    /// Queues a job on `conn` (inside the caller's transaction, if any) and
    /// returns its id (the existing job's id for a live uniqueKey).
    /// kInvalidArgument for an unknown name or bad options.
    Result<std::string> enqueue(data::Connection& conn, const std::string& tenantId, const std::string& name,
                                const nlohmann::json& payload, const JobOptions& options = {});

    void start();
    void stop();
    /// Wakes the workers (after a commit that queued jobs).
    void poke();
    /// Claims and runs one due job on the calling thread; false when none is due.
    bool runOnce();
    /// Runs due jobs until none is left; the number run. For tests and tools.
    int drain();

    /// The school's view of its jobs (GET /api/v1/jobs…); another school's id is kNotFound.
    Result<nlohmann::json> get(const std::string& tenantId, const std::string& id);
    Result<nlohmann::json> list(const std::string& tenantId, int limit, const std::string& cursor,
                                const std::string& status);
    /// A pending job is canceled at once; a running one is asked to stop.
    Result<nlohmann::json> cancel(const std::string& tenantId, const std::string& id);
    static const nlohmann::json& jobSchema();

private:
    struct Claimed;
    bool claim(Claimed& out);
    void finish(const Claimed& job, const Result<nlohmann::json>& outcome);
    void requeueExpired();

    data::Database& db_;
    http::Metrics& metrics_;
    JobQueueOptions options_;
    std::map<std::string, JobFunction> handlers_;
    std::vector<std::thread> threads_;
    std::atomic<bool> running_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t pokes_ = 0;  // guarded by mutex_
};

}  // namespace ardoise::kernel::events
