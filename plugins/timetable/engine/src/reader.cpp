// Reading and writing FET files, and the JSON forms of the model.
#include <algorithm>
#include <set>
#include <stdexcept>

#include "timetable/engine.hpp"
#include "xml.hpp"

namespace ardoise::timetable {

namespace {

int toInt(const std::string& s, int fallback) {
  try {
    std::size_t used = 0;
    int v = std::stoi(s, &used);
    return v;
  } catch (const std::exception&) {
    return fallback;
  }
}

double toDouble(const std::string& s, double fallback) {
  try {
    return std::stod(s);
  } catch (const std::exception&) {
    return fallback;
  }
}

bool toBool(const std::string& s, bool fallback) {
  if (s == "true" || s == "1") {
    return true;
  }
  if (s == "false" || s == "0") {
    return false;
  }
  return fallback;
}

// An element's fields as JSON: leaves are strings, nested elements objects,
// repeated names become arrays (in document order).
nlohmann::json fieldsOf(const xml::Node& n) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& c : n.children) {
    nlohmann::json v = c->children.empty() ? nlohmann::json(c->text) : fieldsOf(*c);
    auto it = out.find(c->name);
    if (it == out.end()) {
      out[c->name] = std::move(v);
    } else {
      if (!it->is_array()) {  // values are strings or objects, so an array means "repeated"
        nlohmann::json arr = nlohmann::json::array();
        arr.push_back(std::move(*it));
        *it = std::move(arr);
      }
      it->push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& supportedConstraintTypes() {
  static const std::vector<std::string> kTypes = {
      // time
      "BasicCompulsoryTime", "BreakTimes", "TeacherNotAvailableTimes", "StudentsSetNotAvailableTimes",
      "ActivityPreferredStartingTime", "ActivityPreferredStartingTimes", "ActivityPreferredTimeSlots",
      "ActivitiesPreferredTimeSlots", "ActivitiesPreferredStartingTimes", "MinDaysBetweenActivities",
      "ActivitiesSameStartingTime", "ActivitiesSameStartingDay", "ActivitiesNotOverlapping",
      "ActivityEndsStudentsDay", "TeacherMaxHoursDaily", "TeachersMaxHoursDaily", "TeacherMinHoursDaily",
      "TeachersMinHoursDaily", "TeacherMaxDaysPerWeek", "TeachersMaxDaysPerWeek", "TeacherMinDaysPerWeek",
      "TeachersMinDaysPerWeek", "TeacherIntervalMaxDaysPerWeek", "TeachersIntervalMaxDaysPerWeek",
      "TeacherMaxGapsPerDay", "TeachersMaxGapsPerDay", "TeacherMaxGapsPerWeek", "TeachersMaxGapsPerWeek",
      "TeacherMaxHoursContinuously", "TeachersMaxHoursContinuously", "StudentsMaxGapsPerWeek",
      "StudentsSetMaxGapsPerWeek", "StudentsMaxGapsPerDay", "StudentsSetMaxGapsPerDay",
      "StudentsEarlyMaxBeginningsAtSecondHour", "StudentsSetEarlyMaxBeginningsAtSecondHour",
      "StudentsMinHoursDaily", "StudentsSetMinHoursDaily", "StudentsMaxHoursDaily", "StudentsSetMaxHoursDaily",
      "StudentsSetActivityTagMaxHoursDaily", "StudentsActivityTagMaxHoursDaily",
      "TeacherActivityTagMaxHoursDaily", "TeachersActivityTagMaxHoursDaily",
      // space
      "BasicCompulsorySpace", "RoomNotAvailableTimes", "ActivityPreferredRoom", "ActivityPreferredRooms",
      "SubjectPreferredRoom", "SubjectPreferredRooms", "ActivityTagPreferredRoom", "ActivityTagPreferredRooms",
      "TeacherHomeRoom", "TeacherHomeRooms", "StudentsSetHomeRoom", "StudentsSetHomeRooms"};
  return kTypes;
}

ImportReport readFet(std::string_view text) {
  auto root = xml::parse(text);
  if (root->name != "fet") {
    throw std::runtime_error("not a FET file: the root element is <" + root->name + ">, expected <fet>");
  }
  ImportReport rep;
  Instance& in = rep.instance;
  in.name = root->childText("Institution_Name");
  auto names = [&](const char* list, const char* item, std::vector<std::string>& out) {
    if (const auto* l = root->child(list)) {
      for (const auto* e : l->all(item)) {
        out.push_back(e->childText("Name"));
      }
    }
  };
  names("Days_List", "Day", in.days);
  names("Hours_List", "Hour", in.hours);
  names("Subjects_List", "Subject", in.subjects);
  names("Activity_Tags_List", "Activity_Tag", in.activityTags);
  names("Teachers_List", "Teacher", in.teachers);
  names("Buildings_List", "Building", in.buildings);
  if (in.days.empty() || in.hours.empty()) {
    throw std::runtime_error("FET file without <Days_List> or <Hours_List>");
  }
  if (const auto* l = root->child("Students_List")) {
    for (const auto* y : l->all("Year")) {
      Year yr;
      yr.name = y->childText("Name");
      yr.students = toInt(y->childText("Number_of_Students", "0"), 0);
      for (const auto* g : y->all("Group")) {
        Group gr;
        gr.name = g->childText("Name");
        gr.students = toInt(g->childText("Number_of_Students", "0"), 0);
        for (const auto* s : g->all("Subgroup")) {
          gr.subgroups.push_back({s->childText("Name"), toInt(s->childText("Number_of_Students", "0"), 0)});
        }
        yr.groups.push_back(std::move(gr));
      }
      in.years.push_back(std::move(yr));
    }
  }
  if (const auto* l = root->child("Rooms_List")) {
    for (const auto* r : l->all("Room")) {
      Room room;
      room.name = r->childText("Name");
      room.building = r->childText("Building");
      room.capacity = toInt(r->childText("Capacity", "0"), 0);
      room.isVirtual = toBool(r->childText("Virtual", "false"), false);
      for (const auto* set : r->all("Set_of_Real_Rooms")) {
        std::vector<std::string> rs;
        for (const auto* rr : set->all("Real_Room")) {
          rs.push_back(rr->text);
        }
        room.realRoomSets.push_back(std::move(rs));
      }
      in.rooms.push_back(std::move(room));
    }
  }
  int inactiveActs = 0;
  if (const auto* l = root->child("Activities_List")) {
    for (const auto* a : l->all("Activity")) {
      Activity act;
      for (const auto* t : a->all("Teacher")) {
        act.teachers.push_back(t->text);
      }
      act.subject = a->childText("Subject");
      for (const auto* t : a->all("Activity_Tag")) {
        act.tags.push_back(t->text);
      }
      for (const auto* t : a->all("Students")) {
        act.students.push_back(t->text);
      }
      act.duration = std::max(1, toInt(a->childText("Duration", "1"), 1));
      act.totalDuration = toInt(a->childText("Total_Duration", std::to_string(act.duration)), act.duration);
      act.id = toInt(a->childText("Id", "0"), 0);
      act.groupId = toInt(a->childText("Activity_Group_Id", "0"), 0);
      act.active = toBool(a->childText("Active", "true"), true);
      if (const auto* ns = a->child("Number_Of_Students")) {
        act.numberOfStudents = toInt(ns->text, -1);
      }
      if (!act.active) {
        ++inactiveActs;
      }
      in.activities.push_back(std::move(act));
    }
  }
  rep.imported["activities"] = static_cast<int>(in.activities.size());
  if (inactiveActs > 0) {
    rep.warnings.push_back(std::to_string(inactiveActs) + " inactive activities are ignored");
  }
  std::set<std::string> supported(supportedConstraintTypes().begin(), supportedConstraintTypes().end());
  auto constraints = [&](const char* list, std::vector<Constraint>& out) {
    const auto* l = root->child(list);
    if (!l) {
      return;
    }
    for (const auto& c : l->children) {
      if (c->name.rfind("Constraint", 0) != 0) {
        continue;
      }
      Constraint k;
      k.type = c->name.substr(10);
      k.weight = toDouble(c->childText("Weight_Percentage", "100"), 100.0);
      k.active = toBool(c->childText("Active", "true"), true);
      k.params = fieldsOf(*c);
      k.params.erase("Weight_Percentage");
      k.params.erase("Active");
      k.params.erase("Comments");
      if (!k.active) {
        rep.imported["inactive constraints"]++;
      } else if (supported.count(k.type)) {
        rep.imported[k.type]++;
      } else {
        rep.unsupported[k.type]++;
      }
      out.push_back(std::move(k));
    }
  };
  constraints("Time_Constraints_List", in.timeConstraints);
  constraints("Space_Constraints_List", in.spaceConstraints);
  return rep;
}

std::string writeFetActivities(const Instance& in, const Timetable& tt) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Activities_Timetable>\n";
  for (const auto& p : tt) {
    if (p.day < 0 || p.hour < 0 || p.day >= static_cast<int>(in.days.size()) ||
        p.hour >= static_cast<int>(in.hours.size())) {
      continue;
    }
    out += "<Activity>\n\t<Id>" + std::to_string(p.activityId) + "</Id>\n\t<Day>" + xml::escape(in.days[p.day]) +
           "</Day>\n\t<Hour>" + xml::escape(in.hours[p.hour]) + "</Hour>\n\t<Room>" + xml::escape(p.room) +
           "</Room>\n";
    for (const auto& r : p.realRooms) {
      out += "\t<Real_Room>" + xml::escape(r) + "</Real_Room>\n";
    }
    out += "</Activity>\n";
  }
  out += "</Activities_Timetable>\n";
  return out;
}

Timetable readFetActivities(const Instance& in, std::string_view text) {
  auto root = xml::parse(text);
  if (root->name != "Activities_Timetable") {
    throw std::runtime_error("not a FET activities timetable: root <" + root->name + ">");
  }
  auto indexOf = [](const std::vector<std::string>& v, const std::string& s) {
    auto it = std::find(v.begin(), v.end(), s);
    return it == v.end() ? -1 : static_cast<int>(it - v.begin());
  };
  Timetable tt;
  for (const auto* a : root->all("Activity")) {
    Placement p;
    p.activityId = toInt(a->childText("Id", "0"), 0);
    p.day = indexOf(in.days, a->childText("Day"));
    p.hour = indexOf(in.hours, a->childText("Hour"));
    p.room = a->childText("Room");
    for (const auto* r : a->all("Real_Room")) {
      p.realRooms.push_back(r->text);
    }
    tt.push_back(std::move(p));
  }
  return tt;
}

// --- JSON -------------------------------------------------------------------

void to_json(nlohmann::json& j, const Instance& in) {
  j = nlohmann::json::object();
  j["name"] = in.name;
  j["days"] = in.days;
  j["hours"] = in.hours;
  j["teachers"] = in.teachers;
  j["subjects"] = in.subjects;
  j["activityTags"] = in.activityTags;
  j["buildings"] = in.buildings;
  auto& ys = j["years"] = nlohmann::json::array();
  for (const auto& y : in.years) {
    nlohmann::json jy{{"name", y.name}, {"students", y.students}, {"groups", nlohmann::json::array()}};
    for (const auto& g : y.groups) {
      nlohmann::json jg{{"name", g.name}, {"students", g.students}, {"subgroups", nlohmann::json::array()}};
      for (const auto& s : g.subgroups) {
        jg["subgroups"].push_back({{"name", s.name}, {"students", s.students}});
      }
      jy["groups"].push_back(std::move(jg));
    }
    ys.push_back(std::move(jy));
  }
  auto& rs = j["rooms"] = nlohmann::json::array();
  for (const auto& r : in.rooms) {
    rs.push_back({{"name", r.name},
                  {"building", r.building},
                  {"capacity", r.capacity},
                  {"virtual", r.isVirtual},
                  {"realRoomSets", r.realRoomSets}});
  }
  auto& as = j["activities"] = nlohmann::json::array();
  for (const auto& a : in.activities) {
    as.push_back({{"id", a.id},
                  {"groupId", a.groupId},
                  {"teachers", a.teachers},
                  {"subject", a.subject},
                  {"tags", a.tags},
                  {"students", a.students},
                  {"duration", a.duration},
                  {"totalDuration", a.totalDuration},
                  {"numberOfStudents", a.numberOfStudents},
                  {"active", a.active}});
  }
  auto cons = [](const std::vector<Constraint>& v) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : v) {
      arr.push_back({{"type", c.type}, {"weight", c.weight}, {"active", c.active}, {"params", c.params}});
    }
    return arr;
  };
  j["timeConstraints"] = cons(in.timeConstraints);
  j["spaceConstraints"] = cons(in.spaceConstraints);
}

void from_json(const nlohmann::json& j, Instance& in) {
  in = Instance{};
  in.name = j.value("name", "");
  in.days = j.value("days", std::vector<std::string>{});
  in.hours = j.value("hours", std::vector<std::string>{});
  in.teachers = j.value("teachers", std::vector<std::string>{});
  in.subjects = j.value("subjects", std::vector<std::string>{});
  in.activityTags = j.value("activityTags", std::vector<std::string>{});
  in.buildings = j.value("buildings", std::vector<std::string>{});
  for (const auto& jy : j.value("years", nlohmann::json::array())) {
    Year y;
    y.name = jy.value("name", "");
    y.students = jy.value("students", 0);
    for (const auto& jg : jy.value("groups", nlohmann::json::array())) {
      Group g;
      g.name = jg.value("name", "");
      g.students = jg.value("students", 0);
      for (const auto& js : jg.value("subgroups", nlohmann::json::array())) {
        g.subgroups.push_back({js.value("name", ""), js.value("students", 0)});
      }
      y.groups.push_back(std::move(g));
    }
    in.years.push_back(std::move(y));
  }
  for (const auto& jr : j.value("rooms", nlohmann::json::array())) {
    Room r;
    r.name = jr.value("name", "");
    r.building = jr.value("building", "");
    r.capacity = jr.value("capacity", 0);
    r.isVirtual = jr.value("virtual", false);
    r.realRoomSets = jr.value("realRoomSets", std::vector<std::vector<std::string>>{});
    in.rooms.push_back(std::move(r));
  }
  for (const auto& ja : j.value("activities", nlohmann::json::array())) {
    Activity a;
    a.id = ja.value("id", 0);
    a.groupId = ja.value("groupId", 0);
    a.teachers = ja.value("teachers", std::vector<std::string>{});
    a.subject = ja.value("subject", "");
    a.tags = ja.value("tags", std::vector<std::string>{});
    a.students = ja.value("students", std::vector<std::string>{});
    a.duration = ja.value("duration", 1);
    a.totalDuration = ja.value("totalDuration", a.duration);
    a.numberOfStudents = ja.value("numberOfStudents", -1);
    a.active = ja.value("active", true);
    in.activities.push_back(std::move(a));
  }
  auto cons = [](const nlohmann::json& arr, std::vector<Constraint>& out) {
    for (const auto& jc : arr) {
      Constraint c;
      c.type = jc.value("type", "");
      c.weight = jc.value("weight", 100.0);
      c.active = jc.value("active", true);
      c.params = jc.value("params", nlohmann::json::object());
      out.push_back(std::move(c));
    }
  };
  cons(j.value("timeConstraints", nlohmann::json::array()), in.timeConstraints);
  cons(j.value("spaceConstraints", nlohmann::json::array()), in.spaceConstraints);
}

void to_json(nlohmann::json& j, const Placement& p) {
  j = {{"activityId", p.activityId}, {"day", p.day}, {"hour", p.hour}, {"room", p.room},
       {"realRooms", p.realRooms}, {"locked", p.locked}};
}

void from_json(const nlohmann::json& j, Placement& p) {
  p.activityId = j.value("activityId", 0);
  p.day = j.value("day", -1);
  p.hour = j.value("hour", -1);
  p.room = j.value("room", "");
  p.realRooms = j.value("realRooms", std::vector<std::string>{});
  p.locked = j.value("locked", false);
}

}  // namespace ardoise::timetable
