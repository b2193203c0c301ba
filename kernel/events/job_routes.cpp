// Routes about a school's background jobs: status, progress, result, cancel.
#include "kernel/app/application.hpp"

#include <chrono>
#include <thread>

namespace ardoise::kernel::app {

using http::Access;
using http::Request;
using http::Response;
using nlohmann::json;

namespace {

bool finished(const json& job) {
    const std::string status = job.value("status", "");
    return status == "succeeded" || status == "failed" || status == "canceled";
}

// Polls the job (no connection held between polls) and sends what changed; a
// comment now and then finds out whether the client is still there.
void streamJob(events::JobQueue& jobs, const std::string& tenant, const std::string& id, json job,
               const Response::Writer& write) {
    constexpr auto kPoll = std::chrono::milliseconds(250);
    constexpr int kPollsPerComment = 8;
    constexpr auto kMaxStream = std::chrono::minutes(30);  // clients reconnect (EventSource does)
    const auto until = std::chrono::steady_clock::now() + kMaxStream;
    if (!write("retry: 2000\nevent: job\ndata: " + job.dump() + "\n\n")) {
        return;
    }
    for (int polls = 1; !finished(job) && std::chrono::steady_clock::now() < until; ++polls) {
        std::this_thread::sleep_for(kPoll);
        auto now = jobs.get(tenant, id);
        if (!now) {
            write("event: error\ndata: " + json{{"title", now.status().message()}}.dump() + "\n\n");
            return;
        }
        if (*now != job) {
            job = std::move(*now);
            if (!write("event: job\ndata: " + job.dump() + "\n\n")) {
                return;
            }
        } else if (polls % kPollsPerComment == 0 && !write(": waiting\n\n")) {
            return;
        }
    }
    if (finished(job)) {
        write("event: end\ndata: " + job.dump() + "\n\n");
    }
}

}  // namespace

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
    router.add({.method = "GET",
                .pattern = "/api/v1/jobs/{id}/events",
                .access = Access::kTenantUser,
                .permission = "jobs.read",
                .summary = "One job as a stream of server-sent events (text/event-stream): `job` with the job each "
                           "time its status or progress changes, then `end` once it has finished",
                .tag = "jobs",
                .handler = [&jobs](Request& r) -> Result<Response> {
                    auto first = jobs.get(r.tenant->id, r.param("id"));
                    if (!first) {
                        return first.status();
                    }
                    Response out;
                    out.contentType = "text/event-stream";
                    out.stream = [&jobs, tenant = r.tenant->id, id = r.param("id"), last = *first](
                                     const Response::Writer& write) mutable {
                        streamJob(jobs, tenant, id, std::move(last), write);
                    };
                    return out;
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
