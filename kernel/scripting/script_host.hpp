#pragma once
// The scripting host: each school's Lua scripts, their storage and
// versions, their triggers (events, schedules, filters), their runs (async,
// serialized per school, logged) and dry runs.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/data/database.hpp"
#include "kernel/events/event_bus.hpp"
#include "kernel/events/job_queue.hpp"
#include "kernel/http/metrics.hpp"
#include "kernel/scripting/sandbox.hpp"

namespace ardoise::kernel::plugins {
class PluginHost;
}
namespace ardoise::kernel::notify {
class OutboxWorker;
}

namespace ardoise::kernel::scripting {

struct ScriptOptions {
    Limits limits;                                      ///< per run, unless the plan says otherwise
    std::chrono::milliseconds filterDeadline{50};       ///< synchronous filters
    std::chrono::seconds idleEviction{600};             ///< a school's state is dropped after this long unused
    std::string templatesDir;                           ///< kernel templates (email/scripts/<name>.<locale>.mustache)
    std::string workflowsDir;                           ///< scripts/workflows
};

/// How a filter hook behaves when a script errs or overruns.
enum class FailMode { kOpen, kClosed };

class ScriptHost {
public:
    ScriptHost(data::Database& db, events::EventBus& bus, events::JobQueue& jobs, http::Metrics& metrics,
               const plugins::PluginHost& plugins, ScriptOptions options);
    ~ScriptHost();

    void setOutbox(notify::OutboxWorker* outbox) { outbox_ = outbox; }
    /// Per-school limits (plans), read when a school's index is refreshed
    /// (every 10 s at most); default: the options' limits.
    void setLimits(std::function<Limits(const std::string& tenantId)> limitsFor) { limitsFor_ = std::move(limitsFor); }

    /// Starts the scheduler (cron triggers, idle eviction, run-log flushing).
    void start();
    void stop();

    // --- management (school admins)
    static const nlohmann::json& createSchema();
    static const nlohmann::json& updateSchema();
    Result<nlohmann::json> list(const std::string& tenantId);
    Result<nlohmann::json> get(const std::string& tenantId, const std::string& id);
    Result<nlohmann::json> create(const std::string& tenantId, const nlohmann::json& input, const std::string& authorId);
    Result<nlohmann::json> update(const std::string& tenantId, const std::string& id, const nlohmann::json& patch,
                                  const std::string& authorId);
    Status remove(const std::string& tenantId, const std::string& id);
    Result<nlohmann::json> versions(const std::string& tenantId, const std::string& id);
    /// Compiles and runs the top level in a scratch state: errors with lines, and the triggers.
    nlohmann::json validate(const std::string& tenantId, const std::string& source, const nlohmann::json& settings);
    /// Runs the script's handler for `event` ({name, payload}) or its schedule
    /// ({"every": cron}) in a scratch state; records what it would do.
    Result<nlohmann::json> dryRun(const std::string& tenantId, const std::string& id, const nlohmann::json& input);
    Result<nlohmann::json> runs(const std::string& tenantId, const std::string& id, int limit, const std::string& cursor);
    /// The catalog of ready workflows (scripts/workflows/*.json + .lua).
    nlohmann::json catalog() const;
    Result<nlohmann::json> install(const std::string& tenantId, const std::string& workflow, const nlohmann::json& input,
                                   const std::string& authorId);
    /// Creates or replaces scripts by name from a folder of .lua files (tenant apply).
    Result<int> applyFolder(const std::string& tenantId, const std::string& folder);

    // --- running
    /// Delivers an event to the school's scripts (the bus subscriber "lua").
    Status deliver(const Event& event);
    /// Runs every `every(cron)` trigger of the script (the schedule job).
    Status runSchedule(const std::string& tenantId, const std::string& scriptId, const std::string& cron,
                       const std::string& key);
    /// Scans schedules once for the minute containing `utc`; how many were queued.
    int scheduleDue(std::int64_t utc);
    /// A synchronous filter: the data, adjusted, or the rejection (kFailedPrecondition
    /// "rejected-by-school-rule" with the script's message). Fields outside
    /// `adjustable` cannot change. On a script error or overrun: the data
    /// unchanged (kOpen) or a refusal (kClosed). Actions of the school's own
    /// scripts (a script calling a plugin) are not filtered.
    Result<nlohmann::json> filter(const std::string& tenantId, const std::string& hook, const nlohmann::json& data,
                                  const std::vector<std::string>& adjustable, FailMode mode);
    /// Writes buffered run-log rows.
    void flushRuns();
    /// Memory of the school's state, 0 when none is loaded (for tests and benchmarks).
    std::size_t stateMemory(const std::string& tenantId);

private:
    struct Tenant;
    struct Script;
    std::shared_ptr<Tenant> tenant(const std::string& tenantId);
    Status ensureLoaded(Tenant& t);
    void invalidate(const std::string& tenantId);
    std::unique_ptr<Sandbox> makeSandbox(const std::string& tenantId, bool dryRun);
    /// Calls `visit` for each trigger of the school's state until it returns false.
    void forEachTrigger(Tenant& t, const std::function<bool(const Trigger&)>& visit);
    RunResult runTrigger(Tenant& t, const Trigger& trigger, const nlohmann::json& argument, const std::string& key,
                         const Limits& limits);
    void record(const std::string& tenantId, const Trigger& trigger, int version, const std::string& key,
                const RunResult& r);
    Result<nlohmann::json> save(const std::string& tenantId, const std::string& id, const nlohmann::json& fields,
                                const std::string& authorId, bool creating);
    std::map<std::string, HostFunction> hostFunctions(bool dryRun);
    Limits limitsFor(const std::string& tenantId) const;

    data::Database& db_;
    events::EventBus& bus_;
    events::JobQueue& jobs_;
    http::Metrics& metrics_;
    const plugins::PluginHost& plugins_;
    ScriptOptions options_;
    notify::OutboxWorker* outbox_ = nullptr;
    std::function<Limits(const std::string&)> limitsFor_;

    std::mutex tenantsMutex_;
    std::map<std::string, std::shared_ptr<Tenant>> tenants_;

    std::mutex runsMutex_;
    std::vector<data::Params> pendingRuns_;

    std::thread thread_;
    std::atomic<bool> running_{false};
    std::mutex wakeMutex_;
    std::condition_variable wake_;
};

}  // namespace ardoise::kernel::scripting
