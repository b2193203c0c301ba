// The Lua sandbox against scripts that try to escape, hog or corrupt it.

#include <catch2/catch.hpp>

#include <chrono>

#include "kernel/scripting/sandbox.hpp"

using ardoise::kernel::scripting::HostFunction;
using ardoise::kernel::scripting::Limits;
using ardoise::kernel::scripting::RunContext;
using ardoise::kernel::scripting::RunResult;
using ardoise::kernel::scripting::Sandbox;
using nlohmann::json;

namespace {

Limits tight() {
    Limits l;
    l.instructions = 5'000'000;
    l.memoryBytes = 4u << 20;
    l.deadline = std::chrono::milliseconds(300);
    return l;
}

/// Loads `source` as script "s" and, when it registered on("test"), calls it.
RunResult runScript(Sandbox& box, const std::string& source, const Limits& limits = tight()) {
    RunContext context;
    context.tenantId = "t1";
    context.scriptId = "s";
    auto loaded = box.load("s", source, json::object(), limits, context);
    if (!loaded.ok()) {
        return loaded;
    }
    for (const auto& t : box.triggers()) {
        if (t.key == "test") {
            return box.call(t, {{"id", "e1"}}, limits, context);
        }
    }
    return loaded;
}

Sandbox makeBox() {
    std::map<std::string, HostFunction> globals = {
        {"echo", [](RunContext&, const json& args) -> ardoise::Result<json> { return args.at(0); }}};
    return Sandbox(8u << 20, globals, {});
}

}  // namespace

TEST_CASE("Scripts run, register triggers and pass values both ways", "[lua]") {
    Sandbox box = makeBox();
    auto r = runScript(box, R"(on("test", function(e) return {seen = e.id, n = #echo({1, 2, 3})} end))");
    REQUIRE(r.ok());
    CHECK(r.value == json({{"seen", "e1"}, {"n", 3}}));
    CHECK(box.triggers().size() == 1);
}

TEST_CASE("A host function that throws fails the run, not the process", "[lua]") {
    std::map<std::string, HostFunction> globals = {
        {"boom", [](RunContext&, const json&) -> ardoise::Result<json> { throw std::runtime_error("pool exhausted"); }}};
    Sandbox box(8u << 20, globals, {});
    auto r = runScript(box, R"(on("test", function(e) local ok, err = pcall(boom) return err end))");
    REQUIRE(r.ok());
    CHECK(r.value.get<std::string>().find("pool exhausted") != std::string::npos);
    auto again = runScript(box, R"(on("test", function(e) return e.id end))");  // the state is still sound
    CHECK(again.value == "e1");
}

TEST_CASE("Dangerous libraries and functions are absent", "[lua][attack]") {
    Sandbox box = makeBox();
    for (const std::string attempt :
         {"os.execute('id')", "io.open('/etc/passwd')", "require('os')", "package.loadlib('x', 'y')", "debug.getinfo(1)",
          "dofile('/etc/passwd')", "loadfile('/etc/passwd')", "string.dump(print)", "('x').dump(print)",
          "coroutine.create(print)", "rawset(string, 'x', 1)", "collectgarbage('stop')"}) {
        INFO(attempt);
        auto r = runScript(box, attempt);
        CHECK_FALSE(r.ok());
        CHECK(r.status.type() == "script-error");
        CHECK(r.line == 1);
    }
}

TEST_CASE("A binary chunk is refused, from load() and as a script", "[lua][attack]") {
    Sandbox box = makeBox();
    auto viaLoad = runScript(box, R"(local f, err = load("\27Lua\84\0", "x", "b") assert(f, err))");
    CHECK_FALSE(viaLoad.ok());
    CHECK(viaLoad.status.message().find("binary") != std::string::npos);
    auto asScript = runScript(box, std::string("\x1bLua\x54\x00\x19\x93", 8));
    CHECK(asScript.status.type() == "script-syntax");
}

TEST_CASE("Shared tables and the string metatable are read-only; load cannot reach real globals", "[lua][attack]") {
    Sandbox box = makeBox();
    CHECK_FALSE(runScript(box, "string.upper = nil").ok());
    CHECK_FALSE(runScript(box, "getmetatable('').__index.upper = function() return 'x' end").ok());
    CHECK_FALSE(runScript(box, "setmetatable(string, {})").ok());
    CHECK_FALSE(runScript(box, "math.pi = 3").ok());
    // A script's globals are its own; replacing _ENV changes only its chunk.
    CHECK(runScript(box, "_ENV = {x = 1} x = 2").ok());  // its own environment, nothing shared
    auto r = runScript(box, R"(on("test", function() return load("return os and os.execute")() == nil end))");
    REQUIRE(r.ok());
    CHECK(r.value == true);
    auto upper = runScript(box, R"(on("test", function() return ("abc"):upper() end))");
    CHECK(upper.value == "ABC");  // still intact for everyone
}

TEST_CASE("Runaway loops stop at the instruction budget or the deadline, pcall or not", "[lua][attack]") {
    Sandbox box = makeBox();
    for (const std::string attempt : {
             "while true do end",
             "while true do pcall(function() while true do end end) end",
             "while true do xpcall(function() while true do end end, function() while true do end end) end",
             "local function f() return f() end f()",
             "while true do pcall(error, 'x') end",
         }) {
        INFO(attempt);
        const auto start = std::chrono::steady_clock::now();
        auto r = runScript(box, attempt);
        CHECK_FALSE(r.ok());
        CHECK(r.limitHit());
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
    }
    Limits slow = tight();
    slow.instructions = 1'000'000'000'000;  // only the deadline can stop it
    auto r = runScript(box, "while true do end", slow);
    CHECK(r.status.type() == "deadline");
    Limits counted = tight();
    counted.deadline = std::chrono::seconds(30);  // only the budget can stop it
    auto c = runScript(box, "local i = 0 while true do i = i + 1 end", counted);
    CHECK(c.status.type() == "instruction-limit");
    CHECK(c.instructions > counted.instructions);
}

TEST_CASE("Memory bombs stop at the cap, even with the collector stopped or errors caught", "[lua][attack]") {
    Sandbox box = makeBox();
    for (const std::string attempt : {
             "local s = string.rep('x', 1 << 30)",
             "local t = {} for i = 1, 1e9 do t[i] = i end",
             "local t = {} while true do t[#t + 1] = {} end",
             "local t = {} while true do pcall(function() t[#t + 1] = string.rep('y', 1000) end) end",
         }) {
        INFO(attempt);
        auto r = runScript(box, attempt);
        CHECK(r.status.type() == "memory-limit");
    }
}

TEST_CASE("Garbage is collected in time: churning many times the cap is not a memory bomb", "[lua]") {
    Sandbox box = makeBox();
    Limits roomy = tight();  // 4 MB cap; time enough for slow (sanitizer) builds
    roomy.instructions = 500'000'000;
    roomy.deadline = std::chrono::seconds(20);
    // ~40 MB of short-lived strings and tables under the 4 MB cap, also right
    // after a full collection (which resets the collector's pacing).
    const std::string churn = "for i = 1, 20000 do local t = {string.rep('x', 1000) .. i, {x = i}} end";
    for (const std::string& source : {churn, "collectgarbage('collect') " + churn, "collectgarbage('step') " + churn}) {
        INFO(source);
        auto r = runScript(box, source, roomy);
        INFO(r.status.message());
        CHECK(r.ok());
        CHECK(r.memoryPeak < roomy.memoryBytes);
    }
}

TEST_CASE("Finalizers, catastrophic patterns and errors in handlers are contained", "[lua][attack]") {
    Sandbox box = makeBox();
    auto gc = runScript(box, "setmetatable({}, {__gc = function() while true do end end})");
    CHECK(gc.status.message().find("__gc") != std::string::npos);
    const auto start = std::chrono::steady_clock::now();
    auto pattern = runScript(box, "string.find(string.rep('a', 4096), '.-.-b')");
    CHECK(pattern.status.message().find("pattern too costly") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    auto small = runScript(box, R"(on("test", function() return ("  hi  "):match("^%s*(.-)%s*$") end))");
    CHECK(small.value == "hi");  // ordinary patterns still work
    auto handler = runScript(box, R"(on("test", function() return select(2, xpcall(error, function() error("again") end)) end))");
    REQUIRE(handler.ok());  // an error in the message handler is an ordinary failure
    CHECK_FALSE(handler.value.is_null());
}

TEST_CASE("Deep recursion is an ordinary error, or the memory cap when that comes first", "[lua][attack]") {
    Sandbox box = makeBox();
    Limits roomy = tight();
    roomy.memoryBytes = 256u << 20;  // room for Lua's own stack limit to come first
    roomy.deadline = std::chrono::seconds(10);
    auto r = runScript(box, "local function f(n) return 1 + f(n + 1) end f(1)", roomy);
    CHECK(r.status.type() == "script-error");
    CHECK(r.status.message().find("stack overflow") != std::string::npos);
    auto capped = runScript(box, "local function f(n) return 1 + f(n + 1) end f(1)");
    CHECK(capped.status.type() == "memory-limit");
}

TEST_CASE("Errors name their line; the state keeps working after a limit", "[lua]") {
    Sandbox box = makeBox();
    auto r = runScript(box, "local x = 1\n\nerror('boom')\n");
    CHECK(r.status.type() == "script-error");
    CHECK(r.line == 3);
    CHECK(r.status.message().find("boom") != std::string::npos);
    auto syntax = Sandbox::compile("s", "local x = \n\nif then");
    CHECK(syntax.status.type() == "script-syntax");
    CHECK(syntax.line == 3);
    REQUIRE(runScript(box, "while true do end").limitHit());
    CHECK(runScript(box, R"(on("test", function() return 42 end))").value == 42);
}

TEST_CASE("An idle sandbox state is small", "[lua]") {
    Sandbox box = makeBox();
    CHECK(box.memoryInUse() < 64 * 1024);
}
