#include "kernel/plugins/manifest.hpp"

#include "kernel/auth/permissions.hpp"
#include "kernel/http/json_schema.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace ardoise::kernel::plugins {
namespace {

using nlohmann::json;
using http::escapePointerToken;

constexpr std::size_t kMaxSchemaDepth = 16;

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// ^[a-z][a-z0-9_]{1,39}$, written out: no regex for a fixed, short grammar.
bool isPluginName(const std::string& s) {
    if (s.size() < 2 || s.size() > 40 || !isLower(s[0])) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) { return isLower(c) || isDigit(c) || c == '_'; });
}

// One or more dot-separated segments, each [a-z][a-z0-9_]*, at most 100 bytes.
bool isDottedName(std::string_view s) {
    if (s.empty() || s.size() > 100) {
        return false;
    }
    bool segmentStart = true;
    for (char c : s) {
        if (segmentStart) {
            if (!isLower(c)) {
                return false;
            }
            segmentStart = false;
        } else if (c == '.') {
            segmentStart = true;
        } else if (!isLower(c) && !isDigit(c) && c != '_') {
            return false;
        }
    }
    return !segmentStart;
}

// "<plugin>.<rest>" with a well-formed rest.
bool isOwnedName(const std::string& s, const std::string& plugin) {
    return s.size() > plugin.size() + 1 && s.compare(0, plugin.size(), plugin) == 0 && s[plugin.size()] == '.' &&
           isDottedName(std::string_view(s).substr(plugin.size() + 1));
}

json localizedSchema() {
    json text = {{"type", "string"}, {"minLength", 1}, {"maxLength", 2000}};
    return {{"type", "object"},
            {"additionalProperties", false},
            {"required", {"fr", "en"}},
            {"properties", {{"fr", text}, {"en", text}}}};
}

// The shape of a manifest; the rules between fields are checked in code.
const json& manifestSchema() {
    static const json schema = [] {
        json string = {{"type", "string"}, {"maxLength", 200}};
        json names = {{"type", "array"}, {"maxItems", 500}, {"uniqueItems", true}, {"items", string}};
        json roles = {{"type", "array"},
                      {"uniqueItems", true},
                      {"items", {{"type", "string"}, {"enum", auth::knownRoles()}}}};
        json permission = {{"type", "object"},
                           {"additionalProperties", false},
                           {"required", {"name", "description"}},
                           {"properties", {{"name", string}, {"description", localizedSchema()}, {"default_roles", roles}}}};
        return json{
            {"type", "object"},
            {"additionalProperties", false},
            {"required", {"name", "version", "sdk", "description"}},
            {"properties",
             {{"name", string},
              {"version", string},
              {"sdk", string},
              {"description", localizedSchema()},
              {"requires", {{"type", "object"}, {"additionalProperties", string}}},
              {"permissions", {{"type", "array"}, {"maxItems", 500}, {"items", permission}}},
              {"plan_feature", string},
              {"settings", {{"type", "object"}}},
              {"events",
               {{"type", "object"},
                {"additionalProperties", false},
                {"properties", {{"emits", names}, {"consumes", names}}}}},
              {"lua_module", string},
              {"status", {{"type", "string"}, {"enum", {"stable", "beta"}}}}}}};
    }();
    return schema;
}

class Checker {
public:
    void add(std::string pointer, std::string reason, std::string detail) {
        errors_.push_back({std::move(pointer), std::move(reason), std::move(detail)});
    }
    std::vector<FieldError>& errors() { return errors_; }

    void checkSchemaNode(const json& node, const std::string& pointer, std::size_t depth) {
        if (depth > kMaxSchemaDepth) {
            add(pointer, "too-deep", "nests schemas deeper than " + std::to_string(kMaxSchemaDepth) + " levels");
            return;
        }
        if (!node.is_object()) {
            add(pointer, "schema", "must be a schema object");
            return;
        }
        static const std::set<std::string> kTypes = {"string", "integer", "number", "boolean", "object", "array", "null"};
        static const std::set<std::string> kKeywords = {
            "type", "properties", "required", "additionalProperties", "minLength", "maxLength", "pattern",
            "format", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "items",
            "minItems", "maxItems", "uniqueItems", "title", "description", "default", "examples", "$comment",
            "deprecated", "readOnly", "writeOnly"};
        std::size_t errorsBefore = errors_.size();
        for (const auto& [key, value] : node.items()) {
            std::string at = pointer + "/" + escapePointerToken(key);
            if (!kKeywords.count(key)) {
                add(at, "unknown-keyword", "is not a JSON Schema keyword the validator understands");
            } else if (key == "type") {
                auto known = [&](const json& t) { return t.is_string() && kTypes.count(t.get<std::string>()) > 0; };
                bool ok = known(value) ||
                          (value.is_array() && !value.empty() && std::all_of(value.begin(), value.end(), known));
                if (!ok) {
                    add(at, "schema", "must be one of string, integer, number, boolean, object, array, null, or a "
                                      "non-empty array of them");
                }
            } else if (key == "properties") {
                if (!value.is_object()) {
                    add(at, "schema", "must be an object mapping each property to its schema");
                } else {
                    for (const auto& [name, sub] : value.items()) {
                        checkSchemaNode(sub, at + "/" + escapePointerToken(name), depth + 1);
                    }
                }
            } else if (key == "items") {
                checkSchemaNode(value, at, depth + 1);
            } else if (key == "additionalProperties") {
                if (!value.is_boolean()) {
                    checkSchemaNode(value, at, depth + 1);
                }
            } else if (key == "required") {
                checkRequired(node, value, at);
            } else if (key == "pattern") {
                checkPattern(value, at);
            } else if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems") {
                if (!value.is_number_unsigned()) {
                    add(at, "schema", "must be a non-negative integer");
                }
            } else if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" || key == "exclusiveMaximum") {
                if (!value.is_number()) {
                    add(at, "schema", "must be a number");
                }
            } else if (key == "enum" && (!value.is_array() || value.empty())) {
                add(at, "schema", "must be a non-empty array");
            } else if ((key == "uniqueItems" || key == "deprecated" || key == "readOnly" || key == "writeOnly") &&
                       !value.is_boolean()) {
                add(at, "schema", "must be true or false");
            } else if ((key == "format" || key == "title" || key == "description" || key == "$comment") &&
                       !value.is_string()) {
                add(at, "schema", "must be a string");
            }
        }
        // A default is checked only against a schema that is itself sound.
        if (auto d = node.find("default"); d != node.end() && errors_.size() == errorsBefore) {
            for (const auto& e : http::validateJson(node, *d)) {
                add(pointer + "/default" + e.pointer, "default", "does not match its schema: " + e.detail);
            }
        }
    }

private:
    void checkRequired(const json& node, const json& value, const std::string& at) {
        if (!value.is_array()) {
            add(at, "schema", "must be an array of property names");
            return;
        }
        auto properties = node.find("properties");
        for (std::size_t i = 0; i < value.size(); ++i) {
            const auto& name = value[i];
            std::string item = at + "/" + std::to_string(i);
            if (!name.is_string()) {
                add(item, "schema", "must be a property name");
            } else if (properties == node.end() || !properties->is_object() ||
                       !properties->contains(name.get<std::string>())) {
                add(item, "schema", "names '" + name.get<std::string>() + "', which is not in properties");
            }
        }
    }

    void checkPattern(const json& value, const std::string& at) {
        if (!value.is_string()) {
            add(at, "schema", "must be a string");
            return;
        }
        try {
            std::regex compiled(value.get<std::string>(), std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            add(at, "pattern", std::string("is not a valid ECMAScript regular expression: ") + e.what());
        }
    }

    std::vector<FieldError> errors_;
};

std::string showPointer(const std::string& pointer) { return pointer.empty() ? "(document)" : pointer; }

Status invalid(const std::string& folderName, const std::vector<FieldError>& errors) {
    std::string message = "manifest.json of '" + folderName + "' is invalid: ";
    for (std::size_t i = 0; i < errors.size(); ++i) {
        message += (i == 0 ? "" : "; ") + showPointer(errors[i].pointer) + ": " + errors[i].detail;
    }
    Status status(Code::kInvalidArgument, "invalid-manifest", message);
    for (const auto& e : errors) {
        status.addField(e);
    }
    return status;
}

LocalizedText localized(const json& j) { return {j.at("fr").get<std::string>(), j.at("en").get<std::string>()}; }

}  // namespace

const std::vector<std::string>& reservedPluginNames() {
    static const std::vector<std::string> names = {
        "admin",  "api",      "app",     "ardoise", "audit",    "auth",     "core",     "data",
        "events", "files",    "health",  "http",    "jobs",     "kernel",   "login",    "lua",
        "me",     "metrics",  "notify",  "openapi", "platform", "plugin",   "plugins",  "problems",
        "public", "sdk",      "settings", "static", "system",   "tenancy",  "tenant",   "tenants",
        "user",   "users"};
    return names;
}

Status checkPluginName(const std::string& name) {
    if (!isPluginName(name)) {
        return Status(Code::kInvalidArgument, "invalid-plugin-name",
                      "'" + name + "' is not a plugin name: 2 to 40 characters, a lowercase letter, then lowercase "
                      "letters, digits or '_'");
    }
    const auto& reserved = reservedPluginNames();
    if (std::find(reserved.begin(), reserved.end(), name) != reserved.end()) {
        return Status(Code::kInvalidArgument, "invalid-plugin-name", "'" + name + "' is reserved for the kernel");
    }
    return Status::ok();
}

Result<Manifest> parseManifest(const std::string& jsonText, const std::string& folderName) {
    auto parsed = http::parseJsonBody(jsonText, 32);
    if (!parsed) {
        std::string detail = parsed.status().message();
        const std::string prefix = "The request body ";
        if (detail.compare(0, prefix.size(), prefix) == 0) {
            detail = detail.substr(prefix.size());
        }
        return invalid(folderName, {{"", "malformed-json", detail}});
    }
    const json& doc = *parsed;
    Checker check;
    for (auto& e : http::validateJson(manifestSchema(), doc)) {
        check.add(std::move(e.pointer), std::move(e.reason), std::move(e.detail));
    }
    if (!doc.is_object()) {
        return invalid(folderName, check.errors());
    }

    auto str = [&](const char* key) -> const std::string* {
        auto it = doc.find(key);
        return it != doc.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
    };

    Manifest m;
    // The prefix for owned names: the declared name when usable, else the folder's.
    std::string owner = folderName;
    if (const auto* name = str("name")) {
        m.name = *name;
        if (!isPluginName(*name)) {
            check.add("/name", "pattern",
                      "must be 2 to 40 characters: a lowercase letter, then lowercase letters, digits or '_'");
        } else {
            owner = *name;
            const auto& reserved = reservedPluginNames();
            if (std::find(reserved.begin(), reserved.end(), *name) != reserved.end()) {
                check.add("/name", "reserved", "'" + *name + "' is reserved for the kernel");
            }
        }
        if (*name != folderName) {
            check.add("/name", "folder-name", "must match the folder name '" + folderName + "'");
        }
    }
    if (const auto* version = str("version")) {
        auto v = parseVersion(*version);
        if (v) {
            m.version = *v;
        } else {
            check.add("/version", "version", "must be a semver version: " + v.status().message());
        }
    }
    if (const auto* sdk = str("sdk")) {
        auto r = VersionRange::parse(*sdk);
        if (r) {
            m.sdk = *r;
        } else {
            check.add("/sdk", "version-range", "must be a version range: " + r.status().message());
        }
    }
    if (auto it = doc.find("requires"); it != doc.end() && it->is_object()) {
        for (const auto& [dep, range] : it->items()) {
            std::string at = "/requires/" + escapePointerToken(dep);
            if (!isPluginName(dep)) {
                check.add(at, "pattern", "'" + dep + "' is not a plugin name");
            } else if (dep == owner) {
                check.add(at, "self-dependency", "a plugin cannot require itself");
            }
            if (range.is_string()) {
                auto r = VersionRange::parse(range.get<std::string>());
                if (r) {
                    m.dependencies.emplace(dep, *r);
                } else {
                    check.add(at, "version-range", "must be a version range: " + r.status().message());
                }
            }
        }
    }
    if (auto it = doc.find("permissions"); it != doc.end() && it->is_array()) {
        std::map<std::string, std::size_t> seen;
        for (std::size_t i = 0; i < it->size(); ++i) {
            const auto& p = (*it)[i];
            if (!p.is_object()) {
                continue;
            }
            std::string at = "/permissions/" + std::to_string(i);
            PermissionDecl decl;
            if (auto n = p.find("name"); n != p.end() && n->is_string()) {
                decl.name = n->get<std::string>();
                if (!isOwnedName(decl.name, owner)) {
                    check.add(at + "/name", "prefix",
                              "must start with '" + owner + ".' followed by lowercase words separated by '.'");
                }
                if (auto [prev, inserted] = seen.emplace(decl.name, i); !inserted) {
                    check.add(at + "/name", "duplicate",
                              "repeats the name of /permissions/" + std::to_string(prev->second));
                }
            }
            if (auto d = p.find("description"); d != p.end() && d->is_object() && d->contains("fr") &&
                                                d->contains("en") && d->at("fr").is_string() && d->at("en").is_string()) {
                decl.description = localized(*d);
            }
            if (auto r = p.find("default_roles"); r != p.end() && r->is_array()) {
                for (const auto& role : *r) {
                    if (role.is_string()) {
                        decl.defaultRoles.push_back(role.get<std::string>());
                    }
                }
            }
            m.permissions.push_back(std::move(decl));
        }
    }
    m.planFeature = owner;
    if (const auto* feature = str("plan_feature")) {
        m.planFeature = *feature;
        if (*feature != owner && !isOwnedName(*feature, owner)) {
            check.add("/plan_feature", "prefix", "must be '" + owner + "' or start with '" + owner + ".'");
        }
    }
    m.settingsSchema = json{{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
    if (auto it = doc.find("settings"); it != doc.end() && it->is_object()) {
        if (it->value("type", json()) != "object") {
            check.add("/settings/type", "schema", "must be \"object\": settings are an object of named values");
        }
        check.checkSchemaNode(*it, "/settings", 0);
        m.settingsSchema = *it;
    }
    if (auto it = doc.find("events"); it != doc.end() && it->is_object()) {
        if (auto e = it->find("emits"); e != it->end() && e->is_array()) {
            for (std::size_t i = 0; i < e->size(); ++i) {
                if (!(*e)[i].is_string()) {
                    continue;
                }
                auto name = (*e)[i].get<std::string>();
                if (!isOwnedName(name, owner)) {
                    check.add("/events/emits/" + std::to_string(i), "prefix",
                              "must start with '" + owner + ".': a plugin emits only its own events");
                }
                m.eventsEmitted.push_back(name);
            }
        }
        if (auto c = it->find("consumes"); c != it->end() && c->is_array()) {
            for (std::size_t i = 0; i < c->size(); ++i) {
                if (!(*c)[i].is_string()) {
                    continue;
                }
                auto name = (*c)[i].get<std::string>();
                if (!isDottedName(name) || name.find('.') == std::string::npos) {
                    check.add("/events/consumes/" + std::to_string(i), "pattern",
                              "must be '<owner>.<event>' in lowercase words separated by '.'");
                }
                m.eventsConsumed.push_back(name);
            }
        }
    }
    if (const auto* lua = str("lua_module")) {
        m.luaModule = *lua;
        if (*lua != owner && !isOwnedName(*lua, owner)) {
            check.add("/lua_module", "prefix", "must be '" + owner + "' or start with '" + owner + ".'");
        }
    }
    if (const auto* status = str("status")) {
        m.status = *status == "beta" ? PluginStatus::kBeta : PluginStatus::kStable;
    }
    if (auto it = doc.find("description"); it != doc.end() && it->is_object() && it->contains("fr") &&
                                          it->contains("en") && it->at("fr").is_string() && it->at("en").is_string()) {
        m.description = localized(*it);
    }

    if (!check.errors().empty()) {
        return invalid(folderName, check.errors());
    }
    return m;
}

}  // namespace ardoise::kernel::plugins
