#include "kernel/scripting/schedule.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

namespace ardoise::kernel::scripting {
namespace {

template <std::size_t N>
Status parseField(const std::string& text, int low, int high, const char* name, std::bitset<N>& out) {
    auto bad = [&](const std::string& why) {
        return Status(Code::kInvalidArgument, "invalid-cron", std::string("cron ") + name + " field '" + text + "': " + why);
    };
    std::stringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
        int step = 1;
        if (auto slash = item.find('/'); slash != std::string::npos) {
            try {
                std::size_t used = 0;
                step = std::stoi(item.substr(slash + 1), &used);
                if (used != item.size() - slash - 1 || step < 1) {
                    return bad("the step must be a positive number");
                }
            } catch (const std::exception&) {
                return bad("the step must be a positive number");
            }
            item = item.substr(0, slash);
        }
        int from = low;
        int to = high;
        if (item != "*") {
            try {
                std::size_t used = 0;
                const auto dash = item.find('-');
                from = std::stoi(item.substr(0, dash), &used);
                if (used != std::min(dash, item.size())) {
                    return bad("expected a number, a range a-b or *");
                }
                to = from;
                if (dash != std::string::npos) {
                    to = std::stoi(item.substr(dash + 1), &used);
                    if (used != item.size() - dash - 1) {
                        return bad("expected a number, a range a-b or *");
                    }
                }
            } catch (const std::exception&) {
                return bad("expected a number, a range a-b or *");
            }
            if (from < low || to > high || from > to) {
                return bad("values must be within " + std::to_string(low) + "-" + std::to_string(high));
            }
        }
        for (int v = from; v <= to; v += step) {
            out.set(static_cast<std::size_t>(v));
        }
    }
    if (text.empty()) {
        return bad("empty");
    }
    return Status::ok();
}

/// Transitions of one zone: UTC instants and the offset from each on.
struct Zone {
    std::vector<std::int64_t> at;
    std::vector<std::int64_t> offset;  // offset[i] applies from at[i]; offset before at[0] is `initial`
    std::int64_t initial = 0;
};

std::int64_t bigEndian(const unsigned char* p, int bytes) {
    std::int64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        v = (v << 8) | p[i];
    }
    if (bytes == 4) {
        v = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    }
    return v;
}

/// Reads the version-2+ (64-bit) part of a TZif file, else the version-1 part.
std::shared_ptr<Zone> readZone(const std::string& name) {
    if (name.empty() || name.find("..") != std::string::npos || name.front() == '/') {
        return nullptr;
    }
    std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parse = [&](std::size_t start, int timeBytes, std::size_t* end) -> std::shared_ptr<Zone> {
        if (data.size() < start + 44 || data.compare(start, 4, "TZif") != 0) {
            return nullptr;
        }
        const auto* h = reinterpret_cast<const unsigned char*>(data.data()) + start + 20;
        const auto isut = bigEndian(h, 4), isstd = bigEndian(h + 4, 4), leap = bigEndian(h + 8, 4);
        const auto timecnt = bigEndian(h + 12, 4), typecnt = bigEndian(h + 16, 4), charcnt = bigEndian(h + 20, 4);
        std::size_t p = start + 44;
        const std::size_t need = timecnt * timeBytes + timecnt + typecnt * 6 + charcnt + leap * (timeBytes + 4) + isstd + isut;
        if (data.size() < p + need || typecnt == 0) {
            return nullptr;
        }
        const auto* u = reinterpret_cast<const unsigned char*>(data.data());
        auto zone = std::make_shared<Zone>();
        std::vector<std::int64_t> types(static_cast<std::size_t>(typecnt));
        const std::size_t typesAt = p + timecnt * timeBytes + timecnt;
        for (std::int64_t i = 0; i < typecnt; ++i) {
            types[static_cast<std::size_t>(i)] = bigEndian(u + typesAt + i * 6, 4);
        }
        for (std::int64_t i = 0; i < timecnt; ++i) {
            zone->at.push_back(bigEndian(u + p + i * timeBytes, timeBytes));
            const auto idx = u[p + timecnt * timeBytes + i];
            zone->offset.push_back(idx < types.size() ? types[idx] : types[0]);
        }
        zone->initial = types[0];
        *end = p + need;
        return zone;
    };
    std::size_t end = 0;
    auto v1 = parse(0, 4, &end);
    if (v1 && data.size() > 5 && data[4] >= '2') {
        std::size_t end2 = 0;
        if (auto v2 = parse(end, 8, &end2)) {
            return v2;
        }
    }
    return v1;
}

}  // namespace

Result<Cron> Cron::parse(const std::string& expression) {
    std::stringstream ss(expression);
    std::vector<std::string> fields;
    for (std::string f; ss >> f;) {
        fields.push_back(f);
    }
    if (fields.size() != 5) {
        return Status(Code::kInvalidArgument, "invalid-cron",
                      "a cron expression has 5 fields (minute hour day month weekday): '" + expression + "'");
    }
    Cron c;
    for (auto s : {parseField(fields[0], 0, 59, "minute", c.minutes_), parseField(fields[1], 0, 23, "hour", c.hours_),
                   parseField(fields[2], 1, 31, "day-of-month", c.days_), parseField(fields[3], 1, 12, "month", c.months_),
                   parseField(fields[4], 0, 7, "day-of-week", c.weekdays_)}) {
        if (!s.isOk()) {
            return s;
        }
    }
    if (c.weekdays_.test(7)) {
        c.weekdays_.set(0);
    }
    c.dayRestricted_ = fields[2] != "*";
    c.weekdayRestricted_ = fields[4] != "*";
    return c;
}

bool Cron::matches(const std::tm& t) const {
    if (!minutes_.test(static_cast<std::size_t>(t.tm_min)) || !hours_.test(static_cast<std::size_t>(t.tm_hour)) ||
        !months_.test(static_cast<std::size_t>(t.tm_mon + 1))) {
        return false;
    }
    const bool day = days_.test(static_cast<std::size_t>(t.tm_mday));
    const bool weekday = weekdays_.test(static_cast<std::size_t>(t.tm_wday));
    if (dayRestricted_ && weekdayRestricted_) {
        return day || weekday;
    }
    return day && weekday;
}

Result<std::int64_t> utcOffset(const std::string& zoneName, std::int64_t utc) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<Zone>> cache;
    std::shared_ptr<Zone> zone;
    {
        std::lock_guard lock(mutex);
        auto it = cache.find(zoneName);
        if (it == cache.end()) {
            it = cache.emplace(zoneName, readZone(zoneName)).first;
        }
        zone = it->second;
    }
    if (!zone) {
        return Status(Code::kNotFound, "unknown-timezone", "Unknown time zone " + zoneName + ".");
    }
    auto it = std::upper_bound(zone->at.begin(), zone->at.end(), utc);
    if (it == zone->at.begin()) {
        return zone->initial;
    }
    return zone->offset[static_cast<std::size_t>(it - zone->at.begin() - 1)];
}

std::tm localTime(const std::string& zone, std::int64_t utc) {
    auto offset = utcOffset(zone, utc);
    const std::time_t shifted = static_cast<std::time_t>(utc + (offset ? *offset : 0));
    std::tm out{};
    gmtime_r(&shifted, &out);
    return out;
}

}  // namespace ardoise::kernel::scripting
