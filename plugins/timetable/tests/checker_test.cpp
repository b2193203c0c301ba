// The independent timetable checker against FET's own timetables (no hard violation, the same soft
// conflicts total as FET's report) and against mutations of them, one per kind of hard violation.
// The mutations find their target programmatically in the instance and the reference timetable.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <sys/wait.h>

#include "../checker/src/xml_reader.hpp"
#include "timetable/checker.hpp"

namespace {

namespace tc = ardoise::timetable::checker;
namespace xml = ardoise::timetable::checker::xml;

const std::string kFetDir = std::string(ARDOISE_SHARED_DIR) + "/timetable/fet/";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

int toInt(const std::string& s) { return std::stoi(s); }

struct Entry {
  int id = 0;
  std::string day, hour, room;
  std::vector<std::string> realRooms;
};

struct Act {
  int id = 0;
  std::vector<std::string> teachers, students;
  std::string subject;
  int duration = 1;
  std::set<std::string> leaves;  // atomic student units it occupies
};

// One instance and FET's reference timetable for it, editable.
struct Case {
  std::string name, fetText;
  std::unique_ptr<xml::Element> fet;
  std::vector<std::string> days, hours;
  std::map<int, Act> acts;
  std::vector<Entry> entries;

  explicit Case(const std::string& n) : name(n) {
    fetText = slurp(kFetDir + n + ".fet");
    fet = xml::parse(fetText);
    for (const auto* d : fet->child("Days_List")->childrenNamed("Day")) {
      days.push_back(d->child("Name")->text);
    }
    for (const auto* h : fet->child("Hours_List")->childrenNamed("Hour")) {
      hours.push_back(h->child("Name")->text);
    }
    // Student sets -> atomic units (subgroups; a year or group without children is its own unit).
    std::map<std::string, std::set<std::string>> leaves;
    for (const auto* y : fet->child("Students_List")->childrenNamed("Year")) {
      auto& yl = leaves[y->child("Name")->text];
      auto groups = y->childrenNamed("Group");
      if (groups.empty()) {
        yl.insert(y->child("Name")->text);
      }
      for (const auto* g : groups) {
        auto& gl = leaves[g->child("Name")->text];
        auto subs = g->childrenNamed("Subgroup");
        if (subs.empty()) {
          gl.insert(g->child("Name")->text);
        }
        for (const auto* s : subs) {
          gl.insert(s->child("Name")->text);
          leaves[s->child("Name")->text].insert(s->child("Name")->text);
        }
        yl.insert(gl.begin(), gl.end());
      }
    }
    for (const auto* a : fet->child("Activities_List")->childrenNamed("Activity")) {
      if (a->childText("Active") != nullptr && *a->childText("Active") == "false") {
        continue;
      }
      Act act;
      act.id = toInt(a->child("Id")->text);
      for (const auto* t : a->childrenNamed("Teacher")) {
        act.teachers.push_back(t->text);
      }
      for (const auto* s : a->childrenNamed("Students")) {
        act.students.push_back(s->text);
        act.leaves.insert(leaves[s->text].begin(), leaves[s->text].end());
      }
      act.subject = a->child("Subject")->text;
      act.duration = toInt(a->child("Duration")->text);
      acts[act.id] = act;
    }
    auto tt = xml::parse(slurp(kFetDir + "fet-reference/" + n + ".activities.xml"));
    for (const auto* a : tt->childrenNamed("Activity")) {
      Entry e;
      e.id = toInt(a->child("Id")->text);
      e.day = a->child("Day")->text;
      e.hour = a->child("Hour")->text;
      e.room = a->childText("Room") ? *a->childText("Room") : "";
      for (const auto* r : a->childrenNamed("Real_Room")) {
        e.realRooms.push_back(r->text);
      }
      entries.push_back(e);
    }
  }

  static std::string esc(const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '&') {
        o += "&amp;";
      } else if (c == '<') {
        o += "&lt;";
      } else if (c == '>') {
        o += "&gt;";
      } else {
        o += c;
      }
    }
    return o;
  }

  std::string timetable() const {
    std::string o = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Activities_Timetable>\n";
    for (const Entry& e : entries) {
      o += "<Activity>\n\t<Id>" + std::to_string(e.id) + "</Id>\n\t<Day>" + esc(e.day) + "</Day>\n\t<Hour>" +
           esc(e.hour) + "</Hour>\n\t<Room>" + esc(e.room) + "</Room>\n";
      for (const auto& r : e.realRooms) {
        o += "\t<Real_Room>" + esc(r) + "</Real_Room>\n";
      }
      o += "</Activity>\n";
    }
    return o + "</Activities_Timetable>\n";
  }

  tc::Report check() const { return tc::check(fetText, timetable()); }

  Entry& entry(int id) {
    for (Entry& e : entries) {
      if (e.id == id) {
        return e;
      }
    }
    throw std::runtime_error("no entry for activity " + std::to_string(id));
  }

  void remove(int id) {
    entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id; }),
                  entries.end());
  }

  int dayIndex(const std::string& d) const { return static_cast<int>(std::find(days.begin(), days.end(), d) - days.begin()); }
  int hourIndex(const std::string& h) const {
    return static_cast<int>(std::find(hours.begin(), hours.end(), h) - hours.begin());
  }

  std::vector<const xml::Element*> constraints(const std::string& type) const {
    std::vector<const xml::Element*> out;
    for (const char* list : {"Time_Constraints_List", "Space_Constraints_List"}) {
      for (const auto* c : fet->child(list)->childrenNamed(type)) {
        out.push_back(c);
      }
    }
    return out;
  }

  static bool hard(const xml::Element* c) { return std::stod(c->child("Weight_Percentage")->text) >= 100; }

  // Activities of the timetable occupying (day, hour) for a predicate.
  std::vector<int> at(int day, int hour, const std::function<bool(const Act&)>& pred) const {
    std::vector<int> out;
    for (const Entry& e : entries) {
      const Act& a = acts.at(e.id);
      int d = dayIndex(e.day), h = hourIndex(e.hour);
      if (d == day && h <= hour && hour < h + a.duration && pred(a)) {
        out.push_back(e.id);
      }
    }
    return out;
  }
};

bool mentions(const std::string& msg, int id) {
  std::string s = std::to_string(id);
  for (std::size_t p = msg.find(s); p != std::string::npos; p = msg.find(s, p + 1)) {
    bool leftOk = p == 0 || !std::isdigit(static_cast<unsigned char>(msg[p - 1]));
    bool rightOk = p + s.size() >= msg.size() || !std::isdigit(static_cast<unsigned char>(msg[p + s.size()]));
    if (leftOk && rightOk) {
      return true;
    }
  }
  return false;
}

// Whether a hard violation of that kind (message prefix) names the activity id (0 = any).
bool hasHard(const tc::Report& r, const std::string& kind, int id = 0) {
  return std::any_of(r.hardViolations.begin(), r.hardViolations.end(), [&](const std::string& v) {
    return v.rfind(kind, 0) == 0 && (id == 0 || mentions(v, id));
  });
}

std::string dump(const tc::Report& r) {
  std::string o;
  for (std::size_t i = 0; i < r.hardViolations.size() && i < 15; ++i) {
    o += r.hardViolations[i] + "\n";
  }
  return o;
}

double fetTotal(const std::string& name) {
  std::string report = slurp(kFetDir + "fet-reference/" + name + ".soft_conflicts.txt");
  auto p = report.find("Total soft conflicts:");
  REQUIRE(p != std::string::npos);
  return std::stod(report.substr(p + 21));
}

const char* const kReferences[] = {
    "Sudan__Khartoum-2010-02-13",
    "Vietnam__3-THCS__TKB-THCS-DucHop_KimDong_HungYen-8_2015",
    "Greece__Vartholomio__2008-2009",
    "Indonesia__SMK-Negeri-1-Arahan-Kab-Indramayu__netura_2016-2017",
    "Spain__1-school__school",
    "Romania__Pedagogic-High-School-Tg-Mures__2007-2008_sem1-d",
    "Namibia__by-Bobby__set-7-2016__RehobothHSY2016T2d",
};

const char* const kVartholomio = "Greece__Vartholomio__2008-2009";
const char* const kSudan = "Sudan__Khartoum-2010-02-13";
const char* const kSpain = "Spain__1-school__school";
const char* const kRomania = "Romania__Pedagogic-High-School-Tg-Mures__2007-2008_sem1-d";
const char* const kIndonesia = "Indonesia__SMK-Negeri-1-Arahan-Kab-Indramayu__netura_2016-2017";
const char* const kNamibia = "Namibia__by-Bobby__set-7-2016__RehobothHSY2016T2d";
const char* const kVietnam = "Vietnam__3-THCS__TKB-THCS-DucHop_KimDong_HungYen-8_2015";

bool shareTeacher(const Act& a, const Act& b) {
  for (const auto& t : a.teachers) {
    if (std::find(b.teachers.begin(), b.teachers.end(), t) != b.teachers.end()) {
      return true;
    }
  }
  return false;
}

bool shareStudents(const Act& a, const Act& b) {
  for (const auto& l : a.leaves) {
    if (b.leaves.count(l) > 0) {
      return true;
    }
  }
  return false;
}

// Whether activity `id` placed at (day, hour) would meet another activity of one of its teachers
// (checkTeachers) or sharing students with it (checkStudents).
bool wouldMeet(const Case& c, int id, int day, int hour, bool checkTeachers, bool checkStudents) {
  const Act& a = c.acts.at(id);
  for (int k = 0; k < a.duration; ++k) {
    auto others = c.at(day, hour + k, [&](const Act& b) {
      return b.id != id && ((checkTeachers && shareTeacher(a, b)) || (checkStudents && shareStudents(a, b)));
    });
    if (!others.empty()) {
      return true;
    }
  }
  return false;
}

// Moves activity `id` so that it starts at (day, hour).
void moveTo(Case& c, int id, int day, int hour) {
  Entry& e = c.entry(id);
  e.day = c.days.at(day);
  e.hour = c.hours.at(hour);
}

// Not-available style constraint: its (day, hour) pairs.
std::vector<std::pair<int, int>> slotsOf(const Case& c, const xml::Element* con, const char* item) {
  std::vector<std::pair<int, int>> out;
  for (const auto* t : con->childrenNamed(item)) {
    out.emplace_back(c.dayIndex(t->child("Day")->text), c.hourIndex(t->child("Hour")->text));
  }
  return out;
}

}  // namespace

TEST_CASE("FET's reference timetables have no hard violation and FET's soft total", "[timetable][checker]") {
  for (const char* name : kReferences) {
    SECTION(name) {
      Case c(name);
      tc::Report r = c.check();
      INFO(dump(r));
      CHECK(r.hardViolations.empty());
      CHECK(r.unsupported.empty());
      CHECK(r.placed == r.total);
      CHECK(r.total == static_cast<int>(c.acts.size()));
      // FET prints its total with two decimals at most; the checker sums the same weights.
      CHECK(r.softConflicts == Approx(fetTotal(name)).margin(0.005));
    }
  }
}

TEST_CASE("the soft conflicts list the broken constraints like FET's report", "[timetable][checker]") {
  Case c(kSudan);
  tc::Report r = c.check();
  // FET lists 16 broken soft constraints for this timetable: 3 min days, 2 preferred room,
  // 10 preferred rooms, 1 students set home room (activity 164).
  CHECK(r.softViolations.size() == 16);
  auto count = [&](const std::string& kind) {
    return std::count_if(r.softViolations.begin(), r.softViolations.end(),
                         [&](const std::string& v) { return v.rfind(kind + " ", 0) == 0; });
  };
  CHECK(count("ConstraintMinDaysBetweenActivities") == 3);
  CHECK(count("ConstraintActivityPreferredRoom") == 2);
  CHECK(count("ConstraintActivityPreferredRooms") == 10);
  CHECK(count("ConstraintStudentsSetHomeRoom") == 1);
}

TEST_CASE("checker: teacher clash", "[timetable][checker]") {
  Case c(kVartholomio);
  // Two activities of one teacher; move the first onto the second's start.
  std::optional<std::pair<int, int>> pick;
  for (auto& ea : c.entries) {
    for (auto& eb : c.entries) {
      if (ea.id != eb.id && shareTeacher(c.acts[ea.id], c.acts[eb.id]) && !shareStudents(c.acts[ea.id], c.acts[eb.id]) &&
          c.acts[ea.id].duration == 1 && ea.day != eb.day) {
        pick = {ea.id, eb.id};
        break;
      }
    }
    if (pick) {
      break;
    }
  }
  REQUIRE(pick);
  Entry b = c.entry(pick->second);
  c.entry(pick->first).day = b.day;
  c.entry(pick->first).hour = b.hour;
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (teacher clash)", pick->first));
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (teacher clash)", pick->second));
}

TEST_CASE("checker: students clash", "[timetable][checker]") {
  Case c(kRomania);
  std::optional<std::pair<int, int>> pick;
  for (auto& ea : c.entries) {
    for (auto& eb : c.entries) {
      if (ea.id != eb.id && !shareTeacher(c.acts[ea.id], c.acts[eb.id]) && shareStudents(c.acts[ea.id], c.acts[eb.id]) &&
          c.acts[ea.id].duration == 1 && ea.day != eb.day &&
          !wouldMeet(c, ea.id, c.dayIndex(eb.day), c.hourIndex(eb.hour), true, false)) {
        pick = {ea.id, eb.id};
        break;
      }
    }
    if (pick) {
      break;
    }
  }
  REQUIRE(pick);
  Entry b = c.entry(pick->second);
  c.entry(pick->first).day = b.day;
  c.entry(pick->first).hour = b.hour;
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (students clash)", pick->first));
  CHECK_FALSE(hasHard(r, "ConstraintBasicCompulsoryTime (teacher clash)", pick->first));
}

TEST_CASE("checker: room clash", "[timetable][checker]") {
  Case c(kSpain);
  // Two activities in different rooms at different times, without a common teacher or students:
  // give the first the second's slot and room.
  std::optional<std::pair<int, int>> pick;
  for (auto& ea : c.entries) {
    for (auto& eb : c.entries) {
      const Act& a = c.acts[ea.id];
      const Act& b = c.acts[eb.id];
      if (ea.id != eb.id && !ea.room.empty() && !eb.room.empty() && ea.room != eb.room && !shareTeacher(a, b) &&
          !shareStudents(a, b) && a.duration == 1 && ea.day != eb.day &&
          !wouldMeet(c, ea.id, c.dayIndex(eb.day), c.hourIndex(eb.hour), true, true)) {
        pick = {ea.id, eb.id};
        break;
      }
    }
    if (pick) {
      break;
    }
  }
  REQUIRE(pick);
  Entry b = c.entry(pick->second);
  Entry& a = c.entry(pick->first);
  a.day = b.day;
  a.hour = b.hour;
  a.room = b.room;
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintBasicCompulsorySpace (room clash)", pick->first));
  CHECK_FALSE(hasHard(r, "ConstraintBasicCompulsoryTime"));
}

TEST_CASE("checker: room capacity and unknown room", "[timetable][checker]") {
  Case c(kSpain);
  // The smallest room, and an activity with more students than it holds (sizes from the sets).
  std::map<std::string, int> sizes;
  for (const auto* y : c.fet->child("Students_List")->childrenNamed("Year")) {
    sizes[y->child("Name")->text] = toInt(y->child("Number_of_Students")->text);
    for (const auto* g : y->childrenNamed("Group")) {
      sizes[g->child("Name")->text] = toInt(g->child("Number_of_Students")->text);
    }
  }
  std::string smallest;
  int cap = 1 << 30;
  for (const auto* room : c.fet->child("Rooms_List")->childrenNamed("Room")) {
    int k = toInt(room->child("Capacity")->text);
    if (k < cap) {
      cap = k;
      smallest = room->child("Name")->text;
    }
  }
  int victim = 0;
  for (const Entry& e : c.entries) {
    int n = 0;
    for (const auto& s : c.acts[e.id].students) {
      n += sizes[s];
    }
    if (n > cap) {
      victim = e.id;
      break;
    }
  }
  REQUIRE(victim != 0);
  c.entry(victim).room = smallest;
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintBasicCompulsorySpace (room capacity)", victim));

  c.entry(victim).room = "No such room";
  r = c.check();
  CHECK(hasHard(r, "ConstraintBasicCompulsorySpace (unknown room)", victim));
}

TEST_CASE("checker: teacher not available", "[timetable][checker]") {
  Case c(kIndonesia);
  bool done = false;
  for (const auto* con : c.constraints("ConstraintTeacherNotAvailableTimes")) {
    if (!Case::hard(con) || done) {
      continue;
    }
    std::string teacher = con->child("Teacher")->text;
    for (const std::pair<int, int>& slot : slotsOf(c, con, "Not_Available_Time")) {
      const int d = slot.first, h = slot.second;
      for (const Entry& e : c.entries) {
        const Act& a = c.acts[e.id];
        if (std::find(a.teachers.begin(), a.teachers.end(), teacher) != a.teachers.end() &&
            h + a.duration <= static_cast<int>(c.hours.size())) {
          moveTo(c, e.id, d, h);
          tc::Report r = c.check();
          INFO(dump(r));
          CHECK(hasHard(r, "ConstraintTeacherNotAvailableTimes", e.id));
          done = true;
          break;
        }
      }
      break;
    }
  }
  CHECK(done);
}

TEST_CASE("checker: students set not available", "[timetable][checker]") {
  Case c(kRomania);
  bool done = false;
  for (const auto* con : c.constraints("ConstraintStudentsSetNotAvailableTimes")) {
    if (!Case::hard(con) || done) {
      continue;
    }
    std::string set = con->child("Students")->text;
    auto slots = slotsOf(c, con, "Not_Available_Time");
    if (slots.empty()) {
      continue;
    }
    const int d = slots.front().first, h = slots.front().second;
    for (const Entry& e : c.entries) {
      const Act& a = c.acts[e.id];
      if (std::find(a.students.begin(), a.students.end(), set) != a.students.end() &&
          h + a.duration <= static_cast<int>(c.hours.size())) {
        moveTo(c, e.id, d, h);
        tc::Report r = c.check();
        INFO(dump(r));
        CHECK(hasHard(r, "ConstraintStudentsSetNotAvailableTimes", e.id));
        done = true;
        break;
      }
    }
  }
  CHECK(done);
}

TEST_CASE("checker: room not available", "[timetable][checker]") {
  Case c(kSpain);
  auto cons = c.constraints("ConstraintRoomNotAvailableTimes");
  REQUIRE(!cons.empty());
  std::string room = cons.front()->child("Room")->text;
  const std::pair<int, int> slot = slotsOf(c, cons.front(), "Not_Available_Time").front();
  const int d = slot.first, h = slot.second;
  int victim = 0;
  for (const Entry& e : c.entries) {
    if (e.room == room && h + c.acts[e.id].duration <= static_cast<int>(c.hours.size())) {
      victim = e.id;
      break;
    }
  }
  REQUIRE(victim != 0);
  moveTo(c, victim, d, h);
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintRoomNotAvailableTimes", victim));
}

TEST_CASE("checker: break", "[timetable][checker]") {
  for (const char* name : {kNamibia, kSudan}) {
    Case c(name);
    auto cons = c.constraints("ConstraintBreakTimes");
    REQUIRE(!cons.empty());
    auto slots = slotsOf(c, cons.front(), "Break_Time");
    REQUIRE(!slots.empty());
    const std::pair<int, int> slot = slots.front();
    const int d = slot.first, h = slot.second;
    int victim = c.entries.front().id;
    for (const Entry& e : c.entries) {
      if (h + c.acts[e.id].duration <= static_cast<int>(c.hours.size())) {
        victim = e.id;
        break;
      }
    }
    moveTo(c, victim, d, h);
    tc::Report r = c.check();
    INFO(name << "\n" << dump(r));
    CHECK(hasHard(r, "ConstraintBreakTimes", victim));
  }
}

TEST_CASE("checker: min days between activities at 100 %", "[timetable][checker]") {
  Case c(kVartholomio);
  bool done = false;
  for (const auto* con : c.constraints("ConstraintMinDaysBetweenActivities")) {
    auto ids = con->childrenNamed("Activity_Id");
    if (!Case::hard(con) || ids.size() < 2) {
      continue;
    }
    int a = toInt(ids[0]->text), b = toInt(ids[1]->text);
    // Move a onto b's day, at any hour where it fits.
    Entry& ea = c.entry(a);
    ea.day = c.entry(b).day;
    tc::Report r = c.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintMinDaysBetweenActivities", a));
    done = true;
    break;
  }
  CHECK(done);
}

TEST_CASE("checker: min days with consecutive if same day", "[timetable][checker]") {
  // Soft min days constraints with "consecutive if same day": FET keeps such pairs adjacent
  // whatever the weight, so separating them on the same day is reported as hard.
  Case c(kIndonesia);
  // FET's report: 99 and 98 are placed consecutively on the same day.
  Entry& a = c.entry(99);
  const Entry b = c.entry(98);
  REQUIRE(a.day == b.day);
  int da = c.acts[99].duration, db = c.acts[98].duration;
  int hb = c.hourIndex(b.hour);
  int n = static_cast<int>(c.hours.size());
  int target = -1;
  for (int h = 0; h + da <= n && target < 0; ++h) {
    bool apart = h + da < hb || hb + db < h;  // neither overlapping nor adjacent
    if (apart) {
      target = h;
    }
  }
  REQUIRE(target >= 0);
  a.hour = c.hours[target];
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintMinDaysBetweenActivities (consecutive if same day)", 99));
}

TEST_CASE("checker: preferred starting time", "[timetable][checker]") {
  Case c(kVartholomio);
  auto cons = c.constraints("ConstraintActivityPreferredStartingTime");
  REQUIRE(!cons.empty());
  int id = toInt(cons.front()->child("Activity_Id")->text);
  Entry& e = c.entry(id);
  e.day = c.days[(c.dayIndex(e.day) + 1) % c.days.size()];
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintActivityPreferredStartingTime", id));
}

TEST_CASE("checker: preferred starting times and time slots", "[timetable][checker]") {
  {
    Case c(kRomania);
    auto cons = c.constraints("ConstraintActivityPreferredStartingTimes");
    REQUIRE(!cons.empty());
    int id = toInt(cons.front()->child("Activity_Id")->text);
    Entry& e = c.entry(id);
    e.day = c.days[(c.dayIndex(e.day) + 1) % c.days.size()];
    tc::Report r = c.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintActivityPreferredStartingTimes", id));
  }
  {
    Case c(kVartholomio);
    auto cons = c.constraints("ConstraintActivityPreferredTimeSlots");
    REQUIRE(!cons.empty());
    int id = toInt(cons.front()->child("Activity_Id")->text);
    Entry& e = c.entry(id);
    e.day = c.days[(c.dayIndex(e.day) + 1) % c.days.size()];
    tc::Report r = c.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintActivityPreferredTimeSlots", id));
  }
}

TEST_CASE("checker: activities preferred time slots (filtered by teacher/students/...)", "[timetable][checker]") {
  Case c(kVietnam);
  bool done = false;
  for (const auto* con : c.constraints("ConstraintActivitiesPreferredTimeSlots")) {
    if (!Case::hard(con)) {
      continue;
    }
    std::set<std::pair<int, int>> allowed;
    for (const auto* s : con->childrenNamed("Preferred_Time_Slot")) {
      allowed.emplace(c.dayIndex(s->child("Preferred_Day")->text), c.hourIndex(s->child("Preferred_Hour")->text));
    }
    std::string teacher = con->child("Teacher_Name")->text;
    std::string students = con->child("Students_Name")->text;
    for (const Entry& e : c.entries) {
      const Act& a = c.acts[e.id];
      if ((!teacher.empty() && std::find(a.teachers.begin(), a.teachers.end(), teacher) == a.teachers.end()) ||
          (!students.empty() && std::find(a.students.begin(), a.students.end(), students) == a.students.end())) {
        continue;
      }
      // A start whose occupied slots leave the allowed set.
      for (int d = 0; d < static_cast<int>(c.days.size()) && !done; ++d) {
        for (int h = 0; h + a.duration <= static_cast<int>(c.hours.size()) && !done; ++h) {
          bool outside = false;
          for (int k = 0; k < a.duration; ++k) {
            outside = outside || allowed.count({d, h + k}) == 0;
          }
          if (outside) {
            moveTo(c, e.id, d, h);
            tc::Report r = c.check();
            INFO(dump(r));
            CHECK(hasHard(r, "ConstraintActivitiesPreferredTimeSlots", e.id));
            done = true;
          }
        }
      }
      break;
    }
    if (done) {
      break;
    }
  }
  CHECK(done);
}

TEST_CASE("checker: same starting day, same starting time, not overlapping", "[timetable][checker]") {
  {
    Case c(kVietnam);
    auto cons = c.constraints("ConstraintActivitiesSameStartingDay");
    REQUIRE(!cons.empty());
    int a = toInt(cons.front()->childrenNamed("Activity_Id")[0]->text);
    Entry& e = c.entry(a);
    e.day = c.days[(c.dayIndex(e.day) + 1) % c.days.size()];
    tc::Report r = c.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintActivitiesSameStartingDay", a));
  }
  {
    // No reference timetable has activities-same-starting-time: add one to the instance for two
    // activities FET placed at different times.
    Case c(kVartholomio);
    const Entry& a = c.entries[0];
    const Entry* b = nullptr;
    for (const Entry& e : c.entries) {
      if (e.day != a.day || e.hour != a.hour) {
        b = &e;
        break;
      }
    }
    REQUIRE(b != nullptr);
    std::string con = "<ConstraintActivitiesSameStartingTime>\n<Weight_Percentage>100</Weight_Percentage>\n"
                      "<Number_of_Activities>2</Number_of_Activities>\n<Activity_Id>" +
                      std::to_string(a.id) + "</Activity_Id>\n<Activity_Id>" + std::to_string(b->id) +
                      "</Activity_Id>\n<Active>true</Active>\n<Comments></Comments>\n</ConstraintActivitiesSameStartingTime>\n";
    auto p = c.fetText.find("</Time_Constraints_List>");
    REQUIRE(p != std::string::npos);
    c.fetText.insert(p, con);
    tc::Report r = c.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintActivitiesSameStartingTime", a.id));
    CHECK(r.hardViolations.size() == 1);
  }
  {
    Case c(kVietnam);
    auto cons = c.constraints("ConstraintActivitiesNotOverlapping");
    REQUIRE(!cons.empty());
    auto ids = cons.front()->childrenNamed("Activity_Id");
    int a = toInt(ids[0]->text), b = toInt(ids[1]->text);
    Entry eb = c.entry(b);
    c.entry(a).day = eb.day;
    c.entry(a).hour = eb.hour;
    tc::Report r = c.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintActivitiesNotOverlapping", a));
  }
}

TEST_CASE("checker: preferred room, preferred rooms, home room", "[timetable][checker]") {
  Case c(kSudan);
  // A hard activity preferred room: put the activity elsewhere, then in no room.
  int id = 0;
  std::string room;
  for (const auto* con : c.constraints("ConstraintActivityPreferredRoom")) {
    if (Case::hard(con)) {
      id = toInt(con->child("Activity_Id")->text);
      room = con->child("Room")->text;
      break;
    }
  }
  REQUIRE(id != 0);
  std::string other;
  for (const auto* r : c.fet->child("Rooms_List")->childrenNamed("Room")) {
    if (r->child("Name")->text != room) {
      other = r->child("Name")->text;
      break;
    }
  }
  c.entry(id).room = other;
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintActivityPreferredRoom", id));
  c.entry(id).room = "";
  r = c.check();
  CHECK(hasHard(r, "ConstraintActivityPreferredRoom", id));

  // A hard preferred rooms set.
  Case c2(kSudan);
  for (const auto* con : c2.constraints("ConstraintActivityPreferredRooms")) {
    if (!Case::hard(con)) {
      continue;
    }
    std::set<std::string> allowed;
    for (const auto* p : con->childrenNamed("Preferred_Room")) {
      allowed.insert(p->text);
    }
    std::string outside;
    for (const auto* rr : c2.fet->child("Rooms_List")->childrenNamed("Room")) {
      if (allowed.count(rr->child("Name")->text) == 0) {
        outside = rr->child("Name")->text;
        break;
      }
    }
    int aid = toInt(con->child("Activity_Id")->text);
    c2.entry(aid).room = outside;
    r = c2.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintActivityPreferredRooms", aid));
    break;
  }

  // A hard students set home room (Spain): an activity of exactly that set, without its own
  // preferred room, moved to another room.
  Case c3(kSpain);
  bool done = false;
  for (const auto* con : c3.constraints("ConstraintStudentsSetHomeRoom")) {
    if (!Case::hard(con)) {
      continue;
    }
    std::string set = con->child("Students")->text;
    std::string home = con->child("Room")->text;
    for (Entry& e : c3.entries) {
      const Act& a = c3.acts[e.id];
      if (a.students.size() == 1 && a.students[0] == set && e.room == home) {
        std::string elsewhere = home == "A-1" ? "A-2" : "A-1";
        e.room = elsewhere;
        r = c3.check();
        INFO(dump(r));
        CHECK(hasHard(r, "ConstraintStudentsSetHomeRoom", e.id));
        done = true;
        break;
      }
    }
    if (done) {
      break;
    }
  }
  CHECK(done);
}

TEST_CASE("checker: subject preferred room and teacher home room", "[timetable][checker]") {
  Case c(kNamibia);
  auto cons = c.constraints("ConstraintSubjectPreferredRoom");
  REQUIRE(!cons.empty());
  std::string subject = cons.front()->child("Subject")->text;
  std::string room = cons.front()->child("Room")->text;
  int victim = 0;
  for (Entry& e : c.entries) {
    if (c.acts[e.id].subject == subject) {
      victim = e.id;
      e.room = "";
      break;
    }
  }
  REQUIRE(victim != 0);
  tc::Report r = c.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintSubjectPreferredRoom", victim));

  Case c2(kNamibia);
  bool done = false;
  for (const auto* con : c2.constraints("ConstraintTeacherHomeRoom")) {
    if (!Case::hard(con)) {
      continue;
    }
    std::string teacher = con->child("Teacher")->text;
    std::string home = con->child("Room")->text;
    for (Entry& e : c2.entries) {
      const Act& a = c2.acts[e.id];
      if (a.teachers.size() == 1 && a.teachers[0] == teacher && e.room == home) {
        e.room = "";
        r = c2.check();
        INFO(dump(r));
        CHECK(hasHard(r, "ConstraintTeacherHomeRoom", e.id));
        done = true;
        break;
      }
    }
    if (done) {
      break;
    }
  }
  CHECK(done);
}

TEST_CASE("checker: unplaced activity and activity over the end of the day", "[timetable][checker]") {
  Case c(kIndonesia);
  int gone = c.entries.front().id;
  c.remove(gone);
  tc::Report r = c.check();
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (unplaced activity)", gone));
  CHECK(r.placed == r.total - 1);

  Case c2(kIndonesia);
  int longId = 0;
  for (Entry& e : c2.entries) {
    if (c2.acts[e.id].duration >= 2) {
      longId = e.id;
      e.hour = c2.hours.back();
      break;
    }
  }
  REQUIRE(longId != 0);
  r = c2.check();
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (over the end of the day)", longId));
}

TEST_CASE("checker: max gaps (students per week, teachers per day)", "[timetable][checker]") {
  // Students: remove an activity from the middle of a subgroup's day -> at least one gap, and
  // Vartholomio allows none.
  {
    Case c(kVartholomio);
    bool done = false;
    for (const Entry& e : c.entries) {
      const Act& a = c.acts[e.id];
      int d = c.dayIndex(e.day), h = c.hourIndex(e.hour);
      if (a.leaves.empty() || h == 0 || h + a.duration >= static_cast<int>(c.hours.size())) {
        continue;
      }
      std::string leaf = *a.leaves.begin();
      auto uses = [&](const Act& x) { return x.leaves.count(leaf) > 0; };
      if (!c.at(d, h - 1, uses).empty() && !c.at(d, h + a.duration, uses).empty()) {
        c.remove(e.id);
        tc::Report r = c.check();
        INFO(dump(r));
        CHECK(hasHard(r, "ConstraintStudentsMaxGapsPerWeek"));
        done = true;
        break;
      }
    }
    CHECK(done);
  }
  // Teachers: keep only the first and last activity of a teacher's day; at least 2 gaps there,
  // and Vartholomio allows 1 per day.
  {
    Case c(kVartholomio);
    auto cons = c.constraints("ConstraintTeachersMaxGapsPerDay");
    REQUIRE(!cons.empty());
    int maxGaps = toInt(cons.front()->child("Max_Gaps")->text);
    bool done = false;
    std::set<std::string> teachers;
    for (const auto& [id, a] : c.acts) {
      teachers.insert(a.teachers.begin(), a.teachers.end());
    }
    for (const std::string& t : teachers) {
      for (int d = 0; d < static_cast<int>(c.days.size()) && !done; ++d) {
        std::vector<std::pair<int, int>> day;  // (start, id)
        for (const Entry& e : c.entries) {
          const Act& a = c.acts[e.id];
          if (c.dayIndex(e.day) == d && std::find(a.teachers.begin(), a.teachers.end(), t) != a.teachers.end()) {
            day.emplace_back(c.hourIndex(e.hour), e.id);
          }
        }
        std::sort(day.begin(), day.end());
        if (day.size() < 3) {
          continue;
        }
        int span = day.back().first + c.acts[day.back().second].duration - day.front().first;
        int kept = c.acts[day.front().second].duration + c.acts[day.back().second].duration;
        if (span - kept <= maxGaps) {
          continue;
        }
        for (std::size_t i = 1; i + 1 < day.size(); ++i) {
          c.remove(day[i].second);
        }
        tc::Report r = c.check();
        INFO(dump(r));
        CHECK(hasHard(r, "ConstraintTeachersMaxGapsPerDay"));
        done = true;
      }
      if (done) {
        break;
      }
    }
    CHECK(done);
  }
}

TEST_CASE("checker: max hours daily, max days per week, min hours daily", "[timetable][checker]") {
  // Max hours daily (Vartholomio, all teachers): move a teacher's other activities into free
  // hours of their busiest day until it exceeds the maximum.
  {
    Case c(kVartholomio);
    auto cons = c.constraints("ConstraintTeachersMaxHoursDaily");
    REQUIRE(!cons.empty());
    int maxH = toInt(cons.front()->child("Maximum_Hours_Daily")->text);
    std::string teacher = c.acts.begin()->second.teachers.at(0);
    auto teaches = [&](const Act& a) { return std::find(a.teachers.begin(), a.teachers.end(), teacher) != a.teachers.end(); };
    int nH = static_cast<int>(c.hours.size());
    int busiest = c.dayIndex(c.entries.front().day);
    for (const Entry& e : c.entries) {
      if (teaches(c.acts[e.id])) {
        busiest = c.dayIndex(e.day);
        break;
      }
    }
    auto hoursOn = [&](int d) {
      int n = 0;
      for (int h = 0; h < nH; ++h) {
        n += c.at(d, h, teaches).empty() ? 0 : 1;
      }
      return n;
    };
    for (Entry& e : c.entries) {
      if (hoursOn(busiest) > maxH) {
        break;
      }
      const Act& a = c.acts[e.id];
      if (!teaches(a) || c.dayIndex(e.day) == busiest || a.duration != 1) {
        continue;
      }
      for (int h = 0; h < nH; ++h) {
        if (c.at(busiest, h, teaches).empty()) {
          e.day = c.days[busiest];
          e.hour = c.hours[h];
          break;
        }
      }
    }
    REQUIRE(hoursOn(busiest) > maxH);
    tc::Report r = c.check();
    INFO(dump(r));
    CHECK(hasHard(r, "ConstraintTeachersMaxHoursDaily"));
  }
  // Max days per week (Spain, one teacher): move one activity to a day the teacher has free.
  {
    Case c(kSpain);
    auto cons = c.constraints("ConstraintTeacherMaxDaysPerWeek");
    REQUIRE(!cons.empty());
    bool done = false;
    for (const auto* con : cons) {
      std::string teacher = con->child("Teacher_Name")->text;
      int maxD = toInt(con->child("Max_Days_Per_Week")->text);
      std::set<int> worked;
      std::vector<int> mine;
      for (const Entry& e : c.entries) {
        const Act& a = c.acts[e.id];
        if (std::find(a.teachers.begin(), a.teachers.end(), teacher) != a.teachers.end()) {
          worked.insert(c.dayIndex(e.day));
          mine.push_back(e.id);
        }
      }
      if (static_cast<int>(worked.size()) != maxD || mine.size() < 2) {
        continue;
      }
      for (int d = 0; d < static_cast<int>(c.days.size()); ++d) {
        if (worked.count(d) == 0) {
          // Move an activity from a day where the teacher has another one, so the day count grows.
          for (int id : mine) {
            int day = c.dayIndex(c.entry(id).day);
            int sameDay = 0;
            for (int other : mine) {
              sameDay += c.dayIndex(c.entry(other).day) == day ? 1 : 0;
            }
            if (sameDay > 1) {
              c.entry(id).day = c.days[d];
              done = true;
              break;
            }
          }
          break;
        }
      }
      if (done) {
        tc::Report r = c.check();
        INFO(dump(r));
        CHECK(hasHard(r, "ConstraintTeacherMaxDaysPerWeek"));
        break;
      }
    }
    CHECK(done);
  }
  // Min hours daily (Romania, all teachers, empty days allowed): leave one hour on a day with more.
  {
    Case c(kRomania);
    auto cons = c.constraints("ConstraintTeachersMinHoursDaily");
    REQUIRE(!cons.empty());
    int minH = toInt(cons.front()->child("Minimum_Hours_Daily")->text);
    REQUIRE(minH >= 2);
    bool done = false;
    for (const Entry& e : c.entries) {
      const Act& a = c.acts[e.id];
      if (a.teachers.size() != 1 || a.duration != 1) {
        continue;
      }
      const std::string teacher = a.teachers[0];
      int d = c.dayIndex(e.day);
      std::vector<int> ids;
      for (const Entry& o : c.entries) {
        const Act& b = c.acts[o.id];
        if (c.dayIndex(o.day) == d && std::find(b.teachers.begin(), b.teachers.end(), teacher) != b.teachers.end()) {
          ids.push_back(o.id);
        }
      }
      if (ids.size() < 2) {
        continue;
      }
      for (int id : ids) {
        if (id != e.id) {
          c.remove(id);
        }
      }
      tc::Report r = c.check();
      INFO(dump(r));
      CHECK(hasHard(r, "ConstraintTeachersMinHoursDaily"));
      done = true;
      break;
    }
    CHECK(done);
  }
}

TEST_CASE("checker: early beginnings and activity ends students day", "[timetable][checker]") {
  // Vartholomio allows no beginning at the second hour: drop a first-hour activity of a subgroup
  // whose second hour is busy.
  {
    Case c(kVartholomio);
    bool done = false;
    for (const Entry& e : c.entries) {
      const Act& a = c.acts[e.id];
      if (c.hourIndex(e.hour) != 0 || a.duration != 1 || a.leaves.empty()) {
        continue;
      }
      std::string leaf = *a.leaves.begin();
      auto uses = [&](const Act& x) { return x.leaves.count(leaf) > 0; };
      if (!c.at(c.dayIndex(e.day), 1, uses).empty()) {
        c.remove(e.id);
        tc::Report r = c.check();
        INFO(dump(r));
        CHECK(hasHard(r, "ConstraintStudentsEarlyMaxBeginningsAtSecondHour"));
        done = true;
        break;
      }
    }
    CHECK(done);
  }
  {
    Case c(kRomania);
    bool done = false;
    for (const auto* con : c.constraints("ConstraintActivityEndsStudentsDay")) {
      int id = toInt(con->child("Activity_Id")->text);
      const Entry& last = c.entry(id);
      const Act& a = c.acts[id];
      int end = c.hourIndex(last.hour) + a.duration;
      if (end >= static_cast<int>(c.hours.size())) {
        continue;
      }
      for (Entry& e : c.entries) {
        const Act& b = c.acts[e.id];
        if (e.id != id && b.duration == 1 && shareStudents(a, b)) {
          e.day = last.day;
          e.hour = c.hours[end];
          tc::Report r = c.check();
          INFO(dump(r));
          CHECK(hasHard(r, "ConstraintActivityEndsStudentsDay", id));
          done = true;
          break;
        }
      }
      if (done) {
        break;
      }
    }
    CHECK(done);
  }
}

TEST_CASE("checker: a small synthetic instance (capacity, virtual room, unsupported type)", "[timetable][checker]") {
  const std::string fet = R"(<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Mode>Official</Mode>
<Days_List><Number_of_Days>2</Number_of_Days><Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day></Days_List>
<Hours_List><Number_of_Hours>3</Number_of_Hours><Hour><Name>h1</Name></Hour><Hour><Name>h2</Name></Hour><Hour><Name>h3</Name></Hour></Hours_List>
<Teachers_List><Teacher><Name>T1</Name></Teacher><Teacher><Name>T2</Name></Teacher></Teachers_List>
<Students_List>
<Year><Name>Y</Name><Number_of_Students>40</Number_of_Students>
  <Group><Name>G1</Name><Number_of_Students>20</Number_of_Students>
    <Subgroup><Name>S1</Name><Number_of_Students>10</Number_of_Students></Subgroup>
    <Subgroup><Name>S2</Name><Number_of_Students>10</Number_of_Students></Subgroup></Group>
  <Group><Name>G2</Name><Number_of_Students>20</Number_of_Students>
    <Subgroup><Name>S2</Name><Number_of_Students>10</Number_of_Students></Subgroup></Group>
</Year>
</Students_List>
<Activities_List>
<Activity><Teacher>T1</Teacher><Subject>M</Subject><Students>G1</Students><Duration>1</Duration><Id>1</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T2</Teacher><Subject>M</Subject><Students>G2</Students><Duration>2</Duration><Id>2</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T2</Teacher><Subject>M</Subject><Students>S1</Students><Duration>1</Duration><Id>3</Id><Activity_Group_Id>0</Activity_Group_Id><Active>false</Active></Activity>
</Activities_List>
<Rooms_List>
<Room><Name>Small</Name><Capacity>15</Capacity><Virtual>false</Virtual></Room>
<Room><Name>Big</Name><Capacity>50</Capacity><Virtual>false</Virtual></Room>
</Rooms_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsoryTime>
<ConstraintTeacherMaxSpanPerDay><Weight_Percentage>100</Weight_Percentage><Teacher_Name>T1</Teacher_Name><Max_Span>2</Max_Span><Active>true</Active></ConstraintTeacherMaxSpanPerDay>
<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>T1</Teacher><Number_of_Not_Available_Times>1</Number_of_Not_Available_Times><Not_Available_Time><Day>Tue</Day><Hour>h1</Hour></Not_Available_Time><Active>false</Active></ConstraintTeacherNotAvailableTimes>
</Time_Constraints_List>
<Space_Constraints_List>
<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsorySpace>
</Space_Constraints_List>
</fet>
)";
  auto tt = [](const std::string& body) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Activities_Timetable>\n" + body + "</Activities_Timetable>\n";
  };
  auto act = [](int id, const std::string& day, const std::string& hour, const std::string& room) {
    return "<Activity><Id>" + std::to_string(id) + "</Id><Day>" + day + "</Day><Hour>" + hour + "</Hour><Room>" + room +
           "</Room></Activity>\n";
  };
  // Valid: G1 and G2 share subgroup S2, so they must not overlap; the inactive activity and the
  // inactive not-available constraint are ignored.
  tc::Report r = tc::check(fet, tt(act(1, "Tue", "h1", "Big") + act(2, "Mon", "h1", "")));
  INFO(dump(r));
  CHECK(r.hardViolations.empty());
  CHECK(r.placed == 2);
  CHECK(r.total == 2);
  REQUIRE(r.unsupported.size() == 1);
  CHECK(r.unsupported[0].find("ConstraintTeacherMaxSpanPerDay") == 0);

  // Shared subgroup S2 (G1 and G2, no common teacher) -> students clash; capacity 15 < 20.
  r = tc::check(fet, tt(act(1, "Mon", "h2", "Small") + act(2, "Mon", "h1", "")));
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (students clash)", 1));
  CHECK(hasHard(r, "ConstraintBasicCompulsorySpace (room capacity)", 1));
  CHECK_FALSE(hasHard(r, "ConstraintBasicCompulsoryTime (teacher clash)"));

  // Duration 2 from the last hour; a placement twice; an unknown activity; an unknown hour.
  r = tc::check(fet, tt(act(2, "Mon", "h3", "") + act(2, "Tue", "h1", "") + act(9, "Mon", "h1", "") +
                        act(1, "Mon", "h9", "")));
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (over the end of the day)", 2));
  CHECK(hasHard(r, "Timetable (placed twice)", 2));
  CHECK(hasHard(r, "Timetable (unknown activity)", 9));
  CHECK(hasHard(r, "Timetable (unknown slot)", 1));
  CHECK(hasHard(r, "ConstraintBasicCompulsoryTime (unplaced activity)", 1));
}

TEST_CASE("checker: malformed input is a clear error", "[timetable][checker]") {
  Case c(kSudan);
  std::string tt = c.timetable();
  CHECK_THROWS_WITH(tc::check("not xml at all", tt), Catch::Contains("XML error"));
  CHECK_THROWS_WITH(tc::check(c.fetText, "<Activities_Timetable><Activity><Id>1</Id></Activities_Timetable>"),
                    Catch::Contains("does not match"));
  CHECK_THROWS_WITH(tc::check(c.fetText, "<fet></fet>"), Catch::Contains("Activities_Timetable"));
  CHECK_THROWS_WITH(tc::check(tt, tt), Catch::Contains("expected <fet>"));
  CHECK_THROWS_WITH(tc::check(c.fetText, "<Activities_Timetable><Activity><Id>x1</Id></Activity></Activities_Timetable>"),
                    Catch::Contains("not an integer"));
  CHECK_THROWS_AS(tc::check(c.fetText.substr(0, c.fetText.size() / 2), tt), std::runtime_error);
}

TEST_CASE("checker: pair and selection constraints (synthetic instance)", "[timetable][checker]") {
  auto activity = [](int id, const std::string& teacher, const std::string& students) {
    return "<Activity><Teacher>" + teacher + "</Teacher><Subject>M</Subject><Students>" + students +
           "</Students><Duration>1</Duration><Id>" + std::to_string(id) +
           "</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>\n";
  };
  const std::string fet = R"(<fet version="6.8.5">
<Days_List><Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day><Day><Name>Wed</Name></Day></Days_List>
<Hours_List><Hour><Name>h1</Name></Hour><Hour><Name>h2</Name></Hour><Hour><Name>h3</Name></Hour><Hour><Name>h4</Name></Hour></Hours_List>
<Teachers_List><Teacher><Name>T1</Name></Teacher><Teacher><Name>T2</Name></Teacher><Teacher><Name>T3</Name></Teacher><Teacher><Name>T4</Name></Teacher></Teachers_List>
<Students_List><Year><Name>Y1</Name></Year><Year><Name>Y3</Name></Year><Year><Name>Y4</Name></Year></Students_List>
<Activities_List>
)" + activity(1, "T1", "Y1") + activity(2, "T2", "Y1") + activity(3, "T3", "Y3") + activity(4, "T4", "Y4") +
                          R"(</Activities_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage></ConstraintBasicCompulsoryTime>
<ConstraintTwoActivitiesConsecutive><Weight_Percentage>100</Weight_Percentage><First_Activity_Id>1</First_Activity_Id><Second_Activity_Id>2</Second_Activity_Id></ConstraintTwoActivitiesConsecutive>
<ConstraintTwoActivitiesOrdered><Weight_Percentage>100</Weight_Percentage><First_Activity_Id>3</First_Activity_Id><Second_Activity_Id>4</Second_Activity_Id></ConstraintTwoActivitiesOrdered>
<ConstraintTwoActivitiesGrouped><Weight_Percentage>50</Weight_Percentage><First_Activity_Id>2</First_Activity_Id><Second_Activity_Id>3</Second_Activity_Id></ConstraintTwoActivitiesGrouped>
<ConstraintMinGapsBetweenActivities><Weight_Percentage>100</Weight_Percentage><Number_of_Activities>2</Number_of_Activities><Activity_Id>3</Activity_Id><Activity_Id>4</Activity_Id><MinGaps>1</MinGaps></ConstraintMinGapsBetweenActivities>
<ConstraintMaxDaysBetweenActivities><Weight_Percentage>100</Weight_Percentage><Number_of_Activities>2</Number_of_Activities><Activity_Id>1</Activity_Id><Activity_Id>4</Activity_Id><MaxDays>1</MaxDays></ConstraintMaxDaysBetweenActivities>
<ConstraintActivitiesOccupyMaxTimeSlotsFromSelection><Weight_Percentage>100</Weight_Percentage><Number_of_Activities>4</Number_of_Activities><Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id><Activity_Id>3</Activity_Id><Activity_Id>4</Activity_Id>
  <Number_of_Selected_Time_Slots>2</Number_of_Selected_Time_Slots>
  <Selected_Time_Slot><Selected_Day>Wed</Selected_Day><Selected_Hour>h2</Selected_Hour></Selected_Time_Slot>
  <Selected_Time_Slot><Selected_Day>Wed</Selected_Day><Selected_Hour>h3</Selected_Hour></Selected_Time_Slot>
  <Max_Number_of_Occupied_Time_Slots>1</Max_Number_of_Occupied_Time_Slots></ConstraintActivitiesOccupyMaxTimeSlotsFromSelection>
<ConstraintStudentsSetMaxDaysPerWeek><Weight_Percentage>100</Weight_Percentage><Students>Y1</Students><Max_Days_Per_Week>1</Max_Days_Per_Week></ConstraintStudentsSetMaxDaysPerWeek>
<ConstraintMinGapsBetweenActivities><Weight_Percentage>100</Weight_Percentage><Number_of_Activities>2</Number_of_Activities><Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id></ConstraintMinGapsBetweenActivities>
</Time_Constraints_List>
<Space_Constraints_List/>
</fet>
)";
  auto tt = [](std::vector<std::tuple<int, std::string, std::string>> placements) {
    std::string o = "<Activities_Timetable>\n";
    for (auto& [id, day, hour] : placements) {
      o += "<Activity><Id>" + std::to_string(id) + "</Id><Day>" + day + "</Day><Hour>" + hour + "</Hour><Room></Room></Activity>\n";
    }
    return o + "</Activities_Timetable>\n";
  };
  // Valid, except the soft grouping of 2 and 3 (50 % -> 0.5).
  tc::Report r = tc::check(fet, tt({{1, "Mon", "h1"}, {2, "Mon", "h2"}, {3, "Mon", "h4"}, {4, "Tue", "h1"}}));
  INFO(dump(r));
  CHECK(r.hardViolations.empty());
  CHECK(r.softConflicts == Approx(0.5));
  REQUIRE(r.softViolations.size() == 1);
  CHECK(r.softViolations[0].rfind("ConstraintTwoActivitiesGrouped", 0) == 0);
  // The second min gaps constraint lacks <MinGaps>: listed, not ignored.
  REQUIRE(r.unsupported.size() == 1);
  CHECK(r.unsupported[0].find("MinGaps") != std::string::npos);

  r = tc::check(fet, tt({{1, "Mon", "h2"}, {2, "Tue", "h1"}, {3, "Wed", "h2"}, {4, "Wed", "h3"}}));
  INFO(dump(r));
  CHECK(hasHard(r, "ConstraintTwoActivitiesConsecutive", 1));
  CHECK(hasHard(r, "ConstraintMinGapsBetweenActivities", 3));
  CHECK(hasHard(r, "ConstraintMaxDaysBetweenActivities", 4));
  CHECK(hasHard(r, "ConstraintActivitiesOccupyMaxTimeSlotsFromSelection"));
  CHECK(hasHard(r, "ConstraintStudentsSetMaxDaysPerWeek"));
  CHECK_FALSE(hasHard(r, "ConstraintTwoActivitiesOrdered"));

  r = tc::check(fet, tt({{1, "Mon", "h1"}, {2, "Mon", "h2"}, {3, "Tue", "h2"}, {4, "Mon", "h4"}}));
  CHECK(hasHard(r, "ConstraintTwoActivitiesOrdered", 3));
}

#ifdef ARDOISE_TIMETABLE_CHECK
TEST_CASE("timetable_check: exit status 0 valid, 1 hard violations, 2 unreadable input", "[timetable][checker]") {
  const std::string tool = ARDOISE_TIMETABLE_CHECK;
  const std::string fet = kFetDir + std::string(kSudan) + ".fet";
  const std::string ref = kFetDir + "fet-reference/" + std::string(kSudan) + ".activities.xml";
  auto status = [](const std::string& cmd) {
    int rc = std::system((cmd + " > /dev/null 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  CHECK(status("'" + tool + "' '" + fet + "' '" + ref + "'") == 0);

  Case c(kSudan);
  c.remove(c.entries.front().id);
  const std::string mutated = std::string(ARDOISE_BUILD_DIR) + "/timetable_check_mutated.xml";
  {
    std::ofstream out(mutated, std::ios::binary);
    out << c.timetable();
  }
  CHECK(status("'" + tool + "' '" + fet + "' '" + mutated + "'") == 1);
  CHECK(status("'" + tool + "' '" + fet + "' /nonexistent.xml") == 2);
  CHECK(status("'" + tool + "' '" + ref + "' '" + ref + "'") == 2);
  CHECK(status("'" + tool + "'") == 2);
  std::remove(mutated.c_str());
}
#endif
