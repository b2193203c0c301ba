#include "kernel/plugins/plugin_services.hpp"

#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>
#include <sstream>

#include "kernel/billing/invoice_pdf.hpp"
#include "kernel/notify/outbox.hpp"
#include "kernel/plugins/plugin_database.hpp"
#include "kernel/scripting/schedule.hpp"
#include "kernel/tenancy/tenant_db.hpp"

namespace ardoise::kernel::plugins {
namespace {

using nlohmann::json;

const char* levelName(LogLevel level) {
    switch (level) {
        case LogLevel::kDebug: return "debug";
        case LogLevel::kInfo: return "info";
        case LogLevel::kWarning: return "warn";
        case LogLevel::kError: return "error";
    }
    return "info";
}

bool validName(const std::string& s) {
    static const std::regex name("[a-z][a-z0-9_]{0,63}");
    return std::regex_match(s, name);
}

class PluginMetrics : public Metrics {
public:
    PluginMetrics(http::Metrics& metrics, std::string plugin) : metrics_(metrics), plugin_(std::move(plugin)) {}

    void increment(const std::string& name, const Labels& labels, double by) override {
        if (auto series = seriesOf(name, labels)) {
            metrics_.increment(series->first, series->second, by);
        }
    }
    void set(const std::string& name, const Labels& labels, double value) override {
        if (auto series = seriesOf(name, labels)) {
            metrics_.set(series->first, series->second, value);
        }
    }

private:
    std::optional<std::pair<std::string, std::string>> seriesOf(const std::string& name, const Labels& labels) {
        bool ok = validName(name);
        std::string text;
        for (const auto& [k, v] : labels) {
            ok = ok && validName(k);
            text += (text.empty() ? "" : ",") + k + "=\"" + http::promLabel(v) + "\"";
        }
        if (!ok) {
            pluginLog(LogLevel::kWarning, plugin_, "metric '" + name + "' dropped: names and labels must match [a-z][a-z0-9_]*");
            return std::nullopt;
        }
        return std::make_pair("ardoise_plugin_" + plugin_ + "_" + name, text);
    }

    http::Metrics& metrics_;
    std::string plugin_;
};

/// Fills in the defaults of a settings schema's top-level properties.
json withDefaults(const json& schema, json settings) {
    if (!settings.is_object()) {
        settings = json::object();
    }
    if (schema.is_object() && schema.contains("properties") && schema["properties"].is_object()) {
        for (const auto& [key, property] : schema["properties"].items()) {
            if (!settings.contains(key) && property.is_object() && property.contains("default")) {
                settings[key] = property["default"];
            }
        }
    }
    return settings;
}

class Services : public TenantServices {
public:
    Services(ServiceHub& hub, const PluginRuntime& runtime, std::shared_ptr<const TenantContext> tenant)
        : hub_(hub), runtime_(runtime), tenant_(std::move(tenant)), db_(hub.database(), tenant_->id) {}

    const TenantContext& tenant() const override { return *tenant_; }
    TenantDatabase& db() override { return db_; }

    Status publish(const std::string& name, const json& payload) override {
        const auto& emits = runtime_.manifest->eventsEmitted;
        if (std::find(emits.begin(), emits.end(), name) == emits.end()) {
            return {Code::kInvalidArgument, "undeclared-event",
                    plugin() + " publishes '" + name + "', which manifest.json does not list under events.emits"};
        }
        if (!payload.is_object()) {
            return {Code::kInvalidArgument, "invalid-event", "the payload of " + name + " must be a JSON object"};
        }
        auto s = db_.withConnection(
            [&](data::Connection& c) { events::publish(c, tenant_->id, name, plugin(), payload); });
        if (s.isOk()) {
            db_.afterCommit([&bus = hub_.bus()] { bus.poke(); });
        }
        return s;
    }

    Result<std::string> enqueue(const std::string& job, const json& payload, const JobOptions& options) override {
        if (!validName(job)) {
            return Status(Code::kInvalidArgument, "unknown-job", "job names match [a-z][a-z0-9_]*: '" + job + "'");
        }
        Result<std::string> id = Status(Code::kInternal, "job-not-queued", "not queued");
        auto s = db_.withConnection([&](data::Connection& c) {
            id = hub_.jobs().enqueue(c, tenant_->id, plugin() + "." + job, payload, options);
        });
        if (!s.isOk()) {
            return s;
        }
        if (id) {
            db_.afterCommit([&jobs = hub_.jobs()] { jobs.poke(); });
        }
        return id;
    }

    Result<json> settings() override {
        const auto& hooks = hub_.hooks();
        json stored = hooks.settings ? hooks.settings(tenant_->id, plugin()) : json::object();
        return withDefaults(runtime_.manifest->settingsSchema, std::move(stored));
    }

    Result<std::string> render(const std::string& name, const std::string& locale, const json& data) override {
        static const std::regex safe("[a-z0-9_][a-z0-9_/-]{0,99}");
        if (!std::regex_match(name, safe) || name.find("..") != std::string::npos) {
            return Status(Code::kInvalidArgument, "invalid-template-name", "template names match [a-z0-9_/-]: '" + name + "'");
        }
        const auto base = runtime_.folder / "templates";
        auto path = base / (name + "." + (locale == "en" ? "en" : "fr") + ".mustache");
        if (!std::filesystem::exists(path)) {
            path = base / (name + ".en.mustache");
        }
        std::ifstream in(path);
        if (!in) {
            return Status(Code::kNotFound, "template-missing", plugin() + " has no template '" + name + "'");
        }
        std::stringstream text;
        text << in.rdbuf();
        return notify::renderMustache(text.str(), data);
    }

    Status notify(const Notification& n) override {
        auto found = db_.queryOne("SELECT email, locale, status FROM users WHERE tenant_id = @tenant AND id = ?", {n.userId});
        if (!found) {
            return found.status();
        }
        if (!*found) {
            return {Code::kNotFound, "not-found", "No user " + n.userId + " in this school."};
        }
        const auto& row = **found;
        if (row.text("status") == "deactivated" || row.text("email").empty()) {
            return {Code::kFailedPrecondition, "user-unreachable", "User " + n.userId + " cannot receive email."};
        }
        const std::string locale = row.isNull("locale") ? tenant_->locale : row.text("locale");
        json data = n.data;
        data["school"] = tenant_->name;
        auto email = notify::renderEmail((runtime_.folder / "templates").string(), n.templateName, locale, data);
        if (!email) {
            return email.status();
        }
        email->to = row.text("email");
        auto s = db_.withConnection([&](data::Connection& c) { notify::enqueueEmail(c, tenant_->id, *email); });
        if (s.isOk() && hub_.outbox() != nullptr) {
            db_.afterCommit([outbox = hub_.outbox()] { outbox->poke(); });
        }
        return s;
    }

    Result<json> call(const std::string& function, const json& args) override {
        const std::string owner = function.substr(0, function.find('.'));
        const auto& required = runtime_.manifest->dependencies;
        if (required.count(owner) == 0 || !hub_.hooks().call) {
            return Status(Code::kNotFound, "unknown-function",
                          plugin() + " may call " + function + " only if manifest.json requires '" + owner + "'");
        }
        return hub_.hooks().call(function, tenant_->id, args);
    }

    Result<json> filter(const std::string& hook, const json& data, const std::vector<std::string>& adjustable,
                        bool failClosed) override {
        if (hook.rfind(plugin() + ".", 0) != 0) {
            return Status(Code::kInvalidArgument, "invalid-hook", plugin() + "'s filter hooks are named '" + plugin() + ".<hook>'");
        }
        if (!hub_.hooks().filter) {
            return data;
        }
        return hub_.hooks().filter(tenant_->id, hook, data, adjustable, failClosed);
    }

    void log(LogLevel level, const std::string& message) override { pluginLog(level, plugin(), message, tenant_->id); }
    Metrics& metrics() override { return *runtime_.metrics; }

    Status checkQuota(const std::string& limit, std::int64_t adding) override {
        const auto& hook = hub_.hooks().checkQuota;
        if (!hook) {
            return Status::ok();
        }
        Status result = Status::ok();
        auto s = db_.withConnection([&](data::Connection& c) { result = hook(c, tenant_->id, limit, adding); });
        return s.isOk() ? result : s;
    }

    Status recordUsage(const std::string& metric, std::int64_t amount) override {
        const auto& hook = hub_.hooks().recordUsage;
        if (!hook) {
            return Status::ok();
        }
        Status result = Status::ok();
        auto s = db_.withConnection([&](data::Connection& c) { result = hook(c, tenant_->id, metric, amount); });
        return s.isOk() ? result : s;
    }

    Result<std::string> textToPdf(const std::vector<std::string>& lines, const std::string& title) override {
        return billing::textToPdf(lines, title);
    }

    std::int64_t utcOffset(std::int64_t utc) override {
        auto offset = scripting::utcOffset(tenant_->timezone, utc);
        return offset ? *offset : 0;
    }

private:
    const std::string& plugin() const { return runtime_.manifest->name; }

    ServiceHub& hub_;
    const PluginRuntime& runtime_;
    std::shared_ptr<const TenantContext> tenant_;
    PluginDatabase db_;
};

std::atomic<int> logThreshold{static_cast<int>(LogLevel::kDebug)};

}  // namespace

void setPluginLogThreshold(LogLevel level) { logThreshold = static_cast<int>(level); }

void pluginLog(LogLevel level, const std::string& plugin, const std::string& message, const std::string& tenantId) {
    if (static_cast<int>(level) < logThreshold.load()) {
        return;
    }
    static std::mutex out;
    json line = {{"level", levelName(level)}, {"plugin", plugin}, {"msg", message}};
    if (!tenantId.empty()) {
        line["tenant"] = tenantId;
    }
    const std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    std::lock_guard lock(out);
    std::clog << text;
}

std::shared_ptr<TenantServices> ServiceHub::make(const PluginRuntime& runtime, std::shared_ptr<const TenantContext> tenant) {
    return std::make_shared<Services>(*this, runtime, std::move(tenant));
}

Result<std::shared_ptr<TenantServices>> ServiceHub::forTenant(const PluginRuntime& runtime, const std::string& tenantId) {
    std::optional<data::Row> row;
    {
        auto lease = db_.acquire();
        row = lease->queryOne("SELECT id, slug, name, status, locale, timezone, currency FROM tenants WHERE id = ?", {tenantId});
    }
    if (!row) {
        return Status(Code::kNotFound, "not-found", "No tenant " + tenantId + ".");
    }
    auto tenant = std::make_shared<TenantContext>(TenantContext{row->text("id"), row->text("slug"), row->text("name"),
                                                                row->text("status"), row->text("locale"),
                                                                row->text("timezone"), row->text("currency")});
    return make(runtime, std::move(tenant));
}

bool ServiceHub::enabled(const std::string& tenantId, const std::string& plugin) const {
    return hooks_.enabled && hooks_.enabled(tenantId, plugin);
}

std::unique_ptr<Metrics> ServiceHub::pluginMetrics(const std::string& plugin) {
    return std::make_unique<PluginMetrics>(metrics_, plugin);
}

}  // namespace ardoise::kernel::plugins
