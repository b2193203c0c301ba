#include "kernel/auth/jwt.hpp"

#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <catch2/catch.hpp>

#include "support/token_craft.hpp"
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <stdexcept>

using namespace ardoise;
using namespace ardoise::kernel::auth;
using namespace ardoise::test::token_craft;
using nlohmann::json;

namespace {

const std::string kCurrent = "current-secret-0123456789abcdef-0123456789";
const std::string kPrevious = "previous-secret-0123456789abcdef-012345678";
const std::string kIssuer = "https://ardoise.example";
const std::string kAudience = "ardoise-api";
constexpr std::int64_t kNow = 1700000000;

TokenSigner makeSigner(KeyRing ring = {{"k2", kCurrent}, {"k1", kPrevious}}) {
    return TokenSigner(std::move(ring), kIssuer, kAudience);
}

AccessClaims sampleClaims() {
    AccessClaims claims;
    claims.subject = "user-42";
    claims.tenantId = "tenant-a";
    claims.roles = {"teacher", "admin"};
    claims.sessionId = "session-7";
    return claims;
}


json validPayload() {
    return {{"sub", "user-42"}, {"tid", "tenant-a"},  {"roles", {"teacher"}}, {"sid", "session-7"},
            {"iss", kIssuer},   {"aud", kAudience},   {"iat", kNow},          {"nbf", kNow},
            {"exp", kNow + 900}, {"jti", "abc"}};
}

// A token built by hand, signed with HMAC-SHA256 (or `mac` when given) over header.payload.
std::string craft(const json& header, const json& payload, const std::string& key = kCurrent,
                  std::string (*mac)(const std::string&, const std::string&) = hs256) {
    const std::string input = b64url(header.dump()) + "." + b64url(payload.dump());
    return input + "." + b64url(mac(key, input));
}

std::string reasonOf(const Result<AccessClaims>& result) {
    REQUIRE_FALSE(result.isOk());
    CHECK(result.status().code() == Code::kUnauthenticated);
    CHECK(result.status().type() == "invalid-token");
    return result.status().message();
}

const json kHeader = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "k2"}};

}  // namespace

TEST_CASE("A minted access token verifies and carries its claims", "[auth][jwt]") {
    const TokenSigner signer = makeSigner();
    const std::string token = signer.mint(sampleClaims(), kNow);
    const auto claims = signer.verify(token, kNow + 10, "tenant-a");
    REQUIRE(claims.isOk());
    CHECK(claims->subject == "user-42");
    CHECK(claims->tenantId == "tenant-a");
    CHECK(claims->roles == std::vector<std::string>{"teacher", "admin"});
    CHECK(claims->sessionId == "session-7");
    CHECK(claims->issuedAt == kNow);
    CHECK(claims->expiresAt == kNow + 900);
}

TEST_CASE("A minted token has the documented header and claims, jti random", "[auth][jwt]") {
    const TokenSigner signer = makeSigner();
    const std::string a = signer.mint(sampleClaims(), kNow);
    const std::string b = signer.mint(sampleClaims(), kNow);
    const std::size_t dot = a.find('.');
    const json header = json::parse(unb64url(a.substr(0, dot)));
    const json payload = json::parse(unb64url(a.substr(dot + 1, a.rfind('.') - dot - 1)));
    CHECK(header == json{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "k2"}});
    CHECK(payload["iss"] == kIssuer);
    CHECK(payload["aud"] == kAudience);
    CHECK(payload["iat"] == kNow);
    CHECK(payload["nbf"] == kNow);
    CHECK(payload["exp"] == kNow + 900);
    CHECK(payload["roles"] == json{"teacher", "admin"});
    CHECK(payload["jti"].get<std::string>().size() >= 20);
    CHECK(a != b);
}

TEST_CASE("Tokens minted through Poco verify in the fast path, and hand-made ones verify in Poco", "[auth][jwt]") {
    const TokenSigner signer = makeSigner();
    // mint() output passes Poco's own verifier.
    Poco::JWT::Signer poco(kCurrent);
    CHECK_NOTHROW(poco.verify(signer.mint(sampleClaims(), kNow)));

    // A token Poco signs from scratch passes ours.
    Poco::JWT::Token token;
    token.setType("JWT");
    token.header().set("kid", std::string("k2"));
    token.payload().set("sub", std::string("user-9"));
    token.payload().set("tid", std::string("tenant-a"));
    token.payload().set("sid", std::string("s"));
    token.payload().set("iss", kIssuer);
    token.payload().set("aud", kAudience);
    token.payload().set("exp", static_cast<Poco::Int64>(kNow + 60));
    const std::string pocoSigned = poco.sign(token, Poco::JWT::Signer::ALGO_HS256);
    const auto claims = signer.verify(pocoSigned, kNow, "tenant-a");
    REQUIRE(claims.isOk());
    CHECK(claims->subject == "user-9");
    CHECK(claims->roles.empty());

    // A token signed by hand with libsodium's HMAC passes both.
    const std::string crafted = craft(kHeader, validPayload());
    CHECK(signer.verify(crafted, kNow, "tenant-a").isOk());
    CHECK_NOTHROW(poco.verify(crafted));
}

TEST_CASE("Attack: alg none with an empty signature is refused", "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    const std::string body = b64url(validPayload().dump());
    CHECK(reasonOf(signer.verify(b64url(R"({"alg":"none"})") + "." + body + ".", kNow, "tenant-a")) ==
          "unsupported-alg");
    CHECK(reasonOf(signer.verify(b64url(R"({"alg":"none","typ":"JWT","kid":"k2"})") + "." + body + ".", kNow,
                                 "tenant-a")) == "unsupported-alg");
    CHECK(reasonOf(signer.verify(b64url(R"({"alg":"None","kid":"k2"})") + "." + body + ".", kNow, "tenant-a")) ==
          "unsupported-alg");
}

TEST_CASE("Attack: a token re-signed with HS512 under the right key is refused", "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    const json header = {{"alg", "HS512"}, {"typ", "JWT"}, {"kid", "k2"}};
    CHECK(reasonOf(signer.verify(craft(header, validPayload(), kCurrent, hs512), kNow, "tenant-a")) ==
          "unsupported-alg");
}

TEST_CASE("Attack: header alg RS256 with an HMAC signature made from the secret is refused (HS/RS confusion)",
          "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    const json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "k2"}};
    CHECK(reasonOf(signer.verify(craft(header, validPayload()), kNow, "tenant-a")) == "unsupported-alg");
    CHECK(reasonOf(signer.verify(craft({{"kid", "k2"}}, validPayload()), kNow, "tenant-a")) == "unsupported-alg");
}

TEST_CASE("Attack: changing tid in the payload while keeping the signature is refused", "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    const std::string token = signer.mint(sampleClaims(), kNow);
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = token.rfind('.');
    json payload = json::parse(unb64url(token.substr(dot1 + 1, dot2 - dot1 - 1)));
    payload["tid"] = "tenant-b";
    const std::string forged = token.substr(0, dot1) + "." + b64url(payload.dump()) + token.substr(dot2);
    CHECK(reasonOf(signer.verify(forged, kNow, "tenant-b")) == "bad-signature");
}

TEST_CASE("A token for another tenant is refused even with a valid signature", "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    CHECK(reasonOf(signer.verify(signer.mint(sampleClaims(), kNow), kNow, "tenant-b")) == "wrong-tenant");
    CHECK(reasonOf(signer.verify(signer.mint(sampleClaims(), kNow), kNow, "")) == "wrong-tenant");
}

TEST_CASE("Expiry and not-before are enforced with the clock skew", "[auth][jwt]") {
    const TokenSigner signer = makeSigner();
    const std::string token = signer.mint(sampleClaims(), kNow);
    CHECK(signer.verify(token, kNow + 900 + 29, "tenant-a").isOk());
    CHECK(reasonOf(signer.verify(token, kNow + 900 + 30, "tenant-a")) == "expired");
    CHECK(reasonOf(signer.verify(token, kNow + 86400, "tenant-a")) == "expired");

    json future = validPayload();
    future["nbf"] = kNow + 31;
    CHECK(reasonOf(signer.verify(craft(kHeader, future), kNow, "tenant-a")) == "not-yet-valid");
    future["nbf"] = kNow + 30;
    CHECK(signer.verify(craft(kHeader, future), kNow, "tenant-a").isOk());

    json issuedLater = validPayload();
    issuedLater["iat"] = kNow + 3600;
    CHECK(reasonOf(signer.verify(craft(kHeader, issuedLater), kNow, "tenant-a")) == "not-yet-valid");
    // A token minted by a clock that runs ahead is not valid early.
    CHECK(reasonOf(signer.verify(signer.mint(sampleClaims(), kNow + 600), kNow, "tenant-a")) == "not-yet-valid");
}

TEST_CASE("Unknown and missing key ids are refused", "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    CHECK(reasonOf(signer.verify(craft({{"alg", "HS256"}, {"kid", "k9"}}, validPayload()), kNow, "tenant-a")) ==
          "unknown-kid");
    CHECK(reasonOf(signer.verify(craft({{"alg", "HS256"}, {"kid", ""}}, validPayload()), kNow, "tenant-a")) ==
          "unknown-kid");
    CHECK(reasonOf(signer.verify(craft({{"alg", "HS256"}}, validPayload()), kNow, "tenant-a")) == "missing-kid");
    CHECK(reasonOf(signer.verify(craft({{"alg", "HS256"}, {"kid", 2}}, validPayload()), kNow, "tenant-a")) ==
          "missing-kid");
    // A known kid whose key did not sign: the signature decides.
    CHECK(reasonOf(signer.verify(craft({{"alg", "HS256"}, {"kid", "k1"}}, validPayload()), kNow, "tenant-a")) ==
          "bad-signature");
}

TEST_CASE("Wrong issuer, wrong audience and missing subject or session are refused", "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    const auto with = [](const char* key, const json& value) {
        json payload = validPayload();
        payload[key] = value;
        return craft(kHeader, payload);
    };
    const auto without = [](const char* key) {
        json payload = validPayload();
        payload.erase(key);
        return craft(kHeader, payload);
    };
    CHECK(reasonOf(signer.verify(with("iss", "https://evil.example"), kNow, "tenant-a")) == "wrong-issuer");
    CHECK(reasonOf(signer.verify(without("iss"), kNow, "tenant-a")) == "wrong-issuer");
    CHECK(reasonOf(signer.verify(with("aud", "other-api"), kNow, "tenant-a")) == "wrong-audience");
    CHECK(reasonOf(signer.verify(without("aud"), kNow, "tenant-a")) == "wrong-audience");
    CHECK(signer.verify(with("aud", json{"x", kAudience}), kNow, "tenant-a").isOk());
    CHECK(reasonOf(signer.verify(without("sub"), kNow, "tenant-a")) == "missing-claim");
    CHECK(reasonOf(signer.verify(with("sub", ""), kNow, "tenant-a")) == "missing-claim");
    CHECK(reasonOf(signer.verify(without("sid"), kNow, "tenant-a")) == "missing-claim");
    CHECK(reasonOf(signer.verify(without("tid"), kNow, "tenant-a")) == "missing-claim");
    CHECK(reasonOf(signer.verify(without("exp"), kNow, "tenant-a")) == "missing-claim");
    CHECK(reasonOf(signer.verify(with("exp", "soon"), kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(with("exp", 1.7e9 + 900.5), kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(with("roles", "admin"), kNow, "tenant-a")) == "malformed");
}

TEST_CASE("Truncated, garbage and oversized tokens are refused as malformed or badly signed",
          "[auth][jwt][attack]") {
    const TokenSigner signer = makeSigner();
    const std::string token = signer.mint(sampleClaims(), kNow);
    CHECK(reasonOf(signer.verify("", kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify("abc", kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(token.substr(0, token.rfind('.')), kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(token + ".x", kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(token.substr(0, token.size() - 5), kNow, "tenant-a")) == "bad-signature");
    CHECK(reasonOf(signer.verify(token.substr(0, token.rfind('.') + 1), kNow, "tenant-a")) == "bad-signature");
    CHECK(reasonOf(signer.verify("!!!." + token.substr(token.find('.') + 1), kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(b64url("not json") + token.substr(token.find('.')), kNow, "tenant-a")) ==
          "malformed");
    CHECK(reasonOf(signer.verify(b64url("[1,2]") + token.substr(token.find('.')), kNow, "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(token.substr(0, token.find('.')) + "=" + token.substr(token.find('.')), kNow,
                                 "tenant-a")) == "malformed");
    CHECK(reasonOf(signer.verify(token + std::string(9000, 'A'), kNow, "tenant-a")) == "malformed");
    const std::string badSig = token.substr(0, token.rfind('.') + 1) + "%%%%";
    CHECK(reasonOf(signer.verify(badSig, kNow, "tenant-a")) == "bad-signature");
    // A payload that is not base64url but carries a valid signature over its text.
    const std::string input = b64url(kHeader.dump()) + ".@@@@";
    CHECK(reasonOf(signer.verify(input + "." + b64url(hs256(kCurrent, input)), kNow, "tenant-a")) == "malformed");
}

TEST_CASE("Key rotation: a token signed with the previous key verifies until that key leaves the ring",
          "[auth][jwt]") {
    const TokenSigner before = makeSigner({{"k1", kPrevious}});
    const std::string oldToken = before.mint(sampleClaims(), kNow);

    const TokenSigner rotated = makeSigner({{"k2", kCurrent}, {"k1", kPrevious}});
    CHECK(rotated.verify(oldToken, kNow, "tenant-a").isOk());
    const std::string newToken = rotated.mint(sampleClaims(), kNow);
    CHECK(newToken.substr(0, newToken.find('.')) != oldToken.substr(0, oldToken.find('.')));  // kid k2
    CHECK(before.verify(newToken, kNow, "tenant-a").status().message() == "unknown-kid");

    const TokenSigner retired = makeSigner({{"k2", kCurrent}});
    CHECK(reasonOf(retired.verify(oldToken, kNow, "tenant-a")) == "unknown-kid");
    CHECK(retired.verify(newToken, kNow, "tenant-a").isOk());
}

TEST_CASE("A key ring that is empty, has short secrets or duplicate ids is a configuration error", "[auth][jwt]") {
    CHECK_THROWS_AS(TokenSigner({}, kIssuer, kAudience), std::invalid_argument);
    CHECK_THROWS_AS(TokenSigner({{"k", "short"}}, kIssuer, kAudience), std::invalid_argument);
    CHECK_THROWS_AS(TokenSigner({{"", kCurrent}}, kIssuer, kAudience), std::invalid_argument);
    CHECK_THROWS_AS(TokenSigner({{"k", kCurrent}, {"k", kPrevious}}, kIssuer, kAudience), std::invalid_argument);
    CHECK_THROWS_AS(TokenSigner({{"k", kCurrent}}, "", kAudience), std::invalid_argument);
}

TEST_CASE("A token verified once still expires and still belongs to one tenant", "[auth][jwt]") {
    const TokenSigner signer = makeSigner();
    const std::string token = signer.mint(sampleClaims(), kNow);
    REQUIRE(signer.verify(token, kNow, "tenant-a"));      // now cached
    REQUIRE(signer.verify(token, kNow + 60, "tenant-a"));  // served from the cache
    auto other = signer.verify(token, kNow + 60, "tenant-b");
    REQUIRE_FALSE(other);
    CHECK(other.status().message() == "wrong-tenant");
    auto late = signer.verify(token, kNow + 900 + 31, "tenant-a");
    REQUIRE_FALSE(late);
    CHECK(late.status().message() == "expired");
    // A tampered copy is not a cache hit: it is verified, and refused.
    std::string tampered = token;
    char& c = tampered[tampered.size() - 5];  // inside the signature, not its padding bits
    c = c == 'A' ? 'B' : 'A';
    CHECK_FALSE(signer.verify(tampered, kNow, "tenant-a"));
}
