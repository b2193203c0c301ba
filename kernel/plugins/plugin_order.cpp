#include "kernel/plugins/plugin_order.hpp"

#include <deque>
#include <set>

namespace ardoise::kernel::plugins {
namespace {

// The shortest cycle from `start` back to itself, following `requires` edges
// in alphabetical order so the answer is deterministic. Empty if none.
std::vector<std::string> shortestCycle(const std::string& start, const std::map<std::string, const Manifest*>& byName) {
    std::map<std::string, std::string> parent;  // reached node → node it was reached from
    std::deque<std::string> queue{start};
    std::set<std::string> seen{start};
    while (!queue.empty()) {
        auto current = queue.front();
        queue.pop_front();
        for (const auto& [dep, range] : byName.at(current)->dependencies) {
            if (dep == start) {
                std::vector<std::string> path{start};
                for (auto at = current; at != start; at = parent.at(at)) {
                    path.insert(path.begin() + 1, at);
                }
                path.push_back(start);
                return path;
            }
            if (byName.count(dep) && seen.insert(dep).second) {
                parent[dep] = current;
                queue.push_back(dep);
            }
        }
    }
    return {};
}

std::string joinArrows(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& name : path) {
        out += (out.empty() ? "" : " → ") + name;
    }
    return out;
}

}  // namespace

LoadPlan orderPlugins(const std::vector<Manifest>& manifests, SdkVersion hostSdk,
                      const std::map<std::string, std::string>& failedEarlier) {
    LoadPlan plan;
    std::map<std::string, const Manifest*> byName;
    std::set<std::string> duplicated;
    for (const auto& m : manifests) {
        if (!byName.emplace(m.name, &m).second) {
            duplicated.insert(m.name);
        }
    }
    for (const auto& name : duplicated) {
        byName.erase(name);
        plan.refused[name] = "declared more than once";
    }
    for (const auto& [name, reason] : failedEarlier) {
        if (!byName.count(name)) {
            plan.refused.emplace(name, reason);
        }
    }

    // Reasons that depend on the plugin alone or its direct dependencies.
    const Version host = toVersion(hostSdk);
    std::map<std::string, std::vector<std::string>> direct;
    for (const auto& [name, m] : byName) {
        if (!m->sdk.contains(host)) {
            direct[name].push_back("supports SDK " + m->sdk.text() + ", but this host provides SDK " +
                                   hostSdk.toString());
        }
        for (const auto& [dep, range] : m->dependencies) {
            auto found = byName.find(dep);
            if (found == byName.end()) {
                if (!plan.refused.count(dep)) {
                    direct[name].push_back("requires '" + dep + "' (" + range.text() + "), which is not installed");
                }
            } else if (!range.contains(found->second->version)) {
                direct[name].push_back("requires '" + dep + "' " + range.text() + ", but '" + dep + "' " +
                                       found->second->version.toString() + " is installed");
            }
        }
        if (auto cycle = shortestCycle(name, byName); !cycle.empty()) {
            direct[name].push_back("dependency cycle: " + joinArrows(cycle));
        }
    }
    for (const auto& [name, reasons] : direct) {
        std::string text;
        for (const auto& r : reasons) {
            text += (text.empty() ? "" : "; ") + r;
        }
        plan.refused[name] = text;
    }

    // Kahn's algorithm; a std::set keeps the ready plugins sorted by name.
    std::set<std::string> placed;
    std::set<std::string> pending;
    for (const auto& [name, m] : byName) {
        if (!plan.refused.count(name)) {
            pending.insert(name);
        }
    }
    auto ready = [&](const std::string& name) {
        for (const auto& [dep, range] : byName.at(name)->dependencies) {
            if (!placed.count(dep)) {
                return false;
            }
        }
        return true;
    };
    bool progress = true;
    while (progress) {
        progress = false;
        for (auto it = pending.begin(); it != pending.end(); ++it) {
            if (ready(*it)) {
                plan.order.push_back(*it);
                placed.insert(*it);
                pending.erase(it);
                progress = true;
                break;  // restart from the smallest name: a newly placed plugin may free it
            }
        }
    }
    // What remains waits, directly or not, on a refused plugin: cycles were
    // refused above, so each pass refuses at least one more.
    while (!pending.empty()) {
        std::size_t before = pending.size();
        for (auto it = pending.begin(); it != pending.end();) {
            std::string blocker;
            for (const auto& [dep, range] : byName.at(*it)->dependencies) {
                if (plan.refused.count(dep)) {
                    blocker = dep;
                    break;
                }
            }
            if (blocker.empty()) {
                ++it;
            } else {
                plan.refused[*it] = "requires '" + blocker + "', which cannot load";
                it = pending.erase(it);
            }
        }
        if (pending.size() == before) {  // unreachable by the reasoning above; never loop forever
            for (const auto& name : pending) {
                plan.refused[name] = "its dependencies could not be resolved";
            }
            pending.clear();
        }
    }
    return plan;
}

}  // namespace ardoise::kernel::plugins
