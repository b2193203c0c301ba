// The `ardoise` command line: serve, migrate and administer tenants, users
// and operators.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/app/application.hpp"
#include "kernel/http/json_schema.hpp"
#include "kernel/plugins/plugin_services.hpp"
#include "kernel/plugins/plugin_template.hpp"

namespace {

using ardoise::Status;
using ardoise::kernel::app::Application;
using ardoise::kernel::app::Config;
using nlohmann::json;

const char* kUsage = R"(Usage: ardoise [--config FILE] [--set key=value]... COMMAND [ARGS]

Commands:
  serve                         serve HTTP (run `migrate` first)
  migrate                       apply pending database migrations
  operator create --email E --name N [--password P]
  tenant create --slug S --name N [--locale fr|en] [--timezone TZ] [--currency XOF]
  tenant update SLUG [--name N] [--locale fr|en] [--timezone TZ] [--currency XOF]
  tenant list | show SLUG | suspend SLUG | resume SLUG | delete SLUG
  tenant apply DIR              create or update a tenant from DIR/tenant.json and DIR/users.json
                                (and DIR/plans.json, DIR/plan.json when present)
  user create --tenant S --email E --name N --roles admin[,teacher] [--password P]
  user list --tenant S
  plugin new NAME [--dir DIR]   a new plugin folder from the SDK template (default DIR: ./plugins/NAME)
  plan list | show CODE | delete CODE
  plan create --file F | --json J     a plan as JSON (see POST /api/v1/platform/plans)
  plan update CODE --file F | --json J   replace a plan's names, trial, prices, limits and features
  plan assign --tenant S --plan CODE [--interval month|year] [--currency C]
  plugin list | info NAME       plugins found on plugin_path, loaded or refused (and why)

Passwords may also come from ARDOISE_PASSWORD instead of --password.
Run `ardoise COMMAND --help` for one command; configuration keys:
)";

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    bool help = false;
};

Args parse(const std::vector<std::string>& argv) {
    Args a;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& s = argv[i];
        if (s == "--help" || s == "-h") {
            a.help = true;
        } else if (s.rfind("--", 0) == 0) {
            auto eq = s.find('=');
            if (eq != std::string::npos) {
                a.options[s.substr(2, eq - 2)] = s.substr(eq + 1);
            } else if (i + 1 < argv.size()) {
                a.options[s.substr(2)] = argv[++i];
            } else {
                a.options[s.substr(2)] = "";
            }
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

int fail(const Status& s) {
    std::cerr << "ardoise: " << s.message() << "\n";
    for (const auto& f : s.fields()) {
        std::cerr << "  " << f.pointer << ": " << f.detail << "\n";
    }
    return 1;
}

int fail(const std::string& message) {
    std::cerr << "ardoise: " << message << "\n";
    return 2;
}

std::string need(const Args& a, const std::string& key) {
    auto it = a.options.find(key);
    if (it == a.options.end() || it->second.empty()) {
        throw std::invalid_argument("missing --" + key);
    }
    return it->second;
}

std::string password(const Args& a) {
    if (auto it = a.options.find("password"); it != a.options.end()) {
        return it->second;
    }
    if (const char* env = std::getenv("ARDOISE_PASSWORD")) {
        return env;
    }
    return "";
}

void print(const json& j) { std::cout << j.dump(2) << "\n"; }

/// Validates `input` against `schema` the way the API does.
Status validate(const json& schema, const json& input) {
    auto errors = ardoise::kernel::http::validateJson(schema, input);
    if (errors.empty()) {
        return Status::ok();
    }
    Status s(ardoise::Code::kInvalidArgument, "validation", "invalid input");
    for (auto& e : errors) {
        s.addField(std::move(e));
    }
    return s;
}

std::shared_ptr<const ardoise::kernel::http::TenantContext> tenantContext(Application& app, const std::string& slug) {
    return app.tenants().resolve(slug);
}

int userCreate(Application& app, const Args& a) {
    const std::string slug = need(a, "tenant");
    auto tenant = tenantContext(app, slug);
    if (!tenant) {
        return fail("no tenant " + slug);
    }
    json input = {{"email", need(a, "email")}, {"name", need(a, "name")}, {"roles", json::array()}};
    std::stringstream roles(need(a, "roles"));
    for (std::string r; std::getline(roles, r, ',');) {
        input["roles"].push_back(r);
    }
    if (auto pw = password(a); !pw.empty()) {
        input["password"] = pw;
    }
    if (auto s = validate(ardoise::kernel::auth::AuthService::userCreateSchema(), input); !s.isOk()) {
        return fail(s);
    }
    auto user = app.auth().createUser(*tenant, input, "", {"cli", ""});
    if (!user) {
        return fail(user.status());
    }
    print(*user);
    return 0;
}

/// A JSON document from a file, or nullopt when the file is absent.
std::optional<json> readJsonFile(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        return std::nullopt;
    }
    json doc = json::parse(in, nullptr, false);
    if (doc.is_discarded()) {
        throw std::runtime_error(file.string() + " is not valid JSON");
    }
    return doc;
}

/// Creates or replaces each plan of a JSON array file (absent file: nothing).
int applyPlans(Application& app, const std::filesystem::path& file) {
    auto plans = readJsonFile(file);
    if (!plans) {
        return 0;
    }
    if (!plans->is_array()) {
        return fail(file.string() + " must be a JSON array of plans");
    }
    for (const auto& p : *plans) {
        if (auto s = validate(ardoise::kernel::billing::PlanService::createSchema(), p); !s.isOk()) {
            return fail(s);
        }
        bool created = false;
        auto plan = app.billing().plans().upsert(p, &created);
        if (!plan) {
            return fail(plan.status());
        }
        std::cout << (created ? "created plan " : "updated plan ") << (*plan)["code"].get<std::string>() << "\n";
    }
    return 0;
}

/// Puts the tenant on the plan named in a JSON file (absent file: nothing).
int applyTenantPlan(Application& app, const json& tenant, const std::filesystem::path& file) {
    auto input = readJsonFile(file);
    if (!input) {
        return 0;
    }
    if (auto s = validate(ardoise::kernel::billing::PlanService::assignSchema(), *input); !s.isOk()) {
        return fail(s);
    }
    auto sub = app.billing().plans().assign(tenant["id"], tenant["currency"], *input);
    if (!sub) {
        return fail(sub.status());
    }
    std::cout << "  plan " << (*sub)["plan"].get<std::string>() << " (" << (*sub)["status"].get<std::string>() << ")\n";
    return 0;
}

/// --file F or --json J: the plan document of `plan create|update`.
json planInput(const Args& a) {
    if (auto it = a.options.find("json"); it != a.options.end()) {
        json doc = json::parse(it->second, nullptr, false);
        if (doc.is_discarded()) {
            throw std::invalid_argument("--json is not valid JSON");
        }
        return doc;
    }
    auto doc = readJsonFile(need(a, "file"));
    if (!doc) {
        throw std::invalid_argument("cannot read " + need(a, "file"));
    }
    return *doc;
}

int planCommand(Application& app, const Args& a) {
    using ardoise::kernel::billing::PlanService;
    const std::string verb = a.positional.size() > 1 ? a.positional[1] : "";
    const std::string target = a.positional.size() > 2 ? a.positional[2] : "";
    auto& plans = app.billing().plans();
    ardoise::Result<json> r = Status();
    if (verb == "list") {
        const json all = plans.list();
        for (const auto& p : all["items"]) {
            std::string prices;
            for (const auto& price : p["prices"]) {
                prices += (prices.empty() ? "" : ", ") + price["formatted"]["en"].get<std::string>() + "/" +
                          price["interval"].get<std::string>() + (price["per_student"].get<bool>() ? " per student" : "");
            }
            std::cout << p["code"].get<std::string>() << "\t" << p["name"]["fr"].get<std::string>() << "\t"
                      << (prices.empty() ? "no price" : prices) << "\n";
        }
        return 0;
    }
    if (verb == "create") {
        const json input = planInput(a);
        if (auto s = validate(PlanService::createSchema(), input); !s.isOk()) {
            return fail(s);
        }
        r = plans.create(input);
    } else if (verb == "assign") {
        auto tenant = app.tenants().get(need(a, "tenant"));
        if (!tenant) {
            return fail(tenant.status());
        }
        json input = {{"plan", need(a, "plan")}};
        for (const auto& key : {"interval", "currency"}) {
            if (a.options.count(key) != 0) {
                input[key] = a.options.at(key);
            }
        }
        if (auto s = validate(PlanService::assignSchema(), input); !s.isOk()) {
            return fail(s);
        }
        r = plans.assign((*tenant)["id"], (*tenant)["currency"], input);
    } else if (target.empty()) {
        return fail("plan " + verb + " needs a plan code (see --help)");
    } else if (verb == "show") {
        r = plans.get(target);
    } else if (verb == "update") {
        const json input = planInput(a);
        if (auto s = validate(PlanService::replaceSchema(), input); !s.isOk()) {
            return fail(s);
        }
        r = plans.replace(target, input);
    } else if (verb == "delete") {
        if (auto s = plans.remove(target); !s.isOk()) {
            return fail(s);
        }
        std::cout << "deleted plan " << target << "\n";
        return 0;
    } else {
        return fail("unknown plan command " + verb);
    }
    if (!r) {
        return fail(r.status());
    }
    print(*r);
    return 0;
}

int tenantApply(Application& app, const std::string& dir) {
    namespace fs = std::filesystem;
    std::ifstream tin(fs::path(dir) / "tenant.json");
    if (!tin) {
        return fail("cannot read " + (fs::path(dir) / "tenant.json").string());
    }
    json tenantDef = json::parse(tin, nullptr, false);
    if (tenantDef.is_discarded()) {
        return fail("tenant.json is not valid JSON");
    }
    if (auto s = validate(ardoise::kernel::tenancy::TenantService::createSchema(), tenantDef); !s.isOk()) {
        return fail(s);
    }
    if (int rc = applyPlans(app, fs::path(dir) / "plans.json"); rc != 0) {
        return rc;
    }
    bool created = false;
    auto tenant = app.tenants().upsert(tenantDef, &created);
    if (!tenant) {
        return fail(tenant.status());
    }
    std::cout << (created ? "created" : "updated") << " tenant " << (*tenant)["slug"].get<std::string>() << "\n";
    auto ctx = tenantContext(app, (*tenant)["slug"]);
    if (int rc = applyTenantPlan(app, *tenant, fs::path(dir) / "plan.json"); rc != 0) {
        return rc;
    }
    std::ifstream uin(fs::path(dir) / "users.json");
    json users = uin ? json::parse(uin, nullptr, false) : json::array();
    if (!users.is_array()) {
        return fail("users.json must be a JSON array of users");
    }
    for (const auto& u : users) {
        if (auto s = validate(ardoise::kernel::auth::AuthService::userCreateSchema(), u); !s.isOk()) {
            return fail(s);
        }
        bool userCreated = false;
        auto user = app.auth().createUser(*ctx, u, "", {"cli", ""}, &userCreated);
        if (!user) {
            return fail(user.status());
        }
        std::cout << (userCreated ? "  created user " : "  updated user ") << (*user)["email"].get<std::string>() << "\n";
    }
    // plugins.json: the plugins the school uses, allowed and enabled.
    std::ifstream pin(fs::path(dir) / "plugins.json");
    json plugins = pin ? json::parse(pin, nullptr, false) : json::array();
    if (!plugins.is_array()) {
        return fail("plugins.json must be a JSON array of plugin names");
    }
    for (const auto& name : plugins) {
        if (!name.is_string()) {
            return fail("plugins.json must be a JSON array of plugin names");
        }
        auto allowed = app.enablement().setAllowed(ctx->id, name, true);
        auto enabled = allowed ? app.enablement().configure(ctx->id, name, {{"enabled", true}}) : allowed;
        if (!enabled) {
            return fail(enabled.status());
        }
        std::cout << "  enabled plugin " << name.get<std::string>() << "\n";
    }
    auto scripts = app.scripts().applyFolder(ctx->id, (fs::path(dir) / "scripts").string());
    if (!scripts) {
        return fail(scripts.status());
    }
    if (*scripts > 0) {
        std::cout << "  applied " << *scripts << " scripts\n";
    }
    return 0;
}

int tenantCommand(Application& app, const Args& a) {
    const std::string verb = a.positional.size() > 1 ? a.positional[1] : "";
    const std::string target = a.positional.size() > 2 ? a.positional[2] : "";
    auto& tenants = app.tenants();
    if (verb == "create") {
        json input = {{"slug", need(a, "slug")}, {"name", need(a, "name")}};
        for (const auto& key : {"locale", "timezone", "currency"}) {
            if (a.options.count(key) != 0) {
                input[key] = a.options.at(key);
            }
        }
        if (auto s = validate(ardoise::kernel::tenancy::TenantService::createSchema(), input); !s.isOk()) {
            return fail(s);
        }
        auto t = tenants.create(input);
        if (!t) {
            return fail(t.status());
        }
        print(*t);
        return 0;
    }
    if (verb == "list") {
        std::string cursor;
        do {
            auto page = tenants.list(100, cursor, "");
            for (const auto& t : page["items"]) {
                std::cout << t["slug"].get<std::string>() << "\t" << t["status"].get<std::string>() << "\t"
                          << t["name"].get<std::string>() << "\n";
            }
            cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
        } while (!cursor.empty());
        return 0;
    }
    if (verb == "apply") {
        return target.empty() ? fail("tenant apply needs a folder") : tenantApply(app, target);
    }
    if (target.empty()) {
        return fail("tenant " + verb + " needs a slug (see --help)");
    }
    ardoise::Result<json> r = Status();
    if (verb == "show") {
        r = tenants.get(target);
    } else if (verb == "update") {
        json patch = json::object();
        for (const auto& key : {"name", "locale", "timezone", "currency"}) {
            if (a.options.count(key) != 0) {
                patch[key] = a.options.at(key);
            }
        }
        if (auto s = validate(ardoise::kernel::tenancy::TenantService::updateSchema(), patch); !s.isOk()) {
            return fail(s);
        }
        r = tenants.update(target, patch);
    } else if (verb == "suspend") {
        r = tenants.setStatus(target, "suspended");
    } else if (verb == "resume") {
        r = tenants.setStatus(target, "active");
    } else if (verb == "delete") {
        auto archive = tenants.remove(target);
        if (!archive) {
            return fail(archive.status());
        }
        std::cout << "exported to " << *archive << " and deleted\n";
        return 0;
    } else {
        return fail("unknown tenant command " + verb);
    }
    if (!r) {
        return fail(r.status());
    }
    print(*r);
    return 0;
}

int pluginNew(const Config& config, const Args& a) {
    namespace fs = std::filesystem;
    if (a.positional.size() != 3) {
        return fail("plugin new needs exactly one NAME (see --help)");
    }
    const std::string name = a.positional[2];
    fs::path dir = fs::path("plugins") / name;
    if (auto it = a.options.find("dir"); it != a.options.end()) {
        if (it->second.empty()) {
            return fail("--dir needs a folder");
        }
        dir = it->second;
    }
    const fs::path templateDir = fs::path(config.shareDir) / "sdk" / "template";
    auto created = ardoise::kernel::plugins::createPluginFromTemplate(templateDir, name, dir);
    if (!created) {
        return fail(created.status());
    }
    std::cout << "created plugin " << name << " in " << created->folder.string() << "\n";
    for (const auto& f : created->files) {
        std::cout << "  " << f.generic_string() << "\n";
    }
    std::cout << "\nBuild it against an installed SDK (cmake --install of Ardoise, prefix P):\n"
              << "  cmake -S " << dir.string() << " -B " << (dir / "build").string() << " -DCMAKE_PREFIX_PATH=P\n"
              << "  cmake --build " << (dir / "build").string() << "\n"
              << "then serve with ARDOISE_PLUGIN_PATH=" << (fs::absolute(dir) / "build" / "plugins").string() << "\n"
              << "Inside the Ardoise source tree, a folder under plugins/ is built with the rest.\n";
    return 0;
}

/// `plugin list` and `plugin info NAME`: what the host found, loaded or not.
int pluginCommand(Application& app, const Args& a) {
    const std::string verb = a.positional.size() > 1 ? a.positional[1] : "";
    const auto all = app.plugins().describe()["items"];
    if (verb == "list") {
        for (const auto& p : all) {
            std::cout << p["name"].get<std::string>() << "\t" << p["version"].get<std::string>() << "\t"
                      << (p["loaded"].get<bool>() ? "loaded" : "refused: " + p["reason"].get<std::string>()) << "\n";
        }
        return 0;
    }
    if (verb == "info" && a.positional.size() == 3) {
        for (const auto& p : all) {
            if (p["name"] == a.positional[2]) {
                print(p);
                return 0;
            }
        }
        return fail("no plugin named " + a.positional[2] + " in " + app.config().pluginPath);
    }
    return fail("unknown plugin command (see ardoise --help)");
}

int serve(Application& app) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // threads started below inherit the mask
    if (auto s = app.start(); !s.isOk()) {
        return fail(s);
    }
    std::cout << "Ardoise " ARDOISE_VERSION " listening on http://" << app.config().host() << ":" << app.port()
              << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    std::cout << "stopping" << std::endl;
    app.stop();
    return 0;
}

int run(const std::vector<std::string>& argv) {
    Args args = parse(argv);
    const std::string command = args.positional.empty() ? "" : args.positional[0];
    if (command.empty()) {
        std::cout << kUsage << Config::describe();
        return args.help ? 0 : 2;
    }
    if (args.help) {
        std::cout << kUsage;
        return 0;
    }
    std::vector<std::string> overrides;
    if (auto it = args.options.find("set"); it != args.options.end()) {
        overrides.push_back(it->second);
    }
    auto config = ardoise::kernel::app::loadConfig(args.options.count("config") ? args.options["config"] : "", overrides);
    if (!config) {
        return fail(config.status());
    }
    if (command != "serve") {
        config->accessLog = false;
        config->outbox = false;
        ardoise::kernel::plugins::setPluginLogThreshold(ardoise::LogLevel::kWarning);  // keep CLI output parseable
    }
    if (command == "plugin" && args.positional.size() > 1 && args.positional[1] == "new") {
        return pluginNew(*config, args);
    }
    Application app(*config);
    if (command == "plugin") {
        return pluginCommand(app, args);
    }
    if (command == "migrate") {
        if (auto s = app.migrate(); !s.isOk()) {
            return fail(s);
        }
        std::cout << "migrations up to date\n";
        return 0;
    }
    if (command == "serve") {
        return serve(app);
    }
    if (command == "operator" && args.positional.size() > 1 && args.positional[1] == "create") {
        auto op = app.auth().createOperator(need(args, "email"), need(args, "name"), password(args));
        if (!op) {
            return fail(op.status());
        }
        print(*op);
        return 0;
    }
    if (command == "tenant") {
        return tenantCommand(app, args);
    }
    if (command == "plan") {
        return planCommand(app, args);
    }
    if (command == "user" && args.positional.size() > 1) {
        if (args.positional[1] == "create") {
            return userCreate(app, args);
        }
        if (args.positional[1] == "list") {
            auto tenant = tenantContext(app, need(args, "tenant"));
            if (!tenant) {
                return fail("no tenant " + need(args, "tenant"));
            }
            std::string cursor;
            do {
                auto page = app.auth().listUsers(*tenant, 100, cursor, "", "");
                for (const auto& u : page["items"]) {
                    std::cout << u["id"].get<std::string>() << "\t" << u["email"].get<std::string>() << "\t"
                              << u["status"].get<std::string>() << "\t" << u["roles"].dump() << "\n";
                }
                cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
            } while (!cursor.empty());
            return 0;
        }
    }
    return fail("unknown command: " + command + " (see ardoise --help)");
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::invalid_argument& e) {
        return fail(std::string(e.what()) + " (see ardoise --help)");
    } catch (const std::exception& e) {
        std::cerr << "ardoise: " << e.what() << "\n";
        return 1;
    }
}
