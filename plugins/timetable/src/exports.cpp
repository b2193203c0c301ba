// Exports of a view: CSV, a printable PDF (French or English), and
// iCalendar feeds a calendar application subscribes to with a secret URL.
#include "timetable.hpp"

#include <chrono>
#include <ctime>
#include <set>
#include <sstream>

namespace ardoise::plugins::timetable {

namespace {

std::string csvCell(const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) {
        return v;
    }
    std::string out = "\"";
    for (char c : v) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

std::string names(const json& list) {
    std::string out;
    for (const auto& x : list) {
        out += (out.empty() ? "" : "; ") + x["name"].get<std::string>();
    }
    return out;
}

std::string lang(const Request& r) {
    const std::string l = r.queryParam("lang", r.locale);
    return l == "en" ? "en" : "fr";
}

std::string toCsv(const json& view, const std::string& l) {
    std::string out = l == "en" ? "day,period,start,end,subject,teachers,student_sets,room\r\n"
                                : "jour,periode,debut,fin,matiere,professeurs,eleves,salle\r\n";
    for (const auto& x : view["lessons"]) {
        const std::vector<std::string> cells = {x["day_name"], x["period_name"], x["start"], x["end"], x["subject"], names(x["teachers"]),
                                                names(x["student_sets"]), x["room"].is_null() ? "" : x["room"]["name"].get<std::string>()};
        for (std::size_t i = 0; i < cells.size(); ++i) {
            out += (i ? "," : "") + csvCell(cells[i]);
        }
        out += "\r\n";
    }
    return out;
}

std::vector<std::string> toLines(const json& view, const std::string& l) {
    std::vector<std::string> lines;
    lines.push_back(tr(l, "Emploi du temps : ", "Timetable: ") + view["title"].get<std::string>());
    lines.push_back(tr(l, "Période scolaire : ", "Term: ") + view["term"].get<std::string>());
    lines.push_back("");
    for (std::size_t d = 0; d < view["days"].size(); ++d) {
        lines.push_back(view["days"][d].get<std::string>());
        bool any = false;
        for (const auto& x : view["lessons"]) {
            if (x["day"] != d) {
                continue;
            }
            any = true;
            std::string line = "  " + x["start"].get<std::string>() + "-" + x["end"].get<std::string>() + "  " + x["subject"].get<std::string>();
            if (!x["teachers"].empty()) {
                line += "  " + tr(l, "prof. ", "teacher ") + names(x["teachers"]);
            }
            if (!x["student_sets"].empty()) {
                line += "  " + tr(l, "élèves ", "students ") + names(x["student_sets"]);
            }
            if (!x["room"].is_null()) {
                line += "  " + tr(l, "salle ", "room ") + x["room"]["name"].get<std::string>();
            }
            lines.push_back(line);
        }
        if (!any) {
            lines.push_back(tr(l, "  (aucun cours)", "  (no lessons)"));
        }
    }
    return lines;
}

// ---- iCalendar (RFC 5545) ----

std::string icalText(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == ';' || c == ',') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c != '\r') {
            out += c;
        }
    }
    return out;
}

/// Folds a content line at 75 octets, never inside a UTF-8 sequence.
std::string icalLine(const std::string& line) {
    std::string out;
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        const bool start = (c & 0xC0) != 0x80;
        if (start && width >= 74) {
            out += "\r\n ";
            width = 1;
        }
        out += line[i];
        ++width;
    }
    return out + "\r\n";
}

std::string compactDate(const std::string& date) { return date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2); }

// A Unix time as an iCalendar UTC time ("YYYYMMDDTHHMMSSZ").
std::string icalTime(std::time_t utc) {
    std::tm t{};
    gmtime_r(&utc, &t);
    char buf[17];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &t);
    return buf;
}

// "YYYY-MM-DD" and "HH:MM" in the school's time as an iCalendar UTC time, so
// calendars show lessons right wherever they are.
std::string icalUtc(TenantServices& services, const std::string& date, const std::string& hhmm) {
    std::tm t{};
    t.tm_year = std::stoi(date.substr(0, 4)) - 1900;
    t.tm_mon = std::stoi(date.substr(5, 2)) - 1;
    t.tm_mday = std::stoi(date.substr(8, 2));
    t.tm_hour = std::stoi(hhmm.substr(0, 2));
    t.tm_min = std::stoi(hhmm.substr(3, 2));
    const std::int64_t local = timegm(&t);
    // The offset at the local time read as UTC, then at the time it gives:
    // right on both sides of a daylight-saving change.
    return icalTime(static_cast<std::time_t>(local - services.utcOffset(local - services.utcOffset(local))));
}

Result<std::string> calendar(TenantServices& services, const std::string& termId, const std::string& kind, const std::string& ref,
                             const std::string& locale) {
    auto& db = services.db();
    auto b = buildInstance(db, termId, locale);
    if (!b) {
        return b.status();
    }
    std::string out = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Ardoise//Timetable//FR\r\nCALSCALE:GREGORIAN\r\n";
    out += icalLine("X-WR-CALNAME:" + icalText(b->nameOf(ref) + " - " + b->term["name"].get<std::string>()));
    auto published = publishedOf(db, termId);
    if (!published) {
        return published.status();
    }
    if (*published) {
        auto weekly = lessonsView(services, *b, **published, kind, ref, "");
        auto dated = db.query("SELECT DISTINCT on_date FROM timetable_overrides WHERE tenant_id = @tenant AND timetable_id = ?", {**published});
        if (!weekly || !dated) {
            return !weekly ? weekly.status() : dated.status();
        }
        std::set<std::string> overridden;
        for (const auto& row : *dated) {
            overridden.insert(row.text("on_date"));
        }
        const std::string stamp = icalTime(std::time(nullptr));
        const std::string end = b->term["ends_on"];
        int guard = 0;
        for (std::string date = b->term["starts_on"]; date <= end && guard < 800; date = addDays(date, 1), ++guard) {
            const int wd = weekdayOf(date);
            int day = -1;
            for (std::size_t i = 0; i < b->term["days"].size(); ++i) {
                if (b->term["days"][i]["weekday"] == wd) {
                    day = static_cast<int>(i);
                }
            }
            if (day < 0) {
                continue;
            }
            json lessons = json::array();
            if (overridden.count(date)) {
                auto l = lessonsView(services, *b, **published, kind, ref, date);
                if (!l) {
                    return l.status();
                }
                lessons = *l;
            } else {
                for (const auto& x : *weekly) {
                    if (x["day"] == day) {
                        lessons.push_back(x);
                    }
                }
            }
            for (const auto& x : lessons) {
                out += "BEGIN:VEVENT\r\n";
                out += icalLine("UID:" + x["activity_id"].get<std::string>() + "-" + std::to_string(x["lesson"].get<int>()) + "-" + compactDate(date) +
                                "@" + services.tenant().slug + ".ardoise");
                out += "DTSTAMP:" + stamp + "\r\n";
                out += "DTSTART:" + icalUtc(services, date, x["start"]) + "\r\n";
                out += "DTEND:" + icalUtc(services, date, x["end"]) + "\r\n";
                out += icalLine("SUMMARY:" + icalText(x["subject"].get<std::string>()));
                if (!x["room"].is_null()) {
                    out += icalLine("LOCATION:" + icalText(x["room"]["name"].get<std::string>()));
                }
                out += icalLine("DESCRIPTION:" + icalText(names(x["teachers"]) + (x["student_sets"].empty() ? "" : " / " + names(x["student_sets"]))));
                out += "END:VEVENT\r\n";
            }
        }
    }
    return out + "END:VCALENDAR\r\n";
}

}  // namespace

std::vector<Route> exportRoutes() {
    std::vector<Route> out;
    out.push_back(makeRoute("GET", "/timetables/{id}/export", "timetable.read",
                            "A view as ?format=csv or pdf (?lang=fr|en), same parameters as the view",
                            [](Request& r) -> Result<Response> {
                                const std::string format = r.queryParam("format", "csv");
                                if (format != "csv" && format != "pdf") {
                                    return invalid(r.locale, "/format", "enum", tr(r.locale, "csv ou pdf.", "csv or pdf."));
                                }
                                auto view = viewFor(r);
                                if (!view) {
                                    return view.status();
                                }
                                const std::string l = lang(r);
                                if (format == "csv") {
                                    Response res{200, "text/csv; charset=utf-8", toCsv(*view, l), {}, {}};
                                    res.headers.emplace_back("Content-Disposition", "attachment; filename=\"timetable.csv\"");
                                    return res;
                                }
                                auto pdf = r.services->textToPdf(toLines(*view, l), tr(l, "Emploi du temps", "Timetable"));
                                if (!pdf) {
                                    return pdf.status();
                                }
                                Response res{200, "application/pdf", *pdf, {}, {}};
                                res.headers.emplace_back("Content-Disposition", "attachment; filename=\"timetable.pdf\"");
                                return res;
                            }));
    const json feedSchema = {{"type", "object"},
                             {"additionalProperties", false},
                             {"required", {"term_id", "kind", "ref_id"}},
                             {"properties", {{"term_id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}}},
                                             {"kind", {{"type", "string"}, {"enum", {"teacher", "student_set", "room"}}}},
                                             {"ref_id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}}}}}};
    out.push_back(makeRoute("POST", "/feeds", "timetable.read",
                            "An iCalendar subscription URL of a view one may see (the URL's secret is the credential; revoke with DELETE)",
                            [](Request& r) -> Result<Response> {
                                auto& db = r.services->db();
                                auto b = buildInstance(db, r.json["term_id"], r.locale);
                                if (!b) {
                                    return b.status();
                                }
                                const std::string kind = r.json["kind"], ref = r.json["ref_id"];
                                const std::string want = kind == "teacher" ? "teachers" : kind == "room" ? "rooms" : "student_sets";
                                if (!b->is(ref, want)) {
                                    return notFound(r.locale);
                                }
                                auto may = maySee(*r.services, *r.principal, *b, kind, ref);
                                if (!may) {
                                    return may.status();
                                }
                                if (!*may) {
                                    return notFound(r.locale);
                                }
                                const std::string id = db.newId();
                                const std::string secret = db.newId() + db.newId();
                                auto w = db.execute("INSERT INTO timetable_feeds (tenant_id, id, secret, user_id, term_id, kind, ref_id, created_us) "
                                                    "VALUES (@tenant, ?, ?, ?, ?, ?, ?, ?)",
                                                    {id, secret, r.principal->id, r.json["term_id"].get<std::string>(), kind, ref, nowMicros()});
                                if (!w) {
                                    return w.status();
                                }
                                return Response::json(201, {{"id", id}, {"kind", kind}, {"ref_id", ref}, {"term_id", r.json["term_id"]},
                                                            {"url", "/api/v1/timetable/ical/" + secret}});
                            },
                            feedSchema));
    out.push_back(makeRoute("GET", "/feeds", "timetable.read", "The caller's iCalendar subscriptions", [](Request& r) -> Result<Response> {
        auto rows = r.services->db().query("SELECT * FROM timetable_feeds WHERE tenant_id = @tenant AND user_id = ? ORDER BY created_us, id",
                                           {r.principal->id});
        if (!rows) {
            return rows.status();
        }
        json items = json::array();
        for (const auto& row : *rows) {
            items.push_back({{"id", row.text("id")}, {"kind", row.text("kind")}, {"ref_id", row.text("ref_id")}, {"term_id", row.text("term_id")},
                             {"url", "/api/v1/timetable/ical/" + row.text("secret")}});
        }
        return Response::json(200, {{"items", items}});
    }));
    out.push_back(makeRoute("DELETE", "/feeds/{id}", "timetable.read", "Revoke one of one's iCalendar subscriptions (admins: anyone's)",
                            [](Request& r) -> Result<Response> {
                                auto n = r.services->db().execute("DELETE FROM timetable_feeds WHERE tenant_id = @tenant AND id = ? AND (user_id = ? OR ? = 1)",
                                                                  {r.param("id"), r.principal->id, std::int64_t{r.principal->can("timetable.manage") ? 1 : 0}});
                                if (!n) {
                                    return n.status();
                                }
                                return *n == 0 ? Result<Response>(notFound(r.locale)) : Response::noContent();
                            }));
    Route ical = makeRoute("GET", "/ical/{secret}", "", "An iCalendar feed (no token: the secret in the URL, until revoked)",
                           [](Request& r) -> Result<Response> {
                               std::string secret = r.param("secret");
                               if (secret.size() > 4 && secret.substr(secret.size() - 4) == ".ics") {
                                   secret.resize(secret.size() - 4);
                               }
                               auto& db = r.services->db();
                               auto feed = db.queryOne("SELECT f.*, u.status AS user_status FROM timetable_feeds f JOIN users u ON u.tenant_id = f.tenant_id "
                                                       "AND u.id = f.user_id WHERE f.tenant_id = @tenant AND f.secret = ?",
                                                       {secret});
                               if (!feed) {
                                   return feed.status();
                               }
                               if (!*feed || (*feed)->text("user_status") != "active") {
                                   return notFound(r.locale);
                               }
                               auto cal = calendar(*r.services, (*feed)->text("term_id"), (*feed)->text("kind"), (*feed)->text("ref_id"), r.locale);
                               if (!cal) {
                                   return cal.status();
                               }
                               return Response{200, "text/calendar; charset=utf-8", *cal, {}, {}};
                           });
    ical.access = Access::kTenantPublic;
    out.push_back(std::move(ical));
    return out;
}

}  // namespace ardoise::plugins::timetable
