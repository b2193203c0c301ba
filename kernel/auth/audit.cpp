#include "kernel/auth/audit.hpp"

#include "kernel/data/ids.hpp"

namespace ardoise::kernel::auth {

void recordAudit(tenancy::TenantDb& db, const AuditEntry& e) {
    db.exec("INSERT INTO audit_log (tenant_id, id, at, actor_id, action, target, ip, request_id, details) "
            "VALUES (@tenant, ?, ?, ?, ?, ?, ?, ?, ?)",
            {data::newId(), data::nowSeconds(), e.actorId.empty() ? data::null() : data::Value(e.actorId), e.action,
             e.target.empty() ? data::null() : data::Value(e.target), e.ip, e.requestId, e.details.dump()});
}

nlohmann::json listAudit(tenancy::TenantDb& db, int limit, const std::string& before, const std::string& action) {
    // Cursor: "<at>.<id>" of the last item of the previous page.
    std::int64_t beforeAt = INT64_MAX;
    std::string beforeId = "~";
    if (auto dot = before.find('.'); dot != std::string::npos) {
        try {
            beforeAt = std::stoll(before.substr(0, dot));
            beforeId = before.substr(dot + 1);
        } catch (const std::exception&) {
        }
    }
    std::string sql =
        "SELECT id, at, actor_id, action, target, ip, request_id, details FROM audit_log "
        "WHERE tenant_id = @tenant AND (at < ? OR (at = ? AND id < ?))";
    data::Params params{beforeAt, beforeAt, beforeId};
    if (!action.empty()) {
        sql += " AND action = ?";
        params.emplace_back(action);
    }
    sql += " ORDER BY at DESC, id DESC LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(limit + 1));
    auto rows = db.query(sql, params);
    nlohmann::json items = nlohmann::json::array();
    for (std::size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i) {
        const auto& r = rows[i];
        items.push_back({{"id", r.text("id")},
                         {"at", r.integer("at")},
                         {"actor_id", r.optText("actor_id") ? nlohmann::json(r.text("actor_id")) : nullptr},
                         {"action", r.text("action")},
                         {"target", r.optText("target") ? nlohmann::json(r.text("target")) : nullptr},
                         {"ip", r.text("ip")},
                         {"request_id", r.text("request_id")},
                         {"details", nlohmann::json::parse(r.text("details"), nullptr, false)}});
    }
    nlohmann::json out = {{"items", items}, {"next_cursor", nullptr}};
    if (static_cast<int>(rows.size()) > limit) {
        out["next_cursor"] = std::to_string(items.back()["at"].get<std::int64_t>()) + "." +
                             items.back()["id"].get<std::string>();
    }
    return out;
}

}  // namespace ardoise::kernel::auth
