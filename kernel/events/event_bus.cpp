#include "kernel/events/event_bus.hpp"

#include <chrono>
#include <iostream>

#include "kernel/data/ids.hpp"

namespace ardoise::kernel::events {
namespace {

using nlohmann::json;

constexpr const char* kDeliveryJob = "kernel.event_delivery";
constexpr int kBatch = 256;
constexpr auto kGather = std::chrono::milliseconds(1);  // latency added to a stream of events
constexpr std::int64_t kLeaseSeconds = 60;
constexpr std::int64_t kRetentionSeconds = 30 * 86400;

void logLine(const std::string& level, const std::string& message, const json& extra) {
    json line = {{"level", level}, {"msg", message}};
    line.update(extra);
    std::clog << line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Event toEvent(const data::Row& r) {
    Event e;
    e.id = r.text("id");
    e.name = r.text("name");
    e.tenantId = r.text("tenant_id");
    e.source = r.text("source");
    e.payload = json::parse(r.text("payload"), nullptr, false);
    e.occurredAt = r.integer("created_at");
    return e;
}

}  // namespace

std::string publish(data::Connection& conn, const std::string& tenantId, const std::string& name,
                    const std::string& source, const json& payload) {
    const std::string id = data::newId();
    conn.exec("INSERT INTO platform_events (id, seq, tenant_id, name, source, payload, status, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
              {id, nextSequence(), tenantId, name, source, payload.dump(), data::nowSeconds()});
    return id;
}

EventBus::EventBus(data::Database& db, JobQueue& jobs, http::Metrics& metrics)
    : db_(db), jobs_(jobs), metrics_(metrics) {
    jobs_.registerHandler(kDeliveryJob, [this](const Job& job, JobControl&) -> Result<json> {
        const std::string subscriber = job.payload.value("subscriber", "");
        const std::string eventId = job.payload.value("event_id", "");
        std::optional<data::Row> row;
        {
            auto lease = db_.acquire();
            row = lease->queryOne("SELECT id, tenant_id, name, source, payload, created_at FROM platform_events "
                                  "WHERE id = ? AND tenant_id = ?",
                                  {eventId, job.tenantId});
        }
        if (!row) {
            return json{{"skipped", "event no longer exists"}};
        }
        Event event = toEvent(*row);
        const auto* s = find(subscriber, event.name);
        if (s == nullptr) {
            return json{{"skipped", "subscriber no longer listens"}};
        }
        event.attempt = job.attempt + 1;  // the dispatcher's try was the first
        if (auto st = deliver(*s, event); !st.isOk()) {
            return st;
        }
        return json{{"delivered", eventId}, {"subscriber", subscriber}};
    });
}

void EventBus::subscribe(const std::string& subscriber, const std::string& eventName, EventFunction handler) {
    subscriptions_.push_back({subscriber, eventName, std::move(handler)});
}

const EventBus::Subscription* EventBus::find(const std::string& subscriber, const std::string& eventName) const {
    for (const auto& s : subscriptions_) {
        if (s.subscriber == subscriber && (s.eventName == eventName || s.eventName == "*")) {
            return &s;
        }
    }
    return nullptr;
}

Status EventBus::deliver(const Subscription& s, const Event& event) {
    Status result;
    try {
        result = s.handler(event);
    } catch (const std::exception& e) {
        result = Status(Code::kInternal, "subscriber-threw", std::string("the handler threw: ") + e.what());
    } catch (...) {
        result = Status(Code::kInternal, "subscriber-threw", "the handler threw a non-standard exception");
    }
    metrics_.increment("ardoise_event_deliveries_total", "subscriber=\"" + http::promLabel(s.subscriber) +
                                                             "\",outcome=\"" + (result.isOk() ? "ok" : "failed") + "\"");
    if (!result.isOk()) {
        logLine("warn", "event delivery failed",
                {{"event", event.id}, {"name", event.name}, {"subscriber", s.subscriber}, {"attempt", event.attempt},
                 {"error", result.message()}});
    }
    return result;
}

int EventBus::dispatchOnce() {
    std::vector<data::Row> rows;
    {
        auto lease = db_.acquire();
        const bool pg = lease->dialect() == data::Dialect::kPostgres;
        const auto now = data::nowSeconds();
        if (pg) {
            // Several nodes: lease the batch so no other dispatcher takes it.
            data::Transaction tx(*lease);
            rows = lease->query("SELECT id, tenant_id, name, source, payload, created_at FROM platform_events "
                                "WHERE status = 'pending' AND (locked_until IS NULL OR locked_until < ?) "
                                "ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED",
                                {now, std::int64_t{kBatch}});
            for (const auto& r : rows) {
                lease->exec("UPDATE platform_events SET locked_until = ? WHERE id = ?", {now + kLeaseSeconds, r.text("id")});
            }
            tx.commit();
        } else {
            // SQLite serves one node, whose only dispatcher is this thread.
            rows = lease->query("SELECT id, tenant_id, name, source, payload, created_at FROM platform_events "
                                "WHERE status = 'pending' ORDER BY seq LIMIT ?",
                                {std::int64_t{kBatch}});
        }
    }
    if (rows.empty()) {
        return 0;
    }
    std::vector<std::pair<const Subscription*, Event>> failed;
    for (const auto& r : rows) {
        const Event event = toEvent(r);
        for (const auto& s : subscriptions_) {
            if (s.eventName == event.name || s.eventName == "*") {
                if (!deliver(s, event).isOk()) {
                    failed.emplace_back(&s, event);
                }
            }
        }
    }
    auto lease = db_.acquire();
    data::Transaction tx(*lease);
    for (const auto& [s, event] : failed) {
        JobOptions retry;
        retry.maxAttempts = 8;
        retry.delaySeconds = 5;
        auto queued = jobs_.enqueue(*lease, event.tenantId, kDeliveryJob,
                                    {{"event_id", event.id}, {"subscriber", s->subscriber}}, retry);
        if (!queued) {
            logLine("error", "event retry not queued", {{"event", event.id}, {"error", queued.status().message()}});
        }
    }
    const auto now = data::nowSeconds();
    // One statement for the batch.
    std::string sql = "UPDATE platform_events SET status = 'dispatched', dispatched_at = ?, locked_until = NULL "
                      "WHERE id IN (";
    data::Params params;
    params.reserve(rows.size() + 1);
    params.emplace_back(now);
    for (const auto& r : rows) {
        sql += params.size() == 1 ? "?" : ", ?";
        params.emplace_back(r.text("id"));
    }
    lease->exec(sql + ")", params);
    tx.commit();
    if (!failed.empty()) {
        jobs_.poke();
    }
    metrics_.increment("ardoise_events_dispatched_total", "", static_cast<double>(rows.size()));
    dispatched_.fetch_add(rows.size(), std::memory_order_relaxed);
    return static_cast<int>(rows.size());
}

int EventBus::drain() {
    int total = 0;
    for (int n = dispatchOnce(); n > 0; n = dispatchOnce()) {
        total += n;
    }
    return total;
}

void EventBus::start() {
    if (running_.exchange(true)) {
        return;
    }
    thread_ = std::thread([this] {
        auto lastPurge = std::chrono::steady_clock::time_point{};
        while (running_) {
            std::uint64_t seen = 0;
            {
                std::lock_guard lock(mutex_);
                seen = pokes_;
            }
            int n = 0;
            try {
                if (std::chrono::steady_clock::now() - lastPurge > std::chrono::hours(1)) {
                    lastPurge = std::chrono::steady_clock::now();
                    auto lease = db_.acquire();
                    const auto horizon = data::nowSeconds() - kRetentionSeconds;
                    lease->exec("DELETE FROM platform_events WHERE status = 'dispatched' AND dispatched_at < ?", {horizon});
                    lease->exec("DELETE FROM platform_jobs WHERE status IN ('succeeded', 'failed', 'canceled') AND "
                                "finished_at < ?",
                                {horizon});
                }
                n = dispatchOnce();
            } catch (const std::exception& e) {
                logLine("warn", "event dispatcher", {{"error", e.what()}});
            }
            if (n == 0) {
                std::unique_lock lock(mutex_);
                wake_.wait_for(lock, std::chrono::seconds(1), [&] { return !running_ || pokes_ != seen; });
            } else if (n < kBatch) {
                // Group commit: a short pause lets events gather, so the next
                // batch pays its write transaction over more of them.
                std::this_thread::sleep_for(kGather);
            }
        }
    });
}

void EventBus::poke() {
    {
        std::lock_guard lock(mutex_);
        ++pokes_;
    }
    wake_.notify_all();
}

void EventBus::stop() {
    if (running_.exchange(false)) {
        wake_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
    }
}

}  // namespace ardoise::kernel::events
