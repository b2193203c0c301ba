#pragma once
// What the platform does for a plugin on behalf of one school: its data,
// events, jobs, settings, templates, notifications, logs and metrics.
//
// A TenantServices is handed to route handlers (`request.services`), event
// handlers, jobs and Lua functions; it is bound to one tenant and one plugin
// and belongs to the thread it was handed to. Nothing here throws; failures
// are Statuses.

#include <ardoise/database.hpp>
#include <ardoise/http.hpp>
#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ardoise {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

/// Counters and gauges exported on /metrics as
/// `ardoise_plugin_<plugin>_<name>{labels}`. `name` matches [a-z][a-z0-9_]*;
/// keep label values few (never a user id). Thread-safe.
class Metrics {
public:
    using Labels = std::map<std::string, std::string>;
    virtual ~Metrics() = default;
    virtual void increment(const std::string& name, const Labels& labels = {}, double by = 1) = 0;
    virtual void set(const std::string& name, const Labels& labels, double value) = 0;
};

/// Something that happened, delivered to every subscriber at least once.
struct Event {
    std::string id;          ///< unique: the idempotency key of its handling
    std::string name;        ///< "<plugin>.<what>", e.g. "announcements.published"
    std::string tenantId;
    std::string source;      ///< the plugin that published it, or "kernel"
    nlohmann::json payload;  ///< a JSON object
    std::int64_t occurredAt = 0;  ///< Unix seconds
    int attempt = 1;         ///< 1 on first delivery to this subscriber
};

/// Options of a background job.
struct JobOptions {
    std::int64_t delaySeconds = 0;  ///< run no earlier than this many seconds from now
    int maxAttempts = 5;            ///< 1–20; failures are retried with exponential backoff
    /// When set, a second job with the same key for this school, while one is
    /// pending or running, is not queued: enqueue returns the existing job's id.
    std::string uniqueKey;
    /// Jobs with the same serial key run one at a time per school.
    std::string serialKey;
};

/// A job as its handler sees it.
struct Job {
    std::string id;
    std::string name;  ///< "<plugin>.<job>"
    std::string tenantId;
    nlohmann::json payload;
    int attempt = 1;
    int maxAttempts = 1;
};

/// The running job's link to the queue.
class JobControl {
public:
    virtual ~JobControl() = default;
    /// Publishes progress, readable over GET /api/v1/jobs/{id} (e.g.
    /// {"done": 120, "total": 400}); also renews the job's lease. Cheap to
    /// call often: writes are throttled.
    virtual void progress(const nlohmann::json& progress) = 0;
    /// True once someone asked to cancel; the handler should stop soon and
    /// return Status(Code::kCancelled, ...) or a partial result.
    virtual bool cancelRequested() = 0;
};

/// An email to a user of the school, rendered from the plugin's
/// `templates/email/<template>.<locale>.mustache` (a "Subject: …" line, a
/// blank line, the body) in the user's language.
struct Notification {
    std::string userId;        ///< a user of this school
    std::string templateName;  ///< e.g. "published"
    nlohmann::json data = nlohmann::json::object();
};

class TenantServices {
public:
    virtual ~TenantServices() = default;

    /// The school this is bound to.
    virtual const TenantContext& tenant() const = 0;
    /// The school's data (see database.hpp).
    virtual TenantDatabase& db() = 0;

    /// Publishes `name` (declared under events.emits of the manifest). Inside
    /// db().transaction(...) the event is stored with the transaction and
    /// exists only if it commits; subscribers run later, on another thread.
    /// Errors: kInvalidArgument (undeclared name, payload not an object).
    virtual Status publish(const std::string& name, const nlohmann::json& payload) = 0;

    /// Queues the job `<plugin>.<job>` registered with PluginContext::addJob;
    /// the job's id. Transactional like publish. Errors: kInvalidArgument
    /// (unknown job, bad options).
    virtual Result<std::string> enqueue(const std::string& job, const nlohmann::json& payload,
                                        const JobOptions& options = {}) = 0;

    /// This school's settings of the plugin, with the schema's defaults filled in.
    virtual Result<nlohmann::json> settings() = 0;

    /// Renders the plugin's `templates/<name>.<locale>.mustache` (falling back
    /// to English). Values are HTML-escaped unless written {{{triple}}}.
    /// Errors: kNotFound (no template), kInvalidArgument (syntax).
    virtual Result<std::string> render(const std::string& name, const std::string& locale,
                                       const nlohmann::json& data) = 0;

    /// Queues an email through the durable outbox (transactional like
    /// publish). Errors: kNotFound (no such user), kFailedPrecondition (the
    /// user has no email or is inactive), template errors as for render.
    virtual Status notify(const Notification& notification) = 0;

    /// Calls a function another plugin exports (see LuaFunction), e.g.
    /// call("school.may_see_student", {{"user_id", …}, {"student_id", …}}),
    /// for this school. The callee's plugin must be listed under `requires`
    /// of this plugin's manifest and enabled for the school. Errors:
    /// kNotFound (unknown, not required, or not enabled), kInvalidArgument
    /// (arguments), or the callee's own.
    virtual Result<nlohmann::json> call(const std::string& function, const nlohmann::json& args) = 0;

    /// Asks the school's scripts before something happens: runs the
    /// handlers of filter("<plugin>.<hook>", …) with `data` under a tight
    /// deadline. Returns `data` with the `adjustable` fields a script changed,
    /// or kFailedPrecondition "rejected-by-school-rule" with the script's
    /// message (show it to the user). When a script errs or overruns, the
    /// hook fails open (the data unchanged) unless `failClosed`, which
    /// answers kUnavailable. Name the hook and document it in the plugin's
    /// README: scripts write filter("announcements.before_publish", fn).
    virtual Result<nlohmann::json> filter(const std::string& hook, const nlohmann::json& data,
                                          const std::vector<std::string>& adjustable, bool failClosed = false) = 0;

    virtual void log(LogLevel level, const std::string& message) = 0;
    virtual Metrics& metrics() = 0;

    // Quotas and usage (SDK 0.2, added with billing). Limits come from the
    // school's plan; a school without a plan, or a limit the plan leaves
    // open, is unlimited.

    /// May the school add `adding` more of what `limit` counts? Limits:
    /// "students", "staff", "storage_mb" (running totals) and "sms" (this
    /// month; also spelled "sms_per_month"). Call before creating; then
    /// recordUsage() once created. Errors: kPermissionDenied
    /// "quota-exceeded" (extras: limit, max, used, adding, plan and, when a
    /// plan lifts it, upgrade_plan), kInvalidArgument "unknown-limit".
    /// Return the Status as is: it becomes a clear problem for the user.
    virtual Status checkQuota(const std::string& limit, std::int64_t adding) {
        (void)limit;
        (void)adding;
        return Status(Code::kUnavailable, "quota-unavailable", "This host does not meter usage.");
    }

    /// Adds `amount` to the school's usage of `metric`: "students",
    /// "staff", "storage_mb" (may be negative when something is removed;
    /// never below 0), "sms", "api_calls" (counted per month; only
    /// positive). Inside db().transaction(...) it commits or rolls back with
    /// it. Errors: kInvalidArgument "unknown-metric" / "invalid-usage".
    virtual Status recordUsage(const std::string& metric, std::int64_t amount) {
        (void)metric;
        (void)amount;
        return Status(Code::kUnavailable, "quota-unavailable", "This host does not meter usage.");
    }

    // Documents (SDK 0.2, added with timetables).

    /// A printable PDF (A4, Helvetica, Windows-1252: French text renders;
    /// other characters become '?') of `lines` of UTF-8 text, wrapped at 95
    /// characters, 52 lines a page, with `title` as the document's title.
    /// Thread-safe. Errors: kUnavailable "pdf-unavailable" on a host without
    /// a PDF writer (the default).
    virtual Result<std::string> textToPdf(const std::vector<std::string>& lines, const std::string& title) {
        (void)lines;
        (void)title;
        return Status(Code::kUnavailable, "pdf-unavailable", "This host does not write PDF documents.");
    }

    // Time (SDK 0.3).

    /// The school's UTC offset in seconds at Unix time `utc`, from its IANA
    /// timezone (`tenant().timezone`) and the host's zoneinfo; 0 when the
    /// zone is unknown (the default).
    virtual std::int64_t utcOffset(std::int64_t utc) {
        (void)utc;
        return 0;
    }
};

using EventHandler = std::function<Status(const Event&, TenantServices&)>;
/// Returns the job's result (stored, readable over the API) or its failure.
using JobHandler = std::function<Result<nlohmann::json>(const Job&, TenantServices&, JobControl&)>;

/// A function scripts call as `<lua_module>.<name>{...}`.
struct LuaFunction {
    std::string name;     ///< [a-z][a-z0-9_]*
    std::string summary;  ///< one line, English
    /// Read-only functions run during a script's dry run; the others are only
    /// recorded there ("would call announcements.publish{…}").
    bool readOnly = false;
    nlohmann::json argsSchema = nlohmann::json::object();  ///< JSON Schema of the single table argument
    std::function<Result<nlohmann::json>(TenantServices&, const nlohmann::json& args)> call;
};

}  // namespace ardoise
