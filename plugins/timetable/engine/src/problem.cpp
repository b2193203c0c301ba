// Compiling an Instance into index form, and the incrementally costed State.
#include "problem.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "emitter.hpp"

namespace ardoise::timetable::detail {

namespace {

using json = nlohmann::json;

// A field that may be absent, a string, or an array of strings/objects.
std::vector<json> listOf(const json& p, const char* key) {
  std::vector<json> out;
  auto it = p.find(key);
  if (it == p.end()) {
    return out;
  }
  if (it->is_array()) {
    for (const auto& v : *it) {
      out.push_back(v);
    }
  } else {
    out.push_back(*it);
  }
  return out;
}

// A scalar as FET's text: files give strings, the API may give numbers.
std::string text(const json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_number_integer()) {
    return std::to_string(v.get<long long>());
  }
  if (v.is_boolean()) {
    return v.get<bool>() ? "true" : "false";
  }
  return v.is_number() ? v.dump() : std::string();
}

std::string str(const json& p, const char* key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : text(*it);
}

int num(const json& p, const char* key, int fallback) {
  std::string s = str(p, key);
  if (s.empty()) {
    return fallback;
  }
  try {
    return std::stoi(s);
  } catch (const std::exception&) {
    return fallback;
  }
}

bool flag(const json& p, const char* key, bool fallback) {
  std::string s = str(p, key);
  if (s == "true" || s == "1") {
    return true;
  }
  if (s == "false" || s == "0") {
    return false;
  }
  return fallback;
}

}  // namespace

Problem compile(const Instance& in) {
  Problem P;
  P.in = &in;
  P.D = static_cast<int>(in.days.size());
  P.H = static_cast<int>(in.hours.size());
  P.S = P.D * P.H;
  P.dayOf.resize(P.S);
  for (int s = 0; s < P.S; ++s) P.dayOf[s] = s / P.H;
  const int S = P.S, H = P.H;
  std::unordered_map<std::string, int> dayIx, hourIx, teacherIx, roomIx;
  for (int i = 0; i < P.D; ++i) dayIx[in.days[i]] = i;
  for (int i = 0; i < P.H; ++i) hourIx[in.hours[i]] = i;
  auto slotOf = [&](const json& o, const char* dk, const char* hk) -> int {
    auto d = dayIx.find(str(o, dk));
    auto h = hourIx.find(str(o, hk));
    if (d == dayIx.end() || h == hourIx.end()) {
      return -1;
    }
    return d->second * H + h->second;
  };

  // Resources: teachers first, then subgroups.
  for (const auto& t : in.teachers) {
    if (teacherIx.count(t)) continue;
    teacherIx[t] = static_cast<int>(P.res.size());
    Resource r;
    r.kind = Resource::kTeacher;
    r.name = t;
    r.blocked.assign(S, 0);
    P.res.push_back(std::move(r));
  }
  auto teacherRes = [&](const std::string& t) -> int {
    auto it = teacherIx.find(t);
    if (it != teacherIx.end()) return it->second;
    int ix = static_cast<int>(P.res.size());
    teacherIx[t] = ix;
    Resource r;
    r.kind = Resource::kTeacher;
    r.name = t;
    r.blocked.assign(S, 0);
    P.res.push_back(std::move(r));
    return ix;
  };
  std::unordered_map<std::string, int> subIx;
  std::map<std::string, std::set<int>> setSubs;   // any student set name -> subgroup resources
  std::unordered_map<std::string, int> setSize;
  auto subgroup = [&](const std::string& name) -> int {
    auto it = subIx.find(name);
    if (it != subIx.end()) return it->second;
    int ix = static_cast<int>(P.res.size());
    subIx[name] = ix;
    Resource r;
    r.kind = Resource::kSubgroup;
    r.name = name;
    r.blocked.assign(S, 0);
    P.res.push_back(std::move(r));
    P.subgroupNames.push_back(name);
    return ix;
  };
  for (const auto& y : in.years) {
    setSize.emplace(y.name, y.students);
    if (y.groups.empty()) {
      setSubs[y.name].insert(subgroup(y.name));
      continue;
    }
    for (const auto& g : y.groups) {
      setSize.emplace(g.name, g.students);
      if (g.subgroups.empty()) {
        int s = subgroup(g.name);
        setSubs[g.name].insert(s);
        setSubs[y.name].insert(s);
        continue;
      }
      for (const auto& sg : g.subgroups) {
        setSize.emplace(sg.name, sg.students);
        int s = subgroup(sg.name);
        setSubs[sg.name].insert(s);
        setSubs[g.name].insert(s);
        setSubs[y.name].insert(s);
      }
    }
  }
  auto subsOf = [&](const std::string& set) -> std::vector<int> {
    auto it = setSubs.find(set);
    if (it == setSubs.end()) {
      P.problems.push_back("unknown student set: " + set);
      return {};
    }
    return {it->second.begin(), it->second.end()};
  };
  std::vector<int> allTeachers, allSubs;
  for (int r = 0; r < static_cast<int>(P.res.size()); ++r) {
    (P.res[r].kind == Resource::kTeacher ? allTeachers : allSubs).push_back(r);
  }

  // Rooms.
  P.R = static_cast<int>(in.rooms.size());
  for (int i = 0; i < P.R; ++i) {
    roomIx[in.rooms[i].name] = i;
    P.roomNames.push_back(in.rooms[i].name);
    P.roomCapacity.push_back(in.rooms[i].capacity);
  }
  P.roomNA.assign(static_cast<std::size_t>(P.R) * S, 0);

  // Activities.
  int maxId = 0;
  for (const auto& a : in.activities) maxId = std::max(maxId, a.id);
  P.idToAct.assign(maxId + 1, -1);
  for (int i = 0; i < static_cast<int>(in.activities.size()); ++i) {
    const auto& a = in.activities[i];
    if (!a.active) continue;
    Act x;
    x.index = i;
    x.id = a.id;
    x.dur = std::max(1, std::min(a.duration, H));
    std::set<int> subs;
    int students = 0;
    for (const auto& s : a.students) {
      for (int sg : subsOf(s)) subs.insert(sg);
      auto it = setSize.find(s);
      if (it != setSize.end()) students += it->second;
    }
    x.students = a.numberOfStudents >= 0 ? a.numberOfStudents : students;
    for (const auto& t : a.teachers) x.teachers.push_back(teacherRes(t));
    std::sort(x.teachers.begin(), x.teachers.end());
    x.teachers.erase(std::unique(x.teachers.begin(), x.teachers.end()), x.teachers.end());
    x.subgroups.assign(subs.begin(), subs.end());
    x.res = x.teachers;
    x.res.insert(x.res.end(), x.subgroups.begin(), x.subgroups.end());
    x.clashRes = static_cast<int>(x.res.size());
    x.allowed.assign(S, 0);
    for (int s = 0; s < S; ++s) x.allowed[s] = (s % H) + x.dur <= H;
    x.timeSoft.assign(S, 0.0);
    std::string who;
    for (const auto& t : a.teachers) who += (who.empty() ? "" : ", ") + t;
    std::string cls;
    for (const auto& s : a.students) cls += (cls.empty() ? "" : ", ") + s;
    x.label = "#" + std::to_string(a.id) + " " + a.subject + (cls.empty() ? "" : " — " + cls) +
              (who.empty() ? "" : " (" + who + ")");
    if (a.id >= 0 && a.id <= maxId) P.idToAct[a.id] = static_cast<int>(P.acts.size());
    P.acts.push_back(std::move(x));
  }
  const int N = static_cast<int>(P.acts.size());
  for (int a = 0; a < N; ++a) {
    for (int r : P.acts[a].res) P.res[r].acts.push_back(a);
  }

  // Slot masks -> domain rules. `occupied`: every occupied slot must be ok; else the start only.
  auto addDomain = [&](Act& x, const std::string& type, const std::string& name, double w,
                       const std::vector<char>& slotOk, bool occupied) {
    DomainRule d;
    d.type = type;
    d.name = name;
    d.weight = w;
    d.ok.assign(S, 1);
    for (int s = 0; s < S; ++s) {
      if (!occupied) {
        d.ok[s] = slotOk[s];
        continue;
      }
      if ((s % H) + x.dur > H) continue;
      for (int k = 0; k < x.dur; ++k) {
        if (!slotOk[s + k]) {
          d.ok[s] = 0;
          break;
        }
      }
    }
    x.domain.push_back(std::move(d));
  };
  auto slotsFrom = [&](const json& p, const char* listKey, const char* dk, const char* hk, bool value) {
    std::vector<char> m(S, value ? 0 : 1);
    for (const auto& o : listOf(p, listKey)) {
      int s = slotOf(o, dk, hk);
      if (s >= 0) m[s] = value ? 1 : 0;
    }
    return m;
  };
  auto actsOfIds = [&](const json& p) {
    std::vector<int> out;
    for (const auto& v : listOf(p, "Activity_Id")) {
      try {
        int a = P.actOf(std::stoi(text(v)));
        if (a >= 0) out.push_back(a);
      } catch (const std::exception&) {
      }
    }
    return out;
  };
  auto resourcesNamed = [&](const std::string& type, const json& p, bool& ok) -> std::vector<int> {
    ok = true;
    bool teachers = type.rfind("Teacher", 0) == 0;
    bool plural = type.rfind("Teachers", 0) == 0 || (type.rfind("Students", 0) == 0 && type.rfind("StudentsSet", 0) != 0);
    if (plural) return teachers ? allTeachers : allSubs;
    if (teachers) {
      std::string t = str(p, "Teacher_Name");
      if (t.empty()) t = str(p, "Teacher");
      auto it = teacherIx.find(t);
      if (it == teacherIx.end()) {
        ok = false;
        return {};
      }
      return {it->second};
    }
    std::string s = str(p, "Students");
    return subsOf(s);
  };

  std::vector<char> breaks(S, 0);
  std::vector<std::vector<char>> teacherNA(P.res.size()), subNA(P.res.size());
  std::vector<std::vector<double>> subNAsoft(P.res.size());  // unused weights for soft NA
  std::vector<std::pair<int, double>> endsDay;                 // act, weight
  int intervalCount = 0;
  auto addRule = [&](const std::vector<int>& rs, Rule rule, const std::string& tag) {
    for (int r : rs) {
      int target = r;
      if (!tag.empty()) {
        // A pseudo resource: this teacher/subgroup, counting only activities with the tag.
        Resource pr;
        pr.kind = P.res[r].kind == Resource::kTeacher ? Resource::kTeacherTag : Resource::kSubgroupTag;
        pr.name = P.res[r].name;
        pr.tag = tag;
        pr.clash = false;
        pr.blocked = P.res[r].blocked;
        target = static_cast<int>(P.res.size());
        P.res.push_back(std::move(pr));
        for (int a : P.res[r].acts) {
          const auto& tags = in.activities[P.acts[a].index].tags;
          if (std::find(tags.begin(), tags.end(), tag) != tags.end()) {
            P.acts[a].res.push_back(target);
            P.res[target].acts.push_back(a);
          }
        }
      }
      P.res[target].rules.push_back(rule);
    }
  };

  for (const auto& c : in.timeConstraints) {
    if (!c.active) continue;
    const auto& p = c.params;
    const std::string& t = c.type;
    const bool hard = c.weight >= 100.0;
    if (t == "BasicCompulsoryTime") continue;
    if (t == "BreakTimes") {
      auto m = slotsFrom(p, "Break_Time", "Day", "Hour", true);
      for (int s = 0; s < S; ++s) breaks[s] |= m[s];
      continue;
    }
    if (t == "TeacherNotAvailableTimes" || t == "StudentsSetNotAvailableTimes") {
      auto m = slotsFrom(p, "Not_Available_Time", "Day", "Hour", true);
      bool ok = true;
      auto rs = resourcesNamed(t, p, ok);
      for (int r : rs) {
        auto& na = (t[0] == 'T' ? teacherNA : subNA)[r];
        if (hard) {
          if (na.empty()) na.assign(S, 0);
          for (int s = 0; s < S; ++s) na[s] |= m[s];
        } else {
          std::vector<char> okm(S);
          for (int s = 0; s < S; ++s) okm[s] = !m[s];
          for (int a : P.res[r].acts) addDomain(P.acts[a], t, P.res[r].name, c.weight, okm, true);
        }
      }
      continue;
    }
    if (t == "ActivityPreferredStartingTime") {
      auto acts = actsOfIds(p);
      auto d = dayIx.find(str(p, "Preferred_Day"));
      auto h = hourIx.find(str(p, "Preferred_Hour"));
      std::vector<char> m(S, 0);
      for (int s = 0; s < S; ++s) {
        bool okd = d == dayIx.end() || s / H == d->second;
        bool okh = h == hourIx.end() || s % H == h->second;
        m[s] = okd && okh;
      }
      for (int a : acts) addDomain(P.acts[a], t, "", c.weight, m, false);
      continue;
    }
    if (t == "ActivityPreferredStartingTimes" || t == "ActivityPreferredTimeSlots") {
      bool starting = t == "ActivityPreferredStartingTimes";
      auto m = starting ? slotsFrom(p, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour", true)
                        : slotsFrom(p, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour", true);
      for (int a : actsOfIds(p)) addDomain(P.acts[a], t, "", c.weight, m, !starting);
      continue;
    }
    if (t == "ActivitiesPreferredTimeSlots" || t == "ActivitiesPreferredStartingTimes") {
      bool starting = t == "ActivitiesPreferredStartingTimes";
      auto m = starting ? slotsFrom(p, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour", true)
                        : slotsFrom(p, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour", true);
      std::string tn = str(p, "Teacher_Name"), sn = str(p, "Students_Name"), su = str(p, "Subject_Name"),
                  tg = str(p, "Activity_Tag_Name"), du = str(p, "Duration");
      for (auto& x : P.acts) {
        const auto& a = in.activities[x.index];
        if (!tn.empty() && std::find(a.teachers.begin(), a.teachers.end(), tn) == a.teachers.end()) continue;
        if (!sn.empty() && std::find(a.students.begin(), a.students.end(), sn) == a.students.end()) continue;
        if (!su.empty() && a.subject != su) continue;
        if (!tg.empty() && std::find(a.tags.begin(), a.tags.end(), tg) == a.tags.end()) continue;
        if (!du.empty() && std::to_string(a.duration) != du) continue;
        addDomain(x, t, tn.empty() ? sn : tn, c.weight, m, !starting);
      }
      continue;
    }
    if (t == "MinDaysBetweenActivities" || t == "ActivitiesSameStartingTime" || t == "ActivitiesSameStartingDay" ||
        t == "ActivitiesNotOverlapping") {
      Link l;
      l.kind = t == "MinDaysBetweenActivities" ? Link::kMinDays
               : t == "ActivitiesSameStartingTime" ? Link::kSameStart
               : t == "ActivitiesSameStartingDay" ? Link::kSameDay : Link::kNotOverlapping;
      l.acts = actsOfIds(p);
      l.minDays = num(p, "MinDays", 1);
      l.consecutiveIfSameDay = flag(p, "Consecutive_If_Same_Day", false);
      l.weight = c.weight;
      l.hard = hard;
      l.type = t;
      if (l.acts.size() < 2) continue;
      {
        std::vector<int> sorted = l.acts;
        std::sort(sorted.begin(), sorted.end());
        l.repeats = std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
      }
      int li = static_cast<int>(P.links.size());
      for (int a : l.acts) P.acts[a].links.push_back(li);
      P.links.push_back(std::move(l));
      continue;
    }
    if (t == "ActivityEndsStudentsDay") {
      for (int a : actsOfIds(p)) endsDay.emplace_back(a, c.weight);
      continue;
    }
    // Resource rules.
    Rule rule;
    rule.weight = c.weight;
    rule.hard = hard;
    rule.type = t;
    std::string tag;
    auto endsWith = [&](const char* suffix) {
      std::string sfx(suffix);
      return t.size() >= sfx.size() && t.compare(t.size() - sfx.size(), sfx.size(), sfx) == 0;
    };
    if (t.find("ActivityTagMaxHoursDaily") != std::string::npos) {
      rule.kind = Rule::kMaxHoursDaily;
      rule.value = num(p, "Maximum_Hours_Daily", H);
      tag = str(p, "Activity_Tag");
    } else if (endsWith("MaxHoursDaily")) {
      rule.kind = Rule::kMaxHoursDaily;
      rule.value = num(p, "Maximum_Hours_Daily", H);
    } else if (endsWith("MinHoursDaily")) {
      rule.kind = Rule::kMinHoursDaily;
      rule.value = num(p, "Minimum_Hours_Daily", 0);
      rule.allowEmpty = flag(p, "Allow_Empty_Days", true);
    } else if (endsWith("IntervalMaxDaysPerWeek")) {
      rule.kind = Rule::kIntervalMaxDays;
      rule.value = num(p, "Max_Days_Per_Week", P.D);
      auto f = hourIx.find(str(p, "Interval_Start_Hour"));
      auto e = hourIx.find(str(p, "Interval_End_Hour"));
      rule.from = f == hourIx.end() ? 0 : f->second;
      rule.to = e == hourIx.end() ? H : e->second;
      rule.interval = intervalCount++ % 32;
    } else if (endsWith("MaxDaysPerWeek")) {
      rule.kind = Rule::kMaxDaysPerWeek;
      rule.value = num(p, "Max_Days_Per_Week", P.D);
    } else if (endsWith("MinDaysPerWeek")) {
      rule.kind = Rule::kMinDaysPerWeek;
      rule.value = num(p, "Minimum_Days_Per_Week", 0);
    } else if (endsWith("MaxGapsPerDay")) {
      rule.kind = Rule::kMaxGapsPerDay;
      rule.value = num(p, "Max_Gaps", 0);
    } else if (endsWith("MaxGapsPerWeek")) {
      rule.kind = Rule::kMaxGapsPerWeek;
      rule.value = num(p, "Max_Gaps", 0);
    } else if (endsWith("MaxHoursContinuously")) {
      rule.kind = Rule::kMaxHoursContinuously;
      rule.value = num(p, "Maximum_Hours_Continuously", H);
    } else if (endsWith("EarlyMaxBeginningsAtSecondHour")) {
      rule.kind = Rule::kEarlyMaxBeginnings;
      rule.value = num(p, "Max_Beginnings_At_Second_Hour", P.D);
    } else {
      continue;  // unsupported: listed by the reader
    }
    bool ok = true;
    auto rs = resourcesNamed(t, p, ok);
    if (!ok) {
      P.problems.push_back(t + ": unknown teacher");
      continue;
    }
    addRule(rs, rule, tag);
  }

  // Blocked slots (breaks, hard unavailability) and the domains they imply.
  std::vector<char> okBreak(S);
  for (int s = 0; s < S; ++s) okBreak[s] = !breaks[s];
  bool anyBreak = std::find(breaks.begin(), breaks.end(), 1) != breaks.end();
  for (int r = 0; r < static_cast<int>(P.res.size()); ++r) {
    auto& R = P.res[r];
    for (int s = 0; s < S; ++s) {
      R.blocked[s] = breaks[s];
    }
  }
  for (int r = 0; r < static_cast<int>(teacherNA.size()); ++r) {
    for (int s = 0; s < S && !teacherNA[r].empty(); ++s) P.res[r].blocked[s] |= teacherNA[r][s];
    for (int s = 0; s < S && !subNA[r].empty(); ++s) P.res[r].blocked[s] |= subNA[r][s];
  }
  for (auto& R : P.res) {
    if (R.kind == Resource::kTeacherTag || R.kind == Resource::kSubgroupTag) {
      auto base = teacherIx.count(R.name) && R.kind == Resource::kTeacherTag ? teacherIx[R.name] : subIx[R.name];
      R.blocked = P.res[base].blocked;
    }
  }
  for (auto& x : P.acts) {
    if (anyBreak) addDomain(x, "BreakTimes", "", 100, okBreak, true);
    for (int r : x.teachers) {
      if (teacherNA[r].empty()) continue;
      std::vector<char> ok(S);
      for (int s = 0; s < S; ++s) ok[s] = !teacherNA[r][s];
      addDomain(x, "TeacherNotAvailableTimes", P.res[r].name, 100, ok, true);
    }
    for (int r : x.subgroups) {
      if (subNA[r].empty()) continue;
      std::vector<char> ok(S);
      for (int s = 0; s < S; ++s) ok[s] = !subNA[r][s];
      addDomain(x, "StudentsSetNotAvailableTimes", P.res[r].name, 100, ok, true);
    }
  }
  for (auto [a, w] : endsDay) {
    P.acts[a].endsDay = true;
    for (int r : P.acts[a].subgroups) {
      auto& rules = P.res[r].rules;
      bool has = std::any_of(rules.begin(), rules.end(), [](const Rule& ru) { return ru.kind == Rule::kEndsDay; });
      if (!has) {
        Rule ru;
        ru.kind = Rule::kEndsDay;
        ru.weight = w;
        ru.hard = w >= 100;
        ru.type = "ActivityEndsStudentsDay";
        rules.push_back(ru);
      }
    }
  }
  for (auto& R : P.res) {
    for (const auto& ru : R.rules) {
      if (ru.kind != Rule::kMaxGapsPerWeek && ru.kind != Rule::kMaxDaysPerWeek && ru.kind != Rule::kMinDaysPerWeek &&
          ru.kind != Rule::kIntervalMaxDays) {
        R.dayRules = true;
      }
    }
  }
  for (auto& x : P.acts) {
    for (const auto& d : x.domain) {
      for (int s = 0; s < S; ++s) {
        if (d.ok[s]) continue;
        if (d.weight >= 100) {
          x.allowed[s] = 0;
        } else {
          x.timeSoft[s] += d.weight / 100.0;
        }
      }
    }
    x.domainSize = static_cast<int>(std::count(x.allowed.begin(), x.allowed.end(), 1));
  }

  // Space constraints.
  struct RoomSet { double weight; std::vector<int> rooms; int source; };  // source 0: preferred, 1: home
  std::vector<std::vector<RoomSet>> roomSets(N);
  auto roomsOf = [&](const json& p) {
    std::vector<int> out;
    std::string one = str(p, "Room");
    if (!one.empty() && roomIx.count(one)) out.push_back(roomIx[one]);
    for (const auto& v : listOf(p, "Preferred_Room")) {
      if (auto r = roomIx.find(text(v)); r != roomIx.end()) out.push_back(r->second);
    }
    return out;
  };
  for (const auto& c : in.spaceConstraints) {
    if (!c.active) continue;
    const auto& p = c.params;
    const std::string& t = c.type;
    if (t == "RoomNotAvailableTimes") {
      auto it = roomIx.find(str(p, "Room"));
      if (it == roomIx.end()) continue;
      auto m = slotsFrom(p, "Not_Available_Time", "Day", "Hour", true);
      for (int s = 0; s < S; ++s) P.roomNA[static_cast<std::size_t>(it->second) * S + s] |= m[s];
      continue;
    }
    std::vector<int> rooms = roomsOf(p);
    int source = t.find("HomeRoom") != std::string::npos ? 1 : 0;
    auto add = [&](int a) { roomSets[a].push_back({c.weight, rooms, source}); };
    if (t == "ActivityPreferredRoom" || t == "ActivityPreferredRooms") {
      for (int a : actsOfIds(p)) add(a);
    } else if (t == "SubjectPreferredRoom" || t == "SubjectPreferredRooms") {
      std::string su = str(p, "Subject");
      for (int a = 0; a < N; ++a) if (in.activities[P.acts[a].index].subject == su) add(a);
    } else if (t == "ActivityTagPreferredRoom" || t == "ActivityTagPreferredRooms") {
      std::string tg = str(p, "Activity_Tag");
      for (int a = 0; a < N; ++a) {
        const auto& tags = in.activities[P.acts[a].index].tags;
        if (std::find(tags.begin(), tags.end(), tg) != tags.end()) add(a);
      }
    } else if (t == "TeacherHomeRoom" || t == "TeacherHomeRooms") {
      std::string te = str(p, "Teacher");
      for (int a = 0; a < N; ++a) {
        const auto& ts = in.activities[P.acts[a].index].teachers;
        if (ts.size() == 1 && ts[0] == te) add(a);
      }
    } else if (t == "StudentsSetHomeRoom" || t == "StudentsSetHomeRooms") {
      std::string st = str(p, "Students");
      for (int a = 0; a < N; ++a) {
        const auto& ss = in.activities[P.acts[a].index].students;
        if (ss.size() == 1 && ss[0] == st) add(a);
      }
    }
  }
  for (int a = 0; a < N; ++a) {
    auto& x = P.acts[a];
    auto sets = roomSets[a];
    bool hasPreferred = std::any_of(sets.begin(), sets.end(), [](const RoomSet& s) { return s.source == 0; });
    if (hasPreferred) {  // home rooms yield to preferred rooms
      sets.erase(std::remove_if(sets.begin(), sets.end(), [](const RoomSet& s) { return s.source == 1; }), sets.end());
    }
    x.roomSoft.assign(P.R + 1, 0.0);
    if (sets.empty()) continue;
    x.needsRoom = true;
    std::vector<char> ok(P.R, 1);
    for (const auto& rs : sets) {
      std::vector<char> in_(P.R, 0);
      for (int r : rs.rooms) in_[r] = 1;
      if (rs.weight >= 100) {
        x.hardRoom = true;
        for (int r = 0; r < P.R; ++r) ok[r] &= in_[r];
      } else {
        for (int r = 0; r < P.R; ++r) if (!in_[r]) x.roomSoft[r] += rs.weight / 100.0;
        x.roomSoft[P.R] += rs.weight / 100.0;
      }
    }
    for (int r = 0; r < P.R; ++r) {
      if (!ok[r]) continue;
      if (P.roomCapacity[r] > 0 && x.students > P.roomCapacity[r]) continue;
      if (!x.hardRoom) {  // soft only: its preferred rooms are the candidates
        bool inSome = false;
        for (const auto& rs : sets) inSome |= std::find(rs.rooms.begin(), rs.rooms.end(), r) != rs.rooms.end();
        if (!inSome) continue;
      }
      x.roomCands.push_back(r);
    }
    x.noneAllowed = !x.hardRoom;
  }
  for (auto& x : P.acts) {
    std::vector<char> cand(P.R, 0);
    for (int r : x.roomCands) cand[r] = 1;
    x.roomFixed.assign(P.R, 0);
    for (int r = 0; r < P.R; ++r) {
      x.roomFixed[r] = static_cast<std::uint8_t>((x.needsRoom && x.hardRoom && !cand[r] ? 1 : 0) +
                                                 (P.roomCapacity[r] > 0 && x.students > P.roomCapacity[r] ? 1 : 0));
    }
  }
  return P;
}

// --- State --------------------------------------------------------------------------

State::State(const Problem& p) : P(p) {
  const std::size_t N = P.acts.size(), NR = P.res.size();
  pos.assign(N, -1);
  room.assign(N, -1);
  occ.assign(NR * P.S, 0);
  endMark.assign(NR * P.S, 0);
  occSum.assign(NR * P.S, 0);
  dayStamp_.assign(NR * P.D, 0);
  resStamp_.assign(NR, 0);
  roomOcc.assign(static_cast<std::size_t>(P.R) * P.S, 0);
  days.assign(NR * P.D, DayInfo{});
  resHard.assign(NR, 0);
  resSoft.assign(NR, 0);
  linkHard.assign(P.links.size(), 0);
  linkSoft.assign(P.links.size(), 0);
  resW.assign(NR, 1.0);
  linkW.assign(P.links.size(), 1.0);
  recomputeAll();
}

void State::computeDay(int r, int d, Emitter* e, DayInfo& out) const {
  const Resource& R = P.res[r];
  const int H = P.H;
  const int* o = &occ[static_cast<std::size_t>(r) * P.S + d * H];
  const char* blk = &R.blocked[d * H];
  out = DayInfo{};
  int first = -1, last = -1;
  for (int h = 0; h < H; ++h) {
    if (o[h] > 0) {
      ++out.hours;
      out.clash += o[h] - 1;
      if (first < 0) first = h;
      last = h;
    }
  }
  if (R.clash && out.clash > 0) {
    out.hard += out.clash;
    if (e) e->clash(r, d, out.clash);
  }
  if (R.rules.empty()) return;
  if (first >= 0) {
    for (int h = first + 1; h < last; ++h) out.gaps += (o[h] == 0 && !blk[h]);
    for (int h = 0; h < first; ++h) out.early += !blk[h];
  }
  for (const Rule& ru : R.rules) {
    int amount = 0;
    switch (ru.kind) {
      case Rule::kMaxHoursDaily: amount = std::max(0, out.hours - ru.value); break;
      case Rule::kMinHoursDaily:
        if (out.hours > 0 || !ru.allowEmpty) amount = std::max(0, ru.value - out.hours);
        break;
      case Rule::kMaxGapsPerDay: amount = std::max(0, out.gaps - ru.value); break;
      case Rule::kMaxHoursContinuously: {
        int run = 0;
        for (int h = 0; h < H; ++h) {
          if (o[h] > 0) {
            ++run;
            if (run > ru.value) ++amount;
          } else {
            run = 0;
          }
        }
        break;
      }
      case Rule::kEarlyMaxBeginnings: amount = std::max(0, out.early - 1); break;
      case Rule::kEndsDay: {
        const int* em = &endMark[static_cast<std::size_t>(r) * P.S + d * H];
        for (int h = 0; h < last; ++h) if (em[h] > 0) amount += em[h];
        break;
      }
      case Rule::kIntervalMaxDays: {
        for (int h = ru.from; h < ru.to; ++h) {
          if (o[h] > 0) {
            out.intervals |= (1u << ru.interval);
            break;
          }
        }
        break;
      }
      default: break;
    }
    if (amount > 0) {
      if (ru.hard) {
        out.hard += amount;
      } else {
        out.soft += ru.weight / 100.0;
      }
      if (e) e->dayRule(r, d, ru, amount);
    }
  }
}

void State::weekly(int r, double& hardOut, double& softOut, Emitter* e) const {
  const Resource& R = P.res[r];
  hardOut = softOut = 0;
  int gaps = 0, worked = 0, early = 0;
  const DayInfo* di = &days[static_cast<std::size_t>(r) * P.D];
  for (int d = 0; d < P.D; ++d) {
    gaps += di[d].gaps;
    worked += di[d].hours > 0;
    early += di[d].early >= 1;
  }
  for (const Rule& ru : R.rules) {
    int amount = 0;
    switch (ru.kind) {
      case Rule::kMaxGapsPerWeek: amount = std::max(0, gaps - ru.value); break;
      case Rule::kMaxDaysPerWeek: amount = std::max(0, worked - ru.value); break;
      case Rule::kMinDaysPerWeek: amount = std::max(0, ru.value - worked); break;
      case Rule::kEarlyMaxBeginnings: amount = std::max(0, early - ru.value); break;
      case Rule::kIntervalMaxDays: {
        int n = 0;
        for (int d = 0; d < P.D; ++d) n += (di[d].intervals >> ru.interval) & 1u;
        amount = std::max(0, n - ru.value);
        break;
      }
      default: break;
    }
    if (amount > 0) {
      if (ru.hard) {
        hardOut += amount;
      } else {
        softOut += ru.weight / 100.0;
      }
      if (e) e->weekRule(r, ru, amount);
    }
  }
}

void State::updateResource(int r) {
  double h = 0, s = 0;
  const DayInfo* di = &days[static_cast<std::size_t>(r) * P.D];
  for (int d = 0; d < P.D; ++d) {
    h += di[d].hard;
    s += di[d].soft;
  }
  if (!P.res[r].rules.empty()) {
    double wh, ws;
    weekly(r, wh, ws, nullptr);
    h += wh;
    s += ws;
  }
  hard += h - resHard[r];
  whard += resW[r] * (h - resHard[r]);
  soft += s - resSoft[r];
  resHard[r] = h;
  resSoft[r] = s;
}

void State::linkCost(int l, double& h, double& s, Emitter* e) const {
  const Link& L = P.links[l];
  h = s = 0;
  const int k = static_cast<int>(L.acts.size());
  for (int i = 0; i < k; ++i) {
    int a = L.acts[i], pa = pos[a];
    if (pa < 0) continue;
    for (int j = i + 1; j < k; ++j) {
      int b = L.acts[j], pb = pos[b];
      if (pb < 0) continue;
      int amount = 0;
      bool hardExtra = false;
      pairCost(L, a, pa, b, pb, amount, hardExtra);
      addPairCost(L, amount, hardExtra, h, s);
      if (e && amount > 0) e->link(l, a, b, amount, false);
      if (e && hardExtra) e->link(l, a, b, 1, true);
    }
  }
}

[[gnu::always_inline]] inline void State::pairCost(const Link& L, int a, int pa, int b, int pb, int& amount, bool& hardExtra) const {
  const int da = P.dayOf[pa], db = P.dayOf[pb];
  amount = 0;
  hardExtra = false;
  switch (L.kind) {
    case Link::kMinDays: {
      int dist = std::abs(da - db);
      if (dist < L.minDays) {
        amount = L.minDays - dist;
        if (L.consecutiveIfSameDay && dist == 0) {
          int ea = pa + P.acts[a].dur, eb = pb + P.acts[b].dur;
          if (ea != pb && eb != pa) hardExtra = true;
        }
      }
      break;
    }
    case Link::kSameStart: amount = pa != pb; break;
    case Link::kSameDay: amount = da != db; break;
    case Link::kNotOverlapping:
      amount = da == db && pa < pb + P.acts[b].dur && pb < pa + P.acts[a].dur;
      break;
  }
}

// "If on the same day, then adjacent" binds whatever the weight (as in FET).
void State::addPairCost(const Link& L, int amount, bool hardExtra, double& h, double& s) {
  if (amount > 0) {
    if (L.hard) {
      h += amount;
    } else {
      s += L.weight / 100.0;
    }
  }
  if (hardExtra) h += 1;
}

[[gnu::always_inline]] inline void State::linkPairs(int l, int a, int pa, double& h, double& s) const {
  const Link& L = P.links[l];
  h = s = 0;
  for (int b : L.acts) {
    int pb = pos[b];
    if (b == a || pb < 0) continue;
    int amount;
    bool hardExtra;
    pairCost(L, a, pa, b, pb, amount, hardExtra);
    addPairCost(L, amount, hardExtra, h, s);
  }
}

// Adds (sign 1, after placing a at pa) or removes (sign -1, after unplacing
// it from pa) the cost of a's pairs in each of its links.
void State::addLinkPairs(int a, int pa, double sign) {
  int prev = -1;
  for (int l : P.acts[a].links) {
    if (l == prev) continue;
    prev = l;
    if (P.links[l].repeats) {
      updateLink(l);
      continue;
    }
    double h, s;
    linkPairs(l, a, pa, h, s);
    h *= sign;
    s *= sign;
    hard += h;
    whard += linkW[l] * h;
    soft += s;
    linkHard[l] += h;
    linkSoft[l] += s;
    if (std::abs(linkSoft[l]) < 1e-9) linkSoft[l] = 0;  // no rounding residue
  }
}

void State::updateLink(int l) {
  double h, s;
  linkCost(l, h, s, nullptr);
  hard += h - linkHard[l];
  whard += linkW[l] * (h - linkHard[l]);
  soft += s - linkSoft[l];
  linkHard[l] = h;
  linkSoft[l] = s;
}

double State::roomCostHard(int a, int r, int slot) const {
  const Act& x = P.acts[a];
  if (r < 0) return x.needsRoom && !x.noneAllowed ? 1.0 : 0.0;
  double c = x.roomFixed[r];  // outside the allowed rooms, too small
  for (int k = 0; k < x.dur; ++k) c += P.roomNA[static_cast<std::size_t>(r) * P.S + slot + k];
  return c;
}

double State::roomCostSoft(int a, int r) const {
  const Act& x = P.acts[a];
  if (!x.needsRoom) return 0;
  return r < 0 ? x.roomSoft[P.R] : x.roomSoft[r];
}

void State::place(int a, int slot, int r) {
  const Act& x = P.acts[a];
  pos[a] = slot;
  room[a] = r;
  const int d = P.dayOf[slot];
  for (int rs : x.res) {
    int* o = &occ[static_cast<std::size_t>(rs) * P.S + slot];
    int* os = &occSum[static_cast<std::size_t>(rs) * P.S + slot];
    if (P.res[rs].rules.empty()) {  // only double booking: updated per period
      int c = 0;
      DayInfo& di = days[static_cast<std::size_t>(rs) * P.D + d];
      for (int k = 0; k < x.dur; ++k) {
        c += o[k] > 0;
        di.hours += o[k] == 0;
        ++o[k];
        os[k] += a + 1;
      }
      if (x.endsDay) ++endMark[static_cast<std::size_t>(rs) * P.S + slot + x.dur - 1];
      clashChange(rs, di, c);
      continue;
    }
    for (int k = 0; k < x.dur; ++k) ++o[k], os[k] += a + 1;
    if (x.endsDay) ++endMark[static_cast<std::size_t>(rs) * P.S + slot + x.dur - 1];
    touch(rs, d);
  }
  if (r >= 0) {
    int* o = &roomOcc[static_cast<std::size_t>(r) * P.S + slot];
    for (int k = 0; k < x.dur; ++k) {
      if (o[k] > 0) roomHard += 1, hard += 1, whard += roomW;
      ++o[k];
    }
  }
  double rh = roomCostHard(a, r, slot);
  roomHard += rh;
  hard += rh;
  whard += roomW * rh;
  soft += roomCostSoft(a, r) + x.timeSoft[slot];
  addLinkPairs(a, slot, 1.0);
}

State::Delta State::placeDelta(int a, int slot, int r) {
  const Act& x = P.acts[a];
  Delta dl;
  const int d = P.dayOf[slot];
  for (int rs : x.res) {
    const Resource& R = P.res[rs];
    int* o = &occ[static_cast<std::size_t>(rs) * P.S + slot];
    if (R.rules.empty()) {  // only double booking: one per occupied period
      if (!R.clash) continue;
      int c = 0;
      for (int k = 0; k < x.dur; ++k) c += o[k] > 0;
      dl.hard += c;
      dl.whard += resW[rs] * c;
      continue;
    }
    // Rules: recompute the day with a added, then the weekly part, and restore.
    for (int k = 0; k < x.dur; ++k) ++o[k];
    int* em = x.endsDay ? &endMark[static_cast<std::size_t>(rs) * P.S + slot + x.dur - 1] : nullptr;
    if (em) ++*em;
    DayInfo& cur = days[static_cast<std::size_t>(rs) * P.D + d];
    const DayInfo keep = cur;
    computeDay(rs, d, nullptr, cur);
    double h = 0, s = 0;
    const DayInfo* di = &days[static_cast<std::size_t>(rs) * P.D];
    for (int e = 0; e < P.D; ++e) h += di[e].hard, s += di[e].soft;
    double wh, ws;
    weekly(rs, wh, ws, nullptr);
    h += wh;
    s += ws;
    cur = keep;
    if (em) --*em;
    for (int k = 0; k < x.dur; ++k) --o[k];
    dl.hard += h - resHard[rs];
    dl.whard += resW[rs] * (h - resHard[rs]);
    dl.soft += s - resSoft[rs];
  }
  if (r >= 0) {
    const int* o = &roomOcc[static_cast<std::size_t>(r) * P.S + slot];
    for (int k = 0; k < x.dur; ++k) {
      if (o[k] > 0) dl.hard += 1, dl.whard += roomW;
    }
  }
  double rh = roomCostHard(a, r, slot);
  dl.hard += rh;
  dl.whard += roomW * rh;
  dl.soft += roomCostSoft(a, r) + x.timeSoft[slot];
  int prev = -1;
  for (int l : x.links) {
    if (l == prev) continue;  // a link naming a twice is listed twice
    prev = l;
    double h, s;
    if (P.links[l].repeats) {
      pos[a] = slot;  // linkCost reads positions only
      linkCost(l, h, s, nullptr);
      pos[a] = -1;
      h -= linkHard[l];
      s -= linkSoft[l];
    } else {
      linkPairs(l, a, slot, h, s);
    }
    dl.hard += h;
    dl.whard += linkW[l] * h;
    dl.soft += s;
  }
  return dl;
}

void State::unplace(int a) {
  const Act& x = P.acts[a];
  const int slot = pos[a], r = room[a];
  if (slot < 0) return;
  const int d = P.dayOf[slot];
  pos[a] = -1;
  room[a] = -1;
  for (int rs : x.res) {
    int* o = &occ[static_cast<std::size_t>(rs) * P.S + slot];
    int* os = &occSum[static_cast<std::size_t>(rs) * P.S + slot];
    if (P.res[rs].rules.empty()) {
      int c = 0;
      DayInfo& di = days[static_cast<std::size_t>(rs) * P.D + d];
      for (int k = 0; k < x.dur; ++k) {
        --o[k];
        os[k] -= a + 1;
        c -= o[k] > 0;
        di.hours -= o[k] == 0;
      }
      if (x.endsDay) --endMark[static_cast<std::size_t>(rs) * P.S + slot + x.dur - 1];
      clashChange(rs, di, c);
      continue;
    }
    for (int k = 0; k < x.dur; ++k) --o[k], os[k] -= a + 1;
    if (x.endsDay) --endMark[static_cast<std::size_t>(rs) * P.S + slot + x.dur - 1];
    touch(rs, d);
  }
  if (r >= 0) {
    int* o = &roomOcc[static_cast<std::size_t>(r) * P.S + slot];
    for (int k = 0; k < x.dur; ++k) {
      --o[k];
      if (o[k] > 0) roomHard -= 1, hard -= 1, whard -= roomW;
    }
  }
  double rh = roomCostHard(a, r, slot);
  roomHard -= rh;
  hard -= rh;
  whard -= roomW * rh;
  soft -= roomCostSoft(a, r) + x.timeSoft[slot];
  addLinkPairs(a, slot, -1.0);
}

void State::touch(int r, int d) {
  if (!batching_) {
    touchResourceDay(r, d);
    return;
  }
  const std::size_t ix = static_cast<std::size_t>(r) * P.D + d;
  if (dayStamp_[ix] == batchStamp_) return;
  dayStamp_[ix] = batchStamp_;
  batchDays_.push_back(static_cast<int>(ix));
}

void State::beginBatch() {
  batching_ = true;
  ++batchStamp_;
  batchDays_.clear();
}

void State::endBatch() {
  batching_ = false;
  for (int ix : batchDays_) computeDay(ix / P.D, ix % P.D, nullptr, days[static_cast<std::size_t>(ix)]);
  ++batchStamp_;
  for (int ix : batchDays_) {
    const int r = ix / P.D;
    if (resStamp_[r] == batchStamp_) continue;
    resStamp_[r] = batchStamp_;
    updateResource(r);
  }
}

// A resource without rules: its day's double booking changed by c periods.
void State::clashChange(int r, DayInfo& di, int c) {
  di.clash += c;
  if (!P.res[r].clash || c == 0) return;
  di.hard += c;
  hard += c;
  whard += resW[r] * c;
  resHard[r] += c;
}

void State::touchResourceDay(int r, int d) {
  DayInfo& di = days[static_cast<std::size_t>(r) * P.D + d];
  if (P.res[r].rules.empty()) {  // only the day's double booking changes
    const double before = di.hard;
    computeDay(r, d, nullptr, di);
    const double dh = di.hard - before;
    hard += dh;
    whard += resW[r] * dh;
    resHard[r] += dh;
    return;
  }
  computeDay(r, d, nullptr, di);
  updateResource(r);
}

void State::recomputeAll() {
  hard = soft = roomHard = whard = 0;
  std::fill(resHard.begin(), resHard.end(), 0);
  std::fill(resSoft.begin(), resSoft.end(), 0);
  std::fill(linkHard.begin(), linkHard.end(), 0);
  std::fill(linkSoft.begin(), linkSoft.end(), 0);
  for (int r = 0; r < static_cast<int>(P.res.size()); ++r) {
    for (int d = 0; d < P.D; ++d) computeDay(r, d, nullptr, days[static_cast<std::size_t>(r) * P.D + d]);
    updateResource(r);
  }
  for (int l = 0; l < static_cast<int>(P.links.size()); ++l) updateLink(l);
  std::fill(roomOcc.begin(), roomOcc.end(), 0);
  for (int a = 0; a < static_cast<int>(P.acts.size()); ++a) {
    if (pos[a] < 0) continue;
    int r = room[a];
    const Act& x = P.acts[a];
    if (r >= 0) {
      int* o = &roomOcc[static_cast<std::size_t>(r) * P.S + pos[a]];
      for (int k = 0; k < x.dur; ++k) {
        if (o[k] > 0) roomHard += 1, hard += 1, whard += roomW;
        ++o[k];
      }
    }
    double rh = roomCostHard(a, r, pos[a]);
    roomHard += rh;
    hard += rh;
    whard += roomW * rh;
    soft += roomCostSoft(a, r) + x.timeSoft[pos[a]];
  }
}

void State::bumpWeights(double step, double maxW) {
  for (std::size_t r = 0; r < resHard.size(); ++r) {
    if (resHard[r] > 0 && resW[r] < maxW) {
      resW[r] += step;
      whard += step * resHard[r];
    }
  }
  for (std::size_t l = 0; l < linkHard.size(); ++l) {
    if (linkHard[l] > 0 && linkW[l] < maxW) {
      linkW[l] += step;
      whard += step * linkHard[l];
    }
  }
  if (roomHard > 0 && roomW < maxW) {
    roomW += step;
    whard += step * roomHard;
  }
}

void State::smoothWeights(double rho) {
  whard = 0;
  for (std::size_t r = 0; r < resW.size(); ++r) {
    resW[r] = 1 + (resW[r] - 1) * rho;
    whard += resW[r] * resHard[r];
  }
  for (std::size_t l = 0; l < linkW.size(); ++l) {
    linkW[l] = 1 + (linkW[l] - 1) * rho;
    whard += linkW[l] * linkHard[l];
  }
  roomW = 1 + (roomW - 1) * rho;
  whard += roomW * roomHard;
}

void State::emitAll(Emitter& e) const {
  for (int r = 0; r < static_cast<int>(P.res.size()); ++r) {
    for (int d = 0; d < P.D; ++d) {
      DayInfo tmp;
      computeDay(r, d, &e, tmp);
    }
    if (!P.res[r].rules.empty()) {
      double wh, ws;
      weekly(r, wh, ws, &e);
    }
  }
  for (int l = 0; l < static_cast<int>(P.links.size()); ++l) {
    double h, s;
    linkCost(l, h, s, &e);
  }
  // Rooms and unary time preferences.
  for (int a = 0; a < static_cast<int>(P.acts.size()); ++a) {
    if (pos[a] < 0) continue;
    e.unary(a, pos[a], room[a]);
  }
  for (int r = 0; r < P.R; ++r) {
    for (int s = 0; s < P.S; ++s) {
      if (roomOcc[static_cast<std::size_t>(r) * P.S + s] > 1) e.roomClash(r, s);
    }
  }
}

}  // namespace ardoise::timetable::detail
