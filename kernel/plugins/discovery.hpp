#pragma once
// Finding plugin folders and reading their manifests.

#include "kernel/plugins/manifest.hpp"

#include <ardoise/status.hpp>

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

namespace ardoise::kernel::plugins {

struct DiscoveredPlugin {
    Manifest manifest;
    std::filesystem::path folder;
};

struct DiscoveryError {
    std::filesystem::path folder;  ///< the plugin folder (or the root, for a bad root)
    std::string name;              ///< the folder's name, the plugin name it claims
    Status status;
};

struct Discovery {
    std::vector<DiscoveredPlugin> plugins;  ///< sorted by name
    std::vector<DiscoveryError> errors;     ///< in scan order
};

/// Splits a PATH-like list (ARDOISE_PLUGIN_PATH) on ':'; empty entries are dropped.
std::vector<std::filesystem::path> splitPluginPath(std::string_view list);

/// Scans each root, in order, for immediate subfolders holding a
/// `manifest.json`, and parses each (parseManifest, the folder's name as the
/// expected plugin name). Subfolders without a manifest.json, and those whose
/// name starts with '.', are skipped silently; so is a root that does not
/// exist (an install prefix may have no plugins). Entries are visited in name
/// order, so the result does not depend on the file system's order.
///
/// Errors, one per folder, the rest still discovered:
///  * a root that exists but is not a directory, or cannot be listed
///    (kUnavailable, "plugin-root-unreadable");
///  * manifest.json not a regular file, unreadable (kUnavailable,
///    "manifest-unreadable") or larger than `maxManifestBytes` (kPayloadTooLarge,
///    "manifest-too-large"; at most maxManifestBytes + 1 bytes are read);
///  * an invalid manifest ("invalid-manifest", see parseManifest);
///  * the same plugin name in two folders (kConflict, "duplicate-plugin",
///    naming both paths): no copy is kept, since which one is meant is not
///    knowable. Reported once per extra folder.
///
/// Only reads files. Never throws (except std::bad_alloc).
Discovery discoverPlugins(const std::vector<std::filesystem::path>& roots,
                          std::size_t maxManifestBytes = kMaxManifestBytes);

}  // namespace ardoise::kernel::plugins
