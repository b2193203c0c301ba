// Routes about a school's background jobs: status, progress, result, cancel.
#include "kernel/app/application.hpp"

namespace ardoise::kernel::app {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;

void registerJobRoutes(http::Router& router, events::JobQueue& jobs) {
    const json list = {{"type", "object"},
                       {"properties",
                        {{"items", {{"type", "array"}, {"items", events::JobQueue::jobSchema()}}},
                         {"next_cursor", {{"type", {"string", "null"}}}}}}};
    router.add({.method = "GET",
                .pattern = "/api/v1/jobs",
                .access = Access::kTenantUser,
                .permission = "jobs.read",
                .summary = "The school's background jobs, newest first (?limit, ?cursor, ?status)",
                .tag = "jobs",
                .responseSchema = list,
                .handler = [&jobs](Request& r) -> Result<Response> {
                    auto limit = pageLimit(r);
                    if (!limit) {
                        return limit.status();
                    }
                    const std::string status = r.queryParam("status");
                    static const std::set<std::string> statuses = {"", "pending", "running", "succeeded", "failed",
                                                                   "canceled"};
                    if (statuses.count(status) == 0) {
                        return Status(Code::kInvalidArgument, "validation", "Unknown job status.")
                            .addField({"/status", "enum", "pending, running, succeeded, failed or canceled"});
                    }
                    return http::jsonResponse(jobs.list(r.tenant->id, *limit, r.queryParam("cursor"), status));
                }});
    router.add({.method = "GET",
                .pattern = "/api/v1/jobs/{id}",
                .access = Access::kTenantUser,
                .permission = "jobs.read",
                .summary = "One job: status, attempts, progress, result or error",
                .tag = "jobs",
                .responseSchema = events::JobQueue::jobSchema(),
                .handler = [&jobs](Request& r) -> Result<Response> {
                    return http::jsonResponse(jobs.get(r.tenant->id, r.param("id")));
                }});
    router.add({.method = "POST",
                .pattern = "/api/v1/jobs/{id}/cancel",
                .access = Access::kTenantUser,
                .permission = "jobs.manage",
                .summary = "Cancel a job: at once when pending, at its next check when running",
                .tag = "jobs",
                .responseSchema = events::JobQueue::jobSchema(),
                .handler = [&jobs](Request& r) -> Result<Response> {
                    return http::jsonResponse(jobs.cancel(r.tenant->id, r.param("id")));
                }});
}

}  // namespace ardoise::kernel::app
