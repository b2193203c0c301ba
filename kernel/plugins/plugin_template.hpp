#pragma once
// `ardoise plugin new`: a new plugin folder from the SDK's template.

#include <ardoise/status.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ardoise::kernel::plugins {

struct CreatedPlugin {
    std::filesystem::path folder;
    std::vector<std::filesystem::path> files;  ///< relative to folder, sorted
};

/// "mobile_money" → "MobileMoney": the class-name form of a plugin name.
std::string pascalCase(const std::string& pluginName);

/// Copies `templateDir` (sdk/template) to `target`, replacing "@name@" with
/// `name` and "@Name@" with pascalCase(name) in file contents and file names.
///
/// Errors: kInvalidArgument "invalid-plugin-name" (checkPluginName);
/// kConflict "plugin-exists" when `target` exists (nothing is written);
/// kNotFound "no-template" when `templateDir` is not a folder;
/// kInternal "plugin-new-failed" on an I/O error, after removing what was
/// written. Never throws (except std::bad_alloc).
Result<CreatedPlugin> createPluginFromTemplate(const std::filesystem::path& templateDir, const std::string& name,
                                               const std::filesystem::path& target);

}  // namespace ardoise::kernel::plugins
