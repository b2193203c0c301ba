#include "kernel/scripting/sandbox.hpp"

#include <lua.hpp>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

namespace ardoise::kernel::scripting {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kHookEvery = 1000;                             // instructions between hook calls once armed
constexpr auto kMeteringDelay = std::chrono::milliseconds(1);  // runs shorter than this run without a hook
constexpr double kMaxPatternCost = 2e8;                      // estimated backtracking steps of one match call
constexpr int kMaxDepth = 32;

// The clock of runs. Every run reads it twice; a steady_clock read costs
// ~26 ns here, a tenth of a trivial handler's whole call, a TSC read a few
// ns. The TSC is used only when the kernel itself trusts it as its
// clocksource (invariant and synchronized across cores).
class RunClock {
public:
    static std::int64_t now() {
#if defined(__x86_64__)
        if (get().tsc_) {
            return static_cast<std::int64_t>(__rdtsc());
        }
#endif
        return Clock::now().time_since_epoch().count();
    }
    static std::int64_t ticks(std::chrono::nanoseconds d) {
        return static_cast<std::int64_t>(static_cast<double>(d.count()) * get().ticksPerNs_);
    }
    static std::chrono::microseconds micros(std::int64_t ticks) {
        return std::chrono::microseconds(static_cast<std::int64_t>(static_cast<double>(ticks) * get().usPerTick_));
    }

private:
    static const RunClock& get() {
        static const RunClock c;
        return c;
    }
    RunClock() {
        static_assert(std::is_same_v<Clock::period, std::nano>);
        double nsPerTick = 1;
#if defined(__x86_64__)
        std::ifstream source("/sys/devices/system/clocksource/clocksource0/current_clocksource");
        std::string name;
        if (source >> name && name == "tsc") {
            const auto t0 = Clock::now();
            const auto c0 = __rdtsc();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            const auto c1 = __rdtsc();
            const auto t1 = Clock::now();
            if (c1 > c0) {
                tsc_ = true;
                nsPerTick = static_cast<double>((t1 - t0).count()) / static_cast<double>(c1 - c0);
            }
        }
#endif
        ticksPerNs_ = 1 / nsPerTick;
        usPerTick_ = nsPerTick / 1000;
    }
    bool tsc_ = false;
    // Conversions on every run multiply: a division takes several times longer.
    double ticksPerNs_ = 1;
    double usPerTick_ = 0.001;
};

}  // namespace

struct Sandbox::State {
    lua_State* L = nullptr;
    Sandbox* owner = nullptr;
    std::size_t used = 0;
    std::size_t cap = 0;
    std::size_t peak = 0;
    // The current run.
    bool running = false;
    RunContext* context = nullptr;
    std::int64_t budget = 0;
    std::int64_t instructions = 0;
    std::int64_t deadline = 0;  // RunClock
    bool killed = false;
    std::string killType;
    std::string killMessage;
    std::string hostError;  // message of a failed host call, raised after C++ scopes end
    std::string loading;    // the script whose top level is running (for on/every/filter)
    std::map<std::string, HostFunction> globals;
    std::map<std::string, std::map<std::string, HostFunction>> modules;
    int baseRef = LUA_NOREF;
    std::map<std::string, int> envRefs;
};

namespace {

Sandbox::State* stateOf(lua_State* L) { return *static_cast<Sandbox::State**>(lua_getextraspace(L)); }

[[gnu::cold]] void refuseMemory(Sandbox::State* s) {
    if (s->running && !s->killed) {
        s->killed = true;
        s->killType = "memory-limit";
        s->killMessage = "the script used more than " + std::to_string(s->cap / 1024) + " KB of memory";
    }
}

// Called for every allocation of every run: kept to the arithmetic.
void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
    auto* s = static_cast<Sandbox::State*>(ud);
    const std::size_t old = ptr != nullptr ? osize : 0;
    if (nsize == 0) {
        std::free(ptr);
        s->used -= old;
        return nullptr;
    }
    const std::size_t used = s->used - old + nsize;
    if (__builtin_expect(used > s->cap, 0)) {
        refuseMemory(s);
        return nullptr;
    }
    void* p = std::realloc(ptr, nsize);
    if (p != nullptr) {
        s->used = used;
        s->peak = used > s->peak ? used : s->peak;
    }
    return p;
}

// ---- the watchdog: arms the count hook of runs that last

void hook(lua_State* L, lua_Debug*) {
    auto* s = stateOf(L);
    s->instructions += kHookEvery;
    if (!s->killed) {
        if (s->instructions > s->budget) {
            s->killed = true;
            s->killType = "instruction-limit";
            s->killMessage = "the script ran more than " + std::to_string(s->budget) + " instructions";
        } else if (RunClock::now() > s->deadline) {
            s->killed = true;
            s->killType = "deadline";
            s->killMessage = "the script ran longer than its time limit";
        }
    }
    if (s->killed) {
        lua_pushstring(L, s->killMessage.c_str());
        lua_error(L);
    }
}

/// Arms the count hook of runs that last. Each thread that runs scripts owns
/// a slot (registered once); a run publishes its state and start time there
/// and the watchdog thread scans the slots every half millisecond. The slot's
/// phase keeps the watchdog from arming a state whose run has ended: it arms
/// only while it holds the phase at kArming, and a run ends only from kRunning.
class Watchdog {
public:
    enum Phase : int { kIdle, kRunning, kArming, kArmed };
    struct Slot {
        std::atomic<int> phase{kIdle};
        lua_State* L = nullptr;
        std::int64_t armAt = 0;  // RunClock
    };

    static Watchdog& instance() {
        // Never destroyed: its thread runs until the process ends.
        static Watchdog* w = new Watchdog;
        return *w;
    }
    /// This thread's slot.
    Slot& slot() {
        thread_local Slot* mine = nullptr;
        if (mine == nullptr) {
            std::lock_guard lock(mutex_);
            slots_.push_back(std::make_unique<Slot>());  // kept after the thread ends: a few bytes per thread
            mine = slots_.back().get();
        }
        return *mine;
    }
    static void enter(Slot& s, lua_State* L, std::int64_t start) {
        s.L = L;
        static const std::int64_t delay = RunClock::ticks(kMeteringDelay);
        s.armAt = start + delay;
        s.phase.store(kRunning, std::memory_order_release);
    }
    /// Returns whether the hook was armed (and must be removed).
    static bool leave(Slot& s) {
        for (;;) {
            int phase = s.phase.load(std::memory_order_acquire);
            if (phase != kArming && s.phase.compare_exchange_weak(phase, kIdle, std::memory_order_acq_rel)) {
                return phase == kArmed;
            }
        }
    }

private:
    Watchdog() {
        std::thread([this] {
            for (;;) {
                std::this_thread::sleep_for(std::chrono::microseconds(500));
                const auto now = RunClock::now();
                std::lock_guard lock(mutex_);
                for (auto& s : slots_) {
                    int running = kRunning;
                    if (s->phase.load(std::memory_order_acquire) == kRunning && now >= s->armAt &&
                        s->phase.compare_exchange_strong(running, kArming, std::memory_order_acq_rel)) {
                        lua_sethook(s->L, hook, LUA_MASKCOUNT, kHookEvery);  // documented as safe from another thread
                        s->phase.store(kArmed, std::memory_order_release);
                    }
                }
            }
        }).detach();
    }
    std::mutex mutex_;
    std::vector<std::unique_ptr<Slot>> slots_;
};

// ---- JSON

// ---- read-only tables

int refuseWrite(lua_State* L) { return luaL_error(L, "this table is read-only"); }

int proxyLength(lua_State* L) {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__index");
    lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, -1)));
    return 1;
}

int proxyPairs(lua_State* L) {
    lua_pushcfunction(L, [](lua_State* l) -> int {
        lua_settop(l, 2);
        return lua_next(l, 1) != 0 ? 2 : (lua_pushnil(l), 1);
    });
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_pushnil(L);
    return 3;
}

/// If the value at `index` is a read-only proxy, its real table's index; else `index`.
int throughProxy(lua_State* L, int index) {
    if (!lua_getmetatable(L, index)) {
        return index;
    }
    lua_getfield(L, -1, "__newindex");
    const bool proxy = lua_tocfunction(L, -1) == refuseWrite;
    lua_pop(L, 1);
    if (!proxy) {
        lua_pop(L, 1);
        return index;
    }
    lua_getfield(L, -1, "__index");
    lua_replace(L, -2);
    return lua_gettop(L);
}

Result<json> toJsonAt(lua_State* L, int index, int depth) {
    index = lua_absindex(L, index);
    switch (lua_type(L, index)) {
        case LUA_TNIL:
        case LUA_TNONE:
            return json(nullptr);
        case LUA_TBOOLEAN:
            return json(lua_toboolean(L, index) != 0);
        case LUA_TNUMBER:
            if (lua_isinteger(L, index)) {
                return json(static_cast<std::int64_t>(lua_tointeger(L, index)));
            } else {
                const double d = lua_tonumber(L, index);
                if (!std::isfinite(d)) {
                    return Status(Code::kInvalidArgument, "script-value", "numbers must be finite");
                }
                return json(d);
            }
        case LUA_TSTRING: {
            std::size_t n = 0;
            const char* p = lua_tolstring(L, index, &n);
            return json(std::string(p, n));
        }
        case LUA_TTABLE: {
            const int top = lua_gettop(L);
            index = throughProxy(L, index);
            struct Restore {
                lua_State* L;
                int top;
                ~Restore() { lua_settop(L, top); }
            } restore{L, top};
            if (depth >= kMaxDepth) {
                return Status(Code::kInvalidArgument, "script-value", "tables nest too deeply");
            }
            lua_checkstack(L, 4);
            const auto length = static_cast<lua_Integer>(lua_rawlen(L, index));
            lua_Integer keys = 0;
            bool stringKeys = true;
            lua_pushnil(L);
            while (lua_next(L, index) != 0) {
                ++keys;
                stringKeys = stringKeys && lua_type(L, -2) == LUA_TSTRING;
                lua_pop(L, 1);
            }
            if (length > 0 && keys == length) {
                json array = json::array();
                for (lua_Integer i = 1; i <= length; ++i) {
                    lua_rawgeti(L, index, i);
                    auto v = toJsonAt(L, -1, depth + 1);
                    lua_pop(L, 1);
                    if (!v) {
                        return v;
                    }
                    array.push_back(std::move(*v));
                }
                return array;
            }
            if (!stringKeys) {
                return Status(Code::kInvalidArgument, "script-value", "table keys must be strings, or 1..n for a list");
            }
            json object = json::object();
            lua_pushnil(L);
            while (lua_next(L, index) != 0) {
                auto v = toJsonAt(L, -1, depth + 1);
                if (!v) {
                    lua_pop(L, 2);
                    return v;
                }
                object[lua_tostring(L, -2)] = std::move(*v);
                lua_pop(L, 1);
            }
            return object;
        }
        default:
            return Status(Code::kInvalidArgument, "script-value",
                          std::string("a ") + lua_typename(L, lua_type(L, index)) + " cannot leave the script");
    }
}

/// Replaces the table on top of the stack by an empty proxy that reads
/// through to it and refuses writes.
void makeReadOnly(lua_State* L) {
    lua_newtable(L);                 // proxy
    lua_newtable(L);                 // its metatable
    lua_pushvalue(L, -3);            // the real table
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, refuseWrite);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushcfunction(L, proxyLength);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, proxyPairs);
    lua_setfield(L, -2, "__pairs");
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
}

/// A copy of the table on top of the stack holding only `names`.
void keepOnly(lua_State* L, const std::vector<const char*>& names) {
    lua_newtable(L);
    for (const char* n : names) {
        lua_getfield(L, -2, n);
        lua_setfield(L, -2, n);
    }
    lua_remove(L, -2);
}

// ---- replacements of dangerous base functions

int safePcall(lua_State* L) {
    luaL_checkany(L, 1);
    const int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    auto* s = stateOf(L);
    if (s->killed) {
        lua_pushstring(L, s->killMessage.c_str());
        return lua_error(L);
    }
    lua_pushboolean(L, status == LUA_OK);
    lua_insert(L, 1);
    return lua_gettop(L);
}

/// The message handler of xpcall: the script's handler, unless the run was
/// killed. A kill raised by the hook leaves hooks off while the handler runs
/// (Lua restores them only when the error reaches a pcall), so the script's
/// handler must not run then: it could loop unseen.
int guardedHandler(lua_State* L) {
    auto* s = stateOf(L);
    if (!s->killed) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_insert(L, 1);
        lua_pcall(L, lua_gettop(L) - 1, 1, 0);
    }
    if (s->killed) {
        lua_pushstring(L, s->killMessage.c_str());
    }
    return 1;
}

int safeXpcall(lua_State* L) {
    const int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guardedHandler, 1);
    lua_replace(L, 2);
    lua_pushvalue(L, 2);
    lua_remove(L, 2);
    lua_insert(L, 1);  // handler, f, args…
    const int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
    auto* s = stateOf(L);
    if (s->killed) {
        lua_pushstring(L, s->killMessage.c_str());
        return lua_error(L);
    }
    lua_pushboolean(L, status == LUA_OK);
    lua_replace(L, 1);
    return lua_gettop(L);
}

int safeSetmetatable(lua_State* L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        lua_rawget(L, 2);
        const bool gc = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (gc) {
            return luaL_error(L, "__gc finalizers are not allowed in scripts");
        }
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

int safeCollectgarbage(lua_State* L) {
    static const char* const allowed[] = {"collect", "count", "step", "isrunning", nullptr};
    luaL_checkoption(L, 1, "collect", allowed);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

void pushNewEnv(lua_State* L);

int safeLoad(lua_State* L) {
    if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_pushliteral(L, "load takes Lua source text");
        return 2;
    }
    std::size_t n = 0;
    const char* chunk = lua_tolstring(L, 1, &n);
    const char* name = luaL_optstring(L, 2, "=(load)");
    if (luaL_loadbufferx(L, chunk, n, name, "t") != LUA_OK) {  // text only: binary chunks refused
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (lua_type(L, 4) == LUA_TTABLE) {
        lua_pushvalue(L, 4);
    } else {
        pushNewEnv(L);
    }
    if (lua_setupvalue(L, -2, 1) == nullptr) {
        lua_pop(L, 1);
    }
    return 1;
}

int print(lua_State* L) {
    auto* s = stateOf(L);
    std::string line;
    for (int i = 1; i <= lua_gettop(L); ++i) {
        line += (i > 1 ? "\t" : "") + std::string(luaL_tolstring(L, i, nullptr));
        lua_pop(L, 1);
    }
    if (s->context != nullptr) {
        s->context->effects.push_back({{"log", line}});
    }
    return 0;
}

/// Estimated steps of matching `pattern` against a text of `n` bytes: the
/// start positions times (n+1) per unbounded quantifier (*, +, -).
double patternCost(const char* p, std::size_t len, std::size_t n) {
    std::size_t i = 0;
    bool anchored = len > 0 && p[0] == '^';
    i = anchored ? 1 : 0;
    int quantifiers = 0;
    while (i < len) {
        if (p[i] == '%') {
            i += (i + 1 < len && p[i + 1] == 'b') ? 4 : 2;
        } else if (p[i] == '[') {
            ++i;
            if (i < len && p[i] == '^') {
                ++i;
            }
            do {
                i += (i < len && p[i] == '%') ? 2 : 1;
            } while (i < len && p[i] != ']');
            ++i;
        } else {
            ++i;
        }
        if (i < len && (p[i] == '*' || p[i] == '+' || p[i] == '-')) {
            ++quantifiers;
            ++i;
        }
    }
    const double positions = anchored ? 1.0 : static_cast<double>(n) + 1;
    return positions * std::pow(static_cast<double>(n) + 1, quantifiers);
}

/// string.find/match/gmatch/gsub, refusing patterns whose backtracking could
/// run for seconds inside one C call, where no hook can stop it.
int guardedPattern(lua_State* L) {
    const bool plainFind = lua_toboolean(L, lua_upvalueindex(2)) && lua_toboolean(L, 4);
    if (!plainFind && lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING) {
        std::size_t n = 0;
        std::size_t plen = 0;
        lua_tolstring(L, 1, &n);
        const char* p = lua_tolstring(L, 2, &plen);
        if (patternCost(p, plen, n) > kMaxPatternCost) {
            return luaL_error(L, "pattern too costly for a text of %d bytes (too many *, + or - quantifiers); "
                                 "split the text or simplify the pattern", static_cast<int>(n));
        }
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

// ---- the Ardoise API

int callHost(lua_State* L) {
    auto* s = stateOf(L);
    const auto* fn = static_cast<const HostFunction*>(lua_touserdata(L, lua_upvalueindex(1)));
    bool failed = false;
    {
        json args = json::array();
        for (int i = 1; i <= lua_gettop(L) && !failed; ++i) {
            auto arg = toJsonAt(L, i, 0);
            if (!arg) {
                s->hostError = arg.status().message();
                failed = true;
            } else {
                args.push_back(std::move(*arg));
            }
        }
        if (!failed) {
            // No C++ exception may cross Lua's C frames (longjmp-based):
            // one from a host function (a pool timeout, say) becomes a Lua error.
            try {
                auto result = (*fn)(*s->context, args);
                if (!result) {
                    s->hostError = result.status().message();
                    failed = true;
                } else {
                    lua_settop(L, 0);
                    pushJson(L, *result);
                }
            } catch (const std::exception& e) {
                s->hostError = "the platform could not complete this call: ";
                s->hostError += e.what();
                failed = true;
            }
        }
    }
    if (failed) {
        lua_pushstring(L, s->hostError.c_str());
        return lua_error(L);
    }
    return 1;
}

int registerTrigger(lua_State* L) {
    auto* s = stateOf(L);
    const char* kind = lua_tostring(L, lua_upvalueindex(1));
    const char* key = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (s->loading.empty()) {
        return luaL_error(L, "%s() may only be called at the top level of a script", kind);
    }
    lua_pushvalue(L, 2);
    const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->owner->triggersFor(s->loading, kind, key, ref);
    return 0;
}

int requireModule(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    auto* s = stateOf(L);
    if (s->modules.count(name) == 0) {
        return luaL_error(L, "module '%s' is not available to this school's scripts", name);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->baseRef);
    lua_getfield(L, -1, name);
    return 1;
}

void pushNewEnv(lua_State* L) {
    auto* s = stateOf(L);
    lua_newtable(L);
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->baseRef);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

int lineOf(const std::string& message, const std::string& scriptId) {
    const auto at = message.find(scriptId + ":");
    if (at == std::string::npos) {
        return 0;
    }
    std::size_t i = at + scriptId.size() + 1;
    int line = 0;
    while (i < message.size() && std::isdigit(static_cast<unsigned char>(message[i]))) {
        line = line * 10 + (message[i++] - '0');
    }
    return i < message.size() && message[i] == ':' ? line : 0;
}

}  // namespace

void pushJson(lua_State* L, const json& value) {
    lua_checkstack(L, 3);
    switch (value.type()) {
        case json::value_t::null:
            lua_pushnil(L);
            break;
        case json::value_t::boolean:
            lua_pushboolean(L, value.get<bool>() ? 1 : 0);
            break;
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            lua_pushinteger(L, value.get<lua_Integer>());
            break;
        case json::value_t::number_float:
            lua_pushnumber(L, value.get<double>());
            break;
        case json::value_t::string: {
            const auto& s = value.get_ref<const std::string&>();
            lua_pushlstring(L, s.data(), s.size());
            break;
        }
        case json::value_t::array: {
            lua_createtable(L, static_cast<int>(value.size()), 0);
            lua_Integer i = 1;
            for (const auto& v : value) {
                pushJson(L, v);
                lua_rawseti(L, -2, i++);
            }
            break;
        }
        case json::value_t::object: {
            lua_createtable(L, 0, static_cast<int>(value.size()));
            for (const auto& [k, v] : value.items()) {
                pushJson(L, v);
                lua_setfield(L, -2, k.c_str());
            }
            break;
        }
        default:
            lua_pushnil(L);
    }
}

Result<json> toJson(lua_State* L, int index) { return toJsonAt(L, index, 0); }

bool RunResult::limitHit() const {
    const auto& t = status.type();
    return t == "instruction-limit" || t == "memory-limit" || t == "deadline";
}

Sandbox::Sandbox(std::size_t memoryCap, std::map<std::string, HostFunction> globals,
                 std::map<std::string, std::map<std::string, HostFunction>> modules)
    : state_(std::make_unique<State>()) {
    State& s = *state_;
    s.owner = this;
    s.cap = memoryCap;
    s.globals = std::move(globals);
    s.modules = std::move(modules);
    lua_State* L = lua_newstate(allocate, &s);
    if (L == nullptr) {
        throw std::bad_alloc();
    }
    s.L = L;
    *static_cast<State**>(lua_getextraspace(L)) = &s;
    // Handlers make short-lived garbage (the event, converted on every call)
    // next to a long-lived state (scripts, read-only proxies): a generational
    // collector leaves the old part alone on most cycles.
    lua_gc(L, LUA_GCGEN, 0, 0);

    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    const int g = lua_gettop(L);
    lua_newtable(L);  // BASE
    const int base = lua_gettop(L);
    for (const char* name : {"assert", "error", "ipairs", "next", "pairs", "select", "tonumber", "tostring", "type",
                             "rawequal", "rawlen", "rawget", "getmetatable", "_VERSION"}) {
        lua_getfield(L, g, name);
        lua_setfield(L, base, name);
    }
    lua_pushcfunction(L, safePcall);
    lua_setfield(L, base, "pcall");
    lua_pushcfunction(L, safeXpcall);
    lua_setfield(L, base, "xpcall");
    lua_pushcfunction(L, safeLoad);
    lua_setfield(L, base, "load");
    lua_pushcfunction(L, print);
    lua_setfield(L, base, "print");
    lua_getfield(L, g, "setmetatable");
    lua_pushcclosure(L, safeSetmetatable, 1);
    lua_setfield(L, base, "setmetatable");
    lua_getfield(L, g, "collectgarbage");
    lua_pushcclosure(L, safeCollectgarbage, 1);
    lua_setfield(L, base, "collectgarbage");

    // string: without dump, patterns guarded; also the strings' own metatable.
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
    keepOnly(L, {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep", "reverse",
                 "sub", "upper", "pack", "packsize", "unpack"});
    for (const char* name : {"find", "match", "gmatch", "gsub"}) {
        lua_getfield(L, -1, name);
        lua_pushboolean(L, std::string(name) == "find" ? 1 : 0);
        lua_pushcclosure(L, guardedPattern, 2);
        lua_setfield(L, -2, name);
    }
    makeReadOnly(L);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_setfield(L, base, "string");

    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
    makeReadOnly(L);
    lua_setfield(L, base, "table");
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
    makeReadOnly(L);
    lua_setfield(L, base, "math");
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
    makeReadOnly(L);
    lua_setfield(L, base, "utf8");
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    keepOnly(L, {"time", "date", "clock"});
    makeReadOnly(L);
    lua_setfield(L, base, "os");

    for (const char* kind : {"on", "every", "filter"}) {
        lua_pushstring(L, kind);
        lua_pushcclosure(L, registerTrigger, 1);
        lua_setfield(L, base, kind);
    }
    lua_pushcfunction(L, requireModule);
    lua_setfield(L, base, "require");
    for (auto& [name, fn] : s.globals) {
        lua_pushlightuserdata(L, &fn);
        lua_pushcclosure(L, callHost, 1);
        lua_setfield(L, base, name.c_str());
    }
    for (auto& [module, functions] : s.modules) {
        lua_newtable(L);
        for (auto& [name, fn] : functions) {
            lua_pushlightuserdata(L, &fn);
            lua_pushcclosure(L, callHost, 1);
            lua_setfield(L, -2, name.c_str());
        }
        makeReadOnly(L);
        lua_setfield(L, base, module.c_str());
    }
    makeReadOnly(L);
    s.baseRef = luaL_ref(L, LUA_REGISTRYINDEX);

    // The real globals hold load, dofile…: empty them, nothing should reach them.
    lua_pushnil(L);
    while (lua_next(L, g) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, g);
    }
    lua_settop(L, 0);
}

Sandbox::~Sandbox() {
    if (state_ && state_->L != nullptr) {
        lua_close(state_->L);
    }
}

std::size_t Sandbox::memoryInUse() const { return state_->used; }

void Sandbox::collectGarbage() { lua_gc(state_->L, LUA_GCCOLLECT); }

void Sandbox::triggersFor(const std::string& scriptId, const std::string& kind, const std::string& key, int ref) {
    triggers_.push_back({scriptId, kind, key, ref});
}

void Sandbox::dropTriggers(const std::string& scriptId) {
    auto it = std::remove_if(triggers_.begin(), triggers_.end(), [&](const Trigger& t) { return t.scriptId == scriptId; });
    for (auto i = it; i != triggers_.end(); ++i) {
        luaL_unref(state_->L, LUA_REGISTRYINDEX, i->ref);
    }
    triggers_.erase(it, triggers_.end());
}

template <typename Body>
RunResult Sandbox::run(Body&& body, const Limits& limits, RunContext& context) {
    State& s = *state_;
    lua_State* L = s.L;
    s.context = &context;
    s.budget = limits.instructions;
    s.instructions = 0;
    s.killed = false;
    s.peak = s.used;
    s.cap = limits.memoryBytes;
    const auto start = RunClock::now();
    s.deadline = start + RunClock::ticks(limits.deadline);
    s.running = true;
    auto& slot = Watchdog::instance().slot();
    Watchdog::enter(slot, L, start);
    const int status = body(L);
    if (Watchdog::leave(slot)) {
        lua_sethook(L, nullptr, 0, 0);
    }
    s.running = false;
    RunResult r;
    r.duration = RunClock::micros(RunClock::now() - start);
    r.instructions = s.instructions;
    r.memoryPeak = s.peak;
    if (s.killed) {
        r.status = Status(Code::kFailedPrecondition, s.killType, s.killMessage);
        lua_settop(L, 0);
    } else if (status != LUA_OK) {
        const char* message = lua_tostring(L, -1);
        const std::string text = message != nullptr ? message : "the script failed with a non-string error";
        r.status = Status(Code::kFailedPrecondition, "script-error", text);
        r.line = lineOf(text, context.scriptId);
        lua_settop(L, 0);
    } else if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);  // r.value stays null: the common case of a handler
    } else {
        auto value = toJsonAt(L, 1, 0);
        if (value) {
            r.value = std::move(*value);
        }
        lua_settop(L, 0);
    }
    s.context = nullptr;
    return r;
}

RunResult Sandbox::load(const std::string& scriptId, const std::string& source, const json& settings,
                        const Limits& limits, RunContext& context) {
    State& s = *state_;
    lua_State* L = s.L;
    dropTriggers(scriptId);
    if (luaL_loadbufferx(L, source.data(), source.size(), ("=" + scriptId).c_str(), "t") != LUA_OK) {
        RunResult r;
        const std::string text = lua_tostring(L, -1);
        r.status = Status(Code::kInvalidArgument, "script-syntax", text);
        r.line = lineOf(text, scriptId);
        lua_settop(L, 0);
        return r;
    }
    pushNewEnv(L);
    pushJson(L, settings.is_object() ? settings : json::object());
    makeReadOnly(L);
    lua_setfield(L, -2, "settings");
    lua_pushvalue(L, -1);
    if (auto it = s.envRefs.find(scriptId); it != s.envRefs.end()) {
        luaL_unref(L, LUA_REGISTRYINDEX, it->second);
    }
    s.envRefs[scriptId] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setupvalue(L, -2, 1);
    s.loading = scriptId;
    auto r = run([](lua_State* l) { return lua_pcall(l, 0, 0, 0); }, limits, context);
    s.loading.clear();
    if (!r.ok()) {
        dropTriggers(scriptId);
    }
    return r;
}

RunResult Sandbox::call(const Trigger& trigger, const json& argument, const Limits& limits, RunContext& context) {
    return run(
        [&](lua_State* L) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, trigger.ref);
            pushJson(L, argument);
            return lua_pcall(L, 1, 1, 0);
        },
        limits, context);
}

RunResult Sandbox::compile(const std::string& name, const std::string& source) {
    RunResult r;
    lua_State* L = luaL_newstate();
    if (luaL_loadbufferx(L, source.data(), source.size(), ("=" + name).c_str(), "t") != LUA_OK) {
        const std::string text = lua_tostring(L, -1);
        r.status = Status(Code::kInvalidArgument, "script-syntax", text);
        r.line = lineOf(text, name);
    }
    lua_close(L);
    return r;
}

}  // namespace ardoise::kernel::scripting
