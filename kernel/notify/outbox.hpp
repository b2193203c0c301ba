#pragma once
// Durable email outbox: messages are stored in the same database as the
// change that caused them, then delivered by a background worker with
// retries, so a crash between "user invited" and "email sent" loses nothing.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::notify {

struct Email {
    std::string to;
    std::string subject;
    std::string body;
};

/// Renders a Mustache text with `values` (HTML-escaped unless {{{triple}}}).
/// kInvalidArgument "template-invalid" for a syntax error.
Result<std::string> renderMustache(const std::string& text, const nlohmann::json& values);

/// Renders templates/email/<name>.<locale>.mustache: a "Subject: …" line, a
/// blank line, then the text body. Falls back to English.
Result<Email> renderEmail(const std::string& templatesDir, const std::string& name, const std::string& locale,
                          const nlohmann::json& values);

/// Queues a message on `conn` (join the caller's transaction for atomicity).
void enqueueEmail(data::Connection& conn, const std::string& tenantId, const Email& email);

using EmailSender = std::function<Status(const Email&)>;

class OutboxWorker {
public:
    OutboxWorker(data::Database& db, EmailSender sender, int maxAttempts = 8)
        : db_(db), sender_(std::move(sender)), maxAttempts_(maxAttempts) {}
    ~OutboxWorker() { stop(); }

    void start();
    void stop();
    /// Sends what is due now; returns the number sent. Used by the worker and tests.
    int drainOnce();
    /// Wakes the worker (after enqueueing).
    void poke();

private:
    data::Database& db_;
    EmailSender sender_;
    int maxAttempts_;
    std::thread thread_;
    std::atomic<bool> running_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool poked_ = false;  // guarded by mutex_
};

}  // namespace ardoise::kernel::notify
