#include "kernel/http/json_schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

namespace ardoise::kernel::http {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------- helpers

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

bool isAlpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isHex(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Parses exactly `count` digits at `pos`.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t count) {
    if (pos + count > s.size()) {
        return std::nullopt;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (!isDigit(s[i])) {
            return std::nullopt;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// Formats a schema number without a trailing ".0" for integral bounds.
std::string numberText(const json& n) {
    if (n.is_number_float()) {
        double d = n.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 1e15) {
            return std::to_string(static_cast<long long>(d));
        }
    }
    return n.dump();
}

// ---------------------------------------------------------------- numbers

// An integer as sign and magnitude, so int64 and uint64 compare exactly.
struct WideInt {
    bool negative = false;
    std::uint64_t magnitude = 0;
};

WideInt toWide(const json& n) {
    if (n.is_number_unsigned()) {
        return {false, n.get<std::uint64_t>()};
    }
    auto v = n.get<std::int64_t>();
    if (v < 0) {
        return {true, std::uint64_t{0} - static_cast<std::uint64_t>(v)};
    }
    return {false, static_cast<std::uint64_t>(v)};
}

int compareWide(WideInt a, WideInt b) {
    if (a.negative != b.negative) {
        return a.negative ? -1 : 1;
    }
    if (a.magnitude == b.magnitude) {
        return 0;
    }
    bool less = a.magnitude < b.magnitude;
    if (a.negative) {
        less = !less;
    }
    return less ? -1 : 1;
}

// Three-way comparison of two JSON numbers, exact when both are integers.
int compareNumbers(const json& a, const json& b) {
    if (a.is_number_integer() && b.is_number_integer()) {
        return compareWide(toWide(a), toWide(b));
    }
    double x = a.get<double>();
    double y = b.get<double>();
    if (x < y) {
        return -1;
    }
    return x > y ? 1 : 0;
}

bool fitsInt64(const json& v) {
    if (v.is_number_unsigned()) {
        return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    }
    if (v.is_number_integer()) {
        return true;
    }
    if (!v.is_number_float()) {
        return false;
    }
    double d = v.get<double>();
    // 2^63 is exactly representable; anything below it with no fraction fits.
    return std::isfinite(d) && std::floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0;
}

// ---------------------------------------------------------------- formats

bool isValidDate(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
        return false;
    }
    auto year = digits(s, 0, 4);
    auto month = digits(s, 5, 2);
    auto day = digits(s, 8, 2);
    if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1) {
        return false;
    }
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
    int maxDay = kDays[*month - 1] + ((*month == 2 && leap) ? 1 : 0);
    return *day <= maxDay;
}

// RFC 3339 section 5.6 date-time; "T" and "Z" in either case.
bool isValidDateTime(std::string_view s) {
    if (s.size() < 20 || !isValidDate(s.substr(0, 10)) || (s[10] != 'T' && s[10] != 't')) {
        return false;
    }
    auto hour = digits(s, 11, 2);
    auto minute = digits(s, 14, 2);
    auto second = digits(s, 17, 2);
    if (!hour || !minute || !second || s[13] != ':' || s[16] != ':' || *hour > 23 || *minute > 59 ||
        *second > 60) {
        return false;
    }
    std::size_t pos = 19;
    if (s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        while (pos < s.size() && isDigit(s[pos])) {
            ++pos;
        }
        if (pos == start) {
            return false;
        }
    }
    if (pos >= s.size()) {
        return false;
    }
    if (s[pos] == 'Z' || s[pos] == 'z') {
        return pos + 1 == s.size();
    }
    if (s[pos] != '+' && s[pos] != '-') {
        return false;
    }
    auto offHour = digits(s, pos + 1, 2);
    auto offMinute = digits(s, pos + 4, 2);
    return pos + 6 == s.size() && s[pos + 3] == ':' && offHour && offMinute && *offHour <= 23 &&
           *offMinute <= 59;
}

// Deliberately simple: one "@", a plausible local part and a dotted domain
// of LDH (or non-ASCII, for IDN) labels. Deliverability is the mailer's job.
bool isValidEmail(std::string_view s) {
    if (s.size() > 254) {
        return false;
    }
    auto at = s.rfind('@');
    if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 >= s.size()) {
        return false;
    }
    std::string_view local = s.substr(0, at);
    std::string_view domain = s.substr(at + 1);
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
        return false;
    }
    for (char c : local) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '@' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' ||
            c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || c == '"') {
            return false;
        }
    }
    std::size_t labels = 0;
    std::size_t start = 0;
    while (start <= domain.size()) {
        auto dot = domain.find('.', start);
        std::string_view label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        for (char c : label) {
            bool ok = isAlpha(c) || isDigit(c) || c == '-' || static_cast<unsigned char>(c) >= 0x80;
            if (!ok) {
                return false;
            }
        }
        ++labels;
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    return labels >= 2;
}

// An absolute URI (RFC 3986): a scheme, then only URI characters and
// well-formed percent escapes.
bool isValidUri(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || !isAlpha(s[0])) {
        return false;
    }
    for (std::size_t i = 1; i < colon; ++i) {
        char c = s[i];
        if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.') {
            return false;
        }
    }
    static constexpr std::string_view kAllowed = "-._~:/?#[]@!$&'()*+,;=";
    for (std::size_t i = colon + 1; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
                return false;
            }
            i += 2;
            continue;
        }
        if (!isAlpha(c) && !isDigit(c) && kAllowed.find(c) == std::string_view::npos) {
            return false;
        }
    }
    return colon + 1 < s.size();
}

// ---------------------------------------------------------------- patterns

class PatternCache {
public:
    // Null when `pattern` does not compile.
    std::shared_ptr<const std::regex> get(const std::string& pattern) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = cache_.find(pattern);
        if (it != cache_.end()) {
            return it->second;
        }
        std::shared_ptr<const std::regex> compiled;
        try {
            compiled = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
            compiled = nullptr;
        }
        // Schemas are fixed at startup, so the set is small; the bound only
        // guards against a caller building patterns from input.
        if (cache_.size() >= kMaxEntries) {
            cache_.clear();
        }
        cache_.emplace(pattern, compiled);
        return compiled;
    }

private:
    static constexpr std::size_t kMaxEntries = 1024;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const std::regex>> cache_;
};

PatternCache& patternCache() {
    static PatternCache cache;
    return cache;
}

// ---------------------------------------------------------------- validator

const char* typeName(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "boolean";
        case json::value_t::string:
            return "string";
        case json::value_t::array:
            return "array";
        case json::value_t::object:
            return "object";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "integer";
        case json::value_t::number_float:
            return "number";
        default:
            return "unknown";
    }
}

bool hasType(const json& v, std::string_view type) {
    if (type == "string") {
        return v.is_string();
    }
    if (type == "integer") {
        return fitsInt64(v);
    }
    if (type == "number") {
        return v.is_number() && (!v.is_number_float() || std::isfinite(v.get<double>()));
    }
    if (type == "boolean") {
        return v.is_boolean();
    }
    if (type == "object") {
        return v.is_object();
    }
    if (type == "array") {
        return v.is_array();
    }
    if (type == "null") {
        return v.is_null();
    }
    return false;
}

std::string article(std::string_view type) {
    if (type == "null") {
        return "null";
    }
    bool vowel = type == "integer" || type == "object" || type == "array";
    return std::string(vowel ? "an " : "a ") + std::string(type);
}

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

class Validator {
public:
    std::vector<FieldError> take() { return std::move(errors_); }

    void validate(const json& schema, const json& value, const std::string& pointer, std::size_t depth) {
        if (full()) {
            return;
        }
        if (schema.is_boolean()) {
            if (!schema.get<bool>()) {
                add(pointer, "unknown-field", "is not allowed");
            }
            return;
        }
        if (!schema.is_object()) {
            return;
        }
        if (!checkType(schema, value, pointer)) {
            return;
        }
        checkEnumConst(schema, value, pointer);
        if (value.is_string()) {
            checkString(schema, value.get_ref<const std::string&>(), pointer);
        } else if (value.is_number()) {
            checkNumber(schema, value, pointer);
        } else if (value.is_object()) {
            if (depth >= kMaxValidationDepth) {
                add(pointer, "too-deep", "nests deeper than " + std::to_string(kMaxValidationDepth) + " levels");
                return;
            }
            checkObject(schema, value, pointer, depth);
        } else if (value.is_array()) {
            if (depth >= kMaxValidationDepth) {
                add(pointer, "too-deep", "nests deeper than " + std::to_string(kMaxValidationDepth) + " levels");
                return;
            }
            checkArray(schema, value, pointer, depth);
        }
    }

private:
    bool full() const { return errors_.size() >= kMaxFieldErrors; }

    void add(const std::string& pointer, const char* reason, std::string detail) {
        if (!full()) {
            errors_.push_back(FieldError{pointer, reason, std::move(detail)});
        }
    }

    bool checkType(const json& schema, const json& value, const std::string& pointer) {
        auto it = schema.find("type");
        if (it == schema.end()) {
            return true;
        }
        std::vector<std::string> types;
        if (it->is_string()) {
            types.push_back(it->get<std::string>());
        } else if (it->is_array()) {
            for (const auto& t : *it) {
                if (t.is_string()) {
                    types.push_back(t.get<std::string>());
                }
            }
        } else {
            return true;
        }
        for (const auto& t : types) {
            if (hasType(value, t)) {
                return true;
            }
        }
        std::string detail;
        if (types.size() == 1) {
            detail = "must be " + article(types.front());
            if (types.front() == "integer" && value.is_number()) {
                detail += " (a whole number between -9223372036854775808 and 9223372036854775807)";
            }
        } else {
            detail = "must be one of: ";
            for (std::size_t i = 0; i < types.size(); ++i) {
                detail += (i == 0 ? "" : ", ") + types[i];
            }
        }
        add(pointer, "type", detail + ", not " + article(typeName(value)));
        return false;
    }

    void checkEnumConst(const json& schema, const json& value, const std::string& pointer) {
        auto c = schema.find("const");
        if (c != schema.end() && *c != value) {
            add(pointer, "enum", "must be " + c->dump());
        }
        auto e = schema.find("enum");
        if (e == schema.end() || !e->is_array()) {
            return;
        }
        if (std::find(e->begin(), e->end(), value) != e->end()) {
            return;
        }
        constexpr std::size_t kShown = 10;
        std::string detail = "must be one of: ";
        std::size_t i = 0;
        for (const auto& option : *e) {
            if (i == kShown) {
                detail += ", ...";
                break;
            }
            detail += (i++ == 0 ? "" : ", ") + option.dump();
        }
        add(pointer, "enum", detail);
    }

    static std::optional<std::size_t> sizeKeyword(const json& schema, const char* name) {
        auto it = schema.find(name);
        if (it == schema.end() || !it->is_number() || it->get<double>() < 0) {
            return std::nullopt;
        }
        if (it->is_number_float()) {
            return static_cast<std::size_t>(std::min(it->get<double>(), 1e15));
        }
        return it->get<std::size_t>();
    }

    void checkString(const json& schema, const std::string& s, const std::string& pointer) {
        long long length = utf8Length(s);
        if (length < 0) {
            add(pointer, "encoding", "is not valid UTF-8");
            return;
        }
        auto n = static_cast<std::size_t>(length);
        bool lengthOk = true;
        if (auto min = sizeKeyword(schema, "minLength"); min && n < *min) {
            add(pointer, "min-length", "must be at least " + plural(*min, "character", "characters"));
            lengthOk = false;
        }
        if (auto max = sizeKeyword(schema, "maxLength"); max && n > *max) {
            add(pointer, "max-length", "must be at most " + plural(*max, "character", "characters"));
            lengthOk = false;
        }
        auto pattern = schema.find("pattern");
        if (pattern != schema.end() && pattern->is_string() && lengthOk) {
            checkPattern(pattern->get_ref<const std::string&>(), s, pointer);
        }
        auto format = schema.find("format");
        if (format != schema.end() && format->is_string()) {
            checkFormat(format->get_ref<const std::string&>(), s, pointer);
        }
    }

    void checkPattern(const std::string& pattern, const std::string& s, const std::string& pointer) {
        static const std::string kMismatch = "does not match the expected pattern";
        if (s.size() > kMaxPatternInputBytes) {
            add(pointer, "pattern", "is too long to check against the expected pattern");
            return;
        }
        auto re = patternCache().get(pattern);
        if (!re) {
            add(pointer, "pattern", kMismatch);
            return;
        }
        bool matched = false;
        try {
            matched = std::regex_search(s, *re);
        } catch (const std::regex_error&) {
            matched = false;  // complexity or stack limits: fail closed
        }
        if (!matched) {
            add(pointer, "pattern", kMismatch);
        }
    }

    void checkFormat(const std::string& format, const std::string& s, const std::string& pointer) {
        if (format == "email" && !isValidEmail(s)) {
            add(pointer, "format", "must be a valid email address");
        } else if (format == "date" && !isValidDate(s)) {
            add(pointer, "format", "must be a calendar date as YYYY-MM-DD");
        } else if (format == "date-time" && !isValidDateTime(s)) {
            add(pointer, "format", "must be an RFC 3339 date-time such as 2024-09-02T08:30:00Z");
        } else if (format == "uri" && !isValidUri(s)) {
            add(pointer, "format", "must be an absolute URI");
        }
    }

    void checkNumber(const json& schema, const json& value, const std::string& pointer) {
        if (value.is_number_float() && !std::isfinite(value.get<double>())) {
            return;  // only reachable without "type"; no bound is meaningful
        }
        auto bound = [&](const char* name, auto failsWhen, const char* reason, const char* words) {
            auto it = schema.find(name);
            if (it != schema.end() && it->is_number() && failsWhen(compareNumbers(value, *it))) {
                add(pointer, reason, std::string(words) + numberText(*it));
            }
        };
        bound("minimum", [](int c) { return c < 0; }, "minimum", "must be at least ");
        bound("exclusiveMinimum", [](int c) { return c <= 0; }, "minimum", "must be greater than ");
        bound("maximum", [](int c) { return c > 0; }, "maximum", "must be at most ");
        bound("exclusiveMaximum", [](int c) { return c >= 0; }, "maximum", "must be less than ");
    }

    void checkObject(const json& schema, const json& value, const std::string& pointer, std::size_t depth) {
        if (auto min = sizeKeyword(schema, "minProperties"); min && value.size() < *min) {
            add(pointer, "min-properties", "must have at least " + plural(*min, "member", "members"));
        }
        if (auto max = sizeKeyword(schema, "maxProperties"); max && value.size() > *max) {
            add(pointer, "max-properties", "must have at most " + plural(*max, "member", "members"));
        }
        auto required = schema.find("required");
        if (required != schema.end() && required->is_array()) {
            for (const auto& name : *required) {
                if (name.is_string() && !value.contains(name.get_ref<const std::string&>())) {
                    add(pointer + "/" + escapePointerToken(name.get_ref<const std::string&>()), "required",
                        "is required");
                }
            }
        }
        auto properties = schema.find("properties");
        bool haveProperties = properties != schema.end() && properties->is_object();
        auto additional = schema.find("additionalProperties");
        for (const auto& [key, member] : value.items()) {
            if (full()) {
                return;
            }
            std::string child = pointer + "/" + escapePointerToken(key);
            if (haveProperties) {
                auto p = properties->find(key);
                if (p != properties->end()) {
                    validate(*p, member, child, depth + 1);
                    continue;
                }
            }
            if (additional == schema.end()) {
                continue;
            }
            if (additional->is_boolean() && !additional->get<bool>()) {
                add(child, "unknown-field", "is not an allowed field");
            } else {
                validate(*additional, member, child, depth + 1);
            }
        }
    }

    void checkArray(const json& schema, const json& value, const std::string& pointer, std::size_t depth) {
        std::size_t n = value.size();
        if (auto min = sizeKeyword(schema, "minItems"); min && n < *min) {
            add(pointer, "min-items", "must have at least " + plural(*min, "item", "items"));
        }
        if (auto max = sizeKeyword(schema, "maxItems"); max && n > *max) {
            add(pointer, "max-items", "must have at most " + plural(*max, "item", "items"));
        }
        auto unique = schema.find("uniqueItems");
        if (unique != schema.end() && unique->is_boolean() && unique->get<bool>() && hasDuplicates(value)) {
            add(pointer, "unique-items", "must not contain duplicate items");
        }
        auto items = schema.find("items");
        if (items == schema.end()) {
            return;
        }
        for (std::size_t i = 0; i < n && !full(); ++i) {
            validate(*items, value[i], pointer + "/" + std::to_string(i), depth + 1);
        }
    }

    // Sorting keeps hostile arrays at O(n log n); json's ordering and
    // equality both treat 1 and 1.0 as the same number, as JSON Schema does.
    static bool hasDuplicates(const json& array) {
        std::vector<const json*> sorted;
        sorted.reserve(array.size());
        for (const auto& item : array) {
            sorted.push_back(&item);
        }
        std::sort(sorted.begin(), sorted.end(), [](const json* a, const json* b) { return *a < *b; });
        for (std::size_t i = 1; i < sorted.size(); ++i) {
            if (*sorted[i - 1] == *sorted[i]) {
                return true;
            }
        }
        return false;
    }

    std::vector<FieldError> errors_;
};

// ---------------------------------------------------------------- parsing

// Deepest bracket nesting outside strings. Exact for valid JSON; for invalid
// JSON the parser reports the error anyway.
bool exceedsDepth(const std::string& body, std::size_t maxDepth) {
    std::size_t depth = 0;
    bool inString = false;
    bool escaped = false;
    for (char c : body) {
        if (inString) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                inString = false;
            }
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > maxDepth) {
                return true;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

std::string positionText(const std::string& body, std::size_t byte) {
    // nlohmann reports the 1-based count of bytes read; point at that byte.
    std::size_t end = std::min(byte == 0 ? 0 : byte - 1, body.size());
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < end; ++i) {
        if (body[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "syntax error at line " + std::to_string(line) + ", column " + std::to_string(column);
}

Status malformed(std::string detail) {
    return Status(Code::kInvalidArgument, "malformed-json", "The request body is not valid JSON: " + detail);
}

}  // namespace

std::string escapePointerToken(std::string_view token) {
    std::string out;
    out.reserve(token.size());
    for (char c : token) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

long long utf8Length(std::string_view text) {
    long long count = 0;
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        auto b = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        if (b < 0x80) {
            ++i;
            ++count;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            extra = 1;
            cp = b & 0x1FU;
        } else if (b >= 0xE0 && b <= 0xEF) {
            extra = 2;
            cp = b & 0x0FU;
        } else if (b >= 0xF0 && b <= 0xF4) {
            extra = 3;
            cp = b & 0x07U;
        } else {
            return -1;  // continuation byte, overlong lead (C0, C1) or F5..FF
        }
        if (i + extra >= n) {
            return -1;  // truncated sequence
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            auto c = static_cast<unsigned char>(text[i + k]);
            if ((c & 0xC0U) != 0x80U) {
                return -1;
            }
            cp = (cp << 6U) | (c & 0x3FU);
        }
        bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
        bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        if (overlong || surrogate || cp > 0x10FFFF) {
            return -1;
        }
        i += extra + 1;
        ++count;
    }
    return count;
}

std::vector<FieldError> validateJson(const nlohmann::json& schema, const nlohmann::json& value) {
    Validator validator;
    validator.validate(schema, value, "", 0);
    return validator.take();
}

Result<nlohmann::json> parseJsonBody(const std::string& body, std::size_t maxDepth) {
    if (exceedsDepth(body, maxDepth)) {
        return Status(Code::kInvalidArgument, "json-too-deep",
                      "The request body nests arrays and objects deeper than " + std::to_string(maxDepth) +
                          " levels");
    }
    // One set of member names per open object, to spot repeated names.
    std::vector<std::set<std::string>> open;
    std::optional<std::string> duplicate;
    auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
                open.emplace_back();
                break;
            case json::parse_event_t::object_end:
                if (!open.empty()) {
                    open.pop_back();
                }
                break;
            case json::parse_event_t::key:
                if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second && !duplicate) {
                    duplicate = parsed.get<std::string>();
                }
                break;
            default:
                break;
        }
        return true;
    };
    try {
        json parsed = json::parse(body, callback, /*allow_exceptions=*/true, /*ignore_comments=*/false);
        if (duplicate) {
            constexpr std::size_t kShownName = 64;
            std::string name = duplicate->size() <= kShownName ? json(*duplicate).dump() + " " : "";
            return malformed("the member name " + name + "appears twice in one object");
        }
        return parsed;
    } catch (const json::parse_error& e) {
        return malformed(positionText(body, e.byte));
    } catch (const json::exception&) {
        return malformed("unreadable content");
    }
}

}  // namespace ardoise::kernel::http
