#include "kernel/billing/stripe_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

#include "kernel/data/ids.hpp"

namespace ardoise::kernel::billing {
namespace {

using nlohmann::json;

std::string percentEncode(const std::string& s) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

void flatten(const std::string& prefix, const json& value, std::string& out) {
    if (value.is_object()) {
        for (const auto& [k, v] : value.items()) {
            flatten(prefix.empty() ? k : prefix + "[" + k + "]", v, out);
        }
        return;
    }
    if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
            flatten(prefix + "[" + std::to_string(i) + "]", value[i], out);
        }
        return;
    }
    std::string text;
    if (value.is_string()) {
        text = value.get<std::string>();
    } else if (!value.is_null()) {
        text = value.dump();  // numbers and booleans as JSON writes them
    }
    out += (out.empty() ? "" : "&") + percentEncode(prefix) + "=" + percentEncode(text);
}

void curlGlobalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Reply {
    long status = 0;
    std::string body;
    std::string shouldRetry;  ///< Stripe-Should-Retry, lower-case
    std::string requestId;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* target) {
    static_cast<Reply*>(target)->body.append(data, size * count);
    return size * count;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* target) {
    std::string line(data, size * count);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        value.erase(value.find_last_not_of("\r\n ") + 1);
        auto* reply = static_cast<Reply*>(target);
        if (name == "stripe-should-retry") {
            std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
            reply->shouldRetry = value;
        } else if (name == "request-id") {
            reply->requestId = value;
        }
    }
    return size * count;
}

bool retryableNetworkError(CURLcode code) {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
            return true;
        default:
            return false;
    }
}

/// Stripe's {"error": {...}} as a Status.
Status stripeError(long status, const std::string& body) {
    const json doc = json::parse(body, nullptr, false);
    json error = doc.is_object() && doc.contains("error") && doc["error"].is_object() ? doc["error"] : json::object();
    const std::string type = error.value("type", "");
    std::string message = error.value("message", "");
    if (message.empty()) {
        message = "HTTP " + std::to_string(status);
    }
    if (error.contains("param") && error["param"].is_string()) {
        message += " (parameter " + error["param"].get<std::string>() + ")";
    }
    Status s;
    if (type == "idempotency_error") {
        s = Status(Code::kConflict, "stripe-idempotency-conflict",
                   "Stripe refused a reused idempotency key: " + message);
    } else if (status == 401 || status == 403 || type == "authentication_error") {
        s = Status(Code::kInternal, "stripe-authentication",
                   "Stripe refused the secret key (check stripe_secret_key): " + message);
    } else if (status == 402 || type == "card_error") {
        s = Status(Code::kFailedPrecondition, "stripe-card-declined", "Stripe declined the payment: " + message);
    } else if (status == 404) {
        s = Status(Code::kNotFound, "stripe-not-found", "Stripe has no such object: " + message);
    } else if (status == 429 || status >= 500) {
        s = Status(Code::kUnavailable, "stripe-unavailable", "Stripe is unavailable: " + message);
    } else {
        s = Status(Code::kInvalidArgument, "stripe-invalid-request", "Stripe refused the request: " + message);
    }
    if (error.contains("code") && error["code"].is_string()) {
        s.addExtra("stripe_code", error["code"].get<std::string>());
    }
    return s;
}

}  // namespace

std::string formEncode(const json& params) {
    std::string out;
    if (params.is_object()) {
        flatten("", params, out);
    }
    return out;
}

StripeClient::StripeClient(StripeOptions options) : options_(std::move(options)) { curlGlobalInit(); }

Result<json> StripeClient::call(const std::string& method, const std::string& path, const json& params,
                                std::string idempotencyKey) {
    if (options_.secretKey.empty()) {
        return Status(Code::kFailedPrecondition, "stripe-not-configured",
                      "Payments through Stripe are not configured (stripe_secret_key).");
    }
    const bool post = method == "POST";
    if (post && idempotencyKey.empty()) {
        idempotencyKey = "ardoise-" + data::newId();
    }
    const std::string form = formEncode(params);
    std::string url = options_.apiBase + path;
    if (!post && !form.empty()) {
        url += "?" + form;
    }

    Status last;
    for (int attempt = 0; attempt <= options_.maxRetries; ++attempt) {
        if (attempt > 0) {
            const std::chrono::milliseconds wait =
                std::min<std::chrono::milliseconds>(options_.backoff * (1 << std::min(attempt - 1, 16)),
                                                    std::chrono::milliseconds(8000));
            std::this_thread::sleep_for(wait);
        }
        std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
        if (!curl) {
            return Status(Code::kInternal, "stripe-unavailable", "libcurl could not create a handle.");
        }
        curl_slist* headers = nullptr;
        headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.secretKey).c_str());
        headers = curl_slist_append(headers, (std::string("Stripe-Version: ") + kStripeApiVersion).c_str());
        headers = curl_slist_append(headers, "Accept: application/json");
        headers = curl_slist_append(headers, "User-Agent: Ardoise/" ARDOISE_VERSION);
        if (post) {
            headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
            headers = curl_slist_append(headers, ("Idempotency-Key: " + idempotencyKey).c_str());
        }
        std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headerList(headers, &curl_slist_free_all);
        Reply reply;
        CURL* h = curl.get();
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connectTimeoutMs);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options_.timeoutMs);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onBody);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply);
        if (post) {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.c_str());
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
        } else if (method != "GET") {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
        }
        const CURLcode code = curl_easy_perform(h);
        if (code != CURLE_OK) {
            last = Status(Code::kUnavailable, "stripe-unavailable",
                          std::string("Stripe could not be reached: ") + curl_easy_strerror(code) + " (after " +
                              std::to_string(attempt + 1) + " attempts)");
            if (retryableNetworkError(code)) {
                continue;
            }
            return last;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
        if (reply.status >= 200 && reply.status < 300) {
            json body = json::parse(reply.body, nullptr, false);
            if (body.is_discarded()) {
                return Status(Code::kUnavailable, "stripe-unavailable", "Stripe answered with something other than JSON.");
            }
            return body;
        }
        last = stripeError(reply.status, reply.body);
        bool retry = reply.status == 409 || reply.status == 429 || reply.status >= 500;
        if (reply.shouldRetry == "false") {
            retry = false;
        } else if (reply.shouldRetry == "true") {
            retry = true;
        }
        if (!retry) {
            return last;
        }
    }
    return last;
}

namespace {
/// An id in a path: Stripe's ids are [A-Za-z0-9_]; anything else is escaped.
std::string segment(const std::string& id) { return percentEncode(id); }
}  // namespace

Result<json> StripeClient::createCustomer(const std::string& tenantId, const std::string& name, const std::string& email,
                                          const std::string& idempotencyKey) {
    json params = {{"name", name}, {"metadata", {{"tenant_id", tenantId}}}};
    if (!email.empty()) {
        params["email"] = email;
    }
    return call("POST", "/v1/customers", params, idempotencyKey);
}

Result<json> StripeClient::createCheckoutSession(const CheckoutRequest& r, const std::string& idempotencyKey) {
    json params = {{"mode", "subscription"},
                   {"customer", r.customerId},
                   {"client_reference_id", r.tenantId},
                   {"line_items", {{{"price", r.priceId}, {"quantity", r.quantity}}}},
                   {"subscription_data", {{"metadata", {{"tenant_id", r.tenantId}}}}},
                   {"success_url", r.successUrl},
                   {"cancel_url", r.cancelUrl}};
    if (r.trialDays > 0) {
        params["subscription_data"]["trial_period_days"] = r.trialDays;
    }
    return call("POST", "/v1/checkout/sessions", params, idempotencyKey);
}

Result<json> StripeClient::createPortalSession(const std::string& customerId, const std::string& returnUrl) {
    return call("POST", "/v1/billing_portal/sessions", {{"customer", customerId}, {"return_url", returnUrl}});
}

Result<json> StripeClient::retrieveSubscription(const std::string& subscriptionId) {
    return call("GET", "/v1/subscriptions/" + segment(subscriptionId));
}

Result<json> StripeClient::changeSubscriptionPrice(const std::string& subscriptionId, const std::string& itemId,
                                                   const std::string& priceId, std::int64_t quantity,
                                                   const std::string& idempotencyKey) {
    return call("POST", "/v1/subscriptions/" + segment(subscriptionId),
                {{"items", {{{"id", itemId}, {"price", priceId}, {"quantity", quantity}}}},
                 {"proration_behavior", "create_prorations"}},
                idempotencyKey);
}

Result<json> StripeClient::cancelAtPeriodEnd(const std::string& subscriptionId) {
    return call("POST", "/v1/subscriptions/" + segment(subscriptionId), {{"cancel_at_period_end", true}});
}

Result<json> StripeClient::retrieveEvent(const std::string& eventId) {
    return call("GET", "/v1/events/" + segment(eventId));
}

}  // namespace ardoise::kernel::billing
