// Rate limits and the bounded password-hashing pool.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "support/test_env.hpp"

using ardoise::test::TestServer;

TEST_CASE("Sign-in attempts are limited per IP and account, other accounts are not affected", "[limits][api]") {
    TestServer s("sqlite", false);
    s.config().rateAuthPerMinute = 3;
    s.start();
    s.createTenant("ecole-a");
    s.createUser("ecole-a", "other@ecole-a.test", "teacher");
    int limited = 0;
    for (int i = 0; i < 5; ++i) {
        auto r = s.request("POST", "/api/v1/auth/login", {{"email", "admin@ecole-a.test"}, {"password", "wrong-password!"}},
                           {{"X-Tenant", "ecole-a"}});
        if (r.status == 429) {
            ++limited;
            CHECK(r.json()["type"] == "/problems/rate-limited");
            CHECK(std::stoi(r.header("retry-after")) >= 1);
        }
    }
    CHECK(limited == 2);
    CHECK(s.login("ecole-a", "other@ecole-a.test").size() > 20);
}

TEST_CASE("Requests beyond a tenant's rate get 429 with Retry-After", "[limits][api]") {
    TestServer s("sqlite", false);
    s.config().rateTenantPerSecond = 5;
    s.start();
    s.createTenant("ecole-a");
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    int ok = 0;
    int limited = 0;
    for (int i = 0; i < 40; ++i) {
        auto r = s.as(token, "ecole-a", "GET", "/api/v1/me");
        ok += r.status == 200 ? 1 : 0;
        limited += r.status == 429 ? 1 : 0;
    }
    CHECK(limited > 0);
    CHECK(ok >= 5);
    CHECK(ok + limited == 40);
}

TEST_CASE("A flood of sign-ins gets 429s from the hashing pool while other requests are served", "[limits][api]") {
    TestServer s("sqlite", false);
    s.config().hashConcurrency = 1;
    s.config().hashQueue = 1;
    s.config().rateAuthPerMinute = 100000;
    s.start();
    s.createTenant("ecole-a");
    const std::string token = s.login("ecole-a", "admin@ecole-a.test");
    std::atomic<int> busy{0};
    std::atomic<int> answered{0};
    std::vector<std::thread> flood;
    for (int t = 0; t < 12; ++t) {
        flood.emplace_back([&, t] {
            auto r = s.request("POST", "/api/v1/auth/login",
                               {{"email", "user" + std::to_string(t) + "@ecole-a.test"}, {"password", "whatever-password"}},
                               {{"X-Tenant", "ecole-a"}});
            if (r.status == 429) {
                ++busy;
            }
            ++answered;
        });
    }
    int served = 0;
    for (int i = 0; i < 5; ++i) {
        served += s.as(token, "ecole-a", "GET", "/api/v1/me").status == 200 ? 1 : 0;
    }
    for (auto& t : flood) {
        t.join();
    }
    CHECK(served == 5);
    CHECK(answered == 12);
    CHECK(busy > 0);
}

TEST_CASE("A request id sent by the client is echoed; a malformed one is replaced", "[api]") {
    TestServer s("sqlite");
    CHECK(s.request("GET", "/healthz", nullptr, {{"X-Request-Id", "abc-123.trace"}}).header("x-request-id") == "abc-123.trace");
    auto replaced = s.request("GET", "/healthz", nullptr, {{"X-Request-Id", "bad id with spaces"}}).header("x-request-id");
    CHECK(replaced.size() == 20);
}
