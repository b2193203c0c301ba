// Hostile and malformed requests get a 4xx problem+json and write nothing.

#include <catch2/catch.hpp>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "kernel/data/ids.hpp"
#include "support/test_env.hpp"

using ardoise::test::TestServer;
using nlohmann::json;

namespace {

void requireProblem(const ardoise::test::HttpResult& r, int status, const std::string& type = "") {
    INFO(r.body);
    CHECK(r.status == status);
    CHECK(r.header("content-type") == "application/problem+json");
    auto body = r.json();
    REQUIRE(body.is_object());
    CHECK(body["status"] == status);
    CHECK(body.contains("title"));
    CHECK(body.contains("detail"));
    if (!type.empty()) {
        CHECK(body["type"] == "/problems/" + type);
    }
}

/// Sends raw bytes and returns the raw response.
std::string rawExchange(int port, const std::string& bytes) {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    socket.setReceiveTimeout(Poco::Timespan(10, 0));
    socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    std::string out;
    char buf[4096];
    try {
        for (int n = socket.receiveBytes(buf, sizeof buf); n > 0; n = socket.receiveBytes(buf, sizeof buf)) {
            out.append(buf, static_cast<std::size_t>(n));
            if (out.find("\r\n\r\n") != std::string::npos) {
                auto cl = out.find("Content-Length: ");
                if (cl != std::string::npos) {
                    auto len = std::stoul(out.substr(cl + 16));
                    if (out.size() >= out.find("\r\n\r\n") + 4 + len) {
                        break;
                    }
                }
            }
        }
    } catch (const Poco::Exception&) {
    }
    return out;
}

}  // namespace

TEST_CASE("Malformed, mistyped, incomplete and unknown bodies are refused and write nothing", "[bad-input][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend);
    s.createTenant("ecole-a");
    const std::string admin = s.login("ecole-a", "admin@ecole-a.test");
    const std::string ops = s.operatorToken();
    const auto before = s.rowCounts();
    const std::map<std::string, std::string> h = {{"Authorization", "Bearer " + admin}, {"X-Tenant", "ecole-a"},
                                                  {"Content-Type", "application/json"}};
    auto post = [&](const std::string& body) {
        return ardoise::test::httpRequest(s.port(), "POST", "/api/v1/users", body, h);
    };
    requireProblem(post("{\"email\": "), 400, "malformed-json");
    requireProblem(post("[1,2,3]"), 422, "validation");
    requireProblem(post(""), 400, "malformed-json");
    requireProblem(post("{\"email\":\"a@b.test\",\"email\":\"c@d.test\",\"name\":\"x\",\"roles\":[\"admin\"]}"), 400);
    requireProblem(post(std::string(100000, '[')), 400);
    auto wrongTypes = post(R"({"email": 12, "name": ["x"], "roles": "admin"})");
    requireProblem(wrongTypes, 422, "validation");
    CHECK(wrongTypes.json()["errors"].size() == 3);
    auto missing = post(R"({"email": "a@b.test"})");
    requireProblem(missing, 422, "validation");
    CHECK(missing.json()["errors"].size() == 2);
    auto unknown = post(R"({"email": "a@b.test", "name": "A", "roles": ["admin"], "is_superuser": true})");
    requireProblem(unknown, 422, "validation");
    CHECK(unknown.json()["errors"][0]["pointer"] == "/is_superuser");
    requireProblem(post(R"({"email": "a@b.test", "name": "A", "roles": ["root"]})"), 422);
    requireProblem(post(R"({"email": "not-an-email", "name": "A", "roles": ["admin"]})"), 422);
    requireProblem(post("{\"email\": \"a@b.test\", \"name\": \"\xff\xfe\", \"roles\": [\"admin\"]}"), 400);  // not UTF-8
    auto noType = ardoise::test::httpRequest(s.port(), "POST", "/api/v1/users", R"({"email":"a@b.test","name":"A","roles":["admin"]})",
                                             {{"Authorization", "Bearer " + admin}, {"X-Tenant", "ecole-a"}, {"Content-Type", "text/plain"}});
    requireProblem(noType, 415, "unsupported-media-type");
    auto tenantBad = s.request("POST", "/api/v1/platform/tenants", {{"slug", "Bad Slug!"}, {"name", "X"}},
                               {{"Authorization", "Bearer " + ops}});
    requireProblem(tenantBad, 422, "validation");
    auto reserved = s.request("POST", "/api/v1/platform/tenants", {{"slug", "admin"}, {"name", "X"}},
                              {{"Authorization", "Bearer " + ops}});
    requireProblem(reserved, 422, "validation");
    auto badZone = s.request("POST", "/api/v1/platform/tenants", {{"slug", "ecole-z"}, {"name", "X"}, {"timezone", "Mars/Olympus"}},
                             {{"Authorization", "Bearer " + ops}});
    requireProblem(badZone, 422, "validation");
    CHECK(s.rowCounts() == before);
}

TEST_CASE("Oversized bodies, traversal in ids, bad queries and unknown routes get 4xx problems", "[bad-input][api]") {
    auto backend = GENERATE(from_range(ardoise::test::backends()));
    TestServer s(backend, false);
    s.config().maxBodyBytes = 4096;
    s.start();
    s.createTenant("ecole-a");
    const std::string admin = s.login("ecole-a", "admin@ecole-a.test");
    const auto before = s.rowCounts();
    std::map<std::string, std::string> h = {{"Authorization", "Bearer " + admin}, {"X-Tenant", "ecole-a"},
                                            {"Content-Type", "application/json"}};
    auto big = ardoise::test::httpRequest(s.port(), "POST", "/api/v1/users",
                                          "{\"name\":\"" + std::string(2000000, 'a') + "\"}", h);
    requireProblem(big, 413, "payload-too-large");
    for (const std::string& id : std::vector<std::string>{"..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "%00", "'%20OR%201=1--", std::string(300, 'a')}) {
        auto r = ardoise::test::httpRequest(s.port(), "GET", "/api/v1/users/" + id, "", h);
        INFO(id);
        CHECK(r.status == 404);
        CHECK(r.header("content-type") == "application/problem+json");
    }
    requireProblem(ardoise::test::httpRequest(s.port(), "GET", "/api/v1/users?limit=-1", "", h), 422, "validation");
    requireProblem(ardoise::test::httpRequest(s.port(), "GET", "/api/v1/users?limit=abc", "", h), 422, "validation");
    requireProblem(ardoise::test::httpRequest(s.port(), "GET", "/api/v1/users?role=root", "", h), 422, "validation");
    requireProblem(ardoise::test::httpRequest(s.port(), "GET", "/api/v1/nothing-here", "", h), 404, "not-found");
    auto wrongMethod = ardoise::test::httpRequest(s.port(), "PUT", "/api/v1/me", "", h);
    requireProblem(wrongMethod, 405, "method-not-allowed");
    CHECK(s.rowCounts() == before);
}

TEST_CASE("Huge headers and garbage on the socket get a 4xx, and the server keeps serving", "[bad-input][api]") {
    TestServer s("sqlite");
    const std::string hugeHeader = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100000, 'a') + "\r\n\r\n";
    auto isProblem = [](const std::string& raw, const std::string& status) {
        INFO(raw.substr(0, 300));
        CHECK(raw.rfind("HTTP/1.1 " + status, 0) == 0);
        CHECK(raw.find("Content-Type: application/problem+json") != std::string::npos);
        CHECK(raw.find("\"status\":" + status) != std::string::npos);
    };
    isProblem(rawExchange(s.port(), hugeHeader), "431");
    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 500; ++i) {
        many += "X-H" + std::to_string(i) + ": v\r\n";
    }
    isProblem(rawExchange(s.port(), many + "\r\n"), "431");
    isProblem(rawExchange(s.port(), "\x16\x03\x01 garbage that is not HTTP\r\n\r\n"), "400");
    isProblem(rawExchange(s.port(), "GET /healthz SPDY/3\r\n\r\n"), "400");
    CHECK(s.request("GET", "/healthz").status == 200);
}
