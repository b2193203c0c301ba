#include "kernel/plugins/plugin_template.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "kernel/plugins/manifest.hpp"

namespace ardoise::kernel::plugins {

namespace fs = std::filesystem;

namespace {

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// Writes every file; throws on I/O errors so the caller cleans up once.
std::vector<fs::path> copyTemplate(const fs::path& templateDir, const fs::path& target, const std::string& name) {
    const std::string className = pascalCase(name);
    auto substitute = [&](std::string s) { return replaceAll(replaceAll(std::move(s), "@name@", name), "@Name@", className); };
    std::vector<fs::path> written;
    for (const auto& entry : fs::recursive_directory_iterator(templateDir)) {
        const fs::path relative = substitute(fs::relative(entry.path(), templateDir).generic_string());
        const fs::path destination = target / relative;
        if (entry.is_directory()) {
            fs::create_directories(destination);
            continue;
        }
        if (!entry.is_regular_file()) {
            continue;
        }
        fs::create_directories(destination.parent_path());
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) {
            throw std::runtime_error("cannot read " + entry.path().string());
        }
        std::ofstream out(destination, std::ios::binary | std::ios::trunc);
        out << substitute(text.str());
        out.close();
        if (!out) {
            throw std::runtime_error("cannot write " + destination.string());
        }
        written.push_back(relative);
    }
    std::sort(written.begin(), written.end());
    return written;
}

}  // namespace

std::string pascalCase(const std::string& pluginName) {
    std::string out;
    bool upper = true;
    for (char c : pluginName) {
        if (c == '_') {
            upper = true;
            continue;
        }
        out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
        upper = false;
    }
    return out;
}

Result<CreatedPlugin> createPluginFromTemplate(const fs::path& templateDir, const std::string& name,
                                               const fs::path& target) {
    if (auto s = checkPluginName(name); !s.isOk()) {
        return s;
    }
    std::error_code ec;
    if (!fs::is_directory(templateDir, ec)) {
        return Status(Code::kNotFound, "no-template", "no plugin template at " + templateDir.string());
    }
    if (fs::exists(fs::symlink_status(target, ec))) {
        return Status(Code::kConflict, "plugin-exists", target.string() + " already exists; choose another --dir");
    }
    fs::create_directories(target.parent_path(), ec);
    // create_directory reports false when the folder appeared meanwhile: never write into someone's folder.
    if (!fs::create_directory(target, ec) || ec) {
        return Status(Code::kConflict, "plugin-exists",
                      "cannot create " + target.string() + (ec ? ": " + ec.message() : ": it already exists"));
    }
    try {
        return CreatedPlugin{target, copyTemplate(templateDir, target, name)};
    } catch (const std::exception& e) {
        fs::remove_all(target, ec);
        return Status(Code::kInternal, "plugin-new-failed", std::string("plugin not created: ") + e.what());
    }
}

}  // namespace ardoise::kernel::plugins
