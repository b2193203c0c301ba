#pragma once
// The stateful Stripe stand-in (tests/js/stripe_fake.mjs) seen from a test.
//
// tests/run.sh starts one for the whole run and exports its URL as
// ARDOISE_TEST_STRIPE_FAKE_URL. Without it (a local run), the first test that
// needs it starts one on a free loopback port for the rest of the process;
// a missing node_modules is a failure, not a skip.
//
// Each StripeFake uses its own random secret key: the stand-in keeps one
// "account" per key (objects, idempotency keys, faults, webhook endpoint), so
// tests running at the same time against one stand-in never see each other.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "kernel/billing/stripe_client.hpp"
#include "support/child_process.hpp"
#include "support/node.hpp"
#include "support/test_env.hpp"

namespace ardoise::test {

inline std::string stripeFullSpec() {
    if (const char* spec = std::getenv("ARDOISE_STRIPE_FULL_SPEC")) {
        return spec;
    }
    return (std::filesystem::path(ARDOISE_TESTS_DIR) / ".." / ".." / "shared" / "specs" / "stripe-openapi.json")
        .lexically_normal()
        .string();
}

/// The stand-in's port: the run's, or one started here once per process.
inline int stripeFakePort() {
    if (const char* url = std::getenv("ARDOISE_TEST_STRIPE_FAKE_URL"); url != nullptr && *url != '\0') {
        const std::string s = url;
        return std::stoi(s.substr(s.rfind(':') + 1));
    }
    static std::unique_ptr<ChildProcess> fake;
    static int port = 0;
    if (!fake) {
        if (!std::filesystem::exists(std::filesystem::path(kJsDir) / "node_modules" / "stripe" / "package.json")) {
            FAIL("the stripe npm package is missing from " << kJsDir << "/node_modules: run `npm ci` in tests/js");
        }
        if (!std::filesystem::exists(stripeFullSpec())) {
            FAIL("Stripe's OpenAPI document is missing: " << stripeFullSpec() << " (set ARDOISE_STRIPE_FULL_SPEC)");
        }
        port = freeLoopbackPort();
        fake = std::make_unique<ChildProcess>(std::vector<std::string>{
            "/usr/bin/env", "node", kJsDir + "/stripe_fake.mjs", "--port", std::to_string(port), "--spec",
            stripeFullSpec()});
        if (!fake->waitForLine("stripe fake listening on http://127.0.0.1:" + std::to_string(port),
                               std::chrono::seconds(30))) {
            FAIL("the Stripe stand-in did not start: " << fake->output());
        }
    }
    return port;
}

class StripeFake {
public:
    StripeFake() : port_(stripeFakePort()) {
        std::random_device rd;
        std::uniform_int_distribution<int> hex(0, 15);
        key_ = "sk_test_";
        for (int i = 0; i < 24; ++i) {
            key_.push_back("0123456789abcdef"[hex(rd)]);
        }
    }

    const std::string& key() const { return key_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    /// A client of this account, for setting up products and prices.
    kernel::billing::StripeClient client() const {
        kernel::billing::StripeOptions o;
        o.apiBase = url();
        o.secretKey = key_;
        o.maxRetries = 0;
        o.timeoutMs = 5000;
        return kernel::billing::StripeClient(o);
    }

    /// A recurring price (and its product) in this account; returns the price id.
    std::string createPrice(const std::string& currency, std::int64_t amount, const std::string& interval = "month") {
        auto c = client();
        auto product = c.call("POST", "/v1/products", {{"name", "Ardoise " + currency + std::to_string(amount)}});
        REQUIRE(product);
        auto price = c.call("POST", "/v1/prices",
                            {{"product", (*product)["id"]},
                             {"currency", currency},
                             {"unit_amount", amount},
                             {"recurring", {{"interval", interval}}}});
        REQUIRE(price);
        return (*price)["id"];
    }

    /// A test control (POST /__fake/…, GET /__fake/state); REQUIREs a 200.
    nlohmann::json control(const std::string& method, const std::string& path,
                           const nlohmann::json& body = nlohmann::json::object()) const {
        auto r = httpRequest(port_, method, path, method == "GET" ? "" : body.dump(),
                             {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}});
        INFO(method << " " << path << " -> " << r.status << " " << r.body);
        REQUIRE(r.status == 200);
        return r.json();
    }

    nlohmann::json state() const { return control("GET", "/__fake/state"); }
    void webhook(int port, const std::string& secret) const {
        control("POST", "/__fake/webhook",
                {{"url", "http://127.0.0.1:" + std::to_string(port) + "/api/v1/billing/stripe/webhook"},
                 {"secret", secret}});
    }
    void fault(const nlohmann::json& f) const { control("POST", "/__fake/fault", f); }
    /// Delivers events (all undelivered ones when `request` names none); the
    /// stand-in's list of {event, type, status, body}.
    nlohmann::json deliver(const nlohmann::json& request = nlohmann::json::object()) const {
        return control("POST", "/__fake/deliver", request)["deliveries"];
    }
    nlohmann::json complete(const std::string& sessionId, const std::string& payment = "succeeds") const {
        return control("POST", "/__fake/checkout_sessions/" + sessionId + "/complete", {{"payment", payment}});
    }
    /// The ids of the account's events of `type`, oldest first.
    std::vector<std::string> events(const std::string& type) const {
        std::vector<std::string> ids;
        const nlohmann::json all = state();  // kept: the loop must not run over a temporary's member
        for (const auto& e : all["events"]) {
            if (e["type"] == type) {
                ids.push_back(e["id"]);
            }
        }
        return ids;
    }

private:
    int port_;
    std::string key_;
};

}  // namespace ardoise::test
