#pragma once
// Request body parsing and validation against the JSON Schema subset Ardoise
// uses. The same schema objects go into the OpenAPI 3.1 document, so only
// standard JSON Schema 2020-12 keywords are understood.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ardoise::kernel::http {

/// Deepest nesting of arrays and objects that validateJson() descends into.
inline constexpr std::size_t kMaxValidationDepth = 32;
/// validateJson() stops collecting errors after this many.
inline constexpr std::size_t kMaxFieldErrors = 50;
/// Strings longer than this (in bytes) are not run through `pattern`; they
/// fail with reason "pattern". libstdc++'s std::regex recurses per character:
/// "^(a|b)*$" overflows an 8 MiB stack at 16384 characters (8192 under
/// AddressSanitizer), and heavier patterns sooner. Give patterned fields a
/// maxLength well below this.
inline constexpr std::size_t kMaxPatternInputBytes = 1024;

/// Validates `value` against `schema` and returns every violation found, in
/// document order, at most kMaxFieldErrors of them. An empty vector means
/// valid.
///
/// Keywords understood: type (string|integer|number|boolean|object|array|null
/// or an array of them; an array including "null" is how a field is made
/// nullable), properties, required, additionalProperties (false or a schema),
/// minLength/maxLength (UTF-8 code points), pattern (ECMAScript, unanchored,
/// matched on bytes), format (email, date, date-time, uri; other formats are
/// ignored), enum, const, minimum, maximum, exclusiveMinimum,
/// exclusiveMaximum, items, minItems, maxItems, uniqueItems. Boolean schemas
/// are accepted: `true` allows anything, `false` reports "unknown-field".
/// Other keywords are ignored. Keywords of one type (e.g. minLength) do not
/// apply to values of another type, as in JSON Schema; after a "type" error
/// the value's other keywords are not checked.
///
/// Deviations from JSON Schema, on purpose:
///  * "integer" also requires the value to fit in a signed 64-bit integer;
///    1.0 is an integer, 1.5 and 1e300 are not.
///  * non-finite numbers are never a "number".
///  * a string that is not valid UTF-8 yields one "encoding" error and no
///    other string checks.
///
/// Each FieldError has an RFC 6901 pointer ("" is the whole body, "~" and "/"
/// in names escaped as "~0" and "~1"), a stable reason (required,
/// unknown-field, type, min-length, max-length, pattern, format, enum,
/// minimum, maximum, min-items, max-items, unique-items, encoding, too-deep;
/// const failures use "enum") and an English detail such as "must be at most
/// 120 characters".
///
/// The schema is trusted (it comes from code, not from requests): keywords
/// with a value of the wrong JSON type are ignored, and an invalid pattern
/// fails every string checked against it. Values nested deeper than
/// kMaxValidationDepth yield "too-deep" and are not descended into.
///
/// Thread-safe: compiled patterns are cached in a process-wide, mutex-guarded
/// cache.
std::vector<ardoise::FieldError> validateJson(const nlohmann::json& schema, const nlohmann::json& value);

/// Parses a request body. Never throws (except std::bad_alloc).
///
/// Errors, all Code::kInvalidArgument:
///  * "malformed-json": not JSON (message "The request body is not valid
///    JSON: ..." with the line and column), or a member name repeated in one
///    object (parsers disagree on which one wins, so neither is taken).
///  * "json-too-deep": arrays/objects nested deeper than `maxDepth`. Checked
///    by a linear scan before parsing, so hostile input such as 100000 '['
///    costs no recursion.
///
/// Any top-level value is accepted; requiring an object is the schema's job.
ardoise::Result<nlohmann::json> parseJsonBody(const std::string& body, std::size_t maxDepth = 32);

/// Escapes one RFC 6901 reference token: "~" becomes "~0", "/" becomes "~1".
std::string escapePointerToken(std::string_view token);

/// Number of code points in `text` if it is well-formed UTF-8 (no overlong
/// forms, surrogates or values above U+10FFFF), or -1.
long long utf8Length(std::string_view text);

}  // namespace ardoise::kernel::http
