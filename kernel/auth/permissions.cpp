#include "kernel/auth/permissions.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>

namespace ardoise::kernel::auth {
namespace {
std::map<std::string, std::set<std::string>>& table() {
    static std::map<std::string, std::set<std::string>> t = {
        {"admin", {"users.read", "users.manage", "audit.read", "school.settings", "plugins.manage", "jobs.read", "jobs.manage",
                   "scripts.manage", "billing.read", "billing.manage"}},
        {"teacher", {"users.read"}},
        {"student", {}},
        {"parent", {}},
    };
    return t;
}

std::shared_mutex& roleSetMutex() {
    static std::shared_mutex mutex;
    return mutex;
}

/// Role lists are a handful of combinations; entries are never removed, so
/// references stay valid.
std::map<std::string, std::unique_ptr<RoleSet>>& roleSets() {
    static std::map<std::string, std::unique_ptr<RoleSet>> cache;
    return cache;
}
}  // namespace

void grantPermission(const std::string& role, const std::string& permission) {
    auto it = table().find(role);
    if (it != table().end()) {
        it->second.insert(permission);
    }
    // Role sets already handed out see the grant too (plugins load before serving).
    std::unique_lock lock(roleSetMutex());
    for (auto& [stored, set] : roleSets()) {
        if (std::find(set->roles.begin(), set->roles.end(), role) != set->roles.end()) {
            set->permissions = std::make_shared<const std::set<std::string>>(permissionsOf(set->roles));
        }
    }
}

const std::vector<std::string>& knownRoles() {
    static const std::vector<std::string> roles = {"admin", "teacher", "student", "parent"};
    return roles;
}

std::set<std::string> permissionsOf(const std::vector<std::string>& roles) {
    std::set<std::string> out;
    for (const auto& role : roles) {
        auto it = table().find(role);
        if (it != table().end()) {
            out.insert(it->second.begin(), it->second.end());
        }
    }
    return out;
}

const RoleSet& roleSet(const std::string& storedRoles) {
    auto& mutex = roleSetMutex();
    auto& cache = roleSets();
    {
        std::shared_lock lock(mutex);
        auto it = cache.find(storedRoles);
        if (it != cache.end()) {
            return *it->second;
        }
    }
    auto set = std::make_unique<RoleSet>();
    std::stringstream ss(storedRoles);
    for (std::string role; std::getline(ss, role, ',');) {
        if (!role.empty()) {
            set->roles.push_back(role);
        }
    }
    set->permissions = std::make_shared<const std::set<std::string>>(permissionsOf(set->roles));
    std::unique_lock lock(mutex);
    auto& slot = cache[storedRoles];
    if (!slot) {
        slot = std::move(set);
    }
    return *slot;
}

}  // namespace ardoise::kernel::auth
