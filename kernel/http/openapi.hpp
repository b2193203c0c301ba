#pragma once
#include <nlohmann/json.hpp>

#include "kernel/http/router.hpp"

namespace ardoise::kernel::http {

/// The OpenAPI 3.1 document of every registered route, built from the routes
/// themselves so that nothing registered can be missing from it.
nlohmann::json buildOpenApi(const Router& router, const std::string& version);

}  // namespace ardoise::kernel::http
