#include "kernel/scripting/script_host.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include "kernel/data/ids.hpp"
#include "kernel/http/json_schema.hpp"
#include "kernel/notify/outbox.hpp"
#include "kernel/plugins/plugin_host.hpp"
#include "kernel/scripting/schedule.hpp"
#include "kernel/tenancy/tenant_db.hpp"

namespace ardoise::kernel::scripting {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr int kMaxChainDepth = 4;
constexpr std::size_t kMaxSourceBytes = 64 * 1024;
constexpr auto kIndexTtl = std::chrono::seconds(10);

/// The school whose scripts this thread is running, if any: what a script
/// does through a plugin is not filtered again (and must not wait for the
/// school's lock, which the thread holds).
thread_local const std::string* runningFor = nullptr;

void logLine(const std::string& level, const std::string& message, const json& extra) {
    json line = {{"level", level}, {"msg", message}};
    line.update(extra);
    std::clog << line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Status notFound() { return {Code::kNotFound, "not-found", "No such script."}; }

json scriptJson(const data::Row& r, bool withSource) {
    json out = {{"id", r.text("id")},
                {"name", r.text("name")},
                {"description", r.text("description")},
                {"enabled", r.integer("enabled") != 0},
                {"version", r.integer("version")},
                {"settings", json::parse(r.text("settings"), nullptr, false)},
                {"workflow", r.isNull("workflow") ? json(nullptr) : json(r.text("workflow"))},
                {"triggers", json::parse(r.text("triggers"), nullptr, false)},
                {"created_at", r.integer("created_at")},
                {"updated_at", r.integer("updated_at")}};
    if (withSource) {
        out["source"] = r.text("source");
    }
    return out;
}

json triggerList(const std::vector<Trigger>& triggers, const std::string& scriptId) {
    json out = json::array();
    for (const auto& t : triggers) {
        if (t.scriptId == scriptId) {
            out.push_back({{"kind", t.kind}, {"key", t.key}});
        }
    }
    return out;
}

json runJson(const RunResult& r) {
    return {{"status", r.ok() ? "ok" : r.status.type()},
            {"error", r.ok() ? json(nullptr) : json(r.status.message())},
            {"line", r.line > 0 ? json(r.line) : json(nullptr)},
            {"result", r.value},
            {"duration_us", r.duration.count()},
            {"instructions", r.instructions},
            {"memory_peak", r.memoryPeak}};
}

}  // namespace

struct ScriptHost::Tenant {
    std::mutex mutex;  // serializes the school's runs
    std::string id;
    std::string timezone = "UTC";
    std::set<std::string> events;   // event names some enabled script listens to
    std::set<std::string> filters;  // filter hooks some enabled script defines
    Clock::time_point indexedAt;
    std::unique_ptr<Sandbox> sandbox;
    std::map<std::string, int> versions;  // loaded script → version
    Limits limits;                        // the school's plan's, refreshed with the index
    Clock::time_point lastUsed = Clock::now();
};

ScriptHost::ScriptHost(data::Database& db, events::EventBus& bus, events::JobQueue& jobs, http::Metrics& metrics,
                       const plugins::PluginHost& plugins, ScriptOptions options)
    : db_(db), bus_(bus), jobs_(jobs), metrics_(metrics), plugins_(plugins), options_(std::move(options)) {
    bus_.subscribe("lua", "*", [this](const Event& e) { return deliver(e); });
    jobs_.registerHandler("kernel.script_schedule", [this](const Job& job, JobControl&) -> Result<json> {
        auto s = runSchedule(job.tenantId, job.payload.value("script_id", ""), job.payload.value("cron", ""),
                             job.payload.value("key", job.id));
        if (!s.isOk()) {
            return s;
        }
        return json{{"ran", job.payload.value("script_id", "")}};
    });
}

ScriptHost::~ScriptHost() {
    stop();
    flushRuns();
}

Limits ScriptHost::limitsFor(const std::string& tenantId) const {
    return limitsFor_ ? limitsFor_(tenantId) : options_.limits;
}

// ---- the school's state

std::shared_ptr<ScriptHost::Tenant> ScriptHost::tenant(const std::string& tenantId) {
    std::shared_ptr<Tenant> t;
    {
        std::lock_guard lock(tenantsMutex_);
        auto& slot = tenants_[tenantId];
        if (!slot) {
            slot = std::make_shared<Tenant>();
            slot->id = tenantId;
        }
        t = slot;
    }
    std::lock_guard lock(t->mutex);
    if (t->indexedAt == Clock::time_point{} || Clock::now() - t->indexedAt > kIndexTtl) {
        // One connection at a time: callers (a filter during a user's creation)
        // may already hold one.
        {
            tenancy::TenantDb db(db_, tenantId);
            t->events.clear();
            t->filters.clear();
            for (const auto& r : db.query("SELECT triggers FROM scripts WHERE tenant_id = @tenant AND enabled = 1")) {
                for (const auto& trigger : json::parse(r.text("triggers"), nullptr, false)) {
                    if (trigger.value("kind", "") == "on") {
                        t->events.insert(trigger.value("key", ""));
                    } else if (trigger.value("kind", "") == "filter") {
                        t->filters.insert(trigger.value("key", ""));
                    }
                }
            }
            if (auto row = db.queryOne("SELECT timezone FROM tenants WHERE id = @tenant")) {
                t->timezone = row->text("timezone");
            }
        }
        t->limits = limitsFor(tenantId);
        t->indexedAt = Clock::now();
    }
    return t;
}

void ScriptHost::invalidate(const std::string& tenantId) {
    std::lock_guard lock(tenantsMutex_);
    tenants_.erase(tenantId);
}

std::map<std::string, HostFunction> ScriptHost::hostFunctions(bool dryRun) {
    std::map<std::string, HostFunction> f;
    f["notify"] = [this, dryRun](RunContext& ctx, const json& args) -> Result<json> {
        const json a = args.empty() ? json::object() : args[0];
        if (!a.is_object() || !a.contains("template") || !a["template"].is_string() || !a.contains("to")) {
            return Status(Code::kInvalidArgument, "script-call", "notify{to = user id or list, template = name, data = {…}}");
        }
        static const std::regex templateName("[a-z0-9_]{1,60}");
        const std::string name = a["template"];
        if (!std::regex_match(name, templateName)) {
            return Status(Code::kInvalidArgument, "script-call", "notify: template names match [a-z0-9_]");
        }
        json to = a["to"].is_array() ? a["to"] : json::array({a["to"]});
        if (to.size() > 500) {
            return Status(Code::kInvalidArgument, "script-call", "notify: at most 500 recipients per call");
        }
        if (dryRun) {
            ctx.effects.push_back({{"notify", a}});
            return json(nullptr);
        }
        tenancy::TenantDb db(db_, ctx.tenantId);
        auto school = db.queryOne("SELECT name, locale FROM tenants WHERE id = @tenant");
        int sent = 0;
        for (const auto& id : to) {
            if (!id.is_string()) {
                continue;
            }
            auto user = db.queryOne("SELECT email, locale, status FROM users WHERE tenant_id = @tenant AND id = ?",
                                    {id.get<std::string>()});
            if (!user || user->text("status") == "deactivated") {
                continue;
            }
            json values = a.value("data", json::object());
            values["school"] = school ? school->text("name") : "";
            auto email = notify::renderEmail(options_.templatesDir, "scripts/" + name,
                                             user->isNull("locale") ? (school ? school->text("locale") : "fr")
                                                                    : user->text("locale"),
                                             values);
            if (!email) {
                return email.status();
            }
            email->to = user->text("email");
            notify::enqueueEmail(db.connection(), ctx.tenantId, *email);
            ++sent;
        }
        if (sent > 0 && outbox_ != nullptr) {
            outbox_->poke();
        }
        return json{{"sent", sent}};
    };
    f["emit"] = [this, dryRun](RunContext& ctx, const json& args) -> Result<json> {
        static const std::regex eventName("[a-z0-9_]+(\\.[a-z0-9_]+){0,3}");
        if (args.empty() || !args[0].is_string() || !std::regex_match(args[0].get<std::string>(), eventName)) {
            return Status(Code::kInvalidArgument, "script-call", "emit(name, payload): name like \"absences.alert\"");
        }
        json payload = args.size() > 1 && args[1].is_object() ? args[1] : json::object();
        if (ctx.chainDepth >= kMaxChainDepth) {
            return Status(Code::kFailedPrecondition, "script-call", "emit: too many script events in a chain");
        }
        payload["_depth"] = ctx.chainDepth + 1;
        const std::string name = "script." + args[0].get<std::string>();
        if (dryRun) {
            ctx.effects.push_back({{"emit", name}, {"payload", payload}});
            return json(nullptr);
        }
        events::publish(*db_.acquire(), ctx.tenantId, name, "script:" + ctx.scriptId, payload);
        bus_.poke();
        return json(nullptr);
    };
    f["log"] = [](RunContext& ctx, const json& args) -> Result<json> {
        std::string line;
        for (const auto& a : args) {
            line += (line.empty() ? "" : " ") + (a.is_string() ? a.get<std::string>() : a.dump());
        }
        ctx.effects.push_back({{"log", line}});
        if (!ctx.dryRun) {
            logLine("info", "script log", {{"tenant", ctx.tenantId}, {"script", ctx.scriptId}, {"text", line}});
        }
        return json(nullptr);
    };
    f["now"] = [](RunContext&, const json&) -> Result<json> { return json(data::nowSeconds()); };
    f["date"] = [](RunContext& ctx, const json& args) -> Result<json> {
        const std::int64_t t = !args.empty() && args[0].is_number_integer() ? args[0].get<std::int64_t>() : data::nowSeconds();
        const std::tm tm = localTime(ctx.timezone, t);
        if (args.size() > 1 && args[1].is_string()) {
            const std::string format = args[1];
            if (format.size() > 64) {
                return Status(Code::kInvalidArgument, "script-call", "date: the format is too long");
            }
            char buf[256];
            const auto n = std::strftime(buf, sizeof buf, format.c_str(), &tm);
            return json(std::string(buf, n));
        }
        return json{{"year", tm.tm_year + 1900}, {"month", tm.tm_mon + 1}, {"day", tm.tm_mday},
                    {"hour", tm.tm_hour},        {"min", tm.tm_min},       {"sec", tm.tm_sec},
                    {"wday", tm.tm_wday + 1},    {"yday", tm.tm_yday + 1}, {"timezone", ctx.timezone}};
    };
    return f;
}

std::unique_ptr<Sandbox> ScriptHost::makeSandbox(const std::string&, bool dryRun) {
    std::map<std::string, std::map<std::string, HostFunction>> modules;
    for (const auto& exported : plugins_.luaFunctions()) {
        const auto dot = exported.qualifiedName.rfind('.');
        const std::string module = exported.qualifiedName.substr(0, dot);
        const std::string name = exported.qualifiedName.substr(dot + 1);
        const std::string qualified = exported.qualifiedName;
        const bool readOnly = exported.function.readOnly;
        modules[module][name] = [this, qualified, readOnly, dryRun](RunContext& ctx, const json& args) -> Result<json> {
            const json a = args.empty() || args[0].is_null() ? json::object() : args[0];
            if (dryRun && !readOnly) {
                ctx.effects.push_back({{"call", qualified}, {"args", a}});
                return json(nullptr);
            }
            return plugins_.callLuaFunction(qualified, ctx.tenantId, a);
        };
    }
    return std::make_unique<Sandbox>(options_.limits.memoryBytes, hostFunctions(dryRun), std::move(modules));
}

Status ScriptHost::ensureLoaded(Tenant& t) {
    if (t.sandbox) {
        return Status::ok();
    }
    t.sandbox = makeSandbox(t.id, false);
    t.versions.clear();
    std::vector<data::Row> scripts;
    {
        tenancy::TenantDb db(db_, t.id);  // released before scripts run
        scripts = db.query("SELECT id, version, source, settings FROM scripts WHERE tenant_id = @tenant AND "
                           "enabled = 1 ORDER BY name");
    }
    const auto limits = t.limits;
    for (const auto& r : scripts) {
        RunContext ctx;
        ctx.tenantId = t.id;
        ctx.scriptId = r.text("id");
        ctx.timezone = t.timezone;
        auto loaded = t.sandbox->load(ctx.scriptId, r.text("source"),
                                      json::parse(r.text("settings"), nullptr, false), limits, ctx);
        t.versions[ctx.scriptId] = static_cast<int>(r.integer("version"));
        if (!loaded.ok()) {
            record(t.id, {ctx.scriptId, "load", "", 0}, t.versions[ctx.scriptId], "load", loaded);
            if (loaded.limitHit()) {
                t.sandbox.reset();
                return loaded.status;
            }
        }
    }
    return Status::ok();
}

RunResult ScriptHost::runTrigger(Tenant& t, const Trigger& trigger, const json& argument, const std::string& key,
                                 const Limits& limits) {
    RunContext ctx;
    ctx.tenantId = t.id;
    ctx.scriptId = trigger.scriptId;
    ctx.timezone = t.timezone;
    ctx.idempotencyKey = key;
    ctx.chainDepth = argument.contains("payload") ? argument["payload"].value("_depth", 0) : 0;
    runningFor = &t.id;
    auto r = t.sandbox->call(trigger, argument, limits, ctx);
    runningFor = nullptr;
    record(t.id, trigger, t.versions[trigger.scriptId], key, r);
    if (r.limitHit()) {
        t.sandbox.reset();  // the state may hold half-done work
    }
    t.lastUsed = Clock::now();
    return r;
}

void ScriptHost::record(const std::string& tenantId, const Trigger& trigger, int version, const std::string& key,
                        const RunResult& r) {
    metrics_.increment("ardoise_script_runs_total", std::string("outcome=\"") + (r.ok() ? "ok" : "failed") + "\"");
    if (!r.ok()) {
        metrics_.increment("ardoise_script_failures_total", "tenant=\"" + http::promLabel(tenantId) + "\",script=\"" +
                                                                http::promLabel(trigger.scriptId) + "\"");
    }
    bool flush = false;
    {
        std::lock_guard lock(runsMutex_);
        pendingRuns_.push_back({tenantId, data::newId(), trigger.scriptId, std::int64_t{version}, trigger.kind,
                                trigger.key, key, r.ok() ? std::string("ok") : r.status.type(),
                                static_cast<std::int64_t>(r.duration.count()), r.instructions,
                                static_cast<std::int64_t>(r.memoryPeak),
                                r.ok() ? data::null() : data::Value(r.status.message()),
                                r.line > 0 ? data::Value(std::int64_t{r.line}) : data::null(), data::nowSeconds()});
        flush = pendingRuns_.size() >= 256;
    }
    if (flush) {
        flushRuns();
    }
}

void ScriptHost::flushRuns() {
    std::vector<data::Params> rows;
    {
        std::lock_guard lock(runsMutex_);
        rows.swap(pendingRuns_);
    }
    if (rows.empty()) {
        return;
    }
    try {
        auto lease = db_.acquire();
        data::Transaction tx(*lease);
        for (const auto& row : rows) {
            lease->setTenantSetting(std::get<std::string>(row[0]));
            lease->exec("INSERT INTO script_runs (tenant_id, id, script_id, version, trigger_kind, trigger_key, "
                        "idempotency_key, status, duration_us, instructions, memory_peak, error, line, at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row);
        }
        lease->setTenantSetting("");
        tx.commit();
    } catch (const std::exception& e) {
        logLine("warn", "script run log not written", {{"rows", rows.size()}, {"error", e.what()}});
    }
}

std::size_t ScriptHost::stateMemory(const std::string& tenantId) {
    std::shared_ptr<Tenant> t;
    {
        std::lock_guard lock(tenantsMutex_);
        auto it = tenants_.find(tenantId);
        if (it == tenants_.end()) {
            return 0;
        }
        t = it->second;
    }
    std::lock_guard lock(t->mutex);
    return t->sandbox ? t->sandbox->memoryInUse() : 0;
}

// ---- running

void ScriptHost::forEachTrigger(Tenant& t, const std::function<bool(const Trigger&)>& visit) {
    // By position: a run that hits a limit rebuilds the state, which loads the
    // same scripts in the same order, so positions survive and refs do not.
    for (std::size_t i = 0;; ++i) {
        if (!t.sandbox && !ensureLoaded(t).isOk()) {
            return;
        }
        if (i >= t.sandbox->triggers().size()) {
            return;
        }
        const Trigger trigger = t.sandbox->triggers()[i];
        if (!visit(trigger)) {
            return;
        }
    }
}

Status ScriptHost::deliver(const Event& event) {
    auto t = tenant(event.tenantId);
    std::lock_guard lock(t->mutex);
    if (t->events.count(event.name) == 0) {
        return Status::ok();
    }
    if (auto s = ensureLoaded(*t); !s.isOk()) {
        return Status::ok();  // recorded in the run log; a script's fault is not retried
    }
    const json argument = {{"id", event.id},       {"name", event.name},         {"payload", event.payload},
                           {"source", event.source}, {"occurred_at", event.occurredAt}, {"attempt", event.attempt}};
    const auto limits = t->limits;
    forEachTrigger(*t, [&](const Trigger& trigger) {
        if (trigger.kind == "on" && trigger.key == event.name) {
            json arg = argument;
            arg["key"] = event.id + ":" + trigger.scriptId;
            runTrigger(*t, trigger, arg, arg["key"], limits);
        }
        return true;
    });
    return Status::ok();
}

Status ScriptHost::runSchedule(const std::string& tenantId, const std::string& scriptId, const std::string& cron,
                               const std::string& key) {
    auto t = tenant(tenantId);
    std::lock_guard lock(t->mutex);
    if (auto s = ensureLoaded(*t); !s.isOk()) {
        return Status::ok();
    }
    const auto now = data::nowSeconds();
    forEachTrigger(*t, [&](const Trigger& trigger) {
        if (trigger.kind == "every" && trigger.scriptId == scriptId && trigger.key == cron) {
            runTrigger(*t, trigger, {{"key", key}, {"cron", cron}, {"time", now}}, key, t->limits);
        }
        return true;
    });
    return Status::ok();
}

int ScriptHost::scheduleDue(std::int64_t utc) {
    const std::int64_t minute = utc / 60 * 60;
    std::vector<data::Row> rows;
    {
        auto lease = db_.acquire();
        rows = lease->query("SELECT s.tenant_id, s.script_id, s.cron, t.timezone FROM platform_script_schedules s "
                            "JOIN tenants t ON t.id = s.tenant_id WHERE s.last_minute < ? AND t.status = 'active'",
                            {minute});
    }
    int queued = 0;
    for (const auto& r : rows) {
        auto cron = Cron::parse(r.text("cron"));
        if (!cron || !cron->matches(localTime(r.text("timezone"), minute))) {
            continue;
        }
        auto lease = db_.acquire();
        data::Transaction tx(*lease);
        // Claims the minute: on several nodes only one queues the run.
        if (lease->exec("UPDATE platform_script_schedules SET last_minute = ? WHERE tenant_id = ? AND script_id = ? "
                        "AND cron = ? AND last_minute < ?",
                        {minute, r.text("tenant_id"), r.text("script_id"), r.text("cron"), minute}) == 1) {
            const std::string key = r.text("script_id") + ":" + r.text("cron") + ":" + std::to_string(minute);
            JobOptions options;
            options.uniqueKey = key;
            options.maxAttempts = 3;
            auto job = jobs_.enqueue(*lease, r.text("tenant_id"), "kernel.script_schedule",
                                     {{"script_id", r.text("script_id")}, {"cron", r.text("cron")}, {"key", key}}, options);
            if (job) {
                ++queued;
            }
        }
        tx.commit();
    }
    if (queued > 0) {
        jobs_.poke();
    }
    return queued;
}

Result<json> ScriptHost::filter(const std::string& tenantId, const std::string& hook, const json& data,
                                const std::vector<std::string>& adjustable, FailMode mode) {
    if (runningFor != nullptr && *runningFor == tenantId) {
        return data;
    }
    auto t = tenant(tenantId);
    std::lock_guard lock(t->mutex);
    if (t->filters.count(hook) == 0) {
        return data;
    }
    auto failed = [&](const RunResult& r) -> Result<json> {
        logLine("warn", "school rule failed", {{"tenant", tenantId}, {"hook", hook}, {"error", r.status.message()}});
        if (mode == FailMode::kOpen) {
            return data;
        }
        return Status(Code::kUnavailable, "school-rule-failed", "A school rule could not be checked; try again later.");
    };
    if (!ensureLoaded(*t).isOk()) {
        return failed(RunResult{Status(Code::kInternal, "script-error", "the scripts did not load")});
    }
    Limits limits = t->limits;
    limits.deadline = options_.filterDeadline;
    json current = data;
    std::optional<Status> refusal;
    forEachTrigger(*t, [&](const Trigger& trigger) {
        if (trigger.kind != "filter" || trigger.key != hook) {
            return true;
        }
        auto r = runTrigger(*t, trigger, current, hook + ":" + data::newId(), limits);
        if (!r.ok()) {
            if (auto f = failed(r); !f) {
                refusal = f.status();
                return false;
            }
            return true;
        }
        if (r.value.is_object() && r.value.contains("reject")) {
            const std::string message = r.value["reject"].is_string() ? r.value["reject"].get<std::string>() : "Refused.";
            refusal = Status(Code::kFailedPrecondition, "rejected-by-school-rule", message.substr(0, 500)).addExtra("hook", hook);
            return false;
        }
        if (r.value.is_object()) {
            for (const auto& field : adjustable) {
                if (r.value.contains(field) && (r.value[field].is_string() || r.value[field].is_number() ||
                                                r.value[field].is_boolean())) {
                    current[field] = r.value[field];
                }
            }
        }
        return true;
    });
    if (refusal) {
        return *refusal;
    }
    return current;
}

// ---- the scheduler thread

void ScriptHost::start() {
    if (running_.exchange(true)) {
        return;
    }
    thread_ = std::thread([this] {
        std::int64_t lastMinute = 0;
        while (running_) {
            try {
                const auto now = data::nowSeconds();
                if (now / 60 != lastMinute) {
                    lastMinute = now / 60;
                    scheduleDue(now);
                }
                flushRuns();
                std::lock_guard lock(tenantsMutex_);
                for (auto& [id, t] : tenants_) {
                    std::unique_lock tl(t->mutex, std::try_to_lock);
                    if (tl.owns_lock() && t->sandbox && Clock::now() - t->lastUsed > options_.idleEviction) {
                        t->sandbox.reset();
                    }
                }
            } catch (const std::exception& e) {
                logLine("warn", "script scheduler", {{"error", e.what()}});
            }
            std::unique_lock lock(wakeMutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return !running_.load(); });
        }
    });
}

void ScriptHost::stop() {
    if (running_.exchange(false)) {
        wake_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
    }
}

// ---- management

const json& ScriptHost::createSchema() {
    static const json schema = {
        {"type", "object"},
        {"additionalProperties", false},
        {"required", {"name", "source"}},
        {"properties",
         {{"name", {{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9_-]{0,59}$"}}},
          {"description", {{"type", "string"}, {"maxLength", 500}}},
          {"source", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxSourceBytes}}},
          {"settings", {{"type", "object"}}},
          {"enabled", {{"type", "boolean"}}}}}};
    return schema;
}

const json& ScriptHost::updateSchema() {
    static const json schema = [] {
        json s = createSchema();
        s.erase("required");
        s["properties"].erase("name");
        s["minProperties"] = 1;
        return s;
    }();
    return schema;
}

Result<json> ScriptHost::list(const std::string& tenantId) {
    tenancy::TenantDb db(db_, tenantId);
    json items = json::array();
    for (const auto& r : db.query("SELECT * FROM scripts WHERE tenant_id = @tenant ORDER BY name")) {
        items.push_back(scriptJson(r, false));
    }
    return json{{"items", items}};
}

Result<json> ScriptHost::get(const std::string& tenantId, const std::string& id) {
    tenancy::TenantDb db(db_, tenantId);
    auto r = db.queryOne("SELECT * FROM scripts WHERE tenant_id = @tenant AND id = ?", {id});
    if (!r) {
        return notFound();
    }
    return scriptJson(*r, true);
}

json ScriptHost::validate(const std::string& tenantId, const std::string& source, const json& settings) {
    auto box = makeSandbox(tenantId, true);
    RunContext ctx;
    ctx.tenantId = tenantId;
    ctx.scriptId = "script";
    ctx.dryRun = true;
    auto r = box->load("script", source, settings, limitsFor(tenantId), ctx);
    json errors = json::array();
    if (!r.ok()) {
        errors.push_back({{"type", r.status.type()}, {"message", r.status.message()}, {"line", r.line > 0 ? json(r.line) : json(nullptr)}});
    }
    for (const auto& t : box->triggers()) {
        if (t.kind == "every") {
            if (auto c = Cron::parse(t.key); !c) {
                errors.push_back({{"type", "invalid-cron"}, {"message", c.status().message()}, {"line", nullptr}});
            }
        }
    }
    return {{"valid", errors.empty()}, {"errors", errors}, {"triggers", triggerList(box->triggers(), "script")}};
}

Result<json> ScriptHost::save(const std::string& tenantId, const std::string& id, const json& fields,
                              const std::string& authorId, bool creating) {
    tenancy::TenantDb db(db_, tenantId);
    std::optional<data::Row> current;
    if (!creating) {
        current = db.queryOne("SELECT * FROM scripts WHERE tenant_id = @tenant AND id = ?", {id});
        if (!current) {
            return notFound();
        }
    }
    const std::string source = fields.contains("source") ? fields["source"].get<std::string>() : current->text("source");
    const json settings = fields.contains("settings") ? fields["settings"]
                          : current                 ? json::parse(current->text("settings"), nullptr, false)
                                                    : json::object();
    const bool enabled = fields.contains("enabled") ? fields["enabled"].get<bool>() : (!current || current->integer("enabled") != 0);
    const std::string description = fields.contains("description") ? fields["description"].get<std::string>()
                                                                    : (current ? current->text("description") : "");
    const bool changed = creating || fields.contains("source") || fields.contains("settings");
    json triggers = current ? json::parse(current->text("triggers"), nullptr, false) : json::array();
    if (changed) {
        auto checked = validate(tenantId, source, settings);
        if (!checked["valid"].get<bool>()) {
            const auto& e = checked["errors"][0];
            Status s(Code::kInvalidArgument, "validation", "The script is not valid: " + e["message"].get<std::string>());
            s.addField({"/source", e["type"].get<std::string>(),
                        e["message"].get<std::string>() + (e["line"].is_number() ? " (line " + std::to_string(e["line"].get<int>()) + ")" : "")});
            return s;
        }
        triggers = checked["triggers"];
    }
    const auto now = data::nowSeconds();
    const std::int64_t version = creating ? 1 : current->integer("version") + (changed ? 1 : 0);
    try {
        data::Transaction tx(db.connection());
        if (creating) {
            db.exec("INSERT INTO scripts (tenant_id, id, name, description, enabled, version, source, settings, workflow, "
                    "triggers, created_at, updated_at) VALUES (@tenant, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    {id, fields["name"].get<std::string>(), description, std::int64_t{enabled ? 1 : 0}, version, source,
                     settings.dump(), fields.contains("workflow") ? data::Value(fields["workflow"].get<std::string>()) : data::null(),
                     triggers.dump(), now, now});
        } else {
            db.exec("UPDATE scripts SET description = ?, enabled = ?, version = ?, source = ?, settings = ?, triggers = ?, "
                    "updated_at = ? WHERE tenant_id = @tenant AND id = ?",
                    {description, std::int64_t{enabled ? 1 : 0}, version, source, settings.dump(), triggers.dump(), now, id});
        }
        if (changed) {
            db.exec("INSERT INTO script_versions (tenant_id, script_id, version, source, settings, author_id, created_at) "
                    "VALUES (@tenant, ?, ?, ?, ?, ?, ?)",
                    {id, version, source, settings.dump(), authorId, now});
        }
        db.exec("DELETE FROM platform_script_schedules WHERE tenant_id = @tenant AND script_id = ?", {id});
        if (enabled) {
            std::set<std::string> crons;
            for (const auto& t : triggers) {
                if (t["kind"] == "every") {
                    crons.insert(t["key"].get<std::string>());
                }
            }
            for (const auto& cron : crons) {
                db.exec("INSERT INTO platform_script_schedules (tenant_id, script_id, cron, last_minute) VALUES (@tenant, ?, ?, ?)",
                        {id, cron, now / 60 * 60});
            }
        }
        tx.commit();
    } catch (const data::DbError& e) {
        if (e.kind() == data::DbError::Kind::kUniqueViolation) {
            return Status(Code::kConflict, "script-name-taken", "A script with this name already exists in this school.")
                .addField({"/name", "taken", "is already used"});
        }
        throw;
    }
    invalidate(tenantId);
    return get(tenantId, id);
}

Result<json> ScriptHost::create(const std::string& tenantId, const json& input, const std::string& authorId) {
    return save(tenantId, data::newId(), input, authorId, true);
}

Result<json> ScriptHost::update(const std::string& tenantId, const std::string& id, const json& patch,
                                const std::string& authorId) {
    return save(tenantId, id, patch, authorId, false);
}

Status ScriptHost::remove(const std::string& tenantId, const std::string& id) {
    tenancy::TenantDb db(db_, tenantId);
    data::Transaction tx(db.connection());
    db.exec("DELETE FROM platform_script_schedules WHERE tenant_id = @tenant AND script_id = ?", {id});
    const auto n = db.exec("DELETE FROM scripts WHERE tenant_id = @tenant AND id = ?", {id});
    tx.commit();
    invalidate(tenantId);
    return n == 0 ? notFound() : Status::ok();
}

Result<json> ScriptHost::versions(const std::string& tenantId, const std::string& id) {
    tenancy::TenantDb db(db_, tenantId);
    if (!db.queryOne("SELECT id FROM scripts WHERE tenant_id = @tenant AND id = ?", {id})) {
        return notFound();
    }
    json items = json::array();
    for (const auto& r : db.query("SELECT version, author_id, created_at, source, settings FROM script_versions "
                                  "WHERE tenant_id = @tenant AND script_id = ? ORDER BY version DESC",
                                  {id})) {
        items.push_back({{"version", r.integer("version")}, {"author_id", r.text("author_id")},
                         {"created_at", r.integer("created_at")}, {"source", r.text("source")},
                         {"settings", json::parse(r.text("settings"), nullptr, false)}});
    }
    return json{{"items", items}};
}

Result<json> ScriptHost::dryRun(const std::string& tenantId, const std::string& id, const json& input) {
    auto script = get(tenantId, id);
    if (!script) {
        return script.status();
    }
    std::string kind;
    std::string key;
    json argument;
    if (input.contains("event")) {
        kind = "on";
        key = input["event"]["name"];
        argument = {{"id", "dry-run"}, {"name", key}, {"payload", input["event"].value("payload", json::object())},
                    {"source", "dry-run"}, {"occurred_at", data::nowSeconds()}, {"attempt", 1}, {"key", "dry-run"}};
    } else if (input.contains("every")) {
        kind = "every";
        key = input["every"];
        argument = {{"key", "dry-run"}, {"cron", key}, {"time", data::nowSeconds()}};
    } else {
        kind = "filter";
        key = input["filter"];
        argument = input.value("data", json::object());
    }
    auto t = tenant(tenantId);
    auto box = makeSandbox(tenantId, true);
    RunContext ctx;
    ctx.tenantId = tenantId;
    ctx.scriptId = id;
    ctx.timezone = t->timezone;
    ctx.dryRun = true;
    const auto limits = limitsFor(tenantId);
    auto loaded = box->load(id, (*script)["source"], (*script)["settings"], limits, ctx);
    if (!loaded.ok()) {
        json out = runJson(loaded);
        out["effects"] = ctx.effects;
        return out;
    }
    for (const auto& trigger : box->triggers()) {
        if (trigger.kind == kind && trigger.key == key) {
            auto r = box->call(trigger, argument, limits, ctx);
            json out = runJson(r);
            out["effects"] = ctx.effects;
            return out;
        }
    }
    return Status(Code::kInvalidArgument, "validation", "The script has no handler for this trigger.")
        .addField({"/" + std::string(kind == "on" ? "event/name" : kind), "no-handler",
                   "the script registers no " + kind + "(\"" + key + "\", …)"});
}

Result<json> ScriptHost::runs(const std::string& tenantId, const std::string& id, int limit, const std::string& cursor) {
    tenancy::TenantDb db(db_, tenantId);
    if (!db.queryOne("SELECT id FROM scripts WHERE tenant_id = @tenant AND id = ?", {id})) {
        return notFound();
    }
    flushRuns();
    std::int64_t beforeAt = INT64_MAX;
    std::string beforeId = "~";
    if (!cursor.empty()) {
        static const std::regex form("([0-9]{1,19})\\.([a-z0-9]{1,40})");
        std::smatch m;
        if (!std::regex_match(cursor, m, form)) {
            return Status(Code::kInvalidArgument, "validation", "cursor is not one this API returned.")
                .addField({"/cursor", "format", "must be a next_cursor value"});
        }
        beforeAt = std::stoll(m[1]);
        beforeId = m[2];
    }
    auto rows = db.query("SELECT * FROM script_runs WHERE tenant_id = @tenant AND script_id = ? AND (at < ? OR (at = ? AND id < ?)) "
                         "ORDER BY at DESC, id DESC LIMIT ?",
                         {id, beforeAt, beforeAt, beforeId, std::int64_t{limit + 1}});
    json items = json::array();
    for (std::size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i) {
        const auto& r = rows[i];
        items.push_back({{"id", r.text("id")}, {"version", r.integer("version")},
                         {"trigger", {{"kind", r.text("trigger_kind")}, {"key", r.text("trigger_key")}}},
                         {"idempotency_key", r.text("idempotency_key")}, {"status", r.text("status")},
                         {"duration_us", r.integer("duration_us")}, {"instructions", r.integer("instructions")},
                         {"memory_peak", r.integer("memory_peak")},
                         {"error", r.isNull("error") ? json(nullptr) : json(r.text("error"))},
                         {"line", r.isNull("line") ? json(nullptr) : json(r.integer("line"))}, {"at", r.integer("at")}});
    }
    json out = {{"items", items}, {"next_cursor", nullptr}};
    if (static_cast<int>(rows.size()) > limit) {
        out["next_cursor"] = std::to_string(items.back()["at"].get<std::int64_t>()) + "." + items.back()["id"].get<std::string>();
    }
    return out;
}

json ScriptHost::catalog() const {
    json items = json::array();
    if (!fs::is_directory(options_.workflowsDir)) {
        return {{"items", items}};
    }
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(options_.workflowsDir)) {
        if (f.path().extension() == ".json") {
            files.push_back(f.path());
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f);
        json meta = json::parse(in, nullptr, false);
        if (meta.is_object()) {
            meta["name"] = f.stem().string();
            items.push_back(meta);
        }
    }
    return {{"items", items}};
}

Result<json> ScriptHost::install(const std::string& tenantId, const std::string& workflow, const json& input,
                                 const std::string& authorId) {
    json meta;
    const json all = catalog();
    for (const auto& item : all["items"]) {
        meta = item["name"] == workflow ? item : meta;
    }
    if (meta.is_null()) {
        return Status(Code::kNotFound, "not-found", "No workflow named " + workflow + " in the catalog.");
    }
    const json settings = input.value("settings", json::object());
    if (auto errors = http::validateJson(meta.value("settings", json::object()), settings); !errors.empty()) {
        Status s(Code::kInvalidArgument, "validation", "The workflow's settings are not valid.");
        for (auto& e : errors) {
            e.pointer = "/settings" + e.pointer;
            s.addField(std::move(e));
        }
        return s;
    }
    std::ifstream in(fs::path(options_.workflowsDir) / (workflow + ".lua"));
    std::stringstream source;
    source << in.rdbuf();
    json fields = {{"name", input.value("name", workflow)},
                   {"description", meta.contains("title") ? meta["title"].value("en", "") : ""},
                   {"source", source.str()},
                   {"settings", settings},
                   {"workflow", workflow},
                   {"enabled", input.value("enabled", true)}};
    return create(tenantId, fields, authorId);
}

Result<int> ScriptHost::applyFolder(const std::string& tenantId, const std::string& folder) {
    int applied = 0;
    if (!fs::is_directory(folder)) {
        return applied;
    }
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(folder)) {
        if (f.path().extension() == ".lua") {
            files.push_back(f.path());
        }
    }
    std::sort(files.begin(), files.end());
    tenancy::TenantDb db(db_, tenantId);
    for (const auto& f : files) {
        std::ifstream in(f);
        std::stringstream source;
        source << in.rdbuf();
        const std::string name = f.stem().string();
        auto existing = db.queryOne("SELECT id, source FROM scripts WHERE tenant_id = @tenant AND name = ?", {name});
        Result<json> r = json();
        if (!existing) {
            r = create(tenantId, {{"name", name}, {"source", source.str()}, {"enabled", true}}, "tenant-apply");
        } else if (existing->text("source") != source.str()) {
            r = update(tenantId, existing->text("id"), {{"source", source.str()}}, "tenant-apply");
        }
        if (!r) {
            return Status(r.status().code(), r.status().type(), f.filename().string() + ": " + r.status().message());
        }
        ++applied;
    }
    return applied;
}

}  // namespace ardoise::kernel::scripting
