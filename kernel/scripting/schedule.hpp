#pragma once
// Cron expressions and IANA time zones for script schedules.

#include <ardoise/status.hpp>

#include <array>
#include <bitset>
#include <cstdint>
#include <ctime>
#include <string>

namespace ardoise::kernel::scripting {

/// A five-field cron expression: minute hour day-of-month month day-of-week
/// (0 or 7 = Sunday). Fields take `*`, numbers, ranges `a-b`, lists `a,b`
/// and steps `*/n`, `a-b/n`. When both day fields are restricted, either may
/// match (the classic cron rule).
class Cron {
public:
    /// kInvalidArgument naming the field and why.
    static Result<Cron> parse(const std::string& expression);
    /// Whether the local wall-clock minute `local` matches.
    bool matches(const std::tm& local) const;

private:
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_;
    std::bitset<13> months_;
    std::bitset<8> weekdays_;
    bool dayRestricted_ = false;
    bool weekdayRestricted_ = false;
};

/// The UTC offset in seconds of `zone` (e.g. "Africa/Abidjan",
/// "Europe/Paris") at `utc`, read from the system's zoneinfo (TZif) files;
/// cached per zone. Unknown zones give kNotFound.
Result<std::int64_t> utcOffset(const std::string& zone, std::int64_t utc);

/// Broken-down local time of `utc` in `zone` (UTC when the zone is unknown).
std::tm localTime(const std::string& zone, std::int64_t utc);

}  // namespace ardoise::kernel::scripting
