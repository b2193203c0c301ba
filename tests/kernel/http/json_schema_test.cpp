#include "kernel/http/json_schema.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using ardoise::Code;
using ardoise::FieldError;
using ardoise::kernel::http::parseJsonBody;
using ardoise::kernel::http::utf8Length;
using ardoise::kernel::http::validateJson;
using nlohmann::json;

namespace {

std::vector<FieldError> check(const char* schema, const json& value) {
    return validateJson(json::parse(schema), value);
}

// The single error's reason, or a description of what came back instead.
std::string onlyReason(const std::vector<FieldError>& errors) {
    if (errors.size() != 1) {
        return std::to_string(errors.size()) + " errors";
    }
    return errors.front().reason;
}

std::string onlyPointer(const std::vector<FieldError>& errors) {
    return errors.size() == 1 ? errors.front().pointer : std::to_string(errors.size()) + " errors";
}

}  // namespace

TEST_CASE("A value matching every keyword yields no error", "[schema]") {
    auto schema = json::parse(R"({
        "type": "object",
        "required": ["name", "email"],
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 120},
            "email": {"type": "string", "format": "email"},
            "age": {"type": "integer", "minimum": 3, "maximum": 120},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 5},
            "note": {"type": ["string", "null"]}
        }
    })");
    json value = {{"name", "Aïcha Diallo"}, {"email", "aicha@example.sn"}, {"age", 11},
                  {"tags", {"cm2", "déléguée"}}, {"note", nullptr}};
    CHECK(validateJson(schema, value).empty());
}

TEST_CASE("Each type name accepts its own values and rejects the others", "[schema]") {
    CHECK(check(R"({"type":"string"})", "x").empty());
    CHECK(check(R"({"type":"boolean"})", true).empty());
    CHECK(check(R"({"type":"null"})", nullptr).empty());
    CHECK(check(R"({"type":"object"})", json::object()).empty());
    CHECK(check(R"({"type":"array"})", json::array()).empty());
    CHECK(check(R"({"type":"number"})", 1.5).empty());
    CHECK(check(R"({"type":"number"})", 2).empty());

    CHECK(onlyReason(check(R"({"type":"object"})", json::array())) == "type");
    CHECK(onlyReason(check(R"({"type":"array"})", json::object())) == "type");
    CHECK(onlyReason(check(R"({"type":"null"})", 0)) == "type");
    CHECK(onlyReason(check(R"({"type":"string"})", nullptr)) == "type");
}

TEST_CASE("An integer field rejects 1.5, the string \"1\" and out-of-range numbers", "[schema]") {
    const char* schema = R"({"type":"integer"})";
    CHECK(check(schema, 7).empty());
    CHECK(check(schema, -7).empty());
    CHECK(check(schema, 1.0).empty());  // JSON Schema: zero fraction is an integer
    CHECK(onlyReason(check(schema, 1.5)) == "type");
    CHECK(onlyReason(check(schema, "1")) == "type");
    CHECK(onlyReason(check(schema, true)) == "type");
    CHECK(onlyReason(check(schema, 1e300)) == "type");
    CHECK(onlyReason(check(schema, json(18446744073709551615ULL))) == "type");
    auto errors = check(schema, "1");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].detail == "must be an integer, not a string");
}

TEST_CASE("A number field rejects booleans and numeric strings", "[schema]") {
    CHECK(onlyReason(check(R"({"type":"number"})", false)) == "type");
    CHECK(onlyReason(check(R"({"type":"number"})", "3.5")) == "type");
}

TEST_CASE("A type array makes a field nullable", "[schema]") {
    const char* schema = R"({"type":["string","null"],"maxLength":3})";
    CHECK(check(schema, nullptr).empty());
    CHECK(check(schema, "abc").empty());
    CHECK(onlyReason(check(schema, "abcd")) == "max-length");
    auto errors = check(schema, 4);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == "type");
    CHECK(errors[0].detail == "must be one of: string, null, not an integer");
}

TEST_CASE("Missing required fields are each reported at their own pointer", "[schema]") {
    auto errors = check(R"({"type":"object","required":["first","last"]})", json::object());
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].pointer == "/first");
    CHECK(errors[0].reason == "required");
    CHECK(errors[0].detail == "is required");
    CHECK(errors[1].pointer == "/last");
}

TEST_CASE("Unknown fields are rejected when additionalProperties is false", "[schema]") {
    const char* schema = R"({"type":"object","properties":{"a":{}},"additionalProperties":false})";
    CHECK(check(schema, {{"a", 1}}).empty());
    auto errors = check(schema, {{"a", 1}, {"isAdmin", true}});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].pointer == "/isAdmin");
    CHECK(errors[0].reason == "unknown-field");
    // Without the keyword, extra fields are allowed.
    CHECK(check(R"({"type":"object","properties":{"a":{}}})", {{"b", 1}}).empty());
}

TEST_CASE("additionalProperties given as a schema validates the extra fields", "[schema]") {
    const char* schema = R"({"type":"object","properties":{"id":{"type":"string"}},
                             "additionalProperties":{"type":"integer"}})";
    CHECK(check(schema, {{"id", "x"}, {"maths", 12}}).empty());
    auto errors = check(schema, {{"id", "x"}, {"maths", "douze"}});
    CHECK(onlyPointer(errors) == "/maths");
    CHECK(onlyReason(errors) == "type");
}

TEST_CASE("Nested pointers escape ~ and / per RFC 6901", "[schema]") {
    auto schema = json::parse(R"({
        "type":"object",
        "properties":{
            "a/b":{"type":"object","properties":{"c~d":{"type":"array","items":{"type":"string"}}}}
        }
    })");
    json value = {{"a/b", {{"c~d", {"ok", 5}}}}};
    auto errors = validateJson(schema, value);
    CHECK(onlyPointer(errors) == "/a~1b/c~0d/1");
    CHECK(ardoise::kernel::http::escapePointerToken("~/~1") == "~0~1~01");
}

TEST_CASE("Lengths count UTF-8 code points, not bytes", "[schema]") {
    const char* schema = R"({"type":"string","minLength":2,"maxLength":5})";
    CHECK(check(schema, "éèàçô").empty());  // 10 bytes, 5 code points
    CHECK(check(schema, "😀😀").empty());
    auto errors = check(schema, "éèàçôû");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == "max-length");
    CHECK(errors[0].detail == "must be at most 5 characters");
    errors = check(schema, "é");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == "min-length");
    CHECK(errors[0].detail == "must be at least 2 characters");
}

TEST_CASE("Invalid UTF-8 is reported as an encoding error", "[schema]") {
    const char* schema = R"({"type":"string","maxLength":100})";
    for (const std::string bad : {"\xC3", "\xC3\x28", "\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
                                  "\xF4\x90\x80\x80", "\xFF", "ok\xE2\x82"}) {
        auto errors = validateJson(json::parse(schema), json(bad));
        CHECK(onlyReason(errors) == "encoding");
    }
    CHECK(utf8Length("\xF0\x9F\x98\x80") == 1);
    CHECK(utf8Length("\xEF\xBF\xBF") == 1);
}

TEST_CASE("A huge string is measured and rejected by maxLength", "[schema]") {
    std::string huge(10 * 1024 * 1024, 'a');
    auto start = std::chrono::steady_clock::now();
    auto errors = check(R"({"type":"string","maxLength":120,"pattern":"^a+$"})", huge);
    CHECK(onlyReason(errors) == "max-length");
    // Without maxLength, the pattern is not run over megabytes of input.
    errors = check(R"({"type":"string","pattern":"^(a|b)*$"})", huge);
    CHECK(onlyReason(errors) == "pattern");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("pattern is an unanchored ECMAScript search", "[schema]") {
    CHECK(check(R"({"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"})", "CM-201").empty());
    CHECK(onlyReason(check(R"({"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"})", "cm-201")) == "pattern");
    CHECK(check(R"({"type":"string","pattern":"[0-9]"})", "classe 6e").empty());
    // A broken pattern in the schema fails closed.
    CHECK(onlyReason(check(R"({"type":"string","pattern":"(["})", "x")) == "pattern");
}

TEST_CASE("A backtracking pattern over the longest checked input does not exhaust the stack", "[schema]") {
    std::string longest(ardoise::kernel::http::kMaxPatternInputBytes, 'a');
    bool ok = false;
    // A thread, since request handlers run on pool threads, not on main.
    std::thread worker([&] { ok = check(R"({"type":"string","pattern":"^((a|b)(a|b)?)*$"})", longest).empty(); });
    worker.join();
    CHECK(ok);
    CHECK(onlyReason(check(R"({"type":"string","pattern":"^a*$"})", longest + "a")) == "pattern");
}

TEST_CASE("Patterns are compiled once and usable from many threads", "[schema]") {
    auto schema = json::parse(R"({"type":"string","pattern":"^[a-z]+[0-9]*$"})");
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                bool good = validateJson(schema, "eleve" + std::to_string(i)).empty();
                bool bad = !validateJson(schema, "Eleve").empty();
                failures[t] += (good && bad) ? 0 : 1;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(failures == std::vector<int>(4, 0));
}

TEST_CASE("format email accepts ordinary addresses and rejects malformed ones", "[schema]") {
    const char* schema = R"({"type":"string","format":"email"})";
    for (const char* good : {"a@b.sn", "prenom.nom+parents@ecole.example.org", "x@sub-domain.example.com"}) {
        CHECK(check(schema, good).empty());
    }
    for (const char* bad : {"", "plainaddress", "@example.com", "a@", "a@b", "a b@c.com", "a@@b.com", "a@-b.com",
                            "a@b..com", ".a@b.com", "a..b@c.com", "a@b.com\r\nBcc: x@y.com"}) {
        CAPTURE(bad);
        CHECK(onlyReason(check(schema, bad)) == "format");
    }
}

TEST_CASE("format date requires a real calendar date", "[schema]") {
    const char* schema = R"({"type":"string","format":"date"})";
    for (const char* good : {"2024-02-29", "2000-02-29", "2025-12-31", "2025-01-01"}) {
        CHECK(check(schema, good).empty());
    }
    for (const char* bad : {"2023-02-29", "1900-02-29", "2025-04-31", "2025-13-01", "2025-00-10", "2025-1-01",
                            "25-01-01", "2025/01/01", "2025-01-01T00:00:00Z", "2025-01-00"}) {
        CAPTURE(bad);
        CHECK(onlyReason(check(schema, bad)) == "format");
    }
}

TEST_CASE("format date-time follows RFC 3339", "[schema]") {
    const char* schema = R"({"type":"string","format":"date-time"})";
    for (const char* good : {"2024-09-02T08:30:00Z", "2024-09-02t08:30:00z", "2024-09-02T08:30:00.123+01:00",
                             "2024-12-31T23:59:60Z", "2024-09-02T08:30:00-05:30"}) {
        CAPTURE(good);
        CHECK(check(schema, good).empty());
    }
    for (const char* bad : {"2024-09-02", "2024-09-02T08:30Z", "2024-09-02T24:00:00Z", "2024-09-02T08:30:00",
                            "2024-09-02 08:30:00Z", "2024-02-30T08:30:00Z", "2024-09-02T08:30:00.Z",
                            "2024-09-02T08:30:00+0100", "2024-09-02T08:30:00+01:00x"}) {
        CAPTURE(bad);
        CHECK(onlyReason(check(schema, bad)) == "format");
    }
}

TEST_CASE("format uri requires an absolute URI without stray characters", "[schema]") {
    const char* schema = R"({"type":"string","format":"uri"})";
    for (const char* good : {"https://ecole.example.sn/eleves?id=4#top", "mailto:a@b.sn", "urn:isbn:0451450523",
                             "https://example.com/caf%C3%A9"}) {
        CHECK(check(schema, good).empty());
    }
    for (const char* bad : {"", "/relative/path", "example.com", "https://exa mple.com", "https://x.com/%zz",
                            "1http://x.com", "https:", "https://x.com/\"quote\""}) {
        CAPTURE(bad);
        CHECK(onlyReason(check(schema, bad)) == "format");
    }
}

TEST_CASE("An unknown format is ignored", "[schema]") {
    CHECK(check(R"({"type":"string","format":"x-ardoise-secret"})", "anything").empty());
}

TEST_CASE("enum and const compare JSON values", "[schema]") {
    const char* schema = R"({"enum":["cp","ce1","ce2",null,3]})";
    CHECK(check(schema, "ce1").empty());
    CHECK(check(schema, nullptr).empty());
    CHECK(check(schema, 3.0).empty());
    auto errors = check(schema, "cm1");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == "enum");
    CHECK(errors[0].detail == R"(must be one of: "cp", "ce1", "ce2", null, 3)");
    CHECK(check(R"({"const":"yes"})", "yes").empty());
    CHECK(onlyReason(check(R"({"const":"yes"})", "no")) == "enum");
}

TEST_CASE("Numeric bounds, inclusive and exclusive", "[schema]") {
    const char* schema = R"({"type":"number","minimum":0,"maximum":20})";
    CHECK(check(schema, 0).empty());
    CHECK(check(schema, 20).empty());
    CHECK(check(schema, 12.5).empty());
    auto errors = check(schema, -0.5);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == "minimum");
    CHECK(errors[0].detail == "must be at least 0");
    errors = check(schema, 20.25);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == "maximum");
    CHECK(errors[0].detail == "must be at most 20");

    const char* exclusive = R"({"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1.5})";
    CHECK(check(exclusive, 1).empty());
    CHECK(onlyReason(check(exclusive, 0)) == "minimum");
    CHECK(onlyReason(check(exclusive, 1.5)) == "maximum");
    CHECK(check(exclusive, 1.5).front().detail == "must be less than 1.5");
}

TEST_CASE("Integer bounds compare exactly beyond double precision", "[schema]") {
    const char* schema = R"({"type":"integer","maximum":9007199254740992})";
    CHECK(check(schema, json(9007199254740992LL)).empty());
    CHECK(onlyReason(check(schema, json(9007199254740993LL))) == "maximum");
    CHECK(check(R"({"type":"integer","minimum":-5})", json(-5)).empty());
    CHECK(onlyReason(check(R"({"type":"integer","minimum":-5})", json(-6))) == "minimum");
}

TEST_CASE("Array keywords: items, minItems, maxItems, uniqueItems", "[schema]") {
    const char* schema = R"({"type":"array","minItems":1,"maxItems":3,"uniqueItems":true,
                             "items":{"type":"integer"}})";
    CHECK(check(schema, {1, 2, 3}).empty());
    CHECK(onlyReason(check(schema, json::array())) == "min-items");
    CHECK(check(schema, json::array()).front().detail == "must have at least 1 item");
    CHECK(onlyReason(check(schema, {1, 2, 3, 4})) == "max-items");
    CHECK(onlyReason(check(schema, {1, 2, 1})) == "unique-items");
    CHECK(onlyReason(check(schema, json::parse("[1, 1.0]"))) == "unique-items");
    CHECK(onlyPointer(check(schema, {1, "2"})) == "/1");
    CHECK(check(R"({"uniqueItems":true})", json::parse(R"([{"a":1},{"a":2},[1],[1,2]])")).empty());
    CHECK(onlyReason(check(R"({"uniqueItems":true})", json::parse(R"([{"a":1,"b":2},{"b":2,"a":1}])"))) ==
          "unique-items");
}

TEST_CASE("All errors are collected, up to 50", "[schema]") {
    auto schema = json::parse(R"({"type":"object","required":["a","b"],"additionalProperties":false,
                                  "properties":{"a":{"type":"string"}}})");
    json value = {{"x", 1}, {"y", 2}};
    CHECK(validateJson(schema, value).size() == 4);  // a, b missing; x, y unknown

    json many = json::array();
    for (int i = 0; i < 1000; ++i) {
        many.push_back("not a number");
    }
    CHECK(validateJson(json::parse(R"({"items":{"type":"integer"}})"), many).size() ==
          ardoise::kernel::http::kMaxFieldErrors);
}

TEST_CASE("Keywords of other types do not apply, as in JSON Schema", "[schema]") {
    CHECK(check(R"({"minLength":3,"minimum":10,"minItems":2,"required":["a"]})", true).empty());
    CHECK(check(R"({"minLength":3})", 1).empty());
}

TEST_CASE("Boolean schemas allow everything or nothing", "[schema]") {
    CHECK(check("true", {{"a", 1}}).empty());
    auto errors = check(R"({"properties":{"legacy":false}})", {{"legacy", 1}});
    CHECK(onlyPointer(errors) == "/legacy");
    CHECK(onlyReason(errors) == "unknown-field");
}

TEST_CASE("A value nested deeper than the validator's limit yields too-deep", "[schema]") {
    json value = json::array();
    for (int i = 0; i < 40; ++i) {
        value = json::array({value});
    }
    auto errors = validateJson(json::parse(R"({"items":{"items":{}}})"), value);
    CHECK(errors.empty());  // a schema that stops descending never looks deeper
    json selfNested = json::parse(R"({"type":"array"})");
    json schema = selfNested;
    for (int i = 0; i < 50; ++i) {
        schema = json{{"type", "array"}, {"items", schema}};
    }
    errors = validateJson(schema, value);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == "too-deep");
    CHECK(std::count(errors[0].pointer.begin(), errors[0].pointer.end(), '/') == 32);
}

TEST_CASE("parseJsonBody returns the parsed value", "[schema]") {
    auto result = parseJsonBody(R"({"nom":"Ndiaye","notes":[12,15.5]})");
    REQUIRE(result.isOk());
    CHECK(result.value()["nom"] == "Ndiaye");
    CHECK(result.value()["notes"][1] == 15.5);
    auto scalar = parseJsonBody("42");
    REQUIRE(scalar.isOk());
    CHECK(*scalar == 42);
}

TEST_CASE("Malformed JSON yields malformed-json with its position", "[schema]") {
    auto result = parseJsonBody("{\n  \"a\": 1,\n  \"b\": tru\n}");
    REQUIRE_FALSE(result.isOk());
    CHECK(result.status().code() == Code::kInvalidArgument);
    CHECK(result.status().type() == "malformed-json");
    CHECK(result.status().message().rfind("The request body is not valid JSON: ", 0) == 0);
    CHECK(result.status().message().find("line 3") != std::string::npos);

    for (const char* bad : {"", "{", "[1,]", "{\"a\":1}}", "'x'", "{\"a\" 1}", "nul", "/* c */ {}"}) {
        CAPTURE(bad);
        auto r = parseJsonBody(bad);
        REQUIRE_FALSE(r.isOk());
        CHECK(r.status().type() == "malformed-json");
    }
}

TEST_CASE("Invalid UTF-8 inside a JSON body is malformed", "[schema]") {
    auto result = parseJsonBody("{\"nom\":\"\xC3\x28\"}");
    REQUIRE_FALSE(result.isOk());
    CHECK(result.status().type() == "malformed-json");
}

TEST_CASE("A member name repeated in one object is rejected", "[schema]") {
    auto result = parseJsonBody(R"({"role":"parent","role":"admin"})");
    REQUIRE_FALSE(result.isOk());
    CHECK(result.status().type() == "malformed-json");
    CHECK(result.status().message().find("\"role\"") != std::string::npos);
    // The same name in sibling or nested objects is fine.
    CHECK(parseJsonBody(R"({"a":{"id":1},"b":{"id":2},"c":[{"id":3},{"id":4}]})").isOk());
}

TEST_CASE("100000 opening brackets are refused quickly without recursion", "[schema]") {
    auto start = std::chrono::steady_clock::now();
    for (const char open : {'[', '{'}) {
        std::string attack(100000, open);
        auto result = parseJsonBody(attack);
        REQUIRE_FALSE(result.isOk());
        CHECK(result.status().code() == Code::kInvalidArgument);
        CHECK(result.status().type() == "json-too-deep");
    }
    std::string arrays;
    for (int i = 0; i < 100000; ++i) {
        arrays += "[1,";
    }
    CHECK(parseJsonBody(arrays).status().type() == "json-too-deep");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("The depth limit counts only brackets outside strings", "[schema]") {
    std::string atLimit(32, '[');
    atLimit += std::string(32, ']');
    CHECK(parseJsonBody(atLimit).isOk());
    std::string overLimit(33, '[');
    overLimit += std::string(33, ']');
    CHECK(parseJsonBody(overLimit).status().type() == "json-too-deep");
    CHECK(parseJsonBody(overLimit, 40).isOk());

    std::string inString = "{\"text\":\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
    CHECK(parseJsonBody(inString).isOk());
}

TEST_CASE("minProperties and maxProperties bound the members of an object", "[schema]") {
    const nlohmann::json schema = {{"type", "object"}, {"minProperties", 1}, {"maxProperties", 2}};
    auto none = ardoise::kernel::http::validateJson(schema, nlohmann::json::object());
    REQUIRE(none.size() == 1);
    CHECK(none[0].reason == "min-properties");
    CHECK(ardoise::kernel::http::validateJson(schema, {{"a", 1}}).empty());
    auto many = ardoise::kernel::http::validateJson(schema, {{"a", 1}, {"b", 2}, {"c", 3}});
    REQUIRE(many.size() == 1);
    CHECK(many[0].reason == "max-properties");
}
