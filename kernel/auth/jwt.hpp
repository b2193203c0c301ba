#pragma once

#include <array>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
// Short-lived access tokens: JWT signed with HS256 under a key ring.
//
// Minting goes through Poco::JWT::Signer. Verification is done here, in a
// strict path (HS256 only, kid required, every claim checked): Poco's Signer
// checks only the algorithm and the signature, and is slower than one HMAC.

#include "ardoise/status.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ardoise::kernel::auth {

/// What an access token asserts. Times are Unix seconds.
struct AccessClaims {
    std::string subject;             ///< user id ("sub")
    std::string tenantId;            ///< tenant the token is valid for ("tid")
    std::vector<std::string> roles;  ///< role names ("roles")
    std::string sessionId;           ///< login session, for revocation ("sid")
    std::int64_t issuedAt = 0;       ///< "iat"
    std::int64_t expiresAt = 0;      ///< "exp"
};

/// Key id and HMAC secret. The first entry of a ring signs; all verify.
using KeyRing = std::vector<std::pair<std::string, std::string>>;

/// Mints and verifies access tokens. Immutable after construction, so
/// thread-safe; rotate keys by building a new TokenSigner.
class TokenSigner {
public:
    /// Minimum secret length: HS256 keys of at least 256 bits (RFC 7518 3.2).
    static constexpr std::size_t kMinSecretBytes = 32;
    /// Tokens longer than this are refused before any parsing.
    static constexpr std::size_t kMaxTokenBytes = 8192;

    /// Throws std::invalid_argument when the ring is empty, a kid is empty or
    /// repeated, a secret is shorter than kMinSecretBytes, issuer or audience
    /// is empty, or ttl/skew is negative (a configuration error at startup).
    TokenSigner(KeyRing keys, std::string issuer, std::string audience, std::int64_t ttlSeconds = 900,
                std::int64_t clockSkewSeconds = 30);

    /// A signed compact JWT. Header: alg HS256, typ JWT, kid of the first key.
    /// Claims: sub, tid, roles, sid from `claims` (its issuedAt/expiresAt are
    /// ignored), iss, aud, iat = nbf = now, exp = now + ttl, and a random jti.
    std::string mint(const AccessClaims& claims, std::int64_t now) const;

    /// The claims of a token this signer (or a ring sibling) minted, valid at
    /// `now` for `expectedTenantId`. Otherwise
    /// Status(kUnauthenticated, "invalid-token", reason), reason being one of:
    /// "malformed", "unsupported-alg" (anything but HS256, incl. none, HS512,
    /// RS256), "missing-kid", "unknown-kid", "bad-signature", "expired",
    /// "not-yet-valid" (nbf or iat after now + skew), "wrong-issuer",
    /// "wrong-audience", "missing-claim" (sub, sid, tid or exp), "wrong-tenant".
    /// The signature is checked before any claim is read. Tokens that verified
    /// are remembered (bounded): a later call only re-checks expiry and tenant.
    /// Thread-safe.
    Result<AccessClaims> verify(const std::string& token, std::int64_t now,
                                const std::string& expectedTenantId) const;

    std::int64_t ttlSeconds() const { return ttl_; }

private:
    Result<AccessClaims> verifyUncached(const std::string& token, std::int64_t now,
                                        const std::string& expectedTenantId) const;

    static constexpr std::size_t kCacheShards = 16;
    static constexpr std::size_t kCacheEntriesPerShard = 1024;
    struct CacheShard {
        std::shared_mutex mutex;
        std::unordered_map<std::string, AccessClaims> entries;
    };
    mutable std::array<CacheShard, kCacheShards> cache_;

    KeyRing keys_;
    std::string issuer_;
    std::string audience_;
    std::int64_t ttl_;
    std::int64_t skew_;
};

}  // namespace ardoise::kernel::auth
