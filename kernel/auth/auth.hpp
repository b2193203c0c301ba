#pragma once
// Tenant users, operators, sessions and tokens, 2FA, invitations and resets.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

#include "kernel/auth/jwt.hpp"
#include "kernel/auth/password_hasher.hpp"
#include "kernel/data/database.hpp"
#include "kernel/http/http.hpp"
#include "kernel/tenancy/tenant_db.hpp"

namespace ardoise::kernel::notify {
class OutboxWorker;
}
namespace ardoise::kernel::events {
class EventBus;
}

namespace ardoise::kernel::auth {

struct AuthOptions {
    std::string templatesDir;
    std::string publicUrl = "http://localhost:8080";  ///< base of links in emails
    std::int64_t refreshTtlSeconds = 30LL * 24 * 3600;
    std::int64_t inviteTtlSeconds = 72LL * 3600;
    std::int64_t resetTtlSeconds = 30LL * 60;
    int lockoutThreshold = 5;  ///< failures before the account is locked
};

/// Where a request came from, for the audit log.
struct Origin {
    std::string ip;
    std::string requestId;
};

class AuthService {
public:
    AuthService(data::Database& db, PasswordHasher& hasher, TokenSigner& userTokens, TokenSigner& operatorTokens,
                AuthOptions options);

    void setOutbox(notify::OutboxWorker* outbox) { outbox_ = outbox; }
    /// Woken after a commit that published an event (user.created).
    void setEvents(events::EventBus* events) { events_ = events; }
    /// A school's rule consulted before a user is created ("user.before_create"):
    /// returns the data with adjusted fields, or the refusal.
    using Filter = std::function<Result<nlohmann::json>(const std::string& tenantId, const std::string& hook,
                                                        const nlohmann::json& data, const std::vector<std::string>& adjustable)>;
    void setUserFilter(Filter filter) { userFilter_ = std::move(filter); }
    /// Called in the transaction that changes the school's staff (users with
    /// role admin or teacher, not deactivated): with adding = 1 before a user
    /// becomes staff (created, reactivated, given the role), whose failure
    /// (quota) refuses the change; with adding = 0 after a user stopped being
    /// staff (deactivated, role removed), to count the staff down. Set by the
    /// application to billing's staff quota and gauge.
    using StaffHook = std::function<Status(data::Connection&, const std::string& tenantId, std::int64_t adding)>;
    void setStaffHook(StaffHook hook) { staffHook_ = std::move(hook); }

    // --- schemas used by the routes and the OpenAPI document
    static const nlohmann::json& loginSchema();
    static const nlohmann::json& refreshSchema();
    static const nlohmann::json& tokenPairSchema();
    static const nlohmann::json& userSchema();
    static const nlohmann::json& userCreateSchema();
    static const nlohmann::json& userUpdateSchema();

    // --- sessions
    Result<nlohmann::json> login(const http::TenantContext& tenant, const nlohmann::json& body, const Origin& origin);
    Result<nlohmann::json> refresh(const http::TenantContext& tenant, const std::string& refreshToken,
                                   const Origin& origin);
    Status logout(const http::TenantContext& tenant, const http::Principal& who, const Origin& origin);
    /// Verifies an access token and loads its user and session (one query).
    Result<http::Principal> authenticate(const std::string& token, const http::TenantContext* tenant);

    // --- users (admin)
    /// With "password": an active user (CLI, tenant apply). Without: an
    /// invited user who receives a single-use link by email.
    Result<nlohmann::json> createUser(const http::TenantContext& tenant, const nlohmann::json& input,
                                      const std::string& actorId, const Origin& origin, bool* created = nullptr);
    nlohmann::json listUsers(const http::TenantContext& tenant, int limit, const std::string& after,
                             const std::string& role, const std::string& status);
    Result<nlohmann::json> getUser(const http::TenantContext& tenant, const std::string& id);
    Result<nlohmann::json> updateUser(const http::TenantContext& tenant, const std::string& id,
                                      const nlohmann::json& patch, const std::string& actorId, const Origin& origin);
    /// Deactivates (keeps the data) and revokes every session.
    Status deactivateUser(const http::TenantContext& tenant, const std::string& id, const std::string& actorId,
                          const Origin& origin);
    Result<nlohmann::json> acceptInvite(const http::TenantContext& tenant, const nlohmann::json& body,
                                        const Origin& origin);

    /// The school's audit log, newest first.
    nlohmann::json audit(const http::TenantContext& tenant, int limit, const std::string& cursor,
                         const std::string& action);

    // --- password reset (answers the same whether the account exists or not)
    void requestPasswordReset(const http::TenantContext& tenant, const std::string& email, const Origin& origin);
    Status confirmPasswordReset(const http::TenantContext& tenant, const nlohmann::json& body, const Origin& origin);

    // --- TOTP 2FA
    Result<nlohmann::json> enrollTotp(const http::TenantContext& tenant, const http::Principal& who);
    Result<nlohmann::json> confirmTotp(const http::TenantContext& tenant, const http::Principal& who,
                                       const std::string& code, const Origin& origin);
    Status disableTotp(const http::TenantContext& tenant, const http::Principal& who, const std::string& password,
                       const Origin& origin);

    // --- operators
    Result<nlohmann::json> createOperator(const std::string& email, const std::string& name,
                                          const std::string& password);
    Result<nlohmann::json> operatorLogin(const nlohmann::json& body, const Origin& origin);

private:
    Result<nlohmann::json> issueSession(tenancy::TenantDb& db, const http::TenantContext& tenant,
                                        const data::Row& user);
    Result<nlohmann::json> issueTokens(tenancy::TenantDb& db, const http::TenantContext& tenant,
                                       const std::string& userId, const std::vector<std::string>& roles,
                                       const std::string& sessionId);
    Status sendUserTokenEmail(tenancy::TenantDb& db, const http::TenantContext& tenant, const data::Row& user,
                              const std::string& kind);
    void revokeSessions(tenancy::TenantDb& db, const std::string& userId, const std::string& reason);
    struct RedeemedToken {
        std::string tokenId;
        std::string userId;
        std::string passwordHash;
    };
    /// Finds an unused, unexpired emailed token of `kind` and hashes the new
    /// password it comes with (after the policy check).
    Result<RedeemedToken> checkUserToken(tenancy::TenantDb& db, const std::string& kind, const nlohmann::json& body,
                                         const std::string& invalidMessage);

    data::Database& db_;
    PasswordHasher& hasher_;
    TokenSigner& userTokens_;
    TokenSigner& operatorTokens_;
    AuthOptions options_;
    notify::OutboxWorker* outbox_ = nullptr;
    events::EventBus* events_ = nullptr;
    Filter userFilter_;
    StaffHook staffHook_;
};

/// A user row as API JSON (never secrets).
nlohmann::json userToJson(const data::Row& row);

}  // namespace ardoise::kernel::auth
