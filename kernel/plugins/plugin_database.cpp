#include "kernel/plugins/plugin_database.hpp"

#include <stdexcept>

#include "kernel/data/ids.hpp"

namespace ardoise::kernel::plugins {
namespace {

data::Params toParams(const std::vector<SqlValue>& params) {
    data::Params out;
    out.reserve(params.size());
    for (const auto& p : params) {
        std::visit([&out](const auto& v) { out.emplace_back(v); }, p);
    }
    return out;
}

SqlRow toRow(const data::Row& row) {
    auto names = std::make_shared<const std::vector<std::string>>(row.names());
    std::vector<SqlValue> values;
    values.reserve(row.size());
    for (std::size_t i = 0; i < row.size(); ++i) {
        std::visit([&values](const auto& v) { values.emplace_back(v); }, row.at(i));
    }
    return {std::move(names), std::move(values)};
}

Status statusOf(const data::DbError& e) {
    switch (e.kind()) {
        case data::DbError::Kind::kUniqueViolation:
            return {Code::kConflict, "unique-violation", e.what()};
        case data::DbError::Kind::kForeignKeyViolation:
            return {Code::kFailedPrecondition, "foreign-key-violation", e.what()};
        case data::DbError::Kind::kUnavailable:
            return {Code::kUnavailable, "database-unavailable", "The database is unavailable."};
        case data::DbError::Kind::kOther:
            break;
    }
    return {Code::kInternal, "sql-error", e.what()};
}

/// Runs a database call and turns the kernel's exceptions into Statuses.
template <typename F>
auto guarded(F&& f) -> Result<decltype(f())> {
    try {
        return f();
    } catch (const std::logic_error& e) {
        return Status(Code::kInternal, "sql-not-tenant-scoped", e.what());  // a plugin bug
    } catch (const data::DbError& e) {
        return statusOf(e);
    }
}

}  // namespace

Result<std::vector<SqlRow>> PluginDatabase::query(const std::string& sql, const std::vector<SqlValue>& params) {
    return guarded([&] {
        std::vector<SqlRow> rows;
        for (const auto& r : db_.query(sql, toParams(params))) {
            rows.push_back(toRow(r));
        }
        return rows;
    });
}

Result<std::optional<SqlRow>> PluginDatabase::queryOne(const std::string& sql, const std::vector<SqlValue>& params) {
    return guarded([&]() -> std::optional<SqlRow> {
        auto row = db_.queryOne(sql, toParams(params));
        if (!row) {
            return std::nullopt;
        }
        return toRow(*row);
    });
}

Result<std::int64_t> PluginDatabase::execute(const std::string& sql, const std::vector<SqlValue>& params) {
    return guarded([&] { return db_.exec(sql, toParams(params)); });
}

Status PluginDatabase::transaction(const std::function<Status(TenantDatabase&)>& work) {
    if (inTransaction_) {
        return {Code::kFailedPrecondition, "nested-transaction", "transactions do not nest"};
    }
    try {
        data::Transaction tx(db_.connection());
        inTransaction_ = true;
        Status s;
        try {
            s = work(*this);
        } catch (...) {
            inTransaction_ = false;
            afterCommit_.clear();
            throw;  // rolled back by tx; the plugin boundary reports it
        }
        inTransaction_ = false;
        auto actions = std::move(afterCommit_);
        afterCommit_.clear();
        if (s.isOk()) {
            tx.commit();
            for (auto& a : actions) {
                a();
            }
        }
        return s;
    } catch (const data::DbError& e) {
        inTransaction_ = false;
        afterCommit_.clear();
        return statusOf(e);
    }
}

Status PluginDatabase::withConnection(const std::function<void(data::Connection&)>& work) {
    try {
        work(db_.connection());
        return Status::ok();
    } catch (const data::DbError& e) {
        return statusOf(e);
    }
}

void PluginDatabase::afterCommit(std::function<void()> action) {
    if (inTransaction_) {
        afterCommit_.push_back(std::move(action));
    } else {
        action();
    }
}

std::string PluginDatabase::newId() { return data::newId(); }

}  // namespace ardoise::kernel::plugins
