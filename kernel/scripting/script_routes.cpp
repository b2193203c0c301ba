// Routes of the school's scripts: manage, validate, try, read runs, catalog.
#include "kernel/app/application.hpp"

namespace ardoise::kernel::app {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;

void registerScriptRoutes(http::Router& router, scripting::ScriptHost& scripts) {
    auto route = [&router](std::string method, std::string pattern, std::string summary, http::Handler handler,
                           json requestSchema = nullptr, int success = 200) {
        router.add({.method = std::move(method),
                    .pattern = "/api/v1/scripts" + pattern,
                    .access = Access::kTenantUser,
                    .permission = "scripts.manage",
                    .summary = std::move(summary),
                    .tag = "scripts",
                    .requestSchema = std::move(requestSchema),
                    .responseSchema = {{"type", "object"}},
                    .successStatus = success,
                    .handler = std::move(handler)});
    };
    const auto author = [](const Request& r) { return r.principal->id; };
    route("GET", "", "The school's scripts", [&scripts](Request& r) -> Result<Response> {
        return http::jsonResponse(scripts.list(r.tenant->id));
    });
    route("POST", "", "Create a script (checked: syntax and top level, with line numbers)",
          [&scripts, author](Request& r) -> Result<Response> {
              return http::jsonResponse(scripts.create(r.tenant->id, r.json, author(r)), 201);
          },
          scripting::ScriptHost::createSchema(), 201);
    route("POST", "/validate", "Check a script without saving it: errors with lines, and its triggers",
          [&scripts](Request& r) -> Result<Response> {
              return Response::json(200, scripts.validate(r.tenant->id, r.json["source"], r.json.value("settings", json::object())));
          },
          {{"type", "object"},
           {"additionalProperties", false},
           {"required", {"source"}},
           {"properties", {{"source", {{"type", "string"}, {"maxLength", 65536}}}, {"settings", {{"type", "object"}}}}}});
    route("GET", "/catalog", "Ready workflows a school can install with its own settings",
          [&scripts](Request&) -> Result<Response> { return Response::json(200, scripts.catalog()); });
    route("POST", "/catalog/{workflow}", "Install a workflow of the catalog with settings",
          [&scripts, author](Request& r) -> Result<Response> {
              return http::jsonResponse(scripts.install(r.tenant->id, r.param("workflow"), r.json, author(r)), 201);
          },
          {{"type", "object"},
           {"additionalProperties", false},
           {"properties",
            {{"name", {{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9_-]{0,59}$"}}},
             {"settings", {{"type", "object"}}},
             {"enabled", {{"type", "boolean"}}}}}},
          201);
    route("GET", "/{id}", "One script with its source", [&scripts](Request& r) -> Result<Response> {
        return http::jsonResponse(scripts.get(r.tenant->id, r.param("id")));
    });
    route("PUT", "/{id}", "Change a script's source, settings, description or enabled state (a new version when the "
                          "source or settings change)",
          [&scripts, author](Request& r) -> Result<Response> {
              return http::jsonResponse(scripts.update(r.tenant->id, r.param("id"), r.json, author(r)));
          },
          scripting::ScriptHost::updateSchema());
    route("DELETE", "/{id}", "Delete a script, its versions and schedules", [&scripts](Request& r) -> Result<Response> {
        if (auto s = scripts.remove(r.tenant->id, r.param("id")); !s.isOk()) {
            return s;
        }
        return Response::noContent();
    }, nullptr, 204);
    route("GET", "/{id}/versions", "Every version of a script, newest first, with author and time",
          [&scripts](Request& r) -> Result<Response> {
              return http::jsonResponse(scripts.versions(r.tenant->id, r.param("id")));
          });
    route("POST", "/{id}/dry-run",
          "Run the script's handler for a sample event ({event: {name, payload}}), schedule ({every}) or filter "
          "({filter, data}) and return what it would do; nothing is changed",
          [&scripts](Request& r) -> Result<Response> {
              return http::jsonResponse(scripts.dryRun(r.tenant->id, r.param("id"), r.json));
          },
          {{"type", "object"},
           {"additionalProperties", false},
           {"minProperties", 1},
           {"maxProperties", 2},
           {"properties",
            {{"event",
              {{"type", "object"},
               {"additionalProperties", false},
               {"required", {"name"}},
               {"properties", {{"name", {{"type", "string"}, {"maxLength", 100}}}, {"payload", {{"type", "object"}}}}}}},
             {"every", {{"type", "string"}, {"maxLength", 100}}},
             {"filter", {{"type", "string"}, {"maxLength", 100}}},
             {"data", {{"type", "object"}}}}}});
    route("GET", "/{id}/runs", "The script's runs, newest first (?limit, ?cursor): status, duration, instructions, "
                               "memory, error with line",
          [&scripts](Request& r) -> Result<Response> {
              auto limit = pageLimit(r);
              if (!limit) {
                  return limit.status();
              }
              return http::jsonResponse(scripts.runs(r.tenant->id, r.param("id"), *limit, r.queryParam("cursor")));
          });
}

}  // namespace ardoise::kernel::app
