// Independent timetable checker for FET instances. See checker.hpp.
//
// Vocabulary: a "slot" is day * nHours + hour; an activity occupies `duration` consecutive slots of
// one day from its start. The atomic student unit is the subgroup (a year without groups or a
// group without subgroups is its own subgroup); a set occupies all subgroups below it.

#include "timetable/checker.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "xml_reader.hpp"

namespace ardoise::timetable::checker {
namespace {

using xml::Element;

struct Activity {
  int id = 0;
  std::vector<std::string> teachers;
  std::string subject;
  std::vector<std::string> tags;
  std::vector<std::string> students;
  int duration = 1;
  int groupId = 0;
  int declaredStudents = -1;  // Number_Of_Students when given
  bool active = true;
  // Derived.
  std::vector<int> teacherIdx;
  std::vector<int> subgroups;
  int size = 0;
  // Placement.
  bool placed = false;
  int day = -1, hour = -1;
  std::string room;
  std::vector<std::string> realRooms;
};

struct Room {
  std::string name;
  int capacity = 0;
  bool isVirtual = false;
};

struct Constraint {
  std::string type;
  double weight = 100;
  const Element* e = nullptr;
  bool hard() const { return weight >= 100.0; }
};

// A constraint lacks a field the checker needs: the constraint is listed as unsupported.
struct MissingField : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return {};
  }
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string formatNumber(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

std::string joinIds(const std::vector<int>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) {
      out += i + 1 == ids.size() ? " and " : ", ";
    }
    out += std::to_string(ids[i]);
  }
  return out;
}

class Checker {
 public:
  Report run(std::string_view fetXml, std::string_view activitiesXml) {
    fet_ = xml::parse(fetXml);
    if (fet_->name != "fet") {
      throw std::runtime_error("instance: root element is <" + fet_->name + ">, expected <fet>");
    }
    tt_ = xml::parse(activitiesXml);
    if (tt_->name != "Activities_Timetable") {
      throw std::runtime_error("timetable: root element is <" + tt_->name + ">, expected <Activities_Timetable>");
    }
    readGrid();
    readTeachers();
    readStudents();
    readRooms();
    readActivities();
    readConstraints();
    readTimetable();
    buildOccupancy();
    prepareAvailability();
    checkBasicTime();
    checkBasicSpace();
    markPreferredRooms();
    for (const Constraint& c : constraints_) {
      try {
        evaluate(c);
      } catch (const MissingField& e) {
        unsupported(c, e.what());
      }
    }
    return std::move(report_);
  }

 private:
  // ---------- reading helpers ----------

  static const Element& required(const Element& e, std::string_view name, const std::string& where) {
    const Element* c = e.child(name);
    if (c == nullptr) {
      throw std::runtime_error(where + ": missing <" + std::string(name) + ">");
    }
    return *c;
  }

  static int toInt(const std::string& text, const std::string& where) {
    std::string t = trimmed(text);
    int v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || t.empty()) {
      throw std::runtime_error(where + ": '" + text + "' is not an integer");
    }
    return v;
  }

  static double toDouble(const std::string& text, const std::string& where) {
    std::string t = trimmed(text);
    try {
      std::size_t used = 0;
      double v = std::stod(t, &used);
      if (used != t.size()) {
        throw std::invalid_argument("trailing");
      }
      return v;
    } catch (const std::exception&) {
      throw std::runtime_error(where + ": '" + text + "' is not a number");
    }
  }

  static bool isTrue(const Element& e, std::string_view name, bool dflt) {
    const std::string* t = e.childText(name);
    if (t == nullptr) {
      return dflt;
    }
    std::string v = trimmed(*t);
    if (v.empty()) {
      return dflt;
    }
    return v == "true" || v == "1" || v == "yes";
  }

  std::string slotName(int day, int hour) const { return days_[day] + " " + hours_[hour]; }
  std::string slotName(int slot) const { return slotName(slot / nH_, slot % nH_); }

  void readGrid() {
    const Element& dl = required(*fet_, "Days_List", "instance");
    for (const Element* d : dl.childrenNamed("Day")) {
      days_.push_back(required(*d, "Name", "instance day").text);
    }
    const Element& hl = required(*fet_, "Hours_List", "instance");
    for (const Element* h : hl.childrenNamed("Hour")) {
      hours_.push_back(required(*h, "Name", "instance hour").text);
    }
    nD_ = static_cast<int>(days_.size());
    nH_ = static_cast<int>(hours_.size());
    if (nD_ == 0 || nH_ == 0) {
      throw std::runtime_error("instance: no days or no hours");
    }
    for (int i = 0; i < nD_; ++i) {
      dayIdx_.emplace(days_[i], i);
    }
    for (int i = 0; i < nH_; ++i) {
      hourIdx_.emplace(hours_[i], i);
    }
    nSlots_ = nD_ * nH_;
  }

  void readTeachers() {
    if (const Element* tl = fet_->child("Teachers_List")) {
      for (const Element* t : tl->childrenNamed("Teacher")) {
        const std::string& name = required(*t, "Name", "instance teacher").text;
        if (teacherIdx_.emplace(name, static_cast<int>(teachers_.size())).second) {
          teachers_.push_back(name);
        }
      }
    }
  }

  int subgroupIndex(const std::string& name) {
    auto [it, inserted] = subgroupIdx_.emplace(name, static_cast<int>(subgroups_.size()));
    if (inserted) {
      subgroups_.push_back(name);
    }
    return it->second;
  }

  void noteSize(const Element& e, const std::string& name) {
    if (const std::string* n = e.childText("Number_of_Students")) {
      if (!trimmed(*n).empty() && setSize_.count(name) == 0) {
        setSize_[name] = toInt(*n, "students set " + name);
      }
    }
  }

  void readStudents() {
    const Element* sl = fet_->child("Students_List");
    if (sl == nullptr) {
      return;
    }
    // First pass: which groups have subgroups somewhere (shared groups are unified by name).
    std::set<std::string> groupsWithSubgroups;
    for (const Element* y : sl->childrenNamed("Year")) {
      for (const Element* g : y->childrenNamed("Group")) {
        if (!g->childrenNamed("Subgroup").empty()) {
          groupsWithSubgroups.insert(required(*g, "Name", "instance group").text);
        }
      }
    }
    for (const Element* y : sl->childrenNamed("Year")) {
      const std::string& yname = required(*y, "Name", "instance year").text;
      noteSize(*y, yname);
      auto groups = y->childrenNamed("Group");
      auto& ysub = setSubgroups_[yname];
      if (groups.empty()) {
        ysub.insert(subgroupIndex(yname));
        continue;
      }
      for (const Element* g : groups) {
        const std::string& gname = required(*g, "Name", "instance group").text;
        noteSize(*g, gname);
        auto& gsub = setSubgroups_[gname];
        if (groupsWithSubgroups.count(gname) == 0) {
          gsub.insert(subgroupIndex(gname));
        }
        for (const Element* s : g->childrenNamed("Subgroup")) {
          const std::string& sname = required(*s, "Name", "instance subgroup").text;
          noteSize(*s, sname);
          int idx = subgroupIndex(sname);
          setSubgroups_[sname].insert(idx);
          gsub.insert(idx);
        }
        ysub.insert(gsub.begin(), gsub.end());
      }
    }
  }

  void readRooms() {
    if (const Element* rl = fet_->child("Rooms_List")) {
      for (const Element* r : rl->childrenNamed("Room")) {
        Room room;
        room.name = required(*r, "Name", "instance room").text;
        if (const std::string* cap = r->childText("Capacity")) {
          room.capacity = toInt(*cap, "room " + room.name + " capacity");
        } else {
          room.capacity = 1 << 30;
        }
        room.isVirtual = isTrue(*r, "Virtual", false);
        rooms_.emplace(room.name, room);
      }
    }
  }

  void readActivities() {
    const Element& al = required(*fet_, "Activities_List", "instance");
    for (const Element* a : al.childrenNamed("Activity")) {
      Activity act;
      act.id = toInt(required(*a, "Id", "instance activity").text, "activity Id");
      std::string where = "activity " + std::to_string(act.id);
      for (const Element* t : a->childrenNamed("Teacher")) {
        act.teachers.push_back(t->text);
      }
      if (const std::string* s = a->childText("Subject")) {
        act.subject = *s;
      }
      for (const Element* t : a->childrenNamed("Activity_Tag")) {
        act.tags.push_back(t->text);
      }
      for (const Element* t : a->childrenNamed("Students")) {
        act.students.push_back(t->text);
      }
      act.duration = toInt(required(*a, "Duration", where).text, where + " Duration");
      if (act.duration < 1) {
        throw std::runtime_error(where + ": Duration must be at least 1");
      }
      if (const std::string* g = a->childText("Activity_Group_Id")) {
        act.groupId = toInt(*g, where + " Activity_Group_Id");
      }
      const std::string* n = a->childText("Number_Of_Students");
      if (n == nullptr) {
        n = a->childText("Number_of_Students");
      }
      if (n != nullptr && !trimmed(*n).empty()) {
        act.declaredStudents = toInt(*n, where + " Number_Of_Students");
      }
      act.active = isTrue(*a, "Active", true);
      for (const std::string& t : act.teachers) {
        auto it = teacherIdx_.find(t);
        if (it == teacherIdx_.end()) {
          throw std::runtime_error(where + " names an unknown teacher '" + t + "'");
        }
        if (std::find(act.teacherIdx.begin(), act.teacherIdx.end(), it->second) == act.teacherIdx.end()) {
          act.teacherIdx.push_back(it->second);
        }
      }
      std::set<int> subs;
      int sum = 0;
      for (const std::string& s : act.students) {
        auto it = setSubgroups_.find(s);
        if (it == setSubgroups_.end()) {
          throw std::runtime_error(where + " names an unknown students set '" + s + "'");
        }
        subs.insert(it->second.begin(), it->second.end());
        auto sz = setSize_.find(s);
        sum += sz == setSize_.end() ? 0 : sz->second;
      }
      act.subgroups.assign(subs.begin(), subs.end());
      act.size = act.declaredStudents >= 0 ? act.declaredStudents : sum;
      if (!actIdx_.emplace(act.id, static_cast<int>(acts_.size())).second) {
        throw std::runtime_error("instance: duplicate activity Id " + std::to_string(act.id));
      }
      acts_.push_back(std::move(act));
      if (acts_.back().active) {
        ++report_.total;
      }
    }
  }

  void readConstraints() {
    for (const char* list : {"Time_Constraints_List", "Space_Constraints_List"}) {
      const Element* l = fet_->child(list);
      if (l == nullptr) {
        continue;
      }
      for (const auto& c : l->children) {
        if (!isTrue(*c, "Active", true)) {
          continue;
        }
        Constraint con;
        con.type = c->name;
        con.e = c.get();
        con.weight = toDouble(required(*c, "Weight_Percentage", c->name).text, c->name + " Weight_Percentage");
        constraints_.push_back(con);
      }
    }
  }

  void readTimetable() {
    std::set<int> seen;
    for (const Element* a : tt_->childrenNamed("Activity")) {
      int id = toInt(required(*a, "Id", "timetable activity").text, "timetable activity Id");
      auto it = actIdx_.find(id);
      if (it == actIdx_.end()) {
        hard("Timetable (unknown activity): the timetable places activity " + std::to_string(id) +
             ", which is not in the instance");
        continue;
      }
      Activity& act = acts_[it->second];
      if (!act.active) {
        // Inactive activities are ignored by FET; a placement for one is harmless.
        continue;
      }
      if (!seen.insert(id).second) {
        hard("Timetable (placed twice): activity " + std::to_string(id) + " appears more than once");
        continue;
      }
      const std::string* day = a->childText("Day");
      const std::string* hour = a->childText("Hour");
      if (day == nullptr || hour == nullptr || day->empty() || hour->empty()) {
        continue;  // unplaced, reported below
      }
      auto d = dayIdx_.find(*day);
      auto h = hourIdx_.find(*hour);
      if (d == dayIdx_.end() || h == hourIdx_.end()) {
        hard("Timetable (unknown slot): activity " + std::to_string(id) + " is placed at unknown day/hour '" + *day +
             "' '" + *hour + "'");
        continue;
      }
      act.placed = true;
      act.day = d->second;
      act.hour = h->second;
      if (const std::string* r = a->childText("Room")) {
        act.room = *r;
      }
      for (const Element* rr : a->childrenNamed("Real_Room")) {
        act.realRooms.push_back(rr->text);
      }
    }
    for (const Activity& act : acts_) {
      if (!act.active) {
        continue;
      }
      if (act.placed) {
        ++report_.placed;
      } else {
        hard("ConstraintBasicCompulsoryTime (unplaced activity): activity " + std::to_string(act.id) +
             " is not placed");
      }
    }
  }

  // ---------- occupancy ----------

  bool fits(const Activity& a) const { return a.placed && a.hour + a.duration <= nH_; }

  // Slots an activity occupies (clipped to the day).
  std::vector<int> slotsOf(const Activity& a) const {
    std::vector<int> out;
    if (!a.placed) {
      return out;
    }
    for (int k = 0; k < a.duration && a.hour + k < nH_; ++k) {
      out.push_back(a.day * nH_ + a.hour + k);
    }
    return out;
  }

  std::vector<std::string> roomsOf(const Activity& a) const {
    std::vector<std::string> out;
    if (!a.room.empty()) {
      out.push_back(a.room);
    }
    for (const std::string& r : a.realRooms) {
      if (!r.empty() && r != a.room) {
        out.push_back(r);
      }
    }
    return out;
  }

  void buildOccupancy() {
    teacherAt_.assign(teachers_.size(), std::vector<std::vector<int>>(nSlots_));
    subgroupAt_.assign(subgroups_.size(), std::vector<std::vector<int>>(nSlots_));
    for (int i = 0; i < static_cast<int>(acts_.size()); ++i) {
      const Activity& a = acts_[i];
      if (!a.active || !a.placed) {
        continue;
      }
      for (int s : slotsOf(a)) {
        for (int t : a.teacherIdx) {
          teacherAt_[t][s].push_back(i);
        }
        for (int g : a.subgroups) {
          subgroupAt_[g][s].push_back(i);
        }
        for (const std::string& r : roomsOf(a)) {
          auto& grid = roomAt_[r];
          if (grid.empty()) {
            grid.resize(nSlots_);
          }
          grid[s].push_back(i);
        }
      }
    }
  }

  // Slots that are not gaps (breaks, and the resource's not-available times at 100 %).
  void prepareAvailability() {
    breakSlot_.assign(nSlots_, false);
    teacherNA_.assign(teachers_.size(), std::vector<bool>(nSlots_, false));
    subgroupNA_.assign(subgroups_.size(), std::vector<bool>(nSlots_, false));
    for (const Constraint& c : constraints_) {
      if (!c.hard()) {
        continue;
      }
      if (c.type == "ConstraintBreakTimes") {
        for (int s : slotList(c, "Break_Time", "Day", "Hour")) {
          breakSlot_[s] = true;
        }
      } else if (c.type == "ConstraintTeacherNotAvailableTimes") {
        auto t = teacherIdx_.find(text(c, "Teacher"));
        if (t != teacherIdx_.end()) {
          for (int s : slotList(c, "Not_Available_Time", "Day", "Hour")) {
            teacherNA_[t->second][s] = true;
          }
        }
      } else if (c.type == "ConstraintStudentsSetNotAvailableTimes") {
        auto st = setSubgroups_.find(text(c, "Students"));
        if (st != setSubgroups_.end()) {
          for (int s : slotList(c, "Not_Available_Time", "Day", "Hour")) {
            for (int g : st->second) {
              subgroupNA_[g][s] = true;
            }
          }
        }
      }
    }
  }

  // ---------- reporting ----------

  void hard(std::string msg) { report_.hardViolations.push_back(std::move(msg)); }

  void violation(const Constraint& c, const std::string& msg, double count = 1) {
    if (c.hard()) {
      hard(c.type + ": " + msg);
    } else {
      double inc = c.weight / 100.0 * count;
      report_.softConflicts += inc;
      report_.softViolations.push_back(c.type + " (" + formatNumber(c.weight) + "%): " + msg +
                                       " (conflicts +" + formatNumber(inc) + ")");
    }
  }

  void unsupported(const Constraint& c, const std::string& why) {
    report_.unsupported.push_back(c.type + " (weight " + formatNumber(c.weight) + "%): " + why);
  }

  // ---------- basic rules ----------

  void clashes(const std::vector<std::vector<int>>& grid, const std::string& kind, const std::string& what) {
    for (int s = 0; s < nSlots_; ++s) {
      if (grid[s].size() > 1) {
        std::vector<int> ids;
        for (int i : grid[s]) {
          ids.push_back(acts_[i].id);
        }
        hard(kind + ": " + what + " has activities " + joinIds(ids) + " at the same time on " + slotName(s));
      }
    }
  }

  void checkBasicTime() {
    for (const Activity& a : acts_) {
      if (a.active && a.placed && !fits(a)) {
        hard("ConstraintBasicCompulsoryTime (over the end of the day): activity " + std::to_string(a.id) +
             " of duration " + std::to_string(a.duration) + " starts on " + slotName(a.day, a.hour) +
             " and runs past the last hour");
      }
    }
    for (std::size_t t = 0; t < teachers_.size(); ++t) {
      clashes(teacherAt_[t], "ConstraintBasicCompulsoryTime (teacher clash)", "teacher " + teachers_[t]);
    }
    for (std::size_t g = 0; g < subgroups_.size(); ++g) {
      clashes(subgroupAt_[g], "ConstraintBasicCompulsoryTime (students clash)", "subgroup " + subgroups_[g]);
    }
  }

  void checkBasicSpace() {
    for (const Activity& a : acts_) {
      if (!a.active || !a.placed) {
        continue;
      }
      for (const std::string& r : roomsOf(a)) {
        auto it = rooms_.find(r);
        if (it == rooms_.end()) {
          hard("ConstraintBasicCompulsorySpace (unknown room): activity " + std::to_string(a.id) +
               " is in room '" + r + "', which is not in the instance");
        }
      }
      if (!a.room.empty()) {
        auto it = rooms_.find(a.room);
        if (it != rooms_.end() && it->second.capacity < a.size) {
          hard("ConstraintBasicCompulsorySpace (room capacity): activity " + std::to_string(a.id) + " has " +
               std::to_string(a.size) + " students but room " + a.room + " holds " +
               std::to_string(it->second.capacity));
        }
        if (it != rooms_.end() && it->second.isVirtual && a.realRooms.empty()) {
          hard("ConstraintBasicCompulsorySpace (virtual room): activity " + std::to_string(a.id) +
               " is in virtual room " + a.room + " without real rooms");
        }
      }
    }
    for (const auto& [name, grid] : roomAt_) {
      auto it = rooms_.find(name);
      if (it != rooms_.end() && it->second.isVirtual) {
        continue;  // a virtual room is a set of real rooms; the real rooms are checked
      }
      clashes(grid, "ConstraintBasicCompulsorySpace (room clash)", "room " + name);
    }
  }

  // ---------- constraint field helpers ----------

  static std::string text(const Constraint& c, std::string_view field) {
    const std::string* t = c.e->childText(field);
    return t == nullptr ? std::string() : *t;
  }

  int intField(const Constraint& c, std::string_view field) const {
    const std::string* t = c.e->childText(field);
    if (t == nullptr) {
      throw MissingField("missing <" + std::string(field) + "> (constraint skipped)");
    }
    return toInt(*t, c.type + " " + std::string(field));
  }

  // The active activity whose id is in that field, or nullptr (unknown or inactive: ignored).
  const Activity* activityField(const Constraint& c, std::string_view field) const {
    int id = intField(c, field);
    auto it = actIdx_.find(id);
    if (it == actIdx_.end() || !acts_[it->second].active) {
      return nullptr;
    }
    return &acts_[it->second];
  }

  std::vector<int> slotList(const Constraint& c, std::string_view item, std::string_view dayField,
                            std::string_view hourField) const {
    std::vector<int> out;
    for (const Element* t : c.e->childrenNamed(item)) {
      const std::string* d = t->childText(dayField);
      const std::string* h = t->childText(hourField);
      if (d == nullptr || h == nullptr) {
        throw std::runtime_error(c.type + ": a <" + std::string(item) + "> lacks its day or hour");
      }
      auto di = dayIdx_.find(*d);
      auto hi = hourIdx_.find(*h);
      if (di == dayIdx_.end() || hi == hourIdx_.end()) {
        throw std::runtime_error(c.type + ": unknown day/hour '" + *d + "' '" + *h + "'");
      }
      out.push_back(di->second * nH_ + hi->second);
    }
    return out;
  }

  // Activity indices (active only) listed by Activity_Id children.
  std::vector<int> activityList(const Constraint& c) const {
    std::vector<int> out;
    for (const Element* e : c.e->childrenNamed("Activity_Id")) {
      int id = toInt(e->text, c.type + " Activity_Id");
      auto it = actIdx_.find(id);
      if (it != actIdx_.end() && acts_[it->second].active) {
        out.push_back(it->second);
      }
    }
    return out;
  }

  const Activity* oneActivity(const Constraint& c) const { return activityField(c, "Activity_Id"); }

  // Teachers a constraint applies to: one named teacher (field) or all (empty field name).
  std::vector<int> teachersFor(const Constraint& c, std::string_view field) {
    std::vector<int> out;
    if (field.empty()) {
      for (int t = 0; t < static_cast<int>(teachers_.size()); ++t) {
        out.push_back(t);
      }
      return out;
    }
    auto it = teacherIdx_.find(text(c, field));
    if (it == teacherIdx_.end()) {
      unsupported(c, "unknown teacher '" + text(c, field) + "' (constraint skipped)");
      return out;
    }
    out.push_back(it->second);
    return out;
  }

  std::vector<int> subgroupsFor(const Constraint& c, std::string_view field) {
    std::vector<int> out;
    if (field.empty()) {
      for (int g = 0; g < static_cast<int>(subgroups_.size()); ++g) {
        out.push_back(g);
      }
      return out;
    }
    auto it = setSubgroups_.find(text(c, field));
    if (it == setSubgroups_.end()) {
      unsupported(c, "unknown students set '" + text(c, field) + "' (constraint skipped)");
      return out;
    }
    out.assign(it->second.begin(), it->second.end());
    return out;
  }

  // Busy hours of one resource on one day.
  std::vector<bool> dayProfile(const std::vector<std::vector<int>>& grid, int day) const {
    std::vector<bool> busy(nH_, false);
    for (int h = 0; h < nH_; ++h) {
      busy[h] = !grid[day * nH_ + h].empty();
    }
    return busy;
  }

  static int countBusy(const std::vector<bool>& busy) {
    return static_cast<int>(std::count(busy.begin(), busy.end(), true));
  }

  // Idle hours between the first and last busy hour that are neither breaks nor not-available.
  int gapsOn(const std::vector<bool>& busy, const std::vector<bool>& na, int day) const {
    int first = -1, last = -1;
    for (int h = 0; h < nH_; ++h) {
      if (busy[h]) {
        if (first < 0) {
          first = h;
        }
        last = h;
      }
    }
    int gaps = 0;
    for (int h = first + 1; first >= 0 && h < last; ++h) {
      int s = day * nH_ + h;
      if (!busy[h] && !breakSlot_[s] && !na[s]) {
        ++gaps;
      }
    }
    return gaps;
  }

  struct Resource {
    std::string label;
    const std::vector<std::vector<int>>* grid;
    const std::vector<bool>* na;
  };

  std::vector<Resource> teacherResources(const std::vector<int>& ts) const {
    std::vector<Resource> out;
    for (int t : ts) {
      out.push_back({"teacher " + teachers_[t], &teacherAt_[t], &teacherNA_[t]});
    }
    return out;
  }

  std::vector<Resource> subgroupResources(const std::vector<int>& gs) const {
    std::vector<Resource> out;
    for (int g : gs) {
      out.push_back({"subgroup " + subgroups_[g], &subgroupAt_[g], &subgroupNA_[g]});
    }
    return out;
  }

  // ---------- per-resource rules ----------

  void maxGapsPerWeek(const Constraint& c, const std::vector<Resource>& rs) {
    int maxGaps = intField(c, "Max_Gaps");
    for (const Resource& r : rs) {
      int total = 0;
      for (int d = 0; d < nD_; ++d) {
        total += gapsOn(dayProfile(*r.grid, d), *r.na, d);
      }
      if (total > maxGaps) {
        violation(c, r.label + " has " + std::to_string(total) + " gaps in the week, more than " +
                         std::to_string(maxGaps));
      }
    }
  }

  void maxGapsPerDay(const Constraint& c, const std::vector<Resource>& rs) {
    int maxGaps = intField(c, "Max_Gaps");
    for (const Resource& r : rs) {
      for (int d = 0; d < nD_; ++d) {
        int g = gapsOn(dayProfile(*r.grid, d), *r.na, d);
        if (g > maxGaps) {
          violation(c, r.label + " has " + std::to_string(g) + " gaps on " + days_[d] + ", more than " +
                           std::to_string(maxGaps));
        }
      }
    }
  }

  void maxHoursDaily(const Constraint& c, const std::vector<Resource>& rs) {
    int maxH = intField(c, "Maximum_Hours_Daily");
    for (const Resource& r : rs) {
      for (int d = 0; d < nD_; ++d) {
        int n = countBusy(dayProfile(*r.grid, d));
        if (n > maxH) {
          violation(c, r.label + " has " + std::to_string(n) + " hours on " + days_[d] + ", more than " +
                           std::to_string(maxH));
        }
      }
    }
  }

  void minHoursDaily(const Constraint& c, const std::vector<Resource>& rs, bool defaultAllowEmpty) {
    int minH = intField(c, "Minimum_Hours_Daily");
    bool allowEmpty = isTrue(*c.e, "Allow_Empty_Days", defaultAllowEmpty);
    for (const Resource& r : rs) {
      for (int d = 0; d < nD_; ++d) {
        int n = countBusy(dayProfile(*r.grid, d));
        if ((n == 0 && !allowEmpty) || (n > 0 && n < minH)) {
          violation(c, r.label + " has " + std::to_string(n) + " hours on " + days_[d] + ", fewer than " +
                           std::to_string(minH));
        }
      }
    }
  }

  int daysWorked(const Resource& r, int fromHour, int toHour) const {
    int n = 0;
    for (int d = 0; d < nD_; ++d) {
      for (int h = fromHour; h < toHour; ++h) {
        if (!(*r.grid)[d * nH_ + h].empty()) {
          ++n;
          break;
        }
      }
    }
    return n;
  }

  void maxDaysPerWeek(const Constraint& c, const std::vector<Resource>& rs) {
    int maxD = intField(c, "Max_Days_Per_Week");
    for (const Resource& r : rs) {
      int n = daysWorked(r, 0, nH_);
      if (n > maxD) {
        violation(c, r.label + " works " + std::to_string(n) + " days, more than " + std::to_string(maxD));
      }
    }
  }

  void minDaysPerWeek(const Constraint& c, const std::vector<Resource>& rs) {
    int minD = intField(c, "Minimum_Days_Per_Week");
    for (const Resource& r : rs) {
      int n = daysWorked(r, 0, nH_);
      if (n < minD) {
        violation(c, r.label + " works " + std::to_string(n) + " days, fewer than " + std::to_string(minD));
      }
    }
  }

  void intervalMaxDays(const Constraint& c, const std::vector<Resource>& rs) {
    int maxD = intField(c, "Max_Days_Per_Week");
    std::string from = text(c, "Interval_Start_Hour");
    std::string to = text(c, "Interval_End_Hour");
    auto f = hourIdx_.find(from);
    if (f == hourIdx_.end()) {
      throw std::runtime_error(c.type + ": unknown Interval_Start_Hour '" + from + "'");
    }
    int toH = nH_;
    if (!to.empty()) {
      auto t = hourIdx_.find(to);
      if (t == hourIdx_.end()) {
        throw std::runtime_error(c.type + ": unknown Interval_End_Hour '" + to + "'");
      }
      toH = t->second;
    }
    for (const Resource& r : rs) {
      int n = daysWorked(r, f->second, toH);
      if (n > maxD) {
        violation(c, r.label + " is busy in the interval from " + from + " on " + std::to_string(n) +
                         " days, more than " + std::to_string(maxD));
      }
    }
  }

  void maxHoursContinuously(const Constraint& c, const std::vector<Resource>& rs) {
    int maxH = intField(c, "Maximum_Hours_Continuously");
    for (const Resource& r : rs) {
      for (int d = 0; d < nD_; ++d) {
        auto busy = dayProfile(*r.grid, d);
        int run = 0, longest = 0;
        for (int h = 0; h < nH_; ++h) {
          run = busy[h] ? run + 1 : 0;
          longest = std::max(longest, run);
        }
        if (longest > maxH) {
          violation(c, r.label + " has " + std::to_string(longest) + " consecutive hours on " + days_[d] +
                           ", more than " + std::to_string(maxH));
        }
      }
    }
  }

  void activityTagMaxHoursDaily(const Constraint& c, const std::vector<Resource>& rs) {
    int maxH = intField(c, "Maximum_Hours_Daily");
    std::string tag = text(c, "Activity_Tag");
    for (const Resource& r : rs) {
      for (int d = 0; d < nD_; ++d) {
        int n = 0;
        for (int h = 0; h < nH_; ++h) {
          for (int i : (*r.grid)[d * nH_ + h]) {
            const auto& tags = acts_[i].tags;
            if (std::find(tags.begin(), tags.end(), tag) != tags.end()) {
              ++n;
              break;
            }
          }
        }
        if (n > maxH) {
          violation(c, r.label + " has " + std::to_string(n) + " hours tagged '" + tag + "' on " + days_[d] +
                           ", more than " + std::to_string(maxH));
        }
      }
    }
  }

  void earlyMaxBeginningsAtSecondHour(const Constraint& c, const std::vector<Resource>& rs) {
    int maxB = intField(c, "Max_Beginnings_At_Second_Hour");
    for (const Resource& r : rs) {
      int second = 0;
      for (int d = 0; d < nD_; ++d) {
        auto busy = dayProfile(*r.grid, d);
        if (countBusy(busy) == 0) {
          continue;
        }
        int idle = 0;
        for (int h = 0; h < nH_ && !busy[h]; ++h) {
          int s = d * nH_ + h;
          if (!breakSlot_[s] && !(*r.na)[s]) {
            ++idle;
          }
        }
        if (idle > 1) {
          violation(c, r.label + " begins " + days_[d] + " after " + std::to_string(idle) +
                           " free hours (only the first hour may be free)");
        } else if (idle == 1) {
          ++second;
        }
      }
      if (second > maxB) {
        violation(c, r.label + " begins at the second hour on " + std::to_string(second) + " days, more than " +
                         std::to_string(maxB));
      }
    }
  }

  // ---------- activity rules ----------

  std::string where(const Activity& a) const { return slotName(a.day, a.hour); }

  void notAvailable(const Constraint& c, const std::vector<int>& slots, const std::string& label,
                    const std::function<bool(const Activity&)>& concerns) {
    std::vector<bool> na(nSlots_, false);
    for (int s : slots) {
      na[s] = true;
    }
    for (const Activity& a : acts_) {
      if (!a.active || !a.placed || !concerns(a)) {
        continue;
      }
      int n = 0;
      std::string first;
      for (int s : slotsOf(a)) {
        if (na[s]) {
          if (n == 0) {
            first = slotName(s);
          }
          ++n;
        }
      }
      if (n > 0) {
        std::string more = n > 1 ? " (and " + std::to_string(n - 1) + " more)" : "";
        violation(c, label.empty() ? "activity " + std::to_string(a.id) + " occupies the break " + first + more
                                   : label + " is not available on " + first + more + " but has activity " +
                                         std::to_string(a.id) + " then",
                  n);
      }
    }
  }

  void minDaysBetween(const Constraint& c) {
    int minDays = intField(c, "MinDays");
    bool consecutive = isTrue(*c.e, "Consecutive_If_Same_Day", false);
    auto list = activityList(c);
    for (std::size_t i = 1; i < list.size(); ++i) {
      const Activity& a = acts_[list[i]];
      if (!a.placed) {
        continue;
      }
      for (std::size_t j = 0; j < i; ++j) {
        const Activity& b = acts_[list[j]];
        if (!b.placed) {
          continue;
        }
        int dist = std::abs(a.day - b.day);
        if (dist < minDays) {
          violation(c, "activities " + std::to_string(a.id) + " and " + std::to_string(b.id) + " are " +
                           std::to_string(minDays - dist) + " day(s) too close (" + days_[a.day] + " and " +
                           days_[b.day] + ", min " + std::to_string(minDays) + ")",
                    minDays - dist);
          if (consecutive && a.day == b.day && a.hour + a.duration != b.hour && b.hour + b.duration != a.hour) {
            // FET's generator always honours this option, whatever the weight.
            hard(c.type + " (consecutive if same day): activities " + std::to_string(a.id) + " and " +
                 std::to_string(b.id) + " are on the same day " + days_[a.day] + " but not consecutive");
          }
        }
      }
    }
  }

  void preferredStartingTime(const Constraint& c) {
    const Activity* a = oneActivity(c);
    if (a == nullptr || !a->placed) {
      return;
    }
    std::string day = text(c, "Preferred_Day");
    std::string hour = text(c, "Preferred_Hour");
    int d = -1, h = -1;
    if (!day.empty()) {
      auto it = dayIdx_.find(day);
      if (it == dayIdx_.end()) {
        throw std::runtime_error(c.type + ": unknown day '" + day + "'");
      }
      d = it->second;
    }
    if (!hour.empty()) {
      auto it = hourIdx_.find(hour);
      if (it == hourIdx_.end()) {
        throw std::runtime_error(c.type + ": unknown hour '" + hour + "'");
      }
      h = it->second;
    }
    if ((d >= 0 && a->day != d) || (h >= 0 && a->hour != h)) {
      violation(c, "activity " + std::to_string(a->id) + " starts on " + where(*a) + " instead of " +
                       (day.empty() ? std::string("any day") : day) + " " + (hour.empty() ? std::string("any hour") : hour));
    }
  }

  void startingTimes(const Constraint& c, const std::vector<const Activity*>& acts, std::string_view item,
                     std::string_view dayF, std::string_view hourF) {
    auto slots = slotList(c, item, dayF, hourF);
    std::set<int> allowed(slots.begin(), slots.end());
    for (const Activity* a : acts) {
      if (a->placed && allowed.count(a->day * nH_ + a->hour) == 0) {
        violation(c, "activity " + std::to_string(a->id) + " starts on " + where(*a) +
                         ", not one of its allowed starting times");
      }
    }
  }

  void timeSlots(const Constraint& c, const std::vector<const Activity*>& acts) {
    auto slots = slotList(c, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour");
    std::set<int> allowed(slots.begin(), slots.end());
    for (const Activity* a : acts) {
      if (!a->placed) {
        continue;
      }
      // One conflict per occupied slot outside the allowed ones.
      int outside = 0;
      std::string first;
      for (int s : slotsOf(*a)) {
        if (allowed.count(s) == 0) {
          if (outside++ == 0) {
            first = slotName(s);
          }
        }
      }
      if (outside > 0) {
        violation(c, "activity " + std::to_string(a->id) + " occupies " + first +
                         (outside > 1 ? " (and " + std::to_string(outside - 1) + " more)" : "") +
                         ", not one of its allowed time slots",
                  outside);
      }
    }
  }

  // Activities selected by the optional teacher/students/subject/tag/duration filters.
  std::vector<const Activity*> filtered(const Constraint& c) const {
    std::string teacher = text(c, "Teacher_Name");
    std::string students = text(c, "Students_Name");
    std::string subject = text(c, "Subject_Name");
    std::string tag = text(c, "Activity_Tag_Name");
    std::string dur = trimmed(text(c, "Duration"));
    int duration = dur.empty() ? -1 : toInt(dur, c.type + " Duration");
    std::vector<const Activity*> out;
    for (const Activity& a : acts_) {
      if (!a.active) {
        continue;
      }
      if (!teacher.empty() && std::find(a.teachers.begin(), a.teachers.end(), teacher) == a.teachers.end()) {
        continue;
      }
      if (!students.empty() && std::find(a.students.begin(), a.students.end(), students) == a.students.end()) {
        continue;
      }
      if (!subject.empty() && a.subject != subject) {
        continue;
      }
      if (!tag.empty() && std::find(a.tags.begin(), a.tags.end(), tag) == a.tags.end()) {
        continue;
      }
      if (duration >= 0 && a.duration != duration) {
        continue;
      }
      out.push_back(&a);
    }
    return out;
  }

  void samePairs(const Constraint& c, const char* what, const std::function<bool(const Activity&, const Activity&)>& same) {
    auto list = activityList(c);
    for (std::size_t i = 1; i < list.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        const Activity& a = acts_[list[i]];
        const Activity& b = acts_[list[j]];
        if (a.placed && b.placed && !same(a, b)) {
          violation(c, "activities " + std::to_string(a.id) + " (" + where(a) + ") and " + std::to_string(b.id) +
                           " (" + where(b) + ") do not have the same " + what);
        }
      }
    }
  }

  void notOverlapping(const Constraint& c) {
    auto list = activityList(c);
    for (std::size_t i = 1; i < list.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        const Activity& a = acts_[list[i]];
        const Activity& b = acts_[list[j]];
        if (a.placed && b.placed && a.day == b.day && a.hour < b.hour + b.duration && b.hour < a.hour + a.duration) {
          violation(c, "activities " + std::to_string(a.id) + " and " + std::to_string(b.id) + " overlap on " +
                           days_[a.day]);
        }
      }
    }
  }

  void endsStudentsDay(const Constraint& c, const Activity& a) {
    if (!a.placed) {
      return;
    }
    int end = a.hour + a.duration;
    for (int g : a.subgroups) {
      for (int h = end; h < nH_; ++h) {
        const auto& at = subgroupAt_[g][a.day * nH_ + h];
        if (!at.empty()) {
          violation(c, "activity " + std::to_string(a.id) + " should end the day of subgroup " + subgroups_[g] +
                           " on " + days_[a.day] + " but activity " + std::to_string(acts_[at.front()].id) +
                           " follows at " + hours_[h]);
          break;
        }
      }
    }
  }

  // ---------- rooms ----------

  void preferredRooms(const Constraint& c, const std::vector<const Activity*>& acts,
                      const std::set<std::string>& allowed, const std::string& label) {
    for (const std::string& r : allowed) {
      if (rooms_.count(r) == 0) {
        unsupported(c, "unknown room '" + r + "' (constraint skipped)");
        return;
      }
    }
    for (const Activity* a : acts) {
      if (!a->placed) {
        continue;
      }
      if (a->room.empty()) {
        violation(c, "activity " + std::to_string(a->id) + " has no room, but " + label);
      } else if (allowed.count(a->room) == 0) {
        violation(c, "activity " + std::to_string(a->id) + " is in room " + a->room + ", but " + label);
      }
    }
  }

  std::set<std::string> roomSet(const Constraint& c) const {
    std::set<std::string> out;
    if (const std::string* r = c.e->childText("Room")) {
      out.insert(*r);
    }
    for (const Element* r : c.e->childrenNamed("Preferred_Room")) {
      out.insert(r->text);
    }
    return out;
  }

  std::vector<const Activity*> activitiesWhere(const std::function<bool(const Activity&)>& pred) const {
    std::vector<const Activity*> out;
    for (const Activity& a : acts_) {
      if (a.active && pred(a)) {
        out.push_back(&a);
      }
    }
    return out;
  }

  static bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  // ---------- rules for types absent from the shared instances ----------

  // Two (or three) named activities and a relation between their placements.
  void relation(const Constraint& c, std::vector<std::string_view> fields, const char* what,
                const std::function<bool(const std::vector<const Activity*>&)>& holds) {
    std::vector<const Activity*> list;
    for (auto f : fields) {
      const Activity* a = activityField(c, f);
      if (a == nullptr || !a->placed) {
        return;
      }
      list.push_back(a);
    }
    if (!holds(list)) {
      std::string ids, at;
      for (const Activity* a : list) {
        ids += (ids.empty() ? "" : ", ") + std::to_string(a->id);
        at += (at.empty() ? "" : ", ") + where(*a);
      }
      violation(c, "activities " + ids + " (at " + at + ") are not " + what);
    }
  }

  static bool adjacent(const Activity& a, const Activity& b) {
    return a.day == b.day && (a.hour + a.duration == b.hour || b.hour + b.duration == a.hour);
  }

  void minGapsBetween(const Constraint& c) {
    int minGaps = intField(c, "MinGaps");
    auto list = activityList(c);
    for (std::size_t i = 1; i < list.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        const Activity& a = acts_[list[i]];
        const Activity& b = acts_[list[j]];
        if (!a.placed || !b.placed || a.day != b.day) {
          continue;
        }
        const Activity& first = a.hour <= b.hour ? a : b;
        const Activity& second = a.hour <= b.hour ? b : a;
        int gap = second.hour - (first.hour + first.duration);
        if (gap < minGaps) {
          violation(c, "activities " + std::to_string(a.id) + " and " + std::to_string(b.id) + " on " + days_[a.day] +
                           " are separated by " + std::to_string(std::max(gap, 0)) + " hours, fewer than " +
                           std::to_string(minGaps));
        }
      }
    }
  }

  void maxDaysBetween(const Constraint& c) {
    int maxDays = intField(c, "MaxDays");
    auto list = activityList(c);
    for (std::size_t i = 1; i < list.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        const Activity& a = acts_[list[i]];
        const Activity& b = acts_[list[j]];
        int dist = std::abs(a.day - b.day);
        if (a.placed && b.placed && dist > maxDays) {
          violation(c, "activities " + std::to_string(a.id) + " and " + std::to_string(b.id) + " are " +
                           std::to_string(dist) + " days apart, more than " + std::to_string(maxDays), dist - maxDays);
        }
      }
    }
  }

  void occupyFromSelection(const Constraint& c, bool isMax) {
    int bound = intField(c, isMax ? "Max_Number_of_Occupied_Time_Slots" : "Min_Number_of_Occupied_Time_Slots");
    auto selected = slotList(c, "Selected_Time_Slot", "Selected_Day", "Selected_Hour");
    std::set<int> sel(selected.begin(), selected.end());
    std::set<int> occupied;
    for (int i : activityList(c)) {
      for (int s : slotsOf(acts_[i])) {
        if (sel.count(s) > 0) {
          occupied.insert(s);
        }
      }
    }
    int n = static_cast<int>(occupied.size());
    if (isMax ? n > bound : n < bound) {
      violation(c, "the activities occupy " + std::to_string(n) + " of the selected time slots, " +
                       (isMax ? "more" : "fewer") + " than " + std::to_string(bound));
    }
  }

  void maxSimultaneousInSelection(const Constraint& c) {
    int bound = intField(c, "Max_Number_of_Simultaneous_Activities");
    auto selected = slotList(c, "Selected_Time_Slot", "Selected_Day", "Selected_Hour");
    auto list = activityList(c);
    for (int s : std::set<int>(selected.begin(), selected.end())) {
      int n = 0;
      for (int i : list) {
        auto occ = slotsOf(acts_[i]);
        n += std::find(occ.begin(), occ.end(), s) != occ.end() ? 1 : 0;
      }
      if (n > bound) {
        violation(c, std::to_string(n) + " of the activities are simultaneous on " + slotName(s) + ", more than " +
                         std::to_string(bound));
      }
    }
  }

  void activityTagMaxHoursContinuously(const Constraint& c, const std::vector<Resource>& rs) {
    int maxH = intField(c, "Maximum_Hours_Continuously");
    std::string tag = text(c, "Activity_Tag");
    for (const Resource& r : rs) {
      for (int d = 0; d < nD_; ++d) {
        int run = 0, longest = 0;
        for (int h = 0; h < nH_; ++h) {
          bool tagged = false;
          for (int i : (*r.grid)[d * nH_ + h]) {
            tagged = tagged || has(acts_[i].tags, tag);
          }
          run = tagged ? run + 1 : 0;
          longest = std::max(longest, run);
        }
        if (longest > maxH) {
          violation(c, r.label + " has " + std::to_string(longest) + " consecutive hours tagged '" + tag + "' on " +
                           days_[d] + ", more than " + std::to_string(maxH));
        }
      }
    }
  }

  // Activities concerned by a preferred-room constraint (activity, subject, tag, subject+tag): for
  // them FET ignores home rooms (a students set's or a teacher's), so the checker does too.
  void markPreferredRooms() {
    hasPreferredRoom_.assign(acts_.size(), false);
    for (const Constraint& c : constraints_) {
      const std::string& t = c.type;
      std::function<bool(const Activity&)> concerns;
      if (t == "ConstraintActivityPreferredRoom" || t == "ConstraintActivityPreferredRooms") {
        int id = intField(c, "Activity_Id");
        concerns = [id](const Activity& a) { return a.id == id; };
      } else if (t == "ConstraintSubjectPreferredRoom" || t == "ConstraintSubjectPreferredRooms") {
        std::string subject = text(c, "Subject");
        concerns = [subject](const Activity& a) { return a.subject == subject; };
      } else if (t == "ConstraintActivityTagPreferredRoom" || t == "ConstraintActivityTagPreferredRooms") {
        std::string tag = text(c, "Activity_Tag");
        concerns = [tag](const Activity& a) { return has(a.tags, tag); };
      } else if (t == "ConstraintSubjectActivityTagPreferredRoom" || t == "ConstraintSubjectActivityTagPreferredRooms") {
        std::string subject = text(c, "Subject");
        std::string tag = text(c, "Activity_Tag");
        concerns = [subject, tag](const Activity& a) { return a.subject == subject && has(a.tags, tag); };
      } else {
        continue;
      }
      for (std::size_t i = 0; i < acts_.size(); ++i) {
        if (concerns(acts_[i])) {
          hasPreferredRoom_[i] = true;
        }
      }
    }
  }

  bool homeRoomApplies(const Activity& a) const { return !hasPreferredRoom_[&a - acts_.data()]; }

  // ---------- dispatch ----------

  void evaluate(const Constraint& c) {
    const std::string& t = c.type;
    auto rooms = [&](const std::vector<const Activity*>& acts, const std::string& label) {
      auto allowed = roomSet(c);
      preferredRooms(c, acts, allowed, label);
    };
    auto roomLabel = [&](const std::string& who) {
      auto allowed = roomSet(c);
      std::string list;
      for (const auto& r : allowed) {
        list += (list.empty() ? "" : ", ") + r;
      }
      return who + " prefers " + list;
    };

    if (t == "ConstraintBasicCompulsoryTime" || t == "ConstraintBasicCompulsorySpace") {
      return;  // evaluated first, always
    }
    if (t == "ConstraintBreakTimes") {
      notAvailable(c, slotList(c, "Break_Time", "Day", "Hour"), "",
                   [](const Activity&) { return true; });
    } else if (t == "ConstraintTeacherNotAvailableTimes") {
      std::string teacher = text(c, "Teacher");
      if (teacherIdx_.count(teacher) == 0) {
        unsupported(c, "unknown teacher '" + teacher + "' (constraint skipped)");
        return;
      }
      notAvailable(c, slotList(c, "Not_Available_Time", "Day", "Hour"), "teacher " + teacher,
                   [&](const Activity& a) { return has(a.teachers, teacher); });
    } else if (t == "ConstraintStudentsSetNotAvailableTimes") {
      std::string set = text(c, "Students");
      auto subs = subgroupsFor(c, "Students");
      std::set<int> ss(subs.begin(), subs.end());
      notAvailable(c, slotList(c, "Not_Available_Time", "Day", "Hour"), "students set " + set, [&](const Activity& a) {
        return std::any_of(a.subgroups.begin(), a.subgroups.end(), [&](int g) { return ss.count(g) > 0; });
      });
    } else if (t == "ConstraintRoomNotAvailableTimes") {
      std::string room = text(c, "Room");
      if (rooms_.count(room) == 0) {
        unsupported(c, "unknown room '" + room + "' (constraint skipped)");
        return;
      }
      notAvailable(c, slotList(c, "Not_Available_Time", "Day", "Hour"), "room " + room, [&](const Activity& a) {
        return a.room == room || has(a.realRooms, room);
      });
    } else if (t == "ConstraintMinDaysBetweenActivities") {
      minDaysBetween(c);
    } else if (t == "ConstraintActivityPreferredStartingTime") {
      preferredStartingTime(c);
    } else if (t == "ConstraintActivityPreferredStartingTimes") {
      if (const Activity* a = oneActivity(c)) {
        startingTimes(c, {a}, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour");
      }
    } else if (t == "ConstraintActivitiesPreferredStartingTimes") {
      startingTimes(c, filtered(c), "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour");
    } else if (t == "ConstraintActivityPreferredTimeSlots") {
      if (const Activity* a = oneActivity(c)) {
        timeSlots(c, {a});
      }
    } else if (t == "ConstraintActivitiesPreferredTimeSlots") {
      timeSlots(c, filtered(c));
    } else if (t == "ConstraintActivitiesSameStartingTime") {
      samePairs(c, "starting time", [](const Activity& a, const Activity& b) { return a.day == b.day && a.hour == b.hour; });
    } else if (t == "ConstraintActivitiesSameStartingDay") {
      samePairs(c, "starting day", [](const Activity& a, const Activity& b) { return a.day == b.day; });
    } else if (t == "ConstraintActivitiesSameStartingHour") {
      samePairs(c, "starting hour", [](const Activity& a, const Activity& b) { return a.hour == b.hour; });
    } else if (t == "ConstraintActivitiesNotOverlapping") {
      notOverlapping(c);
    } else if (t == "ConstraintActivityEndsStudentsDay") {
      if (const Activity* a = oneActivity(c)) {
        endsStudentsDay(c, *a);
      }
    } else if (t == "ConstraintActivitiesEndStudentsDay") {
      for (const Activity* a : filtered(c)) {
        endsStudentsDay(c, *a);
      }
    } else if (t == "ConstraintTeachersMaxGapsPerWeek") {
      maxGapsPerWeek(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherMaxGapsPerWeek") {
      maxGapsPerWeek(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintTeachersMaxGapsPerDay") {
      maxGapsPerDay(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherMaxGapsPerDay") {
      maxGapsPerDay(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintStudentsMaxGapsPerWeek") {
      maxGapsPerWeek(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetMaxGapsPerWeek") {
      maxGapsPerWeek(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintStudentsMaxGapsPerDay") {
      maxGapsPerDay(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetMaxGapsPerDay") {
      maxGapsPerDay(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintTeachersMaxHoursDaily") {
      maxHoursDaily(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherMaxHoursDaily") {
      maxHoursDaily(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintStudentsMaxHoursDaily") {
      maxHoursDaily(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetMaxHoursDaily") {
      maxHoursDaily(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintTeachersMinHoursDaily") {
      minHoursDaily(c, teacherResources(teachersFor(c, "")), true);
    } else if (t == "ConstraintTeacherMinHoursDaily") {
      minHoursDaily(c, teacherResources(teachersFor(c, "Teacher_Name")), true);
    } else if (t == "ConstraintStudentsMinHoursDaily") {
      minHoursDaily(c, subgroupResources(subgroupsFor(c, "")), false);
    } else if (t == "ConstraintStudentsSetMinHoursDaily") {
      minHoursDaily(c, subgroupResources(subgroupsFor(c, "Students")), false);
    } else if (t == "ConstraintTeachersMaxDaysPerWeek") {
      maxDaysPerWeek(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherMaxDaysPerWeek") {
      maxDaysPerWeek(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintTeachersMinDaysPerWeek") {
      minDaysPerWeek(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherMinDaysPerWeek") {
      minDaysPerWeek(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintTeachersIntervalMaxDaysPerWeek") {
      intervalMaxDays(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherIntervalMaxDaysPerWeek") {
      intervalMaxDays(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintStudentsIntervalMaxDaysPerWeek") {
      intervalMaxDays(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetIntervalMaxDaysPerWeek") {
      intervalMaxDays(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintTeachersMaxHoursContinuously") {
      maxHoursContinuously(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherMaxHoursContinuously") {
      maxHoursContinuously(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintStudentsMaxHoursContinuously") {
      maxHoursContinuously(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetMaxHoursContinuously") {
      maxHoursContinuously(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintTeachersActivityTagMaxHoursDaily") {
      activityTagMaxHoursDaily(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherActivityTagMaxHoursDaily") {
      activityTagMaxHoursDaily(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintStudentsActivityTagMaxHoursDaily") {
      activityTagMaxHoursDaily(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetActivityTagMaxHoursDaily") {
      activityTagMaxHoursDaily(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintStudentsEarlyMaxBeginningsAtSecondHour") {
      earlyMaxBeginningsAtSecondHour(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetEarlyMaxBeginningsAtSecondHour") {
      earlyMaxBeginningsAtSecondHour(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintActivityPreferredRoom" || t == "ConstraintActivityPreferredRooms") {
      if (const Activity* a = oneActivity(c)) {
        rooms({a}, roomLabel("activity " + std::to_string(a->id)));
      }
    } else if (t == "ConstraintSubjectPreferredRoom" || t == "ConstraintSubjectPreferredRooms") {
      std::string subject = text(c, "Subject");
      rooms(activitiesWhere([&](const Activity& a) { return a.subject == subject; }), roomLabel("subject " + subject));
    } else if (t == "ConstraintActivityTagPreferredRoom" || t == "ConstraintActivityTagPreferredRooms") {
      std::string tag = text(c, "Activity_Tag");
      rooms(activitiesWhere([&](const Activity& a) { return has(a.tags, tag); }), roomLabel("activity tag " + tag));
    } else if (t == "ConstraintSubjectActivityTagPreferredRoom" || t == "ConstraintSubjectActivityTagPreferredRooms") {
      std::string subject = text(c, "Subject");
      std::string tag = text(c, "Activity_Tag");
      rooms(activitiesWhere([&](const Activity& a) { return a.subject == subject && has(a.tags, tag); }),
            roomLabel("subject " + subject + " with tag " + tag));
    } else if (t == "ConstraintStudentsSetHomeRoom" || t == "ConstraintStudentsSetHomeRooms") {
      // Applies to the activities of exactly this one set, without a preferred room of their own.
      std::string set = text(c, "Students");
      rooms(activitiesWhere([&](const Activity& a) { return a.students.size() == 1 && a.students[0] == set && homeRoomApplies(a); }),
            roomLabel("students set " + set));
    } else if (t == "ConstraintTeacherHomeRoom" || t == "ConstraintTeacherHomeRooms") {
      // Applies to the activities of exactly this one teacher, without a preferred room of their own.
      std::string teacher = text(c, "Teacher");
      rooms(activitiesWhere([&](const Activity& a) { return a.teachers.size() == 1 && a.teachers[0] == teacher && homeRoomApplies(a); }),
            roomLabel("teacher " + teacher));
    } else if (t == "ConstraintTwoActivitiesConsecutive") {
      relation(c, {"First_Activity_Id", "Second_Activity_Id"}, "consecutive (second right after first)",
               [](const auto& v) { return v[0]->day == v[1]->day && v[0]->hour + v[0]->duration == v[1]->hour; });
    } else if (t == "ConstraintTwoActivitiesGrouped") {
      relation(c, {"First_Activity_Id", "Second_Activity_Id"}, "grouped (adjacent, same day)",
               [](const auto& v) { return adjacent(*v[0], *v[1]); });
    } else if (t == "ConstraintThreeActivitiesGrouped") {
      relation(c, {"First_Activity_Id", "Second_Activity_Id", "Third_Activity_Id"}, "grouped (one block, same day)",
               [](const auto& v) {
                 if (v[0]->day != v[1]->day || v[1]->day != v[2]->day) {
                   return false;
                 }
                 std::vector<const Activity*> w(v.begin(), v.end());
                 std::sort(w.begin(), w.end(), [](const Activity* a, const Activity* b) { return a->hour < b->hour; });
                 return w[0]->hour + w[0]->duration == w[1]->hour && w[1]->hour + w[1]->duration == w[2]->hour;
               });
    } else if (t == "ConstraintTwoActivitiesOrdered") {
      relation(c, {"First_Activity_Id", "Second_Activity_Id"}, "ordered (second after the end of first)",
               [](const auto& v) {
                 return v[0]->day < v[1]->day || (v[0]->day == v[1]->day && v[0]->hour + v[0]->duration <= v[1]->hour);
               });
    } else if (t == "ConstraintTwoActivitiesOrderedIfSameDay") {
      relation(c, {"First_Activity_Id", "Second_Activity_Id"}, "ordered on their common day",
               [](const auto& v) { return v[0]->day != v[1]->day || v[0]->hour + v[0]->duration <= v[1]->hour; });
    } else if (t == "ConstraintMinGapsBetweenActivities") {
      minGapsBetween(c);
    } else if (t == "ConstraintMaxDaysBetweenActivities") {
      maxDaysBetween(c);
    } else if (t == "ConstraintActivitiesOccupyMaxTimeSlotsFromSelection") {
      occupyFromSelection(c, true);
    } else if (t == "ConstraintActivitiesOccupyMinTimeSlotsFromSelection") {
      occupyFromSelection(c, false);
    } else if (t == "ConstraintActivitiesMaxSimultaneousInSelectedTimeSlots") {
      maxSimultaneousInSelection(c);
    } else if (t == "ConstraintStudentsMaxDaysPerWeek") {
      maxDaysPerWeek(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetMaxDaysPerWeek") {
      maxDaysPerWeek(c, subgroupResources(subgroupsFor(c, "Students")));
    } else if (t == "ConstraintTeachersActivityTagMaxHoursContinuously") {
      activityTagMaxHoursContinuously(c, teacherResources(teachersFor(c, "")));
    } else if (t == "ConstraintTeacherActivityTagMaxHoursContinuously") {
      activityTagMaxHoursContinuously(c, teacherResources(teachersFor(c, "Teacher_Name")));
    } else if (t == "ConstraintStudentsActivityTagMaxHoursContinuously") {
      activityTagMaxHoursContinuously(c, subgroupResources(subgroupsFor(c, "")));
    } else if (t == "ConstraintStudentsSetActivityTagMaxHoursContinuously") {
      activityTagMaxHoursContinuously(c, subgroupResources(subgroupsFor(c, "Students")));
    } else {
      unsupported(c, "not evaluated by this checker");
    }
  }

  // ---------- state ----------

  std::unique_ptr<Element> fet_, tt_;
  std::vector<std::string> days_, hours_;
  std::unordered_map<std::string, int> dayIdx_, hourIdx_;
  int nD_ = 0, nH_ = 0, nSlots_ = 0;
  std::vector<std::string> teachers_;
  std::unordered_map<std::string, int> teacherIdx_;
  std::vector<std::string> subgroups_;
  std::unordered_map<std::string, int> subgroupIdx_;
  std::map<std::string, std::set<int>> setSubgroups_;
  std::map<std::string, int> setSize_;
  std::map<std::string, Room> rooms_;
  std::vector<Activity> acts_;
  std::unordered_map<int, int> actIdx_;
  std::vector<Constraint> constraints_;
  std::vector<std::vector<std::vector<int>>> teacherAt_, subgroupAt_;
  std::map<std::string, std::vector<std::vector<int>>> roomAt_;
  std::vector<bool> breakSlot_;
  std::vector<std::vector<bool>> teacherNA_, subgroupNA_;
  std::vector<bool> hasPreferredRoom_;
  Report report_;
};

}  // namespace

Report check(std::string_view fetXml, std::string_view activitiesXml) {
  Checker checker;
  return checker.run(fetXml, activitiesXml);
}

}  // namespace ardoise::timetable::checker
