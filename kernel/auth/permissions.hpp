#pragma once
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace ardoise::kernel::auth {

/// The tenant roles. Plugins add permissions to roles later (plugin host issue).
const std::vector<std::string>& knownRoles();
/// The union of the permissions of `roles`; unknown roles grant nothing.
std::set<std::string> permissionsOf(const std::vector<std::string>& roles);

/// Grants `permission` to `role` (plugins' manifests declare default roles).
/// Call before serving: role lists already looked up keep what they had.
void grantPermission(const std::string& role, const std::string& permission);

/// Roles and permissions of a stored role list ("admin,teacher"), computed
/// once per distinct list and shared (looked up on every request).
struct RoleSet {
    std::vector<std::string> roles;
    std::shared_ptr<const std::set<std::string>> permissions;
};
const RoleSet& roleSet(const std::string& storedRoles);

/// Operator permission for platform routes.
inline const std::string kPlatformManage = "platform.manage";

}  // namespace ardoise::kernel::auth
