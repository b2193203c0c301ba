#include "kernel/plugins/semver.hpp"

#include <algorithm>
#include <cstddef>

namespace ardoise::kernel::plugins {
namespace {

// 18 digits always fit in 64 bits, so no overflow check is needed.
constexpr std::size_t kMaxNumericDigits = 18;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isIdentifierChar(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool allDigits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

Status versionError(std::string_view text, const std::string& what) {
    return {Code::kInvalidArgument, "invalid-version", "'" + std::string(text) + "': " + what};
}

std::vector<std::string_view> split(std::string_view s, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        auto at = s.find(separator, start);
        if (at == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, at - start));
        start = at + 1;
    }
}

std::string joinDots(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) {
        if (!out.empty()) {
            out += '.';
        }
        out += part;
    }
    return out;
}

// Checks dot-separated identifiers; returns an empty string when valid.
std::string identifierProblem(std::string_view ids, const char* what, bool numericLeadingZeroMatters) {
    if (ids.empty()) {
        return std::string("the ") + what + " is empty";
    }
    for (auto id : split(ids, '.')) {
        if (id.empty()) {
            return std::string("the ") + what + " has an empty identifier";
        }
        if (!std::all_of(id.begin(), id.end(), isIdentifierChar)) {
            return std::string("the ") + what + " identifier '" + std::string(id) +
                   "' may only contain letters, digits and '-'";
        }
        if (numericLeadingZeroMatters && allDigits(id) && id.size() > 1 && id[0] == '0') {
            return std::string("the ") + what + " identifier '" + std::string(id) + "' has a leading zero";
        }
    }
    return {};
}

int compareIdentifiers(const std::string& a, const std::string& b) {
    bool aNum = allDigits(a);
    bool bNum = allDigits(b);
    if (aNum && bNum) {
        // No leading zeros, so the longer number is the larger.
        if (a.size() != b.size()) {
            return a.size() < b.size() ? -1 : 1;
        }
        return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
    }
    if (aNum != bNum) {
        return aNum ? -1 : 1;
    }
    int c = a.compare(b);
    return c < 0 ? -1 : (c == 0 ? 0 : 1);
}

bool sameCore(const Version& a, const Version& b) {
    return a.major == b.major && a.minor == b.minor && a.patch == b.patch;
}

}  // namespace

std::string Version::toString() const {
    std::string out = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    if (!prerelease.empty()) {
        out += "-" + joinDots(prerelease);
    }
    if (!build.empty()) {
        out += "+" + build;
    }
    return out;
}

Result<Version> parseVersion(std::string_view text) {
    if (text.empty()) {
        return versionError(text, "is empty");
    }
    if (!isDigit(text.front())) {
        return versionError(text, "must start with a digit (no sign, 'v' prefix or space)");
    }
    std::string_view rest = text;
    std::string_view build;
    bool hasBuild = false;
    if (auto plus = rest.find('+'); plus != std::string_view::npos) {
        build = rest.substr(plus + 1);
        rest = rest.substr(0, plus);
        hasBuild = true;
    }
    std::string_view pre;
    bool hasPre = false;
    if (auto dash = rest.find('-'); dash != std::string_view::npos) {
        pre = rest.substr(dash + 1);
        rest = rest.substr(0, dash);
        hasPre = true;
    }
    auto parts = split(rest, '.');
    if (parts.size() != 3) {
        return versionError(text, "must have exactly three numeric parts, MAJOR.MINOR.PATCH (found " +
                                      std::to_string(parts.size()) + ")");
    }
    static constexpr const char* kPartNames[] = {"major", "minor", "patch"};
    std::uint64_t numbers[3] = {0, 0, 0};
    for (std::size_t i = 0; i < 3; ++i) {
        auto part = parts[i];
        std::string name = kPartNames[i];
        if (part.empty()) {
            return versionError(text, "the " + name + " part is empty");
        }
        if (!allDigits(part)) {
            return versionError(text, "the " + name + " part '" + std::string(part) +
                                          "' must be a non-negative integer");
        }
        if (part.size() > 1 && part[0] == '0') {
            return versionError(text, "the " + name + " part has a leading zero");
        }
        if (part.size() > kMaxNumericDigits) {
            return versionError(text, "the " + name + " part has more than " +
                                          std::to_string(kMaxNumericDigits) + " digits");
        }
        for (char c : part) {
            numbers[i] = numbers[i] * 10 + static_cast<std::uint64_t>(c - '0');
        }
    }
    Version v;
    v.major = numbers[0];
    v.minor = numbers[1];
    v.patch = numbers[2];
    if (hasPre) {
        if (auto problem = identifierProblem(pre, "prerelease", true); !problem.empty()) {
            return versionError(text, problem);
        }
        for (auto id : split(pre, '.')) {
            v.prerelease.emplace_back(id);
        }
    }
    if (hasBuild) {
        if (auto problem = identifierProblem(build, "build metadata", false); !problem.empty()) {
            return versionError(text, problem);
        }
        v.build = std::string(build);
    }
    return v;
}

int compareVersions(const Version& a, const Version& b) {
    auto cmp = [](std::uint64_t x, std::uint64_t y) { return x < y ? -1 : (x == y ? 0 : 1); };
    if (int c = cmp(a.major, b.major); c != 0) {
        return c;
    }
    if (int c = cmp(a.minor, b.minor); c != 0) {
        return c;
    }
    if (int c = cmp(a.patch, b.patch); c != 0) {
        return c;
    }
    if (a.prerelease.empty() || b.prerelease.empty()) {
        // A release ranks above any of its prereleases.
        return a.prerelease.empty() == b.prerelease.empty() ? 0 : (a.prerelease.empty() ? 1 : -1);
    }
    std::size_t n = std::min(a.prerelease.size(), b.prerelease.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (int c = compareIdentifiers(a.prerelease[i], b.prerelease[i]); c != 0) {
            return c;
        }
    }
    return cmp(a.prerelease.size(), b.prerelease.size());
}

Version toVersion(SdkVersion sdk) {
    Version v;
    v.major = static_cast<std::uint64_t>(sdk.major);
    v.minor = static_cast<std::uint64_t>(sdk.minor);
    v.patch = static_cast<std::uint64_t>(sdk.patch);
    return v;
}

VersionRange::VersionRange() : text_("*") {}

Result<VersionRange> VersionRange::parse(std::string_view text) {
    auto fail = [&](const std::string& what) {
        return Status(Code::kInvalidArgument, "invalid-version-range", "'" + std::string(text) + "': " + what);
    };
    VersionRange range;
    range.text_ = std::string(text);
    std::vector<std::string_view> tokens;
    for (auto token : split(text, ' ')) {
        if (!token.empty()) {
            tokens.push_back(token);
        }
    }
    if (tokens.empty()) {
        return fail("is empty (write \"*\" for any version)");
    }
    if (tokens.size() == 1 && tokens[0] == "*") {
        return range;
    }
    for (auto token : tokens) {
        if (token == "*") {
            return fail("'*' cannot be combined with other comparators");
        }
        std::string_view op;
        for (std::string_view candidate : {">=", "<=", ">", "<", "=", "^", "~"}) {
            if (token.substr(0, candidate.size()) == candidate) {
                op = candidate;
                break;
            }
        }
        auto versionText = token.substr(op.size());
        if (versionText.empty()) {
            return fail("'" + std::string(token) + "' has no version after the operator");
        }
        if (versionText.find_first_of("<>=^~") != std::string_view::npos) {
            return fail("'" + std::string(token) + "' has more than one operator (separate comparators with a space)");
        }
        auto parsed = parseVersion(versionText);
        if (!parsed) {
            auto message = parsed.status().message();
            if (std::count(versionText.begin(), versionText.end(), '.') < 2 && allDigits(versionText.substr(0, 1))) {
                message = "'" + std::string(versionText) + "' is not a full version (MAJOR.MINOR.PATCH)";
            }
            return fail(message);
        }
        const Version& v = *parsed;
        if (op == ">=") {
            range.comparators_.push_back({Op::kGe, v});
        } else if (op == "<=") {
            range.comparators_.push_back({Op::kLe, v});
        } else if (op == ">") {
            range.comparators_.push_back({Op::kGt, v});
        } else if (op == "<") {
            range.comparators_.push_back({Op::kLt, v});
        } else if (op == "=" || op.empty()) {
            range.comparators_.push_back({Op::kEq, v});
        } else {
            Version upper;
            if (op == "~" || (v.major == 0 && v.minor != 0)) {
                upper.major = v.major;
                upper.minor = v.minor + 1;
            } else if (v.major == 0) {  // ^0.0.z: only that patch
                upper.minor = 0;
                upper.patch = v.patch + 1;
            } else {
                upper.major = v.major + 1;
            }
            // The bound excludes the next version's prereleases too: "0.2.0-0"
            // is the lowest version with that core.
            upper.prerelease = {"0"};
            range.comparators_.push_back({Op::kGe, v});
            range.comparators_.push_back({Op::kLt, upper});
        }
    }
    return range;
}

bool VersionRange::contains(const Version& version) const {
    bool prereleaseAllowed = version.prerelease.empty();
    for (const auto& c : comparators_) {
        int cmp = compareVersions(version, c.version);
        bool ok = false;
        switch (c.op) {
            case Op::kEq: ok = cmp == 0; break;
            case Op::kLt: ok = cmp < 0; break;
            case Op::kLe: ok = cmp <= 0; break;
            case Op::kGt: ok = cmp > 0; break;
            case Op::kGe: ok = cmp >= 0; break;
        }
        if (!ok) {
            return false;
        }
        // The synthetic "-0" upper bound of ^ and ~ does not opt in to prereleases.
        bool synthetic = c.op == Op::kLt && c.version.prerelease == std::vector<std::string>{"0"};
        if (!synthetic && !c.version.prerelease.empty() && sameCore(c.version, version)) {
            prereleaseAllowed = true;
        }
    }
    return prereleaseAllowed;
}

Status checkSdkCompatibility(const std::string& pluginName, SdkVersion plugin, SdkVersion host) {
    if (isSdkCompatible(plugin, host)) {
        return Status::ok();
    }
    std::string why;
    if (plugin.major != host.major) {
        why = "a different major version";
    } else if (plugin.minor > host.minor) {
        why = "a newer minor version than the host's";
    } else {
        why = "an older minor version, and 0.x minor versions are not compatible with each other";
    }
    return {Code::kFailedPrecondition, "plugin-sdk-incompatible",
            "plugin '" + pluginName + "' was built against SDK " + plugin.toString() +
                ", but this host provides SDK " + host.toString() + " (" + why + ")"};
}

}  // namespace ardoise::kernel::plugins
