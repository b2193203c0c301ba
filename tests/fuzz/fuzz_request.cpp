// Fuzzes request parsing, routing, authentication and JSON validation through
// the real Pipeline of an Application on a temporary SQLite database, without
// sockets.
//
// Input layout (text, lines end with '\n'):
//   METHOD
//   TARGET                 path and query, parsed as the server parses it
//   Name: value            up to kMaxHeaders header lines
//   (empty line)
//   body…                  the rest
// "$TOKEN" in a header value becomes a valid access token of the demo admin,
// so the fuzzer also reaches the handlers behind authentication.
//
// Every response must be a success or a well-formed problem+json below 500;
// anything else traps.

#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "kernel/app/application.hpp"
#include "kernel/http/problem.hpp"
#include "kernel/http/server.hpp"

namespace {

namespace fs = std::filesystem;
using ardoise::kernel::app::Application;
using ardoise::kernel::app::Config;
namespace http = ardoise::kernel::http;

constexpr std::size_t kMaxHeaders = 8;
constexpr const char* kTokenMarker = "$TOKEN";

struct State {
    std::unique_ptr<Application> app;
    std::string token;
    std::string sessionId;
    std::string userId;
    std::string tenantId;
};

State* state = nullptr;

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "fuzz_request: %s\n", why.c_str());
    std::abort();
}

void check(bool ok, const char* what, const http::Response& r) {
    if (!ok) {
        std::fprintf(stderr, "fuzz_request: %s (status %d, type %s)\n%s\n", what, r.status, r.contentType.c_str(),
                     r.body.substr(0, 2000).c_str());
        __builtin_trap();
    }
}

// What the server does with the request line before the pipeline sees it
// (kernel/http/server.cpp): lower-case header names, path and query from the target.
bool toRequest(std::string_view input, http::Request& req) {
    auto nextLine = [&input]() {
        const auto nl = input.find('\n');
        std::string line(input.substr(0, nl));
        input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
        return line;
    };
    req.method = nextLine();
    req.target = nextLine();
    for (std::size_t i = 0; i < kMaxHeaders && !input.empty(); ++i) {
        std::string line = nextLine();
        if (line.empty()) {
            break;
        }
        const auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (auto at = value.find(kTokenMarker); at != std::string::npos) {
            value.replace(at, std::string_view(kTokenMarker).size(), state->token);
        }
        http::setHeader(req, line.substr(0, colon), value);
    }
    req.body = std::string(input);
    req.remoteIp = "127.0.0.1";
    return http::parseTarget(req);  // false: the server answers 400 before the pipeline
}

// The fuzzer may revoke the session (logout), deactivate or lock the admin:
// undo it so later inputs still reach authenticated handlers.
void restoreAdmin() {
    auto lease = state->app->database().acquire();
    lease->exec("UPDATE auth_sessions SET revoked_at = NULL, revoked_reason = NULL WHERE tenant_id = ? AND id = ?",
                {state->tenantId, state->sessionId});
    lease->exec("UPDATE users SET status = 'active', roles = 'admin', failed_logins = 0, locked_until = 0 "
                "WHERE tenant_id = ? AND id = ?",
                {state->tenantId, state->userId});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char dir[] = "/tmp/ardoise-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
        die("mkdtemp failed");
    }
    auto config = ardoise::kernel::app::loadConfig("");
    if (!config) {
        die("config: " + config.status().message());
    }
    Config c = *config;
    c.databaseUrl = std::string("sqlite:") + dir + "/fuzz.db";
    c.dataDir = dir;
    c.databasePool = 2;
    c.jwtKeys = "fuzz1:" + std::string(48, 'f');
    c.accessLog = false;
    c.outbox = false;
    c.rateTenantPerSecond = 1e9;  // every input counts against the tenant
    // One argon2id hash at a time and no queue: a login-shaped input still
    // verifies its password (~30 ms) but nothing ever waits behind it.
    c.hashConcurrency = 1;
    c.hashQueue = 0;
    state = new State;
    state->app = std::make_unique<Application>(c);
    if (auto s = state->app->migrate(); !s.isOk()) {
        die("migrate: " + s.message());
    }
    auto tenant = state->app->tenants().create({{"slug", "demo"}, {"name", "Fuzz school"}});
    if (!tenant) {
        die("tenant: " + tenant.status().message());
    }
    auto ctx = state->app->tenants().resolve("demo");
    const nlohmann::json admin = {{"email", "admin@demo.test"},
                                  {"name", "Admin"},
                                  {"roles", {"admin"}},
                                  {"password", "fuzzing-password-1"}};
    auto user = state->app->auth().createUser(*ctx, admin, "", {"fuzz", ""});
    if (!user) {
        die("user: " + user.status().message());
    }
    auto pair = state->app->auth().login(*ctx, {{"email", "admin@demo.test"}, {"password", "fuzzing-password-1"}},
                                         {"127.0.0.1", ""});
    if (!pair) {
        die("login: " + pair.status().message());
    }
    state->token = (*pair)["access_token"].get<std::string>();
    auto who = state->app->auth().authenticate(state->token, &*ctx);
    if (!who) {
        die("authenticate: " + who.status().message());
    }
    state->sessionId = who->sessionId;
    state->userId = who->id;
    state->tenantId = ctx->id;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) {
        return 0;
    }
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    http::Request req;
    if (!toRequest(input, req)) {
        return 0;
    }
    if (input.find(kTokenMarker) != std::string_view::npos) {
        restoreAdmin();
    }
    const http::Response r = state->app->pipeline().handle(req);

    check(r.status >= 200 && r.status < 500, "status outside 2xx-4xx", r);
    if (r.status >= 400) {
        check(r.contentType == "application/problem+json", "an error that is not problem+json", r);
        const auto body = nlohmann::json::parse(r.body, nullptr, false);
        check(body.is_object(), "a problem body that is not a JSON object", r);
        check(body.contains("type") && body["type"].is_string(), "a problem without type", r);
        check(body.contains("title") && body["title"].is_string(), "a problem without title", r);
        check(body.contains("status") && body["status"] == r.status, "a problem whose status differs", r);
    } else if (r.contentType == "application/json" && r.status != 204) {
        check(!nlohmann::json::parse(r.body, nullptr, false).is_discarded(), "a success body that is not JSON", r);
    }
    return 0;
}
