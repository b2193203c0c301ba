// TEMPORARY stand-in for plugins/timetable/engine (compiled only when the
// target timetable_engine does not exist). It implements the header's
// functions just enough for the plugin's tests: a first-fit solver, an
// evaluation of clashes and not-available times, a reader of the basic FET
// elements. Remove once the engine is merged.
#include <timetable/engine.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>

namespace ardoise::timetable {

namespace {

using nlohmann::json;

// ---- a tiny XML reader (elements and text; attributes ignored) ----
struct Node {
    std::string name, text;
    std::vector<Node> children;
    const Node* child(const std::string& n) const {
        for (const auto& c : children) {
            if (c.name == n) {
                return &c;
            }
        }
        return nullptr;
    }
    std::string value(const std::string& n, const std::string& fallback = "") const {
        const Node* c = child(n);
        return c ? c->text : fallback;
    }
};

std::string unescape(std::string s) {
    const std::pair<const char*, const char*> map[] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
    for (const auto& [from, to] : map) {
        for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + 1)) {
            s.replace(p, std::string(from).size(), to);
        }
    }
    return s;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) {
        return "";
    }
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

Node parseXml(std::string_view x) {
    std::vector<Node> stack;
    stack.push_back(Node{"#root", "", {}});
    std::size_t i = 0;
    while (i < x.size()) {
        if (x[i] != '<') {
            const auto e = x.find('<', i);
            stack.back().text += std::string(x.substr(i, e == std::string_view::npos ? std::string_view::npos : e - i));
            i = e == std::string_view::npos ? x.size() : e;
            continue;
        }
        if (x.substr(i, 4) == "<!--") {
            const auto e = x.find("-->", i);
            i = e == std::string_view::npos ? x.size() : e + 3;
            continue;
        }
        if (x.substr(i, 2) == "<?" || x.substr(i, 2) == "<!") {
            const auto e = x.find('>', i);
            i = e == std::string_view::npos ? x.size() : e + 1;
            continue;
        }
        const auto e = x.find('>', i);
        if (e == std::string_view::npos) {
            throw std::runtime_error("unterminated tag");
        }
        std::string tag(x.substr(i + 1, e - i - 1));
        i = e + 1;
        if (!tag.empty() && tag[0] == '/') {
            if (stack.size() < 2 || stack.back().name != trim(tag.substr(1))) {
                throw std::runtime_error("mismatched closing tag </" + trim(tag.substr(1)) + ">");
            }
            Node done = std::move(stack.back());
            stack.pop_back();
            done.text = unescape(trim(done.text));
            stack.back().children.push_back(std::move(done));
            continue;
        }
        const bool selfClosing = !tag.empty() && tag.back() == '/';
        if (selfClosing) {
            tag.pop_back();
        }
        std::string name = trim(tag.substr(0, tag.find_first_of(" \t\r\n")));
        if (selfClosing) {
            stack.back().children.push_back(Node{name, "", {}});
        } else {
            stack.push_back(Node{name, "", {}});
        }
    }
    if (stack.size() != 1) {
        throw std::runtime_error("unclosed element <" + stack.back().name + ">");
    }
    return std::move(stack.front());
}

json nodeToJson(const Node& n) {
    if (n.children.empty()) {
        return n.text;
    }
    json out = json::object();
    for (const auto& c : n.children) {
        json v = nodeToJson(c);
        if (c.name.rfind("Number_of_", 0) == 0) {
            continue;
        }
        // Repeated fields (and the known list fields) become arrays.
        const bool list = c.name == "Activity_Id" || c.name.find("Not_Available_Time") != std::string::npos ||
                          c.name.rfind("Preferred_", 0) == 0 || c.name == "Real_Room";
        if (list) {
            out[c.name].push_back(v);
        } else if (out.contains(c.name)) {
            if (!out[c.name].is_array()) {
                out[c.name] = json::array({out[c.name]});
            }
            out[c.name].push_back(v);
        } else {
            out[c.name] = v;
        }
    }
    return out;
}

double number(const std::string& s, double fallback) {
    try {
        return std::stod(s);
    } catch (...) {
        return fallback;
    }
}

// ---- the shared view of an instance used by evaluate / solve ----
struct Index {
    int days = 0, hours = 0;
    std::map<std::string, std::vector<std::string>> atoms;  // student set -> subgroups
    std::map<std::string, std::set<int>> teacherOff, roomOff;  // slot = day*hours+hour
    std::map<int, std::vector<std::string>> preferredRooms;
    std::map<int, const Activity*> activities;
};

Index indexOf(const Instance& in) {
    Index ix;
    ix.days = static_cast<int>(in.days.size());
    ix.hours = static_cast<int>(in.hours.size());
    for (const auto& y : in.years) {
        std::vector<std::string> yearAtoms;
        for (const auto& g : y.groups) {
            std::vector<std::string> groupAtoms;
            for (const auto& s : g.subgroups) {
                groupAtoms.push_back(s.name);
                ix.atoms[s.name] = {s.name};
            }
            if (groupAtoms.empty()) {
                groupAtoms.push_back(g.name);
            }
            ix.atoms[g.name] = groupAtoms;
            yearAtoms.insert(yearAtoms.end(), groupAtoms.begin(), groupAtoms.end());
        }
        if (yearAtoms.empty()) {
            yearAtoms.push_back(y.name);
        }
        ix.atoms[y.name] = yearAtoms;
    }
    auto slotOf = [&](const json& t) {
        const std::string d = t.value("Day", ""), h = t.value("Hour", "");
        const auto di = std::find(in.days.begin(), in.days.end(), d) - in.days.begin();
        const auto hi = std::find(in.hours.begin(), in.hours.end(), h) - in.hours.begin();
        return (di < ix.days && hi < ix.hours) ? static_cast<int>(di * ix.hours + hi) : -1;
    };
    for (const auto& c : in.timeConstraints) {
        if (!c.active || c.weight < 100) {
            continue;
        }
        if (c.type == "TeacherNotAvailableTimes" || c.type == "RoomNotAvailableTimes") {
            auto& target = c.type[0] == 'T' ? ix.teacherOff[c.params.value(c.type[0] == 'T' ? "Teacher" : "Room", "")]
                                             : ix.roomOff[c.params.value("Room", "")];
            for (const auto& t : c.params.value("Not_Available_Time", json::array())) {
                if (int s = slotOf(t); s >= 0) {
                    target.insert(s);
                }
            }
        }
    }
    for (const auto& c : in.spaceConstraints) {
        if (c.active && c.type == "RoomNotAvailableTimes") {
            for (const auto& t : c.params.value("Not_Available_Time", json::array())) {
                if (int s = slotOf(t); s >= 0) {
                    ix.roomOff[c.params.value("Room", "")].insert(s);
                }
            }
        }
        if (c.active && (c.type == "ActivityPreferredRooms" || c.type == "ActivityPreferredRoom")) {
            std::vector<std::string> rooms;
            for (const auto& r : c.params.value("Preferred_Room", json::array())) {
                rooms.push_back(r.get<std::string>());
            }
            if (c.params.contains("Room")) {
                rooms.push_back(c.params["Room"].get<std::string>());
            }
            for (const auto& a : c.params.value("Activity_Id", json::array())) {
                ix.preferredRooms[a.is_string() ? std::stoi(a.get<std::string>()) : a.get<int>()] = rooms;
            }
        }
    }
    for (const auto& a : in.activities) {
        ix.activities[a.id] = &a;
    }
    return ix;
}

std::vector<std::string> atomsOf(const Index& ix, const Activity& a) {
    std::vector<std::string> out;
    for (const auto& s : a.students) {
        auto it = ix.atoms.find(s);
        if (it == ix.atoms.end()) {
            out.push_back(s);
        } else {
            out.insert(out.end(), it->second.begin(), it->second.end());
        }
    }
    return out;
}

// Occupancy: resource -> slot -> activity ids.
using Occupancy = std::map<std::string, std::map<int, std::vector<int>>>;

}  // namespace

ImportReport readFet(std::string_view xml) {
    if (xml.substr(0, 3) == "\xEF\xBB\xBF") {
        xml.remove_prefix(3);
    }
    Node root = parseXml(xml);
    const Node* fet = root.child("fet");
    if (!fet) {
        throw std::runtime_error("no <fet> element");
    }
    ImportReport r;
    Instance& in = r.instance;
    in.name = fet->value("Institution_Name");
    if (const Node* d = fet->child("Days_List")) {
        for (const auto& c : d->children) {
            if (c.name == "Day") {
                in.days.push_back(c.children.empty() ? c.text : c.value("Name"));
            }
        }
    }
    if (const Node* h = fet->child("Hours_List")) {
        for (const auto& c : h->children) {
            if (c.name == "Hour") {
                in.hours.push_back(c.children.empty() ? c.text : c.value("Name"));
            }
        }
    }
    auto names = [&](const char* list, const char* item, std::vector<std::string>& out) {
        if (const Node* l = fet->child(list)) {
            for (const auto& c : l->children) {
                if (c.name == item) {
                    out.push_back(c.value("Name"));
                }
            }
        }
    };
    names("Teachers_List", "Teacher", in.teachers);
    names("Subjects_List", "Subject", in.subjects);
    names("Activity_Tags_List", "Activity_Tag", in.activityTags);
    names("Buildings_List", "Building", in.buildings);
    if (const Node* l = fet->child("Students_List")) {
        for (const auto& y : l->children) {
            if (y.name != "Year") {
                continue;
            }
            Year year{y.value("Name"), static_cast<int>(number(y.value("Number_of_Students"), 0)), {}};
            for (const auto& g : y.children) {
                if (g.name != "Group") {
                    continue;
                }
                Group group{g.value("Name"), static_cast<int>(number(g.value("Number_of_Students"), 0)), {}};
                for (const auto& s : g.children) {
                    if (s.name == "Subgroup") {
                        group.subgroups.push_back({s.value("Name"), static_cast<int>(number(s.value("Number_of_Students"), 0))});
                    }
                }
                year.groups.push_back(group);
            }
            in.years.push_back(year);
        }
    }
    if (const Node* l = fet->child("Rooms_List")) {
        for (const auto& c : l->children) {
            if (c.name == "Room") {
                Room room;
                room.name = c.value("Name");
                room.building = c.value("Building");
                room.capacity = static_cast<int>(number(c.value("Capacity"), 0));
                room.isVirtual = c.value("Virtual") == "true";
                in.rooms.push_back(room);
            }
        }
    }
    if (const Node* l = fet->child("Activities_List")) {
        for (const auto& c : l->children) {
            if (c.name != "Activity") {
                continue;
            }
            Activity a;
            a.id = static_cast<int>(number(c.value("Id"), 0));
            a.groupId = static_cast<int>(number(c.value("Activity_Group_Id"), 0));
            a.subject = c.value("Subject");
            a.duration = static_cast<int>(number(c.value("Duration"), 1));
            a.totalDuration = static_cast<int>(number(c.value("Total_Duration"), a.duration));
            a.active = c.value("Active", "true") == "true";
            for (const auto& f : c.children) {
                if (f.name == "Teacher") {
                    a.teachers.push_back(f.text);
                } else if (f.name == "Students") {
                    a.students.push_back(f.text);
                } else if (f.name == "Activity_Tag") {
                    a.tags.push_back(f.text);
                }
            }
            in.activities.push_back(a);
        }
    }
    r.imported["activities"] = static_cast<int>(in.activities.size());
    r.imported["teachers"] = static_cast<int>(in.teachers.size());
    r.imported["rooms"] = static_cast<int>(in.rooms.size());
    const auto& supported = supportedConstraintTypes();
    for (const char* list : {"Time_Constraints_List", "Space_Constraints_List"}) {
        const Node* l = fet->child(list);
        if (!l) {
            continue;
        }
        for (const auto& c : l->children) {
            if (c.name.rfind("Constraint", 0) != 0) {
                continue;
            }
            Constraint k;
            k.type = c.name.substr(10);
            k.weight = number(c.value("Weight_Percentage", "100"), 100);
            k.active = c.value("Active", "true") == "true";
            k.params = nodeToJson(c);
            if (k.params.is_object()) {
                k.params.erase("Weight_Percentage");
                k.params.erase("Active");
                k.params.erase("Comments");
            } else {
                k.params = json::object();
            }
            (list[0] == 'T' ? in.timeConstraints : in.spaceConstraints).push_back(k);
            if (std::find(supported.begin(), supported.end(), k.type) != supported.end()) {
                ++r.imported[k.type];
            } else {
                ++r.unsupported[k.type];
            }
        }
    }
    return r;
}

std::string writeFetActivities(const Instance&, const Timetable&) { return "<Activities_Timetable/>"; }
Timetable readFetActivities(const Instance&, std::string_view) { return {}; }

const std::vector<std::string>& supportedConstraintTypes() {
    static const std::vector<std::string> types = {"BasicCompulsoryTime", "BasicCompulsorySpace", "TeacherNotAvailableTimes",
                                                   "RoomNotAvailableTimes", "ActivityPreferredRooms", "ActivityPreferredRoom"};
    return types;
}

Evaluation evaluate(const Instance& in, const Timetable& tt) {
    Index ix = indexOf(in);
    Evaluation ev;
    Occupancy teachers, students, rooms;
    for (const auto& p : tt) {
        auto it = ix.activities.find(p.activityId);
        if (it == ix.activities.end() || p.day < 0) {
            continue;
        }
        const Activity& a = *it->second;
        for (int k = 0; k < a.duration; ++k) {
            const int slot = p.day * ix.hours + p.hour + k;
            for (const auto& t : a.teachers) {
                teachers[t][slot].push_back(a.id);
                if (ix.teacherOff[t].count(slot)) {
                    ev.hard.push_back({"TeacherNotAvailableTimes", 100, {a.id}, t, t + " is not available at that time.",
                                       t + " n'est pas disponible à ce moment-là."});
                }
            }
            for (const auto& s : atomsOf(ix, a)) {
                students[s][slot].push_back(a.id);
            }
            if (!p.room.empty()) {
                rooms[p.room][slot].push_back(a.id);
                if (ix.roomOff[p.room].count(slot)) {
                    ev.hard.push_back({"RoomNotAvailableTimes", 100, {a.id}, p.room, "The room " + p.room + " is not available at that time.",
                                       "La salle " + p.room + " n'est pas disponible à ce moment-là."});
                }
            }
        }
    }
    auto clashes = [&](const Occupancy& occ, const char* type, const char* en, const char* fr) {
        for (const auto& [name, slots] : occ) {
            for (const auto& [slot, ids] : slots) {
                if (ids.size() > 1) {
                    ev.hard.push_back({type, 100, ids, name, name + en, name + fr});
                }
            }
        }
    };
    clashes(teachers, "TeacherClash", " teaches two lessons at the same time.", " a deux cours en même temps.");
    clashes(students, "StudentsClash", " has two lessons at the same time.", " a deux cours en même temps.");
    clashes(rooms, "RoomClash", " hosts two lessons at the same time.", " accueille deux cours en même temps.");
    return ev;
}

std::vector<Impossibility> precheck(const Instance& in) {
    Index ix = indexOf(in);
    std::vector<Impossibility> out;
    std::map<std::string, int> load;
    for (const auto& a : in.activities) {
        if (a.active) {
            for (const auto& t : a.teachers) {
                load[t] += a.duration;
            }
        }
    }
    for (const auto& [t, n] : load) {
        const int free = ix.days * ix.hours - static_cast<int>(ix.teacherOff[t].size());
        if (n > free) {
            out.push_back({"teacher", t,
                           t + " teaches " + std::to_string(n) + " periods but is available for only " + std::to_string(free) + ".",
                           t + " enseigne " + std::to_string(n) + " périodes mais n'est disponible que " + std::to_string(free) +
                               " périodes."});
        }
    }
    return out;
}

SolveResult solve(const Instance& in, const SolveOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    Index ix = indexOf(in);
    SolveResult r;
    r.impossibilities = precheck(in);
    Occupancy teachers, students, rooms;
    std::map<int, Placement> start;
    if (options.start) {
        for (const auto& p : *options.start) {
            start[p.activityId] = p;
        }
    }
    auto fits = [&](const Activity& a, int day, int hour, const std::string& room, std::vector<Blocker>* why) {
        if (hour + a.duration > ix.hours) {
            return false;
        }
        bool ok = true;
        for (int k = 0; k < a.duration; ++k) {
            const int slot = day * ix.hours + hour + k;
            for (const auto& t : a.teachers) {
                if (ix.teacherOff[t].count(slot) || teachers[t].count(slot)) {
                    ok = false;
                    if (why) {
                        why->push_back({"teacher", t, t + " is not available or already teaching.", t + " n'est pas disponible ou enseigne déjà."});
                    }
                }
            }
            for (const auto& s : atomsOf(ix, a)) {
                if (students[s].count(slot)) {
                    ok = false;
                    if (why) {
                        why->push_back({"students", s, s + " already has a lesson.", s + " a déjà un cours."});
                    }
                }
            }
            if (!room.empty() && (rooms[room].count(slot) || ix.roomOff[room].count(slot))) {
                ok = false;
                if (why) {
                    why->push_back({"room", room, "The room " + room + " is taken.", "La salle " + room + " est prise."});
                }
            }
        }
        return ok;
    };
    auto take = [&](const Activity& a, const Placement& p) {
        for (int k = 0; k < a.duration; ++k) {
            const int slot = p.day * ix.hours + p.hour + k;
            for (const auto& t : a.teachers) {
                teachers[t][slot].push_back(a.id);
            }
            for (const auto& s : atomsOf(ix, a)) {
                students[s][slot].push_back(a.id);
            }
            if (!p.room.empty()) {
                rooms[p.room][slot].push_back(a.id);
            }
        }
        r.timetable.push_back(p);
    };
    std::vector<const Activity*> order;
    for (const auto& a : in.activities) {
        if (!a.active) {
            continue;
        }
        auto s = start.find(a.id);
        if (s != start.end() && s->second.day >= 0 && (s->second.locked || fits(a, s->second.day, s->second.hour, s->second.room, nullptr))) {
            take(a, s->second);  // locked, or still fine where it was: kept
        } else {
            order.push_back(&a);
        }
    }
    const int total = static_cast<int>(in.activities.size());
    for (const Activity* a : order) {
        if (options.cancel && options.cancel->load()) {
            r.status = SolveResult::Status::cancelled;
            break;
        }
        bool placed = false;
        std::vector<std::string> candidates = {""};
        if (auto pr = ix.preferredRooms.find(a->id); pr != ix.preferredRooms.end() && !pr->second.empty()) {
            candidates = pr->second;
        }
        for (int day = 0; day < ix.days && !placed; ++day) {
            for (int hour = 0; hour < ix.hours && !placed; ++hour) {
                for (const auto& room : candidates) {
                    if (fits(*a, day, hour, room, nullptr)) {
                        take(*a, {a->id, day, hour, room, {}, false});
                        placed = true;
                        break;
                    }
                }
            }
        }
        if (!placed) {
            Unplaced u{a->id, {}};
            std::set<std::string> seen;
            for (int day = 0; day < ix.days; ++day) {
                for (int hour = 0; hour < ix.hours; ++hour) {
                    std::vector<Blocker> why;
                    fits(*a, day, hour, candidates.front(), &why);
                    for (auto& b : why) {
                        if (seen.insert(b.kind + b.name).second) {
                            u.blockers.push_back(b);
                        }
                    }
                }
            }
            r.unplaced.push_back(u);
            r.timetable.push_back({a->id, -1, -1, "", {}, false});
        }
        if (options.onProgress) {
            Progress p;
            p.total = total;
            p.placed = static_cast<int>(r.timetable.size() - r.unplaced.size());
            p.elapsedSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            options.onProgress(p);
        }
    }
    if (r.status != SolveResult::Status::cancelled) {
        r.status = r.unplaced.empty() ? SolveResult::Status::solved
                                      : (r.impossibilities.empty() ? SolveResult::Status::partial : SolveResult::Status::impossible);
    }
    for (const auto& p : r.timetable) {
        auto s = start.find(p.activityId);
        if (s != start.end() && (s->second.day != p.day || s->second.hour != p.hour || s->second.room != p.room)) {
            ++r.moved;
        }
    }
    r.cpuSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

void to_json(json& j, const Instance& in) {
    j = {{"name", in.name}, {"days", in.days}, {"hours", in.hours}, {"teachers", in.teachers}, {"subjects", in.subjects}};
}
void from_json(const json& j, Instance& in) {
    in.name = j.value("name", "");
    in.days = j.value("days", std::vector<std::string>{});
    in.hours = j.value("hours", std::vector<std::string>{});
}
void to_json(json& j, const Placement& p) {
    j = {{"activity", p.activityId}, {"day", p.day}, {"hour", p.hour}, {"room", p.room}, {"locked", p.locked}};
}
void from_json(const json& j, Placement& p) {
    p.activityId = j.value("activity", 0);
    p.day = j.value("day", -1);
    p.hour = j.value("hour", -1);
    p.room = j.value("room", "");
    p.locked = j.value("locked", false);
}

}  // namespace ardoise::timetable
