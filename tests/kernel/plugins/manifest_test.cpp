#include "kernel/plugins/manifest.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using ardoise::Code;
using ardoise::FieldError;
using ardoise::kernel::plugins::Manifest;
using ardoise::kernel::plugins::parseManifest;
using ardoise::kernel::plugins::parseVersion;
using ardoise::kernel::plugins::PluginStatus;
using nlohmann::json;

namespace {

json goodManifest() {
    return json::parse(R"({
        "name": "mobile_money",
        "version": "1.2.0",
        "sdk": "^0.1.0",
        "description": {"fr": "Paiements par mobile money", "en": "Mobile money payments"},
        "requires": {"billing": ">=1.0.0 <2.0.0"},
        "permissions": [
            {"name": "mobile_money.pay", "description": {"fr": "Payer", "en": "Pay"},
             "default_roles": ["parent", "admin"]},
            {"name": "mobile_money.refund", "description": {"fr": "Rembourser", "en": "Refund"}}
        ],
        "plan_feature": "mobile_money",
        "settings": {
            "type": "object",
            "additionalProperties": false,
            "required": ["provider"],
            "properties": {
                "provider": {"type": "string", "enum": ["orange", "mtn"], "default": "orange"},
                "merchant_code": {"type": "string", "pattern": "^[0-9]{4,8}$", "maxLength": 8}
            }
        },
        "events": {"emits": ["mobile_money.payment_received"], "consumes": ["billing.invoice_issued"]},
        "lua_module": "mobile_money",
        "status": "beta"
    })");
}

// The errors of a manifest expected to fail, as "pointer: detail" lines.
std::vector<std::string> errorsOf(const json& manifest, const std::string& folder = "mobile_money") {
    auto parsed = parseManifest(manifest.dump(), folder);
    REQUIRE_FALSE(parsed.isOk());
    auto status = parsed.status();
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.type() == "invalid-manifest");
    std::vector<std::string> out;
    for (const auto& e : status.fields()) {
        out.push_back(e.pointer + ": " + e.detail);
    }
    return out;
}

std::vector<std::string> errorsWith(const char* pointer, const json& value) {
    auto m = goodManifest();
    m[json::json_pointer(pointer)] = value;
    return errorsOf(m);
}

std::vector<std::string> errorsWithout(const char* key) {
    auto m = goodManifest();
    m.erase(key);
    return errorsOf(m);
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("A complete manifest parses into every field", "[plugins]") {
    auto parsed = parseManifest(goodManifest().dump(), "mobile_money");
    INFO(parsed.status().message());
    REQUIRE(parsed.isOk());
    const Manifest& m = *parsed;
    CHECK(m.name == "mobile_money");
    CHECK(m.version == *parseVersion("1.2.0"));
    CHECK(m.sdk.text() == "^0.1.0");
    REQUIRE(m.dependencies.count("billing") == 1);
    CHECK(m.dependencies.at("billing").contains(*parseVersion("1.5.0")));
    REQUIRE(m.permissions.size() == 2);
    CHECK(m.permissions[0].name == "mobile_money.pay");
    CHECK(m.permissions[0].description.fr == "Payer");
    CHECK(m.permissions[0].defaultRoles == std::vector<std::string>{"parent", "admin"});
    CHECK(m.permissions[1].defaultRoles.empty());
    CHECK(m.planFeature == "mobile_money");
    CHECK(m.settingsSchema.at("properties").contains("provider"));
    CHECK(m.eventsEmitted == std::vector<std::string>{"mobile_money.payment_received"});
    CHECK(m.eventsConsumed == std::vector<std::string>{"billing.invoice_issued"});
    CHECK(m.luaModule == "mobile_money");
    CHECK(m.status == PluginStatus::kBeta);
    CHECK(m.description.en == "Mobile money payments");
}

TEST_CASE("A minimal manifest gets defaults for every optional field", "[plugins]") {
    auto parsed = parseManifest(R"({"name": "quiz", "version": "0.1.0", "sdk": "*",
                                    "description": {"fr": "Quiz", "en": "Quiz"}})",
                                "quiz");
    INFO(parsed.status().message());
    REQUIRE(parsed.isOk());
    CHECK(parsed->planFeature == "quiz");
    CHECK(parsed->status == PluginStatus::kStable);
    CHECK(parsed->luaModule.empty());
    CHECK(parsed->dependencies.empty());
    CHECK(parsed->settingsSchema.at("type") == "object");
}

TEST_CASE("A manifest whose name differs from its folder is refused, naming the folder", "[plugins]") {
    auto m = goodManifest();
    auto errors = errorsOf(m, "mobile_cash");
    CHECK(errors == Lines{"/name: must match the folder name 'mobile_cash'"});
}

TEST_CASE("A malformed or reserved plugin name is refused", "[plugins]") {
    CHECK(errorsOf(json::parse(R"({"name": "Mobile", "version": "1.0.0", "sdk": "*",
                                   "description": {"fr": "x", "en": "x"}})"),
                   "Mobile") ==
          Lines{"/name: must be 2 to 40 characters: a lowercase letter, then lowercase letters, digits or '_'"});
    CHECK(errorsOf(json::parse(R"({"name": "kernel", "version": "1.0.0", "sdk": "*",
                                   "description": {"fr": "x", "en": "x"}})"),
                   "kernel") == Lines{"/name: 'kernel' is reserved for the kernel"});
    CHECK(errorsOf(json::parse(R"({"name": "a", "version": "1.0.0", "sdk": "*",
                                   "description": {"fr": "x", "en": "x"}})"),
                   "a")
              .size() == 1);
}

TEST_CASE("Owned names without the plugin prefix are refused with their JSON pointer", "[plugins]") {
    auto m = goodManifest();
    m["permissions"].push_back({{"name", "billing.pay"}, {"description", {{"fr", "x"}, {"en", "x"}}}});
    m["events"]["emits"].push_back("payment_received");
    m["lua_module"] = "momo";
    m["plan_feature"] = "premium";
    CHECK(errorsOf(m) ==
          Lines{"/permissions/2/name: must start with 'mobile_money.' followed by lowercase words separated by '.'",
                "/plan_feature: must be 'mobile_money' or start with 'mobile_money.'",
                "/events/emits/1: must start with 'mobile_money.': a plugin emits only its own events",
                "/lua_module: must be 'mobile_money' or start with 'mobile_money.'"});
}

TEST_CASE("A repeated permission name is refused, pointing at the first one", "[plugins]") {
    auto m = goodManifest();
    m["permissions"].push_back(m["permissions"][0]);
    CHECK(errorsOf(m) == Lines{"/permissions/2/name: repeats the name of /permissions/0"});
}

TEST_CASE("Unknown keys, missing fields and wrong types are all reported at once", "[plugins]") {
    auto m = goodManifest();
    m["homepage"] = "https://example.org";
    m.erase("sdk");
    m["version"] = 3;
    m["permissions"][0]["default_roles"] = {"janitor"};
    m["events"]["listens"] = json::array();
    auto errors = errorsOf(m);
    CHECK(errors.size() == 5);
    auto has = [&](const std::string& prefix) {
        return std::any_of(errors.begin(), errors.end(),
                           [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    };
    CHECK(has("/homepage: "));
    CHECK(has("/sdk: "));
    CHECK(has("/version: "));
    CHECK(has("/permissions/0/default_roles/0: "));
    CHECK(has("/events/listens: "));
}

TEST_CASE("A manifest without its description is refused", "[plugins]") {
    CHECK(errorsWithout("description") == Lines{"/description: is required"});
}

TEST_CASE("Bad versions, ranges and dependencies are refused with the semver reason", "[plugins]") {
    CHECK(errorsWith("/version", "1.0") ==
          Lines{"/version: must be a semver version: '1.0': must have exactly three numeric parts, "
                "MAJOR.MINOR.PATCH (found 2)"});
    CHECK(errorsWith("/sdk", ">=0.1") ==
          Lines{"/sdk: must be a version range: '>=0.1': '0.1' is not a full version (MAJOR.MINOR.PATCH)"});
    CHECK(errorsWith("/requires", {{"mobile_money", "*"}}) == Lines{"/requires/mobile_money: a plugin cannot require itself"});
    CHECK(errorsWith("/requires", {{"Billing", "*"}}) == Lines{"/requires/Billing: 'Billing' is not a plugin name"});
    CHECK(errorsWith("/requires", {{"billing", "^x"}}).size() == 1);
    CHECK(errorsWith("/status", "alpha").size() == 1);
}

TEST_CASE("A settings schema the validator cannot use is refused", "[plugins]") {
    CHECK(errorsWith("/settings", {{"type", "array"}}) ==
          Lines{"/settings/type: must be \"object\": settings are an object of named values"});
    CHECK(errorsWith("/settings/properties/provider", "string") ==
          Lines{"/settings/properties/provider: must be a schema object"});
    CHECK(errorsWith("/settings/properties/provider/type", "text").size() == 1);
    CHECK(errorsWith("/settings/properties/provider/maxLenght", 3) ==
          Lines{"/settings/properties/provider/maxLenght: is not a JSON Schema keyword the validator understands"});
    CHECK(errorsWith("/settings/properties/merchant_code/pattern", "[0-9") .size() == 1);
    CHECK(errorsWith("/settings/required", {"provider", "iban"}) ==
          Lines{"/settings/required/1: names 'iban', which is not in properties"});
    auto defaults = errorsWith("/settings/properties/provider/default", "wave");
    REQUIRE(defaults.size() == 1);
    CHECK(defaults[0].rfind("/settings/properties/provider/default: does not match its schema: ", 0) == 0);
}

TEST_CASE("Text that is not a JSON object is refused with one error at the document", "[plugins]") {
    auto parsed = parseManifest("{\"name\": ", "quiz");
    REQUIRE_FALSE(parsed.isOk());
    REQUIRE(parsed.status().fields().size() == 1);
    CHECK(parsed.status().fields()[0].pointer.empty());
    CHECK(parsed.status().fields()[0].reason == "malformed-json");
    CHECK(parsed.status().message().rfind("manifest.json of 'quiz' is invalid: (document): is not valid JSON", 0) == 0);
    auto duplicate = parseManifest(R"({"name": "quiz", "name": "quiz"})", "quiz");
    CHECK(duplicate.status().fields().at(0).reason == "malformed-json");
    CHECK_FALSE(parseManifest("[]", "quiz").isOk());
}

TEST_CASE("The message lists every error with its pointer", "[plugins]") {
    auto m = goodManifest();
    m["lua_module"] = "momo";
    m["plan_feature"] = "premium";
    auto parsed = parseManifest(m.dump(), "mobile_money");
    CHECK(parsed.status().message() ==
          "manifest.json of 'mobile_money' is invalid: /plan_feature: must be 'mobile_money' or start with "
          "'mobile_money.'; /lua_module: must be 'mobile_money' or start with 'mobile_money.'");
}
