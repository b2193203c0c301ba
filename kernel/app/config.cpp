#include "kernel/app/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

namespace ardoise::kernel::app {
namespace {

struct Key {
    const char* name;
    const char* help;
    std::function<Status(Config&, const nlohmann::json&)> set;
};

template <typename T>
std::function<Status(Config&, const nlohmann::json&)> setter(T Config::*member, const char* name) {
    return [member, name](Config& c, const nlohmann::json& v) -> Status {
        try {
            if constexpr (std::is_same_v<T, std::string>) {
                c.*member = v.is_string() ? v.get<std::string>() : v.dump();
            } else if constexpr (std::is_same_v<T, bool>) {
                c.*member = v.is_string() ? (v == "1" || v == "true" || v == "yes") : v.get<bool>();
            } else if constexpr (std::is_same_v<T, int>) {
                c.*member = v.is_string() ? std::stoi(v.get<std::string>()) : v.get<int>();
            } else {
                c.*member = v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
            }
        } catch (const std::exception&) {
            return {Code::kInvalidArgument, "config", std::string("configuration key ") + name + " has a wrong type"};
        }
        return Status::ok();
    };
}

const std::vector<Key>& keys() {
    static const std::vector<Key> k = {
        {"database_url", "sqlite:PATH or postgresql://user:pass@host:port/db", setter(&Config::databaseUrl, "database_url")},
        {"database_admin_url", "owner connection used by migrate (PostgreSQL)", setter(&Config::databaseAdminUrl, "database_admin_url")},
        {"database_app_role", "role granted DML after migrations (PostgreSQL)", setter(&Config::databaseAppRole, "database_app_role")},
        {"database_pool", "connections in the pool", setter(&Config::databasePool, "database_pool")},
        {"listen", "HOST:PORT to serve on", setter(&Config::listen, "listen")},
        {"base_domain", "tenants answer at <slug>.<base_domain>", setter(&Config::baseDomain, "base_domain")},
        {"public_url", "base URL used in emails", setter(&Config::publicUrl, "public_url")},
        {"jwt_keys", "kid:secret[,kid:secret…]; the first signs", setter(&Config::jwtKeys, "jwt_keys")},
        {"jwt_issuer", "iss claim", setter(&Config::jwtIssuer, "jwt_issuer")},
        {"jwt_audience", "aud claim", setter(&Config::jwtAudience, "jwt_audience")},
        {"access_token_ttl", "access token lifetime, seconds", setter(&Config::accessTokenTtl, "access_token_ttl")},
        {"data_dir", "SQLite file, generated keys and exports", setter(&Config::dataDir, "data_dir")},
        {"share_dir", "folder holding templates/ and migrations", setter(&Config::shareDir, "share_dir")},
        {"smtp_host", "SMTP relay host", setter(&Config::smtpHost, "smtp_host")},
        {"smtp_port", "SMTP relay port", setter(&Config::smtpPort, "smtp_port")},
        {"mail_from", "From: of outgoing mail", setter(&Config::mailFrom, "mail_from")},
        {"http_threads", "concurrent connections served", setter(&Config::httpThreads, "http_threads")},
        {"http_max_queued", "connections waiting for a thread", setter(&Config::httpMaxQueued, "http_max_queued")},
        {"max_body_bytes", "largest request body", setter(&Config::maxBodyBytes, "max_body_bytes")},
        {"rate_tenant_per_second", "requests per second per tenant", setter(&Config::rateTenantPerSecond, "rate_tenant_per_second")},
        {"rate_auth_per_minute", "sign-in attempts per minute per IP and account", setter(&Config::rateAuthPerMinute, "rate_auth_per_minute")},
        {"access_log", "JSON access log on stderr", setter(&Config::accessLog, "access_log")},
        {"hash_concurrency", "password hashes computed at once", setter(&Config::hashConcurrency, "hash_concurrency")},
        {"hash_queue", "password hashes waiting before 429", setter(&Config::hashQueue, "hash_queue")},
        {"outbox", "run the email delivery worker", setter(&Config::outbox, "outbox")},
        {"script_instructions", "Lua instruction budget per run", setter(&Config::scriptInstructions, "script_instructions")},
        {"script_memory_mb", "Lua memory cap per school, MB", setter(&Config::scriptMemoryMb, "script_memory_mb")},
        {"script_deadline_ms", "Lua wall-clock limit per run, ms", setter(&Config::scriptDeadlineMs, "script_deadline_ms")},
        {"script_filter_deadline_ms", "Lua wall-clock limit per synchronous filter, ms", setter(&Config::scriptFilterDeadlineMs, "script_filter_deadline_ms")},
        {"job_workers", "background job threads (0: no job workers and no event dispatcher)", setter(&Config::jobWorkers, "job_workers")},
        {"plugin_path", "':'-separated folders holding plugin folders (default: build tree, then <prefix>/lib/ardoise/plugins)", setter(&Config::pluginPath, "plugin_path")},
        {"stripe_api_base", "Stripe API base URL (a mock in tests)", setter(&Config::stripeApiBase, "stripe_api_base")},
        {"stripe_secret_key", "Stripe secret key sk_…; empty: no payments through Stripe", setter(&Config::stripeSecretKey, "stripe_secret_key")},
        {"stripe_webhook_secrets", "webhook signing secrets whsec_…[,whsec_…] (several during a rotation)", setter(&Config::stripeWebhookSecrets, "stripe_webhook_secrets")},
        {"stripe_connect_timeout_ms", "Stripe connect timeout, ms", setter(&Config::stripeConnectTimeoutMs, "stripe_connect_timeout_ms")},
        {"stripe_timeout_ms", "Stripe request timeout per attempt, ms", setter(&Config::stripeTimeoutMs, "stripe_timeout_ms")},
        {"stripe_max_retries", "Stripe retries after the first attempt", setter(&Config::stripeMaxRetries, "stripe_max_retries")},
        {"billing_grace_days", "days a school stays past_due before it is suspended (read-only)", setter(&Config::billingGraceDays, "billing_grace_days")},
        {"billing_sweep_seconds", "period of the billing sweep (late Stripe events, grace days, API call counters); 0: none", setter(&Config::billingSweepSeconds, "billing_sweep_seconds")},
    };
    return k;
}

std::string envName(const std::string& key) {
    std::string out = "ARDOISE_";
    for (char c : key) {
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace

Status Config::apply(const nlohmann::json& settings) {
    if (!settings.is_object()) {
        return {Code::kInvalidArgument, "config", "the configuration must be a JSON object"};
    }
    for (const auto& [name, value] : settings.items()) {
        bool found = false;
        for (const auto& k : keys()) {
            if (name == k.name) {
                found = true;
                if (auto s = k.set(*this, value); !s.isOk()) {
                    return s;
                }
            }
        }
        if (!found) {
            return {Code::kInvalidArgument, "config", "unknown configuration key: " + name};
        }
    }
    return Status::ok();
}

Status Config::applyEnvironment() {
    for (const auto& k : keys()) {
        if (const char* v = std::getenv(envName(k.name).c_str())) {
            if (auto s = k.set(*this, nlohmann::json(std::string(v))); !s.isOk()) {
                return s;
            }
        }
    }
    return Status::ok();
}

std::string Config::describe() {
    std::string out;
    for (const auto& k : keys()) {
        std::string name = k.name;
        out += "  " + name + std::string(name.size() < 24 ? 24 - name.size() : 1, ' ') + k.help + "  (" +
               envName(name) + ")\n";
    }
    return out;
}

std::string Config::host() const { return listen.substr(0, listen.rfind(':')); }

int Config::port() const {
    auto colon = listen.rfind(':');
    return colon == std::string::npos ? 8080 : std::atoi(listen.c_str() + colon + 1);
}

namespace {
/// The source tree in a build, else <prefix>/share/ardoise beside an
/// installed binary (<prefix>/bin/ardoise).
std::string defaultShareDir() {
    namespace fs = std::filesystem;
    if (fs::is_directory(fs::path(ARDOISE_SOURCE_DIR) / "templates")) {
        return ARDOISE_SOURCE_DIR;
    }
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    const auto installed = exe.parent_path().parent_path() / "share" / "ardoise";
    return !ec && fs::is_directory(installed / "templates") ? installed.string() : std::string(ARDOISE_SOURCE_DIR);
}
}  // namespace

Result<Config> loadConfig(const std::string& file, const std::vector<std::string>& overrides) {
    Config c;
    c.shareDir = defaultShareDir();
    if (!file.empty()) {
        std::ifstream in(file);
        if (!in) {
            return Status(Code::kInvalidArgument, "config", "cannot read configuration file " + file);
        }
        auto doc = nlohmann::json::parse(in, nullptr, false);
        if (doc.is_discarded()) {
            return Status(Code::kInvalidArgument, "config", "configuration file " + file + " is not valid JSON");
        }
        if (auto s = c.apply(doc); !s.isOk()) {
            return s;
        }
    }
    if (auto s = c.applyEnvironment(); !s.isOk()) {
        return s;
    }
    for (const auto& o : overrides) {
        auto eq = o.find('=');
        if (eq == std::string::npos) {
            return Status(Code::kInvalidArgument, "config", "--set expects key=value, got " + o);
        }
        if (auto s = c.apply({{o.substr(0, eq), o.substr(eq + 1)}}); !s.isOk()) {
            return s;
        }
    }
    if (c.pluginPath.empty()) {
        c.pluginPath = ARDOISE_PLUGIN_DIR ":" ARDOISE_INSTALL_PLUGIN_DIR;  // build tree, then install prefix
    }
    if (c.publicUrl.empty()) {
        c.publicUrl = "http://" + c.listen;
    }
    return c;
}

}  // namespace ardoise::kernel::app
