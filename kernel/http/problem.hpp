#pragma once
// Status → RFC 9457 problem+json, in the caller's language. The one place
// where expected failures become HTTP responses.

#include <string>

#include "kernel/http/http.hpp"

namespace ardoise::kernel::http {

/// User-facing strings, loaded from templates/i18n/<locale>.json (flat
/// key → text maps). Missing keys fall back to English, then to the key.
class Messages {
public:
    static Messages& instance();
    /// Loads every <locale>.json in `dir`; safe to call again (tests).
    void load(const std::string& dir);
    std::string text(const std::string& locale, const std::string& key) const;
    /// text() with {name} placeholders replaced; "" when the key is absent.
    std::string format(const std::string& locale, const std::string& key,
                       const std::vector<std::pair<std::string, std::string>>& values) const;
    bool has(const std::string& locale, const std::string& key) const;

private:
    std::map<std::string, std::map<std::string, std::string>> catalogs_;
};

/// "fr" or "en" from an Accept-Language header, else the fallback.
std::string negotiateLocale(const std::string& acceptLanguage, const std::string& fallback);

int httpStatusOf(Code code, bool hasFields);

/// The problem+json response for a failure of `request`.
Response problemResponse(const Status& status, const Request& request);

}  // namespace ardoise::kernel::http
