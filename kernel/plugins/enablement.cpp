#include "kernel/plugins/enablement.hpp"

#include <mutex>

#include "kernel/http/json_schema.hpp"
#include "kernel/tenancy/tenant_db.hpp"

namespace ardoise::kernel::plugins {
namespace {
constexpr auto kCacheTtl = std::chrono::seconds(2);

Status unknownPlugin(const std::string& plugin) {
    return {Code::kNotFound, "not-found", "No module named " + plugin + " is installed."};
}
}  // namespace

const PluginRecord* Enablement::loaded(const std::string& plugin) const {
    for (const auto& r : host_.records()) {
        if (r.name == plugin && r.loaded) {
            return &r;
        }
    }
    return nullptr;
}

TenantPluginState Enablement::read(const std::string& tenantId, const std::string& plugin) {
    TenantPluginState state;
    // Scoped: its connection goes back to the pool before the plan is read.
    if (auto row = tenancy::TenantDb(db_, tenantId).queryOne("SELECT allowed, enabled, settings FROM tenant_plugins WHERE tenant_id = @tenant AND plugin = ?",
                               {plugin})) {
        state.allowed = row->integer("allowed") != 0;
        state.enabled = row->integer("enabled") != 0;
        auto settings = nlohmann::json::parse(row->text("settings"), nullptr, false);
        state.settings = settings.is_object() ? settings : nlohmann::json::object();
    }
    if (!state.allowed && plans_.includes) {
        const auto* record = loaded(plugin);
        const std::string feature = record != nullptr && record->manifest ? record->manifest->planFeature : plugin;
        state.allowed = plans_.includes(tenantId, feature).value_or(false);
    }
    return state;
}

void Enablement::invalidate(const std::string& tenantId, const std::string& plugin) {
    std::unique_lock lock(mutex_);
    cache_.erase({tenantId, plugin});
}

TenantPluginState Enablement::cached(const std::string& tenantId, const std::string& plugin) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::shared_lock lock(mutex_);
        auto it = cache_.find({tenantId, plugin});
        if (it != cache_.end() && now - it->second.at < kCacheTtl) {
            return it->second.state;
        }
    }
    TenantPluginState state = read(tenantId, plugin);
    std::unique_lock lock(mutex_);
    if (cache_.size() > 100000) {
        cache_.clear();
    }
    cache_[{tenantId, plugin}] = {state, now};
    return state;
}

nlohmann::json Enablement::settings(const std::string& tenantId, const std::string& plugin) {
    return cached(tenantId, plugin).settings;
}

Status Enablement::gate(const std::string& tenantId, const std::string& plugin) {
    const TenantPluginState state = cached(tenantId, plugin);
    if (!state.allowed) {
        const auto* record = loaded(plugin);
        return notInPlan(tenantId, plugin,
                         record != nullptr && record->manifest ? record->manifest->planFeature : plugin);
    }
    if (!state.enabled) {
        return {Code::kNotFound, "not-found", "No resource at this address."};
    }
    return Status::ok();
}

Status Enablement::notInPlan(const std::string& tenantId, const std::string& plugin, const std::string& feature) const {
    const auto cheapest = plans_.cheapestWith ? plans_.cheapestWith(tenantId, feature) : std::nullopt;
    Status s(Code::kPermissionDenied, "plugin-not-in-plan",
             "The " + plugin + " module is not part of this school's plan (feature " + feature + ")" +
                 (cheapest ? "; the plan " + *cheapest + " includes it." : "."));
    s.addExtra("feature", feature);
    if (cheapest) {
        s.addExtra("plan", *cheapest).addExtra("detail_variant", "upgrade");
    }
    return s;
}

nlohmann::json Enablement::toJson(const PluginRecord& r, const TenantPluginState& state) const {
    return {{"name", r.name},
            {"version", r.version},
            {"description", {{"fr", r.manifest->description.fr}, {"en", r.manifest->description.en}}},
            {"plan_feature", r.manifest->planFeature},
            {"allowed", state.allowed},
            {"enabled", state.enabled},
            {"settings", state.settings},
            {"settings_schema", r.manifest->settingsSchema.is_null() ? nlohmann::json::object() : r.manifest->settingsSchema}};
}

nlohmann::json Enablement::list(const std::string& tenantId) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : host_.records()) {
        if (r.loaded) {
            items.push_back(toJson(r, read(tenantId, r.name)));
        }
    }
    return {{"items", items}};
}

Result<nlohmann::json> Enablement::get(const std::string& tenantId, const std::string& plugin) {
    const auto* record = loaded(plugin);
    if (record == nullptr) {
        return unknownPlugin(plugin);
    }
    return toJson(*record, read(tenantId, plugin));
}

Result<nlohmann::json> Enablement::configure(const std::string& tenantId, const std::string& plugin,
                                             const nlohmann::json& patch) {
    const auto* record = loaded(plugin);
    if (record == nullptr) {
        return unknownPlugin(plugin);
    }
    TenantPluginState state = read(tenantId, plugin);
    if (patch.contains("settings")) {
        const auto& schema = record->manifest->settingsSchema;
        auto errors = http::validateJson(schema.is_null() ? nlohmann::json{{"type", "object"}, {"additionalProperties", false}}
                                                          : schema,
                                         patch["settings"]);
        if (!errors.empty()) {
            Status s(Code::kInvalidArgument, "validation", "Some settings are invalid.");
            for (auto& e : errors) {
                e.pointer = "/settings" + e.pointer;
                s.addField(std::move(e));
            }
            return s;
        }
        state.settings = patch["settings"];
    }
    if (patch.contains("enabled")) {
        const bool enable = patch["enabled"].get<bool>();
        if (enable && !state.allowed) {
            return notInPlan(tenantId, plugin, record->manifest->planFeature);
        }
        state.enabled = enable;
    }
    tenancy::TenantDb db(db_, tenantId);
    const auto now = data::nowSeconds();
    // Upsert without dialect-specific syntax: update, then insert if nothing was there.
    if (db.exec("UPDATE tenant_plugins SET enabled = ?, settings = ?, updated_at = ? WHERE tenant_id = @tenant AND plugin = ?",
                {std::int64_t{state.enabled}, state.settings.dump(), now, plugin}) == 0) {
        db.exec("INSERT INTO tenant_plugins (tenant_id, plugin, allowed, enabled, settings, updated_at) "
                "VALUES (@tenant, ?, 0, ?, ?, ?)",
                {plugin, std::int64_t{state.enabled}, state.settings.dump(), now});
    }
    invalidate(tenantId, plugin);
    return toJson(*record, state);
}

Result<nlohmann::json> Enablement::setAllowed(const std::string& tenantId, const std::string& plugin, bool allowed) {
    const auto* record = loaded(plugin);
    if (record == nullptr) {
        return unknownPlugin(plugin);
    }
    tenancy::TenantDb db(db_, tenantId);
    const auto now = data::nowSeconds();
    if (db.exec("UPDATE tenant_plugins SET allowed = ?, enabled = CASE WHEN ? = 0 THEN 0 ELSE enabled END, updated_at = ? "
                "WHERE tenant_id = @tenant AND plugin = ?",
                {std::int64_t{allowed}, std::int64_t{allowed}, now, plugin}) == 0) {
        db.exec("INSERT INTO tenant_plugins (tenant_id, plugin, allowed, enabled, settings, updated_at) "
                "VALUES (@tenant, ?, ?, 0, '{}', ?)",
                {plugin, std::int64_t{allowed}, now});
    }
    invalidate(tenantId, plugin);
    return toJson(*record, read(tenantId, plugin));
}

}  // namespace ardoise::kernel::plugins
