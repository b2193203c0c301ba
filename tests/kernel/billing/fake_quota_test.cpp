// FakeServices meters usage and enforces the quotas a plugin's unit test sets.

#include <catch2/catch.hpp>

#include "sdk/testing/ardoise/fake_plugin_context.hpp"

TEST_CASE("FakeServices refuses usage beyond the quotas a test sets and records what was metered", "[billing][sdk]") {
    ardoise::testing::FakeServices services;
    CHECK(services.checkQuota("sms", 1000).isOk());  // no quota set: unlimited
    services.quotas["sms"] = 5;
    REQUIRE(services.recordUsage("sms", 4).isOk());
    CHECK(services.checkQuota("sms_per_month", 1).isOk());
    auto refused = services.checkQuota("sms", 2);
    CHECK(refused.code() == ardoise::Code::kPermissionDenied);
    CHECK(refused.type() == "quota-exceeded");
    REQUIRE(services.recordUsage("students", 3).isOk());
    REQUIRE(services.recordUsage("students", -5).isOk());
    CHECK(services.usage["students"] == 0);
    CHECK(services.usage["sms"] == 4);
}
