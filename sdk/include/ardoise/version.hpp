#pragma once
// The version of the plugin SDK (the headers under sdk/include/ardoise/).
//
// A plugin's exported descriptor reports the SDK version it was compiled
// against (these macros, expanded in the plugin's own build). The host
// compares it with its own before calling any other plugin code.

#define ARDOISE_SDK_VERSION_MAJOR 0
#define ARDOISE_SDK_VERSION_MINOR 3
#define ARDOISE_SDK_VERSION_PATCH 0

#define ARDOISE_SDK_STRINGIFY_(x) #x
#define ARDOISE_SDK_STRINGIFY(x) ARDOISE_SDK_STRINGIFY_(x)

/// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
#define ARDOISE_SDK_VERSION                        \
    ARDOISE_SDK_STRINGIFY(ARDOISE_SDK_VERSION_MAJOR) \
    "." ARDOISE_SDK_STRINGIFY(ARDOISE_SDK_VERSION_MINOR) "." ARDOISE_SDK_STRINGIFY(ARDOISE_SDK_VERSION_PATCH)

#include <string>

namespace ardoise {

/// A released SDK version. Plain value, usable in constant expressions.
struct SdkVersion {
    int major = 0;
    int minor = 0;
    int patch = 0;

    /// The version of the headers this translation unit is compiled with.
    static constexpr SdkVersion current() {
        return {ARDOISE_SDK_VERSION_MAJOR, ARDOISE_SDK_VERSION_MINOR, ARDOISE_SDK_VERSION_PATCH};
    }

    friend constexpr bool operator==(const SdkVersion&, const SdkVersion&) = default;

    /// "MAJOR.MINOR.PATCH".
    std::string toString() const {
        return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    }
};

/// Whether a plugin built against SDK `plugin` may be loaded by a host that
/// provides SDK `host`.
///
/// The rule (semantic versioning seen from the plugin's side):
///  * the majors must be equal: a major bump removes or changes interfaces;
///  * the plugin's minor must not be newer than the host's: a newer minor may
///    call functions or fill fields this host does not have;
///  * while the major is 0, the minors must be equal as well: semver allows
///    any 0.y release to break compatibility, and we use that freedom while
///    the SDK settles, so 0.1.x and 0.2.x are as different as 1.x and 2.x;
///  * the patch never matters: patches do not change the interface.
///
/// Thread-safe; never fails.
constexpr bool isSdkCompatible(SdkVersion plugin, SdkVersion host) {
    if (plugin.major != host.major) {
        return false;
    }
    if (host.major == 0) {
        return plugin.minor == host.minor;
    }
    return plugin.minor <= host.minor;
}

static_assert(isSdkCompatible(SdkVersion::current(), SdkVersion::current()));

}  // namespace ardoise
