#pragma once
// Configuration: defaults, then a JSON file, then ARDOISE_* environment
// variables (ARDOISE_DATABASE_URL for "database_url", …), then --set k=v.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ardoise::kernel::app {

struct Config {
    std::string databaseUrl = "sqlite:var/ardoise.db";
    std::string databaseAdminUrl;  ///< owner role for migrations (PostgreSQL); "" = databaseUrl
    std::string databaseAppRole;   ///< role granted DML after migrations (PostgreSQL)
    int databasePool = 16;
    std::string listen = "127.0.0.1:8080";
    std::string baseDomain = "localhost";
    std::string publicUrl;  ///< "" = http://<listen>
    std::string jwtKeys;    ///< "kid:secret,kid2:secret2"; first signs. "" = generated into data_dir
    std::string jwtIssuer = "ardoise";
    std::string jwtAudience = "ardoise-api";
    int accessTokenTtl = 900;
    std::string dataDir = "var";
    std::string shareDir;  ///< holds templates/ and kernel/data/migrations/
    std::string smtpHost = "127.0.0.1";
    int smtpPort = 25;
    std::string mailFrom = "Ardoise <no-reply@localhost>";
    int httpThreads = 512;
    int httpMaxQueued = 1024;
    int maxBodyBytes = 1 << 20;
    double rateTenantPerSecond = 500;
    double rateAuthPerMinute = 10;
    bool accessLog = true;
    int hashConcurrency = 2;
    int hashQueue = 32;
    bool outbox = true;  ///< run the email delivery worker
    int jobWorkers = 2;
    int scriptInstructions = 50'000'000;  ///< per run, default of every plan
    int scriptMemoryMb = 16;                       ///< per school state
    int scriptDeadlineMs = 2000;                   ///< per run
    int scriptFilterDeadlineMs = 50;               ///< per synchronous filter  ///< job worker threads; 0 runs neither jobs nor the event dispatcher (tests drive them)
    std::string pluginPath;  ///< ':'-separated folders of plugin folders; "" = build tree, then install prefix
    std::string stripeApiBase = "https://api.stripe.com";
    std::string stripeSecretKey;       ///< "" = no payments through Stripe
    std::string stripeWebhookSecrets;  ///< "whsec_a,whsec_b": any may sign (rotation)
    int stripeConnectTimeoutMs = 5000;
    int stripeTimeoutMs = 30000;
    int stripeMaxRetries = 2;
    int billingGraceDays = 7;      ///< days past_due before a school is suspended (read-only)
    int billingSweepSeconds = 60;  ///< period of the billing sweep; 0: none

    /// Applies a JSON object of settings; unknown keys are errors.
    Status apply(const nlohmann::json& settings);
    /// Reads ARDOISE_* variables from the environment.
    Status applyEnvironment();
    /// The description of every key, for --help.
    static std::string describe();
    std::string host() const;
    int port() const;
};

/// Defaults, then `file` (if not empty), then the environment.
Result<Config> loadConfig(const std::string& file, const std::vector<std::string>& overrides = {});

}  // namespace ardoise::kernel::app
