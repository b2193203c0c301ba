#pragma once
#include <set>
#include <string>
#include <vector>

namespace ardoise::kernel::auth {

/// The tenant roles. Plugins add permissions to roles later (plugin host issue).
const std::vector<std::string>& knownRoles();
/// The union of the permissions of `roles`; unknown roles grant nothing.
std::set<std::string> permissionsOf(const std::vector<std::string>& roles);

/// Operator permission for platform routes.
inline const std::string kPlatformManage = "platform.manage";

}  // namespace ardoise::kernel::auth
