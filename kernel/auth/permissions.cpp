#include "kernel/auth/permissions.hpp"

#include <map>

namespace ardoise::kernel::auth {
namespace {
const std::map<std::string, std::set<std::string>>& table() {
    static const std::map<std::string, std::set<std::string>> t = {
        {"admin", {"users.read", "users.manage", "audit.read", "school.settings"}},
        {"teacher", {"users.read"}},
        {"student", {}},
        {"parent", {}},
    };
    return t;
}
}  // namespace

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

}  // namespace ardoise::kernel::auth
