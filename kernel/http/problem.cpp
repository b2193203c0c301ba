#include "kernel/http/problem.hpp"

#include <filesystem>
#include <fstream>

namespace ardoise::kernel::http {

Messages& Messages::instance() {
    static Messages messages;
    return messages;
}

void Messages::load(const std::string& dir) {
    std::map<std::string, std::map<std::string, std::string>> loaded;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") {
            continue;
        }
        std::ifstream in(entry.path());
        auto doc = nlohmann::json::parse(in);
        auto& target = loaded[entry.path().stem().string()];
        for (const auto& [key, value] : doc.items()) {
            target[key] = value.get<std::string>();
        }
    }
    catalogs_ = std::move(loaded);
}

bool Messages::has(const std::string& locale, const std::string& key) const {
    auto c = catalogs_.find(locale);
    return c != catalogs_.end() && c->second.count(key) != 0;
}

std::string Messages::text(const std::string& locale, const std::string& key) const {
    for (const auto& loc : {locale, std::string("en")}) {
        auto c = catalogs_.find(loc);
        if (c != catalogs_.end()) {
            auto it = c->second.find(key);
            if (it != c->second.end()) {
                return it->second;
            }
        }
    }
    return key;
}

std::string Messages::format(const std::string& locale, const std::string& key,
                             const std::vector<std::pair<std::string, std::string>>& values) const {
    if (!has(locale, key) && !has("en", key)) {
        return "";
    }
    std::string s = text(locale, key);
    for (const auto& [name, value] : values) {
        const std::string marker = "{" + name + "}";
        for (auto pos = s.find(marker); pos != std::string::npos; pos = s.find(marker, pos + value.size())) {
            s.replace(pos, marker.size(), value);
        }
    }
    return s;
}

std::string negotiateLocale(const std::string& acceptLanguage, const std::string& fallback) {
    // First listed language we support wins; q-values are rarely used by
    // browsers to reorder and are ignored here.
    std::size_t pos = 0;
    while (pos < acceptLanguage.size()) {
        std::size_t comma = acceptLanguage.find(',', pos);
        std::string item = acceptLanguage.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        auto start = item.find_first_not_of(' ');
        if (start != std::string::npos) {
            std::string lang = item.substr(start, 2);
            if (lang == "fr" || lang == "FR") {
                return "fr";
            }
            if (lang == "en" || lang == "EN") {
                return "en";
            }
        }
        if (comma == std::string::npos) {
            break;
        }
        pos = comma + 1;
    }
    return fallback;
}

int httpStatusOf(Code code, bool hasFields) {
    switch (code) {
        case Code::kOk: return 200;
        case Code::kInvalidArgument: return hasFields ? 422 : 400;
        case Code::kUnauthenticated: return 401;
        case Code::kPermissionDenied: return 403;
        case Code::kNotFound: return 404;
        case Code::kMethodNotAllowed: return 405;
        case Code::kConflict: return 409;
        case Code::kFailedPrecondition: return 409;
        case Code::kPayloadTooLarge: return 413;
        case Code::kHeadersTooLarge: return 431;
        case Code::kUnsupportedMedia: return 415;
        case Code::kRateLimited: return 429;
        case Code::kUnavailable: return 503;
        case Code::kInternal: return 500;
    }
    return 500;
}

Response problemResponse(const Status& status, const Request& request) {
    const auto& messages = Messages::instance();
    const std::string& loc = request.locale;
    const int code = httpStatusOf(status.code(), !status.fields().empty());
    std::string title = messages.text(loc, "problem." + status.type() + ".title");
    if (title == "problem." + status.type() + ".title") {
        title = messages.text(loc, "status." + std::to_string(code));
    }
    // An extra "detail_variant" picks another wording of the detail
    // ("problem.<type>.<variant>.detail"), e.g. one naming an upgrade.
    std::string detailKey = "problem." + status.type() + ".detail";
    for (const auto& [k, v] : status.extras()) {
        if (k == "detail_variant") {
            detailKey = "problem." + status.type() + "." + v + ".detail";
        }
    }
    std::string detail = messages.format(loc, detailKey, status.extras());
    if (detail.empty()) {
        detail = status.message();
    }
    nlohmann::json body = {
        {"type", "/problems/" + status.type()},
        {"title", title},
        {"status", code},
        {"detail", detail},
        {"instance", request.path},
    };
    if (!request.requestId.empty()) {
        body["request_id"] = request.requestId;
    }
    if (!status.fields().empty()) {
        auto& errors = body["errors"] = nlohmann::json::array();
        for (const auto& f : status.fields()) {
            std::string text = messages.format(loc, "field." + f.reason, {});
            errors.push_back({{"pointer", f.pointer}, {"reason", f.reason},
                              {"detail", loc == "en" || text.empty() ? f.detail : text}});
        }
    }
    Response r{code, "application/problem+json", "", {}};
    for (const auto& [k, v] : status.extras()) {
        if (k == "detail_variant") {
            continue;
        }
        body[k] = v;
        if (k == "retry_after") {
            r.headers.emplace_back("Retry-After", v);
        }
    }
    if (code == 401) {
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
    }
    // The path and some details echo the request, which may hold bytes that
    // are not UTF-8 (GET /%FF): replace them rather than throw, since this is
    // the function every failure ends in.
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
}

}  // namespace ardoise::kernel::http
