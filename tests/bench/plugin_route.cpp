// What a plugin route costs next to the same route compiled into the kernel,
// in-process and without sockets: GET /api/v1/hello/greeting of the fixture
// plugin `hello` against GET /api/v1/bench/greeting, a kernel route with the
// same access, permission and handler, added to the same router. Both go
// through Pipeline::handle with the same token, tenant and rate limiter;
// what differs is the enablement gate and the plugin boundary.
//
// Then the cost of loading plugins: a fresh Application and migrate() on the
// already-migrated database, with the fixture plugin folder and with an
// empty one.
//
//   plugin_route [--smoke] [--requests N] [--rounds N] [--loads N]
//
// It exits non-zero only when setup fails: a missed target is a figure to
// read, not a failure.

#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel/app/application.hpp"
#include "bench_support.hpp"

namespace {

using ardoise::bench::Failure;
using ardoise::bench::fixed;
using ardoise::bench::median;
using ardoise::bench::TempDir;

namespace fs = std::filesystem;
using ardoise::kernel::app::Application;
using ardoise::kernel::app::Config;
namespace http = ardoise::kernel::http;
using Clock = std::chrono::steady_clock;

// The targets this benchmark is read against.
constexpr double kTargetRatio = 0.95;      // plugin req/s over kernel req/s
constexpr double kTargetLoadMs = 1000.0;   // all plugins loaded and migrated

constexpr const char* kSlug = "bench";
constexpr const char* kPluginPath = "/api/v1/hello/greeting";
constexpr const char* kKernelPath = "/api/v1/bench/greeting";
constexpr const char* kPermission = "hello.read";  // the admin has it (hello's manifest)

struct Options {
    bool smoke = false;
    long requests = 20000;  // per route and round
    int rounds = 5;
    int loads = 9;  // fresh Application constructions per plugin folder
};

Options parse(int argc, char** argv) {
    Options o;
    bool requestsSet = false;
    bool roundsSet = false;
    bool loadsSet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> long {
            if (i + 1 >= argc) {
                throw Failure(a + " needs a value");
            }
            return std::atol(argv[++i]);
        };
        if (a == "--smoke") {
            o.smoke = true;
        } else if (a == "--requests") {
            o.requests = next();
            requestsSet = true;
        } else if (a == "--rounds") {
            o.rounds = static_cast<int>(next());
            roundsSet = true;
        } else if (a == "--loads") {
            o.loads = static_cast<int>(next());
            loadsSet = true;
        } else {
            throw Failure("unknown argument " + a + " (plugin_route [--smoke] [--requests N] [--rounds N] [--loads N])");
        }
    }
    if (o.smoke) {
        o.requests = requestsSet ? o.requests : 500;
        o.rounds = roundsSet ? o.rounds : 3;
        o.loads = loadsSet ? o.loads : 3;
    }
    if (o.requests < 1 || o.rounds < 1 || o.loads < 1) {
        throw Failure("--requests, --rounds and --loads must be positive");
    }
    return o;
}

Config makeConfig(const fs::path& dir, const std::string& pluginPath) {
    auto loaded = ardoise::kernel::app::loadConfig("");
    if (!loaded) {
        throw Failure("config: " + loaded.status().message());
    }
    Config c = *loaded;
    c.databaseUrl = "sqlite:" + (dir / "bench.db").string();
    c.databaseAdminUrl.clear();
    c.dataDir = dir.string();
    c.databasePool = 4;
    c.listen = "127.0.0.1:0";
    c.jwtKeys = "bench1:" + std::string(48, 'b');
    c.accessLog = false;
    c.outbox = false;
    c.rateTenantPerSecond = 1e9;  // every request counts against the tenant
    c.pluginPath = pluginPath;
    return c;
}

http::Request greetingRequest(const std::string& path, const std::string& token) {
    http::Request r;
    r.method = "GET";
    r.path = path;
    r.target = path;
    r.remoteIp = "127.0.0.1";
    r.headers["authorization"] = "Bearer " + token;
    r.headers["x-tenant"] = kSlug;
    return r;
}

// Nanoseconds per request for `n` requests on `path`; any answer other than
// the expected one is a setup failure (the figures would mean nothing).
double measure(Application& app, const std::string& path, const std::string& token, const std::string& expected,
               long n) {
    const http::Request prototype = greetingRequest(path, token);
    std::size_t bytes = 0;
    const auto start = Clock::now();
    for (long i = 0; i < n; ++i) {
        http::Request r = prototype;
        const http::Response out = app.pipeline().handle(r);
        if (out.status != 200) {
            throw Failure(path + " answered " + std::to_string(out.status) + ": " + out.body);
        }
        bytes += out.body.size();
    }
    const auto elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    if (bytes != expected.size() * static_cast<std::size_t>(n)) {
        throw Failure(path + " answered a body of an unexpected size");
    }
    return elapsed / static_cast<double>(n);
}

struct LoadTimes {
    std::vector<double> ms;  // construction + migrate(), one per load
    std::size_t loaded = 0;
    std::size_t refused = 0;
};

// One fresh Application and migrate(); the plugin records of the last load kept.
void timeLoad(const fs::path& dir, const std::string& pluginPath, LoadTimes& out) {
    const Config c = makeConfig(dir, pluginPath);
    const auto start = Clock::now();
    auto app = std::make_unique<Application>(c);
    if (auto s = app->migrate(); !s.isOk()) {
        throw Failure("migrate (" + pluginPath + "): " + s.message());
    }
    out.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    out.loaded = 0;
    out.refused = 0;
    for (const auto& rec : app->plugins().records()) {
        (rec.loaded ? out.loaded : out.refused) += 1;
    }
}

int run(const Options& opt) {
    const std::string fixtureDir = ARDOISE_FIXTURE_PLUGIN_DIR;
    if (!fs::is_directory(fs::path(fixtureDir) / "hello")) {
        throw Failure("no fixture plugin in " + fixtureDir + " (build the `hello` target)");
    }
    TempDir data;
    const fs::path emptyPlugins = data.path() / "no-plugins";
    fs::create_directories(emptyPlugins);

    std::string token;
    std::string expected;
    std::vector<double> pluginNs;
    std::vector<double> kernelNs;
    double coldMs = 0;
    {
        const Config config = makeConfig(data.path(), fixtureDir);
        const auto coldStart = Clock::now();
        auto app = std::make_unique<Application>(config);
        if (auto s = app->migrate(); !s.isOk()) {
            throw Failure("migrate: " + s.message());
        }
        coldMs = std::chrono::duration<double, std::milli>(Clock::now() - coldStart).count();
        bool helloLoaded = false;
        for (const auto& rec : app->plugins().records()) {
            helloLoaded = helloLoaded || (rec.name == "hello" && rec.loaded);
        }
        if (!helloLoaded) {
            throw Failure("the fixture plugin hello was not loaded from " + fixtureDir);
        }

        // The kernel twin of hello's greeting: same access, permission and body.
        app->router().add({.method = "GET",
                           .pattern = kKernelPath,
                           .access = http::Access::kTenantUser,
                           .permission = kPermission,
                           .summary = "A greeting for the signed-in user (benchmark twin of hello)",
                           .tag = "bench",
                           .handler = [](http::Request& r) -> ardoise::Result<http::Response> {
                               const std::string text =
                                   (r.locale == "en" ? "Hello " : "Bonjour ") + r.principal->name;
                               return http::Response::json(200, {{"message", text}, {"school", r.tenant->slug}});
                           }});
        // What start() does for plugins, without the HTTP server.
        app->plugins().startAll();

        auto tenant = app->tenants().create({{"slug", kSlug}, {"name", "Bench school"}});
        if (!tenant) {
            throw Failure("tenant: " + tenant.status().message());
        }
        auto ctx = app->tenants().resolve(kSlug);
        if (!ctx) {
            throw Failure("tenant not resolved");
        }
        const std::string password = "bench-password-1";
        auto user = app->auth().createUser(
            *ctx, {{"email", "admin@bench.test"}, {"name", "Admin"}, {"roles", {"admin"}}, {"password", password}}, "",
            {"bench", ""});
        if (!user) {
            throw Failure("user: " + user.status().message());
        }
        auto pair = app->auth().login(*ctx, {{"email", "admin@bench.test"}, {"password", password}}, {"127.0.0.1", ""});
        if (!pair) {
            throw Failure("login: " + pair.status().message());
        }
        token = (*pair)["access_token"].get<std::string>();
        if (!app->enablement().setAllowed(ctx->id, "hello", true) ||
            !app->enablement().configure(ctx->id, "hello", {{"enabled", true}})) {
            throw Failure("cannot enable hello for " + std::string(kSlug));
        }

        // Both routes must give the same answer before anything is timed.
        http::Request probePlugin = greetingRequest(kPluginPath, token);
        http::Request probeKernel = greetingRequest(kKernelPath, token);
        const http::Response a = app->pipeline().handle(probePlugin);
        const http::Response b = app->pipeline().handle(probeKernel);
        if (a.status != 200 || b.status != 200) {
            throw Failure("probe: plugin " + std::to_string(a.status) + " " + a.body + ", kernel " +
                          std::to_string(b.status) + " " + b.body);
        }
        if (a.body != b.body) {
            throw Failure("the routes answer differently: " + a.body + " vs " + b.body);
        }
        expected = a.body;

        // Warm-up, then alternating rounds; the order flips every round.
        const long warm = std::max(1L, opt.requests / 5);
        measure(*app, kPluginPath, token, expected, warm);
        measure(*app, kKernelPath, token, expected, warm);
        for (int round = 0; round < opt.rounds; ++round) {
            if (round % 2 == 0) {
                pluginNs.push_back(measure(*app, kPluginPath, token, expected, opt.requests));
                kernelNs.push_back(measure(*app, kKernelPath, token, expected, opt.requests));
            } else {
                kernelNs.push_back(measure(*app, kKernelPath, token, expected, opt.requests));
                pluginNs.push_back(measure(*app, kPluginPath, token, expected, opt.requests));
            }
        }
    }  // the measured Application is gone before the load timings

    // Alternating, so drift (page cache, CPU frequency) falls on both alike.
    LoadTimes withPlugins;
    LoadTimes baseline;
    for (int i = 0; i < opt.loads; ++i) {
        timeLoad(data.path(), fixtureDir, withPlugins);
        timeLoad(data.path(), emptyPlugins.string(), baseline);
    }
    const double withMs = median(withPlugins.ms);
    const double baseMs = median(baseline.ms);

    const double pNs = median(pluginNs);
    const double kNs = median(kernelNs);
    const double pRps = 1e9 / pNs;
    const double kRps = 1e9 / kNs;
    const double ratio = pRps / kRps;
    const double loadDiff = withMs - baseMs;
    const double worst = std::max(coldMs, *std::max_element(withPlugins.ms.begin(), withPlugins.ms.end()));

    std::cout << "plugin_route: " << opt.rounds << " rounds x " << opt.requests
              << " requests per route through Pipeline::handle (median of rounds), body " << expected << "\n\n";
    std::cout << std::left << std::setw(34) << "route" << std::right << std::setw(12) << "ns/req" << std::setw(14)
              << "req/s" << std::setw(12) << "min ns" << std::setw(12) << "max ns" << "\n";
    auto row = [](const std::string& name, const std::vector<double>& ns) {
        const auto [lo, hi] = std::minmax_element(ns.begin(), ns.end());
        const double m = median(ns);
        std::cout << std::left << std::setw(34) << name << std::right << std::setw(12) << fixed(m, 0) << std::setw(14)
                  << fixed(1e9 / m, 0) << std::setw(12) << fixed(*lo, 0) << std::setw(12) << fixed(*hi, 0) << "\n";
    };
    row(std::string("plugin ") + kPluginPath, pluginNs);
    row(std::string("kernel ") + kKernelPath, kernelNs);
    std::cout << "ratio plugin/kernel req/s: " << fixed(ratio, 3) << " (target >= " << fixed(kTargetRatio, 2) << ", "
              << (ratio >= kTargetRatio ? "met" : "MISSED") << ")\n\n";

    std::cout << "Application construction + migrate() (median of " << opt.loads
              << " alternating loads; first: once, on the fresh database)\n";
    std::cout << std::left << std::setw(34) << "plugin folder" << std::right << std::setw(12) << "ms" << std::setw(10)
              << "loaded" << std::setw(10) << "refused" << "\n";
    std::cout << std::left << std::setw(34) << "fixtures, first (fresh database)" << std::right << std::setw(12)
              << fixed(coldMs, 2) << std::setw(10) << withPlugins.loaded << std::setw(10) << withPlugins.refused
              << "\n";
    std::cout << std::left << std::setw(34) << "fixtures (migrated database)" << std::right << std::setw(12)
              << fixed(withMs, 2) << std::setw(10) << withPlugins.loaded << std::setw(10)
              << withPlugins.refused << "\n";
    std::cout << std::left << std::setw(34) << "empty (baseline)" << std::right << std::setw(12)
              << fixed(baseMs, 2) << std::setw(10) << baseline.loaded << std::setw(10) << baseline.refused
              << "\n";
    std::cout << "plugin load cost (fixtures - empty): " << fixed(loadDiff, 2) << " ms; worst with plugins "
              << fixed(worst, 2) << " ms (target < " << fixed(kTargetLoadMs, 0) << " ms, "
              << (worst < kTargetLoadMs ? "met" : "MISSED") << ")\n\n";

    std::cout << "headline: plugin_route_ratio=" << fixed(ratio, 3) << " plugin_ns=" << fixed(pNs, 0)
              << " kernel_ns=" << fixed(kNs, 0) << " load_ms=" << fixed(withMs, 1)
              << " load_cold_ms=" << fixed(coldMs, 1)
              << " load_plugins_ms=" << fixed(loadDiff, 1) << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "plugin_route: " << e.what() << "\n";
        return 1;
    }
}
