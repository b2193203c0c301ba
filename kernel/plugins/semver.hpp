#pragma once
// Semantic versions (https://semver.org 2.0.0) and the version ranges that
// plugin manifests use for `sdk` and `requires`.

#include <ardoise/status.hpp>
#include <ardoise/version.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ardoise::kernel::plugins {

/// MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].
struct Version {
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    std::uint64_t patch = 0;
    std::vector<std::string> prerelease;  ///< dot-separated identifiers, empty for a release
    std::string build;                    ///< metadata after '+', ignored when comparing

    /// The canonical text, e.g. "1.2.3-beta.1+abc".
    std::string toString() const;
};

/// Parses a full version: three numeric parts without leading zeros (each at
/// most 18 digits), optionally "-" and dot-separated prerelease identifiers
/// ([0-9A-Za-z-]+, numeric ones without leading zeros), optionally "+" and
/// build identifiers. No surrounding spaces, no "v" prefix, no partial
/// versions ("1.2").
///
/// Errors: Code::kInvalidArgument, type "invalid-version", with a message
/// naming the offending text and what is wrong, e.g.
/// "'01.2.3': the major part has a leading zero".
Result<Version> parseVersion(std::string_view text);

/// Semver precedence: negative, zero or positive. Numeric parts compare as
/// numbers; a prerelease sorts before its release (1.0.0-rc.1 < 1.0.0);
/// prerelease identifiers compare numerically when both are numeric, else
/// as ASCII, numeric before alphanumeric, and a shorter list first when one
/// is a prefix of the other. Build metadata is ignored, so two versions
/// differing only in it compare equal.
int compareVersions(const Version& a, const Version& b);

inline bool operator==(const Version& a, const Version& b) { return compareVersions(a, b) == 0; }
inline bool operator<(const Version& a, const Version& b) { return compareVersions(a, b) < 0; }

/// The SDK version as a Version.
Version toVersion(SdkVersion sdk);

/// A set of versions, as written in a manifest. Grammar (whitespace between
/// comparators, all must hold):
///   "*"                any version
///   "1.2.3" "=1.2.3"   exactly that version
///   ">=1.2.3" ">1.2.3" "<=1.2.3" "<1.2.3"
///   "^1.2.3"           >=1.2.3 <2.0.0; ^0.2.3 is >=0.2.3 <0.3.0; ^0.0.3 is >=0.0.3 <0.0.4
///   "~1.2.3"           >=1.2.3 <1.3.0
/// e.g. ">=0.1.0 <0.2.0". Versions in a range are full versions (no "1.x").
/// There is no "||".
///
/// Prereleases: a version with a prerelease tag matches only if it satisfies
/// every comparator by precedence AND some comparator names a version with
/// the same MAJOR.MINOR.PATCH and a prerelease tag (as npm does), so
/// "^0.1.0" does not silently accept "0.2.0-alpha", which sorts below 0.2.0.
class VersionRange {
public:
    /// "*".
    VersionRange();

    /// Errors: Code::kInvalidArgument, type "invalid-version-range", message
    /// naming the text and the problem, e.g. "'>=1.0': '1.0' is not a full
    /// version (MAJOR.MINOR.PATCH)".
    static Result<VersionRange> parse(std::string_view text);

    bool contains(const Version& version) const;
    /// The text it was parsed from ("*" when default-constructed).
    const std::string& text() const { return text_; }

private:
    enum class Op { kEq, kLt, kLe, kGt, kGe };
    struct Comparator {
        Op op;
        Version version;
    };
    std::vector<Comparator> comparators_;  ///< empty: any version
    std::string text_;
};

/// Whether a plugin built against SDK `plugin` loads on `host`
/// (isSdkCompatible). When it does not, a kFailedPrecondition Status of type
/// "plugin-sdk-incompatible" whose message names the plugin and both versions
/// and says why, e.g. "plugin 'quiz' was built against SDK 0.2.0, but this
/// host provides SDK 0.1.0 (a newer minor version than the host's)".
Status checkSdkCompatibility(const std::string& pluginName, SdkVersion plugin, SdkVersion host);

}  // namespace ardoise::kernel::plugins
