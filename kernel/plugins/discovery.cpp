#include "kernel/plugins/discovery.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <system_error>

namespace ardoise::kernel::plugins {
namespace fs = std::filesystem;
namespace {

// Reads at most limit + 1 bytes, so a huge or endless file costs little.
Result<std::string> readBounded(const fs::path& file, std::size_t limit) {
    std::error_code ec;
    // Checked first: opening a FIFO or device could block or never end.
    if (!fs::is_regular_file(file, ec)) {
        return Status(Code::kUnavailable, "manifest-unreadable", file.string() + " is not a regular file");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return Status(Code::kUnavailable, "manifest-unreadable", file.string() + " cannot be read");
    }
    std::string text(limit + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) {
        return Status(Code::kUnavailable, "manifest-unreadable", file.string() + " cannot be read");
    }
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) {
        return Status(Code::kPayloadTooLarge, "manifest-too-large",
                      file.string() + " is larger than " + std::to_string(limit) + " bytes");
    }
    return text;
}

}  // namespace

std::vector<fs::path> splitPluginPath(std::string_view list) {
    std::vector<fs::path> out;
    std::size_t start = 0;
    while (start <= list.size()) {
        auto end = list.find(':', start);
        if (end == std::string_view::npos) {
            end = list.size();
        }
        if (end > start) {
            out.emplace_back(std::string(list.substr(start, end - start)));
        }
        start = end + 1;
    }
    return out;
}

Discovery discoverPlugins(const std::vector<fs::path>& roots, std::size_t maxManifestBytes) {
    Discovery result;
    std::vector<DiscoveredPlugin> found;
    for (const auto& root : roots) {
        std::error_code ec;
        if (!fs::exists(root, ec)) {
            continue;
        }
        if (!fs::is_directory(root, ec)) {
            result.errors.push_back({root, "", Status(Code::kUnavailable, "plugin-root-unreadable",
                                                      root.string() + " is not a directory")});
            continue;
        }
        std::vector<fs::path> folders;
        fs::directory_iterator it(root, ec);
        for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
            const auto& path = it->path();
            std::error_code typeError;
            if (path.filename().string().rfind('.', 0) != 0 && it->is_directory(typeError)) {
                folders.push_back(path);
            }
        }
        if (ec) {
            result.errors.push_back({root, "", Status(Code::kUnavailable, "plugin-root-unreadable",
                                                      root.string() + " cannot be listed: " + ec.message())});
            continue;
        }
        std::sort(folders.begin(), folders.end());
        for (const auto& folder : folders) {
            auto manifestPath = folder / "manifest.json";
            std::error_code existsError;
            if (!fs::exists(fs::symlink_status(manifestPath, existsError))) {
                continue;
            }
            auto name = folder.filename().string();
            auto text = readBounded(manifestPath, maxManifestBytes);
            if (!text) {
                result.errors.push_back({folder, name, text.status()});
                continue;
            }
            auto manifest = parseManifest(*text, name);
            if (!manifest) {
                result.errors.push_back({folder, name, manifest.status()});
                continue;
            }
            found.push_back({std::move(*manifest), folder});
        }
    }

    // Names equal folder names, so a duplicate can only come from two roots.
    std::map<std::string, std::vector<const DiscoveredPlugin*>> byName;
    for (const auto& plugin : found) {
        byName[plugin.manifest.name].push_back(&plugin);
    }
    for (const auto& [name, copies] : byName) {
        if (copies.size() == 1) {
            result.plugins.push_back(*copies.front());
            continue;
        }
        for (std::size_t i = 1; i < copies.size(); ++i) {
            result.errors.push_back(
                {copies[i]->folder, name,
                 Status(Code::kConflict, "duplicate-plugin",
                        "plugin '" + name + "' is found twice, in " + copies.front()->folder.string() + " and in " +
                            copies[i]->folder.string() + "; neither is loaded")});
        }
    }
    return result;
}

}  // namespace ardoise::kernel::plugins
