#include "kernel/http/openapi.hpp"

#include <algorithm>

namespace ardoise::kernel::http {
namespace {

using nlohmann::json;

std::string operationId(const Route& r) {
    std::string id = r.method;
    std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
    for (char c : r.pattern) {
        id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    }
    return id;
}

json problemRef(const std::string& description) {
    return {{"description", description},
            {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
}

}  // namespace

json buildOpenApi(const Router& router, const std::string& version) {
    json doc = {
        {"openapi", "3.1.0"},
        {"info",
         {{"title", "Ardoise API"},
          {"version", version},
          {"description", "Multi-tenant school platform. Tenant routes need the X-Tenant header (or the school's "
                          "own host name); errors are RFC 9457 problem+json."}}},
        {"servers", json::array({{{"url", "/"}}})},
        {"paths", json::object()},
        {"components",
         {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}},
          {"parameters",
           {{"XTenant",
             {{"name", "X-Tenant"},
              {"in", "header"},
              {"required", false},
              {"description", "School slug (alternative: <slug>.<base domain> host name)"},
              {"schema", {{"type", "string"}, {"pattern", "^[a-z0-9-]{3,40}$"}}}}}}},
          {"schemas",
           {{"Problem",
             {{"type", "object"},
              {"required", json::array({"type", "title", "status"})},
              {"properties",
               {{"type", {{"type", "string"}}},
                {"title", {{"type", "string"}}},
                {"status", {{"type", "integer"}}},
                {"detail", {{"type", "string"}}},
                {"instance", {{"type", "string"}}},
                {"request_id", {{"type", "string"}}},
                {"errors",
                 {{"type", "array"},
                  {"items",
                   {{"type", "object"},
                    {"properties",
                     {{"pointer", {{"type", "string"}}},
                      {"reason", {{"type", "string"}}},
                      {"detail", {{"type", "string"}}}}}}}}}}}}}}}}},
    };
    for (const auto& r : router.routes()) {
        json op = {{"operationId", operationId(*r)},
                   {"summary", r->summary},
                   {"tags", json::array({r->tag.empty() ? "system" : r->tag})},
                   {"responses", json::object()}};
        json params = json::array();
        for (const auto& seg : splitPath(r->pattern)) {
            if (seg.size() > 2 && seg.front() == '{') {
                params.push_back({{"name", seg.substr(1, seg.size() - 2)},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", {{"type", "string"}}}});
            }
        }
        if (r->access == Access::kTenantPublic || r->access == Access::kTenantUser) {
            params.push_back({{"$ref", "#/components/parameters/XTenant"}});
        }
        if (!params.empty()) {
            op["parameters"] = params;
        }
        if (r->access == Access::kTenantUser || r->access == Access::kOperator) {
            op["security"] = json::array({{{"bearer", json::array()}}});
        }
        if (!r->permission.empty()) {
            op["x-permission"] = r->permission;
        }
        if (!r->requestSchema.is_null()) {
            op["requestBody"] = {{"required", true},
                                 {"content", {{"application/json", {{"schema", r->requestSchema}}}}}};
        }
        json success = {{"description", "Success"}};
        if (!r->responseSchema.is_null()) {
            success["content"] = {{"application/json", {{"schema", r->responseSchema}}}};
        }
        op["responses"][std::to_string(r->successStatus)] = success;
        op["responses"]["default"] = problemRef("Error (problem+json)");
        std::string method = r->method;
        std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
        doc["paths"][r->pattern][method] = op;
    }
    return doc;
}

}  // namespace ardoise::kernel::http
