#include "kernel/http/router.hpp"

#include <stdexcept>

namespace ardoise::kernel::http {

std::vector<std::string> splitPath(const std::string& path) {
    std::vector<std::string> out;
    std::size_t start = (!path.empty() && path[0] == '/') ? 1 : 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string::npos) {
            if (start < path.size()) {
                out.push_back(path.substr(start));
            }
            break;
        }
        out.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return out;
}

namespace {
bool isParam(const std::string& seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
}  // namespace

void Router::add(Route route) {
    for (const auto& r : routes_) {
        if (r->method == route.method && r->pattern == route.pattern) {
            throw std::logic_error("duplicate route " + route.method + " " + route.pattern);
        }
    }
    routes_.push_back(std::make_unique<Route>(std::move(route)));
    compiled_.push_back({splitPath(routes_.back()->pattern), routes_.back().get()});
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
    Match best;
    const auto segs = splitPath(path);
    int bestScore = -1;
    for (const auto& c : compiled_) {
        if (c.segments.size() != segs.size()) {
            continue;
        }
        int score = 0;
        bool ok = true;
        for (std::size_t i = 0; i < segs.size() && ok; ++i) {
            if (isParam(c.segments[i])) {
                ok = !segs[i].empty();
            } else {
                ok = c.segments[i] == segs[i];
                score += ok ? 1 : 0;
            }
        }
        if (!ok) {
            continue;
        }
        best.pathExists = true;
        best.allowed.push_back(c.route->method);
        if (c.route->method != method || score <= bestScore) {
            continue;
        }
        bestScore = score;
        best.route = c.route;
        best.params.clear();
        for (std::size_t i = 0; i < segs.size(); ++i) {
            if (isParam(c.segments[i])) {
                best.params[c.segments[i].substr(1, c.segments[i].size() - 2)] = segs[i];
            }
        }
    }
    return best;
}

}  // namespace ardoise::kernel::http
