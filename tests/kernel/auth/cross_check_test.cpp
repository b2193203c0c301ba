// Cross-checks against independent implementations: jose (JWT) and otplib
// (TOTP), run with node from tests/js. Missing node_modules is a failure,
// not a skip: a silently skipped cross-check checks nothing.

#include "kernel/auth/jwt.hpp"
#include "kernel/auth/totp.hpp"

#include <catch2/catch.hpp>

#include "support/node.hpp"
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>

using namespace ardoise::kernel::auth;
using nlohmann::json;
using ardoise::test::node;
using ardoise::test::NodeRun;

namespace {



const std::string kSecret = "cross-check-secret-0123456789abcdef0123";
const std::string kIssuer = "https://ardoise.example";
const std::string kAudience = "ardoise-api";

}  // namespace

TEST_CASE("A token minted by TokenSigner verifies with jose and its claims match", "[auth][jwt][cross]") {
    const TokenSigner signer({{"k1", kSecret}}, kIssuer, kAudience);
    AccessClaims claims;
    claims.subject = "user-42";
    claims.tenantId = "tenant-a";
    claims.roles = {"teacher", "parent"};
    claims.sessionId = "session-7";
    // jose checks exp and nbf against the real clock.
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const std::string token = signer.mint(claims, now);

    const NodeRun run = node("jwt_verify.mjs", {token, kSecret, kIssuer, kAudience});
    INFO(run.output);
    REQUIRE(run.exitCode == 0);
    const json payload = json::parse(run.output);
    CHECK(payload["tid"] == "tenant-a");
    CHECK(payload["sub"] == "user-42");
    CHECK(payload["sid"] == "session-7");
    CHECK(payload["roles"] == json{"teacher", "parent"});
    CHECK(payload["exp"] == now + 900);
    CHECK(signer.verify(token, now, "tenant-a").isOk());
}

TEST_CASE("A token minted with another secret is refused by jose", "[auth][jwt][cross]") {
    const TokenSigner other({{"k1", kSecret + "-other"}}, kIssuer, kAudience);
    AccessClaims claims;
    claims.subject = "user-42";
    claims.tenantId = "tenant-a";
    claims.sessionId = "session-7";
    const std::string token = other.mint(claims, static_cast<std::int64_t>(std::time(nullptr)));

    const NodeRun run = node("jwt_verify.mjs", {token, kSecret, kIssuer, kAudience});
    INFO(run.output);
    CHECK(run.exitCode == 1);
    CHECK(run.output.find("signature") != std::string::npos);
}

TEST_CASE("jose refuses a token with the wrong audience, as TokenSigner does", "[auth][jwt][cross]") {
    const TokenSigner signer({{"k1", kSecret}}, kIssuer, "another-api");
    AccessClaims claims;
    claims.subject = "u";
    claims.tenantId = "t";
    claims.sessionId = "s";
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const std::string token = signer.mint(claims, now);
    const TokenSigner ours({{"k1", kSecret}}, kIssuer, kAudience);
    CHECK(ours.verify(token, now, "t").status().message() == "wrong-audience");
    const NodeRun run = node("jwt_verify.mjs", {token, kSecret, kIssuer, kAudience});
    INFO(run.output);
    CHECK(run.exitCode == 1);
}

TEST_CASE("otplib's codes for a fresh secret equal totpCode and are accepted by verifyTotp", "[auth][totp][cross]") {
    const std::string secret = newTotpSecret();
    for (const std::int64_t t : {59LL, 1111111109LL, 1234567890LL, 1700000015LL, 2000000000LL}) {
        const NodeRun run = node("totp_code.mjs", {secret, std::to_string(t)});
        INFO("secret " << secret << " at " << t << ": " << run.output);
        REQUIRE(run.exitCode == 0);
        CHECK(run.output == totpCode(secret, t));
        CHECK(verifyTotp(secret, run.output, t) == std::optional<std::int64_t>(t / 30));
    }
}

TEST_CASE("otplib agrees with the RFC 6238 SHA1 vector at T=59", "[auth][totp][cross]") {
    const NodeRun run = node("totp_code.mjs", {base32Encode("12345678901234567890"), "59"});
    INFO(run.output);
    REQUIRE(run.exitCode == 0);
    CHECK(run.output == "287082");
}
