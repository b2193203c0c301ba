#include "kernel/auth/auth.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "kernel/auth/audit.hpp"
#include "kernel/auth/permissions.hpp"
#include "kernel/auth/totp.hpp"
#include "kernel/data/ids.hpp"
#include "kernel/events/event_bus.hpp"
#include "kernel/notify/outbox.hpp"

namespace ardoise::kernel::auth {
namespace {

using nlohmann::json;

std::vector<std::string> splitRoles(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

std::string joinRoles(const json& roles) {
    std::vector<std::string> list = roles.get<std::vector<std::string>>();
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    std::string out;
    for (const auto& r : list) {
        out += (out.empty() ? "" : ",") + r;
    }
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

/// The `tid` of operator tokens: never a tenant id (those are 20 base32 chars).
const std::string kPlatformTenant = "platform";

Status invalidCredentials() {
    return {Code::kUnauthenticated, "invalid-credentials", "The email or the password is wrong."};
}
Status invalidToken(const std::string& why = "The token is invalid or expired.") {
    return {Code::kUnauthenticated, "invalid-token", why};
}
Status userNotFound() { return {Code::kNotFound, "not-found", "No such user."}; }

const json kEmail = {{"type", "string"}, {"format", "email"}, {"maxLength", 254}};
const json kPassword = {{"type", "string"}, {"minLength", 1}, {"maxLength", 256}};
const json kRoles = {{"type", "array"},
                     {"minItems", 1},
                     {"maxItems", 4},
                     {"uniqueItems", true},
                     {"items", {{"type", "string"}, {"enum", {"admin", "teacher", "student", "parent"}}}}};
const json kName = {{"type", "string"}, {"minLength", 1}, {"maxLength", 120}};
const json kLocale = {{"type", "string"}, {"enum", {"fr", "en"}}};

}  // namespace

json userToJson(const data::Row& r) {
    return {{"id", r.text("id")},
            {"email", r.text("email")},
            {"name", r.text("name")},
            {"roles", splitRoles(r.text("roles"))},
            {"status", r.text("status")},
            {"locale", r.optText("locale") ? json(r.text("locale")) : json(nullptr)},
            {"totp_enabled", r.integer("totp_enabled") != 0},
            {"created_at", r.integer("created_at")},
            {"updated_at", r.integer("updated_at")}};
}

AuthService::AuthService(data::Database& db, PasswordHasher& hasher, TokenSigner& userTokens,
                         TokenSigner& operatorTokens, AuthOptions options)
    : db_(db), hasher_(hasher), userTokens_(userTokens), operatorTokens_(operatorTokens), options_(std::move(options)) {}

// ------------------------------------------------------------------ schemas

const json& AuthService::loginSchema() {
    static const json s = {{"type", "object"},
                           {"additionalProperties", false},
                           {"required", {"email", "password"}},
                           {"properties",
                            {{"email", kEmail},
                             {"password", kPassword},
                             {"totp", {{"type", "string"}, {"pattern", "^[0-9A-Za-z -]{6,24}$"}}}}}};
    return s;
}

const json& AuthService::refreshSchema() {
    static const json s = {{"type", "object"},
                           {"additionalProperties", false},
                           {"required", {"refresh_token"}},
                           {"properties", {{"refresh_token", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}}}}};
    return s;
}

const json& AuthService::tokenPairSchema() {
    static const json s = {{"type", "object"},
                           {"required", {"access_token", "refresh_token", "expires_in", "token_type"}},
                           {"properties",
                            {{"access_token", {{"type", "string"}}},
                             {"refresh_token", {{"type", "string"}}},
                             {"token_type", {{"type", "string"}, {"const", "Bearer"}}},
                             {"expires_in", {{"type", "integer"}}}}}};
    return s;
}

const json& AuthService::userSchema() {
    static const json s = {{"type", "object"},
                           {"properties",
                            {{"id", {{"type", "string"}}},
                             {"email", kEmail},
                             {"name", kName},
                             {"roles", kRoles},
                             {"status", {{"type", "string"}, {"enum", {"active", "invited", "deactivated"}}}},
                             {"locale", {{"type", {"string", "null"}}}},
                             {"totp_enabled", {{"type", "boolean"}}},
                             {"created_at", {{"type", "integer"}}},
                             {"updated_at", {{"type", "integer"}}}}}};
    return s;
}

const json& AuthService::userCreateSchema() {
    static const json s = {{"type", "object"},
                           {"additionalProperties", false},
                           {"required", {"email", "name", "roles"}},
                           {"properties",
                            {{"email", kEmail}, {"name", kName}, {"roles", kRoles}, {"locale", kLocale}, {"password", kPassword}}}};
    return s;
}

const json& AuthService::userUpdateSchema() {
    static const json s = {{"type", "object"},
                           {"additionalProperties", false},
                           {"minProperties", 1},
                           {"properties",
                            {{"name", kName},
                             {"roles", kRoles},
                             {"locale", kLocale},
                             {"status", {{"type", "string"}, {"enum", {"active", "deactivated"}}}}}}};
    return s;
}

// ------------------------------------------------------------------ sessions

Result<json> AuthService::issueTokens(tenancy::TenantDb& db, const http::TenantContext& tenant,
                                      const std::string& userId, const std::vector<std::string>& roles,
                                      const std::string& sessionId) {
    const auto now = data::nowSeconds();
    const std::string refresh = data::randomToken(32);
    db.exec("INSERT INTO auth_refresh_tokens (tenant_id, id, session_id, token_hash, created_at, expires_at) "
            "VALUES (@tenant, ?, ?, ?, ?, ?)",
            {data::newId(), sessionId, data::sha256Hex(refresh), now, now + options_.refreshTtlSeconds});
    AccessClaims claims;
    claims.subject = userId;
    claims.tenantId = tenant.id;
    claims.roles = roles;
    claims.sessionId = sessionId;
    const std::string access = userTokens_.mint(claims, now);
    return json{{"access_token", access},
                {"refresh_token", refresh},
                {"token_type", "Bearer"},
                {"expires_in", userTokens_.ttlSeconds()}};
}

Result<json> AuthService::issueSession(tenancy::TenantDb& db, const http::TenantContext& tenant, const data::Row& user) {
    const std::string sessionId = data::newId();
    db.exec("INSERT INTO auth_sessions (tenant_id, id, user_id, created_at) VALUES (@tenant, ?, ?, ?)",
            {sessionId, user.text("id"), data::nowSeconds()});
    return issueTokens(db, tenant, user.text("id"), splitRoles(user.text("roles")), sessionId);
}

Result<json> AuthService::login(const http::TenantContext& tenant, const json& body, const Origin& origin) {
    const std::string email = lower(body.at("email").get<std::string>());
    const std::string password = body.at("password").get<std::string>();
    tenancy::TenantDb db(db_, tenant.id);
    auto user = db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND email = ?", {email});
    const auto now = data::nowSeconds();
    if (!user || user->text("status") != "active" || user->isNull("password_hash")) {
        // Same cost as a real check (no timing oracle), through the same bounded pool.
        if (auto s = hasher_.verifyDummyBounded(password); !s.isOk()) {
            return s;
        }
        recordAudit(db, {"", "login.failed", email, origin.ip, origin.requestId, {{"reason", "unknown-or-inactive"}}});
        return invalidCredentials();
    }
    const std::string userId = user->text("id");
    if (user->integer("locked_until") > now) {
        return Status(Code::kRateLimited, "account-locked",
                      "Too many failed sign-ins: this account is locked for a while.")
            .addExtra("retry_after", std::to_string(user->integer("locked_until") - now));
    }
    auto ok = hasher_.verifyBounded(user->text("password_hash"), password);
    if (!ok) {
        return ok.status();  // the hashing pool is saturated: 429
    }
    if (!*ok) {
        const auto failures = user->integer("failed_logins") + 1;
        std::int64_t lockedUntil = 0;
        if (failures >= options_.lockoutThreshold) {
            const auto steps = std::min<std::int64_t>(failures - options_.lockoutThreshold, 6);
            lockedUntil = now + std::min<std::int64_t>(60LL << steps, 3600);
        }
        db.exec("UPDATE users SET failed_logins = ?, locked_until = ? WHERE tenant_id = @tenant AND id = ?",
                {failures, lockedUntil, userId});
        recordAudit(db, {userId, "login.failed", email, origin.ip, origin.requestId,
                         {{"reason", "password"}, {"failures", failures}}});
        if (lockedUntil > 0) {
            recordAudit(db, {userId, "account.locked", email, origin.ip, origin.requestId, {{"until", lockedUntil}}});
        }
        return invalidCredentials();
    }
    if (user->integer("totp_enabled") != 0) {
        const std::string code = body.value("totp", "");
        if (code.empty()) {
            return Status(Code::kUnauthenticated, "totp-required", "Enter the code from your authenticator app.");
        }
        bool accepted = false;
        if (code.size() == 6 && std::all_of(code.begin(), code.end(), ::isdigit)) {
            auto step = verifyTotp(user->text("totp_secret"), code, now, 1);
            if (step && *step > user->integer("totp_last_step")) {
                accepted = db.exec("UPDATE users SET totp_last_step = ? WHERE tenant_id = @tenant AND id = ? "
                                   "AND totp_last_step < ?",
                                   {*step, userId, *step}) == 1;
            }
        } else {
            accepted = db.exec("UPDATE auth_recovery_codes SET used_at = ? WHERE tenant_id = @tenant AND user_id = ? "
                               "AND code_hash = ? AND used_at IS NULL",
                               {now, userId, data::sha256Hex(normalizeRecoveryCode(code))}) == 1;
            if (accepted) {
                recordAudit(db, {userId, "totp.recovery_code_used", email, origin.ip, origin.requestId, {}});
            }
        }
        if (!accepted) {
            recordAudit(db, {userId, "login.failed", email, origin.ip, origin.requestId, {{"reason", "totp"}}});
            return Status(Code::kUnauthenticated, "totp-invalid", "The authenticator code is wrong or already used.");
        }
    }
    data::Transaction tx(db.connection());
    db.exec("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE tenant_id = @tenant AND id = ?", {userId});
    auto tokens = issueSession(db, tenant, *user);
    recordAudit(db, {userId, "login.succeeded", email, origin.ip, origin.requestId, {}});
    tx.commit();
    return tokens;
}

Result<json> AuthService::refresh(const http::TenantContext& tenant, const std::string& refreshToken,
                                  const Origin& origin) {
    tenancy::TenantDb db(db_, tenant.id);
    auto row = db.queryOne(
        "SELECT rt.id, rt.session_id, rt.used_at, rt.expires_at, s.revoked_at, s.user_id, u.roles, u.status "
        "FROM auth_refresh_tokens rt "
        "JOIN auth_sessions s ON s.tenant_id = rt.tenant_id AND s.id = rt.session_id "
        "JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id "
        "WHERE rt.tenant_id = @tenant AND rt.token_hash = ?",
        {data::sha256Hex(refreshToken)});
    if (!row) {
        return invalidToken();
    }
    const auto now = data::nowSeconds();
    const std::string sessionId = row->text("session_id");
    const std::string userId = row->text("user_id");
    if (!row->isNull("revoked_at") || row->text("status") != "active" || row->integer("expires_at") <= now) {
        return invalidToken("This session has ended; sign in again.");
    }
    data::Transaction tx(db.connection());
    const bool first = db.exec("UPDATE auth_refresh_tokens SET used_at = ? WHERE tenant_id = @tenant AND id = ? "
                               "AND used_at IS NULL",
                               {now, row->text("id")}) == 1;
    if (!first) {
        // A rotated token came back: someone holds a copy. End the whole family.
        db.exec("UPDATE auth_sessions SET revoked_at = ?, revoked_reason = 'refresh-reuse' "
                "WHERE tenant_id = @tenant AND id = ?",
                {now, sessionId});
        recordAudit(db, {userId, "session.refresh_reuse", sessionId, origin.ip, origin.requestId, {}});
        tx.commit();
        return invalidToken("This refresh token was already used; the session is revoked. Sign in again.");
    }
    auto tokens = issueTokens(db, tenant, userId, splitRoles(row->text("roles")), sessionId);
    tx.commit();
    return tokens;
}

Status AuthService::logout(const http::TenantContext& tenant, const http::Principal& who, const Origin& origin) {
    tenancy::TenantDb db(db_, tenant.id);
    db.exec("UPDATE auth_sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE tenant_id = @tenant AND id = ? "
            "AND revoked_at IS NULL",
            {data::nowSeconds(), who.sessionId});
    recordAudit(db, {who.id, "logout", who.sessionId, origin.ip, origin.requestId, {}});
    return Status::ok();
}

Result<http::Principal> AuthService::authenticate(const std::string& token, const http::TenantContext* tenant) {
    const auto now = data::nowSeconds();
    if (tenant == nullptr) {
        auto claims = operatorTokens_.verify(token, now, kPlatformTenant);
        if (!claims) {
            return claims.status();
        }
        auto lease = db_.acquire();
        auto op = lease->queryOne("SELECT id, email, name FROM operators WHERE id = ?", {claims->subject});
        if (!op) {
            return invalidToken();
        }
        http::Principal p;
        p.kind = http::Principal::Kind::kOperator;
        p.id = op->text("id");
        p.email = op->text("email");
        p.name = op->text("name");
        p.sessionId = claims->sessionId;
        p.permissions = std::make_shared<const std::set<std::string>>(std::set<std::string>{kPlatformManage});
        return p;
    }
    auto claims = userTokens_.verify(token, now, tenant->id);
    if (!claims) {
        return claims.status();
    }
    tenancy::TenantDb db(db_, tenant->id);
    auto row = db.queryOne(
        "SELECT u.email, u.name, u.roles, u.status, u.locale, u.totp_enabled, s.revoked_at "
        "FROM users u JOIN auth_sessions s ON s.tenant_id = u.tenant_id AND s.user_id = u.id "
        "WHERE u.tenant_id = @tenant AND u.id = ? AND s.id = ?",
        {claims->subject, claims->sessionId});
    if (!row || !row->isNull("revoked_at") || row->text("status") != "active") {
        return invalidToken("This session has ended; sign in again.");
    }
    http::Principal p;
    p.id = claims->subject;
    p.email = row->text("email");
    p.name = row->text("name");
    p.locale = row->text("locale");
    p.sessionId = claims->sessionId;
    const auto& roles = roleSet(row->text("roles"));  // current roles, not the token's copy
    p.roles = roles.roles;
    p.permissions = roles.permissions;
    p.totpEnabled = row->integer("totp_enabled") != 0;
    return p;
}

void AuthService::revokeSessions(tenancy::TenantDb& db, const std::string& userId, const std::string& reason) {
    db.exec("UPDATE auth_sessions SET revoked_at = ?, revoked_reason = ? WHERE tenant_id = @tenant AND user_id = ? "
            "AND revoked_at IS NULL",
            {data::nowSeconds(), reason, userId});
}

// ------------------------------------------------------------------ users

Status AuthService::sendUserTokenEmail(tenancy::TenantDb& db, const http::TenantContext& tenant,
                                       const data::Row& user, const std::string& kind) {
    const auto now = data::nowSeconds();
    const std::string token = data::randomToken(32);
    const auto ttl = kind == "invite" ? options_.inviteTtlSeconds : options_.resetTtlSeconds;
    db.exec("INSERT INTO auth_user_tokens (tenant_id, id, user_id, kind, token_hash, created_at, expires_at) "
            "VALUES (@tenant, ?, ?, ?, ?, ?, ?)",
            {data::newId(), user.text("id"), kind, data::sha256Hex(token), now, now + ttl});
    const std::string locale = user.optText("locale").value_or(tenant.locale);
    const std::string path = kind == "invite" ? "/accept-invite" : "/reset-password";
    auto email = notify::renderEmail(options_.templatesDir, kind == "invite" ? "invite" : "password_reset",
                                     locale.empty() ? "fr" : locale,
                                     {{"name", user.text("name")},
                                      {"school", tenant.name},
                                      {"link", options_.publicUrl + path + "?tenant=" + tenant.slug + "&token=" + token},
                                      {"token", token},
                                      {"hours", ttl / 3600},
                                      {"minutes", ttl / 60}});
    if (!email) {
        return email.status();
    }
    email->to = user.text("email");
    notify::enqueueEmail(db.connection(), tenant.id, *email);
    return Status::ok();
}

Result<json> AuthService::createUser(const http::TenantContext& tenant, const json& requested, const std::string& actorId,
                                     const Origin& origin, bool* created) {
    json input = requested;
    const std::string email = lower(input.at("email").get<std::string>());
    const bool withPassword = input.contains("password");
    std::string hash;
    tenancy::TenantDb db(db_, tenant.id);
    auto existing = db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND email = ?", {email});
    if (created != nullptr) {
        *created = !existing;
    }
    if (!existing && userFilter_) {
        // The school's rule may refuse the new user or adjust its name and locale.
        json data = {{"email", email}, {"name", input.at("name")}, {"roles", input.at("roles")},
                     {"locale", input.value("locale", json(nullptr))}};
        auto adjusted = userFilter_(tenant.id, "user.before_create", data, {"name", "locale"});
        if (!adjusted) {
            return adjusted.status();
        }
        input["name"] = (*adjusted)["name"];
        if ((*adjusted)["locale"].is_string()) {
            input["locale"] = (*adjusted)["locale"];
        }
    }
    if (withPassword) {
        const std::string password = input["password"].get<std::string>();
        if (auto s = hasher_.checkPolicy(password, email); !s.isOk()) {
            return s;
        }
        const bool unchanged = existing && !existing->isNull("password_hash") &&
                               hasher_.verify(existing->text("password_hash"), password);
        if (!unchanged) {
            auto h = hasher_.hashBounded(password);
            if (!h) {
                return h.status();
            }
            hash = *h;
        } else {
            hash = existing->text("password_hash");
        }
    }
    const auto now = data::nowSeconds();
    data::Transaction tx(db.connection());
    if (existing) {
        if (created == nullptr) {
            return Status(Code::kConflict, "email-taken", "A user with this email already exists in this school.")
                .addField({"/email", "taken", "is already used"});
        }
        // Declarative apply: converge on the given definition.
        db.exec("UPDATE users SET name = ?, roles = ?, locale = ?, status = ?, password_hash = ?, updated_at = ? "
                "WHERE tenant_id = @tenant AND id = ?",
                {input.at("name").get<std::string>(), joinRoles(input.at("roles")),
                 input.contains("locale") ? data::Value(input["locale"].get<std::string>()) : data::null(),
                 std::string(withPassword ? "active" : existing->text("status")),
                 withPassword ? data::Value(hash) : data::optionalText(existing->optText("password_hash")), now,
                 existing->text("id")});
        tx.commit();
        return userToJson(*db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND id = ?", {existing->text("id")}));
    }
    const std::string roles = joinRoles(input.at("roles"));
    if (staffHook_ && (("," + roles + ",").find(",admin,") != std::string::npos ||
                       ("," + roles + ",").find(",teacher,") != std::string::npos)) {
        if (auto s = staffHook_(db.connection(), tenant.id, 1); !s.isOk()) {
            return s;
        }
    }
    const std::string id = data::newId();
    db.exec("INSERT INTO users (tenant_id, id, email, name, roles, status, password_hash, locale, created_at, updated_at) "
            "VALUES (@tenant, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {id, email, input.at("name").get<std::string>(), joinRoles(input.at("roles")),
             std::string(withPassword ? "active" : "invited"), withPassword ? data::Value(hash) : data::null(),
             input.contains("locale") ? data::Value(input["locale"].get<std::string>()) : data::null(), now, now});
    auto row = db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND id = ?", {id});
    if (!withPassword) {
        if (auto s = sendUserTokenEmail(db, tenant, *row, "invite"); !s.isOk()) {
            return s;
        }
    }
    recordAudit(db, {actorId, withPassword ? "user.created" : "user.invited", id, origin.ip, origin.requestId,
                     {{"email", email}, {"roles", input.at("roles")}}});
    events::publish(db.connection(), tenant.id, "user.created", "kernel",
                    {{"id", id}, {"name", input.at("name")}, {"roles", input.at("roles")},
                     {"status", withPassword ? "active" : "invited"}});
    tx.commit();
    if (outbox_ != nullptr && !withPassword) {
        outbox_->poke();
    }
    if (events_ != nullptr) {
        events_->poke();
    }
    return userToJson(*row);
}

json AuthService::listUsers(const http::TenantContext& tenant, int limit, const std::string& after,
                            const std::string& role, const std::string& status) {
    tenancy::TenantDb db(db_, tenant.id);
    std::string sql = "SELECT * FROM users WHERE tenant_id = @tenant AND email > ?";
    data::Params params{after};
    if (!role.empty()) {
        sql += " AND (',' || roles || ',') LIKE ?";
        params.emplace_back("%," + role + ",%");
    }
    if (!status.empty()) {
        sql += " AND status = ?";
        params.emplace_back(status);
    }
    sql += " ORDER BY email LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(limit + 1));
    auto rows = db.query(sql, params);
    json items = json::array();
    for (std::size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i) {
        items.push_back(userToJson(rows[i]));
    }
    json out = {{"items", items}, {"next_cursor", nullptr}};
    if (static_cast<int>(rows.size()) > limit) {
        out["next_cursor"] = items.back()["email"];
    }
    return out;
}

Result<json> AuthService::getUser(const http::TenantContext& tenant, const std::string& id) {
    if (!data::isWellFormedId(id)) {
        return userNotFound();
    }
    tenancy::TenantDb db(db_, tenant.id);
    auto row = db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND id = ?", {id});
    if (!row) {
        return userNotFound();
    }
    return userToJson(*row);
}

Result<json> AuthService::updateUser(const http::TenantContext& tenant, const std::string& id, const json& patch,
                                     const std::string& actorId, const Origin& origin) {
    if (!data::isWellFormedId(id)) {
        return userNotFound();
    }
    tenancy::TenantDb db(db_, tenant.id);
    data::Transaction tx(db.connection());
    auto row = db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND id = ?", {id});
    if (!row) {
        return userNotFound();
    }
    if (id == actorId && (patch.contains("status") || patch.contains("roles"))) {
        return Status(Code::kConflict, "cannot-modify-self",
                      "You cannot change your own roles or status; ask another administrator.");
    }
    json current = userToJson(*row);
    std::string status = row->text("status");
    if (patch.contains("status")) {
        if (status == "invited" && patch["status"] == "active") {
            return Status(Code::kConflict, "invitation-pending", "An invited user becomes active by accepting the invitation.");
        }
        status = patch["status"];
    }
    const std::string roles = joinRoles(patch.value("roles", current["roles"]));
    const auto isStaff = [](const std::string& userStatus, const std::string& userRoles) {
        const std::string r = "," + userRoles + ",";
        return userStatus != "deactivated" &&
               (r.find(",admin,") != std::string::npos || r.find(",teacher,") != std::string::npos);
    };
    const bool wasStaff = isStaff(row->text("status"), row->text("roles"));
    const bool willBeStaff = isStaff(status, roles);
    if (staffHook_ && !wasStaff && willBeStaff) {
        if (auto s = staffHook_(db.connection(), tenant.id, 1); !s.isOk()) {
            return s;  // over the plan's staff limit: nothing written
        }
    }
    db.exec("UPDATE users SET name = ?, roles = ?, locale = ?, status = ?, updated_at = ? WHERE tenant_id = @tenant AND id = ?",
            {patch.value("name", current["name"].get<std::string>()), roles,
             patch.contains("locale") ? data::Value(patch["locale"].get<std::string>()) : data::optionalText(row->optText("locale")),
             status, data::nowSeconds(), id});
    if (staffHook_ && wasStaff && !willBeStaff) {
        if (auto s = staffHook_(db.connection(), tenant.id, 0); !s.isOk()) {
            return s;
        }
    }
    if (status == "deactivated") {
        revokeSessions(db, id, "deactivated");
    }
    recordAudit(db, {actorId, "user.updated", id, origin.ip, origin.requestId, patch});
    tx.commit();
    return userToJson(*db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND id = ?", {id}));
}

Status AuthService::deactivateUser(const http::TenantContext& tenant, const std::string& id, const std::string& actorId,
                                   const Origin& origin) {
    auto r = updateUser(tenant, id, {{"status", "deactivated"}}, actorId, origin);
    return r.status();
}

Result<AuthService::RedeemedToken> AuthService::checkUserToken(tenancy::TenantDb& db, const std::string& kind,
                                                              const json& body, const std::string& invalidMessage) {
    auto token = db.queryOne(
        "SELECT t.id, t.user_id, u.email, u.status FROM auth_user_tokens t "
        "JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id "
        "WHERE t.tenant_id = @tenant AND t.kind = ? AND t.token_hash = ? AND t.used_at IS NULL AND t.expires_at > ?",
        {kind, data::sha256Hex(body.at("token").get<std::string>()), data::nowSeconds()});
    if (!token || (kind == "invite" && token->text("status") != "invited")) {
        return invalidToken(invalidMessage);
    }
    const std::string password = body.at("password").get<std::string>();
    if (auto s = hasher_.checkPolicy(password, token->text("email")); !s.isOk()) {
        return s;
    }
    auto hash = hasher_.hashBounded(password);  // before any transaction: it takes ~30 ms
    if (!hash) {
        return hash.status();
    }
    return RedeemedToken{token->text("id"), token->text("user_id"), *hash};
}

namespace {
/// Marks an emailed token used; false when a concurrent request used it first.
bool markUsed(tenancy::TenantDb& db, const std::string& tokenId) {
    return db.exec("UPDATE auth_user_tokens SET used_at = ? WHERE tenant_id = @tenant AND id = ? AND used_at IS NULL",
                   {data::nowSeconds(), tokenId}) == 1;
}
}  // namespace

Result<json> AuthService::acceptInvite(const http::TenantContext& tenant, const json& body, const Origin& origin) {
    tenancy::TenantDb db(db_, tenant.id);
    auto token = checkUserToken(db, "invite", body,
                                "This invitation link is invalid, used or expired. Ask your school for a new one.");
    if (!token) {
        return token.status();
    }
    data::Transaction tx(db.connection());
    if (!markUsed(db, token->tokenId)) {
        return invalidToken("This invitation link was already used.");
    }
    db.exec("UPDATE users SET password_hash = ?, status = 'active', name = COALESCE(?, name), updated_at = ? "
            "WHERE tenant_id = @tenant AND id = ?",
            {token->passwordHash, body.contains("name") ? data::Value(body["name"].get<std::string>()) : data::null(),
             data::nowSeconds(), token->userId});
    recordAudit(db, {token->userId, "user.invitation_accepted", token->userId, origin.ip, origin.requestId, {}});
    tx.commit();
    return userToJson(*db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND id = ?", {token->userId}));
}

json AuthService::audit(const http::TenantContext& tenant, int limit, const std::string& cursor,
                        const std::string& action) {
    tenancy::TenantDb db(db_, tenant.id);
    return listAudit(db, limit, cursor, action);
}

void AuthService::requestPasswordReset(const http::TenantContext& tenant, const std::string& email, const Origin& origin) {
    tenancy::TenantDb db(db_, tenant.id);
    auto user = db.queryOne("SELECT * FROM users WHERE tenant_id = @tenant AND email = ? AND status = 'active'",
                            {lower(email)});
    if (!user) {
        return;
    }
    data::Transaction tx(db.connection());
    if (sendUserTokenEmail(db, tenant, *user, "reset").isOk()) {
        recordAudit(db, {user->text("id"), "password.reset_requested", user->text("id"), origin.ip, origin.requestId, {}});
        tx.commit();
        if (outbox_ != nullptr) {
            outbox_->poke();
        }
    }
}

Status AuthService::confirmPasswordReset(const http::TenantContext& tenant, const json& body, const Origin& origin) {
    tenancy::TenantDb db(db_, tenant.id);
    auto token = checkUserToken(db, "reset", body, "This reset link is invalid, used or expired. Ask for a new one.");
    if (!token) {
        return token.status();
    }
    data::Transaction tx(db.connection());
    if (!markUsed(db, token->tokenId)) {
        return invalidToken("This reset link was already used.");
    }
    db.exec("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = 0, updated_at = ? "
            "WHERE tenant_id = @tenant AND id = ?",
            {token->passwordHash, data::nowSeconds(), token->userId});
    revokeSessions(db, token->userId, "password-reset");
    recordAudit(db, {token->userId, "password.reset", token->userId, origin.ip, origin.requestId, {}});
    tx.commit();
    return Status::ok();
}

// ------------------------------------------------------------------ TOTP

Result<json> AuthService::enrollTotp(const http::TenantContext& tenant, const http::Principal& who) {
    if (who.totpEnabled) {
        return Status(Code::kConflict, "totp-already-enabled", "Two-factor authentication is already on.");
    }
    const std::string secret = newTotpSecret();
    tenancy::TenantDb db(db_, tenant.id);
    db.exec("UPDATE users SET totp_secret = ?, updated_at = ? WHERE tenant_id = @tenant AND id = ?",
            {secret, data::nowSeconds(), who.id});
    return json{{"secret", secret}, {"otpauth_uri", otpauthUri("Ardoise (" + tenant.name + ")", who.email, secret)}};
}

Result<json> AuthService::confirmTotp(const http::TenantContext& tenant, const http::Principal& who,
                                      const std::string& code, const Origin& origin) {
    tenancy::TenantDb db(db_, tenant.id);
    auto row = db.queryOne("SELECT totp_secret, totp_enabled FROM users WHERE tenant_id = @tenant AND id = ?", {who.id});
    if (!row || row->isNull("totp_secret") || row->integer("totp_enabled") != 0) {
        return Status(Code::kConflict, "totp-not-enrolled", "Start the enrolment first.");
    }
    auto step = verifyTotp(row->text("totp_secret"), code, data::nowSeconds(), 1);
    if (!step) {
        return Status(Code::kInvalidArgument, "totp-invalid", "The authenticator code is wrong.")
            .addField({"/code", "totp", "does not match"});
    }
    auto codes = newRecoveryCodes(10);
    data::Transaction tx(db.connection());
    db.exec("UPDATE users SET totp_enabled = 1, totp_last_step = ?, updated_at = ? WHERE tenant_id = @tenant AND id = ?",
            {*step, data::nowSeconds(), who.id});
    db.exec("DELETE FROM auth_recovery_codes WHERE tenant_id = @tenant AND user_id = ?", {who.id});
    for (const auto& c : codes) {
        db.exec("INSERT INTO auth_recovery_codes (tenant_id, id, user_id, code_hash) VALUES (@tenant, ?, ?, ?)",
                {data::newId(), who.id, data::sha256Hex(c)});
    }
    recordAudit(db, {who.id, "totp.enabled", who.id, origin.ip, origin.requestId, {}});
    tx.commit();
    return json{{"recovery_codes", codes}};
}

Status AuthService::disableTotp(const http::TenantContext& tenant, const http::Principal& who,
                                const std::string& password, const Origin& origin) {
    tenancy::TenantDb db(db_, tenant.id);
    auto row = db.queryOne("SELECT password_hash FROM users WHERE tenant_id = @tenant AND id = ?", {who.id});
    auto ok = hasher_.verifyBounded(row ? row->text("password_hash") : "", password);
    if (!ok) {
        return ok.status();
    }
    if (!*ok) {
        return invalidCredentials();
    }
    data::Transaction tx(db.connection());
    db.exec("UPDATE users SET totp_enabled = 0, totp_secret = NULL, updated_at = ? WHERE tenant_id = @tenant AND id = ?",
            {data::nowSeconds(), who.id});
    db.exec("DELETE FROM auth_recovery_codes WHERE tenant_id = @tenant AND user_id = ?", {who.id});
    recordAudit(db, {who.id, "totp.disabled", who.id, origin.ip, origin.requestId, {}});
    tx.commit();
    return Status::ok();
}

// ------------------------------------------------------------------ operators

Result<json> AuthService::createOperator(const std::string& email, const std::string& name, const std::string& password) {
    if (auto s = hasher_.checkPolicy(password, email); !s.isOk()) {
        return s;
    }
    const std::string hash = hasher_.hash(password);
    auto lease = db_.acquire();
    auto existing = lease->queryOne("SELECT id FROM operators WHERE email = ?", {lower(email)});
    std::string id = existing ? existing->text("id") : data::newId();
    if (existing) {
        lease->exec("UPDATE operators SET name = ?, password_hash = ? WHERE id = ?", {name, hash, id});
    } else {
        lease->exec("INSERT INTO operators (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                    {id, lower(email), name, hash, data::nowSeconds()});
    }
    return json{{"id", id}, {"email", lower(email)}, {"name", name}};
}

Result<json> AuthService::operatorLogin(const json& body, const Origin& origin) {
    const std::string email = lower(body.at("email").get<std::string>());
    const std::string password = body.at("password").get<std::string>();
    auto lease = db_.acquire();
    auto op = lease->queryOne("SELECT * FROM operators WHERE email = ?", {email});
    const auto now = data::nowSeconds();
    if (!op) {
        if (auto s = hasher_.verifyDummyBounded(password); !s.isOk()) {
            return s;
        }
        return invalidCredentials();
    }
    if (op->integer("locked_until") > now) {
        return Status(Code::kRateLimited, "account-locked", "Too many failed sign-ins: this account is locked for a while.")
            .addExtra("retry_after", std::to_string(op->integer("locked_until") - now));
    }
    auto ok = hasher_.verifyBounded(op->text("password_hash"), password);
    if (!ok) {
        return ok.status();
    }
    if (!*ok) {
        const auto failures = op->integer("failed_logins") + 1;
        const std::int64_t lockedUntil = failures >= options_.lockoutThreshold ? now + 300 : 0;
        lease->exec("UPDATE operators SET failed_logins = ?, locked_until = ? WHERE id = ?", {failures, lockedUntil, op->text("id")});
        std::clog << R"({"level":"warn","msg":"operator login failed","ip":")" << origin.ip << "\"}\n";
        return invalidCredentials();
    }
    lease->exec("UPDATE operators SET failed_logins = 0, locked_until = 0 WHERE id = ?", {op->text("id")});
    AccessClaims claims;
    claims.subject = op->text("id");
    claims.tenantId = kPlatformTenant;
    claims.sessionId = data::newId();
    claims.roles = {"operator"};
    return json{{"access_token", operatorTokens_.mint(claims, now)},
                {"token_type", "Bearer"},
                {"expires_in", operatorTokens_.ttlSeconds()}};
}

}  // namespace ardoise::kernel::auth
