#pragma once
// Status and Result<T>: how Ardoise reports expected failures.
//
// A Status carries a code from a closed set, a stable machine string
// (`type`, e.g. "tenant-suspended") and a human message. The kernel maps a
// Status to an RFC 9457 problem+json response in exactly one place; plugins
// return them and never throw across the plugin boundary.

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ardoise {

/// The closed set of failure kinds. Each maps to one HTTP status.
enum class Code {
    kOk,
    kInvalidArgument,     ///< 400 (422 when field errors are attached)
    kUnauthenticated,     ///< 401
    kPermissionDenied,    ///< 403
    kNotFound,            ///< 404
    kMethodNotAllowed,    ///< 405
    kConflict,            ///< 409
    kPayloadTooLarge,     ///< 413
    kHeadersTooLarge,     ///< 431
    kUnsupportedMedia,    ///< 415
    kRateLimited,         ///< 429
    kFailedPrecondition,  ///< 412/409-like state errors, mapped to 409
    kUnavailable,         ///< 503
    kInternal,            ///< 500
};

/// One invalid field of a request body: a JSON pointer and the reason.
struct FieldError {
    std::string pointer;  ///< e.g. "/email"
    std::string reason;   ///< stable message key, e.g. "required", "type", "format"
    std::string detail;   ///< human text (already localized when produced by the kernel)
};

/// An expected failure, or success. Cheap to copy.
class Status {
public:
    Status() = default;
    Status(Code code, std::string type, std::string message)
        : code_(code), type_(std::move(type)), message_(std::move(message)) {}

    static Status ok() { return {}; }

    bool isOk() const { return code_ == Code::kOk; }
    Code code() const { return code_; }
    /// Stable machine string, also the last segment of the problem `type` URI.
    const std::string& type() const { return type_; }
    /// Human message (English unless the producer localized it).
    const std::string& message() const { return message_; }
    const std::vector<FieldError>& fields() const { return fields_; }

    Status& addField(FieldError error) {
        fields_.push_back(std::move(error));
        return *this;
    }
    /// Extra key/value pairs placed in the problem body (e.g. "retry_after").
    const std::vector<std::pair<std::string, std::string>>& extras() const { return extras_; }
    Status& addExtra(std::string key, std::string value) {
        extras_.emplace_back(std::move(key), std::move(value));
        return *this;
    }

private:
    Code code_ = Code::kOk;
    std::string type_;
    std::string message_;
    std::vector<FieldError> fields_;
    std::vector<std::pair<std::string, std::string>> extras_;
};

/// A value or the Status explaining why there is none.
template <typename T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
    Result(Status status) : v_(std::move(status)) {}     // NOLINT(google-explicit-constructor)

    bool isOk() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return isOk(); }
    /// Precondition: isOk().
    T& value() { return std::get<T>(v_); }
    const T& value() const { return std::get<T>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    /// The failure; Status::ok() when a value is held.
    Status status() const { return isOk() ? Status::ok() : std::get<Status>(v_); }

private:
    std::variant<T, Status> v_;
};

}  // namespace ardoise
