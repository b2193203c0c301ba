#include "kernel/notify/outbox.hpp"

#include <kainjow/mustache.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "kernel/data/ids.hpp"

namespace ardoise::kernel::notify {
namespace {

kainjow::mustache::data toData(const nlohmann::json& j) {
    if (j.is_object()) {
        kainjow::mustache::data d{kainjow::mustache::data::type::object};
        for (const auto& [k, v] : j.items()) {
            d.set(k, toData(v));
        }
        return d;
    }
    if (j.is_array()) {
        kainjow::mustache::data d{kainjow::mustache::data::type::list};
        for (const auto& v : j) {
            d.push_back(toData(v));
        }
        return d;
    }
    if (j.is_string()) {
        return {j.get<std::string>()};
    }
    if (j.is_boolean()) {
        return j.get<bool>() ? kainjow::mustache::data{kainjow::mustache::data::type::bool_true}
                             : kainjow::mustache::data{kainjow::mustache::data::type::bool_false};
    }
    if (j.is_null()) {
        return {kainjow::mustache::data::type::bool_false};
    }
    return {j.dump()};
}

}  // namespace

Result<std::string> renderMustache(const std::string& text, const nlohmann::json& values) {
    kainjow::mustache::mustache tmpl{text};
    if (!tmpl.is_valid()) {
        return Status(Code::kInvalidArgument, "template-invalid", tmpl.error_message());
    }
    return tmpl.render(toData(values));
}

Result<Email> renderEmail(const std::string& templatesDir, const std::string& name, const std::string& locale,
                          const nlohmann::json& values) {
    namespace fs = std::filesystem;
    fs::path path = fs::path(templatesDir) / "email" / (name + "." + locale + ".mustache");
    if (!fs::exists(path)) {
        path = fs::path(templatesDir) / "email" / (name + ".en.mustache");
    }
    std::ifstream in(path);
    if (!in) {
        return Status(Code::kInternal, "template-missing", "Email template " + name + " is missing.");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto rendered = renderMustache(ss.str(), values);
    if (!rendered) {
        return Status(Code::kInternal, "template-invalid", "Email template " + name + ": " + rendered.status().message());
    }
    const std::string& text = *rendered;
    Email email;
    const std::string prefix = "Subject: ";
    auto eol = text.find('\n');
    if (text.rfind(prefix, 0) != 0 || eol == std::string::npos) {
        return Status(Code::kInternal, "template-invalid", "Email template " + name + " must start with 'Subject: '.");
    }
    // Mustache escapes HTML; these are plain-text mails, so undo the entities.
    auto unescape = [](std::string s) {
        const std::pair<const char*, const char*> entities[] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
        for (const auto& [from, to] : entities) {
            for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + 1)) {
                s.replace(p, std::strlen(from), to);
            }
        }
        return s;
    };
    email.subject = unescape(text.substr(prefix.size(), eol - prefix.size()));
    auto bodyStart = text.find_first_not_of('\n', eol);
    email.body = unescape(bodyStart == std::string::npos ? "" : text.substr(bodyStart));
    return email;
}

void enqueueEmail(data::Connection& conn, const std::string& tenantId, const Email& email) {
    const auto now = data::nowSeconds();
    conn.exec("INSERT INTO platform_mail_outbox (id, tenant_id, recipient, subject, body, status, attempts, "
              "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
              {data::newId(), tenantId.empty() ? data::null() : data::Value(tenantId), email.to, email.subject,
               email.body, now, now});
}

int OutboxWorker::drainOnce() {
    auto lease = db_.acquire();
    auto due = lease->query(
        "SELECT id, recipient, subject, body, attempts FROM platform_mail_outbox "
        "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 50",
        {data::nowSeconds()});
    int sent = 0;
    for (const auto& r : due) {
        Status s = sender_({r.text("recipient"), r.text("subject"), r.text("body")});
        const auto attempts = r.integer("attempts") + 1;
        if (s.isOk()) {
            lease->exec("UPDATE platform_mail_outbox SET status = 'sent', attempts = ?, sent_at = ? WHERE id = ?",
                        {attempts, data::nowSeconds(), r.text("id")});
            ++sent;
        } else {
            const bool giveUp = attempts >= maxAttempts_;
            const std::int64_t backoff = std::int64_t{15} << std::min<std::int64_t>(attempts, 10);
            lease->exec("UPDATE platform_mail_outbox SET status = ?, attempts = ?, next_attempt_at = ?, "
                        "last_error = ? WHERE id = ?",
                        {std::string(giveUp ? "failed" : "pending"), attempts, data::nowSeconds() + backoff,
                         s.message(), r.text("id")});
            std::clog << R"({"level":"warn","msg":"email delivery failed","attempts":)" << attempts
                      << R"(,"error":)" << nlohmann::json(s.message()).dump() << "}\n";
        }
    }
    return sent;
}

void OutboxWorker::start() {
    running_ = true;
    thread_ = std::thread([this] {
        while (running_) {
            try {
                drainOnce();
            } catch (const std::exception& e) {
                std::clog << R"({"level":"warn","msg":"outbox worker","error":)" << nlohmann::json(e.what()).dump()
                          << "}\n";
            }
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::seconds(1), [this] { return !running_ || poked_; });
            poked_ = false;
        }
    });
}

void OutboxWorker::poke() {
    {
        std::lock_guard lock(mutex_);
        poked_ = true;
    }
    wake_.notify_all();
}

void OutboxWorker::stop() {
    if (running_.exchange(false)) {
        wake_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
    }
}

}  // namespace ardoise::kernel::notify
