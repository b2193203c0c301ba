#pragma once
// In which order plugins load, and why some cannot.

#include "kernel/plugins/manifest.hpp"

#include <ardoise/version.hpp>

#include <map>
#include <string>
#include <vector>

namespace ardoise::kernel::plugins {

struct LoadPlan {
    /// Plugins that can load, each after everything it requires. Among
    /// plugins ready at the same time, alphabetical: the same input always
    /// gives the same order.
    std::vector<std::string> order;
    /// Plugin name → why it cannot load (English, one line). Disjoint from order.
    std::map<std::string, std::string> refused;
};

/// Orders `manifests` by their `requires`. A plugin is refused, and the
/// others still load, when:
///  * its `sdk` range excludes `hostSdk`: "supports SDK ^0.2.0, but this host provides SDK 0.1.0";
///  * a dependency is absent: "requires 'billing' (^1.0.0), which is not installed";
///  * a dependency's version is outside the range: "requires 'billing' ^1.0.0, but 'billing' 2.1.0 is installed";
///  * it is on a dependency cycle, named from the plugin itself:
///    "dependency cycle: a → b → c → a" (a self-requirement: "a → a");
///  * a dependency is refused: "requires 'billing', which cannot load".
/// Several direct reasons are joined with "; ".
///
/// `failedEarlier` names plugins known to exist but already refused (e.g.
/// their manifest was invalid), with the reason: they are reported in
/// `refused` as given, and their dependents are refused as above rather than
/// told the dependency is not installed.
///
/// A name given twice is refused outright ("declared more than once"); the
/// discovery step normally prevents it. Pure function, thread-safe.
LoadPlan orderPlugins(const std::vector<Manifest>& manifests, SdkVersion hostSdk = SdkVersion::current(),
                      const std::map<std::string, std::string>& failedEarlier = {});

}  // namespace ardoise::kernel::plugins
