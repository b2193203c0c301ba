#pragma once
// The kernel uses the SDK's HTTP types, so kernel and plugin handlers are
// written the same way; Poco stays in server.cpp.

#include <ardoise/http.hpp>

namespace ardoise::kernel::http {

using ardoise::Access;
using ardoise::Handler;
using ardoise::Headers;
using ardoise::jsonResponse;
using ardoise::pageLimit;
using ardoise::Principal;
using ardoise::Request;
using ardoise::Response;
using ardoise::Route;
using ardoise::TenantContext;

}  // namespace ardoise::kernel::http
