#pragma once
// A plugin's manifest.json, parsed and checked.

#include "kernel/plugins/semver.hpp"

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace ardoise::kernel::plugins {

/// A text given in both platform languages.
struct LocalizedText {
    std::string fr;
    std::string en;
};

/// A permission the plugin defines, e.g. "mobile_money.refund".
struct PermissionDecl {
    std::string name;
    LocalizedText description;
    std::vector<std::string> defaultRoles;  ///< tenant roles granted it on enablement
};

enum class PluginStatus { kStable, kBeta };

/// The manifest's content. JSON keys in parentheses where they differ.
struct Manifest {
    std::string name;                                 ///< equals the folder name
    Version version;
    VersionRange sdk;                                 ///< SDK versions it builds against
    std::map<std::string, VersionRange> dependencies;  ///< ("requires") plugin name → version range
    std::vector<PermissionDecl> permissions;
    std::string planFeature;                          ///< ("plan_feature") defaults to the name
    nlohmann::json settingsSchema;                    ///< ("settings") an object schema for validateJson
    std::vector<std::string> eventsEmitted;           ///< ("events"/"emits")
    std::vector<std::string> eventsConsumed;          ///< ("events"/"consumes")
    std::string luaModule;                            ///< ("lua_module") empty when none
    PluginStatus status = PluginStatus::kStable;
    LocalizedText description;
};

/// Largest manifest.json accepted, in bytes.
inline constexpr std::size_t kMaxManifestBytes = 256 * 1024;

/// Names no plugin may take: kernel subsystems and the kernel's URL segments
/// under /api/v1/.
const std::vector<std::string>& reservedPluginNames();

/// Whether `name` may name a plugin: ^[a-z][a-z0-9_]{1,39}$ and not reserved,
/// the rule parseManifest applies to "name". On failure: kInvalidArgument,
/// type "invalid-plugin-name", an English message saying which rule failed.
Status checkPluginName(const std::string& name);

/// Parses and checks the text of `<folderName>/manifest.json`.
///
/// The document (an example is in kernel/plugins/README.md):
///   name          required, == folderName, ^[a-z][a-z0-9_]{1,39}$, not reserved
///   version       required, a semver version
///   sdk           required, a version range (semver.hpp)
///   description   required, {"fr": text, "en": text}
///   requires      {plugin name: version range}; not itself
///   permissions   [{"name", "description": {fr, en}, "default_roles": [role]}],
///                 names "<name>.<action>", unique, roles among the tenant roles
///   plan_feature  "<name>" or "<name>.<x>"; defaults to the name
///   settings      a JSON Schema of type object (see validateJson), every
///                 property a schema object, patterns that compile, defaults
///                 valid against their schema
///   events        {"emits": ["<name>.<event>"], "consumes": ["<owner>.<event>"]}
///   lua_module    "<name>" or "<name>.<x>"
///   status        "stable" (default) or "beta"
/// Unknown keys, at the top level and in nested objects, are errors.
///
/// Never throws (except std::bad_alloc). On failure: Code::kInvalidArgument,
/// type "invalid-manifest", one FieldError per problem found (all of them,
/// capped at kMaxFieldErrors of json_schema.hpp per pass), each with the RFC
/// 6901 pointer of the field, a stable reason and an English detail, e.g.
/// {"/name", "folder-name", "must match the folder name 'mobile_money'"}.
/// The message lists them as "manifest.json of 'mobile_money' is invalid:
/// /name: must match ...; /permissions/2/name: must start with ...".
/// Text that is not JSON (or repeats a key) fails the same way, with one
/// error at pointer "" and reason "malformed-json".
Result<Manifest> parseManifest(const std::string& jsonText, const std::string& folderName);

}  // namespace ardoise::kernel::plugins
