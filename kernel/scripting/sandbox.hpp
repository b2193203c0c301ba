#pragma once
// A sandboxed Lua 5.4 state: one per school. Scripts run in their own
// environment over read-only shared libraries, with a memory cap (a counting
// allocator), an instruction budget and a wall-clock deadline.
//
// How runs are bounded (the reasons are in scripts/README.md):
//  * no count hook while a run is short: a watchdog thread arms one (every
//    1,000 instructions) once the run has lasted 1 ms, then counts
//    instructions and checks the deadline; trivial handlers run at full speed;
//  * once a limit is hit the run is "killed": pcall/xpcall re-raise the
//    error, so a script cannot catch its way out, and the state is reset;
//  * C functions that could run long without reaching the hook are bounded
//    before they start: string patterns by an estimate of their backtracking
//    cost, string.rep and table growth by the memory cap;
//  * setmetatable refuses __gc (no finalizers: nothing runs at collection or
//    lua_close), collectgarbage refuses "stop", load takes text only, and
//    coroutine, io, debug, package, dofile, loadfile, string.dump and rawset
//    are absent.
// What cannot be bounded in-process (a bug in Lua itself) is the job of the
// worker process isolation described in deploy/README.md.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct lua_State;

namespace ardoise::kernel::scripting {

struct Limits {
    std::int64_t instructions = 50'000'000;
    std::size_t memoryBytes = 16u << 20;
    std::chrono::milliseconds deadline{2000};
};

/// What a host function knows of the run that calls it.
struct RunContext {
    std::string tenantId;
    std::string scriptId;
    std::string timezone = "UTC";
    std::string idempotencyKey;
    int chainDepth = 0;  ///< how many script events led to this run
    bool dryRun = false;
    nlohmann::json effects = nlohmann::json::array();  ///< recorded side effects (dry runs), logs
};

/// A function scripts call; `args` is the JSON array of its arguments
/// (`f{…}` gives one table). Returns a value or fails (the script sees a Lua
/// error with the message).
using HostFunction = std::function<Result<nlohmann::json>(RunContext&, const nlohmann::json& args)>;

/// A handler a script registered with on(), every() or filter().
struct Trigger {
    std::string scriptId;
    std::string kind;  ///< "on", "every", "filter"
    std::string key;   ///< event name, cron expression, hook name
    int ref = 0;       ///< the function in the registry
};

struct RunResult {
    Status status;                  ///< ok, or: script-error, instruction-limit, memory-limit, deadline, pattern-limit
    int line = 0;                   ///< the script line of the error, when known
    std::int64_t instructions = 0;  ///< metered instructions (runs under 1 ms are not metered: 0)
    std::size_t memoryPeak = 0;     ///< bytes held by the state at its peak during the run
    std::chrono::microseconds duration{0};
    nlohmann::json value;           ///< the function's first result, as JSON
    bool ok() const { return status.isOk(); }
    /// A limit was hit: the state may hold half-done work; reset it.
    bool limitHit() const;
};

class Sandbox {
public:
    Sandbox(std::size_t memoryCap, std::map<std::string, HostFunction> globals,
            std::map<std::string, std::map<std::string, HostFunction>> modules);
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    /// Compiles `source` (text only) as script `scriptId` in its own
    /// environment, with `settings` as its read-only `settings` global, and
    /// runs its top level, which registers its triggers. A script loaded
    /// again replaces its triggers.
    RunResult load(const std::string& scriptId, const std::string& source, const nlohmann::json& settings,
                   const Limits& limits, RunContext& context);
    /// Calls a trigger's function with `argument` (converted to a Lua value).
    RunResult call(const Trigger& trigger, const nlohmann::json& argument, const Limits& limits, RunContext& context);
    /// Compile check only: the syntax error with its line, or ok.
    static RunResult compile(const std::string& name, const std::string& source);

    const std::vector<Trigger>& triggers() const { return triggers_; }
    /// Bytes the state holds now.
    std::size_t memoryInUse() const;
    /// A full garbage collection (what an idle state holds is then live data).
    void collectGarbage();

    struct State;
    /// Records a trigger (called by on/every/filter while a script loads).
    void triggersFor(const std::string& scriptId, const std::string& kind, const std::string& key, int ref);

private:
    template <typename Body>  // int(lua_State*), defined and used in sandbox.cpp
    RunResult run(Body&& body, const Limits& limits, RunContext& context);
    void dropTriggers(const std::string& scriptId);

    std::unique_ptr<State> state_;
    std::vector<Trigger> triggers_;
};

/// Lua value ↔ JSON. Tables with keys 1..n are arrays, others objects with
/// string keys; depth is capped at 32.
void pushJson(lua_State* L, const nlohmann::json& value);
Result<nlohmann::json> toJson(lua_State* L, int index);

}  // namespace ardoise::kernel::scripting
