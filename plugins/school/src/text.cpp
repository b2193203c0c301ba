// Text folding, dates, time zones and CSV for the school plugin.
#include "school.hpp"

#include <array>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>

namespace ardoise::plugins::school {

namespace {

void appendUtf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

/// Decodes one code point at `i` (advancing it); U+FFFD for a bad sequence.
char32_t decode(const std::string& s, std::size_t& i) {
    const auto b = static_cast<unsigned char>(s[i]);
    int extra = b < 0x80 ? 0 : (b >> 5) == 0x6 ? 1 : (b >> 4) == 0xE ? 2 : (b >> 3) == 0x1E ? 3 : -1;
    if (extra < 0 || i + static_cast<std::size_t>(extra) >= s.size() + (extra == 0 ? 1 : 0)) {
        ++i;
        return 0xFFFD;
    }
    char32_t c = extra == 0 ? b : b & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
        const auto n = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((n & 0xC0) != 0x80) {
            ++i;
            return 0xFFFD;
        }
        c = (c << 6) | (n & 0x3F);
    }
    i += static_cast<std::size_t>(extra) + 1;
    return c;
}

// U+00C0–U+00FF and U+0100–U+017F folded to ASCII; '*' keeps the character,
// '1' is "ae", '2' is "oe", '3' is "ss", '4' is "th", '5' is "ij".
constexpr std::string_view kLatin1 = "aaaaaa1ceeeeiiiidnooooo*ouuuuy43aaaaaa1ceeeeiiiidnooooo*ouuuuy4y";
constexpr std::string_view kLatinA =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii55jjkkkllllllllllnnnnnnnnnoooooo22rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
static_assert(kLatin1.size() == 64);
static_assert(kLatinA.size() == 128);

std::string expand(char f) {
    switch (f) {
        case '1': return "ae";
        case '2': return "oe";
        case '3': return "ss";
        case '4': return "th";
        case '5': return "ij";
        default: return std::string(1, f);
    }
}

}  // namespace

std::string fold(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const char32_t c = decode(text, i);
        if (c < 0x80) {
            out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        } else if (c >= 0x300 && c <= 0x36F) {
            continue;  // combining accents of decomposed text
        } else if (c >= 0xC0 && c <= 0xFF && kLatin1[c - 0xC0] != '*') {
            out += expand(kLatin1[c - 0xC0]);
        } else if (c >= 0x100 && c <= 0x17F) {
            out += expand(kLatinA[c - 0x100]);
        } else {
            appendUtf8(out, c);
        }
    }
    return out;
}

bool validUtf8(const std::string& text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto b = static_cast<unsigned char>(text[i]);
        int extra = b < 0x80 ? 0 : (b >> 5) == 0x6 ? 1 : (b >> 4) == 0xE ? 2 : (b >> 3) == 0x1E ? 3 : -1;
        if (extra < 0 || i + static_cast<std::size_t>(extra) >= text.size() + (extra == 0 ? 1 : 0)) {
            return false;
        }
        char32_t c = extra == 0 ? b : b & (0x3F >> extra);
        for (int k = 1; k <= extra; ++k) {
            const auto n = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
            if ((n & 0xC0) != 0x80) {
                return false;
            }
            c = (c << 6) | (n & 0x3F);
        }
        static constexpr std::array<char32_t, 4> kMin = {0, 0x80, 0x800, 0x10000};
        if (c < kMin[static_cast<std::size_t>(extra)] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            return false;  // overlong, out of range or a surrogate
        }
        i += static_cast<std::size_t>(extra) + 1;
    }
    return true;
}

bool validDate(const std::string& s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
        return false;
    }
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    const int y = std::stoi(s.substr(0, 4));
    const int m = std::stoi(s.substr(5, 2));
    const int d = std::stoi(s.substr(8, 2));
    static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > kDays[static_cast<std::size_t>(m - 1)]) {
        return false;
    }
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

/// UTC offsets of a zone: transition times and the offset from each.
struct Zone {
    std::vector<std::int64_t> at;
    std::vector<std::int64_t> offset;
    std::int64_t initial = 0;
};

std::int64_t bigEndian(const std::string& s, std::size_t pos, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        v = (v << 8) | static_cast<unsigned char>(s[pos + static_cast<std::size_t>(i)]);
    }
    if (bytes == 4) {
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    }
    return static_cast<std::int64_t>(v);
}

/// Reads a TZif file of the system's zoneinfo (RFC 8536); an empty zone (UTC)
/// when the name is unsafe or the file is missing or malformed.
Zone loadZone(const std::string& name) {
    Zone z;
    if (name.empty() || name.size() > 64 || name.find("..") != std::string::npos || name[0] == '/') {
        return z;
    }
    for (char c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+')) {
            return z;
        }
    }
    std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string s = buf.str();
    auto header = [&](std::size_t pos, std::array<std::int64_t, 6>& counts) {
        if (s.size() < pos + 44 || s.compare(pos, 4, "TZif") != 0) {
            return false;
        }
        for (std::size_t i = 0; i < 6; ++i) {
            counts[i] = bigEndian(s, pos + 20 + i * 4, 4);
        }
        return true;
    };
    std::array<std::int64_t, 6> c{};  // isut, isstd, leap, time, type, char
    if (!header(0, c)) {
        return z;
    }
    std::size_t pos = 44;
    int timeBytes = 4;
    if (s[4] >= '2') {
        pos += static_cast<std::size_t>(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
        if (!header(pos, c)) {
            return z;
        }
        pos += 44;
        timeBytes = 8;
    }
    const auto times = static_cast<std::size_t>(c[3]);
    const auto types = static_cast<std::size_t>(c[4]);
    if (types == 0 || s.size() < pos + times * static_cast<std::size_t>(timeBytes + 1) + types * 6) {
        return z;
    }
    const std::size_t idx = pos + times * static_cast<std::size_t>(timeBytes);
    const std::size_t info = idx + times;
    z.initial = bigEndian(s, info, 4);
    for (std::size_t i = 0; i < times; ++i) {
        const auto type = static_cast<unsigned char>(s[idx + i]);
        if (type >= types) {
            return Zone{};
        }
        z.at.push_back(bigEndian(s, pos + i * static_cast<std::size_t>(timeBytes), timeBytes));
        z.offset.push_back(bigEndian(s, info + type * 6, 4));
    }
    return z;
}

}  // namespace

std::int64_t utcOffset(const std::string& zone, std::int64_t unixTime) {
    static std::mutex mutex;
    static std::map<std::string, Zone> zones;
    std::lock_guard lock(mutex);
    auto it = zones.find(zone);
    if (it == zones.end()) {
        it = zones.emplace(zone, loadZone(zone)).first;
    }
    const Zone& z = it->second;
    std::int64_t offset = z.initial;
    for (std::size_t i = 0; i < z.at.size() && z.at[i] <= unixTime; ++i) {
        offset = z.offset[i];
    }
    return offset;
}

std::string todayIn(const std::string& zone) {
    const std::int64_t t = now();
    const auto days = std::chrono::sys_days(std::chrono::days((t + utcOffset(zone, t)) / 86400));
    const std::chrono::year_month_day ymd(days);
    char out[16];
    std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()));
    return out;
}

Result<std::vector<CsvRecord>> parseCsv(const std::string& text) {
    std::vector<CsvRecord> out;
    std::size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a byte order mark
    int line = 1;
    CsvRecord record{line, {}};
    std::string cell;
    bool quoted = false;
    bool cellStarted = false;
    auto endRecord = [&] {
        record.cells.push_back(std::move(cell));
        cell.clear();
        cellStarted = false;
        if (!(record.cells.size() == 1 && record.cells[0].empty())) {
            out.push_back(std::move(record));
        }
        record = CsvRecord{line, {}};
    };
    int quoteLine = 0;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    cell += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                line += c == '\n' ? 1 : 0;
                cell += c;
            }
        } else if (c == '"' && !cellStarted) {
            quoted = true;
            cellStarted = true;
            quoteLine = line;
        } else if (c == ',') {
            record.cells.push_back(std::move(cell));
            cell.clear();
            cellStarted = false;
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            continue;
        } else if (c == '\n') {
            ++line;
            endRecord();
        } else {
            cell += c;
            cellStarted = true;
        }
    }
    if (quoted) {
        return Status(Code::kInvalidArgument, "csv-unterminated-quote",
                      "A quoted cell that starts on line " + std::to_string(quoteLine) + " never ends.")
            .addExtra("line", std::to_string(quoteLine));
    }
    if (cellStarted || !record.cells.empty()) {
        endRecord();
    }
    return out;
}

std::optional<std::string> base64Decode(const std::string& in) {
    std::string out;
    out.reserve(in.size() / 4 * 3);
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t pad = 0;
    for (char c : in) {
        int v = -1;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        } else if (c == '=') {
            ++pad;
            continue;
        } else if (c == '\r' || c == '\n') {
            continue;
        }
        if (v < 0 || pad > 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return pad > 2 ? std::nullopt : std::optional<std::string>(out);
}

std::string csvLine(const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const std::string& c = cells[i];
        if (i > 0) {
            out += ',';
        }
        if (c.find_first_of(",\"\r\n") != std::string::npos) {
            out += '"';
            for (char ch : c) {
                out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            }
            out += '"';
        } else {
            out += c;
        }
    }
    return out + "\r\n";
}

}  // namespace ardoise::plugins::school
