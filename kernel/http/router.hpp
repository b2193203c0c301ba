#pragma once
#include <memory>
#include <string>
#include <vector>

#include "kernel/http/http.hpp"

namespace ardoise::kernel::http {

/// Matches method + path against registered patterns with `{name}` segments.
/// Literal segments win over parameters. Registration happens before the
/// server starts; matching is then read-only and thread-safe.
class Router {
public:
    /// Throws std::logic_error on a duplicate method + pattern (a bug).
    void add(Route route);

    struct Match {
        const Route* route = nullptr;
        std::map<std::string, std::string> params;
        bool pathExists = false;  ///< some method matches this path (for 405)
        std::vector<std::string> allowed;
    };
    Match match(const std::string& method, const std::string& path) const;

    const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

private:
    struct Compiled {
        std::vector<std::string> segments;  // "{x}" marks a parameter
        Route* route;
    };
    std::vector<std::unique_ptr<Route>> routes_;
    std::vector<Compiled> compiled_;
};

/// Splits "/a/b/" into {"a","b"}; empty segments (//) are kept as "" so they
/// never match a route.
std::vector<std::string> splitPath(const std::string& path);

}  // namespace ardoise::kernel::http
