#include "kernel/auth/jwt.hpp"

#include "kernel/data/ids.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <array>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>

namespace ardoise::kernel::auth {
namespace {

using nlohmann::json;

// A header is a few small fields; a larger one is not ours and is refused
// before it is parsed (it is read before the signature is checked).
constexpr std::size_t kMaxHeaderChars = 512;

Status invalid(const char* reason) {
    return Status(Code::kUnauthenticated, "invalid-token", reason);
}

// Strict base64url without padding: libsodium refuses other characters,
// padding, and non-zero trailing bits, so each token has one encoding.
std::optional<std::string> base64UrlDecode(const std::string& text) {
    std::string out(text.size() * 3 / 4 + 1, '\0');
    std::size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                          nullptr, &length, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        return std::nullopt;
    }
    out.resize(length);
    return out;
}

std::array<unsigned char, crypto_auth_hmacsha256_BYTES> hmacSha256(const std::string& key,
                                                                   const std::string& message) {
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    crypto_auth_hmacsha256_final(&state, mac.data());
    sodium_memzero(&state, sizeof state);
    return mac;
}

std::optional<json> parseObject(const std::string& text) {
    json value = json::parse(text, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
        return std::nullopt;
    }
    return value;
}

enum class Field { kAbsent, kBad, kOk };

// A NumericDate claim as whole seconds; fractional or out-of-range is kBad.
Field intClaim(const json& payload, const char* name, std::int64_t& out) {
    const auto it = payload.find(name);
    if (it == payload.end()) {
        return Field::kAbsent;
    }
    if (it->is_number_unsigned()) {
        const auto value = it->get<std::uint64_t>();
        if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return Field::kBad;
        }
        out = static_cast<std::int64_t>(value);
        return Field::kOk;
    }
    if (it->is_number_integer()) {
        out = it->get<std::int64_t>();
        return Field::kOk;
    }
    return Field::kBad;
}

std::string nonEmptyString(const json& payload, const char* name) {
    const auto it = payload.find(name);
    if (it == payload.end() || !it->is_string()) {
        return "";
    }
    return it->get<std::string>();
}

bool audienceMatches(const json& payload, const std::string& audience) {
    const auto it = payload.find("aud");
    if (it == payload.end()) {
        return false;
    }
    if (it->is_string()) {
        return it->get<std::string>() == audience;
    }
    if (it->is_array()) {
        for (const auto& entry : *it) {
            if (entry.is_string() && entry.get<std::string>() == audience) {
                return true;
            }
        }
    }
    return false;
}

// a + b without signed overflow (claims come from the token).
std::int64_t saturatingAdd(std::int64_t a, std::int64_t b) {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) {
        return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
    }
    return sum;
}

}  // namespace

TokenSigner::TokenSigner(KeyRing keys, std::string issuer, std::string audience, std::int64_t ttlSeconds,
                         std::int64_t clockSkewSeconds)
    : keys_(std::move(keys)),
      issuer_(std::move(issuer)),
      audience_(std::move(audience)),
      ttl_(ttlSeconds),
      skew_(clockSkewSeconds) {
    if (keys_.empty()) {
        throw std::invalid_argument("TokenSigner: the key ring is empty");
    }
    std::set<std::string> seen;
    for (const auto& [kid, secret] : keys_) {
        if (kid.empty() || !seen.insert(kid).second) {
            throw std::invalid_argument("TokenSigner: key ids must be non-empty and unique");
        }
        if (secret.size() < kMinSecretBytes) {
            throw std::invalid_argument("TokenSigner: key '" + kid + "' is shorter than 32 bytes");
        }
    }
    if (issuer_.empty() || audience_.empty() || ttl_ < 0 || skew_ < 0) {
        throw std::invalid_argument("TokenSigner: issuer, audience, ttl or skew is invalid");
    }
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium failed to initialize");
    }
}

std::string TokenSigner::mint(const AccessClaims& claims, std::int64_t now) const {
    const auto& [kid, secret] = keys_.front();
    Poco::JWT::Token token;
    token.setType("JWT");
    token.header().set("kid", kid);
    Poco::JSON::Object& payload = token.payload();
    payload.set("sub", claims.subject);
    payload.set("tid", claims.tenantId);
    Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
    for (const auto& role : claims.roles) {
        roles->add(role);
    }
    payload.set("roles", roles);
    payload.set("sid", claims.sessionId);
    payload.set("iss", issuer_);
    payload.set("aud", audience_);
    // Set as integers: Token::setIssuedAt() and friends store doubles.
    payload.set("iat", static_cast<Poco::Int64>(now));
    payload.set("nbf", static_cast<Poco::Int64>(now));
    payload.set("exp", static_cast<Poco::Int64>(now + ttl_));
    payload.set("jti", data::randomToken(16));
    Poco::JWT::Signer signer(secret);
    return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

Result<AccessClaims> TokenSigner::verify(const std::string& token, std::int64_t now,
                                         const std::string& expectedTenantId) const {
    // A token that verified once has an authentic, immutable payload: only
    // time (expiry) and the tenant it is presented to still decide.
    auto& shard = cache_[std::hash<std::string>{}(token) % kCacheShards];
    {
        std::shared_lock lock(shard.mutex);
        auto it = shard.entries.find(token);
        if (it != shard.entries.end()) {
            if (now >= saturatingAdd(it->second.expiresAt, skew_)) {
                return invalid("expired");
            }
            if (it->second.tenantId != expectedTenantId) {
                return invalid("wrong-tenant");
            }
            return it->second;
        }
    }
    auto claims = verifyUncached(token, now, expectedTenantId);
    if (claims) {
        std::unique_lock lock(shard.mutex);
        if (shard.entries.size() >= kCacheEntriesPerShard) {
            shard.entries.clear();  // bounded: a flood of tokens only costs re-verification
        }
        shard.entries.emplace(token, *claims);
    }
    return claims;
}

Result<AccessClaims> TokenSigner::verifyUncached(const std::string& token, std::int64_t now,
                                                 const std::string& expectedTenantId) const {
    if (token.size() > kMaxTokenBytes) {
        return invalid("malformed");
    }
    const std::size_t firstDot = token.find('.');
    const std::size_t secondDot = firstDot == std::string::npos ? firstDot : token.find('.', firstDot + 1);
    if (secondDot == std::string::npos || token.find('.', secondDot + 1) != std::string::npos) {
        return invalid("malformed");
    }
    const std::string headerText = token.substr(0, firstDot);
    const std::string payloadText = token.substr(firstDot + 1, secondDot - firstDot - 1);
    const std::string signatureText = token.substr(secondDot + 1);
    if (headerText.empty() || headerText.size() > kMaxHeaderChars || payloadText.empty()) {
        return invalid("malformed");
    }

    const auto headerJson = base64UrlDecode(headerText);
    const auto header = headerJson ? parseObject(*headerJson) : std::nullopt;
    if (!header) {
        return invalid("malformed");
    }
    // Only HS256 is ever accepted, whatever the header asks: no "none", no
    // other HMAC size, no public-key algorithm whose "key" would be our secret.
    const auto alg = header->find("alg");
    if (alg == header->end() || !alg->is_string() || alg->get<std::string>() != "HS256") {
        return invalid("unsupported-alg");
    }
    const auto typ = header->find("typ");
    if ((typ != header->end() && (!typ->is_string() || typ->get<std::string>() != "JWT")) ||
        header->contains("crit")) {
        return invalid("malformed");
    }
    const auto kid = header->find("kid");
    if (kid == header->end() || !kid->is_string()) {
        return invalid("missing-kid");
    }
    const std::string* secret = nullptr;
    for (const auto& [id, key] : keys_) {
        if (id == kid->get<std::string>()) {
            secret = &key;
        }
    }
    if (secret == nullptr) {
        return invalid("unknown-kid");
    }

    const auto signature = base64UrlDecode(signatureText);
    if (!signature || signature->size() != crypto_auth_hmacsha256_BYTES) {
        return invalid("bad-signature");
    }
    const auto expected = hmacSha256(*secret, token.substr(0, secondDot));
    if (sodium_memcmp(expected.data(), signature->data(), expected.size()) != 0) {
        return invalid("bad-signature");
    }

    // Authentic from here on; the claims still decide.
    const auto payloadJson = base64UrlDecode(payloadText);
    const auto payload = payloadJson ? parseObject(*payloadJson) : std::nullopt;
    if (!payload) {
        return invalid("malformed");
    }
    if (nonEmptyString(*payload, "iss") != issuer_) {
        return invalid("wrong-issuer");
    }
    if (!audienceMatches(*payload, audience_)) {
        return invalid("wrong-audience");
    }
    AccessClaims claims;
    switch (intClaim(*payload, "exp", claims.expiresAt)) {
        case Field::kAbsent:
            return invalid("missing-claim");
        case Field::kBad:
            return invalid("malformed");
        case Field::kOk:
            break;
    }
    if (now >= saturatingAdd(claims.expiresAt, skew_)) {
        return invalid("expired");
    }
    const std::int64_t latest = saturatingAdd(now, skew_);
    std::int64_t notBefore = 0;
    switch (intClaim(*payload, "nbf", notBefore)) {
        case Field::kBad:
            return invalid("malformed");
        case Field::kOk:
            if (notBefore > latest) {
                return invalid("not-yet-valid");
            }
            break;
        case Field::kAbsent:
            break;
    }
    switch (intClaim(*payload, "iat", claims.issuedAt)) {
        case Field::kBad:
            return invalid("malformed");
        case Field::kOk:
            if (claims.issuedAt > latest) {
                return invalid("not-yet-valid");
            }
            break;
        case Field::kAbsent:
            break;
    }
    claims.subject = nonEmptyString(*payload, "sub");
    claims.sessionId = nonEmptyString(*payload, "sid");
    claims.tenantId = nonEmptyString(*payload, "tid");
    if (claims.subject.empty() || claims.sessionId.empty() || claims.tenantId.empty()) {
        return invalid("missing-claim");
    }
    if (claims.tenantId != expectedTenantId) {
        return invalid("wrong-tenant");
    }
    const auto roles = payload->find("roles");
    if (roles != payload->end()) {
        if (!roles->is_array()) {
            return invalid("malformed");
        }
        for (const auto& role : *roles) {
            if (!role.is_string()) {
                return invalid("malformed");
            }
            claims.roles.push_back(role.get<std::string>());
        }
    }
    return claims;
}

}  // namespace ardoise::kernel::auth
