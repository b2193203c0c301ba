// Sign-in, sessions, 2FA, invitations and resets over HTTP, on SQLite and PostgreSQL.

#include <catch2/catch.hpp>

#include <algorithm>

#include "kernel/auth/totp.hpp"
#include "kernel/data/database.hpp"
#include "support/node.hpp"
#include "support/smtp_sink.hpp"
#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

/// The link token in an email body ("...&token=XYZ").
std::string tokenIn(const std::string& mail) {
    auto pos = mail.find("token=");
    REQUIRE(pos != std::string::npos);
    pos += 6;
    auto end = mail.find_first_of("\r\n ", pos);
    return mail.substr(pos, end - pos);
}

/// Starts `s` delivering mail to `sink`, with one school "lycee-a".
void startWithMail(TestServer& s, const ardoise::test::SmtpSink& sink) {
    s.config().smtpPort = sink.port;
    s.config().outbox = true;
    s.start();
    s.createTenant("lycee-a");
}

}  // namespace

TEST_CASE("The demo-style login returns tokens and GET /me answers the user and school", "[auth][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("lycee-a");
    auto pair = s.loginPair("lycee-a", "admin@lycee-a.test");
    CHECK(pair["token_type"] == "Bearer");
    CHECK(pair["expires_in"] == 900);
    auto me = s.as(pair["access_token"], "lycee-a", "GET", "/api/v1/me");
    REQUIRE(me.status == 200);
    CHECK(me.json()["email"] == "admin@lycee-a.test");
    CHECK(me.json()["tenant"]["slug"] == "lycee-a");
    CHECK(me.json()["tenant"]["currency"] == "XOF");
    CHECK(me.json()["tenant"]["timezone"] == "Africa/Abidjan");
    CHECK(!me.header("x-request-id").empty());
}

TEST_CASE("An access token issued by the server verifies with jose and names the user, tenant and session",
          "[auth][api][tokens]") {
    TestServer s("sqlite");
    const std::string tenantId = s.createTenant("lycee-a");
    const std::string token = s.login("lycee-a", "admin@lycee-a.test");
    auto run = ardoise::test::node("jwt_verify.mjs", {token, std::string(48, 'k'), "ardoise", "ardoise-api"});
    INFO(run.output);
    REQUIRE(run.exitCode == 0);
    const auto payload = json::parse(run.output);
    CHECK(payload["tid"] == tenantId);
    CHECK(payload["roles"] == json({"admin"}));
    CHECK(payload["exp"].get<long long>() - payload["iat"].get<long long>() == 900);
    CHECK(payload["sid"].get<std::string>().size() == 20);
    // And jose refuses it under another key.
    CHECK(ardoise::test::node("jwt_verify.mjs", {token, std::string(48, 'x'), "ardoise", "ardoise-api"}).exitCode != 0);
}

TEST_CASE("A wrong password is refused in the caller's language and audited", "[auth][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("lycee-a");
    auto fr = s.request("POST", "/api/v1/auth/login", {{"email", "admin@lycee-a.test"}, {"password", "nope-nope-nope"}},
                        {{"X-Tenant", "lycee-a"}});
    CHECK(fr.status == 401);
    CHECK(fr.header("content-type") == "application/problem+json");
    CHECK(fr.json()["type"] == "/problems/invalid-credentials");
    CHECK(fr.json()["title"] == "Échec de la connexion");
    auto en = s.request("POST", "/api/v1/auth/login", {{"email", "nobody@lycee-a.test"}, {"password", "nope-nope-nope"}},
                        {{"X-Tenant", "lycee-a"}, {"Accept-Language", "en-GB,en;q=0.8"}});
    CHECK(en.status == 401);
    CHECK(en.json()["title"] == "Sign-in failed");
    auto token = s.login("lycee-a", "admin@lycee-a.test");
    auto audit = s.as(token, "lycee-a", "GET", "/api/v1/audit?action=login.failed");
    REQUIRE(audit.status == 200);
    CHECK(audit.json()["items"].size() == 2);
}

TEST_CASE("Repeated failures lock the account and a later correct password is refused until it expires",
          "[auth][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("lycee-a");
    for (int i = 0; i < 5; ++i) {
        auto r = s.request("POST", "/api/v1/auth/login", {{"email", "admin@lycee-a.test"}, {"password", "wrong-password"}},
                           {{"X-Tenant", "lycee-a"}});
        CHECK(r.status == 401);
    }
    auto locked = s.request("POST", "/api/v1/auth/login",
                            {{"email", "admin@lycee-a.test"}, {"password", "correct-horse-battery"}}, {{"X-Tenant", "lycee-a"}});
    CHECK(locked.status == 429);
    CHECK(locked.json()["type"] == "/problems/account-locked");
    CHECK(!locked.header("retry-after").empty());
}

TEST_CASE("Refresh rotates the token; reusing a rotated token revokes the whole session", "[auth][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("lycee-a");
    auto first = s.loginPair("lycee-a", "admin@lycee-a.test");
    auto second = s.request("POST", "/api/v1/auth/refresh", {{"refresh_token", first["refresh_token"]}}, {{"X-Tenant", "lycee-a"}});
    REQUIRE(second.status == 200);
    CHECK(second.json()["refresh_token"] != first["refresh_token"]);
    const std::string access2 = second.json()["access_token"];
    CHECK(s.as(access2, "lycee-a", "GET", "/api/v1/me").status == 200);

    auto reuse = s.request("POST", "/api/v1/auth/refresh", {{"refresh_token", first["refresh_token"]}}, {{"X-Tenant", "lycee-a"}});
    CHECK(reuse.status == 401);
    // The family is gone: the newest refresh token and the access tokens stop too.
    auto after = s.request("POST", "/api/v1/auth/refresh", {{"refresh_token", second.json()["refresh_token"]}},
                           {{"X-Tenant", "lycee-a"}});
    CHECK(after.status == 401);
    CHECK(s.as(access2, "lycee-a", "GET", "/api/v1/me").status == 401);
    CHECK(s.as(first["access_token"], "lycee-a", "GET", "/api/v1/me").status == 401);
}

TEST_CASE("Logout stops the access token at once, before it expires", "[auth][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("lycee-a");
    auto pair = s.loginPair("lycee-a", "admin@lycee-a.test");
    CHECK(s.as(pair["access_token"], "lycee-a", "POST", "/api/v1/auth/logout").status == 204);
    CHECK(s.as(pair["access_token"], "lycee-a", "GET", "/api/v1/me").status == 401);
    CHECK(s.request("POST", "/api/v1/auth/refresh", {{"refresh_token", pair["refresh_token"]}}, {{"X-Tenant", "lycee-a"}})
              .status == 401);
}

TEST_CASE("TOTP: enrol, confirm with an otplib code, then sign-in needs a code; recovery codes work once",
          "[auth][api][totp]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("lycee-a");
    auto token = s.login("lycee-a", "admin@lycee-a.test");
    auto enroll = s.as(token, "lycee-a", "POST", "/api/v1/auth/totp/enroll");
    REQUIRE(enroll.status == 200);
    const std::string secret = enroll.json()["secret"];
    CHECK(enroll.json()["otpauth_uri"].get<std::string>().rfind("otpauth://totp/", 0) == 0);

    // The code comes from an independent implementation.
    auto otp = ardoise::test::node("totp_code.mjs", {secret});
    REQUIRE(otp.exitCode == 0);
    std::string code = otp.output.substr(0, 6);
    auto confirm = s.as(token, "lycee-a", "POST", "/api/v1/auth/totp/confirm", {{"code", code}});
    REQUIRE(confirm.status == 200);
    auto codes = confirm.json()["recovery_codes"];
    REQUIRE(codes.size() == 10);

    auto noCode = s.request("POST", "/api/v1/auth/login",
                            {{"email", "admin@lycee-a.test"}, {"password", "correct-horse-battery"}}, {{"X-Tenant", "lycee-a"}});
    CHECK(noCode.status == 401);
    CHECK(noCode.json()["type"] == "/problems/totp-required");

    // The code just used to confirm cannot be replayed.
    auto replay = s.request("POST", "/api/v1/auth/login",
                            {{"email", "admin@lycee-a.test"}, {"password", "correct-horse-battery"}, {"totp", code}},
                            {{"X-Tenant", "lycee-a"}});
    CHECK(replay.status == 401);
    CHECK(replay.json()["type"] == "/problems/totp-invalid");

    std::string recovery = codes[0];
    recovery.erase(std::remove(recovery.begin(), recovery.end(), '-'), recovery.end());
    for (auto& c : recovery) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));  // typed loosely: upper case, no dashes
    }
    auto withRecovery = s.request("POST", "/api/v1/auth/login",
                                  {{"email", "admin@lycee-a.test"}, {"password", "correct-horse-battery"}, {"totp", recovery}},
                                  {{"X-Tenant", "lycee-a"}});
    CHECK(withRecovery.status == 200);
    auto again = s.request("POST", "/api/v1/auth/login",
                           {{"email", "admin@lycee-a.test"}, {"password", "correct-horse-battery"}, {"totp", recovery}},
                           {{"X-Tenant", "lycee-a"}});
    CHECK(again.status == 401);

    // Disabling needs the password.
    const std::string t2 = withRecovery.json()["access_token"];
    CHECK(s.as(t2, "lycee-a", "POST", "/api/v1/auth/totp/disable", {{"password", "wrong-one-here"}}).status == 401);
    CHECK(s.as(t2, "lycee-a", "POST", "/api/v1/auth/totp/disable", {{"password", "correct-horse-battery"}}).status == 204);
    CHECK(s.request("POST", "/api/v1/auth/login", {{"email", "admin@lycee-a.test"}, {"password", "correct-horse-battery"}},
                    {{"X-Tenant", "lycee-a"}})
              .status == 200);
}

TEST_CASE("An invited user receives a single-use link by SMTP and chooses a password", "[auth][api][smtp]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    ardoise::test::SmtpSink sink;
    TestServer s(backend, false);
    startWithMail(s, sink);
    auto admin = s.login("lycee-a", "admin@lycee-a.test");
    auto invite = s.as(admin, "lycee-a", "POST", "/api/v1/users",
                       {{"email", "Prof.Kone@Lycee-A.test"}, {"name", "Adjoua Koné"}, {"roles", {"teacher"}}});
    REQUIRE(invite.status == 201);
    CHECK(invite.json()["status"] == "invited");
    CHECK(invite.json()["email"] == "prof.kone@lycee-a.test");

    const std::string mail = ardoise::test::mailText(sink.message(1, std::chrono::seconds(15)));
    REQUIRE(!mail.empty());
    CHECK(mail.find("Adjoua Koné") != std::string::npos);
    const std::string token = tokenIn(mail);

    auto weak = s.request("POST", "/api/v1/auth/accept-invite", {{"token", token}, {"password", "azertyuiop"}},
                          {{"X-Tenant", "lycee-a"}});
    CHECK(weak.status == 422);
    CHECK(weak.json()["type"] == "/problems/weak-password");
    auto ok = s.request("POST", "/api/v1/auth/accept-invite", {{"token", token}, {"password", "Un-Mot-De-Passe-Solide"}},
                        {{"X-Tenant", "lycee-a"}});
    REQUIRE(ok.status == 200);
    CHECK(ok.json()["status"] == "active");
    auto twice = s.request("POST", "/api/v1/auth/accept-invite", {{"token", token}, {"password", "Un-Autre-Mot-De-Passe"}},
                           {{"X-Tenant", "lycee-a"}});
    CHECK(twice.status == 401);
    CHECK(s.login("lycee-a", "prof.kone@lycee-a.test", "Un-Mot-De-Passe-Solide").size() > 20);
}

TEST_CASE("Password reset answers the same for unknown accounts and ends every session when used",
          "[auth][api][smtp]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    ardoise::test::SmtpSink sink;
    TestServer s(backend, false);
    startWithMail(s, sink);
    auto oldSession = s.login("lycee-a", "admin@lycee-a.test");
    auto known = s.request("POST", "/api/v1/auth/password-reset", {{"email", "admin@lycee-a.test"}}, {{"X-Tenant", "lycee-a"}});
    auto unknown = s.request("POST", "/api/v1/auth/password-reset", {{"email", "ghost@lycee-a.test"}}, {{"X-Tenant", "lycee-a"}});
    CHECK(known.status == 202);
    CHECK(unknown.status == 202);
    CHECK(known.body == unknown.body);

    const std::string mail = ardoise::test::mailText(sink.message(1, std::chrono::seconds(15)));
    REQUIRE(!mail.empty());
    CHECK(sink.message(2, std::chrono::seconds(1)).empty());  // nothing sent for the unknown address
    auto done = s.request("POST", "/api/v1/auth/password-reset/confirm",
                          {{"token", tokenIn(mail)}, {"password", "Nouveau-Mot-De-Passe-2026"}}, {{"X-Tenant", "lycee-a"}});
    CHECK(done.status == 204);
    CHECK(s.as(oldSession, "lycee-a", "GET", "/api/v1/me").status == 401);
    CHECK(s.request("POST", "/api/v1/auth/login", {{"email", "admin@lycee-a.test"}, {"password", "correct-horse-battery"}},
                    {{"X-Tenant", "lycee-a"}})
              .status == 401);
    CHECK(s.login("lycee-a", "admin@lycee-a.test", "Nouveau-Mot-De-Passe-2026").size() > 20);
}

TEST_CASE("Admins manage users; others are refused by permission", "[auth][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("lycee-a");
    const std::string studentId = s.createUser("lycee-a", "eleve@lycee-a.test", "student");
    s.createUser("lycee-a", "prof@lycee-a.test", "teacher");
    auto admin = s.login("lycee-a", "admin@lycee-a.test");
    auto student = s.login("lycee-a", "eleve@lycee-a.test");
    auto teacher = s.login("lycee-a", "prof@lycee-a.test");

    auto page1 = s.as(admin, "lycee-a", "GET", "/api/v1/users?limit=2");
    REQUIRE(page1.status == 200);
    CHECK(page1.json()["items"].size() == 2);
    const std::string cursor = page1.json()["next_cursor"];
    auto page2 = s.as(admin, "lycee-a", "GET", "/api/v1/users?limit=2&cursor=" + cursor);
    CHECK(page2.json()["items"].size() == 1);
    CHECK(page2.json()["next_cursor"].is_null());
    CHECK(s.as(admin, "lycee-a", "GET", "/api/v1/users?role=student").json()["items"].size() == 1);
    CHECK(s.as(admin, "lycee-a", "GET", "/api/v1/users?limit=1000").status == 422);

    CHECK(s.as(teacher, "lycee-a", "GET", "/api/v1/users").status == 200);
    auto denied = s.as(student, "lycee-a", "GET", "/api/v1/users");
    CHECK(denied.status == 403);
    CHECK(denied.json()["type"] == "/problems/forbidden");
    CHECK(s.as(teacher, "lycee-a", "PATCH", "/api/v1/users/" + studentId, {{"name", "X"}}).status == 403);

    auto renamed = s.as(admin, "lycee-a", "PATCH", "/api/v1/users/" + studentId, {{"name", "Aïcha Traoré"}});
    REQUIRE(renamed.status == 200);
    CHECK(renamed.json()["name"] == "Aïcha Traoré");
    CHECK(s.as(admin, "lycee-a", "DELETE", "/api/v1/users/" + studentId).status == 204);
    CHECK(s.as(student, "lycee-a", "GET", "/api/v1/me").status == 401);  // deactivation ends sessions
    CHECK(s.as(admin, "lycee-a", "GET", "/api/v1/users/" + studentId).json()["status"] == "deactivated");
    auto dup = s.as(admin, "lycee-a", "POST", "/api/v1/users",
                    {{"email", "prof@lycee-a.test"}, {"name", "Twice"}, {"roles", {"teacher"}}});
    CHECK(dup.status == 409);
}
