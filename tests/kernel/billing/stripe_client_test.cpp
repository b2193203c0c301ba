// The Stripe client: form encoding, retries with the same Idempotency-Key,
// timeouts, error mapping (against a scripted stand-in), and every call
// checked against Stripe's own OpenAPI schema (Prism).
//
// The stand-in below answers what a test scripts, in the shapes Stripe
// documents (https://docs.stripe.com/api/errors: {"error": {type, code,
// message, param}}, the Stripe-Should-Retry header), and records every
// request it receives.

#include <catch2/catch.hpp>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "kernel/billing/stripe_client.hpp"
#include "support/child_process.hpp"
#include "support/test_env.hpp"

using ardoise::kernel::billing::StripeClient;
using ardoise::kernel::billing::StripeOptions;
using nlohmann::json;

namespace {

struct Scripted {
    int status = 200;
    json body = json::object();
    std::map<std::string, std::string> headers;
    int delayMs = 0;
    std::string raw;  ///< sent instead of `body` when not empty
};

struct Recorded {
    std::string method;
    std::string uri;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

class StripeStandIn {
public:
    StripeStandIn() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
        auto* params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(4);
        params->setKeepAlive(false);
        server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_, params);
        server_->start();
    }
    ~StripeStandIn() {
        server_->stopAll(true);
        // Handlers still sleeping through a scripted delay use this object.
        while (active_.load() > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    void push(Scripted s) {
        std::lock_guard lock(mutex_);
        script_.push_back(std::move(s));
    }
    std::vector<Recorded> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(socket_.address().port()); }

private:
    class Handler : public Poco::Net::HTTPRequestHandler {
    public:
        explicit Handler(StripeStandIn& owner) : owner_(owner) {}
        void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
            ++owner_.active_;
            struct Leave {
                std::atomic<int>& n;
                ~Leave() { --n; }
            } leave{owner_.active_};
            Recorded r{req.getMethod(), req.getURI(), "", {}};
            Poco::StreamCopier::copyToString(req.stream(), r.body);
            for (const auto& [k, v] : req) {
                std::string key = k;
                for (auto& c : key) {
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                }
                r.headers[key] = v;
            }
            Scripted s;
            {
                std::lock_guard lock(owner_.mutex_);
                owner_.requests_.push_back(r);
                if (!owner_.script_.empty()) {
                    s = owner_.script_.front();
                    owner_.script_.pop_front();
                } else {
                    s.body = {{"id", "obj_default"}};
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(s.delayMs));
            resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(s.status));
            resp.setContentType("application/json");
            for (const auto& [k, v] : s.headers) {
                resp.set(k, v);
            }
            resp.set("Request-Id", "req_" + std::to_string(owner_.requests().size()));
            const std::string text = s.raw.empty() ? s.body.dump() : s.raw;
            resp.setContentLength(static_cast<std::streamsize>(text.size()));
            try {
                resp.send() << text;
            } catch (const std::exception&) {
                // The client gave up (timeout): nothing to answer.
            }
        }

    private:
        StripeStandIn& owner_;
    };
    class Factory : public Poco::Net::HTTPRequestHandlerFactory {
    public:
        explicit Factory(StripeStandIn& owner) : owner_(owner) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
            return new Handler(owner_);
        }

    private:
        StripeStandIn& owner_;
    };

    Poco::Net::ServerSocket socket_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    std::mutex mutex_;
    std::atomic<int> active_{0};
    std::deque<Scripted> script_;
    std::vector<Recorded> requests_;
};

StripeOptions optionsFor(const std::string& url) {
    StripeOptions o;
    o.apiBase = url;
    o.secretKey = "sk_test_ardoise";
    o.connectTimeoutMs = 1000;
    o.timeoutMs = 2000;
    o.maxRetries = 2;
    o.backoff = std::chrono::milliseconds(10);
    return o;
}

json stripeError(const std::string& type, const std::string& message, const std::string& code = "",
                 const std::string& param = "") {
    json e = {{"type", type}, {"message", message}};
    if (!code.empty()) {
        e["code"] = code;
    }
    if (!param.empty()) {
        e["param"] = param;
    }
    return {{"error", e}};
}

}  // namespace

TEST_CASE("Parameters are form-encoded with Stripe's bracket notation", "[billing][stripe]") {
    using ardoise::kernel::billing::formEncode;
    CHECK(formEncode({{"name", "École Les Flamboyants"}, {"metadata", {{"tenant_id", "t1"}}}}) ==
          "metadata%5Btenant_id%5D=t1&name=%C3%89cole%20Les%20Flamboyants");
    CHECK(formEncode({{"line_items", {{{"price", "price_1"}, {"quantity", 3}}, {{"price", "price_2"}}}}}) ==
          "line_items%5B0%5D%5Bprice%5D=price_1&line_items%5B0%5D%5Bquantity%5D=3&line_items%5B1%5D%5Bprice%5D=price_2");
    CHECK(formEncode({{"cancel_at_period_end", true}, {"description", nullptr}}) ==
          "cancel_at_period_end=true&description=");
    CHECK(formEncode({{"success_url", "https://a.test/ok?x=1&y=2"}}) == "success_url=https%3A%2F%2Fa.test%2Fok%3Fx%3D1%26y%3D2");
    CHECK(formEncode(json::object()).empty());
}

TEST_CASE("Stripe answers 500 then 200: one logical call, two attempts with the same Idempotency-Key",
          "[billing][stripe]") {
    StripeStandIn stripe;
    stripe.push({500, stripeError("api_error", "Something went wrong on Stripe's end.")});
    stripe.push({200, {{"id", "cus_42"}, {"object", "customer"}}});
    StripeClient client(optionsFor(stripe.url()));
    auto customer = client.createCustomer("tenant1", "Lycée Moderne", "compta@lycee.test");
    REQUIRE(customer);
    CHECK((*customer)["id"] == "cus_42");
    auto seen = stripe.requests();
    REQUIRE(seen.size() == 2);
    const std::string key = seen[0].header("idempotency-key");
    CHECK(key.size() > 10);
    CHECK(seen[1].header("idempotency-key") == key);
    CHECK(seen[1].body == seen[0].body);
    for (const auto& r : seen) {
        CHECK(r.method == "POST");
        CHECK(r.uri == "/v1/customers");
        CHECK(r.header("stripe-version") == "2023-08-16");
        CHECK(r.header("authorization") == "Bearer sk_test_ardoise");
        CHECK(r.header("content-type") == "application/x-www-form-urlencoded");
    }
    CHECK(seen[0].body == "email=compta%40lycee.test&metadata%5Btenant_id%5D=tenant1&name=Lyc%C3%A9e%20Moderne");

    // The next logical call gets its own key; a key given by the caller is used as is.
    REQUIRE(client.createCustomer("tenant2", "B", ""));
    REQUIRE(client.createCustomer("tenant3", "C", "", "customer-tenant3"));
    seen = stripe.requests();
    REQUIRE(seen.size() == 4);
    CHECK(seen[2].header("idempotency-key") != key);
    CHECK(seen[3].header("idempotency-key") == "customer-tenant3");
}

TEST_CASE("A 409 lock conflict and a 429 are retried with the same key; a timeout too", "[billing][stripe]") {
    StripeStandIn stripe;
    stripe.push({409, stripeError("invalid_request_error", "This object cannot be accessed right now.", "lock_timeout")});
    stripe.push({429, stripeError("rate_limit_error", "Too many requests.")});
    stripe.push({200, {{"id", "sub_1"}, {"object", "subscription"}}, {}, 1500});  // slower than the timeout
    stripe.push({200, {{"id", "sub_1"}, {"object", "subscription"}, {"cancel_at_period_end", true}}});
    auto options = optionsFor(stripe.url());
    options.timeoutMs = 500;
    options.maxRetries = 3;
    StripeClient client(options);
    auto sub = client.cancelAtPeriodEnd("sub_1");
    REQUIRE(sub);
    CHECK((*sub)["cancel_at_period_end"] == true);
    const auto seen = stripe.requests();
    REQUIRE(seen.size() == 4);
    for (const auto& r : seen) {
        CHECK(r.header("idempotency-key") == seen[0].header("idempotency-key"));
        CHECK(r.body == "cancel_at_period_end=true");
        CHECK(r.uri == "/v1/subscriptions/sub_1");
    }
}

TEST_CASE("Retries wait with exponential backoff and give up with a clear error", "[billing][stripe]") {
    StripeStandIn stripe;
    for (int i = 0; i < 3; ++i) {
        stripe.push({503, stripeError("api_error", "Stripe is temporarily unavailable.")});
    }
    auto options = optionsFor(stripe.url());
    options.backoff = std::chrono::milliseconds(100);
    StripeClient client(options);
    const auto start = std::chrono::steady_clock::now();
    auto r = client.retrieveSubscription("sub_1");
    const auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r);
    CHECK(r.status().type() == "stripe-unavailable");
    CHECK(r.status().code() == ardoise::Code::kUnavailable);
    CHECK(r.status().message().find("temporarily unavailable") != std::string::npos);
    CHECK(stripe.requests().size() == 3);
    CHECK(elapsed >= std::chrono::milliseconds(300));  // 100 + 200
    CHECK(stripe.requests()[0].header("idempotency-key").empty());  // GET carries none

    // Stripe-Should-Retry: false stops at once, even on a 5xx.
    stripe.push({500, stripeError("api_error", "Do not retry."), {{"Stripe-Should-Retry", "false"}}});
    CHECK(client.retrieveEvent("evt_1").status().type() == "stripe-unavailable");
    CHECK(stripe.requests().size() == 4);
}

TEST_CASE("Stripe's errors become statuses with Stripe's message and are not retried", "[billing][stripe]") {
    StripeStandIn stripe;
    StripeClient client(optionsFor(stripe.url()));
    struct Case {
        int status;
        json body;
        std::string type;
        ardoise::Code code;
        std::string text;
    };
    const std::vector<Case> cases = {
        {400, stripeError("invalid_request_error", "No such price: 'price_x'", "resource_missing", "line_items[0][price]"),
         "stripe-invalid-request", ardoise::Code::kInvalidArgument, "No such price: 'price_x' (parameter line_items[0][price])"},
        {400, stripeError("idempotency_error", "Keys for idempotent requests can only be used with the same parameters."),
         "stripe-idempotency-conflict", ardoise::Code::kConflict, "same parameters"},
        {402, stripeError("card_error", "Your card was declined.", "card_declined"), "stripe-card-declined",
         ardoise::Code::kFailedPrecondition, "Your card was declined."},
        {401, stripeError("authentication_error", "Invalid API Key provided: sk_test_****oise"), "stripe-authentication",
         ardoise::Code::kInternal, "stripe_secret_key"},
        {404, stripeError("invalid_request_error", "No such subscription: 'sub_x'", "resource_missing"),
         "stripe-not-found", ardoise::Code::kNotFound, "No such subscription"},
    };
    std::size_t expected = 0;
    for (const auto& c : cases) {
        INFO(c.type);
        stripe.push({c.status, c.body});
        auto r = client.createPortalSession("cus_1", "https://demo.ardoise.test/billing");
        ++expected;
        REQUIRE_FALSE(r);
        CHECK(r.status().type() == c.type);
        CHECK(r.status().code() == c.code);
        CHECK(r.status().message().find(c.text) != std::string::npos);
        CHECK(stripe.requests().size() == expected);  // not retried
    }
    // A 2xx that is not JSON (a proxy's page) is not trusted.
    stripe.push({.status = 200, .raw = "<html>Bad gateway</html>"});
    auto page = client.retrieveEvent("evt_1");
    CHECK(page.status().type() == "stripe-unavailable");
    CHECK(page.status().message().find("other than JSON") != std::string::npos);
}

TEST_CASE("An unreachable Stripe or a missing key fails clearly without hanging", "[billing][stripe]") {
    auto options = optionsFor("http://127.0.0.1:" + std::to_string(ardoise::test::freeLoopbackPort()));
    options.maxRetries = 1;
    StripeClient client(options);
    const auto start = std::chrono::steady_clock::now();
    auto r = client.createCustomer("t1", "École", "");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    REQUIRE_FALSE(r);
    CHECK(r.status().type() == "stripe-unavailable");
    CHECK(r.status().message().find("could not be reached") != std::string::npos);
    CHECK(r.status().message().find("after 2 attempts") != std::string::npos);

    StripeStandIn stripe;
    auto unconfigured = optionsFor(stripe.url());
    unconfigured.secretKey.clear();
    auto refused = StripeClient(unconfigured).createCustomer("t1", "École", "");
    CHECK(refused.status().type() == "stripe-not-configured");
    CHECK(stripe.requests().empty());
}

TEST_CASE("A timeout on every attempt is reported as Stripe unavailable", "[billing][stripe]") {
    StripeStandIn stripe;
    stripe.push({200, {{"id", "cs_1"}}, {}, 1200});
    stripe.push({200, {{"id", "cs_1"}}, {}, 1200});
    auto options = optionsFor(stripe.url());
    options.timeoutMs = 300;
    options.maxRetries = 1;
    StripeClient client(options);
    auto r = client.createCheckoutSession({.tenantId = "t1", .customerId = "cus_1", .priceId = "price_1",
                                           .successUrl = "https://a.test/ok", .cancelUrl = "https://a.test/no"});
    REQUIRE_FALSE(r);
    CHECK(r.status().type() == "stripe-unavailable");
    CHECK(r.status().message().find("Timeout") != std::string::npos);
    const auto seen = stripe.requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].header("idempotency-key") == seen[1].header("idempotency-key"));
}
