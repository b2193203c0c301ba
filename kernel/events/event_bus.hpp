#pragma once
// The event bus: events are rows of platform_events written in the
// publisher's transaction (the outbox), then dispatched in order by a
// background thread to every matching subscriber. A subscriber that fails
// gets the event again through a retry job (kernel.event_delivery), so each
// subscriber sees each event at least once; Event::id is the idempotency key.

#include <ardoise/services.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/data/database.hpp"
#include "kernel/events/job_queue.hpp"
#include "kernel/http/metrics.hpp"

namespace ardoise::kernel::events {

/// A subscriber's handler. It may run on any background thread.
using EventFunction = std::function<Status(const Event&)>;

/// Writes an event on `conn` (joining the caller's transaction); its id.
std::string publish(data::Connection& conn, const std::string& tenantId, const std::string& name,
                    const std::string& source, const nlohmann::json& payload);

class EventBus {
public:
    EventBus(data::Database& db, JobQueue& jobs, http::Metrics& metrics);
    ~EventBus() { stop(); }
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    /// `subscriber` names who listens ("plugin:announcements", "lua");
    /// `eventName` is an exact name or "*". Before start() only.
    void subscribe(const std::string& subscriber, const std::string& eventName, EventFunction handler);

    void start();
    void stop();
    /// Wakes the dispatcher (after a commit that published).
    void poke();
    /// Dispatches one batch of pending events on the calling thread; how many.
    int dispatchOnce();
    /// Dispatches until no event is pending; how many. For tests and tools.
    int drain();
    /// Events dispatched since construction, by any thread.
    std::uint64_t dispatched() const { return dispatched_.load(std::memory_order_relaxed); }

private:
    struct Subscription {
        std::string subscriber;
        std::string eventName;
        EventFunction handler;
    };
    const Subscription* find(const std::string& subscriber, const std::string& eventName) const;
    Status deliver(const Subscription& s, const Event& event);

    data::Database& db_;
    JobQueue& jobs_;
    http::Metrics& metrics_;
    std::vector<Subscription> subscriptions_;
    std::thread thread_;
    std::atomic<bool> running_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t pokes_ = 0;  // guarded by mutex_
    std::atomic<std::uint64_t> dispatched_{0};
};

}  // namespace ardoise::kernel::events
